//! `samhand audit verify`, the real binary, on a database whose audit table was
//! changed directly: an edited, a removed and two swapped entries are each found,
//! and the first broken entry is named. SQLite in a temporary directory, or a fresh
//! PostgreSQL database when DATABASE_URL points at a PostgreSQL server.

mod support;

use std::process::Command;

use jiff::Timestamp;
use samhand_domain::access::{Action, DataCategory};
use samhand_domain::ids::PatientId;
use samhand_store::Store;
use samhand_store::audit::{self, AuditEntry};

/// A database with five audit entries, tampered with by `sql` (none: untouched).
async fn database_with_entries(dir: &std::path::Path, sql: &[&str]) -> String {
    let url = samhand_store::testing::fresh_database_url(dir).await;
    append_and_tamper(dir, &url, sql).await;
    url
}

/// Appends five entries to the database at `url` (with the data directory's audit
/// key when there is one, as the server does), then runs `sql` on it.
async fn append_and_tamper(dir: &std::path::Path, url: &str, sql: &[&str]) {
    let mut store = Store::connect(url, 2).await.expect("connect and migrate");
    let key_file = dir.join("audit.key");
    if key_file.exists() {
        store = store.with_audit_key(samhand_store::anchor::AuditKey::from_file(&key_file).expect("the key"));
    }
    let actor = samhand_store::testing::dispensing_staff();
    for i in 0..5 {
        let detail = format!("entry {i}");
        audit::append_alone(
            &store,
            &AuditEntry {
                at: Timestamp::from_second(1_800_000_000 + i).expect("ts"),
                actor: &actor,
                patient: Some(PatientId::new()),
                category: DataCategory::Dispensing,
                action: Action::Read,
                allowed: true,
                relation: "dispensing_place",
                detail: &detail,
            },
        )
        .await
        .expect("append");
    }
    let mut conn = store.read().await.expect("conn");
    if !sql.is_empty() {
        // An insider who owns the database can drop the append-only triggers; the
        // chain is what tells.
        samhand_store::testing::allow_tampering_with_the_audit_log(&mut conn, store.backend()).await;
    }
    for statement in sql {
        sqlx::query(statement).execute(&mut *conn).await.expect(statement);
    }
    drop(conn);
    store.close().await;
}

/// Runs `samhand audit verify` against the database; (success, stdout).
fn verify(dir: &std::path::Path, url: &str) -> (bool, String) {
    samhand(dir, url, "verify")
}

/// Runs `samhand audit <action>` against the database; (success, stdout).
fn samhand(dir: &std::path::Path, url: &str, action: &str) -> (bool, String) {
    let mut command = Command::new(env!("CARGO_BIN_EXE_samhand"));
    command
        .args(["audit", action])
        .env("SAMHAND_DATA_DIR", dir)
        .env("SAMHAND_LOG", "warn");
    if url.starts_with("postgres") {
        command.env("DATABASE_URL", url);
    } else {
        command.env_remove("DATABASE_URL");
    }
    let output = command.output().expect("run samhand");
    (
        output.status.success(),
        String::from_utf8_lossy(&output.stdout).into_owned(),
    )
}

fn runtime() -> tokio::runtime::Runtime {
    tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .expect("runtime")
}

#[test]
fn audit_verify_passes_an_untouched_log_and_names_the_first_edited_removed_or_swapped_entry() {
    let cases: [(&str, &[&str], Option<i64>); 4] = [
        ("untouched", &[], None),
        (
            "edited",
            &["UPDATE audit_log SET detail = 'nothing to see' WHERE seq = 3"],
            Some(3),
        ),
        ("removed", &["DELETE FROM audit_log WHERE seq = 2"], Some(3)),
        (
            "swapped",
            &[
                "UPDATE audit_log SET seq = 100 WHERE seq = 2",
                "UPDATE audit_log SET seq = 2 WHERE seq = 3",
                "UPDATE audit_log SET seq = 3 WHERE seq = 100",
            ],
            Some(2),
        ),
    ];
    for (name, sql, broken_at) in cases {
        let dir = tempfile::tempdir().expect("tempdir");
        let url = runtime().block_on(database_with_entries(dir.path(), sql));
        let (ok, stdout) = verify(dir.path(), &url);
        match broken_at {
            None => {
                assert!(ok, "{name}: {stdout}");
                assert!(stdout.contains("audit log intact: 5 entries"), "{name}: {stdout}");
            }
            Some(seq) => {
                assert!(!ok, "{name}: verify must fail: {stdout}");
                assert!(
                    stdout.contains(&format!("audit log broken at entry {seq}")),
                    "{name}: {stdout}"
                );
            }
        }
    }
}

#[test]
fn removing_the_last_entries_and_rewriting_the_head_row_is_reported_against_the_checkpoint() {
    let dir = tempfile::tempdir().expect("tempdir");
    let url = runtime().block_on(samhand_store::testing::fresh_database_url(dir.path()));
    // The first command creates the data directory's audit key, as `serve` does.
    let (ok, stdout) = samhand(dir.path(), &url, "checkpoint");
    assert!(ok && stdout.contains("no new audit entries"), "{stdout}");
    assert!(dir.path().join("audit.key").exists());
    runtime().block_on(append_and_tamper(dir.path(), &url, &[]));
    let (ok, stdout) = samhand(dir.path(), &url, "checkpoint");
    assert!(ok && stdout.contains("entry 5"), "{stdout}");
    let (ok, stdout) = verify(dir.path(), &url);
    assert!(ok, "{stdout}");
    assert!(stdout.contains("checked against 1 checkpoints"), "{stdout}");

    // An insider removes the last two entries and makes the head row fit.
    runtime().block_on(async {
        let store = Store::connect(&url, 2).await.expect("connect");
        let mut conn = store.read().await.expect("conn");
        samhand_store::testing::allow_tampering_with_the_audit_log(&mut conn, store.backend()).await;
        for statement in [
            "DELETE FROM audit_log WHERE seq > 3",
            "UPDATE audit_head SET seq = 3, hash = (SELECT hash FROM audit_log WHERE seq = 3) WHERE id = 1",
        ] {
            sqlx::query(statement).execute(&mut *conn).await.expect(statement);
        }
        drop(conn);
        store.close().await;
    });
    let (ok, stdout) = verify(dir.path(), &url);
    assert!(!ok, "verify must fail: {stdout}");
    assert!(stdout.contains("audit log broken at entry 4"), "{stdout}");
    assert!(
        stdout.contains("checkpoint") && stdout.contains("saw entry 5"),
        "{stdout}"
    );
}

/// The outside check, from start to end: a server with the demo runs and is read,
/// then dies without a chance to say anything (SIGKILL); an insider removes the
/// newest audit entries and rewrites the head row to fit. The checkpoint the
/// running server wrote on its own tells.
#[test]
fn entries_removed_after_the_server_died_are_found_by_the_checkpoint_it_wrote_while_running() {
    use support::demo_server::{free_port, fresh_postgres_database, start_server_with, wait_until_healthy};
    let dir = tempfile::tempdir().expect("tempdir");
    let database_url = fresh_postgres_database(dir.path());
    let port = free_port();
    let mut server = start_server_with(
        port,
        dir.path(),
        database_url.as_deref(),
        &[("SAMHAND_AUDIT_CHECKPOINT_SECONDS", "1")],
    );
    wait_until_healthy(&mut server, port);
    let url = database_url.unwrap_or_else(|| samhand_store::Store::sqlite_url(dir.path()));
    let (ok, _) = samhand(dir.path(), &url, "verify");
    assert!(ok, "the demo's log verifies");
    // Reads write audit entries; the running server anchors them within a second.
    let postgres = url.starts_with("postgres").then_some(url.as_str());
    let token = support::demo_server::token(dir.path(), postgres, "utdeler");
    // Today's list: one audit entry naming the listed patients.
    let listed = runtime().block_on(async {
        let response = reqwest::Client::new()
            .get(format!("http://127.0.0.1:{port}/api/v1/dispensing/today"))
            .bearer_auth(&token)
            .send()
            .await
            .expect("the list");
        assert!(response.status().is_success(), "{}", response.status());
        let body: serde_json::Value = response.json().await.expect("json");
        body["rows"].as_array().map_or(0, Vec::len)
    });
    assert!(listed > 3, "the demo place lists its patients: {listed}");
    std::thread::sleep(std::time::Duration::from_millis(2500));
    server.child.kill().expect("SIGKILL");
    let _ = server.child.wait();
    runtime().block_on(async {
        let store = Store::connect(&url, 2).await.expect("connect");
        let mut conn = store.read().await.expect("conn");
        samhand_store::testing::allow_tampering_with_the_audit_log(&mut conn, store.backend()).await;
        let last: i64 = sqlx::query_scalar("SELECT MAX(seq) FROM audit_log")
            .fetch_one(&mut *conn)
            .await
            .expect("last");
        for statement in [
            format!("DELETE FROM audit_log WHERE seq > {}", last - 3),
            format!(
                "UPDATE audit_head SET seq = {0}, hash = (SELECT hash FROM audit_log WHERE seq = {0}) WHERE id = 1",
                last - 3
            ),
        ] {
            sqlx::query(&statement).execute(&mut *conn).await.expect("tamper");
        }
        drop(conn);
        store.close().await;
    });
    let (ok, stdout) = samhand(dir.path(), &url, "verify");
    assert!(!ok, "verify must fail: {stdout}");
    assert!(stdout.contains("entries were removed from the end"), "{stdout}");
}
