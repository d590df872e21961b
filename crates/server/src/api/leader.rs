//! The leader's overview of the unit.

use axum::Json;
use axum::extract::State;
use serde::Serialize;
use utoipa::ToSchema;

use super::problem::ProblemResponse;
use super::wire::NamedRef;
use crate::AppState;
use crate::auth::ApiStaff;
use crate::error::ApiError;
use crate::service::{AlertKind, Service};

#[derive(Debug, Serialize, ToSchema)]
pub struct PlaceLoadDto {
    pub place: NamedRef,
    pub patients: usize,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct LeaderOverviewDto {
    pub unit: NamedRef,
    /// Patients in treatment at the LAR unit, or collecting at the place today.
    pub patients: usize,
    /// For a LAR unit: its patients by today's dispensing place.
    pub by_place: Vec<PlaceLoadDto>,
    /// For a dispensing place: patients due today and how many are done.
    pub today_expected: Option<usize>,
    pub today_done: Option<usize>,
    /// Patients whose order is blocked after missed doses.
    pub blocked: Vec<NamedRef>,
    /// Patients with missed days, not (yet) blocked.
    pub missed: Vec<NamedRef>,
    pub overdue_reviews: usize,
    pub unread_messages: usize,
    /// Important messages unread past the policy's hours.
    #[schema(format = "uuid")]
    pub escalated_messages: Vec<String>,
    pub emergency_accesses_to_review: usize,
    /// How many open deviations the leader oversees (listed in `open_deviations`).
    pub deviations: usize,
    /// Open deviations: those at the leader's own place, or for a LAR unit's leader
    /// at the places where the unit's patients have their current arrangement.
    /// Closed by a follow-up note.
    pub open_deviations: Vec<OpenDeviationDto>,
    /// Patients whose responsibility group (with a seat at the unit) has an overdue meeting.
    pub overdue_meetings: Vec<NamedRef>,
    /// Overdue tasks in those groups: (patient, task description).
    pub overdue_tasks: Vec<OverdueTaskDto>,
    /// Overdoses (fatal or not) in the last twelve months among the unit's patients.
    pub overdoses_last_12_months: usize,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct OpenDeviationDto {
    /// GET /deviations/{id} for its follow-ups.
    #[schema(format = "uuid")]
    pub id: String,
    pub place: NamedRef,
    #[schema(schema_with = super::wire::codes::<samhand_domain::stock::DeviationKind>)]
    pub kind: String,
    pub description: String,
    #[schema(format = DateTime)]
    pub reported_at: String,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct OverdueTaskDto {
    pub patient: NamedRef,
    pub description: String,
    #[schema(format = Date)]
    pub due_on: String,
}

#[utoipa::path(
    get,
    path = "/leader/overview",
    tag = "directory",
    operation_id = "leader_overview",
    summary = "The leader's overview: load, blocked and missed patients, overdue reviews, unread and escalated messages, emergency accesses to review, deviations",
    security(("bearer" = [])),
    responses(
        (status = 200, description = "The overview of the caller's unit", body = LeaderOverviewDto),
        (status = 401, response = ProblemResponse),
        (status = 403, response = ProblemResponse),
        (status = 500, response = ProblemResponse),
    )
)]
pub async fn overview(
    State(state): State<AppState>,
    ApiStaff(staff): ApiStaff,
) -> Result<Json<LeaderOverviewDto>, ApiError> {
    let o = Service::new(&state, &staff).leader_overview().await?;
    let named = |a: &crate::service::Alert| NamedRef {
        id: a.patient.id.to_string(),
        name: Some(a.patient.full_name()),
    };
    Ok(Json(LeaderOverviewDto {
        overdoses_last_12_months: o.overdoses_last_year,
        unit: NamedRef {
            id: o.unit.id.to_string(),
            name: Some(o.unit.name.clone()),
        },
        patients: o.patients,
        by_place: o
            .by_place
            .iter()
            .map(|(place, n)| PlaceLoadDto {
                place: NamedRef {
                    id: place.id.to_string(),
                    name: Some(place.name.clone()),
                },
                patients: *n,
            })
            .collect(),
        today_expected: o.today_expected.map(|(e, _)| e),
        today_done: o.today_expected.map(|(_, d)| d),
        blocked: o
            .blocked
            .iter()
            .filter(|a| matches!(a.kind, AlertKind::Blocked { .. }))
            .map(named)
            .collect(),
        missed: o.missed.iter().map(named).collect(),
        overdue_reviews: o.overdue_reviews.len(),
        unread_messages: o.unread_messages,
        escalated_messages: o.escalated.iter().map(|m| m.message.id.to_string()).collect(),
        emergency_accesses_to_review: o.emergency_to_review,
        deviations: o.deviations.len(),
        open_deviations: o
            .deviations
            .iter()
            .map(|d| OpenDeviationDto {
                id: d.deviation.id.clone(),
                place: NamedRef {
                    id: d.deviation.place_id.to_string(),
                    name: Some(d.place_name.clone()),
                },
                kind: d.deviation.kind.code().into(),
                description: d.deviation.description.clone(),
                reported_at: super::wire::instant(d.deviation.reported_at),
            })
            .collect(),
        overdue_meetings: o
            .overdue_meetings
            .iter()
            .map(|(p, _)| NamedRef {
                id: p.id.to_string(),
                name: Some(p.full_name()),
            })
            .collect(),
        overdue_tasks: o
            .overdue_tasks
            .iter()
            .map(|(p, t)| OverdueTaskDto {
                patient: NamedRef {
                    id: p.id.to_string(),
                    name: Some(p.full_name()),
                },
                description: t.description.clone(),
                due_on: t.due_on.to_string(),
            })
            .collect(),
    }))
}
