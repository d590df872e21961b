//! Dose orders: the history, drafts with their dose-safety warnings, signing, and
//! discarding a draft (kept and shown as «Forkastet»; the discard is a record of its
//! own with who, when and why, written through the repo like the signing).

use samhand_domain::access::DataCategory;
use samhand_domain::dose_order::{
    DiscardError, DoseOrder, DoseOrderContent, DoseOrderInput, DoseWarning, SignError, SignedDoseOrder,
    dose_safety_warnings,
};
use samhand_domain::ids::{DoseOrderId, PatientId};
use samhand_domain::validation::FieldErrors;
use samhand_store::{orders as order_store, patients};

use crate::error::{AppError, AppResult};

use super::{Service, conflict_from, field};

impl Service<'_> {
    pub async fn order_history(&self, patient: PatientId) -> AppResult<Vec<DoseOrder>> {
        self.patient(patient).await?;
        self.repo
            .authorize_read(patient, DataCategory::Medication, "dose order history")
            .await?;
        let mut conn = self.state.store.read().await?;
        Ok(order_store::orders(&mut conn, patient).await?)
    }

    /// Writes a draft order; it has no effect until signed.
    pub async fn create_draft(&self, patient: PatientId, input: &DoseOrderInput) -> AppResult<DoseOrder> {
        self.patient(patient).await?;
        let grant = self
            .repo
            .authorize_write(patient, DataCategory::Medication, "dose order drafted")
            .await?;
        let content = DoseOrderContent::parse(input).map_err(AppError::Invalid)?;
        let episode = self.active_episode(patient).await?;
        if content.effective_from < episode.started_on {
            return Err(field(
                "effective_from",
                "Startdatoen kan ikke være før innskrivningen.",
            ));
        }
        let order = DoseOrder {
            id: DoseOrderId::new(),
            patient_id: patient,
            episode_id: episode.id,
            content,
            created_by: self.actor().id(),
            created_at: self.now(),
            signature: None,
            discard: None,
        };
        let mut tx = self.repo.begin_write(&grant).await?;
        order_store::insert_draft(&mut tx, &order).await?;
        tx.commit().await?;
        Ok(order)
    }

    pub(super) async fn order(&self, id: DoseOrderId) -> AppResult<DoseOrder> {
        let mut conn = self.state.store.read().await?;
        order_store::order(&mut conn, id)
            .await?
            .ok_or_else(|| AppError::NotFound("ordinasjonen".into()))
    }

    /// The dose-safety warnings a draft would raise if signed now.
    pub async fn draft_warnings(&self, id: DoseOrderId) -> AppResult<(DoseOrder, Vec<DoseWarning>)> {
        let draft = self.order(id).await?;
        self.repo
            .authorize_read(draft.patient_id, DataCategory::Medication, "dose order warnings")
            .await?;
        let warnings = self.warnings_for(&draft).await?;
        Ok((draft, warnings))
    }

    pub(super) async fn warnings_for(&self, draft: &DoseOrder) -> AppResult<Vec<DoseWarning>> {
        let data = self.patient_data(draft.patient_id).await?;
        let history = data.orders_of(draft.episode_id);
        let episode = data.episodes.iter().find(|e| e.id == draft.episode_id);
        let build_up = episode.is_some_and(|e| e.phase.is_build_up());
        let policy = self.policy().await?;
        Ok(dose_safety_warnings(
            &history,
            &draft.content,
            build_up,
            &policy.dose_safety,
        ))
    }

    /// Signs a draft as the next version. A signing also counts as the prescriber's
    /// reassessment, clearing a missed-dose block.
    pub async fn sign(&self, id: DoseOrderId, confirmation: Option<&str>) -> AppResult<SignedDoseOrder> {
        let draft = self.order(id).await?;
        let grant = self
            .repo
            .authorize_write(draft.patient_id, DataCategory::Medication, "dose order signed")
            .await?;
        let episode = {
            let mut conn = self.state.store.read().await?;
            patients::episode(&mut conn, draft.episode_id)
                .await?
                .ok_or_else(|| AppError::NotFound("episoden".into()))?
        };
        if episode.ended.as_ref().is_some_and(|end| end.on <= self.today()) {
            return Err(AppError::Conflict(
                "Behandlingen er avsluttet. En ny ordinasjon krever ny innskrivning.".into(),
            ));
        }
        let warnings = self.warnings_for(&draft).await?;
        let history = self.patient_data(draft.patient_id).await?.orders;
        let signed = samhand_domain::dose_order::sign(
            draft,
            self.staff()?,
            episode.responsible_unit,
            &history,
            &warnings,
            confirmation,
            self.now(),
        )
        .map_err(|e| match e {
            SignError::NotAPrescriber => AppError::Forbidden("Bare lege kan signere ordinasjoner.".into()),
            SignError::NotOfResponsibleUnit => {
                AppError::Forbidden("Bare lege ved ansvarlig LAR-enhet kan signere ordinasjonen.".into())
            }
            SignError::AlreadySigned => AppError::Conflict("Ordinasjonen er allerede signert.".into()),
            SignError::Discarded => AppError::Conflict("Utkastet er forkastet og kan ikke signeres.".into()),
            SignError::NeedsConfirmation(warnings) => {
                let mut errors = FieldErrors::default();
                for warning in &warnings {
                    errors.push("confirmation", warning.message_nb());
                }
                errors.push("confirmation", "Bekreft med begrunnelse for å signere likevel.");
                AppError::Invalid(errors)
            }
        })?;
        let relations = self.repo.relations(signed.order().patient_id).await?;
        let content = signed.content();
        let subject = format!(
            "Ny dose fra {}: {} {}",
            samhand_domain::format::date_nb(content.effective_from),
            content.substance.name(),
            content.dose.total()
        );
        let body = format!(
            "Signert ordinasjon versjon {}. Begrunnelse: {}",
            signed.version(),
            content.reason
        );
        let mut tx = self.repo.begin_write(&grant).await?;
        order_store::insert_signature(&mut tx, &signed)
            .await
            .map_err(|e| {
                conflict_from(
                    e,
                    "Ordinasjonen ble signert eller forkastet samtidig av noen andre. Last siden på nytt.",
                )
            })?;
        // The places that hand out the dose are told in the same transaction.
        self.send_automatic(
            &mut tx,
            signed.order().patient_id,
            samhand_domain::message::MessageKind::DoseChange,
            subject,
            body,
            relations.dispensing_places.clone(),
        )
        .await?;
        tx.commit().await?;
        Ok(signed)
    }
}

impl Service<'_> {
    /// Sets a draft aside unsigned; it is no longer offered for signing. A signed
    /// order is refused: it is replaced by a new version, never withdrawn.
    pub async fn discard_draft(&self, id: DoseOrderId, reason: &str) -> AppResult<DoseOrder> {
        let mut order = self.order(id).await?;
        let grant = self
            .repo
            .authorize_write(order.patient_id, DataCategory::Medication, "dose order discarded")
            .await?;
        let episode = {
            let mut conn = self.state.store.read().await?;
            patients::episode(&mut conn, order.episode_id)
                .await?
                .ok_or_else(|| AppError::NotFound("episoden".into()))?
        };
        let judged = samhand_domain::dose_order::discard(
            &order,
            self.staff()?,
            episode.responsible_unit,
            reason,
            self.now(),
        );
        if let Err(refusal) = &judged {
            // Every attempt is in the log, the refused ones too.
            self.repo
                .record_refused_write(&grant, &refusal.to_string())
                .await?;
        }
        let discard = judged.map_err(|e| match e {
            DiscardError::AlreadySigned => AppError::Conflict(
                "Ordinasjonen er signert og kan ikke forkastes. Lag en ny ordinasjon for å endre dosen."
                    .into(),
            ),
            DiscardError::AlreadyDiscarded => AppError::Conflict("Utkastet er allerede forkastet.".into()),
            DiscardError::NotAllowed => AppError::Forbidden(
                "Bare lege ved ansvarlig LAR-enhet, eller den som skrev utkastet, kan forkaste det.".into(),
            ),
        })?;
        let mut tx = self.repo.begin_write(&grant).await?;
        order_store::insert_discard(&mut tx, &order, &discard)
            .await
            .map_err(|e| {
                conflict_from(
                    e,
                    "Utkastet ble signert eller forkastet samtidig av noen andre. Last siden på nytt.",
                )
            })?;
        tx.commit().await?;
        order.discard = Some(discard);
        Ok(order)
    }
}
