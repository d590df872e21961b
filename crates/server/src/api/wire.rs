//! How values look on the wire: amounts in mg as numbers, dates as yyyy-mm-dd,
//! instants as RFC 3339, and the small shapes several resources share.

use std::collections::HashMap;

use jiff::Timestamp;
use jiff::civil::{Date, Time};
use samhand_domain::arrangement::TimeWindow;
use samhand_domain::dose::Dose;
use samhand_domain::ids::UserId;
use samhand_domain::validation::{FieldError, FieldErrors};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;
use utoipa::openapi::RefOr;
use utoipa::openapi::schema::{ObjectBuilder, OneOfBuilder, Schema, Type};

use crate::error::{ApiError, AppError};

/// The schema of a field that holds one of `T`'s codes: a string whose values the
/// OpenAPI document lists, from the domain's own list, so it cannot go stale.
pub fn codes<T: samhand_domain::code::Code>() -> utoipa::openapi::schema::Object {
    ObjectBuilder::new()
        .schema_type(Type::String)
        .enum_values(Some(T::codes()))
        .build()
}

pub fn mg(dose: Dose) -> f64 {
    dose.micrograms() as f64 / 1000.0
}

pub fn signed_mg(micrograms: i64) -> f64 {
    micrograms as f64 / 1000.0
}

pub fn date(date: Date) -> String {
    date.to_string()
}

pub fn instant(at: Timestamp) -> String {
    at.to_string()
}

pub fn clock(time: Time) -> String {
    time.strftime("%H:%M").to_string()
}

pub fn name_of(names: &HashMap<UserId, String>, id: UserId) -> Option<String> {
    names.get(&id).cloned()
}

pub fn invalid(field: &'static str, message: &str) -> ApiError {
    ApiError(AppError::Invalid(FieldErrors::single(field, message)))
}

/// Renames the service's field names (shared with the web forms) to the API's.
pub fn with_api_fields(error: AppError, renames: &[(&str, &'static str)]) -> ApiError {
    match error {
        AppError::Invalid(errors) => ApiError(AppError::Invalid(FieldErrors(
            errors
                .0
                .into_iter()
                .map(|e| {
                    let field = renames
                        .iter()
                        .find(|(from, _)| *from == e.field)
                        .map_or(e.field, |(_, to)| *to);
                    FieldError::new(field, e.message)
                })
                .collect(),
        ))),
        other => ApiError(other),
    }
}

/// An amount in mg as a client sends it: a JSON number (`60`, `8.5`) or text
/// (`"8,5"`). It is handed on as typed, so the domain's parser decides.
#[derive(Debug, Clone, Deserialize)]
#[serde(untagged)]
pub enum Amount {
    Number(serde_json::Number),
    Text(String),
}

impl Amount {
    pub fn as_typed(&self) -> String {
        match self {
            Self::Number(number) => number.to_string(),
            Self::Text(text) => text.clone(),
        }
    }
}

impl utoipa::PartialSchema for Amount {
    fn schema() -> RefOr<Schema> {
        OneOfBuilder::new()
            .item(ObjectBuilder::new().schema_type(Type::Number))
            .item(ObjectBuilder::new().schema_type(Type::String))
            .description(Some(
                "Milligrams, as a number (60, 8.5) or text (\"8,5\"); at most three decimals.",
            ))
            .into()
    }
}

impl ToSchema for Amount {}

/// Something with an id and, where known, its name.
#[derive(Debug, Serialize, ToSchema)]
pub struct NamedRef {
    #[schema(format = "uuid")]
    pub id: String,
    pub name: Option<String>,
}

/// A time window at the place, 24h local time.
#[derive(Debug, Serialize, ToSchema)]
pub struct Window {
    #[schema(example = "08:00")]
    pub start: String,
    #[schema(example = "09:30")]
    pub end: String,
}

impl From<TimeWindow> for Window {
    fn from(window: TimeWindow) -> Self {
        Self {
            start: clock(window.start),
            end: clock(window.end),
        }
    }
}
