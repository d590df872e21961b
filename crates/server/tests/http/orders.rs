//! Dose orders through the API: every version kept and readable, split doses,
//! titration steps on their dates, depot injections on their schedule, the
//! dose-safety warnings and their confirmation, and bad input that changes nothing.

use jiff::civil::{Date, Time, date};
use reqwest::StatusCode;
use serde_json::{Value, json};

use crate::helpers::{TestApp, error_fields, spawn_app, start_day};

/// Drafts an order from a full request body.
async fn draft_with(app: &TestApp, patient: &str, body: &Value) -> (StatusCode, Value) {
    app.post_json(
        &app.world.lege,
        &format!("/api/v1/patients/{patient}/dose-orders"),
        body,
    )
    .await
}

/// Signs an order, with `body` as the sign request.
async fn sign_with(app: &TestApp, order: &Value, body: &Value) -> (StatusCode, Value) {
    let id = order["id"].as_str().expect("order id");
    app.post_json(&app.world.lege, &format!("/api/v1/dose-orders/{id}/sign"), body)
        .await
}

fn methadone(parts: Value, from: Date, reason: &str) -> Value {
    json!({
        "substance": "methadone_oral_solution",
        "form": "oral_solution",
        "parts_mg": parts,
        "effective_from": from.to_string(),
        "reason": reason,
    })
}

/// Drafts and signs a methadone order that raises no warnings.
async fn draft_and_sign(app: &TestApp, patient: &str, body: &Value) -> Value {
    let (status, draft) = draft_with(app, patient, body).await;
    assert_eq!(status, StatusCode::CREATED, "{draft}");
    let (status, signed) = sign_with(app, &draft, &json!({})).await;
    assert_eq!(status, StatusCode::OK, "{signed}");
    signed
}

fn minutes(n: i64) -> jiff::SignedDuration {
    jiff::SignedDuration::from_mins(n)
}

#[tokio::test]
async fn every_version_of_a_dose_order_stays_readable_with_its_reason_and_a_draft_stays_a_draft() {
    let app = spawn_app().await;
    let patient = app.enrol(100, start_day()).await;
    let steps = [("60", "Oppstart"), ("70", "Sug om kvelden"), ("65", "Sedert")];
    for (mg, reason) in steps {
        draft_and_sign(&app, &patient, &methadone(json!([mg]), start_day(), reason)).await;
        app.clock.advance(minutes(5));
    }
    let (status, draft) = draft_with(
        &app,
        &patient,
        &methadone(json!(["50"]), start_day(), "Vurderer nedtrapping"),
    )
    .await;
    assert_eq!(status, StatusCode::CREATED, "{draft}");
    assert_eq!(draft["status"], json!("draft"));
    assert!(draft["version"].is_null(), "{draft}");

    let history = app.order_history(&patient).await;
    let seen: Vec<(Value, Value, Value, Value)> = history
        .iter()
        .map(|o| {
            (
                o["status"].clone(),
                o["version"].clone(),
                o["total_mg"].clone(),
                o["reason"].clone(),
            )
        })
        .collect();
    assert_eq!(
        seen,
        vec![
            (json!("signed"), json!(1), json!(60.0), json!("Oppstart")),
            (json!("signed"), json!(2), json!(70.0), json!("Sug om kvelden")),
            (json!("signed"), json!(3), json!(65.0), json!("Sedert")),
            (
                json!("draft"),
                json!(null),
                json!(50.0),
                json!("Vurderer nedtrapping")
            ),
        ]
    );
    for signed in &history[..3] {
        assert_eq!(signed["signed_by"], json!(app.world.lege.id.to_string()));
        assert!(signed["signed_at"].is_string(), "{signed}");
        assert!(signed["warnings_confirmed"].is_null(), "{signed}");
    }
    assert!(history[3]["signed_by"].is_null() && history[3]["signed_at"].is_null());

    // The newest signed version is the one in effect; the draft changes nothing.
    let overview = app.overview(&patient).await;
    assert_eq!(overview["effective_order"]["version"], json!(3), "{overview}");
    assert_eq!(overview["dose_today_mg"], json!(65.0));
    assert_eq!(overview["drafts"], json!(1));
}

#[tokio::test]
async fn a_split_dose_is_two_doses_on_the_list_and_each_is_recorded_once() {
    let app = spawn_app().await;
    let patient = app.enrol(101, start_day()).await;
    app.sign_methadone(&patient, &["40", "30"], start_day()).await;
    app.arrange(&patient, app.world.centre, "AAAAAAA", start_day())
        .await;

    let row = app
        .row_on_list(&app.world.utdeler, &patient)
        .await
        .expect("on the list");
    let due: Vec<(Value, Value, Value)> = row["due"]
        .as_array()
        .expect("due")
        .iter()
        .map(|d| (d["part"].clone(), d["dose_mg"].clone(), d["mode"].clone()))
        .collect();
    assert_eq!(
        due,
        vec![
            (json!(1), json!(40.0), json!("supervised")),
            (json!(2), json!(30.0), json!("supervised")),
        ]
    );

    let part = |n: u8| json!({"doses": [{"date": start_day().to_string(), "part": n}]});
    let (status, body) = app
        .dispense(&app.world.utdeler, &patient, "morning", part(1))
        .await;
    assert_eq!(status, StatusCode::CREATED, "{body}");
    assert_eq!(body["doses"].as_array().expect("doses").len(), 1);
    assert_eq!(body["doses"][0]["amount_mg"], json!(40.0));

    let row = app.row_on_list(&app.world.utdeler, &patient).await.expect("row");
    assert_eq!(row["due"][0]["recorded"]["outcome"], json!("given"));
    assert!(row["due"][1]["recorded"].is_null(), "{row}");
    assert_eq!(row["done"], json!(false));

    // The morning part again, from another screen: refused, nothing new recorded.
    let (status, body) = app
        .dispense(&app.world.utdeler, &patient, "morning-again", part(1))
        .await;
    assert_eq!(status, StatusCode::CONFLICT, "{body}");
    assert!(
        body["detail"]
            .as_str()
            .expect("detail")
            .contains("(del 1) er allerede registrert"),
        "{body}"
    );

    app.clock.advance(minutes(6 * 60));
    let (status, body) = app
        .dispense(&app.world.utdeler, &patient, "evening", part(2))
        .await;
    assert_eq!(status, StatusCode::CREATED, "{body}");
    assert_eq!(body["doses"][0]["part"], json!(2));
    assert_eq!(body["doses"][0]["amount_mg"], json!(30.0));

    let (status, body) = app
        .dispense(&app.world.utdeler, &patient, "evening-again", json!({}))
        .await;
    assert_eq!(status, StatusCode::CONFLICT, "{body}");
    let row = app.row_on_list(&app.world.utdeler, &patient).await.expect("row");
    assert_eq!(row["done"], json!(true), "{row}");
}

#[tokio::test]
async fn a_titration_plan_changes_the_dose_on_the_list_on_each_steps_date() {
    let app = spawn_app().await;
    let patient = app.enrol(102, start_day()).await;
    let mut body = methadone(json!(["60"]), start_day(), "Opptrapping");
    body["titration"] = json!([
        {"from": "2026-11-29", "dose_mg": 80},
        {"from": "2026-11-26", "dose_mg": "70"},
    ]);
    let signed = draft_and_sign(&app, &patient, &body).await;
    let steps: Vec<(Value, Value)> = signed["titration"]
        .as_array()
        .expect("titration")
        .iter()
        .map(|s| (s["from"].clone(), s["total_mg"].clone()))
        .collect();
    assert_eq!(
        steps,
        vec![
            (json!("2026-11-26"), json!(70.0)),
            (json!("2026-11-29"), json!(80.0)),
        ],
        "steps are kept in date order"
    );
    app.arrange(&patient, app.world.centre, "AAAAAAA", start_day())
        .await;

    let days = [
        (start_day(), 60.0),
        (date(2026, 11, 25), 60.0),
        (date(2026, 11, 26), 70.0),
        (date(2026, 11, 29), 80.0),
    ];
    for (day, mg) in days {
        app.set_oslo_time(day, Time::constant(9, 0, 0, 0));
        let row = app
            .row_on_list(&app.world.utdeler, &patient)
            .await
            .unwrap_or_else(|| panic!("on the list on {day}"));
        assert_eq!(row["due"][0]["dose_mg"], json!(mg), "{day}: {row}");
        assert_eq!(row["due"][0]["order_version"], json!(1));
        let (status, given) = app
            .dispense(&app.world.utdeler, &patient, &format!("day-{day}"), json!({}))
            .await;
        assert_eq!(status, StatusCode::CREATED, "{day}: {given}");
        assert_eq!(given["doses"][0]["amount_mg"], json!(mg));
        assert_eq!(app.overview(&patient).await["dose_today_mg"], json!(mg));
    }
}

#[tokio::test]
async fn a_titration_step_of_a_split_dose_is_split_like_the_base_dose() {
    let app = spawn_app().await;
    let patient = app.enrol(103, start_day()).await;
    let mut body = methadone(json!(["30", "30"]), start_day(), "Delt dose");
    body["titration"] = json!([{"from": "2026-11-24", "dose_mg": 65}]);
    let signed = draft_and_sign(&app, &patient, &body).await;
    assert_eq!(signed["titration"][0]["parts_mg"], json!([32.5, 32.5]));
    app.arrange(&patient, app.world.centre, "AAAAAAA", start_day())
        .await;
    app.set_oslo_time(date(2026, 11, 24), Time::constant(9, 0, 0, 0));
    let row = app.row_on_list(&app.world.utdeler, &patient).await.expect("row");
    let doses: Vec<&Value> = row["due"]
        .as_array()
        .expect("due")
        .iter()
        .map(|d| &d["dose_mg"])
        .collect();
    assert_eq!(doses, vec![&json!(32.5), &json!(32.5)]);
}

#[tokio::test]
async fn the_dose_safety_warnings_of_a_draft_are_listed_before_signing() {
    let app = spawn_app().await;
    let patient = app.enrol(104, start_day()).await;
    app.sign_methadone(&patient, &["60"], start_day()).await;
    let wednesday = date(2026, 11, 25);
    app.set_oslo_time(wednesday, Time::constant(9, 0, 0, 0));
    let cases: &[(&str, &[&str])] = &[
        ("50", &[]),
        ("70", &[]),
        ("71", &["large_methadone_increase"]),
        ("80", &["large_methadone_increase"]),
        ("160", &["above_usual_range", "large_methadone_increase"]),
    ];
    for (mg, expected) in cases {
        let (status, draft) =
            draft_with(&app, &patient, &methadone(json!([mg]), wednesday, "Justering")).await;
        assert_eq!(status, StatusCode::CREATED, "{draft}");
        let id = draft["id"].as_str().expect("id");
        let (status, body) = app
            .get_json(&app.world.lege, &format!("/api/v1/dose-orders/{id}/warnings"))
            .await;
        assert_eq!(status, StatusCode::OK, "{body}");
        assert_eq!(body["order"]["id"], json!(id));
        let warnings = body["warnings"].as_array().expect("warnings");
        let mut codes: Vec<&str> = warnings
            .iter()
            .map(|w| w["code"].as_str().expect("code"))
            .collect();
        codes.sort();
        assert_eq!(&codes, expected, "{mg} mg: {body}");
        for warning in warnings {
            assert!(
                !warning["message"].as_str().expect("message").is_empty(),
                "{warning}"
            );
        }
    }
}

#[tokio::test]
async fn a_methadone_increase_above_ten_mg_is_signed_only_with_a_confirmation_that_is_kept() {
    let app = spawn_app().await;
    let patient = app.patient_on_daily_methadone(105).await;
    let wednesday = date(2026, 11, 25);
    app.set_oslo_time(wednesday, Time::constant(9, 0, 0, 0));
    let (status, draft) =
        draft_with(&app, &patient, &methadone(json!(["80"]), wednesday, "Sterkt sug")).await;
    assert_eq!(status, StatusCode::CREATED, "{draft}");
    let id = draft["id"].as_str().expect("id");
    let (_, warnings) = app
        .get_json(&app.world.lege, &format!("/api/v1/dose-orders/{id}/warnings"))
        .await;
    assert_eq!(
        warnings["warnings"][0]["message"],
        json!(
            "Metadonøkning fra 60 mg til 80 mg fra 25.11.2026 er større enn anbefalt steg: \
             økningen er 20 mg, grensen er 10 mg per økning."
        ),
        "{warnings}"
    );

    for body in [
        json!({}),
        json!({"confirmation": "   "}),
        json!({"confirmation": null}),
    ] {
        let (status, problem) = sign_with(&app, &draft, &body).await;
        assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{body}: {problem}");
        let fields = error_fields(&problem);
        assert!(
            !fields.is_empty() && fields.iter().all(|f| f == "confirmation"),
            "{problem}"
        );
        let messages: Vec<&str> = problem["errors"]
            .as_array()
            .expect("errors")
            .iter()
            .map(|e| e["message"].as_str().expect("message"))
            .collect();
        assert!(messages.contains(&"Bekreft med begrunnelse for å signere likevel."));
        assert!(
            messages
                .iter()
                .any(|m| m.starts_with("Metadonøkning fra 60 mg til 80 mg"))
        );
    }
    // Refused signings changed nothing: still a draft, the list still gives 60 mg.
    let history = app.order_history(&patient).await;
    assert_eq!(history.last().expect("draft")["status"], json!("draft"));
    let row = app.row_on_list(&app.world.utdeler, &patient).await.expect("row");
    assert_eq!(row["due"][0]["dose_mg"], json!(60.0));

    let reason = "Vurdert: lav toleranse usannsynlig, tett oppfølging";
    let (status, signed) = sign_with(&app, &draft, &json!({"confirmation": reason})).await;
    assert_eq!(status, StatusCode::OK, "{signed}");
    assert_eq!(signed["version"], json!(2));
    assert_eq!(signed["warnings_confirmed"], json!(reason));
    assert_eq!(signed["signed_by_name"], json!("Lege Lise"));
    let history = app.order_history(&patient).await;
    assert_eq!(history.last().expect("v2")["warnings_confirmed"], json!(reason));
    let row = app.row_on_list(&app.world.utdeler, &patient).await.expect("row");
    assert_eq!(row["due"][0]["dose_mg"], json!(80.0));
}

#[tokio::test]
async fn bad_dose_orders_are_refused_with_the_fields_in_error_and_nothing_is_stored() {
    let app = spawn_app().await;
    let patient = app.enrol(106, start_day()).await;
    let base = methadone(json!(["60"]), start_day(), "Oppstart");
    let with = |changes: Value| {
        let mut body = base.clone();
        for (key, value) in changes.as_object().expect("object") {
            body[key] = value.clone();
        }
        body
    };
    let depot = json!({"substance": "depot_buprenorphine_weekly", "form": "injection"});
    let cases: Vec<(&str, Value, &[&str])> = vec![
        (
            "unknown substance",
            with(json!({"substance": "heroin"})),
            &["substance"],
        ),
        (
            "form not allowed for the substance",
            with(json!({"form": "sublingual_tablet"})),
            &["form"],
        ),
        ("no form", with(json!({"form": ""})), &["form"]),
        (
            "dose as letters",
            with(json!({"parts_mg": ["abc"]})),
            &["parts_mg"],
        ),
        ("dose zero", with(json!({"parts_mg": [0]})), &["parts_mg"]),
        (
            "dose zero as text",
            with(json!({"parts_mg": ["0"]})),
            &["parts_mg"],
        ),
        ("negative dose", with(json!({"parts_mg": [-5]})), &["parts_mg"]),
        (
            "negative dose as text",
            with(json!({"parts_mg": ["-5"]})),
            &["parts_mg"],
        ),
        ("no dose", with(json!({"parts_mg": []})), &["parts_mg"]),
        (
            "dose too precise",
            with(json!({"parts_mg": ["60,0001"]})),
            &["parts_mg"],
        ),
        (
            "dose absurdly large",
            with(json!({"parts_mg": [20000]})),
            &["parts_mg"],
        ),
        (
            "five parts",
            with(json!({"parts_mg": [10, 10, 10, 10, 10]})),
            &["parts_mg"],
        ),
        (
            "a split depot injection",
            with(json!({"substance": depot["substance"], "form": depot["form"], "parts_mg": [8, 8]})),
            &["parts_mg"],
        ),
        ("no reason", with(json!({"reason": ""})), &["reason"]),
        ("a blank reason", with(json!({"reason": "  \n "})), &["reason"]),
        (
            "no start date",
            with(json!({"effective_from": ""})),
            &["effective_from"],
        ),
        (
            "a start date that does not exist",
            with(json!({"effective_from": "31.02.2027"})),
            &["effective_from"],
        ),
        (
            "a start before the enrolment",
            with(json!({"effective_from": "2026-11-20"})),
            &["effective_from"],
        ),
        (
            "a titration step before the start",
            with(
                json!({"effective_from": "2026-11-25", "titration": [{"from": "2026-11-24", "dose_mg": 70}]}),
            ),
            &["titration"],
        ),
        (
            "a titration step on the start day",
            with(json!({"titration": [{"from": "2026-11-23", "dose_mg": 70}]})),
            &["titration"],
        ),
        (
            "a titration step without a dose",
            with(json!({"titration": [{"from": "2026-11-30", "dose_mg": "x"}]})),
            &["titration"],
        ),
        (
            "two titration steps on one day",
            with(json!({"titration": [
                {"from": "2026-11-30", "dose_mg": 70},
                {"from": "2026-11-30", "dose_mg": 80},
            ]})),
            &["titration"],
        ),
        (
            "several fields at once",
            json!({"substance": "methadone_oral_solution", "form": "injection", "parts_mg": ["abc"],
                "effective_from": "i morgen", "reason": ""}),
            &["form", "parts_mg", "effective_from", "reason"],
        ),
        (
            "parts as a single number",
            with(json!({"parts_mg": 60})),
            &["body"],
        ),
    ];
    for (what, body, expected) in cases {
        let (status, problem) = draft_with(&app, &patient, &body).await;
        assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{what}: {problem}");
        assert_eq!(error_fields(&problem), *expected, "{what}: {problem}");
        let detail = problem["detail"].as_str().expect("detail");
        assert!(detail.starts_with("Skjemaet har feil:"), "{what}: {problem}");
        for error in problem["errors"].as_array().expect("errors") {
            let message = error["message"].as_str().expect("message");
            assert!(
                !message.is_empty() && detail.contains(message),
                "{what}: {problem}"
            );
        }
    }
    assert!(app.order_history(&patient).await.is_empty(), "nothing was stored");
    assert_eq!(app.overview(&patient).await["drafts"], json!(0));
}

#[tokio::test]
async fn the_norwegian_decimal_comma_and_a_number_give_the_same_dose() {
    let app = spawn_app().await;
    let patient = app.enrol(107, start_day()).await;
    let body = json!({
        "substance": "buprenorphine_naloxone",
        "form": "sublingual_film",
        "parts_mg": ["8,5", 4.25],
        "effective_from": "23.11.2026",
        "reason": "Oppstart",
    });
    let (status, draft) = draft_with(&app, &patient, &body).await;
    assert_eq!(status, StatusCode::CREATED, "{draft}");
    assert_eq!(draft["parts_mg"], json!([8.5, 4.25]));
    assert_eq!(draft["total_mg"], json!(12.75));
    assert_eq!(draft["effective_from"], json!("2026-11-23"));
    assert_eq!(draft["substance_name"], json!("Buprenorfin-nalokson"));
}

#[tokio::test]
async fn weekly_depot_buprenorphine_is_an_injection_on_the_list_every_seventh_day_from_its_start() {
    let app = spawn_app().await;
    let patient = app.enrol(108, start_day()).await;
    let tuesday = date(2026, 11, 24);
    let body = json!({
        "substance": "depot_buprenorphine_weekly",
        "form": "injection",
        "parts_mg": [16],
        "effective_from": tuesday.to_string(),
        "reason": "Over til depot",
    });
    draft_and_sign(&app, &patient, &body).await;
    app.arrange(&patient, app.world.centre, "AAAAAAA", start_day())
        .await;

    let mut injection_days = Vec::new();
    for day in jiff::civil::date(2026, 11, 23)
        .series(jiff::Span::new().days(1))
        .take(16)
    {
        app.set_oslo_time(day, Time::constant(9, 0, 0, 0));
        let Some(row) = app.row_on_list(&app.world.utdeler, &patient).await else {
            continue;
        };
        let due = row["due"].as_array().expect("due");
        assert_eq!(due.len(), 1, "{day}: {row}");
        assert_eq!(due[0]["mode"], json!("injection"), "{day}");
        assert_eq!(due[0]["dose_mg"], json!(16.0));
        // The days between injections are not missed days.
        assert_eq!(row["missed_consecutive_days"], json!(0), "{day}: {row}");
        if !due[0]["recorded"].is_null() {
            // Given earlier in its window: shown as done, not due again.
            continue;
        }
        if due[0]["date"] != json!(day.to_string()) {
            // Due early, within its window: this patient comes on the day itself.
            continue;
        }
        injection_days.push(day.to_string());
        let (status, given) = app
            .dispense(&app.world.utdeler, &patient, &format!("inj-{day}"), json!({}))
            .await;
        assert_eq!(status, StatusCode::CREATED, "{day}: {given}");
        assert_eq!(given["doses"][0]["mode"], json!("injection"));
    }
    assert_eq!(
        injection_days,
        vec!["2026-11-24", "2026-12-01", "2026-12-08"],
        "every 7 days from the order's start"
    );
}

#[tokio::test]
async fn a_weekly_depot_injection_can_be_given_two_days_late_but_not_three() {
    let app = spawn_app().await;
    let patient = app.enrol(109, start_day()).await;
    let body = json!({
        "substance": "depot_buprenorphine_weekly",
        "form": "injection",
        "parts_mg": [16],
        "effective_from": start_day().to_string(),
        "reason": "Over til depot",
    });
    draft_and_sign(&app, &patient, &body).await;
    app.arrange(&patient, app.world.centre, "AAAAAAA", start_day())
        .await;
    // The injection of Monday 23 November, given on Wednesday the 25th.
    app.set_oslo_time(date(2026, 11, 25), Time::constant(9, 0, 0, 0));
    let (status, given) = app
        .dispense(&app.world.utdeler, &patient, "late", json!({}))
        .await;
    assert_eq!(status, StatusCode::CREATED, "{given}");
    assert_eq!(given["doses"][0]["date"], json!("2026-11-23"));
    // The next one, of Monday 30 November, is not given until Thursday 3 December:
    // its window has closed, and nothing is due.
    app.set_oslo_time(date(2026, 12, 3), Time::constant(9, 0, 0, 0));
    let (status, refused) = app
        .dispense(&app.world.utdeler, &patient, "too-late", json!({}))
        .await;
    assert_eq!(status, StatusCode::CONFLICT, "{refused}");
}

/// Discards an order through the API as `staff`.
async fn discard_as(
    app: &TestApp,
    staff: &crate::helpers::Staff,
    order: &Value,
    body: &Value,
) -> (StatusCode, Value) {
    let id = order["id"].as_str().expect("order id");
    app.post_json(staff, &format!("/api/v1/dose-orders/{id}/discard"), body)
        .await
}

/// The audit entries about a patient whose detail starts with `detail`, oldest
/// first: (allowed, detail).
async fn audited(app: &TestApp, patient: &str, detail: &str) -> Vec<(bool, String)> {
    let mut conn = app.state.store.read().await.expect("conn");
    let mut entries = samhand_store::audit::for_patient(&mut conn, patient.parse().expect("id"), 10_000)
        .await
        .expect("audit");
    entries.reverse();
    entries
        .into_iter()
        .filter(|e| e.action == "write" && e.detail.starts_with(detail))
        .map(|e| (e.allowed, e.detail))
        .collect()
}

#[tokio::test]
async fn a_discarded_draft_stays_in_the_history_as_discarded_and_can_no_longer_be_signed() {
    let app = spawn_app().await;
    let patient = app.patient_on_daily_methadone(108).await;
    let draft = app
        .draft(
            &patient,
            "methadone_oral_solution",
            "oral_solution",
            &["70"],
            start_day(),
        )
        .await;
    assert_eq!(app.overview(&patient).await["drafts"], json!(1));

    // Dispensing staff are refused by the access policy, and the refusal is audited.
    let (status, problem) = discard_as(&app, &app.world.utdeler, &draft, &json!({})).await;
    assert_eq!(status, StatusCode::FORBIDDEN, "{problem}");
    let denied = audited(&app, &patient, "dose order discarded").await;
    assert_eq!(denied.len(), 1, "{denied:?}");
    assert!(!denied[0].0, "{denied:?}");

    let (status, discarded) = discard_as(
        &app,
        &app.world.lege,
        &draft,
        &json!({"reason": "Feil legemiddelform"}),
    )
    .await;
    assert_eq!(status, StatusCode::OK, "{discarded}");
    assert_eq!(discarded["status"], json!("discarded"));
    assert_eq!(discarded["discarded_by"], json!(app.world.lege.id.to_string()));
    assert_eq!(discarded["discard_reason"], json!("Feil legemiddelform"));
    assert!(discarded["discarded_at"].is_string(), "{discarded}");
    let entries = audited(&app, &patient, "dose order discarded").await;
    assert_eq!(
        entries.last(),
        Some(&(true, "dose order discarded".to_string())),
        "{entries:?}"
    );

    // Nothing is deleted: the history still has the draft, now discarded.
    let history = app.order_history(&patient).await;
    let kept = history
        .iter()
        .find(|o| o["id"] == draft["id"])
        .expect("the discarded draft is kept");
    assert_eq!(kept["status"], json!("discarded"), "{kept}");
    assert_eq!(kept["version"], Value::Null);
    assert_eq!(app.overview(&patient).await["drafts"], json!(0));

    // It can be neither signed nor discarded again.
    let (status, problem) = sign_with(&app, &draft, &json!({"confirmation": "Vurdert"})).await;
    assert_eq!(status, StatusCode::CONFLICT, "{problem}");
    assert_eq!(
        problem["detail"],
        json!("Utkastet er forkastet og kan ikke signeres.")
    );
    let (status, problem) = discard_as(&app, &app.world.lege, &draft, &json!({})).await;
    assert_eq!(status, StatusCode::CONFLICT, "{problem}");
    let overview = app.overview(&patient).await;
    assert_eq!(overview["effective_order"]["version"], json!(1), "{overview}");
    assert_eq!(overview["dose_today_mg"], json!(60.0));
}

#[tokio::test]
async fn a_signed_dose_order_cannot_be_discarded() {
    let app = spawn_app().await;
    let patient = app.patient_on_daily_methadone(109).await;
    let signed = app.order_history(&patient).await.remove(0);
    assert_eq!(signed["status"], json!("signed"));

    let (status, problem) = discard_as(&app, &app.world.lege, &signed, &json!({"reason": "Angret"})).await;
    assert_eq!(status, StatusCode::CONFLICT, "{problem}");
    assert_eq!(
        problem["detail"],
        json!("Ordinasjonen er signert og kan ikke forkastes. Lag en ny ordinasjon for å endre dosen.")
    );
    let history = app.order_history(&patient).await;
    assert_eq!(history.len(), 1);
    assert_eq!(history[0]["status"], json!("signed"));
    assert_eq!(history[0]["discarded_at"], Value::Null);
    assert_eq!(app.overview(&patient).await["dose_today_mg"], json!(60.0));
    // The refused attempt is audited as refused, not as a discard.
    let entries = audited(&app, &patient, "dose order discarded").await;
    assert_eq!(entries.len(), 1, "{entries:?}");
    assert!(entries[0].1.contains("refused"), "{entries:?}");
}
