//! The directory over FHIR: HPR numbers, organisation numbers and HER-ids set by
//! the administrator (API and page), served as Practitioner, PractitionerRole and
//! Organization (read and search by identifier and _id, behind the token's scopes,
//! every read in the audit log), and every reference to a user or an
//! organisation carrying both a literal reference and the national identifier;
//! all valid R4 by the independent validator.

use jiff::civil::Time;
use reqwest::StatusCode;
use samhand_domain::organisation::Role;
use serde_json::{Value, json};

use crate::fhir::{entries, fhir_read, fhir_world};
use crate::helpers::{Staff, TestApp, read, spawn_app, start_day};

pub const HPR: &str = "urn:oid:2.16.578.1.12.4.1.4.4";
pub const ORG_NUMBER: &str = "urn:oid:2.16.578.1.12.4.1.4.101";
pub const HER_ID: &str = "urn:oid:2.16.578.1.12.4.1.2";
/// Synthetic numbers: organisation numbers beginning with 1 are not issued by
/// Enhetsregisteret (real ones begin with 8 or 9), and HPR numbers and HER-ids
/// this long are not in use.
const UNIT_ORG_NUMBER: &str = "100000016";
const CENTRE_ORG_NUMBER: &str = "100000024";
const DOCTOR_HPR: &str = "812345670";

impl TestApp {
    pub async fn put_admin(&self, path: &str, body: &Value) -> (StatusCode, Value) {
        self.put_as(&self.world.admin, path, body).await
    }

    pub async fn put_as(&self, staff: &Staff, path: &str, body: &Value) -> (StatusCode, Value) {
        let response = self
            .client
            .put(self.url(&format!("/api/v1{path}")))
            .bearer_auth(&staff.token)
            .json(body)
            .send()
            .await
            .expect("put");
        read(response).await
    }

    /// The LAR unit and the centre with organisation numbers and HER-ids, and the
    /// doctor with an HPR number, set by the administrator through the API.
    pub async fn register_identifiers(&self) {
        let w = &self.world;
        for (org, number, her) in [
            (w.unit, UNIT_ORG_NUMBER, "900000001"),
            (w.centre, CENTRE_ORG_NUMBER, "900000002"),
        ] {
            let (status, body) = self
                .put_admin(
                    &format!("/admin/organisations/{org}/registration"),
                    &json!({"org_number": number, "her_id": her, "address": "Storgata 1, 9000 Fjordvik", "phone": "77 00 00 00"}),
                )
                .await;
            assert_eq!(status, StatusCode::OK, "{body}");
            assert_eq!(body["org_number"], json!(number));
        }
        let (status, body) = self
            .put_admin(
                &format!("/admin/users/{}/hpr-number", w.lege.id),
                &json!({"hpr_number": DOCTOR_HPR}),
            )
            .await;
        assert_eq!(status, StatusCode::OK, "{body}");
        assert_eq!(body["hpr_number"], json!(DOCTOR_HPR));
    }
}

#[tokio::test]
async fn the_administrator_sets_register_numbers_which_are_checked_and_never_shared() {
    let app = spawn_app().await;
    let w = &app.world;
    app.register_identifiers().await;
    let (status, problem) = app
        .put_admin(
            &format!("/admin/users/{}/hpr-number", w.konsulent.id),
            &json!({"hpr_number": "81234A"}),
        )
        .await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{problem}");
    let (status, problem) = app
        .put_admin(
            &format!("/admin/users/{}/hpr-number", w.konsulent.id),
            &json!({"hpr_number": DOCTOR_HPR}),
        )
        .await;
    assert_eq!(
        status,
        StatusCode::CONFLICT,
        "one HPR number, one person: {problem}"
    );
    assert!(
        problem["detail"].as_str().unwrap_or("").contains("HPR"),
        "{problem}"
    );
    let (status, problem) = app
        .put_admin(
            &format!("/admin/organisations/{}/registration", w.pharmacy),
            &json!({"org_number": "100000017"}),
        )
        .await;
    assert_eq!(
        status,
        StatusCode::UNPROCESSABLE_ENTITY,
        "a wrong check digit: {problem}"
    );
    let (status, problem) = app
        .put_admin(
            &format!("/admin/organisations/{}/registration", w.pharmacy),
            &json!({"her_id": "900000001"}),
        )
        .await;
    assert_eq!(status, StatusCode::CONFLICT, "one HER-id, one party: {problem}");
    assert!(
        problem["detail"].as_str().unwrap_or("").contains("HER-id"),
        "{problem}"
    );
    let (status, problem) = app
        .put_as(
            &w.lege,
            &format!("/admin/users/{}/hpr-number", w.konsulent.id),
            &json!({"hpr_number": "812345671"}),
        )
        .await;
    assert_eq!(status, StatusCode::FORBIDDEN, "only an administrator: {problem}");
    // Removing a number frees it.
    let (status, body) = app
        .put_admin(
            &format!("/admin/users/{}/hpr-number", w.lege.id),
            &json!({"hpr_number": ""}),
        )
        .await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(body["hpr_number"], Value::Null);
}

#[tokio::test]
async fn practitioners_roles_and_organisations_are_found_by_national_identifier_and_read_with_audit() {
    let app = spawn_app().await;
    let w = &app.world;
    app.register_identifiers().await;
    let token = &w.lege.token;
    let before = app.audit_len().await;
    let (status, bundle) = app
        .fhir_get(token, &format!("/Practitioner?identifier={HPR}|{DOCTOR_HPR}"))
        .await;
    assert_eq!(status, StatusCode::OK, "{bundle}");
    let found = entries(&bundle);
    assert_eq!(found.len(), 1, "{bundle}");
    let doctor = &found[0];
    assert_eq!(doctor["id"], json!(w.lege.id.to_string()));
    assert_eq!(
        doctor["identifier"][0],
        json!({"use": "official", "system": HPR, "value": DOCTOR_HPR})
    );
    assert_eq!(
        doctor["meta"]["profile"][0],
        json!("http://hl7.no/fhir/StructureDefinition/no-basis-Practitioner")
    );
    assert!(app.audit_len().await > before, "the search is in the audit log");
    let (status, read_back) = app.fhir_get(token, &format!("/Practitioner/{}", w.lege.id)).await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(&read_back, doctor);
    let (status, roles) = app
        .fhir_get(
            token,
            &format!("/PractitionerRole?practitioner=Practitioner/{}", w.lege.id),
        )
        .await;
    assert_eq!(status, StatusCode::OK);
    let role = &entries(&roles)[0];
    assert_eq!(role["practitioner"]["identifier"]["value"], json!(DOCTOR_HPR));
    assert_eq!(
        role["organization"]["reference"],
        json!(format!("Organization/{}", w.unit))
    );
    assert_eq!(
        role["organization"]["identifier"],
        json!({"system": ORG_NUMBER, "value": UNIT_ORG_NUMBER})
    );
    let (status, role_read) = app
        .fhir_get(
            token,
            &format!("/PractitionerRole/{}", role["id"].as_str().expect("id")),
        )
        .await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(&role_read, role);
    for query in [
        format!("identifier={ORG_NUMBER}|{CENTRE_ORG_NUMBER}"),
        format!("identifier={HER_ID}|900000002"),
        format!("_id={}", w.centre),
    ] {
        let (status, bundle) = app.fhir_get(token, &format!("/Organization?{query}")).await;
        assert_eq!(status, StatusCode::OK);
        let found = entries(&bundle);
        assert_eq!(found.len(), 1, "{query}: {bundle}");
        assert_eq!(found[0]["id"], json!(w.centre.to_string()));
        assert_eq!(found[0]["address"][0]["postalCode"], json!("9000"));
        assert_eq!(found[0]["address"][0]["city"], json!("Fjordvik"));
    }
    let (status, nobody) = app
        .fhir_get(token, &format!("/Organization?identifier={ORG_NUMBER}|100000040"))
        .await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(nobody["total"], json!(0));
    assert!(nobody.get("entry").is_none());
    let (status, _) = app
        .fhir_get(token, "/Organization/00000000-0000-7000-8000-000000000000")
        .await;
    assert_eq!(status, StatusCode::NOT_FOUND);
    // A token without the type's scope is refused, and the refusal is audited.
    let (_, _, patients_only) = app
        .fhir_client(
            "Journal",
            "LAR-enheten Fjordvik",
            Role::Prescriber,
            "system/Patient.read",
        )
        .await;
    let before = app.audit_len().await;
    let (status, _) = app.fhir_get(&patients_only, "/Practitioner").await;
    assert_eq!(status, StatusCode::FORBIDDEN);
    assert_eq!(app.audit_len().await, before + 1);
    let (_, _, directory) = app
        .fhir_client(
            "Katalog",
            "LAR-enheten Fjordvik",
            Role::Prescriber,
            "system/Practitioner.read system/Organization.read",
        )
        .await;
    let (status, _) = app.fhir_get(&directory, "/Organization").await;
    assert_eq!(status, StatusCode::OK);
    let (status, _) = app.fhir_get(&directory, "/PractitionerRole").await;
    assert_eq!(status, StatusCode::FORBIDDEN);
}

#[tokio::test]
async fn references_to_users_and_organisations_carry_the_literal_reference_and_the_national_identifier() {
    let app = spawn_app().await;
    app.register_identifiers().await;
    let (a, _) = fhir_world(&app).await;
    let w = &app.world;
    let token = &w.lege.token;
    let (_, orders) = app
        .fhir_get(token, &format!("/MedicationRequest?patient={a}"))
        .await;
    let requester = &entries(&orders)[0]["requester"];
    assert_eq!(
        requester["reference"],
        json!(format!("Practitioner/{}", w.lege.id))
    );
    assert_eq!(
        requester["identifier"],
        json!({"system": HPR, "value": DOCTOR_HPR})
    );
    let (_, episodes) = app.fhir_get(token, &format!("/EpisodeOfCare?patient={a}")).await;
    let managing = &entries(&episodes)[0]["managingOrganization"];
    assert_eq!(managing["reference"], json!(format!("Organization/{}", w.unit)));
    assert_eq!(
        managing["identifier"],
        json!({"system": ORG_NUMBER, "value": UNIT_ORG_NUMBER})
    );
    // A user without an HPR number is matched by Samhand's id, still with a literal
    // reference that resolves.
    let (_, dispenses) = app
        .fhir_get(token, &format!("/MedicationDispense?patient={a}"))
        .await;
    let performer = &entries(&dispenses)[0]["performer"][0]["actor"];
    let reference = performer["reference"].as_str().expect("a literal reference");
    assert_eq!(
        performer["identifier"]["system"],
        json!("https://samhand.no/fhir/user")
    );
    let (status, practitioner) = app.fhir_get(token, &format!("/{reference}")).await;
    assert_eq!(status, StatusCode::OK, "{practitioner}");
    assert_eq!(practitioner["resourceType"], json!("Practitioner"));
}

#[tokio::test]
async fn the_directory_validates_against_the_independent_r4_models() {
    let app = spawn_app().await;
    app.register_identifiers().await;
    let (a, _) = fhir_world(&app).await;
    let token = &app.world.lege.token;
    let dir = tempfile::tempdir().expect("dir");
    let mut files = 0;
    let mut save = |value: &Value| {
        files += 1;
        std::fs::write(dir.path().join(format!("{files:03}.json")), value.to_string()).expect("write");
    };
    let response = app
        .client
        .get(app.url("/fhir/metadata"))
        .send()
        .await
        .expect("metadata");
    let statement = fhir_read(response).await.1;
    for kind in [
        "Practitioner",
        "PractitionerRole",
        "Organization",
        "StructureDefinition",
    ] {
        let resource = statement["rest"][0]["resource"]
            .as_array()
            .expect("resources")
            .iter()
            .find(|r| r["type"] == json!(kind))
            .unwrap_or_else(|| panic!("{kind} is not in the CapabilityStatement"));
        let params: Vec<&str> = resource["searchParam"]
            .as_array()
            .expect("params")
            .iter()
            .filter_map(|p| p["name"].as_str())
            .collect();
        assert!(params.contains(&"_id"), "{kind}: {params:?}");
    }
    save(&statement);
    for path in [
        "/Practitioner".to_string(),
        "/PractitionerRole".to_string(),
        "/Organization".to_string(),
        format!("/MedicationRequest?patient={a}"),
        format!("/MedicationDispense?patient={a}"),
        format!("/EpisodeOfCare?patient={a}"),
        format!("/CareTeam?patient={a}"),
        format!("/CarePlan?patient={a}"),
        format!("/Encounter?patient={a}"),
        format!("/AuditEvent?patient={a}&_count=5"),
    ] {
        let (status, bundle) = app.fhir_get(token, &path).await;
        assert_eq!(status, StatusCode::OK, "{path}: {bundle}");
        assert!(!entries(&bundle).is_empty(), "{path}: {bundle}");
        save(&bundle);
        for resource in entries(&bundle) {
            save(&resource);
        }
    }
    crate::fhir::validate_r4(dir.path()).await;
}

#[tokio::test]
async fn the_administrator_sets_an_hpr_number_on_the_users_page_and_a_wrong_one_is_told_in_norwegian() {
    let app = spawn_app().await;
    let w = &app.world;
    let admin = app.session_of("admin").await;
    let path = format!("/admin/brukere/{}/hpr", w.konsulent.id);
    let (status, html, _) = app.submit(&admin, &path, &[("hpr_number", "12 ab")]).await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(html.contains("HPR-nummeret er et tall"), "{html}");
    let konsulent = format!("/Practitioner/{}", w.konsulent.id);
    let read_konsulent = || app.fhir_get(&w.lege.token, &konsulent);
    let (_, before) = read_konsulent().await;
    app.set_oslo_time(start_day(), Time::constant(9, 30, 0, 0));
    let (status, html, _) = app.submit(&admin, &path, &[("hpr_number", "812345679")]).await;
    assert_eq!(status, StatusCode::OK);
    assert!(
        html.contains("HPR-nummeret er lagret") && html.contains("812345679"),
        "{html}"
    );
    // A system syncing the directory by _lastUpdated learns of the new number.
    let (_, after) = read_konsulent().await;
    assert_ne!(after["meta"]["lastUpdated"], before["meta"]["lastUpdated"]);
    assert_eq!(after["meta"]["lastUpdated"], json!("2026-11-23T08:30:00Z"));
    let (_, changed) = app
        .fhir_get(
            &w.lege.token,
            "/Practitioner?_lastUpdated=ge2026-11-23T09:30:00%2B01:00",
        )
        .await;
    assert_eq!(changed["total"], json!(1), "{changed}");
    let (status, _) = app
        .fhir_get(
            &w.lege.token,
            &format!("/Practitioner?identifier={HPR}|812345679&_id={}", w.konsulent.id),
        )
        .await;
    assert_eq!(status, StatusCode::OK);
    let lege = app.session_of("lege").await;
    let (status, _, _) = app.submit(&lege, &path, &[("hpr_number", "812345670")]).await;
    assert_eq!(status, StatusCode::FORBIDDEN);
}

#[tokio::test]
async fn a_her_id_another_organisation_has_is_refused_on_the_organisations_page_at_the_her_id() {
    let app = spawn_app().await;
    app.register_identifiers().await;
    let admin = app.session_of("admin").await;
    let path = format!("/admin/organisasjoner/{}", app.world.pharmacy);
    let (status, html, _) = app
        .submit(
            &admin,
            &path,
            &[("form", "registration"), ("her_id", "900000001")],
        )
        .await;
    assert!(status.is_client_error(), "{status}");
    assert!(
        html.contains("Det finnes allerede en organisasjon med denne HER-id-en."),
        "{html}"
    );
    let (status, html, _) = app
        .submit(
            &admin,
            &path,
            &[
                ("form", "registration"),
                ("her_id", "900000003"),
                ("address", "Torget 2, 9008 Fjordvik"),
            ],
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{html}");
    let (_, found) = app
        .fhir_get(
            &app.world.lege.token,
            &format!("/Organization?identifier={HER_ID}|900000003"),
        )
        .await;
    assert_eq!(entries(&found)[0]["address"][0]["postalCode"], json!("9008"));
}

#[tokio::test]
async fn a_bulk_export_carries_the_directory_its_references_lead_to() {
    let app = spawn_app().await;
    app.register_identifiers().await;
    let token = &app.world.lege.token;
    let response = app
        .client
        .get(app.url("/fhir/$export?_type=Practitioner,Organization,PractitionerRole"))
        .bearer_auth(token)
        .header("Prefer", "respond-async")
        .send()
        .await
        .expect("kick-off");
    assert_eq!(response.status(), StatusCode::ACCEPTED);
    let status_url = response
        .headers()
        .get("content-location")
        .and_then(|v| v.to_str().ok())
        .expect("status url")
        .to_string();
    let mut manifest = Value::Null;
    for _ in 0..100 {
        let answer = app
            .client
            .get(&status_url)
            .bearer_auth(token)
            .send()
            .await
            .expect("status");
        if answer.status() == StatusCode::OK {
            manifest = answer.json().await.expect("manifest");
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
    }
    let types: Vec<&str> = manifest["output"]
        .as_array()
        .expect("output")
        .iter()
        .filter_map(|o| o["type"].as_str())
        .collect();
    assert_eq!(
        types,
        ["Practitioner", "Organization", "PractitionerRole"],
        "{manifest}"
    );
    let url = manifest["output"][0]["url"].as_str().expect("url");
    let lines = app
        .client
        .get(url)
        .bearer_auth(token)
        .send()
        .await
        .expect("file")
        .text()
        .await
        .expect("ndjson");
    assert!(lines.lines().any(|l| l.contains(DOCTOR_HPR)), "{lines}");
}
