//! Group commit: the process's write transactions share one database transaction,
//! so that a burst of writes (dispensings at opening time, the audit entry of every
//! read) costs one durable commit instead of one each.
//!
//! One writer at a time holds the batch. Each write runs inside a savepoint of the
//! batch's transaction: a write that fails or is dropped is rolled back to its
//! savepoint and leaves the others untouched, so each request is still all or
//! nothing. A write that commits releases its savepoint and waits for the batch to
//! commit; the writer that finds nobody queued behind it commits the batch for all.
//! Nobody is answered before the commit that makes their write durable.
//!
//! The audit chain's head is read and moved inside the batch, and written once as
//! the batch commits.
//!
//! That is SQLite, which has one writer at a time anyway. On PostgreSQL each write
//! is a transaction of its own ([`Writer::begin_alone`]): its statements run beside
//! other writes', and PostgreSQL groups the commits. A write takes the audit head
//! row (locked by its first entry until it commits) only if no other write holds
//! it; else its entries are parked and chained after its commit
//! ([`crate::audit_parked`]), also between two server processes on one
//! database. The reads' audit entries, which are all
//! their transactions hold, share the batch there too ([`Writer::begin_batched`]):
//! every audited read held the head row through a commit of its own, so reads
//! passed one commit at a time (issue 16).

use std::sync::Arc;
use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};
use std::time::Duration;

use sqlx::{Any, AnyPool, Transaction};
use tokio::sync::{Mutex, OwnedMutexGuard, oneshot};

use crate::batch_tx::{BatchTx, NativeWriter};
use crate::db::{Backend, Result, StoreError};
use crate::native::FetchOn;

/// Writes in one batch at most, so a steady stream of writers still commits.
const MAX_BATCH: usize = 64;

/// How often a batch's begin is retried when SQLite stays busy (another process).
const BUSY_RETRIES: u64 = 5;

/// The savepoint each write runs in.
const SAVEPOINT: &str = "SAVEPOINT samhand_write";
const RELEASE: &str = "RELEASE SAVEPOINT samhand_write";
const UNDO: &str = "ROLLBACK TO SAVEPOINT samhand_write";

/// The outcome a waiting write is told: the batch committed, or why not.
type Outcome = std::result::Result<(), String>;

/// How well writes were grouped: batches committed and the writes in them.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct WriteStats {
    pub batches: u64,
    pub writes: u64,
}

/// The audit chain's head as the batch has moved it.
#[derive(Debug, Clone)]
pub(crate) struct AuditHead {
    pub seq: i64,
    pub hash: String,
    /// Whether entries were appended since it was read (the row is written once,
    /// just before the batch commits).
    pub moved: bool,
}

/// The open batch.
#[derive(Default)]
pub(crate) struct Batch {
    tx: Option<BatchTx>,
    /// On SQLite (a file), the connection of SQLite's own library the batches run
    /// on, between them.
    native: Option<NativeWriter>,
    /// Writes whose savepoints were released into `tx`, waiting for its commit.
    waiting: Vec<oneshot::Sender<Outcome>>,
    /// The audit head, once the batch has read (and on PostgreSQL locked) it.
    audit_head: Option<AuditHead>,
}

/// The process's writer: the batch behind a fair lock, and how many wait for it.
pub(crate) struct Writer {
    batch: Arc<Mutex<Batch>>,
    queued: AtomicUsize,
    /// Batches committed, and the writes in them, since the store was opened.
    batches: AtomicU64,
    writes: AtomicU64,
    pool: AnyPool,
    backend: Backend,
    /// The audit head as this process's last commit left it: a batch's first
    /// entries are chained onto it without reading the head row, by a statement
    /// that writes them only if the row still holds it (another process, or a
    /// concurrent write on PostgreSQL, may have moved it; then the row is read).
    last_head: std::sync::Mutex<Option<(i64, String)>>,
}

/// Counts a writer as queued until it holds the batch (or gives up waiting).
struct Queued<'a> {
    writer: &'a Arc<Writer>,
    holding: bool,
}

impl Drop for Queued<'_> {
    fn drop(&mut self) {
        self.writer.queued.fetch_sub(1, Ordering::SeqCst);
        if !self.holding {
            // Given up while queued: whoever left the batch to this writer may have
            // left it open with writes waiting; make sure it is committed.
            self.writer.settle_later();
        }
    }
}

impl Writer {
    /// The writer of the database the pool connects to; `native_file` the SQLite
    /// file its batches write with SQLite's own library ([`crate::batch_tx`]).
    pub(crate) fn new(pool: AnyPool, backend: Backend, native_file: Option<std::path::PathBuf>) -> Arc<Self> {
        Arc::new(Self {
            batch: Arc::new(Mutex::new(Batch {
                native: native_file.map(NativeWriter::new),
                ..Batch::default()
            })),
            queued: AtomicUsize::new(0),
            batches: AtomicU64::new(0),
            writes: AtomicU64::new(0),
            pool,
            backend,
            last_head: std::sync::Mutex::new(None),
        })
    }

    /// Starts a write: on SQLite in the shared batch, on PostgreSQL in a
    /// transaction of its own.
    pub(crate) async fn begin(self: &Arc<Self>) -> Result<WriteTx> {
        if self.backend == Backend::Postgres {
            return self.begin_alone().await;
        }
        self.begin_batched().await
    }

    /// Takes the batch, opening its transaction if none is open, and starts a write
    /// in a savepoint of it. On PostgreSQL too for writes of nothing but audit
    /// entries (the reads'): a burst of reads then takes the audit head and commits
    /// once per batch instead of once each.
    pub(crate) async fn begin_batched(self: &Arc<Self>) -> Result<WriteTx> {
        let mut guard = self.hold().await;
        if guard.tx.is_none() {
            let tx = self.begin_batch(&mut guard).await?;
            guard.tx = Some(tx);
        }
        // The first write of a batch needs no savepoint: undoing it is rolling the
        // batch back.
        let savepoint = !guard.waiting.is_empty();
        if savepoint {
            let tx = guard.tx.as_mut().expect("opened above");
            if let Err(error) = crate::db::execute(tx, SAVEPOINT).await {
                self.abort(&mut guard, &error.to_string()).await;
                return Err(error);
            }
        }
        let head_at_start = guard.audit_head.clone();
        Ok(WriteTx {
            guard: Some(guard),
            writer: self.clone(),
            savepoint,
            head_at_start,
            alone: false,
            parked: None,
        })
    }

    /// On PostgreSQL each write is a transaction of its own, run beside the others:
    /// PostgreSQL groups concurrent commits itself, and a shared batch would run
    /// every write's statements one after another on one connection (measured no
    /// faster: BENCHMARKS.md, 5 December). Only the audit head is taken in turn, at
    /// the end of each write.
    async fn begin_alone(self: &Arc<Self>) -> Result<WriteTx> {
        let batch = Batch {
            tx: Some(BatchTx::Pool(self.pool.begin().await?)),
            ..Batch::default()
        };
        let guard = Arc::new(Mutex::new(batch)).lock_owned().await;
        Ok(WriteTx {
            guard: Some(guard),
            writer: self.clone(),
            savepoint: false,
            head_at_start: None,
            alone: true,
            parked: None,
        })
    }

    /// The batch, after the writers queued before this one.
    async fn hold(self: &Arc<Self>) -> OwnedMutexGuard<Batch> {
        self.queued.fetch_add(1, Ordering::SeqCst);
        let mut queued = Queued {
            writer: self,
            holding: false,
        };
        let guard = self.batch.clone().lock_owned().await;
        queued.holding = true;
        guard
    }

    /// Begins the batch's transaction. On SQLite it takes the database's write lock
    /// up front (`BEGIN IMMEDIATE`), so that no statement inside it can fail with
    /// "database is locked" halfway; should another process hold the lock for longer
    /// than the busy timeout, the begin is retried.
    async fn begin_batch(&self, batch: &mut Batch) -> Result<BatchTx> {
        if self.backend == Backend::Postgres {
            return Ok(BatchTx::Pool(self.pool.begin().await?));
        }
        if let Some(native) = batch.native.as_mut() {
            return native.begin().await;
        }
        let mut attempt = 0;
        loop {
            match begin_immediate(&self.pool).await {
                Ok(tx) => return Ok(BatchTx::Pool(tx)),
                Err(error) if crate::db::is_busy(&error) && attempt < BUSY_RETRIES => {
                    attempt += 1;
                    tracing::warn!(attempt, "SQLite busy at BEGIN IMMEDIATE; retrying");
                    tokio::time::sleep(Duration::from_millis(50 * attempt)).await;
                }
                Err(error) => return Err(error.into()),
            }
        }
    }

    /// Commits the batch if nobody is queued to add to it (or it is full): every
    /// write in it is told the outcome.
    async fn commit_if_last(&self, guard: &mut Batch) {
        let full = guard.waiting.len() >= MAX_BATCH;
        if self.queued.load(Ordering::SeqCst) == 0 || full {
            self.commit(guard).await;
        }
    }

    /// Commits the batch's transaction, with the audit head where its entries
    /// moved it, and tells every write in it.
    async fn commit(&self, guard: &mut Batch) {
        let Some(mut tx) = guard.tx.take() else {
            return;
        };
        let head = guard.audit_head.take();
        let outcome = match &head {
            Some(head) if head.moved => sqlx::query("UPDATE audit_head SET seq = $1, hash = $2 WHERE id = 1")
                .bind(head.seq)
                .bind(head.hash.clone())
                .execute_on(&mut tx)
                .await
                .map(|_| ())
                .map_err(|e| e.to_string()),
            _ => Ok(()),
        };
        let outcome = match outcome {
            Ok(()) => tx.commit(guard.native.as_mut()).await.map_err(|e| e.to_string()),
            Err(why) => {
                let _ = tx.rollback(guard.native.as_mut()).await;
                Err(why)
            }
        };
        if outcome.is_ok() {
            if let Some(head) = head {
                let mut last = self.last_head.lock().expect("the audit head's lock");
                // Of two commits finishing together, the later head stays.
                if last.as_ref().is_none_or(|(seq, _)| *seq < head.seq) {
                    *last = Some((head.seq, head.hash));
                }
            }
            self.batches.fetch_add(1, Ordering::Relaxed);
            self.writes
                .fetch_add(guard.waiting.len() as u64, Ordering::Relaxed);
        }
        for waiter in guard.waiting.drain(..) {
            let _ = waiter.send(outcome.clone());
        }
    }

    /// Rolls the whole batch back after its transaction failed: every write in it
    /// is told why.
    async fn abort(&self, guard: &mut Batch, why: &str) {
        guard.audit_head = None;
        if let Some(tx) = guard.tx.take() {
            let _ = tx.rollback(guard.native.as_mut()).await;
        }
        for waiter in guard.waiting.drain(..) {
            let _ = waiter.send(Err(format!("the batch was rolled back: {why}")));
        }
    }

    /// Commits what the batch holds, once the writers queued now are through.
    pub(crate) async fn settle(self: &Arc<Self>) {
        let mut guard = self.hold().await;
        self.commit(&mut guard).await;
    }

    /// Commits what the batch holds and closes the connection of SQLite's own
    /// library: later writes go to the pool, which refuses them once it is closed
    /// too ([`crate::Store::close`]).
    pub(crate) async fn close(self: &Arc<Self>) {
        let mut guard = self.hold().await;
        self.commit(&mut guard).await;
        guard.native = None;
    }

    /// Batches committed and the writes in them so far.
    pub(crate) fn stats(&self) -> WriteStats {
        WriteStats {
            batches: self.batches.load(Ordering::Relaxed),
            writes: self.writes.load(Ordering::Relaxed),
        }
    }

    /// Writers waiting for the batch now.
    pub(crate) fn queued(&self) -> usize {
        self.queued.load(Ordering::SeqCst)
    }

    /// [`Self::settle`] from where nothing can be awaited (a drop).
    fn settle_later(self: &Arc<Self>) {
        if let Ok(runtime) = tokio::runtime::Handle::try_current() {
            let writer = self.clone();
            runtime.spawn(async move { writer.settle().await });
        }
    }
}

/// `BEGIN IMMEDIATE` on a pooled SQLite connection, run to its end even when the
/// caller is dropped halfway (its request went away). sqlx's SQLite driver, given a
/// BEGIN statement of its own, has begun the transaction before it hands back the
/// `Transaction` that would roll it back; dropped in between, the connection went
/// back to the pool inside the transaction, holding the database's write lock, and
/// every later write failed "database is locked" (H100). In a task of its own the
/// begin completes, and a `Transaction` nobody waits for any more is dropped there,
/// which rolls it back.
async fn begin_immediate(pool: &AnyPool) -> std::result::Result<Transaction<'static, Any>, sqlx::Error> {
    let pool = pool.clone();
    tokio::spawn(async move { pool.begin_with("BEGIN IMMEDIATE").await })
        .await
        .map_err(|joined| sqlx::Error::Io(std::io::Error::other(joined)))?
}

/// A write transaction: a savepoint of the batch, holding the batch until it ends.
pub struct WriteTx {
    guard: Option<OwnedMutexGuard<Batch>>,
    writer: Arc<Writer>,
    /// Whether it runs in a savepoint (other writes are in the batch already).
    savepoint: bool,
    /// The batch's audit head when this write began, to go back to if it is undone.
    head_at_start: Option<AuditHead>,
    /// A transaction of its own (PostgreSQL), committed by its own commit.
    alone: bool,
    /// The store, once this write parked audit entries to be chained after its
    /// commit ([`crate::audit_parked`]).
    parked: Option<crate::Store>,
}

impl WriteTx {
    /// Makes the write part of the batch and waits until the batch is durably
    /// committed: Ok means this write is in the database.
    pub async fn commit(mut self) -> Result<()> {
        let mut guard = self.guard.take().expect("a write holds the batch until it ends");
        if self.savepoint {
            let tx = guard.tx.as_mut().expect("a held batch is open");
            if let Err(error) = crate::db::execute(tx, RELEASE).await {
                self.writer.abort(&mut guard, &error.to_string()).await;
                return Err(error);
            }
        }
        let (told, outcome) = oneshot::channel();
        guard.waiting.push(told);
        if self.alone {
            self.writer.commit(&mut guard).await;
        } else {
            self.writer.commit_if_last(&mut guard).await;
        }
        drop(guard);
        match outcome.await {
            Ok(Ok(())) => {}
            Ok(Err(why)) => return Err(StoreError::Batch(why)),
            Err(_) => return Err(StoreError::Batch("the batch ended without a commit".into())),
        }
        if let Some(store) = self.parked.take() {
            store.audit_queue().chain_parked(&store).await;
        }
        Ok(())
    }

    /// Undoes everything this write wrote (a dry run, or a refusal found midway);
    /// the batch's other writes stand.
    pub async fn rollback(mut self) -> Result<()> {
        let guard = self.guard.take().expect("a write holds the batch until it ends");
        undo(&self.writer, guard, self.savepoint, self.head_at_start.take()).await
    }

    /// The audit chain's head as this batch has it: read (and on PostgreSQL
    /// locked until the commit) by the batch's first entry.
    pub(crate) async fn audit_head(&mut self, lock_sql: &str) -> Result<(i64, String)> {
        let batch = self.guard.as_mut().expect("a held batch");
        if let Some(head) = &batch.audit_head {
            return Ok((head.seq, head.hash.clone()));
        }
        let tx = batch.tx.as_mut().expect("a held batch is open");
        let row = sqlx::query(lock_sql).fetch_one_on(tx).await?;
        let head = AuditHead {
            seq: crate::codec::int(&row, "seq")?,
            hash: crate::codec::text(&row, "hash")?,
            moved: false,
        };
        let found = (head.seq, head.hash.clone());
        batch.audit_head = Some(head);
        Ok(found)
    }

    /// Moves the audit head after appending entries up to `seq`.
    pub(crate) fn move_audit_head(&mut self, seq: i64, hash: String) {
        self.set_audit_head(seq, hash, true);
    }

    /// Sets the audit head as the batch has it: `moved` when the head row is still
    /// to be written at the commit.
    pub(crate) fn set_audit_head(&mut self, seq: i64, hash: String, moved: bool) {
        let batch = self.guard.as_mut().expect("a held batch");
        batch.audit_head = Some(AuditHead { seq, hash, moved });
    }

    /// Whether this write is a transaction of its own (PostgreSQL's writes).
    pub(crate) fn is_alone(&self) -> bool {
        self.alone
    }

    /// Whether this write parked audit entries ([`crate::audit_parked`]).
    pub(crate) fn has_parked(&self) -> bool {
        self.parked.is_some()
    }

    /// Notes that this write parked audit entries: its commit waits until they
    /// are chained.
    pub(crate) fn mark_parked(&mut self, store: &crate::Store) {
        self.parked = Some(store.clone());
    }

    /// Whether this batch has read (or written) the audit head already.
    pub(crate) fn holds_audit_head(&self) -> bool {
        self.guard
            .as_ref()
            .is_some_and(|batch| batch.audit_head.is_some())
    }

    /// The audit head as this process's last commit left it, if it knows it: what
    /// the head row holds unless something else moved it since.
    pub(crate) fn last_committed_audit_head(&self) -> Option<(i64, String)> {
        self.writer
            .last_head
            .lock()
            .expect("the audit head's lock")
            .clone()
    }
}

/// Rolls a write back to its savepoint, then commits the batch if it was the last;
/// a batch's first write is undone by rolling the batch back.
async fn undo(
    writer: &Arc<Writer>,
    mut guard: OwnedMutexGuard<Batch>,
    savepoint: bool,
    head_at_start: Option<AuditHead>,
) -> Result<()> {
    if !savepoint {
        guard.audit_head = None;
        if let Some(tx) = guard.tx.take() {
            tx.rollback(guard.native.as_mut()).await?;
        }
        return Ok(());
    }
    // The entries it appended are undone with it: the head goes back too.
    guard.audit_head = head_at_start;
    let Some(tx) = guard.tx.as_mut() else {
        return Ok(());
    };
    let undone = match crate::db::execute(tx, UNDO).await {
        Ok(()) => crate::db::execute(tx, RELEASE).await,
        Err(error) => Err(error),
    };
    if let Err(error) = &undone {
        writer.abort(&mut guard, &error.to_string()).await;
    } else {
        writer.commit_if_last(&mut guard).await;
    }
    undone
}

impl Drop for WriteTx {
    fn drop(&mut self) {
        let Some(guard) = self.guard.take() else {
            return;
        };
        // Dropped without a commit (an error returned midway, or the request went
        // away): undo it, holding the batch until that is done.
        let writer = self.writer.clone();
        let savepoint = self.savepoint;
        let head_at_start = self.head_at_start.take();
        match tokio::runtime::Handle::try_current() {
            Ok(runtime) => {
                runtime.spawn(async move {
                    let _ = undo(&writer, guard, savepoint, head_at_start).await;
                });
            }
            // No runtime left to undo it on: the process is stopping. Dropping the
            // transaction rolls the whole batch back; its writers are told.
            Err(_) => {
                let mut guard = guard;
                drop(guard.tx.take());
                for waiter in guard.waiting.drain(..) {
                    let _ = waiter.send(Err("the process stopped before the commit".into()));
                }
            }
        }
    }
}

impl WriteTx {
    /// Runs a script of several statements without arguments (a migration).
    pub(crate) async fn execute_script(&mut self, sql: &str) -> Result<()> {
        match self.open() {
            BatchTx::Pool(tx) => {
                sqlx::raw_sql(sql).execute(&mut **tx).await?;
                Ok(())
            }
            BatchTx::Native(conn) => conn.execute_batch(sql).map_err(crate::native::native),
        }
    }

    /// Whether this write runs on SQLite's own connection.
    #[cfg(test)]
    pub(crate) fn runs_natively(&mut self) -> bool {
        matches!(self.open(), BatchTx::Native(_))
    }

    fn open(&mut self) -> &mut BatchTx {
        self.guard
            .as_mut()
            .and_then(|g| g.tx.as_mut())
            .expect("a held batch is open")
    }
}

// A write reads what it has written so far.
crate::native::fetch_through!(WriteTx, backend: |w| w.writer.backend, inner: |w| w.open());

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn a_begin_abandoned_halfway_leaves_no_transaction_open() {
        // H100, at its source: a plain pool, without the store's check on release.
        sqlx::any::install_default_drivers();
        let dir = tempfile::tempdir().expect("tempdir");
        let url = format!("sqlite://{}?mode=rwc", dir.path().join("t.db").display());
        let pool = sqlx::any::AnyPoolOptions::new()
            .max_connections(4)
            .connect(&url)
            .await
            .expect("pool");
        let mut left_open = 0;
        for attempt in 0..1000 {
            crate::testing::abandon_after(1 + attempt % 60, async {
                let _ = begin_immediate(&pool).await;
            })
            .await;
            // A begin still running in its task ends, and rolls back, meanwhile.
            tokio::time::sleep(Duration::from_millis(1)).await;
            let mut conn = pool.acquire().await.expect("a pooled connection");
            sqlx::Connection::ping(&mut *conn).await.expect("ping");
            if sqlx::Connection::is_in_transaction(&*conn) {
                left_open += 1;
                conn.close_on_drop();
            }
        }
        assert_eq!(left_open, 0, "abandoned begins left their transaction open");
    }
}
