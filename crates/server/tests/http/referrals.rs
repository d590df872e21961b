//! Referrals through the API: a referral opens a LAR episode in phase `referral`
//! under the unit, for a new person or the one already registered with the number
//! (never a second person, never one whose name differs: H77); the assessment
//! deadline counts Norwegian working days (H76).

use reqwest::StatusCode;
use serde_json::{Value, json};

use crate::helpers::{TestApp, error_fields, national_id, spawn_app};

fn referral(app: &TestApp, n: u16, given: &str, received_on: &str) -> Value {
    json!({
        "national_id": national_id(n),
        "given_name": given,
        "family_name": "Testesen",
        "phone": "40000000",
        "address": "Gata 1",
        "doctor_id": app.world.lege.id.to_string(),
        "consultant_id": app.world.konsulent.id.to_string(),
        "referrer_name": "Fastlege Fiktiv",
        "referrer_service": "Testbyen legekontor",
        "reason": "Opioidavhengighet, ønsker LAR",
        "referrer_assessment": "Stabil bolig, motivert; anbefaler rask oppstart",
        "received_on": received_on,
    })
}

async fn persons(app: &TestApp) -> i64 {
    let mut conn = app.state.store.read().await.expect("conn");
    let row: (i64,) = sqlx::query_as("SELECT COUNT(*) FROM patients")
        .fetch_one(&mut *conn)
        .await
        .expect("count");
    row.0
}

#[tokio::test]
async fn a_referral_registers_the_person_and_an_episode_in_phase_referral_with_the_working_day_deadline() {
    let app = spawn_app().await;
    let before = persons(&app).await;
    // Monday 30 March 2026: Easter (2, 3 and 6 April) moves the deadline to 16 April.
    let (status, created) = app
        .post_json(
            &app.world.konsulent,
            "/api/v1/referrals",
            &referral(&app, 301, "Rita", "2026-03-30"),
        )
        .await;
    assert_eq!(status, StatusCode::CREATED, "{created}");
    assert_eq!(created["assessment_deadline"], "2026-04-16");
    assert_eq!(created["existing_person"], false);
    assert_eq!(persons(&app).await, before + 1);
    let patient = created["patient_id"].as_str().expect("patient");
    let overview = app.overview(patient).await;
    assert_eq!(overview["episode"]["phase"], "referral", "{overview}");
    assert_eq!(overview["episode"]["started_on"], "2026-03-30");
    assert_eq!(
        overview["episode"]["responsible_unit"]["id"],
        app.world.unit.to_string()
    );
    let (allowed, _) = app.audit_counts(patient).await;
    assert!(allowed >= 2, "the registration is audited");

    // Friday 15 May 2026: 17 May is a Sunday, Whit Monday 25 May is a holiday.
    // Working days: 18-22 May, 26-29 May, 1 June.
    let (status, created) = app
        .post_json(
            &app.world.konsulent,
            "/api/v1/referrals",
            &referral(&app, 302, "Siri", "2026-05-15"),
        )
        .await;
    assert_eq!(status, StatusCode::CREATED, "{created}");
    assert_eq!(created["assessment_deadline"], "2026-06-01");
}

#[tokio::test]
async fn a_referral_for_a_registered_person_makes_no_second_person_and_a_different_name_is_refused() {
    let app = spawn_app().await;
    let (status, first) = app
        .post_json(
            &app.world.konsulent,
            "/api/v1/referrals",
            &referral(&app, 311, "Tone", "2026-11-02"),
        )
        .await;
    assert_eq!(status, StatusCode::CREATED, "{first}");
    let patient = first["patient_id"].as_str().expect("patient").to_string();
    let count = persons(&app).await;

    // The same person while the referral's episode runs: they are in LAR already.
    let (status, problem) = app
        .post_json(
            &app.world.konsulent,
            "/api/v1/referrals",
            &referral(&app, 311, "Tone", "2026-11-03"),
        )
        .await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{problem}");
    assert_eq!(error_fields(&problem), ["national_id"]);

    // After the episode ends, a new referral attaches to the same person.
    let (status, ended) = app
        .post_json(
            &app.world.lege,
            &format!("/api/v1/patients/{patient}/end"),
            &json!({"ended_on": "2026-11-10", "reason": "voluntary_discharge"}),
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{ended}");
    // A number typed wrong, naming someone else (whose episode has ended, so only
    // the names tell): refused, nothing made.
    let mut other = referral(&app, 311, "Kari", "2026-11-20");
    other["family_name"] = json!("Annensen");
    let (status, problem) = app
        .post_json(&app.world.konsulent, "/api/v1/referrals", &other)
        .await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{problem}");
    assert_eq!(error_fields(&problem), ["national_id"]);
    assert_eq!(persons(&app).await, count);
    let (status, again) = app
        .post_json(
            &app.world.konsulent,
            "/api/v1/referrals",
            &referral(&app, 311, " tone ", "2026-11-20"),
        )
        .await;
    assert_eq!(status, StatusCode::CREATED, "{again}");
    assert_eq!(again["patient_id"], patient.as_str());
    assert_eq!(again["existing_person"], true);
    assert_ne!(again["episode_id"], first["episode_id"]);
    assert_eq!(persons(&app).await, count, "no second person");
}

#[tokio::test]
async fn a_referral_with_bad_input_or_from_outside_the_unit_is_refused_and_changes_nothing() {
    let app = spawn_app().await;
    let count = persons(&app).await;
    let mut bad = referral(&app, 321, "Unn", "2026-12-24");
    bad["reason"] = json!("  ");
    bad["national_id"] = json!("12345678901");
    let (status, problem) = app
        .post_json(&app.world.konsulent, "/api/v1/referrals", &bad)
        .await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{problem}");
    let fields = error_fields(&problem);
    for field in ["national_id", "reason", "received_on"] {
        assert!(fields.iter().any(|f| f == field), "{field}: {problem}");
    }
    let (status, problem) = app
        .post_json(
            &app.world.utdeler,
            "/api/v1/referrals",
            &referral(&app, 322, "Vera", "2026-11-20"),
        )
        .await;
    assert_eq!(status, StatusCode::FORBIDDEN, "{problem}");
    assert_eq!(persons(&app).await, count);
}

#[tokio::test]
async fn the_waiting_list_shows_days_waited_the_deadline_and_the_breach() {
    let app = spawn_app().await;
    // The test clock stands on Monday 23 November 2026.
    // Received Monday 9 November: 10 working days end Monday 23 November (today),
    // so it is not yet breached. Received Friday 6 November: due Friday 20
    // November, breached.
    for (n, given, received) in [(331, "Anne", "2026-11-09"), (332, "Berit", "2026-11-06")] {
        let (status, created) = app
            .post_json(
                &app.world.konsulent,
                "/api/v1/referrals",
                &referral(&app, n, given, received),
            )
            .await;
        assert_eq!(status, StatusCode::CREATED, "{created}");
    }
    let (status, list) = app.get_json(&app.world.lege, "/api/v1/referrals").await;
    assert_eq!(status, StatusCode::OK, "{list}");
    let list = list.as_array().expect("list");
    assert_eq!(list.len(), 2, "{list:?}");
    assert_eq!(list[0]["given_name"], "Berit");
    assert_eq!(list[0]["days_waited"], 17);
    assert_eq!(list[0]["assessment_deadline"], "2026-11-20");
    assert_eq!(list[0]["breached"], true);
    assert_eq!(list[1]["given_name"], "Anne");
    assert_eq!(list[1]["assessment_deadline"], "2026-11-23");
    assert_eq!(list[1]["breached"], false);
    // Another unit's doctor sees none of them.
    let (status, other) = app.get_json(&app.world.fremmed_lege, "/api/v1/referrals").await;
    assert_eq!(status, StatusCode::OK, "{other}");
    assert_eq!(other.as_array().map(Vec::len), Some(0));
}

#[tokio::test]
async fn the_waiting_list_page_says_the_breach_in_words() {
    let app = spawn_app().await;
    let (status, created) = app
        .post_json(
            &app.world.konsulent,
            "/api/v1/referrals",
            &referral(&app, 341, "Dagny", "2026-11-06"),
        )
        .await;
    assert_eq!(status, StatusCode::CREATED, "{created}");
    let session = app.session_of(app.world.lege.username).await;
    let (status, html) = app.page(&session, "/venteliste").await;
    assert_eq!(status, StatusCode::OK, "{html}");
    assert!(html.contains("Dagny Testesen"), "{html}");
    assert!(html.contains("Fristen er passert"), "{html}");
    assert!(html.contains("har passert fristen for vurdering"), "{html}");
}
