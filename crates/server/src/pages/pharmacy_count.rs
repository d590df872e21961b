//! The pharmacy's count of a month (`/apotektelling`): per pharmacy and LAR unit,
//! each patient's supervised intakes and take-home hand-outs with their dates, the
//! approvals, and where the count now differs from the approved one. The LAR unit's
//! leader approves a month that is over.

use axum::extract::{Query, State};
use axum::response::{IntoResponse, Redirect};
use maud::{Markup, html};
use samhand_domain::access;
use samhand_domain::format::date_nb;
use serde::Deserialize;

use crate::AppState;
use crate::auth::UiStaff;
use crate::pages::PageResult;
use crate::pages::forms::{StaffForm, csrf};
use crate::pages::labels::instant_nb;
use crate::pages::layout::page;
use crate::service::{PharmacyCount, Service, pharmacy_count_csv};

#[derive(Debug, Deserialize)]
pub struct MonthParam {
    #[serde(default)]
    maned: String,
}

/// The month asked for, or by default last month (the one a claim is made for).
fn month_or_last(state: &AppState, param: &MonthParam) -> String {
    if param.maned.trim().is_empty() {
        let first = state.clock.today().first_of_month();
        let last_month = first.yesterday().unwrap_or(first);
        format!("{:04}-{:02}", last_month.year(), last_month.month())
    } else {
        param.maned.trim().to_string()
    }
}

fn dates_nb(dates: &[jiff::civil::Date]) -> String {
    dates
        .iter()
        .map(|d| d.day().to_string())
        .collect::<Vec<_>>()
        .join(", ")
}

fn approval_section(staff: &UiStaff, count: &PharmacyCount) -> Markup {
    html! {
        @match count.approvals.last() {
            Some(latest) => {
                p {
                    "Godkjent (versjon " (latest.version) ") " (instant_nb(latest.approved_at))
                    " av " (count.names.get(&latest.approved_by).cloned().unwrap_or_default())
                    ": " (latest.supervised) " inntak under tilsyn og " (latest.take_home) " utleverte hjemmedoser."
                    @if count.approved_as_is() { " " span.badge { "Som nå" } }
                }
            }
            None => p { "Tellingen er ikke godkjent ennå." },
        }
        @if !count.differences.is_empty() {
            div role="status" {
                p { strong { "Endret etter godkjenning: " } "registreringer er korrigert siden tellingen ble godkjent. Den godkjente tellingen er uendret; forskjellene er:" }
                table data-testid="count-differences" {
                    thead { tr {
                        th scope="col" { "Pasient" } th scope="col" { "Dato" }
                        th scope="col" { "Tilsyn godkjent" } th scope="col" { "Tilsyn nå" }
                        th scope="col" { "Hjemmedoser godkjent" } th scope="col" { "Hjemmedoser nå" }
                    } }
                    tbody {
                        @for d in &count.differences {
                            tr {
                                th scope="row" { (count.difference_name(d)) }
                                td { (date_nb(d.day)) }
                                td { (d.approved_supervised) } td { (d.current_supervised) }
                                td { (d.approved_take_home) } td { (d.current_take_home) }
                            }
                        }
                    }
                }
            }
        }
        @if access::may_lead(&staff.user) && staff.user.organisation_kind.is_lar_unit() && !count.approved_as_is() {
            form method="post" action="/apotektelling/godkjenn" {
                (csrf(&staff.csrf))
                input type="hidden" name="maned" value=(count.month.code());
                input type="hidden" name="apotek" value=(count.pharmacy.id);
                button type="submit" { "Godkjenn tellingen for " (count.pharmacy.name) }
            }
        }
    }
}

fn count_section(staff: &UiStaff, count: &PharmacyCount) -> Markup {
    html! {
        section.card data-testid="pharmacy-count" {
            h2 { (count.pharmacy.name) " – pasienter ved " (count.unit.name) }
            p { (count.supervised()) " inntak under tilsyn og " (count.take_home()) " utleverte hjemmedoser, " (count.lines.len()) " pasienter." }
            @if count.hidden_patients > 0 {
                p.hint { (count.hidden_patients) " pasienter som ikke lenger hører til stedet er ikke vist her; LAR-enheten ser dem." }
            }
            (approval_section(staff, count))
            table {
                caption { "Per pasient, med datoene (dag i måneden)" }
                thead { tr {
                    th scope="col" { "Pasient" }
                    th scope="col" { "Inntak under tilsyn" } th scope="col" { "Datoer" }
                    th scope="col" { "Utleverte hjemmedoser" } th scope="col" { "Utlevert" }
                } }
                tbody {
                    @for (patient, line) in &count.lines {
                        tr {
                            th scope="row" { (patient.full_name()) }
                            td { (line.supervised) } td { (dates_nb(&line.supervised_dates)) }
                            td { (line.take_home) } td { (dates_nb(&line.take_home_dates)) }
                        }
                    }
                }
            }
        }
    }
}

pub async fn count(
    State(state): State<AppState>,
    staff: UiStaff,
    Query(param): Query<MonthParam>,
) -> PageResult {
    let month = month_or_last(&state, &param);
    let counts = Service::new(&state, &staff.user).pharmacy_counts(&month).await?;
    let body = html! {
        h1 { "Apotekets telling " (month) }
        p.hint { "Inntak under tilsyn og utleverte hjemmedoser per pasient, grunnlaget for apotekets krav til LAR-enheten. Doser som er korrigert som ikke gitt, og tilbakeholdte doser, telles ikke." }
        form.row method="get" action="/apotektelling" {
            label for="maned" { "Måned (ÅÅÅÅ-MM)" }
            input #maned type="text" name="maned" value=(month) inputmode="numeric" pattern="[0-9]{4}-[0-9]{2}";
            button type="submit" { "Vis" }
        }
        p { a href={ "/apotektelling/csv?maned=" (month) } download { "Last ned som CSV" } " (kolonnene er beskrevet i README)" }
        @if counts.is_empty() {
            p { "Ingen utleveringer ved apotek denne måneden." }
        }
        @for count in &counts {
            (count_section(&staff, count))
        }
    };
    Ok(page("Apotekets telling", &staff, body).into_response())
}

pub async fn csv(
    State(state): State<AppState>,
    staff: UiStaff,
    Query(param): Query<MonthParam>,
) -> PageResult {
    let month = month_or_last(&state, &param);
    let counts = Service::new(&state, &staff.user).pharmacy_counts(&month).await?;
    Ok(crate::api::csv_response(
        pharmacy_count_csv(&counts),
        &format!("apotektelling-{month}.csv"),
    ))
}

pub async fn approve(State(state): State<AppState>, StaffForm { staff, form }: StaffForm) -> PageResult {
    let month = form.get("maned").trim().to_string();
    Service::new(&state, &staff.user)
        .approve_pharmacy_count(&month, form.get("apotek"))
        .await?;
    Ok(Redirect::to(&format!("/apotektelling?maned={month}")).into_response())
}
