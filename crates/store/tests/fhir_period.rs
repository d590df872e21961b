//! A FHIR search of the dispensings narrowed by a period, on the real database
//! (SQLite, or PostgreSQL when DATABASE_URL is set): the doses read are those of
//! the listed patients whose recording falls in [from, until), with a dose date up
//! to the day given and not voided, and the count that refuses a search (H103)
//! counts the same doses.

use jiff::Timestamp;
use jiff::civil::{Date, date};
use samhand_domain::ids::PatientId;
use samhand_store::Store;
use samhand_store::dispensing::{doses_recorded_in, doses_recorded_in_exceed};

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

/// An instant in UTC, in the microseconds the store keeps.
fn at(day: Date, hour: i8, minute: i8) -> i64 {
    day.at(hour, minute, 0, 0)
        .to_zoned(jiff::tz::TimeZone::UTC)
        .expect("instant")
        .timestamp()
        .as_microsecond()
}

/// Two patients with a dose order each, a place and a user to record with.
struct World {
    place: uuid::Uuid,
    user: uuid::Uuid,
    patients: [(PatientId, uuid::Uuid); 2],
}

async fn world(store: &Store) -> World {
    let (place, user) = (uuid::Uuid::new_v4(), uuid::Uuid::new_v4());
    run(store, &format!("INSERT INTO organisations (id, name, kind, municipality, created_at) VALUES ('{place}', 'LAR', 'lar_unit', 'Oslo', 0)")).await;
    run(store, &format!("INSERT INTO users (id, username, display_name, role, organisation_id, created_at) VALUES ('{user}', 'u', 'U', 'doctor', '{place}', 0)")).await;
    let patients = [
        (PatientId::new(), uuid::Uuid::new_v4()),
        (PatientId::new(), uuid::Uuid::new_v4()),
    ];
    for (n, (patient, order)) in patients.iter().enumerate() {
        let episode = uuid::Uuid::new_v4();
        run(store, &format!("INSERT INTO patients (id, national_id, given_name, family_name, phone, address, created_by, created_at) VALUES ('{patient}', '{n}', 'G', 'F', '', '', '{user}', 0)")).await;
        run(store, &format!("INSERT INTO episodes (id, patient_id, responsible_unit, doctor_id, consultant_id, started_on, phase, created_by, created_at) VALUES ('{episode}', '{patient}', '{place}', '{user}', '{user}', '2026-01-01', 'stabilisation', '{user}', 0)")).await;
        run(store, &format!("INSERT INTO dose_orders (id, patient_id, episode_id, substance, form, parts, effective_from, titration, reason, created_by, created_at) VALUES ('{order}', '{patient}', '{episode}', 'methadone', 'oral', '60000', '2026-01-01', '', '', '{user}', 0)")).await;
    }
    World {
        place,
        user,
        patients,
    }
}

impl World {
    /// Records an event of patient `p` at `recorded_at` with one dose per
    /// (dose date, part, generation), and gives its id.
    async fn record(
        &self,
        store: &Store,
        p: usize,
        recorded_at: i64,
        outcome: &str,
        doses: &[(&str, i64, i64)],
    ) -> uuid::Uuid {
        let (patient, order) = self.patients[p];
        let (event, place, user) = (uuid::Uuid::new_v4(), self.place, self.user);
        let day = doses.first().map_or("2026-12-01", |d| d.0);
        run(store, &format!("INSERT INTO dispensing_events (id, idempotency_key, patient_id, place_id, day, outcome, identity_confirmed_by, recorded_by, recorded_at) VALUES ('{event}', '{event}', '{patient}', '{place}', '{day}', '{outcome}', '{user}', '{user}', {recorded_at})")).await;
        for (dose_date, part, generation) in doses {
            run(store, &format!("INSERT INTO dispensed_doses (event_id, patient_id, dose_date, part, mode, substance, order_id, amount_ug, ordered_ug, generation) VALUES ('{event}', '{patient}', '{dose_date}', {part}, 'supervised', 'methadone_oral_solution', '{order}', 60000, 60000, {generation})")).await;
        }
        event
    }
}

#[tokio::test]
async fn a_period_reads_exactly_the_listed_patients_doses_recorded_in_it() {
    let (store, _dir) = fresh().await;
    let w = world(&store).await;
    let (from_day, until_day) = (date(2026, 12, 1), date(2026, 12, 5));
    let to_date = date(2026, 12, 4);
    // In the period: recorded at its first instant, a late recording of an earlier
    // dose date, a day's dose, take-home doses up to the last dose date asked
    // for, and a dose recorded again by a correction.
    let first = w
        .record(&store, 0, at(from_day, 0, 0), "given", &[("2026-11-29", 0, 0)])
        .await;
    let late = w
        .record(
            &store,
            0,
            at(date(2026, 12, 3), 9, 0),
            "given",
            &[("2026-11-28", 0, 0)],
        )
        .await;
    let day = w
        .record(
            &store,
            0,
            at(date(2026, 12, 2), 8, 0),
            "given",
            &[("2026-12-02", 0, 0)],
        )
        .await;
    let take_home = w
        .record(
            &store,
            0,
            at(date(2026, 12, 3), 10, 0),
            "given",
            &[("2026-12-03", 0, 0), ("2026-12-04", 0, 0), ("2026-12-05", 0, 0)],
        )
        .await;
    let voided = w
        .record(
            &store,
            0,
            at(date(2026, 12, 2), 12, 0),
            "given",
            &[("2026-12-01", 0, 0)],
        )
        .await;
    let correction = w
        .record(
            &store,
            0,
            at(date(2026, 12, 2), 13, 0),
            "corrected",
            &[("2026-12-01", 0, 1)],
        )
        .await;
    let (patient, _) = w.patients[0];
    run(&store, &format!("INSERT INTO dispensing_voids (correction_event_id, patient_id, dose_date, part, generation) VALUES ('{correction}', '{patient}', '2026-12-01', 0, 0)")).await;
    // Outside it: recorded a microsecond before it, at its end, and another
    // patient's dose recorded in it.
    w.record(
        &store,
        0,
        at(from_day, 0, 0) - 1,
        "given",
        &[("2026-11-30", 0, 0)],
    )
    .await;
    w.record(&store, 0, at(until_day, 0, 0), "given", &[("2026-12-05", 1, 0)])
        .await;
    let other = w
        .record(
            &store,
            1,
            at(date(2026, 12, 2), 8, 0),
            "given",
            &[("2026-12-02", 0, 0)],
        )
        .await;

    let from = Timestamp::from_microsecond(at(from_day, 0, 0)).expect("from");
    let until = Timestamp::from_microsecond(at(until_day, 0, 0)).expect("until");
    let mut conn = store.read().await.expect("conn");
    let doses = doses_recorded_in(&mut conn, &[patient], from, until, to_date)
        .await
        .expect("doses");
    let read: Vec<(String, String, u8, i64)> = doses
        .iter()
        .map(|d| {
            (
                d.event_id.to_string(),
                d.key.date.to_string(),
                d.key.part,
                d.generation,
            )
        })
        .collect();
    let expected: Vec<(String, String, u8, i64)> = [
        (late, "2026-11-28", 0),
        (first, "2026-11-29", 0),
        (correction, "2026-12-01", 1),
        (day, "2026-12-02", 0),
        (take_home, "2026-12-03", 0),
        (take_home, "2026-12-04", 0),
    ]
    .iter()
    .map(|(event, dose_date, generation)| (event.to_string(), dose_date.to_string(), 0, *generation))
    .collect();
    assert_eq!(read, expected, "in dose date order");
    assert!(
        doses
            .iter()
            .all(|d| d.patient_id == patient && d.voided_by.is_none())
    );
    assert!(
        !read.iter().any(|r| r.0 == voided.to_string()),
        "the voided dose is left out"
    );

    // The count that refuses a search counts the same doses, the other patient's
    // too once listed.
    let period = (from, until, to_date);
    let exceeds = |patients: Vec<PatientId>, cap: usize| {
        let store = &store;
        async move {
            let mut conn = store.read().await.expect("conn");
            doses_recorded_in_exceed(&mut conn, &patients, period, cap)
                .await
                .expect("count")
        }
    };
    let both = vec![patient, w.patients[1].0];
    assert!(!exceeds(vec![patient], 6).await);
    assert!(exceeds(vec![patient], 5).await);
    assert!(!exceeds(both.clone(), 7).await);
    assert!(exceeds(both.clone(), 6).await);
    let doses = doses_recorded_in(&mut conn, &both, from, until, to_date)
        .await
        .expect("doses");
    assert_eq!(doses.len(), 7);
    assert_eq!(
        doses
            .iter()
            .filter(|d| d.event_id.to_string() == other.to_string())
            .count(),
        1
    );
}
