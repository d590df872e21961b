//! The transaction a batch of writes runs in ([`crate::group`]): on SQLite one
//! connection of SQLite's own library, run on the writer's own thread; on
//! PostgreSQL (and on a SQLite database in memory) a transaction of the pool.
//!
//! sqlx's SQLite driver hands every statement to the connection's thread and back,
//! and the batch holds the database's write lock all the while: a dispensing's
//! statements cost a dozen thread switches inside the one section every write in
//! the process passes through (issue 16). The batch's own connection runs them
//! where they are asked, with the same SQL text and arguments as on PostgreSQL
//! ([`crate::native`]). Being the process's only writer, its page cache outlives
//! its own commits.

use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use sqlx::any::AnyRow;
use sqlx::{Any, Transaction};

use crate::db::{Backend, Result, StoreError};
use crate::native::{AnyQuery, Fetch, native};

/// How long a statement of the writer's connection waits, blocking its thread,
/// when another process holds the write lock; the begin waits longer, asleep.
const BLOCKING_BUSY_WAIT: Duration = Duration::from_millis(20);

/// How long a batch's begin keeps trying while another process writes.
const BEGIN_PATIENCE: Duration = Duration::from_secs(30);

/// The writer's page cache (KiB): the pages of the tables every write touches.
const WRITER_CACHE_KIB: i64 = 8192;

/// A batch's open transaction.
pub(crate) enum BatchTx {
    /// A transaction of the pool.
    Pool(Transaction<'static, Any>),
    /// SQLite's own connection inside `BEGIN IMMEDIATE`.
    Native(rusqlite::Connection),
}

/// The writer's connection of SQLite's own library, kept between batches.
pub(crate) struct NativeWriter {
    path: PathBuf,
    idle: Option<rusqlite::Connection>,
}

impl NativeWriter {
    pub(crate) fn new(path: PathBuf) -> Self {
        Self { path, idle: None }
    }

    /// Begins a batch: `BEGIN IMMEDIATE` takes the database's write lock up front,
    /// so that no statement inside can fail with "database is locked" halfway.
    /// While another process holds the lock the begin is retried, asleep, so the
    /// server's threads go on serving.
    pub(crate) async fn begin(&mut self) -> Result<BatchTx> {
        let started = Instant::now();
        let mut pause = Duration::from_millis(2);
        loop {
            let conn = match self.idle.take() {
                Some(conn) => conn,
                None => open(&self.path)?,
            };
            match conn.execute_batch("BEGIN IMMEDIATE") {
                Ok(()) => return Ok(BatchTx::Native(conn)),
                Err(error) => {
                    let error = native(error);
                    self.idle = Some(conn);
                    if !is_busy(&error) || started.elapsed() >= BEGIN_PATIENCE {
                        return Err(error);
                    }
                    tracing::warn!("SQLite busy at BEGIN IMMEDIATE; retrying");
                    tokio::time::sleep(pause).await;
                    pause = (pause * 2).min(Duration::from_millis(200));
                }
            }
        }
    }

    /// Takes the connection back after its batch ended, unless it is still inside
    /// a transaction (an end that failed): that one is closed, which rolls it back.
    pub(crate) fn keep(&mut self, conn: rusqlite::Connection) {
        if conn.is_autocommit() {
            self.idle = Some(conn);
        }
    }
}

fn is_busy(error: &StoreError) -> bool {
    matches!(error, StoreError::Database(e) if crate::db::is_busy(e))
}

fn open(path: &Path) -> Result<rusqlite::Connection> {
    let conn = crate::native::open_file(path, BLOCKING_BUSY_WAIT, WRITER_CACHE_KIB, 64)?;
    // As the pool's connections: durable commits, enforced references.
    conn.pragma_update(None, "synchronous", "FULL").map_err(native)?;
    conn.pragma_update(None, "foreign_keys", true).map_err(native)?;
    Ok(conn)
}

impl BatchTx {
    /// Commits; a native connection is handed back to `writer` to keep.
    pub(crate) async fn commit(self, writer: Option<&mut NativeWriter>) -> Result<()> {
        match self {
            BatchTx::Pool(tx) => tx.commit().await.map_err(crate::db::classify),
            BatchTx::Native(conn) => {
                let done = conn.execute_batch("COMMIT").map_err(native);
                if done.is_err() && !conn.is_autocommit() {
                    let _ = conn.execute_batch("ROLLBACK");
                }
                if let Some(writer) = writer {
                    writer.keep(conn);
                }
                done
            }
        }
    }

    /// Rolls back; a native connection is handed back to `writer` to keep.
    pub(crate) async fn rollback(self, writer: Option<&mut NativeWriter>) -> Result<()> {
        match self {
            BatchTx::Pool(tx) => Ok(tx.rollback().await?),
            BatchTx::Native(conn) => {
                let done = conn.execute_batch("ROLLBACK").map_err(native);
                if let Some(writer) = writer {
                    writer.keep(conn);
                }
                done
            }
        }
    }
}

impl Fetch for BatchTx {
    fn backend(&self) -> Backend {
        match self {
            BatchTx::Pool(tx) => Fetch::backend(&**tx),
            BatchTx::Native(_) => Backend::Sqlite,
        }
    }

    async fn fetch_all<'q>(&mut self, query: AnyQuery<'q>) -> Result<Vec<AnyRow>> {
        match self {
            BatchTx::Pool(tx) => (**tx).fetch_all(query).await,
            BatchTx::Native(conn) => crate::native::rows(conn, query, None),
        }
    }

    async fn fetch_optional<'q>(&mut self, query: AnyQuery<'q>) -> Result<Option<AnyRow>> {
        match self {
            BatchTx::Pool(tx) => (**tx).fetch_optional(query).await,
            BatchTx::Native(conn) => Ok(crate::native::rows(conn, query, Some(1))?.into_iter().next()),
        }
    }

    async fn execute<'q>(&mut self, query: AnyQuery<'q>) -> Result<u64> {
        match self {
            BatchTx::Pool(tx) => (**tx).execute(query).await,
            BatchTx::Native(conn) => crate::native::execute(conn, query),
        }
    }
}

#[cfg(test)]
mod tests {
    use std::time::{Duration, Instant};

    use sqlx::Row;

    use crate::db::{StoreError, Violation};
    use crate::native::FetchOn;
    use crate::{Store, WriteTx};

    async fn number(tx: &mut WriteTx, sql: &str) -> i64 {
        let row = sqlx::query(sql).fetch_one_on(tx).await.expect(sql);
        row.get::<i64, _>(0)
    }

    async fn refusal(store: &Store, sql: &str) -> StoreError {
        let mut tx = store.write().await.expect("write");
        let error = sqlx::query(sql).execute_on(&mut tx).await.expect_err("refused");
        tx.rollback().await.expect("rollback");
        error
    }

    #[tokio::test]
    async fn a_batch_on_sqlite_writes_on_its_own_connection_with_references_enforced_and_refusals_classified()
    {
        let dir = tempfile::tempdir().expect("tempdir");
        let store = Store::connect(&Store::sqlite_url(dir.path()), 2)
            .await
            .expect("store");
        let mut tx = store.write().await.expect("write");
        assert!(
            tx.runs_natively(),
            "a SQLite file is written on SQLite's own connection"
        );
        assert_eq!(number(&mut tx, "PRAGMA foreign_keys").await, 1);
        assert_eq!(number(&mut tx, "PRAGMA synchronous").await, 2, "FULL");
        tx.execute_script(
            "CREATE TABLE parent (id TEXT PRIMARY KEY);
             CREATE TABLE child (parent_id TEXT NOT NULL REFERENCES parent(id));",
        )
        .await
        .expect("tables");
        sqlx::query("INSERT INTO parent (id) VALUES ('p')")
            .execute_on(&mut tx)
            .await
            .expect("parent");
        tx.commit().await.expect("commit");

        let orphan = refusal(&store, "INSERT INTO child (parent_id) VALUES ('nobody')").await;
        assert_eq!(orphan.violation(), Some(Violation::Reference), "{orphan}");
        let twice = refusal(&store, "INSERT INTO parent (id) VALUES ('p')").await;
        assert_eq!(twice.violation(), Some(Violation::Unique("")), "{twice}");
        let mut conn = store.read().await.expect("conn");
        let children = sqlx::query("SELECT COUNT(*) AS n FROM child")
            .fetch_one_on(&mut conn)
            .await
            .expect("count");
        assert_eq!(children.get::<i64, _>("n"), 0);
        let parents = sqlx::query("SELECT COUNT(*) AS n FROM parent")
            .fetch_one_on(&mut conn)
            .await
            .expect("count");
        assert_eq!(parents.get::<i64, _>("n"), 1, "the committed write stands");
    }

    #[tokio::test]
    async fn a_closed_store_refuses_writes_and_the_writer_names_the_file_the_pool_opens() {
        let dir = tempfile::tempdir().expect("tempdir");
        let odd = dir.path().join("a#b c");
        std::fs::create_dir(&odd).expect("dir");
        let url = format!(
            "sqlite://{}/samhand.db?mode=rwc",
            odd.display().to_string().replace('%', "%25").replace('#', "%23")
        );
        assert_eq!(
            crate::native::database_file(&url),
            Some(odd.join("samhand.db")),
            "decoded as sqlx decodes it"
        );
        for memory in [
            "sqlite::memory:",
            "sqlite://file::memory:?cache=shared",
            "sqlite://x.db?mode=memory",
        ] {
            assert_eq!(crate::native::database_file(memory), None, "{memory}");
        }
        let store = Store::connect(&url, 2).await.expect("store");
        let mut tx = store.write().await.expect("write");
        crate::db::execute(&mut tx, "CREATE TABLE before_closing (id TEXT)")
            .await
            .expect("write");
        tx.commit().await.expect("commit");
        store.close().await;
        assert!(store.write().await.is_err(), "a closed store takes no writes");
        assert!(odd.join("samhand.db").exists());
    }

    #[tokio::test]
    async fn a_batch_waits_asleep_while_another_process_holds_the_write_lock() {
        let dir = tempfile::tempdir().expect("tempdir");
        let store = Store::connect(&Store::sqlite_url(dir.path()), 2)
            .await
            .expect("store");
        let other = rusqlite::Connection::open(dir.path().join("samhand.db")).expect("other");
        other.execute_batch("BEGIN IMMEDIATE").expect("lock");
        let held = Duration::from_millis(400);
        let release = std::thread::spawn(move || {
            std::thread::sleep(held);
            other.execute_batch("COMMIT").expect("release");
        });
        let started = Instant::now();
        let mut tx = store.write().await.expect("the write waits for the lock");
        assert!(started.elapsed() >= held - Duration::from_millis(50));
        crate::db::execute(&mut tx, "CREATE TABLE after_the_lock (id TEXT)")
            .await
            .expect("write");
        tx.commit().await.expect("commit");
        release.join().expect("released");
    }
}
