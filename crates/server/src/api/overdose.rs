//! Overdose prevention: the crisis plan in versions (the patient may save it with
//! their own token), naloxone hand-outs and the per-place report, overdose events.

use std::collections::HashMap;

use axum::Json;
use axum::extract::State;
use axum::http::StatusCode;
use samhand_domain::ids::{OrganisationId, PatientId, UserId};
use samhand_domain::organisation::Organisation;
use samhand_domain::overdose::{
    CrisisPlanInput, CrisisPlanVersion, NaloxoneInput, NaloxoneKit, OverdoseEvent, OverdoseInput,
};
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};

use super::extract::{ApiJson, ApiQuery, PathId};
use super::problem::ProblemResponse;
use super::wire::{self, NamedRef};
use crate::AppState;
use crate::auth::{ApiActor, ApiStaff};
use crate::error::ApiError;
use crate::service::Service;

fn user_ref(names: &HashMap<UserId, String>, id: UserId) -> NamedRef {
    NamedRef {
        id: id.to_string(),
        name: wire::name_of(names, id),
    }
}

fn org_ref(organisations: &HashMap<OrganisationId, Organisation>, id: OrganisationId) -> NamedRef {
    NamedRef {
        id: id.to_string(),
        name: organisations.get(&id).map(|o| o.name.clone()),
    }
}

// ------------------------------------------------------------------ crisis plan

#[derive(Debug, Serialize, Deserialize, ToSchema)]
pub struct CrisisContactDto {
    pub name: String,
    pub phone: String,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct CrisisPlanVersionDto {
    #[schema(format = "uuid")]
    pub id: String,
    pub version: i64,
    pub warning_signs: String,
    pub what_helps: String,
    pub contacts: Vec<CrisisContactDto>,
    /// A staff member, or the patient's own account.
    pub recorded_by: NamedRef,
    /// Whether the patient saved this version themself.
    pub by_patient: bool,
    pub recorded_at: String,
}

fn plan_dto(plan: &CrisisPlanVersion, names: &HashMap<UserId, String>) -> CrisisPlanVersionDto {
    CrisisPlanVersionDto {
        id: plan.id.to_string(),
        version: plan.version,
        warning_signs: plan.warning_signs.clone(),
        what_helps: plan.what_helps.clone(),
        contacts: plan
            .contacts
            .iter()
            .map(|c| CrisisContactDto {
                name: c.name.clone(),
                phone: c.phone.clone(),
            })
            .collect(),
        recorded_by: user_ref(names, plan.recorded_by),
        by_patient: plan.by_patient,
        recorded_at: wire::instant(plan.recorded_at),
    }
}

#[derive(Debug, Serialize, ToSchema)]
pub struct CrisisPlanDto {
    #[schema(format = "uuid")]
    pub patient_id: String,
    /// The version in force; none before the first save.
    pub current: Option<CrisisPlanVersionDto>,
    /// Every version, newest first.
    pub history: Vec<CrisisPlanVersionDto>,
}

#[utoipa::path(
    get,
    path = "/patients/{id}/crisis-plan",
    tag = "overdose",
    operation_id = "crisis_plan",
    summary = "The crisis plan (kriseplan) in force and its history",
    description = "Staff with a relation, or the patient with their own token.",
    params(("id" = String, Path, format = "uuid", description = "The patient")),
    security(("bearer" = [])),
    responses(
        (status = 200, description = "The plan and every version", body = CrisisPlanDto),
        (status = 401, response = ProblemResponse),
        (status = 403, response = ProblemResponse),
        (status = 404, response = ProblemResponse),
        (status = 500, response = ProblemResponse),
    )
)]
pub async fn crisis_plan(
    State(state): State<AppState>,
    actor: ApiActor,
    PathId(patient): PathId<PatientId>,
) -> Result<Json<CrisisPlanDto>, ApiError> {
    let view = Service::new(&state, &actor.0).crisis_plan(patient).await?;
    Ok(Json(CrisisPlanDto {
        patient_id: patient.to_string(),
        current: view.current.as_ref().map(|p| plan_dto(p, &view.names)),
        history: view.history.iter().map(|p| plan_dto(p, &view.names)).collect(),
    }))
}

#[derive(Debug, Deserialize, ToSchema)]
pub struct CrisisPlanRequest {
    #[serde(default)]
    pub warning_signs: String,
    #[serde(default)]
    pub what_helps: String,
    /// Whom to call: at least one, each with a phone number.
    #[serde(default)]
    pub contacts: Vec<CrisisContactDto>,
}

#[utoipa::path(
    post,
    path = "/patients/{id}/crisis-plan",
    tag = "overdose",
    operation_id = "save_crisis_plan",
    summary = "Save the crisis plan; every save is a new version",
    description = "Written with the patient; the patient may save it with their own token.",
    params(("id" = String, Path, format = "uuid", description = "The patient")),
    request_body = CrisisPlanRequest,
    security(("bearer" = [])),
    responses(
        (status = 201, description = "The new version", body = CrisisPlanVersionDto),
        (status = 401, response = ProblemResponse),
        (status = 403, response = ProblemResponse),
        (status = 404, response = ProblemResponse),
        (status = 409, response = ProblemResponse),
        (status = 413, response = ProblemResponse),
        (status = 422, response = ProblemResponse),
        (status = 500, response = ProblemResponse),
    )
)]
pub async fn save_crisis_plan(
    State(state): State<AppState>,
    actor: ApiActor,
    PathId(patient): PathId<PatientId>,
    ApiJson(request): ApiJson<CrisisPlanRequest>,
) -> Result<(StatusCode, Json<CrisisPlanVersionDto>), ApiError> {
    let input = CrisisPlanInput {
        warning_signs: request.warning_signs,
        what_helps: request.what_helps,
        contacts: request.contacts.into_iter().map(|c| (c.name, c.phone)).collect(),
    };
    let version = Service::new(&state, &actor.0)
        .save_crisis_plan(patient, &input)
        .await?;
    Ok((StatusCode::CREATED, Json(plan_dto(&version, &HashMap::new()))))
}

// --------------------------------------------------------------------- naloxone

#[derive(Debug, Serialize, ToSchema)]
pub struct NaloxoneKitDto {
    #[schema(format = "uuid")]
    pub id: String,
    #[schema(format = Date)]
    pub handed_out_on: String,
    pub place: NamedRef,
    pub kits: i64,
    /// Whether training in kameratredning was given.
    pub training_given: bool,
    pub note: String,
    pub handed_out_by: NamedRef,
    pub recorded_at: String,
}

fn kit_dto(
    kit: &NaloxoneKit,
    names: &HashMap<UserId, String>,
    organisations: &HashMap<OrganisationId, Organisation>,
) -> NaloxoneKitDto {
    NaloxoneKitDto {
        id: kit.id.to_string(),
        handed_out_on: wire::date(kit.handed_out_on),
        place: org_ref(organisations, kit.place_id),
        kits: kit.kits,
        training_given: kit.training_given,
        note: kit.note.clone(),
        handed_out_by: user_ref(names, kit.handed_out_by),
        recorded_at: wire::instant(kit.recorded_at),
    }
}

#[utoipa::path(
    get,
    path = "/patients/{id}/naloxone",
    tag = "overdose",
    operation_id = "naloxone",
    summary = "Naloxone nasal spray handed out to the patient, newest first",
    params(("id" = String, Path, format = "uuid", description = "The patient")),
    security(("bearer" = [])),
    responses(
        (status = 200, description = "The hand-outs", body = [NaloxoneKitDto]),
        (status = 401, response = ProblemResponse),
        (status = 403, response = ProblemResponse),
        (status = 404, response = ProblemResponse),
        (status = 500, response = ProblemResponse),
    )
)]
pub async fn naloxone(
    State(state): State<AppState>,
    actor: ApiActor,
    PathId(patient): PathId<PatientId>,
) -> Result<Json<Vec<NaloxoneKitDto>>, ApiError> {
    let view = Service::new(&state, &actor.0).naloxone(patient).await?;
    Ok(Json(
        view.kits
            .iter()
            .map(|k| kit_dto(k, &view.names, &view.organisations))
            .collect(),
    ))
}

#[derive(Debug, Deserialize, ToSchema)]
pub struct NaloxoneRequest {
    /// yyyy-mm-dd, today or earlier.
    #[serde(default)]
    pub handed_out_on: String,
    /// 1–10; one when left out.
    pub kits: Option<i64>,
    /// Whether training in kameratredning was given; required.
    pub training_given: Option<bool>,
    #[serde(default)]
    pub note: String,
}

#[utoipa::path(
    post,
    path = "/patients/{id}/naloxone",
    tag = "overdose",
    operation_id = "record_naloxone",
    summary = "Record naloxone handed out at the caller's place",
    description = "Dispensing staff at the patient's place, or clinical staff of the responsible LAR unit.",
    params(("id" = String, Path, format = "uuid", description = "The patient")),
    request_body = NaloxoneRequest,
    security(("bearer" = [])),
    responses(
        (status = 201, description = "Recorded", body = NaloxoneKitDto),
        (status = 401, response = ProblemResponse),
        (status = 403, response = ProblemResponse),
        (status = 404, response = ProblemResponse),
        (status = 413, response = ProblemResponse),
        (status = 422, response = ProblemResponse),
        (status = 500, response = ProblemResponse),
    )
)]
pub async fn record_naloxone(
    State(state): State<AppState>,
    ApiStaff(staff): ApiStaff,
    PathId(patient): PathId<PatientId>,
    ApiJson(request): ApiJson<NaloxoneRequest>,
) -> Result<(StatusCode, Json<NaloxoneKitDto>), ApiError> {
    let input = NaloxoneInput {
        handed_out_on: request.handed_out_on,
        kits: request.kits.map(|k| k.to_string()).unwrap_or_default(),
        training_given: request.training_given,
        note: request.note,
    };
    let service = Service::new(&state, &staff);
    let kit = service.record_naloxone(patient, &input).await?;
    let organisations = service.organisations().await.map_err(ApiError)?;
    let names = HashMap::from([(staff.id, staff.display_name.clone())]);
    Ok((StatusCode::CREATED, Json(kit_dto(&kit, &names, &organisations))))
}

#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct ReportQuery {
    /// yyyy-mm-dd; the first of the month a year ago when left out.
    #[serde(default)]
    pub from: String,
    /// yyyy-mm-dd; today when left out.
    #[serde(default)]
    pub to: String,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct NaloxoneReportLineDto {
    pub place: NamedRef,
    /// yyyy-mm.
    pub month: String,
    pub kits: i64,
    /// Hand-outs with training in kameratredning.
    pub with_training: usize,
    pub patients: usize,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct NaloxoneReportDto {
    #[schema(format = Date)]
    pub from: String,
    #[schema(format = Date)]
    pub to: String,
    /// By place, then month.
    pub lines: Vec<NaloxoneReportLineDto>,
    pub total_kits: i64,
}

#[utoipa::path(
    get,
    path = "/naloxone",
    tag = "overdose",
    operation_id = "naloxone_report",
    summary = "Naloxone kits per place and month: a LAR unit's patients, or what a place handed out",
    params(ReportQuery),
    security(("bearer" = [])),
    responses(
        (status = 200, description = "The report", body = NaloxoneReportDto),
        (status = 401, response = ProblemResponse),
        (status = 403, response = ProblemResponse),
        (status = 422, response = ProblemResponse),
        (status = 500, response = ProblemResponse),
    )
)]
pub async fn naloxone_report(
    State(state): State<AppState>,
    ApiStaff(staff): ApiStaff,
    ApiQuery(query): ApiQuery<ReportQuery>,
) -> Result<Json<NaloxoneReportDto>, ApiError> {
    let report = Service::new(&state, &staff)
        .naloxone_report(&query.from, &query.to)
        .await?;
    Ok(Json(NaloxoneReportDto {
        from: wire::date(report.from),
        to: wire::date(report.to),
        total_kits: report.lines.iter().map(|l| l.kits).sum(),
        lines: report
            .lines
            .iter()
            .map(|l| NaloxoneReportLineDto {
                place: org_ref(&report.organisations, l.place_id),
                month: format!("{:04}-{:02}", l.month.year(), l.month.month()),
                kits: l.kits,
                with_training: l.with_training,
                patients: l.patients,
            })
            .collect(),
    }))
}

// --------------------------------------------------------------- overdose events

#[derive(Debug, Serialize, ToSchema)]
pub struct OverdoseDto {
    #[schema(format = "uuid")]
    pub id: String,
    #[schema(format = Date)]
    pub occurred_on: String,
    /// non_fatal or fatal.
    #[schema(schema_with = super::wire::codes::<samhand_domain::overdose::OverdoseOutcome>)]
    pub outcome: String,
    pub place_description: String,
    pub substances: String,
    pub naloxone_used: bool,
    pub reported_by: String,
    pub recorded_by: NamedRef,
    pub recorded_organisation: NamedRef,
    pub recorded_at: String,
}

fn overdose_dto(
    event: &OverdoseEvent,
    names: &HashMap<UserId, String>,
    organisations: &HashMap<OrganisationId, Organisation>,
) -> OverdoseDto {
    OverdoseDto {
        id: event.id.to_string(),
        occurred_on: wire::date(event.occurred_on),
        outcome: event.outcome.code().into(),
        place_description: event.place_description.clone(),
        substances: event.substances.clone(),
        naloxone_used: event.naloxone_used,
        reported_by: event.reported_by.clone(),
        recorded_by: user_ref(names, event.recorded_by),
        recorded_organisation: org_ref(organisations, event.recorded_organisation),
        recorded_at: wire::instant(event.recorded_at),
    }
}

#[utoipa::path(
    get,
    path = "/patients/{id}/overdoses",
    tag = "overdose",
    operation_id = "overdoses",
    summary = "The patient's overdoses, newest first",
    params(("id" = String, Path, format = "uuid", description = "The patient")),
    security(("bearer" = [])),
    responses(
        (status = 200, description = "The overdoses", body = [OverdoseDto]),
        (status = 401, response = ProblemResponse),
        (status = 403, response = ProblemResponse),
        (status = 404, response = ProblemResponse),
        (status = 500, response = ProblemResponse),
    )
)]
pub async fn overdoses(
    State(state): State<AppState>,
    actor: ApiActor,
    PathId(patient): PathId<PatientId>,
) -> Result<Json<Vec<OverdoseDto>>, ApiError> {
    let view = Service::new(&state, &actor.0).overdoses(patient).await?;
    Ok(Json(
        view.events
            .iter()
            .map(|e| overdose_dto(e, &view.names, &view.organisations))
            .collect(),
    ))
}

#[derive(Debug, Deserialize, ToSchema)]
pub struct OverdoseRequest {
    /// yyyy-mm-dd, today or earlier.
    #[serde(default)]
    pub occurred_on: String,
    /// non_fatal or fatal.
    #[serde(default)]
    pub outcome: String,
    #[serde(default)]
    pub place_description: String,
    /// The substances involved, or «ukjent».
    #[serde(default)]
    pub substances: String,
    /// Required.
    pub naloxone_used: Option<bool>,
    /// Who told of it: ambulance, a friend, the patient.
    #[serde(default)]
    pub reported_by: String,
}

#[utoipa::path(
    post,
    path = "/patients/{id}/overdoses",
    tag = "overdose",
    operation_id = "register_overdose",
    summary = "Register an overdose; alerts the LAR unit, the care team's units and the dispensing place, and gives the LAR consultant a task due tomorrow",
    params(("id" = String, Path, format = "uuid", description = "The patient")),
    request_body = OverdoseRequest,
    security(("bearer" = [])),
    responses(
        (status = 201, description = "Registered", body = OverdoseDto),
        (status = 401, response = ProblemResponse),
        (status = 403, response = ProblemResponse),
        (status = 404, response = ProblemResponse),
        (status = 413, response = ProblemResponse),
        (status = 422, response = ProblemResponse),
        (status = 500, response = ProblemResponse),
    )
)]
pub async fn register_overdose(
    State(state): State<AppState>,
    ApiStaff(staff): ApiStaff,
    PathId(patient): PathId<PatientId>,
    ApiJson(request): ApiJson<OverdoseRequest>,
) -> Result<(StatusCode, Json<OverdoseDto>), ApiError> {
    let input = OverdoseInput {
        occurred_on: request.occurred_on,
        outcome: request.outcome,
        place_description: request.place_description,
        substances: request.substances,
        naloxone_used: request.naloxone_used,
        reported_by: request.reported_by,
    };
    let service = Service::new(&state, &staff);
    let event = service.register_overdose(patient, &input).await?;
    let organisations = service.organisations().await.map_err(ApiError)?;
    let names = HashMap::from([(staff.id, staff.display_name.clone())]);
    Ok((
        StatusCode::CREATED,
        Json(overdose_dto(&event, &names, &organisations)),
    ))
}
