//! The drug-test regime in versions (append-only): a patient's versions, and the
//! latest version of every patient's regime for the unit's lists.

use samhand_domain::drug_test_regime::{Regime, TestedSubstance};
use samhand_domain::ids::PatientId;
use sqlx::AnyConnection;
use sqlx::any::AnyRow;

use crate::PatientWrite;
use crate::codec::{coded, corrupt, date_text, instant, int, micros, parsed, text};
use crate::db::{Result, rows_for_patients};
use crate::native::FetchOn;

/// Inserts a version; the same version twice is a `Conflict` (someone else
/// decided first).
pub async fn insert(write: &mut PatientWrite, regime: &Regime) -> Result<()> {
    let conn = write.of(regime.patient_id)?;
    let substances: Vec<&str> = regime.substances.iter().map(|s| s.code()).collect();
    sqlx::query(
        "INSERT INTO drug_test_regimes (id, patient_id, version, valid_from, reason, note, substances, frequency,
            supervised, where_given, review_on, ended, recorded_by, recorded_at)
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14)",
    )
    .bind(regime.id.clone())
    .bind(regime.patient_id.to_string())
    .bind(regime.version)
    .bind(date_text(regime.valid_from))
    .bind(regime.reason.code())
    .bind(regime.note.clone())
    .bind(substances.join(","))
    .bind(regime.frequency.code())
    .bind(i64::from(regime.supervised))
    .bind(regime.where_given.clone())
    .bind(date_text(regime.review_on))
    .bind(i64::from(regime.ended))
    .bind(regime.recorded_by.to_string())
    .bind(micros(regime.recorded_at))
    .execute_on(conn)
    .await
    ?;
    Ok(())
}

fn from_row(row: &AnyRow) -> Result<Regime> {
    let codes = text(row, "substances")?;
    let substances = codes
        .split(',')
        .filter(|c| !c.is_empty())
        .map(|c| TestedSubstance::from_code(c).ok_or_else(|| corrupt(format!("substance {c}"))))
        .collect::<Result<Vec<_>>>()?;
    Ok(Regime {
        id: text(row, "id")?,
        patient_id: parsed(row, "patient_id")?,
        version: int(row, "version")?,
        valid_from: parsed(row, "valid_from")?,
        reason: coded(row, "reason")?,
        note: text(row, "note")?,
        substances,
        frequency: coded(row, "frequency")?,
        supervised: int(row, "supervised")? != 0,
        where_given: text(row, "where_given")?,
        review_on: parsed(row, "review_on")?,
        ended: int(row, "ended")? != 0,
        recorded_by: parsed(row, "recorded_by")?,
        recorded_at: instant(row, "recorded_at")?,
    })
}

const COLUMNS: &str = "id, patient_id, version, valid_from, reason, note, substances, frequency, supervised, \
    where_given, review_on, ended, recorded_by, recorded_at";

/// Every version of some patients' regimes, in patient and version order.
pub async fn of_patients(conn: &mut AnyConnection, patients: &[PatientId]) -> Result<Vec<Regime>> {
    let rows = rows_for_patients(
        conn,
        &format!("SELECT {COLUMNS} FROM drug_test_regimes WHERE patient_id IN ({{ids}})"),
        &[],
        patients,
    )
    .await?;
    let mut regimes = rows.iter().map(from_row).collect::<Result<Vec<_>>>()?;
    regimes.sort_by_key(|r| (r.patient_id, r.version));
    Ok(regimes)
}

/// The patients with a regime not ended in its latest version: those whose
/// samples are expected.
pub async fn patients_with_running_regimes(conn: &mut AnyConnection) -> Result<Vec<PatientId>> {
    let rows = sqlx::query(
        "SELECT r.patient_id FROM drug_test_regimes r
         WHERE r.ended = 0 AND r.version = (SELECT MAX(l.version) FROM drug_test_regimes l WHERE l.patient_id = r.patient_id)",
    )
    .fetch_all(conn)
    .await?;
    rows.iter().map(|row| parsed(row, "patient_id")).collect()
}
