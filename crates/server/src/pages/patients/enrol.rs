//! Enrolment: a new patient registered and enrolled in LAR at the staff member's
//! own unit, with the responsible doctor, the LAR consultant and the identity
//! photo (a multipart form, so it checks its CSRF token itself).

use axum::extract::{Multipart, State};
use axum::response::{IntoResponse, Redirect};
use maud::html;
use samhand_domain::access;
use samhand_domain::organisation::Role;
use samhand_domain::patient::Phase;
use samhand_domain::validation::FieldErrors;

use crate::AppState;
use crate::auth::UiStaff;
use crate::error::AppError;
use crate::pages::PageResult;
use crate::pages::forms::{FormData, csrf, error_summary, form_status, group_error, input, select};
use crate::pages::labels::phase_name;
use crate::pages::layout::page;
use crate::service::{EnrolInput, Photo, Service};

async fn enrol_page(state: &AppState, staff: &UiStaff, form: &FormData, errors: &FieldErrors) -> PageResult {
    let service = Service::new(state, &staff.user);
    let staff_list = service.colleagues().await?;
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
    let phases: Vec<(String, String)> = Phase::ALL
        .iter()
        .map(|p| (p.code().to_string(), phase_name(*p).to_string()))
        .collect();
    let today = state.clock.today().to_string();
    let started = if form.has("started_on") {
        form.get("started_on")
    } else {
        &today
    };
    let phase = if form.has("phase") {
        form.get("phase")
    } else {
        "start"
    };
    let body = html! {
        h1 { "Innskriv pasient i LAR" }
        (error_summary(errors))
        form.stack method="post" action="/pasienter/ny" enctype="multipart/form-data" {
            (csrf(&staff.csrf))
            (input("Fødselsnummer eller D-nummer", "national_id", "text", form.get("national_id"), errors, Some("11 sifre")))
            (input("Fornavn", "given_name", "text", form.get("given_name"), errors, None))
            (input("Etternavn", "family_name", "text", form.get("family_name"), errors, None))
            (input("Telefon", "phone", "text", form.get("phone"), errors, None))
            (input("Adresse", "address", "text", form.get("address"), errors, None))
            div {
                label for="photo" { "Bilde for identitetskontroll" }
                div.hint { "JPEG, PNG eller WebP, høyst 5 MB" }
                input type="file" id="photo" name="photo" accept="image/jpeg,image/png,image/webp";
                (group_error(errors, "photo"))
            }
            (select("Ansvarlig lege", "doctor_id", &doctors, form.get("doctor_id"), errors))
            (select("LAR-konsulent", "consultant_id", &consultants, form.get("consultant_id"), errors))
            (input("Innskrevet fra", "started_on", "date", started, errors, None))
            (select("Fase", "phase", &phases, phase, errors))
            button type="submit" { "Innskriv" }
        }
    };
    let status = form_status(errors);
    Ok((status, page("Innskriv pasient", staff, body)).into_response())
}

#[derive(serde::Deserialize, Default)]
pub struct EnrolQuery {
    /// A patient coming back after LAR ended: the form is filled in from who they are.
    #[serde(default)]
    pasient: String,
}

pub async fn form(
    State(state): State<AppState>,
    staff: UiStaff,
    axum::extract::Query(query): axum::extract::Query<EnrolQuery>,
) -> PageResult {
    if !access::may_enrol(&staff.user).is_allowed() {
        return Err(AppError::Forbidden(
            "Bare lege eller LAR-konsulent ved en LAR-enhet kan innskrive pasienter.".into(),
        )
        .into());
    }
    let mut form = FormData::default();
    if !query.pasient.is_empty() {
        let id = crate::pages::forms::parse_id(&query.pasient)?;
        let patient = Service::new(&state, &staff.user).identity_of(id).await?;
        form.0 = vec![
            ("national_id".into(), patient.national_id.as_str().to_string()),
            ("given_name".into(), patient.given_name),
            ("family_name".into(), patient.family_name),
            ("phone".into(), patient.phone),
            ("address".into(), patient.address),
        ];
    }
    enrol_page(&state, &staff, &form, &FieldErrors::default()).await
}

pub async fn submit(State(state): State<AppState>, staff: UiStaff, mut multipart: Multipart) -> PageResult {
    let mut form = FormData::default();
    let mut photo = None;
    while let Some(field) = multipart.next_field().await.map_err(|_| {
        AppError::Invalid(FieldErrors::single(
            "photo",
            "Skjemaet kunne ikke leses. Prøv igjen.",
        ))
    })? {
        let name = field.name().unwrap_or_default().to_string();
        if name == "photo" {
            let content_type = field.content_type().unwrap_or_default().to_string();
            let bytes = field
                .bytes()
                .await
                .map_err(|_| AppError::Invalid(FieldErrors::single("photo", "Bildet kunne ikke leses.")))?;
            if !bytes.is_empty() {
                photo = Some(Photo {
                    content_type,
                    bytes: bytes.to_vec(),
                });
            }
        } else {
            let value = field.text().await.unwrap_or_default();
            form.0.push((name, value));
        }
    }
    staff.check_csrf(form.get("csrf"))?;
    let input = EnrolInput {
        patient: form.patient_input(),
        doctor_id: form.get("doctor_id").into(),
        consultant_id: form.get("consultant_id").into(),
        started_on: form.get("started_on").into(),
        phase: form.get("phase").into(),
    };
    match Service::new(&state, &staff.user).enrol(&input, photo).await {
        Ok(id) => Ok(Redirect::to(&format!("/pasienter/{id}")).into_response()),
        Err(AppError::Invalid(errors)) => enrol_page(&state, &staff, &form, &errors).await,
        Err(other) => Err(other.into()),
    }
}

// ---------------------------------------------------------------- overview
