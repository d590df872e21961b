//! Messages between services: send about a patient, the unit's inbox, read receipts;
//! and messages to the patient, read in the portal, with the patient's receipt.

use std::collections::HashMap;

use axum::Json;
use axum::extract::State;
use axum::http::StatusCode;
use samhand_domain::ids::{MessageId, OrganisationId, PatientId};
use samhand_domain::message::MessageInput;
use samhand_domain::organisation::Organisation;
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use super::extract::{ApiJson, PathId};
use super::problem::ProblemResponse;
use super::wire::{self, NamedRef};
use crate::AppState;
use crate::auth::ApiStaff;
use crate::error::ApiError;
use crate::service::{MessageView, Service};

#[derive(Debug, Serialize, ToSchema)]
pub struct RecipientDto {
    pub organisation: NamedRef,
    /// When the unit read it; null while unread.
    pub read_at: Option<String>,
    #[schema(format = "uuid")]
    pub read_by: Option<String>,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct MessageDto {
    #[schema(format = "uuid")]
    pub id: String,
    /// Who the message is about, where the reader may see it.
    pub patient: Option<NamedRef>,
    /// dose_change, arrangement_change, withheld_dose, missed_doses, admission,
    /// discharge, overdose or free_text.
    #[schema(schema_with = super::wire::codes::<samhand_domain::message::MessageKind>)]
    pub kind: String,
    /// Subject and body are null where the policy does not let the reader see the
    /// kind's category of information.
    pub subject: Option<String>,
    pub body: Option<String>,
    pub important: bool,
    pub sent_at: String,
    /// The sender's name, or "Samhand (automatisk)".
    pub sender: String,
    pub sender_organisation: Option<NamedRef>,
    pub recipients: Vec<RecipientDto>,
    /// Whether the caller's unit has read it.
    pub read_here: bool,
    /// Important, unread by the caller's unit past the policy's hours.
    pub escalated: bool,
    /// services (between units), to_patient (read by the patient in the portal) or
    /// from_patient (written by the patient in the portal).
    pub party: String,
    /// The message this one answers, in a conversation with the patient.
    #[schema(format = "uuid")]
    pub in_reply_to: Option<String>,
    /// For a message to the patient: when the patient opened it; null while unread.
    pub read_by_patient_at: Option<String>,
}

fn org(organisations: &HashMap<OrganisationId, Organisation>, id: OrganisationId) -> NamedRef {
    NamedRef {
        id: id.to_string(),
        name: organisations.get(&id).map(|o| o.name.clone()),
    }
}

fn message_dto(view: &MessageView, organisations: &HashMap<OrganisationId, Organisation>) -> MessageDto {
    let m = &view.message;
    MessageDto {
        id: m.id.to_string(),
        patient: view.patient.as_ref().map(|p| NamedRef {
            id: p.id.to_string(),
            name: Some(p.full_name()),
        }),
        kind: m.kind.code().into(),
        subject: view.readable.then(|| m.subject.clone()),
        body: view.readable.then(|| m.body.clone()),
        important: m.important,
        sent_at: wire::instant(m.sent_at),
        sender: view.sender_name.clone(),
        sender_organisation: m.sender_organisation.map(|o| org(organisations, o)),
        recipients: m
            .recipients
            .iter()
            .map(|r| {
                let receipt = view.receipts.iter().find(|x| x.organisation_id == *r);
                RecipientDto {
                    organisation: org(organisations, *r),
                    read_at: receipt.map(|x| wire::instant(x.read_at)),
                    read_by: receipt.map(|x| x.read_by.to_string()),
                }
            })
            .collect(),
        read_here: view.read_here,
        escalated: view.escalated,
        party: m.party.code().into(),
        in_reply_to: m.in_reply_to.map(|id| id.to_string()),
        read_by_patient_at: view.read_by_patient_at.map(wire::instant),
    }
}

#[utoipa::path(
    get,
    path = "/inbox",
    tag = "messages",
    operation_id = "inbox",
    summary = "The caller's unit's messages: unread first, then newest first",
    security(("bearer" = [])),
    responses(
        (status = 200, description = "The inbox", body = Vec<MessageDto>),
        (status = 401, response = ProblemResponse),
        (status = 403, response = ProblemResponse),
        (status = 500, response = ProblemResponse),
    )
)]
pub async fn inbox(
    State(state): State<AppState>,
    ApiStaff(staff): ApiStaff,
) -> Result<Json<Vec<MessageDto>>, ApiError> {
    let service = Service::new(&state, &staff);
    let views = service.inbox().await?;
    let organisations = service.organisations().await?;
    Ok(Json(
        views.iter().map(|v| message_dto(v, &organisations)).collect(),
    ))
}

#[utoipa::path(
    post,
    path = "/messages/{id}/read",
    tag = "messages",
    operation_id = "mark_message_read",
    summary = "Record that the caller's unit has read a message (the read receipt)",
    params(("id" = String, Path, format = "uuid", description = "The message")),
    security(("bearer" = [])),
    responses(
        (status = 204, description = "Read; a second reading by the same unit keeps the first receipt"),
        (status = 401, response = ProblemResponse),
        (status = 403, response = ProblemResponse),
        (status = 404, response = ProblemResponse),
        (status = 500, response = ProblemResponse),
    )
)]
pub async fn mark_read(
    State(state): State<AppState>,
    ApiStaff(staff): ApiStaff,
    PathId(id): PathId<MessageId>,
) -> Result<StatusCode, ApiError> {
    Service::new(&state, &staff).mark_read(id).await?;
    Ok(StatusCode::NO_CONTENT)
}

#[derive(Debug, Serialize, ToSchema)]
pub struct PatientMessagesDto {
    pub messages: Vec<MessageDto>,
    /// The units one may write to about the patient.
    pub recipients: Vec<NamedRef>,
}

#[utoipa::path(
    get,
    path = "/patients/{id}/messages",
    tag = "messages",
    operation_id = "patient_messages",
    summary = "Messages about the patient to or from the caller's unit (all of them at the responsible LAR unit)",
    params(("id" = String, Path, format = "uuid", description = "The patient")),
    security(("bearer" = [])),
    responses(
        (status = 200, description = "The messages, newest first", body = PatientMessagesDto),
        (status = 401, response = ProblemResponse),
        (status = 403, response = ProblemResponse),
        (status = 404, response = ProblemResponse),
        (status = 500, response = ProblemResponse),
    )
)]
pub async fn patient_messages(
    State(state): State<AppState>,
    ApiStaff(staff): ApiStaff,
    PathId(patient): PathId<PatientId>,
) -> Result<Json<PatientMessagesDto>, ApiError> {
    let service = Service::new(&state, &staff);
    let found = service.patient_messages(patient).await?;
    let organisations = service.organisations().await?;
    Ok(Json(PatientMessagesDto {
        messages: found
            .messages
            .iter()
            .map(|v| message_dto(v, &organisations))
            .collect(),
        recipients: found
            .recipients
            .iter()
            .map(|o| NamedRef {
                id: o.id.to_string(),
                name: Some(o.name.clone()),
            })
            .collect(),
    }))
}

#[derive(Debug, Deserialize, ToSchema)]
pub struct SendRequest {
    #[schema(schema_with = super::wire::codes::<samhand_domain::message::MessageKind>)]
    pub kind: String,
    pub subject: String,
    pub body: String,
    /// Organisation ids of units related to the patient.
    pub recipients: Vec<String>,
    /// Defaults to the kind's default (important: withheld dose, missed doses,
    /// admission, discharge, overdose).
    pub important: Option<bool>,
}

#[utoipa::path(
    post,
    path = "/patients/{id}/messages",
    tag = "messages",
    operation_id = "send_message",
    summary = "Send a message about the patient to units related to them",
    params(("id" = String, Path, format = "uuid", description = "The patient")),
    request_body = SendRequest,
    security(("bearer" = [])),
    responses(
        (status = 201, description = "Sent", body = MessageDto),
        (status = 401, response = ProblemResponse),
        (status = 403, response = ProblemResponse),
        (status = 404, response = ProblemResponse),
        (status = 413, response = ProblemResponse),
        (status = 422, response = ProblemResponse),
        (status = 500, response = ProblemResponse),
    )
)]
pub async fn send(
    State(state): State<AppState>,
    ApiStaff(staff): ApiStaff,
    PathId(patient): PathId<PatientId>,
    ApiJson(request): ApiJson<SendRequest>,
) -> Result<(StatusCode, Json<MessageDto>), ApiError> {
    let service = Service::new(&state, &staff);
    let input = MessageInput {
        kind: request.kind,
        subject: request.subject,
        body: request.body,
        recipients: request.recipients,
        important: request.important,
    };
    let message = service.send_message(patient, &input).await?;
    let organisations = service.organisations().await?;
    let view = MessageView {
        patient: None,
        readable: true,
        receipts: Vec::new(),
        read_here: false,
        escalated: false,
        sender_name: staff.display_name.clone(),
        read_by_patient_at: None,
        message,
    };
    Ok((StatusCode::CREATED, Json(message_dto(&view, &organisations))))
}

#[derive(Debug, Deserialize, ToSchema)]
pub struct ToPatientRequest {
    pub subject: String,
    pub body: String,
    /// The patient's message this answers, if any.
    #[schema(format = "uuid")]
    pub in_reply_to: Option<String>,
}

#[utoipa::path(
    post,
    path = "/patients/{id}/messages/to-patient",
    tag = "messages",
    operation_id = "write_to_patient",
    summary = "Write to the patient, who reads it in the portal (the responsible LAR unit, or a care team member the patient shares notes with)",
    params(("id" = String, Path, format = "uuid", description = "The patient")),
    request_body = ToPatientRequest,
    security(("bearer" = [])),
    responses(
        (status = 201, description = "Sent; read_by_patient_at is set when the patient opens it", body = MessageDto),
        (status = 401, response = ProblemResponse),
        (status = 403, response = ProblemResponse),
        (status = 404, response = ProblemResponse),
        (status = 413, response = ProblemResponse),
        (status = 422, response = ProblemResponse),
        (status = 500, response = ProblemResponse),
    )
)]
pub async fn write_to_patient(
    State(state): State<AppState>,
    ApiStaff(staff): ApiStaff,
    PathId(patient): PathId<PatientId>,
    ApiJson(request): ApiJson<ToPatientRequest>,
) -> Result<(StatusCode, Json<MessageDto>), ApiError> {
    let service = Service::new(&state, &staff);
    let message = service
        .write_to_patient(
            patient,
            &request.subject,
            &request.body,
            request.in_reply_to.as_deref(),
        )
        .await?;
    let organisations = service.organisations().await?;
    let view = MessageView {
        patient: None,
        readable: true,
        receipts: Vec::new(),
        read_here: false,
        escalated: false,
        sender_name: staff.display_name.clone(),
        read_by_patient_at: None,
        message,
    };
    Ok((StatusCode::CREATED, Json(message_dto(&view, &organisations))))
}
