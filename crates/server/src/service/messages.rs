//! Messages between services: sending, the inbox per unit with read receipts, the
//! escalation of unread important messages to the unit's leader, and the messages
//! Samhand sends itself on events (a signed dose change, a changed arrangement, a
//! withheld dose, a block from missed doses).

use std::collections::{HashMap, HashSet};

use samhand_domain::access::{DataCategory, Decision, PatientRelations};
use samhand_domain::ids::{MessageId, OrganisationId, PatientId};
use samhand_domain::message::{self, Message, MessageInput, MessageKind, Party, Receipt};
use samhand_domain::organisation::Organisation;
use samhand_domain::patient::Patient;
use samhand_store::{StoreError, messages as message_store, patients};

use super::Service;
use crate::error::{AppError, AppResult};

/// The units related to a patient: who may be sent a message about them.
pub fn related_units(relations: &PatientRelations) -> Vec<OrganisationId> {
    let mut units: Vec<OrganisationId> = relations
        .responsible_units
        .iter()
        .chain(&relations.dispensing_places)
        .copied()
        .chain(relations.care_team.iter().map(|(_, org)| *org))
        .collect();
    units.sort();
    units.dedup();
    units
}

/// One message as a unit sees it.
#[derive(Debug, Clone)]
pub struct MessageView {
    pub message: Message,
    /// The patient, when the reader may see who it is about.
    pub patient: Option<Patient>,
    /// Whether the reader may see the content (the policy on the kind's category).
    pub readable: bool,
    pub receipts: Vec<Receipt>,
    /// For the reading unit: read, and escalated (unread, important, past the time).
    pub read_here: bool,
    pub escalated: bool,
    pub sender_name: String,
    /// For a message to the patient: when the patient opened it in the portal.
    pub read_by_patient_at: Option<jiff::Timestamp>,
}

/// The messages of one patient, and the units one may write to.
#[derive(Debug, Clone)]
pub struct PatientMessages {
    pub patient: Patient,
    pub messages: Vec<MessageView>,
    pub recipients: Vec<Organisation>,
}

impl Service<'_> {
    /// Sends a message about a patient to units related to them. Anyone with a care
    /// relation may write; the recipients see the content where the policy lets them.
    pub async fn send_message(&self, patient: PatientId, input: &MessageInput) -> AppResult<Message> {
        let staff = self.staff()?.clone();
        self.patient(patient).await?;
        let relations = self.repo.relations(patient).await?;
        // The message is written into its kind's category (a dose change is
        // medication information): the policy decides the write of that category,
        // and the audit entry records the same decision.
        let kind = MessageKind::from_code(input.kind.trim());
        let category = kind.map_or(DataCategory::Notes, MessageKind::category);
        let detail = format!("message sent: {}", kind.map_or("unknown kind", MessageKind::code));
        let grant = self
            .repo
            .authorize_write_with(patient, &relations, category, &detail)
            .await?;
        let content = self
            .repo
            .checked(&grant, "invalid message", input.parse(&related_units(&relations)))
            .await?;
        let message = Message {
            id: MessageId::new(),
            patient_id: patient,
            kind: content.kind,
            subject: content.subject,
            body: content.body,
            important: content.important,
            sent_by: Some(staff.id),
            sender_organisation: Some(staff.organisation_id),
            sent_at: self.now(),
            recipients: content.recipients,
            event_key: None,
            party: Party::Services,
            in_reply_to: None,
        };
        let mut tx = self.repo.begin_write(&grant).await?;
        message_store::insert(&mut tx, &message).await?;
        tx.commit().await?;
        Ok(message)
    }

    /// A message Samhand sends on an event, inside the event's own transaction so
    /// that both land or neither. No recipients, no message.
    pub(super) async fn send_automatic(
        &self,
        tx: &mut samhand_store::PatientWrite,
        patient: PatientId,
        kind: MessageKind,
        subject: String,
        body: String,
        recipients: Vec<OrganisationId>,
    ) -> AppResult<()> {
        if let Some(message) = self.automatic_message(patient, kind, subject, body, recipients) {
            message_store::insert(tx, &message).await?;
            self.queue_edi(tx, &message).await?;
        }
        Ok(())
    }

    /// The message Samhand sends on an event: from the actor's unit, to each
    /// recipient once, as important as its kind; `None` when there is nobody to
    /// tell. Callers set an event key (and importance) where the event needs it.
    pub(super) fn automatic_message(
        &self,
        patient: PatientId,
        kind: MessageKind,
        subject: String,
        body: String,
        recipients: Vec<OrganisationId>,
    ) -> Option<Message> {
        let sender = self.actor().staff().map(|s| s.organisation_id);
        super::timed::automatic(self.state, patient, kind, subject, body, sender, recipients)
    }

    /// The units of the patient's care team coordinators.
    pub(super) fn coordinator_units(data: &super::PatientData, now: jiff::Timestamp) -> Vec<OrganisationId> {
        samhand_domain::message::coordinator_units(&data.privacy.care_team, now)
    }

    /// Views of messages for the actor: who each is about and its content where the
    /// policy allows, each read audited.
    async fn views(&self, messages: Vec<Message>, detail: &str) -> AppResult<Vec<MessageView>> {
        let staff = self.staff()?.clone();
        let mut patient_ids: Vec<PatientId> = messages.iter().map(|m| m.patient_id).collect();
        patient_ids.sort();
        patient_ids.dedup();
        let data = self.load_data(&patient_ids).await?;
        let now = self.now();
        let relations = message_relations(&messages, &data, &patient_ids, staff.organisation_id, now);
        let (who, readable) = self
            .readable_in_messages(&messages, &patient_ids, &relations, detail)
            .await?;
        let found: HashMap<PatientId, Patient> = {
            let mut conn = self.state.store.read().await?;
            let visible: Vec<PatientId> = who.iter().copied().collect();
            patients::patients_of(&mut conn, &visible)
                .await?
                .into_iter()
                .map(|p| (p.id, p))
                .collect()
        };
        let (receipts, patient_receipts) = {
            let ids: Vec<MessageId> = messages.iter().map(|m| m.id).collect();
            let mut conn = self.state.store.read().await?;
            (
                message_store::receipts_of(&mut conn, &ids).await?,
                message_store::patient_receipts_of(&mut conn, &ids).await?,
            )
        };
        let hours = self.policy().await?.message_escalation_hours;
        let names = self.names(messages.iter().filter_map(|m| m.sent_by)).await?;
        Ok(messages
            .into_iter()
            .map(|m| {
                let own = staff.organisation_id;
                let mine: Vec<Receipt> = receipts
                    .iter()
                    .filter(|r| r.message_id == m.id)
                    .cloned()
                    .collect();
                MessageView {
                    patient: found.get(&m.patient_id).cloned(),
                    readable: readable.contains(&(m.patient_id, m.kind.category())),
                    read_here: message::is_read_by(&mine, m.id, own),
                    escalated: message::is_escalated(&m, &mine, own, now, hours),
                    sender_name: match (m.party, m.sent_by) {
                        (Party::FromPatient, _) => "Pasienten".into(),
                        (_, Some(u)) => names.get(&u).cloned().unwrap_or_default(),
                        (_, None) => "Samhand (automatisk)".into(),
                    },
                    read_by_patient_at: patient_receipts
                        .iter()
                        .find(|r| r.message_id == m.id)
                        .map(|r| r.read_at),
                    receipts: mine,
                    message: m,
                }
            })
            .collect())
    }

    /// What the actor may read of the messages, each read audited: who each patient
    /// is, and each message's content by its category.
    async fn readable_in_messages(
        &self,
        messages: &[Message],
        patient_ids: &[PatientId],
        relations: &HashMap<PatientId, PatientRelations>,
        detail: &str,
    ) -> AppResult<(HashSet<PatientId>, HashSet<(PatientId, DataCategory)>)> {
        let pairs = |ids: &mut dyn Iterator<Item = PatientId>| -> Vec<(PatientId, PatientRelations)> {
            let mut seen = HashSet::new();
            ids.filter(|id| seen.insert(*id))
                .map(|id| (id, relations.get(&id).cloned().unwrap_or_default()))
                .collect()
        };
        let who: HashSet<PatientId> = self
            .repo
            .optional_reads(
                &pairs(&mut patient_ids.iter().copied()),
                DataCategory::Identity,
                detail,
            )
            .await?
            .into_iter()
            .collect();
        let mut readable: HashSet<(PatientId, DataCategory)> = HashSet::new();
        let mut categories: Vec<DataCategory> = messages.iter().map(|m| m.kind.category()).collect();
        categories.sort();
        categories.dedup();
        for category in categories {
            let wanted = pairs(
                &mut messages
                    .iter()
                    .filter(|m| m.kind.category() == category)
                    .map(|m| m.patient_id),
            );
            if wanted.is_empty() {
                continue;
            }
            for id in self.repo.optional_reads(&wanted, category, detail).await? {
                readable.insert((id, category));
            }
        }
        Ok((who, readable))
    }

    /// The unit's inbox, unread first, then newest first. Escalated messages are
    /// flagged for the unit's leader.
    pub async fn inbox(&self) -> AppResult<Vec<MessageView>> {
        let org = self.staff()?.organisation_id;
        let messages = {
            let mut conn = self.state.store.read().await?;
            message_store::inbox(&mut conn, org, 300).await?
        };
        let mut views = self.views(messages, "inbox").await?;
        views.sort_by_key(|v| (v.read_here, std::cmp::Reverse(v.message.sent_at)));
        Ok(views)
    }

    /// Escalated messages of the leader's unit: important, unread past the time.
    pub async fn escalated_messages(&self) -> AppResult<Vec<MessageView>> {
        if !samhand_domain::access::may_lead(self.staff()?) {
            return Ok(Vec::new());
        }
        Ok(self.inbox().await?.into_iter().filter(|v| v.escalated).collect())
    }

    /// The messages about one patient the actor may see: to or from the actor's
    /// unit, or all of them at the responsible LAR unit.
    pub async fn patient_messages(&self, patient_id: PatientId) -> AppResult<PatientMessages> {
        let staff = self.staff()?.clone();
        let patient = self.patient(patient_id).await?;
        let relations = self.repo.relations(patient_id).await?;
        self.repo
            .authorize_read_all_with(
                patient_id,
                &relations,
                &[DataCategory::Identity],
                "messages about the patient",
            )
            .await?;
        let all = {
            let mut conn = self.state.store.read().await?;
            message_store::of_patients(&mut conn, &[patient_id]).await?
        };
        let responsible = relations.responsible_units.contains(&staff.organisation_id);
        let concerning: Vec<Message> = all
            .into_iter()
            .filter(|m| {
                responsible
                    || m.recipients.contains(&staff.organisation_id)
                    || m.sender_organisation == Some(staff.organisation_id)
            })
            .collect();
        let messages = self.views(concerning, "messages about the patient").await?;
        let organisations = self.organisations().await?;
        let recipients = related_units(&relations)
            .into_iter()
            .filter_map(|id| organisations.get(&id).cloned())
            .collect();
        Ok(PatientMessages {
            patient,
            messages,
            recipients,
        })
    }

    /// Records that the actor's unit has read a message: once per unit.
    pub async fn mark_read(&self, id: MessageId) -> AppResult<()> {
        let staff = self.staff()?.clone();
        let message = {
            let mut conn = self.state.store.read().await?;
            message_store::get(&mut conn, id).await?
        }
        .ok_or_else(|| AppError::NotFound("meldingen".into()))?;
        if !message.recipients.contains(&staff.organisation_id) {
            return Err(AppError::Forbidden(
                "Meldingen er ikke sendt til din enhet.".into(),
            ));
        }
        let relations = self.repo.relations(message.patient_id).await?;
        let mut tx = self.state.store.write().await?;
        let decision = self
            .repo
            .record_read(
                &mut tx,
                message.patient_id,
                &relations,
                message.kind.category(),
                &format!("message {id} read"),
            )
            .await?;
        if decision == Decision::Deny {
            tx.commit().await?;
            return Err(AppError::Forbidden(crate::repo::DENIED_NB.into()));
        }
        let receipt = Receipt {
            message_id: id,
            organisation_id: staff.organisation_id,
            read_by: staff.id,
            read_at: self.now(),
        };
        // Read already by a colleague: the first receipt stands. Checked before the
        // insert, so the usual case never fails a statement inside the transaction.
        let already = message_store::receipts_of(&mut tx, &[id])
            .await?
            .iter()
            .any(|r| r.organisation_id == staff.organisation_id);
        if already {
            tx.commit().await?;
            return Ok(());
        }
        match message_store::insert_receipt(&mut tx, &receipt).await {
            Ok(()) => {}
            // Read already by a colleague: the first receipt stands. PostgreSQL has
            // aborted the transaction; the access is recorded on its own.
            Err(StoreError::Conflict(_)) => {
                drop(tx);
                let mut tx = self.state.store.write().await?;
                self.repo
                    .record_read(
                        &mut tx,
                        message.patient_id,
                        &relations,
                        message.kind.category(),
                        &format!("message {id} read again"),
                    )
                    .await?;
                tx.commit().await?;
                return Ok(());
            }
            Err(other) => return Err(other.into()),
        }
        tx.commit().await?;
        Ok(())
    }
}

/// The relations to each patient the messages are about, with the messages sent to
/// the actor's unit: readable there for their purpose, with who they are about,
/// whatever the unit's relation now (`AllowedBy::AddressedMessage`).
fn message_relations(
    messages: &[Message],
    data: &HashMap<PatientId, super::PatientData>,
    patient_ids: &[PatientId],
    own: OrganisationId,
    now: jiff::Timestamp,
) -> HashMap<PatientId, PatientRelations> {
    let mut relations: HashMap<PatientId, PatientRelations> =
        super::relations_of(data, patient_ids, now).into_iter().collect();
    for m in messages.iter().filter(|m| m.recipients.contains(&own)) {
        relations
            .entry(m.patient_id)
            .or_default()
            .addressed_messages
            .push((own, m.kind.category()));
    }
    relations
}
