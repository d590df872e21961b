//! The drug-test regime: the doctor's decision in versions, the samples expected
//! against those delivered, and the unit's list of samples not delivered and
//! regimes past their review.

use std::collections::HashMap;

use axum::Json;
use axum::extract::State;
use axum::http::StatusCode;
use samhand_domain::drug_test_regime::{Regime, RegimeInput, SampleWindow};
use samhand_domain::ids::{PatientId, UserId};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use super::extract::{ApiJson, PathId};
use super::problem::ProblemResponse;
use super::wire::{self, NamedRef};
use crate::AppState;
use crate::auth::{ApiActor, ApiStaff};
use crate::error::ApiError;
use crate::service::Service;

#[derive(Debug, Serialize, ToSchema)]
pub struct RegimeDto {
    pub version: i64,
    #[schema(format = Date)]
    pub valid_from: String,
    #[schema(schema_with = super::wire::codes::<samhand_domain::drug_test_regime::RegimeReason>)]
    pub reason: String,
    pub note: String,
    /// Codes of the substances tested.
    pub substances: Vec<String>,
    #[schema(schema_with = super::wire::codes::<samhand_domain::drug_test_regime::Frequency>)]
    pub frequency: String,
    pub supervised: bool,
    pub where_given: String,
    #[schema(format = Date)]
    pub review_on: String,
    /// This version ends the regime.
    pub ended: bool,
    pub recorded_by: NamedRef,
    pub recorded_at: String,
}

fn regime_dto(r: &Regime, names: &HashMap<UserId, String>) -> RegimeDto {
    RegimeDto {
        version: r.version,
        valid_from: wire::date(r.valid_from),
        reason: r.reason.code().into(),
        note: r.note.clone(),
        substances: r.substances.iter().map(|s| s.code().to_string()).collect(),
        frequency: r.frequency.code().into(),
        supervised: r.supervised,
        where_given: r.where_given.clone(),
        review_on: wire::date(r.review_on),
        ended: r.ended,
        recorded_by: NamedRef {
            id: r.recorded_by.to_string(),
            name: wire::name_of(names, r.recorded_by),
        },
        recorded_at: wire::instant(r.recorded_at),
    }
}

#[derive(Debug, Serialize, ToSchema)]
pub struct SampleWindowDto {
    #[schema(format = Date)]
    pub from: String,
    #[schema(format = Date)]
    pub to: String,
    pub expected: u32,
    pub delivered: u32,
    /// Not delivered once the window and the policy's grace days are over.
    pub missing: u32,
    pub closed: bool,
}

fn window_dto(w: &SampleWindow) -> SampleWindowDto {
    SampleWindowDto {
        from: wire::date(w.from),
        to: wire::date(w.to),
        expected: w.expected,
        delivered: w.delivered,
        missing: w.missing(),
        closed: w.closed,
    }
}

#[derive(Debug, Serialize, ToSchema)]
pub struct RegimeViewDto {
    #[schema(format = "uuid")]
    pub patient_id: String,
    /// Every version, newest first; empty when no regime was ever decided.
    pub versions: Vec<RegimeDto>,
    /// Samples expected against delivered, window by window, newest first.
    pub windows: Vec<SampleWindowDto>,
    pub expected: u32,
    pub delivered: u32,
    pub missing: u32,
    pub review_overdue: bool,
}

#[utoipa::path(
    get,
    path = "/patients/{id}/drug-test-regime",
    tag = "status",
    operation_id = "drug_test_regime",
    summary = "The patient's drug-test regime: every version, and the samples expected against those delivered",
    params(("id" = String, Path, format = "uuid", description = "The patient")),
    security(("bearer" = [])),
    responses(
        (status = 200, description = "The regime", body = RegimeViewDto),
        (status = 401, response = ProblemResponse),
        (status = 403, response = ProblemResponse),
        (status = 404, response = ProblemResponse),
        (status = 500, response = ProblemResponse),
    )
)]
pub async fn drug_test_regime(
    State(state): State<AppState>,
    actor: ApiActor,
    PathId(patient): PathId<PatientId>,
) -> Result<Json<RegimeViewDto>, ApiError> {
    let view = Service::new(&state, &actor.0).drug_test_regime(patient).await?;
    Ok(Json(RegimeViewDto {
        patient_id: patient.to_string(),
        versions: view.versions.iter().map(|r| regime_dto(r, &view.names)).collect(),
        windows: view.windows.iter().map(window_dto).collect(),
        expected: view.tally.expected,
        delivered: view.tally.delivered,
        missing: view.tally.missing,
        review_overdue: view.review_overdue,
    }))
}

#[derive(Debug, Deserialize, ToSchema)]
pub struct RegimeRequest {
    #[serde(default)]
    pub valid_from: String,
    #[serde(default)]
    pub reason: String,
    #[serde(default)]
    pub note: String,
    #[serde(default)]
    pub substances: Vec<String>,
    #[serde(default)]
    pub frequency: String,
    #[serde(default)]
    pub supervised: bool,
    #[serde(default)]
    pub where_given: String,
    #[serde(default)]
    pub review_on: String,
}

#[utoipa::path(
    post,
    path = "/patients/{id}/drug-test-regime",
    tag = "status",
    operation_id = "decide_drug_test_regime",
    summary = "The doctor decides or changes the drug-test regime: a new version",
    params(("id" = String, Path, format = "uuid", description = "The patient")),
    request_body = RegimeRequest,
    security(("bearer" = [])),
    responses(
        (status = 201, description = "The new version", body = RegimeDto),
        (status = 401, response = ProblemResponse),
        (status = 403, response = ProblemResponse),
        (status = 404, response = ProblemResponse),
        (status = 409, response = ProblemResponse),
        (status = 413, response = ProblemResponse),
        (status = 422, response = ProblemResponse),
        (status = 500, response = ProblemResponse),
    )
)]
pub async fn decide(
    State(state): State<AppState>,
    ApiStaff(staff): ApiStaff,
    PathId(patient): PathId<PatientId>,
    ApiJson(request): ApiJson<RegimeRequest>,
) -> Result<(StatusCode, Json<RegimeDto>), ApiError> {
    let input = RegimeInput {
        valid_from: request.valid_from,
        reason: request.reason,
        note: request.note,
        substances: request.substances,
        frequency: request.frequency,
        supervised: request.supervised,
        where_given: request.where_given,
        review_on: request.review_on,
    };
    let saved = Service::new(&state, &staff)
        .decide_drug_test_regime(patient, &input)
        .await?;
    let names = HashMap::from([(staff.id, staff.display_name.clone())]);
    Ok((StatusCode::CREATED, Json(regime_dto(&saved, &names))))
}

#[derive(Debug, Deserialize, ToSchema)]
pub struct EndRegimeRequest {
    /// Why the samples stop.
    #[serde(default)]
    pub note: String,
}

#[utoipa::path(
    post,
    path = "/patients/{id}/drug-test-regime/end",
    tag = "status",
    operation_id = "end_drug_test_regime",
    summary = "The doctor ends the drug-test regime from today, with why: a new version",
    params(("id" = String, Path, format = "uuid", description = "The patient")),
    request_body = EndRegimeRequest,
    security(("bearer" = [])),
    responses(
        (status = 201, description = "The ending version", body = RegimeDto),
        (status = 401, response = ProblemResponse),
        (status = 403, response = ProblemResponse),
        (status = 404, response = ProblemResponse),
        (status = 409, response = ProblemResponse),
        (status = 413, response = ProblemResponse),
        (status = 422, response = ProblemResponse),
        (status = 500, response = ProblemResponse),
    )
)]
pub async fn end(
    State(state): State<AppState>,
    ApiStaff(staff): ApiStaff,
    PathId(patient): PathId<PatientId>,
    ApiJson(request): ApiJson<EndRegimeRequest>,
) -> Result<(StatusCode, Json<RegimeDto>), ApiError> {
    let saved = Service::new(&state, &staff)
        .end_drug_test_regime(patient, &request.note)
        .await?;
    let names = HashMap::from([(staff.id, staff.display_name.clone())]);
    Ok((StatusCode::CREATED, Json(regime_dto(&saved, &names))))
}

#[derive(Debug, Serialize, ToSchema)]
pub struct SampleFollowUpDto {
    pub patient: NamedRef,
    pub regime: RegimeDto,
    /// Samples in the windows of the last four weeks.
    pub expected: u32,
    pub delivered: u32,
    pub missing: u32,
    pub review_overdue: bool,
}

#[utoipa::path(
    get,
    path = "/drug-test-follow-up",
    tag = "status",
    operation_id = "drug_test_follow_up",
    summary = "The unit's list: patients with samples not delivered in the last four weeks, or a regime past its review",
    security(("bearer" = [])),
    responses(
        (status = 200, description = "The list, by name", body = [SampleFollowUpDto]),
        (status = 401, response = ProblemResponse),
        (status = 403, response = ProblemResponse),
        (status = 500, response = ProblemResponse),
    )
)]
pub async fn follow_up(
    State(state): State<AppState>,
    ApiStaff(staff): ApiStaff,
) -> Result<Json<Vec<SampleFollowUpDto>>, ApiError> {
    let list = Service::new(&state, &staff).drug_test_follow_up().await?;
    let names = HashMap::new();
    Ok(Json(
        list.iter()
            .map(|f| SampleFollowUpDto {
                patient: NamedRef {
                    id: f.patient.id.to_string(),
                    name: Some(f.patient.full_name()),
                },
                regime: regime_dto(&f.regime, &names),
                expected: f.recent.expected,
                delivered: f.recent.delivered,
                missing: f.recent.missing,
                review_overdue: f.review_overdue,
            })
            .collect(),
    ))
}
