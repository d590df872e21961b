//! Overdose prevention at HTTP level: the crisis plan in versions by staff and by the
//! patient, naloxone kits counted per place, an overdose that alerts the care team
//! and tasks the consultant, ending LAR with the same follow-up as a discharge, and
//! bad input and unrelated staff refused with nothing changed.

use reqwest::StatusCode;
use serde_json::{Value, json};

use crate::helpers::{Staff, TestApp, error_fields, spawn_app, start_day};

impl TestApp {
    async fn inbox_of(&self, staff: &Staff) -> Vec<Value> {
        let (status, body) = self.get_json(staff, "/api/v1/inbox").await;
        assert_eq!(status, StatusCode::OK, "{body}");
        body.as_array().expect("inbox").clone()
    }

    async fn inbox_kind(&self, staff: &Staff, kind: &str, subject: &str) -> Vec<Value> {
        self.inbox_of(staff)
            .await
            .into_iter()
            .filter(|m| m["kind"] == json!(kind) && m["subject"].as_str().unwrap_or("").contains(subject))
            .collect()
    }

    async fn my_task_descriptions(&self, staff: &Staff, patient: &str) -> Vec<(String, String)> {
        let (status, mine) = self.get_json(staff, "/api/v1/tasks/mine").await;
        assert_eq!(status, StatusCode::OK, "{mine}");
        mine["tasks"]
            .as_array()
            .expect("tasks")
            .iter()
            .filter(|t| t["patient"]["id"] == json!(patient))
            .map(|t| {
                (
                    t["description"].as_str().expect("description").to_string(),
                    t["due_on"].as_str().expect("due").to_string(),
                )
            })
            .collect()
    }

    async fn save_crisis_plan(&self, actor: &Staff, patient: &str, warning: &str) -> (StatusCode, Value) {
        self.post_json(
            actor,
            &format!("/api/v1/patients/{patient}/crisis-plan"),
            &json!({
                "warning_signs": warning,
                "what_helps": "Gå tur med hunden, ringe søster",
                "contacts": [
                    {"name": "Søster Sara", "phone": "+47 400 00 001"},
                    {"name": "LAR-konsulenten", "phone": "22 00 00 00"}
                ]
            }),
        )
        .await
    }
}

fn overdose_body(outcome: &str) -> Value {
    json!({
        "occurred_on": "2026-11-22",
        "outcome": outcome,
        "place_description": "Hjemme",
        "substances": "Heroin og benzodiazepiner",
        "naloxone_used": true,
        "reported_by": "Ambulansen"
    })
}

#[tokio::test]
async fn the_crisis_plan_is_versioned_by_staff_and_by_the_patient_and_another_patients_token_is_refused() {
    let app = spawn_app().await;
    let w = &app.world;
    let patient = app.patient_on_daily_methadone(200).await;
    let other = app.patient_on_daily_methadone(201).await;

    let (status, first) = app
        .save_crisis_plan(&w.konsulent, &patient, "Isolerer meg, slutter å svare på telefon")
        .await;
    assert_eq!(status, StatusCode::CREATED, "{first}");
    assert_eq!(first["version"], json!(1));
    assert_eq!(first["by_patient"], json!(false));

    // The patient edits their own plan with their own token.
    let own = app.patient_token(&patient).await;
    let (status, second) = app
        .save_crisis_plan(&own, &patient, "Sover dårlig, isolerer meg")
        .await;
    assert_eq!(status, StatusCode::CREATED, "{second}");
    assert_eq!(second["version"], json!(2));
    assert_eq!(second["by_patient"], json!(true));

    let (status, plan) = app
        .get_json(&own, &format!("/api/v1/patients/{patient}/crisis-plan"))
        .await;
    assert_eq!(status, StatusCode::OK, "{plan}");
    assert_eq!(
        plan["current"]["warning_signs"],
        json!("Sover dårlig, isolerer meg")
    );
    assert_eq!(plan["current"]["contacts"][0]["name"], json!("Søster Sara"));
    let history = plan["history"].as_array().expect("history");
    assert_eq!(history.len(), 2);
    assert_eq!(history[1]["recorded_by"]["id"], json!(w.konsulent.id.to_string()));

    // Another patient's token can neither read nor write this plan.
    let stranger = app.patient_token(&other).await;
    let (status, body) = app
        .get_json(&stranger, &format!("/api/v1/patients/{patient}/crisis-plan"))
        .await;
    assert_eq!(status, StatusCode::FORBIDDEN, "{body}");
    let (status, _) = app.save_crisis_plan(&stranger, &patient, "Ikke min plan").await;
    assert_eq!(status, StatusCode::FORBIDDEN);
    // A patient cannot record naloxone or overdoses: that is staff work.
    let (status, _) = app
        .post_json(
            &own,
            &format!("/api/v1/patients/{patient}/naloxone"),
            &json!({"handed_out_on": "2026-11-23", "training_given": true}),
        )
        .await;
    assert!(
        status == StatusCode::FORBIDDEN || status == StatusCode::UNAUTHORIZED,
        "{status}"
    );
    let (_, plan) = app
        .get_json(&w.lege, &format!("/api/v1/patients/{patient}/crisis-plan"))
        .await;
    assert_eq!(plan["history"].as_array().expect("history").len(), 2);

    // The page shows the plan and its history to staff.
    let session = app.session_of("konsulent").await;
    let (status, html) = app
        .page(&session, &format!("/pasienter/{patient}/kriseplan"))
        .await;
    assert_eq!(status, StatusCode::OK);
    assert!(html.contains("Sover dårlig, isolerer meg"), "{html}");
    assert!(html.contains("Versjon 1"), "{html}");
}

#[tokio::test]
async fn naloxone_kits_are_recorded_and_counted_per_place() {
    let app = spawn_app().await;
    let w = &app.world;
    let first = app.patient_on_daily_methadone(210).await;
    let second = app.patient_on_daily_methadone(211).await;
    for (staff, patient, kits, training) in [
        (&w.utdeler, &first, 2, true),
        (&w.utdeler, &second, 1, false),
        (&w.konsulent, &first, 1, true),
    ] {
        let (status, body) = app
            .post_json(
                staff,
                &format!("/api/v1/patients/{patient}/naloxone"),
                &json!({"handed_out_on": "2026-11-23", "kits": kits, "training_given": training}),
            )
            .await;
        assert_eq!(status, StatusCode::CREATED, "{body}");
    }
    let (status, kits) = app
        .get_json(&w.lege, &format!("/api/v1/patients/{first}/naloxone"))
        .await;
    assert_eq!(status, StatusCode::OK, "{kits}");
    let kits = kits.as_array().expect("kits");
    assert_eq!(kits.len(), 2);
    assert!(
        kits.iter()
            .any(|k| k["place"]["id"] == json!(w.centre.to_string()) && k["kits"] == json!(2))
    );
    assert!(kits.iter().any(|k| k["place"]["id"] == json!(w.unit.to_string())));

    // The centre's report: its own hand-outs only.
    let (status, report) = app
        .get_json(&w.utdeler, "/api/v1/naloxone?from=2026-11-01&to=2026-11-30")
        .await;
    assert_eq!(status, StatusCode::OK, "{report}");
    assert_eq!(report["total_kits"], json!(3), "{report}");
    let lines = report["lines"].as_array().expect("lines");
    assert_eq!(lines.len(), 1);
    assert_eq!(lines[0]["month"], json!("2026-11"));
    assert_eq!(lines[0]["patients"], json!(2));
    assert_eq!(lines[0]["with_training"], json!(1));

    // The LAR unit's report: its patients' kits wherever handed out, per place.
    let (_, report) = app.get_json(&w.lege, "/api/v1/naloxone").await;
    assert_eq!(report["total_kits"], json!(4), "{report}");
    assert_eq!(report["lines"].as_array().expect("lines").len(), 2);
    // Another place has handed out nothing.
    let (_, report) = app.get_json(&w.utdeler2, "/api/v1/naloxone").await;
    assert_eq!(report["total_kits"], json!(0), "{report}");
    // A period that has not yet begun counts nothing; a reversed one is refused.
    let (status, report) = app
        .get_json(&w.utdeler, "/api/v1/naloxone?from=2026-12-01&to=2026-11-01")
        .await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY);
    assert_eq!(error_fields(&report), vec!["to"]);

    // The overview page shows the kits.
    let session = app.session_of("lege").await;
    let (_, html) = app.page(&session, &format!("/pasienter/{first}")).await;
    assert!(html.contains("Nalokson"), "{html}");
    assert!(html.contains("23.11.2026"), "{html}");
}

#[tokio::test]
async fn an_overdose_alerts_the_lar_unit_the_care_team_and_the_place_and_gives_the_consultant_a_task() {
    let app = spawn_app().await;
    let w = &app.world;
    let patient = app.patient_on_daily_methadone(220).await;
    app.add_to_team(&patient, "fastlege", "member").await;

    let (status, event) = app
        .post_json(
            &w.utdeler,
            &format!("/api/v1/patients/{patient}/overdoses"),
            &overdose_body("non_fatal"),
        )
        .await;
    assert_eq!(status, StatusCode::CREATED, "{event}");
    assert_eq!(event["outcome"], json!("non_fatal"));

    let found = app.inbox_kind(&w.lege, "overdose", "Overdose 22.11.2026").await;
    assert_eq!(found.len(), 1, "{found:?}");
    assert!(
        found[0]["body"]
            .as_str()
            .expect("body")
            .contains("Konsulent Kari")
    );
    // The place and the care team's GP are alerted too; the details (health
    // information) they see only where the patient has shared it with them.
    for staff in [&w.lege, &w.utdeler, &w.fastlege] {
        let found: Vec<Value> = app
            .inbox_of(staff)
            .await
            .into_iter()
            .filter(|m| m["kind"] == json!("overdose") && m["patient"]["id"] == json!(patient))
            .collect();
        assert_eq!(found.len(), 1, "{} got {found:?}", staff.username);
        assert_eq!(found[0]["important"], json!(true));
    }
    assert!(app.inbox_kind(&w.utdeler2, "overdose", "").await.is_empty());

    let tasks = app.my_task_descriptions(&w.konsulent, &patient).await;
    assert_eq!(tasks.len(), 1, "{tasks:?}");
    assert!(
        tasks[0].0.contains("Følg opp etter overdose 22.11.2026"),
        "{tasks:?}"
    );
    assert_eq!(tasks[0].1, "2026-11-24");

    // A fatal overdose says so plainly.
    let (status, _) = app
        .post_json(
            &w.konsulent,
            &format!("/api/v1/patients/{patient}/overdoses"),
            &overdose_body("fatal"),
        )
        .await;
    assert_eq!(status, StatusCode::CREATED);
    let fatal = app.inbox_kind(&w.lege, "overdose", "DØDELIG").await;
    assert_eq!(fatal.len(), 1, "{fatal:?}");
    assert!(
        fatal[0]["body"]
            .as_str()
            .expect("body")
            .contains("døde av overdose")
    );
    let (_, list) = app
        .get_json(&w.lege, &format!("/api/v1/patients/{patient}/overdoses"))
        .await;
    assert_eq!(list.as_array().expect("list").len(), 2);
    assert_eq!(list[0]["outcome"], json!("fatal"));

    // The leader's overview counts them.
    let (status, overview) = app.get_json(&w.leder, "/api/v1/leader/overview").await;
    assert_eq!(status, StatusCode::OK, "{overview}");
    assert_eq!(overview["overdoses_last_12_months"], json!(2));
}

#[tokio::test]
async fn ending_lar_alerts_the_care_team_and_tasks_the_consultant_with_no_crisis_plan_task_when_one_exists() {
    let app = spawn_app().await;
    let w = &app.world;
    let without = app.patient_on_daily_methadone(230).await;
    let with_plan = app.patient_on_daily_methadone(231).await;
    let (status, _) = app
        .save_crisis_plan(&w.konsulent, &with_plan, "Isolerer meg")
        .await;
    assert_eq!(status, StatusCode::CREATED);

    for patient in [&without, &with_plan] {
        let (status, body) = app
            .post_json(
                &w.lege,
                &format!("/api/v1/patients/{patient}/end"),
                &json!({"ended_on": start_day().to_string(), "reason": "voluntary_discharge"}),
            )
            .await;
        assert_eq!(status, StatusCode::OK, "{body}");
    }
    let lar = app
        .inbox_kind(&w.lege, "end_of_lar", "LAR avsluttet 23.11.2026")
        .await;
    assert_eq!(lar.len(), 2, "{lar:?}");
    assert_eq!(lar[0]["important"], json!(true));
    // The place is told too; with treatment ended it no longer reads the details.
    let place: Vec<Value> = app
        .inbox_of(&w.utdeler)
        .await
        .into_iter()
        .filter(|m| m["kind"] == json!("end_of_lar"))
        .collect();
    assert_eq!(place.len(), 2, "the dispensing place is told: {place:?}");
    assert_eq!(place[0]["important"], json!(true));

    let tasks = app.my_task_descriptions(&w.konsulent, &without).await;
    assert_eq!(tasks.len(), 3, "{tasks:?}");
    assert!(
        tasks
            .iter()
            .any(|(d, due)| d.contains("Tett oppfølging") && due == "2026-11-30")
    );
    assert!(tasks.iter().any(|(d, _)| d.contains("kriseplan")));
    assert!(tasks.iter().any(|(d, _)| d.contains("nalokson")));
    let tasks = app.my_task_descriptions(&w.konsulent, &with_plan).await;
    assert_eq!(tasks.len(), 2, "{tasks:?}");
    assert!(!tasks.iter().any(|(d, _)| d.contains("kriseplan")), "{tasks:?}");

    // The overview shows the risk window and the way back in.
    let session = app.session_of("lege").await;
    let (_, html) = app.page(&session, &format!("/pasienter/{without}")).await;
    assert!(
        html.contains("Høy risiko for overdose: første uke etter avslutning"),
        "{html}"
    );
    assert!(html.contains("/pasienter/ny"), "{html}");
}

#[tokio::test]
async fn bad_input_names_the_fields_and_changes_nothing() {
    let app = spawn_app().await;
    let w = &app.world;
    let patient = app.patient_on_daily_methadone(240).await;
    let cases: Vec<(&Staff, String, Value, &[&str])> = vec![
        (
            &w.konsulent,
            format!("/api/v1/patients/{patient}/crisis-plan"),
            json!({}),
            &["warning_signs", "what_helps", "contacts"],
        ),
        (
            &w.konsulent,
            format!("/api/v1/patients/{patient}/crisis-plan"),
            json!({"warning_signs": "x", "what_helps": "y", "contacts": [{"name": "Sara", "phone": "12"}]}),
            &["contact_phone"],
        ),
        (
            &w.utdeler,
            format!("/api/v1/patients/{patient}/naloxone"),
            json!({"handed_out_on": "2026-11-24", "kits": 0}),
            &["handed_out_on", "kits", "training_given"],
        ),
        (
            &w.utdeler,
            format!("/api/v1/patients/{patient}/overdoses"),
            json!({"occurred_on": "i går", "outcome": "kanskje"}),
            &[
                "occurred_on",
                "outcome",
                "place_description",
                "substances",
                "naloxone_used",
                "reported_by",
            ],
        ),
    ];
    for (staff, path, body, fields) in cases {
        let (status, problem) = app.post_json(staff, &path, &body).await;
        assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{path}: {problem}");
        assert_eq!(error_fields(&problem), fields.to_vec(), "{path}");
    }
    let (_, plan) = app
        .get_json(&w.lege, &format!("/api/v1/patients/{patient}/crisis-plan"))
        .await;
    assert_eq!(plan["history"], json!([]));
    let (_, kits) = app
        .get_json(&w.lege, &format!("/api/v1/patients/{patient}/naloxone"))
        .await;
    assert_eq!(kits, json!([]));
    let (_, events) = app
        .get_json(&w.lege, &format!("/api/v1/patients/{patient}/overdoses"))
        .await;
    assert_eq!(events, json!([]));
    assert!(app.inbox_kind(&w.lege, "overdose", "").await.is_empty());
    assert!(app.my_task_descriptions(&w.konsulent, &patient).await.is_empty());

    // The page form shows the errors in Norwegian and keeps what was typed.
    let session = app.session_of("konsulent").await;
    let (status, html, _) = app
        .submit(
            &session,
            &format!("/pasienter/{patient}/overdose"),
            &[("occurred_on", "2026-11-22"), ("place_description", "Parken")],
        )
        .await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(
        html.contains("Velg om overdosen var dødelig eller ikke."),
        "{html}"
    );
    assert!(html.contains("Parken"), "{html}");
}

#[tokio::test]
async fn unrelated_staff_are_refused() {
    let app = spawn_app().await;
    let w = &app.world;
    let patient = app.patient_on_daily_methadone(250).await;
    let writes = [
        (format!("/api/v1/patients/{patient}/crisis-plan"), json!({})),
        (
            format!("/api/v1/patients/{patient}/naloxone"),
            json!({"handed_out_on": "2026-11-23", "training_given": true}),
        ),
        (
            format!("/api/v1/patients/{patient}/overdoses"),
            overdose_body("non_fatal"),
        ),
    ];
    for staff in [&w.fremmed_lege, &w.utdeler2] {
        for (path, body) in &writes {
            let (status, problem) = app.post_json(staff, path, body).await;
            assert_eq!(
                status,
                StatusCode::FORBIDDEN,
                "{} {path}: {problem}",
                staff.username
            );
        }
        for path in ["crisis-plan", "naloxone", "overdoses"] {
            let (status, _) = app
                .get_json(staff, &format!("/api/v1/patients/{patient}/{path}"))
                .await;
            assert_eq!(status, StatusCode::FORBIDDEN, "{} {path}", staff.username);
        }
    }
    // The leader oversees but does not chart.
    let (status, _) = app
        .post_json(
            &w.leder,
            &format!("/api/v1/patients/{patient}/overdoses"),
            &overdose_body("non_fatal"),
        )
        .await;
    assert_eq!(status, StatusCode::FORBIDDEN);
    let (_, events) = app
        .get_json(&w.lege, &format!("/api/v1/patients/{patient}/overdoses"))
        .await;
    assert_eq!(events, json!([]));
}
