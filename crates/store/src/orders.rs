//! Dose orders with their signatures, dispensing arrangements and day covers: the
//! versioned decisions the schedule is computed from. Nothing here is updated;
//! every decision is a new row.

use samhand_domain::arrangement::{Arrangement, ArrangementContent, TimeWindow, WeekPlan};
use samhand_domain::dose_order::{
    DailyDose, Discard, DoseOrder, DoseOrderContent, Signature, SignedDoseOrder, TitrationStep,
};
use samhand_domain::ids::{DoseOrderId, PatientId};
use samhand_domain::schedule::{Cover, CoverKind};
use samhand_domain::substance::{Form, Substance};
use sqlx::any::AnyRow;
use sqlx::{AnyConnection, Row};

use crate::PatientWrite;
use crate::codec::{
    corrupt, date_text, doses_text, instant, instant_opt, int, micros, parse_doses, parsed, parsed_opt, text,
    time_text,
};
use crate::db::rows_for_patients;
use crate::db::{Result, StoreError};
use crate::native::{Fetch, FetchOn};

pub(crate) const ORDER_SELECT: &str = "SELECT o.id, o.patient_id, o.episode_id, o.substance, o.form, o.parts, o.effective_from,
    o.titration, o.reason, o.created_by, o.created_at, s.version, s.signed_by, s.signed_at, s.warnings_confirmed,
    d.discarded_by, d.discarded_at, d.reason AS discard_reason
    FROM dose_orders o LEFT JOIN dose_order_signatures s ON s.order_id = o.id
    LEFT JOIN dose_order_discards d ON d.order_id = o.id";

fn titration_text(steps: &[TitrationStep]) -> String {
    steps
        .iter()
        .map(|s| format!("{}={}", s.from, doses_text(s.dose.parts())))
        .collect::<Vec<_>>()
        .join(";")
}

fn parse_titration(text: &str) -> Result<Vec<TitrationStep>> {
    if text.is_empty() {
        return Ok(Vec::new());
    }
    text.split(';')
        .map(|step| {
            let (from, doses) = step
                .split_once('=')
                .ok_or_else(|| corrupt(format!("titration {text:?}")))?;
            Ok(TitrationStep {
                from: from.parse().map_err(corrupt)?,
                dose: DailyDose::new(parse_doses(doses)?).ok_or_else(|| corrupt("titration dose"))?,
            })
        })
        .collect()
}

pub(crate) fn order_from_row(row: &AnyRow) -> Result<DoseOrder> {
    let substance = text(row, "substance")?;
    let form = text(row, "form")?;
    let version: Option<i64> = row.try_get("version")?;
    let signature = match version {
        None => None,
        Some(version) => Some(Signature {
            version: u32::try_from(version).map_err(corrupt)?,
            signed_by: parsed(row, "signed_by")?,
            signed_at: instant_opt(row, "signed_at")?.ok_or_else(|| corrupt("signed_at"))?,
            warnings_confirmed: row.try_get("warnings_confirmed")?,
        }),
    };
    let discard = match instant_opt(row, "discarded_at")? {
        None => None,
        Some(discarded_at) => Some(Discard {
            discarded_by: parsed(row, "discarded_by")?,
            discarded_at,
            reason: row
                .try_get::<Option<String>, _>("discard_reason")?
                .unwrap_or_default(),
        }),
    };
    Ok(DoseOrder {
        id: parsed(row, "id")?,
        patient_id: parsed(row, "patient_id")?,
        episode_id: parsed(row, "episode_id")?,
        content: DoseOrderContent {
            substance: Substance::from_code(&substance)
                .ok_or_else(|| corrupt(format!("substance {substance}")))?,
            form: Form::from_code(&form).ok_or_else(|| corrupt(format!("form {form}")))?,
            dose: DailyDose::new(parse_doses(&text(row, "parts")?)?).ok_or_else(|| corrupt("dose parts"))?,
            effective_from: parsed(row, "effective_from")?,
            titration: parse_titration(&text(row, "titration")?)?,
            reason: text(row, "reason")?,
        },
        created_by: parsed(row, "created_by")?,
        created_at: instant(row, "created_at")?,
        signature,
        discard,
    })
}

pub async fn insert_draft(write: &mut PatientWrite, order: &DoseOrder) -> Result<()> {
    let conn = write.of(order.patient_id)?;
    let c = &order.content;
    sqlx::query(
        "INSERT INTO dose_orders (id, patient_id, episode_id, substance, form, parts, effective_from, titration, reason, created_by, created_at)
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11)",
    )
    .bind(order.id.to_string())
    .bind(order.patient_id.to_string())
    .bind(order.episode_id.to_string())
    .bind(c.substance.code())
    .bind(c.form.code())
    .bind(doses_text(c.dose.parts()))
    .bind(date_text(c.effective_from))
    .bind(titration_text(&c.titration))
    .bind(&c.reason)
    .bind(order.created_by.to_string())
    .bind(micros(order.created_at))
    .execute_on(conn)
    .await
    ?;
    Ok(())
}

/// Stores the signature of a signed order. The unique version per patient refuses a
/// concurrent signing that computed the same version; a draft discarded in the
/// meantime is not signed (a conflict).
pub async fn insert_signature(write: &mut PatientWrite, order: &SignedDoseOrder) -> Result<()> {
    let conn = write.of(order.order().patient_id)?;
    let s = order.signature();
    let written = sqlx::query(
        "INSERT INTO dose_order_signatures (order_id, patient_id, version, signed_by, signed_at, warnings_confirmed)
         SELECT CAST($1 AS TEXT), CAST($2 AS TEXT), CAST($3 AS BIGINT), CAST($4 AS TEXT), CAST($5 AS BIGINT), CAST($6 AS TEXT)
         WHERE NOT EXISTS (SELECT 1 FROM dose_order_discards WHERE order_id = $1)",
    )
    .bind(order.order().id.to_string())
    .bind(order.order().patient_id.to_string())
    .bind(i64::from(s.version))
    .bind(s.signed_by.to_string())
    .bind(micros(s.signed_at))
    .bind(s.warnings_confirmed.clone())
    .execute_on(conn)
    .await
    ?;
    if written == 0 {
        return Err(StoreError::Conflict("dose_order_discarded"));
    }
    Ok(())
}

/// Stores the discard of a draft, once, and only while the order has no signature:
/// a draft signed in the meantime, or discarded twice, is a conflict.
pub async fn insert_discard(write: &mut PatientWrite, order: &DoseOrder, discard: &Discard) -> Result<()> {
    let conn = write.of(order.patient_id)?;
    let written = sqlx::query(
        "INSERT INTO dose_order_discards (order_id, patient_id, discarded_by, discarded_at, reason)
         SELECT CAST($1 AS TEXT), CAST($2 AS TEXT), CAST($3 AS TEXT), CAST($4 AS BIGINT), CAST($5 AS TEXT)
         WHERE NOT EXISTS (SELECT 1 FROM dose_order_signatures WHERE order_id = $1)",
    )
    .bind(order.id.to_string())
    .bind(order.patient_id.to_string())
    .bind(discard.discarded_by.to_string())
    .bind(micros(discard.discarded_at))
    .bind(&discard.reason)
    .execute_on(conn)
    .await?;
    if written == 0 {
        return Err(StoreError::Conflict("dose_order_signed"));
    }
    Ok(())
}

pub async fn order(conn: &mut AnyConnection, id: DoseOrderId) -> Result<Option<DoseOrder>> {
    let row = sqlx::query(&format!("{ORDER_SELECT} WHERE o.id = $1"))
        .bind(id.to_string())
        .fetch_optional(conn)
        .await?;
    row.as_ref().map(order_from_row).transpose()
}

/// Every order of a patient, drafts and signed, in the order written.
pub async fn orders(conn: &mut AnyConnection, patient: PatientId) -> Result<Vec<DoseOrder>> {
    let rows = sqlx::query(&format!(
        "{ORDER_SELECT} WHERE o.patient_id = $1 ORDER BY o.created_at, o.id"
    ))
    .bind(patient.to_string())
    .fetch_all(conn)
    .await?;
    rows.iter().map(order_from_row).collect()
}

/// The signed versions of many patients.
pub async fn signed_orders_of(conn: &mut impl Fetch, patients: &[PatientId]) -> Result<Vec<SignedDoseOrder>> {
    let sql = format!("{ORDER_SELECT} WHERE s.version IS NOT NULL AND o.patient_id IN ({{ids}})");
    let rows = rows_for_patients(conn, &sql, &[], patients).await?;
    let mut signed = Vec::new();
    for row in &rows {
        signed.extend(SignedDoseOrder::from_stored(order_from_row(row)?));
    }
    Ok(signed)
}

pub(crate) const ARRANGEMENT_SELECT: &str =
    "SELECT id, patient_id, version, place_id, week, valid_from, review_on, group_id,
    window_start, window_end, reason, decided_by, decided_at FROM arrangements";

pub(crate) fn arrangement_from_row(row: &AnyRow) -> Result<Arrangement> {
    let week = text(row, "week")?;
    let start: Option<jiff::civil::Time> = parsed_opt(row, "window_start")?;
    let end: Option<jiff::civil::Time> = parsed_opt(row, "window_end")?;
    Ok(Arrangement {
        id: parsed(row, "id")?,
        patient_id: parsed(row, "patient_id")?,
        version: u32::try_from(int(row, "version")?).map_err(corrupt)?,
        content: ArrangementContent {
            place_id: parsed(row, "place_id")?,
            week: WeekPlan::from_code(&week).ok_or_else(|| corrupt(format!("week {week}")))?,
            valid_from: parsed(row, "valid_from")?,
            review_on: parsed(row, "review_on")?,
            group_id: parsed_opt(row, "group_id")?,
            window: start.zip(end).and_then(|(s, e)| TimeWindow::new(s, e)),
            reason: text(row, "reason")?,
        },
        decided_by: parsed(row, "decided_by")?,
        decided_at: instant(row, "decided_at")?,
    })
}

pub async fn insert_arrangement(write: &mut PatientWrite, a: &Arrangement) -> Result<()> {
    let conn = write.of(a.patient_id)?;
    let c = &a.content;
    sqlx::query(
        "INSERT INTO arrangements (id, patient_id, version, place_id, week, valid_from, review_on, group_id, window_start, window_end, reason, decided_by, decided_at)
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13)",
    )
    .bind(a.id.to_string())
    .bind(a.patient_id.to_string())
    .bind(i64::from(a.version))
    .bind(c.place_id.to_string())
    .bind(c.week.code())
    .bind(date_text(c.valid_from))
    .bind(date_text(c.review_on))
    .bind(c.group_id.map(|g| g.to_string()))
    .bind(c.window.map(|w| time_text(w.start)))
    .bind(c.window.map(|w| time_text(w.end)))
    .bind(&c.reason)
    .bind(a.decided_by.to_string())
    .bind(micros(a.decided_at))
    .execute_on(conn)
    .await
    ?;
    Ok(())
}

pub async fn arrangements(conn: &mut impl Fetch, patient: PatientId) -> Result<Vec<Arrangement>> {
    let rows = sqlx::query(&format!(
        "{ARRANGEMENT_SELECT} WHERE patient_id = $1 ORDER BY version"
    ))
    .bind(patient.to_string())
    .fetch_all_on(conn)
    .await?;
    rows.iter().map(arrangement_from_row).collect()
}

pub async fn arrangements_of(conn: &mut impl Fetch, patients: &[PatientId]) -> Result<Vec<Arrangement>> {
    let sql = format!("{ARRANGEMENT_SELECT} WHERE patient_id IN ({{ids}})");
    let rows = rows_for_patients(conn, &sql, &[], patients).await?;
    rows.iter().map(arrangement_from_row).collect()
}

/// Every arrangement version (all patients), for the overdue-review list.
pub async fn all_arrangements(conn: &mut AnyConnection) -> Result<Vec<Arrangement>> {
    let rows = sqlx::query(&format!("{ARRANGEMENT_SELECT} ORDER BY patient_id, version"))
        .fetch_all(conn)
        .await?;
    rows.iter().map(arrangement_from_row).collect()
}

/// Patients who have, or have had, an arrangement at a place or a cover there from a
/// date: the candidates for a place's list; the schedule decides who is due.
pub async fn patients_at_place(
    conn: &mut impl Fetch,
    place: samhand_domain::ids::OrganisationId,
    from: jiff::civil::Date,
) -> Result<Vec<PatientId>> {
    let rows = sqlx::query(
        "SELECT DISTINCT patient_id FROM arrangements WHERE place_id = $1
         UNION SELECT DISTINCT patient_id FROM covers WHERE place_id = $1 AND cover_date >= $2",
    )
    .bind(place.to_string())
    .bind(date_text(from))
    .fetch_all_on(conn)
    .await?;
    rows.iter().map(|r| parsed(r, "patient_id")).collect()
}

pub(crate) fn cover_from_row(row: &AnyRow) -> Result<Cover> {
    let kind = text(row, "kind")?;
    let kind = match kind.as_str() {
        "take_home_from" => CoverKind::TakeHomeFrom(
            parsed_opt(row, "take_home_from")?.ok_or_else(|| corrupt("cover without take_home_from"))?,
        ),
        "at_place" => {
            CoverKind::AtPlace(parsed_opt(row, "place_id")?.ok_or_else(|| corrupt("cover without place"))?)
        }
        other => return Err(corrupt(format!("cover kind {other}"))),
    };
    Ok(Cover {
        id: parsed(row, "id")?,
        patient_id: parsed(row, "patient_id")?,
        date: parsed(row, "cover_date")?,
        kind,
        decided_by: parsed(row, "decided_by")?,
        decided_at: instant(row, "decided_at")?,
    })
}

pub async fn insert_cover(write: &mut PatientWrite, cover: &Cover) -> Result<()> {
    let conn = write.of(cover.patient_id)?;
    let (kind, from, place) = match cover.kind {
        CoverKind::TakeHomeFrom(from) => ("take_home_from", Some(date_text(from)), None),
        CoverKind::AtPlace(place) => ("at_place", None, Some(place.to_string())),
    };
    sqlx::query(
        "INSERT INTO covers (id, patient_id, cover_date, kind, take_home_from, place_id, decided_by, decided_at)
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8)",
    )
    .bind(cover.id.to_string())
    .bind(cover.patient_id.to_string())
    .bind(date_text(cover.date))
    .bind(kind)
    .bind(from)
    .bind(place)
    .bind(cover.decided_by.to_string())
    .bind(micros(cover.decided_at))
    .execute_on(conn)
    .await
    ?;
    Ok(())
}

pub(crate) const COVER_SELECT: &str =
    "SELECT id, patient_id, cover_date, kind, take_home_from, place_id, decided_by, decided_at FROM covers";

pub async fn covers_of(conn: &mut impl Fetch, patients: &[PatientId]) -> Result<Vec<Cover>> {
    let sql = format!("{COVER_SELECT} WHERE patient_id IN ({{ids}})");
    let rows = rows_for_patients(conn, &sql, &[], patients).await?;
    rows.iter().map(cover_from_row).collect()
}

/// The next version number for a patient's arrangement.
pub async fn next_arrangement_version(conn: &mut impl Fetch, patient: PatientId) -> Result<u32> {
    let row = sqlx::query("SELECT COALESCE(MAX(version), 0) AS v FROM arrangements WHERE patient_id = $1")
        .bind(patient.to_string())
        .fetch_one_on(conn)
        .await?;
    Ok(u32::try_from(int(&row, "v")?).map_err(corrupt)? + 1)
}
