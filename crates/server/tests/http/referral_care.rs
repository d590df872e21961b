//! After a referral, through the API: the assessment (in versions, by the LAR
//! unit's doctors and consultants only, the patient told), the waiting list with
//! both kinds of breach (assessment deadline, latest start date: H78), the first
//! dose taking a patient off it, quick-start offers, the planning checklist and
//! the waiting-time indicators. The test clock stands on Monday 23 November 2026.

use jiff::civil::{Time, date};
use reqwest::StatusCode;
use serde_json::{Value, json};

use crate::helpers::{TestApp, error_fields, national_id, spawn_app};

async fn refer(app: &TestApp, n: u16, given: &str, received_on: &str) -> Value {
    let body = json!({
        "national_id": national_id(n),
        "given_name": given,
        "family_name": "Ventesen",
        "phone": "40000000",
        "address": "Gata 1",
        "doctor_id": app.world.lege.id.to_string(),
        "consultant_id": app.world.konsulent.id.to_string(),
        "referrer_name": "Fastlege Fiktiv",
        "referrer_service": "Testbyen legekontor",
        "reason": "Opioidavhengighet",
        "referrer_assessment": "Motivert for LAR",
        "received_on": received_on,
    });
    let (status, created) = app
        .post_json(&app.world.konsulent, "/api/v1/referrals", &body)
        .await;
    assert_eq!(status, StatusCode::CREATED, "{created}");
    created
}

async fn count(app: &TestApp, sql: &str) -> i64 {
    let mut conn = app.state.store.read().await.expect("conn");
    let row: (i64,) = sqlx::query_as(sql).fetch_one(&mut *conn).await.expect("count");
    row.0
}

async fn waiting(app: &TestApp) -> Vec<Value> {
    let (status, list) = app.get_json(&app.world.lege, "/api/v1/referrals").await;
    assert_eq!(status, StatusCode::OK, "{list}");
    list.as_array().expect("list").clone()
}

fn entry<'a>(list: &'a [Value], given: &str) -> Option<&'a Value> {
    list.iter().find(|w| w["given_name"] == given)
}

#[tokio::test]
async fn assessments_in_time_and_late_then_the_waiting_list_breaches_on_the_latest_start() {
    let app = spawn_app().await;
    // Deadline Monday 23 November (today): assessed in time. Deadline Friday 20
    // November: assessed late. A third stays unassessed and breached.
    let in_time = refer(&app, 401, "Ida", "2026-11-09").await;
    let late = refer(&app, 402, "Liv", "2026-11-06").await;
    refer(&app, 403, "Una", "2026-11-06").await;
    let right = json!({"decision": "right", "latest_start": "2026-12-21", "reason": "Oppfyller kriteriene"});
    for r in [&in_time, &late] {
        let (status, a) = app
            .post_json(
                &app.world.lege,
                &format!("/api/v1/referrals/{}/assessment", r["id"].as_str().unwrap()),
                &right,
            )
            .await;
        assert_eq!(status, StatusCode::CREATED, "{a}");
        assert_eq!(a["version"], 1);
        assert_eq!(a["assessed_on"], "2026-11-23");
    }
    // The patient is told in the portal.
    let told = count(
        &app,
        &format!(
            "SELECT COUNT(*) FROM messages WHERE party = 'to_patient' AND patient_id = '{}'",
            in_time["patient_id"].as_str().unwrap()
        ),
    )
    .await;
    assert_eq!(told, 1);
    let (allowed, _) = app.audit_counts(in_time["patient_id"].as_str().unwrap()).await;
    assert!(allowed >= 3, "registration, read and assessment are audited");

    let list = waiting(&app).await;
    assert_eq!(list.len(), 3, "{list:?}");
    let una = entry(&list, "Una").expect("Una");
    assert_eq!(
        (una["stage"].as_str(), una["breached"].as_bool()),
        (Some("unassessed"), Some(true))
    );
    let ida = entry(&list, "Ida").expect("Ida");
    assert_eq!(ida["stage"], "awaiting_start");
    assert_eq!(ida["deadline"], "2026-12-21");
    assert_eq!(ida["latest_start"], "2026-12-21");
    assert_eq!(ida["breached"], false);

    // The indicators: two assessed in November, one of them by the deadline.
    let (status, rows) = app
        .get_json(
            &app.world.leder,
            "/api/v1/referrals/indicators?from=2026-11-01&to=2026-11-30",
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{rows}");
    assert_eq!(rows[0]["month"], "2026-11", "{rows}");
    assert_eq!(rows[0]["received"], 3);
    assert_eq!(rows[0]["assessed"], 2);
    assert_eq!(rows[0]["assessed_within_deadline"], 0.5);
    assert_eq!(rows[0]["median_days_to_assessment"], 15.5);

    // The day after the latest start, with no first dose: breached (H78).
    app.set_oslo_time(date(2026, 12, 22), Time::constant(9, 0, 0, 0));
    let list = waiting(&app).await;
    let ida = entry(&list, "Ida").expect("still waiting");
    assert_eq!(ida["breached"], true, "{ida}");
    assert_eq!(ida["days_waited"], 43);
}

#[tokio::test]
async fn a_correction_is_a_new_version_with_why_and_no_right_takes_the_patient_off_the_list() {
    let app = spawn_app().await;
    let r = refer(&app, 411, "Kaja", "2026-11-16").await;
    let path = format!("/api/v1/referrals/{}/assessment", r["id"].as_str().unwrap());
    let (status, first) = app
        .post_json(
            &app.world.konsulent,
            &path,
            &json!({"decision": "right", "latest_start": "2027-01-11"}),
        )
        .await;
    assert_eq!(status, StatusCode::CREATED, "{first}");
    // The next day, a correction: a new version; the day assessed stays the
    // first one's (a correction cannot move a late assessment into time: H80).
    app.set_oslo_time(date(2026, 11, 24), Time::constant(10, 0, 0, 0));
    // Without saying why: refused, nothing stored.
    let no_right = json!({"decision": "no_right", "reason": "Ikke opioidavhengig etter nærmere utredning"});
    let (status, problem) = app.post_json(&app.world.lege, &path, &no_right).await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{problem}");
    assert_eq!(error_fields(&problem), ["correction_reason"]);
    let mut corrected = no_right.clone();
    corrected["correction_reason"] = json!("Ny opplysning fra fastlegen");
    let (status, second) = app.post_json(&app.world.lege, &path, &corrected).await;
    assert_eq!(status, StatusCode::CREATED, "{second}");
    assert_eq!(second["version"], 2);
    assert_eq!(second["assessed_on"], "2026-11-23");
    assert_eq!(first["assessed_on"], "2026-11-23");
    let (status, case) = app
        .get_json(
            &app.world.lege,
            &format!("/api/v1/referrals/{}", r["id"].as_str().unwrap()),
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{case}");
    let versions = case["assessments"].as_array().expect("versions");
    assert_eq!(versions.len(), 2);
    assert_eq!(
        versions[0]["decision"], "right",
        "the first version stands as it was"
    );
    assert_eq!(versions[1]["correction_reason"], "Ny opplysning fra fastlegen");
    assert_eq!(versions[1]["assessed_by"], app.world.lege.id.to_string());
    assert!(
        entry(&waiting(&app).await, "Kaja").is_none(),
        "no right: off the list"
    );
}

#[tokio::test]
async fn bad_input_and_unauthorised_roles_are_refused_and_change_nothing() {
    let app = spawn_app().await;
    let r = refer(&app, 421, "Mona", "2026-11-16").await;
    let id = r["id"].as_str().unwrap();
    let path = format!("/api/v1/referrals/{id}/assessment");
    let before = count(&app, "SELECT COUNT(*) FROM referral_assessments").await;
    let messages = count(&app, "SELECT COUNT(*) FROM messages").await;
    for (body, field) in [
        (json!({"decision": "kanskje"}), "decision"),
        (json!({"decision": "right"}), "latest_start"),
        (
            json!({"decision": "right", "latest_start": "2026-11-20"}),
            "latest_start",
        ),
        (json!({"decision": "no_right", "reason": " "}), "reason"),
    ] {
        let response = app
            .post(&app.world.lege, &path, &body)
            .send()
            .await
            .expect("post");
        assert_eq!(
            response.headers()["content-type"].to_str().unwrap(),
            "application/problem+json"
        );
        let (status, problem) = crate::helpers::read(response).await;
        assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{problem}");
        assert_eq!(error_fields(&problem), [field], "{problem}");
    }
    let right = json!({"decision": "right", "latest_start": "2026-12-21"});
    // Dispensing staff, a GP, a coordinator, another unit's doctor, the leader:
    // none decides.
    for staff in [
        &app.world.utdeler,
        &app.world.fastlege,
        &app.world.koordinator,
        &app.world.fremmed_lege,
        &app.world.leder,
    ] {
        let (status, problem) = app.post_json(staff, &path, &right).await;
        assert_eq!(status, StatusCode::FORBIDDEN, "{}: {problem}", staff.username);
        let (status, problem) = app
            .post_json(
                staff,
                &format!("/api/v1/referrals/{id}/quick-start"),
                &json!({"offered": "Rask oppstart", "offered_on": "2026-11-20", "answer": "accepted"}),
            )
            .await;
        assert_eq!(status, StatusCode::FORBIDDEN, "{}: {problem}", staff.username);
    }
    let (status, _) = app
        .get_json(&app.world.utdeler, "/api/v1/referrals/indicators")
        .await;
    assert_eq!(status, StatusCode::FORBIDDEN);
    let (status, _) = app
        .get_json(&app.world.lege, "/api/v1/referrals/indicators?from=2026-13-01")
        .await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY);
    let (status, _) = app
        .post_json(
            &app.world.lege,
            "/api/v1/referrals/00000000-0000-0000-0000-000000000000/assessment",
            &right,
        )
        .await;
    assert_eq!(status, StatusCode::NOT_FOUND);
    assert_eq!(
        count(&app, "SELECT COUNT(*) FROM referral_assessments").await,
        before
    );
    assert_eq!(count(&app, "SELECT COUNT(*) FROM quick_start_offers").await, 0);
    assert_eq!(count(&app, "SELECT COUNT(*) FROM messages").await, messages);
    let (_, denied) = app.audit_counts(r["patient_id"].as_str().unwrap()).await;
    assert!(denied >= 5, "refusals are audited");
}

#[tokio::test]
async fn a_quick_start_offer_shows_on_the_waiting_list_and_the_first_dose_ends_the_wait() {
    let app = spawn_app().await;
    let r = refer(&app, 431, "Nora", "2026-11-16").await;
    let id = r["id"].as_str().unwrap();
    let path = format!("/api/v1/referrals/{id}/quick-start");
    let (status, problem) = app
        .post_json(
            &app.world.lege,
            &path,
            &json!({"offered": "Buprenorfin", "offered_on": "2026-11-10", "answer": "ja"}),
        )
        .await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{problem}");
    assert_eq!(error_fields(&problem), ["offered_on", "answer"]);
    let (status, offer) = app
        .post_json(
            &app.world.konsulent,
            &path,
            &json!({"offered": "Lavterskel oppstart med buprenorfin", "offered_on": "2026-11-20", "answer": "accepted"}),
        )
        .await;
    assert_eq!(status, StatusCode::CREATED, "{offer}");
    let list = waiting(&app).await;
    let nora = entry(&list, "Nora").expect("Nora");
    assert_eq!(
        nora["quick_start_offers"][0]["offered"],
        "Lavterskel oppstart med buprenorfin"
    );
    assert_eq!(nora["quick_start_offers"][0]["answer"], "accepted");

    // Assessed with a right, then the first dose: off the list, and started in time.
    let (status, a) = app
        .post_json(
            &app.world.lege,
            &format!("/api/v1/referrals/{id}/assessment"),
            &json!({"decision": "right", "latest_start": "2026-12-01"}),
        )
        .await;
    assert_eq!(status, StatusCode::CREATED, "{a}");
    let patient = r["patient_id"].as_str().unwrap();
    let day = crate::helpers::start_day();
    app.sign_methadone(patient, &["30"], day).await;
    app.arrange(patient, app.world.centre, "AAAAAAA", day).await;
    let (status, given) = app
        .dispense(&app.world.utdeler, patient, "first", json!({}))
        .await;
    assert_eq!(status, StatusCode::CREATED, "{given}");
    assert!(
        entry(&waiting(&app).await, "Nora").is_none(),
        "started: off the list"
    );
    let (status, rows) = app
        .get_json(
            &app.world.konsulent,
            "/api/v1/referrals/indicators?from=2026-11-01&to=2026-11-30",
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{rows}");
    assert_eq!(rows[0]["started"], 1);
    assert_eq!(rows[0]["median_days_to_start"], 7.0);
    assert_eq!(rows[0]["started_within_deadline"], 1.0);

    // The checklist now shows the medicine and the dispensing place from the record.
    let (status, list) = app
        .get_json(
            &app.world.lege,
            &format!("/api/v1/patients/{patient}/planning-checklist"),
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{list}");
    let items = list["items"].as_array().expect("items");
    let item = |code: &str| items.iter().find(|i| i["item"] == code).expect(code).clone();
    assert_eq!(
        (
            item("medicine")["done"].as_bool(),
            item("medicine")["derived"].as_bool()
        ),
        (Some(true), Some(true))
    );
    assert_eq!(item("dispensing_place")["derived"], true);
}

#[tokio::test]
async fn the_planning_checklist_is_checked_by_hand_with_who_and_refuses_bad_input_and_strangers() {
    let app = spawn_app().await;
    let r = refer(&app, 441, "Olga", "2026-11-16").await;
    let patient = r["patient_id"].as_str().unwrap();
    let path = format!("/api/v1/patients/{patient}/planning-checklist");
    let (status, list) = app.get_json(&app.world.konsulent, &path).await;
    assert_eq!(status, StatusCode::OK, "{list}");
    assert_eq!(list["episode_id"], r["episode_id"]);
    let items = list["items"].as_array().expect("items");
    assert_eq!(items.len(), 5);
    assert!(items.iter().all(|i| i["done"] == false), "{list}");

    for (body, field) in [
        (json!({"item": "kaffe", "note": "x"}), "item"),
        (json!({"item": "start_setting", "note": "  "}), "note"),
    ] {
        let (status, problem) = app.post_json(&app.world.konsulent, &path, &body).await;
        assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{problem}");
        assert_eq!(error_fields(&problem), [field]);
    }
    for staff in [&app.world.utdeler, &app.world.fremmed_lege] {
        let (status, _) = app
            .post_json(staff, &path, &json!({"item": "start_setting", "note": "Hjemme"}))
            .await;
        assert_eq!(status, StatusCode::FORBIDDEN, "{}", staff.username);
    }
    assert_eq!(count(&app, "SELECT COUNT(*) FROM planning_checks").await, 0);
    let (status, list) = app
        .post_json(
            &app.world.konsulent,
            &path,
            &json!({"item": "start_setting", "note": "Oppstart i institusjon (avrusning)"}),
        )
        .await;
    assert_eq!(status, StatusCode::CREATED, "{list}");
    let start = list["items"]
        .as_array()
        .unwrap()
        .iter()
        .find(|i| i["item"] == "start_setting")
        .unwrap()
        .clone();
    assert_eq!(start["done"], true);
    assert_eq!(start["derived"], false);
    assert_eq!(start["what"], "Oppstart i institusjon (avrusning)");
    assert_eq!(start["by"], app.world.konsulent.id.to_string());
}
