//! The window you can trust: take-home doses held with a withheld or reduced dose,
//! the list showing what was recorded, corrections, future and depot days, the
//! identity-check marks, the holiday mark, search, the printable list, the refusal
//! at the row, and many concurrent recordings on one dose.

use jiff::civil::{Date, Time, date};
use reqwest::StatusCode;
use serde_json::{Value, json};

use crate::helpers::{Staff, TestApp, read, spawn_app, start_day};
use samhand_store::native::FetchOn;

/// Friday 27 November 2026: with the week "ATATATT" the weekend's doses are handed
/// over on Friday.
fn friday() -> Date {
    date(2026, 11, 27)
}

impl TestApp {
    /// A patient on 80 mg methadone who collects Saturday's and Sunday's doses on
    /// Friday; the clock at Friday 09:00.
    async fn friday_patient(&self, n: u16) -> String {
        let patient = self.enrol(n, start_day()).await;
        self.sign_methadone(&patient, &["80"], start_day()).await;
        self.arrange(&patient, self.world.centre, "ATATATT", start_day())
            .await;
        self.set_oslo_time(friday(), Time::constant(9, 0, 0, 0));
        patient
    }

    async fn messages_about(&self, staff: &Staff, patient: &str, kind: &str) -> Vec<Value> {
        let (status, body) = self.get_json(staff, "/api/v1/inbox").await;
        assert_eq!(status, StatusCode::OK, "{body}");
        body.as_array()
            .expect("inbox")
            .iter()
            .filter(|m| m["patient"]["id"] == json!(patient) && m["kind"] == json!(kind))
            .cloned()
            .collect()
    }

    async fn correct(&self, staff: &Staff, dispensing: &str, key: &str, body: Value) -> (StatusCode, Value) {
        read(
            self.post(
                staff,
                &format!("/api/v1/dispensings/{dispensing}/corrections"),
                &body,
            )
            .header("Idempotency-Key", key)
            .send()
            .await
            .expect("correct"),
        )
        .await
    }

    /// The place's stock of methadone, all products, in mg.
    async fn methadone_stock_mg(&self) -> f64 {
        let mut conn = self.state.store.read().await.expect("conn");
        let balances = samhand_store::stock::balances(&mut conn, self.world.centre)
            .await
            .expect("balances");
        balances
            .iter()
            .filter(|(product, _)| {
                product.substance == samhand_domain::substance::Substance::MethadoneOralSolution
            })
            .map(|(product, quantity)| product.micrograms(*quantity))
            .sum::<i64>() as f64
            / 1000.0
    }
}

fn take_home_keys(row: &Value) -> Vec<Value> {
    row["due"]
        .as_array()
        .expect("due")
        .iter()
        .filter(|d| d["mode"] == json!("take_home"))
        .map(|d| json!({"date": d["date"], "part": d["part"]}))
        .collect()
}

#[tokio::test]
async fn a_withheld_dose_holds_the_days_take_home_doses_until_a_nurse_overrides_with_a_reason() {
    let app = spawn_app().await;
    let w = &app.world;
    let patient = app.friday_patient(201).await;
    let (status, body) = app
        .dispense(
            &w.utdeler,
            &patient,
            "withhold",
            json!({"outcome": "withheld", "reason": "Virket ruset"}),
        )
        .await;
    assert_eq!(status, StatusCode::CREATED, "{body}");
    assert_eq!(
        body["doses"].as_array().expect("doses").len(),
        1,
        "only today's dose"
    );

    let row = app.row_on_list(&w.utdeler, &patient).await.expect("on the list");
    assert_eq!(row["take_home_held"]["cause"], json!("withheld"), "{row}");
    assert_eq!(row["done"], json!(true), "nothing left to do while held: {row}");
    let keys = take_home_keys(&row);
    assert_eq!(keys.len(), 2, "{row}");

    // A plain request for the weekend's doses, named or not, is refused and names
    // the withholding; nothing is recorded.
    for (key, body) in [("plain-all", json!({})), ("plain-named", json!({"doses": keys}))] {
        let (status, refusal) = app.dispense(&w.utdeler, &patient, key, body).await;
        assert_eq!(status, StatusCode::CONFLICT, "{refusal}");
        let detail = refusal["detail"].as_str().expect("detail");
        assert!(detail.contains("holdt tilbake"), "{detail}");
        assert!(detail.contains("09.00"), "names when: {detail}");
    }
    let row = app.row_on_list(&w.utdeler, &patient).await.expect("row");
    assert!(
        row["due"]
            .as_array()
            .expect("due")
            .iter()
            .filter(|d| d["mode"] == json!("take_home"))
            .all(|d| d["recorded"].is_null()),
        "{row}"
    );
    let (allowed, _) = app.audit_counts(&patient).await;

    // With a written reason it is handed over, and the prescriber is told.
    let (status, given) = app
        .dispense(
            &w.utdeler,
            &patient,
            "override",
            json!({"doses": keys, "override_reason": "Edru ved ny vurdering kl. 11, lege kontaktet"}),
        )
        .await;
    assert_eq!(status, StatusCode::CREATED, "{given}");
    assert_eq!(given["doses"].as_array().expect("doses").len(), 2);
    assert_eq!(
        given["reason"],
        json!("Edru ved ny vurdering kl. 11, lege kontaktet")
    );
    let told = app.messages_about(&w.lege, &patient, "withheld_dose").await;
    assert!(
        told.iter().any(|m| m["subject"]
            .as_str()
            .unwrap_or_default()
            .contains("tross tilbakeholdt")),
        "{told:?}"
    );
    let (after, _) = app.audit_counts(&patient).await;
    assert!(after > allowed, "the override is audited");
}

#[tokio::test]
async fn a_reduced_dose_holds_the_take_home_doses_which_can_be_withheld_on_their_own() {
    let app = spawn_app().await;
    let w = &app.world;
    let patient = app.friday_patient(202).await;
    let (status, body) = app
        .dispense(
            &w.utdeler,
            &patient,
            "reduce",
            json!({"outcome": "reduced", "reduced_mg": "40", "reason": "Sedert",
                   "doses": [{"date": "2026-11-27", "part": 1}]}),
        )
        .await;
    assert_eq!(status, StatusCode::CREATED, "{body}");
    let row = app.row_on_list(&w.utdeler, &patient).await.expect("row");
    assert_eq!(row["take_home_held"]["cause"], json!("reduced"), "{row}");
    let keys = take_home_keys(&row);
    let (status, refusal) = app
        .dispense(&w.utdeler, &patient, "plain", json!({"doses": keys}))
        .await;
    assert_eq!(status, StatusCode::CONFLICT, "{refusal}");
    assert!(
        refusal["detail"].as_str().expect("detail").contains("redusert"),
        "{refusal}"
    );
    // Withholding the take-home doses themselves needs a reason, and no override.
    let (status, refusal) = app
        .dispense(
            &w.utdeler,
            &patient,
            "withhold-th-no-reason",
            json!({"outcome": "withheld", "doses": keys}),
        )
        .await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{refusal}");
    let (status, body) = app
        .dispense(
            &w.utdeler,
            &patient,
            "withhold-th",
            json!({"outcome": "withheld", "reason": "Følger dagens vurdering", "doses": keys}),
        )
        .await;
    assert_eq!(status, StatusCode::CREATED, "{body}");
    let row = app.row_on_list(&w.utdeler, &patient).await.expect("row");
    assert!(row["take_home_held"].is_object());
    assert!(
        row["due"]
            .as_array()
            .expect("due")
            .iter()
            .all(|d| !d["recorded"].is_null()),
        "{row}"
    );
}

#[tokio::test]
async fn the_list_shows_the_dose_given_and_the_current_order_only_where_it_differs() {
    let app = spawn_app().await;
    let w = &app.world;
    let patient = app.patient_on_daily_methadone(203).await;
    let (status, body) = app.dispense(&w.utdeler, &patient, "given", json!({})).await;
    assert_eq!(status, StatusCode::CREATED, "{body}");
    // The order changes the same day, after the dose was given.
    app.clock.advance(jiff::SignedDuration::from_mins(30));
    app.sign_methadone(&patient, &["90"], start_day()).await;
    let row = app.row_on_list(&w.utdeler, &patient).await.expect("row");
    let due = &row["due"][0];
    assert_eq!(due["dose_mg"], json!(90.0), "the order in force: {row}");
    assert_eq!(due["recorded"]["amount_mg"], json!(60.0), "what was given: {row}");
    assert_eq!(due["recorded"]["ordered_mg"], json!(60.0));

    let session = app.session_of(w.utdeler.username).await;
    let (status, html) = app.page(&session, "/utlevering").await;
    assert_eq!(status, StatusCode::OK);
    let row_html = &html[html.find(&format!("data-patient=\"{patient}\"")).expect("row")..];
    let row_html = &row_html[..row_html.find("</article>").expect("end of row")];
    assert!(row_html.contains("<strong>60 mg</strong>"), "{row_html}");
    assert!(row_html.contains("Gjeldende ordinasjon: 90 mg"), "{row_html}");
    assert!(!row_html.contains("<strong>90 mg</strong>"), "{row_html}");
    assert!(!html.contains("style=\""), "no inline styles the CSP would block");
}

#[tokio::test]
async fn a_wrong_recording_is_corrected_as_a_new_event_which_frees_the_dose_and_returns_the_stock() {
    let app = spawn_app().await;
    let w = &app.world;
    let patient = app.patient_on_daily_methadone(204).await;
    let stock_before = app.methadone_stock_mg().await;
    let (status, given) = app.dispense(&w.utdeler, &patient, "wrong-row", json!({})).await;
    assert_eq!(status, StatusCode::CREATED, "{given}");
    let event = given["id"].as_str().expect("id").to_string();
    assert_eq!(app.methadone_stock_mg().await, stock_before - 60.0);

    // A reason is needed; nothing changes without one.
    let (status, refusal) = app
        .correct(
            &w.utdeler,
            &event,
            "c0",
            json!({"kind": "not_given", "reason": ""}),
        )
        .await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{refusal}");
    assert!(app.row_on_list(&w.utdeler, &patient).await.expect("row")["due"][0]["recorded"].is_object());

    // A colleague at the place corrects it the same day.
    let (status, correction) = app
        .correct(
            &w.utdeler,
            &event,
            "c1",
            json!({"kind": "not_given", "reason": "Registrert på feil pasient"}),
        )
        .await;
    assert_eq!(status, StatusCode::CREATED, "{correction}");
    assert_eq!(correction["corrects"], json!(event));
    assert_eq!(correction["voided"].as_array().expect("voided").len(), 1);
    // The same request again is answered by the first result.
    let (status, again) = app
        .correct(
            &w.utdeler,
            &event,
            "c1",
            json!({"kind": "not_given", "reason": "Registrert på feil pasient"}),
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{again}");
    assert_eq!(again["id"], correction["id"]);
    assert_eq!(app.methadone_stock_mg().await, stock_before, "stock returned");

    let row = app.row_on_list(&w.utdeler, &patient).await.expect("row");
    assert!(
        row["due"][0]["recorded"].is_null(),
        "the dose is free again: {row}"
    );
    assert_eq!(
        row["corrections"][0]["reason"],
        json!("Registrert på feil pasient")
    );
    // A second correction of the same recording is refused.
    let (status, refusal) = app
        .correct(
            &w.utdeler,
            &event,
            "c2",
            json!({"kind": "not_given", "reason": "Registrert på feil pasient"}),
        )
        .await;
    assert_eq!(status, StatusCode::CONFLICT, "{refusal}");

    // The patient comes and gets the dose: recorded once more, exactly once.
    let (status, again) = app.dispense(&w.utdeler, &patient, "right-row", json!({})).await;
    assert_eq!(status, StatusCode::CREATED, "{again}");
    let (status, twice) = app.dispense(&w.utdeler, &patient, "right-row-2", json!({})).await;
    assert_eq!(status, StatusCode::CONFLICT, "{twice}");

    // Nothing is deleted: the history holds all three recordings.
    let mut conn = app.state.store.read().await.expect("conn");
    let history = samhand_store::dispensing::dose_history_of(
        &mut conn,
        &[patient.parse().expect("id")],
        start_day(),
        start_day(),
    )
    .await
    .expect("history");
    assert_eq!(history.len(), 2, "the voided dose and the new one");
    assert!(history[0].voided_by.is_some() && history[1].voided_by.is_none());
    drop(conn);
    let overview = app.overview(&patient).await;
    let recent = overview["recent_dispensings"].as_array().expect("recent");
    assert_eq!(recent.len(), 2, "{overview}");
    assert!(
        recent.iter().any(|d| d["corrected_by"] == correction["id"]),
        "the overview's history shows the corrected recording: {overview}"
    );
    // The prescriber is told, and the correction is audited as a correction.
    let told = app
        .messages_about(&w.lege, &patient, "dispensing_correction")
        .await;
    assert_eq!(told.len(), 1, "{told:?}");
    let mut conn = app.state.store.read().await.expect("conn");
    let audit = samhand_store::audit::for_patient(&mut conn, patient.parse().expect("id"), 100)
        .await
        .expect("audit");
    assert!(
        audit
            .iter()
            .any(|e| e.action == "correct" && e.allowed && e.detail == "dispensing corrected"),
        "{audit:?}"
    );
}

#[tokio::test]
async fn a_wrong_amount_is_corrected_to_what_was_given() {
    let app = spawn_app().await;
    let w = &app.world;
    let patient = app.patient_on_daily_methadone(205).await;
    let stock_before = app.methadone_stock_mg().await;
    let (_, given) = app.dispense(&w.utdeler, &patient, "d", json!({})).await;
    let event = given["id"].as_str().expect("id").to_string();
    let (status, same) = app
        .correct(
            &w.utdeler,
            &event,
            "same",
            json!({"kind": "wrong_amount", "actual_mg": "60", "reason": "Målt feil"}),
        )
        .await;
    assert_eq!(status, StatusCode::CONFLICT, "{same}");
    let (status, correction) = app
        .correct(
            &w.utdeler,
            &event,
            "amount",
            json!({"kind": "wrong_amount", "actual_mg": "30", "reason": "Ga 30 mg, ikke 60"}),
        )
        .await;
    assert_eq!(status, StatusCode::CREATED, "{correction}");
    assert_eq!(correction["recorded"][0]["amount_mg"], json!(30.0));
    let row = app.row_on_list(&w.utdeler, &patient).await.expect("row");
    assert_eq!(row["due"][0]["recorded"]["amount_mg"], json!(30.0), "{row}");
    assert_eq!(row["due"][0]["recorded"]["outcome"], json!("corrected"));
    assert_eq!(app.methadone_stock_mg().await, stock_before - 30.0);
}

#[tokio::test]
async fn after_the_window_only_the_places_leader_or_a_prescriber_corrects() {
    let app = spawn_app().await;
    let w = &app.world;
    let patient = app.patient_on_daily_methadone(206).await;
    let (_, given) = app.dispense(&w.utdeler, &patient, "d", json!({})).await;
    let event = given["id"].as_str().expect("id").to_string();
    let body = json!({"kind": "not_given", "reason": "Pasienten kastet opp dosen"});
    // Another place never may.
    let (status, refusal) = app.correct(&w.utdeler2, &event, "x", body.clone()).await;
    assert_eq!(status, StatusCode::FORBIDDEN, "{refusal}");
    // The next day the recorder may not; the place's leader may.
    app.set_oslo_time(date(2026, 11, 24), Time::constant(9, 0, 0, 0));
    let (status, refusal) = app.correct(&w.utdeler, &event, "y", body.clone()).await;
    assert_eq!(status, StatusCode::FORBIDDEN, "{refusal}");
    assert!(
        refusal["detail"].as_str().expect("detail").contains("leder"),
        "{refusal}"
    );
    let (status, done) = app.correct(&w.centre_leader, &event, "z", body.clone()).await;
    assert_eq!(status, StatusCode::CREATED, "{done}");

    // A prescriber may correct too (another recording).
    let (_, given) = app.dispense(&w.utdeler, &patient, "d2", json!({})).await;
    let event = given["id"].as_str().expect("id").to_string();
    app.set_oslo_time(date(2026, 11, 26), Time::constant(9, 0, 0, 0));
    let (status, done) = app.correct(&w.lege, &event, "p", body.clone()).await;
    assert_eq!(status, StatusCode::CREATED, "{done}");
    // The window is a policy value: with one day, the recorder may the next day.
    {
        let mut tx = app.state.store.write().await.expect("tx");
        samhand_store::stock::set_policy_value(
            &mut tx,
            "dispensing.correction_window_days",
            1,
            Some(w.leder.id),
            samhand_domain::time::Clock::now(&*app.clock),
        )
        .await
        .expect("policy");
        tx.commit().await.expect("commit");
    }
    let (_, given) = app.dispense(&w.utdeler, &patient, "d3", json!({})).await;
    let event = given["id"].as_str().expect("id").to_string();
    app.set_oslo_time(date(2026, 11, 27), Time::constant(9, 0, 0, 0));
    let (status, done) = app.correct(&w.utdeler, &event, "r", body).await;
    assert_eq!(status, StatusCode::CREATED, "{done}");
}

#[tokio::test]
async fn a_future_days_list_does_not_call_a_dosed_patient_blocked() {
    let app = spawn_app().await;
    let w = &app.world;
    // In treatment since 1 September, dosed every day up to today.
    let first = date(2026, 9, 1);
    app.set_oslo_time(first, Time::constant(8, 0, 0, 0));
    let patient = app.enrol(207, first).await;
    app.sign_methadone(&patient, &["60"], first).await;
    app.arrange(&patient, w.centre, "AAAAAAA", first).await;
    let mut day = first;
    while day <= start_day() {
        app.set_oslo_time(day, Time::constant(9, 0, 0, 0));
        let (status, body) = app
            .dispense(&w.utdeler, &patient, &format!("d-{day}"), json!({}))
            .await;
        assert_eq!(status, StatusCode::CREATED, "{day}: {body}");
        day = day.tomorrow().expect("day");
    }
    for ahead in [1, 10, 30] {
        let date = start_day()
            .checked_add(jiff::Span::new().days(ahead))
            .expect("date");
        let (status, list) = app
            .get_json(&w.utdeler, &format!("/api/v1/dispensing/today?date={date}"))
            .await;
        assert_eq!(status, StatusCode::OK, "{list}");
        let row = list["rows"]
            .as_array()
            .expect("rows")
            .iter()
            .find(|r| r["patient"]["id"] == json!(patient))
            .cloned()
            .expect("on the list");
        assert_eq!(row["blocked"], json!(false), "{date}: {row}");
        assert_eq!(row["missed_consecutive_days"], json!(0), "{date}: {row}");
    }
}

#[tokio::test]
async fn a_monthly_depot_is_on_the_list_from_its_planned_day_and_the_overview_says_when() {
    let app = spawn_app().await;
    let w = &app.world;
    let patient = app.enrol(208, start_day()).await;
    let wednesday = date(2026, 11, 25);
    let body = json!({
        "substance": "depot_buprenorphine_monthly",
        "form": "injection",
        "parts_mg": [128],
        "effective_from": wednesday.to_string(),
        "reason": "Over til månedsdepot",
    });
    let (status, draft) = app
        .post_json(&w.lege, &format!("/api/v1/patients/{patient}/dose-orders"), &body)
        .await;
    assert_eq!(status, StatusCode::CREATED, "{draft}");
    let id = draft["id"].as_str().expect("id");
    let (status, signed) = app
        .post_json(&w.lege, &format!("/api/v1/dose-orders/{id}/sign"), &json!({}))
        .await;
    assert_eq!(status, StatusCode::OK, "{signed}");
    app.arrange(&patient, w.centre, "AAAAAAA", start_day()).await;

    // Monday and Tuesday before the planned Wednesday: not on the list, and the
    // overview does not claim a dose today.
    for day in [start_day(), date(2026, 11, 24)] {
        app.set_oslo_time(day, Time::constant(9, 0, 0, 0));
        assert!(app.row_on_list(&w.utdeler, &patient).await.is_none(), "{day}");
        let overview = app.overview(&patient).await;
        assert!(overview["dose_today_mg"].is_null(), "{day}: {overview}");
        assert_eq!(overview["next_injection_on"], json!("2026-11-25"), "{overview}");
    }
    app.set_oslo_time(wednesday, Time::constant(9, 0, 0, 0));
    let row = app.row_on_list(&w.utdeler, &patient).await.expect("on its day");
    assert_eq!(row["due"][0]["mode"], json!("injection"));
    assert_eq!(app.overview(&patient).await["dose_today_mg"], json!(128.0));
    // Given that day: the next days of its window do not show it again.
    let (status, body) = app.dispense(&w.utdeler, &patient, "inj", json!({})).await;
    assert_eq!(status, StatusCode::CREATED, "{body}");
    app.set_oslo_time(date(2026, 11, 27), Time::constant(9, 0, 0, 0));
    assert!(app.row_on_list(&w.utdeler, &patient).await.is_none());
    // The page says «Satt» for the injection, not «Utlevert».
    app.set_oslo_time(wednesday, Time::constant(10, 0, 0, 0));
    let session = app.session_of(w.utdeler.username).await;
    let (_, html) = app.page(&session, "/utlevering").await;
    assert!(html.contains("Satt kl. 09.00"), "injection recorded as «Satt»");
}

#[tokio::test]
async fn a_patient_without_photo_and_a_first_dose_are_marked_for_the_identity_check() {
    let app = spawn_app().await;
    let w = &app.world;
    let patient = app.patient_on_daily_methadone(209).await;
    let row = app.row_on_list(&w.utdeler, &patient).await.expect("row");
    assert_eq!(row["first_dose"], json!(true), "{row}");
    assert_eq!(row["patient"]["has_photo"], json!(false));
    let session = app.session_of(w.utdeler.username).await;
    let (_, html) = app.page(&session, "/utlevering").await;
    assert!(html.contains("Mangler bilde – sjekk legitimasjon"));
    assert!(html.contains("Første dose – sjekk legitimasjon"));
    let (status, _) = app.dispense(&w.utdeler, &patient, "first", json!({})).await;
    assert_eq!(status, StatusCode::CREATED);
    app.set_oslo_time(date(2026, 11, 24), Time::constant(9, 0, 0, 0));
    let row = app.row_on_list(&w.utdeler, &patient).await.expect("row");
    assert_eq!(row["first_dose"], json!(false), "{row}");
}

#[tokio::test]
async fn christmas_day_is_marked_as_a_holiday_on_the_list() {
    let app = spawn_app().await;
    let w = &app.world;
    app.patient_on_daily_methadone(210).await;
    let (status, list) = app
        .get_json(&w.utdeler, "/api/v1/dispensing/today?date=2026-12-25")
        .await;
    assert_eq!(status, StatusCode::OK, "{list}");
    assert_eq!(list["holiday"], json!("1. juledag"), "{list}");
    let (_, list) = app.get_json(&w.utdeler, "/api/v1/dispensing/today").await;
    assert!(list["holiday"].is_null());
}

#[tokio::test]
async fn the_list_is_searched_by_name_birth_date_or_last_digits_and_printed() {
    let app = spawn_app().await;
    let w = &app.world;
    let first = app.patient_on_daily_methadone(211).await;
    let second = app.patient_on_daily_methadone(212).await;
    let session = app.session_of(w.utdeler.username).await;
    let national = crate::helpers::national_id(212);
    let last = &national[national.len() - 5..];
    let (status, html) = app.page(&session, &format!("/utlevering?q={last}")).await;
    assert_eq!(status, StatusCode::OK);
    assert!(
        html.contains(&format!("data-patient=\"{second}\"")),
        "found by digits"
    );
    assert!(
        !html.contains(&format!("data-patient=\"{first}\"")),
        "only the match"
    );
    let (_, html) = app.page(&session, "/utlevering?q=Pasient211").await;
    assert!(html.contains(&format!("data-patient=\"{first}\"")));
    assert!(!html.contains(&format!("data-patient=\"{second}\"")));
    let (_, html) = app.page(&session, "/utlevering?q=Ingen+Slik").await;
    assert!(html.contains("Ingen pasienter passer søket."));
    // Done and not yet done.
    app.dispense(&w.utdeler, &first, "k", json!({})).await;
    let (_, html) = app.page(&session, "/utlevering?vis=ferdig").await;
    assert!(html.contains(&format!("data-patient=\"{first}\"")));
    assert!(!html.contains(&format!("data-patient=\"{second}\"")));
    let (_, html) = app.page(&session, "/utlevering?vis=gjenstar").await;
    assert!(!html.contains(&format!("data-patient=\"{first}\"")));
    assert!(html.contains(&format!("data-patient=\"{second}\"")));

    // The printable list for tomorrow, with a column to sign.
    let (status, print) = app.page(&session, "/utlevering/utskrift?dato=2026-11-24").await;
    assert_eq!(status, StatusCode::OK);
    assert!(print.contains("Utleveringsliste tirsdag 24.11.2026"), "{print}");
    assert!(print.contains("Pasient211 Testesen") && print.contains("Pasient212 Testesen"));
    assert!(print.contains("Signatur"));
    assert!(!print.contains("style=\""));
}

#[tokio::test]
async fn a_refusal_is_shown_at_the_row_and_in_a_summary_at_the_top() {
    let app = spawn_app().await;
    let w = &app.world;
    let patient = app.patient_on_daily_methadone(213).await;
    let session = app.session_of(w.utdeler.username).await;
    app.dispense(&w.utdeler, &patient, "first", json!({})).await;
    let (status, html, _) = app
        .submit(
            &session,
            "/utlevering",
            &[
                ("patient_id", patient.as_str()),
                ("idempotency_key", "page-second"),
                ("outcome", "given"),
                ("identity_confirmed", "yes"),
            ],
        )
        .await;
    assert_eq!(status, StatusCode::CONFLICT);
    assert!(html.contains("id=\"error-summary\""), "{html}");
    assert!(html.contains(&format!("href=\"#p-{patient}\"")));
    assert!(html.contains("data-testid=\"row-message\""));
}

#[tokio::test]
async fn two_hundred_concurrent_recordings_of_one_dose_give_no_server_error_and_each_is_audited() {
    let app = spawn_app().await;
    let patient = app.patient_on_daily_methadone(214).await;
    let (before_allowed, before_denied) = app.audit_counts(&patient).await;
    let app = std::sync::Arc::new(app);
    let mut tasks = tokio::task::JoinSet::new();
    const ATTEMPTS: usize = 200;
    for i in 0..ATTEMPTS {
        let app = app.clone();
        let patient = patient.clone();
        tasks.spawn(async move {
            let key = if i % 4 == 0 {
                "same-tap".to_string()
            } else {
                format!("tablet-{i}")
            };
            app.dispense(&app.world.utdeler, &patient, &key, json!({})).await
        });
    }
    let mut created = 0;
    while let Some(result) = tasks.join_next().await {
        let (status, body) = result.expect("task");
        match status {
            StatusCode::CREATED => created += 1,
            StatusCode::OK | StatusCode::CONFLICT => {}
            other => panic!("unexpected {other}: {body}"),
        }
    }
    assert_eq!(created, 1);
    let (after_allowed, after_denied) = app.audit_counts(&patient).await;
    assert_eq!(after_denied, before_denied);
    assert!(
        after_allowed - before_allowed >= ATTEMPTS,
        "an audit entry per attempt: {} for {ATTEMPTS}",
        after_allowed - before_allowed
    );
}

#[tokio::test]
async fn a_recording_that_fails_midway_says_the_outcome_is_unknown_and_retries_with_the_same_key() {
    let app = spawn_app().await;
    let w = &app.world;
    let patient = app.patient_on_daily_methadone(215).await;
    let session = app.session_of(w.utdeler.username).await;
    let rename = |from: &str, to: &str| format!("ALTER TABLE {from} RENAME TO {to}");
    // The stock ledger goes missing: the recording's transaction fails after its
    // first statements, as a database failure would.
    {
        let mut tx = app.state.store.write().await.expect("tx");
        sqlx::query(&rename("stock_ledger", "stock_ledger_away"))
            .execute_on(&mut tx)
            .await
            .expect("rename");
        tx.commit().await.expect("commit");
    }
    let fields = [
        ("patient_id", patient.as_str()),
        ("idempotency_key", "tap-once"),
        ("outcome", "given"),
        ("identity_confirmed", "yes"),
    ];
    let (status, html, _) = app.submit(&session, "/utlevering", &fields).await;
    assert_eq!(status, StatusCode::INTERNAL_SERVER_ERROR);
    assert!(
        html.contains("Vi vet ikke om dette ble lagret – sjekk listen"),
        "{html}"
    );
    assert!(!html.contains("Ingenting ble lagret"));
    assert!(
        html.contains("name=\"idempotency_key\" value=\"tap-once\""),
        "the retry carries the same key"
    );
    {
        let mut tx = app.state.store.write().await.expect("tx");
        sqlx::query(&rename("stock_ledger_away", "stock_ledger"))
            .execute_on(&mut tx)
            .await
            .expect("rename back");
        tx.commit().await.expect("commit");
    }
    // «Prøv igjen» posts the same fields: recorded once; a second retry is answered
    // by what was stored, not recorded twice.
    for _ in 0..2 {
        let (status, _, location) = app.submit(&session, "/utlevering", &fields).await;
        assert_eq!(status, StatusCode::SEE_OTHER);
        assert!(location.expect("location").contains("registrert="));
    }
    let row = app.row_on_list(&w.utdeler, &patient).await.expect("row");
    assert_eq!(row["done"], json!(true));
    let mut conn = app.state.store.read().await.expect("conn");
    let doses = samhand_store::dispensing::doses_of(
        &mut conn,
        &[patient.parse().expect("id")],
        start_day(),
        start_day(),
    )
    .await
    .expect("doses");
    assert_eq!(doses.len(), 1);
}
