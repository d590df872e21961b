//! Privacy in the patient's hands: who can see what, with a switch per consent;
//! who has read the record (the access log); and next of kin and others the
//! patient wants involved, who get no access to the record.

use axum::extract::{Path, Query, State};
use axum::response::{IntoResponse, Redirect};
use maud::{Markup, html};
use samhand_domain::access::{AllowedBy, DataCategory};
use samhand_domain::ids::{NamedPersonId, OrganisationId};
use samhand_domain::privacy::{NamedPersonInput, PersonRelation};
use samhand_domain::validation::FieldErrors;

use super::{patient_service, portal_page};
use crate::AppState;
use crate::error::AppError;
use crate::pages::PageResult;
use crate::pages::forms::{FormData, error_summary, form_status, input, parse_id, select, textarea};
use crate::pages::labels::{categories_text, instant_nb};
use crate::pages::layout::notice;
use crate::portal::{PatientForm, PortalPatient};
use crate::service::{ConsentInput, PrivacyView};

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
    let service = patient_service(state, patient);
    let view = service.privacy_view(patient.user.patient_id).await?;
    let org = |id| organisation_name(&view, id);
    let services = consentable_services(&view);
    let confirmation = consent_confirmation(&view, &services, changed);
    let body = html! {
        h1 { "Hvem kan se hva om deg" }
        @if let Some(text) = confirmation { (notice(&text)) }
        p { "Slik er det nå. Du bestemmer hva som deles med tjenestene utover det de trenger for å gi deg medisinen. Endringer gjelder med en gang." }
        (error_summary(errors))
        @for line in &view.sharing {
            section.card {
                h2 { (org(line.organisation_id)) }
                @if let Some(user) = line.user_id { p { (view.names.get(&user).cloned().unwrap_or_default()) } }
                p.hint { (line.relation.label_nb()) }
                p { "Kan se: " (categories_text(&line.categories)) }
            }
        }
        h2 #samtykke { "Samtykke til deling" }
        p.hint { "Én bryter per opplysning. Trykk på bryteren for å dele eller slutte å dele." }
        (consent_switches(patient, &view, &services))
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

/// An organisation's name as the patient reads it, or «ukjent».
fn organisation_name(view: &PrivacyView, id: OrganisationId) -> String {
    view.organisations
        .get(&id)
        .map(|o| o.name.clone())
        .unwrap_or_else(|| "ukjent".into())
}

/// The services that can be given consent: those with a relation to the patient.
fn consentable_services(view: &PrivacyView) -> Vec<OrganisationId> {
    let mut services: Vec<OrganisationId> = view
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
    services
}

/// The confirmation of a change just made, naming what changed, from the consents
/// as they are now; nothing when the address names no change that holds.
fn consent_confirmation(
    view: &PrivacyView,
    services: &[OrganisationId],
    changed: &ConsentChanged,
) -> Option<String> {
    let org = |id| organisation_name(view, id);
    services
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
        })
}

/// One switch per service and category: on shares it, off stops sharing it.
fn consent_switches(patient: &PortalPatient, view: &PrivacyView, services: &[OrganisationId]) -> Markup {
    let org = |id| organisation_name(view, id);
    html! {
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
    }
}

pub async fn consents(
    State(state): State<AppState>,
    patient: PortalPatient,
    Query(changed): Query<ConsentChanged>,
) -> PageResult {
    consent_page(&state, &patient, &FieldErrors::default(), &changed).await
}

pub async fn change_consent(
    State(state): State<AppState>,
    PatientForm { patient, form }: PatientForm,
) -> PageResult {
    let service = patient_service(&state, &patient);
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
    let service = patient_service(&state, &patient);
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
    let service = patient_service(state, patient);
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
    let service = patient_service(&state, &patient);
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
    let id: NamedPersonId = parse_id(&id)?;
    patient_service(&state, &patient)
        .end_named_person(id, "Fjernet av pasienten")
        .await?;
    Ok(Redirect::to("/portal/parorende").into_response())
}
