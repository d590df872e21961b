//! Identifiers another system sends with an Encounter or an Observation: the
//! record's own (`identifier`), the sending organisation's (`serviceProvider` or
//! `performer`), and the patient's H-number (`subject.identifier`). Read from
//! what is received and written back on what is served, as they were sent.

use samhand_domain::received::{HNumber, ReceivedElement, ReceivedIdentifier};
use samhand_domain::validation::FieldErrors;
use serde_json::{Value, json};

use super::outcome::{FhirError, FhirResult};
use super::references::{H_NUMBER_SYSTEM, organisation_system};
use crate::error::AppError;

fn invalid(field: &'static str, message: impl Into<String>) -> FhirError {
    FhirError::App(AppError::Invalid(FieldErrors::single(field, message)))
}

fn identifier(
    element: ReceivedElement,
    field: &'static str,
    value: &Value,
) -> FhirResult<ReceivedIdentifier> {
    ReceivedIdentifier::parse(
        element,
        value["system"].as_str().unwrap_or(""),
        value["value"].as_str().unwrap_or(""),
    )
    .map_err(|message| invalid(field, message))
}

/// The identifiers of `body`: its own, its provider's (`provider`, unless it is
/// Samhand's own id for an organisation), and the subject's H-number.
pub fn read(body: &Value, provider: &Value) -> FhirResult<Vec<ReceivedIdentifier>> {
    let mut received = Vec::new();
    for own in body["identifier"].as_array().into_iter().flatten() {
        received.push(identifier(ReceivedElement::Identifier, "identifier", own)?);
    }
    let sender = &provider["identifier"];
    if sender.is_object() && sender["system"].as_str() != Some(&organisation_system()) {
        received.push(identifier(
            ReceivedElement::Provider,
            "serviceProvider.identifier",
            sender,
        )?);
    }
    if let Some(number) = h_number_of(&body["subject"])? {
        received.push(ReceivedIdentifier {
            element: ReceivedElement::HNumber,
            system: H_NUMBER_SYSTEM.into(),
            value: number.as_str().into(),
        });
    }
    Ok(received)
}

/// The subject's H-number, if the subject is identified by one (checked).
pub fn h_number_of(subject: &Value) -> FhirResult<Option<HNumber>> {
    let identifier = &subject["identifier"];
    if identifier["system"].as_str() != Some(H_NUMBER_SYSTEM) {
        return Ok(None);
    }
    HNumber::parse(identifier["value"].as_str().unwrap_or(""))
        .map(Some)
        .map_err(|message| invalid("subject.identifier.value", message))
}

/// Puts what was received back on the served resource: `identifier`, the
/// provider's identifier (on `provider`, when Samhand knows no organisation for
/// it) and the subject's H-number.
pub fn write(resource: &mut Value, received: &[ReceivedIdentifier], provider: &str) {
    let of = |element: ReceivedElement| received.iter().filter(move |r| r.element == element);
    let own: Vec<Value> = of(ReceivedElement::Identifier)
        .map(|r| json!({"system": r.system, "value": r.value}))
        .collect();
    if !own.is_empty() {
        resource["identifier"] = Value::Array(own);
    }
    let target = if provider == "performer" {
        &mut resource["performer"][0]
    } else {
        &mut resource[provider]
    };
    if let Some(sender) = of(ReceivedElement::Provider).next()
        && target.is_object()
        && target.get("reference").is_none()
    {
        target["identifier"] = json!({"system": sender.system, "value": sender.value});
    }
    if let Some(number) = of(ReceivedElement::HNumber).next() {
        resource["subject"]["identifier"] =
            json!({"use": "temp", "system": number.system, "value": number.value});
    }
}

/// A patient's H-numbers, received with their stays and tests, as identifiers of
/// the Patient (use `temp`), so a search by one finds a Patient that carries it.
pub fn add_h_numbers(
    patients: &mut [Value],
    numbers: &std::collections::HashMap<samhand_domain::ids::PatientId, Vec<String>>,
) {
    for patient in patients {
        let id = patient["id"].as_str().and_then(|id| id.parse().ok());
        let Some(found) = id.and_then(|id| numbers.get(&id)) else {
            continue;
        };
        if let Some(identifiers) = patient["identifier"].as_array_mut() {
            for number in found {
                identifiers.push(json!({"use": "temp", "system": H_NUMBER_SYSTEM, "value": number}));
            }
        }
    }
}
