//! The patient's own Samhand, in rooms: the frame and the start page (medicine,
//! where and when to collect, meetings, the plan) here; `login` (one-time code,
//! password, ID-porten, logout), `messages` (the conversation with the team and
//! requests), `privacy` (consents in the patient's hands, the access log, next of
//! kin) and `plan` (the crisis plan and the patient's own goals). Mobile first,
//! plain Norwegian. Every handler but the login's takes [`PortalPatient`] and acts
//! as the patient, under the same access policy as staff.

pub mod login;
pub mod messages;
pub mod plan;
pub mod privacy;
pub mod status;

use axum::extract::State;
use axum::response::IntoResponse;
use maud::{DOCTYPE, Markup, html};
use samhand_domain::access::Actor;
use samhand_domain::arrangement::DayPlan;
use samhand_domain::format::{WEEKDAYS_NB, date_nb, time_nb};

use crate::AppState;
use crate::pages::PageResult;
use crate::portal::PortalPatient;
use crate::service::Service;

/// The portal's pages, in the order of the menu; each page's title is its label.
const PORTAL_MENU: [(&str, &str); 9] = [
    ("/portal", "Min side"),
    ("/portal/meldinger", "Meldinger"),
    ("/portal/mal", "Mine mål"),
    ("/portal/kriseplan", "Kriseplan"),
    ("/portal/status", "Slik har jeg det"),
    ("/portal/onsker", "Ønsker"),
    ("/portal/samtykke", "Hvem ser hva"),
    ("/portal/innsyn", "Hvem har lest"),
    ("/portal/parorende", "Pårørende"),
];

/// A portal page: one column, large text. Phone first: the menu is one button
/// («Meny») that opens the list of pages, so the header fits 360 px; the page
/// open is marked in the list.
fn portal_page(title: &str, patient: Option<&PortalPatient>, body: Markup) -> Markup {
    html! {
        (DOCTYPE)
        html lang="nb" {
            head {
                meta charset="utf-8";
                meta name="viewport" content="width=device-width, initial-scale=1";
                title { (title) " – Samhand for deg" }
                link rel="stylesheet" href="/static/style.css";
                link rel="icon" href="/static/favicon.svg" type="image/svg+xml";
                (crate::pages::layout::validation_script())
            }
            body.portal {
                a.skip href="#innhold" { "Hopp til innholdet" }
                header.top.portal-top {
                    a.brand href="/portal" { "Samhand for deg" }
                    @if let Some(p) = patient {
                        details.portal-menu {
                            summary { "Meny" }
                            nav aria-label="Meny" {
                                ul {
                                    @for (href, label) in PORTAL_MENU {
                                        li {
                                            a href=(href) aria-current=[(label == title).then_some("page")] { (label) }
                                        }
                                    }
                                }
                                form.logout method="post" action="/portal/logg-ut" {
                                    span.who { "Innlogget som " (p.user.display_name) }
                                    input type="hidden" name="csrf" value=(p.csrf);
                                    button.link type="submit" { "Logg ut" }
                                }
                            }
                        }
                    }
                }
                main #innhold { (body) }
            }
        }
    }
}

/// The service acting as the patient of the session.
fn patient_service<'a>(state: &'a AppState, patient: &PortalPatient) -> Service<'a> {
    Service::new(state, Actor::Patient(patient.user.clone()))
}

/// «Min side»: unread messages, the medicine, where and when to collect, meetings,
/// drug tests and the plan.
pub async fn home(State(state): State<AppState>, patient: PortalPatient) -> PageResult {
    let service = patient_service(&state, &patient);
    let home = service.portal_home().await?;
    let o = &home.overview;
    let place = o
        .arrangement
        .as_ref()
        .and_then(|a| o.organisations.get(&a.content.place_id));
    let upcoming: Vec<_> = home
        .meetings
        .meetings
        .iter()
        .filter(|m| m.date() >= o.today && m.minutes.is_none())
        .collect();
    let body = html! {
        h1 { "Hei, " (o.patient.given_name) }
        section.card aria-labelledby="meldinger" data-testid="unread" {
            h2 #meldinger { "Meldinger" }
            @match home.unread_messages {
                0 => { p { "Du har ingen uleste meldinger fra behandlerne." } }
                1 => { p { strong { "Du har 1 ulest melding" } " fra behandlerne." } }
                n => { p { strong { "Du har " (n) " uleste meldinger" } " fra behandlerne." } }
            }
            p { a href="/portal/meldinger" { "Les og skriv meldinger" } }
        }
        section.card aria-labelledby="medisin" {
            h2 #medisin { "Medisinen din" }
            @if let Some(order) = &o.effective_order {
                p { strong { (order.content().substance.name()) } }
                @if let Some(dose) = &o.dose_today { p { "Dose i dag: " strong { (dose.total()) } } }
                @if let Some((date, dose)) = o.next_injection.filter(|(d, _)| *d > o.today) {
                    p { "Neste injeksjon: " strong { (date_nb(date)) } " (" (dose) ")" }
                }
                p.hint { "Gjelder fra " (date_nb(order.content().effective_from)) "." }
            } @else {
                p { "Du har ingen dose i kraft nå." }
            }
            @if o.missed.is_blocked() {
                p.error role="alert" { "Du har ikke hentet medisin på flere dager. Før du får dose igjen, må legen vurdere dosen på nytt, fordi toleransen kan ha gått ned. Ta kontakt med LAR-enheten." }
            }
        }
        section.card aria-labelledby="henting" {
            h2 #henting { "Hvor og når du henter" }
            @if let (Some(a), Some(place)) = (&o.arrangement, place) {
                p { strong { (place.name) } }
                ul {
                    @for (i, day) in a.content.week.days().iter().enumerate() {
                        li {
                            (WEEKDAYS_NB[i]) ": "
                            @if *day == DayPlan::Attend { "oppmøte" } @else { "ta med hjem" }
                            @if !place.open_weekdays[i] { " (stengt)" }
                        }
                    }
                }
                @if let Some(w) = a.content.window { p { "Tidspunkt: " (time_nb(w.start)) "–" (time_nb(w.end)) } }
                p.hint { "Ordningen skal vurderes på nytt innen " (date_nb(a.content.review_on)) "." }
            } @else {
                p { "Ingen utleveringsordning er satt opp." }
            }
        }
        section.card aria-labelledby="moter" {
            h2 #moter { "Møter" }
            @if upcoming.is_empty() {
                p { "Ingen planlagte møter." }
            } @else {
                ul {
                    @for m in &upcoming {
                        li { (date_nb(m.date())) " kl. " (time_nb(m.at.time())) ", " (m.place) }
                    }
                }
            }
        }
        @if !home.drug_tests.is_empty() {
            (crate::pages::drug_tests::section(&home.drug_tests, None))
        }
        section.card aria-labelledby="plan" {
            h2 #plan { "Planen din" }
            @if let Some(plan) = &home.plan.current {
                @if plan.goals.is_empty() {
                    p { "Planen har ingen mål ennå. Målene skal være dine egne; skriv dem under «Ønsker og meldinger» som en sak til neste møte, eller ta dem opp med koordinatoren." }
                } @else {
                    ul {
                        @for goal in &plan.goals {
                            li { strong { (goal.domain.label_nb()) } ": " (goal.goal) }
                        }
                    }
                }
            } @else {
                p { "Du har ingen individuell plan." }
            }
        }
    };
    Ok(portal_page("Min side", Some(&patient), body).into_response())
}
