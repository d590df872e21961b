//! The dispensing history of each demo patient, from the start of the history to
//! yesterday, and the missed-dose check of it: the demo is only written when the
//! rule blocks exactly the patient it means to.

use std::collections::HashSet;

use anyhow::anyhow;
use jiff::SignedDuration;
use jiff::civil::Date;
use samhand_domain::arrangement::{Arrangement, TimeWindow, effective_arrangement};
use samhand_domain::dispensing::{Outcome, RecordedDose, plan_recording};
use samhand_domain::dose::Dose;
use samhand_domain::ids::{DispensingId, DoseOrderId};
use samhand_domain::missed::MissedDosePolicy;
use samhand_domain::schedule::{CoverKind, DoseKey, DueDose, IntakeMode, PatientSchedule};
use samhand_domain::stock::Take;
use samhand_domain::substance::Substance;
use samhand_domain::time::{days_inclusive, oslo_timestamp};
use samhand_store::dispensing::DispensingEvent;

use super::generator::{Generator, Habits, PatientPlan};
use super::plus;
use super::world::Place;

pub(super) struct PlannedEvent {
    pub(super) event: DispensingEvent,
    pub(super) doses: Vec<RecordedDose>,
    pub(super) substance: Substance,
    pub(super) order_ids: Vec<DoseOrderId>,
    /// The products the dose was taken from ([`StockPlan::take_from_shelves`](super::stock::StockPlan::take_from_shelves)).
    pub(super) takes: Vec<Take>,
}

impl PlannedEvent {
    pub(super) fn given(&self) -> Dose {
        self.doses.iter().map(|d| d.amount).sum()
    }
}

impl Generator<'_> {
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
            let window = window_at(place, arrangement, place_index == plan.place);
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
            let outcome = self.outcome(habits, &due, single_supervised, may_go_without);
            if outcome.is_dosed() {
                run_without = 0;
            } else {
                run_without += dates.len();
            }
            let recorded = plan_recording(&due, &[], &already, &outcome, true, false)
                .map_err(|refusal| anyhow!("demo dispensing refused: {refusal}"))?;
            already.extend(recorded.iter().map(|r| r.key));
            events.push(self.planned_event(plan, place, day, window, &due, recorded, &outcome));
        }
        Ok(events)
    }

    /// What happened at the window: mostly given; now and then withheld or reduced
    /// after the assessment, where a missed day does not risk a block.
    fn outcome(
        &mut self,
        habits: Habits,
        due: &[DueDose],
        single_supervised: bool,
        may_go_without: bool,
    ) -> Outcome {
        if habits.stopped_coming {
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
        }
    }

    /// The recorded dispensing: by one of the place's staff, at a time within the
    /// window, with the products taken from stock filled in later.
    #[allow(clippy::too_many_arguments)]
    fn planned_event(
        &mut self,
        plan: &PatientPlan,
        place: &Place,
        day: Date,
        window: TimeWindow,
        due: &[DueDose],
        recorded: Vec<RecordedDose>,
        outcome: &Outcome,
    ) -> PlannedEvent {
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
        PlannedEvent {
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
        }
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

/// The window the patient comes in: their own or their group's at their own place,
/// the place's usual one at the holiday place.
fn window_at(place: &Place, arrangement: &Arrangement, own_place: bool) -> TimeWindow {
    if own_place {
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
    })
}
