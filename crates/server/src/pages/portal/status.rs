//! «Slik har jeg det»: the patient gives the self-reported parts of the status
//! assessment (situation, substance use, satisfaction) from the portal. Each save is
//! a new version marked as the patient's own; the team sees it as «Fra pasienten».

use axum::extract::State;
use axum::response::{IntoResponse, Redirect};
use maud::html;
use samhand_domain::status::{StatusField, StatusInput, StatusPart};
use samhand_domain::validation::FieldErrors;

use super::{patient_service, portal_page};
use crate::AppState;
use crate::error::AppError;
use crate::pages::PageResult;
use crate::pages::forms::{FormData, error_summary, form_status, select, textarea};

const TITLE: &str = "Slik har jeg det";

async fn status_page(
    state: &AppState,
    patient: &crate::portal::PortalPatient,
    form: &FormData,
    errors: &FieldErrors,
) -> PageResult {
    let service = patient_service(state, patient);
    let view = service.status_assessments(patient.user.patient_id).await?;
    let fresh = form.0.is_empty();
    let value = |field: StatusField| -> String {
        if fresh {
            view.current
                .get(&field)
                .map(|(c, _)| c.to_string())
                .unwrap_or_default()
        } else {
            form.get(field.code()).to_string()
        }
    };
    let saved = view.history.iter().find(|a| a.by_patient);
    let body = html! {
        h1 { (TITLE) }
        p { "Svar på det du vil om hvordan du har det nå. Behandleren din ser svarene dine merket «Fra pasienten», og bruker dem i den årlige statusrapporten. Hver gang du lagrer, blir det en ny versjon; de gamle blir tatt vare på." }
        @if let Some(a) = saved {
            p.hint { "Du svarte sist " (samhand_domain::format::date_nb(a.assessed_on)) "." }
        }
        (error_summary(errors))
        form.stack method="post" action="/portal/status" {
            input type="hidden" name="csrf" value=(patient.csrf);
            @for part in StatusPart::ALL {
                @let fields: Vec<StatusField> = StatusField::ALL.iter().copied().filter(|f| f.part() == part && f.self_reported()).collect();
                @if !fields.is_empty() {
                    fieldset {
                        legend { (part.label_nb()) }
                        @for field in fields {
                            @let options: Vec<(String, String)> = field.options().iter().map(|(c, l)| (c.to_string(), l.to_string())).collect();
                            (select(field.label_nb(), field.code(), &options, &value(field), errors))
                        }
                    }
                }
            }
            (textarea("Noe du vil legge til", "note", form.get("note"), errors))
            button type="submit" { "Lagre svarene mine" }
        }
    };
    Ok((form_status(errors), portal_page(TITLE, Some(patient), body)).into_response())
}

pub async fn show(State(state): State<AppState>, patient: crate::portal::PortalPatient) -> PageResult {
    status_page(&state, &patient, &FormData::default(), &FieldErrors::default()).await
}

pub async fn save(
    State(state): State<AppState>,
    crate::portal::PatientForm { patient, form }: crate::portal::PatientForm,
) -> PageResult {
    let input = StatusInput {
        occasion: String::new(),
        assessed_on: String::new(),
        answers: StatusField::ALL
            .iter()
            .filter(|f| f.self_reported())
            .map(|f| (f.code().to_string(), form.get(f.code()).to_string()))
            .collect(),
        note: form.get("note").into(),
    };
    let service = patient_service(&state, &patient);
    match service
        .save_status_assessment(patient.user.patient_id, &input)
        .await
    {
        Ok(_) => Ok(Redirect::to("/portal/status").into_response()),
        Err(AppError::Invalid(errors)) => status_page(&state, &patient, &form, &errors).await,
        Err(other) => Err(other.into()),
    }
}
