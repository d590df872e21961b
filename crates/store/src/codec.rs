//! Conversions between domain values and the portable column types: ids and dates
//! as text, instants as microseconds, amounts as micrograms.

use std::str::FromStr;

use jiff::Timestamp;
use jiff::civil::{Date, Time};
use samhand_domain::dose::Dose;
use sqlx::Row;
use sqlx::any::AnyRow;

use crate::db::StoreError;

pub fn corrupt(what: impl std::fmt::Display) -> StoreError {
    StoreError::Corrupt(what.to_string())
}

/// Reads a column and parses it with `FromStr` (ids, dates, times).
pub fn parsed<T: FromStr>(row: &AnyRow, column: &str) -> Result<T, StoreError> {
    let text: String = row.try_get(column)?;
    text.parse().map_err(|_| corrupt(format!("{column}: {text:?}")))
}

pub fn parsed_opt<T: FromStr>(row: &AnyRow, column: &str) -> Result<Option<T>, StoreError> {
    let text: Option<String> = row.try_get(column)?;
    text.filter(|t| !t.is_empty())
        .map(|t| t.parse().map_err(|_| corrupt(format!("{column}: {t:?}"))))
        .transpose()
}

pub fn text(row: &AnyRow, column: &str) -> Result<String, StoreError> {
    Ok(row.try_get(column)?)
}

pub fn int(row: &AnyRow, column: &str) -> Result<i64, StoreError> {
    Ok(row.try_get(column)?)
}

pub fn instant(row: &AnyRow, column: &str) -> Result<Timestamp, StoreError> {
    let micros: i64 = row.try_get(column)?;
    Timestamp::from_microsecond(micros).map_err(corrupt)
}

pub fn instant_opt(row: &AnyRow, column: &str) -> Result<Option<Timestamp>, StoreError> {
    let micros: Option<i64> = row.try_get(column)?;
    micros
        .map(|m| Timestamp::from_microsecond(m).map_err(corrupt))
        .transpose()
}

pub fn micros(at: Timestamp) -> i64 {
    at.as_microsecond()
}

pub fn date_text(date: Date) -> String {
    date.to_string()
}

pub fn time_text(time: Time) -> String {
    format!("{:02}:{:02}", time.hour(), time.minute())
}

pub fn dose(row: &AnyRow, column: &str) -> Result<Dose, StoreError> {
    let ug: i64 = row.try_get(column)?;
    u64::try_from(ug)
        .map(Dose::from_micrograms)
        .map_err(|_| corrupt(format!("{column}: {ug}")))
}

pub fn dose_ug(dose: Dose) -> i64 {
    dose.micrograms() as i64
}

pub fn parse_doses(text: &str) -> Result<Vec<Dose>, StoreError> {
    text.split(',')
        .map(|p| {
            p.trim()
                .parse::<u64>()
                .map(Dose::from_micrograms)
                .map_err(|_| corrupt(format!("doses {text:?}")))
        })
        .collect()
}

pub fn doses_text(doses: &[Dose]) -> String {
    doses
        .iter()
        .map(|d| d.micrograms().to_string())
        .collect::<Vec<_>>()
        .join(",")
}

/// A column holding a domain code (`samhand_domain::code::Code`): the value, or a
/// corrupt-data error naming the column and the text found.
pub fn coded<T: samhand_domain::code::Code>(row: &AnyRow, column: &str) -> Result<T, StoreError> {
    let code = text(row, column)?;
    T::from_code(&code).ok_or_else(|| corrupt(format!("{column} {code} is no {}", T::NAME)))
}
