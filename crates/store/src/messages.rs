//! Messages between services and between the team and the patient, their
//! recipients, and read receipts (per unit, and the patient's own).

use std::collections::HashMap;

use jiff::Timestamp;
use samhand_domain::ids::{MessageId, OrganisationId, PatientId, UserId};
use samhand_domain::message::{Message, MessageKind, Party, PatientReceipt, Receipt};
use sqlx::AnyConnection;
use sqlx::any::AnyRow;

use crate::PatientWrite;
use crate::codec::{corrupt, instant, int, micros, parsed, parsed_opt, text};
use crate::db::{Result, rows_for_ids, rows_for_patients};
use crate::native::{Fetch, FetchOn};

/// Writes a message about a patient with its recipients, in a write that holds an
/// access to that patient: one a person sends, or one Samhand sends on a person's
/// write (a signed dose change, a discharge). An automatic message whose event key
/// is already used is a `Conflict("messages_event_key_unique")`.
pub async fn insert(write: &mut PatientWrite, message: &Message) -> Result<()> {
    let conn = write.of(message.patient_id)?;
    insert_row(conn, message).await
}

/// Writes a notice Samhand sends by itself on the clock (a block from missed
/// doses, an appointment without an outcome), keyed to its event like
/// [`insert`]. Nobody writes it, so there is no person's access to record, and
/// it is read under the policy like any message. Only the scheduler's jobs
/// (`server::service::timed`) send one; a tidy test holds that.
pub async fn insert_notice(conn: &mut impl Fetch, message: &Message) -> Result<()> {
    insert_row(conn, message).await
}

async fn insert_row(conn: &mut impl Fetch, message: &Message) -> Result<()> {
    sqlx::query(
        "INSERT INTO messages (id, patient_id, kind, subject, body, important, sent_by, sender_organisation, sent_at, event_key, party, in_reply_to)
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12)",
    )
    .bind(message.id.to_string())
    .bind(message.patient_id.to_string())
    .bind(message.kind.code())
    .bind(&message.subject)
    .bind(&message.body)
    .bind(i64::from(message.important))
    .bind(message.sent_by.map(|u| u.to_string()))
    .bind(message.sender_organisation.map(|o| o.to_string()))
    .bind(micros(message.sent_at))
    .bind(message.event_key.clone())
    .bind(message.party.code())
    .bind(message.in_reply_to.map(|m| m.to_string()))
    .execute_on(&mut *conn)
    .await?;
    for recipient in &message.recipients {
        sqlx::query("INSERT INTO message_recipients (message_id, organisation_id) VALUES ($1, $2)")
            .bind(message.id.to_string())
            .bind(recipient.to_string())
            .execute_on(&mut *conn)
            .await?;
    }
    Ok(())
}

/// Whether an automatic message for this event was already sent.
pub async fn event_sent(conn: &mut AnyConnection, event_key: &str) -> Result<bool> {
    let row = sqlx::query("SELECT COUNT(*) AS n FROM messages WHERE event_key = $1")
        .bind(event_key)
        .fetch_one(conn)
        .await?;
    Ok(int(&row, "n")? > 0)
}

pub async fn insert_receipt(conn: &mut impl Fetch, receipt: &Receipt) -> Result<()> {
    sqlx::query("INSERT INTO message_receipts (message_id, organisation_id, read_by, read_at) VALUES ($1, $2, $3, $4)")
        .bind(receipt.message_id.to_string())
        .bind(receipt.organisation_id.to_string())
        .bind(receipt.read_by.to_string())
        .bind(micros(receipt.read_at))
        .execute_on(conn)
        .await?;
    Ok(())
}

const SELECT: &str = "SELECT m.id, m.patient_id, m.kind, m.subject, m.body, m.important, m.sent_by,
    m.sender_organisation, m.sent_at, m.event_key, m.party, m.in_reply_to FROM messages m";

fn from_row(row: &AnyRow) -> Result<Message> {
    let kind = text(row, "kind")?;
    let party = text(row, "party")?;
    Ok(Message {
        id: parsed(row, "id")?,
        patient_id: parsed(row, "patient_id")?,
        kind: MessageKind::from_code(&kind).ok_or_else(|| corrupt(format!("message kind {kind}")))?,
        subject: text(row, "subject")?,
        body: text(row, "body")?,
        important: int(row, "important")? != 0,
        sent_by: parsed_opt(row, "sent_by")?,
        sender_organisation: parsed_opt(row, "sender_organisation")?,
        sent_at: instant(row, "sent_at")?,
        recipients: Vec::new(),
        event_key: sqlx::Row::try_get(row, "event_key")?,
        party: Party::from_code(&party).ok_or_else(|| corrupt(format!("message party {party}")))?,
        in_reply_to: parsed_opt(row, "in_reply_to")?,
    })
}

/// Fills in the recipients of messages.
async fn with_recipients(conn: &mut AnyConnection, mut messages: Vec<Message>) -> Result<Vec<Message>> {
    if messages.is_empty() {
        return Ok(messages);
    }
    let mut by_message: HashMap<MessageId, Vec<OrganisationId>> = HashMap::new();
    let ids: Vec<String> = messages.iter().map(|m| m.id.to_string()).collect();
    let sql = "SELECT message_id, organisation_id FROM message_recipients WHERE message_id IN ({ids}) ORDER BY organisation_id";
    for row in rows_for_ids(conn, sql, &[], &ids).await? {
        by_message
            .entry(parsed(&row, "message_id")?)
            .or_default()
            .push(parsed(&row, "organisation_id")?);
    }
    for message in &mut messages {
        message.recipients = by_message.remove(&message.id).unwrap_or_default();
    }
    Ok(messages)
}

/// Every message about some patients, newest first.
pub async fn of_patients(conn: &mut AnyConnection, patients: &[PatientId]) -> Result<Vec<Message>> {
    let sql = format!("{SELECT} WHERE m.patient_id IN ({{ids}}) ORDER BY m.sent_at DESC, m.id DESC");
    let rows = rows_for_patients(conn, &sql, &[], patients).await?;
    let messages = rows.iter().map(from_row).collect::<Result<Vec<_>>>()?;
    with_recipients(conn, messages).await
}

/// The messages a unit received, newest first.
pub async fn inbox(
    conn: &mut AnyConnection,
    organisation: OrganisationId,
    limit: i64,
) -> Result<Vec<Message>> {
    let sql = format!(
        "{SELECT} JOIN message_recipients r ON r.message_id = m.id WHERE r.organisation_id = $1
         ORDER BY m.sent_at DESC, m.id DESC LIMIT $2"
    );
    let rows = sqlx::query(&sql)
        .bind(organisation.to_string())
        .bind(limit)
        .fetch_all(&mut *conn)
        .await?;
    let messages = rows.iter().map(from_row).collect::<Result<Vec<_>>>()?;
    with_recipients(conn, messages).await
}

pub async fn get(conn: &mut AnyConnection, id: MessageId) -> Result<Option<Message>> {
    let sql = format!("{SELECT} WHERE m.id = $1");
    let row = sqlx::query(&sql)
        .bind(id.to_string())
        .fetch_optional(&mut *conn)
        .await?;
    let Some(row) = row else {
        return Ok(None);
    };
    Ok(with_recipients(conn, vec![from_row(&row)?]).await?.pop())
}

/// The read receipts of some messages.
pub async fn receipts_of(conn: &mut impl Fetch, messages: &[MessageId]) -> Result<Vec<Receipt>> {
    let ids: Vec<String> = messages.iter().map(ToString::to_string).collect();
    let sql = "SELECT message_id, organisation_id, read_by, read_at FROM message_receipts WHERE message_id IN ({ids}) ORDER BY read_at";
    rows_for_ids(conn, sql, &[], &ids)
        .await?
        .iter()
        .map(|row| {
            Ok(Receipt {
                message_id: parsed(row, "message_id")?,
                organisation_id: parsed(row, "organisation_id")?,
                read_by: parsed(row, "read_by")?,
                read_at: instant(row, "read_at")?,
            })
        })
        .collect()
}

/// The patient's read receipt of a message from the team. A second one is a
/// `Conflict("message_patient_receipts_once")`.
pub async fn insert_patient_receipt(
    conn: &mut impl Fetch,
    message: MessageId,
    patient: PatientId,
    account: UserId,
    at: Timestamp,
) -> Result<()> {
    sqlx::query(
        "INSERT INTO message_patient_receipts (message_id, patient_id, read_by, read_at) VALUES ($1, $2, $3, $4)",
    )
    .bind(message.to_string())
    .bind(patient.to_string())
    .bind(account.to_string())
    .bind(micros(at))
    .execute_on(conn)
    .await?;
    Ok(())
}

/// The patients' read receipts of some messages.
pub async fn patient_receipts_of(
    conn: &mut impl Fetch,
    messages: &[MessageId],
) -> Result<Vec<PatientReceipt>> {
    let ids: Vec<String> = messages.iter().map(ToString::to_string).collect();
    let sql = "SELECT message_id, read_at FROM message_patient_receipts WHERE message_id IN ({ids})";
    rows_for_ids(conn, sql, &[], &ids)
        .await?
        .iter()
        .map(|row| {
            Ok(PatientReceipt {
                message_id: parsed(row, "message_id")?,
                read_at: instant(row, "read_at")?,
            })
        })
        .collect()
}
