//! The unit indicators' reads on the real database (SQLite, or PostgreSQL when
//! DATABASE_URL is set): counts per place and Oslo month aggregated in SQL, with
//! corrected doses left out, and one row per episode with its place, first held
//! meeting and plan.

use jiff::civil::{date, time};
use samhand_domain::ids::{OrganisationId, PatientId};
use samhand_domain::indicators::{self, CountKind, YearMonth};
use samhand_domain::time::oslo_timestamp;
use samhand_store::Store;

async fn fresh() -> (Store, tempfile::TempDir) {
    let dir = tempfile::tempdir().expect("tempdir");
    let url = samhand_store::testing::fresh_database_url(dir.path()).await;
    let store = Store::connect(&url, 2).await.expect("connect");
    (store, dir)
}

async fn run(store: &Store, sql: &str) {
    let mut conn = store.read().await.expect("conn");
    sqlx::query(sql)
        .execute(&mut *conn)
        .await
        .unwrap_or_else(|e| panic!("{sql}: {e}"));
}

#[tokio::test]
async fn counts_and_episodes_are_read_per_place_and_oslo_month() {
    let (store, _dir) = fresh().await;
    let (unit, a, b, other) = (
        OrganisationId::new(),
        OrganisationId::new(),
        OrganisationId::new(),
        OrganisationId::new(),
    );
    let (p1, p2) = (PatientId::new(), PatientId::new());
    let user = uuid::Uuid::new_v4();
    run(&store, &format!("INSERT INTO organisations (id, name, kind, municipality, created_at) VALUES ('{unit}', 'LAR', 'lar_unit', 'Oslo', 0)")).await;
    for (id, name, cap, parent) in [
        (a, "Apotek A", "10", unit),
        (b, "Apotek B", "NULL", unit),
        (other, "Annet", "5", other),
    ] {
        run(&store, &format!("INSERT INTO organisations (id, name, kind, municipality, created_at, capacity, responsible_unit_id) VALUES ('{id}', '{name}', 'pharmacy', 'Oslo', 0, {cap}, '{parent}')")).await;
    }
    run(&store, &format!("INSERT INTO users (id, username, display_name, role, organisation_id, created_at) VALUES ('{user}', 'u', 'U', 'doctor', '{unit}', 0)")).await;
    for (p, n) in [(p1, "1"), (p2, "2")] {
        run(&store, &format!("INSERT INTO patients (id, national_id, given_name, family_name, phone, address, created_by, created_at) VALUES ('{p}', '{n}', 'G', 'F', '', '', '{user}', 0)")).await;
    }
    let (e1, e2) = (uuid::Uuid::new_v4(), uuid::Uuid::new_v4());
    for (e, p, start) in [(e1, p1, "2025-01-10"), (e2, p2, "2025-06-01")] {
        run(&store, &format!("INSERT INTO episodes (id, patient_id, responsible_unit, doctor_id, consultant_id, started_on, phase, created_by, created_at) VALUES ('{e}', '{p}', '{unit}', '{user}', '{user}', '{start}', 'stabilisation', '{user}', 0)")).await;
    }
    run(&store, &format!("INSERT INTO episode_ends (episode_id, ended_on, reason, note, decided_by, decided_at) VALUES ('{e2}', '2026-02-14', 'death', '', '{user}', 0)")).await;
    for (v, p, place, from) in [
        (1, p1, a, "2025-01-10"),
        (2, p1, b, "2026-02-01"),
        (1, p2, a, "2025-06-01"),
    ] {
        run(&store, &format!("INSERT INTO arrangements (id, patient_id, version, place_id, week, valid_from, review_on, reason, decided_by, decided_at) VALUES ('{}', '{p}', {v}, '{place}', 'AAAAAAT', '{from}', '2027-01-01', '', '{user}', 0)", uuid::Uuid::new_v4())).await;
    }
    let meeting = uuid::Uuid::new_v4();
    run(&store, &format!("INSERT INTO care_meetings (id, patient_id, meeting_date, meeting_time, place, agenda, scheduled_by, scheduled_at) VALUES ('{meeting}', '{p1}', '2025-02-15', '10:00', '', '', '{user}', 0)")).await;
    run(&store, &format!("INSERT INTO care_meeting_minutes (meeting_id, patient_present, text, decisions, next_meeting_proposed, recorded_by, recorded_at) VALUES ('{meeting}', 1, '', '', '', '{user}', 0)")).await;
    let order = uuid::Uuid::new_v4();
    run(&store, &format!("INSERT INTO dose_orders (id, patient_id, episode_id, substance, form, parts, effective_from, titration, reason, created_by, created_at) VALUES ('{order}', '{p1}', '{e1}', 'methadone', 'oral', '60000', '2025-01-10', '', '', '{user}', 0)")).await;
    // January at A: three supervised doses and one take-home dose; one supervised dose
    // is taken back by a correction. February at B: one supervised, one withheld.
    let event = |id: uuid::Uuid, place: OrganisationId, day: &str, outcome: &str| {
        format!(
            "INSERT INTO dispensing_events (id, idempotency_key, patient_id, place_id, day, outcome, identity_confirmed_by, recorded_by, recorded_at) VALUES ('{id}', '{id}', '{p1}', '{place}', '{day}', '{outcome}', '{user}', '{user}', 0)"
        )
    };
    let dose = |event: uuid::Uuid, day: &str, mode: &str| {
        format!(
            "INSERT INTO dispensed_doses (event_id, patient_id, dose_date, part, mode, substance, order_id, amount_ug, ordered_ug, generation) VALUES ('{event}', '{p1}', '{day}', 0, '{mode}', 'methadone', '{order}', 60000, 60000, 0)"
        )
    };
    for (day, mode) in [
        ("2026-01-05", "supervised"),
        ("2026-01-06", "supervised"),
        ("2026-01-07", "supervised"),
        ("2026-01-08", "take_home"),
    ] {
        let id = uuid::Uuid::new_v4();
        run(&store, &event(id, a, &day.replace("08", "07"), "given")).await;
        run(&store, &dose(id, day, mode)).await;
    }
    let correction = uuid::Uuid::new_v4();
    run(&store, &event(correction, a, "2026-01-06", "corrected")).await;
    run(&store, &format!("INSERT INTO dispensing_voids (correction_event_id, patient_id, dose_date, part, generation) VALUES ('{correction}', '{p1}', '2026-01-06', 0, 0)")).await;
    let feb = uuid::Uuid::new_v4();
    run(&store, &event(feb, b, "2026-02-02", "given")).await;
    run(&store, &dose(feb, "2026-02-02", "supervised")).await;
    run(&store, &event(uuid::Uuid::new_v4(), b, "2026-02-03", "withheld")).await;
    run(&store, &format!("INSERT INTO overdose_events (id, patient_id, occurred_on, outcome, place_description, substances, naloxone_used, reported_by, recorded_by, recorded_organisation, recorded_at) VALUES ('{}', '{p2}', '2026-01-20', 'non_fatal', '', '', 1, '', '{user}', '{unit}', 0)", uuid::Uuid::new_v4())).await;
    // A deviation at 00:30 Oslo time on 1 February is 31 January in UTC: February (H73).
    let at = oslo_timestamp(date(2026, 2, 1).to_datetime(time(0, 30, 0, 0))).as_microsecond();
    run(&store, &format!("INSERT INTO deviations (id, place_id, kind, description, reported_by, reported_at) VALUES ('{}', '{a}', 'other', '', '{user}', {at})", uuid::Uuid::new_v4())).await;
    // A block's notice at 00:30 Oslo time on 1 February counts in February; another
    // message does not count (H73).
    for (key, kind) in [
        (format!("'missed_block:{p1}:2026-01-25'"), "missed_doses"),
        ("NULL".to_string(), "other"),
    ] {
        run(&store, &format!("INSERT INTO messages (id, patient_id, kind, subject, body, important, sent_at, event_key) VALUES ('{}', '{p1}', '{kind}', 'S', 'B', 1, {at}, {key})", uuid::Uuid::new_v4())).await;
    }

    let mut conn = store.read().await.expect("conn");
    let places = samhand_store::indicators::places(&mut conn, unit)
        .await
        .expect("places");
    assert_eq!(
        places
            .iter()
            .map(|p| (p.name.as_str(), p.capacity))
            .collect::<Vec<_>>(),
        vec![("Apotek A", Some(10)), ("Apotek B", None)]
    );
    let since = date(2024, 1, 1);
    let episodes = samhand_store::indicators::episodes(&mut conn, unit, since)
        .await
        .expect("episodes");
    assert_eq!(episodes.len(), 2);
    let first = episodes.iter().find(|e| e.patient == p1).expect("p1");
    assert_eq!(first.first_meeting_on, Some(date(2025, 2, 15)));
    assert_eq!(first.places.len(), 2);
    let counts = samhand_store::indicators::counts(&mut conn, unit, date(2026, 1, 1), date(2026, 2, 28))
        .await
        .expect("counts");
    drop(conn);
    let months = indicators::months_ending(YearMonth::new(2026, 2).expect("month"), 2);
    let result = indicators::compute(&months, date(2026, 3, 1), &places, &episodes, &counts);
    let (jan_a, feb_a, feb_b) = (
        &result.places[0].months[0],
        &result.places[0].months[1],
        &result.places[1].months[1],
    );
    assert_eq!(
        (
            jan_a.count(CountKind::SupervisedDoses),
            jan_a.count(CountKind::TakeHomeDoses)
        ),
        (2, 1)
    );
    assert_eq!(
        (
            feb_b.count(CountKind::SupervisedDoses),
            feb_b.count(CountKind::WithheldDoses)
        ),
        (1, 1)
    );
    assert_eq!(feb_a.count(CountKind::Deviations), 1);
    assert_eq!(result.places[0].months[0].count(CountKind::Deviations), 0);
    assert_eq!(result.unit.months[0].count(CountKind::Overdoses), 1);
    assert_eq!(result.unit.months[1].count(CountKind::Deaths), 1);
    assert_eq!(
        (
            result.unit.months[0].count(CountKind::Blocks),
            result.unit.months[1].count(CountKind::Blocks)
        ),
        (0, 1)
    );
    // January: both at A; February: p1 moved to B, p2 died.
    assert_eq!(
        (jan_a.in_treatment, feb_a.in_treatment, feb_b.in_treatment),
        (2, 0, 1)
    );
    assert_eq!(result.unit.months[1].in_treatment, 1);
}

/// H86 on the real database: the samples a regime of the unit's patient expects,
/// per month its weeks end in, read for the unit only (another unit's patient's
/// regime is not counted), and no other follow-up without stays or schedules.
#[tokio::test]
async fn samples_expected_are_read_from_the_units_regimes() {
    let (store, _dir) = fresh().await;
    let (unit, other_unit) = (OrganisationId::new(), OrganisationId::new());
    let user = uuid::Uuid::new_v4();
    for id in [unit, other_unit] {
        run(&store, &format!("INSERT INTO organisations (id, name, kind, municipality, created_at) VALUES ('{id}', 'LAR {id}', 'lar_unit', 'Oslo', 0)")).await;
    }
    run(&store, &format!("INSERT INTO users (id, username, display_name, role, organisation_id, created_at) VALUES ('{user}', 'u', 'U', 'doctor', '{unit}', 0)")).await;
    let (ours, theirs) = (PatientId::new(), PatientId::new());
    for (p, n, owner) in [(ours, "1", unit), (theirs, "2", other_unit)] {
        run(&store, &format!("INSERT INTO patients (id, national_id, given_name, family_name, phone, address, created_by, created_at) VALUES ('{p}', '{n}', 'G', 'F', '', '', '{user}', 0)")).await;
        run(&store, &format!("INSERT INTO episodes (id, patient_id, responsible_unit, doctor_id, consultant_id, started_on, phase, created_by, created_at) VALUES ('{}', '{p}', '{owner}', '{user}', '{user}', '2026-10-01', 'stabilisation', '{user}', 0)", uuid::Uuid::new_v4())).await;
        // Weekly from Monday 2 November.
        run(&store, &format!("INSERT INTO drug_test_regimes (id, patient_id, version, valid_from, reason, note, substances, frequency, supervised, where_given, review_on, ended, recorded_by, recorded_at) VALUES ('{}', '{p}', 1, '2026-11-02', 'more_take_home', '', 'opioids', 'weekly', 1, 'LAR', '2027-05-01', 0, '{user}', 0)", uuid::Uuid::new_v4())).await;
    }
    let mut conn = store.read().await.expect("conn");
    let counts = samhand_store::indicators::followup_counts(
        &mut conn,
        unit,
        date(2026, 11, 1),
        date(2026, 12, 31),
        date(2026, 12, 15),
    )
    .await
    .expect("follow-up");
    let expected: Vec<(String, Option<OrganisationId>, u64)> = counts
        .iter()
        .map(|c| {
            assert_eq!(c.kind, CountKind::DrugTestSamplesExpected, "{c:?}");
            (c.month.label(), c.place, c.count)
        })
        .collect();
    // Weeks ending 8, 15, 22 and 29 November; 6 and 13 December (the week ending
    // the 20th has not ended on the 15th).
    assert_eq!(
        expected,
        vec![("2026-11".to_string(), None, 4), ("2026-12".to_string(), None, 2)]
    );
}
