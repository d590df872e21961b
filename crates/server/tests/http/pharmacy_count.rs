//! The pharmacy's count: what a pharmacy handed out per patient and day in a month,
//! seen by the pharmacy and the LAR unit, approved (frozen) by the unit's leader, and
//! a later correction shown as a difference to the approved count (H70, H71).

use jiff::civil::{Date, Time, date};
use reqwest::StatusCode;
use serde_json::{Value, json};

use crate::helpers::{Staff, TestApp, error_fields, read, spawn_app, start_day};

impl TestApp {
    async fn pharmacy_count(&self, staff: &Staff, month: &str) -> (StatusCode, Value) {
        read(
            self.get(staff, &format!("/api/v1/pharmacy-count?month={month}"))
                .send()
                .await
                .expect("count"),
        )
        .await
    }

    async fn approve_count(&self, staff: &Staff, month: &str) -> (StatusCode, Value) {
        let body = json!({"month": month, "pharmacy_id": self.world.pharmacy.to_string()});
        read(
            self.post(staff, "/api/v1/pharmacy-count/approvals", &body)
                .send()
                .await
                .expect("approve"),
        )
        .await
    }

    async fn dispense_on(&self, staff: &Staff, patient: &str, day: Date, key: &str) -> String {
        self.set_oslo_time(day, Time::constant(9, 0, 0, 0));
        let (status, body) = self.dispense(staff, patient, key, json!({})).await;
        assert_eq!(status, StatusCode::CREATED, "{body}");
        body["id"].as_str().expect("id").to_string()
    }
}

fn dates(line: &Value, key: &str) -> Vec<String> {
    line[key]
        .as_array()
        .expect("dates")
        .iter()
        .map(|d| d.as_str().expect("date").to_string())
        .collect()
}

#[tokio::test]
async fn a_pharmacy_month_is_counted_approved_frozen_and_a_later_correction_shows_as_a_difference() {
    let app = spawn_app().await;
    let w = &app.world;
    // Monday to Saturday at the pharmacy (closed on Sundays): Sunday's dose is
    // handed out on Saturday.
    let patient = app.enrol(301, start_day()).await;
    app.sign_methadone(&patient, &["60"], start_day()).await;
    app.arrange(&patient, w.pharmacy, "AAAAAAT", start_day()).await;
    // A patient at the centre is no part of the pharmacy's count.
    let elsewhere = app.patient_on_daily_methadone(302).await;
    app.dispense_on(&w.utdeler, &elsewhere, date(2026, 11, 23), "centre")
        .await;
    let mut events = Vec::new();
    for day in 23..=28 {
        events.push(
            app.dispense_on(&w.apotek, &patient, date(2026, 11, day), &format!("d{day}"))
                .await,
        );
    }
    let (tuesday, friday) = (events[1].clone(), events[4].clone());

    // The pharmacy sees its own count, the unit sees the same.
    let (status, counts) = app.pharmacy_count(&w.apotek, "2026-11").await;
    assert_eq!(status, StatusCode::OK, "{counts}");
    assert_eq!(counts.as_array().expect("counts").len(), 1, "{counts}");
    let count = &counts[0];
    assert_eq!(count["pharmacy"]["id"], json!(w.pharmacy.to_string()));
    assert_eq!(count["lar_unit"]["id"], json!(w.unit.to_string()));
    let lines = count["lines"].as_array().expect("lines");
    assert_eq!(lines.len(), 1, "{count}");
    assert_eq!(lines[0]["patient"]["id"], json!(patient));
    assert_eq!(lines[0]["supervised_intakes"], json!(6));
    assert_eq!(
        dates(&lines[0], "supervised_dates"),
        [
            "2026-11-23",
            "2026-11-24",
            "2026-11-25",
            "2026-11-26",
            "2026-11-27",
            "2026-11-28"
        ]
    );
    assert_eq!(lines[0]["take_home_handouts"], json!(1));
    assert_eq!(dates(&lines[0], "take_home_dates"), ["2026-11-28"]);
    assert_eq!(count["approved_as_is"], json!(false));
    let (status, unit_view) = app.pharmacy_count(&w.leder, "2026-11").await;
    assert_eq!(status, StatusCode::OK, "{unit_view}");
    assert_eq!(unit_view[0]["lines"], count["lines"]);
    // The next month has nothing yet.
    let (_, december) = app.pharmacy_count(&w.apotek, "2026-12").await;
    assert_eq!(december, json!([]));

    // Only the pharmacy and the LAR unit see it; a bad month changes nothing.
    let (status, _) = app.pharmacy_count(&w.utdeler, "2026-11").await;
    assert_eq!(status, StatusCode::FORBIDDEN);
    let (status, _) = app.pharmacy_count(&w.fastlege, "2026-11").await;
    assert_eq!(status, StatusCode::FORBIDDEN);
    let (status, problem) = app.pharmacy_count(&w.apotek, "november").await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{problem}");
    assert_eq!(error_fields(&problem), ["month"]);

    // Approval: after the month is over, by the unit's leader only.
    let (status, problem) = app.approve_count(&w.leder, "2026-11").await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{problem}");
    app.set_oslo_time(date(2026, 12, 2), Time::constant(10, 0, 0, 0));
    let (status, _) = app.approve_count(&w.apotek, "2026-11").await;
    assert_eq!(status, StatusCode::FORBIDDEN);
    let (status, _) = app.approve_count(&w.konsulent, "2026-11").await;
    assert_eq!(status, StatusCode::FORBIDDEN);
    let (status, approval) = app.approve_count(&w.leder, "2026-11").await;
    assert_eq!(status, StatusCode::CREATED, "{approval}");
    assert_eq!(approval["version"], json!(1));
    assert_eq!(approval["supervised_intakes"], json!(6));
    assert_eq!(approval["take_home_handouts"], json!(1));
    let (status, again) = app.approve_count(&w.leder, "2026-11").await;
    assert_eq!(status, StatusCode::CONFLICT, "{again}");
    let (_, counts) = app.pharmacy_count(&w.apotek, "2026-11").await;
    assert_eq!(counts[0]["approved_as_is"], json!(true), "{counts}");

    // In December the prescriber corrects Tuesday's recording (not given) and
    // Friday's amount (given, but 50 mg). The approval stays as it was; the count
    // shows Tuesday as a difference, and Friday still counts on Friday (it was
    // given then, whenever the amount was corrected).
    let correct = |event: String, key: &'static str, body: Value| {
        let app = &app;
        async move {
            read(
                app.post(
                    &app.world.lege,
                    &format!("/api/v1/dispensings/{event}/corrections"),
                    &body,
                )
                .header("Idempotency-Key", key)
                .send()
                .await
                .expect("correct"),
            )
            .await
        }
    };
    let (status, body) = correct(
        tuesday,
        "c-tue",
        json!({"kind": "not_given", "reason": "Registrert på feil dag"}),
    )
    .await;
    assert_eq!(status, StatusCode::CREATED, "{body}");
    let (status, body) = correct(
        friday,
        "c-fri",
        json!({"kind": "wrong_amount", "actual_mg": "50", "reason": "Ga 50 mg"}),
    )
    .await;
    assert_eq!(status, StatusCode::CREATED, "{body}");
    let (_, counts) = app.pharmacy_count(&w.leder, "2026-11").await;
    let count = &counts[0];
    assert_eq!(count["approved_as_is"], json!(false), "{count}");
    assert_eq!(count["approvals"].as_array().expect("approvals").len(), 1);
    assert_eq!(count["approvals"][0]["supervised_intakes"], json!(6));
    assert_eq!(count["lines"][0]["supervised_intakes"], json!(5));
    assert_eq!(
        dates(&count["lines"][0], "supervised_dates"),
        [
            "2026-11-23",
            "2026-11-25",
            "2026-11-26",
            "2026-11-27",
            "2026-11-28"
        ]
    );
    let differences = count["differences"].as_array().expect("differences");
    assert_eq!(differences.len(), 1, "{count}");
    assert_eq!(differences[0]["date"], json!("2026-11-24"));
    assert_eq!(differences[0]["approved_supervised"], json!(1));
    assert_eq!(differences[0]["current_supervised"], json!(0));

    // Approving again is a new version; the first stays.
    let (status, second) = app.approve_count(&w.leder, "2026-11").await;
    assert_eq!(status, StatusCode::CREATED, "{second}");
    assert_eq!(second["version"], json!(2));
    assert_eq!(second["supervised_intakes"], json!(5));
    let (_, counts) = app.pharmacy_count(&w.apotek, "2026-11").await;
    assert_eq!(counts[0]["approvals"][0]["supervised_intakes"], json!(6));
    assert_eq!(counts[0]["approved_as_is"], json!(true));

    // The CSV: the documented header and one row per patient.
    let response = app
        .get(&w.apotek, "/api/v1/pharmacy-count/csv?month=2026-11")
        .send()
        .await
        .expect("csv");
    assert_eq!(response.status(), StatusCode::OK);
    let csv = response.text().await.expect("text");
    let lines: Vec<&str> = csv.lines().collect();
    assert_eq!(
        lines[0],
        "month,pharmacy_id,pharmacy,patient_id,supervised_intakes,supervised_dates,take_home_handouts,take_home_dates,lar_unit"
    );
    assert_eq!(lines.len(), 2, "{csv}");
    assert!(
        lines[1].contains(&format!(
            "{patient},5,2026-11-23 2026-11-25 2026-11-26 2026-11-27 2026-11-28,1,2026-11-28"
        )),
        "{csv}"
    );
}

#[tokio::test]
async fn a_pharmacy_sees_only_its_own_patients_in_the_view_in_their_access_log_and_not_those_who_moved_on() {
    let app = spawn_app().await;
    let w = &app.world;
    let at_pharmacy = app.enrol(311, start_day()).await;
    app.sign_methadone(&at_pharmacy, &["60"], start_day()).await;
    app.arrange(&at_pharmacy, w.pharmacy, "AAAAAAT", start_day())
        .await;
    app.dispense_on(&w.apotek, &at_pharmacy, date(2026, 11, 24), "p")
        .await;
    let at_centre = app.patient_on_daily_methadone(312).await;
    app.dispense_on(&w.utdeler, &at_centre, date(2026, 11, 24), "c")
        .await;

    let before = app.audit_counts(&at_pharmacy).await;
    let (status, counts) = app.pharmacy_count(&w.apotek, "2026-11").await;
    assert_eq!(status, StatusCode::OK, "{counts}");
    let patients: Vec<&Value> = counts
        .as_array()
        .expect("counts")
        .iter()
        .flat_map(|c| c["lines"].as_array().expect("lines"))
        .map(|l| &l["patient"]["id"])
        .collect();
    assert_eq!(patients, [&json!(at_pharmacy)]);
    let after = app.audit_counts(&at_pharmacy).await;
    assert!(
        after.0 + after.1 > before.0 + before.1,
        "the view is in the patient's access log"
    );

    // The patient moves on to the centre: the pharmacy no longer sees who they
    // were, only that a patient was left out; the LAR unit still sees the line.
    app.arrange(&at_pharmacy, w.centre, "AAAAAAA", date(2026, 11, 25))
        .await;
    app.set_oslo_time(date(2026, 11, 26), Time::constant(9, 0, 0, 0));
    let (status, counts) = app.pharmacy_count(&w.apotek, "2026-11").await;
    assert_eq!(status, StatusCode::OK, "{counts}");
    assert_eq!(counts[0]["lines"], json!([]), "{counts}");
    assert_eq!(counts[0]["hidden_patients"], json!(1), "{counts}");
    let (_, unit_view) = app.pharmacy_count(&w.leder, "2026-11").await;
    assert_eq!(unit_view[0]["lines"][0]["patient"]["id"], json!(at_pharmacy));
    assert_eq!(unit_view[0]["hidden_patients"], json!(0));
}

#[tokio::test]
async fn the_leader_approves_a_month_on_the_page_and_the_pharmacy_sees_it_approved() {
    let app = spawn_app().await;
    let w = &app.world;
    let patient = app.enrol(321, start_day()).await;
    app.sign_methadone(&patient, &["60"], start_day()).await;
    app.arrange(&patient, w.pharmacy, "AAAAAAT", start_day()).await;
    app.dispense_on(&w.apotek, &patient, date(2026, 11, 23), "p")
        .await;
    app.set_oslo_time(date(2026, 12, 3), Time::constant(10, 0, 0, 0));

    // By default the page shows last month, the one a claim is made for.
    let pharmacy = app.session_of("apotek").await;
    let (status, html) = app.page(&pharmacy, "/apotektelling").await;
    assert_eq!(status, StatusCode::OK, "{html}");
    assert!(html.contains("Apotekets telling 2026-11"), "{html}");
    assert!(html.contains("Pasient321 Testesen"), "{html}");
    assert!(html.contains("Tellingen er ikke godkjent ennå."), "{html}");
    assert!(
        !html.contains("/apotektelling/godkjenn"),
        "only the unit's leader approves"
    );
    let (status, csv) = app.page(&pharmacy, "/apotektelling/csv?maned=2026-11").await;
    assert_eq!(status, StatusCode::OK);
    assert!(csv.contains(&patient), "{csv}");

    let leader = app.session_of("leder").await;
    let (_, html) = app.page(&leader, "/apotektelling?maned=2026-11").await;
    assert!(html.contains("/apotektelling/godkjenn"), "{html}");
    let pharmacy_id = w.pharmacy.to_string();
    let (status, _, location) = app
        .submit(
            &leader,
            "/apotektelling/godkjenn",
            &[("maned", "2026-11"), ("apotek", pharmacy_id.as_str())],
        )
        .await;
    assert_eq!(status, StatusCode::SEE_OTHER);
    assert_eq!(location.as_deref(), Some("/apotektelling?maned=2026-11"));
    let (_, html) = app.page(&pharmacy, "/apotektelling?maned=2026-11").await;
    assert!(html.contains("Godkjent (versjon 1)"), "{html}");
    assert!(html.contains("Som nå"), "{html}");

    // A staff member of a dispensing centre has no such page.
    let centre = app.session_of("utdeler").await;
    let (status, _) = app.page(&centre, "/apotektelling?maned=2026-11").await;
    assert_eq!(status, StatusCode::FORBIDDEN);
}
