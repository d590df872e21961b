//! `GET /fhir/metadata`: the CapabilityStatement, saying exactly what Samhand's FHIR
//! API supports (and, as not supported, what it does not hold yet).

use axum::http::{HeaderMap, StatusCode};
use axum::response::Response;
use serde_json::{Value, json};

use super::encounter::{PLANNED_END_URL, RESUME_ON_URL};
use super::{FHIR_VERSION, Kind, base_url, conformance, fhir_response};

/// The search parameters of a type, beyond the common ones.
fn search_params(kind: Kind) -> Vec<Value> {
    let param = |name: &str, kind: &str, doc: &str| json!({"name": name, "type": kind, "documentation": doc});
    let mut params = vec![
        param(
            "_lastUpdated",
            "date",
            "ge/le/gt/lt/eq; compared as instants (an offset such as +01:00 is honoured; a date without time is the Oslo day); years 1900-2200, otherwise 400",
        ),
        param(
            "_count",
            "number",
            "page size, default 50, at most 100 (a larger value is taken as 100)",
        ),
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
                "urn:oid:2.16.578.1.12.4.1.4.1|{fødselsnummer}, urn:oid:2.16.578.1.12.4.1.4.2|{D-nummer}, or urn:oid:2.16.578.1.12.4.1.4.3|{H-number} (the patient an Encounter or Observation was received for with it)",
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
            // R4 defines no `subject` on these, and AuditEvent has no `status`.
            if !matches!(kind, Kind::EpisodeOfCare | Kind::Consent | Kind::AuditEvent) {
                params.push(param("subject", "reference", "the same as patient"));
            }
            params.push(param(
                "patient.identifier",
                "token",
                "the patient's fødselsnummer or D-nummer, or an H-number (urn:oid:2.16.578.1.12.4.1.4.3) received with a stay or a drug test",
            ));
            params.push(param("_id", "token", "the resource's id"));
            if kind != Kind::AuditEvent {
                params.push(param("status", "token", "the resource's status"));
            }
            if matches!(kind, Kind::Encounter | Kind::Observation) {
                params.push(param(
                    "identifier",
                    "token",
                    "[system|]value of an identifier the sending system gave the stay or the test (kept as received)",
                ));
            }
            if kind == Kind::MedicationRequest {
                params.push(param(
                    "identifier",
                    "token",
                    "[system|]value of the dose order's identifier (https://samhand.no/fhir/dose-order)",
                ));
            }
        }
    }
    if let Some(element) = kind.date_element() {
        params.push(param(
            kind.date_param(),
            "date",
            &format!("compares {element} as instants (a date without time is the Oslo day); years 1900-2200, otherwise 400"),
        ));
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
    if matches!(kind, Kind::Observation | Kind::Encounter | Kind::Patient) {
        interactions.push(json!({"code": "create"}));
    }
    let updatable = matches!(kind, Kind::Observation | Kind::Patient | Kind::Encounter);
    if updatable {
        interactions.push(json!({"code": "update"}));
    }
    let mut value = json!({
        "type": kind.name(),
        "interaction": interactions,
        "versioning": if updatable { "versioned-update" } else { "versioned" },
        "readHistory": matches!(kind, Kind::MedicationRequest | Kind::Patient | Kind::Observation | Kind::CarePlan),
        "searchParam": search_params(kind),
    });
    if updatable {
        value["updateCreate"] = json!(false);
    }
    match kind {
        Kind::Patient => {
            value["conditionalCreate"] = json!(true);
            value["documentation"] = json!(format!(
                "create registers a person with fødselsnummer or D-nummer and enrols them in LAR at the caller's own LAR unit (only a LAR unit's doctors and consultants, or a client registered as one, may): the extensions {} and {} (valueIdentifier: a Samhand user id or username) name the responsible doctor and consultant; {} (valueDate, default today) and {} (valueCode) are optional. A number already registered is a 409 naming it; If-None-Exist: identifier=system|value answers with the registered patient. update corrects name, telecom (phone) and address as a new version (reason from an X-Provenance header's Provenance.reason); the identifier never changes; If-Match W/\"n\" is checked (412 when stale).",
                super::patient_write::LAR_DOCTOR,
                super::patient_write::LAR_CONSULTANT,
                super::patient_write::LAR_START,
                super::patient_write::LAR_PHASE,
            ));
        }
        Kind::Observation => {
            value["documentation"] = json!(
                "A laboratory's drug test. update corrects a result as a new version (status corrected) of the same test for the same patient, with why from X-Provenance or the Observation's note; If-Match W/\"n\" is checked (412 when stale); earlier versions stay readable (vread, _history)."
            );
        }
        Kind::Encounter => {
            value["documentation"] = json!(format!(
                "A stay at an institution, a hospital or a prison (opphold). create admits the patient (dispensing at home pauses; the units are told). update reports what became of it: status in-progress with a new planned end (extension {}; why from X-Provenance) or status finished with period.end (the discharge; hospitalization.dischargeDisposition coded unplanned for a patient who left, the extension {} for the day home dispensing resumes, the discharge day or the next). A planned discharge with items of the overdose-prevention bundle open is refused (422 naming them). Start and kind do not change. If-Match W/\"n\" is checked (412 when stale); the version is 1 plus one per event.",
                PLANNED_END_URL, RESUME_ON_URL
            ));
        }
        Kind::CarePlan => {
            value["documentation"] = json!(
                "The individual plan (individuell plan), one per patient (its id is the patient's); every saved version of the plan is a version. Goals per life domain and the patient's own words (expressedBy Patient) are contained Goals; measures are activities with the responsible service. Read only."
            );
        }
        _ => {}
    }
    if kind != Kind::Patient {
        value["searchInclude"] = json!([format!("{}:patient", kind.name())]);
    }
    let profile = match kind {
        Kind::Patient => Some(super::patient::NO_BASIS_PATIENT.to_string()),
        Kind::EpisodeOfCare => Some(conformance::canonical(conformance::LAR_EPISODE)),
        Kind::Encounter => Some(conformance::canonical(conformance::LAR_STAY)),
        Kind::Observation => Some(conformance::canonical(conformance::LAR_DRUG_TEST)),
        _ => None,
    };
    if let Some(profile) = profile {
        value["supportedProfile"] = json!([profile]);
    }
    value
}

/// Samhand's own definitions: read and search, without a token.
fn structure_definition_resource() -> Value {
    json!({
        "type": "StructureDefinition",
        "interaction": [{"code": "read"}, {"code": "search-type"}],
        "versioning": "no-version",
        "readHistory": false,
        "searchParam": [
            {"name": "_id", "type": "token"},
            {"name": "url", "type": "uri"},
            {"name": "name", "type": "string"},
            {"name": "type", "type": "token"},
        ],
        "documentation": "Samhand's extensions and LAR profiles (their canonical URLs are https://samhand.no/fhir/StructureDefinition/{id}); no token needed. The same definitions as a FHIR package: GET [base]/package.tgz.",
    })
}

/// The directory's types (no patient data): read and search.
fn directory_resource(name: &str) -> Value {
    let param = |name: &str, kind: &str, doc: &str| json!({"name": name, "type": kind, "documentation": doc});
    let mut params = vec![
        param("_id", "token", "the resource's id"),
        param(
            "identifier",
            "token",
            match name {
                "Practitioner" => {
                    "[system|]value: the HPR number (urn:oid:2.16.578.1.12.4.1.4.4) or Samhand's user id (https://samhand.no/fhir/user)"
                }
                "Organization" => {
                    "[system|]value: the organisation number (urn:oid:2.16.578.1.12.4.1.4.101), the HER-id (urn:oid:2.16.578.1.12.4.1.2) or Samhand's id (https://samhand.no/fhir/organisation)"
                }
                _ => "[system|]value of the role's identifier (https://samhand.no/fhir/practitioner-role)",
            },
        ),
        param("active", "token", "true or false"),
        param(
            "_lastUpdated",
            "date",
            "compared as instants, as on the other types",
        ),
        param("_count", "number", "page size, default 50, at most 100"),
        param("_offset", "number", "where the page starts"),
    ];
    if name == "PractitionerRole" {
        params.push(param("practitioner", "reference", "Practitioner/{id}"));
        params.push(param("organization", "reference", "Organization/{id}"));
    } else {
        params.push(param(
            "name",
            "string",
            "a word of the name begins with it (case-insensitive)",
        ));
    }
    let mut value = json!({
        "type": name,
        "interaction": [{"code": "read"}, {"code": "search-type"}],
        "versioning": "versioned",
        "readHistory": false,
        "searchParam": params,
        "documentation": "The directory of health personnel and organisations Samhand knows (no patient data); every read is recorded in the audit log. References to users and organisations in the other resources carry a literal reference to these and the HPR number, organisation number or HER-id as identifier where known.",
    });
    match name {
        "Practitioner" => value["supportedProfile"] = json!([super::directory::NO_BASIS_PRACTITIONER]),
        "Organization" => value["supportedProfile"] = json!([super::directory::NO_BASIS_ORGANIZATION]),
        _ => {}
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
        "description": "Samhand, the shared record of Norwegian opioid agonist treatment (LAR), for other systems. Every read and write is decided by Samhand's access policy and audited. Create: Patient (registration and enrolment at the caller's LAR unit), Observation (drug tests), Encounter (stays). Update: Patient (name, phone, address), Observation (a corrected result) and Encounter (an extension or the discharge), as new versions with If-Match. Not supported: delete of anything (clinical records are never deleted).",
        "kind": "instance",
        "software": {"name": "Samhand", "version": env!("CARGO_PKG_VERSION")},
        "implementation": {"description": "Samhand FHIR API", "url": base},
        "fhirVersion": FHIR_VERSION,
        "format": ["application/fhir+json", "json"],
        "rest": [{
            "mode": "server",
            "documentation": "Search: unknown parameters, and parameters a type does not support, are ignored (the self link shows what was used) unless the request says Prefer: handling=strict, which answers 400 with an OperationOutcome. Creates and updates take Content-Type application/fhir+json or application/json (415 otherwise). Not supported: delete; transaction and batch Bundles.",
            "security": {
                "cors": false,
                "service": [{"coding": [{"system": "http://terminology.hl7.org/CodeSystem/restful-security-service", "code": "SMART-on-FHIR"}]}],
                "description": "OAuth2 client credentials (SMART Backend Services style, client_secret_basic or client_secret_post) at the token endpoint; scopes system/{Type}.read|write|*. A staff member's own API token (samhand token) also works, with the staff member's rights.",
                "extension": [{
                    "url": "http://fhir-registry.smarthealthit.org/StructureDefinition/oauth-uris",
                    "extension": [{"url": "token", "valueUri": format!("{base}/token")}]
                }]
            },
            "resource": Kind::ALL
                .into_iter()
                .map(resource)
                .chain(super::directory::TYPES.into_iter().map(directory_resource))
                .chain(std::iter::once(structure_definition_resource()))
                .collect::<Vec<_>>(),
            "operation": [{
                "name": "export",
                "definition": "http://hl7.org/fhir/uv/bulkdata/OperationDefinition/export",
                "documentation": "GET [base]/$export or [base]/Group/{organisation id}/$export with Prefer: respond-async; the caller's related patients, policy applied, and the directory their references lead to (Practitioner, PractitionerRole, Organization). _type is a comma-separated list of the types above (an unknown type is 400). At most SAMHAND_EXPORT_JOBS_PER_CLIENT running exports per client and SAMHAND_EXPORT_JOBS in all (429 with Retry-After otherwise). DELETE on the status URL cancels an export and deletes its files; a finished export's files expire after SAMHAND_EXPORT_EXPIRE_MINUTES (404 after)."
            }],
        }],
    });
    fhir_response(StatusCode::OK, &statement)
}
