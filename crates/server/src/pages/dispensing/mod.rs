//! The dispensing place's day: today's list (here) with search, filters and
//! keyboard use (`list.js`), who is missing, the holiday warnings for the days
//! ahead, recording at the window exactly once and correcting a recording made by
//! mistake; `rows` is the markup of one patient's row and its forms, `print` the
//! printable list for when the network is down.

mod print;
mod rows;

pub use print::print;

use axum::extract::{Query, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Redirect, Response};
use maud::{Markup, html};
use samhand_domain::format::{date_nb, time_nb, weekday_nb};
use samhand_domain::ids::DispensingId;
use samhand_domain::schedule::DoseKey;
use samhand_domain::time::oslo_datetime;
use samhand_domain::validation::{FieldErrors, parse_date};

use crate::AppState;
use crate::auth::UiStaff;
use crate::error::{AppError, PageError};
use crate::pages::forms::{FormData, StaffForm, csrf};
use crate::pages::layout::page;
use crate::service::{Confirmer, CorrectionRequest, DispenseRequest, ListRow, Service, TodayList};
use rows::row_markup;

/// What the list shows: everyone, or only some.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
enum Show {
    #[default]
    All,
    Pending,
    Done,
    Blocked,
}

impl Show {
    const ALL: [Show; 4] = [Self::All, Self::Pending, Self::Done, Self::Blocked];

    fn code(self) -> &'static str {
        match self {
            Self::All => "alle",
            Self::Pending => "gjenstar",
            Self::Done => "ferdig",
            Self::Blocked => "sperret",
        }
    }

    fn label(self) -> &'static str {
        match self {
            Self::All => "Alle",
            Self::Pending => "Ikke ferdige",
            Self::Done => "Ferdige",
            Self::Blocked => "Sperret",
        }
    }

    fn from_code(code: &str) -> Self {
        Self::ALL
            .into_iter()
            .find(|s| s.code() == code)
            .unwrap_or_default()
    }

    fn keeps(self, row: &ListRow) -> bool {
        match self {
            Self::All => true,
            Self::Pending => !row.done(),
            Self::Done => row.done(),
            Self::Blocked => row.is_blocked(),
        }
    }
}

#[derive(serde::Deserialize, Default)]
pub struct ListQuery {
    #[serde(default)]
    dato: String,
    #[serde(default)]
    registrert: String,
    /// Search: name, birth date (dd.mm.åååå or ddmmåå), or the last digits of the
    /// identity number.
    #[serde(default)]
    q: String,
    #[serde(default)]
    vis: String,
    /// A time window ("08:00–09:30") or a patient group's name.
    #[serde(default)]
    tid: String,
    /// "vindu" (default) or "navn".
    #[serde(default)]
    sorter: String,
}

/// The filters of the list, as asked for.
struct Filters {
    q: String,
    show: Show,
    slot: String,
    by_name: bool,
}

impl Filters {
    fn from(query: &ListQuery) -> Self {
        Self {
            q: query.q.trim().to_string(),
            show: Show::from_code(query.vis.trim()),
            slot: query.tid.trim().to_string(),
            by_name: query.sorter.trim() == "navn",
        }
    }

    fn keeps(&self, row: &ListRow) -> bool {
        self.show.keeps(row)
            && (self.slot.is_empty() || slot_of(row) == self.slot)
            && matches_search(row, &self.q)
    }

    fn is_narrowed(&self) -> bool {
        !self.q.is_empty() || self.show != Show::All || !self.slot.is_empty()
    }
}

/// The time window or group a row belongs to, as the filter names it.
fn slot_of(row: &ListRow) -> String {
    match (&row.group, row.window) {
        (Some(group), _) => group.clone(),
        (None, Some(w)) => format!("{}–{}", time_nb(w.start), time_nb(w.end)),
        (None, None) => "Uten tidsvindu".into(),
    }
}

/// The text a row is found by: name, birth date both ways, the identity number.
fn search_text(row: &ListRow) -> String {
    let born = row.patient.national_id.birth_date();
    format!(
        "{} {} {} {}",
        row.patient.full_name().to_lowercase(),
        date_nb(born),
        born.strftime("%d%m%y"),
        row.patient.national_id.as_str()
    )
}

fn matches_search(row: &ListRow, q: &str) -> bool {
    let q = q.trim().to_lowercase();
    if q.is_empty() {
        return true;
    }
    if q.chars().all(|c| c.is_ascii_digit()) && q.len() <= 5 {
        // A few digits: the end of the identity number.
        return row.patient.national_id.as_str().ends_with(&q) || search_text(row).contains(&q);
    }
    let text = search_text(row);
    q.split_whitespace().all(|word| text.contains(word))
}

/// A message for one row after a recording.
struct RowMessage {
    patient_id: String,
    text: String,
    ok: bool,
    /// What was typed in the form, shown again after a refusal.
    typed: Option<FormData>,
}

fn filters_form(list: &TodayList, filters: &Filters) -> Markup {
    let mut slots: Vec<String> = list.rows.iter().map(slot_of).collect();
    slots.sort();
    slots.dedup();
    html! {
        form.filters method="get" action="/utlevering" role="search" data-testid="filters" {
            input type="hidden" name="dato" value=(list.date);
            div {
                label for="q" { "Søk" }
                input type="search" id="q" name="q" value=(filters.q) autofocus autocomplete="off"
                    placeholder="Navn, fødselsdato eller siste sifre" data-testid="search";
            }
            div {
                label for="vis" { "Vis" }
                select id="vis" name="vis" {
                    @for show in Show::ALL {
                        option value=(show.code()) selected[filters.show == show] { (show.label()) }
                    }
                }
            }
            div {
                label for="tid" { "Tidsvindu/gruppe" }
                select id="tid" name="tid" {
                    option value="" { "Alle" }
                    @for slot in &slots {
                        option value=(slot) selected[&filters.slot == slot] { (slot) }
                    }
                }
            }
            div {
                label for="sorter" { "Sorter" }
                select id="sorter" name="sorter" {
                    option value="vindu" selected[!filters.by_name] { "Tidsvindu" }
                    option value="navn" selected[filters.by_name] { "Navn" }
                }
            }
            button.secondary type="submit" { "Vis" }
            @if filters.is_narrowed() { a href={ "/utlevering?dato=" (list.date) } { "Nullstill" } }
        }
    }
}

fn list_page(
    list: &TodayList,
    staff: &UiStaff,
    message: Option<&RowMessage>,
    today: jiff::civil::Date,
    filters: &Filters,
) -> Markup {
    let is_today = list.date == today;
    let mut shown: Vec<&ListRow> = list.rows.iter().filter(|r| filters.keeps(r)).collect();
    if filters.by_name {
        shown.sort_by(|a, b| {
            (&a.patient.family_name, &a.patient.given_name)
                .cmp(&(&b.patient.family_name, &b.patient.given_name))
        });
    }
    html! {
        h1 { "Utlevering " (weekday_nb(list.date)) " " (date_nb(list.date)) " – " (list.place.name) }
        @if let Some(why) = &list.confirmation {
            div.warning role="alert" data-testid="offline-confirmation" { (why) }
        }
        @if list.at_edge {
            p.hint { "Korrigering av en registrering gjøres i sentral Samhand." }
        }
        (day_notices(list, message, is_today))
        (arrivals(list, is_today))
        (filters_form(list, filters))
        p.hint #search-count aria-live="polite" data-testid="shown-count" {
            @if filters.is_narrowed() { "Viser " (shown.len()) " av " (list.rows.len()) "." }
        }
        div #rows {
            @for row in &shown {
                (row_markup(list, row, staff, message.filter(|m| m.patient_id == row.patient.id.to_string()), is_today))
            }
        }
        @if list.rows.is_empty() {
            p { "Ingen pasienter skal hente her denne dagen." }
        } @else if shown.is_empty() {
            p data-testid="no-match" { "Ingen pasienter passer søket." }
        }
        script src="/static/list.js" defer {}
    }
}

/// Above the list: a refusal in a summary, the day to show and print, the holiday,
/// a closed place, a message, the patients admitted elsewhere, and the days ahead
/// that are not covered.
fn day_notices(list: &TodayList, message: Option<&RowMessage>, is_today: bool) -> Markup {
    let tomorrow = list.date.tomorrow().unwrap_or(list.date);
    html! {
        @if let Some(m) = message.filter(|m| !m.ok) {
            div.error #error-summary role="alert" tabindex="-1" autofocus data-testid="error-summary" {
                strong { "Ikke registrert: " }
                (m.text) " "
                a href={ "#p-" (m.patient_id) } { "Gå til pasienten" }
            }
        }
        @if let Some(holiday) = list.holiday {
            p data-testid="holiday" { span.badge.warn { "Helligdag: " (holiday) } }
        }
        form.inline method="get" action="/utlevering" {
            div {
                label for="dato" { "Dag" }
                input type="date" id="dato" name="dato" value=(list.date);
            }
            button.secondary type="submit" { "Vis dag" }
            @if !is_today { a href="/utlevering" { "Til i dag" } }
            a href={ "/utlevering/utskrift?dato=" (list.date) } data-testid="print-link" { "Utskrift av lista" }
            a href={ "/utlevering/utskrift?dato=" (tomorrow) } { "Utskrift for " (date_nb(tomorrow)) }
        }
        @if let Some(closed) = &list.closed {
            div.warning role="status" { strong { (closed) } ". Doser for denne dagen skal være dekket av ta-med-dose eller annet sted." }
        }
        @if let Some(m) = message {
            @if m.ok || !list.rows.iter().any(|r| r.patient.id.to_string() == m.patient_id) {
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
    }
}

/// How many are expected, done and left, and who has not come yet.
fn arrivals(list: &TodayList, is_today: bool) -> Markup {
    let missing: Vec<&ListRow> = list.missing().collect();
    let late_now = oslo_datetime(list.now).time();
    html! {
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
    }
}

pub async fn list(
    State(state): State<AppState>,
    staff: UiStaff,
    Query(query): Query<ListQuery>,
) -> Result<Response, PageError> {
    let date = list_date(&query.dato)?;
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
        list_page(
            &list,
            &staff,
            message.as_ref(),
            state.clock.today(),
            &Filters::from(&query),
        ),
    )
    .into_response())
}

fn list_date(text: &str) -> Result<Option<jiff::civil::Date>, PageError> {
    if text.trim().is_empty() {
        return Ok(None);
    }
    parse_date(text)
        .map(Some)
        .ok_or_else(|| AppError::Invalid(FieldErrors::single("dato", "Ugyldig dato.")).into())
}

pub async fn record(
    State(state): State<AppState>,
    client: crate::client::Client,
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
        // The forms name the doses they are about: a reduction today's supervised
        // dose, the held take-home doses theirs; a plain recording takes what is due.
        doses,
        outcome,
        reason: form.get("reason").into(),
        reduced_mg: form.get("reduced_mg").into(),
        identity_confirmed: form.get("identity_confirmed") == "yes",
        override_reason: form.get("override_reason").into(),
        confirmer: (!form.get("confirmer_username").trim().is_empty()).then(|| Confirmer {
            username: form.get("confirmer_username").into(),
            password: form.get("confirmer_password").into(),
            client: client.address,
        }),
    };
    let service = Service::new(&state, &staff.user);
    match service.record_dispensing(&request).await {
        Ok(result) => Ok(Redirect::to(&format!(
            "/utlevering?registrert={}#p-{}",
            result.event.patient_id, result.event.patient_id
        ))
        .into_response()),
        Err(error @ (AppError::Conflict(_) | AppError::Invalid(_) | AppError::Forbidden(_))) => {
            refused(&state, &staff, &service, &request.patient_id, &error, form).await
        }
        Err(error) => Ok(unknown_outcome(&staff, &form, "/utlevering", &error)),
    }
}

/// The list again with a refusal at the row and in the summary at the top.
async fn refused(
    state: &AppState,
    staff: &UiStaff,
    service: &Service<'_>,
    patient_id: &str,
    error: &AppError,
    form: FormData,
) -> Result<Response, PageError> {
    let text = match error {
        AppError::Invalid(errors) => errors
            .0
            .iter()
            .map(|e| e.message.clone())
            .collect::<Vec<_>>()
            .join(" "),
        other => other.message_nb(),
    };
    let message = RowMessage {
        patient_id: patient_id.to_string(),
        text,
        ok: false,
        typed: Some(form),
    };
    let list = service.todays_list(None).await?;
    Ok((
        error.status(),
        page(
            "Dagens liste",
            staff,
            list_page(
                &list,
                staff,
                Some(&message),
                state.clock.today(),
                &Filters::from(&ListQuery::default()),
            ),
        ),
    )
        .into_response())
}

/// A recording whose fate is not known (the database failed or did not answer): it
/// may have been stored. Say so, and offer to send the very same request again,
/// with the same idempotency key, so that a retry is answered by what was stored
/// instead of recording twice. Built without the database, which may be down.
fn unknown_outcome(staff: &UiStaff, form: &FormData, action: &str, error: &AppError) -> Response {
    tracing::error!(error = %error, "a recording at the window ended with an unknown outcome");
    let body = html! {
        h1 { "Vi vet ikke om dette ble lagret" }
        div.error #error-summary role="alert" tabindex="-1" autofocus data-testid="unknown-outcome" {
            p { strong { "Vi vet ikke om dette ble lagret – sjekk listen." } }
            p { "Systemet svarte ikke som det skulle. Registreringen kan være lagret. Sjekk listen før du gir dosen på nytt. Prøv igjen under: er den lagret fra før, blir den ikke registrert to ganger." }
        }
        form method="post" action=(action) {
            @for (name, value) in &form.0 {
                @if name != "csrf" { input type="hidden" name=(name) value=(value); }
            }
            (csrf(&staff.csrf))
            button.ok type="submit" data-testid="retry" { "Prøv igjen" }
        }
        p { a href="/utlevering" { "Til dagens liste" } }
    };
    (
        StatusCode::INTERNAL_SERVER_ERROR,
        page("Ukjent resultat", staff, body),
    )
        .into_response()
}

/// Corrects a recording made by mistake.
pub async fn correct(
    State(state): State<AppState>,
    StaffForm { staff, form }: StaffForm,
) -> Result<Response, PageError> {
    let Ok(event) = form.get("event_id").parse::<DispensingId>() else {
        return Err(AppError::NotFound("registreringen".into()).into());
    };
    let request = CorrectionRequest {
        idempotency_key: form.get("idempotency_key").into(),
        kind: form.get("kind").into(),
        actual_mg: form.get("actual_mg").into(),
        reason: form.get("reason").into(),
    };
    let service = Service::new(&state, &staff.user);
    match service.correct_dispensing(event, &request).await {
        Ok(result) => Ok(Redirect::to(&format!(
            "/utlevering?registrert={}#p-{}",
            result.correction.patient_id, result.correction.patient_id
        ))
        .into_response()),
        Err(error @ (AppError::Conflict(_) | AppError::Invalid(_) | AppError::Forbidden(_))) => {
            let patient = {
                let mut conn = state.store.read().await?;
                samhand_store::dispensing::event_of(&mut conn, event).await?
            }
            .map(|e| e.patient_id.to_string())
            .unwrap_or_default();
            refused(&state, &staff, &service, &patient, &error, form).await
        }
        Err(error) => Ok(unknown_outcome(&staff, &form, "/utlevering/korriger", &error)),
    }
}

/// The list's small script: instant search and keyboard use (see list.js).
pub const LIST_SCRIPT: &str = include_str!("list.js");
