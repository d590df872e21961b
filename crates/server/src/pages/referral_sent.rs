//! A referring service's referrals to LAR (`/henvisninger`): the GP or municipal
//! service sends a referral to a chosen LAR unit (`/henvisninger/ny`), and sees the
//! status of those its service sent (received, assessed with or without a right,
//! started, ended) and nothing more of the LAR record (H89).

use axum::extract::State;
use axum::response::{IntoResponse, Redirect};
use maud::html;
use samhand_domain::format::date_nb;
use samhand_domain::validation::FieldErrors;

use crate::AppState;
use crate::auth::UiStaff;
use crate::error::AppError;
use crate::pages::PageResult;
use crate::pages::forms::{FormData, StaffForm, csrf, error_summary, form_status, input, select, textarea};
use crate::pages::layout::page;
use crate::service::{SentReferralInput, Service};

pub async fn list(State(state): State<AppState>, staff: UiStaff) -> PageResult {
    let sent = Service::new(&state, &staff.user).sent_referrals().await?;
    let body = html! {
        h1 { "Henvisninger til LAR" }
        p { a href="/henvisninger/ny" { "Send ny henvisning" } }
        p.hint { "Henvisningene tjenesten din har sendt, med status. Journalen i LAR ser du ikke herfra." }
        @if sent.is_empty() {
            p data-testid="sent-empty" { "Tjenesten har ikke sendt henvisninger fra Samhand." }
        } @else {
            div.scroll role="region" aria-label="Sendte henvisninger" tabindex="0" {
                table data-testid="sent-referrals" {
                    caption { "Sendte henvisninger" }
                    thead { tr {
                        th scope="col" { "Pasient" } th scope="col" { "LAR-enhet" } th scope="col" { "Mottatt" }
                        th scope="col" { "Henvist av" } th scope="col" { "Status" }
                    } }
                    tbody {
                        @for s in &sent {
                            tr {
                                td { (s.patient_name) " (" (s.national_id) ")" }
                                td { (s.lar_unit) }
                                td { (date_nb(s.received_on)) }
                                td { (s.referred_by) }
                                td data-status=(s.status.code()) { (s.status.label_nb()) }
                            }
                        }
                    }
                }
            }
        }
    };
    Ok(page("Henvisninger til LAR", &staff, body).into_response())
}

async fn form_page(state: &AppState, staff: &UiStaff, form: &FormData, errors: &FieldErrors) -> PageResult {
    let units: Vec<(String, String)> = Service::new(state, &staff.user)
        .lar_units()
        .await?
        .into_iter()
        .map(|(id, name)| (id.to_string(), name))
        .collect();
    let body = html! {
        h1 { "Send henvisning til LAR" }
        p { a href="/henvisninger" { "Tilbake til henvisningene" } }
        p.hint { "Henvisningen kommer på LAR-enhetens venteliste som mottatt i dag, med deg som henviser. Du får svar på vurderingen i innboksen." }
        (error_summary(errors))
        form.stack method="post" action="/henvisninger/ny" data-testid="sent-referral-form" {
            (csrf(&staff.csrf))
            (select("LAR-enhet", "lar_unit_id", &units, form.get("lar_unit_id"), errors))
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
                (textarea("Årsak til henvisningen", "reason", form.get("reason"), errors))
                (textarea("Din vurdering", "referrer_assessment", form.get("referrer_assessment"), errors))
            }
            button type="submit" { "Send henvisning" }
        }
    };
    Ok((form_status(errors), page("Send henvisning til LAR", staff, body)).into_response())
}

pub async fn form(State(state): State<AppState>, staff: UiStaff) -> PageResult {
    if !samhand_domain::referral::may_refer(&staff.user) {
        return Err(AppError::Forbidden(
            "Bare fastlege eller helsepersonell i en kommunal helse- og omsorgstjeneste kan sende henvisninger herfra.".into(),
        )
        .into());
    }
    form_page(&state, &staff, &FormData::default(), &FieldErrors::default()).await
}

pub async fn submit(State(state): State<AppState>, StaffForm { staff, form }: StaffForm) -> PageResult {
    let input = SentReferralInput {
        lar_unit_id: form.get("lar_unit_id").into(),
        patient: form.patient_input(),
        reason: form.get("reason").into(),
        referrer_assessment: form.get("referrer_assessment").into(),
    };
    match Service::new(&state, &staff.user).send_referral(&input).await {
        Ok(_) => Ok(Redirect::to("/henvisninger").into_response()),
        Err(AppError::Invalid(errors)) => form_page(&state, &staff, &form, &errors).await,
        Err(other) => Err(other.into()),
    }
}
