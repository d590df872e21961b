//! Embedded migrations, one source per migration for both databases, run at start.
//! A migration is never edited after it lands; a change is a new file.
//!
//! The source is SQL in the subset both databases take. Where they differ it is
//! marked: `{integer}` and `{blob}` are SQLite's INTEGER and BLOB and PostgreSQL's
//! BIGINT and BYTEA, and a block between `-- [sqlite]` or `-- [postgres]` and the
//! next marker (`-- [end]` returns to shared text) is for that database only.
//!
//! Each applied migration is recorded with the SHA-256 of the SQL that ran; at every
//! start the embedded files are checked against it, and a changed file stops the
//! start (an edited migration would leave databases that differ without saying so).

use sha2::{Digest, Sha256};
use sqlx::Row;

use crate::db::{Backend, Store, StoreError};
use crate::native::FetchOn;

struct Migration {
    version: i64,
    name: &'static str,
    source: &'static str,
}

macro_rules! migrations {
    ($(($version:literal, $name:literal, $file:literal)),* $(,)?) => {
        &[$(Migration {
            version: $version,
            name: $name,
            source: include_str!(concat!("../migrations/", $file)),
        }),*]
    };
}

const MIGRATIONS: &[Migration] = migrations![
    (1, "foundation", "0001_foundation.sql"),
    (2, "login_backoff", "0002_login_backoff.sql"),
    (3, "privacy", "0003_privacy.sql"),
    (4, "health", "0004_health.sql"),
    (6, "collaboration", "0006_collaboration.sql"),
    (7, "messages", "0007_messages.sql"),
    (8, "named_people", "0008_named_people.sql"),
    (9, "fhir", "0009_fhir.sql"),
    (10, "portal", "0010_portal.sql"),
    (11, "overdose", "0011_overdose.sql"),
    (12, "patient_requests", "0012_patient_requests.sql"),
    (13, "patient_goals", "0013_patient_goals.sql"),
    (14, "transitions", "0014_transitions.sql"),
    (15, "identity_versions", "0015_identity_versions.sql"),
    (16, "patient_conversation", "0016_patient_conversation.sql"),
    (17, "stock_products", "0017_stock_products.sql"),
    (18, "dose_order_discards", "0018_dose_order_discards.sql"),
    (19, "dispensing_corrections", "0019_dispensing_corrections.sql"),
    (20, "administration", "0020_administration.sql"),
    (21, "scheduler", "0021_scheduler.sql"),
    (22, "append_only", "0022_append_only.sql"),
    (23, "login_failures", "0023_login_failures.sql"),
    (24, "audit_keyed", "0024_audit_keyed.sql"),
    (25, "config_version", "0025_config_version.sql"),
    (30, "status_assessments", "0030_status_assessments.sql"),
    (31, "pharmacy_counts", "0031_pharmacy_counts.sql"),
    (32, "register_identifiers", "0032_register_identifiers.sql"),
    (33, "drug_test_regimes", "0033_drug_test_regimes.sql"),
    (34, "audit_patients", "0034_audit_patients.sql"),
    (35, "edi_transport", "0035_edi_transport.sql"),
    (36, "referrals", "0036_referrals.sql"),
    (37, "dose_day_state", "0037_dose_day_state.sql"),
    (38, "referral_assessments", "0038_referral_assessments.sql"),
    (41, "edi_outbox", "0041_edi_outbox.sql"),
    (42, "edi_unplaced", "0042_edi_unplaced.sql"),
    (
        44,
        "referral_referrer_organisation",
        "0044_referral_referrer_organisation.sql"
    ),
    (45, "dispensed_doses_by_mode", "0045_dispensed_doses_by_mode.sql"),
    (46, "edge", "0046_edge.sql"),
    (
        47,
        "dispensing_events_patient_day",
        "0047_dispensing_events_patient_day.sql"
    ),
    (48, "dose_day_state_assessed", "0048_dose_day_state_assessed.sql"),
    (49, "stock_balances", "0049_stock_balances.sql"),
    (50, "audit_patient_sets", "0050_audit_patient_sets.sql"),
    (51, "patient_changes", "0051_patient_changes.sql"),
    (
        52,
        "dispensing_events_patient_recorded",
        "0052_dispensing_events_patient_recorded.sql"
    ),
    (53, "audit_parked", "0053_audit_parked.sql"),
];

/// The SQL a migration's source gives for one database.
pub fn render(source: &str, backend: Backend) -> String {
    let (integer, blob) = match backend {
        Backend::Sqlite => ("INTEGER", "BLOB"),
        Backend::Postgres => ("BIGINT", "BYTEA"),
    };
    let mut keep = true;
    let mut out = String::with_capacity(source.len());
    for line in source.lines() {
        match line.trim() {
            "-- [sqlite]" => keep = backend == Backend::Sqlite,
            "-- [postgres]" => keep = backend == Backend::Postgres,
            "-- [end]" => keep = true,
            _ if keep => {
                out.push_str(&line.replace("{integer}", integer).replace("{blob}", blob));
                out.push('\n');
            }
            _ => {}
        }
    }
    out
}

fn checksum(sql: &str) -> String {
    Sha256::digest(sql.as_bytes())
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect()
}

/// Applies every migration not yet applied, each in its own transaction, after
/// checking that those applied before are the ones embedded now.
pub async fn run(store: &Store) -> Result<(), StoreError> {
    run_up_to(store, i64::MAX).await
}

/// Applies the migrations up to and including `last`: [`run`], and for a test of
/// how a migration moves the data of the ones before it.
pub async fn run_up_to(store: &Store, last: i64) -> Result<(), StoreError> {
    let mut conn = store.read().await?;
    // Created only when missing: a server connecting as an application role
    // without the right to change the schema (deploy/postgres-app-role.sql) finds
    // it there and every migration applied.
    let exists = match store.backend() {
        Backend::Sqlite => {
            "SELECT COUNT(*) AS n FROM sqlite_master WHERE type = 'table' AND name = 'schema_migrations'"
        }
        Backend::Postgres => {
            "SELECT COUNT(*) AS n FROM information_schema.tables WHERE table_schema = current_schema() AND table_name = 'schema_migrations'"
        }
    };
    if sqlx::query(exists)
        .fetch_one(&mut *conn)
        .await?
        .try_get::<i64, _>("n")?
        == 0
    {
        crate::db::execute(
            &mut *conn,
            "CREATE TABLE IF NOT EXISTS schema_migrations (version BIGINT PRIMARY KEY, name TEXT NOT NULL, applied_at BIGINT NOT NULL)",
        )
        .await?;
    }
    // Databases from before checksums were recorded get the column; their rows are
    // filled in below, from the files as they are now.
    let has_checksum = match store.backend() {
        Backend::Sqlite => {
            sqlx::query("SELECT COUNT(*) AS n FROM pragma_table_info('schema_migrations') WHERE name = 'checksum'")
                .fetch_one(&mut *conn)
                .await?
                .try_get::<i64, _>("n")?
        }
        Backend::Postgres => {
            sqlx::query(
                "SELECT COUNT(*) AS n FROM information_schema.columns WHERE table_name = 'schema_migrations' AND column_name = 'checksum'",
            )
            .fetch_one(&mut *conn)
            .await?
            .try_get::<i64, _>("n")?
        }
    } > 0;
    if !has_checksum {
        crate::db::execute(
            &mut *conn,
            "ALTER TABLE schema_migrations ADD COLUMN checksum TEXT",
        )
        .await?;
    }
    drop(conn);
    for migration in MIGRATIONS.iter().take_while(|m| m.version <= last) {
        let sql = render(migration.source, store.backend());
        let sum = checksum(&sql);
        let mut tx = store.write().await?;
        let applied = sqlx::query("SELECT checksum FROM schema_migrations WHERE version = $1")
            .bind(migration.version)
            .fetch_optional_on(&mut tx)
            .await?
            .map(|row| row.try_get::<Option<String>, _>("checksum"))
            .transpose()?;
        match applied {
            Some(Some(recorded)) if recorded == sum => continue,
            Some(Some(recorded)) => {
                return Err(StoreError::Migration(format!(
                    "migration {} ({}) was changed after it was applied: the database recorded checksum {recorded}, \
                     the file now gives {sum}. Restore the file and add the change as a new migration.",
                    migration.version, migration.name
                )));
            }
            Some(None) => {
                sqlx::query("UPDATE schema_migrations SET checksum = $1 WHERE version = $2")
                    .bind(&sum)
                    .bind(migration.version)
                    .execute_on(&mut tx)
                    .await?;
                tx.commit().await?;
                continue;
            }
            None => {}
        }
        tx.execute_script(&sql)
            .await
            .map_err(|e| StoreError::Migration(format!("{} ({}): {e}", migration.version, migration.name)))?;
        sqlx::query(
            "INSERT INTO schema_migrations (version, name, applied_at, checksum) VALUES ($1, $2, $3, $4)",
        )
        .bind(migration.version)
        .bind(migration.name)
        .bind(jiff::Timestamp::now().as_microsecond())
        .bind(&sum)
        .execute_on(&mut tx)
        .await?;
        tx.commit().await?;
        tracing::info!(
            version = migration.version,
            name = migration.name,
            "applied migration"
        );
    }
    // Kept state that a migration asks to be derived from the data already there
    // (0037: the dosing state; H69).
    if let Some(patients) = crate::day_state::backfill(store).await? {
        tracing::info!(patients, "derived the kept dosing state from the history");
    }
    // (0049: the stock balances; H104.)
    if let Some(places) = crate::stock_balance::backfill(store).await? {
        tracing::info!(places, "derived the kept stock balances from the ledger");
    }
    Ok(())
}

/// The migrations this build carries, in order: (version, name).
pub fn embedded() -> impl Iterator<Item = (i64, &'static str)> {
    MIGRATIONS.iter().map(|m| (m.version, m.name))
}

/// The migrations applied, for `samhand migrate` to report.
pub async fn applied(store: &Store) -> Result<Vec<(i64, String)>, StoreError> {
    let mut conn = store.read().await?;
    let rows = sqlx::query("SELECT version, name FROM schema_migrations ORDER BY version")
        .fetch_all(&mut *conn)
        .await?;
    rows.iter()
        .map(|r| Ok((r.try_get("version")?, r.try_get("name")?)))
        .collect()
}

/// What keeps the database from being ready for this build: each migration it
/// lacks or that changed after it was applied, named. Empty when ready. Reads only.
pub async fn readiness(store: &Store) -> Result<Vec<String>, StoreError> {
    let mut conn = store.read().await?;
    let rows = sqlx::query("SELECT version, checksum FROM schema_migrations")
        .fetch_all(&mut *conn)
        .await?;
    let mut recorded = std::collections::HashMap::new();
    for row in &rows {
        let version: i64 = row.try_get("version")?;
        let sum: Option<String> = row.try_get("checksum")?;
        recorded.insert(version, sum);
    }
    Ok(MIGRATIONS
        .iter()
        .filter_map(|m| {
            let sum = checksum(&render(m.source, store.backend()));
            match recorded.get(&m.version) {
                None => Some(format!("migration {} ({}) is not applied", m.version, m.name)),
                Some(Some(r)) if *r != sum => Some(format!(
                    "migration {} ({}) changed after it was applied",
                    m.version, m.name
                )),
                _ => None,
            }
        })
        .collect())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_source_renders_the_types_and_blocks_of_each_database() {
        let source = "CREATE TABLE t (a {integer}, b {blob});\n-- [sqlite]\nSELECT 1;\n-- [postgres]\nSELECT 2;\n-- [end]\nSELECT 3;\n";
        assert_eq!(
            render(source, Backend::Sqlite),
            "CREATE TABLE t (a INTEGER, b BLOB);\nSELECT 1;\nSELECT 3;\n"
        );
        assert_eq!(
            render(source, Backend::Postgres),
            "CREATE TABLE t (a BIGINT, b BYTEA);\nSELECT 2;\nSELECT 3;\n"
        );
    }

    #[test]
    fn every_migration_renders_without_markers_and_versions_ascend() {
        for pair in MIGRATIONS.windows(2) {
            assert!(
                pair[0].version < pair[1].version,
                "{} after {}",
                pair[1].name,
                pair[0].name
            );
        }
        for migration in MIGRATIONS {
            for backend in [Backend::Sqlite, Backend::Postgres] {
                let sql = render(migration.source, backend);
                assert!(!sql.contains('{'), "{}: an unknown placeholder", migration.name);
                assert!(!sql.contains("-- ["), "{}: a marker left", migration.name);
            }
        }
    }
}
