//! Login sessions and the password check, one of each for both kinds of account:
//! staff users and patients' portal accounts ([`AccountKind`]). A session starts
//! only here, is resumed only here (the idle and absolute limits of
//! `domain::login::session_state`), and ends here; a password is checked only by
//! [`check_password`], with the same lockout for both kinds.

use axum::http::HeaderMap;
use jiff::{SignedDuration, Timestamp};
use samhand_domain::ids::UserId;
use samhand_domain::login::{SessionState, is_locked, locked_message_nb, session_state};
pub use samhand_store::sessions::AccountKind;
use samhand_store::{Conn, sessions};

use crate::AppState;
use crate::auth::{dummy_hash, random_token, token_hash, verify_password};
use crate::cookies;
use crate::error::AppError;

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
    conn: &mut Conn,
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
    let mut conn = state.store.read().await?;
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
    pub kind: AccountKind,
    pub id: UserId,
    pub password_hash: Option<String>,
    pub failed_logins: i64,
    pub last_failed_login_at: Option<Timestamp>,
}

/// The one password check, for staff and patients, so that it is never a password
/// oracle: an unknown or inactive account (`None`) takes as long as a known one,
/// every attempt is counted on the account (in a transaction of its own, which
/// stays when the request is refused), and a locked account (`domain::login`) is
/// not opened even by the right password. `refused` is the answer for a wrong
/// password or an unknown account, the same for both.
pub async fn check_password(
    state: &AppState,
    account: Option<PasswordAccount>,
    password: &str,
    refused: fn() -> AppError,
) -> Result<UserId, AppError> {
    let Some(account) = account else {
        verify_password(password, dummy_hash());
        return Err(refused());
    };
    let now = state.clock.now();
    if is_locked(account.failed_logins, account.last_failed_login_at, now) {
        verify_password(password, dummy_hash());
        return Err(AppError::Forbidden(locked_message_nb()));
    }
    let ok = account
        .password_hash
        .as_deref()
        .is_some_and(|hash| verify_password(password, hash));
    let mut tx = state.store.write().await?;
    sessions::record_login_attempt(&mut tx, account.kind, account.id, ok, now).await?;
    tx.commit().await?;
    if ok { Ok(account.id) } else { Err(refused()) }
}

/// Counts a failed attempt that was not a password (a wrong one-time code).
pub async fn record_failed_attempt(
    state: &AppState,
    kind: AccountKind,
    account: UserId,
) -> Result<(), AppError> {
    let mut tx = state.store.write().await?;
    sessions::record_login_attempt(&mut tx, kind, account, false, state.clock.now()).await?;
    tx.commit().await?;
    Ok(())
}
