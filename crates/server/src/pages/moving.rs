//! Moving a patient to another dispensing place: one form, one action.

use axum::extract::{Path, State};
use axum::response::{IntoResponse, Redirect, Response};
use maud::html;
use samhand_domain::ids::PatientId;
use samhand_domain::validation::FieldErrors;

use crate::AppState;
use crate::auth::UiStaff;
use crate::error::{AppError, PageError};
use crate::pages::forms::{FormData, StaffForm, csrf, error_summary, form_status, input, select, textarea};
use crate::pages::layout::page;
use crate::service::{MoveInput, Service};

type PageResult = Result<Response, PageError>;

use crate::pages::forms::parse_id;

async fn move_page(
    state: &AppState,
    staff: &UiStaff,
    id: PatientId,
    form: &FormData,
    errors: &FieldErrors,
) -> PageResult {
    let service = Service::new(state, &staff.user);
    let overview = service.overview(id).await?;
    let places = crate::pages::labels::place_options(&service).await?;
    let current = overview
        .arrangement
        .as_ref()
        .and_then(|a| overview.organisations.get(&a.content.place_id))
        .map(|o| o.name.clone())
        .unwrap_or_else(|| "ingen".into());
    let carry = form.0.is_empty() || form.has("carry_consents");
    let body = html! {
        h1 { "Flytt " (overview.patient.full_name()) " til et annet utleveringssted" }
        p { "Henter nå ved " strong { (current) } ". Ukeplanen og tidsvinduet følger med; den gamle ordningen gjelder til dagen før." }
        p.hint { "Ingen dag blir utlevert to ganger eller av ingen: ta-med-doser levert ut før flyttingen gjelder, og en ta-med-dag rett etter flyttingen hentes på det nye stedet. Begge steder får melding." }
        (error_summary(errors))
        form.stack method="post" action={ "/pasienter/" (id) "/flytt" } {
            (csrf(&staff.csrf))
            (select("Nytt utleveringssted", "place_id", &places, form.get("place_id"), errors))
            (input("Henter der fra og med", "from", "date", form.get("from"), errors, None))
            (textarea("Begrunnelse", "reason", form.get("reason"), errors))
            label.checkbox { input type="checkbox" name="carry_consents" value="1" checked[carry]; "Pasienten vil dele det samme med det nye stedet som med det gamle" }
            button type="submit" { "Flytt pasienten" }
        }
    };
    Ok((form_status(errors), page("Flytt pasient", staff, body)).into_response())
}

pub async fn show(State(state): State<AppState>, staff: UiStaff, Path(id): Path<String>) -> PageResult {
    let id: PatientId = parse_id(&id)?;
    move_page(&state, &staff, id, &FormData::default(), &FieldErrors::default()).await
}

pub async fn submit(
    State(state): State<AppState>,
    Path(id): Path<String>,
    StaffForm { staff, form }: StaffForm,
) -> PageResult {
    let id: PatientId = parse_id(&id)?;
    let input = MoveInput {
        place_id: form.get("place_id").into(),
        from: form.get("from").into(),
        reason: form.get("reason").into(),
        carry_consents: form.has("carry_consents"),
    };
    match Service::new(&state, &staff.user).move_patient(id, &input).await {
        Ok(_) => Ok(Redirect::to(&format!("/pasienter/{id}")).into_response()),
        Err(AppError::Invalid(errors)) => move_page(&state, &staff, id, &form, &errors).await,
        Err(other) => Err(other.into()),
    }
}
