//! Referrals (`referrals`): written with the patient and the episode they open, in
//! that patient's write; read back by episode and for a unit's waiting list.

use jiff::civil::Date;
use samhand_domain::ids::{EpisodeId, OrganisationId, PatientId};
use samhand_domain::referral::{Referral, ReferralDetails};
use sqlx::AnyConnection;
use sqlx::any::AnyRow;

use crate::codec::{date_text, instant, micros, parsed, parsed_opt, text};
use crate::db::{Result, classify};
use crate::native::FetchOn;
use crate::patient_write::PatientWrite;

/// Records a referral of `referral.patient_id`.
pub async fn insert(write: &mut PatientWrite, referral: &Referral) -> Result<()> {
    let conn = write.of(referral.patient_id)?;
    let d = &referral.details;
    sqlx::query(
        "INSERT INTO referrals (id, patient_id, episode_id, referrer_name, referrer_service, reason,
             referrer_assessment, received_on, referred_by_user, registered_by, registered_at,
             referrer_organisation_id)
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12)",
    )
    .bind(&referral.id)
    .bind(referral.patient_id.to_string())
    .bind(referral.episode_id.to_string())
    .bind(&d.referrer_name)
    .bind(&d.referrer_service)
    .bind(&d.reason)
    .bind(&d.referrer_assessment)
    .bind(date_text(d.received_on))
    .bind(referral.referred_by_user.map(|u| u.to_string()))
    .bind(referral.registered_by.to_string())
    .bind(micros(referral.registered_at))
    .bind(referral.referrer_organisation.map(|o| o.to_string()))
    .execute_on(conn)
    .await?;
    Ok(())
}

fn referral(row: &AnyRow) -> Result<Referral> {
    Ok(Referral {
        id: text(row, "id")?,
        patient_id: parsed(row, "patient_id")?,
        episode_id: parsed(row, "episode_id")?,
        details: ReferralDetails {
            referrer_name: text(row, "referrer_name")?,
            referrer_service: text(row, "referrer_service")?,
            reason: text(row, "reason")?,
            referrer_assessment: text(row, "referrer_assessment")?,
            received_on: parsed::<Date>(row, "received_on")?,
        },
        referred_by_user: parsed_opt(row, "referred_by_user")?,
        referrer_organisation: parsed_opt(row, "referrer_organisation_id")?,
        registered_by: parsed(row, "registered_by")?,
        registered_at: instant(row, "registered_at")?,
    })
}

const COLUMNS: &str = "r.id, r.patient_id, r.episode_id, r.referrer_name, r.referrer_service, r.reason,
    r.referrer_assessment, r.received_on, r.referred_by_user, r.registered_by, r.registered_at,
    r.referrer_organisation_id";

/// The referral that opened an episode, if it was opened by one.
pub async fn of_episode(conn: &mut AnyConnection, episode: EpisodeId) -> Result<Option<Referral>> {
    let sql = format!("SELECT {COLUMNS} FROM referrals r WHERE r.episode_id = $1");
    let row = sqlx::query(&sql)
        .bind(episode.to_string())
        .fetch_optional(conn)
        .await
        .map_err(classify)?;
    row.as_ref().map(referral).transpose()
}

/// One referral by id.
pub async fn get(conn: &mut AnyConnection, id: &str) -> Result<Option<Referral>> {
    let sql = format!("SELECT {COLUMNS} FROM referrals r WHERE r.id = $1");
    let row = sqlx::query(&sql)
        .bind(id)
        .fetch_optional(conn)
        .await
        .map_err(classify)?;
    row.as_ref().map(referral).transpose()
}

/// The referrals received by `unit` (its episodes) from `from` to `to`
/// inclusive, ended or not: the indicators' population.
pub async fn received_by_unit(
    conn: &mut AnyConnection,
    unit: OrganisationId,
    from: Date,
    to: Date,
) -> Result<Vec<Referral>> {
    let sql = format!(
        "SELECT {COLUMNS} FROM referrals r JOIN episodes e ON e.id = r.episode_id
         WHERE e.responsible_unit = $1 AND r.received_on >= $2 AND r.received_on <= $3
         ORDER BY r.received_on, r.id"
    );
    let rows = sqlx::query(&sql)
        .bind(unit.to_string())
        .bind(date_text(from))
        .bind(date_text(to))
        .fetch_all(conn)
        .await
        .map_err(classify)?;
    rows.iter().map(referral).collect()
}

/// The referrals of one patient, oldest first.
pub async fn of_patient(conn: &mut AnyConnection, patient: PatientId) -> Result<Vec<Referral>> {
    let sql =
        format!("SELECT {COLUMNS} FROM referrals r WHERE r.patient_id = $1 ORDER BY r.received_on, r.id");
    let rows = sqlx::query(&sql)
        .bind(patient.to_string())
        .fetch_all(conn)
        .await
        .map_err(classify)?;
    rows.iter().map(referral).collect()
}

/// The referrals whose episode is under `unit` and not ended, oldest received
/// first: the unit's waiting list before the assessments and first doses are
/// looked at (the episode's phase is not: an assessed patient may be planned).
pub async fn open_of_unit(conn: &mut AnyConnection, unit: OrganisationId) -> Result<Vec<Referral>> {
    let sql = format!(
        "SELECT {COLUMNS} FROM referrals r JOIN episodes e ON e.id = r.episode_id
         WHERE e.responsible_unit = $1
           AND NOT EXISTS (SELECT 1 FROM episode_ends x WHERE x.episode_id = e.id)
         ORDER BY r.received_on, r.id"
    );
    let rows = sqlx::query(&sql)
        .bind(unit.to_string())
        .fetch_all(conn)
        .await
        .map_err(classify)?;
    rows.iter().map(referral).collect()
}

/// The referrals a referring organisation sent from Samhand (or was registered as
/// the referrer of), newest received first: its status list.
pub async fn sent_from(conn: &mut AnyConnection, organisation: OrganisationId) -> Result<Vec<Referral>> {
    let sql = format!(
        "SELECT {COLUMNS} FROM referrals r WHERE r.referrer_organisation_id = $1
         ORDER BY r.received_on DESC, r.id DESC"
    );
    let rows = sqlx::query(&sql)
        .bind(organisation.to_string())
        .fetch_all(conn)
        .await
        .map_err(classify)?;
    rows.iter().map(referral).collect()
}
