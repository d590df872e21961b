//! Privacy pages: "who can see what" with consents and the care team, the access
//! log ("hvem har sett journalen"), emergency access (akuttilgang) and the leader's
//! review of emergency accesses.

use axum::extract::{Path, Query, State};
use axum::response::{IntoResponse, Redirect, Response};
use maud::{Markup, html};
use samhand_domain::access::{AllowedBy, DataCategory};
use samhand_domain::ids::{CareTeamMemberId, EmergencyAccessId, OrganisationId, PatientId};
use samhand_domain::privacy::{MIN_EMERGENCY_REASON_CHARS, TeamRole};
use samhand_domain::validation::FieldErrors;

use crate::AppState;
use crate::auth::UiStaff;
use crate::error::{AppError, PageError};
use crate::pages::forms::{FormData, StaffForm, csrf, error_summary, form_status, input, select, textarea};
use crate::pages::labels::{categories_text, instant_nb};
use crate::pages::layout::page;
use crate::service::{ConsentInput, PrivacyView, Service};

type PageResult = Result<Response, PageError>;

use crate::pages::forms::parse_id;

/// The banner on every page of a record opened by emergency access.
pub fn emergency_banner(access: &samhand_domain::privacy::EmergencyAccess) -> Markup {
    html! {
        div.error role="alert" {
            strong { "Akuttilgang" }
            " til " (instant_nb(access.expires_at)) ". Begrunnelse: «" (access.reason) "». "
            "Tilgangen er logget, vises for pasienten og kontrolleres av leder."
        }
    }
}

fn privacy_body(view: &PrivacyView, staff: &UiStaff, form: &FormData, errors: &FieldErrors) -> Markup {
    let id = view.patient.id;
    html! {
        h1 { "Personvern: " (view.patient.full_name()) }
        p { a href={ "/pasienter/" (id) } { "Tilbake til oversikten" } " · " a href={ "/pasienter/" (id) "/innsyn" } { "Hvem har sett journalen" } }
        (sharing_section(view))
        (consents_section(view, staff, form, errors))
        (care_team_section(view, staff, form, errors))
        (people_section(view, staff, form, errors))
        (portal_and_emergency_section(view, staff))
    }
}

/// An organisation's name, or «ukjent virksomhet».
fn organisation_name(view: &PrivacyView, id: OrganisationId) -> String {
    view.organisations
        .get(&id)
        .map(|o| o.name.clone())
        .unwrap_or_else(|| "ukjent virksomhet".into())
}

/// Who can see what now, derived from the policy itself.
fn sharing_section(view: &PrivacyView) -> Markup {
    let org = |id| organisation_name(view, id);
    let name = |id| view.names.get(&id).cloned().unwrap_or_else(|| "ukjent".into());
    html! {
        h2 { "Hvem kan se hva nå" }
        p.hint { "Utledet av tilgangsreglene selv: slik systemet faktisk avgjør tilgang i dag." }
        table {
            thead { tr { th { "Virksomhet" } th { "Person" } th { "Grunnlag" } th { "Kan se" } } }
            tbody {
                @for line in &view.sharing {
                    tr {
                        td { (org(line.organisation_id)) }
                        td { @if let Some(user) = line.user_id { (name(user)) } @else { "alle med tjenstlig behov" } }
                        td {
                            @if line.relation == AllowedBy::EmergencyAccess { span.badge.bad { (line.relation.label_nb()) } }
                            @else { (line.relation.label_nb()) }
                        }
                        td { (categories_text(&line.categories)) }
                    }
                }
            }
        }
    }
}

/// The consents, the form to record one on the patient's behalf, and their history.
fn consents_section(view: &PrivacyView, staff: &UiStaff, form: &FormData, errors: &FieldErrors) -> Markup {
    let org = |id| organisation_name(view, id);
    let name = |id| view.names.get(&id).cloned().unwrap_or_else(|| "ukjent".into());
    let id = view.patient.id;
    let mut organisation_options: Vec<(String, String)> = view
        .organisations
        .values()
        .map(|o| (o.id.to_string(), o.name.clone()))
        .collect();
    organisation_options.sort_by(|a, b| a.1.cmp(&b.1));
    let category_options: Vec<(String, String)> = DataCategory::CONSENTABLE
        .iter()
        .map(|c| (c.code().to_string(), c.label_nb().to_string()))
        .collect();
    let decision_options = vec![
        ("give".to_string(), "Gir samtykke".to_string()),
        ("withdraw".to_string(), "Trekker samtykket tilbake".to_string()),
    ];
    html! {
        h2 { "Samtykker" }
        @if view.consents.is_empty() {
            p { "Pasienten har ikke gitt samtykke til deling utover det behandlingsrelasjonene gir." }
        } @else {
            ul {
                @for (organisation, category) in &view.consents {
                    li { (org(*organisation)) ": " (category.label_nb()) }
                }
            }
        }
        h3 { "Registrer samtykke på vegne av pasienten" }
        p.hint { "Gjelder fra det øyeblikket det lagres. Pasienten kan når som helst trekke samtykket tilbake." }
        (error_summary(errors))
        form.stack method="post" action={ "/pasienter/" (id) "/samtykke" } {
            (csrf(&staff.csrf))
            (select("Virksomhet", "organisation", &organisation_options, form.get("organisation"), errors))
            (select("Opplysninger", "category", &category_options, form.get("category"), errors))
            (select("Beslutning", "decision", &decision_options, form.get("decision"), errors))
            (textarea("Merknad", "note", form.get("note"), errors))
            button type="submit" { "Lagre samtykke" }
        }
        @if !view.consent_history.is_empty() {
            h3 { "Historikk" }
            table {
                thead { tr { th { "Tidspunkt" } th { "Virksomhet" } th { "Opplysninger" } th { "Beslutning" } th { "Registrert av" } th { "Merknad" } } }
                tbody {
                    @for c in &view.consent_history {
                        tr {
                            td { (instant_nb(c.recorded_at)) }
                            td { (org(c.organisation_id)) }
                            td { (c.category.label_nb()) }
                            td { @if c.given { "Gitt" } @else { "Trukket tilbake" } }
                            td { (name(c.recorded_by)) }
                            td { (c.note) }
                        }
                    }
                }
            }
        }
    }
}

/// The care team and the form to add a member.
fn care_team_section(view: &PrivacyView, staff: &UiStaff, form: &FormData, errors: &FieldErrors) -> Markup {
    let org = |id| organisation_name(view, id);
    let name = |id| view.names.get(&id).cloned().unwrap_or_else(|| "ukjent".into());
    let id = view.patient.id;
    let role_options = vec![
        (
            TeamRole::Member.code().to_string(),
            TeamRole::Member.label_nb().to_string(),
        ),
        (
            TeamRole::Coordinator.code().to_string(),
            TeamRole::Coordinator.label_nb().to_string(),
        ),
    ];
    html! {
        h2 { "Ansvarsgruppe" }
        @if view.care_team.is_empty() {
            p { "Ingen er lagt til i ansvarsgruppen ennå." }
        } @else {
            table {
                thead { tr { th { "Navn" } th { "Virksomhet" } th { "Rolle" } th { "Fra" } th { "Status" } } }
                tbody {
                    @for m in &view.care_team {
                        tr {
                            td { (name(m.user_id)) }
                            td { (org(m.organisation_id)) }
                            td { (m.role.label_nb()) }
                            td { (instant_nb(m.added_at)) }
                            td {
                                @if let Some(end) = &m.ended {
                                    "Avsluttet " (instant_nb(end.at)) " (" (end.reason) ")"
                                } @else {
                                    form.inline method="post" action={ "/ansvarsgruppe/" (m.id) "/avslutt" } {
                                        (csrf(&staff.csrf))
                                        label for={ "reason-" (m.id) } { "Årsak" }
                                        input type="text" id={ "reason-" (m.id) } name="reason" required;
                                        button.link type="submit" { "Avslutt plassen" }
                                    }
                                }
                            }
                        }
                    }
                }
            }
        }
        h3 { "Legg til medlem" }
        p.hint { "Et medlem ser hvem pasienten er; alt annet følger pasientens samtykker til medlemmets virksomhet." }
        form.stack method="post" action={ "/pasienter/" (id) "/ansvarsgruppe" } {
            (csrf(&staff.csrf))
            (input("Brukernavn", "user", "text", form.get("user"), errors, None))
            (select("Rolle", "role", &role_options, form.get("role"), errors))
            fieldset {
                legend { "Pasienten samtykker til å dele med medlemmets virksomhet" }
                @for category in DataCategory::CONSENTABLE {
                    label.checkbox {
                        input type="checkbox" name="share" value=(category.code()) checked[form.all("share").iter().any(|c| c == category.code())];
                        (category.label_nb())
                    }
                }
                (crate::pages::forms::group_error(errors, "share"))
            }
            button type="submit" { "Legg til" }
        }
    }
}

/// Next of kin and others the patient has chosen, and the form to add one.
fn people_section(view: &PrivacyView, staff: &UiStaff, form: &FormData, errors: &FieldErrors) -> Markup {
    let id = view.patient.id;
    let relation_options: Vec<(String, String)> = samhand_domain::privacy::PersonRelation::ALL
        .iter()
        .map(|r| (r.code().to_string(), r.label_nb().to_string()))
        .collect();
    html! {
        h2 { "Pårørende og andre pasienten har valgt" }
        p.hint { "Pasienten bestemmer hvem som er med, og hva de kan få vite. De har ingen tilgang i Samhand." }
        @if !view.people.is_empty() {
            table {
                thead { tr { th { "Navn" } th { "Hvem" } th { "Telefon" } th { "Kan få vite" } th { "I ansvarsgruppen" } th { "" } } }
                tbody {
                    @for person in &view.people {
                        tr {
                            td { (person.name) }
                            td { (person.relation.label_nb()) }
                            td { (person.phone) }
                            td { (person.may_be_told) }
                            td { @if person.in_care_team { "Ja" } @else { "Nei" } }
                            td {
                                @if let Some(end) = &person.ended {
                                    "Fjernet " (instant_nb(end.at))
                                } @else {
                                    form.inline method="post" action={ "/personer/" (person.id) "/fjern" } {
                                        (csrf(&staff.csrf))
                                        label for={ "why-" (person.id) } { "Årsak" }
                                        input type="text" id={ "why-" (person.id) } name="reason" required;
                                        button.link type="submit" { "Fjern" }
                                    }
                                }
                            }
                        }
                    }
                }
            }
        }
        form.stack method="post" action={ "/pasienter/" (id) "/personer" } {
            (csrf(&staff.csrf))
            (input("Navn", "name", "text", form.get("name"), errors, None))
            (select("Hvem er personen for pasienten", "relation", &relation_options, form.get("relation"), errors))
            (input("Telefon", "phone", "tel", form.get("phone"), errors, None))
            (textarea("Hva kan personen få vite (pasientens ord)", "may_be_told", form.get("may_be_told"), errors))
            label.checkbox { input type="checkbox" name="in_care_team" value="1" checked[form.has("in_care_team")]; "Med i ansvarsgruppen" }
            button type="submit" { "Legg til person" }
        }
    }
}

/// The portal code, and the emergency accesses opened to the record.
fn portal_and_emergency_section(view: &PrivacyView, staff: &UiStaff) -> Markup {
    let org = |id| organisation_name(view, id);
    let name = |id| view.names.get(&id).cloned().unwrap_or_else(|| "ukjent".into());
    let id = view.patient.id;
    html! {
        h2 { "Pasientportalen" }
        p { "Pasienten logger inn på " code { "/portal" } " med fødselsnummer og eget passord. Første gang trengs en engangskode." }
        form method="post" action={ "/pasienter/" (id) "/portalkode" } {
            (csrf(&staff.csrf))
            button type="submit" { "Lag engangskode for pasientportalen" }
        }

        h2 { "Akuttilganger" }
        @if view.emergency.is_empty() {
            p { "Ingen akuttilganger." }
        } @else {
            table {
                thead { tr { th { "Når" } th { "Hvem" } th { "Virksomhet" } th { "Begrunnelse" } th { "Kontrollert" } } }
                tbody {
                    @for e in &view.emergency {
                        tr {
                            td { (instant_nb(e.started_at)) }
                            td { (name(e.user_id)) }
                            td { (org(e.organisation_id)) }
                            td { (e.reason) }
                            td { @if let Some(r) = &e.review { (instant_nb(r.reviewed_at)) } @else { span.badge.warn { "Ikke kontrollert" } } }
                        }
                    }
                }
            }
        }
    }
}

async fn privacy_page(
    state: &AppState,
    staff: &UiStaff,
    id: PatientId,
    form: &FormData,
    errors: &FieldErrors,
) -> PageResult {
    let view = Service::new(state, &staff.user).privacy_view(id).await?;
    let body = privacy_body(&view, staff, form, errors);
    Ok((form_status(errors), page("Personvern", staff, body)).into_response())
}

pub async fn show(State(state): State<AppState>, staff: UiStaff, Path(id): Path<String>) -> PageResult {
    let id: PatientId = parse_id(&id)?;
    privacy_page(&state, &staff, id, &FormData::default(), &FieldErrors::default()).await
}

pub async fn record_consent(
    State(state): State<AppState>,
    Path(id): Path<String>,
    StaffForm { staff, form }: StaffForm,
) -> PageResult {
    let id: PatientId = parse_id(&id)?;
    let input = ConsentInput {
        organisation: form.get("organisation").into(),
        category: form.get("category").into(),
        decision: form.get("decision").into(),
        note: form.get("note").into(),
    };
    match Service::new(&state, &staff.user).record_consent(id, &input).await {
        Ok(_) => Ok(Redirect::to(&format!("/pasienter/{id}/personvern")).into_response()),
        Err(AppError::Invalid(errors)) => privacy_page(&state, &staff, id, &form, &errors).await,
        Err(other) => Err(other.into()),
    }
}

pub async fn add_member(
    State(state): State<AppState>,
    Path(id): Path<String>,
    StaffForm { staff, form }: StaffForm,
) -> PageResult {
    let id: PatientId = parse_id(&id)?;
    match Service::new(&state, &staff.user)
        .add_care_team_member(id, form.get("user"), form.get("role"), &form.all("share"))
        .await
    {
        Ok(_) => Ok(Redirect::to(&format!("/pasienter/{id}/personvern")).into_response()),
        Err(AppError::Invalid(errors)) => privacy_page(&state, &staff, id, &form, &errors).await,
        Err(other) => Err(other.into()),
    }
}

pub async fn end_member(
    State(state): State<AppState>,
    Path(id): Path<String>,
    StaffForm { staff, form }: StaffForm,
) -> PageResult {
    let member: CareTeamMemberId = parse_id(&id)?;
    let patient = Service::new(&state, &staff.user)
        .end_care_team_member(member, form.get("reason"))
        .await?;
    Ok(Redirect::to(&format!("/pasienter/{patient}/personvern")).into_response())
}

pub async fn access_log(State(state): State<AppState>, staff: UiStaff, Path(id): Path<String>) -> PageResult {
    let id: PatientId = parse_id(&id)?;
    let lines = Service::new(&state, &staff.user).access_log(id).await?;
    let groups = crate::service::group_access_log(&lines);
    let body = html! {
        h1 { "Hvem har sett journalen" }
        p { a href={ "/pasienter/" (id) } { "Tilbake til oversikten" } }
        p.hint { "Alle oppslag og registreringer andre enn pasienten har gjort, nyeste først. Det samme oppslaget (én person, én virksomhet, samme minutt) står på én linje. Akuttilganger er uthevet." }
        @if groups.is_empty() {
            p { "Ingen har sett journalen ennå." }
        } @else {
            table data-testid="access-log" {
                thead { tr { th { "Tidspunkt" } th { "Hvem" } th { "Rolle" } th { "Virksomhet" } th { "Hva" } th { "Grunnlag" } } }
                tbody {
                    @for group in &groups {
                        tr class=[group.emergency.then_some("emergency")] {
                            td { (instant_nb(group.at)) }
                            td { (group.who) }
                            td { (group.role) }
                            td { (group.organisation) }
                            td {
                                (group.categories_nb()) " "
                                span.muted { "(" (group.action_nb()) ")" }
                            }
                            td {
                                @if group.emergency { span.badge.bad { "AKUTTILGANG" } }
                                @else { (group.relation.map(|r| r.label_nb()).unwrap_or("")) }
                            }
                        }
                    }
                }
            }
        }
    };
    Ok(page("Hvem har sett journalen", &staff, body).into_response())
}

// --------------------------------------------------------- emergency access

#[derive(serde::Deserialize, Default)]
pub struct EmergencyQuery {
    #[serde(default)]
    pasient: Option<String>,
}

fn emergency_form(staff: &UiStaff, patient: Option<&str>, form: &FormData, errors: &FieldErrors) -> Markup {
    html! {
        h1 { "Akuttilgang" }
        div.warning {
            "Akuttilgang gir deg lesetilgang til en pasient du ikke har behandlingsrelasjon til, i en begrenset tid. "
            "Bruk den bare når det trengs for å gi helsehjelp nå. Begrunnelsen logges, vises for pasienten og kontrolleres av leder."
        }
        (error_summary(errors))
        form.stack method="post" action="/akuttilgang" {
            (csrf(&staff.csrf))
            @if let Some(patient) = patient {
                input type="hidden" name="patient" value=(patient);
            } @else {
                (input("Pasientens fødselsnummer eller D-nummer", "national_id", "text", form.get("national_id"), errors, None))
            }
            (textarea(&format!("Begrunnelse (minst {MIN_EMERGENCY_REASON_CHARS} tegn)"), "reason", form.get("reason"), errors))
            button.danger type="submit" { "Åpne akuttilgang" }
        }
    }
}

pub async fn emergency_show(staff: UiStaff, Query(query): Query<EmergencyQuery>) -> PageResult {
    let body = emergency_form(
        &staff,
        query.pasient.as_deref(),
        &FormData::default(),
        &FieldErrors::default(),
    );
    Ok(page("Akuttilgang", &staff, body).into_response())
}

pub async fn emergency_open(
    State(state): State<AppState>,
    StaffForm { staff, form }: StaffForm,
) -> PageResult {
    let service = Service::new(&state, &staff.user);
    let patient_field = form.get("patient").trim().to_string();
    let result = async {
        let patient = if patient_field.is_empty() {
            service.find_for_emergency(form.get("national_id")).await?
        } else {
            parse_id::<PatientId>(&patient_field).map_err(|e| e.0)?
        };
        service
            .open_emergency_access(patient, form.get("reason"))
            .await
            .map(|_| patient)
    }
    .await;
    match result {
        Ok(patient) => Ok(Redirect::to(&format!("/pasienter/{patient}")).into_response()),
        Err(AppError::Invalid(errors)) => {
            let patient = (!patient_field.is_empty()).then_some(patient_field.as_str());
            let body = emergency_form(&staff, patient, &form, &errors);
            Ok((form_status(&errors), page("Akuttilgang", &staff, body)).into_response())
        }
        Err(other) => Err(other.into()),
    }
}

pub async fn reviews(State(state): State<AppState>, staff: UiStaff) -> PageResult {
    let items = Service::new(&state, &staff.user)
        .emergency_accesses_for_review()
        .await?;
    let body = html! {
        h1 { "Akuttilganger til kontroll" }
        p.hint { "Akuttilganger gjort av enhetens ansatte, eller til enhetens pasienter. Nyeste først." }
        @if items.is_empty() {
            p { "Ingen akuttilganger." }
        } @else {
            table {
                thead { tr { th { "Når" } th { "Hvem" } th { "Virksomhet" } th { "Pasient" } th { "Begrunnelse" } th { "Kontroll" } } }
                tbody {
                    @for item in &items {
                        tr {
                            td { (instant_nb(item.access.started_at)) }
                            td { (item.user_name) }
                            td { (item.organisation_name) }
                            td { (item.patient_name.clone().unwrap_or_else(|| "(skjult)".into())) }
                            td { (item.access.reason) }
                            td {
                                @if let Some(review) = &item.access.review {
                                    "Kontrollert " (instant_nb(review.reviewed_at))
                                    @if let Some(by) = &item.reviewer_name { " av " (by) }
                                    ": " (review.note)
                                } @else {
                                    form.inline method="post" action={ "/akuttilganger/" (item.access.id) "/kontroll" } {
                                        (csrf(&staff.csrf))
                                        label for={ "note-" (item.access.id) } { "Vurdering" }
                                        input type="text" id={ "note-" (item.access.id) } name="note" required;
                                        button type="submit" { "Registrer kontroll" }
                                    }
                                }
                            }
                        }
                    }
                }
            }
        }
    };
    Ok(page("Akuttilganger", &staff, body).into_response())
}

pub async fn review(
    State(state): State<AppState>,
    Path(id): Path<String>,
    StaffForm { staff, form }: StaffForm,
) -> PageResult {
    let id: EmergencyAccessId = parse_id(&id)?;
    Service::new(&state, &staff.user)
        .review_emergency_access(id, form.get("note"))
        .await?;
    Ok(Redirect::to("/akuttilganger").into_response())
}

pub async fn add_person(
    State(state): State<AppState>,
    Path(id): Path<String>,
    StaffForm { staff, form }: StaffForm,
) -> PageResult {
    let id: PatientId = parse_id(&id)?;
    let input = samhand_domain::privacy::NamedPersonInput {
        name: form.get("name").into(),
        relation: form.get("relation").into(),
        phone: form.get("phone").into(),
        may_be_told: form.get("may_be_told").into(),
        in_care_team: form.has("in_care_team"),
    };
    match Service::new(&state, &staff.user)
        .add_named_person(id, &input)
        .await
    {
        Ok(_) => Ok(Redirect::to(&format!("/pasienter/{id}/personvern")).into_response()),
        Err(AppError::Invalid(errors)) => privacy_page(&state, &staff, id, &form, &errors).await,
        Err(other) => Err(other.into()),
    }
}

pub async fn end_person(
    State(state): State<AppState>,
    Path(id): Path<String>,
    StaffForm { staff, form }: StaffForm,
) -> PageResult {
    let person: samhand_domain::ids::NamedPersonId = parse_id(&id)?;
    let patient = Service::new(&state, &staff.user)
        .end_named_person(person, form.get("reason"))
        .await?;
    Ok(Redirect::to(&format!("/pasienter/{patient}/personvern")).into_response())
}

pub async fn portal_code(
    State(state): State<AppState>,
    Path(id): Path<String>,
    StaffForm { staff, form: _ }: StaffForm,
) -> PageResult {
    let id: PatientId = parse_id(&id)?;
    let (code, expires) = Service::new(&state, &staff.user).issue_portal_code(id).await?;
    let body = html! {
        h1 { "Engangskode for pasientportalen" }
        p { "Gi koden til pasienten. Den vises bare nå, og gjelder til " (instant_nb(expires)) "." }
        p.code data-testid="portal-code" { strong { (code) } }
        p { "Pasienten går til " code { "/portal/aktiver" } ", skriver fødselsnummer og koden, og velger et eget passord." }
        p { a href={ "/pasienter/" (id) "/personvern" } { "Tilbake" } }
    };
    Ok(page("Engangskode", &staff, body).into_response())
}
