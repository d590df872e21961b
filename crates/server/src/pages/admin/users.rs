//! The administrator's users: the list with a form for a new one (invited by a
//! one-time link, or with a first password), and each user's page: deactivate or
//! reactivate with a reason, roles at more organisations, the history.

use axum::extract::{Path, Query, State};
use axum::response::{IntoResponse, Response};
use maud::{Markup, html};
use samhand_domain::ids::UserId;
use samhand_domain::organisation::Role;
use samhand_domain::validation::FieldErrors;

use crate::AppState;
use crate::admin::{self, NewUserInput, UserView};
use crate::auth::UiStaff;
use crate::error::{AppError, PageError};
use crate::pages::PageResult;
use crate::pages::forms::{
    FormData, StaffForm, csrf, error_summary, form_status, input, parse_id, required_input, select, textarea,
};
use crate::pages::labels::instant_nb;
use crate::pages::layout::page;

fn role_options() -> Vec<(String, String)> {
    Role::ALL
        .iter()
        .map(|r| (r.code().to_string(), r.label_nb().to_string()))
        .collect()
}

async fn organisation_options(state: &AppState, staff: &UiStaff) -> Result<Vec<(String, String)>, PageError> {
    Ok(admin::organisations_view(state, &staff.user)
        .await?
        .into_iter()
        .map(|v| (v.organisation.id.to_string(), v.organisation.name))
        .collect())
}

fn status_badge(view: &UserView) -> Markup {
    html! {
        @if view.record.active { span.badge.ok { "Aktiv" } } @else { span.badge.bad { "Deaktivert" } }
    }
}

#[derive(serde::Deserialize, Default)]
pub struct ListQuery {
    #[serde(default)]
    organisasjon: String,
}

fn invitation_notice(username: &str, token: &str) -> Markup {
    html! {
        div.notice role="status" {
            p { strong { (username) } " er lagt til. Send denne engangslenken til brukeren, som velger sitt eget passord med den. Lenken vises bare nå og gjelder i " (admin::INVITATION_DAYS) " dager:" }
            p { code data-testid="invitation-link" { "/invitasjon/" (token) } }
        }
    }
}

async fn render_list(
    state: &AppState,
    staff: &UiStaff,
    organisation: &str,
    form: &FormData,
    errors: &FieldErrors,
    notice: Option<Markup>,
) -> PageResult {
    let views = admin::users_view(state, &staff.user).await?;
    let organisations = organisation_options(state, staff).await?;
    let shown: Vec<&UserView> = views
        .iter()
        .filter(|v| organisation.is_empty() || v.record.user.organisation_id.to_string() == organisation)
        .collect();
    let org_name = |id: String| {
        organisations
            .iter()
            .find(|(o, _)| *o == id)
            .map(|(_, n)| n.clone())
            .unwrap_or_default()
    };
    let invite = form.get("method") != "password";
    let body = html! {
        h1 { "Brukere" }
        p { a href="/admin" { "Administrasjon" } " › Brukere" }
        @if let Some(notice) = notice { (notice) }
        div.scroll role="region" aria-label="Brukere" tabindex="0" {
            table {
                thead { tr { th { "Navn" } th { "Brukernavn" } th { "Rolle" } th { "Organisasjon" } th { "HPR-nr." } th { "Status" } } }
                tbody {
                    @for view in &shown {
                        @let user = &view.record.user;
                        tr {
                            td { a href={ "/admin/brukere/" (user.id) } { (user.display_name) } }
                            td { (user.username) }
                            td {
                                (user.role.label_nb())
                                @for extra in &view.extra_roles { br; span.muted { (extra.role.label_nb()) ", " (extra.organisation_name) } }
                            }
                            td { (org_name(user.organisation_id.to_string())) }
                            td { (view.hpr_number.as_deref().unwrap_or("–")) }
                            td { (status_badge(view)) }
                        }
                    }
                }
            }
        }
        h2 #ny { "Ny bruker" }
        (error_summary(errors))
        form.stack method="post" action="/admin/brukere" {
            (csrf(&staff.csrf))
            (required_input("Fullt navn", "name", "text", form.get("name"), errors, None))
            (required_input("Brukernavn", "username", "text", form.get("username"), errors, Some("Uten mellomrom")))
            (select("Rolle", "role", &role_options(), form.get("role"), errors))
            (select("Organisasjon", "organisation", &organisations, if form.get("organisation").is_empty() { organisation } else { form.get("organisation") }, errors))
            (input("HPR-nummer", "hpr_number", "text", form.get("hpr_number"), errors, Some("For helsepersonell")))
            fieldset #method {
                legend { "Hvordan brukeren får passord" }
                label.checkbox { input type="radio" name="method" value="invite" checked[invite]; "Engangslenke: brukeren velger selv" }
                label.checkbox { input type="radio" name="method" value="password" checked[!invite]; "Første passord som jeg gir brukeren" }
            }
            (input("Første passord (minst 12 tegn)", "password", "password", "", errors, Some("Bare når du gir et første passord")))
            button type="submit" { "Legg til brukeren" }
        }
    };
    Ok((form_status(errors), page("Brukere", staff, body)).into_response())
}

pub async fn list(
    State(state): State<AppState>,
    staff: UiStaff,
    Query(query): Query<ListQuery>,
) -> PageResult {
    render_list(
        &state,
        &staff,
        &query.organisasjon,
        &FormData::default(),
        &FieldErrors::default(),
        None,
    )
    .await
}

pub async fn add(State(state): State<AppState>, StaffForm { staff, form }: StaffForm) -> PageResult {
    let with_password = form.get("method") == "password";
    let input = NewUserInput {
        username: form.get("username").into(),
        name: form.get("name").into(),
        role: form.get("role").into(),
        organisation: form.get("organisation").into(),
        hpr_number: form.get("hpr_number").into(),
        password: with_password.then(|| form.get("password").to_string()),
    };
    match admin::add_user(&state, Some(&staff.user), &input).await {
        Ok(added) => {
            let notice = match &added.invitation {
                Some(token) => invitation_notice(&added.user.username, token),
                None => {
                    html! { p.notice role="status" { (added.user.username) " er lagt til og kan logge inn med passordet du ga." } }
                }
            };
            render_list(
                &state,
                &staff,
                "",
                &FormData::default(),
                &FieldErrors::default(),
                Some(notice),
            )
            .await
        }
        Err(AppError::Invalid(errors)) => render_list(&state, &staff, "", &form, &errors, None).await,
        Err(AppError::Conflict(message)) => {
            render_list(
                &state,
                &staff,
                "",
                &form,
                &FieldErrors::single("username", message),
                None,
            )
            .await
        }
        Err(other) => Err(other.into()),
    }
}

async fn view_of(state: &AppState, staff: &UiStaff, id: UserId) -> Result<UserView, PageError> {
    admin::users_view(state, &staff.user)
        .await?
        .into_iter()
        .find(|v| v.record.user.id == id)
        .ok_or_else(|| AppError::NotFound("brukeren".into()).into())
}

async fn render_one(
    state: &AppState,
    staff: &UiStaff,
    id: UserId,
    form: &FormData,
    errors: &FieldErrors,
    notice: Option<Markup>,
) -> PageResult {
    let view = view_of(state, staff, id).await?;
    let organisations = organisation_options(state, staff).await?;
    let user = &view.record.user;
    let names = crate::service::Service::new(state, &staff.user)
        .names(view.history.iter().filter_map(|c| c.changed_by))
        .await?;
    let body = html! {
        h1 { (user.display_name) " " (status_badge(&view)) }
        p { a href="/admin" { "Administrasjon" } " › " a href="/admin/brukere" { "Brukere" } " › " (user.display_name) }
        @if let Some(notice) = notice { (notice) }
        (error_summary(errors))
        p { (user.username) " · " (user.role.label_nb()) @if let Some(hpr) = &view.hpr_number { " · HPR " (hpr) } }
        @if view.record.active {
            h2 { "Deaktiver" }
            p { "Alle økter og API-nøkler avsluttes med en gang, og brukeren kan ikke logge inn. Navnet står fortsatt på alt brukeren har gjort." }
            form.stack method="post" action={ "/admin/brukere/" (user.id) "/status" } {
                (csrf(&staff.csrf))
                input type="hidden" name="active" value="no";
                (textarea("Hvorfor", "reason", form.get("reason"), errors))
                button.danger type="submit" { "Deaktiver " (user.display_name) }
            }
            h2 { "Ny engangslenke" }
            form method="post" action={ "/admin/brukere/" (user.id) "/invitasjon" } {
                (csrf(&staff.csrf))
                button.secondary type="submit" { "Lag ny engangslenke for passord" }
            }
        } @else {
            h2 { "Aktiver igjen" }
            form.stack method="post" action={ "/admin/brukere/" (user.id) "/status" } {
                (csrf(&staff.csrf))
                input type="hidden" name="active" value="yes";
                (textarea("Hvorfor", "reason", form.get("reason"), errors))
                button.ok type="submit" { "Aktiver " (user.display_name) " igjen" }
            }
        }
        h2 { "HPR-nummer" }
        form.stack method="post" action={ "/admin/brukere/" (user.id) "/hpr" } {
            (csrf(&staff.csrf))
            (input("HPR-nummer", "hpr_number", "text", if form.get("hpr_number").is_empty() { view.hpr_number.as_deref().unwrap_or("") } else { form.get("hpr_number") }, errors, Some("Fra Helsepersonellregisteret. Tomt felt fjerner nummeret.")))
            button.secondary type="submit" { "Lagre HPR-nummer" }
        }
        h2 { "Roller ved andre organisasjoner" }
        @if view.extra_roles.is_empty() { p.muted { "Ingen." } }
        ul { @for extra in &view.extra_roles { li { (extra.role.label_nb()) ", " (extra.organisation_name) } } }
        form.stack method="post" action={ "/admin/brukere/" (user.id) "/rolle" } {
            (csrf(&staff.csrf))
            (select("Organisasjon", "extra_organisation", &organisations, form.get("extra_organisation"), errors))
            (select("Rolle", "extra_role", &role_options(), form.get("extra_role"), errors))
            button.secondary type="submit" { "Gi rollen" }
        }
        h2 { "Historikk" }
        @if view.history.is_empty() { p.muted { "Ingen endringer av tilgangen." } }
        ul.log {
            @for change in &view.history {
                li {
                    (instant_nb(change.changed_at)) ": "
                    @if change.active { "aktivert igjen" } @else { "deaktivert" }
                    " av " (change.changed_by.and_then(|b| names.get(&b).cloned()).unwrap_or_else(|| "kommandolinjen på serveren".into()))
                    " – " (change.reason)
                }
            }
        }
    };
    Ok((form_status(errors), page(&user.display_name, staff, body)).into_response())
}

pub async fn show(State(state): State<AppState>, staff: UiStaff, Path(id): Path<String>) -> PageResult {
    let id: UserId = parse_id(&id)?;
    render_one(
        &state,
        &staff,
        id,
        &FormData::default(),
        &FieldErrors::default(),
        None,
    )
    .await
}

pub async fn change_status(
    State(state): State<AppState>,
    Path(id): Path<String>,
    StaffForm { staff, form }: StaffForm,
) -> PageResult {
    let id: UserId = parse_id(&id)?;
    let view = view_of(&state, &staff, id).await?;
    let active = form.get("active") == "yes";
    let username = view.record.user.username.clone();
    match admin::set_user_active(&state, Some(&staff.user), &username, active, form.get("reason")).await {
        Ok(user) => {
            let text = if active {
                format!("{} er aktiv igjen.", user.display_name)
            } else {
                format!(
                    "{} er deaktivert. Alle økter og nøkler er avsluttet.",
                    user.display_name
                )
            };
            render_one(
                &state,
                &staff,
                id,
                &FormData::default(),
                &FieldErrors::default(),
                Some(html! { p.notice role="status" { (text) } }),
            )
            .await
        }
        Err(AppError::Invalid(errors)) => render_one(&state, &staff, id, &form, &errors, None).await,
        Err(AppError::Conflict(message)) => {
            render_one(
                &state,
                &staff,
                id,
                &form,
                &FieldErrors::single("reason", message),
                None,
            )
            .await
        }
        Err(other) => Err(other.into()),
    }
}

pub async fn invite(
    State(state): State<AppState>,
    Path(id): Path<String>,
    StaffForm { staff, form: _ }: StaffForm,
) -> PageResult {
    let id: UserId = parse_id(&id)?;
    let view = view_of(&state, &staff, id).await?;
    let token = admin::invite_again(&state, Some(&staff.user), &view.record.user.username).await?;
    let notice = invitation_notice(&view.record.user.username, &token);
    render_one(
        &state,
        &staff,
        id,
        &FormData::default(),
        &FieldErrors::default(),
        Some(notice),
    )
    .await
}

pub async fn add_role(
    State(state): State<AppState>,
    Path(id): Path<String>,
    StaffForm { staff, form }: StaffForm,
) -> PageResult {
    let id: UserId = parse_id(&id)?;
    let view = view_of(&state, &staff, id).await?;
    match admin::add_role(
        &state,
        Some(&staff.user),
        &view.record.user.username,
        form.get("extra_organisation"),
        form.get("extra_role"),
    )
    .await
    {
        Ok(()) => {
            render_one(
                &state,
                &staff,
                id,
                &FormData::default(),
                &FieldErrors::default(),
                Some(html! { p.notice role="status" { "Rollen er gitt." } }),
            )
            .await
        }
        Err(AppError::Invalid(errors)) => render_one(&state, &staff, id, &form, &errors, None).await,
        Err(AppError::Conflict(message)) => {
            render_one(
                &state,
                &staff,
                id,
                &form,
                &FieldErrors::single("extra_role", message),
                None,
            )
            .await
        }
        Err(other) => Err(other.into()),
    }
}

pub async fn set_hpr_number(
    State(state): State<AppState>,
    Path(id): Path<String>,
    StaffForm { staff, form }: StaffForm,
) -> PageResult {
    let id: UserId = parse_id(&id)?;
    let notice = match admin::set_hpr_number(&state, Some(&staff.user), id, form.get("hpr_number")).await {
        Ok(Some(_)) => "HPR-nummeret er lagret.",
        Ok(None) => "HPR-nummeret er fjernet.",
        Err(AppError::Invalid(errors)) => return render_one(&state, &staff, id, &form, &errors, None).await,
        Err(AppError::Conflict(message)) => {
            let errors = FieldErrors::single("hpr_number", message);
            return render_one(&state, &staff, id, &form, &errors, None).await;
        }
        Err(other) => return Err(other.into()),
    };
    let notice = html! { p.notice role="status" { (notice) } };
    render_one(
        &state,
        &staff,
        id,
        &FormData::default(),
        &FieldErrors::default(),
        Some(notice),
    )
    .await
}

/// The page an invited user opens from the link: choose a password.
pub async fn invitation(State(state): State<AppState>, Path(token): Path<String>) -> Response {
    invitation_page(&state, &token, &FieldErrors::default()).await
}

async fn invitation_page(state: &AppState, token: &str, errors: &FieldErrors) -> Response {
    let user = match admin::invited_user(state, token).await {
        Ok(user) => user,
        Err(error) => return PageError(error).into_response(),
    };
    let login_token = crate::auth::random_token();
    let body = html! {
        main.narrow {
            h1 { "Velg passord" }
            p { "Hei, " (user.display_name) ". Velg passordet du skal logge inn i Samhand med som " strong { (user.username) } "." }
            (error_summary(errors))
            form.stack method="post" action={ "/invitasjon/" (token) } {
                input type="hidden" name="csrf" value=(login_token);
                (required_input("Nytt passord (minst 12 tegn)", "password", "password", "", errors, None))
                (required_input("Skriv passordet en gang til", "repeated", "password", "", errors, None))
                button type="submit" { "Lagre passordet" }
            }
        }
    };
    (
        form_status(errors),
        [(
            axum::http::header::SET_COOKIE,
            crate::pages::login::login_csrf_cookie(state, &login_token),
        )],
        crate::pages::layout::bare("Velg passord", body),
    )
        .into_response()
}

pub async fn accept_invitation(
    State(state): State<AppState>,
    Path(token): Path<String>,
    headers: axum::http::HeaderMap,
    axum::Form(fields): axum::Form<Vec<(String, String)>>,
) -> Response {
    let form = FormData(fields);
    if !crate::pages::login::login_csrf_ok(&state, &headers, &form) {
        return PageError(AppError::Csrf).into_response();
    }
    match admin::accept_invitation(&state, &token, form.get("password"), form.get("repeated")).await {
        Ok(_) => crate::pages::layout::bare(
            "Passordet er lagret",
            html! { main.narrow { h1 { "Passordet er lagret" } p { a.button href="/login" { "Logg inn" } } } },
        )
        .into_response(),
        Err(AppError::Invalid(errors)) => invitation_page(&state, &token, &errors).await,
        Err(other) => PageError(other).into_response(),
    }
}
