//! Login sessions and the password check, one of each for both kinds of account:
//! staff users and patients' portal accounts ([`AccountKind`]). A session starts
//! only here, is resumed only here (the idle and absolute limits of
//! `domain::login::session_state`), and ends here; a password is checked only by
//! [`check_password`] (a one-time code by the portal, through the same [`admit`]),
//! with the same rate limits and lockout per client address for both kinds.

use std::net::IpAddr;

use axum::http::HeaderMap;
use jiff::{SignedDuration, Timestamp};
use samhand_domain::ids::UserId;
use samhand_domain::login::{
    MAX_FAILED_LOGINS, SessionState, attempt_allowed, failures_count_since, locked_message_nb, session_state,
};
use samhand_store::sessions;
pub use samhand_store::sessions::AccountKind;
use samhand_store::sessions::LoginSource;

use crate::AppState;
use crate::auth::{random_token, token_hash, verify_password_off_thread};
use crate::cookies;
use crate::error::AppError;
use crate::limits::too_many;
use samhand_store::native::Fetch;

/// A session ends after this long even when in use.
pub const SESSION_MAX_HOURS: i64 = 12;

/// The session cookie of each kind of account, without its prefix.
fn cookie_base(kind: AccountKind) -> &'static str {
    match kind {
        AccountKind::Staff => cookies::STAFF_SESSION,
        AccountKind::Patient => cookies::PORTAL_SESSION,
    }
}

/// Starts a session for an account that has proved who it is, by password or at an
/// OpenID provider; returns the token for the cookie.
pub async fn start(
    conn: &mut impl Fetch,
    kind: AccountKind,
    account: UserId,
    now: Timestamp,
) -> Result<String, AppError> {
    let token = random_token();
    let expires = now + SignedDuration::from_hours(SESSION_MAX_HOURS);
    sessions::insert(
        conn,
        kind,
        &token_hash(&token),
        account,
        &random_token(),
        now,
        expires,
    )
    .await?;
    Ok(token)
}

/// The `Set-Cookie` value that carries a session token from [`start`].
pub fn cookie(state: &AppState, kind: AccountKind, token: &str) -> String {
    cookies::set(state, cookie_base(kind), token, SESSION_MAX_HOURS * 3600)
}

/// The `Set-Cookie` value that removes the session cookie.
pub fn clear_cookie(state: &AppState, kind: AccountKind) -> String {
    cookies::clear(state, cookie_base(kind))
}

/// A live session: whose, and the CSRF token of its forms.
#[derive(Debug, Clone)]
pub struct Live {
    pub account: UserId,
    pub csrf: String,
    /// The hash of the session's token, to change what it acts as.
    pub token_hash: String,
    /// The organisation and role (code) the session acts in, when not the home ones.
    pub acting: Option<(samhand_domain::ids::OrganisationId, String)>,
}

/// The live session the request's cookie names, if any; a session still in use has
/// its idle time reset. Whether the account is still active is the caller's to ask.
pub async fn resume(
    state: &AppState,
    kind: AccountKind,
    headers: &HeaderMap,
) -> Result<Option<Live>, AppError> {
    let Some(token) = cookies::get(state, headers, cookie_base(kind)) else {
        return Ok(None);
    };
    let hash = token_hash(&token);
    let mut conn = state.store.reader().await?;
    let Some(session) = sessions::find(&mut conn, kind, &hash).await? else {
        return Ok(None);
    };
    drop(conn);
    let now = state.clock.now();
    let idle = state.config.session_idle_minutes;
    let SessionState::Live { touch } = session_state(session.last_seen_at, session.expires_at, now, idle)
    else {
        return Ok(None);
    };
    if touch {
        let mut tx = state.store.write().await?;
        sessions::touch(&mut tx, kind, &hash, now).await?;
        tx.commit().await?;
    }
    Ok(Some(Live {
        account: session.account,
        csrf: session.csrf_token,
        token_hash: hash,
        acting: session.acting,
    }))
}

/// Ends the session the request's cookie names.
pub async fn end(state: &AppState, kind: AccountKind, headers: &HeaderMap) -> Result<(), AppError> {
    if let Some(token) = cookies::get(state, headers, cookie_base(kind)) {
        let mut tx = state.store.write().await?;
        sessions::delete(&mut tx, kind, &token_hash(&token)).await?;
        tx.commit().await?;
    }
    Ok(())
}

/// An account as the password check needs it.
#[derive(Debug, Clone)]
pub struct PasswordAccount {
    pub id: UserId,
    pub password_hash: Option<String>,
}

/// A login attempt: which kind of account, the name typed for it (a username, a
/// fødselsnummer), and the client address it comes from (`crate::client`).
#[derive(Debug, Clone, Copy)]
pub struct LoginAttempt<'a> {
    pub kind: AccountKind,
    pub name: &'a str,
    pub client: IpAddr,
}

/// An attempt let through to its check, counted in the lockout from its address.
#[derive(Debug)]
pub struct Admitted {
    kind: AccountKind,
    account_key: String,
    address: String,
}

impl Admitted {
    fn source(&self) -> LoginSource<'_> {
        LoginSource {
            kind: self.kind,
            account_key: &self.account_key,
            address: &self.address,
        }
    }

    /// Forgets the failures from this address after a right password or code.
    pub async fn succeeded(&self, state: &AppState) -> Result<(), AppError> {
        let mut tx = state.store.write().await?;
        sessions::clear_login_failures(&mut tx, self.source()).await?;
        tx.commit().await?;
        Ok(())
    }
}

/// The lockout's key for an account, or, for a name that names none, a hash of
/// the name: an unknown name is counted and locked exactly as a known one.
fn account_key(attempt: &LoginAttempt<'_>, account: Option<UserId>) -> String {
    match account {
        Some(id) => id.to_string(),
        None => format!(
            "unknown:{}",
            token_hash(&format!("{:?}:{}", attempt.kind, attempt.name))
        ),
    }
}

/// Lets an attempt through to its check of a password or a one-time code, or
/// refuses it: 429 past the rate limit of its address or of the account, and the
/// lockout message when [`MAX_FAILED_LOGINS`] attempts in a row from its address
/// were wrong (`domain::login`; other addresses are not locked). The attempt is
/// counted as a failure before the check, in one statement, so that concurrent
/// guesses cannot pass the limit together; [`Admitted::succeeded`] takes it back.
pub async fn admit(
    state: &AppState,
    attempt: &LoginAttempt<'_>,
    account: Option<UserId>,
) -> Result<Admitted, AppError> {
    let now = state.clock.now();
    let limits = &state.login_limits;
    let address = attempt.client.to_string();
    limits.by_address.take(&address, now).map_err(too_many)?;
    let account_key = account_key(attempt, account);
    let bucket = format!("{:?}:{account_key}", attempt.kind);
    // Only looked at here, used after the lockout: attempts an address makes at an
    // account locked for it do not use up the account's attempts elsewhere.
    limits.by_account.check(&bucket, now).map_err(too_many)?;
    let admitted = Admitted {
        kind: attempt.kind,
        account_key,
        address,
    };
    let mut tx = state.store.write().await?;
    let attempts = sessions::reserve_login_attempt(
        &mut tx,
        admitted.source(),
        now,
        failures_count_since(now),
        MAX_FAILED_LOGINS,
    )
    .await?;
    tx.commit().await?;
    if !attempt_allowed(attempts) {
        tracing::info!(client = %attempt.client, "login refused: locked for this address after failed attempts");
        return Err(AppError::Forbidden(locked_message_nb()));
    }
    limits.by_account.take(&bucket, now).map_err(too_many)?;
    Ok(admitted)
}

/// The one password check, for staff and patients, so that it is never a password
/// oracle: an unknown or inactive account (`None`) is counted, limited and locked
/// as a known one and takes as long; every attempt passes [`admit`] first; the
/// hash is verified off the async workers. `refused` is the answer for a wrong
/// password or an unknown account, the same for both.
pub async fn check_password(
    state: &AppState,
    attempt: LoginAttempt<'_>,
    account: Option<PasswordAccount>,
    password: &str,
    refused: fn() -> AppError,
) -> Result<UserId, AppError> {
    let admitted = admit(state, &attempt, account.as_ref().map(|a| a.id)).await?;
    let hash = account.as_ref().and_then(|a| a.password_hash.clone());
    let matches = verify_password_off_thread(password, hash).await?;
    match account {
        Some(account) if matches => {
            admitted.succeeded(state).await?;
            Ok(account.id)
        }
        _ => Err(refused()),
    }
}
