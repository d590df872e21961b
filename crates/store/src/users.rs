//! Staff users, login sessions and API tokens. Secrets are stored only as hashes.

use jiff::Timestamp;
use samhand_domain::ids::{OrganisationId, UserId};
use samhand_domain::organisation::{OrganisationKind, Role, StaffUser};
use sqlx::AnyConnection;
use sqlx::any::AnyRow;

use crate::codec::{corrupt, int, micros, parsed, text};
use crate::db::{Result, classify};

/// A user row with what login needs.
#[derive(Debug, Clone)]
pub struct UserRecord {
    pub user: StaffUser,
    pub password_hash: Option<String>,
    pub active: bool,
    pub failed_logins: i64,
    pub last_failed_login_at: Option<Timestamp>,
}

const SELECT: &str = "SELECT u.id, u.username, u.display_name, u.role, u.organisation_id, o.kind AS org_kind,
    u.password_hash, u.active, u.failed_logins, u.last_failed_login_at FROM users u JOIN organisations o ON o.id = u.organisation_id";

fn from_row(row: &AnyRow) -> Result<UserRecord> {
    let role = text(row, "role")?;
    let kind = text(row, "org_kind")?;
    Ok(UserRecord {
        user: StaffUser {
            id: parsed(row, "id")?,
            username: text(row, "username")?,
            display_name: text(row, "display_name")?,
            role: Role::from_code(&role).ok_or_else(|| corrupt(format!("role {role}")))?,
            organisation_id: parsed(row, "organisation_id")?,
            organisation_kind: OrganisationKind::from_code(&kind)
                .ok_or_else(|| corrupt(format!("kind {kind}")))?,
        },
        password_hash: sqlx::Row::try_get(row, "password_hash")?,
        active: int(row, "active")? != 0,
        failed_logins: int(row, "failed_logins")?,
        last_failed_login_at: crate::codec::instant_opt(row, "last_failed_login_at")?,
    })
}

pub struct NewUser<'a> {
    pub id: UserId,
    pub username: &'a str,
    pub display_name: &'a str,
    pub role: Role,
    pub organisation_id: OrganisationId,
    pub password_hash: Option<&'a str>,
}

pub async fn insert(conn: &mut AnyConnection, user: &NewUser<'_>, at: Timestamp) -> Result<()> {
    sqlx::query(
        "INSERT INTO users (id, username, display_name, role, organisation_id, password_hash, active, failed_logins, created_at)
         VALUES ($1, $2, $3, $4, $5, $6, 1, 0, $7)",
    )
    .bind(user.id.to_string())
    .bind(user.username)
    .bind(user.display_name)
    .bind(user.role.code())
    .bind(user.organisation_id.to_string())
    .bind(user.password_hash.map(str::to_string))
    .bind(micros(at))
    .execute(conn)
    .await
    .map_err(classify)?;
    Ok(())
}

pub async fn by_username(conn: &mut AnyConnection, username: &str) -> Result<Option<UserRecord>> {
    let row = sqlx::query(&format!("{SELECT} WHERE u.username = $1"))
        .bind(username)
        .fetch_optional(conn)
        .await?;
    row.as_ref().map(from_row).transpose()
}

pub async fn by_id(conn: &mut AnyConnection, id: UserId) -> Result<Option<UserRecord>> {
    let row = sqlx::query(&format!("{SELECT} WHERE u.id = $1"))
        .bind(id.to_string())
        .fetch_optional(conn)
        .await?;
    row.as_ref().map(from_row).transpose()
}

/// Staff of an organisation with a role (e.g. the prescribers of a LAR unit).
pub async fn by_organisation(conn: &mut AnyConnection, org: OrganisationId) -> Result<Vec<StaffUser>> {
    let rows = sqlx::query(&format!(
        "{SELECT} WHERE u.organisation_id = $1 AND u.active = 1 ORDER BY u.display_name"
    ))
    .bind(org.to_string())
    .fetch_all(conn)
    .await?;
    rows.iter().map(|r| from_row(r).map(|u| u.user)).collect()
}

pub async fn record_login_attempt(
    conn: &mut AnyConnection,
    id: UserId,
    succeeded: bool,
    at: Timestamp,
) -> Result<()> {
    if succeeded {
        sqlx::query("UPDATE users SET failed_logins = 0, last_failed_login_at = NULL WHERE id = $1")
            .bind(id.to_string())
            .execute(conn)
            .await?;
    } else {
        sqlx::query(
            "UPDATE users SET failed_logins = failed_logins + 1, last_failed_login_at = $1 WHERE id = $2",
        )
        .bind(micros(at))
        .bind(id.to_string())
        .execute(conn)
        .await?;
    }
    Ok(())
}

pub async fn set_password(conn: &mut AnyConnection, id: UserId, hash: &str) -> Result<()> {
    sqlx::query("UPDATE users SET password_hash = $1, failed_logins = 0 WHERE id = $2")
        .bind(hash)
        .bind(id.to_string())
        .execute(conn)
        .await?;
    Ok(())
}

/// A login session: the cookie holds a random token; only its hash is stored.
#[derive(Debug, Clone)]
pub struct Session {
    pub user_id: UserId,
    pub csrf_token: String,
    pub last_seen_at: Timestamp,
    pub expires_at: Timestamp,
}

pub async fn insert_session(
    conn: &mut AnyConnection,
    token_hash: &str,
    user_id: UserId,
    csrf_token: &str,
    now: Timestamp,
    expires_at: Timestamp,
) -> Result<()> {
    sqlx::query(
        "INSERT INTO sessions (token_hash, user_id, csrf_token, created_at, last_seen_at, expires_at)
         VALUES ($1, $2, $3, $4, $4, $5)",
    )
    .bind(token_hash)
    .bind(user_id.to_string())
    .bind(csrf_token)
    .bind(micros(now))
    .bind(micros(expires_at))
    .execute(conn)
    .await
    .map_err(classify)?;
    Ok(())
}

pub async fn session(conn: &mut AnyConnection, token_hash: &str) -> Result<Option<Session>> {
    let row = sqlx::query(
        "SELECT user_id, csrf_token, last_seen_at, expires_at FROM sessions WHERE token_hash = $1",
    )
    .bind(token_hash)
    .fetch_optional(conn)
    .await?;
    row.map(|r| {
        Ok(Session {
            user_id: parsed(&r, "user_id")?,
            csrf_token: text(&r, "csrf_token")?,
            last_seen_at: crate::codec::instant(&r, "last_seen_at")?,
            expires_at: crate::codec::instant(&r, "expires_at")?,
        })
    })
    .transpose()
}

pub async fn touch_session(conn: &mut AnyConnection, token_hash: &str, now: Timestamp) -> Result<()> {
    sqlx::query("UPDATE sessions SET last_seen_at = $1 WHERE token_hash = $2")
        .bind(micros(now))
        .bind(token_hash)
        .execute(conn)
        .await?;
    Ok(())
}

pub async fn delete_session(conn: &mut AnyConnection, token_hash: &str) -> Result<()> {
    sqlx::query("DELETE FROM sessions WHERE token_hash = $1")
        .bind(token_hash)
        .execute(conn)
        .await?;
    Ok(())
}

pub async fn insert_api_token(
    conn: &mut AnyConnection,
    token_hash: &str,
    user_id: UserId,
    now: Timestamp,
    expires_at: Timestamp,
) -> Result<String> {
    let id = uuid::Uuid::now_v7().to_string();
    sqlx::query("INSERT INTO api_tokens (id, token_hash, user_id, created_at, expires_at) VALUES ($1, $2, $3, $4, $5)")
        .bind(&id)
        .bind(token_hash)
        .bind(user_id.to_string())
        .bind(micros(now))
        .bind(micros(expires_at))
        .execute(conn)
        .await
        .map_err(classify)?;
    Ok(id)
}

/// The user of a valid (unexpired, unrevoked) API token.
pub async fn api_token_user(
    conn: &mut AnyConnection,
    token_hash: &str,
    now: Timestamp,
) -> Result<Option<UserId>> {
    let row = sqlx::query(
        "SELECT user_id FROM api_tokens WHERE token_hash = $1 AND revoked_at IS NULL AND expires_at > $2",
    )
    .bind(token_hash)
    .bind(micros(now))
    .fetch_optional(conn)
    .await?;
    row.map(|r| parsed(&r, "user_id")).transpose()
}

/// Revokes every token of a user; returns how many were revoked.
pub async fn revoke_api_tokens(conn: &mut AnyConnection, user_id: UserId, now: Timestamp) -> Result<u64> {
    let done = sqlx::query("UPDATE api_tokens SET revoked_at = $1 WHERE user_id = $2 AND revoked_at IS NULL")
        .bind(micros(now))
        .bind(user_id.to_string())
        .execute(conn)
        .await?;
    Ok(done.rows_affected())
}
