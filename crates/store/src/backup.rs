//! Backups of the embedded database: a consistent copy taken while the server runs
//! and writes, and the checks a copy must pass before it is restored. PostgreSQL is
//! backed up with its own tools (`pg_dump`, `pg_restore`; see README).

use std::path::{Path, PathBuf};

use crate::db::{Backend, Result, Store, StoreError};

/// The file name of the SQLite database in the data directory.
pub const DATABASE_FILE: &str = "samhand.db";

/// Writes a consistent copy of the SQLite database to `target` with `VACUUM INTO`:
/// one read transaction, so the copy is the database as of one moment, whatever is
/// written meanwhile; every committed write before that moment is in it. Refuses a
/// target that exists. Returns the copy's size in bytes.
pub async fn backup_sqlite(store: &Store, target: &Path) -> Result<u64> {
    if store.backend() != Backend::Sqlite {
        return Err(StoreError::Migration(
            "PostgreSQL is backed up with pg_dump --format=custom and restored with pg_restore".into(),
        ));
    }
    if target.exists() {
        return Err(StoreError::Migration(format!(
            "{} exists already; a backup never overwrites a file",
            target.display()
        )));
    }
    let mut conn = store.read().await?;
    sqlx::query("VACUUM INTO $1")
        .bind(target.display().to_string())
        .execute(&mut *conn)
        .await?;
    drop(conn);
    Ok(std::fs::metadata(target).map(|m| m.len()).unwrap_or(0))
}

/// Where a restore keeps the database it replaces: beside it, named with the time.
pub fn replaced_name(database: &Path, stamp: &str) -> PathBuf {
    database.with_file_name(format!("{DATABASE_FILE}.before-restore-{stamp}"))
}

/// How many dispensings a database holds: what a restore reports.
pub async fn dispensing_count(store: &Store) -> Result<i64> {
    let mut conn = store.read().await?;
    Ok(sqlx::query_scalar("SELECT COUNT(*) FROM dispensing_events")
        .fetch_one(&mut *conn)
        .await?)
}
