//! Messages between services at HTTP level: automatic messages on events, the inbox
//! per unit, read receipts, escalation to the leader with a fixed clock, and
//! recipients limited to the units related to the patient.

use jiff::SignedDuration;
use jiff::civil::{Time, date};
use reqwest::StatusCode;
use serde_json::{Value, json};

use crate::helpers::{Staff, TestApp, spawn_app};

impl TestApp {
    async fn inbox(&self, staff: &Staff) -> Vec<Value> {
        let (status, body) = self.get_json(staff, "/api/v1/inbox").await;
        assert_eq!(status, StatusCode::OK, "{body}");
        body.as_array().expect("inbox").clone()
    }

    async fn inbox_about(&self, staff: &Staff, patient: &str, kind: &str) -> Vec<Value> {
        self.inbox(staff)
            .await
            .into_iter()
            .filter(|m| m["patient"]["id"] == json!(patient) && m["kind"] == json!(kind))
            .collect()
    }
}

#[tokio::test]
async fn a_signed_dose_change_reaches_the_dispensing_place_which_reads_it_with_a_receipt() {
    let app = spawn_app().await;
    let w = &app.world;
    let patient = app.patient_on_daily_methadone(90).await;
    app.sign_methadone(&patient, &["70"], date(2026, 11, 25)).await;

    let found = app.inbox_about(&w.utdeler, &patient, "dose_change").await;
    let newest = found.first().expect("a dose change message").clone();
    assert!(
        newest["subject"].as_str().expect("subject").contains("70 mg"),
        "{newest}"
    );
    assert_eq!(newest["read_here"], json!(false));
    assert_eq!(newest["sender"], json!("Samhand (automatisk)"));
    // Another place knows nothing of it.
    assert!(
        app.inbox_about(&w.utdeler2, &patient, "dose_change")
            .await
            .is_empty()
    );

    let id = newest["id"].as_str().expect("id");
    let (status, body) = app
        .post_json(&w.koordinator, &format!("/api/v1/messages/{id}/read"), &json!({}))
        .await;
    assert_eq!(status, StatusCode::NO_CONTENT, "{body}");
    // A second reading by a colleague keeps the first receipt.
    app.clock.advance(SignedDuration::from_mins(5));
    let (status, _) = app
        .post_json(&w.utdeler, &format!("/api/v1/messages/{id}/read"), &json!({}))
        .await;
    assert_eq!(status, StatusCode::NO_CONTENT);

    // The sender's side sees the receipt per recipient.
    let (status, thread) = app
        .get_json(&w.lege, &format!("/api/v1/patients/{patient}/messages"))
        .await;
    assert_eq!(status, StatusCode::OK, "{thread}");
    let message = thread["messages"]
        .as_array()
        .expect("messages")
        .iter()
        .find(|m| m["id"] == json!(id))
        .expect("the message")
        .clone();
    let centre = message["recipients"]
        .as_array()
        .expect("recipients")
        .iter()
        .find(|r| r["organisation"]["id"] == json!(w.centre.to_string()))
        .expect("the centre")
        .clone();
    assert_eq!(centre["read_by"], json!(w.koordinator.id.to_string()));
    assert!(
        centre["read_at"]
            .as_str()
            .expect("read at")
            .starts_with("2026-11-23T08:00")
    );
    // A unit that is not a recipient cannot mark it read.
    let (status, _) = app
        .post_json(&w.lege, &format!("/api/v1/messages/{id}/read"), &json!({}))
        .await;
    assert_eq!(status, StatusCode::FORBIDDEN);
}

#[tokio::test]
async fn a_withheld_dose_tells_the_lar_unit_and_escalates_to_its_leader_when_unread_at_the_set_time() {
    let app = spawn_app().await;
    let w = &app.world;
    let patient = app.patient_on_daily_methadone(91).await;
    let (status, body) = app
        .dispense(
            &w.utdeler,
            &patient,
            "withheld",
            json!({"outcome": "withheld", "reason": "Ruset, ustø"}),
        )
        .await;
    assert_eq!(status, StatusCode::CREATED, "{body}");
    let found = app.inbox_about(&w.lege, &patient, "withheld_dose").await;
    assert_eq!(found.len(), 1);
    assert_eq!(found[0]["important"], json!(true));
    assert!(found[0]["body"].as_str().expect("body").contains("Ruset, ustø"));
    assert_eq!(found[0]["escalated"], json!(false));

    // The default is four hours: not yet at 3:59, escalated at 4:00.
    app.clock.advance(SignedDuration::from_mins(3 * 60 + 59));
    let leader = app.inbox_about(&w.leder, &patient, "withheld_dose").await;
    assert_eq!(leader[0]["escalated"], json!(false));
    app.clock.advance(SignedDuration::from_mins(1));
    let leader = app.inbox_about(&w.leder, &patient, "withheld_dose").await;
    assert_eq!(leader[0]["escalated"], json!(true), "{}", leader[0]);
    let (_, page) = app.page(&app.session_of("leder").await, "/innboks").await;
    assert!(page.contains("Eskalert: ulest"), "{page}");

    // Once someone at the unit reads it, it is no longer escalated.
    let id = leader[0]["id"].as_str().expect("id");
    let (status, _) = app
        .post_json(&w.konsulent, &format!("/api/v1/messages/{id}/read"), &json!({}))
        .await;
    assert_eq!(status, StatusCode::NO_CONTENT);
    let leader = app.inbox_about(&w.leder, &patient, "withheld_dose").await;
    assert_eq!(leader[0]["escalated"], json!(false));
    assert_eq!(leader[0]["read_here"], json!(true));
}

#[tokio::test]
async fn a_block_from_missed_doses_is_told_once_to_the_lar_unit() {
    let app = spawn_app().await;
    let w = &app.world;
    let patient = app.patient_on_daily_methadone(92).await;
    app.set_oslo_time(date(2026, 11, 28), Time::constant(9, 0, 0, 0));
    let list = app.today_list(&w.utdeler).await;
    assert_eq!(list["rows"][0]["blocked"], json!(true), "{list}");
    let (status, _) = app.get_json(&w.lege, "/api/v1/alerts").await;
    assert_eq!(status, StatusCode::OK);
    // Looking writes nothing: the scheduler tells, on its clock.
    assert!(
        app.inbox_about(&w.lege, &patient, "missed_doses")
            .await
            .is_empty()
    );
    app.run_scheduler().await;
    // A later run at a later time tells of the same block no more.
    app.set_oslo_time(date(2026, 11, 28), Time::constant(10, 0, 0, 0));
    app.run_scheduler().await;
    let found = app.inbox_about(&w.lege, &patient, "missed_doses").await;
    assert_eq!(found.len(), 1, "one message per block: {found:?}");
    assert!(found[0]["subject"].as_str().expect("subject").contains("5 dager"));
    assert_eq!(
        app.inbox_about(&w.utdeler, &patient, "missed_doses").await.len(),
        1
    );
}

#[tokio::test]
async fn a_message_goes_only_to_related_units_and_its_content_only_where_the_policy_allows() {
    let app = spawn_app().await;
    let w = &app.world;
    let patient = app.patient_on_daily_methadone(93).await;
    let path = format!("/api/v1/patients/{patient}/messages");

    // A unit with no relation to the patient cannot be a recipient; nothing is sent.
    let (status, body) = app
        .post_json(
            &w.lege,
            &path,
            &json!({"kind": "free_text", "subject": "Hei", "body": "Tekst", "recipients": [w.other_centre.to_string()]}),
        )
        .await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{body}");
    assert_eq!(crate::helpers::error_fields(&body), vec!["recipients"]);
    assert!(app.inbox(&w.utdeler2).await.is_empty());
    // Someone without a relation cannot write about the patient.
    let (status, _) = app
        .post_json(
            &w.utdeler2,
            &path,
            &json!({"kind": "free_text", "subject": "Hei", "body": "Tekst", "recipients": [w.unit.to_string()]}),
        )
        .await;
    assert_eq!(status, StatusCode::FORBIDDEN);

    // A free-text note to the place: the place sees that it came, but its content
    // (notes) only once the patient consents.
    let (status, sent) = app
        .post_json(
            &w.konsulent,
            &path,
            &json!({"kind": "free_text", "subject": "Samtale om bolig", "body": "Flytter til ny leilighet",
                "recipients": [w.centre.to_string()]}),
        )
        .await;
    assert_eq!(status, StatusCode::CREATED, "{sent}");
    let got = app.inbox_about(&w.utdeler, &patient, "free_text").await;
    assert_eq!(got[0]["subject"], Value::Null, "{}", got[0]);
    app.consent(&w.konsulent, &patient, w.centre, "notes", true).await;
    let got = app.inbox_about(&w.utdeler, &patient, "free_text").await;
    assert_eq!(got[0]["subject"], json!("Samtale om bolig"));
    assert_eq!(got[0]["sender"], json!("Konsulent Kari"));
}

#[tokio::test]
async fn a_message_is_decided_and_audited_as_a_write_of_its_kinds_category() {
    let app = spawn_app().await;
    let w = &app.world;
    let patient = app.patient_on_daily_methadone(94).await;
    let path = format!("/api/v1/patients/{patient}/messages");
    // The place's dispensing staff know the patient, but do not write medication
    // information: a "dose change" message from them is refused, and the refusal is
    // recorded as the write it was.
    let (status, body) = app
        .post_json(
            &w.utdeler,
            &path,
            &json!({"kind": "dose_change", "subject": "Ny dose", "body": "Øk til 90 mg", "recipients": [w.unit.to_string()]}),
        )
        .await;
    assert_eq!(status, StatusCode::FORBIDDEN, "{body}");
    let latest =
        |entries: Vec<samhand_store::audit::StoredEntry>| entries.into_iter().next().expect("an entry");
    let mut conn = app.state.store.read().await.expect("conn");
    let refused = latest(
        samhand_store::audit::for_patient(&mut conn, patient.parse().expect("id"), 1)
            .await
            .expect("audit"),
    );
    drop(conn);
    assert!(!refused.allowed, "{refused:?}");
    assert_eq!(
        (refused.category.as_str(), refused.action.as_str()),
        ("medication", "write"),
        "{refused:?}"
    );
    // What they may write, they may send; the entry is a write of that category.
    let (status, body) = app
        .post_json(
            &w.utdeler,
            &path,
            &json!({"kind": "withheld_dose", "subject": "Ikke utlevert", "body": "Virket påvirket", "recipients": [w.unit.to_string()]}),
        )
        .await;
    assert_eq!(status, StatusCode::CREATED, "{body}");
    let mut conn = app.state.store.read().await.expect("conn");
    let sent = latest(
        samhand_store::audit::for_patient(&mut conn, patient.parse().expect("id"), 1)
            .await
            .expect("audit"),
    );
    assert!(sent.allowed, "{sent:?}");
    assert_eq!(
        (sent.category.as_str(), sent.action.as_str()),
        ("dispensing", "write"),
        "{sent:?}"
    );
    assert_eq!(sent.detail, "message sent: withheld_dose");
}
