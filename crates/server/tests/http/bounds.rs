//! The HTTP surface's bounds against a hostile client on the network: a head
//! trickled a byte at a time and an idle kept-alive connection are closed after
//! their timeouts, connections over the cap do not keep `/healthz` out, bodies are
//! bounded per route, and no answer with patient data may stay in a cache (HSTS
//! over TLS).

use std::time::{Duration, Instant};

use reqwest::StatusCode;
use serde_json::json;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;

use crate::helpers::{TestApp, app_listener, spawn_app, spawn_app_behind_proxy, spawn_app_on};

async fn app_with(overrides: &[(&str, &str)]) -> TestApp {
    let overrides: Vec<(&str, String)> = overrides.iter().map(|(k, v)| (*k, v.to_string())).collect();
    spawn_app_on(app_listener().await, &overrides).await
}

async fn connect(app: &TestApp) -> TcpStream {
    TcpStream::connect(app.base.trim_start_matches("http://"))
        .await
        .expect("connect")
}

/// Whether the server has closed the connection (reads end, or fail), looking
/// for at most `wait`.
async fn closed_within(stream: &mut TcpStream, wait: Duration) -> bool {
    let mut buf = [0u8; 1024];
    let deadline = Instant::now() + wait;
    loop {
        let left = deadline.saturating_duration_since(Instant::now());
        match tokio::time::timeout(left, stream.read(&mut buf)).await {
            Ok(Ok(0)) | Ok(Err(_)) => return true,
            Ok(Ok(_)) => continue,
            Err(_) => return false,
        }
    }
}

#[tokio::test]
async fn a_connection_that_trickles_its_headers_is_closed_after_the_header_timeout() {
    let app = app_with(&[("SAMHAND_HEADER_TIMEOUT_SECONDS", "1")]).await;
    let mut stream = connect(&app).await;
    let started = Instant::now();
    stream
        .write_all(b"GET /healthz HTTP/1.1\r\nHost: samhand\r\nX-Slow: ")
        .await
        .expect("write");
    let mut closed = false;
    while started.elapsed() < Duration::from_secs(4) {
        // One more byte of the head every 200 ms: never a whole head.
        if stream.write_all(b"a").await.is_err()
            || closed_within(&mut stream, Duration::from_millis(200)).await
        {
            closed = true;
            break;
        }
    }
    let elapsed = started.elapsed();
    assert!(
        closed,
        "the trickling connection was still open after {elapsed:?}"
    );
    assert!(
        elapsed >= Duration::from_millis(900),
        "closed too early: {elapsed:?}"
    );
    assert!(elapsed < Duration::from_secs(3), "closed late: {elapsed:?}");
}

#[tokio::test]
async fn an_idle_kept_alive_connection_is_closed_after_the_idle_timeout_and_used_before_it() {
    let app = app_with(&[
        ("SAMHAND_HEADER_TIMEOUT_SECONDS", "10"),
        ("SAMHAND_IDLE_TIMEOUT_SECONDS", "1"),
    ])
    .await;
    let mut stream = connect(&app).await;
    let request = b"GET /healthz HTTP/1.1\r\nHost: samhand\r\n\r\n";
    let mut buf = [0u8; 4096];
    for _ in 0..2 {
        stream.write_all(request).await.expect("write");
        let n = stream.read(&mut buf).await.expect("read");
        let answer = String::from_utf8_lossy(&buf[..n]);
        assert!(answer.starts_with("HTTP/1.1 200"), "{answer}");
        // Within the idle timeout the connection is used again.
        tokio::time::sleep(Duration::from_millis(400)).await;
    }
    let idle_since = Instant::now();
    assert!(
        closed_within(&mut stream, Duration::from_secs(3)).await,
        "still open"
    );
    let idle = idle_since.elapsed();
    assert!(idle >= Duration::from_millis(500), "closed too early: {idle:?}");
}

#[tokio::test]
async fn connections_over_the_cap_are_closed_longest_waiting_first_and_healthz_still_answers() {
    let app = app_with(&[
        ("SAMHAND_MAX_CONNECTIONS", "5"),
        ("SAMHAND_HEADER_TIMEOUT_SECONDS", "60"),
    ])
    .await;
    let mut slow = Vec::new();
    for _ in 0..20 {
        let mut stream = connect(&app).await;
        stream
            .write_all(b"GET /healthz HTTP/1.1\r\n")
            .await
            .expect("write");
        slow.push(stream);
    }
    let started = Instant::now();
    let response = app
        .client
        .get(app.url("/healthz"))
        .timeout(Duration::from_secs(5))
        .send()
        .await
        .expect("healthz answers while slow connections wait");
    assert_eq!(response.status(), StatusCode::OK);
    assert!(
        started.elapsed() < Duration::from_secs(2),
        "{:?}",
        started.elapsed()
    );
    let mut closed = 0;
    for stream in &mut slow {
        if closed_within(stream, Duration::from_millis(200)).await {
            closed += 1;
        }
    }
    assert!(
        closed >= 15,
        "at most five open at once: {closed} of 20 slow ones closed"
    );
}

#[tokio::test]
async fn bodies_are_bounded_per_route_and_only_uploads_take_large_ones() {
    let app = spawn_app().await;
    let big_note = "x".repeat(100 * 1024);
    let response = app
        .post(
            &app.world.utdeler,
            "/api/v1/dispensings",
            &json!({"patient_id": "x", "note": big_note}),
        )
        .send()
        .await
        .expect("post");
    assert_eq!(response.status(), StatusCode::PAYLOAD_TOO_LARGE);
    assert_eq!(response.headers()["content-type"], "application/problem+json");

    // A login form of 100 KiB is refused before anything reads it.
    let response = app
        .client
        .post(app.url("/login"))
        .form(&[("username", "utdeler"), ("password", big_note.as_str())])
        .send()
        .await
        .expect("post");
    assert_eq!(response.status(), StatusCode::PAYLOAD_TOO_LARGE);
    // A person is told so in Norwegian, on a page.
    assert!(
        response.headers()["content-type"]
            .to_str()
            .is_ok_and(|v| v.starts_with("text/html")),
        "{:?}",
        response.headers()
    );
    let page = response.text().await.expect("page");
    assert!(page.contains("For stort innhold"), "{page}");
    // So is a body that is not a form at all.
    let response = app
        .client
        .post(app.url("/login"))
        .header("content-type", "application/json")
        .body("{}")
        .send()
        .await
        .expect("post");
    assert!(response.status().is_client_error(), "{}", response.status());
    let page = response.text().await.expect("page");
    assert!(page.contains("Skjemaet kunne ikke leses"), "{page}");

    // Enrolment with a photo of 300 KiB is taken (and judged on its content):
    // base64 of zeros.
    let photo = "A".repeat(400 * 1024);
    let response = app
        .post(
            &app.world.lege,
            "/api/v1/patients",
            &json!({"national_id": "x", "photo_base64": photo}),
        )
        .send()
        .await
        .expect("enrol");
    assert_ne!(response.status(), StatusCode::PAYLOAD_TOO_LARGE);
    assert_eq!(response.status(), StatusCode::UNPROCESSABLE_ENTITY);
}

#[tokio::test]
async fn every_answer_but_the_static_files_says_no_store() {
    let app = spawn_app().await;
    let patient = app.patient_on_daily_methadone(150).await;
    let session = app.session_of("lege").await;
    for path in [
        format!("/api/v1/patients/{patient}"),
        "/api/v1/dispensing/today".to_string(),
        "/fhir/metadata".to_string(),
        "/api/v1/finnes-ikke".to_string(),
    ] {
        let response = app.get(&app.world.lege, &path).send().await.expect("get");
        assert_eq!(response.headers()["cache-control"], "no-store", "{path}");
    }
    for path in [
        format!("/pasienter/{patient}"),
        format!("/pasienter/{patient}/foto"),
        "/login".to_string(),
    ] {
        let response = app
            .client
            .get(app.url(&path))
            .header("Cookie", format!("samhand_session={}", session.cookie))
            .send()
            .await
            .expect("page");
        assert_eq!(response.headers()["cache-control"], "no-store", "{path}");
    }
    let response = app
        .client
        .get(app.url("/static/style.css"))
        .send()
        .await
        .expect("css");
    assert_ne!(
        response.headers()["cache-control"],
        "no-store",
        "static files keep their caching"
    );
    assert!(
        !response.headers().contains_key("strict-transport-security"),
        "no HSTS over plain HTTP"
    );
}

#[tokio::test]
async fn hsts_is_sent_when_served_over_tls_by_configuration_or_a_trusted_proxys_word() {
    let secure = app_with(&[("SAMHAND_COOKIE_SECURE", "true")]).await;
    let response = secure
        .client
        .get(secure.url("/healthz"))
        .send()
        .await
        .expect("get");
    assert_eq!(
        response.headers()["strict-transport-security"],
        "max-age=31536000"
    );

    let proxied = spawn_app_behind_proxy(&[]).await;
    let https = proxied
        .client
        .get(proxied.url("/login"))
        .header("X-Forwarded-Proto", "https")
        .send()
        .await
        .expect("get");
    assert!(https.headers().contains_key("strict-transport-security"));
    let http = proxied
        .client
        .get(proxied.url("/login"))
        .send()
        .await
        .expect("get");
    assert!(!http.headers().contains_key("strict-transport-security"));

    // Without a trusted proxy the header is not believed.
    let direct = spawn_app().await;
    let claimed = direct
        .client
        .get(direct.url("/login"))
        .header("X-Forwarded-Proto", "https")
        .send()
        .await
        .expect("get");
    assert!(!claimed.headers().contains_key("strict-transport-security"));
}

/// Today's list and the alerts are work over a whole place or unit; however many
/// are asked for at once, they take at most the heavy-work permits (one core
/// fewer than the machine has), so the rest of the server keeps answering. Here
/// every permit is held: a list waits, while /healthz and a patient's overview
/// answer; when a permit comes free, the list is served.
#[tokio::test]
async fn lists_wait_for_a_heavy_work_permit_while_everything_else_answers() {
    let app = std::sync::Arc::new(spawn_app().await);
    let patient = app.patient_on_daily_methadone(151).await;
    let permits = app.state.heavy_work.available_permits();
    assert!(permits >= 1);
    let held = app
        .state
        .heavy_work
        .clone()
        .acquire_many_owned(permits as u32)
        .await
        .expect("every permit");
    let list = tokio::spawn({
        let app = app.clone();
        async move { app.today_list(&app.world.utdeler).await }
    });
    let healthz = app.client.get(app.url("/healthz")).send().await.expect("healthz");
    assert_eq!(healthz.status(), StatusCode::OK);
    let (status, overview) = app
        .get_json(&app.world.lege, &format!("/api/v1/patients/{patient}"))
        .await;
    assert_eq!(status, StatusCode::OK, "{overview}");
    tokio::time::sleep(Duration::from_millis(200)).await;
    assert!(!list.is_finished(), "the list waits for a permit");
    drop(held);
    let list = list.await.expect("the list");
    assert_eq!(list["rows"].as_array().map(Vec::len), Some(1), "{list}");
}
