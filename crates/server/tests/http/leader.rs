//! The leader's overview at HTTP level: load, blocked patients, escalated messages,
//! emergency accesses to review, deviations.

use jiff::SignedDuration;
use jiff::civil::{Time, date};
use reqwest::StatusCode;
use serde_json::json;

use crate::helpers::spawn_app;

#[tokio::test]
async fn the_lar_units_leader_sees_load_by_place_blocks_escalations_and_emergency_accesses() {
    let app = spawn_app().await;
    let w = &app.world;
    let at_centre = app.patient_on_daily_methadone(110).await;
    let at_pharmacy = app.enrol(111, crate::helpers::start_day()).await;
    app.sign_methadone(&at_pharmacy, &["60"], crate::helpers::start_day())
        .await;
    app.arrange(&at_pharmacy, w.pharmacy, "AAAAAAA", crate::helpers::start_day())
        .await;
    let (status, _) = app
        .open_emergency(&w.akuttlege, &at_centre, "Innlagt etter fall, trenger dosen")
        .await;
    assert_eq!(status, StatusCode::CREATED);

    // Saturday: nobody has collected since Monday's start, so both are blocked; the
    // scheduler tells of the blocks, and the messages are unread by the unit for
    // more than four hours.
    app.set_oslo_time(date(2026, 11, 28), Time::constant(9, 0, 0, 0));
    app.run_scheduler().await;
    app.clock.advance(SignedDuration::from_hours(5));

    let (status, o) = app.get_json(&w.leder, "/api/v1/leader/overview").await;
    assert_eq!(status, StatusCode::OK, "{o}");
    assert_eq!(o["patients"], json!(2));
    let mut places: Vec<(String, u64)> = o["by_place"]
        .as_array()
        .expect("by place")
        .iter()
        .map(|p| {
            (
                p["place"]["name"].as_str().expect("name").to_string(),
                p["patients"].as_u64().expect("n"),
            )
        })
        .collect();
    places.sort();
    assert_eq!(
        places,
        vec![
            ("Apotek Torget".to_string(), 1),
            ("LAR-senteret Sentrum".to_string(), 1)
        ]
    );
    assert_eq!(o["blocked"].as_array().expect("blocked").len(), 2, "{o}");
    assert!(
        !o["escalated_messages"].as_array().expect("escalated").is_empty(),
        "{o}"
    );
    assert_eq!(o["emergency_accesses_to_review"], json!(1));

    // Not for others than leaders.
    let (status, _) = app.get_json(&w.konsulent, "/api/v1/leader/overview").await;
    assert_eq!(status, StatusCode::FORBIDDEN);

    // The web page says the same.
    let session = app.session_of("leder").await;
    let (status, html) = app.page(&session, "/leder").await;
    assert_eq!(status, StatusCode::OK, "{html}");
    assert!(html.contains("eskalert til deg"), "{html}");
    // Counts take the singular for one: «1 akuttilgang», never «1 akuttilganger».
    assert!(
        html.contains("<strong>1 akuttilgang</strong> venter på kontroll"),
        "{html}"
    );
    assert!(!html.contains("1 akuttilganger"), "{html}");
    let escalated = o["escalated_messages"].as_array().expect("escalated").len();
    let expected = if escalated == 1 {
        "<strong>1 viktig melding</strong> er ulest".to_string()
    } else {
        format!("<strong>{escalated} viktige meldinger</strong> er ulest")
    };
    assert!(html.contains(&expected), "{expected}: {html}");
}

#[tokio::test]
async fn a_places_leader_sees_todays_list_and_stock_deviations() {
    let app = spawn_app().await;
    let w = &app.world;
    let patient = app.patient_on_daily_methadone(112).await;
    let (status, body) = app.dispense(&w.utdeler, &patient, "k", json!({})).await;
    assert_eq!(status, StatusCode::CREATED, "{body}");
    let (status, body) = app
        .post_json(
            &w.utdeler,
            "/api/v1/stock/counts",
            &json!({
                "product": "methadone_solution_1mg_ml",
                "quantity": "5",
                "note": "Telling",
                "witness": {"username": "koordinator", "password": crate::helpers::PASSWORD},
            }),
        )
        .await;
    assert!(status.is_success(), "{status} {body}");
    let (status, o) = app.get_json(&w.centre_leader, "/api/v1/leader/overview").await;
    assert_eq!(status, StatusCode::OK, "{o}");
    assert_eq!(o["today_expected"], json!(1));
    assert_eq!(o["today_done"], json!(1));
    assert_eq!(
        o["deviations"],
        json!(1),
        "a count that does not match opens a deviation: {o}"
    );
}
