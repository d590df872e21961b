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

#[tokio::test]
async fn a_reassessment_that_starts_tomorrow_leaves_todays_old_dose_blocked() {
    let app = spawn_app().await;
    let patient = app.patient_on_daily_methadone(162).await;
    let saturday = jiff::civil::date(2026, 11, 28);
    app.set_oslo_time(saturday, jiff::civil::Time::constant(9, 0, 0, 0));
    // Blocked after five days without dose; the doctor signs 30 mg from Sunday.
    let sunday = jiff::civil::date(2026, 11, 29);
    app.sign_methadone(&patient, &["30"], sunday).await;
    let (status, body) = app
        .dispense(&app.world.utdeler, &patient, "old-dose", json!({}))
        .await;
    assert_eq!(
        status,
        StatusCode::CONFLICT,
        "today's dose is still the old 60 mg: {body}"
    );
    app.set_oslo_time(sunday, jiff::civil::Time::constant(9, 0, 0, 0));
    let (status, body) = app
        .dispense(&app.world.utdeler, &patient, "new-dose", json!({}))
        .await;
    assert_eq!(status, StatusCode::CREATED, "{body}");
    assert_eq!(body["doses"][0]["amount_mg"], json!(30.0));
}

#[tokio::test]
async fn a_new_split_from_today_does_not_add_to_the_dose_already_given_today() {
    let app = spawn_app().await;
    // 90 mg given at 09:00 under version 1.
    let patient = app.enrol(163, start_day()).await;
    app.sign_methadone(&patient, &["90"], start_day()).await;
    app.arrange(&patient, app.world.centre, "AAAAAAA", start_day())
        .await;
    let (status, _) = app
        .dispense(&app.world.utdeler, &patient, "morning", json!({}))
        .await;
    assert_eq!(status, StatusCode::CREATED);
    // Version 2 splits the same day's dose into 60 + 30 from today.
    app.sign_methadone(&patient, &["60", "30"], start_day()).await;
    let (status, body) = app
        .dispense(&app.world.utdeler, &patient, "afternoon", json!({}))
        .await;
    assert_eq!(
        status,
        StatusCode::CONFLICT,
        "part 2 would make 120 mg today: {body}"
    );
    let row = app.row_on_list(&app.world.utdeler, &patient).await.expect("row");
    assert_eq!(
        row["due"].as_array().expect("due").len(),
        1,
        "only the dose given: {row}"
    );
}

#[tokio::test]
async fn a_retried_key_with_another_outcome_is_refused_not_answered_with_the_old_result() {
    let app = spawn_app().await;
    let patient = app.patient_on_daily_methadone(164).await;
    let (status, _) = app.dispense(&app.world.utdeler, &patient, "k", json!({})).await;
    assert_eq!(status, StatusCode::CREATED);
    let (status, body) = app
        .dispense(
            &app.world.utdeler,
            &patient,
            "k",
            json!({"outcome": "withheld", "reason": "Ruset"}),
        )
        .await;
    assert_eq!(status, StatusCode::CONFLICT, "{body}");
    // And a replay is only for those with the relation.
    let (status, body) = app.dispense(&app.world.utdeler2, &patient, "k", json!({})).await;
    assert_eq!(status, StatusCode::FORBIDDEN, "{body}");
}

#[tokio::test]
async fn a_cover_cannot_hand_over_on_a_day_that_has_passed_or_after_treatment_ended() {
    let app = spawn_app().await;
    let patient = app.patient_on_daily_methadone(165).await;
    let path = format!("/api/v1/patients/{patient}/covers");
    let (status, problem) = app
        .post_json(
            &app.world.lege,
            &path,
            &json!({"date": "2026-11-25", "take_home_from": "2026-11-20"}),
        )
        .await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{problem}");
    assert_eq!(error_fields(&problem), vec!["take_home_from"]);
    let end = json!({"ended_on": start_day().to_string(), "reason": "voluntary_discharge"});
    let (status, _) = app
        .post_json(&app.world.lege, &format!("/api/v1/patients/{patient}/end"), &end)
        .await;
    assert_eq!(status, StatusCode::OK);
    let (status, problem) = app
        .post_json(
            &app.world.lege,
            &path,
            &json!({"date": "2026-12-25", "take_home_from": "2026-12-24"}),
        )
        .await;
    assert_eq!(status, StatusCode::CONFLICT, "{problem}");
}

#[tokio::test]
async fn the_dispensing_place_loses_access_when_treatment_ends() {
    let app = spawn_app().await;
    let patient = app.patient_on_daily_methadone(166).await;
    let path = format!("/api/v1/patients/{patient}");
    let (status, _) = app.get_json(&app.world.utdeler, &path).await;
    assert_eq!(status, StatusCode::OK);
    let end = json!({"ended_on": "2026-11-24", "reason": "voluntary_discharge"});
    let (status, _) = app
        .post_json(&app.world.lege, &format!("/api/v1/patients/{patient}/end"), &end)
        .await;
    assert_eq!(status, StatusCode::OK);
    app.set_oslo_time(
        jiff::civil::date(2026, 11, 24),
        jiff::civil::Time::constant(9, 0, 0, 0),
    );
    let (status, _) = app.get_json(&app.world.utdeler, &path).await;
    assert_eq!(status, StatusCode::FORBIDDEN);
    let (status, _) = app.get_json(&app.world.lege, &path).await;
    assert_eq!(status, StatusCode::OK, "the responsible unit keeps the record");
}

#[tokio::test]
async fn search_finds_norwegian_letters_whatever_their_case() {
    let app = spawn_app().await;
    let body = json!({"national_id": crate::helpers::national_id(167), "given_name": "Øyvind", "family_name": "Ærø",
        "phone": "", "address": "", "doctor_id": app.world.lege.id.to_string(),
        "consultant_id": app.world.konsulent.id.to_string(), "started_on": "2026-11-23"});
    let (status, created) = app.post_json(&app.world.lege, "/api/v1/patients", &body).await;
    assert_eq!(status, StatusCode::CREATED, "{created}");
    for query in ["øyvind", "ØYVIND", "ærø", "yvind æ"] {
        let (_, found) = app
            .get_json(&app.world.lege, &format!("/api/v1/patients?q={query}"))
            .await;
        assert_eq!(found.as_array().expect("list").len(), 1, "{query}");
    }
}

#[tokio::test]
async fn the_database_refuses_to_change_or_delete_a_recorded_dispensing_or_order() {
    let app = spawn_app().await;
    let patient = app.patient_on_daily_methadone(611).await;
    let (status, body) = app
        .dispense(
            &app.world.utdeler,
            &patient,
            "append-only-1",
            serde_json::json!({}),
        )
        .await;
    assert_eq!(status, reqwest::StatusCode::CREATED, "{body}");
    let mut conn = app.state.store.read().await.expect("conn");
    for sql in [
        "DELETE FROM dispensing_events",
        "UPDATE dispensed_doses SET part = 2",
        "DELETE FROM dose_order_signatures",
        "UPDATE arrangements SET reason = 'endret'",
        "DELETE FROM episodes",
    ] {
        let refused = sqlx::query(sql).execute(&mut *conn).await;
        assert!(
            refused
                .as_ref()
                .is_err_and(|e| e.to_string().contains("append-only")),
            "{sql}: {refused:?}"
        );
    }
}
