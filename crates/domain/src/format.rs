//! How dates and times are written for Norwegian readers: dd.mm.yyyy and 24-hour time.

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

#[cfg(test)]
mod tests {
    use super::*;
    use jiff::civil::{date, time};

    #[test]
    fn dates_and_times_are_written_the_norwegian_way() {
        assert_eq!(date_nb(date(2026, 3, 9)), "09.03.2026");
        assert_eq!(time_nb(time(8, 5, 0, 0)), "08.05");
        assert_eq!(weekday_nb(date(2026, 11, 23)), "mandag");
    }
}
