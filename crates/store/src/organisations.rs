//! Organisations and the patient groups (time windows) at dispensing places.

use samhand_domain::arrangement::{PatientGroup, TimeWindow};
use samhand_domain::ids::{OrganisationId, PatientGroupId};
use samhand_domain::organisation::{HerId, OrgNumber, Organisation, OrganisationKind, Registration};
use sqlx::AnyConnection;
use sqlx::any::AnyRow;

use crate::codec::{corrupt, int, micros, parsed, text, time_text};
use crate::db::Result;
use crate::native::{Fetch, FetchOn};

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
        closed_days: Vec::new(),
    })
}

/// Fills in the closed days of the organisations read.
async fn with_closed_days(conn: &mut impl Fetch, mut orgs: Vec<Organisation>) -> Result<Vec<Organisation>> {
    if orgs.is_empty() {
        return Ok(orgs);
    }
    for day in closed_days(conn).await? {
        if let Some(org) = orgs.iter_mut().find(|o| o.id == day.place_id) {
            org.closed_days.push(day.date);
        }
    }
    Ok(orgs)
}

pub async fn insert(conn: &mut impl Fetch, org: &Organisation, at: jiff::Timestamp) -> Result<()> {
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
    .execute_on(conn)
    .await?;
    Ok(())
}

pub async fn all(conn: &mut impl Fetch) -> Result<Vec<Organisation>> {
    let rows = sqlx::query(&format!("SELECT {COLUMNS} FROM organisations ORDER BY name"))
        .fetch_all_on(&mut *conn)
        .await?;
    let orgs = rows.iter().map(from_row).collect::<Result<Vec<_>>>()?;
    with_closed_days(conn, orgs).await
}

pub async fn get(conn: &mut impl Fetch, id: OrganisationId) -> Result<Option<Organisation>> {
    let row = sqlx::query(&format!("SELECT {COLUMNS} FROM organisations WHERE id = $1"))
        .bind(id.to_string())
        .fetch_optional_on(&mut *conn)
        .await?;
    let org = row.as_ref().map(from_row).transpose()?;
    Ok(with_closed_days(conn, org.into_iter().collect()).await?.pop())
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

pub async fn insert_group(conn: &mut impl Fetch, group: &PatientGroup) -> Result<()> {
    sqlx::query("INSERT INTO patient_groups (id, place_id, name, window_start, window_end) VALUES ($1, $2, $3, $4, $5)")
        .bind(group.id.to_string())
        .bind(group.place_id.to_string())
        .bind(&group.name)
        .bind(time_text(group.window.start))
        .bind(time_text(group.window.end))
        .execute_on(conn)
        .await?;
    Ok(())
}

pub async fn groups(conn: &mut impl Fetch) -> Result<Vec<PatientGroup>> {
    let rows = sqlx::query(
        "SELECT id, place_id, name, window_start, window_end FROM patient_groups ORDER BY window_start",
    )
    .fetch_all_on(conn)
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
pub async fn by_name(conn: &mut impl Fetch, name: &str) -> Result<Option<Organisation>> {
    let row = sqlx::query(&format!("SELECT {COLUMNS} FROM organisations WHERE name = $1"))
        .bind(name)
        .fetch_optional_on(&mut *conn)
        .await?;
    let org = row.as_ref().map(from_row).transpose()?;
    Ok(with_closed_days(conn, org.into_iter().collect()).await?.pop())
}

/// Sets what the register and the address book know of an organisation.
pub async fn set_registration(
    conn: &mut impl Fetch,
    id: OrganisationId,
    registration: &Registration,
    at: jiff::Timestamp,
) -> Result<()> {
    sqlx::query(
        "UPDATE organisations SET org_number = $1, her_id = $2, address = $3, phone = $4, responsible_unit_id = $5,
             updated_at = $7
         WHERE id = $6",
    )
    .bind(registration.org_number.as_ref().map(|n| n.as_str().to_string()))
    .bind(registration.her_id.as_ref().map(|n| n.as_str().to_string()))
    .bind(&registration.address)
    .bind(&registration.phone)
    .bind(registration.responsible_unit.map(|u| u.to_string()))
    .bind(id.to_string())
    .bind(micros(at))
    .execute_on(conn)
    .await?;
    Ok(())
}

/// What the register and the address book know of an organisation.
pub async fn registration(conn: &mut impl Fetch, id: OrganisationId) -> Result<Option<Registration>> {
    let row = sqlx::query(
        "SELECT org_number, her_id, address, phone, responsible_unit_id FROM organisations WHERE id = $1",
    )
    .bind(id.to_string())
    .fetch_optional_on(conn)
    .await?;
    row.as_ref().map(registration_from_row).transpose()
}

fn registration_from_row(r: &AnyRow) -> Result<Registration> {
    let org_number: Option<String> = sqlx::Row::try_get(r, "org_number")?;
    let her_id: Option<String> = sqlx::Row::try_get(r, "her_id")?;
    Ok(Registration {
        org_number: org_number
            .map(|n| OrgNumber::parse(&n).map_err(|_| corrupt(format!("organisation number {n}"))))
            .transpose()?,
        her_id: her_id
            .map(|n| HerId::parse(&n).map_err(|_| corrupt(format!("HER-id {n}"))))
            .transpose()?,
        address: text(r, "address")?,
        phone: text(r, "phone")?,
        responsible_unit: crate::codec::parsed_opt(r, "responsible_unit_id")?,
    })
}

/// Every organisation's registration, and when its row was created and last
/// changed (its `updated_at`, else its `created_at`).
pub async fn registrations(
    conn: &mut AnyConnection,
) -> Result<Vec<(OrganisationId, Registration, jiff::Timestamp)>> {
    let rows = sqlx::query(
        "SELECT id, org_number, her_id, address, phone, responsible_unit_id, created_at, updated_at
         FROM organisations",
    )
    .fetch_all(conn)
    .await?;
    rows.iter()
        .map(|r| {
            let changed = crate::codec::instant_opt(r, "updated_at")?;
            let created = crate::codec::instant(r, "created_at")?;
            Ok((
                parsed(r, "id")?,
                registration_from_row(r)?,
                changed.unwrap_or(created).max(created),
            ))
        })
        .collect()
}

/// A dispensing place's opening hours and capacity, beside its opening days.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct PlaceSettings {
    pub opens_at: Option<jiff::civil::Time>,
    pub closes_at: Option<jiff::civil::Time>,
    pub capacity: Option<i64>,
}

/// Sets a place's opening days (Monday first), whether it keeps open on public
/// holidays, its opening hours and its capacity.
pub async fn set_place(
    conn: &mut impl Fetch,
    id: OrganisationId,
    open_weekdays: [bool; 7],
    open_on_public_holidays: bool,
    settings: &PlaceSettings,
) -> Result<()> {
    let weekdays: String = open_weekdays.iter().map(|o| if *o { 'Y' } else { 'N' }).collect();
    sqlx::query(
        "UPDATE organisations SET open_weekdays = $1, open_on_public_holidays = $2, opens_at = $3,
             closes_at = $4, capacity = $5
         WHERE id = $6",
    )
    .bind(weekdays)
    .bind(i64::from(open_on_public_holidays))
    .bind(settings.opens_at.map(time_text))
    .bind(settings.closes_at.map(time_text))
    .bind(settings.capacity)
    .bind(id.to_string())
    .execute_on(conn)
    .await?;
    Ok(())
}

pub async fn place_settings(conn: &mut AnyConnection, id: OrganisationId) -> Result<PlaceSettings> {
    let row = sqlx::query("SELECT opens_at, closes_at, capacity FROM organisations WHERE id = $1")
        .bind(id.to_string())
        .fetch_optional(conn)
        .await?;
    let Some(row) = row else {
        return Ok(PlaceSettings::default());
    };
    Ok(PlaceSettings {
        opens_at: crate::codec::parsed_opt(&row, "opens_at")?,
        closes_at: crate::codec::parsed_opt(&row, "closes_at")?,
        capacity: sqlx::Row::try_get(&row, "capacity")?,
    })
}

/// A day a place is closed beyond the public holidays.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ClosedDay {
    pub place_id: OrganisationId,
    pub date: jiff::civil::Date,
    pub reason: String,
}

pub async fn insert_closed_day(
    conn: &mut impl Fetch,
    day: &ClosedDay,
    by: Option<samhand_domain::ids::UserId>,
    at: jiff::Timestamp,
) -> Result<()> {
    sqlx::query(
        "INSERT INTO place_closed_days (place_id, closed_on, reason, created_by, created_at) VALUES ($1, $2, $3, $4, $5)",
    )
    .bind(day.place_id.to_string())
    .bind(day.date.to_string())
    .bind(&day.reason)
    .bind(by.map(|u| u.to_string()))
    .bind(micros(at))
    .execute_on(conn)
    .await?;
    Ok(())
}

/// Every place's closed days, by date.
pub async fn closed_days(conn: &mut impl Fetch) -> Result<Vec<ClosedDay>> {
    let rows = sqlx::query("SELECT place_id, closed_on, reason FROM place_closed_days ORDER BY closed_on")
        .fetch_all_on(conn)
        .await?;
    rows.iter()
        .map(|r| {
            Ok(ClosedDay {
                place_id: parsed(r, "place_id")?,
                date: parsed(r, "closed_on")?,
                reason: text(r, "reason")?,
            })
        })
        .collect()
}
