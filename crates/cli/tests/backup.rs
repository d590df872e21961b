//! `samhand backup` and `samhand restore`, the real binary: a backup taken while
//! the server records dispensings holds every dispensing acknowledged before it
//! began, restores into a fresh data directory, and its audit chain verifies. On
//! PostgreSQL (DATABASE_URL set), the commands refuse and name pg_dump.

use std::fs::File;
use std::net::TcpListener;
use std::path::Path;
use std::process::{Child, Command, Output, Stdio};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use reqwest::StatusCode;
use serde_json::{Value, json};

fn samhand(dir: &Path, args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_samhand"))
        .args(args)
        .env("SAMHAND_DATA_DIR", dir)
        .env("SAMHAND_LOG", "warn")
        .env_remove("DATABASE_URL")
        .env_remove("DATABASE_URL_FILE")
        .output()
        .expect("run samhand")
}

fn ok(output: &Output, what: &str) -> String {
    assert!(
        output.status.success(),
        "{what}: {}\n{}",
        String::from_utf8_lossy(&output.stdout),
        String::from_utf8_lossy(&output.stderr)
    );
    String::from_utf8_lossy(&output.stdout).into_owned()
}

struct Server(Child);

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

async fn serve(dir: &Path, port: u16) -> Server {
    let log = File::create(dir.join("server.log")).expect("log");
    let mut server = Server(
        Command::new(env!("CARGO_BIN_EXE_samhand"))
            .arg("serve")
            .env("SAMHAND_DATA_DIR", dir)
            .env("SAMHAND_ADDR", format!("127.0.0.1:{port}"))
            .env("SAMHAND_LOG", "warn")
            .env_remove("DATABASE_URL")
            .env_remove("DATABASE_URL_FILE")
            .stdin(Stdio::null())
            .stdout(log.try_clone().expect("log"))
            .stderr(log)
            .spawn()
            .expect("serve"),
    );
    let deadline = Instant::now() + Duration::from_secs(60);
    let client = reqwest::Client::new();
    loop {
        if client
            .get(format!("http://127.0.0.1:{port}/healthz"))
            .send()
            .await
            .is_ok_and(|r| r.status() == StatusCode::OK)
        {
            return server;
        }
        assert!(
            server.0.try_wait().expect("poll").is_none(),
            "samhand serve exited"
        );
        assert!(Instant::now() < deadline, "samhand serve did not come up");
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_backup_under_write_load_restores_with_every_acknowledged_dispensing_and_an_intact_audit_chain() {
    let live = tempfile::tempdir().expect("dir");
    if std::env::var("DATABASE_URL").is_ok_and(|u| u.starts_with("postgres")) {
        let output = Command::new(env!("CARGO_BIN_EXE_samhand"))
            .args(["backup", "--to", "x.db"])
            .env("SAMHAND_LOG", "warn")
            .output()
            .expect("run");
        assert!(!output.status.success());
        assert!(String::from_utf8_lossy(&output.stderr).contains("pg_dump"));
        return;
    }
    ok(&samhand(live.path(), &["demo", "--patients", "150"]), "demo");
    let token = ok(&samhand(live.path(), &["token", "--user", "utdeler"]), "token")
        .lines()
        .last()
        .expect("token")
        .trim()
        .to_string();
    let port = TcpListener::bind("127.0.0.1:0")
        .expect("port")
        .local_addr()
        .expect("addr")
        .port();
    let _server = serve(live.path(), port).await;
    let api = format!("http://127.0.0.1:{port}/api/v1");
    let client = reqwest::Client::new();
    let list: Value = client
        .get(format!("{api}/dispensing/today"))
        .bearer_auth(&token)
        .send()
        .await
        .expect("list")
        .json()
        .await
        .expect("json");
    let patients: Vec<String> = list["rows"]
        .as_array()
        .expect("rows")
        .iter()
        .filter(|r| {
            r["done"] == json!(false) && r["blocked"] == json!(false) && r["take_home_held"].is_null()
        })
        .filter_map(|r| r["patient"]["id"].as_str().map(str::to_string))
        .collect();
    assert!(
        patients.len() >= 4,
        "too few doses due to load the server: {}",
        patients.len()
    );

    // The load: each patient's doses recorded, one request after another.
    let acknowledged: Arc<Mutex<Vec<String>>> = Arc::default();
    let load = {
        let (client, api, token, acknowledged) =
            (client.clone(), api.clone(), token.clone(), acknowledged.clone());
        tokio::spawn(async move {
            for (i, patient) in patients.iter().enumerate() {
                let response = client
                    .post(format!("{api}/dispensings"))
                    .bearer_auth(&token)
                    .header("Idempotency-Key", format!("backup-test-{i}"))
                    .json(&json!({"patient_id": patient, "identity_confirmed": true}))
                    .send()
                    .await
                    .expect("record");
                if response.status() == StatusCode::CREATED {
                    let body: Value = response.json().await.expect("json");
                    let id = body["id"].as_str().expect("id").to_string();
                    acknowledged.lock().expect("lock").push(id);
                }
            }
        })
    };
    // The backup while the load runs, after the first acknowledgements.
    while acknowledged.lock().expect("lock").len() < 2 {
        tokio::time::sleep(Duration::from_millis(5)).await;
    }
    let before: Vec<String> = acknowledged.lock().expect("lock").clone();
    let copy = live.path().join("backup.db");
    let copy_arg = copy.display().to_string();
    let live_dir = live.path().to_path_buf();
    let backup = tokio::task::spawn_blocking(move || samhand(&live_dir, &["backup", "--to", &copy_arg]))
        .await
        .expect("backup task");
    ok(&backup, "backup");
    load.await.expect("load");
    let all = acknowledged.lock().expect("lock").len();
    assert!(
        all > before.len(),
        "the load went on during the backup ({all} in all)"
    );
    let again = samhand(live.path(), &["backup", "--to", &copy.display().to_string()]);
    assert!(!again.status.success(), "a backup never overwrites a file");

    // Restored into a fresh data directory: every dispensing acknowledged before the
    // backup began is there, and the audit chain is intact.
    // The copy's audit chain is keyed: without the installation's audit key it
    // cannot be checked, and is not restored.
    let restored = tempfile::tempdir().expect("dir");
    let keyless = samhand(
        restored.path(),
        &["restore", "--from", &copy.display().to_string()],
    );
    assert!(!keyless.status.success(), "restored without the audit key");
    assert!(
        String::from_utf8_lossy(&keyless.stderr).contains("audit key is needed"),
        "{}",
        String::from_utf8_lossy(&keyless.stderr)
    );
    assert!(!restored.path().join("samhand.db").exists());
    std::fs::copy(live.path().join("audit.key"), restored.path().join("audit.key")).expect("the key");
    let report = ok(
        &samhand(
            restored.path(),
            &["restore", "--from", &copy.display().to_string()],
        ),
        "restore",
    );
    assert!(report.contains("intact"), "{report}");
    let verified = ok(&samhand(restored.path(), &["audit", "verify"]), "audit verify");
    assert!(verified.contains("intact"), "{verified}");
    let store = samhand_store::Store::connect(&samhand_store::Store::sqlite_url(restored.path()), 2)
        .await
        .expect("open the restored database");
    let mut conn = store.read().await.expect("conn");
    for id in &before {
        let found: i64 = sqlx::query_scalar("SELECT COUNT(*) FROM dispensing_events WHERE id = $1")
            .bind(id)
            .fetch_one(&mut *conn)
            .await
            .expect("query");
        assert_eq!(
            found, 1,
            "dispensing {id}, acknowledged before the backup, is in it"
        );
    }
    drop(conn);
    store.close().await;

    // What is not a Samhand database is refused, and nothing is put in place.
    let elsewhere = tempfile::tempdir().expect("dir");
    let empty = elsewhere.path().join("empty.db");
    std::fs::write(&empty, b"").expect("write");
    let other = elsewhere.path().join("other.db");
    {
        use sqlx::Connection;
        let mut conn = sqlx::SqliteConnection::connect(&format!("sqlite://{}?mode=rwc", other.display()))
            .await
            .expect("sqlite");
        sqlx::query("CREATE TABLE notes (text TEXT)")
            .execute(&mut conn)
            .await
            .expect("table");
        conn.close().await.expect("close");
    }
    for file in [&empty, &other] {
        let fresh = tempfile::tempdir().expect("dir");
        let refused = samhand(fresh.path(), &["restore", "--from", &file.display().to_string()]);
        assert!(!refused.status.success(), "{} was restored", file.display());
        assert!(
            String::from_utf8_lossy(&refused.stderr).contains("not a Samhand database"),
            "{}",
            String::from_utf8_lossy(&refused.stderr)
        );
        assert!(
            !fresh.path().join("samhand.db").exists(),
            "nothing was put in place"
        );
    }

    // A restore does not replace a database without --force, and keeps it with it.
    let refused = samhand(
        restored.path(),
        &["restore", "--from", &copy.display().to_string()],
    );
    assert!(!refused.status.success());
    ok(
        &samhand(
            restored.path(),
            &["restore", "--from", &copy.display().to_string(), "--force"],
        ),
        "restore --force",
    );
    let kept = std::fs::read_dir(restored.path())
        .expect("dir")
        .filter_map(|e| e.ok())
        .any(|e| {
            e.file_name()
                .to_string_lossy()
                .starts_with("samhand.db.before-restore-")
        });
    assert!(kept, "the replaced database is kept beside");
}
