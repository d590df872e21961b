//! The FHIR R4 API: every resource type Samhand emits validated by two independent
//! implementations (the fhir.resources R4 models, tests/fhir/validate.py, and FHIR.js,
//! tests/fhirjs/validate.mjs), a real
//! FHIR client (fhirpy, tests/fhir/client_scenario.py) against the running app,
//! the access matrix through FHIR, the token endpoint, bulk export, and bad input.

use std::collections::BTreeSet;

use jiff::civil::{Date, Time, date};
use reqwest::StatusCode;
use samhand_domain::organisation::Role;
use serde_json::{Value, json};

use crate::helpers::{Staff, TestApp, national_id, spawn_app, start_day};
use crate::venv::{self, repo_root};

pub const FNR: &str = "urn:oid:2.16.578.1.12.4.1.4.1";

/// Runs a script of tests/fhir with the venv's python, off the async runtime so
/// that the app keeps answering; returns (success, stdout, stderr).
async fn run_python(script: &str, args: Vec<String>) -> (bool, String, String) {
    let script = repo_root().join("tests/fhir").join(script);
    let mut all = vec![script.display().to_string()];
    all.extend(args);
    venv::run("fhir", "python", all).await
}

impl TestApp {
    /// A GET under /fhir, with a token if one is given; the answer as it came.
    pub async fn fhir_raw(&self, token: Option<&str>, path: &str) -> reqwest::Response {
        let mut request = self.client.get(self.url(&format!("/fhir{path}")));
        if let Some(token) = token {
            request = request.bearer_auth(token);
        }
        request.send().await.expect("fhir get")
    }

    pub async fn fhir_get(&self, token: &str, path: &str) -> (StatusCode, Value) {
        fhir_read(self.fhir_raw(Some(token), path).await).await
    }

    /// A PUT, with `If-Match` when `version` is given.
    pub async fn fhir_put(
        &self,
        token: &str,
        path: &str,
        body: &str,
        version: Option<&str>,
    ) -> (StatusCode, Value) {
        let mut request = self
            .client
            .put(self.url(&format!("/fhir{path}")))
            .bearer_auth(token)
            .header("Content-Type", "application/fhir+json")
            .body(body.to_string());
        if let Some(version) = version {
            request = request.header("If-Match", format!("W/\"{version}\""));
        }
        fhir_read(request.send().await.expect("fhir put")).await
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

    pub async fn audit_len(&self) -> i64 {
        let mut conn = self.state.store.read().await.expect("conn");
        samhand_store::audit::latest(&mut conn, 1)
            .await
            .expect("audit")
            .first()
            .map_or(0, |e| e.seq)
    }
}

/// Validates every *.json file in `dir` with both independent R4 validators: the
/// fhir.resources models (Python) and FHIR.js (node), unexpected elements errors.
pub async fn validate_r4(dir: &std::path::Path) {
    let (ok, stdout, stderr) = run_python("validate.py", vec![dir.display().to_string()]).await;
    assert!(ok, "fhir.resources refused Samhand's FHIR:\n{stdout}\n{stderr}");
    let (ok, stdout, stderr) =
        venv::run_node("fhirjs", "validate.mjs", vec![dir.display().to_string()]).await;
    assert!(ok, "FHIR.js refused Samhand's FHIR:\n{stdout}\n{stderr}");
}

pub async fn fhir_read(response: reqwest::Response) -> (StatusCode, Value) {
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

pub fn entries(bundle: &Value) -> Vec<Value> {
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
pub async fn fhir_world(app: &TestApp) -> (String, String) {
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
    // The individual plan: a goal in the patient's words with a measure.
    let (status, body) = app
        .post_json(
            &w.konsulent,
            &format!("/api/v1/patients/{a}/plan"),
            &json!({"action": "save", "reason": "Mål fra møtet", "goals": [
                {"domain": "housing", "goal": "Jeg vil ha min egen leilighet",
                 "measures": [{"description": "Søke kommunal bolig", "responsible_organisation_id": w.centre.to_string()}],
                 "evaluate_on": "2027-03-01"}
            ]}),
        )
        .await;
    assert_eq!(status, StatusCode::CREATED, "{body}");
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

pub fn drug_test(patient: &str, fnr: Option<&str>, sampled: &str) -> Value {
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
        "CarePlan",
    ] {
        assert!(types.contains(&wanted), "{types:?}");
    }
    // The interactions are stated honestly: Patient, Observation and Encounter are
    // created and updated; CarePlan is read only; nothing is deleted.
    let interactions = |kind: &str| -> Vec<String> {
        statement["rest"][0]["resource"]
            .as_array()
            .expect("resources")
            .iter()
            .find(|r| r["type"] == json!(kind))
            .expect("the type")["interaction"]
            .as_array()
            .expect("interactions")
            .iter()
            .map(|i| i["code"].as_str().expect("code").to_string())
            .collect()
    };
    for kind in ["Patient", "Observation", "Encounter"] {
        let codes = interactions(kind);
        assert!(
            codes.contains(&"create".into()) && codes.contains(&"update".into()),
            "{kind}: {codes:?}"
        );
    }
    assert!(!interactions("CarePlan").contains(&"create".into()));
    for kind in ["Patient", "Observation", "CarePlan", "Encounter"] {
        assert!(!interactions(kind).contains(&"delete".into()));
    }
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
        format!("/CarePlan?patient={a}&status=active&date=ge2026-01-01&_include=CarePlan:patient"),
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
    // The individual plan in versions: initiated at enrolment, then saved with goals.
    let (status, plans) = app.fhir_get(token, &format!("/CarePlan/{a}/_history")).await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(plans["total"], json!(2), "{plans}");
    save(&plans);
    let (_, plan) = app.fhir_get(token, &format!("/CarePlan/{a}")).await;
    assert_eq!(plan["meta"]["versionId"], json!("2"));
    assert_eq!(
        plan["contained"][0]["description"]["text"],
        json!("Jeg vil ha min egen leilighet")
    );
    assert_eq!(
        plan["activity"][0]["detail"]["description"],
        json!("Søke kommunal bolig")
    );
    save(&plan);
    // A patient registered and then corrected through FHIR, and a corrected result.
    let (status, created) = app
        .fhir_post(
            token,
            "/Patient",
            &new_patient(&app, &national_id(303), "Nordmann").to_string(),
        )
        .await;
    assert_eq!(status, StatusCode::CREATED, "{created}");
    save(&created);
    let id = created["id"].as_str().expect("id");
    let mut changed = created.clone();
    changed["address"] = json!([{"use": "home", "text": "Nygata 3, 9000 Fjordvik"}]);
    let (status, updated) = app
        .fhir_put(token, &format!("/Patient/{id}"), &changed.to_string(), Some("1"))
        .await;
    assert_eq!(status, StatusCode::OK, "{updated}");
    save(&updated);
    let (_, history) = app.fhir_get(token, &format!("/Patient/{id}/_history")).await;
    assert_eq!(history["total"], json!(2));
    save(&history);
    let (_, tests) = app.fhir_get(token, &format!("/Observation?patient={a}")).await;
    let mut test = entries(&tests)[0].clone();
    test["note"] = json!([{"text": "Feil prøve analysert"}]);
    let (status, corrected) = app
        .fhir_put(
            token,
            &format!("/Observation/{}", test["id"].as_str().expect("id")),
            &test.to_string(),
            Some("1"),
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{corrected}");
    save(&corrected);
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
        "CarePlan",
    ] {
        assert!(types.contains(wanted), "no {wanted} was emitted: {types:?}");
    }
    validate_r4(dir.path()).await;
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
            "system/*.read system/Observation.write system/Patient.write",
        )
        .await;
    let (ok, stdout, stderr) = run_python(
        "client_scenario.py",
        vec![
            app.url("/fhir"),
            client_id,
            secret,
            national_id(301),
            national_id(305),
        ],
    )
    .await;
    assert!(ok, "the fhirpy scenario failed:\n{stdout}\n{stderr}");
    let result: Value = serde_json::from_str(stdout.lines().last().expect("a result line")).expect("json");
    assert_eq!(result["patient"], json!(a));
    assert_eq!(result["daily_mg"], json!(70.0));
    assert_eq!(
        result["requester"],
        json!(app.world.lege.id.to_string()),
        "the client followed the order's requester to the doctor"
    );
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
    assert_eq!(result["observation_version"], json!("2"));
    assert_eq!(result["registered_version"], json!("2"));
    // The registered patient exists once, enrolled at the client's unit.
    let (_, found) = app
        .fhir_get(
            &app.world.lege.token,
            &format!("/Patient?identifier={FNR}|{}", national_id(305)),
        )
        .await;
    assert_eq!(found["total"], json!(1), "{found}");
    assert_eq!(entries(&found)[0]["id"], result["registered"]);
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
    // The patient shares the plan (PlanAndGoals) with the dispensing place only.
    app.consent(&w.lege, &a, w.centre, "plan_and_goals", true).await;
    // (who, token, Patient read, MedicationRequest search, AuditEvent search,
    // CarePlan search)
    let rows: [(&str, &str, [Expect; 4]); 6] = [
        (
            "responsible LAR unit",
            &w.konsulent.token,
            [Allow, Allow, Allow, Allow],
        ),
        (
            "care team member with consent to medication, not the plan",
            &w.fastlege.token,
            [Allow, Allow, Deny, Deny],
        ),
        (
            "dispensing place, with consent to the plan",
            &w.utdeler.token,
            [Allow, Allow, Deny, Allow],
        ),
        (
            "unrelated staff, same organisation as a member",
            &w.fastlege2.token,
            [Deny, Deny, Deny, Deny],
        ),
        (
            "another organisation",
            &w.fremmed_lege.token,
            [Deny, Deny, Deny, Deny],
        ),
        (
            "client without the read scope",
            &scopeless,
            [Deny, Deny, Deny, Deny],
        ),
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

        for (index, kind) in [(1, "MedicationRequest"), (2, "AuditEvent"), (3, "CarePlan")] {
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
    let (status, _) = app
        .fhir_post(&w.konsulent.token, "/MedicationRequest", "{}")
        .await;
    assert_eq!(status, StatusCode::METHOD_NOT_ALLOWED);
    let (status, _) = app
        .fhir_put(&w.konsulent.token, &format!("/CarePlan/{a}"), "{}", None)
        .await;
    assert_eq!(status, StatusCode::METHOD_NOT_ALLOWED);
    // The plan's read is decided the same way: the GP without consent is refused.
    let (status, _) = app.fhir_get(&w.fastlege.token, &format!("/CarePlan/{a}")).await;
    assert_eq!(status, StatusCode::FORBIDDEN);
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
        &format!(
            "/Group/{}/$export?_type=Patient,MedicationRequest,CarePlan",
            w.unit
        ),
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
    assert_eq!(outputs.len(), 3, "{manifest}");
    assert!(
        outputs.iter().any(|o| o["type"] == json!("CarePlan")),
        "the individual plans are exported: {manifest}"
    );
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

const LAR_DOCTOR: &str = "https://samhand.no/fhir/StructureDefinition/lar-doctor";
const LAR_CONSULTANT: &str = "https://samhand.no/fhir/StructureDefinition/lar-consultant";

/// A Patient as a journal system sends it: the person, and the LAR unit's doctor
/// (by username) and consultant (by user id) who take responsibility.
pub fn new_patient(app: &TestApp, fnr: &str, family: &str) -> Value {
    json!({
        "resourceType": "Patient",
        "identifier": [{"system": FNR, "value": fnr}],
        "name": [{"use": "official", "family": family, "given": ["Kari"]}],
        "telecom": [{"system": "phone", "value": "41000000"}],
        "address": [{"line": ["Storgata 2"], "postalCode": "9000", "city": "Fjordvik"}],
        "extension": [
            {"url": LAR_DOCTOR, "valueIdentifier": {"value": "lege"}},
            {"url": LAR_CONSULTANT, "valueIdentifier": {"value": app.world.konsulent.id.to_string()}},
        ],
    })
}

#[tokio::test]
async fn a_system_registers_a_patient_at_its_own_lar_unit_once_and_a_duplicate_is_refused_naming_the_number()
{
    let app = spawn_app().await;
    let w = &app.world;
    let (_, _, journal) = app
        .fhir_client(
            "Journalsystem",
            "LAR-enheten Fjordvik",
            Role::LarConsultant,
            "system/Patient.*",
        )
        .await;
    let fnr = national_id(401);
    let body = new_patient(&app, &fnr, "Nordmann").to_string();
    let response = app
        .client
        .post(app.url("/fhir/Patient"))
        .bearer_auth(&journal)
        .header("Content-Type", "application/fhir+json")
        .body(body.clone())
        .send()
        .await
        .expect("create");
    assert_eq!(
        response.headers().get("etag").and_then(|v| v.to_str().ok()),
        Some("W/\"1\"")
    );
    let location = response
        .headers()
        .get("location")
        .and_then(|v| v.to_str().ok())
        .expect("Location")
        .to_string();
    let (status, created) = fhir_read(response).await;
    assert_eq!(status, StatusCode::CREATED, "{created}");
    let id = created["id"].as_str().expect("id").to_string();
    assert!(
        location.ends_with(&format!("/Patient/{id}/_history/1")),
        "{location}"
    );
    assert_eq!(created["identifier"][0]["value"], json!(fnr));
    assert_eq!(created["address"][0]["text"], json!("Storgata 2, 9000 Fjordvik"));
    // Enrolled at the client's unit, like the enrolment form: an episode with the
    // named doctor, and the individual plan initiated.
    let (_, episodes) = app
        .fhir_get(&w.lege.token, &format!("/EpisodeOfCare?patient={id}"))
        .await;
    assert_eq!(episodes["total"], json!(1), "{episodes}");
    assert_eq!(
        entries(&episodes)[0]["careManager"]["identifier"]["value"],
        json!(w.lege.id.to_string())
    );
    let (status, plan) = app.fhir_get(&w.lege.token, &format!("/CarePlan/{id}")).await;
    assert_eq!(status, StatusCode::OK, "{plan}");
    assert!(app.audit_counts(&id).await.0 > 0, "the enrolment is audited");

    // The same number again: refused, naming it; nothing new.
    let (status, outcome) = app.fhir_post(&journal, "/Patient", &body).await;
    assert_eq!(status, StatusCode::CONFLICT, "{outcome}");
    assert_eq!(outcome["issue"][0]["code"], json!("duplicate"));
    assert_eq!(outcome["issue"][0]["expression"][0], json!("Patient.identifier"));
    assert!(
        outcome["issue"][0]["diagnostics"]
            .as_str()
            .is_some_and(|d| d.contains(&fnr)),
        "{outcome}"
    );
    // Conditional create: the registered patient is the answer, not a second one.
    let conditional = |token: &str, number: &str, body: String| {
        app.client
            .post(app.url("/fhir/Patient"))
            .bearer_auth(token)
            .header("Content-Type", "application/fhir+json")
            .header("If-None-Exist", format!("identifier={FNR}|{number}"))
            .body(body)
            .send()
    };
    let (status, existing) = fhir_read(conditional(&journal, &fnr, body.clone()).await.expect("post")).await;
    assert_eq!(status, StatusCode::OK, "{existing}");
    assert_eq!(existing["id"], json!(id));
    let (_, found) = app
        .fhir_get(&w.lege.token, &format!("/Patient?identifier={FNR}|{fnr}"))
        .await;
    assert_eq!(found["total"], json!(1), "registered once: {found}");
    // Another LAR unit's doctor may enrol, but not read this patient: told only
    // that the number is registered.
    let (status, outcome) = fhir_read(
        conditional(&w.fremmed_lege.token, &fnr, body.clone())
            .await
            .expect("post"),
    )
    .await;
    assert_eq!(status, StatusCode::CONFLICT, "{outcome}");
    assert!(outcome.get("id").is_none() && !outcome.to_string().contains(&id));
    // A new number with If-None-Exist is created.
    let other = national_id(402);
    let (status, second) = fhir_read(
        conditional(&journal, &other, new_patient(&app, &other, "Hansen").to_string())
            .await
            .expect("post"),
    )
    .await;
    assert_eq!(status, StatusCode::CREATED, "{second}");
    assert_ne!(second["id"], json!(id));

    // Bad content: an invalid number, no doctor named.
    let (status, outcome) = app
        .fhir_post(
            &journal,
            "/Patient",
            &new_patient(&app, "12345678901", "Feil").to_string(),
        )
        .await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{outcome}");
    assert_eq!(outcome["issue"][0]["expression"][0], json!("Patient.identifier"));
    let mut no_doctor = new_patient(&app, &national_id(403), "Uten");
    no_doctor["extension"].as_array_mut().expect("ext").remove(0);
    let (status, outcome) = app.fhir_post(&journal, "/Patient", &no_doctor.to_string()).await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{outcome}");
    assert!(outcome.to_string().contains(LAR_DOCTOR), "{outcome}");

    // A client whose organisation cannot enrol (a dispensing place), and one
    // without the write scope, are refused; both refusals are audited.
    let (_, _, centre) = app
        .fhir_client(
            "Senterets system",
            "LAR-senteret Sentrum",
            Role::DispensingStaff,
            "system/Patient.*",
        )
        .await;
    let (_, _, reader) = app
        .fhir_client(
            "Leser",
            "LAR-enheten Fjordvik",
            Role::LarConsultant,
            "system/Patient.read",
        )
        .await;
    for (who, token) in [("a dispensing place", &centre), ("no write scope", &reader)] {
        let before = app.audit_len().await;
        let fresh = new_patient(&app, &national_id(404), "Nektet").to_string();
        let (status, outcome) = app.fhir_post(token, "/Patient", &fresh).await;
        assert_eq!(status, StatusCode::FORBIDDEN, "{who}: {outcome}");
        assert!(app.audit_len().await > before, "{who}: the refusal is audited");
    }
    let (_, found) = app
        .fhir_get(
            &w.lege.token,
            &format!("/Patient?identifier={FNR}|{}", national_id(404)),
        )
        .await;
    assert_eq!(found["total"], json!(0), "nothing was registered: {found}");
}

#[tokio::test]
async fn a_patient_update_is_a_new_version_checked_by_if_match_and_the_identity_number_never_changes() {
    let app = spawn_app().await;
    let w = &app.world;
    let a = app.enrol(411, start_day()).await;
    let (_, _, journal) = app
        .fhir_client(
            "Journalsystem",
            "LAR-enheten Fjordvik",
            Role::LarConsultant,
            "system/Patient.*",
        )
        .await;
    let (status, original) = app.fhir_get(&journal, &format!("/Patient/{a}")).await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(original["meta"]["versionId"], json!("1"));
    let with = |family: &str, phone: &str| {
        let mut p = original.clone();
        p["name"][0]["family"] = json!(family);
        p["telecom"][0]["value"] = json!(phone);
        p.to_string()
    };
    // With If-Match at the current version and a reason: version 2.
    let response = app
        .client
        .put(app.url(&format!("/fhir/Patient/{a}")))
        .bearer_auth(&journal)
        .header("Content-Type", "application/fhir+json")
        .header("If-Match", "W/\"1\"")
        .header(
            "X-Provenance",
            json!({"resourceType": "Provenance", "reason": [{"text": "Navneendring etter giftermål"}]})
                .to_string(),
        )
        .body(with("Giftesen", "40000000"))
        .send()
        .await
        .expect("put");
    assert_eq!(
        response.headers().get("etag").and_then(|v| v.to_str().ok()),
        Some("W/\"2\"")
    );
    let (status, v2) = fhir_read(response).await;
    assert_eq!(status, StatusCode::OK, "{v2}");
    assert_eq!(v2["meta"]["versionId"], json!("2"));
    assert_eq!(v2["name"][0]["family"], json!("Giftesen"));
    // A stale If-Match (made from version 1) is refused and changes nothing.
    let before = app.audit_counts(&a).await;
    let (status, outcome) = app
        .fhir_put(
            &journal,
            &format!("/Patient/{a}"),
            &with("Overskrevet", "40000000"),
            Some("1"),
        )
        .await;
    assert_eq!(status, StatusCode::PRECONDITION_FAILED, "{outcome}");
    assert!(
        app.audit_counts(&a).await.0 > before.0,
        "the refused write is audited"
    );
    let (_, now) = app.fhir_get(&journal, &format!("/Patient/{a}")).await;
    assert_eq!(now["name"][0]["family"], json!("Giftesen"), "{now}");
    // Without If-Match: the next version, from the current one.
    let (status, v3) = app
        .fhir_put(
            &journal,
            &format!("/Patient/{a}"),
            &with("Giftesen", "99999999"),
            None,
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{v3}");
    assert_eq!(v3["meta"]["versionId"], json!("3"));
    // The same again changes nothing: no new version.
    let (status, same) = app
        .fhir_put(
            &journal,
            &format!("/Patient/{a}"),
            &with("Giftesen", "99999999"),
            None,
        )
        .await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(same["meta"]["versionId"], json!("3"));
    // The identity number never changes; a body for another id is refused.
    let mut other_number = original.clone();
    other_number["identifier"][0]["value"] = json!(national_id(412));
    let (status, outcome) = app
        .fhir_put(
            &journal,
            &format!("/Patient/{a}"),
            &other_number.to_string(),
            None,
        )
        .await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{outcome}");
    assert_eq!(outcome["issue"][0]["expression"][0], json!("Patient.identifier"));
    assert!(outcome.to_string().contains("kan ikke endres"), "{outcome}");
    let mut wrong_id = original.clone();
    wrong_id["id"] = json!(w.unit.to_string());
    let (status, _) = app
        .fhir_put(&journal, &format!("/Patient/{a}"), &wrong_id.to_string(), None)
        .await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    // History and vread show the real versions.
    let (_, history) = app.fhir_get(&journal, &format!("/Patient/{a}/_history")).await;
    assert_eq!(history["total"], json!(3), "{history}");
    let (_, first) = app.fhir_get(&journal, &format!("/Patient/{a}/_history/1")).await;
    assert_eq!(first["name"][0]["family"], json!("Testesen"));
    assert_eq!(first["telecom"][0]["value"], json!("40000000"));
    let (_, second) = app.fhir_get(&journal, &format!("/Patient/{a}/_history/2")).await;
    assert_eq!(second["name"][0]["family"], json!("Giftesen"));
    // The staff see who changed it and why.
    let lege = app.session_of("lege").await;
    let (status, html) = app
        .page(&lege, &format!("/pasienter/{a}/personopplysninger"))
        .await;
    assert_eq!(status, StatusCode::OK);
    assert!(
        html.contains("Navneendring etter giftermål") && html.contains("Journalsystem"),
        "{html}"
    );
    // Without a relation that lets them write the identity, or without the scope:
    // refused and audited, nothing changed.
    let (_, _, reader) = app
        .fhir_client(
            "Leser",
            "LAR-enheten Fjordvik",
            Role::LarConsultant,
            "system/Patient.read",
        )
        .await;
    for (who, token) in [
        ("the dispensing place", w.utdeler.token.as_str()),
        ("another LAR unit", w.fremmed_lege.token.as_str()),
        ("a client without the write scope", reader.as_str()),
    ] {
        let before = app.audit_len().await;
        let (status, outcome) = app
            .fhir_put(token, &format!("/Patient/{a}"), &with("Uvedkommende", "1"), None)
            .await;
        assert_eq!(status, StatusCode::FORBIDDEN, "{who}: {outcome}");
        assert!(app.audit_len().await > before, "{who}: audited");
    }
    let (_, now) = app.fhir_get(&journal, &format!("/Patient/{a}")).await;
    assert_eq!(now["meta"]["versionId"], json!("3"));
}

#[tokio::test]
async fn a_lab_corrects_a_drug_test_as_a_new_version_and_the_overview_shows_the_latest() {
    let app = spawn_app().await;
    let w = &app.world;
    let a = app.patient_on_daily_methadone(421).await;
    let other = app.patient_on_daily_methadone(422).await;
    let (_, _, lab) = app
        .fhir_client(
            "Laboratoriet",
            "LAR-enheten Fjordvik",
            Role::LarConsultant,
            "system/Observation.*",
        )
        .await;
    let (status, created) = app
        .fhir_post(
            &lab,
            "/Observation",
            &drug_test(&a, None, "2026-11-20").to_string(),
        )
        .await;
    assert_eq!(status, StatusCode::CREATED, "{created}");
    let id = created["id"].as_str().expect("id").to_string();
    let corrected = |patient: &str, note: Option<&str>| {
        let mut o = drug_test(patient, None, "2026-11-20");
        o["id"] = json!(id);
        // Cannabis was a mix-up: negative.
        o["component"][1]["valueCodeableConcept"]["coding"][0]["code"] = json!("260385009");
        if let Some(note) = note {
            o["note"] = json!([{"text": note}]);
        }
        o.to_string()
    };
    let path = format!("/Observation/{id}");
    let (status, v2) = app
        .fhir_put(
            &lab,
            &path,
            &corrected(&a, Some("Feil prøve analysert")),
            Some("1"),
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{v2}");
    assert_eq!(v2["meta"]["versionId"], json!("2"));
    assert_eq!(v2["status"], json!("corrected"));
    assert!(
        v2["note"][0]["text"]
            .as_str()
            .is_some_and(|t| t.contains("Feil prøve analysert"))
    );
    // Stale, another patient, or no reason: refused, nothing stored.
    for (what, body, version, expected) in [
        (
            "stale",
            corrected(&a, Some("Igjen")),
            Some("1"),
            StatusCode::PRECONDITION_FAILED,
        ),
        (
            "another patient",
            corrected(&other, Some("Feil")),
            None,
            StatusCode::UNPROCESSABLE_ENTITY,
        ),
        (
            "no reason",
            corrected(&a, None),
            None,
            StatusCode::UNPROCESSABLE_ENTITY,
        ),
    ] {
        let (status, outcome) = app.fhir_put(&lab, &path, &body, version).await;
        assert_eq!(status, expected, "{what}: {outcome}");
    }
    let (status, outcome) = app
        .fhir_put(&w.utdeler.token, &path, &corrected(&a, Some("x")), None)
        .await;
    assert_eq!(
        status,
        StatusCode::FORBIDDEN,
        "a dispensing place may not: {outcome}"
    );
    let (_, history) = app.fhir_get(&lab, &format!("{path}/_history")).await;
    assert_eq!(history["total"], json!(2), "{history}");
    let (_, first) = app.fhir_get(&lab, &format!("{path}/_history/1")).await;
    assert_eq!(first["status"], json!("final"));
    assert_eq!(
        first["component"][1]["valueCodeableConcept"]["coding"][0]["code"],
        json!("10828004"),
        "the first version stays as it was"
    );
    let (_, found) = app.fhir_get(&lab, &format!("/Observation?patient={a}")).await;
    assert_eq!(
        found["total"],
        json!(1),
        "one test, at its latest version: {found}"
    );
    assert_eq!(entries(&found)[0]["meta"]["versionId"], json!("2"));
    let (_, others) = app.fhir_get(&lab, &format!("/Observation?patient={other}")).await;
    assert_eq!(others["total"], json!(0));
    // The overview shows the latest, marked as corrected.
    let lege = app.session_of("lege").await;
    let (_, html) = app.page(&lege, &format!("/pasienter/{a}")).await;
    assert!(
        html.contains("Cannabis: negativ") && !html.contains("Cannabis: positiv"),
        "{html}"
    );
    assert!(
        html.contains("Korrigert") && html.contains("Feil prøve analysert"),
        "{html}"
    );
}

#[tokio::test]
async fn staff_correct_name_phone_and_address_on_the_overview_with_a_reason_and_a_stale_form_is_refused() {
    let app = spawn_app().await;
    let a = app.enrol(431, start_day()).await;
    let lege = app.session_of("lege").await;
    let (_, html) = app.page(&lege, &format!("/pasienter/{a}")).await;
    assert!(html.contains("Rett navn, telefon eller adresse"), "{html}");
    assert!(
        html.contains("Alle versjoner av personopplysningene (1)"),
        "{html}"
    );
    let path = format!("/pasienter/{a}/personopplysninger");
    let fields = |version: &'static str, family: &'static str, reason: &'static str| {
        vec![
            ("version", version),
            ("given_name", "Pasient431"),
            ("family_name", family),
            ("phone", "45000000"),
            ("address", "Nygata 3"),
            ("reason", reason),
        ]
    };
    // Without a reason: a Norwegian error, nothing changed.
    let (status, html, _) = app.submit(&lege, &path, &fields("1", "Nyesen", "")).await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(html.contains("Skriv hvorfor opplysningene endres."), "{html}");
    let (status, _, location) = app
        .submit(
            &lege,
            &path,
            &fields("1", "Nyesen", "Feil etternavn ved innskrivning"),
        )
        .await;
    assert_eq!(status, StatusCode::SEE_OTHER);
    assert_eq!(location.as_deref(), Some(format!("/pasienter/{a}").as_str()));
    let (_, html) = app.page(&lege, &format!("/pasienter/{a}")).await;
    assert!(
        html.contains("Pasient431 Nyesen") && html.contains("Nygata 3"),
        "{html}"
    );
    // The overview's form starts from the newest of both versions (read with
    // the patient's record, issue 16).
    assert!(
        html.contains("Alle versjoner av personopplysningene (2)")
            && html.contains(r#"name="version" value="2""#)
            && html.contains(r#"value="Nyesen""#),
        "{html}"
    );
    // A second form loaded at version 1 would overwrite that correction: refused.
    let konsulent = app.session_of("konsulent").await;
    let (status, html, _) = app
        .submit(&konsulent, &path, &fields("1", "Overskrevet", "Retter navnet"))
        .await;
    assert_eq!(status, StatusCode::PRECONDITION_FAILED);
    assert!(html.contains("endret av noen andre"), "{html}");
    let (_, html) = app.page(&lege, &path).await;
    assert!(!html.contains("Overskrevet"), "{html}");
    assert!(
        html.contains("Feil etternavn ved innskrivning") && html.contains("Pasient431 Testesen"),
        "both versions are listed: {html}"
    );
    // The dispensing place may not change who the patient is.
    let utdeler = app.session_of("utdeler").await;
    let (status, _, _) = app
        .submit(&utdeler, &path, &fields("2", "Uvedkommende", "Prøver"))
        .await;
    assert_eq!(status, StatusCode::FORBIDDEN);
}

#[tokio::test]
async fn a_system_reports_an_extension_and_a_discharge_as_encounter_updates_through_the_bundle() {
    let app = spawn_app().await;
    let w = &app.world;
    let a = app.patient_on_daily_methadone(412).await;
    let token = &w.lege.token;
    let mut admission = stay(&a, "institution", "2026-11-20");
    let (status, created) = app.fhir_post(token, "/Encounter", &admission.to_string()).await;
    assert_eq!(status, StatusCode::CREATED, "{created}");
    let id = created["id"].as_str().expect("id").to_string();
    admission["id"] = json!(id);
    let put = |body: &Value, version: &str, reason: Option<&str>| {
        let mut request = app
            .client
            .put(app.url(&format!("/fhir/Encounter/{id}")))
            .bearer_auth(token)
            .header("Content-Type", "application/fhir+json")
            .header("If-Match", format!("W/\"{version}\""))
            .body(body.to_string());
        if let Some(reason) = reason {
            request = request.header(
                "X-Provenance",
                json!({"resourceType": "Provenance", "reason": [{"text": reason}]}).to_string(),
            );
        }
        request.send()
    };

    // An extension: version 2 with the new planned end.
    let mut extended = admission.clone();
    extended["extension"][0]["valueDate"] = json!("2026-12-18");
    let (status, v2) = fhir_read(
        put(&extended, "1", Some("Trenger lengre stabilisering"))
            .await
            .expect("put"),
    )
    .await;
    assert_eq!(status, StatusCode::OK, "{v2}");
    assert_eq!(v2["meta"]["versionId"], json!("2"));
    assert_eq!(v2["extension"][0]["valueDate"], json!("2026-12-18"));
    // From a stale version: refused, nothing changed.
    extended["extension"][0]["valueDate"] = json!("2027-01-08");
    let (status, body) = fhir_read(put(&extended, "1", Some("Enda lengre")).await.expect("put")).await;
    assert_eq!(status, StatusCode::PRECONDITION_FAILED, "{body}");
    // The start of a stay does not change.
    let mut moved = extended.clone();
    moved["period"]["start"] = json!("2026-11-19");
    let (status, _) = fhir_read(put(&moved, "2", Some("Feil dato")).await.expect("put")).await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY);

    // A planned discharge with the bundle open is refused, naming the open items.
    let mut finished = admission.clone();
    finished["status"] = json!("finished");
    finished["period"]["end"] = json!("2026-11-23");
    finished["extension"] = json!([]);
    let (status, body) = fhir_read(put(&finished, "2", None).await.expect("put")).await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{body}");
    assert_eq!(body["resourceType"], json!("OperationOutcome"));
    assert!(body.to_string().contains("Kriseplan"), "{body}");
    let (_, still) = app.fhir_get(token, &format!("/Encounter/{id}")).await;
    assert_eq!(still["status"], json!("in-progress"));

    // The patient left: an unplanned discharge is recorded at once, and alerts.
    finished["hospitalization"] = json!({"dischargeDisposition": {
        "coding": [{"system": "https://samhand.no/fhir/CodeSystem/discharge", "code": "unplanned"}],
        "text": "Forlot avdelingen i natt"
    }});
    let (status, v3) = fhir_read(put(&finished, "2", None).await.expect("put")).await;
    assert_eq!(status, StatusCode::OK, "{v3}");
    assert_eq!(v3["status"], json!("finished"));
    assert_eq!(v3["meta"]["versionId"], json!("3"));
    assert_eq!(v3["period"]["end"], json!("2026-11-23"));
    assert_eq!(
        v3["hospitalization"]["dischargeDisposition"]["coding"][0]["code"],
        json!("unplanned")
    );
    assert_eq!(
        v3["hospitalization"]["dischargeDisposition"]["text"],
        json!("Forlot avdelingen i natt")
    );
    let (status, inbox) = app.get_json(&w.konsulent, "/api/v1/inbox").await;
    assert_eq!(status, StatusCode::OK);
    assert!(inbox.to_string().contains("Brudd i opphold"), "{inbox}");
    // The discharged Encounter validates against the independent R4 models.
    let dir = tempfile::tempdir().expect("dir");
    std::fs::write(dir.path().join("encounter.json"), v3.to_string()).expect("write");
    validate_r4(dir.path()).await;
}
