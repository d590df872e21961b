//! Norwegian national identity numbers (fødselsnummer and D-nummer): parsing, the
//! birth date and sex they encode, and building synthetic numbers for demo and test data.
//!
//! Numbers issued from 1 January 2032 follow a new rule (Skatteetaten, «Nytt
//! fødselsnummer fra 2032»): the first check digit may leave a remainder of 0, 1,
//! 2 or 3 in the modulus-11 check (only 0 before), the second is as before, and the
//! number says nothing of sex, nor (by its individual number) of the century: both
//! must come from Folkeregisteret. A number whose remainder is 1–3 can only be a
//! 2032-rule number; one with remainder 0 may be either.

use std::fmt;
use std::str::FromStr;

use jiff::civil::Date;

/// Weights of the first check digit, applied to digits 1–9.
const FIRST_CHECK_WEIGHTS: [u32; 9] = [3, 7, 6, 1, 8, 9, 4, 5, 2];
/// Weights of the second check digit, applied to digits 1–10.
const SECOND_CHECK_WEIGHTS: [u32; 10] = [5, 4, 3, 2, 7, 6, 5, 4, 3, 2];

/// D-numbers (for people without a fødselsnummer) add 4 to the first digit of the day.
const D_NUMBER_DAY_OFFSET: i16 = 40;
/// The national test registry adds 80 to the month, so its numbers never match a real
/// person.
const SYNTHETIC_MONTH_OFFSET: i16 = 80;

/// An 11-digit fødselsnummer or D-nummer whose birth date and check digits are valid.
///
/// The only ways to get one are [`NationalId::parse`] and [`NationalId::synthetic`],
/// so holding one is proof that it is well formed.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct NationalId(String);

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum NationalIdKind {
    Fodselsnummer,
    DNummer,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum NationalIdError {
    #[error("a national identity number has exactly 11 digits")]
    WrongLength,
    #[error("a national identity number may contain only digits and spaces")]
    NotDigits,
    #[error("the national identity number does not encode a valid birth date")]
    InvalidDate,
    #[error("the check digits of the national identity number do not match; it is probably mistyped")]
    CheckDigits,
    #[error("the national identity number's birth date lies in the future")]
    FutureBirthDate,
}

/// Which check-digit rule a number follows.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CheckRule {
    /// The rule before 2032 (the first check digit leaves remainder 0); the
    /// individual number gives the century, its last digit the sex.
    Classic,
    /// The rule from 2032 (remainder 1, 2 or 3): no sex, no century in the number.
    From2032,
}

/// The day the 2032 rule took effect.
pub const RULE_2032_FROM: Date = jiff::civil::date(2032, 1, 1);

impl NationalId {
    /// Parses a fødselsnummer or D-nummer, real or synthetic, by either check-digit
    /// rule. Surrounding whitespace, and spaces or a hyphen inside (as in
    /// "010180 12345" or "010180-12345"), are ignored, because people often write
    /// the number in two groups. The birth date is not compared with today: see
    /// [`Self::parse_on`].
    pub fn parse(input: &str) -> Result<Self, NationalIdError> {
        let trimmed = input.trim();
        if trimmed.matches('-').count() > 1 {
            return Err(NationalIdError::NotDigits);
        }
        let compact: String = trimmed.chars().filter(|c| *c != ' ' && *c != '-').collect();
        // Non-digits are reported before the length, since "not a number at all" is
        // the more useful message for input such as a name in the wrong field.
        if !compact.chars().all(|c| c.is_ascii_digit()) {
            return Err(NationalIdError::NotDigits);
        }
        let digits: [u8; 11] = compact
            .bytes()
            .map(|b| b - b'0')
            .collect::<Vec<u8>>()
            .try_into()
            .map_err(|_| NationalIdError::WrongLength)?;
        // Check digits come first: a mistyped digit is far more common than a number
        // that is well formed but names an impossible date.
        if rule_of(&digits).is_none() {
            return Err(NationalIdError::CheckDigits);
        }
        decode_birth_date(&digits)?;
        Ok(Self(compact))
    }

    /// [`Self::parse`], and refuses a number whose birth date lies after `today`
    /// (Oslo). From 2032 a number that reads as born in the future may be a
    /// 2032-rule number (whose individual number no longer gives the century), so
    /// it is refused only before then.
    pub fn parse_on(input: &str, today: Date) -> Result<Self, NationalIdError> {
        let id = Self::parse(input)?;
        if id.birth_date() > today && today < RULE_2032_FROM {
            return Err(NationalIdError::FutureBirthDate);
        }
        Ok(id)
    }

    /// The check-digit rule the number follows (a remainder of 0 reads as classic).
    pub fn rule(&self) -> CheckRule {
        rule_of(&self.digits()).unwrap_or(CheckRule::Classic)
    }

    /// The 11 digits, without spaces.
    pub fn as_str(&self) -> &str {
        &self.0
    }

    pub fn kind(&self) -> NationalIdKind {
        if self.digits()[0] >= 4 {
            NationalIdKind::DNummer
        } else {
            NationalIdKind::Fodselsnummer
        }
    }

    /// Whether the number comes from the national test registry (month + 80) and so
    /// can never belong to a real person.
    pub fn is_synthetic(&self) -> bool {
        self.digits()[2] >= 8
    }

    /// The birth date the number encodes. For a 2032-rule number the century is
    /// read by the classic table and may be wrong: Folkeregisteret holds the date.
    pub fn birth_date(&self) -> Date {
        decode_birth_date(&self.digits())
            .expect("a NationalId is only built from digits that encode a valid birth date")
    }

    /// The register's legal sex as the number encodes it (the ninth digit is even
    /// for women); `None` for a 2032-rule number, which encodes none.
    pub fn is_female(&self) -> Option<bool> {
        match self.rule() {
            CheckRule::Classic => Some(self.digits()[8].is_multiple_of(2)),
            CheckRule::From2032 => None,
        }
    }

    /// Builds the synthetic fødselsnummer (month + 80) for a birth date and a 3-digit
    /// individual number. Returns `None` when the individual number does not belong
    /// to the birth year's century range, or when a check digit would be 10 (such
    /// individual numbers are never issued).
    pub fn synthetic(birth_date: Date, individual: u16) -> Option<Self> {
        if individual > 999 {
            return None;
        }
        let year = birth_date.year();
        let two_digit_year = year.rem_euclid(100);
        if century_of(two_digit_year, individual) != Some(year - two_digit_year) {
            return None;
        }
        let month = i16::from(birth_date.month()) + SYNTHETIC_MONTH_OFFSET;
        let first_nine = format!(
            "{:02}{:02}{:02}{:03}",
            birth_date.day(),
            month,
            two_digit_year,
            individual
        );
        let digits: Vec<u8> = first_nine.bytes().map(|b| b - b'0').collect();
        let (first, second) = check_digits(&digits)?;
        Some(Self(format!("{first_nine}{first}{second}")))
    }

    fn digits(&self) -> [u8; 11] {
        let mut digits = [0; 11];
        for (digit, byte) in digits.iter_mut().zip(self.0.bytes()) {
            *digit = byte - b'0';
        }
        digits
    }
}

impl fmt::Display for NationalId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl FromStr for NationalId {
    type Err = NationalIdError;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Self::parse(s)
    }
}

/// Whether eleven digits carry valid check digits by either rule (an H-number's
/// are computed as a fødselsnummer's).
pub(crate) fn has_check_digits(digits: &[u8; 11]) -> bool {
    rule_of(digits).is_some()
}

/// The rule whose check digits the number has, if either: the second check digit
/// as always, the first leaving remainder 0 (classic) or 1–3 (from 2032).
fn rule_of(digits: &[u8; 11]) -> Option<CheckRule> {
    let weighted = |weights: &[u32]| -> u32 {
        digits
            .iter()
            .zip(weights)
            .map(|(&digit, &weight)| u32::from(digit) * weight)
            .sum()
    };
    let second = mod11_check_digit(&digits[..10], &SECOND_CHECK_WEIGHTS)?;
    if second != digits[10] {
        return None;
    }
    match (weighted(&FIRST_CHECK_WEIGHTS) + u32::from(digits[9])) % 11 {
        0 => Some(CheckRule::Classic),
        1..=3 => Some(CheckRule::From2032),
        _ => None,
    }
}

/// Both check digits for the first nine digits, or `None` when either comes out as
/// 10, which makes the number invalid.
fn check_digits(first_nine: &[u8]) -> Option<(u8, u8)> {
    let first = mod11_check_digit(first_nine, &FIRST_CHECK_WEIGHTS)?;
    let mut first_ten = first_nine.to_vec();
    first_ten.push(first);
    let second = mod11_check_digit(&first_ten, &SECOND_CHECK_WEIGHTS)?;
    Some((first, second))
}

fn mod11_check_digit(digits: &[u8], weights: &[u32]) -> Option<u8> {
    let sum: u32 = digits
        .iter()
        .zip(weights)
        .map(|(&digit, &weight)| u32::from(digit) * weight)
        .sum();
    match 11 - sum % 11 {
        11 => Some(0),
        10 => None,
        digit => u8::try_from(digit).ok(),
    }
}

/// The century (1800, 1900 or 2000) that the individual number assigns to a
/// two-digit year, or `None` for combinations the registry never issues.
fn century_of(two_digit_year: i16, individual: u16) -> Option<i16> {
    match (individual, two_digit_year) {
        (0..=499, _) => Some(1900),
        (500..=749, 54..=99) => Some(1800),
        (500..=999, 0..=39) => Some(2000),
        (900..=999, 40..=99) => Some(1900),
        _ => None,
    }
}

fn decode_birth_date(digits: &[u8; 11]) -> Result<Date, NationalIdError> {
    let pair = |i: usize| i16::from(digits[i]) * 10 + i16::from(digits[i + 1]);
    let individual = u16::from(digits[6]) * 100 + u16::from(digits[7]) * 10 + u16::from(digits[8]);

    let day = match pair(0) {
        day @ 1..=31 => day,
        day @ 41..=71 => day - D_NUMBER_DAY_OFFSET,
        _ => return Err(NationalIdError::InvalidDate),
    };
    let month = match pair(2) {
        month @ 1..=12 => month,
        month @ 81..=92 => month - SYNTHETIC_MONTH_OFFSET,
        _ => return Err(NationalIdError::InvalidDate),
    };
    let two_digit_year = pair(4);
    let century = century_of(two_digit_year, individual).ok_or(NationalIdError::InvalidDate)?;

    // Day and month are at most 31 and 12 here, so the conversions cannot fail;
    // `Date::new` then rejects days past the month's end, such as 31 February.
    let day = i8::try_from(day).map_err(|_| NationalIdError::InvalidDate)?;
    let month = i8::try_from(month).map_err(|_| NationalIdError::InvalidDate)?;
    Date::new(century + two_digit_year, month, day).map_err(|_| NationalIdError::InvalidDate)
}

#[cfg(test)]
mod tests {
    use jiff::ToSpan;
    use jiff::civil::date;
    use proptest::prelude::*;

    use super::*;

    // Real-format examples use birth dates no living person can hold: 1854 (110
    // years old when the registry began in 1964) and the end of 2039 (still in the
    // future). Everything else is synthetic.
    #[test]
    fn valid_numbers_parse_with_their_birth_date_kind_and_sex() {
        use NationalIdKind::{DNummer, Fodselsnummer};
        let cases: &[(&str, Date, NationalIdKind, bool, bool)] = &[
            // (input, birth date, kind, synthetic, female)
            ("01818012337", date(1980, 1, 1), Fodselsnummer, true, false),
            ("018180 12337", date(1980, 1, 1), Fodselsnummer, true, false),
            ("  0181 8012 337 ", date(1980, 1, 1), Fodselsnummer, true, false),
            ("018180-12337", date(1980, 1, 1), Fodselsnummer, true, false),
            ("018180 - 12337", date(1980, 1, 1), Fodselsnummer, true, false),
            ("29820050043", date(2000, 2, 29), Fodselsnummer, true, true),
            ("01815095088", date(1950, 1, 1), Fodselsnummer, true, true),
            ("31929970007", date(1899, 12, 31), Fodselsnummer, true, true),
            ("31923998007", date(2039, 12, 31), Fodselsnummer, true, true),
            ("45838520050", date(1985, 3, 5), DNummer, true, true),
            ("01015450068", date(1854, 1, 1), Fodselsnummer, false, true),
            ("15065460189", date(1854, 6, 15), Fodselsnummer, false, false),
            ("71075451150", date(1854, 7, 31), DNummer, false, false),
            ("31123990008", date(2039, 12, 31), Fodselsnummer, false, true),
        ];
        for &(input, birth_date, kind, synthetic, female) in cases {
            let id = NationalId::parse(input).unwrap_or_else(|e| panic!("{input}: {e}"));
            assert_eq!(id.as_str(), input.replace([' ', '-'], ""), "{input}");
            assert_eq!(id.birth_date(), birth_date, "{input}");
            assert_eq!(id.kind(), kind, "{input}");
            assert_eq!(id.is_synthetic(), synthetic, "{input}");
            assert_eq!(id.is_female(), Some(female), "{input}");
        }
    }

    /// The identity-number table of issue 21: the 2032 rule (Skatteetaten's
    /// examples), a birth date in the future, and written forms.
    #[test]
    fn the_2032_rule_the_future_and_written_forms() {
        use CheckRule::{Classic, From2032};
        use NationalIdError::{CheckDigits, FutureBirthDate};
        let today = date(2026, 12, 5);
        let after_2032 = date(2033, 6, 1);
        // (input, today, rule or the error)
        let cases: &[(&str, Date, Result<CheckRule, NationalIdError>)] = &[
            // Skatteetaten: born 2 January 2032, individual 999, remainder 0.
            ("02013299997", after_2032, Ok(Classic)),
            // ... the same born in the future, as seen today.
            ("02013299997", today, Err(FutureBirthDate)),
            // Skatteetaten: born 30.10.1982, given a number in 2032: remainder 0,
            // then remainder 1 (first check digit 3).
            ("30108299920", today, Ok(Classic)),
            ("30108299939", today, Ok(From2032)),
            ("301082 99939", after_2032, Ok(From2032)),
            ("301082-99939", after_2032, Ok(From2032)),
            // Remainder 2 and 3 (first check digit 4 and 5, second recomputed).
            ("30108299947", today, Ok(From2032)),
            ("30108299955", today, Ok(From2032)),
            // Remainder 4 is no rule's.
            ("30108299963", today, Err(CheckDigits)),
            // The second check digit is checked as always.
            ("30108299938", today, Err(CheckDigits)),
            // Born yesterday and today are fine; tomorrow is not (synthetic, 2026).
            ("04922650026", today, Ok(Classic)),
            ("05922650065", today, Ok(Classic)),
            ("06922650185", today, Err(FutureBirthDate)),
            // From 2032, a classic-looking future date may be a 2032-rule number
            // whose century the register knows.
            ("31123990008", today, Err(FutureBirthDate)),
            ("31123990008", after_2032, Ok(Classic)),
        ];
        for &(input, on, expected) in cases {
            let got = NationalId::parse_on(input, on).map(|id| id.rule());
            assert_eq!(got, expected, "{input} on {on}");
        }
        // A 2032-rule number says nothing of sex.
        let new = NationalId::parse("30108299939").expect("2032 rule");
        assert_eq!(new.is_female(), None);
        assert_eq!(
            NationalId::parse("30108299920").expect("classic").is_female(),
            Some(false)
        );
    }

    #[test]
    fn invalid_numbers_are_rejected_with_the_reason() {
        use NationalIdError::{CheckDigits, InvalidDate, NotDigits, WrongLength};
        let cases: &[(&str, NationalIdError)] = &[
            ("", WrongLength),
            ("   ", WrongLength),
            ("0181801233", WrongLength),
            ("018180123370", WrongLength),
            ("0181801233x", NotDigits),
            ("0181-80-12337", NotDigits),
            ("018180–12337", NotDigits), // an en dash is not a hyphen
            ("Ola Nordmann", NotDigits),
            ("٠١٨١٨٠١٢٣٣٧", NotDigits),
            ("01818012338", CheckDigits),
            ("01818012347", CheckDigits),
            ("10818012337", CheckDigits),
            // Each of these has correct check digits but an impossible birth date.
            ("29820000100", InvalidDate), // 29 February 1900, not a leap year
            ("31828010096", InvalidDate), // 31 February
            ("01138010046", InvalidDate), // month 13
            ("01938010001", InvalidDate), // month 93
            ("00818010044", InvalidDate), // day 0
            ("32818010035", InvalidDate), // day 32
            ("72818010029", InvalidDate), // D-number day 32
            ("01815080048", InvalidDate), // individual 800 is never issued for 1950
            ("01814560089", InvalidDate), // individual 600 is never issued for year 45
        ];
        for &(input, expected) in cases {
            assert_eq!(NationalId::parse(input), Err(expected), "{input}");
        }
    }

    #[test]
    fn synthetic_rejects_individual_numbers_outside_the_birth_century() {
        let cases: &[(Date, u16)] = &[
            (date(1980, 1, 1), 500),
            (date(1980, 1, 1), 1000),
            (date(1950, 1, 1), 800),
            (date(1860, 1, 1), 100),
            (date(1860, 1, 1), 800),
            (date(2010, 1, 1), 100),
            (date(1853, 12, 31), 600),
            (date(2040, 1, 1), 600),
        ];
        for &(birth_date, individual) in cases {
            assert_eq!(
                NationalId::synthetic(birth_date, individual),
                None,
                "{birth_date} {individual}"
            );
        }
    }

    #[test]
    fn synthetic_builds_the_number_the_algorithm_gives() {
        assert_eq!(
            NationalId::synthetic(date(1980, 1, 1), 123).map(|id| id.0),
            Some("01818012337".to_owned())
        );
        // Individual 112 gives a first check digit of 10 and 111 a second one of 10,
        // so neither is ever issued for this date.
        assert_eq!(NationalId::synthetic(date(1980, 1, 1), 112), None);
        assert_eq!(NationalId::synthetic(date(1980, 1, 1), 111), None);
    }

    /// A birth date the registry can encode, with an individual number from its
    /// century's range.
    fn birth_date_and_individual() -> impl Strategy<Value = (Date, u16)> {
        let first = date(1854, 1, 1);
        let days = first.until(date(2039, 12, 31)).unwrap().get_days();
        (0..=days).prop_flat_map(move |offset| {
            let birth_date = first.checked_add(offset.days()).unwrap();
            let individual = match birth_date.year() {
                1854..=1899 => (500u16..=749).boxed(),
                1900..=1939 => (0u16..=499).boxed(),
                1940..=1999 => prop_oneof![0u16..=499, 900u16..=999].boxed(),
                _ => (500u16..=999).boxed(),
            };
            (Just(birth_date), individual)
        })
    }

    fn valid_synthetic_id() -> impl Strategy<Value = NationalId> {
        birth_date_and_individual().prop_filter_map("check digit is 10", |(birth_date, individual)| {
            NationalId::synthetic(birth_date, individual)
        })
    }

    proptest! {
        #[test]
        fn every_synthetic_number_parses_back_to_its_birth_date(
            (birth_date, individual) in birth_date_and_individual()
        ) {
            if let Some(id) = NationalId::synthetic(birth_date, individual) {
                let parsed = NationalId::parse(id.as_str()).unwrap();
                prop_assert_eq!(&parsed, &id);
                prop_assert_eq!(parsed.birth_date(), birth_date);
                prop_assert!(parsed.is_synthetic());
                prop_assert_eq!(parsed.kind(), NationalIdKind::Fodselsnummer);
                prop_assert_eq!(parsed.is_female(), Some(individual % 2 == 0));
            } else {
                // The only other reason for `None` is a check digit of 10.
                let first_nine = &id_digits_without_check(birth_date, individual);
                prop_assert_eq!(check_digits(first_nine), None);
            }
        }

        #[test]
        fn changing_any_single_digit_makes_a_valid_number_invalid(
            id in valid_synthetic_id(),
            position in 0usize..11,
            delta in 1u8..10,
        ) {
            let mut digits = id.digits();
            digits[position] = (digits[position] + delta) % 10;
            let changed: String = digits.iter().map(|d| char::from(b'0' + d)).collect();
            prop_assert!(NationalId::parse(&changed).is_err(), "{} became {}", id, changed);
        }
    }

    fn id_digits_without_check(birth_date: Date, individual: u16) -> Vec<u8> {
        format!(
            "{:02}{:02}{:02}{:03}",
            birth_date.day(),
            birth_date.month() + 80,
            birth_date.year() % 100,
            individual
        )
        .bytes()
        .map(|b| b - b'0')
        .collect()
    }
}
