//! Stays and the discharge checklist: a patient's stays with the admission form,
//! one stay's page (the bundle "I trygge hender 24/7" as a checklist, extension,
//! the substitution dose, «time i hånden» and its outcome, the prescribing
//! hand-over, discharge planned or unplanned), and an institution's list of the
//! patients admitted there.

use axum::extract::{Path, State};
use axum::response::{IntoResponse, Redirect, Response};
use maud::{Markup, html};
use samhand_domain::access;
use samhand_domain::format::date_nb;
use samhand_domain::ids::{PatientId, StayId, UserId};
use samhand_domain::stay::{AppointmentInput, BundleEntryInput, DischargeInput, ItemState, StayKind};
use samhand_domain::validation::FieldErrors;

use crate::AppState;
use crate::auth::UiStaff;
use crate::error::{AppError, PageError};
use crate::pages::forms::{
    FormData, StaffForm, csrf, error_summary, form_status, input, parse_id, select, textarea,
};
use crate::pages::labels::yes_no_options;
use crate::pages::layout::page;
use crate::service::{AdmitInput, HandoverInput, Service, StayView, StaysView};

type PageResult = Result<Response, PageError>;

async fn stays_page(
    state: &AppState,
    staff: &UiStaff,
    id: PatientId,
    form: &FormData,
    errors: &FieldErrors,
) -> PageResult {
    let view = Service::new(state, &staff.user).stays(id).await?;
    // An admission by an institution is to itself; others name the institution.
    let at_institution = access::admits_patients(&staff.user);
    let kinds: Vec<(String, String)> = StayKind::ALL
        .iter()
        .map(|k| (k.code().to_string(), k.label_nb().to_string()))
        .collect();
    let institutions: Vec<(String, String)> = view
        .institutions
        .iter()
        .map(|o| (o.id.to_string(), o.name.clone()))
        .collect();
    let today = view.today.to_string();
    let value = |name: &str, default: &str| {
        if form.0.is_empty() {
            default.to_string()
        } else {
            form.get(name).to_string()
        }
    };
    let body = html! {
        h1 { "Opphold: " (view.patient.full_name()) }
        p { a href={ "/pasienter/" (id) } { "Tilbake til oversikten" } }
        @if let Some(blocked) = &view.blocked { p.error role="alert" { (blocked) } }
        (error_summary(errors))
        @if view.stays.is_empty() {
            p { "Ingen registrerte opphold." }
        } @else {
            table {
                thead { tr { th { "Sted" } th { "Type" } th { "Fra" } th { "Planlagt ut" } th { "Status" } th { "Tiltakspakken" } } }
                tbody {
                    @for s in &view.stays {
                        tr {
                            td { a href={ "/opphold/" (s.record.stay.id) } { (s.record.stay.institution) } }
                            td { (s.record.stay.kind.label_nb()) }
                            td { (date_nb(s.record.stay.starts_on)) }
                            td { (s.record.planned_end().map(date_nb).unwrap_or_else(|| "ikke satt".into())) }
                            td {
                                @match s.record.discharge() {
                                    Some(d) if d.planned => { "Utskrevet " (date_nb(d.on)) }
                                    Some(d) => { span.badge.bad { "Brudd " (date_nb(d.on)) } }
                                    None => { span.badge.warn { "Innlagt" } }
                                }
                            }
                            td { @if s.open.is_empty() { "Fullført" } @else { (samhand_domain::format::count_nb(s.open.len(), "åpent punkt", "åpne punkter")) } }
                        }
                    }
                }
            }
        }
        section.card {
            h2 { "Registrer innleggelse" }
            p.hint { "Utlevering hjemme stanser under oppholdet. LAR-enheten, koordinator og kommunen varsles, også om planlagt utskrivning." }
            form.stack method="post" action={ "/pasienter/" (id) "/opphold" } {
                (csrf(&staff.csrf))
                (select("Type opphold", "kind", &kinds, &value("kind", "institution"), errors))
                @if !at_institution {
                    (select("Institusjon", "institution_id", &institutions, form.get("institution_id"), errors))
                    (input("Annet sted (navn)", "institution", "text", form.get("institution"), errors, Some("Bare når stedet ikke står i lista.")))
                }
                (input("Innlagt fra", "starts_on", "date", &value("starts_on", &today), errors, None))
                (input("Planlagt utskrivning", "planned_end_on", "date", form.get("planned_end_on"), errors, Some("Kan stå tom til datoen er kjent.")))
                (select("Gir institusjonen vanlig substitusjonsdose?", "substitution_continued", &yes_no_options(), &value("substitution_continued", "nei"), errors))
                @if !view.in_lar {
                    (select("Registrert opioidbruk?", "opioid_use", &yes_no_options(), &value("opioid_use", "ja"), errors))
                }
                button type="submit" { "Registrer innleggelse" }
            }
        }
    };
    Ok((form_status(errors), page("Opphold", staff, body)).into_response())
}

pub async fn stays(State(state): State<AppState>, staff: UiStaff, Path(id): Path<String>) -> PageResult {
    stays_page(
        &state,
        &staff,
        parse_id(&id)?,
        &FormData::default(),
        &FieldErrors::default(),
    )
    .await
}

pub async fn admit(
    State(state): State<AppState>,
    Path(id): Path<String>,
    StaffForm { staff, form }: StaffForm,
) -> PageResult {
    let id: PatientId = parse_id(&id)?;
    let input = AdmitInput {
        kind: form.get("kind").into(),
        institution_id: form.get("institution_id").into(),
        institution: form.get("institution").into(),
        starts_on: form.get("starts_on").into(),
        planned_end_on: form.get("planned_end_on").into(),
        substitution_continued: form.get("substitution_continued") == "ja",
        opioid_use: form.get("opioid_use") != "nei",
    };
    match Service::new(&state, &staff.user).admit(id, &input).await {
        Ok(stay) => Ok(Redirect::to(&format!("/opphold/{}", stay.id)).into_response()),
        Err(AppError::Invalid(errors)) => stays_page(&state, &staff, id, &form, &errors).await,
        Err(AppError::Conflict(message)) => {
            stays_page(
                &state,
                &staff,
                id,
                &form,
                &FieldErrors::single("starts_on", message),
            )
            .await
        }
        Err(other) => Err(other.into()),
    }
}

/// What the sections of a stay's page share: the stays view, the stay, who asks,
/// and the form sent back with its errors.
struct StayPage<'a> {
    view: &'a StaysView,
    s: &'a StayView,
    staff: &'a UiStaff,
    form: &'a FormData,
    errors: &'a FieldErrors,
    patient: PatientId,
    base: String,
}

impl StayPage<'_> {
    fn name(&self, id: UserId) -> String {
        self.view.names.get(&id).cloned().unwrap_or_default()
    }

    /// A field as sent back, or its default on a fresh page.
    fn value(&self, field: &str, default: &str) -> String {
        if self.form.0.is_empty() {
            default.to_string()
        } else {
            self.form.get(field).to_string()
        }
    }

    fn owners(&self) -> Vec<(String, String)> {
        self.view
            .owners
            .iter()
            .map(|o| (o.id.to_string(), o.display_name.clone()))
            .collect()
    }

    fn targets(&self) -> Vec<(String, String)> {
        self.view
            .handover_targets
            .iter()
            .map(|o| (o.id.to_string(), o.name.clone()))
            .collect()
    }

    /// The overdose-prevention bundle, item by item.
    fn bundle(&self) -> Markup {
        let record = &self.s.record;
        let s = self.s;
        html! {
        @if record.bundle_applies() {
            section.card {
                h2 { "Tiltakspakken «I trygge hender 24/7»" }
                ul.checklist data-testid="checklist" {
                    @for (item, state) in &s.checklist {
                        li data-item=(item.code()) {
                            @match state {
                                ItemState::Done { on, source } => { span.badge.ok { "Gjort" } " " (item.label_nb()) " – " (date_nb(*on)) @if !source.is_empty() { " (" (source) ")" } }
                                ItemState::Waived { reason, by } => { span.badge.warn { "Fravalgt" } " " (item.label_nb()) ": " (reason) " – " (self.name(*by)) }
                                ItemState::Open => {
                                    span.badge.bad { "Åpent" } " " (item.label_nb())
                                    @if record.discharge().is_none() {
                                        @if !item.is_derived() {
                                            form.inline method="post" action={ (self.base) "/punkt" } {
                                                (csrf(&self.staff.csrf))
                                                input type="hidden" name="item" value=(item.code());
                                                button type="submit" { "Merk som gjort" }
                                            }
                                        }
                                        form.inline method="post" action={ (self.base) "/punkt" } {
                                            (csrf(&self.staff.csrf))
                                            input type="hidden" name="item" value=(item.code());
                                            input type="hidden" name="waived" value="ja";
                                            label for={ "waive-" (item.code()) } { "Begrunnelse for å fravelge" }
                                            input type="text" id={ "waive-" (item.code()) } name="note";
                                            button type="submit" { "Fravelg" }
                                        }
                                    }
                                }
                            }
                        }
                    }
                }
                p.hint { "Nalokson og kriseplan krysses av når de registreres: "
                    a href={ "/pasienter/" (self.patient) "/overdose" } { "nalokson" } ", "
                    a href={ "/pasienter/" (self.patient) "/kriseplan" } { "kriseplan" } "." }
            }
        }
        }
    }

    /// «Time i hånden»: the appointments and their outcome, and a new one.
    fn appointments(&self) -> Markup {
        let record = &self.s.record;
        let s = self.s;
        html! {
        section.card {
            h2 { "Time i hånden" }
            @for a in &s.appointments {
                p {
                    (a.with_whom) " " (date_nb(a.at.date())) " kl. " (a.at.time().strftime("%H:%M")) ", " (a.place) ". Ansvarlig: " (self.name(a.owner)) ". "
                    @match a.attended {
                        Some(true) => { span.badge.ok { "Møtte" } }
                        Some(false) => { span.badge.bad { "Møtte ikke – oppsøkende oppgave gitt" } }
                        None => {
                            form.inline method="post" action={ "/timer/" (a.id) "/oppmote" } {
                                (csrf(&self.staff.csrf))
                                button type="submit" name="attended" value="ja" { "Møtte" }
                                button type="submit" name="attended" value="nei" { "Møtte ikke" }
                            }
                        }
                    }
                }
            }
            @if record.discharge().is_none() || s.appointments.is_empty() {
                form.stack method="post" action={ (self.base) "/time" } {
                    (csrf(&self.staff.csrf))
                    (input("Hos hvem", "with_whom", "text", self.form.get("with_whom"), self.errors, Some("Fastlege, poliklinikk eller kommunal konsulent.")))
                    (input("Dato", "date", "date", self.form.get("date"), self.errors, None))
                    (input("Klokkeslett", "time", "time", self.form.get("time"), self.errors, None))
                    (input("Hvor", "place", "text", self.form.get("place"), self.errors, None))
                    (select("Følges opp av ved uteblivelse", "owner", &self.owners(), self.form.get("owner"), self.errors))
                    button type="submit" { "Registrer time" }
                }
            }
        }
        }
    }

    /// Discharge, extension and the substitution dose, while the stay runs.
    fn discharge(&self) -> Markup {
        let record = &self.s.record;
        let today = self.view.today.to_string();
        html! {
        @if record.discharge().is_none() {
            section.card {
                h2 { "Utskrivning" }
                form.stack method="post" action={ (self.base) "/utskrivning" } data-testid="discharge-form" {
                    (csrf(&self.staff.csrf))
                    (select("Type utskrivning", "planned", &[("ja".into(), "Planlagt".into()), ("nei".into(), "Brudd i opphold (uplanlagt)".into())], &self.value("planned", "ja"), self.errors))
                    (input("Utskrevet", "on", "date", &self.value("on", &today), self.errors, None))
                    (input("Utlevering hjemme starter igjen", "resume_on", "date", self.form.get("resume_on"), self.errors, Some("Utskrivningsdagen eller dagen etter. Tom: utskrivningsdagen.")))
                    (textarea("Hva skjedde (ved brudd)", "reason", self.form.get("reason"), self.errors))
                    button type="submit" { "Registrer utskrivning" }
                }
            }
            section.card {
                h2 { "Forleng oppholdet" }
                form.stack method="post" action={ (self.base) "/forleng" } {
                    (csrf(&self.staff.csrf))
                    (input("Ny planlagt utskrivning", "planned_end_on", "date", self.form.get("planned_end_on"), self.errors, None))
                    (input("Begrunnelse", "extension_reason", "text", self.form.get("extension_reason"), self.errors, None))
                    button type="submit" { "Forleng" }
                }
            }
            section.card {
                h2 { "Substitusjonsdose under oppholdet" }
                form.stack method="post" action={ (self.base) "/substitusjon" } {
                    (csrf(&self.staff.csrf))
                    (input("Fra dato", "from", "date", &self.value("from", &today), self.errors, None))
                    (select("Gir institusjonen vanlig dose?", "continued", &yes_no_options(), self.form.get("continued"), self.errors))
                    button type="submit" { "Registrer" }
                }
            }
        }
        }
    }

    /// The prescribing hand-overs and a new one.
    fn handovers(&self) -> Markup {
        let s = self.s;
        html! {
        section.card {
            h2 { "Overføring av forskrivning" }
            @for h in &s.handovers {
                p {
                    "Til " (self.view.organisations.get(&h.to_organisation).map(|o| o.name.clone()).unwrap_or_default()) ": " (h.order_summary)
                    @if !h.taper_plan.is_empty() { ". Nedtrapping: " (h.taper_plan) }
                    ". "
                    @match h.acknowledged {
                        Some((by, _)) => { span.badge.ok { "Overtatt av " (self.name(by)) } }
                        None => {
                            span.badge.warn { "Ikke bekreftet" }
                            @if access::may_take_over_prescribing(&self.staff.user, h.to_organisation) {
                                form.inline method="post" action={ "/overforinger/" (h.id) "/bekreft" } {
                                    (csrf(&self.staff.csrf))
                                    button type="submit" { "Bekreft at vi overtar" }
                                }
                            }
                        }
                    }
                }
            }
            @if access::may_prescribe(&self.staff.user) {
                form.stack method="post" action={ (self.base) "/overforing" } {
                    (csrf(&self.staff.csrf))
                    (select("Overføres til", "to_organisation", &self.targets(), self.form.get("to_organisation"), self.errors))
                    (input("Ordinasjon nå", "order_summary", "text", self.form.get("order_summary"), self.errors, Some("Legemiddel og dose.")))
                    (input("Nedtrappingsplan", "taper_plan", "text", self.form.get("taper_plan"), self.errors, None))
                    button type="submit" { "Overfør" }
                }
            }
        }
        }
    }
}

async fn stay_page(
    state: &AppState,
    staff: &UiStaff,
    stay_id: StayId,
    form: &FormData,
    errors: &FieldErrors,
) -> PageResult {
    let service = Service::new(state, &staff.user);
    let patient = service.stay_patient(stay_id).await?;
    let view: StaysView = service.stays(patient).await?;
    let s = view
        .stay(stay_id)
        .ok_or_else(|| AppError::NotFound("oppholdet".into()))?;
    let record = &s.record;
    let sections = StayPage {
        view: &view,
        s,
        staff,
        form,
        errors,
        patient,
        base: format!("/opphold/{stay_id}"),
    };
    let body = html! {
        h1 { (record.stay.kind.label_nb()) ": " (view.patient.full_name()) }
        p { a href={ "/pasienter/" (patient) "/opphold" } { "Alle opphold" } " · " a href={ "/pasienter/" (patient) } { "Oversikten" } }
        p {
            (record.stay.institution) " fra " (date_nb(record.stay.starts_on))
            @if let Some(end) = record.planned_end() { ", planlagt utskrivning " (date_nb(end)) }
            "."
            @if record.stay.substitution_continued { " Institusjonen gir vanlig substitusjonsdose." }
        }
        @if let Some(warning) = &s.warning { p.warning role="alert" data-testid="tolerance-warning" { (warning) } }
        @if let Some(blocked) = &view.blocked { p.error role="alert" data-testid="blocked" { (blocked) } }
        (error_summary(errors))
        @if let Some(d) = record.discharge() {
            p.notice role="status" data-testid="discharged" {
                @if d.planned { "Utskrevet " } @else { "Brudd i opphold " }
                (date_nb(d.on)) ". Utlevering hjemme fra " (date_nb(d.resume_on)) "."
            }
        }
        (sections.bundle())
        (sections.appointments())
        (sections.discharge())
        (sections.handovers())
    };
    Ok((form_status(errors), page("Opphold", staff, body)).into_response())
}

pub async fn show(State(state): State<AppState>, staff: UiStaff, Path(id): Path<String>) -> PageResult {
    stay_page(
        &state,
        &staff,
        parse_id(&id)?,
        &FormData::default(),
        &FieldErrors::default(),
    )
    .await
}

/// Runs a write from the stay page: back to the page, or the page again with errors.
async fn on_stay<T>(
    state: &AppState,
    staff: &UiStaff,
    stay: StayId,
    form: &FormData,
    result: Result<T, AppError>,
) -> PageResult {
    match result {
        Ok(_) => Ok(Redirect::to(&format!("/opphold/{stay}")).into_response()),
        Err(AppError::Invalid(errors)) => stay_page(state, staff, stay, form, &errors).await,
        Err(AppError::Conflict(message)) => {
            stay_page(state, staff, stay, form, &FieldErrors::single("on", message)).await
        }
        Err(other) => Err(other.into()),
    }
}

pub async fn bundle(
    State(state): State<AppState>,
    Path(id): Path<String>,
    StaffForm { staff, form }: StaffForm,
) -> PageResult {
    let stay: StayId = parse_id(&id)?;
    let input = BundleEntryInput {
        item: form.get("item").into(),
        waived: form.get("waived") == "ja",
        on: String::new(),
        note: form.get("note").into(),
    };
    let result = Service::new(&state, &staff.user)
        .mark_bundle_item(stay, &input)
        .await;
    on_stay(&state, &staff, stay, &form, result).await
}

pub async fn discharge(
    State(state): State<AppState>,
    Path(id): Path<String>,
    StaffForm { staff, form }: StaffForm,
) -> PageResult {
    let stay: StayId = parse_id(&id)?;
    let input = DischargeInput {
        on: form.get("on").into(),
        planned: form.get("planned") != "nei",
        resume_on: form.get("resume_on").into(),
        reason: form.get("reason").into(),
    };
    let result = Service::new(&state, &staff.user).discharge(stay, &input).await;
    on_stay(&state, &staff, stay, &form, result).await
}

pub async fn extend(
    State(state): State<AppState>,
    Path(id): Path<String>,
    StaffForm { staff, form }: StaffForm,
) -> PageResult {
    let stay: StayId = parse_id(&id)?;
    let (end, reason) = (
        form.get("planned_end_on").to_string(),
        form.get("extension_reason").to_string(),
    );
    let result = Service::new(&state, &staff.user)
        .extend_stay(stay, &end, &reason)
        .await;
    on_stay(&state, &staff, stay, &form, result).await
}

pub async fn substitution(
    State(state): State<AppState>,
    Path(id): Path<String>,
    StaffForm { staff, form }: StaffForm,
) -> PageResult {
    let stay: StayId = parse_id(&id)?;
    let from = form.get("from").to_string();
    let continued = form.get("continued") == "ja";
    let result = Service::new(&state, &staff.user)
        .set_substitution(stay, &from, continued, "")
        .await;
    on_stay(&state, &staff, stay, &form, result).await
}

pub async fn appointment(
    State(state): State<AppState>,
    Path(id): Path<String>,
    StaffForm { staff, form }: StaffForm,
) -> PageResult {
    let stay: StayId = parse_id(&id)?;
    let input = AppointmentInput {
        with_whom: form.get("with_whom").into(),
        date: form.get("date").into(),
        time: form.get("time").into(),
        place: form.get("place").into(),
        owner: form.get("owner").into(),
    };
    let result = Service::new(&state, &staff.user)
        .add_appointment(stay, &input)
        .await;
    on_stay(&state, &staff, stay, &form, result).await
}

pub async fn hand_over(
    State(state): State<AppState>,
    Path(id): Path<String>,
    StaffForm { staff, form }: StaffForm,
) -> PageResult {
    let stay: StayId = parse_id(&id)?;
    let input = HandoverInput {
        to_organisation: form.get("to_organisation").into(),
        order_summary: form.get("order_summary").into(),
        taper_plan: form.get("taper_plan").into(),
    };
    let result = Service::new(&state, &staff.user).hand_over(stay, &input).await;
    on_stay(&state, &staff, stay, &form, result).await
}

pub async fn outcome(
    State(state): State<AppState>,
    Path(id): Path<String>,
    StaffForm { staff, form }: StaffForm,
) -> PageResult {
    let appointment = parse_id(&id)?;
    let attended = form.get("attended") == "ja";
    Service::new(&state, &staff.user)
        .appointment_outcome(appointment, attended)
        .await?;
    Ok(Redirect::to("/oppgaver").into_response())
}

pub async fn acknowledge(
    State(state): State<AppState>,
    Path(id): Path<String>,
    StaffForm { staff, form: _ }: StaffForm,
) -> PageResult {
    let handover = parse_id(&id)?;
    Service::new(&state, &staff.user)
        .acknowledge_handover(handover)
        .await?;
    Ok(Redirect::to("/innboks").into_response())
}

/// The institution's list: patients admitted here now.
pub async fn admitted(State(state): State<AppState>, staff: UiStaff) -> PageResult {
    let rows = Service::new(&state, &staff.user).admitted_here().await?;
    let body = html! {
        h1 { "Innlagte" }
        @if rows.is_empty() {
            p { "Ingen pasienter er registrert innlagt her." }
        } @else {
            table data-testid="admitted" {
                thead { tr { th { "Pasient" } th { "Fra" } th { "Planlagt utskrivning" } } }
                tbody {
                    @for (patient, stay) in &rows {
                        tr {
                            td { a href={ "/opphold/" (stay.stay.id) } { (patient.full_name()) } }
                            td { (date_nb(stay.stay.starts_on)) }
                            td { (stay.planned_end().map(date_nb).unwrap_or_else(|| "ikke satt".into())) }
                        }
                    }
                }
            }
        }
    };
    Ok(page("Innlagte", &staff, body).into_response())
}
