//! The feed of patients whose data changed (H107): every table a kept copy may
//! come from feeds it, a change written by anyone names its patient to a reader
//! that has not seen it, and only once it has been seen does a reader stop being
//! told. On SQLite, or PostgreSQL when DATABASE_URL is set.

use std::collections::HashSet;

use samhand_domain::ids::PatientId;
use samhand_store::changes::{self, FED_TABLES};
use samhand_store::native::FetchOn;
use samhand_store::{Backend, Store};
use sqlx::Row;

async fn fresh() -> (Store, tempfile::TempDir) {
    let dir = tempfile::tempdir().expect("tempdir");
    let url = samhand_store::testing::fresh_database_url(dir.path()).await;
    let store = Store::connect(&url, 4).await.expect("connect");
    (store, dir)
}

async fn execute(store: &Store, sql: &str) {
    let mut conn = store.read().await.expect("conn");
    sqlx::query(sql).execute(&mut *conn).await.expect(sql);
}

async fn since(store: &Store, mark: Option<changes::Mark>) -> changes::Changes {
    let mut conn = store.reader().await.expect("reader");
    changes::since(&mut conn, mark).await.expect("since")
}

/// The (table, event) pairs that have a trigger feeding `patient_changes`.
async fn feeding_triggers(store: &Store) -> HashSet<(String, String)> {
    let mut conn = store.read().await.expect("conn");
    match store.backend() {
        Backend::Sqlite => {
            let rows = sqlx::query("SELECT tbl_name, sql FROM sqlite_master WHERE type = 'trigger'")
                .fetch_all(&mut *conn)
                .await
                .expect("triggers");
            rows.iter()
                .filter_map(|row| {
                    let table: String = row.get("tbl_name");
                    let sql: String = row.get("sql");
                    let feeds = sql.contains("INSERT INTO patient_changes");
                    let event = ["INSERT", "UPDATE", "DELETE"]
                        .into_iter()
                        .find(|e| sql.contains(&format!("AFTER {e} ON {table} ")))?;
                    feeds.then(|| (table, event.to_string()))
                })
                .collect()
        }
        Backend::Postgres => {
            let rows = sqlx::query(
                "SELECT CAST(event_object_table AS TEXT) AS tbl, CAST(event_manipulation AS TEXT) AS event FROM information_schema.triggers
                 WHERE action_statement LIKE '%samhand_patient_changed%' AND action_timing = 'AFTER'
                 AND action_orientation = 'ROW'",
            )
            .fetch_all(&mut *conn)
            .await
            .expect("triggers");
            rows.iter()
                .map(|row| (row.get::<String, _>("tbl"), row.get::<String, _>("event")))
                .collect()
        }
    }
}

#[tokio::test]
async fn every_fed_table_feeds_the_changes_on_insert_update_and_delete() {
    let (store, _dir) = fresh().await;
    let triggers = feeding_triggers(&store).await;
    for table in FED_TABLES {
        for event in ["INSERT", "UPDATE", "DELETE"] {
            assert!(
                triggers.contains(&(table.to_string(), event.to_string())),
                "{table} has no trigger feeding patient_changes on {event}: {triggers:?}"
            );
        }
    }
}

/// A patient written by hand, as another process or a person at the prompt would,
/// with the organisation and user the rows need.
async fn write_patient(store: &Store, n: u32) -> PatientId {
    let patient = PatientId::new();
    if n == 0 {
        execute(
            store,
            "INSERT INTO organisations (id, name, kind, municipality, address, phone, open_weekdays, open_on_public_holidays, created_at)
             VALUES ('org-1', 'Sted', 'lar_centre', 'Oslo', 'Gate 1', '1', '1234567', 0, 0)",
        )
        .await;
        execute(
            store,
            "INSERT INTO users (id, username, display_name, role, organisation_id, active, failed_logins, created_at)
             VALUES ('user-1', 'u', 'U', 'lege', 'org-1', 1, 0, 0)",
        )
        .await;
    }
    execute(
        store,
        &format!(
            "INSERT INTO patients (id, national_id, given_name, family_name, phone, address, created_by, created_at)
             VALUES ('{patient}', 'nid-{n}', 'Ola', 'Nordmann', '1', 'Gate', 'user-1', 0)"
        ),
    )
    .await;
    patient
}

#[tokio::test]
async fn a_change_names_its_patient_until_a_reader_has_seen_it() {
    let (store, _dir) = fresh().await;
    let first = write_patient(&store, 0).await;
    // Nothing kept yet: no patient is named, only where the feed stands.
    let start = since(&store, None).await;
    assert!(start.patients.is_empty(), "{:?}", start.patients);

    let second = write_patient(&store, 1).await;
    let seen = since(&store, Some(start.next)).await;
    assert!(
        seen.patients.contains(&second),
        "the new patient: {:?}",
        seen.patients
    );
    if store.backend() == Backend::Sqlite {
        assert_eq!(
            seen.patients,
            HashSet::from([second]),
            "only what changed after the mark"
        );
        assert!(seen.next > start.next);
    }
    // On SQLite a patient seen is not named again. On PostgreSQL they are until
    // every transaction older than the change has ended (other tests' on the same
    // server too): named again costs a read, never a wrong list.
    let exact = store.backend() == Backend::Sqlite;
    let quiet = since(&store, Some(seen.next)).await;
    if exact {
        assert!(quiet.patients.is_empty(), "seen once: {:?}", quiet.patients);
    }

    // An update and a row of another table name the patient again.
    execute(
        &store,
        &format!("UPDATE patients SET phone = '2' WHERE id = '{first}'"),
    )
    .await;
    let updated = since(&store, Some(quiet.next)).await;
    assert!(updated.patients.contains(&first), "{:?}", updated.patients);
    if exact {
        assert_eq!(updated.patients, HashSet::from([first]));
    }
    execute(
        &store,
        &format!(
            "INSERT INTO health_notes (id, patient_id, kind, text, active, reason, recorded_by, recorded_at)
             VALUES ('note-1', '{second}', 'allergy', 'Penicillin', 1, 'ny', 'user-1', 0)"
        ),
    )
    .await;
    let noted = since(&store, Some(updated.next)).await;
    assert!(noted.patients.contains(&second), "{:?}", noted.patients);
    if exact {
        assert_eq!(noted.patients, HashSet::from([second]));
    }
}

#[tokio::test]
async fn a_change_not_yet_committed_is_named_once_it_commits() {
    let (store, _dir) = fresh().await;
    write_patient(&store, 0).await;
    let start = since(&store, None).await;
    // A writer that began before the reader asked and commits after it.
    let patient = PatientId::new();
    let mut writer = store.read().await.expect("conn");
    let begin = match store.backend() {
        Backend::Sqlite => "BEGIN IMMEDIATE",
        Backend::Postgres => "BEGIN",
    };
    sqlx::query(begin).execute(&mut *writer).await.expect("begin");
    sqlx::query(&format!(
        "INSERT INTO patients (id, national_id, given_name, family_name, phone, address, created_by, created_at)
         VALUES ('{patient}', 'nid-9', 'Kari', 'Nordmann', '1', 'Gate', 'user-1', 0)"
    ))
    .execute(&mut *writer)
    .await
    .expect("insert");
    let during = since(&store, Some(start.next)).await;
    assert!(
        !during.patients.contains(&patient),
        "not committed: {:?}",
        during.patients
    );
    sqlx::query("COMMIT").execute(&mut *writer).await.expect("commit");
    let after = since(&store, Some(during.next)).await;
    assert!(
        after.patients.contains(&patient),
        "committed after the mark: {:?}",
        after.patients
    );
}

#[tokio::test]
async fn a_snapshot_held_by_a_reader_ends_with_it_and_the_next_read_sees_later_writes() {
    let (store, _dir) = fresh().await;
    let first = write_patient(&store, 0).await;
    let count = "SELECT COUNT(*) AS n FROM patients";
    {
        let mut reader = store.reader().await.expect("reader");
        reader.hold_snapshot().expect("snapshot");
        let row = sqlx::query(count).fetch_one_on(&mut reader).await.expect("count");
        assert_eq!(row.get::<i64, _>("n"), 1, "{first}");
        // A write while the snapshot is held is not in it.
        write_patient(&store, 1).await;
        let row = sqlx::query(count).fetch_one_on(&mut reader).await.expect("count");
        if store.backend() == Backend::Sqlite {
            assert_eq!(row.get::<i64, _>("n"), 1, "one snapshot until dropped");
        }
    }
    // The connection goes back to the idle ones: the next reader (the same
    // connection on SQLite) reads the database as it is now.
    let mut reader = store.reader().await.expect("reader");
    let row = sqlx::query(count).fetch_one_on(&mut reader).await.expect("count");
    assert_eq!(row.get::<i64, _>("n"), 2, "the write after the snapshot");
}
