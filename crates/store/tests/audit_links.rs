//! An audit entry about many patients (a view of today's list, H67): each patient's
//! entries show it, the chain covers the patients it names, the same patients are
//! stored once however many views name them (H106), and the links are append-only.
//! On SQLite, or PostgreSQL when DATABASE_URL is set.

use jiff::Timestamp;
use samhand_domain::ids::PatientId;
use samhand_store::Store;
use samhand_store::anchor::{self, Verification};
use samhand_store::audit;

async fn fresh() -> (Store, tempfile::TempDir) {
    let dir = tempfile::tempdir().expect("tempdir");
    let url = samhand_store::testing::fresh_database_url(dir.path()).await;
    let store = Store::connect(&url, 4)
        .await
        .expect("connect")
        .with_audit_key(samhand_store::testing::audit_key());
    (store, dir)
}

/// One entry about `patients`, then one about a single other patient.
async fn write_view(store: &Store, patients: &[PatientId]) -> PatientId {
    let actor = samhand_store::testing::dispensing_staff();
    let entry = |patient| samhand_store::testing::list_view_entry(&actor, patient);
    let mut tx = store.write().await.expect("tx");
    audit::append_about_many(store, &mut tx, &entry(None), patients)
        .await
        .expect("append");
    tx.commit().await.expect("commit");
    let other = PatientId::new();
    audit::append_alone(store, &entry(Some(other)))
        .await
        .expect("append");
    other
}

async fn execute(store: &Store, sql: &str) {
    let mut conn = store.read().await.expect("conn");
    samhand_store::testing::allow_tampering_with_audit_links(&mut conn, store.backend()).await;
    sqlx::query(sql).execute(&mut *conn).await.expect(sql);
}

#[tokio::test]
async fn a_view_of_many_patients_is_one_entry_in_each_patients_log() {
    let (store, _dir) = fresh().await;
    let listed: Vec<PatientId> = (0..3).map(|_| PatientId::new()).collect();
    let other = write_view(&store, &listed).await;
    let mut conn = store.read().await.expect("conn");
    let total: i64 = sqlx::query_scalar("SELECT COUNT(*) FROM audit_log")
        .fetch_one(&mut *conn)
        .await
        .expect("count");
    assert_eq!(total, 2, "one entry for the view, one for the other read");
    let from = Timestamp::from_second(1_700_000_000).expect("ts");
    let until = Timestamp::from_second(1_900_000_000).expect("ts");
    for patient in &listed {
        let entries = audit::for_patient(&mut conn, *patient, 10).await.expect("log");
        assert_eq!(entries.len(), 1, "{patient}: {entries:?}");
        assert_eq!(entries[0].seq, 1);
        assert_eq!(entries[0].patient_id, Some(patient.to_string()));
        assert_eq!(entries[0].detail, "today's dispensing list");
        let between = audit::for_patient_between(&mut conn, *patient, from, until, 10)
            .await
            .expect("log");
        assert_eq!(between.len(), 1, "{patient}: {between:?}");
        let early = audit::for_patient_between(&mut conn, *patient, from, from, 10)
            .await
            .expect("log");
        assert!(early.is_empty(), "outside the period: {early:?}");
    }
    let own = audit::for_patient(&mut conn, other, 10).await.expect("log");
    assert_eq!(own.iter().map(|e| e.seq).collect::<Vec<_>>(), vec![2]);
    // An export pages through the log: the view once, then the other read.
    let mut everyone = listed.clone();
    everyone.push(other);
    let page = audit::for_patients_after(&mut conn, &everyone, 0, 10)
        .await
        .expect("page");
    assert_eq!(page.iter().map(|e| e.seq).collect::<Vec<_>>(), vec![1, 2]);
    let page = audit::for_patients_after(&mut conn, &everyone, 0, 1)
        .await
        .expect("page");
    assert_eq!(page.iter().map(|e| e.seq).collect::<Vec<_>>(), vec![1]);
    drop(conn);
    assert!(matches!(
        anchor::verify(&store, None).await.expect("verify"),
        Verification::Intact { entries: 2, .. }
    ));
}

#[tokio::test]
async fn a_removed_link_breaks_the_chain_at_its_entry() {
    let (store, _dir) = fresh().await;
    let listed: Vec<PatientId> = (0..3).map(|_| PatientId::new()).collect();
    write_view(&store, &listed).await;
    execute(
        &store,
        &format!(
            "DELETE FROM audit_patient_sets WHERE patient_id = '{}'",
            listed[1]
        ),
    )
    .await;
    assert!(matches!(
        anchor::verify(&store, None).await.expect("verify"),
        Verification::Broken { seq: Some(1), .. }
    ));
}

#[tokio::test]
async fn an_added_link_breaks_the_chain() {
    let (store, _dir) = fresh().await;
    let listed: Vec<PatientId> = (0..2).map(|_| PatientId::new()).collect();
    write_view(&store, &listed).await;
    let stranger = PatientId::new();
    // A patient added to the set of the entry about many; that set given to the
    // entry about a single patient, and to an entry that was never written.
    let tampering = [
        (
            format!(
                "INSERT INTO audit_patient_sets (set_id, patient_id) SELECT set_id, '{stranger}' FROM audit_entry_sets WHERE seq = 1"
            ),
            1,
        ),
        (
            "INSERT INTO audit_entry_sets (seq, set_id) SELECT 2, set_id FROM audit_entry_sets WHERE seq = 1"
                .to_string(),
            2,
        ),
        (
            "INSERT INTO audit_entry_sets (seq, set_id) SELECT 9, set_id FROM audit_entry_sets WHERE seq = 1"
                .to_string(),
            9,
        ),
    ];
    for (sql, broken_at) in tampering {
        let (store, _dir) = fresh().await;
        write_view(&store, &listed).await;
        execute(&store, &sql).await;
        match anchor::verify(&store, None).await.expect("verify") {
            Verification::Broken { seq: Some(at), .. } => assert_eq!(at, broken_at, "{sql}"),
            other => panic!("{sql}: {other:?}"),
        }
    }
    drop(store);
}

#[tokio::test]
async fn the_database_refuses_to_change_or_delete_links() {
    let (store, _dir) = fresh().await;
    let listed: Vec<PatientId> = (0..2).map(|_| PatientId::new()).collect();
    write_view(&store, &listed).await;
    let mut conn = store.read().await.expect("conn");
    for sql in [
        "UPDATE audit_patient_sets SET patient_id = 'x'",
        "DELETE FROM audit_patient_sets",
        "UPDATE audit_entry_sets SET set_id = 'x'",
        "DELETE FROM audit_entry_sets",
    ] {
        assert!(sqlx::query(sql).execute(&mut *conn).await.is_err(), "{sql}");
    }
}

async fn count(store: &Store, table: &str) -> i64 {
    let mut conn = store.read().await.expect("conn");
    sqlx::query_scalar(&format!("SELECT COUNT(*) FROM {table}"))
        .fetch_one(&mut *conn)
        .await
        .expect("count")
}

#[tokio::test]
async fn the_same_patients_are_stored_once_however_many_views_name_them() {
    let (store, _dir) = fresh().await;
    let listed: Vec<PatientId> = (0..3).map(|_| PatientId::new()).collect();
    // A view whose transaction is rolled back leaves no set behind that a later
    // view could take for stored.
    let actor = samhand_store::testing::dispensing_staff();
    let mut tx = store.write().await.expect("tx");
    let rolled_back = samhand_store::testing::list_view_entry(&actor, None);
    audit::append_about_many(&store, &mut tx, &rolled_back, &listed)
        .await
        .expect("append");
    tx.rollback().await.expect("rollback");
    assert_eq!(count(&store, "audit_patient_sets").await, 0);
    write_view(&store, &listed).await;
    // The same patients in another order, then one more of them.
    let mut reordered = listed.clone();
    reordered.reverse();
    write_view(&store, &reordered).await;
    assert_eq!(count(&store, "audit_patient_sets").await, 3, "one set of three");
    let mut grown = listed.clone();
    grown.push(PatientId::new());
    write_view(&store, &grown).await;
    assert_eq!(
        count(&store, "audit_patient_sets").await,
        3 + 4,
        "and a set of four"
    );
    assert_eq!(
        count(&store, "audit_entry_sets").await,
        3,
        "each view names its set"
    );
    let mut conn = store.read().await.expect("conn");
    for patient in &listed {
        let entries = audit::for_patient(&mut conn, *patient, 10).await.expect("log");
        let seqs: Vec<i64> = entries.iter().map(|e| e.seq).collect();
        assert_eq!(seqs, vec![5, 3, 1], "{patient}: each view, newest first");
    }
    let newcomer = audit::for_patient(&mut conn, grown[3], 10).await.expect("log");
    assert_eq!(newcomer.iter().map(|e| e.seq).collect::<Vec<_>>(), vec![5]);
    drop(conn);
    assert!(matches!(
        anchor::verify(&store, None).await.expect("verify"),
        Verification::Intact { entries: 6, .. }
    ));
    // Taking a patient out of the shared set breaks the first entry naming it.
    execute(
        &store,
        &format!("DELETE FROM audit_patient_sets WHERE patient_id = '{}' AND set_id IN (SELECT set_id FROM audit_entry_sets WHERE seq = 3)", listed[0]),
    )
    .await;
    assert!(matches!(
        anchor::verify(&store, None).await.expect("verify"),
        Verification::Broken { seq: Some(1), .. }
    ));
}
