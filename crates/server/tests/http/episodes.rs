//! Ending a LAR episode through the API: the reason and, for an involuntary
//! discharge, the note are required; the patient leaves the list on the end date; an
//! episode ends once.

use jiff::civil::{Time, date};
use reqwest::StatusCode;
use serde_json::{Value, json};

use crate::helpers::{Staff, TestApp, error_fields, spawn_app, start_day};

async fn end(app: &TestApp, staff: &Staff, patient: &str, body: &Value) -> (StatusCode, Value) {
    app.post_json(staff, &format!("/api/v1/patients/{patient}/end"), body)
        .await
}

#[tokio::test]
async fn ending_treatment_with_bad_input_is_refused_with_the_fields_in_error_and_changes_nothing() {
    let app = spawn_app().await;
    let patient = app.patient_on_daily_methadone(130).await;
    let cases: Vec<(&str, Value, &[&str])> = vec![
        ("nothing", json!({}), &["ended_on", "reason"]),
        (
            "a date that does not exist",
            json!({"ended_on": "2026-11-31", "reason": "other"}),
            &["ended_on"],
        ),
        (
            "an end before the enrolment",
            json!({"ended_on": "2026-11-20", "reason": "voluntary_discharge"}),
            &["ended_on"],
        ),
        (
            "no reason",
            json!({"ended_on": "2026-11-25", "reason": ""}),
            &["reason"],
        ),
        (
            "an unknown reason",
            json!({"ended_on": "2026-11-25", "reason": "lei av det"}),
            &["reason"],
        ),
        (
            "an involuntary discharge without the note",
            json!({"ended_on": "2026-11-25", "reason": "involuntary_discharge"}),
            &["note"],
        ),
        (
            "an involuntary discharge with a blank note",
            json!({"ended_on": "2026-11-25", "reason": "involuntary_discharge", "note": "   "}),
            &["note"],
        ),
    ];
    for (what, body, expected) in cases {
        let (status, problem) = end(&app, &app.world.lege, &patient, &body).await;
        assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{what}: {problem}");
        assert_eq!(error_fields(&problem), *expected, "{what}: {problem}");
    }
    let (_, problem) = end(
        &app,
        &app.world.lege,
        &patient,
        &json!({"ended_on": "2026-11-25", "reason": "involuntary_discharge"}),
    )
    .await;
    assert!(
        problem["errors"][0]["message"]
            .as_str()
            .expect("message")
            .contains("retten til ny vurdering og til å klage"),
        "{problem}"
    );

    // Only a prescriber with a care relation ends treatment.
    let body = json!({"ended_on": "2026-11-25", "reason": "voluntary_discharge"});
    for staff in [&app.world.konsulent, &app.world.utdeler, &app.world.fremmed_lege] {
        let (status, problem) = end(&app, staff, &patient, &body).await;
        assert_eq!(status, StatusCode::FORBIDDEN, "{}: {problem}", staff.username);
    }

    let overview = app.overview(&patient).await;
    assert!(overview["episode"]["ended"].is_null(), "{overview}");
    assert!(app.row_on_list(&app.world.utdeler, &patient).await.is_some());
}

#[tokio::test]
async fn an_involuntary_discharge_keeps_its_note_and_the_patient_leaves_the_list_on_the_end_date() {
    let app = spawn_app().await;
    let patient = app.patient_on_daily_methadone(131).await;
    let note = "Skriftlig informert om rett til ny vurdering og klage, brev 23.11.";
    let (status, ended) = end(
        &app,
        &app.world.lege,
        &patient,
        &json!({"ended_on": "25.11.2026", "reason": "involuntary_discharge", "note": note}),
    )
    .await;
    assert_eq!(status, StatusCode::OK, "{ended}");
    assert_eq!(
        ended,
        json!({"patient_id": patient, "ended_on": "2026-11-25", "reason": "involuntary_discharge"})
    );
    let overview = app.overview(&patient).await;
    assert_eq!(
        overview["episode"]["ended"],
        json!({
            "on": "2026-11-25",
            "reason": "involuntary_discharge",
            "note": note,
            "decided_by": app.world.lege.id.to_string(),
        })
    );

    // An episode ends once, also while its end date is still ahead.
    let (status, again) = end(
        &app,
        &app.world.lege,
        &patient,
        &json!({"ended_on": "2026-11-24", "reason": "other"}),
    )
    .await;
    assert_eq!(status, StatusCode::CONFLICT, "{again}");
    assert_eq!(
        app.overview(&patient).await["episode"]["ended"]["on"],
        json!("2026-11-25"),
        "the first end stands"
    );

    // Doses run until the day before the end date.
    for (day, key) in [(start_day(), "mon"), (date(2026, 11, 24), "tue")] {
        app.set_oslo_time(day, Time::constant(9, 0, 0, 0));
        assert!(app.row_on_list(&app.world.utdeler, &patient).await.is_some());
        let (status, body) = app.dispense(&app.world.utdeler, &patient, key, json!({})).await;
        assert_eq!(status, StatusCode::CREATED, "{day}: {body}");
    }
    for day in [date(2026, 11, 25), date(2026, 11, 26)] {
        app.set_oslo_time(day, Time::constant(9, 0, 0, 0));
        assert!(
            app.row_on_list(&app.world.utdeler, &patient).await.is_none(),
            "off the list on {day}"
        );
        let (status, body) = app
            .dispense(&app.world.utdeler, &patient, &format!("after-{day}"), json!({}))
            .await;
        // Once treatment has ended, the dispensing place no longer has the relation.
        assert_eq!(status, StatusCode::FORBIDDEN, "{day}: {body}");
    }

    // After the end, nothing more can be ended, ordered or arranged.
    let (status, again) = end(
        &app,
        &app.world.lege,
        &patient,
        &json!({"ended_on": "2026-11-26", "reason": "other"}),
    )
    .await;
    assert_eq!(status, StatusCode::CONFLICT, "{again}");
    let order = json!({"substance": "methadone_oral_solution", "form": "oral_solution",
        "parts_mg": [60], "effective_from": "2026-11-26", "reason": "Ny start"});
    let (status, body) = app
        .post_json(
            &app.world.lege,
            &format!("/api/v1/patients/{patient}/dose-orders"),
            &order,
        )
        .await;
    assert_eq!(status, StatusCode::CONFLICT, "{body}");
    let arrangement = json!({"place_id": app.world.centre.to_string(), "days": vec!["attend"; 7],
        "valid_from": "2026-11-26", "review_on": "2027-02-26", "window_start": "08.00",
        "window_end": "09.30", "reason": "Ny start"});
    let (status, body) = app
        .post_json(
            &app.world.lege,
            &format!("/api/v1/patients/{patient}/arrangements"),
            &arrangement,
        )
        .await;
    assert_eq!(status, StatusCode::CONFLICT, "{body}");

    // Days after the end are not missed doses.
    app.set_oslo_time(date(2026, 12, 7), Time::constant(9, 0, 0, 0));
    let missed = &app.overview(&patient).await["missed_doses"];
    assert_eq!(missed["consecutive_days"], json!(0), "{missed}");
    assert_eq!(missed["alert"], json!(false));
    assert_eq!(missed["blocked"], json!(false));
}

#[tokio::test]
async fn ending_treatment_today_takes_the_patient_off_todays_list_at_once() {
    let app = spawn_app().await;
    let patient = app.patient_on_daily_methadone(132).await;
    assert!(app.row_on_list(&app.world.utdeler, &patient).await.is_some());
    let (status, ended) = end(
        &app,
        &app.world.lege,
        &patient,
        &json!({"ended_on": start_day().to_string(), "reason": "completed_taper"}),
    )
    .await;
    assert_eq!(status, StatusCode::OK, "{ended}");
    assert!(app.row_on_list(&app.world.utdeler, &patient).await.is_none());
    let overview = app.overview(&patient).await;
    assert_eq!(overview["episode"]["ended"]["reason"], json!("completed_taper"));
    assert_eq!(overview["episode"]["ended"]["note"], json!(""));
}

#[tokio::test]
async fn a_patient_whose_lar_ended_is_enrolled_again_as_a_new_episode_and_the_old_one_stays() {
    let app = spawn_app().await;
    let w = &app.world;
    let patient = app.patient_on_daily_methadone(137).await;
    let enrol_again = |started_on: &str| {
        json!({
            "national_id": crate::helpers::national_id(137),
            "given_name": "Pasient137",
            "family_name": "Testesen",
            "phone": "40000000",
            "address": "Gata 1",
            "doctor_id": w.lege.id.to_string(),
            "consultant_id": w.konsulent.id.to_string(),
            "started_on": started_on,
            "phase": "start",
        })
    };
    // While the episode runs, a second enrolment is refused.
    let (status, problem) = app
        .post_json(&w.lege, "/api/v1/patients", &enrol_again("2026-11-24"))
        .await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{problem}");
    assert!(problem.to_string().contains("allerede i LAR"), "{problem}");

    let (status, _) = end(
        &app,
        &w.lege,
        &patient,
        &json!({"ended_on": "25.11.2026", "reason": "voluntary_discharge", "note": "Ønsket å avslutte"}),
    )
    .await;
    assert_eq!(status, StatusCode::OK);
    // Not before the last end.
    let (status, problem) = app
        .post_json(&w.lege, "/api/v1/patients", &enrol_again("2026-11-24"))
        .await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{problem}");
    assert!(problem.to_string().contains("started_on"), "{problem}");

    // The day after, the overview offers it, with the form filled in from who the
    // patient is.
    app.set_oslo_time(
        jiff::civil::date(2026, 11, 26),
        jiff::civil::Time::constant(9, 0, 0, 0),
    );
    let session = app.session_of("lege").await;
    let link = format!("/pasienter/ny?pasient={patient}");
    let (_, html) = app.page(&session, &format!("/pasienter/{patient}")).await;
    assert!(html.contains(&link.replace('&', "&amp;")), "{html}");
    let (status, html) = app.page(&session, &link).await;
    assert_eq!(status, StatusCode::OK);
    assert!(
        html.contains(&crate::helpers::national_id(137)),
        "the form is filled in: {html}"
    );

    // Back in LAR: the same person, a new episode; the old one and its orders stay.
    let (status, again) = app
        .post_json(&w.lege, "/api/v1/patients", &enrol_again("2026-11-26"))
        .await;
    assert_eq!(status, StatusCode::CREATED, "{again}");
    assert_eq!(again["id"], json!(patient), "the same patient");
    app.set_oslo_time(
        jiff::civil::date(2026, 11, 26),
        jiff::civil::Time::constant(9, 0, 0, 0),
    );
    let overview = app.overview(&patient).await;
    assert_eq!(
        overview["episode"]["started_on"],
        json!("2026-11-26"),
        "{overview}"
    );
    assert!(overview["episode"]["ended"].is_null(), "{overview}");
    let orders = app.order_history(&patient).await;
    assert!(!orders.is_empty(), "the earlier orders are still readable");
}

#[tokio::test]
async fn the_place_reads_the_overdose_risk_message_sent_to_it_when_lar_ends() {
    let app = spawn_app().await;
    let w = &app.world;
    let patient = app.patient_on_daily_methadone(139).await;
    let (status, _) = end(
        &app,
        &w.lege,
        &patient,
        &json!({"ended_on": "24.11.2026", "reason": "voluntary_discharge", "note": "Ønsket å avslutte"}),
    )
    .await;
    assert_eq!(status, StatusCode::OK);
    app.set_oslo_time(
        jiff::civil::date(2026, 11, 26),
        jiff::civil::Time::constant(9, 0, 0, 0),
    );
    let (status, inbox) = app.get_json(&w.utdeler, "/api/v1/inbox").await;
    assert_eq!(status, StatusCode::OK);
    let message = inbox
        .as_array()
        .expect("inbox")
        .iter()
        .find(|m| {
            m["subject"]
                .as_str()
                .is_some_and(|s| s.contains("høy risiko for overdose"))
        })
        .unwrap_or_else(|| panic!("the place reads the message: {inbox}"))
        .clone();
    assert_eq!(
        message["patient"]["id"],
        json!(patient),
        "and whom it is about: {message}"
    );
    let session = app.session_of("utdeler").await;
    let (_, html) = app.page(&session, "/innboks").await;
    assert!(
        !html.contains("En pasient du ikke lenger har tilgang til"),
        "{html}"
    );
    // The read is audited with what allowed it.
    let mut conn = app.state.store.read().await.expect("conn");
    let entries = samhand_store::audit::for_patient(&mut conn, patient.parse().expect("id"), 1000)
        .await
        .expect("audit");
    assert!(
        entries.iter().any(|e| e.relation == "addressed_message"),
        "the access is audited as a message to the unit"
    );
}
