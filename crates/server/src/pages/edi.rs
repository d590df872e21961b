//! EDI messages for the unit (`/edi`): received messages held because they could
//! not be linked to a patient in LAR, to resolve (link after checking, or refuse
//! with an error receipt), and messages sent by EDI that no receipt has answered.

use axum::extract::{Path, State};
use axum::response::{IntoResponse, Redirect};
use maud::{Markup, html};
use samhand_store::edi::UnplacedRecord;

use crate::AppState;
use crate::auth::UiStaff;
use crate::error::AppError;
use crate::pages::PageResult;
use crate::pages::forms::{StaffForm, csrf};
use crate::pages::labels::instant_nb;
use crate::pages::layout::page;
use crate::service::Service;

fn held_card(staff: &UiStaff, r: &UnplacedRecord) -> Markup {
    let id = &r.msg_id;
    html! {
        article.card data-testid="edi-held" {
            h3 { (r.topic) }
            p { "Fra " (r.sender_name) " (HER-id " (r.sender_her_id) "), mottatt " (instant_nb(r.received_at)) "." }
            p { "Gjelder: " (r.given_name) " " (r.family_name) ", fødselsnummer " (if r.national_id.is_empty() { "mangler" } else { r.national_id.as_str() }) "." }
            p { span.badge.warn { (r.reason.label_nb()) } }
            p { (r.body) }
            @match &r.resolution {
                Some((outcome, _, at)) => p { @if outcome == "linked" { "Knyttet til pasienten" } @else { "Avvist, avsender er varslet" } " " (instant_nb(*at)) "." },
                None => {
                    div.row {
                        form method="post" action={ "/edi/" (id) "/knytt" } {
                            (csrf(&staff.csrf))
                            button type="submit" { "Knytt til pasienten med fødselsnummeret" }
                        }
                        form method="post" action={ "/edi/" (id) "/avvis" } {
                            (csrf(&staff.csrf))
                            button type="submit" { "Kan ikke plasseres: avvis" }
                        }
                    }
                }
            }
        }
    }
}

async fn edi_page(state: &AppState, staff: &UiStaff, problem: Option<String>) -> PageResult {
    let service = Service::new(state, &staff.user);
    let held = service.unplaced_edi().await?;
    let unanswered = service.unanswered_edi().await?;
    let open = held.iter().filter(|r| r.resolution.is_none()).count();
    let body = html! {
        h1 { "EDI-meldinger" }
        @if let Some(problem) = problem { div.error role="alert" { (problem) } }
        h2 { "Mottatte meldinger til avklaring (" (open) ")" }
        p.hint { "Meldinger fra tjenester utenfor Samhand som ikke kunne knyttes til en pasient i LAR: ukjent fødselsnummer, et annet navn enn pasientens, eller en person som ikke er i LAR. Sjekk før du knytter en melding til pasienten; en melding som ikke kan plasseres, avvises, og avsenderen får beskjed." }
        @if held.is_empty() { p { "Ingen meldinger til avklaring." } }
        @for r in &held { (held_card(staff, r)) }
        h2 { "Sendte meldinger uten kvittering" }
        @if unanswered.is_empty() {
            p { "Alle sendte meldinger er kvittert." }
        } @else {
            div.error role="status" { (unanswered.len()) " sendte meldinger har ikke fått kvittering innen fristen. Ta kontakt med mottakeren." }
            table data-testid="edi-unanswered" {
                thead { tr { th scope="col" { "Sendt" } th scope="col" { "Til" } th scope="col" { "Type" } } }
                tbody {
                    @for s in &unanswered {
                        tr { td { (instant_nb(s.sent_at)) } td { (s.receiver_name) " (HER-id " (s.receiver_her_id) ")" } td { (s.msg_type) } }
                    }
                }
            }
        }
    };
    Ok(page("EDI-meldinger", staff, body).into_response())
}

pub async fn show(State(state): State<AppState>, staff: UiStaff) -> PageResult {
    edi_page(&state, &staff, None).await
}

pub async fn link(
    State(state): State<AppState>,
    Path(id): Path<String>,
    StaffForm { staff, form: _ }: StaffForm,
) -> PageResult {
    match Service::new(&state, &staff.user).link_unplaced_edi(&id).await {
        Ok(patient) => Ok(Redirect::to(&format!("/pasienter/{patient}/meldinger")).into_response()),
        Err(AppError::Invalid(errors)) => {
            let message = errors.0.first().map(|e| e.message.clone()).unwrap_or_default();
            edi_page(&state, &staff, Some(message)).await
        }
        Err(other) => Err(other.into()),
    }
}

pub async fn refuse(
    State(state): State<AppState>,
    Path(id): Path<String>,
    StaffForm { staff, form: _ }: StaffForm,
) -> PageResult {
    Service::new(&state, &staff.user).refuse_unplaced_edi(&id).await?;
    Ok(Redirect::to("/edi").into_response())
}
