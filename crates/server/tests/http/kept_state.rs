//! The kept dosing state (issue 16, lever 1; H68, H69): after a randomized history
//! of given, reduced, withheld, missed and corrected doses recorded through the
//! API, every patient's kept row equals the row derived from the full history, the
//! days dosed the window, the list and the alerts read equal the lookback of the
//! history, and the prescriber's alerts, the FHIR Flags and the patient overview
//! say what the missed-dose rule says over the full history. A database from before the kept state gets its rows at start.

use std::collections::{BTreeMap, BTreeSet};

use jiff::ToSpan;
use jiff::civil::{Date, Time};
use samhand_domain::dispensing::OutcomeKind;
use samhand_domain::ids::PatientId;
use samhand_domain::missed::{DayOutcome, MissedDosePolicy, assess, lookback_from};
use samhand_store::day_state::{derived_of, dosed_days_from_history, kept_of, verify};
use samhand_store::dispensing::{doses_of, recent_doses_of};

use crate::helpers::*;
use crate::recent_doses::{Lcg, one_day};
use samhand_store::native::FetchOn;

/// Kept equals derived for every patient, and the days dosed as the hot paths
/// read them equal the history's lookback as of `today`.
async fn assert_kept_equals_derived(app: &TestApp, patients: &[PatientId], today: Date) {
    let mut conn = app.state.store.read().await.expect("conn");
    let kept = kept_of(&mut conn, patients).await.expect("kept");
    let derived = derived_of(&mut conn, patients).await.expect("derived");
    for patient in patients {
        assert_eq!(
            kept.get(patient).cloned().unwrap_or_default(),
            derived.get(patient).cloned().unwrap_or_default(),
            "kept state of {patient} as of {today}"
        );
    }
    let from = lookback_from(today);
    let to = today + 7.days();
    let recent = recent_doses_of(&mut conn, patients, from, today - 1.days(), to)
        .await
        .expect("recent");
    let history = dosed_days_from_history(&mut conn, patients, from, to)
        .await
        .expect("history");
    assert_eq!(recent.dosed_days, history, "days dosed as of {today}");
    let ever = samhand_store::dispensing::ever_dosed(&mut conn, patients)
        .await
        .expect("ever dosed");
    assert_eq!(recent.ever_given, ever, "patients ever given a dose, {today}");
}

/// What the missed-dose rule says over the full history of a patient on a daily
/// supervised dose from the start day: (kind, days) of a block or missed days.
async fn expected_alert(
    app: &TestApp,
    patient: PatientId,
    reassessed: &[Date],
    today: Date,
) -> Option<(String, u64)> {
    let mut conn = app.state.store.read().await.expect("conn");
    let all = doses_of(&mut conn, &[patient], start_day(), today)
        .await
        .expect("doses");
    let from = lookback_from(today).max(start_day());
    let days: Vec<(Date, DayOutcome)> = samhand_domain::time::days_inclusive(from, today - 1.days())
        .map(|day| {
            let dosed = all.iter().any(|d| d.key.date == day && d.outcome.is_dosed());
            (
                day,
                if dosed {
                    DayOutcome::Dosed
                } else {
                    DayOutcome::WithoutDose
                },
            )
        })
        .collect();
    let state = assess(&days, reassessed, today, &MissedDosePolicy::default());
    if state.is_blocked() {
        Some(("blocked".into(), state.consecutive_days.into()))
    } else if state.alert {
        Some(("missed".into(), state.consecutive_days.into()))
    } else {
        None
    }
}

/// The prescriber's alerts of blocks and missed days, per patient.
async fn alerts(app: &TestApp) -> BTreeMap<String, (String, u64)> {
    let (status, body) = app.get_json(&app.world.lege, "/api/v1/alerts").await;
    assert!(status.is_success(), "{body}");
    body.as_array()
        .expect("alerts")
        .iter()
        .filter(|a| a["kind"] == "blocked" || a["kind"] == "missed")
        .map(|a| {
            (
                a["patient_id"].as_str().expect("id").to_string(),
                (
                    a["kind"].as_str().expect("kind").to_string(),
                    a["days"].as_u64().expect("days"),
                ),
            )
        })
        .collect()
}

/// The prescriber's alerts of doses withheld, reduced or corrected today: the
/// kinds per patient.
async fn assessed_alerts(app: &TestApp) -> BTreeMap<String, BTreeSet<String>> {
    let (status, body) = app.get_json(&app.world.lege, "/api/v1/alerts").await;
    assert!(status.is_success(), "{body}");
    let mut found: BTreeMap<String, BTreeSet<String>> = BTreeMap::new();
    for alert in body.as_array().expect("alerts") {
        let kind = alert["kind"].as_str().expect("kind");
        if kind != "blocked" && kind != "missed" {
            found
                .entry(alert["patient_id"].as_str().expect("id").to_string())
                .or_default()
                .insert(kind.to_string());
        }
    }
    found
}

/// What the history has of doses standing on `day` whose outcome is not given:
/// the outcomes per patient (H102: what [`assessed_alerts`] must show).
async fn assessed_in_history(
    app: &TestApp,
    patients: &[PatientId],
    day: Date,
) -> BTreeMap<String, BTreeSet<String>> {
    let mut conn = app.state.store.read().await.expect("conn");
    let doses = doses_of(&mut conn, patients, day, day).await.expect("doses");
    let mut expected: BTreeMap<String, BTreeSet<String>> = BTreeMap::new();
    for dose in doses.iter().filter(|d| d.outcome != OutcomeKind::Given) {
        expected
            .entry(dose.patient_id.to_string())
            .or_default()
            .insert(dose.outcome.code().to_string());
    }
    expected
}

/// The patients with a missed-dose Flag in a FHIR search over all of them.
async fn flagged(app: &TestApp) -> BTreeSet<String> {
    let (status, bundle) = app.fhir_get(&app.world.lege.token, "/Flag?_count=100").await;
    assert!(status.is_success(), "{bundle}");
    bundle["entry"]
        .as_array()
        .map(Vec::as_slice)
        .unwrap_or_default()
        .iter()
        .map(|e| {
            e["resource"]["subject"]["reference"]
                .as_str()
                .expect("subject")
                .trim_start_matches("Patient/")
                .to_string()
        })
        .collect()
}

/// The overview's missed-dose state as (kind, days), as [`alerts`] gives it.
async fn overview_missed(app: &TestApp, patient: &str) -> Option<(String, u64)> {
    let (status, body) = app
        .get_json(&app.world.lege, &format!("/api/v1/patients/{patient}"))
        .await;
    assert!(status.is_success(), "{body}");
    let missed = &body["missed_doses"];
    let days = missed["consecutive_days"].as_u64().expect("days");
    if missed["blocked"] == true {
        Some(("blocked".into(), days))
    } else if missed["alert"] == true {
        Some(("missed".into(), days))
    } else {
        None
    }
}

#[tokio::test]
async fn the_kept_state_equals_the_history_and_the_alerts_the_rule_after_a_randomized_history() {
    let app = spawn_app().await;
    let mut ids = Vec::new();
    for n in 0..9 {
        ids.push(app.patient_on_daily_methadone(400 + n).await);
    }
    // The last patient takes every dose: from day 60 on, dosed throughout the
    // lookback, so the alerts skip their schedule (H90) among patients that do not.
    let steady = ids.len() - 1;
    let patients: Vec<PatientId> = ids.iter().map(|p| p.parse().expect("id")).collect();
    let mut rng = Lcg(0x0037_5eed);
    let mut reassessed: Vec<Vec<Date>> = vec![Vec::new(); ids.len()];
    let mut seen: BTreeMap<String, usize> = BTreeMap::new();
    let mut day = start_day();
    for n in 0..80 {
        app.set_oslo_time(day, Time::constant(9, 0, 0, 0));
        // Some patients stay away for a stretch: runs long enough to block.
        for (i, patient) in ids.iter().enumerate() {
            let away = i != steady && (n / 10 + i).is_multiple_of(5) && n % 10 < 6;
            if !away {
                let choice = rng.next();
                one_day(&app, patient, day, if i == steady { 0 } else { choice }).await;
            }
        }
        assert_kept_equals_derived(&app, &patients, day).await;
        let assessed = assessed_in_history(&app, &patients, day).await;
        assert_eq!(
            assessed_alerts(&app).await,
            assessed,
            "alerts of doses withheld or reduced on {day}"
        );
        *seen.entry("assessed".into()).or_insert(0) += assessed.len();
        if n.is_multiple_of(4) {
            let tomorrow = day + 1.days();
            app.set_oslo_time(tomorrow, Time::constant(7, 0, 0, 0));
            let mut expected = BTreeMap::new();
            for (i, (id, patient)) in ids.iter().zip(&patients).enumerate() {
                if let Some(alert) = expected_alert(&app, *patient, &reassessed[i], tomorrow).await {
                    expected.insert(id.clone(), alert);
                }
            }
            assert_eq!(alerts(&app).await, expected, "alerts on {tomorrow}");
            // The FHIR Flags are the blocks the alerts name.
            let blocked: BTreeSet<String> = expected
                .iter()
                .filter(|(_, (kind, _))| kind == "blocked")
                .map(|(id, _)| id.clone())
                .collect();
            assert_eq!(flagged(&app).await, blocked, "Flags on {tomorrow}");
            // Each patient's overview says what the alerts say (both read the
            // days dosed from the kept state).
            for id in &ids {
                assert_eq!(
                    overview_missed(&app, id).await,
                    expected.get(id).cloned(),
                    "overview of {id} on {tomorrow}"
                );
            }
            for (kind, _) in expected.values() {
                *seen.entry(kind.clone()).or_insert(0) += 1;
            }
            // The prescriber reassesses some blocked patients (a new signed order),
            // which lifts the block from that day.
            for (i, id) in ids.iter().enumerate() {
                if expected.get(id).is_some_and(|(kind, _)| kind == "blocked") && rng.next().is_multiple_of(2)
                {
                    app.sign_methadone(id, &["60"], tomorrow).await;
                    reassessed[i].push(tomorrow);
                }
            }
        }
        day = day.tomorrow().expect("tomorrow");
    }
    // The history had both kinds of alert to compare, and reassessments.
    assert!(
        seen.get("blocked") > Some(&3) && seen.get("missed") > Some(&3) && seen.get("assessed") > Some(&20),
        "{seen:?}"
    );
    assert!(reassessed.iter().any(|r| !r.is_empty()));
    let mut conn = app.state.store.read().await.expect("conn");
    let today = day;
    let (dosed, _) =
        samhand_store::day_state::dosed_days_of(&mut conn, &patients, lookback_from(today), today)
            .await
            .expect("days dosed");
    let throughout = |p: &PatientId| {
        samhand_domain::missed::dosed_throughout(dosed.get(p).map(Vec::as_slice).unwrap_or_default(), today)
    };
    assert!(
        throughout(&patients[steady]),
        "the steady patient takes the shortcut"
    );
    assert!(
        patients.iter().filter(|p| !throughout(p)).count() >= 4,
        "most do not"
    );
    drop(conn);
    let mut conn = app.state.store.read().await.expect("conn");
    let (compared, mismatches) = verify(&mut conn).await.expect("verify");
    assert!(compared >= patients.len());
    assert_eq!(mismatches, vec![]);
}

/// H69: a database whose doses were recorded before migration 0037 (simulated by
/// emptying the kept rows and setting the migration's mark again) gets its rows
/// derived at the next start, and until then `verify` names the patients.
#[tokio::test]
async fn a_database_from_before_the_kept_state_gets_it_derived_at_start() {
    let app = spawn_app().await;
    let patient = app.patient_on_daily_methadone(450).await;
    let mut day = start_day();
    for _ in 0..3 {
        app.set_oslo_time(day, Time::constant(9, 0, 0, 0));
        let (status, body) = app
            .dispense(
                &app.world.utdeler,
                &patient,
                &format!("k-{day}"),
                serde_json::json!({}),
            )
            .await;
        assert!(status.is_success(), "{body}");
        day = day.tomorrow().expect("tomorrow");
    }
    let store = &app.state.store;
    let mut tx = store.write().await.expect("tx");
    sqlx::query("DELETE FROM dose_day_state")
        .execute_on(&mut tx)
        .await
        .expect("empty");
    sqlx::query("INSERT INTO dose_day_state_backfill (pending) VALUES (1)")
        .execute_on(&mut tx)
        .await
        .expect("mark");
    tx.commit().await.expect("commit");
    {
        let mut conn = store.read().await.expect("conn");
        let (_, mismatches) = verify(&mut conn).await.expect("verify");
        assert_eq!(
            mismatches
                .iter()
                .map(|m| m.patient.to_string())
                .collect::<Vec<_>>(),
            vec![patient.clone()],
            "without the backfill the patient's days dosed are missing"
        );
    }
    samhand_store::migrate::run(store).await.expect("start");
    let mut conn = store.read().await.expect("conn");
    let (_, mismatches) = verify(&mut conn).await.expect("verify");
    assert_eq!(mismatches, vec![]);
    let kept = kept_of(&mut conn, &[patient.parse().expect("id")])
        .await
        .expect("kept");
    assert_eq!(kept.values().next().map(|s| s.dosed_days.len()), Some(3));
    // A second start finds nothing pending and changes nothing.
    drop(conn);
    samhand_store::migrate::run(store).await.expect("start again");
}
