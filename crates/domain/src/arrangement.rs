//! Dispensing arrangements: where the patient collects, on which weekdays the dose is
//! taken under supervision and which are take-home days, the time window at the
//! place, and when the arrangement must be reviewed. Versions, like dose orders.

use jiff::Timestamp;
use jiff::civil::{Date, Time};

use crate::ids::{ArrangementId, OrganisationId, PatientGroupId, PatientId, UserId};
use crate::validation::FieldErrors;

/// What happens on one weekday.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum DayPlan {
    /// The patient comes to the place: the day's dose is taken under supervision, and
    /// take-home doses for the following take-home days are handed over.
    Attend,
    /// The dose is taken at home, handed over on the last attendance day before.
    TakeHome,
}

/// A week of day plans, Monday first, with at least one attendance day, so that every
/// take-home day has an attendance day to be handed over on.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct WeekPlan([DayPlan; 7]);

impl WeekPlan {
    pub fn new(days: [DayPlan; 7]) -> Option<Self> {
        days.contains(&DayPlan::Attend).then_some(Self(days))
    }

    pub fn daily_supervised() -> Self {
        Self([DayPlan::Attend; 7])
    }

    pub fn days(&self) -> &[DayPlan; 7] {
        &self.0
    }

    pub fn on(&self, date: Date) -> DayPlan {
        self.0[crate::organisation::weekday_index(date)]
    }

    /// The attendance day on which the dose of a take-home day is handed over: the
    /// nearest attendance day before it.
    pub fn handover_day(&self, date: Date) -> Date {
        let mut day = date;
        for _ in 0..7 {
            if self.on(day) == DayPlan::Attend {
                return day;
            }
            day = crate::time::previous_day(day);
        }
        unreachable!("a week plan has at least one attendance day")
    }

    /// Weekdays (Monday = 0) on which take-home doses are handed over.
    pub fn handover_weekdays(&self) -> Vec<usize> {
        (0..7)
            .filter(|&i| self.0[i] == DayPlan::Attend && self.0[(i + 1) % 7] == DayPlan::TakeHome)
            .collect()
    }

    /// Encoded as seven letters, Monday first: A (attend) or T (take-home).
    pub fn code(&self) -> String {
        self.0
            .iter()
            .map(|d| if *d == DayPlan::Attend { 'A' } else { 'T' })
            .collect()
    }

    pub fn from_code(code: &str) -> Option<Self> {
        let days: Vec<DayPlan> = code
            .chars()
            .map(|c| match c {
                'A' => Some(DayPlan::Attend),
                'T' => Some(DayPlan::TakeHome),
                _ => None,
            })
            .collect::<Option<_>>()?;
        Self::new(days.try_into().ok()?)
    }
}

/// A time window at the place, e.g. 08.00–09.30.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct TimeWindow {
    pub start: Time,
    pub end: Time,
}

impl TimeWindow {
    pub fn new(start: Time, end: Time) -> Option<Self> {
        (start < end).then_some(Self { start, end })
    }

    pub fn contains(&self, time: Time) -> bool {
        self.start <= time && time <= self.end
    }
}

/// A named group of patients at a place with their own time window, so that not
/// everyone comes at the same time.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PatientGroup {
    pub id: PatientGroupId,
    pub place_id: OrganisationId,
    pub name: String,
    pub window: TimeWindow,
}

/// What the prescriber decides.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ArrangementContent {
    pub place_id: OrganisationId,
    pub week: WeekPlan,
    pub valid_from: Date,
    pub review_on: Date,
    pub group_id: Option<PatientGroupId>,
    /// The patient's own window; when absent, the group's applies.
    pub window: Option<TimeWindow>,
    pub reason: String,
}

/// A form or API body for an arrangement, before validation.
#[derive(Debug, Clone, Default)]
pub struct ArrangementInput {
    pub place_id: String,
    /// For each weekday, Monday first: "attend" or "take_home".
    pub days: [String; 7],
    pub valid_from: String,
    pub review_on: String,
    pub group_id: String,
    pub window_start: String,
    pub window_end: String,
    pub reason: String,
}

/// The most take-home days in a row: at most one week of take-home doses, and the
/// first day of a hand-over is taken under supervision (DOMAIN.md, arrangement ladder).
pub const MAX_CONSECUTIVE_TAKE_HOME_DAYS: usize = 6;

impl ArrangementContent {
    /// Validates the input; `places` are the dispensing places that may be chosen and
    /// `groups` the patient groups that exist.
    pub fn parse(
        input: &ArrangementInput,
        places: &[OrganisationId],
        groups: &[PatientGroup],
    ) -> Result<Self, FieldErrors> {
        let mut errors = FieldErrors::default();
        let place_id = input
            .place_id
            .parse::<OrganisationId>()
            .ok()
            .filter(|p| places.contains(p));
        if place_id.is_none() {
            errors.push("place_id", "Velg et utleveringssted.");
        }
        let week = week_field(&input.days, &mut errors);
        let valid_from = crate::validation::parse_date(&input.valid_from);
        if valid_from.is_none() {
            errors.push("valid_from", "Skriv inn en gyldig startdato (dd.mm.åååå).");
        }
        let review_on = crate::validation::parse_date(&input.review_on);
        match (review_on, valid_from) {
            (None, _) => errors.push("review_on", "Skriv inn dato for revurdering."),
            (Some(r), Some(v)) if r <= v => {
                errors.push("review_on", "Revurderingsdato må være etter startdatoen.")
            }
            _ => {}
        }
        let group = group_field(&input.group_id, groups, place_id, &mut errors);
        let window = window_field(&input.window_start, &input.window_end, &mut errors);
        if window.is_none() && group.is_none() && errors.for_field("window_start").is_none() {
            errors.push("window_start", "Velg en pasientgruppe eller et eget tidsvindu.");
        }
        let reason = crate::validation::required_text(
            &mut errors,
            "reason",
            &input.reason,
            "Skriv en begrunnelse for ordningen.",
        );
        if !errors.is_empty() {
            return Err(errors);
        }
        Ok(Self {
            place_id: place_id.expect("checked"),
            week: week.expect("checked"),
            valid_from: valid_from.expect("checked"),
            review_on: review_on.expect("checked"),
            group_id: group.map(|g| g.id),
            window,
            reason,
        })
    }
}

/// The week from one plan per weekday: each day chosen, at least one day of
/// supervised intake, and not too many take-home days in a row.
fn week_field(days: &[String; 7], errors: &mut FieldErrors) -> Option<WeekPlan> {
    let days: Option<Vec<DayPlan>> = days
        .iter()
        .map(|d| match d.trim() {
            "attend" => Some(DayPlan::Attend),
            "take_home" => Some(DayPlan::TakeHome),
            _ => None,
        })
        .collect();
    match days {
        None => {
            errors.push("days", "Velg oppmøte eller ta-med-dose for hver ukedag.");
            None
        }
        Some(days) => {
            let days: [DayPlan; 7] = days.try_into().expect("seven days");
            let week = WeekPlan::new(days);
            if week.is_none() {
                errors.push(
                    "days",
                    "Minst én dag i uken må være oppmøte med inntak under tilsyn.",
                );
            } else if longest_take_home_run(&days) > MAX_CONSECUTIVE_TAKE_HOME_DAYS {
                errors.push("days", "Høyst seks ta-med-doser på rad.");
            }
            week
        }
    }
}

/// The patient group chosen, if any: one that exists, at the place chosen.
fn group_field<'a>(
    group_id: &str,
    groups: &'a [PatientGroup],
    place_id: Option<OrganisationId>,
    errors: &mut FieldErrors,
) -> Option<&'a PatientGroup> {
    if group_id.trim().is_empty() {
        return None;
    }
    let found = groups.iter().find(|g| g.id.to_string() == group_id.trim());
    match (found, place_id) {
        (None, _) => {
            errors.push("group_id", "Ukjent pasientgruppe.");
            None
        }
        (Some(g), Some(p)) if g.place_id != p => {
            errors.push("group_id", "Gruppen hører til et annet utleveringssted.");
            None
        }
        (Some(g), _) => Some(g),
    }
}

/// The patient's own time window, if one is given: both ends, start before end.
fn window_field(start: &str, end: &str, errors: &mut FieldErrors) -> Option<TimeWindow> {
    match (start.trim(), end.trim()) {
        ("", "") => None,
        (start, end) => {
            let parsed = crate::validation::parse_time(start)
                .zip(crate::validation::parse_time(end))
                .and_then(|(s, e)| TimeWindow::new(s, e));
            if parsed.is_none() {
                errors.push(
                    "window_start",
                    "Skriv tidsvinduet som fra–til, f.eks. 08.00 og 09.30.",
                );
            }
            parsed
        }
    }
}

fn longest_take_home_run(days: &[DayPlan; 7]) -> usize {
    // The week repeats, so a run can wrap from Sunday into Monday.
    let mut longest = 0;
    let mut run = 0;
    for day in days.iter().chain(days.iter()) {
        if *day == DayPlan::TakeHome {
            run += 1;
            longest = longest.max(run);
        } else {
            run = 0;
        }
    }
    longest.min(7)
}

/// A decided arrangement version.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Arrangement {
    pub id: ArrangementId,
    pub patient_id: PatientId,
    pub version: u32,
    pub content: ArrangementContent,
    pub decided_by: UserId,
    pub decided_at: Timestamp,
}

impl Arrangement {
    pub fn review_overdue(&self, today: Date) -> bool {
        self.content.review_on < today
    }
}

/// The version in effect on a date: of those started by then, the latest decided.
pub fn effective_arrangement(versions: &[Arrangement], date: Date) -> Option<&Arrangement> {
    versions
        .iter()
        .filter(|a| a.content.valid_from <= date)
        .max_by_key(|a| a.version)
}

#[cfg(test)]
mod tests {
    use super::*;
    use jiff::civil::date;

    fn week(code: &str) -> WeekPlan {
        WeekPlan::from_code(code).expect("valid week")
    }

    #[test]
    fn take_home_days_are_handed_over_on_the_attendance_day_before() {
        // Monday, Wednesday, Friday supervised; the rest taken home.
        let plan = week("ATATATT");
        let monday = date(2026, 11, 23);
        let cases = [
            (date(2026, 11, 23), date(2026, 11, 23)), // Mon attends
            (date(2026, 11, 24), date(2026, 11, 23)), // Tue from Mon
            (date(2026, 11, 26), date(2026, 11, 25)), // Thu from Wed
            (date(2026, 11, 28), date(2026, 11, 27)), // Sat from Fri
            (date(2026, 11, 29), date(2026, 11, 27)), // Sun from Fri
        ];
        for (day, handover) in cases {
            assert_eq!(plan.handover_day(day), handover, "day {day}");
        }
        assert_eq!(plan.on(monday), DayPlan::Attend);
        assert_eq!(plan.handover_weekdays(), vec![0, 2, 4]);
    }

    #[test]
    fn a_week_needs_an_attendance_day() {
        assert!(WeekPlan::from_code("TTTTTTT").is_none());
        assert!(WeekPlan::from_code("AAAAAA").is_none());
        assert_eq!(week("ATTTTTT").code(), "ATTTTTT");
    }

    fn input(days: &str) -> (ArrangementInput, Vec<OrganisationId>, Vec<PatientGroup>) {
        let place = OrganisationId::new();
        let group = PatientGroup {
            id: PatientGroupId::new(),
            place_id: place,
            name: "Stabilisering".into(),
            window: TimeWindow::new(Time::constant(10, 0, 0, 0), Time::constant(11, 30, 0, 0))
                .expect("window"),
        };
        let days: [String; 7] = days
            .chars()
            .map(|c| {
                if c == 'A' {
                    "attend".to_string()
                } else {
                    "take_home".to_string()
                }
            })
            .collect::<Vec<_>>()
            .try_into()
            .expect("seven");
        (
            ArrangementInput {
                place_id: place.to_string(),
                days,
                valid_from: "2026-11-24".into(),
                review_on: "2027-02-24".into(),
                group_id: group.id.to_string(),
                window_start: String::new(),
                window_end: String::new(),
                reason: "Stabil".into(),
            },
            vec![place],
            vec![group],
        )
    }

    fn fields(result: Result<ArrangementContent, FieldErrors>) -> Vec<&'static str> {
        result
            .err()
            .map(|e| e.0.iter().map(|f| f.field).collect())
            .unwrap_or_default()
    }

    #[test]
    fn an_arrangement_form_reports_every_wrong_field() {
        let (ok, places, groups) = input("AAAAAAA");
        assert_eq!(
            fields(ArrangementContent::parse(&ok, &places, &groups)),
            Vec::<&str>::new()
        );

        let (all_home, places, groups) = input("TTTTTTT");
        assert_eq!(
            fields(ArrangementContent::parse(&all_home, &places, &groups)),
            vec!["days"]
        );

        let (mut bad, places, groups) = input("AAAAAAA");
        bad.place_id = OrganisationId::new().to_string();
        bad.review_on = "2026-11-01".into();
        bad.group_id = String::new();
        bad.window_start = "10.00".into();
        bad.window_end = "09.00".into();
        bad.reason = String::new();
        assert_eq!(
            fields(ArrangementContent::parse(&bad, &places, &groups)),
            vec!["place_id", "review_on", "window_start", "reason"]
        );
    }

    #[test]
    fn the_latest_started_arrangement_version_is_in_effect_and_reviews_fall_due() {
        let (typed, places, groups) = input("AAAAAAA");
        let content = ArrangementContent::parse(&typed, &places, &groups).expect("valid");
        let version = |v: u32, from: Date| Arrangement {
            id: ArrangementId::new(),
            patient_id: PatientId::new(),
            version: v,
            content: ArrangementContent {
                valid_from: from,
                ..content.clone()
            },
            decided_by: UserId::new(),
            decided_at: Timestamp::UNIX_EPOCH,
        };
        let versions = vec![version(1, date(2026, 11, 1)), version(2, date(2026, 12, 1))];
        assert_eq!(
            effective_arrangement(&versions, date(2026, 11, 30)).map(|a| a.version),
            Some(1)
        );
        assert_eq!(
            effective_arrangement(&versions, date(2026, 12, 1)).map(|a| a.version),
            Some(2)
        );
        assert!(!versions[0].review_overdue(date(2027, 2, 24)));
        assert!(versions[0].review_overdue(date(2027, 2, 25)));
    }
}
