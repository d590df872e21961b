//! Moving a patient to another dispensing place, across a weekend: no day dispensed
//! twice or by nobody, and the new place sees what it needs from the decision on.

use jiff::civil::{Date, Time, date};
use reqwest::StatusCode;
use serde_json::{Value, json};

use crate::helpers::{Staff, TestApp, spawn_app, start_day};

impl TestApp {
    /// The dates of the doses due for the patient at the staff's place today.
    async fn due_dates(&self, staff: &Staff, patient: &str) -> Vec<String> {
        self.row_on_list(staff, patient)
            .await
            .map(|row| {
                row["due"]
                    .as_array()
                    .expect("due")
                    .iter()
                    .filter(|d| d["recorded"].is_null())
                    .map(|d| d["date"].as_str().expect("date").to_string())
                    .collect()
            })
            .unwrap_or_default()
    }

    async fn move_to(
        &self,
        patient: &str,
        place: impl ToString,
        from: Date,
        carry: bool,
    ) -> (StatusCode, Value) {
        self.post_json(
            &self.world.lege,
            &format!("/api/v1/patients/{patient}/move"),
            &json!({"place_id": place.to_string(), "from": from.to_string(), "reason": "Ny bolig nær apoteket",
                "carry_consents": carry}),
        )
        .await
    }
}

#[tokio::test]
async fn a_move_across_a_weekend_leaves_no_day_twice_or_to_nobody() {
    let app = spawn_app().await;
    let w = &app.world;
    // Monday to Friday at the centre; the weekend's doses go home on Friday.
    let monday_move = app.enrol(100, start_day()).await;
    let saturday_move = app.enrol(101, start_day()).await;
    for patient in [&monday_move, &saturday_move] {
        app.sign_methadone(patient, &["60"], start_day()).await;
        app.arrange(patient, w.centre, "AAAAATT", start_day()).await;
    }
    app.consent(&w.konsulent, &monday_move, w.centre, "health_information", true)
        .await;
    let (status, body) = app
        .post_json(
            &w.lege,
            &format!("/api/v1/patients/{monday_move}/health-information"),
            &json!({"kind": "diabetes", "text": "Diabetes type 1"}),
        )
        .await;
    assert_eq!(status, StatusCode::CREATED, "{body}");

    // Wednesday: the doctor moves one patient to the pharmacy from Monday, the other
    // from Saturday.
    app.set_oslo_time(date(2026, 11, 25), Time::constant(10, 0, 0, 0));
    let (status, moved) = app
        .move_to(&monday_move, w.pharmacy, date(2026, 11, 30), true)
        .await;
    assert_eq!(status, StatusCode::CREATED, "{moved}");
    assert_eq!(moved["carried_consents"], json!(["health_information"]));
    let (status, moved) = app
        .move_to(&saturday_move, w.pharmacy, date(2026, 11, 28), false)
        .await;
    assert_eq!(status, StatusCode::CREATED, "{moved}");

    // From the decision on, the pharmacy sees the patient, and the health
    // information the patient shared with the centre.
    assert_eq!(
        app.get_json(&w.apotek, &format!("/api/v1/patients/{monday_move}"))
            .await
            .0,
        StatusCode::OK
    );
    let (status, health) = app
        .get_json(
            &w.apotek,
            &format!("/api/v1/patients/{monday_move}/health-information"),
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{health}");
    // Both places were told.
    for staff in [&w.utdeler, &w.apotek] {
        let (_, inbox) = app.get_json(staff, "/api/v1/inbox").await;
        assert!(
            inbox
                .as_array()
                .expect("inbox")
                .iter()
                .any(|m| m["kind"] == json!("arrangement_change") && m["patient"]["id"] == json!(monday_move)),
            "{}: {inbox}",
            staff.username
        );
    }

    // Day by day, who hands out which days' doses.
    let mut handed: Vec<(String, String, String)> = Vec::new();
    for day in 27..=30 {
        app.set_oslo_time(date(2026, 11, day), Time::constant(9, 0, 0, 0));
        for (name, patient) in [("monday", &monday_move), ("saturday", &saturday_move)] {
            for (place, staff) in [("centre", &w.utdeler), ("pharmacy", &w.apotek)] {
                for due in app.due_dates(staff, patient).await {
                    handed.push((name.into(), due, place.into()));
                }
                let (status, body) = app
                    .dispense(staff, patient, &format!("{name}-{day}-{place}"), json!({}))
                    .await;
                // Where nothing is due the place is refused (409), or, once the move
                // has taken effect, the old place has no relation left (403): never a
                // second dose.
                assert!(
                    [StatusCode::CREATED, StatusCode::CONFLICT, StatusCode::FORBIDDEN].contains(&status),
                    "{status} {body}"
                );
            }
        }
    }
    let expect = |name: &str, pairs: &[(&str, &str)]| {
        let mut got: Vec<(String, String)> = handed
            .iter()
            .filter(|(n, _, _)| n == name)
            .map(|(_, d, p)| (d.clone(), p.clone()))
            .collect();
        got.sort();
        let want: Vec<(String, String)> = pairs
            .iter()
            .map(|(d, p)| (d.to_string(), p.to_string()))
            .collect();
        assert_eq!(got, want, "{name}");
    };
    // Moving on Monday: the centre hands over Friday with the weekend; Monday at the
    // pharmacy.
    expect(
        "monday",
        &[
            ("2026-11-27", "centre"),
            ("2026-11-28", "centre"),
            ("2026-11-29", "centre"),
            ("2026-11-30", "pharmacy"),
        ],
    );
    // Moving on Saturday: the centre gives Friday's dose only; the pharmacy gives
    // Saturday's and hands over Sunday's (it is closed on Sundays).
    expect(
        "saturday",
        &[
            ("2026-11-27", "centre"),
            ("2026-11-28", "pharmacy"),
            ("2026-11-29", "pharmacy"),
            ("2026-11-30", "pharmacy"),
        ],
    );
}

#[tokio::test]
async fn a_move_needs_a_new_place_a_date_from_today_and_a_reason_and_changes_nothing_otherwise() {
    let app = spawn_app().await;
    let w = &app.world;
    let patient = app.patient_on_daily_methadone(102).await;
    let (status, body) = app
        .post_json(
            &w.lege,
            &format!("/api/v1/patients/{patient}/move"),
            &json!({"place_id": w.centre.to_string(), "from": "2026-11-20", "reason": " "}),
        )
        .await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{body}");
    assert_eq!(
        crate::helpers::error_fields(&body),
        vec!["from", "reason", "place_id"]
    );
    assert!(app.row_on_list(&w.utdeler, &patient).await.is_some());
    // Only the prescriber moves a patient.
    let (status, _) = app
        .post_json(
            &w.utdeler,
            &format!("/api/v1/patients/{patient}/move"),
            &json!({"place_id": w.pharmacy.to_string(), "from": "2026-11-30", "reason": "Flytter"}),
        )
        .await;
    assert_eq!(status, StatusCode::FORBIDDEN);
}

#[tokio::test]
async fn the_move_form_moves_the_patient_and_shows_errors_in_norwegian() {
    let app = spawn_app().await;
    let w = &app.world;
    let patient = app.patient_on_daily_methadone(103).await;
    let session = app.session_of("lege").await;
    let path = format!("/pasienter/{patient}/flytt");
    let (status, html) = app.page(&session, &path).await;
    assert_eq!(status, StatusCode::OK, "{html}");
    assert!(html.contains("LAR-senteret Sentrum"), "{html}");
    let (status, html, _) = app.submit(&session, &path, &[("reason", "Ny bolig")]).await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(html.contains("Velg det nye utleveringsstedet."), "{html}");
    assert!(html.contains("Ny bolig"), "keeps what was typed: {html}");
    let pharmacy = w.pharmacy.to_string();
    let (status, _, location) = app
        .submit(
            &session,
            &path,
            &[
                ("place_id", pharmacy.as_str()),
                ("from", "30.11.2026"),
                ("reason", "Ny bolig"),
            ],
        )
        .await;
    assert_eq!(status, StatusCode::SEE_OTHER);
    assert_eq!(location, Some(format!("/pasienter/{patient}")));
    app.set_oslo_time(date(2026, 11, 30), Time::constant(9, 0, 0, 0));
    assert!(app.row_on_list(&w.apotek, &patient).await.is_some());
    assert!(app.row_on_list(&w.utdeler, &patient).await.is_none());
}
