//! What operators see: a request id on every request (taken from `x-request-id`
//! when it is a sane token, else made) in its log span and echoed in the answer;
//! `/metrics` in the Prometheus text format (requests, latency, errors, the
//! database pool, the scheduler); `/healthz` (alive) and `/readyz` (the database
//! answers and every migration of this build is applied unchanged). The labels are
//! bounded: method and status, never a path with an id in it.

use std::collections::BTreeMap;
use std::fmt::Write as _;
use std::sync::Mutex;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Instant;

use axum::extract::{Request, State};
use axum::http::{HeaderValue, StatusCode, header};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use tracing::Instrument;

use crate::AppState;

/// The latency histogram's upper bounds, in seconds.
const BUCKETS: [f64; 11] = [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0];

/// The counters of one server, since it started.
#[derive(Debug, Default)]
pub struct Metrics {
    requests: Mutex<BTreeMap<(&'static str, u16), u64>>,
    /// Counts per bucket of [`BUCKETS`] (not cumulative), and above the last.
    latency: [AtomicU64; BUCKETS.len() + 1],
    latency_micros: AtomicU64,
    errors: AtomicU64,
    pub scheduler_runs: AtomicU64,
    pub scheduler_failures: AtomicU64,
}

fn method_label(method: &axum::http::Method) -> &'static str {
    match method.as_str() {
        "GET" => "GET",
        "POST" => "POST",
        "PUT" => "PUT",
        "PATCH" => "PATCH",
        "DELETE" => "DELETE",
        "HEAD" => "HEAD",
        "OPTIONS" => "OPTIONS",
        _ => "OTHER",
    }
}

impl Metrics {
    fn record(&self, method: &'static str, status: u16, seconds: f64) {
        if let Ok(mut requests) = self.requests.lock() {
            *requests.entry((method, status)).or_default() += 1;
        }
        let bucket = BUCKETS
            .iter()
            .position(|b| seconds <= *b)
            .unwrap_or(BUCKETS.len());
        self.latency[bucket].fetch_add(1, Ordering::Relaxed);
        self.latency_micros
            .fetch_add((seconds * 1_000_000.0) as u64, Ordering::Relaxed);
        if status >= 500 {
            self.errors.fetch_add(1, Ordering::Relaxed);
        }
    }

    /// The Prometheus text exposition (version 0.0.4).
    pub fn render(&self, pool_size: u32, pool_idle: usize) -> String {
        let mut out = String::new();
        let _ = writeln!(
            out,
            "# HELP samhand_http_requests_total HTTP requests answered, by method and status."
        );
        let _ = writeln!(out, "# TYPE samhand_http_requests_total counter");
        if let Ok(requests) = self.requests.lock() {
            for ((method, status), n) in requests.iter() {
                let _ = writeln!(
                    out,
                    "samhand_http_requests_total{{method=\"{method}\",status=\"{status}\"}} {n}"
                );
            }
        }
        let _ = writeln!(
            out,
            "# HELP samhand_http_request_duration_seconds Time to answer a request."
        );
        let _ = writeln!(out, "# TYPE samhand_http_request_duration_seconds histogram");
        let mut cumulative = 0;
        for (i, bound) in BUCKETS.iter().enumerate() {
            cumulative += self.latency[i].load(Ordering::Relaxed);
            let _ = writeln!(
                out,
                "samhand_http_request_duration_seconds_bucket{{le=\"{bound}\"}} {cumulative}"
            );
        }
        cumulative += self.latency[BUCKETS.len()].load(Ordering::Relaxed);
        let _ = writeln!(
            out,
            "samhand_http_request_duration_seconds_bucket{{le=\"+Inf\"}} {cumulative}"
        );
        let sum = self.latency_micros.load(Ordering::Relaxed) as f64 / 1_000_000.0;
        let _ = writeln!(out, "samhand_http_request_duration_seconds_sum {sum}");
        let _ = writeln!(out, "samhand_http_request_duration_seconds_count {cumulative}");
        let gauges: [(&str, &str, &str, u64); 5] = [
            (
                "samhand_http_errors_total",
                "counter",
                "Requests answered with a server error (5xx).",
                self.errors.load(Ordering::Relaxed),
            ),
            (
                "samhand_db_pool_connections",
                "gauge",
                "Connections open in the database pool.",
                u64::from(pool_size),
            ),
            (
                "samhand_db_pool_idle",
                "gauge",
                "Idle connections in the database pool.",
                pool_idle as u64,
            ),
            (
                "samhand_scheduler_runs_total",
                "counter",
                "Scheduled job runs in this server.",
                self.scheduler_runs.load(Ordering::Relaxed),
            ),
            (
                "samhand_scheduler_failures_total",
                "counter",
                "Scheduled job runs that failed.",
                self.scheduler_failures.load(Ordering::Relaxed),
            ),
        ];
        for (name, kind, help, value) in gauges {
            let _ = writeln!(out, "# HELP {name} {help}");
            let _ = writeln!(out, "# TYPE {name} {kind}");
            let _ = writeln!(out, "{name} {value}");
        }
        out
    }
}

/// A request id as a client may send it: 1 to 64 letters, digits, `-` and `_`.
fn sane(id: &str) -> bool {
    (1..=64).contains(&id.len())
        && id
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_')
}

/// The middleware: a request id, a span with it around the request, a log line
/// when it is answered, and the metrics.
pub async fn track(State(state): State<AppState>, request: Request, next: Next) -> Response {
    let id = request
        .headers()
        .get("x-request-id")
        .and_then(|v| v.to_str().ok())
        .filter(|v| sane(v))
        .map(str::to_string)
        .unwrap_or_else(|| uuid::Uuid::new_v4().simple().to_string());
    let method = method_label(request.method());
    let path = request.uri().path().to_string();
    let span = tracing::info_span!("request", id = id.as_str(), method, path = path.as_str());
    let started = Instant::now();
    let mut response = next.run(request).instrument(span.clone()).await;
    let seconds = started.elapsed().as_secs_f64();
    let status = response.status().as_u16();
    state.metrics.record(method, status, seconds);
    // Every answer is logged; the ordinary ones at debug, so that a busy window
    // does not drown the log at the default level (SAMHAND_LOG=info).
    span.in_scope(|| {
        let ms = seconds * 1000.0;
        if status >= 500 {
            tracing::error!(status, ms, "answered");
        } else if status >= 400 || seconds > 1.0 {
            tracing::info!(status, ms, "answered");
        } else {
            tracing::debug!(status, ms, "answered");
        }
    });
    if let Ok(value) = HeaderValue::from_str(&id) {
        response.headers_mut().insert("x-request-id", value);
    }
    response
}

pub async fn metrics(State(state): State<AppState>) -> Response {
    let pool = state.store.pool();
    (
        [(header::CONTENT_TYPE, "text/plain; version=0.0.4; charset=utf-8")],
        state.metrics.render(pool.size(), pool.num_idle()),
    )
        .into_response()
}

pub async fn healthz() -> StatusCode {
    StatusCode::OK
}

pub async fn readyz(State(state): State<AppState>) -> Response {
    if let Err(error) = state.store.ping().await {
        return (
            StatusCode::SERVICE_UNAVAILABLE,
            format!("database not reachable: {error}\n"),
        )
            .into_response();
    }
    match samhand_store::migrate::readiness(&state.store).await {
        Ok(problems) if problems.is_empty() => (StatusCode::OK, "ready\n").into_response(),
        Ok(problems) => (
            StatusCode::SERVICE_UNAVAILABLE,
            format!("{}\n", problems.join("\n")),
        )
            .into_response(),
        Err(error) => (
            StatusCode::SERVICE_UNAVAILABLE,
            format!("cannot read the migrations: {error}\n"),
        )
            .into_response(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_request_id_from_outside_is_kept_only_when_it_is_a_sane_token() {
        assert!(sane("abc-123_X"));
        assert!(!sane(""));
        assert!(!sane("has space"));
        assert!(!sane("line\nbreak"));
        assert!(!sane(&"x".repeat(65)));
    }

    #[test]
    fn the_histogram_is_cumulative_and_counts_every_request() {
        let metrics = Metrics::default();
        metrics.record("GET", 200, 0.003);
        metrics.record("GET", 200, 0.2);
        metrics.record("POST", 503, 30.0);
        let text = metrics.render(4, 2);
        assert!(
            text.contains("samhand_http_requests_total{method=\"GET\",status=\"200\"} 2"),
            "{text}"
        );
        assert!(
            text.contains("samhand_http_request_duration_seconds_bucket{le=\"0.005\"} 1"),
            "{text}"
        );
        assert!(
            text.contains("samhand_http_request_duration_seconds_bucket{le=\"0.25\"} 2"),
            "{text}"
        );
        assert!(
            text.contains("samhand_http_request_duration_seconds_bucket{le=\"+Inf\"} 3"),
            "{text}"
        );
        assert!(
            text.contains("samhand_http_request_duration_seconds_count 3"),
            "{text}"
        );
        assert!(text.contains("samhand_http_errors_total 1"), "{text}");
        assert!(text.contains("samhand_db_pool_idle 2"), "{text}");
    }
}
