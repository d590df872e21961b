//! A referral sent by a referring service in Samhand (issue 18): the GP refers to a
//! chosen LAR unit from the API or its page; the referral lands on that unit's
//! waiting list as received that day, with who referred; the referrer sees the
//! status of the referrals its service sent and nothing more of the LAR record
//! (H89). The test clock stands on Monday 23 November 2026.

use reqwest::StatusCode;
use serde_json::{Value, json};

use crate::helpers::{Staff, TestApp, error_fields, national_id, spawn_app};

fn sent_body(app: &TestApp, n: u16, unit: &str) -> Value {
    let _ = app;
    json!({
        "lar_unit_id": unit,
        "national_id": national_id(n),
        "given_name": "Siri",
        "family_name": "Sendesen",
        "phone": "40000000",
        "reason": "Opioidavhengighet, ønsker LAR",
        "referrer_assessment": "Motivert; har forsøkt nedtrapping",
    })
}

async fn send(app: &TestApp, staff: &Staff, body: &Value) -> (StatusCode, Value) {
    app.post_json(staff, "/api/v1/referrals", body).await
}

async fn sent_list(app: &TestApp, staff: &Staff) -> (StatusCode, Value) {
    app.get_json(staff, "/api/v1/referrals/sent").await
}

#[tokio::test]
async fn a_gp_refers_to_a_lar_unit_which_finds_it_received_today_and_the_gp_sees_its_status() {
    let app = spawn_app().await;
    let w = &app.world;
    let (status, created) = send(&app, &w.fastlege, &sent_body(&app, 801, &w.unit.to_string())).await;
    assert_eq!(status, StatusCode::CREATED, "{created}");
    assert_eq!(created["assessment_deadline"], "2026-12-07");

    // On the unit's waiting list, received today, from the GP and the office.
    let (status, waiting) = app.get_json(&w.lege, "/api/v1/referrals").await;
    assert_eq!(status, StatusCode::OK, "{waiting}");
    let entry = waiting
        .as_array()
        .unwrap()
        .iter()
        .find(|r| r["given_name"] == "Siri")
        .unwrap_or_else(|| panic!("{waiting}"))
        .clone();
    assert_eq!(entry["received_on"], "2026-11-23");
    assert_eq!(entry["referrer_name"], "Fastlege Frode");
    assert_eq!(entry["referrer_service"], "Brygga legekontor");
    assert_eq!(entry["stage"], "unassessed");

    // The GP's service sees it as received; a colleague at the office too.
    for gp in [&w.fastlege, &w.fastlege2] {
        let (status, list) = sent_list(&app, gp).await;
        assert_eq!(status, StatusCode::OK, "{list}");
        assert_eq!(list.as_array().unwrap().len(), 1, "{list}");
        assert_eq!(list[0]["status"], "received");
        assert_eq!(list[0]["lar_unit"], "LAR-enheten Fjordvik");
        assert_eq!(list[0]["referred_by"], "Fastlege Frode");
    }

    // Assessed: the GP sees the decision and reads the answer in its inbox.
    let (status, a) = app
        .post_json(
            &w.lege,
            &format!("/api/v1/referrals/{}/assessment", created["id"].as_str().unwrap()),
            &json!({"decision": "right", "latest_start": "2027-01-11"}),
        )
        .await;
    assert_eq!(status, StatusCode::CREATED, "{a}");
    let (_, list) = sent_list(&app, &w.fastlege).await;
    assert_eq!(list[0]["status"], "right", "{list}");
    assert_eq!(list[0]["latest_start"], "2027-01-11");
    let (_, inbox) = app.get_json(&w.fastlege, "/api/v1/inbox").await;
    assert!(
        inbox
            .as_array()
            .unwrap()
            .iter()
            .any(|m| m["kind"] == "referral_decision"
                && m["body"].as_str().is_some_and(|b| b.contains("11.01.2027"))),
        "{inbox}"
    );

    // The first dose: started, as the referrer sees it.
    let patient = created["patient_id"].as_str().unwrap();
    let day = crate::helpers::start_day();
    app.sign_methadone(patient, &["30"], day).await;
    app.arrange(patient, w.centre, "AAAAAAA", day).await;
    let (status, given) = app.dispense(&w.utdeler, patient, "first", json!({})).await;
    assert_eq!(status, StatusCode::CREATED, "{given}");
    let (_, list) = sent_list(&app, &w.fastlege).await;
    assert_eq!(list[0]["status"], "started", "{list}");
    assert_eq!(list[0]["status_text"], "Startet i LAR 23.11.2026");

    // The status list is in the patient's access log as read by the referrer.
    let mut conn = app.state.store.read().await.expect("conn");
    let log = samhand_store::audit::for_patient(&mut conn, patient.parse().unwrap(), 1000)
        .await
        .expect("log");
    assert!(
        log.iter().any(|e| e.relation == "referrer"
            && e.action == "write"
            && e.actor_id == w.fastlege.id.to_string()),
        "the referral written by the GP, allowed by the referral: {log:?}"
    );
    assert!(
        log.iter().any(|e| e.relation == "referrer"
            && e.action == "read"
            && e.actor_id == w.fastlege2.id.to_string()),
        "{log:?}"
    );
}

#[tokio::test]
async fn the_referrer_sees_the_status_only_and_others_see_nothing() {
    let app = spawn_app().await;
    let w = &app.world;
    let (status, created) = send(&app, &w.fastlege, &sent_body(&app, 802, &w.unit.to_string())).await;
    assert_eq!(status, StatusCode::CREATED, "{created}");
    let patient = created["patient_id"].as_str().unwrap();
    let referral = created["id"].as_str().unwrap();

    // Nothing more of the LAR record: not the patient, not the referral's case.
    for path in [
        format!("/api/v1/patients/{patient}"),
        format!("/api/v1/referrals/{referral}"),
    ] {
        let (status, body) = app.get_json(&w.fastlege, &path).await;
        assert!(
            status == StatusCode::FORBIDDEN || status == StatusCode::NOT_FOUND,
            "{path}: {status} {body}"
        );
    }
    // Another service that may refer sees none of the office's referrals.
    let (status, list) = sent_list(&app, &w.utdeler).await;
    assert_eq!(status, StatusCode::OK, "{list}");
    assert_eq!(list, json!([]));
    // NAV is no health service, and a LAR unit's staff register what they
    // receive: neither sends from here (and the refusal is audited).
    for staff in [&w.nav, &w.lege] {
        let (status, problem) = send(&app, staff, &sent_body(&app, 803, &w.unit.to_string())).await;
        assert_eq!(status, StatusCode::FORBIDDEN, "{problem}");
    }
    let (status, _) = sent_list(&app, &w.nav).await;
    assert_eq!(status, StatusCode::FORBIDDEN);

    // No LAR unit, or a place that is not one: refused at the field, nothing made.
    for unit in ["".to_string(), w.gp_office.to_string(), w.centre.to_string()] {
        let mut body = sent_body(&app, 804, &unit);
        if unit.is_empty() {
            // Without a unit it is the LAR unit's own registration: the GP may not.
            let (status, _) = send(&app, &w.fastlege, &body).await;
            assert_eq!(status, StatusCode::FORBIDDEN);
            continue;
        }
        body["reason"] = json!("Opioidavhengighet");
        let (status, problem) = send(&app, &w.fastlege, &body).await;
        assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{problem}");
        assert_eq!(error_fields(&problem), ["lar_unit_id"]);
    }
    // A person already in LAR, or the number under another name: refused without
    // telling the referrer which (that would tell who is in LAR).
    let in_lar = app.patient_on_daily_methadone(806).await;
    let mut messages = Vec::new();
    for (n, family) in [(806, "Sendesen"), (802, "Annetnavn")] {
        let mut body = sent_body(&app, n, &w.unit.to_string());
        body["family_name"] = json!(family);
        let (status, problem) = send(&app, &w.fastlege, &body).await;
        assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{problem}");
        assert_eq!(error_fields(&problem), ["national_id"]);
        messages.push(problem["errors"].to_string());
    }
    assert_eq!(messages[0], messages[1], "the same words either way");
    assert!(!messages[0].contains("allerede i LAR"), "{}", messages[0]);
    let _ = in_lar;
    let mut conn = app.state.store.read().await.expect("conn");
    let row: (i64,) = sqlx::query_as("SELECT COUNT(*) FROM referrals")
        .fetch_one(&mut *conn)
        .await
        .expect("count");
    assert_eq!(row.0, 1);
}

#[tokio::test]
async fn a_gp_sends_a_referral_from_the_page_and_sees_it_listed() {
    let app = spawn_app().await;
    let gp = app.session_of(app.world.fastlege.username).await;
    let (status, html) = app.page(&gp, "/henvisninger/ny").await;
    assert_eq!(status, StatusCode::OK);
    assert!(html.contains("LAR-enheten Fjordvik"), "{html}");
    let unit = app.world.unit.to_string();
    let nid = national_id(805);
    let mut fields = vec![
        ("lar_unit_id", unit.as_str()),
        ("national_id", nid.as_str()),
        ("given_name", "Pia"),
        ("family_name", "Sidesen"),
        ("phone", ""),
        ("address", ""),
        ("reason", " "),
        ("referrer_assessment", "Motivert"),
    ];
    let (status, html, _) = app.submit(&gp, "/henvisninger/ny", &fields).await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(html.contains("Skriv inn årsaken til henvisningen."), "{html}");
    fields[6].1 = "Opioidavhengighet";
    let (status, _, location) = app.submit(&gp, "/henvisninger/ny", &fields).await;
    assert_eq!(status, StatusCode::SEE_OTHER);
    assert_eq!(location.as_deref(), Some("/henvisninger"));
    let (status, html) = app.page(&gp, "/henvisninger").await;
    assert_eq!(status, StatusCode::OK);
    assert!(
        html.contains("Pia Sidesen") && html.contains("Mottatt, ikke vurdert ennå"),
        "{html}"
    );
    // The LAR unit's waiting list is not the GP's: the referral is not on theirs.
    let (_, html) = app.page(&gp, "/venteliste").await;
    assert!(!html.contains("Pia Sidesen"), "{html}");
    let lege = app.session_of(app.world.lege.username).await;
    let (_, html) = app.page(&lege, "/venteliste").await;
    assert!(html.contains("Pia Sidesen"), "{html}");
}
