//! Received EDI messages held because they could not be linked to a patient in LAR:
//! the unit's list, and its resolution of each (linked after checking, or refused
//! with an error receipt).

use axum::Json;
use axum::extract::State;
use axum::http::StatusCode;
use serde::Serialize;
use utoipa::ToSchema;

use super::extract::{PathId, PathResource};
use super::problem::ProblemResponse;
use super::wire;
use crate::AppState;
use crate::auth::ApiStaff;
use crate::error::ApiError;
use crate::service::Service;

/// A received message's id, as its sender gave it.
pub struct MsgId(String);

impl std::str::FromStr for MsgId {
    type Err = ();
    fn from_str(s: &str) -> Result<Self, ()> {
        let s = s.trim();
        (!s.is_empty() && s.len() <= 200)
            .then(|| Self(s.to_string()))
            .ok_or(())
    }
}

impl PathResource for MsgId {
    const WHAT: &'static str = "meldingen";
}

#[derive(Debug, Serialize, ToSchema)]
pub struct UnplacedDto {
    pub msg_id: String,
    pub sender: String,
    pub sender_her_id: String,
    /// DIALOG_NOTAT, DIALOG_FORESPORSEL or DIALOG_SVAR.
    pub msg_type: String,
    /// The patient as the message names them.
    pub national_id: String,
    pub family_name: String,
    pub given_name: String,
    pub topic: String,
    pub text: String,
    #[schema(schema_with = super::wire::codes::<samhand_domain::edi::Unplaced>)]
    pub reason: String,
    pub received_at: String,
    /// `linked` or `refused`; absent while open.
    pub resolution: Option<String>,
}

#[utoipa::path(
    get,
    path = "/edi/unplaced",
    tag = "messages",
    operation_id = "unplaced_edi",
    summary = "Received EDI messages the caller's unit must resolve: not linked to a patient in LAR",
    security(("bearer" = [])),
    responses(
        (status = 200, description = "Newest first", body = [UnplacedDto]),
        (status = 401, response = ProblemResponse),
        (status = 403, response = ProblemResponse),
        (status = 500, response = ProblemResponse),
    )
)]
pub async fn unplaced(
    State(state): State<AppState>,
    ApiStaff(staff): ApiStaff,
) -> Result<Json<Vec<UnplacedDto>>, ApiError> {
    let list = Service::new(&state, &staff).unplaced_edi().await?;
    Ok(Json(
        list.into_iter()
            .map(|r| UnplacedDto {
                msg_id: r.msg_id,
                sender: r.sender_name,
                sender_her_id: r.sender_her_id,
                msg_type: r.msg_type,
                national_id: r.national_id,
                family_name: r.family_name,
                given_name: r.given_name,
                topic: r.topic,
                text: r.body,
                reason: r.reason.code().into(),
                received_at: wire::instant(r.received_at),
                resolution: r.resolution.map(|(outcome, _, _)| outcome),
            })
            .collect(),
    ))
}

#[derive(Debug, Serialize, ToSchema)]
pub struct LinkedDto {
    #[schema(format = "uuid")]
    pub patient_id: String,
}

#[utoipa::path(
    post,
    path = "/edi/unplaced/{id}/link",
    tag = "messages",
    operation_id = "link_unplaced_edi",
    summary = "After checking, link a held message to the patient in LAR its fødselsnummer names; answered OK",
    params(("id" = String, Path, description = "The message's id")),
    security(("bearer" = [])),
    responses(
        (status = 200, description = "Linked: in the unit's inbox", body = LinkedDto),
        (status = 401, response = ProblemResponse),
        (status = 403, response = ProblemResponse),
        (status = 404, response = ProblemResponse),
        (status = 409, response = ProblemResponse),
        (status = 422, response = ProblemResponse),
        (status = 500, response = ProblemResponse),
    )
)]
pub async fn link(
    State(state): State<AppState>,
    ApiStaff(staff): ApiStaff,
    PathId(id): PathId<MsgId>,
) -> Result<Json<LinkedDto>, ApiError> {
    let patient = Service::new(&state, &staff).link_unplaced_edi(&id.0).await?;
    Ok(Json(LinkedDto {
        patient_id: patient.to_string(),
    }))
}

#[utoipa::path(
    post,
    path = "/edi/unplaced/{id}/refuse",
    tag = "messages",
    operation_id = "refuse_unplaced_edi",
    summary = "A held message cannot be placed: refused, and its sender answered with an error receipt (E35)",
    params(("id" = String, Path, description = "The message's id")),
    security(("bearer" = [])),
    responses(
        (status = 204, description = "Refused"),
        (status = 401, response = ProblemResponse),
        (status = 403, response = ProblemResponse),
        (status = 404, response = ProblemResponse),
        (status = 409, response = ProblemResponse),
        (status = 500, response = ProblemResponse),
    )
)]
pub async fn refuse(
    State(state): State<AppState>,
    ApiStaff(staff): ApiStaff,
    PathId(id): PathId<MsgId>,
) -> Result<StatusCode, ApiError> {
    Service::new(&state, &staff).refuse_unplaced_edi(&id.0).await?;
    Ok(StatusCode::NO_CONTENT)
}
