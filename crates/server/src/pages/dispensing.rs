//! The dispensing place's day: today's list with the identity photo and one-tap
//! recording, withheld and reduced doses with the pre-dose assessment's reason, who
//! is missing, and the holiday warnings for the days ahead.

use axum::extract::{Query, State};
use axum::response::{IntoResponse, Redirect, Response};
use maud::{Markup, html};
use samhand_domain::dispensing::OutcomeKind;
use samhand_domain::format::{date_nb, time_nb, weekday_nb};
use samhand_domain::schedule::{DoseKey, IntakeMode};
use samhand_domain::time::oslo_datetime;
use samhand_domain::validation::parse_date;

use crate::AppState;
use crate::auth::{UiStaff, random_token};
use crate::error::{AppError, PageError};
use crate::pages::forms::{FormData, StaffForm, csrf};
use crate::pages::layout::page;
use crate::pages::patients::photo_tag;
use crate::service::{DispenseRequest, ListRow, Service, TodayList};

pub fn mode_name(mode: IntakeMode) -> &'static str {
    match mode {
        IntakeMode::Supervised => "Inntak under tilsyn",
        IntakeMode::TakeHome => "Ta-med-dose",
        IntakeMode::Injection => "Depotinjeksjon",
    }
}

pub fn outcome_name(outcome: &str) -> &'static str {
    match outcome {
        "given" => "Utlevert",
        "reduced" => "Redusert",
        "withheld" => "Holdt tilbake",
        _ => "Ukjent",
    }
}

#[derive(serde::Deserialize, Default)]
pub struct ListQuery {
    #[serde(default)]
    dato: String,
    #[serde(default)]
    registrert: String,
}

/// A message for one row after a recording.
struct RowMessage {
    patient_id: String,
    text: String,
    ok: bool,
    /// What was typed in the assessment form, shown again after a refusal.
    typed: Option<FormData>,
}

fn row_markup(
    list: &TodayList,
    row: &ListRow,
    staff: &UiStaff,
    message: Option<&RowMessage>,
    is_today: bool,
) -> Markup {
    let done = row.done();
    let id = row.patient.id;
    let pending: Vec<_> = row.due.iter().filter(|(_, r)| r.is_none()).collect();
    let supervised_today = pending.iter().find(|(d, _)| d.mode == IntakeMode::Supervised);
    let name = |user| list.names.get(&user).cloned().unwrap_or_default();
    html! {
        article.row.done[done] id={ "p-" (id) } data-testid="list-row" data-patient=(id) {
            (photo_tag(&row.patient))
            div {
                h2 style="margin-top:0" {
                    a href={ "/pasienter/" (id) } { (row.patient.full_name()) }
                }
                p.hint {
                    "Født " (date_nb(row.patient.national_id.birth_date()))
                    @if let Some(w) = row.window { " · Tidsvindu " (time_nb(w.start)) "–" (time_nb(w.end)) }
                    @if let Some(g) = &row.group { " · " (g) }
                }
                @if let Some(notes) = &row.health {
                    @if !notes.is_empty() {
                        ul.health aria-label="Helseopplysninger" data-testid="health" {
                            @for note in notes {
                                li { span.badge.bad { (note.kind.label_nb()) } " " (note.text) }
                            }
                        }
                    }
                }
                @if row.is_blocked() && row.after_stay {
                    p data-testid="blocked-after-stay" { span.blocked { "Redusert toleranse etter opphold" } " " (row.missed.consecutive_days) " dager uten vanlig dose. Lege må revurdere dosen. Ikke gi dose." }
                } @else if row.is_blocked() {
                    p { span.blocked { "Må revurderes av lege" } " " (row.missed.consecutive_days) " dager uten dose. Ikke gi dose." }
                } @else if row.missed.alert {
                    p { span.badge.warn { "Uteblitt " (row.missed.consecutive_days) " dag(er)" } }
                }
                ul {
                    @for (due, recorded) in &row.due {
                        li {
                            strong { (due.scheduled.dose) } " " (due.scheduled.substance.name()) " – " (mode_name(due.mode))
                            @if due.mode == IntakeMode::TakeHome { " for " (weekday_nb(due.scheduled.key.date)) " " (date_nb(due.scheduled.key.date)) }
                            @if due.scheduled.key.part > 1 { " (del " (due.scheduled.key.part) ")" }
                            @if let Some(r) = recorded {
                                " " span.badge.ok[r.outcome == OutcomeKind::Given].warn[r.outcome != OutcomeKind::Given] {
                                    (r.outcome.label_nb(r.mode)) " kl. " (time_nb(oslo_datetime(r.recorded_at).time())) " av " (name(r.recorded_by))
                                    @if r.amount != r.ordered { " (" (r.amount) ")" }
                                }
                            }
                        }
                    }
                }
                @if let Some(m) = message {
                    div.notice[m.ok].error[!m.ok] role="status" data-testid="row-message" { (m.text) }
                }
            }
            div.actions {
                @if done {
                    span.badge.ok data-testid="row-done" { "Ferdig for i dag" }
                } @else if !is_today {
                    span.hint { "Kan bare registreres på dagen." }
                } @else {
                    @let key = random_token();
                    form method="post" action="/utlevering" {
                        (csrf(&staff.csrf))
                        input type="hidden" name="patient_id" value=(id);
                        input type="hidden" name="idempotency_key" value=(key);
                        input type="hidden" name="outcome" value="given";
                        label.checkbox { input type="checkbox" name="identity_confirmed" value="yes" required; "Identitet bekreftet" }
                        button.ok type="submit" disabled[row.is_blocked()] data-testid="dispense" { "Utlever" }
                    }
                    @let typed = message.and_then(|m| m.typed.as_ref());
                    details open[typed.is_some_and(|t| t.get("outcome") != "given")] {
                        summary { "Holdt tilbake / redusert" }
                        form method="post" action="/utlevering" {
                            (csrf(&staff.csrf))
                            input type="hidden" name="patient_id" value=(id);
                            input type="hidden" name="idempotency_key" value=(random_token());
                            label.checkbox { input type="checkbox" name="identity_confirmed" value="yes" required; "Identitet bekreftet" }
                            label for={ "outcome-" (id) } { "Vurdering" }
                            select id={ "outcome-" (id) } name="outcome" {
                                option value="withheld" { "Holdt tilbake" }
                                @if supervised_today.is_some() && !row.is_blocked() {
                                    option value="reduced" selected[typed.is_some_and(|t| t.get("outcome") == "reduced")] { "Redusert dose" }
                                }
                            }
                            @if let Some((d, _)) = supervised_today {
                                input type="hidden" name="dose" value={ (d.scheduled.key.date) ":" (d.scheduled.key.part) };
                                label for={ "reduced-" (id) } { "Redusert dose i mg" }
                                input type="text" inputmode="decimal" id={ "reduced-" (id) } name="reduced_mg"
                                    value=(typed.map(|t| t.get("reduced_mg")).unwrap_or_default());
                            }
                            label for={ "reason-" (id) } { "Begrunnelse (forsvarlighetsvurdering)" }
                            textarea id={ "reason-" (id) } name="reason" rows="2" required {
                                (typed.map(|t| t.get("reason")).unwrap_or_default())
                            }
                            button.danger type="submit" { "Registrer" }
                        }
                    }
                }
            }
        }
    }
}

fn list_page(
    list: &TodayList,
    staff: &UiStaff,
    message: Option<&RowMessage>,
    today: jiff::civil::Date,
) -> Markup {
    let is_today = list.date == today;
    let missing: Vec<&ListRow> = list.missing().collect();
    let late_now = oslo_datetime(list.now).time();
    html! {
        h1 { "Utlevering " (weekday_nb(list.date)) " " (date_nb(list.date)) " – " (list.place.name) }
        form.inline method="get" action="/utlevering" {
            div {
                label for="dato" { "Dag" }
                input type="date" id="dato" name="dato" value=(list.date);
            }
            button.secondary type="submit" { "Vis" }
            @if !is_today { a href="/utlevering" { "Til i dag" } }
        }
        @if let Some(closed) = &list.closed {
            div.warning role="status" { strong { (closed) } ". Doser for denne dagen skal være dekket av ta-med-dose eller annet sted." }
        }
        @if let Some(m) = message {
            @if !list.rows.iter().any(|r| r.patient.id.to_string() == m.patient_id) {
                div.notice[m.ok].error[!m.ok] role="status" { (m.text) }
            }
        }
        @if !list.paused.is_empty() {
            div.notice data-testid="paused" {
                strong { "Innlagt – ikke utlevering her i dag:" }
                ul {
                    @for (patient, note) in &list.paused {
                        li { a href={ "/pasienter/" (patient.id) } { (patient.full_name()) } ": " (note) }
                    }
                }
            }
        }
        @if !list.uncovered.is_empty() {
            div.warning {
                strong { "Ikke dekket de neste dagene:" }
                ul {
                    @for (patient, u) in &list.uncovered {
                        li {
                            a href={ "/pasienter/" (patient.id) } { (patient.full_name()) }
                            ": dosen for " (weekday_nb(u.dose_date)) " " (date_nb(u.dose_date))
                            " skulle hentes " (date_nb(u.closed_day)) " da stedet er stengt. Lege må legge inn dekning."
                        }
                    }
                }
            }
        }
        p {
            strong { (list.rows.len()) } " pasienter forventet · "
            strong { (list.rows.len() - missing.len()) } " ferdige · "
            strong { (missing.len()) } " gjenstår"
        }
        @if is_today && !missing.is_empty() {
            details {
                summary { "Ikke kommet ennå (" (missing.len()) ")" }
                ul {
                    @for row in &missing {
                        li {
                            (row.patient.full_name())
                            @if let Some(w) = row.window {
                                " – vindu " (time_nb(w.start)) "–" (time_nb(w.end))
                                @if late_now > w.end { " " span.badge.warn { "etter vinduet" } }
                            }
                        }
                    }
                }
            }
        }
        @for row in &list.rows {
            (row_markup(list, row, staff, message.filter(|m| m.patient_id == row.patient.id.to_string()), is_today))
        }
        @if list.rows.is_empty() {
            p { "Ingen pasienter skal hente her denne dagen." }
        }
    }
}

pub async fn list(
    State(state): State<AppState>,
    staff: UiStaff,
    Query(query): Query<ListQuery>,
) -> Result<Response, PageError> {
    let date = if query.dato.is_empty() {
        None
    } else {
        Some(parse_date(&query.dato).ok_or_else(|| {
            AppError::Invalid(samhand_domain::validation::FieldErrors::single(
                "dato",
                "Ugyldig dato.",
            ))
        })?)
    };
    let list = Service::new(&state, &staff.user).todays_list(date).await?;
    let message = (!query.registrert.is_empty()).then(|| RowMessage {
        patient_id: query.registrert.clone(),
        text: "Registrert.".into(),
        ok: true,
        typed: None,
    });
    Ok(page(
        "Dagens liste",
        &staff,
        list_page(&list, &staff, message.as_ref(), state.clock.today()),
    )
    .into_response())
}

pub async fn record(
    State(state): State<AppState>,
    StaffForm { staff, form }: StaffForm,
) -> Result<Response, PageError> {
    let doses: Vec<DoseKey> = form
        .all("dose")
        .iter()
        .filter_map(|d| {
            let (date, part) = d.split_once(':')?;
            Some(DoseKey {
                date: date.parse().ok()?,
                part: part.parse().ok()?,
            })
        })
        .collect();
    let outcome = form.get("outcome").to_string();
    let request = DispenseRequest {
        patient_id: form.get("patient_id").into(),
        idempotency_key: form.get("idempotency_key").into(),
        // A reduction applies to today's supervised dose only; a withholding covers
        // everything due, take-home doses included.
        doses: if outcome == "reduced" { doses } else { Vec::new() },
        outcome,
        reason: form.get("reason").into(),
        reduced_mg: form.get("reduced_mg").into(),
        identity_confirmed: form.get("identity_confirmed") == "yes",
        override_reason: form.get("override_reason").into(),
    };
    let service = Service::new(&state, &staff.user);
    match service.record_dispensing(&request).await {
        Ok(result) => Ok(Redirect::to(&format!(
            "/utlevering?registrert={}#p-{}",
            result.event.patient_id, result.event.patient_id
        ))
        .into_response()),
        Err(error @ (AppError::Conflict(_) | AppError::Invalid(_))) => {
            let text = match &error {
                AppError::Invalid(errors) => errors
                    .0
                    .iter()
                    .map(|e| e.message.clone())
                    .collect::<Vec<_>>()
                    .join(" "),
                other => other.message_nb(),
            };
            let message = RowMessage {
                patient_id: request.patient_id.clone(),
                text,
                ok: false,
                typed: Some(form.clone()),
            };
            let list = service.todays_list(None).await?;
            let status = error.status();
            Ok((
                status,
                page(
                    "Dagens liste",
                    &staff,
                    list_page(&list, &staff, Some(&message), state.clock.today()),
                ),
            )
                .into_response())
        }
        Err(other) => Err(other.into()),
    }
}
