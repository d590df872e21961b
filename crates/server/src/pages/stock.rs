//! The stock pages of a dispensing place: balance per product in its unit with the
//! mg beside it, receipts and waste, counts signed by the counter and a witness, the
//! ledger, and the deviations with their follow-up notes (`/avvik/{id}`, also
//! reached from the leader's overview).

use axum::extract::{Path, State};
use axum::response::{IntoResponse, Response};
use jiff::Timestamp;
use maud::{Markup, html};
use samhand_domain::format::{date_nb, time_nb};
use samhand_domain::ids::{DeviationId, UserId};
use samhand_domain::stock::{Product, StockMovement};
use samhand_domain::time::oslo_datetime;
use samhand_domain::validation::FieldErrors;

use crate::AppState;
use crate::auth::UiStaff;
use crate::error::{AppError, PageError};
use crate::pages::forms::{
    FormData, StaffForm, csrf, error_summary, form_status, input, parse_id, select, textarea,
};
use crate::pages::layout::page;
use crate::service::{CountInput, DeviationView, FollowUpInput, Service, StockInput, StockView};

fn when(at: Timestamp) -> String {
    let local = oslo_datetime(at);
    format!("{} {}", date_nb(local.date()), time_nb(local.time()))
}

fn product_options() -> Vec<(String, String)> {
    Product::ALL
        .iter()
        .map(|p| (p.code.to_string(), p.name_nb.to_string()))
        .collect()
}

const QUANTITY_HINT: &str = "I produktets enhet: ml for mikstur, antall for tabletter, kapsler og sprøyter. Skriv tusener med mellomrom (12 000) og desimaler med komma.";

fn deviation_status(d: &DeviationView) -> Markup {
    html! {
        @if let Some(closed) = d.closed_by() {
            span.badge.ok { "Lukket " (date_nb(samhand_domain::time::oslo_date(closed.written_at))) }
        } @else {
            span.badge.warn { "Åpent" }
        }
    }
}

/// The name of a member of staff the stock view names.
fn name_of(view: &StockView, id: UserId) -> String {
    view.names.get(&id).cloned().unwrap_or_default()
}

/// What the ledger says the place holds, per product, with the mg beside it.
fn balances_section(view: &StockView) -> Markup {
    html! {
        h2 { "Beholdning etter regnskapet" }
        @if view.balances.is_empty() {
            p { "Ingen varer registrert ennå." }
        } @else {
            div.scroll role="region" aria-label="Beholdning per produkt" tabindex="0" {
                table.stock data-testid="balances" {
                    thead { tr { th { "Produkt" } th { "Beholdning" } th { "Tilsvarer" } } }
                    tbody {
                        @for (product, balance) in &view.balances {
                            tr {
                                td { (product.name_nb) }
                                td.amount { (product.quantity_nb(*balance)) }
                                td.amount { (samhand_domain::stock::mg_nb(product.micrograms(*balance))) }
                            }
                        }
                    }
                }
            }
        }
    }
}

/// The form for a receipt or waste.
fn movement_form(staff: &UiStaff, form: &FormData, errors: &FieldErrors) -> Markup {
    let movements: Vec<(String, String)> = [StockMovement::Received, StockMovement::Wasted]
        .iter()
        .map(|m| (m.code().to_string(), m.name_nb().to_string()))
        .collect();
    html! {
        h2 { "Registrer mottak eller svinn" }
        (error_summary(errors))
        form.stack method="post" action="/lager" {
            (csrf(&staff.csrf))
            (select("Produkt", "product", &product_options(), form.get("product"), errors))
            (select("Hendelse", "movement", &movements, form.get("movement"), errors))
            (input("Mengde", "quantity", "text", form.get("quantity"), errors, Some(QUANTITY_HINT)))
            (input("Merknad", "note", "text", form.get("note"), errors, Some("Ved svinn: hva som ble kassert og hvorfor")))
            button type="submit" { "Registrer" }
        }
    }
}

/// The place's deviations, each linked to its page.
fn deviations_section(view: &StockView) -> Markup {
    html! {
        h2 { "Avvik" }
        @if view.deviations.is_empty() {
            p { "Ingen avvik." }
        } @else {
            div.scroll role="region" aria-label="Avvik" tabindex="0" {
                table data-testid="deviations" {
                    thead { tr { th { "Når" } th { "Beskrivelse" } th { "Meldt av" } th { "Status" } } }
                    tbody {
                        @for d in &view.deviations {
                            tr {
                                td { a href={ "/avvik/" (d.deviation.id) } { (when(d.deviation.reported_at)) } }
                                td { (d.deviation.description) }
                                td { (name_of(view, d.deviation.reported_by)) }
                                td { (deviation_status(d)) }
                            }
                        }
                    }
                }
            }
        }
    }
}

/// The latest counts, with who counted and who witnessed.
fn counts_section(view: &StockView) -> Markup {
    html! {
        h2 { "Tellinger" }
        @if view.counts.is_empty() {
            p { "Ingen tellinger ennå." }
        } @else {
            div.scroll role="region" aria-label="Tellinger" tabindex="0" {
                table.stock data-testid="counts" {
                    thead { tr { th { "Når" } th { "Produkt" } th { "Talt" } th { "Regnskap" } th { "Differanse" } th { "Talt av" } th { "Kontrollert av" } } }
                    tbody {
                        @for c in view.counts.iter().take(20) {
                            tr {
                                td { (when(c.counted_at)) }
                                td { (c.product.name_nb) }
                                td.amount { (c.product.quantity_with_mg_nb(c.counted)) }
                                td.amount { (c.product.quantity_with_mg_nb(c.expected)) }
                                td.amount { (c.product.quantity_with_mg_nb(c.counted - c.expected)) }
                                td { (name_of(view, c.counted_by)) }
                                td { (name_of(view, c.witnessed_by)) }
                            }
                        }
                    }
                }
            }
        }
    }
}

/// The latest ledger lines.
fn ledger_section(view: &StockView) -> Markup {
    html! {
        h2 { "Siste bevegelser" }
        div.scroll role="region" aria-label="Siste bevegelser" tabindex="0" {
            table.stock {
                thead { tr { th { "Når" } th { "Produkt" } th { "Hendelse" } th { "Mengde" } th { "Merknad" } th { "Av" } } }
                tbody {
                    @for l in &view.lines {
                        tr {
                            td { (when(l.recorded_at)) }
                            td { (l.product.name_nb) }
                            td { (l.movement.name_nb()) }
                            td.amount { (l.product.quantity_with_mg_nb(l.quantity)) }
                            td { (l.note) }
                            td { (name_of(view, l.recorded_by)) }
                        }
                    }
                }
            }
        }
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
    let body = html! {
        h1 { "Lager – " (view.place.name) }
        @if let Some(n) = notice { div.notice role="status" { (n) } }
        (balances_section(&view))
        p { a.button href="/lager/telling" { "Registrer telling med kontrollør" } }
        (movement_form(staff, form, errors))
        (deviations_section(&view))
        (counts_section(&view))
        (ledger_section(&view))
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
        product: form.get("product").into(),
        movement: form.get("movement").into(),
        quantity: form.get("quantity").into(),
        note: form.get("note").into(),
    };
    match Service::new(&state, &staff.user).stock_movement(&input).await {
        Ok(()) => {
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

fn count_page(staff: &UiStaff, place: &str, form: &FormData, errors: &FieldErrors) -> Response {
    let body = html! {
        h1 { "Telling – " (place) }
        p { "En telling signeres av to: du som teller, og en kollega ved samme sted som kontrollerer og bekrefter med sitt eget brukernavn og passord på denne skjermen." }
        (error_summary(errors))
        form.stack method="post" action="/lager/telling" autocomplete="off" {
            (csrf(&staff.csrf))
            (select("Produkt", "product", &product_options(), form.get("product"), errors))
            (input("Talt mengde", "quantity", "text", form.get("quantity"), errors, Some(QUANTITY_HINT)))
            (input("Merknad", "note", "text", form.get("note"), errors, None))
            fieldset {
                legend { "Kontrollert av" }
                (input("Kontrollørens brukernavn", "witness_username", "text", form.get("witness_username"), errors, None))
                // The password is never shown again, not even after an error.
                (input("Kontrollørens passord", "witness_password", "password", "", errors, None))
            }
            button type="submit" { "Registrer telling" }
        }
        p { a href="/lager" { "Tilbake til lageret" } }
    };
    (form_status(errors), page("Telling", staff, body)).into_response()
}

pub async fn count_form(State(state): State<AppState>, staff: UiStaff) -> Result<Response, PageError> {
    let place = Service::new(&state, &staff.user).stock().await?.place;
    Ok(count_page(
        &staff,
        &place.name,
        &FormData::default(),
        &FieldErrors::default(),
    ))
}

pub async fn count(
    State(state): State<AppState>,
    client: crate::client::Client,
    StaffForm { staff, form }: StaffForm,
) -> Result<Response, PageError> {
    let input = CountInput {
        product: form.get("product").into(),
        quantity: form.get("quantity").into(),
        note: form.get("note").into(),
        witness_username: form.get("witness_username").into(),
        witness_password: form.get("witness_password").into(),
        client: client.address,
    };
    let service = Service::new(&state, &staff.user);
    match service.stock_count(&input).await {
        Ok(result) => {
            let witness = result
                .names
                .get(&result.count.witnessed_by)
                .cloned()
                .unwrap_or_default();
            let notice = match &result.deviation {
                Some(deviation) => format!(
                    "Telling registrert, kontrollert av {witness}. Avvik opprettet: {}",
                    deviation.description
                ),
                None => format!(
                    "Telling registrert, kontrollert av {witness}: {} {}.",
                    result.count.product.name_nb,
                    result.count.product.quantity_with_mg_nb(result.count.counted)
                ),
            };
            render(
                &state,
                &staff,
                &FormData::default(),
                &FieldErrors::default(),
                Some(notice),
            )
            .await
        }
        Err(AppError::Invalid(errors)) => {
            let place = service.own_place().await?;
            Ok(count_page(&staff, &place.name, &form, &errors))
        }
        Err(other) => Err(other.into()),
    }
}

async fn render_deviation(
    state: &AppState,
    staff: &UiStaff,
    id: &str,
    form: &FormData,
    errors: &FieldErrors,
    notice: Option<&str>,
) -> Result<Response, PageError> {
    let (view, may_close, names) = Service::new(state, &staff.user).deviation(id).await?;
    let name = |id| names.get(&id).cloned().unwrap_or_default();
    let d = &view.deviation;
    let body = html! {
        h1 { "Avvik – " (view.place_name) }
        @if let Some(n) = notice { div.notice role="status" { (n) } }
        p { (deviation_status(&view)) }
        dl {
            dt { "Meldt" } dd { (when(d.reported_at)) " av " (name(d.reported_by)) }
            @if let Some(product) = d.product { dt { "Produkt" } dd { (product.name_nb) } }
            dt { "Beskrivelse" } dd { (d.description) }
        }
        h2 { "Oppfølging" }
        @if view.follow_ups.is_empty() {
            p { "Ingen oppfølging ennå. Avviket er åpent til en oppfølging lukker det." }
        } @else {
            ol.follow-ups data-testid="follow-ups" {
                @for f in &view.follow_ups {
                    li {
                        strong { (when(f.written_at)) " · " (name(f.written_by)) }
                        @if f.closes { " · lukket avviket" }
                        p { (f.note) }
                    }
                }
            }
        }
        @if view.is_open() {
            h2 { "Skriv oppfølging" }
            (error_summary(errors))
            form.stack method="post" action={ "/avvik/" (d.id) } {
                (csrf(&staff.csrf))
                (textarea("Hva er undersøkt eller gjort", "note", form.get("note"), errors))
                div.buttons {
                    button type="submit" { "Lagre oppfølging" }
                    @if may_close {
                        button type="submit" name="close" value="1" { "Lagre og lukk avviket" }
                    }
                }
            }
        }
        p { a href="/lager" { "Til lageret" } " · " a href="/leder" { "Til oversikten" } }
    };
    Ok((form_status(errors), page("Avvik", staff, body)).into_response())
}

pub async fn deviation(
    State(state): State<AppState>,
    staff: UiStaff,
    Path(id): Path<String>,
) -> Result<Response, PageError> {
    let id: DeviationId = parse_id(&id)?;
    render_deviation(
        &state,
        &staff,
        &id.to_string(),
        &FormData::default(),
        &FieldErrors::default(),
        None,
    )
    .await
}

pub async fn follow_up(
    State(state): State<AppState>,
    Path(id): Path<String>,
    StaffForm { staff, form }: StaffForm,
) -> Result<Response, PageError> {
    let id = parse_id::<DeviationId>(&id)?.to_string();
    let input = FollowUpInput {
        note: form.get("note").into(),
        close: form.get("close") == "1",
    };
    match Service::new(&state, &staff.user)
        .follow_up_deviation(&id, &input)
        .await
    {
        Ok(follow_up) => {
            let notice = if follow_up.closes {
                "Oppfølgingen er lagret, og avviket er lukket."
            } else {
                "Oppfølgingen er lagret."
            };
            render_deviation(
                &state,
                &staff,
                &id,
                &FormData::default(),
                &FieldErrors::default(),
                Some(notice),
            )
            .await
        }
        Err(AppError::Invalid(errors)) => render_deviation(&state, &staff, &id, &form, &errors, None).await,
        Err(other) => Err(other.into()),
    }
}
