//! Health information for the window: versions of notes, append-only.

use samhand_domain::health::{HealthConditionKind, HealthNote};
use samhand_domain::ids::PatientId;
use sqlx::any::AnyRow;

use crate::PatientWrite;
use crate::codec::{corrupt, instant, int, micros, parsed, parsed_opt, text};
use crate::db::{Result, rows_for_patients};
use crate::native::{Fetch, FetchOn};

pub async fn insert(write: &mut PatientWrite, note: &HealthNote) -> Result<()> {
    let conn = write.of(note.patient_id)?;
    sqlx::query(
        "INSERT INTO health_notes (id, patient_id, kind, text, active, replaces, reason, recorded_by, recorded_at)
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9)",
    )
    .bind(note.id.to_string())
    .bind(note.patient_id.to_string())
    .bind(note.kind.code())
    .bind(&note.text)
    .bind(i64::from(note.active))
    .bind(note.replaces.map(|r| r.to_string()))
    .bind(&note.reason)
    .bind(note.recorded_by.to_string())
    .bind(micros(note.recorded_at))
    .execute_on(conn)
    .await
    ?;
    Ok(())
}

pub(crate) fn from_row(row: &AnyRow) -> Result<HealthNote> {
    let kind = text(row, "kind")?;
    Ok(HealthNote {
        id: parsed(row, "id")?,
        patient_id: parsed(row, "patient_id")?,
        kind: HealthConditionKind::from_code(&kind).ok_or_else(|| corrupt(format!("health kind {kind}")))?,
        text: text(row, "text")?,
        active: int(row, "active")? != 0,
        replaces: parsed_opt(row, "replaces")?,
        reason: text(row, "reason")?,
        recorded_by: parsed(row, "recorded_by")?,
        recorded_at: instant(row, "recorded_at")?,
    })
}

/// The notes' SELECT, to which a reader adds its WHERE.
pub(crate) const NOTE_SELECT: &str =
    "SELECT id, patient_id, kind, text, active, replaces, reason, recorded_by, recorded_at FROM health_notes";

/// Every version of the notes of some patients, oldest first.
pub async fn notes_of(conn: &mut impl Fetch, patients: &[PatientId]) -> Result<Vec<HealthNote>> {
    let rows = rows_for_patients(
        conn,
        &format!("{NOTE_SELECT} WHERE patient_id IN ({{ids}}) ORDER BY recorded_at, id"),
        &[],
        patients,
    )
    .await?;
    rows.iter().map(from_row).collect()
}
