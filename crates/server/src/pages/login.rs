//! Logging in and out of the staff UI.

use axum::Form;
use axum::extract::State;
use axum::http::{HeaderMap, header};
use axum::response::{AppendHeaders, IntoResponse, Redirect, Response};
use maud::html;
use samhand_domain::validation::FieldErrors;

use crate::AppState;
use crate::auth::{self, LOGIN_CSRF_COOKIE, SESSION_COOKIE};
use crate::error::{AppError, PageError};
use crate::pages::forms::{FormData, StaffForm, error_summary, input};
use crate::pages::layout;

fn render(state: &AppState, username: &str, errors: &FieldErrors) -> Response {
    // The login form has no session yet; its CSRF token is a cookie the form echoes.
    let token = auth::random_token();
    let page = layout::bare(
        "Logg inn",
        html! {
            main.narrow {
                h1 { "Logg inn i Samhand" }
                (error_summary(errors))
                form.stack method="post" action="/login" {
                    input type="hidden" name="csrf" value=(token);
                    (input("Brukernavn", "username", "text", username, errors, None))
                    (input("Passord", "password", "password", "", errors, None))
                    button type="submit" { "Logg inn" }
                }
            }
        },
    );
    let status = if errors.is_empty() {
        axum::http::StatusCode::OK
    } else {
        axum::http::StatusCode::UNAUTHORIZED
    };
    (
        status,
        [(
            header::SET_COOKIE,
            auth::set_cookie(state, LOGIN_CSRF_COOKIE, &token, 3600),
        )],
        page,
    )
        .into_response()
}

pub async fn show(State(state): State<AppState>) -> Response {
    render(&state, "", &FieldErrors::default())
}

pub async fn submit(
    State(state): State<AppState>,
    headers: HeaderMap,
    Form(form): Form<Vec<(String, String)>>,
) -> Response {
    let form = FormData(form);
    let cookie_token = auth::cookie(&headers, LOGIN_CSRF_COOKIE).unwrap_or_default();
    if cookie_token.is_empty() || !auth::tokens_match(&cookie_token, form.get("csrf")) {
        return PageError(AppError::Csrf).into_response();
    }
    match auth::login(&state, form.get("username"), form.get("password")).await {
        Ok((token, _user)) => {
            let max_age = 12 * 3600;
            (
                // Both cookies: insert-style headers would keep only the last.
                AppendHeaders([
                    (
                        header::SET_COOKIE,
                        auth::set_cookie(&state, SESSION_COOKIE, &token, max_age),
                    ),
                    (
                        header::SET_COOKIE,
                        auth::set_cookie(&state, LOGIN_CSRF_COOKIE, "", 0),
                    ),
                ]),
                Redirect::to("/"),
            )
                .into_response()
        }
        Err(AppError::Forbidden(message)) => render(
            &state,
            form.get("username"),
            &FieldErrors::single("password", message),
        ),
        Err(other) => PageError(other).into_response(),
    }
}

pub async fn logout(
    State(state): State<AppState>,
    headers: HeaderMap,
    // Taken for its CSRF check: logging someone out is a state change too.
    _form: StaffForm,
) -> Result<Response, PageError> {
    auth::logout(&state, &headers).await?;
    Ok((
        [(
            header::SET_COOKIE,
            auth::set_cookie(&state, SESSION_COOKIE, "", 0),
        )],
        Redirect::to("/login"),
    )
        .into_response())
}
