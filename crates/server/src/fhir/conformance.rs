//! Samhand's own StructureDefinitions: the extensions its resources carry or take
//! (planned end and resume day of a stay, the LAR phase, the responsible doctor
//! and consultant and the start day at enrolment, a goal's evaluation date) and
//! the LAR profiles its resources claim (the episode, the stay, the drug test).
//! Served under /fhir/StructureDefinition (read and search, no token: they hold
//! no one's data) and in the FHIR package (`package.rs`), so every extension URL
//! Samhand writes resolves.

use axum::extract::rejection::QueryRejection;
use axum::extract::{Path, Query};
use axum::http::{HeaderMap, StatusCode};
use axum::response::Response;
use serde_json::{Value, json};

use super::outcome::{FhirError, FhirResult};
use super::{FHIR_VERSION, SAMHAND_SYSTEM, base_url, fhir_response};
use crate::error::AppError;

/// The version of Samhand's definitions (and of the package).
pub const VERSION: &str = "0.1.0";
/// When the definitions last changed.
pub const DATE: &str = "2026-12-05";

/// The canonical URL of one of Samhand's definitions.
pub fn canonical(id: &str) -> String {
    format!("{SAMHAND_SYSTEM}/StructureDefinition/{id}")
}

pub const LAR_EPISODE: &str = "lar-episode";
pub const LAR_STAY: &str = "lar-stay";
pub const LAR_DRUG_TEST: &str = "lar-drug-test";

/// An extension: id, name, title (Norwegian), what it says, where it is used,
/// and its value types.
struct ExtensionDef {
    id: &'static str,
    name: &'static str,
    title: &'static str,
    description: &'static str,
    contexts: &'static [&'static str],
    types: &'static [&'static str],
}

const EXTENSIONS: [ExtensionDef; 7] = [
    ExtensionDef {
        id: "planned-end",
        name: "PlannedEnd",
        title: "Planlagt utskrivning",
        description: "The day a stay is planned to end, as last reported (an extension of the stay is a new planned end).",
        contexts: &["Encounter"],
        types: &["date"],
    },
    ExtensionDef {
        id: "resume-on",
        name: "ResumeOn",
        title: "Utlevering hjemme fra",
        description: "The day dispensing at home resumes after a discharge: the discharge day or the day after.",
        contexts: &["Encounter"],
        types: &["date"],
    },
    ExtensionDef {
        id: "lar-phase",
        name: "LarPhase",
        title: "Fase i LAR",
        description: "The phase of the LAR episode (referral, planning, start, stabilisation, continuation, end), a code of Samhand's phase code system.",
        contexts: &["EpisodeOfCare", "Patient"],
        types: &["code"],
    },
    ExtensionDef {
        id: "lar-doctor",
        name: "LarDoctor",
        title: "Ansvarlig lege",
        description: "At enrolment through Patient create: the responsible doctor at the LAR unit, by Samhand user id or username (valueIdentifier), or a reference whose identifier is one.",
        contexts: &["Patient"],
        types: &["Identifier", "Reference"],
    },
    ExtensionDef {
        id: "lar-consultant",
        name: "LarConsultant",
        title: "Ansvarlig LAR-konsulent",
        description: "At enrolment through Patient create: the responsible LAR consultant, named as the doctor is.",
        contexts: &["Patient"],
        types: &["Identifier", "Reference"],
    },
    ExtensionDef {
        id: "lar-start",
        name: "LarStart",
        title: "Start i LAR",
        description: "At enrolment through Patient create: the day the LAR episode starts (default today).",
        contexts: &["Patient"],
        types: &["date"],
    },
    ExtensionDef {
        id: "evaluation-date",
        name: "EvaluationDate",
        title: "Evalueres",
        description: "The day a goal of the individual plan is to be evaluated.",
        contexts: &["Goal"],
        types: &["date"],
    },
];

fn header(id: &str, name: &str, title: &str, description: &str) -> Value {
    json!({
        "resourceType": "StructureDefinition",
        "id": id,
        "meta": {"lastUpdated": format!("{DATE}T00:00:00Z")},
        "url": canonical(id),
        "version": VERSION,
        "name": name,
        "title": title,
        "status": "active",
        "date": DATE,
        "publisher": "Samhand",
        "description": description,
        "fhirVersion": FHIR_VERSION,
        "abstract": false,
        "derivation": "constraint",
    })
}

fn extension(def: &ExtensionDef) -> Value {
    let mut sd = header(def.id, def.name, def.title, def.description);
    sd["kind"] = json!("complex-type");
    sd["context"] = def
        .contexts
        .iter()
        .map(|c| json!({"type": "element", "expression": c}))
        .collect();
    sd["type"] = json!("Extension");
    sd["baseDefinition"] = json!("http://hl7.org/fhir/StructureDefinition/Extension");
    let types: Vec<Value> = def.types.iter().map(|t| json!({"code": t})).collect();
    sd["differential"] = json!({"element": [
        {"id": "Extension", "path": "Extension", "short": def.title, "definition": def.description, "max": "1"},
        {"id": "Extension.extension", "path": "Extension.extension", "max": "0"},
        {"id": "Extension.url", "path": "Extension.url", "fixedUri": canonical(def.id)},
        {"id": "Extension.value[x]", "path": "Extension.value[x]", "min": 1, "type": types},
    ]});
    sd
}

/// A LAR profile of `base`: `elements` are (element, short) the profile requires,
/// `extensions` (slice name, extension id) it names.
fn profile(
    (id, name, title, description): (&str, &str, &str, &str),
    base: &str,
    elements: &[(&str, &str)],
    extensions: &[(&str, &str)],
) -> Value {
    let mut sd = header(id, name, title, description);
    sd["kind"] = json!("resource");
    sd["type"] = json!(base);
    sd["baseDefinition"] = json!(format!("http://hl7.org/fhir/StructureDefinition/{base}"));
    let mut differential = vec![json!({"id": base, "path": base, "short": title, "definition": description})];
    for (slice, ext) in extensions {
        differential.push(json!({
            "id": format!("{base}.extension:{slice}"),
            "path": format!("{base}.extension"),
            "sliceName": slice,
            "min": 0,
            "max": "1",
            "type": [{"code": "Extension", "profile": [canonical(ext)]}],
        }));
    }
    for (element, short) in elements {
        differential.push(json!({"id": format!("{base}.{element}"), "path": format!("{base}.{element}"), "short": short, "min": 1}));
    }
    sd["differential"] = json!({"element": differential});
    sd
}

/// Every definition Samhand publishes, extensions first.
pub fn definitions() -> Vec<Value> {
    let mut all: Vec<Value> = EXTENSIONS.iter().map(extension).collect();
    all.push(profile(
        (LAR_EPISODE, "LarEpisode", "LAR-forløp", "A LAR episode (legemiddelassistert rehabilitering) at the responsible LAR unit, with its phase, responsible doctor and period."),
        "EpisodeOfCare",
        &[("type", "LAR"), ("managingOrganization", "The responsible LAR unit"), ("period", "From the start of LAR")],
        &[("phase", "lar-phase")],
    ));
    all.push(profile(
        (LAR_STAY, "LarStay", "Opphold", "A stay at a hospital, an institution or a prison (opphold), during which dispensing at home pauses, with its planned end and the day home dispensing resumes."),
        "Encounter",
        &[("subject", "The patient"), ("period", "From admission"), ("serviceProvider", "Where the patient stays")],
        &[("plannedEnd", "planned-end"), ("resumeOn", "resume-on")],
    ));
    all.push(profile(
        (LAR_DRUG_TEST, "LarDrugTest", "Rusmiddeltest", "A drug test (rusmiddeltest) as a laboratory reports it: one component per substance, positive or negative (SNOMED CT), supervised or not."),
        "Observation",
        &[("subject", "The patient"), ("effective[x]", "The sample date"), ("component", "One per substance")],
        &[],
    ));
    all
}

pub fn routes() -> axum::Router<crate::AppState> {
    use axum::routing::get;
    axum::Router::new()
        .route("/StructureDefinition", get(search))
        .route("/StructureDefinition/{id}", get(read))
        .route("/package.tgz", get(super::package::package))
}

type Params = Result<Query<Vec<(String, String)>>, QueryRejection>;

/// `GET /fhir/StructureDefinition`: by `_id`, `url`, `name` or `type`.
pub async fn search(headers: HeaderMap, query: Params) -> FhirResult<Response> {
    let params = query
        .map(|Query(p)| p)
        .map_err(|e| FhirError::BadRequest(format!("Søkeparameterne kunne ikke leses ({e}).")))?;
    let mut found = definitions();
    for (key, value) in &params {
        let element = match key.as_str() {
            "_id" => "id",
            "url" | "name" | "type" => key.as_str(),
            _ => continue,
        };
        found.retain(|sd| value.split(',').any(|v| sd[element] == json!(v)));
    }
    let base = base_url(&headers);
    let entries: Vec<Value> = found
        .iter()
        .map(|sd| {
            json!({
                "fullUrl": format!("{base}/StructureDefinition/{}", sd["id"].as_str().unwrap_or("")),
                "resource": sd,
                "search": {"mode": "match"},
            })
        })
        .collect();
    let mut bundle = json!({
        "resourceType": "Bundle",
        "type": "searchset",
        "total": entries.len(),
        "link": [{"relation": "self", "url": format!("{base}/StructureDefinition")}],
    });
    if !entries.is_empty() {
        bundle["entry"] = Value::Array(entries);
    }
    Ok(fhir_response(StatusCode::OK, &bundle))
}

/// `GET /fhir/StructureDefinition/{id}`.
pub async fn read(Path(id): Path<String>) -> FhirResult<Response> {
    let definition = definitions()
        .into_iter()
        .find(|sd| sd["id"] == json!(id))
        .ok_or_else(|| AppError::NotFound(format!("StructureDefinition/{id}")))?;
    Ok(fhir_response(StatusCode::OK, &definition))
}
