//! Authentication: passwords (argon2id), the staff login (sessions themselves are in
//! [`crate::session`]), CSRF tokens, API bearer tokens, and the typed extractors
//! that say who is asking. A handler that
//! takes [`Prescriber`] cannot run for someone who is not one.

use std::net::IpAddr;

use argon2::Argon2;
use argon2::password_hash::{PasswordHash, PasswordHasher, PasswordVerifier, SaltString};
use axum::extract::FromRequestParts;
use axum::http::header;
use axum::http::request::Parts;
use jiff::{SignedDuration, Timestamp};
use samhand_domain::access::{Action, Actor, DataCategory};
use samhand_domain::organisation::{Role, StaffUser};
use samhand_store::{privacy, users};
use sha2::{Digest, Sha256};

use crate::AppState;
use crate::error::{ApiError, AppError, PageError};
use crate::session::{self, AccountKind, LoginAttempt, PasswordAccount};

/// How long a login at the OpenID provider may take, start to callback.
pub const OIDC_FLOW_MINUTES: i64 = 10;

/// Hashes a password with argon2id. It takes tens of milliseconds of CPU: from a
/// request use [`hash_password_off_thread`], so the async workers stay free.
pub fn hash_password(password: &str) -> Result<String, AppError> {
    let salt =
        SaltString::encode_b64(&random_bytes::<16>()).map_err(|e| AppError::Internal(e.to_string()))?;
    Argon2::default()
        .hash_password(password.as_bytes(), &salt)
        .map(|h| h.to_string())
        .map_err(|e| AppError::Internal(e.to_string()))
}

fn verify_password(password: &str, hash: &str) -> bool {
    PasswordHash::new(hash).is_ok_and(|parsed| {
        Argon2::default()
            .verify_password(password.as_bytes(), &parsed)
            .is_ok()
    })
}

/// [`hash_password`] on the blocking pool.
pub async fn hash_password_off_thread(password: &str) -> Result<String, AppError> {
    let password = password.to_string();
    tokio::task::spawn_blocking(move || hash_password(&password))
        .await
        .map_err(|e| AppError::Internal(format!("password hashing task: {e}")))?
}

/// Whether `password` matches `hash`, verified on the blocking pool (argon2 would
/// hold an async worker for tens of milliseconds). Without a hash (an unknown
/// account, or one without a password) a hash no password matches is verified
/// instead, so that the answer takes as long.
pub async fn verify_password_off_thread(password: &str, hash: Option<String>) -> Result<bool, AppError> {
    let password = password.to_string();
    tokio::task::spawn_blocking(move || match hash {
        Some(hash) => verify_password(&password, &hash),
        None => {
            verify_password(&password, dummy_hash());
            false
        }
    })
    .await
    .map_err(|e| AppError::Internal(format!("password check task: {e}")))
}

/// A hash that no password matches, verified against when the user does not exist,
/// so that a login for an unknown name takes as long as one for a known name.
fn dummy_hash() -> &'static str {
    static HASH: std::sync::OnceLock<String> = std::sync::OnceLock::new();
    HASH.get_or_init(|| hash_password("not a password").unwrap_or_default())
}

pub fn random_bytes<const N: usize>() -> [u8; N] {
    let mut bytes = [0u8; N];
    getrandom::fill(&mut bytes).expect("the operating system's random source works");
    bytes
}

pub fn random_token() -> String {
    hex(&random_bytes::<32>())
}

pub fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

pub fn token_hash(token: &str) -> String {
    hex(&Sha256::digest(token.as_bytes()))
}

/// Constant-time comparison of two tokens (`subtle`).
pub fn tokens_match(a: &str, b: &str) -> bool {
    use subtle::ConstantTimeEq;
    a.as_bytes().ct_eq(b.as_bytes()).into()
}

/// Checks a username and password from `client`; on success starts a session and
/// returns the cookie token and the user.
pub async fn login(
    state: &AppState,
    client: IpAddr,
    username: &str,
    password: &str,
) -> Result<(String, StaffUser), AppError> {
    let user = check_password(state, client, username, password).await?;
    let mut tx = state.store.write().await?;
    let token = session::start(&mut tx, AccountKind::Staff, user.id, state.clock.now()).await?;
    tx.commit().await?;
    Ok((token, user))
}

fn wrong_username_or_password() -> AppError {
    AppError::Forbidden("Feil brukernavn eller passord.".into())
}

/// A staff member's password, for a login and for a witness who confirms a stock
/// count on a colleague's screen, through the one check of [`session::check_password`].
pub async fn check_password(
    state: &AppState,
    client: IpAddr,
    username: &str,
    password: &str,
) -> Result<StaffUser, AppError> {
    let username = username.trim();
    let mut conn = state.store.read().await?;
    let record = users::by_username(&mut conn, username)
        .await?
        .filter(|r| r.active);
    drop(conn);
    let account = record.as_ref().map(|r| PasswordAccount {
        id: r.user.id,
        password_hash: r.password_hash.clone(),
    });
    let attempt = LoginAttempt {
        kind: AccountKind::Staff,
        name: username,
        client,
    };
    session::check_password(state, attempt, account, password, wrong_username_or_password).await?;
    record.map(|r| r.user).ok_or_else(wrong_username_or_password)
}

/// Starts a session for the staff user whom the OpenID provider vouched for by
/// username. The password's failure counter and lockout are left alone: they guard
/// against guessing passwords, and no password was used.
pub async fn login_with_identity(state: &AppState, username: &str) -> Result<(String, StaffUser), AppError> {
    let mut conn = state.store.read().await?;
    let record = users::by_username(&mut conn, username.trim()).await?;
    drop(conn);
    let Some(record) = record.filter(|r| r.active) else {
        tracing::warn!(
            username = username.trim(),
            "OIDC login refused: no active Samhand user has this username"
        );
        return Err(AppError::Forbidden(format!(
            "Du er logget inn hos HelseID som «{}», men har ingen aktiv brukerkonto i Samhand. Ingen økt ble startet. Kontakt en administrator om du skal ha tilgang.",
            username.trim()
        )));
    };
    let mut tx = state.store.write().await?;
    let token = session::start(&mut tx, AccountKind::Staff, record.user.id, state.clock.now()).await?;
    tx.commit().await?;
    tracing::info!(
        username = record.user.username.as_str(),
        "staff user logged in through the OpenID provider"
    );
    Ok((token, record.user))
}

/// Issues an API token for a user; the token itself is shown once and stored hashed.
pub async fn issue_api_token(state: &AppState, username: &str) -> Result<(String, Timestamp), AppError> {
    let mut conn = state.store.read().await?;
    let record = users::by_username(&mut conn, username)
        .await?
        .ok_or_else(|| AppError::NotFound(format!("brukeren {username}")))?;
    drop(conn);
    let token = format!("{STAFF_TOKEN_PREFIX}{}", random_token());
    let now = state.clock.now();
    let expires = now + SignedDuration::from_hours(24 * state.config.token_days);
    let mut tx = state.store.write().await?;
    users::insert_api_token(&mut tx, &token_hash(&token), record.user.id, now, expires).await?;
    tx.commit().await?;
    Ok((token, expires))
}

/// Issues an API token for a patient to use for themself, making their account if
/// needed, in the caller's write of that patient. The token is shown once and
/// stored hashed.
pub async fn issue_patient_token(
    state: &AppState,
    tx: &mut samhand_store::PatientWrite,
    patient: samhand_domain::ids::PatientId,
    issued_by: samhand_domain::ids::UserId,
) -> Result<(String, Timestamp), AppError> {
    let token = format!("{PATIENT_TOKEN_PREFIX}{}", random_token());
    let now = state.clock.now();
    let expires = now + SignedDuration::from_hours(24 * state.config.token_days);
    let account = privacy::ensure_account(tx, patient, issued_by, now).await?;
    privacy::insert_patient_token(tx, &token_hash(&token), account, now, expires).await?;
    Ok((token, expires))
}

/// A logged-in staff member of the web UI, with the session's CSRF token. `user`
/// is the member as they act now: in their home role, or in one of their roles at
/// another organisation that they chose (`roles` lists them all, when there is more
/// than one).
#[derive(Debug, Clone)]
pub struct UiStaff {
    pub user: StaffUser,
    pub csrf: String,
    pub roles: Vec<RoleChoice>,
    /// The hash of the session's token.
    pub session: String,
    /// At a place's edge: the link to the central server, as the banner says it.
    pub edge_banner: Option<(bool, String)>,
}

/// One of the roles a user holds: where, as what, and whether they act in it now.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RoleChoice {
    pub organisation_id: samhand_domain::ids::OrganisationId,
    pub organisation_name: String,
    pub role: Role,
    pub current: bool,
}

/// The user as they act in the session: in a chosen role at another organisation
/// while they still hold it, else at home; and every role they hold, when more
/// than one.
async fn acting_as(
    conn: &mut impl samhand_store::native::Fetch,
    directory: &crate::directory::Snapshot,
    home: StaffUser,
    acting: Option<&(samhand_domain::ids::OrganisationId, String)>,
) -> Result<(StaffUser, Vec<RoleChoice>), AppError> {
    let extra = directory.extra_roles(conn, home.id).await?;
    if extra.is_empty() {
        return Ok((home, Vec::new()));
    }
    let chosen = acting.and_then(|(org, role)| {
        extra
            .iter()
            .find(|r| r.organisation_id == *org && r.role.code() == role)
    });
    let home_name = directory
        .organisations(conn)
        .await?
        .get(&home.organisation_id)
        .map(|o| o.name.clone())
        .unwrap_or_default();
    let mut roles = vec![RoleChoice {
        organisation_id: home.organisation_id,
        organisation_name: home_name,
        role: home.role,
        current: chosen.is_none(),
    }];
    roles.extend(extra.iter().map(|r| RoleChoice {
        organisation_id: r.organisation_id,
        organisation_name: r.organisation_name.clone(),
        role: r.role,
        current: chosen == Some(r),
    }));
    let user = match chosen {
        Some(r) => StaffUser {
            organisation_id: r.organisation_id,
            organisation_kind: r.organisation_kind,
            role: r.role,
            ..home
        },
        None => home,
    };
    Ok((user, roles))
}

impl UiStaff {
    /// Refuses a form whose CSRF token is not this session's.
    pub fn check_csrf(&self, submitted: &str) -> Result<(), AppError> {
        if tokens_match(submitted, &self.csrf) {
            Ok(())
        } else {
            Err(AppError::Csrf)
        }
    }
}

impl FromRequestParts<AppState> for UiStaff {
    type Rejection = PageError;

    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Self, Self::Rejection> {
        let live = session::resume(state, AccountKind::Staff, &parts.headers)
            .await?
            .ok_or(AppError::Unauthenticated)?;
        let mut conn = state.store.reader().await.map_err(AppError::from)?;
        let directory = state.directory.current(&mut conn).await?;
        let record = directory
            .user(&mut conn, live.account)
            .await?
            .filter(|r| r.active)
            .ok_or(AppError::Unauthenticated)?;
        let (user, roles) = acting_as(&mut conn, &directory, record.user, live.acting.as_ref()).await?;
        Ok(Self {
            user,
            csrf: live.csrf,
            roles,
            session: live.token_hash,
            edge_banner: state
                .edge
                .as_ref()
                .map(|link| (link.status().connected, link.banner_nb())),
        })
    }
}

/// The prefix of staff API tokens; patient tokens start with [`PATIENT_TOKEN_PREFIX`].
pub const STAFF_TOKEN_PREFIX: &str = "shd_";
pub const PATIENT_TOKEN_PREFIX: &str = "shp_";

fn bearer(parts: &Parts) -> Result<&str, AppError> {
    let header = parts
        .headers
        .get(header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .ok_or(AppError::Unauthenticated)?;
    Ok(header
        .strip_prefix("Bearer ")
        .ok_or(AppError::Unauthenticated)?
        .trim())
}

/// Whoever holds a valid bearer token: a staff member or a patient, with the
/// directory as the check of a staff token read it.
async fn api_actor(
    parts: &Parts,
    state: &AppState,
) -> Result<(Actor, Option<std::sync::Arc<crate::directory::Snapshot>>), AppError> {
    let token = bearer(parts)?;
    let mut conn = state.store.reader().await?;
    let now = state.clock.now();
    if token.starts_with(PATIENT_TOKEN_PREFIX) {
        let patient = privacy::patient_by_token(&mut conn, &token_hash(token), now)
            .await?
            .ok_or(AppError::Unauthenticated)?;
        return Ok((Actor::Patient(patient), None));
    }
    let directory = state.directory.current(&mut conn).await?;
    let user_id = directory
        .token_user(&mut conn, &token_hash(token), now)
        .await?
        .ok_or(AppError::Unauthenticated)?;
    let record = directory
        .user(&mut conn, user_id)
        .await?
        .filter(|r| r.active)
        .ok_or(AppError::Unauthenticated)?;
    Ok((Actor::Staff(record.user), Some(directory)))
}

/// Anyone calling the API with a bearer token, for endpoints about one patient's
/// record, where the access policy decides between staff and the patient.
#[derive(Clone)]
pub struct ApiActor(pub Actor, Option<std::sync::Arc<crate::directory::Snapshot>>);

impl std::fmt::Debug for ApiActor {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_tuple("ApiActor").field(&self.0).finish()
    }
}

impl ApiActor {
    /// The service of this request, with the directory as the token check read it:
    /// its version is read once per request, not again by the service (issue 16).
    /// For operations that do not change the directory (nothing read after such a
    /// change may come from the copy read before it).
    pub fn service<'a>(&self, state: &'a AppState) -> crate::service::Service<'a> {
        crate::service::Service::with_directory(state, &self.0, self.1.clone())
    }
}

impl FromRequestParts<AppState> for ApiActor {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Self, Self::Rejection> {
        let (actor, directory) = api_actor(parts, state).await?;
        Ok(Self(actor, directory))
    }
}

/// A staff member calling the API with a bearer token, for endpoints that work on
/// an organisation's patients (lists, search, enrolment). A patient's token is
/// refused, and the attempt is in the audit log.
#[derive(Debug, Clone)]
pub struct ApiStaff(pub StaffUser);

impl FromRequestParts<AppState> for ApiStaff {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Self, Self::Rejection> {
        match api_actor(parts, state).await?.0 {
            Actor::Staff(user) => Ok(Self(user)),
            actor @ (Actor::Patient(_) | Actor::System(_)) => {
                let detail = format!("staff endpoint {} {}", parts.method, parts.uri.path());
                crate::repo::PatientRepo::new(state, &actor)
                    .record_denial(None, DataCategory::Identity, Action::Read, &detail)
                    .await?;
                Err(AppError::Forbidden("Dette er bare for ansatte.".into()).into())
            }
        }
    }
}

/// Refuses anyone whose role is not one of `roles`.
/// Refuses unless `allowed`, a capability the access policy gives the actor
/// (`domain::access::may_keep_stock(staff)` and the like), so that a service and the
/// page showing its button cannot disagree.
pub fn require(allowed: bool) -> Result<(), AppError> {
    if allowed {
        Ok(())
    } else {
        Err(AppError::Forbidden(
            "Din rolle har ikke tilgang til dette.".into(),
        ))
    }
}

pub fn require_role(user: &StaffUser, roles: &[Role]) -> Result<(), AppError> {
    if roles.contains(&user.role) {
        Ok(())
    } else {
        Err(AppError::Forbidden(
            "Din rolle har ikke tilgang til dette.".into(),
        ))
    }
}
