//! The browser tests: the real `samhand serve --demo` binary on a free port, driven
//! by the scripts of tests/browser: dispense.mjs (dispensing staff at the window),
//! meeting.mjs (a coordinator's meeting, minutes and task), discharge.mjs (the
//! discharge checklist), portal.mjs (the patient portal) and stock.mjs (a stock
//! count with a witness, at tablet size), in Debian's
//! headless Chromium. SQLite in a temporary directory, or a fresh PostgreSQL database
//! when DATABASE_URL points at a PostgreSQL server.
//!
//! Needs node and Debian's chromium (or SAMHAND_CHROMIUM); runs `npm ci` in
//! tests/browser when its node_modules is missing.

use std::fs::File;
use std::io::{Read, Write};
use std::net::{TcpListener, TcpStream};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

/// How long the server may take to create the demo world and start listening.
const START_TIMEOUT: Duration = Duration::from_secs(60);

/// The server child process, killed when the test ends, however it ends.
struct Server {
    child: Child,
    log: PathBuf,
}

impl Server {
    /// The last lines of the server's output, for a failure message.
    fn log(&self) -> String {
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

fn repo_root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../..")
}

fn free_port() -> u16 {
    let listener = TcpListener::bind("127.0.0.1:0").expect("bind a free port");
    listener.local_addr().expect("local address").port()
}

/// The status code of a plain HTTP/1.1 GET, or None while nothing answers.
fn http_status(port: u16, path: &str) -> Option<u16> {
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
fn fresh_postgres_database(data_dir: &Path) -> Option<String> {
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

fn chromium() -> PathBuf {
    let path = std::env::var_os("SAMHAND_CHROMIUM")
        .map(PathBuf::from)
        .unwrap_or_else(|| PathBuf::from("/usr/bin/chromium"));
    assert!(
        path.exists(),
        "no Chromium at {}: install Debian's chromium (apt-get install chromium) \
         or point SAMHAND_CHROMIUM at a Chromium binary",
        path.display()
    );
    path
}

/// Installs playwright-core from the lock file when tests/browser has no node_modules.
fn ensure_node_modules(browser_dir: &Path) {
    if browser_dir.join("node_modules/playwright-core").exists() {
        return;
    }
    let status = Command::new("npm")
        .args(["ci", "--no-audit", "--no-fund"])
        .arg("--prefix")
        .arg(browser_dir)
        .status()
        .expect("run npm (install Debian's nodejs and npm)");
    assert!(status.success(), "npm ci --prefix tests/browser failed: {status}");
}

fn start_server(port: u16, data_dir: &Path, database_url: Option<&str>) -> Server {
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
    let child = command.spawn().expect("start samhand serve --demo");
    Server { child, log }
}

fn wait_until_healthy(server: &mut Server, port: u16) {
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

/// Starts `samhand serve --demo` on a free port and runs one script of
/// tests/browser against it in Chromium; each test has its own server and database.
fn run_browser_script(script: &str) {
    // The UI does not depend on the database: CI runs these once, on SQLite, and
    // sets SAMHAND_SKIP_BROWSER_TESTS=1 for its PostgreSQL run.
    if std::env::var_os("SAMHAND_SKIP_BROWSER_TESTS").is_some_and(|v| v == "1") {
        eprintln!("browser test {script}: skipped (SAMHAND_SKIP_BROWSER_TESTS=1)");
        return;
    }
    let root = repo_root();
    let browser_dir = root.join("tests/browser");
    let chromium = chromium();
    ensure_node_modules(&browser_dir);

    let data_dir = tempfile::tempdir().expect("temporary data directory");
    let database_url = fresh_postgres_database(data_dir.path());
    let port = free_port();

    let started = Instant::now();
    let mut server = start_server(port, data_dir.path(), database_url.as_deref());
    wait_until_healthy(&mut server, port);
    eprintln!(
        "browser test: server with demo data on {} up in {:.1} s",
        if database_url.is_some() {
            "PostgreSQL"
        } else {
            "SQLite"
        },
        started.elapsed().as_secs_f64()
    );

    let browser_started = Instant::now();
    let status = Command::new("node")
        .arg(browser_dir.join(script))
        .current_dir(&root)
        .env("BASE_URL", format!("http://127.0.0.1:{port}"))
        .env("SAMHAND_CHROMIUM", &chromium)
        .status()
        .expect("run node (install Debian's nodejs)");
    eprintln!(
        "browser test: {script} finished in {:.1} s",
        browser_started.elapsed().as_secs_f64()
    );
    assert!(
        status.success(),
        "tests/browser/{script} failed ({status}); server log:\n{}",
        server.log()
    );
}

#[test]
fn an_administrator_sets_up_a_place_invites_a_user_and_cuts_them_off_in_chromium() {
    run_browser_script("admin.mjs");
}

#[test]
fn dispensing_staff_record_a_dose_from_todays_list_in_chromium() {
    run_browser_script("dispense.mjs");
}

#[test]
fn a_coordinator_holds_a_meeting_with_a_task_and_its_owner_marks_it_done_in_chromium() {
    run_browser_script("meeting.mjs");
}

#[test]
fn an_institution_completes_the_discharge_checklist_before_a_planned_discharge_in_chromium() {
    run_browser_script("discharge.mjs");
}

#[test]
fn a_patient_sets_up_and_uses_the_portal_and_every_portal_page_passes_axe_in_chromium() {
    run_browser_script("portal.mjs");
}

#[test]
fn a_nurse_withholds_holds_the_take_home_doses_corrects_searches_and_prints_at_a_tablet_in_chromium() {
    run_browser_script("window.mjs");
}

#[test]
fn dispensing_staff_record_a_stock_count_a_colleague_witnesses_at_tablet_size_in_chromium() {
    run_browser_script("stock.mjs");
}
