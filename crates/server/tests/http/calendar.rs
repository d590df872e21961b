//! Days that matter: public holidays with closed places, and "today" around midnight
//! and the daylight-saving changes in Europe/Oslo.

use jiff::civil::{Time, date};
use reqwest::StatusCode;
use serde_json::json;

use crate::helpers::{read, spawn_app};

#[tokio::test]
async fn a_place_closed_on_christmas_shows_days_ahead_who_is_not_covered_until_a_cover_is_decided() {
    let app = spawn_app().await;
    let from = date(2026, 12, 14);
    app.set_oslo_time(from, Time::constant(9, 0, 0, 0));
    let patient = app.enrol(20, from).await;
    app.sign_methadone(&patient, &["60"], from).await;
    app.arrange(&patient, app.world.centre, "AAAAAAA", from).await;

    let list = app.today_list(&app.world.utdeler).await;
    let uncovered: Vec<&str> = list["uncovered"]
        .as_array()
        .expect("uncovered")
        .iter()
        .map(|u| u["dose_date"].as_str().expect("date"))
        .collect();
    assert_eq!(uncovered, vec!["2026-12-25", "2026-12-26"], "{list}");

    // The doctor covers both days with take-home doses handed over on the 24th.
    for day in ["2026-12-25", "2026-12-26"] {
        let response = app
            .post(
                &app.world.lege,
                &format!("/api/v1/patients/{patient}/covers"),
                &json!({"date": day, "take_home_from": "2026-12-24"}),
            )
            .send()
            .await
            .expect("cover");
        let (status, body) = read(response).await;
        assert_eq!(status, StatusCode::CREATED, "{body}");
    }
    let list = app.today_list(&app.world.utdeler).await;
    assert!(
        list["uncovered"].as_array().expect("uncovered").is_empty(),
        "{list}"
    );

    // On the 24th, the list hands over the two holidays' doses with the day's own.
    app.set_oslo_time(date(2026, 12, 24), Time::constant(9, 0, 0, 0));
    let list = app.today_list(&app.world.utdeler).await;
    let due = list["rows"][0]["due"].as_array().expect("due");
    let modes: Vec<(&str, &str)> = due
        .iter()
        .map(|d| (d["date"].as_str().expect("d"), d["mode"].as_str().expect("m")))
        .collect();
    assert_eq!(
        modes,
        vec![
            ("2026-12-24", "supervised"),
            ("2026-12-25", "take_home"),
            ("2026-12-26", "take_home")
        ],
        "{list}"
    );
    // Christmas day itself: the place is closed and nobody is expected.
    app.set_oslo_time(date(2026, 12, 25), Time::constant(9, 0, 0, 0));
    let list = app.today_list(&app.world.utdeler).await;
    assert!(
        list["closed"].as_str().expect("closed").contains("1. juledag"),
        "{list}"
    );
    assert!(list["rows"].as_array().expect("rows").is_empty(), "{list}");
}

#[tokio::test]
async fn a_cover_must_be_handed_over_before_the_day_and_refusals_change_nothing() {
    let app = spawn_app().await;
    let patient = app.patient_on_daily_methadone(21).await;
    let response = app
        .post(
            &app.world.lege,
            &format!("/api/v1/patients/{patient}/covers"),
            &json!({"date": "2026-12-25", "take_home_from": "2026-12-26"}),
        )
        .send()
        .await
        .expect("cover");
    let (status, body) = read(response).await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{body}");
    let list = app.today_list(&app.world.utdeler).await;
    assert_eq!(
        list["uncovered"].as_array().expect("uncovered").len(),
        0,
        "christmas is beyond 14 days"
    );
}

#[tokio::test]
async fn just_after_midnight_in_oslo_is_already_the_next_day_even_while_utc_is_still_on_the_previous() {
    let app = spawn_app().await;
    let patient = app.patient_on_daily_methadone(22).await;
    let (status, _) = app
        .dispense(&app.world.utdeler, &patient, "monday", json!({}))
        .await;
    assert_eq!(status, StatusCode::CREATED);
    // 00:30 on Tuesday in Oslo is 23:30 on Monday in UTC.
    app.set_oslo_time(date(2026, 11, 24), Time::constant(0, 30, 0, 0));
    let list = app.today_list(&app.world.utdeler).await;
    assert_eq!(list["date"], json!("2026-11-24"));
    assert!(
        list["rows"][0]["due"][0]["recorded"].is_null(),
        "Tuesday's dose is still to come: {list}"
    );
    let (status, body) = app
        .dispense(&app.world.utdeler, &patient, "tuesday", json!({}))
        .await;
    assert_eq!(status, StatusCode::CREATED, "{body}");
    assert_eq!(body["doses"][0]["date"], json!("2026-11-24"));
}

#[tokio::test]
async fn the_list_is_right_on_the_days_daylight_saving_starts_and_ends() {
    let app = spawn_app().await;
    let start = date(2027, 3, 27);
    app.set_oslo_time(start, Time::constant(9, 0, 0, 0));
    let patient = app.enrol(23, start).await;
    app.sign_methadone(&patient, &["60"], start).await;
    app.arrange(&patient, app.world.centre, "AAAAAAA", start).await;
    // 28 March 2027: clocks go from 02:00 to 03:00. At 23:30 local it is still the 28th.
    for (day, time) in [
        (date(2027, 3, 28), Time::constant(0, 15, 0, 0)),
        (date(2027, 3, 28), Time::constant(23, 30, 0, 0)),
    ] {
        app.set_oslo_time(day, time);
        let list = app.today_list(&app.world.utdeler).await;
        assert_eq!(list["date"], json!("2027-03-28"), "{time}");
    }
    let (status, body) = app
        .dispense(&app.world.utdeler, &patient, "dst-spring", json!({}))
        .await;
    assert_eq!(status, StatusCode::CREATED, "{body}");
    assert_eq!(body["doses"][0]["date"], json!("2027-03-28"));
    // 31 October 2027: 03:00 falls back to 02:00; the 25-hour day is one day, from
    // just after midnight to just before the next.
    for time in [
        Time::constant(0, 15, 0, 0),
        Time::constant(2, 30, 0, 0),
        Time::constant(23, 45, 0, 0),
    ] {
        app.set_oslo_time(date(2027, 10, 31), time);
        let list = app.today_list(&app.world.utdeler).await;
        assert_eq!(list["date"], json!("2027-10-31"), "{time}: {list}");
    }
}
