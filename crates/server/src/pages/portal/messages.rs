//! The patient's conversation with the team (messages, threads, replies, and the
//! units' read receipts) and requests for a change, which become tasks.

use axum::extract::{Path, State};
use axum::response::{IntoResponse, Redirect};
use maud::{Markup, html};
use samhand_domain::care::PatientRequestKind;
use samhand_domain::ids::MessageId;
use samhand_domain::validation::FieldErrors;

use super::{patient_service, portal_page};
use crate::AppState;
use crate::error::AppError;
use crate::pages::PageResult;
use crate::pages::forms::{FormData, error_summary, form_status, input, parse_id, select, textarea};
use crate::pages::labels::instant_nb;
use crate::portal::{PatientForm, PortalPatient};
use crate::service::ConversationItem;

async fn requests_page(
    state: &AppState,
    patient: &PortalPatient,
    form: &FormData,
    errors: &FieldErrors,
) -> PageResult {
    let service = patient_service(state, patient);
    let requests = service.patient_requests().await?;
    let kinds: Vec<(String, String)> = PatientRequestKind::ALL
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
    let service = patient_service(&state, &patient);
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
    let service = patient_service(&state, &patient);
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
    let service = patient_service(state, patient);
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

pub async fn list(State(state): State<AppState>, patient: PortalPatient) -> PageResult {
    messages_page(&state, &patient, &FormData::default(), &FieldErrors::default()).await
}

async fn thread_page(
    state: &AppState,
    patient: &PortalPatient,
    id: MessageId,
    form: &FormData,
    errors: &FieldErrors,
) -> PageResult {
    let service = patient_service(state, patient);
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

pub async fn open(
    State(state): State<AppState>,
    patient: PortalPatient,
    Path(id): Path<String>,
) -> PageResult {
    let id: MessageId = parse_id(&id)?;
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
    let id: MessageId = parse_id(&id)?;
    let service = patient_service(&state, &patient);
    match service.patient_reply(id, form.get("body")).await {
        Ok(_) => Ok(Redirect::to(&format!("/portal/meldinger/{id}")).into_response()),
        Err(AppError::Invalid(errors)) => thread_page(&state, &patient, id, &form, &errors).await,
        Err(other) => Err(other.into()),
    }
}
