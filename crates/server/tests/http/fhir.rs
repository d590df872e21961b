//! The FHIR R4 API: every resource type Samhand emits validated by an independent
//! implementation (the fhir.resources R4 models, tests/fhir/validate.py), a real
//! FHIR client (fhirpy, tests/fhir/client_scenario.py) against the running app,
//! the access matrix through FHIR, the token endpoint, bulk export, and bad input.

use std::collections::BTreeSet;
use std::path::{Path, PathBuf};
use std::sync::Mutex;

use jiff::civil::{Date, Time, date};
use reqwest::StatusCode;
use samhand_domain::organisation::Role;
use serde_json::{Value, json};

use crate::helpers::{Staff, TestApp, national_id, spawn_app, start_day};

const FNR: &str = "urn:oid:2.16.578.1.12.4.1.4.1";

fn repo_root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../..")
}

/// Installs tests/fhir/.venv once (tests/fhir/setup.sh does nothing when it is
/// complete) and returns its python.
fn fhir_python() -> PathBuf {
    static SETUP: Mutex<bool> = Mutex::new(false);
    let mut done = SETUP.lock().unwrap_or_else(|p| p.into_inner());
    let root = repo_root();
    if !*done {
        let status = std::process::Command::new("bash")
            .arg(root.join("tests/fhir/setup.sh"))
            .status()
            .expect("run tests/fhir/setup.sh");
        assert!(
            status.success(),
            "tests/fhir/setup.sh failed: the FHIR tests need python3 and PyPI"
        );
        *done = true;
    }
    root.join("tests/fhir/.venv/bin/python")
}

/// Runs a script of tests/fhir with the venv's python, off the async runtime so
/// that the app keeps answering; returns (success, stdout, stderr).
async fn run_python(script: &str, args: Vec<String>) -> (bool, String, String) {
    let script = repo_root().join("tests/fhir").join(script);
    tokio::task::spawn_blocking(move || {
        let output = std::process::Command::new(fhir_python())
            .arg(script)
            .args(args)
            .output()
            .expect("run python");
        (
            output.status.success(),
            String::from_utf8_lossy(&output.stdout).to_string(),
            String::from_utf8_lossy(&output.stderr).to_string(),
        )
    })
    .await
    .expect("python task")
}

impl TestApp {
    pub async fn fhir_get(&self, token: &str, path: &str) -> (StatusCode, Value) {
        let response = self
            .client
            .get(self.url(&format!("/fhir{path}")))
            .bearer_auth(token)
            .send()
            .await
            .expect("fhir get");
        fhir_read(response).await
    }

    pub async fn fhir_post(&self, token: &str, path: &str, body: &str) -> (StatusCode, Value) {
        let response = self
            .client
            .post(self.url(&format!("/fhir{path}")))
            .bearer_auth(token)
            .header("Content-Type", "application/fhir+json")
            .body(body.to_string())
            .send()
            .await
            .expect("fhir post");
        fhir_read(response).await
    }

    /// Registers a system client at `organisation` and gets a token for `scopes`.
    pub async fn fhir_client(
        &self,
        name: &str,
        organisation: &str,
        role: Role,
        scopes: &str,
    ) -> (String, String, String) {
        let client = samhand_server::fhir::register_client(&self.state, name, organisation, role, scopes)
            .await
            .expect("register client");
        let response = self
            .client
            .post(self.url("/fhir/token"))
            .basic_auth(&client.client_id, Some(&client.secret))
            .form(&[("grant_type", "client_credentials")])
            .send()
            .await
            .expect("token");
        assert_eq!(response.status(), StatusCode::OK);
        let body: Value = response.json().await.expect("json");
        let token = body["access_token"].as_str().expect("token").to_string();
        (client.client_id, client.secret, token)
    }

    async fn audit_len(&self) -> i64 {
        let mut conn = self.state.store.read().await.expect("conn");
        samhand_store::audit::latest(&mut conn, 1)
            .await
            .expect("audit")
            .first()
            .map_or(0, |e| e.seq)
    }
}

async fn fhir_read(response: reqwest::Response) -> (StatusCode, Value) {
    let status = response.status();
    let content_type = response
        .headers()
        .get("content-type")
        .and_then(|v| v.to_str().ok())
        .unwrap_or("")
        .to_string();
    let text = response.text().await.expect("body");
    let json: Value = serde_json::from_str(&text).unwrap_or(Value::String(text));
    if status != StatusCode::ACCEPTED && !(status == StatusCode::OK && json.get("output").is_some()) {
        assert!(
            content_type.starts_with("application/fhir+json"),
            "FHIR answers are application/fhir+json, got {content_type:?}: {json}"
        );
    }
    if status.is_client_error() || status.is_server_error() {
        assert_eq!(json["resourceType"], json!("OperationOutcome"), "{json}");
    }
    (status, json)
}

fn entries(bundle: &Value) -> Vec<Value> {
    bundle["entry"]
        .as_array()
        .map(|e| e.iter().map(|e| e["resource"].clone()).collect())
        .unwrap_or_default()
}

fn day(d: i8) -> Date {
    date(2026, 11, d)
}

/// Patient A on methadone at the centre, supervised on weekdays and take-home at
/// the weekend; a second, split order version from Wednesday; doses recorded Monday
/// to Friday (Friday with the weekend's take-home doses); consents, a care team
/// seat, a drug test. Patient B never comes and is blocked by Saturday, when the
/// clock stops. Returns (A, B).
async fn fhir_world(app: &TestApp) -> (String, String) {
    let w = &app.world;
    let a = app.enrol(301, start_day()).await;
    app.sign_methadone(&a, &["60"], start_day()).await;
    app.arrange(&a, w.centre, "AAAAATT", start_day()).await;
    app.sign_methadone(&a, &["40", "30"], day(25)).await;
    let b = app.patient_on_daily_methadone(302).await;
    for (n, d) in (23..=27).enumerate() {
        app.set_oslo_time(day(d), Time::constant(9, 0, 0, 0));
        let (status, body) = app
            .dispense(&w.utdeler, &a, &format!("fhir-{n}"), json!({}))
            .await;
        assert_eq!(status, StatusCode::CREATED, "{body}");
    }
    app.set_oslo_time(day(28), Time::constant(9, 0, 0, 0));
    app.consent(&w.lege, &a, w.gp_office, "medication", true).await;
    app.consent(&w.lege, &a, w.gp_office, "drug_tests", true).await;
    app.consent(&w.lege, &a, w.gp_office, "drug_tests", false).await;
    app.add_to_team(&a, "fastlege", "member").await;
    let (status, body) = app
        .fhir_post(
            &w.lege.token,
            "/Observation",
            &drug_test(&a, None, "2026-11-20").to_string(),
        )
        .await;
    assert_eq!(status, StatusCode::CREATED, "{body}");
    let (status, body) = app
        .fhir_post(
            &w.lege.token,
            "/Encounter",
            &stay(&a, "hospital", "2026-11-28").to_string(),
        )
        .await;
    assert_eq!(status, StatusCode::CREATED, "{body}");
    (a, b)
}

fn stay(patient: &str, kind: &str, start: &str) -> Value {
    json!({
        "resourceType": "Encounter",
        "status": "in-progress",
        "class": {"system": "http://terminology.hl7.org/CodeSystem/v3-ActCode", "code": "IMP"},
        "type": [{"coding": [{"code": kind}]}],
        "subject": {"reference": format!("Patient/{patient}")},
        "period": {"start": start},
        "serviceProvider": {"display": "Fjordvik sykehus, medisinsk avdeling"},
        "extension": [{"url": "https://samhand.no/fhir/StructureDefinition/planned-end", "valueDate": "2026-12-04"}]
    })
}

fn drug_test(patient: &str, fnr: Option<&str>, sampled: &str) -> Value {
    let mut subject = json!({"reference": format!("Patient/{patient}")});
    if let Some(fnr) = fnr {
        subject["identifier"] = json!({"system": FNR, "value": fnr});
    }
    json!({
        "resourceType": "Observation",
        "status": "final",
        "code": {"text": "Rusmiddeltest"},
        "subject": subject,
        "effectiveDateTime": sampled,
        "performer": [{"display": "Fjordvik sykehus, laboratoriet"}],
        "method": {"coding": [{"code": "supervised"}]},
        "component": [
            {"code": {"coding": [{"code": "AMPH", "display": "Amfetamin"}]},
             "valueCodeableConcept": {"coding": [{"system": "http://snomed.info/sct", "code": "260385009"}]}},
            {"code": {"coding": [{"code": "THC", "display": "Cannabis"}]},
             "valueCodeableConcept": {"coding": [{"system": "http://snomed.info/sct", "code": "10828004"}]}}
        ]
    })
}

#[tokio::test]
async fn metadata_is_a_capability_statement_listing_what_is_supported_without_a_token() {
    let app = spawn_app().await;
    let response = app
        .client
        .get(app.url("/fhir/metadata"))
        .send()
        .await
        .expect("metadata");
    let (status, statement) = fhir_read(response).await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(statement["resourceType"], json!("CapabilityStatement"));
    assert_eq!(statement["fhirVersion"], json!("4.0.1"));
    let types: Vec<&str> = statement["rest"][0]["resource"]
        .as_array()
        .expect("resources")
        .iter()
        .map(|r| r["type"].as_str().expect("type"))
        .collect();
    for wanted in [
        "Patient",
        "MedicationRequest",
        "MedicationDispense",
        "Observation",
        "AuditEvent",
    ] {
        assert!(types.contains(&wanted), "{types:?}");
    }
    assert!(
        !types.contains(&"CarePlan"),
        "the individual plan is not in Samhand yet"
    );
}

#[tokio::test]
async fn every_resource_type_samhand_emits_validates_against_the_independent_r4_models() {
    let app = spawn_app().await;
    let (a, b) = fhir_world(&app).await;
    let token = &app.world.lege.token;
    let dir = tempfile::tempdir().expect("dir");
    let mut files = 0;
    let mut types = BTreeSet::new();
    let mut save = |value: &Value| {
        files += 1;
        types.insert(value["resourceType"].as_str().expect("type").to_string());
        std::fs::write(dir.path().join(format!("{files:03}.json")), value.to_string()).expect("write");
    };
    let response = app
        .client
        .get(app.url("/fhir/metadata"))
        .send()
        .await
        .expect("metadata");
    save(&fhir_read(response).await.1);
    let searches = [
        format!("/Patient?identifier={FNR}|{}", national_id(301)),
        format!("/EpisodeOfCare?patient={a}"),
        format!("/MedicationRequest?patient={a}&_include=MedicationRequest:patient"),
        format!("/MedicationDispense?patient={a}"),
        format!("/MedicationAdministration?patient={a}&_count=2"),
        format!("/CareTeam?patient={a}"),
        format!("/Consent?patient={a}"),
        format!("/Flag?patient={b}"),
        format!("/Communication?patient={a}"),
        format!("/AuditEvent?patient={a}&_count=5"),
        format!("/Observation?patient={a}"),
        format!("/Encounter?patient={a}&status=in-progress"),
    ];
    for path in &searches {
        let (status, bundle) = app.fhir_get(token, path).await;
        assert_eq!(status, StatusCode::OK, "{path}: {bundle}");
        let found = entries(&bundle);
        assert!(!found.is_empty(), "{path} found nothing: {bundle}");
        save(&bundle);
        for resource in &found {
            save(resource);
        }
    }
    // Reads, a version history and an error.
    let (_, orders) = app
        .fhir_get(token, &format!("/MedicationRequest?patient={a}"))
        .await;
    let order = entries(&orders)[0].clone();
    let id = order["id"].as_str().expect("id");
    assert_eq!(
        order["meta"]["versionId"],
        json!("2"),
        "the split order is the second version: {order}"
    );
    assert_eq!(
        order["dosageInstruction"].as_array().expect("dosage").len(),
        2,
        "{order}"
    );
    let (status, history) = app
        .fhir_get(token, &format!("/MedicationRequest/{id}/_history"))
        .await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(history["total"], json!(2), "{history}");
    save(&history);
    let (status, first) = app
        .fhir_get(token, &format!("/MedicationRequest/{id}/_history/1"))
        .await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(first["status"], json!("completed"), "{first}");
    save(&first);
    let (status, patient) = app.fhir_get(token, &format!("/Patient/{a}")).await;
    assert_eq!(status, StatusCode::OK);
    save(&patient);
    let (status, missing) = app
        .fhir_get(token, "/Patient/00000000-0000-7000-8000-000000000000")
        .await;
    assert_eq!(status, StatusCode::NOT_FOUND);
    save(&missing);
    for wanted in [
        "Bundle",
        "CapabilityStatement",
        "OperationOutcome",
        "Patient",
        "EpisodeOfCare",
        "MedicationRequest",
        "MedicationDispense",
        "MedicationAdministration",
        "CareTeam",
        "Consent",
        "Flag",
        "Communication",
        "AuditEvent",
        "Observation",
        "Encounter",
    ] {
        assert!(types.contains(wanted), "no {wanted} was emitted: {types:?}");
    }
    let (ok, stdout, stderr) = run_python("validate.py", vec![dir.path().display().to_string()]).await;
    assert!(
        ok,
        "the independent validator refused Samhand's FHIR:\n{stdout}\n{stderr}"
    );
}

#[tokio::test]
async fn a_real_fhir_client_gets_a_token_finds_the_patient_reads_the_order_posts_a_result_and_pages() {
    let app = spawn_app().await;
    let (a, _) = fhir_world(&app).await;
    let (client_id, secret, _) = app
        .fhir_client(
            "Laboratoriet",
            "LAR-enheten Fjordvik",
            Role::LarConsultant,
            "system/*.read system/Observation.write",
        )
        .await;
    let (ok, stdout, stderr) = run_python(
        "client_scenario.py",
        vec![app.url("/fhir"), client_id, secret, national_id(301)],
    )
    .await;
    assert!(ok, "the fhirpy scenario failed:\n{stdout}\n{stderr}");
    let result: Value = serde_json::from_str(stdout.lines().last().expect("a result line")).expect("json");
    assert_eq!(result["patient"], json!(a));
    assert_eq!(result["daily_mg"], json!(70.0));
    assert_eq!(
        result["pages"]["MedicationAdministration"]["first_page"],
        json!(2)
    );
    assert_eq!(
        result["pages"]["MedicationAdministration"]["all"],
        json!(8),
        "one per dose (two a day from Wednesday's split order); the client followed the next links: {result}"
    );
    assert_eq!(result["pages"]["MedicationDispense"]["all"], json!(1));
    // The lab's result is stored once more (fhir_world posted one), for patient A.
    let (_, tests) = app
        .fhir_get(&app.world.lege.token, &format!("/Observation?patient={a}"))
        .await;
    assert_eq!(tests["total"], json!(2), "{tests}");
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Expect {
    Allow,
    Deny,
}

#[tokio::test]
async fn through_fhir_the_policy_decides_patient_reads_order_searches_and_audit_events_and_audits_each() {
    use Expect::*;
    let app = spawn_app().await;
    let (a, _) = fhir_world(&app).await;
    let w = &app.world;
    let (_, _, scopeless) = app
        .fhir_client(
            "Uten scope",
            "LAR-enheten Fjordvik",
            Role::LarConsultant,
            "system/Observation.write",
        )
        .await;
    // (who, token, Patient read, MedicationRequest search, AuditEvent search)
    let rows: [(&str, &str, [Expect; 3]); 6] = [
        ("responsible LAR unit", &w.konsulent.token, [Allow, Allow, Allow]),
        (
            "care team member with consent to medication",
            &w.fastlege.token,
            [Allow, Allow, Deny],
        ),
        ("dispensing place", &w.utdeler.token, [Allow, Allow, Deny]),
        (
            "unrelated staff, same organisation as a member",
            &w.fastlege2.token,
            [Deny, Deny, Deny],
        ),
        ("another organisation", &w.fremmed_lege.token, [Deny, Deny, Deny]),
        ("client without the read scope", &scopeless, [Deny, Deny, Deny]),
    ];
    for (who, token, expected) in rows {
        let before = app.audit_len().await;
        let (status, body) = app.fhir_get(token, &format!("/Patient/{a}")).await;
        let got = if status == StatusCode::OK { Allow } else { Deny };
        assert_eq!(got, expected[0], "{who}: Patient read: {body}");
        if got == Deny {
            assert_eq!(status, StatusCode::FORBIDDEN, "{who}: {body}");
        }
        assert!(
            app.audit_len().await > before,
            "{who}: the Patient read is audited"
        );

        for (index, kind) in [(1, "MedicationRequest"), (2, "AuditEvent")] {
            let before = app.audit_len().await;
            let (status, body) = app.fhir_get(token, &format!("/{kind}?patient={a}")).await;
            let got = if status == StatusCode::OK && body["total"].as_u64() > Some(0) {
                Allow
            } else {
                Deny
            };
            assert_eq!(got, expected[index], "{who}: {kind} search: {body}");
            if who.starts_with("client without") {
                assert_eq!(
                    status,
                    StatusCode::FORBIDDEN,
                    "a missing scope is refused: {body}"
                );
            } else {
                assert_eq!(
                    status,
                    StatusCode::OK,
                    "{who}: a denied patient is absent, not an error: {body}"
                );
            }
            assert!(
                app.audit_len().await > before,
                "{who}: the {kind} search is audited"
            );
        }
    }
    // The audit log is searched one patient at a time; a wrong method is an outcome too.
    let (status, _) = app.fhir_get(&w.konsulent.token, "/AuditEvent").await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    let (status, _) = app.fhir_post(&w.konsulent.token, "/Patient", "{}").await;
    assert_eq!(status, StatusCode::METHOD_NOT_ALLOWED);
    // Without a patient named, a search returns only the caller's related patients.
    let (_, mine) = app.fhir_get(&w.fremmed_lege.token, "/Patient").await;
    assert_eq!(mine["total"], json!(0), "{mine}");
    let (_, theirs) = app.fhir_get(&w.utdeler.token, "/Patient").await;
    assert!(entries(&theirs).iter().any(|p| p["id"] == json!(a)), "{theirs}");
    // _include does not leak a patient the caller may not see: the GP, with consent to
    // medication, sees the order and the patient; nothing about others.
    let (_, included) = app
        .fhir_get(
            &w.fastlege.token,
            "/MedicationRequest?_include=MedicationRequest:patient",
        )
        .await;
    let ids: Vec<String> = entries(&included)
        .iter()
        .filter_map(|r| r["id"].as_str().map(str::to_string))
        .collect();
    assert!(ids.contains(&a), "{included}");
}

#[tokio::test]
async fn the_token_endpoint_issues_tokens_only_for_the_right_secret_and_registered_scopes() {
    let app = spawn_app().await;
    let client = samhand_server::fhir::register_client(
        &app.state,
        "Journalsystem",
        &app.world.unit.to_string(),
        Role::LarConsultant,
        "system/Patient.read",
    )
    .await
    .expect("register");
    let post = |form: Vec<(&'static str, String)>| {
        let request = app.client.post(app.url("/fhir/token")).form(&form);
        async move {
            let response = request.send().await.expect("token");
            let status = response.status();
            (status, response.json::<Value>().await.expect("json"))
        }
    };
    let (status, body) = post(vec![
        ("grant_type", "client_credentials".into()),
        ("client_id", client.client_id.clone()),
        ("client_secret", "feil".into()),
    ])
    .await;
    assert_eq!(status, StatusCode::UNAUTHORIZED);
    assert_eq!(body["error"], json!("invalid_client"));
    let (status, body) = post(vec![
        ("grant_type", "password".into()),
        ("client_id", client.client_id.clone()),
        ("client_secret", client.secret.clone()),
    ])
    .await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    assert_eq!(body["error"], json!("unsupported_grant_type"));
    let (status, body) = post(vec![
        ("grant_type", "client_credentials".into()),
        ("client_id", client.client_id.clone()),
        ("client_secret", client.secret.clone()),
        ("scope", "system/Observation.write".into()),
    ])
    .await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    assert_eq!(body["error"], json!("invalid_scope"));
    let (status, body) = post(vec![
        ("grant_type", "client_credentials".into()),
        ("client_id", client.client_id.clone()),
        ("client_secret", client.secret.clone()),
        ("scope", "system/Patient.read".into()),
    ])
    .await;
    assert_eq!(status, StatusCode::OK, "client_secret_post: {body}");
    let token = body["access_token"].as_str().expect("token").to_string();
    let (status, _) = app.fhir_get(&token, "/Patient").await;
    assert_eq!(status, StatusCode::OK);
    let (status, outcome) = app.fhir_get(&token, "/MedicationRequest").await;
    assert_eq!(status, StatusCode::FORBIDDEN, "{outcome}");
    let (status, outcome) = app.fhir_get("nonsense", "/Patient").await;
    assert_eq!(status, StatusCode::UNAUTHORIZED, "{outcome}");
}

#[tokio::test]
async fn bad_observations_are_refused_with_an_operation_outcome_and_nothing_is_stored() {
    let app = spawn_app().await;
    let w = &app.world;
    let a = app.patient_on_daily_methadone(311).await;
    let other = app.patient_on_daily_methadone(312).await;
    let token = &w.lege.token;
    let cases: Vec<(&str, String, StatusCode)> = vec![
        (
            "malformed JSON",
            "{\"resourceType\": \"Observation\",".into(),
            StatusCode::BAD_REQUEST,
        ),
        (
            "wrong resourceType",
            json!({"resourceType": "Patient"}).to_string(),
            StatusCode::BAD_REQUEST,
        ),
        (
            "invalid fødselsnummer",
            drug_test(&a, Some("12345678901"), "2026-11-20").to_string(),
            StatusCode::UNPROCESSABLE_ENTITY,
        ),
        (
            "the identifier names another patient",
            drug_test(&a, Some(&national_id(312)), "2026-11-20").to_string(),
            StatusCode::UNPROCESSABLE_ENTITY,
        ),
        (
            "a sample from the future",
            drug_test(&a, None, "2026-12-24").to_string(),
            StatusCode::UNPROCESSABLE_ENTITY,
        ),
    ];
    for (what, body, expected) in cases {
        let (status, outcome) = app.fhir_post(token, "/Observation", &body).await;
        assert_eq!(status, expected, "{what}: {outcome}");
        assert!(
            outcome["issue"][0]["diagnostics"].as_str().is_some(),
            "{what}: {outcome}"
        );
    }
    for patient in [&a, &other] {
        let (_, found) = app
            .fhir_get(token, &format!("/Observation?patient={patient}"))
            .await;
        assert_eq!(found["total"], json!(0), "nothing was stored: {found}");
    }
    // By identifier alone, the result reaches the patient the number names.
    let mut by_number = drug_test(&a, Some(&national_id(311)), "2026-11-20");
    by_number["subject"]
        .as_object_mut()
        .expect("subject")
        .remove("reference");
    let (status, created) = app.fhir_post(token, "/Observation", &by_number.to_string()).await;
    assert_eq!(status, StatusCode::CREATED, "{created}");
    assert_eq!(created["subject"]["reference"], json!(format!("Patient/{a}")));
    // A dispensing place may not write drug tests.
    let (status, outcome) = app
        .fhir_post(
            &w.utdeler.token,
            "/Observation",
            &drug_test(&a, None, "2026-11-20").to_string(),
        )
        .await;
    assert_eq!(status, StatusCode::FORBIDDEN, "{outcome}");
}

#[tokio::test]
async fn bulk_export_runs_asynchronously_with_the_policy_and_serves_ndjson_to_the_same_caller() {
    let app = spawn_app().await;
    let (a, _) = fhir_world(&app).await;
    let w = &app.world;
    let kick_off = |staff: &Staff, path: &str| {
        app.client
            .get(app.url(&format!("/fhir{path}")))
            .bearer_auth(&staff.token)
            .header("Prefer", "respond-async")
            .send()
    };
    let response = kick_off(&w.konsulent, &format!("/Group/{}/$export", w.other_unit))
        .await
        .expect("kick");
    assert_eq!(
        response.status(),
        StatusCode::FORBIDDEN,
        "another organisation's group"
    );
    let response = kick_off(
        &w.konsulent,
        &format!("/Group/{}/$export?_type=Patient,MedicationRequest", w.unit),
    )
    .await
    .expect("kick");
    assert_eq!(response.status(), StatusCode::ACCEPTED);
    let status_url = response
        .headers()
        .get("content-location")
        .and_then(|v| v.to_str().ok())
        .expect("Content-Location")
        .to_string();
    let mut manifest = Value::Null;
    for _ in 0..200 {
        let response = app
            .client
            .get(&status_url)
            .bearer_auth(&w.konsulent.token)
            .send()
            .await
            .expect("poll");
        if response.status() == StatusCode::OK {
            manifest = response.json().await.expect("manifest");
            break;
        }
        assert_eq!(response.status(), StatusCode::ACCEPTED);
        tokio::time::sleep(std::time::Duration::from_millis(25)).await;
    }
    let outputs = manifest["output"]
        .as_array()
        .expect("a finished manifest")
        .clone();
    assert_eq!(outputs.len(), 2, "{manifest}");
    let patient_file = outputs
        .iter()
        .find(|o| o["type"] == json!("Patient"))
        .expect("Patient file");
    let url = patient_file["url"].as_str().expect("url");
    let other = app
        .client
        .get(url)
        .bearer_auth(&w.fremmed_lege.token)
        .send()
        .await
        .expect("file");
    assert_eq!(
        other.status(),
        StatusCode::NOT_FOUND,
        "only the caller may fetch the files"
    );
    let ndjson = app
        .client
        .get(url)
        .bearer_auth(&w.konsulent.token)
        .send()
        .await
        .expect("file")
        .text()
        .await
        .expect("text");
    let ids: Vec<String> = ndjson
        .lines()
        .map(|l| {
            serde_json::from_str::<Value>(l).expect("json line")["id"]
                .as_str()
                .expect("id")
                .to_string()
        })
        .collect();
    assert!(ids.contains(&a), "{ids:?}");
    // Without Prefer: respond-async the kick-off is refused.
    let response = app
        .client
        .get(app.url("/fhir/$export"))
        .bearer_auth(&w.konsulent.token)
        .send()
        .await
        .expect("kick");
    assert_eq!(response.status(), StatusCode::BAD_REQUEST);
}

#[tokio::test]
async fn the_overview_page_shows_received_drug_tests_read_only_to_those_the_policy_lets_see_them() {
    let app = spawn_app().await;
    let (a, _) = fhir_world(&app).await;
    let lege = app.session_of("lege").await;
    let (status, html) = app.page(&lege, &format!("/pasienter/{a}")).await;
    assert_eq!(status, StatusCode::OK);
    assert!(html.contains("Rusmiddeltester"), "{html}");
    assert!(
        html.contains("Cannabis: positiv") && html.contains("Amfetamin: negativ"),
        "{html}"
    );
    assert!(html.contains("20.11.2026"));
    // The dispensing place sees the overview but, without the patient's consent,
    // not the drug tests.
    let utdeler = app.session_of("utdeler").await;
    let (status, html) = app.page(&utdeler, &format!("/pasienter/{a}")).await;
    assert_eq!(status, StatusCode::OK);
    assert!(!html.contains("Rusmiddeltester"), "{html}");
}
