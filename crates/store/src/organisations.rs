//! Organisations and the patient groups (time windows) at dispensing places.

use samhand_domain::arrangement::{PatientGroup, TimeWindow};
use samhand_domain::ids::{OrganisationId, PatientGroupId};
use samhand_domain::organisation::{HerId, OrgNumber, Organisation, OrganisationKind, Registration};
use sqlx::AnyConnection;
use sqlx::any::AnyRow;

use crate::codec::{corrupt, int, micros, parsed, text, time_text};
use crate::db::{Result, classify};

const COLUMNS: &str = "id, name, kind, municipality, open_weekdays, open_on_public_holidays";

fn from_row(row: &AnyRow) -> Result<Organisation> {
    let kind = text(row, "kind")?;
    let weekdays = text(row, "open_weekdays")?;
    let mut open_weekdays = [false; 7];
    for (slot, c) in open_weekdays.iter_mut().zip(weekdays.chars()) {
        *slot = c == 'Y';
    }
    Ok(Organisation {
        id: parsed(row, "id")?,
        name: text(row, "name")?,
        kind: OrganisationKind::from_code(&kind)
            .ok_or_else(|| corrupt(format!("organisation kind {kind}")))?,
        municipality: text(row, "municipality")?,
        open_on_public_holidays: int(row, "open_on_public_holidays")? != 0,
        open_weekdays,
    })
}

pub async fn insert(conn: &mut AnyConnection, org: &Organisation, at: jiff::Timestamp) -> Result<()> {
    let weekdays: String = org
        .open_weekdays
        .iter()
        .map(|o| if *o { 'Y' } else { 'N' })
        .collect();
    sqlx::query(
        "INSERT INTO organisations (id, name, kind, municipality, open_weekdays, open_on_public_holidays, created_at)
         VALUES ($1, $2, $3, $4, $5, $6, $7)",
    )
    .bind(org.id.to_string())
    .bind(&org.name)
    .bind(org.kind.code())
    .bind(&org.municipality)
    .bind(weekdays)
    .bind(i64::from(org.open_on_public_holidays))
    .bind(micros(at))
    .execute(conn)
    .await
    .map_err(classify)?;
    Ok(())
}

pub async fn all(conn: &mut AnyConnection) -> Result<Vec<Organisation>> {
    let rows = sqlx::query(&format!("SELECT {COLUMNS} FROM organisations ORDER BY name"))
        .fetch_all(conn)
        .await?;
    rows.iter().map(from_row).collect()
}

pub async fn get(conn: &mut AnyConnection, id: OrganisationId) -> Result<Option<Organisation>> {
    let row = sqlx::query(&format!("SELECT {COLUMNS} FROM organisations WHERE id = $1"))
        .bind(id.to_string())
        .fetch_optional(conn)
        .await?;
    row.as_ref().map(from_row).transpose()
}

fn group_from_row(row: &AnyRow) -> Result<PatientGroup> {
    let start = parsed(row, "window_start")?;
    let end = parsed(row, "window_end")?;
    Ok(PatientGroup {
        id: parsed(row, "id")?,
        place_id: parsed(row, "place_id")?,
        name: text(row, "name")?,
        window: TimeWindow::new(start, end).ok_or_else(|| corrupt("group window"))?,
    })
}

pub async fn insert_group(conn: &mut AnyConnection, group: &PatientGroup) -> Result<()> {
    sqlx::query("INSERT INTO patient_groups (id, place_id, name, window_start, window_end) VALUES ($1, $2, $3, $4, $5)")
        .bind(group.id.to_string())
        .bind(group.place_id.to_string())
        .bind(&group.name)
        .bind(time_text(group.window.start))
        .bind(time_text(group.window.end))
        .execute(conn)
        .await
        .map_err(classify)?;
    Ok(())
}

pub async fn groups(conn: &mut AnyConnection) -> Result<Vec<PatientGroup>> {
    let rows = sqlx::query(
        "SELECT id, place_id, name, window_start, window_end FROM patient_groups ORDER BY window_start",
    )
    .fetch_all(conn)
    .await?;
    rows.iter().map(group_from_row).collect()
}

pub async fn group(conn: &mut AnyConnection, id: PatientGroupId) -> Result<Option<PatientGroup>> {
    let row =
        sqlx::query("SELECT id, place_id, name, window_start, window_end FROM patient_groups WHERE id = $1")
            .bind(id.to_string())
            .fetch_optional(conn)
            .await?;
    row.as_ref().map(group_from_row).transpose()
}

/// The organisation of this exact name.
pub async fn by_name(conn: &mut AnyConnection, name: &str) -> Result<Option<Organisation>> {
    let row = sqlx::query(&format!("SELECT {COLUMNS} FROM organisations WHERE name = $1"))
        .bind(name)
        .fetch_optional(conn)
        .await?;
    row.as_ref().map(from_row).transpose()
}

/// Sets what the register and the address book know of an organisation.
pub async fn set_registration(
    conn: &mut AnyConnection,
    id: OrganisationId,
    registration: &Registration,
) -> Result<()> {
    sqlx::query(
        "UPDATE organisations SET org_number = $1, her_id = $2, address = $3, phone = $4, responsible_unit_id = $5
         WHERE id = $6",
    )
    .bind(registration.org_number.as_ref().map(|n| n.as_str().to_string()))
    .bind(registration.her_id.as_ref().map(|n| n.as_str().to_string()))
    .bind(&registration.address)
    .bind(&registration.phone)
    .bind(registration.responsible_unit.map(|u| u.to_string()))
    .bind(id.to_string())
    .execute(conn)
    .await
    .map_err(classify)?;
    Ok(())
}

/// What the register and the address book know of an organisation.
pub async fn registration(conn: &mut AnyConnection, id: OrganisationId) -> Result<Option<Registration>> {
    let row = sqlx::query(
        "SELECT org_number, her_id, address, phone, responsible_unit_id FROM organisations WHERE id = $1",
    )
    .bind(id.to_string())
    .fetch_optional(conn)
    .await?;
    row.map(|r| {
        let org_number: Option<String> = sqlx::Row::try_get(&r, "org_number")?;
        let her_id: Option<String> = sqlx::Row::try_get(&r, "her_id")?;
        Ok(Registration {
            org_number: org_number
                .map(|n| OrgNumber::parse(&n).map_err(|_| corrupt(format!("organisation number {n}"))))
                .transpose()?,
            her_id: her_id
                .map(|n| HerId::parse(&n).map_err(|_| corrupt(format!("HER-id {n}"))))
                .transpose()?,
            address: text(&r, "address")?,
            phone: text(&r, "phone")?,
            responsible_unit: crate::codec::parsed_opt(&r, "responsible_unit_id")?,
        })
    })
    .transpose()
}
