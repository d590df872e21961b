//! The administrator's pages: organisations and dispensing places, users, FHIR
//! system clients, the policy thresholds, and the import of organisations and users
//! from a CSV file. Only an administrator opens them (`admin` checks); no patient
//! data is shown here.

pub mod import;
pub mod organisations;
pub mod settings;
pub mod users;

use axum::Router;
use axum::extract::State;
use axum::response::IntoResponse;
use axum::routing::{get, post};
use maud::html;
use samhand_domain::access::may_administer;

use crate::AppState;
use crate::auth::{UiStaff, require};
use crate::pages::PageResult;
use crate::pages::layout::page;

pub fn routes() -> Router<AppState> {
    Router::new()
        .route("/admin", get(home))
        .route(
            "/admin/organisasjoner",
            get(organisations::list).post(organisations::add),
        )
        .route(
            "/admin/organisasjoner/{id}",
            get(organisations::show).post(organisations::change),
        )
        .route("/admin/brukere", get(users::list).post(users::add))
        .route("/admin/brukere/{id}", get(users::show))
        .route("/admin/brukere/{id}/status", post(users::change_status))
        .route("/admin/brukere/{id}/invitasjon", post(users::invite))
        .route("/admin/brukere/{id}/rolle", post(users::add_role))
        .route("/admin/brukere/{id}/hpr", post(users::set_hpr_number))
        .route(
            "/invitasjon/{token}",
            get(users::invitation).post(users::accept_invitation),
        )
        .route("/admin/systemklienter", get(settings::clients))
        .route(
            "/admin/systemklienter/{id}/trekk-tilbake",
            post(settings::revoke_client),
        )
        .route(
            "/admin/import",
            get(import::show)
                .post(import::submit)
                .layer(axum::extract::DefaultBodyLimit::max(crate::UPLOAD_LIMIT)),
        )
        .route(
            "/admin/terskler",
            get(settings::policy).post(settings::set_policy),
        )
}

async fn home(State(state): State<AppState>, staff: UiStaff) -> PageResult {
    require(may_administer(&staff.user))?;
    let organisations = crate::admin::organisations_view(&state, &staff.user).await?;
    let users = crate::admin::users_view(&state, &staff.user).await?;
    let active = users.iter().filter(|u| u.record.active).count();
    let body = html! {
        h1 { "Administrasjon" }
        div.cards {
            section.card {
                h2.card-title { a href="/admin/organisasjoner" { "Organisasjoner" } }
                p { (organisations.len()) " registrert, "
                    (organisations.iter().filter(|o| o.organisation.kind.can_dispense()).count()) " som deler ut legemidler." }
                p { a href="/admin/organisasjoner#ny" { "Legg til en organisasjon" } }
            }
            section.card {
                h2.card-title { a href="/admin/brukere" { "Brukere" } }
                p { (active) " aktive, " (users.len() - active) " deaktiverte." }
                p { a href="/admin/brukere#ny" { "Legg til eller inviter en bruker" } }
            }
            section.card {
                h2.card-title { a href="/admin/systemklienter" { "Systemklienter (FHIR)" } }
                p { "Andre systemer som leser og skriver gjennom FHIR-grensesnittet." }
            }
            section.card {
                h2.card-title { a href="/admin/import" { "Import" } }
                p { "Organisasjoner og brukere fra en CSV-fil, med prøvekjøring først." }
            }
            section.card {
                h2.card-title { a href="/admin/terskler" { "Kliniske terskler" } }
                p { "Grensene for varsler og sperrer, med hvem som endret dem og når." }
            }
        }
    };
    Ok(page("Administrasjon", &staff, body).into_response())
}
