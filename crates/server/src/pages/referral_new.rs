//! Registering a referral as it arrives (`/venteliste/ny`), from a paper or
//! electronic referral: the person, who at the unit assesses it, and the referral.

use axum::extract::State;
use axum::response::{IntoResponse, Redirect};
use maud::html;
use samhand_domain::access;
use samhand_domain::organisation::Role;
use samhand_domain::referral::ReferralInput;
use samhand_domain::validation::FieldErrors;

use crate::AppState;
use crate::auth::UiStaff;
use crate::error::AppError;
use crate::pages::PageResult;
use crate::pages::forms::{FormData, StaffForm, csrf, error_summary, form_status, input, select, textarea};
use crate::pages::layout::page;
use crate::service::{ReferralRegistration, Service};

fn refused() -> AppError {
    AppError::Forbidden("Bare lege eller LAR-konsulent ved en LAR-enhet kan registrere henvisninger.".into())
}

async fn form_page(state: &AppState, staff: &UiStaff, form: &FormData, errors: &FieldErrors) -> PageResult {
    let staff_list = Service::new(state, &staff.user).colleagues().await?;
    let doctors: Vec<(String, String)> = staff_list
        .iter()
        .filter(|u| access::may_prescribe(u))
        .map(|u| (u.id.to_string(), u.display_name.clone()))
        .collect();
    let consultants: Vec<(String, String)> = staff_list
        .iter()
        .filter(|u| u.role == Role::LarConsultant)
        .map(|u| (u.id.to_string(), u.display_name.clone()))
        .collect();
    let mut referrers: Vec<(String, String)> = Service::new(state, &staff.user)
        .organisations()
        .await?
        .values()
        .filter(|o| o.id != staff.user.organisation_id)
        .map(|o| (o.id.to_string(), format!("{} ({})", o.name, o.municipality)))
        .collect();
    referrers.sort_by(|a, b| a.1.cmp(&b.1));
    let today = state.clock.today().to_string();
    let received = if form.has("received_on") {
        form.get("received_on")
    } else {
        &today
    };
    let body = html! {
        h1 { "Registrer henvisning" }
        p { a href="/venteliste" { "Tilbake til ventelisten" } }
        p.hint { "Fra en henvisning på papir eller elektronisk. En person som allerede er registrert med fødselsnummeret, får henvisningen (navnet må stemme); ellers registreres personen." }
        (error_summary(errors))
        form.stack method="post" action="/venteliste/ny" data-testid="referral-form" {
            (csrf(&staff.csrf))
            fieldset {
                legend { "Pasienten" }
                (input("Fødselsnummer eller D-nummer", "national_id", "text", form.get("national_id"), errors, Some("11 sifre")))
                (input("Fornavn", "given_name", "text", form.get("given_name"), errors, None))
                (input("Etternavn", "family_name", "text", form.get("family_name"), errors, None))
                (input("Telefon", "phone", "text", form.get("phone"), errors, None))
                (input("Adresse", "address", "text", form.get("address"), errors, None))
            }
            fieldset {
                legend { "Henvisningen" }
                (input("Henvist av (person)", "referrer_name", "text", form.get("referrer_name"), errors, None))
                (input("Henvisende tjeneste", "referrer_service", "text", form.get("referrer_service"), errors,
                    Some("F.eks. fastlegekontor, kommunal tjeneste, psykolog eller sykehusavdeling")))
                (select("Henvisende tjeneste i registeret (valgfritt)", "referrer_organisation_id", &referrers,
                    form.get("referrer_organisation_id"), errors))
                p.hint { "Er tjenesten registrert, får den svar på vurderingen: i Samhand, eller som EDI-melding når den har HER-id og ikke bruker Samhand." }
                (textarea("Årsak til henvisningen", "reason", form.get("reason"), errors))
                (textarea("Henviserens vurdering", "referrer_assessment", form.get("referrer_assessment"), errors))
                (input("Mottatt", "received_on", "date", received, errors, None))
            }
            fieldset {
                legend { "Ansvarlige ved LAR-enheten" }
                (select("Ansvarlig lege", "doctor_id", &doctors, form.get("doctor_id"), errors))
                (select("LAR-konsulent", "consultant_id", &consultants, form.get("consultant_id"), errors))
            }
            button type="submit" { "Registrer henvisning" }
        }
    };
    Ok((form_status(errors), page("Registrer henvisning", staff, body)).into_response())
}

pub async fn form(State(state): State<AppState>, staff: UiStaff) -> PageResult {
    if !access::may_enrol(&staff.user).is_allowed() {
        return Err(refused().into());
    }
    form_page(&state, &staff, &FormData::default(), &FieldErrors::default()).await
}

pub async fn submit(State(state): State<AppState>, StaffForm { staff, form }: StaffForm) -> PageResult {
    let input = ReferralRegistration {
        patient: form.patient_input(),
        doctor_id: form.get("doctor_id").into(),
        consultant_id: form.get("consultant_id").into(),
        referral: ReferralInput {
            referrer_name: form.get("referrer_name").into(),
            referrer_service: form.get("referrer_service").into(),
            reason: form.get("reason").into(),
            referrer_assessment: form.get("referrer_assessment").into(),
            received_on: form.get("received_on").into(),
        },
        referrer_organisation_id: form.get("referrer_organisation_id").into(),
    };
    match Service::new(&state, &staff.user).register_referral(&input).await {
        Ok(done) => Ok(Redirect::to(&format!("/venteliste/{}", done.referral_id)).into_response()),
        Err(AppError::Invalid(errors)) => form_page(&state, &staff, &form, &errors).await,
        Err(other) => Err(other.into()),
    }
}
