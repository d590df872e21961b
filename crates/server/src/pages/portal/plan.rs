//! The patient's own plans: the crisis plan (warning signs, what helps, whom to
//! call) in versions, and the goals in the patient's own words per life domain.

use axum::extract::State;
use axum::response::{IntoResponse, Redirect};
use maud::html;
use samhand_domain::care::LifeDomain;
use samhand_domain::overdose::CrisisPlanInput;
use samhand_domain::validation::FieldErrors;

use super::{patient_service, portal_page};
use crate::AppState;
use crate::error::AppError;
use crate::pages::PageResult;
use crate::pages::forms::{FormData, error_summary, form_status, group_error, textarea};
use crate::pages::labels::instant_nb;
use crate::portal::{PatientForm, PortalPatient};

async fn crisis_page(
    state: &AppState,
    patient: &PortalPatient,
    form: &FormData,
    errors: &FieldErrors,
) -> PageResult {
    let service = patient_service(state, patient);
    let view = service.crisis_plan(patient.user.patient_id).await?;
    let current = view.current.as_ref();
    // Shown again with what was typed after an error; otherwise the plan as it is.
    let value = |field: &str, stored: &str| -> String {
        if form.0.is_empty() {
            stored.to_string()
        } else {
            form.get(field).to_string()
        }
    };
    let contacts: Vec<(String, String)> = if form.0.is_empty() {
        current
            .map(|p| {
                p.contacts
                    .iter()
                    .map(|c| (c.name.clone(), c.phone.clone()))
                    .collect()
            })
            .unwrap_or_default()
    } else {
        form.all("contact_name")
            .into_iter()
            .zip(form.all("contact_phone"))
            .collect()
    };
    let mut rows = contacts;
    while rows.len() < 3 {
        rows.push((String::new(), String::new()));
    }
    let body = html! {
        h1 { "Kriseplanen min" }
        p { "Hva du kjenner igjen når det begynner å gå galt, hva som hjelper, og hvem du og andre kan ringe. Du kan endre den når du vil; alle versjoner tas vare på." }
        @if let Some(plan) = current {
            p.hint { "Sist endret " (instant_nb(plan.recorded_at)) @if plan.by_patient { " av deg" } "." }
        }
        (error_summary(errors))
        form.stack method="post" action="/portal/kriseplan" {
            input type="hidden" name="csrf" value=(patient.csrf);
            (textarea("Varseltegn", "warning_signs", &value("warning_signs", current.map(|p| p.warning_signs.as_str()).unwrap_or("")), errors))
            (textarea("Dette hjelper meg", "what_helps", &value("what_helps", current.map(|p| p.what_helps.as_str()).unwrap_or("")), errors))
            fieldset {
                legend { "Hvem kan ringes" }
                @for (i, (name, phone)) in rows.iter().enumerate() {
                    div.inline {
                        div {
                            label for={ "contact_name_" (i) } { "Navn " (i + 1) }
                            input type="text" id={ "contact_name_" (i) } name="contact_name" value=(name);
                        }
                        div {
                            label for={ "contact_phone_" (i) } { "Telefon " (i + 1) }
                            input type="tel" id={ "contact_phone_" (i) } name="contact_phone" value=(phone);
                        }
                    }
                }
                (group_error(errors, "contact_name"))
                (group_error(errors, "contact_phone"))
                (group_error(errors, "contacts"))
            }
            button type="submit" { "Lagre kriseplanen" }
        }
        p { "Er det akutt, ring " strong { "113" } "." }
    };
    Ok((form_status(errors), portal_page("Kriseplan", Some(patient), body)).into_response())
}

pub async fn crisis_plan(State(state): State<AppState>, patient: PortalPatient) -> PageResult {
    crisis_page(&state, &patient, &FormData::default(), &FieldErrors::default()).await
}

pub async fn save_crisis_plan(
    State(state): State<AppState>,
    PatientForm { patient, form }: PatientForm,
) -> PageResult {
    let service = patient_service(&state, &patient);
    let input = CrisisPlanInput {
        warning_signs: form.get("warning_signs").into(),
        what_helps: form.get("what_helps").into(),
        contacts: form
            .all("contact_name")
            .into_iter()
            .zip(form.all("contact_phone"))
            .collect(),
    };
    match service.save_crisis_plan(patient.user.patient_id, &input).await {
        Ok(_) => Ok(Redirect::to("/portal/kriseplan").into_response()),
        Err(AppError::Invalid(errors)) => crisis_page(&state, &patient, &form, &errors).await,
        Err(other) => Err(other.into()),
    }
}

async fn goals_page(state: &AppState, patient: &PortalPatient, errors: &FieldErrors) -> PageResult {
    let service = patient_service(state, patient);
    let plan = service.plan(patient.user.patient_id).await?;
    let words = service.own_words(patient.user.patient_id).await?;
    let body = html! {
        h1 { "Mine mål" }
        p { "Skriv målene dine med dine egne ord, og en kommentar hvis du vil. Teamet ser dem ved planen og tar dem med inn i den sammen med deg." }
        (error_summary(errors))
        form.stack method="post" action="/portal/mal" {
            input type="hidden" name="csrf" value=(patient.csrf);
            @for domain in LifeDomain::ALL {
                @let mine = words.iter().find(|(d, _)| *d == domain).map(|(_, w)| w);
                @let in_plan = plan.current.as_ref().and_then(|p| p.goals.iter().find(|g| g.domain == domain));
                fieldset {
                    legend { (domain.label_nb()) }
                    @if let Some(goal) = in_plan { p.hint { "I planen nå: " (goal.goal) } }
                    (textarea("Mitt mål", domain.code(), mine.map(|w| w.goal.as_str()).unwrap_or(""), errors))
                    (textarea("Kommentar", &format!("{}_comment", domain.code()), mine.map(|w| w.comment.as_str()).unwrap_or(""), errors))
                }
            }
            button type="submit" { "Lagre målene mine" }
        }
    };
    Ok((form_status(errors), portal_page("Mine mål", Some(patient), body)).into_response())
}

pub async fn goals(State(state): State<AppState>, patient: PortalPatient) -> PageResult {
    goals_page(&state, &patient, &FieldErrors::default()).await
}

pub async fn save_goals(
    State(state): State<AppState>,
    PatientForm { patient, form }: PatientForm,
) -> PageResult {
    let service = patient_service(&state, &patient);
    let words: Vec<(LifeDomain, String, String)> = LifeDomain::ALL
        .into_iter()
        .map(|d| {
            (
                d,
                form.get(d.code()).to_string(),
                form.get(&format!("{}_comment", d.code())).to_string(),
            )
        })
        .collect();
    match service.save_own_words(&words).await {
        Ok(_) => Ok(Redirect::to("/portal/mal").into_response()),
        Err(AppError::Invalid(errors)) => goals_page(&state, &patient, &errors).await,
        Err(other) => Err(other.into()),
    }
}
