//! One row of the day's list: the patient with the identity photo, health
//! information, the block and missed-dose state, the doses due and recorded, and
//! the forms at the window (dispense, withhold or reduce after the pre-dose
//! assessment, the take-home doses held with them, a correction of the day's
//! recordings).

use maud::{Markup, html};
use samhand_domain::dispensing::OutcomeKind;
use samhand_domain::format::{count_nb, date_nb, time_nb, weekday_nb};
use samhand_domain::ids::{DispensingId, UserId};
use samhand_domain::schedule::{DoseKey, DueDose, IntakeMode};
use samhand_domain::time::oslo_datetime;
use samhand_store::dispensing::DispensedDose;

use super::{RowMessage, search_text, slot_of};
use crate::auth::{UiStaff, random_token};
use crate::pages::forms::{FormData, csrf};
use crate::pages::labels::{mode_name, photo_tag};
use crate::service::{ListRow, TodayList};

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
        // The mode and whether it is recorded, for scripts (the browser tests) that
        // look for a kind of dose rather than for words.
        li data-mode=(due.mode.code()) data-recorded[recorded.is_some()] {
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

/// A patient's row: who they are and what is due on the left, the forms on the right.
pub(super) fn row_markup(
    list: &TodayList,
    row: &ListRow,
    staff: &UiStaff,
    message: Option<&RowMessage>,
    is_today: bool,
) -> Markup {
    let id = row.patient.id;
    let held: Vec<&DueDose> = row.held_take_home().collect();
    let status = if row.is_blocked() {
        "sperret"
    } else if row.done() {
        "ferdig"
    } else {
        "gjenstar"
    };
    let typed = message.and_then(|m| m.typed.as_ref());
    html! {
        article.row.done[row.done()] id={ "p-" (id) } data-testid="list-row" data-patient=(id)
            data-search=(search_text(row)) data-status=(status) data-slot=(slot_of(row)) {
            (photo_tag(&row.patient))
            div {
                (row_details(list, row, message, &held))
            }
            div.actions {
                (row_actions(list, row, staff, typed, is_today, &held))
            }
        }
    }
}

/// Who the patient is, what to check, and the doses of the day.
fn row_details(list: &TodayList, row: &ListRow, message: Option<&RowMessage>, held: &[&DueDose]) -> Markup {
    let id = row.patient.id;
    let name = |user| list.names.get(&user).cloned().unwrap_or_default();
    html! {
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
            p data-testid="blocked-after-stay" { span.blocked { "Redusert toleranse etter opphold" } " " (count_nb(row.missed.consecutive_days, "dag", "dager")) " uten vanlig dose. Lege må revurdere dosen. Ikke gi dose." }
        } @else if row.is_blocked() {
            p data-testid="blocked" { span.blocked { "Må revurderes av lege" } " " (count_nb(row.missed.consecutive_days, "dag", "dager")) " uten dose. Ikke gi dose." }
        } @else if row.missed.alert {
            p { span.badge.warn { "Uteblitt " (count_nb(row.missed.consecutive_days, "dag", "dager")) } }
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
}

/// The forms of a row: recording what is pending, the held take-home doses, and
/// the corrections of today's recordings.
fn row_actions(
    list: &TodayList,
    row: &ListRow,
    staff: &UiStaff,
    typed: Option<&FormData>,
    is_today: bool,
    held: &[&DueDose],
) -> Markup {
    let done = row.done();
    let pending: Vec<&DueDose> = row
        .due
        .iter()
        .filter(|(_, r)| r.is_none())
        .map(|(d, _)| d)
        .collect();
    let own_dose_pending = pending.iter().any(|d| d.mode != IntakeMode::TakeHome);
    html! {
        @if done && held.is_empty() {
            span.badge.ok data-testid="row-done" { "Ferdig for i dag" }
        } @else if !is_today {
            @if !done { span.hint { "Kan bare registreres på dagen." } }
        } @else {
            @if own_dose_pending || (held.is_empty() && !pending.is_empty()) {
                (record_forms(row, staff, typed, &pending, list.confirmation.is_some()))
            }
            @if !held.is_empty() {
                (held_actions(row, held, staff, typed, list.confirmation.is_some()))
            }
        }
        @if is_today && !list.at_edge {
            @for (event, doses) in events_of(row) {
                (correction_form(event, &doses, staff, &list.names))
            }
        }
    }
}

/// Dispensing what is due in one tap, or withholding or reducing it with the
/// pre-dose assessment's reason.
fn record_forms(
    row: &ListRow,
    staff: &UiStaff,
    typed: Option<&FormData>,
    pending: &[&DueDose],
    confirm: bool,
) -> Markup {
    let id = row.patient.id;
    let supervised_today = pending.iter().find(|d| d.mode == IntakeMode::Supervised);
    html! {
        form method="post" action="/utlevering" {
            (csrf(&staff.csrf))
            input type="hidden" name="patient_id" value=(id);
            input type="hidden" name="idempotency_key" value=(random_token());
            input type="hidden" name="outcome" value=(OutcomeKind::Given.code());
            label.checkbox { input type="checkbox" name="identity_confirmed" value="yes" required data-testid="identity"; "Identitet bekreftet" }
            @if confirm { (confirmer_fields("utlever", id)) }
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
                @if confirm { (confirmer_fields("vurdering", id)) }
                button.danger type="submit" { "Registrer" }
            }
        }
    }
}

/// A colleague's confirmation of the recording, at an edge long offline (H97).
fn confirmer_fields(form: &str, id: samhand_domain::ids::PatientId) -> Markup {
    html! {
        fieldset.confirmer data-testid="confirmer" {
            legend { "Bekreftet av kollega" }
            label for={ "confirmer-" (form) "-" (id) } { "Kollegaens brukernavn" }
            input type="text" id={ "confirmer-" (form) "-" (id) } name="confirmer_username" autocomplete="off" required;
            label for={ "confirmer-pw-" (form) "-" (id) } { "Kollegaens passord" }
            input type="password" id={ "confirmer-pw-" (form) "-" (id) } name="confirmer_password" autocomplete="off" required;
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
fn held_actions(
    row: &ListRow,
    held: &[&DueDose],
    staff: &UiStaff,
    typed: Option<&FormData>,
    confirm: bool,
) -> Markup {
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
            @if confirm { (confirmer_fields("hold", id)) }
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
                @if confirm { (confirmer_fields("likevel", id)) }
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
    names: &std::collections::HashMap<UserId, String>,
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
