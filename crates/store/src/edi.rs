//! The EDI transport's bookkeeping (migration 0035): received files processed exactly
//! once, messages sent, and the application receipts that answered them.

use jiff::Timestamp;
use samhand_domain::edi::InboxOutcome;
use samhand_domain::ids::OrganisationId;
use sqlx::AnyConnection;
use sqlx::any::AnyRow;

use crate::codec::{corrupt, instant, micros, parsed, text};
use crate::db::Result;
use crate::native::{Fetch, FetchOn};

/// A received file that has been dealt with.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct InboxFileRecord {
    pub file_hash: String,
    pub file_name: String,
    pub msg_id: Option<String>,
    pub outcome: InboxOutcome,
    pub processed_at: Timestamp,
}

/// A message written to the outbox.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SentRecord {
    pub msg_id: String,
    pub msg_type: String,
    pub sender_id: OrganisationId,
    pub receiver_her_id: String,
    pub receiver_name: String,
    pub file_name: String,
    pub sent_at: Timestamp,
}

/// An application receipt received for a message Samhand sent.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ReceiptRecord {
    pub receipt_id: String,
    pub original_msg_id: String,
    pub ok: bool,
    /// «code: text», one a line.
    pub errors: String,
    pub received_at: Timestamp,
}

/// What became of the file with this hash, if it has been processed.
pub async fn processed(conn: &mut impl Fetch, file_hash: &str) -> Result<Option<InboxOutcome>> {
    let row = sqlx::query("SELECT outcome FROM edi_inbox_files WHERE file_hash = $1")
        .bind(file_hash)
        .fetch_optional_on(conn)
        .await?;
    row.map(|r| {
        let code = text(&r, "outcome")?;
        InboxOutcome::from_code(&code).ok_or_else(|| corrupt(format!("inbox outcome {code}")))
    })
    .transpose()
}

/// Records a processed file, in the transaction that stores what it said. A file
/// already recorded is a `Conflict("edi_inbox_files_once")`: the transaction is
/// then to be rolled back, since another run has processed it.
pub async fn record_processed(conn: &mut impl Fetch, file: &InboxFileRecord) -> Result<()> {
    sqlx::query(
        "INSERT INTO edi_inbox_files (file_hash, file_name, msg_id, outcome, processed_at)
         VALUES ($1, $2, $3, $4, $5)",
    )
    .bind(&file.file_hash)
    .bind(&file.file_name)
    .bind(file.msg_id.as_deref())
    .bind(file.outcome.code())
    .bind(micros(file.processed_at))
    .execute_on(conn)
    .await?;
    Ok(())
}

pub async fn record_sent(conn: &mut impl Fetch, sent: &SentRecord) -> Result<()> {
    sqlx::query(
        "INSERT INTO edi_sent (msg_id, msg_type, sender_id, receiver_her_id, receiver_name, file_name, sent_at)
         VALUES ($1, $2, $3, $4, $5, $6, $7)",
    )
    .bind(&sent.msg_id)
    .bind(&sent.msg_type)
    .bind(sent.sender_id.to_string())
    .bind(&sent.receiver_her_id)
    .bind(&sent.receiver_name)
    .bind(&sent.file_name)
    .bind(micros(sent.sent_at))
    .execute_on(conn)
    .await?;
    Ok(())
}

pub async fn record_receipt(conn: &mut impl Fetch, receipt: &ReceiptRecord) -> Result<()> {
    sqlx::query(
        "INSERT INTO edi_receipts (receipt_id, original_msg_id, ok, errors, received_at)
         VALUES ($1, $2, $3, $4, $5)",
    )
    .bind(&receipt.receipt_id)
    .bind(&receipt.original_msg_id)
    .bind(i64::from(receipt.ok))
    .bind(&receipt.errors)
    .bind(micros(receipt.received_at))
    .execute_on(conn)
    .await?;
    Ok(())
}

fn sent_from_row(row: &AnyRow) -> Result<SentRecord> {
    Ok(SentRecord {
        msg_id: text(row, "msg_id")?,
        msg_type: text(row, "msg_type")?,
        sender_id: parsed(row, "sender_id")?,
        receiver_her_id: text(row, "receiver_her_id")?,
        receiver_name: text(row, "receiver_name")?,
        file_name: text(row, "file_name")?,
        sent_at: instant(row, "sent_at")?,
    })
}

/// Messages sent before `sent_before` that no receipt has answered, oldest first:
/// the ones to flag (the policy's time without receipt has passed).
pub async fn unanswered(conn: &mut AnyConnection, sent_before: Timestamp) -> Result<Vec<SentRecord>> {
    let rows = sqlx::query(
        "SELECT s.msg_id, s.msg_type, s.sender_id, s.receiver_her_id, s.receiver_name, s.file_name, s.sent_at
         FROM edi_sent s
         WHERE s.sent_at < $1
           AND NOT EXISTS (SELECT 1 FROM edi_receipts r WHERE r.original_msg_id = s.msg_id)
         ORDER BY s.sent_at",
    )
    .bind(micros(sent_before))
    .fetch_all(conn)
    .await?;
    rows.iter().map(sent_from_row).collect()
}

/// A message queued for a service outside Samhand, in the transaction of the event
/// it tells of.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Outgoing {
    pub patient_id: samhand_domain::ids::PatientId,
    /// The Samhand message it carries.
    pub message_id: samhand_domain::ids::MessageId,
    pub organisation_id: OrganisationId,
    pub sent: SentRecord,
    pub xml: String,
}

/// Queues a message and records it as sent, in the event's write; the same message
/// to the same organisation twice is a `Conflict`.
pub async fn queue_outgoing(write: &mut crate::PatientWrite, out: &Outgoing) -> Result<()> {
    let conn = write.of(out.patient_id)?;
    sqlx::query(
        "INSERT INTO edi_outbox (msg_id, patient_id, message_id, organisation_id, file_name, xml, queued_at)
         VALUES ($1, $2, $3, $4, $5, $6, $7)",
    )
    .bind(&out.sent.msg_id)
    .bind(out.patient_id.to_string())
    .bind(out.message_id.to_string())
    .bind(out.organisation_id.to_string())
    .bind(&out.sent.file_name)
    .bind(&out.xml)
    .bind(micros(out.sent.sent_at))
    .execute_on(&mut *conn)
    .await?;
    record_sent(conn, &out.sent).await
}

/// Queued messages not yet written to the outbox: (msg_id, file name, XML), oldest
/// first.
pub async fn unwritten(conn: &mut AnyConnection) -> Result<Vec<(String, String, String)>> {
    let rows = sqlx::query(
        "SELECT o.msg_id, o.file_name, o.xml FROM edi_outbox o
         LEFT JOIN edi_outbox_written w ON w.msg_id = o.msg_id
         WHERE w.msg_id IS NULL ORDER BY o.queued_at, o.msg_id",
    )
    .fetch_all(conn)
    .await?;
    rows.iter()
        .map(|row| Ok((text(row, "msg_id")?, text(row, "file_name")?, text(row, "xml")?)))
        .collect()
}

/// Marks a queued message written to the outbox; marking it again changes nothing.
pub async fn mark_written(conn: &mut impl Fetch, msg_id: &str, at: Timestamp) -> Result<()> {
    let done = sqlx::query("SELECT msg_id FROM edi_outbox_written WHERE msg_id = $1")
        .bind(msg_id)
        .fetch_optional_on(&mut *conn)
        .await?;
    if done.is_none() {
        sqlx::query("INSERT INTO edi_outbox_written (msg_id, written_at) VALUES ($1, $2)")
            .bind(msg_id)
            .bind(micros(at))
            .execute_on(conn)
            .await?;
    }
    Ok(())
}

/// The organisation with this HER-id, if any.
pub async fn organisation_by_her_id(
    conn: &mut AnyConnection,
    her_id: &str,
) -> Result<Option<OrganisationId>> {
    let row = sqlx::query("SELECT id FROM organisations WHERE her_id = $1")
        .bind(her_id)
        .fetch_optional(conn)
        .await?;
    row.map(|r| parsed(&r, "id")).transpose()
}

/// A received Dialogmelding not linked to a patient, for the receiving unit.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct UnplacedRecord {
    pub msg_id: String,
    pub receiver_id: OrganisationId,
    pub sender_name: String,
    pub sender_her_id: String,
    pub msg_type: String,
    pub issued_at: Timestamp,
    pub national_id: String,
    pub family_name: String,
    pub given_name: String,
    pub topic: String,
    pub body: String,
    pub reason: samhand_domain::edi::Unplaced,
    pub received_at: Timestamp,
    /// How it was resolved (linked or refused), by whom and when; `None` while open.
    pub resolution: Option<(String, samhand_domain::ids::UserId, Timestamp)>,
}

pub async fn insert_unplaced(conn: &mut impl Fetch, r: &UnplacedRecord) -> Result<()> {
    sqlx::query(
        "INSERT INTO edi_unplaced (msg_id, receiver_id, sender_name, sender_her_id, msg_type, issued_at, national_id,
            family_name, given_name, topic, body, reason, received_at)
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13)",
    )
    .bind(&r.msg_id)
    .bind(r.receiver_id.to_string())
    .bind(&r.sender_name)
    .bind(&r.sender_her_id)
    .bind(&r.msg_type)
    .bind(micros(r.issued_at))
    .bind(&r.national_id)
    .bind(&r.family_name)
    .bind(&r.given_name)
    .bind(&r.topic)
    .bind(&r.body)
    .bind(r.reason.code())
    .bind(micros(r.received_at))
    .execute_on(conn)
    .await?;
    Ok(())
}

fn unplaced_from_row(row: &AnyRow) -> Result<UnplacedRecord> {
    let outcome: Option<String> = sqlx::Row::try_get(row, "outcome")?;
    let resolution = match outcome {
        Some(outcome) => Some((outcome, parsed(row, "resolved_by")?, instant(row, "resolved_at")?)),
        None => None,
    };
    Ok(UnplacedRecord {
        msg_id: text(row, "msg_id")?,
        receiver_id: parsed(row, "receiver_id")?,
        sender_name: text(row, "sender_name")?,
        sender_her_id: text(row, "sender_her_id")?,
        msg_type: text(row, "msg_type")?,
        issued_at: instant(row, "issued_at")?,
        national_id: text(row, "national_id")?,
        family_name: text(row, "family_name")?,
        given_name: text(row, "given_name")?,
        topic: text(row, "topic")?,
        body: text(row, "body")?,
        reason: crate::codec::coded(row, "reason")?,
        received_at: instant(row, "received_at")?,
        resolution,
    })
}

const UNPLACED: &str =
    "SELECT u.msg_id, u.receiver_id, u.sender_name, u.sender_her_id, u.msg_type, u.issued_at,
    u.national_id, u.family_name, u.given_name, u.topic, u.body, u.reason, u.received_at,
    r.outcome, r.resolved_by, r.resolved_at
    FROM edi_unplaced u LEFT JOIN edi_unplaced_resolutions r ON r.msg_id = u.msg_id";

/// The unit's received messages not linked to a patient, newest first.
pub async fn unplaced_for(conn: &mut AnyConnection, receiver: OrganisationId) -> Result<Vec<UnplacedRecord>> {
    let rows = sqlx::query(&format!(
        "{UNPLACED} WHERE u.receiver_id = $1 ORDER BY u.received_at DESC, u.msg_id"
    ))
    .bind(receiver.to_string())
    .fetch_all(conn)
    .await?;
    rows.iter().map(unplaced_from_row).collect()
}

pub async fn unplaced(conn: &mut AnyConnection, msg_id: &str) -> Result<Option<UnplacedRecord>> {
    let row = sqlx::query(&format!("{UNPLACED} WHERE u.msg_id = $1"))
        .bind(msg_id)
        .fetch_optional(conn)
        .await?;
    row.as_ref().map(unplaced_from_row).transpose()
}

/// Resolves an unplaced message (`linked` or `refused`); resolving it twice is a
/// `Conflict`.
pub async fn resolve_unplaced(
    conn: &mut impl Fetch,
    msg_id: &str,
    outcome: &str,
    by: samhand_domain::ids::UserId,
    at: Timestamp,
) -> Result<()> {
    sqlx::query("INSERT INTO edi_unplaced_resolutions (msg_id, outcome, resolved_by, resolved_at) VALUES ($1, $2, $3, $4)")
        .bind(msg_id)
        .bind(outcome)
        .bind(by.to_string())
        .bind(micros(at))
        .execute_on(conn)
        .await?;
    Ok(())
}
