//! Dose orders: the form for a new order (a draft), the draft with its dose-safety
//! warnings, signing it (with a reason when a warning is confirmed), and
//! discarding it unsigned.

use axum::extract::{Path, State};
use axum::response::{IntoResponse, Redirect};
use maud::html;
use samhand_domain::dose_order::DoseOrderInput;
use samhand_domain::format::date_nb;
use samhand_domain::ids::{DoseOrderId, PatientId};
use samhand_domain::substance::Form as DoseForm;
use samhand_domain::time::oslo_datetime;
use samhand_domain::validation::FieldErrors;

use super::overview::order_summary;
use crate::AppState;
use crate::auth::UiStaff;
use crate::error::AppError;
use crate::pages::PageResult;
use crate::pages::forms::{
    FormData, StaffForm, csrf, error_summary, form_status, group_error, input, parse_id, select, textarea,
};
use crate::pages::labels::{form_name, substance_options};
use crate::pages::layout::page;
use crate::service::Service;

async fn order_page(
    state: &AppState,
    staff: &UiStaff,
    id: PatientId,
    form: &FormData,
    errors: &FieldErrors,
) -> PageResult {
    let overview = Service::new(state, &staff.user).overview(id).await?;
    let current = overview.effective_order.as_ref().map(|o| o.content());
    let substance = if form.has("substance") {
        form.get("substance").to_string()
    } else {
        current
            .map(|c| c.substance.code().to_string())
            .unwrap_or_default()
    };
    let forms: Vec<(String, String)> = DoseForm::ALL
        .iter()
        .map(|f| (f.code().to_string(), form_name(*f).to_string()))
        .collect();
    let chosen_form = if form.has("form") {
        form.get("form").to_string()
    } else {
        current.map(|c| c.form.code().to_string()).unwrap_or_default()
    };
    let parts = form.all("parts");
    let part = |i: usize| -> String {
        match parts.get(i) {
            Some(p) => p.clone(),
            None if !form.has("parts") => current
                .and_then(|c| c.dose.parts().get(i))
                .map(|d| d.to_string().trim_end_matches(" mg").to_string())
                .unwrap_or_default(),
            None => String::new(),
        }
    };
    let from = if form.has("effective_from") {
        form.get("effective_from").to_string()
    } else {
        state.clock.today().to_string()
    };
    let step_dates = form.all("step_from");
    let step_doses = form.all("step_dose");
    let body = html! {
        h1 { "Ny ordinasjon for " (overview.patient.full_name()) }
        p.hint { "Ordinasjonen lagres som utkast og gjelder først når den er signert av lege ved ansvarlig LAR-enhet." }
        (error_summary(errors))
        form.stack method="post" action={ "/pasienter/" (id) "/ordinasjon" } {
            (csrf(&staff.csrf))
            (select("Legemiddel", "substance", &substance_options(), &substance, errors))
            (select("Legemiddelform", "form", &forms, &chosen_form, errors))
            fieldset id="dose" {
                legend { "Dose i mg (del opp ved delt dose)" }
                div.inline {
                    @for i in 0..4 {
                        div {
                            label for={ "parts-" (i) } { "Del " (i + 1) }
                            input type="text" inputmode="decimal" id={ "parts-" (i) } name="parts" value=(part(i)) aria-invalid=(errors.for_field("dose").is_some());
                        }
                    }
                }
                (group_error(errors, "dose"))
            }
            (input("Gjelder fra", "effective_from", "date", &from, errors, None))
            fieldset id="titration" {
                legend { "Planlagte opptrappingstrinn (valgfritt)" }
                @for i in 0..3 {
                    div.inline {
                        div {
                            label for={ "step_from-" (i) } { "Fra dato" }
                            input type="date" id={ "step_from-" (i) } name="step_from" value=(step_dates.get(i).cloned().unwrap_or_default());
                        }
                        div {
                            label for={ "step_dose-" (i) } { "Total dose mg" }
                            input type="text" inputmode="decimal" id={ "step_dose-" (i) } name="step_dose" value=(step_doses.get(i).cloned().unwrap_or_default());
                        }
                    }
                }
                (group_error(errors, "titration"))
            }
            (textarea("Begrunnelse", "reason", form.get("reason"), errors))
            button type="submit" { "Lagre utkast" }
        }
    };
    let status = form_status(errors);
    Ok((status, page("Ny ordinasjon", staff, body)).into_response())
}

pub async fn form(State(state): State<AppState>, staff: UiStaff, Path(id): Path<String>) -> PageResult {
    let id: PatientId = parse_id(&id)?;
    order_page(&state, &staff, id, &FormData::default(), &FieldErrors::default()).await
}

pub async fn create(
    State(state): State<AppState>,
    Path(id): Path<String>,
    StaffForm { staff, form }: StaffForm,
) -> PageResult {
    let id: PatientId = parse_id(&id)?;
    let input = DoseOrderInput {
        substance: form.get("substance").into(),
        form: form.get("form").into(),
        parts: form.all("parts"),
        effective_from: form.get("effective_from").into(),
        titration: form
            .all("step_from")
            .into_iter()
            .zip(form.all("step_dose"))
            .collect(),
        reason: form.get("reason").into(),
    };
    match Service::new(&state, &staff.user).create_draft(id, &input).await {
        Ok(order) => Ok(Redirect::to(&format!("/ordinasjoner/{}", order.id)).into_response()),
        Err(AppError::Invalid(errors)) => order_page(&state, &staff, id, &form, &errors).await,
        Err(other) => Err(other.into()),
    }
}

async fn order_detail_page(
    state: &AppState,
    staff: &UiStaff,
    id: DoseOrderId,
    errors: &FieldErrors,
    confirmation: &str,
) -> PageResult {
    let (order, warnings) = Service::new(state, &staff.user).draft_warnings(id).await?;
    let body = html! {
        h1 { "Ordinasjon" }
        p { (order_summary(&order)) }
        p { "Begrunnelse: " (order.content.reason) }
        p { a href={ "/pasienter/" (order.patient_id) } { "Til pasientoversikten" } }
        @if let Some(s) = &order.signature {
            p.notice { "Signert som versjon " (s.version) "." }
        } @else if let Some(d) = &order.discard {
            p.notice { "Forkastet " (date_nb(oslo_datetime(d.discarded_at).date())) ". Utkastet kan ikke signeres."
                @if !d.reason.is_empty() { " Begrunnelse: " (d.reason) } }
        } @else {
            (error_summary(errors))
            @if !warnings.is_empty() {
                div.warning role="alert" {
                    strong { "Dosesikkerhet:" }
                    ul { @for w in &warnings { li { (w.message_nb()) } } }
                }
            }
            form.stack method="post" action={ "/ordinasjoner/" (id) "/signer" } {
                (csrf(&staff.csrf))
                @if !warnings.is_empty() {
                    (textarea("Begrunnelse for å signere likevel", "confirmation", confirmation, errors))
                }
                button.ok type="submit" { "Signer ordinasjonen" }
            }
            details.discard {
                summary { "Forkast utkastet" }
                form.stack method="post" action={ "/ordinasjoner/" (id) "/forkast" } {
                    (csrf(&staff.csrf))
                    p.hint { "Utkastet slettes ikke: det står som «Forkastet» i historikken, med hvem og når." }
                    (textarea("Begrunnelse (valgfritt)", "discard_reason", "", errors))
                    button.danger type="submit" { "Forkast utkastet" }
                }
            }
        }
    };
    let status = form_status(errors);
    Ok((status, page("Ordinasjon", staff, body)).into_response())
}

pub async fn detail(State(state): State<AppState>, staff: UiStaff, Path(id): Path<String>) -> PageResult {
    let id: DoseOrderId = parse_id(&id)?;
    order_detail_page(&state, &staff, id, &FieldErrors::default(), "").await
}

pub async fn sign(
    State(state): State<AppState>,
    Path(id): Path<String>,
    StaffForm { staff, form }: StaffForm,
) -> PageResult {
    let id: DoseOrderId = parse_id(&id)?;
    let confirmation = form.get("confirmation");
    match Service::new(&state, &staff.user)
        .sign(id, Some(confirmation))
        .await
    {
        Ok(signed) => Ok(Redirect::to(&format!(
            "/pasienter/{}?lagret=ordinasjon",
            signed.order().patient_id
        ))
        .into_response()),
        Err(AppError::Invalid(errors)) => order_detail_page(&state, &staff, id, &errors, confirmation).await,
        Err(other) => Err(other.into()),
    }
}

/// Discards a draft; back to the overview with a notice.
pub async fn discard(
    State(state): State<AppState>,
    Path(id): Path<String>,
    StaffForm { staff, form }: StaffForm,
) -> PageResult {
    let id: DoseOrderId = parse_id(&id)?;
    let discarded = Service::new(&state, &staff.user)
        .discard_draft(id, form.get("discard_reason"))
        .await?;
    Ok(Redirect::to(&format!("/pasienter/{}?lagret=forkastet", discarded.patient_id)).into_response())
}

// ------------------------------------------------------------- arrangement
