//! After a referral: the assessment decision, quick-start offers, the planning
//! checklist and the waiting-time indicators.

use std::str::FromStr;

use axum::Json;
use axum::extract::State;
use axum::http::StatusCode;
use samhand_domain::ids::PatientId;
use samhand_domain::referral_assessment::{
    Assessment, AssessmentInput, MonthIndicators, QuickStartInput, QuickStartOffer,
};
use samhand_domain::validation::{FieldErrors, parse_date};
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};

use super::extract::{ApiJson, ApiQuery, PathId, PathResource};
use super::problem::ProblemResponse;
use super::wire;
use crate::AppState;
use crate::auth::ApiStaff;
use crate::error::{ApiError, AppError};
use crate::service::{ChecklistRow, Service};

/// A referral's id in a path.
pub struct ReferralKey(pub String);

impl FromStr for ReferralKey {
    type Err = uuid::Error;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        uuid::Uuid::parse_str(s).map(|u| Self(u.to_string()))
    }
}

impl PathResource for ReferralKey {
    const WHAT: &'static str = "henvisningen";
}

#[derive(Debug, Deserialize, ToSchema)]
pub struct AssessmentRequest {
    /// `right` (right to necessary health care) or `no_right`.
    #[serde(default)]
    #[schema(required = true)]
    pub decision: String,
    /// With a right: the legal deadline for start of treatment (today or later).
    #[serde(default)]
    #[schema(format = Date)]
    pub latest_start: String,
    /// The reason; required without a right.
    #[serde(default)]
    pub reason: String,
    /// Why an earlier assessment is corrected; required for a second version.
    #[serde(default)]
    pub correction_reason: String,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct AssessmentDto {
    #[schema(format = "uuid")]
    pub id: String,
    #[schema(format = "uuid")]
    pub referral_id: String,
    pub version: i64,
    pub decision: String,
    #[schema(format = Date)]
    pub latest_start: Option<String>,
    pub reason: String,
    pub correction_reason: Option<String>,
    /// The day of the first assessment (kept by corrections).
    #[schema(format = Date)]
    pub assessed_on: String,
    #[schema(format = "uuid")]
    pub assessed_by: String,
    pub assessed_at: String,
}

pub fn assessment_dto(a: &Assessment) -> AssessmentDto {
    AssessmentDto {
        id: a.id.clone(),
        referral_id: a.referral_id.clone(),
        version: a.version,
        decision: a.content.decision.code().to_string(),
        latest_start: a.content.latest_start.map(wire::date),
        reason: a.content.reason.clone(),
        correction_reason: a.content.correction_reason.clone(),
        assessed_on: wire::date(a.assessed_on),
        assessed_by: a.assessed_by.to_string(),
        assessed_at: wire::instant(a.assessed_at),
    }
}

#[utoipa::path(
    post,
    path = "/referrals/{id}/assessment",
    tag = "referrals",
    operation_id = "assess_referral",
    summary = "Record the assessment of a referral (a second one is a corrected version with its reason); the patient and a referrer in Samhand are told",
    description = "Only a doctor or LAR consultant of the unit that has the referral.",
    params(("id" = String, Path, format = "uuid", description = "The referral")),
    request_body = AssessmentRequest,
    security(("bearer" = [])),
    responses(
        (status = 201, description = "The assessment is recorded", body = AssessmentDto),
        (status = 401, response = ProblemResponse),
        (status = 403, response = ProblemResponse),
        (status = 404, response = ProblemResponse),
        (status = 409, response = ProblemResponse),
        (status = 413, response = ProblemResponse),
        (status = 422, response = ProblemResponse),
        (status = 500, response = ProblemResponse),
    )
)]
pub async fn assess(
    State(state): State<AppState>,
    actor: ApiStaff,
    PathId(referral): PathId<ReferralKey>,
    ApiJson(r): ApiJson<AssessmentRequest>,
) -> Result<(StatusCode, Json<AssessmentDto>), ApiError> {
    let input = AssessmentInput {
        decision: r.decision,
        latest_start: r.latest_start,
        reason: r.reason,
        correction_reason: r.correction_reason,
    };
    let a = Service::new(&state, &actor.0)
        .assess_referral(&referral.0, &input)
        .await?;
    Ok((StatusCode::CREATED, Json(assessment_dto(&a))))
}

#[derive(Debug, Serialize, ToSchema)]
pub struct QuickStartDto {
    #[schema(format = "uuid")]
    pub id: String,
    pub offered: String,
    #[schema(format = Date)]
    pub offered_on: String,
    /// accepted, declined or pending.
    pub answer: String,
    #[schema(format = "uuid")]
    pub recorded_by: String,
    pub recorded_at: String,
}

pub fn offer_dto(o: &QuickStartOffer) -> QuickStartDto {
    QuickStartDto {
        id: o.id.clone(),
        offered: o.offered.clone(),
        offered_on: wire::date(o.offered_on),
        answer: o.answer.code().to_string(),
        recorded_by: o.recorded_by.to_string(),
        recorded_at: wire::instant(o.recorded_at),
    }
}

#[derive(Debug, Serialize, ToSchema)]
pub struct ReferralCaseDto {
    #[schema(format = "uuid")]
    pub id: String,
    #[schema(format = "uuid")]
    pub patient_id: String,
    #[schema(format = "uuid")]
    pub episode_id: String,
    pub referrer_name: String,
    pub referrer_service: String,
    pub reason: String,
    pub referrer_assessment: String,
    #[schema(format = Date)]
    pub received_on: String,
    /// Every version of the assessment, oldest first.
    pub assessments: Vec<AssessmentDto>,
    pub quick_start_offers: Vec<QuickStartDto>,
}

#[utoipa::path(
    get,
    path = "/referrals/{id}",
    tag = "referrals",
    operation_id = "referral",
    summary = "A referral with every version of its assessment and its quick-start offers",
    params(("id" = String, Path, format = "uuid", description = "The referral")),
    security(("bearer" = [])),
    responses(
        (status = 200, description = "The referral", body = ReferralCaseDto),
        (status = 401, response = ProblemResponse),
        (status = 403, response = ProblemResponse),
        (status = 404, response = ProblemResponse),
        (status = 500, response = ProblemResponse),
    )
)]
pub async fn show(
    State(state): State<AppState>,
    actor: ApiStaff,
    PathId(referral): PathId<ReferralKey>,
) -> Result<Json<ReferralCaseDto>, ApiError> {
    let c = Service::new(&state, &actor.0).referral_case(&referral.0).await?;
    let d = &c.referral.details;
    Ok(Json(ReferralCaseDto {
        id: c.referral.id.clone(),
        patient_id: c.referral.patient_id.to_string(),
        episode_id: c.referral.episode_id.to_string(),
        referrer_name: d.referrer_name.clone(),
        referrer_service: d.referrer_service.clone(),
        reason: d.reason.clone(),
        referrer_assessment: d.referrer_assessment.clone(),
        received_on: wire::date(d.received_on),
        assessments: c.assessments.iter().map(assessment_dto).collect(),
        quick_start_offers: c.offers.iter().map(offer_dto).collect(),
    }))
}

#[derive(Debug, Deserialize, ToSchema)]
pub struct QuickStartRequest {
    /// What was offered (e.g. buprenorphine start at the GP's office).
    #[serde(default)]
    #[schema(required = true)]
    pub offered: String,
    /// The day offered (received or later, not in the future).
    #[serde(default)]
    #[schema(required = true, format = Date)]
    pub offered_on: String,
    /// accepted, declined or pending.
    #[serde(default)]
    #[schema(required = true)]
    pub answer: String,
}

#[utoipa::path(
    post,
    path = "/referrals/{id}/quick-start",
    tag = "referrals",
    operation_id = "offer_quick_start",
    summary = "Record an offer of a low-threshold start (the 2022 guideline's quick start) to a patient on the waiting list",
    params(("id" = String, Path, format = "uuid", description = "The referral")),
    request_body = QuickStartRequest,
    security(("bearer" = [])),
    responses(
        (status = 201, description = "The offer is recorded", body = QuickStartDto),
        (status = 401, response = ProblemResponse),
        (status = 403, response = ProblemResponse),
        (status = 404, response = ProblemResponse),
        (status = 413, response = ProblemResponse),
        (status = 422, response = ProblemResponse),
        (status = 500, response = ProblemResponse),
    )
)]
pub async fn quick_start(
    State(state): State<AppState>,
    actor: ApiStaff,
    PathId(referral): PathId<ReferralKey>,
    ApiJson(r): ApiJson<QuickStartRequest>,
) -> Result<(StatusCode, Json<QuickStartDto>), ApiError> {
    let input = QuickStartInput {
        offered: r.offered,
        offered_on: r.offered_on,
        answer: r.answer,
    };
    let o = Service::new(&state, &actor.0)
        .offer_quick_start(&referral.0, &input)
        .await?;
    Ok((StatusCode::CREATED, Json(offer_dto(&o))))
}

#[derive(Debug, Serialize, ToSchema)]
pub struct ChecklistItemDto {
    /// responsibility_group, individual_plan, medicine, dispensing_place or start_setting.
    pub item: String,
    pub done: bool,
    /// What settled it.
    pub what: Option<String>,
    /// Whether the record itself shows it (else it was checked by hand).
    pub derived: bool,
    #[schema(format = "uuid")]
    pub by: Option<String>,
    pub at: Option<String>,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct ChecklistDto {
    #[schema(format = "uuid")]
    pub episode_id: String,
    pub items: Vec<ChecklistItemDto>,
}

fn checklist_dto(episode: samhand_domain::ids::EpisodeId, rows: &[ChecklistRow]) -> ChecklistDto {
    ChecklistDto {
        episode_id: episode.to_string(),
        items: rows
            .iter()
            .map(|r| ChecklistItemDto {
                item: r.item.code().to_string(),
                done: r.done.is_some(),
                what: r.done.as_ref().map(|d| d.what.clone()),
                derived: r.done.as_ref().is_some_and(|d| d.derived),
                by: r.done.as_ref().map(|d| d.by.to_string()),
                at: r.done.as_ref().map(|d| wire::instant(d.at)),
            })
            .collect(),
    }
}

#[utoipa::path(
    get,
    path = "/patients/{id}/planning-checklist",
    tag = "referrals",
    operation_id = "planning_checklist",
    summary = "The planning checklist of the patient's current episode: each item settled by the record or checked by hand, or open",
    params(("id" = String, Path, format = "uuid", description = "The patient")),
    security(("bearer" = [])),
    responses(
        (status = 200, description = "The checklist", body = ChecklistDto),
        (status = 401, response = ProblemResponse),
        (status = 403, response = ProblemResponse),
        (status = 404, response = ProblemResponse),
        (status = 500, response = ProblemResponse),
    )
)]
pub async fn checklist(
    State(state): State<AppState>,
    actor: ApiStaff,
    PathId(patient): PathId<PatientId>,
) -> Result<Json<ChecklistDto>, ApiError> {
    let list = Service::new(&state, &actor.0).planning_checklist(patient).await?;
    Ok(Json(checklist_dto(list.episode.id, &list.rows)))
}

#[derive(Debug, Deserialize, ToSchema)]
pub struct CheckRequest {
    /// responsibility_group, individual_plan, medicine, dispensing_place or start_setting.
    #[serde(default)]
    #[schema(required = true)]
    pub item: String,
    /// What was decided (the medicine, the place, institution or home).
    #[serde(default)]
    #[schema(required = true)]
    pub note: String,
}

#[utoipa::path(
    post,
    path = "/patients/{id}/planning-checklist",
    tag = "referrals",
    operation_id = "check_planning_item",
    summary = "Check an item of the planning checklist by hand, with what was decided; answers the checklist",
    params(("id" = String, Path, format = "uuid", description = "The patient")),
    request_body = CheckRequest,
    security(("bearer" = [])),
    responses(
        (status = 201, description = "The item is checked", body = ChecklistDto),
        (status = 401, response = ProblemResponse),
        (status = 403, response = ProblemResponse),
        (status = 404, response = ProblemResponse),
        (status = 413, response = ProblemResponse),
        (status = 422, response = ProblemResponse),
        (status = 500, response = ProblemResponse),
    )
)]
pub async fn check(
    State(state): State<AppState>,
    actor: ApiStaff,
    PathId(patient): PathId<PatientId>,
    ApiJson(r): ApiJson<CheckRequest>,
) -> Result<(StatusCode, Json<ChecklistDto>), ApiError> {
    let service = Service::new(&state, &actor.0);
    service.check_planning_item(patient, &r.item, &r.note).await?;
    let list = service.planning_checklist(patient).await?;
    Ok((
        StatusCode::CREATED,
        Json(checklist_dto(list.episode.id, &list.rows)),
    ))
}

#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct IndicatorQuery {
    /// First day of receipt (inclusive).
    #[param(format = Date)]
    pub from: Option<String>,
    /// Last day of receipt (inclusive).
    #[param(format = Date)]
    pub to: Option<String>,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct MonthIndicatorsDto {
    /// The month of receipt, `YYYY-MM`.
    pub month: String,
    pub received: usize,
    pub assessed: usize,
    pub median_days_to_assessment: Option<f64>,
    /// Share (0–1) of the assessed that were assessed by the deadline.
    pub assessed_within_deadline: Option<f64>,
    pub started: usize,
    pub median_days_to_start: Option<f64>,
    /// Share (0–1) of the started (with a latest start date) that started by it.
    pub started_within_deadline: Option<f64>,
}

pub fn month_dto(m: &MonthIndicators) -> MonthIndicatorsDto {
    MonthIndicatorsDto {
        month: format!("{:04}-{:02}", m.month.year(), m.month.month()),
        received: m.received,
        assessed: m.assessed,
        median_days_to_assessment: m.median_days_to_assessment,
        assessed_within_deadline: m.assessed_within_deadline,
        started: m.started,
        median_days_to_start: m.median_days_to_start,
        started_within_deadline: m.started_within_deadline,
    }
}

#[utoipa::path(
    get,
    path = "/referrals/indicators",
    tag = "referrals",
    operation_id = "referral_indicators",
    summary = "Waiting-time indicators of the caller's LAR unit per month of receipt: time from referral to assessment and to start (median, share within the deadline)",
    params(IndicatorQuery),
    security(("bearer" = [])),
    responses(
        (status = 200, description = "One row per month with referrals received", body = Vec<MonthIndicatorsDto>),
        (status = 401, response = ProblemResponse),
        (status = 403, response = ProblemResponse),
        (status = 422, response = ProblemResponse),
        (status = 500, response = ProblemResponse),
    )
)]
pub async fn indicators(
    State(state): State<AppState>,
    actor: ApiStaff,
    ApiQuery(q): ApiQuery<IndicatorQuery>,
) -> Result<Json<Vec<MonthIndicatorsDto>>, ApiError> {
    let today = state.clock.today();
    let mut errors = FieldErrors::default();
    let mut day = |field: &'static str, raw: Option<String>, default: jiff::civil::Date| match raw {
        None => Some(default),
        Some(raw) => {
            let parsed = parse_date(&raw);
            if parsed.is_none() {
                errors.push(field, "Skriv inn en gyldig dato (åååå-mm-dd).");
            }
            parsed
        }
    };
    let from = day(
        "from",
        q.from,
        today.saturating_sub(jiff::Span::new().years(1)).first_of_month(),
    );
    let to = day("to", q.to, today);
    let (Some(from), Some(to)) = (from, to) else {
        return Err(ApiError(AppError::Invalid(errors)));
    };
    let rows = Service::new(&state, &actor.0)
        .referral_indicators(from, to)
        .await?;
    Ok(Json(rows.iter().map(month_dto).collect()))
}
