//! The one application error, and how it answers: a Norwegian page for people,
//! application/problem+json for the API. Internal detail is logged, never returned.

use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use samhand_domain::validation::FieldErrors;
use samhand_store::StoreError;
use samhand_store::Violation;

#[derive(Debug, thiserror::Error)]
pub enum AppError {
    /// Not logged in (or the session expired).
    #[error("not authenticated")]
    Unauthenticated,
    /// A patient not logged in to the portal (or the session expired).
    #[error("not authenticated in the patient portal")]
    PortalUnauthenticated,
    /// The access policy or the role said no. The message is for the user.
    #[error("forbidden: {0}")]
    Forbidden(String),
    #[error("not found: {0}")]
    NotFound(String),
    /// Input that does not pass the rules; every field's error.
    #[error("invalid input: {0}")]
    Invalid(FieldErrors),
    /// The request clashes with what is recorded (e.g. a dose already dispensed).
    #[error("conflict: {0}")]
    Conflict(String),
    /// A change made from a version that is no longer the current one (an HTTP
    /// If-Match that does not match): someone else changed the record in between.
    /// The message is for the user.
    #[error("stale version: {0}")]
    Stale(String),
    /// A form was posted without the right CSRF token.
    #[error("csrf token missing or wrong")]
    Csrf,
    /// A login through the OpenID provider did not prove who is logging in (a
    /// refusal at the provider, a wrong `state`, a token that does not verify). The
    /// message is for the user; the detail was logged where it happened.
    #[error("login failed: {0}")]
    LoginFailed(String),
    /// A service Samhand depends on (the OpenID provider) did not answer as it
    /// should. The detail is logged, never returned.
    #[error("upstream service failed: {0}")]
    Upstream(String),
    /// A request body larger than the route takes; the message is for the user.
    #[error("request body too large: {0}")]
    TooLarge(String),
    /// Too many attempts from one address or at one account (the login's rate
    /// limits); answered 429 with `Retry-After`.
    #[error("too many requests; retry after {retry_after_seconds} s")]
    TooManyRequests { retry_after_seconds: u64 },
    #[error("internal error: {0}")]
    Internal(String),
}

pub type AppResult<T> = Result<T, AppError>;

/// The store's errors, mapped once for every caller: a unique constraint refusing a
/// write is a conflict (409), a reference to something that is not there is invalid
/// input (422), and anything else is internal, with its whole source chain for the
/// log. A caller that has a better message for a conflict says so
/// ([`AppError::conflict_as`]).
impl From<StoreError> for AppError {
    fn from(error: StoreError) -> Self {
        match error.violation() {
            Some(Violation::Unique(constraint)) => Self::Conflict(conflict_nb(constraint)),
            Some(Violation::Reference) => Self::Invalid(FieldErrors::single(
                "reference",
                "Noe skjemaet viser til, finnes ikke (lenger). Last siden på nytt og prøv igjen.",
            )),
            None => Self::Internal(source_chain(&error)),
        }
    }
}

/// What a person is told when a unique constraint refused the write.
fn conflict_nb(constraint: &str) -> String {
    match constraint {
        "dispensed_doses_once" => "Dosen er allerede registrert. Ingen ny utlevering ble gjort.",
        "dispensing_events_idempotency_key_unique" => "Denne registreringen er allerede sendt.",
        "patients_national_id_unique" => "En pasient med dette fødselsnummeret er allerede registrert.",
        "users_username_unique" => "Brukernavnet er allerede i bruk.",
        "dispensing_corrections_once" | "dispensing_voids_once" => "Registreringen er allerede korrigert.",
        _ => "Dette ble nettopp registrert eller endret av noen andre. Last siden på nytt.",
    }
    .to_string()
}

/// An error with every source it carries, for the log.
fn source_chain(error: &dyn std::error::Error) -> String {
    let mut text = error.to_string();
    let mut source = error.source();
    while let Some(cause) = source {
        let cause_text = cause.to_string();
        if !text.contains(&cause_text) {
            text.push_str(": ");
            text.push_str(&cause_text);
        }
        source = cause.source();
    }
    text
}

impl AppError {
    /// A conflict told in the caller's words (the store's own for anything else).
    pub fn conflict_as(self, message: &str) -> Self {
        match self {
            Self::Conflict(_) => Self::Conflict(message.to_string()),
            other => other,
        }
    }

    pub fn status(&self) -> StatusCode {
        match self {
            Self::Unauthenticated | Self::PortalUnauthenticated => StatusCode::UNAUTHORIZED,
            Self::Forbidden(_) => StatusCode::FORBIDDEN,
            Self::NotFound(_) => StatusCode::NOT_FOUND,
            Self::Invalid(_) => StatusCode::UNPROCESSABLE_ENTITY,
            Self::Conflict(_) => StatusCode::CONFLICT,
            Self::Stale(_) => StatusCode::PRECONDITION_FAILED,
            Self::Csrf => StatusCode::FORBIDDEN,
            Self::LoginFailed(_) => StatusCode::UNAUTHORIZED,
            Self::Upstream(_) => StatusCode::BAD_GATEWAY,
            Self::TooManyRequests { .. } => StatusCode::TOO_MANY_REQUESTS,
            Self::TooLarge(_) => StatusCode::PAYLOAD_TOO_LARGE,
            Self::Internal(_) => StatusCode::INTERNAL_SERVER_ERROR,
        }
    }

    /// What a person is told, in Norwegian.
    pub fn message_nb(&self) -> String {
        match self {
            Self::Unauthenticated | Self::PortalUnauthenticated => "Du må logge inn.".into(),
            Self::Forbidden(message) => message.clone(),
            Self::NotFound(what) => format!("Fant ikke {what}."),
            Self::Invalid(errors) => {
                let messages: Vec<&str> = errors.0.iter().map(|e| e.message.as_str()).collect();
                format!("Skjemaet har feil: {}", messages.join(" "))
            }
            Self::Conflict(message) | Self::Stale(message) | Self::TooLarge(message) => message.clone(),
            Self::Csrf => "Skjemaet var utløpt eller ugyldig. Last siden på nytt og prøv igjen.".into(),
            Self::LoginFailed(message) => message.clone(),
            Self::Upstream(_) => {
                "Innloggingstjenesten svarer ikke som den skal akkurat nå. Prøv igjen om litt, eller logg inn med brukernavn og passord.".into()
            }
            Self::TooManyRequests { retry_after_seconds } => format!(
                "For mange forsøk på kort tid. Vent {retry_after_seconds} sekunder og prøv igjen."
            ),
            Self::Internal(_) => {
                "Noe gikk galt hos oss. Ingenting ble lagret. Prøv igjen, eller kontakt brukerstøtte.".into()
            }
        }
    }

    pub(crate) fn title(&self) -> &'static str {
        match self {
            Self::Unauthenticated | Self::PortalUnauthenticated => "Ikke innlogget",
            Self::Forbidden(_) | Self::Csrf => "Ingen tilgang",
            Self::NotFound(_) => "Ikke funnet",
            Self::Invalid(_) => "Ugyldige opplysninger",
            Self::Conflict(_) => "Konflikt",
            Self::Stale(_) => "Endret av noen andre",
            Self::LoginFailed(_) => "Innloggingen mislyktes",
            Self::Upstream(_) => "Innloggingstjenesten svarer ikke",
            Self::TooManyRequests { .. } => "For mange forsøk",
            Self::TooLarge(_) => "For stort innhold",
            Self::Internal(_) => "Intern feil",
        }
    }

    /// The `Retry-After` header a 429 carries.
    pub fn retry_after(&self) -> Option<(axum::http::HeaderName, axum::http::HeaderValue)> {
        match self {
            Self::TooManyRequests { retry_after_seconds } => Some((
                axum::http::header::RETRY_AFTER,
                axum::http::HeaderValue::from(*retry_after_seconds),
            )),
            _ => None,
        }
    }

    pub(crate) fn log(&self) {
        match self {
            Self::Internal(detail) => tracing::error!(%detail, "internal error"),
            Self::Upstream(detail) => tracing::warn!(%detail, "upstream service failed"),
            other => tracing::debug!(error = %other, "request refused"),
        }
    }
}

/// The API's answer: RFC 9457 problem details.
pub struct ApiError(pub AppError);

impl<E: Into<AppError>> From<E> for ApiError {
    fn from(error: E) -> Self {
        Self(error.into())
    }
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        let error = self.0;
        error.log();
        let status = error.status();
        let mut body = serde_json::json!({
            "type": format!("https://samhand.no/problems/{}", status.as_u16()),
            "title": error.title(),
            "status": status.as_u16(),
            "detail": error.message_nb(),
        });
        if let AppError::Invalid(errors) = &error {
            body["errors"] = errors
                .0
                .iter()
                .map(|e| serde_json::json!({"field": e.field, "message": e.message}))
                .collect();
        }
        let mut response = (status, axum::Json(body)).into_response();
        let headers = response.headers_mut();
        headers.insert(
            axum::http::header::CONTENT_TYPE,
            axum::http::HeaderValue::from_static("application/problem+json"),
        );
        if matches!(error, AppError::Unauthenticated) {
            headers.insert(
                axum::http::header::WWW_AUTHENTICATE,
                axum::http::HeaderValue::from_static("Bearer"),
            );
        }
        if let Some((name, value)) = error.retry_after() {
            headers.insert(name, value);
        }
        response
    }
}

/// A page's answer: a Norwegian error page (or the login page when logged out). The
/// page layer renders it (`pages::error_page`); this module knows no pages.
pub struct PageError(pub AppError);

impl<E: Into<AppError>> From<E> for PageError {
    fn from(error: E) -> Self {
        Self(error.into())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_store_conflict_is_a_409_in_norwegian_and_a_fault_keeps_its_detail() {
        let conflict = AppError::from(StoreError::Conflict("dispensed_doses_once"));
        assert_eq!(conflict.status(), StatusCode::CONFLICT);
        assert!(conflict.message_nb().contains("allerede registrert"));
        let told = AppError::from(StoreError::Conflict("users_username_unique")).conflict_as("Opptatt.");
        assert_eq!(told.message_nb(), "Opptatt.");
        let fault = AppError::from(StoreError::Corrupt("dose -5".into()));
        assert_eq!(fault.status(), StatusCode::INTERNAL_SERVER_ERROR);
        assert!(matches!(&fault, AppError::Internal(detail) if detail.contains("dose -5")));
        assert!(
            !fault.message_nb().contains("dose -5"),
            "the detail is logged, not shown"
        );
    }
}
