//! The drug-test regime (`/pasienter/{id}/proveregime`): the regime in force, the
//! samples expected against delivered week by week, every version, and for the
//! doctor the form for a new version and the end. The summary on the overview's
//! drug-test section, and the unit's list of samples not delivered.

use axum::extract::{Path, State};
use axum::response::{IntoResponse, Redirect};
use maud::{Markup, html};
use samhand_domain::drug_test_regime::{Frequency, RegimeInput, RegimeReason, TestedSubstance};
use samhand_domain::format::date_nb;
use samhand_domain::ids::PatientId;
use samhand_domain::validation::FieldErrors;

use crate::AppState;
use crate::auth::UiStaff;
use crate::error::AppError;
use crate::pages::PageResult;
use crate::pages::forms::{
    FormData, StaffForm, csrf, error_summary, form_status, input, parse_id, select, textarea,
};
use crate::pages::labels::instant_nb;
use crate::pages::layout::page;
use crate::service::{RegimeFollowUp, RegimeView, Service};

fn samples_nb(n: u32) -> String {
    if n == 1 {
        "1 prøve".into()
    } else {
        format!("{n} prøver")
    }
}

/// The regime's summary for the overview's drug-test section.
pub fn summary(view: &RegimeView) -> Markup {
    let link = format!("/pasienter/{}/proveregime", view.patient.id);
    html! {
        h3 { "Prøveregime" }
        @match view.running() {
            Some(r) => {
                p {
                    (r.frequency.label_nb()) ", " (if r.supervised { "overvåket" } else { "ikke overvåket" })
                    ", " (r.where_given) ". Testes for: "
                    (r.substances.iter().map(|s| s.label_nb()).collect::<Vec<_>>().join(", ")) ". "
                    "Begrunnelse: " (r.reason.label_nb()) ". Revurderes " (date_nb(r.review_on)) "."
                    @if view.review_overdue { " " span.badge.warn { "Revurdering forfalt" } }
                }
                p {
                    (view.tally.delivered) " av " (view.tally.expected) " forventede prøver levert. "
                    @if view.tally.missing > 0 { span.badge.bad { (samples_nb(view.tally.missing)) " ikke levert" } }
                }
            }
            None => p { "Ingen prøveregime løper. Rusmiddeltester tas bare når lege har bestemt det for pasienten." },
        }
        p { a href=(link) { "Prøveregime og leverte prøver" } }
    }
}

fn options<T: Copy>(
    all: &[T],
    code: fn(T) -> &'static str,
    label: fn(T) -> &'static str,
) -> Vec<(String, String)> {
    all.iter()
        .map(|v| (code(*v).to_string(), label(*v).to_string()))
        .collect()
}

fn decide_form(
    staff: &UiStaff,
    view: &RegimeView,
    form: &FormData,
    errors: &FieldErrors,
    today: &str,
) -> Markup {
    let id = view.patient.id;
    let fresh = form.0.is_empty();
    let running = view.running();
    let value = |name: &str, current: Option<String>| -> String {
        if fresh {
            current.unwrap_or_default()
        } else {
            form.get(name).to_string()
        }
    };
    let chosen: Vec<String> = if fresh {
        running
            .map(|r| r.substances.iter().map(|s| s.code().to_string()).collect())
            .unwrap_or_default()
    } else {
        form.all("substances")
    };
    let supervised = if fresh {
        running.is_none_or(|r| r.supervised)
    } else {
        form.has("supervised")
    };
    html! {
        section.card {
            h2 { @if running.is_some() { "Endre prøveregimet" } @else { "Bestem prøveregime" } }
            p.hint { "Bare det som er nødvendig, med begrunnelse og dato for revurdering (høyst ett år fram)." }
            (error_summary(errors))
            form.stack method="post" action={ "/pasienter/" (id) "/proveregime" } {
                (csrf(&staff.csrf))
                (input("Gjelder fra", "valid_from", "date", &value("valid_from", Some(today.to_string())), errors, None))
                (select("Begrunnelse", "reason", &options(&RegimeReason::ALL, RegimeReason::code, RegimeReason::label_nb), &value("reason", running.map(|r| r.reason.code().to_string())), errors))
                (textarea("Merknad", "note", &value("note", running.map(|r| r.note.clone())), errors))
                fieldset id="substances" {
                    legend { "Stoffer det testes for" }
                    @for s in TestedSubstance::ALL {
                        label.checkbox {
                            input type="checkbox" name="substances" value=(s.code()) checked[chosen.iter().any(|c| c == s.code())];
                            (s.label_nb())
                        }
                    }
                    @if let Some(message) = errors.for_field("substances") { div.field-error { (message) } }
                }
                (select("Hvor ofte", "frequency", &options(&Frequency::ALL, Frequency::code, Frequency::label_nb), &value("frequency", running.map(|r| r.frequency.code().to_string())), errors))
                label.checkbox { input type="checkbox" name="supervised" value="1" checked[supervised]; "Overvåket prøvetaking" }
                (input("Hvor prøvene tas", "where_given", "text", &value("where_given", running.map(|r| r.where_given.clone())), errors, Some("F.eks. LAR-senteret, apoteket eller legevakten")))
                (input("Revurderes", "review_on", "date", &value("review_on", running.map(|r| r.review_on.to_string())), errors, None))
                button type="submit" { "Lagre prøveregimet" }
            }
            @if running.is_some() {
                form.stack method="post" action={ "/pasienter/" (id) "/proveregime/avslutt" } {
                    (csrf(&staff.csrf))
                    (textarea("Hvorfor prøvetakingen avsluttes", "end_note", "", &FieldErrors::default()))
                    button type="submit" { "Avslutt prøveregimet" }
                }
            }
        }
    }
}

fn windows_section(view: &RegimeView) -> Markup {
    html! {
        h2 { "Forventede og leverte prøver" }
        @if view.windows.is_empty() {
            p { "Ingen prøver er forventet." }
        } @else {
            table data-testid="sample-windows" {
                caption { (view.tally.delivered) " av " (view.tally.expected) " levert" }
                thead { tr { th scope="col" { "Periode" } th scope="col" { "Forventet" } th scope="col" { "Levert" } th scope="col" { "Status" } } }
                tbody {
                    @for w in &view.windows {
                        tr {
                            th scope="row" { (date_nb(w.from)) "–" (date_nb(w.to)) }
                            td { (w.expected) }
                            td { (w.delivered) }
                            td {
                                @if w.missing() > 0 { span.badge.bad { (samples_nb(w.missing())) " ikke levert" } }
                                @else if !w.closed && w.delivered < w.expected { "Pågår" }
                                @else { "Levert" }
                            }
                        }
                    }
                }
            }
        }
    }
}

fn versions_section(view: &RegimeView) -> Markup {
    html! {
        h2 { "Alle versjoner" }
        @if view.versions.is_empty() {
            p { "Ingen prøveregime er bestemt." }
        } @else {
            table {
                thead { tr { th scope="col" { "Versjon" } th scope="col" { "Fra" } th scope="col" { "Regime" } th scope="col" { "Bestemt" } } }
                tbody {
                    @for r in &view.versions {
                        tr {
                            td { (r.version) }
                            td { (date_nb(r.valid_from)) }
                            td {
                                @if r.ended { "Avsluttet: " (r.note) }
                                @else { (r.frequency.label_nb()) ", " (r.reason.label_nb()) ", revurderes " (date_nb(r.review_on)) }
                            }
                            td { (instant_nb(r.recorded_at)) " av " (view.names.get(&r.recorded_by).cloned().unwrap_or_default()) }
                        }
                    }
                }
            }
        }
    }
}

async fn regime_page(
    state: &AppState,
    staff: &UiStaff,
    id: PatientId,
    form: &FormData,
    errors: &FieldErrors,
) -> PageResult {
    let view = Service::new(state, &staff.user).drug_test_regime(id).await?;
    let today = state.clock.today().to_string();
    let body = html! {
        h1 { "Prøveregime: " (view.patient.full_name()) }
        p { a href={ "/pasienter/" (id) } { "Tilbake til oversikten" } }
        section.card { (summary(&view)) }
        @if view.may_decide { (decide_form(staff, &view, form, errors, &today)) }
        (windows_section(&view))
        (versions_section(&view))
    };
    Ok((form_status(errors), page("Prøveregime", staff, body)).into_response())
}

pub async fn show(State(state): State<AppState>, staff: UiStaff, Path(id): Path<String>) -> PageResult {
    let id = parse_id(&id)?;
    regime_page(&state, &staff, id, &FormData::default(), &FieldErrors::default()).await
}

pub async fn decide(
    State(state): State<AppState>,
    Path(id): Path<String>,
    StaffForm { staff, form }: StaffForm,
) -> PageResult {
    let id = parse_id(&id)?;
    let input = RegimeInput {
        valid_from: form.get("valid_from").into(),
        reason: form.get("reason").into(),
        note: form.get("note").into(),
        substances: form.all("substances"),
        frequency: form.get("frequency").into(),
        supervised: form.has("supervised"),
        where_given: form.get("where_given").into(),
        review_on: form.get("review_on").into(),
    };
    match Service::new(&state, &staff.user)
        .decide_drug_test_regime(id, &input)
        .await
    {
        Ok(_) => Ok(Redirect::to(&format!("/pasienter/{id}/proveregime")).into_response()),
        Err(AppError::Invalid(errors)) => regime_page(&state, &staff, id, &form, &errors).await,
        Err(other) => Err(other.into()),
    }
}

pub async fn end(
    State(state): State<AppState>,
    Path(id): Path<String>,
    StaffForm { staff, form }: StaffForm,
) -> PageResult {
    let id = parse_id(&id)?;
    match Service::new(&state, &staff.user)
        .end_drug_test_regime(id, form.get("end_note"))
        .await
    {
        Ok(_) => Ok(Redirect::to(&format!("/pasienter/{id}/proveregime")).into_response()),
        Err(AppError::Invalid(errors)) => {
            regime_page(&state, &staff, id, &FormData::default(), &errors).await
        }
        Err(other) => Err(other.into()),
    }
}

/// The unit's list on the reviews page: samples not delivered in the last four
/// weeks, and regimes past their review.
pub fn follow_up_section(list: &[RegimeFollowUp]) -> Markup {
    html! {
        h2 { "Rusmiddeltester: manglende prøver og regimer som skal revurderes" }
        p.hint { "Pasienter med prøveregime der prøver ikke er levert de siste fire ukene (etter fristen), eller der revurderingsdatoen er passert." }
        @if list.is_empty() {
            p { "Ingen manglende prøver og ingen forfalte prøveregimer." }
        } @else {
            table data-testid="drug-test-follow-up" {
                thead { tr { th scope="col" { "Pasient" } th scope="col" { "Levert siste fire uker" } th scope="col" { "Revurderes" } } }
                tbody {
                    @for f in list {
                        tr {
                            th scope="row" { a href={ "/pasienter/" (f.patient.id) "/proveregime" } { (f.patient.full_name()) } }
                            td {
                                (f.recent.delivered) " av " (f.recent.expected)
                                @if f.recent.missing > 0 { " " span.badge.bad { (samples_nb(f.recent.missing)) " ikke levert" } }
                            }
                            td {
                                (date_nb(f.regime.review_on))
                                @if f.review_overdue { " " span.badge.warn { "Forfalt" } }
                            }
                        }
                    }
                }
            }
        }
    }
}
