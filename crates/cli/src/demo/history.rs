//! The patients' past: covers for the days a place was closed, the dispensing
//! history, and the missed-dose rule applied to it.

use super::*;

impl Generator<'_> {
    /// Covers for the days whose dose would be collected when the place is closed (a
    /// public holiday, or a pharmacy's Sunday): take-home doses handed over on the
    /// last open day before, within the week that take-home doses may span; else on
    /// the first open day after; else at the holiday place. Every past day is covered;
    /// for the coming two weeks most patients are, and the rest show as warnings on
    /// the list until the prescriber decides.
    pub(super) fn covers(&mut self, plan: &PatientPlan) -> Vec<Cover> {
        let world = self.world;
        let place = &world.places[plan.place];
        let schedule = PatientSchedule {
            episode: &plan.episode,
            orders: &plan.orders,
            arrangements: &plan.arrangements,
            covers: &[],
            stays: &[],
        };
        let decided_ahead = self.rng.chance(0.7);
        let mut covers = Vec::new();
        for date in days_inclusive(self.history_from, plus(self.today, 14)) {
            if schedule.doses_on(date).is_empty() {
                continue;
            }
            let Some(attendance) = schedule.attendance_for(date) else {
                continue;
            };
            if place.org.is_open_on(attendance.day) || (date >= self.today && !decided_ahead) {
                continue;
            }
            let earliest = plus(date, -(MAX_DAYS_AHEAD - 1));
            let before = days_inclusive(earliest, plus(attendance.day, -1))
                .filter(|d| place.org.is_open_on(*d))
                .last();
            let after =
                days_inclusive(plus(attendance.day, 1), plus(date, -1)).find(|d| place.org.is_open_on(*d));
            let kind = match before.or(after) {
                Some(from) => CoverKind::TakeHomeFrom(from),
                None => CoverKind::AtPlace(world.places[0].org.id),
            };
            let kind = if validate_cover(date, kind).is_ok() {
                kind
            } else {
                CoverKind::AtPlace(world.places[0].org.id)
            };
            let decided_on = match kind {
                CoverKind::TakeHomeFrom(from) => from,
                CoverKind::AtPlace(_) => date,
            }
            .min(self.today);
            covers.push(Cover {
                id: CoverId::new(),
                patient_id: plan.id,
                date,
                kind,
                decided_by: plan.episode.doctor,
                decided_at: at(plus(decided_on, -self.rng.between(3, 10)), 11, 0),
            });
        }
        covers
    }

    /// The dispensings from the start of the history to yesterday: what the schedule
    /// says was due at the place each day, mostly given, now and then withheld,
    /// reduced or not collected. A run of days without dose is kept to three, so that
    /// only the patient who stopped coming is blocked.
    pub(super) fn history(
        &mut self,
        plan: &PatientPlan,
        habits: Habits,
    ) -> anyhow::Result<Vec<PlannedEvent>> {
        let world = self.world;
        let schedule = PatientSchedule {
            episode: &plan.episode,
            orders: &plan.orders,
            arrangements: &plan.arrangements,
            covers: &plan.covers,
            stays: &[],
        };
        // The patient's own place, and the holiday place if a cover sends them there.
        let mut place_indexes = vec![plan.place];
        if plan.place != 0
            && plan
                .covers
                .iter()
                .any(|c| matches!(c.kind, CoverKind::AtPlace(_)))
        {
            place_indexes.push(0);
        }
        let stopped_from = plus(self.yesterday, -5);
        let mut already: HashSet<DoseKey> = HashSet::new();
        let mut run_without = 0usize;
        let mut events = Vec::new();
        for (day, place_index) in days_inclusive(self.history_from, self.yesterday)
            .flat_map(|day| place_indexes.iter().map(move |p| (day, *p)))
        {
            let place = &world.places[place_index];
            let Some(arrangement) = effective_arrangement(&plan.arrangements, day) else {
                continue;
            };
            if !place.org.is_open_on(day) {
                continue;
            }
            // Demo patients take a depot injection on its scheduled day (its window
            // lets it be given a little early or late), and nothing twice.
            let due: Vec<_> = schedule
                .due_at(place.org.id, day)
                .into_iter()
                .filter(|d| !already.contains(&d.scheduled.key))
                .filter(|d| d.mode != IntakeMode::Injection || d.scheduled.key.date == day)
                .collect();
            if due.is_empty() {
                continue;
            }
            let window = if place_index == plan.place {
                arrangement.content.window.or_else(|| {
                    place
                        .groups
                        .iter()
                        .find(|g| Some(g.id) == arrangement.content.group_id)
                        .map(|g| g.window)
                })
            } else {
                None
            }
            .unwrap_or(TimeWindow {
                start: place.own_window.0,
                end: place.own_window.1,
            });
            let dates: HashSet<Date> = due.iter().map(|d| d.scheduled.key.date).collect();
            let single_supervised = due.len() == 1 && due[0].mode == IntakeMode::Supervised;
            let may_go_without = run_without + dates.len() <= 3;
            if habits.stopped_coming && day >= stopped_from {
                continue;
            }
            let stayed_away = (habits.missed_yesterday && day == self.yesterday)
                || (may_go_without && self.rng.chance(habits.miss_rate));
            if stayed_away {
                run_without += dates.len();
                continue;
            }
            let outcome = if habits.stopped_coming {
                Outcome::Given
            } else if single_supervised && may_go_without && self.rng.chance(0.004) {
                Outcome::Withheld {
                    reason: self.rng.pick(&[
                        "Tydelig ruset ved forsvarlighetsvurderingen (sluddrete tale, ustø). Dosen holdt tilbake; lege varslet.",
                        "Pasienten virket sterkt påvirket av benzodiazepiner. Dosen holdt tilbake etter samtale; lege varslet samme dag.",
                    ])
                    .to_string(),
                }
            } else if single_supervised && self.rng.chance(0.004) {
                let ordered = due[0].scheduled.dose.micrograms();
                let half = (ordered / 2 / 1000).max(1) * 1000;
                Outcome::Reduced {
                    given: Dose::from_micrograms(half),
                    reason: "Påvirket ved oppmøte, men ikke tydelig ruset. Halv dose etter samtale med lege på telefon.".to_string(),
                }
            } else {
                Outcome::Given
            };
            if outcome.is_dosed() {
                run_without = 0;
            } else {
                run_without += dates.len();
            }
            let recorded = plan_recording(&due, &[], &already, &outcome, true, false)
                .map_err(|refusal| anyhow!("demo dispensing refused: {refusal}"))?;
            already.extend(recorded.iter().map(|r| r.key));
            let order_ids = recorded
                .iter()
                .map(|r| {
                    due.iter()
                        .find(|d| d.scheduled.key == r.key)
                        .map(|d| d.scheduled.order_id)
                        .expect("recorded from what was due")
                })
                .collect();
            let minutes = window.end.duration_since(window.start).as_mins();
            let arrived = window
                .start
                .checked_add(SignedDuration::from_mins(self.rng.between(0, minutes)))
                .expect("within the day");
            let recorded_at = oslo_timestamp(day.to_datetime(arrived));
            let staff = *self.rng.pick(&place.staff);
            let id = DispensingId::new();
            events.push(PlannedEvent {
                event: DispensingEvent {
                    id,
                    idempotency_key: format!("demo-{id}"),
                    patient_id: plan.id,
                    place_id: place.org.id,
                    day,
                    outcome: outcome.kind(),
                    reason: outcome.reason().map(str::to_string),
                    identity_confirmed_by: staff,
                    recorded_by: staff,
                    recorded_at,
                },
                substance: due[0].scheduled.substance,
                doses: recorded,
                order_ids,
                takes: Vec::new(),
            });
        }
        Ok(events)
    }

    /// The missed-dose rule applied to the history, as today's list will apply it.
    pub(super) fn is_blocked(&self, plan: &PatientPlan) -> bool {
        let schedule = PatientSchedule {
            episode: &plan.episode,
            orders: &plan.orders,
            arrangements: &plan.arrangements,
            covers: &plan.covers,
            stays: &[],
        };
        let dosed: HashSet<Date> = plan
            .events
            .iter()
            .filter(|e| e.event.outcome.is_dosed())
            .flat_map(|e| e.doses.iter().map(|d| d.key.date))
            .collect();
        // From a week into the history: the days before may have had take-home doses
        // handed over before the history starts.
        let from = plus(self.history_from, 7);
        schedule
            .missed_state_from(
                from,
                self.today,
                &|d| dosed.contains(&d),
                &MissedDosePolicy::default(),
            )
            .is_blocked()
    }
}
