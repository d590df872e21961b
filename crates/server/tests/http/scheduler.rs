//! The scheduler: time-driven work runs on its clock, not when someone looks; two
//! servers on one database run each due job in one of them, and each notice is
//! sent once.

use std::sync::Arc;

use jiff::civil::{Time, date};
use reqwest::StatusCode;
use samhand_server::{AppState, Config};
use samhand_store::Store;
use serde_json::{Value, json};

use crate::helpers::{Staff, TestApp, spawn_app};

impl TestApp {
    async fn missed_dose_notices(&self, staff: &Staff, patient: &str) -> usize {
        let (status, inbox) = self.get_json(staff, "/api/v1/inbox").await;
        assert_eq!(status, StatusCode::OK, "{inbox}");
        inbox
            .as_array()
            .expect("a list")
            .iter()
            .filter(|m: &&Value| m["patient"]["id"] == json!(patient) && m["kind"] == json!("missed_doses"))
            .count()
    }

    /// A second server on the same database and the same clock.
    async fn second_server(&self) -> AppState {
        let store = Store::connect(&self.database_url, 5).await.expect("connect");
        let config = Config::from_lookup(|key| (key == "SAMHAND_COOKIE_SECURE").then(|| "false".to_string()))
            .expect("config");
        AppState::new(store, self.clock.clone() as Arc<_>, config)
    }
}

#[tokio::test]
async fn two_servers_run_each_due_job_once_and_each_block_is_told_once() {
    let app = spawn_app().await;
    let w = &app.world;
    let first = app.patient_on_daily_methadone(401).await;
    let second = app.patient_on_daily_methadone(402).await;
    // Saturday: nobody has collected since Monday, both orders are blocked.
    app.set_oslo_time(date(2026, 11, 28), Time::constant(9, 0, 0, 0));
    let list = app.today_list(&w.utdeler).await;
    assert_eq!(list["rows"][0]["blocked"], json!(true), "{list}");
    assert_eq!(
        app.missed_dose_notices(&w.lege, &first).await,
        0,
        "a look sends nothing"
    );

    let other = app.second_server().await;
    let (a, b) = tokio::join!(
        samhand_server::scheduler::run_due(&app.state, "server-a"),
        samhand_server::scheduler::run_due(&other, "server-b"),
    );
    let (a, b) = (a.expect("server a runs"), b.expect("server b runs"));
    for job in samhand_server::scheduler::Job::ALL {
        let runs = a.iter().chain(&b).filter(|ran| ran.job == job).count();
        assert_eq!(
            runs,
            1,
            "{} ran once across the two servers: {a:?} {b:?}",
            job.name()
        );
    }
    let told: u64 = a
        .iter()
        .chain(&b)
        .filter(|ran| ran.job == samhand_server::scheduler::Job::MissedDoseNotices)
        .map(|ran| *ran.outcome.as_ref().expect("the job succeeded"))
        .sum();
    assert_eq!(told, 2, "one notice per blocked patient");
    assert_eq!(app.missed_dose_notices(&w.lege, &first).await, 1);
    assert_eq!(app.missed_dose_notices(&w.lege, &second).await, 1);

    // Not due again at once: a run a minute later does nothing.
    app.clock.advance(jiff::SignedDuration::from_mins(1));
    let again = samhand_server::scheduler::run_due(&other, "server-b")
        .await
        .expect("runs");
    assert!(again.is_empty(), "{again:?}");

    // Due again later, in either server, and still each block once.
    app.clock.advance(jiff::SignedDuration::from_hours(2));
    let (a, b) = tokio::join!(
        samhand_server::scheduler::run_due(&app.state, "server-a"),
        samhand_server::scheduler::run_due(&other, "server-b"),
    );
    let runs = a.expect("a").len() + b.expect("b").len();
    assert_eq!(runs, samhand_server::scheduler::Job::ALL.len());
    assert_eq!(app.missed_dose_notices(&w.lege, &first).await, 1);
    assert_eq!(app.missed_dose_notices(&w.utdeler, &second).await, 1);
}

#[tokio::test]
async fn a_server_that_died_holding_a_lease_is_taken_over_when_the_lease_has_run_out() {
    let app = spawn_app().await;
    let now = app.state.clock.now();
    // Server a took the lease and died before finishing.
    let mut tx = app.state.store.write().await.expect("tx");
    let taken = samhand_store::scheduler::take_lease(
        &mut tx,
        "planning_notices",
        "server-a",
        now,
        now + jiff::SignedDuration::from_mins(10),
    )
    .await
    .expect("lease");
    tx.commit().await.expect("commit");
    assert!(taken);
    let ran = app.run_scheduler().await;
    assert!(
        !ran.iter().any(|(job, _)| *job == "planning_notices"),
        "the lease still runs: {ran:?}"
    );
    app.clock.advance(jiff::SignedDuration::from_mins(11));
    let ran = app.run_scheduler().await;
    assert!(ran.iter().any(|(job, _)| *job == "planning_notices"), "{ran:?}");
}

#[tokio::test]
async fn a_time_in_hand_passed_without_a_recorded_outcome_is_told_to_the_owners_unit_once() {
    let app = spawn_app().await;
    let w = &app.world;
    let patient = app.patient_on_daily_methadone(403).await;
    let (status, body) = app
        .post_json(
            &w.akuttlege,
            &format!("/api/v1/patients/{patient}/stays"),
            &json!({"kind": "institution", "starts_on": "2026-11-23", "planned_end_on": "2026-11-30"}),
        )
        .await;
    assert_eq!(status, StatusCode::CREATED, "{body}");
    let stay = body["stays"][0]["id"].as_str().expect("stay").to_string();
    let (status, body) = app
        .post_json(
            &w.akuttlege,
            &format!("/api/v1/stays/{stay}/appointments"),
            &json!({"with_whom": "Fastlege", "date": "2026-11-25", "time": "10:00",
                    "place": "Legekontoret", "owner": w.konsulent.id.to_string()}),
        )
        .await;
    assert_eq!(status, StatusCode::CREATED, "{body}");
    let told = |inbox: &Value| {
        inbox
            .as_array()
            .expect("inbox")
            .iter()
            .filter(|m| {
                m["subject"]
                    .as_str()
                    .is_some_and(|s| s.starts_with("Time i hånden uten registrert oppmøte"))
            })
            .count()
    };
    // Within the grace after the time: nothing yet.
    app.set_oslo_time(date(2026, 11, 25), Time::constant(11, 0, 0, 0));
    app.run_scheduler().await;
    assert_eq!(told(&app.get_json(&w.konsulent, "/api/v1/inbox").await.1), 0);
    // Past it, with nothing recorded: the owner's unit is told, once.
    app.set_oslo_time(date(2026, 11, 25), Time::constant(13, 0, 0, 0));
    app.run_scheduler().await;
    app.set_oslo_time(date(2026, 11, 25), Time::constant(14, 0, 0, 0));
    app.run_scheduler().await;
    assert_eq!(told(&app.get_json(&w.konsulent, "/api/v1/inbox").await.1), 1);
}

#[tokio::test]
async fn the_scheduler_anchors_the_audit_log_in_signed_checkpoints_outside_the_database() {
    let app = spawn_app().await;
    let w = &app.world;
    app.patient_on_daily_methadone(403).await;
    app.today_list(&w.utdeler).await;
    app.run_scheduler().await;
    let dir = app.state.config.audit_checkpoints();
    let first = samhand_store::anchor::read_checkpoints(&dir, &samhand_store::testing::audit_key())
        .expect("checkpoints")
        .into_iter()
        .map(|line| line.expect("signed with the key"))
        .collect::<Vec<_>>();
    assert_eq!(first.len(), 1, "{first:?}");
    // Reading the list again writes entries; the next run anchors them.
    app.today_list(&w.utdeler).await;
    app.run_scheduler().await;
    let verified = samhand_store::anchor::verify(&app.state.store, Some(&dir))
        .await
        .expect("verify");
    match verified {
        samhand_store::anchor::Verification::Intact {
            entries,
            unkeyed,
            checkpoints,
            ..
        } => {
            assert_eq!(checkpoints, 2);
            assert_eq!(unkeyed, 0, "a server's entries are keyed");
            assert!(entries > first[0].seq, "{entries} after {:?}", first[0]);
        }
        broken => panic!("{broken:?}"),
    }
}
