//! The administrator's organisations: the list with a form for a new one, and each
//! organisation's page with its registration and, for a dispensing place, its
//! opening days and hours, capacity, closed days and patient groups.

use axum::extract::{Path, State};
use axum::response::{IntoResponse, Redirect};
use maud::{Markup, html};
use samhand_domain::format::date_nb;
use samhand_domain::ids::OrganisationId;
use samhand_domain::organisation::OrganisationKind;
use samhand_domain::validation::FieldErrors;

use crate::AppState;
use crate::admin::{self, OrganisationInput, OrganisationView, PlaceInput};
use crate::auth::UiStaff;
use crate::error::{AppError, PageError};
use crate::pages::PageResult;
use crate::pages::forms::{
    FormData, StaffForm, csrf, error_summary, form_status, group_error, input, parse_id, required_input,
    select,
};
use crate::pages::layout::page;

const WEEKDAYS: [&str; 7] = [
    "Mandag", "Tirsdag", "Onsdag", "Torsdag", "Fredag", "Lørdag", "Søndag",
];

fn kind_options() -> Vec<(String, String)> {
    OrganisationKind::ALL
        .iter()
        .map(|k| (k.code().to_string(), k.label_nb().to_string()))
        .collect()
}

fn unit_options(views: &[OrganisationView]) -> Vec<(String, String)> {
    views
        .iter()
        .filter(|v| v.organisation.kind.is_lar_unit())
        .map(|v| (v.organisation.id.to_string(), v.organisation.name.clone()))
        .collect()
}

fn organisation_input(form: &FormData) -> OrganisationInput {
    OrganisationInput {
        name: form.get("name").into(),
        kind: form.get("kind").into(),
        municipality: form.get("municipality").into(),
        org_number: form.get("org_number").into(),
        her_id: form.get("her_id").into(),
        address: form.get("address").into(),
        phone: form.get("phone").into(),
        responsible_unit: form.get("responsible_unit").into(),
    }
}

fn place_summary(view: &OrganisationView) -> Markup {
    let org = &view.organisation;
    html! {
        @if org.kind.can_dispense() {
            @let days: Vec<&str> = WEEKDAYS.iter().zip(org.open_weekdays).filter(|(_, open)| *open).map(|(d, _)| &d[..3]).collect();
            (days.join(" "))
            @if let (Some(opens), Some(closes)) = (view.place.opens_at, view.place.closes_at) {
                " · " (opens.strftime("%H.%M")) "–" (closes.strftime("%H.%M"))
            }
            @if let Some(capacity) = view.place.capacity { " · plass til " (capacity) }
        }
    }
}

async fn render_list(
    state: &AppState,
    staff: &UiStaff,
    form: &FormData,
    errors: &FieldErrors,
    notice: Option<&str>,
) -> PageResult {
    let views = admin::organisations_view(state, &staff.user).await?;
    let body = html! {
        h1 { "Organisasjoner" }
        p { a href="/admin" { "Administrasjon" } " › Organisasjoner" }
        @if let Some(notice) = notice { p.notice role="status" { (notice) } }
        div.scroll role="region" aria-label="Organisasjoner" tabindex="0" {
            table {
                thead { tr { th { "Navn" } th { "Type" } th { "Org.nr." } th { "HER-id" } th { "Ansvarlig LAR-enhet" } th { "Åpent" } } }
                tbody {
                    @for view in &views {
                        tr {
                            td { a href={ "/admin/organisasjoner/" (view.organisation.id) } { (view.organisation.name) } }
                            td { (view.organisation.kind.label_nb()) }
                            td { (view.registration.org_number.as_ref().map(|n| n.as_str()).unwrap_or("–")) }
                            td { (view.registration.her_id.as_ref().map(|n| n.as_str()).unwrap_or("–")) }
                            td { (view.responsible_unit_name.as_deref().unwrap_or("–")) }
                            td { (place_summary(view)) }
                        }
                    }
                }
            }
        }
        h2 #ny { "Ny organisasjon" }
        (error_summary(errors))
        form.stack method="post" action="/admin/organisasjoner" {
            (csrf(&staff.csrf))
            (required_input("Navn", "name", "text", form.get("name"), errors, None))
            (select("Type", "kind", &kind_options(), form.get("kind"), errors))
            (input("Kommune", "municipality", "text", form.get("municipality"), errors, None))
            (input("Organisasjonsnummer", "org_number", "text", form.get("org_number"), errors, Some("9 siffer fra Enhetsregisteret")))
            (input("HER-id", "her_id", "text", form.get("her_id"), errors, Some("Fra Adresseregisteret, for elektroniske meldinger")))
            (input("Adresse", "address", "text", form.get("address"), errors, None))
            (input("Telefon", "phone", "text", form.get("phone"), errors, None))
            (select("Ansvarlig LAR-enhet (for kommunale steder)", "responsible_unit", &unit_options(&views), form.get("responsible_unit"), errors))
            button type="submit" { "Legg til organisasjonen" }
        }
    };
    Ok((form_status(errors), page("Organisasjoner", staff, body)).into_response())
}

pub async fn list(State(state): State<AppState>, staff: UiStaff) -> PageResult {
    render_list(
        &state,
        &staff,
        &FormData::default(),
        &FieldErrors::default(),
        None,
    )
    .await
}

pub async fn add(State(state): State<AppState>, StaffForm { staff, form }: StaffForm) -> PageResult {
    match admin::add_organisation(&state, Some(&staff.user), &organisation_input(&form)).await {
        Ok((organisation, _)) => {
            Ok(Redirect::to(&format!("/admin/organisasjoner/{}?lagt-til", organisation.id)).into_response())
        }
        Err(AppError::Invalid(errors)) => render_list(&state, &staff, &form, &errors, None).await,
        Err(AppError::Conflict(message)) => {
            render_list(&state, &staff, &form, &FieldErrors::single("name", message), None).await
        }
        Err(other) => Err(other.into()),
    }
}

async fn view_of(
    state: &AppState,
    staff: &UiStaff,
    id: OrganisationId,
) -> Result<(OrganisationView, Vec<OrganisationView>), PageError> {
    let views = admin::organisations_view(state, &staff.user).await?;
    let view = views
        .iter()
        .find(|v| v.organisation.id == id)
        .cloned()
        .ok_or_else(|| AppError::NotFound("organisasjonen".into()))?;
    Ok((view, views))
}

/// Which form on the organisation's page was sent, with what it typed and its errors.
#[derive(Default)]
struct Sent<'a> {
    form: Option<&'a str>,
    data: FormData,
    errors: FieldErrors,
}

impl Sent<'_> {
    fn errors_for(&self, form: &str) -> FieldErrors {
        if self.form == Some(form) {
            self.errors.clone()
        } else {
            FieldErrors::default()
        }
    }

    fn value<'v>(&'v self, form: &str, name: &str, fallback: &'v str) -> &'v str {
        if self.form == Some(form) {
            self.data.get(name)
        } else {
            fallback
        }
    }
}

fn registration_form(
    staff: &UiStaff,
    view: &OrganisationView,
    views: &[OrganisationView],
    sent: &Sent,
) -> Markup {
    let errors = sent.errors_for("registration");
    let registration = &view.registration;
    let unit = registration
        .responsible_unit
        .map(|u| u.to_string())
        .unwrap_or_default();
    html! {
        h2 { "Registrering" }
        (error_summary(&errors))
        form.stack method="post" action={ "/admin/organisasjoner/" (view.organisation.id) } {
            (csrf(&staff.csrf))
            input type="hidden" name="form" value="registration";
            (input("Organisasjonsnummer", "org_number", "text", sent.value("registration", "org_number", registration.org_number.as_ref().map(|n| n.as_str()).unwrap_or("")), &errors, Some("9 siffer")))
            (input("HER-id", "her_id", "text", sent.value("registration", "her_id", registration.her_id.as_ref().map(|n| n.as_str()).unwrap_or("")), &errors, None))
            (input("Adresse", "address", "text", sent.value("registration", "address", &registration.address), &errors, Some("Gate, postnummer og sted, som «Storgata 1, 9008 Fjordvik»")))
            (input("Telefon", "phone", "text", sent.value("registration", "phone", &registration.phone), &errors, None))
            @if !view.organisation.kind.is_lar_unit() {
                (select("Ansvarlig LAR-enhet", "responsible_unit", &unit_options(views), sent.value("registration", "responsible_unit", &unit), &errors))
            }
            button type="submit" { "Lagre registreringen" }
        }
    }
}

fn place_form(staff: &UiStaff, view: &OrganisationView, sent: &Sent) -> Markup {
    let errors = sent.errors_for("place");
    let org = &view.organisation;
    let time_text =
        |t: Option<jiff::civil::Time>| t.map(|t| t.strftime("%H.%M").to_string()).unwrap_or_default();
    let (opens, closes) = (time_text(view.place.opens_at), time_text(view.place.closes_at));
    let capacity = view.place.capacity.map(|c| c.to_string()).unwrap_or_default();
    let weekday_open = |i: usize| {
        if sent.form == Some("place") {
            sent.data.has(&format!("day{i}"))
        } else {
            org.open_weekdays[i]
        }
    };
    let holidays = if sent.form == Some("place") {
        sent.data.has("holidays")
    } else {
        org.open_on_public_holidays
    };
    html! {
        h2 { "Åpningstider og kapasitet" }
        (error_summary(&errors))
        form.stack method="post" action={ "/admin/organisasjoner/" (org.id) } {
            (csrf(&staff.csrf))
            input type="hidden" name="form" value="place";
            fieldset #open_weekdays {
                legend { "Åpne ukedager" }
                @for (i, day) in WEEKDAYS.iter().enumerate() {
                    label.checkbox { input type="checkbox" name={ "day" (i) } value="yes" checked[weekday_open(i)]; (day) }
                }
                (group_error(&errors, "open_weekdays"))
            }
            label.checkbox { input type="checkbox" name="holidays" value="yes" checked[holidays]; "Åpent på helligdager" }
            div.inline {
                (input("Åpner", "opens_at", "text", sent.value("place", "opens_at", &opens), &errors, Some("tt.mm")))
                (input("Stenger", "closes_at", "text", sent.value("place", "closes_at", &closes), &errors, Some("tt.mm")))
            }
            (input("Kapasitet (pasienter)", "capacity", "number", sent.value("place", "capacity", &capacity), &errors, None))
            button type="submit" { "Lagre åpningstidene" }
        }
    }
}

fn closed_days_form(staff: &UiStaff, view: &OrganisationView, sent: &Sent) -> Markup {
    let errors = sent.errors_for("closed");
    html! {
        h2 { "Stengte dager" }
        p.hint { "Utover helligdagene. Pasienter som skulle hentet en stengt dag, får dosen dekket dagen før." }
        @if view.closed_days.is_empty() {
            p.muted { "Ingen stengte dager er satt opp." }
        } @else {
            ul { @for day in &view.closed_days { li { (date_nb(day.date)) ": " (day.reason) } } }
        }
        (error_summary(&errors))
        form.stack method="post" action={ "/admin/organisasjoner/" (view.organisation.id) } {
            (csrf(&staff.csrf))
            input type="hidden" name="form" value="closed";
            (required_input("Dato", "date", "text", sent.value("closed", "date", ""), &errors, Some("dd.mm.åååå")))
            (required_input("Hvorfor", "reason", "text", sent.value("closed", "reason", ""), &errors, None))
            button type="submit" { "Legg til stengt dag" }
        }
    }
}

fn groups_form(staff: &UiStaff, view: &OrganisationView, sent: &Sent) -> Markup {
    let errors = sent.errors_for("group");
    html! {
        h2 { "Pasientgrupper" }
        @if view.groups.is_empty() {
            p.muted { "Ingen grupper ennå." }
        } @else {
            ul {
                @for group in &view.groups {
                    li { (group.name) ": " (group.window.start.strftime("%H.%M")) "–" (group.window.end.strftime("%H.%M")) }
                }
            }
        }
        (error_summary(&errors))
        form.stack method="post" action={ "/admin/organisasjoner/" (view.organisation.id) } {
            (csrf(&staff.csrf))
            input type="hidden" name="form" value="group";
            (required_input("Navn på gruppen", "group_name", "text", sent.value("group", "group_name", ""), &errors, None))
            div.inline {
                (required_input("Fra", "window_start", "text", sent.value("group", "window_start", ""), &errors, Some("tt.mm")))
                (required_input("Til", "window_end", "text", sent.value("group", "window_end", ""), &errors, Some("tt.mm")))
            }
            button type="submit" { "Legg til gruppen" }
        }
    }
}

async fn render_one(
    state: &AppState,
    staff: &UiStaff,
    id: OrganisationId,
    sent: &Sent<'_>,
    notice: Option<&str>,
) -> PageResult {
    let (view, views) = view_of(state, staff, id).await?;
    let org = &view.organisation;
    let body = html! {
        h1 { (org.name) }
        p { a href="/admin" { "Administrasjon" } " › " a href="/admin/organisasjoner" { "Organisasjoner" } " › " (org.name) }
        @if let Some(notice) = notice { p.notice role="status" { (notice) } }
        p { (org.kind.label_nb()) @if !org.municipality.is_empty() { ", " (org.municipality) } }
        (registration_form(staff, &view, &views, sent))
        @if org.kind.can_dispense() {
            (place_form(staff, &view, sent))
            (closed_days_form(staff, &view, sent))
            (groups_form(staff, &view, sent))
        }
        p { a href={ "/admin/brukere?organisasjon=" (org.id) } { "Brukere ved " (org.name) } }
    };
    Ok((form_status(&sent.errors), page(&org.name, staff, body)).into_response())
}

pub async fn show(
    State(state): State<AppState>,
    staff: UiStaff,
    Path(id): Path<String>,
    uri: axum::http::Uri,
) -> PageResult {
    let id: OrganisationId = parse_id(&id)?;
    let notice = uri
        .query()
        .is_some_and(|q| q.contains("lagt-til"))
        .then_some("Organisasjonen er lagt til.");
    render_one(&state, &staff, id, &Sent::default(), notice).await
}

pub async fn change(
    State(state): State<AppState>,
    Path(id): Path<String>,
    StaffForm { staff, form }: StaffForm,
) -> PageResult {
    let id: OrganisationId = parse_id(&id)?;
    let by = Some(&staff.user);
    let which = form.get("form").to_string();
    let (done, notice) = match which.as_str() {
        "registration" => (
            admin::update_registration(&state, by, id, &organisation_input(&form))
                .await
                .map(|_| ()),
            "Registreringen er lagret.",
        ),
        "place" => {
            let mut open_weekdays = [false; 7];
            for (i, open) in open_weekdays.iter_mut().enumerate() {
                *open = form.has(&format!("day{i}"));
            }
            let input = PlaceInput {
                open_weekdays,
                open_on_public_holidays: form.has("holidays"),
                opens_at: form.get("opens_at").into(),
                closes_at: form.get("closes_at").into(),
                capacity: form.get("capacity").into(),
            };
            (
                admin::set_place(&state, by, id, &input).await,
                "Åpningstidene er lagret.",
            )
        }
        "closed" => (
            admin::add_closed_day(&state, by, id, form.get("date"), form.get("reason")).await,
            "Den stengte dagen er lagt til.",
        ),
        "group" => (
            admin::add_group(
                &state,
                by,
                id,
                form.get("group_name"),
                form.get("window_start"),
                form.get("window_end"),
            )
            .await
            .map(|_| ()),
            "Gruppen er lagt til.",
        ),
        _ => return Err(AppError::NotFound("skjemaet".into()).into()),
    };
    let field = match which.as_str() {
        "closed" => "date",
        "group" => "group_name",
        _ => "org_number",
    };
    let errors = match done {
        Ok(()) => return render_one(&state, &staff, id, &Sent::default(), Some(notice)).await,
        Err(AppError::Invalid(errors)) => errors,
        // The registration's conflicts are the organisation number's or the HER-id's.
        Err(AppError::Conflict(message)) if field == "org_number" && message.contains("HER-id") => {
            FieldErrors::single("her_id", message)
        }
        Err(AppError::Conflict(message)) => FieldErrors::single(field, message),
        Err(other) => return Err(other.into()),
    };
    let sent = Sent {
        form: Some(which.as_str()),
        data: form.clone(),
        errors,
    };
    render_one(&state, &staff, id, &sent, None).await
}
