//! Overdose prevention records: crisis plan versions with their contacts, naloxone
//! kits handed out, and overdose events. Append-only, like every clinical table.

use std::collections::HashMap;

use jiff::civil::Date;
use samhand_domain::ids::{OrganisationId, PatientId};
use samhand_domain::overdose::{
    CrisisContact, CrisisPlanVersion, CrisisPlanVersionId, NaloxoneKit, OverdoseEvent, OverdoseOutcome,
};
use sqlx::AnyConnection;
use sqlx::any::AnyRow;

use crate::PatientWrite;
use crate::StoreError;
use crate::codec::{corrupt, date_text, instant, int, micros, parsed, text};
use crate::db::{Result, rows_for_patients};
use crate::native::FetchOn;

/// The unique constraint on crisis plan versions, named here rather than in
/// `db::classify`'s shared list: SQLite names the columns, PostgreSQL the constraint.
pub const CRISIS_PLAN_VERSION_TAKEN: &str = "crisis_plan_versions_version_unique";

fn classify_plan(error: StoreError) -> StoreError {
    if let StoreError::Database(sqlx::Error::Database(db)) = &error
        && db.is_unique_violation()
        && (db.constraint() == Some(CRISIS_PLAN_VERSION_TAKEN)
            || db
                .message()
                .ends_with("crisis_plan_versions.patient_id, crisis_plan_versions.version"))
    {
        return StoreError::Conflict(CRISIS_PLAN_VERSION_TAKEN);
    }
    error
}

// ------------------------------------------------------------------ crisis plan

/// Inserts one version with its contacts; a second version with the same number is
/// a `Conflict` (someone else saved first).
pub async fn insert_crisis_plan(write: &mut PatientWrite, plan: &CrisisPlanVersion) -> Result<()> {
    let conn = write.of(plan.patient_id)?;
    sqlx::query(
        "INSERT INTO crisis_plan_versions (id, patient_id, version, warning_signs, what_helps, recorded_by, by_patient, recorded_at)
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8)",
    )
    .bind(plan.id.to_string())
    .bind(plan.patient_id.to_string())
    .bind(plan.version)
    .bind(&plan.warning_signs)
    .bind(&plan.what_helps)
    .bind(plan.recorded_by.to_string())
    .bind(i64::from(plan.by_patient))
    .bind(micros(plan.recorded_at))
    .execute_on(&mut *conn)
    .await
    .map_err(classify_plan)?;
    for (position, contact) in plan.contacts.iter().enumerate() {
        sqlx::query(
            "INSERT INTO crisis_plan_contacts (plan_version_id, position, name, phone) VALUES ($1, $2, $3, $4)",
        )
        .bind(plan.id.to_string())
        .bind(position as i64)
        .bind(&contact.name)
        .bind(&contact.phone)
        .execute_on(&mut *conn)
        .await
        ?;
    }
    Ok(())
}

/// Every crisis plan version of some patients, with contacts, oldest first.
pub async fn crisis_plans_of(
    conn: &mut AnyConnection,
    patients: &[PatientId],
) -> Result<Vec<CrisisPlanVersion>> {
    let rows = rows_for_patients(
        conn,
        "SELECT id, patient_id, version, warning_signs, what_helps, recorded_by, by_patient, recorded_at
         FROM crisis_plan_versions WHERE patient_id IN ({ids}) ORDER BY patient_id, version",
        &[],
        patients,
    )
    .await?;
    let mut plans = Vec::new();
    for row in &rows {
        plans.push(CrisisPlanVersion {
            id: parsed(row, "id")?,
            patient_id: parsed(row, "patient_id")?,
            version: int(row, "version")?,
            warning_signs: text(row, "warning_signs")?,
            what_helps: text(row, "what_helps")?,
            contacts: Vec::new(),
            recorded_by: parsed(row, "recorded_by")?,
            by_patient: int(row, "by_patient")? != 0,
            recorded_at: instant(row, "recorded_at")?,
        });
    }
    let index: HashMap<CrisisPlanVersionId, usize> =
        plans.iter().enumerate().map(|(i, p)| (p.id, i)).collect();
    let contacts = rows_for_patients(
        conn,
        "SELECT c.plan_version_id, c.name, c.phone FROM crisis_plan_contacts c
         JOIN crisis_plan_versions v ON v.id = c.plan_version_id
         WHERE v.patient_id IN ({ids}) ORDER BY c.plan_version_id, c.position",
        &[],
        patients,
    )
    .await?;
    for row in &contacts {
        let version: CrisisPlanVersionId = parsed(row, "plan_version_id")?;
        if let Some(i) = index.get(&version) {
            plans[*i].contacts.push(CrisisContact {
                name: text(row, "name")?,
                phone: text(row, "phone")?,
            });
        }
    }
    Ok(plans)
}

// --------------------------------------------------------------------- naloxone

pub async fn insert_naloxone(write: &mut PatientWrite, kit: &NaloxoneKit) -> Result<()> {
    let conn = write.of(kit.patient_id)?;
    sqlx::query(
        "INSERT INTO naloxone_kits (id, patient_id, handed_out_on, place_id, kits, training_given, note, handed_out_by, recorded_at)
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9)",
    )
    .bind(kit.id.to_string())
    .bind(kit.patient_id.to_string())
    .bind(date_text(kit.handed_out_on))
    .bind(kit.place_id.to_string())
    .bind(kit.kits)
    .bind(i64::from(kit.training_given))
    .bind(&kit.note)
    .bind(kit.handed_out_by.to_string())
    .bind(micros(kit.recorded_at))
    .execute_on(conn)
    .await
    ?;
    Ok(())
}

const KIT_COLUMNS: &str =
    "id, patient_id, handed_out_on, place_id, kits, training_given, note, handed_out_by, recorded_at";

fn kit_from_row(row: &AnyRow) -> Result<NaloxoneKit> {
    Ok(NaloxoneKit {
        id: parsed(row, "id")?,
        patient_id: parsed(row, "patient_id")?,
        handed_out_on: parsed(row, "handed_out_on")?,
        place_id: parsed(row, "place_id")?,
        kits: int(row, "kits")?,
        training_given: int(row, "training_given")? != 0,
        note: text(row, "note")?,
        handed_out_by: parsed(row, "handed_out_by")?,
        recorded_at: instant(row, "recorded_at")?,
    })
}

/// Every hand-out to some patients, oldest first.
pub async fn naloxone_of(conn: &mut AnyConnection, patients: &[PatientId]) -> Result<Vec<NaloxoneKit>> {
    let rows = rows_for_patients(
        conn,
        &format!(
            "SELECT {KIT_COLUMNS} FROM naloxone_kits WHERE patient_id IN ({{ids}}) ORDER BY handed_out_on, recorded_at, id"
        ),
        &[],
        patients,
    )
    .await?;
    rows.iter().map(kit_from_row).collect()
}

/// The patients given kits at a place between two dates (both included).
pub async fn naloxone_patients_at(
    conn: &mut AnyConnection,
    place: OrganisationId,
    from: Date,
    to: Date,
) -> Result<Vec<PatientId>> {
    let rows = sqlx::query(
        "SELECT DISTINCT patient_id FROM naloxone_kits WHERE place_id = $1 AND handed_out_on >= $2 AND handed_out_on <= $3",
    )
    .bind(place.to_string())
    .bind(date_text(from))
    .bind(date_text(to))
    .fetch_all(conn)
    .await?;
    rows.iter().map(|r| parsed(r, "patient_id")).collect()
}

// --------------------------------------------------------------- overdose events

pub async fn insert_overdose(write: &mut PatientWrite, event: &OverdoseEvent) -> Result<()> {
    let conn = write.of(event.patient_id)?;
    sqlx::query(
        "INSERT INTO overdose_events (id, patient_id, occurred_on, outcome, place_description, substances, naloxone_used, reported_by, recorded_by, recorded_organisation, recorded_at)
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11)",
    )
    .bind(event.id.to_string())
    .bind(event.patient_id.to_string())
    .bind(date_text(event.occurred_on))
    .bind(event.outcome.code())
    .bind(&event.place_description)
    .bind(&event.substances)
    .bind(i64::from(event.naloxone_used))
    .bind(&event.reported_by)
    .bind(event.recorded_by.to_string())
    .bind(event.recorded_organisation.to_string())
    .bind(micros(event.recorded_at))
    .execute_on(conn)
    .await
    ?;
    Ok(())
}

/// Every overdose of some patients, oldest first.
pub async fn overdoses_of(conn: &mut AnyConnection, patients: &[PatientId]) -> Result<Vec<OverdoseEvent>> {
    let rows = rows_for_patients(
        conn,
        "SELECT id, patient_id, occurred_on, outcome, place_description, substances, naloxone_used, reported_by,
                recorded_by, recorded_organisation, recorded_at
         FROM overdose_events WHERE patient_id IN ({ids}) ORDER BY occurred_on, recorded_at, id",
        &[],
        patients,
    )
    .await?;
    rows.iter()
        .map(|row| {
            let outcome = text(row, "outcome")?;
            Ok(OverdoseEvent {
                id: parsed(row, "id")?,
                patient_id: parsed(row, "patient_id")?,
                occurred_on: parsed(row, "occurred_on")?,
                outcome: OverdoseOutcome::from_code(&outcome)
                    .ok_or_else(|| corrupt(format!("overdose outcome {outcome}")))?,
                place_description: text(row, "place_description")?,
                substances: text(row, "substances")?,
                naloxone_used: int(row, "naloxone_used")? != 0,
                reported_by: text(row, "reported_by")?,
                recorded_by: parsed(row, "recorded_by")?,
                recorded_organisation: parsed(row, "recorded_organisation")?,
                recorded_at: instant(row, "recorded_at")?,
            })
        })
        .collect()
}
