//! The pharmacy's count (issue 17): per pharmacy and month, the supervised intakes and
//! take-home hand-outs per patient with their dates, the basis for the pharmacy's claim
//! to the LAR unit. The LAR unit approves a month's count; the approved count is a
//! frozen snapshot, and a later correction of a recording never changes it but shows
//! as a difference between the approved and the current count.

use std::collections::BTreeMap;

use jiff::civil::Date;

use crate::ids::PatientId;
use crate::validation::FieldErrors;

/// A calendar month, as `YYYY-MM`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Month {
    year: i16,
    month: i8,
}

impl Month {
    /// The month in `YYYY-MM`, or a Norwegian message for the field `month`.
    pub fn parse(text: &str) -> Result<Self, FieldErrors> {
        let wrong = || FieldErrors::single("month", "Skriv måneden som ÅÅÅÅ-MM, f.eks. 2026-11.");
        let (year, month) = text.trim().split_once('-').ok_or_else(wrong)?;
        if year.len() != 4 || month.len() != 2 {
            return Err(wrong());
        }
        let year: i16 = year.parse().map_err(|_| wrong())?;
        let month: i8 = month.parse().map_err(|_| wrong())?;
        if !(2000..=2200).contains(&year) || !(1..=12).contains(&month) {
            return Err(wrong());
        }
        Ok(Self { year, month })
    }

    pub fn first_day(self) -> Date {
        Date::new(self.year, self.month, 1).expect("a valid month has a first day")
    }

    pub fn last_day(self) -> Date {
        self.first_day().last_of_month()
    }

    pub fn contains(self, day: Date) -> bool {
        day.year() == self.year && day.month() == self.month
    }

    pub fn code(self) -> String {
        format!("{:04}-{:02}", self.year, self.month)
    }
}

/// One patient's day at the pharmacy, as recorded there: how many supervised intakes
/// and how many take-home doses were handed out (voided and withheld doses left out).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub struct CountDay {
    pub patient: PatientId,
    pub day: Date,
    pub supervised: u32,
    pub take_home: u32,
}

/// A patient's line in the month's count: totals and the dates behind them.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PatientCount {
    pub patient: PatientId,
    pub supervised: u32,
    pub take_home: u32,
    pub supervised_dates: Vec<Date>,
    pub take_home_dates: Vec<Date>,
}

/// The month's count per patient, from its recorded days. Days outside the month are
/// left out; a patient with nothing handed out has no line.
pub fn count_month(month: Month, days: &[CountDay]) -> Vec<PatientCount> {
    let mut per_patient: BTreeMap<PatientId, PatientCount> = BTreeMap::new();
    let mut days: Vec<CountDay> = days.iter().copied().filter(|d| month.contains(d.day)).collect();
    days.sort();
    for d in days.iter().filter(|d| d.supervised + d.take_home > 0) {
        let line = per_patient.entry(d.patient).or_insert_with(|| PatientCount {
            patient: d.patient,
            supervised: 0,
            take_home: 0,
            supervised_dates: Vec::new(),
            take_home_dates: Vec::new(),
        });
        line.supervised += d.supervised;
        line.take_home += d.take_home;
        if d.supervised > 0 {
            line.supervised_dates.push(d.day);
        }
        if d.take_home > 0 {
            line.take_home_dates.push(d.day);
        }
    }
    per_patient.into_values().collect()
}

/// A day on which the current count differs from the approved one.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Difference {
    pub patient: PatientId,
    pub day: Date,
    pub approved_supervised: u32,
    pub approved_take_home: u32,
    pub current_supervised: u32,
    pub current_take_home: u32,
}

impl Difference {
    pub fn supervised_change(&self) -> i64 {
        i64::from(self.current_supervised) - i64::from(self.approved_supervised)
    }

    pub fn take_home_change(&self) -> i64 {
        i64::from(self.current_take_home) - i64::from(self.approved_take_home)
    }
}

/// The differences between an approved (frozen) count and the count as recorded now,
/// per patient and day, in patient and day order. Empty when nothing changed.
pub fn differences(approved: &[CountDay], current: &[CountDay]) -> Vec<Difference> {
    let key = |d: &CountDay| (d.patient, d.day);
    let mut both: BTreeMap<(PatientId, Date), [u32; 4]> = BTreeMap::new();
    for d in approved {
        let e = both.entry(key(d)).or_default();
        e[0] += d.supervised;
        e[1] += d.take_home;
    }
    for d in current {
        let e = both.entry(key(d)).or_default();
        e[2] += d.supervised;
        e[3] += d.take_home;
    }
    both.into_iter()
        .filter(|(_, [a_s, a_t, c_s, c_t])| a_s != c_s || a_t != c_t)
        .map(|((patient, day), [a_s, a_t, c_s, c_t])| Difference {
            patient,
            day,
            approved_supervised: a_s,
            approved_take_home: a_t,
            current_supervised: c_s,
            current_take_home: c_t,
        })
        .collect()
}

/// The CSV columns of the pharmacy's count, in order (documented in README.md).
pub const CSV_COLUMNS: [&str; 8] = [
    "month",
    "pharmacy_id",
    "pharmacy",
    "patient_id",
    "supervised_intakes",
    "supervised_dates",
    "take_home_handouts",
    "take_home_dates",
];

/// One CSV row's cells (without quoting) for a patient's line; dates are ISO and
/// separated by a space.
pub fn csv_cells(month: Month, pharmacy_id: &str, pharmacy: &str, line: &PatientCount) -> Vec<String> {
    let dates = |ds: &[Date]| ds.iter().map(|d| d.to_string()).collect::<Vec<_>>().join(" ");
    vec![
        month.code(),
        pharmacy_id.to_string(),
        pharmacy.to_string(),
        line.patient.to_string(),
        line.supervised.to_string(),
        dates(&line.supervised_dates),
        line.take_home.to_string(),
        dates(&line.take_home_dates),
    ]
}

#[cfg(test)]
mod tests {
    use super::*;
    use jiff::civil::date;

    fn day(patient: PatientId, d: Date, supervised: u32, take_home: u32) -> CountDay {
        CountDay {
            patient,
            day: d,
            supervised,
            take_home,
        }
    }

    #[test]
    fn month_parses_strictly() {
        let m = Month::parse("2026-11").unwrap();
        assert_eq!(m.first_day(), date(2026, 11, 1));
        assert_eq!(m.last_day(), date(2026, 11, 30));
        assert_eq!(m.code(), "2026-11");
        for bad in ["2026-13", "2026-1", "26-11", "2026/11", "", "november"] {
            assert!(Month::parse(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn count_sums_per_patient_with_dates_inside_the_month_only() {
        let (a, b) = (PatientId::new(), PatientId::new());
        let m = Month::parse("2026-11").unwrap();
        let days = [
            day(a, date(2026, 11, 3), 1, 0),
            day(a, date(2026, 11, 2), 1, 2),
            day(a, date(2026, 10, 31), 1, 0),
            day(b, date(2026, 11, 30), 0, 7),
            day(b, date(2026, 12, 1), 1, 0),
        ];
        let count = count_month(m, &days);
        assert_eq!(count.len(), 2);
        let a_line = count.iter().find(|l| l.patient == a).unwrap();
        assert_eq!((a_line.supervised, a_line.take_home), (2, 2));
        assert_eq!(
            a_line.supervised_dates,
            vec![date(2026, 11, 2), date(2026, 11, 3)]
        );
        assert_eq!(a_line.take_home_dates, vec![date(2026, 11, 2)]);
        let b_line = count.iter().find(|l| l.patient == b).unwrap();
        assert_eq!((b_line.supervised, b_line.take_home), (0, 7));
        let cells = csv_cells(m, "p1", "Apotek 1", a_line);
        assert_eq!(cells.len(), CSV_COLUMNS.len());
        assert_eq!(cells[5], "2026-11-02 2026-11-03");
    }

    #[test]
    fn a_correction_after_approval_is_a_difference_not_a_change() {
        let a = PatientId::new();
        let approved = [day(a, date(2026, 11, 2), 1, 0), day(a, date(2026, 11, 3), 1, 0)];
        // The dose of 3 November was later voided by a correction.
        let current = [day(a, date(2026, 11, 2), 1, 0)];
        let diff = differences(&approved, &current);
        assert_eq!(diff.len(), 1);
        assert_eq!(diff[0].day, date(2026, 11, 3));
        assert_eq!(diff[0].supervised_change(), -1);
        assert_eq!(diff[0].take_home_change(), 0);
        assert!(differences(&approved, &approved).is_empty());
    }
}
