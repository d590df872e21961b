//! Identifiers other systems sent with a stay or a drug test (`received_identifiers`):
//! written with the record, in its patient's write; read back beside the records;
//! and the patients an H-number was received for, which is all an H-number finds.

use std::collections::HashMap;

use jiff::Timestamp;
use samhand_domain::ids::{PatientId, UserId};
use samhand_domain::received::{ReceivedElement, ReceivedIdentifier};
use sqlx::AnyConnection;

use crate::codec::{corrupt, micros, parsed, text};
use crate::db::{Result, rows_for_ids};
use crate::native::{Fetch, FetchOn};
use crate::patient_write::PatientWrite;

/// Keeps what was received with the record `record_id` of `patient`.
pub async fn insert(
    write: &mut PatientWrite,
    patient: PatientId,
    record_id: &str,
    identifiers: &[ReceivedIdentifier],
    recorded_by: UserId,
    at: Timestamp,
) -> Result<()> {
    let conn = write.of(patient)?;
    for identifier in identifiers {
        sqlx::query(
            "INSERT INTO received_identifiers (id, patient_id, record_id, element, system, value, recorded_by, recorded_at)
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8)",
        )
        .bind(uuid::Uuid::now_v7().to_string())
        .bind(patient.to_string())
        .bind(record_id)
        .bind(identifier.element.code())
        .bind(&identifier.system)
        .bind(&identifier.value)
        .bind(recorded_by.to_string())
        .bind(micros(at))
        .execute_on(&mut *conn)
        .await
        ?;
    }
    Ok(())
}

/// What was received with each of the records, by record id, in the order received.
pub async fn of_records(
    conn: &mut impl Fetch,
    record_ids: &[String],
) -> Result<HashMap<String, Vec<ReceivedIdentifier>>> {
    let sql = "SELECT record_id, element, system, value FROM received_identifiers
         WHERE record_id IN ({ids}) ORDER BY recorded_at, id";
    let rows = rows_for_ids(conn, sql, &[], record_ids).await?;
    let mut found: HashMap<String, Vec<ReceivedIdentifier>> = HashMap::new();
    for row in &rows {
        let element = text(row, "element")?;
        found
            .entry(text(row, "record_id")?)
            .or_default()
            .push(ReceivedIdentifier {
                element: ReceivedElement::from_code(&element)
                    .ok_or_else(|| corrupt(format!("received element {element}")))?,
                system: text(row, "system")?,
                value: text(row, "value")?,
            });
    }
    Ok(found)
}

/// The patients an identifier of `element` (an H-number) was received for.
pub async fn patients_with(
    conn: &mut AnyConnection,
    element: ReceivedElement,
    system: &str,
    value: &str,
) -> Result<Vec<PatientId>> {
    let rows = sqlx::query(
        "SELECT DISTINCT patient_id FROM received_identifiers WHERE element = $1 AND system = $2 AND value = $3",
    )
    .bind(element.code())
    .bind(system)
    .bind(value)
    .fetch_all(conn)
    .await?;
    rows.iter().map(|r| parsed(r, "patient_id")).collect()
}

/// The H-numbers received for each of the patients, in order.
pub async fn h_numbers_of(
    conn: &mut AnyConnection,
    patients: &[PatientId],
) -> Result<HashMap<PatientId, Vec<String>>> {
    let rows = crate::db::rows_for_patients(
        conn,
        "SELECT DISTINCT patient_id, value FROM received_identifiers
         WHERE element = $1 AND patient_id IN ({ids}) ORDER BY value",
        &[ReceivedElement::HNumber.code().to_string()],
        patients,
    )
    .await?;
    let mut found: HashMap<PatientId, Vec<String>> = HashMap::new();
    for row in &rows {
        found
            .entry(parsed(row, "patient_id")?)
            .or_default()
            .push(text(row, "value")?);
    }
    Ok(found)
}
