//! The planning checklist on the patient's overview (responsibility group,
//! individual plan offer, choice of medicine, place of dispensing, start in an
//! institution or at home), while the episode is before or in its start: each item
//! settled by the record or checked by hand with who and when, and the form to
//! check one (`/pasienter/{id}/sjekkliste`).

use axum::extract::{Path, State};
use axum::response::{IntoResponse, Redirect};
use maud::{Markup, html};
use samhand_domain::format::date_nb;
use samhand_domain::ids::{PatientId, UserId};
use samhand_domain::patient::Phase;

use crate::AppState;
use crate::auth::UiStaff;
use crate::error::AppError;
use crate::pages::PageResult;
use crate::pages::forms::{FormData, StaffForm, csrf, error_summary, input, parse_id, select};
use crate::pages::labels::instant_nb;
use crate::pages::layout::page;
use crate::service::{PlanningChecklist, Service};

/// What the overview shows: the checklist where the actor may read it and the
/// episode is in referral, planning or start.
pub struct Checklist {
    pub list: PlanningChecklist,
    pub names: std::collections::HashMap<UserId, String>,
}

pub async fn load(service: &Service<'_>, patient: PatientId) -> Result<Option<Checklist>, AppError> {
    let list = match service.planning_checklist(patient).await {
        Ok(found) => found,
        Err(AppError::Forbidden(_) | AppError::NotFound(_)) => return Ok(None),
        Err(other) => return Err(other),
    };
    let episode = &list.episode;
    if !matches!(episode.phase, Phase::Referral | Phase::Planning | Phase::Start) || episode.ended.is_some() {
        return Ok(None);
    }
    let names = service
        .names(list.rows.iter().filter_map(|r| r.done.as_ref().map(|d| d.by)))
        .await?;
    Ok(Some(Checklist { list, names }))
}

pub fn section(
    patient: PatientId,
    list: &Checklist,
    staff: &UiStaff,
    form: &FormData,
    errors: &samhand_domain::validation::FieldErrors,
) -> Markup {
    let open: Vec<(String, String)> = list
        .list
        .rows
        .iter()
        .filter(|r| r.done.is_none() || !r.done.as_ref().is_some_and(|d| d.derived))
        .map(|r| (r.item.code().to_string(), r.item.label_nb().to_string()))
        .collect();
    html! {
        section.card aria-labelledby="planning" data-testid="planning-checklist" {
            h2 #planning { "Planlegging før oppstart" }
            @if let Some(referral) = &list.list.referral {
                p data-testid="referral-link" {
                    "Henvist " (date_nb(referral.details.received_on)) " av " (referral.details.referrer_service) ". "
                    @match &list.list.assessment {
                        Some(a) => {
                            (a.content.decision.label_nb())
                            @if let Some(latest) = a.content.latest_start { ", seneste oppstart " strong { (date_nb(latest)) } }
                            ". "
                        }
                        None => { "Ikke vurdert ennå. " }
                    }
                    a href={ "/venteliste/" (referral.id) } { "Henvisning og vurdering" }
                }
            }
            ul.checklist {
                @for r in &list.list.rows {
                    li {
                        @match &r.done {
                            Some(d) => {
                                span.badge { "Avklart" } " " strong { (r.item.label_nb()) } ": " (d.what)
                                " (" (instant_nb(d.at)) ", " (list.names.get(&d.by).cloned().unwrap_or_default())
                                @if d.derived { ", fra journalen" } ")"
                            }
                            None => { span.badge.warn { "Åpen" } " " strong { (r.item.label_nb()) } }
                        }
                    }
                }
            }
            @if !open.is_empty() {
                (error_summary(errors))
                form.stack method="post" action={ "/pasienter/" (patient) "/sjekkliste" } {
                    (csrf(&staff.csrf))
                    (select("Punkt", "item", &open, form.get("item"), errors))
                    (input("Hva er avklart", "note", "text", form.get("note"), errors, Some("F.eks. buprenorfin, Sentrum LAR-utlevering eller oppstart hjemme")))
                    button type="submit" { "Kryss av" }
                }
            }
        }
    }
}

pub async fn check(
    State(state): State<AppState>,
    Path(id): Path<String>,
    StaffForm { staff, form }: StaffForm,
) -> PageResult {
    let id: PatientId = parse_id(&id)?;
    let service = Service::new(&state, &staff.user);
    match service
        .check_planning_item(id, form.get("item"), form.get("note"))
        .await
    {
        Ok(_) => Ok(Redirect::to(&format!("/pasienter/{id}")).into_response()),
        Err(AppError::Invalid(errors)) => {
            let Some(list) = load(&service, id).await? else {
                return Err(AppError::Invalid(errors).into());
            };
            let body = html! {
                h1 { "Planlegging før oppstart" }
                p { a href={ "/pasienter/" (id) } { "Tilbake til oversikten" } }
                (section(id, &list, &staff, &form, &errors))
            };
            Ok((
                axum::http::StatusCode::UNPROCESSABLE_ENTITY,
                page("Sjekkliste", &staff, body),
            )
                .into_response())
        }
        Err(other) => Err(other.into()),
    }
}
