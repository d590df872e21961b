//! The prescribing hand-over to the GP or back to the LAR unit, the updates other systems send about a stay, the planning notices, and the institution's list of admitted patients.

use super::*;

impl Service<'_> {
    // ------------------------------------------------------------------ hand-over

    /// Prescribing moves to another service (the GP or the LAR unit): the order as
    /// it stands and any taper plan go with it; the receiving service is told and
    /// its prescriber acknowledges.
    pub async fn hand_over(&self, stay_id: StayId, input: &HandoverInput) -> AppResult<Handover> {
        let (patient, data, _) = self.stay_and_data(stay_id).await?;
        let relations = data.relations(patient, self.now());
        let grant = self
            .repo
            .authorize_write_with(
                patient,
                &relations,
                DataCategory::Medication,
                "prescribing hand-over",
            )
            .await?;
        let view = self.stays_view(self.patient(patient).await?, &data).await?;
        let mut errors = FieldErrors::default();
        let to = input
            .to_organisation
            .trim()
            .parse::<OrganisationId>()
            .ok()
            .filter(|id| view.handover_targets.iter().any(|o| o.id == *id));
        if to.is_none() {
            errors.push(
                "to_organisation",
                "Velg hvem som overtar forskrivningen: fastlegen i ansvarsgruppen eller LAR-enheten.",
            );
        }
        let order_summary = samhand_domain::validation::required_text(
            &mut errors,
            "order_summary",
            &input.order_summary,
            "Skriv legemiddel og dose slik de er nå.",
        );
        let (Some(to), true) = (to, errors.is_empty()) else {
            self.repo
                .record_refused_write(&grant, "invalid hand-over")
                .await?;
            return Err(AppError::Invalid(errors));
        };
        let handover = Handover {
            id: HandoverId::new(),
            patient_id: patient,
            stay_id: Some(stay_id),
            from_organisation: self.staff()?.organisation_id,
            to_organisation: to,
            order_summary,
            taper_plan: input.taper_plan.trim().to_string(),
            recorded_by: self.actor().id(),
            recorded_at: self.now(),
            acknowledged: None,
        };
        let from_name = view
            .organisations
            .get(&handover.from_organisation)
            .map(|o| o.name.clone())
            .unwrap_or_default();
        let mut tx = self.repo.begin_write(&grant).await?;
        store::insert_handover(&mut tx, &handover).await?;
        let taper = if handover.taper_plan.is_empty() {
            String::new()
        } else {
            format!(" Nedtrappingsplan: {}.", handover.taper_plan)
        };
        let body = format!(
            "{from_name} overfører forskrivningen. Ordinasjon nå: {}.{taper} Lege hos dere må bekrefte at dere \
             overtar, på pasientens oppholdsside.",
            handover.order_summary,
        );
        let subject = "Forskrivning overføres til dere: bekreft overtakelse".to_string();
        let message = self.automatic_message(patient, MessageKind::Discharge, subject, body, vec![to]);
        self.send_keyed(&mut tx, format!("handover:{}", handover.id), message)
            .await?;
        tx.commit().await?;
        Ok(handover)
    }

    /// The receiving prescriber takes prescribing over.
    pub async fn acknowledge_handover(&self, id: HandoverId) -> AppResult<()> {
        let patient = {
            let mut conn = self.state.store.read().await?;
            samhand_store::fhir::patient_of(&mut conn, OwnerTable::Handover, &id.to_string()).await?
        }
        .ok_or_else(|| AppError::NotFound("overføringen".into()))?;
        let data = self.patient_data(patient).await?;
        let handover = data
            .privacy
            .handovers
            .iter()
            .find(|h| h.id == id)
            .cloned()
            .ok_or_else(|| AppError::NotFound("overføringen".into()))?;
        let relations = data.relations(patient, self.now());
        let grant = self
            .repo
            .authorize_write_with(
                patient,
                &relations,
                DataCategory::Medication,
                "prescribing hand-over acknowledged",
            )
            .await?;
        let staff = self.staff()?;
        if !samhand_domain::access::may_take_over_prescribing(staff, handover.to_organisation) {
            self.repo
                .record_refused_write(&grant, "not the receiving prescriber")
                .await?;
            return Err(AppError::Forbidden(
                "Bare lege hos tjenesten som overtar kan bekrefte overtakelsen.".into(),
            ));
        }
        if handover.acknowledged.is_some() {
            self.repo
                .record_refused_write(&grant, "already acknowledged")
                .await?;
            return Err(AppError::Conflict("Overtakelsen er allerede bekreftet.".into()));
        }
        let mut tx = self.repo.begin_write(&grant).await?;
        store::acknowledge_handover(&mut tx, id, staff.id, self.now())
            .await
            .map_err(|e| conflict_from(e, "Overtakelsen er allerede bekreftet."))?;
        tx.commit().await?;
        Ok(())
    }

    // ------------------------------------------------------------------ systems

    /// What another system reports of a stay (a FHIR Encounter update), through the
    /// same extension and discharge as the UI's: a planned discharge with bundle
    /// items open is refused here too. A stale version, or a changed start or kind
    /// of stay, is refused (and audited as refused).
    pub async fn update_stay_from_system(
        &self,
        stay_id: StayId,
        update: SystemStayUpdate,
    ) -> AppResult<StayRecord> {
        let (patient, data, record) = self.stay_and_data(stay_id).await?;
        // Decided first, so that a refusal below tells nothing to someone without access.
        let relations = data.relations(patient, self.now());
        let grant = self
            .repo
            .authorize_write_with(
                patient,
                &relations,
                DataCategory::PlanAndGoals,
                "stay updated by a system",
            )
            .await?;
        let version = 1 + record.events.len() as i64;
        if let Some(expected) = update.expected.filter(|e| *e != version) {
            self.repo.record_refused_write(&grant, "stale version").await?;
            return Err(AppError::Stale(format!(
                "Oppholdet er endret siden versjon {expected}; gjeldende versjon er {version}. Les det på nytt."
            )));
        }
        if update.starts_on != Some(record.stay.starts_on) || update.kind != record.stay.kind.code() {
            self.repo
                .record_refused_write(&grant, "start or kind changed")
                .await?;
            return Err(AppError::Invalid(FieldErrors::single(
                "period.start",
                "Start og type opphold endres ikke. Registrer et nytt opphold om det var feil.",
            )));
        }
        match update.change {
            StayChange::PlannedEnd(end) if Some(end) != record.planned_end() => {
                self.extend_stay(stay_id, &end.to_string(), &update.reason)
                    .await?
            }
            StayChange::PlannedEnd(_) => {}
            StayChange::Discharge(input) => {
                self.discharge(stay_id, &input).await?;
            }
        }
        let (_, _, record) = self.stay_and_data(stay_id).await?;
        Ok(record)
    }

    /// An automatic message keyed to its event (one per key), in the caller's
    /// transaction; nothing when there is nobody to tell.
    pub(super) async fn send_keyed(
        &self,
        tx: &mut samhand_store::PatientWrite,
        key: String,
        message: Option<Message>,
    ) -> AppResult<()> {
        if let Some(message) = message {
            let message = Message {
                event_key: Some(key),
                ..message
            };
            message_store::insert(tx, &message).await?;
            self.queue_edi(tx, &message).await?;
        }
        Ok(())
    }

    /// Stays under way at the actor's institution (its «innlagte» list).
    pub async fn admitted_here(&self) -> AppResult<Vec<(Patient, StayRecord)>> {
        let staff = self.staff()?.clone();
        let ids = {
            let mut conn = self.state.store.read().await?;
            store::patients_at_institution(&mut conn, staff.organisation_id).await?
        };
        let data = self.load_data(&ids).await?;
        let now = self.now();
        let related: Vec<(PatientId, PatientRelations)> = crate::service::relations_of(&data, &ids, now);
        let allowed = self
            .repo
            .optional_reads(&related, DataCategory::Identity, "institution: admitted patients")
            .await?;
        let people = {
            let mut conn = self.state.store.read().await?;
            patients::patients_of(&mut conn, &allowed).await?
        };
        let mut rows: Vec<(Patient, StayRecord)> = people
            .into_iter()
            .filter_map(|p| {
                let stay = data.get(&p.id)?.privacy.stays.iter().find(|s| {
                    s.stay.institution_id == Some(staff.organisation_id) && s.discharge().is_none()
                })?;
                Some((p, stay.clone()))
            })
            .collect();
        rows.sort_by_key(|(p, s)| (s.planned_end(), p.family_name.clone()));
        Ok(rows)
    }
}
