//! The patient's access log over FHIR, as HL7 Norway's AuditEvent profile
//! (no-basis-Auditevent) models it: the actor is the professional's role at the
//! organisation they acted for (a PractitionerRole Samhand serves, naming the
//! Practitioner by HPR number), the purpose follows from the relation that
//! allowed the access, and each AuditEvent names its one patient at the top.

use reqwest::StatusCode;
use serde_json::{Value, json};

use crate::fhir::{entries, fhir_world};
use crate::fhir_directory::HPR;
use crate::helpers::spawn_app;

const PATIENT_EXTENSION: &str = "http://hl7.org/fhir/5.0/StructureDefinition/extension-AuditEvent.patient";

fn purpose(event: &Value) -> &Value {
    &event["purposeOfEvent"][0]["coding"][0]["code"]
}

fn actor_reference(event: &Value) -> &str {
    event["agent"][0]["who"]["reference"].as_str().unwrap_or_default()
}

#[tokio::test]
async fn an_audit_event_names_the_professionals_role_the_purpose_and_its_one_patient() {
    let app = spawn_app().await;
    let w = &app.world;
    app.register_identifiers().await;
    let (a, _) = fhir_world(&app).await;
    // The emergency doctor has no relation: refused, then an emergency access.
    let overview = format!("/api/v1/patients/{a}");
    let (status, _) = app.get_json(&w.akuttlege, &overview).await;
    assert_eq!(status, StatusCode::FORBIDDEN);
    let (status, body) = app
        .open_emergency(&w.akuttlege, &a, "Innlagt etter fall, trenger dosen")
        .await;
    assert!(status.is_success(), "{body}");
    let (status, body) = app.get_json(&w.akuttlege, &overview).await;
    assert_eq!(status, StatusCode::OK, "{body}");

    let (status, bundle) = app
        .fhir_get(&w.lege.token, &format!("/AuditEvent?patient={a}&_count=500"))
        .await;
    assert_eq!(status, StatusCode::OK, "{bundle}");
    let events = entries(&bundle);
    assert!(events.len() > 3, "{bundle}");
    for event in &events {
        assert_eq!(event["extension"][0]["url"], json!(PATIENT_EXTENSION), "{event}");
        assert_eq!(
            event["extension"][0]["valueReference"]["reference"],
            json!(format!("Patient/{a}")),
            "{event}"
        );
    }

    // The prescriber's own accesses: treatment, by the role Samhand serves.
    let doctor = format!("PractitionerRole/{}-", w.lege.id);
    let by_doctor = events
        .iter()
        .find(|e| actor_reference(e).starts_with(&doctor) && e["outcome"] == json!("0"))
        .expect("the prescriber's access is in the log");
    assert_eq!(purpose(by_doctor), &json!("TREAT"), "{by_doctor}");
    let (status, role) = app
        .fhir_get(&w.lege.token, &format!("/{}", actor_reference(by_doctor)))
        .await;
    assert_eq!(status, StatusCode::OK, "{role}");
    assert_eq!(
        role["practitioner"]["reference"],
        json!(format!("Practitioner/{}", w.lege.id))
    );
    assert_eq!(role["practitioner"]["identifier"]["system"], json!(HPR), "{role}");
    assert_eq!(
        role["organization"]["reference"],
        json!(format!(
            "Organization/{}",
            by_doctor["agent"][0]["altId"].as_str().expect("altId")
        ))
    );

    // The emergency doctor: refused without a purpose, then emergency treatment.
    let emergency = format!("PractitionerRole/{}-", w.akuttlege.id);
    let by_emergency: Vec<&Value> = events
        .iter()
        .filter(|e| actor_reference(e).starts_with(&emergency))
        .collect();
    let refused = by_emergency
        .iter()
        .find(|e| e["outcome"] == json!("4"))
        .expect("the refusal is in the log");
    assert_eq!(refused["purposeOfEvent"], Value::Null, "{refused}");
    let allowed = by_emergency
        .iter()
        .find(|e| e["outcome"] == json!("0"))
        .expect("the emergency access is in the log");
    assert_eq!(purpose(allowed), &json!("ETREAT"), "{allowed}");
}
