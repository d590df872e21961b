//! Encounter: a stay at an institution, a hospital or a prison (opphold), as
//! another system reports it, and read back.

use std::collections::HashMap;

use axum::body::Bytes;
use axum::extract::State;
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::Response;
use jiff::civil::Date;
use samhand_domain::access::Action;
use samhand_domain::ids::{OrganisationId, PatientId};
use samhand_domain::organisation::Organisation;
use samhand_domain::stay::{StayInput, StayRecord};
use samhand_domain::validation::FieldErrors;
use serde_json::{Value, json};

use super::outcome::{FhirError, FhirResult};
use super::{
    FhirCaller, Kind, SAMHAND_SYSTEM, base_url, fhir_response, instant, organisation_reference,
    patient_reference,
};
use crate::AppState;
use crate::error::AppError;
use crate::service::Service;

const PLANNED_END: &str = "https://samhand.no/fhir/StructureDefinition/planned-end";

pub fn encounters(
    stays: &[StayRecord],
    organisations: &HashMap<OrganisationId, Organisation>,
    today: Date,
) -> Vec<Value> {
    stays
        .iter()
        .map(|record| {
            let s = &record.stay;
            let discharge = record.discharge();
            let status = if discharge.is_some() {
                "finished"
            } else if s.starts_on > today {
                "planned"
            } else {
                "in-progress"
            };
            let version = 1 + record.events.len();
            let last_updated = record.events.last().map_or(s.recorded_at, |e| e.recorded_at);
            let provider = match s.institution_id {
                Some(id) => organisation_reference(id, organisations),
                None => json!({"display": s.institution}),
            };
            let mut resource = json!({
                "resourceType": "Encounter",
                "id": s.id.to_string(),
                "meta": {"versionId": version.to_string(), "lastUpdated": instant(last_updated)},
                "status": status,
                "class": {"system": "http://terminology.hl7.org/CodeSystem/v3-ActCode", "code": "IMP", "display": "inpatient encounter"},
                "type": [{
                    "coding": [{"system": format!("{SAMHAND_SYSTEM}/CodeSystem/stay-kind"), "code": s.kind.code(), "display": s.kind.label_nb()}],
                    "text": s.kind.label_nb()
                }],
                "subject": patient_reference(s.patient_id),
                "period": {"start": s.starts_on.to_string()},
                "serviceProvider": provider,
            });
            if let Some(d) = discharge {
                resource["period"]["end"] = json!(d.on.to_string());
                resource["hospitalization"] = json!({
                    "dischargeDisposition": {
                        "coding": [{
                            "system": format!("{SAMHAND_SYSTEM}/CodeSystem/discharge"),
                            "code": if d.planned { "planned" } else { "unplanned" },
                            "display": if d.planned { "Planlagt utskrivning" } else { "Brudd i opphold" },
                        }]
                    }
                });
            } else if let Some(end) = record.planned_end() {
                resource["extension"] = json!([{"url": PLANNED_END, "valueDate": end.to_string()}]);
            }
            resource
        })
        .collect()
}

fn invalid(field: &'static str, message: impl Into<String>) -> FhirError {
    FhirError::App(AppError::Invalid(FieldErrors::single(field, message)))
}

fn read_encounter(body: &Value) -> FhirResult<(PatientId, StayInput)> {
    if body["resourceType"].as_str() != Some("Encounter") {
        return Err(FhirError::BadRequest(format!(
            "Her tas bare imot Encounter, ikke {}.",
            body["resourceType"]
                .as_str()
                .unwrap_or("en ressurs uten resourceType")
        )));
    }
    let patient = body["subject"]["reference"]
        .as_str()
        .and_then(|r| r.strip_prefix("Patient/"))
        .and_then(|id| id.parse().ok())
        .ok_or_else(|| {
            invalid(
                "subject.reference",
                "subject må vise til en pasient: Patient/{id}.",
            )
        })?;
    let date = |value: &Value| {
        value
            .as_str()
            .and_then(|v| v.get(..10))
            .and_then(|d| d.parse().ok())
    };
    let kind = body["type"][0]["coding"]
        .as_array()
        .and_then(|c| c.iter().find_map(|c| c["code"].as_str()))
        .unwrap_or("")
        .to_string();
    let provider = &body["serviceProvider"];
    let institution_id = provider["identifier"]["value"]
        .as_str()
        .and_then(|v| v.parse().ok());
    let planned_end = body["extension"]
        .as_array()
        .and_then(|e| e.iter().find(|e| e["url"] == json!(PLANNED_END)))
        .map(|e| &e["valueDate"])
        .or(Some(&body["period"]["end"]))
        .and_then(date);
    Ok((
        patient,
        StayInput {
            kind,
            institution: provider["display"].as_str().unwrap_or("").to_string(),
            institution_id,
            starts_on: date(&body["period"]["start"]),
            planned_end_on: planned_end,
            // Another system's admission says nothing of these: opioid use is
            // assumed (the bundle applies; the LAR rule sets it anyway), and the
            // substitution dose is assumed not given until someone records it is,
            // the safe side for tolerance.
            opioid_use: true,
            substitution_continued: false,
        },
    ))
}

/// `POST /fhir/Encounter`: a patient admitted to an institution.
pub async fn create(
    State(state): State<AppState>,
    caller: FhirCaller,
    headers: HeaderMap,
    body: Bytes,
) -> FhirResult<Response> {
    caller
        .require(&state, Kind::Encounter, Action::Write, "create")
        .await?;
    let body: Value = serde_json::from_slice(&body)
        .map_err(|e| FhirError::BadRequest(format!("Innholdet er ikke gyldig JSON ({e}).")))?;
    let (patient, input) = read_encounter(&body)?;
    let service = Service::new(&state, caller.actor());
    let stay = service.fhir_record_stay(patient, &input).await?;
    let organisations = service.fhir_organisations().await?;
    let today = samhand_domain::time::oslo_date(state.clock.now());
    let resource = encounters(&[StayRecord::new(stay.clone())], &organisations, today).remove(0);
    let mut response = fhir_response(StatusCode::CREATED, &resource);
    let location = format!("{}/Encounter/{}/_history/1", base_url(&headers), stay.id);
    if let Ok(value) = HeaderValue::from_str(&location) {
        response.headers_mut().insert(header::LOCATION, value);
    }
    Ok(response)
}
