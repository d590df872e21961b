//! The problem+json shape (RFC 9457) that every API error has, as the OpenAPI
//! document describes it. `crate::error::ApiError` writes the same fields.

use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use serde::Serialize;
use utoipa::{ToResponse, ToSchema};

/// An error: a Norwegian sentence for people in `detail`, and on 422 the fields in error.
#[derive(Debug, Serialize, ToSchema)]
pub struct Problem {
    #[serde(rename = "type")]
    #[schema(example = "https://samhand.no/problems/422")]
    pub problem_type: String,
    #[schema(example = "Ugyldige opplysninger")]
    pub title: String,
    #[schema(example = 422)]
    pub status: u16,
    #[schema(example = "Skjemaet har feil: Skriv inn fornavn.")]
    pub detail: String,
    /// Present on 422: each field in error with its message.
    #[serde(skip_serializing_if = "Option::is_none")]
    #[schema(nullable = false)]
    pub errors: Option<Vec<FieldProblem>>,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct FieldProblem {
    /// The JSON field (or `body`, `query`, `idempotency_key`).
    #[schema(example = "given_name")]
    pub field: String,
    #[schema(example = "Skriv inn fornavn.")]
    pub message: String,
}

/// The reusable response every error status refers to in the document.
#[derive(ToResponse)]
#[response(
    description = "Problem details (RFC 9457); `detail` is Norwegian, `errors` lists fields on 422.",
    content_type = "application/problem+json"
)]
#[allow(dead_code, reason = "only describes the response in the OpenAPI document")]
pub struct ProblemResponse(Problem);

impl Problem {
    /// A problem outside `AppError`'s statuses (405), written the same way.
    pub fn response(status: StatusCode, title: &str, detail: &str) -> Response {
        let problem = Problem {
            problem_type: format!("https://samhand.no/problems/{}", status.as_u16()),
            title: title.to_string(),
            status: status.as_u16(),
            detail: detail.to_string(),
            errors: None,
        };
        let mut response = (status, axum::Json(problem)).into_response();
        response.headers_mut().insert(
            header::CONTENT_TYPE,
            HeaderValue::from_static("application/problem+json"),
        );
        response
    }
}
