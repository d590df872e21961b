//! The patient's own Samhand: login with a one-time code and a password, the start
//! page (medicine, where and when to collect, meetings, the plan), consents in the
//! patient's hands, the access log, and next of kin. Mobile first, plain Norwegian.
//! Every handler takes [`PortalPatient`] and acts as the patient, under the same
//! access policy as staff.

use axum::Form;
use axum::extract::{Path, State};
use axum::http::{HeaderMap, header};
use axum::response::{IntoResponse, Redirect, Response};
use maud::{DOCTYPE, Markup, html};
use samhand_domain::access::{AllowedBy, DataCategory};
use samhand_domain::format::{WEEKDAYS_NB, date_nb, time_nb};
use samhand_domain::ids::{MessageId, NamedPersonId};
use samhand_domain::privacy::{NamedPersonInput, PersonRelation};
use samhand_domain::validation::FieldErrors;

use crate::AppState;
use crate::auth::{self, LOGIN_CSRF_COOKIE};
use crate::error::{AppError, PageError};
use crate::pages::forms::{FormData, error_summary, form_status, input, required_input, select, textarea};
use crate::pages::labels::instant_nb;
use crate::portal::{self, PORTAL_COOKIE, PatientForm, PortalPatient};
use crate::service::{ConsentInput, ConversationItem, Service};

type PageResult = Result<Response, PageError>;

/// The portal's pages, in the order of the menu; each page's title is its label.
const PORTAL_MENU: [(&str, &str); 8] = [
    ("/portal", "Min side"),
    ("/portal/meldinger", "Meldinger"),
    ("/portal/mal", "Mine mål"),
    ("/portal/kriseplan", "Kriseplan"),
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

fn login_cookie_page(
    state: &AppState,
    title: &str,
    fresh: bool,
    failure: axum::http::StatusCode,
    body: impl FnOnce(&str) -> Markup,
) -> Response {
    // Before login there is no session; the form's CSRF token is a cookie it echoes.
    let token = auth::random_token();
    let page = portal_page(title, None, body(&token));
    let status = if fresh {
        axum::http::StatusCode::OK
    } else {
        failure
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

fn login_form(state: &AppState, form: &FormData, errors: &FieldErrors, message: Option<&str>) -> Response {
    login_cookie_page(
        state,
        "Logg inn",
        errors.is_empty() && message.is_none(),
        axum::http::StatusCode::UNAUTHORIZED,
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

fn login_csrf_ok(headers: &HeaderMap, form: &FormData) -> bool {
    auth::cookie(headers, LOGIN_CSRF_COOKIE).is_some_and(|c| auth::tokens_match(&c, form.get("csrf")))
}

fn session_cookie(state: &AppState, token: &str) -> String {
    auth::set_cookie(state, PORTAL_COOKIE, token, auth::SESSION_MAX_HOURS * 3600)
}

pub async fn login_show(State(state): State<AppState>) -> Response {
    login_form(&state, &FormData::default(), &FieldErrors::default(), None)
}

pub async fn login_submit(
    State(state): State<AppState>,
    headers: HeaderMap,
    Form(fields): Form<Vec<(String, String)>>,
) -> Response {
    let form = FormData(fields);
    if !login_csrf_ok(&headers, &form) {
        return PageError(AppError::Csrf).into_response();
    }
    match portal::login(&state, form.get("national_id"), form.get("password")).await {
        Ok(token) => (
            [(header::SET_COOKIE, session_cookie(&state, &token))],
            Redirect::to("/portal"),
        )
            .into_response(),
        Err(AppError::Forbidden(message)) => {
            login_form(&state, &form, &FieldErrors::default(), Some(&message))
        }
        Err(other) => PageError(other).into_response(),
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
    axum::extract::Query(callback): axum::extract::Query<crate::oidc::Callback>,
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
        axum::http::StatusCode::UNPROCESSABLE_ENTITY,
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
    Form(fields): Form<Vec<(String, String)>>,
) -> Response {
    let form = FormData(fields);
    if !login_csrf_ok(&headers, &form) {
        return PageError(AppError::Csrf).into_response();
    }
    match portal::activate(
        &state,
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
        Err(AppError::Forbidden(message)) => {
            activate_form(&state, &form, &FieldErrors::default(), Some(&message))
        }
        Err(other) => PageError(other).into_response(),
    }
}

pub async fn logout(
    State(state): State<AppState>,
    headers: HeaderMap,
    PatientForm { .. }: PatientForm,
) -> Response {
    let _ = portal::logout(&state, &headers).await;
    (
        [(header::SET_COOKIE, auth::set_cookie(&state, PORTAL_COOKIE, "", 0))],
        Redirect::to("/portal/logg-inn"),
    )
        .into_response()
}

pub async fn home(State(state): State<AppState>, patient: PortalPatient) -> PageResult {
    let service = Service::new(
        &state,
        samhand_domain::access::Actor::Patient(patient.user.clone()),
    );
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
                    p { "Neste injeksjon: " strong { (samhand_domain::format::date_nb(date)) } " (" (dose) ")" }
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
                            @if *day == samhand_domain::arrangement::DayPlan::Attend { "oppmøte" } @else { "ta med hjem" }
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
            (crate::pages::drug_tests::section(&home.drug_tests))
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

/// What the consent page was just asked to change, from the address after a change
/// (`?endret=give&kategori=…&virksomhet=…`), for the confirmation.
#[derive(serde::Deserialize, Default)]
pub struct ConsentChanged {
    #[serde(default)]
    endret: String,
    #[serde(default)]
    kategori: String,
    #[serde(default)]
    virksomhet: String,
}

async fn consent_page(
    state: &AppState,
    patient: &PortalPatient,
    errors: &FieldErrors,
    changed: &ConsentChanged,
) -> PageResult {
    let service = Service::new(
        state,
        samhand_domain::access::Actor::Patient(patient.user.clone()),
    );
    let view = service.privacy_view(patient.user.patient_id).await?;
    let org = |id| {
        view.organisations
            .get(&id)
            .map(|o| o.name.clone())
            .unwrap_or_else(|| "ukjent".into())
    };
    // The services that can be given consent: those with a relation to the patient.
    let mut services: Vec<samhand_domain::ids::OrganisationId> = view
        .sharing
        .iter()
        .filter(|l| {
            !matches!(
                l.relation,
                AllowedBy::ResponsibleLarUnit | AllowedBy::EmergencyAccess
            )
        })
        .map(|l| l.organisation_id)
        .collect();
    services.sort();
    services.dedup();
    // The confirmation names what changed, from the consents as they are now.
    let confirmation = services
        .iter()
        .find(|o| o.to_string() == changed.virksomhet)
        .zip(
            DataCategory::CONSENTABLE
                .into_iter()
                .find(|c| c.code() == changed.kategori),
        )
        .and_then(|(service_org, category)| {
            let given = view.consents.contains(&(*service_org, category));
            match (changed.endret.as_str(), given) {
                ("give", true) => Some(format!(
                    "Lagret: Du deler nå {} med {}.",
                    category.label_nb().to_lowercase(),
                    org(*service_org)
                )),
                ("withdraw", false) => Some(format!(
                    "Lagret: Du deler ikke lenger {} med {}.",
                    category.label_nb().to_lowercase(),
                    org(*service_org)
                )),
                _ => None,
            }
        });
    let body = html! {
        h1 { "Hvem kan se hva om deg" }
        @if let Some(text) = confirmation { (crate::pages::layout::notice(&text)) }
        p { "Slik er det nå. Du bestemmer hva som deles med tjenestene utover det de trenger for å gi deg medisinen. Endringer gjelder med en gang." }
        (error_summary(errors))
        @for line in &view.sharing {
            section.card {
                h2 { (org(line.organisation_id)) }
                @if let Some(user) = line.user_id { p { (view.names.get(&user).cloned().unwrap_or_default()) } }
                p.hint { (line.relation.label_nb()) }
                p { "Kan se: " (line.categories.iter().map(|c| c.label_nb()).collect::<Vec<_>>().join(", ")) }
            }
        }
        h2 #samtykke { "Samtykke til deling" }
        p.hint { "Én bryter per opplysning. Trykk på bryteren for å dele eller slutte å dele." }
        @for (n, service_org) in services.iter().enumerate() {
            @let org_name = org(*service_org);
            section.card.consents aria-labelledby={ "tjeneste-" (n) } {
                h3 #{ "tjeneste-" (n) } { (org_name) }
                ul.consent-list {
                    @for category in DataCategory::CONSENTABLE {
                        @let given = view.consents.contains(&(*service_org, category));
                        @let state_id = format!("status-{n}-{}", category.code());
                        li.consent data-testid="consent" {
                            form.consent-switch method="post" action="/portal/samtykke" {
                                input type="hidden" name="csrf" value=(patient.csrf);
                                input type="hidden" name="organisation" value=(service_org);
                                input type="hidden" name="category" value=(category.code());
                                input type="hidden" name="decision" value=(if given { "withdraw" } else { "give" });
                                span.consent-text {
                                    span.consent-category { (category.label_nb()) }
                                    span.consent-state.on[given] id=(state_id) {
                                        @if given { "Deles med " (org_name) } @else { "Deles ikke" }
                                    }
                                }
                                button.switch type="submit" role="switch" aria-checked=(if given { "true" } else { "false" })
                                    aria-label={ "Del " (category.label_nb()) " med " (org_name) }
                                    aria-describedby=(state_id) {
                                    span.track aria-hidden="true" { span.knob {} }
                                    span.switch-word aria-hidden="true" { @if given { "På" } @else { "Av" } }
                                }
                            }
                        }
                    }
                }
            }
        }
        @if !view.emergency.is_empty() {
            h2 { "Akuttilgang" }
            ul {
                @for e in &view.emergency {
                    li.emergency { (instant_nb(e.started_at)) ": " (view.names.get(&e.user_id).cloned().unwrap_or_default()) ", " (org(e.organisation_id)) ". Begrunnelse: " (e.reason) }
                }
            }
        }
    };
    Ok((
        form_status(errors),
        portal_page("Hvem ser hva", Some(patient), body),
    )
        .into_response())
}

pub async fn consents(
    State(state): State<AppState>,
    patient: PortalPatient,
    axum::extract::Query(changed): axum::extract::Query<ConsentChanged>,
) -> PageResult {
    consent_page(&state, &patient, &FieldErrors::default(), &changed).await
}

pub async fn change_consent(
    State(state): State<AppState>,
    PatientForm { patient, form }: PatientForm,
) -> PageResult {
    let service = Service::new(
        &state,
        samhand_domain::access::Actor::Patient(patient.user.clone()),
    );
    let input = ConsentInput {
        organisation: form.get("organisation").into(),
        category: form.get("category").into(),
        decision: form.get("decision").into(),
        note: String::new(),
    };
    match service.record_consent(patient.user.patient_id, &input).await {
        Ok(_) => {
            // Codes and an id, accepted by the service just now; anything else is left out.
            let safe = |value: &str| -> String {
                let value = value.trim();
                if value
                    .chars()
                    .all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '_')
                {
                    value.to_string()
                } else {
                    String::new()
                }
            };
            Ok(Redirect::to(&format!(
                "/portal/samtykke?endret={}&kategori={}&virksomhet={}",
                safe(&input.decision),
                safe(&input.category),
                safe(&input.organisation)
            ))
            .into_response())
        }
        Err(AppError::Invalid(errors)) => {
            consent_page(&state, &patient, &errors, &ConsentChanged::default()).await
        }
        Err(other) => Err(other.into()),
    }
}

pub async fn access_log(State(state): State<AppState>, patient: PortalPatient) -> PageResult {
    let service = Service::new(
        &state,
        samhand_domain::access::Actor::Patient(patient.user.clone()),
    );
    let lines = service.access_log(patient.user.patient_id).await?;
    let groups = crate::service::group_access_log(&lines);
    let body = html! {
        h1 { "Hvem har lest journalen din" }
        p { "Alle som har lest eller skrevet i journalen din, nyeste først. Det én person så på samme tid, står på én linje. Akuttilgang er merket." }
        @if groups.is_empty() {
            p { "Ingen har lest journalen din ennå." }
        } @else {
            ul.log data-testid="access-log" {
                @for group in &groups {
                    li class=[group.emergency.then_some("emergency")] {
                        strong { (group.who) } ", " (group.organisation)
                        br;
                        span.hint {
                            (instant_nb(group.at)) " · " (group.action_nb()) ": " (group.categories_nb()) " · "
                            @if group.emergency { strong { "Akuttilgang" } } @else { (group.relation.map(|r| r.label_nb()).unwrap_or("")) }
                        }
                    }
                }
            }
        }
    };
    Ok(portal_page("Hvem har lest", Some(&patient), body).into_response())
}

async fn people_page(
    state: &AppState,
    patient: &PortalPatient,
    form: &FormData,
    errors: &FieldErrors,
) -> PageResult {
    let service = Service::new(
        state,
        samhand_domain::access::Actor::Patient(patient.user.clone()),
    );
    let view = service.privacy_view(patient.user.patient_id).await?;
    let relations: Vec<(String, String)> = PersonRelation::ALL
        .iter()
        .map(|r| (r.code().to_string(), r.label_nb().to_string()))
        .collect();
    let body = html! {
        h1 { "Pårørende og andre du vil ha med" }
        p { "Du bestemmer hvem som er med, og hva de kan få vite. De har ingen tilgang til journalen din." }
        @for person in view.people.iter().filter(|p| p.ended.is_none()) {
            section.card {
                h2 { (person.name) }
                p { (person.relation.label_nb()) @if !person.phone.is_empty() { " · " (person.phone) } }
                @if !person.may_be_told.is_empty() { p { "Kan få vite: " (person.may_be_told) } }
                p { @if person.in_care_team { "Er med i ansvarsgruppen." } @else { "Er ikke med i ansvarsgruppen." } }
                form method="post" action={ "/portal/parorende/" (person.id) "/fjern" } {
                    input type="hidden" name="csrf" value=(patient.csrf);
                    button.link type="submit" { "Fjern " (person.name) }
                }
            }
        }
        h2 { "Legg til en person" }
        (error_summary(errors))
        form.stack method="post" action="/portal/parorende" {
            input type="hidden" name="csrf" value=(patient.csrf);
            (input("Navn", "name", "text", form.get("name"), errors, None))
            (select("Hvem er det for deg", "relation", &relations, form.get("relation"), errors))
            (input("Telefon", "phone", "tel", form.get("phone"), errors, None))
            (textarea("Hva kan personen få vite", "may_be_told", form.get("may_be_told"), errors))
            label.checkbox { input type="checkbox" name="in_care_team" value="1" checked[form.has("in_care_team")]; "Med i ansvarsgruppen" }
            button type="submit" { "Legg til" }
        }
    };
    Ok((form_status(errors), portal_page("Pårørende", Some(patient), body)).into_response())
}

pub async fn people(State(state): State<AppState>, patient: PortalPatient) -> PageResult {
    people_page(&state, &patient, &FormData::default(), &FieldErrors::default()).await
}

pub async fn add_person(
    State(state): State<AppState>,
    PatientForm { patient, form }: PatientForm,
) -> PageResult {
    let service = Service::new(
        &state,
        samhand_domain::access::Actor::Patient(patient.user.clone()),
    );
    let input = NamedPersonInput {
        name: form.get("name").into(),
        relation: form.get("relation").into(),
        phone: form.get("phone").into(),
        may_be_told: form.get("may_be_told").into(),
        in_care_team: form.has("in_care_team"),
    };
    match service.add_named_person(patient.user.patient_id, &input).await {
        Ok(_) => Ok(Redirect::to("/portal/parorende").into_response()),
        Err(AppError::Invalid(errors)) => people_page(&state, &patient, &form, &errors).await,
        Err(other) => Err(other.into()),
    }
}

pub async fn end_person(
    State(state): State<AppState>,
    Path(id): Path<String>,
    PatientForm { patient, .. }: PatientForm,
) -> PageResult {
    let id: NamedPersonId = crate::pages::forms::parse_id(&id)?;
    Service::new(
        &state,
        samhand_domain::access::Actor::Patient(patient.user.clone()),
    )
    .end_named_person(id, "Fjernet av pasienten")
    .await?;
    Ok(Redirect::to("/portal/parorende").into_response())
}

async fn requests_page(
    state: &AppState,
    patient: &PortalPatient,
    form: &FormData,
    errors: &FieldErrors,
) -> PageResult {
    let service = Service::new(
        state,
        samhand_domain::access::Actor::Patient(patient.user.clone()),
    );
    let requests = service.patient_requests().await?;
    let kinds: Vec<(String, String)> = samhand_domain::care::PatientRequestKind::ALL
        .iter()
        .map(|kind| (kind.code().to_string(), kind.label_nb().to_string()))
        .collect();
    let body = html! {
        h1 { "Ønsker" }
        h2 { "Be om en endring" }
        p { "Ønsket ditt går til LAR-enheten (eller koordinatoren for saker til møtet), som svarer deg her." }
        (error_summary(errors))
        form.stack method="post" action="/portal/onsker" {
            input type="hidden" name="csrf" value=(patient.csrf);
            (select("Hva ønsker du", "kind", &kinds, form.get("kind"), errors))
            (textarea("Skriv ønsket ditt, og gjerne hvorfor", "text", form.get("text"), errors))
            button type="submit" { "Send ønsket" }
        }
        @if !requests.is_empty() {
            h2 { "Dine ønsker" }
            @for task in &requests {
                section.card data-testid="request" {
                    p { (task.description) }
                    p.hint { "Sendt " (instant_nb(task.created_at)) }
                    @match task.changes.last() {
                        Some(change) => {
                            p { strong { (change.status.label_nb()) } @if !change.note.is_empty() { ": " (change.note) } }
                        }
                        None => { p { strong { "Ikke besvart ennå" } } }
                    }
                }
            }
        }
        p { "Vil du skrive til behandlerne dine? Gå til " a href="/portal/meldinger" { "Meldinger" } "." }
    };
    Ok((form_status(errors), portal_page("Ønsker", Some(patient), body)).into_response())
}

pub async fn requests(State(state): State<AppState>, patient: PortalPatient) -> PageResult {
    requests_page(&state, &patient, &FormData::default(), &FieldErrors::default()).await
}

pub async fn send_request(
    State(state): State<AppState>,
    PatientForm { patient, form }: PatientForm,
) -> PageResult {
    let service = Service::new(
        &state,
        samhand_domain::access::Actor::Patient(patient.user.clone()),
    );
    match service.patient_request(form.get("kind"), form.get("text")).await {
        Ok(_) => Ok(Redirect::to("/portal/onsker").into_response()),
        Err(AppError::Invalid(errors)) => requests_page(&state, &patient, &form, &errors).await,
        Err(other) => Err(other.into()),
    }
}

pub async fn send_message(
    State(state): State<AppState>,
    PatientForm { patient, form }: PatientForm,
) -> PageResult {
    let service = Service::new(
        &state,
        samhand_domain::access::Actor::Patient(patient.user.clone()),
    );
    match service
        .patient_message(form.get("subject"), form.get("body"))
        .await
    {
        Ok(_) => Ok(Redirect::to("/portal/meldinger").into_response()),
        Err(AppError::Invalid(errors)) => messages_page(&state, &patient, &form, &errors).await,
        Err(other) => Err(other.into()),
    }
}

/// Who wrote a message of the conversation, as the patient reads it.
fn written_by(item: &ConversationItem) -> String {
    match (&item.sender_name, &item.sender_unit) {
        _ if !item.from_team() => "deg".into(),
        (Some(name), Some(unit)) => format!("{name}, {unit}"),
        (Some(name), None) => name.clone(),
        (None, Some(unit)) => unit.clone(),
        (None, None) => "behandlerne".into(),
    }
}

/// Whether the units a message of the patient went to have read it.
fn unit_receipts(item: &ConversationItem) -> Markup {
    html! {
        @if !item.from_team() {
            ul.receipts {
                @for (unit, read) in &item.units {
                    li {
                        @match read {
                            Some(at) => { "Lest av " (unit) " " (instant_nb(*at)) }
                            None => { "Ikke lest ennå av " (unit) }
                        }
                    }
                }
            }
        }
    }
}

async fn messages_page(
    state: &AppState,
    patient: &PortalPatient,
    form: &FormData,
    errors: &FieldErrors,
) -> PageResult {
    let service = Service::new(
        state,
        samhand_domain::access::Actor::Patient(patient.user.clone()),
    );
    let items = service.conversation().await?;
    let body = html! {
        h1 { "Meldinger" }
        p { "Meldinger mellom deg og behandlerne dine, de nyeste først. Behandlerne ser når du har lest en melding fra dem." }
        h2 { "Skriv til behandlerne" }
        p.hint { "Meldingen går til LAR-enheten din, og til koordinatoren din hvis du deler notater med koordinatorens tjeneste." }
        (error_summary(errors))
        form.stack method="post" action="/portal/melding" {
            input type="hidden" name="csrf" value=(patient.csrf);
            (input("Emne", "subject", "text", form.get("subject"), errors, None))
            (textarea("Melding", "body", form.get("body"), errors))
            button type="submit" { "Send meldingen" }
        }
        h2 { "Meldingene dine" }
        @if items.is_empty() { p { "Ingen meldinger ennå." } }
        @for item in &items {
            article.card data-testid="conversation-message" data-unread=(item.unread()) {
                h3 {
                    a href={ "/portal/meldinger/" (item.message.id) } { (item.message.subject) }
                    @if item.unread() { " " span.badge.warn { "Ulest" } }
                }
                p.hint { "Fra " (written_by(item)) " · " (instant_nb(item.message.sent_at)) }
                (unit_receipts(item))
            }
        }
    };
    Ok((form_status(errors), portal_page("Meldinger", Some(patient), body)).into_response())
}

pub async fn messages(State(state): State<AppState>, patient: PortalPatient) -> PageResult {
    messages_page(&state, &patient, &FormData::default(), &FieldErrors::default()).await
}

async fn thread_page(
    state: &AppState,
    patient: &PortalPatient,
    id: MessageId,
    form: &FormData,
    errors: &FieldErrors,
) -> PageResult {
    let service = Service::new(
        state,
        samhand_domain::access::Actor::Patient(patient.user.clone()),
    );
    let thread = service.open_conversation_message(id).await?;
    let title = thread
        .first()
        .map(|i| i.message.subject.clone())
        .unwrap_or_else(|| "Melding".into());
    let body = html! {
        p { a href="/portal/meldinger" { "Tilbake til meldingene" } }
        h1 { (title) }
        @for item in &thread {
            article.card data-testid="thread-message" {
                h2 { "Fra " (written_by(item)) }
                p.hint { (instant_nb(item.message.sent_at)) }
                p.message-body { (item.message.body) }
                (unit_receipts(item))
            }
        }
        h2 { "Svar" }
        (error_summary(errors))
        form.stack method="post" action={ "/portal/meldinger/" (id) "/svar" } {
            input type="hidden" name="csrf" value=(patient.csrf);
            (textarea("Svaret ditt", "body", form.get("body"), errors))
            button type="submit" { "Send svaret" }
        }
    };
    Ok((form_status(errors), portal_page(&title, Some(patient), body)).into_response())
}

pub async fn open_message(
    State(state): State<AppState>,
    patient: PortalPatient,
    Path(id): Path<String>,
) -> PageResult {
    let id: MessageId = crate::pages::forms::parse_id(&id)?;
    thread_page(
        &state,
        &patient,
        id,
        &FormData::default(),
        &FieldErrors::default(),
    )
    .await
}

pub async fn reply(
    State(state): State<AppState>,
    Path(id): Path<String>,
    PatientForm { patient, form }: PatientForm,
) -> PageResult {
    let id: MessageId = crate::pages::forms::parse_id(&id)?;
    let service = Service::new(
        &state,
        samhand_domain::access::Actor::Patient(patient.user.clone()),
    );
    match service.patient_reply(id, form.get("body")).await {
        Ok(_) => Ok(Redirect::to(&format!("/portal/meldinger/{id}")).into_response()),
        Err(AppError::Invalid(errors)) => thread_page(&state, &patient, id, &form, &errors).await,
        Err(other) => Err(other.into()),
    }
}

async fn crisis_page(
    state: &AppState,
    patient: &PortalPatient,
    form: &FormData,
    errors: &FieldErrors,
) -> PageResult {
    let service = Service::new(
        state,
        samhand_domain::access::Actor::Patient(patient.user.clone()),
    );
    let view = service.crisis_plan(patient.user.patient_id).await?;
    let current = view.current.as_ref();
    // Shown again with what was typed after an error; otherwise the plan as it is.
    let value = |field: &str, stored: &str| -> String {
        if form.0.is_empty() {
            stored.to_string()
        } else {
            form.get(field).to_string()
        }
    };
    let contacts: Vec<(String, String)> = if form.0.is_empty() {
        current
            .map(|p| {
                p.contacts
                    .iter()
                    .map(|c| (c.name.clone(), c.phone.clone()))
                    .collect()
            })
            .unwrap_or_default()
    } else {
        form.all("contact_name")
            .into_iter()
            .zip(form.all("contact_phone"))
            .collect()
    };
    let mut rows = contacts;
    while rows.len() < 3 {
        rows.push((String::new(), String::new()));
    }
    let body = html! {
        h1 { "Kriseplanen min" }
        p { "Hva du kjenner igjen når det begynner å gå galt, hva som hjelper, og hvem du og andre kan ringe. Du kan endre den når du vil; alle versjoner tas vare på." }
        @if let Some(plan) = current {
            p.hint { "Sist endret " (instant_nb(plan.recorded_at)) @if plan.by_patient { " av deg" } "." }
        }
        (error_summary(errors))
        form.stack method="post" action="/portal/kriseplan" {
            input type="hidden" name="csrf" value=(patient.csrf);
            (textarea("Varseltegn", "warning_signs", &value("warning_signs", current.map(|p| p.warning_signs.as_str()).unwrap_or("")), errors))
            (textarea("Dette hjelper meg", "what_helps", &value("what_helps", current.map(|p| p.what_helps.as_str()).unwrap_or("")), errors))
            fieldset {
                legend { "Hvem kan ringes" }
                @for (i, (name, phone)) in rows.iter().enumerate() {
                    div.inline {
                        div {
                            label for={ "contact_name_" (i) } { "Navn " (i + 1) }
                            input type="text" id={ "contact_name_" (i) } name="contact_name" value=(name);
                        }
                        div {
                            label for={ "contact_phone_" (i) } { "Telefon " (i + 1) }
                            input type="tel" id={ "contact_phone_" (i) } name="contact_phone" value=(phone);
                        }
                    }
                }
                (crate::pages::forms::group_error(errors, "contact_name"))
                (crate::pages::forms::group_error(errors, "contact_phone"))
                (crate::pages::forms::group_error(errors, "contacts"))
            }
            button type="submit" { "Lagre kriseplanen" }
        }
        p { "Er det akutt, ring " strong { "113" } "." }
    };
    Ok((form_status(errors), portal_page("Kriseplan", Some(patient), body)).into_response())
}

pub async fn crisis_plan(State(state): State<AppState>, patient: PortalPatient) -> PageResult {
    crisis_page(&state, &patient, &FormData::default(), &FieldErrors::default()).await
}

pub async fn save_crisis_plan(
    State(state): State<AppState>,
    PatientForm { patient, form }: PatientForm,
) -> PageResult {
    let service = Service::new(
        &state,
        samhand_domain::access::Actor::Patient(patient.user.clone()),
    );
    let input = samhand_domain::overdose::CrisisPlanInput {
        warning_signs: form.get("warning_signs").into(),
        what_helps: form.get("what_helps").into(),
        contacts: form
            .all("contact_name")
            .into_iter()
            .zip(form.all("contact_phone"))
            .collect(),
    };
    match service.save_crisis_plan(patient.user.patient_id, &input).await {
        Ok(_) => Ok(Redirect::to("/portal/kriseplan").into_response()),
        Err(AppError::Invalid(errors)) => crisis_page(&state, &patient, &form, &errors).await,
        Err(other) => Err(other.into()),
    }
}

async fn goals_page(state: &AppState, patient: &PortalPatient, errors: &FieldErrors) -> PageResult {
    let service = Service::new(
        state,
        samhand_domain::access::Actor::Patient(patient.user.clone()),
    );
    let plan = service.plan(patient.user.patient_id).await?;
    let words = service.own_words(patient.user.patient_id).await?;
    let body = html! {
        h1 { "Mine mål" }
        p { "Skriv målene dine med dine egne ord, og en kommentar hvis du vil. Teamet ser dem ved planen og tar dem med inn i den sammen med deg." }
        (error_summary(errors))
        form.stack method="post" action="/portal/mal" {
            input type="hidden" name="csrf" value=(patient.csrf);
            @for domain in samhand_domain::care::LifeDomain::ALL {
                @let mine = words.iter().find(|(d, _)| *d == domain).map(|(_, w)| w);
                @let in_plan = plan.current.as_ref().and_then(|p| p.goals.iter().find(|g| g.domain == domain));
                fieldset {
                    legend { (domain.label_nb()) }
                    @if let Some(goal) = in_plan { p.hint { "I planen nå: " (goal.goal) } }
                    (textarea("Mitt mål", domain.code(), mine.map(|w| w.goal.as_str()).unwrap_or(""), errors))
                    (textarea("Kommentar", &format!("{}_comment", domain.code()), mine.map(|w| w.comment.as_str()).unwrap_or(""), errors))
                }
            }
            button type="submit" { "Lagre målene mine" }
        }
    };
    Ok((form_status(errors), portal_page("Mine mål", Some(patient), body)).into_response())
}

pub async fn goals(State(state): State<AppState>, patient: PortalPatient) -> PageResult {
    goals_page(&state, &patient, &FieldErrors::default()).await
}

pub async fn save_goals(
    State(state): State<AppState>,
    PatientForm { patient, form }: PatientForm,
) -> PageResult {
    let service = Service::new(
        &state,
        samhand_domain::access::Actor::Patient(patient.user.clone()),
    );
    let words: Vec<(samhand_domain::care::LifeDomain, String, String)> =
        samhand_domain::care::LifeDomain::ALL
            .into_iter()
            .map(|d| {
                (
                    d,
                    form.get(d.code()).to_string(),
                    form.get(&format!("{}_comment", d.code())).to_string(),
                )
            })
            .collect();
    match service.save_own_words(&words).await {
        Ok(_) => Ok(Redirect::to("/portal/mal").into_response()),
        Err(AppError::Invalid(errors)) => goals_page(&state, &patient, &errors).await,
        Err(other) => Err(other.into()),
    }
}
