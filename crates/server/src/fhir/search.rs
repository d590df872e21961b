//! Search: the searchset Bundle with paging links and `_include` of the patient
//! (the parameters are [`super::search_params`]). The candidate patients are
//! decided one by one by the policy; a patient the caller may not see is simply
//! absent. What is recorded in the audit log is what was returned: a read per
//! patient whose data is on the page (or the one patient a search named), and one
//! refusal when the policy allows none of the candidates.

use axum::extract::rejection::QueryRejection;
use axum::extract::{Path, Query, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::Response;
use samhand_domain::access::{Action, DataCategory};
use samhand_domain::ids::PatientId;
use serde_json::{Value, json};

use super::load::{build, current_versions, patient_of};
use super::outcome::{FhirError, FhirResult};
use super::search_params::{Handling, SearchRequest, element};
use super::{FhirCaller, Kind, base_url, fhir_response, kind_of};
use crate::AppState;
use crate::service::{Granted, PatientScope, Service};

/// The matching resources (current versions) of the granted patients, newest
/// first where a date orders them. Nothing is recorded here.
pub async fn matching(
    service: &Service<'_>,
    kind: Kind,
    request: &SearchRequest,
    grants: &[Granted],
) -> FhirResult<Vec<Value>> {
    let all = current_versions(build(service, kind, grants, request.period(kind)).await?);
    let mut found: Vec<Value> = all.into_iter().filter(|r| request.keeps(kind, r)).collect();
    if let Some(path) = kind.date_element() {
        // Newest first, then by id (a number, the AuditEvent's, by its value).
        let id = |r: &Value| {
            let id = r["id"].as_str().unwrap_or("").to_string();
            (id.len(), id)
        };
        found.sort_by(|a, b| {
            let key = |r: &Value| element(r, path).as_str().unwrap_or("").to_string();
            key(b).cmp(&key(a)).then_with(|| id(b).cmp(&id(a)))
        });
    }
    Ok(found)
}

/// The grants of the patients some resources are about (all of them when one
/// resource names no patient we can tell).
pub fn grants_returned(kind: Kind, resources: &[Value], grants: &[Granted]) -> Vec<Granted> {
    let mut patients: Vec<PatientId> = Vec::new();
    for resource in resources {
        match patient_of(kind, resource) {
            Some(patient) => patients.push(patient),
            None => return grants.to_vec(),
        }
    }
    grants
        .iter()
        .filter(|g| patients.contains(&g.patient()))
        .copied()
        .collect()
}

/// The patients referred to by some resources, as allowed Patient resources; each
/// one returned is recorded as read.
async fn included_patients(service: &Service<'_>, kind: Kind, page: &[Value]) -> FhirResult<Vec<Value>> {
    let mut ids: Vec<PatientId> = page.iter().filter_map(|r| patient_of(kind, r)).collect();
    ids.sort();
    ids.dedup();
    if ids.is_empty() {
        return Ok(Vec::new());
    }
    let candidates = service.fhir_candidates(&PatientScope::Listed(ids)).await?;
    let grants = service.fhir_permitted(&candidates, DataCategory::Identity);
    service
        .fhir_record_reads(&grants, &format!("FHIR search {}: _include patient", kind.name()))
        .await?;
    let mut patients = super::patient::patients(&service.fhir_identity_versions(&grants).await?);
    super::received::add_h_numbers(&mut patients, &service.fhir_h_numbers(&grants).await?);
    Ok(current_versions(patients))
}

/// Finds the page and records what is returned: the patients on it, or the one
/// patient the search named, or one refusal when nothing was allowed.
async fn page_of(
    service: &Service<'_>,
    kind: Kind,
    request: &mut SearchRequest,
) -> FhirResult<(usize, Vec<Value>)> {
    let detail = format!("FHIR search {}", kind.name());
    if request.no_match {
        return Ok((0, Vec::new()));
    }
    let candidates = service.fhir_candidates(&request.scope).await?;
    let grants = service.fhir_permitted(&candidates, kind.category());
    if grants.is_empty() {
        service
            .fhir_record_nothing_allowed(&candidates, kind.category(), &detail)
            .await?;
        return Ok((0, Vec::new()));
    }
    refuse_too_costly(service, kind, request, &grants).await?;
    let found = matching(service, kind, request, &grants).await?;
    if kind == Kind::AuditEvent {
        // Before this search records its reads: the pages see no newer entry.
        request.fix_snapshot(&found);
    }
    let total = found.len();
    let page: Vec<Value> = found
        .into_iter()
        .skip(request.offset)
        .take(request.count)
        .collect();
    // Communication is read through the messages' own operation, which has
    // recorded each patient it read.
    if kind != Kind::Communication {
        let returned = match request.scope {
            PatientScope::Related | PatientScope::Listed(_) => grants_returned(kind, &page, &grants),
            PatientScope::One(_) | PatientScope::NationalId(_) | PatientScope::HNumber(_) => grants,
        };
        service.fhir_record_reads(&returned, &detail).await?;
    }
    Ok((total, page))
}

/// Refuses a search of the dispensings (MedicationDispense, MedicationAdministration)
/// or the drug tests (Observation) that matches more than the server's limit,
/// before anything is loaded: without a patient or a period, a prescriber's search
/// went through every dose their patients ever had, gigabytes for a unit of
/// 10,000, and the server ran out of memory (H103). Counted in SQL, stopping at
/// the limit.
async fn refuse_too_costly(
    service: &Service<'_>,
    kind: Kind,
    request: &SearchRequest,
    grants: &[Granted],
) -> FhirResult<()> {
    let (beyond, what) = match kind {
        Kind::MedicationDispense | Kind::MedicationAdministration => (
            service
                .fhir_doses_beyond_limit(grants, request.period(kind))
                .await?,
            "utleveringer",
        ),
        Kind::Observation => (
            service
                .fhir_drug_tests_beyond_limit(grants, request.period(kind))
                .await?,
            "prøvesvar",
        ),
        _ => return Ok(()),
    };
    match beyond {
        Some(cap) => Err(FhirError::TooCostly(format!(
            "Søket treffer flere enn {} {what}. Avgrens det med pasient (patient) eller periode \
             (date, _lastUpdated), eller hent alt som masseeksport ($export).",
            samhand_domain::format::integer_nb(cap)
        ))),
        None => Ok(()),
    }
}

pub async fn run_search(
    state: &AppState,
    caller: &FhirCaller,
    headers: &HeaderMap,
    kind: Kind,
    params: &[(String, String)],
) -> FhirResult<Response> {
    caller.require(state, kind, Action::Read, "search").await?;
    let mut request = SearchRequest::parse(kind, params, Handling::of(headers))?;
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
    let (total, page) = page_of(&service, kind, &mut request).await?;
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
    if request.count > 0 && request.offset + request.count < total {
        links.push(
            json!({"relation": "next", "url": request.link(&base, kind, request.offset + request.count)}),
        );
    }
    if request.offset > 0 {
        let previous = request.offset.saturating_sub(request.count);
        links.push(json!({"relation": "previous", "url": request.link(&base, kind, previous)}));
    }
    let mut bundle = json!({
        "resourceType": "Bundle",
        "type": "searchset",
        "total": total,
        "link": links,
    });
    // FHIR JSON has no empty arrays: an empty page has no `entry`.
    if !entries.is_empty() {
        bundle["entry"] = Value::Array(entries);
    }
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
