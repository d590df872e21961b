//! The yearly status report (DOMAIN.md «The yearly status report»): for a year and
//! a LAR unit, one row per patient in treatment there any day of the year, each
//! field pre-filled from the record where Samhand knows it (episode, dose order,
//! arrangement, laboratory results, overdoses, stays, the individual plan) and
//! otherwise from the status in force at the reference day, with where each value
//! came from; and the unit's totals as the national report presents them.

use std::collections::HashMap;

use jiff::civil::Date;

use crate::arrangement::{Arrangement, DayPlan, effective_arrangement};
use crate::care::PlanStatus;
use crate::dose_order::{SignedDoseOrder, dose_on};
use crate::ids::{OrganisationId, PatientId};
use crate::organisation::OrganisationKind;
use crate::overdose::{OverdoseEvent, OverdoseOutcome};
use crate::patient::{EndReason, Episode, Patient};
use crate::status::{StatusAssessment, StatusField, current_answers};
use crate::stay::StayRecord;

/// A report year: its first and last day.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ReportYear {
    pub year: i16,
    pub first: Date,
    pub last: Date,
}

impl ReportYear {
    /// A year from 2000 to 2100.
    pub fn new(year: i16) -> Option<Self> {
        if !(2000..=2100).contains(&year) {
            return None;
        }
        Some(Self {
            year,
            first: Date::new(year, 1, 1).ok()?,
            last: Date::new(year, 12, 31).ok()?,
        })
    }

    /// Whether an episode runs any day of the year (or ends in it).
    pub fn covers(&self, episode: &Episode) -> bool {
        episode.started_on <= self.last && episode.ended.as_ref().is_none_or(|end| end.on >= self.first)
    }
}

crate::coded! {
    /// Where in the record a pre-filled value comes from.
    #[derive(Debug, Clone, Copy, PartialEq, Eq)]
    pub enum RecordSource {
        Identity = "identity",
        Episode = "episode",
        DoseOrder = "dose_order",
        Arrangement = "arrangement",
        LabResults = "lab_results",
        DrugTestRegime = "drug_test_regime",
        Overdoses = "overdoses",
        Stays = "stays",
        Plan = "plan",
    }
}

impl RecordSource {
    pub fn label_nb(self) -> &'static str {
        match self {
            Self::Identity => "Fødselsnummer",
            Self::Episode => "Behandlingsforløpet",
            Self::DoseOrder => "Signert ordinasjon",
            Self::Arrangement => "Utleveringsordningen",
            Self::LabResults => "Mottatte prøvesvar",
            Self::DrugTestRegime => "Prøveregimet",
            Self::Overdoses => "Registrerte overdoser",
            Self::Stays => "Registrerte opphold",
            Self::Plan => "Individuell plan",
        }
    }
}

/// Where one value of a row came from.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Source {
    Record(RecordSource),
    /// The status assessment version that gave the answer.
    Assessment {
        on: Date,
        version: i64,
        by_patient: bool,
    },
    /// Nothing in the record, and no assessment answered it: staff are asked.
    Missing,
}

impl Source {
    /// As the CSV writes it: `record:dose_order`, `assessment:3:2026-06-01:patient`,
    /// `missing`.
    pub fn code(&self) -> String {
        match self {
            Self::Record(r) => format!("record:{}", r.code()),
            Self::Assessment {
                on,
                version,
                by_patient,
            } => format!(
                "assessment:{version}:{on}:{}",
                if *by_patient { "patient" } else { "staff" }
            ),
            Self::Missing => "missing".into(),
        }
    }

    pub fn label_nb(&self) -> String {
        match self {
            Self::Record(r) => r.label_nb().into(),
            Self::Assessment {
                on,
                version,
                by_patient,
            } => format!(
                "Statusvurdering versjon {version}, {}{}",
                crate::format::date_nb(*on),
                if *by_patient { " (fra pasienten)" } else { "" }
            ),
            Self::Missing => "Mangler – fylles ut av behandler".into(),
        }
    }
}

crate::coded! {
    /// The columns pre-filled from the record. The code is the CSV column.
    #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
    pub enum RecordField {
        BirthYear = "birth_year",
        Sex = "sex",
        Age = "age",
        EpisodeStart = "episode_start",
        Intake = "intake",
        EndedOn = "ended_on",
        EndReason = "end_reason",
        Death = "death",
        DeathCause = "death_cause",
        Substance = "substance",
        DoseMg = "dose_mg",
        Depot = "depot",
        DispensingPlace = "dispensing_place",
        SupervisedPerWeek = "supervised_per_week",
        TakeHomePerWeek = "take_home_per_week",
        DrugTestsPerWeek = "drug_tests_per_week",
        Overdoses = "overdoses",
        Stays = "stays",
        StayDays = "stay_days",
        IndividualPlan = "individual_plan",
    }
}

impl RecordField {
    pub fn label_nb(self) -> &'static str {
        use RecordField::*;
        match self {
            BirthYear => "Fødselsår",
            Sex => "Kjønn",
            Age => "Alder ved årets slutt",
            EpisodeStart => "Behandlingsstart",
            Intake => "Inntak i året",
            EndedOn => "Avsluttet",
            EndReason => "Årsak til avslutning",
            Death => "Død",
            DeathCause => "Dødsårsak",
            Substance => "Legemiddel ved årets slutt",
            DoseMg => "Dose (mg/døgn)",
            Depot => "Depotinjeksjon",
            DispensingPlace => "Utleveringssted",
            SupervisedPerWeek => "Overvåket inntak per uke",
            TakeHomePerWeek => "Hjemmedoser per uke",
            DrugTestsPerWeek => "Urinprøver per uke",
            Overdoses => "Overdoser i året",
            Stays => "Opphold i året",
            StayDays => "Oppholdsdøgn i året",
            IndividualPlan => "Individuell plan",
        }
    }
}

/// One column of the report: pre-filled from the record, or a status question.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Column {
    Record(RecordField),
    Status(StatusField),
}

impl Column {
    /// Every column, in the CSV's order (after `unit` and `patient_id`).
    pub fn all() -> Vec<Column> {
        RecordField::ALL
            .into_iter()
            .map(Column::Record)
            .chain(StatusField::ALL.into_iter().map(Column::Status))
            .collect()
    }

    pub fn code(self) -> &'static str {
        match self {
            Self::Record(f) => f.code(),
            Self::Status(f) => f.code(),
        }
    }

    pub fn label_nb(self) -> &'static str {
        match self {
            Self::Record(f) => f.label_nb(),
            Self::Status(f) => f.label_nb(),
        }
    }
}

/// One value: the code the CSV writes, the words the page shows, and the source.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ReportValue {
    pub code: String,
    pub label_nb: String,
    pub source: Source,
}

impl ReportValue {
    fn record(source: RecordSource, code: impl Into<String>, label: impl Into<String>) -> Self {
        Self {
            code: code.into(),
            label_nb: label.into(),
            source: Source::Record(source),
        }
    }

    fn number(source: RecordSource, n: impl ToString) -> Self {
        let n = n.to_string();
        Self::record(source, n.clone(), n)
    }

    fn yes_no(source: RecordSource, yes: bool) -> Self {
        if yes {
            Self::record(source, "yes", "Ja")
        } else {
            Self::record(source, "no", "Nei")
        }
    }

    fn empty(source: RecordSource) -> Self {
        Self::record(source, "", "–")
    }

    fn missing() -> Self {
        Self {
            code: String::new(),
            label_nb: "–".into(),
            source: Source::Missing,
        }
    }
}

/// A patient's report row: a value for every column of [`Column::all`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ReportRow {
    pub patient_id: PatientId,
    pub values: Vec<(Column, ReportValue)>,
}

impl ReportRow {
    pub fn value(&self, column: Column) -> Option<&ReportValue> {
        self.values.iter().find(|(c, _)| *c == column).map(|(_, v)| v)
    }

    /// The code of a column ("" when empty).
    pub fn code(&self, column: Column) -> &str {
        self.value(column).map_or("", |v| v.code.as_str())
    }

    /// How many status questions have no answer.
    pub fn missing(&self) -> usize {
        self.values
            .iter()
            .filter(|(_, v)| v.source == Source::Missing)
            .count()
    }
}

/// A version of the individual plan, as the report reads it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct PlanStatusAt {
    pub recorded_on: Date,
    pub version: i64,
    pub status: PlanStatus,
}

/// Everything the record holds about one patient that the report reads.
#[derive(Debug, Clone, Copy)]
pub struct PatientHistory<'a> {
    pub patient: &'a Patient,
    /// Every episode of the patient, at any unit (a re-intake is known by them).
    pub episodes: &'a [Episode],
    pub orders: &'a [SignedDoseOrder],
    pub arrangements: &'a [Arrangement],
    pub place_kinds: &'a HashMap<OrganisationId, OrganisationKind>,
    /// The sample days of the laboratory results received.
    pub drug_test_days: &'a [Date],
    /// Every version of the patient's drug-test regime.
    pub regimes: &'a [crate::drug_test_regime::Regime],
    pub overdoses: &'a [OverdoseEvent],
    pub stays: &'a [StayRecord],
    pub plans: &'a [PlanStatusAt],
    pub assessments: &'a [StatusAssessment],
}

/// The patient's row for `unit`'s report of `year`, as of `today`; `None` when no
/// episode at the unit runs any day of the year.
pub fn report_row(
    year: ReportYear,
    unit: OrganisationId,
    today: Date,
    history: PatientHistory<'_>,
) -> Option<ReportRow> {
    let episode = history
        .episodes
        .iter()
        .filter(|e| e.responsible_unit == unit && year.covers(e))
        .max_by_key(|e| e.started_on)?;
    // The day the year's situation is read on: the year's last day, or the last
    // day of treatment when it ended in the year (and never after today).
    let ended_in_year = episode.ended.as_ref().filter(|end| end.on <= year.last);
    let reference = ended_in_year
        .map_or(year.last, |end| {
            crate::time::previous_day(end.on).max(episode.started_on)
        })
        .min(today);
    let mut values: Vec<(Column, ReportValue)> = Vec::new();
    let mut put = |field: RecordField, value: ReportValue| values.push((Column::Record(field), value));
    identity_values(year, history.patient, &mut put);
    episode_values(year, episode, history, &mut put);
    medication_values(reference, history, &mut put);
    year_values(year, episode, reference, history, &mut put);
    let current = current_answers(history.assessments, Some(reference));
    for field in StatusField::ALL {
        let value = match current.get(&field) {
            Some((code, from)) => ReportValue {
                code: (*code).to_string(),
                label_nb: field.answer_label(code).unwrap_or(code).to_string(),
                source: Source::Assessment {
                    on: from.assessed_on,
                    version: from.version,
                    by_patient: from.by_patient,
                },
            },
            None => ReportValue::missing(),
        };
        values.push((Column::Status(field), value));
    }
    Some(ReportRow {
        patient_id: history.patient.id,
        values,
    })
}

fn identity_values(year: ReportYear, patient: &Patient, put: &mut impl FnMut(RecordField, ReportValue)) {
    let born = patient.national_id.birth_date();
    put(
        RecordField::BirthYear,
        ReportValue::number(RecordSource::Identity, born.year()),
    );
    put(
        RecordField::Sex,
        match patient.national_id.is_female() {
            Some(true) => ReportValue::record(RecordSource::Identity, "female", "Kvinne"),
            Some(false) => ReportValue::record(RecordSource::Identity, "male", "Mann"),
            None => ReportValue::record(RecordSource::Identity, "unknown", "Ukjent"),
        },
    );
    let age = year.last.since(born).ok().and_then(|span| {
        span.total((jiff::Unit::Year, year.last))
            .ok()
            .map(|y| y.floor() as i64)
    });
    put(
        RecordField::Age,
        age.map_or(ReportValue::empty(RecordSource::Identity), |a| {
            ReportValue::number(RecordSource::Identity, a)
        }),
    );
}

/// The national report's words for how treatment ended.
pub fn end_reason_label(reason: EndReason) -> &'static str {
    match reason {
        EndReason::CompletedTaper => "Fullført nedtrapping",
        EndReason::VoluntaryDischarge => "Frivillig avslutning",
        EndReason::InvoluntaryDischarge => "Ufrivillig avslutning",
        EndReason::TransferredToOtherUnit => "Overført til annen enhet",
        EndReason::Death => "Død",
        EndReason::Other => "Annet",
    }
}

fn episode_values(
    year: ReportYear,
    episode: &Episode,
    history: PatientHistory<'_>,
    put: &mut impl FnMut(RecordField, ReportValue),
) {
    let source = RecordSource::Episode;
    put(
        RecordField::EpisodeStart,
        ReportValue::record(
            source,
            episode.started_on.to_string(),
            crate::format::date_nb(episode.started_on),
        ),
    );
    let earlier = history
        .episodes
        .iter()
        .any(|e| e.id != episode.id && e.started_on < episode.started_on);
    let intake = if episode.started_on < year.first {
        ReportValue::record(source, "continuing", "Fortsetter fra året før")
    } else if earlier {
        ReportValue::record(source, "re_intake", "Gjeninntak")
    } else {
        ReportValue::record(source, "new", "Nytt inntak")
    };
    put(RecordField::Intake, intake);
    let end = episode.ended.as_ref().filter(|end| end.on <= year.last);
    let fatal = history
        .overdoses
        .iter()
        .find(|o| o.outcome == OverdoseOutcome::Fatal && o.occurred_on <= year.last);
    let died = end.is_some_and(|e| e.reason == EndReason::Death) || fatal.is_some();
    match end {
        Some(end) => {
            put(
                RecordField::EndedOn,
                ReportValue::record(source, end.on.to_string(), crate::format::date_nb(end.on)),
            );
            put(
                RecordField::EndReason,
                ReportValue::record(source, end.reason.code(), end_reason_label(end.reason)),
            );
        }
        None => {
            put(RecordField::EndedOn, ReportValue::empty(source));
            put(RecordField::EndReason, ReportValue::empty(source));
        }
    }
    put(RecordField::Death, ReportValue::yes_no(source, died));
    put(
        RecordField::DeathCause,
        match (died, fatal) {
            (true, Some(_)) => ReportValue::record(RecordSource::Overdoses, "overdose", "Overdose"),
            (true, None) => ReportValue::record(source, "other", "Annen eller ukjent"),
            (false, _) => ReportValue::empty(source),
        },
    );
}

fn medication_values(
    reference: Date,
    history: PatientHistory<'_>,
    put: &mut impl FnMut(RecordField, ReportValue),
) {
    let source = RecordSource::DoseOrder;
    match dose_on(history.orders, reference) {
        Some((order, dose)) => {
            let substance = order.content().substance;
            let mg = dose.total().micrograms() as f64 / 1000.0;
            put(
                RecordField::Substance,
                ReportValue::record(source, substance.code(), substance.name()),
            );
            put(
                RecordField::DoseMg,
                ReportValue::record(source, format_number(mg), dose.total().to_string()),
            );
            put(
                RecordField::Depot,
                ReportValue::yes_no(source, substance.is_depot()),
            );
        }
        None => {
            for field in [RecordField::Substance, RecordField::DoseMg, RecordField::Depot] {
                put(field, ReportValue::empty(source));
            }
        }
    }
    let source = RecordSource::Arrangement;
    match effective_arrangement(history.arrangements, reference) {
        Some(arrangement) => {
            let kind = history.place_kinds.get(&arrangement.content.place_id).copied();
            let supervised = arrangement
                .content
                .week
                .days()
                .iter()
                .filter(|d| **d == DayPlan::Attend)
                .count();
            put(
                RecordField::DispensingPlace,
                kind.map_or(ReportValue::empty(source), |k| {
                    ReportValue::record(source, k.code(), place_kind_label(k))
                }),
            );
            put(
                RecordField::SupervisedPerWeek,
                ReportValue::number(source, supervised),
            );
            put(
                RecordField::TakeHomePerWeek,
                ReportValue::number(source, 7 - supervised),
            );
        }
        None => {
            for field in [
                RecordField::DispensingPlace,
                RecordField::SupervisedPerWeek,
                RecordField::TakeHomePerWeek,
            ] {
                put(field, ReportValue::empty(source));
            }
        }
    }
}

/// A kind of dispensing place, in the report's words.
pub fn place_kind_label(kind: OrganisationKind) -> &'static str {
    match kind {
        OrganisationKind::MunicipalLarCentre => "Kommunalt LAR-senter",
        OrganisationKind::Pharmacy => "Apotek",
        OrganisationKind::HomeService => "Hjemmetjeneste",
        OrganisationKind::GpOffice => "Legekontor",
        OrganisationKind::Institution => "Institusjon",
        OrganisationKind::PrisonHealthService => "Fengselshelsetjeneste",
        OrganisationKind::HealthTrustLarUnit => "LAR-enhet",
        OrganisationKind::NavOffice => "NAV",
    }
}

/// A number with at most one decimal, with a point (the CSV's).
fn format_number(n: f64) -> String {
    let rounded = (n * 10.0).round() / 10.0;
    if rounded.fract() == 0.0 {
        format!("{}", rounded as i64)
    } else {
        format!("{rounded:.1}")
    }
}

/// What happened in the year: tests, overdoses, stays, and the plan.
fn year_values(
    year: ReportYear,
    episode: &Episode,
    reference: Date,
    history: PatientHistory<'_>,
    put: &mut impl FnMut(RecordField, ReportValue),
) {
    // The samples asked for per week: the regime in force at the reference day;
    // without one, the rate of the results received in the year.
    let in_force = history
        .regimes
        .iter()
        .filter(|r| r.valid_from <= reference)
        .max_by_key(|r| (r.valid_from, r.version));
    let (source, per_week) = match in_force {
        Some(regime) if !regime.ended => (RecordSource::DrugTestRegime, regime.frequency.per_week()),
        _ => {
            let from = episode.started_on.max(year.first);
            let days = (reference.since(from).map_or(0, |s| s.get_days()) + 1).max(1);
            let tests = history
                .drug_test_days
                .iter()
                .filter(|d| **d >= from && **d <= reference)
                .count();
            (RecordSource::LabResults, tests as f64 * 7.0 / f64::from(days))
        }
    };
    put(
        RecordField::DrugTestsPerWeek,
        ReportValue::record(
            source,
            format_number(per_week),
            format_number(per_week).replace('.', ","),
        ),
    );
    let overdoses = history
        .overdoses
        .iter()
        .filter(|o| o.occurred_on >= year.first && o.occurred_on <= year.last)
        .count();
    put(
        RecordField::Overdoses,
        ReportValue::number(RecordSource::Overdoses, overdoses),
    );
    let (stays, stay_days) = stays_in(year, history.stays);
    put(
        RecordField::Stays,
        ReportValue::number(RecordSource::Stays, stays),
    );
    put(
        RecordField::StayDays,
        ReportValue::number(RecordSource::Stays, stay_days),
    );
    let plan = history
        .plans
        .iter()
        .filter(|p| p.recorded_on <= year.last)
        .max_by_key(|p| p.version);
    let source = RecordSource::Plan;
    put(
        RecordField::IndividualPlan,
        match plan.map(|p| p.status) {
            Some(PlanStatus::Active) => ReportValue::record(source, "yes", "Ja"),
            Some(PlanStatus::Declined) => ReportValue::record(source, "declined", "Pasienten har takket nei"),
            None => ReportValue::record(source, "no", "Nei"),
        },
    );
}

/// Stays that touch the year, and their days within it (until discharge, or the
/// year's end while still there).
fn stays_in(year: ReportYear, stays: &[StayRecord]) -> (usize, i64) {
    let mut count = 0;
    let mut days = 0;
    for record in stays {
        let start = record.stay.starts_on.max(year.first);
        let end = record
            .discharge()
            .map_or(year.last, |d| crate::time::previous_day(d.on))
            .min(year.last);
        if record.stay.starts_on > year.last || end < year.first || end < start {
            continue;
        }
        count += 1;
        days += end.since(start).map_or(0, |s| i64::from(s.get_days())) + 1;
    }
    (count, days)
}

mod totals;
pub use totals::{TotalLine, unit_totals};

#[cfg(test)]
mod tests;
