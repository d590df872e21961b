//! System clients: registration (a client is a service user of its organisation,
//! with no password, and a hashed secret) and `POST /fhir/token`, the OAuth2
//! client-credentials grant (client_secret_basic or client_secret_post) that issues
//! a bearer token bound to the client, with the scopes asked for that the client
//! was registered with. Errors here are OAuth2's (RFC 6749 §5.2), not FHIR's.

use std::collections::HashMap;

use axum::extract::rejection::FormRejection;
use axum::extract::{Form, State};
use axum::http::{HeaderMap, StatusCode, header};
use axum::response::{IntoResponse, Response};
use jiff::SignedDuration;
use samhand_domain::ids::UserId;
use samhand_domain::organisation::Role;
use samhand_store::fhir::{self as store, FhirClient};
use samhand_store::{organisations, users};
use serde_json::json;

use super::Scopes;
use crate::AppState;
use crate::auth::{random_token, token_hash, tokens_match};
use crate::client::Client;
use crate::error::{ApiError, AppError, AppResult};
use crate::limits::too_many;

/// The prefix of FHIR access tokens (staff API tokens start with `shd_`).
pub const FHIR_TOKEN_PREFIX: &str = "shf_";
/// How long an access token lasts; the client asks again after.
const TOKEN_MINUTES: i64 = 15;

/// A registered client: the id and the secret, shown once.
#[derive(Debug, Clone)]
pub struct RegisteredClient {
    pub client_id: String,
    pub secret: String,
    pub user_id: UserId,
}

/// Registers a system client acting for an organisation (named, or by id) as a
/// service user with `role` there; the policy treats it as such a staff member.
pub async fn register_client(
    state: &AppState,
    name: &str,
    organisation: &str,
    role: Role,
    scopes: &str,
) -> AppResult<RegisteredClient> {
    let name = name.trim();
    if name.is_empty() {
        return Err(AppError::Conflict("Klienten må ha et navn.".into()));
    }
    if Scopes::parse(scopes).is_none_or(|s| s.0.is_empty()) {
        return Err(AppError::Conflict(format!(
            "Ugyldige scopes «{scopes}»: bruk for eksempel «system/Patient.read system/Observation.write»."
        )));
    }
    if role == Role::Administrator {
        return Err(AppError::Conflict(
            "En FHIR-klient kan ikke være administrator.".into(),
        ));
    }
    let mut conn = state.store.read().await?;
    let org = organisations::all(&mut conn)
        .await?
        .into_iter()
        .find(|o| o.name == organisation.trim() || o.id.to_string() == organisation.trim())
        .ok_or_else(|| AppError::NotFound(format!("virksomheten «{organisation}»")))?;
    drop(conn);
    let user_id = UserId::new();
    let username = format!("fhir-client:{name}");
    let display_name = format!("FHIR-klient {name}");
    let secret = random_token();
    let client = FhirClient {
        id: uuid::Uuid::now_v7().to_string(),
        name: name.to_string(),
        user_id,
        secret_hash: token_hash(&secret),
        scopes: scopes.split_whitespace().collect::<Vec<_>>().join(" "),
    };
    let now = state.clock.now();
    let mut tx = state.store.write().await?;
    users::insert(
        &mut tx,
        &users::NewUser {
            id: user_id,
            username: &username,
            display_name: &display_name,
            role,
            organisation_id: org.id,
            password_hash: None,
        },
        now,
    )
    .await
    .map_err(|_| AppError::Conflict(format!("Det finnes alt en klient som heter «{name}».")))?;
    store::insert_client(&mut tx, &client, now).await?;
    tx.commit().await?;
    Ok(RegisteredClient {
        client_id: client.id,
        secret,
        user_id,
    })
}

fn oauth_error(status: StatusCode, error: &str, description: &str) -> Response {
    let mut response = (
        status,
        axum::Json(json!({"error": error, "error_description": description})),
    )
        .into_response();
    response.headers_mut().insert(
        header::CACHE_CONTROL,
        header::HeaderValue::from_static("no-store"),
    );
    if status == StatusCode::UNAUTHORIZED {
        response.headers_mut().insert(
            header::WWW_AUTHENTICATE,
            header::HeaderValue::from_static("Basic realm=\"samhand-fhir\""),
        );
    }
    response
}

/// client_id and client_secret from HTTP Basic, or else from the form.
fn client_credentials(headers: &HeaderMap, form: &HashMap<String, String>) -> Option<(String, String)> {
    let basic = headers
        .get(header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.strip_prefix("Basic "))
        .and_then(|b64| crate::api::base64_decode(b64.trim()))
        .and_then(|bytes| String::from_utf8(bytes).ok())
        .and_then(|pair| pair.split_once(':').map(|(a, b)| (a.to_string(), b.to_string())));
    basic.or_else(|| Some((form.get("client_id")?.clone(), form.get("client_secret")?.clone())))
}

pub async fn token(
    State(state): State<AppState>,
    headers: HeaderMap,
    client: Client,
    form: Result<Form<HashMap<String, String>>, FormRejection>,
) -> Response {
    // The login's limit per client address: a client that guesses secrets is
    // slowed down whatever it names. (The secrets are random 256-bit values; there
    // is no lockout per client, which would let anyone lock a client out.)
    let address = client.address.to_string();
    if let Err(seconds) = state.login_limits.by_address.take(&address, state.clock.now()) {
        return ApiError(too_many(seconds)).into_response();
    }
    let Ok(Form(form)) = form else {
        return oauth_error(
            StatusCode::BAD_REQUEST,
            "invalid_request",
            "The body must be application/x-www-form-urlencoded.",
        );
    };
    if form.get("grant_type").map(String::as_str) != Some("client_credentials") {
        return oauth_error(
            StatusCode::BAD_REQUEST,
            "unsupported_grant_type",
            "Only grant_type=client_credentials is supported.",
        );
    }
    let Some((client_id, secret)) = client_credentials(&headers, &form) else {
        return oauth_error(
            StatusCode::UNAUTHORIZED,
            "invalid_client",
            "Client authentication is missing.",
        );
    };
    match issue(&state, &client_id, &secret, form.get("scope").map(String::as_str)).await {
        Ok(Ok((token, scopes))) => {
            let mut response = (
                StatusCode::OK,
                axum::Json(json!({
                    "access_token": token,
                    "token_type": "bearer",
                    "expires_in": TOKEN_MINUTES * 60,
                    "scope": scopes,
                })),
            )
                .into_response();
            response.headers_mut().insert(
                header::CACHE_CONTROL,
                header::HeaderValue::from_static("no-store"),
            );
            response
        }
        Ok(Err(refusal)) => refusal,
        Err(error) => {
            tracing::error!(%error, "FHIR token endpoint failed");
            oauth_error(
                StatusCode::INTERNAL_SERVER_ERROR,
                "server_error",
                "The token could not be issued.",
            )
        }
    }
}

async fn issue(
    state: &AppState,
    client_id: &str,
    secret: &str,
    asked: Option<&str>,
) -> AppResult<Result<(String, String), Response>> {
    let mut conn = state.store.read().await?;
    let client = store::active_client(&mut conn, client_id).await?;
    drop(conn);
    let Some(client) = client.filter(|c| tokens_match(&token_hash(secret), &c.secret_hash)) else {
        return Ok(Err(oauth_error(
            StatusCode::UNAUTHORIZED,
            "invalid_client",
            "Unknown client or wrong secret.",
        )));
    };
    let registered = Scopes::parse(&client.scopes).unwrap_or(Scopes(Vec::new()));
    let granted = match asked.map(str::trim).filter(|s| !s.is_empty()) {
        None => registered,
        Some(asked) => match Scopes::parse(asked).and_then(|s| s.narrowed_to(&registered)) {
            Some(scopes) => scopes,
            None => {
                return Ok(Err(oauth_error(
                    StatusCode::BAD_REQUEST,
                    "invalid_scope",
                    "A scope asked for is unknown or not registered for this client.",
                )));
            }
        },
    };
    let token = format!("{FHIR_TOKEN_PREFIX}{}", random_token());
    let now = state.clock.now();
    let scopes = granted.text();
    let mut tx = state.store.write().await?;
    store::insert_token(
        &mut tx,
        &token_hash(&token),
        &client.id,
        &scopes,
        now,
        now + SignedDuration::from_mins(TOKEN_MINUTES),
    )
    .await?;
    tx.commit().await?;
    Ok(Ok((token, scopes)))
}
