//! Patients, identity photos, LAR episodes, and the patient's relations to
//! organisations that the access policy reads.

use jiff::Timestamp;
use samhand_domain::ids::{EpisodeId, OrganisationId, PatientId, UserId};
use samhand_domain::national_id::NationalId;
use samhand_domain::patient::{EndReason, Episode, EpisodeEnd, IdentityVersion, NewPatient, Patient, Phase};
use sqlx::any::AnyRow;
use sqlx::{AnyConnection, Row};

use crate::Conn;
use crate::codec::{corrupt, date_text, instant, int, micros, parsed, text};
use crate::db::{Result, rows_for_patients};
use crate::native::{Fetch, FetchOn};
use crate::patient_write::{Owner, PatientWrite};

pub(crate) const PATIENT_SELECT: &str =
    "SELECT p.id, p.national_id, p.given_name, p.family_name, p.phone, p.address,
    (SELECT COUNT(*) FROM patient_photos ph WHERE ph.patient_id = p.id) AS photos FROM patients p";

pub(crate) fn patient_from_row(row: &AnyRow) -> Result<Patient> {
    let national_id = text(row, "national_id")?;
    Ok(Patient {
        id: parsed(row, "id")?,
        national_id: NationalId::parse(&national_id).map_err(|_| corrupt("stored national id"))?,
        given_name: text(row, "given_name")?,
        family_name: text(row, "family_name")?,
        phone: text(row, "phone")?,
        address: text(row, "address")?,
        has_photo: int(row, "photos")? > 0,
    })
}

/// Registers a patient: the current projection in `patients` and the first
/// version of the identity, together.
pub async fn insert(
    write: &mut PatientWrite,
    id: PatientId,
    patient: &NewPatient,
    by: UserId,
    at: Timestamp,
) -> Result<()> {
    let conn = write.of(id)?;
    sqlx::query(
        "INSERT INTO patients (id, national_id, given_name, family_name, phone, address, created_by, created_at)
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8)",
    )
    .bind(id.to_string())
    .bind(patient.national_id.as_str())
    .bind(&patient.given_name)
    .bind(&patient.family_name)
    .bind(&patient.phone)
    .bind(&patient.address)
    .bind(by.to_string())
    .bind(micros(at))
    .execute_on(&mut *conn)
    .await
    ?;
    insert_identity_row(conn, &IdentityVersion::first(id, patient, by, at)).await
}

async fn insert_identity_row(conn: &mut impl Fetch, v: &IdentityVersion) -> Result<()> {
    sqlx::query(
        "INSERT INTO patient_identity_versions
            (patient_id, version, national_id, given_name, family_name, phone, address, reason, recorded_by, recorded_at)
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10)",
    )
    .bind(v.patient_id.to_string())
    .bind(v.version)
    .bind(v.national_id.as_str())
    .bind(&v.given_name)
    .bind(&v.family_name)
    .bind(&v.phone)
    .bind(&v.address)
    .bind(&v.reason)
    .bind(v.recorded_by.to_string())
    .bind(micros(v.recorded_at))
    .execute_on(conn)
    .await?;
    Ok(())
}

/// A correction of the identity: the next version, and the `patients` row (the
/// current projection every query reads) set to it, in the caller's transaction.
/// A version that already exists is [`crate::StoreError::Conflict`]
/// (`patient_identity_versions_once`): someone else changed the identity first.
pub async fn insert_identity_version(write: &mut PatientWrite, v: &IdentityVersion) -> Result<()> {
    let conn = write.of(v.patient_id)?;
    insert_identity_row(conn, v).await?;
    sqlx::query(
        "UPDATE patients SET given_name = $1, family_name = $2, phone = $3, address = $4
         WHERE id = $5 AND national_id = $6",
    )
    .bind(&v.given_name)
    .bind(&v.family_name)
    .bind(&v.phone)
    .bind(&v.address)
    .bind(v.patient_id.to_string())
    .bind(v.national_id.as_str())
    .execute_on(conn)
    .await?;
    Ok(())
}

/// The versions of patients' identities, for a `WHERE` to follow.
pub(crate) const IDENTITY_VERSION_SELECT: &str = "SELECT patient_id, version, national_id, given_name, family_name, phone, address, reason, recorded_by, recorded_at
    FROM patient_identity_versions";

/// Every version of the identity of some patients, oldest first per patient.
pub async fn identity_versions_of(
    conn: &mut impl Fetch,
    patients: &[PatientId],
) -> Result<Vec<IdentityVersion>> {
    let sql = format!("{IDENTITY_VERSION_SELECT} WHERE patient_id IN ({{ids}}) ORDER BY patient_id, version");
    let rows = rows_for_patients(conn, &sql, &[], patients).await?;
    rows.iter().map(identity_version_from_row).collect()
}

pub(crate) fn identity_version_from_row(row: &AnyRow) -> Result<IdentityVersion> {
    let national_id = text(row, "national_id")?;
    Ok(IdentityVersion {
        patient_id: parsed(row, "patient_id")?,
        version: int(row, "version")?,
        national_id: NationalId::parse(&national_id).map_err(|_| corrupt("stored national id"))?,
        given_name: text(row, "given_name")?,
        family_name: text(row, "family_name")?,
        phone: text(row, "phone")?,
        address: text(row, "address")?,
        reason: text(row, "reason")?,
        recorded_by: parsed(row, "recorded_by")?,
        recorded_at: instant(row, "recorded_at")?,
    })
}

pub async fn get(conn: &mut impl Fetch, id: PatientId) -> Result<Option<Patient>> {
    let row = sqlx::query(&format!("{PATIENT_SELECT} WHERE p.id = $1"))
        .bind(id.to_string())
        .fetch_optional_on(conn)
        .await?;
    row.as_ref().map(patient_from_row).transpose()
}

pub async fn by_national_id(conn: &mut impl Fetch, national_id: &NationalId) -> Result<Option<Patient>> {
    let row = sqlx::query(&format!("{PATIENT_SELECT} WHERE p.national_id = $1"))
        .bind(national_id.as_str())
        .fetch_optional_on(conn)
        .await?;
    row.as_ref().map(patient_from_row).transpose()
}

/// The patients a staff member may have a relation to, by any stored relation of
/// theirs or their organisation's: an episode at the unit, an arrangement or a cover
/// at the place, a seat in the care team, a stay at the institution, a prescribing
/// hand-over to the service. The candidates of a search and of a FHIR search; the
/// access policy decides each.
const RELATED: &str = "SELECT patient_id FROM episodes WHERE responsible_unit = $1
     UNION SELECT patient_id FROM arrangements WHERE place_id = $1
     UNION SELECT patient_id FROM covers WHERE place_id = $1
     UNION SELECT patient_id FROM care_team_members WHERE user_id = $2 OR organisation_id = $1
     UNION SELECT patient_id FROM stays WHERE institution_id = $1
     UNION SELECT patient_id FROM prescribing_handovers WHERE to_organisation = $1";

/// The ids of the patients related to a staff member ([`RELATED`]).
pub async fn related_to(
    conn: &mut AnyConnection,
    org: OrganisationId,
    user: UserId,
) -> Result<Vec<PatientId>> {
    let rows = sqlx::query(&format!("{RELATED} ORDER BY patient_id"))
        .bind(org.to_string())
        .bind(user.to_string())
        .fetch_all(conn)
        .await?;
    rows.iter().map(|r| parsed(r, "patient_id")).collect()
}

/// Patients whose name or number matches, among those related to a staff member
/// ([`RELATED`]): search never reaches outside the care relations; the access
/// policy still decides each hit. Names are compared in Rust, because SQLite's
/// LOWER() folds only ASCII and Norwegian names have Æ, Ø and Å.
pub async fn search(
    conn: &mut AnyConnection,
    query: &str,
    org: OrganisationId,
    user: UserId,
    limit: usize,
) -> Result<Vec<Patient>> {
    let needle = query.trim().to_lowercase();
    let rows = sqlx::query(&format!(
        "{PATIENT_SELECT} WHERE p.id IN ({RELATED}) ORDER BY p.family_name, p.given_name"
    ))
    .bind(org.to_string())
    .bind(user.to_string())
    .fetch_all(conn)
    .await?;
    let mut found = Vec::new();
    for row in &rows {
        let patient = patient_from_row(row)?;
        let name = format!("{} {}", patient.given_name, patient.family_name).to_lowercase();
        if name.contains(&needle) || patient.national_id.as_str().contains(&needle) {
            found.push(patient);
            if found.len() == limit {
                break;
            }
        }
    }
    Ok(found)
}

pub async fn insert_photo(
    write: &mut PatientWrite,
    patient: PatientId,
    content_type: &str,
    bytes: &[u8],
    by: UserId,
    at: Timestamp,
) -> Result<()> {
    let conn = write.of(patient)?;
    sqlx::query(
        "INSERT INTO patient_photos (id, patient_id, content_type, bytes, created_by, created_at)
         VALUES ($1, $2, $3, $4, $5, $6)",
    )
    .bind(uuid::Uuid::now_v7().to_string())
    .bind(patient.to_string())
    .bind(content_type)
    .bind(bytes.to_vec())
    .bind(by.to_string())
    .bind(micros(at))
    .execute_on(conn)
    .await?;
    Ok(())
}

/// The newest identity photo.
pub async fn photo(conn: &mut AnyConnection, patient: PatientId) -> Result<Option<(String, Vec<u8>)>> {
    let row = sqlx::query(
        "SELECT content_type, bytes FROM patient_photos WHERE patient_id = $1 ORDER BY created_at DESC LIMIT 1",
    )
    .bind(patient.to_string())
    .fetch_optional(conn)
    .await?;
    row.map(|r| Ok((text(&r, "content_type")?, r.try_get::<Vec<u8>, _>("bytes")?)))
        .transpose()
}

pub(crate) const EPISODE_SELECT: &str =
    "SELECT e.id, e.patient_id, e.responsible_unit, e.doctor_id, e.consultant_id,
    e.started_on, e.phase, e.created_at, x.ended_on, x.reason AS end_reason, x.note AS end_note,
    x.decided_by AS end_by FROM episodes e LEFT JOIN episode_ends x ON x.episode_id = e.id";

pub(crate) fn episode_from_row(row: &AnyRow) -> Result<Episode> {
    let phase = text(row, "phase")?;
    let ended_on: Option<String> = row.try_get("ended_on")?;
    let ended = match ended_on {
        None => None,
        Some(on) => {
            let reason = text(row, "end_reason")?;
            Some(EpisodeEnd {
                on: on.parse().map_err(corrupt)?,
                reason: EndReason::from_code(&reason)
                    .ok_or_else(|| corrupt(format!("end reason {reason}")))?,
                note: text(row, "end_note")?,
                decided_by: parsed(row, "end_by")?,
            })
        }
    };
    Ok(Episode {
        id: parsed(row, "id")?,
        patient_id: parsed(row, "patient_id")?,
        responsible_unit: parsed(row, "responsible_unit")?,
        doctor: parsed(row, "doctor_id")?,
        consultant: parsed(row, "consultant_id")?,
        started_on: parsed(row, "started_on")?,
        phase: Phase::from_code(&phase).ok_or_else(|| corrupt(format!("phase {phase}")))?,
        ended,
        created_at: instant(row, "created_at")?,
    })
}

pub async fn insert_episode(write: &mut PatientWrite, episode: &Episode, by: UserId) -> Result<()> {
    let conn = write.of(episode.patient_id)?;
    sqlx::query(
        "INSERT INTO episodes (id, patient_id, responsible_unit, doctor_id, consultant_id, started_on, phase, created_by, created_at)
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9)",
    )
    .bind(episode.id.to_string())
    .bind(episode.patient_id.to_string())
    .bind(episode.responsible_unit.to_string())
    .bind(episode.doctor.to_string())
    .bind(episode.consultant.to_string())
    .bind(date_text(episode.started_on))
    .bind(episode.phase.code())
    .bind(by.to_string())
    .bind(micros(episode.created_at))
    .execute_on(conn)
    .await
    ?;
    Ok(())
}

pub async fn end_episode(
    write: &mut PatientWrite,
    episode: EpisodeId,
    end: &EpisodeEnd,
    at: Timestamp,
) -> Result<()> {
    let conn = write.of_owner(Owner::Episode, &episode.to_string()).await?;
    sqlx::query(
        "INSERT INTO episode_ends (episode_id, ended_on, reason, note, decided_by, decided_at) VALUES ($1, $2, $3, $4, $5, $6)",
    )
    .bind(episode.to_string())
    .bind(date_text(end.on))
    .bind(end.reason.code())
    .bind(&end.note)
    .bind(end.decided_by.to_string())
    .bind(micros(at))
    .execute_on(conn)
    .await
    ?;
    Ok(())
}

/// All episodes of a patient, oldest first.
pub async fn episodes(conn: &mut impl Fetch, patient: PatientId) -> Result<Vec<Episode>> {
    let rows = sqlx::query(&format!(
        "{EPISODE_SELECT} WHERE e.patient_id = $1 ORDER BY e.started_on, e.created_at"
    ))
    .bind(patient.to_string())
    .fetch_all_on(conn)
    .await?;
    rows.iter().map(episode_from_row).collect()
}

pub async fn episode(conn: &mut AnyConnection, id: EpisodeId) -> Result<Option<Episode>> {
    let row = sqlx::query(&format!("{EPISODE_SELECT} WHERE e.id = $1"))
        .bind(id.to_string())
        .fetch_optional(conn)
        .await?;
    row.as_ref().map(episode_from_row).transpose()
}

/// Episodes of many patients at once (for today's list).
pub async fn episodes_of(conn: &mut impl Fetch, patients: &[PatientId]) -> Result<Vec<Episode>> {
    let sql = format!("{EPISODE_SELECT} WHERE e.patient_id IN ({{ids}})");
    let rows = rows_for_patients(conn, &sql, &[], patients).await?;
    rows.iter().map(episode_from_row).collect()
}

pub async fn patients_of(conn: &mut impl Fetch, patients: &[PatientId]) -> Result<Vec<Patient>> {
    let sql = format!("{PATIENT_SELECT} WHERE p.id IN ({{ids}})");
    let rows = rows_for_patients(conn, &sql, &[], patients).await?;
    rows.iter().map(patient_from_row).collect()
}

/// Patients with an episode at a LAR unit (current or earlier).
pub async fn ids_of_unit(conn: &mut Conn, unit: OrganisationId) -> Result<Vec<PatientId>> {
    let rows = sqlx::query("SELECT DISTINCT patient_id FROM episodes WHERE responsible_unit = $1")
        .bind(unit.to_string())
        .fetch_all(conn)
        .await?;
    rows.iter().map(|r| parsed(r, "patient_id")).collect()
}
