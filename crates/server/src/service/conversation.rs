//! The conversation between the team and the patient: a staff member writes to the
//! patient from the patient's pages; the patient reads the team's messages in the
//! portal (opening one writes the patient's read receipt, which the team sees),
//! answers them, and writes to the team. Every read and write is decided by the
//! policy and audited through `PatientRepo`; a patient reaches their own
//! conversation only.

use std::collections::HashMap;

use jiff::Timestamp;
use samhand_domain::access::{self, Action, DataCategory, Decision};
use samhand_domain::ids::{MessageId, OrganisationId, PatientId};
use samhand_domain::message::{self, Message, MessageKind, Party, PatientReceipt, Receipt};
use samhand_domain::validation::FieldErrors;
use samhand_store::{StoreError, messages as message_store};

use super::Service;
use crate::error::{AppError, AppResult};

/// One message of the patient's conversation, as the patient sees it.
#[derive(Debug, Clone)]
pub struct ConversationItem {
    pub message: Message,
    /// Who wrote: a staff member's name, or `None` for the patient.
    pub sender_name: Option<String>,
    /// The writer's unit.
    pub sender_unit: Option<String>,
    /// For a message from the team: when the patient opened it.
    pub read_by_patient_at: Option<Timestamp>,
    /// For a message from the patient: each unit it went to, and when it read it.
    pub units: Vec<(String, Option<Timestamp>)>,
}

impl ConversationItem {
    pub fn from_team(&self) -> bool {
        self.message.party == Party::ToPatient
    }

    pub fn unread(&self) -> bool {
        self.from_team() && self.read_by_patient_at.is_none()
    }
}

/// What the patient must see to be a patient: the portal's refusal otherwise.
fn for_the_patient_only() -> AppError {
    AppError::Forbidden("Siden er for pasienten selv.".into())
}

impl Service<'_> {
    /// A staff member writes to the patient (or answers the patient's message
    /// `in_reply_to`). Whoever may write notes for the patient may: the responsible
    /// LAR unit, and a care team member whose service the patient shares notes with.
    /// A refusal is audited; bad input changes nothing.
    pub async fn write_to_patient(
        &self,
        patient: PatientId,
        subject: &str,
        body: &str,
        in_reply_to: Option<&str>,
    ) -> AppResult<Message> {
        let staff = self.staff()?.clone();
        self.patient(patient).await?;
        let grant = self
            .repo
            .authorize_write(patient, DataCategory::Notes, "message to the patient")
            .await?;
        let mut errors = FieldErrors::default();
        let text = message::parse_conversation_text(subject, body);
        if let Err(e) = &text {
            errors = e.clone();
        }
        let answered = match in_reply_to.map(str::trim).filter(|s| !s.is_empty()) {
            None => None,
            Some(raw) => {
                let found = match raw.parse::<MessageId>() {
                    Ok(id) => {
                        let mut conn = self.state.store.read().await?;
                        message_store::get(&mut conn, id).await?
                    }
                    Err(_) => None,
                };
                match found.filter(|m| m.is_in_conversation_of(patient)) {
                    Some(m) => Some(m.in_reply_to.unwrap_or(m.id)),
                    None => {
                        errors.push(
                            "in_reply_to",
                            "Meldingen du svarer på, finnes ikke i samtalen med denne pasienten.",
                        );
                        None
                    }
                }
            }
        };
        let (subject, body) = match text {
            Ok(text) if errors.is_empty() => text,
            _ => return Err(AppError::Invalid(errors)),
        };
        let message = Message {
            id: MessageId::new(),
            patient_id: patient,
            kind: MessageKind::FreeText,
            subject,
            body,
            important: false,
            sent_by: Some(staff.id),
            sender_organisation: Some(staff.organisation_id),
            sent_at: self.now(),
            // No unit receives it: it is for the patient, in the portal.
            recipients: Vec::new(),
            event_key: None,
            party: Party::ToPatient,
            in_reply_to: answered,
        };
        let mut tx = self.repo.begin_write(&grant).await?;
        message_store::insert(&mut tx, &message).await?;
        tx.commit().await?;
        Ok(message)
    }

    /// The units the patient's messages go to: the responsible LAR unit, and the
    /// coordinator's unit where the patient shares notes with it.
    async fn patient_recipients(
        &self,
        patient: PatientId,
    ) -> AppResult<(access::PatientRelations, Vec<OrganisationId>)> {
        let data = self.patient_data(patient).await?;
        let now = self.now();
        let relations = data.relations(patient, now);
        let coordinators = Self::coordinator_units(&data, now);
        let units = message::patient_message_recipients(
            &relations.responsible_units,
            &coordinators,
            &relations.consents,
        );
        Ok((relations, units))
    }

    /// A message from the patient to the team: the LAR unit, and the coordinator's
    /// unit where notes are shared with it. It lands in their inboxes.
    pub async fn patient_message(&self, subject: &str, body: &str) -> AppResult<Message> {
        let patient = self.actor_patient().ok_or_else(for_the_patient_only)?;
        let (subject, body) = message::parse_conversation_text(subject, body).map_err(AppError::Invalid)?;
        let (relations, recipients) = self.patient_recipients(patient).await?;
        self.send_from_patient(
            patient,
            &relations,
            subject,
            body,
            recipients,
            None,
            "message from the patient",
        )
        .await
    }

    /// The patient answers a message of their conversation; the answer goes to the
    /// unit that wrote, and is threaded under the first message.
    pub async fn patient_reply(&self, id: MessageId, body: &str) -> AppResult<Message> {
        let patient = self.actor_patient().ok_or_else(for_the_patient_only)?;
        let original = self
            .own_conversation_message(patient, id, "answer to a message")
            .await?;
        let subject = message::reply_subject(&original.subject);
        let (subject, body) = message::parse_conversation_text(&subject, body).map_err(AppError::Invalid)?;
        let (relations, usual) = self.patient_recipients(patient).await?;
        let recipients = match original.party {
            Party::ToPatient => message::reply_recipients(&original, &usual),
            _ => usual,
        };
        let thread = original.in_reply_to.unwrap_or(original.id);
        self.send_from_patient(
            patient,
            &relations,
            subject,
            body,
            recipients,
            Some(thread),
            "answer from the patient",
        )
        .await
    }

    #[allow(clippy::too_many_arguments)]
    async fn send_from_patient(
        &self,
        patient: PatientId,
        relations: &access::PatientRelations,
        subject: String,
        body: String,
        recipients: Vec<OrganisationId>,
        in_reply_to: Option<MessageId>,
        detail: &str,
    ) -> AppResult<Message> {
        if recipients.is_empty() {
            return Err(AppError::Conflict(
                "Du har ingen LAR-enhet å skrive til nå. Ta kontakt på telefon.".into(),
            ));
        }
        // The patient writes their own part of the plan and the conversation under
        // the same right.
        let grant = self
            .repo
            .authorize_write_with(patient, relations, DataCategory::PlanAndGoals, detail)
            .await?;
        let message = Message {
            id: MessageId::new(),
            patient_id: patient,
            kind: MessageKind::FreeText,
            subject,
            body,
            important: false,
            sent_by: None,
            sender_organisation: None,
            sent_at: self.now(),
            recipients,
            event_key: None,
            party: Party::FromPatient,
            in_reply_to,
        };
        let mut tx = self.repo.begin_write(&grant).await?;
        message_store::insert(&mut tx, &message).await?;
        tx.commit().await?;
        Ok(message)
    }

    /// A message of the patient's own conversation, the access decided by the policy
    /// and audited. Another patient's message, or one between services, is "not
    /// found": the answer does not tell that it exists.
    async fn own_conversation_message(
        &self,
        patient: PatientId,
        id: MessageId,
        detail: &str,
    ) -> AppResult<Message> {
        let not_found = || AppError::NotFound("meldingen".into());
        let found = {
            let mut conn = self.state.store.read().await?;
            message_store::get(&mut conn, id).await?
        }
        .ok_or_else(not_found)?;
        let relations = self.repo.relations(found.patient_id).await?;
        let decision = self.repo.decision(&relations, DataCategory::Notes, Action::Read);
        let own = found.is_in_conversation_of(patient);
        let decision = if own { decision } else { Decision::Deny };
        if !decision.is_allowed() {
            self.repo
                .record_denial(
                    Some(found.patient_id),
                    DataCategory::Notes,
                    Action::Read,
                    &format!("{detail}: message {id} refused"),
                )
                .await?;
            return Err(not_found());
        }
        Ok(found)
    }

    /// The patient's conversation with the team, newest first, without auditing:
    /// the callers decide and audit.
    async fn conversation_items(&self, patient: PatientId) -> AppResult<Vec<ConversationItem>> {
        let (messages, unit_receipts, patient_receipts): (Vec<Message>, Vec<Receipt>, Vec<PatientReceipt>) = {
            let mut conn = self.state.store.read().await?;
            let messages: Vec<Message> = message_store::of_patients(&mut conn, &[patient])
                .await?
                .into_iter()
                .filter(|m| m.is_in_conversation_of(patient))
                .collect();
            let ids: Vec<MessageId> = messages.iter().map(|m| m.id).collect();
            let units = message_store::receipts_of(&mut conn, &ids).await?;
            let own = message_store::patient_receipts_of(&mut conn, &ids).await?;
            (messages, units, own)
        };
        let names = self.names(messages.iter().filter_map(|m| m.sent_by)).await?;
        let organisations = self.organisations().await?;
        let org_name = |id: &OrganisationId| {
            organisations
                .get(id)
                .map(|o| o.name.clone())
                .unwrap_or_else(|| "ukjent enhet".into())
        };
        let read_at: HashMap<MessageId, Timestamp> = patient_receipts
            .iter()
            .map(|r| (r.message_id, r.read_at))
            .collect();
        Ok(messages
            .into_iter()
            .map(|m| ConversationItem {
                sender_name: m.sent_by.and_then(|u| names.get(&u).cloned()),
                sender_unit: m.sender_organisation.as_ref().map(org_name),
                read_by_patient_at: read_at.get(&m.id).copied(),
                units: m
                    .recipients
                    .iter()
                    .map(|r| {
                        let read = unit_receipts
                            .iter()
                            .find(|x| x.message_id == m.id && x.organisation_id == *r)
                            .map(|x| x.read_at);
                        (org_name(r), read)
                    })
                    .collect(),
                message: m,
            })
            .collect())
    }

    /// The patient's messages: from the team and their own, newest first.
    pub async fn conversation(&self) -> AppResult<Vec<ConversationItem>> {
        let patient = self.actor_patient().ok_or_else(for_the_patient_only)?;
        self.repo
            .authorize_read(patient, DataCategory::Notes, "the patient's messages")
            .await?;
        self.conversation_items(patient).await
    }

    /// How many messages from the team the patient has not opened.
    pub async fn unread_from_team(&self) -> AppResult<usize> {
        Ok(self.conversation().await?.iter().filter(|i| i.unread()).count())
    }

    /// The patient opens a message: its thread, oldest first, and the patient's read
    /// receipt written the first time a message from the team is opened.
    pub async fn open_conversation_message(&self, id: MessageId) -> AppResult<Vec<ConversationItem>> {
        let patient = self.actor_patient().ok_or_else(for_the_patient_only)?;
        let opened = self
            .own_conversation_message(patient, id, "message opened")
            .await?;
        let relations = self.repo.relations(patient).await?;
        let now = self.now();
        let mut tx = self.state.store.write().await?;
        self.repo
            .record_read(
                &mut tx,
                patient,
                &relations,
                DataCategory::Notes,
                &format!("message {id} opened by the patient"),
            )
            .await?;
        let first_time = opened.party == Party::ToPatient
            && message_store::patient_receipts_of(&mut tx, &[id])
                .await?
                .is_empty();
        let written = if first_time {
            message_store::insert_patient_receipt(&mut tx, id, patient, self.actor().id(), now).await
        } else {
            Ok(())
        };
        match written {
            Ok(()) => tx.commit().await?,
            // Opened at the same moment in another tab: the first receipt stands.
            // PostgreSQL has aborted the transaction; the reading is recorded alone.
            Err(StoreError::Conflict(_)) => {
                drop(tx);
                let mut tx = self.state.store.write().await?;
                self.repo
                    .record_read(
                        &mut tx,
                        patient,
                        &relations,
                        DataCategory::Notes,
                        &format!("message {id} opened by the patient again"),
                    )
                    .await?;
                tx.commit().await?;
            }
            Err(other) => return Err(other.into()),
        }
        let root = opened.in_reply_to.unwrap_or(opened.id);
        let mut thread: Vec<ConversationItem> = self
            .conversation_items(patient)
            .await?
            .into_iter()
            .filter(|i| i.message.id == root || i.message.in_reply_to == Some(root))
            .collect();
        thread.reverse();
        Ok(thread)
    }
}
