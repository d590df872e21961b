//! Dispensing arrangements (where, which weekdays supervised or take-home, review
//! date) and covers for single days.

use std::collections::HashMap;

use axum::Json;
use axum::extract::State;
use axum::http::StatusCode;
use jiff::civil::Date;
use samhand_domain::arrangement::{Arrangement, ArrangementInput, DayPlan, PatientGroup};
use samhand_domain::ids::{OrganisationId, PatientId, UserId};
use samhand_domain::organisation::Organisation;
use samhand_domain::schedule::{Cover, CoverKind};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use super::extract::{ApiJson, PathId};
use super::problem::ProblemResponse;
use super::wire::{self, Window, with_api_fields};
use crate::AppState;
use crate::auth::ApiActor;
use crate::error::ApiError;
use crate::service::Service;

/// An arrangement version.
#[derive(Debug, Serialize, ToSchema)]
pub struct ArrangementDto {
    #[schema(format = "uuid")]
    pub id: String,
    pub version: u32,
    #[schema(format = "uuid")]
    pub place_id: String,
    pub place_name: Option<String>,
    /// Monday first, seven entries: "attend" or "take_home".
    #[schema(example = json!(["attend", "attend", "attend", "attend", "attend", "take_home", "take_home"]))]
    pub week: Vec<String>,
    /// Weekdays (monday … sunday) on which take-home doses are handed over for the
    /// take-home days that follow.
    #[schema(example = json!(["friday"]))]
    pub handover_days: Vec<String>,
    #[schema(format = Date)]
    pub valid_from: String,
    #[schema(format = Date)]
    pub review_on: String,
    /// The review date has passed.
    pub review_overdue: bool,
    #[schema(format = "uuid")]
    pub group_id: Option<String>,
    pub group_name: Option<String>,
    /// The arrangement's own window, or else its group's.
    pub window: Option<Window>,
    pub reason: String,
    #[schema(format = "uuid")]
    pub decided_by: String,
    pub decided_by_name: Option<String>,
    #[schema(format = DateTime)]
    pub decided_at: String,
}

/// What an arrangement looks like on the wire, with names from what the caller has.
pub struct ArrangementContext<'a> {
    pub today: Date,
    pub organisations: &'a HashMap<OrganisationId, Organisation>,
    pub groups: &'a [PatientGroup],
    pub names: &'a HashMap<UserId, String>,
}

const WEEKDAYS: [&str; 7] = [
    "monday",
    "tuesday",
    "wednesday",
    "thursday",
    "friday",
    "saturday",
    "sunday",
];

pub fn arrangement_dto(arrangement: &Arrangement, context: &ArrangementContext<'_>) -> ArrangementDto {
    let content = &arrangement.content;
    let group = content
        .group_id
        .and_then(|id| context.groups.iter().find(|g| g.id == id));
    ArrangementDto {
        id: arrangement.id.to_string(),
        version: arrangement.version,
        place_id: content.place_id.to_string(),
        place_name: context
            .organisations
            .get(&content.place_id)
            .map(|o| o.name.clone()),
        week: content
            .week
            .days()
            .iter()
            .map(|d| match d {
                DayPlan::Attend => "attend".to_string(),
                DayPlan::TakeHome => "take_home".to_string(),
            })
            .collect(),
        handover_days: content
            .week
            .handover_weekdays()
            .into_iter()
            .map(|i| WEEKDAYS[i].to_string())
            .collect(),
        valid_from: wire::date(content.valid_from),
        review_on: wire::date(content.review_on),
        review_overdue: arrangement.review_overdue(context.today),
        group_id: content.group_id.map(|g| g.to_string()),
        group_name: group.map(|g| g.name.clone()),
        window: content.window.or(group.map(|g| g.window)).map(Window::from),
        reason: content.reason.clone(),
        decided_by: arrangement.decided_by.to_string(),
        decided_by_name: wire::name_of(context.names, arrangement.decided_by),
        decided_at: wire::instant(arrangement.decided_at),
    }
}

#[derive(Debug, Deserialize, ToSchema)]
pub struct ArrangementRequest {
    #[serde(default)]
    #[schema(required = true, format = "uuid")]
    pub place_id: String,
    /// Monday first, seven entries: "attend" or "take_home".
    #[serde(default)]
    #[schema(required = true, example = json!(["attend", "attend", "attend", "attend", "attend", "take_home", "take_home"]))]
    pub days: Vec<String>,
    #[serde(default)]
    #[schema(required = true, format = Date)]
    pub valid_from: String,
    #[serde(default)]
    #[schema(required = true, format = Date)]
    pub review_on: String,
    /// A patient group at the place; gives the time window unless one is given here.
    #[schema(format = "uuid")]
    pub group_id: Option<String>,
    #[schema(example = "08:00")]
    pub window_start: Option<String>,
    #[schema(example = "09:30")]
    pub window_end: Option<String>,
    #[serde(default)]
    #[schema(required = true)]
    pub reason: String,
}

#[utoipa::path(
    post,
    path = "/patients/{id}/arrangements",
    tag = "arrangements",
    operation_id = "set_arrangement",
    summary = "Decide a new version of the patient's dispensing arrangement",
    params(("id" = String, Path, format = "uuid", description = "The patient")),
    request_body = ArrangementRequest,
    security(("bearer" = [])),
    responses(
        (status = 201, description = "The new arrangement version", body = ArrangementDto),
        (status = 401, response = ProblemResponse),
        (status = 403, response = ProblemResponse),
        (status = 404, response = ProblemResponse),
        (status = 409, response = ProblemResponse),
        (status = 413, response = ProblemResponse),
        (status = 422, response = ProblemResponse),
        (status = 500, response = ProblemResponse),
    )
)]
pub async fn set_arrangement(
    State(state): State<AppState>,
    actor: ApiActor,
    PathId(patient): PathId<PatientId>,
    ApiJson(request): ApiJson<ArrangementRequest>,
) -> Result<(StatusCode, Json<ArrangementDto>), ApiError> {
    let days: [String; 7] = request.days.try_into().map_err(|_| {
        wire::invalid(
            "days",
            "Oppgi sju ukedager, mandag først, hver med «attend» eller «take_home».",
        )
    })?;
    let input = ArrangementInput {
        place_id: request.place_id,
        days,
        valid_from: request.valid_from,
        review_on: request.review_on,
        group_id: request.group_id.unwrap_or_default(),
        window_start: request.window_start.unwrap_or_default(),
        window_end: request.window_end.unwrap_or_default(),
        reason: request.reason,
    };
    let service = Service::new(&state, &actor.0);
    let arrangement = service.set_arrangement(patient, &input).await?;
    let organisations = service.organisations().await?;
    let context = ArrangementContext {
        today: state.clock.today(),
        organisations: &organisations,
        groups: &service.groups().await?,
        names: &HashMap::from([(actor.0.id(), actor.0.display_name().to_string())]),
    };
    Ok((StatusCode::CREATED, Json(arrangement_dto(&arrangement, &context))))
}

#[derive(Debug, Deserialize, ToSchema)]
pub struct CoverRequest {
    /// The day to cover.
    #[serde(default)]
    #[schema(required = true, format = Date)]
    pub date: String,
    /// Hand the day's dose over as take-home on this earlier day …
    #[schema(format = Date)]
    pub take_home_from: Option<String>,
    /// … or let the patient collect at this other place that day.
    #[schema(format = "uuid")]
    pub place_id: Option<String>,
}

/// A decided cover of one day.
#[derive(Debug, Serialize, ToSchema)]
pub struct CoverDto {
    #[schema(format = "uuid")]
    pub id: String,
    #[schema(format = "uuid")]
    pub patient_id: String,
    #[schema(format = Date)]
    pub date: String,
    /// "take_home" or "at_place".
    pub kind: String,
    #[schema(format = Date)]
    pub take_home_from: Option<String>,
    #[schema(format = "uuid")]
    pub place_id: Option<String>,
    #[schema(format = "uuid")]
    pub decided_by: String,
    #[schema(format = DateTime)]
    pub decided_at: String,
}

impl From<&Cover> for CoverDto {
    fn from(cover: &Cover) -> Self {
        let (kind, take_home_from, place_id) = match cover.kind {
            CoverKind::TakeHomeFrom(from) => ("take_home", Some(wire::date(from)), None),
            CoverKind::AtPlace(place) => ("at_place", None, Some(place.to_string())),
        };
        Self {
            id: cover.id.to_string(),
            patient_id: cover.patient_id.to_string(),
            date: wire::date(cover.date),
            kind: kind.into(),
            take_home_from,
            place_id,
            decided_by: cover.decided_by.to_string(),
            decided_at: wire::instant(cover.decided_at),
        }
    }
}

#[utoipa::path(
    post,
    path = "/patients/{id}/covers",
    tag = "arrangements",
    operation_id = "add_cover",
    summary = "Cover one day: take-home from an earlier day, or collection at another place",
    params(("id" = String, Path, format = "uuid", description = "The patient")),
    request_body = CoverRequest,
    security(("bearer" = [])),
    responses(
        (status = 201, description = "The decided cover", body = CoverDto),
        (status = 401, response = ProblemResponse),
        (status = 403, response = ProblemResponse),
        (status = 404, response = ProblemResponse),
        (status = 413, response = ProblemResponse),
        (status = 422, response = ProblemResponse),
        (status = 500, response = ProblemResponse),
    )
)]
pub async fn add_cover(
    State(state): State<AppState>,
    actor: ApiActor,
    PathId(patient): PathId<PatientId>,
    ApiJson(request): ApiJson<CoverRequest>,
) -> Result<(StatusCode, Json<CoverDto>), ApiError> {
    let cover = Service::new(&state, &actor.0)
        .add_cover(
            patient,
            &request.date,
            request.take_home_from.as_deref().unwrap_or_default(),
            request.place_id.as_deref().unwrap_or_default(),
        )
        .await
        .map_err(|e| with_api_fields(e, &[("cover_date", "date")]))?;
    Ok((StatusCode::CREATED, Json(CoverDto::from(&cover))))
}

#[derive(Debug, Deserialize, ToSchema)]
pub struct MoveRequest {
    /// The new dispensing place.
    #[schema(format = "uuid")]
    pub place_id: String,
    /// The first day the patient collects at the new place.
    #[schema(format = Date)]
    pub from: String,
    pub reason: String,
    /// Share with the new place what the patient shared with the old one (the
    /// patient's wish, recorded as consents).
    #[serde(default)]
    pub carry_consents: bool,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct MovedDto {
    pub arrangement: ArrangementDto,
    #[schema(format = "uuid")]
    pub from_place_id: String,
    /// Categories now shared with the new place.
    pub carried_consents: Vec<String>,
}

#[utoipa::path(
    post,
    path = "/patients/{id}/move",
    tag = "arrangements",
    operation_id = "move_patient",
    summary = "Move the patient to another dispensing place from a date: the old arrangement ends, the new one starts, no day twice or by nobody",
    params(("id" = String, Path, format = "uuid", description = "The patient")),
    request_body = MoveRequest,
    security(("bearer" = [])),
    responses(
        (status = 201, description = "The new arrangement", body = MovedDto),
        (status = 401, response = ProblemResponse),
        (status = 403, response = ProblemResponse),
        (status = 404, response = ProblemResponse),
        (status = 409, response = ProblemResponse),
        (status = 413, response = ProblemResponse),
        (status = 422, response = ProblemResponse),
        (status = 500, response = ProblemResponse),
    )
)]
pub async fn move_patient(
    State(state): State<AppState>,
    actor: ApiActor,
    PathId(patient): PathId<PatientId>,
    ApiJson(request): ApiJson<MoveRequest>,
) -> Result<(StatusCode, Json<MovedDto>), ApiError> {
    let service = Service::new(&state, &actor.0);
    let moved = service
        .move_patient(
            patient,
            &crate::service::MoveInput {
                place_id: request.place_id,
                from: request.from,
                reason: request.reason,
                carry_consents: request.carry_consents,
            },
        )
        .await?;
    let organisations = service.organisations().await?;
    let context = ArrangementContext {
        today: state.clock.today(),
        organisations: &organisations,
        groups: &service.groups().await?,
        names: &HashMap::from([(actor.0.id(), actor.0.display_name().to_string())]),
    };
    Ok((
        StatusCode::CREATED,
        Json(MovedDto {
            arrangement: arrangement_dto(&moved.arrangement, &context),
            from_place_id: moved.from_place.to_string(),
            carried_consents: moved.carried.iter().map(|c| c.code().to_string()).collect(),
        }),
    ))
}
