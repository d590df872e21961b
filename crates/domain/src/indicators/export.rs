//! The indicators as CSV (README «The indicators' CSV columns») and as a Norwegian
//! text summary for screen readers. Both are made from the same series as any chart,
//! so a chart never holds a number its table and summary do not (H75).

use super::{CountKind, Indicators, MonthIndicators, Series, Share};

/// The CSV's header, in order.
pub const CSV_COLUMNS: [&str; 23] = [
    "place",
    "month",
    "in_treatment",
    "capacity",
    "retention_retained",
    "retention_cohort",
    "take_home_doses",
    "all_doses",
    "meeting_in_time",
    "meeting_due",
    "plans_in_use",
    "supervised_doses",
    "withheld_doses",
    "missed_doses",
    "blocks",
    "overdoses",
    "deaths",
    "discharges",
    "discharge_bundles",
    "deviations",
    "drug_test_samples",
    "drug_test_samples_expected",
    "note",
];

fn cell(text: &str) -> String {
    if text.contains([',', '"', '\n', '\r']) {
        format!("\"{}\"", text.replace('"', "\"\""))
    } else {
        text.to_string()
    }
}

fn count_cell(series: &Series, month: &MonthIndicators, kind: CountKind) -> String {
    if series.place.is_some() && !kind.per_place() {
        String::new()
    } else {
        month.count(kind).to_string()
    }
}

/// RFC 4180, UTF-8, CRLF: the unit's rows (`place` empty… «unit») then each place's.
pub fn csv(indicators: &Indicators) -> String {
    let mut out = CSV_COLUMNS.join(",");
    out.push_str("\r\n");
    for series in std::iter::once(&indicators.unit).chain(&indicators.places) {
        let place = series
            .place
            .as_ref()
            .map_or("unit".to_string(), |p| p.name.clone());
        for month in &series.months {
            let label = month.month.map(|m| m.label()).unwrap_or_default();
            let row = [
                cell(&place),
                label,
                month.in_treatment.to_string(),
                month.capacity.map(|c| c.to_string()).unwrap_or_default(),
                month.retention.part.to_string(),
                month.retention.whole.to_string(),
                month.take_home.part.to_string(),
                month.take_home.whole.to_string(),
                month.meeting_in_time.part.to_string(),
                month.meeting_in_time.whole.to_string(),
                month.plans_in_use.part.to_string(),
                count_cell(series, month, CountKind::SupervisedDoses),
                count_cell(series, month, CountKind::WithheldDoses),
                count_cell(series, month, CountKind::MissedDoses),
                count_cell(series, month, CountKind::Blocks),
                count_cell(series, month, CountKind::Overdoses),
                count_cell(series, month, CountKind::Deaths),
                count_cell(series, month, CountKind::Discharges),
                count_cell(series, month, CountKind::DischargeBundles),
                count_cell(series, month, CountKind::Deviations),
                count_cell(series, month, CountKind::DrugTestSamples),
                count_cell(series, month, CountKind::DrugTestSamplesExpected),
                String::new(),
            ];
            out.push_str(&row.join(","));
            out.push_str("\r\n");
        }
    }
    out
}

fn percent_nb(share: Share) -> String {
    share.percent().map_or("ingen å regne av".to_string(), |p| {
        format!("{} prosent", p.round())
    })
}

/// A text summary of one series for screen readers: the first and last month's
/// patients in treatment (against capacity), and the last month's shares.
pub fn summary_nb(series: &Series) -> String {
    let name = series
        .place
        .as_ref()
        .map_or("Enheten".to_string(), |p| p.name.clone());
    let (Some(first), Some(last)) = (series.months.first(), series.months.last()) else {
        return format!("{name}: ingen måneder å vise.");
    };
    let label = |m: &MonthIndicators| m.month.map(|m| m.label()).unwrap_or_default();
    let capacity = last
        .capacity
        .map(|c| format!(" av en kapasitet på {c}"))
        .unwrap_or_default();
    format!(
        "{name}: {} i behandling i {}, {} i {}{capacity}. Siste måned: tolv måneders retensjon {}, ta-med-andel {}, møte i ansvarsgruppen innen seks uker {}.",
        first.in_treatment,
        label(first),
        last.in_treatment,
        label(last),
        percent_nb(last.retention),
        percent_nb(last.take_home),
        percent_nb(last.meeting_in_time),
    )
}

#[cfg(test)]
mod tests {
    use jiff::civil::date;

    use super::super::{EpisodeFacts, MonthCount, Place, YearMonth, compute, months_ending};
    use super::*;
    use crate::ids::{OrganisationId, PatientId};

    fn example() -> Indicators {
        let a = OrganisationId::new();
        let place = Place {
            id: a,
            name: "Apotek, sentrum".into(),
            capacity: Some(8),
        };
        let episode = EpisodeFacts {
            patient: PatientId::new(),
            started_on: date(2025, 1, 1),
            ended_on: None,
            places: vec![(date(2025, 1, 1), a)],
            first_meeting_on: None,
            plan_started_on: None,
        };
        let jan = YearMonth::new(2026, 1).expect("month");
        let counts = [
            MonthCount {
                month: jan,
                place: None,
                kind: CountKind::Overdoses,
                count: 2,
            },
            MonthCount {
                month: jan,
                place: Some(a),
                kind: CountKind::TakeHomeDoses,
                count: 3,
            },
            MonthCount {
                month: jan,
                place: Some(a),
                kind: CountKind::SupervisedDoses,
                count: 1,
            },
        ];
        compute(
            &months_ending(YearMonth::new(2026, 2).expect("month"), 2),
            date(2026, 2, 10),
            &[place],
            &[episode],
            &counts,
        )
    }

    #[test]
    fn the_csv_has_a_row_per_series_and_month_and_leaves_unit_only_counts_empty_at_a_place() {
        let text = csv(&example());
        let lines: Vec<&str> = text.split("\r\n").collect();
        assert_eq!(lines[0], CSV_COLUMNS.join(","));
        assert_eq!(lines.len(), 1 + 4 + 1);
        let unit_jan: Vec<&str> = lines[1].split(',').collect();
        assert_eq!((unit_jan[0], unit_jan[1], unit_jan[2]), ("unit", "2026-01", "1"));
        assert_eq!((unit_jan[6], unit_jan[7], unit_jan[15]), ("3", "4", "2"));
        assert!(lines[3].starts_with("\"Apotek, sentrum\",2026-01,1,8,"));
        // The place's overdoses cell is empty, not zero: overdoses are the unit's.
        let columns = CSV_COLUMNS
            .iter()
            .position(|c| *c == "overdoses")
            .expect("column");
        let place_jan: Vec<&str> = lines[3]
            .trim_start_matches("\"Apotek, sentrum\"")
            .split(',')
            .collect();
        assert_eq!(place_jan[columns], "");
    }

    /// H75: the summary a screen reader hears carries the chart's numbers.
    #[test]
    fn the_summary_speaks_the_numbers_of_the_series() {
        let indicators = example();
        let summary = summary_nb(&indicators.places[0]);
        assert_eq!(
            summary,
            "Apotek, sentrum: 1 i behandling i 2026-01, 1 i 2026-02 av en kapasitet på 8. Siste måned: tolv måneders retensjon 100 prosent, ta-med-andel ingen å regne av, møte i ansvarsgruppen innen seks uker ingen å regne av."
        );
        assert!(summary_nb(&indicators.unit).contains("Enheten: 1 i behandling i 2026-01"));
    }
}
