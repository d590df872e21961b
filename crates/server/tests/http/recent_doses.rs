//! The window, the alerts and a recording read a patient's recent doses in two
//! parts: the days near in full, and of the lookback before them only the days
//! dosed (and depot injections). After a randomized history of given, reduced,
//! withheld, missed and corrected doses, those parts hold exactly what the full
//! history says, on every day of it.

use jiff::ToSpan;
use jiff::civil::{Date, Time};
use samhand_domain::ids::PatientId;
use samhand_domain::schedule::IntakeMode;
use samhand_store::dispensing::{doses_of, recent_doses_of};
use serde_json::json;

use crate::helpers::*;

/// A small deterministic generator (the history differs per seed, not per run).
pub(crate) struct Lcg(pub u64);

impl Lcg {
    pub(crate) fn next(&mut self) -> u64 {
        self.0 = self
            .0
            .wrapping_mul(6_364_136_223_846_793_005)
            .wrapping_add(1_442_695_040_888_963_407);
        self.0 >> 33
    }
}

/// One day at the window for `patient`: given, reduced, withheld, not collected,
/// or given and then corrected as not given.
pub(crate) async fn one_day(app: &TestApp, patient: &str, day: Date, choice: u64) {
    let w = &app.world;
    let key = format!("{patient}-{day}");
    let body = match choice % 10 {
        0..=4 => json!({}),
        5 => json!({"outcome": "reduced", "reduced_mg": "40", "reason": "Sedert"}),
        6 => json!({"outcome": "withheld", "reason": "Virket ruset"}),
        7 | 8 => return,
        _ => {
            let (status, recorded) = app.dispense(&w.utdeler, patient, &key, json!({})).await;
            if status.is_success() {
                let id = recorded["id"].as_str().expect("event id").to_string();
                let (status, body) = read(
                    app.post(
                        &w.utdeler,
                        &format!("/api/v1/dispensings/{id}/corrections"),
                        &json!({"kind": "not_given", "reason": "Registrert på feil pasient"}),
                    )
                    .header("Idempotency-Key", format!("{key}-correct"))
                    .send()
                    .await
                    .expect("correct"),
                )
                .await;
                assert!(status.is_success(), "correction: {body}");
            }
            return;
        }
    };
    // A block after days without dose refuses the recording: that is part of the
    // history too.
    app.dispense(&w.utdeler, patient, &key, body).await;
}

fn row(d: &samhand_store::dispensing::DispensedDose) -> (Date, u8, String) {
    (d.key.date, d.key.part, d.event_id.to_string())
}

/// The recent doses as of `today` against the full history of the same range.
async fn assert_recent_equals_full(app: &TestApp, patient: PatientId, today: Date) {
    let from = samhand_domain::missed::lookback_from(today);
    let near = today - 7.days();
    let to = today + 7.days();
    let mut conn = app.state.store.read().await.expect("conn");
    let full = doses_of(&mut conn, &[patient], from, to).await.expect("full");
    let recent = recent_doses_of(&mut conn, &[patient], from, near, to)
        .await
        .expect("recent");
    let mut dosed: Vec<Date> = full
        .iter()
        .filter(|d| d.outcome.is_dosed())
        .map(|d| d.key.date)
        .collect();
    dosed.dedup();
    assert_eq!(
        recent.dosed_days.get(&patient).cloned().unwrap_or_default(),
        dosed,
        "days dosed as of {today}"
    );
    let in_full =
        |d: &samhand_store::dispensing::DispensedDose| d.key.date >= near || d.mode == IntakeMode::Injection;
    let mut expected: Vec<_> = full.iter().filter(|d| in_full(d)).map(row).collect();
    let mut got: Vec<_> = recent.doses.iter().map(row).collect();
    expected.sort();
    got.sort();
    assert_eq!(got, expected, "doses in full as of {today}");
}

#[tokio::test]
async fn recent_doses_hold_what_the_full_history_says_after_a_randomized_history() {
    let app = spawn_app().await;
    let mut patients = Vec::new();
    for n in 0..3 {
        patients.push(app.patient_on_daily_methadone(300 + n).await);
    }
    let mut rng = Lcg(0x5eed_f0d5);
    let mut day = start_day();
    for _ in 0..75 {
        app.set_oslo_time(day, Time::constant(9, 0, 0, 0));
        for patient in &patients {
            one_day(&app, patient, day, rng.next()).await;
        }
        for patient in &patients {
            assert_recent_equals_full(&app, patient.parse().expect("id"), day).await;
        }
        day = day.tomorrow().expect("tomorrow");
    }
}
