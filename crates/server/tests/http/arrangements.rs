//! Dispensing arrangements through the API: bad input refused field by field, a new
//! version taking over from its first day (a move to another place across a weekend),
//! the kept history, and what hand-overs count for: reduced and withheld doses in the
//! overview's history, and a withheld take-home hand-over leaving the weekend undosed.

use jiff::civil::{Time, date};
use reqwest::StatusCode;
use serde_json::{Value, json};

use crate::helpers::{TestApp, error_fields, spawn_app, start_day};

async fn set_arrangement(app: &TestApp, patient: &str, body: &Value) -> (StatusCode, Value) {
    app.post_json(
        &app.world.lege,
        &format!("/api/v1/patients/{patient}/arrangements"),
        body,
    )
    .await
}

fn daily_at(place: &str) -> Value {
    json!({
        "place_id": place,
        "days": vec!["attend"; 7],
        "valid_from": "2026-11-23",
        "review_on": "2027-02-23",
        "window_start": "08.00",
        "window_end": "09.30",
        "reason": "Stabil",
    })
}

/// The dates and modes of a list row's or a recording's doses.
fn dates_and_modes(doses: &Value) -> Vec<(String, String)> {
    doses
        .as_array()
        .expect("doses")
        .iter()
        .map(|d| {
            (
                d["date"].as_str().expect("date").to_string(),
                d["mode"].as_str().expect("mode").to_string(),
            )
        })
        .collect()
}

fn pairs(expected: &[(&str, &str)]) -> Vec<(String, String)> {
    expected
        .iter()
        .map(|(a, b)| (a.to_string(), b.to_string()))
        .collect()
}

#[tokio::test]
async fn bad_arrangements_are_refused_with_the_fields_in_error_and_nothing_is_stored() {
    let app = spawn_app().await;
    let patient = app.enrol(120, start_day()).await;
    app.sign_methadone(&patient, &["60"], start_day()).await;
    let centre = app.world.centre.to_string();
    let other_centre = app.world.other_centre.to_string();
    let group = app.world.group.to_string();
    let with = |changes: Value| {
        let mut body = daily_at(&centre);
        for (key, value) in changes.as_object().expect("object") {
            body[key] = value.clone();
        }
        body
    };
    let cases: Vec<(&str, Value, &[&str])> = vec![
        (
            "no attendance day: seven take-home days",
            with(json!({"days": vec!["take_home"; 7]})),
            &["days"],
        ),
        ("no days at all", with(json!({"days": []})), &["days"]),
        ("six days", with(json!({"days": vec!["attend"; 6]})), &["days"]),
        ("eight days", with(json!({"days": vec!["attend"; 8]})), &["days"]),
        (
            "a day that is neither",
            with(json!({"days": ["attend", "attend", "sometimes", "attend", "attend", "attend", "attend"]})),
            &["days"],
        ),
        (
            "review on the first day",
            with(json!({"review_on": "2026-11-23"})),
            &["review_on"],
        ),
        (
            "review before the start",
            with(json!({"valid_from": "2026-12-01", "review_on": "2026-11-30"})),
            &["review_on"],
        ),
        ("no review date", with(json!({"review_on": ""})), &["review_on"]),
        (
            "no start date",
            with(json!({"valid_from": "i morgen"})),
            &["valid_from"],
        ),
        (
            "an unknown place",
            with(json!({"place_id": "7d9f8a34-0c1e-4b7e-9a51-2f3c4d5e6f70"})),
            &["place_id"],
        ),
        (
            "a LAR unit, which does not dispense",
            with(json!({"place_id": app.world.unit.to_string()})),
            &["place_id"],
        ),
        (
            "a place that is no id",
            with(json!({"place_id": "Sentrum"})),
            &["place_id"],
        ),
        (
            "the group of another place",
            with(json!({"place_id": other_centre, "group_id": group})),
            &["group_id"],
        ),
        (
            "an unknown group",
            with(json!({"group_id": "7d9f8a34-0c1e-4b7e-9a51-2f3c4d5e6f70"})),
            &["group_id"],
        ),
        (
            "a window hour that does not exist",
            with(json!({"window_start": "25.00"})),
            &["window_start"],
        ),
        (
            "a window that ends before it starts",
            with(json!({"window_start": "10.00", "window_end": "09.00"})),
            &["window_start"],
        ),
        (
            "half a window",
            with(json!({"window_end": ""})),
            &["window_start"],
        ),
        (
            "neither a group nor a window",
            with(json!({"window_start": "", "window_end": ""})),
            &["window_start"],
        ),
        ("no reason", with(json!({"reason": " "})), &["reason"]),
        (
            "several fields at once",
            with(json!({"days": vec!["take_home"; 7], "review_on": "2026-11-01", "reason": ""})),
            &["days", "review_on", "reason"],
        ),
    ];
    for (what, body, expected) in cases {
        let (status, problem) = set_arrangement(&app, &patient, &body).await;
        assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{what}: {problem}");
        assert_eq!(error_fields(&problem), *expected, "{what}: {problem}");
        for error in problem["errors"].as_array().expect("errors") {
            assert!(
                !error["message"].as_str().expect("message").is_empty(),
                "{what}: {problem}"
            );
        }
    }
    // Nothing was stored: no arrangement, nobody on the list, and the first accepted
    // arrangement is version 1.
    assert!(app.overview(&patient).await["arrangement"].is_null());
    assert!(app.row_on_list(&app.world.utdeler, &patient).await.is_none());
    let (status, created) = set_arrangement(&app, &patient, &daily_at(&centre)).await;
    assert_eq!(status, StatusCode::CREATED, "{created}");
    assert_eq!(created["version"], json!(1));
}

#[tokio::test]
async fn only_a_prescriber_with_a_care_relation_decides_an_arrangement() {
    let app = spawn_app().await;
    let patient = app.enrol(121, start_day()).await;
    let body = daily_at(&app.world.centre.to_string());
    let w = &app.world;
    for staff in [&w.konsulent, &w.utdeler, &w.koordinator, &w.fremmed_lege] {
        let (status, problem) = app
            .post_json(staff, &format!("/api/v1/patients/{patient}/arrangements"), &body)
            .await;
        assert_eq!(status, StatusCode::FORBIDDEN, "{}: {problem}", staff.username);
    }
    assert!(app.overview(&patient).await["arrangement"].is_null());
}

#[tokio::test]
async fn a_new_version_moves_the_patient_to_another_place_from_its_first_day_across_a_weekend() {
    let app = spawn_app().await;
    let patient = app.enrol(122, start_day()).await;
    app.sign_methadone(&patient, &["60"], start_day()).await;
    // At the centre on weekdays; Friday hands over Saturday and Sunday.
    app.arrange(&patient, app.world.centre, "AAAAATT", start_day())
        .await;
    app.clock.advance(jiff::SignedDuration::from_mins(10));
    let monday = date(2026, 11, 30);
    let mut moved = daily_at(&app.world.other_centre.to_string());
    moved["valid_from"] = json!(monday.to_string());
    moved["window_start"] = json!("10.00");
    moved["window_end"] = json!("11.00");
    moved["reason"] = json!("Flytter til bydel Øst");
    let (status, v2) = set_arrangement(&app, &patient, &moved).await;
    assert_eq!(status, StatusCode::CREATED, "{v2}");
    assert_eq!(v2["version"], json!(2));
    assert_eq!(v2["place_name"], json!("LAR-senteret Øst"));
    assert_eq!(v2["window"], json!({"start": "10:00", "end": "11:00"}));
    assert_eq!(v2["decided_by_name"], json!("Lege Lise"));

    // Until the day before, the old version is the one in effect.
    let overview = app.overview(&patient).await;
    assert_eq!(overview["arrangement"]["version"], json!(1), "{overview}");
    assert_eq!(
        overview["arrangement"]["place_name"],
        json!("LAR-senteret Sentrum")
    );
    let (status, body) = app.dispense(&app.world.utdeler, &patient, "mon", json!({})).await;
    assert_eq!(status, StatusCode::CREATED, "{body}");

    let friday = date(2026, 11, 27);
    app.set_oslo_time(friday, Time::constant(9, 0, 0, 0));
    assert!(app.row_on_list(&app.world.utdeler2, &patient).await.is_none());
    let row = app
        .row_on_list(&app.world.utdeler, &patient)
        .await
        .expect("at the centre on Friday");
    assert_eq!(
        dates_and_modes(&row["due"]),
        pairs(&[
            ("2026-11-27", "supervised"),
            ("2026-11-28", "take_home"),
            ("2026-11-29", "take_home"),
        ])
    );
    assert_eq!(row["window"], json!({"start": "08:00", "end": "09:30"}));
    let (status, body) = app.dispense(&app.world.utdeler, &patient, "fri", json!({})).await;
    assert_eq!(status, StatusCode::CREATED, "{body}");
    assert_eq!(app.overview(&patient).await["arrangement"]["version"], json!(1));

    for weekend_day in [date(2026, 11, 28), date(2026, 11, 29)] {
        app.set_oslo_time(weekend_day, Time::constant(9, 0, 0, 0));
        assert!(app.row_on_list(&app.world.utdeler, &patient).await.is_none());
        assert!(app.row_on_list(&app.world.utdeler2, &patient).await.is_none());
    }

    // From Monday the patient collects at the other centre, and the old place neither
    // lists nor dispenses.
    app.set_oslo_time(monday, Time::constant(10, 15, 0, 0));
    assert!(app.row_on_list(&app.world.utdeler, &patient).await.is_none());
    let row = app
        .row_on_list(&app.world.utdeler2, &patient)
        .await
        .expect("at the other centre on Monday");
    assert_eq!(
        dates_and_modes(&row["due"]),
        pairs(&[("2026-11-30", "supervised")])
    );
    assert_eq!(row["window"], json!({"start": "10:00", "end": "11:00"}));
    assert_eq!(
        row["missed_consecutive_days"],
        json!(0),
        "the weekend was handed over: {row}"
    );
    let (status, refused) = app
        .dispense(&app.world.utdeler, &patient, "old-place", json!({}))
        .await;
    assert_eq!(status, StatusCode::FORBIDDEN, "{refused}");
    let (status, body) = app
        .dispense(&app.world.utdeler2, &patient, "new-place", json!({}))
        .await;
    assert_eq!(status, StatusCode::CREATED, "{body}");

    let overview = app.overview(&patient).await;
    assert_eq!(overview["arrangement"]["version"], json!(2), "{overview}");
    assert_eq!(
        overview["arrangement"]["place_id"],
        json!(app.world.other_centre.to_string())
    );
    let places: Vec<(String, String)> = overview["recent_dispensings"]
        .as_array()
        .expect("recent")
        .iter()
        .map(|d| {
            (
                d["date"].as_str().expect("date").to_string(),
                d["place_name"].as_str().expect("place").to_string(),
            )
        })
        .collect();
    assert_eq!(
        places,
        pairs(&[
            ("2026-11-30", "LAR-senteret Øst"),
            ("2026-11-29", "LAR-senteret Sentrum"),
            ("2026-11-28", "LAR-senteret Sentrum"),
            ("2026-11-27", "LAR-senteret Sentrum"),
            ("2026-11-23", "LAR-senteret Sentrum"),
        ])
    );

    // Both versions are kept.
    let mut conn = app.state.store.read().await.expect("conn");
    let mut versions = samhand_store::orders::arrangements_of(&mut conn, &[patient.parse().expect("id")])
        .await
        .expect("arrangements");
    versions.sort_by_key(|a| a.version);
    let kept: Vec<(u32, String, String)> = versions
        .iter()
        .map(|a| (a.version, a.content.place_id.to_string(), a.content.week.code()))
        .collect();
    assert_eq!(
        kept,
        vec![
            (1, app.world.centre.to_string(), "AAAAATT".to_string()),
            (2, app.world.other_centre.to_string(), "AAAAAAA".to_string()),
        ]
    );
}

#[tokio::test]
async fn reduced_and_withheld_doses_show_in_the_overviews_history() {
    let app = spawn_app().await;
    let patient = app.patient_on_daily_methadone(123).await;
    let (status, body) = app
        .dispense(
            &app.world.utdeler,
            &patient,
            "mon",
            json!({"outcome": "reduced", "reduced_mg": "40", "reason": "Sedert ved samtale"}),
        )
        .await;
    assert_eq!(status, StatusCode::CREATED, "{body}");
    assert_eq!(body["reason"], json!("Sedert ved samtale"));

    app.set_oslo_time(date(2026, 11, 24), Time::constant(9, 0, 0, 0));
    let (status, body) = app
        .dispense(
            &app.world.utdeler,
            &patient,
            "tue",
            json!({"outcome": "withheld", "reason": "Påvirket av alkohol"}),
        )
        .await;
    assert_eq!(status, StatusCode::CREATED, "{body}");
    assert_eq!(body["doses"][0]["amount_mg"], json!(0.0));
    let row = app.row_on_list(&app.world.utdeler, &patient).await.expect("row");
    assert_eq!(row["due"][0]["recorded"]["outcome"], json!("withheld"));
    assert_eq!(row["due"][0]["recorded"]["amount_mg"], json!(0.0));
    assert_eq!(row["done"], json!(true), "a withheld dose is recorded: {row}");
    let (status, body) = app
        .dispense(&app.world.utdeler, &patient, "tue-2", json!({}))
        .await;
    assert_eq!(
        status,
        StatusCode::CONFLICT,
        "a withheld dose is not given later the same day: {body}"
    );

    // Wednesday: the withheld day counts as a day without dose.
    app.set_oslo_time(date(2026, 11, 25), Time::constant(9, 0, 0, 0));
    let row = app.row_on_list(&app.world.utdeler, &patient).await.expect("row");
    assert_eq!(row["missed_consecutive_days"], json!(1), "{row}");
    assert_eq!(row["missed_alert"], json!(true));
    let (status, body) = app.dispense(&app.world.utdeler, &patient, "wed", json!({})).await;
    assert_eq!(status, StatusCode::CREATED, "{body}");

    let overview = app.overview(&patient).await;
    let history: Vec<(Value, Value, Value, Value, Value)> = overview["recent_dispensings"]
        .as_array()
        .expect("recent")
        .iter()
        .map(|d| {
            (
                d["date"].clone(),
                d["outcome"].clone(),
                d["amount_mg"].clone(),
                d["ordered_mg"].clone(),
                d["mode"].clone(),
            )
        })
        .collect();
    assert_eq!(
        history,
        vec![
            (
                json!("2026-11-25"),
                json!("given"),
                json!(60.0),
                json!(60.0),
                json!("supervised")
            ),
            (
                json!("2026-11-24"),
                json!("withheld"),
                json!(0.0),
                json!(60.0),
                json!("supervised")
            ),
            (
                json!("2026-11-23"),
                json!("reduced"),
                json!(40.0),
                json!(60.0),
                json!("supervised")
            ),
        ],
        "newest first: {overview}"
    );
    for entry in overview["recent_dispensings"].as_array().expect("recent") {
        assert_eq!(entry["recorded_by_name"], json!("Utdeler Ulla"), "{entry}");
        assert_eq!(entry["place_name"], json!("LAR-senteret Sentrum"));
    }

    // Three weeks on, those days have left the overview's window.
    app.set_oslo_time(date(2026, 12, 14), Time::constant(9, 0, 0, 0));
    let overview = app.overview(&patient).await;
    assert!(
        overview["recent_dispensings"]
            .as_array()
            .expect("recent")
            .is_empty(),
        "{overview}"
    );
}

#[tokio::test]
async fn a_withheld_friday_hand_over_leaves_the_weekend_without_dose() {
    let app = spawn_app().await;
    let patient = app.enrol(124, start_day()).await;
    app.sign_methadone(&patient, &["60"], start_day()).await;
    app.arrange(&patient, app.world.centre, "ATATATT", start_day())
        .await;
    for (day, key) in [(start_day(), "mon"), (date(2026, 11, 25), "wed")] {
        app.set_oslo_time(day, Time::constant(9, 0, 0, 0));
        let (status, body) = app.dispense(&app.world.utdeler, &patient, key, json!({})).await;
        assert_eq!(status, StatusCode::CREATED, "{body}");
        assert_eq!(body["doses"].as_array().expect("doses").len(), 2, "{body}");
    }

    let friday = date(2026, 11, 27);
    app.set_oslo_time(friday, Time::constant(9, 0, 0, 0));
    let (status, body) = app
        .dispense(
            &app.world.utdeler,
            &patient,
            "fri",
            json!({"outcome": "withheld", "reason": "Ruset, ikke forsvarlig å utlevere"}),
        )
        .await;
    assert_eq!(status, StatusCode::CREATED, "{body}");
    // Only the dose to be taken now is withheld; the weekend's take-home doses stay
    // due on Friday, for the patient to collect if they come back fit.
    assert_eq!(
        dates_and_modes(&body["doses"]),
        pairs(&[("2026-11-27", "supervised")])
    );
    let row = app.row_on_list(&app.world.utdeler, &patient).await.expect("row");
    let pending: Vec<&Value> = row["due"]
        .as_array()
        .expect("due")
        .iter()
        .filter(|d| d["recorded"].is_null())
        .collect();
    assert_eq!(pending.len(), 2, "{row}");
    assert!(
        body["doses"]
            .as_array()
            .expect("doses")
            .iter()
            .all(|d| d["amount_mg"] == json!(0.0)),
        "nothing was handed over: {body}"
    );

    // Monday: Friday, Saturday and Sunday were without dose.
    let monday = date(2026, 11, 30);
    app.set_oslo_time(monday, Time::constant(9, 0, 0, 0));
    let row = app.row_on_list(&app.world.utdeler, &patient).await.expect("row");
    assert_eq!(row["missed_consecutive_days"], json!(3), "{row}");
    assert_eq!(row["missed_alert"], json!(true));
    assert_eq!(row["blocked"], json!(false));
    let missed = &app.overview(&patient).await["missed_doses"];
    assert_eq!(missed["consecutive_days"], json!(3), "{missed}");
    assert_eq!(missed["since"], json!("2026-11-27"));
    assert_eq!(missed["blocked"], json!(false));
}
