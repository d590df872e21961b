//! Sync-safe FHIR search (issue 21): dates compared as instants with their offsets
//! (a date without time is the Oslo day), `meta.lastUpdated` on every resource and
//! `Last-Modified` on reads, `_count=0`, no empty arrays, content negotiation, the
//! base with a slash, a CapabilityStatement listing only R4's parameters, a real
//! client (fhirpy, tests/fhir/sync_poll.py) polling across a change, and `$export`
//! with `_since`.

use jiff::civil::{Time, date};
use reqwest::StatusCode;
use serde_json::{Value, json};

use crate::fhir::{drug_test, entries, fhir_read, fhir_world, new_patient};
use crate::fhir_export::status_url;
use crate::helpers::{TestApp, spawn_app};
use crate::venv::{self, repo_root};

#[tokio::test]
async fn dates_and_last_updated_compare_instants_with_offsets_and_a_date_is_the_oslo_day() {
    let app = spawn_app().await;
    let (a, _) = fhir_world(&app).await;
    let token = &app.world.konsulent.token;
    let (_, all) = app
        .fhir_get(token, &format!("/MedicationDispense?patient={a}"))
        .await;
    let last = entries(&all)
        .iter()
        .map(|d| d["whenHandedOver"].as_str().expect("handed over").to_string())
        .max()
        .expect("dispenses");
    // The latest was handed over at 09:00 in Oslo, written in UTC; asked for with
    // the Oslo offset it is found (as text it sorted before and was missed).
    let at: jiff::Timestamp = last.parse().expect("instant");
    let oslo = at
        .to_zoned(jiff::tz::TimeZone::fixed(jiff::tz::offset(1)))
        .strftime("%Y-%m-%dT%H:%M:%S%:z")
        .to_string();
    for (query, expected) in [
        (format!("whenhandedover=ge{oslo}"), 1),
        (format!("date=ge{oslo}"), 1),
        (format!("date=gt{oslo}"), 0),
        (format!("date=lt{oslo}"), entries(&all).len() - 1),
        (format!("date={}", &oslo[..10]), 1),
    ] {
        let path = format!("/MedicationDispense?patient={a}&{}", query.replace('+', "%2B"));
        let (status, bundle) = app.fhir_get(token, &path).await;
        assert_eq!(status, StatusCode::OK, "{path}: {bundle}");
        assert_eq!(bundle["total"], json!(expected), "{path}: {bundle}");
    }
    for found in entries(&all) {
        let updated = found["meta"]["lastUpdated"]
            .as_str()
            .expect("lastUpdated")
            .to_string();
        let at: jiff::Timestamp = updated.parse().expect("instant");
        let written = at
            .to_zoned(jiff::tz::TimeZone::fixed(jiff::tz::offset(1)))
            .strftime("%Y-%m-%dT%H:%M:%S%:z")
            .to_string()
            .replace('+', "%2B");
        let path = format!(
            "/MedicationDispense?patient={a}&_lastUpdated=ge{written}&_id={}",
            found["id"].as_str().expect("id")
        );
        let (_, bundle) = app.fhir_get(token, &path).await;
        assert_eq!(bundle["total"], json!(1), "{path}: {bundle}");
    }
}

#[tokio::test]
async fn every_resource_has_last_updated_reads_carry_last_modified_and_count_zero_is_the_total() {
    let app = spawn_app().await;
    let (a, b) = fhir_world(&app).await;
    let token = &app.world.konsulent.token;
    let (status, flags) = app.fhir_get(token, &format!("/Flag?patient={b}")).await;
    assert_eq!(status, StatusCode::OK, "{flags}");
    let flag = &entries(&flags)[0];
    assert!(flag["meta"]["lastUpdated"].is_string(), "{flag}");
    let response = app.fhir_raw(Some(token), &format!("/Patient/{a}")).await;
    let modified = response
        .headers()
        .get("last-modified")
        .and_then(|v| v.to_str().ok())
        .map(str::to_string);
    let etag = response.headers().get("etag").cloned();
    let (status, patient) = fhir_read(response).await;
    assert_eq!(status, StatusCode::OK);
    assert!(etag.is_some());
    let updated: jiff::Timestamp = patient["meta"]["lastUpdated"]
        .as_str()
        .expect("lastUpdated")
        .parse()
        .expect("instant");
    assert_eq!(
        modified.as_deref(),
        Some(updated.strftime("%a, %d %b %Y %H:%M:%S GMT").to_string().as_str())
    );
    let (status, counted) = app
        .fhir_get(token, &format!("/MedicationDispense?patient={a}&_count=0"))
        .await;
    assert_eq!(status, StatusCode::OK, "{counted}");
    assert!(counted["total"].as_u64().expect("total") > 0, "{counted}");
    assert!(counted.get("entry").is_none(), "{counted}");
    assert!(
        !counted["link"]
            .as_array()
            .expect("links")
            .iter()
            .any(|l| l["relation"] == "next")
    );
    let (_, empty) = app
        .fhir_get(token, &format!("/MedicationDispense?patient={a}&date=1950"))
        .await;
    assert_eq!(empty["total"], json!(0));
    assert!(empty.get("entry").is_none(), "no empty arrays: {empty}");
}

#[tokio::test]
async fn xml_is_not_acceptable_the_base_with_a_slash_answers_alike_and_only_r4_parameters_are_listed() {
    let app = spawn_app().await;
    let (a, _) = fhir_world(&app).await;
    let token = &app.world.konsulent.token;
    let get = |path: &str, accept: &str| {
        app.client
            .get(app.url(&format!("/fhir{path}")))
            .bearer_auth(token)
            .header("Accept", accept.to_string())
            .send()
    };
    for (path, accept) in [
        (format!("/Patient/{a}"), "application/fhir+xml"),
        (format!("/Patient/{a}"), "application/xml, text/xml"),
        (format!("/Patient/{a}?_format=xml"), "*/*"),
        ("/metadata".to_string(), "application/fhir+xml"),
    ] {
        let (status, outcome) = fhir_read(get(&path, accept).await.expect("get")).await;
        assert_eq!(status, StatusCode::NOT_ACCEPTABLE, "{path} {accept}: {outcome}");
        assert_eq!(outcome["resourceType"], json!("OperationOutcome"));
    }
    for accept in [
        "application/fhir+json",
        "application/json",
        "*/*",
        "application/fhir+xml, application/fhir+json;q=0.9",
    ] {
        let (status, _) = fhir_read(get(&format!("/Patient/{a}"), accept).await.expect("get")).await;
        assert_eq!(status, StatusCode::OK, "{accept}");
    }
    let bare = app.fhir_raw(Some(token), "").await;
    let slash = app.fhir_raw(Some(token), "/").await;
    assert_eq!(bare.status(), slash.status());
    let (bare, slash) = (fhir_read(bare).await.1, fhir_read(slash).await.1);
    assert_eq!(bare["resourceType"], slash["resourceType"], "{bare} {slash}");
    let (_, metadata) = fhir_read(app.fhir_raw(None, "/metadata").await).await;
    let names = |kind: &str| -> Vec<String> {
        metadata["rest"][0]["resource"]
            .as_array()
            .expect("resources")
            .iter()
            .find(|r| r["type"] == json!(kind))
            .map(|r| r["searchParam"].as_array().cloned().unwrap_or_default())
            .unwrap_or_default()
            .iter()
            .map(|p: &Value| p["name"].as_str().unwrap_or("").to_string())
            .collect()
    };
    assert!(
        !names("AuditEvent").contains(&"status".to_string()),
        "{:?}",
        names("AuditEvent")
    );
    assert!(!names("Consent").contains(&"subject".to_string()));
    assert!(names("MedicationDispense").contains(&"whenhandedover".to_string()));
    assert!(!names("MedicationDispense").contains(&"date".to_string()));
}

/// One poll by `sync_poll.py` (fhirpy): per type, (id, versionId) of what changed
/// at or after `since`.
async fn poll(app: &TestApp, patient: &str, since: &str, kinds: &[&str]) -> Value {
    let mut args = vec![
        app.url("/fhir"),
        app.world.konsulent.token.clone(),
        patient.to_string(),
        since.to_string(),
    ];
    args.extend(kinds.iter().map(|k| k.to_string()));
    let script = repo_root().join("tests/fhir/sync_poll.py").display().to_string();
    let (ok, stdout, stderr) = venv::run("fhir", "python", [vec![script], args].concat()).await;
    assert!(ok, "the fhirpy poll failed:\n{stdout}\n{stderr}");
    serde_json::from_str(stdout.lines().last().expect("a result line")).expect("json")
}

#[tokio::test]
async fn a_client_polling_by_last_updated_with_an_oslo_offset_misses_no_change_and_since_exports_only_the_changed()
 {
    let app = spawn_app().await;
    let (a, _) = fhir_world(&app).await;
    let kinds = [
        "Observation",
        "MedicationDispense",
        "Encounter",
        "MedicationRequest",
    ];
    // The last poll was at 14:00 in Oslo (13:00Z), written with its offset.
    app.set_oslo_time(date(2026, 11, 28), Time::constant(14, 0, 0, 0));
    let since = "2026-11-28T14:00:00+01:00";
    let before = poll(&app, &a, since, &kinds).await;
    for kind in kinds {
        assert_eq!(
            before[kind],
            json!([]),
            "nothing changed after the poll: {before}"
        );
    }
    // A change a few minutes later (13:56Z would be missed comparing text with
    // 14:00+01:00).
    app.set_oslo_time(date(2026, 11, 28), Time::constant(14, 56, 0, 0));
    let (status, body) = app
        .fhir_post(
            &app.world.lege.token,
            "/Observation",
            &drug_test(&a, None, "2026-11-27").to_string(),
        )
        .await;
    assert_eq!(status, StatusCode::CREATED, "{body}");
    let after = poll(&app, &a, since, &kinds).await;
    assert_eq!(after["Observation"].as_array().map(Vec::len), Some(1), "{after}");
    assert_eq!(after["Observation"][0][0], body["id"], "{after}");
    for kind in ["MedicationDispense", "Encounter", "MedicationRequest"] {
        assert_eq!(after[kind], json!([]), "{after}");
    }
    // Bulk export with the same `_since`: only the change, and the query kept.
    let w = &app.world;
    let response = app
        .kick_off(
            &w.konsulent,
            "?_type=Observation,MedicationDispense&_since=2026-11-28T14:00:00%2B01:00",
        )
        .await;
    assert_eq!(response.status(), StatusCode::ACCEPTED);
    let manifest = app.manifest(&w.konsulent, &status_url(&response)).await;
    let request = manifest["request"].as_str().expect("request");
    assert!(
        request.ends_with(
            "/fhir/$export?_type=Observation,MedicationDispense&_since=2026-11-28T14:00:00%2B01:00"
        ),
        "{manifest}"
    );
    let output = manifest["output"].as_array().expect("output");
    assert_eq!(output.len(), 1, "only Observation changed: {manifest}");
    assert_eq!(output[0]["type"], json!("Observation"));
    assert_eq!(output[0]["count"], json!(1), "{manifest}");
    let response = app.kick_off(&w.konsulent, "?_since=yesterday").await;
    assert_eq!(response.status(), StatusCode::BAD_REQUEST);
}

#[tokio::test]
async fn paging_through_the_audit_log_is_stable_though_each_page_is_itself_audited() {
    let app = spawn_app().await;
    let (a, _) = fhir_world(&app).await;
    let token = &app.world.konsulent.token;
    let mut path = format!("/AuditEvent?patient={a}&_count=3");
    let (mut seen, mut totals) = (Vec::new(), Vec::new());
    loop {
        let (status, bundle) = app.fhir_get(token, &path).await;
        assert_eq!(status, StatusCode::OK, "{path}: {bundle}");
        totals.push(bundle["total"].clone());
        seen.extend(
            entries(&bundle)
                .iter()
                .map(|e| e["id"].as_str().expect("id").to_string()),
        );
        let Some(next) = bundle["link"]
            .as_array()
            .expect("links")
            .iter()
            .find(|l| l["relation"] == "next")
        else {
            break;
        };
        let url = next["url"].as_str().expect("url");
        path = url[url.find("/AuditEvent").expect("path")..].to_string();
    }
    assert!(totals.len() > 2, "several pages: {totals:?}");
    assert!(
        totals.iter().all(|t| *t == totals[0]),
        "the total holds: {totals:?}"
    );
    let mut unique = seen.clone();
    unique.sort();
    unique.dedup();
    assert_eq!(unique.len(), seen.len(), "no entry twice: {seen:?}");
    assert_eq!(json!(seen.len()), totals[0]);
    // Newest first, by sequence number.
    let seqs: Vec<i64> = seen.iter().map(|s| s.parse().expect("seq")).collect();
    assert!(seqs.windows(2).all(|w| w[0] > w[1]), "{seqs:?}");
    // A new search sees the reads the paging recorded.
    let (_, again) = app
        .fhir_get(token, &format!("/AuditEvent?patient={a}&_count=3"))
        .await;
    assert!(again["total"].as_u64() > totals[0].as_u64(), "{again}");
}

#[tokio::test]
async fn a_number_born_in_the_future_is_refused_and_one_written_with_a_hyphen_is_registered_compact() {
    let app = spawn_app().await;
    let token = &app.world.konsulent.token;
    // Synthetic: born 15 January 2027, after the test's today.
    let (status, outcome) = app
        .fhir_post(
            token,
            "/Patient",
            &new_patient(&app, "15812750019", "Framtid").to_string(),
        )
        .await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{outcome}");
    assert!(outcome.to_string().contains("fram i tid"), "{outcome}");
    let (_, none) = app.fhir_get(token, "/Patient?identifier=15812750019").await;
    assert_eq!(none["total"], json!(0), "nothing was stored: {none}");
    // Synthetic: born 15 January 1870, written in two groups.
    let (status, created) = app
        .fhir_post(
            token,
            "/Patient",
            &new_patient(&app, "158170-50023", "Bindestrek").to_string(),
        )
        .await;
    assert_eq!(status, StatusCode::CREATED, "{created}");
    assert_eq!(
        created["identifier"][0]["value"],
        json!("15817050023"),
        "{created}"
    );
    let (_, found) = app.fhir_get(token, "/Patient?identifier=158170-50023").await;
    assert_eq!(found["total"], json!(1), "{found}");
}

#[tokio::test]
async fn supervised_intake_is_a_category_not_a_route_and_take_home_dispenses_are_daily_fills_or_refills() {
    let app = spawn_app().await;
    let (a, _) = fhir_world(&app).await;
    let token = &app.world.konsulent.token;
    let (_, given) = app
        .fhir_get(token, &format!("/MedicationAdministration?patient={a}"))
        .await;
    for resource in entries(&given) {
        let route = &resource["dosage"]["route"]["coding"][0];
        assert_eq!(route["system"], json!("http://snomed.info/sct"), "{resource}");
        assert_eq!(
            route["code"],
            json!("26643006"),
            "methadone is taken by mouth: {resource}"
        );
        assert_eq!(
            resource["category"]["coding"][0]["code"],
            json!("supervised"),
            "{resource}"
        );
    }
    let (_, handed) = app
        .fhir_get(token, &format!("/MedicationDispense?patient={a}"))
        .await;
    assert!(!entries(&handed).is_empty());
    for resource in entries(&handed) {
        let days = resource["daysSupply"]["value"].as_u64().expect("days");
        let code = &resource["type"]["coding"][0]["code"];
        assert_eq!(*code, json!(if days == 1 { "DF" } else { "RF" }), "{resource}");
        let order = &resource["authorizingPrescription"][0]["reference"];
        assert!(
            order
                .as_str()
                .is_some_and(|r| r.starts_with("MedicationRequest/")),
            "{resource}"
        );
    }
}
