//! Corrections of a recording made by mistake: a new event that references it, voids its doses by generation, returns their stock, records the amount actually given, and tells the prescriber.

use super::*;

impl Service<'_> {
    // ------------------------------------------------------------- corrections

    /// Corrects a recording made by mistake: a new event that references it, with
    /// the reason, which takes back its doses (and their stock movement), records
    /// the amount actually given for a wrong amount, and tells the prescriber. A
    /// dose corrected as not given is free to be recorded again.
    pub async fn correct_dispensing(
        &self,
        original: DispensingId,
        request: &CorrectionRequest,
    ) -> AppResult<CorrectionResult> {
        // A correction takes back a recording the central record may hold
        // already, or may not yet: at the edge it is not made (H96).
        if self.state.edge.is_some() {
            return Err(AppError::Conflict(
                "Korrigering gjøres i sentral Samhand, ikke i stedets lokale Samhand.".into(),
            ));
        }
        let event = {
            let mut conn = self.state.store.read().await?;
            dispensing_store::event_of(&mut conn, original).await?
        }
        .ok_or_else(|| AppError::NotFound("Fant ikke registreringen.".into()))?;
        let patient_id = event.patient_id;
        let data = self.patient_data(patient_id).await?;
        let grant = self
            .repo
            .authorize_correction_with(
                patient_id,
                &data.relations(patient_id, self.now()),
                DataCategory::Dispensing,
                "dispensing corrected",
            )
            .await?;
        let result = self
            .correct_dispensing_granted(&event, request, &data, &grant)
            .await;
        self.audit_attempt(&grant, &result).await?;
        result
    }

    pub(super) async fn correct_dispensing_granted(
        &self,
        original: &DispensingEvent,
        request: &CorrectionRequest,
        data: &PatientData,
        grant: &crate::repo::WriteGrant,
    ) -> AppResult<CorrectionResult> {
        let key = idempotency_key(&request.idempotency_key)?;
        if let Some(replay) = self.correction_replay(key, original.id).await? {
            return Ok(replay);
        }
        let correction = Correction::parse(&request.kind, &request.actual_mg, &request.reason)
            .map_err(AppError::Invalid)?;
        let today = self.today();
        let (voided, plan) = self.judge_correction(original, &correction, today).await?;
        let replacement = plan.replacement.as_ref().and_then(|r| {
            voided
                .iter()
                .find(|d| d.key == r.key)
                .map(|d| (r, d.substance, d.order_id))
        });
        let event = DispensingEvent {
            id: DispensingId::new(),
            idempotency_key: key.to_string(),
            patient_id: original.patient_id,
            place_id: original.place_id,
            day: today,
            outcome: OutcomeKind::Corrected,
            reason: Some(correction.reason.clone()),
            identity_confirmed_by: self.actor().id(),
            recorded_by: self.actor().id(),
            recorded_at: self.now(),
        };
        let mut tx = self.repo.begin_write(grant).await?;
        let written = async {
            dispensing_store::insert_correction(
                &mut tx,
                &event,
                original.id,
                correction.kind,
                &voided,
                replacement,
            )
            .await?;
            crate::service::stock::return_for_correction(
                &mut tx,
                original.place_id,
                original.id,
                event.id,
                event.recorded_by,
                event.recorded_at,
            )
            .await?;
            if let Some((dose, substance, _)) = replacement {
                crate::service::stock::take_for_dispensing(
                    &mut tx,
                    original.place_id,
                    substance,
                    dose.amount,
                    event.id,
                    event.recorded_by,
                    event.recorded_at,
                )
                .await?;
            }
            Ok::<(), StoreError>(())
        }
        .await;
        match written {
            Ok(()) => {}
            Err(StoreError::Conflict(_)) => {
                drop(tx);
                self.state.store.settle().await;
                if let Some(replay) = self.correction_replay(key, original.id).await? {
                    return Ok(replay);
                }
                return Err(AppError::Conflict(
                    samhand_domain::dispensing::CorrectionRefusal::AlreadyCorrected.message_nb(),
                ));
            }
            Err(other) => return Err(other.into()),
        }
        self.tell_of_correction(&mut tx, original, &correction, data)
            .await?;
        tx.commit().await?;
        let recorded = {
            let mut conn = self.state.store.read().await?;
            dispensing_store::doses_of_event(&mut conn, event.id).await?
        };
        Ok(CorrectionResult {
            correction: event,
            corrects: original.id,
            voided,
            recorded,
            replayed: false,
        })
    }

    /// The earlier result of a correction with this key; a key used for anything
    /// else is refused.
    pub(super) async fn correction_replay(
        &self,
        key: &str,
        original: DispensingId,
    ) -> AppResult<Option<CorrectionResult>> {
        let mut conn = self.state.store.read().await?;
        let Some(event) = dispensing_store::event_by_key(&mut conn, key).await? else {
            return Ok(None);
        };
        let correction = dispensing_store::correction_of_event(&mut conn, original).await?;
        let Some(correction) = correction.filter(|c| c.event.id == event.id) else {
            return Err(AppError::Conflict(
                "Idempotensnøkkelen er allerede brukt for en annen registrering.".into(),
            ));
        };
        let voided = dispensing_store::doses_of_event(&mut conn, original)
            .await?
            .into_iter()
            .filter(|d| d.voided_by == Some(event.id))
            .collect();
        let recorded = dispensing_store::doses_of_event(&mut conn, event.id).await?;
        Ok(Some(CorrectionResult {
            correction: correction.event,
            corrects: original,
            voided,
            recorded,
            replayed: true,
        }))
    }

    /// Tells the prescriber's unit and the coordinator of a correction, with what was
    /// wrong and why.
    async fn tell_of_correction(
        &self,
        tx: &mut samhand_store::PatientWrite,
        original: &DispensingEvent,
        correction: &Correction,
        data: &PatientData,
    ) -> AppResult<()> {
        let what = match correction.kind {
            CorrectionKind::NotGiven => "registrert, men ikke gitt".to_string(),
            CorrectionKind::WrongAmount { actual } => format!("gitt {actual}, ikke det som ble registrert"),
        };
        let place = self
            .organisations()
            .await?
            .get(&original.place_id)
            .map(|o| o.name.clone())
            .unwrap_or_default();
        let at = samhand_domain::time::oslo_datetime(original.recorded_at).time();
        self.send_automatic(
            tx,
            original.patient_id,
            MessageKind::DispensingCorrection,
            format!(
                "Utlevering {} ved {place} korrigert",
                samhand_domain::format::date_nb(original.day)
            ),
            format!(
                "Registreringen kl. {} er korrigert: {what}. Begrunnelse: {}",
                samhand_domain::format::time_nb(at),
                correction.reason
            ),
            self.prescriber_and_coordinator(data, original.patient_id),
        )
        .await
    }

    /// Whether the actor may make this correction now, and what it takes back: the
    /// recording's doses not yet voided, as the domain plans it.
    async fn judge_correction(
        &self,
        original: &DispensingEvent,
        correction: &Correction,
        today: jiff::civil::Date,
    ) -> AppResult<(Vec<DispensedDose>, samhand_domain::dispensing::CorrectionPlan)> {
        let policy = self.policy().await?;
        may_correct(
            self.staff()?,
            CorrectedRecording {
                place: original.place_id,
                recorded_by: original.recorded_by,
                recorded_on: samhand_domain::time::oslo_date(original.recorded_at),
            },
            today,
            policy.correction_window_days,
        )
        .map_err(|refusal| AppError::Forbidden(refusal.message_nb()))?;
        let doses = {
            let mut conn = self.state.store.read().await?;
            dispensing_store::doses_of_event(&mut conn, original.id).await?
        };
        let live: Vec<DispensedDose> = doses.into_iter().filter(|d| d.voided_by.is_none()).collect();
        let as_live: Vec<LiveDose> = live
            .iter()
            .map(|d| LiveDose {
                key: d.key,
                mode: d.mode,
                amount: d.amount,
                ordered: d.ordered,
                outcome: d.outcome,
            })
            .collect();
        let plan = plan_correction(&as_live, correction)
            .map_err(|refusal| AppError::Conflict(refusal.message_nb()))?;
        let voided = live.into_iter().filter(|d| plan.voids.contains(&d.key)).collect();
        Ok((voided, plan))
    }
}
