//! Encounter: a stay at an institution, a hospital or a prison (opphold), as
//! another system reports it, and read back.

use std::collections::HashMap;

use axum::body::Bytes;
use axum::extract::State;
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::Response;
use jiff::civil::Date;
use samhand_domain::access::Action;
use samhand_domain::ids::StayId;
use samhand_domain::ids::{OrganisationId, PatientId};
use samhand_domain::organisation::Organisation;
use samhand_domain::stay::{DischargeInput, StayInput, StayRecord};
use samhand_domain::validation::FieldErrors;
use serde_json::{Value, json};

use super::outcome::{FhirError, FhirResult};
use super::{
    FhirCaller, Kind, SAMHAND_SYSTEM, base_url, fhir_response, instant, organisation_reference,
    patient_reference,
};
use crate::AppState;
use crate::error::AppError;
use crate::service::{Service, StayChange, SystemStayUpdate};

pub const PLANNED_END_URL: &str = "https://samhand.no/fhir/StructureDefinition/planned-end";
/// The day dispensing at home resumes after a discharge (the discharge day or the
/// day after).
pub const RESUME_ON_URL: &str = "https://samhand.no/fhir/StructureDefinition/resume-on";

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
                "meta": {
                    "versionId": version.to_string(),
                    "lastUpdated": instant(last_updated),
                    "profile": [super::conformance::canonical(super::conformance::LAR_STAY)],
                },
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
                resource["extension"] = json!([{"url": RESUME_ON_URL, "valueDate": d.resume_on.to_string()}]);
                resource["hospitalization"] = json!({
                    "dischargeDisposition": {
                        "coding": [{
                            "system": format!("{SAMHAND_SYSTEM}/CodeSystem/discharge"),
                            "code": if d.planned { "planned" } else { "unplanned" },
                            "display": if d.planned { "Planlagt utskrivning" } else { "Brudd i opphold" },
                        }],
                        "text": record.discharge_event().map(|e| e.reason.clone()).filter(|r| !r.is_empty())
                            .unwrap_or_else(|| if d.planned { "Planlagt utskrivning" } else { "Brudd i opphold" }.to_string()),
                    }
                });
            } else if let Some(end) = record.planned_end() {
                resource["extension"] = json!([{"url": PLANNED_END_URL, "valueDate": end.to_string()}]);
            }
            super::received::write(&mut resource, &record.received, "serviceProvider");
            resource
        })
        .collect()
}

fn invalid(field: &'static str, message: impl Into<String>) -> FhirError {
    FhirError::App(AppError::Invalid(FieldErrors::single(field, message)))
}

/// What a received Encounter says: the patient named by reference (or, when only
/// an H-number names them, `None`: the service finds whom it was received for
/// before) and the stay.
fn read_encounter(body: &Value) -> FhirResult<(Option<PatientId>, StayInput)> {
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
        .and_then(|id| id.parse().ok());
    if patient.is_none() && super::received::h_number_of(&body["subject"])?.is_none() {
        return Err(invalid(
            "subject.reference",
            "subject må vise til en pasient: Patient/{id} (eller et H-nummer mottatt for pasienten før).",
        ));
    }
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
    let institution_id = provider["reference"]
        .as_str()
        .and_then(|r| r.strip_prefix("Organization/"))
        .or(provider["identifier"]["value"].as_str())
        .and_then(|v| v.parse().ok());
    let planned_end = body["extension"]
        .as_array()
        .and_then(|e| e.iter().find(|e| e["url"] == json!(PLANNED_END_URL)))
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
            received: super::received::read(body, provider)?,
        },
    ))
}

/// The organisation Samhand knows by the organisation number or HER-id the
/// provider was sent with, when it was not named by Samhand's own id.
async fn known_provider(service: &Service<'_>, input: &mut StayInput) -> FhirResult<()> {
    use samhand_domain::received::ReceivedElement;
    let Some(sent) = input
        .received
        .iter()
        .find(|r| r.element == ReceivedElement::Provider)
    else {
        return Ok(());
    };
    if input.institution_id.is_some() {
        return Ok(());
    }
    let directory = service.fhir_directory().await?;
    input.institution_id = directory
        .registrations
        .iter()
        .find(|(_, registration, _)| match sent.system.as_str() {
            super::references::ORG_NUMBER_SYSTEM => registration
                .org_number
                .as_ref()
                .is_some_and(|n| n.as_str() == sent.value),
            super::references::HER_ID_SYSTEM => registration
                .her_id
                .as_ref()
                .is_some_and(|h| h.as_str() == sent.value),
            _ => false,
        })
        .map(|(id, _, _)| *id);
    Ok(())
}

/// `POST /fhir/Encounter`: a patient admitted to an institution.
pub async fn create(
    State(state): State<AppState>,
    caller: FhirCaller,
    headers: HeaderMap,
    super::body::FhirBody(body): super::body::FhirBody,
) -> FhirResult<Response> {
    caller
        .require(&state, Kind::Encounter, Action::Write, "create")
        .await?;
    let body: Value = serde_json::from_slice(&body)
        .map_err(|e| FhirError::BadRequest(format!("Innholdet er ikke gyldig JSON ({e}).")))?;
    let (patient, mut input) = read_encounter(&body)?;
    let service = Service::new(&state, caller.actor());
    known_provider(&service, &mut input).await?;
    let stay = service.fhir_record_stay(patient, &input).await?;
    let organisations = service.fhir_organisations().await?;
    let today = samhand_domain::time::oslo_date(state.clock.now());
    let mut record = StayRecord::new(stay.clone());
    record.received = input.received;
    let resource = encounters(&[record], &organisations, today);
    let resource = super::load::linked(&service, resource).await?.remove(0);
    let mut response = fhir_response(StatusCode::CREATED, &resource);
    let location = format!("{}/Encounter/{}/_history/1", base_url(&headers), stay.id);
    if let Ok(value) = HeaderValue::from_str(&location) {
        response.headers_mut().insert(header::LOCATION, value);
    }
    Ok(response)
}

/// `PUT /fhir/Encounter/{id}`: another system reports what became of a stay: a
/// new planned end (an extension, re-notified) or the discharge (`status`
/// finished with `period.end`; `hospitalization.dischargeDisposition` coded
/// `unplanned` for a patient who left; the resume-on extension, else the discharge
/// day). Through the same service as the UI: a planned discharge with bundle items
/// open is refused (422 naming them). Why from `X-Provenance` (an extension needs
/// it; for an unplanned discharge the disposition's text will do). The start, kind
/// and place of a stay do not change. `If-Match` is checked (412 when stale).
pub async fn update(
    state: &AppState,
    caller: &FhirCaller,
    headers: &HeaderMap,
    id: &str,
    body: &Bytes,
) -> FhirResult<Response> {
    let super::UpdateRequest {
        id: stay_id,
        body,
        expected,
    } = super::update_request::<StayId>(state, caller, Kind::Encounter, headers, id, body).await?;
    let (_, received) = read_encounter(&body)?;
    let disposition = &body["hospitalization"]["dischargeDisposition"];
    let reason = super::provenance_reason(headers)
        .or_else(|| disposition["text"].as_str().map(str::to_string))
        .unwrap_or_default();
    let change = match body["status"].as_str() {
        Some("finished") => {
            let ext_date = |url: &str| {
                body["extension"]
                    .as_array()
                    .and_then(|e| e.iter().find(|e| e["url"] == json!(url)))
                    .and_then(|e| e["valueDate"].as_str())
                    .unwrap_or("")
                    .to_string()
            };
            let unplanned = disposition["coding"]
                .as_array()
                .is_some_and(|c| c.iter().any(|c| c["code"] == json!("unplanned")));
            StayChange::Discharge(DischargeInput {
                on: body["period"]["end"]
                    .as_str()
                    .unwrap_or("")
                    .chars()
                    .take(10)
                    .collect(),
                planned: !unplanned,
                resume_on: ext_date(RESUME_ON_URL),
                reason: reason.clone(),
            })
        }
        Some("planned" | "arrived" | "in-progress") => match received.planned_end_on {
            Some(end) => StayChange::PlannedEnd(end),
            None => {
                return Err(invalid(
                    "extension",
                    "Et opphold som fortsetter, oppdateres med ny planlagt slutt.",
                ));
            }
        },
        _ => {
            return Err(invalid(
                "status",
                "Status må være in-progress (ny planlagt slutt) eller finished (utskrivning).",
            ));
        }
    };
    let service = Service::new(state, caller.actor());
    let update = SystemStayUpdate {
        expected,
        starts_on: received.starts_on,
        kind: received.kind,
        change,
        reason,
    };
    let record = service
        .update_stay_from_system(stay_id, update)
        .await
        .map_err(|e| match e {
            AppError::Invalid(errors) => AppError::Invalid(FieldErrors(
                errors
                    .0
                    .into_iter()
                    .map(|mut e| {
                        e.field = match e.field {
                            "on" => "period.end",
                            "resume_on" => "extension",
                            "reason" => "X-Provenance",
                            "planned_end_on" => "extension",
                            "bundle" => "hospitalization.dischargeDisposition",
                            other => other,
                        };
                        e
                    })
                    .collect(),
            )),
            other => other,
        })?;
    let organisations = service.fhir_organisations().await?;
    let today = samhand_domain::time::oslo_date(state.clock.now());
    let resource = encounters(std::slice::from_ref(&record), &organisations, today);
    let resource = super::load::linked(&service, resource).await?.remove(0);
    Ok(super::written(StatusCode::OK, headers, &resource))
}
