//! Status assessments (the status in force with each answer's source, the form for
//! a new version pre-filled with it, and every version) and the LAR unit's yearly
//! status report (rows pre-filled from the record, totals, CSV, sign-off).

use axum::extract::{Path, Query, State};
use axum::response::{IntoResponse, Redirect};
use maud::{Markup, html};
use samhand_domain::access;
use samhand_domain::format::{count_nb, date_nb};
use samhand_domain::ids::PatientId;
use samhand_domain::status::{Occasion, StatusField, StatusInput, StatusPart};
use samhand_domain::status_report::{Column, RecordField, Source};
use samhand_domain::validation::FieldErrors;
use serde::Deserialize;

use crate::AppState;
use crate::auth::UiStaff;
use crate::error::AppError;
use crate::pages::PageResult;
use crate::pages::forms::{
    FormData, StaffForm, csrf, error_summary, form_status, input, parse_id, select, textarea,
};
use crate::pages::labels::instant_nb;
use crate::pages::layout::page;
use crate::service::{Service, StatusReport, StatusView, status_report_csv, status_report_xlsx};

/// Who gave a version, in words.
fn given_by(view: &StatusView, index: usize) -> String {
    let a = &view.history[index];
    let name = view.names.get(&a.recorded_by).cloned().unwrap_or_default();
    if a.by_patient {
        "pasienten selv (portalen)".into()
    } else {
        name
    }
}

fn options(field: StatusField) -> Vec<(String, String)> {
    field
        .options()
        .iter()
        .map(|(c, l)| (c.to_string(), l.to_string()))
        .collect()
}

/// The status in force, part by part, with where each answer came from.
fn current_section(view: &StatusView) -> Markup {
    html! {
        @for part in StatusPart::ALL {
            h3 { (part.label_nb()) }
            table data-testid="status-current" {
                thead { tr { th scope="col" { "Spørsmål" } th scope="col" { "Svar" } th scope="col" { "Kilde" } } }
                tbody {
                    @for field in StatusField::ALL.iter().filter(|f| f.part() == part) {
                        tr {
                            th scope="row" { (field.label_nb()) }
                            @match view.current.get(field) {
                                Some((code, index)) => {
                                    td { (field.answer_label(code).unwrap_or(code)) }
                                    td {
                                        "Versjon " (view.history[*index].version) ", " (date_nb(view.history[*index].assessed_on)) ", "
                                        @if view.history[*index].by_patient { span.badge { "Fra pasienten" } } @else { (given_by(view, *index)) }
                                    }
                                }
                                None => { td { "–" } td { span.badge.warn { "Ikke besvart" } } }
                            }
                        }
                    }
                }
            }
        }
    }
}

fn assessment_form(
    staff: &UiStaff,
    view: &StatusView,
    form: &FormData,
    errors: &FieldErrors,
    today: &str,
) -> Markup {
    let occasions: Vec<(String, String)> = Occasion::ALL
        .iter()
        .map(|o| (o.code().to_string(), o.label_nb().to_string()))
        .collect();
    let fresh = form.0.is_empty();
    let value = |field: StatusField| -> String {
        if fresh {
            view.current
                .get(&field)
                .map(|(c, _)| c.to_string())
                .unwrap_or_default()
        } else {
            form.get(field.code()).to_string()
        }
    };
    html! {
        section.card {
            h2 { "Ny statusvurdering" }
            p.hint { "Svarene er fylt inn fra gjeldende status. Endre det som er annerledes og lagre: hver lagring blir en ny versjon." }
            (error_summary(errors))
            form.stack method="post" action={ "/pasienter/" (view.patient.id) "/status" } {
                (csrf(&staff.csrf))
                (select("Anledning", "occasion", &occasions, if fresh { "yearly" } else { form.get("occasion") }, errors))
                (input("Dato for vurderingen", "assessed_on", "date", if fresh { today } else { form.get("assessed_on") }, errors, None))
                @for part in StatusPart::ALL {
                    fieldset {
                        legend { (part.label_nb()) }
                        @for field in StatusField::ALL.iter().filter(|f| f.part() == part) {
                            (select(field.label_nb(), field.code(), &options(*field), &value(*field), errors))
                        }
                    }
                }
                (textarea("Merknad", "note", form.get("note"), errors))
                button type="submit" { "Lagre statusvurdering" }
            }
        }
    }
}

fn history_section(view: &StatusView) -> Markup {
    html! {
        h2 { "Alle versjoner" }
        @if view.history.is_empty() {
            p { "Ingen statusvurdering er lagret ennå." }
        } @else {
            table {
                thead { tr { th scope="col" { "Versjon" } th scope="col" { "Dato" } th scope="col" { "Anledning" } th scope="col" { "Svar" } th scope="col" { "Lagret" } } }
                tbody {
                    @for (i, a) in view.history.iter().enumerate() {
                        tr {
                            td { (a.version) }
                            td { (date_nb(a.assessed_on)) }
                            td { (a.occasion.label_nb()) }
                            td { (a.answers.len()) }
                            td { (instant_nb(a.recorded_at)) " av " (given_by(view, i)) }
                        }
                    }
                }
            }
        }
    }
}

async fn status_page(
    state: &AppState,
    staff: &UiStaff,
    id: PatientId,
    form: &FormData,
    errors: &FieldErrors,
) -> PageResult {
    let service = Service::new(state, &staff.user);
    let view = service.status_assessments(id).await?;
    let may_write = service.offers(id).await?.record_health;
    let today = state.clock.today().to_string();
    let body = html! {
        h1 { "Statusvurdering for " (view.patient.full_name()) }
        p { a href={ "/pasienter/" (id) } { "Tilbake til oversikten" } }
        @if let Some(due) = view.next_due {
            p { "Neste statusvurdering: " strong { (date_nb(due)) } "." }
        }
        h2 { "Gjeldende status" }
        (current_section(&view))
        @if may_write { (assessment_form(staff, &view, form, errors, &today)) }
        (history_section(&view))
    };
    Ok((form_status(errors), page("Statusvurdering", staff, body)).into_response())
}

pub async fn show(State(state): State<AppState>, staff: UiStaff, Path(id): Path<String>) -> PageResult {
    let id = parse_id(&id)?;
    status_page(&state, &staff, id, &FormData::default(), &FieldErrors::default()).await
}

pub async fn save(
    State(state): State<AppState>,
    Path(id): Path<String>,
    StaffForm { staff, form }: StaffForm,
) -> PageResult {
    let id = parse_id(&id)?;
    let input = StatusInput {
        occasion: form.get("occasion").into(),
        assessed_on: form.get("assessed_on").into(),
        answers: StatusField::ALL
            .iter()
            .map(|f| (f.code().to_string(), form.get(f.code()).to_string()))
            .collect(),
        note: form.get("note").into(),
    };
    match Service::new(&state, &staff.user)
        .save_status_assessment(id, &input)
        .await
    {
        Ok(_) => Ok(Redirect::to(&format!("/pasienter/{id}/status")).into_response()),
        Err(AppError::Invalid(errors)) => status_page(&state, &staff, id, &form, &errors).await,
        Err(other) => Err(other.into()),
    }
}

// ------------------------------------------------------------- the yearly report

#[derive(Debug, Deserialize)]
pub struct YearParam {
    #[serde(default)]
    pub ar: String,
}

/// The year asked for, or the current one.
fn year_or_current(state: &AppState, param: &YearParam) -> String {
    if param.ar.trim().is_empty() {
        state.clock.today().year().to_string()
    } else {
        param.ar.clone()
    }
}

/// The columns the page shows of each row (the CSV has them all).
const SHOWN: [RecordField; 6] = [
    RecordField::Intake,
    RecordField::EndReason,
    RecordField::Substance,
    RecordField::DoseMg,
    RecordField::SupervisedPerWeek,
    RecordField::Overdoses,
];

fn signoff_section(staff: &UiStaff, report: &StatusReport) -> Markup {
    let year = report.year.year;
    html! {
        section.card data-testid="signoff" {
            h2 { "Godkjenning" }
            @match report.signoffs.last() {
                Some(last) => {
                    p { "Godkjent av " (report.names.get(&last.signed_by).cloned().unwrap_or_default()) " " (instant_nb(last.signed_at))
                        " (versjon " (last.version) ", " (count_nb(last.patients as usize, "pasient", "pasienter")) ")." }
                    @if !report.signed_as_is() {
                        div.error role="alert" { "Journalen er endret etter godkjenningen: rapporten slik den står nå er ikke godkjent." }
                    }
                }
                None => p { "Rapporten er ikke godkjent ennå." },
            }
            @if access::may_lead(&staff.user) && !report.signed_as_is() {
                form method="post" action="/statusrapport/godkjenn" {
                    (csrf(&staff.csrf))
                    input type="hidden" name="ar" value=(year);
                    button type="submit" { "Godkjenn rapporten for " (year) }
                }
            }
        }
    }
}

fn totals_section(report: &StatusReport) -> Markup {
    html! {
        section.card data-testid="totals" {
            h2 { "Enhetens tall" }
            table {
                caption { "Antall og andel, som i den nasjonale statusrapporten" }
                thead { tr { th scope="col" { "Gruppe" } th scope="col" { "" } th scope="col" { "Antall" } th scope="col" { "Andel" } } }
                tbody {
                    @for line in &report.totals {
                        tr {
                            td { (line.group) }
                            th scope="row" { (line.label_nb) }
                            td { @if let Some(v) = line.value { (format!("{v:.1}").replace('.', ",")) } @else { (line.count) } }
                            td { @if let Some(p) = line.percent() { (format!("{p:.1} %").replace('.', ",")) } }
                        }
                    }
                }
            }
        }
    }
}

fn rows_section(report: &StatusReport) -> Markup {
    html! {
        h2 { "Pasienter (" (report.rows.len()) ")" }
        p.hint { "Verdiene er hentet fra journalen; resten fra siste statusvurdering. Pek på en verdi for å se kilden. Mangler det svar, registrer en ny statusvurdering." }
        table data-testid="report-rows" {
            thead { tr {
                th scope="col" { "Pasient" }
                @for field in SHOWN { th scope="col" { (field.label_nb()) } }
                th scope="col" { "Bolig" }
                th scope="col" { "Mangler" }
            } }
            tbody {
                @for (patient, row) in &report.rows {
                    tr {
                        th scope="row" { a href={ "/statusrapport/pasient/" (patient.id) "?ar=" (report.year.year) } { (patient.full_name()) } }
                        @for field in SHOWN {
                            @let value = row.value(Column::Record(field));
                            td title=[value.map(|v| v.source.label_nb())] { (value.map_or("–", |v| v.label_nb.as_str())) }
                        }
                        @let housing = row.value(Column::Status(StatusField::Housing));
                        td title=[housing.map(|v| v.source.label_nb())] {
                            (housing.map_or("–", |v| v.label_nb.as_str()))
                            @if let Some(Source::Assessment { by_patient: true, .. }) = housing.map(|v| v.source) { " " span.badge { "Fra pasienten" } }
                        }
                        td { @if row.missing() > 0 { a href={ "/pasienter/" (patient.id) "/status" } { (row.missing()) " svar" } } @else { "–" } }
                    }
                }
            }
        }
    }
}

pub async fn report(
    State(state): State<AppState>,
    staff: UiStaff,
    Query(param): Query<YearParam>,
) -> PageResult {
    let year = year_or_current(&state, &param);
    let report = Service::new(&state, &staff.user).status_report(&year).await?;
    let y = report.year.year;
    let body = html! {
        h1 { "Årlig statusrapport " (y) ": " (report.unit.name) }
        form.row method="get" action="/statusrapport" {
            label for="ar" { "År" }
            input #ar type="number" name="ar" value=(y) min="2000" max="2100";
            button type="submit" { "Vis" }
        }
        p {
            a href={ "/statusrapport/csv?ar=" (y) } download { "Last ned som CSV" }
            " · "
            a href={ "/statusrapport/xlsx?ar=" (y) } download { "Last ned som Excel (XLSX)" }
            " (kolonnene er beskrevet i README)"
        }
        div.cards {
            (signoff_section(&staff, &report))
            (totals_section(&report))
        }
        (rows_section(&report))
    };
    Ok(page("Årlig statusrapport", &staff, body).into_response())
}

pub async fn csv(
    State(state): State<AppState>,
    staff: UiStaff,
    Query(param): Query<YearParam>,
) -> PageResult {
    let year = year_or_current(&state, &param);
    let report = Service::new(&state, &staff.user).status_report(&year).await?;
    Ok(crate::api::csv_response(
        status_report_csv(&report),
        &format!("statusrapport-{}.csv", report.year.year),
    ))
}

pub async fn xlsx(
    State(state): State<AppState>,
    staff: UiStaff,
    Query(param): Query<YearParam>,
) -> PageResult {
    let year = year_or_current(&state, &param);
    let report = Service::new(&state, &staff.user).status_report(&year).await?;
    let year = report.year.year;
    Ok(crate::api::xlsx_response(
        status_report_xlsx(std::slice::from_ref(&report))?,
        &format!("statusrapport-{year}.xlsx"),
    ))
}

/// One patient's row of the report: every column with its value and where the
/// value came from.
pub async fn patient_row(
    State(state): State<AppState>,
    staff: UiStaff,
    Path(id): Path<String>,
    Query(param): Query<YearParam>,
) -> PageResult {
    let id = parse_id(&id)?;
    let year = year_or_current(&state, &param);
    let report = Service::new(&state, &staff.user).status_report(&year).await?;
    let y = report.year.year;
    let (patient, row) = report
        .rows
        .iter()
        .find(|(p, _)| p.id == id)
        .ok_or_else(|| AppError::NotFound("pasienten i statusrapporten".into()))?;
    let body = html! {
        h1 { "Statusrapport " (y) ": " (patient.full_name()) }
        p {
            a href={ "/statusrapport?ar=" (y) } { "Tilbake til rapporten" }
            " · "
            a href={ "/pasienter/" (id) "/status" } { "Statusvurdering" }
        }
        table data-testid="report-row" {
            thead { tr { th scope="col" { "Felt" } th scope="col" { "Verdi" } th scope="col" { "Kilde" } } }
            tbody {
                @for column in Column::all() {
                    @let value = row.value(column);
                    tr {
                        th scope="row" { (column.label_nb()) }
                        td { (value.map_or("–", |v| v.label_nb.as_str())) }
                        td {
                            @match value.map(|v| &v.source) {
                                Some(Source::Missing) | None => { span.badge.warn { "Mangler" } }
                                Some(source @ Source::Assessment { by_patient: true, .. }) => { (source.label_nb()) " " span.badge { "Fra pasienten" } }
                                Some(source) => { (source.label_nb()) }
                            }
                        }
                    }
                }
            }
        }
    };
    Ok(page("Statusrapport for pasient", &staff, body).into_response())
}

pub async fn sign_off(State(state): State<AppState>, StaffForm { staff, form }: StaffForm) -> PageResult {
    let year = form.get("ar").to_string();
    Service::new(&state, &staff.user)
        .sign_off_status_report(&year)
        .await?;
    Ok(Redirect::to(&format!("/statusrapport?ar={}", year.trim())).into_response())
}
