//! Staff users, login sessions and API tokens. Secrets are stored only as hashes.

use jiff::Timestamp;
use samhand_domain::ids::{OrganisationId, UserId};
use samhand_domain::organisation::{OrganisationKind, Role, StaffUser};
use sqlx::AnyConnection;
use sqlx::any::AnyRow;

use crate::codec::{corrupt, int, micros, parsed, text};
use crate::db::Result;
use crate::native::{Fetch, FetchOn};

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

pub async fn insert(conn: &mut impl Fetch, user: &NewUser<'_>, at: Timestamp) -> Result<()> {
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
    .execute_on(conn)
    .await?;
    Ok(())
}

pub async fn by_username(conn: &mut AnyConnection, username: &str) -> Result<Option<UserRecord>> {
    let row = sqlx::query(&format!("{SELECT} WHERE u.username = $1"))
        .bind(username)
        .fetch_optional(conn)
        .await?;
    row.as_ref().map(from_row).transpose()
}

pub async fn by_id(conn: &mut impl Fetch, id: UserId) -> Result<Option<UserRecord>> {
    let row = sqlx::query(&format!("{SELECT} WHERE u.id = $1"))
        .bind(id.to_string())
        .fetch_optional_on(conn)
        .await?;
    row.as_ref().map(from_row).transpose()
}

/// Staff of an organisation with a role (e.g. the prescribers of a LAR unit).
pub async fn by_organisation(conn: &mut impl Fetch, org: OrganisationId) -> Result<Vec<StaffUser>> {
    let rows = sqlx::query(&format!(
        "{SELECT} WHERE u.organisation_id = $1 AND u.active = 1 ORDER BY u.display_name"
    ))
    .bind(org.to_string())
    .fetch_all_on(conn)
    .await?;
    rows.iter().map(|r| from_row(r).map(|u| u.user)).collect()
}

pub async fn set_password(conn: &mut impl Fetch, id: UserId, hash: &str) -> Result<()> {
    sqlx::query("UPDATE users SET password_hash = $1, failed_logins = 0 WHERE id = $2")
        .bind(hash)
        .bind(id.to_string())
        .execute_on(conn)
        .await?;
    Ok(())
}

pub async fn insert_api_token(
    conn: &mut impl Fetch,
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
        .execute_on(conn)
        .await?;
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
pub async fn revoke_api_tokens(conn: &mut impl Fetch, user_id: UserId, now: Timestamp) -> Result<u64> {
    let done = sqlx::query("UPDATE api_tokens SET revoked_at = $1 WHERE user_id = $2 AND revoked_at IS NULL")
        .bind(micros(now))
        .bind(user_id.to_string())
        .execute_on(conn)
        .await?;
    Ok(done)
}

/// Deactivates or reactivates a user, with who (`None`: on the server's command
/// line), when and why in `user_status_changes`. The caller ends the sessions and
/// tokens of a deactivated user in the same transaction.
pub async fn set_active(
    conn: &mut impl Fetch,
    id: UserId,
    active: bool,
    reason: &str,
    by: Option<UserId>,
    at: Timestamp,
) -> Result<()> {
    sqlx::query("UPDATE users SET active = $1, updated_at = $3 WHERE id = $2")
        .bind(i64::from(active))
        .bind(id.to_string())
        .bind(micros(at))
        .execute_on(&mut *conn)
        .await?;
    sqlx::query(
        "INSERT INTO user_status_changes (id, user_id, active, reason, changed_by, changed_at)
         VALUES ($1, $2, $3, $4, $5, $6)",
    )
    .bind(uuid::Uuid::now_v7().to_string())
    .bind(id.to_string())
    .bind(i64::from(active))
    .bind(reason)
    .bind(by.map(|u| u.to_string()))
    .bind(micros(at))
    .execute_on(conn)
    .await?;
    Ok(())
}

/// One deactivation or reactivation.
#[derive(Debug, Clone)]
pub struct StatusChange {
    pub active: bool,
    pub reason: String,
    pub changed_by: Option<UserId>,
    pub changed_at: Timestamp,
}

/// A user's deactivations and reactivations, oldest first.
pub async fn status_changes(conn: &mut AnyConnection, id: UserId) -> Result<Vec<StatusChange>> {
    let rows = sqlx::query(
        "SELECT active, reason, changed_by, changed_at FROM user_status_changes WHERE user_id = $1 ORDER BY changed_at, id",
    )
    .bind(id.to_string())
    .fetch_all(conn)
    .await?;
    rows.iter()
        .map(|r| {
            Ok(StatusChange {
                active: int(r, "active")? != 0,
                reason: text(r, "reason")?,
                changed_by: crate::codec::parsed_opt(r, "changed_by")?,
                changed_at: crate::codec::instant(r, "changed_at")?,
            })
        })
        .collect()
}

/// Every user, active or not, with their organisation's name, by name.
pub async fn all(conn: &mut AnyConnection) -> Result<Vec<UserRecord>> {
    let rows = sqlx::query(&format!("{SELECT} ORDER BY u.display_name, u.username"))
        .fetch_all(conn)
        .await?;
    rows.iter().map(from_row).collect()
}

/// Sets a user's HPR number (a number another user has is a conflict:
/// `users_hpr_number_unique`).
pub async fn set_hpr_number(
    conn: &mut impl Fetch,
    id: UserId,
    hpr: Option<&str>,
    at: Timestamp,
) -> Result<()> {
    sqlx::query("UPDATE users SET hpr_number = $1, updated_at = $3 WHERE id = $2")
        .bind(hpr.map(str::to_string))
        .bind(id.to_string())
        .bind(micros(at))
        .execute_on(conn)
        .await?;
    Ok(())
}

pub async fn hpr_number(conn: &mut AnyConnection, id: UserId) -> Result<Option<String>> {
    let hpr: Option<Option<String>> = sqlx::query_scalar("SELECT hpr_number FROM users WHERE id = $1")
        .bind(id.to_string())
        .fetch_optional(conn)
        .await?;
    Ok(hpr.flatten())
}

/// A one-time invitation: its hash, whose, and until when.
pub async fn insert_invitation(
    conn: &mut impl Fetch,
    token_hash: &str,
    user: UserId,
    by: Option<UserId>,
    now: Timestamp,
    expires_at: Timestamp,
) -> Result<()> {
    sqlx::query(
        "INSERT INTO user_invitations (token_hash, user_id, created_by, created_at, expires_at) VALUES ($1, $2, $3, $4, $5)",
    )
    .bind(token_hash)
    .bind(user.to_string())
    .bind(by.map(|u| u.to_string()))
    .bind(micros(now))
    .bind(micros(expires_at))
    .execute_on(conn)
    .await?;
    Ok(())
}

/// The user an unused, unexpired invitation is for.
pub async fn invitation_user(
    conn: &mut AnyConnection,
    token_hash: &str,
    now: Timestamp,
) -> Result<Option<UserId>> {
    let user: Option<String> = sqlx::query_scalar(
        "SELECT user_id FROM user_invitations WHERE token_hash = $1 AND used_at IS NULL AND expires_at > $2",
    )
    .bind(token_hash)
    .bind(micros(now))
    .fetch_optional(conn)
    .await?;
    user.map(|u| u.parse().map_err(|_| corrupt(format!("user id {u}"))))
        .transpose()
}

/// Uses an invitation up; whether it was still unused (one statement, so it is used
/// once).
pub async fn use_invitation(conn: &mut impl Fetch, token_hash: &str, now: Timestamp) -> Result<bool> {
    let done =
        sqlx::query("UPDATE user_invitations SET used_at = $1 WHERE token_hash = $2 AND used_at IS NULL")
            .bind(micros(now))
            .bind(token_hash)
            .execute_on(conn)
            .await?;
    Ok(done == 1)
}

/// A role at another organisation than the user's home one.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ExtraRole {
    pub organisation_id: OrganisationId,
    pub organisation_kind: OrganisationKind,
    pub organisation_name: String,
    pub role: Role,
}

pub async fn insert_role(
    conn: &mut impl Fetch,
    user: UserId,
    organisation: OrganisationId,
    role: Role,
    by: Option<UserId>,
    at: Timestamp,
) -> Result<()> {
    sqlx::query(
        "INSERT INTO user_roles (user_id, organisation_id, role, created_by, created_at) VALUES ($1, $2, $3, $4, $5)",
    )
    .bind(user.to_string())
    .bind(organisation.to_string())
    .bind(role.code())
    .bind(by.map(|u| u.to_string()))
    .bind(micros(at))
    .execute_on(conn)
    .await?;
    Ok(())
}

/// The user's roles at other organisations.
pub async fn extra_roles(conn: &mut impl Fetch, user: UserId) -> Result<Vec<ExtraRole>> {
    let rows = sqlx::query(
        "SELECT r.organisation_id, r.role, o.kind, o.name FROM user_roles r JOIN organisations o ON o.id = r.organisation_id
         WHERE r.user_id = $1 ORDER BY o.name, r.role",
    )
    .bind(user.to_string())
    .fetch_all_on(conn)
    .await?;
    rows.iter().map(extra_role_from_row).collect()
}

/// Removes invitations that expired unused more than a day ago; how many.
pub async fn delete_expired_invitations(conn: &mut impl Fetch, now: Timestamp) -> Result<u64> {
    let done = sqlx::query("DELETE FROM user_invitations WHERE used_at IS NULL AND expires_at < $1")
        .bind(micros(now - jiff::SignedDuration::from_hours(24)))
        .execute_on(conn)
        .await?;
    Ok(done)
}

/// The user and expiry of an API token that is not revoked (expired or not).
pub async fn api_token(conn: &mut impl Fetch, token_hash: &str) -> Result<Option<(UserId, Timestamp)>> {
    let row = sqlx::query(
        "SELECT user_id, expires_at FROM api_tokens WHERE token_hash = $1 AND revoked_at IS NULL",
    )
    .bind(token_hash)
    .fetch_optional_on(conn)
    .await?;
    row.map(|r| Ok((parsed(&r, "user_id")?, crate::codec::instant(&r, "expires_at")?)))
        .transpose()
}

/// The version of the organisations, groups, policy, users, roles and API tokens:
/// moved on by the database at every change of them (migration 0025).
pub async fn config_version(conn: &mut impl Fetch) -> Result<i64> {
    let row = sqlx::query("SELECT version FROM config_version WHERE id = 1")
        .fetch_one_on(conn)
        .await?;
    crate::codec::int(&row, "version")
}

/// Users by id, in one query (those not found are left out).
pub async fn by_ids(conn: &mut impl Fetch, ids: &[UserId]) -> Result<Vec<UserRecord>> {
    let ids: Vec<String> = ids.iter().map(ToString::to_string).collect();
    let rows = crate::db::rows_for_ids(conn, &format!("{SELECT} WHERE u.id IN ({{ids}})"), &[], &ids).await?;
    rows.iter().map(from_row).collect()
}

/// A user as the directory serves them (FHIR Practitioner): the HPR number, when
/// the row last changed, and the roles at other organisations than the home one.
#[derive(Debug, Clone)]
pub struct Registered {
    pub user: StaffUser,
    pub active: bool,
    pub hpr_number: Option<String>,
    /// The latest of `updated_at`, `created_at` and when a role at another
    /// organisation was given.
    pub last_changed: Timestamp,
    pub extra_roles: Vec<ExtraRole>,
}

/// Every user with what [`Registered`] holds, by name.
pub async fn registered(conn: &mut AnyConnection) -> Result<Vec<Registered>> {
    let rows = sqlx::query(&format!(
        "{SELECT_REGISTERED} ORDER BY u.display_name, u.username"
    ))
    .fetch_all(&mut *conn)
    .await?;
    let roles = sqlx::query(
        "SELECT r.user_id, r.organisation_id, r.role, r.created_at, o.kind, o.name FROM user_roles r
         JOIN organisations o ON o.id = r.organisation_id ORDER BY o.name, r.role",
    )
    .fetch_all(conn)
    .await?;
    let mut extra: std::collections::HashMap<UserId, Vec<ExtraRole>> = std::collections::HashMap::new();
    let mut role_added: std::collections::HashMap<UserId, Timestamp> = std::collections::HashMap::new();
    for r in &roles {
        let user: UserId = parsed(r, "user_id")?;
        let added = crate::codec::instant(r, "created_at")?;
        role_added
            .entry(user)
            .and_modify(|at| *at = (*at).max(added))
            .or_insert(added);
        extra.entry(user).or_default().push(extra_role_from_row(r)?);
    }
    rows.iter()
        .map(|row| {
            let record = from_row(row)?;
            let created = crate::codec::instant(row, "created_at")?;
            let changed = crate::codec::instant_opt(row, "updated_at")?.unwrap_or(created);
            // A role given at another organisation changes the user's roles too.
            let changed = role_added
                .get(&record.user.id)
                .map_or(changed, |at| changed.max(*at));
            Ok(Registered {
                extra_roles: extra.remove(&record.user.id).unwrap_or_default(),
                user: record.user,
                active: record.active,
                hpr_number: sqlx::Row::try_get(row, "hpr_number")?,
                last_changed: changed.max(created),
            })
        })
        .collect()
}

const SELECT_REGISTERED: &str = "SELECT u.id, u.username, u.display_name, u.role, u.organisation_id, o.kind AS org_kind,
    u.password_hash, u.active, u.failed_logins, u.last_failed_login_at, u.hpr_number, u.created_at, u.updated_at
    FROM users u JOIN organisations o ON o.id = u.organisation_id";

fn extra_role_from_row(r: &AnyRow) -> Result<ExtraRole> {
    let role = text(r, "role")?;
    let kind = text(r, "kind")?;
    Ok(ExtraRole {
        organisation_id: parsed(r, "organisation_id")?,
        organisation_kind: OrganisationKind::from_code(&kind)
            .ok_or_else(|| corrupt(format!("kind {kind}")))?,
        organisation_name: text(r, "name")?,
        role: Role::from_code(&role).ok_or_else(|| corrupt(format!("role {role}")))?,
    })
}
