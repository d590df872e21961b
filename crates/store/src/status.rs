//! Status assessments in versions (a column per question, named as its code) and
//! the leader's sign-offs of a unit's yearly status report. Append-only.

use jiff::Timestamp;
use jiff::civil::Date;
use samhand_domain::ids::{OrganisationId, PatientId, UserId};
use samhand_domain::status::{StatusAnswers, StatusAssessment, StatusField};
use samhand_domain::status_report::PlanStatusAt;
use sqlx::AnyConnection;
use sqlx::any::AnyRow;

use crate::PatientWrite;
use crate::codec::{coded, corrupt, date_text, instant, int, micros, parsed, text};
use crate::db::{Result, rows_for_patients};
use crate::native::{Fetch, FetchOn};

fn field_columns() -> String {
    StatusField::ALL
        .iter()
        .map(|f| f.code())
        .collect::<Vec<_>>()
        .join(", ")
}

/// Inserts one version; a second version with the same number is a `Conflict`
/// (someone else saved first).
pub async fn insert_assessment(write: &mut PatientWrite, assessment: &StatusAssessment) -> Result<()> {
    let conn = write.of(assessment.patient_id)?;
    const FIXED: usize = 9;
    let placeholders: Vec<String> = (1..=FIXED + StatusField::ALL.len())
        .map(|n| format!("${n}"))
        .collect();
    let sql = format!(
        "INSERT INTO status_assessments (id, patient_id, version, occasion, assessed_on, note, by_patient, recorded_by, recorded_at, {})
         VALUES ({})",
        field_columns(),
        placeholders.join(", ")
    );
    let mut query = sqlx::query(&sql)
        .bind(assessment.id.to_string())
        .bind(assessment.patient_id.to_string())
        .bind(assessment.version)
        .bind(assessment.occasion.code())
        .bind(date_text(assessment.assessed_on))
        .bind(assessment.note.clone())
        .bind(i64::from(assessment.by_patient))
        .bind(assessment.recorded_by.to_string())
        .bind(micros(assessment.recorded_at));
    for field in StatusField::ALL {
        query = query.bind(assessment.answers.get(field).map(str::to_string));
    }
    query.execute_on(conn).await?;
    Ok(())
}

fn assessment_from_row(row: &AnyRow) -> Result<StatusAssessment> {
    let mut stored = Vec::new();
    for field in StatusField::ALL {
        let answer: Option<String> = sqlx::Row::try_get(row, field.code())?;
        if let Some(answer) = answer {
            stored.push((field, answer));
        }
    }
    Ok(StatusAssessment {
        id: parsed(row, "id")?,
        patient_id: parsed(row, "patient_id")?,
        version: int(row, "version")?,
        occasion: coded(row, "occasion")?,
        assessed_on: parsed(row, "assessed_on")?,
        answers: StatusAnswers::from_stored(stored).ok_or_else(|| corrupt("a status answer"))?,
        note: text(row, "note")?,
        by_patient: int(row, "by_patient")? != 0,
        recorded_by: parsed(row, "recorded_by")?,
        recorded_at: instant(row, "recorded_at")?,
    })
}

/// Every version of some patients' assessments, by patient then version.
pub async fn assessments_of(
    conn: &mut AnyConnection,
    patients: &[PatientId],
) -> Result<Vec<StatusAssessment>> {
    let sql = format!(
        "SELECT id, patient_id, version, occasion, assessed_on, note, by_patient, recorded_by, recorded_at, {}
         FROM status_assessments WHERE patient_id IN ({{ids}}) ORDER BY patient_id, version",
        field_columns()
    );
    let rows = rows_for_patients(conn, &sql, &[], patients).await?;
    rows.iter().map(assessment_from_row).collect()
}

/// A leader's sign-off of a unit's report for a year.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SignOff {
    pub id: String,
    pub unit_id: OrganisationId,
    pub year: i64,
    pub version: i64,
    pub patients: i64,
    /// SHA-256 of the report's CSV as signed, in hex.
    pub digest: String,
    pub signed_by: UserId,
    pub signed_at: Timestamp,
}

/// Inserts a sign-off; the same version twice is a `Conflict`.
pub async fn insert_signoff(conn: &mut impl Fetch, signoff: &SignOff) -> Result<()> {
    sqlx::query(
        "INSERT INTO status_report_signoffs (id, unit_id, year, version, patients, digest, signed_by, signed_at)
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8)",
    )
    .bind(signoff.id.clone())
    .bind(signoff.unit_id.to_string())
    .bind(signoff.year)
    .bind(signoff.version)
    .bind(signoff.patients)
    .bind(signoff.digest.clone())
    .bind(signoff.signed_by.to_string())
    .bind(micros(signoff.signed_at))
    .execute_on(conn)
    .await?;
    Ok(())
}

/// Every sign-off of a unit's report for a year, oldest first.
pub async fn signoffs(conn: &mut AnyConnection, unit: OrganisationId, year: i64) -> Result<Vec<SignOff>> {
    let rows = sqlx::query(
        "SELECT id, unit_id, year, version, patients, digest, signed_by, signed_at FROM status_report_signoffs
         WHERE unit_id = $1 AND year = $2 ORDER BY version",
    )
    .bind(unit.to_string())
    .bind(year)
    .fetch_all(conn)
    .await?;
    rows.iter()
        .map(|row| {
            Ok(SignOff {
                id: text(row, "id")?,
                unit_id: parsed(row, "unit_id")?,
                year: int(row, "year")?,
                version: int(row, "version")?,
                patients: int(row, "patients")?,
                digest: text(row, "digest")?,
                signed_by: parsed(row, "signed_by")?,
                signed_at: instant(row, "signed_at")?,
            })
        })
        .collect()
}

/// The sample day of each laboratory result of some patients (its latest
/// version's), sampled in [from, to]: what the yearly report counts, without the
/// results themselves.
pub async fn drug_test_days_of(
    conn: &mut AnyConnection,
    patients: &[PatientId],
    from: Date,
    to: Date,
) -> Result<Vec<(PatientId, Date)>> {
    let rows = rows_for_patients(
        conn,
        "SELECT t.patient_id, t.sample_date FROM drug_tests t
         WHERE t.sample_date >= $1 AND t.sample_date <= $2 AND t.patient_id IN ({ids})
           AND t.version = (SELECT MAX(l.version) FROM drug_tests l WHERE l.series_id = t.series_id)",
        &[date_text(from), date_text(to)],
        patients,
    )
    .await?;
    rows.iter()
        .map(|row| Ok((parsed(row, "patient_id")?, parsed(row, "sample_date")?)))
        .collect()
}

/// Each version of some patients' individual plans, without its goals: whether
/// the plan was in use or declined, and when.
pub async fn plan_statuses_of(
    conn: &mut AnyConnection,
    patients: &[PatientId],
) -> Result<Vec<(PatientId, PlanStatusAt)>> {
    let rows = rows_for_patients(
        conn,
        "SELECT patient_id, version, status, recorded_at FROM plan_versions WHERE patient_id IN ({ids})",
        &[],
        patients,
    )
    .await?;
    rows.iter()
        .map(|row| {
            Ok((
                parsed(row, "patient_id")?,
                PlanStatusAt {
                    recorded_on: samhand_domain::time::oslo_date(instant(row, "recorded_at")?),
                    version: int(row, "version")?,
                    status: coded(row, "status")?,
                },
            ))
        })
        .collect()
}
