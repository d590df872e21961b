//! The stock page of a dispensing place: balance per substance, the ledger, receipts,
//! waste and counts, and the deviations a mismatched count opened.

use axum::extract::State;
use axum::response::{IntoResponse, Response};
use maud::html;
use samhand_domain::format::{date_nb, time_nb};
use samhand_domain::stock::{StockMovement, signed_mg_nb};
use samhand_domain::time::oslo_datetime;
use samhand_domain::validation::FieldErrors;

use crate::AppState;
use crate::auth::UiStaff;
use crate::error::{AppError, PageError};
use crate::pages::forms::{FormData, StaffForm, csrf, error_summary, form_status, input, select};
use crate::pages::layout::page;
use crate::pages::patients::substance_options;
use crate::service::{Service, StockInput};

fn movement_name(movement: StockMovement) -> &'static str {
    match movement {
        StockMovement::Received => "Mottatt",
        StockMovement::Dispensed => "Utlevert",
        StockMovement::Wasted => "Svinn/kassert",
        StockMovement::Counted => "Telling",
    }
}

async fn render(
    state: &AppState,
    staff: &UiStaff,
    form: &FormData,
    errors: &FieldErrors,
    notice: Option<String>,
) -> Result<Response, PageError> {
    let view = Service::new(state, &staff.user).stock().await?;
    let movements: Vec<(String, String)> = [
        StockMovement::Received,
        StockMovement::Wasted,
        StockMovement::Counted,
    ]
    .iter()
    .map(|m| (m.code().to_string(), movement_name(*m).to_string()))
    .collect();
    let name = |id| view.names.get(&id).cloned().unwrap_or_default();
    let body = html! {
        h1 { "Lager – " (view.place.name) }
        @if let Some(n) = notice { div.notice role="status" { (n) } }
        h2 { "Beholdning etter regnskapet" }
        table {
            thead { tr { th { "Legemiddel" } th { "Beholdning" } } }
            tbody {
                @for (substance, balance) in &view.balances {
                    tr { td { (substance.name()) } td { (signed_mg_nb(*balance)) } }
                }
            }
        }
        h2 { "Registrer mottak, svinn eller telling" }
        (error_summary(errors))
        form.stack method="post" action="/lager" {
            (csrf(&staff.csrf))
            (select("Legemiddel", "substance", &substance_options(), form.get("substance"), errors))
            (select("Hendelse", "movement", &movements, form.get("movement"), errors))
            (input("Mengde i mg", "amount_mg", "text", form.get("amount_mg"), errors, Some("Ved telling: hele beholdningen som er talt")))
            (input("Merknad", "note", "text", form.get("note"), errors, None))
            button type="submit" { "Registrer" }
        }
        h2 { "Avvik" }
        @if view.deviations.is_empty() {
            p { "Ingen avvik." }
        } @else {
            table {
                thead { tr { th { "Når" } th { "Beskrivelse" } th { "Meldt av" } } }
                tbody {
                    @for d in &view.deviations {
                        tr {
                            td { (date_nb(oslo_datetime(d.reported_at).date())) " " (time_nb(oslo_datetime(d.reported_at).time())) }
                            td { (d.description) }
                            td { (name(d.reported_by)) }
                        }
                    }
                }
            }
        }
        h2 { "Siste bevegelser" }
        table {
            thead { tr { th { "Når" } th { "Legemiddel" } th { "Hendelse" } th { "Mengde" } th { "Merknad" } th { "Av" } } }
            tbody {
                @for e in view.entries.iter().rev().take(50) {
                    tr {
                        td { (date_nb(oslo_datetime(e.recorded_at).date())) " " (time_nb(oslo_datetime(e.recorded_at).time())) }
                        td { (e.substance.name()) }
                        td { (movement_name(e.movement)) }
                        td { (e.amount) }
                        td { (e.note) }
                        td { (name(e.recorded_by)) }
                    }
                }
            }
        }
    };
    let status = form_status(errors);
    Ok((status, page("Lager", staff, body)).into_response())
}

pub async fn show(State(state): State<AppState>, staff: UiStaff) -> Result<Response, PageError> {
    render(
        &state,
        &staff,
        &FormData::default(),
        &FieldErrors::default(),
        None,
    )
    .await
}

pub async fn record(
    State(state): State<AppState>,
    StaffForm { staff, form }: StaffForm,
) -> Result<Response, PageError> {
    let input = StockInput {
        substance: form.get("substance").into(),
        movement: form.get("movement").into(),
        amount_mg: form.get("amount_mg").into(),
        note: form.get("note").into(),
    };
    match Service::new(&state, &staff.user).stock_movement(&input).await {
        Ok(Some(deviation)) => {
            render(
                &state,
                &staff,
                &FormData::default(),
                &FieldErrors::default(),
                Some(format!("Avvik opprettet: {}", deviation.description)),
            )
            .await
        }
        Ok(None) => {
            render(
                &state,
                &staff,
                &FormData::default(),
                &FieldErrors::default(),
                Some("Registrert.".into()),
            )
            .await
        }
        Err(AppError::Invalid(errors)) => render(&state, &staff, &form, &errors, None).await,
        Err(other) => Err(other.into()),
    }
}
