//! The dispensing place's day: today's list with the identity photo and one-tap
//! recording, withheld and reduced doses with the pre-dose assessment's reason, the
//! take-home hand-over held with them, corrections of a recording made by mistake,
//! search, filters and keyboard use, who is missing, the holiday warnings for the
//! days ahead, and the printable list for when the network is down.

use axum::extract::{Query, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Redirect, Response};
use maud::{DOCTYPE, Markup, html};
use samhand_domain::dispensing::OutcomeKind;
use samhand_domain::format::{date_nb, time_nb, weekday_nb};
use samhand_domain::ids::DispensingId;
use samhand_domain::schedule::{DoseKey, DueDose, IntakeMode};
use samhand_domain::time::oslo_datetime;
use samhand_domain::validation::{FieldErrors, parse_date};
use samhand_store::dispensing::DispensedDose;

use crate::AppState;
use crate::auth::{UiStaff, random_token};
use crate::error::{AppError, PageError};
use crate::pages::forms::{FormData, StaffForm, csrf};
use crate::pages::layout::page;
use crate::pages::patients::photo_tag;
use crate::service::{CorrectionRequest, DispenseRequest, ListRow, Service, TodayList};

pub fn mode_name(mode: IntakeMode) -> &'static str {
    match mode {
        IntakeMode::Supervised => "Inntak under tilsyn",
        IntakeMode::TakeHome => "Ta-med-dose",
        IntakeMode::Injection => "Depotinjeksjon",
    }
}

/// «1 dag», «2 dager».
fn days_nb(n: u32) -> String {
    if n == 1 {
        "1 dag".into()
    } else {
        format!("{n} dager")
    }
}

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

/// The recordings of a row's doses, one per event, in the order made.
fn events_of(row: &ListRow) -> Vec<(DispensingId, Vec<&DispensedDose>)> {
    let mut events: Vec<(DispensingId, Vec<&DispensedDose>)> = Vec::new();
    for recorded in row.due.iter().filter_map(|(_, r)| r.as_ref()) {
        match events.iter_mut().find(|(id, _)| *id == recorded.event_id) {
            Some((_, doses)) => doses.push(recorded),
            None => events.push((recorded.event_id, vec![recorded])),
        }
    }
    events.sort_by_key(|(_, doses)| doses[0].recorded_at);
    events
}

fn dose_line(list: &TodayList, due: &DueDose, recorded: Option<&DispensedDose>, held: bool) -> Markup {
    let name = |user| list.names.get(&user).cloned().unwrap_or_default();
    let key = due.scheduled.key;
    html! {
        li {
            @match recorded {
                Some(r) => {
                    // What was recorded, and the order in force beside it only where it differs.
                    strong { @if r.outcome == OutcomeKind::Withheld { (r.ordered) } @else { (r.amount) } }
                    " " (r.substance.name()) " – " (mode_name(r.mode))
                    @if r.mode == IntakeMode::TakeHome { " for " (weekday_nb(key.date)) " " (date_nb(key.date)) }
                    @if key.part > 1 { " (del " (key.part) ")" }
                    " " span.badge.ok[r.outcome == OutcomeKind::Given].warn[r.outcome != OutcomeKind::Given] data-testid="recorded" {
                        (r.outcome.label_nb(r.mode)) " kl. " (time_nb(oslo_datetime(r.recorded_at).time())) " av " (name(r.recorded_by))
                    }
                    @if let Some(reason) = &r.reason { " " span.hint { "«" (reason) "»" } }
                    @if r.amount != due.scheduled.dose && r.outcome != OutcomeKind::Withheld {
                        " " span.hint data-testid="current-order" { "Gjeldende ordinasjon: " (due.scheduled.dose) }
                    }
                }
                None => {
                    strong { (due.scheduled.dose) } " " (due.scheduled.substance.name()) " – " (mode_name(due.mode))
                    @if due.mode == IntakeMode::TakeHome { " for " (weekday_nb(key.date)) " " (date_nb(key.date)) }
                    @if due.mode == IntakeMode::Injection && key.date != list.date {
                        " " span.badge.warn { "Planlagt " (date_nb(key.date)) }
                    }
                    @if key.part > 1 { " (del " (key.part) ")" }
                    @if held { " " span.badge.bad data-testid="held" { "Holdes tilbake" } }
                }
            }
        }
    }
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
    let pending: Vec<&DueDose> = row
        .due
        .iter()
        .filter(|(_, r)| r.is_none())
        .map(|(d, _)| d)
        .collect();
    let own_dose_pending = pending.iter().any(|d| d.mode != IntakeMode::TakeHome);
    let supervised_today = pending.iter().find(|d| d.mode == IntakeMode::Supervised);
    let held: Vec<&DueDose> = row.held_take_home().collect();
    let status = if row.is_blocked() {
        "sperret"
    } else if done {
        "ferdig"
    } else {
        "gjenstar"
    };
    let name = |user| list.names.get(&user).cloned().unwrap_or_default();
    let typed = message.and_then(|m| m.typed.as_ref());
    html! {
        article.row.done[done] id={ "p-" (id) } data-testid="list-row" data-patient=(id)
            data-search=(search_text(row)) data-status=(status) data-slot=(slot_of(row)) {
            (photo_tag(&row.patient))
            div {
                h2.row-name {
                    a href={ "/pasienter/" (id) } { (row.patient.full_name()) }
                }
                p.hint {
                    "Født " (date_nb(row.patient.national_id.birth_date()))
                    @if let Some(w) = row.window { " · Tidsvindu " (time_nb(w.start)) "–" (time_nb(w.end)) }
                    @if let Some(g) = &row.group { " · " (g) }
                }
                @if !row.patient.has_photo || row.first_dose {
                    p.identity-check data-testid="identity-check" {
                        @if !row.patient.has_photo { span.badge.bad { "Mangler bilde – sjekk legitimasjon" } " " }
                        @if row.first_dose { span.badge.warn { "Første dose – sjekk legitimasjon" } }
                    }
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
                    p data-testid="blocked-after-stay" { span.blocked { "Redusert toleranse etter opphold" } " " (days_nb(row.missed.consecutive_days)) " uten vanlig dose. Lege må revurdere dosen. Ikke gi dose." }
                } @else if row.is_blocked() {
                    p data-testid="blocked" { span.blocked { "Må revurderes av lege" } " " (days_nb(row.missed.consecutive_days)) " uten dose. Ikke gi dose." }
                } @else if row.missed.alert {
                    p { span.badge.warn { "Uteblitt " (days_nb(row.missed.consecutive_days)) } }
                }
                ul.doses {
                    @for (due, recorded) in &row.due {
                        (dose_line(list, due, recorded.as_ref(), held.contains(&due)))
                    }
                }
                @if let Some(hold) = row.hold.filter(|_| !held.is_empty()) {
                    p.warning data-testid="take-home-held" {
                        "Dagens dose ble "
                        @if hold.cause == OutcomeKind::Reduced { "redusert" } @else { "holdt tilbake" }
                        " kl. " (time_nb(oslo_datetime(hold.at).time()))
                        ". Ta-med-dosene holdes derfor også tilbake."
                    }
                }
                @for correction in &row.corrections {
                    p.hint data-testid="correction" {
                        span.badge.warn { "Korrigert" } " kl. " (time_nb(oslo_datetime(correction.event.recorded_at).time()))
                        " av " (name(correction.event.recorded_by)) ": «" (correction.event.reason.clone().unwrap_or_default()) "»"
                    }
                }
                @if let Some(m) = message {
                    div.notice[m.ok].error[!m.ok] role=(if m.ok { "status" } else { "alert" }) id={ "melding-" (id) } data-testid="row-message" { (m.text) }
                }
            }
            div.actions {
                @if done && held.is_empty() {
                    span.badge.ok data-testid="row-done" { "Ferdig for i dag" }
                } @else if !is_today {
                    @if !done { span.hint { "Kan bare registreres på dagen." } }
                } @else {
                    @if own_dose_pending || (held.is_empty() && !pending.is_empty()) {
                        form method="post" action="/utlevering" {
                            (csrf(&staff.csrf))
                            input type="hidden" name="patient_id" value=(id);
                            input type="hidden" name="idempotency_key" value=(random_token());
                            input type="hidden" name="outcome" value=(OutcomeKind::Given.code());
                            label.checkbox { input type="checkbox" name="identity_confirmed" value="yes" required data-testid="identity"; "Identitet bekreftet" }
                            button.ok type="submit" disabled[row.is_blocked()] data-testid="dispense" {
                                @if pending.iter().all(|d| d.mode == IntakeMode::Injection) { "Registrer satt" } @else { "Utlever" }
                            }
                        }
                        details open[typed.is_some_and(|t| asked(t) != Some(OutcomeKind::Given) && t.get("scope") != "take_home")] {
                            summary { "Holdt tilbake / redusert" }
                            form method="post" action="/utlevering" {
                                (csrf(&staff.csrf))
                                input type="hidden" name="patient_id" value=(id);
                                input type="hidden" name="idempotency_key" value=(random_token());
                                label.checkbox { input type="checkbox" name="identity_confirmed" value="yes" required; "Identitet bekreftet" }
                                label for={ "outcome-" (id) } { "Vurdering" }
                                select id={ "outcome-" (id) } name="outcome" {
                                    option value=(OutcomeKind::Withheld.code()) { "Holdt tilbake" }
                                    @if supervised_today.is_some() && !row.is_blocked() {
                                        option value=(OutcomeKind::Reduced.code()) selected[typed.is_some_and(|t| asked(t) == Some(OutcomeKind::Reduced))] { "Redusert dose" }
                                    }
                                }
                                @if let Some(d) = supervised_today {
                                    input type="hidden" name="dose" value=(dose_ref(d.scheduled.key));
                                    label for={ "reduced-" (id) } { "Redusert dose i mg" }
                                    input type="text" inputmode="decimal" id={ "reduced-" (id) } name="reduced_mg"
                                        value=(typed.map(|t| t.get("reduced_mg")).unwrap_or_default());
                                }
                                label for={ "reason-" (id) } { "Begrunnelse (forsvarlighetsvurdering)" }
                                textarea id={ "reason-" (id) } name="reason" rows="2" required {
                                    (typed.filter(|t| t.get("scope") != "take_home").map(|t| t.get("reason")).unwrap_or_default())
                                }
                                p.hint { "Ta-med-dosene for dagen holdes også tilbake." }
                                button.danger type="submit" { "Registrer" }
                            }
                        }
                    }
                    @if !held.is_empty() {
                        (held_actions(row, &held, staff, typed))
                    }
                }
                @if is_today {
                    @for (event, doses) in events_of(row) {
                        (correction_form(event, &doses, staff, &list.names))
                    }
                }
            }
        }
    }
}

/// The outcome a posted form asked for.
fn asked(form: &FormData) -> Option<OutcomeKind> {
    OutcomeKind::from_code(form.get("outcome"))
}

fn dose_ref(key: DoseKey) -> String {
    format!("{}:{}", key.date, key.part)
}

/// The take-home doses held with today's dose: withhold them too, or hand them
/// over deliberately with a written reason (the prescriber is told).
fn held_actions(row: &ListRow, held: &[&DueDose], staff: &UiStaff, typed: Option<&FormData>) -> Markup {
    let id = row.patient.id;
    let typed = typed.filter(|t| t.get("scope") == "take_home");
    html! {
        form method="post" action="/utlevering" data-testid="withhold-take-home" {
            (csrf(&staff.csrf))
            input type="hidden" name="patient_id" value=(id);
            input type="hidden" name="idempotency_key" value=(random_token());
            input type="hidden" name="outcome" value=(OutcomeKind::Withheld.code());
            input type="hidden" name="scope" value="take_home";
            input type="hidden" name="identity_confirmed" value="yes";
            input type="hidden" name="reason" value="Holdt tilbake sammen med dagens dose.";
            @for d in held { input type="hidden" name="dose" value=(dose_ref(d.scheduled.key)); }
            button.danger type="submit" { "Registrer ta-med-dosene som holdt tilbake" }
        }
        details open[typed.is_some_and(|t| asked(t) == Some(OutcomeKind::Given))] {
            summary { "Utlever ta-med-dosene likevel" }
            form method="post" action="/utlevering" data-testid="override-take-home" {
                (csrf(&staff.csrf))
                input type="hidden" name="patient_id" value=(id);
                input type="hidden" name="idempotency_key" value=(random_token());
                input type="hidden" name="outcome" value=(OutcomeKind::Given.code());
                input type="hidden" name="scope" value="take_home";
                @for d in held { input type="hidden" name="dose" value=(dose_ref(d.scheduled.key)); }
                label.checkbox { input type="checkbox" name="identity_confirmed" value="yes" required; "Identitet bekreftet" }
                label for={ "override-" (id) } { "Begrunnelse for å utlevere likevel (lege får beskjed)" }
                textarea id={ "override-" (id) } name="override_reason" rows="2" required {
                    (typed.map(|t| t.get("override_reason")).unwrap_or_default())
                }
                button.secondary type="submit" { "Utlever likevel" }
            }
        }
    }
}

/// Correcting one recording of the day made by mistake.
fn correction_form(
    event: DispensingId,
    doses: &[&DispensedDose],
    staff: &UiStaff,
    names: &std::collections::HashMap<samhand_domain::ids::UserId, String>,
) -> Markup {
    let first = doses[0];
    let at = time_nb(oslo_datetime(first.recorded_at).time());
    let single = doses.len() == 1;
    html! {
        details.correction data-testid="correct" {
            summary { "Korriger registreringen kl. " (at) }
            form method="post" action="/utlevering/korriger" {
                (csrf(&staff.csrf))
                input type="hidden" name="event_id" value=(event);
                input type="hidden" name="idempotency_key" value=(random_token());
                p.hint {
                    (first.outcome.label_nb(first.mode)) " kl. " (at) " av "
                    (names.get(&first.recorded_by).cloned().unwrap_or_default())
                    ". Registreringen slettes ikke; korreksjonen vises ved siden av."
                }
                fieldset {
                    legend { "Hva var feil?" }
                    label.checkbox { input type="radio" name="kind" value="not_given" required checked; "Registrert ved feil – dosen er ikke gitt (feil pasient, eller ikke tatt)" }
                    @if single {
                        label.checkbox { input type="radio" name="kind" value="wrong_amount"; "Feil mengde" }
                        label for={ "actual-" (event) } { "Mengde som faktisk ble gitt, i mg (ved feil mengde)" }
                        input type="text" inputmode="decimal" id={ "actual-" (event) } name="actual_mg";
                    }
                }
                label for={ "correction-reason-" (event) } { "Begrunnelse" }
                textarea id={ "correction-reason-" (event) } name="reason" rows="2" required minlength="5" {}
                button.danger type="submit" { "Korriger" }
            }
        }
    }
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
    let missing: Vec<&ListRow> = list.missing().collect();
    let late_now = oslo_datetime(list.now).time();
    let mut shown: Vec<&ListRow> = list.rows.iter().filter(|r| filters.keeps(r)).collect();
    if filters.by_name {
        shown.sort_by(|a, b| {
            (&a.patient.family_name, &a.patient.given_name)
                .cmp(&(&b.patient.family_name, &b.patient.given_name))
        });
    }
    let tomorrow = list.date.tomorrow().unwrap_or(list.date);
    html! {
        h1 { "Utlevering " (weekday_nb(list.date)) " " (date_nb(list.date)) " – " (list.place.name) }
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

#[derive(serde::Deserialize, Default)]
pub struct PrintQuery {
    #[serde(default)]
    dato: String,
}

/// The printable list (A4): the fallback when the network is down. Each patient
/// with birth date, dose, take-home days and columns to sign.
pub async fn print(
    State(state): State<AppState>,
    staff: UiStaff,
    Query(query): Query<PrintQuery>,
) -> Result<Response, PageError> {
    let date = list_date(&query.dato)?;
    let list = Service::new(&state, &staff.user).todays_list(date).await?;
    let printed = oslo_datetime(list.now);
    let body = html! {
        (DOCTYPE)
        html lang="nb" {
            head {
                meta charset="utf-8";
                meta name="viewport" content="width=device-width, initial-scale=1";
                title { "Utleveringsliste " (date_nb(list.date)) " – Samhand" }
                link rel="stylesheet" href="/static/style.css";
            }
            body.printout {
                main {
                    p.no-print { a href={ "/utlevering?dato=" (list.date) } { "Tilbake til lista" } " · Skriv ut med nettleserens utskrift (A4)." }
                    h1 { "Utleveringsliste " (weekday_nb(list.date)) " " (date_nb(list.date)) }
                    p {
                        (list.place.name) " · " (list.rows.len()) " pasienter · skrevet ut "
                        (date_nb(printed.date())) " kl. " (time_nb(printed.time())) " av " (staff.user.display_name)
                    }
                    @if let Some(holiday) = list.holiday { p { strong { "Helligdag: " (holiday) } } }
                    @if let Some(closed) = &list.closed { p { strong { (closed) } } }
                    p.hint { "Reserveliste ved nettverksbrudd. Det som gis på papir, registreres i Samhand når nettet er tilbake." }
                    table.print-list data-testid="print-list" {
                        thead {
                            tr {
                                th scope="col" { "Pasient" }
                                th scope="col" { "Født" }
                                th scope="col" { "Dose" }
                                th scope="col" { "Ta med for" }
                                th scope="col" { "Tid" }
                                th scope="col" { "Merknad" }
                                th scope="col" { "Gitt (mg)" }
                                th scope="col" { "Signatur" }
                            }
                        }
                        tbody {
                            @for row in &list.rows {
                                (print_row(row))
                            }
                        }
                    }
                }
            }
        }
    };
    Ok(body.into_response())
}

fn print_row(row: &ListRow) -> Markup {
    let own: Vec<&DueDose> = row
        .due
        .iter()
        .map(|(d, _)| d)
        .filter(|d| d.mode != IntakeMode::TakeHome)
        .collect();
    let take_home: Vec<&DueDose> = row
        .due
        .iter()
        .map(|(d, _)| d)
        .filter(|d| d.mode == IntakeMode::TakeHome)
        .collect();
    html! {
        tr {
            td { (row.patient.full_name()) }
            td { (date_nb(row.patient.national_id.birth_date())) }
            td {
                @for (i, d) in own.iter().enumerate() {
                    @if i > 0 { br; }
                    (d.scheduled.dose) " " (d.scheduled.substance.name())
                }
            }
            td {
                @for (i, d) in take_home.iter().enumerate() {
                    @if i > 0 { ", " }
                    (weekday_nb(d.scheduled.key.date)) " " (d.scheduled.dose)
                }
            }
            td { @if let Some(w) = row.window { (time_nb(w.start)) "–" (time_nb(w.end)) } }
            td {
                @if row.is_blocked() { strong { "Sperret – ikke gi dose" } br; }
                @if row.done() { "Registrert" br; }
                @if !row.patient.has_photo { "Mangler bilde" br; }
                @if row.first_dose { "Første dose" br; }
                @if let Some(notes) = &row.health {
                    @for note in notes { (note.kind.label_nb()) br; }
                }
            }
            td.sign {}
            td.sign {}
        }
    }
}

/// The list's small script: instant search and keyboard use (see list.js).
pub const LIST_SCRIPT: &str = include_str!("list.js");
