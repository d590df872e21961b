//! The stock ledger of the caller's place: balances, entries and deviations, and
//! receipts, waste and counts.

use std::collections::HashMap;

use axum::Json;
use axum::extract::State;
use axum::http::StatusCode;
use samhand_domain::ids::UserId;
use samhand_store::stock::Deviation;
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use super::extract::ApiJson;
use super::problem::ProblemResponse;
use super::wire::{self, Amount, NamedRef};
use crate::AppState;
use crate::auth::ApiStaff;
use crate::error::ApiError;
use crate::service::{Service, StockInput};

#[derive(Debug, Serialize, ToSchema)]
pub struct StockDto {
    pub place: NamedRef,
    pub balances: Vec<BalanceDto>,
    pub entries: Vec<StockEntryDto>,
    pub deviations: Vec<DeviationDto>,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct BalanceDto {
    #[schema(example = "methadone_oral_solution")]
    pub code: String,
    #[schema(example = "Metadon mikstur")]
    pub name: String,
    /// What the ledger says is on the shelf; negative if more went out than came in.
    pub balance_mg: f64,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct StockEntryDto {
    pub substance: String,
    /// "received", "dispensed", "wasted" or "counted".
    pub movement: String,
    pub amount_mg: f64,
    pub note: String,
    #[schema(format = "uuid")]
    pub recorded_by: String,
    pub recorded_by_name: Option<String>,
    #[schema(format = DateTime)]
    pub recorded_at: String,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct DeviationDto {
    pub id: String,
    #[schema(example = "stock_count_mismatch")]
    pub kind: String,
    pub substance: Option<String>,
    /// Counted minus expected.
    pub difference_mg: Option<f64>,
    /// In Norwegian.
    pub description: String,
    #[schema(format = "uuid")]
    pub reported_by: String,
    pub reported_by_name: Option<String>,
    #[schema(format = DateTime)]
    pub reported_at: String,
}

fn deviation_dto(d: &Deviation, names: &HashMap<UserId, String>) -> DeviationDto {
    DeviationDto {
        id: d.id.clone(),
        kind: d.kind.clone(),
        substance: d.substance.map(|s| s.code().to_string()),
        difference_mg: d.difference_ug.map(wire::signed_mg),
        description: d.description.clone(),
        reported_by: d.reported_by.to_string(),
        reported_by_name: wire::name_of(names, d.reported_by),
        reported_at: wire::instant(d.reported_at),
    }
}

#[utoipa::path(
    get,
    path = "/stock",
    tag = "stock",
    operation_id = "stock_ledger",
    summary = "Balances, ledger entries and deviations at the caller's place",
    security(("bearer" = [])),
    responses(
        (status = 200, description = "The ledger", body = StockDto),
        (status = 401, response = ProblemResponse),
        (status = 403, response = ProblemResponse),
        (status = 500, response = ProblemResponse),
    )
)]
pub async fn stock(State(state): State<AppState>, actor: ApiStaff) -> Result<Json<StockDto>, ApiError> {
    let view = Service::new(&state, &actor.0).stock().await?;
    Ok(Json(StockDto {
        place: NamedRef {
            id: view.place.id.to_string(),
            name: Some(view.place.name.clone()),
        },
        balances: view
            .balances
            .iter()
            .map(|(substance, micrograms)| BalanceDto {
                code: substance.code().into(),
                name: substance.name().into(),
                balance_mg: wire::signed_mg(*micrograms),
            })
            .collect(),
        entries: view
            .entries
            .iter()
            .map(|e| StockEntryDto {
                substance: e.substance.code().into(),
                movement: e.movement.code().into(),
                amount_mg: wire::mg(e.amount),
                note: e.note.clone(),
                recorded_by: e.recorded_by.to_string(),
                recorded_by_name: wire::name_of(&view.names, e.recorded_by),
                recorded_at: wire::instant(e.recorded_at),
            })
            .collect(),
        deviations: view
            .deviations
            .iter()
            .map(|d| deviation_dto(d, &view.names))
            .collect(),
    }))
}

#[derive(Debug, Deserialize, ToSchema)]
pub struct StockMovementRequest {
    #[serde(default)]
    #[schema(required = true, example = "methadone_oral_solution")]
    pub substance: String,
    /// "received", "wasted" or "counted" (dispensings are recorded by themselves).
    #[serde(default)]
    #[schema(required = true, example = "received")]
    pub movement: String,
    /// For a count: what is on the shelf (may be 0).
    #[schema(required = true)]
    pub amount_mg: Option<Amount>,
    /// Required for waste: what was discarded and why.
    #[serde(default)]
    pub note: String,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct StockMovementDto {
    /// The deviation a count opened when it did not match the ledger, or null.
    pub deviation: Option<DeviationDto>,
}

#[utoipa::path(
    post,
    path = "/stock",
    tag = "stock",
    operation_id = "record_stock_movement",
    summary = "Record a receipt, waste or count at the caller's place",
    request_body = StockMovementRequest,
    security(("bearer" = [])),
    responses(
        (status = 201, description = "Recorded", body = StockMovementDto),
        (status = 401, response = ProblemResponse),
        (status = 403, response = ProblemResponse),
        (status = 422, response = ProblemResponse),
        (status = 500, response = ProblemResponse),
    )
)]
pub async fn movement(
    State(state): State<AppState>,
    actor: ApiStaff,
    ApiJson(request): ApiJson<StockMovementRequest>,
) -> Result<(StatusCode, Json<StockMovementDto>), ApiError> {
    let input = StockInput {
        substance: request.substance,
        movement: request.movement,
        amount_mg: request
            .amount_mg
            .as_ref()
            .map(Amount::as_typed)
            .unwrap_or_default(),
        note: request.note,
    };
    let deviation = Service::new(&state, &actor.0).stock_movement(&input).await?;
    let names = HashMap::from([(actor.0.id, actor.0.display_name.clone())]);
    Ok((
        StatusCode::CREATED,
        Json(StockMovementDto {
            deviation: deviation.as_ref().map(|d| deviation_dto(d, &names)),
        }),
    ))
}
