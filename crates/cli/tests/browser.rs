//! The browser tests: the real `samhand serve --demo` binary on a free port, driven
//! by the scripts of tests/browser: dispense.mjs (dispensing staff at the window),
//! meeting.mjs (a coordinator's meeting, minutes and task), discharge.mjs (the
//! discharge checklist), portal.mjs (the patient portal), status_report.mjs (the
//! leader's yearly status report), pharmacy_count.mjs (the pharmacy's count),
//! drug_test_regime.mjs (the drug-test regime), indicators.mjs (the unit's
//! indicators), stock.mjs (a stock
//! count with a witness, at tablet size) and edge.mjs (the window at a place's
//! `samhand edge` with central down), in Debian's
//! headless Chromium. SQLite in a temporary directory, or a fresh PostgreSQL database
//! when DATABASE_URL points at a PostgreSQL server.
//!
//! Needs node and Debian's chromium (or SAMHAND_CHROMIUM); runs `npm ci` in
//! tests/browser when its node_modules is missing.

mod support;

use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::Instant;

use support::demo_server::{free_port, fresh_postgres_database, repo_root, start_server, wait_until_healthy};
use support::edge::{edge_credential, kill, start_edge, token_at_edge};

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
fn the_leader_reads_signs_off_and_downloads_the_yearly_status_report_in_chromium() {
    run_browser_script("status_report.mjs");
}

#[test]
fn the_leader_approves_a_pharmacys_month_and_the_pharmacist_reads_it_on_a_phone_in_chromium() {
    run_browser_script("pharmacy_count.mjs");
}

#[test]
fn the_doctor_follows_up_samples_not_delivered_and_changes_the_drug_test_regime_in_chromium() {
    run_browser_script("drug_test_regime.mjs");
}

#[test]
fn the_leader_reads_the_indicators_charts_and_tables_and_a_dose_chart_at_tablet_and_phone_width_in_chromium()
{
    run_browser_script("indicators.mjs");
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
fn the_lar_unit_assesses_a_referral_from_the_waiting_list_at_tablet_and_phone_width_in_chromium() {
    run_browser_script("referral.mjs");
}

#[test]
fn dispensing_staff_record_a_stock_count_a_colleague_witnesses_at_tablet_size_in_chromium() {
    run_browser_script("stock.mjs");
}

/// The window at a place's own Samhand (`samhand edge`) after the link to central
/// went down: the banner says so, a dose is recorded, at tablet and phone width.
#[test]
fn the_window_at_a_place_s_edge_keeps_dispensing_offline_at_tablet_and_phone_width_in_chromium() {
    if std::env::var_os("SAMHAND_SKIP_BROWSER_TESTS").is_some_and(|v| v == "1") {
        eprintln!("browser test edge.mjs: skipped (SAMHAND_SKIP_BROWSER_TESTS=1)");
        return;
    }
    let root = repo_root();
    let browser_dir = root.join("tests/browser");
    let chromium = chromium();
    ensure_node_modules(&browser_dir);
    let dir = tempfile::tempdir().expect("temporary data directory");
    let (central_dir, edge_dir) = (dir.path().join("central"), dir.path().join("edge"));
    std::fs::create_dir_all(&central_dir).expect("central dir");
    std::fs::create_dir_all(&edge_dir).expect("edge dir");
    let database_url = fresh_postgres_database(&central_dir);
    let (central_port, edge_port) = (free_port(), free_port());
    let mut central = start_server(central_port, &central_dir, database_url.as_deref());
    wait_until_healthy(&mut central, central_port);
    let place = demo_place_of_utdeler(&central_dir, database_url.as_deref(), central_port);
    let credential = edge_credential(&central_dir, database_url.as_deref(), &place);
    let edge = start_edge(edge_port, &edge_dir, central_port, &credential);
    token_at_edge(&edge_dir, "utdeler");
    kill(&mut central.child);
    let status = Command::new("node")
        .arg(browser_dir.join("edge.mjs"))
        .current_dir(&root)
        .env("BASE_URL", format!("http://127.0.0.1:{edge_port}"))
        .env("SAMHAND_CHROMIUM", &chromium)
        .status()
        .expect("run node (install Debian's nodejs)");
    assert!(
        status.success(),
        "tests/browser/edge.mjs failed ({status}); edge log:\n{}",
        support::edge::edge_log(&edge_dir)
    );
    drop(edge);
}

/// The name of the place where the demo's `utdeler` works, from today's list.
fn demo_place_of_utdeler(dir: &Path, database_url: Option<&str>, port: u16) -> String {
    let token = support::demo_server::token(dir, database_url, "utdeler");
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .expect("runtime");
    runtime.block_on(async {
        let list: serde_json::Value = reqwest::Client::new()
            .get(format!("http://127.0.0.1:{port}/api/v1/dispensing/today"))
            .bearer_auth(token)
            .send()
            .await
            .expect("today's list")
            .json()
            .await
            .expect("json");
        list["place"]["name"].as_str().expect("the place").to_string()
    })
}
