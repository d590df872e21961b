//! Observation: drug tests (rusmiddeltester). A laboratory posts its result, and
//! may correct it later (an update: a new version, status `corrected`, with why in
//! a note; the earlier versions stay readable); it is read back with one component
//! per substance (positive or negative, SNOMED CT).

use axum::body::Bytes;
use axum::extract::State;
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::Response;
use samhand_domain::access::Action;
use samhand_domain::drug_test::{DrugTest, DrugTestInput};
use samhand_domain::ids::{DrugTestId, PatientId};
use samhand_domain::received::ReceivedIdentifier;
use samhand_domain::validation::FieldErrors;
use serde_json::{Value, json};
use std::collections::HashMap;

use super::outcome::{FhirError, FhirResult};
use super::{
    DNR_SYSTEM, FNR_SYSTEM, FhirCaller, Kind, SAMHAND_SYSTEM, base_url, fhir_response, instant,
    patient_reference,
};
use crate::AppState;
use crate::error::AppError;
use crate::service::Service;

const SNOMED: &str = "http://snomed.info/sct";
const POSITIVE: &str = "10828004";
const NEGATIVE: &str = "260385009";

/// The drug tests as Observations, with what the laboratory sent to identify
/// each (by the test's id).
pub fn observations(tests: &[DrugTest], received: &HashMap<String, Vec<ReceivedIdentifier>>) -> Vec<Value> {
    tests
        .iter()
        .map(|t| {
            let mut resource = observation(t);
            if let Some(received) = received.get(&t.id.to_string()) {
                super::received::write(&mut resource, received, "performer");
            }
            resource
        })
        .collect()
}

fn observation(t: &DrugTest) -> Value {
    let components: Vec<Value> = t
        .results
        .iter()
        .map(|r| {
            json!({
                "code": {
                    "coding": [{"system": format!("{SAMHAND_SYSTEM}/CodeSystem/drug-test-substance"), "code": r.code, "display": r.name}],
                    "text": r.name
                },
                "valueCodeableConcept": {
                    "coding": [if r.positive {
                        json!({"system": SNOMED, "code": POSITIVE, "display": "Positive"})
                    } else {
                        json!({"system": SNOMED, "code": NEGATIVE, "display": "Negative"})
                    }],
                    "text": if r.positive { "Positiv" } else { "Negativ" }
                },
            })
        })
        .collect();
    let mut resource = json!({
        "resourceType": "Observation",
        "id": t.id.to_string(),
        "meta": {
            "versionId": t.version.to_string(),
            "lastUpdated": instant(t.recorded_at),
            "profile": [super::conformance::canonical(super::conformance::LAR_DRUG_TEST)],
        },
        "status": if t.version > 1 { "corrected" } else { "final" },
        "category": [{"coding": [{"system": "http://terminology.hl7.org/CodeSystem/observation-category", "code": "laboratory", "display": "Laboratory"}]}],
        "code": {
            "coding": [{"system": format!("{SAMHAND_SYSTEM}/CodeSystem/observation"), "code": "drug-test", "display": "Rusmiddeltest"}],
            "text": "Rusmiddeltest"
        },
        "subject": patient_reference(t.patient_id),
        "effectiveDateTime": t.sample_date.to_string(),
        "issued": instant(t.recorded_at),
        "performer": [{"display": t.lab}],
        "method": {
            "coding": [{
                "system": format!("{SAMHAND_SYSTEM}/CodeSystem/sampling"),
                "code": if t.supervised { "supervised" } else { "unsupervised" }
            }],
            "text": if t.supervised { "Overvåket prøvetaking" } else { "Ikke overvåket prøvetaking" }
        },
        "component": components,
    });
    if t.version > 1 {
        resource["note"] = json!([{
            "time": instant(t.recorded_at),
            "text": format!("Korrigert (versjon {}): {}", t.version, t.reason),
        }]);
    }
    resource
}

fn invalid(field: &'static str, message: impl Into<String>) -> FhirError {
    FhirError::App(AppError::Invalid(FieldErrors::single(field, message)))
}

/// What a received Observation says, before the service checks it.
struct Received {
    patient: Option<PatientId>,
    national_id: Option<String>,
    input: DrugTestInput,
}

fn read_observation(body: &Value) -> FhirResult<Received> {
    check_resource_type(body)?;
    let (patient, national_id) = read_subject(&body["subject"])?;
    let effective = body["effectiveDateTime"].as_str().unwrap_or("");
    let sample_date = effective.get(..10).and_then(|d| d.parse().ok());
    let lab = body["performer"]
        .as_array()
        .and_then(|p| p.iter().find_map(|p| p["display"].as_str()))
        .unwrap_or("")
        .to_string();
    let supervised = body["method"]["coding"]
        .as_array()
        .is_some_and(|c| c.iter().any(|c| c["code"] == json!("supervised")));
    let results = body["component"]
        .as_array()
        .map(|components| components.iter().map(read_component).collect())
        .unwrap_or_default();
    let performer = body["performer"]
        .as_array()
        .and_then(|p| p.iter().find(|p| p["identifier"].is_object()))
        .unwrap_or(&Value::Null);
    let received = super::received::read(body, performer)?;
    Ok(Received {
        patient,
        national_id,
        input: DrugTestInput {
            sample_date,
            lab,
            supervised,
            results,
            received,
        },
    })
}

/// Whether the body is an Observation at all.
fn check_resource_type(body: &Value) -> FhirResult<()> {
    if !body.is_object() {
        return Err(FhirError::BadRequest(
            "Innholdet må være en FHIR-ressurs (et JSON-objekt).".into(),
        ));
    }
    match body["resourceType"].as_str() {
        Some("Observation") => Ok(()),
        other => Err(FhirError::BadRequest(format!(
            "Her tas bare imot Observation, ikke {}.",
            other.unwrap_or("en ressurs uten resourceType")
        ))),
    }
}

/// Who the result is about: a reference to a patient here, a national identity
/// number, or both; at least one.
fn read_subject(subject: &Value) -> FhirResult<(Option<PatientId>, Option<String>)> {
    let patient = match subject["reference"].as_str() {
        Some(reference) => Some(
            reference
                .strip_prefix("Patient/")
                .and_then(|id| id.parse().ok())
                .ok_or_else(|| {
                    invalid(
                        "subject.reference",
                        "subject må vise til en pasient: Patient/{id}.",
                    )
                })?,
        ),
        None => None,
    };
    let h_number = super::received::h_number_of(subject)?;
    let national_id = match &subject["identifier"] {
        Value::Null => None,
        _ if h_number.is_some() => None,
        identifier => {
            let system = identifier["system"].as_str().unwrap_or("");
            if system != FNR_SYSTEM && system != DNR_SYSTEM {
                return Err(invalid(
                    "subject.identifier.system",
                    format!(
                        "Pasienten identifiseres med fødselsnummer ({FNR_SYSTEM}), D-nummer ({DNR_SYSTEM}) eller et H-nummer mottatt før ({}).",
                        super::references::H_NUMBER_SYSTEM
                    ),
                ));
            }
            let value = identifier["value"].as_str().unwrap_or("");
            samhand_domain::national_id::NationalId::parse(value).map_err(|e| {
                invalid(
                    "subject.identifier.value",
                    samhand_domain::patient::national_id_message(e),
                )
            })?;
            Some(value.to_string())
        }
    };
    if patient.is_none() && national_id.is_none() && h_number.is_none() {
        return Err(invalid(
            "subject",
            "Prøvesvaret sier ikke hvilken pasient det gjelder.",
        ));
    }
    Ok((patient, national_id))
}

/// One substance's result: its code, its name, and positive or negative when the
/// answer is one of the two SNOMED CT codes.
fn read_component(c: &Value) -> (String, String, Option<bool>) {
    let coding = &c["code"]["coding"][0];
    let code = coding["code"].as_str().unwrap_or("").to_string();
    let name = coding["display"]
        .as_str()
        .or(c["code"]["text"].as_str())
        .unwrap_or("")
        .to_string();
    let answer = c["valueCodeableConcept"]["coding"]
        .as_array()
        .and_then(|codings| {
            codings.iter().find_map(|v| match v["code"].as_str() {
                Some(POSITIVE) => Some(true),
                Some(NEGATIVE) => Some(false),
                _ => None,
            })
        });
    (code, name, answer)
}

/// `POST /fhir/Observation`: a laboratory's drug test result.
pub async fn create(
    State(state): State<AppState>,
    caller: FhirCaller,
    headers: HeaderMap,
    super::body::FhirBody(body): super::body::FhirBody,
) -> FhirResult<Response> {
    caller
        .require(&state, Kind::Observation, Action::Write, "create")
        .await?;
    let body: Value = serde_json::from_slice(&body)
        .map_err(|e| FhirError::BadRequest(format!("Innholdet er ikke gyldig JSON ({e}).")))?;
    let received = read_observation(&body)?;
    let service = Service::new(&state, caller.actor());
    let test = service
        .fhir_record_drug_test(received.patient, received.national_id.as_deref(), &received.input)
        .await?;
    let sent = HashMap::from([(test.id.to_string(), received.input.received.clone())]);
    let resource = observations(std::slice::from_ref(&test), &sent).remove(0);
    let mut response = fhir_response(StatusCode::CREATED, &resource);
    let location = format!("{}/Observation/{}/_history/1", base_url(&headers), test.id);
    if let Ok(value) = HeaderValue::from_str(&location) {
        response.headers_mut().insert(header::LOCATION, value);
    }
    response
        .headers_mut()
        .insert(header::ETAG, HeaderValue::from_static("W/\"1\""));
    Ok(response)
}

/// `PUT /fhir/Observation/{id}`: a laboratory corrects a result it sent. The
/// correction is the next version of the same test for the same patient, with
/// why (an `X-Provenance` reason, or the Observation's note); a stale `If-Match`
/// is refused with 412.
pub async fn update(
    state: &AppState,
    caller: &FhirCaller,
    headers: &HeaderMap,
    id: &str,
    body: &Bytes,
) -> FhirResult<Response> {
    let super::UpdateRequest {
        id: test,
        body,
        expected,
    } = super::update_request::<DrugTestId>(state, caller, Kind::Observation, headers, id, body).await?;
    let received = read_observation(&body)?;
    let reason = super::provenance_reason(headers)
        .or_else(|| {
            body["note"]
                .as_array()
                .and_then(|n| n.iter().rev().find_map(|n| n["text"].as_str()))
                .map(str::to_string)
        })
        .unwrap_or_default();
    let service = Service::new(state, caller.actor());
    let (corrected, identifiers) = service
        .fhir_correct_drug_test(
            test,
            received.patient,
            received.national_id.as_deref(),
            expected,
            &received.input,
            &reason,
        )
        .await?;
    let sent = HashMap::from([(corrected.id.to_string(), identifiers)]);
    let resource = observations(std::slice::from_ref(&corrected), &sent).remove(0);
    Ok(super::written(StatusCode::OK, headers, &resource))
}
