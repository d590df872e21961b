//! Correcting who the patient is: name, phone and address, with a reason, as a new
//! version (the form on the overview and its own page with every version). The
//! fødselsnummer never changes here. A form loaded before someone else's
//! correction is refused, so nobody overwrites a correction they have not seen.

use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Redirect, Response};
use maud::{Markup, html};
use samhand_domain::access;
use samhand_domain::format::{date_nb, time_nb};
use samhand_domain::ids::PatientId;
use samhand_domain::patient::{IdentityChangeInput, IdentityVersion};
use samhand_domain::time::oslo_datetime;
use samhand_domain::validation::FieldErrors;

use crate::AppState;
use crate::auth::UiStaff;
use crate::error::{AppError, PageError};
use crate::pages::forms::{FormData, StaffForm, csrf, error_summary, input, parse_id, textarea};
use crate::pages::layout::page;
use crate::service::Service;

type PageResult = Result<Response, PageError>;

/// The correction form, filled with `current` unless `form` holds what was typed.
pub fn form(
    id: PatientId,
    current: &IdentityVersion,
    staff: &UiStaff,
    form: &FormData,
    errors: &FieldErrors,
) -> Markup {
    let value = |name: &str, stored: &str| -> String {
        if form.has(name) {
            form.get(name).to_string()
        } else {
            stored.to_string()
        }
    };
    html! {
        form.stack method="post" action={ "/pasienter/" (id) "/personopplysninger" } data-testid="identity-form" {
            (csrf(&staff.csrf))
            input type="hidden" name="version" value=(current.version);
            p.hint { "Fødselsnummeret kan ikke endres. Endringen lagres som en ny versjon med hvem, når og hvorfor; de tidligere versjonene står." }
            (input("Fornavn", "given_name", "text", &value("given_name", &current.given_name), errors, None))
            (input("Etternavn", "family_name", "text", &value("family_name", &current.family_name), errors, None))
            (input("Telefon", "phone", "tel", &value("phone", &current.phone), errors, None))
            (input("Adresse", "address", "text", &value("address", &current.address), errors, None))
            (textarea("Hvorfor endres opplysningene?", "reason", form.get("reason"), errors))
            button type="submit" { "Lagre endringen" }
        }
    }
}

/// The small form on the overview, for those who may enrol (the LAR unit's doctors
/// and consultants); the policy decides the write itself.
pub fn overview_section(id: PatientId, versions: &[IdentityVersion], staff: &UiStaff) -> Markup {
    let Some(current) = versions.last() else {
        return html! {};
    };
    if !access::may_enrol(&staff.user).is_allowed() {
        return html! {};
    }
    html! {
        details.card data-testid="identity-correction" {
            summary { "Rett navn, telefon eller adresse" }
            (form(id, current, staff, &FormData::default(), &FieldErrors::default()))
            p { a href={ "/pasienter/" (id) "/personopplysninger" } { "Alle versjoner av personopplysningene (" (versions.len()) ")" } }
        }
    }
}

async fn identity_page(
    state: &AppState,
    staff: &UiStaff,
    id: PatientId,
    form_data: &FormData,
    errors: &FieldErrors,
    alert: Option<(StatusCode, String)>,
) -> PageResult {
    let service = Service::new(state, &staff.user);
    let versions = service.identity_versions(id).await?;
    let current = versions
        .last()
        .ok_or_else(|| AppError::NotFound("personopplysningene".into()))?;
    let names = service.names(versions.iter().map(|v| v.recorded_by)).await?;
    let body = html! {
        h1 { "Personopplysninger for " (current.full_name()) }
        p { "Fødselsnummer " strong { (current.national_id.as_str()) } " · " a href={ "/pasienter/" (id) } { "Til oversikten" } }
        @if let Some((_, message)) = &alert { p.error role="alert" { (message) } }
        (error_summary(errors))
        (form(id, current, staff, form_data, errors))
        h2 { "Versjoner" }
        table data-testid="identity-versions" {
            thead { tr { th { "Versjon" } th { "Navn" } th { "Telefon" } th { "Adresse" } th { "Endret" } th { "Hvorfor" } } }
            tbody {
                @for v in versions.iter().rev() {
                    @let at = oslo_datetime(v.recorded_at);
                    tr {
                        td { (v.version) }
                        td { (v.full_name()) }
                        td { (v.phone) }
                        td { (v.address) }
                        td { (date_nb(at.date())) " " (time_nb(at.time())) " av " (names.get(&v.recorded_by).map_or("ukjent", String::as_str)) }
                        td { (v.reason) }
                    }
                }
            }
        }
    };
    let status = match &alert {
        Some((status, _)) => *status,
        None => crate::pages::forms::form_status(errors),
    };
    Ok((status, page("Personopplysninger", staff, body)).into_response())
}

pub async fn show(State(state): State<AppState>, staff: UiStaff, Path(id): Path<String>) -> PageResult {
    let id: PatientId = parse_id(&id)?;
    identity_page(
        &state,
        &staff,
        id,
        &FormData::default(),
        &FieldErrors::default(),
        None,
    )
    .await
}

pub async fn correct(
    State(state): State<AppState>,
    Path(id): Path<String>,
    StaffForm { staff, form }: StaffForm,
) -> PageResult {
    let id: PatientId = parse_id(&id)?;
    let input = IdentityChangeInput {
        national_id: None,
        given_name: form.get("given_name").to_string(),
        family_name: form.get("family_name").to_string(),
        phone: form.get("phone").to_string(),
        address: form.get("address").to_string(),
        reason: form.get("reason").to_string(),
    };
    // The version the form was loaded at: a correction saved since then refuses it.
    let Ok(version) = form.get("version").trim().parse::<i64>() else {
        return Err(AppError::Invalid(FieldErrors::single(
            "version",
            "Skjemaet mangler versjonen det ble hentet ved. Last siden på nytt.",
        ))
        .into());
    };
    match Service::new(&state, &staff.user)
        .correct_identity(id, Some(version), &input)
        .await
    {
        Ok(_) => Ok(Redirect::to(&format!("/pasienter/{id}")).into_response()),
        Err(AppError::Invalid(errors)) => identity_page(&state, &staff, id, &form, &errors, None).await,
        Err(AppError::Stale(message)) => {
            let fresh = FormData::default();
            identity_page(
                &state,
                &staff,
                id,
                &fresh,
                &FieldErrors::default(),
                Some((StatusCode::PRECONDITION_FAILED, message)),
            )
            .await
        }
        Err(other) => Err(other.into()),
    }
}
