//! Receiving EDI (issue 18): the files in the inbox are read and answered, each
//! exactly once (see [`crate::edi`]). An application receipt for a message Samhand
//! sent is recorded against it; a file that cannot be read, or that lacks what the
//! standard requires, is answered with an error receipt (AppRec with the standard
//! code) in the outbox. A Dialogmelding for a unit of Samhand (by HER-id) lands in
//! its inbox, linked to the patient, when its fødselsnummer names a patient in LAR
//! with the name written, and is answered OK; otherwise it waits on the unit's list
//! to resolve, never linked silently ([`edi::placement`], H84), and is answered
//! when resolved (an error receipt when it cannot be placed).

use samhand_domain::edi::{
    self, AppRec, AppRecError, EdiParty, Inbound, InboxOutcome, Original, Rejection, read_message,
};
use samhand_domain::ids::{MessageId, OrganisationId, PatientId};
use samhand_domain::message::{Message, MessageKind, Party};
use samhand_store::StoreError;
use samhand_store::edi::{self as store, InboxFileRecord, ReceiptRecord};
use samhand_store::{messages as message_store, patients};

use crate::AppState;
use crate::edi::{EdiDirs, InboxFile};
use crate::error::{AppError, AppResult};

fn io(what: &str, e: std::io::Error) -> AppError {
    AppError::Internal(format!("EDI {what}: {e}"))
}

/// Processes the files waiting in the inbox; the number dealt with.
pub async fn process_inbox(state: &AppState) -> AppResult<u64> {
    let dirs = state.config.edi_dirs();
    let listing = dirs.clone();
    let files = tokio::task::spawn_blocking(move || listing.waiting())
        .await
        .map_err(|e| AppError::Internal(format!("EDI inbox: {e}")))?
        .map_err(|e| io("inbox", e))?;
    let mut done = 0;
    for file in files {
        let known = {
            let mut conn = state.store.read().await?;
            store::processed(&mut conn, &file.hash).await?
        };
        // Recorded but still here: the server stopped between the commit and the
        // move. It is moved, not processed again.
        let outcome = match known {
            Some(outcome) => Some(outcome),
            None => process_file(state, &dirs, &file).await?,
        };
        if let Some(outcome) = outcome {
            dirs.done(&file, outcome).map_err(|e| io("inbox", e))?;
            done += 1;
        }
    }
    Ok(done)
}

/// The receipt refusing a message, for the rejection's sender.
fn error_receipt(state: &AppState, file: &InboxFile, rejection: &Rejection) -> String {
    let now = state.clock.now();
    let original = rejection.original.clone().unwrap_or_else(|| Original {
        msg_type: "ukjent".into(),
        issued: now,
        msg_id: file.name.clone(),
    });
    edi::apprec(&AppRec {
        id: uuid::Uuid::now_v7(),
        generated: now,
        sender: rejection.receiver.clone(),
        receiver: rejection.sender.clone(),
        original,
        errors: vec![(rejection.error, rejection.detail.clone())],
    })
}

/// Reads one new file and records it; where it goes, or None to leave it.
async fn process_file(state: &AppState, dirs: &EdiDirs, file: &InboxFile) -> AppResult<Option<InboxOutcome>> {
    let read = std::str::from_utf8(&file.bytes)
        .map_err(|e| {
            Box::new(Rejection {
                error: AppRecError::NotXml,
                detail: format!("ikke UTF-8: {e}"),
                original: None,
                sender: None,
                receiver: None,
            })
        })
        .and_then(read_message);
    let now = state.clock.now();
    let read = match read {
        Ok(Inbound::Dialog(dialog)) => match receiver_of(state, &dialog).await? {
            Ok(receiver) => Ok((dialog, receiver)),
            Err(rejection) => Err(rejection),
        }
        .map(|(dialog, receiver)| Received::Dialog(dialog, receiver)),
        Ok(Inbound::AppRec(receipt)) => Ok(Received::AppRec(receipt)),
        Err(rejection) => Err(rejection),
    };
    let mut tx = state.store.write().await?;
    let (outcome, msg_id) = match read {
        Ok(Received::Dialog(dialog, receiver)) => {
            if let Some(receipt) = place_dialog(state, &mut tx, &dialog, receiver).await? {
                write_receipt(dirs, &format!("apprec-{}", &file.hash[..16]), receipt).await?;
            }
            (InboxOutcome::Processed, Some(dialog.msg_id.clone()))
        }
        Ok(Received::AppRec(receipt)) => {
            let errors: Vec<String> = receipt.errors.iter().map(|(c, t)| format!("{c}: {t}")).collect();
            let record = ReceiptRecord {
                receipt_id: receipt.id.clone(),
                original_msg_id: receipt.original_msg_id.clone(),
                ok: receipt.ok,
                errors: errors.join("\n"),
                received_at: now,
            };
            store::record_receipt(&mut tx, &record).await?;
            (InboxOutcome::Processed, Some(receipt.id))
        }
        Err(rejection) => {
            // Written before the commit under a name fixed by the file, so a run
            // that fails to commit and is repeated writes the same receipt file.
            let receipt = error_receipt(state, file, &rejection);
            write_receipt(dirs, &format!("apprec-{}", &file.hash[..16]), receipt).await?;
            tracing::warn!(
                file = file.name,
                code = rejection.error.code(),
                detail = rejection.detail,
                "EDI message refused"
            );
            (InboxOutcome::Rejected, rejection.original.map(|o| o.msg_id))
        }
    };
    let record = InboxFileRecord {
        file_hash: file.hash.clone(),
        file_name: file.name.clone(),
        msg_id,
        outcome,
        processed_at: now,
    };
    match store::record_processed(&mut tx, &record).await {
        // Another run recorded it first: it moves the file.
        Err(StoreError::Conflict(_)) => return Ok(None),
        other => other?,
    }
    tx.commit().await?;
    Ok(Some(outcome))
}

/// A message read and addressed to a unit of Samhand, or a receipt.
enum Received {
    Dialog(Box<edi::ReceivedDialog>, OrganisationId),
    AppRec(edi::ReceivedAppRec),
}

/// Writes a receipt to the outbox under a name fixed by what it answers, so that a
/// repeated run writes the same file.
pub(super) async fn write_receipt(dirs: &EdiDirs, name: &str, receipt: String) -> AppResult<()> {
    let out = dirs.clone();
    let name = name.to_string();
    tokio::task::spawn_blocking(move || out.write_out(&name, &receipt))
        .await
        .map_err(|e| AppError::Internal(format!("EDI outbox: {e}")))?
        .map_err(|e| io("outbox", e))?;
    Ok(())
}

/// The unit of Samhand a Dialogmelding is addressed to, by HER-id, or the rejection
/// of a message for an address Samhand does not have.
async fn receiver_of(
    state: &AppState,
    dialog: &edi::ReceivedDialog,
) -> AppResult<Result<OrganisationId, Box<Rejection>>> {
    let mut conn = state.store.read().await?;
    let found = store::organisation_by_her_id(&mut conn, dialog.receiver.her_id.as_str()).await?;
    Ok(found.ok_or_else(|| {
        Box::new(Rejection {
            error: AppRecError::UnknownReceiver,
            detail: format!(
                "Ingen enhet i Samhand har HER-id {}",
                dialog.receiver.her_id.as_str()
            ),
            original: Some(original_of(dialog)),
            sender: Some(dialog.sender.clone()),
            receiver: Some(dialog.receiver.clone()),
        })
    }))
}

fn original_of(dialog: &edi::ReceivedDialog) -> Original {
    Original {
        msg_type: dialog.kind.code().to_string(),
        issued: dialog.generated,
        msg_id: dialog.msg_id.clone(),
    }
}

/// The receipt answering a received Dialogmelding: OK, or refused with `error`.
pub(super) fn dialog_receipt(
    now: jiff::Timestamp,
    dialog_sender: EdiParty,
    dialog_receiver: EdiParty,
    original: Original,
    error: Option<(AppRecError, String)>,
) -> String {
    edi::apprec(&AppRec {
        id: uuid::Uuid::now_v7(),
        generated: now,
        sender: Some(dialog_receiver),
        receiver: Some(dialog_sender),
        original,
        errors: error.into_iter().collect(),
    })
}

/// The message a received Dialogmelding becomes in the unit's inbox.
/// What a received Dialogmelding says, as the inbox shows it.
pub(super) struct Incoming<'a> {
    pub sender_name: &'a str,
    pub kind: edi::DialogKind,
    pub msg_id: &'a str,
    pub topic: &'a str,
    pub text: &'a str,
}

/// The message a received Dialogmelding becomes in the unit's inbox: one per
/// received message (its event key).
pub(super) fn inbox_message(
    patient: PatientId,
    receiver: OrganisationId,
    sender: Option<OrganisationId>,
    incoming: &Incoming<'_>,
    at: jiff::Timestamp,
) -> Message {
    let name = incoming.sender_name;
    Message {
        id: MessageId::new(),
        patient_id: patient,
        kind: MessageKind::FreeText,
        subject: format!("{} fra {name}: {}", incoming.kind.label(), incoming.topic),
        body: format!("{}\n\n(Mottatt som EDI-melding fra {name}.)", incoming.text),
        important: incoming.kind == edi::DialogKind::Foresporsel,
        sent_by: None,
        sender_organisation: sender,
        sent_at: at,
        recipients: vec![receiver],
        event_key: Some(format!("edi:{}", incoming.msg_id)),
        party: Party::Services,
        in_reply_to: None,
    }
}

/// Links a Dialogmelding to its patient and puts it in the receiving unit's inbox,
/// or holds it on the unit's list to resolve; the OK receipt to write when linked.
async fn place_dialog(
    state: &AppState,
    tx: &mut samhand_store::db::WriteTx,
    dialog: &edi::ReceivedDialog,
    receiver: OrganisationId,
) -> AppResult<Option<String>> {
    let now = state.clock.now();
    let (found, in_lar, sender_org) = {
        let mut conn = state.store.read().await?;
        let found = match edi::named_number(dialog.patient.as_ref()) {
            Some(number) => patients::by_national_id(&mut conn, &number).await?,
            None => None,
        };
        let in_lar = match &found {
            Some(p) => !patients::episodes(&mut conn, p.id).await?.is_empty(),
            None => false,
        };
        let sender_org = store::organisation_by_her_id(&mut conn, dialog.sender.her_id.as_str()).await?;
        (found, in_lar, sender_org)
    };
    match (
        edi::placement(dialog.patient.as_ref(), found.as_ref(), in_lar),
        found,
    ) {
        (Ok(()), Some(patient)) => {
            let incoming = Incoming {
                sender_name: &dialog.sender.name,
                kind: dialog.kind,
                msg_id: &dialog.msg_id,
                topic: &dialog.topic,
                text: &dialog.text,
            };
            let message = inbox_message(patient.id, receiver, sender_org, &incoming, now);
            match message_store::insert_notice(tx, &message).await {
                // Linked already by an earlier run that did not finish: answered again.
                Err(StoreError::Conflict(_)) => {}
                other => other?,
            }
            Ok(Some(dialog_receipt(
                now,
                dialog.sender.clone(),
                dialog.receiver.clone(),
                original_of(dialog),
                None,
            )))
        }
        (placed, _) => {
            let reason = placed.err().unwrap_or(edi::Unplaced::UnknownPatient);
            let written = dialog.patient.clone().unwrap_or(edi::ReceivedPatient {
                national_id: None,
                family_name: String::new(),
                given_name: String::new(),
            });
            let record = store::UnplacedRecord {
                msg_id: dialog.msg_id.clone(),
                receiver_id: receiver,
                sender_name: dialog.sender.name.clone(),
                sender_her_id: dialog.sender.her_id.as_str().to_string(),
                msg_type: dialog.kind.code().to_string(),
                issued_at: dialog.generated,
                national_id: written.national_id.unwrap_or_default(),
                family_name: written.family_name,
                given_name: written.given_name,
                topic: dialog.topic.clone(),
                body: dialog.text.clone(),
                reason,
                received_at: now,
                resolution: None,
            };
            match store::insert_unplaced(tx, &record).await {
                Err(StoreError::Conflict(_)) => {}
                other => other?,
            }
            tracing::warn!(
                msg_id = dialog.msg_id,
                reason = reason.code(),
                "EDI message held: not linked to a patient"
            );
            Ok(None)
        }
    }
}
