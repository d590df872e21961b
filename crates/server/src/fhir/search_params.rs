//! The search parameters Samhand supports (`patient`/`subject`, `identifier`,
//! `patient.identifier`, `_id`, `status`, `date` (or the R4 name of the type's date parameter), `_lastUpdated`, `_count`,
//! `_offset`, `_include`), parsed and bounded: at most [`MAX_COUNT`] per page, dates
//! in the years [`FIRST_YEAR`]–[`LAST_YEAR`]. An unknown parameter, or one the type
//! does not support, is ignored in lenient handling (FHIR's default; the `self`
//! link then shows what was used) and refused with `Prefer: handling=strict`. A
//! value that does not parse is refused in either.

use axum::http::HeaderMap;
use jiff::Timestamp;
use jiff::civil::Date;
use samhand_domain::ids::PatientId;
use samhand_domain::national_id::NationalId;
use samhand_domain::time::oslo;
use serde_json::{Value, json};

use super::outcome::{FhirError, FhirResult};
use super::{DNR_SYSTEM, FNR_SYSTEM, Kind};
use crate::service::{PatientScope, Period};

/// The searchset's page size unless `_count` says otherwise, and the most it may say.
pub const DEFAULT_COUNT: usize = 50;
pub const MAX_COUNT: usize = 100;
/// The years a date parameter may name.
pub const FIRST_YEAR: i16 = 1900;
pub const LAST_YEAR: i16 = 2200;

/// How unknown parameters are handled (`Prefer: handling=strict|lenient`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Handling {
    Lenient,
    Strict,
}

impl Handling {
    pub fn of(headers: &HeaderMap) -> Self {
        let strict = headers
            .get_all("prefer")
            .iter()
            .filter_map(|v| v.to_str().ok())
            .flat_map(|v| v.split([',', ';']))
            .any(|p| p.trim().eq_ignore_ascii_case("handling=strict"));
        if strict { Self::Strict } else { Self::Lenient }
    }
}

/// A comparison prefix of a date parameter.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Prefix {
    Eq,
    Ge,
    Gt,
    Le,
    Lt,
}

/// A date condition: the prefix, the value as given, the instants it covers
/// (from, inclusive, to until, exclusive) and the days they fall on, in UTC or
/// in Oslo (the first day in UTC, the last in Oslo: the store's period covers both).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DateCondition {
    prefix: Prefix,
    value: String,
    range: Range,
    first: Date,
    last: Date,
}

/// The instants a FHIR date or dateTime covers: `[from, until)`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct Range {
    from: Timestamp,
    until: Timestamp,
}

#[derive(Debug, Clone)]
pub struct SearchRequest {
    pub scope: PatientScope,
    /// The patient's national id did not parse, or named no one: nothing matches.
    pub no_match: bool,
    ids: Vec<String>,
    statuses: Vec<String>,
    /// `identifier` on a type other than Patient: (system, value).
    identifiers: Vec<(Option<String>, String)>,
    dates: Vec<DateCondition>,
    last_updated: Vec<DateCondition>,
    pub count: usize,
    pub offset: usize,
    pub include_patient: bool,
    /// AuditEvent: the newest entry the search's first page could see (`_snapshot`,
    /// carried by the paging links), so that the reads each page records do not
    /// shift the pages after it or change the total.
    pub snapshot: Option<i64>,
    /// The parameters used, without paging, for the links.
    echo: Vec<(String, String)>,
}

fn bad_date(value: &str) -> FhirError {
    FhirError::BadRequest(format!(
        "«{value}» er ikke en dato mellom år {FIRST_YEAR} og {LAST_YEAR} (åååå, åååå-mm, åååå-mm-dd eller et tidspunkt, eventuelt med prefiks ge, gt, le, lt eller eq)."
    ))
}

/// The start of a day in Oslo.
fn oslo_start(day: Date) -> Option<Timestamp> {
    day.to_zoned(oslo().clone()).ok().map(|z| z.timestamp())
}

/// The instants a FHIR date or dateTime covers, if it is one within the bounded
/// years: a date without time (year, month or day) is the Oslo days it names, a
/// dateTime must be a whole instant with its offset and covers that instant.
fn range_of(text: &str) -> Option<Range> {
    let year: i16 = text.get(..4)?.parse().ok()?;
    if !(FIRST_YEAR..=LAST_YEAR).contains(&year) {
        return None;
    }
    let (first, after) = match text.len() {
        4 => (Date::new(year, 1, 1).ok()?, Date::new(year + 1, 1, 1).ok()?),
        7 => {
            let first: Date = format!("{text}-01").parse().ok()?;
            (first, first.last_of_month().tomorrow().ok()?)
        }
        10 => {
            let day: Date = text.parse().ok()?;
            (day, day.tomorrow().ok()?)
        }
        _ => {
            let at: Timestamp = text.parse().ok()?;
            return Some(Range {
                from: at,
                until: at.checked_add(jiff::SignedDuration::from_nanos(1)).ok()?,
            });
        }
    };
    Some(Range {
        from: oslo_start(first)?,
        until: oslo_start(after)?,
    })
}

fn utc_date(at: Timestamp) -> Date {
    at.to_zoned(jiff::tz::TimeZone::UTC).date()
}

pub(super) fn parse_date_param(value: &str) -> FhirResult<DateCondition> {
    let (prefix, rest) = match value.get(..2) {
        Some("eq") => (Prefix::Eq, &value[2..]),
        Some("ge") => (Prefix::Ge, &value[2..]),
        Some("gt") => (Prefix::Gt, &value[2..]),
        Some("le") => (Prefix::Le, &value[2..]),
        Some("lt") => (Prefix::Lt, &value[2..]),
        _ => (Prefix::Eq, value),
    };
    let range = range_of(rest).ok_or_else(|| bad_date(value))?;
    let last = range
        .until
        .checked_sub(jiff::SignedDuration::from_nanos(1))
        .map_err(|_| bad_date(value))?;
    Ok(DateCondition {
        prefix,
        value: rest.to_string(),
        range,
        first: utc_date(range.from),
        // Oslo is ahead of UTC: its date is the later, for columns holding Oslo days.
        last: samhand_domain::time::oslo_date(last),
    })
}

/// Whether a resource's date (a date, an Oslo day, or an instant) meets a
/// condition, compared as the instants both cover (FHIR's ranges): `ge` and `gt`
/// when the resource reaches at or after the value's start or end, `le` and `lt`
/// when it begins before the value's end or start, `eq` when it lies within.
pub(super) fn date_matches(value: &str, condition: &DateCondition) -> bool {
    let Some(r) = range_of(value) else {
        return false;
    };
    let c = condition.range;
    match condition.prefix {
        Prefix::Eq => r.from >= c.from && r.until <= c.until,
        Prefix::Ge => r.until > c.from,
        Prefix::Gt => r.until > c.until,
        Prefix::Le => r.from < c.until,
        Prefix::Lt => r.from < c.from,
    }
}

pub fn element<'v>(resource: &'v Value, path: &str) -> &'v Value {
    path.split('.').fold(resource, |v, key| &v[key])
}

fn parse_patient_reference(value: &str) -> FhirResult<PatientId> {
    let id = value.strip_prefix("Patient/").unwrap_or(value);
    id.parse().map_err(|_| {
        FhirError::BadRequest(format!("«{value}» er ikke en pasientreferanse (Patient/{{id}})."))
    })
}

pub(super) fn number(key: &str, value: &str) -> FhirResult<usize> {
    value
        .parse()
        .map_err(|_| FhirError::BadRequest(format!("{key} må være et tall, ikke «{value}».")))
}

/// The types whose resources carry an `identifier` the search matches.
fn has_identifier(kind: Kind) -> bool {
    matches!(
        kind,
        Kind::Patient | Kind::MedicationRequest | Kind::Encounter | Kind::Observation
    )
}

impl SearchRequest {
    fn empty() -> Self {
        Self {
            scope: PatientScope::Related,
            no_match: false,
            ids: Vec::new(),
            statuses: Vec::new(),
            identifiers: Vec::new(),
            dates: Vec::new(),
            last_updated: Vec::new(),
            count: DEFAULT_COUNT,
            offset: 0,
            include_patient: false,
            snapshot: None,
            echo: Vec::new(),
        }
    }

    pub fn parse(kind: Kind, params: &[(String, String)], handling: Handling) -> FhirResult<Self> {
        let mut request = Self::empty();
        for (key, value) in params {
            if !request.apply(kind, key, value)? {
                if handling == Handling::Strict {
                    return Err(FhirError::BadRequest(format!(
                        "Søkeparameteren «{key}» støttes ikke for {} (Prefer: handling=strict). Se /fhir/metadata.",
                        kind.name()
                    )));
                }
                // Ignored, as FHIR's lenient handling allows; not echoed in the
                // self link, so the caller can see it.
                continue;
            }
            if !matches!(key.as_str(), "_count" | "_offset") {
                request.echo.push((key.clone(), value.clone()));
            }
        }
        Ok(request)
    }

    /// Applies one parameter; `false` when the type does not support it.
    fn apply(&mut self, kind: Kind, key: &str, value: &str) -> FhirResult<bool> {
        match key {
            "patient" | "subject" if kind != Kind::Patient => {
                self.scope = PatientScope::One(parse_patient_reference(value)?);
            }
            "_id" if kind == Kind::Patient => self.scope = PatientScope::One(parse_patient_reference(value)?),
            "_id" => self.ids.extend(value.split(',').map(str::to_string)),
            "identifier" if kind == Kind::Patient => self.national_id(value),
            "patient.identifier" if kind != Kind::Patient => self.national_id(value),
            "identifier" if has_identifier(kind) => {
                let (system, token) = match value.split_once('|') {
                    Some((system, token)) if !system.is_empty() => (Some(system.to_string()), token),
                    Some((_, token)) => (None, token),
                    None => (None, value),
                };
                self.identifiers.push((system, token.to_string()));
            }
            "status" if kind != Kind::AuditEvent => {
                self.statuses.extend(value.split(',').map(str::to_string))
            }
            _ if (key == "date" || key == kind.date_param()) && kind.date_element().is_some() => {
                self.dates.push(parse_date_param(value)?)
            }
            "_lastUpdated" => self.last_updated.push(parse_date_param(value)?),
            // Checked by content negotiation; JSON is all Samhand writes.
            "_format" => {}
            "_count" => self.count = number(key, value)?.min(MAX_COUNT),
            "_offset" => self.offset = number(key, value)?,
            "_snapshot" if kind == Kind::AuditEvent => self.snapshot = Some(number(key, value)? as i64),
            "_include" => {
                let wanted = format!("{}:patient", kind.name());
                let subject = format!("{}:subject", kind.name());
                if value == wanted || value == subject || value == "*" {
                    self.include_patient = kind != Kind::Patient;
                } else {
                    return Err(FhirError::BadRequest(format!(
                        "_include={value} støttes ikke; bruk _include={wanted}."
                    )));
                }
            }
            _ => return Ok(false),
        }
        Ok(true)
    }

    /// `identifier=[system|]number`: a fødselsnummer or D-nummer names the patient.
    fn national_id(&mut self, value: &str) {
        let (system, number) = value.split_once('|').unwrap_or(("", value));
        // An H-number finds the patient it was received for with a stay or a test.
        if system == super::references::H_NUMBER_SYSTEM {
            match samhand_domain::received::HNumber::parse(number) {
                Ok(number) => self.scope = PatientScope::HNumber(number),
                Err(_) => self.no_match = true,
            }
            return;
        }
        if !system.is_empty() && system != FNR_SYSTEM && system != DNR_SYSTEM {
            self.no_match = true;
        }
        match NationalId::parse(number) {
            Ok(id) => self.scope = PatientScope::NationalId(id),
            Err(_) => self.no_match = true,
        }
    }

    /// The days the `date` conditions can match (a day wider than the instants:
    /// the first in UTC, the last in Oslo), for the store to filter by
    /// (the conditions themselves are applied exactly by [`Self::keeps`]). Where
    /// a resource of `kind` was last updated at its date (a recording, an audit
    /// entry), the `_lastUpdated` conditions narrow it too: a sync of the
    /// dispensings by `_lastUpdated` alone was counted over every dose the
    /// caller's patients ever had, and refused (H103).
    pub fn period(&self, kind: Kind) -> Period {
        let updated: &[DateCondition] = if kind.updated_at_its_date() {
            &self.last_updated
        } else {
            &[]
        };
        let mut period = Period::ALL;
        for condition in self.dates.iter().chain(updated) {
            if matches!(condition.prefix, Prefix::Eq | Prefix::Ge | Prefix::Gt) {
                period.from = period.from.max(condition.first);
            }
            if matches!(condition.prefix, Prefix::Eq | Prefix::Le | Prefix::Lt) {
                period.to = period.to.min(condition.last);
            }
        }
        period
    }

    /// Fixes the snapshot of an AuditEvent search at the newest entry found, if
    /// the request has none yet (its first page).
    pub fn fix_snapshot(&mut self, found: &[Value]) {
        if self.snapshot.is_some() {
            return;
        }
        let newest = found.iter().filter_map(audit_seq).max().unwrap_or(0);
        self.snapshot = Some(newest);
        self.echo.push(("_snapshot".into(), newest.to_string()));
    }

    pub fn keeps(&self, kind: Kind, resource: &Value) -> bool {
        if kind == Kind::AuditEvent
            && let Some(snapshot) = self.snapshot
            && audit_seq(resource).is_none_or(|seq| seq > snapshot)
        {
            return false;
        }
        let id_ok = self.ids.is_empty() || self.ids.iter().any(|id| resource["id"] == json!(id));
        let status_ok =
            self.statuses.is_empty() || self.statuses.iter().any(|s| resource["status"] == json!(s));
        let identifier_ok = self.identifiers.iter().all(|(system, value)| {
            resource["identifier"].as_array().is_some_and(|ids| {
                ids.iter().any(|i| {
                    i["value"] == json!(value) && system.as_ref().is_none_or(|s| i["system"] == json!(s))
                })
            })
        });
        let date_ok = match kind.date_element() {
            Some(path) => self.dates.iter().all(|condition| {
                element(resource, path)
                    .as_str()
                    .is_some_and(|v| date_matches(v, condition))
            }),
            None => true,
        };
        let updated_ok = self.last_updated.iter().all(|condition| {
            resource["meta"]["lastUpdated"]
                .as_str()
                .is_some_and(|v| date_matches(v, condition))
        });
        id_ok && status_ok && identifier_ok && date_ok && updated_ok
    }

    pub fn link(&self, base: &str, kind: Kind, offset: usize) -> String {
        let mut query: Vec<String> = self
            .echo
            .iter()
            .map(|(k, v)| format!("{}={}", encode(k), encode(v)))
            .collect();
        query.push(format!("_count={}", self.count));
        query.push(format!("_offset={offset}"));
        format!("{base}/{}?{}", kind.name(), query.join("&"))
    }
}

/// The sequence number of an AuditEvent (its id).
fn audit_seq(resource: &Value) -> Option<i64> {
    resource["id"].as_str().and_then(|id| id.parse().ok())
}

pub(super) fn encode(text: &str) -> String {
    text.bytes()
        .map(|b| match b {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'.' | b'_' | b'~' | b':' | b'/' => {
                (b as char).to_string()
            }
            _ => format!("%{b:02X}"),
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn lenient(kind: Kind, key: &str, value: &str) -> FhirResult<SearchRequest> {
        SearchRequest::parse(kind, &[(key.into(), value.into())], Handling::Lenient)
    }

    #[test]
    fn instants_compare_with_their_offsets_and_a_date_is_the_oslo_day() {
        // 13:56Z is 14:56 in Oslo (winter): after 14:00+01:00.
        let ge = parse_date_param("ge2026-12-04T14:00:00+01:00").expect("instant");
        assert!(date_matches("2026-12-04T13:56:00Z", &ge));
        assert!(!date_matches("2026-12-04T12:59:59Z", &ge));
        let gt = parse_date_param("gt2026-12-04T13:00:00Z").expect("instant");
        assert!(!date_matches("2026-12-04T14:00:00+01:00", &gt));
        assert!(date_matches("2026-12-04T14:00:00.001+01:00", &gt));
        // The Oslo day 4 December runs from 23:00Z on the 3rd.
        let day = parse_date_param("2026-12-04").expect("day");
        assert!(date_matches("2026-12-03T23:30:00Z", &day));
        assert!(!date_matches("2026-12-04T23:00:00Z", &day));
        let lt = parse_date_param("lt2026-12-04").expect("day");
        assert!(date_matches("2026-12-03T22:59:59Z", &lt));
        assert!(!date_matches("2026-12-03T23:00:00Z", &lt));
        assert_eq!(
            (day.first, day.last),
            (jiff::civil::date(2026, 12, 3), jiff::civil::date(2026, 12, 4))
        );
    }

    #[test]
    fn dates_compare_as_the_ranges_they_cover() {
        let ge = parse_date_param("ge2026-11-23").expect("date");
        assert!(date_matches("2026-11-23T08:00:00Z", &ge));
        assert!(!date_matches("2026-11-22T22:59:59Z", &ge));
        let le = parse_date_param("le2026-11").expect("date");
        assert!(date_matches("2026-11-30", &le));
        assert!(!date_matches("2026-12-01", &le));
    }

    #[test]
    fn a_bad_date_or_count_is_a_bad_request() {
        assert!(lenient(Kind::MedicationRequest, "date", "ge-i-går").is_err());
        assert!(lenient(Kind::MedicationRequest, "_count", "mange").is_err());
        assert!(lenient(Kind::MedicationRequest, "date", "2026-13-01").is_err());
    }

    #[test]
    fn dates_outside_the_bounded_years_are_refused() {
        for value in [
            "ge1899-12-31",
            "le2201-01-01",
            "ge0001",
            "9999-01-01",
            "ge2026-11-23T08:00",
        ] {
            assert!(
                lenient(Kind::MedicationDispense, "date", value).is_err(),
                "{value}"
            );
        }
        for value in [
            "ge1900-01-01",
            "le2200-12-31",
            "2026",
            "2026-11",
            "ge2026-11-23T08:00:00Z",
        ] {
            assert!(
                lenient(Kind::MedicationDispense, "date", value).is_ok(),
                "{value}"
            );
        }
    }

    #[test]
    fn the_period_for_the_store_covers_every_condition() {
        let request = SearchRequest::parse(
            Kind::MedicationDispense,
            &[
                ("date".into(), "ge2026-11".into()),
                ("date".into(), "lt2026-11-25".into()),
            ],
            Handling::Lenient,
        )
        .expect("parses");
        assert_eq!(
            request.period(Kind::MedicationDispense),
            // The Oslo month begins at 23:00Z on 31 October.
            Period {
                from: jiff::civil::date(2026, 10, 31),
                to: jiff::civil::date(2026, 11, 25)
            }
        );
    }

    #[test]
    fn last_updated_narrows_the_period_where_it_is_the_resources_date() {
        let params = [
            ("_lastUpdated".to_string(), "ge2026-12-01".to_string()),
            ("date".to_string(), "le2026-12-04".to_string()),
        ];
        let narrowed = Period {
            from: jiff::civil::date(2026, 11, 30),
            to: jiff::civil::date(2026, 12, 4),
        };
        for kind in [
            Kind::MedicationDispense,
            Kind::MedicationAdministration,
            Kind::AuditEvent,
        ] {
            let request = SearchRequest::parse(kind, &params, Handling::Lenient).expect("parses");
            assert_eq!(request.period(kind), narrowed, "{kind:?}");
        }
        // A drug test's version is updated after it was sampled: `_lastUpdated`
        // says nothing of the sampling date the store filters by.
        let request = SearchRequest::parse(Kind::Observation, &params, Handling::Lenient).expect("parses");
        assert_eq!(
            request.period(Kind::Observation),
            Period {
                from: Period::ALL.from,
                to: jiff::civil::date(2026, 12, 4)
            }
        );
    }

    #[test]
    fn a_count_of_zero_asks_for_the_total_only() {
        assert_eq!(lenient(Kind::Patient, "_count", "0").expect("parses").count, 0);
    }

    #[test]
    fn the_page_size_is_capped() {
        assert_eq!(
            lenient(Kind::Patient, "_count", "100000").expect("parses").count,
            MAX_COUNT
        );
    }

    #[test]
    fn an_unknown_parameter_is_ignored_leniently_and_refused_strictly() {
        let params = [("_sort".to_string(), "date".to_string())];
        let request = SearchRequest::parse(Kind::Observation, &params, Handling::Lenient).expect("lenient");
        assert!(!request.link("b", Kind::Observation, 0).contains("_sort"));
        assert!(SearchRequest::parse(Kind::Observation, &params, Handling::Strict).is_err());
        let date_on_patient = [("date".to_string(), "2026".to_string())];
        assert!(SearchRequest::parse(Kind::Patient, &date_on_patient, Handling::Strict).is_err());
        let identifier_on_flag = [("identifier".to_string(), "x".to_string())];
        assert!(SearchRequest::parse(Kind::Flag, &identifier_on_flag, Handling::Strict).is_err());
    }

    #[test]
    fn an_invalid_national_id_matches_no_one() {
        let request =
            lenient(Kind::Patient, "identifier", &format!("{FNR_SYSTEM}|12345678901")).expect("parses");
        assert!(request.no_match);
    }
}
