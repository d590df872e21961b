//! The indicators that follow each patient's own rules rather than a count of rows
//! (H85): doses due and missed (the schedule and the missed-dose rule's verdict of
//! each day), discharges with the overdose-prevention bundle completed (the stay's
//! checklist), and the drug-test samples the regime in force expects (its windows).
//! The store reads each input for the whole unit in a few batched queries and
//! hands every patient's to these functions; nothing here is a second definition.

use std::collections::BTreeMap;

use jiff::Span;
use jiff::civil::Date;

use super::{CountKind, MonthCount, YearMonth};
use crate::drug_test_regime::{Regime, windows};
use crate::ids::OrganisationId;
use crate::missed::DayOutcome;
use crate::schedule::PatientSchedule;
use crate::stay::{BundleItem, ItemState, StayRecord};

/// The days from `from` to `to` on which the patient was due a dose and went
/// without it, each with the place the dose was to be collected at (`None` when
/// the schedule names none). A day is missed when the missed-dose rule judges it
/// «without dose» ([`PatientSchedule::day_outcomes`]: a dose due under the signed
/// order and the arrangement in force, known to Samhand, and no dose had that day,
/// a take-home dose handed out earlier included), except a day in a stay (the
/// institution has the medication; the rule counts such a day only for the
/// tolerance) and a day with a withheld dose (`withheld`: counted as withheld, not
/// twice). A split dose missed is one day missed.
pub fn missed_days(
    schedule: &PatientSchedule<'_>,
    from: Date,
    to: Date,
    dosed: &dyn Fn(Date) -> bool,
    withheld: &dyn Fn(Date) -> bool,
) -> Vec<(Date, Option<OrganisationId>)> {
    if from > to {
        return Vec::new();
    }
    schedule
        .day_outcomes(from, to, dosed)
        .into_iter()
        .filter(|(day, outcome)| {
            *outcome == DayOutcome::WithoutDose && !schedule.is_paused(*day) && !withheld(*day)
        })
        .map(|(day, _)| (day, schedule.attendance_for(day).map(|a| a.place)))
        .collect()
}

/// The longest window of expected samples (every four weeks), in days.
const LONGEST_WINDOW_DAYS: i64 = 28;

/// The samples a patient's regime expects per month from `first` to `last`: the
/// expected samples of each window ([`windows`], the regime's own rule) that ends
/// in the month and before today (a window still running today is not yet
/// expected). A window is counted whole in the month it ends.
pub fn expected_samples(
    versions: &[Regime],
    first: YearMonth,
    last: YearMonth,
    today: Date,
) -> Vec<(YearMonth, u64)> {
    let from = first.first_day();
    let until = last.last_day().min(crate::time::previous_day(today));
    if versions.is_empty() || until < from {
        return Vec::new();
    }
    // Windows are read past the period's end so that the last one is not cut short
    // at it; only those ending within the period count.
    let beyond = until
        .checked_add(Span::new().days(LONGEST_WINDOW_DAYS))
        .unwrap_or(until);
    let mut by_month: BTreeMap<YearMonth, u64> = BTreeMap::new();
    for window in windows(versions, &[], from, beyond, today, 0) {
        if window.to >= from && window.to <= until {
            *by_month.entry(YearMonth::of(window.to)).or_default() += u64::from(window.expected);
        }
    }
    by_month.into_iter().collect()
}

/// Whether a discharged stay's overdose-prevention bundle was completed: the
/// bundle applies and every item of its checklist is done. A waived item leaves
/// the bundle incomplete (the item was not given, with a reason), as does an
/// item still open.
pub fn bundle_completed(record: &StayRecord, checklist: &[(BundleItem, ItemState)]) -> bool {
    record.bundle_applies()
        && checklist.len() == BundleItem::ALL.len()
        && checklist
            .iter()
            .all(|(_, state)| matches!(state, ItemState::Done { .. }))
}

/// Counts of one kind per month and place, from one entry per event.
pub fn tally(
    kind: CountKind,
    events: impl IntoIterator<Item = (YearMonth, Option<OrganisationId>)>,
) -> Vec<MonthCount> {
    let mut by: BTreeMap<(YearMonth, Option<OrganisationId>), u64> = BTreeMap::new();
    for key in events {
        *by.entry(key).or_default() += 1;
    }
    by.into_iter()
        .map(|((month, place), count)| MonthCount {
            month,
            place,
            kind,
            count,
        })
        .collect()
}

#[cfg(test)]
mod tests;
