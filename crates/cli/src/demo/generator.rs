//! The [`Generator`]: synthetic patients, each with an episode, signed dose order
//! versions (in `orders.rs`), arrangement versions on the take-home ladder and covers
//! for the days their place is closed, drawn from one seeded random sequence so that
//! the demo world is the same on every run of the same day.

use std::collections::HashSet;

use anyhow::bail;
use jiff::Timestamp;
use jiff::civil::Date;
use samhand_domain::arrangement::{Arrangement, ArrangementContent, TimeWindow, WeekPlan};
use samhand_domain::dose_order::SignedDoseOrder;
use samhand_domain::ids::{ArrangementId, CoverId, EpisodeId, PatientId, UserId};
use samhand_domain::national_id::NationalId;
use samhand_domain::organisation::OrganisationKind;
use samhand_domain::patient::{Episode, NewPatient, Phase};
use samhand_domain::schedule::{
    Attendance, Cover, CoverKind, MAX_DAYS_AHEAD, PatientSchedule, validate_cover,
};
use samhand_domain::time::days_inclusive;

use super::history::PlannedEvent;
use super::world::{Place, World};
use super::{at, names, plus, png};
use crate::rng::Rng;

pub(super) struct PatientPlan {
    pub(super) id: PatientId,
    pub(super) patient: NewPatient,
    pub(super) photo: Vec<u8>,
    pub(super) created_by: UserId,
    pub(super) created_at: Timestamp,
    pub(super) episode: Episode,
    pub(super) orders: Vec<SignedDoseOrder>,
    pub(super) arrangements: Vec<Arrangement>,
    /// Days the place is closed, covered by take-home doses handed over before (or,
    /// failing that, by the holiday place).
    pub(super) covers: Vec<Cover>,
    pub(super) events: Vec<PlannedEvent>,
    /// Index into the world's places.
    pub(super) place: usize,
    /// Whether the missed-dose rule blocks the order today.
    pub(super) blocked: bool,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Stage {
    /// Started in the last two months, dose being built up.
    Start,
    /// Started three to six months ago.
    Stabilisation,
    /// In treatment for one to eight years.
    Continuation,
}

/// What happens at the window for one patient, beyond the ordinary.
#[derive(Debug, Clone, Copy)]
pub(super) struct Habits {
    /// Chance of not coming on an attendance day.
    pub(super) miss_rate: f64,
    /// The one patient who stopped coming: no dose on the last six days.
    pub(super) stopped_coming: bool,
    /// Did not come yesterday (an alert on today's list, not a block).
    pub(super) missed_yesterday: bool,
}

pub(super) struct Generator<'a> {
    pub(super) rng: Rng,
    pub(super) world: &'a World,
    pub(super) today: Date,
    pub(super) yesterday: Date,
    pub(super) history_from: Date,
    pub(super) used_numbers: HashSet<String>,
}

/// The week codes of the arrangement ladder (2010 guideline), most supervised first.
const DAILY: &str = "AAAAAAA";
/// Monday to Saturday at the place, Sunday's dose handed over on Saturday: for places
/// closed on Sundays.
const SIX_DAYS: &str = "AAAAAAT";
const THREE_A_WEEK: &str = "ATATATT";
const TWICE_A_WEEK: &str = "ATTATTT";
const ONCE_A_WEEK: &str = "ATTTTTT";

impl Generator<'_> {
    pub(super) fn patients(&mut self, count: usize) -> anyhow::Result<Vec<PatientPlan>> {
        // Places by share, the first centre taking what rounding leaves over.
        let mut place_of = Vec::with_capacity(count);
        for (index, place) in self.world.places.iter().enumerate().skip(1) {
            let n = (place.share * count as f64).round() as usize;
            place_of.extend(std::iter::repeat_n(index, n));
        }
        place_of.truncate(count.saturating_sub(1));
        let first = count - place_of.len();
        let mut all = vec![0; first];
        all.extend(place_of);
        // Two patients at the first centre stayed away yesterday; one stopped coming.
        let mut plans = Vec::with_capacity(count);
        for (i, place) in all.into_iter().enumerate() {
            let habits = Habits {
                miss_rate: match self.rng.below(100) {
                    0..=79 => 0.0,
                    80..=94 => 0.02,
                    _ => 0.05,
                },
                stopped_coming: i == 0,
                missed_yesterday: i == 1 || i == 2,
            };
            let habits = if i < 3 {
                Habits {
                    miss_rate: 0.0,
                    ..habits
                }
            } else {
                habits
            };
            plans.push(self.patient(place, habits)?);
        }
        self.take_home_from_today(&mut plans);
        Ok(plans)
    }

    /// One patient at the first centre, who would come tomorrow, takes tomorrow's
    /// dose home today by a cover the doctor decided yesterday: whatever the weekday,
    /// the window has a take-home hand-over to show (and to hold with a withheld dose).
    fn take_home_from_today(&self, plans: &mut [PatientPlan]) {
        let (today, tomorrow) = (self.today, plus(self.today, 1));
        let first_place = &self.world.places[0].org;
        if !first_place.is_open_on(today) || validate_cover(tomorrow, CoverKind::TakeHomeFrom(today)).is_err()
        {
            return;
        }
        // The first patients carry the demo's other stories (blocked, missed days,
        // care teams, the admission): the cover goes to one after them.
        let chosen = plans.iter_mut().skip(8).find(|plan| {
            let schedule = PatientSchedule {
                episode: &plan.episode,
                orders: &plan.orders,
                arrangements: &plan.arrangements,
                covers: &plan.covers,
                stays: &[],
            };
            let here = |day| {
                Some(Attendance {
                    day,
                    place: first_place.id,
                })
            };
            plan.place == 0
                && !plan.blocked
                && plan.covers.iter().all(|c| c.date != tomorrow)
                && schedule.doses_on(today).iter().all(|d| !d.substance.is_depot())
                && !schedule.doses_on(today).is_empty()
                && !schedule.doses_on(tomorrow).is_empty()
                && schedule.attendance_for(today) == here(today)
                && schedule.attendance_for(tomorrow) == here(tomorrow)
        });
        if let Some(plan) = chosen {
            plan.covers.push(Cover {
                id: CoverId::new(),
                patient_id: plan.id,
                date: tomorrow,
                kind: CoverKind::TakeHomeFrom(today),
                decided_by: plan.episode.doctor,
                decided_at: at(self.yesterday, 11, 0),
            });
        }
    }

    fn national_id(&mut self, woman: bool) -> NationalId {
        loop {
            let age = self.rng.between(25, 65) as i16;
            let year = self.today.year() - age;
            let month = self.rng.between(1, 12) as i8;
            let first = jiff::civil::date(year, month, 1);
            let day = self.rng.between(1, i64::from(first.days_in_month())) as i8;
            let birth = jiff::civil::date(year, month, day);
            let mut individual = if year >= 2000 {
                500 + self.rng.below(500) as u16
            } else {
                self.rng.below(500) as u16
            };
            // The last individual digit is even for women, odd for men.
            if (individual % 2 == 0) != woman {
                individual ^= 1;
            }
            if let Some(id) = NationalId::synthetic(birth, individual)
                && self.used_numbers.insert(id.as_str().to_string())
            {
                return id;
            }
        }
    }

    fn patient(&mut self, place_index: usize, habits: Habits) -> anyhow::Result<PatientPlan> {
        let world = self.world;
        let place = &world.places[place_index];
        let is_centre = place.org.kind == OrganisationKind::MunicipalLarCentre;
        let id = PatientId::new();
        let (patient, photo) = self.person(place);
        let (episode, stage) = self.episode(id, habits, place);
        let orders = self.orders(&episode, stage, is_centre && !habits.stopped_coming);
        let arrangements = self.arrangements(&episode, stage, place_index, &orders, habits);

        let mut plan = PatientPlan {
            id,
            patient,
            photo,
            created_by: episode.consultant,
            created_at: at(plus(episode.started_on, -21), 10, 15),
            episode,
            orders,
            arrangements,
            covers: Vec::new(),
            events: Vec::new(),
            place: place_index,
            blocked: false,
        };
        plan.covers = self.covers(&plan);
        plan.events = self.history(&plan, habits)?;
        plan.blocked = self.is_blocked(&plan);
        if plan.blocked != habits.stopped_coming {
            bail!(
                "demo patient {} {} is {} by the missed-dose rule, which the demo did not intend",
                plan.patient.given_name,
                plan.patient.family_name,
                if plan.blocked { "blocked" } else { "not blocked" }
            );
        }
        Ok(plan)
    }

    /// Who the patient is: name, national identity number, phone, an address near
    /// the place, and an identity photo.
    fn person(&mut self, place: &Place) -> (NewPatient, Vec<u8>) {
        let woman = self.rng.chance(0.3);
        let given_name = if woman {
            *self.rng.pick(names::WOMEN)
        } else {
            *self.rng.pick(names::MEN)
        };
        let family_name = *self.rng.pick(names::FAMILY);
        let national_id = self.national_id(woman);
        let phone = format!(
            "{}{:02} {:02} {:03}",
            if self.rng.chance(0.5) { 4 } else { 9 },
            self.rng.below(100),
            self.rng.below(100),
            self.rng.below(1000)
        );
        let address = format!(
            "{} {}, {} {}",
            self.rng.pick(names::STREETS),
            self.rng.between(1, 80),
            place.postcode,
            place.org.municipality
        );
        let hue = self.rng.below(6) as usize;
        let backgrounds: [png::Rgb; 6] = [
            [214, 228, 240],
            [226, 236, 218],
            [240, 228, 214],
            [232, 222, 240],
            [218, 236, 234],
            [238, 232, 210],
        ];
        let figures: [png::Rgb; 6] = [
            [70, 90, 120],
            [88, 110, 78],
            [122, 92, 70],
            [96, 80, 122],
            [66, 110, 106],
            [118, 104, 60],
        ];
        let photo = png::avatar(
            48,
            60,
            backgrounds[hue],
            figures[(hue + self.rng.below(3) as usize) % 6],
        );
        let patient = NewPatient {
            national_id,
            given_name: given_name.to_string(),
            family_name: family_name.to_string(),
            phone,
            address,
        };
        (patient, photo)
    }

    /// The treatment episode: how far into treatment the patient is, since when, and
    /// the doctor and consultant who follow them up.
    fn episode(&mut self, id: PatientId, habits: Habits, place: &Place) -> (Episode, Stage) {
        let world = self.world;
        let stage = if habits.stopped_coming || habits.missed_yesterday {
            Stage::Continuation
        } else if place.org.kind == OrganisationKind::Institution && self.rng.chance(0.5) {
            Stage::Start
        } else {
            match self.rng.below(100) {
                0..=5 => Stage::Start,
                6..=15 => Stage::Stabilisation,
                _ => Stage::Continuation,
            }
        };
        let started_on = match stage {
            Stage::Start => plus(self.today, -self.rng.between(1, 60)),
            Stage::Stabilisation => plus(self.today, -self.rng.between(90, 180)),
            Stage::Continuation => plus(self.today, -self.rng.between(365, 8 * 365)),
        };
        let doctor = *self.rng.pick(&world.prescribers);
        let consultant = *self.rng.pick(&world.consultants);
        let episode = Episode {
            id: EpisodeId::new(),
            patient_id: id,
            responsible_unit: world.unit.id,
            doctor,
            consultant,
            started_on,
            phase: match stage {
                Stage::Start => Phase::Start,
                Stage::Stabilisation => Phase::Stabilisation,
                Stage::Continuation => Phase::Continuation,
            },
            ended: None,
            created_at: at(started_on, 9, 0),
        };
        (episode, stage)
    }

    /// The arrangement versions: daily supervised intake at first, then a step on the
    /// ladder for those who have been stable for a while.
    fn arrangements(
        &mut self,
        episode: &Episode,
        stage: Stage,
        place_index: usize,
        orders: &[SignedDoseOrder],
        habits: Habits,
    ) -> Vec<Arrangement> {
        let world = self.world;
        let place = &world.places[place_index];
        let group = if !place.groups.is_empty() && self.rng.chance(0.8) {
            Some(self.rng.pick(&place.groups).clone())
        } else {
            None
        };
        let own_window = if group.is_none() {
            let (start, end) = place.own_window;
            TimeWindow::new(start, end)
        } else {
            None
        };
        let versions = self.arrangement_weeks(episode, stage, place_index, orders, habits);
        let count = versions.len();
        versions
            .into_iter()
            .enumerate()
            .map(|(i, (week, valid_from, reason))| {
                let last = i + 1 == count;
                let review_on = if !last {
                    plus(valid_from, 90)
                } else if self.rng.chance(0.1) {
                    // Overdue: the review date passed without a new decision.
                    plus(self.today, -self.rng.between(1, 30)).max(plus(valid_from, 1))
                } else {
                    plus(self.today, self.rng.between(7, 180))
                };
                let decided_on = plus(valid_from, -self.rng.between(1, 4));
                Arrangement {
                    id: ArrangementId::new(),
                    patient_id: episode.patient_id,
                    version: (i + 1) as u32,
                    content: ArrangementContent {
                        place_id: place.org.id,
                        week: WeekPlan::from_code(&week).expect("ladder week codes are valid"),
                        valid_from,
                        review_on,
                        group_id: group.as_ref().map(|g| g.id),
                        window: own_window,
                        reason,
                    },
                    decided_by: episode.doctor,
                    decided_at: at(decided_on, 14, self.rng.between(0, 59) as i8),
                }
            })
            .collect()
    }

    /// The week code of each arrangement version, from when it holds and why: daily
    /// from the start, then depot injections, a step up the ladder (and now and then
    /// back down after a relapse), or a first step with take-home doses.
    fn arrangement_weeks(
        &mut self,
        episode: &Episode,
        stage: Stage,
        place_index: usize,
        orders: &[SignedDoseOrder],
        habits: Habits,
    ) -> Vec<(String, Date, String)> {
        let world = self.world;
        let place = &world.places[place_index];
        let closed_sundays = !place.org.open_weekdays[6];
        let first_week = if closed_sundays { SIX_DAYS } else { DAILY };
        let start = episode.started_on;
        let mut versions: Vec<(String, Date, String)> = vec![(
            first_week.to_string(),
            start,
            "Daglig overvåket inntak i oppstarten.".to_string(),
        )];
        let depot_from = orders
            .iter()
            .find(|o| o.content().substance.is_depot())
            .map(|o| o.content().effective_from);
        if let Some(from) = depot_from {
            versions.push((
                ONCE_A_WEEK.to_string(),
                from,
                "Depotinjeksjon ved senteret; ingen ta-med-doser å utlevere.".to_string(),
            ));
        } else if stage == Stage::Continuation && !habits.stopped_coming && !habits.missed_yesterday {
            let week = self.ladder_week(place_index);
            if week != first_week {
                // Most moved up the ladder long ago; a few in the last weeks.
                let from = if self.rng.chance(0.1) {
                    plus(self.today, -self.rng.between(10, 40))
                } else {
                    plus(start, self.rng.between(90, 200)).min(plus(self.today, -45))
                };
                versions.push((
                    week.to_string(),
                    from,
                    "Stabil i behandlingen, rusfrie prøver og god oppfølging; flere ta-med-doser."
                        .to_string(),
                ));
                if week != DAILY && self.rng.chance(0.08) {
                    versions.push((
                        first_week.to_string(),
                        plus(self.today, -self.rng.between(3, 30)).max(plus(from, 7)),
                        "Tilbakefall; tilbake til daglig overvåket inntak inntil ny vurdering.".to_string(),
                    ));
                }
            }
        } else if stage == Stage::Stabilisation && self.rng.chance(0.4) {
            let week = if closed_sundays { SIX_DAYS } else { THREE_A_WEEK };
            if week != first_week {
                versions.push((
                    week.to_string(),
                    plus(start, 90),
                    "Tre måneder med daglig inntak uten bekymring; første trinn med ta-med-doser."
                        .to_string(),
                ));
            }
        }
        versions
    }

    /// The step on the ladder a patient in continuation has reached, drawn with
    /// weights that suit the place.
    fn ladder_week(&mut self, place_index: usize) -> &'static str {
        let place = &self.world.places[place_index];
        let closed_sundays = !place.org.open_weekdays[6];
        let ladder: &[(&'static str, u64)] = if place_index == 0 {
            &[
                (DAILY, 50),
                (THREE_A_WEEK, 20),
                (TWICE_A_WEEK, 15),
                (ONCE_A_WEEK, 15),
            ]
        } else if closed_sundays {
            &[
                (SIX_DAYS, 30),
                (THREE_A_WEEK, 25),
                (TWICE_A_WEEK, 25),
                (ONCE_A_WEEK, 20),
            ]
        } else if place.org.kind == OrganisationKind::MunicipalLarCentre {
            &[
                (DAILY, 30),
                (THREE_A_WEEK, 25),
                (TWICE_A_WEEK, 25),
                (ONCE_A_WEEK, 20),
            ]
        } else {
            &[(DAILY, 100)]
        };
        let mut roll = self.rng.below(100);
        ladder
            .iter()
            .find(|(_, weight)| {
                if roll < *weight {
                    true
                } else {
                    roll -= weight;
                    false
                }
            })
            .map(|(week, _)| *week)
            .unwrap_or(DAILY)
    }

    /// Covers for the days whose dose would be collected when the place is closed (a
    /// public holiday, or a pharmacy's Sunday): take-home doses handed over on the
    /// last open day before, within the week that take-home doses may span; else on
    /// the first open day after; else at the holiday place. Every past day is covered;
    /// for the coming two weeks most patients are, and the rest show as warnings on
    /// the list until the prescriber decides.
    fn covers(&mut self, plan: &PatientPlan) -> Vec<Cover> {
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
}
