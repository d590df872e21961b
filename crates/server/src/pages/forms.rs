//! Form plumbing for the pages: the submitted fields, and inputs that show their
//! error next to them and keep what was typed.

use axum::extract::{FromRequest, FromRequestParts, Request};
use maud::{Markup, html};
use samhand_domain::validation::FieldErrors;

use crate::AppState;
use crate::auth::UiStaff;
use crate::error::{AppError, PageError};

/// A form posted by a logged-in staff member, its CSRF token already checked: a
/// handler that takes one cannot forget the check.
pub struct StaffForm {
    pub staff: UiStaff,
    pub form: FormData,
}

impl FromRequest<AppState> for StaffForm {
    type Rejection = PageError;

    async fn from_request(request: Request, state: &AppState) -> Result<Self, Self::Rejection> {
        let (mut parts, body) = request.into_parts();
        let staff = UiStaff::from_request_parts(&mut parts, state).await?;
        let request = Request::from_parts(parts, body);
        let axum::Form(fields) = axum::Form::<Vec<(String, String)>>::from_request(request, state)
            .await
            .map_err(|_| {
                AppError::Invalid(FieldErrors::single(
                    "form",
                    "Skjemaet kunne ikke leses. Prøv igjen.",
                ))
            })?;
        let form = FormData(fields);
        staff.check_csrf(form.get("csrf"))?;
        Ok(Self { staff, form })
    }
}

/// The fields of a submitted form, in order; a name may repeat.
#[derive(Debug, Clone, Default)]
pub struct FormData(pub Vec<(String, String)>);

impl FormData {
    pub fn get(&self, name: &str) -> &str {
        self.0
            .iter()
            .find(|(k, _)| k == name)
            .map(|(_, v)| v.as_str())
            .unwrap_or("")
    }

    pub fn all(&self, name: &str) -> Vec<String> {
        self.0
            .iter()
            .filter(|(k, _)| k == name)
            .map(|(_, v)| v.clone())
            .collect()
    }

    pub fn has(&self, name: &str) -> bool {
        self.0.iter().any(|(k, _)| k == name)
    }

    /// The person's fields, named alike in every form that registers a person
    /// (enrolment, a referral registered by the unit, a referral sent to it).
    pub fn patient_input(&self) -> samhand_domain::patient::PatientInput {
        samhand_domain::patient::PatientInput {
            national_id: self.get("national_id").into(),
            given_name: self.get("given_name").into(),
            family_name: self.get("family_name").into(),
            phone: self.get("phone").into(),
            address: self.get("address").into(),
        }
    }
}

/// The error list at the top of a form, linking each message to its field.
pub fn error_summary(errors: &FieldErrors) -> Markup {
    html! {
        @if !errors.is_empty() {
            div.error role="alert" {
                strong { "Skjemaet har feil:" }
                ul {
                    @for error in &errors.0 {
                        li { a href={ "#" (error.field) } { (error.message) } }
                    }
                }
            }
        }
    }
}

fn field_error(errors: &FieldErrors, name: &str) -> Markup {
    let messages: Vec<&str> = errors
        .0
        .iter()
        .filter(|e| e.field == name)
        .map(|e| e.message.as_str())
        .collect();
    html! {
        @if !messages.is_empty() {
            div.field-error id={ (name) "-error" } {
                @for (i, message) in messages.iter().enumerate() {
                    @if i > 0 { br; }
                    (message)
                }
            }
        }
    }
}

/// A labelled input.
pub fn input(
    label: &str,
    name: &str,
    kind: &str,
    value: &str,
    errors: &FieldErrors,
    hint: Option<&str>,
) -> Markup {
    let invalid = errors.for_field(name).is_some();
    html! {
        div {
            label for=(name) { (label) }
            @if let Some(hint) = hint { div.hint { (hint) } }
            input type=(kind) id=(name) name=(name) value=(value) aria-invalid=(invalid)
                aria-describedby=[invalid.then(|| format!("{name}-error"))];
            (field_error(errors, name))
        }
    }
}

/// A labelled input the browser also requires before sending (its message in
/// Norwegian through /static/skjema.js); the server checks it again.
pub fn required_input(
    label: &str,
    name: &str,
    kind: &str,
    value: &str,
    errors: &FieldErrors,
    hint: Option<&str>,
) -> Markup {
    let invalid = errors.for_field(name).is_some();
    html! {
        div {
            label for=(name) { (label) }
            @if let Some(hint) = hint { div.hint { (hint) } }
            input type=(kind) id=(name) name=(name) value=(value) required aria-invalid=(invalid)
                aria-describedby=[invalid.then(|| format!("{name}-error"))];
            (field_error(errors, name))
        }
    }
}

/// A labelled select; `options` are (value, text).
pub fn select(
    label: &str,
    name: &str,
    options: &[(String, String)],
    selected: &str,
    errors: &FieldErrors,
) -> Markup {
    let invalid = errors.for_field(name).is_some();
    html! {
        div {
            label for=(name) { (label) }
            select id=(name) name=(name) aria-invalid=(invalid) {
                option value="" { "Velg …" }
                @for (value, text) in options {
                    option value=(value) selected[value == selected] { (text) }
                }
            }
            (field_error(errors, name))
        }
    }
}

pub fn textarea(label: &str, name: &str, value: &str, errors: &FieldErrors) -> Markup {
    let invalid = errors.for_field(name).is_some();
    html! {
        div {
            label for=(name) { (label) }
            textarea id=(name) name=(name) rows="3" aria-invalid=(invalid) { (value) }
            (field_error(errors, name))
        }
    }
}

/// A form page's status: 200 when shown fresh, 422 when shown again with errors.
pub fn form_status(errors: &FieldErrors) -> axum::http::StatusCode {
    if errors.is_empty() {
        axum::http::StatusCode::OK
    } else {
        axum::http::StatusCode::UNPROCESSABLE_ENTITY
    }
}

pub fn csrf(token: &str) -> Markup {
    html! { input type="hidden" name="csrf" value=(token); }
}

/// The error of a field that has no input of its own (e.g. a group of checkboxes).
pub fn group_error(errors: &FieldErrors, name: &str) -> Markup {
    field_error(errors, name)
}

/// An id from the address; one that does not parse names nothing: "not found".
pub fn parse_id<T: std::str::FromStr>(id: &str) -> Result<T, PageError> {
    id.parse()
        .map_err(|_| PageError(AppError::NotFound("siden".into())))
}
