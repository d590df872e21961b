//! FHIR bulk export, bounded (issue 15): `_type` checked and de-duplicated, a limit
//! on running jobs per client and in all (429 with Retry-After), NDJSON files in the
//! data directory streamed to the client, cancel by DELETE, expiry, and the audit
//! log exported in sequence order page by page.

use jiff::civil::Time;
use reqwest::StatusCode;
use samhand_domain::access::{Action, Actor, DataCategory};
use serde_json::{Value, json};

use crate::fhir::fhir_world;
use crate::helpers::{Staff, TestApp, app_listener, spawn_app, spawn_app_on};
use std::time::Duration;

impl TestApp {
    pub async fn kick_off(&self, staff: &Staff, query: &str) -> reqwest::Response {
        self.client
            .get(self.url(&format!("/fhir/$export{query}")))
            .bearer_auth(&staff.token)
            .header("Prefer", "respond-async")
            .send()
            .await
            .expect("kick-off")
    }

    /// Polls a status URL until the export is done; its manifest.
    pub async fn manifest(&self, staff: &Staff, status_url: &str) -> Value {
        for _ in 0..400 {
            let response = self
                .client
                .get(status_url)
                .bearer_auth(&staff.token)
                .send()
                .await
                .expect("poll");
            if response.status() == StatusCode::OK {
                return response.json().await.expect("manifest");
            }
            assert_eq!(response.status(), StatusCode::ACCEPTED);
            tokio::time::sleep(Duration::from_millis(25)).await;
        }
        panic!("the export did not finish");
    }

    /// Holds the audit log's head in an open transaction: on both databases every
    /// audit write waits until it is dropped, so an export stays running.
    pub async fn hold_audit_log(&self) -> samhand_store::WriteTx {
        let staff = self.world.admin.id;
        let mut conn = self.state.store.read().await.expect("conn");
        let user = samhand_store::users::by_id(&mut conn, staff)
            .await
            .expect("user")
            .expect("admin");
        drop(conn);
        let actor = Actor::Staff(user.user);
        let mut tx = self.state.store.write().await.expect("tx");
        let entry = samhand_store::audit::AuditEntry {
            at: self.clock_now(),
            actor: &actor,
            patient: None,
            category: DataCategory::Identity,
            action: Action::Read,
            allowed: false,
            relation: "denied",
            detail: "test: holding the audit log",
        };
        samhand_store::audit::append(&self.state.store, &mut tx, &entry)
            .await
            .expect("append");
        tx
    }

    fn clock_now(&self) -> jiff::Timestamp {
        samhand_domain::time::Clock::now(&*self.clock)
    }
}

pub fn status_url(response: &reqwest::Response) -> String {
    response
        .headers()
        .get("content-location")
        .and_then(|v| v.to_str().ok())
        .expect("Content-Location")
        .to_string()
}

fn job_dir(app: &TestApp, status_url: &str) -> std::path::PathBuf {
    let job = status_url.rsplit('/').next().expect("job");
    app.state.config.data_dir.join("exports").join(job)
}

async fn get(app: &TestApp, token: &str, url: &str) -> reqwest::Response {
    app.client.get(url).bearer_auth(token).send().await.expect("get")
}

#[tokio::test]
async fn export_types_are_checked_and_named_once_and_the_files_are_streamed_from_the_data_directory() {
    let app = spawn_app().await;
    let (a, _) = fhir_world(&app).await;
    let w = &app.world;
    let response = app.kick_off(&w.konsulent, "?_type=Patient,Nonsense").await;
    assert_eq!(response.status(), StatusCode::BAD_REQUEST);
    let outcome: Value = response.json().await.expect("outcome");
    assert_eq!(outcome["resourceType"], json!("OperationOutcome"), "{outcome}");
    let response = app
        .kick_off(
            &w.konsulent,
            "?_type=Patient,MedicationRequest,Patient&_type=Patient",
        )
        .await;
    assert_eq!(response.status(), StatusCode::ACCEPTED);
    let url = status_url(&response);
    let manifest = app.manifest(&w.konsulent, &url).await;
    let types: Vec<&str> = manifest["output"]
        .as_array()
        .expect("output")
        .iter()
        .map(|o| o["type"].as_str().expect("type"))
        .collect();
    assert_eq!(types, vec!["Patient", "MedicationRequest"], "{manifest}");
    let on_disk = job_dir(&app, &url).join("Patient.ndjson");
    let written = std::fs::read_to_string(&on_disk).expect("the file is in the data directory");
    let fetched = get(
        &app,
        &w.konsulent.token,
        manifest["output"][0]["url"].as_str().expect("url"),
    )
    .await
    .text()
    .await
    .expect("text");
    assert_eq!(fetched, written, "the answer is the file");
    assert!(fetched.lines().any(|l| l.contains(&a)));
    assert_eq!(manifest["output"][0]["count"], json!(fetched.lines().count()));
}

#[tokio::test]
async fn a_client_runs_one_export_at_a_time_and_may_cancel_it_which_removes_its_files() {
    let listener = app_listener().await;
    let overrides = [("SAMHAND_EXPORT_JOBS", "2".to_string())];
    let app = spawn_app_on(listener, &overrides).await;
    fhir_world(&app).await;
    let w = &app.world;
    // While the audit log is held, every export waits at its first audit entry.
    let held = app.hold_audit_log().await;
    let first = app.kick_off(&w.konsulent, "").await;
    assert_eq!(first.status(), StatusCode::ACCEPTED);
    let first_url = status_url(&first);
    let second = app.kick_off(&w.konsulent, "?_type=Patient").await;
    assert_eq!(
        second.status(),
        StatusCode::TOO_MANY_REQUESTS,
        "one running export per client"
    );
    assert!(second.headers().get("retry-after").is_some());
    let outcome: Value = second.json().await.expect("outcome");
    assert_eq!(outcome["issue"][0]["code"], json!("throttled"), "{outcome}");
    let other = app.kick_off(&w.lege, "").await;
    assert_eq!(
        other.status(),
        StatusCode::ACCEPTED,
        "another client may start one"
    );
    let third = app.kick_off(&w.utdeler, "").await;
    assert_eq!(third.status(), StatusCode::TOO_MANY_REQUESTS, "two in all");
    // Someone else cannot cancel it; its owner can, and then it is gone.
    let delete = |token: &str, url: &str| app.client.delete(url).bearer_auth(token).send();
    let refused = delete(&w.lege.token, &first_url).await.expect("delete");
    assert_eq!(refused.status(), StatusCode::NOT_FOUND);
    let cancelled = delete(&w.konsulent.token, &first_url).await.expect("delete");
    assert_eq!(cancelled.status(), StatusCode::ACCEPTED);
    assert!(!job_dir(&app, &first_url).exists(), "its files are removed");
    let gone = get(&app, &w.konsulent.token, &first_url).await;
    assert_eq!(gone.status(), StatusCode::NOT_FOUND);
    drop(held);
    // A cancelled export frees its place at once.
    let again = app.kick_off(&w.konsulent, "?_type=Patient").await;
    assert_eq!(again.status(), StatusCode::ACCEPTED);
    let url = status_url(&again);
    app.manifest(&w.konsulent, &url).await;
    assert!(job_dir(&app, &url).join("Patient.ndjson").exists());
    let cancelled = delete(&w.konsulent.token, &url).await.expect("delete");
    assert_eq!(
        cancelled.status(),
        StatusCode::ACCEPTED,
        "a finished export is deleted too"
    );
    assert!(!job_dir(&app, &url).exists());
}

#[tokio::test]
async fn a_finished_export_expires_after_an_hour_and_its_files_are_removed() {
    let app = spawn_app().await;
    fhir_world(&app).await;
    let w = &app.world;
    let response = app.kick_off(&w.konsulent, "?_type=Patient").await;
    let url = status_url(&response);
    let manifest = app.manifest(&w.konsulent, &url).await;
    let file = manifest["output"][0]["url"].as_str().expect("url").to_string();
    // The world's clock stands on Saturday 28 November at 09:00, when the export
    // finished; 59 minutes on its files are still there, 61 minutes on they are not.
    app.set_oslo_time(jiff::civil::date(2026, 11, 28), Time::constant(9, 59, 0, 0));
    assert_eq!(
        get(&app, &w.konsulent.token, &file).await.status(),
        StatusCode::OK
    );
    app.set_oslo_time(jiff::civil::date(2026, 11, 28), Time::constant(10, 1, 0, 0));
    assert_eq!(
        get(&app, &w.konsulent.token, &url).await.status(),
        StatusCode::NOT_FOUND
    );
    assert_eq!(
        get(&app, &w.konsulent.token, &file).await.status(),
        StatusCode::NOT_FOUND
    );
    assert!(!job_dir(&app, &url).exists(), "its files are removed");
}

#[tokio::test]
async fn the_audit_log_is_exported_in_sequence_order_page_by_page() {
    let app = spawn_app().await;
    let (a, _) = fhir_world(&app).await;
    let w = &app.world;
    // 2,500 more entries about the patient: more than a page, and more than a search reads.
    let user = {
        let mut conn = app.state.store.read().await.expect("conn");
        samhand_store::users::by_id(&mut conn, w.lege.id)
            .await
            .expect("user")
            .expect("lege")
    };
    let actor = Actor::Staff(user.user);
    let now = samhand_domain::time::Clock::now(&*app.clock);
    let patient = a.parse().expect("id");
    let entry = samhand_store::audit::AuditEntry {
        at: now,
        actor: &actor,
        patient: Some(patient),
        category: DataCategory::Dispensing,
        action: Action::Read,
        allowed: true,
        relation: "test",
        detail: "test: a read",
    };
    let mut tx = app.state.store.write().await.expect("tx");
    samhand_store::audit::append_all(&app.state.store, &mut tx, &vec![entry; 2500])
        .await
        .expect("append");
    tx.commit().await.expect("commit");
    let about_a = app.audit_counts(&a).await;
    let response = app.kick_off(&w.konsulent, "?_type=AuditEvent").await;
    assert_eq!(response.status(), StatusCode::ACCEPTED);
    let manifest = app.manifest(&w.konsulent, &status_url(&response)).await;
    let url = manifest["output"][0]["url"].as_str().expect("url");
    let ndjson = get(&app, &w.konsulent.token, url)
        .await
        .text()
        .await
        .expect("text");
    let events: Vec<Value> = ndjson
        .lines()
        .map(|l| serde_json::from_str(l).expect("json"))
        .collect();
    let seqs: Vec<i64> = events
        .iter()
        .map(|e| e["id"].as_str().expect("id").parse().expect("seq"))
        .collect();
    assert!(seqs.windows(2).all(|p| p[0] < p[1]), "in sequence order");
    let of_a = events
        .iter()
        .filter(|e| e["entity"][0]["what"]["reference"] == json!(format!("Patient/{a}")))
        .count();
    assert_eq!(of_a, about_a.0 + about_a.1, "every entry about the patient");
}
