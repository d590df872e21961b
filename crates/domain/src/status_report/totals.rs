//! The unit's totals of a yearly status report, as the national report presents
//! them: counts, and each share of those it is a share of.

use crate::status::StatusField;
use crate::substance::Substance;

use super::{Column, RecordField, ReportRow};

/// One line of the totals: `count` of `of` (no share when `of` is 0).
#[derive(Debug, Clone, PartialEq)]
pub struct TotalLine {
    /// The heading it belongs under.
    pub group: &'static str,
    pub label_nb: String,
    pub count: usize,
    pub of: usize,
    /// A value that is not a count (the mean age), shown instead of it.
    pub value: Option<f64>,
}

impl TotalLine {
    fn count(group: &'static str, label: impl Into<String>, count: usize, of: usize) -> Self {
        Self {
            group,
            label_nb: label.into(),
            count,
            of,
            value: None,
        }
    }

    /// The share in percent, one decimal.
    pub fn percent(&self) -> Option<f64> {
        (self.of > 0 && self.value.is_none())
            .then(|| (self.count as f64 * 1000.0 / self.of as f64).round() / 10.0)
    }
}

fn with(rows: &[ReportRow], column: Column, codes: &[&str]) -> usize {
    rows.iter().filter(|r| codes.contains(&r.code(column))).count()
}

fn answered(rows: &[ReportRow], column: Column) -> usize {
    rows.iter().filter(|r| !r.code(column).is_empty()).count()
}

/// One line per answer of a status question, of those who answered it.
fn distribution(lines: &mut Vec<TotalLine>, group: &'static str, rows: &[ReportRow], field: StatusField) {
    let column = Column::Status(field);
    let of = answered(rows, column);
    for (code, label) in field.options() {
        lines.push(TotalLine::count(group, *label, with(rows, column, &[code]), of));
    }
}

/// The substance groups of the national report.
const MEDICINES: &[(&str, &[Substance])] = &[
    ("Metadon", &[Substance::MethadoneOralSolution]),
    (
        "Buprenorfin (alle former)",
        &[
            Substance::BuprenorphineSublingual,
            Substance::BuprenorphineNaloxone,
            Substance::DepotBuprenorphineWeekly,
            Substance::DepotBuprenorphineMonthly,
        ],
    ),
    (
        "  herav depotinjeksjon",
        &[
            Substance::DepotBuprenorphineWeekly,
            Substance::DepotBuprenorphineMonthly,
        ],
    ),
    ("Morfin depot", &[Substance::SlowReleaseMorphine]),
    ("Levometadon", &[Substance::Levomethadone]),
];

/// The totals of the rows of one unit's report.
pub fn unit_totals(rows: &[ReportRow]) -> Vec<TotalLine> {
    let n = rows.len();
    let record = Column::Record;
    let mut lines = vec![TotalLine::count(
        "Pasienter",
        "Pasienter i behandling i løpet av året",
        n,
        0,
    )];
    lines.push(TotalLine::count(
        "Pasienter",
        "Nye inntak",
        with(rows, record(RecordField::Intake), &["new"]),
        n,
    ));
    lines.push(TotalLine::count(
        "Pasienter",
        "Gjeninntak",
        with(rows, record(RecordField::Intake), &["re_intake"]),
        n,
    ));
    let ended = answered(rows, record(RecordField::EndReason));
    lines.push(TotalLine::count("Avslutning", "Avsluttet i året", ended, n));
    for reason in crate::patient::EndReason::ALL {
        lines.push(TotalLine::count(
            "Avslutning",
            super::end_reason_label(reason),
            with(rows, record(RecordField::EndReason), &[reason.code()]),
            ended,
        ));
    }
    let deaths = with(rows, record(RecordField::Death), &["yes"]);
    lines.push(TotalLine::count("Dødsfall", "Døde i året", deaths, n));
    lines.push(TotalLine::count(
        "Dødsfall",
        "  herav overdose",
        with(rows, record(RecordField::DeathCause), &["overdose"]),
        deaths,
    ));
    age_and_sex(&mut lines, rows);
    let medicated = answered(rows, record(RecordField::Substance));
    for (label, substances) in MEDICINES {
        let codes: Vec<&str> = substances.iter().map(|s| s.code()).collect();
        lines.push(TotalLine::count(
            "Legemiddel",
            *label,
            with(rows, record(RecordField::Substance), &codes),
            medicated,
        ));
    }
    distribution(&mut lines, "Bolig", rows, StatusField::Housing);
    distribution(&mut lines, "Arbeid og utdanning", rows, StatusField::Occupation);
    for field in [
        StatusField::UseOpioids,
        StatusField::UseBenzodiazepines,
        StatusField::UseCannabis,
        StatusField::UseStimulants,
        StatusField::UseAlcohol,
    ] {
        let column = Column::Status(field);
        lines.push(TotalLine::count(
            "Rusmiddelbruk siste 4 uker (ukentlig eller oftere)",
            field.label_nb(),
            with(rows, column, &["weekly", "daily"]),
            answered(rows, column),
        ));
    }
    let injection = Column::Status(StatusField::Injection);
    lines.push(TotalLine::count(
        "Rusmiddelbruk siste 4 uker (ukentlig eller oftere)",
        "Injisert",
        with(rows, injection, &["yes"]),
        answered(rows, injection),
    ));
    let overdoses: Vec<usize> = rows
        .iter()
        .map(|r| r.code(record(RecordField::Overdoses)).parse().unwrap_or(0))
        .collect();
    lines.push(TotalLine::count(
        "Overdoser",
        "Pasienter med minst én overdose",
        overdoses.iter().filter(|n| **n > 0).count(),
        n,
    ));
    lines.push(TotalLine::count(
        "Overdoser",
        "Overdoser i alt",
        overdoses.iter().sum(),
        0,
    ));
    lines
}

fn age_and_sex(lines: &mut Vec<TotalLine>, rows: &[ReportRow]) {
    let ages: Vec<f64> = rows
        .iter()
        .filter_map(|r| r.code(Column::Record(RecordField::Age)).parse::<f64>().ok())
        .collect();
    if !ages.is_empty() {
        let mean = ages.iter().sum::<f64>() / ages.len() as f64;
        lines.push(TotalLine {
            value: Some((mean * 10.0).round() / 10.0),
            ..TotalLine::count("Alder og kjønn", "Gjennomsnittsalder", 0, 0)
        });
    }
    let sex = Column::Record(RecordField::Sex);
    lines.push(TotalLine::count(
        "Alder og kjønn",
        "Kvinner",
        with(rows, sex, &["female"]),
        with(rows, sex, &["female", "male"]),
    ));
}
