//! The dispensing day: today's list, recording exactly once, idempotent retries,
//! refusals, take-home hand-overs, the block rule, and concurrency.

use jiff::civil::{Time, date};
use reqwest::StatusCode;
use serde_json::json;

use crate::helpers::{read, spawn_app, start_day};

#[tokio::test]
async fn a_signed_order_and_arrangement_put_the_patient_on_the_places_list_the_next_morning() {
    let app = spawn_app().await;
    let patient = app.enrol(1, start_day()).await;
    let tomorrow = date(2026, 11, 24);
    app.sign_methadone(&patient, &["60"], tomorrow).await;
    app.arrange(&patient, app.world.centre, "AAAAAAA", tomorrow).await;

    let list = app.today_list(&app.world.utdeler).await;
    assert!(
        list["rows"].as_array().expect("rows").is_empty(),
        "not before the order starts: {list}"
    );

    app.set_oslo_time(tomorrow, Time::constant(8, 15, 0, 0));
    let list = app.today_list(&app.world.utdeler).await;
    let rows = list["rows"].as_array().expect("rows");
    assert_eq!(rows.len(), 1, "{list}");
    assert_eq!(rows[0]["patient"]["id"], json!(patient));
    assert_eq!(rows[0]["due"][0]["dose_mg"], json!(60.0));
    assert_eq!(rows[0]["due"][0]["mode"], json!("supervised"));
    assert!(rows[0]["due"][0]["recorded"].is_null());

    let (status, body) = app
        .dispense(&app.world.utdeler, &patient, "key-1", json!({}))
        .await;
    assert_eq!(status, StatusCode::CREATED, "{body}");
    assert_eq!(body["doses"].as_array().expect("doses").len(), 1);
    assert_eq!(body["doses"][0]["amount_mg"], json!(60.0));

    let list = app.today_list(&app.world.utdeler).await;
    assert_eq!(list["rows"][0]["due"][0]["recorded"]["outcome"], json!("given"));
}

#[tokio::test]
async fn an_unsigned_draft_never_puts_a_dose_on_the_list() {
    let app = spawn_app().await;
    let patient = app.enrol(2, start_day()).await;
    app.draft(
        &patient,
        "methadone_oral_solution",
        "oral_solution",
        &["60"],
        start_day(),
    )
    .await;
    app.arrange(&patient, app.world.centre, "AAAAAAA", start_day())
        .await;
    let list = app.today_list(&app.world.utdeler).await;
    assert!(list["rows"].as_array().expect("rows").is_empty(), "{list}");
    let (status, body) = app.dispense(&app.world.utdeler, &patient, "k", json!({})).await;
    assert_eq!(status, StatusCode::CONFLICT, "{body}");
}

#[tokio::test]
async fn a_retried_request_returns_the_first_result_and_a_second_attempt_is_refused() {
    let app = spawn_app().await;
    let patient = app.patient_on_daily_methadone(3).await;
    let (first, body) = app
        .dispense(&app.world.utdeler, &patient, "same-key", json!({}))
        .await;
    assert_eq!(first, StatusCode::CREATED, "{body}");
    let (again, replay) = app
        .dispense(&app.world.utdeler, &patient, "same-key", json!({}))
        .await;
    assert_eq!(again, StatusCode::OK, "{replay}");
    assert_eq!(replay["id"], body["id"]);
    assert_eq!(replay["replayed"], json!(true));
    let (other, refusal) = app
        .dispense(&app.world.utdeler, &patient, "another-key", json!({}))
        .await;
    assert_eq!(other, StatusCode::CONFLICT, "{refusal}");
    assert!(
        refusal["detail"]
            .as_str()
            .expect("detail")
            .contains("allerede registrert"),
        "{refusal}"
    );
    let mut conn = app.state.store.read().await.expect("conn");
    let doses = samhand_store::dispensing::doses_of(
        &mut conn,
        &[patient.parse().expect("id")],
        start_day(),
        start_day(),
    )
    .await
    .expect("doses");
    assert_eq!(doses.len(), 1);
}

#[tokio::test]
async fn another_place_cannot_dispense_a_dose_and_cannot_see_the_patient() {
    let app = spawn_app().await;
    let patient = app.patient_on_daily_methadone(4).await;
    let (status, body) = app.dispense(&app.world.utdeler2, &patient, "k2", json!({})).await;
    assert_eq!(status, StatusCode::FORBIDDEN, "{body}");
    let (_, denied) = app.audit_counts(&patient).await;
    assert!(denied >= 1, "the refused attempt is in the audit log");
}

#[tokio::test]
async fn dispensing_needs_confirmed_identity_and_a_reason_for_withholding() {
    let app = spawn_app().await;
    let patient = app.patient_on_daily_methadone(5).await;
    let (status, body) = app
        .dispense(
            &app.world.utdeler,
            &patient,
            "a",
            json!({"identity_confirmed": false}),
        )
        .await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{body}");
    assert_eq!(body["errors"][0]["field"], json!("identity_confirmed"));
    let (status, body) = app
        .dispense(
            &app.world.utdeler,
            &patient,
            "b",
            json!({"outcome": "withheld", "reason": " "}),
        )
        .await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{body}");
    let (status, body) = app
        .dispense(
            &app.world.utdeler,
            &patient,
            "c",
            json!({"outcome": "reduced", "reduced_mg": 80, "reason": "Sedert"}),
        )
        .await;
    assert_eq!(
        status,
        StatusCode::UNPROCESSABLE_ENTITY,
        "a reduction above the ordered dose: {body}"
    );
    // Nothing was recorded by the refusals.
    let list = app.today_list(&app.world.utdeler).await;
    assert!(list["rows"][0]["due"][0]["recorded"].is_null(), "{list}");
    let (status, body) = app
        .dispense(
            &app.world.utdeler,
            &patient,
            "d",
            json!({"outcome": "reduced", "reduced_mg": "40", "reason": "Sedert"}),
        )
        .await;
    assert_eq!(status, StatusCode::CREATED, "{body}");
    assert_eq!(body["doses"][0]["amount_mg"], json!(40.0));
    assert_eq!(body["doses"][0]["ordered_mg"], json!(60.0));
}

#[tokio::test]
async fn friday_hands_over_the_weekend_doses_which_count_as_dispensed_for_those_days() {
    let app = spawn_app().await;
    let patient = app.enrol(6, start_day()).await;
    app.sign_methadone(&patient, &["60"], start_day()).await;
    app.arrange(&patient, app.world.centre, "ATATATT", start_day())
        .await;
    let overview_path = format!("/api/v1/patients/{patient}");
    let (_, overview) = read(
        app.get(&app.world.lege, &overview_path)
            .send()
            .await
            .expect("get"),
    )
    .await;
    assert_eq!(
        overview["arrangement"]["handover_days"],
        json!(["monday", "wednesday", "friday"]),
        "{overview}"
    );
    let friday = date(2026, 11, 27);
    app.set_oslo_time(friday, Time::constant(9, 0, 0, 0));
    let (status, body) = app.dispense(&app.world.utdeler, &patient, "fri", json!({})).await;
    assert_eq!(status, StatusCode::CREATED, "{body}");
    let modes: Vec<(String, String)> = body["doses"]
        .as_array()
        .expect("doses")
        .iter()
        .map(|d| {
            (
                d["date"].as_str().expect("date").to_string(),
                d["mode"].as_str().expect("mode").to_string(),
            )
        })
        .collect();
    assert_eq!(
        modes,
        vec![
            ("2026-11-27".to_string(), "supervised".to_string()),
            ("2026-11-28".to_string(), "take_home".to_string()),
            ("2026-11-29".to_string(), "take_home".to_string()),
        ]
    );
    // Saturday: nothing to collect, and the patient is not missing.
    app.set_oslo_time(date(2026, 11, 28), Time::constant(9, 0, 0, 0));
    let list = app.today_list(&app.world.utdeler).await;
    assert!(list["rows"].as_array().expect("rows").is_empty(), "{list}");
    // Monday: the weekend counted as dosed, so no missed days.
    app.set_oslo_time(date(2026, 11, 30), Time::constant(9, 0, 0, 0));
    let list = app.today_list(&app.world.utdeler).await;
    assert_eq!(list["rows"][0]["missed_consecutive_days"], json!(0), "{list}");
}

#[tokio::test]
async fn five_days_without_dose_block_the_order_until_a_prescriber_signs_a_reassessment() {
    let app = spawn_app().await;
    let patient = app.patient_on_daily_methadone(7).await;
    // Monday to Friday pass without a dose; on Saturday the order is blocked.
    let saturday = date(2026, 11, 28);
    app.set_oslo_time(saturday, Time::constant(9, 0, 0, 0));
    let list = app.today_list(&app.world.utdeler).await;
    assert_eq!(list["rows"][0]["blocked"], json!(true), "{list}");
    assert_eq!(list["rows"][0]["missed_consecutive_days"], json!(5));
    let (status, body) = app
        .dispense(&app.world.utdeler, &patient, "blocked", json!({}))
        .await;
    assert_eq!(status, StatusCode::CONFLICT, "{body}");
    assert!(
        body["detail"]
            .as_str()
            .expect("detail")
            .contains("revurderes av lege"),
        "{body}"
    );
    let (_, overview) = read(
        app.get(&app.world.lege, &format!("/api/v1/patients/{patient}"))
            .send()
            .await
            .expect("get"),
    )
    .await;
    assert_eq!(overview["missed_doses"]["blocked"], json!(true), "{overview}");

    // A reassessment: a new signed order (here a lower dose) clears the block.
    app.sign_methadone(&patient, &["30"], saturday).await;
    let (status, body) = app
        .dispense(&app.world.utdeler, &patient, "after", json!({}))
        .await;
    assert_eq!(status, StatusCode::CREATED, "{body}");
    assert_eq!(body["doses"][0]["amount_mg"], json!(30.0));
}

#[tokio::test]
async fn four_days_without_dose_alert_but_do_not_block() {
    let app = spawn_app().await;
    let patient = app.patient_on_daily_methadone(8).await;
    app.set_oslo_time(date(2026, 11, 27), Time::constant(9, 0, 0, 0));
    let list = app.today_list(&app.world.utdeler).await;
    assert_eq!(list["rows"][0]["blocked"], json!(false), "{list}");
    assert_eq!(list["rows"][0]["missed_consecutive_days"], json!(4));
    let (status, body) = app.dispense(&app.world.utdeler, &patient, "thu", json!({})).await;
    assert_eq!(status, StatusCode::CREATED, "{body}");
}

#[tokio::test]
async fn many_simultaneous_requests_for_one_dose_give_exactly_one_dispensing() {
    let app = spawn_app().await;
    let patient = app.patient_on_daily_methadone(9).await;
    let app = std::sync::Arc::new(app);
    let mut tasks = tokio::task::JoinSet::new();
    for i in 0..24 {
        let app = app.clone();
        let patient = patient.clone();
        tasks.spawn(async move {
            // Half retry one key (a double click), half come from other screens.
            let key = if i % 2 == 0 {
                "double-click".to_string()
            } else {
                format!("screen-{i}")
            };
            app.dispense(&app.world.utdeler, &patient, &key, json!({})).await
        });
    }
    let mut created = 0;
    let mut replayed = 0;
    let mut refused = 0;
    while let Some(result) = tasks.join_next().await {
        let (status, body) = result.expect("task");
        match status {
            StatusCode::CREATED => created += 1,
            StatusCode::OK => {
                assert_eq!(body["replayed"], json!(true));
                replayed += 1
            }
            StatusCode::CONFLICT => refused += 1,
            other => panic!("unexpected {other}: {body}"),
        }
    }
    assert_eq!(created, 1, "exactly one dispensing");
    assert_eq!(created + replayed + refused, 24);
    let mut conn = app.state.store.read().await.expect("conn");
    let doses = samhand_store::dispensing::doses_of(
        &mut conn,
        &[patient.parse().expect("id")],
        start_day(),
        start_day(),
    )
    .await
    .expect("doses");
    assert_eq!(doses.len(), 1);
    let ledger = samhand_store::stock::ledger(&mut conn, app.world.centre)
        .await
        .expect("ledger");
    assert_eq!(ledger.len(), 1, "one stock movement for one dispensing");
}

#[tokio::test]
async fn the_block_threshold_comes_from_the_policy_table() {
    let app = spawn_app().await;
    let patient = app.patient_on_daily_methadone(10).await;
    app.set_policy("missed_dose.tolerated_days", 2).await;
    // Monday to Wednesday without a dose: three days, more than the two now tolerated.
    app.set_oslo_time(date(2026, 11, 26), Time::constant(9, 0, 0, 0));
    let list = app.today_list(&app.world.utdeler).await;
    assert_eq!(list["rows"][0]["blocked"], json!(true), "{list}");
    let (status, _) = app
        .dispense(&app.world.utdeler, &patient, "policy", json!({}))
        .await;
    assert_eq!(status, StatusCode::CONFLICT);
}

#[tokio::test]
async fn the_prescriber_sees_missed_days_blocks_and_withheld_doses_the_same_day() {
    let app = spawn_app().await;
    let missing = app.patient_on_daily_methadone(11).await;
    let withheld = app.patient_on_daily_methadone(12).await;
    let fine = app.patient_on_daily_methadone(13).await;
    // Tuesday: everyone missed Monday except `fine`.
    app.set_oslo_time(start_day(), Time::constant(9, 0, 0, 0));
    let (status, _) = app.dispense(&app.world.utdeler, &fine, "fine", json!({})).await;
    assert_eq!(status, StatusCode::CREATED);
    app.set_oslo_time(date(2026, 11, 24), Time::constant(10, 0, 0, 0));
    let (status, _) = app.dispense(&app.world.utdeler, &fine, "fine-2", json!({})).await;
    assert_eq!(status, StatusCode::CREATED);
    let (status, body) = app
        .dispense(
            &app.world.utdeler,
            &withheld,
            "w",
            json!({"outcome": "withheld", "reason": "Ruset"}),
        )
        .await;
    assert_eq!(status, StatusCode::CREATED, "{body}");
    let (status, alerts) = read(
        app.get(&app.world.lege, "/api/v1/alerts")
            .send()
            .await
            .expect("alerts"),
    )
    .await;
    assert_eq!(status, StatusCode::OK, "{alerts}");
    let kinds: Vec<(String, String)> = alerts
        .as_array()
        .expect("alerts")
        .iter()
        .map(|a| {
            (
                a["patient_id"].as_str().expect("id").to_string(),
                a["kind"].as_str().expect("kind").to_string(),
            )
        })
        .collect();
    assert!(kinds.contains(&(missing.clone(), "missed".into())), "{alerts}");
    assert!(kinds.contains(&(withheld.clone(), "withheld".into())), "{alerts}");
    assert!(!kinds.iter().any(|(id, _)| *id == fine), "{alerts}");
    // The coordinator at the place is alerted too; dispensing staff get no alert list.
    let (_, for_coordinator) = read(
        app.get(&app.world.koordinator, "/api/v1/alerts")
            .send()
            .await
            .expect("alerts"),
    )
    .await;
    let ids: Vec<&str> = for_coordinator
        .as_array()
        .expect("alerts")
        .iter()
        .map(|a| a["patient_id"].as_str().expect("id"))
        .collect();
    assert!(
        ids.contains(&missing.as_str()) && ids.contains(&withheld.as_str()),
        "{for_coordinator}"
    );
    let (_, for_staff) = read(
        app.get(&app.world.utdeler, "/api/v1/alerts")
            .send()
            .await
            .expect("alerts"),
    )
    .await;
    assert!(for_staff.as_array().expect("alerts").is_empty());
    // Another unit's doctor sees none of them.
    let (_, none) = read(
        app.get(&app.world.fremmed_lege, "/api/v1/alerts")
            .send()
            .await
            .expect("alerts"),
    )
    .await;
    assert!(none.as_array().expect("alerts").is_empty());
}
