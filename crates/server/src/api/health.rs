//! Health information for the window: notes dispensing staff must know, shared with
//! a place under the patient's consent.

use axum::Json;
use axum::extract::State;
use axum::http::StatusCode;
use samhand_domain::health::{HealthNote, HealthNoteInput};
use samhand_domain::ids::PatientId;
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use super::extract::{ApiJson, PathId};
use super::problem::ProblemResponse;
use super::wire::{self, NamedRef};
use crate::AppState;
use crate::auth::ApiActor;
use crate::error::ApiError;
use crate::service::{HealthView, Service};

/// One version of a health note.
#[derive(Debug, Serialize, ToSchema)]
pub struct HealthNoteDto {
    #[schema(format = "uuid")]
    pub id: String,
    /// epilepsy, diabetes, allergy, pregnancy, interacting_medication or other.
    #[schema(schema_with = super::wire::codes::<samhand_domain::health::HealthConditionKind>)]
    pub kind: String,
    pub text: String,
    /// False on a version that records that the condition no longer applies.
    pub active: bool,
    /// The version this one corrects or resolves.
    #[schema(format = "uuid")]
    pub replaces: Option<String>,
    pub reason: String,
    pub recorded_at: String,
    pub recorded_by: Option<NamedRef>,
}

pub fn note_dto(note: &HealthNote, view: Option<&HealthView>) -> HealthNoteDto {
    HealthNoteDto {
        id: note.id.to_string(),
        kind: note.kind.code().into(),
        text: note.text.clone(),
        active: note.active,
        replaces: note.replaces.map(|r| r.to_string()),
        reason: note.reason.clone(),
        recorded_at: wire::instant(note.recorded_at),
        recorded_by: view.map(|v| NamedRef {
            id: note.recorded_by.to_string(),
            name: wire::name_of(&v.names, note.recorded_by),
        }),
    }
}

#[derive(Debug, Serialize, ToSchema)]
pub struct HealthInformationDto {
    /// The notes in force.
    pub current: Vec<HealthNoteDto>,
    /// Every version, newest first.
    pub history: Vec<HealthNoteDto>,
}

#[utoipa::path(
    get,
    path = "/patients/{id}/health-information",
    tag = "health",
    operation_id = "health_information",
    summary = "Health information dispensing staff must know (shared with a place only under consent)",
    params(("id" = String, Path, format = "uuid", description = "The patient")),
    security(("bearer" = [])),
    responses(
        (status = 200, description = "The notes in force and their history", body = HealthInformationDto),
        (status = 401, response = ProblemResponse),
        (status = 403, response = ProblemResponse),
        (status = 404, response = ProblemResponse),
        (status = 500, response = ProblemResponse),
    )
)]
pub async fn health_information(
    State(state): State<AppState>,
    actor: ApiActor,
    PathId(patient): PathId<PatientId>,
) -> Result<Json<HealthInformationDto>, ApiError> {
    let view = Service::new(&state, &actor.0).health_information(patient).await?;
    Ok(Json(HealthInformationDto {
        current: view.current.iter().map(|n| note_dto(n, Some(&view))).collect(),
        history: view.history.iter().map(|n| note_dto(n, Some(&view))).collect(),
    }))
}

#[derive(Debug, Deserialize, ToSchema)]
pub struct HealthNoteRequest {
    #[schema(schema_with = super::wire::codes::<samhand_domain::health::HealthConditionKind>)]
    pub kind: String,
    pub text: String,
    /// The note this version corrects or resolves.
    #[schema(format = "uuid")]
    pub replaces: Option<String>,
    /// True to record that the replaced note no longer applies.
    #[serde(default)]
    pub resolved: bool,
    /// Why a note is corrected or resolved.
    pub reason: Option<String>,
}

#[utoipa::path(
    post,
    path = "/patients/{id}/health-information",
    tag = "health",
    operation_id = "record_health_note",
    summary = "Record a health note, or a new version that corrects or resolves one",
    params(("id" = String, Path, format = "uuid", description = "The patient")),
    request_body = HealthNoteRequest,
    security(("bearer" = [])),
    responses(
        (status = 201, description = "The note is recorded", body = HealthNoteDto),
        (status = 401, response = ProblemResponse),
        (status = 403, response = ProblemResponse),
        (status = 404, response = ProblemResponse),
        (status = 409, response = ProblemResponse),
        (status = 413, response = ProblemResponse),
        (status = 422, response = ProblemResponse),
        (status = 500, response = ProblemResponse),
    )
)]
pub async fn record_health_note(
    State(state): State<AppState>,
    actor: ApiActor,
    PathId(patient): PathId<PatientId>,
    ApiJson(request): ApiJson<HealthNoteRequest>,
) -> Result<(StatusCode, Json<HealthNoteDto>), ApiError> {
    let replaces = match request.replaces.as_deref().map(str::trim) {
        None | Some("") => None,
        Some(raw) => Some(
            raw.parse()
                .map_err(|_| wire::invalid("replaces", "Opplysningen som skal rettes, finnes ikke."))?,
        ),
    };
    let input = HealthNoteInput {
        kind: request.kind,
        text: request.text,
        replaces,
        resolved: request.resolved,
        reason: request.reason.unwrap_or_default(),
    };
    let note = Service::new(&state, &actor.0)
        .record_health_note(patient, &input)
        .await?;
    Ok((StatusCode::CREATED, Json(note_dto(&note, None))))
}
