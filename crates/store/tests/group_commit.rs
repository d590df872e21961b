//! Group commit on the real database (SQLite, or PostgreSQL when DATABASE_URL is
//! set): on SQLite writes queued behind one another share a commit; on PostgreSQL
//! each commits on its own. Either way each is all or nothing, nobody is told
//! "done" before the commit, and the audit chain stays whole.

use std::time::Duration;

use jiff::Timestamp;
use samhand_domain::access::{Action, Actor, DataCategory};
use samhand_domain::ids::PatientId;
use samhand_store::anchor::{self, Verification};
use samhand_store::audit::{self, AuditEntry};
use samhand_store::native::FetchOn;
use samhand_store::{Backend, Store, StoreError, WriteTx};
use sqlx::Row;

async fn fresh() -> (Store, tempfile::TempDir) {
    let dir = tempfile::tempdir().expect("tempdir");
    let url = samhand_store::testing::fresh_database_url(dir.path()).await;
    let store = Store::connect(&url, 8)
        .await
        .expect("connect")
        .with_audit_key(samhand_store::testing::audit_key());
    let mut tx = store.write().await.expect("tx");
    sqlx::query("CREATE TABLE probe (id TEXT PRIMARY KEY)")
        .execute_on(&mut tx)
        .await
        .expect("create");
    tx.commit().await.expect("commit");
    (store, dir)
}

fn actor() -> Actor {
    samhand_store::testing::dispensing_staff()
}

/// Writes a probe row and its audit entry in `tx`.
async fn write_probe(store: &Store, tx: &mut WriteTx, id: &str) -> Result<(), StoreError> {
    sqlx::query("INSERT INTO probe (id) VALUES ($1)")
        .bind(id)
        .execute_on(tx)
        .await?;
    append_one(store, tx, Action::Write, &format!("probe {id}")).await
}

/// An entry about a new patient by `actor` at the dispensing place.
fn entry<'a>(actor: &'a Actor, action: Action, detail: &'a str) -> AuditEntry<'a> {
    AuditEntry {
        at: Timestamp::from_second(1_800_000_000).expect("ts"),
        actor,
        patient: Some(PatientId::new()),
        category: DataCategory::Dispensing,
        action,
        allowed: true,
        relation: "dispensing_place",
        detail,
    }
}

/// Appends one entry about a new patient by the dispensing staff.
async fn append_one(store: &Store, tx: &mut WriteTx, action: Action, detail: &str) -> Result<(), StoreError> {
    let actor = actor();
    audit::append(store, tx, &entry(&actor, action, detail)).await
}

/// The probe rows as other connections see them.
async fn committed(store: &Store) -> Vec<String> {
    let mut conn = store.read().await.expect("conn");
    let mut ids: Vec<String> = sqlx::query("SELECT id FROM probe")
        .fetch_all(&mut *conn)
        .await
        .expect("select")
        .iter()
        .map(|r| r.get::<String, _>("id"))
        .collect();
    ids.sort();
    ids
}

/// Waits until `n` writers are queued behind the one holding the batch.
async fn until_queued(store: &Store, n: usize) {
    for _ in 0..500 {
        if store.writers_queued() == n {
            return;
        }
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    panic!("{n} writers never queued (now {})", store.writers_queued());
}

/// What the writers of [`spawn_writers`] write.
#[derive(Clone, Copy)]
enum Writes {
    /// A probe row and its entry, in a write of its own.
    Probes,
    /// A read's audit entry, in a transaction holding nothing else.
    Reads,
}

/// One writer task per name, each in a transaction of its own.
fn spawn_writers(
    store: &Store,
    names: impl Iterator<Item = String>,
    writes: Writes,
) -> Vec<tokio::task::JoinHandle<Result<(), StoreError>>> {
    names
        .map(|name| {
            let store = store.clone();
            tokio::spawn(async move {
                match writes {
                    Writes::Probes => {
                        let mut tx = store.write().await?;
                        write_probe(&store, &mut tx, &name).await?;
                        tx.commit().await
                    }
                    Writes::Reads => {
                        let mut tx = store.write_audit().await?;
                        append_one(&store, &mut tx, Action::Read, &name).await?;
                        tx.commit().await
                    }
                }
            })
        })
        .collect()
}

/// The entries' details, in the chain's order.
async fn details(store: &Store) -> Vec<String> {
    let mut conn = store.read().await.expect("conn");
    sqlx::query("SELECT detail FROM audit_log ORDER BY seq")
        .fetch_all(&mut *conn)
        .await
        .expect("select")
        .iter()
        .map(|r| r.get::<String, _>("detail"))
        .collect()
}

async fn entries(store: &Store) -> i64 {
    match anchor::verify(store, None).await.expect("verify") {
        Verification::Intact { entries, .. } => entries,
        broken => panic!("the chain is broken: {broken:?}"),
    }
}

#[tokio::test]
async fn writes_queued_behind_one_another_share_one_commit_and_each_lands() {
    let (store, _dir) = fresh().await;
    let before = store.write_stats();
    let mut first = store.write().await.expect("tx");
    write_probe(&store, &mut first, "a00").await.expect("write");
    let writers = spawn_writers(&store, (1..=10).map(|i| format!("a{i:02}")), Writes::Probes);
    let grouped = store.backend() == Backend::Sqlite;
    if grouped {
        until_queued(&store, 10).await;
    }
    let first_done = tokio::spawn(first.commit());
    // Not durable yet, so not told: the batch waits for the writers queued behind.
    for writer in writers {
        writer.await.expect("join").expect("committed");
    }
    first_done.await.expect("join").expect("committed");
    let after = store.write_stats();
    if grouped {
        assert_eq!(after.batches - before.batches, 1, "commits for eleven writes");
        assert_eq!(after.writes - before.writes, 11);
    } else {
        // Each its own commit, and the audit writer's batches that chained the
        // entries of the writes that found the head taken (H109).
        assert!(after.batches - before.batches >= 11, "{after:?}");
        assert_eq!(parked(&store).await, 0);
    }
    assert_eq!(committed(&store).await.len(), 11);
    assert_eq!(entries(&store).await, 11);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn reads_audit_entries_share_one_commit_on_either_database_beside_other_writes() {
    // Issue 16: on PostgreSQL each audited read held the audit head row through a
    // commit of its own, so reads passed one commit at a time.
    let (store, _dir) = fresh().await;
    let before = store.write_stats();
    let mut first = store.write_audit().await.expect("tx");
    append_one(&store, &mut first, Action::Read, "read 0")
        .await
        .expect("append");
    let reads = spawn_writers(&store, (1..=10).map(|i| format!("read {i}")), Writes::Reads);
    until_queued(&store, 10).await;
    // Other writes meanwhile: in the batch on SQLite, each its own on PostgreSQL,
    // where they wait for the batch's head.
    let writes = spawn_writers(&store, (0..4).map(|i| format!("w{i}")), Writes::Probes);
    first.commit().await.expect("committed");
    for read in reads {
        read.await.expect("join").expect("committed");
    }
    let after_reads = store.write_stats();
    for write in writes {
        write.await.expect("join").expect("committed");
    }
    // The eleven reads went in one commit (the writes may have joined it on SQLite).
    assert!(after_reads.writes - before.writes >= 11);
    assert!(
        after_reads.batches - before.batches <= 5,
        "{} commits for eleven reads and four writes",
        after_reads.batches - before.batches
    );
    assert_eq!(committed(&store).await.len(), 4);
    assert_eq!(entries(&store).await, 15);
}

#[tokio::test]
async fn a_write_that_fails_or_is_dropped_in_a_batch_takes_back_only_itself() {
    let (store, _dir) = fresh().await;
    let mut first = store.write().await.expect("tx");
    write_probe(&store, &mut first, "ok-0").await.expect("write");
    let mut writers = Vec::new();
    for (i, how) in ["ok", "duplicate", "ok", "dropped", "rolled back", "ok"]
        .into_iter()
        .enumerate()
    {
        let store = store.clone();
        writers.push(tokio::spawn(async move {
            let mut tx = store.write().await?;
            let id = if how == "ok" {
                format!("ok-{}", i + 1)
            } else {
                format!("no-{i}")
            };
            write_probe(&store, &mut tx, &id).await?;
            match how {
                // The unique key refuses the second row; on PostgreSQL this aborts
                // the statement's transaction unless the savepoint takes it back.
                "duplicate" => {
                    write_probe(&store, &mut tx, "ok-0").await?;
                    tx.commit().await
                }
                "dropped" => {
                    drop(tx);
                    Err(StoreError::Batch("dropped".into()))
                }
                "rolled back" => tx
                    .rollback()
                    .await
                    .and(Err(StoreError::Batch("rolled back".into()))),
                _ => tx.commit().await,
            }
        }));
    }
    if store.backend() == Backend::Sqlite {
        until_queued(&store, 6).await;
    }
    first.commit().await.expect("committed");
    let outcomes: Vec<bool> = futures_outcomes(writers).await;
    assert_eq!(outcomes, [true, false, true, false, false, true]);
    assert_eq!(committed(&store).await, ["ok-0", "ok-1", "ok-3", "ok-6"]);
    assert_eq!(entries(&store).await, 4, "only the landed writes' audit entries");
}

async fn futures_outcomes(writers: Vec<tokio::task::JoinHandle<Result<(), StoreError>>>) -> Vec<bool> {
    let mut outcomes = Vec::new();
    for writer in writers {
        outcomes.push(writer.await.expect("join").is_ok());
    }
    outcomes
}

#[tokio::test]
async fn after_a_conflict_settling_shows_the_write_that_came_first() {
    let (store, _dir) = fresh().await;
    if store.backend() == Backend::Postgres {
        // Each write commits on its own there: the second waits on the unique key
        // until the first has committed, and no batch is in flight.
        return;
    }
    let mut first = store.write().await.expect("tx");
    write_probe(&store, &mut first, "dose").await.expect("write");
    let second = {
        let store = store.clone();
        tokio::spawn(async move {
            let mut tx = store.write().await.expect("tx");
            let refused = write_probe(&store, &mut tx, "dose").await;
            assert!(matches!(
                refused,
                Err(StoreError::Database(_) | StoreError::Conflict(_))
            ));
            drop(tx);
            // The first write is in the batch, not yet committed: settle, then read.
            store.settle().await;
            committed(&store).await
        })
    };
    until_queued(&store, 1).await;
    let first_done = tokio::spawn(first.commit());
    assert_eq!(second.await.expect("join"), ["dose"]);
    first_done.await.expect("join").expect("committed");
}

/// Two server processes on one database, each with its own writer: a write's
/// entries go onto the head its process's last commit left (issue 16, no read of
/// the head row), which the other process may have moved meanwhile. The statement
/// that writes them checks the head row, and on a mismatch the head is read and
/// the entries chained again: the chain stays one, in turn and at once (H56).
#[tokio::test]
async fn two_processes_appending_in_turn_and_at_once_keep_one_chain() {
    let dir = tempfile::tempdir().expect("tempdir");
    let url = samhand_store::testing::fresh_database_url(dir.path()).await;
    let open = || async {
        Store::connect(&url, 4)
            .await
            .expect("connect")
            .with_audit_key(samhand_store::testing::audit_key())
    };
    let first = open().await;
    let mut tx = first.write().await.expect("tx");
    sqlx::query("CREATE TABLE probe (id TEXT PRIMARY KEY)")
        .execute_on(&mut tx)
        .await
        .expect("create");
    tx.commit().await.expect("commit");
    let second = open().await;
    // In turn: each process's cached head goes stale whenever the other wrote.
    for i in 0..8 {
        let store = if i % 3 == 1 { &second } else { &first };
        let mut tx = store.write().await.expect("tx");
        write_probe(store, &mut tx, &format!("turn-{i}"))
            .await
            .expect("write");
        tx.commit().await.expect("commit");
    }
    assert_eq!(entries(&first).await, 8);
    // At once, from both.
    let writers: Vec<_> = (0..8)
        .map(|i| {
            let store = if i % 2 == 0 { first.clone() } else { second.clone() };
            tokio::spawn(async move {
                let mut tx = store.write().await?;
                write_probe(&store, &mut tx, &format!("once-{i}")).await?;
                tx.commit().await
            })
        })
        .collect();
    for writer in writers {
        writer.await.expect("join").expect("committed");
    }
    assert_eq!(entries(&second).await, 16);
    assert_eq!(committed(&first).await.len(), 16);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_connection_given_back_inside_a_transaction_is_not_handed_out_again() {
    // H100: a request dropped while its transaction began (the client went away)
    // gave its connection back to the pool inside the transaction (sqlx's SQLite
    // driver has begun it before it hands back the `Transaction` that would roll it
    // back). On SQLite that connection held the write lock: every later write, each
    // dispensing, failed "database is locked".
    let (store, _dir) = fresh().await;
    let begin = match store.backend() {
        Backend::Sqlite => "BEGIN IMMEDIATE",
        Backend::Postgres => "BEGIN",
    };
    for attempt in 0..400 {
        let mut conn = store.read().await.expect("a pooled connection");
        samhand_store::testing::abandon_after(1 + attempt % 30, async {
            let tx = sqlx::Connection::begin_with(&mut *conn, begin).await;
            drop(tx);
        })
        .await;
    }
    // No pooled connection is inside a transaction...
    let mut held = Vec::new();
    for _ in 0..8 {
        held.push(store.read().await.expect("a pooled connection"));
    }
    for conn in &mut held {
        sqlx::Connection::ping(&mut **conn).await.expect("ping");
        assert!(!sqlx::Connection::is_in_transaction(&**conn));
    }
    drop(held);
    // ...and writes go through at once.
    let written = tokio::time::timeout(Duration::from_secs(5), async {
        let mut tx = store.write().await?;
        write_probe(&store, &mut tx, "after").await?;
        tx.commit().await
    })
    .await;
    assert!(
        matches!(written, Ok(Ok(()))),
        "a write after abandoned begins: {written:?}"
    );
    assert_eq!(committed(&store).await, ["after"]);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn reads_recorded_meanwhile_are_written_together_and_written_all_the_same_when_their_requests_go_away()
{
    // Issue 16: on PostgreSQL a read's entries go to the queue, and one task
    // writes all queued in one write, so sixteen reads no longer run sixteen
    // INSERTs in turn, each a round trip. (On SQLite each read's entries are a
    // write of the batch, as the test above has them.)
    let (store, _dir) = fresh().await;
    if store.backend() != Backend::Postgres {
        return;
    }
    // A read holding the batch (on PostgreSQL the reads' entries share one).
    let mut first = store.write_audit().await.expect("tx");
    append_one(&store, &mut first, Action::Read, "held")
        .await
        .expect("append");
    let before = store.write_stats();
    let read = |i: usize| {
        let store = store.clone();
        tokio::spawn(async move {
            let actor = actor();
            let detail = format!("read {i}");
            audit::record(&store, &[entry(&actor, Action::Read, &detail)]).await
        })
    };
    // The queue's task takes the first read and waits for the batch; the rest
    // wait in the queue meanwhile.
    let mut reads = vec![read(0)];
    until_queued(&store, 1).await;
    assert_eq!(store.audit_reads_queued(), 0, "the task took the first");
    reads.extend((1..12).map(read));
    for _ in 0..500 {
        if store.audit_reads_queued() == 11 {
            break;
        }
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    assert_eq!(store.audit_reads_queued(), 11, "the reads wait in the queue");
    // Every request goes away while its entry waits, the one whose entry the
    // task has taken too: the entries are written all the same.
    for read in &reads {
        read.abort();
    }
    first.commit().await.expect("committed");
    for read in reads {
        let gone = read.await.expect_err("aborted");
        assert!(gone.is_cancelled(), "{gone}");
    }
    for _ in 0..500 {
        if store.audit_reads_queued() == 0 && store.write_stats().writes - before.writes >= 3 {
            break;
        }
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    store.settle().await;
    let after = store.write_stats();
    // The held read's batch, then the first read alone, then the eleven together.
    assert_eq!(after.writes - before.writes, 3, "writes for thirteen reads");
    assert_eq!(entries(&store).await, 13);
    let details = details(&store).await;
    let mut expected: Vec<String> = (0..12).map(|i| format!("read {i}")).collect();
    expected.push("held".into());
    let mut found = details;
    found.sort();
    expected.sort();
    assert_eq!(found, expected, "every read's entry");
}

#[tokio::test]
async fn entries_with_any_text_are_written_as_given_and_the_chain_verifies() {
    // On PostgreSQL the rows go as one JSON array: quotes, backslashes, line
    // breaks and letters beyond ASCII must come out as they went in.
    let (store, _dir) = fresh().await;
    let odd = [
        "«Nødnummer» \"sitert\" \\ skråstrek",
        "linje en\nlinje to\tfane",
        "emoji ✓ 🙂 and {\"json\": [1]}",
    ];
    let actor = actor();
    let odd_entries: Vec<AuditEntry<'_>> = odd
        .iter()
        .map(|detail| entry(&actor, Action::Read, detail))
        .collect();
    audit::record(&store, &odd_entries).await.expect("recorded");
    // And again past the first entries of a batch (the head read, not assumed).
    let mut tx = store.write_audit().await.expect("tx");
    append_one(&store, &mut tx, Action::Read, "first")
        .await
        .expect("append");
    audit::append_all(&store, &mut tx, &odd_entries)
        .await
        .expect("append");
    tx.commit().await.expect("commit");
    assert_eq!(entries(&store).await, 7);
    let details = details(&store).await;
    let mut expected: Vec<&str> = odd.to_vec();
    expected.push("first");
    expected.extend(odd);
    assert_eq!(details, expected);
}

/// Entries parked and not yet chained, in the whole database.
async fn parked(store: &Store) -> i64 {
    match anchor::verify(store, None).await.expect("verify") {
        Verification::Intact { parked, .. } => parked,
        broken => panic!("the chain is broken: {broken:?}"),
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_write_on_postgres_finding_the_audit_head_taken_commits_beside_it_and_is_answered_once_chained() {
    // Issue 16, H109: each write on PostgreSQL is a transaction of its own. Its
    // entries took the audit head row, locked until its commit was on disk, so
    // writes passed one flush at a time. A write finding the head taken parks its
    // entries, committed with it, and the audit writer chains them after.
    let (store, _dir) = fresh().await;
    if store.backend() != Backend::Postgres {
        return;
    }
    // A write this process saw commit: it knows the head.
    let mut tx = store.write().await.expect("tx");
    write_probe(&store, &mut tx, "known").await.expect("write");
    tx.commit().await.expect("commit");
    // One write takes the head and holds it, uncommitted.
    let mut holding = store.write().await.expect("tx");
    write_probe(&store, &mut holding, "holding").await.expect("write");
    // Another writes beside it: a probe, and an entry about many patients.
    let listed: Vec<PatientId> = (0..3).map(|_| PatientId::new()).collect();
    let beside = {
        let store = store.clone();
        let listed = listed.clone();
        async move {
            let mut tx = store.write().await?;
            write_probe(&store, &mut tx, "beside").await?;
            let actor = actor();
            let view = samhand_store::testing::list_view_entry(&actor, None);
            audit::append_about_many(&store, &mut tx, &view, &listed).await?;
            Ok::<_, StoreError>(tx)
        }
    };
    let tx = tokio::time::timeout(Duration::from_secs(20), beside)
        .await
        .expect("the write went on while another held the audit head")
        .expect("written");
    let answered = tokio::spawn(tx.commit());
    // Its write is committed while the head is still held, its entries parked;
    // it is not answered before they are chained.
    for _ in 0..500 {
        if committed(&store).await.contains(&"beside".to_string()) {
            break;
        }
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    assert_eq!(committed(&store).await, vec!["beside", "known"]);
    assert_eq!(parked(&store).await, 2, "the probe's entry and the view's");
    tokio::time::sleep(Duration::from_millis(100)).await;
    assert!(
        !answered.is_finished(),
        "answered before its entries were chained"
    );
    holding.commit().await.expect("commit");
    answered.await.expect("join").expect("committed");
    assert_eq!(parked(&store).await, 0);
    assert_eq!(entries(&store).await, 4);
    assert_eq!(
        details(&store).await,
        vec![
            "probe known",
            "probe holding",
            "probe beside",
            "today's dispensing list"
        ]
    );
    let mut conn = store.read().await.expect("conn");
    for patient in listed {
        let log = audit::for_patient(&mut conn, patient, 10).await.expect("log");
        assert_eq!(log.len(), 1, "the view names {patient}");
        assert_eq!(log[0].seq, 4);
    }
}

#[tokio::test]
async fn entries_a_stopped_process_left_parked_are_counted_and_chained_at_a_start() {
    let (store, _dir) = fresh().await;
    let mut tx = store.write().await.expect("tx");
    write_probe(&store, &mut tx, "before").await.expect("write");
    tx.commit().await.expect("commit");
    if store.backend() != Backend::Postgres {
        // SQLite never parks: nothing to chain, and starting changes nothing.
        store.chain_parked_audit_entries().await;
        assert_eq!((entries(&store).await, parked(&store).await), (1, 0));
        return;
    }
    // As a write of a process that stopped before its entries were chained.
    let mut conn = store.read().await.expect("conn");
    sqlx::query(
        "INSERT INTO audit_parked (at, actor_id, actor_role, actor_organisation, patient_id, category, action, allowed, relation, detail, linked) \
         VALUES (1800000000000000, 'staff-1', 'dispensing_staff', 'org-1', NULL, 'dispensing', 'write', 1, 'dispensing_place', 'left parked', '')",
    )
    .execute(&mut *conn)
    .await
    .expect("parked");
    drop(conn);
    assert_eq!((entries(&store).await, parked(&store).await), (1, 1));
    store.chain_parked_audit_entries().await;
    assert_eq!((entries(&store).await, parked(&store).await), (2, 0));
    assert_eq!(details(&store).await, vec!["probe before", "left parked"]);
}
