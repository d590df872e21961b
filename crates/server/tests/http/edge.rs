//! `samhand edge` (issue 19): a place's own Samhand keeps dispensing through an
//! outage of the link to the central server and syncs without losing or doubling
//! a dose. The central server is the test app (SQLite or PostgreSQL); the edge is
//! a second app on its own SQLite, reaching central through a proxy the test
//! cuts and restores (the fault), and syncing one round at a time.

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};

use jiff::SignedDuration;
use jiff::civil::Time;
use reqwest::StatusCode;
use samhand_domain::time::{Clock as _, FixedClock};
use samhand_server::edge::sync::{EdgeSync, SyncError};
use samhand_server::edge::{EdgeLink, EdgeSettings};
use samhand_server::{AppState, Config};
use samhand_store::Store;
use serde_json::json;

use crate::helpers::*;

/// A TCP proxy between the edge and central that can be cut: while cut, every
/// connection is closed at once.
struct Proxy {
    base: String,
    up: Arc<AtomicBool>,
}

impl Proxy {
    async fn to(target: &str) -> Self {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.expect("bind");
        let base = format!("http://{}", listener.local_addr().expect("addr"));
        let up = Arc::new(AtomicBool::new(true));
        let target = target.trim_start_matches("http://").to_string();
        let flag = up.clone();
        tokio::spawn(async move {
            while let Ok((mut inbound, _)) = listener.accept().await {
                if !flag.load(Ordering::SeqCst) {
                    drop(inbound);
                    continue;
                }
                let target = target.clone();
                tokio::spawn(async move {
                    if let Ok(mut outbound) = tokio::net::TcpStream::connect(&target).await {
                        let _ = tokio::io::copy_bidirectional(&mut inbound, &mut outbound).await;
                    }
                });
            }
        });
        Self { base, up }
    }

    fn cut(&self) {
        self.up.store(false, Ordering::SeqCst);
    }

    fn restore(&self) {
        self.up.store(true, Ordering::SeqCst);
    }
}

/// The edge: its own SQLite, its own clock (set with central's), served on a
/// port of its own, syncing through the proxy.
struct Edge {
    base: String,
    state: AppState,
    clock: Arc<FixedClock>,
    link: Arc<EdgeLink>,
    sync: EdgeSync,
    client: reqwest::Client,
    /// The place's credential the edge syncs with.
    credential: String,
    _dir: tempfile::TempDir,
}

impl Edge {
    async fn start(app: &TestApp, proxy: &Proxy, token: &str) -> Self {
        let dir = tempfile::tempdir().expect("tempdir");
        let store = Store::connect(&Store::sqlite_url(dir.path()), 5)
            .await
            .expect("edge store")
            .with_audit_key(samhand_store::testing::audit_key());
        let clock = Arc::new(FixedClock::at_oslo(start_day(), Time::constant(7, 0, 0, 0)));
        clock.set(app.state.clock.now());
        let data_dir = dir.path().display().to_string();
        let config = Config::from_lookup(|key| match key {
            "SAMHAND_COOKIE_SECURE" => Some("false".into()),
            "SAMHAND_TOKEN_DAYS" => Some("366".into()),
            "SAMHAND_DATA_DIR" => Some(data_dir.clone()),
            _ => None,
        })
        .expect("config");
        let mut state = AppState::new(store, clock.clone(), config);
        let link = Arc::new(EdgeLink::default());
        state.edge = Some(link.clone());
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.expect("bind");
        let base = format!("http://{}", listener.local_addr().expect("addr"));
        let (_, never_stop) = tokio::sync::watch::channel(false);
        tokio::spawn(samhand_server::connections::serve(
            listener,
            samhand_server::edge::router_at_edge(state.clone()),
            state.config.connections,
            never_stop,
        ));
        let settings = EdgeSettings {
            upstream: proxy.base.clone(),
            token: token.to_string(),
            interval: std::time::Duration::from_millis(100),
        };
        let sync = EdgeSync::new(state.clone(), settings, link.clone())
            .await
            .expect("edge sync");
        Self {
            base,
            state,
            clock,
            link,
            sync,
            client: reqwest::Client::new(),
            credential: token.to_string(),
            _dir: dir,
        }
    }

    /// A staff member's API token at the edge, issued against the edge's own data
    /// (as `samhand token --user U` with the edge's data dir).
    async fn token(&self, username: &str) -> String {
        samhand_server::auth::issue_api_token(&self.state, username)
            .await
            .expect("a token at the edge")
            .0
    }

    async fn list(&self, token: &str) -> serde_json::Value {
        let response = self
            .client
            .get(format!("{}/api/v1/dispensing/today", self.base))
            .bearer_auth(token)
            .send()
            .await
            .expect("list at the edge");
        let (status, body) = read(response).await;
        assert_eq!(status, StatusCode::OK, "{body}");
        body
    }

    async fn dispense(&self, token: &str, patient: &str, key: &str) -> (StatusCode, serde_json::Value) {
        let response = self
            .client
            .post(format!("{}/api/v1/dispensings", self.base))
            .bearer_auth(token)
            .header("Idempotency-Key", key)
            .json(&json!({"patient_id": patient, "identity_confirmed": true}))
            .send()
            .await
            .expect("dispense at the edge");
        read(response).await
    }
}

async fn credential(app: &TestApp) -> String {
    samhand_server::edge::issue_credential(&app.state, &app.world.centre.to_string())
        .await
        .expect("an edge credential")
        .1
}

/// Central's recordings of the patients, with their ids and times.
async fn central_events(app: &TestApp) -> Vec<(String, String, i64)> {
    let mut conn = app.state.store.read().await.expect("conn");
    let rows =
        sqlx::query("SELECT id, patient_id, recorded_at FROM dispensing_events ORDER BY recorded_at, id")
            .fetch_all(&mut *conn)
            .await
            .expect("events");
    use sqlx::Row;
    rows.iter()
        .map(|r| {
            (
                r.get::<String, _>("id"),
                r.get::<String, _>("patient_id"),
                r.get::<i64, _>("recorded_at"),
            )
        })
        .collect()
}

#[tokio::test]
async fn sixty_recordings_made_offline_reach_central_exactly_once_in_order_with_their_times() {
    let app = spawn_app().await;
    app.set_oslo_time(start_day(), Time::constant(7, 0, 0, 0));
    let mut patients = Vec::new();
    for n in 1..=60 {
        patients.push(app.patient_on_daily_methadone(n).await);
    }
    let proxy = Proxy::to(&app.base).await;
    let edge = Edge::start(&app, &proxy, &credential(&app).await).await;
    edge.sync.round().await.expect("the first sync");
    assert!(edge.link.status().connected);
    let token = edge.token("utdeler").await;
    let list = edge.list(&token).await;
    assert_eq!(list["rows"].as_array().map(Vec::len), Some(60), "{list}");

    // The link goes down in the morning; the edge keeps dispensing.
    proxy.cut();
    assert!(matches!(edge.sync.round().await, Err(SyncError::Offline(_))));
    let mut given = Vec::new();
    for (i, patient) in patients.iter().enumerate() {
        edge.clock.advance(SignedDuration::from_secs(60));
        let (status, body) = edge.dispense(&token, patient, &format!("edge-{i}")).await;
        assert_eq!(status, StatusCode::CREATED, "{body}");
        given.push((
            body["id"].as_str().expect("id").to_string(),
            edge.clock.now().as_microsecond(),
        ));
    }
    // A correction is made at central, not at the edge (H96).
    let correction = edge
        .client
        .post(format!(
            "{}/api/v1/dispensings/{}/corrections",
            edge.base, given[0].0
        ))
        .bearer_auth(&token)
        .header("Idempotency-Key", "edge-correction")
        .json(&json!({"kind": "not_given", "reason": "Feil pasient"}))
        .send()
        .await
        .expect("correction at the edge");
    assert_eq!(correction.status(), StatusCode::CONFLICT);
    // Nothing but the window's recordings is written at the edge (H98).
    let note = edge
        .client
        .post(format!(
            "{}/api/v1/patients/{}/health-information",
            edge.base, patients[0]
        ))
        .bearer_auth(&token)
        .json(&json!({"kind": "epilepsy", "text": "Skrevet ved stedet"}))
        .send()
        .await
        .expect("a health note at the edge");
    assert_eq!(note.status(), StatusCode::CONFLICT);
    let (_, problem) = read(note).await;
    assert!(problem.to_string().contains("bare utleveringer"), "{problem}");
    assert!(matches!(edge.sync.round().await, Err(SyncError::Offline(_))));
    let banner = edge.link.banner_nb();
    assert!(
        banner.starts_with("Frakoblet siden 07:00 – sist oppdatert 07:00"),
        "{banner}"
    );
    assert!(banner.contains("60 registreringer venter"), "{banner}");
    let list = edge.list(&token).await;
    assert_eq!(list["edge"]["connected"], json!(false), "{}", list["edge"]);
    assert_eq!(list["edge"]["waiting"], json!(60));
    assert_eq!(list["edge"]["status"], json!(banner));
    // The web page at the edge shows it too.
    let (_, session) = login_at(&edge, "utdeler").await;
    let page = page_at(&edge, &session, "/utlevering").await;
    assert!(page.contains("Frakoblet siden"), "the banner on the page");
    assert!(
        central_events(&app).await.is_empty(),
        "nothing reached central yet"
    );

    // The link returns: all 60 in central, once, in order, with the times given.
    proxy.restore();
    edge.sync.round().await.expect("sync after the outage");
    assert!(edge.link.status().connected);
    assert_eq!(edge.link.banner_nb(), "Tilkoblet");
    let events = central_events(&app).await;
    assert_eq!(events.len(), 60);
    let stored: Vec<(String, i64)> = events.iter().map(|(id, _, at)| (id.clone(), *at)).collect();
    assert_eq!(
        stored, given,
        "the same recordings, in order, with the times given"
    );
    // Another round, and the same push again (a retry after a lost answer), store
    // nothing twice.
    edge.sync.round().await.expect("sync again");
    let replay = app
        .client
        .post(app.url("/edge/v1/recordings"))
        .bearer_auth(&edge.credential)
        .json(&json!({"instance_id": "again", "recordings": [pushed_at_edge(&edge, &given[0].0).await]}))
        .send()
        .await
        .expect("replay");
    let (status, body) = read(replay).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    assert_eq!(body["stored"][0]["replayed"], json!(true), "{body}");
    assert_eq!(central_events(&app).await.len(), 60);
    // Central's list shows every dose given; the edge's audit entries are in the
    // central chain, which verifies.
    let central_list = app.today_list(&app.world.utdeler).await;
    let rows = central_list["rows"].as_array().expect("rows");
    assert_eq!(rows.len(), 60);
    let done = rows.iter().filter(|r| r["done"] == json!(true)).count();
    assert_eq!(done, 60, "every dose given shows at central");
    let mut conn = app.state.store.read().await.expect("conn");
    use sqlx::Row;
    let shipped: i64 =
        sqlx::query("SELECT COUNT(*) AS n FROM audit_log WHERE detail LIKE 'at the place''s edge: %'")
            .fetch_one(&mut *conn)
            .await
            .expect("count")
            .get("n");
    assert!(
        shipped >= 60,
        "the edge's audit entries in the central chain: {shipped}"
    );
    drop(conn);
    let verified = samhand_store::anchor::verify(&app.state.store, None)
        .await
        .expect("verify");
    assert!(
        matches!(verified, samhand_store::anchor::Verification::Intact { .. }),
        "{verified:?}"
    );
}

#[tokio::test]
async fn a_dose_given_at_a_guest_place_and_at_the_edge_is_stored_twice_with_one_deviation_and_alerts() {
    let app = spawn_app().await;
    app.set_oslo_time(start_day(), Time::constant(7, 0, 0, 0));
    let patient = app.patient_on_daily_methadone(1).await;
    let other = app.patient_on_daily_methadone(2).await;
    let third = app.patient_on_daily_methadone(3).await;
    let proxy = Proxy::to(&app.base).await;
    let edge = Edge::start(&app, &proxy, &credential(&app).await).await;
    edge.sync.round().await.expect("sync");
    let token = edge.token("utdeler").await;
    proxy.cut();
    // Meanwhile at central: today's dose moved to a guest place, and given there;
    // the other patient's dose raised (a new signed order).
    let w = &app.world;
    let (status, body) = app
        .post_json(
            &w.lege,
            &format!("/api/v1/patients/{patient}/covers"),
            &json!({"date": start_day().to_string(), "place_id": w.other_centre.to_string()}),
        )
        .await;
    assert_eq!(status, StatusCode::CREATED, "{body}");
    let (status, body) = app.dispense(&w.utdeler2, &patient, "guest", json!({})).await;
    assert_eq!(status, StatusCode::CREATED, "{body}");
    app.sign_methadone(&other, &["70"], start_day()).await;
    // At the edge, offline, both are given as the edge knows them.
    edge.clock.set(app.state.clock.now());
    for (key, p) in [("edge-1", &patient), ("edge-2", &other)] {
        let (status, body) = edge.dispense(&token, p, key).await;
        assert_eq!(status, StatusCode::CREATED, "{body}");
    }
    // A dose withheld at the edge is told to the prescriber when it arrives.
    let response = edge
        .client
        .post(format!("{}/api/v1/dispensings", edge.base))
        .bearer_auth(&token)
        .header("Idempotency-Key", "edge-3")
        .json(&json!({"patient_id": third, "identity_confirmed": true, "outcome": "withheld", "reason": "Ruset ved oppmøte"}))
        .send()
        .await
        .expect("withheld at the edge");
    assert_eq!(response.status(), StatusCode::CREATED);
    proxy.restore();
    edge.sync.round().await.expect("sync");
    let (_, inbox) = app.get_json(&w.lege, "/api/v1/inbox").await;
    assert!(inbox.to_string().contains("Ruset ved oppmøte"), "{inbox}");
    // Both recordings of the first patient are stored; one deviation; alerts.
    let mut conn = app.state.store.read().await.expect("conn");
    use sqlx::Row;
    let events: i64 = sqlx::query("SELECT COUNT(*) AS n FROM dispensing_events WHERE patient_id = $1")
        .bind(&patient)
        .fetch_one(&mut *conn)
        .await
        .expect("events")
        .get("n");
    assert_eq!(events, 2, "the guest place's recording and the edge's");
    let conflicts: Vec<String> =
        sqlx::query("SELECT conflicts FROM edge_recordings WHERE conflicts <> '' ORDER BY given_at")
            .fetch_all(&mut *conn)
            .await
            .expect("received")
            .iter()
            .map(|r| r.get::<String, _>("conflicts"))
            .collect();
    assert_eq!(
        conflicts,
        vec!["dispensed_elsewhere".to_string(), "order_changed".to_string()]
    );
    let deviations: i64 = sqlx::query("SELECT COUNT(*) AS n FROM deviations WHERE kind = 'edge_conflict'")
        .fetch_one(&mut *conn)
        .await
        .expect("deviations")
        .get("n");
    assert_eq!(deviations, 2, "one deviation per conflicting recording");
    drop(conn);
    for staff in [&w.lege, &w.utdeler, &w.utdeler2] {
        let (status, inbox) = app.get_json(staff, "/api/v1/inbox").await;
        assert_eq!(status, StatusCode::OK, "{inbox}");
        assert!(
            inbox.to_string().contains("Mulig dobbel dose"),
            "{} is told: {inbox}",
            staff.username
        );
    }
    // The signed change reached the edge in the same round.
    let list = edge.list(&token).await;
    let row = list["rows"]
        .as_array()
        .expect("rows")
        .iter()
        .find(|r| r["patient"]["id"] == json!(other))
        .cloned()
        .expect("the other patient on the edge's list");
    assert!(row.to_string().contains("70"), "the new order at the edge: {row}");
}

#[tokio::test]
async fn a_revoked_credential_stops_sync_at_once() {
    let app = spawn_app().await;
    app.patient_on_daily_methadone(1).await;
    let proxy = Proxy::to(&app.base).await;
    let edge = Edge::start(&app, &proxy, &credential(&app).await).await;
    edge.sync.round().await.expect("sync");
    samhand_server::edge::revoke_credentials(&app.state, &app.world.centre.to_string())
        .await
        .expect("revoke");
    assert!(matches!(edge.sync.round().await, Err(SyncError::Revoked)));
    assert!(edge.link.status().revoked);
    assert!(edge.link.banner_nb().contains("trukket tilbake"));
    let response = app
        .client
        .get(app.url("/edge/v1/feed"))
        .bearer_auth(&edge.credential)
        .send()
        .await
        .expect("feed");
    assert_eq!(response.status(), StatusCode::UNAUTHORIZED);
}

#[tokio::test]
async fn the_feed_holds_only_the_place_s_patients_and_only_the_place_s_passwords() {
    let app = spawn_app().await;
    let here = app.patient_on_daily_methadone(1).await;
    let elsewhere = app.enrol(2, start_day()).await;
    app.sign_methadone(&elsewhere, &["60"], start_day()).await;
    app.arrange(&elsewhere, app.world.other_centre, "AAAAAAA", start_day())
        .await;
    let token = credential(&app).await;
    let response = app
        .client
        .get(app.url("/edge/v1/feed"))
        .bearer_auth(&token)
        .send()
        .await
        .expect("feed");
    let etag = response.headers().get("etag").cloned().expect("an etag");
    let (status, body) = read(response).await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(body["patients"], json!([here]));
    let text = body.to_string();
    assert!(!text.contains(&elsewhere), "another place's patient is not sent");
    let users = body["tables"]
        .as_array()
        .expect("tables")
        .iter()
        .find(|t| t["table"] == json!("users"))
        .expect("users");
    let columns: Vec<&str> = users["columns"]
        .as_array()
        .expect("c")
        .iter()
        .filter_map(|c| c.as_str())
        .collect();
    let name = columns.iter().position(|c| *c == "username").expect("username");
    let hash = columns.iter().position(|c| *c == "password_hash").expect("hash");
    for row in users["rows"].as_array().expect("rows") {
        let at_centre = ["utdeler", "koordinator", "stedleder"].contains(&row[name].as_str().unwrap_or(""));
        assert_eq!(!row[hash].is_null(), at_centre, "{row}");
    }
    let cursor = response_cursor(&app, &token, &etag, None).await;
    // The same snapshot again is not sent again; with the change cursor it is not
    // even made again.
    let again = app
        .client
        .get(app.url("/edge/v1/feed"))
        .bearer_auth(&token)
        .header("if-none-match", etag.clone())
        .query(&[("cursor", &cursor)])
        .send()
        .await
        .expect("feed");
    assert_eq!(again.status(), StatusCode::NOT_MODIFIED);
    // A change at central moves the cursor: the snapshot is sent with the change.
    app.sign_methadone(&here, &["80"], start_day()).await;
    let changed = app
        .client
        .get(app.url("/edge/v1/feed"))
        .bearer_auth(&token)
        .header("if-none-match", etag)
        .query(&[("cursor", &cursor)])
        .send()
        .await
        .expect("feed");
    assert_eq!(changed.status(), StatusCode::OK);
    assert_ne!(
        changed.headers()["x-samhand-cursor"].to_str().expect("cursor"),
        cursor
    );
    let (_, body) = read(changed).await;
    assert!(
        body.to_string().contains("80000"),
        "the new order is in the snapshot"
    );
}

/// The change cursor central names for the snapshot the edge holds.
async fn response_cursor(
    app: &TestApp,
    token: &str,
    etag: &reqwest::header::HeaderValue,
    cursor: Option<&str>,
) -> String {
    let mut request = app
        .client
        .get(app.url("/edge/v1/feed"))
        .bearer_auth(token)
        .header("if-none-match", etag.clone());
    if let Some(cursor) = cursor {
        request = request.query(&[("cursor", cursor)]);
    }
    let response = request.send().await.expect("feed");
    assert_eq!(response.status(), StatusCode::NOT_MODIFIED);
    response.headers()["x-samhand-cursor"]
        .to_str()
        .expect("cursor")
        .to_string()
}

/// A recording as the edge pushes it, read from the edge's store.
async fn pushed_at_edge(edge: &Edge, id: &str) -> samhand_server::service::PushedRecording {
    let id = id.parse().expect("event id");
    let mut conn = edge.state.store.read().await.expect("conn");
    let event = samhand_store::dispensing::event_of(&mut conn, id)
        .await
        .expect("event")
        .expect("at the edge");
    let doses = samhand_store::dispensing::doses_of_event(&mut conn, id)
        .await
        .expect("doses");
    samhand_server::service::PushedRecording::of(&event, &doses)
}

async fn login_at(edge: &Edge, username: &str) -> (StatusCode, reqwest::Client) {
    let client = reqwest::Client::builder()
        .cookie_store(true)
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .expect("client");
    let login = client
        .get(format!("{}/login", edge.base))
        .send()
        .await
        .expect("login page");
    let html = login.text().await.expect("html");
    let csrf = csrf_in(&html).unwrap_or_default();
    let response = client
        .post(format!("{}/login", edge.base))
        .form(&[("username", username), ("password", PASSWORD), ("csrf", &csrf)])
        .send()
        .await
        .expect("login");
    (response.status(), client)
}

async fn page_at(edge: &Edge, client: &reqwest::Client, path: &str) -> String {
    let response = client
        .get(format!("{}{path}", edge.base))
        .send()
        .await
        .expect("page");
    assert_eq!(response.status(), StatusCode::OK, "{path} at the edge");
    response.text().await.expect("html")
}

#[tokio::test]
async fn after_a_day_offline_each_recording_at_the_edge_needs_a_colleague_and_the_list_says_why() {
    let app = spawn_app().await;
    let patient = app.patient_on_daily_methadone(1).await;
    let proxy = Proxy::to(&app.base).await;
    let edge = Edge::start(&app, &proxy, &credential(&app).await).await;
    edge.sync.round().await.expect("sync");
    let token = edge.token("utdeler").await;
    proxy.cut();
    assert!(matches!(edge.sync.round().await, Err(SyncError::Offline(_))));
    // Within the policy's 24 hours a recording needs no one else.
    let (status, body) = edge.dispense(&token, &patient, "day-1").await;
    assert_eq!(status, StatusCode::CREATED, "{body}");
    edge.clock.advance(SignedDuration::from_hours(25));
    let (status, body) = edge.dispense(&token, &patient, "day-2").await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{body}");
    assert_eq!(error_fields(&body), vec!["confirmer_username"], "{body}");
    assert!(body.to_string().contains("25 timer"), "says why: {body}");
    let confirmed = |username: &str, password: &str| {
        edge.client
            .post(format!("{}/api/v1/dispensings", edge.base))
            .bearer_auth(&token)
            .header("Idempotency-Key", "day-2")
            .json(&json!({
                "patient_id": patient,
                "identity_confirmed": true,
                "confirmer": {"username": username, "password": password},
            }))
            .send()
    };
    let (status, body) = read(confirmed("utdeler", PASSWORD).await.expect("self")).await;
    assert_eq!(
        status,
        StatusCode::UNPROCESSABLE_ENTITY,
        "not the one recording: {body}"
    );
    assert_eq!(error_fields(&body), vec!["confirmer_password"], "{body}");
    let (status, body) = read(confirmed("koordinator", "feil-passord").await.expect("wrong")).await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{body}");
    let (status, body) = read(confirmed("koordinator", PASSWORD).await.expect("colleague")).await;
    assert_eq!(status, StatusCode::CREATED, "{body}");
    let id = body["id"].as_str().expect("id").parse().expect("uuid");
    let mut conn = edge.state.store.read().await.expect("conn");
    let event = samhand_store::dispensing::event_of(&mut conn, id)
        .await
        .expect("event")
        .expect("stored");
    assert_eq!(
        event.identity_confirmed_by, app.world.koordinator.id,
        "the colleague is kept"
    );
    drop(conn);
    // The list at the edge says why, and the form asks for the colleague.
    let (_, session) = login_at(&edge, "utdeler").await;
    let page = page_at(&edge, &session, "/utlevering").await;
    assert!(
        page.contains("data-testid=\"offline-confirmation\""),
        "the reason on the list"
    );
}

#[tokio::test]
async fn a_patient_who_leaves_the_place_is_removed_from_the_edge_once_pushed() {
    let app = spawn_app().await;
    let stays = app.patient_on_daily_methadone(1).await;
    let leaves = app.patient_on_daily_methadone(2).await;
    let proxy = Proxy::to(&app.base).await;
    let edge = Edge::start(&app, &proxy, &credential(&app).await).await;
    edge.sync.round().await.expect("sync");
    let token = edge.token("utdeler").await;
    let (status, body) = edge.dispense(&token, &leaves, "before-moving").await;
    assert_eq!(status, StatusCode::CREATED, "{body}");
    edge.sync.round().await.expect("pushed");
    // Central moves the patient to another place from tomorrow on; for the
    // edge's days ahead she is still the place's, then she is not.
    let tomorrow = start_day().tomorrow().expect("tomorrow");
    app.arrange(&leaves, app.world.other_centre, "AAAAAAA", tomorrow)
        .await;
    edge.sync.round().await.expect("sync");
    let held = |patient: String| {
        let state = edge.state.clone();
        async move {
            let mut conn = state.store.read().await.expect("conn");
            use sqlx::Row;
            let n: i64 = sqlx::query("SELECT COUNT(*) AS n FROM patients WHERE id = $1")
                .bind(&patient)
                .fetch_one(&mut *conn)
                .await
                .expect("count")
                .get("n");
            let events: i64 =
                sqlx::query("SELECT COUNT(*) AS n FROM dispensing_events WHERE patient_id = $1")
                    .bind(&patient)
                    .fetch_one(&mut *conn)
                    .await
                    .expect("count")
                    .get("n");
            (n, events)
        }
    };
    assert_eq!(held(leaves.clone()).await, (1, 1), "still the place's today");
    app.clock.advance(SignedDuration::from_hours(24 * 4));
    edge.clock.set(app.state.clock.now());
    edge.sync.round().await.expect("sync days later");
    assert_eq!(held(leaves.clone()).await, (0, 0), "removed from the edge");
    assert_eq!(held(stays.clone()).await.0, 1, "the place's patient stays");
    // Her recording's stock line went with her: the edge's kept balances follow
    // the ledger that is left (H104).
    let mut conn = edge.state.store.read().await.expect("conn");
    let (_, mismatches) = samhand_store::stock_balance::verify(&mut conn)
        .await
        .expect("verify");
    assert!(mismatches.is_empty(), "{mismatches:?}");
    drop(conn);
    // Central keeps everything.
    let mut conn = app.state.store.read().await.expect("conn");
    use sqlx::Row;
    let events: i64 = sqlx::query("SELECT COUNT(*) AS n FROM dispensing_events WHERE patient_id = $1")
        .bind(&leaves)
        .fetch_one(&mut *conn)
        .await
        .expect("count")
        .get("n");
    assert_eq!(events, 1);
}
