//! Stays and the discharge bundle: admission, extension, the substitution dose
//! during a stay, bundle items, «time i hånden» and its outcome, discharge (planned
//! or unplanned), and the prescribing hand-over with its acknowledgement.

use axum::Json;
use axum::extract::State;
use axum::http::StatusCode;
use samhand_domain::ids::{PatientId, StayId};
use samhand_domain::stay::{
    AppointmentId, AppointmentInput, BundleEntryInput, DischargeInput, HandoverId, ItemState,
};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use super::extract::{ApiJson, PathId};
use super::problem::ProblemResponse;
use super::wire::{self, NamedRef};
use crate::AppState;
use crate::auth::ApiStaff;
use crate::error::ApiError;
use crate::service::{AdmitInput, HandoverInput, Service, StayView, StaysView};

#[derive(Debug, Serialize, ToSchema)]
pub struct BundleItemDto {
    /// admission_conversation, naloxone_training, naloxone_kit, crisis_plan,
    /// discharge_conversation or follow_up_appointment.
    pub item: String,
    pub label: String,
    /// open, done or waived.
    pub state: String,
    #[schema(format = Date)]
    pub on: Option<String>,
    /// The note when done, the reason when waived.
    pub note: Option<String>,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct AppointmentDto {
    #[schema(format = "uuid")]
    pub id: String,
    pub with_whom: String,
    /// Local date and time in Europe/Oslo, yyyy-mm-ddThh:mm.
    pub at: String,
    pub place: String,
    pub owner: NamedRef,
    /// Whether the patient came; none before it is recorded.
    pub attended: Option<bool>,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct HandoverDto {
    #[schema(format = "uuid")]
    pub id: String,
    pub from_organisation: NamedRef,
    pub to_organisation: NamedRef,
    pub order_summary: String,
    pub taper_plan: String,
    pub acknowledged_by: Option<NamedRef>,
    pub acknowledged_at: Option<String>,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct DischargeDto {
    #[schema(format = Date)]
    pub on: String,
    pub planned: bool,
    /// The day dispensing at home resumes.
    #[schema(format = Date)]
    pub resume_on: String,
    pub reason: String,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct StayDto {
    #[schema(format = "uuid")]
    pub id: String,
    /// hospital, institution or prison.
    pub kind: String,
    pub institution: NamedRef,
    #[schema(format = Date)]
    pub starts_on: String,
    /// As it stands after any extension.
    #[schema(format = Date)]
    pub planned_end_on: Option<String>,
    pub opioid_use: bool,
    /// in_progress or discharged.
    pub status: String,
    pub discharge: Option<DischargeDto>,
    /// Days of the stay without the usual substitution dose (until the discharge, or today).
    pub days_without_substitution: u32,
    /// The overdose-risk warning, when the stay warrants one.
    pub warning: Option<String>,
    pub bundle: Vec<BundleItemDto>,
    pub open_items: Vec<String>,
    pub appointments: Vec<AppointmentDto>,
    pub handovers: Vec<HandoverDto>,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct StaysDto {
    #[schema(format = "uuid")]
    pub patient_id: String,
    /// Why the dose order is blocked now, when it is.
    pub blocked: Option<String>,
    /// Newest first.
    pub stays: Vec<StayDto>,
}

fn stay_dto(view: &StaysView, stay: &StayView) -> StayDto {
    let record = &stay.record;
    let user = |id| NamedRef {
        id: format!("{id}"),
        name: wire::name_of(&view.names, id),
    };
    let org = |id: samhand_domain::ids::OrganisationId| NamedRef {
        id: id.to_string(),
        name: view.organisations.get(&id).map(|o| o.name.clone()),
    };
    let discharge = record.discharge().map(|d| DischargeDto {
        on: wire::date(d.on),
        planned: d.planned,
        resume_on: wire::date(d.resume_on),
        reason: record
            .discharge_event()
            .map(|e| e.reason.clone())
            .unwrap_or_default(),
    });
    StayDto {
        id: record.stay.id.to_string(),
        kind: record.stay.kind.code().into(),
        institution: NamedRef {
            id: record
                .stay
                .institution_id
                .map(|i| i.to_string())
                .unwrap_or_default(),
            name: Some(record.stay.institution.clone()),
        },
        starts_on: wire::date(record.stay.starts_on),
        planned_end_on: record.planned_end().map(wire::date),
        opioid_use: record.stay.opioid_use,
        status: if discharge.is_some() {
            "discharged"
        } else {
            "in_progress"
        }
        .into(),
        days_without_substitution: record.days_without_substitution(view.today),
        discharge,
        warning: stay.warning.clone(),
        bundle: stay
            .checklist
            .iter()
            .map(|(item, state)| {
                let (code, on, note) = match state {
                    ItemState::Open => ("open", None, None),
                    ItemState::Done { on, source } => ("done", Some(wire::date(*on)), Some(source.clone())),
                    ItemState::Waived { reason, .. } => ("waived", None, Some(reason.clone())),
                };
                BundleItemDto {
                    item: item.code().into(),
                    label: item.label_nb().into(),
                    state: code.into(),
                    on,
                    note,
                }
            })
            .collect(),
        open_items: stay.open.iter().map(|i| i.code().to_string()).collect(),
        appointments: stay
            .appointments
            .iter()
            .map(|a| AppointmentDto {
                id: a.id.to_string(),
                with_whom: a.with_whom.clone(),
                at: a.at.strftime("%Y-%m-%dT%H:%M").to_string(),
                place: a.place.clone(),
                owner: user(a.owner),
                attended: a.attended,
            })
            .collect(),
        handovers: stay
            .handovers
            .iter()
            .map(|h| HandoverDto {
                id: h.id.to_string(),
                from_organisation: org(h.from_organisation),
                to_organisation: org(h.to_organisation),
                order_summary: h.order_summary.clone(),
                taper_plan: h.taper_plan.clone(),
                acknowledged_by: h.acknowledged.map(|(u, _)| user(u)),
                acknowledged_at: h.acknowledged.map(|(_, at)| wire::instant(at)),
            })
            .collect(),
    }
}

fn stays_dto(view: &StaysView) -> StaysDto {
    StaysDto {
        patient_id: view.patient.id.to_string(),
        blocked: view.blocked.clone(),
        stays: view.stays.iter().map(|s| stay_dto(view, s)).collect(),
    }
}

#[utoipa::path(
    get,
    path = "/patients/{id}/stays",
    tag = "stays",
    operation_id = "stays",
    summary = "The patient's stays with their bundles, newest first",
    params(("id" = String, Path, format = "uuid", description = "The patient")),
    security(("bearer" = [])),
    responses(
        (status = 200, description = "The stays", body = StaysDto),
        (status = 401, response = ProblemResponse),
        (status = 403, response = ProblemResponse),
        (status = 404, response = ProblemResponse),
        (status = 500, response = ProblemResponse),
    )
)]
pub async fn stays(
    State(state): State<AppState>,
    staff: ApiStaff,
    PathId(patient): PathId<PatientId>,
) -> Result<Json<StaysDto>, ApiError> {
    let view = Service::new(&state, &staff.0).stays(patient).await?;
    Ok(Json(stays_dto(&view)))
}

/// The answer to a write: the patient's stays as they now stand.
async fn after(
    state: &AppState,
    staff: &ApiStaff,
    patient: PatientId,
    status: StatusCode,
) -> Result<(StatusCode, Json<StaysDto>), ApiError> {
    let view = Service::new(state, &staff.0).stays(patient).await?;
    Ok((status, Json(stays_dto(&view))))
}

async fn patient_of(state: &AppState, staff: &ApiStaff, stay: StayId) -> Result<PatientId, ApiError> {
    Ok(Service::new(state, &staff.0).stay_patient(stay).await?)
}

#[derive(Debug, Deserialize, ToSchema)]
pub struct AdmitRequest {
    /// hospital, institution or prison.
    #[serde(default)]
    pub kind: String,
    /// An institution Samhand knows; staff of an institution admit to their own.
    #[serde(default)]
    pub institution_id: String,
    /// The name, for a place Samhand does not know.
    #[serde(default)]
    pub institution: String,
    #[serde(default)]
    #[schema(format = Date)]
    pub starts_on: String,
    #[serde(default)]
    #[schema(format = Date)]
    pub planned_end_on: String,
    /// Whether the institution gives the usual substitution dose.
    #[serde(default)]
    pub substitution_continued: bool,
    /// Opioid use registered (always so for a LAR patient).
    #[serde(default)]
    pub opioid_use: bool,
}

#[utoipa::path(
    post,
    path = "/patients/{id}/stays",
    tag = "stays",
    operation_id = "admit",
    summary = "Admit the patient to a stay; dispensing at home pauses",
    description = "The LAR unit, or staff of the institution admitting the patient to itself. The units are told.",
    params(("id" = String, Path, format = "uuid", description = "The patient")),
    request_body = AdmitRequest,
    security(("bearer" = [])),
    responses(
        (status = 201, description = "Admitted; the patient's stays", body = StaysDto),
        (status = 401, response = ProblemResponse),
        (status = 403, response = ProblemResponse),
        (status = 404, response = ProblemResponse),
        (status = 409, response = ProblemResponse),
        (status = 413, response = ProblemResponse),
        (status = 422, response = ProblemResponse),
        (status = 500, response = ProblemResponse),
    )
)]
pub async fn admit(
    State(state): State<AppState>,
    staff: ApiStaff,
    PathId(patient): PathId<PatientId>,
    ApiJson(request): ApiJson<AdmitRequest>,
) -> Result<(StatusCode, Json<StaysDto>), ApiError> {
    let input = AdmitInput {
        kind: request.kind,
        institution_id: request.institution_id,
        institution: request.institution,
        starts_on: request.starts_on,
        planned_end_on: request.planned_end_on,
        substitution_continued: request.substitution_continued,
        opioid_use: request.opioid_use,
    };
    Service::new(&state, &staff.0)
        .admit(patient, &input)
        .await
        .map_err(|e| wire::with_api_fields(e, &[("type", "kind"), ("serviceProvider", "institution")]))?;
    after(&state, &staff, patient, StatusCode::CREATED).await
}

#[derive(Debug, Deserialize, ToSchema)]
pub struct ExtendRequest {
    #[serde(default)]
    #[schema(format = Date)]
    pub planned_end_on: String,
    #[serde(default)]
    pub reason: String,
}

#[utoipa::path(
    post,
    path = "/stays/{id}/extension",
    tag = "stays",
    operation_id = "extend_stay",
    summary = "Extend the stay: a new planned discharge date, re-notified",
    params(("id" = String, Path, format = "uuid", description = "The stay")),
    request_body = ExtendRequest,
    security(("bearer" = [])),
    responses(
        (status = 200, description = "Extended; the patient's stays", body = StaysDto),
        (status = 401, response = ProblemResponse),
        (status = 403, response = ProblemResponse),
        (status = 404, response = ProblemResponse),
        (status = 413, response = ProblemResponse),
        (status = 422, response = ProblemResponse),
        (status = 500, response = ProblemResponse),
    )
)]
pub async fn extend(
    State(state): State<AppState>,
    staff: ApiStaff,
    PathId(stay): PathId<StayId>,
    ApiJson(request): ApiJson<ExtendRequest>,
) -> Result<(StatusCode, Json<StaysDto>), ApiError> {
    let patient = patient_of(&state, &staff, stay).await?;
    Service::new(&state, &staff.0)
        .extend_stay(stay, &request.planned_end_on, &request.reason)
        .await?;
    after(&state, &staff, patient, StatusCode::OK).await
}

#[derive(Debug, Deserialize, ToSchema)]
pub struct SubstitutionRequest {
    #[serde(default)]
    #[schema(format = Date)]
    pub from: String,
    /// Whether the institution gives the usual dose from that day.
    pub continued: bool,
    #[serde(default)]
    pub reason: String,
}

#[utoipa::path(
    post,
    path = "/stays/{id}/substitution",
    tag = "stays",
    operation_id = "stay_substitution",
    summary = "From a date, the institution gives (or no longer gives) the usual substitution dose",
    params(("id" = String, Path, format = "uuid", description = "The stay")),
    request_body = SubstitutionRequest,
    security(("bearer" = [])),
    responses(
        (status = 200, description = "Recorded; the patient's stays", body = StaysDto),
        (status = 401, response = ProblemResponse),
        (status = 403, response = ProblemResponse),
        (status = 404, response = ProblemResponse),
        (status = 413, response = ProblemResponse),
        (status = 422, response = ProblemResponse),
        (status = 500, response = ProblemResponse),
    )
)]
pub async fn substitution(
    State(state): State<AppState>,
    staff: ApiStaff,
    PathId(stay): PathId<StayId>,
    ApiJson(request): ApiJson<SubstitutionRequest>,
) -> Result<(StatusCode, Json<StaysDto>), ApiError> {
    let patient = patient_of(&state, &staff, stay).await?;
    Service::new(&state, &staff.0)
        .set_substitution(stay, &request.from, request.continued, &request.reason)
        .await?;
    after(&state, &staff, patient, StatusCode::OK).await
}

#[derive(Debug, Deserialize, ToSchema)]
pub struct BundleRequest {
    #[serde(default)]
    pub item: String,
    /// Waive the item (with the reason in `note`) rather than mark it done.
    #[serde(default)]
    pub waived: bool,
    #[serde(default)]
    #[schema(format = Date)]
    pub on: String,
    #[serde(default)]
    pub note: String,
}

#[utoipa::path(
    post,
    path = "/stays/{id}/bundle",
    tag = "stays",
    operation_id = "mark_bundle_item",
    summary = "Mark a bundle item done, or waive it with a reason",
    description = "Naloxone, the crisis plan and the follow-up appointment are done when recorded; they can only be waived here.",
    params(("id" = String, Path, format = "uuid", description = "The stay")),
    request_body = BundleRequest,
    security(("bearer" = [])),
    responses(
        (status = 200, description = "Recorded; the patient's stays", body = StaysDto),
        (status = 401, response = ProblemResponse),
        (status = 403, response = ProblemResponse),
        (status = 404, response = ProblemResponse),
        (status = 413, response = ProblemResponse),
        (status = 422, response = ProblemResponse),
        (status = 500, response = ProblemResponse),
    )
)]
pub async fn bundle(
    State(state): State<AppState>,
    staff: ApiStaff,
    PathId(stay): PathId<StayId>,
    ApiJson(request): ApiJson<BundleRequest>,
) -> Result<(StatusCode, Json<StaysDto>), ApiError> {
    let patient = patient_of(&state, &staff, stay).await?;
    let input = BundleEntryInput {
        item: request.item,
        waived: request.waived,
        on: request.on,
        note: request.note,
    };
    Service::new(&state, &staff.0)
        .mark_bundle_item(stay, &input)
        .await?;
    after(&state, &staff, patient, StatusCode::OK).await
}

#[derive(Debug, Deserialize, ToSchema)]
pub struct AppointmentRequest {
    #[serde(default)]
    pub with_whom: String,
    #[serde(default)]
    #[schema(format = Date)]
    pub date: String,
    /// hh:mm
    #[serde(default)]
    pub time: String,
    #[serde(default)]
    pub place: String,
    /// The user who follows up a no-show.
    #[serde(default)]
    pub owner: String,
}

#[utoipa::path(
    post,
    path = "/stays/{id}/appointments",
    tag = "stays",
    operation_id = "add_appointment",
    summary = "Register «time i hånden»: the follow-up appointment after discharge",
    params(("id" = String, Path, format = "uuid", description = "The stay")),
    request_body = AppointmentRequest,
    security(("bearer" = [])),
    responses(
        (status = 201, description = "Registered; the patient's stays", body = StaysDto),
        (status = 401, response = ProblemResponse),
        (status = 403, response = ProblemResponse),
        (status = 404, response = ProblemResponse),
        (status = 413, response = ProblemResponse),
        (status = 422, response = ProblemResponse),
        (status = 500, response = ProblemResponse),
    )
)]
pub async fn add_appointment(
    State(state): State<AppState>,
    staff: ApiStaff,
    PathId(stay): PathId<StayId>,
    ApiJson(request): ApiJson<AppointmentRequest>,
) -> Result<(StatusCode, Json<StaysDto>), ApiError> {
    let patient = patient_of(&state, &staff, stay).await?;
    let input = AppointmentInput {
        with_whom: request.with_whom,
        date: request.date,
        time: request.time,
        place: request.place,
        owner: request.owner,
    };
    Service::new(&state, &staff.0)
        .add_appointment(stay, &input)
        .await?;
    after(&state, &staff, patient, StatusCode::CREATED).await
}

#[derive(Debug, Deserialize, ToSchema)]
pub struct OutcomeRequest {
    pub attended: bool,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct OutcomeDto {
    /// The outreach task a no-show gave the owner.
    #[schema(format = "uuid")]
    pub outreach_task_id: Option<String>,
}

#[utoipa::path(
    post,
    path = "/appointments/{id}/outcome",
    tag = "stays",
    operation_id = "appointment_outcome",
    summary = "Whether the patient came; a no-show gives the owner an outreach task due today",
    params(("id" = String, Path, format = "uuid", description = "The appointment")),
    request_body = OutcomeRequest,
    security(("bearer" = [])),
    responses(
        (status = 200, description = "Recorded", body = OutcomeDto),
        (status = 401, response = ProblemResponse),
        (status = 403, response = ProblemResponse),
        (status = 404, response = ProblemResponse),
        (status = 413, response = ProblemResponse),
        (status = 422, response = ProblemResponse),
        (status = 500, response = ProblemResponse),
    )
)]
pub async fn appointment_outcome(
    State(state): State<AppState>,
    staff: ApiStaff,
    PathId(id): PathId<AppointmentId>,
    ApiJson(request): ApiJson<OutcomeRequest>,
) -> Result<Json<OutcomeDto>, ApiError> {
    let task = Service::new(&state, &staff.0)
        .appointment_outcome(id, request.attended)
        .await?;
    Ok(Json(OutcomeDto {
        outreach_task_id: task.map(|t| t.id.to_string()),
    }))
}

#[derive(Debug, Deserialize, ToSchema)]
pub struct DischargeRequest {
    #[serde(default)]
    #[schema(format = Date)]
    pub on: String,
    /// Planned (the bundle must be done or waived) or unplanned (the patient left).
    pub planned: bool,
    /// The day dispensing at home resumes: the discharge day (when left out) or the day after.
    #[serde(default)]
    #[schema(format = Date)]
    pub resume_on: String,
    /// What happened, for an unplanned discharge.
    #[serde(default)]
    pub reason: String,
}

#[utoipa::path(
    post,
    path = "/stays/{id}/discharge",
    tag = "stays",
    operation_id = "discharge",
    summary = "Discharge: planned (refused while a bundle item is open) or unplanned (alerts and tasks at once)",
    params(("id" = String, Path, format = "uuid", description = "The stay")),
    request_body = DischargeRequest,
    security(("bearer" = [])),
    responses(
        (status = 200, description = "Discharged; the patient's stays", body = StaysDto),
        (status = 401, response = ProblemResponse),
        (status = 403, response = ProblemResponse),
        (status = 404, response = ProblemResponse),
        (status = 409, response = ProblemResponse),
        (status = 413, response = ProblemResponse),
        (status = 422, response = ProblemResponse),
        (status = 500, response = ProblemResponse),
    )
)]
pub async fn discharge(
    State(state): State<AppState>,
    staff: ApiStaff,
    PathId(stay): PathId<StayId>,
    ApiJson(request): ApiJson<DischargeRequest>,
) -> Result<(StatusCode, Json<StaysDto>), ApiError> {
    let patient = patient_of(&state, &staff, stay).await?;
    let input = DischargeInput {
        on: request.on,
        planned: request.planned,
        resume_on: request.resume_on,
        reason: request.reason,
    };
    Service::new(&state, &staff.0).discharge(stay, &input).await?;
    after(&state, &staff, patient, StatusCode::OK).await
}

#[derive(Debug, Deserialize, ToSchema)]
pub struct HandoverRequest {
    #[serde(default)]
    #[schema(format = "uuid")]
    pub to_organisation: String,
    #[serde(default)]
    pub order_summary: String,
    #[serde(default)]
    pub taper_plan: String,
}

#[utoipa::path(
    post,
    path = "/stays/{id}/handovers",
    tag = "stays",
    operation_id = "hand_over",
    summary = "Hand prescribing over to the GP or the LAR unit, with the order and any taper plan",
    params(("id" = String, Path, format = "uuid", description = "The stay")),
    request_body = HandoverRequest,
    security(("bearer" = [])),
    responses(
        (status = 201, description = "Handed over; the patient's stays", body = StaysDto),
        (status = 401, response = ProblemResponse),
        (status = 403, response = ProblemResponse),
        (status = 404, response = ProblemResponse),
        (status = 413, response = ProblemResponse),
        (status = 422, response = ProblemResponse),
        (status = 500, response = ProblemResponse),
    )
)]
pub async fn hand_over(
    State(state): State<AppState>,
    staff: ApiStaff,
    PathId(stay): PathId<StayId>,
    ApiJson(request): ApiJson<HandoverRequest>,
) -> Result<(StatusCode, Json<StaysDto>), ApiError> {
    let patient = patient_of(&state, &staff, stay).await?;
    let input = HandoverInput {
        to_organisation: request.to_organisation,
        order_summary: request.order_summary,
        taper_plan: request.taper_plan,
    };
    Service::new(&state, &staff.0).hand_over(stay, &input).await?;
    after(&state, &staff, patient, StatusCode::CREATED).await
}

#[utoipa::path(
    post,
    path = "/handovers/{id}/acknowledgement",
    tag = "stays",
    operation_id = "acknowledge_handover",
    summary = "The receiving prescriber takes prescribing over",
    params(("id" = String, Path, format = "uuid", description = "The hand-over")),
    security(("bearer" = [])),
    responses(
        (status = 204, description = "Acknowledged"),
        (status = 401, response = ProblemResponse),
        (status = 403, response = ProblemResponse),
        (status = 404, response = ProblemResponse),
        (status = 409, response = ProblemResponse),
        (status = 500, response = ProblemResponse),
    )
)]
pub async fn acknowledge_handover(
    State(state): State<AppState>,
    staff: ApiStaff,
    PathId(id): PathId<HandoverId>,
) -> Result<StatusCode, ApiError> {
    Service::new(&state, &staff.0).acknowledge_handover(id).await?;
    Ok(StatusCode::NO_CONTENT)
}
