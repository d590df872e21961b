//! The one-statement read of a patient (`samhand_store::one_patient`, issue 16) on
//! the demo's world (SQLite in a temporary directory, or a fresh PostgreSQL
//! database when DATABASE_URL points at a PostgreSQL server): for every patient it
//! gives exactly what the kinds' own readers give one statement each: the patient,
//! episodes, every order, arrangements, covers, privacy facts, the event of an
//! idempotency key, the recorded doses about a day and the kept dosing state, and
//! the overview's history (identity versions, recordings, days dosed).

use std::process::Command;

use jiff::ToSpan;
use samhand_domain::ids::PatientId;
use samhand_store::one_patient::{self, Also};
use samhand_store::{day_state, dispensing, health, orders, patients, privacy};

fn runtime() -> tokio::runtime::Runtime {
    tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .expect("runtime")
}

/// Debug texts, for comparing values of types without `PartialEq`.
fn shown<T: std::fmt::Debug>(values: &[T]) -> Vec<String> {
    values.iter().map(|v| format!("{v:?}")).collect()
}

#[test]
fn one_statement_reads_what_the_readers_of_each_kind_read_for_every_demo_patient() {
    let dir = tempfile::tempdir().expect("tempdir");
    let rt = runtime();
    let url = rt.block_on(samhand_store::testing::fresh_database_url(dir.path()));
    let mut command = Command::new(env!("CARGO_BIN_EXE_samhand"));
    command
        .args(["demo", "--patients", "30"])
        .env("SAMHAND_DATA_DIR", dir.path())
        .env("SAMHAND_LOG", "warn");
    if url.starts_with("postgres") {
        command.env("DATABASE_URL", &url);
    } else {
        command.env_remove("DATABASE_URL").env_remove("DATABASE_URL_FILE");
    }
    let demo = command.output().expect("run samhand demo");
    assert!(demo.status.success(), "{}", String::from_utf8_lossy(&demo.stderr));

    rt.block_on(async {
        let store = samhand_store::Store::connect(&url, 2).await.expect("connect");
        let mut conn = store.read().await.expect("conn");
        let ids: Vec<PatientId> = sqlx::query("SELECT id FROM patients ORDER BY id")
            .fetch_all(&mut *conn)
            .await
            .expect("patients")
            .iter()
            .map(|row| sqlx::Row::get::<String, _>(row, 0).parse().expect("id"))
            .collect();
        assert!(ids.len() >= 30, "{} patients", ids.len());
        let today = jiff::Zoned::now().in_tz("Europe/Oslo").expect("Oslo").date();
        // The demo writes no covers and no drafts: a few patients get some here.
        for id in &ids[..3] {
            for (days, kind) in [(3, "at_place"), (2, "take_home_from")] {
                sqlx::query(
                    "INSERT INTO covers (id, patient_id, cover_date, kind, take_home_from, place_id, decided_by, decided_at)
                     SELECT $1, patient_id, $2, $3, CASE WHEN $3 = 'take_home_from' THEN $4 END,
                     CASE WHEN $3 = 'at_place' THEN place_id END, decided_by, decided_at
                     FROM arrangements WHERE patient_id = $5 ORDER BY version LIMIT 1",
                )
                .bind(uuid::Uuid::now_v7().to_string())
                .bind((today + days.days()).to_string())
                .bind(kind)
                .bind((today + (days - 1).days()).to_string())
                .bind(id.to_string())
                .execute(&mut *conn)
                .await
                .expect("cover");
            }
            sqlx::query(
                "INSERT INTO dose_orders (id, patient_id, episode_id, substance, form, parts, effective_from, titration, reason, created_by, created_at)
                 SELECT $1, patient_id, episode_id, substance, form, parts, effective_from, titration, 'utkast', created_by, created_at + 1
                 FROM dose_orders WHERE patient_id = $2 ORDER BY created_at LIMIT 1",
            )
            .bind(uuid::Uuid::now_v7().to_string())
            .bind(id.to_string())
            .execute(&mut *conn)
            .await
            .expect("draft");
            // And a corrected identity.
            sqlx::query(
                "INSERT INTO patient_identity_versions (patient_id, version, national_id, given_name, family_name, phone, address, reason, recorded_by, recorded_at)
                 SELECT patient_id, version + 1, national_id, given_name, 'Rettesen', phone, address, 'Feil etternavn', recorded_by, recorded_at + 1
                 FROM patient_identity_versions WHERE patient_id = $1 AND version = 1",
            )
            .bind(id.to_string())
            .execute(&mut *conn)
            .await
            .expect("identity version");
        }
        let (from, near, to) = (today - 60.days(), today - 1.days(), today + 7.days());
        let (lookback, history_from) = (today - 28.days(), today - 14.days());
        let (mut with_facts, mut with_covers, mut with_doses, mut with_drafts) = (0, 0, 0, 0);
        let (mut with_history, mut with_versions, mut with_notes) = (0, 0, 0);
        for id in ids {
            let key: Option<String> =
                sqlx::query("SELECT idempotency_key FROM dispensing_events WHERE patient_id = $1 LIMIT 1")
                    .bind(id.to_string())
                    .fetch_optional(&mut *conn)
                    .await
                    .expect("key")
                    .map(|row| sqlx::Row::get(&row, 0));
            let also = Also {
                event_key: key.as_deref(),
                recent: Some((from, near, to)),
                history: Some((lookback, history_from, to)),
                health: true,
            };
            let read = one_patient::read(&mut conn, id, also).await.expect("one statement");

            assert_eq!(read.patient, patients::get(&mut conn, id).await.expect("patient"));
            assert_eq!(read.episodes, patients::episodes(&mut conn, id).await.expect("episodes"));
            let written = orders::orders(&mut conn, id).await.expect("orders");
            assert_eq!(shown(&read.orders), shown(&written));
            with_drafts += usize::from(written.iter().any(|o| o.signature.is_none()));
            assert_eq!(
                shown(&read.arrangements),
                shown(&orders::arrangements(&mut conn, id).await.expect("arrangements"))
            );
            let mut covers = orders::covers_of(&mut conn, &[id]).await.expect("covers");
            covers.sort_by_key(|c| (c.date, c.decided_at));
            assert_eq!(shown(&read.covers), shown(&covers));
            with_covers += usize::from(!covers.is_empty());
            let facts = privacy::facts_of(&mut conn, &[id])
                .await
                .expect("facts")
                .remove(&id)
                .unwrap_or_default();
            assert_eq!(read.privacy, facts);
            with_facts += usize::from(facts != Default::default());
            let event = match &key {
                Some(key) => dispensing::event_by_key(&mut conn, key).await.expect("event"),
                None => None,
            };
            assert_eq!(shown(&[read.event_by_key]), shown(&[event]));
            let recent = dispensing::recent_doses_of(&mut conn, &[id], from, near, to)
                .await
                .expect("recent");
            let read_recent = read.recent.expect("asked for");
            assert_eq!(shown(&read_recent.doses), shown(&recent.doses));
            assert_eq!(read_recent.dosed_days, recent.dosed_days);
            assert_eq!(read_recent.ever_given, recent.ever_given);
            with_doses += usize::from(!recent.doses.is_empty());
            let kept = day_state::kept_of(&mut conn, &[id])
                .await
                .expect("kept")
                .remove(&id)
                .unwrap_or_default();
            assert_eq!(read.kept, Some(kept));

            let identity = patients::identity_versions_of(&mut conn, &[id]).await.expect("identity");
            let doses = dispensing::dose_history_of(&mut conn, &[id], history_from, to)
                .await
                .expect("history");
            let (mut dosed, _) = day_state::dosed_days_of(&mut conn, &[id], lookback, to)
                .await
                .expect("dosed days");
            let dosed = dosed.remove(&id).unwrap_or_default();
            // With the other parts, and alone (as the overview reads it).
            let alone = Also {
                history: Some((lookback, history_from, to)),
                health: true,
                ..Also::default()
            };
            let read_alone = one_patient::read(&mut conn, id, alone).await.expect("history alone");
            assert!(read_alone.recent.is_none() && read_alone.kept.is_none());
            for history in [read.history.expect("asked for"), read_alone.history.expect("asked for")] {
                assert_eq!(shown(&history.identity), shown(&identity));
                assert_eq!(shown(&history.doses), shown(&doses));
                assert_eq!(history.dosed_days, dosed);
            }
            let notes = health::notes_of(&mut conn, &[id]).await.expect("health notes");
            for read_notes in [&read.health, &read_alone.health] {
                assert_eq!(read_notes.as_ref(), Some(&notes));
            }
            with_notes += usize::from(!notes.is_empty());
            with_history += usize::from(!doses.is_empty() && !dosed.is_empty());
            with_versions += usize::from(identity.len() > 1);
        }
        assert!(with_history > 0 && with_versions == 3, "history {with_history}, versions {with_versions}");
        assert!(with_notes > 0, "the demo has patients with health notes");
        // The demo has every kind for the comparison to mean something.
        assert!(with_facts > 0 && with_covers > 0 && with_doses > 0 && with_drafts > 0,
            "facts {with_facts}, covers {with_covers}, doses {with_doses}, drafts {with_drafts}");

        let nobody = one_patient::read(&mut conn, PatientId::new(), Also::default())
            .await
            .expect("read");
        assert!(nobody.patient.is_none() && nobody.episodes.is_empty() && nobody.orders.is_empty());
        drop(conn);
        store.close().await;
    });
}
