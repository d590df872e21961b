//! The connection pool for either database, the write transaction, and the few
//! places where SQLite and PostgreSQL differ.

use std::sync::Arc;
use std::time::Duration;

use crate::native::Fetch;
use sqlx::any::{AnyConnectOptions, AnyPoolOptions};
use sqlx::{AnyPool, Executor};

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Backend {
    Sqlite,
    Postgres,
}

#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    #[error("database error: {0}")]
    Database(#[from] sqlx::Error),
    /// A unique constraint refused the write; the name says which.
    #[error("constraint {0} refused the write")]
    Conflict(&'static str),
    #[error("stored data could not be read back: {0}")]
    Corrupt(String),
    #[error("migration failed: {0}")]
    Migration(String),
    /// The audit key or the checkpoint directory could not be used.
    #[error("{0}")]
    Anchor(String),
    /// A record was to be written without an allowed access to its patient recorded
    /// in the same transaction (a defect in the caller, never the user's doing).
    #[error("unrecorded write: {0}")]
    Unrecorded(String),
    /// The write was in a batch whose commit failed; nothing of the batch landed.
    #[error("the write's batch did not commit: {0}")]
    Batch(String),
    /// SQLite's own library refused a read of a [`crate::native::Reader`].
    #[error("database error: {0}")]
    Native(String),
}

pub type Result<T, E = StoreError> = std::result::Result<T, E>;

/// A write the schema refused, as far as callers answer it differently from a fault.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Violation {
    /// A unique constraint; its name when it is one of the named ones, else "".
    Unique(&'static str),
    /// A reference to a row that does not exist.
    Reference,
}

impl StoreError {
    /// The constraint this error is the refusal of, if it is one.
    pub fn violation(&self) -> Option<Violation> {
        match self {
            Self::Conflict(name) => Some(Violation::Unique(name)),
            Self::Database(sqlx::Error::Database(db)) if db.is_unique_violation() => {
                Some(Violation::Unique(""))
            }
            Self::Database(sqlx::Error::Database(db)) if db.is_foreign_key_violation() => {
                Some(Violation::Reference)
            }
            _ => None,
        }
    }
}

/// The constraints whose violation is an expected refusal, not a fault.
const NAMED_CONSTRAINTS: &[(&str, &str)] = &[
    ("edi_inbox_files_once", "edi_inbox_files.file_hash"),
    ("edi_sent_once", "edi_sent.msg_id"),
    (
        "dispensed_doses_once",
        "dispensed_doses.patient_id, dispensed_doses.dose_date, dispensed_doses.part, dispensed_doses.generation",
    ),
    (
        "dispensing_voids_once",
        "dispensing_voids.patient_id, dispensing_voids.dose_date, dispensing_voids.part, dispensing_voids.generation",
    ),
    (
        "dispensing_corrections_once",
        "dispensing_corrections.corrects_event_id",
    ),
    (
        "dispensing_events_idempotency_key_unique",
        "dispensing_events.idempotency_key",
    ),
    ("patients_national_id_unique", "patients.national_id"),
    (
        "message_patient_receipts_once",
        "message_patient_receipts.message_id",
    ),
    ("users_username_unique", "users.username"),
    (
        "status_assessments_version_unique",
        "status_assessments.patient_id, status_assessments.version",
    ),
    (
        "status_report_signoffs_version_unique",
        "status_report_signoffs.unit_id, status_report_signoffs.year, status_report_signoffs.version",
    ),
    (
        "login_failures_once",
        "login_failures.account_kind, login_failures.account_key, login_failures.client_address",
    ),
    ("organisations_org_number_unique", "organisations.org_number"),
    ("organisations_her_id_unique", "organisations.her_id"),
    ("users_hpr_number_unique", "users.hpr_number"),
    ("organisations_name_unique", "organisations.name"),
    (
        "place_closed_days_once",
        "place_closed_days.place_id, place_closed_days.closed_on",
    ),
    (
        "user_roles_once",
        "user_roles.user_id, user_roles.organisation_id, user_roles.role",
    ),
    (
        "dose_order_signatures_version_unique",
        "dose_order_signatures.patient_id, dose_order_signatures.version",
    ),
    ("dose_order_signatures_pkey", "dose_order_signatures.order_id"),
    ("dose_order_discards_pkey", "dose_order_discards.order_id"),
    (
        "arrangements_version_unique",
        "arrangements.patient_id, arrangements.version",
    ),
    ("episode_ends_pkey", "episode_ends.episode_id"),
    ("health_notes_replaced_once", "health_notes.replaces"),
    ("messages_event_key_unique", "messages.event_key"),
    (
        "message_receipts_once",
        "message_receipts.message_id, message_receipts.organisation_id",
    ),
    ("care_meeting_minutes_pkey", "care_meeting_minutes.meeting_id"),
    (
        "care_task_statuses_seq_unique",
        "care_task_statuses.task_id, care_task_statuses.seq",
    ),
    (
        "plan_versions_version_unique",
        "plan_versions.patient_id, plan_versions.version",
    ),
    (
        "patient_identity_versions_once",
        "patient_identity_versions.patient_id, patient_identity_versions.version",
    ),
    (
        "drug_tests_version_once",
        "drug_tests.series_id, drug_tests.version",
    ),
    (
        "pharmacy_count_approvals_version_unique",
        "pharmacy_count_approvals.unit_id, pharmacy_count_approvals.pharmacy_id, pharmacy_count_approvals.month, pharmacy_count_approvals.version",
    ),
    (
        "drug_test_regimes_version_unique",
        "drug_test_regimes.patient_id, drug_test_regimes.version",
    ),
    ("edi_unplaced_resolutions_pkey", "edi_unplaced_resolutions.msg_id"),
    (
        "edi_outbox_once",
        "edi_outbox.message_id, edi_outbox.organisation_id",
    ),
    ("stock_ledger_reversed_once", "stock_ledger.reverses_line_id"),
    ("deviation_closed_once", "deviation_follow_ups.deviation_id"),
];

/// Whether SQLite refused because another connection holds the lock
/// (SQLITE_BUSY, 5, or SQLITE_LOCKED, 6, with their extended codes).
pub(crate) fn is_busy(error: &sqlx::Error) -> bool {
    match error {
        sqlx::Error::Database(db) => db
            .code()
            .and_then(|code| code.parse::<i32>().ok())
            .is_some_and(|code| matches!(code & 0xff, 5 | 6)),
        _ => false,
    }
}

/// Turns a unique-constraint violation into [`StoreError::Conflict`] with the
/// constraint's name; PostgreSQL names it, SQLite lists the columns instead.
pub fn classify(error: sqlx::Error) -> StoreError {
    if let sqlx::Error::Database(db) = &error
        && db.is_unique_violation()
    {
        if let Some(name) = db.constraint()
            && let Some((known, _)) = NAMED_CONSTRAINTS.iter().find(|(n, _)| *n == name)
        {
            return StoreError::Conflict(known);
        }
        let message = db.message();
        if let Some((known, _)) = NAMED_CONSTRAINTS.iter().find(|(_, cols)| message.ends_with(cols)) {
            return StoreError::Conflict(known);
        }
    }
    StoreError::Database(error)
}

/// Runs a statement without parameters or rows, such as a savepoint.
pub async fn execute(conn: &mut impl Fetch, statement: &str) -> Result<()> {
    conn.execute(sqlx::query(statement)).await?;
    Ok(())
}

/// How much of the SQLite file is read through a memory map: `SAMHAND_SQLITE_MMAP_MB`
/// (default 1024; 0 turns it off).
fn sqlite_mmap_bytes() -> Option<u64> {
    let megabytes = std::env::var("SAMHAND_SQLITE_MMAP_MB")
        .ok()
        .and_then(|v| v.parse::<u64>().ok())
        .unwrap_or(1024);
    (megabytes > 0).then_some(megabytes * 1024 * 1024)
}

/// Samhand's database: a pool, and the process's writer (see [`crate::group`]).
#[derive(Clone)]
pub struct Store {
    pool: AnyPool,
    backend: Backend,
    /// Write transactions queue here and commit in batches.
    writer: Arc<crate::group::Writer>,
    /// The key the audit chain is MACed with; without one, entries are chained
    /// with plain SHA-256 (tests and tools that write no real log).
    audit_key: Option<Arc<crate::anchor::AuditKey>>,
    /// On SQLite, the connections of the hot reads (see [`crate::native`]).
    native: Option<Arc<crate::native::NativeReads>>,
    /// The reads' audit entries, written together ([`crate::audit_queue`]).
    audit_queue: Arc<crate::audit_queue::AuditQueue>,
}

pub use crate::group::{WriteStats, WriteTx};

/// How long a PostgreSQL connection may lie idle in the pool before it is tested
/// with a ping when it is handed out again.
const IDLE_BEFORE_PING: Duration = Duration::from_secs(5);

impl Store {
    /// Connects to `database_url` (sqlite:… or postgres:…), with the SQLite pragmas
    /// on every connection, and runs the migrations.
    pub async fn connect(database_url: &str, max_connections: u32) -> Result<Self> {
        let store = Self::open(database_url, max_connections).await?;
        crate::migrate::run(&store).await?;
        Ok(store)
    }

    /// Connects without running the migrations: for a backup of a database a
    /// server runs on, and for checking a copy before it is restored.
    pub async fn open(database_url: &str, max_connections: u32) -> Result<Self> {
        sqlx::any::install_default_drivers();
        let backend = if database_url.starts_with("postgres") {
            Backend::Postgres
        } else if database_url.starts_with("sqlite") {
            Backend::Sqlite
        } else {
            return Err(StoreError::Migration(format!(
                "unsupported database url scheme in {database_url:?}"
            )));
        };
        let options: AnyConnectOptions = database_url.parse()?;
        let pool = AnyPoolOptions::new()
            .max_connections(if backend == Backend::Sqlite {
                max_connections.min(8)
            } else {
                max_connections
            })
            .acquire_timeout(Duration::from_secs(30))
            // The pool's default pings every connection before it hands it out: on
            // SQLite a hand-off to the connection's thread and back for nothing (the
            // file cannot hang up), on PostgreSQL a round trip per request. Only a
            // PostgreSQL connection idle long enough for the server or the network
            // to have dropped it is tested, and replaced if it does not answer.
            .test_before_acquire(false)
            .before_acquire(move |conn, meta| {
                Box::pin(async move {
                    if backend == Backend::Postgres && meta.idle_for >= IDLE_BEFORE_PING {
                        sqlx::Connection::ping(conn).await?;
                    }
                    Ok(true)
                })
            })
            .after_connect(move |conn, _meta| {
                Box::pin(async move {
                    if backend == Backend::Sqlite {
                        // Durable commits, write-ahead log, enforced references, and a
                        // wait instead of an error when another connection writes.
                        Executor::execute(&mut *conn, "PRAGMA journal_mode = WAL").await?;
                        Executor::execute(&mut *conn, "PRAGMA synchronous = FULL").await?;
                        Executor::execute(&mut *conn, "PRAGMA foreign_keys = ON").await?;
                        Executor::execute(&mut *conn, "PRAGMA busy_timeout = 10000").await?;
                        // Every commit by another connection empties a reader's own page
                        // cache (and every request commits its audit entry): reads
                        // through the memory map use the system's page cache instead.
                        if let Some(bytes) = sqlite_mmap_bytes() {
                            Executor::execute(&mut *conn, format!("PRAGMA mmap_size = {bytes}").as_str())
                                .await?;
                        }
                    }
                    Ok(())
                })
            })
            .after_release(|conn, _meta| {
                Box::pin(async move {
                    // A connection back from a request that was dropped halfway may
                    // still be inside a transaction (its rollback queued but not yet
                    // run, or lost): let the queue run, and close it if it still is,
                    // which ends the transaction and frees SQLite's write lock (H100).
                    if !sqlx::Connection::is_in_transaction(conn) {
                        return Ok(true);
                    }
                    sqlx::Connection::ping(conn).await?;
                    Ok(!sqlx::Connection::is_in_transaction(conn))
                })
            })
            .connect_with(options)
            .await?;
        let store = Self {
            writer: crate::group::Writer::new(
                pool.clone(),
                backend,
                match backend {
                    Backend::Sqlite => crate::native::database_file(database_url),
                    Backend::Postgres => None,
                },
            ),
            pool,
            backend,
            audit_key: None,
            audit_queue: Arc::default(),
            native: match backend {
                Backend::Sqlite => crate::native::NativeReads::for_url(database_url),
                Backend::Postgres => None,
            },
        };
        Ok(store)
    }

    /// The SQLite database file under the data directory.
    pub fn sqlite_url(data_dir: &std::path::Path) -> String {
        format!("sqlite://{}?mode=rwc", data_dir.join("samhand.db").display())
    }

    pub fn backend(&self) -> Backend {
        self.backend
    }

    pub fn pool(&self) -> &AnyPool {
        &self.pool
    }

    /// Whether the database answers a query.
    pub async fn ping(&self) -> Result<()> {
        let mut conn = self.pool.acquire().await?;
        sqlx::query("SELECT 1").execute(&mut *conn).await?;
        Ok(())
    }

    /// SQLite's own read connections, where the hot reads go.
    pub(crate) fn native_reads(&self) -> Option<&Arc<crate::native::NativeReads>> {
        self.native.as_ref()
    }

    /// A connection for reads.
    pub async fn read(&self) -> Result<sqlx::pool::PoolConnection<sqlx::Any>> {
        Ok(self.pool.acquire().await?)
    }

    /// A connection for the hot reads, which run on the calling thread on SQLite
    /// (see [`crate::native`]).
    pub async fn reader(&self) -> Result<crate::native::Reader> {
        match &self.native {
            Some(native) => Ok(crate::native::Reader::Native(native.connection()?)),
            None => Ok(crate::native::Reader::Pool(self.pool.acquire().await?)),
        }
    }

    /// Begins a write transaction: a part of the process's next batch of writes,
    /// all or nothing by itself, durable when its commit returns (see
    /// [`crate::group`]).
    pub async fn write(&self) -> Result<WriteTx> {
        self.writer.begin().await
    }

    /// Begins a write transaction that holds nothing but audit entries (a read's):
    /// as [`Self::write`], but on PostgreSQL too a part of the process's shared
    /// batch, so that reads take the audit chain's head once per batch rather than
    /// once each.
    pub async fn write_audit(&self) -> Result<WriteTx> {
        self.writer.begin_batched().await
    }

    /// The queue the reads' audit entries are written from.
    pub(crate) fn audit_queue(&self) -> &crate::audit_queue::AuditQueue {
        &self.audit_queue
    }

    /// Chains the audit entries that writes parked and that are still parked (a
    /// process stopped before its audit writer took them): on PostgreSQL, where
    /// writes park entries ([`crate::audit_parked`]), at a server's start.
    pub async fn chain_parked_audit_entries(&self) {
        if self.backend == Backend::Postgres {
            self.audit_queue.chain_parked(self).await;
        }
    }

    /// Waits until every write committed so far is durable and visible to reads on
    /// other connections: after a conflict, before reading who wrote first.
    pub async fn settle(&self) {
        self.writer.settle().await;
    }

    /// Batches committed by this process, and the writes in them.
    pub fn write_stats(&self) -> crate::group::WriteStats {
        self.writer.stats()
    }

    /// Reads whose audit entries wait in the queue now, not yet taken to be
    /// written (for tests that line them up).
    pub fn audit_reads_queued(&self) -> usize {
        self.audit_queue.queued()
    }

    /// Writers waiting for their turn at the batch now (for tests that line them up).
    pub fn writers_queued(&self) -> usize {
        self.writer.queued()
    }

    /// The statement that locks the audit chain's head row for this transaction.
    pub(crate) fn lock_audit_head_sql(&self) -> &'static str {
        match self.backend {
            Backend::Postgres => "SELECT seq, hash FROM audit_head WHERE id = 1 FOR UPDATE",
            Backend::Sqlite => "SELECT seq, hash FROM audit_head WHERE id = 1",
        }
    }

    /// This store with the audit key: every entry appended from now on is MACed.
    pub fn with_audit_key(mut self, key: crate::anchor::AuditKey) -> Self {
        self.audit_key = Some(Arc::new(key));
        self
    }

    pub fn audit_key(&self) -> Option<&crate::anchor::AuditKey> {
        self.audit_key.as_deref()
    }

    pub async fn close(&self) {
        self.writer.close().await;
        self.pool.close().await;
    }
}

/// Ids per query when rows of many are fetched at once: one bound JSON array each,
/// so the size only bounds the memory of one answer.
const IDS_PER_QUERY: usize = 5_000;

/// Whether the connection is to PostgreSQL (else SQLite).
pub(crate) fn is_postgres<C: Fetch + ?Sized>(conn: &C) -> bool {
    conn.backend() == Backend::Postgres
}

/// `(…), (…)`: the placeholders of a multi-row INSERT of `rows` rows of `columns`
/// values, bound in order. On SQLite they are anonymous (`?`): it looks named ones
/// up in a list, which for thousands of them costs more than the insert.
pub(crate) fn row_placeholders(conn: &impl Fetch, rows: usize, columns: usize) -> String {
    let postgres = is_postgres(conn);
    (0..rows)
        .map(|r| {
            let row: Vec<String> = (1..=columns)
                .map(|c| {
                    if postgres {
                        format!("${}", r * columns + c)
                    } else {
                        "?".into()
                    }
                })
                .collect();
            format!("({})", row.join(", "))
        })
        .collect::<Vec<_>>()
        .join(", ")
}

/// The subquery that stands for the list of ids bound as a JSON array at `$n`.
/// One bound value instead of one per id: SQLite looks bound parameters up by name
/// in a list, so a statement with hundreds of them costs time quadratic in their
/// number to bind.
fn id_list_subquery<C: Fetch + ?Sized>(conn: &C, n: usize) -> String {
    if is_postgres(conn) {
        format!("SELECT json_array_elements_text(${n}::json)")
    } else {
        format!("SELECT value FROM json_each(${n})")
    }
}

/// Rows for many patients: runs `sql`, whose `{ids}` stands for the IN list, once
/// per chunk of ids, binding `leading` (for `$1…$n` before the list) and then the ids.
pub(crate) async fn rows_for_patients(
    conn: &mut impl Fetch,
    sql: &str,
    leading: &[String],
    patients: &[samhand_domain::ids::PatientId],
) -> Result<Vec<sqlx::any::AnyRow>> {
    let ids: Vec<String> = patients.iter().map(ToString::to_string).collect();
    rows_for_ids(conn, sql, leading, &ids).await
}

/// Whether `select` (with `{ids}` as [`rows_for_patients`] takes it) has more than
/// `cap` rows: counted by the database, each chunk's statement stopping at
/// `cap + 1`, so that nothing is read into memory to find out (H103).
pub(crate) async fn more_rows_than(
    conn: &mut sqlx::AnyConnection,
    select: &str,
    leading: &[String],
    patients: &[samhand_domain::ids::PatientId],
    cap: usize,
) -> Result<bool> {
    let sql = format!(
        "SELECT COUNT(*) AS n FROM ({select} LIMIT {}) capped",
        cap.saturating_add(1)
    );
    let mut seen = 0usize;
    for row in rows_for_patients(conn, &sql, leading, patients).await? {
        let n = crate::codec::int(&row, "n")?;
        seen = seen.saturating_add(usize::try_from(n).unwrap_or(usize::MAX));
    }
    Ok(seen > cap)
}

/// Rows for many ids: runs `sql`, whose `{ids}` stands for the IN list (as in
/// `id IN ({ids})`), once per chunk of ids, binding `leading` (for `$1…$n` before
/// the list) and then the chunk.
pub(crate) async fn rows_for_ids(
    conn: &mut impl Fetch,
    sql: &str,
    leading: &[String],
    ids: &[String],
) -> Result<Vec<sqlx::any::AnyRow>> {
    let mut rows = Vec::new();
    let n = leading.len() + 1;
    // On PostgreSQL, `= ANY` of an array made from one comma-separated text: one
    // index scan for the whole list, where the JSON subquery's semi-join probes
    // the index once per id (measured: 10 ms against 23 ms for 400 patients, the
    // same for one; BENCHMARKS.md). Ids with a comma keep the JSON array.
    let as_array =
        is_postgres(conn) && !sql.contains("NOT IN ({ids})") && !ids.iter().any(|id| id.contains(','));
    // One id is compared as one: PostgreSQL plans a statement with the array
    // afresh at every run, since its generic plan expects ten ids (measured: about
    // 60 µs of PostgreSQL's time for each of an overview's reads, BENCHMARKS.md).
    let sql = if as_array && ids.len() == 1 {
        sql.replace("IN ({ids})", &format!("= ${n}"))
    } else if as_array {
        sql.replace("IN ({ids})", &format!("= ANY(string_to_array(${n}, ','))"))
    } else {
        sql.to_string()
    };
    let sql = sql.replace("{ids}", &id_list_subquery(conn, n));
    for chunk in ids.chunks(IDS_PER_QUERY) {
        let mut query = sqlx::query(&sql);
        for value in leading {
            query = query.bind(value.clone());
        }
        let list = if as_array {
            chunk.join(",")
        } else {
            serde_json::to_string(chunk).map_err(|e| StoreError::Corrupt(e.to_string()))?
        };
        rows.extend(conn.fetch_all(query.bind(list)).await?);
    }
    Ok(rows)
}
