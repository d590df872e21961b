//! How dates, times and counts are written for Norwegian readers: dd.mm.yyyy,
//! 24-hour time, and «1 dag» / «3 dager» instead of «dag(er)».

use jiff::civil::{Date, Time};

pub fn date_nb(date: Date) -> String {
    format!("{:02}.{:02}.{:04}", date.day(), date.month(), date.year())
}

pub fn time_nb(time: Time) -> String {
    format!("{:02}.{:02}", time.hour(), time.minute())
}

pub fn weekday_nb(date: Date) -> &'static str {
    WEEKDAYS_NB[crate::organisation::weekday_index(date)]
}

/// Monday first, as Norwegian calendars are.
pub const WEEKDAYS_NB: [&str; 7] = [
    "mandag", "tirsdag", "onsdag", "torsdag", "fredag", "lørdag", "søndag",
];

/// The singular or the plural of a word for a count: `plural_nb(1, "dag", "dager")`
/// is «dag», any other count (0 included, as Norwegian says «0 dager») the plural.
pub fn plural_nb<'a, N>(n: N, one: &'a str, many: &'a str) -> &'a str
where
    N: PartialEq + From<u8>,
{
    if n == N::from(1) { one } else { many }
}

/// A count with its word: `count_nb(3, "dag", "dager")` is «3 dager».
pub fn count_nb<N>(n: N, one: &str, many: &str) -> String
where
    N: PartialEq + From<u8> + std::fmt::Display + Copy,
{
    format!("{n} {}", plural_nb(n, one, many))
}

/// A whole number as Norwegian writes it, thousands apart by a no-break space:
/// `integer_nb(10_000)` is «10\u{a0}000».
pub fn integer_nb(n: usize) -> String {
    let digits = n.to_string();
    let mut out = String::with_capacity(digits.len() + digits.len() / 3 * 2);
    for (i, digit) in digits.chars().enumerate() {
        if i > 0 && (digits.len() - i).is_multiple_of(3) {
            out.push('\u{a0}');
        }
        out.push(digit);
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use jiff::civil::{date, time};

    #[test]
    fn a_whole_number_has_its_thousands_apart() {
        for (n, expected) in [
            (0, "0"),
            (999, "999"),
            (1_000, "1\u{a0}000"),
            (10_000, "10\u{a0}000"),
            (1_234_567, "1\u{a0}234\u{a0}567"),
        ] {
            assert_eq!(integer_nb(n), expected, "{n}");
        }
    }

    #[test]
    fn a_count_takes_the_singular_only_for_one() {
        let cases: [(i64, &str); 5] = [
            (0, "0 dager"),
            (1, "1 dag"),
            (2, "2 dager"),
            (21, "21 dager"),
            (-1, "-1 dager"),
        ];
        for (n, expected) in cases {
            assert_eq!(count_nb(n, "dag", "dager"), expected, "{n}");
        }
        assert_eq!(
            plural_nb(1usize, "viktig melding", "viktige meldinger"),
            "viktig melding"
        );
        assert_eq!(
            plural_nb(4u32, "viktig melding", "viktige meldinger"),
            "viktige meldinger"
        );
        assert_eq!(
            count_nb(1usize, "forfalt møte", "forfalte møter"),
            "1 forfalt møte"
        );
    }

    #[test]
    fn dates_and_times_are_written_the_norwegian_way() {
        assert_eq!(date_nb(date(2026, 3, 9)), "09.03.2026");
        assert_eq!(time_nb(time(8, 5, 0, 0)), "08.05");
        assert_eq!(weekday_nb(date(2026, 11, 23)), "mandag");
    }
}
