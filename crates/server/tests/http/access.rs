//! Who may do what, at HTTP level: roles and care relations decide, every attempt is
//! audited, and API errors are problem+json.

use reqwest::StatusCode;
use serde_json::json;

use crate::helpers::{read, spawn_app, start_day};

#[tokio::test]
async fn the_overview_follows_the_care_relation_and_every_attempt_is_audited() {
    let app = spawn_app().await;
    let patient = app.patient_on_daily_methadone(50).await;
    let path = format!("/api/v1/patients/{patient}");
    let w = &app.world;
    let cases = [
        (&w.lege, StatusCode::OK),
        (&w.konsulent, StatusCode::OK),
        (&w.leder, StatusCode::OK),
        (&w.utdeler, StatusCode::OK),
        (&w.koordinator, StatusCode::OK),
        (&w.admin, StatusCode::FORBIDDEN),
        (&w.fremmed_lege, StatusCode::FORBIDDEN),
        (&w.utdeler2, StatusCode::FORBIDDEN),
        (&w.apotek, StatusCode::FORBIDDEN),
    ];
    let (allowed_before, denied_before) = app.audit_counts(&patient).await;
    for (staff, expected) in cases {
        let (status, body) = read(app.get(staff, &path).send().await.expect("get")).await;
        assert_eq!(status, expected, "{}: {body}", staff.username);
        if status == StatusCode::FORBIDDEN {
            // What was read with the record before the decision is not shown.
            assert!(
                body.get("patient").is_none() && body.get("recent_dispensings").is_none(),
                "{}: {body}",
                staff.username
            );
        }
    }
    let (allowed, denied) = app.audit_counts(&patient).await;
    // The overview reads three categories, each audited; the three at the LAR unit
    // also read the health information, which the place sees only with consent.
    assert_eq!(allowed - allowed_before, 5 * 3 + 3);
    assert!(denied - denied_before >= 4, "each refused reader is audited");
}

#[tokio::test]
async fn only_a_prescriber_of_the_responsible_unit_may_sign_and_a_consultant_may_not_draft() {
    let app = spawn_app().await;
    let patient = app.enrol(51, start_day()).await;
    let body = json!({"substance": "methadone_oral_solution", "form": "oral_solution", "parts_mg": [60],
        "effective_from": start_day().to_string(), "reason": "Oppstart"});
    let (status, problem) = read(
        app.post(
            &app.world.konsulent,
            &format!("/api/v1/patients/{patient}/dose-orders"),
            &body,
        )
        .send()
        .await
        .expect("post"),
    )
    .await;
    assert_eq!(status, StatusCode::FORBIDDEN, "{problem}");
    let draft = app
        .draft(
            &patient,
            "methadone_oral_solution",
            "oral_solution",
            &["60"],
            start_day(),
        )
        .await;
    let sign = format!("/api/v1/dose-orders/{}/sign", draft["id"].as_str().expect("id"));
    let (status, problem) = read(
        app.post(&app.world.fremmed_lege, &sign, &json!({}))
            .send()
            .await
            .expect("sign"),
    )
    .await;
    assert_eq!(status, StatusCode::FORBIDDEN, "{problem}");
    let (status, signed) = read(
        app.post(&app.world.lege, &sign, &json!({}))
            .send()
            .await
            .expect("sign"),
    )
    .await;
    assert_eq!(status, StatusCode::OK, "{signed}");
    assert_eq!(signed["version"], json!(1));
    let (status, again) = read(
        app.post(&app.world.lege, &sign, &json!({}))
            .send()
            .await
            .expect("sign"),
    )
    .await;
    assert_eq!(status, StatusCode::CONFLICT, "{again}");
}

#[tokio::test]
async fn enrolment_is_for_the_lar_unit_and_refuses_a_wrong_number_with_a_field_error() {
    let app = spawn_app().await;
    let body = |n: &str| {
        json!({"national_id": n, "given_name": "Per", "family_name": "Pettersen", "phone": "", "address": "",
            "doctor_id": app.world.lege.id.to_string(), "consultant_id": app.world.konsulent.id.to_string(),
            "started_on": "2026-11-23"})
    };
    let (status, problem) = read(
        app.post(&app.world.lege, "/api/v1/patients", &body("01018012345"))
            .send()
            .await
            .expect("post"),
    )
    .await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{problem}");
    assert_eq!(problem["errors"][0]["field"], json!("national_id"));
    let valid = crate::helpers::national_id(52);
    let (status, problem) = read(
        app.post(&app.world.utdeler, "/api/v1/patients", &body(&valid))
            .send()
            .await
            .expect("post"),
    )
    .await;
    assert_eq!(status, StatusCode::FORBIDDEN, "{problem}");
    let (status, created) = read(
        app.post(&app.world.lege, "/api/v1/patients", &body(&valid))
            .send()
            .await
            .expect("post"),
    )
    .await;
    assert_eq!(status, StatusCode::CREATED, "{created}");
    let (status, problem) = read(
        app.post(&app.world.lege, "/api/v1/patients", &body(&valid))
            .send()
            .await
            .expect("post"),
    )
    .await;
    assert_eq!(
        status,
        StatusCode::UNPROCESSABLE_ENTITY,
        "the same number twice: {problem}"
    );
    let (_, found) = read(
        app.get(&app.world.lege, &format!("/api/v1/patients?q={valid}"))
            .send()
            .await
            .expect("search"),
    )
    .await;
    assert_eq!(found.as_array().expect("list").len(), 1);
    let (_, none) = read(
        app.get(&app.world.fremmed_lege, &format!("/api/v1/patients?q={valid}"))
            .send()
            .await
            .expect("search"),
    )
    .await;
    assert!(
        none.as_array().expect("list").is_empty(),
        "another unit's doctor finds nothing"
    );
}

#[tokio::test]
async fn the_api_refuses_missing_and_revoked_tokens_with_problem_json() {
    let app = spawn_app().await;
    let response = app
        .client
        .get(app.url("/api/v1/dispensing/today"))
        .send()
        .await
        .expect("get");
    let (status, problem) = read(response).await;
    assert_eq!(status, StatusCode::UNAUTHORIZED, "{problem}");
    let mut tx = app.state.store.write().await.expect("tx");
    let revoked =
        samhand_store::users::revoke_api_tokens(&mut tx, app.world.utdeler.id, app.state.clock.now())
            .await
            .expect("revoke");
    tx.commit().await.expect("commit");
    assert_eq!(revoked, 1);
    let (status, _) = read(
        app.get(&app.world.utdeler, "/api/v1/dispensing/today")
            .send()
            .await
            .expect("get"),
    )
    .await;
    assert_eq!(status, StatusCode::UNAUTHORIZED);
    let (status, problem) = read(
        app.client
            .get(app.url("/api/v1/no-such-thing"))
            .send()
            .await
            .expect("get"),
    )
    .await;
    assert_eq!(status, StatusCode::NOT_FOUND, "{problem}");
}

#[tokio::test]
async fn the_openapi_document_is_served_and_names_the_dispensing_operation() {
    let app = spawn_app().await;
    let doc = crate::openapi::openapi_document(&app).await;
    assert!(doc["openapi"].as_str().expect("version").starts_with("3."));
    assert!(doc["paths"]["/dispensings"]["post"].is_object(), "{doc}");
    assert!(doc["paths"]["/dispensings/{id}/corrections"]["post"].is_object());
    // Coded fields list their values, from the domain's own lists.
    let schemas = &doc["components"]["schemas"];
    let kinds = schemas["MessageDto"]["properties"]["kind"]["enum"]
        .as_array()
        .expect("message kinds listed");
    let expected: Vec<serde_json::Value> = samhand_domain::message::MessageKind::ALL
        .iter()
        .map(|k| serde_json::json!(k.code()))
        .collect();
    assert_eq!(kinds, &expected);
    assert!(kinds.contains(&serde_json::json!("meeting_invitation")));
    let outcomes = schemas["RecordedDto"]["properties"]["outcome"]["enum"]
        .as_array()
        .expect("outcomes listed");
    assert_eq!(outcomes.len(), samhand_domain::dispensing::OutcomeKind::ALL.len());
}

#[tokio::test]
async fn overdue_reviews_are_listed_for_the_unit_and_the_place() {
    let app = spawn_app().await;
    let patient = app.patient_on_daily_methadone(53).await;
    let later = start_day()
        .checked_add(jiff::Span::new().months(4))
        .expect("date");
    app.set_oslo_time(later, jiff::civil::Time::constant(9, 0, 0, 0));
    for staff in [&app.world.lege, &app.world.utdeler] {
        let (status, reviews) = read(
            app.get(staff, "/api/v1/reviews/overdue")
                .send()
                .await
                .expect("get"),
        )
        .await;
        assert_eq!(status, StatusCode::OK, "{reviews}");
        let ids: Vec<&str> = reviews
            .as_array()
            .expect("list")
            .iter()
            .map(|r| r["patient_id"].as_str().expect("id"))
            .collect();
        assert_eq!(ids, vec![patient.as_str()], "{}", staff.username);
    }
    let (_, reviews) = read(
        app.get(&app.world.fremmed_lege, "/api/v1/reviews/overdue")
            .send()
            .await
            .expect("get"),
    )
    .await;
    assert!(reviews.as_array().expect("list").is_empty());
    // Units, groups and places exist for the reader to choose from.
    let (_, orgs) = read(
        app.get(&app.world.lege, "/api/v1/organisations")
            .send()
            .await
            .expect("get"),
    )
    .await;
    let ids: Vec<String> = orgs
        .as_array()
        .expect("orgs")
        .iter()
        .map(|o| o["id"].as_str().expect("id").to_string())
        .collect();
    for org in [
        app.world.unit,
        app.world.other_unit,
        app.world.pharmacy,
        app.world.other_centre,
    ] {
        assert!(ids.contains(&org.to_string()));
    }
    let _ = app.world.group;
}
