//! Errors as FHIR OperationOutcome, with the HTTP status the FHIR REST API gives
//! each: 400 for what cannot be read, 401 without a valid token, 403 for a refusal
//! (the policy or a missing scope), 404, 409 (a duplicate), 412 (a stale If-Match),
//! 415 for a write that is not FHIR JSON, 422 for content that breaks the rules,
//! 429 (with `Retry-After`) when too many exports are running, and 400 with the
//! issue code `too-costly` for a search that matches more than a server may read
//! at once.

use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use serde_json::{Value, json};

use crate::error::AppError;

/// Everything a FHIR handler can fail with.
#[derive(Debug)]
pub enum FhirError {
    /// An application error, answered with its own status.
    App(AppError),
    /// The request cannot be read: malformed JSON, a wrong resource type, a bad
    /// search parameter.
    BadRequest(String),
    /// The token lacks the scope for this resource type and interaction.
    MissingScope(String),
    /// A resource type or interaction Samhand does not support.
    NotSupported(String),
    /// What was sent is already recorded (a national identity number already
    /// registered): 409, naming the element.
    Duplicate { element: &'static str, message: String },
    /// Too much is running already (bulk exports): 429, try again after the
    /// seconds given.
    Busy {
        message: String,
        retry_after_seconds: u32,
    },
    /// A write whose body is not FHIR JSON (`Content-Type`): 415.
    UnsupportedMediaType(String),
    /// An answer asked for in a format Samhand does not write (XML): 406.
    NotAcceptable(String),
    /// A search that matches more records than a search may read (H103): 400,
    /// `too-costly`, saying how to narrow it.
    TooCostly(String),
}

pub type FhirResult<T> = Result<T, FhirError>;

impl<E: Into<AppError>> From<E> for FhirError {
    fn from(error: E) -> Self {
        Self::App(error.into())
    }
}

impl FhirError {
    fn status(&self) -> StatusCode {
        match self {
            Self::App(error) => error.status(),
            Self::BadRequest(_) | Self::TooCostly(_) => StatusCode::BAD_REQUEST,
            Self::MissingScope(_) => StatusCode::FORBIDDEN,
            Self::NotSupported(_) => StatusCode::NOT_FOUND,
            Self::Duplicate { .. } => StatusCode::CONFLICT,
            Self::Busy { .. } => StatusCode::TOO_MANY_REQUESTS,
            Self::UnsupportedMediaType(_) => StatusCode::UNSUPPORTED_MEDIA_TYPE,
            Self::NotAcceptable(_) => StatusCode::NOT_ACCEPTABLE,
        }
    }

    /// The issue: severity, code (from the FHIR issue-type value set) and text.
    fn issues(&self) -> Vec<Value> {
        let issue = |code: &str, text: String| json!({"severity": "error", "code": code, "diagnostics": text, "details": {"text": text}});
        match self {
            Self::App(AppError::Invalid(errors)) => errors
                .0
                .iter()
                .map(|e| {
                    json!({
                        "severity": "error",
                        "code": "invalid",
                        "diagnostics": e.message,
                        "details": {"text": e.message},
                        "expression": [e.field],
                    })
                })
                .collect(),
            Self::App(error) => {
                let code = match error {
                    AppError::Unauthenticated | AppError::PortalUnauthenticated => "login",
                    AppError::Forbidden(_) | AppError::Csrf => "forbidden",
                    AppError::NotFound(_) => "not-found",
                    AppError::Conflict(_) | AppError::Stale(_) => "conflict",
                    AppError::Invalid(_) => "invalid",
                    AppError::LoginFailed(_) => "security",
                    AppError::TooManyRequests { .. } => "throttled",
                    AppError::TooLarge(_) => "too-long",
                    AppError::Upstream(_) | AppError::Internal(_) => "exception",
                };
                vec![issue(code, error.message_nb())]
            }
            Self::BadRequest(text) => vec![issue("structure", text.clone())],
            Self::TooCostly(text) => vec![issue("too-costly", text.clone())],
            Self::MissingScope(text) => vec![issue("forbidden", text.clone())],
            Self::NotSupported(text) | Self::UnsupportedMediaType(text) | Self::NotAcceptable(text) => {
                vec![issue("not-supported", text.clone())]
            }
            Self::Busy { message, .. } => vec![issue("throttled", message.clone())],
            Self::Duplicate { element, message } => vec![json!({
                "severity": "error",
                "code": "duplicate",
                "diagnostics": message,
                "details": {"text": message},
                "expression": [element],
            })],
        }
    }
}

/// An OperationOutcome resource with the given issues.
pub fn operation_outcome(issues: Vec<Value>) -> Value {
    json!({"resourceType": "OperationOutcome", "issue": issues})
}

impl IntoResponse for FhirError {
    fn into_response(self) -> Response {
        match &self {
            Self::App(AppError::Internal(detail)) => tracing::error!(%detail, "FHIR: internal error"),
            Self::App(AppError::Upstream(detail)) => tracing::warn!(%detail, "FHIR: upstream failed"),
            other => tracing::debug!(error = ?other, "FHIR request refused"),
        }
        let status = self.status();
        let mut response = (status, super::fhir_json_body(&operation_outcome(self.issues()))).into_response();
        if let Self::Busy {
            retry_after_seconds, ..
        } = &self
            && let Ok(value) = HeaderValue::from_str(&retry_after_seconds.to_string())
        {
            response.headers_mut().insert(header::RETRY_AFTER, value);
        }
        if status == StatusCode::UNAUTHORIZED {
            response.headers_mut().insert(
                header::WWW_AUTHENTICATE,
                HeaderValue::from_static("Bearer realm=\"samhand-fhir\""),
            );
        }
        if let Self::App(error) = &self
            && let Some((name, value)) = error.retry_after()
        {
            response.headers_mut().insert(name, value);
        }
        response
    }
}
