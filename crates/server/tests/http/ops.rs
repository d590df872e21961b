//! What operators see: a request id on every answer, `/metrics` in the Prometheus
//! text format counting what was asked, `/healthz` and `/readyz`.

use reqwest::StatusCode;

use crate::helpers::spawn_app;

#[tokio::test]
async fn every_answer_carries_a_request_id_kept_from_the_client_when_it_is_sane() {
    let app = spawn_app().await;
    let response = app.client.get(app.url("/login")).send().await.expect("get");
    let made = response
        .headers()
        .get("x-request-id")
        .expect("a request id")
        .to_str()
        .expect("text")
        .to_string();
    assert!(made.len() >= 16, "{made}");
    let response = app
        .client
        .get(app.url("/login"))
        .header("x-request-id", "frontend-42")
        .send()
        .await
        .expect("get");
    assert_eq!(response.headers().get("x-request-id").expect("id"), "frontend-42");
    let response = app
        .client
        .get(app.url("/login"))
        .header("x-request-id", "not sane; at all")
        .send()
        .await
        .expect("get");
    assert_ne!(
        response.headers().get("x-request-id").expect("id"),
        "not sane; at all"
    );
}

#[tokio::test]
async fn metrics_are_prometheus_text_and_count_the_requests_made() {
    let app = spawn_app().await;
    for _ in 0..3 {
        let response = app
            .client
            .get(app.url("/no-such-page"))
            .send()
            .await
            .expect("get");
        assert_eq!(response.status(), StatusCode::NOT_FOUND);
    }
    let response = app.client.get(app.url("/metrics")).send().await.expect("metrics");
    assert_eq!(response.status(), StatusCode::OK);
    assert!(
        response.headers()[reqwest::header::CONTENT_TYPE]
            .to_str()
            .expect("type")
            .starts_with("text/plain; version=0.0.4")
    );
    let text = response.text().await.expect("text");
    for line in text.lines().filter(|l| !l.is_empty() && !l.starts_with('#')) {
        let (name, value) = line
            .rsplit_once(' ')
            .unwrap_or_else(|| panic!("not `name value`: {line}"));
        assert!(value.parse::<f64>().is_ok(), "not a number: {line}");
        let bare = name.split('{').next().expect("name");
        assert!(
            bare.chars().all(|c| c.is_ascii_alphanumeric() || c == '_') && bare.starts_with("samhand_"),
            "not a metric name: {line}"
        );
        if let Some(labels) = name.strip_prefix(bare) {
            assert!(
                labels.is_empty() || (labels.starts_with('{') && labels.ends_with('}')),
                "{line}"
            );
        }
    }
    assert!(
        text.contains("samhand_http_requests_total{method=\"GET\",status=\"404\"} 3"),
        "{text}"
    );
    assert!(
        text.contains("samhand_http_request_duration_seconds_bucket{le=\"+Inf\"}"),
        "{text}"
    );
    assert!(text.contains("samhand_db_pool_connections"), "{text}");
    assert!(text.contains("samhand_scheduler_runs_total 0"), "{text}");
    app.run_scheduler().await;
    let text = app
        .client
        .get(app.url("/metrics"))
        .send()
        .await
        .expect("metrics")
        .text()
        .await
        .expect("text");
    assert!(text.contains("samhand_scheduler_runs_total 5"), "{text}");
}

#[tokio::test]
async fn a_migrated_database_is_ready_and_the_server_is_alive() {
    let app = spawn_app().await;
    for path in ["/healthz", "/readyz"] {
        let response = app.client.get(app.url(path)).send().await.expect("get");
        assert_eq!(response.status(), StatusCode::OK, "{path}");
    }
    // A migration this build carries but the database lacks: not ready, and why.
    let mut conn = app.state.store.read().await.expect("conn");
    sqlx::query("DELETE FROM schema_migrations WHERE version = 21")
        .execute(&mut *conn)
        .await
        .expect("delete");
    drop(conn);
    let response = app.client.get(app.url("/readyz")).send().await.expect("get");
    assert_eq!(response.status(), StatusCode::SERVICE_UNAVAILABLE);
    assert!(
        response
            .text()
            .await
            .expect("text")
            .contains("21 (scheduler) is not applied")
    );
}
