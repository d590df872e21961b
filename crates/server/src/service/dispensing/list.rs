//! Today's list at a place: who is due, what was recorded, the missed-dose state,
//! the time windows and the identity-check marks, read as the policy allows.

use super::*;

impl Service<'_> {
    /// Today's list (or another day's) at the actor's place.
    pub async fn todays_list(&self, date: Option<Date>) -> AppResult<TodayList> {
        crate::auth::require(samhand_domain::access::works_at_window(self.staff()?))?;
        let _heavy = self.heavy_work().await?;
        let place = self.own_place().await?;
        let today = self.today();
        let date = date.unwrap_or(today);
        let candidates = {
            let mut conn = self.state.store.reader().await?;
            order_store::patients_at_place(&mut conn, place.id, date.min(today)).await?
        };
        let data = self.load_data(&candidates).await?;
        let due: Vec<(PatientId, Vec<DueDose>)> = candidates
            .iter()
            .filter_map(|id| {
                let due = with_schedule(data.get(id)?, date, |s| s.due_at(place.id, date))?;
                (!due.is_empty()).then_some((*id, due))
            })
            .collect();
        let uncovered = self.uncovered_at(&place, &candidates, &data, date).await?;
        let paused = paused_at(&place, &candidates, &data, date);
        let listed: Vec<PatientId> = due
            .iter()
            .map(|(id, _)| *id)
            .chain(uncovered.iter().map(|(id, _)| *id))
            .chain(paused.iter().map(|(id, _)| *id))
            .collect::<HashSet<_>>()
            .into_iter()
            .collect();
        let mut facts = self.list_facts(&listed, &data, date).await?;
        let policy = self.policy().await?;
        let mut rows: Vec<ListRow> = due
            .into_iter()
            .filter_map(|(id, due)| {
                let judged_on = date.min(today);
                list_row(id, due, data.get(&id)?, &mut facts, date, judged_on, &policy)
            })
            .collect();
        rows.sort_by(|a, b| {
            (
                a.window.map(|w| w.start),
                &a.patient.family_name,
                &a.patient.given_name,
            )
                .cmp(&(
                    b.window.map(|w| w.start),
                    &b.patient.family_name,
                    &b.patient.given_name,
                ))
        });
        let mut uncovered = facts.with_people(uncovered);
        uncovered.sort_by_key(|(p, u)| (u.dose_date, p.family_name.clone()));
        let mut paused = facts.with_people(paused);
        paused.sort_by(|a, b| a.0.family_name.cmp(&b.0.family_name));
        let holiday = samhand_domain::calendar::public_holiday(date).map(|h| h.name_nb());
        let closed = (!place.is_open_on(date)).then(|| match holiday {
            Some(holiday) => format!("Stengt: {holiday}"),
            None => "Stengt denne dagen".to_string(),
        });
        let names = self.names(recorders_of(&rows)).await?;
        let confirmation = self.offline_confirmation_reason().await?;
        Ok(TodayList {
            at_edge: self.state.edge.is_some(),
            confirmation,
            place,
            date,
            now: self.now(),
            closed,
            holiday,
            rows,
            uncovered,
            paused,
            names,
        })
    }

    /// What the list shows of the patients on it, read as the policy allows: the
    /// read decided and audited for each (dispensing), the health information the
    /// patient shares with the place, and their recordings around `date`.
    async fn list_facts(
        &self,
        listed: &[PatientId],
        data: &HashMap<PatientId, PatientData>,
        date: Date,
    ) -> AppResult<ListFacts> {
        let with_relations: Vec<(PatientId, PatientRelations)> = relations_of(data, listed, self.now());
        // The list's audit entry commits while its facts are read (nothing is
        // returned before it has).
        let (_, facts) = self
            .repo
            .authorize_list_reads_while(
                &with_relations,
                DataCategory::Dispensing,
                "today's dispensing list",
                |allowed| self.read_list_facts(allowed, &with_relations, date),
            )
            .await?;
        Ok(facts)
    }

    /// [`Self::list_facts`] of the patients the place may read.
    async fn read_list_facts(
        &self,
        allowed_ids: Vec<PatientId>,
        with_relations: &[(PatientId, PatientRelations)],
        date: Date,
    ) -> AppResult<ListFacts> {
        let allowed: HashSet<PatientId> = allowed_ids.iter().copied().collect();
        let shared_with_place: Vec<(PatientId, PatientRelations)> = with_relations
            .iter()
            .filter(|(id, _)| allowed.contains(id))
            .cloned()
            .collect();
        let health_allowed = self
            .repo
            .optional_list_reads(
                &shared_with_place,
                DataCategory::HealthInformation,
                "today's dispensing list: health information",
            )
            .await?;
        let health = self.health_notes_of_allowed(&health_allowed).await?;
        let (from, to) = recorded_range(date, self.today());
        let mut conn = self.state.store.reader().await?;
        let recent = dispensing_store::recent_doses_of(
            &mut conn,
            &allowed_ids,
            from,
            near_days(date, self.today()),
            to,
        )
        .await?;
        Ok(ListFacts {
            people: patients::patients_of(&mut conn, &allowed_ids)
                .await?
                .into_iter()
                .map(|p| (p.id, p))
                .collect(),
            recorded: by_patient(recent.doses, |d| d.patient_id),
            dosed_days: recent.dosed_days,
            corrections: by_patient(
                dispensing_store::corrections_of(&mut conn, &allowed_ids, date, date).await?,
                |c| c.event.patient_id,
            ),
            ever_dosed: recent.ever_given,
            groups: (*self.directory(&mut conn).await?.groups(&mut conn).await?).clone(),
            health,
        })
    }

    /// Doses in the days ahead that this place hands out but would fall on a day it
    /// is closed, with nothing covering them.
    pub(super) async fn uncovered_at(
        &self,
        place: &Organisation,
        candidates: &[PatientId],
        data: &HashMap<PatientId, PatientData>,
        date: Date,
    ) -> AppResult<Vec<(PatientId, UncoveredDay)>> {
        let policy = self.policy().await?;
        let organisations = self.organisations().await?;
        let is_open = |p: OrganisationId, d: Date| organisations.get(&p).is_none_or(|o| o.is_open_on(d));
        let horizon = date
            .checked_add(Span::new().days(policy.holiday_warning_days))
            .unwrap_or(date);
        Ok(candidates
            .iter()
            .flat_map(|id| {
                data.get(id)
                    .and_then(|d| with_schedule(d, date, |s| s.uncovered_days(date, horizon, &is_open)))
                    .unwrap_or_default()
                    .into_iter()
                    .filter(|u| u.place == place.id)
                    .map(|u| (*id, u))
            })
            .collect())
    }
}

/// What the list knows of the patients the policy let the place read.
struct ListFacts {
    people: HashMap<PatientId, Patient>,
    /// Recorded doses in full: near the day, and depot injections of the lookback.
    recorded: HashMap<PatientId, Vec<DispensedDose>>,
    /// The days of the lookback each patient had a dose, ascending.
    dosed_days: HashMap<PatientId, Vec<Date>>,
    corrections: HashMap<PatientId, Vec<CorrectionRecord>>,
    ever_dosed: HashSet<PatientId>,
    groups: Vec<samhand_domain::arrangement::PatientGroup>,
    health: HashMap<PatientId, Vec<samhand_domain::health::HealthNote>>,
}

impl ListFacts {
    /// Items about patients, with each patient the place may read.
    fn with_people<T>(&self, items: Vec<(PatientId, T)>) -> Vec<(Patient, T)> {
        items
            .into_iter()
            .filter_map(|(id, item)| self.people.get(&id).map(|p| (p.clone(), item)))
            .collect()
    }
}

/// One patient's row: what is still due with what was recorded, the missed-dose
/// state as of `judged_on`, the time window, the hold and the identity-check marks.
/// `None` when the place may not read the patient or nothing is left to show.
fn list_row(
    id: PatientId,
    due: Vec<DueDose>,
    data: &PatientData,
    facts: &mut ListFacts,
    date: Date,
    judged_on: Date,
    policy: &samhand_domain::policy::ClinicalPolicy,
) -> Option<ListRow> {
    let patient = facts.people.get(&id)?.clone();
    let recorded = facts.recorded.get(&id).map(Vec::as_slice).unwrap_or_default();
    let dosed_days = facts.dosed_days.get(&id).map(Vec::as_slice).unwrap_or_default();
    let missed = missed_state_on(data, dosed_days, judged_on, policy);
    let arrangement = effective_arrangement(&data.arrangements, date);
    let group = arrangement
        .and_then(|a| a.content.group_id)
        .and_then(|g| facts.groups.iter().find(|x| x.id == g));
    let window = arrangement
        .and_then(|a| a.content.window)
        .or(group.map(|g| g.window));
    let past = past_doses(recorded);
    let due = samhand_domain::dispensing::still_due(due, &past, date);
    if due.is_empty() {
        return None;
    }
    let due = due
        .into_iter()
        .map(|d| {
            let done = recorded.iter().find(|r| r.key == d.scheduled.key).cloned();
            (d, done)
        })
        .collect();
    Some(ListRow {
        patient,
        window,
        group: group.map(|g| g.name.clone()),
        due,
        after_stay: samhand_domain::stay::block_follows_stay(&data.privacy.stays, &missed),
        missed,
        health: facts.health.remove(&id),
        hold: take_home_hold(&past, date),
        first_dose: !facts.ever_dosed.contains(&id),
        corrections: facts.corrections.remove(&id).unwrap_or_default(),
    })
}

/// Patients whose place this is, at an institution that day: the list says why
/// they are not on it.
fn paused_at(
    place: &Organisation,
    candidates: &[PatientId],
    data: &HashMap<PatientId, PatientData>,
    date: Date,
) -> Vec<(PatientId, String)> {
    candidates
        .iter()
        .filter_map(|id| {
            let d = data.get(id)?;
            let here =
                effective_arrangement(&d.arrangements, date).is_some_and(|a| a.content.place_id == place.id);
            let stay = samhand_domain::stay::pausing_stay(&d.privacy.stays, date)?;
            (here && d.episode_on(date).is_some_and(|e| e.is_active_on(date)))
                .then(|| (*id, samhand_domain::stay::pause_note(stay)))
        })
        .collect()
}

/// Who recorded the doses on the list, and who corrected them (for their names).
fn recorders_of(rows: &[ListRow]) -> Vec<UserId> {
    rows.iter()
        .flat_map(|row| {
            row.due
                .iter()
                .filter_map(|(_, recorded)| recorded.as_ref().map(|r| r.recorded_by))
                .chain(row.corrections.iter().map(|c| c.event.recorded_by))
        })
        .collect()
}
