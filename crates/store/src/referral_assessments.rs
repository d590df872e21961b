//! After a referral: assessment versions, quick-start offers and planning checks
//! (`referral_assessments`, `quick_start_offers`, `planning_checks`), each
//! written in the patient's write and never changed; and the first dose after a
//! day, which ends the wait.

use std::collections::HashMap;

use jiff::civil::Date;
use samhand_domain::ids::{EpisodeId, PatientId};
use samhand_domain::referral_assessment::{
    Assessment, AssessmentDecision, ChecklistCheck, ChecklistItem, Decision, OfferAnswer, QuickStartOffer,
};
use sqlx::any::AnyRow;
use sqlx::{AnyConnection, Row};

use crate::codec::{corrupt, date_text, instant, int, micros, parsed, parsed_opt, text};
use crate::db::{Result, classify, rows_for_ids, rows_for_patients};
use crate::native::FetchOn;
use crate::patient_write::PatientWrite;

/// Records one version of a referral's assessment. A second writer of the same
/// version gets `Conflict("referral_assessments_version_unique")`.
pub async fn insert_assessment(write: &mut PatientWrite, a: &Assessment) -> Result<()> {
    let conn = write.of(a.patient_id)?;
    sqlx::query(
        "INSERT INTO referral_assessments (id, referral_id, patient_id, version, decision, latest_start,
             reason, correction_reason, assessed_on, assessed_by, assessed_at)
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11)",
    )
    .bind(&a.id)
    .bind(&a.referral_id)
    .bind(a.patient_id.to_string())
    .bind(a.version)
    .bind(a.content.decision.code())
    .bind(a.content.latest_start.map(date_text))
    .bind(&a.content.reason)
    .bind(a.content.correction_reason.clone())
    .bind(date_text(a.assessed_on))
    .bind(a.assessed_by.to_string())
    .bind(micros(a.assessed_at))
    .execute_on(conn)
    .await?;
    Ok(())
}

fn assessment(row: &AnyRow) -> Result<Assessment> {
    let decision = text(row, "decision")?;
    let latest_start: Option<Date> = parsed_opt(row, "latest_start")?;
    let correction_reason: Option<String> = row.try_get("correction_reason")?;
    Ok(Assessment {
        id: text(row, "id")?,
        referral_id: text(row, "referral_id")?,
        patient_id: parsed(row, "patient_id")?,
        version: int(row, "version")?,
        content: AssessmentDecision {
            decision: Decision::from_code(&decision)
                .ok_or_else(|| corrupt(format!("decision {decision}")))?,
            latest_start,
            reason: text(row, "reason")?,
            correction_reason,
        },
        assessed_on: parsed(row, "assessed_on")?,
        assessed_by: parsed(row, "assessed_by")?,
        assessed_at: instant(row, "assessed_at")?,
    })
}

const ASSESSMENT_COLUMNS: &str = "id, referral_id, patient_id, version, decision, latest_start, reason,
    correction_reason, assessed_on, assessed_by, assessed_at";

/// Every version of the assessments of some referrals, by referral, oldest first.
pub async fn assessments_of(
    conn: &mut AnyConnection,
    referrals: &[String],
) -> Result<HashMap<String, Vec<Assessment>>> {
    let sql = format!(
        "SELECT {ASSESSMENT_COLUMNS} FROM referral_assessments WHERE referral_id IN ({{ids}}) ORDER BY version"
    );
    let rows = rows_for_ids(conn, &sql, &[], referrals).await?;
    let mut out: HashMap<String, Vec<Assessment>> = HashMap::new();
    for row in &rows {
        let a = assessment(row)?;
        out.entry(a.referral_id.clone()).or_default().push(a);
    }
    for list in out.values_mut() {
        list.sort_by_key(|a| a.version);
    }
    Ok(out)
}

/// Records a quick-start offer.
pub async fn insert_offer(write: &mut PatientWrite, o: &QuickStartOffer) -> Result<()> {
    let conn = write.of(o.patient_id)?;
    sqlx::query(
        "INSERT INTO quick_start_offers (id, referral_id, patient_id, offered, offered_on, answer, recorded_by, recorded_at)
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8)",
    )
    .bind(&o.id)
    .bind(&o.referral_id)
    .bind(o.patient_id.to_string())
    .bind(&o.offered)
    .bind(date_text(o.offered_on))
    .bind(o.answer.code())
    .bind(o.recorded_by.to_string())
    .bind(micros(o.recorded_at))
    .execute_on(conn)
    .await
    ?;
    Ok(())
}

/// The quick-start offers of some referrals, by referral, in the order recorded.
pub async fn offers_of(
    conn: &mut AnyConnection,
    referrals: &[String],
) -> Result<HashMap<String, Vec<QuickStartOffer>>> {
    let sql = "SELECT id, referral_id, patient_id, offered, offered_on, answer, recorded_by, recorded_at
        FROM quick_start_offers WHERE referral_id IN ({ids}) ORDER BY recorded_at, id";
    let rows = rows_for_ids(conn, sql, &[], referrals).await?;
    let mut out: HashMap<String, Vec<QuickStartOffer>> = HashMap::new();
    for row in &rows {
        let answer = text(row, "answer")?;
        let o = QuickStartOffer {
            id: text(row, "id")?,
            referral_id: text(row, "referral_id")?,
            patient_id: parsed(row, "patient_id")?,
            offered: text(row, "offered")?,
            offered_on: parsed(row, "offered_on")?,
            answer: OfferAnswer::from_code(&answer).ok_or_else(|| corrupt(format!("answer {answer}")))?,
            recorded_by: parsed(row, "recorded_by")?,
            recorded_at: instant(row, "recorded_at")?,
        };
        out.entry(o.referral_id.clone()).or_default().push(o);
    }
    Ok(out)
}

/// Records a planning checklist item checked by hand.
pub async fn insert_check(write: &mut PatientWrite, c: &ChecklistCheck) -> Result<()> {
    let conn = write.of(c.patient_id)?;
    sqlx::query(
        "INSERT INTO planning_checks (id, episode_id, patient_id, item, note, checked_by, checked_at)
         VALUES ($1, $2, $3, $4, $5, $6, $7)",
    )
    .bind(&c.id)
    .bind(c.episode_id.to_string())
    .bind(c.patient_id.to_string())
    .bind(c.item.code())
    .bind(&c.note)
    .bind(c.checked_by.to_string())
    .bind(micros(c.checked_at))
    .execute_on(conn)
    .await?;
    Ok(())
}

/// The checks of one episode, in the order recorded.
pub async fn checks_of(conn: &mut AnyConnection, episode: EpisodeId) -> Result<Vec<ChecklistCheck>> {
    let rows = sqlx::query(
        "SELECT id, episode_id, patient_id, item, note, checked_by, checked_at
         FROM planning_checks WHERE episode_id = $1 ORDER BY checked_at, id",
    )
    .bind(episode.to_string())
    .fetch_all(conn)
    .await
    .map_err(classify)?;
    rows.iter()
        .map(|row| {
            let item = text(row, "item")?;
            Ok(ChecklistCheck {
                id: text(row, "id")?,
                episode_id: parsed(row, "episode_id")?,
                patient_id: parsed(row, "patient_id")?,
                item: ChecklistItem::from_code(&item).ok_or_else(|| corrupt(format!("item {item}")))?,
                note: text(row, "note")?,
                checked_by: parsed(row, "checked_by")?,
                checked_at: instant(row, "checked_at")?,
            })
        })
        .collect()
}

/// Each patient's dose days had (given, reduced or handed over; not voided), in
/// ascending order, so that the first on or after a referral's receipt is its
/// start.
pub async fn dose_days(
    conn: &mut AnyConnection,
    patients: &[PatientId],
) -> Result<HashMap<PatientId, Vec<Date>>> {
    let sql = "SELECT DISTINCT d.patient_id, d.dose_date FROM dispensed_doses d
        LEFT JOIN dispensing_voids v ON v.patient_id = d.patient_id AND v.dose_date = d.dose_date
            AND v.part = d.part AND v.generation = d.generation
        WHERE d.amount_ug > 0 AND v.correction_event_id IS NULL AND d.patient_id IN ({ids})";
    let rows = rows_for_patients(conn, sql, &[], patients).await?;
    let mut out: HashMap<PatientId, Vec<Date>> = HashMap::new();
    for row in &rows {
        out.entry(parsed(row, "patient_id")?)
            .or_default()
            .push(parsed(row, "dose_date")?);
    }
    for days in out.values_mut() {
        days.sort_unstable();
    }
    Ok(out)
}
