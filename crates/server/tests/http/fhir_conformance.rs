//! Samhand's own StructureDefinitions, served (without a token) and as a FHIR
//! package, so that every extension URL Samhand writes resolves; the no-basis and
//! LAR profiles its resources claim; addresses with postal code and city; ATC
//! codes in both systems. The definitions and the package's files are valid R4
//! by the independent validator.

use reqwest::StatusCode;
use serde_json::{Value, json};

use crate::fhir::{entries, fhir_read, fhir_world};
use crate::helpers::spawn_app;
use crate::venv;

/// Every extension URL in `value`, however deep.
fn extension_urls(value: &Value, found: &mut Vec<String>) {
    match value {
        Value::Object(object) => {
            if let Some(Value::Array(extensions)) = object.get("extension") {
                for extension in extensions {
                    if let Some(url) = extension["url"].as_str() {
                        found.push(url.to_string());
                    }
                }
            }
            object.values().for_each(|v| extension_urls(v, found));
        }
        Value::Array(values) => values.iter().for_each(|v| extension_urls(v, found)),
        _ => {}
    }
}

async fn validate(dir: &std::path::Path) {
    crate::fhir::validate_r4(dir).await;
}

#[tokio::test]
async fn every_extension_samhand_writes_resolves_to_a_served_structure_definition() {
    let app = spawn_app().await;
    let (a, _) = fhir_world(&app).await;
    let token = &app.world.lege.token;
    let mut urls = Vec::new();
    for path in [
        format!("/EpisodeOfCare?patient={a}"),
        format!("/Encounter?patient={a}"),
        format!("/CarePlan?patient={a}"),
    ] {
        let (_, bundle) = app.fhir_get(token, &path).await;
        extension_urls(&bundle, &mut urls);
    }
    urls.sort();
    urls.dedup();
    let own: Vec<&String> = urls
        .iter()
        .filter(|u| u.starts_with("https://samhand.no/"))
        .collect();
    assert!(own.len() >= 3, "{urls:?}");
    for url in own {
        let response = app
            .client
            .get(app.url(&format!("/fhir/StructureDefinition?url={url}")))
            .send()
            .await
            .expect("get");
        let (status, bundle) = fhir_read(response).await;
        assert_eq!(status, StatusCode::OK);
        assert_eq!(bundle["total"], json!(1), "{url}: {bundle}");
        let id = url.rsplit('/').next().expect("id");
        let response = app
            .client
            .get(app.url(&format!("/fhir/StructureDefinition/{id}")))
            .send()
            .await
            .expect("get");
        let (status, definition) = fhir_read(response).await;
        assert_eq!(status, StatusCode::OK);
        assert_eq!(definition["url"], json!(url));
    }
    let response = app
        .client
        .get(app.url("/fhir/StructureDefinition"))
        .send()
        .await
        .expect("get");
    let (status, all) = fhir_read(response).await;
    assert_eq!(status, StatusCode::OK);
    let dir = tempfile::tempdir().expect("dir");
    for (n, definition) in entries(&all).iter().enumerate() {
        std::fs::write(dir.path().join(format!("{n:03}.json")), definition.to_string()).expect("write");
    }
    std::fs::write(dir.path().join("bundle.json"), all.to_string()).expect("write");
    validate(dir.path()).await;
}

#[tokio::test]
async fn the_fhir_package_holds_every_definition_with_its_manifest_and_index() {
    let app = spawn_app().await;
    let response = app
        .client
        .get(app.url("/fhir/package.tgz"))
        .send()
        .await
        .expect("package");
    assert_eq!(response.status(), StatusCode::OK);
    assert_eq!(
        response
            .headers()
            .get("content-type")
            .and_then(|v| v.to_str().ok()),
        Some("application/gzip")
    );
    let bytes = response.bytes().await.expect("body");
    let dir = tempfile::tempdir().expect("dir");
    let package = dir.path().join("package.tgz");
    std::fs::write(&package, &bytes).expect("write");
    let out = dir.path().join("definitions");
    // Python's own tarfile and gzip read it: the manifest, the index and one file
    // per definition, the definitions copied out for the validator.
    let unpack = r#"
import json, pathlib, sys, tarfile
out = pathlib.Path(sys.argv[2]); out.mkdir()
with tarfile.open(sys.argv[1], "r:gz") as tgz:
    names = tgz.getnames()
    manifest = json.load(tgz.extractfile("package/package.json"))
    index = json.load(tgz.extractfile("package/.index.json"))
    assert manifest["name"] == "no.samhand.fhir" and manifest["fhirVersions"] == ["4.0.1"], manifest
    listed = sorted("package/" + f["filename"] for f in index["files"])
    assert listed == sorted(n for n in names if n.startswith("package/StructureDefinition-")), (listed, names)
    for name in listed:
        (out / name.split("/")[-1]).write_bytes(tgz.extractfile(name).read())
print(len(listed))
"#;
    let (ok, stdout, stderr) = venv::run(
        "fhir",
        "python",
        vec![
            "-c".into(),
            unpack.into(),
            package.display().to_string(),
            out.display().to_string(),
        ],
    )
    .await;
    assert!(ok, "{stdout}\n{stderr}");
    assert_eq!(stdout.trim(), "10", "{stdout}");
    validate(&out).await;
}

#[tokio::test]
async fn resources_claim_their_profiles_addresses_are_split_and_atc_codes_carry_both_systems() {
    let app = spawn_app().await;
    let (a, _) = fhir_world(&app).await;
    let token = &app.world.lege.token;
    let (status, patient) = app.fhir_get(token, &format!("/Patient/{a}")).await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(
        patient["meta"]["profile"],
        json!(["http://hl7.no/fhir/StructureDefinition/no-basis-Patient"])
    );
    let mut changed = patient.clone();
    changed["address"] = json!([{"use": "home", "text": "Nygata 3, 9008 Fjordvik"}]);
    let (status, updated) = app
        .fhir_put(token, &format!("/Patient/{a}"), &changed.to_string(), Some("1"))
        .await;
    assert_eq!(status, StatusCode::OK, "{updated}");
    assert_eq!(
        updated["address"][0],
        json!({"use": "home", "text": "Nygata 3, 9008 Fjordvik", "line": ["Nygata 3"], "postalCode": "9008", "city": "Fjordvik", "country": "NO"})
    );
    let (_, orders) = app
        .fhir_get(token, &format!("/MedicationRequest?patient={a}"))
        .await;
    let codings = &entries(&orders)[0]["medicationCodeableConcept"]["coding"];
    assert_eq!(
        codings[0],
        json!({"system": "http://www.whocc.no/atc", "code": "N07BC02"})
    );
    assert_eq!(
        codings[1],
        json!({"system": "urn:oid:2.16.578.1.12.4.1.1.7180", "code": "N07BC02"})
    );
    for (path, profile) in [
        (format!("/EpisodeOfCare?patient={a}"), "lar-episode"),
        (format!("/Encounter?patient={a}"), "lar-stay"),
        (format!("/Observation?patient={a}"), "lar-drug-test"),
    ] {
        let (_, bundle) = app.fhir_get(token, &path).await;
        assert_eq!(
            entries(&bundle)[0]["meta"]["profile"],
            json!([format!("https://samhand.no/fhir/StructureDefinition/{profile}")]),
            "{path}"
        );
    }
    let dir = tempfile::tempdir().expect("dir");
    std::fs::write(dir.path().join("patient.json"), updated.to_string()).expect("write");
    std::fs::write(dir.path().join("orders.json"), orders.to_string()).expect("write");
    validate(dir.path()).await;
}
