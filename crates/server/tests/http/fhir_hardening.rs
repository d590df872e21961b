//! The FHIR API's hardening (issue 15): a search audits what it returned, searches
//! are bounded and filter their dates in the database, a search of the
//! dispensings beyond the server's limit is refused (H103), strict handling of unknown
//! parameters, the identifier search, and FHIR JSON for writes. Bulk export is
//! `fhir_export`.

use reqwest::StatusCode;
use serde_json::{Value, json};

use crate::fhir::{FNR, drug_test, entries, fhir_read, fhir_world};
use crate::helpers::{TestApp, app_listener, national_id, spawn_app, spawn_app_on};

impl TestApp {
    /// The patients the audit log names in the entries after `seq`: (patient, allowed).
    async fn audit_after(&self, seq: i64) -> Vec<(Option<String>, bool)> {
        let mut conn = self.state.store.read().await.expect("conn");
        let mut entries = samhand_store::audit::latest(&mut conn, 10_000)
            .await
            .expect("audit");
        entries.retain(|e| e.seq > seq);
        entries.into_iter().map(|e| (e.patient_id, e.allowed)).collect()
    }
}

#[tokio::test]
async fn a_fhir_search_audits_the_patients_it_returned_and_a_search_allowed_nothing_is_one_denial() {
    let app = spawn_app().await;
    let (a, b) = fhir_world(&app).await;
    let w = &app.world;
    let before = app.audit_len().await;
    let (a_before, b_before) = (app.audit_counts(&a).await, app.audit_counts(&b).await);
    let (status, bundle) = app.fhir_get(&w.konsulent.token, "/Patient?_count=1").await;
    assert_eq!(status, StatusCode::OK, "{bundle}");
    assert!(
        bundle["total"].as_u64() >= Some(2),
        "both are candidates: {bundle}"
    );
    let returned = entries(&bundle)[0]["id"].as_str().expect("id").to_string();
    let written = app.audit_after(before).await;
    assert_eq!(
        written,
        vec![(Some(returned.clone()), true)],
        "one read, of the patient returned"
    );
    let (other, other_before) = if returned == a {
        (&b, b_before)
    } else {
        (&a, a_before)
    };
    assert_eq!(
        app.audit_counts(other).await,
        other_before,
        "the patient not returned shows no read"
    );
    // A page of MedicationAdministration of two patients names each once.
    let before = app.audit_len().await;
    let (_, bundle) = app
        .fhir_get(&w.konsulent.token, "/MedicationAdministration?_count=2")
        .await;
    let on_page: std::collections::BTreeSet<String> = entries(&bundle)
        .iter()
        .filter_map(|r| {
            r["subject"]["reference"]
                .as_str()
                .map(|s| s.trim_start_matches("Patient/").to_string())
        })
        .collect();
    let audited: std::collections::BTreeSet<String> = app
        .audit_after(before)
        .await
        .into_iter()
        .filter_map(|(p, _)| p)
        .collect();
    assert_eq!(audited, on_page, "{bundle}");
    // The administrator may see no one: one denied entry, however many patients there are.
    for path in ["/Patient", "/MedicationRequest?_count=1", "/Consent"] {
        let before = app.audit_len().await;
        let (status, bundle) = app.fhir_get(&w.admin.token, path).await;
        assert_eq!(status, StatusCode::OK, "{bundle}");
        assert_eq!(bundle["total"], json!(0), "{bundle}");
        let written = app.audit_after(before).await;
        assert_eq!(written.len(), 1, "{path}: {written:?}");
        assert!(!written[0].1, "{path}: a denial");
    }
}

#[tokio::test]
async fn searches_are_bounded_and_their_date_range_is_applied_in_the_database() {
    let app = spawn_app().await;
    let (a, _) = fhir_world(&app).await;
    let token = &app.world.konsulent.token;
    let (status, bundle) = app.fhir_get(token, "/Patient?_count=100000").await;
    assert_eq!(status, StatusCode::OK, "{bundle}");
    let link = bundle["link"][0]["url"].as_str().expect("self link");
    assert!(
        link.contains("_count=100&"),
        "the page size is capped at 100: {link}"
    );
    for bad in [
        "ge1800-01-01",
        "le2300",
        "2026-13-45",
        "ge2026-11-23T08:00",
        "i-går",
    ] {
        let (status, outcome) = app
            .fhir_get(
                token,
                &format!("/MedicationAdministration?patient={a}&date={bad}"),
            )
            .await;
        assert_eq!(status, StatusCode::BAD_REQUEST, "{bad}: {outcome}");
        let (status, _) = app.fhir_get(token, &format!("/Patient?_lastUpdated={bad}")).await;
        assert_eq!(status, StatusCode::BAD_REQUEST, "{bad}");
    }
    // Doses were recorded Monday 23 to Friday 27 November at 09:00 (08:00 UTC).
    let dates = |bundle: &Value| -> Vec<String> {
        entries(bundle)
            .iter()
            .map(|r| r["effectiveDateTime"].as_str().expect("date")[..10].to_string())
            .collect()
    };
    let (_, all) = app
        .fhir_get(token, &format!("/MedicationAdministration?patient={a}"))
        .await;
    assert!(dates(&all).len() >= 5, "{all}");
    let (_, one_day) = app
        .fhir_get(
            token,
            &format!("/MedicationAdministration?patient={a}&date=2026-11-24"),
        )
        .await;
    assert!(!dates(&one_day).is_empty(), "{one_day}");
    assert!(dates(&one_day).iter().all(|d| d == "2026-11-24"), "{one_day}");
    let (_, range) = app
        .fhir_get(
            token,
            &format!("/MedicationAdministration?patient={a}&date=ge2026-11-25&date=lt2026-11-27T00:00:00Z"),
        )
        .await;
    let mut days = dates(&range);
    days.dedup();
    assert_eq!(days, vec!["2026-11-26", "2026-11-25"], "{range}");
    let (_, tests) = app
        .fhir_get(token, &format!("/Observation?patient={a}&date=2026-11"))
        .await;
    assert_eq!(tests["total"], json!(1), "sampled 20 November: {tests}");
    let (_, none) = app
        .fhir_get(token, &format!("/Observation?patient={a}&date=ge2026-11-21"))
        .await;
    assert_eq!(none["total"], json!(0), "{none}");
}

/// H103: a search of the dispensings or the drug tests that matches more than the server's limit is
/// refused before anything is loaded (400, `too-costly`, in Norwegian, saying how to
/// narrow it) and records nothing; narrowed by period it is answered.
/// Without the limit a prescriber's search over 10,000 patients read every dose
/// they ever had into memory and the server ran out of it.
#[tokio::test]
async fn a_search_of_the_dispensings_beyond_the_limit_is_refused_before_anything_is_loaded() {
    let overrides = [("SAMHAND_FHIR_SEARCH_MAX_MATCHES", "4".to_string())];
    let app = spawn_app_on(app_listener().await, &overrides).await;
    let (a, _) = fhir_world(&app).await;
    let token = &app.world.konsulent.token;
    let before = app.audit_len().await;
    for kind in ["MedicationDispense", "MedicationAdministration"] {
        // Doses were recorded 23 to 27 November, two a day from the 25th, and
        // take-home ones on the 27th: more than the limit.
        for search in [format!("/{kind}"), format!("/{kind}?patient={a}&_count=1")] {
            let (status, outcome) = app.fhir_get(token, &search).await;
            assert_eq!(status, StatusCode::BAD_REQUEST, "{search}: {outcome}");
            assert_eq!(outcome["resourceType"], json!("OperationOutcome"));
            assert_eq!(outcome["issue"][0]["code"], json!("too-costly"), "{outcome}");
            let text = outcome["issue"][0]["diagnostics"].as_str().expect("text");
            assert!(
                text.contains("flere enn 4 utleveringer") && text.contains("$export"),
                "{text}"
            );
        }
    }
    assert_eq!(
        app.audit_after(before).await,
        vec![],
        "a refused search read nothing"
    );
    // One drug test was sampled on 20 November; four more make five versions.
    for sampled in ["2026-11-02", "2026-11-09", "2026-11-13", "2026-11-16"] {
        let (status, body) = app
            .fhir_post(
                &app.world.lege.token,
                "/Observation",
                &drug_test(&a, None, sampled).to_string(),
            )
            .await;
        assert_eq!(status, StatusCode::CREATED, "{body}");
    }
    let before = app.audit_len().await;
    let (status, outcome) = app.fhir_get(token, "/Observation").await;
    assert_eq!(status, StatusCode::BAD_REQUEST, "{outcome}");
    assert_eq!(outcome["issue"][0]["code"], json!("too-costly"), "{outcome}");
    let text = outcome["issue"][0]["diagnostics"].as_str().expect("text");
    assert!(text.contains("flere enn 4 prøvesvar"), "{text}");
    assert_eq!(
        app.audit_after(before).await,
        vec![],
        "a refused search read nothing"
    );
    let (status, narrowed) = app
        .fhir_get(token, &format!("/Observation?patient={a}&date=ge2026-11-13"))
        .await;
    assert_eq!(status, StatusCode::OK, "{narrowed}");
    assert_eq!(narrowed["total"], json!(3), "13, 16 and 20 November: {narrowed}");
    // The limit counts the dispensings read, supervised and take-home alike, so
    // narrowed to two days both types are answered.
    for (kind, total) in [("MedicationAdministration", 2), ("MedicationDispense", 0)] {
        let (status, narrowed) = app
            .fhir_get(
                token,
                &format!("/{kind}?patient={a}&date=ge2026-11-23&date=le2026-11-24"),
            )
            .await;
        assert_eq!(status, StatusCode::OK, "{narrowed}");
        assert_eq!(narrowed["total"], json!(total), "23 and 24 November: {narrowed}");
    }
    let (status, patients) = app.fhir_get(token, "/Patient").await;
    assert_eq!(
        status,
        StatusCode::OK,
        "other searches are not counted: {patients}"
    );
}

/// H103 by period: a search of the dispensings over all the caller's patients is
/// counted by the doses recorded in its period, `date` or `_lastUpdated` alike (a
/// recording's lastUpdated is its instant): refused when the period holds more
/// than the limit, answered when it holds fewer. A sync by `_lastUpdated` was
/// counted over every dose ever recorded, and refused.
#[tokio::test]
async fn a_search_of_the_dispensings_is_counted_by_the_doses_recorded_in_its_period() {
    let overrides = [("SAMHAND_FHIR_SEARCH_MAX_MATCHES", "4".to_string())];
    let app = spawn_app_on(app_listener().await, &overrides).await;
    fhir_world(&app).await;
    let token = &app.world.konsulent.token;
    for kind in ["MedicationDispense", "MedicationAdministration"] {
        // From the 25th: two doses a day, and the take-home ones of the 27th.
        for period in ["date=ge2026-11-25", "_lastUpdated=ge2026-11-25"] {
            let before = app.audit_len().await;
            let (status, outcome) = app.fhir_get(token, &format!("/{kind}?{period}")).await;
            assert_eq!(status, StatusCode::BAD_REQUEST, "{kind}?{period}: {outcome}");
            assert_eq!(outcome["issue"][0]["code"], json!("too-costly"), "{outcome}");
            assert_eq!(
                app.audit_after(before).await,
                vec![],
                "a refused search read nothing"
            );
        }
        // The 23rd and the 24th: one supervised dose a day.
        let total = if kind == "MedicationAdministration" { 2 } else { 0 };
        for period in [
            "date=ge2026-11-23&date=le2026-11-24",
            "_lastUpdated=ge2026-11-23&_lastUpdated=le2026-11-24",
            "_lastUpdated=gt2026-11-23T07:00:00Z&date=lt2026-11-25",
        ] {
            let (status, bundle) = app.fhir_get(token, &format!("/{kind}?{period}")).await;
            assert_eq!(status, StatusCode::OK, "{kind}?{period}: {bundle}");
            assert_eq!(bundle["total"], json!(total), "{kind}?{period}: {bundle}");
        }
    }
}

#[tokio::test]
async fn strict_handling_refuses_unknown_parameters_and_identifier_finds_the_patient() {
    let app = spawn_app().await;
    let (a, _) = fhir_world(&app).await;
    let token = &app.world.konsulent.token;
    let strict = |path: &str| {
        app.client
            .get(app.url(&format!("/fhir{path}")))
            .bearer_auth(token)
            .header("Prefer", "handling=strict")
            .send()
    };
    for path in [
        "/Patient?foo=bar",
        "/Patient?date=2026",
        "/Flag?identifier=x",
        "/Observation?_sort=date",
    ] {
        let (status, outcome) = fhir_read(strict(path).await.expect("get")).await;
        assert_eq!(status, StatusCode::BAD_REQUEST, "{path}: {outcome}");
        assert_eq!(outcome["resourceType"], json!("OperationOutcome"));
    }
    let (status, bundle) = fhir_read(strict(&format!("/Observation?patient={a}")).await.expect("get")).await;
    assert_eq!(
        status,
        StatusCode::OK,
        "a known parameter passes strictly: {bundle}"
    );
    // Leniently the unknown parameter is ignored, and the self link shows what was used.
    let (status, bundle) = app
        .fhir_get(token, &format!("/Observation?patient={a}&foo=bar"))
        .await;
    assert_eq!(status, StatusCode::OK);
    let link = bundle["link"][0]["url"].as_str().expect("self");
    assert!(link.contains("patient=") && !link.contains("foo"), "{link}");
    for identifier in [format!("{FNR}|{}", national_id(301)), national_id(301)] {
        let (status, bundle) = app
            .fhir_get(token, &format!("/Patient?identifier={identifier}"))
            .await;
        assert_eq!(status, StatusCode::OK, "{bundle}");
        assert_eq!(entries(&bundle).len(), 1, "{identifier}: {bundle}");
        assert_eq!(entries(&bundle)[0]["id"], json!(a));
    }
    let (_, orders) = app
        .fhir_get(token, &format!("/MedicationRequest?patient={a}"))
        .await;
    let order = entries(&orders)[0]["identifier"][0].clone();
    let query = format!(
        "{}|{}",
        order["system"].as_str().expect("system"),
        order["value"].as_str().expect("value")
    );
    let (_, found) = app
        .fhir_get(token, &format!("/MedicationRequest?identifier={query}"))
        .await;
    assert_eq!(found["total"], json!(1), "{found}");
    let (_, none) = app.fhir_get(token, "/MedicationRequest?identifier=nothing").await;
    assert_eq!(none["total"], json!(0), "{none}");
}

#[tokio::test]
async fn fhir_writes_take_only_fhir_json_and_answer_415_otherwise() {
    let app = spawn_app().await;
    let (a, _) = fhir_world(&app).await;
    let token = &app.world.lege.token;
    let (_, before) = app.fhir_get(token, &format!("/Observation?patient={a}")).await;
    let body = drug_test(&a, None, "2026-11-21").to_string();
    for content_type in [Some("text/plain"), Some("application/xml"), None] {
        let mut request = app
            .client
            .post(app.url("/fhir/Observation"))
            .bearer_auth(token)
            .body(body.clone());
        if let Some(content_type) = content_type {
            request = request.header("Content-Type", content_type);
        }
        let (status, outcome) = fhir_read(request.send().await.expect("post")).await;
        assert_eq!(
            status,
            StatusCode::UNSUPPORTED_MEDIA_TYPE,
            "{content_type:?}: {outcome}"
        );
        let put = app
            .client
            .put(app.url(&format!("/fhir/Patient/{a}")))
            .bearer_auth(token)
            .header("Content-Type", content_type.unwrap_or("text/html"))
            .body("{}");
        let (status, _) = fhir_read(put.send().await.expect("put")).await;
        assert_eq!(status, StatusCode::UNSUPPORTED_MEDIA_TYPE);
    }
    let (_, after) = app.fhir_get(token, &format!("/Observation?patient={a}")).await;
    assert_eq!(after["total"], before["total"], "nothing was stored");
    let response = app
        .client
        .post(app.url("/fhir/Observation"))
        .bearer_auth(token)
        .header("Content-Type", "application/json; charset=utf-8")
        .body(body)
        .send()
        .await
        .expect("post");
    assert_eq!(
        response.status(),
        StatusCode::CREATED,
        "plain JSON is FHIR JSON too"
    );
}
