//! Search: the parameters Samhand supports (`patient`/`subject`, `identifier`,
//! `_id`, `status`, `date`, `_lastUpdated`, `_count`, `_offset`, `_include`), the
//! searchset Bundle with paging links, and `_include` of the patient. The candidate
//! patients are decided one by one by the policy in the service; a patient the
//! caller may not see is simply absent (and the refusal is in the audit log).

use axum::extract::rejection::QueryRejection;
use axum::extract::{Path, Query, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::Response;
use samhand_domain::access::{Action, DataCategory};
use samhand_domain::ids::PatientId;
use samhand_domain::national_id::NationalId;
use serde_json::{Value, json};

use super::outcome::{FhirError, FhirResult};
use super::{
    DNR_SYSTEM, FNR_SYSTEM, FhirCaller, Kind, all_versions, base_url, current_versions, fhir_response,
    kind_of,
};
use crate::AppState;
use crate::service::{PatientScope, Service};

/// The searchset's page size unless `_count` says otherwise, and the most it may say.
const DEFAULT_COUNT: usize = 50;
const MAX_COUNT: usize = 500;

/// A comparison prefix of a date parameter.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Prefix {
    Eq,
    Ge,
    Gt,
    Le,
    Lt,
}

#[derive(Debug, Clone)]
pub struct SearchRequest {
    pub scope: PatientScope,
    /// The patient's national id did not parse, or named no one: nothing matches.
    no_match: bool,
    ids: Vec<String>,
    statuses: Vec<String>,
    dates: Vec<(Prefix, String)>,
    last_updated: Vec<(Prefix, String)>,
    count: usize,
    offset: usize,
    include_patient: bool,
    /// The parameters as given, without paging, for the links.
    echo: Vec<(String, String)>,
}

fn parse_date_param(value: &str) -> FhirResult<(Prefix, String)> {
    let (prefix, rest) = match value.get(..2) {
        Some("eq") => (Prefix::Eq, &value[2..]),
        Some("ge") => (Prefix::Ge, &value[2..]),
        Some("gt") => (Prefix::Gt, &value[2..]),
        Some("le") => (Prefix::Le, &value[2..]),
        Some("lt") => (Prefix::Lt, &value[2..]),
        _ => (Prefix::Eq, value),
    };
    let looks_like_date = rest.len() >= 4 && rest[..4].chars().all(|c| c.is_ascii_digit());
    if !looks_like_date {
        return Err(FhirError::BadRequest(format!(
            "«{value}» er ikke en dato (åååå-mm-dd, eventuelt med prefiks ge, gt, le, lt eller eq)."
        )));
    }
    Ok((prefix, rest.to_string()))
}

/// Whether a resource's date (a date or an instant) meets a condition. Both are
/// compared at the precision of the shorter, as text: FHIR dates sort as text.
fn date_matches(value: &str, (prefix, wanted): &(Prefix, String)) -> bool {
    let n = value.len().min(wanted.len());
    let (a, b) = (&value[..n], &wanted[..n]);
    match prefix {
        Prefix::Eq => a == b,
        Prefix::Ge => a >= b,
        Prefix::Gt => a > b,
        Prefix::Le => a <= b,
        Prefix::Lt => a < b,
    }
}

fn element<'v>(resource: &'v Value, path: &str) -> &'v Value {
    path.split('.').fold(resource, |v, key| &v[key])
}

fn parse_patient_reference(value: &str) -> FhirResult<PatientId> {
    let id = value.strip_prefix("Patient/").unwrap_or(value);
    id.parse().map_err(|_| {
        FhirError::BadRequest(format!("«{value}» er ikke en pasientreferanse (Patient/{{id}})."))
    })
}

impl SearchRequest {
    pub fn parse(kind: Kind, params: &[(String, String)]) -> FhirResult<Self> {
        let mut request = Self {
            scope: PatientScope::Related,
            no_match: false,
            ids: Vec::new(),
            statuses: Vec::new(),
            dates: Vec::new(),
            last_updated: Vec::new(),
            count: DEFAULT_COUNT,
            offset: 0,
            include_patient: false,
            echo: Vec::new(),
        };
        for (key, value) in params {
            match key.as_str() {
                "patient" | "subject" if kind != Kind::Patient => {
                    request.scope = PatientScope::One(parse_patient_reference(value)?);
                }
                "_id" if kind == Kind::Patient => {
                    request.scope = PatientScope::One(parse_patient_reference(value)?);
                }
                "_id" => request.ids.extend(value.split(',').map(str::to_string)),
                "identifier" | "patient.identifier"
                    if kind == Kind::Patient || key == "patient.identifier" =>
                {
                    let (system, number) = value.split_once('|').unwrap_or(("", value));
                    if !system.is_empty() && system != FNR_SYSTEM && system != DNR_SYSTEM {
                        request.no_match = true;
                    }
                    match NationalId::parse(number) {
                        Ok(id) => request.scope = PatientScope::NationalId(id),
                        Err(_) => request.no_match = true,
                    }
                }
                "status" => request.statuses.extend(value.split(',').map(str::to_string)),
                "date" if kind.date_element().is_some() => request.dates.push(parse_date_param(value)?),
                "_lastUpdated" => request.last_updated.push(parse_date_param(value)?),
                "_count" => {
                    let count: usize = value.parse().map_err(|_| {
                        FhirError::BadRequest(format!("_count må være et tall, ikke «{value}»."))
                    })?;
                    request.count = count.clamp(1, MAX_COUNT);
                    continue;
                }
                "_offset" => {
                    request.offset = value.parse().map_err(|_| {
                        FhirError::BadRequest(format!("_offset må være et tall, ikke «{value}»."))
                    })?;
                    continue;
                }
                "_include" => {
                    let wanted = format!("{}:patient", kind.name());
                    let subject = format!("{}:subject", kind.name());
                    if *value == wanted || *value == subject || value == "*" {
                        request.include_patient = kind != Kind::Patient;
                    } else {
                        return Err(FhirError::BadRequest(format!(
                            "_include={value} støttes ikke; bruk _include={wanted}."
                        )));
                    }
                }
                // Unknown parameters are ignored, as FHIR's lenient handling allows;
                // they are not echoed in the self link, so the caller can see it.
                _ => continue,
            }
            request.echo.push((key.clone(), value.clone()));
        }
        Ok(request)
    }

    fn keeps(&self, kind: Kind, resource: &Value) -> bool {
        let id_ok = self.ids.is_empty() || self.ids.iter().any(|id| resource["id"] == json!(id));
        let status_ok = self.statuses.is_empty()
            || self.statuses.iter().any(|s| {
                resource["status"] == json!(s) || (kind == Kind::Flag && resource["status"] == json!(s))
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
        id_ok && status_ok && date_ok && updated_ok
    }

    fn link(&self, base: &str, kind: Kind, offset: usize) -> String {
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

fn encode(text: &str) -> String {
    text.bytes()
        .map(|b| match b {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'.' | b'_' | b'~' | b':' | b'/' => {
                (b as char).to_string()
            }
            _ => format!("%{b:02X}"),
        })
        .collect()
}

/// Every matching resource (current versions), after the policy.
pub async fn matching(service: &Service<'_>, kind: Kind, request: &SearchRequest) -> FhirResult<Vec<Value>> {
    if request.no_match {
        return Ok(Vec::new());
    }
    let detail = format!("FHIR search {}", kind.name());
    let all = current_versions(all_versions(service, kind, &request.scope, &detail).await?);
    let mut found: Vec<Value> = all.into_iter().filter(|r| request.keeps(kind, r)).collect();
    // Newest first where a date orders them; stable otherwise.
    if let Some(path) = kind.date_element() {
        found.sort_by(|a, b| {
            let key = |r: &Value| element(r, path).as_str().unwrap_or("").to_string();
            key(b)
                .cmp(&key(a))
                .then_with(|| b["id"].as_str().unwrap_or("").cmp(a["id"].as_str().unwrap_or("")))
        });
    }
    Ok(found)
}

/// The patients referred to by some resources, as allowed Patient resources.
async fn included_patients(service: &Service<'_>, kind: Kind, page: &[Value]) -> FhirResult<Vec<Value>> {
    let mut ids: Vec<PatientId> = page
        .iter()
        .filter_map(|r| {
            let element = &r[kind.patient_element()];
            let reference = if element.is_array() {
                element[0]["what"]["reference"].as_str()
            } else {
                element["reference"].as_str()
            };
            reference
                .and_then(|r| r.strip_prefix("Patient/"))
                .and_then(|id| id.parse().ok())
        })
        .collect();
    ids.sort();
    ids.dedup();
    let mut patients = Vec::new();
    for id in ids {
        let grants = service
            .fhir_grants(
                &PatientScope::One(id),
                DataCategory::Identity,
                &format!("FHIR search {}: _include patient", kind.name()),
            )
            .await?;
        patients.extend(super::current_versions(super::patient::patients(
            &service.fhir_identity_versions(&grants).await?,
        )));
    }
    Ok(patients)
}

pub async fn run_search(
    state: &AppState,
    caller: &FhirCaller,
    headers: &HeaderMap,
    kind: Kind,
    params: &[(String, String)],
) -> FhirResult<Response> {
    caller.require(state, kind, Action::Read, "search").await?;
    let request = SearchRequest::parse(kind, params)?;
    // The audit log is long: it is searched one patient at a time.
    if kind == Kind::AuditEvent && request.scope == PatientScope::Related {
        return Err(FhirError::BadRequest(
            "Søk i AuditEvent krever parameteren patient (eller patient.identifier).".into(),
        ));
    }
    if request.include_patient {
        caller
            .require(state, Kind::Patient, Action::Read, "search _include")
            .await?;
    }
    let service = Service::new(state, caller.actor());
    let found = matching(&service, kind, &request).await?;
    let total = found.len();
    let page: Vec<Value> = found
        .into_iter()
        .skip(request.offset)
        .take(request.count)
        .collect();
    let base = base_url(headers);
    let mut entries: Vec<Value> = page
        .iter()
        .map(|r| {
            json!({
                "fullUrl": format!("{base}/{}/{}", kind.name(), r["id"].as_str().unwrap_or("")),
                "resource": r,
                "search": {"mode": "match"},
            })
        })
        .collect();
    if request.include_patient {
        for patient in included_patients(&service, kind, &page).await? {
            entries.push(json!({
                "fullUrl": format!("{base}/Patient/{}", patient["id"].as_str().unwrap_or("")),
                "resource": patient,
                "search": {"mode": "include"},
            }));
        }
    }
    let mut links = vec![
        json!({"relation": "self", "url": request.link(&base, kind, request.offset)}),
        json!({"relation": "first", "url": request.link(&base, kind, 0)}),
    ];
    if request.offset + request.count < total {
        links.push(
            json!({"relation": "next", "url": request.link(&base, kind, request.offset + request.count)}),
        );
    }
    if request.offset > 0 {
        let previous = request.offset.saturating_sub(request.count);
        links.push(json!({"relation": "previous", "url": request.link(&base, kind, previous)}));
    }
    let bundle = json!({
        "resourceType": "Bundle",
        "type": "searchset",
        "total": total,
        "link": links,
        "entry": entries,
    });
    Ok(fhir_response(StatusCode::OK, &bundle))
}

type Params = Result<Query<Vec<(String, String)>>, QueryRejection>;

fn params(query: Params) -> FhirResult<Vec<(String, String)>> {
    query
        .map(|Query(p)| p)
        .map_err(|e| FhirError::BadRequest(format!("Søkeparameterne kunne ikke leses ({e}).")))
}

pub async fn search(
    State(state): State<AppState>,
    caller: FhirCaller,
    headers: HeaderMap,
    Path(kind): Path<String>,
    query: Params,
) -> FhirResult<Response> {
    let kind = kind_of(&kind)?;
    run_search(&state, &caller, &headers, kind, &params(query)?).await
}

pub async fn search_observation(
    State(state): State<AppState>,
    caller: FhirCaller,
    headers: HeaderMap,
    query: Params,
) -> FhirResult<Response> {
    run_search(&state, &caller, &headers, Kind::Observation, &params(query)?).await
}

pub async fn search_patient(
    State(state): State<AppState>,
    caller: FhirCaller,
    headers: HeaderMap,
    query: Params,
) -> FhirResult<Response> {
    run_search(&state, &caller, &headers, Kind::Patient, &params(query)?).await
}

pub async fn search_encounter(
    State(state): State<AppState>,
    caller: FhirCaller,
    headers: HeaderMap,
    query: Params,
) -> FhirResult<Response> {
    run_search(&state, &caller, &headers, Kind::Encounter, &params(query)?).await
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn dates_compare_at_the_shorter_precision() {
        let ge = (Prefix::Ge, "2026-11-23".to_string());
        assert!(date_matches("2026-11-23T08:00:00Z", &ge));
        assert!(!date_matches("2026-11-22T23:00:00Z", &ge));
        let le = (Prefix::Le, "2026-11".to_string());
        assert!(date_matches("2026-11-30", &le));
        assert!(!date_matches("2026-12-01", &le));
    }

    #[test]
    fn a_bad_date_or_count_is_a_bad_request() {
        assert!(
            SearchRequest::parse(Kind::MedicationRequest, &[("date".into(), "ge-i-går".into())]).is_err()
        );
        assert!(SearchRequest::parse(Kind::MedicationRequest, &[("_count".into(), "mange".into())]).is_err());
    }

    #[test]
    fn an_invalid_national_id_matches_no_one() {
        let request = SearchRequest::parse(
            Kind::Patient,
            &[("identifier".into(), format!("{FNR_SYSTEM}|12345678901"))],
        )
        .expect("parses");
        assert!(request.no_match);
    }
}
