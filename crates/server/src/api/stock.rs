//! The stock of the caller's place per product: balances, ledger lines, counts
//! signed by two and deviations; receipts and waste; counts with a witness; the
//! product catalogue; and follow-up notes that close a deviation.

use std::collections::HashMap;

use axum::Json;
use axum::extract::State;
use axum::http::StatusCode;
use samhand_domain::ids::{DeviationId, UserId};
use samhand_domain::stock::{Product, Quantity};
use samhand_store::stock::{FollowUp, StockCount, StockLine};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use super::extract::{ApiJson, PathId};
use super::problem::ProblemResponse;
use super::wire::{self, Amount, NamedRef};
use crate::AppState;
use crate::auth::ApiStaff;
use crate::error::ApiError;
use crate::service::{CountInput, DeviationView, FollowUpInput, Service, StockInput};

#[derive(Debug, Serialize, ToSchema)]
pub struct ProductDto {
    #[schema(example = "methadone_solution_1mg_ml")]
    pub code: String,
    #[schema(example = "Metadon mikstur 1 mg/ml")]
    pub name: String,
    #[schema(example = "methadone_oral_solution")]
    pub substance: String,
    #[schema(example = "oral_solution")]
    pub form: String,
    /// mg of the dosed substance per unit (buprenorphine for the naloxone combination).
    #[schema(example = 1.0)]
    pub strength_mg: f64,
    #[schema(example = "1 mg/ml")]
    pub strength: String,
    /// "ml", "tablet", "capsule" or "syringe".
    #[schema(example = "ml")]
    pub unit: String,
}

fn product_dto(p: &Product) -> ProductDto {
    ProductDto {
        code: p.code.into(),
        name: p.name_nb.into(),
        substance: p.substance.code().into(),
        form: p.form.code().into(),
        strength_mg: p.strength_ug as f64 / 1000.0,
        strength: p.strength_nb.into(),
        unit: p.unit.code().into(),
    }
}

/// A quantity of a product: in its unit, its mg equivalent, and as staff read it.
#[derive(Debug, Serialize, ToSchema)]
pub struct QuantityDto {
    /// In the product's unit (ml, tablets, syringes); may be negative for a balance or a difference.
    #[schema(example = 12000.0)]
    pub quantity: f64,
    #[schema(example = 12000.0)]
    pub mg: f64,
    #[schema(example = "12 000 ml (12 000 mg)")]
    pub text: String,
}

fn quantity_dto(product: &Product, quantity: Quantity) -> QuantityDto {
    QuantityDto {
        quantity: quantity.milli() as f64 / 1000.0,
        mg: wire::signed_mg(product.micrograms(quantity)),
        text: product.quantity_with_mg_nb(quantity),
    }
}

#[derive(Debug, Serialize, ToSchema)]
pub struct StockDto {
    pub place: NamedRef,
    pub balances: Vec<BalanceDto>,
    /// The latest ledger lines, newest first.
    pub lines: Vec<StockLineDto>,
    /// The counts, newest first.
    pub counts: Vec<CountDto>,
    /// Every deviation at the place, newest first.
    pub deviations: Vec<DeviationDto>,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct BalanceDto {
    pub product: ProductDto,
    /// What the ledger says is on the shelf; negative if more went out than came in.
    pub balance: QuantityDto,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct StockLineDto {
    pub id: String,
    #[schema(example = "methadone_solution_1mg_ml")]
    pub product: String,
    /// "received", "dispensed", "wasted", "counted" or "returned" (a corrected dispensing).
    pub movement: String,
    pub amount: QuantityDto,
    pub note: String,
    /// The dispensing that took it (or, for "returned", the one corrected).
    #[schema(format = "uuid")]
    pub dispensing: Option<String>,
    /// For "returned": the correction.
    #[schema(format = "uuid")]
    pub correction: Option<String>,
    #[schema(format = "uuid")]
    pub recorded_by: String,
    pub recorded_by_name: Option<String>,
    #[schema(format = DateTime)]
    pub recorded_at: String,
}

fn line_dto(l: &StockLine, names: &HashMap<UserId, String>) -> StockLineDto {
    StockLineDto {
        id: l.id.clone(),
        product: l.product.code.into(),
        movement: l.movement.code().into(),
        amount: quantity_dto(l.product, l.quantity),
        note: l.note.clone(),
        dispensing: l.dispensing_event_id.map(|d| d.to_string()),
        correction: l.correction_id.map(|d| d.to_string()),
        recorded_by: l.recorded_by.to_string(),
        recorded_by_name: wire::name_of(names, l.recorded_by),
        recorded_at: wire::instant(l.recorded_at),
    }
}

/// A count signed by two.
#[derive(Debug, Serialize, ToSchema)]
pub struct CountDto {
    pub id: String,
    #[schema(example = "methadone_solution_1mg_ml")]
    pub product: String,
    pub counted: QuantityDto,
    /// What the ledger said just before.
    pub expected: QuantityDto,
    /// Counted minus expected.
    pub difference: QuantityDto,
    pub note: String,
    pub counted_by: NamedRef,
    pub witnessed_by: NamedRef,
    #[schema(format = DateTime)]
    pub counted_at: String,
}

fn count_dto(c: &StockCount, names: &HashMap<UserId, String>) -> CountDto {
    let person = |id: UserId| NamedRef {
        id: id.to_string(),
        name: wire::name_of(names, id),
    };
    CountDto {
        id: c.id.clone(),
        product: c.product.code.into(),
        counted: quantity_dto(c.product, c.counted),
        expected: quantity_dto(c.product, c.expected),
        difference: quantity_dto(c.product, c.counted - c.expected),
        note: c.note.clone(),
        counted_by: person(c.counted_by),
        witnessed_by: person(c.witnessed_by),
        counted_at: wire::instant(c.counted_at),
    }
}

#[derive(Debug, Serialize, ToSchema)]
pub struct DeviationDto {
    pub id: String,
    pub place: NamedRef,
    #[schema(schema_with = super::wire::codes::<samhand_domain::stock::DeviationKind>)]
    pub kind: String,
    pub substance: Option<String>,
    pub product: Option<String>,
    /// The count that found it.
    pub count: Option<String>,
    /// Counted minus expected, in mg.
    pub difference_mg: Option<f64>,
    /// In Norwegian.
    pub description: String,
    #[schema(format = "uuid")]
    pub reported_by: String,
    pub reported_by_name: Option<String>,
    #[schema(format = DateTime)]
    pub reported_at: String,
    /// Open until a follow-up note closes it.
    pub open: bool,
    /// Oldest first.
    pub follow_ups: Vec<FollowUpDto>,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct FollowUpDto {
    pub id: String,
    pub note: String,
    /// This note closed the deviation.
    pub closes: bool,
    pub written_by: NamedRef,
    #[schema(format = DateTime)]
    pub written_at: String,
}

fn follow_up_dto(f: &FollowUp, names: &HashMap<UserId, String>) -> FollowUpDto {
    FollowUpDto {
        id: f.id.clone(),
        note: f.note.clone(),
        closes: f.closes,
        written_by: NamedRef {
            id: f.written_by.to_string(),
            name: wire::name_of(names, f.written_by),
        },
        written_at: wire::instant(f.written_at),
    }
}

pub fn deviation_dto(v: &DeviationView, names: &HashMap<UserId, String>) -> DeviationDto {
    let d = &v.deviation;
    DeviationDto {
        id: d.id.clone(),
        place: NamedRef {
            id: d.place_id.to_string(),
            name: Some(v.place_name.clone()),
        },
        kind: d.kind.code().into(),
        substance: d.substance.map(|s| s.code().to_string()),
        product: d.product.map(|p| p.code.to_string()),
        count: d.count_id.clone(),
        difference_mg: d.difference_ug.map(wire::signed_mg),
        description: d.description.clone(),
        reported_by: d.reported_by.to_string(),
        reported_by_name: wire::name_of(names, d.reported_by),
        reported_at: wire::instant(d.reported_at),
        open: v.is_open(),
        follow_ups: v.follow_ups.iter().map(|f| follow_up_dto(f, names)).collect(),
    }
}

#[utoipa::path(
    get,
    path = "/stock/products",
    tag = "stock",
    operation_id = "stock_products",
    summary = "The product catalogue: each substance's products by form, strength and unit",
    security(("bearer" = [])),
    responses(
        (status = 200, description = "The products", body = [ProductDto]),
        (status = 401, response = ProblemResponse),
        (status = 500, response = ProblemResponse),
    )
)]
pub async fn products(_actor: ApiStaff) -> Json<Vec<ProductDto>> {
    Json(Product::ALL.iter().map(product_dto).collect())
}

#[utoipa::path(
    get,
    path = "/stock",
    tag = "stock",
    operation_id = "stock_ledger",
    summary = "Balances per product, ledger lines, counts and deviations at the caller's place",
    security(("bearer" = [])),
    responses(
        (status = 200, description = "The stock", body = StockDto),
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
            .map(|(product, balance)| BalanceDto {
                product: product_dto(product),
                balance: quantity_dto(product, *balance),
            })
            .collect(),
        lines: view.lines.iter().map(|l| line_dto(l, &view.names)).collect(),
        counts: view.counts.iter().map(|c| count_dto(c, &view.names)).collect(),
        deviations: view
            .deviations
            .iter()
            .map(|d| deviation_dto(d, &view.names))
            .collect(),
    }))
}

#[derive(Debug, Deserialize, ToSchema)]
pub struct StockMovementRequest {
    /// A product code from GET /stock/products.
    #[serde(default)]
    #[schema(required = true, example = "methadone_solution_1mg_ml")]
    pub product: String,
    /// "received" or "wasted" (dispensings are recorded by themselves, counts at /stock/counts).
    #[serde(default)]
    #[schema(required = true, example = "received")]
    pub movement: String,
    /// In the product's unit (ml, tablets, syringes), as a number or as typed
    /// ("12 000", "8,5"); more than zero. "12.000" and "12,000" are refused as ambiguous.
    #[schema(required = true)]
    pub quantity: Option<Amount>,
    /// Required for waste: what was discarded and why.
    #[serde(default)]
    pub note: String,
}

#[utoipa::path(
    post,
    path = "/stock",
    tag = "stock",
    operation_id = "record_stock_movement",
    summary = "Record a receipt or waste of a product at the caller's place",
    request_body = StockMovementRequest,
    security(("bearer" = [])),
    responses(
        (status = 204, description = "Recorded"),
        (status = 401, response = ProblemResponse),
        (status = 403, response = ProblemResponse),
        (status = 413, response = ProblemResponse),
        (status = 422, response = ProblemResponse),
        (status = 500, response = ProblemResponse),
    )
)]
pub async fn movement(
    State(state): State<AppState>,
    actor: ApiStaff,
    ApiJson(request): ApiJson<StockMovementRequest>,
) -> Result<StatusCode, ApiError> {
    let input = StockInput {
        product: request.product,
        movement: request.movement,
        quantity: request
            .quantity
            .as_ref()
            .map(Amount::as_typed)
            .unwrap_or_default(),
        note: request.note,
    };
    Service::new(&state, &actor.0).stock_movement(&input).await?;
    Ok(StatusCode::NO_CONTENT)
}

#[derive(Debug, Deserialize, ToSchema)]
pub struct WitnessRequest {
    #[serde(default)]
    #[schema(required = true, example = "utdeler2")]
    pub username: String,
    #[serde(default)]
    #[schema(required = true, format = Password)]
    pub password: String,
}

#[derive(Debug, Deserialize, ToSchema)]
pub struct CountRequest {
    #[serde(default)]
    #[schema(required = true, example = "methadone_solution_1mg_ml")]
    pub product: String,
    /// What is on the shelf, in the product's unit (may be 0).
    #[schema(required = true)]
    pub quantity: Option<Amount>,
    #[serde(default)]
    pub note: String,
    /// The second signature: another active staff member of the same place, with
    /// their own password, checked as a login is (failures count towards the lockout).
    #[schema(required = true)]
    pub witness: Option<WitnessRequest>,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct CountResultDto {
    pub count: CountDto,
    /// The deviation the count opened when its difference is beyond the policy
    /// (`stock.count_deviation_threshold_mg`), or null.
    pub deviation: Option<DeviationDto>,
}

#[utoipa::path(
    post,
    path = "/stock/counts",
    tag = "stock",
    operation_id = "record_stock_count",
    summary = "Record a count of one product, signed by the caller and a witness",
    description = "The witness confirms with their own username and password. A wrong password, \
                   a witness who is the caller or who works elsewhere is refused with 422 \
                   (field witness.password or witness.username), audited, and nothing is recorded.",
    request_body = CountRequest,
    security(("bearer" = [])),
    responses(
        (status = 201, description = "Counted", body = CountResultDto),
        (status = 401, response = ProblemResponse),
        (status = 403, response = ProblemResponse),
        (status = 413, response = ProblemResponse),
        (status = 422, response = ProblemResponse),
        (status = 500, response = ProblemResponse),
    )
)]
pub async fn count(
    State(state): State<AppState>,
    actor: ApiStaff,
    client: crate::client::Client,
    ApiJson(request): ApiJson<CountRequest>,
) -> Result<(StatusCode, Json<CountResultDto>), ApiError> {
    let (witness_username, witness_password) = request
        .witness
        .map(|w| (w.username, w.password))
        .unwrap_or_default();
    let input = CountInput {
        product: request.product,
        quantity: request
            .quantity
            .as_ref()
            .map(Amount::as_typed)
            .unwrap_or_default(),
        note: request.note,
        witness_username,
        witness_password,
        client: client.address,
    };
    let service = Service::new(&state, &actor.0);
    let result = service.stock_count(&input).await.map_err(|e| {
        wire::with_api_fields(
            e,
            &[
                ("witness_username", "witness.username"),
                ("witness_password", "witness.password"),
            ],
        )
    })?;
    let deviation = match &result.deviation {
        Some(d) => Some(service.deviation(&d.id).await?.0),
        None => None,
    };
    Ok((
        StatusCode::CREATED,
        Json(CountResultDto {
            count: count_dto(&result.count, &result.names),
            deviation: deviation.as_ref().map(|d| deviation_dto(d, &result.names)),
        }),
    ))
}

#[utoipa::path(
    get,
    path = "/deviations/{id}",
    tag = "stock",
    operation_id = "deviation",
    summary = "A deviation with its follow-up notes",
    description = "For staff of its place and the leaders who oversee it: the place's leader, \
                   and the leader of a LAR unit whose patients have their current arrangement \
                   at the place.",
    params(("id" = String, Path, format = "uuid", description = "The deviation")),
    security(("bearer" = [])),
    responses(
        (status = 200, description = "The deviation", body = DeviationDto),
        (status = 401, response = ProblemResponse),
        (status = 403, response = ProblemResponse),
        (status = 404, response = ProblemResponse),
        (status = 500, response = ProblemResponse),
    )
)]
pub async fn deviation(
    State(state): State<AppState>,
    actor: ApiStaff,
    PathId(id): PathId<DeviationId>,
) -> Result<Json<DeviationDto>, ApiError> {
    let (view, _, names) = Service::new(&state, &actor.0).deviation(&id.to_string()).await?;
    Ok(Json(deviation_dto(&view, &names)))
}

#[derive(Debug, Deserialize, ToSchema)]
pub struct FollowUpRequest {
    /// What was looked into or done.
    #[serde(default)]
    #[schema(required = true)]
    pub note: String,
    /// Close the deviation with this note (the place's leader or the LAR unit's leader).
    #[serde(default)]
    pub close: bool,
}

#[utoipa::path(
    post,
    path = "/deviations/{id}/follow-ups",
    tag = "stock",
    operation_id = "follow_up_deviation",
    summary = "Write a follow-up note on a deviation, and close it with the note",
    description = "Staff of the place may write notes; the leaders who oversee it may close it. \
                   Notes are never changed; a deviation is closed once (409 after).",
    params(("id" = String, Path, format = "uuid", description = "The deviation")),
    request_body = FollowUpRequest,
    security(("bearer" = [])),
    responses(
        (status = 201, description = "The deviation with the new note", body = DeviationDto),
        (status = 401, response = ProblemResponse),
        (status = 403, response = ProblemResponse),
        (status = 404, response = ProblemResponse),
        (status = 409, response = ProblemResponse),
        (status = 413, response = ProblemResponse),
        (status = 422, response = ProblemResponse),
        (status = 500, response = ProblemResponse),
    )
)]
pub async fn follow_up(
    State(state): State<AppState>,
    actor: ApiStaff,
    PathId(id): PathId<DeviationId>,
    ApiJson(request): ApiJson<FollowUpRequest>,
) -> Result<(StatusCode, Json<DeviationDto>), ApiError> {
    let service = Service::new(&state, &actor.0);
    let input = FollowUpInput {
        note: request.note,
        close: request.close,
    };
    service.follow_up_deviation(&id.to_string(), &input).await?;
    let (view, _, names) = service.deviation(&id.to_string()).await?;
    Ok((StatusCode::CREATED, Json(deviation_dto(&view, &names))))
}
