//! Today's list from what the server keeps of its patients (H107): a change made
//! anywhere (this server, another server process, by hand at the database's
//! prompt) shows at the next view, and every table the list reads of its patients
//! feeds the database's record of changed patients.

use std::collections::BTreeSet;

use jiff::civil::Time;
use reqwest::StatusCode;
use serde_json::json;

use crate::helpers::*;

#[tokio::test]
async fn the_list_shows_at_once_what_changed_elsewhere_in_the_patients_it_keeps() {
    let app = spawn_app().await;
    let w = &app.world;
    app.set_oslo_time(start_day(), Time::constant(8, 30, 0, 0));
    let patient = app.patient_on_daily_methadone(91).await;
    let other = app.patient_on_daily_methadone(92).await;
    let row = app.row_on_list(&w.utdeler, &patient).await.expect("on the list");
    assert!(row["due"][0]["recorded"].is_null(), "{row}");
    assert!(app.state.kept.len() >= 2, "the list keeps its patients");

    // A name corrected at the database's prompt, as another process would write it.
    app.elsewhere(
        "UPDATE patients SET family_name = 'Endretsen' WHERE id = $1",
        &patient,
    )
    .await;
    let row = app.row_on_list(&w.utdeler, &patient).await.expect("on the list");
    assert_eq!(row["patient"]["family_name"], json!("Endretsen"), "{row}");

    // A dose recorded: the next view shows it, and the other patient is still due.
    let (status, body) = app.dispense(&w.utdeler, &patient, "kept-1", json!({})).await;
    assert_eq!(status, StatusCode::CREATED, "{body}");
    let list = app.today_list(&w.utdeler).await;
    let rows = list["rows"].as_array().expect("rows");
    let mine = rows
        .iter()
        .find(|r| r["patient"]["id"] == json!(patient))
        .expect("mine");
    assert_eq!(mine["due"][0]["recorded"]["outcome"], json!("given"), "{mine}");
    let theirs = rows
        .iter()
        .find(|r| r["patient"]["id"] == json!(other))
        .expect("theirs");
    assert!(theirs["due"][0]["recorded"].is_null(), "{theirs}");

    // A new day: what was kept for yesterday's list is not today's.
    let next_day = start_day().tomorrow().expect("tomorrow");
    app.set_oslo_time(next_day, Time::constant(8, 30, 0, 0));
    let row = app.row_on_list(&w.utdeler, &patient).await.expect("on the list");
    assert!(row["due"][0]["recorded"].is_null(), "a new day's dose: {row}");
}

/// What a list reads that is not about one patient, or is written by the view
/// itself: the directory, kept in memory under `config_version`,
/// the view's audit entry, the feed, and the ids' parameter.
const NOT_KEPT: &[&str] = &[
    "api_tokens",
    "audit_entry_sets",
    "audit_head",
    "audit_log",
    "audit_patient_sets",
    "config_version",
    "json_each",
    "organisations",
    "patient_changes",
    "patient_groups",
    "place_closed_days",
    "policy_settings",
    "user_roles",
    "users",
];

#[tokio::test]
async fn every_table_the_list_reads_of_its_patients_feeds_the_record_of_changes() {
    let app = spawn_app().await;
    let w = &app.world;
    let Some(tables) = samhand_store::testing::watch_tables_read(&app.state.store) else {
        // PostgreSQL: its reads go through sqlx, which has no authorizer to ask;
        // what the list reads does not depend on the database.
        return;
    };
    let patient = app.patient_on_daily_methadone(93).await;
    let path = format!("/api/v1/patients/{patient}/health-information");
    let (status, note) = app
        .post_json(
            &w.lege,
            &path,
            &json!({"kind": "epilepsy", "text": "Kjent epilepsi"}),
        )
        .await;
    assert_eq!(status, StatusCode::CREATED, "{note}");
    app.consent(&w.konsulent, &patient, w.centre, "health_information", true)
        .await;
    let (status, body) = app.dispense(&w.utdeler, &patient, "kept-2", json!({})).await;
    assert_eq!(status, StatusCode::CREATED, "{body}");
    // Another of the place's patients is in hospital: the list reads the stay.
    let admitted = app.patient_on_daily_methadone(94).await;
    let (status, body) = app
        .post_json(
            &w.lege,
            &format!("/api/v1/patients/{admitted}/stays"),
            &json!({"kind": "hospital", "institution": "Et sykehus", "starts_on": start_day().to_string()}),
        )
        .await;
    assert_eq!(status, StatusCode::CREATED, "{body}");
    tables.lock().expect("tables").clear();

    let row = app.row_on_list(&w.utdeler, &patient).await.expect("on the list");
    assert_eq!(row["health_information"][0]["kind"], json!("epilepsy"), "{row}");
    // Every kind of privacy fact, as a patient who has them all is read.
    let id: samhand_domain::ids::PatientId = patient.parse().expect("id");
    let mut conn = app.state.store.reader().await.expect("reader");
    samhand_store::testing::read_every_privacy_fact(&mut conn, &[id])
        .await
        .expect("facts");

    let read: BTreeSet<String> = tables.lock().expect("tables").clone();
    for expected in [
        "dispensed_doses",
        "health_notes",
        "patients",
        "dose_orders",
        "stay_events",
    ] {
        assert!(read.contains(expected), "the watch sees {expected}: {read:?}");
    }
    let unfed: Vec<&String> = read
        .iter()
        .filter(|t| !NOT_KEPT.contains(&t.as_str()))
        .filter(|t| !samhand_store::changes::FED_TABLES.contains(&t.as_str()))
        .collect();
    assert!(
        unfed.is_empty(),
        "read into what the list keeps, but no trigger tells of their changes: {unfed:?}"
    );
}

#[tokio::test]
async fn a_threshold_changed_blocks_a_kept_patient_at_the_next_view() {
    let app = spawn_app().await;
    let patient = app.patient_on_daily_methadone(95).await;
    // Monday to Wednesday without a dose: three days, as many as are tolerated.
    app.set_oslo_time(jiff::civil::date(2026, 11, 26), Time::constant(9, 0, 0, 0));
    let row = app
        .row_on_list(&app.world.utdeler, &patient)
        .await
        .expect("on the list");
    assert_eq!(row["blocked"], json!(false), "{row}");
    // Nothing about the patient changes; the policy does.
    app.set_policy("missed_dose.tolerated_days", 2).await;
    let row = app
        .row_on_list(&app.world.utdeler, &patient)
        .await
        .expect("on the list");
    assert_eq!(row["blocked"], json!(true), "two tolerated now: {row}");
}
