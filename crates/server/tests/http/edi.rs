//! Received EDI through the inbox directory (issue 18): a malformed message gets an
//! error AppRec in the outbox that validates against the official schemas, a
//! receipt for a sent message is recorded, a Dialogmelding waits for patient
//! linking, and a restart (a new server over the same database and directories)
//! processes nothing twice.

use std::path::{Path, PathBuf};
use std::process::Command;

use samhand_server::{AppState, Config};
use samhand_store::Store;

use crate::helpers::{TestApp, spawn_app};

pub(crate) fn files(dir: &Path) -> Vec<PathBuf> {
    let mut found: Vec<PathBuf> = std::fs::read_dir(dir)
        .map(|d| d.map(|e| e.unwrap().path()).filter(|p| p.is_file()).collect())
        .unwrap_or_default();
    found.sort();
    found
}

pub(crate) fn xmllint_validates(file: &Path) -> Result<(), String> {
    let schema = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../standards/kith-edi/edi-all.xsd");
    let out = Command::new("xmllint")
        .args(["--nonet", "--noout", "--schema"])
        .arg(schema)
        .arg(file)
        .output()
        .expect("xmllint must be installed (Debian package libxml2-utils)");
    out.status
        .success()
        .then_some(())
        .ok_or_else(|| String::from_utf8_lossy(&out.stderr).into_owned())
}

/// A new server over the app's database and EDI directories, named by the
/// configuration keys the issue fixes.
async fn restarted(app: &TestApp) -> AppState {
    let dirs = app.state.config.edi_dirs();
    let (inbox, outbox) = (
        dirs.inbox.display().to_string(),
        dirs.outbox.display().to_string(),
    );
    let config = Config::from_lookup(|key| match key {
        "SAMHAND_COOKIE_SECURE" => Some("false".to_string()),
        "SAMHAND_EDI_INBOX" => Some(inbox.clone()),
        "SAMHAND_EDI_OUTBOX" => Some(outbox.clone()),
        _ => None,
    })
    .expect("config");
    let store = Store::connect(&app.database_url, 5).await.expect("connect");
    AppState::new(store, app.state.clock.clone(), config)
}

const APPREC_FOR_OURS: &str = r#"<?xml version="1.0" encoding="UTF-8"?>
<AppRec xmlns="http://www.kith.no/xmlstds/apprec/2012-02-15"><MsgType V="APPREC"/><MIGversion>v1.1 2012-02-15</MIGversion><GenDate>2026-03-02T09:16:00Z</GenDate><Id>r-1</Id><Sender><HCP><Inst><Name>Torget legekontor</Name><Id>8100042</Id></Inst></HCP></Sender><Receiver><HCP><Inst><Name>LAR</Name><Id>8100001</Id></Inst></HCP></Receiver><Status V="1" DN="OK"/><OriginalMsgId><MsgType V="DIALOG_NOTAT"/><IssueDate>2026-03-02T09:15:00Z</IssueDate><Id>m-1</Id></OriginalMsgId></AppRec>"#;

#[tokio::test]
async fn the_inbox_is_answered_once_and_a_malformed_message_gets_an_error_receipt() {
    let app = spawn_app().await;
    let dirs = app.state.config.edi_dirs();
    assert!(
        dirs.inbox.ends_with("edi/in") && dirs.outbox.ends_with("edi/out"),
        "{dirs:?}"
    );
    std::fs::create_dir_all(&dirs.inbox).unwrap();
    std::fs::write(dirs.inbox.join("1-ødelagt.xml"), "dette er ikke <xml").unwrap();
    std::fs::write(dirs.inbox.join("2-kvittering.xml"), APPREC_FOR_OURS).unwrap();

    let done = samhand_server::service::edi::process_inbox(&app.state)
        .await
        .expect("process");
    assert_eq!(done, 2);
    let out = files(&dirs.outbox);
    assert_eq!(out.len(), 1, "one error receipt, none for a receipt: {out:?}");
    let receipt = std::fs::read_to_string(&out[0]).unwrap();
    assert!(
        receipt.contains("<Status V=\"2\"") && receipt.contains("V=\"T01\""),
        "{receipt}"
    );
    xmllint_validates(&out[0]).unwrap_or_else(|e| panic!("{e}\n{receipt}"));
    assert_eq!(files(&dirs.inbox.join("rejected")).len(), 1);
    assert_eq!(files(&dirs.inbox.join("processed")).len(), 1);
    assert!(files(&dirs.inbox).is_empty());

    // The receipt answered m-1: it is not among the unanswered.
    let mut conn = app.state.store.read().await.unwrap();
    let count: i64 = sqlx::Row::get(
        &sqlx::query("SELECT COUNT(*) AS n FROM edi_receipts WHERE original_msg_id = 'm-1' AND ok = 1")
            .fetch_one(&mut *conn)
            .await
            .unwrap(),
        "n",
    );
    assert_eq!(count, 1);
    drop(conn);

    // A crash between the commit and the move leaves the same file in the inbox: a
    // restarted server moves it without answering or recording it again.
    let rejected = files(&dirs.inbox.join("rejected")).remove(0);
    std::fs::copy(&rejected, dirs.inbox.join("1-ødelagt.xml")).unwrap();
    std::fs::write(dirs.inbox.join("2-kvittering.xml"), APPREC_FOR_OURS).unwrap();
    std::fs::remove_file(&out[0]).unwrap();
    let again = restarted(&app).await;
    assert_eq!(again.config.edi_dirs(), dirs);
    samhand_server::service::edi::process_inbox(&again)
        .await
        .expect("process again");
    assert!(files(&dirs.outbox).is_empty(), "no second receipt");
    assert!(files(&dirs.inbox).is_empty());
    assert_eq!(
        files(&dirs.inbox.join("rejected")).len(),
        2,
        "kept beside the first"
    );
    let mut conn = again.store.read().await.unwrap();
    let receipts: i64 = sqlx::Row::get(
        &sqlx::query("SELECT COUNT(*) AS n FROM edi_receipts")
            .fetch_one(&mut *conn)
            .await
            .unwrap(),
        "n",
    );
    assert_eq!(receipts, 1, "the receipt is recorded once");
}

/// A Dialogmelding from a GP office to the LAR unit about a patient.
fn notat_about(app: &TestApp, fnr: &str, family: &str, text: &str) -> String {
    samhand_domain::edi::hodemelding(&samhand_domain::edi::Dialog {
        kind: samhand_domain::edi::DialogKind::Notat,
        msg_id: uuid::Uuid::new_v4(),
        generated: app.state.clock.now(),
        sender: party("Torget legekontor", "8100042"),
        receiver: party("LAR", "8100001"),
        patient: samhand_domain::edi::EdiPatient {
            family_name: family.into(),
            given_name: "Kari".into(),
            national_id: samhand_domain::national_id::NationalId::parse(fnr).unwrap(),
        },
        conversation: None,
        topic: "Til orientering".into(),
        text: text.into(),
    })
}

fn receipts(dir: &Path) -> Vec<String> {
    files(dir)
        .into_iter()
        .filter(|p| {
            p.file_name()
                .is_some_and(|n| n.to_string_lossy().starts_with("apprec-"))
        })
        .map(|p| {
            xmllint_validates(&p).expect("the receipt validates");
            std::fs::read_to_string(p).unwrap()
        })
        .collect()
}

#[tokio::test]
async fn a_dialogmelding_lands_in_the_units_inbox_linked_by_fodselsnummer_and_is_answered_ok_once() {
    let app = spawn_app().await;
    app.outside_gp_office().await;
    let dirs = app.state.config.edi_dirs();
    std::fs::create_dir_all(&dirs.inbox).unwrap();
    let patient = app.patient_on_daily_methadone(511).await;
    let fnr = crate::helpers::national_id(511);
    std::fs::write(
        dirs.inbox.join("notat.xml"),
        notat_about(&app, &fnr, "Testesen", "Hun har vært hos oss i dag."),
    )
    .unwrap();
    let done = samhand_server::service::edi::process_inbox(&app.state)
        .await
        .expect("process");
    assert_eq!(done, 1);
    let answered = receipts(&dirs.outbox);
    assert_eq!(answered.len(), 1);
    assert!(answered[0].contains(r#"<Status V="1""#), "OK: {}", answered[0]);
    // In the LAR unit's inbox, about the patient.
    let (_, inbox) = app.get_json(&app.world.lege, "/api/v1/inbox").await;
    let found: Vec<&serde_json::Value> = inbox
        .as_array()
        .expect("inbox")
        .iter()
        .filter(|m| m["patient"]["id"] == serde_json::json!(patient))
        .filter(|m| {
            m["subject"]
                .as_str()
                .is_some_and(|s| s.contains("Torget legekontor"))
        })
        .collect();
    assert_eq!(found.len(), 1, "{inbox}");
    // A restart processes nothing twice.
    let again = restarted(&app).await;
    assert_eq!(
        samhand_server::service::edi::process_inbox(&again)
            .await
            .expect("process"),
        0
    );
    assert_eq!(receipts(&dirs.outbox).len(), 1);
}

#[tokio::test]
async fn a_dialogmelding_for_a_patient_not_in_lar_or_another_name_is_held_not_linked_silently() {
    let app = spawn_app().await;
    app.outside_gp_office().await;
    let dirs = app.state.config.edi_dirs();
    std::fs::create_dir_all(&dirs.inbox).unwrap();
    let patient = app.patient_on_daily_methadone(521).await;
    let fnr = crate::helpers::national_id(521);
    let unknown = crate::helpers::national_id(529);
    std::fs::write(
        dirs.inbox.join("a.xml"),
        notat_about(&app, &fnr, "Hansen", "Feil navn?"),
    )
    .unwrap();
    std::fs::write(
        dirs.inbox.join("b.xml"),
        notat_about(&app, &unknown, "Olsen", "Ukjent"),
    )
    .unwrap();
    let done = samhand_server::service::edi::process_inbox(&app.state)
        .await
        .expect("process");
    assert_eq!(done, 2);
    assert!(
        receipts(&dirs.outbox).is_empty(),
        "no receipt before it is resolved"
    );
    let (_, inbox) = app.get_json(&app.world.lege, "/api/v1/inbox").await;
    assert!(
        !inbox.to_string().contains("Feil navn?") && !inbox.to_string().contains("Ukjent"),
        "nothing linked silently: {inbox}"
    );
    let (status, held) = app.get_json(&app.world.lege, "/api/v1/edi/unplaced").await;
    assert_eq!(status, reqwest::StatusCode::OK, "{held}");
    let held = held.as_array().expect("held").clone();
    assert_eq!(held.len(), 2, "{held:?}");
    let reason_of = |text: &str| {
        held.iter()
            .find(|m| m["text"].as_str() == Some(text))
            .map(|m| (m["reason"].clone(), m["msg_id"].as_str().unwrap().to_string()))
            .expect("held")
    };
    let (mismatch, mismatch_id) = reason_of("Feil navn?");
    let (unknown_reason, unknown_id) = reason_of("Ukjent");
    assert_eq!(mismatch, serde_json::json!("name_mismatch"));
    assert_eq!(unknown_reason, serde_json::json!("unknown_patient"));
    // Staff at another place cannot see or resolve them.
    let (_, theirs) = app.get_json(&app.world.utdeler, "/api/v1/edi/unplaced").await;
    assert_eq!(theirs, serde_json::json!([]));
    // The unit sees them from its inbox, on the EDI page.
    let lege = app.session_of("lege").await;
    let (_, html) = app.page(&lege, "/innboks").await;
    assert!(html.contains("2 mottatte til avklaring"), "{html}");
    let (status, html) = app.page(&lege, "/edi").await;
    assert_eq!(status, reqwest::StatusCode::OK);
    assert!(
        html.contains("Feil navn?") && html.contains("Navnet i meldingen stemmer ikke med fødselsnummeret"),
        "{html}"
    );

    // The unknown patient cannot be linked, only refused: an error receipt (E35).
    let link = |id: &str| format!("/api/v1/edi/unplaced/{id}/link");
    let refuse = |id: &str| format!("/api/v1/edi/unplaced/{id}/refuse");
    let (status, problem) = app
        .post_json(&app.world.lege, &link(&unknown_id), &serde_json::json!({}))
        .await;
    assert_eq!(status, reqwest::StatusCode::UNPROCESSABLE_ENTITY, "{problem}");
    let (status, _) = app
        .post_json(&app.world.lege, &refuse(&unknown_id), &serde_json::json!({}))
        .await;
    assert_eq!(status, reqwest::StatusCode::NO_CONTENT);
    let answered = receipts(&dirs.outbox);
    assert_eq!(answered.len(), 1);
    assert!(answered[0].contains("E35"), "{}", answered[0]);
    let (status, _) = app
        .post_json(&app.world.lege, &refuse(&unknown_id), &serde_json::json!({}))
        .await;
    assert_eq!(status, reqwest::StatusCode::CONFLICT);

    // The name mismatch, once checked, is linked by the unit: into the inbox.
    let (status, linked) = app
        .post_json(&app.world.lege, &link(&mismatch_id), &serde_json::json!({}))
        .await;
    assert_eq!(status, reqwest::StatusCode::OK, "{linked}");
    assert_eq!(linked["patient_id"], serde_json::json!(patient));
    let (_, inbox) = app.get_json(&app.world.lege, "/api/v1/inbox").await;
    assert!(inbox.to_string().contains("Feil navn?"), "{inbox}");
    assert_eq!(receipts(&dirs.outbox).len(), 2);
}

fn party(name: &str, her: &str) -> samhand_domain::edi::EdiParty {
    samhand_domain::edi::EdiParty {
        name: name.into(),
        her_id: samhand_domain::edi::HerId::parse(her).unwrap(),
    }
}

impl TestApp {
    /// A GP office outside Samhand (a HER-id, nobody working in Samhand), and the
    /// LAR unit's HER-id; the office's id.
    pub(crate) async fn outside_gp_office(&self) -> samhand_domain::ids::OrganisationId {
        use samhand_domain::organisation::{HerId, Organisation, OrganisationKind, Registration};
        let office = Organisation {
            id: samhand_domain::ids::OrganisationId::new(),
            name: "Torget legekontor".into(),
            kind: OrganisationKind::GpOffice,
            municipality: "Fjordvik".into(),
            open_on_public_holidays: false,
            open_weekdays: [true; 7],
            closed_days: Vec::new(),
        };
        let now = self.state.clock.now();
        let mut tx = self.state.store.write().await.expect("tx");
        samhand_store::organisations::insert(&mut tx, &office, now)
            .await
            .expect("office");
        for (org, her) in [(office.id, "8100042"), (self.world.unit, "8100001")] {
            let registration = Registration {
                her_id: Some(HerId::parse(her).expect("her")),
                ..Registration::default()
            };
            samhand_store::organisations::set_registration(&mut tx, org, &registration, now)
                .await
                .expect("registration");
        }
        tx.commit().await.expect("commit");
        office.id
    }

    async fn sign_dose_change(&self, patient: &str, mg: &str) {
        let from = crate::helpers::start_day();
        self.sign_methadone(patient, &[mg], from).await;
    }
}

pub(crate) fn dialogs(dir: &Path) -> Vec<PathBuf> {
    files(dir)
        .into_iter()
        .filter(|p| {
            p.file_name()
                .is_some_and(|n| n.to_string_lossy().starts_with("dialog-"))
        })
        .collect()
}

#[tokio::test]
async fn a_signed_dose_change_goes_by_edi_to_the_consented_gp_office_outside_samhand_and_validates() {
    let app = spawn_app().await;
    let w = &app.world;
    let office = app.outside_gp_office().await;
    let dirs = app.state.config.edi_dirs();
    let shared = app.patient_on_daily_methadone(501).await;
    let not_shared = app.patient_on_daily_methadone(502).await;
    let inside = app.patient_on_daily_methadone(503).await;
    app.consent(&w.lege, &shared, office, "medication", true).await;
    // The GP office in Samhand reads its messages there: no EDI to it.
    app.consent(&w.lege, &inside, w.gp_office, "medication", true)
        .await;
    // Consent to another category sends nothing for a dose change.
    app.consent(&w.lege, &not_shared, office, "health_information", true)
        .await;

    for patient in [&shared, &not_shared, &inside] {
        app.sign_dose_change(patient, "70").await;
    }
    let written = samhand_server::service::flush_outbox(&app.state)
        .await
        .expect("flush");
    assert_eq!(written, 1);
    let sent = dialogs(&dirs.outbox);
    assert_eq!(sent.len(), 1, "{sent:?}");
    xmllint_validates(&sent[0]).expect("the Hodemelding validates against the official schemas");
    let xml = std::fs::read_to_string(&sent[0]).unwrap();
    let fnr = crate::helpers::national_id(501);
    assert!(
        xml.contains(&fnr) && xml.contains("Torget legekontor") && xml.contains("8100042"),
        "{xml}"
    );
    assert!(xml.contains("DIALOG_NOTAT"), "{xml}");

    // Written once: a second run (or a restart) writes nothing again.
    assert_eq!(
        samhand_server::service::flush_outbox(&app.state)
            .await
            .expect("flush"),
        0
    );
    let again = restarted(&app).await;
    assert_eq!(
        samhand_server::service::flush_outbox(&again)
            .await
            .expect("flush"),
        0
    );
    assert_eq!(dialogs(&dirs.outbox).len(), 1);

    // The sending is in the patient's access log, as allowed by the consent.
    let mut conn = app.state.store.read().await.expect("conn");
    let log = samhand_store::audit::for_patient(&mut conn, shared.parse().expect("id"), 1000)
        .await
        .expect("log");
    assert!(
        log.iter()
            .any(|e| e.relation == "edi+consent" && e.detail.contains("Torget legekontor")),
        "the sending is audited"
    );
    let sent_rows = samhand_store::edi::unanswered(
        &mut conn,
        app.state.clock.now() + jiff::SignedDuration::from_secs(1),
    )
    .await
    .expect("sent");
    assert_eq!(sent_rows.len(), 1, "recorded as sent, awaiting its receipt");
}
