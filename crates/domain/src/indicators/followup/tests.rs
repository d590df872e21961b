use jiff::Timestamp;
use jiff::civil::date;

use super::*;
use crate::drug_test_regime::{Frequency, RegimeReason, TestedSubstance};
use crate::ids::{PatientId, UserId};
use crate::schedule::tests::{stay, world};

/// H85: a day due and without any recording is missed at the place it was due;
/// a take-home day handed out earlier, a withheld day and a day in a stay are not;
/// take-home days whose hand-over never happened are.
#[test]
fn missed_days_are_the_rules_days_without_dose_less_stays_and_withheld_days() {
    // Monday 2 November 2026: attend Monday to Friday, the weekend handed over on Friday.
    let mut w = world("AAAAATT", &["60"]);
    // At an institution 16–18 November, home again on the 19th.
    w.stays = vec![stay(
        &w,
        date(2026, 11, 16),
        Some((date(2026, 11, 19), date(2026, 11, 19))),
    )];
    let dosed_days = [
        date(2026, 11, 2),
        date(2026, 11, 3),
        // The 4th: nothing recorded. The 5th: withheld.
        date(2026, 11, 6),
        date(2026, 11, 7),
        date(2026, 11, 8),
        date(2026, 11, 9),
        date(2026, 11, 10),
        date(2026, 11, 11),
        date(2026, 11, 12),
        // Friday the 13th not collected: the weekend was never handed over.
        date(2026, 11, 19),
        date(2026, 11, 20),
    ];
    let dosed = |d: Date| dosed_days.contains(&d);
    let withheld = |d: Date| d == date(2026, 11, 5);
    let s = w.schedule();
    let missed = missed_days(&s, date(2026, 11, 2), date(2026, 11, 20), &dosed, &withheld);
    let place = Some(w.place);
    assert_eq!(
        missed,
        vec![
            (date(2026, 11, 4), place),
            (date(2026, 11, 13), place),
            (date(2026, 11, 14), place),
            (date(2026, 11, 15), place),
        ]
    );
    // Without the stay, its days are missed too; the rule's own count of days
    // without dose includes them and the withheld day.
    w.stays.clear();
    let s = w.schedule();
    assert_eq!(
        missed_days(&s, date(2026, 11, 2), date(2026, 11, 20), &dosed, &withheld).len(),
        4 + 3
    );
    let without = s
        .day_outcomes(date(2026, 11, 2), date(2026, 11, 20), &dosed)
        .iter()
        .filter(|(_, o)| *o == DayOutcome::WithoutDose)
        .count();
    assert_eq!(without, 4 + 3 + 1);
    assert!(missed_days(&s, date(2026, 11, 3), date(2026, 11, 2), &dosed, &withheld).is_empty());
}

fn regime(version: i64, from: Date, frequency: Frequency, ended: bool) -> Regime {
    Regime {
        id: format!("r{version}"),
        patient_id: PatientId::new(),
        version,
        valid_from: from,
        reason: RegimeReason::MoreTakeHome,
        note: String::new(),
        substances: vec![TestedSubstance::Opioids],
        frequency,
        supervised: true,
        where_given: "LAR-senteret".into(),
        review_on: date(2027, 6, 1),
        ended,
        recorded_by: UserId::new(),
        recorded_at: Timestamp::UNIX_EPOCH,
    }
}

fn month(year: i16, m: i8) -> YearMonth {
    YearMonth::new(year, m).expect("month")
}

/// H86: twice a week from Monday 2 November, the weeks ending in November expect
/// eight samples; December's count stops at the last week ended by today, and a
/// week straddling the month's end counts in the month it ends.
#[test]
fn expected_samples_are_the_windows_ending_in_each_month() {
    let versions = [regime(1, date(2026, 11, 2), Frequency::TwiceAWeek, false)];
    let today = date(2026, 12, 15);
    assert_eq!(
        expected_samples(&versions, month(2026, 10), month(2026, 12), today),
        vec![(month(2026, 11), 8), (month(2026, 12), 4)]
    );
    // Weekly from Wednesday 25 November: the week 25 Nov – 1 Dec ends in December.
    let versions = [regime(1, date(2026, 11, 25), Frequency::Weekly, false)];
    assert_eq!(
        expected_samples(&versions, month(2026, 11), month(2026, 11), today),
        vec![]
    );
    assert_eq!(
        expected_samples(&versions, month(2026, 11), month(2026, 12), today),
        vec![(month(2026, 12), 2)]
    );
    // Ended from 16 November: two weeks expected, nothing after.
    let versions = [
        regime(1, date(2026, 11, 2), Frequency::TwiceAWeek, false),
        regime(2, date(2026, 11, 16), Frequency::TwiceAWeek, true),
    ];
    assert_eq!(
        expected_samples(&versions, month(2026, 11), month(2026, 12), today),
        vec![(month(2026, 11), 4)]
    );
    assert!(expected_samples(&[], month(2026, 11), month(2026, 12), today).is_empty());
}

#[test]
fn a_bundle_is_completed_only_with_every_item_done() {
    let w = world("AAAAAAA", &["60"]);
    let record = stay(
        &w,
        date(2026, 11, 16),
        Some((date(2026, 11, 19), date(2026, 11, 19))),
    );
    let done = || ItemState::Done {
        on: date(2026, 11, 18),
        source: "notat".into(),
    };
    let all: Vec<(BundleItem, ItemState)> = BundleItem::ALL.into_iter().map(|i| (i, done())).collect();
    assert!(bundle_completed(&record, &all));
    let mut waived = all.clone();
    waived[1].1 = ItemState::Waived {
        reason: "Ønsket ikke opplæring".into(),
        by: UserId::new(),
    };
    assert!(!bundle_completed(&record, &waived));
    let mut open = all.clone();
    open[5].1 = ItemState::Open;
    assert!(!bundle_completed(&record, &open));
    let mut no_opioids = record.clone();
    no_opioids.stay.opioid_use = false;
    assert!(!bundle_completed(&no_opioids, &all));
}

#[test]
fn tally_counts_events_per_month_and_place() {
    let place = Some(crate::ids::OrganisationId::new());
    let counts = tally(
        CountKind::MissedDoses,
        [
            (month(2026, 11), place),
            (month(2026, 11), place),
            (month(2026, 12), None),
        ],
    );
    assert_eq!(counts.len(), 2);
    assert_eq!(counts.iter().map(|c| c.count).sum::<u64>(), 3, "{counts:?}");
    assert!(
        counts
            .iter()
            .any(|c| c.month == month(2026, 11) && c.place == place && c.count == 2)
    );
}
