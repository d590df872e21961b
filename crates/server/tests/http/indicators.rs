//! The unit's indicators at HTTP level: the JSON and the CSV for a small world built
//! here (two places of the unit, two patients, one dose), only for the LAR unit's
//! leader, only the unit's own places, bad months as problem+json; the page's
//! charts are well-formed SVG carrying their summaries (H75, H81).

use reqwest::StatusCode;
use serde_json::{Value, json};

use crate::helpers::{TestApp, error_fields, spawn_app, start_day};

/// Makes the centres places of the unit (the first with a capacity of 10), and
/// puts one patient at each from the start day; the first has one supervised dose.
async fn small_world(app: &TestApp) -> (String, String) {
    let w = &app.world;
    {
        let mut conn = app.state.store.read().await.expect("conn");
        for (place, capacity) in [(w.centre, "10"), (w.other_centre, "NULL")] {
            sqlx::query(&format!(
                "UPDATE organisations SET responsible_unit_id = '{}', capacity = {capacity} WHERE id = '{place}'",
                w.unit
            ))
            .execute(&mut *conn)
            .await
            .expect("place of the unit");
        }
    }
    let first = app.patient_on_daily_methadone(501).await;
    let second = app.enrol(502, start_day()).await;
    app.sign_methadone(&second, &["60"], start_day()).await;
    app.arrange(&second, w.other_centre, "AAAAAAA", start_day()).await;
    let (status, body) = app.dispense(&w.utdeler, &first, "dose-1", json!({})).await;
    assert_eq!(status, StatusCode::CREATED, "{body}");
    (first, second)
}

fn series<'a>(body: &'a Value, place: Option<&str>) -> &'a Value {
    body["series"]
        .as_array()
        .expect("series")
        .iter()
        .find(|s| match place {
            None => s["place"].is_null(),
            Some(id) => s["place"]["id"] == json!(id),
        })
        .unwrap_or_else(|| panic!("{place:?} in {body}"))
}

#[tokio::test]
async fn the_leader_gets_the_units_indicators_per_place_and_month_as_json_and_csv() {
    let app = spawn_app().await;
    let w = &app.world;
    small_world(&app).await;
    let (centre, other) = (w.centre.to_string(), w.other_centre.to_string());
    let (status, body) = app
        .get_json(&w.leder, "/api/v1/indicators?from=2026-10&to=2026-11")
        .await;
    assert_eq!(status, StatusCode::OK, "{body}");
    assert_eq!(body["months"], json!(["2026-10", "2026-11"]));
    let unit = series(&body, None);
    assert_eq!(unit["months"][0]["in_treatment"], json!(0));
    assert_eq!(unit["months"][1]["in_treatment"], json!(2));
    assert_eq!(unit["months"][1]["counts"]["supervised_doses"], json!(1));
    assert_eq!(
        unit["months"][1]["take_home"],
        json!({"part": 0, "whole": 1, "percent": 0.0})
    );
    assert!(
        unit["summary"]
            .as_str()
            .expect("summary")
            .starts_with("Enheten: 0 i behandling i 2026-10, 2 i 2026-11."),
        "{unit}"
    );
    let at_centre = &series(&body, Some(&centre))["months"][1];
    assert_eq!(
        (
            at_centre["in_treatment"].clone(),
            at_centre["capacity"].clone(),
            at_centre["counts"]["supervised_doses"].clone()
        ),
        (json!(1), json!(10), json!(1))
    );
    assert!(
        at_centre["counts"].get("overdoses").is_none(),
        "overdoses are the unit's figure"
    );
    let at_other = &series(&body, Some(&other))["months"][1];
    assert_eq!(
        (
            at_other["in_treatment"].clone(),
            at_other["capacity"].clone(),
            at_other["counts"]["supervised_doses"].clone()
        ),
        (json!(1), Value::Null, json!(0))
    );
    assert_eq!(body["series"].as_array().expect("series").len(), 3);

    // One place asked for: the unit and that place only.
    let (status, one) = app
        .get_json(
            &w.leder,
            &format!("/api/v1/indicators?from=2026-11&to=2026-11&place={centre}"),
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{one}");
    assert_eq!(one["series"].as_array().expect("series").len(), 2);
    assert_eq!(one["series"][1]["place"]["id"], json!(centre));

    // The CSV: the documented header, then the unit's and each place's months, the
    // same numbers as the JSON.
    let response = app
        .get(&w.leder, "/api/v1/indicators.csv?from=2026-10&to=2026-11")
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
    let text = response.text().await.expect("text");
    let lines: Vec<&str> = text.split("\r\n").filter(|l| !l.is_empty()).collect();
    assert_eq!(lines[0], samhand_domain::indicators::CSV_COLUMNS.join(","));
    assert_eq!(lines.len(), 1 + 3 * 2);
    let row = |place: &str, month: &str| -> Vec<String> {
        lines
            .iter()
            .map(|l| l.split(',').map(str::to_string).collect::<Vec<_>>())
            .find(|cells| cells[0] == place && cells[1] == month)
            .unwrap_or_else(|| panic!("{place} {month} in {text}"))
    };
    let column = |name: &str| {
        samhand_domain::indicators::CSV_COLUMNS
            .iter()
            .position(|c| *c == name)
            .expect("column")
    };
    let unit_nov = row("unit", "2026-11");
    assert_eq!(unit_nov[column("in_treatment")], "2");
    assert_eq!(unit_nov[column("supervised_doses")], "1");
    let centre_nov = row("LAR-senteret Sentrum", "2026-11");
    assert_eq!(
        (
            centre_nov[column("in_treatment")].as_str(),
            centre_nov[column("capacity")].as_str(),
            centre_nov[column("overdoses")].as_str()
        ),
        ("1", "10", "")
    );
    assert_eq!(row("LAR-senteret Øst", "2026-10")[column("in_treatment")], "0");
}

#[tokio::test]
async fn only_the_lar_units_leader_sees_the_indicators_and_bad_input_is_a_problem() {
    let app = spawn_app().await;
    let w = &app.world;
    small_world(&app).await;
    for staff in [&w.lege, &w.konsulent, &w.utdeler, &w.centre_leader, &w.admin] {
        for path in ["/api/v1/indicators", "/api/v1/indicators.csv"] {
            let response = app.get(staff, path).send().await.expect("get");
            assert_eq!(
                response.status(),
                StatusCode::FORBIDDEN,
                "{} {path}",
                staff.username
            );
        }
    }
    for (query, field) in [
        ("from=2026-13&to=2026-11", "from"),
        ("from=2026-10&to=november", "to"),
        ("from=2026-11&to=2026-10", "from"),
        ("from=2023-01&to=2026-11", "from"),
        ("place=ikke-et-sted", "place"),
        // A place that is not the unit's is refused, never shown (H81).
        (&*format!("place={}", w.pharmacy), "place"),
    ] {
        let response = app
            .get(&w.leder, &format!("/api/v1/indicators?{query}"))
            .send()
            .await
            .expect("get");
        assert_eq!(response.status(), StatusCode::UNPROCESSABLE_ENTITY, "{query}");
        assert_eq!(
            response.headers()["content-type"],
            "application/problem+json",
            "{query}"
        );
        let problem: Value = response.json().await.expect("problem");
        assert_eq!(error_fields(&problem), vec![field], "{query}: {problem}");
    }
}

#[tokio::test]
async fn the_page_draws_well_formed_svg_charts_with_their_summaries_and_tables() {
    let app = spawn_app().await;
    small_world(&app).await;
    let session = app.session_of("leder").await;
    let (status, html) = app.page(&session, "/indikatorer?fra=2026-10&til=2026-11").await;
    assert_eq!(status, StatusCode::OK, "{html}");
    let mut charts = 0;
    let mut rest = html.as_str();
    while let Some(start) = rest.find("<svg") {
        let end = rest[start..].find("</svg>").expect("closed svg") + start + "</svg>".len();
        let svg = &rest[start..end];
        rest = &rest[end..];
        if !svg.contains("class=\"chart\"") {
            continue;
        }
        charts += 1;
        let doc = roxmltree::Document::parse(svg).unwrap_or_else(|e| panic!("{e}: {svg}"));
        let root = doc.root_element();
        assert_eq!(root.attribute("role"), Some("img"));
        let label = root.attribute("aria-label").expect("aria-label");
        let title = root
            .children()
            .find(|n| n.has_tag_name("title"))
            .and_then(|n| n.text())
            .expect("title");
        assert_eq!(label, title);
        assert!(
            doc.descendants()
                .any(|n| n.has_tag_name("text") && n.text().map(str::trim) == Some("2026-11")),
            "month labels as text: {svg}"
        );
    }
    assert_eq!(charts, 4, "{html}");
    assert!(
        html.contains("Enheten: 0 i behandling i 2026-10, 2 i 2026-11."),
        "{html}"
    );
    assert!(
        html.contains("LAR-senteret Sentrum: 0 i behandling i 2026-10, 1 i 2026-11 av en kapasitet på 10.")
    );
    assert_eq!(html.matches("data-testid=\"indicator-table\"").count(), 3);
    // The waiting time from referral to assessment and start, for the same months
    // (none received in this world).
    assert!(html.contains("Ventetid per måned"), "{html}");
    assert!(html.contains("Ingen henvisninger mottatt i perioden."), "{html}");
    assert!(
        html.contains("href=\"/indikatorer.csv?fra=2026-10&amp;til=2026-11\""),
        "{html}"
    );
    let (status, csv) = app
        .page(&session, "/indikatorer.csv?fra=2026-10&til=2026-11")
        .await;
    assert_eq!(status, StatusCode::OK);
    assert!(csv.starts_with("place,month,in_treatment,capacity,"), "{csv}");

    let (status, overview) = app.page(&session, "/leder").await;
    assert_eq!(status, StatusCode::OK);
    assert!(overview.contains("data-testid=\"indicators\""), "{overview}");
    assert!(overview.contains("href=\"/indikatorer\""));
    let other = app.session_of("lege").await;
    let (status, _) = app.page(&other, "/indikatorer").await;
    assert_eq!(status, StatusCode::FORBIDDEN);
}

/// The chart SVGs in a page, each parsed as XML: (aria-label, title).
fn charts_in(html: &str) -> Vec<(String, String)> {
    let mut found = Vec::new();
    let mut rest = html;
    while let Some(start) = rest.find("<svg") {
        let end = rest[start..].find("</svg>").expect("closed svg") + start + "</svg>".len();
        let svg = &rest[start..end];
        rest = &rest[end..];
        if !svg.contains("class=\"chart\"") {
            continue;
        }
        let doc = roxmltree::Document::parse(svg).unwrap_or_else(|e| panic!("{e}: {svg}"));
        let root = doc.root_element();
        assert_eq!(root.attribute("role"), Some("img"));
        let title = root
            .children()
            .find(|n| n.has_tag_name("title"))
            .and_then(|n| n.text())
            .expect("title");
        found.push((
            root.attribute("aria-label").expect("label").to_string(),
            title.to_string(),
        ));
    }
    found
}

#[tokio::test]
async fn the_patient_overview_draws_the_dose_history_with_a_summary_and_a_table() {
    let app = spawn_app().await;
    let patient = app.patient_on_daily_methadone(510).await;
    let session = app.session_of("lege").await;
    let (status, html) = app.page(&session, &format!("/pasienter/{patient}")).await;
    assert_eq!(status, StatusCode::OK, "{html}");
    assert!(html.contains("data-testid=\"dose-history\""), "{html}");
    let charts = charts_in(&html);
    assert_eq!(charts.len(), 1, "{html}");
    let (label, title) = &charts[0];
    assert_eq!(label, title);
    assert!(
        label.starts_with("Døgndose de siste 90 dagene: 60 mg hele tiden med forordning. 0 rusmiddeltester"),
        "{label}"
    );
    assert!(html.contains("<td>Døgndose 60 mg</td>"), "{html}");
}
