//! The web UI: server-rendered pages in Norwegian bokmål. Each handler parses the
//! request, calls `service`, and renders with maud. Forms show each error next to
//! its field and keep what was typed; every form carries the session's CSRF token.

pub mod admin;
pub mod chart;
pub mod collaboration;
pub mod dispensing;
pub mod drug_test_regime;
pub mod drug_tests;
pub mod edi;
mod error_page;
pub mod forms;
pub mod health;
pub mod identity;
pub mod indicators;
pub mod labels;
pub mod layout;
pub mod leader;
pub mod login;
pub mod messages;
pub mod moving;
pub mod overdose;
pub mod patients;
pub mod pharmacy_count;
pub mod portal;
pub mod privacy;
pub mod referral_case;
pub mod referral_checklist;
pub mod referral_new;
pub mod referral_sent;
pub mod referrals;
pub mod status;
pub mod stays;
pub mod stock;

use axum::Router;
use axum::extract::{FromRequestParts, Request, State};
use axum::http::{StatusCode, header};
use axum::response::{IntoResponse, Redirect, Response};
use axum::routing::{get, post};
use samhand_domain::access;

use crate::AppState;
use crate::auth::UiStaff;
use crate::error::PageError;

/// What a page handler answers: the page, or an error rendered as a page.
pub type PageResult = Result<Response, PageError>;

pub fn routes() -> Router<AppState> {
    Router::new()
        .merge(admin::routes())
        .merge(static_and_login_routes())
        .merge(patient_routes())
        .merge(portal_routes())
        .merge(message_and_privacy_routes())
        .merge(collaboration_and_stay_routes())
        .layer(axum::middleware::map_response(readable_rejection))
}

/// A form the framework refused before a handler saw it (a body over the limit, a
/// body that is not a form) answers in plain English text; a person gets the
/// Norwegian error page instead, with the same status.
async fn readable_rejection(response: axum::response::Response) -> axum::response::Response {
    use axum::http::{StatusCode, header};
    use axum::response::IntoResponse;
    let plain = response
        .headers()
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.starts_with("text/plain"));
    if !plain {
        return response;
    }
    let error = match response.status() {
        StatusCode::PAYLOAD_TOO_LARGE => crate::error::AppError::TooLarge(
            "Innholdet er for stort. Et bilde kan være på høyst 8 MB; annet skjemainnhold er mye mindre."
                .into(),
        ),
        StatusCode::BAD_REQUEST | StatusCode::UNSUPPORTED_MEDIA_TYPE | StatusCode::UNPROCESSABLE_ENTITY => {
            crate::error::AppError::Invalid(samhand_domain::validation::FieldErrors::single(
                "skjema",
                "Skjemaet kunne ikke leses. Gå tilbake, last siden på nytt og prøv igjen.",
            ))
        }
        _ => return response,
    };
    let status = response.status();
    let mut page = crate::error::PageError(error).into_response();
    *page.status_mut() = status;
    page
}

/// The start page, static files, logging in and out, and the role acted in.
fn static_and_login_routes() -> Router<AppState> {
    Router::new()
        .route("/", get(home))
        .route("/static/style.css", get(stylesheet))
        .route("/static/utskrift.css", get(print_stylesheet))
        .route("/static/skjema.js", get(validation_script))
        .route("/static/favicon.svg", get(favicon))
        .route("/favicon.ico", get(favicon))
        .route("/login", get(login::show).post(login::submit))
        .route("/login/oidc", get(login::oidc_start))
        .route(crate::config::OIDC_CALLBACK_PATH, get(login::oidc_callback))
        .route("/logout", post(login::logout))
        .route("/rolle", post(login::switch_role))
}

/// The patients, their dose orders and arrangements, the dispensing window, the stock
/// and the leader's overview.
fn patient_routes() -> Router<AppState> {
    Router::new()
        .route("/pasienter", get(patients::search))
        .route(
            "/pasienter/ny",
            get(patients::enrol::form)
                .post(patients::enrol::submit)
                .layer(axum::extract::DefaultBodyLimit::max(crate::UPLOAD_LIMIT)),
        )
        .route("/pasienter/{id}", get(patients::overview::show))
        .route("/pasienter/{id}/foto", get(patients::overview::photo))
        .route(
            "/pasienter/{id}/personopplysninger",
            get(identity::show).post(identity::correct),
        )
        .route(
            "/pasienter/{id}/ordinasjon",
            get(patients::orders::form).post(patients::orders::create),
        )
        .route(
            "/pasienter/{id}/ordning",
            get(patients::arrangements::form).post(patients::arrangements::save),
        )
        .route(
            "/pasienter/{id}/dekning",
            get(patients::arrangements::cover_form).post(patients::arrangements::add_cover),
        )
        .route(
            "/pasienter/{id}/avslutt",
            get(patients::ending::form).post(patients::ending::submit),
        )
        .route("/ordinasjoner/{id}", get(patients::orders::detail))
        .route("/ordinasjoner/{id}/signer", post(patients::orders::sign))
        .route("/ordinasjoner/{id}/forkast", post(patients::orders::discard))
        .route("/utlevering", get(dispensing::list).post(dispensing::record))
        .route("/utlevering/korriger", post(dispensing::correct))
        .route("/utlevering/utskrift", get(dispensing::print))
        .route("/static/list.js", get(list_script))
        .route("/lager", get(stock::show).post(stock::record))
        .route("/lager/telling", get(stock::count_form).post(stock::count))
        .route("/avvik/{id}", get(stock::deviation).post(stock::follow_up))
        .route("/revurderinger", get(patients::reviews::overdue))
        .route("/pasienter/{id}/flytt", get(moving::show).post(moving::submit))
        .route("/leder", get(leader::show))
        .route("/indikatorer", get(indicators::show))
        .route("/indikatorer.csv", get(indicators::csv))
        .route("/venteliste", get(referrals::waiting))
        .route("/henvisninger", get(referral_sent::list))
        .route(
            "/henvisninger/ny",
            get(referral_sent::form).post(referral_sent::submit),
        )
        .route(
            "/venteliste/ny",
            get(referral_new::form).post(referral_new::submit),
        )
        .route("/venteliste/{id}", get(referral_case::show))
        .route("/venteliste/{id}/vurdering", post(referral_case::assess))
        .route("/venteliste/{id}/rask-oppstart", post(referral_case::offer))
        .route("/venteliste/{id}/brev", get(referral_case::letter))
        .route("/pasienter/{id}/sjekkliste", post(referral_checklist::check))
        .route("/pasienter/{id}/status", get(status::show).post(status::save))
        .route(
            "/pasienter/{id}/proveregime",
            get(drug_test_regime::show).post(drug_test_regime::decide),
        )
        .route("/pasienter/{id}/proveregime/avslutt", post(drug_test_regime::end))
        .route("/statusrapport", get(status::report))
        .route("/statusrapport/csv", get(status::csv))
        .route("/statusrapport/xlsx", get(status::xlsx))
        .route("/statusrapport/pasient/{id}", get(status::patient_row))
        .route("/statusrapport/godkjenn", post(status::sign_off))
        .route("/apotektelling", get(pharmacy_count::count))
        .route("/apotektelling/csv", get(pharmacy_count::csv))
        .route("/apotektelling/godkjenn", post(pharmacy_count::approve))
        .route("/pasienter/{id}/portalkode", post(privacy::portal_code))
}

/// The patients' own portal.
fn portal_routes() -> Router<AppState> {
    Router::new()
        .route("/portal", get(portal::home))
        .route(
            "/portal/logg-inn",
            get(portal::login::show).post(portal::login::submit),
        )
        .route(
            "/portal/aktiver",
            get(portal::login::activate_show).post(portal::login::activate_submit),
        )
        .route("/portal/logg-ut", post(portal::login::logout))
        .route("/portal/oidc", get(portal::login::oidc_start))
        .route(
            crate::config::PORTAL_OIDC_CALLBACK_PATH,
            get(portal::login::oidc_callback),
        )
        .route(
            "/portal/samtykke",
            get(portal::privacy::consents).post(portal::privacy::change_consent),
        )
        .route("/portal/innsyn", get(portal::privacy::access_log))
        .route(
            "/portal/kriseplan",
            get(portal::plan::crisis_plan).post(portal::plan::save_crisis_plan),
        )
        .route(
            "/portal/status",
            get(portal::status::show).post(portal::status::save),
        )
        .route(
            "/portal/onsker",
            get(portal::messages::requests).post(portal::messages::send_request),
        )
        .route(
            "/portal/mal",
            get(portal::plan::goals).post(portal::plan::save_goals),
        )
        .route("/portal/melding", post(portal::messages::send_message))
        .route("/portal/meldinger", get(portal::messages::list))
        .route("/portal/meldinger/{id}", get(portal::messages::open))
        .route("/portal/meldinger/{id}/svar", post(portal::messages::reply))
        .route(
            "/portal/parorende",
            get(portal::privacy::people).post(portal::privacy::add_person),
        )
        .route("/portal/parorende/{id}/fjern", post(portal::privacy::end_person))
}

/// Messages, health information, consents, the care team, named people and emergency
/// access.
fn message_and_privacy_routes() -> Router<AppState> {
    Router::new()
        .route("/innboks", get(messages::inbox))
        .route("/edi", get(edi::show))
        .route("/edi/{id}/knytt", post(edi::link))
        .route("/edi/{id}/avvis", post(edi::refuse))
        .route("/meldinger/{id}/lest", post(messages::mark_read))
        .route(
            "/pasienter/{id}/meldinger",
            get(messages::patient_messages).post(messages::send),
        )
        .route(
            "/pasienter/{id}/meldinger/pasienten",
            get(messages::conversation).post(messages::write_to_patient),
        )
        .route("/pasienter/{id}/helse", get(health::show).post(health::record))
        .route("/pasienter/{id}/personvern", get(privacy::show))
        .route("/pasienter/{id}/samtykke", post(privacy::record_consent))
        .route("/pasienter/{id}/ansvarsgruppe", post(privacy::add_member))
        .route("/ansvarsgruppe/{id}/avslutt", post(privacy::end_member))
        .route("/pasienter/{id}/personer", post(privacy::add_person))
        .route("/personer/{id}/fjern", post(privacy::end_person))
        .route("/pasienter/{id}/innsyn", get(privacy::access_log))
        .route(
            "/akuttilgang",
            get(privacy::emergency_show).post(privacy::emergency_open),
        )
        .route("/akuttilganger", get(privacy::reviews))
        .route("/akuttilganger/{id}/kontroll", post(privacy::review))
}

/// Meetings, tasks, the individual plan, the crisis plan, overdoses, and stays with
/// their bundle.
fn collaboration_and_stay_routes() -> Router<AppState> {
    Router::new()
        .route(
            "/pasienter/{id}/moter",
            get(collaboration::meetings).post(collaboration::schedule),
        )
        .route("/pasienter/{id}/oppgaver", post(collaboration::create_task))
        .route("/moter/{id}", get(collaboration::meeting))
        .route("/moter/{id}/referat", post(collaboration::write_minutes))
        .route("/oppgaver", get(collaboration::my_tasks))
        .route("/oppgaver/{id}/status", post(collaboration::change_task_status))
        .route(
            "/pasienter/{id}/plan",
            get(collaboration::plan).post(collaboration::save_plan),
        )
        .route("/pasienter/{id}/plan/utskrift", get(collaboration::plan_print))
        .route("/koordinator", get(collaboration::coordinator))
        .route(
            "/pasienter/{id}/kriseplan",
            get(overdose::crisis_plan).post(overdose::save_crisis_plan),
        )
        .route(
            "/pasienter/{id}/overdose",
            get(overdose::show).post(overdose::register_overdose),
        )
        .route("/pasienter/{id}/nalokson", post(overdose::record_naloxone))
        .route("/pasienter/{id}/opphold", get(stays::stays).post(stays::admit))
        .route("/opphold/{id}", get(stays::show))
        .route("/opphold/{id}/punkt", post(stays::bundle))
        .route("/opphold/{id}/utskrivning", post(stays::discharge))
        .route("/opphold/{id}/forleng", post(stays::extend))
        .route("/opphold/{id}/substitusjon", post(stays::substitution))
        .route("/opphold/{id}/time", post(stays::appointment))
        .route("/opphold/{id}/overforing", post(stays::hand_over))
        .route("/timer/{id}/oppmote", post(stays::outcome))
        .route("/overforinger/{id}/bekreft", post(stays::acknowledge))
        .route("/innlagte", get(stays::admitted))
}

async fn home(staff: UiStaff) -> Redirect {
    if access::may_administer(&staff.user) {
        Redirect::to("/admin")
    } else if access::may_record_dispensing(&staff.user) {
        Redirect::to("/utlevering")
    } else {
        Redirect::to("/pasienter")
    }
}

async fn list_script() -> impl IntoResponse {
    (
        [
            (header::CONTENT_TYPE, "text/javascript; charset=utf-8"),
            (header::CACHE_CONTROL, "no-cache"),
        ],
        dispensing::LIST_SCRIPT,
    )
}

async fn stylesheet() -> impl IntoResponse {
    static_file("text/css; charset=utf-8", layout::STYLESHEET)
}

async fn print_stylesheet() -> impl IntoResponse {
    static_file("text/css; charset=utf-8", layout::PRINT_STYLESHEET)
}

async fn validation_script() -> impl IntoResponse {
    static_file("text/javascript; charset=utf-8", layout::VALIDATION_SCRIPT)
}

async fn favicon() -> impl IntoResponse {
    static_file("image/svg+xml", layout::FAVICON)
}

fn static_file(content_type: &'static str, body: &'static str) -> impl IntoResponse {
    (
        [
            (header::CONTENT_TYPE, content_type),
            (header::CACHE_CONTROL, "max-age=3600"),
        ],
        body,
    )
}

/// Any address no route knows. The API and FHIR keep their own error bodies
/// (problem+json, OperationOutcome) for addresses under them; people get a
/// Norwegian page, in the staff frame when logged in.
pub async fn not_found(State(state): State<AppState>, request: Request) -> Response {
    let path = request.uri().path();
    if path == "/api" || path.starts_with("/api/") {
        return crate::error::ApiError(crate::error::AppError::NotFound("adressen i API-et".into()))
            .into_response();
    }
    if path == "/fhir" || path.starts_with("/fhir/") {
        return crate::fhir::unknown_address().into_response();
    }
    let home = if path == "/portal" || path.starts_with("/portal/") {
        "/portal"
    } else {
        "/"
    };
    let (mut parts, _) = request.into_parts();
    let staff = if home == "/" {
        UiStaff::from_request_parts(&mut parts, &state).await.ok()
    } else {
        None
    };
    (StatusCode::NOT_FOUND, layout::not_found(staff.as_ref(), home)).into_response()
}
