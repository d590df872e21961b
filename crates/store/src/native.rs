//! The hot reads on SQLite, run on the calling thread (issue 16).
//!
//! sqlx's SQLite driver runs each connection on a thread of its own and hands every
//! statement, and every row of its answer, across to it and back: about thirty
//! thread switches for one patient's overview, and half the server's CPU under a
//! read load. The reads that every request or every dispensing makes go through
//! [`Fetch`] instead. On SQLite a [`Reader`] holds a connection of SQLite's own
//! library (the one sqlx already builds), and runs the same query, with the same
//! arguments, right where it is asked, into the same `Any` rows the decoders read,
//! so the store's functions keep one text of each query and one decoder for both
//! databases. On PostgreSQL a [`Reader`] is an ordinary connection of the pool.
//!
//! These connections only read (`PRAGMA query_only`), each statement on its own as
//! sqlx runs them (SQLite's autocommit), so they see what is committed, as the
//! pool's connections do; every write goes through the writer ([`crate::group`]).

use std::borrow::Cow;
use std::future::Future;
use std::path::PathBuf;
use std::str::FromStr;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use rusqlite::types::{ToSqlOutput, ValueRef};
use sqlx::any::{Any, AnyArguments, AnyRow, AnyTypeInfo, AnyTypeInfoKind, AnyValue};
use sqlx::pool::PoolConnection;
use sqlx::query::Query;
use sqlx::{AnyConnection, Execute};
use sqlx_core::any::{AnyColumn, AnyValueKind};
use sqlx_core::ext::ustr::UStr;

use crate::db::{Backend, Result, StoreError, classify};

/// A query of the store, as it is written for sqlx: its text and its arguments.
pub type AnyQuery<'q> = Query<'q, Any, AnyArguments<'q>>;

/// Runs a query and answers its rows: through sqlx on a connection of the pool or a
/// transaction, or right here on a [`Reader`]'s own SQLite connection.
pub trait Fetch: Send {
    fn fetch_all<'q>(&mut self, query: AnyQuery<'q>) -> impl Future<Output = Result<Vec<AnyRow>>> + Send;

    fn fetch_optional<'q>(
        &mut self,
        query: AnyQuery<'q>,
    ) -> impl Future<Output = Result<Option<AnyRow>>> + Send;

    /// Runs a statement to its end and answers the rows it changed.
    fn execute<'q>(&mut self, query: AnyQuery<'q>) -> impl Future<Output = Result<u64>> + Send;

    /// Which database answers: the store writes a few queries per database.
    fn backend(&self) -> Backend;

    /// The one row the query answers; an error when it answers none.
    fn fetch_one<'q>(&mut self, query: AnyQuery<'q>) -> impl Future<Output = Result<AnyRow>> + Send {
        async move {
            self.fetch_optional(query)
                .await?
                .ok_or(StoreError::Database(sqlx::Error::RowNotFound))
        }
    }
}

/// A query run on any [`Fetch`]: `sqlx::query(…).bind(…).fetch_all_on(conn)`, as
/// sqlx's own `fetch_all(conn)` runs it on a connection of the pool.
pub trait FetchOn<'q> {
    fn fetch_all_on<C: Fetch>(self, conn: &mut C) -> impl Future<Output = Result<Vec<AnyRow>>> + Send;
    fn fetch_optional_on<C: Fetch>(self, conn: &mut C)
    -> impl Future<Output = Result<Option<AnyRow>>> + Send;
    fn fetch_one_on<C: Fetch>(self, conn: &mut C) -> impl Future<Output = Result<AnyRow>> + Send;
    fn execute_on<C: Fetch>(self, conn: &mut C) -> impl Future<Output = Result<u64>> + Send;
}

impl<'q> FetchOn<'q> for AnyQuery<'q> {
    fn fetch_all_on<C: Fetch>(self, conn: &mut C) -> impl Future<Output = Result<Vec<AnyRow>>> + Send {
        conn.fetch_all(self)
    }

    fn fetch_optional_on<C: Fetch>(
        self,
        conn: &mut C,
    ) -> impl Future<Output = Result<Option<AnyRow>>> + Send {
        conn.fetch_optional(self)
    }

    fn fetch_one_on<C: Fetch>(self, conn: &mut C) -> impl Future<Output = Result<AnyRow>> + Send {
        conn.fetch_one(self)
    }

    fn execute_on<C: Fetch>(self, conn: &mut C) -> impl Future<Output = Result<u64>> + Send {
        conn.execute(self)
    }
}

fn backend_of(conn: &AnyConnection) -> Backend {
    if conn.backend_name().eq_ignore_ascii_case("postgresql") {
        Backend::Postgres
    } else {
        Backend::Sqlite
    }
}

impl Fetch for AnyConnection {
    fn backend(&self) -> Backend {
        backend_of(self)
    }

    async fn fetch_all<'q>(&mut self, query: AnyQuery<'q>) -> Result<Vec<AnyRow>> {
        query.fetch_all(self).await.map_err(classify)
    }

    async fn fetch_optional<'q>(&mut self, query: AnyQuery<'q>) -> Result<Option<AnyRow>> {
        query.fetch_optional(self).await.map_err(classify)
    }

    async fn execute<'q>(&mut self, query: AnyQuery<'q>) -> Result<u64> {
        Ok(query.execute(self).await.map_err(classify)?.rows_affected())
    }
}

/// A connection for the hot reads: SQLite's own on SQLite, the pool's on
/// PostgreSQL (see the module's text).
pub enum Reader {
    Pool(PoolConnection<Any>),
    Native(NativeConn),
}

/// `Fetch` for a type whose statements run on a `Fetch` it holds: `backend` and
/// `inner` name the held one (for `&self` and `&mut self`).
macro_rules! fetch_through {
    ($ty:ty, backend: |$b:ident| $backend:expr, inner: |$s:ident| $inner:expr) => {
        impl $crate::native::Fetch for $ty {
            fn backend(&self) -> $crate::db::Backend {
                let $b = self;
                $backend
            }

            fn fetch_all<'q>(
                &mut self,
                query: $crate::native::AnyQuery<'q>,
            ) -> impl std::future::Future<Output = $crate::db::Result<Vec<sqlx::any::AnyRow>>> + Send {
                let $s = self;
                $crate::native::Fetch::fetch_all($inner, query)
            }

            fn fetch_optional<'q>(
                &mut self,
                query: $crate::native::AnyQuery<'q>,
            ) -> impl std::future::Future<Output = $crate::db::Result<Option<sqlx::any::AnyRow>>> + Send {
                let $s = self;
                $crate::native::Fetch::fetch_optional($inner, query)
            }

            fn execute<'q>(
                &mut self,
                query: $crate::native::AnyQuery<'q>,
            ) -> impl std::future::Future<Output = $crate::db::Result<u64>> + Send {
                let $s = self;
                $crate::native::Fetch::execute($inner, query)
            }
        }
    };
}
pub(crate) use fetch_through;

fetch_through!(PoolConnection<Any>, backend: |c| backend_of(c), inner: |c| &mut **c);

impl Reader {
    /// Makes the reads that follow on SQLite's own connection one snapshot, until
    /// the reader is dropped: SQLite checks its log for other connections' commits
    /// (and, after one, reads every page anew) once, not at each statement. On
    /// PostgreSQL each statement keeps its own snapshot, as before.
    pub fn hold_snapshot(&mut self) -> Result<()> {
        match self {
            Reader::Pool(_) => Ok(()),
            Reader::Native(conn) => conn.conn().execute_batch("BEGIN").map_err(native),
        }
    }
}

impl Fetch for Reader {
    fn backend(&self) -> Backend {
        match self {
            Reader::Pool(conn) => conn.backend(),
            Reader::Native(_) => Backend::Sqlite,
        }
    }

    async fn fetch_all<'q>(&mut self, query: AnyQuery<'q>) -> Result<Vec<AnyRow>> {
        match self {
            Reader::Pool(conn) => conn.fetch_all(query).await,
            Reader::Native(conn) => conn.rows(query, None),
        }
    }

    async fn fetch_optional<'q>(&mut self, query: AnyQuery<'q>) -> Result<Option<AnyRow>> {
        match self {
            Reader::Pool(conn) => conn.fetch_optional(query).await,
            Reader::Native(conn) => Ok(conn.rows(query, Some(1))?.into_iter().next()),
        }
    }

    async fn execute<'q>(&mut self, query: AnyQuery<'q>) -> Result<u64> {
        match self {
            Reader::Pool(conn) => conn.execute(query).await,
            // Refused by SQLite: a native reader only reads.
            Reader::Native(conn) => execute(conn.conn(), query),
        }
    }
}

/// The idle connections of SQLite's own library to the database file.
pub(crate) struct NativeReads {
    path: PathBuf,
    idle: Mutex<Vec<rusqlite::Connection>>,
    /// Where the connections opened from now on write the names of the tables
    /// their statements read, when a test asks ([`Self::watch_tables`]).
    watched: Mutex<Option<TablesRead>>,
}

/// The names of the tables read, as [`crate::testing::watch_tables_read`] records them.
pub type TablesRead = Arc<Mutex<std::collections::BTreeSet<String>>>;

/// The target of the event each native statement logs, as sqlx logs its own under
/// `sqlx::query`.
pub const STATEMENT_EVENTS: &str = "samhand_store::native";

/// At most this many idle connections are kept; more are opened while many
/// requests read at once, and closed when they are handed back.
const MAX_IDLE: usize = 4;

/// The file a SQLite database URL (`sqlite://path?…`) names; none for a database
/// in memory, which another connection cannot open.
pub(crate) fn database_file(database_url: &str) -> Option<PathBuf> {
    let rest = database_url
        .strip_prefix("sqlite://")
        .or_else(|| database_url.strip_prefix("sqlite:"))?;
    let (path, options) = rest.split_once('?').unwrap_or((rest, ""));
    if path.is_empty() || path.contains(":memory:") || options.contains("mode=memory") {
        return None;
    }
    // The file as sqlx's pool opens it: its parser drops a `#…` and decodes `%XX`.
    let parsed = sqlx::sqlite::SqliteConnectOptions::from_str(database_url).ok()?;
    Some(parsed.get_filename().to_path_buf())
}

impl NativeReads {
    /// For a database URL naming a file (`sqlite://path?…`); none for one in memory,
    /// which another connection cannot open.
    pub(crate) fn for_url(database_url: &str) -> Option<Arc<Self>> {
        Some(Arc::new(Self {
            path: database_file(database_url)?,
            idle: Mutex::new(Vec::new()),
            watched: Mutex::new(None),
        }))
    }

    /// From now on, every read connection records the tables its statements read
    /// (SQLite's authorizer, called as a statement is prepared): the idle ones are
    /// not used again, so that each statement is prepared on a watched connection.
    pub(crate) fn watch_tables(&self) -> TablesRead {
        let tables = TablesRead::default();
        *self.watched.lock().unwrap_or_else(|e| e.into_inner()) = Some(tables.clone());
        tables
    }

    pub(crate) fn connection(self: &Arc<Self>) -> Result<NativeConn> {
        // While a test watches, each read opens a connection of its own: one
        // handed back by a read that began before the watch is not watched.
        let watching = self.watched.lock().unwrap_or_else(|e| e.into_inner()).is_some();
        let idle = if watching {
            None
        } else {
            self.idle.lock().unwrap_or_else(|e| e.into_inner()).pop()
        };
        let conn = match idle {
            Some(conn) => conn,
            None => self.open()?,
        };
        Ok(NativeConn {
            conn: Some(conn),
            reads: self.clone(),
        })
    }

    fn open(&self) -> Result<rusqlite::Connection> {
        // A page cache of its own outlives no commit by another connection (and
        // every request commits its audit entry): a small one holds what one read
        // touches (SQLite's default is 2 MB).
        let conn = open_file(&self.path, Duration::from_secs(10), 512, 32)?;
        conn.pragma_update(None, "query_only", true).map_err(native)?;
        if let Some(tables) = self.watched.lock().unwrap_or_else(|e| e.into_inner()).clone() {
            conn.authorizer(Some(move |context: rusqlite::hooks::AuthContext<'_>| {
                if let rusqlite::hooks::AuthAction::Read { table_name, .. } = context.action {
                    tables
                        .lock()
                        .unwrap_or_else(|e| e.into_inner())
                        .insert(table_name.to_string());
                }
                rusqlite::hooks::Authorization::Allow
            }));
        }
        Ok(conn)
    }
}

/// A connection of SQLite's own library to the database file, as the readers and
/// the writer ([`crate::batch_tx`]) open theirs: waiting `busy_wait` for another
/// connection's lock, a page cache of `cache_kib`, `statements` kept prepared, and
/// no memory map. Every request commits its audit entry, and a connection that maps
/// the file unmaps it at its next read after any commit: reading the changed pages
/// anew costs less (0.64 against 0.71 ms of CPU per overview, BENCHMARKS.md).
pub(crate) fn open_file(
    path: &std::path::Path,
    busy_wait: Duration,
    cache_kib: i64,
    statements: usize,
) -> Result<rusqlite::Connection> {
    use rusqlite::OpenFlags;
    let conn = rusqlite::Connection::open_with_flags(
        path,
        OpenFlags::SQLITE_OPEN_READ_WRITE | OpenFlags::SQLITE_OPEN_NO_MUTEX,
    )
    .map_err(native)?;
    conn.busy_timeout(busy_wait).map_err(native)?;
    conn.pragma_update(None, "mmap_size", 0).map_err(native)?;
    conn.pragma_update(None, "cache_size", -cache_kib)
        .map_err(native)?;
    conn.set_prepared_statement_cache_capacity(statements);
    Ok(conn)
}

/// A connection of SQLite's own library, handed back to the idle ones when dropped.
pub struct NativeConn {
    conn: Option<rusqlite::Connection>,
    reads: Arc<NativeReads>,
}

impl Drop for NativeConn {
    fn drop(&mut self) {
        if let Some(conn) = self.conn.take() {
            // A snapshot held ([`Reader::hold_snapshot`]) ends here; a connection
            // that cannot end it is closed, not handed to the next read.
            if !conn.is_autocommit() && conn.execute_batch("ROLLBACK").is_err() {
                return;
            }
            let mut idle = self.reads.idle.lock().unwrap_or_else(|e| e.into_inner());
            if idle.len() < MAX_IDLE {
                idle.push(conn);
            }
        }
    }
}

impl NativeConn {
    fn conn(&self) -> &rusqlite::Connection {
        self.conn.as_ref().expect("a connection until dropped")
    }

    fn rows(&mut self, query: AnyQuery<'_>, limit: Option<usize>) -> Result<Vec<AnyRow>> {
        rows(self.conn(), query, limit)
    }
}

/// A statement prepared (or taken from the connection's cache) with the query's
/// arguments bound as sqlx binds them: `$N` and `?N` by number, a bare `?` by
/// position; SQLite reads a parameter left unbound as NULL, and sqlx leaves them so.
fn prepared<'c>(
    conn: &'c rusqlite::Connection,
    query: &mut AnyQuery<'_>,
) -> Result<rusqlite::CachedStatement<'c>> {
    let sql = query.sql();
    let arguments = query
        .take_arguments()
        .map_err(|e| StoreError::Corrupt(format!("the arguments of a query: {e}")))?;
    let values = arguments.map(|a| a.values.0).unwrap_or_default();
    let mut statement = conn.prepare_cached(sql).map_err(native)?;
    let mut positional = 0;
    for index in 1..=statement.parameter_count() {
        let number = match statement.parameter_name(index) {
            Some(name) => name
                .strip_prefix(['$', '?'])
                .and_then(|n| n.parse::<usize>().ok())
                .ok_or_else(|| StoreError::Corrupt(format!("an unsupported parameter {name}")))?,
            None => {
                positional += 1;
                positional
            }
        };
        let Some(value) = values.get(number - 1) else {
            break;
        };
        statement
            .raw_bind_parameter(index, sql_value(value)?)
            .map_err(native)?;
    }
    Ok(statement)
}

/// Runs the query on this thread and answers at most `limit` rows as `Any` rows of
/// the values' own types, as sqlx's driver does.
pub(crate) fn rows(
    conn: &rusqlite::Connection,
    mut query: AnyQuery<'_>,
    limit: Option<usize>,
) -> Result<Vec<AnyRow>> {
    let sql = query.sql();
    let mut statement = prepared(conn, &mut query)?;
    let shape = Shape::of(&statement.column_names());
    let mut rows = statement.raw_query();
    let mut out = Vec::new();
    while limit.is_none_or(|limit| out.len() < limit) {
        let Some(row) = rows.next().map_err(native)? else {
            break;
        };
        let values = (0..shape.columns.len())
            .map(|i| row.get_ref(i).map_err(native).and_then(any_value))
            .collect::<Result<Vec<_>>>()?;
        out.push(AnyRow {
            column_names: shape.names.clone(),
            columns: shape.columns.clone(),
            values,
        });
    }
    // As sqlx logs each statement it runs (the bench counts both).
    tracing::debug!(target: STATEMENT_EVENTS, { db.statement = sql, rows_returned = out.len() }, "statement");
    Ok(out)
}

/// Runs the statement to its end on this thread (the rows of a `RETURNING` are
/// passed over, as sqlx's `execute` does) and answers the rows it changed.
pub(crate) fn execute(conn: &rusqlite::Connection, mut query: AnyQuery<'_>) -> Result<u64> {
    let sql = query.sql();
    let mut statement = prepared(conn, &mut query)?;
    let mut rows = statement.raw_query();
    while rows.next().map_err(native)?.is_some() {}
    drop(rows);
    let changed = conn.changes();
    tracing::debug!(target: STATEMENT_EVENTS, { db.statement = sql, rows_affected = changed }, "statement");
    Ok(changed)
}

/// An argument as SQLite binds it.
fn sql_value<'a>(value: &'a AnyValueKind<'_>) -> Result<ToSqlOutput<'a>> {
    use rusqlite::types::Value;
    Ok(match value {
        AnyValueKind::Null(_) => ToSqlOutput::Owned(Value::Null),
        AnyValueKind::Bool(b) => ToSqlOutput::Owned(Value::Integer(i64::from(*b))),
        AnyValueKind::SmallInt(i) => ToSqlOutput::Owned(Value::Integer(i64::from(*i))),
        AnyValueKind::Integer(i) => ToSqlOutput::Owned(Value::Integer(i64::from(*i))),
        AnyValueKind::BigInt(i) => ToSqlOutput::Owned(Value::Integer(*i)),
        AnyValueKind::Real(f) => ToSqlOutput::Owned(Value::Real(f64::from(*f))),
        AnyValueKind::Double(f) => ToSqlOutput::Owned(Value::Real(*f)),
        AnyValueKind::Text(text) => ToSqlOutput::Borrowed(ValueRef::Text(text.as_bytes())),
        AnyValueKind::Blob(bytes) => ToSqlOutput::Borrowed(ValueRef::Blob(bytes)),
        other => {
            return Err(StoreError::Corrupt(format!(
                "an argument sqlx added since: {other:?}"
            )));
        }
    })
}

/// The columns of an answer as its `Any` rows name them: built once per list of
/// column names on each thread, with each name stored once for the process, so
/// that a row's columns are a copy of plain values. Built afresh for every
/// statement, they were two allocations per column and an atomic count per
/// column and row (the overview's one statement has about 75 columns; issue 16).
struct Shape {
    columns: Vec<AnyColumn>,
    names: Arc<sqlx_core::HashMap<UStr, usize>>,
}

/// Shapes kept per thread, at most: beyond it they are built anew.
const MAX_SHAPES: usize = 512;

thread_local! {
    static SHAPES: std::cell::RefCell<std::collections::HashMap<u64, Vec<std::rc::Rc<Shape>>>> =
        std::cell::RefCell::default();
}

impl Shape {
    /// The shape of an answer with these column names.
    fn of(names: &[&str]) -> std::rc::Rc<Shape> {
        use std::hash::{Hash, Hasher};
        let mut hasher = std::collections::hash_map::DefaultHasher::new();
        names.hash(&mut hasher);
        let key = hasher.finish();
        SHAPES.with(|shapes| {
            let mut shapes = shapes.borrow_mut();
            let same = |shape: &&std::rc::Rc<Shape>| {
                shape.columns.len() == names.len()
                    && shape.columns.iter().zip(names).all(|(c, n)| &*c.name == *n)
            };
            if let Some(found) = shapes.get(&key).and_then(|kept| kept.iter().find(same)) {
                return found.clone();
            }
            if shapes.len() >= MAX_SHAPES {
                shapes.clear();
            }
            let shape = std::rc::Rc::new(Shape::new(names));
            shapes.entry(key).or_default().push(shape.clone());
            shape
        })
    }

    fn new(names: &[&str]) -> Shape {
        let names: Vec<UStr> = names.iter().map(|name| UStr::Static(interned(name))).collect();
        Shape {
            columns: names
                .iter()
                .enumerate()
                .map(|(ordinal, name)| AnyColumn {
                    ordinal,
                    name: name.clone(),
                    type_info: AnyTypeInfo {
                        kind: AnyTypeInfoKind::Null,
                    },
                })
                .collect(),
            names: Arc::new(
                names
                    .into_iter()
                    .enumerate()
                    .map(|(ordinal, name)| (name, ordinal))
                    .collect(),
            ),
        }
    }
}

/// A column name, stored once for the life of the process: the names are those
/// of the store's own statements, a set fixed by its code.
fn interned(name: &str) -> &'static str {
    static NAMES: Mutex<Option<std::collections::HashSet<&'static str>>> = Mutex::new(None);
    let mut names = NAMES.lock().expect("the column names' lock");
    let names = names.get_or_insert_with(Default::default);
    if let Some(known) = names.get(name) {
        return known;
    }
    let name: &'static str = Box::leak(name.to_owned().into_boxed_str());
    names.insert(name);
    name
}

/// A value as sqlx's SQLite driver gives it to an `Any` row: by the value's own
/// type (SQLite's columns have none), text as UTF-8.
fn any_value(value: ValueRef<'_>) -> Result<AnyValue> {
    let kind = match value {
        ValueRef::Null => AnyValueKind::Null(AnyTypeInfoKind::Null),
        ValueRef::Integer(i) => AnyValueKind::BigInt(i),
        ValueRef::Real(f) => AnyValueKind::Double(f),
        ValueRef::Text(bytes) => AnyValueKind::Text(Cow::Owned(
            std::str::from_utf8(bytes)
                .map_err(|e| StoreError::Corrupt(format!("text that is not UTF-8: {e}")))?
                .to_owned(),
        )),
        ValueRef::Blob(bytes) => AnyValueKind::Blob(Cow::Owned(bytes.to_vec())),
    };
    Ok(AnyValue { kind })
}

/// SQLite's refusal as sqlx's SQLite driver reports it: a database error with the
/// extended result code and SQLite's message, so that a unique or foreign-key
/// violation, or a busy database, is told apart as it is on sqlx's connections.
pub(crate) fn native(error: rusqlite::Error) -> StoreError {
    match error {
        rusqlite::Error::SqliteFailure(failure, message) => {
            let message = message.unwrap_or_else(|| failure.to_string());
            crate::db::classify(sqlx::Error::Database(Box::new(SqliteRefusal {
                code: failure.extended_code,
                message,
            })))
        }
        other => StoreError::Native(other.to_string()),
    }
}

/// An error of SQLite's own library, as a database error of sqlx.
#[derive(Debug)]
struct SqliteRefusal {
    code: std::ffi::c_int,
    message: String,
}

impl std::fmt::Display for SqliteRefusal {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        // As sqlx shows SQLite's errors.
        write!(f, "(code: {}) {}", self.code, self.message)
    }
}

impl std::error::Error for SqliteRefusal {}

impl sqlx::error::DatabaseError for SqliteRefusal {
    fn message(&self) -> &str {
        &self.message
    }

    fn code(&self) -> Option<Cow<'_, str>> {
        Some(self.code.to_string().into())
    }

    fn as_error(&self) -> &(dyn std::error::Error + Send + Sync + 'static) {
        self
    }

    fn as_error_mut(&mut self) -> &mut (dyn std::error::Error + Send + Sync + 'static) {
        self
    }

    fn into_error(self: Box<Self>) -> Box<dyn std::error::Error + Send + Sync + 'static> {
        self
    }

    fn kind(&self) -> sqlx::error::ErrorKind {
        use rusqlite::ffi;
        use sqlx::error::ErrorKind;
        match self.code {
            ffi::SQLITE_CONSTRAINT_UNIQUE | ffi::SQLITE_CONSTRAINT_PRIMARYKEY => ErrorKind::UniqueViolation,
            ffi::SQLITE_CONSTRAINT_FOREIGNKEY => ErrorKind::ForeignKeyViolation,
            ffi::SQLITE_CONSTRAINT_NOTNULL => ErrorKind::NotNullViolation,
            ffi::SQLITE_CONSTRAINT_CHECK => ErrorKind::CheckViolation,
            _ => ErrorKind::Other,
        }
    }
}

#[cfg(test)]
mod tests {
    use sqlx::{Row, TypeInfo, ValueRef as _};

    use super::*;
    use crate::Store;

    /// A row's values as text, by each value's own type, NULL whatever its kind.
    fn shown(row: &AnyRow) -> Vec<String> {
        (0..row.len())
            .map(|i| {
                let value = row.try_get_raw(i).expect("value");
                if value.is_null() {
                    return "NULL".to_owned();
                }
                match value.type_info().name() {
                    "BIGINT" => format!("int {}", row.get::<i64, _>(i)),
                    "DOUBLE" => format!("real {}", row.get::<f64, _>(i)),
                    "TEXT" => format!("text {:?}", row.get::<String, _>(i)),
                    "BLOB" => format!("blob {:?}", row.get::<Vec<u8>, _>(i)),
                    other => other.to_string(),
                }
            })
            .chain(
                row.columns()
                    .iter()
                    .map(|c| format!("column {}", sqlx::Column::name(c))),
            )
            .collect()
    }

    #[tokio::test]
    async fn a_native_read_answers_the_rows_and_binds_the_arguments_as_sqlx_does() {
        let dir = tempfile::tempdir().expect("tempdir");
        let store = Store::connect(&Store::sqlite_url(dir.path()), 2)
            .await
            .expect("store");
        let mut setup = store.read().await.expect("conn");
        sqlx::query("CREATE TABLE t (name TEXT, n INTEGER, x REAL, bytes BLOB, note TEXT)")
            .execute(&mut *setup)
            .await
            .expect("table");
        sqlx::query(
            "INSERT INTO t VALUES ('a', 1, 0.5, x'00ff', NULL), ('bø', 2, NULL, NULL, 'å æ'), \
             ('c', 3, -2.25, x'', ''), ('d', 4, 1e300, x'01', 'x')",
        )
        .execute(&mut *setup)
        .await
        .expect("rows");
        drop(setup);
        let mut native = store.reader().await.expect("reader");
        assert!(matches!(native, Reader::Native(_)), "SQLite reads natively");
        let mut pool = Reader::Pool(store.read().await.expect("conn"));
        let queries = || {
            [
                // Numbered out of order and used twice, as the store writes them.
                sqlx::query("SELECT name, n, x, bytes, note FROM t WHERE n >= $2 AND name <> $1 OR n = $2 ORDER BY n")
                    .bind("c")
                    .bind(2_i64),
                sqlx::query("SELECT ? AS first, ? AS second, ? AS third, ? AS unbound")
                    .bind("én")
                    .bind(Option::<String>::None)
                    .bind(true),
                sqlx::query("SELECT count(*) AS rows, sum(x) AS total FROM t WHERE name IN (SELECT value FROM json_each($1))")
                    .bind(r#"["a","bø","zz"]"#),
                sqlx::query("SELECT name FROM t WHERE n > $1").bind(99_i64),
                // The same names in another order, and other names as many: each
                // answer is named as its own statement names it (the shapes kept).
                sqlx::query("SELECT n AS a, name AS b FROM t ORDER BY n"),
                sqlx::query("SELECT name AS b, n AS a FROM t ORDER BY n"),
                sqlx::query("SELECT n AS b, name AS c FROM t ORDER BY n"),
            ]
        };
        for (from_pool, from_native) in queries().into_iter().zip(queries()) {
            let expected: Vec<_> = pool
                .fetch_all(from_pool)
                .await
                .expect("pool")
                .iter()
                .map(shown)
                .collect();
            let got: Vec<_> = native
                .fetch_all(from_native)
                .await
                .expect("native")
                .iter()
                .map(shown)
                .collect();
            assert_eq!(got, expected);
        }
        assert_eq!(
            native
                .fetch_all(sqlx::query("SELECT name FROM t WHERE n >= $1").bind(2_i64))
                .await
                .expect("rows")
                .len(),
            3,
            "the test reads what it wrote"
        );
        for sql in [
            "SELECT n AS a, name AS b FROM t ORDER BY n",
            "SELECT name AS b, n AS a FROM t ORDER BY n",
        ] {
            let rows = native.fetch_all(sqlx::query(sql)).await.expect("rows");
            let by_name: Vec<(i64, String)> = rows.iter().map(|r| (r.get("a"), r.get("b"))).collect();
            assert_eq!(by_name[0], (1, "a".to_string()), "{sql}");
        }
        let first = native
            .fetch_optional(sqlx::query("SELECT name FROM t ORDER BY n DESC"))
            .await
            .expect("one row")
            .map(|row| row.get::<String, _>("name"));
        assert_eq!(first.as_deref(), Some("d"));
        let refused = native
            .fetch_all(sqlx::query("INSERT INTO t (name) VALUES ('e')"))
            .await;
        assert!(refused.is_err(), "a native connection only reads");
    }
}
