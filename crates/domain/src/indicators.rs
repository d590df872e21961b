//! Unit indicators (issue 17, «Indicators for the unit and the leader»): per place
//! and for the whole unit, month by month, computed from facts the store reads in
//! bounded queries (one row per episode, and per-month counts aggregated in SQL).
//!
//! Months are calendar months in Europe/Oslo: an event at 00:30 Oslo time on the
//! 1st belongs to the new month even though it is still the previous day in UTC.
//! A patient counts in a month at the month's reference day (its last day, or today
//! for the running month), at the dispensing place in force that day, once.

use std::collections::{BTreeMap, HashSet};

use jiff::Timestamp;
use jiff::ToSpan;
use jiff::civil::Date;

use crate::ids::{OrganisationId, PatientId};
use crate::time::{days_between, oslo_date};
use crate::validation::FieldErrors;

mod export;
pub mod followup;
pub use export::{CSV_COLUMNS, csv, summary_nb};

/// Days after the start within which the first responsibility-group meeting should
/// be held (DOMAIN.md: the group meets every 6 weeks; the planning phase forms it).
pub const FIRST_MEETING_DAYS: i64 = 42;

/// A calendar month.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct YearMonth {
    pub year: i16,
    pub month: i8,
}

impl YearMonth {
    pub fn new(year: i16, month: i8) -> Option<Self> {
        Date::new(year, month, 1).ok().map(|_| Self { year, month })
    }

    /// The month a date falls in.
    pub fn of(date: Date) -> Self {
        Self {
            year: date.year(),
            month: date.month(),
        }
    }

    /// The Oslo month an instant falls in (never the UTC month).
    pub fn of_instant(at: Timestamp) -> Self {
        Self::of(oslo_date(at))
    }

    pub fn first_day(self) -> Date {
        Date::new(self.year, self.month, 1).expect("valid month")
    }

    pub fn last_day(self) -> Date {
        self.first_day().last_of_month()
    }

    /// The month `n` months later (earlier for negative `n`).
    pub fn plus(self, n: i32) -> Self {
        let index = i32::from(self.year) * 12 + i32::from(self.month) - 1 + n;
        let year = i16::try_from(index.div_euclid(12)).unwrap_or(self.year);
        let month = i8::try_from(index.rem_euclid(12) + 1).unwrap_or(1);
        Self { year, month }
    }

    /// «2026-03», as columns and CSV show it.
    pub fn label(self) -> String {
        format!("{:04}-{:02}", self.year, self.month)
    }

    /// Parses «2026-03».
    pub fn parse(text: &str) -> Option<Self> {
        let (year, month) = text.trim().split_once('-')?;
        if year.len() != 4 || month.len() != 2 {
            return None;
        }
        Self::new(year.parse().ok()?, month.parse().ok()?)
    }
}

/// The `count` months ending with `last`, oldest first.
pub fn months_ending(last: YearMonth, count: u16) -> Vec<YearMonth> {
    let count = i32::from(count.max(1));
    (0..count).map(|i| last.plus(i - count + 1)).collect()
}

/// The most months one request covers (three years).
pub const MAX_MONTHS: i32 = 36;

/// The months from `from` to `to` («yyyy-mm», both included), oldest first. Left
/// empty, `to` is the current month and `from` eleven months before `to`. A month
/// that is not «yyyy-mm», a range running backwards, longer than [`MAX_MONTHS`] or
/// starting after the current month, is refused with a message per field.
pub fn month_range(from: &str, to: &str, today: Date) -> Result<Vec<YearMonth>, FieldErrors> {
    let mut errors = FieldErrors::default();
    let parse = |text: &str, field: &'static str, errors: &mut FieldErrors| {
        if text.trim().is_empty() {
            return None;
        }
        let month = YearMonth::parse(text);
        if month.is_none() {
            errors.push(field, "Skriv måneden som åååå-mm, f.eks. 2026-03.");
        }
        month
    };
    let to_month = parse(to, "to", &mut errors);
    let from_month = parse(from, "from", &mut errors);
    if !errors.is_empty() {
        return Err(errors);
    }
    let current = YearMonth::of(today);
    let last = to_month.unwrap_or(current);
    let first = from_month.unwrap_or(last.plus(-11));
    let span = months_between(first, last) + 1;
    if first > last {
        errors.push("from", "Første måned må være før eller lik siste måned.");
    } else if span > MAX_MONTHS {
        errors.push("from", format!("Velg høyst {MAX_MONTHS} måneder om gangen."));
    } else if first > current {
        errors.push("from", "Første måned kan ikke være etter denne måneden.");
    }
    errors.into_result(())?;
    Ok((0..span).map(|i| first.plus(i)).collect())
}

fn months_between(a: YearMonth, b: YearMonth) -> i32 {
    (i32::from(b.year) - i32::from(a.year)) * 12 + i32::from(b.month) - i32::from(a.month)
}

/// A dispensing place of the unit, with its administrator-set capacity.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Place {
    pub id: OrganisationId,
    pub name: String,
    pub capacity: Option<u32>,
}

/// What the indicators need of one treatment episode.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct EpisodeFacts {
    pub patient: PatientId,
    pub started_on: Date,
    /// The first day no longer in treatment.
    pub ended_on: Option<Date>,
    /// Dispensing places with the day each took over, in any order.
    pub places: Vec<(Date, OrganisationId)>,
    /// The first responsibility-group meeting held in the episode.
    pub first_meeting_on: Option<Date>,
    /// The day the individual plan was started, unless the patient declined.
    pub plan_started_on: Option<Date>,
}

impl EpisodeFacts {
    fn active_on(&self, day: Date) -> bool {
        self.started_on <= day && self.ended_on.is_none_or(|end| day < end)
    }

    fn place_on(&self, day: Date) -> Option<OrganisationId> {
        self.places
            .iter()
            .filter(|(from, _)| *from <= day)
            .max_by_key(|(from, _)| *from)
            .map(|(_, place)| *place)
    }

    /// Whether still in treatment twelve months after the start.
    fn retained_a_year(&self) -> bool {
        let mark = self
            .started_on
            .checked_add(12.months())
            .unwrap_or(self.started_on);
        self.ended_on.is_none_or(|end| end > mark)
    }
}

crate::coded! {
    /// A count the store aggregates per Oslo month and place.
    #[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
    pub enum CountKind {
        SupervisedDoses = "supervised_doses",
        TakeHomeDoses = "take_home_doses",
        WithheldDoses = "withheld_doses",
        MissedDoses = "missed_doses",
        Blocks = "blocks",
        Overdoses = "overdoses",
        Deaths = "deaths",
        /// Discharges from stays the overdose-prevention bundle applies to, by the
        /// discharge day, at the place in force that day.
        Discharges = "discharges",
        /// Of those, the discharges whose bundle was completed (every item done).
        DischargeBundles = "discharge_bundles",
        Deviations = "deviations",
        /// Drug-test samples delivered (the latest version of each test), by the
        /// sample's date.
        DrugTestSamples = "drug_test_samples",
        /// Samples the regimes in force expect, per window ending in the month.
        DrugTestSamplesExpected = "drug_test_samples_expected",
    }
}

impl CountKind {
    /// Whether the store keeps the count per place. Overdoses and deaths happen to a
    /// patient, not at a window, and so do a drug-test sample and a block after
    /// missed doses (its notice goes to every service of the patient), and the samples
    /// a regime expects: they are the unit's figures, and a place shows none rather
    /// than a misleading zero.
    pub fn per_place(self) -> bool {
        !matches!(
            self,
            Self::Overdoses
                | Self::Deaths
                | Self::DrugTestSamples
                | Self::DrugTestSamplesExpected
                | Self::Blocks
        )
    }

    pub fn label_nb(self) -> &'static str {
        match self {
            Self::SupervisedDoses => "Doser tatt under tilsyn",
            Self::TakeHomeDoses => "Utleverte ta-med-doser",
            Self::WithheldDoses => "Holdt tilbake",
            Self::MissedDoses => "Uteblitte doser",
            Self::Blocks => "Sperringer",
            Self::Overdoses => "Overdoser",
            Self::Deaths => "Dødsfall",
            Self::Discharges => "Utskrivninger fra opphold",
            Self::DischargeBundles => "Utskrivninger med tiltakspakken fullført",
            Self::Deviations => "Avvik",
            Self::DrugTestSamples => "Urinprøver levert",
            Self::DrugTestSamplesExpected => "Urinprøver forventet",
        }
    }
}

/// One aggregated count: how many of a kind in a month at a place (`None`: no place
/// known, counted for the unit only).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct MonthCount {
    pub month: YearMonth,
    pub place: Option<OrganisationId>,
    pub kind: CountKind,
    pub count: u64,
}

/// A share: part of a whole (no percentage when the whole is zero).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct Share {
    pub part: u64,
    pub whole: u64,
}

impl Share {
    pub fn percent(self) -> Option<f64> {
        (self.whole > 0).then(|| self.part as f64 * 100.0 / self.whole as f64)
    }
}

/// The indicators of one month, for one place or the unit.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct MonthIndicators {
    pub month: Option<YearMonth>,
    pub in_treatment: u64,
    pub capacity: Option<u32>,
    /// Episodes started 12–23 months before the month's end, still in treatment
    /// twelve months after their start.
    pub retention: Share,
    /// Take-home doses among all doses handed out.
    pub take_home: Share,
    /// Episodes whose six-week mark fell in the month, with a meeting by then.
    pub meeting_in_time: Share,
    /// Patients in treatment with an individual plan started.
    pub plans_in_use: Share,
    pub counts: BTreeMap<CountKind, u64>,
}

impl MonthIndicators {
    pub fn count(&self, kind: CountKind) -> u64 {
        self.counts.get(&kind).copied().unwrap_or(0)
    }
}

/// The series of one place, or of the unit (`place: None`).
#[derive(Debug, Clone, PartialEq)]
pub struct Series {
    pub place: Option<Place>,
    pub months: Vec<MonthIndicators>,
}

/// The unit's indicators: the unit first, then each place.
#[derive(Debug, Clone, PartialEq)]
pub struct Indicators {
    pub months: Vec<YearMonth>,
    pub unit: Series,
    pub places: Vec<Series>,
}

/// The day a month is measured at: its last day, or today while it runs.
pub fn reference_day(month: YearMonth, today: Date) -> Date {
    month.last_day().min(today)
}

/// Computes the indicators for the months given (months after today are left out).
pub fn compute(
    months: &[YearMonth],
    today: Date,
    places: &[Place],
    episodes: &[EpisodeFacts],
    counts: &[MonthCount],
) -> Indicators {
    let months: Vec<YearMonth> = months
        .iter()
        .copied()
        .filter(|m| m.first_day() <= today)
        .collect();
    let unit = Series {
        place: None,
        months: months
            .iter()
            .map(|m| month_for(*m, today, None, None, episodes, counts))
            .collect(),
    };
    let places = places
        .iter()
        .map(|place| Series {
            place: Some(place.clone()),
            months: months
                .iter()
                .map(|m| month_for(*m, today, Some(place.id), place.capacity, episodes, counts))
                .collect(),
        })
        .collect();
    Indicators { months, unit, places }
}

fn month_for(
    month: YearMonth,
    today: Date,
    place: Option<OrganisationId>,
    capacity: Option<u32>,
    episodes: &[EpisodeFacts],
    counts: &[MonthCount],
) -> MonthIndicators {
    let day = reference_day(month, today);
    let at_place = |episode: &EpisodeFacts, on: Date| place.is_none() || episode.place_on(on) == place;
    // A patient counts once, even with two episodes touching the day.
    let mut seen = HashSet::new();
    let mut plans = HashSet::new();
    for episode in episodes.iter().filter(|e| e.active_on(day) && at_place(e, day)) {
        if seen.insert(episode.patient) && episode.plan_started_on.is_some_and(|on| on <= day) {
            plans.insert(episode.patient);
        }
    }
    let in_treatment = seen.len() as u64;
    let cohort_from = month.plus(-23).first_day();
    let cohort_to = month.plus(-12).last_day();
    let mut retention = Share::default();
    let mut meeting_in_time = Share::default();
    for episode in episodes {
        if (cohort_from..=cohort_to).contains(&episode.started_on) && at_place(episode, episode.started_on) {
            retention.whole += 1;
            retention.part += u64::from(episode.retained_a_year());
        }
        let mark = episode
            .started_on
            .checked_add(FIRST_MEETING_DAYS.days())
            .unwrap_or(episode.started_on);
        if YearMonth::of(mark) == month && mark <= today && at_place(episode, episode.started_on) {
            meeting_in_time.whole += 1;
            let held = episode
                .first_meeting_on
                .is_some_and(|on| days_between(episode.started_on, on) <= FIRST_MEETING_DAYS);
            meeting_in_time.part += u64::from(held);
        }
    }
    let mut by_kind = BTreeMap::new();
    for count in counts
        .iter()
        .filter(|c| c.month == month && (place.is_none() || c.place == place))
    {
        *by_kind.entry(count.kind).or_insert(0) += count.count;
    }
    let take_home = by_kind.get(&CountKind::TakeHomeDoses).copied().unwrap_or(0);
    let supervised = by_kind.get(&CountKind::SupervisedDoses).copied().unwrap_or(0);
    MonthIndicators {
        month: Some(month),
        in_treatment,
        capacity,
        retention,
        take_home: Share {
            part: take_home,
            whole: take_home + supervised,
        },
        meeting_in_time,
        plans_in_use: Share {
            part: plans.len() as u64,
            whole: in_treatment,
        },
        counts: by_kind,
    }
}

#[cfg(test)]
mod tests;
