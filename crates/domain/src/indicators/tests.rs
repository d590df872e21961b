use jiff::civil::{date, time};

use super::*;
use crate::time::oslo_timestamp;

fn episode(
    patient: PatientId,
    started_on: Date,
    ended_on: Option<Date>,
    place: OrganisationId,
) -> EpisodeFacts {
    EpisodeFacts {
        patient,
        started_on,
        ended_on,
        places: vec![(started_on, place)],
        first_meeting_on: None,
        plan_started_on: None,
    }
}

fn month(year: i16, m: i8) -> YearMonth {
    YearMonth::new(year, m).expect("valid month")
}

fn place(id: OrganisationId, capacity: Option<u32>) -> Place {
    Place {
        id,
        name: "Sted".into(),
        capacity,
    }
}

#[test]
fn months_step_over_year_ends_and_parse_their_labels() {
    let months = months_ending(month(2026, 2), 3);
    assert_eq!(months, vec![month(2025, 12), month(2026, 1), month(2026, 2)]);
    assert_eq!(month(2026, 1).plus(-13), month(2024, 12));
    assert_eq!(YearMonth::parse("2026-03"), Some(month(2026, 3)));
    assert_eq!(YearMonth::parse("2026-13"), None);
    assert_eq!(YearMonth::parse("26-3"), None);
    assert_eq!(month(2024, 2).last_day(), date(2024, 2, 29));
}

/// H73: an event at 00:30 on the 1st in Oslo is 23:30 the day before in UTC; it
/// belongs to the new Oslo month, in winter and in summer time.
#[test]
fn an_instant_falls_in_its_oslo_month_not_its_utc_month() {
    let winter = oslo_timestamp(date(2026, 2, 1).to_datetime(time(0, 30, 0, 0)));
    assert_eq!(winter.to_string(), "2026-01-31T23:30:00Z");
    assert_eq!(YearMonth::of_instant(winter), month(2026, 2));
    let summer = oslo_timestamp(date(2026, 7, 1).to_datetime(time(1, 30, 0, 0)));
    assert_eq!(summer.to_string(), "2026-06-30T23:30:00Z");
    assert_eq!(YearMonth::of_instant(summer), month(2026, 7));
}

/// H74: a patient counts once, at the place in force on the reference day, and not
/// after the episode ended.
#[test]
fn patients_count_once_at_their_place_on_the_reference_day() {
    let (a, b) = (OrganisationId::new(), OrganisationId::new());
    let (p1, p2, p3) = (PatientId::new(), PatientId::new(), PatientId::new());
    let mut moved = episode(p1, date(2025, 6, 1), None, a);
    moved.places.push((date(2026, 2, 10), b));
    let ended = episode(p2, date(2025, 6, 1), Some(date(2026, 2, 15)), a);
    // The same patient with a restart overlapping a day: two episodes, one patient.
    let first = episode(p3, date(2025, 1, 1), Some(date(2026, 2, 1)), a);
    let restart = episode(p3, date(2026, 1, 31), None, a);
    let episodes = [moved, ended, first, restart];
    let places = [place(a, Some(10)), place(b, None)];
    let result = compute(
        &months_ending(month(2026, 2), 2),
        date(2026, 3, 10),
        &places,
        &episodes,
        &[],
    );
    let jan = &result.unit.months[0];
    let feb = &result.unit.months[1];
    assert_eq!((jan.in_treatment, feb.in_treatment), (3, 2));
    let at_a: Vec<u64> = result.places[0].months.iter().map(|m| m.in_treatment).collect();
    let at_b: Vec<u64> = result.places[1].months.iter().map(|m| m.in_treatment).collect();
    assert_eq!(at_a, vec![3, 1]);
    assert_eq!(at_b, vec![0, 1]);
    assert_eq!(result.places[0].months[0].capacity, Some(10));
}

#[test]
fn the_running_month_is_measured_today_and_future_months_are_left_out() {
    let a = OrganisationId::new();
    let p = PatientId::new();
    let episodes = [episode(p, date(2026, 1, 1), Some(date(2026, 3, 20)), a)];
    let result = compute(
        &[month(2026, 3), month(2026, 4)],
        date(2026, 3, 10),
        &[],
        &episodes,
        &[],
    );
    assert_eq!(result.months, vec![month(2026, 3)]);
    assert_eq!(result.unit.months[0].in_treatment, 1);
}

#[test]
fn retention_follows_the_cohort_started_12_to_23_months_before() {
    let a = OrganisationId::new();
    let stayed = episode(PatientId::new(), date(2025, 1, 15), None, a);
    let left = episode(PatientId::new(), date(2025, 3, 1), Some(date(2025, 9, 1)), a);
    let just_a_year = episode(PatientId::new(), date(2024, 6, 1), Some(date(2025, 6, 2)), a);
    let too_recent = episode(PatientId::new(), date(2025, 6, 1), Some(date(2025, 7, 1)), a);
    let too_old = episode(PatientId::new(), date(2023, 1, 1), Some(date(2023, 2, 1)), a);
    let episodes = [stayed, left, just_a_year, too_recent, too_old];
    let result = compute(&[month(2026, 4)], date(2026, 5, 1), &[], &episodes, &[]);
    let retention = result.unit.months[0].retention;
    assert_eq!(retention, Share { part: 2, whole: 3 });
    assert_eq!(retention.percent().map(|p| p.round()), Some(67.0));
    assert_eq!(Share::default().percent(), None);
}

#[test]
fn first_meeting_counts_when_held_within_six_weeks_in_the_month_of_the_mark() {
    let a = OrganisationId::new();
    let mut in_time = episode(PatientId::new(), date(2026, 1, 10), None, a);
    in_time.first_meeting_on = Some(date(2026, 2, 21)); // day 42
    let mut late = episode(PatientId::new(), date(2026, 1, 5), None, a);
    late.first_meeting_on = Some(date(2026, 2, 20)); // day 46
    let never = episode(PatientId::new(), date(2026, 1, 2), None, a);
    let next_month = episode(PatientId::new(), date(2026, 1, 25), None, a);
    let result = compute(
        &[month(2026, 2)],
        date(2026, 3, 31),
        &[],
        &[in_time, late, never, next_month],
        &[],
    );
    assert_eq!(result.unit.months[0].meeting_in_time, Share { part: 1, whole: 3 });
}

#[test]
fn plans_in_use_are_among_those_in_treatment() {
    let a = OrganisationId::new();
    let mut with_plan = episode(PatientId::new(), date(2025, 1, 1), None, a);
    with_plan.plan_started_on = Some(date(2025, 2, 1));
    let mut later_plan = episode(PatientId::new(), date(2025, 1, 1), None, a);
    later_plan.plan_started_on = Some(date(2026, 3, 1));
    let mut ended = episode(PatientId::new(), date(2025, 1, 1), Some(date(2025, 12, 1)), a);
    ended.plan_started_on = Some(date(2025, 2, 1));
    let result = compute(
        &[month(2026, 1)],
        date(2026, 3, 31),
        &[],
        &[with_plan, later_plan, ended],
        &[],
    );
    assert_eq!(result.unit.months[0].plans_in_use, Share { part: 1, whole: 2 });
}

#[test]
fn counts_add_up_per_place_and_for_the_unit() {
    let (a, b) = (OrganisationId::new(), OrganisationId::new());
    let jan = month(2026, 1);
    let counts = [
        MonthCount {
            month: jan,
            place: Some(a),
            kind: CountKind::SupervisedDoses,
            count: 30,
        },
        MonthCount {
            month: jan,
            place: Some(a),
            kind: CountKind::TakeHomeDoses,
            count: 10,
        },
        MonthCount {
            month: jan,
            place: Some(b),
            kind: CountKind::SupervisedDoses,
            count: 60,
        },
        MonthCount {
            month: jan,
            place: None,
            kind: CountKind::Overdoses,
            count: 2,
        },
        MonthCount {
            month: jan,
            place: Some(b),
            kind: CountKind::Overdoses,
            count: 1,
        },
        MonthCount {
            month: month(2025, 12),
            place: Some(a),
            kind: CountKind::Overdoses,
            count: 5,
        },
    ];
    let places = [place(a, None), place(b, None)];
    let result = compute(&[jan], date(2026, 2, 1), &places, &[], &counts);
    let unit = &result.unit.months[0];
    assert_eq!(unit.take_home, Share { part: 10, whole: 100 });
    assert_eq!(unit.count(CountKind::Overdoses), 3);
    assert_eq!(
        result.places[0].months[0].take_home,
        Share { part: 10, whole: 40 }
    );
    assert_eq!(result.places[0].months[0].count(CountKind::Overdoses), 0);
    assert_eq!(result.places[1].months[0].count(CountKind::Overdoses), 1);
    assert!(CountKind::SupervisedDoses.per_place() && !CountKind::Deaths.per_place());
}

#[test]
fn a_month_range_defaults_to_the_last_twelve_months_and_refuses_bad_months() {
    let today = date(2026, 11, 23);
    let months = month_range("", "", today).expect("default");
    assert_eq!(
        (months.len(), months[0], months[11]),
        (12, month(2025, 12), month(2026, 11))
    );
    assert_eq!(
        month_range("2025-12", "2026-02", today).expect("range"),
        vec![month(2025, 12), month(2026, 1), month(2026, 2)]
    );
    let field = |from: &str, to: &str| {
        let errors = month_range(from, to, today).expect_err("refused");
        ["from", "to"]
            .into_iter()
            .filter(|f| errors.for_field(f).is_some())
            .collect::<Vec<_>>()
    };
    assert_eq!(field("2026-13", "2026-01"), vec!["from"]);
    assert_eq!(field("2026-01", "januar"), vec!["to"]);
    assert_eq!(field("2026-03", "2026-01"), vec!["from"]);
    assert_eq!(field("2023-01", "2026-01"), vec!["from"]);
    assert_eq!(field("2027-01", "2027-02"), vec!["from"]);
    assert_eq!(month_range("2023-11", "2026-10", today).expect("36").len(), 36);
}
