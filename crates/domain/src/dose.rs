//! A dose amount: milligrams held as whole micrograms, parsed from what people type.

use std::fmt;

/// An amount of a substance. Always positive when it is a dose to give.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Default)]
pub struct Dose(u64);

#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum DoseError {
    #[error("the dose is empty")]
    Empty,
    #[error("the dose is not a number of milligrams")]
    NotANumber,
    #[error("the dose must be more than zero")]
    NotPositive,
    #[error("the dose has more than three decimals")]
    TooPrecise,
    #[error("the dose is unreasonably large")]
    TooLarge,
}

/// No LAR dose comes near this; anything above is a typing error.
const MAX_MICROGRAMS: u64 = 10_000 * 1000;

impl Dose {
    pub fn from_mg(mg: u64) -> Self {
        Self(mg * 1000)
    }

    pub fn from_micrograms(ug: u64) -> Self {
        Self(ug)
    }

    pub fn micrograms(self) -> u64 {
        self.0
    }

    pub fn is_zero(self) -> bool {
        self.0 == 0
    }

    /// Parses "60", "8,5" or "0.4" (milligrams, Norwegian or English decimal mark).
    pub fn parse_mg(input: &str) -> Result<Self, DoseError> {
        let text = input.trim().trim_end_matches("mg").trim().replace(',', ".");
        if text.is_empty() {
            return Err(DoseError::Empty);
        }
        let (whole, fraction) = text.split_once('.').unwrap_or((&text, ""));
        if whole.is_empty() && fraction.is_empty() {
            return Err(DoseError::NotANumber);
        }
        if !whole.chars().all(|c| c.is_ascii_digit()) || !fraction.chars().all(|c| c.is_ascii_digit()) {
            return Err(DoseError::NotANumber);
        }
        if fraction.len() > 3 {
            return Err(DoseError::TooPrecise);
        }
        if whole.len() > 6 {
            return Err(DoseError::TooLarge);
        }
        let whole: u64 = if whole.is_empty() {
            0
        } else {
            whole.parse().map_err(|_| DoseError::NotANumber)?
        };
        let fraction_ug: u64 = format!("{fraction:0<3}")
            .parse()
            .map_err(|_| DoseError::NotANumber)?;
        let ug = whole * 1000 + fraction_ug;
        if ug == 0 {
            return Err(DoseError::NotPositive);
        }
        if ug > MAX_MICROGRAMS {
            return Err(DoseError::TooLarge);
        }
        Ok(Self(ug))
    }

    pub fn checked_sub(self, other: Dose) -> Option<Dose> {
        self.0.checked_sub(other.0).map(Dose)
    }

    pub fn saturating_sub(self, other: Dose) -> Dose {
        Dose(self.0.saturating_sub(other.0))
    }
}

impl std::ops::Add for Dose {
    type Output = Dose;
    fn add(self, other: Dose) -> Dose {
        Dose(self.0 + other.0)
    }
}

impl std::iter::Sum for Dose {
    fn sum<I: Iterator<Item = Dose>>(iter: I) -> Dose {
        iter.fold(Dose(0), |a, b| a + b)
    }
}

/// Shown the Norwegian way: "8,5 mg", "60 mg".
impl fmt::Display for Dose {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let whole = self.0 / 1000;
        let fraction = self.0 % 1000;
        if fraction == 0 {
            write!(f, "{whole} mg")
        } else {
            let digits = format!("{fraction:03}");
            write!(f, "{whole},{} mg", digits.trim_end_matches('0'))
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn doses_parse_from_what_staff_type() {
        let cases: &[(&str, Result<u64, DoseError>)] = &[
            ("60", Ok(60_000)),
            ("8,5", Ok(8_500)),
            ("0.4", Ok(400)),
            (" 16 mg ", Ok(16_000)),
            ("", Err(DoseError::Empty)),
            ("abc", Err(DoseError::NotANumber)),
            ("-5", Err(DoseError::NotANumber)),
            ("1,2345", Err(DoseError::TooPrecise)),
            ("0", Err(DoseError::NotPositive)),
            ("20000", Err(DoseError::TooLarge)),
            (".", Err(DoseError::NotANumber)),
        ];
        for (input, expected) in cases {
            assert_eq!(
                Dose::parse_mg(input).map(Dose::micrograms),
                *expected,
                "input {input:?}"
            );
        }
    }

    #[test]
    fn doses_display_with_a_norwegian_decimal_comma() {
        assert_eq!(Dose::from_mg(60).to_string(), "60 mg");
        assert_eq!(Dose::from_micrograms(8_500).to_string(), "8,5 mg");
        assert_eq!(Dose::from_micrograms(400).to_string(), "0,4 mg");
        assert_eq!(Dose::from_micrograms(1_250).to_string(), "1,25 mg");
    }
}
