//! Missed doses and the block rule (DOMAIN.md, Dispensing; 2010 guideline §9.4, §13.3):
//! one missed day alerts; more than the tolerated number of consecutive days without
//! the substitution medicine blocks the order until a prescriber signs a reassessment.

use jiff::civil::Date;

use crate::time::next_day;

/// How many days back the missed-dose rule looks. A run of days without dose longer
/// than this is still a block: the run fills the whole window.
pub const LOOKBACK_DAYS: i64 = 60;

/// The first day the rule looks at when judging the state as of `today`.
pub fn lookback_from(today: Date) -> Date {
    today
        .checked_sub(jiff::Span::new().days(LOOKBACK_DAYS))
        .unwrap_or(today)
}

/// Whether the patient had a dose on every day the rule judges as of `today` (the
/// lookback up to yesterday), from their days dosed (ascending, each once). Such a
/// patient's state is the default whatever their schedule, stays and
/// reassessments: each judged day is dosed or not scheduled, so no run of days
/// without dose starts and no block is set (H90). The alerts and today's list
/// skip the schedule of such a patient; the proof is the property test below.
pub fn dosed_throughout(dosed_days: &[Date], today: Date) -> bool {
    let from = lookback_from(today);
    let Ok(judged) = usize::try_from((today - from).get_days()) else {
        return false;
    };
    let start = dosed_days.partition_point(|d| *d < from);
    let end = dosed_days.partition_point(|d| *d < today);
    // Ascending and each once: as many days in [from, today) as days judged means
    // every one of them is there.
    judged > 0 && end - start == judged
}

/// What happened on one past day, as far as the medicine is concerned.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum DayOutcome {
    /// A dose was scheduled and the patient had it (given, reduced, or handed over).
    Dosed,
    /// A dose was scheduled and the patient did not have it (not collected, or
    /// withheld at the pre-dose assessment).
    WithoutDose,
    /// No dose was scheduled, or the day was covered elsewhere (an institution, a
    /// prison, a guest arrangement): neither missed nor dosed.
    NotScheduled,
}

/// The thresholds, from the policy table.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct MissedDosePolicy {
    /// Consecutive days without dose that alert the prescriber and coordinator.
    pub alert_after_days: u32,
    /// Consecutive days without dose that are tolerated; one more blocks the order.
    pub tolerated_days: u32,
}

impl Default for MissedDosePolicy {
    fn default() -> Self {
        Self {
            alert_after_days: 1,
            tolerated_days: 4,
        }
    }
}

/// The state as of a day, before that day's dose.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct MissedDoseState {
    /// Consecutive days without dose counted towards the block, ending yesterday.
    pub consecutive_days: u32,
    /// The first day of that run.
    pub since: Option<Date>,
    /// The order is blocked from this day until a prescriber reassesses.
    pub blocked_since: Option<Date>,
    /// Whether the run is long enough to alert.
    pub alert: bool,
}

impl MissedDoseState {
    pub fn is_blocked(&self) -> bool {
        self.blocked_since.is_some()
    }
}

/// Sweeps the days in order up to `today`. `days` holds each past day's outcome (any
/// order, days not listed count as not scheduled); `reassessments` are the Oslo dates
/// on which a prescriber signed an order. A signing clears a block only when the
/// block stood at the time, so a routine signing in the middle of a run of missed
/// days does not quietly restart the count.
pub fn assess(
    days: &[(Date, DayOutcome)],
    reassessments: &[Date],
    today: Date,
    policy: &MissedDosePolicy,
) -> MissedDoseState {
    let mut days: Vec<(Date, DayOutcome)> = days.iter().copied().filter(|(d, _)| *d < today).collect();
    days.sort_by_key(|(d, _)| *d);
    let Some(first) = days.first().map(|(d, _)| *d) else {
        return MissedDoseState::default();
    };

    let mut count = 0u32;
    let mut since = None;
    let mut blocked_since: Option<Date> = None;
    let mut outcomes = days.into_iter().peekable();
    let mut day = first;
    loop {
        if let Some(blocked) = blocked_since
            && reassessments.iter().any(|r| *r == day && *r >= blocked)
        {
            blocked_since = None;
            count = 0;
            since = None;
        }
        if day >= today {
            break;
        }
        let outcome = match outcomes.peek() {
            Some((d, outcome)) if *d == day => {
                let outcome = *outcome;
                outcomes.next();
                outcome
            }
            _ => DayOutcome::NotScheduled,
        };
        match outcome {
            DayOutcome::Dosed => {
                count = 0;
                since = None;
            }
            DayOutcome::WithoutDose => {
                count += 1;
                since.get_or_insert(day);
                if count > policy.tolerated_days && blocked_since.is_none() {
                    blocked_since = Some(next_day(day));
                }
            }
            DayOutcome::NotScheduled => {}
        }
        day = next_day(day);
    }
    MissedDoseState {
        consecutive_days: count,
        since,
        blocked_since,
        alert: count >= policy.alert_after_days && policy.alert_after_days > 0,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use DayOutcome::*;
    use jiff::civil::date;
    use proptest::prelude::*;

    /// Days from 1 November 2026, one letter each: D dosed, M without dose, N none.
    fn history(pattern: &str) -> Vec<(Date, DayOutcome)> {
        let start = date(2026, 11, 1);
        crate::time::days_inclusive(start, date(2027, 12, 31))
            .zip(pattern.chars())
            .map(|(d, c)| {
                (
                    d,
                    match c {
                        'D' => Dosed,
                        'M' => WithoutDose,
                        _ => NotScheduled,
                    },
                )
            })
            .collect()
    }

    fn day(n: i8) -> Date {
        date(2026, 11, 1)
            .checked_add(jiff::Span::new().days(i64::from(n)))
            .expect("date")
    }

    #[test]
    fn missed_days_count_alert_and_block_after_the_tolerated_run() {
        let policy = MissedDosePolicy::default();
        // (pattern from 1 Nov, today as an offset, consecutive, alert, blocked since)
        let cases: &[(&str, i8, u32, bool, Option<i8>)] = &[
            ("DDDD", 4, 0, false, None),
            ("DDDM", 4, 1, true, None),
            ("DMMMM", 5, 4, true, None),
            ("DMMMMM", 6, 5, true, Some(6)),
            ("DMMMMMMM", 8, 7, true, Some(6)),
            // A day with nothing scheduled neither breaks nor extends the run.
            ("DMMNMMM", 7, 5, true, Some(7)),
            ("MMMMDMMMM", 9, 4, true, None),
            // Withheld days count: the patient went without the medicine.
            ("MMMMM", 5, 5, true, Some(5)),
            // Today is not judged until it is over.
            ("DDDDM", 4, 0, false, None),
        ];
        for (pattern, today, consecutive, alert, blocked) in cases {
            let state = assess(&history(pattern), &[], day(*today), &policy);
            assert_eq!(state.consecutive_days, *consecutive, "{pattern}");
            assert_eq!(state.alert, *alert, "{pattern}");
            assert_eq!(state.blocked_since, blocked.map(day), "{pattern}");
        }
    }

    #[test]
    fn a_signed_reassessment_clears_the_block_but_a_signing_before_the_block_does_not() {
        let policy = MissedDosePolicy::default();
        let days = history("DMMMMMMM");
        assert!(
            assess(&days, &[day(3)], day(8), &policy).is_blocked(),
            "signed during the run"
        );
        let cleared = assess(&days, &[day(7)], day(8), &policy);
        assert!(!cleared.is_blocked(), "signed while blocked");
        assert_eq!(
            cleared.consecutive_days, 1,
            "the day after the reassessment counts again"
        );
        // Five more days without dose after a reassessment block again.
        let days = history("DMMMMMMMMMMMM");
        assert!(assess(&days, &[day(6)], day(13), &policy).is_blocked());
    }

    #[test]
    fn the_thresholds_come_from_the_policy() {
        let strict = MissedDosePolicy {
            alert_after_days: 2,
            tolerated_days: 2,
        };
        let state = assess(&history("DMMM"), &[], day(4), &strict);
        assert_eq!(state.blocked_since, Some(day(4)));
        assert!(!assess(&history("DM"), &[], day(2), &strict).alert);
    }

    proptest! {
        /// A patient dosed on every judged day is never alerted nor blocked, whatever
        /// was scheduled, whatever the reassessments and whatever came before the
        /// lookback; and one judged day scheduled without dose makes them fall out of
        /// the shortcut (H90).
        #[test]
        fn a_patient_dosed_throughout_the_lookback_has_the_default_state(
            dosed in proptest::collection::vec(any::<bool>(), 80),
            scheduled in proptest::collection::vec(any::<bool>(), 80),
            signed in proptest::collection::vec(0usize..70, 0..4),
            tolerated in 0u32..6,
        ) {
            let policy = MissedDosePolicy { alert_after_days: 1, tolerated_days: tolerated };
            // Day 0 is 70 days before today: ten days before the lookback.
            let start = date(2026, 9, 1);
            let at = |i: usize| start.checked_add(jiff::Span::new().days(i as i64)).expect("date");
            let today = at(70);
            let dosed_days: Vec<Date> = (0..80).filter(|i| dosed[*i]).map(at).collect();
            let from = lookback_from(today);
            // The outcomes as the schedule judges them (PatientSchedule::missed_state).
            let outcomes: Vec<(Date, DayOutcome)> = (0..80)
                .map(|i| (at(i), match (scheduled[i], dosed[i]) {
                    (false, _) => NotScheduled,
                    (true, true) => Dosed,
                    (true, false) => WithoutDose,
                }))
                .filter(|(d, _)| *d >= from && *d < today)
                .collect();
            let reassessments: Vec<Date> = signed.iter().map(|i| at(*i)).collect();
            let state = assess(&outcomes, &reassessments, today, &policy);
            if dosed_throughout(&dosed_days, today) {
                prop_assert_eq!(state, MissedDoseState::default());
            }
            let missed_yesterday = scheduled[69] && !dosed[69];
            if missed_yesterday {
                prop_assert!(!dosed_throughout(&dosed_days, today));
                prop_assert!(state.alert);
            }
            let all_judged: Vec<Date> = (0..80).map(at).filter(|d| *d >= from && *d < today).collect();
            prop_assert!(dosed_throughout(&all_judged, today));
            let mut one_short = all_judged.clone();
            one_short.remove(signed.first().copied().unwrap_or(0) % one_short.len());
            prop_assert!(!dosed_throughout(&one_short, today));
        }

        /// The counter equals the length of the trailing run of days without dose
        /// (skipping unscheduled days), and the order is blocked exactly when some run
        /// was longer than tolerated (no reassessments).
        #[test]
        fn the_counter_matches_the_trailing_run_of_days_without_dose(pattern in "[DMN]{0,40}", tolerated in 0u32..8) {
            let policy = MissedDosePolicy { alert_after_days: 1, tolerated_days: tolerated };
            let days = history(&pattern);
            let today = day(pattern.len() as i8);
            let state = assess(&days, &[], today, &policy);
            let trailing = pattern.chars().rev().filter(|c| *c != 'N').take_while(|c| *c == 'M').count() as u32;
            prop_assert_eq!(state.consecutive_days, trailing);
            let mut run = 0u32;
            let mut ever_over = false;
            for c in pattern.chars() {
                match c { 'M' => { run += 1; ever_over |= run > tolerated; } 'D' => run = 0, _ => {} }
            }
            prop_assert_eq!(state.is_blocked(), ever_over);
        }
    }
}
