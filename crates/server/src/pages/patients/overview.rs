//! The patient's overview: who they are (with the identity photo), what needs
//! attention now (a blocked order, missed days, uncovered days), the treatment,
//! the dose and the arrangement in force with the links to change them, the last
//! days' dispensing, and the history of orders and arrangements. A refused record
//! offers emergency access to those who may use it.

use axum::extract::{Path, Query, State};
use axum::http::header;
use axum::response::{IntoResponse, Response};
use maud::{Markup, html};
use samhand_domain::access;
use samhand_domain::dose_order::DoseOrder;
use samhand_domain::format::{WEEKDAYS_NB, count_nb, date_nb, time_nb, weekday_nb};
use samhand_domain::ids::{OrganisationId, PatientId, UserId};
use samhand_domain::schedule::{Cover, CoverKind};
use samhand_domain::time::oslo_datetime;

use crate::AppState;
use crate::auth::UiStaff;
use crate::error::AppError;
use crate::pages::PageResult;
use crate::pages::forms::parse_id;
use crate::pages::labels::{end_reason_name, form_name, mode_name, phase_name, photo_tag, week_text};
use crate::pages::layout::{notice, page};
use crate::service::{Overview, Service};

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

/// A dose order in one line: substance, form, the dose (split or not), from when,
/// and its titration steps.
pub(super) fn order_summary(order: &DoseOrder) -> Markup {
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

/// A colleague's name for the history, or «ukjent».
fn name_of(o: &Overview, id: UserId) -> String {
    o.names.get(&id).cloned().unwrap_or_else(|| "ukjent".into())
}

/// A place's name, or «ukjent sted».
fn place_of(o: &Overview, id: OrganisationId) -> String {
    o.organisations
        .get(&id)
        .map(|x| x.name.clone())
        .unwrap_or_else(|| "ukjent sted".into())
}

fn overview_body(o: &Overview) -> Markup {
    // The links to prescribe are shown to those the policy lets prescribe for this
    // patient; the service decides again when the form is used.
    let may_prescribe = o.offers.prescribe;
    html! {
        (identity_and_warnings(o, may_prescribe))
        div.cards {
            (treatment_card(o, may_prescribe))
            (dose_card(o, may_prescribe))
            (arrangement_card(o, may_prescribe))
            (upcoming_covers(o))
        }
        (recent_dispensing(o))
        (order_history(o, may_prescribe))
        @if o.data.arrangements.len() > 1 {
            (arrangement_history(o))
        }
    }
}

/// Who the patient is, what needs attention now, the links to the record's
/// other pages, and the health information for the window.
fn identity_and_warnings(o: &Overview, may_prescribe: bool) -> Markup {
    let org = |id| place_of(o, id);
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
                @if may_prescribe { a href={ "/pasienter/" (o.patient.id) "/dekning" } { "Legg inn dekning" } }
            }
        }
        p.links {
            @if o.offers.privacy {
                a href={ "/pasienter/" (o.patient.id) "/personvern" } { "Personvern, samtykker og ansvarsgruppe" }
                " · "
                a href={ "/pasienter/" (o.patient.id) "/innsyn" } { "Hvem har sett journalen" }
                " · "
            }
            a href={ "/pasienter/" (o.patient.id) "/meldinger" } { "Meldinger" }
            @if o.offers.plan {
                " · "
                a href={ "/pasienter/" (o.patient.id) "/moter" } { "Ansvarsgruppe, møter og oppgaver" }
                " · "
                a href={ "/pasienter/" (o.patient.id) "/plan" } { "Individuell plan" }
            }
            @if o.offers.record_health {
                " · "
                a href={ "/pasienter/" (o.patient.id) "/status" } { "Statusvurdering" }
            }
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
                p { a href={ "/pasienter/" (o.patient.id) "/helse" } {
                    @if o.offers.record_health { "Se historikk og registrer" } @else { "Se historikk" }
                } }
            }
        }
    }
}

/// The LAR episode: the unit, the doctor and consultant, the phase, its end.
fn treatment_card(o: &Overview, may_prescribe: bool) -> Markup {
    let name = |id| name_of(o, id);
    let org = |id| place_of(o, id);
    html! {
        section.card {
            h2 { "LAR-behandling" }
            @if let Some(e) = &o.episode {
                p { "Ansvarlig enhet: " (org(e.responsible_unit)) }
                p { "Lege: " (name(e.doctor)) br; "LAR-konsulent: " (name(e.consultant)) }
                p { "Innskrevet " (date_nb(e.started_on)) " · Fase: " (phase_name(e.phase)) }
                @if let Some(end) = &e.ended {
                    p.badge.warn { "Avsluttet " (date_nb(end.on)) ": " (end_reason_name(end.reason)) }
                } @else if may_prescribe {
                    p { a href={ "/pasienter/" (o.patient.id) "/avslutt" } { "Avslutt behandling" } }
                }
            } @else {
                p { "Ingen LAR-episode." }
            }
        }
    }
}

/// The dose in force, today's dose, the next injection, and a new order.
fn dose_card(o: &Overview, may_prescribe: bool) -> Markup {
    let name = |id| name_of(o, id);
    let active = o.episode.as_ref().is_some_and(|e| e.is_active_on(o.today));
    html! {
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
            @if may_prescribe && active {
                a.button href={ "/pasienter/" (o.patient.id) "/ordinasjon" } { "Ny ordinasjon" }
            }
        }
    }
}

/// The arrangement in force, its hand-over days and window, and the links to
/// change it, move the patient or cover a single day.
fn arrangement_card(o: &Overview, may_prescribe: bool) -> Markup {
    let org = |id| place_of(o, id);
    let active = o.episode.as_ref().is_some_and(|e| e.is_active_on(o.today));
    html! {
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
            @if may_prescribe && active {
                a.button href={ "/pasienter/" (o.patient.id) "/ordning" } { "Endre ordning" }
                @if o.arrangement.is_some() {
                    " " a.button href={ "/pasienter/" (o.patient.id) "/flytt" } { "Flytt til annet sted" }
                }
                " "
                a href={ "/pasienter/" (o.patient.id) "/dekning" } { "Dekning av enkeltdag" }
            }
        }
    }
}

/// The last 14 days' dispensing, corrections included.
fn recent_dispensing(o: &Overview) -> Markup {
    let name = |id| name_of(o, id);
    let org = |id| place_of(o, id);
    html! {
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
                            td { (mode_name(d.mode)) }
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
    }
}

/// Every order version and draft, newest first, with who signed or discarded it.
fn order_history(o: &Overview, may_prescribe: bool) -> Markup {
    let name = |id| name_of(o, id);
    html! {
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
                                a href={ "/ordinasjoner/" (order.id) } { @if may_prescribe { "Se og signer" } @else { "Se utkastet" } }
                            }
                        }
                    }
                }
            }
        }
    }
}

/// Earlier arrangements, when there is more than one.
fn arrangement_history(o: &Overview) -> Markup {
    let name = |id| name_of(o, id);
    let org = |id| place_of(o, id);
    html! {
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

/// The covers of single days from today on: the date, and where the dose is
/// collected (a take-home handed over earlier, or another place).
fn upcoming_covers(o: &Overview) -> Markup {
    let mut covers: Vec<&Cover> = o.data.covers.iter().filter(|c| c.date >= o.today).collect();
    covers.sort_by_key(|c| (c.date, c.decided_at));
    let org = |id| place_of(o, id);
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
                                CoverKind::AtPlace(place) => {
                                    "hentes ved " (org(place))
                                }
                                CoverKind::TakeHomeFrom(from) => {
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

/// The patient's page, with the notice of what was just saved.
pub async fn show(
    State(state): State<AppState>,
    staff: UiStaff,
    Path(id): Path<String>,
    Query(saved): Query<SavedQuery>,
) -> PageResult {
    let id: PatientId = parse_id(&id)?;
    let service = Service::new(&state, &staff.user);
    let offers = service.offers(id).await?;
    if !offers.overview {
        return limited_page(&service, &staff, id, offers).await;
    }
    let overview = match service.overview(id).await {
        Ok(overview) => overview,
        Err(AppError::Forbidden(message)) => return Ok(no_access_page(&staff, id, &message)),
        Err(other) => return Err(other.into()),
    };
    let emergency = service.running_emergency_access(id).await?;
    let drug_tests = service.drug_tests_where_allowed(id).await?;
    let regime = match &drug_tests {
        Some(_) => service.drug_test_regime_where_allowed(id).await?,
        None => None,
    };
    let overdose = service.overdose_summary(id, &overview.data).await?;
    let checklist = crate::pages::referral_checklist::load(&service, id).await?;
    let body = html! {
        @if let Some(text) = saved_notice(&saved.lagret) { (notice(text)) }
        @if let Some(access) = &emergency { (crate::pages::privacy::emergency_banner(access)) }
        (overview_body(&overview))
        (super::dose_chart::section(&overview, drug_tests.as_deref()))
        @if overview.offers.correct_identity {
            (crate::pages::identity::overview_section(id, &overview.identity, &staff))
        }
        @if let Some(list) = &checklist {
            (crate::pages::referral_checklist::section(id, list, &staff, &Default::default(), &Default::default()))
        }
        @if let Some(tests) = &drug_tests { (crate::pages::drug_tests::section(tests, regime.as_ref())) }
        (crate::pages::overdose::overview_section(id, &overdose, access::may_enrol(&staff.user).is_allowed(), overview.offers.plan))
    };
    Ok(page(&overview.patient.full_name(), &staff, body).into_response())
}

/// The record of a patient whose medication the actor may not read, though their
/// relation lets them read who the patient is (a GP in the care team, say): who
/// the patient is, and the pages their relation opens. Without even that, the
/// refusal.
async fn limited_page(
    service: &Service<'_>,
    staff: &UiStaff,
    id: PatientId,
    offers: crate::service::Offers,
) -> PageResult {
    let patient = match service.identity_of(id).await {
        Ok(patient) => patient,
        Err(AppError::Forbidden(message)) => return Ok(no_access_page(staff, id, &message)),
        Err(other) => return Err(other.into()),
    };
    let body = html! {
        h1 { (patient.full_name()) }
        p { "Fødselsnummer " strong { (patient.national_id.as_str()) } }
        p.hint { "Legemidler og utlevering deles ikke med tjenesten din. Her er det du har tilgang til:" }
        ul {
            li { a href={ "/pasienter/" (id) "/meldinger" } { "Meldinger" } }
            @if offers.plan {
                li { a href={ "/pasienter/" (id) "/moter" } { "Ansvarsgruppe, møter og oppgaver" } }
                li { a href={ "/pasienter/" (id) "/plan" } { "Individuell plan" } }
            }
            @if offers.privacy {
                li { a href={ "/pasienter/" (id) "/personvern" } { "Personvern, samtykker og ansvarsgruppe" } }
            }
        }
    };
    Ok(page(&patient.full_name(), staff, body).into_response())
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
