//! The responsibility group's pages: meetings (schedule, invitations, minutes with
//! attendance, decisions and tasks), "Mine oppgaver", the individual plan with its
//! versions and a printable view, and the coordinator's overview.

use axum::extract::{Path, State};
use axum::response::{IntoResponse, Redirect};
use maud::{Markup, html};
use samhand_domain::care::{Meeting, MeetingInput, Minutes, MinutesInput, Task, TaskInput, TaskStatus};
use samhand_domain::format::{count_nb, date_nb, plural_nb, time_nb};
use samhand_domain::ids::{MeetingId, OrganisationId, PatientId, TaskId, UserId};
use samhand_domain::validation::FieldErrors;

use crate::AppState;
use crate::auth::UiStaff;
use crate::error::{AppError, PageError};
use crate::pages::PageResult;
use crate::pages::forms::{
    FormData, StaffForm, csrf, error_summary, form_status, input, parse_id, select, textarea,
};
use crate::pages::labels::instant_nb;
use crate::pages::layout::page;
use crate::service::{MeetingsView, Service};

mod plan;

pub use plan::{plan, plan_print, save_plan};

fn task_status_badge(task: &Task, today: jiff::civil::Date) -> Markup {
    html! {
        @if task.is_overdue(today) {
            span.badge.bad { "Forfalt" }
        } @else {
            @match task.status() {
                TaskStatus::Open => span.badge.warn { (TaskStatus::Open.label_nb()) },
                TaskStatus::Done => span.badge.ok { (TaskStatus::Done.label_nb()) },
                TaskStatus::Cancelled => span.badge { (TaskStatus::Cancelled.label_nb()) },
            }
        }
    }
}

fn owner_options(view: &MeetingsView) -> Vec<(String, String)> {
    view.task_owners
        .iter()
        .map(|u| (u.id.to_string(), u.display_name.clone()))
        .collect()
}

// ------------------------------------------------------------------ meetings

async fn meetings_page(
    state: &AppState,
    staff: &UiStaff,
    id: PatientId,
    form: &FormData,
    errors: &FieldErrors,
) -> PageResult {
    let service = Service::new(state, &staff.user);
    let view = service.meetings(id).await?;
    let offers = service.offers(id).await?;
    let name = |user: UserId| view.names.get(&user).cloned().unwrap_or_default();
    let body = html! {
        h1 { "Ansvarsgruppe: " (view.patient.full_name()) }
        p.links {
            a href={ "/pasienter/" (id) } { "Tilbake til oversikten" }
            " · " a href={ "/pasienter/" (id) "/plan" } { "Individuell plan" }
            @if offers.privacy { " · " a href={ "/pasienter/" (id) "/personvern" } { "Medlemmer og samtykker" } }
        }
        @for overdue in &view.overdue {
            div.error role="alert" data-testid="meeting-overdue" { (overdue.label_nb()) }
        }
        p.hint {
            "Møtes hver " (view.interval_days) ". dag. "
            @if let Some(due) = view.next_due { "Neste møte bør holdes innen " (date_nb(due)) "." }
        }
        h2 { "Møter" }
        @if view.meetings.is_empty() {
            p { "Ingen møter er kalt inn." }
        } @else {
            table data-testid="meetings" {
                thead { tr { th { "Dato" } th { "Tid" } th { "Sted" } th { "Status" } } }
                tbody {
                    @for m in &view.meetings {
                        tr {
                            td { a href={ "/moter/" (m.id) } { (date_nb(m.date())) } }
                            td { (time_nb(m.at.time())) }
                            td { (m.place) }
                            td {
                                @if m.is_held() { span.badge.ok { "Referat skrevet" } }
                                @else if m.date() < view.today { span.badge.bad { "Mangler referat" } }
                                @else { span.badge { "Planlagt" } }
                            }
                        }
                    }
                }
            }
        }
        @if view.may_convene {
            h2 { "Kall inn til møte" }
            p.hint { "Alle aktive medlemmer av ansvarsgruppen blir invitert." }
            (error_summary(errors))
            form.stack method="post" action={ "/pasienter/" (id) "/moter" } {
                (csrf(&staff.csrf))
                (input("Dato", "date", "date", form.get("date"), errors, None))
                (input("Klokkeslett", "time", "time", form.get("time"), errors, None))
                (input("Sted", "place", "text", form.get("place"), errors, None))
                (textarea("Saksliste (én sak per linje)", "agenda", form.get("agenda"), errors))
                button type="submit" { "Kall inn" }
            }
        }
        h2 { "Oppgaver" }
        (tasks_table(&view.tasks, &name, view.today))
        @if offers.write_plan {
            h3 { "Ny oppgave" }
            form.stack method="post" action={ "/pasienter/" (id) "/oppgaver" } {
                (csrf(&staff.csrf))
                (input("Oppgave", "description", "text", form.get("description"), errors, None))
                (select("Ansvarlig", "owner", &owner_options(&view), form.get("owner"), errors))
                (input("Frist", "due_on", "date", form.get("due_on"), errors, None))
                button type="submit" { "Legg til oppgave" }
            }
        }
    };
    Ok((form_status(errors), page("Ansvarsgruppe", staff, body)).into_response())
}

fn tasks_table(tasks: &[Task], name: &dyn Fn(UserId) -> String, today: jiff::civil::Date) -> Markup {
    html! {
        @if tasks.is_empty() {
            p { "Ingen oppgaver." }
        } @else {
            table data-testid="tasks" {
                thead { tr { th { "Oppgave" } th { "Ansvarlig" } th { "Frist" } th { "Status" } } }
                tbody {
                    @for t in tasks {
                        tr {
                            td { (t.description) }
                            td { (name(t.owner)) }
                            td { (date_nb(t.due_on)) }
                            td {
                                (task_status_badge(t, today))
                                @if let Some(last) = t.changes.last() {
                                    " " span.hint { (name(last.changed_by)) ", " (instant_nb(last.changed_at)) }
                                }
                            }
                        }
                    }
                }
            }
        }
    }
}

pub async fn meetings(State(state): State<AppState>, staff: UiStaff, Path(id): Path<String>) -> PageResult {
    meetings_page(
        &state,
        &staff,
        parse_id(&id)?,
        &FormData::default(),
        &FieldErrors::default(),
    )
    .await
}

pub async fn schedule(
    State(state): State<AppState>,
    Path(id): Path<String>,
    StaffForm { staff, form }: StaffForm,
) -> PageResult {
    let id: PatientId = parse_id(&id)?;
    let input = MeetingInput {
        date: form.get("date").into(),
        time: form.get("time").into(),
        place: form.get("place").into(),
        agenda: vec![form.get("agenda").into()],
    };
    match Service::new(&state, &staff.user)
        .schedule_meeting(id, &input)
        .await
    {
        Ok(meeting) => Ok(Redirect::to(&format!("/moter/{}", meeting.id)).into_response()),
        Err(AppError::Invalid(errors)) => meetings_page(&state, &staff, id, &form, &errors).await,
        Err(other) => Err(other.into()),
    }
}

pub async fn create_task(
    State(state): State<AppState>,
    Path(id): Path<String>,
    StaffForm { staff, form }: StaffForm,
) -> PageResult {
    let id: PatientId = parse_id(&id)?;
    let input = TaskInput {
        description: form.get("description").into(),
        owner: form.get("owner").into(),
        due_on: form.get("due_on").into(),
    };
    match Service::new(&state, &staff.user).create_task(id, &input).await {
        Ok(_) => Ok(Redirect::to(&format!("/pasienter/{id}/moter")).into_response()),
        Err(AppError::Invalid(errors)) => meetings_page(&state, &staff, id, &form, &errors).await,
        Err(other) => Err(other.into()),
    }
}

/// How many task rows the minutes form offers.
const TASK_ROWS: usize = 3;

/// The meeting as an invitee sees it when the plan is not shared with their
/// service: when, where, who; not the agenda or the minutes.
fn invitation_body(view: &crate::service::InvitationView) -> Markup {
    let meeting = &view.meeting;
    let name = |user: UserId| view.names.get(&user).cloned().unwrap_or_default();
    let org = |id| {
        view.organisations
            .get(&id)
            .map(|o| o.name.clone())
            .unwrap_or_default()
    };
    html! {
        h1 { "Ansvarsgruppemøte " (date_nb(meeting.date())) " kl. " (time_nb(meeting.at.time())) }
        p { "Du er invitert som medlem av ansvarsgruppen til " strong { (view.patient.full_name()) } "." }
        p { "Sted: " (meeting.place) ". Kalt inn av " (name(meeting.scheduled_by)) ", " (instant_nb(meeting.scheduled_at)) "." }
        p.warning { "Sakslisten og referatet vises bare når pasienten har samtykket til at plan og mål deles med tjenesten din." }
        h2 { "Invitert" }
        ul { @for i in &meeting.invitations { li { (name(i.user_id)) ", " (org(i.organisation_id)) } } }
    }
}

/// Who was invited to a meeting, and who came once the minutes are written.
fn participants(
    meeting: &Meeting,
    name: &dyn Fn(UserId) -> String,
    org: &dyn Fn(OrganisationId) -> String,
) -> Markup {
    html! {
        h2 { "Deltakere" }
        @if meeting.invitations.is_empty() {
            p { "Ansvarsgruppen hadde ingen aktive medlemmer da møtet ble kalt inn." }
        } @else {
            table data-testid="invitations" {
                thead { tr { th { "Medlem" } th { "Tjeneste" } th { "Invitasjon" } @if meeting.is_held() { th { "Oppmøte" } } } }
                tbody {
                    @for i in &meeting.invitations {
                        tr {
                            td { (name(i.user_id)) }
                            td { (org(i.organisation_id)) }
                            td { span.badge { "Invitert" } " " (instant_nb(i.invited_at)) }
                            @if let Some(minutes) = &meeting.minutes {
                                td {
                                    @if minutes.attendance.iter().any(|(u, p)| *u == i.user_id && *p) { span.badge.ok { "Til stede" } }
                                    @else { span.badge { "Ikke til stede" } }
                                }
                            }
                        }
                    }
                }
            }
        }
    }
}

/// The minutes of a held meeting, with the tasks agreed.
fn minutes_record(
    minutes: &Minutes,
    tasks: &[Task],
    name: &dyn Fn(UserId) -> String,
    today: jiff::civil::Date,
) -> Markup {
    html! {
            section.card data-testid="minutes" {
                h2 { "Referat" }
                p {
                    strong { "Pasienten: " }
                    @if minutes.patient_present { "til stede" } @else { "ikke til stede" }
                }
                p { (minutes.text) }
                @if !minutes.decisions.is_empty() {
                    h3 { "Vedtak" }
                    ul { @for d in &minutes.decisions { li { (d) } } }
                }
                p.hint { "Skrevet av " (name(minutes.recorded_by)) ", " (instant_nb(minutes.recorded_at)) ". "
                    "Forslag til neste møte: " strong data-testid="next-meeting" { (date_nb(minutes.next_meeting_proposed)) } "." }
                @if !tasks.is_empty() {
                    h3 { "Oppgaver fra møtet" }
                    (tasks_table(tasks, name, today))
                }
            }
    }
}

/// The form for the minutes: the patient's presence, who came, the text, the
/// decisions and the tasks agreed.
fn minutes_form(
    meeting: &Meeting,
    staff: &UiStaff,
    form: &FormData,
    errors: &FieldErrors,
    owners: &[(String, String)],
    name: &dyn Fn(UserId) -> String,
) -> Markup {
    let meeting_id = meeting.id;
    let descriptions = form.all("task_description");
    let task_owners = form.all("task_owner");
    let dues = form.all("task_due_on");
    let at = |v: &Vec<String>, i: usize| v.get(i).cloned().unwrap_or_default();
    let present_yes = form.get("patient_present") == "yes";
    let present_no = form.get("patient_present") == "no";
    let attended = form.all("attended");
    html! {
            h2 { "Skriv referat" }
            (error_summary(errors))
            form.stack method="post" action={ "/moter/" (meeting_id) "/referat" } {
                (csrf(&staff.csrf))
                fieldset #patient_present {
                    legend { "Var pasienten til stede?" }
                    label.checkbox { input type="radio" name="patient_present" value="yes" checked[present_yes]; "Ja" }
                    label.checkbox { input type="radio" name="patient_present" value="no" checked[present_no]; "Nei" }
                    (crate::pages::forms::group_error(errors, "patient_present"))
                }
                @if !meeting.invitations.is_empty() {
                    fieldset #attendance {
                        legend { "Hvem av de inviterte var til stede?" }
                        @for i in &meeting.invitations {
                            label.checkbox {
                                input type="checkbox" name="attended" value=(i.user_id) checked[attended.contains(&i.user_id.to_string())];
                                (name(i.user_id))
                            }
                        }
                        (crate::pages::forms::group_error(errors, "attendance"))
                    }
                }
                (textarea("Referat", "text", form.get("text"), errors))
                (textarea("Vedtak (ett per linje)", "decisions", form.get("decisions"), errors))
                fieldset {
                    legend { "Oppgaver (valgfritt)" }
                    @for i in 0..TASK_ROWS {
                        div.task-row {
                            label for={ "task_description_" (i) } { "Oppgave " (i + 1) }
                            input type="text" id={ "task_description_" (i) } name="task_description" value=(at(&descriptions, i));
                            label for={ "task_owner_" (i) } { "Ansvarlig" }
                            select id={ "task_owner_" (i) } name="task_owner" {
                                option value="" { "Velg …" }
                                @for (value, text) in owners {
                                    option value=(value) selected[*value == at(&task_owners, i)] { (text) }
                                }
                            }
                            label for={ "task_due_on_" (i) } { "Frist" }
                            input type="date" id={ "task_due_on_" (i) } name="task_due_on" value=(at(&dues, i));
                        }
                    }
                    @for field in ["task_description", "task_owner", "task_due_on"] {
                        (crate::pages::forms::group_error(errors, field))
                    }
                }
                (crate::pages::forms::group_error(errors, "meeting"))
                button type="submit" { "Lagre referat" }
            }
    }
}

async fn meeting_page(
    state: &AppState,
    staff: &UiStaff,
    meeting_id: MeetingId,
    form: &FormData,
    errors: &FieldErrors,
) -> PageResult {
    let service = Service::new(state, &staff.user);
    let (patient, in_full) = service.meeting_in_full(meeting_id).await?;
    if !in_full {
        let invitation = service.meeting_invitation(meeting_id).await?;
        return Ok(page("Ansvarsgruppemøte", staff, invitation_body(&invitation)).into_response());
    }
    let view = service.meetings(patient).await?;
    let meeting = view
        .meeting(meeting_id)
        .ok_or_else(|| PageError(AppError::NotFound("møtet".into())))?;
    let name = |user: UserId| view.names.get(&user).cloned().unwrap_or_default();
    let org = |id| {
        view.organisations
            .get(&id)
            .map(|o| o.name.clone())
            .unwrap_or_default()
    };
    let tasks: Vec<Task> = view
        .tasks
        .iter()
        .filter(|t| t.meeting_id == Some(meeting_id))
        .cloned()
        .collect();
    let body = html! {
        h1 { "Ansvarsgruppemøte " (date_nb(meeting.date())) " kl. " (time_nb(meeting.at.time())) }
        p.links {
            a href={ "/pasienter/" (patient) "/moter" } { "Alle møter for " (view.patient.full_name()) }
            " · " a href={ "/pasienter/" (patient) "/plan" } { "Individuell plan" }
        }
        p { "Sted: " (meeting.place) ". Kalt inn av " (name(meeting.scheduled_by)) ", " (instant_nb(meeting.scheduled_at)) "." }
        h2 { "Saksliste" }
        ol { @for item in &meeting.agenda { li { (item) } } }
        (participants(meeting, &name, &org))
        @if let Some(minutes) = &meeting.minutes {
            (minutes_record(minutes, &tasks, &name, view.today))
        } @else if view.may_convene && meeting.date() <= view.today {
            (minutes_form(meeting, staff, form, errors, &owner_options(&view), &name))
        } @else if meeting.date() > view.today {
            p { "Referatet skrives etter møtet." }
        }
    };
    Ok((form_status(errors), page("Ansvarsgruppemøte", staff, body)).into_response())
}

pub async fn meeting(State(state): State<AppState>, staff: UiStaff, Path(id): Path<String>) -> PageResult {
    meeting_page(
        &state,
        &staff,
        parse_id(&id)?,
        &FormData::default(),
        &FieldErrors::default(),
    )
    .await
}

pub async fn write_minutes(
    State(state): State<AppState>,
    Path(id): Path<String>,
    StaffForm { staff, form }: StaffForm,
) -> PageResult {
    let id: MeetingId = parse_id(&id)?;
    let mut attended = Vec::new();
    for raw in form.all("attended") {
        match raw.parse::<UserId>() {
            Ok(user) => attended.push(user),
            Err(_) => {
                let errors =
                    FieldErrors::single("attendance", "Bare inviterte medlemmer kan føres som til stede.");
                return meeting_page(&state, &staff, id, &form, &errors).await;
            }
        }
    }
    let input = MinutesInput {
        patient_present: form.get("patient_present").into(),
        attended,
        text: form.get("text").into(),
        decisions: vec![form.get("decisions").into()],
    };
    let descriptions = form.all("task_description");
    let owners = form.all("task_owner");
    let dues = form.all("task_due_on");
    let tasks: Vec<TaskInput> = (0..descriptions.len().max(owners.len()).max(dues.len()))
        .map(|i| TaskInput {
            description: descriptions.get(i).cloned().unwrap_or_default(),
            owner: owners.get(i).cloned().unwrap_or_default(),
            due_on: dues.get(i).cloned().unwrap_or_default(),
        })
        .collect();
    match Service::new(&state, &staff.user)
        .write_minutes(id, &input, &tasks)
        .await
    {
        Ok(_) => Ok(Redirect::to(&format!("/moter/{id}")).into_response()),
        Err(AppError::Invalid(errors)) => meeting_page(&state, &staff, id, &form, &errors).await,
        Err(other) => Err(other.into()),
    }
}

// ---------------------------------------------------------------------- tasks

pub async fn my_tasks(State(state): State<AppState>, staff: UiStaff) -> PageResult {
    let mine = Service::new(&state, &staff.user).my_tasks().await?;
    let body = html! {
        h1 { "Mine oppgaver" }
        @if mine.tasks.is_empty() {
            p { "Du har ingen oppgaver." }
        } @else {
            table data-testid="my-tasks" {
                thead { tr { th { "Pasient" } th { "Oppgave" } th { "Frist" } th { "Status" } th {} } }
                tbody {
                    @for (task, patient) in &mine.tasks {
                        tr {
                            td { a href={ "/pasienter/" (patient.id) "/moter" } { (patient.full_name()) } }
                            td { (task.description) }
                            td { (date_nb(task.due_on)) }
                            td { (task_status_badge(task, mine.today)) }
                            td {
                                @if task.status() == TaskStatus::Open {
                                    form method="post" action={ "/oppgaver/" (task.id) "/status" } {
                                        (csrf(&staff.csrf))
                                        input type="hidden" name="status" value="done";
                                        button type="submit" { "Merk som utført" }
                                    }
                                }
                            }
                        }
                    }
                }
            }
        }
        @if mine.hidden > 0 {
            p.hint {
                (count_nb(mine.hidden, "oppgave", "oppgaver")) " gjelder "
                (plural_nb(mine.hidden, "en pasient", "pasienter")) " som ikke har samtykket til at du ser planen nå."
            }
        }
    };
    Ok(page("Mine oppgaver", &staff, body).into_response())
}

pub async fn change_task_status(
    State(state): State<AppState>,
    Path(id): Path<String>,
    StaffForm { staff, form }: StaffForm,
) -> PageResult {
    let id: TaskId = parse_id(&id)?;
    Service::new(&state, &staff.user)
        .change_task_status(id, form.get("status"), form.get("note"))
        .await?;
    Ok(Redirect::to("/oppgaver").into_response())
}

// --------------------------------------------------------- the coordinator

pub async fn coordinator(State(state): State<AppState>, staff: UiStaff) -> PageResult {
    let overview = Service::new(&state, &staff.user).coordinator_overview().await?;
    let today = overview.today;
    let name = |user: UserId| overview.names.get(&user).cloned().unwrap_or_default();
    let body = html! {
        h1 { "Koordinator" }
        p.hint { "Pasientene der du er koordinator i ansvarsgruppen. Møtene skal holdes minst hver " (overview.interval_days) ". dag." }
        @if overview.rows.is_empty() {
            p { "Du er ikke koordinator for noen pasienter." }
        } @else {
            table data-testid="coordinator" {
                thead { tr { th { "Pasient" } th { "Neste møte" } th { "Forfalt" } th { "Åpne oppgaver" } th { "Plan" } } }
                tbody {
                    @for row in &overview.rows {
                        tr {
                            td { a href={ "/pasienter/" (row.patient.id) "/moter" } { (row.patient.full_name()) } }
                            td {
                                @if let Some(m) = &row.next_meeting {
                                    a href={ "/moter/" (m.id) } { (date_nb(m.date())) " kl. " (time_nb(m.at.time())) }
                                } @else { "Ingen innkalt" }
                            }
                            td {
                                @for o in &row.overdue_meetings { div { span.badge.bad { "Møte" } " " (o.label_nb()) } }
                                @for t in row.overdue_tasks(today) { div { span.badge.bad { "Oppgave" } " " (t.description) " (" (name(t.owner)) ", frist " (date_nb(t.due_on)) ")" } }
                            }
                            td {
                                @for t in &row.open_tasks { div { (t.description) " – " (name(t.owner)) ", " (date_nb(t.due_on)) } }
                            }
                            td {
                                a href={ "/pasienter/" (row.patient.id) "/plan" } {
                                    @match &row.plan { None => "Ikke startet", Some(p) => (p.status.label_nb()) }
                                }
                                @for g in &row.goals_due { div { span.badge.warn { "Til evaluering" } " " (g.domain.label_nb()) } }
                            }
                        }
                    }
                }
            }
        }
    };
    Ok(page("Koordinator", &staff, body).into_response())
}
