//! Sending EDI (issue 18): the automatic messages a GP office outside Samhand is
//! told by Norwegian EDI (a Hodemelding with a Dialogmelding notat): a signed dose
//! change, a withheld or reduced dose, a block after missed doses (raised by the
//! scheduler, with Samhand itself as the audited actor: H87), an admission and a
//! discharge, an overdose and the end of LAR. Sent only to a GP office the patient consented to share the message's
//! category with, that has a HER-id and no one working in Samhand (else it reads the
//! message in Samhand). Queued in the event's own write with an entry in the
//! patient's access log, and written to the outbox after the commit
//! ([`flush_outbox`]), so the event and its message land together or neither (H83).

use samhand_domain::access::{AllowedBy, DataCategory};
use samhand_domain::edi::{self, Dialog, DialogKind, EdiParty, EdiPatient};
use samhand_domain::ids::OrganisationId;
use samhand_domain::message::{Message, MessageKind};
use samhand_domain::organisation::OrganisationKind;
use samhand_store::edi::{self as store, Outgoing, SentRecord};
use samhand_store::{PatientWrite, organisations, users};

use super::Service;
use crate::AppState;
use crate::error::{AppError, AppResult};

/// The kinds of automatic message that go by EDI to a GP office outside Samhand.
const EDI_KINDS: [MessageKind; 7] = [
    MessageKind::DoseChange,
    MessageKind::WithheldDose,
    MessageKind::MissedDoses,
    MessageKind::Admission,
    MessageKind::Discharge,
    MessageKind::Overdose,
    MessageKind::EndOfLar,
];

/// Writes the queued messages to the outbox, each marked written after its file is
/// in place; the number written.
pub async fn flush_outbox(state: &AppState) -> AppResult<u64> {
    let queued = {
        let mut conn = state.store.read().await?;
        store::unwritten(&mut conn).await?
    };
    let dirs = state.config.edi_dirs();
    let mut written = 0;
    for (msg_id, file_name, xml) in queued {
        let out = dirs.clone();
        tokio::task::spawn_blocking(move || out.write_out(&file_name, &xml))
            .await
            .map_err(|e| AppError::Internal(format!("EDI outbox: {e}")))?
            .map_err(|e| AppError::Internal(format!("EDI outbox: {e}")))?;
        let mut tx = state.store.write().await?;
        store::mark_written(&mut tx, &msg_id, state.clock.now()).await?;
        tx.commit().await?;
        written += 1;
    }
    Ok(written)
}

impl Service<'_> {
    /// The services outside Samhand among `among` (of `kind` when given): each
    /// with its HER-id, none with anyone working in Samhand.
    async fn outside_services(
        &self,
        among: &[OrganisationId],
        kind: Option<OrganisationKind>,
    ) -> AppResult<Vec<(String, OrganisationId, edi::HerId)>> {
        let organisations = self.organisations().await?;
        let mut found = Vec::new();
        let mut conn = self.state.store.read().await?;
        for id in among {
            let Some(org) = organisations.get(id).filter(|o| kind.is_none_or(|k| o.kind == k)) else {
                continue;
            };
            let Some(her_id) = organisations::registration(&mut conn, *id)
                .await?
                .and_then(|r| r.her_id)
            else {
                continue;
            };
            if users::by_organisation(&mut conn, *id).await?.is_empty() {
                found.push((org.name.clone(), *id, her_id));
            }
        }
        Ok(found)
    }

    /// Queues `message` by EDI to each GP office outside Samhand the patient
    /// consented to share its category with, in the event's write, each sending in
    /// the patient's access log. A sender without a HER-id cannot send: logged.
    pub(super) async fn queue_edi(&self, write: &mut PatientWrite, message: &Message) -> AppResult<()> {
        if !EDI_KINDS.contains(&message.kind) {
            return Ok(());
        }
        let category = message.kind.category();
        let relations = self.repo.relations(message.patient_id).await?;
        let mut consented: Vec<OrganisationId> = relations
            .consents
            .iter()
            .filter(|(_, c)| *c == category)
            .map(|(o, _)| *o)
            .collect();
        consented.sort();
        consented.dedup();
        let receivers = self
            .outside_services(&consented, Some(OrganisationKind::GpOffice))
            .await?;
        if receivers.is_empty() {
            return Ok(());
        }
        // A notice from Samhand itself (the scheduler) goes on behalf of the unit
        // the system actor acts for.
        let system_unit = match self.actor() {
            samhand_domain::access::Actor::System(system) => Some(system.organisation_id),
            _ => None,
        };
        let Some(sender_id) = message.sender_organisation.or(system_unit) else {
            return Ok(());
        };
        self.queue_dialogs(
            write,
            message,
            sender_id,
            receivers,
            (category, AllowedBy::EdiConsent),
        )
        .await
    }

    /// Queues the assessment decision `message` by EDI to the referring service
    /// `referrer` when it is outside Samhand (nobody working in Samhand) and has a
    /// HER-id; whether it was queued. No consent is asked: the referral is the
    /// referrer's own treatment relation, and the law has the specialist service
    /// answer the referrer (recorded as `referral_answer`, H88).
    pub(super) async fn queue_referral_answer(
        &self,
        write: &mut PatientWrite,
        message: &Message,
        referrer: OrganisationId,
    ) -> AppResult<bool> {
        let receivers = self.outside_services(&[referrer], None).await?;
        let Some(sender_id) = message.sender_organisation else {
            return Ok(false);
        };
        if receivers.is_empty() {
            return Ok(false);
        }
        self.queue_dialogs(
            write,
            message,
            sender_id,
            receivers,
            (message.kind.category(), AllowedBy::ReferralAnswer),
        )
        .await?;
        Ok(true)
    }

    /// Queues `message` as a Dialogmelding (notat) from `sender_id` to each of
    /// `receivers`, each sending recorded in the patient's access log as a
    /// disclosure of `category` allowed `by`. A sender without a HER-id cannot
    /// send: logged.
    async fn queue_dialogs(
        &self,
        write: &mut PatientWrite,
        message: &Message,
        sender_id: OrganisationId,
        receivers: Vec<(String, OrganisationId, edi::HerId)>,
        (category, by): (DataCategory, AllowedBy),
    ) -> AppResult<()> {
        let (sender_name, sender_her) = {
            let mut conn = self.state.store.read().await?;
            let name = organisations::get(&mut conn, sender_id).await?.map(|o| o.name);
            let her = organisations::registration(&mut conn, sender_id)
                .await?
                .and_then(|r| r.her_id);
            (name.unwrap_or_default(), her)
        };
        let Some(sender_her) = sender_her else {
            tracing::warn!(
                organisation = %sender_id,
                "an EDI message to a service outside Samhand was not sent: the sender has no HER-id"
            );
            return Ok(());
        };
        let patient = self.patient(message.patient_id).await?;
        for (name, organisation_id, her_id) in receivers {
            let msg_id = uuid::Uuid::now_v7();
            let dialog = Dialog {
                kind: DialogKind::Notat,
                msg_id,
                generated: message.sent_at,
                sender: EdiParty {
                    name: sender_name.clone(),
                    her_id: sender_her.clone(),
                },
                receiver: EdiParty {
                    name: name.clone(),
                    her_id: her_id.clone(),
                },
                patient: EdiPatient {
                    family_name: patient.family_name.clone(),
                    given_name: patient.given_name.clone(),
                    national_id: patient.national_id.clone(),
                },
                conversation: None,
                topic: message.subject.clone(),
                text: message.body.clone(),
            };
            let out = Outgoing {
                patient_id: patient.id,
                message_id: message.id,
                organisation_id,
                sent: SentRecord {
                    msg_id: msg_id.to_string(),
                    msg_type: DialogKind::Notat.code().to_string(),
                    sender_id,
                    receiver_her_id: her_id.as_str().to_string(),
                    receiver_name: name.clone(),
                    file_name: format!("dialog-{msg_id}"),
                    sent_at: message.sent_at,
                },
                xml: edi::hodemelding(&dialog),
            };
            // Recorded first: the disclosure is the access that lets the write
            // hold the patient's outgoing message (a write by Samhand itself has
            // no other).
            let what = match by {
                AllowedBy::ReferralAnswer => "referral assessment",
                _ => message.kind.code(),
            };
            self.repo.record_edi_disclosure(
                write,
                patient.id,
                category,
                by,
                &format!("EDI {what} to {name} (HER-id {})", her_id.as_str()),
            )?;
            store::queue_outgoing(write, &out).await?;
        }
        Ok(())
    }
}
