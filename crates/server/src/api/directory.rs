//! Lists that let a client find its way: organisations, the caller's colleagues, and
//! arrangements overdue for review.

use axum::Json;
use axum::extract::State;
use serde::Serialize;
use utoipa::ToSchema;

use super::problem::ProblemResponse;
use super::wire;
use crate::AppState;
use crate::auth::ApiStaff;
use crate::error::ApiError;
use crate::service::Service;

#[derive(Debug, Serialize, ToSchema)]
pub struct OrganisationDto {
    #[schema(format = "uuid")]
    pub id: String,
    pub name: String,
    /// health_trust_lar_unit, municipal_lar_centre, pharmacy, home_service, gp_office,
    /// nav_office, institution or prison_health_service.
    #[schema(schema_with = super::wire::codes::<samhand_domain::organisation::OrganisationKind>)]
    #[schema(example = "municipal_lar_centre")]
    pub kind: String,
    pub municipality: String,
}

#[utoipa::path(
    get,
    path = "/organisations",
    tag = "directory",
    operation_id = "list_organisations",
    summary = "All organisations (no patient data), by name",
    security(("bearer" = [])),
    responses(
        (status = 200, description = "Organisations by name", body = Vec<OrganisationDto>),
        (status = 401, response = ProblemResponse),
        (status = 500, response = ProblemResponse),
    )
)]
pub async fn organisations(
    State(state): State<AppState>,
    actor: ApiStaff,
) -> Result<Json<Vec<OrganisationDto>>, ApiError> {
    let mut all: Vec<OrganisationDto> = Service::new(&state, &actor.0)
        .organisations()
        .await?
        .values()
        .map(|o| OrganisationDto {
            id: o.id.to_string(),
            name: o.name.clone(),
            kind: o.kind.code().into(),
            municipality: o.municipality.clone(),
        })
        .collect();
    all.sort_by(|a, b| (&a.name, &a.id).cmp(&(&b.name, &b.id)));
    Ok(Json(all))
}

#[derive(Debug, Serialize, ToSchema)]
pub struct StaffDto {
    #[schema(format = "uuid")]
    pub id: String,
    pub username: String,
    pub display_name: String,
    /// prescriber, lar_consultant, dispensing_staff, coordinator, leader or administrator.
    #[schema(schema_with = super::wire::codes::<samhand_domain::organisation::Role>)]
    #[schema(example = "prescriber")]
    pub role: String,
}

#[utoipa::path(
    get,
    path = "/staff",
    tag = "directory",
    operation_id = "list_colleagues",
    summary = "Staff of the caller's own organisation",
    security(("bearer" = [])),
    responses(
        (status = 200, description = "The colleagues", body = Vec<StaffDto>),
        (status = 401, response = ProblemResponse),
        (status = 500, response = ProblemResponse),
    )
)]
pub async fn staff(State(state): State<AppState>, actor: ApiStaff) -> Result<Json<Vec<StaffDto>>, ApiError> {
    let colleagues = Service::new(&state, &actor.0).colleagues().await?;
    Ok(Json(
        colleagues
            .into_iter()
            .map(|u| StaffDto {
                id: u.id.to_string(),
                username: u.username,
                display_name: u.display_name,
                role: u.role.code().into(),
            })
            .collect(),
    ))
}

#[derive(Debug, Serialize, ToSchema)]
pub struct OverdueReviewDto {
    #[schema(format = "uuid")]
    pub patient_id: String,
    pub name: String,
    pub place_name: String,
    #[schema(format = Date)]
    pub review_on: String,
    pub arrangement_version: u32,
}

#[utoipa::path(
    get,
    path = "/reviews/overdue",
    tag = "directory",
    operation_id = "overdue_reviews",
    summary = "Arrangements in effect whose review date has passed, at the caller's unit or place",
    security(("bearer" = [])),
    responses(
        (status = 200, description = "Overdue reviews, oldest review date first", body = Vec<OverdueReviewDto>),
        (status = 401, response = ProblemResponse),
        (status = 500, response = ProblemResponse),
    )
)]
pub async fn overdue_reviews(
    State(state): State<AppState>,
    actor: ApiStaff,
) -> Result<Json<Vec<OverdueReviewDto>>, ApiError> {
    let reviews = Service::new(&state, &actor.0).overdue_reviews().await?;
    Ok(Json(
        reviews
            .into_iter()
            .map(|r| OverdueReviewDto {
                patient_id: r.patient.id.to_string(),
                name: r.patient.full_name(),
                place_name: r.place_name,
                review_on: wire::date(r.arrangement.content.review_on),
                arrangement_version: r.arrangement.version,
            })
            .collect(),
    ))
}

#[derive(Debug, Serialize, ToSchema)]
pub struct AlertDto {
    #[schema(format = "uuid")]
    pub patient_id: String,
    pub name: String,
    /// blocked, missed, withheld or reduced.
    #[schema(example = "missed")]
    pub kind: String,
    /// Consecutive days without the medicine (blocked, missed).
    pub days: Option<u32>,
    #[schema(format = Date)]
    pub since: Option<String>,
    /// The pre-dose assessment's reason (withheld, reduced).
    pub reason: Option<String>,
    #[schema(format = "uuid")]
    pub place_id: Option<String>,
}

#[utoipa::path(
    get,
    path = "/alerts",
    tag = "directory",
    operation_id = "todays_alerts",
    summary = "Today's alerts for the patients of the caller's LAR unit: blocked orders, missed days, withheld or reduced doses",
    security(("bearer" = [])),
    responses(
        (status = 200, description = "The alerts, blocked orders first", body = Vec<AlertDto>),
        (status = 401, response = ProblemResponse),
        (status = 500, response = ProblemResponse),
    )
)]
pub async fn alerts(State(state): State<AppState>, actor: ApiStaff) -> Result<Json<Vec<AlertDto>>, ApiError> {
    use crate::service::AlertKind;
    let alerts = Service::new(&state, &actor.0).alerts().await?;
    Ok(Json(
        alerts
            .into_iter()
            .map(|a| {
                let base = AlertDto {
                    patient_id: a.patient.id.to_string(),
                    name: a.patient.full_name(),
                    kind: String::new(),
                    days: None,
                    since: None,
                    reason: None,
                    place_id: None,
                };
                match a.kind {
                    AlertKind::Blocked { days, since } => AlertDto {
                        kind: "blocked".into(),
                        days: Some(days),
                        since: since.map(|d| d.to_string()),
                        ..base
                    },
                    AlertKind::Missed { days, since } => AlertDto {
                        kind: "missed".into(),
                        days: Some(days),
                        since: since.map(|d| d.to_string()),
                        ..base
                    },
                    AlertKind::Assessed {
                        outcome,
                        reason,
                        place,
                    } => AlertDto {
                        kind: outcome.code().into(),
                        reason: Some(reason),
                        place_id: Some(place.to_string()),
                        ..base
                    },
                }
            })
            .collect(),
    ))
}
