//! The individual plan: the page with its versions and the patient's own words,
//! saving a version, and the printable view.

use axum::extract::{Path, State};
use axum::response::{IntoResponse, Redirect};
use maud::{DOCTYPE, Markup, html};
use samhand_domain::care::{GoalInput, LifeDomain, PlanStatus, PlanVersion};
use samhand_domain::format::date_nb;
use samhand_domain::ids::{PatientId, UserId};
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
use crate::service::{PlanView, Service};

// --------------------------------------------------------------- the plan

fn goal_list(plan: &PlanVersion, view: &PlanView) -> Markup {
    let org = |id| {
        view.organisations
            .get(&id)
            .map(|o| o.name.clone())
            .unwrap_or_default()
    };
    html! {
        @if plan.goals.is_empty() {
            p { "Ingen mål er skrevet ennå." }
        } @else {
            @for goal in &plan.goals {
                section.goal data-testid={ "goal-" (goal.domain.code()) } {
                    h3 { (goal.domain.label_nb()) }
                    blockquote { "«" (goal.goal) "»" }
                    @if !goal.measures.is_empty() {
                        ul {
                            @for m in &goal.measures {
                                li { (m.description) " – ansvar: " (org(m.responsible)) }
                            }
                        }
                    }
                    @if let Some(on) = goal.evaluate_on {
                        p {
                            "Evalueres " (date_nb(on))
                            @if on <= view.today && plan.status == PlanStatus::Active { " " span.badge.warn { "Til evaluering" } }
                        }
                    }
                }
            }
        }
    }
}

/// What a field of the plan form shows: what was sent back, or on a fresh form the
/// plan in force.
fn plan_prefill(view: &PlanView, form: &FormData, domain: LifeDomain, part: &str) -> String {
    if !form.0.is_empty() {
        return form.get(&format!("{part}_{}", domain.code())).to_string();
    }
    let Some(goal) = view
        .current
        .as_ref()
        .and_then(|c| c.goals.iter().find(|g| g.domain == domain))
    else {
        return String::new();
    };
    match part {
        "goal" => goal.goal.clone(),
        "measure" => goal
            .measures
            .first()
            .map(|m| m.description.clone())
            .unwrap_or_default(),
        "responsible" => goal
            .measures
            .first()
            .map(|m| m.responsible.to_string())
            .unwrap_or_default(),
        "evaluate" => goal.evaluate_on.map(|d| d.to_string()).unwrap_or_default(),
        _ => String::new(),
    }
}

/// Every earlier version of the plan, each with its goals.
fn plan_versions(view: &PlanView, name: &dyn Fn(UserId) -> String) -> Markup {
    html! {
        @if !view.history.is_empty() {
            h2 { "Versjoner" }
            @for v in &view.history {
                details data-testid="plan-version" {
                    summary {
                        "Versjon " (v.version) " – " (v.status.label_nb()) " – " (instant_nb(v.recorded_at)) " – " (name(v.recorded_by)) ": " (v.reason)
                    }
                    (goal_list(v, view))
                }
            }
        }
    }
}

/// What the patient wrote in the portal, to bring into the plan.
fn own_words_section(own_words: &[(LifeDomain, samhand_store::portal::OwnWords)]) -> Markup {
    html! {
        @if !own_words.is_empty() {
            section.card data-testid="own-words" {
                h2 { "Pasientens egne ord" }
                p.hint { "Skrevet av pasienten i portalen. Ta dem med inn i planen sammen med pasienten." }
                ul {
                    @for (domain, words) in own_words {
                        li {
                            strong { (domain.label_nb()) } ": " (words.goal)
                            @if !words.comment.is_empty() { " — " em { (words.comment) } }
                            span.hint { " (" (instant_nb(words.written_at)) ")" }
                        }
                    }
                }
            }
        }
    }
}

async fn plan_page(
    state: &AppState,
    staff: &UiStaff,
    id: PatientId,
    form: &FormData,
    errors: &FieldErrors,
) -> PageResult {
    let view = Service::new(state, &staff.user).plan(id).await?;
    let own_words = Service::new(state, &staff.user).own_words(id).await?;
    let may_write = Service::new(state, &staff.user).offers(id).await?.write_plan;
    let name = |user: UserId| view.names.get(&user).cloned().unwrap_or_default();
    let mut organisations: Vec<(String, String)> = view
        .organisations
        .values()
        .map(|o| (o.id.to_string(), o.name.clone()))
        .collect();
    organisations.sort_by(|a, b| a.1.cmp(&b.1));
    let prefill = |domain: LifeDomain, part: &str| plan_prefill(&view, form, domain, part);
    let body = html! {
        h1 { "Individuell plan: " (view.patient.full_name()) }
        p.links {
            a href={ "/pasienter/" (id) } { "Tilbake til oversikten" }
            " · " a href={ "/pasienter/" (id) "/moter" } { "Ansvarsgruppe og møter" }
            @if view.current.is_some() { " · " a href={ "/pasienter/" (id) "/plan/utskrift" } { "Utskriftsvennlig versjon" } }
        }
        p.hint { "Planen er pasientens: målene skrives med pasientens egne ord. Pasienten kan takke nei; det registreres, og kan endres senere." }
        (error_summary(errors))
        @match &view.current {
            None => {
                p { "Planen er ikke startet." }
                @if may_write { form method="post" action={ "/pasienter/" (id) "/plan" } {
                    (csrf(&staff.csrf))
                    input type="hidden" name="action" value="initiate";
                    button type="submit" { "Tilby og start individuell plan" }
                } }
            }
            Some(current) => {
                p data-testid="plan-status" {
                    "Versjon " (current.version) ". "
                    @if current.status == PlanStatus::Declined {
                        span.badge.bad { (current.status.label_nb()) }
                        @if let Some(on) = current.declined_on { " " (date_nb(on)) ", registrert av " (name(current.recorded_by)) "." }
                    } @else {
                        span.badge.ok { (current.status.label_nb()) }
                    }
                }
                (goal_list(current, &view))
                @if may_write && current.status == PlanStatus::Declined {
                    h2 { "Gjenoppta planen" }
                    form.stack method="post" action={ "/pasienter/" (id) "/plan" } {
                        (csrf(&staff.csrf))
                        input type="hidden" name="action" value="resume";
                        (input("Hvorfor", "reason", "text", form.get("reason"), errors, None))
                        button type="submit" { "Gjenoppta" }
                    }
                } @else if may_write {
                    h2 { "Endre planen" }
                    p.hint { "Hver lagring blir en ny versjon; de tidligere kan leses under." }
                    form.stack method="post" action={ "/pasienter/" (id) "/plan" } {
                        (csrf(&staff.csrf))
                        input type="hidden" name="action" value="save";
                        @for domain in LifeDomain::ALL {
                            fieldset {
                                legend { (domain.label_nb()) }
                                (textarea("Pasientens mål, med egne ord", &format!("goal_{}", domain.code()), &prefill(domain, "goal"), errors))
                                (input("Tiltak", &format!("measure_{}", domain.code()), "text", &prefill(domain, "measure"), errors, None))
                                (select("Ansvarlig tjeneste", &format!("responsible_{}", domain.code()), &organisations, &prefill(domain, "responsible"), errors))
                                (input("Evalueres", &format!("evaluate_{}", domain.code()), "date", &prefill(domain, "evaluate"), errors, None))
                            }
                        }
                        (crate::pages::forms::group_error(errors, "goals"))
                        (crate::pages::forms::group_error(errors, "measures"))
                        (crate::pages::forms::group_error(errors, "evaluate_on"))
                        (input("Hva er endret", "reason", "text", if form.get("action") == "save" { form.get("reason") } else { "" }, errors, None))
                        button type="submit" { "Lagre ny versjon" }
                    }
                    h2 { "Pasienten takker nei" }
                    form.stack method="post" action={ "/pasienter/" (id) "/plan" } {
                        (csrf(&staff.csrf))
                        input type="hidden" name="action" value="decline";
                        (input("Hva pasienten sa", "decline_reason", "text", form.get("decline_reason"), errors, None))
                        button type="submit" { "Registrer at pasienten takker nei" }
                    }
                }
            }
        }
        (plan_versions(&view, &name))
    };
    let body = html! {
        (own_words_section(&own_words))
        (body)
    };
    Ok((form_status(errors), page("Individuell plan", staff, body)).into_response())
}

pub async fn plan(State(state): State<AppState>, staff: UiStaff, Path(id): Path<String>) -> PageResult {
    plan_page(
        &state,
        &staff,
        parse_id(&id)?,
        &FormData::default(),
        &FieldErrors::default(),
    )
    .await
}

pub async fn save_plan(
    State(state): State<AppState>,
    Path(id): Path<String>,
    StaffForm { staff, form }: StaffForm,
) -> PageResult {
    let id: PatientId = parse_id(&id)?;
    let action = form.get("action").to_string();
    let reason = if action == "decline" {
        form.get("decline_reason")
    } else {
        form.get("reason")
    };
    let goals = LifeDomain::ALL
        .iter()
        .map(|d| GoalInput {
            domain: d.code().into(),
            goal: form.get(&format!("goal_{}", d.code())).into(),
            measures: vec![(
                form.get(&format!("measure_{}", d.code())).into(),
                form.get(&format!("responsible_{}", d.code())).into(),
            )],
            evaluate_on: form.get(&format!("evaluate_{}", d.code())).into(),
        })
        .collect();
    let input = samhand_domain::care::PlanInput {
        action,
        reason: reason.into(),
        goals,
    };
    match Service::new(&state, &staff.user).save_plan(id, &input).await {
        Ok(_) => Ok(Redirect::to(&format!("/pasienter/{id}/plan")).into_response()),
        Err(AppError::Invalid(mut errors)) => {
            // The decline form names its reason field apart from the save form's.
            if input.action == "decline" {
                for e in &mut errors.0 {
                    if e.field == "reason" {
                        e.field = "decline_reason";
                    }
                }
            }
            plan_page(&state, &staff, id, &form, &errors).await
        }
        Err(other) => Err(other.into()),
    }
}

pub async fn plan_print(State(state): State<AppState>, staff: UiStaff, Path(id): Path<String>) -> PageResult {
    let id: PatientId = parse_id(&id)?;
    let view = Service::new(&state, &staff.user).plan(id).await?;
    let Some(current) = &view.current else {
        return Err(PageError(AppError::NotFound(
            "en individuell plan for pasienten".into(),
        )));
    };
    let name = |user: UserId| view.names.get(&user).cloned().unwrap_or_default();
    let markup = html! {
        (DOCTYPE)
        html lang="nb" {
            head {
                meta charset="utf-8";
                meta name="viewport" content="width=device-width, initial-scale=1";
                title { "Individuell plan – " (view.patient.full_name()) }
                link rel="stylesheet" href="/static/utskrift.css";
                link rel="icon" href="/static/favicon.svg" type="image/svg+xml";
            }
            body.printout {
                nav.toolbar aria-label="Utskrift" {
                    a href={ "/pasienter/" (id) "/plan" } { "Tilbake til planen" }
                    span { "Skriv ut med nettleserens utskrift (Ctrl+P). Siden er lagd for A4." }
                }
                main {
                    header.sheet {
                        h1 { "Individuell plan" }
                        p.patient { strong { (view.patient.full_name()) } ", f.nr. " (view.patient.national_id.as_str()) }
                        p.meta {
                            "Versjon " (current.version) ", " (instant_nb(current.recorded_at)) ", " (name(current.recorded_by)) ". "
                            "Status: " (current.status.label_nb())
                            @if let Some(on) = current.declined_on { " (" (date_nb(on)) ")" }
                            "."
                        }
                    }
                    h2 { "Mål og tiltak" }
                    (goal_list(current, &view))
                    footer.sheet { "Utskrift fra Samhand " (instant_nb(state.clock.now())) ". Inneholder taushetsbelagte opplysninger." }
                }
            }
        }
    };
    Ok(markup.into_response())
}
