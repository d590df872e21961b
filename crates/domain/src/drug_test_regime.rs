//! The drug-test regime (DOMAIN.md «Control measures», «Drug-test regime»): an
//! individual decision by the doctor, with reason, the substances tested, how often,
//! supervised or not, where samples are given and a review date. Kept in versions
//! (a change or the end is a new version). Expected samples follow from the regime
//! in windows (a week, or every two to four weeks); delivered samples are the
//! laboratory results received; a window whose grace days have passed without its
//! samples is a sample not delivered (H72).

use jiff::civil::Date;
use jiff::{Span, Timestamp};

use crate::ids::{PatientId, UserId};
use crate::validation::{FieldErrors, parse_date};

crate::coded! {
    /// Why samples are asked for (DOMAIN.md: the typical reasons).
    #[derive(Debug, Clone, Copy, PartialEq, Eq)]
    pub enum RegimeReason {
        MoreTakeHome = "more_take_home",
        RelapseWorry = "relapse_worry",
        OtherPrescriptions = "other_prescriptions",
        Other = "other",
    }
}

impl RegimeReason {
    pub fn label_nb(self) -> &'static str {
        match self {
            Self::MoreTakeHome => "Flere doser med hjem",
            Self::RelapseWorry => "Bekymring for tilbakefall med hjemmedoser",
            Self::OtherPrescriptions => "Andre vanedannende legemidler forskrives",
            Self::Other => "Annen grunn (se merknad)",
        }
    }
}

crate::coded! {
    /// What a sample is tested for.
    #[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
    pub enum TestedSubstance {
        Opioids = "opioids",
        Benzodiazepines = "benzodiazepines",
        Cannabis = "cannabis",
        Amphetamines = "amphetamines",
        Cocaine = "cocaine",
        Alcohol = "alcohol",
    }
}

impl TestedSubstance {
    pub fn label_nb(self) -> &'static str {
        match self {
            Self::Opioids => "Opioider",
            Self::Benzodiazepines => "Benzodiazepiner",
            Self::Cannabis => "Cannabis",
            Self::Amphetamines => "Amfetaminer",
            Self::Cocaine => "Kokain",
            Self::Alcohol => "Alkohol (etylglukuronid)",
        }
    }
}

crate::coded! {
    /// How often samples are expected.
    #[derive(Debug, Clone, Copy, PartialEq, Eq)]
    pub enum Frequency {
        ThreeAWeek = "three_a_week",
        TwiceAWeek = "twice_a_week",
        Weekly = "weekly",
        EveryTwoWeeks = "every_two_weeks",
        EveryFourWeeks = "every_four_weeks",
    }
}

impl Frequency {
    pub fn label_nb(self) -> &'static str {
        match self {
            Self::ThreeAWeek => "Tre ganger i uka",
            Self::TwiceAWeek => "To ganger i uka",
            Self::Weekly => "Én gang i uka",
            Self::EveryTwoWeeks => "Hver andre uke",
            Self::EveryFourWeeks => "Hver fjerde uke",
        }
    }

    /// The window's length in days and the samples expected in it.
    pub fn window(self) -> (i32, u32) {
        match self {
            Self::ThreeAWeek => (7, 3),
            Self::TwiceAWeek => (7, 2),
            Self::Weekly => (7, 1),
            Self::EveryTwoWeeks => (14, 1),
            Self::EveryFourWeeks => (28, 1),
        }
    }

    /// Samples per week, as the yearly status report counts them.
    pub fn per_week(self) -> f64 {
        let (days, samples) = self.window();
        f64::from(samples) * 7.0 / f64::from(days)
    }
}

/// One version of a patient's regime.
#[derive(Debug, Clone, PartialEq)]
pub struct Regime {
    pub id: String,
    pub patient_id: PatientId,
    pub version: i64,
    pub valid_from: Date,
    pub reason: RegimeReason,
    pub note: String,
    pub substances: Vec<TestedSubstance>,
    pub frequency: Frequency,
    pub supervised: bool,
    /// Where samples are given (the LAR centre, the pharmacy, legevakt …).
    pub where_given: String,
    pub review_on: Date,
    /// This version ends the regime: no samples are expected from `valid_from`.
    pub ended: bool,
    pub recorded_by: UserId,
    pub recorded_at: Timestamp,
}

impl Regime {
    /// Whether the review date has come without a newer decision.
    pub fn review_overdue(&self, today: Date) -> bool {
        !self.ended && self.review_on < today
    }
}

/// A new version as the form or the API gives it.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct RegimeInput {
    pub valid_from: String,
    pub reason: String,
    pub note: String,
    pub substances: Vec<String>,
    pub frequency: String,
    pub supervised: bool,
    pub where_given: String,
    pub review_on: String,
}

/// What a valid input decides.
#[derive(Debug, Clone, PartialEq)]
pub struct RegimeContent {
    pub valid_from: Date,
    pub reason: RegimeReason,
    pub note: String,
    pub substances: Vec<TestedSubstance>,
    pub frequency: Frequency,
    pub supervised: bool,
    pub where_given: String,
    pub review_on: Date,
}

/// A review is at most a year ahead: a regime is limited to what is necessary.
const LONGEST_UNTIL_REVIEW_DAYS: i32 = 366;

impl RegimeInput {
    /// The decision, or a Norwegian message per field. It starts no earlier than
    /// today (a regime is not made for the past) and is reviewed within a year.
    pub fn parse(&self, today: Date) -> Result<RegimeContent, FieldErrors> {
        let mut errors = FieldErrors::default();
        let valid_from = parse_date(&self.valid_from);
        match valid_from {
            None => errors.push("valid_from", "Skriv datoen regimet gjelder fra."),
            Some(d) if d < today => errors.push("valid_from", "Et regime kan ikke starte tilbake i tid."),
            Some(_) => {}
        }
        let reason = RegimeReason::from_code(self.reason.trim());
        if reason.is_none() {
            errors.push("reason", "Velg hvorfor det tas prøver.");
        }
        let note = self.note.trim().to_string();
        if reason == Some(RegimeReason::Other) && note.is_empty() {
            errors.push("note", "Skriv grunnen når du velger «Annen grunn».");
        }
        if note.chars().count() > 1000 {
            errors.push("note", "Merknaden kan være høyst 1000 tegn.");
        }
        let mut substances = Vec::new();
        for code in &self.substances {
            match TestedSubstance::from_code(code.trim()) {
                Some(s) if !substances.contains(&s) => substances.push(s),
                Some(_) => {}
                None => errors.push("substances", "Ukjent stoff."),
            }
        }
        substances.sort();
        if substances.is_empty() {
            errors.push("substances", "Velg minst ett stoff det testes for.");
        }
        let frequency = Frequency::from_code(self.frequency.trim());
        if frequency.is_none() {
            errors.push("frequency", "Velg hvor ofte det tas prøver.");
        }
        let where_given = self.where_given.trim().to_string();
        if where_given.is_empty() {
            errors.push("where_given", "Skriv hvor prøvene tas (f.eks. LAR-senteret).");
        } else if where_given.chars().count() > 200 {
            errors.push("where_given", "Høyst 200 tegn.");
        }
        let review_on = parse_date(&self.review_on);
        match (review_on, valid_from) {
            (None, _) => errors.push("review_on", "Skriv når regimet skal revurderes."),
            (Some(r), Some(f)) if r <= f => {
                errors.push("review_on", "Revurderingen må være etter startdatoen.")
            }
            (Some(r), Some(f))
                if f.checked_add(Span::new().days(LONGEST_UNTIL_REVIEW_DAYS))
                    .is_ok_and(|l| r > l) =>
            {
                errors.push("review_on", "Regimet skal revurderes innen ett år.")
            }
            _ => {}
        }
        match (valid_from, reason, frequency, review_on) {
            (Some(valid_from), Some(reason), Some(frequency), Some(review_on)) if errors.is_empty() => {
                Ok(RegimeContent {
                    valid_from,
                    reason,
                    note,
                    substances,
                    frequency,
                    supervised: self.supervised,
                    where_given,
                    review_on,
                })
            }
            _ => Err(errors),
        }
    }
}

/// The latest version of a patient's regime, if any (versions in any order).
pub fn latest(versions: &[Regime]) -> Option<&Regime> {
    versions.iter().max_by_key(|r| r.version)
}

/// One window of expected samples and what was delivered in it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct SampleWindow {
    pub from: Date,
    pub to: Date,
    pub expected: u32,
    /// Samples taken in the window, at most `expected`.
    pub delivered: u32,
    /// The window and its grace days are over: what is not delivered is missing.
    pub closed: bool,
}

impl SampleWindow {
    pub fn missing(&self) -> u32 {
        if self.closed {
            self.expected - self.delivered
        } else {
            0
        }
    }
}

/// The windows of expected samples from `from` to `to` (inclusive), under each
/// version in force, with the samples delivered in each (by sample day). A version
/// runs until the next one's `valid_from`; an ended regime expects nothing. A
/// window is closed once `today` is past its end and `grace_days`.
pub fn windows(
    versions: &[Regime],
    sample_days: &[Date],
    from: Date,
    to: Date,
    today: Date,
    grace_days: i32,
) -> Vec<SampleWindow> {
    let mut ordered: Vec<&Regime> = versions.iter().collect();
    ordered.sort_by_key(|r| (r.valid_from, r.version));
    let mut out = Vec::new();
    for (i, regime) in ordered.iter().enumerate() {
        if regime.ended {
            continue;
        }
        let until = ordered
            .get(i + 1)
            .and_then(|next| next.valid_from.yesterday().ok())
            .map_or(to, |end| end.min(to));
        let (length, expected) = regime.frequency.window();
        let mut start = regime.valid_from;
        while start <= until {
            let Ok(end) = start.checked_add(Span::new().days(length - 1)) else {
                break;
            };
            let end = end.min(until);
            if end >= from {
                let taken = sample_days.iter().filter(|d| **d >= start && **d <= end).count();
                let closed = end
                    .checked_add(Span::new().days(grace_days))
                    .is_ok_and(|last| last < today);
                out.push(SampleWindow {
                    from: start,
                    to: end,
                    expected,
                    delivered: (taken as u32).min(expected),
                    closed,
                });
            }
            let Ok(next) = start.checked_add(Span::new().days(length)) else {
                break;
            };
            start = next;
        }
    }
    out
}

/// Expected and delivered samples over windows, and the samples missing.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct SampleTally {
    pub expected: u32,
    pub delivered: u32,
    pub missing: u32,
}

pub fn tally(windows: &[SampleWindow]) -> SampleTally {
    windows.iter().fold(SampleTally::default(), |t, w| SampleTally {
        expected: t.expected + w.expected,
        delivered: t.delivered + w.delivered,
        missing: t.missing + w.missing(),
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use jiff::civil::date;

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
            review_on: date(2027, 3, 1),
            ended,
            recorded_by: UserId::new(),
            recorded_at: Timestamp::UNIX_EPOCH,
        }
    }

    fn input() -> RegimeInput {
        RegimeInput {
            valid_from: "2026-11-02".into(),
            reason: "more_take_home".into(),
            note: String::new(),
            substances: vec!["opioids".into(), "benzodiazepines".into(), "opioids".into()],
            frequency: "weekly".into(),
            supervised: true,
            where_given: "LAR-senteret Sentrum".into(),
            review_on: "2027-02-01".into(),
        }
    }

    #[test]
    fn a_regime_needs_reason_substances_frequency_place_and_a_review_within_a_year() {
        let today = date(2026, 11, 2);
        let content = input().parse(today).expect("valid");
        assert_eq!(
            content.substances,
            [TestedSubstance::Opioids, TestedSubstance::Benzodiazepines]
        );
        let empty = RegimeInput::default().parse(today).expect_err("empty");
        for field in [
            "valid_from",
            "reason",
            "substances",
            "frequency",
            "where_given",
            "review_on",
        ] {
            assert!(empty.for_field(field).is_some(), "{field}");
        }
        let mut late = input();
        late.review_on = "2027-12-01".into();
        assert!(
            late.parse(today)
                .expect_err("late")
                .for_field("review_on")
                .is_some()
        );
        let mut past = input();
        past.valid_from = "2026-11-01".into();
        assert!(
            past.parse(today)
                .expect_err("past")
                .for_field("valid_from")
                .is_some()
        );
        let mut other = input();
        other.reason = "other".into();
        assert!(other.parse(today).expect_err("note").for_field("note").is_some());
    }

    #[test]
    fn samples_not_delivered_are_missing_only_after_the_window_and_its_grace_days() {
        let monday = date(2026, 11, 2);
        let versions = [regime(1, monday, Frequency::TwiceAWeek, false)];
        // Week 1: two samples; week 2: one; week 3 (running): none yet.
        let samples = [date(2026, 11, 3), date(2026, 11, 5), date(2026, 11, 10)];
        let today = date(2026, 11, 18);
        let w = windows(&versions, &samples, monday, today, today, 2);
        assert_eq!(w.len(), 3);
        assert_eq!((w[0].expected, w[0].delivered, w[0].missing()), (2, 2, 0));
        assert_eq!((w[1].expected, w[1].delivered, w[1].missing()), (2, 1, 1));
        assert!(!w[2].closed, "the running week is not over");
        assert_eq!(
            tally(&w),
            SampleTally {
                expected: 6,
                delivered: 3,
                missing: 1
            }
        );
        // Within the grace days after week 2 (ends 15 Nov), nothing is missing yet.
        let w = windows(
            &versions,
            &samples,
            monday,
            date(2026, 11, 17),
            date(2026, 11, 17),
            2,
        );
        assert_eq!(tally(&w).missing, 0);
    }

    #[test]
    fn a_new_version_changes_the_windows_and_an_ended_regime_expects_nothing() {
        let versions = [
            regime(1, date(2026, 11, 2), Frequency::Weekly, false),
            regime(2, date(2026, 11, 16), Frequency::EveryFourWeeks, false),
            regime(3, date(2026, 12, 14), Frequency::Weekly, true),
        ];
        let today = date(2027, 1, 31);
        let w = windows(&versions, &[], date(2026, 11, 2), today, today, 2);
        // Two weeks of the first version, one four-week window of the second, then
        // nothing after the end.
        assert_eq!(w.len(), 3, "{w:?}");
        assert_eq!(w[2].from, date(2026, 11, 16));
        assert_eq!(w[2].to, date(2026, 12, 13));
        assert_eq!(tally(&w).missing, 3);
        assert!(versions[2].ended && !versions[2].review_overdue(today));
        assert!(versions[1].review_overdue(date(2027, 3, 2)));
        assert!(!versions[1].review_overdue(today));
    }
}
