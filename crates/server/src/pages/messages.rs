//! Message pages: the unit's inbox with read receipts and escalations, the
//! messages about one patient with the form to write one, and the conversation with
//! the patient (write to the patient, answer, see when the patient has read it).

use std::collections::HashMap;

use axum::extract::{Path, State};
use axum::response::{IntoResponse, Redirect, Response};
use maud::{Markup, html};
use samhand_domain::ids::{MessageId, OrganisationId, PatientId};
use samhand_domain::message::{MessageInput, MessageKind, Party};
use samhand_domain::organisation::Organisation;
use samhand_domain::validation::FieldErrors;

use crate::AppState;
use crate::auth::UiStaff;
use crate::error::{AppError, PageError};
use crate::pages::forms::{
    FormData, StaffForm, csrf, error_summary, form_status, group_error, input, select, textarea,
};
use crate::pages::labels::instant_nb;
use crate::pages::layout::page;
use crate::service::{MessageView, Service};

type PageResult = Result<Response, PageError>;

use crate::pages::forms::parse_id;

fn message_card(
    view: &MessageView,
    organisations: &HashMap<OrganisationId, Organisation>,
    staff: &UiStaff,
    with_patient: bool,
) -> Markup {
    let m = &view.message;
    let org = |id: &OrganisationId| {
        organisations
            .get(id)
            .map(|o| o.name.clone())
            .unwrap_or_else(|| "ukjent enhet".into())
    };
    let is_recipient = m.recipients.contains(&staff.user.organisation_id);
    html! {
        article.card.message data-testid="message" data-read=(view.read_here) {
            p.hint {
                (instant_nb(m.sent_at)) " · " (m.kind.label_nb())
                @if m.important { " · " span.badge.warn { "Viktig" } }
                @if view.escalated { " · " span.badge.bad { "Eskalert: ulest" } }
            }
            @if with_patient {
                p {
                    @if let Some(p) = &view.patient {
                        a href={ "/pasienter/" (p.id) "/meldinger" } { (p.full_name()) }
                    } @else {
                        "En pasient du ikke lenger har tilgang til"
                    }
                }
            }
            @if view.readable {
                h3 { (m.subject) }
                p { (m.body) }
            } @else {
                p.muted { "Innholdet er ikke delt med din enhet." }
            }
            p.hint {
                "Fra " (view.sender_name)
                @if let Some(o) = &m.sender_organisation { ", " (org(o)) }
            }
            @if m.party == Party::ToPatient {
                p data-testid="patient-receipt" {
                    "Til pasienten · "
                    @if let Some(at) = view.read_by_patient_at {
                        span.badge.ok { "Lest av pasienten " (instant_nb(at)) }
                    } @else {
                        span.badge.warn { "Ikke lest av pasienten ennå" }
                    }
                }
            }
            @if m.party == Party::FromPatient && view.readable {
                p {
                    a href={ "/pasienter/" (m.patient_id) "/meldinger/pasienten?svar=" (m.id) } { "Svar pasienten" }
                }
            }
            ul.receipts {
                @for r in &m.recipients {
                    li {
                        (org(r)) ": "
                        @if let Some(receipt) = view.receipts.iter().find(|x| x.organisation_id == *r) {
                            span.badge.ok { "Lest " (instant_nb(receipt.read_at)) }
                        } @else {
                            span.badge.warn { "Ulest" }
                        }
                    }
                }
            }
            @if is_recipient && !view.read_here {
                form method="post" action={ "/meldinger/" (m.id) "/lest" } {
                    (csrf(&staff.csrf))
                    button type="submit" { "Merk som lest" }
                }
            }
        }
    }
}

pub async fn inbox(State(state): State<AppState>, staff: UiStaff) -> PageResult {
    let service = Service::new(&state, &staff.user);
    let views = service.inbox().await?;
    let organisations = service.organisations().await?;
    let unread = views.iter().filter(|v| !v.read_here).count();
    let held = service
        .unplaced_edi()
        .await?
        .iter()
        .filter(|r| r.resolution.is_none())
        .count();
    let unanswered = service.unanswered_edi().await?.len();
    let body = html! {
        h1 { "Innboks" }
        p { strong { (unread) } " uleste meldinger til din enhet." }
        @if held + unanswered > 0 {
            div.error role="status" {
                a href="/edi" { "EDI-meldinger: " (held) " mottatte til avklaring, " (unanswered) " sendte uten kvittering" }
            }
        }
        @if views.iter().any(|v| v.escalated) {
            div.error role="alert" { "Viktige meldinger er ulest etter fristen og er eskalert til leder." }
        }
        @for view in &views { (message_card(view, &organisations, &staff, true)) }
        @if views.is_empty() { p { "Ingen meldinger." } }
    };
    Ok(page("Innboks", &staff, body).into_response())
}

pub async fn mark_read(
    State(state): State<AppState>,
    Path(id): Path<String>,
    StaffForm { staff, form: _ }: StaffForm,
) -> PageResult {
    let id: MessageId = parse_id(&id)?;
    Service::new(&state, &staff.user).mark_read(id).await?;
    Ok(Redirect::to("/innboks").into_response())
}

async fn patient_page(
    state: &AppState,
    staff: &UiStaff,
    id: PatientId,
    form: &FormData,
    errors: &FieldErrors,
) -> PageResult {
    let service = Service::new(state, &staff.user);
    let found = service.patient_messages(id).await?;
    let organisations = service.organisations().await?;
    let kinds: Vec<(String, String)> = MessageKind::ALL
        .iter()
        .map(|k| (k.code().to_string(), k.label_nb().to_string()))
        .collect();
    let chosen = form.all("recipients");
    let body = html! {
        h1 { "Meldinger om " (found.patient.full_name()) }
        p {
            a href={ "/pasienter/" (id) } { "Tilbake til oversikten" }
            " · "
            a href={ "/pasienter/" (id) "/meldinger/pasienten" } { "Skriv til pasienten" }
        }
        h2 { "Ny melding" }
        (error_summary(errors))
        form.stack method="post" action={ "/pasienter/" (id) "/meldinger" } {
            (csrf(&staff.csrf))
            (select("Gjelder", "kind", &kinds, form.get("kind"), errors))
            fieldset {
                legend { "Mottakere" }
                @for o in &found.recipients {
                    label.checkbox {
                        input type="checkbox" name="recipients" value=(o.id) checked[chosen.contains(&o.id.to_string())];
                        (o.name)
                    }
                }
                (group_error(errors, "recipients"))
            }
            (input("Emne", "subject", "text", form.get("subject"), errors, None))
            (textarea("Melding", "body", form.get("body"), errors))
            label.checkbox { input type="checkbox" name="important" value="1" checked[form.has("important")]; "Viktig (eskaleres til leder hvis den ikke leses)" }
            button type="submit" { "Send" }
        }
        h2 { "Meldinger" }
        @for view in &found.messages { (message_card(view, &organisations, staff, false)) }
        @if found.messages.is_empty() { p { "Ingen meldinger." } }
    };
    Ok((form_status(errors), page("Meldinger", staff, body)).into_response())
}

pub async fn patient_messages(
    State(state): State<AppState>,
    staff: UiStaff,
    Path(id): Path<String>,
) -> PageResult {
    let id: PatientId = parse_id(&id)?;
    patient_page(&state, &staff, id, &FormData::default(), &FieldErrors::default()).await
}

pub async fn send(
    State(state): State<AppState>,
    Path(id): Path<String>,
    StaffForm { staff, form }: StaffForm,
) -> PageResult {
    let id: PatientId = parse_id(&id)?;
    let kind = form.get("kind");
    let important = if form.has("important") {
        Some(true)
    } else {
        // An unticked box keeps the kind's default (withheld dose, overdose, … are
        // important).
        MessageKind::from_code(kind).map(|k| k.important_by_default())
    };
    let input = MessageInput {
        kind: kind.into(),
        subject: form.get("subject").into(),
        body: form.get("body").into(),
        recipients: form.all("recipients"),
        important,
    };
    match Service::new(&state, &staff.user).send_message(id, &input).await {
        Ok(_) => Ok(Redirect::to(&format!("/pasienter/{id}/meldinger")).into_response()),
        Err(AppError::Invalid(errors)) => patient_page(&state, &staff, id, &form, &errors).await,
        Err(other) => Err(other.into()),
    }
}

/// The conversation with the patient: the form to write to them (or answer the
/// message `svar`), and the messages to and from the patient with the receipts.
async fn conversation_page(
    state: &AppState,
    staff: &UiStaff,
    id: PatientId,
    form: &FormData,
    errors: &FieldErrors,
) -> PageResult {
    let service = Service::new(state, &staff.user);
    let found = service.patient_messages(id).await?;
    let organisations = service.organisations().await?;
    let conversation: Vec<&MessageView> = found
        .messages
        .iter()
        .filter(|v| v.message.party.is_conversation())
        .collect();
    let answering = conversation
        .iter()
        .find(|v| v.message.id.to_string() == form.get("in_reply_to"))
        .filter(|v| v.readable);
    let body = html! {
        h1 { "Samtale med " (found.patient.full_name()) }
        p {
            a href={ "/pasienter/" (id) "/meldinger" } { "Alle meldinger om pasienten" }
        }
        p { "Pasienten leser meldingen i pasientportalen og kan svare der. Du ser her når pasienten har lest den." }
        h2 { @if answering.is_some() { "Svar pasienten" } @else { "Skriv til pasienten" } }
        (error_summary(errors))
        form.stack method="post" action={ "/pasienter/" (id) "/meldinger/pasienten" } {
            (csrf(&staff.csrf))
            @if let Some(original) = answering {
                input type="hidden" name="in_reply_to" value=(original.message.id);
                p.hint { "Svar på: " (original.message.subject) }
            }
            (input("Emne", "subject", "text",
                if form.get("subject").is_empty() {
                    answering.map(|v| samhand_domain::message::reply_subject(&v.message.subject)).unwrap_or_default()
                } else { form.get("subject").to_string() }.as_str(),
                errors, None))
            (textarea("Melding", "body", form.get("body"), errors))
            button type="submit" { "Send til pasienten" }
        }
        h2 { "Meldinger mellom pasienten og behandlerne" }
        @for view in &conversation { (message_card(view, &organisations, staff, false)) }
        @if conversation.is_empty() { p { "Ingen meldinger ennå." } }
    };
    Ok((form_status(errors), page("Samtale med pasienten", staff, body)).into_response())
}

#[derive(Debug, Default, serde::Deserialize)]
pub struct AnswerQuery {
    #[serde(default)]
    pub svar: String,
}

pub async fn conversation(
    State(state): State<AppState>,
    staff: UiStaff,
    Path(id): Path<String>,
    axum::extract::Query(query): axum::extract::Query<AnswerQuery>,
) -> PageResult {
    let id: PatientId = parse_id(&id)?;
    let form = FormData(vec![("in_reply_to".to_string(), query.svar)]);
    conversation_page(&state, &staff, id, &form, &FieldErrors::default()).await
}

pub async fn write_to_patient(
    State(state): State<AppState>,
    Path(id): Path<String>,
    StaffForm { staff, form }: StaffForm,
) -> PageResult {
    let id: PatientId = parse_id(&id)?;
    let in_reply_to = Some(form.get("in_reply_to")).filter(|s| !s.is_empty());
    match Service::new(&state, &staff.user)
        .write_to_patient(id, form.get("subject"), form.get("body"), in_reply_to)
        .await
    {
        Ok(_) => Ok(Redirect::to(&format!("/pasienter/{id}/meldinger/pasienten")).into_response()),
        Err(AppError::Invalid(errors)) => conversation_page(&state, &staff, id, &form, &errors).await,
        Err(other) => Err(other.into()),
    }
}
