//! The administrator's settings: FHIR system clients (listed, revoked) and the
//! clinical policy thresholds (shown with who changed them and when, changed here
//! as `samhand policy set` does).

use axum::extract::{Path, State};
use axum::response::IntoResponse;
use maud::{Markup, html};
use samhand_domain::access::may_administer;
use samhand_domain::validation::FieldErrors;

use crate::AppState;
use crate::admin;
use crate::auth::{UiStaff, require};
use crate::error::AppError;
use crate::pages::PageResult;
use crate::pages::forms::{StaffForm, csrf, error_summary, form_status};
use crate::pages::labels::instant_nb;
use crate::pages::layout::page;

async fn render_clients(state: &AppState, staff: &UiStaff, notice: Option<&str>) -> PageResult {
    let clients = admin::fhir_clients(state, &staff.user).await?;
    let body = html! {
        h1 { "Systemklienter (FHIR)" }
        p { a href="/admin" { "Administrasjon" } " › Systemklienter" }
        @if let Some(notice) = notice { p.notice role="status" { (notice) } }
        p.hint { "En klient registreres med " code { "samhand fhir-client add" } " på serveren; hemmeligheten vises bare da. Trekkes en klient tilbake, slutter nøklene dens å virke med en gang." }
        @if clients.is_empty() { p.muted { "Ingen klienter er registrert." } }
        div.scroll role="region" aria-label="Systemklienter" tabindex="0" {
            table {
                thead { tr { th { "Navn" } th { "Organisasjon" } th { "Tilganger" } th { "Registrert" } th { "Status" } } }
                tbody {
                    @for client in &clients {
                        tr {
                            td { (client.name) br; span.muted { (client.id) } }
                            td { (client.organisation_name) }
                            td { (client.scopes) }
                            td { (instant_nb(client.created_at)) }
                            td {
                                @if let Some(revoked) = client.revoked_at {
                                    span.badge.bad { "Trukket tilbake " (instant_nb(revoked)) }
                                } @else {
                                    form method="post" action={ "/admin/systemklienter/" (client.id) "/trekk-tilbake" } {
                                        (csrf(&staff.csrf))
                                        button.danger type="submit" { "Trekk tilbake " (client.name) }
                                    }
                                }
                            }
                        }
                    }
                }
            }
        }
    };
    Ok(page("Systemklienter", staff, body).into_response())
}

pub async fn clients(State(state): State<AppState>, staff: UiStaff) -> PageResult {
    render_clients(&state, &staff, None).await
}

pub async fn revoke_client(
    State(state): State<AppState>,
    Path(id): Path<String>,
    StaffForm { staff, form: _ }: StaffForm,
) -> PageResult {
    admin::revoke_fhir_client(&state, Some(&staff.user), &id).await?;
    render_clients(
        &state,
        &staff,
        Some("Klienten er trukket tilbake; nøklene virker ikke lenger."),
    )
    .await
}

async fn render_policy(
    state: &AppState,
    staff: &UiStaff,
    errors: &FieldErrors,
    notice: Option<&str>,
) -> PageResult {
    require(may_administer(&staff.user))?;
    let changes = {
        let mut conn = state.store.read().await?;
        samhand_store::stock::policy_changes(&mut conn).await?
    };
    let names = crate::service::Service::new(state, &staff.user)
        .names(changes.iter().filter_map(|c| c.set_by))
        .await?;
    let latest = |key: &str| changes.iter().rev().find(|c| c.key == key);
    let row = |setting: &samhand_domain::policy::PolicySetting| -> Markup {
        let change = latest(setting.key);
        let value = change.map(|c| c.value).unwrap_or(setting.default);
        let id = setting.key.replace('.', "-");
        html! {
            tr {
                td { strong { (setting.description_nb) } br; span.muted { (setting.key) " · standard " (setting.default) } }
                td {
                    form.inline method="post" action="/admin/terskler" {
                        (csrf(&staff.csrf))
                        input type="hidden" name="key" value=(setting.key);
                        div {
                            label for=(id) { "Verdi" }
                            input type="number" id=(id) name="value" value=(value) min="0" max="365";
                        }
                        button.secondary type="submit" { "Lagre" }
                    }
                }
                td {
                    @if let Some(change) = change {
                        (instant_nb(change.set_at)) ", " (change.set_by.and_then(|b| names.get(&b).cloned()).unwrap_or_else(|| "kommandolinjen".into()))
                    } @else { span.muted { "Standard" } }
                }
            }
        }
    };
    let body = html! {
        h1 { "Kliniske terskler" }
        p { a href="/admin" { "Administrasjon" } " › Terskler" }
        @if let Some(notice) = notice { p.notice role="status" { (notice) } }
        (error_summary(errors))
        div.scroll role="region" aria-label="Terskler" tabindex="0" {
            table {
                thead { tr { th { "Terskel" } th { "Verdi" } th { "Sist endret" } } }
                tbody { @for setting in samhand_domain::policy::SETTINGS { (row(setting)) } }
            }
        }
    };
    Ok((form_status(errors), page("Kliniske terskler", staff, body)).into_response())
}

pub async fn policy(State(state): State<AppState>, staff: UiStaff) -> PageResult {
    render_policy(&state, &staff, &FieldErrors::default(), None).await
}

pub async fn set_policy(State(state): State<AppState>, StaffForm { staff, form }: StaffForm) -> PageResult {
    match admin::set_policy(&state, &staff.user, form.get("key"), form.get("value")).await {
        Ok(()) => {
            render_policy(
                &state,
                &staff,
                &FieldErrors::default(),
                Some("Terskelen er endret."),
            )
            .await
        }
        Err(AppError::Invalid(errors)) => render_policy(&state, &staff, &errors, None).await,
        Err(other) => Err(other.into()),
    }
}
