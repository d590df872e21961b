//! The pharmacy's count: per pharmacy, LAR unit and month, the supervised intakes
//! and take-home hand-outs per patient with their dates; the CSV; the LAR unit's
//! approval, after which a correction shows as a difference.

use axum::Json;
use axum::extract::State;
use axum::http::StatusCode;
use axum::response::Response;
use samhand_store::pharmacy_count::Approval;
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};

use super::csv_response;
use super::extract::{ApiJson, ApiQuery};
use super::problem::ProblemResponse;
use super::wire::{self, NamedRef};
use crate::AppState;
use crate::auth::ApiStaff;
use crate::error::ApiError;
use crate::service::{PharmacyCount, Service, pharmacy_count_csv};

#[derive(Debug, Deserialize, IntoParams, ToSchema)]
#[into_params(parameter_in = Query)]
pub struct MonthQuery {
    /// The month, `YYYY-MM`.
    #[serde(default)]
    pub month: String,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct CountLineDto {
    pub patient: NamedRef,
    pub supervised_intakes: u32,
    pub supervised_dates: Vec<String>,
    pub take_home_handouts: u32,
    /// The days take-home doses were handed out (each may hand out several).
    pub take_home_dates: Vec<String>,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct ApprovalDto {
    pub version: i64,
    pub supervised_intakes: i64,
    pub take_home_handouts: i64,
    pub approved_by: NamedRef,
    pub approved_at: String,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct DifferenceDto {
    pub patient: NamedRef,
    #[schema(format = Date)]
    pub date: String,
    pub approved_supervised: u32,
    pub approved_take_home: u32,
    pub current_supervised: u32,
    pub current_take_home: u32,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct PharmacyCountDto {
    pub month: String,
    pub pharmacy: NamedRef,
    pub lar_unit: NamedRef,
    pub supervised_intakes: u32,
    pub take_home_handouts: u32,
    pub lines: Vec<CountLineDto>,
    /// Every approval, oldest first.
    pub approvals: Vec<ApprovalDto>,
    /// Where the count as it stands differs from the latest approval.
    pub differences: Vec<DifferenceDto>,
    pub approved_as_is: bool,
    /// Patients in the count the caller may no longer see, left out of the lines.
    pub hidden_patients: usize,
}

fn approval_dto(a: &Approval, name: Option<String>) -> ApprovalDto {
    ApprovalDto {
        version: a.version,
        supervised_intakes: a.supervised,
        take_home_handouts: a.take_home,
        approved_by: NamedRef {
            id: a.approved_by.to_string(),
            name,
        },
        approved_at: wire::instant(a.approved_at),
    }
}

fn count_dto(count: &PharmacyCount) -> PharmacyCountDto {
    let dates = |ds: &[jiff::civil::Date]| ds.iter().map(|d| wire::date(*d)).collect();
    PharmacyCountDto {
        month: count.month.code(),
        pharmacy: NamedRef {
            id: count.pharmacy.id.to_string(),
            name: Some(count.pharmacy.name.clone()),
        },
        lar_unit: NamedRef {
            id: count.unit.id.to_string(),
            name: Some(count.unit.name.clone()),
        },
        supervised_intakes: count.supervised(),
        take_home_handouts: count.take_home(),
        lines: count
            .lines
            .iter()
            .map(|(patient, line)| CountLineDto {
                patient: NamedRef {
                    id: patient.id.to_string(),
                    name: Some(patient.full_name()),
                },
                supervised_intakes: line.supervised,
                supervised_dates: dates(&line.supervised_dates),
                take_home_handouts: line.take_home,
                take_home_dates: dates(&line.take_home_dates),
            })
            .collect(),
        approvals: count
            .approvals
            .iter()
            .map(|a| approval_dto(a, wire::name_of(&count.names, a.approved_by)))
            .collect(),
        differences: count
            .differences
            .iter()
            .map(|d| DifferenceDto {
                patient: NamedRef {
                    id: d.patient.to_string(),
                    name: Some(count.difference_name(d)),
                },
                date: wire::date(d.day),
                approved_supervised: d.approved_supervised,
                approved_take_home: d.approved_take_home,
                current_supervised: d.current_supervised,
                current_take_home: d.current_take_home,
            })
            .collect(),
        approved_as_is: count.approved_as_is(),
        hidden_patients: count.hidden_patients,
    }
}

#[utoipa::path(
    get,
    path = "/pharmacy-count",
    tag = "status",
    operation_id = "pharmacy_count",
    summary = "The pharmacy's count of a month: per pharmacy and LAR unit, each patient's supervised intakes and take-home hand-outs with dates",
    description = "A pharmacy sees its own count, a LAR unit what pharmacies handed out to its patients. \
        Each approval is frozen; a later correction shows as a difference. The patients' reads are one audited view.",
    params(MonthQuery),
    security(("bearer" = [])),
    responses(
        (status = 200, description = "The counts", body = [PharmacyCountDto]),
        (status = 401, response = ProblemResponse),
        (status = 403, response = ProblemResponse),
        (status = 422, response = ProblemResponse),
        (status = 500, response = ProblemResponse),
    )
)]
pub async fn pharmacy_count(
    State(state): State<AppState>,
    ApiStaff(staff): ApiStaff,
    ApiQuery(query): ApiQuery<MonthQuery>,
) -> Result<Json<Vec<PharmacyCountDto>>, ApiError> {
    let counts = Service::new(&state, &staff).pharmacy_counts(&query.month).await?;
    Ok(Json(counts.iter().map(count_dto).collect()))
}

#[utoipa::path(
    get,
    path = "/pharmacy-count/csv",
    tag = "status",
    operation_id = "pharmacy_count_csv",
    summary = "The pharmacy's count of a month as CSV (columns in README, «The pharmacy's count»)",
    params(MonthQuery),
    security(("bearer" = [])),
    responses(
        (status = 200, description = "A header row and one row per patient of each count", content_type = "text/csv"),
        (status = 401, response = ProblemResponse),
        (status = 403, response = ProblemResponse),
        (status = 422, response = ProblemResponse),
        (status = 500, response = ProblemResponse),
    )
)]
pub async fn pharmacy_count_csv_file(
    State(state): State<AppState>,
    ApiStaff(staff): ApiStaff,
    ApiQuery(query): ApiQuery<MonthQuery>,
) -> Result<Response, ApiError> {
    let counts = Service::new(&state, &staff).pharmacy_counts(&query.month).await?;
    let month = counts
        .first()
        .map_or_else(|| query.month.trim().to_string(), |c| c.month.code());
    Ok(csv_response(
        pharmacy_count_csv(&counts),
        &format!("apotektelling-{month}.csv"),
    ))
}

#[derive(Debug, Deserialize, ToSchema)]
pub struct ApprovalRequest {
    /// `YYYY-MM`, a month that is over.
    #[serde(default)]
    pub month: String,
    #[serde(default)]
    #[schema(format = "uuid")]
    pub pharmacy_id: String,
}

#[utoipa::path(
    post,
    path = "/pharmacy-count/approvals",
    tag = "status",
    operation_id = "approve_pharmacy_count",
    summary = "The LAR unit's leader approves a pharmacy's count of a month as it stands (frozen)",
    request_body = ApprovalRequest,
    security(("bearer" = [])),
    responses(
        (status = 201, description = "Approved", body = ApprovalDto),
        (status = 401, response = ProblemResponse),
        (status = 403, response = ProblemResponse),
        (status = 409, response = ProblemResponse),
        (status = 413, response = ProblemResponse),
        (status = 422, response = ProblemResponse),
        (status = 500, response = ProblemResponse),
    )
)]
pub async fn approve(
    State(state): State<AppState>,
    ApiStaff(staff): ApiStaff,
    ApiJson(request): ApiJson<ApprovalRequest>,
) -> Result<(StatusCode, Json<ApprovalDto>), ApiError> {
    let approval = Service::new(&state, &staff)
        .approve_pharmacy_count(&request.month, &request.pharmacy_id)
        .await?;
    Ok((
        StatusCode::CREATED,
        Json(approval_dto(&approval, Some(staff.display_name.clone()))),
    ))
}
