//! The referral waiting list (venteliste): the unit's referrals not yet assessed
//! and its patients assessed with a right but not started, with days waited, the
//! deadline in force and a breach said in words, not by colour alone; who was
//! offered a quick start; and the waiting-time indicators per month.

use axum::extract::State;
use axum::response::{IntoResponse, Response};
use maud::{Markup, html};
use samhand_domain::access;
use samhand_domain::format::{count_nb, date_nb};
use samhand_domain::referral_assessment::MonthIndicators;

use crate::AppState;
use crate::auth::UiStaff;
use crate::error::{AppError, PageError};
use crate::pages::layout::page;
use crate::service::{Service, WaitingReferral, WaitingStage};

fn offers_cell(w: &WaitingReferral) -> Markup {
    html! {
        @if w.offers.is_empty() {
            "–"
        } @else {
            ul.plain {
                @for o in &w.offers {
                    li { (o.offered) " (" (date_nb(o.offered_on)) "): " (o.answer.label_nb()) }
                }
            }
        }
    }
}

fn waiting_table(caption: &str, testid: &str, deadline_label: &str, list: &[&WaitingReferral]) -> Markup {
    html! {
        div.scroll role="region" aria-label=(caption) tabindex="0" {
            table data-testid=(testid) {
                caption { (caption) }
                thead { tr {
                    th scope="col" { "Pasient" } th scope="col" { "Henvist av" } th scope="col" { "Mottatt" }
                    th scope="col" { "Dager ventet" } th scope="col" { (deadline_label) }
                    th scope="col" { "Rask oppstart tilbudt" }
                } }
                tbody {
                    @for w in list {
                        tr.breached[w.breached] {
                            td { a href={ "/venteliste/" (w.referral.id) } { (w.patient.full_name()) } }
                            td { (w.referral.details.referrer_name) ", " (w.referral.details.referrer_service) }
                            td { (date_nb(w.referral.details.received_on)) }
                            td { (w.days_waited) }
                            td {
                                (date_nb(w.deadline))
                                @if w.breached { " " strong { "Fristen er passert" } }
                            }
                            td { (offers_cell(w)) }
                        }
                    }
                }
            }
        }
    }
}

fn percent(share: Option<f64>) -> String {
    share.map_or("–".into(), |s| format!("{:.0} %", s * 100.0))
}

fn days(value: Option<f64>) -> String {
    value.map_or("–".into(), |d| format!("{d:.1}").replace('.', ","))
}

/// The waiting-time indicators per month of receipt.
pub fn indicators_table(rows: &[MonthIndicators]) -> Markup {
    html! {
        section.card data-testid="indicators" {
            h2 { "Ventetid per måned" }
            @if rows.is_empty() {
                p { "Ingen henvisninger mottatt i perioden." }
            } @else {
                div.scroll role="region" aria-label="Ventetid per måned" tabindex="0" {
                    table {
                        thead { tr {
                            th scope="col" { "Mottatt (måned)" } th scope="col" { "Henvisninger" }
                            th scope="col" { "Vurdert" } th scope="col" { "Median dager til vurdering" }
                            th scope="col" { "Vurdert innen frist" } th scope="col" { "Startet" }
                            th scope="col" { "Median dager til start" } th scope="col" { "Startet innen frist" }
                        } }
                        tbody {
                            @for m in rows {
                                tr {
                                    td { (format!("{:02}.{:04}", m.month.month(), m.month.year())) }
                                    td { (m.received) } td { (m.assessed) }
                                    td { (days(m.median_days_to_assessment)) }
                                    td { (percent(m.assessed_within_deadline)) }
                                    td { (m.started) }
                                    td { (days(m.median_days_to_start)) }
                                    td { (percent(m.started_within_deadline)) }
                                }
                            }
                        }
                    }
                }
            }
        }
    }
}

pub async fn waiting(State(state): State<AppState>, staff: UiStaff) -> Result<Response, PageError> {
    let service = Service::new(&state, &staff.user);
    let list = service.waiting_referrals().await?;
    let today = state.clock.today();
    let from = today.saturating_sub(jiff::Span::new().years(1)).first_of_month();
    let indicators = match service.referral_indicators(from, today).await {
        Ok(rows) => Some(rows),
        Err(AppError::Forbidden(_)) => None,
        Err(other) => return Err(other.into()),
    };
    let unassessed: Vec<&WaitingReferral> = list
        .iter()
        .filter(|w| w.stage == WaitingStage::Unassessed)
        .collect();
    let awaiting: Vec<&WaitingReferral> = list
        .iter()
        .filter(|w| w.stage == WaitingStage::AwaitingStart)
        .collect();
    let late_assessment = unassessed.iter().filter(|w| w.breached).count();
    let late_start = awaiting.iter().filter(|w| w.breached).count();
    let body = html! {
        h1 { "Venteliste" }
        @if access::may_enrol(&staff.user).is_allowed() {
            p { a.button href="/venteliste/ny" { "Registrer henvisning" } }
        }
        p { "Henvisninger som ikke er vurdert, og pasienter som har rett til helsehjelp men ikke har startet. Fristen for vurdering regnes i virkedager fra mottaksdato; fristen for oppstart settes ved vurderingen." }
        @if late_assessment + late_start > 0 {
            div.error role="alert" data-testid="breaches" {
                @if late_assessment > 0 {
                    p { strong { (count_nb(late_assessment, "henvisning", "henvisninger")) } " har passert fristen for vurdering." }
                }
                @if late_start > 0 {
                    p { strong { (count_nb(late_start, "pasient", "pasienter")) } " har passert fristen for oppstart." }
                }
            }
        }
        h2 { "Ikke vurdert" }
        @if unassessed.is_empty() {
            p { "Ingen henvisninger venter på vurdering." }
        } @else {
            (waiting_table("Ikke vurdert", "waiting", "Frist for vurdering", &unassessed))
        }
        h2 { "Vurdert med rett, ikke startet" }
        @if awaiting.is_empty() {
            p { "Ingen pasienter venter på oppstart." }
        } @else {
            (waiting_table("Vurdert med rett, ikke startet", "awaiting-start", "Seneste oppstart", &awaiting))
        }
        @if let Some(rows) = &indicators { (indicators_table(rows)) }
    };
    Ok(page("Venteliste", &staff, body).into_response())
}

/// The leader's card of waiting-list breaches (a LAR unit's leader only): how
/// many wait past the assessment deadline and past the latest start date, named.
pub async fn leader_breaches(
    state: &AppState,
    staff: &UiStaff,
    unit: &samhand_domain::organisation::Organisation,
) -> Result<Markup, AppError> {
    if !unit.kind.is_lar_unit() {
        return Ok(html! {});
    }
    let list = Service::new(state, &staff.user).waiting_referrals().await?;
    let breached: Vec<&WaitingReferral> = list.iter().filter(|w| w.breached).collect();
    Ok(html! {
        section.card data-testid="waiting-breaches" {
            h2 { "Venteliste" }
            p { strong { (list.len()) } " venter · " a href="/venteliste" { "Se ventelisten" } }
            @if !breached.is_empty() {
                div.error role="alert" {
                    strong { (count_nb(breached.len(), "pasient", "pasienter")) } " venter etter fristen."
                }
                ul {
                    @for w in &breached {
                        li {
                            a href={ "/venteliste/" (w.referral.id) } { (w.patient.full_name()) } ": "
                            @match w.stage {
                                WaitingStage::Unassessed => { "ikke vurdert, frist " (date_nb(w.deadline)) }
                                WaitingStage::AwaitingStart => { "ikke startet, seneste oppstart " (date_nb(w.deadline)) }
                            }
                        }
                    }
                }
            }
        }
    })
}
