//! EDI on the events nobody types (issue 18): a block after missed doses, raised by
//! the scheduler, and the end of LAR go to the consented GP office outside Samhand
//! as a Hodemelding that validates against the official schemas, each sending in
//! the patient's access log with the actor who truly sent it (H87).

use jiff::civil::{Time, date};
use reqwest::StatusCode;
use serde_json::json;

use crate::edi::{dialogs, xmllint_validates};
use crate::helpers::{TestApp, spawn_app, start_day};

impl TestApp {
    async fn audit_of(&self, patient: &str) -> Vec<samhand_store::audit::StoredEntry> {
        let mut conn = self.state.store.read().await.expect("conn");
        samhand_store::audit::for_patient(&mut conn, patient.parse().expect("id"), 1000)
            .await
            .expect("log")
    }

    /// The Hodemeldinger written to the outbox now, each validated.
    async fn flushed_dialogs(&self) -> Vec<String> {
        samhand_server::service::flush_outbox(&self.state)
            .await
            .expect("flush");
        dialogs(&self.state.config.edi_dirs().outbox)
            .iter()
            .map(|p| {
                xmllint_validates(p).expect("the Hodemelding validates against the official schemas");
                std::fs::read_to_string(p).expect("read")
            })
            .collect()
    }
}

#[tokio::test]
async fn a_block_raised_by_the_scheduler_goes_by_edi_to_the_consented_gp_office_audited_as_samhand() {
    let app = spawn_app().await;
    let w = &app.world;
    let office = app.outside_gp_office().await;
    let shared = app.patient_on_daily_methadone(601).await;
    let not_shared = app.patient_on_daily_methadone(602).await;
    app.consent(&w.lege, &shared, office, "dispensing", true).await;
    app.consent(&w.lege, &not_shared, office, "medication", true)
        .await;
    // Saturday: nobody has collected since Monday, both orders are blocked.
    app.set_oslo_time(date(2026, 11, 28), Time::constant(9, 0, 0, 0));
    let told = samhand_server::service::timed::send_missed_dose_notices(&app.state)
        .await
        .expect("notices");
    assert_eq!(told, 2, "each block is told in Samhand");

    let sent = app.flushed_dialogs().await;
    assert_eq!(sent.len(), 1, "only the patient who shares dispensing: {sent:?}");
    let xml = &sent[0];
    assert!(
        xml.contains(&crate::helpers::national_id(601)) && xml.contains("8100042"),
        "{xml}"
    );
    assert!(xml.contains("sperret"), "the notice's text: {xml}");
    assert!(xml.contains("8100001"), "sent for the LAR unit: {xml}");

    // The disclosure is in the access log, as Samhand acting for the LAR unit, not
    // as any person.
    let log = app.audit_of(&shared).await;
    let disclosure = log
        .iter()
        .find(|e| e.relation == "edi+consent")
        .expect("the sending is audited");
    assert_eq!(disclosure.actor_id, samhand_domain::access::SYSTEM_ACTOR_ID);
    assert_eq!(disclosure.actor_role, "system");
    assert_eq!(disclosure.actor_organisation, w.unit.to_string());
    assert_eq!(disclosure.category, "dispensing");
    assert!(disclosure.detail.contains("missed_doses"), "{disclosure:?}");
    // The patient's access log («hvem har sett journalen min») names it so.
    let (status, lines) = app
        .get_json(&w.lege, &format!("/api/v1/patients/{shared}/access-log"))
        .await;
    assert_eq!(status, StatusCode::OK, "{lines}");
    let line = lines
        .as_array()
        .expect("lines")
        .iter()
        .find(|l| l["relation"] == json!("edi+consent"))
        .unwrap_or_else(|| panic!("{lines}"))
        .clone();
    assert_eq!(line["who"], json!("Samhand (automatisk)"), "{line}");
    assert_eq!(line["role"], json!("Automatisk melding"), "{line}");
    assert!(
        !app.audit_of(&not_shared)
            .await
            .iter()
            .any(|e| e.relation == "edi+consent"),
        "nothing sent, nothing disclosed"
    );

    // Told once: the next run sends nothing, in Samhand or by EDI.
    assert_eq!(
        samhand_server::service::timed::send_missed_dose_notices(&app.state)
            .await
            .expect("notices"),
        0
    );
    assert_eq!(app.flushed_dialogs().await.len(), 1);
}

#[tokio::test]
async fn the_end_of_lar_goes_by_edi_to_the_consented_gp_office_whatever_the_reason() {
    let app = spawn_app().await;
    let w = &app.world;
    let office = app.outside_gp_office().await;
    let taper = app.patient_on_daily_methadone(611).await;
    let transferred = app.patient_on_daily_methadone(612).await;
    let not_shared = app.patient_on_daily_methadone(613).await;
    for patient in [&taper, &transferred] {
        app.consent(&w.lege, patient, office, "medication", true).await;
    }
    app.consent(&w.lege, &not_shared, office, "dispensing", true)
        .await;
    for (patient, reason) in [
        (&taper, "completed_taper"),
        (&transferred, "transferred"),
        (&not_shared, "voluntary_discharge"),
    ] {
        let (status, body) = app
            .post_json(
                &w.lege,
                &format!("/api/v1/patients/{patient}/end"),
                &json!({"ended_on": start_day().to_string(), "reason": reason}),
            )
            .await;
        assert_eq!(status, StatusCode::OK, "{body}");
    }
    let sent = app.flushed_dialogs().await;
    assert_eq!(sent.len(), 2, "{sent:?}");
    for (n, words) in [
        (611, "høy risiko for overdose"),
        (612, "Overført til annen enhet"),
    ] {
        let fnr = crate::helpers::national_id(n);
        let xml = sent
            .iter()
            .find(|x| x.contains(&fnr))
            .unwrap_or_else(|| panic!("the end of {n} is sent: {sent:?}"));
        assert!(xml.contains("LAR avsluttet") && xml.contains(words), "{xml}");
    }
    for patient in [&taper, &transferred] {
        let log = app.audit_of(patient).await;
        let disclosure = log.iter().find(|e| e.relation == "edi+consent").expect("audited");
        assert_eq!(
            disclosure.actor_id,
            w.lege.id.to_string(),
            "the doctor who ended it"
        );
        assert!(disclosure.detail.contains("end_of_lar"), "{disclosure:?}");
    }
    // Inside Samhand the units are told with the new kind too.
    let (_, inbox) = app.get_json(&w.utdeler, "/api/v1/inbox").await;
    let ends = inbox
        .as_array()
        .expect("inbox")
        .iter()
        .filter(|m| m["kind"] == json!("end_of_lar"))
        .count();
    assert_eq!(ends, 3, "{inbox}");
}
