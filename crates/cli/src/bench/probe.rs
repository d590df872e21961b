//! What the bench reads about the process it measures: the CPU time of the server's
//! threads, the resident memory, and the SQL statements the server runs.

use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};

use samhand_server::memory::status_mb;
use tracing::Metadata;
use tracing_subscriber::filter::DynFilterFn;
use tracing_subscriber::layer::{Context, Layer};

/// The name the bench gives the server runtime's threads.
pub const SERVER_THREADS: &str = "samhand-srv";

/// Clock ticks per second of /proc's CPU times (USER_HZ, 100 on Linux).
const TICKS_PER_SECOND: f64 = 100.0;

/// CPU seconds (user and system) used so far by the server's threads: the runtime's
/// workers and blocking threads, and SQLite's connection threads (where SQLite's
/// work is done). PostgreSQL's own processes are not counted.
pub fn server_cpu_seconds() -> f64 {
    let Ok(tasks) = std::fs::read_dir("/proc/self/task") else {
        return 0.0;
    };
    let mut ticks = 0u64;
    for task in tasks.flatten() {
        let comm = std::fs::read_to_string(task.path().join("comm")).unwrap_or_default();
        let comm = comm.trim();
        if !(comm.starts_with(SERVER_THREADS) || comm.starts_with("sqlx-sqlite")) {
            continue;
        }
        let stat = std::fs::read_to_string(task.path().join("stat")).unwrap_or_default();
        // After "pid (comm) ": state is field 0, utime field 11, stime field 12.
        let Some((_, rest)) = stat.rsplit_once(')') else {
            continue;
        };
        let fields: Vec<&str> = rest.split_whitespace().collect();
        let field = |i: usize| fields.get(i).and_then(|v| v.parse::<u64>().ok()).unwrap_or(0);
        ticks += field(11) + field(12);
    }
    ticks as f64 / TICKS_PER_SECOND
}

/// The process's resident memory, in MB.
pub fn rss_mb() -> f64 {
    status_mb("VmRSS")
}

/// Of the resident memory, what the process allocated (heap, stacks), in MB.
pub fn rss_anon_mb() -> f64 {
    status_mb("RssAnon")
}

/// Of the resident memory, the pages of mapped files (the binary, and the SQLite
/// database read through its memory map), in MB: the system's page cache, shared.
pub fn rss_file_mb() -> f64 {
    status_mb("RssFile")
}

/// Resets the process's peak resident memory, so that [`peak_rss_mb`] tells the
/// peak of what follows (Linux: `5` to /proc/self/clear_refs).
pub fn reset_peak_rss() {
    let _ = std::fs::write("/proc/self/clear_refs", "5");
}

/// The process's peak resident memory since the last [`reset_peak_rss`], in MB.
pub fn peak_rss_mb() -> f64 {
    status_mb("VmHWM")
}

static COUNTING: AtomicBool = AtomicBool::new(false);
static STATEMENTS: AtomicU64 = AtomicU64::new(0);

/// A tracing layer that counts the statement events (sqlx's and the store's own) while counting is on (and
/// asks sqlx for them only then, so the other phases pay nothing).
pub fn statement_counter<S>() -> impl Layer<S>
where
    S: tracing::Subscriber + for<'a> tracing_subscriber::registry::LookupSpan<'a>,
{
    let filter = DynFilterFn::new(|metadata: &Metadata<'_>, _| {
        is_statement(metadata) && COUNTING.load(Ordering::Relaxed)
    })
    .with_callsite_filter(|metadata| {
        if is_statement(metadata) {
            tracing::subscriber::Interest::sometimes()
        } else {
            tracing::subscriber::Interest::never()
        }
    });
    Counter.with_filter(filter)
}

/// sqlx's event for each statement it runs, and the store's for each it runs on
/// SQLite's own connection (`samhand_store::native`).
fn is_statement(metadata: &Metadata<'_>) -> bool {
    metadata.target() == "sqlx::query" || metadata.target() == samhand_store::native::STATEMENT_EVENTS
}

struct Counter;

impl<S: tracing::Subscriber> Layer<S> for Counter {
    fn on_event(&self, event: &tracing::Event<'_>, _ctx: Context<'_, S>) {
        STATEMENTS.fetch_add(1, Ordering::Relaxed);
        if std::env::var_os(LIST_STATEMENTS).is_some() {
            let mut statement = Statement::default();
            event.record(&mut statement);
            eprintln!(
                "statement: {}",
                statement.0.split_whitespace().collect::<Vec<_>>().join(" ")
            );
        }
    }
}

/// Set (to anything), the bench prints every statement it counts to stderr, one a
/// line: where a request's statements go.
const LIST_STATEMENTS: &str = "SAMHAND_BENCH_LIST_STATEMENTS";

/// The SQL text of one of sqlx's statement events (its summary when the text is
/// not logged).
#[derive(Default)]
struct Statement(String);

impl tracing::field::Visit for Statement {
    fn record_str(&mut self, field: &tracing::field::Field, value: &str) {
        if field.name() == "db.statement" && !value.trim().is_empty()
            || field.name() == "summary" && self.0.is_empty()
        {
            self.0 = value.to_owned();
        }
    }

    fn record_debug(&mut self, field: &tracing::field::Field, value: &dyn std::fmt::Debug) {
        if field.name() == "db.statement" || field.name() == "summary" && self.0.is_empty() {
            let text = format!("{value:?}");
            if !text.trim().is_empty() {
                self.0 = text;
            }
        }
    }
}

/// Counts the statements `work` makes the server run (nothing else may run then).
pub async fn statements_of<F, T>(work: F) -> (u64, T)
where
    F: std::future::Future<Output = T>,
{
    STATEMENTS.store(0, Ordering::Relaxed);
    COUNTING.store(true, Ordering::Relaxed);
    let result = work.await;
    COUNTING.store(false, Ordering::Relaxed);
    (STATEMENTS.load(Ordering::Relaxed), result)
}
