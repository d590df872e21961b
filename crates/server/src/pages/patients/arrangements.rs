//! The dispensing arrangement (the place, the week plan of attendance and
//! take-home days, the review date, the time window) saved as a new version, and
//! the cover of a single day when the place is closed.

use std::collections::HashMap;

use axum::extract::{Path, State};
use axum::response::{IntoResponse, Redirect};
use maud::{Markup, html};
use samhand_domain::arrangement::{ArrangementContent, ArrangementInput, DayPlan, PatientGroup};
use samhand_domain::format::{WEEKDAYS_NB, date_nb, time_nb};
use samhand_domain::ids::{OrganisationId, PatientId};
use samhand_domain::organisation::Organisation;
use samhand_domain::validation::FieldErrors;

use crate::AppState;
use crate::auth::UiStaff;
use crate::error::AppError;
use crate::pages::PageResult;
use crate::pages::forms::{
    FormData, StaffForm, csrf, error_summary, form_status, group_error, input, parse_id, select, textarea,
};
use crate::pages::layout::page;
use crate::service::Service;

/// The patient groups as choices: «place: name 08.00–09.30».
fn group_options(
    groups: &[PatientGroup],
    organisations: &HashMap<OrganisationId, Organisation>,
) -> Vec<(String, String)> {
    groups
        .iter()
        .map(|g| {
            let place = organisations
                .get(&g.place_id)
                .map(|o| o.name.as_str())
                .unwrap_or("");
            (
                g.id.to_string(),
                format!(
                    "{place}: {} {}–{}",
                    g.name,
                    time_nb(g.window.start),
                    time_nb(g.window.end)
                ),
            )
        })
        .collect()
}

async fn arrangement_page(
    state: &AppState,
    staff: &UiStaff,
    id: PatientId,
    form: &FormData,
    errors: &FieldErrors,
) -> PageResult {
    let service = Service::new(state, &staff.user);
    let overview = service.overview(id).await?;
    let places = crate::pages::labels::place_options(&service).await?;
    let groups = service.groups().await?;
    let group_options = group_options(&groups, &overview.organisations);
    let current = overview.arrangement.as_ref().map(|a| &a.content);
    let value = |name: &str, fallback: String| {
        if form.has(name) {
            form.get(name).to_string()
        } else {
            fallback
        }
    };
    let place = value(
        "place_id",
        current.map(|c| c.place_id.to_string()).unwrap_or_default(),
    );
    let group = value(
        "group_id",
        current
            .and_then(|c| c.group_id)
            .map(|g| g.to_string())
            .unwrap_or_default(),
    );
    let today = state.clock.today();
    let valid_from = value("valid_from", today.to_string());
    let review = value(
        "review_on",
        today
            .checked_add(jiff::Span::new().months(3))
            .map(|d| d.to_string())
            .unwrap_or_default(),
    );
    let window_start = value(
        "window_start",
        current
            .and_then(|c| c.window)
            .map(|w| time_nb(w.start))
            .unwrap_or_default(),
    );
    let window_end = value(
        "window_end",
        current
            .and_then(|c| c.window)
            .map(|w| time_nb(w.end))
            .unwrap_or_default(),
    );
    let body = html! {
        h1 { "Utleveringsordning for " (overview.patient.full_name()) }
        p.hint { "En endring lagres som en ny versjon med begrunnelse. Typisk stige: daglig inntak under tilsyn de første tre månedene, deretter færre oppmøter med ta-med-doser imellom (høyst én uke)." }
        (error_summary(errors))
        form.stack method="post" action={ "/pasienter/" (id) "/ordning" } {
            (csrf(&staff.csrf))
            (select("Utleveringssted", "place_id", &places, &place, errors))
            (week_fieldset(form, current, errors))
            (input("Gjelder fra", "valid_from", "date", &valid_from, errors, None))
            (input("Revurderes innen", "review_on", "date", &review, errors, None))
            (select("Pasientgruppe (tidsvindu)", "group_id", &group_options, &group, errors))
            div.inline {
                (input("Eget tidsvindu fra", "window_start", "text", &window_start, errors, Some("f.eks. 08.00")))
                (input("til", "window_end", "text", &window_end, errors, None))
            }
            (textarea("Begrunnelse", "reason", form.get("reason"), errors))
            button type="submit" { "Lagre ordning" }
        }
    };
    let status = form_status(errors);
    Ok((status, page("Utleveringsordning", staff, body)).into_response())
}

/// The week plan: attend or take home for each weekday, as typed or as it is now.
fn week_fieldset(form: &FormData, current: Option<&ArrangementContent>, errors: &FieldErrors) -> Markup {
    let day_value = |i: usize| -> String {
        let name = format!("day{i}");
        if form.has(&name) {
            form.get(&name).to_string()
        } else {
            match current.map(|c| c.week.days()[i]) {
                Some(DayPlan::TakeHome) => "take_home".into(),
                _ => "attend".into(),
            }
        }
    };
    html! {
    fieldset id="days" {
        legend { "Ukeplan" }
        div.week {
            @for i in 0..7 {
                fieldset {
                    legend { (WEEKDAYS_NB[i]) }
                    label.checkbox { input type="radio" name={ "day" (i) } value="attend" checked[day_value(i) == "attend"]; "Oppmøte" }
                    label.checkbox { input type="radio" name={ "day" (i) } value="take_home" checked[day_value(i) == "take_home"]; "Ta med" }
                }
            }
        }
        (group_error(errors, "days"))
    }
    }
}

pub async fn form(State(state): State<AppState>, staff: UiStaff, Path(id): Path<String>) -> PageResult {
    let id: PatientId = parse_id(&id)?;
    arrangement_page(&state, &staff, id, &FormData::default(), &FieldErrors::default()).await
}

pub async fn save(
    State(state): State<AppState>,
    Path(id): Path<String>,
    StaffForm { staff, form }: StaffForm,
) -> PageResult {
    let id: PatientId = parse_id(&id)?;
    let input = ArrangementInput {
        place_id: form.get("place_id").into(),
        days: std::array::from_fn(|i| form.get(&format!("day{i}")).to_string()),
        valid_from: form.get("valid_from").into(),
        review_on: form.get("review_on").into(),
        group_id: form.get("group_id").into(),
        window_start: form.get("window_start").into(),
        window_end: form.get("window_end").into(),
        reason: form.get("reason").into(),
    };
    match Service::new(&state, &staff.user)
        .set_arrangement(id, &input)
        .await
    {
        Ok(_) => Ok(Redirect::to(&format!("/pasienter/{id}?lagret=ordning")).into_response()),
        Err(AppError::Invalid(errors)) => arrangement_page(&state, &staff, id, &form, &errors).await,
        Err(other) => Err(other.into()),
    }
}

// ------------------------------------------------------------------ covers

async fn cover_page(
    state: &AppState,
    staff: &UiStaff,
    id: PatientId,
    form: &FormData,
    errors: &FieldErrors,
) -> PageResult {
    let service = Service::new(state, &staff.user);
    let overview = service.overview(id).await?;
    let places = crate::pages::labels::place_options(&service).await?;
    let body = html! {
        h1 { "Dekning av enkeltdag for " (overview.patient.full_name()) }
        p.hint { "Når utleveringsstedet er stengt (helligdag), dekkes dosen av ta-med-dose utlevert en tidligere dag, eller av et annet utleveringssted." }
        @if !overview.uncovered.is_empty() {
            div.warning {
                "Udekkede dager: "
                @for u in &overview.uncovered { (date_nb(u.dose_date)) " " }
            }
        }
        (error_summary(errors))
        form.stack method="post" action={ "/pasienter/" (id) "/dekning" } {
            (csrf(&staff.csrf))
            (input("Dag som skal dekkes", "cover_date", "date", form.get("cover_date"), errors, None))
            (input("Ta-med-dose utleveres", "take_home_from", "date", form.get("take_home_from"), errors, Some("Dato for utlevering, eller velg sted under")))
            (select("eller hentes ved", "place_id", &places, form.get("place_id"), errors))
            button type="submit" { "Lagre dekning" }
        }
    };
    let status = form_status(errors);
    Ok((status, page("Dekning", staff, body)).into_response())
}

pub async fn cover_form(State(state): State<AppState>, staff: UiStaff, Path(id): Path<String>) -> PageResult {
    let id: PatientId = parse_id(&id)?;
    cover_page(&state, &staff, id, &FormData::default(), &FieldErrors::default()).await
}

pub async fn add_cover(
    State(state): State<AppState>,
    Path(id): Path<String>,
    StaffForm { staff, form }: StaffForm,
) -> PageResult {
    let id: PatientId = parse_id(&id)?;
    let service = Service::new(&state, &staff.user);
    match service
        .add_cover(
            id,
            form.get("cover_date"),
            form.get("take_home_from"),
            form.get("place_id"),
        )
        .await
    {
        Ok(_) => Ok(Redirect::to(&format!("/pasienter/{id}?lagret=dekning")).into_response()),
        Err(AppError::Invalid(errors)) => cover_page(&state, &staff, id, &form, &errors).await,
        Err(other) => Err(other.into()),
    }
}

// ------------------------------------------------------------- end episode
