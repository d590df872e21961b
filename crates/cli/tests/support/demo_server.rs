//! The demo server for the tests that drive `samhand serve --demo` from outside
//! (the browser tests, schemathesis): on a free port, with SQLite in a temporary
//! directory or a fresh PostgreSQL database when DATABASE_URL names a server.
#![allow(dead_code)]

use std::fs::File;
use std::io::{Read, Write};
use std::net::{TcpListener, TcpStream};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

/// How long the server may take to create the demo world and start listening.
const START_TIMEOUT: Duration = Duration::from_secs(60);

/// The server child process, killed when the test ends, however it ends.
pub struct Server {
    pub child: Child,
    log: PathBuf,
}

impl Server {
    /// The last lines of the server's output, for a failure message.
    pub fn log(&self) -> String {
        let text = std::fs::read_to_string(&self.log).unwrap_or_else(|e| format!("(no server log: {e})"));
        let lines: Vec<&str> = text.lines().collect();
        lines[lines.len().saturating_sub(60)..].join("\n")
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

pub fn repo_root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../..")
}

pub fn free_port() -> u16 {
    let listener = TcpListener::bind("127.0.0.1:0").expect("bind a free port");
    listener.local_addr().expect("local address").port()
}

/// The status code of a plain HTTP/1.1 GET, or None while nothing answers.
pub fn http_status(port: u16, path: &str) -> Option<u16> {
    let mut stream = TcpStream::connect(("127.0.0.1", port)).ok()?;
    stream.set_read_timeout(Some(Duration::from_secs(5))).ok()?;
    stream.set_write_timeout(Some(Duration::from_secs(5))).ok()?;
    write!(
        stream,
        "GET {path} HTTP/1.1\r\nHost: 127.0.0.1:{port}\r\nConnection: close\r\n\r\n"
    )
    .ok()?;
    let mut response = String::new();
    stream.read_to_string(&mut response).ok()?;
    // "HTTP/1.1 200 OK"
    response.split_whitespace().nth(1)?.parse().ok()
}

/// A fresh PostgreSQL database on the server DATABASE_URL names, or None when the
/// test runs on SQLite.
pub fn fresh_postgres_database(data_dir: &Path) -> Option<String> {
    let url = std::env::var("DATABASE_URL").ok()?;
    if !url.starts_with("postgres") {
        return None;
    }
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .expect("tokio runtime");
    Some(runtime.block_on(samhand_store::testing::fresh_database_url(data_dir)))
}

pub fn start_server(port: u16, data_dir: &Path, database_url: Option<&str>) -> Server {
    start_server_with(port, data_dir, database_url, &[])
}

/// As [`start_server`], with more environment for the server.
pub fn start_server_with(
    port: u16,
    data_dir: &Path,
    database_url: Option<&str>,
    env: &[(&str, &str)],
) -> Server {
    let log = data_dir.join("server.log");
    let out = File::create(&log).expect("server log file");
    let err = out.try_clone().expect("server log file");
    let mut command = Command::new(env!("CARGO_BIN_EXE_samhand"));
    command
        .args(["serve", "--demo"])
        .env("SAMHAND_ADDR", format!("127.0.0.1:{port}"))
        .env("SAMHAND_DATA_DIR", data_dir)
        // The default, set so that a developer's environment cannot turn it off:
        // Chromium treats http://127.0.0.1 as a potentially trustworthy origin and
        // keeps (and sends back) Secure cookies there, so this test also proves the
        // login works with the Secure session and CSRF cookies that production uses.
        .env("SAMHAND_COOKIE_SECURE", "true")
        .env("SAMHAND_LOG", "info")
        .stdin(Stdio::null())
        .stdout(out)
        .stderr(err);
    match database_url {
        Some(url) => command.env("DATABASE_URL", url),
        None => command.env_remove("DATABASE_URL").env_remove("DATABASE_URL_FILE"),
    };
    command.envs(env.iter().copied());
    let child = command.spawn().expect("start samhand serve --demo");
    Server { child, log }
}

pub fn wait_until_healthy(server: &mut Server, port: u16) {
    let deadline = Instant::now() + START_TIMEOUT;
    loop {
        if http_status(port, "/healthz") == Some(200) {
            return;
        }
        if let Some(status) = server.child.try_wait().expect("poll the server") {
            panic!("samhand serve --demo exited with {status}:\n{}", server.log());
        }
        assert!(
            Instant::now() < deadline,
            "samhand serve --demo did not answer /healthz with 200 within {} s:\n{}",
            START_TIMEOUT.as_secs(),
            server.log()
        );
        std::thread::sleep(Duration::from_millis(100));
    }
}

/// An API token for a user of the database (the last line of `samhand token`).
pub fn token(data_dir: &Path, database_url: Option<&str>, user: &str) -> String {
    let mut command = Command::new(env!("CARGO_BIN_EXE_samhand"));
    command
        .args(["token", "--user", user])
        .env("SAMHAND_DATA_DIR", data_dir)
        .env("SAMHAND_LOG", "warn");
    match database_url {
        Some(url) => command.env("DATABASE_URL", url),
        None => command.env_remove("DATABASE_URL").env_remove("DATABASE_URL_FILE"),
    };
    let output = command.output().expect("run samhand token");
    assert!(
        output.status.success(),
        "samhand token --user {user}: {}",
        String::from_utf8_lossy(&output.stderr)
    );
    String::from_utf8_lossy(&output.stdout)
        .lines()
        .last()
        .expect("a token")
        .trim()
        .to_string()
}
