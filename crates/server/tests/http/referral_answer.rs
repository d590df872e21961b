//! The assessment decision told to the referrer (issue 18): a referring service
//! outside Samhand with a HER-id is answered by EDI (a Hodemelding that validates),
//! without a consent, the sending in the access log as `referral_answer`; one in
//! Samhand gets it in its inbox; a correction tells them again, and the patient
//! each time (H88).

use reqwest::StatusCode;
use serde_json::{Value, json};

use crate::edi::{dialogs, xmllint_validates};
use crate::helpers::{TestApp, error_fields, national_id, spawn_app};

async fn refer_from(app: &TestApp, n: u16, referrer: &str) -> (StatusCode, Value) {
    let body = json!({
        "national_id": national_id(n),
        "given_name": "Vera",
        "family_name": "Svarsen",
        "doctor_id": app.world.lege.id.to_string(),
        "consultant_id": app.world.konsulent.id.to_string(),
        "referrer_name": "Fastlege Fiktiv",
        "referrer_service": "Torget legekontor",
        "reason": "Opioidavhengighet",
        "referrer_assessment": "Motivert for LAR",
        "received_on": "2026-11-16",
        "referrer_organisation_id": referrer,
    });
    app.post_json(&app.world.konsulent, "/api/v1/referrals", &body)
        .await
}

async fn assess(app: &TestApp, referral: &Value, body: &Value) {
    let path = format!(
        "/api/v1/referrals/{}/assessment",
        referral["id"].as_str().unwrap()
    );
    let (status, a) = app.post_json(&app.world.lege, &path, body).await;
    assert_eq!(status, StatusCode::CREATED, "{a}");
}

fn outbox_dialogs(app: &TestApp) -> Vec<String> {
    dialogs(&app.state.config.edi_dirs().outbox)
        .iter()
        .map(|p| {
            xmllint_validates(p).expect("the Hodemelding validates against the official schemas");
            std::fs::read_to_string(p).expect("read")
        })
        .collect()
}

async fn to_patient(app: &TestApp, patient: &str) -> i64 {
    let mut conn = app.state.store.read().await.expect("conn");
    let row: (i64,) = sqlx::query_as(&format!(
        "SELECT COUNT(*) FROM messages WHERE party = 'to_patient' AND patient_id = '{patient}'"
    ))
    .fetch_one(&mut *conn)
    .await
    .expect("count");
    row.0
}

#[tokio::test]
async fn a_referrer_outside_samhand_is_answered_by_edi_without_consent_and_again_on_a_correction() {
    let app = spawn_app().await;
    let office = app.outside_gp_office().await;
    let (status, referral) = refer_from(&app, 701, &office.to_string()).await;
    assert_eq!(status, StatusCode::CREATED, "{referral}");
    let patient = referral["patient_id"].as_str().unwrap().to_string();
    assess(
        &app,
        &referral,
        &json!({"decision": "right", "latest_start": "2027-01-11", "reason": "Oppfyller kriteriene"}),
    )
    .await;
    samhand_server::service::flush_outbox(&app.state)
        .await
        .expect("flush");
    let sent = outbox_dialogs(&app);
    assert_eq!(sent.len(), 1, "{sent:?}");
    assert!(
        sent[0].contains(&national_id(701))
            && sent[0].contains("8100042")
            && sent[0].contains("rett til nødvendig helsehjelp")
            && sent[0].contains("11.01.2027"),
        "{}",
        sent[0]
    );
    assert_eq!(to_patient(&app, &patient).await, 1, "the patient is told");

    // A correction tells the referrer and the patient again.
    assess(
        &app,
        &referral,
        &json!({"decision": "no_right", "reason": "Ikke opioidavhengig etter nærmere utredning",
                "correction_reason": "Ny opplysning"}),
    )
    .await;
    samhand_server::service::flush_outbox(&app.state)
        .await
        .expect("flush");
    let sent = outbox_dialogs(&app);
    assert_eq!(sent.len(), 2, "{sent:?}");
    assert!(
        sent.iter()
            .any(|x| x.contains("ikke rett") && x.contains("Ikke opioidavhengig")),
        "{sent:?}"
    );
    assert_eq!(to_patient(&app, &patient).await, 2);

    // No consent was asked: the referral allows the answer, and the access log
    // says so, with the doctor who decided.
    let mut conn = app.state.store.read().await.expect("conn");
    let log = samhand_store::audit::for_patient(&mut conn, patient.parse().unwrap(), 1000)
        .await
        .expect("log");
    let answers: Vec<_> = log.iter().filter(|e| e.relation == "referral_answer").collect();
    assert_eq!(answers.len(), 2, "{answers:?}");
    assert!(answers.iter().all(|e| e.actor_id == app.world.lege.id.to_string()
        && e.category == "medication"
        && e.detail.contains("Torget legekontor")));
}

#[tokio::test]
async fn a_referrer_in_samhand_is_told_in_its_inbox_not_by_edi_and_an_unknown_referrer_is_refused() {
    let app = spawn_app().await;
    let w = &app.world;
    app.outside_gp_office().await;
    let (status, referral) = refer_from(&app, 702, &w.gp_office.to_string()).await;
    assert_eq!(status, StatusCode::CREATED, "{referral}");
    assess(
        &app,
        &referral,
        &json!({"decision": "right", "latest_start": "2027-01-11"}),
    )
    .await;
    samhand_server::service::flush_outbox(&app.state)
        .await
        .expect("flush");
    assert!(outbox_dialogs(&app).is_empty(), "no EDI to a service in Samhand");
    let (status, inbox) = app.get_json(&w.fastlege, "/api/v1/inbox").await;
    assert_eq!(status, StatusCode::OK, "{inbox}");
    let answers: Vec<&Value> = inbox
        .as_array()
        .unwrap()
        .iter()
        .filter(|m| m["subject"] == json!("Vurdering av henvisning"))
        .collect();
    assert_eq!(answers.len(), 1, "{inbox}");
    assert!(
        answers[0]["body"]
            .as_str()
            .is_some_and(|b| b.contains("rett til nødvendig helsehjelp")),
        "the referrer reads the answer: {inbox}"
    );

    // A referrer that is not in the register (or is the unit itself): refused,
    // nothing registered.
    for bad in [
        "ikke-en-id",
        &uuid::Uuid::new_v4().to_string(),
        &w.unit.to_string(),
    ] {
        let (status, problem) = refer_from(&app, 703, bad).await;
        assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{problem}");
        assert_eq!(error_fields(&problem), ["referrer_organisation_id"]);
    }
    let mut conn = app.state.store.read().await.expect("conn");
    let row: (i64,) = sqlx::query_as("SELECT COUNT(*) FROM referrals")
        .fetch_one(&mut *conn)
        .await
        .expect("count");
    assert_eq!(row.0, 1);
}
