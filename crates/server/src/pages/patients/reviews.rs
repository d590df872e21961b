//! Overdue reviews: arrangements in force whose review date has passed, for the
//! patients of the staff member's unit; and drug-test regimes with samples not
//! delivered or past their review.

use axum::extract::State;
use axum::response::IntoResponse;
use maud::html;
use samhand_domain::format::date_nb;

use crate::AppState;
use crate::auth::UiStaff;
use crate::pages::PageResult;
use crate::pages::layout::page;
use crate::service::Service;

pub async fn overdue(State(state): State<AppState>, staff: UiStaff) -> PageResult {
    let service = Service::new(&state, &staff.user);
    let reviews = service.overdue_reviews().await?;
    let drug_tests = service.drug_test_follow_up().await?;
    let body = html! {
        h1 { "Forfalte revurderinger av utleveringsordning" }
        p.hint { "Ordninger i kraft der revurderingsdatoen er passert, for pasienter ved din enhet." }
        @if reviews.is_empty() {
            p { "Ingen forfalte revurderinger." }
        } @else {
            table {
                thead { tr { th { "Pasient" } th { "Sted" } th { "Skulle revurderes" } th { "Versjon" } } }
                tbody {
                    @for r in &reviews {
                        tr {
                            td { a href={ "/pasienter/" (r.patient.id) } { (r.patient.full_name()) } }
                            td { (r.place_name) }
                            td { (date_nb(r.arrangement.content.review_on)) }
                            td { (r.arrangement.version) }
                        }
                    }
                }
            }
        }
        (crate::pages::drug_test_regime::follow_up_section(&drug_tests))
        p.hint { "Innlogget som " (staff.user.display_name) " (" (staff.user.role.label_nb()) ")." }
    };
    Ok(page("Revurderinger", &staff, body).into_response())
}
