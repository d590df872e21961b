//! Patient pages: search, enrolment, the overview, dose orders with signing and
//! discarding, the dispensing arrangement, holiday covers, ending treatment, and
//! overdue reviews. A saved change comes back to the overview with a notice.

use axum::extract::{Multipart, Path, Query, State};
use axum::http::header;
use axum::response::{IntoResponse, Redirect, Response};
use maud::{Markup, html};
use samhand_domain::access;
use samhand_domain::arrangement::{ArrangementInput, DayPlan};
use samhand_domain::dose_order::{DoseOrder, DoseOrderInput};
use samhand_domain::format::{WEEKDAYS_NB, count_nb, date_nb, time_nb, weekday_nb};
use samhand_domain::ids::{DoseOrderId, PatientId};
use samhand_domain::organisation::Role;
use samhand_domain::patient::{EndReason, Phase};
use samhand_domain::substance::{Form as DoseForm, Substance};
use samhand_domain::time::oslo_datetime;
use samhand_domain::validation::FieldErrors;

use crate::AppState;
use crate::auth::UiStaff;
use crate::error::{AppError, PageError};
use crate::pages::forms::{
    FormData, StaffForm, csrf, error_summary, form_status, group_error, input, select, textarea,
};
use crate::pages::layout::page;
use crate::service::{EnrolInput, Overview, Photo, Service};

type PageResult = Result<Response, PageError>;

use crate::pages::forms::parse_id;

pub fn substance_options() -> Vec<(String, String)> {
    Substance::ALL
        .iter()
        .map(|s| (s.code().to_string(), s.name().to_string()))
        .collect()
}

pub fn form_name(form: DoseForm) -> &'static str {
    match form {
        DoseForm::OralSolution => "Mikstur",
        DoseForm::SublingualTablet => "Sublingvaltablett",
        DoseForm::SublingualFilm => "Sublingvalfilm",
        DoseForm::Injection => "Injeksjon",
        DoseForm::ExtendedReleaseCapsule => "Depotkapsel",
        DoseForm::ExtendedReleaseTablet => "Depottablett",
    }
}

pub fn phase_name(phase: Phase) -> &'static str {
    match phase {
        Phase::Referral => "Henvisning",
        Phase::Planning => "Planlegging",
        Phase::Start => "Oppstart",
        Phase::Stabilisation => "Stabilisering",
        Phase::Continuation => "Videreføring",
        Phase::Ending => "Avslutning",
    }
}

pub fn end_reason_name(reason: EndReason) -> &'static str {
    match reason {
        EndReason::CompletedTaper => "Fullført nedtrapping",
        EndReason::VoluntaryDischarge => "Frivillig avslutning",
        EndReason::InvoluntaryDischarge => "Ufrivillig avslutning",
        EndReason::TransferredToOtherUnit => "Overført til annen enhet",
        EndReason::Death => "Død",
        EndReason::Other => "Annet",
    }
}

fn role_name(role: Role) -> &'static str {
    role.label_nb()
}

// ------------------------------------------------------------------ search

#[derive(serde::Deserialize, Default)]
pub struct SearchQuery {
    #[serde(default)]
    q: String,
}

pub async fn search(
    State(state): State<AppState>,
    staff: UiStaff,
    Query(query): Query<SearchQuery>,
) -> PageResult {
    let service = Service::new(&state, &staff.user);
    let found = service.search(&query.q).await?;
    let alerts = service.alerts().await?;
    let may_enrol = access::may_enrol(&staff.user).is_allowed();
    let body = html! {
        h1 { "Pasienter" }
        @if !alerts.is_empty() {
            section.card aria-labelledby="alerts" {
                h2.card-title #alerts { "Varsler i dag" }
                ul {
                    @for alert in &alerts {
                        li {
                            a href={ "/pasienter/" (alert.patient.id) } { (alert.patient.full_name()) } ": "
                            (alert_text(&alert.kind))
                        }
                    }
                }
            }
        }
        form.inline method="get" action="/pasienter" role="search" {
            div {
                label for="q" { "Søk på navn eller fødselsnummer" }
                input type="search" id="q" name="q" value=(query.q) autofocus;
            }
            button type="submit" { "Søk" }
            @if may_enrol { a.button href="/pasienter/ny" { "Innskriv ny pasient" } }
        }
        @if query.q.trim().chars().count() >= 2 {
            @if found.is_empty() {
                p { "Ingen treff blant pasientene du har tilgang til." }
            } @else {
                table {
                    thead { tr { th { "Navn" } th { "Fødselsnummer" } } }
                    tbody {
                        @for p in &found {
                            tr {
                                td { a href={ "/pasienter/" (p.id) } { (p.family_name) ", " (p.given_name) } }
                                td { (p.national_id.as_str()) }
                            }
                        }
                    }
                }
            }
        } @else if !query.q.is_empty() {
            p.hint { "Skriv minst to tegn." }
        }
    };
    Ok(page("Pasienter", &staff, body).into_response())
}

pub fn alert_text(kind: &crate::service::AlertKind) -> Markup {
    use crate::service::AlertKind;
    html! {
        @match kind {
            AlertKind::Blocked { days, .. } => {
                span.blocked { "Må revurderes av lege" } " " (count_nb(*days, "dag", "dager")) " på rad uten dose."
            }
            AlertKind::Missed { days, since } => {
                span.badge.warn { "Uteblitt" } " " (count_nb(*days, "dag", "dager")) " på rad"
                @if let Some(since) = since { " fra " (date_nb(*since)) }
                "."
            }
            AlertKind::Assessed { outcome, reason, .. } => {
                span.badge.bad { (outcome.label_nb(samhand_domain::schedule::IntakeMode::Supervised)) } " i dag: " (reason)
            }
        }
    }
}

// --------------------------------------------------------------- enrolment

async fn enrol_page(state: &AppState, staff: &UiStaff, form: &FormData, errors: &FieldErrors) -> PageResult {
    let service = Service::new(state, &staff.user);
    let staff_list = service.colleagues().await?;
    let doctors: Vec<(String, String)> = staff_list
        .iter()
        .filter(|u| u.role == Role::Prescriber)
        .map(|u| (u.id.to_string(), u.display_name.clone()))
        .collect();
    let consultants: Vec<(String, String)> = staff_list
        .iter()
        .filter(|u| u.role == Role::LarConsultant)
        .map(|u| (u.id.to_string(), u.display_name.clone()))
        .collect();
    let phases: Vec<(String, String)> = Phase::ALL
        .iter()
        .map(|p| (p.code().to_string(), phase_name(*p).to_string()))
        .collect();
    let today = state.clock.today().to_string();
    let started = if form.has("started_on") {
        form.get("started_on")
    } else {
        &today
    };
    let phase = if form.has("phase") {
        form.get("phase")
    } else {
        "start"
    };
    let body = html! {
        h1 { "Innskriv pasient i LAR" }
        (error_summary(errors))
        form.stack method="post" action="/pasienter/ny" enctype="multipart/form-data" {
            (csrf(&staff.csrf))
            (input("Fødselsnummer eller D-nummer", "national_id", "text", form.get("national_id"), errors, Some("11 sifre")))
            (input("Fornavn", "given_name", "text", form.get("given_name"), errors, None))
            (input("Etternavn", "family_name", "text", form.get("family_name"), errors, None))
            (input("Telefon", "phone", "text", form.get("phone"), errors, None))
            (input("Adresse", "address", "text", form.get("address"), errors, None))
            div {
                label for="photo" { "Bilde for identitetskontroll" }
                div.hint { "JPEG, PNG eller WebP, høyst 5 MB" }
                input type="file" id="photo" name="photo" accept="image/jpeg,image/png,image/webp";
                (group_error(errors, "photo"))
            }
            (select("Ansvarlig lege", "doctor_id", &doctors, form.get("doctor_id"), errors))
            (select("LAR-konsulent", "consultant_id", &consultants, form.get("consultant_id"), errors))
            (input("Innskrevet fra", "started_on", "date", started, errors, None))
            (select("Fase", "phase", &phases, phase, errors))
            button type="submit" { "Innskriv" }
        }
    };
    let status = form_status(errors);
    Ok((status, page("Innskriv pasient", staff, body)).into_response())
}

pub async fn enrol_form(State(state): State<AppState>, staff: UiStaff) -> PageResult {
    if !access::may_enrol(&staff.user).is_allowed() {
        return Err(AppError::Forbidden(
            "Bare lege eller LAR-konsulent ved en LAR-enhet kan innskrive pasienter.".into(),
        )
        .into());
    }
    enrol_page(&state, &staff, &FormData::default(), &FieldErrors::default()).await
}

pub async fn enrol(State(state): State<AppState>, staff: UiStaff, mut multipart: Multipart) -> PageResult {
    let mut form = FormData::default();
    let mut photo = None;
    while let Some(field) = multipart.next_field().await.map_err(|_| {
        AppError::Invalid(FieldErrors::single(
            "photo",
            "Skjemaet kunne ikke leses. Prøv igjen.",
        ))
    })? {
        let name = field.name().unwrap_or_default().to_string();
        if name == "photo" {
            let content_type = field.content_type().unwrap_or_default().to_string();
            let bytes = field
                .bytes()
                .await
                .map_err(|_| AppError::Invalid(FieldErrors::single("photo", "Bildet kunne ikke leses.")))?;
            if !bytes.is_empty() {
                photo = Some(Photo {
                    content_type,
                    bytes: bytes.to_vec(),
                });
            }
        } else {
            let value = field.text().await.unwrap_or_default();
            form.0.push((name, value));
        }
    }
    staff.check_csrf(form.get("csrf"))?;
    let input = EnrolInput {
        patient: samhand_domain::patient::PatientInput {
            national_id: form.get("national_id").into(),
            given_name: form.get("given_name").into(),
            family_name: form.get("family_name").into(),
            phone: form.get("phone").into(),
            address: form.get("address").into(),
        },
        doctor_id: form.get("doctor_id").into(),
        consultant_id: form.get("consultant_id").into(),
        started_on: form.get("started_on").into(),
        phase: form.get("phase").into(),
    };
    match Service::new(&state, &staff.user).enrol(&input, photo).await {
        Ok(id) => Ok(Redirect::to(&format!("/pasienter/{id}")).into_response()),
        Err(AppError::Invalid(errors)) => enrol_page(&state, &staff, &form, &errors).await,
        Err(other) => Err(other.into()),
    }
}

// ---------------------------------------------------------------- overview

pub async fn photo(State(state): State<AppState>, staff: UiStaff, Path(id): Path<String>) -> PageResult {
    let id: PatientId = parse_id(&id)?;
    match Service::new(&state, &staff.user).photo(id).await? {
        Some(photo) => Ok((
            [
                (header::CONTENT_TYPE, photo.content_type),
                (header::CACHE_CONTROL, "private, max-age=300".into()),
            ],
            photo.bytes,
        )
            .into_response()),
        None => Err(AppError::NotFound("bildet".into()).into()),
    }
}

pub fn photo_tag(patient: &samhand_domain::patient::Patient) -> Markup {
    html! {
        @if patient.has_photo {
            img.photo src={ "/pasienter/" (patient.id) "/foto" } alt={ "Bilde av " (patient.full_name()) } width="96" height="120";
        } @else {
            div.photo-placeholder role="img" aria-label="Mangler bilde" {}
        }
    }
}

pub fn week_text(week: &samhand_domain::arrangement::WeekPlan) -> Markup {
    html! {
        @for (i, day) in week.days().iter().enumerate() {
            span.badge.ok[*day == DayPlan::Attend] title=(WEEKDAYS_NB[i]) {
                (&WEEKDAYS_NB[i][..3]) " " @if *day == DayPlan::Attend { "oppmøte" } @else { "ta med" }
            }
            " "
        }
    }
}

fn order_summary(order: &DoseOrder) -> Markup {
    let c = &order.content;
    html! {
        (c.substance.name()) ", " (form_name(c.form)) ": "
        @for (i, part) in c.dose.parts().iter().enumerate() {
            @if i > 0 { " + " }
            (part)
        }
        @if c.dose.parts().len() > 1 { " (delt, totalt " (c.dose.total()) ")" }
        " fra " (date_nb(c.effective_from))
        @for step in &c.titration {
            br; span.hint { "Fra " (date_nb(step.from)) ": " (step.dose.total()) }
        }
    }
}

fn overview_body(o: &Overview, staff: &UiStaff) -> Markup {
    let name = |id| o.names.get(&id).cloned().unwrap_or_else(|| "ukjent".into());
    let org = |id| {
        o.organisations
            .get(&id)
            .map(|x| x.name.clone())
            .unwrap_or_else(|| "ukjent sted".into())
    };
    let is_prescriber = staff.user.role == Role::Prescriber;
    let active = o.episode.as_ref().is_some_and(|e| e.is_active_on(o.today));
    html! {
        div.row.identity {
            (photo_tag(&o.patient))
            div {
                h1 { (o.patient.full_name()) }
                p { "Fødselsnummer " strong { (o.patient.national_id.as_str()) } " · Telefon " (o.patient.phone) " · " (o.patient.address) }
            }
        }
        @if o.missed.is_blocked() {
            div.error role="alert" {
                span.blocked { "Må revurderes av lege" }
                " Ordinasjonen er sperret etter " (count_nb(o.missed.consecutive_days, "dag", "dager")) " på rad uten dose"
                @if let Some(since) = o.missed.since { " (fra " (date_nb(since)) ")" }
                ". Toleransen kan være redusert. En signert ny vurdering av dosen opphever sperren."
            }
        } @else if o.missed.alert {
            div.warning role="status" {
                "Uteblitt " (count_nb(o.missed.consecutive_days, "dag", "dager")) " på rad"
                @if let Some(since) = o.missed.since { " fra " (date_nb(since)) }
                "."
            }
        }
        @if !o.uncovered.is_empty() {
            div.warning {
                strong { "Udekkede dager: " }
                @for u in &o.uncovered {
                    "dosen for " (date_nb(u.dose_date)) " skulle hentes " (date_nb(u.closed_day)) " da " (org(u.place)) " er stengt. "
                }
                @if is_prescriber { a href={ "/pasienter/" (o.patient.id) "/dekning" } { "Legg inn dekning" } }
            }
        }
        p.links {
            a href={ "/pasienter/" (o.patient.id) "/personvern" } { "Personvern, samtykker og ansvarsgruppe" }
            " · "
            a href={ "/pasienter/" (o.patient.id) "/innsyn" } { "Hvem har sett journalen" }
            " · "
            a href={ "/pasienter/" (o.patient.id) "/meldinger" } { "Meldinger" }
            " · "
            a href={ "/pasienter/" (o.patient.id) "/moter" } { "Ansvarsgruppe, møter og oppgaver" }
            " · "
            a href={ "/pasienter/" (o.patient.id) "/plan" } { "Individuell plan" }
        }
        @if let Some(notes) = &o.health {
            section.card aria-labelledby="health" {
                h2 #health { "Helseopplysninger for utlevering" }
                @if notes.is_empty() {
                    p { "Ingen registrerte helseopplysninger." }
                } @else {
                    ul.health data-testid="health" {
                        @for note in notes {
                            li { span.badge.bad { (note.kind.label_nb()) } " " (note.text) }
                        }
                    }
                }
                p { a href={ "/pasienter/" (o.patient.id) "/helse" } { "Se historikk og registrer" } }
            }
        }
        div.cards {
            section.card {
                h2 { "LAR-behandling" }
                @if let Some(e) = &o.episode {
                    p { "Ansvarlig enhet: " (org(e.responsible_unit)) }
                    p { "Lege: " (name(e.doctor)) br; "LAR-konsulent: " (name(e.consultant)) }
                    p { "Innskrevet " (date_nb(e.started_on)) " · Fase: " (phase_name(e.phase)) }
                    @if let Some(end) = &e.ended {
                        p.badge.warn { "Avsluttet " (date_nb(end.on)) ": " (end_reason_name(end.reason)) }
                    } @else if is_prescriber {
                        p { a href={ "/pasienter/" (o.patient.id) "/avslutt" } { "Avslutt behandling" } }
                    }
                } @else {
                    p { "Ingen LAR-episode." }
                }
            }
            section.card {
                h2 { "Gjeldende dose" }
                @if let Some(order) = &o.effective_order {
                    p { (order_summary(order.order())) }
                    @if let Some(dose) = &o.dose_today { p { "I dag: " strong { (dose.total()) } } }
                    @if let Some((date, dose)) = o.next_injection.filter(|(d, _)| *d > o.today) {
                        p data-testid="next-injection" { "Neste injeksjon: " strong { (date_nb(date)) } " (" (dose) ")" }
                    }
                    p.hint { "Versjon " (order.version()) ", signert av " (name(order.signature().signed_by)) " "
                        (date_nb(oslo_datetime(order.signature().signed_at).date())) }
                } @else {
                    p { "Ingen signert ordinasjon i kraft." }
                }
                @if is_prescriber && active {
                    a.button href={ "/pasienter/" (o.patient.id) "/ordinasjon" } { "Ny ordinasjon" }
                }
            }
            section.card {
                h2 { "Utleveringsordning" }
                @if let Some(a) = &o.arrangement {
                    p { strong { (org(a.content.place_id)) } }
                    p { (week_text(&a.content.week)) }
                    @let handovers = a.content.week.handover_weekdays();
                    @if !handovers.is_empty() {
                        p.hint {
                            "Ta-med-doser utleveres "
                            @for (n, i) in handovers.iter().enumerate() {
                                @if n > 0 { ", " }
                                (WEEKDAYS_NB[*i])
                            }
                            "."
                        }
                    }
                    @if let Some(w) = a.content.window { p { "Tidsvindu " (time_nb(w.start)) "–" (time_nb(w.end)) } }
                    p {
                        "Revurderes " (date_nb(a.content.review_on))
                        @if a.review_overdue(o.today) { " " span.badge.bad { "Revurdering forfalt" } }
                    }
                } @else {
                    p { "Ingen utleveringsordning." }
                }
                @if is_prescriber && active {
                    a.button href={ "/pasienter/" (o.patient.id) "/ordning" } { "Endre ordning" }
                    @if o.arrangement.is_some() {
                        " " a.button href={ "/pasienter/" (o.patient.id) "/flytt" } { "Flytt til annet sted" }
                    }
                    " "
                    a href={ "/pasienter/" (o.patient.id) "/dekning" } { "Dekning av enkeltdag" }
                }
            }
            (upcoming_covers(o))
        }
        h2 { "Utlevering siste 14 dager" }
        @if o.recent.is_empty() {
            p { "Ingen registrerte utleveringer." }
        } @else {
            table {
                thead { tr { th { "Dosedag" } th { "Type" } th { "Resultat" } th { "Mengde" } th { "Registrert" } th { "Sted" } } }
                tbody {
                    @for d in &o.recent {
                        tr {
                            td { (date_nb(d.key.date)) @if d.key.part > 1 { " (del " (d.key.part) ")" } }
                            td { (crate::pages::dispensing::mode_name(d.mode)) }
                            td {
                                (d.outcome.label_nb(d.mode))
                                @if d.voided_by.is_some() { " " span.badge.warn { "Korrigert – gjelder ikke" } }
                                @if let Some(reason) = &d.reason { br; span.hint { "«" (reason) "»" } }
                            }
                            td { (d.amount) @if d.amount != d.ordered { " av " (d.ordered) } }
                            td { (date_nb(oslo_datetime(d.recorded_at).date())) " " (time_nb(oslo_datetime(d.recorded_at).time())) " " (name(d.recorded_by)) }
                            td { (org(d.place_id)) }
                        }
                    }
                }
            }
        }
        h2 { "Ordinasjoner (historikk)" }
        table {
            thead { tr { th { "Versjon" } th { "Ordinasjon" } th { "Begrunnelse" } th { "Status" } } }
            tbody {
                @for order in &o.orders {
                    tr {
                        td { @if let Some(s) = &order.signature { (s.version) } @else { "–" } }
                        td { (order_summary(order)) }
                        td { (order.content.reason) }
                        td {
                            @if let Some(s) = &order.signature {
                                "Signert " (date_nb(oslo_datetime(s.signed_at).date())) " av " (name(s.signed_by))
                                @if let Some(c) = &s.warnings_confirmed { br; span.hint { "Advarsel bekreftet: " (c) } }
                            } @else if let Some(d) = &order.discard {
                                span.badge data-testid="discarded" { "Forkastet" } " "
                                (date_nb(oslo_datetime(d.discarded_at).date())) " av " (name(d.discarded_by))
                                @if !d.reason.is_empty() { br; span.hint { "Begrunnelse: " (d.reason) } }
                            } @else {
                                span.badge.warn { "Utkast" } " "
                                a href={ "/ordinasjoner/" (order.id) } { @if is_prescriber { "Se og signer" } @else { "Se utkastet" } }
                            }
                        }
                    }
                }
            }
        }
        @if o.data.arrangements.len() > 1 {
            h2 { "Ordninger (historikk)" }
            table {
                thead { tr { th { "Versjon" } th { "Sted" } th { "Uke" } th { "Fra" } th { "Begrunnelse" } th { "Besluttet av" } } }
                tbody {
                    @for a in o.data.arrangements.iter().rev() {
                        tr {
                            td { (a.version) }
                            td { (org(a.content.place_id)) }
                            td { (week_text(&a.content.week)) }
                            td { (date_nb(a.content.valid_from)) }
                            td { (a.content.reason) }
                            td { (name(a.decided_by)) }
                        }
                    }
                }
            }
        }
    }
}

/// What was just saved, when a form comes back to the overview (`?lagret=…`).
#[derive(serde::Deserialize, Default)]
pub struct SavedQuery {
    #[serde(default)]
    lagret: String,
}

/// The confirmation for a change just saved; unknown values show nothing.
fn saved_notice(saved: &str) -> Option<&'static str> {
    match saved {
        "ordinasjon" => Some("Ordinasjonen er signert og står under «Gjeldende dose»."),
        "forkastet" => {
            Some("Utkastet er forkastet. Det står som «Forkastet» i historikken og kan ikke signeres.")
        }
        "ordning" => {
            Some("Utleveringsordningen er lagret som en ny versjon. Utleveringsstedet har fått melding.")
        }
        "dekning" => Some("Dekningen er lagret og står under «Kommende dekninger»."),
        _ => None,
    }
}

/// A confirmation notice, read out by screen readers when the page opens.
pub fn notice(text: &str) -> Markup {
    html! { div.notice role="status" data-testid="notice" { (text) } }
}

/// The covers of single days from today on: the date, and where the dose is
/// collected (a take-home handed over earlier, or another place).
fn upcoming_covers(o: &Overview) -> Markup {
    let mut covers: Vec<&samhand_domain::schedule::Cover> =
        o.data.covers.iter().filter(|c| c.date >= o.today).collect();
    covers.sort_by_key(|c| (c.date, c.decided_at));
    let org = |id| {
        o.organisations
            .get(&id)
            .map(|x| x.name.clone())
            .unwrap_or_else(|| "ukjent sted".into())
    };
    let home_place = o.arrangement.as_ref().map(|a| org(a.content.place_id));
    html! {
        @if !covers.is_empty() {
            section.card aria-labelledby="covers" data-testid="covers" {
                h2 #covers { "Kommende dekninger" }
                ul {
                    @for c in &covers {
                        li {
                            strong { (weekday_nb(c.date)) " " (date_nb(c.date)) } ": "
                            @match c.kind {
                                samhand_domain::schedule::CoverKind::AtPlace(place) => {
                                    "hentes ved " (org(place))
                                }
                                samhand_domain::schedule::CoverKind::TakeHomeFrom(from) => {
                                    "ta-med-dose utleveres " (weekday_nb(from)) " " (date_nb(from))
                                    @if let Some(place) = &home_place { " ved " (place) }
                                }
                            }
                        }
                    }
                }
            }
        }
    }
}

pub async fn overview(
    State(state): State<AppState>,
    staff: UiStaff,
    Path(id): Path<String>,
    Query(saved): Query<SavedQuery>,
) -> PageResult {
    let id: PatientId = parse_id(&id)?;
    let service = Service::new(&state, &staff.user);
    let overview = match service.overview(id).await {
        Ok(overview) => overview,
        Err(AppError::Forbidden(message)) => return Ok(no_access_page(&staff, id, &message)),
        Err(other) => return Err(other.into()),
    };
    let emergency = service.running_emergency_access(id).await?;
    let drug_tests = service.drug_tests_where_allowed(id).await?;
    let overdose = service.overdose_summary(id, &overview.data).await?;
    let body = html! {
        @if let Some(text) = saved_notice(&saved.lagret) { (notice(text)) }
        @if let Some(access) = &emergency { (crate::pages::privacy::emergency_banner(access)) }
        (overview_body(&overview, &staff))
        (crate::pages::identity::overview_section(id, &overview.identity, &staff))
        @if let Some(tests) = &drug_tests { (crate::pages::drug_tests::section(tests)) }
        (crate::pages::overdose::overview_section(id, &overdose))
    };
    Ok(page(&overview.patient.full_name(), &staff, body).into_response())
}

/// A refused record: the policy's message, and for health personnel the way to
/// emergency access.
fn no_access_page(staff: &UiStaff, id: PatientId, message: &str) -> Response {
    let body = html! {
        h1 { "Ingen tilgang" }
        p.error role="alert" { (message) }
        @if access::may_use_emergency_access(&staff.user) {
            p { "Trenger du opplysningene for å gi helsehjelp nå, kan du åpne en tidsbegrenset akuttilgang med begrunnelse." }
            p { a href={ "/akuttilgang?pasient=" (id) } { "Be om akuttilgang" } }
        }
    };
    (
        axum::http::StatusCode::FORBIDDEN,
        page("Ingen tilgang", staff, body),
    )
        .into_response()
}

// ------------------------------------------------------------------ orders

async fn order_page(
    state: &AppState,
    staff: &UiStaff,
    id: PatientId,
    form: &FormData,
    errors: &FieldErrors,
) -> PageResult {
    let overview = Service::new(state, &staff.user).overview(id).await?;
    let current = overview.effective_order.as_ref().map(|o| o.content());
    let substance = if form.has("substance") {
        form.get("substance").to_string()
    } else {
        current
            .map(|c| c.substance.code().to_string())
            .unwrap_or_default()
    };
    let forms: Vec<(String, String)> = DoseForm::ALL
        .iter()
        .map(|f| (f.code().to_string(), form_name(*f).to_string()))
        .collect();
    let chosen_form = if form.has("form") {
        form.get("form").to_string()
    } else {
        current.map(|c| c.form.code().to_string()).unwrap_or_default()
    };
    let parts = form.all("parts");
    let part = |i: usize| -> String {
        match parts.get(i) {
            Some(p) => p.clone(),
            None if !form.has("parts") => current
                .and_then(|c| c.dose.parts().get(i))
                .map(|d| d.to_string().trim_end_matches(" mg").to_string())
                .unwrap_or_default(),
            None => String::new(),
        }
    };
    let from = if form.has("effective_from") {
        form.get("effective_from").to_string()
    } else {
        state.clock.today().to_string()
    };
    let step_dates = form.all("step_from");
    let step_doses = form.all("step_dose");
    let body = html! {
        h1 { "Ny ordinasjon for " (overview.patient.full_name()) }
        p.hint { "Ordinasjonen lagres som utkast og gjelder først når den er signert av lege ved ansvarlig LAR-enhet." }
        (error_summary(errors))
        form.stack method="post" action={ "/pasienter/" (id) "/ordinasjon" } {
            (csrf(&staff.csrf))
            (select("Legemiddel", "substance", &substance_options(), &substance, errors))
            (select("Legemiddelform", "form", &forms, &chosen_form, errors))
            fieldset id="dose" {
                legend { "Dose i mg (del opp ved delt dose)" }
                div.inline {
                    @for i in 0..4 {
                        div {
                            label for={ "parts-" (i) } { "Del " (i + 1) }
                            input type="text" inputmode="decimal" id={ "parts-" (i) } name="parts" value=(part(i)) aria-invalid=(errors.for_field("dose").is_some());
                        }
                    }
                }
                (group_error(errors, "dose"))
            }
            (input("Gjelder fra", "effective_from", "date", &from, errors, None))
            fieldset id="titration" {
                legend { "Planlagte opptrappingstrinn (valgfritt)" }
                @for i in 0..3 {
                    div.inline {
                        div {
                            label for={ "step_from-" (i) } { "Fra dato" }
                            input type="date" id={ "step_from-" (i) } name="step_from" value=(step_dates.get(i).cloned().unwrap_or_default());
                        }
                        div {
                            label for={ "step_dose-" (i) } { "Total dose mg" }
                            input type="text" inputmode="decimal" id={ "step_dose-" (i) } name="step_dose" value=(step_doses.get(i).cloned().unwrap_or_default());
                        }
                    }
                }
                (group_error(errors, "titration"))
            }
            (textarea("Begrunnelse", "reason", form.get("reason"), errors))
            button type="submit" { "Lagre utkast" }
        }
    };
    let status = form_status(errors);
    Ok((status, page("Ny ordinasjon", staff, body)).into_response())
}

pub async fn order_form(State(state): State<AppState>, staff: UiStaff, Path(id): Path<String>) -> PageResult {
    let id: PatientId = parse_id(&id)?;
    order_page(&state, &staff, id, &FormData::default(), &FieldErrors::default()).await
}

pub async fn create_order(
    State(state): State<AppState>,
    Path(id): Path<String>,
    StaffForm { staff, form }: StaffForm,
) -> PageResult {
    let id: PatientId = parse_id(&id)?;
    let input = DoseOrderInput {
        substance: form.get("substance").into(),
        form: form.get("form").into(),
        parts: form.all("parts"),
        effective_from: form.get("effective_from").into(),
        titration: form
            .all("step_from")
            .into_iter()
            .zip(form.all("step_dose"))
            .collect(),
        reason: form.get("reason").into(),
    };
    match Service::new(&state, &staff.user).create_draft(id, &input).await {
        Ok(order) => Ok(Redirect::to(&format!("/ordinasjoner/{}", order.id)).into_response()),
        Err(AppError::Invalid(errors)) => order_page(&state, &staff, id, &form, &errors).await,
        Err(other) => Err(other.into()),
    }
}

async fn order_detail_page(
    state: &AppState,
    staff: &UiStaff,
    id: DoseOrderId,
    errors: &FieldErrors,
    confirmation: &str,
) -> PageResult {
    let (order, warnings) = Service::new(state, &staff.user).draft_warnings(id).await?;
    let body = html! {
        h1 { "Ordinasjon" }
        p { (order_summary(&order)) }
        p { "Begrunnelse: " (order.content.reason) }
        p { a href={ "/pasienter/" (order.patient_id) } { "Til pasientoversikten" } }
        @if let Some(s) = &order.signature {
            p.notice { "Signert som versjon " (s.version) "." }
        } @else if let Some(d) = &order.discard {
            p.notice { "Forkastet " (date_nb(oslo_datetime(d.discarded_at).date())) ". Utkastet kan ikke signeres."
                @if !d.reason.is_empty() { " Begrunnelse: " (d.reason) } }
        } @else {
            (error_summary(errors))
            @if !warnings.is_empty() {
                div.warning role="alert" {
                    strong { "Dosesikkerhet:" }
                    ul { @for w in &warnings { li { (w.message_nb()) } } }
                }
            }
            form.stack method="post" action={ "/ordinasjoner/" (id) "/signer" } {
                (csrf(&staff.csrf))
                @if !warnings.is_empty() {
                    (textarea("Begrunnelse for å signere likevel", "confirmation", confirmation, errors))
                }
                button.ok type="submit" { "Signer ordinasjonen" }
            }
            details.discard {
                summary { "Forkast utkastet" }
                form.stack method="post" action={ "/ordinasjoner/" (id) "/forkast" } {
                    (csrf(&staff.csrf))
                    p.hint { "Utkastet slettes ikke: det står som «Forkastet» i historikken, med hvem og når." }
                    (textarea("Begrunnelse (valgfritt)", "discard_reason", "", errors))
                    button.danger type="submit" { "Forkast utkastet" }
                }
            }
        }
    };
    let status = form_status(errors);
    Ok((status, page("Ordinasjon", staff, body)).into_response())
}

pub async fn order_detail(
    State(state): State<AppState>,
    staff: UiStaff,
    Path(id): Path<String>,
) -> PageResult {
    let id: DoseOrderId = parse_id(&id)?;
    order_detail_page(&state, &staff, id, &FieldErrors::default(), "").await
}

pub async fn sign_order(
    State(state): State<AppState>,
    Path(id): Path<String>,
    StaffForm { staff, form }: StaffForm,
) -> PageResult {
    let id: DoseOrderId = parse_id(&id)?;
    let confirmation = form.get("confirmation");
    match Service::new(&state, &staff.user)
        .sign(id, Some(confirmation))
        .await
    {
        Ok(signed) => Ok(Redirect::to(&format!(
            "/pasienter/{}?lagret=ordinasjon",
            signed.order().patient_id
        ))
        .into_response()),
        Err(AppError::Invalid(errors)) => order_detail_page(&state, &staff, id, &errors, confirmation).await,
        Err(other) => Err(other.into()),
    }
}

/// Discards a draft; back to the overview with a notice.
pub async fn discard_order(
    State(state): State<AppState>,
    Path(id): Path<String>,
    StaffForm { staff, form }: StaffForm,
) -> PageResult {
    let id: DoseOrderId = parse_id(&id)?;
    let discarded = Service::new(&state, &staff.user)
        .discard_draft(id, form.get("discard_reason"))
        .await?;
    Ok(Redirect::to(&format!("/pasienter/{}?lagret=forkastet", discarded.patient_id)).into_response())
}

// ------------------------------------------------------------- arrangement

async fn arrangement_page(
    state: &AppState,
    staff: &UiStaff,
    id: PatientId,
    form: &FormData,
    errors: &FieldErrors,
) -> PageResult {
    let service = Service::new(state, &staff.user);
    let overview = service.overview(id).await?;
    let places: Vec<(String, String)> = service
        .dispensing_places()
        .await?
        .into_iter()
        .map(|p| (p.id.to_string(), p.name))
        .collect();
    let groups = service.groups().await?;
    let organisations = &overview.organisations;
    let group_options: Vec<(String, String)> = groups
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
        .collect();
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
    let body = html! {
        h1 { "Utleveringsordning for " (overview.patient.full_name()) }
        p.hint { "En endring lagres som en ny versjon med begrunnelse. Typisk stige: daglig inntak under tilsyn de første tre månedene, deretter færre oppmøter med ta-med-doser imellom (høyst én uke)." }
        (error_summary(errors))
        form.stack method="post" action={ "/pasienter/" (id) "/ordning" } {
            (csrf(&staff.csrf))
            (select("Utleveringssted", "place_id", &places, &place, errors))
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

pub async fn arrangement_form(
    State(state): State<AppState>,
    staff: UiStaff,
    Path(id): Path<String>,
) -> PageResult {
    let id: PatientId = parse_id(&id)?;
    arrangement_page(&state, &staff, id, &FormData::default(), &FieldErrors::default()).await
}

pub async fn set_arrangement(
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
    let places: Vec<(String, String)> = service
        .dispensing_places()
        .await?
        .into_iter()
        .map(|p| (p.id.to_string(), p.name))
        .collect();
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

async fn end_page(
    state: &AppState,
    staff: &UiStaff,
    id: PatientId,
    form: &FormData,
    errors: &FieldErrors,
) -> PageResult {
    let overview = Service::new(state, &staff.user).overview(id).await?;
    let reasons: Vec<(String, String)> = EndReason::ALL
        .iter()
        .map(|r| (r.code().to_string(), end_reason_name(*r).to_string()))
        .collect();
    let body = html! {
        h1 { "Avslutt LAR-behandling for " (overview.patient.full_name()) }
        div.warning {
            "Avslutning av LAR øker risikoen for overdose. Sørg for tett oppfølging, kriseplan, nalokson og en avtalt time etter avslutning. "
            "Ved ufrivillig avslutning skal pasienten informeres skriftlig om retten til ny vurdering og til å klage."
        }
        (error_summary(errors))
        form.stack method="post" action={ "/pasienter/" (id) "/avslutt" } {
            (csrf(&staff.csrf))
            (input("Avsluttes fra", "ended_on", "date", form.get("ended_on"), errors, None))
            (select("Årsak", "reason", &reasons, form.get("reason"), errors))
            (textarea("Merknad", "note", form.get("note"), errors))
            button.danger type="submit" { "Avslutt behandlingen" }
        }
    };
    let status = form_status(errors);
    Ok((status, page("Avslutt behandling", staff, body)).into_response())
}

pub async fn end_form(State(state): State<AppState>, staff: UiStaff, Path(id): Path<String>) -> PageResult {
    let id: PatientId = parse_id(&id)?;
    end_page(&state, &staff, id, &FormData::default(), &FieldErrors::default()).await
}

pub async fn end_episode(
    State(state): State<AppState>,
    Path(id): Path<String>,
    StaffForm { staff, form }: StaffForm,
) -> PageResult {
    let id: PatientId = parse_id(&id)?;
    match Service::new(&state, &staff.user)
        .end_episode(id, form.get("ended_on"), form.get("reason"), form.get("note"))
        .await
    {
        Ok(()) => Ok(Redirect::to(&format!("/pasienter/{id}")).into_response()),
        Err(AppError::Invalid(errors)) => end_page(&state, &staff, id, &form, &errors).await,
        Err(other) => Err(other.into()),
    }
}

// ---------------------------------------------------------- overdue reviews

pub async fn overdue_reviews(State(state): State<AppState>, staff: UiStaff) -> PageResult {
    let reviews = Service::new(&state, &staff.user).overdue_reviews().await?;
    let body = html! {
        h1 { "Forfalte revurderinger av utleveringsordning" }
        p.hint { "Ordninger i kraft der revurderingsdatoen er passert, for pasienter ved din enhet." }
        @if reviews.is_empty() {
            p { "Ingen forfalte revurderinger." }
        } @else {
            table {
                thead { tr { th { "Pasient" } th { "Sted" } th { "Skulle revurderes" } th { "Versjon" } } }
                tbody {
                    @for r in &reviews {
                        tr {
                            td { a href={ "/pasienter/" (r.patient.id) } { (r.patient.full_name()) } }
                            td { (r.place_name) }
                            td { (date_nb(r.arrangement.content.review_on)) }
                            td { (r.arrangement.version) }
                        }
                    }
                }
            }
        }
        p.hint { "Innlogget som " (staff.user.display_name) " (" (role_name(staff.user.role)) ")." }
    };
    Ok(page("Revurderinger", &staff, body).into_response())
}
