//! Norwegian public holidays: the church holidays, most of them counted from the
//! Gregorian Easter date, and the statutory days off on 1 and 17 May.

use jiff::ToSpan;
use jiff::civil::Date;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum PublicHoliday {
    NewYearsDay,
    MaundyThursday,
    GoodFriday,
    EasterSunday,
    EasterMonday,
    LabourDay,
    ConstitutionDay,
    AscensionDay,
    WhitSunday,
    WhitMonday,
    ChristmasDay,
    BoxingDay,
}

impl PublicHoliday {
    /// The holiday's name in Norwegian Bokmål, as staff see it in the calendar.
    pub fn name_nb(self) -> &'static str {
        match self {
            Self::NewYearsDay => "1. nyttårsdag",
            Self::MaundyThursday => "Skjærtorsdag",
            Self::GoodFriday => "Langfredag",
            Self::EasterSunday => "1. påskedag",
            Self::EasterMonday => "2. påskedag",
            Self::LabourDay => "Arbeidernes dag",
            Self::ConstitutionDay => "Grunnlovsdag",
            Self::AscensionDay => "Kristi himmelfartsdag",
            Self::WhitSunday => "1. pinsedag",
            Self::WhitMonday => "2. pinsedag",
            Self::ChristmasDay => "1. juledag",
            Self::BoxingDay => "2. juledag",
        }
    }
}

/// Easter Sunday in the Gregorian calendar, by the anonymous (Meeus/Jones/Butcher)
/// algorithm. Euclidean division keeps it correct for years before year 1 as well.
pub fn easter_sunday(year: i16) -> Date {
    let y = i32::from(year);
    let a = y.rem_euclid(19);
    let b = y.div_euclid(100);
    let c = y.rem_euclid(100);
    let d = b.div_euclid(4);
    let e = b.rem_euclid(4);
    let f = (b + 8).div_euclid(25);
    let g = (b - f + 1).div_euclid(3);
    let h = (19 * a + b - d - g + 15).rem_euclid(30);
    let i = c.div_euclid(4);
    let k = c.rem_euclid(4);
    let l = (32 + 2 * e + 2 * i - h - k).rem_euclid(7);
    let m = (a + 11 * h + 22 * l).div_euclid(451);
    let month = (h + l - 7 * m + 114) / 31;
    let day = (h + l - 7 * m + 114) % 31 + 1;
    // The algorithm always yields a day in March (3) or April (4), so both fit in i8.
    Date::new(year, month as i8, day as i8).expect("Easter Sunday is always in March or April")
}

/// All Norwegian public holidays of a year, sorted by date. When two holidays fall on
/// the same day (Ascension Day on 1 May, Whit Monday on 17 May), both are listed, the
/// fixed-date one first.
pub fn public_holidays(year: i16) -> Vec<(Date, PublicHoliday)> {
    holidays_of(year).to_vec()
}

/// A year's public holidays: Norway has twelve each year.
type YearHolidays = [(Date, PublicHoliday); 12];

/// [`public_holidays`] without allocating.
fn holidays_of(year: i16) -> YearHolidays {
    let easter = easter_sunday(year);
    let after_easter = |days: i32| {
        easter
            .checked_add(days.days())
            .expect("holidays around Easter stay within the same year")
    };
    let mut holidays = [
        (Date::constant(year, 1, 1), PublicHoliday::NewYearsDay),
        (after_easter(-3), PublicHoliday::MaundyThursday),
        (after_easter(-2), PublicHoliday::GoodFriday),
        (easter, PublicHoliday::EasterSunday),
        (after_easter(1), PublicHoliday::EasterMonday),
        (Date::constant(year, 5, 1), PublicHoliday::LabourDay),
        (Date::constant(year, 5, 17), PublicHoliday::ConstitutionDay),
        (after_easter(39), PublicHoliday::AscensionDay),
        (after_easter(49), PublicHoliday::WhitSunday),
        (after_easter(50), PublicHoliday::WhitMonday),
        (Date::constant(year, 12, 25), PublicHoliday::ChristmasDay),
        (Date::constant(year, 12, 26), PublicHoliday::BoxingDay),
    ];
    // A stable sort keeps the fixed-date holidays ahead of moving ones on shared days.
    holidays.sort_by_key(|&(date, _)| date);
    holidays
}

thread_local! {
    /// The last year's holidays this thread asked for: a list or a schedule asks
    /// for the days of one or two years, thousands of times.
    static LAST_YEAR: std::cell::Cell<Option<(i16, YearHolidays)>> =
        const { std::cell::Cell::new(None) };
}

/// The public holiday on a date, if any. On a day that is two holidays at once, this
/// is the fixed-date one (Labour Day or Constitution Day).
pub fn public_holiday(date: Date) -> Option<PublicHoliday> {
    let year = date.year();
    let holidays = LAST_YEAR.with(|last| match last.get() {
        Some((kept, holidays)) if kept == year => holidays,
        _ => {
            let holidays = holidays_of(year);
            last.set(Some((year, holidays)));
            holidays
        }
    });
    holidays
        .into_iter()
        .find(|&(holiday_date, _)| holiday_date == date)
        .map(|(_, holiday)| holiday)
}

#[cfg(test)]
mod tests {
    use jiff::civil::date;

    use super::*;

    #[test]
    fn easter_sunday_matches_the_published_dates() {
        let cases = [
            (1818, date(1818, 3, 22)),
            (1943, date(1943, 4, 25)),
            (2000, date(2000, 4, 23)),
            (2008, date(2008, 3, 23)),
            (2019, date(2019, 4, 21)),
            (2024, date(2024, 3, 31)),
            (2025, date(2025, 4, 20)),
            (2026, date(2026, 4, 5)),
            (2027, date(2027, 3, 28)),
            (2038, date(2038, 4, 25)),
            (2285, date(2285, 3, 22)),
        ];
        for (year, expected) in cases {
            assert_eq!(easter_sunday(year), expected, "{year}");
        }
    }

    #[test]
    fn the_twelve_holidays_of_2026_fall_on_their_dates_in_order() {
        use PublicHoliday::*;
        let expected = vec![
            (date(2026, 1, 1), NewYearsDay),
            (date(2026, 4, 2), MaundyThursday),
            (date(2026, 4, 3), GoodFriday),
            (date(2026, 4, 5), EasterSunday),
            (date(2026, 4, 6), EasterMonday),
            (date(2026, 5, 1), LabourDay),
            (date(2026, 5, 14), AscensionDay),
            (date(2026, 5, 17), ConstitutionDay),
            (date(2026, 5, 24), WhitSunday),
            (date(2026, 5, 25), WhitMonday),
            (date(2026, 12, 25), ChristmasDay),
            (date(2026, 12, 26), BoxingDay),
        ];
        assert_eq!(public_holidays(2026), expected);
        for (holiday_date, holiday) in expected {
            assert_eq!(public_holiday(holiday_date), Some(holiday), "{holiday_date}");
        }
    }

    #[test]
    fn ordinary_days_are_not_holidays() {
        let cases = [
            date(2026, 1, 2),
            date(2026, 4, 4), // Easter Saturday is not a public holiday
            date(2026, 4, 7),
            date(2026, 5, 16),
            date(2026, 5, 18),
            date(2026, 6, 23),  // Midsummer Eve is not a public holiday
            date(2026, 12, 24), // Christmas Eve is not a public holiday
            date(2026, 12, 31),
            date(2025, 4, 24),
        ];
        for day in cases {
            assert_eq!(public_holiday(day), None, "{day}");
        }
    }

    #[test]
    fn holidays_sharing_a_day_are_both_listed_with_the_fixed_one_first() {
        use PublicHoliday::*;
        let cases = [
            (date(2008, 5, 1), LabourDay, AscensionDay),
            (date(2027, 5, 17), ConstitutionDay, WhitMonday),
        ];
        for (day, fixed, moving) in cases {
            let on_day: Vec<PublicHoliday> = public_holidays(day.year())
                .into_iter()
                .filter(|&(holiday_date, _)| holiday_date == day)
                .map(|(_, holiday)| holiday)
                .collect();
            assert_eq!(on_day, vec![fixed, moving], "{day}");
            assert_eq!(public_holiday(day), Some(fixed), "{day}");
        }
    }

    #[test]
    fn every_year_has_twelve_holidays_sorted_by_date() {
        for year in [1900, 2008, 2026, 2027, 2038, 2100] {
            let holidays = public_holidays(year);
            assert_eq!(holidays.len(), 12, "{year}");
            assert!(holidays.windows(2).all(|w| w[0].0 <= w[1].0), "{year}");
        }
    }

    #[test]
    fn holiday_names_are_in_bokmal() {
        use PublicHoliday::*;
        let cases = [
            (NewYearsDay, "1. nyttårsdag"),
            (MaundyThursday, "Skjærtorsdag"),
            (GoodFriday, "Langfredag"),
            (EasterSunday, "1. påskedag"),
            (EasterMonday, "2. påskedag"),
            (LabourDay, "Arbeidernes dag"),
            (ConstitutionDay, "Grunnlovsdag"),
            (AscensionDay, "Kristi himmelfartsdag"),
            (WhitSunday, "1. pinsedag"),
            (WhitMonday, "2. pinsedag"),
            (ChristmasDay, "1. juledag"),
            (BoxingDay, "2. juledag"),
        ];
        for (holiday, name) in cases {
            assert_eq!(holiday.name_nb(), name);
        }
    }
}
