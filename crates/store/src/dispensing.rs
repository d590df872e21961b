//! Dispensing events and the scheduled doses they cover. The unique constraint
//! `dispensed_doses_once` makes a second recording of a dose fail in the database.

use jiff::Timestamp;
use jiff::civil::Date;
use samhand_domain::dispensing::RecordedDose;
use samhand_domain::dose::Dose;
use samhand_domain::ids::{DispensingId, DoseOrderId, OrganisationId, PatientId, UserId};
use samhand_domain::schedule::{DoseKey, IntakeMode};
use samhand_domain::substance::Substance;
use sqlx::AnyConnection;
use sqlx::any::AnyRow;

use crate::codec::{corrupt, date_text, dose, dose_ug, instant, int, micros, parsed, text};
use crate::db::rows_for_patients;
use crate::db::{Result, classify};

/// One recording at the window, as stored.
#[derive(Debug, Clone)]
pub struct DispensingEvent {
    pub id: DispensingId,
    pub idempotency_key: String,
    pub patient_id: PatientId,
    pub place_id: OrganisationId,
    pub day: Date,
    pub outcome: String,
    pub reason: Option<String>,
    pub identity_confirmed_by: UserId,
    pub recorded_by: UserId,
    pub recorded_at: Timestamp,
}

/// One scheduled dose as recorded, with what it belonged to.
#[derive(Debug, Clone)]
pub struct DispensedDose {
    pub event_id: DispensingId,
    pub patient_id: PatientId,
    pub key: DoseKey,
    pub mode: IntakeMode,
    pub substance: Substance,
    pub order_id: DoseOrderId,
    pub amount: Dose,
    pub ordered: Dose,
    /// From the event.
    pub outcome: String,
    pub place_id: OrganisationId,
    pub recorded_at: Timestamp,
    pub recorded_by: UserId,
}

pub fn mode_code(mode: IntakeMode) -> &'static str {
    match mode {
        IntakeMode::Supervised => "supervised",
        IntakeMode::TakeHome => "take_home",
        IntakeMode::Injection => "injection",
    }
}

fn mode_from_code(code: &str) -> Result<IntakeMode> {
    match code {
        "supervised" => Ok(IntakeMode::Supervised),
        "take_home" => Ok(IntakeMode::TakeHome),
        "injection" => Ok(IntakeMode::Injection),
        other => Err(corrupt(format!("mode {other}"))),
    }
}

const EVENT_COLUMNS: &str = "id, idempotency_key, patient_id, place_id, day, outcome, reason, identity_confirmed_by, recorded_by, recorded_at";

fn event_from_row(row: &AnyRow) -> Result<DispensingEvent> {
    Ok(DispensingEvent {
        id: parsed(row, "id")?,
        idempotency_key: text(row, "idempotency_key")?,
        patient_id: parsed(row, "patient_id")?,
        place_id: parsed(row, "place_id")?,
        day: parsed(row, "day")?,
        outcome: text(row, "outcome")?,
        reason: sqlx::Row::try_get(row, "reason")?,
        identity_confirmed_by: parsed(row, "identity_confirmed_by")?,
        recorded_by: parsed(row, "recorded_by")?,
        recorded_at: instant(row, "recorded_at")?,
    })
}

/// Writes the event and its doses (in the caller's transaction). A dose recorded
/// before, or a reused idempotency key, fails with [`crate::StoreError::Conflict`].
pub async fn insert(
    conn: &mut AnyConnection,
    event: &DispensingEvent,
    doses: &[RecordedDose],
    substance: Substance,
    order_ids: &[DoseOrderId],
) -> Result<()> {
    sqlx::query(&format!(
        "INSERT INTO dispensing_events ({EVENT_COLUMNS}) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10)"
    ))
    .bind(event.id.to_string())
    .bind(&event.idempotency_key)
    .bind(event.patient_id.to_string())
    .bind(event.place_id.to_string())
    .bind(date_text(event.day))
    .bind(&event.outcome)
    .bind(event.reason.clone())
    .bind(event.identity_confirmed_by.to_string())
    .bind(event.recorded_by.to_string())
    .bind(micros(event.recorded_at))
    .execute(&mut *conn)
    .await
    .map_err(classify)?;
    for (recorded, order_id) in doses.iter().zip(order_ids) {
        sqlx::query(
            "INSERT INTO dispensed_doses (event_id, patient_id, dose_date, part, mode, substance, order_id, amount_ug, ordered_ug)
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9)",
        )
        .bind(event.id.to_string())
        .bind(event.patient_id.to_string())
        .bind(date_text(recorded.key.date))
        .bind(i64::from(recorded.key.part))
        .bind(mode_code(recorded.mode))
        .bind(substance.code())
        .bind(order_id.to_string())
        .bind(dose_ug(recorded.amount))
        .bind(dose_ug(recorded.ordered))
        .execute(&mut *conn)
        .await
        .map_err(classify)?;
    }
    Ok(())
}

pub async fn event_by_key(conn: &mut AnyConnection, key: &str) -> Result<Option<DispensingEvent>> {
    let row = sqlx::query(&format!(
        "SELECT {EVENT_COLUMNS} FROM dispensing_events WHERE idempotency_key = $1"
    ))
    .bind(key)
    .fetch_optional(conn)
    .await?;
    row.as_ref().map(event_from_row).transpose()
}

pub async fn event_of(conn: &mut AnyConnection, id: DispensingId) -> Result<Option<DispensingEvent>> {
    let row = sqlx::query(&format!(
        "SELECT {EVENT_COLUMNS} FROM dispensing_events WHERE id = $1"
    ))
    .bind(id.to_string())
    .fetch_optional(conn)
    .await?;
    row.as_ref().map(event_from_row).transpose()
}

const DOSE_SELECT: &str =
    "SELECT d.event_id, d.patient_id, d.dose_date, d.part, d.mode, d.substance, d.order_id,
    d.amount_ug, d.ordered_ug, e.outcome, e.place_id, e.recorded_at, e.recorded_by
    FROM dispensed_doses d JOIN dispensing_events e ON e.id = d.event_id";

fn dose_from_row(row: &AnyRow) -> Result<DispensedDose> {
    let substance = text(row, "substance")?;
    Ok(DispensedDose {
        event_id: parsed(row, "event_id")?,
        patient_id: parsed(row, "patient_id")?,
        key: DoseKey {
            date: parsed(row, "dose_date")?,
            part: u8::try_from(int(row, "part")?).map_err(corrupt)?,
        },
        mode: mode_from_code(&text(row, "mode")?)?,
        substance: Substance::from_code(&substance)
            .ok_or_else(|| corrupt(format!("substance {substance}")))?,
        order_id: parsed(row, "order_id")?,
        amount: dose(row, "amount_ug")?,
        ordered: dose(row, "ordered_ug")?,
        outcome: text(row, "outcome")?,
        place_id: parsed(row, "place_id")?,
        recorded_at: instant(row, "recorded_at")?,
        recorded_by: parsed(row, "recorded_by")?,
    })
}

/// The doses recorded for an event (what a retried request gets back).
pub async fn doses_of_event(conn: &mut AnyConnection, event: DispensingId) -> Result<Vec<DispensedDose>> {
    let rows = sqlx::query(&format!(
        "{DOSE_SELECT} WHERE d.event_id = $1 ORDER BY d.dose_date, d.part"
    ))
    .bind(event.to_string())
    .fetch_all(conn)
    .await?;
    rows.iter().map(dose_from_row).collect()
}

/// Recorded doses of some patients for dose dates in [from, to].
pub async fn doses_of(
    conn: &mut AnyConnection,
    patients: &[PatientId],
    from: Date,
    to: Date,
) -> Result<Vec<DispensedDose>> {
    let sql = format!(
        "{DOSE_SELECT} WHERE d.dose_date >= $1 AND d.dose_date <= $2 AND d.patient_id IN ({{ids}}) ORDER BY d.dose_date, d.part"
    );
    let rows = rows_for_patients(conn, &sql, &[date_text(from), date_text(to)], patients).await?;
    rows.iter().map(dose_from_row).collect()
}
