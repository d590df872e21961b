//! Ending a patient's LAR treatment, with the warning about overdose risk and the
//! patient's right to a new assessment.

use axum::extract::{Path, State};
use axum::response::{IntoResponse, Redirect};
use maud::html;
use samhand_domain::ids::PatientId;
use samhand_domain::patient::EndReason;
use samhand_domain::validation::FieldErrors;

use crate::AppState;
use crate::auth::UiStaff;
use crate::error::AppError;
use crate::pages::PageResult;
use crate::pages::forms::{
    FormData, StaffForm, csrf, error_summary, form_status, input, parse_id, select, textarea,
};
use crate::pages::labels::end_reason_name;
use crate::pages::layout::page;
use crate::service::Service;

async fn end_page(
    state: &AppState,
    staff: &UiStaff,
    id: PatientId,
    form: &FormData,
    errors: &FieldErrors,
) -> PageResult {
    let overview = Service::new(state, &staff.user).overview(id).await?;
    let reasons: Vec<(String, String)> = EndReason::ALL
        .iter()
        .map(|r| (r.code().to_string(), end_reason_name(*r).to_string()))
        .collect();
    let body = html! {
        h1 { "Avslutt LAR-behandling for " (overview.patient.full_name()) }
        div.warning {
            "Avslutning av LAR øker risikoen for overdose. Sørg for tett oppfølging, kriseplan, nalokson og en avtalt time etter avslutning. "
            "Ved ufrivillig avslutning skal pasienten informeres skriftlig om retten til ny vurdering og til å klage."
        }
        (error_summary(errors))
        form.stack method="post" action={ "/pasienter/" (id) "/avslutt" } {
            (csrf(&staff.csrf))
            (input("Avsluttes fra", "ended_on", "date", form.get("ended_on"), errors, None))
            (select("Årsak", "reason", &reasons, form.get("reason"), errors))
            (textarea("Merknad", "note", form.get("note"), errors))
            button.danger type="submit" { "Avslutt behandlingen" }
        }
    };
    let status = form_status(errors);
    Ok((status, page("Avslutt behandling", staff, body)).into_response())
}

pub async fn form(State(state): State<AppState>, staff: UiStaff, Path(id): Path<String>) -> PageResult {
    let id: PatientId = parse_id(&id)?;
    end_page(&state, &staff, id, &FormData::default(), &FieldErrors::default()).await
}

pub async fn submit(
    State(state): State<AppState>,
    Path(id): Path<String>,
    StaffForm { staff, form }: StaffForm,
) -> PageResult {
    let id: PatientId = parse_id(&id)?;
    match Service::new(&state, &staff.user)
        .end_episode(id, form.get("ended_on"), form.get("reason"), form.get("note"))
        .await
    {
        Ok(()) => Ok(Redirect::to(&format!("/pasienter/{id}")).into_response()),
        Err(AppError::Invalid(errors)) => end_page(&state, &staff, id, &form, &errors).await,
        Err(other) => Err(other.into()),
    }
}
