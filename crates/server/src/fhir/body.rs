//! The body of a FHIR write (create or update): taken only as FHIR JSON
//! (`Content-Type: application/fhir+json`, or `application/json`); anything else
//! is answered 415 with an OperationOutcome before the body is read.

use axum::body::Bytes;
use axum::extract::{FromRequest, Request};
use axum::http::{HeaderMap, header};

use super::outcome::FhirError;

/// A write's body, sent as FHIR JSON.
pub struct FhirBody(pub Bytes);

/// Whether a `Content-Type` names FHIR JSON (parameters such as `charset` or
/// `fhirVersion` aside).
pub fn is_fhir_json(headers: &HeaderMap) -> bool {
    headers
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.split(';').next())
        .map(|media| media.trim().to_ascii_lowercase())
        .is_some_and(|media| media == "application/fhir+json" || media == "application/json")
}

impl<S: Send + Sync> FromRequest<S> for FhirBody {
    type Rejection = FhirError;

    async fn from_request(request: Request, state: &S) -> Result<Self, Self::Rejection> {
        if !is_fhir_json(request.headers()) {
            return Err(FhirError::UnsupportedMediaType(
                "Innholdet må sendes som FHIR JSON (Content-Type: application/fhir+json eller application/json)."
                    .into(),
            ));
        }
        let body = Bytes::from_request(request, state)
            .await
            .map_err(|e| FhirError::BadRequest(format!("Innholdet kunne ikke leses ({e}).")))?;
        Ok(Self(body))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn fhir_json_and_json_are_taken_with_parameters_and_nothing_else() {
        let with = |value: &str| {
            let mut headers = HeaderMap::new();
            headers.insert(header::CONTENT_TYPE, value.parse().expect("header"));
            is_fhir_json(&headers)
        };
        assert!(with("application/fhir+json"));
        assert!(with("application/fhir+json; charset=utf-8"));
        assert!(with("Application/JSON"));
        assert!(!with("text/plain"));
        assert!(!with("application/x-www-form-urlencoded"));
        assert!(!with("application/xml"));
        assert!(!is_fhir_json(&HeaderMap::new()));
    }
}
