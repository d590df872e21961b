//! Extractors whose rejections are problem+json: JSON bodies, ids in the path and
//! query strings. axum's own would answer bad input in plain text.

use std::str::FromStr;

use axum::body::Bytes;
use axum::extract::{FromRequest, FromRequestParts, Path, Query, Request};
use axum::http::request::Parts;
use axum::http::{StatusCode, header};
use samhand_domain::ids::{DoseOrderId, PatientId};
use samhand_domain::validation::FieldErrors;
use serde::de::DeserializeOwned;

use crate::error::{ApiError, AppError};

fn invalid(field: &'static str, message: String) -> ApiError {
    ApiError(AppError::Invalid(FieldErrors::single(field, message)))
}

/// A JSON body. An empty body counts as `{}`, so that a POST without options needs no
/// body; anything that is not JSON of the right shape is a 422 naming `body`.
pub struct ApiJson<T>(pub T);

impl<S: Send + Sync, T: DeserializeOwned> FromRequest<S> for ApiJson<T> {
    type Rejection = ApiError;

    async fn from_request(request: Request, state: &S) -> Result<Self, Self::Rejection> {
        let is_json = request
            .headers()
            .get(header::CONTENT_TYPE)
            .and_then(|v| v.to_str().ok())
            .and_then(|v| v.split(';').next())
            .map(|v| v.trim().to_ascii_lowercase())
            .is_some_and(|v| v == "application/json" || v.ends_with("+json"));
        let bytes = Bytes::from_request(request, state).await.map_err(|e| {
            if e.status() == StatusCode::PAYLOAD_TOO_LARGE {
                ApiError(AppError::TooLarge(
                    "Innholdet er større enn denne adressen tar imot.".into(),
                ))
            } else {
                invalid("body", format!("Innholdet kunne ikke leses ({}).", e.body_text()))
            }
        })?;
        let bytes: &[u8] = if bytes.iter().all(u8::is_ascii_whitespace) {
            b"{}"
        } else if !is_json {
            return Err(invalid(
                "body",
                "Innholdet må være JSON (Content-Type: application/json).".into(),
            ));
        } else {
            &bytes
        };
        serde_json::from_slice(bytes).map(Self).map_err(|e| {
            let message = if e.is_data() {
                format!("Innholdet har feil form ({e}).")
            } else {
                format!("Innholdet er ikke gyldig JSON ({e}).")
            };
            invalid("body", message)
        })
    }
}

/// An id type that can stand in a path, and what is not found when it does not parse.
pub trait PathResource: FromStr {
    /// Norwegian, definite form: "Fant ikke {WHAT}."
    const WHAT: &'static str;
}

impl PathResource for PatientId {
    const WHAT: &'static str = "pasienten";
}

impl PathResource for DoseOrderId {
    const WHAT: &'static str = "ordinasjonen";
}

impl PathResource for samhand_domain::ids::DeviationId {
    const WHAT: &'static str = "avviket";
}

impl PathResource for samhand_domain::ids::CareTeamMemberId {
    const WHAT: &'static str = "plassen i ansvarsgruppen";
}

impl PathResource for samhand_domain::ids::NamedPersonId {
    const WHAT: &'static str = "personen";
}

impl PathResource for samhand_domain::ids::MessageId {
    const WHAT: &'static str = "meldingen";
}

impl PathResource for samhand_domain::ids::EmergencyAccessId {
    const WHAT: &'static str = "akuttilgangen";
}

impl PathResource for samhand_domain::ids::DispensingId {
    const WHAT: &'static str = "registreringen";
}

impl PathResource for samhand_domain::ids::StayId {
    const WHAT: &'static str = "oppholdet";
}

impl PathResource for samhand_domain::stay::AppointmentId {
    const WHAT: &'static str = "timen";
}

impl PathResource for samhand_domain::stay::HandoverId {
    const WHAT: &'static str = "overføringen";
}

impl PathResource for samhand_domain::ids::OrganisationId {
    const WHAT: &'static str = "organisasjonen";
}

impl PathResource for samhand_domain::ids::UserId {
    const WHAT: &'static str = "brukeren";
}

/// The `{id}` of the path. An id that is not a UUID cannot name anything: 404.
pub struct PathId<T>(pub T);

impl<S: Send + Sync, T: PathResource> FromRequestParts<S> for PathId<T> {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &S) -> Result<Self, Self::Rejection> {
        let not_found = || ApiError(AppError::NotFound(T::WHAT.into()));
        let Path(raw) = Path::<String>::from_request_parts(parts, state)
            .await
            .map_err(|_| not_found())?;
        raw.parse().map(Self).map_err(|_| not_found())
    }
}

/// A query string; one that does not fit is a 422 naming `query`.
pub struct ApiQuery<T>(pub T);

impl<S: Send + Sync, T: DeserializeOwned> FromRequestParts<S> for ApiQuery<T> {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &S) -> Result<Self, Self::Rejection> {
        Query::<T>::from_request_parts(parts, state)
            .await
            .map(|Query(value)| Self(value))
            .map_err(|e| {
                invalid(
                    "query",
                    format!("Spørringen kunne ikke leses ({}).", e.body_text()),
                )
            })
    }
}
