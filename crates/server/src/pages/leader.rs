//! The leader's overview page.

use axum::extract::State;
use axum::response::{IntoResponse, Response};
use maud::html;
use samhand_domain::format::{count_nb, date_nb, plural_nb};

use crate::AppState;
use crate::auth::UiStaff;
use crate::error::PageError;
use crate::pages::labels::alert_text;
use crate::pages::labels::instant_nb;
use crate::pages::layout::page;
use crate::service::Service;

pub async fn show(State(state): State<AppState>, staff: UiStaff) -> Result<Response, PageError> {
    let o = Service::new(&state, &staff.user).leader_overview().await?;
    let waiting = crate::pages::referrals::leader_breaches(&state, &staff, &o.unit).await?;
    let figures = Service::new(&state, &staff.user).indicator_summary().await?;
    let body = html! {
        h1 { "Oversikt for leder: " (o.unit.name) }
        div.cards {
            section.card data-testid="load" {
                h2 { "Belastning" }
                p { strong { (o.patients) } " " (plural_nb(o.patients, "pasient", "pasienter")) @if o.unit.kind.is_lar_unit() { " i behandling" } @else { " henter her" } }
                @if let Some((expected, done)) = o.today_expected {
                    p { "I dag: " strong { (done) } " av " strong { (expected) } " ferdige" }
                }
                @if !o.by_place.is_empty() {
                    table {
                        thead { tr { th { "Utleveringssted" } th { "Pasienter" } } }
                        tbody { @for (place, n) in &o.by_place { tr { td { (place.name) } td { (n) } } } }
                    }
                }
            }
            section.card {
                h2 { "Varsler" }
                p { strong { (o.blocked.len()) } " sperret etter uteblitte doser · " strong { (o.missed.len()) } " med uteblitte dager" }
                ul {
                    @for alert in o.blocked.iter().chain(&o.missed) {
                        li { a href={ "/pasienter/" (alert.patient.id) } { (alert.patient.full_name()) } ": " (alert_text(&alert.kind)) }
                    }
                }
            }
            section.card data-testid="messages" {
                h2 { "Meldinger" }
                p { strong { (o.unread_messages) } " " (plural_nb(o.unread_messages, "ulest", "uleste")) " i enhetens " a href="/innboks" { "innboks" } }
                @if !o.escalated.is_empty() {
                    div.error role="alert" {
                        strong { (count_nb(o.escalated.len(), "viktig melding", "viktige meldinger")) }
                        " er ulest etter fristen og eskalert til deg."
                    }
                    ul {
                        @for m in &o.escalated {
                            li {
                                (instant_nb(m.message.sent_at)) " · " (m.message.kind.label_nb())
                                @if let Some(p) = &m.patient { " · " (p.full_name()) }
                            }
                        }
                    }
                }
            }
            section.card data-testid="groups" {
                h2 { "Ansvarsgrupper" }
                p {
                    strong { (count_nb(o.overdue_meetings.len(), "gruppe", "grupper")) } " med forfalt møte · "
                    strong { (count_nb(o.overdue_tasks.len(), "forfalt oppgave", "forfalte oppgaver")) }
                }
                ul {
                    @for (patient, overdue) in &o.overdue_meetings {
                        li { a href={ "/pasienter/" (patient.id) "/moter" } { (patient.full_name()) } ": " (count_nb(overdue.len(), "forfalt møte", "forfalte møter")) }
                    }
                    @for (patient, task) in &o.overdue_tasks {
                        li { a href={ "/pasienter/" (patient.id) "/moter" } { (patient.full_name()) } ": " (task.description) " (frist " (date_nb(task.due_on)) ")" }
                    }
                }
            }
            (waiting)
            @if let Some(found) = &figures {
                (crate::pages::indicators::leader_card(found))
            }
            section.card data-testid="overdoses" {
                h2 { "Overdoser" }
                p { strong { (count_nb(o.overdoses_last_year, "overdose", "overdoser")) } " siste 12 måneder blant enhetens pasienter." }
            }
            section.card {
                h2 { "Revurderinger og akuttilganger" }
                p { strong { (count_nb(o.overdue_reviews.len(), "forfalt revurdering", "forfalte revurderinger")) } " av utleveringsordning. " a href="/revurderinger" { "Se listen" } }
                p {
                    strong { (count_nb(o.emergency_to_review, "akuttilgang", "akuttilganger")) }
                    " venter på kontroll. "
                    a href="/akuttilganger" { "Kontroll av akuttilganger" }
                }
            }
            section.card data-testid="deviations" {
                h2 { "Åpne avvik" }
                @if o.deviations.is_empty() {
                    p { "Ingen åpne avvik." }
                } @else {
                    p { strong { (o.deviations.len()) } " avvik venter på oppfølging." }
                    ul {
                        @for d in &o.deviations {
                            li {
                                a href={ "/avvik/" (d.deviation.id) } {
                                    (date_nb(samhand_domain::time::oslo_date(d.deviation.reported_at))) " · " (d.place_name)
                                }
                                ": " (d.deviation.description)
                            }
                        }
                    }
                }
            }
        }
    };
    Ok(page("Leders oversikt", &staff, body).into_response())
}
