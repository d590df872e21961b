//! The referral waiting list (venteliste): the unit's referrals not yet assessed,
//! with days waited, the deadline and a breach said in words, not by colour alone.

use axum::extract::State;
use axum::response::{IntoResponse, Response};
use maud::html;
use samhand_domain::format::{count_nb, date_nb};

use crate::AppState;
use crate::auth::UiStaff;
use crate::error::PageError;
use crate::pages::layout::page;
use crate::service::Service;

pub async fn waiting(State(state): State<AppState>, staff: UiStaff) -> Result<Response, PageError> {
    let list = Service::new(&state, &staff.user).waiting_referrals().await?;
    let breached = list.iter().filter(|w| w.breached).count();
    let body = html! {
        h1 { "Venteliste: henvisninger" }
        p { "Henvisninger som ikke er vurdert ennå. Fristen for vurdering regnes i virkedager fra mottaksdato." }
        @if breached > 0 {
            div.error role="alert" data-testid="breaches" {
                strong { (count_nb(breached, "henvisning", "henvisninger")) } " har passert fristen for vurdering."
            }
        }
        @if list.is_empty() {
            p { "Ingen henvisninger venter på vurdering." }
        } @else {
            table data-testid="waiting" {
                caption { "Ikke vurdert" }
                thead { tr {
                    th scope="col" { "Pasient" } th scope="col" { "Henvist av" } th scope="col" { "Mottatt" }
                    th scope="col" { "Dager ventet" } th scope="col" { "Frist for vurdering" }
                } }
                tbody {
                    @for w in &list {
                        tr.breached[w.breached] {
                            td { a href={ "/pasienter/" (w.patient.id) } { (w.patient.full_name()) } }
                            td { (w.referral.details.referrer_name) ", " (w.referral.details.referrer_service) }
                            td { (date_nb(w.referral.details.received_on)) }
                            td { (w.days_waited) }
                            td {
                                (date_nb(w.deadline))
                                @if w.breached { " " strong { "Fristen er passert" } }
                            }
                        }
                    }
                }
            }
        }
    };
    Ok(page("Venteliste", &staff, body).into_response())
}
