//! Received Dialogmeldinger held because they could not be linked to a patient in
//! LAR (H84): the receiving unit's list, and its resolution of each, once: linked to
//! the patient after checking (a write under the policy, into the inbox, answered
//! OK), or refused (answered with an error receipt, E35).

use samhand_domain::access::{self, DataCategory};
use samhand_domain::edi::{AppRecError, DialogKind, EdiParty, HerId, Original};
use samhand_domain::ids::PatientId;
use samhand_domain::national_id::NationalId;
use samhand_domain::validation::FieldErrors;
use samhand_store::edi::{self as store, UnplacedRecord};
use samhand_store::{messages as message_store, organisations, patients};

use super::Service;
use super::edi::{Incoming, dialog_receipt, inbox_message, write_receipt};
use crate::error::{AppError, AppResult};

const LINKED: &str = "linked";
const REFUSED: &str = "refused";

impl Service<'_> {
    /// The actor's unit's received messages not linked to a patient, newest first.
    pub async fn unplaced_edi(&self) -> AppResult<Vec<UnplacedRecord>> {
        let staff = self.staff()?;
        if !access::works_with_patients(staff) {
            return Err(AppError::Forbidden("Listen er for helsepersonell.".into()));
        }
        let mut conn = self.state.store.read().await?;
        Ok(store::unplaced_for(&mut conn, staff.organisation_id).await?)
    }

    /// One open message of the actor's unit.
    async fn open_unplaced(&self, msg_id: &str) -> AppResult<UnplacedRecord> {
        let staff = self.staff()?;
        let record = {
            let mut conn = self.state.store.read().await?;
            store::unplaced(&mut conn, msg_id).await?
        }
        .filter(|r| r.receiver_id == staff.organisation_id && access::works_with_patients(staff))
        .ok_or_else(|| AppError::NotFound("meldingen".into()))?;
        if record.resolution.is_some() {
            return Err(AppError::Conflict("Meldingen er allerede avklart.".into()));
        }
        Ok(record)
    }

    /// The parties and the original of a held message, for its receipt.
    async fn receipt_parties(&self, record: &UnplacedRecord) -> AppResult<(EdiParty, EdiParty, Original)> {
        let mut conn = self.state.store.read().await?;
        let receiver = organisations::get(&mut conn, record.receiver_id).await?;
        let her = organisations::registration(&mut conn, record.receiver_id)
            .await?
            .and_then(|r| r.her_id);
        let (Some(receiver), Some(her)) = (receiver, her) else {
            return Err(AppError::Internal("the receiving unit has no HER-id".into()));
        };
        let sender_her = HerId::parse(&record.sender_her_id)
            .map_err(|_| AppError::Internal("a held message's sender HER-id".into()))?;
        Ok((
            EdiParty {
                name: record.sender_name.clone(),
                her_id: sender_her,
            },
            EdiParty {
                name: receiver.name,
                her_id: her,
            },
            Original {
                msg_type: record.msg_type.clone(),
                issued: record.issued_at,
                msg_id: record.msg_id.clone(),
            },
        ))
    }

    /// The message cannot be placed: refused, and the sender told (E35).
    pub async fn refuse_unplaced_edi(&self, msg_id: &str) -> AppResult<()> {
        let record = self.open_unplaced(msg_id).await?;
        let (sender, receiver, original) = self.receipt_parties(&record).await?;
        let mut tx = self.state.store.write().await?;
        store::resolve_unplaced(&mut tx, msg_id, REFUSED, self.actor().id(), self.now())
            .await
            .map_err(|e| AppError::from(e).conflict_as("Meldingen er allerede avklart."))?;
        let receipt = dialog_receipt(
            self.now(),
            sender,
            receiver,
            original,
            Some((AppRecError::UnknownPatient, record.reason.label_nb().to_string())),
        );
        write_receipt(
            &self.state.config.edi_dirs(),
            &format!("apprec-refused-{msg_id}"),
            receipt,
        )
        .await?;
        tx.commit().await?;
        Ok(())
    }

    /// After checking, the message is linked to the patient its fødselsnummer names
    /// (who must be in LAR): into the inbox as a write under the policy, answered OK.
    pub async fn link_unplaced_edi(&self, msg_id: &str) -> AppResult<PatientId> {
        let record = self.open_unplaced(msg_id).await?;
        let cannot = |message: &str| AppError::Invalid(FieldErrors::single("msg_id", message));
        let number = NationalId::parse(&record.national_id)
            .map_err(|_| cannot("Meldingen har ikke et gyldig fødselsnummer. Den kan bare avvises."))?;
        let patient = {
            let mut conn = self.state.store.read().await?;
            let patient = patients::by_national_id(&mut conn, &number).await?;
            match patient {
                Some(p) if !patients::episodes(&mut conn, p.id).await?.is_empty() => p,
                _ => {
                    return Err(cannot(
                        "Fødselsnummeret er ikke en pasient i LAR. Meldingen kan bare avvises.",
                    ));
                }
            }
        };
        let (sender, receiver, original) = self.receipt_parties(&record).await?;
        let sender_org = {
            let mut conn = self.state.store.read().await?;
            store::organisation_by_her_id(&mut conn, &record.sender_her_id).await?
        };
        let grant = self
            .repo
            .authorize_write(
                patient.id,
                DataCategory::Notes,
                "received EDI message linked after checking",
            )
            .await?;
        let kind = DialogKind::from_code(&record.msg_type).unwrap_or(DialogKind::Notat);
        let incoming = Incoming {
            sender_name: &record.sender_name,
            kind,
            msg_id: &record.msg_id,
            topic: &record.topic,
            text: &record.body,
        };
        let message = inbox_message(patient.id, record.receiver_id, sender_org, &incoming, self.now());
        let mut tx = self.repo.begin_write(&grant).await?;
        message_store::insert(&mut tx, &message).await?;
        store::resolve_unplaced(&mut tx, msg_id, LINKED, self.actor().id(), self.now())
            .await
            .map_err(|e| AppError::from(e).conflict_as("Meldingen er allerede avklart."))?;
        let receipt = dialog_receipt(self.now(), sender, receiver, original, None);
        write_receipt(
            &self.state.config.edi_dirs(),
            &format!("apprec-linked-{msg_id}"),
            receipt,
        )
        .await?;
        tx.commit().await?;
        Ok(patient.id)
    }
}

impl Service<'_> {
    /// Messages the actor's unit sent by EDI that no receipt has answered within
    /// the policy's hours (`edi.receipt_hours`), oldest first: flagged, like an
    /// important message unread.
    pub async fn unanswered_edi(&self) -> AppResult<Vec<samhand_store::edi::SentRecord>> {
        let staff = self.staff()?;
        if !access::works_with_patients(staff) {
            return Err(AppError::Forbidden("Listen er for helsepersonell.".into()));
        }
        let hours = self.policy().await?.edi_receipt_hours;
        let before = self.now() - jiff::SignedDuration::from_hours(hours);
        let mut conn = self.state.store.read().await?;
        Ok(store::unanswered(&mut conn, before)
            .await?
            .into_iter()
            .filter(|s| s.sender_id == staff.organisation_id)
            .collect())
    }
}
