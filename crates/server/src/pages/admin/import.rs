//! Importing organisations and users from a CSV file: paste it, try it (nothing
//! changes), then import; the report says row by row what was created and what was
//! refused and why.

use axum::extract::State;
use axum::response::IntoResponse;
use maud::html;
use samhand_domain::access::may_administer;
use samhand_domain::validation::FieldErrors;

use crate::AppState;
use crate::admin::{self, ImportReport};
use crate::auth::{UiStaff, require};
use crate::error::AppError;
use crate::pages::PageResult;
use crate::pages::forms::{StaffForm, csrf, error_summary, form_status};
use crate::pages::layout::page;

const EXAMPLE: &str = "type;name;kind;org_number;responsible_unit;municipality;username;role;organisation;hpr_number\n\
organisation;LAR Vest;health_trust_lar_unit;974760673;;;;;;\n\
organisation;LAR-senteret Vestby;municipal_lar_centre;;LAR Vest;Vestby;;;;\n\
user;Lise Lege;;;;;lise;prescriber;LAR Vest;9144900";

fn render(staff: &UiStaff, text: &str, errors: &FieldErrors, report: Option<&ImportReport>) -> PageResult {
    let body = html! {
        h1 { "Import av organisasjoner og brukere" }
        p { a href="/admin" { "Administrasjon" } " › Import" }
        p.hint { "Lim inn en CSV-fil med overskrifter, skilt med semikolon eller komma. Kolonnen «type» er organisation eller user; "
            "organisasjoner før brukerne som hører til dem. Brukere får hver sin engangslenke for å velge passord. Prøv først: ingenting endres før du importerer." }
        @if let Some(report) = report {
            div.notice role="status" data-testid="import-report" {
                p { strong {
                    @if report.applied { "Importert: " (report.created()) " opprettet, " (report.refused()) " avvist." }
                    @else { "Prøvekjøring, ingenting er endret: " (report.created()) " kan opprettes, " (report.refused()) " avvises." }
                } }
            }
            div.scroll role="region" aria-label="Rapport" tabindex="0" {
                table data-testid="import-rows" {
                    thead { tr { th { "Linje" } th { "Gjelder" } th { "Resultat" } } }
                    tbody {
                        @for row in &report.rows {
                            tr {
                                td { (row.line) }
                                td { (row.what) }
                                td {
                                    @match &row.result {
                                        Ok(invitation) => {
                                            span.badge.ok { @if report.applied { "Opprettet" } @else { "Kan opprettes" } }
                                            @if let Some(link) = invitation { " Engangslenke: " code { (link) } }
                                        }
                                        Err(why) => { span.badge.bad { "Avvist" } " " (why) }
                                    }
                                }
                            }
                        }
                    }
                }
            }
        }
        (error_summary(errors))
        form.stack method="post" action="/admin/import" {
            (csrf(&staff.csrf))
            div {
                label for="file" { "CSV" }
                textarea id="file" name="csv" rows="10" aria-invalid=(!errors.is_empty()) { (text) }
            }
            div.inline {
                button.secondary type="submit" name="action" value="dry" { "Prøv (ingen endringer)" }
                button type="submit" name="action" value="apply" { "Importer" }
            }
        }
        details {
            summary { "Eksempel" }
            pre { (EXAMPLE) }
        }
    };
    Ok((form_status(errors), page("Import", staff, body)).into_response())
}

pub async fn show(staff: UiStaff) -> PageResult {
    require(may_administer(&staff.user))?;
    render(&staff, "", &FieldErrors::default(), None)
}

pub async fn submit(State(state): State<AppState>, StaffForm { staff, form }: StaffForm) -> PageResult {
    let text = form.get("csv");
    let apply = form.get("action") == "apply";
    match admin::import(&state, Some(&staff.user), text, apply).await {
        Ok(report) => render(
            &staff,
            if apply { "" } else { text },
            &FieldErrors::default(),
            Some(&report),
        ),
        Err(AppError::Invalid(errors)) => render(&staff, text, &errors, None),
        Err(other) => Err(other.into()),
    }
}
