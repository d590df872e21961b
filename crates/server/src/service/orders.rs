//! Discarding a draft dose order: the draft is kept and shown as «Forkastet»; the
//! discard is a record of its own with who, when and why, written through the
//! repo's write decision and audit entry like the signing.

use samhand_domain::access::DataCategory;
use samhand_domain::dose_order::{DiscardError, DoseOrder};
use samhand_domain::ids::DoseOrderId;
use samhand_store::{orders as order_store, patients};

use super::{Service, conflict_from};
use crate::error::{AppError, AppResult};

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
        let mut tx = self.state.store.write().await?;
        order_store::insert_discard(&mut tx, &order, &discard)
            .await
            .map_err(|e| {
                conflict_from(
                    e,
                    "Utkastet ble signert eller forkastet samtidig av noen andre. Last siden på nytt.",
                )
            })?;
        self.repo.record_write(&mut tx, &grant).await?;
        tx.commit().await?;
        order.discard = Some(discard);
        Ok(order)
    }
}
