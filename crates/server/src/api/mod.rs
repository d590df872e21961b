//! The JSON API under /api/v1: thin handlers that parse JSON, call
//! [`crate::service::Service`], and answer with the API's own serde types; every
//! error is application/problem+json. The OpenAPI document is generated from the
//! same handlers and served, without authentication, at /api/v1/openapi.json.
//!
//! [`route_table`] is the one list of routes: the router is built from it, and a test
//! checks it against the document, so the two cannot drift apart.

mod admin;
mod arrangements;
mod base64;
mod collaboration;
mod directory;
mod dispensing;
mod drug_test_regime;
mod edi;
mod extract;
mod health;
mod indicators;
mod leader;
mod messages;
mod orders;
mod overdose;
mod patients;
mod pharmacy_count;
mod privacy;
mod problem;
mod referral_care;
mod referral_sent;
mod referrals;
mod status;
mod stays;
mod stock;
mod wire;

use std::sync::OnceLock;

use axum::Router;
use axum::handler::Handler;
use axum::http::{HeaderValue, Method, StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::{MethodFilter, MethodRouter};
use utoipa::openapi::security::{Http, HttpAuthScheme, SecurityScheme};
use utoipa::{Modify, OpenApi};

use crate::AppState;
use crate::error::{ApiError, AppError};
use problem::{Problem, ProblemResponse};

/// Base64 for the FHIR token endpoint's HTTP Basic client authentication.
pub(crate) use base64::decode as base64_decode;
pub(crate) use indicators::file_name as indicators_file_name;

pub fn routes() -> Router<AppState> {
    route_table()
        .into_iter()
        .fold(Router::new(), |router, route| {
            let filter = MethodFilter::try_from(route.method.clone()).expect("a method axum can route");
            let mut handler = (route.handler)(filter);
            if UPLOADS
                .iter()
                .any(|(method, path)| *method == route.method && *path == route.path)
            {
                handler = handler.layer(axum::extract::DefaultBodyLimit::max(crate::UPLOAD_LIMIT));
            }
            router.route(route.path, handler)
        })
        .fallback(unknown_address)
        .method_not_allowed_fallback(method_not_allowed)
}

/// The routes that take a file (a photo in base64, a CSV import), with
/// [`crate::UPLOAD_LIMIT`]; every other route takes at most [`crate::BODY_LIMIT`].
const UPLOADS: &[(Method, &str)] = &[(Method::POST, "/patients"), (Method::POST, "/admin/import")];

/// One route: method and path (relative to /api/v1) as the document names them, and
/// the handler, routed for that method when the router is built.
struct Route {
    method: Method,
    path: &'static str,
    handler: Box<dyn FnOnce(MethodFilter) -> MethodRouter<AppState>>,
}

fn route<H, T>(method: Method, path: &'static str, handler: H) -> Route
where
    H: Handler<T, AppState>,
    T: 'static,
{
    Route {
        method,
        path,
        handler: Box::new(move |filter| axum::routing::on(filter, handler)),
    }
}

fn route_table() -> Vec<Route> {
    [
        vec![route(Method::GET, "/openapi.json", openapi_json)],
        patient_routes(),
        directory_and_message_routes(),
        privacy_routes(),
        collaboration_routes(),
        stay_routes(),
        report_routes(),
        admin_routes(),
    ]
    .into_iter()
    .flatten()
    .collect()
}

/// The patients, their dose orders and arrangements, the dispensing window and the
/// stock.
fn patient_routes() -> Vec<Route> {
    vec![
        route(Method::GET, "/patients", patients::search),
        route(Method::POST, "/patients", patients::enrol),
        route(Method::POST, "/referrals", referrals::register),
        route(Method::GET, "/referrals", referrals::waiting),
        route(Method::GET, "/referrals/indicators", referral_care::indicators),
        route(Method::GET, "/referrals/sent", referral_sent::sent),
        route(Method::GET, "/referrals/{id}", referral_care::show),
        route(Method::POST, "/referrals/{id}/assessment", referral_care::assess),
        route(
            Method::POST,
            "/referrals/{id}/quick-start",
            referral_care::quick_start,
        ),
        route(
            Method::GET,
            "/patients/{id}/planning-checklist",
            referral_care::checklist,
        ),
        route(
            Method::POST,
            "/patients/{id}/planning-checklist",
            referral_care::check,
        ),
        route(Method::GET, "/patients/{id}", patients::overview),
        route(Method::POST, "/patients/{id}/end", patients::end_episode),
        route(Method::GET, "/patients/{id}/dose-orders", orders::history),
        route(Method::POST, "/patients/{id}/dose-orders", orders::create_draft),
        route(Method::GET, "/dose-orders/{id}/warnings", orders::warnings),
        route(Method::POST, "/dose-orders/{id}/sign", orders::sign),
        route(Method::POST, "/dose-orders/{id}/discard", orders::discard),
        route(
            Method::POST,
            "/patients/{id}/arrangements",
            arrangements::set_arrangement,
        ),
        route(Method::POST, "/patients/{id}/covers", arrangements::add_cover),
        route(Method::POST, "/patients/{id}/move", arrangements::move_patient),
        route(Method::GET, "/dispensing/today", dispensing::today),
        route(Method::POST, "/dispensings", dispensing::record),
        route(Method::POST, "/dispensings/{id}/corrections", dispensing::correct),
        route(Method::GET, "/stock", stock::stock),
        route(Method::POST, "/stock", stock::movement),
        route(Method::GET, "/stock/products", stock::products),
        route(Method::POST, "/stock/counts", stock::count),
        route(Method::GET, "/deviations/{id}", stock::deviation),
        route(Method::POST, "/deviations/{id}/follow-ups", stock::follow_up),
    ]
}

/// The directory, the leader's overview, messages and health information.
fn directory_and_message_routes() -> Vec<Route> {
    vec![
        route(Method::GET, "/reviews/overdue", directory::overdue_reviews),
        route(Method::GET, "/alerts", directory::alerts),
        route(Method::GET, "/organisations", directory::organisations),
        route(Method::GET, "/staff", directory::staff),
        route(Method::GET, "/leader/overview", leader::overview),
        route(Method::GET, "/inbox", messages::inbox),
        route(Method::GET, "/edi/unplaced", edi::unplaced),
        route(Method::POST, "/edi/unplaced/{id}/link", edi::link),
        route(Method::POST, "/edi/unplaced/{id}/refuse", edi::refuse),
        route(Method::POST, "/messages/{id}/read", messages::mark_read),
        route(Method::GET, "/patients/{id}/messages", messages::patient_messages),
        route(Method::POST, "/patients/{id}/messages", messages::send),
        route(
            Method::POST,
            "/patients/{id}/messages/to-patient",
            messages::write_to_patient,
        ),
        route(
            Method::GET,
            "/patients/{id}/health-information",
            health::health_information,
        ),
        route(
            Method::POST,
            "/patients/{id}/health-information",
            health::record_health_note,
        ),
    ]
}

/// Consents, the care team, named people, emergency access and the access log.
fn privacy_routes() -> Vec<Route> {
    vec![
        route(Method::GET, "/patients/{id}/privacy", privacy::privacy),
        route(Method::POST, "/patients/{id}/consents", privacy::record_consent),
        route(
            Method::POST,
            "/patients/{id}/care-team",
            privacy::add_care_team_member,
        ),
        route(
            Method::POST,
            "/care-team-members/{id}/end",
            privacy::end_care_team_member,
        ),
        route(Method::POST, "/patients/{id}/people", privacy::add_named_person),
        route(Method::POST, "/people/{id}/end", privacy::end_named_person),
        route(
            Method::POST,
            "/emergency-accesses",
            privacy::open_emergency_access,
        ),
        route(Method::GET, "/emergency-accesses", privacy::emergency_accesses),
        route(
            Method::POST,
            "/emergency-accesses/{id}/review",
            privacy::review_emergency_access,
        ),
        route(Method::GET, "/patients/{id}/access-log", privacy::access_log),
        route(
            Method::POST,
            "/patients/{id}/patient-token",
            privacy::issue_patient_token,
        ),
    ]
}

/// Meetings, tasks, the individual plan, the crisis plan, naloxone and overdoses.
fn collaboration_routes() -> Vec<Route> {
    vec![
        route(Method::GET, "/patients/{id}/meetings", collaboration::meetings),
        route(
            Method::POST,
            "/patients/{id}/meetings",
            collaboration::schedule_meeting,
        ),
        route(
            Method::POST,
            "/meetings/{id}/minutes",
            collaboration::write_minutes,
        ),
        route(Method::POST, "/patients/{id}/tasks", collaboration::create_task),
        route(
            Method::POST,
            "/tasks/{id}/status",
            collaboration::change_task_status,
        ),
        route(Method::GET, "/tasks/mine", collaboration::my_tasks),
        route(Method::GET, "/patients/{id}/plan", collaboration::plan),
        route(Method::POST, "/patients/{id}/plan", collaboration::save_plan),
        route(
            Method::GET,
            "/coordinator/overview",
            collaboration::coordinator_overview,
        ),
        route(Method::GET, "/patients/{id}/crisis-plan", overdose::crisis_plan),
        route(
            Method::POST,
            "/patients/{id}/crisis-plan",
            overdose::save_crisis_plan,
        ),
        route(Method::GET, "/patients/{id}/naloxone", overdose::naloxone),
        route(Method::POST, "/patients/{id}/naloxone", overdose::record_naloxone),
        route(Method::GET, "/naloxone", overdose::naloxone_report),
        route(Method::GET, "/patients/{id}/overdoses", overdose::overdoses),
        route(
            Method::POST,
            "/patients/{id}/overdoses",
            overdose::register_overdose,
        ),
    ]
}

/// Stays, the discharge bundle, follow-up appointments and hand-overs.
fn stay_routes() -> Vec<Route> {
    vec![
        route(Method::GET, "/patients/{id}/stays", stays::stays),
        route(Method::POST, "/patients/{id}/stays", stays::admit),
        route(Method::POST, "/stays/{id}/extension", stays::extend),
        route(Method::POST, "/stays/{id}/substitution", stays::substitution),
        route(Method::POST, "/stays/{id}/bundle", stays::bundle),
        route(Method::POST, "/stays/{id}/appointments", stays::add_appointment),
        route(
            Method::POST,
            "/appointments/{id}/outcome",
            stays::appointment_outcome,
        ),
        route(Method::POST, "/stays/{id}/discharge", stays::discharge),
        route(Method::POST, "/stays/{id}/handovers", stays::hand_over),
        route(
            Method::POST,
            "/handovers/{id}/acknowledgement",
            stays::acknowledge_handover,
        ),
    ]
}

/// Status assessments and the yearly status report.
fn report_routes() -> Vec<Route> {
    vec![
        route(
            Method::GET,
            "/patients/{id}/status-assessments",
            status::status_assessments,
        ),
        route(
            Method::POST,
            "/patients/{id}/status-assessments",
            status::save_status_assessment,
        ),
        route(Method::GET, "/status-report", status::status_report),
        route(Method::GET, "/status-report/csv", status::status_report_csv_file),
        route(
            Method::GET,
            "/status-report/xlsx",
            status::status_report_xlsx_file,
        ),
        route(Method::POST, "/status-report/signoffs", status::sign_off),
        route(
            Method::GET,
            "/patients/{id}/drug-test-regime",
            drug_test_regime::drug_test_regime,
        ),
        route(
            Method::POST,
            "/patients/{id}/drug-test-regime",
            drug_test_regime::decide,
        ),
        route(
            Method::POST,
            "/patients/{id}/drug-test-regime/end",
            drug_test_regime::end,
        ),
        route(Method::GET, "/drug-test-follow-up", drug_test_regime::follow_up),
        route(Method::GET, "/pharmacy-count", pharmacy_count::pharmacy_count),
        route(
            Method::GET,
            "/pharmacy-count/csv",
            pharmacy_count::pharmacy_count_csv_file,
        ),
        route(Method::POST, "/pharmacy-count/approvals", pharmacy_count::approve),
        route(Method::GET, "/indicators", indicators::indicators),
        route(Method::GET, "/indicators.csv", indicators::indicators_csv),
    ]
}

/// The administration: organisations, users, FHIR clients and the import.
fn admin_routes() -> Vec<Route> {
    vec![
        route(Method::GET, "/admin/organisations", admin::organisations),
        route(Method::POST, "/admin/organisations", admin::add_organisation),
        route(Method::PUT, "/admin/organisations/{id}/place", admin::set_place),
        route(
            Method::PUT,
            "/admin/organisations/{id}/registration",
            admin::set_registration,
        ),
        route(
            Method::POST,
            "/admin/organisations/{id}/closed-days",
            admin::add_closed_day,
        ),
        route(Method::POST, "/admin/organisations/{id}/groups", admin::add_group),
        route(Method::GET, "/admin/users", admin::users),
        route(Method::POST, "/admin/users", admin::add_user),
        route(Method::POST, "/admin/users/{id}/deactivation", admin::deactivate),
        route(Method::POST, "/admin/users/{id}/reactivation", admin::reactivate),
        route(Method::PUT, "/admin/users/{id}/hpr-number", admin::set_hpr_number),
        route(Method::GET, "/admin/fhir-clients", admin::fhir_clients),
        route(
            Method::POST,
            "/admin/fhir-clients/{id}/revocation",
            admin::revoke_fhir_client,
        ),
        route(Method::POST, "/admin/import", admin::import),
    ]
}

#[derive(OpenApi)]
#[openapi(
    info(
        title = "Samhand API",
        description = "The JSON API of Samhand, the shared record and daily tool of Norwegian \
            opioid agonist treatment (LAR). Authenticate with `Authorization: Bearer <token>` \
            (issued with `samhand user token`). Amounts are mg as numbers, dates yyyy-mm-dd \
            (days are Europe/Oslo days), instants RFC 3339. Errors are RFC 9457 problem details \
            with a Norwegian `detail`; on 422, `errors` names each field."
    ),
    servers((url = "/api/v1")),
    paths(
        openapi_json,
        patients::search,
        patients::enrol,
        referrals::register,
        referrals::waiting,
        referral_sent::sent,
        referral_care::indicators,
        referral_care::show,
        referral_care::assess,
        referral_care::quick_start,
        referral_care::checklist,
        referral_care::check,
        patients::overview,
        patients::end_episode,
        orders::history,
        orders::create_draft,
        orders::warnings,
        orders::sign,
        orders::discard,
        arrangements::set_arrangement,
        arrangements::add_cover,
        arrangements::move_patient,
        dispensing::today,
        dispensing::record,
        dispensing::correct,
        stock::stock,
        stock::movement,
        stock::products,
        stock::count,
        stock::deviation,
        stock::follow_up,
        directory::overdue_reviews,
        directory::alerts,
        directory::organisations,
        directory::staff,
        leader::overview,
        messages::inbox,
        edi::unplaced,
        edi::link,
        edi::refuse,
        messages::mark_read,
        messages::patient_messages,
        messages::send,
        messages::write_to_patient,
        health::health_information,
        health::record_health_note,
        privacy::privacy,
        privacy::record_consent,
        privacy::add_care_team_member,
        privacy::end_care_team_member,
        privacy::add_named_person,
        privacy::end_named_person,
        privacy::open_emergency_access,
        privacy::emergency_accesses,
        privacy::review_emergency_access,
        privacy::access_log,
        privacy::issue_patient_token,
        collaboration::meetings,
        collaboration::schedule_meeting,
        collaboration::write_minutes,
        collaboration::create_task,
        collaboration::change_task_status,
        collaboration::my_tasks,
        collaboration::plan,
        collaboration::save_plan,
        collaboration::coordinator_overview,
        overdose::crisis_plan,
        overdose::save_crisis_plan,
        overdose::naloxone,
        overdose::record_naloxone,
        overdose::naloxone_report,
        overdose::overdoses,
        overdose::register_overdose,
        stays::stays,
        stays::admit,
        stays::extend,
        stays::substitution,
        stays::bundle,
        stays::add_appointment,
        stays::appointment_outcome,
        stays::discharge,
        stays::hand_over,
        stays::acknowledge_handover,
        status::status_assessments,
        status::save_status_assessment,
        status::status_report,
        status::status_report_csv_file,
        status::status_report_xlsx_file,
        status::sign_off,
        drug_test_regime::drug_test_regime,
        drug_test_regime::decide,
        drug_test_regime::end,
        drug_test_regime::follow_up,
        pharmacy_count::pharmacy_count,
        pharmacy_count::pharmacy_count_csv_file,
        pharmacy_count::approve,
        indicators::indicators,
        indicators::indicators_csv,
        admin::organisations,
        admin::add_organisation,
        admin::set_place,
        admin::set_registration,
        admin::add_closed_day,
        admin::add_group,
        admin::users,
        admin::add_user,
        admin::deactivate,
        admin::reactivate,
        admin::set_hpr_number,
        admin::fhir_clients,
        admin::revoke_fhir_client,
        admin::import,
    ),
    components(schemas(Problem, wire::Amount), responses(ProblemResponse)),
    modifiers(&BearerScheme),
    tags(
        (name = "patients", description = "Enrolment, search, the overview, ending treatment"),
        (name = "referrals", description = "Referrals to LAR: registration, assessment, the waiting list, quick-start offers, the planning checklist and waiting-time indicators"),
        (name = "dose-orders", description = "Drafting, signing and discarding dose orders"),
        (name = "arrangements", description = "Dispensing arrangements and covers for single days"),
        (name = "dispensing", description = "Today's list and recording dispensings"),
        (name = "stock", description = "The stock ledger of controlled substances"),
        (name = "directory", description = "Organisations, colleagues, overdue reviews"),
        (name = "messages", description = "Messages between services with read receipts; the unit's inbox"),
        (name = "health", description = "Health information dispensing staff must know, under consent"),
        (name = "privacy", description = "Who can see what: consents, care team seats, emergency access, the access log"),
        (name = "collaboration", description = "The responsibility group: meetings, minutes, tasks, the individual plan, the coordinator's overview"),
        (name = "overdose", description = "Overdose prevention: the crisis plan, naloxone hand-outs and the report per place, overdose events"),
        (name = "stays", description = "Stays at institutions, the discharge bundle, «time i hånden», prescribing hand-over"),
        (name = "status", description = "Status assessments in versions and the yearly status report: pre-filled rows with their sources, totals, CSV, sign-off; the pharmacy's monthly count and its approval; the drug-test regime, samples expected against delivered"),
        (name = "admin", description = "Administration: organisations, dispensing places, users, FHIR system clients"),
        (name = "meta", description = "This document"),
    )
)]
pub struct ApiDoc;

/// Adds the bearer scheme the operations' `security` refers to.
struct BearerScheme;

impl Modify for BearerScheme {
    fn modify(&self, openapi: &mut utoipa::openapi::OpenApi) {
        let components = openapi.components.get_or_insert_with(Default::default);
        let mut scheme = Http::new(HttpAuthScheme::Bearer);
        scheme.description = Some("An API token: `samhand user token <username>`.".into());
        components.add_security_scheme("bearer", SecurityScheme::Http(scheme));
    }
}

#[utoipa::path(
    get,
    path = "/openapi.json",
    tag = "meta",
    operation_id = "openapi_document",
    summary = "This OpenAPI document (no authentication needed)",
    responses((status = 200, description = "The OpenAPI 3.1 document", content_type = "application/json"))
)]
async fn openapi_json() -> Response {
    static DOCUMENT: OnceLock<String> = OnceLock::new();
    let document = DOCUMENT.get_or_init(|| {
        ApiDoc::openapi()
            .to_pretty_json()
            .expect("the OpenAPI document serialises")
    });
    let mut response = document.clone().into_response();
    response
        .headers_mut()
        .insert(header::CONTENT_TYPE, HeaderValue::from_static("application/json"));
    response
}

/// A CSV file to download.
pub(crate) fn csv_response(body: String, file_name: &str) -> Response {
    (
        [
            (header::CONTENT_TYPE, "text/csv; charset=utf-8".to_string()),
            (
                header::CONTENT_DISPOSITION,
                format!("attachment; filename=\"{file_name}\""),
            ),
        ],
        body,
    )
        .into_response()
}

/// An XLSX workbook to download.
pub(crate) fn xlsx_response(body: Vec<u8>, file_name: &str) -> Response {
    (
        [
            (
                header::CONTENT_TYPE,
                "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet".to_string(),
            ),
            (
                header::CONTENT_DISPOSITION,
                format!("attachment; filename=\"{file_name}\""),
            ),
        ],
        body,
    )
        .into_response()
}

async fn unknown_address() -> ApiError {
    ApiError(AppError::NotFound("adressen i API-et".into()))
}

async fn method_not_allowed() -> Response {
    Problem::response(
        StatusCode::METHOD_NOT_ALLOWED,
        "Metoden er ikke tillatt",
        "Denne adressen tar ikke imot denne metoden.",
    )
}

#[cfg(test)]
mod tests {
    use std::collections::BTreeSet;

    use utoipa::openapi::path::{HttpMethod, PathItem};

    use super::*;

    fn operation_of<'a>(item: &'a PathItem, method: &Method) -> Option<&'a utoipa::openapi::path::Operation> {
        match *method {
            Method::GET => item.get.as_ref(),
            Method::POST => item.post.as_ref(),
            Method::PUT => item.put.as_ref(),
            Method::PATCH => item.patch.as_ref(),
            Method::DELETE => item.delete.as_ref(),
            _ => None,
        }
    }

    fn documented_operations(document: &utoipa::openapi::OpenApi) -> BTreeSet<(String, String)> {
        let methods = [
            (HttpMethod::Get, "GET"),
            (HttpMethod::Post, "POST"),
            (HttpMethod::Put, "PUT"),
            (HttpMethod::Patch, "PATCH"),
            (HttpMethod::Delete, "DELETE"),
        ];
        document
            .paths
            .paths
            .iter()
            .flat_map(|(path, item)| {
                methods.iter().filter_map(move |(_, name)| {
                    let method = Method::from_bytes(name.as_bytes()).expect("method");
                    operation_of(item, &method).map(|_| (name.to_string(), path.clone()))
                })
            })
            .collect()
    }

    #[test]
    fn every_registered_route_is_in_the_openapi_document_and_nothing_else_is() {
        let document = ApiDoc::openapi();
        let registered: BTreeSet<(String, String)> = route_table()
            .iter()
            .map(|r| (r.method.to_string(), r.path.to_string()))
            .collect();
        assert_eq!(
            registered.len(),
            route_table().len(),
            "a route is registered twice"
        );
        assert_eq!(registered, documented_operations(&document));
    }

    #[test]
    fn operation_ids_are_unique_so_generated_clients_get_one_method_each() {
        let document = ApiDoc::openapi();
        let ids: Vec<String> = route_table()
            .iter()
            .filter_map(|r| {
                let item = document.paths.paths.get(r.path)?;
                operation_of(item, &r.method)?.operation_id.clone()
            })
            .collect();
        let unique: BTreeSet<&String> = ids.iter().collect();
        assert_eq!(ids.len(), route_table().len(), "every operation has an id");
        assert_eq!(unique.len(), ids.len(), "{ids:?}");
    }

    #[test]
    fn every_operation_but_the_document_needs_a_bearer_token_and_answers_problems() {
        let document = ApiDoc::openapi();
        for route in route_table() {
            let operation = document
                .paths
                .paths
                .get(route.path)
                .and_then(|item| operation_of(item, &route.method))
                .expect("documented");
            let secured = operation
                .security
                .as_ref()
                .is_some_and(|requirements| !requirements.is_empty());
            let problems = operation.responses.responses.contains_key("401")
                && operation.responses.responses.contains_key("500");
            if operation.request_body.is_some() {
                // A body that does not parse, or breaks a rule, is 422; one over the
                // route's limit is 413. Both are answers the client must expect.
                for status in ["413", "422"] {
                    assert!(
                        operation.responses.responses.contains_key(status),
                        "{} {} takes a body but does not document {status}",
                        route.method,
                        route.path
                    );
                }
            }
            if route.path == "/openapi.json" {
                assert!(!secured, "the document is public");
            } else {
                assert!(secured, "{} {} has no security", route.method, route.path);
                assert!(
                    problems,
                    "{} {} lacks problem responses",
                    route.method, route.path
                );
            }
        }
    }

    /// Collects every `$ref` in a JSON value.
    fn references(value: &serde_json::Value, found: &mut Vec<String>) {
        match value {
            serde_json::Value::Object(map) => {
                for (key, value) in map {
                    match (key.as_str(), value) {
                        ("$ref", serde_json::Value::String(reference)) => found.push(reference.clone()),
                        _ => references(value, found),
                    }
                }
            }
            serde_json::Value::Array(items) => items.iter().for_each(|v| references(v, found)),
            _ => {}
        }
    }

    #[test]
    fn every_reference_in_the_document_resolves_and_problems_are_problem_json() {
        let document = serde_json::to_value(ApiDoc::openapi()).expect("json");
        let mut found = Vec::new();
        references(&document, &mut found);
        assert!(!found.is_empty());
        for reference in found {
            let pointer = reference.strip_prefix('#').expect("a local reference");
            assert!(
                document.pointer(pointer).is_some(),
                "{reference} does not resolve"
            );
        }
        assert!(
            document
                .pointer("/components/responses/ProblemResponse/content/application~1problem+json")
                .is_some(),
            "{}",
            document["components"]["responses"]
        );
        assert_eq!(
            document["components"]["securitySchemes"]["bearer"]["scheme"],
            serde_json::json!("bearer")
        );
    }
}
