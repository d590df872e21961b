//! The patient portal's accounts: the password set with a one-time code and the
//! login counters. Sessions and login attempts are in [`crate::sessions`].

use jiff::Timestamp;
use samhand_domain::ids::{PatientId, UserId};
use samhand_domain::privacy::PatientUser;

use crate::PatientWrite;
use crate::codec::{instant, instant_opt, int, micros, parsed, text};
use crate::db::Result;
use crate::native::{Fetch, FetchOn};

/// The patient behind an active portal account, as the portal acts for them.
pub async fn patient_user(conn: &mut impl Fetch, account: UserId) -> Result<Option<PatientUser>> {
    let row = sqlx::query(
        "SELECT a.id, a.patient_id, p.given_name, p.family_name
         FROM patient_accounts a JOIN patients p ON p.id = a.patient_id
         WHERE a.id = $1 AND a.active = 1",
    )
    .bind(account.to_string())
    .fetch_optional_on(conn)
    .await?;
    row.map(|r| {
        Ok(PatientUser {
            id: parsed(&r, "id")?,
            patient_id: parsed(&r, "patient_id")?,
            display_name: format!("{} {}", text(&r, "given_name")?, text(&r, "family_name")?),
        })
    })
    .transpose()
}

/// A patient's account as the login needs it.
#[derive(Debug, Clone)]
pub struct Account {
    pub id: UserId,
    pub patient_id: PatientId,
    pub active: bool,
    pub password_hash: Option<String>,
    pub failed_logins: i64,
    pub last_failed_login_at: Option<Timestamp>,
}

pub async fn account_of_patient(conn: &mut impl Fetch, patient: PatientId) -> Result<Option<Account>> {
    let row = sqlx::query(
        "SELECT id, patient_id, active, password_hash, failed_logins, last_failed_login_at
         FROM patient_accounts WHERE patient_id = $1",
    )
    .bind(patient.to_string())
    .fetch_optional_on(conn)
    .await?;
    row.map(|r| {
        Ok(Account {
            id: parsed(&r, "id")?,
            patient_id: parsed(&r, "patient_id")?,
            active: int(&r, "active")? != 0,
            password_hash: sqlx::Row::try_get(&r, "password_hash")?,
            failed_logins: int(&r, "failed_logins")?,
            last_failed_login_at: instant_opt(&r, "last_failed_login_at")?,
        })
    })
    .transpose()
}

pub async fn insert_code(
    conn: &mut impl Fetch,
    account: UserId,
    code_hash: &str,
    created_by: UserId,
    now: Timestamp,
    expires_at: Timestamp,
) -> Result<()> {
    sqlx::query(
        "INSERT INTO patient_activation_codes (id, account_id, code_hash, created_at, created_by, expires_at)
         VALUES ($1, $2, $3, $4, $5, $6)",
    )
    .bind(uuid::Uuid::now_v7().to_string())
    .bind(account.to_string())
    .bind(code_hash)
    .bind(micros(now))
    .bind(created_by.to_string())
    .bind(micros(expires_at))
    .execute_on(conn)
    .await?;
    Ok(())
}

/// The id of an unused, unexpired code of the account with this hash.
pub async fn valid_code(
    conn: &mut impl Fetch,
    account: UserId,
    code_hash: &str,
    now: Timestamp,
) -> Result<Option<String>> {
    let row = sqlx::query(
        "SELECT id FROM patient_activation_codes
         WHERE account_id = $1 AND code_hash = $2 AND used_at IS NULL AND expires_at > $3",
    )
    .bind(account.to_string())
    .bind(code_hash)
    .bind(micros(now))
    .fetch_optional_on(conn)
    .await?;
    row.map(|r| text(&r, "id")).transpose()
}

/// Uses a code (once: a second use changes nothing) and sets the password.
pub async fn activate(
    conn: &mut impl Fetch,
    code_id: &str,
    account: UserId,
    password_hash: &str,
    now: Timestamp,
) -> Result<bool> {
    let used =
        sqlx::query("UPDATE patient_activation_codes SET used_at = $1 WHERE id = $2 AND used_at IS NULL")
            .bind(micros(now))
            .bind(code_id)
            .execute_on(&mut *conn)
            .await?;
    if used == 0 {
        return Ok(false);
    }
    sqlx::query(
        "UPDATE patient_accounts SET password_hash = $1, failed_logins = 0, last_failed_login_at = NULL WHERE id = $2",
    )
    .bind(password_hash)
    .bind(account.to_string())
    .execute_on(conn)
    .await?;
    Ok(true)
}

/// Records that a task came from the patient's request.
pub async fn insert_request(
    write: &mut PatientWrite,
    patient: PatientId,
    account: UserId,
    kind: &str,
    task: samhand_domain::ids::TaskId,
    now: Timestamp,
) -> Result<()> {
    let conn = write.of(patient)?;
    sqlx::query(
        "INSERT INTO patient_requests (id, patient_id, account_id, kind, task_id, created_at) VALUES ($1, $2, $3, $4, $5, $6)",
    )
    .bind(uuid::Uuid::now_v7().to_string())
    .bind(patient.to_string())
    .bind(account.to_string())
    .bind(kind)
    .bind(task.to_string())
    .bind(micros(now))
    .execute_on(conn)
    .await
    ?;
    Ok(())
}

/// The tasks that came from the patient's requests.
pub async fn request_tasks(
    conn: &mut impl Fetch,
    patient: PatientId,
) -> Result<Vec<samhand_domain::ids::TaskId>> {
    let rows =
        sqlx::query("SELECT task_id FROM patient_requests WHERE patient_id = $1 ORDER BY created_at DESC")
            .bind(patient.to_string())
            .fetch_all_on(conn)
            .await?;
    rows.iter().map(|r| parsed(r, "task_id")).collect()
}

/// What the patient wrote in their own words for one life domain.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OwnWords {
    pub domain: String,
    pub goal: String,
    pub comment: String,
    pub written_at: Timestamp,
}

pub async fn insert_own_words(
    write: &mut PatientWrite,
    patient: PatientId,
    account: UserId,
    words: &OwnWords,
) -> Result<()> {
    let conn = write.of(patient)?;
    sqlx::query(
        "INSERT INTO plan_patient_words (id, patient_id, account_id, domain, goal, comment, written_at)
         VALUES ($1, $2, $3, $4, $5, $6, $7)",
    )
    .bind(uuid::Uuid::now_v7().to_string())
    .bind(patient.to_string())
    .bind(account.to_string())
    .bind(&words.domain)
    .bind(&words.goal)
    .bind(&words.comment)
    .bind(micros(words.written_at))
    .execute_on(conn)
    .await?;
    Ok(())
}

/// Every version of the patient's own words, oldest first.
pub async fn own_words(conn: &mut impl Fetch, patient: PatientId) -> Result<Vec<OwnWords>> {
    let rows = sqlx::query(
        "SELECT domain, goal, comment, written_at FROM plan_patient_words WHERE patient_id = $1 ORDER BY written_at, id",
    )
    .bind(patient.to_string())
    .fetch_all_on(conn)
    .await?;
    rows.iter()
        .map(|r| {
            Ok(OwnWords {
                domain: text(r, "domain")?,
                goal: text(r, "goal")?,
                comment: text(r, "comment")?,
                written_at: instant(r, "written_at")?,
            })
        })
        .collect()
}

/// Removes one-time codes that expired unused more than a day ago; how many.
pub async fn delete_expired_codes(conn: &mut impl Fetch, now: Timestamp) -> Result<u64> {
    let done = sqlx::query("DELETE FROM patient_activation_codes WHERE used_at IS NULL AND expires_at < $1")
        .bind(micros(now - jiff::SignedDuration::from_hours(24)))
        .execute_on(conn)
        .await?;
    Ok(done)
}
