//! Receiving EDI (issue 18): the files in the inbox are read and answered, each
//! exactly once (see [`crate::edi`]). An application receipt for a message Samhand
//! sent is recorded against it; a file that cannot be read, or that lacks what the
//! standard requires, is answered with an error receipt (AppRec with the standard
//! code) in the outbox. A readable Dialogmelding is left in the inbox untouched
//! until its patient can be linked by fødselsnummer (the next part of the issue),
//! so nothing is refused or lost meanwhile.

use samhand_domain::edi::{
    self, AppRec, AppRecError, Inbound, InboxOutcome, Original, Rejection, read_message,
};
use samhand_store::StoreError;
use samhand_store::edi::{self as store, InboxFileRecord, ReceiptRecord};

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
    let mut tx = state.store.write().await?;
    let (outcome, msg_id) = match read {
        Ok(Inbound::Dialog(_)) => return Ok(None),
        Ok(Inbound::AppRec(receipt)) => {
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
            let name = format!("apprec-{}", &file.hash[..16]);
            let out = dirs.clone();
            tokio::task::spawn_blocking(move || out.write_out(&name, &receipt))
                .await
                .map_err(|e| AppError::Internal(format!("EDI outbox: {e}")))?
                .map_err(|e| io("outbox", e))?;
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
