//! `samhand verify-state`, the real binary, on a demo database (SQLite in a
//! temporary directory, or a fresh PostgreSQL database when DATABASE_URL points at
//! a PostgreSQL server): the demo's kept dosing state equals its history (exit 0
//! with a summary); a row changed behind the recording path is named with the
//! patient (exit 1); `--rebuild` derives it again (H68). The same for the kept
//! stock balances against the ledger (H104).

use std::path::Path;
use std::process::{Command, Output};

/// Runs `samhand <args>` on the database.
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
    command.output().expect("run samhand")
}

fn stdout(output: &Output) -> String {
    format!(
        "{}{}",
        String::from_utf8_lossy(&output.stdout),
        String::from_utf8_lossy(&output.stderr)
    )
}

fn runtime() -> tokio::runtime::Runtime {
    tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .expect("runtime")
}

/// A demo database (30 patients) that `verify-state` passes: its directory, a
/// runtime, its URL and what `verify-state` said.
fn demo_verified() -> (tempfile::TempDir, tokio::runtime::Runtime, String, String) {
    let dir = tempfile::tempdir().expect("tempdir");
    let rt = runtime();
    let url = rt.block_on(samhand_store::testing::fresh_database_url(dir.path()));
    let demo = samhand(dir.path(), &url, &["demo", "--patients", "30"]);
    assert!(demo.status.success(), "{}", stdout(&demo));
    let intact = samhand(dir.path(), &url, &["verify-state"]);
    let text = stdout(&intact);
    assert!(intact.status.success(), "{text}");
    (dir, rt, url, text)
}

#[test]
fn verify_state_passes_on_the_demo_and_names_a_patient_whose_kept_state_was_changed() {
    let (dir, rt, url, text) = demo_verified();
    assert!(text.contains("kept dosing state intact"), "{text}");

    // A patient with days dosed loses them behind the recording path.
    let patient: String = rt.block_on(async {
        let store = samhand_store::Store::connect(&url, 2).await.expect("connect");
        let mut conn = store.read().await.expect("conn");
        let patient: String = sqlx::Row::get(
            &sqlx::query("SELECT patient_id FROM dose_day_state WHERE dosed_days <> '' ORDER BY patient_id")
                .fetch_one(&mut *conn)
                .await
                .expect("a patient with days dosed"),
            0,
        );
        sqlx::query("UPDATE dose_day_state SET dosed_days = '' WHERE patient_id = $1")
            .bind(&patient)
            .execute(&mut *conn)
            .await
            .expect("tamper");
        drop(conn);
        store.close().await;
        patient
    });
    let broken = samhand(dir.path(), &url, &["verify-state"]);
    let text = stdout(&broken);
    assert_eq!(broken.status.code(), Some(1), "{text}");
    assert!(text.contains(&format!("patient {patient}: kept:")), "{text}");
    assert!(text.contains("differs from the history for 1 of"), "{text}");

    let rebuilt = samhand(dir.path(), &url, &["verify-state", "--rebuild"]);
    let text = stdout(&rebuilt);
    assert!(rebuilt.status.success(), "{text}");
    assert!(text.contains("kept dosing state intact"), "{text}");
}

#[test]
fn verify_state_names_a_stock_balance_that_left_the_ledger_and_rebuild_derives_it_again() {
    let (dir, rt, url, text) = demo_verified();
    assert!(text.contains("kept stock balances intact"), "{text}");

    // One product's kept balance moves behind the ledger's back.
    let (place, product): (String, String) = rt.block_on(async {
        let store = samhand_store::Store::connect(&url, 2).await.expect("connect");
        let mut conn = store.read().await.expect("conn");
        let row = sqlx::query("SELECT place_id, product FROM stock_balances ORDER BY place_id, product")
            .fetch_one(&mut *conn)
            .await
            .expect("a kept balance: the demo's places have stock");
        let kept = (sqlx::Row::get(&row, 0), sqlx::Row::get(&row, 1));
        sqlx::query(
            "UPDATE stock_balances SET quantity_milli = quantity_milli - 1000 WHERE place_id = $1 AND product = $2",
        )
        .bind(&kept.0)
        .bind(&kept.1)
        .execute(&mut *conn)
        .await
        .expect("tamper");
        drop(conn);
        store.close().await;
        kept
    });
    let broken = samhand(dir.path(), &url, &["verify-state"]);
    let text = stdout(&broken);
    assert_eq!(broken.status.code(), Some(1), "{text}");
    assert!(
        text.contains(&format!("place {place}, product {product}: kept:")),
        "{text}"
    );
    assert!(
        text.contains("kept stock balances differ from the ledger for 1 products"),
        "{text}"
    );
    assert!(text.contains("kept dosing state intact"), "{text}");

    let rebuilt = samhand(dir.path(), &url, &["verify-state", "--rebuild"]);
    let text = stdout(&rebuilt);
    assert!(rebuilt.status.success(), "{text}");
    assert!(text.contains("kept stock balances intact"), "{text}");
}
