//! Patients: search, enrolment, the overview, and the end of treatment.

use axum::Json;
use axum::extract::State;
use axum::http::StatusCode;
use samhand_domain::ids::PatientId;
use samhand_domain::patient::{Episode, Patient, PatientInput};
use samhand_domain::validation::parse_date;
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};

use super::arrangements::{ArrangementContext, ArrangementDto, arrangement_dto};
use super::base64;
use super::extract::{ApiJson, ApiQuery, PathId};
use super::orders::{DoseOrderDto, order_dto};
use super::problem::ProblemResponse;
use super::wire::{self, NamedRef};
use crate::AppState;
use crate::auth::{ApiActor, ApiStaff};
use crate::error::ApiError;
use crate::service::{EnrolInput, Overview, Photo, Service};

#[derive(Debug, Serialize, ToSchema)]
pub struct PatientSummary {
    #[schema(format = "uuid")]
    pub id: String,
    pub national_id: String,
    pub given_name: String,
    pub family_name: String,
}

#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct SearchQuery {
    /// Part of a name or of the national identity number; at least two characters.
    q: Option<String>,
}

#[utoipa::path(
    get,
    path = "/patients",
    tag = "patients",
    operation_id = "search_patients",
    summary = "Patients related to the caller's organisation whose name or number matches",
    params(SearchQuery),
    security(("bearer" = [])),
    responses(
        (status = 200, description = "Matching patients the caller may see (empty for a query under two characters)", body = Vec<PatientSummary>),
        (status = 401, response = ProblemResponse),
        (status = 422, response = ProblemResponse),
        (status = 500, response = ProblemResponse),
    )
)]
pub async fn search(
    State(state): State<AppState>,
    actor: ApiStaff,
    ApiQuery(query): ApiQuery<SearchQuery>,
) -> Result<Json<Vec<PatientSummary>>, ApiError> {
    let found = Service::new(&state, &actor.0)
        .search(query.q.as_deref().unwrap_or_default())
        .await?;
    Ok(Json(
        found
            .into_iter()
            .map(|p| PatientSummary {
                id: p.id.to_string(),
                national_id: p.national_id.as_str().to_string(),
                given_name: p.given_name,
                family_name: p.family_name,
            })
            .collect(),
    ))
}

#[derive(Debug, Deserialize, ToSchema)]
pub struct EnrolRequest {
    /// Fødselsnummer or D-nummer, 11 digits.
    #[serde(default)]
    #[schema(required = true)]
    pub national_id: String,
    #[serde(default)]
    #[schema(required = true)]
    pub given_name: String,
    #[serde(default)]
    #[schema(required = true)]
    pub family_name: String,
    #[serde(default)]
    pub phone: String,
    #[serde(default)]
    pub address: String,
    /// A prescriber at the caller's unit (see GET /staff).
    #[serde(default)]
    #[schema(required = true, format = "uuid")]
    pub doctor_id: String,
    /// A LAR consultant at the caller's unit.
    #[serde(default)]
    #[schema(required = true, format = "uuid")]
    pub consultant_id: String,
    #[serde(default)]
    #[schema(required = true, format = Date)]
    pub started_on: String,
    /// referral, planning, start (default), stabilisation, continuation or ending.
    #[schema(example = "start")]
    pub phase: Option<String>,
    /// An identity photo (JPEG, PNG or WebP, at most 5 MB), base64 or a data URL.
    pub photo_base64: Option<String>,
    #[schema(example = "image/jpeg")]
    pub photo_content_type: Option<String>,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct Created {
    #[schema(format = "uuid")]
    pub id: String,
}

impl EnrolRequest {
    fn photo(&self) -> Result<Option<Photo>, ApiError> {
        let Some(text) = self
            .photo_base64
            .as_deref()
            .map(str::trim)
            .filter(|t| !t.is_empty())
        else {
            return Ok(None);
        };
        let (url_type, payload) = base64::strip_data_url(text);
        let bytes = base64::decode(payload)
            .filter(|b| !b.is_empty())
            .ok_or_else(|| wire::invalid("photo", "Bildet er ikke gyldig base64."))?;
        let content_type = self
            .photo_content_type
            .as_deref()
            .or(url_type)
            .unwrap_or_default()
            .trim()
            .to_ascii_lowercase();
        Ok(Some(Photo { content_type, bytes }))
    }
}

#[utoipa::path(
    post,
    path = "/patients",
    tag = "patients",
    operation_id = "enrol_patient",
    summary = "Register a patient and enrol them in LAR at the caller's unit",
    request_body = EnrolRequest,
    security(("bearer" = [])),
    responses(
        (status = 201, description = "The patient is enrolled", body = Created),
        (status = 401, response = ProblemResponse),
        (status = 403, response = ProblemResponse),
        (status = 409, response = ProblemResponse),
        (status = 413, response = ProblemResponse),
        (status = 422, response = ProblemResponse),
        (status = 500, response = ProblemResponse),
    )
)]
pub async fn enrol(
    State(state): State<AppState>,
    actor: ApiStaff,
    ApiJson(request): ApiJson<EnrolRequest>,
) -> Result<(StatusCode, Json<Created>), ApiError> {
    let photo = request.photo()?;
    let input = EnrolInput {
        patient: PatientInput {
            national_id: request.national_id,
            given_name: request.given_name,
            family_name: request.family_name,
            phone: request.phone,
            address: request.address,
        },
        doctor_id: request.doctor_id,
        consultant_id: request.consultant_id,
        started_on: request.started_on,
        phase: request.phase.unwrap_or_default(),
    };
    let id = Service::new(&state, &actor.0).enrol(&input, photo).await?;
    Ok((StatusCode::CREATED, Json(Created { id: id.to_string() })))
}

#[derive(Debug, Serialize, ToSchema)]
pub struct PatientDetail {
    #[schema(format = "uuid")]
    pub id: String,
    pub national_id: String,
    pub given_name: String,
    pub family_name: String,
    pub phone: String,
    pub address: String,
    pub has_photo: bool,
}

impl From<&Patient> for PatientDetail {
    fn from(p: &Patient) -> Self {
        Self {
            id: p.id.to_string(),
            national_id: p.national_id.as_str().to_string(),
            given_name: p.given_name.clone(),
            family_name: p.family_name.clone(),
            phone: p.phone.clone(),
            address: p.address.clone(),
            has_photo: p.has_photo,
        }
    }
}

/// An episode of LAR treatment.
#[derive(Debug, Serialize, ToSchema)]
pub struct EpisodeDto {
    #[schema(format = "uuid")]
    pub id: String,
    pub responsible_unit: NamedRef,
    pub doctor: NamedRef,
    pub consultant: NamedRef,
    #[schema(format = Date)]
    pub started_on: String,
    #[schema(example = "stabilisation")]
    #[schema(schema_with = super::wire::codes::<samhand_domain::patient::Phase>)]
    pub phase: String,
    pub ended: Option<EpisodeEndDto>,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct EpisodeEndDto {
    #[schema(format = Date)]
    pub on: String,
    #[schema(example = "completed_taper")]
    pub reason: String,
    pub note: String,
    #[schema(format = "uuid")]
    pub decided_by: String,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct MissedDosesDto {
    /// Consecutive days without dose up to yesterday.
    pub consecutive_days: u32,
    #[schema(format = Date)]
    pub since: Option<String>,
    pub alert: bool,
    /// The order is blocked until a prescriber signs a reassessment.
    pub blocked: bool,
    #[schema(format = Date)]
    pub blocked_since: Option<String>,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct RecentDispensingDto {
    #[schema(format = "uuid")]
    pub dispensing_id: String,
    #[schema(format = Date)]
    pub date: String,
    pub part: u8,
    /// "supervised", "take_home" or "injection".
    #[schema(schema_with = super::wire::codes::<samhand_domain::schedule::IntakeMode>)]
    pub mode: String,
    /// "given", "reduced" or "withheld".
    #[schema(schema_with = super::wire::codes::<samhand_domain::dispensing::OutcomeKind>)]
    pub outcome: String,
    #[schema(schema_with = super::wire::codes::<samhand_domain::substance::Substance>)]
    pub substance: String,
    pub amount_mg: f64,
    pub ordered_mg: f64,
    #[schema(format = DateTime)]
    pub recorded_at: String,
    pub recorded_by_name: Option<String>,
    #[schema(format = "uuid")]
    pub place_id: String,
    pub place_name: Option<String>,
    /// The correction that took this recording back (it no longer counts), or null.
    #[schema(format = "uuid")]
    pub corrected_by: Option<String>,
}

/// A dose that would fall on a day its place is closed, with no cover decided.
#[derive(Debug, Serialize, ToSchema)]
pub struct UncoveredDayDto {
    #[schema(format = Date)]
    pub dose_date: String,
    #[schema(format = Date)]
    pub closed_day: String,
    #[schema(format = "uuid")]
    pub place_id: String,
    pub place_name: Option<String>,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct OverviewDto {
    /// The day (Europe/Oslo) the overview is computed for.
    #[schema(format = Date)]
    pub today: String,
    pub patient: PatientDetail,
    /// The running episode, or else the latest.
    pub episode: Option<EpisodeDto>,
    /// The signed version in effect today.
    pub effective_order: Option<DoseOrderDto>,
    /// Today's daily dose (titration applied).
    /// The dose scheduled today (for a depot, only on an injection day).
    pub dose_today_mg: Option<f64>,
    /// For a depot: the next planned injection day (today or later).
    #[schema(format = Date)]
    pub next_injection_on: Option<String>,
    /// How many unsigned drafts the patient has.
    pub drafts: usize,
    pub arrangement: Option<ArrangementDto>,
    pub missed_doses: MissedDosesDto,
    /// The last 14 days, newest first.
    pub recent_dispensings: Vec<RecentDispensingDto>,
    pub uncovered_days: Vec<UncoveredDayDto>,
    /// Health information in force, when the caller may read it; null otherwise.
    pub health_information: Option<Vec<super::health::HealthNoteDto>>,
}

fn episode_dto(episode: &Episode, overview: &Overview) -> EpisodeDto {
    let person = |id| NamedRef {
        id: format!("{id}"),
        name: wire::name_of(&overview.names, id),
    };
    EpisodeDto {
        id: episode.id.to_string(),
        responsible_unit: NamedRef {
            id: episode.responsible_unit.to_string(),
            name: overview
                .organisations
                .get(&episode.responsible_unit)
                .map(|o| o.name.clone()),
        },
        doctor: person(episode.doctor),
        consultant: person(episode.consultant),
        started_on: wire::date(episode.started_on),
        phase: episode.phase.code().into(),
        ended: episode.ended.as_ref().map(|end| EpisodeEndDto {
            on: wire::date(end.on),
            reason: end.reason.code().into(),
            note: end.note.clone(),
            decided_by: end.decided_by.to_string(),
        }),
    }
}

fn overview_dto(overview: &Overview, groups: &[samhand_domain::arrangement::PatientGroup]) -> OverviewDto {
    let place_name = |id| overview.organisations.get(&id).map(|o| o.name.clone());
    let missed = &overview.missed;
    let context = ArrangementContext {
        today: overview.today,
        organisations: &overview.organisations,
        groups,
        names: &overview.names,
    };
    OverviewDto {
        today: wire::date(overview.today),
        patient: PatientDetail::from(&overview.patient),
        episode: overview.episode.as_ref().map(|e| episode_dto(e, overview)),
        effective_order: overview
            .effective_order
            .as_ref()
            .map(|o| order_dto(o.order(), &overview.names)),
        dose_today_mg: overview.dose_today.as_ref().map(|d| wire::mg(d.total())),
        next_injection_on: overview.next_injection.map(|(date, _)| wire::date(date)),
        drafts: overview
            .orders
            .iter()
            .filter(|o| o.status() == samhand_domain::dose_order::DoseOrderStatus::Draft)
            .count(),
        arrangement: overview
            .arrangement
            .as_ref()
            .map(|a| arrangement_dto(a, &context)),
        missed_doses: MissedDosesDto {
            consecutive_days: missed.consecutive_days,
            since: missed.since.map(wire::date),
            alert: missed.alert,
            blocked: missed.is_blocked(),
            blocked_since: missed.blocked_since.map(wire::date),
        },
        recent_dispensings: overview
            .recent
            .iter()
            .map(|d| RecentDispensingDto {
                dispensing_id: d.event_id.to_string(),
                date: wire::date(d.key.date),
                part: d.key.part,
                mode: d.mode.code().into(),
                outcome: d.outcome.code().into(),
                substance: d.substance.code().into(),
                amount_mg: wire::mg(d.amount),
                ordered_mg: wire::mg(d.ordered),
                recorded_at: wire::instant(d.recorded_at),
                recorded_by_name: wire::name_of(&overview.names, d.recorded_by),
                place_id: d.place_id.to_string(),
                corrected_by: d.voided_by.map(|id| id.to_string()),
                place_name: place_name(d.place_id),
            })
            .collect(),
        health_information: overview
            .health
            .as_ref()
            .map(|notes| notes.iter().map(|n| super::health::note_dto(n, None)).collect()),
        uncovered_days: overview
            .uncovered
            .iter()
            .map(|u| UncoveredDayDto {
                dose_date: wire::date(u.dose_date),
                closed_day: wire::date(u.closed_day),
                place_id: u.place.to_string(),
                place_name: place_name(u.place),
            })
            .collect(),
    }
}

#[utoipa::path(
    get,
    path = "/patients/{id}",
    tag = "patients",
    operation_id = "patient_overview",
    summary = "The patient overview: episode, dose today, arrangement, missed doses, recent dispensings",
    params(("id" = String, Path, format = "uuid", description = "The patient")),
    security(("bearer" = [])),
    responses(
        (status = 200, description = "The overview", body = OverviewDto),
        (status = 401, response = ProblemResponse),
        (status = 403, response = ProblemResponse),
        (status = 404, response = ProblemResponse),
        (status = 500, response = ProblemResponse),
    )
)]
pub async fn overview(
    State(state): State<AppState>,
    actor: ApiActor,
    PathId(patient): PathId<PatientId>,
) -> Result<Json<OverviewDto>, ApiError> {
    let service = actor.service(&state);
    let overview = service.overview(patient).await?;
    let groups = service.groups().await?;
    Ok(Json(overview_dto(&overview, &groups)))
}

#[derive(Debug, Deserialize, ToSchema)]
pub struct EndRequest {
    #[serde(default)]
    #[schema(required = true, format = Date)]
    pub ended_on: String,
    /// completed_taper, voluntary_discharge, involuntary_discharge, transferred, death or other.
    #[serde(default)]
    #[schema(required = true, example = "completed_taper")]
    pub reason: String,
    /// Required for an involuntary discharge: that the patient was told in writing of
    /// the right to a new assessment and to complain.
    pub note: Option<String>,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct EndedDto {
    #[schema(format = "uuid")]
    pub patient_id: String,
    #[schema(format = Date)]
    pub ended_on: String,
    pub reason: String,
}

#[utoipa::path(
    post,
    path = "/patients/{id}/end",
    tag = "patients",
    operation_id = "end_episode",
    summary = "End the patient's running LAR episode",
    params(("id" = String, Path, format = "uuid", description = "The patient")),
    request_body = EndRequest,
    security(("bearer" = [])),
    responses(
        (status = 200, description = "The episode is ended", body = EndedDto),
        (status = 401, response = ProblemResponse),
        (status = 403, response = ProblemResponse),
        (status = 404, response = ProblemResponse),
        (status = 409, response = ProblemResponse),
        (status = 413, response = ProblemResponse),
        (status = 422, response = ProblemResponse),
        (status = 500, response = ProblemResponse),
    )
)]
pub async fn end_episode(
    State(state): State<AppState>,
    actor: ApiActor,
    PathId(patient): PathId<PatientId>,
    ApiJson(request): ApiJson<EndRequest>,
) -> Result<Json<EndedDto>, ApiError> {
    Service::new(&state, &actor.0)
        .end_episode(
            patient,
            &request.ended_on,
            &request.reason,
            request.note.as_deref().unwrap_or_default(),
        )
        .await?;
    Ok(Json(EndedDto {
        patient_id: patient.to_string(),
        ended_on: parse_date(&request.ended_on).map_or(request.ended_on, wire::date),
        reason: request.reason.trim().to_string(),
    }))
}
