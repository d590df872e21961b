//! Dose orders: the history of versions and drafts, drafting, the dose-safety
//! warnings of a draft, signing, and discarding a draft.

use std::collections::HashMap;

use axum::Json;
use axum::extract::State;
use axum::http::StatusCode;
use samhand_domain::dose_order::{DoseOrder, DoseOrderInput, DoseOrderStatus, DoseWarning};
use samhand_domain::ids::{DoseOrderId, PatientId, UserId};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use super::extract::{ApiJson, PathId};
use super::problem::ProblemResponse;
use super::wire::{self, Amount, with_api_fields};
use crate::AppState;
use crate::auth::ApiActor;
use crate::error::ApiError;
use crate::service::Service;

/// A dose order: a draft, or a signed version.
#[derive(Debug, Serialize, ToSchema)]
pub struct DoseOrderDto {
    #[schema(format = "uuid")]
    pub id: String,
    #[schema(format = "uuid")]
    pub patient_id: String,
    #[schema(format = "uuid")]
    pub episode_id: String,
    /// "draft", "signed" or "discarded" (a draft set aside unsigned).
    #[schema(example = "signed")]
    pub status: String,
    /// The version number; null for a draft.
    pub version: Option<u32>,
    #[schema(example = "methadone_oral_solution")]
    #[schema(schema_with = super::wire::codes::<samhand_domain::substance::Substance>)]
    pub substance: String,
    #[schema(example = "Metadon mikstur")]
    pub substance_name: String,
    #[schema(example = "oral_solution")]
    pub form: String,
    /// The parts of the daily dose, in mg.
    pub parts_mg: Vec<f64>,
    pub total_mg: f64,
    #[schema(format = Date)]
    pub effective_from: String,
    pub titration: Vec<TitrationStepDto>,
    pub reason: String,
    #[schema(format = "uuid")]
    pub created_by: String,
    #[schema(format = DateTime)]
    pub created_at: String,
    #[schema(format = "uuid")]
    pub signed_by: Option<String>,
    /// The signer's name, where the answer carries names.
    pub signed_by_name: Option<String>,
    #[schema(format = DateTime)]
    pub signed_at: Option<String>,
    /// The reason given for signing despite dose-safety warnings.
    pub warnings_confirmed: Option<String>,
    /// Who discarded the draft; null unless discarded.
    #[schema(format = "uuid")]
    pub discarded_by: Option<String>,
    #[schema(format = DateTime)]
    pub discarded_at: Option<String>,
    /// Why the draft was discarded (may be empty).
    pub discard_reason: Option<String>,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct TitrationStepDto {
    #[schema(format = Date)]
    pub from: String,
    pub parts_mg: Vec<f64>,
    pub total_mg: f64,
}

pub fn order_dto(order: &DoseOrder, names: &HashMap<UserId, String>) -> DoseOrderDto {
    let content = &order.content;
    let signature = order.signature.as_ref();
    DoseOrderDto {
        id: order.id.to_string(),
        patient_id: order.patient_id.to_string(),
        episode_id: order.episode_id.to_string(),
        status: match order.status() {
            DoseOrderStatus::Draft => "draft",
            DoseOrderStatus::Signed => "signed",
            DoseOrderStatus::Discarded => "discarded",
        }
        .into(),
        version: signature.map(|s| s.version),
        substance: content.substance.code().into(),
        substance_name: content.substance.name().into(),
        form: content.form.code().into(),
        parts_mg: content.dose.parts().iter().map(|d| wire::mg(*d)).collect(),
        total_mg: wire::mg(content.dose.total()),
        effective_from: wire::date(content.effective_from),
        titration: content
            .titration
            .iter()
            .map(|step| TitrationStepDto {
                from: wire::date(step.from),
                parts_mg: step.dose.parts().iter().map(|d| wire::mg(*d)).collect(),
                total_mg: wire::mg(step.dose.total()),
            })
            .collect(),
        reason: content.reason.clone(),
        created_by: order.created_by.to_string(),
        created_at: wire::instant(order.created_at),
        signed_by: signature.map(|s| s.signed_by.to_string()),
        signed_by_name: signature.and_then(|s| wire::name_of(names, s.signed_by)),
        signed_at: signature.map(|s| wire::instant(s.signed_at)),
        warnings_confirmed: signature.and_then(|s| s.warnings_confirmed.clone()),
        discarded_by: order.discard.as_ref().map(|d| d.discarded_by.to_string()),
        discarded_at: order.discard.as_ref().map(|d| wire::instant(d.discarded_at)),
        discard_reason: order.discard.as_ref().map(|d| d.reason.clone()),
    }
}

#[utoipa::path(
    get,
    path = "/patients/{id}/dose-orders",
    tag = "dose-orders",
    operation_id = "dose_order_history",
    summary = "All signed versions and drafts of a patient's dose orders, oldest first",
    params(("id" = String, Path, format = "uuid", description = "The patient")),
    security(("bearer" = [])),
    responses(
        (status = 200, description = "Versions and drafts", body = Vec<DoseOrderDto>),
        (status = 401, response = ProblemResponse),
        (status = 403, response = ProblemResponse),
        (status = 404, response = ProblemResponse),
        (status = 500, response = ProblemResponse),
    )
)]
pub async fn history(
    State(state): State<AppState>,
    actor: ApiActor,
    PathId(patient): PathId<PatientId>,
) -> Result<Json<Vec<DoseOrderDto>>, ApiError> {
    let orders = Service::new(&state, &actor.0).order_history(patient).await?;
    let names = HashMap::new();
    Ok(Json(orders.iter().map(|o| order_dto(o, &names)).collect()))
}

#[derive(Debug, Deserialize, ToSchema)]
pub struct DraftRequest {
    #[serde(default)]
    #[schema(required = true, example = "methadone_oral_solution")]
    #[schema(schema_with = super::wire::codes::<samhand_domain::substance::Substance>)]
    pub substance: String,
    #[serde(default)]
    #[schema(required = true, example = "oral_solution")]
    pub form: String,
    /// The daily dose, one amount per part of a split dose (at most four).
    #[serde(default)]
    #[schema(required = true)]
    pub parts_mg: Vec<Amount>,
    #[serde(default)]
    #[schema(required = true, format = Date)]
    pub effective_from: String,
    /// Planned steps; each step's total is split like the base dose.
    pub titration: Option<Vec<TitrationRequest>>,
    #[serde(default)]
    #[schema(required = true)]
    pub reason: String,
}

#[derive(Debug, Deserialize, ToSchema)]
pub struct TitrationRequest {
    #[schema(format = Date)]
    pub from: String,
    pub dose_mg: Amount,
}

#[utoipa::path(
    post,
    path = "/patients/{id}/dose-orders",
    tag = "dose-orders",
    operation_id = "draft_dose_order",
    summary = "Draft a dose order; it has no effect until signed",
    params(("id" = String, Path, format = "uuid", description = "The patient")),
    request_body = DraftRequest,
    security(("bearer" = [])),
    responses(
        (status = 201, description = "The draft", body = DoseOrderDto),
        (status = 401, response = ProblemResponse),
        (status = 403, response = ProblemResponse),
        (status = 404, response = ProblemResponse),
        (status = 409, response = ProblemResponse),
        (status = 413, response = ProblemResponse),
        (status = 422, response = ProblemResponse),
        (status = 500, response = ProblemResponse),
    )
)]
pub async fn create_draft(
    State(state): State<AppState>,
    actor: ApiActor,
    PathId(patient): PathId<PatientId>,
    ApiJson(request): ApiJson<DraftRequest>,
) -> Result<(StatusCode, Json<DoseOrderDto>), ApiError> {
    let input = DoseOrderInput {
        substance: request.substance,
        form: request.form,
        parts: request.parts_mg.iter().map(Amount::as_typed).collect(),
        effective_from: request.effective_from,
        titration: request
            .titration
            .unwrap_or_default()
            .into_iter()
            .map(|step| (step.from, step.dose_mg.as_typed()))
            .collect(),
        reason: request.reason,
    };
    let draft = Service::new(&state, &actor.0)
        .create_draft(patient, &input)
        .await
        .map_err(|e| with_api_fields(e, &[("dose", "parts_mg")]))?;
    Ok((StatusCode::CREATED, Json(order_dto(&draft, &HashMap::new()))))
}

#[derive(Debug, Serialize, ToSchema)]
pub struct WarningDto {
    /// "large_methadone_increase", "methadone_increase_too_soon" or "above_usual_range".
    #[schema(example = "above_usual_range")]
    pub code: String,
    /// The warning as the prescriber reads it, in Norwegian.
    pub message: String,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct DraftWarningsDto {
    pub order: DoseOrderDto,
    /// Empty when the draft can be signed without a confirmation.
    pub warnings: Vec<WarningDto>,
}

fn warning_code(warning: &DoseWarning) -> &'static str {
    match warning {
        DoseWarning::LargeMethadoneIncrease { .. } => "large_methadone_increase",
        DoseWarning::MethadoneIncreaseTooSoon { .. } => "methadone_increase_too_soon",
        DoseWarning::AboveUsualRange { .. } => "above_usual_range",
    }
}

#[utoipa::path(
    get,
    path = "/dose-orders/{id}/warnings",
    tag = "dose-orders",
    operation_id = "dose_order_warnings",
    summary = "The dose-safety warnings signing this draft would raise now",
    params(("id" = String, Path, format = "uuid", description = "The dose order")),
    security(("bearer" = [])),
    responses(
        (status = 200, description = "The draft and its warnings", body = DraftWarningsDto),
        (status = 401, response = ProblemResponse),
        (status = 403, response = ProblemResponse),
        (status = 404, response = ProblemResponse),
        (status = 500, response = ProblemResponse),
    )
)]
pub async fn warnings(
    State(state): State<AppState>,
    actor: ApiActor,
    PathId(id): PathId<DoseOrderId>,
) -> Result<Json<DraftWarningsDto>, ApiError> {
    let (order, warnings) = Service::new(&state, &actor.0).draft_warnings(id).await?;
    Ok(Json(DraftWarningsDto {
        order: order_dto(&order, &HashMap::new()),
        warnings: warnings
            .iter()
            .map(|w| WarningDto {
                code: warning_code(w).into(),
                message: w.message_nb(),
            })
            .collect(),
    }))
}

#[derive(Debug, Deserialize, ToSchema)]
pub struct SignRequest {
    /// Needed when the draft raises dose-safety warnings: why it is signed anyway.
    pub confirmation: Option<String>,
}

#[utoipa::path(
    post,
    path = "/dose-orders/{id}/sign",
    tag = "dose-orders",
    operation_id = "sign_dose_order",
    summary = "Sign a draft as the next version (also a prescriber's reassessment)",
    description = "A draft with dose-safety warnings is refused with 422 (field `confirmation`, \
        one error per warning) until `confirmation` gives a reason.",
    params(("id" = String, Path, format = "uuid", description = "The dose order")),
    request_body(content = Option<SignRequest>, description = "May be empty when there are no warnings"),
    security(("bearer" = [])),
    responses(
        (status = 200, description = "The signed version", body = DoseOrderDto),
        (status = 401, response = ProblemResponse),
        (status = 403, response = ProblemResponse),
        (status = 404, response = ProblemResponse),
        (status = 409, response = ProblemResponse),
        (status = 413, response = ProblemResponse),
        (status = 422, response = ProblemResponse),
        (status = 500, response = ProblemResponse),
    )
)]
pub async fn sign(
    State(state): State<AppState>,
    actor: ApiActor,
    PathId(id): PathId<DoseOrderId>,
    ApiJson(request): ApiJson<SignRequest>,
) -> Result<Json<DoseOrderDto>, ApiError> {
    let confirmation = request
        .confirmation
        .as_deref()
        .map(str::trim)
        .filter(|c| !c.is_empty());
    let signed = Service::new(&state, &actor.0).sign(id, confirmation).await?;
    let names = HashMap::from([(actor.0.id(), actor.0.display_name().to_string())]);
    Ok(Json(order_dto(signed.order(), &names)))
}

#[derive(Debug, Deserialize, ToSchema)]
pub struct DiscardRequest {
    /// Why the draft is set aside (optional).
    pub reason: Option<String>,
}

#[utoipa::path(
    post,
    path = "/dose-orders/{id}/discard",
    tag = "dose-orders",
    operation_id = "discard_dose_order",
    summary = "Discard a draft: it stays in the history as discarded and can no longer be signed",
    description = "Only a draft can be discarded, by a prescriber of the responsible unit or the \
        draft's author; a signed or already discarded order is refused with 409. Nothing is deleted: \
        the discard is recorded with who and when, and audited.",
    params(("id" = String, Path, format = "uuid", description = "The dose order")),
    request_body(content = Option<DiscardRequest>, description = "May be empty"),
    security(("bearer" = [])),
    responses(
        (status = 200, description = "The discarded draft", body = DoseOrderDto),
        (status = 401, response = ProblemResponse),
        (status = 403, response = ProblemResponse),
        (status = 404, response = ProblemResponse),
        (status = 409, response = ProblemResponse),
        (status = 413, response = ProblemResponse),
        (status = 422, response = ProblemResponse),
        (status = 500, response = ProblemResponse),
    )
)]
pub async fn discard(
    State(state): State<AppState>,
    actor: ApiActor,
    PathId(id): PathId<DoseOrderId>,
    ApiJson(request): ApiJson<DiscardRequest>,
) -> Result<Json<DoseOrderDto>, ApiError> {
    let reason = request.reason.unwrap_or_default();
    let discarded = Service::new(&state, &actor.0).discard_draft(id, &reason).await?;
    Ok(Json(order_dto(&discarded, &HashMap::new())))
}
