//! Transitions at HTTP level with a fixed clock: an admission that pauses
//! dispensing at home, the bundle, a planned discharge refused while an item is open
//! and then completed, home dispensing resuming on the agreed day; an unplanned
//! discharge with alerts and tasks; reduced tolerance after five days without the
//! dose and only the warning after three; planning notices, the no-show outreach
//! task, the prescribing hand-over; and who may do what.

use jiff::civil::{Date, Time, date};
use reqwest::StatusCode;
use serde_json::{Value, json};

use crate::helpers::{Staff, TestApp, error_fields, spawn_app};

fn nine() -> Time {
    Time::constant(9, 0, 0, 0)
}

impl TestApp {
    async fn admit(&self, actor: &Staff, patient: &str, body: Value) -> (StatusCode, Value) {
        self.post_json(actor, &format!("/api/v1/patients/{patient}/stays"), &body)
            .await
    }

    async fn stays_of(&self, actor: &Staff, patient: &str) -> Value {
        let (status, body) = self
            .get_json(actor, &format!("/api/v1/patients/{patient}/stays"))
            .await;
        assert_eq!(status, StatusCode::OK, "{body}");
        body
    }

    async fn inbox_subjects(&self, staff: &Staff, patient: &str) -> Vec<(String, bool)> {
        let (status, body) = self.get_json(staff, "/api/v1/inbox").await;
        assert_eq!(status, StatusCode::OK, "{body}");
        body.as_array()
            .expect("inbox")
            .iter()
            .filter(|m| m["patient"]["id"] == json!(patient) || m["patient_id"] == json!(patient))
            .map(|m| {
                (
                    m["subject"].as_str().unwrap_or("").to_string(),
                    m["important"].as_bool().unwrap_or(false),
                )
            })
            .collect()
    }

    async fn tasks_of(&self, staff: &Staff, patient: &str) -> Vec<(String, String)> {
        let (status, mine) = self.get_json(staff, "/api/v1/tasks/mine").await;
        assert_eq!(status, StatusCode::OK, "{mine}");
        mine["tasks"]
            .as_array()
            .expect("tasks")
            .iter()
            .filter(|t| t["patient"]["id"] == json!(patient))
            .map(|t| {
                (
                    t["description"].as_str().unwrap_or("").to_string(),
                    t["due_on"].as_str().unwrap_or("").to_string(),
                )
            })
            .collect()
    }

    fn on(&self, day: Date) {
        self.set_oslo_time(day, nine());
    }
}

fn stay_id(stays: &Value) -> String {
    stays["stays"][0]["id"].as_str().expect("stay id").to_string()
}

fn open_items(stays: &Value) -> Vec<String> {
    stays["stays"][0]["open_items"]
        .as_array()
        .expect("open items")
        .iter()
        .map(|i| i.as_str().unwrap_or("").to_string())
        .collect()
}

fn paused_ids(list: &Value) -> Vec<String> {
    list["paused"]
        .as_array()
        .expect("paused")
        .iter()
        .map(|p| p["patient_id"].as_str().unwrap_or("").to_string())
        .collect()
}

#[tokio::test]
async fn admission_bundle_refused_planned_discharge_then_completed_and_home_dispensing_resumes_on_the_agreed_day()
 {
    let app = spawn_app().await;
    let w = &app.world;
    let patient = app.patient_on_daily_methadone(300).await;
    // Dosed at the centre on Monday 23 November.
    let (status, body) = app.dispense(&w.utdeler, &patient, "d-23", json!({})).await;
    assert_eq!(status, StatusCode::CREATED, "{body}");

    // The hospital's doctor admits the patient to the hospital from Tuesday; the
    // hospital gives the usual dose during the stay.
    let (status, body) = app
        .admit(
            &w.akuttlege,
            &patient,
            json!({"kind": "institution", "starts_on": "2026-11-24", "planned_end_on": "2026-12-04",
                   "substitution_continued": true}),
        )
        .await;
    assert_eq!(status, StatusCode::CREATED, "{body}");
    let stay = stay_id(&body);
    assert_eq!(
        body["stays"][0]["institution"]["id"],
        json!(w.hospital.to_string())
    );
    assert_eq!(
        body["stays"][0]["opioid_use"],
        json!(true),
        "a LAR patient uses opioids"
    );
    assert_eq!(open_items(&body).len(), 6, "{body}");
    // The LAR unit is told at admission, with the planned discharge.
    let told = app.inbox_subjects(&w.konsulent, &patient).await;
    assert!(told.iter().any(|(s, _)| s.contains("Innleggelse")), "{told:?}");
    // A second admission while this one runs is refused.
    let (status, _) = app
        .admit(
            &w.lege,
            &patient,
            json!({"kind": "hospital", "institution": "Et sykehus", "starts_on": "2026-11-25"}),
        )
        .await;
    assert_eq!(status, StatusCode::CONFLICT);

    // Wednesday: not on the centre's list, and the list says why.
    app.on(date(2026, 11, 25));
    let list = app.today_list(&w.utdeler).await;
    assert!(app.row_on_list(&w.utdeler, &patient).await.is_none());
    assert_eq!(paused_ids(&list), vec![patient.clone()]);
    assert!(list["paused"][0]["note"].as_str().unwrap().contains("stanset"));
    // Nothing can be dispensed at home during the stay.
    let (status, _) = app.dispense(&w.utdeler, &patient, "d-25", json!({})).await;
    assert!(status.is_client_error(), "{status}");

    // The bundle, at the hospital.
    let (status, body) = app
        .post_json(
            &w.akuttlege,
            &format!("/api/v1/stays/{stay}/bundle"),
            &json!({"item": "admission_conversation", "note": "Kartlagt bruk, informert om overdoserisiko"}),
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{body}");
    // Naloxone, the crisis plan and «time i hånden» are done by recording them, not by ticking.
    let (status, body) = app
        .post_json(
            &w.akuttlege,
            &format!("/api/v1/stays/{stay}/bundle"),
            &json!({"item": "crisis_plan"}),
        )
        .await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{body}");

    // A planned discharge with items open is refused, naming them, and changes nothing.
    app.on(date(2026, 11, 27));
    let (status, body) = app
        .post_json(
            &w.akuttlege,
            &format!("/api/v1/stays/{stay}/discharge"),
            &json!({"on": "2026-11-27", "planned": true, "resume_on": "2026-11-28"}),
        )
        .await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{body}");
    assert!(error_fields(&body).contains(&"bundle".to_string()), "{body}");
    assert!(body.to_string().contains("Kriseplan"), "{body}");
    let stays = app.stays_of(&w.konsulent, &patient).await;
    assert_eq!(stays["stays"][0]["status"], json!("in_progress"));

    // Naloxone with training, the crisis plan, the discharge conversation, the appointment.
    let (status, body) = app
        .post_json(
            &w.akuttlege,
            &format!("/api/v1/patients/{patient}/naloxone"),
            &json!({"handed_out_on": "2026-11-26", "training_given": true}),
        )
        .await;
    assert_eq!(status, StatusCode::CREATED, "{body}");
    let (status, body) = app
        .post_json(
            &w.akuttlege,
            &format!("/api/v1/patients/{patient}/crisis-plan"),
            &json!({"warning_signs": "Sover dårlig", "what_helps": "Ringe søster",
                    "contacts": [{"name": "Søster", "phone": "40000001"}]}),
        )
        .await;
    assert_eq!(status, StatusCode::CREATED, "{body}");
    let (status, body) = app
        .post_json(
            &w.akuttlege,
            &format!("/api/v1/stays/{stay}/bundle"),
            &json!({"item": "discharge_conversation"}),
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{body}");
    assert_eq!(open_items(&body), vec!["follow_up_appointment".to_string()]);
    let (status, body) = app
        .post_json(
            &w.akuttlege,
            &format!("/api/v1/stays/{stay}/appointments"),
            &json!({"with_whom": "LAR-konsulent Kari", "date": "2026-11-30", "time": "10:00",
                    "place": "LAR-enheten", "owner": w.konsulent.id.to_string()}),
        )
        .await;
    assert_eq!(status, StatusCode::CREATED, "{body}");
    assert!(open_items(&body).is_empty(), "{body}");

    // Home dispensing may resume on the discharge day or the day after, never later.
    let (status, body) = app
        .post_json(
            &w.akuttlege,
            &format!("/api/v1/stays/{stay}/discharge"),
            &json!({"on": "2026-11-27", "planned": true, "resume_on": "2026-11-29"}),
        )
        .await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{body}");
    let (status, body) = app
        .post_json(
            &w.akuttlege,
            &format!("/api/v1/stays/{stay}/discharge"),
            &json!({"on": "2026-11-27", "planned": true, "resume_on": "2026-11-28"}),
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{body}");
    assert_eq!(body["stays"][0]["status"], json!("discharged"));
    assert_eq!(body["stays"][0]["discharge"]["resume_on"], json!("2026-11-28"));
    // A second discharge is refused.
    let (status, _) = app
        .post_json(
            &w.akuttlege,
            &format!("/api/v1/stays/{stay}/discharge"),
            &json!({"on": "2026-11-27", "planned": true}),
        )
        .await;
    assert!(status.is_client_error());
    let told = app.inbox_subjects(&w.konsulent, &patient).await;
    assert!(told.iter().any(|(s, _)| s.starts_with("Utskrevet")), "{told:?}");

    // The discharge day is the hospital's: still paused at the centre.
    let list = app.today_list(&w.utdeler).await;
    assert_eq!(paused_ids(&list), vec![patient.clone()]);
    // Saturday 28th: back on the centre's list, the 28th's dose due, not blocked
    // (the hospital gave the usual dose).
    app.on(date(2026, 11, 28));
    let row = app
        .row_on_list(&w.utdeler, &patient)
        .await
        .expect("back on the list");
    assert_eq!(row["blocked"], json!(false), "{row}");
    assert_eq!(row["due"][0]["date"], json!("2026-11-28"));
    let (status, body) = app.dispense(&w.utdeler, &patient, "d-28", json!({})).await;
    assert_eq!(status, StatusCode::CREATED, "{body}");
    // The hospital's relation ended with the stay.
    let (status, _) = app
        .get_json(&w.akuttlege, &format!("/api/v1/patients/{patient}/stays"))
        .await;
    assert_eq!(status, StatusCode::FORBIDDEN);
}

#[tokio::test]
async fn an_unplanned_discharge_alerts_at_once_and_turns_every_open_item_into_a_task() {
    let app = spawn_app().await;
    let w = &app.world;
    let patient = app.patient_on_daily_methadone(301).await;
    app.add_to_team(&patient, "koordinator", "coordinator").await;
    // The coordinator works with the plan: the patient shares it with the centre.
    app.consent(&w.konsulent, &patient, w.centre, "plan_and_goals", true)
        .await;
    let (status, body) = app
        .admit(
            &w.lege,
            &patient,
            json!({"kind": "institution", "institution_id": w.hospital.to_string(), "starts_on": "2026-11-24"}),
        )
        .await;
    assert_eq!(status, StatusCode::CREATED, "{body}");
    let stay = stay_id(&body);
    app.on(date(2026, 11, 26));
    let (status, _) = app
        .post_json(
            &w.akuttlege,
            &format!("/api/v1/stays/{stay}/bundle"),
            &json!({"item": "admission_conversation"}),
        )
        .await;
    assert_eq!(status, StatusCode::OK);
    // Unplanned needs a word on what happened.
    app.on(date(2026, 11, 27));
    let (status, body) = app
        .post_json(
            &w.akuttlege,
            &format!("/api/v1/stays/{stay}/discharge"),
            &json!({"on": "2026-11-27", "planned": false}),
        )
        .await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{body}");
    assert!(error_fields(&body).contains(&"reason".to_string()));
    let (status, body) = app
        .post_json(
            &w.akuttlege,
            &format!("/api/v1/stays/{stay}/discharge"),
            &json!({"on": "2026-11-27", "planned": false, "reason": "Forlot avdelingen i natt"}),
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{body}");
    // Three days without the substitution dose: the warning, but no block.
    let warning = body["stays"][0]["warning"].as_str().expect("warning");
    assert!(warning.contains("3 dager uten opioider"), "{warning}");
    assert!(body["blocked"].is_null(), "{body}");

    // The LAR unit, the coordinator's unit and the municipality's place are told at once, as important.
    for staff in [&w.konsulent, &w.koordinator, &w.utdeler] {
        let told = app.inbox_subjects(staff, &patient).await;
        assert!(
            told.iter()
                .any(|(s, important)| s.starts_with("Brudd i opphold") && *important),
            "{}: {told:?}",
            staff.username
        );
    }
    // Every open item is now a task for the coordinator, due today.
    let tasks = app.tasks_of(&w.koordinator, &patient).await;
    assert_eq!(tasks.len(), 5, "{tasks:?}");
    assert!(tasks.iter().all(|(_, due)| due == "2026-11-27"));
    assert!(tasks.iter().any(|(d, _)| d.contains("kriseplan")), "{tasks:?}");

    // Home dispensing resumes the same day, not blocked after three days.
    let row = app.row_on_list(&w.utdeler, &patient).await.expect("on the list");
    assert_eq!(row["blocked"], json!(false), "{row}");
}

#[tokio::test]
async fn five_days_at_an_institution_without_the_dose_block_the_order_until_a_prescriber_reassesses() {
    let app = spawn_app().await;
    let w = &app.world;
    let patient = app.patient_on_daily_methadone(302).await;
    let (status, body) = app
        .admit(
            &w.akuttlege,
            &patient,
            json!({"kind": "institution", "starts_on": "2026-11-23", "substitution_continued": false}),
        )
        .await;
    assert_eq!(status, StatusCode::CREATED, "{body}");
    let stay = stay_id(&body);
    for item in [
        "admission_conversation",
        "naloxone_training",
        "naloxone_kit",
        "crisis_plan",
        "discharge_conversation",
        "follow_up_appointment",
    ] {
        let (status, body) = app
            .post_json(
                &w.akuttlege,
                &format!("/api/v1/stays/{stay}/bundle"),
                &json!({"item": item, "waived": true, "note": "Pasienten ønsket ikke dette nå"}),
            )
            .await;
        assert_eq!(status, StatusCode::OK, "{item}: {body}");
    }
    // Discharged Saturday 28th after five days (23rd–27th) without the dose.
    app.on(date(2026, 11, 28));
    let (status, body) = app
        .post_json(
            &w.akuttlege,
            &format!("/api/v1/stays/{stay}/discharge"),
            &json!({"on": "2026-11-28", "planned": true}),
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{body}");
    assert!(body["stays"][0]["warning"].as_str().unwrap().contains("5 dager"));
    let blocked = body["blocked"].as_str().expect("blocked");
    assert!(blocked.contains("redusert toleranse"), "{blocked}");
    let row = app.row_on_list(&w.utdeler, &patient).await.expect("on the list");
    assert_eq!(row["blocked"], json!(true), "{row}");
    assert_eq!(row["blocked_after_stay"], json!(true), "{row}");
    let (status, _) = app.dispense(&w.utdeler, &patient, "d-28", json!({})).await;
    assert!(status.is_client_error(), "a blocked order is not dispensed");
    // The prescriber reassesses: a new signed order lifts the block.
    app.sign_methadone(&patient, &["30"], date(2026, 11, 28)).await;
    let row = app.row_on_list(&w.utdeler, &patient).await.expect("on the list");
    assert_eq!(row["blocked"], json!(false), "{row}");
}

#[tokio::test]
async fn planning_notices_come_at_admission_and_fourteen_days_before_and_again_after_an_extension() {
    let app = spawn_app().await;
    let w = &app.world;
    let patient = app.patient_on_daily_methadone(303).await;
    let (status, body) = app
        .admit(
            &w.akuttlege,
            &patient,
            json!({"kind": "institution", "starts_on": "2026-11-24", "planned_end_on": "2027-01-15"}),
        )
        .await;
    assert_eq!(status, StatusCode::CREATED, "{body}");
    let stay = stay_id(&body);
    let planning = |told: &[(String, bool)]| {
        told.iter()
            .filter(|(s, _)| s.starts_with("Planlagt utskrivning"))
            .count()
    };
    // Not yet: more than 14 days ahead.
    app.on(date(2026, 12, 31));
    app.run_scheduler().await;
    assert_eq!(planning(&app.inbox_subjects(&w.konsulent, &patient).await), 0);
    // 14 days before: told by the scheduler, once, however often it runs and
    // anyone looks.
    app.on(date(2027, 1, 1));
    assert_eq!(
        planning(&app.inbox_subjects(&w.konsulent, &patient).await),
        0,
        "a look does not send"
    );
    app.run_scheduler().await;
    assert_eq!(planning(&app.inbox_subjects(&w.konsulent, &patient).await), 1);
    app.set_oslo_time(date(2027, 1, 1), Time::constant(12, 0, 0, 0));
    app.run_scheduler().await;
    assert_eq!(planning(&app.inbox_subjects(&w.utdeler, &patient).await), 1);
    assert_eq!(planning(&app.inbox_subjects(&w.konsulent, &patient).await), 1);
    // Extended: told at once, and again 14 days before the new date.
    let (status, body) = app
        .post_json(
            &w.akuttlege,
            &format!("/api/v1/stays/{stay}/extension"),
            &json!({"planned_end_on": "2027-02-12", "reason": "Trenger lengre stabilisering"}),
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{body}");
    assert_eq!(body["stays"][0]["planned_end_on"], json!("2027-02-12"));
    let told = app.inbox_subjects(&w.konsulent, &patient).await;
    assert!(
        told.iter().any(|(s, _)| s.contains("forlenget til 12.02.2027")),
        "{told:?}"
    );
    // The same extension again (a double click, a retry) is a conflict, not a fault,
    // and tells nobody twice.
    let (status, body) = app
        .post_json(
            &w.akuttlege,
            &format!("/api/v1/stays/{stay}/extension"),
            &json!({"planned_end_on": "2027-02-12", "reason": "Trenger lengre stabilisering"}),
        )
        .await;
    assert_eq!(status, StatusCode::CONFLICT, "{body}");
    let told_again = app.inbox_subjects(&w.konsulent, &patient).await;
    assert_eq!(told_again.len(), told.len(), "{told_again:?}");
    // A date no stay has is refused as invalid.
    let (status, body) = app
        .post_json(
            &w.akuttlege,
            &format!("/api/v1/stays/{stay}/extension"),
            &json!({"planned_end_on": "9999-12-31", "reason": "Trenger lengre stabilisering"}),
        )
        .await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{body}");
    app.on(date(2027, 1, 29));
    app.run_scheduler().await;
    assert_eq!(planning(&app.inbox_subjects(&w.konsulent, &patient).await), 2);
    // An extension needs a reason, and changes nothing without one.
    let (status, body) = app
        .post_json(
            &w.akuttlege,
            &format!("/api/v1/stays/{stay}/extension"),
            &json!({"planned_end_on": "2027-03-01", "reason": ""}),
        )
        .await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{body}");
    assert_eq!(
        app.stays_of(&w.konsulent, &patient).await["stays"][0]["planned_end_on"],
        json!("2027-02-12")
    );
}

#[tokio::test]
async fn a_no_show_gives_the_owner_an_outreach_task_the_same_day() {
    let app = spawn_app().await;
    let w = &app.world;
    let patient = app.patient_on_daily_methadone(304).await;
    let (_, body) = app
        .admit(
            &w.akuttlege,
            &patient,
            json!({"kind": "institution", "starts_on": "2026-11-23"}),
        )
        .await;
    let stay = stay_id(&body);
    let (status, body) = app
        .post_json(
            &w.akuttlege,
            &format!("/api/v1/stays/{stay}/appointments"),
            &json!({"with_whom": "Fastlege", "date": "2026-11-26", "time": "13:30",
                    "place": "Legekontoret", "owner": w.konsulent.id.to_string()}),
        )
        .await;
    assert_eq!(status, StatusCode::CREATED, "{body}");
    let appointment = body["stays"][0]["appointments"][0]["id"]
        .as_str()
        .unwrap()
        .to_string();
    // Not before the day of the appointment.
    let (status, _) = app
        .post_json(
            &w.konsulent,
            &format!("/api/v1/appointments/{appointment}/outcome"),
            &json!({"attended": false}),
        )
        .await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY);
    app.on(date(2026, 11, 26));
    let (status, body) = app
        .post_json(
            &w.konsulent,
            &format!("/api/v1/appointments/{appointment}/outcome"),
            &json!({"attended": false}),
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{body}");
    assert!(body["outreach_task_id"].is_string());
    let tasks = app.tasks_of(&w.konsulent, &patient).await;
    assert!(
        tasks
            .iter()
            .any(|(d, due)| d.starts_with("Oppsøk pasienten i dag") && due == "2026-11-26"),
        "{tasks:?}"
    );
    let stays = app.stays_of(&w.konsulent, &patient).await;
    assert_eq!(stays["stays"][0]["appointments"][0]["attended"], json!(false));
}

#[tokio::test]
async fn prescribing_moves_with_a_hand_over_the_receiving_prescriber_acknowledges_once() {
    let app = spawn_app().await;
    let w = &app.world;
    let patient = app.patient_on_daily_methadone(305).await;
    app.add_to_team(&patient, "fastlege", "member").await;
    let (_, body) = app
        .admit(
            &w.akuttlege,
            &patient,
            json!({"kind": "institution", "starts_on": "2026-11-23"}),
        )
        .await;
    let stay = stay_id(&body);
    // To a service that is not the patient's GP or LAR unit: refused.
    let (status, body) = app
        .post_json(
            &w.akuttlege,
            &format!("/api/v1/stays/{stay}/handovers"),
            &json!({"to_organisation": w.pharmacy.to_string(), "order_summary": "Metadon 60 mg"}),
        )
        .await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{body}");
    let (status, body) = app
        .post_json(
            &w.akuttlege,
            &format!("/api/v1/stays/{stay}/handovers"),
            &json!({"to_organisation": w.gp_office.to_string(), "order_summary": "Metadon 60 mg daglig",
                    "taper_plan": "Ned 5 mg per uke"}),
        )
        .await;
    assert_eq!(status, StatusCode::CREATED, "{body}");
    let handover = body["stays"][0]["handovers"][0]["id"]
        .as_str()
        .unwrap()
        .to_string();
    let told = app.inbox_subjects(&w.fastlege, &patient).await;
    assert!(
        told.iter().any(|(s, _)| s.contains("bekreft overtakelse")),
        "{told:?}"
    );
    // Only a prescriber at the receiving service acknowledges, once.
    let ack = format!("/api/v1/handovers/{handover}/acknowledgement");
    let (status, _) = app.post_json(&w.lege, &ack, &json!({})).await;
    assert_eq!(status, StatusCode::FORBIDDEN);
    let (status, _) = app.post_json(&w.fastlege, &ack, &json!({})).await;
    assert_eq!(status, StatusCode::NO_CONTENT);
    let (status, _) = app.post_json(&w.fastlege, &ack, &json!({})).await;
    assert_eq!(status, StatusCode::CONFLICT);
    let stays = app.stays_of(&w.konsulent, &patient).await;
    assert_eq!(
        stays["stays"][0]["handovers"][0]["acknowledged_by"]["id"],
        json!(w.fastlege.id.to_string())
    );
    // The GP now prescribes: the medication is theirs to read.
    let (status, _) = app
        .get_json(&w.fastlege, &format!("/api/v1/patients/{patient}/dose-orders"))
        .await;
    assert_eq!(status, StatusCode::OK);
}

#[tokio::test]
async fn unrelated_staff_cannot_see_or_change_stays_and_every_attempt_is_audited() {
    let app = spawn_app().await;
    let w = &app.world;
    let patient = app.patient_on_daily_methadone(306).await;
    let (_, body) = app
        .admit(
            &w.akuttlege,
            &patient,
            json!({"kind": "institution", "starts_on": "2026-11-23"}),
        )
        .await;
    let stay = stay_id(&body);
    let before = app.audit_counts(&patient).await;
    let (status, _) = app
        .get_json(&w.fremmed_lege, &format!("/api/v1/patients/{patient}/stays"))
        .await;
    assert_eq!(status, StatusCode::FORBIDDEN);
    for (actor, path, body) in [
        (
            &w.fremmed_lege,
            format!("/api/v1/stays/{stay}/bundle"),
            json!({"item": "admission_conversation"}),
        ),
        (
            &w.nav,
            format!("/api/v1/stays/{stay}/discharge"),
            json!({"on": "2026-11-23", "planned": false, "reason": "Forlot stedet"}),
        ),
        (
            &w.utdeler,
            format!("/api/v1/stays/{stay}/extension"),
            json!({"planned_end_on": "2026-12-30", "reason": "Forlenget opphold"}),
        ),
    ] {
        let (status, body) = app.post_json(actor, &path, &body).await;
        assert_eq!(
            status,
            StatusCode::FORBIDDEN,
            "{}: {path}: {body}",
            actor.username
        );
    }
    // A dispensing place cannot admit (only the LAR unit or the institution itself).
    let (status, _) = app
        .admit(
            &w.utdeler,
            &patient,
            json!({"kind": "hospital", "institution": "Et sykehus", "starts_on": "2026-11-24"}),
        )
        .await;
    assert_eq!(status, StatusCode::FORBIDDEN);
    let after = app.audit_counts(&patient).await;
    assert!(after.1 >= before.1 + 5, "denials audited: {before:?} → {after:?}");
    let stays = app.stays_of(&w.konsulent, &patient).await;
    assert_eq!(stays["stays"].as_array().unwrap().len(), 1);
    assert_eq!(stays["stays"][0]["status"], json!("in_progress"));
}
