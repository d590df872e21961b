//! `samhand edge` and the central server as processes, killed with SIGKILL while
//! the edge pushes what it recorded during an outage (issue 19, H92): nothing is
//! lost and nothing is doubled. Central is `samhand serve --demo` on SQLite or,
//! when DATABASE_URL names a server, PostgreSQL; the edge is always SQLite.

mod support;

use std::collections::{BTreeMap, BTreeSet};
use std::time::{Duration, Instant};

use samhand_store::Store;
use serde_json::{Value, json};
use support::demo_server::{
    Server, free_port, fresh_postgres_database, start_server, token, wait_until_healthy,
};
use support::edge::{edge_credential, edge_log, kill, start_edge, token_at_edge};

async fn get(client: &reqwest::Client, port: u16, path: &str, token: &str) -> Value {
    let response = client
        .get(format!("http://127.0.0.1:{port}{path}"))
        .bearer_auth(token)
        .send()
        .await
        .expect("get");
    assert!(response.status().is_success(), "{path}: {}", response.status());
    response.json().await.expect("json")
}

/// The events of these patients on a day in a database, by patient.
async fn events_of(url: &str, patients: &BTreeSet<String>, day: &str) -> BTreeMap<String, Vec<String>> {
    let store = Store::connect(url, 1).await.expect("open the database");
    let mut conn = store.read().await.expect("conn");
    let rows = sqlx::query("SELECT id, patient_id FROM dispensing_events WHERE day = $1 ORDER BY id")
        .bind(day)
        .fetch_all(&mut *conn)
        .await
        .expect("events");
    drop(conn);
    store.close().await;
    let mut by_patient: BTreeMap<String, Vec<String>> = BTreeMap::new();
    for row in rows {
        use sqlx::Row;
        let patient: String = row.get("patient_id");
        if patients.contains(&patient) {
            by_patient.entry(patient).or_default().push(row.get("id"));
        }
    }
    by_patient
}

#[test]
fn killing_the_edge_and_central_during_pushes_loses_and_doubles_nothing() {
    let dir = tempfile::tempdir().expect("dir");
    let central_dir = dir.path().join("central");
    let edge_dir = dir.path().join("edge");
    std::fs::create_dir_all(&central_dir).expect("central dir");
    std::fs::create_dir_all(&edge_dir).expect("edge dir");
    let database_url = fresh_postgres_database(&central_dir);
    let central_url = database_url
        .clone()
        .unwrap_or_else(|| Store::sqlite_url(&central_dir));
    let (central_port, edge_port) = (free_port(), free_port());
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .expect("runtime");
    // No pooled connections: the processes behind the ports are killed and
    // started again.
    let client = reqwest::Client::builder()
        .pool_max_idle_per_host(0)
        .build()
        .expect("client");

    let mut central: Server = start_server(central_port, &central_dir, database_url.as_deref());
    wait_until_healthy(&mut central, central_port);
    let central_token = token(&central_dir, database_url.as_deref(), "utdeler");
    let list = runtime.block_on(get(
        &client,
        central_port,
        "/api/v1/dispensing/today",
        &central_token,
    ));
    let place = list["place"]["name"].as_str().expect("the place").to_string();
    let today = list["date"].as_str().expect("the day").to_string();
    let due: Vec<String> = list["rows"]
        .as_array()
        .expect("rows")
        .iter()
        .filter(|r| r["done"] == json!(false) && r["blocked"] == json!(false))
        .filter_map(|r| r["patient"]["id"].as_str().map(str::to_string))
        .take(30)
        .collect();
    assert!(due.len() >= 10, "the demo place has patients due: {}", due.len());
    let credential = edge_credential(&central_dir, database_url.as_deref(), &place);
    let mut edge = start_edge(edge_port, &edge_dir, central_port, &credential);
    // The edge has the place's staff once it has synced.
    let edge_token = token_at_edge(&edge_dir, "utdeler");

    let (first, second) = due.split_at(due.len() / 2);
    let record = |patients: &[String], round: &str| -> Vec<String> {
        runtime.block_on(async {
            let mut ids = Vec::new();
            for (i, patient) in patients.iter().enumerate() {
                let response = client
                    .post(format!("http://127.0.0.1:{edge_port}/api/v1/dispensings"))
                    .bearer_auth(&edge_token)
                    .header("Idempotency-Key", format!("{round}-{i}"))
                    .json(&json!({"patient_id": patient, "identity_confirmed": true}))
                    .send()
                    .await
                    .expect("dispense at the edge");
                let status = response.status();
                let body: Value = response.json().await.expect("json");
                assert_eq!(status, reqwest::StatusCode::CREATED, "{body}");
                ids.push(body["id"].as_str().expect("id").to_string());
            }
            ids
        })
    };

    // Central goes down; the edge records; central comes back and the edge is
    // killed during its push, then started again.
    kill(&mut central.child);
    let mut given = record(first, "a");
    let mut central = start_server(central_port, &central_dir, database_url.as_deref());
    wait_until_healthy(&mut central, central_port);
    std::thread::sleep(Duration::from_millis(250));
    kill(&mut edge.0);
    drop(edge);
    let edge = start_edge(edge_port, &edge_dir, central_port, &credential);

    // Down again; more recordings; central is killed during the push.
    kill(&mut central.child);
    given.extend(record(second, "b"));
    let mut central = start_server(central_port, &central_dir, database_url.as_deref());
    wait_until_healthy(&mut central, central_port);
    std::thread::sleep(Duration::from_millis(250));
    kill(&mut central.child);
    let mut central = start_server(central_port, &central_dir, database_url.as_deref());
    wait_until_healthy(&mut central, central_port);

    // Every recording reaches central once, under the edge's id.
    let patients: BTreeSet<String> = due.iter().cloned().collect();
    let deadline = Instant::now() + Duration::from_secs(60);
    let at_central = loop {
        let found = runtime.block_on(events_of(&central_url, &patients, &today));
        if found.values().map(Vec::len).sum::<usize>() >= given.len() {
            break found;
        }
        assert!(
            Instant::now() < deadline,
            "not everything reached central: {} of {}\n{}",
            found.values().map(Vec::len).sum::<usize>(),
            given.len(),
            edge_log(&edge_dir)
        );
        std::thread::sleep(Duration::from_millis(300));
    };
    std::thread::sleep(Duration::from_millis(1000));
    let at_central_later = runtime.block_on(events_of(&central_url, &patients, &today));
    assert_eq!(at_central, at_central_later, "nothing more arrives later");
    for patient in &due {
        assert_eq!(
            at_central.get(patient).map(Vec::len),
            Some(1),
            "exactly one recording of {patient} at central"
        );
    }
    let stored: BTreeSet<String> = at_central.values().flatten().cloned().collect();
    let given: BTreeSet<String> = given.into_iter().collect();
    assert_eq!(stored, given, "central holds the edge's recordings, by their ids");
    drop(edge);
    drop(central);
}
