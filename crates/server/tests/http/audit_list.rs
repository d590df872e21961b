//! A view of today's list is one audit entry naming the patients it showed (H67),
//! and each of them still sees the view: in their access log, in the FHIR
//! AuditEvent search about them, and in a chain that verifies.

use crate::helpers::*;
use reqwest::StatusCode;
use samhand_store::native::FetchOn;
use serde_json::json;

/// The AuditEvents about `patient` that the responsible LAR unit finds.
async fn audit_events(app: &TestApp, patient: &str) -> u64 {
    let (status, bundle) = app
        .fhir_get(
            &app.world.konsulent.token,
            &format!("/AuditEvent?patient={patient}&_count=1000"),
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{bundle}");
    bundle["total"].as_u64().expect("total")
}

#[tokio::test]
async fn a_list_view_is_one_entry_that_each_listed_patient_sees() {
    let app = spawn_app().await;
    let w = &app.world;
    let patients = [
        app.patient_on_daily_methadone(81).await,
        app.patient_on_daily_methadone(82).await,
        app.patient_on_daily_methadone(83).await,
    ];
    let mut before = Vec::new();
    for patient in &patients {
        before.push(audit_events(&app, patient).await);
    }
    let entries_before = app.audit_len().await;
    let list = app.today_list(&w.utdeler).await;
    let rows = list["rows"].as_array().expect("rows");
    for patient in &patients {
        assert!(
            rows.iter().any(|r| r["patient"]["id"] == json!(patient)),
            "{patient} is on the list"
        );
    }
    // The view wrote one entry for the dispensing read of all of them (and at
    // most one for the health information the place may read), not one each.
    let written = app.audit_len().await - entries_before;
    assert!(
        (1..=2).contains(&written),
        "one entry per view, not per patient: {written}"
    );
    for (patient, before) in patients.iter().zip(before) {
        let me = app.patient_token(patient).await;
        let (status, log) = app
            .get_json(&me, &format!("/api/v1/patients/{patient}/access-log"))
            .await;
        assert_eq!(status, StatusCode::OK, "{log}");
        let ulla = log
            .as_array()
            .expect("lines")
            .iter()
            .find(|l| l["who"] == json!("Utdeler Ulla"))
            .unwrap_or_else(|| panic!("the list view is in {patient}'s access log: {log}"));
        assert_eq!(ulla["relation"], json!("dispensing_place"), "{ulla}");
        // The list view and the search's own reads since are about this patient.
        assert!(
            audit_events(&app, patient).await > before,
            "the AuditEvent search about {patient} finds the view"
        );
    }
    assert!(matches!(
        samhand_store::anchor::verify(&app.state.store, None)
            .await
            .expect("verify"),
        samhand_store::anchor::Verification::Intact { .. }
    ));
}

#[tokio::test]
async fn a_list_whose_audit_entry_cannot_be_written_shows_no_one() {
    // The list's entry commits while its facts are read; nothing of them may
    // leave the server unless the entry was written.
    let app = spawn_app().await;
    let w = &app.world;
    let patient = app.patient_on_daily_methadone(84).await;
    let alter = |sql: &'static str| {
        let store = app.state.store.clone();
        async move {
            let mut tx = store.write().await.expect("tx");
            sqlx::query(sql).execute_on(&mut tx).await.expect("alter");
            tx.commit().await.expect("commit");
        }
    };
    alter("ALTER TABLE audit_entry_sets RENAME TO audit_entry_sets_away").await;
    let (status, body) = read(
        app.get(&w.utdeler, "/api/v1/dispensing/today")
            .send()
            .await
            .expect("list"),
    )
    .await;
    alter("ALTER TABLE audit_entry_sets_away RENAME TO audit_entry_sets").await;
    assert_eq!(status, StatusCode::INTERNAL_SERVER_ERROR, "{body}");
    assert!(!body.to_string().contains(&patient), "{body}");
    assert!(body["rows"].is_null(), "{body}");
    // With the log back, the same list shows the patient.
    let list = app.today_list(&w.utdeler).await;
    assert!(list.to_string().contains(&patient), "{list}");
}
