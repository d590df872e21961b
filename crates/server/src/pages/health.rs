//! The health information page: notes dispensing staff must know, with history, and
//! the form for a new note or a correction.

use axum::extract::{Path, State};
use axum::response::{IntoResponse, Redirect, Response};
use maud::html;
use samhand_domain::health::{HealthConditionKind, HealthNoteInput};
use samhand_domain::ids::PatientId;
use samhand_domain::validation::FieldErrors;

use crate::AppState;
use crate::auth::UiStaff;
use crate::error::{AppError, PageError};
use crate::pages::forms::{FormData, StaffForm, csrf, error_summary, form_status, input, select, textarea};
use crate::pages::labels::instant_nb;
use crate::pages::layout::page;
use crate::service::Service;

type PageResult = Result<Response, PageError>;

async fn health_page(
    state: &AppState,
    staff: &UiStaff,
    id: PatientId,
    form: &FormData,
    errors: &FieldErrors,
) -> PageResult {
    let service = Service::new(state, &staff.user);
    let view = service.health_information(id).await?;
    let may_record = service.offers(id).await?.record_health;
    let name = |user| view.names.get(&user).cloned().unwrap_or_default();
    let kinds: Vec<(String, String)> = HealthConditionKind::ALL
        .iter()
        .map(|k| (k.code().to_string(), k.label_nb().to_string()))
        .collect();
    let current: Vec<(String, String)> = view
        .current
        .iter()
        .map(|n| (n.id.to_string(), format!("{}: {}", n.kind.label_nb(), n.text)))
        .collect();
    let body = html! {
        h1 { "Helseopplysninger for utlevering" }
        p { a href={ "/pasienter/" (id) } { "Tilbake til oversikten" } }
        p.hint { "Det utdelingspersonalet må vite: epilepsi, diabetes, allergier, graviditet, legemidler med interaksjon. Deles med utleveringsstedet bare når pasienten har samtykket." }
        @if view.current.is_empty() {
            p { "Ingen gjeldende opplysninger." }
        } @else {
            ul.health {
                @for note in &view.current {
                    li { span.badge.bad { (note.kind.label_nb()) } " " (note.text) }
                }
            }
        }
        @if may_record {
        h2 { "Registrer" }
        (error_summary(errors))
        form.stack method="post" action={ "/pasienter/" (id) "/helse" } {
            (csrf(&staff.csrf))
            (select("Gjelder", "kind", &kinds, form.get("kind"), errors))
            (textarea("Hva utdelingspersonalet må vite", "text", form.get("text"), errors))
            @if !current.is_empty() {
                (select("Retter eller avslutter (valgfritt)", "replaces", &current, form.get("replaces"), errors))
                label.checkbox { input type="checkbox" name="resolved" value="1" checked[form.has("resolved")]; "Gjelder ikke lenger" }
                (input("Hvorfor rettes eller avsluttes den", "reason", "text", form.get("reason"), errors, None))
            }
            button type="submit" { "Lagre" }
        }
        }
        @if !view.history.is_empty() {
            h2 { "Historikk" }
            table {
                thead { tr { th { "Tidspunkt" } th { "Gjelder" } th { "Tekst" } th { "Status" } th { "Av" } th { "Begrunnelse" } } }
                tbody {
                    @for note in &view.history {
                        tr {
                            td { (instant_nb(note.recorded_at)) }
                            td { (note.kind.label_nb()) }
                            td { (note.text) }
                            td { @if note.active { @if note.replaces.is_some() { "Rettet" } @else { "Ny" } } @else { "Gjelder ikke lenger" } }
                            td { (name(note.recorded_by)) }
                            td { (note.reason) }
                        }
                    }
                }
            }
        }
    };
    Ok((form_status(errors), page("Helseopplysninger", staff, body)).into_response())
}

pub async fn show(State(state): State<AppState>, staff: UiStaff, Path(id): Path<String>) -> PageResult {
    let id: PatientId = crate::pages::forms::parse_id(&id)?;
    health_page(&state, &staff, id, &FormData::default(), &FieldErrors::default()).await
}

pub async fn record(
    State(state): State<AppState>,
    Path(id): Path<String>,
    StaffForm { staff, form }: StaffForm,
) -> PageResult {
    let id: PatientId = crate::pages::forms::parse_id(&id)?;
    let replaces = match form.get("replaces").trim() {
        "" => None,
        raw => match raw.parse() {
            Ok(r) => Some(r),
            Err(_) => {
                let errors = FieldErrors::single("replaces", "Opplysningen som skal rettes, finnes ikke.");
                return health_page(&state, &staff, id, &form, &errors).await;
            }
        },
    };
    let input = HealthNoteInput {
        kind: form.get("kind").into(),
        text: form.get("text").into(),
        replaces,
        resolved: form.has("resolved"),
        reason: form.get("reason").into(),
    };
    match Service::new(&state, &staff.user)
        .record_health_note(id, &input)
        .await
    {
        Ok(_) => Ok(Redirect::to(&format!("/pasienter/{id}/helse")).into_response()),
        Err(AppError::Invalid(errors)) => health_page(&state, &staff, id, &form, &errors).await,
        Err(other) => Err(other.into()),
    }
}
