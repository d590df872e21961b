//! Status assessments and the yearly status report at HTTP level: versions by staff
//! and by the patient (the self-reported parts only), the report pre-filled from a
//! constructed history with each field's source, the CSV, and the leader's
//! sign-off, which a later change to the record shows as no longer holding.

use jiff::civil::date;
use reqwest::StatusCode;
use serde_json::{Value, json};

use crate::helpers::{Staff, TestApp, error_fields, spawn_app, start_day};

impl TestApp {
    async fn save_status(&self, actor: &Staff, patient: &str, body: Value) -> (StatusCode, Value) {
        self.post_json(
            actor,
            &format!("/api/v1/patients/{patient}/status-assessments"),
            &body,
        )
        .await
    }

    async fn status_report(&self, actor: &Staff, year: &str) -> (StatusCode, Value) {
        self.get_json(actor, &format!("/api/v1/status-report?year={year}"))
            .await
    }
}

/// A row's value of a column: (value, source).
fn cell(row: &Value, column: &str) -> (String, String) {
    let value = row["values"]
        .as_array()
        .expect("values")
        .iter()
        .find(|v| v["column"] == json!(column))
        .unwrap_or_else(|| panic!("column {column} in {row}"));
    (
        value["value"].as_str().expect("value").to_string(),
        value["source"].as_str().expect("source").to_string(),
    )
}

fn row_of<'a>(report: &'a Value, patient: &str) -> &'a Value {
    report["rows"]
        .as_array()
        .expect("rows")
        .iter()
        .find(|r| r["patient"]["id"] == json!(patient))
        .unwrap_or_else(|| panic!("{patient} in {report}"))
}

#[tokio::test]
async fn assessments_are_versions_by_staff_and_by_the_patient_who_gives_only_the_self_reported_parts() {
    let app = spawn_app().await;
    let w = &app.world;
    let patient = app.patient_on_daily_methadone(310).await;
    let (status, first) = app
        .save_status(
            &w.konsulent,
            &patient,
            json!({"occasion": "start", "answers": {"housing": "homeless", "hiv": "negative"}}),
        )
        .await;
    assert_eq!(status, StatusCode::CREATED, "{first}");
    assert_eq!(first["version"], json!(1));

    let own = app.patient_token(&patient).await;
    let (status, body) = app
        .save_status(&own, &patient, json!({"answers": {"hepatitis_c": "chronic"}}))
        .await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{body}");
    assert_eq!(error_fields(&body), vec!["hepatitis_c"]);
    let (status, second) = app
        .save_status(
            &own,
            &patient,
            json!({"answers": {"housing": "temporary", "use_cannabis": "weekly"}}),
        )
        .await;
    assert_eq!(status, StatusCode::CREATED, "{second}");
    assert_eq!(
        (
            second["version"].clone(),
            second["by_patient"].clone(),
            second["occasion"].clone()
        ),
        (json!(2), json!(true), json!("other"))
    );

    // Bad input and unrelated staff change nothing.
    for body in [
        json!({"occasion": "start", "answers": {"housing": "castle"}}),
        json!({"occasion": "sometime", "answers": {"housing": "own"}}),
        json!({"occasion": "start", "answers": {}}),
    ] {
        let (status, problem) = app.save_status(&w.konsulent, &patient, body).await;
        assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{problem}");
    }
    let (status, _) = app
        .save_status(
            &w.fremmed_lege,
            &patient,
            json!({"occasion": "start", "answers": {"housing": "own"}}),
        )
        .await;
    assert_eq!(status, StatusCode::FORBIDDEN);
    let (status, _) = app
        .save_status(
            &w.utdeler,
            &patient,
            json!({"occasion": "start", "answers": {"housing": "own"}}),
        )
        .await;
    assert_eq!(
        status,
        StatusCode::FORBIDDEN,
        "the dispensing place writes no health information"
    );

    let (status, view) = app
        .get_json(&w.lege, &format!("/api/v1/patients/{patient}/status-assessments"))
        .await;
    assert_eq!(status, StatusCode::OK, "{view}");
    assert_eq!(view["history"].as_array().expect("history").len(), 2);
    assert_eq!(
        view["current"]["housing"],
        json!({"answer": "temporary", "version": 2, "by_patient": true})
    );
    assert_eq!(view["current"]["hiv"]["version"], json!(1));
    assert_eq!(view["next_due"], json!("2027-11-23"));
    let (status, _) = app
        .get_json(&own, &format!("/api/v1/patients/{patient}/status-assessments"))
        .await;
    assert_eq!(status, StatusCode::OK, "the patient reads their own");

    let session = app.session_of("konsulent").await;
    let (status, html) = app.page(&session, &format!("/pasienter/{patient}/status")).await;
    assert_eq!(status, StatusCode::OK);
    assert!(html.contains("Fra pasienten"), "{html}");
    assert!(html.contains("Midlertidig botilbud"), "{html}");

    // A version is never changed or removed, not even directly in the database.
    let mut conn = app.state.store.read().await.expect("conn");
    for sql in [
        "UPDATE status_assessments SET housing = 'own'",
        "DELETE FROM status_assessments",
    ] {
        let refused = sqlx::query(sql).execute(&mut *conn).await;
        assert!(
            refused
                .as_ref()
                .is_err_and(|e| e.to_string().contains("append-only")),
            "{sql}: {refused:?}"
        );
    }
}

#[tokio::test]
async fn the_yearly_report_is_pre_filled_from_the_record_with_each_fields_source_and_signed_off_by_the_leader()
 {
    let app = spawn_app().await;
    let w = &app.world;
    let patient = app.enrol(320, date(2026, 2, 2)).await;
    app.sign_methadone(&patient, &["60"], start_day()).await;
    app.arrange(&patient, w.pharmacy, "ATATATT", start_day()).await;
    let other = app.patient_on_daily_methadone(321).await;
    let (status, body) = app
        .post_json(
            &w.konsulent,
            &format!("/api/v1/patients/{patient}/overdoses"),
            &json!({"occurred_on": "2026-11-20", "outcome": "non_fatal", "place_description": "Hjemme",
                    "substances": "Heroin", "naloxone_used": true, "reported_by": "Ambulansen"}),
        )
        .await;
    assert_eq!(status, StatusCode::CREATED, "{body}");
    let (status, _) = app
        .save_status(
            &w.konsulent,
            &patient,
            json!({"occasion": "start", "assessed_on": "2026-02-02", "answers": {"housing": "municipal", "use_opioids": "none"}}),
        )
        .await;
    assert_eq!(status, StatusCode::CREATED);
    let own = app.patient_token(&patient).await;
    let (status, _) = app
        .save_status(&own, &patient, json!({"answers": {"use_cannabis": "weekly"}}))
        .await;
    assert_eq!(status, StatusCode::CREATED);

    let (status, report) = app.status_report(&w.leder, "2026").await;
    assert_eq!(status, StatusCode::OK, "{report}");
    assert_eq!(report["rows"].as_array().expect("rows").len(), 2);
    let row = row_of(&report, &patient);
    let expect = [
        ("intake", "new", "record:episode"),
        ("episode_start", "2026-02-02", "record:episode"),
        ("substance", "methadone_oral_solution", "record:dose_order"),
        ("dose_mg", "60", "record:dose_order"),
        ("depot", "no", "record:dose_order"),
        ("dispensing_place", "pharmacy", "record:arrangement"),
        ("supervised_per_week", "3", "record:arrangement"),
        ("take_home_per_week", "4", "record:arrangement"),
        ("overdoses", "1", "record:overdoses"),
        ("death", "no", "record:episode"),
        ("individual_plan", "yes", "record:plan"),
        ("drug_tests_per_week", "0", "record:lab_results"),
        ("housing", "municipal", "assessment:1:2026-02-02:staff"),
        ("use_cannabis", "weekly", "assessment:2:2026-11-23:patient"),
        ("hepatitis_c", "", "missing"),
    ];
    for (column, value, source) in expect {
        assert_eq!(
            cell(row, column),
            (value.to_string(), source.to_string()),
            "{column}"
        );
    }
    assert_eq!(cell(row_of(&report, &other), "housing").1, "missing");
    let total = |label: &str| {
        report["totals"]
            .as_array()
            .expect("totals")
            .iter()
            .find(|t| t["label"] == json!(label))
            .unwrap_or_else(|| panic!("{label}"))
            .clone()
    };
    assert_eq!(total("Pasienter i behandling i løpet av året")["count"], json!(2));
    assert_eq!(total("Nye inntak")["count"], json!(2));
    assert_eq!(total("Pasienter med minst én overdose")["percent"], json!(50.0));

    // The CSV: a header row and one row per patient.
    let response = app
        .get(&w.leder, "/api/v1/status-report/csv?year=2026")
        .send()
        .await
        .expect("csv");
    assert_eq!(response.status(), StatusCode::OK);
    assert!(
        response.headers()["content-type"]
            .to_str()
            .expect("type")
            .starts_with("text/csv")
    );
    let csv = response.text().await.expect("text");
    let lines: Vec<&str> = csv.lines().collect();
    assert_eq!(lines.len(), 3, "{csv}");
    assert!(
        lines[0].starts_with("unit,patient_id,birth_year,sex,age,"),
        "{}",
        lines[0]
    );
    assert!(lines[0].contains(",housing,") && lines[0].ends_with("hiv_treatment_source"));
    assert!(csv.contains(&patient));

    // Only the leader signs off; the sign-off holds until the record changes.
    let (status, _) = app
        .post_json(
            &w.konsulent,
            "/api/v1/status-report/signoffs",
            &json!({"year": "2026"}),
        )
        .await;
    assert_eq!(status, StatusCode::FORBIDDEN);
    let (status, signed) = app
        .post_json(
            &w.leder,
            "/api/v1/status-report/signoffs",
            &json!({"year": "2026"}),
        )
        .await;
    assert_eq!(status, StatusCode::CREATED, "{signed}");
    assert_eq!(
        (signed["version"].clone(), signed["patients"].clone()),
        (json!(1), json!(2))
    );
    let (_, report) = app.status_report(&w.konsulent, "2026").await;
    assert_eq!(report["signed_as_is"], json!(true));
    assert_eq!(report["signoffs"][0]["signed_by"]["name"], json!("Leder Lars"));
    app.save_status(
        &w.konsulent,
        &other,
        json!({"occasion": "yearly", "answers": {"housing": "own"}}),
    )
    .await;
    let (_, report) = app.status_report(&w.leder, "2026").await;
    assert_eq!(report["signed_as_is"], json!(false));

    // Bad input, another unit and a dispensing place.
    let (status, problem) = app.status_report(&w.leder, "tjuetjueseks").await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{problem}");
    assert_eq!(error_fields(&problem), vec!["year"]);
    let (status, theirs) = app.status_report(&w.fremmed_lege, "2026").await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(theirs["rows"], json!([]));
    let (status, _) = app.status_report(&w.utdeler, "2026").await;
    assert_eq!(status, StatusCode::FORBIDDEN);
    let (_, none) = app.status_report(&w.leder, "2025").await;
    assert_eq!(none["rows"], json!([]), "nobody was in treatment in 2025");

    let session = app.session_of("leder").await;
    let (status, html) = app.page(&session, "/statusrapport?ar=2026").await;
    assert_eq!(status, StatusCode::OK);
    assert!(html.contains("Årlig statusrapport 2026"), "{html}");
    assert!(html.contains("Pasient320 Testesen"), "{html}");
    assert!(html.contains("Journalen er endret etter godkjenningen"), "{html}");
    // One patient's row: every column with its value and its source.
    let (status, html) = app
        .page(&session, &format!("/statusrapport/pasient/{patient}?ar=2026"))
        .await;
    assert_eq!(status, StatusCode::OK);
    assert!(
        html.contains("Signert ordinasjon")
            && html.contains("Registrerte overdoser")
            && html.contains("Mangler"),
        "{html}"
    );
    let (status, xlsx) = app.page(&session, "/statusrapport/xlsx?ar=2026").await;
    assert_eq!(status, StatusCode::OK);
    assert!(xlsx.starts_with("PK"), "an XLSX workbook");
}

#[tokio::test]
async fn the_patient_answers_the_self_reported_parts_in_the_portal_and_staff_see_them_as_the_patients() {
    let app = spawn_app().await;
    let (patient, portal) = app.activated(128).await;
    let (status, html) = app.portal_get(&portal, "/portal/status").await;
    assert_eq!(status, StatusCode::OK);
    assert!(
        html.contains("Slik har jeg det") && html.contains("name=\"housing\""),
        "{html}"
    );
    assert!(
        !html.contains("name=\"hepatitis_c\""),
        "the clinician's questions are not offered: {html}"
    );
    // A clinician's question posted anyway is refused and nothing is saved.
    let (status, _) = app
        .portal_post(
            &portal,
            "/portal/status",
            &[("housing", "own"), ("hepatitis_c", "cured")],
        )
        .await;
    assert_eq!(
        status,
        StatusCode::SEE_OTHER,
        "the portal form only takes the self-reported questions"
    );
    let (status, html) = app
        .portal_post(&portal, "/portal/status", &[("housing", "castle")])
        .await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{html}");

    let (status, view) = app
        .get_json(
            &app.world.lege,
            &format!("/api/v1/patients/{patient}/status-assessments"),
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{view}");
    let versions = view["history"].as_array().expect("history");
    assert_eq!(versions.len(), 1, "{view}");
    assert_eq!(versions[0]["by_patient"], json!(true), "{view}");
    assert!(!view.to_string().contains("hepatitis_c\":\"cured"), "{view}");
    let session = app.session_of("lege").await;
    let (status, html) = app.page(&session, &format!("/pasienter/{patient}/status")).await;
    assert_eq!(status, StatusCode::OK);
    assert!(html.contains("Fra pasienten"), "{html}");
}
