//! Overdose prevention pages: the crisis plan with its history, naloxone hand-outs
//! and overdose events on one page, and the section the patient overview shows
//! (the risk window after LAR ended, the way back in, plan, kits and overdoses).

use axum::extract::{Path, State};
use axum::response::{IntoResponse, Redirect, Response};
use maud::{Markup, html};
use samhand_domain::format::date_nb;
use samhand_domain::ids::PatientId;
use samhand_domain::overdose::{CrisisPlanInput, NaloxoneInput, OverdoseInput, OverdoseOutcome};
use samhand_domain::validation::FieldErrors;

use crate::AppState;
use crate::auth::UiStaff;
use crate::error::{AppError, PageError};
use crate::pages::forms::{
    FormData, StaffForm, csrf, error_summary, form_status, group_error, input, parse_id, select, textarea,
};
use crate::pages::labels::{instant_nb, yes_no, yes_no_options};
use crate::pages::layout::page;
use crate::service::{NaloxoneView, OverdoseSummary, OverdosesView, Service};

type PageResult = Result<Response, PageError>;

/// Rows for people to call on the crisis plan form.
const CONTACT_ROWS: usize = 4;

/// A yes/no answer from a form: "ja", "nei" or nothing.
fn answer(form: &FormData, name: &str) -> Option<bool> {
    match form.get(name) {
        "ja" => Some(true),
        "nei" => Some(false),
        _ => None,
    }
}

/// The overview's section about overdose risk.
pub fn overview_section(
    patient: PatientId,
    summary: &OverdoseSummary,
    may_enrol: bool,
    plan: bool,
) -> Markup {
    html! {
        section.card aria-labelledby="overdose" data-testid="overdose" {
            h2 #overdose { "Overdoseforebygging" }
            @if let Some((ended_on, risk)) = summary.ended {
                @if let Some(label) = risk.label_nb(ended_on) {
                    div.error role="alert" { strong { (label) } }
                }
                p { "LAR ble avsluttet " (date_nb(ended_on)) "."
                    @if may_enrol {
                        " Pasienten kan raskt komme tilbake i behandling: "
                        a href={ "/pasienter/ny?pasient=" (patient) } { "skriv inn pasienten på nytt" } "."
                    }
                }
            }
            @match &summary.crisis_plan {
                Some(Some(plan)) => p { "Kriseplan: versjon " (plan.version) ", lagret " (instant_nb(plan.recorded_at)) "." },
                Some(None) => p { span.badge.warn { "Ingen kriseplan" } },
                None => {},
            }
            @if let Some(kits) = &summary.naloxone {
                @if let Some(last) = kits.first() {
                    p { "Nalokson nesespray sist utdelt " (date_nb(last.handed_out_on)) " (" (last.kits) " sett, opplæring: " (yes_no(last.training_given)) ")." }
                } @else {
                    p { span.badge.warn { "Nalokson ikke utdelt" } }
                }
            }
            @if let Some(events) = &summary.overdoses {
                @if !events.is_empty() {
                    p { strong { (samhand_domain::format::count_nb(events.len(), "registrert overdose", "registrerte overdoser")) } ", sist " (date_nb(events[0].occurred_on))
                        @if events[0].outcome == OverdoseOutcome::Fatal { " " span.badge.bad { "Dødelig" } } "." }
                }
            }
            @let links: Vec<(&str, &str)> = [
                (summary.crisis_plan.is_some(), "kriseplan", "Kriseplan"),
                (summary.naloxone.is_some() && summary.overdoses.is_some(), "overdose", "Nalokson og overdoser"),
                (plan, "opphold", "Opphold og utskrivning"),
            ]
            .into_iter()
            .filter(|(shown, _, _)| *shown)
            .map(|(_, path, label)| (path, label))
            .collect();
            @if !links.is_empty() {
                p {
                    @for (i, (path, label)) in links.iter().enumerate() {
                        @if i > 0 { " · " }
                        a href={ "/pasienter/" (patient) "/" (path) } { (label) }
                    }
                }
            }
        }
    }
}

// ------------------------------------------------------------------ crisis plan

async fn crisis_plan_page(
    state: &AppState,
    staff: &UiStaff,
    id: PatientId,
    form: Option<&FormData>,
    errors: &FieldErrors,
) -> PageResult {
    let view = Service::new(state, &staff.user).crisis_plan(id).await?;
    let may_write = Service::new(state, &staff.user).offers(id).await?.write_plan;
    let name = |user| {
        view.names
            .get(&user)
            .cloned()
            .unwrap_or_else(|| "pasienten".into())
    };
    let (warning, helps, contacts): (String, String, Vec<(String, String)>) = match (form, &view.current) {
        (Some(form), _) => (
            form.get("warning_signs").into(),
            form.get("what_helps").into(),
            form.all("contact_name")
                .into_iter()
                .zip(form.all("contact_phone"))
                .collect(),
        ),
        (None, Some(plan)) => (
            plan.warning_signs.clone(),
            plan.what_helps.clone(),
            plan.contacts
                .iter()
                .map(|c| (c.name.clone(), c.phone.clone()))
                .collect(),
        ),
        (None, None) => Default::default(),
    };
    let rows = contacts.len().max(CONTACT_ROWS);
    let body = html! {
        h1 { "Kriseplan for " (view.patient.full_name()) }
        p { a href={ "/pasienter/" (id) } { "Tilbake til oversikten" } }
        p.hint { "Kriseplanen skrives sammen med pasienten, som også kan endre den selv. Hver lagring blir en ny versjon." }
        @if may_write {
        h2 { "Lagre ny versjon" }
        (error_summary(errors))
        form.stack method="post" action={ "/pasienter/" (id) "/kriseplan" } {
            (csrf(&staff.csrf))
            (textarea("Varseltegn pasienten kjenner igjen", "warning_signs", &warning, errors))
            (textarea("Hva som hjelper", "what_helps", &helps, errors))
            fieldset {
                legend { "Hvem som skal ringes" }
                (group_error(errors, "contacts"))
                (group_error(errors, "contact_name"))
                (group_error(errors, "contact_phone"))
                @for i in 0..rows {
                    @let (n, p) = contacts.get(i).cloned().unwrap_or_default();
                    div.row {
                        label { "Navn " input type="text" name="contact_name" value=(n); }
                        label { "Telefon " input type="tel" name="contact_phone" value=(p); }
                    }
                }
            }
            button type="submit" { "Lagre kriseplan" }
        }
        }
        h2 { "Historikk" }
        @if view.history.is_empty() {
            p { "Ingen kriseplan er lagret ennå." }
        } @else {
            @for plan in &view.history {
                section.card {
                    h3 { "Versjon " (plan.version) }
                    p.hint { "Lagret " (instant_nb(plan.recorded_at)) " av " (name(plan.recorded_by))
                        @if plan.by_patient { " (pasienten selv)" } }
                    p { strong { "Varseltegn: " } (plan.warning_signs) }
                    p { strong { "Hva som hjelper: " } (plan.what_helps) }
                    ul { @for c in &plan.contacts { li { (c.name) ": " (c.phone) } } }
                }
            }
        }
    };
    Ok((form_status(errors), page("Kriseplan", staff, body)).into_response())
}

pub async fn crisis_plan(
    State(state): State<AppState>,
    staff: UiStaff,
    Path(id): Path<String>,
) -> PageResult {
    let id = parse_id(&id)?;
    crisis_plan_page(&state, &staff, id, None, &FieldErrors::default()).await
}

pub async fn save_crisis_plan(
    State(state): State<AppState>,
    Path(id): Path<String>,
    StaffForm { staff, form }: StaffForm,
) -> PageResult {
    let id = parse_id(&id)?;
    let input = CrisisPlanInput {
        warning_signs: form.get("warning_signs").into(),
        what_helps: form.get("what_helps").into(),
        contacts: form
            .all("contact_name")
            .into_iter()
            .zip(form.all("contact_phone"))
            .collect(),
    };
    match Service::new(&state, &staff.user)
        .save_crisis_plan(id, &input)
        .await
    {
        Ok(_) => Ok(Redirect::to(&format!("/pasienter/{id}/kriseplan")).into_response()),
        Err(AppError::Invalid(errors)) => crisis_plan_page(&state, &staff, id, Some(&form), &errors).await,
        Err(other) => Err(other.into()),
    }
}

// ------------------------------------------------------- naloxone and overdoses

/// What the actor may see; a refusal to read leaves the forms usable.
fn readable<T>(result: Result<T, AppError>) -> Result<Option<T>, AppError> {
    match result {
        Ok(value) => Ok(Some(value)),
        Err(AppError::Forbidden(_)) => Ok(None),
        Err(other) => Err(other),
    }
}

/// What the form holds, or `default` on a fresh form.
fn value_or(form: &FormData, name: &str, default: &str) -> String {
    if form.0.is_empty() {
        default.to_string()
    } else {
        form.get(name).to_string()
    }
}

/// The form to register an overdose.
fn overdose_form(
    staff: &UiStaff,
    id: PatientId,
    form: &FormData,
    errors: &FieldErrors,
    today: &str,
) -> Markup {
    let outcomes: Vec<(String, String)> = [OverdoseOutcome::NonFatal, OverdoseOutcome::Fatal]
        .iter()
        .map(|o| (o.code().to_string(), o.label_nb().to_string()))
        .collect();
    html! {
        section.card {
            h2 { "Registrer overdose" }
            p.hint { "LAR-enheten, ansvarsgruppen og utleveringsstedet varsles straks, og LAR-konsulenten får en oppfølgingsoppgave." }
            form.stack method="post" action={ "/pasienter/" (id) "/overdose" } {
                (csrf(&staff.csrf))
                (input("Dato", "occurred_on", "date", &value_or(form, "occurred_on", today), errors, None))
                (select("Utfall", "outcome", &outcomes, form.get("outcome"), errors))
                (input("Hvor det skjedde", "place_description", "text", form.get("place_description"), errors, None))
                (input("Rusmidler", "substances", "text", form.get("substances"), errors, Some("Skriv «ukjent» om det ikke er kjent.")))
                (select("Ble det gitt nalokson?", "naloxone_used", &yes_no_options(), form.get("naloxone_used"), errors))
                (input("Meldt av", "reported_by", "text", form.get("reported_by"), errors, None))
                button type="submit" { "Registrer overdose" }
            }
        }
    }
}

/// The form to record a naloxone hand-out.
fn naloxone_form(
    staff: &UiStaff,
    id: PatientId,
    form: &FormData,
    errors: &FieldErrors,
    today: &str,
) -> Markup {
    html! {
        section.card {
            h2 { "Nalokson nesespray utdelt" }
            form.stack method="post" action={ "/pasienter/" (id) "/nalokson" } {
                (csrf(&staff.csrf))
                (input("Dato", "handed_out_on", "date", &value_or(form, "handed_out_on", today), errors, None))
                (input("Antall sett", "kits", "number", &value_or(form, "kits", "1"), errors, None))
                (select("Opplæring i kameratredning gitt?", "training_given", &yes_no_options(), form.get("training_given"), errors))
                (textarea("Merknad", "note", form.get("note"), errors))
                button type="submit" { "Registrer utdeling" }
            }
        }
    }
}

/// The patient's overdoses.
fn overdoses_section(view: &OverdosesView) -> Markup {
    html! {
        h2 { "Overdoser" }
        @if view.events.is_empty() {
            p { "Ingen registrerte overdoser." }
        } @else {
            table {
                thead { tr { th { "Dato" } th { "Utfall" } th { "Sted" } th { "Rusmidler" } th { "Nalokson" } th { "Meldt av" } th { "Registrert" } } }
                tbody {
                    @for e in &view.events {
                        tr {
                            td { (date_nb(e.occurred_on)) }
                            td { @if e.outcome == OverdoseOutcome::Fatal { span.badge.bad { "Dødelig" } } @else { "Ikke dødelig" } }
                            td { (e.place_description) }
                            td { (e.substances) }
                            td { (yes_no(e.naloxone_used)) }
                            td { (e.reported_by) }
                            td { (instant_nb(e.recorded_at)) " " (view.names.get(&e.recorded_by).cloned().unwrap_or_default()) }
                        }
                    }
                }
            }
        }
    }
}

/// The naloxone kits handed out to the patient.
fn naloxone_section(view: &NaloxoneView) -> Markup {
    html! {
        h2 { "Utdelt nalokson" }
        @if view.kits.is_empty() {
            p { "Ikke utdelt." }
        } @else {
            table {
                thead { tr { th { "Dato" } th { "Sted" } th { "Sett" } th { "Opplæring" } th { "Utdelt av" } th { "Merknad" } } }
                tbody {
                    @for k in &view.kits {
                        tr {
                            td { (date_nb(k.handed_out_on)) }
                            td { (view.organisations.get(&k.place_id).map(|o| o.name.clone()).unwrap_or_default()) }
                            td { (k.kits) }
                            td { (yes_no(k.training_given)) }
                            td { (view.names.get(&k.handed_out_by).cloned().unwrap_or_default()) }
                            td { (k.note) }
                        }
                    }
                }
            }
        }
    }
}

async fn overdose_page(
    state: &AppState,
    staff: &UiStaff,
    id: PatientId,
    form: &FormData,
    errors: &FieldErrors,
) -> PageResult {
    let service = Service::new(state, &staff.user);
    let kits = readable(service.naloxone(id).await)?;
    let events = readable(service.overdoses(id).await)?;
    let offers = service.offers(id).await?;
    let today = state.clock.today().to_string();
    let body = html! {
        h1 { "Nalokson og overdoser" }
        p { a href={ "/pasienter/" (id) } { "Tilbake til oversikten" } }
        (error_summary(errors))
        div.cards {
            @if offers.record_health { (overdose_form(staff, id, form, errors, &today)) }
            @if offers.record_dispensing { (naloxone_form(staff, id, form, errors, &today)) }
        }
        @if let Some(view) = &events { (overdoses_section(view)) }
        @if let Some(view) = &kits { (naloxone_section(view)) }
    };
    Ok((form_status(errors), page("Nalokson og overdoser", staff, body)).into_response())
}

pub async fn show(State(state): State<AppState>, staff: UiStaff, Path(id): Path<String>) -> PageResult {
    let id = parse_id(&id)?;
    overdose_page(&state, &staff, id, &FormData::default(), &FieldErrors::default()).await
}

pub async fn register_overdose(
    State(state): State<AppState>,
    Path(id): Path<String>,
    StaffForm { staff, form }: StaffForm,
) -> PageResult {
    let id = parse_id(&id)?;
    let input = OverdoseInput {
        occurred_on: form.get("occurred_on").into(),
        outcome: form.get("outcome").into(),
        place_description: form.get("place_description").into(),
        substances: form.get("substances").into(),
        naloxone_used: answer(&form, "naloxone_used"),
        reported_by: form.get("reported_by").into(),
    };
    match Service::new(&state, &staff.user)
        .register_overdose(id, &input)
        .await
    {
        Ok(_) => Ok(Redirect::to(&format!("/pasienter/{id}/overdose")).into_response()),
        Err(AppError::Invalid(errors)) => overdose_page(&state, &staff, id, &form, &errors).await,
        Err(other) => Err(other.into()),
    }
}

pub async fn record_naloxone(
    State(state): State<AppState>,
    Path(id): Path<String>,
    StaffForm { staff, form }: StaffForm,
) -> PageResult {
    let id = parse_id(&id)?;
    let input = NaloxoneInput {
        handed_out_on: form.get("handed_out_on").into(),
        kits: form.get("kits").into(),
        training_given: answer(&form, "training_given"),
        note: form.get("note").into(),
    };
    match Service::new(&state, &staff.user)
        .record_naloxone(id, &input)
        .await
    {
        Ok(_) => Ok(Redirect::to(&format!("/pasienter/{id}/overdose")).into_response()),
        Err(AppError::Invalid(errors)) => overdose_page(&state, &staff, id, &form, &errors).await,
        Err(other) => Err(other.into()),
    }
}
