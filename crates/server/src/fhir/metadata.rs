//! `GET /fhir/metadata`: the CapabilityStatement, saying exactly what Samhand's FHIR
//! API supports (and, as not supported, what it does not hold yet).

use axum::http::{HeaderMap, StatusCode};
use axum::response::Response;
use serde_json::{Value, json};

use super::{FHIR_VERSION, Kind, base_url, fhir_response};

/// The search parameters of a type, beyond the common ones.
fn search_params(kind: Kind) -> Vec<Value> {
    let param = |name: &str, kind: &str, doc: &str| json!({"name": name, "type": kind, "documentation": doc});
    let mut params = vec![
        param(
            "_lastUpdated",
            "date",
            "ge/le/gt/lt/eq; compared as text at the shorter precision (UTC)",
        ),
        param("_count", "number", "page size, at most 500"),
        param(
            "_offset",
            "number",
            "where the page starts (the next/previous links carry it)",
        ),
    ];
    match kind {
        Kind::Patient => {
            params.push(param(
                "identifier",
                "token",
                "urn:oid:2.16.578.1.12.4.1.4.1|{fødselsnummer} or urn:oid:2.16.578.1.12.4.1.4.2|{D-nummer}",
            ));
            params.push(param("_id", "token", "the patient's id"));
        }
        _ => {
            params.push(param(
                "patient",
                "reference",
                if kind == Kind::AuditEvent {
                    "Patient/{id} or the id; required for AuditEvent"
                } else {
                    "Patient/{id} or the id"
                },
            ));
            params.push(param("subject", "reference", "the same as patient"));
            params.push(param(
                "patient.identifier",
                "token",
                "the patient's fødselsnummer or D-nummer",
            ));
            params.push(param("_id", "token", "the resource's id"));
            params.push(param("status", "token", "the resource's status"));
        }
    }
    if let Some(element) = kind.date_element() {
        params.push(param("date", "date", &format!("compares {element}")));
    }
    params
}

fn resource(kind: Kind) -> Value {
    let mut interactions = vec![
        json!({"code": "read"}),
        json!({"code": "vread"}),
        json!({"code": "history-instance"}),
        json!({"code": "search-type"}),
    ];
    if matches!(kind, Kind::Observation | Kind::Encounter) {
        interactions.push(json!({"code": "create"}));
    }
    let mut value = json!({
        "type": kind.name(),
        "interaction": interactions,
        "versioning": "versioned",
        "readHistory": kind == Kind::MedicationRequest,
        "searchParam": search_params(kind),
    });
    if kind != Kind::Patient {
        value["searchInclude"] = json!([format!("{}:patient", kind.name())]);
    }
    value
}

pub async fn capability_statement(headers: HeaderMap) -> Response {
    let base = base_url(&headers);
    let statement = json!({
        "resourceType": "CapabilityStatement",
        "id": "samhand",
        "url": format!("{base}/metadata"),
        "name": "SamhandFhirApi",
        "title": "Samhand FHIR R4 API",
        "status": "active",
        "date": "2026-11-30",
        "publisher": "Samhand",
        "description": "Samhand, the shared record of Norwegian opioid agonist treatment (LAR), for other systems. Every read and write is decided by Samhand's access policy and audited. Not supported yet: CarePlan (the individual plan); Patient create and update; updates of Observation and Encounter.",
        "kind": "instance",
        "software": {"name": "Samhand", "version": env!("CARGO_PKG_VERSION")},
        "implementation": {"description": "Samhand FHIR API", "url": base},
        "fhirVersion": FHIR_VERSION,
        "format": ["application/fhir+json", "json"],
        "rest": [{
            "mode": "server",
            "documentation": "Not supported: CarePlan.",
            "security": {
                "cors": false,
                "service": [{"coding": [{"system": "http://terminology.hl7.org/CodeSystem/restful-security-service", "code": "SMART-on-FHIR"}]}],
                "description": "OAuth2 client credentials (SMART Backend Services style, client_secret_basic or client_secret_post) at the token endpoint; scopes system/{Type}.read|write|*. A staff member's own API token (samhand token) also works, with the staff member's rights.",
                "extension": [{
                    "url": "http://fhir-registry.smarthealthit.org/StructureDefinition/oauth-uris",
                    "extension": [{"url": "token", "valueUri": format!("{base}/token")}]
                }]
            },
            "resource": Kind::ALL.into_iter().map(resource).collect::<Vec<_>>(),
            "operation": [{
                "name": "export",
                "definition": "http://hl7.org/fhir/uv/bulkdata/OperationDefinition/export",
                "documentation": "GET [base]/$export or [base]/Group/{organisation id}/$export with Prefer: respond-async; the caller's related patients, policy applied."
            }],
        }],
    });
    fhir_response(StatusCode::OK, &statement)
}
