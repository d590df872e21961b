//! The responsibility group's work: meetings with invitations and minutes, tasks and
//! their status, the individual plan in versions, and the coordinator's overview.

use std::collections::HashMap;

use axum::Json;
use axum::extract::State;
use axum::http::StatusCode;
use samhand_domain::care::{
    GoalInput, Meeting, MeetingInput, MinutesInput, PlanInput, PlanVersion, Task, TaskInput,
};
use samhand_domain::ids::{MeetingId, OrganisationId, PatientId, TaskId, UserId};
use samhand_domain::organisation::Organisation;
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use super::extract::{ApiJson, PathId, PathResource};
use super::problem::ProblemResponse;
use super::wire::{self, NamedRef};
use crate::AppState;
use crate::auth::{ApiActor, ApiStaff};
use crate::error::ApiError;
use crate::service::Service;

impl PathResource for MeetingId {
    const WHAT: &'static str = "møtet";
}

impl PathResource for TaskId {
    const WHAT: &'static str = "oppgaven";
}

fn user_ref(names: &HashMap<UserId, String>, id: UserId) -> NamedRef {
    NamedRef {
        id: id.to_string(),
        name: wire::name_of(names, id),
    }
}

fn org_ref(organisations: &HashMap<OrganisationId, Organisation>, id: OrganisationId) -> NamedRef {
    NamedRef {
        id: id.to_string(),
        name: organisations.get(&id).map(|o| o.name.clone()),
    }
}

#[derive(Debug, Serialize, ToSchema)]
pub struct InvitationDto {
    pub user: NamedRef,
    #[schema(format = "uuid")]
    pub organisation_id: String,
    pub invited_at: String,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct AttendanceDto {
    pub user: NamedRef,
    pub present: bool,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct MinutesDto {
    /// Recorded explicitly for every meeting.
    pub patient_present: bool,
    /// Every invited member, present or not.
    pub attendance: Vec<AttendanceDto>,
    pub text: String,
    pub decisions: Vec<String>,
    /// The meeting date plus the policy's interval (default 42 days).
    pub next_meeting_proposed: String,
    pub recorded_at: String,
    pub recorded_by: NamedRef,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct MeetingDto {
    #[schema(format = "uuid")]
    pub id: String,
    #[schema(format = "uuid")]
    pub patient_id: String,
    pub date: String,
    #[schema(example = "10:00")]
    pub time: String,
    pub place: String,
    pub agenda: Vec<String>,
    pub scheduled_by: NamedRef,
    pub scheduled_at: String,
    /// One per active care-team member when the meeting was scheduled.
    pub invitations: Vec<InvitationDto>,
    pub minutes: Option<MinutesDto>,
}

fn meeting_dto(meeting: &Meeting, names: &HashMap<UserId, String>) -> MeetingDto {
    MeetingDto {
        id: meeting.id.to_string(),
        patient_id: meeting.patient_id.to_string(),
        date: wire::date(meeting.date()),
        time: wire::clock(meeting.at.time()),
        place: meeting.place.clone(),
        agenda: meeting.agenda.clone(),
        scheduled_by: user_ref(names, meeting.scheduled_by),
        scheduled_at: wire::instant(meeting.scheduled_at),
        invitations: meeting
            .invitations
            .iter()
            .map(|i| InvitationDto {
                user: user_ref(names, i.user_id),
                organisation_id: i.organisation_id.to_string(),
                invited_at: wire::instant(i.invited_at),
            })
            .collect(),
        minutes: meeting.minutes.as_ref().map(|m| MinutesDto {
            patient_present: m.patient_present,
            attendance: m
                .attendance
                .iter()
                .map(|(user, present)| AttendanceDto {
                    user: user_ref(names, *user),
                    present: *present,
                })
                .collect(),
            text: m.text.clone(),
            decisions: m.decisions.clone(),
            next_meeting_proposed: wire::date(m.next_meeting_proposed),
            recorded_at: wire::instant(m.recorded_at),
            recorded_by: user_ref(names, m.recorded_by),
        }),
    }
}

#[derive(Debug, Serialize, ToSchema)]
pub struct TaskStatusChangeDto {
    /// open, done or cancelled.
    pub status: String,
    pub note: String,
    pub changed_by: NamedRef,
    pub changed_at: String,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct TaskDto {
    #[schema(format = "uuid")]
    pub id: String,
    pub patient: NamedRef,
    /// The meeting the task was agreed at, if any.
    #[schema(format = "uuid")]
    pub meeting_id: Option<String>,
    pub description: String,
    pub owner: NamedRef,
    pub due_on: String,
    /// open, done or cancelled.
    pub status: String,
    /// Open and due before today (Europe/Oslo).
    pub overdue: bool,
    pub created_at: String,
    /// Status changes, oldest first.
    pub history: Vec<TaskStatusChangeDto>,
}

fn task_dto(
    task: &Task,
    patient_name: Option<String>,
    names: &HashMap<UserId, String>,
    today: jiff::civil::Date,
) -> TaskDto {
    TaskDto {
        id: task.id.to_string(),
        patient: NamedRef {
            id: task.patient_id.to_string(),
            name: patient_name,
        },
        meeting_id: task.meeting_id.map(|m| m.to_string()),
        description: task.description.clone(),
        owner: user_ref(names, task.owner),
        due_on: wire::date(task.due_on),
        status: task.status().code().into(),
        overdue: task.is_overdue(today),
        created_at: wire::instant(task.created_at),
        history: task
            .changes
            .iter()
            .map(|c| TaskStatusChangeDto {
                status: c.status.code().into(),
                note: c.note.clone(),
                changed_by: user_ref(names, c.changed_by),
                changed_at: wire::instant(c.changed_at),
            })
            .collect(),
    }
}

#[derive(Debug, Serialize, ToSchema)]
pub struct MeetingsDto {
    /// Newest first.
    pub meetings: Vec<MeetingDto>,
    pub tasks: Vec<TaskDto>,
    /// What is overdue, in Norwegian.
    pub overdue: Vec<String>,
    /// When the next meeting falls due after the last one held.
    pub next_due: Option<String>,
    pub interval_days: i64,
}

#[utoipa::path(
    get,
    path = "/patients/{id}/meetings",
    tag = "collaboration",
    operation_id = "meetings",
    summary = "The responsibility group's meetings and the patient's tasks",
    params(("id" = String, Path, format = "uuid", description = "The patient")),
    security(("bearer" = [])),
    responses(
        (status = 200, description = "Meetings, newest first, and tasks", body = MeetingsDto),
        (status = 401, response = ProblemResponse),
        (status = 403, response = ProblemResponse),
        (status = 404, response = ProblemResponse),
        (status = 500, response = ProblemResponse),
    )
)]
pub async fn meetings(
    State(state): State<AppState>,
    actor: ApiActor,
    PathId(patient): PathId<PatientId>,
) -> Result<Json<MeetingsDto>, ApiError> {
    let view = Service::new(&state, &actor.0).meetings(patient).await?;
    let name = view.patient.full_name();
    Ok(Json(MeetingsDto {
        meetings: view
            .meetings
            .iter()
            .map(|m| meeting_dto(m, &view.names))
            .collect(),
        tasks: view
            .tasks
            .iter()
            .map(|t| task_dto(t, Some(name.clone()), &view.names, view.today))
            .collect(),
        overdue: view.overdue.iter().map(|o| o.label_nb()).collect(),
        next_due: view.next_due.map(wire::date),
        interval_days: view.interval_days,
    }))
}

#[derive(Debug, Deserialize, ToSchema)]
pub struct ScheduleMeetingRequest {
    /// yyyy-mm-dd (or dd.mm.yyyy), today or later.
    pub date: String,
    #[schema(example = "10:00")]
    pub time: String,
    pub place: String,
    /// At least one item.
    #[serde(default)]
    pub agenda: Vec<String>,
}

#[utoipa::path(
    post,
    path = "/patients/{id}/meetings",
    tag = "collaboration",
    operation_id = "schedule_meeting",
    summary = "Schedule a meeting of the responsibility group; every active member is invited",
    description = "Only the group's coordinator or clinical staff of the responsible LAR unit may convene.",
    params(("id" = String, Path, format = "uuid", description = "The patient")),
    request_body = ScheduleMeetingRequest,
    security(("bearer" = [])),
    responses(
        (status = 201, description = "Scheduled, with the invitations", body = MeetingDto),
        (status = 401, response = ProblemResponse),
        (status = 403, response = ProblemResponse),
        (status = 404, response = ProblemResponse),
        (status = 413, response = ProblemResponse),
        (status = 422, response = ProblemResponse),
        (status = 500, response = ProblemResponse),
    )
)]
pub async fn schedule_meeting(
    State(state): State<AppState>,
    actor: ApiActor,
    PathId(patient): PathId<PatientId>,
    ApiJson(request): ApiJson<ScheduleMeetingRequest>,
) -> Result<(StatusCode, Json<MeetingDto>), ApiError> {
    let input = MeetingInput {
        date: request.date,
        time: request.time,
        place: request.place,
        agenda: request.agenda,
    };
    let meeting = Service::new(&state, &actor.0)
        .schedule_meeting(patient, &input)
        .await?;
    Ok((StatusCode::CREATED, Json(meeting_dto(&meeting, &HashMap::new()))))
}

#[derive(Debug, Deserialize, ToSchema)]
pub struct AttendanceRequest {
    #[schema(format = "uuid")]
    pub user_id: String,
    pub present: bool,
}

#[derive(Debug, Deserialize, ToSchema)]
pub struct TaskRequest {
    pub description: String,
    /// A member of the care team or clinical staff of the responsible LAR unit.
    #[schema(format = "uuid")]
    pub owner_id: String,
    /// yyyy-mm-dd, today or later.
    pub due_on: String,
}

#[derive(Debug, Deserialize, ToSchema)]
pub struct MinutesRequest {
    /// Whether the patient was there; required.
    pub patient_present: Option<bool>,
    /// Invited members; those not listed as present count as absent.
    #[serde(default)]
    pub attendance: Vec<AttendanceRequest>,
    pub text: String,
    #[serde(default)]
    pub decisions: Vec<String>,
    /// Tasks agreed at the meeting.
    #[serde(default)]
    pub tasks: Vec<TaskRequest>,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct MinutesResultDto {
    pub meeting: MeetingDto,
    pub tasks: Vec<TaskDto>,
}

#[utoipa::path(
    post,
    path = "/meetings/{id}/minutes",
    tag = "collaboration",
    operation_id = "write_minutes",
    summary = "Write the minutes of a meeting: attendance, whether the patient was present, decisions, tasks",
    params(("id" = String, Path, format = "uuid", description = "The meeting")),
    request_body = MinutesRequest,
    security(("bearer" = [])),
    responses(
        (status = 201, description = "The minutes and the tasks are recorded", body = MinutesResultDto),
        (status = 401, response = ProblemResponse),
        (status = 403, response = ProblemResponse),
        (status = 404, response = ProblemResponse),
        (status = 409, response = ProblemResponse),
        (status = 413, response = ProblemResponse),
        (status = 422, response = ProblemResponse),
        (status = 500, response = ProblemResponse),
    )
)]
pub async fn write_minutes(
    State(state): State<AppState>,
    actor: ApiActor,
    PathId(meeting): PathId<MeetingId>,
    ApiJson(request): ApiJson<MinutesRequest>,
) -> Result<(StatusCode, Json<MinutesResultDto>), ApiError> {
    let mut attended = Vec::new();
    for a in request.attendance.iter().filter(|a| a.present) {
        attended.push(
            a.user_id.trim().parse::<UserId>().map_err(|_| {
                wire::invalid("attendance", "Bare inviterte medlemmer kan føres som til stede.")
            })?,
        );
    }
    let input = MinutesInput {
        patient_present: match request.patient_present {
            Some(true) => "yes".into(),
            Some(false) => "no".into(),
            None => String::new(),
        },
        attended,
        text: request.text,
        decisions: request.decisions,
    };
    let tasks: Vec<TaskInput> = request
        .tasks
        .into_iter()
        .map(|t| TaskInput {
            description: t.description,
            owner: t.owner_id,
            due_on: t.due_on,
        })
        .collect();
    let service = Service::new(&state, &actor.0);
    let (meeting, tasks) = service
        .write_minutes(meeting, &input, &tasks)
        .await
        .map_err(|e| {
            wire::with_api_fields(
                e,
                &[
                    ("task_description", "tasks"),
                    ("task_owner", "tasks"),
                    ("task_due_on", "tasks"),
                ],
            )
        })?;
    let today = state.clock.today();
    Ok((
        StatusCode::CREATED,
        Json(MinutesResultDto {
            meeting: meeting_dto(&meeting, &HashMap::new()),
            tasks: tasks
                .iter()
                .map(|t| task_dto(t, None, &HashMap::new(), today))
                .collect(),
        }),
    ))
}

#[utoipa::path(
    post,
    path = "/patients/{id}/tasks",
    tag = "collaboration",
    operation_id = "create_task",
    summary = "Create a task on the patient outside a meeting",
    params(("id" = String, Path, format = "uuid", description = "The patient")),
    request_body = TaskRequest,
    security(("bearer" = [])),
    responses(
        (status = 201, description = "The task is created", body = TaskDto),
        (status = 401, response = ProblemResponse),
        (status = 403, response = ProblemResponse),
        (status = 404, response = ProblemResponse),
        (status = 413, response = ProblemResponse),
        (status = 422, response = ProblemResponse),
        (status = 500, response = ProblemResponse),
    )
)]
pub async fn create_task(
    State(state): State<AppState>,
    actor: ApiActor,
    PathId(patient): PathId<PatientId>,
    ApiJson(request): ApiJson<TaskRequest>,
) -> Result<(StatusCode, Json<TaskDto>), ApiError> {
    let input = TaskInput {
        description: request.description,
        owner: request.owner_id,
        due_on: request.due_on,
    };
    let task = Service::new(&state, &actor.0)
        .create_task(patient, &input)
        .await
        .map_err(|e| wire::with_api_fields(e, &[("owner", "owner_id")]))?;
    let today = state.clock.today();
    Ok((
        StatusCode::CREATED,
        Json(task_dto(&task, None, &HashMap::new(), today)),
    ))
}

#[derive(Debug, Deserialize, ToSchema)]
pub struct TaskStatusRequest {
    /// open, done or cancelled.
    pub status: String,
    pub note: Option<String>,
}

#[utoipa::path(
    post,
    path = "/tasks/{id}/status",
    tag = "collaboration",
    operation_id = "change_task_status",
    summary = "Change a task's status (a new status row with who and when)",
    description = "The owner, the group's coordinator or the responsible LAR unit may change it.",
    params(("id" = String, Path, format = "uuid", description = "The task")),
    request_body = TaskStatusRequest,
    security(("bearer" = [])),
    responses(
        (status = 201, description = "The status is changed", body = TaskDto),
        (status = 401, response = ProblemResponse),
        (status = 403, response = ProblemResponse),
        (status = 404, response = ProblemResponse),
        (status = 409, response = ProblemResponse),
        (status = 413, response = ProblemResponse),
        (status = 422, response = ProblemResponse),
        (status = 500, response = ProblemResponse),
    )
)]
pub async fn change_task_status(
    State(state): State<AppState>,
    actor: ApiActor,
    PathId(task): PathId<TaskId>,
    ApiJson(request): ApiJson<TaskStatusRequest>,
) -> Result<(StatusCode, Json<TaskDto>), ApiError> {
    let task = Service::new(&state, &actor.0)
        .change_task_status(task, &request.status, request.note.as_deref().unwrap_or(""))
        .await?;
    let today = state.clock.today();
    Ok((
        StatusCode::CREATED,
        Json(task_dto(&task, None, &HashMap::new(), today)),
    ))
}

#[derive(Debug, Serialize, ToSchema)]
pub struct MyTasksDto {
    /// Open tasks first, by due date.
    pub tasks: Vec<TaskDto>,
    /// Tasks on patients whose plan the owner cannot read now (no consent).
    pub hidden: usize,
}

#[utoipa::path(
    get,
    path = "/tasks/mine",
    tag = "collaboration",
    operation_id = "my_tasks",
    summary = "The tasks the caller owns",
    security(("bearer" = [])),
    responses(
        (status = 200, description = "My tasks", body = MyTasksDto),
        (status = 401, response = ProblemResponse),
        (status = 403, response = ProblemResponse),
        (status = 500, response = ProblemResponse),
    )
)]
pub async fn my_tasks(State(state): State<AppState>, staff: ApiStaff) -> Result<Json<MyTasksDto>, ApiError> {
    let mine = Service::new(&state, &staff.0).my_tasks().await?;
    let names = HashMap::from([(staff.0.id, staff.0.display_name.clone())]);
    Ok(Json(MyTasksDto {
        tasks: mine
            .tasks
            .iter()
            .map(|(t, p)| task_dto(t, Some(p.full_name()), &names, mine.today))
            .collect(),
        hidden: mine.hidden,
    }))
}

#[derive(Debug, Serialize, ToSchema)]
pub struct MeasureDto {
    pub description: String,
    /// The service responsible.
    pub responsible: NamedRef,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct GoalDto {
    /// substance_use, mental_health, somatic_health, dental_health, nutrition,
    /// housing, work_activity, economy, network or participation_rights.
    pub domain: String,
    pub domain_label: String,
    /// In the patient's own words.
    pub goal: String,
    pub measures: Vec<MeasureDto>,
    pub evaluate_on: Option<String>,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct PlanVersionDto {
    #[schema(format = "uuid")]
    pub id: String,
    pub version: i64,
    /// active or declined.
    pub status: String,
    pub declined_on: Option<String>,
    pub goals: Vec<GoalDto>,
    pub reason: String,
    pub recorded_at: String,
    pub recorded_by: NamedRef,
}

fn plan_dto(
    plan: &PlanVersion,
    names: &HashMap<UserId, String>,
    organisations: &HashMap<OrganisationId, Organisation>,
) -> PlanVersionDto {
    PlanVersionDto {
        id: plan.id.to_string(),
        version: plan.version,
        status: plan.status.code().into(),
        declined_on: plan.declined_on.map(wire::date),
        goals: plan
            .goals
            .iter()
            .map(|g| GoalDto {
                domain: g.domain.code().into(),
                domain_label: g.domain.label_nb().into(),
                goal: g.goal.clone(),
                measures: g
                    .measures
                    .iter()
                    .map(|m| MeasureDto {
                        description: m.description.clone(),
                        responsible: org_ref(organisations, m.responsible),
                    })
                    .collect(),
                evaluate_on: g.evaluate_on.map(wire::date),
            })
            .collect(),
        reason: plan.reason.clone(),
        recorded_at: wire::instant(plan.recorded_at),
        recorded_by: user_ref(names, plan.recorded_by),
    }
}

#[derive(Debug, Serialize, ToSchema)]
pub struct PlanDto {
    #[schema(format = "uuid")]
    pub patient_id: String,
    /// The version in force; none before the plan is initiated.
    pub current: Option<PlanVersionDto>,
    /// Every version, newest first.
    pub history: Vec<PlanVersionDto>,
}

#[utoipa::path(
    get,
    path = "/patients/{id}/plan",
    tag = "collaboration",
    operation_id = "individual_plan",
    summary = "The individual plan: the version in force and every version",
    params(("id" = String, Path, format = "uuid", description = "The patient")),
    security(("bearer" = [])),
    responses(
        (status = 200, description = "The plan", body = PlanDto),
        (status = 401, response = ProblemResponse),
        (status = 403, response = ProblemResponse),
        (status = 404, response = ProblemResponse),
        (status = 500, response = ProblemResponse),
    )
)]
pub async fn plan(
    State(state): State<AppState>,
    actor: ApiActor,
    PathId(patient): PathId<PatientId>,
) -> Result<Json<PlanDto>, ApiError> {
    let view = Service::new(&state, &actor.0).plan(patient).await?;
    Ok(Json(PlanDto {
        patient_id: patient.to_string(),
        current: view
            .current
            .as_ref()
            .map(|p| plan_dto(p, &view.names, &view.organisations)),
        history: view
            .history
            .iter()
            .map(|p| plan_dto(p, &view.names, &view.organisations))
            .collect(),
    }))
}

#[derive(Debug, Deserialize, ToSchema)]
pub struct MeasureRequest {
    pub description: String,
    #[schema(format = "uuid")]
    pub responsible_organisation_id: String,
}

#[derive(Debug, Deserialize, ToSchema)]
pub struct GoalRequest {
    pub domain: String,
    /// In the patient's own words.
    pub goal: String,
    #[serde(default)]
    pub measures: Vec<MeasureRequest>,
    pub evaluate_on: Option<String>,
}

#[derive(Debug, Deserialize, ToSchema)]
pub struct PlanRequest {
    /// initiate, save, decline or resume.
    pub action: String,
    /// Why: what changed, or what the patient said. Required except to initiate.
    #[serde(default)]
    pub reason: String,
    /// The whole plan, for save: one goal per life domain.
    #[serde(default)]
    pub goals: Vec<GoalRequest>,
}

#[utoipa::path(
    post,
    path = "/patients/{id}/plan",
    tag = "collaboration",
    operation_id = "save_plan",
    summary = "Initiate, save, decline or resume the individual plan; every call makes a new version",
    params(("id" = String, Path, format = "uuid", description = "The patient")),
    request_body = PlanRequest,
    security(("bearer" = [])),
    responses(
        (status = 201, description = "The new version", body = PlanVersionDto),
        (status = 401, response = ProblemResponse),
        (status = 403, response = ProblemResponse),
        (status = 404, response = ProblemResponse),
        (status = 409, response = ProblemResponse),
        (status = 413, response = ProblemResponse),
        (status = 422, response = ProblemResponse),
        (status = 500, response = ProblemResponse),
    )
)]
pub async fn save_plan(
    State(state): State<AppState>,
    actor: ApiActor,
    PathId(patient): PathId<PatientId>,
    ApiJson(request): ApiJson<PlanRequest>,
) -> Result<(StatusCode, Json<PlanVersionDto>), ApiError> {
    let input = PlanInput {
        action: request.action,
        reason: request.reason,
        goals: request
            .goals
            .into_iter()
            .map(|g| GoalInput {
                domain: g.domain,
                goal: g.goal,
                measures: g
                    .measures
                    .into_iter()
                    .map(|m| (m.description, m.responsible_organisation_id))
                    .collect(),
                evaluate_on: g.evaluate_on.unwrap_or_default(),
            })
            .collect(),
    };
    let service = Service::new(&state, &actor.0);
    let version = service.save_plan(patient, &input).await?;
    let organisations = service.organisations().await.map_err(ApiError)?;
    Ok((
        StatusCode::CREATED,
        Json(plan_dto(&version, &HashMap::new(), &organisations)),
    ))
}

#[derive(Debug, Serialize, ToSchema)]
pub struct MeetingSummaryDto {
    #[schema(format = "uuid")]
    pub id: String,
    pub date: String,
    pub time: String,
    pub place: String,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct GroupStatusDto {
    pub patient: NamedRef,
    pub next_meeting: Option<MeetingSummaryDto>,
    /// What is overdue about the meetings, in Norwegian; empty when on time.
    pub overdue_meetings: Vec<String>,
    pub open_tasks: Vec<TaskDto>,
    pub overdue_tasks: usize,
    /// active or declined; none before the plan is initiated.
    pub plan_status: Option<String>,
    /// Life domains whose evaluation date is on or before today.
    pub goals_due_for_evaluation: Vec<String>,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct CoordinatorOverviewDto {
    pub interval_days: i64,
    pub patients: Vec<GroupStatusDto>,
}

#[utoipa::path(
    get,
    path = "/coordinator/overview",
    tag = "collaboration",
    operation_id = "coordinator_overview",
    summary = "The coordinator's patients: next meetings, overdue meetings and tasks, plans due for evaluation",
    security(("bearer" = [])),
    responses(
        (status = 200, description = "One line per patient whose group the caller coordinates", body = CoordinatorOverviewDto),
        (status = 401, response = ProblemResponse),
        (status = 403, response = ProblemResponse),
        (status = 500, response = ProblemResponse),
    )
)]
pub async fn coordinator_overview(
    State(state): State<AppState>,
    staff: ApiStaff,
) -> Result<Json<CoordinatorOverviewDto>, ApiError> {
    let overview = Service::new(&state, &staff.0)
        .coordinator_overview()
        .await
        .map_err(ApiError)?;
    let today = overview.today;
    Ok(Json(CoordinatorOverviewDto {
        interval_days: overview.interval_days,
        patients: overview
            .rows
            .iter()
            .map(|row| GroupStatusDto {
                patient: NamedRef {
                    id: row.patient.id.to_string(),
                    name: Some(row.patient.full_name()),
                },
                next_meeting: row.next_meeting.as_ref().map(|m| MeetingSummaryDto {
                    id: m.id.to_string(),
                    date: wire::date(m.date()),
                    time: wire::clock(m.at.time()),
                    place: m.place.clone(),
                }),
                overdue_meetings: row.overdue_meetings.iter().map(|o| o.label_nb()).collect(),
                open_tasks: row
                    .open_tasks
                    .iter()
                    .map(|t| task_dto(t, Some(row.patient.full_name()), &overview.names, today))
                    .collect(),
                overdue_tasks: row.overdue_tasks(today).count(),
                plan_status: row.plan.as_ref().map(|p| p.status.code().to_string()),
                goals_due_for_evaluation: row
                    .goals_due
                    .iter()
                    .map(|g| g.domain.code().to_string())
                    .collect(),
            })
            .collect(),
    }))
}
