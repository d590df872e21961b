//! Both databases get the same schema from the one migration source: the schema the
//! migrations give (tables, columns with their types mapped, nullability, primary
//! keys, unique constraints, indexes, foreign keys) is read back from the database
//! and compared with `tests/schema.txt`. The SQLite run and the PostgreSQL run
//! compare with the same file, so the two agree. After a new migration, write the
//! file anew with `SAMHAND_UPDATE_SCHEMA=1 cargo test -p samhand-store --test schema`
//! and review the difference. A migration changed after it was applied stops the
//! start.

use std::collections::BTreeSet;

use samhand_store::native::FetchOn;
use samhand_store::{Backend, Store};
use sqlx::Row;

async fn fresh() -> (Store, tempfile::TempDir, String) {
    let dir = tempfile::tempdir().expect("tempdir");
    let url = samhand_store::testing::fresh_database_url(dir.path()).await;
    (Store::connect(&url, 2).await.expect("connect"), dir, url)
}

/// A column type as both databases mean it.
fn mapped(sql_type: &str) -> &'static str {
    match sql_type.to_ascii_lowercase().as_str() {
        "integer" | "bigint" | "int" | "int8" | "int4" | "smallint" => "int",
        "text" | "character varying" => "text",
        "blob" | "bytea" => "bytes",
        "real" | "double precision" => "float",
        other => panic!("a column type the schema test does not map: {other}"),
    }
}

async fn strings(conn: &mut sqlx::AnyConnection, sql: &str, binds: &[&str]) -> Vec<Vec<String>> {
    let mut query = sqlx::query(sql);
    for bind in binds {
        query = query.bind(bind.to_string());
    }
    query
        .fetch_all(conn)
        .await
        .unwrap_or_else(|e| panic!("{sql}: {e}"))
        .iter()
        .map(|row| {
            (0..sqlx::Row::len(row))
                .map(|i| {
                    row.try_get::<String, _>(i)
                        .or_else(|_| row.try_get::<i64, _>(i).map(|n| n.to_string()))
                        .or_else(|_| row.try_get::<i32, _>(i).map(|n| n.to_string()))
                        .or_else(|_| row.try_get::<bool, _>(i).map(|b| b.to_string()))
                        .unwrap_or_default()
                })
                .collect()
        })
        .collect()
}

async fn sqlite_schema(conn: &mut sqlx::AnyConnection) -> BTreeSet<String> {
    let mut schema = BTreeSet::new();
    let tables = strings(
        conn,
        "SELECT name FROM sqlite_master WHERE type = 'table' AND name NOT LIKE 'sqlite_%' ORDER BY name",
        &[],
    )
    .await;
    for table in tables.iter().map(|t| t[0].clone()) {
        schema.insert(format!("table {table}"));
        let columns = strings(
            conn,
            "SELECT name, type, \"notnull\", pk FROM pragma_table_info($1) ORDER BY cid",
            &[&table],
        )
        .await;
        let mut primary: Vec<(i64, String)> = Vec::new();
        for c in &columns {
            let pk: i64 = c[3].parse().unwrap_or(0);
            let not_null = c[2] == "1" || pk > 0;
            schema.insert(format!(
                "column {table}.{} {} {}",
                c[0],
                mapped(&c[1]),
                if not_null { "not null" } else { "null" }
            ));
            if pk > 0 {
                primary.push((pk, c[0].clone()));
            }
        }
        primary.sort();
        if !primary.is_empty() {
            let cols: Vec<String> = primary.into_iter().map(|(_, c)| c).collect();
            schema.insert(format!("primary key {table} ({})", cols.join(", ")));
        }
        let indexes = strings(
            conn,
            "SELECT name, \"unique\", origin FROM pragma_index_list($1)",
            &[&table],
        )
        .await;
        for index in indexes {
            if index[2] == "pk" {
                continue;
            }
            let cols = strings(
                conn,
                "SELECT name FROM pragma_index_info($1) ORDER BY seqno",
                &[&index[0]],
            )
            .await;
            let cols: Vec<String> = cols.into_iter().map(|c| c[0].clone()).collect();
            if index[1] == "1" {
                schema.insert(format!("unique {table} ({})", cols.join(", ")));
            } else {
                schema.insert(format!("index {table}.{} ({})", index[0], cols.join(", ")));
            }
        }
        let keys = strings(
            conn,
            "SELECT \"from\", \"table\", \"to\" FROM pragma_foreign_key_list($1)",
            &[&table],
        )
        .await;
        for key in keys {
            schema.insert(format!("foreign key {table}.{} -> {}.{}", key[0], key[1], key[2]));
        }
    }
    schema
}

async fn postgres_schema(conn: &mut sqlx::AnyConnection) -> BTreeSet<String> {
    let mut schema = BTreeSet::new();
    let tables = strings(
        conn,
        "SELECT table_name::text FROM information_schema.tables WHERE table_schema = current_schema() AND table_type = 'BASE TABLE'",
        &[],
    )
    .await;
    for table in tables.iter().map(|t| t[0].clone()) {
        schema.insert(format!("table {table}"));
        let columns = strings(
            conn,
            "SELECT column_name::text, data_type::text, is_nullable::text FROM information_schema.columns
             WHERE table_schema = current_schema() AND table_name = $1",
            &[&table],
        )
        .await;
        for c in &columns {
            schema.insert(format!(
                "column {table}.{} {} {}",
                c[0],
                mapped(&c[1]),
                if c[2] == "NO" { "not null" } else { "null" }
            ));
        }
        // Every index with its columns in order, and whether it is the primary key
        // or unique (a unique constraint is a unique index too).
        let indexes = strings(
            conn,
            "SELECT i.relname::text, ix.indisprimary::text, ix.indisunique::text,
                    array_to_string(ARRAY(
                        SELECT a.attname::text FROM unnest(ix.indkey) WITH ORDINALITY AS k(attnum, n)
                        JOIN pg_attribute a ON a.attrelid = t.oid AND a.attnum = k.attnum ORDER BY k.n
                    ), ', ')
             FROM pg_index ix
             JOIN pg_class t ON t.oid = ix.indrelid
             JOIN pg_class i ON i.oid = ix.indexrelid
             JOIN pg_namespace s ON s.oid = t.relnamespace
             WHERE s.nspname = current_schema() AND t.relname = $1",
            &[&table],
        )
        .await;
        for index in indexes {
            if index[1] == "true" {
                schema.insert(format!("primary key {table} ({})", index[3]));
            } else if index[2] == "true" {
                schema.insert(format!("unique {table} ({})", index[3]));
            } else {
                schema.insert(format!("index {table}.{} ({})", index[0], index[3]));
            }
        }
        let keys = strings(
            conn,
            "SELECT a.attname::text, ft.relname::text, fa.attname::text
             FROM pg_constraint c
             JOIN pg_class t ON t.oid = c.conrelid
             JOIN pg_namespace s ON s.oid = t.relnamespace
             JOIN pg_class ft ON ft.oid = c.confrelid
             JOIN pg_attribute a ON a.attrelid = c.conrelid AND a.attnum = c.conkey[1]
             JOIN pg_attribute fa ON fa.attrelid = c.confrelid AND fa.attnum = c.confkey[1]
             WHERE c.contype = 'f' AND s.nspname = current_schema() AND t.relname = $1",
            &[&table],
        )
        .await;
        for key in keys {
            schema.insert(format!("foreign key {table}.{} -> {}.{}", key[0], key[1], key[2]));
        }
    }
    schema
}

#[tokio::test]
async fn both_databases_get_the_schema_of_the_one_migration_source() {
    let (store, _dir, _) = fresh().await;
    let mut conn = store.read().await.expect("conn");
    let schema = match store.backend() {
        Backend::Sqlite => sqlite_schema(&mut conn).await,
        Backend::Postgres => postgres_schema(&mut conn).await,
    };
    let text: String = schema.iter().map(|line| format!("{line}\n")).collect();
    let path = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/schema.txt");
    if std::env::var_os("SAMHAND_UPDATE_SCHEMA").is_some() {
        std::fs::write(&path, &text).expect("write tests/schema.txt");
        return;
    }
    let expected = std::fs::read_to_string(&path).expect("tests/schema.txt");
    let expected: BTreeSet<&str> = expected.lines().collect();
    let found: BTreeSet<&str> = text.lines().collect();
    let missing: Vec<&&str> = expected.difference(&found).collect();
    let extra: Vec<&&str> = found.difference(&expected).collect();
    assert!(
        missing.is_empty() && extra.is_empty(),
        "the {:?} schema differs from tests/schema.txt\n  missing: {missing:#?}\n  extra: {extra:#?}",
        store.backend()
    );
}

#[tokio::test]
async fn a_migration_changed_after_it_was_applied_stops_the_start() {
    let (store, _dir, url) = fresh().await;
    {
        let mut tx = store.write().await.expect("tx");
        sqlx::query("UPDATE schema_migrations SET checksum = $1 WHERE version = 1")
            .bind("0000")
            .execute_on(&mut tx)
            .await
            .expect("tamper");
        tx.commit().await.expect("commit");
    }
    store.close().await;
    let refused = Store::connect(&url, 2).await.err().expect("the start is refused");
    let message = refused.to_string();
    assert!(
        message.contains("migration 1 (foundation) was changed after it was applied"),
        "{message}"
    );
}
