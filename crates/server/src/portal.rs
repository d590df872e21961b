//! The patient portal's login: a local account the LAR unit sets up with a one-time
//! code, a password the patient chooses, the same lockout as staff (the one password
//! check of [`crate::session`]), and a portal session in a cookie of its own. [`PortalPatient`]
//! is the extractor of the portal pages: a handler that takes one cannot run for
//! anyone but a logged-in patient, and acts as `Actor::Patient`.

use std::net::IpAddr;

use axum::extract::{FromRequest, FromRequestParts, Request};
use axum::http::request::Parts;
use samhand_domain::national_id::NationalId;
use samhand_domain::privacy::PatientUser;
use samhand_domain::validation::FieldErrors;
use samhand_store::{patients, portal};

use crate::AppState;
use crate::auth::{hash_password_off_thread, token_hash, tokens_match};
use crate::error::{AppError, PageError};
use crate::pages::forms::FormData;
use crate::session::{self, AccountKind, LoginAttempt, PasswordAccount};

/// The shortest password a patient may choose.
pub const MIN_PASSWORD_CHARS: usize = 10;
/// How long a one-time code from the LAR unit is valid.
pub const CODE_DAYS: i64 = 14;

/// A one-time code: eight characters without the ones people mix up (0/O, 1/I/L).
pub fn new_code() -> String {
    const ALPHABET: &[u8] = b"ABCDEFGHJKMNPQRSTUVWXYZ23456789";
    crate::auth::random_bytes::<8>()
        .iter()
        .map(|b| ALPHABET[*b as usize % ALPHABET.len()] as char)
        .collect()
}

/// Codes are typed by people: case and spaces do not matter.
pub fn normalise_code(code: &str) -> String {
    code.chars()
        .filter(|c| !c.is_whitespace() && *c != '-')
        .map(|c| c.to_ascii_uppercase())
        .collect()
}

fn refused() -> AppError {
    AppError::Forbidden("Feil fødselsnummer, kode eller passord.".into())
}

async fn account_by_number(state: &AppState, national_id: &str) -> Result<Option<portal::Account>, AppError> {
    let Ok(number) = NationalId::parse(national_id) else {
        return Ok(None);
    };
    let mut conn = state.store.reader().await?;
    let Some(patient) = patients::by_national_id(&mut conn, &number).await? else {
        return Ok(None);
    };
    Ok(portal::account_of_patient(&mut conn, patient.id)
        .await?
        .filter(|a| a.active))
}

/// The attempt's identity for the lockout: the number as typed, without spaces.
fn attempt<'a>(national_id: &'a str, client: IpAddr) -> LoginAttempt<'a> {
    LoginAttempt {
        kind: AccountKind::Patient,
        name: national_id.trim(),
        client,
    }
}

/// Sets the password with the one-time code and starts a session; returns the
/// session token. The code has the password's limits and lockout
/// ([`session::admit`]): after `MAX_FAILED_LOGINS` wrong codes from an address not
/// even the right one opens the account from there until the lockout has passed,
/// so a code cannot be guessed.
pub async fn activate(
    state: &AppState,
    client: IpAddr,
    national_id: &str,
    code: &str,
    password: &str,
    repeated: &str,
) -> Result<String, AppError> {
    let mut errors = FieldErrors::default();
    if password.chars().count() < MIN_PASSWORD_CHARS {
        errors.push(
            "password",
            format!("Passordet må ha minst {MIN_PASSWORD_CHARS} tegn."),
        );
    }
    if password != repeated {
        errors.push("repeated", "Passordene er ikke like.");
    }
    if !errors.is_empty() {
        return Err(AppError::Invalid(errors));
    }
    let now = state.clock.now();
    let attempt = attempt(national_id, client);
    let account = account_by_number(state, national_id).await?;
    let admitted = session::admit(state, &attempt, account.as_ref().map(|a| a.id)).await?;
    let Some(account) = account else {
        return Err(refused());
    };
    let code_id = {
        let mut conn = state.store.reader().await?;
        portal::valid_code(&mut conn, account.id, &token_hash(&normalise_code(code)), now).await?
    };
    let Some(code_id) = code_id else {
        return Err(refused());
    };
    let hash = hash_password_off_thread(password).await?;
    let mut tx = state.store.write().await?;
    if !portal::activate(&mut tx, &code_id, account.id, &hash, now).await? {
        return Err(refused());
    }
    let token = session::start(&mut tx, AccountKind::Patient, account.id, now).await?;
    tx.commit().await?;
    admitted.succeeded(state).await?;
    Ok(token)
}

/// Logs a patient in with national identity number and password from `client`.
pub async fn login(
    state: &AppState,
    client: IpAddr,
    national_id: &str,
    password: &str,
) -> Result<String, AppError> {
    let account = account_by_number(state, national_id)
        .await?
        .map(|a| PasswordAccount {
            id: a.id,
            password_hash: a.password_hash,
        });
    let attempt = attempt(national_id, client);
    let account = session::check_password(state, attempt, account, password, refused).await?;
    let mut tx = state.store.write().await?;
    let token = session::start(&mut tx, AccountKind::Patient, account, state.clock.now()).await?;
    tx.commit().await?;
    Ok(token)
}

/// Starts a portal session for the patient whose fødselsnummer ID-porten vouched
/// for (`pid`), when the LAR unit has set up their portal account and it is active.
/// A refusal says so in Norwegian and is audited: under the patient when the number
/// names one, else without. The password's counters are left alone: no password was
/// used.
pub async fn login_with_national_id(state: &AppState, pid: &str) -> Result<String, AppError> {
    let patient = match NationalId::parse(pid.trim()) {
        Ok(number) => {
            let mut conn = state.store.reader().await?;
            patients::by_national_id(&mut conn, &number).await?
        }
        Err(_) => None,
    };
    let account = match &patient {
        Some(p) => {
            let mut conn = state.store.reader().await?;
            portal::account_of_patient(&mut conn, p.id).await?
        }
        None => None,
    };
    let Some(account) = account.filter(|a| a.active) else {
        // Nobody is logged in: the refusal is recorded as an unnamed patient's.
        let nobody = PatientUser {
            id: samhand_domain::ids::UserId::from_uuid(uuid::Uuid::nil()),
            patient_id: patient
                .as_ref()
                .map(|p| p.id)
                .unwrap_or_else(|| samhand_domain::ids::PatientId::from_uuid(uuid::Uuid::nil())),
            display_name: "Innlogging med ID-porten".into(),
        };
        let detail = if patient.is_some() {
            "portal login through ID-porten refused: no active portal account"
        } else {
            "portal login through ID-porten refused: no patient has this national identity number"
        };
        crate::repo::PatientRepo::new(state, samhand_domain::access::Actor::Patient(nobody))
            .record_denial(
                patient.as_ref().map(|p| p.id),
                samhand_domain::access::DataCategory::Privacy,
                samhand_domain::access::Action::Read,
                detail,
            )
            .await?;
        tracing::warn!("{detail}");
        return Err(AppError::Forbidden(
            "Du er logget inn hos ID-porten, men har ikke tilgang til pasientportalen i Samhand. Ingen økt ble startet. Tilgangen settes opp av LAR-enheten din; spør dem om en engangskode.".into(),
        ));
    };
    let mut tx = state.store.write().await?;
    let token = session::start(&mut tx, AccountKind::Patient, account.id, state.clock.now()).await?;
    tx.commit().await?;
    tracing::info!("patient logged in to the portal through ID-porten");
    Ok(token)
}

/// A logged-in patient of the portal, with the session's CSRF token.
#[derive(Debug, Clone)]
pub struct PortalPatient {
    pub user: PatientUser,
    pub csrf: String,
}

impl FromRequestParts<AppState> for PortalPatient {
    type Rejection = PageError;

    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Self, Self::Rejection> {
        let unauthenticated = || PageError(AppError::PortalUnauthenticated);
        let live = session::resume(state, AccountKind::Patient, &parts.headers)
            .await?
            .ok_or_else(unauthenticated)?;
        let mut conn = state.store.reader().await.map_err(AppError::from)?;
        let user = portal::patient_user(&mut conn, live.account)
            .await
            .map_err(AppError::from)?
            .ok_or_else(unauthenticated)?;
        Ok(Self {
            user,
            csrf: live.csrf,
        })
    }
}

/// A form posted by a logged-in patient, its CSRF token already checked.
pub struct PatientForm {
    pub patient: PortalPatient,
    pub form: FormData,
}

impl FromRequest<AppState> for PatientForm {
    type Rejection = PageError;

    async fn from_request(request: Request, state: &AppState) -> Result<Self, Self::Rejection> {
        let (mut parts, body) = request.into_parts();
        let patient = PortalPatient::from_request_parts(&mut parts, state).await?;
        let request = Request::from_parts(parts, body);
        let axum::Form(fields) = axum::Form::<Vec<(String, String)>>::from_request(request, state)
            .await
            .map_err(|_| {
                AppError::Invalid(FieldErrors::single(
                    "form",
                    "Skjemaet kunne ikke leses. Prøv igjen.",
                ))
            })?;
        let form = FormData(fields);
        if !tokens_match(form.get("csrf"), &patient.csrf) {
            return Err(AppError::Csrf.into());
        }
        Ok(Self { patient, form })
    }
}
