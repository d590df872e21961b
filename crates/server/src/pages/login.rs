//! Logging in and out of the staff UI: with a password, or through the OpenID
//! provider (HelseID) when one is configured.

use axum::Form;
use axum::extract::{Query, State};
use axum::http::{HeaderMap, header};
use axum::response::{AppendHeaders, IntoResponse, Redirect, Response};
use maud::html;
use samhand_domain::validation::FieldErrors;

use crate::AppState;
use crate::auth;
use crate::client::Client;
use crate::cookies::{self, LOGIN_CSRF};
use crate::error::{AppError, PageError};
use crate::oidc::{Callback, OidcLogin, PendingLogin};
use crate::pages::forms::{FormData, StaffForm, error_summary, required_input};
use crate::pages::layout;
use crate::session::{self, AccountKind};

/// A login form has no session yet: its CSRF token is in a cookie the form echoes.
/// The `Set-Cookie` value for a new form's token.
pub fn login_csrf_cookie(state: &AppState, token: &str) -> String {
    cookies::set(state, LOGIN_CSRF, token, 3600)
}

/// Whether the login form's echoed token is the one in its cookie.
pub fn login_csrf_ok(state: &AppState, headers: &HeaderMap, form: &FormData) -> bool {
    cookies::get(state, headers, LOGIN_CSRF)
        .is_some_and(|c| !c.is_empty() && auth::tokens_match(&c, form.get("csrf")))
}

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
                    (required_input("Brukernavn", "username", "text", username, errors, None))
                    (required_input("Passord", "password", "password", "", errors, None))
                    button type="submit" { "Logg inn" }
                }
                @if state.oidc.is_some() {
                    p.alternative {
                        a.button href="/login/oidc" { "Logg inn med HelseID" }
                    }
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
        [(header::SET_COOKIE, login_csrf_cookie(state, &token))],
        page,
    )
        .into_response()
}

pub async fn show(State(state): State<AppState>) -> Response {
    render(&state, "", &FieldErrors::default())
}

/// A refusal shown on the login form itself: the lockout or a wrong password (the
/// same words for an unknown user), or too many attempts (429 with `Retry-After`).
pub fn refused_on_form(error: AppError, form: impl FnOnce(String) -> Response) -> Response {
    let retry_after = error.retry_after();
    let status = error.status();
    match error {
        AppError::Forbidden(message) => form(message),
        error @ AppError::TooManyRequests { .. } => {
            let mut response = form(error.message_nb());
            *response.status_mut() = status;
            if let Some((name, value)) = retry_after {
                response.headers_mut().insert(name, value);
            }
            response
        }
        other => PageError(other).into_response(),
    }
}

pub async fn submit(
    State(state): State<AppState>,
    headers: HeaderMap,
    client: Client,
    Form(form): Form<Vec<(String, String)>>,
) -> Response {
    let form = FormData(form);
    if !login_csrf_ok(&state, &headers, &form) {
        return PageError(AppError::Csrf).into_response();
    }
    match auth::login(&state, client.address, form.get("username"), form.get("password")).await {
        Ok((token, _user)) => {
            (
                // Both cookies: insert-style headers would keep only the last.
                AppendHeaders([
                    (
                        header::SET_COOKIE,
                        session::cookie(&state, AccountKind::Staff, &token),
                    ),
                    (header::SET_COOKIE, cookies::clear(&state, LOGIN_CSRF)),
                ]),
                Redirect::to("/"),
            )
                .into_response()
        }
        Err(error) => refused_on_form(error, |message| {
            render(
                &state,
                form.get("username"),
                &FieldErrors::single("password", message),
            )
        }),
    }
}

pub async fn logout(
    State(state): State<AppState>,
    headers: HeaderMap,
    // Taken for its CSRF check: logging someone out is a state change too.
    _form: StaffForm,
) -> Result<Response, PageError> {
    session::end(&state, AccountKind::Staff, &headers).await?;
    Ok((
        [(
            header::SET_COOKIE,
            session::clear_cookie(&state, AccountKind::Staff),
        )],
        Redirect::to("/login"),
    )
        .into_response())
}

/// Sends the browser to the OpenID provider to log in, with `state`, `nonce` and the
/// PKCE verifier in a short-lived cookie for the callback to match. The staff login
/// and the portal's share it.
pub async fn begin_oidc(state: &AppState, oidc: &OidcLogin) -> Result<Response, PageError> {
    let (url, pending) = oidc.begin().await?;
    let flow_cookie = cookies::oidc_flow(
        state,
        oidc.kind(),
        &pending.to_cookie_value(),
        auth::OIDC_FLOW_MINUTES * 60,
    );
    Ok(([(header::SET_COOKIE, flow_cookie)], Redirect::to(url.as_str())).into_response())
}

/// The provider's redirect back, checked against the flow cookie: the identity the
/// provider vouches for, and the header that removes the flow cookie (to send
/// whatever the outcome, so the same answer cannot be tried twice).
pub async fn finish_oidc(
    state: &AppState,
    oidc: &OidcLogin,
    headers: &HeaderMap,
    callback: &Callback,
) -> ((header::HeaderName, String), Result<String, AppError>) {
    let kind = oidc.kind();
    let clear_flow_cookie = (header::SET_COOKIE, cookies::oidc_flow(state, kind, "", 0));
    let pending = cookies::oidc_flow_value(state, headers, kind)
        .as_deref()
        .and_then(PendingLogin::from_cookie_value);
    (clear_flow_cookie, oidc.finish(pending, callback).await)
}

/// Staff login through the OpenID provider; 404 when none is configured.
pub async fn oidc_start(State(state): State<AppState>) -> Result<Response, PageError> {
    let oidc = state
        .oidc
        .clone()
        .ok_or_else(|| AppError::NotFound("siden".into()))?;
    begin_oidc(&state, &oidc).await
}

/// The provider's redirect back: verifies the answer, maps the identity to an active
/// staff user and starts a session, then forwards to the front page. The flow cookie
/// is removed whatever the outcome.
pub async fn oidc_callback(
    State(state): State<AppState>,
    headers: HeaderMap,
    Query(callback): Query<Callback>,
) -> Response {
    let Some(oidc) = state.oidc.clone() else {
        return PageError(AppError::NotFound("siden".into())).into_response();
    };
    let (clear_flow_cookie, identity) = finish_oidc(&state, &oidc, &headers, &callback).await;
    let session = match identity {
        Ok(username) => auth::login_with_identity(&state, &username).await,
        Err(error) => Err(error),
    };
    match session {
        Ok((token, _user)) => (
            // The same cookies as after a password login.
            AppendHeaders([
                (
                    header::SET_COOKIE,
                    session::cookie(&state, AccountKind::Staff, &token),
                ),
                (header::SET_COOKIE, cookies::clear(&state, LOGIN_CSRF)),
                clear_flow_cookie,
            ]),
            signed_in_page("/", "Gå videre til Samhand"),
        )
            .into_response(),
        Err(error) => ([clear_flow_cookie], PageError(error)).into_response(),
    }
}

/// The answer to a successful callback. Not a redirect: the callback was reached
/// from the provider's site, a redirect would stay that navigation, and the browser
/// would leave the SameSite=Strict session cookie off the request for `/`.
pub fn signed_in_page(path: &str, onward: &str) -> maud::Markup {
    layout::bare_forwarding(
        "Innlogget",
        path,
        html! {
            main.narrow {
                h1 { "Du er logget inn" }
                p { a.button href=(path) { (onward) } }
            }
        },
    )
}

/// Chooses which of their roles a user acts in: `home`, or `{organisation}:{role}`
/// of one they hold at another organisation. Anything else is refused.
pub async fn switch_role(
    State(state): State<AppState>,
    StaffForm { staff, form }: StaffForm,
) -> Result<Response, PageError> {
    let wanted = form.get("role");
    let choice = staff.roles.iter().enumerate().find(|(i, c)| {
        if *i == 0 {
            wanted == "home"
        } else {
            wanted == format!("{}:{}", c.organisation_id, c.role.code())
        }
    });
    let Some((i, choice)) = choice else {
        return Err(AppError::Forbidden("Du har ikke denne rollen.".into()).into());
    };
    let acting = (i > 0).then(|| (choice.organisation_id, choice.role.code()));
    let mut tx = state.store.write().await?;
    samhand_store::sessions::set_acting(&mut tx, &staff.session, acting).await?;
    tx.commit().await?;
    tracing::info!(
        user = staff.user.username.as_str(),
        role = choice.role.code(),
        organisation = choice.organisation_name.as_str(),
        "acting in another role"
    );
    Ok(Redirect::to("/").into_response())
}
