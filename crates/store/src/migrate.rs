//! Embedded migrations, one set per dialect, run at start. A migration is never
//! edited after it lands; a change is a new file.

use sqlx::{Executor, Row};

use crate::db::{Backend, Store, StoreError, classify};

struct Migration {
    version: i64,
    name: &'static str,
    sqlite: &'static str,
    postgres: &'static str,
}

const MIGRATIONS: &[Migration] = &[
    Migration {
        version: 1,
        name: "foundation",
        sqlite: include_str!("../migrations/sqlite/0001_foundation.sql"),
        postgres: include_str!("../migrations/postgres/0001_foundation.sql"),
    },
    Migration {
        version: 2,
        name: "login_backoff",
        sqlite: include_str!("../migrations/sqlite/0002_login_backoff.sql"),
        postgres: include_str!("../migrations/postgres/0002_login_backoff.sql"),
    },
    Migration {
        version: 3,
        name: "privacy",
        sqlite: include_str!("../migrations/sqlite/0003_privacy.sql"),
        postgres: include_str!("../migrations/postgres/0003_privacy.sql"),
    },
    Migration {
        version: 4,
        name: "health",
        sqlite: include_str!("../migrations/sqlite/0004_health.sql"),
        postgres: include_str!("../migrations/postgres/0004_health.sql"),
    },
    Migration {
        version: 6,
        name: "collaboration",
        sqlite: include_str!("../migrations/sqlite/0006_collaboration.sql"),
        postgres: include_str!("../migrations/postgres/0006_collaboration.sql"),
    },
    Migration {
        version: 7,
        name: "messages",
        sqlite: include_str!("../migrations/sqlite/0007_messages.sql"),
        postgres: include_str!("../migrations/postgres/0007_messages.sql"),
    },
    Migration {
        version: 8,
        name: "named_people",
        sqlite: include_str!("../migrations/sqlite/0008_named_people.sql"),
        postgres: include_str!("../migrations/postgres/0008_named_people.sql"),
    },
    Migration {
        version: 9,
        name: "fhir",
        sqlite: include_str!("../migrations/sqlite/0009_fhir.sql"),
        postgres: include_str!("../migrations/postgres/0009_fhir.sql"),
    },
    Migration {
        version: 10,
        name: "portal",
        sqlite: include_str!("../migrations/sqlite/0010_portal.sql"),
        postgres: include_str!("../migrations/postgres/0010_portal.sql"),
    },
    Migration {
        version: 11,
        name: "overdose",
        sqlite: include_str!("../migrations/sqlite/0011_overdose.sql"),
        postgres: include_str!("../migrations/postgres/0011_overdose.sql"),
    },
    Migration {
        version: 12,
        name: "patient_requests",
        sqlite: include_str!("../migrations/sqlite/0012_patient_requests.sql"),
        postgres: include_str!("../migrations/postgres/0012_patient_requests.sql"),
    },
    Migration {
        version: 13,
        name: "patient_goals",
        sqlite: include_str!("../migrations/sqlite/0013_patient_goals.sql"),
        postgres: include_str!("../migrations/postgres/0013_patient_goals.sql"),
    },
    Migration {
        version: 14,
        name: "transitions",
        sqlite: include_str!("../migrations/sqlite/0014_transitions.sql"),
        postgres: include_str!("../migrations/postgres/0014_transitions.sql"),
    },
    Migration {
        version: 15,
        name: "identity_versions",
        sqlite: include_str!("../migrations/sqlite/0015_identity_versions.sql"),
        postgres: include_str!("../migrations/postgres/0015_identity_versions.sql"),
    },
    Migration {
        version: 16,
        name: "patient_conversation",
        sqlite: include_str!("../migrations/sqlite/0016_patient_conversation.sql"),
        postgres: include_str!("../migrations/postgres/0016_patient_conversation.sql"),
    },
    Migration {
        version: 17,
        name: "stock_products",
        sqlite: include_str!("../migrations/sqlite/0017_stock_products.sql"),
        postgres: include_str!("../migrations/postgres/0017_stock_products.sql"),
    },
];

/// Applies every migration not yet applied, each in its own transaction.
pub async fn run(store: &Store) -> Result<(), StoreError> {
    let mut conn = store.read().await?;
    conn.execute(
        "CREATE TABLE IF NOT EXISTS schema_migrations (version BIGINT PRIMARY KEY, name TEXT NOT NULL, applied_at BIGINT NOT NULL)",
    )
    .await?;
    drop(conn);
    for migration in MIGRATIONS {
        let mut tx = store.write().await?;
        let applied = sqlx::query("SELECT COUNT(*) AS n FROM schema_migrations WHERE version = $1")
            .bind(migration.version)
            .fetch_one(&mut *tx.tx)
            .await?
            .try_get::<i64, _>("n")?;
        if applied > 0 {
            continue;
        }
        let sql = match store.backend() {
            Backend::Sqlite => migration.sqlite,
            Backend::Postgres => migration.postgres,
        };
        sqlx::raw_sql(sql)
            .execute(&mut *tx.tx)
            .await
            .map_err(|e| StoreError::Migration(format!("{} ({}): {e}", migration.version, migration.name)))?;
        sqlx::query("INSERT INTO schema_migrations (version, name, applied_at) VALUES ($1, $2, $3)")
            .bind(migration.version)
            .bind(migration.name)
            .bind(jiff::Timestamp::now().as_microsecond())
            .execute(&mut *tx.tx)
            .await
            .map_err(classify)?;
        tx.commit().await?;
        tracing::info!(
            version = migration.version,
            name = migration.name,
            "applied migration"
        );
    }
    Ok(())
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
