//! Discharge from a stay: the follow-up appointments («time i hånden») with their outcome, and the discharge, planned through the bundle or unplanned with its alerts and tasks.

use super::*;

impl Service<'_> {
    // ------------------------------------------------------------------ follow-up

    /// Registers «time i hånden» for the stay.
    pub async fn add_appointment(&self, stay_id: StayId, input: &AppointmentInput) -> AppResult<Appointment> {
        let (patient, data, _, grant) = self.stay_write(stay_id, "follow-up appointment").await?;
        let owners: Vec<UserId> = self.follow_up_owners(&data).await?.iter().map(|o| o.id).collect();
        let content = self
            .repo
            .checked(&grant, "invalid appointment", input.parse(&owners, self.today()))
            .await?;
        let appointment = Appointment {
            id: AppointmentId::new(),
            patient_id: patient,
            stay_id: Some(stay_id),
            with_whom: content.with_whom,
            at: content.at,
            place: content.place,
            owner: content.owner,
            recorded_by: self.actor().id(),
            recorded_at: self.now(),
            attended: None,
        };
        let mut tx = self.repo.begin_write(&grant).await?;
        store::insert_appointment(&mut tx, &appointment).await?;
        tx.commit().await?;
        Ok(appointment)
    }

    /// Records whether the patient came. A no-show gives the appointment's owner an
    /// outreach task due the same day.
    pub async fn appointment_outcome(&self, id: AppointmentId, attended: bool) -> AppResult<Option<Task>> {
        let patient = {
            let mut conn = self.state.store.read().await?;
            samhand_store::fhir::patient_of(&mut conn, OwnerTable::Appointment, &id.to_string()).await?
        }
        .ok_or_else(|| AppError::NotFound("timen".into()))?;
        let grant = self
            .repo
            .authorize_write(
                patient,
                DataCategory::PlanAndGoals,
                "follow-up appointment outcome",
            )
            .await?;
        let appointment = {
            let mut conn = self.state.store.read().await?;
            store::appointments_of(&mut conn, &[patient]).await?
        }
        .into_iter()
        .find(|a| a.id == id)
        .ok_or_else(|| AppError::NotFound("timen".into()))?;
        let today = self.today();
        if appointment.at.date() > today {
            self.repo
                .record_refused_write(&grant, "appointment in the future")
                .await?;
            return Err(AppError::Invalid(FieldErrors::single(
                "attended",
                "Oppmøte kan registreres fra dagen timen er.",
            )));
        }
        let task = (!attended).then(|| Task {
            id: TaskId::new(),
            patient_id: patient,
            meeting_id: None,
            description: format!(
                "Oppsøk pasienten i dag: møtte ikke til time hos {} {} kl. {} ({}). Høy risiko for overdose etter \
                 utskrivning.",
                appointment.with_whom,
                date_nb(appointment.at.date()),
                appointment.at.time().strftime("%H:%M"),
                appointment.place
            ),
            owner: appointment.owner,
            due_on: today,
            created_by: self.actor().id(),
            created_at: self.now(),
            changes: Vec::new(),
        });
        let mut tx = self.repo.begin_write(&grant).await?;
        store::insert_outcome(&mut tx, id, attended, self.actor().id(), self.now()).await?;
        if let Some(task) = &task {
            task_store::insert_task(&mut tx, task).await?;
        }
        tx.commit().await?;
        Ok(task)
    }

    // ------------------------------------------------------------------ discharge

    /// Discharges the patient. A planned discharge is refused while a bundle item is
    /// open and not waived; an unplanned one is recorded at once, alerts the LAR
    /// unit, the coordinator and the municipality, and turns each open item into a
    /// task with an owner. Either way the units are told when home dispensing
    /// resumes, with the overdose-risk warning when the stay warrants it.
    pub async fn discharge(&self, stay_id: StayId, input: &DischargeInput) -> AppResult<StayEvent> {
        let (patient_id, data, record, grant) = self.stay_write(stay_id, "discharge").await?;
        let view = self.stays_view(self.patient(patient_id).await?, &data).await?;
        let open = view.stay(stay_id).map(|s| s.open.clone()).unwrap_or_default();
        let today = self.today();
        let discharge = self
            .repo
            .checked(&grant, "discharge refused", input.parse(&record, &open, today))
            .await?;
        let event = self.event(stay_id, StayEventKind::Discharged(discharge), &input.reason);
        let relations = data.relations(patient_id, self.now());
        let mut recipients = related_units(&relations);
        recipients.extend(Self::coordinator_units(&data, self.now()));
        let mut discharged = record.clone();
        discharged.events.push(event.clone());
        let warning = stay::reduced_tolerance_warning(&discharged, discharge.on);
        let mut body = discharge_notice(&view, &record, discharge, input.reason.trim(), warning.as_deref());
        let owner = self.open_item_owner(&data).await?;
        let tasks: Vec<Task> = if discharge.planned {
            Vec::new()
        } else {
            self.open_item_tasks(patient_id, &open, owner, today)
        };
        if !tasks.is_empty() {
            let owner_name = self.names([owner]).await?.remove(&owner).unwrap_or_default();
            body.push_str(&format!(
                " Åpne punkter i tiltakspakken er gitt som oppgaver til {owner_name} med frist i dag."
            ));
        }
        let mut tx = self.repo.begin_write(&grant).await?;
        store::insert_event(&mut tx, &event)
            .await
            .map_err(|e| conflict_from(e, "Utskrivningen er allerede registrert."))?;
        for task in &tasks {
            task_store::insert_task(&mut tx, task).await?;
        }
        let message = self
            .automatic_message(
                patient_id,
                MessageKind::Discharge,
                discharge_subject(discharge),
                body,
                recipients,
            )
            .map(|m| Message {
                // An unplanned discharge is urgent: unread, it escalates to the leader.
                important: !discharge.planned || warning.is_some(),
                ..m
            });
        self.send_keyed(&mut tx, format!("stay:{stay_id}:discharged"), message)
            .await?;
        tx.commit().await?;
        Ok(event)
    }

    /// The tasks an unplanned discharge leaves: one per open item of the bundle, due
    /// today.
    fn open_item_tasks(
        &self,
        patient_id: PatientId,
        open: &[BundleItem],
        owner: UserId,
        today: Date,
    ) -> Vec<Task> {
        open.iter()
            .map(|item| Task {
                id: TaskId::new(),
                patient_id,
                meeting_id: None,
                description: item.task_nb(),
                owner,
                due_on: today,
                created_by: self.actor().id(),
                created_at: self.now(),
                changes: Vec::new(),
            })
            .collect()
    }

    /// Who owns the tasks an unplanned discharge leaves: the care team's
    /// coordinator, else the LAR consultant, else the one who records it.
    pub(super) async fn open_item_owner(&self, data: &PatientData) -> AppResult<UserId> {
        let now = self.now();
        if let Some(coordinator) = data
            .privacy
            .care_team
            .iter()
            .find(|m| m.role == samhand_domain::privacy::TeamRole::Coordinator && m.is_active_at(now))
        {
            return Ok(coordinator.user_id);
        }
        if let Some(episode) = data.episode_on(self.today()) {
            return Ok(episode.consultant);
        }
        Ok(self.actor().id())
    }
}

/// What the units are told of a discharge: planned or a break, when dispensing at
/// the place resumes, the reduced-tolerance warning, and the overdose-risk window.
fn discharge_notice(
    view: &StaysView,
    record: &StayRecord,
    discharge: stay::Discharge,
    reason: &str,
    warning: Option<&str>,
) -> String {
    let patient = &view.patient;
    let (week, months) = samhand_domain::overdose::risk_window(discharge.on);
    let mut body = if discharge.planned {
        format!(
            "{} {} er skrevet ut fra {} {}.",
            patient.given_name,
            patient.family_name,
            record.stay.institution,
            date_nb(discharge.on)
        )
    } else {
        format!(
            "BRUDD I OPPHOLD: {} {} forlot {} {} før planlagt. Hva skjedde: {}.",
            patient.given_name,
            patient.family_name,
            record.stay.institution,
            date_nb(discharge.on),
            reason
        )
    };
    if view.in_lar {
        body.push_str(&format!(
            " Utlevering på utleveringsstedet starter igjen {}.",
            date_nb(discharge.resume_on)
        ));
    }
    if let Some(warning) = warning {
        body.push(' ');
        body.push_str(warning);
    }
    body.push_str(&format!(
        " Høyest risiko for overdose til og med {}, økt risiko til og med {}.",
        date_nb(week),
        date_nb(months)
    ));
    body
}

/// The subject of the discharge message.
fn discharge_subject(discharge: stay::Discharge) -> String {
    if discharge.planned {
        format!("Utskrevet {}", date_nb(discharge.on))
    } else {
        format!(
            "Brudd i opphold {}: høy risiko for overdose",
            date_nb(discharge.on)
        )
    }
}
