//! Regressions: bugs found by tests, fixed, and kept fixed.

use reqwest::StatusCode;
use serde_json::json;

use crate::helpers::{error_fields, spawn_app, start_day};

#[tokio::test]
async fn an_increase_replacing_an_order_from_its_own_start_day_needs_a_confirmation() {
    let app = spawn_app().await;
    // Version 1: 60 mg from Monday 23 November (today).
    let patient = app.patient_on_daily_methadone(160).await;
    // The same day the doctor raises it to 80 mg, also from today.
    let draft = app
        .draft(
            &patient,
            "methadone_oral_solution",
            "oral_solution",
            &["80"],
            start_day(),
        )
        .await;
    let id = draft["id"].as_str().expect("id");
    let (_, warnings) = app
        .get_json(&app.world.lege, &format!("/api/v1/dose-orders/{id}/warnings"))
        .await;
    assert_eq!(
        warnings["warnings"][0]["code"],
        json!("large_methadone_increase"),
        "60 mg -> 80 mg is a 20 mg increase: {warnings}"
    );
    let (status, problem) = app
        .post_json(
            &app.world.lege,
            &format!("/api/v1/dose-orders/{id}/sign"),
            &json!({}),
        )
        .await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{problem}");
    assert_eq!(error_fields(&problem)[0], "confirmation");
}

#[tokio::test]
async fn a_draft_cannot_be_signed_after_the_treatment_has_ended() {
    let app = spawn_app().await;
    let patient = app.patient_on_daily_methadone(161).await;
    let draft = app
        .draft(
            &patient,
            "methadone_oral_solution",
            "oral_solution",
            &["50"],
            start_day(),
        )
        .await;
    let (status, body) = app
        .post_json(
            &app.world.lege,
            &format!("/api/v1/patients/{patient}/end"),
            &json!({"ended_on": start_day().to_string(), "reason": "voluntary_discharge"}),
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{body}");
    let id = draft["id"].as_str().expect("id");
    let (status, body) = app
        .post_json(
            &app.world.lege,
            &format!("/api/v1/dose-orders/{id}/sign"),
            &json!({}),
        )
        .await;
    assert_eq!(
        status,
        StatusCode::CONFLICT,
        "a new version on an ended episode: {body}"
    );
}
