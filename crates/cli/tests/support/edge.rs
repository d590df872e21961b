//! `samhand edge` as a process, for the tests that drive it from outside.
#![allow(dead_code)]

use std::fs::File;
use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use super::demo_server::http_status;

/// The edge process, killed when the test ends.
pub struct EdgeProcess(pub Child);

impl Drop for EdgeProcess {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

pub fn start_edge(port: u16, dir: &Path, upstream: u16, credential: &str) -> EdgeProcess {
    let log = File::options()
        .create(true)
        .append(true)
        .open(dir.join("edge.log"))
        .expect("edge log");
    let child = Command::new(env!("CARGO_BIN_EXE_samhand"))
        .arg("edge")
        .env("SAMHAND_ADDR", format!("127.0.0.1:{port}"))
        .env("SAMHAND_DATA_DIR", dir)
        .env("SAMHAND_EDGE_UPSTREAM", format!("http://127.0.0.1:{upstream}"))
        .env("SAMHAND_EDGE_TOKEN", credential)
        .env("SAMHAND_EDGE_INTERVAL_MS", "200")
        .env("SAMHAND_COOKIE_SECURE", "false")
        .env("SAMHAND_LOG", "info")
        .env_remove("DATABASE_URL")
        .env_remove("DATABASE_URL_FILE")
        .stdin(Stdio::null())
        .stdout(log.try_clone().expect("log"))
        .stderr(log)
        .spawn()
        .expect("start samhand edge");
    let deadline = Instant::now() + Duration::from_secs(30);
    while http_status(port, "/healthz") != Some(200) {
        assert!(
            Instant::now() < deadline,
            "the edge did not start: {}",
            edge_log(dir)
        );
        std::thread::sleep(Duration::from_millis(100));
    }
    EdgeProcess(child)
}

pub fn edge_log(dir: &Path) -> String {
    std::fs::read_to_string(dir.join("edge.log")).unwrap_or_default()
}

pub fn kill(child: &mut Child) {
    child.kill().expect("SIGKILL");
    child.wait().expect("reaped");
}

/// `samhand edge token --place NAME` against central's database: its last line.
pub fn edge_credential(dir: &Path, database_url: Option<&str>, place: &str) -> String {
    let mut command = Command::new(env!("CARGO_BIN_EXE_samhand"));
    command
        .args(["edge", "token", "--place", place])
        .env("SAMHAND_DATA_DIR", dir)
        .env("SAMHAND_LOG", "warn");
    match database_url {
        Some(url) => command.env("DATABASE_URL", url),
        None => command.env_remove("DATABASE_URL").env_remove("DATABASE_URL_FILE"),
    };
    let output = command.output().expect("samhand edge token");
    assert!(
        output.status.success(),
        "{}",
        String::from_utf8_lossy(&output.stderr)
    );
    String::from_utf8_lossy(&output.stdout)
        .lines()
        .last()
        .expect("a credential")
        .trim()
        .to_string()
}

/// An API token for a user at the edge, once the edge has synced its staff.
pub fn token_at_edge(dir: &Path, user: &str) -> String {
    let deadline = Instant::now() + Duration::from_secs(30);
    loop {
        let output = Command::new(env!("CARGO_BIN_EXE_samhand"))
            .args(["token", "--user", user])
            .env("SAMHAND_DATA_DIR", dir)
            .env("SAMHAND_LOG", "warn")
            .env_remove("DATABASE_URL")
            .env_remove("DATABASE_URL_FILE")
            .output()
            .expect("token at the edge");
        if output.status.success() {
            return String::from_utf8_lossy(&output.stdout)
                .lines()
                .last()
                .expect("token")
                .trim()
                .to_string();
        }
        assert!(
            Instant::now() < deadline,
            "the edge never synced: {}",
            edge_log(dir)
        );
        std::thread::sleep(Duration::from_millis(200));
    }
}
