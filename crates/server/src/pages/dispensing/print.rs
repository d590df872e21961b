//! The printable list (A4): the fallback for a dispensing place when the network
//! is down. Each patient with birth date, dose, take-home days, what to note, and
//! columns to sign.

use axum::extract::{Query, State};
use axum::response::{IntoResponse, Response};
use maud::{DOCTYPE, Markup, html};
use samhand_domain::format::{date_nb, time_nb, weekday_nb};
use samhand_domain::schedule::{DueDose, IntakeMode};
use samhand_domain::time::oslo_datetime;

use super::list_date;
use crate::AppState;
use crate::auth::UiStaff;
use crate::error::PageError;
use crate::service::{ListRow, Service};

#[derive(serde::Deserialize, Default)]
pub struct PrintQuery {
    #[serde(default)]
    dato: String,
}

/// The printable list (A4): the fallback when the network is down. Each patient
/// with birth date, dose, take-home days and columns to sign.
pub async fn print(
    State(state): State<AppState>,
    staff: UiStaff,
    Query(query): Query<PrintQuery>,
) -> Result<Response, PageError> {
    let date = list_date(&query.dato)?;
    let list = Service::new(&state, &staff.user).todays_list(date).await?;
    let printed = oslo_datetime(list.now);
    let body = html! {
        (DOCTYPE)
        html lang="nb" {
            head {
                meta charset="utf-8";
                meta name="viewport" content="width=device-width, initial-scale=1";
                title { "Utleveringsliste " (date_nb(list.date)) " – Samhand" }
                link rel="stylesheet" href="/static/style.css";
            }
            body.printout {
                main {
                    p.no-print { a href={ "/utlevering?dato=" (list.date) } { "Tilbake til lista" } " · Skriv ut med nettleserens utskrift (A4)." }
                    h1 { "Utleveringsliste " (weekday_nb(list.date)) " " (date_nb(list.date)) }
                    p {
                        (list.place.name) " · " (list.rows.len()) " pasienter · skrevet ut "
                        (date_nb(printed.date())) " kl. " (time_nb(printed.time())) " av " (staff.user.display_name)
                    }
                    @if let Some(holiday) = list.holiday { p { strong { "Helligdag: " (holiday) } } }
                    @if let Some(closed) = &list.closed { p { strong { (closed) } } }
                    p.hint { "Reserveliste ved nettverksbrudd. Det som gis på papir, registreres i Samhand når nettet er tilbake." }
                    div.scroll role="region" aria-label="Utleveringsliste" tabindex="0" {
                        table.print-list data-testid="print-list" {
                            thead {
                                tr {
                                    th scope="col" { "Pasient" }
                                    th scope="col" { "Født" }
                                    th scope="col" { "Dose" }
                                    th scope="col" { "Ta med for" }
                                    th scope="col" { "Tid" }
                                    th scope="col" { "Merknad" }
                                    th scope="col" { "Gitt (mg)" }
                                    th scope="col" { "Signatur" }
                                }
                            }
                            tbody {
                                @for row in &list.rows {
                                    (print_row(row))
                                }
                            }
                        }
                    }
                }
            }
        }
    };
    Ok(body.into_response())
}

fn print_row(row: &ListRow) -> Markup {
    let own: Vec<&DueDose> = row
        .due
        .iter()
        .map(|(d, _)| d)
        .filter(|d| d.mode != IntakeMode::TakeHome)
        .collect();
    let take_home: Vec<&DueDose> = row
        .due
        .iter()
        .map(|(d, _)| d)
        .filter(|d| d.mode == IntakeMode::TakeHome)
        .collect();
    html! {
        tr {
            td { (row.patient.full_name()) }
            td { (date_nb(row.patient.national_id.birth_date())) }
            td {
                @for (i, d) in own.iter().enumerate() {
                    @if i > 0 { br; }
                    (d.scheduled.dose) " " (d.scheduled.substance.name())
                }
            }
            td {
                @for (i, d) in take_home.iter().enumerate() {
                    @if i > 0 { ", " }
                    (weekday_nb(d.scheduled.key.date)) " " (d.scheduled.dose)
                }
            }
            td { @if let Some(w) = row.window { (time_nb(w.start)) "–" (time_nb(w.end)) } }
            td {
                @if row.is_blocked() { strong { "Sperret – ikke gi dose" } br; }
                @if row.done() { "Registrert" br; }
                @if !row.patient.has_photo { "Mangler bilde" br; }
                @if row.first_dose { "Første dose" br; }
                @if let Some(notes) = &row.health {
                    @for note in notes { (note.kind.label_nb()) br; }
                }
            }
            td.sign {}
            td.sign {}
        }
    }
}
