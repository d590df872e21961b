//! The stock ledger per place and substance, deviations (avvik), and the policy table.

use jiff::Timestamp;
use samhand_domain::dose::Dose;
use samhand_domain::ids::{DispensingId, OrganisationId, UserId};
use samhand_domain::stock::StockMovement;
use samhand_domain::substance::Substance;
use sqlx::AnyConnection;
use sqlx::any::AnyRow;

use crate::codec::{corrupt, dose, dose_ug, instant, micros, parsed, text};
use crate::db::{Result, classify};

#[derive(Debug, Clone)]
pub struct StockEntry {
    pub substance: Substance,
    pub movement: StockMovement,
    pub amount: Dose,
    pub note: String,
    pub recorded_by: UserId,
    pub recorded_at: Timestamp,
}

#[allow(clippy::too_many_arguments)]
pub async fn insert_entry(
    conn: &mut AnyConnection,
    place: OrganisationId,
    substance: Substance,
    movement: StockMovement,
    amount: Dose,
    note: &str,
    dispensing: Option<DispensingId>,
    by: UserId,
    at: Timestamp,
) -> Result<()> {
    sqlx::query(
        "INSERT INTO stock_entries (id, place_id, substance, movement, amount_ug, note, dispensing_event_id, recorded_by, recorded_at)
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9)",
    )
    .bind(uuid::Uuid::now_v7().to_string())
    .bind(place.to_string())
    .bind(substance.code())
    .bind(movement.code())
    .bind(dose_ug(amount))
    .bind(note)
    .bind(dispensing.map(|d| d.to_string()))
    .bind(by.to_string())
    .bind(micros(at))
    .execute(conn)
    .await
    .map_err(classify)?;
    Ok(())
}

fn entry_from_row(row: &AnyRow) -> Result<StockEntry> {
    let substance = text(row, "substance")?;
    let movement = text(row, "movement")?;
    Ok(StockEntry {
        substance: Substance::from_code(&substance)
            .ok_or_else(|| corrupt(format!("substance {substance}")))?,
        movement: StockMovement::from_code(&movement)
            .ok_or_else(|| corrupt(format!("movement {movement}")))?,
        amount: dose(row, "amount_ug")?,
        note: text(row, "note")?,
        recorded_by: parsed(row, "recorded_by")?,
        recorded_at: instant(row, "recorded_at")?,
    })
}

/// The ledger of a place, oldest first.
pub async fn ledger(conn: &mut AnyConnection, place: OrganisationId) -> Result<Vec<StockEntry>> {
    let rows = sqlx::query(
        "SELECT substance, movement, amount_ug, note, recorded_by, recorded_at FROM stock_entries
         WHERE place_id = $1 ORDER BY recorded_at, id",
    )
    .bind(place.to_string())
    .fetch_all(conn)
    .await?;
    rows.iter().map(entry_from_row).collect()
}

#[derive(Debug, Clone)]
pub struct Deviation {
    pub id: String,
    pub place_id: OrganisationId,
    pub kind: String,
    pub substance: Option<Substance>,
    pub difference_ug: Option<i64>,
    pub description: String,
    pub reported_by: UserId,
    pub reported_at: Timestamp,
}

pub async fn insert_deviation(conn: &mut AnyConnection, d: &Deviation) -> Result<()> {
    sqlx::query(
        "INSERT INTO deviations (id, place_id, kind, substance, difference_ug, description, reported_by, reported_at)
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8)",
    )
    .bind(&d.id)
    .bind(d.place_id.to_string())
    .bind(&d.kind)
    .bind(d.substance.map(|s| s.code()))
    .bind(d.difference_ug)
    .bind(&d.description)
    .bind(d.reported_by.to_string())
    .bind(micros(d.reported_at))
    .execute(conn)
    .await
    .map_err(classify)?;
    Ok(())
}

pub async fn deviations(conn: &mut AnyConnection, place: OrganisationId) -> Result<Vec<Deviation>> {
    let rows = sqlx::query(
        "SELECT id, place_id, kind, substance, difference_ug, description, reported_by, reported_at FROM deviations
         WHERE place_id = $1 ORDER BY reported_at DESC",
    )
    .bind(place.to_string())
    .fetch_all(conn)
    .await?;
    rows.iter()
        .map(|row| {
            let substance: Option<String> = sqlx::Row::try_get(row, "substance")?;
            Ok(Deviation {
                id: text(row, "id")?,
                place_id: parsed(row, "place_id")?,
                kind: text(row, "kind")?,
                substance: substance.and_then(|s| Substance::from_code(&s)),
                difference_ug: sqlx::Row::try_get(row, "difference_ug")?,
                description: text(row, "description")?,
                reported_by: parsed(row, "reported_by")?,
                reported_at: instant(row, "reported_at")?,
            })
        })
        .collect()
}

/// The stored policy values, oldest first (the latest per key wins).
pub async fn policy_values(conn: &mut AnyConnection) -> Result<Vec<(String, i64)>> {
    let rows = sqlx::query("SELECT key, value FROM policy_settings ORDER BY set_at, id")
        .fetch_all(conn)
        .await?;
    rows.iter()
        .map(|r| Ok((text(r, "key")?, crate::codec::int(r, "value")?)))
        .collect()
}

pub async fn set_policy_value(
    conn: &mut AnyConnection,
    key: &str,
    value: i64,
    by: Option<UserId>,
    at: Timestamp,
) -> Result<()> {
    sqlx::query("INSERT INTO policy_settings (id, key, value, set_by, set_at) VALUES ($1, $2, $3, $4, $5)")
        .bind(uuid::Uuid::now_v7().to_string())
        .bind(key)
        .bind(value)
        .bind(by.map(|u| u.to_string()))
        .bind(micros(at))
        .execute(conn)
        .await
        .map_err(classify)?;
    Ok(())
}
