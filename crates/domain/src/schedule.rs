//! The schedule: from signed orders, the arrangement and any holiday covers, which
//! doses a patient has on a day, and where and when each is collected. Today's list
//! and the holiday warnings are both read off this.

use jiff::Timestamp;
use jiff::civil::Date;

use crate::arrangement::{Arrangement, DayPlan, effective_arrangement};
use crate::dose::Dose;
use crate::dose_order::{SignedDoseOrder, dose_on};
use crate::ids::{CoverId, DoseOrderId, OrganisationId, PatientId, UserId};
use crate::patient::Episode;
use crate::stay::{StayRecord, pausing_stay};
use crate::substance::{DosingInterval, Substance};
use crate::time::{days_between, days_inclusive};

/// How a day that the place is closed on (or any other day) is covered instead.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CoverKind {
    /// The dose is handed over as a take-home dose on this earlier day.
    TakeHomeFrom(Date),
    /// The patient collects at another place that day (a holiday place).
    AtPlace(OrganisationId),
}

/// A prescriber's decision for one day, overriding the weekly plan.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Cover {
    pub id: CoverId,
    pub patient_id: PatientId,
    pub date: Date,
    pub kind: CoverKind,
    pub decided_by: UserId,
    pub decided_at: Timestamp,
}

/// Everything the schedule of one patient is computed from.
#[derive(Debug, Clone, Copy)]
pub struct PatientSchedule<'a> {
    pub episode: &'a Episode,
    pub orders: &'a [SignedDoseOrder],
    pub arrangements: &'a [Arrangement],
    pub covers: &'a [Cover],
    /// Stays at institutions: their days are the institution's, and dispensing at
    /// home pauses.
    pub stays: &'a [StayRecord],
}

/// One part of one day's dose: the unit that is dispensed exactly once.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct DoseKey {
    pub date: Date,
    /// 1-based part of a split dose.
    pub part: u8,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ScheduledDose {
    pub key: DoseKey,
    pub dose: Dose,
    pub substance: Substance,
    pub order_id: DoseOrderId,
    pub order_version: u32,
}

crate::coded! {
    #[derive(Debug, Clone, Copy, PartialEq, Eq)]
    pub enum IntakeMode {
        /// Taken at the place, under supervision, on its own day.
        Supervised = "supervised",
        /// Handed over on an earlier day for a day at home.
        TakeHome = "take_home",
        /// A depot injection given by health personnel.
        Injection = "injection",
    }
}

/// A dose due at an attendance: what staff hand over or watch being taken.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DueDose {
    pub scheduled: ScheduledDose,
    pub mode: IntakeMode,
}

/// Where and on which day a dose is collected.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Attendance {
    pub day: Date,
    pub place: OrganisationId,
}

/// The longest stretch of take-home days handed over at once (one week).
pub const MAX_DAYS_AHEAD: i64 = 7;

impl<'a> PatientSchedule<'a> {
    /// The doses of a day, one per part; empty when the episode is not running, no
    /// signed order or arrangement is in effect, or a depot injection is not due.
    pub fn doses_on(&self, date: Date) -> Vec<ScheduledDose> {
        let Some((order, daily)) = self.dosing_on(date) else {
            return Vec::new();
        };
        let content = order.content();
        daily
            .parts()
            .iter()
            .enumerate()
            .map(|(i, dose)| ScheduledDose {
                key: DoseKey {
                    date,
                    part: (i + 1) as u8,
                },
                dose: *dose,
                substance: content.substance,
                order_id: order.order().id,
                order_version: order.version(),
            })
            .collect()
    }

    /// Whether any dose is due on a date: [`Self::doses_on`] without the list.
    pub fn has_doses_on(&self, date: Date) -> bool {
        self.dosing_on(date)
            .is_some_and(|(_, daily)| !daily.parts().is_empty())
    }

    /// The order and its daily dose in effect on a date, when a dose is due.
    fn dosing_on(&self, date: Date) -> Option<(&'a SignedDoseOrder, &'a crate::dose_order::DailyDose)> {
        if !self.episode.is_active_on(date) || effective_arrangement(self.arrangements, date).is_none() {
            return None;
        }
        let (order, daily) = dose_on(self.orders, date)?;
        let content = order.content();
        if let DosingInterval::EveryDays(n) = content.substance.interval()
            && days_between(content.effective_from, date) % i64::from(n) != 0
        {
            return None;
        }
        Some((order, daily))
    }

    /// Whether dispensing at home pauses on a date (the patient is at an
    /// institution, which has the day's medication).
    pub fn is_paused(&self, date: Date) -> bool {
        pausing_stay(self.stays, date).is_some()
    }

    /// Where and when the dose of `date` is collected; `None` while a stay pauses
    /// dispensing at home.
    pub fn attendance_for(&self, date: Date) -> Option<Attendance> {
        if self.is_paused(date) {
            return None;
        }
        let arrangement = effective_arrangement(self.arrangements, date)?;
        let is_depot = dose_on(self.orders, date).is_some_and(|(o, _)| o.content().substance.is_depot());
        if is_depot || arrangement.content.week.on(date) == DayPlan::Attend {
            return Some(self.attendance_of_attend_day(date, arrangement));
        }
        let handover = arrangement.content.week.handover_day(date);
        let first_dose_day = self.orders.iter().map(|o| o.content().effective_from).min();
        if handover < arrangement.content.valid_from
            || first_dose_day.is_some_and(|first| handover < first)
            || self.is_paused(handover)
        {
            // The arrangement or the treatment started on a take-home day, or the
            // hand-over day fell in a stay: nothing was handed over for it, and a first
            // dose is never a take-home dose, so the day is taken at the place.
            return Some(self.attendance_of_attend_day(date, arrangement));
        }
        if let Some(cover) = self.cover_on(date) {
            return Some(self.resolve_cover(date, cover, arrangement));
        }
        Some(self.attendance_of_attend_day(handover, arrangement))
    }

    fn attendance_of_attend_day(&self, day: Date, arrangement: &Arrangement) -> Attendance {
        match self.cover_on(day) {
            Some(cover) => self.resolve_cover(day, cover, arrangement),
            None => Attendance {
                day,
                place: arrangement.content.place_id,
            },
        }
    }

    fn resolve_cover(&self, day: Date, cover: &Cover, arrangement: &Arrangement) -> Attendance {
        match cover.kind {
            CoverKind::AtPlace(place) => Attendance { day, place },
            // A hand-over day that fell in a stay never happened: the day is taken at
            // the place.
            CoverKind::TakeHomeFrom(from) if self.is_paused(from) => Attendance {
                day,
                place: arrangement.content.place_id,
            },
            CoverKind::TakeHomeFrom(from) => {
                let place = effective_arrangement(self.arrangements, from)
                    .map(|a| a.content.place_id)
                    .unwrap_or(arrangement.content.place_id);
                Attendance { day: from, place }
            }
        }
    }

    fn cover_on(&self, date: Date) -> Option<&Cover> {
        self.covers
            .iter()
            .filter(|c| c.date == date)
            .max_by_key(|c| c.decided_at)
    }

    /// The doses to hand over or supervise at a place on an attendance day: the day's
    /// own dose, and take-home doses for the days ahead that are collected then.
    pub fn due_at(&self, place: OrganisationId, day: Date) -> Vec<DueDose> {
        if let Some(window) =
            dose_on(self.orders, day).and_then(|(order, _)| order.content().substance.injection_window_days())
        {
            return self.injections_due_at(place, day, window);
        }
        let last = day
            .checked_add(jiff::Span::new().days(MAX_DAYS_AHEAD))
            .unwrap_or(day);
        let mut due = Vec::new();
        for date in days_inclusive(day, last) {
            let doses = self.doses_on(date);
            if doses.is_empty() {
                continue;
            }
            if self.attendance_for(date) != Some(Attendance { day, place }) {
                continue;
            }
            for scheduled in doses {
                let mode = if scheduled.substance.is_depot() {
                    IntakeMode::Injection
                } else if date == day {
                    IntakeMode::Supervised
                } else {
                    IntakeMode::TakeHome
                };
                due.push(DueDose { scheduled, mode });
            }
        }
        due
    }

    /// Depot injections planned for `day`, or planned up to `window` days before it
    /// and (as far as the schedule knows) not yet given: an injection is on the list
    /// from its planned day until its window closes, never before it.
    fn injections_due_at(&self, place: OrganisationId, day: Date, window: i64) -> Vec<DueDose> {
        let span = jiff::Span::new().days(window);
        let Ok(first) = day.checked_sub(span) else {
            return Vec::new();
        };
        days_inclusive(first, day)
            .filter(|date| self.attendance_for(*date).is_some_and(|a| a.place == place))
            .flat_map(|date| self.doses_on(date))
            .filter(|scheduled| scheduled.substance.is_depot())
            .map(|scheduled| DueDose {
                scheduled,
                mode: IntakeMode::Injection,
            })
            .collect()
    }

    /// Each day's outcome for the missed-dose rule, from `from` to `to`: not
    /// scheduled, dosed (per `dosed`, which says whether the patient had the medicine
    /// that day), or without dose.
    pub fn day_outcomes(
        &self,
        from: Date,
        to: Date,
        dosed: &dyn Fn(Date) -> bool,
    ) -> Vec<(Date, crate::missed::DayOutcome)> {
        use crate::missed::DayOutcome;
        // Samhand expects a dose only from the day it was told of the arrangement: a
        // day before that (an arrangement recorded with an earlier start) is unknown,
        // and counting it as missed would block a patient the moment they are entered.
        let known_from = self
            .arrangements
            .iter()
            .map(|a| crate::time::oslo_date(a.decided_at))
            .min();
        days_inclusive(from, to)
            .map(|date| {
                let outcome = if !self.has_doses_on(date) || known_from.is_none_or(|known| date < known) {
                    DayOutcome::NotScheduled
                } else if let Some(stay) = pausing_stay(self.stays, date) {
                    // A day at an institution counts as dosed only when the usual
                    // substitution dose was given (there, or at home before admission):
                    // a stay without it lowers tolerance exactly as missed days do.
                    if stay.substitution_on(date) || dosed(date) {
                        DayOutcome::Dosed
                    } else {
                        DayOutcome::WithoutDose
                    }
                } else if dosed(date) {
                    DayOutcome::Dosed
                } else {
                    DayOutcome::WithoutDose
                };
                (date, outcome)
            })
            .collect()
    }

    /// The missed-dose state as of `today` (before today's dose): each day of the
    /// rule's lookback judged by `dosed` (whether the patient had the medicine that
    /// day), assessed against the reassessments. The one composition of the rule that
    /// the list, the alerts, FHIR and the demo all use.
    pub fn missed_state(
        &self,
        today: Date,
        dosed: &dyn Fn(Date) -> bool,
        policy: &crate::missed::MissedDosePolicy,
    ) -> crate::missed::MissedDoseState {
        self.missed_state_from(crate::missed::lookback_from(today), today, dosed, policy)
    }

    /// As [`Self::missed_state`], looking back only to `from` when that is later than
    /// the lookback (a history known only from then).
    pub fn missed_state_from(
        &self,
        from: Date,
        today: Date,
        dosed: &dyn Fn(Date) -> bool,
        policy: &crate::missed::MissedDosePolicy,
    ) -> crate::missed::MissedDoseState {
        let from = from.max(crate::missed::lookback_from(today));
        let days = self.day_outcomes(from, crate::time::previous_day(today), dosed);
        crate::missed::assess(&days, &self.reassessment_dates(), today, policy)
    }

    /// The days from which each signed version counts as a reassessment that may
    /// clear a block: the day it was signed or the day it takes effect, whichever is
    /// later. An order signed today that starts tomorrow leaves today's old dose
    /// blocked; the reassessed dose is the one given when the block lifts.
    pub fn reassessment_dates(&self) -> Vec<Date> {
        self.orders
            .iter()
            .map(|o| crate::time::oslo_date(o.signature().signed_at).max(o.content().effective_from))
            .collect()
    }

    /// Days from `from` to `to` whose doses would be collected on a day the place is
    /// closed, with nothing covering them. `is_open` tells whether a place is open on a
    /// date (public holidays and opening days).
    pub fn uncovered_days(
        &self,
        from: Date,
        to: Date,
        is_open: &dyn Fn(OrganisationId, Date) -> bool,
    ) -> Vec<UncoveredDay> {
        let mut uncovered = Vec::new();
        for date in days_inclusive(from, to) {
            if !self.has_doses_on(date) {
                continue;
            }
            if let Some(attendance) = self.attendance_for(date)
                && !is_open(attendance.place, attendance.day)
            {
                uncovered.push(UncoveredDay {
                    dose_date: date,
                    closed_day: attendance.day,
                    place: attendance.place,
                });
            }
        }
        uncovered
    }
}

/// A dose that would have to be collected on a day the place is closed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct UncoveredDay {
    pub dose_date: Date,
    pub closed_day: Date,
    pub place: OrganisationId,
}

/// Whether a cover may be set: a take-home hand-over must come before the day it
/// covers and not more than a week ahead (DOMAIN.md: at most one week of take-home).
pub fn validate_cover(date: Date, kind: CoverKind) -> Result<(), &'static str> {
    match kind {
        CoverKind::TakeHomeFrom(from) if from >= date => {
            Err("Ta-med-dosen må utleveres før dagen den dekker.")
        }
        CoverKind::TakeHomeFrom(from) if days_between(from, date) > MAX_DAYS_AHEAD - 1 => {
            Err("Ta-med-doser kan ikke utleveres mer enn en uke før.")
        }
        _ => Ok(()),
    }
}

/// How far ahead a single day may be covered (a cover at another place gives that
/// place access until the day).
pub const MAX_COVER_DAYS_AHEAD: i64 = 90;

/// A cover as typed: the day to cover, and either the day its take-home dose is
/// handed over or another place (its id, one of `places`).
pub struct CoverInput<'a> {
    pub date: &'a str,
    pub take_home_from: &'a str,
    pub place: &'a str,
}

/// Reads and checks a cover on `today`: a day not past and at most
/// [`MAX_COVER_DAYS_AHEAD`] ahead; a take-home hand-over before the day, within a
/// week, and not past; or one of the dispensing `places`. Every field's error.
pub fn parse_cover(
    input: &CoverInput<'_>,
    places: &[OrganisationId],
    today: Date,
) -> Result<(Date, CoverKind), crate::validation::FieldErrors> {
    use crate::validation::parse_date;
    let mut errors = crate::validation::FieldErrors::default();
    let date = parse_date(input.date);
    if date.is_none() {
        errors.push("cover_date", "Skriv inn datoen som skal dekkes (dd.mm.åååå).");
    }
    let kind = match (input.take_home_from.trim(), input.place.trim()) {
        (from, "") if !from.is_empty() => match parse_date(from) {
            Some(d) => Some(CoverKind::TakeHomeFrom(d)),
            None => {
                errors.push(
                    "take_home_from",
                    "Skriv inn en gyldig dato for utlevering av ta-med-dose.",
                );
                None
            }
        },
        ("", place) if !place.is_empty() => match places.iter().find(|p| p.to_string() == place) {
            Some(p) => Some(CoverKind::AtPlace(*p)),
            None => {
                errors.push("place_id", "Velg et utleveringssted.");
                None
            }
        },
        _ => {
            errors.push(
                "take_home_from",
                "Velg enten ta-med-dose fra en dato eller et annet utleveringssted.",
            );
            None
        }
    };
    if let (Some(date), Some(kind)) = (date, kind) {
        if let Err(message) = validate_cover(date, kind) {
            errors.push("take_home_from", message);
        }
        if date < today {
            errors.push("cover_date", "Dagen som skal dekkes kan ikke ha vært.");
        } else if days_between(today, date) > MAX_COVER_DAYS_AHEAD {
            errors.push("cover_date", "Dekning kan legges inn for høyst 90 dager fram.");
        }
        if let CoverKind::TakeHomeFrom(from) = kind
            && from < today
        {
            errors.push(
                "take_home_from",
                "Utleveringsdagen for ta-med-dosen kan ikke ha vært.",
            );
        }
    }
    match (date, kind) {
        (Some(date), Some(kind)) if errors.is_empty() => Ok((date, kind)),
        _ => Err(errors),
    }
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;
    use crate::arrangement::{ArrangementContent, TimeWindow, WeekPlan};
    use crate::dose_order::DoseOrderContent;
    use crate::dose_order::tests::{input, signed_history};
    use crate::ids::{ArrangementId, EpisodeId};
    use crate::patient::Phase;
    use jiff::civil::{Time, date};

    pub struct World {
        pub episode: Episode,
        pub orders: Vec<SignedDoseOrder>,
        pub arrangements: Vec<Arrangement>,
        pub covers: Vec<Cover>,
        pub stays: Vec<StayRecord>,
        pub place: OrganisationId,
    }

    impl World {
        pub fn schedule(&self) -> PatientSchedule<'_> {
            PatientSchedule {
                episode: &self.episode,
                orders: &self.orders,
                arrangements: &self.arrangements,
                covers: &self.covers,
                stays: &self.stays,
            }
        }
    }

    /// A patient enrolled 1 November 2026 on `parts` mg methadone, with the given week.
    pub fn world(week: &str, parts: &[&str]) -> World {
        let place = OrganisationId::new();
        let patient_id = PatientId::new();
        let episode = Episode {
            id: EpisodeId::new(),
            patient_id,
            responsible_unit: OrganisationId::new(),
            doctor: UserId::new(),
            consultant: UserId::new(),
            started_on: date(2026, 11, 1),
            phase: Phase::Stabilisation,
            ended: None,
            created_at: Timestamp::UNIX_EPOCH,
        };
        let content =
            DoseOrderContent::parse(&input("methadone_oral_solution", parts, "2026-11-01")).expect("valid");
        let arrangement = Arrangement {
            id: ArrangementId::new(),
            patient_id,
            version: 1,
            content: ArrangementContent {
                place_id: place,
                week: WeekPlan::from_code(week).expect("week"),
                valid_from: date(2026, 11, 1),
                review_on: date(2027, 2, 1),
                group_id: None,
                window: TimeWindow::new(Time::constant(8, 0, 0, 0), Time::constant(9, 30, 0, 0)),
                reason: "Oppstart".into(),
            },
            decided_by: UserId::new(),
            decided_at: Timestamp::UNIX_EPOCH,
        };
        World {
            episode,
            orders: signed_history(&[content]),
            arrangements: vec![arrangement],
            covers: vec![],
            stays: vec![],
            place,
        }
    }

    /// A stay from `from`, without the substitution dose, discharged on `out` with
    /// home dispensing resuming on `resume` (still at the institution when `None`).
    pub fn stay(w: &World, from: Date, out: Option<(Date, Date)>) -> StayRecord {
        use crate::stay::{Discharge, Stay, StayEvent, StayEventId, StayEventKind, StayKind};
        let stay = Stay {
            id: crate::ids::StayId::new(),
            patient_id: w.episode.patient_id,
            kind: StayKind::Institution,
            institution: "Fjordvik behandlingssenter".into(),
            institution_id: None,
            starts_on: from,
            planned_end_on: None,
            opioid_use: true,
            substitution_continued: false,
            recorded_by: UserId::new(),
            recorded_at: Timestamp::UNIX_EPOCH,
        };
        let mut record = StayRecord::new(stay);
        if let Some((on, resume_on)) = out {
            record.events.push(StayEvent {
                id: StayEventId::new(),
                stay_id: record.stay.id,
                kind: StayEventKind::Discharged(Discharge {
                    on,
                    planned: true,
                    resume_on,
                }),
                reason: String::new(),
                recorded_by: UserId::new(),
                recorded_at: Timestamp::UNIX_EPOCH,
            });
        }
        record
    }

    #[test]
    fn a_stay_pauses_home_dispensing_and_it_resumes_on_the_agreed_day_with_no_day_twice_or_by_nobody() {
        // Attend Monday to Friday, take-home for the weekend handed over on Friday.
        let mut w = world("AAAAATT", &["60"]);
        // Admitted Thursday 12 November, discharged Tuesday 17th, home from Wednesday.
        w.stays = vec![stay(
            &w,
            date(2026, 11, 12),
            Some((date(2026, 11, 17), date(2026, 11, 18))),
        )];
        let s = w.schedule();
        let mut handed_over: Vec<Date> = Vec::new();
        for day in crate::time::days_inclusive(date(2026, 11, 2), date(2026, 11, 30)) {
            for due in s.due_at(w.place, day) {
                handed_over.push(due.scheduled.key.date);
            }
        }
        for day in crate::time::days_inclusive(date(2026, 11, 2), date(2026, 11, 30)) {
            let times = handed_over.iter().filter(|d| **d == day).count();
            let at_institution = (date(2026, 11, 12)..date(2026, 11, 18)).contains(&day);
            assert_eq!(
                times,
                usize::from(!at_institution),
                "{day}: handed over {times} times"
            );
            assert_eq!(s.attendance_for(day).is_none(), at_institution, "{day}");
        }
        // Friday the 13th, at the institution, is no hand-over day for the weekend.
        assert!(s.due_at(w.place, date(2026, 11, 13)).is_empty());
    }

    #[test]
    fn a_take_home_day_whose_hand_over_fell_in_the_stay_is_taken_at_the_place() {
        let mut w = world("AAAAATT", &["60"]);
        // At the institution over Friday 13th; home from Saturday 14th.
        w.stays = vec![stay(
            &w,
            date(2026, 11, 11),
            Some((date(2026, 11, 14), date(2026, 11, 14))),
        )];
        let s = w.schedule();
        let saturday = s.attendance_for(date(2026, 11, 14)).expect("collected");
        assert_eq!(saturday.day, date(2026, 11, 14));
        let sunday = s.attendance_for(date(2026, 11, 15)).expect("collected");
        assert_eq!(sunday.day, date(2026, 11, 15));
    }

    #[test]
    fn stay_days_without_the_substitution_dose_block_the_order_after_more_than_four() {
        use crate::missed::{MissedDosePolicy, assess};
        let run = |out: Date| {
            let mut w = world("AAAAAAA", &["60"]);
            w.stays = vec![stay(&w, date(2026, 11, 16), Some((out, out)))];
            let s = w.schedule();
            let before = |d: Date| d < date(2026, 11, 16);
            let days = s.day_outcomes(date(2026, 11, 2), crate::time::previous_day(out), &before);
            assess(&days, &s.reassessment_dates(), out, &MissedDosePolicy::default())
        };
        // Five days at the institution without the dose: blocked at discharge.
        let five = run(date(2026, 11, 21));
        assert_eq!(five.consecutive_days, 5);
        assert_eq!(five.blocked_since, Some(date(2026, 11, 21)));
        // Three days: counted, not blocked (the discharge gives the warning instead).
        let three = run(date(2026, 11, 19));
        assert_eq!(three.consecutive_days, 3);
        assert!(!three.is_blocked());
    }

    fn modes(due: &[DueDose]) -> Vec<(Date, u8, IntakeMode)> {
        due.iter()
            .map(|d| (d.scheduled.key.date, d.scheduled.key.part, d.mode))
            .collect()
    }

    #[test]
    fn a_daily_supervised_patient_has_one_supervised_dose_each_day() {
        let w = world("AAAAAAA", &["60"]);
        let due = w.schedule().due_at(w.place, date(2026, 11, 23));
        assert_eq!(modes(&due), vec![(date(2026, 11, 23), 1, IntakeMode::Supervised)]);
        assert_eq!(due[0].scheduled.dose, Dose::from_mg(60));
        assert!(
            w.schedule().due_at(w.place, date(2026, 10, 31)).is_empty(),
            "before the episode"
        );
    }

    #[test]
    fn friday_hands_over_the_weekend_and_take_home_days_have_nothing_to_collect() {
        let w = world("ATATATT", &["60"]);
        let friday = date(2026, 11, 27);
        let due = w.schedule().due_at(w.place, friday);
        assert_eq!(
            modes(&due),
            vec![
                (friday, 1, IntakeMode::Supervised),
                (date(2026, 11, 28), 1, IntakeMode::TakeHome),
                (date(2026, 11, 29), 1, IntakeMode::TakeHome),
            ]
        );
        assert!(w.schedule().due_at(w.place, date(2026, 11, 28)).is_empty());
    }

    #[test]
    fn a_split_dose_is_several_scheduled_doses_on_one_day() {
        let w = world("AAAAAAA", &["40", "20"]);
        let due = w.schedule().due_at(w.place, date(2026, 11, 23));
        assert_eq!(due.len(), 2);
        assert_eq!(due[1].scheduled.key.part, 2);
        assert_eq!(due[1].scheduled.dose, Dose::from_mg(20));
    }

    #[test]
    fn an_ended_episode_has_no_doses_from_its_end_date() {
        let mut w = world("AAAAAAA", &["60"]);
        w.episode.ended = Some(crate::patient::EpisodeEnd {
            on: date(2026, 11, 24),
            reason: crate::patient::EndReason::VoluntaryDischarge,
            note: String::new(),
            decided_by: UserId::new(),
        });
        assert_eq!(w.schedule().doses_on(date(2026, 11, 23)).len(), 1);
        assert!(w.schedule().doses_on(date(2026, 11, 24)).is_empty());
    }

    #[test]
    fn christmas_day_is_uncovered_until_a_cover_is_decided() {
        let mut w = world("AAAAAAA", &["60"]);
        let christmas = date(2026, 12, 25);
        let is_open = |_: OrganisationId, d: Date| crate::calendar::public_holiday(d).is_none();
        let uncovered = w
            .schedule()
            .uncovered_days(date(2026, 12, 20), date(2026, 12, 27), &is_open);
        let days: Vec<Date> = uncovered.iter().map(|u| u.dose_date).collect();
        assert_eq!(days, vec![christmas, date(2026, 12, 26)]);

        // Take-home for both holidays handed over on the 24th.
        for d in [christmas, date(2026, 12, 26)] {
            w.covers.push(Cover {
                id: CoverId::new(),
                patient_id: w.episode.patient_id,
                date: d,
                kind: CoverKind::TakeHomeFrom(date(2026, 12, 24)),
                decided_by: UserId::new(),
                decided_at: Timestamp::UNIX_EPOCH,
            });
        }
        assert!(
            w.schedule()
                .uncovered_days(date(2026, 12, 20), date(2026, 12, 27), &is_open)
                .is_empty()
        );
        let due = w.schedule().due_at(w.place, date(2026, 12, 24));
        assert_eq!(
            modes(&due),
            vec![
                (date(2026, 12, 24), 1, IntakeMode::Supervised),
                (christmas, 1, IntakeMode::TakeHome),
                (date(2026, 12, 26), 1, IntakeMode::TakeHome),
            ]
        );
    }

    #[test]
    fn a_holiday_place_takes_over_the_closed_day_and_its_hand_overs() {
        let mut w = world("AAAATAT", &["60"]);
        let holiday_place = OrganisationId::new();
        // Saturday 26.12 is an attendance day handing over Sunday 27.12.
        w.covers.push(Cover {
            id: CoverId::new(),
            patient_id: w.episode.patient_id,
            date: date(2026, 12, 26),
            kind: CoverKind::AtPlace(holiday_place),
            decided_by: UserId::new(),
            decided_at: Timestamp::UNIX_EPOCH,
        });
        let due = w.schedule().due_at(holiday_place, date(2026, 12, 26));
        assert_eq!(
            modes(&due),
            vec![
                (date(2026, 12, 26), 1, IntakeMode::Supervised),
                (date(2026, 12, 27), 1, IntakeMode::TakeHome)
            ]
        );
        assert!(w.schedule().due_at(w.place, date(2026, 12, 26)).is_empty());
    }

    #[test]
    fn days_before_the_arrangement_was_recorded_are_not_counted_as_missed() {
        use crate::missed::DayOutcome;
        let mut w = world("AAAAAAA", &["60"]);
        // Recorded on 20 November for an arrangement running since 1 November.
        w.arrangements[0].decided_at = crate::time::start_of_oslo_day(date(2026, 11, 20));
        let outcomes = w
            .schedule()
            .day_outcomes(date(2026, 11, 18), date(2026, 11, 21), &|_| false);
        let kinds: Vec<DayOutcome> = outcomes.into_iter().map(|(_, o)| o).collect();
        assert_eq!(
            kinds,
            vec![
                DayOutcome::NotScheduled,
                DayOutcome::NotScheduled,
                DayOutcome::WithoutDose,
                DayOutcome::WithoutDose
            ]
        );
    }

    #[test]
    fn a_weekly_depot_injection_is_due_from_its_planned_day_until_two_days_after() {
        let mut w = world("AAAAAAA", &["60"]);
        let content = DoseOrderContent::parse(&crate::dose_order::tests::input(
            "depot_buprenorphine_weekly",
            &["16"],
            "2026-11-02",
        ))
        .expect("valid");
        w.orders = signed_history(&[content]);
        let due_dates = |d: Date| -> Vec<Date> {
            w.schedule()
                .due_at(w.place, d)
                .iter()
                .map(|x| x.scheduled.key.date)
                .collect()
        };
        // Scheduled Mondays from 2 November: the 9th, the 16th, the 23rd.
        assert_eq!(due_dates(date(2026, 11, 9)), vec![date(2026, 11, 9)]);
        assert_eq!(
            due_dates(date(2026, 11, 11)),
            vec![date(2026, 11, 9)],
            "two days late is within the window"
        );
        assert!(
            due_dates(date(2026, 11, 12)).is_empty(),
            "three days late is outside it"
        );
        assert!(
            due_dates(date(2026, 11, 14)).is_empty(),
            "not before its planned day"
        );
        assert_eq!(due_dates(date(2026, 11, 16)), vec![date(2026, 11, 16)]);
        let due = w.schedule().due_at(w.place, date(2026, 11, 10));
        assert_eq!(due[0].mode, IntakeMode::Injection);
    }

    #[test]
    fn the_first_dose_of_a_treatment_is_never_a_take_home_dose() {
        let mut w = world("ATTTTTT", &["60"]);
        // The order starts on Wednesday 25 November, a take-home day handed over on
        // Monday: the first dose is taken at the place on the Wednesday instead.
        let content =
            DoseOrderContent::parse(&input("methadone_oral_solution", &["60"], "2026-11-25")).expect("valid");
        w.orders = signed_history(&[content]);
        assert!(w.schedule().due_at(w.place, date(2026, 11, 23)).is_empty());
        let wednesday = w.schedule().due_at(w.place, date(2026, 11, 25));
        assert_eq!(
            modes(&wednesday),
            vec![(date(2026, 11, 25), 1, IntakeMode::Supervised)]
        );
    }

    #[test]
    fn covers_must_hand_over_before_the_day_and_within_a_week() {
        let day = date(2026, 12, 25);
        assert!(validate_cover(day, CoverKind::TakeHomeFrom(date(2026, 12, 24))).is_ok());
        assert!(validate_cover(day, CoverKind::TakeHomeFrom(day)).is_err());
        assert!(validate_cover(day, CoverKind::TakeHomeFrom(date(2026, 12, 18))).is_err());
        assert!(validate_cover(day, CoverKind::AtPlace(OrganisationId::new())).is_ok());
    }

    #[test]
    fn a_cover_is_read_with_its_limits() {
        let today = date(2026, 12, 20);
        let place = OrganisationId::new();
        let cover = |d, from, at: &str| {
            parse_cover(
                &CoverInput {
                    date: d,
                    take_home_from: from,
                    place: at,
                },
                &[place],
                today,
            )
        };
        assert_eq!(
            cover("25.12.2026", "24.12.2026", ""),
            Ok((date(2026, 12, 25), CoverKind::TakeHomeFrom(date(2026, 12, 24))))
        );
        assert_eq!(
            cover("25.12.2026", "", &place.to_string()),
            Ok((date(2026, 12, 25), CoverKind::AtPlace(place)))
        );
        let refused = |d, from, at: &str, field| {
            let errors = cover(d, from, at).expect_err("refused");
            assert!(errors.for_field(field).is_some(), "{d} {from} {at}: {errors:?}");
        };
        refused("19.12.2026", "18.12.2026", "", "cover_date");
        refused("01.06.2027", "31.05.2027", "", "cover_date");
        refused("25.12.2026", "25.12.2026", "", "take_home_from");
        refused("25.12.2026", "", "", "take_home_from");
        refused("25.12.2026", "", "no-such-place", "place_id");
        refused("ikke en dato", "24.12.2026", "", "cover_date");
    }
}
