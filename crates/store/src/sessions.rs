//! Login sessions and login attempts, one store for both kinds of account: staff
//! users and patients' portal accounts. The cookie holds a random token; only its
//! hash is stored. The two kinds keep their own tables (a session names a row of
//! its own account table), and [`AccountKind`] says which.

use jiff::Timestamp;
use samhand_domain::ids::{OrganisationId, UserId};
use sqlx::AnyConnection;

use crate::codec::{instant, micros, parsed, text};
use crate::db::{Result, classify};

/// Whose account: a staff user (`users`) or a patient's portal account
/// (`patient_accounts`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum AccountKind {
    Staff,
    Patient,
}

impl AccountKind {
    fn sessions(self) -> &'static str {
        match self {
            Self::Staff => "sessions",
            Self::Patient => "patient_sessions",
        }
    }

    fn owner_column(self) -> &'static str {
        match self {
            Self::Staff => "user_id",
            Self::Patient => "account_id",
        }
    }

    fn accounts(self) -> &'static str {
        match self {
            Self::Staff => "users",
            Self::Patient => "patient_accounts",
        }
    }
}

/// A session as stored: whose it is, the CSRF token of its forms, when it was last
/// used and when it ends regardless.
#[derive(Debug, Clone)]
pub struct Session {
    pub account: UserId,
    pub csrf_token: String,
    pub last_seen_at: Timestamp,
    pub expires_at: Timestamp,
    /// For a staff session: the organisation and role (code) it acts in, when the
    /// user chose one of their roles at another organisation.
    pub acting: Option<(OrganisationId, String)>,
}

pub async fn insert(
    conn: &mut AnyConnection,
    kind: AccountKind,
    token_hash: &str,
    account: UserId,
    csrf_token: &str,
    now: Timestamp,
    expires_at: Timestamp,
) -> Result<()> {
    let sql = format!(
        "INSERT INTO {} (token_hash, {}, csrf_token, created_at, last_seen_at, expires_at)
         VALUES ($1, $2, $3, $4, $4, $5)",
        kind.sessions(),
        kind.owner_column()
    );
    sqlx::query(&sql)
        .bind(token_hash)
        .bind(account.to_string())
        .bind(csrf_token)
        .bind(micros(now))
        .bind(micros(expires_at))
        .execute(conn)
        .await
        .map_err(classify)?;
    Ok(())
}

pub async fn find(conn: &mut AnyConnection, kind: AccountKind, token_hash: &str) -> Result<Option<Session>> {
    let acting = match kind {
        AccountKind::Staff => ", acting_organisation_id, acting_role",
        AccountKind::Patient => "",
    };
    let sql = format!(
        "SELECT {owner} AS account, csrf_token, last_seen_at, expires_at{acting} FROM {table} WHERE token_hash = $1",
        owner = kind.owner_column(),
        table = kind.sessions()
    );
    let row = sqlx::query(&sql).bind(token_hash).fetch_optional(conn).await?;
    row.map(|r| {
        let (organisation, role): (Option<OrganisationId>, Option<String>) = match kind {
            AccountKind::Staff => (
                crate::codec::parsed_opt(&r, "acting_organisation_id")?,
                sqlx::Row::try_get(&r, "acting_role")?,
            ),
            AccountKind::Patient => (None, None),
        };
        Ok(Session {
            account: parsed(&r, "account")?,
            csrf_token: text(&r, "csrf_token")?,
            last_seen_at: instant(&r, "last_seen_at")?,
            expires_at: instant(&r, "expires_at")?,
            acting: organisation.zip(role),
        })
    })
    .transpose()
}

/// Sets the organisation and role a staff session acts in (`None`: the home ones).
pub async fn set_acting(
    conn: &mut AnyConnection,
    token_hash: &str,
    acting: Option<(OrganisationId, &str)>,
) -> Result<()> {
    sqlx::query("UPDATE sessions SET acting_organisation_id = $1, acting_role = $2 WHERE token_hash = $3")
        .bind(acting.map(|(org, _)| org.to_string()))
        .bind(acting.map(|(_, role)| role.to_string()))
        .bind(token_hash)
        .execute(conn)
        .await?;
    Ok(())
}

pub async fn touch(
    conn: &mut AnyConnection,
    kind: AccountKind,
    token_hash: &str,
    now: Timestamp,
) -> Result<()> {
    let sql = format!(
        "UPDATE {} SET last_seen_at = $1 WHERE token_hash = $2",
        kind.sessions()
    );
    sqlx::query(&sql)
        .bind(micros(now))
        .bind(token_hash)
        .execute(conn)
        .await?;
    Ok(())
}

pub async fn delete(conn: &mut AnyConnection, kind: AccountKind, token_hash: &str) -> Result<()> {
    let sql = format!("DELETE FROM {} WHERE token_hash = $1", kind.sessions());
    sqlx::query(&sql).bind(token_hash).execute(conn).await?;
    Ok(())
}

/// Ends every session of one account at once; returns how many there were.
pub async fn delete_all_of(conn: &mut AnyConnection, kind: AccountKind, account: UserId) -> Result<u64> {
    let sql = format!(
        "DELETE FROM {} WHERE {} = $1",
        kind.sessions(),
        kind.owner_column()
    );
    let done = sqlx::query(&sql).bind(account.to_string()).execute(conn).await?;
    Ok(done.rows_affected())
}

/// Ends the sessions that expired, or were last used before `idle_since`; returns
/// how many.
pub async fn delete_expired(
    conn: &mut AnyConnection,
    kind: AccountKind,
    now: Timestamp,
    idle_since: Timestamp,
) -> Result<u64> {
    let sql = format!(
        "DELETE FROM {} WHERE expires_at <= $1 OR last_seen_at < $2",
        kind.sessions()
    );
    let done = sqlx::query(&sql)
        .bind(micros(now))
        .bind(micros(idle_since))
        .execute(conn)
        .await?;
    Ok(done.rows_affected())
}

/// Counts a login attempt on the account: a success clears the failures, a failure
/// adds one and notes when (the lockout rule in `domain::login` reads both).
pub async fn record_login_attempt(
    conn: &mut AnyConnection,
    kind: AccountKind,
    account: UserId,
    succeeded: bool,
    at: Timestamp,
) -> Result<()> {
    let table = kind.accounts();
    if succeeded {
        let sql = format!("UPDATE {table} SET failed_logins = 0, last_failed_login_at = NULL WHERE id = $1");
        sqlx::query(&sql).bind(account.to_string()).execute(conn).await?;
    } else {
        let sql = format!(
            "UPDATE {table} SET failed_logins = failed_logins + 1, last_failed_login_at = $1 WHERE id = $2"
        );
        sqlx::query(&sql)
            .bind(micros(at))
            .bind(account.to_string())
            .execute(conn)
            .await?;
    }
    Ok(())
}
