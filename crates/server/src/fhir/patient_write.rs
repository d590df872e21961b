//! Patient create and update: another system registers a person at the caller's
//! own LAR unit (through the same enrolment, rules and audit as the page), or
//! corrects a patient's name, phone or address as a new version. The national
//! identity number is validated (mod-11) and never changes; a number already
//! registered is a 409 naming it, or with `If-None-Exist` the existing patient.

use axum::body::Bytes;
use axum::extract::rejection::QueryRejection;
use axum::extract::{Query, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::Response;
use samhand_domain::access::{Action, DataCategory};
use samhand_domain::ids::{PatientId, UserId};
use samhand_domain::national_id::NationalId;
use samhand_domain::patient::{IdentityChangeInput, PatientInput};
use samhand_domain::validation::{FieldError, FieldErrors};
use serde_json::Value;

use super::outcome::{FhirError, FhirResult};
use super::{
    DNR_SYSTEM, FNR_SYSTEM, FhirCaller, Kind, current_versions, patient, provenance_reason, resource_body,
    written,
};
use crate::AppState;
use crate::error::AppError;
use crate::service::{EnrolInput, Registration, Service};

/// The enrolment a registered person comes with: the responsible doctor and LAR
/// consultant at the caller's unit (a Samhand user id or username), the start date
/// (today when absent) and the phase (as the enrolment form's default when absent).
pub const LAR_DOCTOR: &str = "https://samhand.no/fhir/StructureDefinition/lar-doctor";
pub const LAR_CONSULTANT: &str = "https://samhand.no/fhir/StructureDefinition/lar-consultant";
pub const LAR_START: &str = "https://samhand.no/fhir/StructureDefinition/lar-start";
pub const LAR_PHASE: &str = "https://samhand.no/fhir/StructureDefinition/lar-phase";

/// What a received Patient says about who the person is.
struct Received {
    national_id: Option<String>,
    given_name: String,
    family_name: String,
    phone: String,
    address: String,
}

fn read_patient(body: &Value) -> Received {
    let national_id = body["identifier"].as_array().and_then(|ids| {
        ids.iter()
            .find(|i| matches!(i["system"].as_str(), Some(FNR_SYSTEM | DNR_SYSTEM)))
            .map(|i| i["value"].as_str().unwrap_or("").to_string())
    });
    let names = body["name"].as_array().cloned().unwrap_or_default();
    let name = names
        .iter()
        .find(|n| n["use"] == "official")
        .or(names.first())
        .cloned()
        .unwrap_or(Value::Null);
    let given = name["given"]
        .as_array()
        .map(|g| g.iter().filter_map(Value::as_str).collect::<Vec<_>>().join(" "))
        .unwrap_or_default();
    let phone = body["telecom"]
        .as_array()
        .and_then(|t| t.iter().find(|t| t["system"] == "phone"))
        .and_then(|t| t["value"].as_str())
        .unwrap_or("")
        .to_string();
    let address = body["address"]
        .as_array()
        .and_then(|a| a.first())
        .map(|a| match a["text"].as_str() {
            Some(text) => text.to_string(),
            None => {
                let mut parts: Vec<String> = a["line"]
                    .as_array()
                    .map(|l| l.iter().filter_map(Value::as_str).map(str::to_string).collect())
                    .unwrap_or_default();
                let place = [a["postalCode"].as_str(), a["city"].as_str()]
                    .into_iter()
                    .flatten()
                    .collect::<Vec<_>>()
                    .join(" ");
                if !place.is_empty() {
                    parts.push(place);
                }
                parts.join(", ")
            }
        })
        .unwrap_or_default();
    Received {
        national_id,
        given_name: given,
        family_name: name["family"].as_str().unwrap_or("").to_string(),
        phone,
        address,
    }
}

fn extension<'v>(body: &'v Value, url: &str) -> Option<&'v Value> {
    body["extension"]
        .as_array()
        .and_then(|e| e.iter().find(|e| e["url"] == url))
}

/// A user named by an extension: `valueIdentifier` or `valueReference.identifier`,
/// the user's id or username among the caller's colleagues.
async fn named_user(service: &Service<'_>, body: &Value, url: &str) -> FhirResult<String> {
    let Some(ext) = extension(body, url) else {
        return Ok(String::new());
    };
    let value = ext["valueIdentifier"]["value"]
        .as_str()
        .or(ext["valueReference"]["identifier"]["value"].as_str())
        .unwrap_or("")
        .trim()
        .to_string();
    if value.parse::<UserId>().is_ok() {
        return Ok(value);
    }
    let colleagues = service.colleagues().await?;
    Ok(colleagues
        .iter()
        .find(|u| u.username == value)
        .map(|u| u.id.to_string())
        .unwrap_or(value))
}

/// The enrolment form's field names as FHIR elements, and the form's words for
/// what a system sends instead.
fn as_fhir(errors: FieldErrors) -> FhirError {
    let mapped = errors
        .0
        .into_iter()
        .map(|e| {
            let (field, message) = match e.field {
                "national_id" => ("Patient.identifier", e.message),
                "given_name" => ("Patient.name.given", e.message),
                "family_name" => ("Patient.name.family", e.message),
                "phone" => ("Patient.telecom", e.message),
                "reason" => ("X-Provenance", e.message),
                "doctor_id" => (
                    "Patient.extension",
                    format!("Oppgi ansvarlig lege ved enheten (bruker-id eller brukernavn) i utvidelsen {LAR_DOCTOR}."),
                ),
                "consultant_id" => (
                    "Patient.extension",
                    format!("Oppgi LAR-konsulent ved enheten (bruker-id eller brukernavn) i utvidelsen {LAR_CONSULTANT}."),
                ),
                "started_on" => (
                    "Patient.extension",
                    format!("Startdatoen i {LAR_START} må være en dato (åååå-mm-dd)."),
                ),
                other => (other, e.message),
            };
            FieldError::new(field, message)
        })
        .collect();
    FhirError::App(AppError::Invalid(FieldErrors(mapped)))
}

fn fhir_error(error: AppError) -> FhirError {
    match error {
        AppError::Invalid(errors) => as_fhir(errors),
        other => FhirError::App(other),
    }
}

fn already_registered(number: &str) -> FhirError {
    FhirError::Duplicate {
        element: "Patient.identifier",
        message: format!(
            "En pasient med fødselsnummer/D-nummer {number} er allerede registrert i Samhand. Ingenting ble lagret; bruk den registrerte pasienten (søk med identifier)."
        ),
    }
}

/// The patient as the caller may read them now (the current version).
async fn current_patient(service: &Service<'_>, id: PatientId, detail: &str) -> FhirResult<Value> {
    let grant = service.fhir_grant(id, DataCategory::Identity, detail).await?;
    current_versions(patient::patients(
        &service.fhir_identity_versions(&[grant]).await?,
    ))
    .pop()
    .ok_or_else(|| FhirError::App(AppError::NotFound(format!("Patient/{id}"))))
}

/// The number a conditional create names: `If-None-Exist: identifier=system|value`,
/// or the same as a query parameter (`POST /Patient?identifier=…`, as some clients
/// such as fhirpy send it).
fn if_none_exist(headers: &HeaderMap, query: &[(String, String)]) -> FhirResult<Option<NationalId>> {
    let criteria = if let Some(value) = headers.get("if-none-exist") {
        let text = value.to_str().unwrap_or("").trim();
        text.strip_prefix("identifier=")
            .ok_or_else(|| {
                FhirError::BadRequest(format!(
                    "If-None-Exist støtter bare identifier={FNR_SYSTEM}|{{fødselsnummer}}, ikke «{text}»."
                ))
            })
            .map(|criteria| {
                percent_encoding::percent_decode_str(criteria)
                    .decode_utf8_lossy()
                    .into_owned()
            })?
    } else if let Some((_, value)) = query.iter().find(|(k, _)| k == "identifier") {
        value.clone()
    } else {
        return Ok(None);
    };
    let (system, number) = criteria.split_once('|').unwrap_or(("", criteria.as_str()));
    if !system.is_empty() && system != FNR_SYSTEM && system != DNR_SYSTEM {
        return Err(FhirError::BadRequest(format!(
            "If-None-Exist: identifikatorsystemet må være {FNR_SYSTEM} eller {DNR_SYSTEM}."
        )));
    }
    NationalId::parse(number).map(Some).map_err(|e| {
        as_fhir(FieldErrors::single(
            "national_id",
            samhand_domain::patient::national_id_message(e),
        ))
    })
}

/// `POST /fhir/Patient`: registers a person and enrols them at the caller's LAR unit.
pub async fn create(
    State(state): State<AppState>,
    caller: FhirCaller,
    headers: HeaderMap,
    query: Result<Query<Vec<(String, String)>>, QueryRejection>,
    super::body::FhirBody(body): super::body::FhirBody,
) -> FhirResult<Response> {
    let Query(query) =
        query.map_err(|e| FhirError::BadRequest(format!("Parameterne kunne ikke leses ({e}).")))?;
    caller
        .require(&state, Kind::Patient, Action::Write, "create")
        .await?;
    let body = resource_body(&body, Kind::Patient)?;
    let service = Service::new(&state, caller.actor());
    // Whoever cannot enrol is refused (and audited) before anything is looked up.
    service.require_enrolment("patient registered (FHIR)").await?;
    if let Some(number) = if_none_exist(&headers, &query)?
        && let Some(existing) = service.registered_patient(&number).await?
    {
        // FHIR's conditional create: one match is answered with it, not created
        // again; a patient the caller may not read is only named as registered.
        return match current_patient(&service, existing, "FHIR conditional create: already registered").await
        {
            Ok(resource) => Ok(written(StatusCode::OK, &headers, &resource)),
            Err(FhirError::App(AppError::Forbidden(_))) => Err(already_registered(number.as_str())),
            Err(other) => Err(other),
        };
    }
    let received = read_patient(&body);
    let started_on = extension(&body, LAR_START)
        .and_then(|e| e["valueDate"].as_str())
        .map(str::to_string)
        .unwrap_or_else(|| state.clock.today().to_string());
    let input = EnrolInput {
        patient: PatientInput {
            national_id: received.national_id.clone().unwrap_or_default(),
            given_name: received.given_name,
            family_name: received.family_name,
            phone: received.phone,
            address: received.address,
        },
        doctor_id: named_user(&service, &body, LAR_DOCTOR).await?,
        consultant_id: named_user(&service, &body, LAR_CONSULTANT).await?,
        started_on,
        phase: extension(&body, LAR_PHASE)
            .and_then(|e| e["valueCode"].as_str())
            .unwrap_or("")
            .to_string(),
    };
    match service.register_from_system(&input).await.map_err(fhir_error)? {
        Registration::Created(id) => {
            let resource = current_patient(&service, id, "FHIR create: the registered patient").await?;
            Ok(written(StatusCode::CREATED, &headers, &resource))
        }
        Registration::AlreadyRegistered(_) => Err(already_registered(&input.patient.national_id)),
    }
}

/// `PUT /fhir/Patient/{id}`: corrects name, phone or address as a new version.
pub async fn update(
    state: &AppState,
    caller: &FhirCaller,
    headers: &HeaderMap,
    id: &str,
    body: &Bytes,
) -> FhirResult<Response> {
    let super::UpdateRequest {
        id: patient_id,
        body,
        expected,
    } = super::update_request::<PatientId>(state, caller, Kind::Patient, headers, id, body).await?;
    let received = read_patient(&body);
    let reason = provenance_reason(headers)
        .unwrap_or_else(|| format!("Endret av {} gjennom FHIR-API-et", caller.user.display_name));
    let input = IdentityChangeInput {
        national_id: received.national_id,
        given_name: received.given_name,
        family_name: received.family_name,
        phone: received.phone,
        address: received.address,
        reason,
    };
    let service = Service::new(state, caller.actor());
    let change = service
        .correct_identity(patient_id, expected, &input)
        .await
        .map_err(fhir_error)?;
    let resource = patient::patient(change.version());
    Ok(written(StatusCode::OK, headers, &resource))
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn a_patient_resource_reads_as_the_enrolment_form_would() {
        let body = json!({
            "resourceType": "Patient",
            "identifier": [{"system": "https://other", "value": "x"}, {"system": FNR_SYSTEM, "value": "15838012345"}],
            "name": [{"use": "nickname", "given": ["Kalle"]}, {"use": "official", "family": "Nordmann", "given": ["Kari", "Anne"]}],
            "telecom": [{"system": "email", "value": "a@b"}, {"system": "phone", "value": "40000000"}],
            "address": [{"line": ["Gata 1"], "postalCode": "9000", "city": "Fjordvik"}],
        });
        let r = read_patient(&body);
        assert_eq!(r.national_id.as_deref(), Some("15838012345"));
        assert_eq!(
            (r.given_name.as_str(), r.family_name.as_str()),
            ("Kari Anne", "Nordmann")
        );
        assert_eq!(r.phone, "40000000");
        assert_eq!(r.address, "Gata 1, 9000 Fjordvik");
    }
}
