//! Patient pages, one room each: the search with today's alerts (here),
//! `enrol` (a new patient into LAR), `overview` (the patient's page and the
//! identity photo), `orders` (a dose order drafted, signed or discarded),
//! `arrangements` (the dispensing arrangement and holiday covers), `ending`
//! (ending treatment) and `reviews` (overdue reviews of arrangements). A saved
//! change comes back to the overview with a notice.

pub mod arrangements;
pub mod dose_chart;
pub mod ending;
pub mod enrol;
pub mod orders;
pub mod overview;
pub mod reviews;

use axum::extract::{Query, State};
use axum::response::IntoResponse;
use maud::html;
use samhand_domain::access;

use crate::AppState;
use crate::auth::UiStaff;
use crate::pages::PageResult;
use crate::pages::labels::alert_text;
use crate::pages::layout::page;
use crate::service::Service;

#[derive(serde::Deserialize, Default)]
pub struct SearchQuery {
    #[serde(default)]
    q: String,
}

/// The start page for clinicians: today's alerts and the search.
pub async fn search(
    State(state): State<AppState>,
    staff: UiStaff,
    Query(query): Query<SearchQuery>,
) -> PageResult {
    let service = Service::new(&state, &staff.user);
    let found = service.search(&query.q).await?;
    let alerts = service.alerts().await?;
    let may_enrol = access::may_enrol(&staff.user).is_allowed();
    let body = html! {
        h1 { "Pasienter" }
        @if !alerts.is_empty() {
            section.card aria-labelledby="alerts" {
                h2.card-title #alerts { "Varsler i dag" }
                ul {
                    @for alert in &alerts {
                        li {
                            a href={ "/pasienter/" (alert.patient.id) } { (alert.patient.full_name()) } ": "
                            (alert_text(&alert.kind))
                        }
                    }
                }
            }
        }
        form.inline method="get" action="/pasienter" role="search" {
            div {
                label for="q" { "Søk på navn eller fødselsnummer" }
                input type="search" id="q" name="q" value=(query.q) autofocus;
            }
            button type="submit" { "Søk" }
            @if may_enrol { a.button href="/pasienter/ny" { "Innskriv ny pasient" } }
        }
        @if query.q.trim().chars().count() >= 2 {
            @if found.is_empty() {
                p { "Ingen treff blant pasientene du har tilgang til." }
            } @else {
                table {
                    thead { tr { th { "Navn" } th { "Fødselsnummer" } } }
                    tbody {
                        @for p in &found {
                            tr {
                                td { a href={ "/pasienter/" (p.id) } { (p.family_name) ", " (p.given_name) } }
                                td { (p.national_id.as_str()) }
                            }
                        }
                    }
                }
            }
        } @else if !query.q.is_empty() {
            p.hint { "Skriv minst to tegn." }
        }
    };
    Ok(page("Pasienter", &staff, body).into_response())
}
