//! Identifiers other systems send: a hospital's own number for a stay and its
//! organisation number are kept on the Encounter (and the hospital known by its
//! number), and H-numbers received on Encounter and Observation find their patient
//! in search and in later results, but never enrol anyone or name a second person;
//! valid R4 by the independent validator.

use reqwest::StatusCode;
use serde_json::{Value, json};

use crate::fhir::{FNR, drug_test, entries};
use crate::fhir_directory::{HER_ID, ORG_NUMBER};
use crate::helpers::{TestApp, national_id, spawn_app, start_day};

const H_NUMBER: &str = "urn:oid:2.16.578.1.12.4.1.4.3";
/// H-numbers made up for the tests (month + 40, valid check digits).
const FIRST_H: &str = "15428532381";
const SECOND_H: &str = "15428532462";
const HOSPITAL_ORG_NUMBER: &str = "100000032";
const HOSPITAL_STAY_SYSTEM: &str = "urn:oid:2.16.578.1.12.4.1.2.100000032";

fn encounter(subject: Value, provider: Value) -> Value {
    json!({
        "resourceType": "Encounter",
        "identifier": [{"system": HOSPITAL_STAY_SYSTEM, "value": "OPPH-2026-4711"}],
        "status": "in-progress",
        "class": {"system": "http://terminology.hl7.org/CodeSystem/v3-ActCode", "code": "IMP"},
        "type": [{"coding": [{"code": "hospital"}]}],
        "subject": subject,
        "period": {"start": "2026-11-23"},
        "serviceProvider": provider,
    })
}

fn with_h_number(patient: Option<&str>, h_number: &str) -> Value {
    let mut subject = json!({"identifier": {"system": H_NUMBER, "value": h_number}});
    if let Some(patient) = patient {
        subject["reference"] = json!(format!("Patient/{patient}"));
    }
    subject
}

/// A drug test for the patient an H-number names, and nothing else.
fn test_by_h_number(h_number: &str) -> Value {
    let mut test = drug_test("x", None, "2026-11-22");
    test["subject"] = with_h_number(None, h_number);
    test["identifier"] = json!([{"system": "urn:oid:2.16.578.1.12.4.1.2.100000032.1", "value": "PRØVE-1"}]);
    test
}

async fn register_hospital(app: &TestApp) {
    let (status, body) = app
        .put_admin(
            &format!("/admin/organisations/{}/registration", app.world.hospital),
            &json!({"org_number": HOSPITAL_ORG_NUMBER}),
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{body}");
}

#[tokio::test]
async fn a_hospitals_own_identifiers_are_kept_and_the_hospital_is_known_by_its_organisation_number() {
    let app = spawn_app().await;
    register_hospital(&app).await;
    let a = app.enrol(401, start_day()).await;
    let token = &app.world.lege.token;
    let provider = json!({"display": "Fjordvik sykehus", "identifier": {"system": ORG_NUMBER, "value": HOSPITAL_ORG_NUMBER}});
    let body = encounter(with_h_number(Some(&a), FIRST_H), provider);
    let (status, created) = app.fhir_post(token, "/Encounter", &body.to_string()).await;
    assert_eq!(status, StatusCode::CREATED, "{created}");
    let id = created["id"].as_str().expect("id");
    let (status, read) = app.fhir_get(token, &format!("/Encounter/{id}")).await;
    assert_eq!(status, StatusCode::OK);
    for resource in [&created, &read] {
        assert_eq!(
            resource["identifier"],
            json!([{"system": HOSPITAL_STAY_SYSTEM, "value": "OPPH-2026-4711"}]),
            "{resource}"
        );
        assert_eq!(
            resource["serviceProvider"]["reference"],
            json!(format!("Organization/{}", app.world.hospital))
        );
        assert_eq!(
            resource["serviceProvider"]["identifier"],
            json!({"system": ORG_NUMBER, "value": HOSPITAL_ORG_NUMBER})
        );
        assert_eq!(resource["subject"]["identifier"]["value"], json!(FIRST_H));
        assert_eq!(resource["subject"]["reference"], json!(format!("Patient/{a}")));
    }
    // A hospital Samhand does not know keeps its name and its identifier.
    let b = app.enrol(402, start_day()).await;
    let unknown =
        json!({"display": "Sørvik sykehus", "identifier": {"system": HER_ID, "value": "987654321"}});
    let (status, created) = app
        .fhir_post(
            token,
            "/Encounter",
            &encounter(json!({"reference": format!("Patient/{b}")}), unknown).to_string(),
        )
        .await;
    assert_eq!(status, StatusCode::CREATED, "{created}");
    assert_eq!(created["serviceProvider"]["display"], json!("Sørvik sykehus"));
    assert_eq!(
        created["serviceProvider"]["identifier"],
        json!({"system": HER_ID, "value": "987654321"})
    );
    let (status, found) = app
        .fhir_get(
            token,
            &format!("/Encounter?identifier={HOSPITAL_STAY_SYSTEM}|OPPH-2026-4711"),
        )
        .await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(found["total"], json!(2), "both stays carry the number: {found}");
    let (_, none) = app
        .fhir_get(
            token,
            &format!("/Encounter?identifier={HOSPITAL_STAY_SYSTEM}|OPPH-2026-0000"),
        )
        .await;
    assert_eq!(none["total"], json!(0), "{none}");
}

#[tokio::test]
async fn an_h_number_finds_the_patient_it_came_with_but_never_enrols_or_names_a_second_person() {
    let app = spawn_app().await;
    let a = app.enrol(403, start_day()).await;
    let b = app.enrol(404, start_day()).await;
    let token = &app.world.lege.token;
    let provider = json!({"display": "Fjordvik sykehus"});
    // An H-number nobody was received with names no one: nothing is stored, no
    // one is registered.
    let (status, refused) = app
        .fhir_post(token, "/Observation", &test_by_h_number(FIRST_H).to_string())
        .await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{refused}");
    let (status, refused) = app
        .fhir_post(
            token,
            "/Encounter",
            &encounter(with_h_number(None, FIRST_H), provider.clone()).to_string(),
        )
        .await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{refused}");
    let patient_by_h_number = json!({
        "resourceType": "Patient",
        "identifier": [{"system": H_NUMBER, "value": FIRST_H}],
        "name": [{"family": "Ukjent", "given": ["Mann"]}],
    });
    let (status, refused) = app
        .fhir_post(token, "/Patient", &patient_by_h_number.to_string())
        .await;
    assert_eq!(
        status,
        StatusCode::UNPROCESSABLE_ENTITY,
        "no one is enrolled on an H-number: {refused}"
    );
    let (_, nobody) = app
        .fhir_get(token, &format!("/Patient?identifier={H_NUMBER}|{FIRST_H}"))
        .await;
    assert_eq!(nobody["total"], json!(0), "{nobody}");
    // Received with a stay for A, it then finds A: a later result sent with the
    // H-number alone is A's.
    let (status, stay) = app
        .fhir_post(
            token,
            "/Encounter",
            &encounter(with_h_number(Some(&a), FIRST_H), provider).to_string(),
        )
        .await;
    assert_eq!(status, StatusCode::CREATED, "{stay}");
    let (status, test) = app
        .fhir_post(token, "/Observation", &test_by_h_number(FIRST_H).to_string())
        .await;
    assert_eq!(status, StatusCode::CREATED, "{test}");
    assert_eq!(test["subject"]["reference"], json!(format!("Patient/{a}")));
    assert_eq!(test["subject"]["identifier"]["value"], json!(FIRST_H));
    // A correction answers with what was received as a read does.
    let mut correction = test.clone();
    correction["note"] = json!([{"text": "Feil prøve analysert"}]);
    let id = test["id"].as_str().expect("id");
    let (status, corrected) = app
        .fhir_put(
            token,
            &format!("/Observation/{id}"),
            &correction.to_string(),
            Some("1"),
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{corrected}");
    let (_, read) = app.fhir_get(token, &format!("/Observation/{id}")).await;
    assert_eq!(corrected, read);
    assert_eq!(read["identifier"], test["identifier"]);
    assert_eq!(read["subject"]["identifier"]["value"], json!(FIRST_H));
    for path in [
        format!("/Patient?identifier={H_NUMBER}|{FIRST_H}"),
        format!("/Observation?patient.identifier={H_NUMBER}|{FIRST_H}"),
        format!("/Encounter?patient.identifier={H_NUMBER}|{FIRST_H}"),
    ] {
        let (status, bundle) = app.fhir_get(token, &path).await;
        assert_eq!(status, StatusCode::OK);
        let found = entries(&bundle);
        assert_eq!(found.len(), 1, "{path}: {bundle}");
        let patient = found[0]["subject"]["reference"]
            .as_str()
            .map(str::to_string)
            .unwrap_or_else(|| format!("Patient/{}", found[0]["id"].as_str().unwrap_or("")));
        assert_eq!(patient, format!("Patient/{a}"), "{path}");
    }
    let (_, found) = app
        .fhir_get(token, &format!("/Patient?identifier={H_NUMBER}|{FIRST_H}"))
        .await;
    assert_eq!(
        entries(&found)[0]["identifier"][1],
        json!({"use": "temp", "system": H_NUMBER, "value": FIRST_H}),
        "the Patient carries the H-number it was found by: {found}"
    );
    let (_, none) = app
        .fhir_get(
            token,
            &format!("/Observation?patient.identifier={H_NUMBER}|{SECOND_H}"),
        )
        .await;
    assert_eq!(none["total"], json!(0));
    // A's H-number sent for B names two people: refused, nothing stored.
    let mut for_b = drug_test(&b, Some(&national_id(404)), "2026-11-22");
    for_b["subject"] = with_h_number(Some(&b), FIRST_H);
    let (status, refused) = app.fhir_post(token, "/Observation", &for_b.to_string()).await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{refused}");
    let (_, tests_of_b) = app.fhir_get(token, &format!("/Observation?patient={b}")).await;
    assert_eq!(tests_of_b["total"], json!(0));
    // The national identity number still works beside it.
    let (_, by_number) = app
        .fhir_get(
            token,
            &format!("/Observation?patient.identifier={FNR}|{}", national_id(403)),
        )
        .await;
    assert_eq!(by_number["total"], json!(1));
    // What is served with the received identifiers is valid R4.
    let dir = tempfile::tempdir().expect("dir");
    for (n, resource) in [stay, test, found].iter().enumerate() {
        std::fs::write(dir.path().join(format!("{n:03}.json")), resource.to_string()).expect("write");
    }
    crate::fhir::validate_r4(dir.path()).await;
}
