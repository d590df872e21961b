//! The follow-up indicators at HTTP level, from a history built through the API
//! with a moving clock (H85, H86): doses due and missed per place (a day without
//! any recording counted, a take-home day handed out earlier, a withheld day and
//! stay days not), discharges beside those with the overdose-prevention bundle
//! completed (one completed, one left early with items open), and the samples a
//! regime of two a week expects beside those delivered, in the JSON, the CSV and
//! the page.

use jiff::civil::{Date, Time, date};
use reqwest::StatusCode;
use serde_json::{Value, json};

use crate::fhir::drug_test;
use crate::helpers::{TestApp, spawn_app, start_day};

fn on(app: &TestApp, day: Date) {
    app.set_oslo_time(day, Time::constant(9, 0, 0, 0));
}

fn ok(result: (StatusCode, Value), what: &str) -> Value {
    let (status, body) = result;
    assert!(status.is_success(), "{what}: {status} {body}");
    body
}

/// The centres become places of the unit.
async fn places_of_the_unit(app: &TestApp) {
    let w = &app.world;
    let mut conn = app.state.store.read().await.expect("conn");
    for place in [w.centre, w.other_centre] {
        sqlx::query(&format!(
            "UPDATE organisations SET responsible_unit_id = '{}' WHERE id = '{place}'",
            w.unit
        ))
        .execute(&mut *conn)
        .await
        .expect("place of the unit");
    }
}

/// A count of the unit (`place` None) or a place in the indicators' JSON.
fn count(body: &Value, place: Option<&str>, month: &str, kind: &str) -> Value {
    let series = body["series"]
        .as_array()
        .expect("series")
        .iter()
        .find(|s| match place {
            None => s["place"].is_null(),
            Some(id) => s["place"]["id"] == json!(id),
        })
        .unwrap_or_else(|| panic!("{place:?} in {body}"));
    let found = series["months"]
        .as_array()
        .expect("months")
        .iter()
        .find(|m| m["month"] == json!(month))
        .unwrap_or_else(|| panic!("{month} in {series}"));
    found["counts"].get(kind).cloned().unwrap_or(Value::Null)
}

/// Patient A at the centre (weekdays supervised, the weekend handed out on
/// Friday) with a regime of two samples a week; patient B daily at the other
/// centre, with two stays.
async fn history(app: &TestApp) -> (String, String) {
    let w = &app.world;
    places_of_the_unit(app).await;
    let a = app.enrol(601, start_day()).await;
    app.sign_methadone(&a, &["60"], start_day()).await;
    app.arrange(&a, w.centre, "AAAAATT", start_day()).await;
    let b = app.enrol(602, start_day()).await;
    app.sign_methadone(&b, &["60"], start_day()).await;
    app.arrange(&b, w.other_centre, "AAAAAAA", start_day()).await;
    let regime = json!({
        "valid_from": start_day().to_string(), "reason": "more_take_home", "substances": ["opioids"],
        "frequency": "twice_a_week", "supervised": true, "where_given": "LAR-senteret Sentrum",
        "review_on": "2027-02-22",
    });
    let path = format!("/api/v1/patients/{a}/drug-test-regime");
    ok(app.post_json(&w.lege, &path, &regime).await, "regime");
    let give = |who: &'static str, patient: &str, key: &str, body: Value| {
        let staff = if who == "a" { &w.utdeler } else { &w.utdeler2 };
        let (patient, key) = (patient.to_string(), key.to_string());
        async move { app.dispense(staff, &patient, &key, body).await }
    };

    // Monday 23 November: both dosed.
    ok(give("a", &a, "a-23", json!({})).await, "a 23");
    ok(give("b", &b, "b-23", json!({})).await, "b 23");
    // Tuesday 24th: A comes not (missed); B is admitted without the usual dose.
    on(app, date(2026, 11, 24));
    let body = ok(
        app.post_json(
            &w.akuttlege,
            &format!("/api/v1/patients/{b}/stays"),
            &json!({"kind": "institution", "starts_on": "2026-11-24"}),
        )
        .await,
        "admit",
    );
    let first_stay = body["stays"][0]["id"].as_str().expect("stay").to_string();
    // Wednesday 25th: A's dose withheld, and a sample. B's bundle, every item done.
    on(app, date(2026, 11, 25));
    let withheld = json!({"outcome": "withheld", "reason": "Ruset"});
    ok(give("a", &a, "a-25", withheld).await, "a 25");
    let (status, body) = app
        .fhir_post(
            &w.lege.token,
            "/Observation",
            &drug_test(&a, None, "2026-11-25").to_string(),
        )
        .await;
    assert_eq!(status, StatusCode::CREATED, "{body}");
    let bundle = format!("/api/v1/stays/{first_stay}/bundle");
    for (path, body) in [
        (bundle.clone(), json!({"item": "admission_conversation"})),
        (
            format!("/api/v1/patients/{b}/naloxone"),
            json!({"handed_out_on": "2026-11-25", "training_given": true}),
        ),
        (
            format!("/api/v1/patients/{b}/crisis-plan"),
            json!({"warning_signs": "Sover dårlig", "what_helps": "Ringe søster",
                   "contacts": [{"name": "Søster", "phone": "40000001"}]}),
        ),
        (bundle.clone(), json!({"item": "discharge_conversation"})),
        (
            format!("/api/v1/stays/{first_stay}/appointments"),
            json!({"with_whom": "LAR-konsulent Kari", "date": "2026-11-30", "time": "10:00",
                   "place": "LAR-enheten", "owner": w.konsulent.id.to_string()}),
        ),
    ] {
        ok(app.post_json(&w.akuttlege, &path, &body).await, &path);
    }
    // Thursday 26th: A dosed; B discharged as planned, home from Friday.
    on(app, date(2026, 11, 26));
    ok(give("a", &a, "a-26", json!({})).await, "a 26");
    let discharge = json!({"on": "2026-11-26", "planned": true, "resume_on": "2026-11-27"});
    let path = format!("/api/v1/stays/{first_stay}/discharge");
    ok(app.post_json(&w.akuttlege, &path, &discharge).await, "discharge");
    // Friday 27th: A takes the weekend home; B dosed.
    on(app, date(2026, 11, 27));
    ok(give("a", &a, "a-27", json!({})).await, "a 27");
    ok(give("b", &b, "b-27", json!({})).await, "b 27");
    // Saturday 28th: B admitted again; Sunday 29th B leaves early, items open.
    on(app, date(2026, 11, 28));
    let body = ok(app.post_json(
            &w.lege,
            &format!("/api/v1/patients/{b}/stays"),
            &json!({"kind": "institution", "institution_id": w.hospital.to_string(), "starts_on": "2026-11-28"}),
        )
        .await,
        "admit again",
    );
    let second_stay = body["stays"][0]["id"].as_str().expect("stay").to_string();
    assert_ne!(second_stay, first_stay);
    on(app, date(2026, 11, 29));
    let left = json!({"on": "2026-11-29", "planned": false, "reason": "Forlot avdelingen i natt"});
    let path = format!("/api/v1/stays/{second_stay}/discharge");
    ok(app.post_json(&w.akuttlege, &path, &left).await, "left early");
    ok(give("b", &b, "b-29", json!({})).await, "b 29");
    // Monday 30th both dosed; Tuesday 1 December only B.
    on(app, date(2026, 11, 30));
    ok(give("a", &a, "a-30", json!({})).await, "a 30");
    ok(give("b", &b, "b-30", json!({})).await, "b 30");
    on(app, date(2026, 12, 1));
    ok(give("b", &b, "b-01", json!({})).await, "b 01");
    (a, b)
}

#[tokio::test]
async fn missed_doses_bundles_and_expected_samples_follow_each_patients_rules() {
    let app = spawn_app().await;
    let w = &app.world;
    history(&app).await;
    let (centre, other) = (w.centre.to_string(), w.other_centre.to_string());

    // Wednesday 2 December: the days up to yesterday are judged.
    on(&app, date(2026, 12, 2));
    let (status, body) = app
        .get_json(&w.leder, "/api/v1/indicators?from=2026-11&to=2026-12")
        .await;
    assert_eq!(status, StatusCode::OK, "{body}");
    // A missed Tuesday 24th only: the withheld 25th is withheld, the weekend was
    // handed out on Friday. B's stay days are not missed. December: A's 1st.
    for (place, month, missed) in [
        (None, "2026-11", 1),
        (Some(centre.as_str()), "2026-11", 1),
        (Some(other.as_str()), "2026-11", 0),
        (None, "2026-12", 1),
        (Some(centre.as_str()), "2026-12", 1),
    ] {
        assert_eq!(
            count(&body, place, month, "missed_doses"),
            json!(missed),
            "{place:?} {month}: {body}"
        );
    }
    assert_eq!(count(&body, None, "2026-11", "withheld_doses"), json!(1));
    // Two discharges at B's place, one with the bundle completed.
    for (place, discharges, bundles) in [
        (None, 2, 1),
        (Some(other.as_str()), 2, 1),
        (Some(centre.as_str()), 0, 0),
    ] {
        assert_eq!(
            (
                count(&body, place, "2026-11", "discharges"),
                count(&body, place, "2026-11", "discharge_bundles")
            ),
            (json!(discharges), json!(bundles)),
            "{place:?}: {body}"
        );
    }
    // Two a week from Monday 23 November: the week ending the 29th expects two,
    // one delivered; December's first week has not ended.
    assert_eq!(count(&body, None, "2026-11", "drug_test_samples"), json!(1));
    assert_eq!(
        count(&body, None, "2026-11", "drug_test_samples_expected"),
        json!(2)
    );
    assert_eq!(
        count(&body, None, "2026-12", "drug_test_samples_expected"),
        json!(0)
    );
    assert_eq!(
        count(&body, Some(&centre), "2026-11", "drug_test_samples_expected"),
        Value::Null,
        "the unit's figure only"
    );

    // The CSV carries the same figures in its documented columns.
    let response = app
        .get(&w.leder, "/api/v1/indicators.csv?from=2026-11&to=2026-11")
        .send()
        .await
        .expect("csv");
    let text = response.text().await.expect("text");
    let lines: Vec<Vec<&str>> = text
        .split("\r\n")
        .filter(|l| !l.is_empty())
        .map(|l| l.split(',').collect())
        .collect();
    let column = |name: &str| lines[0].iter().position(|c| *c == name).expect(name);
    let unit = lines.iter().find(|l| l[0] == "unit").expect("unit row");
    for (name, value) in [
        ("missed_doses", "1"),
        ("discharges", "2"),
        ("discharge_bundles", "1"),
        ("drug_test_samples", "1"),
        ("drug_test_samples_expected", "2"),
    ] {
        assert_eq!(unit[column(name)], value, "{name}: {text}");
    }

    // The page charts them with a summary and lists them in the tables.
    let session = app.session_of("leder").await;
    let (status, html) = app.page(&session, "/indikatorer?fra=2026-11&til=2026-11").await;
    assert_eq!(status, StatusCode::OK);
    assert!(html.contains("data-testid=\"chart-follow-up\""), "{html}");
    assert!(
        html.contains(
            "Enheten i 2026-11: tiltakspakken fullført ved 1 av 2 utskrivninger, 1 urinprøver levert av 2 forventet."
        ),
        "{html}"
    );
    assert!(html.contains("Urinprøver forventet"));
    assert!(!html.contains("ennå ikke prøveregimet"));
    // The leader's key figures: November's missed dose against October's none.
    let (status, overview) = app.page(&session, "/leder").await;
    assert_eq!(status, StatusCode::OK);
    assert!(
        overview.contains("<th scope=\"row\">Uteblitte doser</th><td>1</td><td>0</td>"),
        "{overview}"
    );

    // 5 January 2027: December's four weeks ended (6th, 13th, 20th, 27th): eight
    // samples expected. Every December day of both is missed, blocked days too:
    // A had no dose in December, B none after the 1st.
    on(&app, date(2027, 1, 5));
    let (status, body) = app
        .get_json(&w.leder, "/api/v1/indicators?from=2026-11&to=2026-12")
        .await;
    assert_eq!(status, StatusCode::OK, "{body}");
    assert_eq!(
        count(&body, None, "2026-12", "drug_test_samples_expected"),
        json!(8)
    );
    assert_eq!(
        count(&body, None, "2026-11", "drug_test_samples_expected"),
        json!(2)
    );
    assert_eq!(count(&body, Some(&centre), "2026-12", "missed_doses"), json!(31));
    assert_eq!(count(&body, Some(&other), "2026-12", "missed_doses"), json!(30));
    assert_eq!(count(&body, None, "2026-12", "missed_doses"), json!(61));
    assert_eq!(count(&body, None, "2026-11", "missed_doses"), json!(1));
}
