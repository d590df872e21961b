//! `samhand report status`, the real binary, on a demo database (SQLite in a
//! temporary directory, or a fresh PostgreSQL database when DATABASE_URL points at
//! a PostgreSQL server): the CSV has one header row and one row per patient in LAR
//! during the year, every patient in it was read under the policy and audited, and
//! the XLSX is a workbook. And `samhand report pharmacy`: one row per patient with
//! hand-outs at a pharmacy in the month, read as one audited view.

use std::collections::BTreeSet;
use std::path::Path;
use std::process::{Command, Output};

use sqlx::Row;

/// Runs `samhand <args>` on the database; panics with its output if it fails.
fn samhand(dir: &Path, url: &str, args: &[&str]) -> Output {
    let mut command = Command::new(env!("CARGO_BIN_EXE_samhand"));
    command
        .args(args)
        .env("SAMHAND_DATA_DIR", dir)
        .env("SAMHAND_LOG", "warn");
    if url.starts_with("postgres") {
        command.env("DATABASE_URL", url);
    } else {
        command.env_remove("DATABASE_URL").env_remove("DATABASE_URL_FILE");
    }
    let output = command.output().expect("run samhand");
    assert!(
        output.status.success(),
        "samhand {args:?} failed:\n{}",
        String::from_utf8_lossy(&output.stderr)
    );
    output
}

/// The cells of one CSV line (RFC 4180 quoting; no line breaks inside cells here).
fn cells(line: &str) -> Vec<String> {
    let mut cells = vec![String::new()];
    let mut quoted = false;
    let mut chars = line.chars().peekable();
    while let Some(c) = chars.next() {
        match (c, quoted) {
            ('"', true) if chars.peek() == Some(&'"') => {
                chars.next();
                cells.last_mut().expect("a cell").push('"');
            }
            ('"', _) => quoted = !quoted,
            (',', false) => cells.push(String::new()),
            (c, _) => cells.last_mut().expect("a cell").push(c),
        }
    }
    cells
}

fn runtime() -> tokio::runtime::Runtime {
    tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .expect("runtime")
}

/// The patients with an episode of LAR on any day of `year`, and the patients the
/// status report read, allowed, for `year` as the audit log records it.
async fn in_lar_and_audited(url: &str, year: i16) -> (BTreeSet<String>, BTreeSet<String>) {
    let store = samhand_store::Store::connect(url, 2).await.expect("connect");
    let mut conn = store.read().await.expect("conn");
    let in_lar = sqlx::query(
        "SELECT DISTINCT e.patient_id FROM episodes e \
         LEFT JOIN episode_ends x ON x.episode_id = e.id \
         WHERE e.started_on <= $1 AND (x.ended_on IS NULL OR x.ended_on >= $2)",
    )
    .bind(format!("{year}-12-31"))
    .bind(format!("{year}-01-01"))
    .fetch_all(&mut *conn)
    .await
    .expect("episodes")
    .iter()
    .map(|r| r.get::<String, _>(0))
    .collect();
    let audited = sqlx::query(
        "SELECT DISTINCT patient_id FROM audit_log WHERE detail = $1 AND allowed = 1 AND action = 'read'",
    )
    .bind(format!("yearly status report {year}"))
    .fetch_all(&mut *conn)
    .await
    .expect("audit log")
    .iter()
    .map(|r| r.get::<String, _>(0))
    .collect();
    drop(conn);
    store.close().await;
    (in_lar, audited)
}

#[test]
fn report_status_writes_a_header_and_one_audited_row_per_patient_in_lar_during_the_year() {
    let dir = tempfile::tempdir().expect("tempdir");
    let url = runtime().block_on(samhand_store::testing::fresh_database_url(dir.path()));
    samhand(dir.path(), &url, &["demo", "--patients", "40"]);
    let year = jiff::Zoned::now().year();
    let year_text = year.to_string();

    let output = samhand(
        dir.path(),
        &url,
        &["report", "status", "--year", &year_text, "--format", "csv"],
    );
    let csv = String::from_utf8(output.stdout).expect("utf-8");
    let mut lines = csv.lines();
    let header = cells(lines.next().expect("a header row"));
    assert_eq!(&header[..2], ["unit", "patient_id"], "{csv}");
    assert!(
        header.iter().any(|h| h == "substance") && header.iter().any(|h| h == "substance_source"),
        "{header:?}"
    );
    let rows: Vec<Vec<String>> = lines.map(cells).collect();
    assert!(rows.iter().all(|r| r.len() == header.len()), "{csv}");
    let reported: BTreeSet<String> = rows.iter().map(|r| r[1].clone()).collect();
    assert_eq!(reported.len(), rows.len(), "one row per patient");

    let (in_lar, audited) = runtime().block_on(in_lar_and_audited(&url, year));
    assert!(!in_lar.is_empty(), "the demo has patients in LAR this year");
    assert_eq!(reported, in_lar, "one row per patient in LAR during the year");
    assert_eq!(audited, in_lar, "every patient's read is audited");

    let workbook = dir.path().join("status.xlsx");
    let path = workbook.to_str().expect("path");
    samhand(
        dir.path(),
        &url,
        &[
            "report", "status", "--year", &year_text, "--format", "xlsx", "--output", path,
        ],
    );
    let bytes = std::fs::read(&workbook).expect("the workbook");
    assert!(bytes.starts_with(b"PK"), "an XLSX file is a zip archive");
}

/// The patients of `month` whose hand-outs at a pharmacy are on record (voided
/// doses left out), and those the pharmacy count's view named in the audit log.
async fn at_pharmacies_and_audited(url: &str, month: &str) -> (BTreeSet<String>, BTreeSet<String>) {
    let store = samhand_store::Store::connect(url, 2).await.expect("connect");
    let mut conn = store.read().await.expect("conn");
    let handed_out = sqlx::query(
        "SELECT DISTINCT d.patient_id FROM dispensed_doses d \
         JOIN dispensing_events e ON e.id = d.event_id \
         JOIN organisations o ON o.id = e.place_id \
         WHERE o.kind = 'pharmacy' AND d.amount_ug > 0 AND e.day >= $1 AND e.day <= $2",
    )
    .bind(format!("{month}-01"))
    .bind(format!("{month}-31"))
    .fetch_all(&mut *conn)
    .await
    .expect("doses")
    .iter()
    .map(|r| r.get::<String, _>(0))
    .collect();
    let audited = sqlx::query(
        "SELECT DISTINCT p.patient_id FROM audit_log a JOIN audit_entry_sets e ON e.seq = a.seq \
         JOIN audit_patient_sets p ON p.set_id = e.set_id \
         WHERE a.detail = $1 AND a.allowed = 1 AND a.action = 'read'",
    )
    .bind(format!("pharmacy count {month}"))
    .fetch_all(&mut *conn)
    .await
    .expect("audit log")
    .iter()
    .map(|r| r.get::<String, _>(0))
    .collect();
    drop(conn);
    store.close().await;
    (handed_out, audited)
}

#[test]
fn report_pharmacy_writes_a_header_and_one_row_per_patient_and_pharmacy_of_the_month() {
    let dir = tempfile::tempdir().expect("tempdir");
    let url = runtime().block_on(samhand_store::testing::fresh_database_url(dir.path()));
    samhand(dir.path(), &url, &["demo", "--patients", "40"]);
    // The month of yesterday: the demo's history runs up to yesterday.
    let yesterday = jiff::Zoned::now().date().yesterday().expect("yesterday");
    let month = format!("{:04}-{:02}", yesterday.year(), yesterday.month());

    let output = samhand(
        dir.path(),
        &url,
        &["report", "pharmacy", "--month", &month, "--format", "csv"],
    );
    let csv = String::from_utf8(output.stdout).expect("utf-8");
    let mut lines = csv.lines();
    let header = cells(lines.next().expect("a header row"));
    assert_eq!(
        header,
        [
            "month",
            "pharmacy_id",
            "pharmacy",
            "patient_id",
            "supervised_intakes",
            "supervised_dates",
            "take_home_handouts",
            "take_home_dates",
            "lar_unit"
        ]
    );
    let rows: Vec<Vec<String>> = lines.map(cells).collect();
    assert!(rows.iter().all(|r| r.len() == header.len()), "{csv}");
    let (handed_out, audited) = runtime().block_on(at_pharmacies_and_audited(&url, &month));
    assert!(
        !handed_out.is_empty(),
        "the demo's pharmacies handed out doses in {month}"
    );
    let reported: BTreeSet<String> = rows.iter().map(|r| r[3].clone()).collect();
    assert_eq!(
        reported, handed_out,
        "every patient with a hand-out at a pharmacy"
    );
    assert_eq!(audited, handed_out, "the view is in each patient's access log");
    for row in &rows {
        assert_eq!(row[0], month);
        let supervised: usize = row[4].parse().expect("a count");
        let take_home: usize = row[6].parse().expect("a count");
        assert!(supervised + take_home > 0, "{row:?}");
        let days = row[5].split_whitespace().count();
        assert!(
            days <= supervised,
            "a date for each day with a supervised intake: {row:?}"
        );
    }
}
