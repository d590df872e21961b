//! One referral (`/venteliste/{id}`): what was referred, the assessment in force
//! and every version, the form to assess (or correct, with why), quick-start
//! offers and their form, and the printable decision letter to the patient
//! (`/venteliste/{id}/brev`) with the right to complain to Statsforvalteren.

use axum::extract::{Path, State};
use axum::response::{IntoResponse, Redirect};
use maud::{DOCTYPE, Markup, html};
use samhand_domain::access;
use samhand_domain::format::date_nb;
use samhand_domain::referral::assessment_deadline;
use samhand_domain::referral_assessment::{AssessmentInput, Decision, OfferAnswer, QuickStartInput};
use samhand_domain::validation::FieldErrors;

use crate::AppState;
use crate::auth::UiStaff;
use crate::error::{AppError, PageError};
use crate::pages::PageResult;
use crate::pages::forms::{FormData, StaffForm, csrf, error_summary, form_status, input, select, textarea};
use crate::pages::labels::instant_nb;
use crate::pages::layout::page;
use crate::service::{ReferralCase, Service};

/// The referral's key from the address: a UUID, or "not found".
fn key(id: &str) -> Result<String, PageError> {
    uuid::Uuid::parse_str(id)
        .map(|u| u.to_string())
        .map_err(|_| PageError(AppError::NotFound("henvisningen".into())))
}

fn decisions() -> Vec<(String, String)> {
    Decision::ALL
        .iter()
        .map(|d| (d.code().to_string(), d.label_nb().to_string()))
        .collect()
}

fn answers() -> Vec<(String, String)> {
    OfferAnswer::ALL
        .iter()
        .map(|a| (a.code().to_string(), a.label_nb().to_string()))
        .collect()
}

fn assessment_form(staff: &UiStaff, case: &ReferralCase, form: &FormData, errors: &FieldErrors) -> Markup {
    let correcting = !case.assessments.is_empty();
    html! {
        section.card aria-labelledby="assess" {
            h2 #assess { @if correcting { "Endre vurderingen" } @else { "Vurder henvisningen" } }
            @if correcting {
                p.hint { "En endring blir en ny versjon; den forrige står som den var. Skriv hvorfor vurderingen endres." }
            }
            (error_summary(errors))
            form.stack method="post" action={ "/venteliste/" (case.referral.id) "/vurdering" } data-testid="assessment-form" {
                (csrf(&staff.csrf))
                (select("Vurdering", "decision", &decisions(), form.get("decision"), errors))
                (input("Seneste oppstart (ved rett til helsehjelp)", "latest_start", "date", form.get("latest_start"), errors,
                    Some("Den juridiske fristen for når behandlingen skal starte.")))
                (textarea("Begrunnelse (påkrevd uten rett)", "reason", form.get("reason"), errors))
                @if correcting {
                    (textarea("Hvorfor vurderingen endres", "correction_reason", form.get("correction_reason"), errors))
                }
                button type="submit" { "Lagre vurdering" }
            }
        }
    }
}

fn offer_form(
    staff: &UiStaff,
    case: &ReferralCase,
    form: &FormData,
    errors: &FieldErrors,
    today: &str,
) -> Markup {
    html! {
        section.card aria-labelledby="quick" {
            h2 #quick { "Tilbud om rask oppstart" }
            p.hint { "Lavterskel oppstart mens pasienten venter (retningslinjen fra 2022)." }
            (error_summary(errors))
            form.stack method="post" action={ "/venteliste/" (case.referral.id) "/rask-oppstart" } data-testid="offer-form" {
                (csrf(&staff.csrf))
                (input("Hva ble tilbudt", "offered", "text", form.get("offered"), errors, None))
                (input("Dato for tilbudet", "offered_on", "date", if form.has("offered_on") { form.get("offered_on") } else { today }, errors, None))
                (select("Pasientens svar", "answer", &answers(), form.get("answer"), errors))
                button type="submit" { "Lagre tilbud" }
            }
        }
    }
}

async fn case_page(
    state: &AppState,
    staff: &UiStaff,
    id: &str,
    forms: (&FormData, &FieldErrors, &FormData, &FieldErrors),
) -> PageResult {
    let (assess_form, assess_errors, offer_form_data, offer_errors) = forms;
    let service = Service::new(state, &staff.user);
    let case = service.referral_case(id).await?;
    let policy = service.policy().await?;
    let names = service
        .names(
            case.assessments
                .iter()
                .map(|a| a.assessed_by)
                .chain(case.offers.iter().map(|o| o.recorded_by)),
        )
        .await?;
    let name = |u| names.get(&u).cloned().unwrap_or_default();
    let d = &case.referral.details;
    let deadline = assessment_deadline(d.received_on, policy.referral_assessment_working_days);
    let may_decide = access::may_enrol(&staff.user).is_allowed()
        && staff.user.organisation_id == case.episode.responsible_unit
        && case.episode.ended.is_none();
    let today = state.clock.today().to_string();
    let errors_shown = !assess_errors.is_empty() || !offer_errors.is_empty();
    let body = html! {
        h1 { "Henvisning: " (case.patient.full_name()) }
        p { a href="/venteliste" { "Tilbake til ventelisten" } " · " a href={ "/pasienter/" (case.patient.id) } { "Pasientens oversikt" } }
        section.card {
            h2 { "Henvisningen" }
            dl {
                dt { "Henvist av" } dd { (d.referrer_name) ", " (d.referrer_service) }
                dt { "Mottatt" } dd { (date_nb(d.received_on)) }
                dt { "Frist for vurdering" } dd { (date_nb(deadline)) }
                dt { "Årsak" } dd { (d.reason) }
                dt { "Henviserens vurdering" } dd { (d.referrer_assessment) }
            }
        }
        section.card data-testid="assessments" {
            h2 { "Vurdering" }
            @if case.assessments.is_empty() {
                p { "Ikke vurdert ennå." }
            } @else {
                ol {
                    @for a in &case.assessments {
                        li {
                            "Versjon " (a.version) ": " strong { (a.content.decision.label_nb()) }
                            @if let Some(latest) = a.content.latest_start { ", seneste oppstart " (date_nb(latest)) }
                            @if !a.content.reason.is_empty() { ". " (a.content.reason) }
                            " (" (instant_nb(a.assessed_at)) ", " (name(a.assessed_by)) ")"
                            @if let Some(why) = &a.content.correction_reason { br; small { "Endret fordi: " (why) } }
                        }
                    }
                }
                p { a href={ "/venteliste/" (case.referral.id) "/brev" } data-testid="letter-link" { "Vedtaksbrev til pasienten (utskrift)" } }
            }
        }
        section.card data-testid="offers" {
            h2 { "Rask oppstart" }
            @if case.offers.is_empty() { p { "Ingen tilbud registrert." } }
            ul {
                @for o in &case.offers {
                    li { (o.offered) " – tilbudt " (date_nb(o.offered_on)) ": " (o.answer.label_nb()) " (" (name(o.recorded_by)) ")" }
                }
            }
        }
        @if may_decide {
            (assessment_form(staff, &case, assess_form, assess_errors))
            (offer_form(staff, &case, offer_form_data, offer_errors, &today))
        }
    };
    let status = if errors_shown {
        axum::http::StatusCode::UNPROCESSABLE_ENTITY
    } else {
        form_status(assess_errors)
    };
    Ok((status, page("Henvisning", staff, body)).into_response())
}

pub async fn show(State(state): State<AppState>, staff: UiStaff, Path(id): Path<String>) -> PageResult {
    let id = key(&id)?;
    let empty = (FormData::default(), FieldErrors::default());
    case_page(&state, &staff, &id, (&empty.0, &empty.1, &empty.0, &empty.1)).await
}

pub async fn assess(
    State(state): State<AppState>,
    Path(id): Path<String>,
    StaffForm { staff, form }: StaffForm,
) -> PageResult {
    let id = key(&id)?;
    let input = AssessmentInput {
        decision: form.get("decision").into(),
        latest_start: form.get("latest_start").into(),
        reason: form.get("reason").into(),
        correction_reason: form.get("correction_reason").into(),
    };
    match Service::new(&state, &staff.user)
        .assess_referral(&id, &input)
        .await
    {
        Ok(_) => Ok(Redirect::to(&format!("/venteliste/{id}")).into_response()),
        Err(AppError::Invalid(errors)) => {
            let empty = (FormData::default(), FieldErrors::default());
            case_page(&state, &staff, &id, (&form, &errors, &empty.0, &empty.1)).await
        }
        Err(other) => Err(other.into()),
    }
}

pub async fn offer(
    State(state): State<AppState>,
    Path(id): Path<String>,
    StaffForm { staff, form }: StaffForm,
) -> PageResult {
    let id = key(&id)?;
    let input = QuickStartInput {
        offered: form.get("offered").into(),
        offered_on: form.get("offered_on").into(),
        answer: form.get("answer").into(),
    };
    match Service::new(&state, &staff.user)
        .offer_quick_start(&id, &input)
        .await
    {
        Ok(_) => Ok(Redirect::to(&format!("/venteliste/{id}")).into_response()),
        Err(AppError::Invalid(errors)) => {
            let empty = (FormData::default(), FieldErrors::default());
            case_page(&state, &staff, &id, (&empty.0, &empty.1, &form, &errors)).await
        }
        Err(other) => Err(other.into()),
    }
}

/// The decision letter to the patient (bokmål, synthetic neutral wording), for
/// the assessment in force.
pub async fn letter(State(state): State<AppState>, staff: UiStaff, Path(id): Path<String>) -> PageResult {
    let id = key(&id)?;
    let service = Service::new(&state, &staff.user);
    let case = service.referral_case(&id).await?;
    let Some(current) = case.assessments.last() else {
        return Err(PageError(AppError::NotFound(
            "en vurdering av henvisningen".into(),
        )));
    };
    let unit = service
        .organisations()
        .await?
        .get(&case.episode.responsible_unit)
        .map(|o| o.name.clone())
        .unwrap_or_default();
    let signer = service
        .names([current.assessed_by])
        .await?
        .remove(&current.assessed_by)
        .unwrap_or_default();
    let p = &case.patient;
    let markup = html! {
        (DOCTYPE)
        html lang="nb" {
            head {
                meta charset="utf-8";
                meta name="viewport" content="width=device-width, initial-scale=1";
                title { "Vedtak om rett til helsehjelp – " (p.full_name()) }
                link rel="stylesheet" href="/static/utskrift.css";
                link rel="icon" href="/static/favicon.svg" type="image/svg+xml";
            }
            body.printout {
                nav.toolbar aria-label="Utskrift" {
                    a href={ "/venteliste/" (id) } { "Tilbake til henvisningen" }
                    span { "Skriv ut med nettleserens utskrift (Ctrl+P). Siden er lagd for A4." }
                }
                main data-testid="letter" {
                    header.sheet {
                        p.meta { (unit) }
                        p.patient { strong { (p.full_name()) } br; (p.address) }
                        p.meta { "Dato: " (date_nb(samhand_domain::time::oslo_date(current.assessed_at))) }
                    }
                    h1 { "Vurdering av henvisning til LAR" }
                    p {
                        "Vi mottok henvisningen din fra " (case.referral.details.referrer_service) " "
                        (date_nb(case.referral.details.received_on)) ", og har vurdert den etter pasient- og brukerrettighetsloven § 2-2."
                    }
                    @match (current.content.decision, current.content.latest_start) {
                        (Decision::Right, Some(latest)) => {
                            h2 { "Vedtak: Du har rett til nødvendig helsehjelp" }
                            p { "Behandlingen skal starte senest " strong { (date_nb(latest)) } ". Vi kontakter deg om tid for oppstart." }
                            p { "Dersom behandlingen ikke starter innen fristen, kan du kontakte Helfo, som skal skaffe deg et tilbud." }
                        }
                        _ => {
                            h2 { "Vedtak: Du har ikke rett til nødvendig helsehjelp" }
                            p { "Begrunnelse: " (current.content.reason) }
                        }
                    }
                    @if current.version > 1 {
                        p { "Dette vedtaket erstatter en tidligere vurdering av henvisningen." }
                    }
                    h2 { "Du kan klage" }
                    p {
                        "Du kan klage på vurderingen til Statsforvalteren. Klagen sendes til oss, og vi sender den videre "
                        "dersom vi ikke endrer vurderingen. Fristen for å klage er fire uker fra du fikk dette brevet."
                    }
                    p { "Med vennlig hilsen" br; (signer) br; (unit) }
                    footer.sheet { "Utskrift fra Samhand " (instant_nb(state.clock.now())) ". Inneholder taushetsbelagte opplysninger." }
                }
            }
        }
    };
    Ok(markup.into_response())
}
