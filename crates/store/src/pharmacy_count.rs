//! The pharmacy's count (issue 17): the supervised intakes and take-home hand-outs
//! recorded at pharmacies, per patient and day, and the LAR unit's approvals of a
//! month's count, each a frozen copy of the count as approved. Append-only; decides
//! nothing (the server asks the access policy and writes the audit log).

use jiff::Timestamp;
use jiff::civil::Date;
use samhand_domain::ids::{OrganisationId, UserId};
use samhand_domain::pharmacy_count::{CountDay, Month};
use samhand_domain::schedule::IntakeMode;
use sqlx::AnyConnection;

use crate::codec::{date_text, instant, int, micros, parsed, text};
use crate::db::{Result, rows_for_ids};
use crate::native::{Fetch, FetchOn};

/// The hand-outs recorded at some places on days in [from, to], per place, patient
/// and day: doses voided by a correction and withheld doses (nothing given) left
/// out. A dose re-recorded by a correction of the amount counts on the day it was
/// handed out, not on the day of the correction.
pub async fn days_at(
    conn: &mut AnyConnection,
    places: &[OrganisationId],
    from: Date,
    to: Date,
) -> Result<Vec<(OrganisationId, CountDay)>> {
    let ids: Vec<String> = places.iter().map(ToString::to_string).collect();
    let rows = rows_for_ids(
        conn,
        "SELECT e.place_id, d.patient_id, COALESCE(o.day, e.day) AS handed_out,
            SUM(CASE WHEN d.mode = $1 THEN 1 ELSE 0 END) AS supervised,
            SUM(CASE WHEN d.mode = $2 THEN 1 ELSE 0 END) AS take_home
         FROM dispensed_doses d
         JOIN dispensing_events e ON e.id = d.event_id
         LEFT JOIN dispensing_corrections c ON c.event_id = e.id
         LEFT JOIN dispensing_events o ON o.id = c.corrects_event_id
         LEFT JOIN dispensing_voids v ON v.patient_id = d.patient_id AND v.dose_date = d.dose_date
             AND v.part = d.part AND v.generation = d.generation
         WHERE COALESCE(o.day, e.day) >= $3 AND COALESCE(o.day, e.day) <= $4
           AND d.amount_ug > 0 AND v.correction_event_id IS NULL AND e.place_id IN ({ids})
         GROUP BY e.place_id, d.patient_id, COALESCE(o.day, e.day)",
        &[
            IntakeMode::Supervised.code().to_string(),
            IntakeMode::TakeHome.code().to_string(),
            date_text(from),
            date_text(to),
        ],
        &ids,
    )
    .await?;
    let mut days = rows
        .iter()
        .map(|row| {
            Ok((
                parsed(row, "place_id")?,
                CountDay {
                    patient: parsed(row, "patient_id")?,
                    day: parsed(row, "handed_out")?,
                    supervised: count(row, "supervised")?,
                    take_home: count(row, "take_home")?,
                },
            ))
        })
        .collect::<Result<Vec<_>>>()?;
    days.sort();
    Ok(days)
}

fn count(row: &sqlx::any::AnyRow, column: &str) -> Result<u32> {
    let n = int(row, column)?;
    u32::try_from(n).map_err(|_| crate::codec::corrupt(format!("{column}: {n}")))
}

/// The LAR unit's approval of a pharmacy's month: one version, with the totals.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Approval {
    pub id: String,
    pub unit_id: OrganisationId,
    pub pharmacy_id: OrganisationId,
    pub month: Month,
    pub version: i64,
    pub supervised: i64,
    pub take_home: i64,
    pub approved_by: UserId,
    pub approved_at: Timestamp,
}

/// Inserts an approval with its frozen days; the same version twice is a
/// `Conflict` (someone else approved first).
pub async fn insert_approval(conn: &mut impl Fetch, approval: &Approval, days: &[CountDay]) -> Result<()> {
    sqlx::query(
        "INSERT INTO pharmacy_count_approvals (id, unit_id, pharmacy_id, month, version, supervised, take_home, approved_by, approved_at)
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9)",
    )
    .bind(approval.id.clone())
    .bind(approval.unit_id.to_string())
    .bind(approval.pharmacy_id.to_string())
    .bind(approval.month.code())
    .bind(approval.version)
    .bind(approval.supervised)
    .bind(approval.take_home)
    .bind(approval.approved_by.to_string())
    .bind(micros(approval.approved_at))
    .execute_on(&mut *conn)
    .await?;
    for day in days {
        sqlx::query(
            "INSERT INTO pharmacy_count_approved_days (approval_id, patient_id, day, supervised, take_home)
             VALUES ($1, $2, $3, $4, $5)",
        )
        .bind(approval.id.clone())
        .bind(day.patient.to_string())
        .bind(date_text(day.day))
        .bind(i64::from(day.supervised))
        .bind(i64::from(day.take_home))
        .execute_on(&mut *conn)
        .await?;
    }
    Ok(())
}

/// Every approval of a month's counts at some pharmacies, oldest version first.
pub async fn approvals(
    conn: &mut AnyConnection,
    pharmacies: &[OrganisationId],
    month: Month,
) -> Result<Vec<Approval>> {
    let ids: Vec<String> = pharmacies.iter().map(ToString::to_string).collect();
    let rows = rows_for_ids(
        conn,
        "SELECT id, unit_id, pharmacy_id, month, version, supervised, take_home, approved_by, approved_at
         FROM pharmacy_count_approvals WHERE month = $1 AND pharmacy_id IN ({ids})",
        &[month.code()],
        &ids,
    )
    .await?;
    let mut approvals = rows
        .iter()
        .map(|row| {
            let month = text(row, "month")?;
            Ok(Approval {
                id: text(row, "id")?,
                unit_id: parsed(row, "unit_id")?,
                pharmacy_id: parsed(row, "pharmacy_id")?,
                month: Month::parse(&month).map_err(|_| crate::codec::corrupt(format!("month: {month}")))?,
                version: int(row, "version")?,
                supervised: int(row, "supervised")?,
                take_home: int(row, "take_home")?,
                approved_by: parsed(row, "approved_by")?,
                approved_at: instant(row, "approved_at")?,
            })
        })
        .collect::<Result<Vec<_>>>()?;
    approvals.sort_by_key(|a| (a.unit_id, a.pharmacy_id, a.version));
    Ok(approvals)
}

/// The days of an approval, as frozen when it was approved.
pub async fn approved_days(conn: &mut AnyConnection, approval: &str) -> Result<Vec<CountDay>> {
    let rows = sqlx::query(
        "SELECT patient_id, day, supervised, take_home FROM pharmacy_count_approved_days
         WHERE approval_id = $1 ORDER BY patient_id, day",
    )
    .bind(approval.to_string())
    .fetch_all(conn)
    .await?;
    rows.iter()
        .map(|row| {
            Ok(CountDay {
                patient: parsed(row, "patient_id")?,
                day: parsed(row, "day")?,
                supervised: count(row, "supervised")?,
                take_home: count(row, "take_home")?,
            })
        })
        .collect()
}
