//! Time: the one clock trait, and "today" as the calendar day in Europe/Oslo.
//!
//! Every rule that speaks of "today" or "a day" means the civil day in Oslo, whatever
//! the server's own zone is. The zone database is bundled with the binary, so the
//! answer does not depend on the machine's tzdata either.

use std::sync::Mutex;
use std::sync::OnceLock;

use jiff::civil::{Date, DateTime, Time};
use jiff::tz::TimeZone;
use jiff::{Timestamp, ToSpan};

/// The source of "now". Handlers and jobs receive one; tests pass a [`FixedClock`].
pub trait Clock: Send + Sync + 'static {
    fn now(&self) -> Timestamp;

    /// Today's date in Europe/Oslo.
    fn today(&self) -> Date {
        oslo_date(self.now())
    }
}

/// The real clock.
#[derive(Debug, Default, Clone, Copy)]
pub struct SystemClock;

impl Clock for SystemClock {
    fn now(&self) -> Timestamp {
        Timestamp::now()
    }
}

/// A clock that only moves when told to, for tests.
#[derive(Debug)]
pub struct FixedClock(Mutex<Timestamp>);

impl FixedClock {
    pub fn new(now: Timestamp) -> Self {
        Self(Mutex::new(now))
    }

    /// A clock standing at the given wall-clock time in Oslo.
    pub fn at_oslo(date: Date, time: Time) -> Self {
        Self::new(oslo_timestamp(date.to_datetime(time)))
    }

    pub fn set(&self, now: Timestamp) {
        *self.0.lock().expect("clock lock") = now;
    }

    pub fn advance(&self, span: jiff::SignedDuration) {
        let mut now = self.0.lock().expect("clock lock");
        *now = now.checked_add(span).expect("clock stays in range");
    }
}

impl Clock for FixedClock {
    fn now(&self) -> Timestamp {
        *self.0.lock().expect("clock lock")
    }
}

/// The Europe/Oslo zone, loaded once from the bundled database.
pub fn oslo() -> &'static TimeZone {
    static OSLO: OnceLock<TimeZone> = OnceLock::new();
    OSLO.get_or_init(|| TimeZone::get("Europe/Oslo").expect("Europe/Oslo is in the bundled tz database"))
}

/// The calendar day in Oslo at an instant.
pub fn oslo_date(at: Timestamp) -> Date {
    at.to_zoned(oslo().clone()).date()
}

/// The wall-clock time in Oslo at an instant.
pub fn oslo_datetime(at: Timestamp) -> DateTime {
    at.to_zoned(oslo().clone()).datetime()
}

/// The instant of a wall-clock time in Oslo. A time that does not exist (skipped by
/// the spring change) moves forward; an ambiguous one (autumn) takes the earlier.
pub fn oslo_timestamp(at: DateTime) -> Timestamp {
    oslo()
        .to_ambiguous_zoned(at)
        .compatible()
        .expect("date within supported range")
        .timestamp()
}

/// The instant an Oslo day begins.
pub fn start_of_oslo_day(date: Date) -> Timestamp {
    oslo_timestamp(date.to_datetime(Time::midnight()))
}

/// The day after, saturating at the end of the supported range.
pub fn next_day(date: Date) -> Date {
    date.checked_add(1.day()).unwrap_or(date)
}

pub fn previous_day(date: Date) -> Date {
    date.checked_sub(1.day()).unwrap_or(date)
}

/// Every date from `from` up to and including `to`.
pub fn days_inclusive(from: Date, to: Date) -> impl Iterator<Item = Date> {
    let mut next = Some(from);
    std::iter::from_fn(move || {
        let day = next.filter(|d| *d <= to)?;
        next = day.tomorrow().ok();
        Some(day)
    })
}

/// Whole days between two dates (`to - from`).
pub fn days_between(from: Date, to: Date) -> i64 {
    from.until(to).map(|span| i64::from(span.get_days())).unwrap_or(0)
}

#[cfg(test)]
mod tests {
    use super::*;
    use jiff::civil::date;

    fn utc(s: &str) -> Timestamp {
        s.parse().expect("valid timestamp")
    }

    #[test]
    fn today_is_the_oslo_calendar_day_around_midnight_and_daylight_saving() {
        let cases = [
            // Winter: Oslo is UTC+1, so 23:30 UTC is already the next day.
            ("2026-01-14T22:59:59Z", date(2026, 1, 14)),
            ("2026-01-14T23:00:00Z", date(2026, 1, 15)),
            // Summer: UTC+2.
            ("2026-06-30T21:59:59Z", date(2026, 6, 30)),
            ("2026-06-30T22:00:00Z", date(2026, 7, 1)),
            // Spring change on 29 March 2026: 02:00 local jumps to 03:00.
            ("2026-03-28T23:00:00Z", date(2026, 3, 29)),
            ("2026-03-29T00:59:59Z", date(2026, 3, 29)),
            ("2026-03-29T01:00:00Z", date(2026, 3, 29)),
            ("2026-03-29T21:59:59Z", date(2026, 3, 29)),
            ("2026-03-29T22:00:00Z", date(2026, 3, 30)),
            // Autumn change on 25 October 2026: 03:00 local falls back to 02:00.
            ("2026-10-24T21:59:59Z", date(2026, 10, 24)),
            ("2026-10-24T22:00:00Z", date(2026, 10, 25)),
            ("2026-10-25T22:59:59Z", date(2026, 10, 25)),
            ("2026-10-25T23:00:00Z", date(2026, 10, 26)),
        ];
        for (instant, expected) in cases {
            assert_eq!(oslo_date(utc(instant)), expected, "at {instant}");
        }
    }

    #[test]
    fn the_days_around_daylight_saving_have_23_and_25_hours() {
        let length = |day: Date| {
            start_of_oslo_day(next_day(day))
                .duration_since(start_of_oslo_day(day))
                .as_hours()
        };
        assert_eq!(length(date(2026, 3, 29)), 23);
        assert_eq!(length(date(2026, 10, 25)), 25);
        assert_eq!(length(date(2026, 11, 23)), 24);
    }

    #[test]
    fn a_fixed_clock_gives_the_oslo_date_of_its_instant() {
        let clock = FixedClock::at_oslo(date(2026, 3, 29), Time::constant(0, 30, 0, 0));
        assert_eq!(clock.today(), date(2026, 3, 29));
        clock.advance(jiff::SignedDuration::from_hours(24));
        assert_eq!(clock.today(), date(2026, 3, 30));
    }

    #[test]
    fn days_inclusive_walks_every_date_once() {
        let days: Vec<_> = days_inclusive(date(2026, 2, 27), date(2026, 3, 2)).collect();
        assert_eq!(
            days,
            vec![
                date(2026, 2, 27),
                date(2026, 2, 28),
                date(2026, 3, 1),
                date(2026, 3, 2)
            ]
        );
        assert_eq!(days_between(date(2026, 2, 27), date(2026, 3, 2)), 3);
    }
}
