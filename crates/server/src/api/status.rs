//! Status assessments in versions (the patient may give the self-reported parts
//! with their own token) and the yearly status report of a LAR unit: rows with
//! each value's source, the totals, the CSV and the leader's sign-off.

use std::collections::{BTreeMap, HashMap};

use axum::Json;
use axum::extract::State;
use axum::http::StatusCode;
use axum::response::Response;
use samhand_domain::ids::{PatientId, UserId};
use samhand_domain::status::{StatusAssessment, StatusInput};
use samhand_domain::status_report::Column;
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};

use super::extract::{ApiJson, ApiQuery, PathId};
use super::problem::ProblemResponse;
use super::wire::{self, NamedRef};
use super::{csv_response, xlsx_response};
use crate::AppState;
use crate::auth::{ApiActor, ApiStaff};
use crate::error::ApiError;
use crate::service::{Service, StatusReport, status_report_csv, status_report_xlsx};

#[derive(Debug, Serialize, ToSchema)]
pub struct StatusAssessmentDto {
    #[schema(format = "uuid")]
    pub id: String,
    pub version: i64,
    /// start, yearly, end or other.
    #[schema(schema_with = super::wire::codes::<samhand_domain::status::Occasion>)]
    pub occasion: String,
    #[schema(format = Date)]
    pub assessed_on: String,
    /// The answers this version gave: question code → answer code (see
    /// `GET /status-report` for the questions).
    pub answers: BTreeMap<String, String>,
    pub note: String,
    /// Given by the patient from the portal.
    pub by_patient: bool,
    /// A staff member, or the patient's own account.
    pub recorded_by: NamedRef,
    pub recorded_at: String,
}

fn assessment_dto(a: &StatusAssessment, names: &HashMap<UserId, String>) -> StatusAssessmentDto {
    StatusAssessmentDto {
        id: a.id.to_string(),
        version: a.version,
        occasion: a.occasion.code().into(),
        assessed_on: wire::date(a.assessed_on),
        answers: a
            .answers
            .iter()
            .map(|(f, c)| (f.code().to_string(), c.to_string()))
            .collect(),
        note: a.note.clone(),
        by_patient: a.by_patient,
        recorded_by: NamedRef {
            id: a.recorded_by.to_string(),
            name: wire::name_of(names, a.recorded_by),
        },
        recorded_at: wire::instant(a.recorded_at),
    }
}

#[derive(Debug, Serialize, ToSchema)]
pub struct CurrentAnswerDto {
    pub answer: String,
    /// The version it came from.
    pub version: i64,
    pub by_patient: bool,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct StatusAssessmentsDto {
    #[schema(format = "uuid")]
    pub patient_id: String,
    /// Question code → the answer in force and the version it came from.
    pub current: BTreeMap<String, CurrentAnswerDto>,
    /// When the next assessment is due (yearly), while in treatment.
    #[schema(format = Date)]
    pub next_due: Option<String>,
    /// Every version, newest first.
    pub history: Vec<StatusAssessmentDto>,
}

#[utoipa::path(
    get,
    path = "/patients/{id}/status-assessments",
    tag = "status",
    operation_id = "status_assessments",
    summary = "The patient's status assessments: the status in force and every version",
    description = "Staff with a relation, or the patient with their own token.",
    params(("id" = String, Path, format = "uuid", description = "The patient")),
    security(("bearer" = [])),
    responses(
        (status = 200, description = "The assessments", body = StatusAssessmentsDto),
        (status = 401, response = ProblemResponse),
        (status = 403, response = ProblemResponse),
        (status = 404, response = ProblemResponse),
        (status = 500, response = ProblemResponse),
    )
)]
pub async fn status_assessments(
    State(state): State<AppState>,
    actor: ApiActor,
    PathId(patient): PathId<PatientId>,
) -> Result<Json<StatusAssessmentsDto>, ApiError> {
    let view = Service::new(&state, &actor.0).status_assessments(patient).await?;
    Ok(Json(StatusAssessmentsDto {
        patient_id: patient.to_string(),
        current: view
            .current
            .iter()
            .map(|(field, (code, index))| {
                let from = &view.history[*index];
                (
                    field.code().to_string(),
                    CurrentAnswerDto {
                        answer: code.to_string(),
                        version: from.version,
                        by_patient: from.by_patient,
                    },
                )
            })
            .collect(),
        next_due: view.next_due.map(wire::date),
        history: view
            .history
            .iter()
            .map(|a| assessment_dto(a, &view.names))
            .collect(),
    }))
}

#[derive(Debug, Deserialize, ToSchema)]
pub struct StatusAssessmentRequest {
    /// start, yearly, end or other; the patient's own report is always other.
    #[serde(default)]
    pub occasion: String,
    /// yyyy-mm-dd; today when left out.
    #[serde(default)]
    pub assessed_on: String,
    /// Question code → answer code; at least one. The patient may answer only the
    /// self-reported questions.
    #[serde(default)]
    pub answers: BTreeMap<String, String>,
    #[serde(default)]
    pub note: String,
}

#[utoipa::path(
    post,
    path = "/patients/{id}/status-assessments",
    tag = "status",
    operation_id = "save_status_assessment",
    summary = "Save a status assessment; every save is a new version",
    description = "Clinical staff of the LAR unit, or the patient (self-reported questions only).",
    params(("id" = String, Path, format = "uuid", description = "The patient")),
    request_body = StatusAssessmentRequest,
    security(("bearer" = [])),
    responses(
        (status = 201, description = "The new version", body = StatusAssessmentDto),
        (status = 401, response = ProblemResponse),
        (status = 403, response = ProblemResponse),
        (status = 404, response = ProblemResponse),
        (status = 409, response = ProblemResponse),
        (status = 413, response = ProblemResponse),
        (status = 422, response = ProblemResponse),
        (status = 500, response = ProblemResponse),
    )
)]
pub async fn save_status_assessment(
    State(state): State<AppState>,
    actor: ApiActor,
    PathId(patient): PathId<PatientId>,
    ApiJson(request): ApiJson<StatusAssessmentRequest>,
) -> Result<(StatusCode, Json<StatusAssessmentDto>), ApiError> {
    let input = StatusInput {
        occasion: request.occasion,
        assessed_on: request.assessed_on,
        answers: request.answers.into_iter().collect(),
        note: request.note,
    };
    let saved = Service::new(&state, &actor.0)
        .save_status_assessment(patient, &input)
        .await?;
    Ok((StatusCode::CREATED, Json(assessment_dto(&saved, &HashMap::new()))))
}

// ------------------------------------------------------------- the yearly report

#[derive(Debug, Deserialize, IntoParams, ToSchema)]
#[into_params(parameter_in = Query)]
pub struct YearQuery {
    /// The report year, four digits.
    #[serde(default)]
    pub year: String,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct ReportValueDto {
    /// The column's code (the CSV's header).
    pub column: String,
    /// The value as the CSV writes it; empty when not known.
    pub value: String,
    pub label: String,
    /// Where it came from: `record:<part>`, `assessment:<version>:<date>:<staff|patient>`
    /// or `missing`.
    pub source: String,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct ReportRowDto {
    pub patient: NamedRef,
    /// Questions no assessment answered, for staff to fill in.
    pub missing: usize,
    pub values: Vec<ReportValueDto>,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct TotalLineDto {
    pub group: String,
    pub label: String,
    pub count: usize,
    /// What the count is a share of (0: no share).
    pub of: usize,
    pub percent: Option<f64>,
    /// A value that is not a count (the mean age).
    pub value: Option<f64>,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct SignOffDto {
    pub version: i64,
    pub patients: i64,
    /// SHA-256 of the CSV as signed.
    pub digest: String,
    pub signed_by: NamedRef,
    pub signed_at: String,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct StatusReportDto {
    pub unit: NamedRef,
    pub year: i16,
    pub rows: Vec<ReportRowDto>,
    pub totals: Vec<TotalLineDto>,
    pub signoffs: Vec<SignOffDto>,
    /// SHA-256 of the CSV as the report stands now.
    pub digest: String,
    /// Whether the latest sign-off is of the report as it stands.
    pub signed_as_is: bool,
}

fn report_dto(report: &StatusReport) -> StatusReportDto {
    let columns = Column::all();
    StatusReportDto {
        unit: NamedRef {
            id: report.unit.id.to_string(),
            name: Some(report.unit.name.clone()),
        },
        year: report.year.year,
        rows: report
            .rows
            .iter()
            .map(|(patient, row)| ReportRowDto {
                patient: NamedRef {
                    id: patient.id.to_string(),
                    name: Some(patient.full_name()),
                },
                missing: row.missing(),
                values: columns
                    .iter()
                    .filter_map(|c| {
                        row.value(*c).map(|v| ReportValueDto {
                            column: c.code().into(),
                            value: v.code.clone(),
                            label: v.label_nb.clone(),
                            source: v.source.code(),
                        })
                    })
                    .collect(),
            })
            .collect(),
        totals: report
            .totals
            .iter()
            .map(|t| TotalLineDto {
                group: t.group.into(),
                label: t.label_nb.clone(),
                count: t.count,
                of: t.of,
                percent: t.percent(),
                value: t.value,
            })
            .collect(),
        signoffs: report
            .signoffs
            .iter()
            .map(|s| SignOffDto {
                version: s.version,
                patients: s.patients,
                digest: s.digest.clone(),
                signed_by: NamedRef {
                    id: s.signed_by.to_string(),
                    name: wire::name_of(&report.names, s.signed_by),
                },
                signed_at: wire::instant(s.signed_at),
            })
            .collect(),
        digest: report.digest.clone(),
        signed_as_is: report.signed_as_is(),
    }
}

#[utoipa::path(
    get,
    path = "/status-report",
    tag = "status",
    operation_id = "status_report",
    summary = "The yearly status report of the caller's LAR unit",
    description = "One row per patient in treatment at the unit any day of the year, each value with its source; \
        the unit's totals; the sign-offs. Every patient's read is audited.",
    params(YearQuery),
    security(("bearer" = [])),
    responses(
        (status = 200, description = "The report", body = StatusReportDto),
        (status = 401, response = ProblemResponse),
        (status = 403, response = ProblemResponse),
        (status = 422, response = ProblemResponse),
        (status = 500, response = ProblemResponse),
    )
)]
pub async fn status_report(
    State(state): State<AppState>,
    ApiStaff(staff): ApiStaff,
    ApiQuery(query): ApiQuery<YearQuery>,
) -> Result<Json<StatusReportDto>, ApiError> {
    let report = Service::new(&state, &staff).status_report(&query.year).await?;
    Ok(Json(report_dto(&report)))
}

#[utoipa::path(
    get,
    path = "/status-report/csv",
    tag = "status",
    operation_id = "status_report_csv",
    summary = "The yearly status report as CSV (columns in README, «The yearly status report»)",
    params(YearQuery),
    security(("bearer" = [])),
    responses(
        (status = 200, description = "A header row and one row per patient", content_type = "text/csv"),
        (status = 401, response = ProblemResponse),
        (status = 403, response = ProblemResponse),
        (status = 422, response = ProblemResponse),
        (status = 500, response = ProblemResponse),
    )
)]
pub async fn status_report_csv_file(
    State(state): State<AppState>,
    ApiStaff(staff): ApiStaff,
    ApiQuery(query): ApiQuery<YearQuery>,
) -> Result<Response, ApiError> {
    let report = Service::new(&state, &staff).status_report(&query.year).await?;
    Ok(csv_response(
        status_report_csv(&report),
        &format!("statusrapport-{}.csv", report.year.year),
    ))
}

#[utoipa::path(
    get,
    path = "/status-report/xlsx",
    tag = "status",
    operation_id = "status_report_xlsx",
    summary = "The yearly status report as an XLSX workbook: the CSV's columns, and the totals",
    params(YearQuery),
    security(("bearer" = [])),
    responses(
        (status = 200, description = "Sheets «Pasienter» and «Totaler»", content_type = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"),
        (status = 401, response = ProblemResponse),
        (status = 403, response = ProblemResponse),
        (status = 422, response = ProblemResponse),
        (status = 500, response = ProblemResponse),
    )
)]
pub async fn status_report_xlsx_file(
    State(state): State<AppState>,
    ApiStaff(staff): ApiStaff,
    ApiQuery(query): ApiQuery<YearQuery>,
) -> Result<Response, ApiError> {
    let report = Service::new(&state, &staff).status_report(&query.year).await?;
    let year = report.year.year;
    Ok(xlsx_response(
        status_report_xlsx(std::slice::from_ref(&report))?,
        &format!("statusrapport-{year}.xlsx"),
    ))
}

#[derive(Debug, Deserialize, ToSchema)]
pub struct SignOffRequest {
    /// The report year, four digits.
    #[serde(default)]
    pub year: String,
}

#[utoipa::path(
    post,
    path = "/status-report/signoffs",
    tag = "status",
    operation_id = "sign_off_status_report",
    summary = "The LAR unit's leader signs the yearly report off as it stands",
    request_body = SignOffRequest,
    security(("bearer" = [])),
    responses(
        (status = 201, description = "Signed off", body = SignOffDto),
        (status = 401, response = ProblemResponse),
        (status = 403, response = ProblemResponse),
        (status = 409, response = ProblemResponse),
        (status = 413, response = ProblemResponse),
        (status = 422, response = ProblemResponse),
        (status = 500, response = ProblemResponse),
    )
)]
pub async fn sign_off(
    State(state): State<AppState>,
    ApiStaff(staff): ApiStaff,
    ApiJson(request): ApiJson<SignOffRequest>,
) -> Result<(StatusCode, Json<SignOffDto>), ApiError> {
    let signed = Service::new(&state, &staff)
        .sign_off_status_report(&request.year)
        .await?;
    Ok((
        StatusCode::CREATED,
        Json(SignOffDto {
            version: signed.version,
            patients: signed.patients,
            digest: signed.digest,
            signed_by: NamedRef {
                id: staff.id.to_string(),
                name: Some(staff.display_name.clone()),
            },
            signed_at: wire::instant(signed.signed_at),
        }),
    ))
}
