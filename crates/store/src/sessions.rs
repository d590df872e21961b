//! Login sessions and failed login attempts (per account and client address), one
//! store for both kinds of account: staff users and patients' portal accounts. The cookie holds a random token; only its
//! hash is stored. The two kinds keep their own tables (a session names a row of
//! its own account table), and [`AccountKind`] says which.

use jiff::Timestamp;
use samhand_domain::ids::{OrganisationId, UserId};
use sqlx::AnyConnection;

use crate::codec::{instant, micros, parsed, text};
use crate::db::Result;
use crate::native::{Fetch, FetchOn};

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

    /// The kind's text in `login_failures`.
    fn code(self) -> &'static str {
        match self {
            Self::Staff => "staff",
            Self::Patient => "patient",
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
    conn: &mut impl Fetch,
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
        .execute_on(conn)
        .await?;
    Ok(())
}

pub async fn find(conn: &mut impl Fetch, kind: AccountKind, token_hash: &str) -> Result<Option<Session>> {
    let acting = match kind {
        AccountKind::Staff => ", acting_organisation_id, acting_role",
        AccountKind::Patient => "",
    };
    let sql = format!(
        "SELECT {owner} AS account, csrf_token, last_seen_at, expires_at{acting} FROM {table} WHERE token_hash = $1",
        owner = kind.owner_column(),
        table = kind.sessions()
    );
    let row = sqlx::query(&sql).bind(token_hash).fetch_optional_on(conn).await?;
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
    conn: &mut impl Fetch,
    token_hash: &str,
    acting: Option<(OrganisationId, &str)>,
) -> Result<()> {
    sqlx::query("UPDATE sessions SET acting_organisation_id = $1, acting_role = $2 WHERE token_hash = $3")
        .bind(acting.map(|(org, _)| org.to_string()))
        .bind(acting.map(|(_, role)| role.to_string()))
        .bind(token_hash)
        .execute_on(conn)
        .await?;
    Ok(())
}

pub async fn touch(conn: &mut impl Fetch, kind: AccountKind, token_hash: &str, now: Timestamp) -> Result<()> {
    let sql = format!(
        "UPDATE {} SET last_seen_at = $1 WHERE token_hash = $2",
        kind.sessions()
    );
    sqlx::query(&sql)
        .bind(micros(now))
        .bind(token_hash)
        .execute_on(conn)
        .await?;
    Ok(())
}

pub async fn delete(conn: &mut impl Fetch, kind: AccountKind, token_hash: &str) -> Result<()> {
    let sql = format!("DELETE FROM {} WHERE token_hash = $1", kind.sessions());
    sqlx::query(&sql).bind(token_hash).execute_on(conn).await?;
    Ok(())
}

/// Ends every session of one account at once; returns how many there were.
pub async fn delete_all_of(conn: &mut impl Fetch, kind: AccountKind, account: UserId) -> Result<u64> {
    let sql = format!(
        "DELETE FROM {} WHERE {} = $1",
        kind.sessions(),
        kind.owner_column()
    );
    let done = sqlx::query(&sql)
        .bind(account.to_string())
        .execute_on(conn)
        .await?;
    Ok(done)
}

/// Ends the sessions that expired, or were last used before `idle_since`; returns
/// how many.
pub async fn delete_expired(
    conn: &mut impl Fetch,
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
        .execute_on(conn)
        .await?;
    Ok(done)
}

/// One account as seen from one client address, for the login's lockout: the
/// account's id (or, for a name that names no account, a hash of the name) and
/// the address the attempts come from.
#[derive(Debug, Clone, Copy)]
pub struct LoginSource<'a> {
    pub kind: AccountKind,
    pub account_key: &'a str,
    pub address: &'a str,
}

/// Counts one attempt from `source` before its password (or one-time code) is
/// checked, in one statement, so that concurrent attempts are each counted: the
/// count goes up by one, or starts again at one when the last failure was before
/// `window_start`. While `max` or more are counted within the window the time of
/// the last failure stays, so the lockout runs from the failure that set it.
/// Returns the count with this attempt; a right password then removes the row
/// ([`clear_login_failures`]).
pub async fn reserve_login_attempt(
    conn: &mut impl Fetch,
    source: LoginSource<'_>,
    now: Timestamp,
    window_start: Timestamp,
    max: i64,
) -> Result<i64> {
    let row = sqlx::query(
        "INSERT INTO login_failures (account_kind, account_key, client_address, failures, last_failed_at)
         VALUES ($1, $2, $3, 1, $4)
         ON CONFLICT (account_kind, account_key, client_address) DO UPDATE SET
             failures = CASE WHEN login_failures.last_failed_at < $5 THEN 1
                             ELSE login_failures.failures + 1 END,
             last_failed_at = CASE WHEN login_failures.failures >= $6 AND login_failures.last_failed_at >= $5
                                   THEN login_failures.last_failed_at ELSE $4 END
         RETURNING failures",
    )
    .bind(source.kind.code())
    .bind(source.account_key)
    .bind(source.address)
    .bind(micros(now))
    .bind(micros(window_start))
    .bind(max)
    .fetch_one_on(conn)
    .await?;
    crate::codec::int(&row, "failures")
}

/// Forgets the failures from `source` after a right password.
pub async fn clear_login_failures(conn: &mut impl Fetch, source: LoginSource<'_>) -> Result<()> {
    sqlx::query(
        "DELETE FROM login_failures WHERE account_kind = $1 AND account_key = $2 AND client_address = $3",
    )
    .bind(source.kind.code())
    .bind(source.account_key)
    .bind(source.address)
    .execute_on(conn)
    .await?;
    Ok(())
}

/// Forgets an account's failures from every address (a new password was set).
pub async fn clear_all_login_failures(
    conn: &mut impl Fetch,
    kind: AccountKind,
    account: UserId,
) -> Result<()> {
    sqlx::query("DELETE FROM login_failures WHERE account_kind = $1 AND account_key = $2")
        .bind(kind.code())
        .bind(account.to_string())
        .execute_on(conn)
        .await?;
    Ok(())
}

/// The failures counted on an account, from all addresses together.
pub async fn login_failures_of(conn: &mut AnyConnection, kind: AccountKind, account: UserId) -> Result<i64> {
    let row = sqlx::query(
        "SELECT CAST(COALESCE(SUM(failures), 0) AS BIGINT) AS failures FROM login_failures
         WHERE account_kind = $1 AND account_key = $2",
    )
    .bind(kind.code())
    .bind(account.to_string())
    .fetch_one(conn)
    .await?;
    crate::codec::int(&row, "failures")
}

/// Removes the failures whose last one was before `before` (they no longer lock
/// anything); returns how many rows.
pub async fn prune_login_failures(conn: &mut impl Fetch, before: Timestamp) -> Result<u64> {
    let done = sqlx::query("DELETE FROM login_failures WHERE last_failed_at < $1")
        .bind(micros(before))
        .execute_on(conn)
        .await?;
    Ok(done)
}
