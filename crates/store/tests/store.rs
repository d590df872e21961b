//! Store tests on the real database (SQLite, or PostgreSQL when DATABASE_URL is set):
//! connection settings, the exactly-once constraint, and audit-chain tamper detection.

use jiff::Timestamp;
use samhand_domain::access::{Action, Actor, DataCategory};
use samhand_domain::ids::{PatientId, UserId};
use samhand_store::anchor::{self, Verification};
use samhand_store::audit::{self, AuditEntry};
use samhand_store::{Backend, Store};
use sqlx::Row;

/// A fresh database whose audit chain is keyed, as a server's is.
async fn fresh() -> (Store, tempfile::TempDir) {
    let (store, _, dir) = fresh_with_url().await;
    (store, dir)
}

async fn fresh_with_url() -> (Store, String, tempfile::TempDir) {
    let dir = tempfile::tempdir().expect("tempdir");
    let url = samhand_store::testing::fresh_database_url(dir.path()).await;
    let store = Store::connect(&url, 4)
        .await
        .expect("connect")
        .with_audit_key(samhand_store::testing::audit_key());
    (store, url, dir)
}

/// The chain checked against its key alone (no checkpoints).
async fn verify(store: &Store) -> Verification {
    anchor::verify(store, None).await.expect("verify")
}

fn intact(entries: i64) -> Verification {
    Verification::Intact {
        entries,
        unkeyed: 0,
        checkpoints: 0,
        parked: 0,
    }
}

#[tokio::test]
async fn sqlite_connections_use_wal_full_sync_and_foreign_keys() {
    let (store, _dir) = fresh().await;
    if store.backend() != Backend::Sqlite {
        return;
    }
    let mut conn = store.read().await.expect("conn");
    let mode: String = sqlx::query("PRAGMA journal_mode")
        .fetch_one(&mut *conn)
        .await
        .expect("q")
        .get(0);
    let sync: i64 = sqlx::query("PRAGMA synchronous")
        .fetch_one(&mut *conn)
        .await
        .expect("q")
        .get(0);
    let fk: i64 = sqlx::query("PRAGMA foreign_keys")
        .fetch_one(&mut *conn)
        .await
        .expect("q")
        .get(0);
    assert_eq!(mode, "wal");
    assert_eq!(sync, 2, "FULL");
    assert_eq!(fk, 1);
    // Built without the global memory statistics (.cargo/config.toml): their mutex
    // serialised every allocation under load.
    let options: Vec<String> = sqlx::query("PRAGMA compile_options")
        .fetch_all(&mut *conn)
        .await
        .expect("q")
        .iter()
        .map(|row| row.get(0))
        .collect();
    assert!(options.iter().any(|o| o == "DEFAULT_MEMSTATUS=0"), "{options:?}");
}

#[tokio::test]
async fn migrations_run_once_and_a_second_start_changes_nothing() {
    let dir = tempfile::tempdir().expect("tempdir");
    let url = samhand_store::testing::fresh_database_url(dir.path()).await;
    let store = Store::connect(&url, 2).await.expect("first");
    store.close().await;
    let store = Store::connect(&url, 2).await.expect("second");
    let applied = samhand_store::migrate::applied(&store).await.expect("applied");
    let embedded: Vec<(i64, String)> = samhand_store::migrate::embedded()
        .map(|(version, name)| (version, name.to_string()))
        .collect();
    assert_eq!(applied, embedded, "each migration applied once");
    assert!(
        applied
            .iter()
            .any(|(v, n)| *v == 19 && n == "dispensing_corrections")
    );
}

fn actor() -> Actor {
    samhand_store::testing::dispensing_staff()
}

async fn write_entries(store: &Store, n: usize) {
    let actor = actor();
    for i in 0..n {
        let detail = format!("entry {i}");
        audit::append_alone(
            store,
            &AuditEntry {
                at: Timestamp::from_second(1_800_000_000 + i as i64).expect("ts"),
                actor: &actor,
                patient: Some(PatientId::new()),
                category: DataCategory::Dispensing,
                action: Action::Read,
                allowed: true,
                relation: "dispensing_place",
                detail: &detail,
            },
        )
        .await
        .expect("append");
    }
}

/// Appends `n` entries in one transaction, as a list view does.
async fn append_together(store: &Store, n: usize) {
    let actor = actor();
    let details: Vec<String> = (0..n).map(|i| format!("list entry {i}")).collect();
    let entries: Vec<AuditEntry<'_>> = details
        .iter()
        .map(|detail| AuditEntry {
            at: Timestamp::from_second(1_800_000_100).expect("ts"),
            actor: &actor,
            patient: Some(PatientId::new()),
            category: DataCategory::Dispensing,
            action: Action::Read,
            allowed: true,
            relation: "dispensing_place",
            detail,
        })
        .collect();
    let mut tx = store.write().await.expect("tx");
    audit::append_all(store, &mut tx, &entries).await.expect("append");
    tx.commit().await.expect("commit");
}

/// Changes the audit log behind Samhand's back, as an insider who owns the
/// database could: the append-only triggers dropped first.
async fn execute(store: &Store, sql: &str) {
    let mut conn = store.read().await.expect("conn");
    let still_guarded = sqlx::query("UPDATE audit_log SET detail = detail WHERE seq = 1")
        .execute(&mut *conn)
        .await
        .is_err();
    if still_guarded {
        samhand_store::testing::allow_tampering_with_the_audit_log(&mut conn, store.backend()).await;
    }
    sqlx::query(sql).execute(&mut *conn).await.expect(sql);
}

#[tokio::test]
async fn the_database_refuses_to_change_or_delete_the_audit_log() {
    let (store, _dir) = fresh().await;
    write_entries(&store, 3).await;
    let mut conn = store.read().await.expect("conn");
    for sql in [
        "UPDATE audit_log SET detail = 'x' WHERE seq = 2",
        "DELETE FROM audit_log WHERE seq = 3",
        "DELETE FROM audit_log",
    ] {
        let refused = sqlx::query(sql).execute(&mut *conn).await;
        assert!(
            refused
                .as_ref()
                .is_err_and(|e| e.to_string().contains("append-only")),
            "{sql}: {refused:?}"
        );
    }
    drop(conn);
    assert_eq!(verify(&store).await, intact(3));
}

#[tokio::test]
async fn an_untouched_audit_log_verifies() {
    let (store, _dir) = fresh().await;
    write_entries(&store, 5).await;
    assert_eq!(verify(&store).await, intact(5));
}

#[tokio::test]
async fn an_edited_audit_entry_is_named() {
    let (store, _dir) = fresh().await;
    write_entries(&store, 5).await;
    execute(
        &store,
        "UPDATE audit_log SET detail = 'nothing to see' WHERE seq = 3",
    )
    .await;
    assert!(matches!(
        verify(&store).await,
        Verification::Broken { seq: Some(3), .. }
    ));
}

#[tokio::test]
async fn a_removed_audit_entry_is_named() {
    let (store, _dir) = fresh().await;
    write_entries(&store, 5).await;
    execute(&store, "DELETE FROM audit_log WHERE seq = 2").await;
    assert!(matches!(
        verify(&store).await,
        Verification::Broken { seq: Some(3), .. }
    ));
    // Removing the newest entry is found too, by the chain's head.
    let (store, _dir) = fresh().await;
    write_entries(&store, 5).await;
    execute(&store, "DELETE FROM audit_log WHERE seq = 5").await;
    assert!(matches!(
        verify(&store).await,
        Verification::Broken { seq: Some(5), .. }
    ));
}

#[tokio::test]
async fn swapped_audit_entries_are_named() {
    let (store, _dir) = fresh().await;
    write_entries(&store, 5).await;
    // Swap the content of entries 2 and 3 (their sequence numbers stay in place).
    execute(&store, "UPDATE audit_log SET seq = 100 WHERE seq = 2").await;
    execute(&store, "UPDATE audit_log SET seq = 2 WHERE seq = 3").await;
    execute(&store, "UPDATE audit_log SET seq = 3 WHERE seq = 100").await;
    assert!(matches!(
        verify(&store).await,
        Verification::Broken { seq: Some(2), .. }
    ));
}

#[tokio::test]
async fn entries_appended_together_chain_like_entries_appended_one_by_one() {
    let (store, _dir) = fresh().await;
    write_entries(&store, 3).await;
    append_together(&store, 450).await;
    write_entries(&store, 2).await;
    assert_eq!(verify(&store).await, intact(455));
    execute(&store, "UPDATE audit_log SET allowed = 0 WHERE seq = 300").await;
    assert!(matches!(
        verify(&store).await,
        Verification::Broken { seq: Some(300), .. }
    ));
}

/// The chain checked against its key and the checkpoints in `dir`.
async fn verify_with_checkpoints(store: &Store, dir: &std::path::Path) -> Verification {
    anchor::verify(store, Some(dir)).await.expect("verify")
}

async fn checkpoint(store: &Store, dir: &std::path::Path) -> Option<anchor::Checkpoint> {
    anchor::write_checkpoint(store, dir, Timestamp::from_second(1_900_000_000).expect("ts"))
        .await
        .expect("checkpoint")
}

fn broken_at(verification: &Verification, seq: i64, says: &str) -> bool {
    matches!(verification, Verification::Broken { seq: Some(at), problem } if *at == seq && problem.contains(says))
}

#[tokio::test]
async fn removing_the_last_entries_and_rewriting_the_head_row_is_found_by_the_checkpoint() {
    let (store, dir) = fresh().await;
    let checkpoints = dir.path().join("checkpoints");
    write_entries(&store, 5).await;
    assert!(checkpoint(&store, &checkpoints).await.is_some());
    let mut conn = store.read().await.expect("conn");
    let third: String = sqlx::query("SELECT hash FROM audit_log WHERE seq = 3")
        .fetch_one(&mut *conn)
        .await
        .expect("entry 3")
        .get("hash");
    drop(conn);
    execute(&store, "DELETE FROM audit_log WHERE seq > 3").await;
    execute(
        &store,
        &format!("UPDATE audit_head SET seq = 3, hash = '{third}' WHERE id = 1"),
    )
    .await;
    // The database alone no longer tells: the chain and its head agree.
    assert_eq!(verify(&store).await, intact(3));
    let found = verify_with_checkpoints(&store, &checkpoints).await;
    assert!(broken_at(&found, 4, "saw entry 5"), "{found:?}");
    // Everything removed is found the same way.
    execute(&store, "DELETE FROM audit_log").await;
    execute(&store, "UPDATE audit_head SET seq = 0, hash = '' WHERE id = 1").await;
    let found = verify_with_checkpoints(&store, &checkpoints).await;
    assert!(broken_at(&found, 1, "the log ends at entry 0"), "{found:?}");
}

#[tokio::test]
async fn a_log_rewritten_without_the_key_is_found_by_its_mac_or_the_checkpoint() {
    let (store, url, dir) = fresh_with_url().await;
    let checkpoints = dir.path().join("checkpoints");
    write_entries(&store, 5).await;
    checkpoint(&store, &checkpoints).await;
    // An insider without the key writes one more entry the plain way…
    let keyless = Store::connect(&url, 2).await.expect("connect without the key");
    write_entries(&keyless, 1).await;
    let found = verify_with_checkpoints(&store, &checkpoints).await;
    assert!(broken_at(&found, 6, "not keyed"), "{found:?}");
    // …or replaces the whole log with one chained without a key.
    execute(&store, "DELETE FROM audit_log").await;
    execute(&store, "UPDATE audit_head SET seq = 0, hash = '' WHERE id = 1").await;
    write_entries(&keyless, 5).await;
    let found = verify_with_checkpoints(&store, &checkpoints).await;
    assert!(broken_at(&found, 5, "checkpoint"), "{found:?}");
    // Without the key, a keyed log cannot be verified at all.
    execute(&store, "DELETE FROM audit_log").await;
    execute(&store, "UPDATE audit_head SET seq = 0, hash = '' WHERE id = 1").await;
    write_entries(&store, 2).await;
    let refused = anchor::verify(&keyless, None).await;
    assert!(
        refused
            .as_ref()
            .is_err_and(|e| e.to_string().contains("audit key is needed")),
        "{refused:?}"
    );
}

#[tokio::test]
async fn an_edited_checkpoint_is_named_and_checkpoints_follow_the_head() {
    let (store, dir) = fresh().await;
    let checkpoints = dir.path().join("checkpoints");
    assert_eq!(
        checkpoint(&store, &checkpoints).await,
        None,
        "nothing to anchor yet"
    );
    write_entries(&store, 3).await;
    assert_eq!(checkpoint(&store, &checkpoints).await.map(|c| c.seq), Some(3));
    assert_eq!(
        checkpoint(&store, &checkpoints).await,
        None,
        "the head has not moved"
    );
    write_entries(&store, 2).await;
    assert_eq!(checkpoint(&store, &checkpoints).await.map(|c| c.seq), Some(5));
    assert!(matches!(
        verify_with_checkpoints(&store, &checkpoints).await,
        Verification::Intact {
            entries: 5,
            checkpoints: 2,
            ..
        }
    ));
    let file = checkpoints.join(anchor::CHECKPOINT_FILE);
    let text = std::fs::read_to_string(&file).expect("checkpoints");
    std::fs::write(&file, text.replacen("seq=5", "seq=4", 1)).expect("edit");
    let found = verify_with_checkpoints(&store, &checkpoints).await;
    assert!(
        matches!(&found, Verification::Broken { seq: None, problem } if problem.contains("line 2")),
        "{found:?}"
    );
}

#[tokio::test]
async fn a_long_log_is_verified_page_by_page() {
    let (store, dir) = fresh().await;
    append_together(&store, 12_000).await;
    let checkpoints = dir.path().join("checkpoints");
    checkpoint(&store, &checkpoints).await;
    assert!(matches!(
        verify_with_checkpoints(&store, &checkpoints).await,
        Verification::Intact {
            entries: 12_000,
            checkpoints: 1,
            ..
        }
    ));
    execute(&store, "UPDATE audit_log SET detail = 'x' WHERE seq = 11000").await;
    let found = verify_with_checkpoints(&store, &checkpoints).await;
    assert!(broken_at(&found, 11_000, "MAC"), "{found:?}");
}

/// PostgreSQL: the application role of deploy/postgres-app-role.sql may add to the
/// audit log and the record but not change, remove or unguard them; the server
/// connects as it (the migrations already applied) and works.
#[tokio::test]
async fn the_postgres_application_role_cannot_change_the_append_only_tables() {
    let (owner, url, _dir) = fresh_with_url().await;
    if owner.backend() != Backend::Postgres {
        return;
    }
    write_entries(&owner, 2).await;
    let mut conn = owner.read().await.expect("conn");
    sqlx::raw_sql(include_str!("../../../deploy/postgres-app-role.sql"))
        .execute(&mut *conn)
        .await
        .expect("the documented grants apply");
    sqlx::query("ALTER ROLE samhand_app PASSWORD 'samhand-app-test'")
        .execute(&mut *conn)
        .await
        .expect("password");
    drop(conn);
    let (_, at_host) = url.split_once('@').expect("a URL with credentials");
    let app_url = format!("postgres://samhand_app:samhand-app-test@{at_host}");
    let app = Store::connect(&app_url, 2)
        .await
        .expect("the application role connects; nothing to migrate")
        .with_audit_key(samhand_store::testing::audit_key());
    write_entries(&app, 2).await;
    assert_eq!(verify(&app).await, intact(4));
    let mut conn = app.read().await.expect("conn");
    for sql in [
        "UPDATE audit_log SET detail = 'x' WHERE seq = 2",
        "DELETE FROM audit_log WHERE seq = 4",
        "TRUNCATE audit_log",
        "DELETE FROM dose_orders",
        "DROP TRIGGER audit_log_append_only ON audit_log",
        "CREATE TABLE intruder (id BIGINT)",
        "DELETE FROM schema_migrations",
    ] {
        let refused = sqlx::query(sql).execute(&mut *conn).await;
        assert!(
            refused.as_ref().is_err_and(|e| {
                let e = e.to_string();
                e.contains("permission denied") || e.contains("must be owner")
            }),
            "{sql}: {refused:?}"
        );
    }
    // What is updated in place stays writable.
    sqlx::query("UPDATE audit_head SET seq = seq WHERE id = 1")
        .execute(&mut *conn)
        .await
        .expect("the audit head moves");
}

/// The clinical record is written only through a `PatientWrite`, which carries an
/// allowed, recorded access to the patient: another patient's record is refused,
/// and what is committed comes with its audit entry.
#[tokio::test]
async fn a_record_is_written_only_with_an_allowed_access_to_its_patient_recorded() {
    use samhand_domain::health::{HealthConditionKind, HealthNote};
    use samhand_domain::ids::HealthNoteId;
    use samhand_store::{PatientWrite, StoreError};

    let (store, _dir) = fresh().await;
    let actor = actor();
    let (allowed, other) = (PatientId::new(), PatientId::new());
    let access = |patient, allowed| AuditEntry {
        at: Timestamp::from_second(1_800_000_000).expect("ts"),
        actor: &actor,
        patient: Some(patient),
        category: DataCategory::HealthInformation,
        action: Action::Write,
        allowed,
        relation: "dispensing_place",
        detail: "health note recorded",
    };
    let note = |patient| HealthNote {
        id: HealthNoteId::new(),
        patient_id: patient,
        kind: HealthConditionKind::Epilepsy,
        text: "Epilepsi".into(),
        active: true,
        replaces: None,
        reason: String::new(),
        recorded_by: UserId::new(),
        recorded_at: Timestamp::from_second(1_800_000_000).expect("ts"),
    };
    let refused = PatientWrite::begin(&store, &[access(allowed, false)]).await;
    assert!(
        matches!(refused, Err(StoreError::Unrecorded(_))),
        "a denial grants no write"
    );
    let mut write = PatientWrite::begin(&store, &[access(allowed, true)])
        .await
        .expect("begin");
    let wrong = samhand_store::health::insert(&mut write, &note(other)).await;
    assert!(matches!(wrong, Err(StoreError::Unrecorded(_))), "{wrong:?}");
    drop(write);
    assert_eq!(
        verify(&store).await,
        intact(0),
        "a write not committed leaves no entry"
    );
    let write = PatientWrite::begin(&store, &[access(allowed, true)])
        .await
        .expect("begin");
    write.commit().await.expect("commit");
    let mut conn = store.read().await.expect("conn");
    let entries = audit::for_patient(&mut conn, allowed, 10).await.expect("entries");
    assert_eq!(entries.len(), 1);
    assert_eq!(
        (entries[0].category.as_str(), entries[0].action.as_str()),
        ("health_information", "write")
    );
}

/// A record that hangs on another row (an event of a stay) is checked against the
/// patient of that row, read in the write: the write of one patient cannot add to
/// another patient's stay.
#[tokio::test]
async fn a_record_on_another_patients_stay_is_refused() {
    use samhand_domain::ids::StayId;
    use samhand_domain::national_id::NationalId;
    use samhand_domain::patient::NewPatient;
    use samhand_domain::stay::{Stay, StayEvent, StayEventId, StayEventKind, StayKind};
    use samhand_store::{PatientWrite, StoreError, patients, stays};

    let (store, _dir) = fresh().await;
    let actor = actor();
    let at = Timestamp::from_second(1_800_000_000).expect("ts");
    let day = jiff::civil::date(2027, 1, 15);
    let (admitted, other) = (PatientId::new(), PatientId::new());
    let begin = |patients: Vec<PatientId>| {
        let (store, actor) = (&store, &actor);
        async move {
            PatientWrite::synthetic_history(store, actor, &patients, at, "test history")
                .await
                .expect("begin")
        }
    };
    let mut write = begin(vec![admitted, other]).await;
    let Actor::Staff(staff) = &actor else {
        unreachable!("the test actor is staff")
    };
    let place = samhand_domain::organisation::Organisation {
        id: staff.organisation_id,
        name: "LAR-senteret".into(),
        kind: staff.organisation_kind,
        municipality: "Fjordvik".into(),
        open_on_public_holidays: false,
        open_weekdays: [true; 7],
        closed_days: Vec::new(),
    };
    samhand_store::organisations::insert(&mut write, &place, at)
        .await
        .expect("place");
    let user = samhand_store::users::NewUser {
        id: staff.id,
        username: &staff.username,
        display_name: &staff.display_name,
        role: staff.role,
        organisation_id: staff.organisation_id,
        password_hash: None,
    };
    samhand_store::users::insert(&mut write, &user, at)
        .await
        .expect("user");
    for (born, patient) in [(1, admitted), (2, other)] {
        let national_id = (0..500)
            .find_map(|n| NationalId::synthetic(jiff::civil::date(1990, 1, born), n))
            .expect("a synthetic national id");
        let person = NewPatient {
            national_id,
            given_name: "Test".into(),
            family_name: "Testesen".into(),
            phone: String::new(),
            address: String::new(),
        };
        patients::insert(&mut write, patient, &person, actor.id(), at)
            .await
            .expect("patient");
    }
    let stay = Stay {
        id: StayId::new(),
        patient_id: admitted,
        kind: StayKind::Hospital,
        institution: "Sykehuset".into(),
        institution_id: None,
        starts_on: day,
        planned_end_on: None,
        opioid_use: true,
        substitution_continued: true,
        recorded_by: actor.id(),
        recorded_at: at,
    };
    stays::insert_stay(&mut write, &stay).await.expect("stay");
    write.commit().await.expect("commit");
    let event = StayEvent {
        id: StayEventId::new(),
        stay_id: stay.id,
        kind: StayEventKind::Extended { planned_end_on: day },
        reason: "Trenger lengre tid".into(),
        recorded_by: actor.id(),
        recorded_at: at,
    };
    let mut write = begin(vec![other]).await;
    let refused = stays::insert_event(&mut write, &event).await;
    assert!(matches!(refused, Err(StoreError::Unrecorded(_))), "{refused:?}");
    drop(write);
    let mut write = begin(vec![admitted]).await;
    stays::insert_event(&mut write, &event)
        .await
        .expect("an event of the patient's own stay");
    write.commit().await.expect("commit");
}

#[tokio::test]
async fn concurrent_login_attempts_from_one_address_are_each_counted_once() {
    use samhand_store::sessions::{AccountKind, LoginSource, reserve_login_attempt};
    let (store, _dir) = fresh().await;
    let now = Timestamp::from_second(1_800_000_000).expect("time");
    let window_start = now - jiff::SignedDuration::from_mins(15);
    let mut tasks = tokio::task::JoinSet::new();
    for _ in 0..40 {
        let store = store.clone();
        tasks.spawn(async move {
            let source = LoginSource {
                kind: AccountKind::Staff,
                account_key: "account-1",
                address: "192.0.2.66",
            };
            let mut tx = store.write().await.expect("tx");
            let count = reserve_login_attempt(&mut tx, source, now, window_start, 5)
                .await
                .expect("reserve");
            tx.commit().await.expect("commit");
            count
        });
    }
    let mut counts = Vec::new();
    while let Some(count) = tasks.join_next().await {
        counts.push(count.expect("task"));
    }
    counts.sort();
    assert_eq!(
        counts,
        (1..=40).collect::<Vec<i64>>(),
        "every attempt counted once"
    );

    // Another address starts from nothing; after the window the count starts again.
    let mut tx = store.write().await.expect("tx");
    let other = LoginSource {
        kind: AccountKind::Staff,
        account_key: "account-1",
        address: "198.51.100.10",
    };
    assert_eq!(
        reserve_login_attempt(&mut tx, other, now, window_start, 5)
            .await
            .expect("r"),
        1
    );
    let later = now + jiff::SignedDuration::from_mins(16);
    let source = LoginSource {
        address: "192.0.2.66",
        ..other
    };
    let count = reserve_login_attempt(
        &mut tx,
        source,
        later,
        later - jiff::SignedDuration::from_mins(15),
        5,
    )
    .await
    .expect("reserve");
    assert_eq!(count, 1, "the lockout ran from the fifth failure and has passed");
    tx.commit().await.expect("commit");
}
