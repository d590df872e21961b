//! The dispensing day: today's list at the caller's place, and recording a dispensing
//! exactly once (an `Idempotency-Key` makes a retried request safe).

use axum::Json;
use axum::extract::State;
use axum::http::{HeaderMap, StatusCode};
use samhand_domain::ids::DispensingId;
use samhand_domain::schedule::DoseKey;
use samhand_domain::validation::parse_date;
use samhand_store::dispensing::DispensedDose;
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};

use super::extract::{ApiJson, ApiQuery, PathId};
use super::problem::ProblemResponse;
use super::wire::{self, Amount, NamedRef, Window};
use crate::AppState;
use crate::auth::{ApiActor, ApiStaff};
use crate::error::ApiError;
use crate::service::{
    Confirmer, CorrectionRequest, DispenseRequest, DispenseResult, ListRow, Service, TodayList,
};

pub const IDEMPOTENCY_KEY: &str = "Idempotency-Key";

/// The request's `Idempotency-Key` (empty when missing; the service says so).
fn idempotency_key(headers: &HeaderMap) -> String {
    headers
        .get(IDEMPOTENCY_KEY)
        .and_then(|v| v.to_str().ok())
        .unwrap_or_default()
        .to_string()
}

#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct TodayQuery {
    /// The day (yyyy-mm-dd); today in Europe/Oslo when left out.
    #[param(format = Date)]
    date: Option<String>,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct TodayListDto {
    pub place: NamedRef,
    #[schema(format = Date)]
    pub date: String,
    /// Why the place is closed that day (e.g. a public holiday), or null.
    pub closed: Option<String>,
    /// The public holiday that day (open or not), or null.
    pub holiday: Option<String>,
    pub rows: Vec<ListRowDto>,
    /// Doses ahead that fall on a day this place is closed, with no cover decided.
    pub uncovered: Vec<ListUncoveredDto>,
    /// Patients of this place at an institution that day: dispensing here pauses.
    pub paused: Vec<ListPausedDto>,
    /// At a place's own Samhand (`samhand edge`): the link to the central server;
    /// null at central.
    pub edge: Option<EdgeLinkDto>,
}

/// The link of a place's edge to the central server, as the banner says it.
#[derive(Debug, Serialize, ToSchema)]
pub struct EdgeLinkDto {
    pub connected: bool,
    /// Since when the central server has not answered, or null.
    #[schema(format = DateTime)]
    pub offline_since: Option<String>,
    /// When the place's data last came from the central server, or null.
    #[schema(format = DateTime)]
    pub last_updated: Option<String>,
    /// Recordings made here that the central server does not have yet.
    pub waiting: i64,
    /// The banner's words: «Tilkoblet», or «Frakoblet siden 07:12 – sist oppdatert 07:11».
    pub status: String,
    /// When each recording needs a colleague's confirmation (offline too long): why.
    pub confirmation_needed: Option<String>,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct ListPausedDto {
    #[schema(format = "uuid")]
    pub patient_id: String,
    pub name: String,
    /// Why, in Norwegian: where, since when, and when dispensing here resumes.
    pub note: String,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct ListPatientDto {
    #[schema(format = "uuid")]
    pub id: String,
    pub given_name: String,
    pub family_name: String,
    pub national_id: String,
    pub has_photo: bool,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct ListRowDto {
    pub patient: ListPatientDto,
    pub window: Option<Window>,
    pub group: Option<String>,
    /// The order is blocked by missed doses until a prescriber reassesses.
    pub blocked: bool,
    /// The block is reduced tolerance after a stay at an institution.
    pub blocked_after_stay: bool,
    pub missed_consecutive_days: u32,
    pub missed_alert: bool,
    /// Nothing is left to do here that day: every dose due is recorded, or the only
    /// ones left are take-home doses held with today's withheld or reduced dose.
    pub done: bool,
    /// The patient has never had a dose recorded: this is the first (check identity).
    pub first_dose: bool,
    /// Today's own dose was withheld or reduced, so the take-home hand-over is held
    /// too; handing it over needs `override_reason`. Null when there is no hold.
    pub take_home_held: Option<TakeHomeHoldDto>,
    pub due: Vec<DueDoseDto>,
    /// Corrections of this patient's recordings made that day.
    pub corrections: Vec<ListCorrectionDto>,
    /// Health information in force (epilepsy, diabetes, allergies, …), when the
    /// patient shares it with this place; null when not shared.
    pub health_information: Option<Vec<super::health::HealthNoteDto>>,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct TakeHomeHoldDto {
    /// "withheld" or "reduced": what happened to today's dose.
    pub cause: String,
    #[schema(format = DateTime)]
    pub at: String,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct ListCorrectionDto {
    #[schema(format = "uuid")]
    pub id: String,
    #[schema(format = "uuid")]
    pub corrects: String,
    pub reason: Option<String>,
    #[schema(format = DateTime)]
    pub recorded_at: String,
    pub recorded_by_name: Option<String>,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct DueDoseDto {
    #[schema(format = Date)]
    pub date: String,
    pub part: u8,
    /// "supervised", "take_home" or "injection".
    #[schema(schema_with = super::wire::codes::<samhand_domain::schedule::IntakeMode>)]
    pub mode: String,
    pub dose_mg: f64,
    #[schema(schema_with = super::wire::codes::<samhand_domain::substance::Substance>)]
    pub substance: String,
    pub order_version: u32,
    /// Null while not yet recorded (or when a correction took the recording back).
    pub recorded: Option<RecordedDto>,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct RecordedDto {
    /// The recording (dispensing event) this dose belongs to; correct it at
    /// `POST /dispensings/{id}/corrections`.
    #[schema(format = "uuid")]
    pub dispensing_id: String,
    /// "given", "reduced", "withheld", or "corrected" (the amount given as corrected).
    #[schema(schema_with = super::wire::codes::<samhand_domain::dispensing::OutcomeKind>)]
    pub outcome: String,
    /// What was given or handed over (0 when withheld).
    pub amount_mg: f64,
    /// What the order said when it was recorded.
    pub ordered_mg: f64,
    pub reason: Option<String>,
    #[schema(format = DateTime)]
    pub recorded_at: String,
    pub recorded_by_name: Option<String>,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct ListUncoveredDto {
    #[schema(format = "uuid")]
    pub patient_id: String,
    pub name: String,
    #[schema(format = Date)]
    pub dose_date: String,
    #[schema(format = Date)]
    pub closed_day: String,
}

fn row_dto(row: &ListRow, list: &TodayList) -> ListRowDto {
    let patient = &row.patient;
    ListRowDto {
        patient: ListPatientDto {
            id: patient.id.to_string(),
            given_name: patient.given_name.clone(),
            family_name: patient.family_name.clone(),
            national_id: patient.national_id.as_str().to_string(),
            has_photo: patient.has_photo,
        },
        window: row.window.map(Window::from),
        group: row.group.clone(),
        blocked: row.is_blocked(),
        blocked_after_stay: row.is_blocked() && row.after_stay,
        missed_consecutive_days: row.missed.consecutive_days,
        missed_alert: row.missed.alert,
        done: row.done(),
        first_dose: row.first_dose,
        take_home_held: row.hold.map(|h| TakeHomeHoldDto {
            cause: h.cause.code().into(),
            at: wire::instant(h.at),
        }),
        corrections: row
            .corrections
            .iter()
            .map(|c| ListCorrectionDto {
                id: c.event.id.to_string(),
                corrects: c.corrects.to_string(),
                reason: c.event.reason.clone(),
                recorded_at: wire::instant(c.event.recorded_at),
                recorded_by_name: wire::name_of(&list.names, c.event.recorded_by),
            })
            .collect(),
        health_information: row
            .health
            .as_ref()
            .map(|notes| notes.iter().map(|n| super::health::note_dto(n, None)).collect()),
        due: row
            .due
            .iter()
            .map(|(due, recorded)| DueDoseDto {
                date: wire::date(due.scheduled.key.date),
                part: due.scheduled.key.part,
                mode: due.mode.code().into(),
                dose_mg: wire::mg(due.scheduled.dose),
                substance: due.scheduled.substance.code().into(),
                order_version: due.scheduled.order_version,
                recorded: recorded.as_ref().map(|r| RecordedDto {
                    dispensing_id: r.event_id.to_string(),
                    outcome: r.outcome.code().into(),
                    amount_mg: wire::mg(r.amount),
                    ordered_mg: wire::mg(r.ordered),
                    reason: r.reason.clone(),
                    recorded_at: wire::instant(r.recorded_at),
                    recorded_by_name: wire::name_of(&list.names, r.recorded_by),
                }),
            })
            .collect(),
    }
}

#[utoipa::path(
    get,
    path = "/dispensing/today",
    tag = "dispensing",
    operation_id = "todays_list",
    summary = "The dispensing list of the caller's place for a day",
    params(TodayQuery),
    security(("bearer" = [])),
    responses(
        (status = 200, description = "The day's list", body = TodayListDto),
        (status = 401, response = ProblemResponse),
        (status = 403, response = ProblemResponse),
        (status = 422, response = ProblemResponse),
        (status = 500, response = ProblemResponse),
    )
)]
pub async fn today(
    State(state): State<AppState>,
    actor: ApiStaff,
    ApiQuery(query): ApiQuery<TodayQuery>,
) -> Result<Json<TodayListDto>, ApiError> {
    let date = match query.date.as_deref().map(str::trim).filter(|d| !d.is_empty()) {
        None => None,
        Some(text) => {
            Some(parse_date(text).ok_or_else(|| wire::invalid("date", "Datoen må skrives som åååå-mm-dd."))?)
        }
    };
    let list = Service::new(&state, &actor.0).todays_list(date).await?;
    Ok(Json(TodayListDto {
        place: NamedRef {
            id: list.place.id.to_string(),
            name: Some(list.place.name.clone()),
        },
        date: wire::date(list.date),
        closed: list.closed.clone(),
        holiday: list.holiday.map(str::to_string),
        rows: list.rows.iter().map(|row| row_dto(row, &list)).collect(),
        uncovered: list
            .uncovered
            .iter()
            .map(|(patient, day)| ListUncoveredDto {
                patient_id: patient.id.to_string(),
                name: patient.full_name(),
                dose_date: wire::date(day.dose_date),
                closed_day: wire::date(day.closed_day),
            })
            .collect(),
        paused: list
            .paused
            .iter()
            .map(|(patient, note)| ListPausedDto {
                patient_id: patient.id.to_string(),
                name: patient.full_name(),
                note: note.clone(),
            })
            .collect(),
        edge: state.edge.as_ref().map(|link| {
            let status = link.status();
            EdgeLinkDto {
                connected: status.connected,
                offline_since: status.offline_since.map(wire::instant),
                last_updated: status.last_pulled_at.map(wire::instant),
                waiting: status.unpushed,
                status: link.banner_nb(),
                confirmation_needed: list.confirmation.clone(),
            }
        }),
    }))
}

#[derive(Debug, Deserialize, ToSchema)]
pub struct DispenseRequestDto {
    #[serde(default)]
    #[schema(required = true, format = "uuid")]
    pub patient_id: String,
    /// "given" (default), "reduced" or "withheld".
    #[schema(example = "given")]
    pub outcome: Option<String>,
    /// Required when reduced or withheld.
    pub reason: Option<String>,
    /// The amount given when reduced.
    pub reduced_mg: Option<Amount>,
    /// The patient's identity was checked at the window.
    #[serde(default)]
    #[schema(required = true)]
    pub identity_confirmed: bool,
    /// Which of the doses due today; all when left out.
    pub doses: Option<Vec<DoseRefDto>>,
    /// Why take-home doses are handed over although today's dose was withheld or
    /// reduced (the prescriber is told). Without it such a request is refused with
    /// 409 naming the withheld dose.
    pub override_reason: Option<String>,
    /// At a place's edge offline for longer than the policy allows: a colleague
    /// at the place confirms the recording with their username and password
    /// (without it, 422 on `confirmer_username` saying why).
    pub confirmer: Option<ConfirmerDto>,
}

#[derive(Debug, Deserialize, ToSchema)]
pub struct ConfirmerDto {
    pub username: String,
    #[schema(format = Password)]
    pub password: String,
}

#[derive(Debug, Deserialize, ToSchema)]
pub struct DoseRefDto {
    #[schema(format = Date)]
    pub date: String,
    /// 1-based part of a split dose.
    pub part: u8,
}

/// A recorded dispensing.
#[derive(Debug, Serialize, ToSchema)]
pub struct DispensingDto {
    #[schema(format = "uuid")]
    pub id: String,
    #[schema(format = "uuid")]
    pub patient_id: String,
    #[schema(format = "uuid")]
    pub place_id: String,
    #[schema(format = Date)]
    pub day: String,
    #[schema(schema_with = super::wire::codes::<samhand_domain::dispensing::OutcomeKind>)]
    pub outcome: String,
    pub reason: Option<String>,
    #[schema(format = DateTime)]
    pub recorded_at: String,
    /// True when this answers a repeat of an earlier request with the same key.
    pub replayed: bool,
    pub doses: Vec<DispensedDoseDto>,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct DispensedDoseDto {
    #[schema(format = Date)]
    pub date: String,
    pub part: u8,
    #[schema(schema_with = super::wire::codes::<samhand_domain::schedule::IntakeMode>)]
    pub mode: String,
    pub amount_mg: f64,
    pub ordered_mg: f64,
}

impl From<&DispensedDose> for DispensedDoseDto {
    fn from(d: &DispensedDose) -> Self {
        Self {
            date: wire::date(d.key.date),
            part: d.key.part,
            mode: d.mode.code().into(),
            amount_mg: wire::mg(d.amount),
            ordered_mg: wire::mg(d.ordered),
        }
    }
}

impl From<&DispenseResult> for DispensingDto {
    fn from(result: &DispenseResult) -> Self {
        let event = &result.event;
        Self {
            id: event.id.to_string(),
            patient_id: event.patient_id.to_string(),
            place_id: event.place_id.to_string(),
            day: wire::date(event.day),
            outcome: event.outcome.code().into(),
            reason: event.reason.clone(),
            recorded_at: wire::instant(event.recorded_at),
            replayed: result.replayed,
            doses: result.doses.iter().map(DispensedDoseDto::from).collect(),
        }
    }
}

#[utoipa::path(
    post,
    path = "/dispensings",
    tag = "dispensing",
    operation_id = "record_dispensing",
    summary = "Record a dispensing at the caller's place, exactly once per scheduled dose",
    description = "Repeating a request with the same `Idempotency-Key` answers 200 with the first \
        result (`replayed: true`); a dose already recorded under another key is 409.",
    params((
        "Idempotency-Key" = String,
        Header,
        description = "Chosen by the client, one per intended recording (at most 200 characters)"
    )),
    request_body = DispenseRequestDto,
    security(("bearer" = [])),
    responses(
        (status = 200, description = "The same request again: the first result", body = DispensingDto),
        (status = 201, description = "Recorded", body = DispensingDto),
        (status = 401, response = ProblemResponse),
        (status = 403, response = ProblemResponse),
        (status = 404, response = ProblemResponse),
        (status = 409, response = ProblemResponse),
        (status = 413, response = ProblemResponse),
        (status = 422, response = ProblemResponse),
        (status = 500, response = ProblemResponse),
    )
)]
pub async fn record(
    State(state): State<AppState>,
    actor: ApiActor,
    client: crate::client::Client,
    headers: HeaderMap,
    ApiJson(request): ApiJson<DispenseRequestDto>,
) -> Result<(StatusCode, Json<DispensingDto>), ApiError> {
    let doses = request
        .doses
        .unwrap_or_default()
        .iter()
        .map(|d| {
            parse_date(&d.date)
                .map(|date| DoseKey { date, part: d.part })
                .ok_or_else(|| wire::invalid("doses", "Hver dose trenger dato (åååå-mm-dd) og del."))
        })
        .collect::<Result<Vec<_>, _>>()?;
    let dispense = DispenseRequest {
        patient_id: request.patient_id,
        idempotency_key: idempotency_key(&headers),
        outcome: request.outcome.unwrap_or_default(),
        reason: request.reason.unwrap_or_default(),
        reduced_mg: request
            .reduced_mg
            .as_ref()
            .map(Amount::as_typed)
            .unwrap_or_default(),
        identity_confirmed: request.identity_confirmed,
        doses,
        override_reason: request.override_reason.unwrap_or_default(),
        confirmer: request.confirmer.map(|c| Confirmer {
            username: c.username,
            password: c.password,
            client: client.address,
        }),
    };
    let result = actor.service(&state).record_dispensing(&dispense).await?;
    let status = if result.replayed {
        StatusCode::OK
    } else {
        StatusCode::CREATED
    };
    Ok((status, Json(DispensingDto::from(&result))))
}

#[derive(Debug, Deserialize, ToSchema)]
pub struct CorrectionRequestDto {
    /// "not_given" (recorded but not given: the wrong patient's row, or not taken;
    /// the doses are freed to be recorded again) or "wrong_amount".
    #[serde(default)]
    #[schema(required = true, example = "not_given")]
    pub kind: String,
    /// For a wrong amount: what was actually given.
    pub actual_mg: Option<Amount>,
    /// Why (at least 5 characters).
    #[serde(default)]
    #[schema(required = true)]
    pub reason: String,
}

/// A correction of a recording: a new event referencing the one it corrects.
#[derive(Debug, Serialize, ToSchema)]
pub struct CorrectionDto {
    #[schema(format = "uuid")]
    pub id: String,
    /// The recording corrected.
    #[schema(format = "uuid")]
    pub corrects: String,
    pub reason: Option<String>,
    #[schema(format = DateTime)]
    pub recorded_at: String,
    /// True when this answers a repeat of an earlier request with the same key.
    pub replayed: bool,
    /// The doses taken back (they stay in the history, marked as corrected).
    pub voided: Vec<DispensedDoseDto>,
    /// For a wrong amount: the dose as actually given.
    pub recorded: Vec<DispensedDoseDto>,
}

#[utoipa::path(
    post,
    path = "/dispensings/{id}/corrections",
    tag = "dispensing",
    operation_id = "correct_dispensing",
    summary = "Correct a recording made by mistake",
    description = "Within `dispensing.correction_window_days` (default 0: the same day) the recorder \
        or a colleague at the place may correct; after it only the place's leader or a prescriber. \
        The stock movement is reversed, the prescriber told, and nothing is deleted. Repeating the \
        request with the same `Idempotency-Key` answers 200 with the first result.",
    params(
        ("id" = String, Path, format = "uuid", description = "The recording (dispensing) to correct"),
        ("Idempotency-Key" = String, Header, description = "Chosen by the client, one per intended correction"),
    ),
    request_body = CorrectionRequestDto,
    security(("bearer" = [])),
    responses(
        (status = 200, description = "The same request again: the first result", body = CorrectionDto),
        (status = 201, description = "Corrected", body = CorrectionDto),
        (status = 401, response = ProblemResponse),
        (status = 403, response = ProblemResponse),
        (status = 404, response = ProblemResponse),
        (status = 409, response = ProblemResponse),
        (status = 413, response = ProblemResponse),
        (status = 422, response = ProblemResponse),
        (status = 500, response = ProblemResponse),
    )
)]
pub async fn correct(
    State(state): State<AppState>,
    staff: ApiStaff,
    PathId(id): PathId<DispensingId>,
    headers: HeaderMap,
    ApiJson(request): ApiJson<CorrectionRequestDto>,
) -> Result<(StatusCode, Json<CorrectionDto>), ApiError> {
    let correction = CorrectionRequest {
        idempotency_key: idempotency_key(&headers),
        kind: request.kind,
        actual_mg: request
            .actual_mg
            .as_ref()
            .map(Amount::as_typed)
            .unwrap_or_default(),
        reason: request.reason,
    };
    let result = Service::new(&state, &staff.0)
        .correct_dispensing(id, &correction)
        .await?;
    let status = if result.replayed {
        StatusCode::OK
    } else {
        StatusCode::CREATED
    };
    Ok((
        status,
        Json(CorrectionDto {
            id: result.correction.id.to_string(),
            corrects: result.corrects.to_string(),
            reason: result.correction.reason.clone(),
            recorded_at: wire::instant(result.correction.recorded_at),
            replayed: result.replayed,
            voided: result.voided.iter().map(DispensedDoseDto::from).collect(),
            recorded: result.recorded.iter().map(DispensedDoseDto::from).collect(),
        }),
    ))
}
