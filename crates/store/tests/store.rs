//! Store tests on the real database (SQLite, or PostgreSQL when DATABASE_URL is set):
//! connection settings, the exactly-once constraint, and audit-chain tamper detection.

use jiff::Timestamp;
use samhand_domain::access::{Action, Actor, DataCategory};
use samhand_domain::ids::{OrganisationId, PatientId, UserId};
use samhand_domain::organisation::{OrganisationKind, Role, StaffUser};
use samhand_store::audit::{self, AuditEntry, Verification};
use samhand_store::{Backend, Store};
use sqlx::Row;

async fn fresh() -> (Store, tempfile::TempDir) {
    let dir = tempfile::tempdir().expect("tempdir");
    let url = samhand_store::testing::fresh_database_url(dir.path()).await;
    (Store::connect(&url, 4).await.expect("connect"), dir)
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
    Actor::Staff(StaffUser {
        id: UserId::new(),
        username: "utdeler".into(),
        display_name: "Utdeler".into(),
        role: Role::DispensingStaff,
        organisation_id: OrganisationId::new(),
        organisation_kind: OrganisationKind::MunicipalLarCentre,
    })
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
    assert_eq!(
        audit::verify(&store).await.expect("verify"),
        Verification::Intact { entries: 3 }
    );
}

#[tokio::test]
async fn an_untouched_audit_log_verifies() {
    let (store, _dir) = fresh().await;
    write_entries(&store, 5).await;
    assert_eq!(
        audit::verify(&store).await.expect("verify"),
        Verification::Intact { entries: 5 }
    );
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
        audit::verify(&store).await.expect("verify"),
        Verification::Broken { seq: 3, .. }
    ));
}

#[tokio::test]
async fn a_removed_audit_entry_is_named() {
    let (store, _dir) = fresh().await;
    write_entries(&store, 5).await;
    execute(&store, "DELETE FROM audit_log WHERE seq = 2").await;
    assert!(matches!(
        audit::verify(&store).await.expect("verify"),
        Verification::Broken { seq: 3, .. }
    ));
    // Removing the newest entry is found too, by the chain's head.
    let (store, _dir) = fresh().await;
    write_entries(&store, 5).await;
    execute(&store, "DELETE FROM audit_log WHERE seq = 5").await;
    assert!(matches!(
        audit::verify(&store).await.expect("verify"),
        Verification::Broken { seq: 5, .. }
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
        audit::verify(&store).await.expect("verify"),
        Verification::Broken { seq: 2, .. }
    ));
}

#[tokio::test]
async fn entries_appended_together_chain_like_entries_appended_one_by_one() {
    let (store, _dir) = fresh().await;
    write_entries(&store, 3).await;
    let actor = actor();
    let details: Vec<String> = (0..450).map(|i| format!("list entry {i}")).collect();
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
    audit::append_all(&store, &mut tx, &entries)
        .await
        .expect("append");
    tx.commit().await.expect("commit");
    write_entries(&store, 2).await;
    assert_eq!(
        audit::verify(&store).await.expect("verify"),
        Verification::Intact { entries: 455 }
    );
    execute(&store, "UPDATE audit_log SET allowed = 0 WHERE seq = 300").await;
    assert!(matches!(
        audit::verify(&store).await.expect("verify"),
        Verification::Broken { seq: 300, .. }
    ));
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
