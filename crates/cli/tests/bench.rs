//! `samhand bench --json`, the real binary on a tiny world: every phase runs, and
//! the last line is one JSON object with the figures an outside check reads.
//! (Speed itself is measured by running the bench, into BENCHMARKS.md, never
//! asserted here.)

use std::process::Command;

#[test]
fn bench_json_prints_every_figure_of_every_phase_on_its_last_line() {
    let dir = tempfile::tempdir().expect("dir");
    let output = Command::new(env!("CARGO_BIN_EXE_samhand"))
        .args([
            "bench",
            "--patients",
            "60",
            "--places",
            "3",
            "--big-place-patients",
            "20",
            "--history-days",
            "7",
            // Every patient away from the big place: the statement count must
            // still find patients of its own (it once counted none and said 0.0).
            "--dispensings",
            "40",
            "--reads",
            "20",
            "--mixed",
            "20",
            "--raw-inserts",
            "20",
            "--concurrency",
            "4",
            "--json",
            "--data-dir",
        ])
        .arg(dir.path())
        .env("SAMHAND_DATA_DIR", dir.path())
        .env("SAMHAND_LOG", "warn")
        .output()
        .expect("run samhand bench");
    let stdout = String::from_utf8_lossy(&output.stdout);
    assert!(
        output.status.success(),
        "{stdout}\n{}",
        String::from_utf8_lossy(&output.stderr)
    );
    let last = stdout.lines().last().expect("output");
    let figures: serde_json::Value = serde_json::from_str(last).expect("the last line is JSON");
    for key in [
        "raw_inserts_per_s",
        "dispensings_per_s",
        "dispensing_ratio",
        "list_p50_ms",
        "list_p99_ms",
        "overview_p50_ms",
        "reads_per_core",
        "mixed_per_core",
        "alerts_ms",
        "rss_mb",
        "statements_dispensing",
        "statements_overview",
        "export_s",
        "export_resources",
        "export_peak_rss_mb",
    ] {
        let value = figures[key].as_f64().unwrap_or_else(|| panic!("{key} in {last}"));
        assert!(value > 0.0, "{key} = {value} in {last}");
    }
    assert_eq!(figures["alerts_patients"], 60, "{last}");
    // Each patient's identity, order and episode came out of the export.
    assert!(figures["export_resources"].as_u64() >= Some(180), "{last}");
    // A dispensing is at least its write and its audit entry, and an overview at
    // least its reads; the counter sees them.
    assert!(figures["statements_dispensing"].as_f64() >= Some(2.0), "{last}");
    assert!(figures["statements_overview"].as_f64() >= Some(2.0), "{last}");
    // The resident memory is its allocated part and its mapped files.
    let part = |key: &str| figures[key].as_f64().unwrap_or_else(|| panic!("{key} in {last}"));
    assert!(part("rss_anon_mb") > 0.0, "{last}");
    assert!(
        (part("rss_anon_mb") + part("rss_file_mb") - part("rss_mb")).abs() < 5.0,
        "{last}"
    );
    // The world's places have a stock ledger: a line for each dose of the history
    // and a count of each product every seventh day (the balance a recording reads
    // starts at the last count, H101). Read from the kept SQLite file; on
    // PostgreSQL the bench's database is one it names itself, and the run above
    // wrote the same rows there.
    if std::env::var_os("DATABASE_URL").is_some() {
        return;
    }
    let (dispensed, counted, counts) = tokio::runtime::Runtime::new().expect("runtime").block_on(async {
        let url = format!("sqlite://{}", dir.path().join("samhand.db").display());
        let mut conn = <sqlx::SqliteConnection as sqlx::Connection>::connect(&url)
            .await
            .expect("the kept database");
        let count = |sql: &'static str| sqlx::query_scalar::<_, i64>(sql);
        (
            count("SELECT COUNT(*) FROM stock_ledger WHERE movement = 'dispensed' AND count_id IS NULL")
                .fetch_one(&mut conn)
                .await
                .expect("dispensed"),
            count("SELECT COUNT(*) FROM stock_ledger WHERE movement = 'counted' AND count_id IS NOT NULL")
                .fetch_one(&mut conn)
                .await
                .expect("counted"),
            count("SELECT COUNT(*) FROM stock_counts")
                .fetch_one(&mut conn)
                .await
                .expect("counts"),
        )
    });
    assert!(
        dispensed >= 60 * 7,
        "a year's (here a week's) doses of 60 patients: {dispensed}"
    );
    assert!(
        counted > 0 && counted == counts,
        "{counted} lines, {counts} counts"
    );
    // The ledger was written around the kept balances; the world derives them,
    // and the run's dispensings kept them (H104).
    let verified = Command::new(env!("CARGO_BIN_EXE_samhand"))
        .arg("verify-state")
        .env("SAMHAND_DATA_DIR", dir.path())
        .env("SAMHAND_LOG", "warn")
        .output()
        .expect("run samhand verify-state");
    let text = String::from_utf8_lossy(&verified.stdout);
    assert!(verified.status.success(), "{text}");
    assert!(text.contains("kept stock balances intact: 3 places"), "{text}");
}
