//! Field-level validation errors, carrying the Norwegian sentence a person sees next
//! to the field and the field's name for forms and problem+json bodies.

use std::fmt;

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FieldError {
    /// The input field, as named in forms and API bodies.
    pub field: &'static str,
    /// What is wrong, in Norwegian bokmål, as shown to the person who typed it.
    pub message: String,
}

impl FieldError {
    pub fn new(field: &'static str, message: impl Into<String>) -> Self {
        Self {
            field,
            message: message.into(),
        }
    }
}

/// All that is wrong with one submitted form, so every field can show its error at once.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct FieldErrors(pub Vec<FieldError>);

impl FieldErrors {
    pub fn push(&mut self, field: &'static str, message: impl Into<String>) {
        self.0.push(FieldError::new(field, message));
    }

    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }

    pub fn for_field(&self, field: &str) -> Option<&str> {
        self.0
            .iter()
            .find(|e| e.field == field)
            .map(|e| e.message.as_str())
    }

    /// `Ok(value)` when nothing was wrong.
    pub fn into_result<T>(self, value: T) -> Result<T, FieldErrors> {
        if self.0.is_empty() { Ok(value) } else { Err(self) }
    }

    pub fn single(field: &'static str, message: impl Into<String>) -> Self {
        Self(vec![FieldError::new(field, message)])
    }
}

impl fmt::Display for FieldErrors {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let parts: Vec<String> = self
            .0
            .iter()
            .map(|e| format!("{}: {}", e.field, e.message))
            .collect();
        f.write_str(&parts.join("; "))
    }
}

impl std::error::Error for FieldErrors {}

/// A required free-text field, trimmed; records the error when empty.
pub fn required_text(errors: &mut FieldErrors, field: &'static str, value: &str, message: &str) -> String {
    let value = value.trim();
    if value.is_empty() {
        errors.push(field, message);
    }
    value.to_string()
}

/// Parses a date typed as dd.mm.yyyy (Norwegian) or yyyy-mm-dd (HTML date input, API).
pub fn parse_date(value: &str) -> Option<jiff::civil::Date> {
    let value = value.trim();
    let date = match value.parse::<jiff::civil::Date>() {
        Ok(date) => date,
        Err(_) => {
            let mut parts = value.split('.');
            let (d, m, y) = (parts.next()?, parts.next()?, parts.next()?);
            if parts.next().is_some() {
                return None;
            }
            jiff::civil::Date::new(y.parse().ok()?, m.parse().ok()?, d.parse().ok()?).ok()?
        }
    };
    // No date in Samhand's records is before 1900 or after 2199: the year 0002 or
    // 9999 is a typing error (or a probe), not a plan.
    (SENSIBLE_YEARS.contains(&date.year())).then_some(date)
}

/// The years a date entered in Samhand may have.
pub const SENSIBLE_YEARS: std::ops::RangeInclusive<i16> = 1900..=2199;

/// Parses a time of day typed as 08.00, 08:00 or 8.
pub fn parse_time(value: &str) -> Option<jiff::civil::Time> {
    let value = value.trim().replace('.', ":");
    let (h, m) = value.split_once(':').unwrap_or((&value, "0"));
    jiff::civil::Time::new(h.parse().ok()?, m.parse().ok()?, 0, 0).ok()
}

#[cfg(test)]
mod tests {
    use super::*;
    use jiff::civil::{date, time};

    #[test]
    fn dates_parse_in_norwegian_and_iso_form() {
        assert_eq!(parse_date("24.12.2026"), Some(date(2026, 12, 24)));
        assert_eq!(parse_date("2026-12-24"), Some(date(2026, 12, 24)));
        assert_eq!(parse_date("31.02.2026"), None);
        assert_eq!(parse_date("i morgen"), None);
    }

    #[test]
    fn dates_outside_sensible_years_are_refused() {
        assert_eq!(parse_date("9999-12-31"), None);
        assert_eq!(parse_date("0002-01-01"), None);
        assert_eq!(parse_date("-000001-01-01"), None);
        assert_eq!(parse_date("31.12.1899"), None);
        assert_eq!(parse_date("01.01.1900"), Some(date(1900, 1, 1)));
        assert_eq!(parse_date("2199-12-31"), Some(date(2199, 12, 31)));
    }

    #[test]
    fn times_parse_with_dot_or_colon() {
        assert_eq!(parse_time("08.00"), Some(time(8, 0, 0, 0)));
        assert_eq!(parse_time("9:30"), Some(time(9, 30, 0, 0)));
        assert_eq!(parse_time("10"), Some(time(10, 0, 0, 0)));
        assert_eq!(parse_time("25.00"), None);
    }
}
