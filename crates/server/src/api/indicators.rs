//! The unit's indicators per dispensing place and month, as JSON and as CSV (the
//! columns in README «The indicators' CSV columns»): for the LAR unit's leader.

use std::collections::BTreeMap;

use axum::Json;
use axum::extract::State;
use axum::response::Response;
use samhand_domain::indicators::{self, CountKind, Indicators, MonthIndicators, Series, Share};
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};

use super::csv_response;
use super::extract::ApiQuery;
use super::problem::ProblemResponse;
use crate::AppState;
use crate::auth::ApiStaff;
use crate::error::ApiError;
use crate::service::Service;

#[derive(Debug, Deserialize, IntoParams, ToSchema)]
#[into_params(parameter_in = Query)]
pub struct IndicatorQuery {
    /// The first month, yyyy-mm; eleven months before `to` when left out.
    #[serde(default)]
    pub from: String,
    /// The last month, yyyy-mm; the current month when left out. At most 36 months.
    #[serde(default)]
    pub to: String,
    /// One of the unit's dispensing places; all of them when left out.
    #[serde(default)]
    #[param(format = "uuid")]
    pub place: String,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct ShareDto {
    pub part: u64,
    pub whole: u64,
    /// part / whole in percent; none when the whole is zero.
    pub percent: Option<f64>,
}

fn share(s: Share) -> ShareDto {
    ShareDto {
        part: s.part,
        whole: s.whole,
        percent: s.percent(),
    }
}

#[derive(Debug, Serialize, ToSchema)]
pub struct MonthDto {
    /// yyyy-mm, an Oslo calendar month.
    pub month: String,
    /// Patients in treatment on the month's last day (today for the running month).
    pub in_treatment: u64,
    /// The place's capacity, as the administrator set it.
    pub capacity: Option<u32>,
    /// Episodes started 12–23 months before, still in treatment a year after start.
    pub retention: ShareDto,
    /// Take-home doses among all doses handed out.
    pub take_home: ShareDto,
    /// Episodes whose six-week mark fell in the month, with a group meeting by then.
    pub meeting_in_time: ShareDto,
    /// Patients in treatment with an individual plan started.
    pub plans_in_use: ShareDto,
    /// Count code (the CSV's column) → count. Overdoses, deaths, blocks and the
    /// drug-test samples delivered and expected are the unit's figures only and are
    /// left out at a place.
    pub counts: BTreeMap<String, u64>,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct PlaceDto {
    #[schema(format = "uuid")]
    pub id: String,
    pub name: String,
    pub capacity: Option<u32>,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct SeriesDto {
    /// None: the whole unit.
    pub place: Option<PlaceDto>,
    /// The text summary the charts carry for screen readers.
    pub summary: String,
    pub months: Vec<MonthDto>,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct IndicatorsDto {
    /// The months covered, oldest first (months after today are left out).
    pub months: Vec<String>,
    /// The unit first, then each dispensing place.
    pub series: Vec<SeriesDto>,
}

fn month_dto(series: &Series, m: &MonthIndicators) -> MonthDto {
    MonthDto {
        month: m.month.map(|m| m.label()).unwrap_or_default(),
        in_treatment: m.in_treatment,
        capacity: m.capacity,
        retention: share(m.retention),
        take_home: share(m.take_home),
        meeting_in_time: share(m.meeting_in_time),
        plans_in_use: share(m.plans_in_use),
        counts: CountKind::ALL
            .iter()
            .filter(|k| series.place.is_none() || k.per_place())
            .map(|k| (k.code().to_string(), m.count(*k)))
            .collect(),
    }
}

fn dto(indicators: &Indicators) -> IndicatorsDto {
    IndicatorsDto {
        months: indicators.months.iter().map(|m| m.label()).collect(),
        series: std::iter::once(&indicators.unit)
            .chain(&indicators.places)
            .map(|series| SeriesDto {
                place: series.place.as_ref().map(|p| PlaceDto {
                    id: p.id.to_string(),
                    name: p.name.clone(),
                    capacity: p.capacity,
                }),
                summary: indicators::summary_nb(series),
                months: series.months.iter().map(|m| month_dto(series, m)).collect(),
            })
            .collect(),
    }
}

#[utoipa::path(
    get,
    path = "/indicators",
    tag = "status",
    operation_id = "indicators",
    summary = "The unit's indicators per dispensing place and month",
    description = "For the LAR unit's leader: patients in treatment against capacity, retention, take-home share, \
        withheld and missed doses, blocks, overdoses, deaths, meetings within six weeks, plans, discharges and those \
        with the overdose-prevention bundle completed, drug-test samples delivered and expected, deviations (the \
        count codes are the CSV's columns, README «Unit indicators»). Counts only, no patient named; the read is \
        audited.",
    params(IndicatorQuery),
    security(("bearer" = [])),
    responses(
        (status = 200, description = "The indicators", body = IndicatorsDto),
        (status = 401, response = ProblemResponse),
        (status = 403, response = ProblemResponse),
        (status = 422, response = ProblemResponse),
        (status = 500, response = ProblemResponse),
    )
)]
pub async fn indicators(
    State(state): State<AppState>,
    ApiStaff(staff): ApiStaff,
    ApiQuery(query): ApiQuery<IndicatorQuery>,
) -> Result<Json<IndicatorsDto>, ApiError> {
    let found = Service::new(&state, &staff)
        .indicators(&query.from, &query.to, &query.place)
        .await?;
    Ok(Json(dto(&found)))
}

#[utoipa::path(
    get,
    path = "/indicators.csv",
    tag = "status",
    operation_id = "indicators_csv",
    summary = "The unit's indicators as CSV (columns in README, «The indicators' CSV columns»)",
    params(IndicatorQuery),
    security(("bearer" = [])),
    responses(
        (status = 200, description = "A header row and one row per place (the unit first) and month", content_type = "text/csv"),
        (status = 401, response = ProblemResponse),
        (status = 403, response = ProblemResponse),
        (status = 422, response = ProblemResponse),
        (status = 500, response = ProblemResponse),
    )
)]
pub async fn indicators_csv(
    State(state): State<AppState>,
    ApiStaff(staff): ApiStaff,
    ApiQuery(query): ApiQuery<IndicatorQuery>,
) -> Result<Response, ApiError> {
    let found = Service::new(&state, &staff)
        .indicators(&query.from, &query.to, &query.place)
        .await?;
    Ok(csv_response(indicators::csv(&found), &file_name(&found)))
}

pub(crate) fn file_name(found: &Indicators) -> String {
    match (found.months.first(), found.months.last()) {
        (Some(a), Some(b)) => format!("indikatorer-{}-{}.csv", a.label(), b.label()),
        _ => "indikatorer.csv".into(),
    }
}
