//! Today's list at a place: who is due, what was recorded, the missed-dose state,
//! the time windows and the identity-check marks, read as the policy allows.

use std::sync::{Arc, OnceLock};

use samhand_domain::health::HealthNote;

use super::*;
use crate::kept::{FactsKey, KeptFacts, KeptPatient, View};

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
        // What this process keeps of the candidates, without those changed since
        // (H107); the rest is read and kept once the list is made.
        let view = {
            let mut conn = self.state.store.reader().await?;
            self.state.kept.view(&mut conn, &candidates).await?
        };
        let mut read: HashMap<PatientId, KeptPatient> = HashMap::new();
        let data = self.list_data(&view, &candidates, &mut read).await?;
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
        let mut facts = self.list_facts(&view, &mut read, &listed, &data, date).await?;
        self.state.kept.keep(&view, read);
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

    /// The schedule data of `ids`: as kept in `view`, or read (and put in `read`).
    async fn list_data(
        &self,
        view: &View,
        ids: &[PatientId],
        read: &mut HashMap<PatientId, KeptPatient>,
    ) -> AppResult<HashMap<PatientId, Arc<PatientData>>> {
        let mut data: HashMap<PatientId, Arc<PatientData>> = ids
            .iter()
            .filter_map(|id| Some((*id, view.patients.get(id)?.data.clone()?)))
            .collect();
        let missing = view.missing(ids, |p| p.data.is_some());
        if !missing.is_empty() {
            for (id, loaded) in self.load_data(&missing).await? {
                let loaded = Arc::new(loaded);
                read.entry(id).or_default().data = Some(loaded.clone());
                data.insert(id, loaded);
            }
        }
        Ok(data)
    }

    /// What the list shows of the patients on it, read as the policy allows: the
    /// read decided and audited for each (dispensing), the health information the
    /// patient shares with the place, and their recordings around `date`; as kept
    /// in `view`, or read (and put in `read`).
    async fn list_facts(
        &self,
        view: &View,
        read: &mut HashMap<PatientId, KeptPatient>,
        listed: &[PatientId],
        data: &HashMap<PatientId, Arc<PatientData>>,
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
                |allowed| self.read_list_facts(allowed, &with_relations, date, view, read),
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
        view: &View,
        read: &mut HashMap<PatientId, KeptPatient>,
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
        let health = self.list_health(&health_allowed, view, read).await?;
        let (from, to) = recorded_range(date, self.today());
        let key = FactsKey {
            from,
            near: near_days(date, self.today()),
            to,
            day: date,
        };
        let mut facts: HashMap<PatientId, Arc<KeptFacts>> = allowed_ids
            .iter()
            .filter_map(|id| Some((*id, view.patients.get(id)?.facts_for(key)?.clone())))
            .collect();
        let missing = view.missing(&allowed_ids, |p| p.facts_for(key).is_some());
        let mut conn = self.state.store.reader().await?;
        if !missing.is_empty() {
            for (id, found) in read_facts(&mut conn, &missing, key).await? {
                let found = Arc::new(found);
                read.entry(id).or_default().facts = Some(found.clone());
                facts.insert(id, found);
            }
        }
        Ok(ListFacts {
            facts,
            groups: (*self.directory(&mut conn).await?.groups(&mut conn).await?).clone(),
            health,
        })
    }

    /// The health information in force of the patients the place may see it of:
    /// as kept in `view`, or read (and put in `read`).
    async fn list_health(
        &self,
        health_allowed: &[PatientId],
        view: &View,
        read: &mut HashMap<PatientId, KeptPatient>,
    ) -> AppResult<HashMap<PatientId, Arc<Vec<HealthNote>>>> {
        let missing = view.missing(health_allowed, |p| p.health.is_some());
        let mut found = self.health_notes_of_allowed(&missing).await?;
        Ok(health_allowed
            .iter()
            .filter_map(|id| {
                let notes = match found.remove(id) {
                    Some(notes) => {
                        let notes = Arc::new(notes);
                        read.entry(*id).or_default().health = Some(notes.clone());
                        notes
                    }
                    None => view.patients.get(id)?.health.clone()?,
                };
                Some((*id, notes))
            })
            .collect())
    }

    /// Doses in the days ahead that this place hands out but would fall on a day it
    /// is closed, with nothing covering them.
    pub(super) async fn uncovered_at(
        &self,
        place: &Organisation,
        candidates: &[PatientId],
        data: &HashMap<PatientId, Arc<PatientData>>,
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
    /// Each patient's identity, recorded doses and corrections.
    facts: HashMap<PatientId, Arc<KeptFacts>>,
    groups: Vec<samhand_domain::arrangement::PatientGroup>,
    /// The health information of the patients who share it with the place.
    health: HashMap<PatientId, Arc<Vec<HealthNote>>>,
}

impl ListFacts {
    fn person(&self, id: PatientId) -> Option<&Patient> {
        self.facts.get(&id)?.person.as_ref()
    }

    /// Items about patients, with each patient the place may read.
    fn with_people<T>(&self, items: Vec<(PatientId, T)>) -> Vec<(Patient, T)> {
        items
            .into_iter()
            .filter_map(|(id, item)| self.person(id).map(|p| (p.clone(), item)))
            .collect()
    }
}

/// The identity, recorded doses and corrections of `ids` as a list reads them for
/// `key`, in four statements.
async fn read_facts(
    conn: &mut impl samhand_store::native::Fetch,
    ids: &[PatientId],
    key: FactsKey,
) -> AppResult<HashMap<PatientId, KeptFacts>> {
    let recent = dispensing_store::recent_doses_of(conn, ids, key.from, key.near, key.to).await?;
    let mut people: HashMap<PatientId, Patient> = patients::patients_of(conn, ids)
        .await?
        .into_iter()
        .map(|p| (p.id, p))
        .collect();
    let mut recorded = by_patient(recent.doses, |d| d.patient_id);
    let mut dosed_days = recent.dosed_days;
    let mut corrections = by_patient(
        dispensing_store::corrections_of(conn, ids, key.day, key.day).await?,
        |c| c.event.patient_id,
    );
    Ok(ids
        .iter()
        .map(|id| {
            let facts = KeptFacts {
                read_for: key,
                person: people.remove(id),
                recorded: recorded.remove(id).unwrap_or_default(),
                dosed_days: dosed_days.remove(id).unwrap_or_default(),
                ever_dosed: recent.ever_given.contains(id),
                corrections: corrections.remove(id).unwrap_or_default(),
                missed: OnceLock::new(),
            };
            (*id, facts)
        })
        .collect())
}

/// One patient's row: what is still due with what was recorded, the missed-dose
/// state as of `judged_on`, the time window, the hold and the identity-check marks.
/// `None` when the place may not read the patient or nothing is left to show.
fn list_row(
    id: PatientId,
    due: Vec<DueDose>,
    data: &Arc<PatientData>,
    facts: &mut ListFacts,
    date: Date,
    judged_on: Date,
    policy: &samhand_domain::policy::ClinicalPolicy,
) -> Option<ListRow> {
    let kept = facts.facts.get(&id)?.clone();
    let patient = kept.person.clone()?;
    let recorded = kept.recorded.as_slice();
    let missed = kept.missed_state(data, judged_on, policy);
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
        health: facts.health.get(&id).map(|notes| notes.to_vec()),
        hold: take_home_hold(&past, date),
        first_dose: !kept.ever_dosed,
        corrections: kept.corrections.clone(),
    })
}

/// Patients whose place this is, at an institution that day: the list says why
/// they are not on it.
fn paused_at(
    place: &Organisation,
    candidates: &[PatientId],
    data: &HashMap<PatientId, Arc<PatientData>>,
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
