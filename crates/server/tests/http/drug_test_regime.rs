//! The drug-test regime: decided by the doctor in versions, samples expected from it
//! against those the laboratory reported, a sample not delivered visible after the
//! grace days on the overview and the unit's list, a regime past its review listed,
//! and the end (H72).

use jiff::civil::{Date, Time, date};
use reqwest::StatusCode;
use serde_json::{Value, json};

use crate::fhir::drug_test;
use crate::helpers::{TestApp, error_fields, spawn_app, start_day};

fn weekly_regime() -> Value {
    json!({
        "valid_from": start_day().to_string(),
        "reason": "more_take_home",
        "substances": ["opioids", "benzodiazepines"],
        "frequency": "weekly",
        "supervised": true,
        "where_given": "LAR-senteret Sentrum",
        "review_on": "2027-02-22",
    })
}

impl TestApp {
    async fn regime(&self, patient: &str) -> Value {
        let (status, body) = self
            .get_json(
                &self.world.lege,
                &format!("/api/v1/patients/{patient}/drug-test-regime"),
            )
            .await;
        assert_eq!(status, StatusCode::OK, "{body}");
        body
    }

    async fn follow_up_of(&self, staff: &crate::helpers::Staff) -> Vec<Value> {
        let (status, body) = self.get_json(staff, "/api/v1/drug-test-follow-up").await;
        assert_eq!(status, StatusCode::OK, "{body}");
        body.as_array().expect("list").clone()
    }

    async fn at(&self, day: Date) {
        self.set_oslo_time(day, Time::constant(12, 0, 0, 0));
    }
}

#[tokio::test]
async fn samples_expected_from_the_regime_are_missing_after_the_grace_days_and_listed_for_the_unit() {
    let app = spawn_app().await;
    let w = &app.world;
    let patient = app.patient_on_daily_methadone(401).await;
    let path = format!("/api/v1/patients/{patient}/drug-test-regime");

    // Only the doctor decides; a bad decision changes nothing.
    let (status, _) = app.post_json(&w.konsulent, &path, &weekly_regime()).await;
    assert_eq!(status, StatusCode::FORBIDDEN);
    let (status, problem) = app
        .post_json(
            &w.lege,
            &path,
            &json!({"frequency": "daily", "substances": ["heroin"]}),
        )
        .await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{problem}");
    for field in [
        "valid_from",
        "reason",
        "substances",
        "frequency",
        "where_given",
        "review_on",
    ] {
        assert!(
            error_fields(&problem).iter().any(|f| f == field),
            "{field}: {problem}"
        );
    }
    assert_eq!(app.regime(&patient).await["versions"], json!([]));
    let (status, decided) = app.post_json(&w.lege, &path, &weekly_regime()).await;
    assert_eq!(status, StatusCode::CREATED, "{decided}");
    assert_eq!(decided["version"], json!(1));
    assert_eq!(decided["substances"], json!(["opioids", "benzodiazepines"]));

    // A sample in the first week (Monday 23 – Sunday 29 November).
    app.at(date(2026, 11, 25)).await;
    let (status, body) = app
        .fhir_post(
            &w.lege.token,
            "/Observation",
            &drug_test(&patient, None, "2026-11-25").to_string(),
        )
        .await;
    assert_eq!(status, StatusCode::CREATED, "{body}");

    // The second week (30 November – 6 December) has no sample. Within its two
    // grace days it is not missing yet …
    app.at(date(2026, 12, 8)).await;
    let regime = app.regime(&patient).await;
    assert_eq!(
        (regime["expected"].clone(), regime["delivered"].clone()),
        (json!(3), json!(1)),
        "{regime}"
    );
    assert_eq!(regime["missing"], json!(0), "{regime}");
    assert!(app.follow_up_of(&w.lege).await.is_empty());
    // … and is the day after.
    app.at(date(2026, 12, 9)).await;
    let regime = app.regime(&patient).await;
    assert_eq!(regime["missing"], json!(1), "{regime}");
    let windows = regime["windows"].as_array().expect("windows");
    assert_eq!(windows[1]["from"], json!("2026-11-30"));
    assert_eq!(
        (windows[1]["delivered"].clone(), windows[1]["missing"].clone()),
        (json!(0), json!(1))
    );
    assert_eq!(windows[2]["delivered"], json!(1));
    let list = app.follow_up_of(&w.lege).await;
    assert_eq!(list.len(), 1, "{list:?}");
    assert_eq!(list[0]["patient"]["id"], json!(patient));
    assert_eq!(list[0]["missing"], json!(1));
    assert_eq!(list[0]["review_overdue"], json!(false));
    // The dispensing place sees drug tests only with the patient's consent.
    assert!(app.follow_up_of(&w.utdeler).await.is_empty());

    // The overview shows it.
    let lege = app.session_of("lege").await;
    let (_, html) = app.page(&lege, &format!("/pasienter/{patient}")).await;
    assert!(html.contains("Prøveregime"), "{html}");
    assert!(html.contains("1 prøve ikke levert"), "{html}");
    let (_, html) = app.page(&lege, "/revurderinger").await;
    assert!(
        html.contains("drug-test-follow-up") && html.contains("Pasient401"),
        "{html}"
    );

    // Past the review date, the regime is listed for review.
    app.at(date(2027, 2, 23)).await;
    let list = app.follow_up_of(&w.lege).await;
    assert_eq!(list[0]["review_overdue"], json!(true), "{list:?}");
    assert!(
        app.regime(&patient).await["review_overdue"]
            .as_bool()
            .expect("bool")
    );

    // Ended, nothing more is expected, and the list is empty; ending again is refused.
    let end = format!("{path}/end");
    let (status, problem) = app.post_json(&w.lege, &end, &json!({"note": ""})).await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{problem}");
    let (status, ended) = app
        .post_json(
            &w.lege,
            &end,
            &json!({"note": "Stabil, prøver ikke lenger nødvendig"}),
        )
        .await;
    assert_eq!(status, StatusCode::CREATED, "{ended}");
    assert_eq!(
        (ended["version"].clone(), ended["ended"].clone()),
        (json!(2), json!(true))
    );
    app.at(date(2027, 3, 30)).await;
    let regime = app.regime(&patient).await;
    let last = &regime["windows"][0];
    assert!(last["to"].as_str().expect("to") < "2027-02-23", "{regime}");
    assert!(app.follow_up_of(&w.lege).await.is_empty());
    let (status, _) = app.post_json(&w.lege, &end, &json!({"note": "Igjen"})).await;
    assert_eq!(status, StatusCode::CONFLICT);
    assert_eq!(
        app.regime(&patient).await["versions"]
            .as_array()
            .expect("v")
            .len(),
        2
    );
}

#[tokio::test]
async fn the_doctor_decides_a_regime_on_the_page_and_a_bad_form_changes_nothing() {
    let app = spawn_app().await;
    let patient = app.patient_on_daily_methadone(402).await;
    let lege = app.session_of("lege").await;
    let path = format!("/pasienter/{patient}/proveregime");
    let (status, html) = app.page(&lege, &path).await;
    assert_eq!(status, StatusCode::OK);
    assert!(html.contains("Bestem prøveregime"), "{html}");
    let (status, html, _) = app
        .submit(
            &lege,
            &path,
            &[("valid_from", "2026-11-23"), ("frequency", "weekly")],
        )
        .await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(
        html.contains("Skjemaet har feil") && html.contains("Velg minst ett stoff"),
        "{html}"
    );
    assert_eq!(app.regime(&patient).await["versions"], json!([]));
    let (status, _, location) = app
        .submit(
            &lege,
            &path,
            &[
                ("valid_from", "2026-11-23"),
                ("reason", "relapse_worry"),
                ("substances", "opioids"),
                ("substances", "cannabis"),
                ("frequency", "twice_a_week"),
                ("where_given", "Legevakten"),
                ("review_on", "2027-01-15"),
            ],
        )
        .await;
    assert_eq!(status, StatusCode::SEE_OTHER);
    assert_eq!(location.as_deref(), Some(path.as_str()));
    let regime = app.regime(&patient).await;
    assert_eq!(regime["versions"][0]["frequency"], json!("twice_a_week"));
    assert_eq!(regime["versions"][0]["supervised"], json!(false));
    assert_eq!(
        regime["versions"][0]["substances"],
        json!(["opioids", "cannabis"])
    );
    // Staff at the dispensing place may not open it without consent.
    let utdeler = app.session_of("utdeler").await;
    let (status, _) = app.page(&utdeler, &path).await;
    assert_eq!(status, StatusCode::FORBIDDEN);
}
