//! The portal's login: a password after activation with the one-time code from the
//! LAR unit, or ID-porten, each ending in the portal's session cookie; and logout.
//! Before login there is no session, so the forms' CSRF token is a cookie they echo.

use axum::Form;
use axum::extract::{Query, State};
use axum::http::{HeaderMap, StatusCode, header};
use axum::response::{IntoResponse, Redirect, Response};
use maud::{Markup, html};
use samhand_domain::validation::FieldErrors;

use super::portal_page;
use crate::AppState;
use crate::auth;
use crate::client::Client;
use crate::error::{AppError, PageError};
use crate::pages::PageResult;
use crate::pages::forms::{FormData, error_summary, input, required_input};
use crate::pages::login::{login_csrf_cookie, login_csrf_ok, refused_on_form};
use crate::portal::{self, PatientForm};
use crate::session::{self, AccountKind};

fn login_cookie_page(
    state: &AppState,
    title: &str,
    fresh: bool,
    failure: StatusCode,
    body: impl FnOnce(&str) -> Markup,
) -> Response {
    // Before login there is no session; the form's CSRF token is a cookie it echoes.
    let token = auth::random_token();
    let page = portal_page(title, None, body(&token));
    let status = if fresh { StatusCode::OK } else { failure };
    (
        status,
        [(header::SET_COOKIE, login_csrf_cookie(state, &token))],
        page,
    )
        .into_response()
}

fn login_form(state: &AppState, form: &FormData, errors: &FieldErrors, message: Option<&str>) -> Response {
    login_cookie_page(
        state,
        "Logg inn",
        errors.is_empty() && message.is_none(),
        StatusCode::UNAUTHORIZED,
        |token| {
            html! {
                h1 { "Logg inn på Samhand for deg" }
                p { "Her ser du medisinen din, når og hvor du henter, planen din og hvem som har lest journalen din." }
                @if let Some(message) = message { p.error role="alert" { (message) } }
                (error_summary(errors))
                form.stack method="post" action="/portal/logg-inn" {
                    input type="hidden" name="csrf" value=(token);
                    (required_input("Fødselsnummer (11 siffer)", "national_id", "text", form.get("national_id"), errors, None))
                    (required_input("Passord", "password", "password", "", errors, None))
                    button type="submit" { "Logg inn" }
                }
                p { "Første gang? " a href="/portal/aktiver" { "Lag passord med koden du fikk av LAR-enheten" } }
                @if state.portal_oidc.is_some() {
                    p.alternative {
                        a.button href="/portal/oidc" { "Logg inn med ID-porten" }
                    }
                }
            }
        },
    )
}

fn session_cookie(state: &AppState, token: &str) -> String {
    session::cookie(state, AccountKind::Patient, token)
}

pub async fn show(State(state): State<AppState>) -> Response {
    login_form(&state, &FormData::default(), &FieldErrors::default(), None)
}

pub async fn submit(
    State(state): State<AppState>,
    headers: HeaderMap,
    client: Client,
    Form(fields): Form<Vec<(String, String)>>,
) -> Response {
    let form = FormData(fields);
    if !login_csrf_ok(&state, &headers, &form) {
        return PageError(AppError::Csrf).into_response();
    }
    match portal::login(
        &state,
        client.address,
        form.get("national_id"),
        form.get("password"),
    )
    .await
    {
        Ok(token) => (
            [(header::SET_COOKIE, session_cookie(&state, &token))],
            Redirect::to("/portal"),
        )
            .into_response(),
        Err(error) => refused_on_form(error, |message| {
            login_form(&state, &form, &FieldErrors::default(), Some(&message))
        }),
    }
}

/// The patient logs in through ID-porten: 404 when it is not configured.
pub async fn oidc_start(State(state): State<AppState>) -> PageResult {
    let oidc = state
        .portal_oidc
        .clone()
        .ok_or_else(|| AppError::NotFound("siden".into()))?;
    crate::pages::login::begin_oidc(&state, &oidc).await
}

/// ID-porten's redirect back: the answer checked, the `pid` mapped to the patient's
/// portal account, and the same portal session as after a password login.
pub async fn oidc_callback(
    State(state): State<AppState>,
    headers: HeaderMap,
    Query(callback): Query<crate::oidc::Callback>,
) -> Response {
    let Some(oidc) = state.portal_oidc.clone() else {
        return PageError(AppError::NotFound("siden".into())).into_response();
    };
    let (clear_flow_cookie, identity) =
        crate::pages::login::finish_oidc(&state, &oidc, &headers, &callback).await;
    let session = match identity {
        Ok(pid) => portal::login_with_national_id(&state, &pid).await,
        Err(error) => Err(error),
    };
    match session {
        Ok(token) => (
            axum::response::AppendHeaders([
                (header::SET_COOKIE, session_cookie(&state, &token)),
                clear_flow_cookie,
            ]),
            crate::pages::login::signed_in_page("/portal", "Gå videre til Samhand for deg"),
        )
            .into_response(),
        Err(error) => ([clear_flow_cookie], PageError(error)).into_response(),
    }
}

fn activate_form(state: &AppState, form: &FormData, errors: &FieldErrors, message: Option<&str>) -> Response {
    login_cookie_page(
        state,
        "Lag passord",
        errors.is_empty() && message.is_none(),
        StatusCode::UNPROCESSABLE_ENTITY,
        |token| {
            html! {
                h1 { "Lag passord" }
                p { "Du har fått en engangskode av LAR-enheten. Skriv den inn sammen med fødselsnummeret ditt, og velg et passord." }
                @if let Some(message) = message { p.error role="alert" { (message) } }
                (error_summary(errors))
                form.stack method="post" action="/portal/aktiver" {
                    input type="hidden" name="csrf" value=(token);
                    (input("Fødselsnummer (11 siffer)", "national_id", "text", form.get("national_id"), errors, None))
                    (input("Engangskode", "code", "text", form.get("code"), errors, None))
                    (input("Nytt passord (minst 10 tegn)", "password", "password", "", errors, None))
                    (input("Skriv passordet en gang til", "repeated", "password", "", errors, None))
                    button type="submit" { "Lag passord og logg inn" }
                }
            }
        },
    )
}

pub async fn activate_show(State(state): State<AppState>) -> Response {
    activate_form(&state, &FormData::default(), &FieldErrors::default(), None)
}

pub async fn activate_submit(
    State(state): State<AppState>,
    headers: HeaderMap,
    client: Client,
    Form(fields): Form<Vec<(String, String)>>,
) -> Response {
    let form = FormData(fields);
    if !login_csrf_ok(&state, &headers, &form) {
        return PageError(AppError::Csrf).into_response();
    }
    match portal::activate(
        &state,
        client.address,
        form.get("national_id"),
        form.get("code"),
        form.get("password"),
        form.get("repeated"),
    )
    .await
    {
        Ok(token) => (
            [(header::SET_COOKIE, session_cookie(&state, &token))],
            Redirect::to("/portal"),
        )
            .into_response(),
        Err(AppError::Invalid(errors)) => activate_form(&state, &form, &errors, None),
        Err(error) => refused_on_form(error, |message| {
            activate_form(&state, &form, &FieldErrors::default(), Some(&message))
        }),
    }
}

pub async fn logout(
    State(state): State<AppState>,
    headers: HeaderMap,
    PatientForm { .. }: PatientForm,
) -> Response {
    let _ = session::end(&state, AccountKind::Patient, &headers).await;
    (
        [(
            header::SET_COOKIE,
            session::clear_cookie(&state, AccountKind::Patient),
        )],
        Redirect::to("/portal/logg-inn"),
    )
        .into_response()
}
