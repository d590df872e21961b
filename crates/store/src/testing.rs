//! Support for tests in every crate: a fresh, empty database of the kind the test
//! run asks for: SQLite in a given directory, or a new PostgreSQL database when
//! DATABASE_URL points at a PostgreSQL server.

use sqlx::Connection;

/// The URL of a fresh database. With DATABASE_URL set to PostgreSQL, creates a new
/// database on that server (the role needs CREATEDB); otherwise a SQLite file in `dir`.
pub async fn fresh_database_url(dir: &std::path::Path) -> String {
    match std::env::var("DATABASE_URL") {
        Ok(admin_url) if admin_url.starts_with("postgres") => {
            sqlx::any::install_default_drivers();
            let name = format!("samhand_test_{}", uuid::Uuid::new_v4().simple());
            let mut admin = sqlx::AnyConnection::connect(&admin_url)
                .await
                .expect("connect to DATABASE_URL");
            sqlx::query(&format!("CREATE DATABASE {name}"))
                .execute(&mut admin)
                .await
                .expect("create test database");
            admin.close().await.ok();
            let (base, _) = admin_url.rsplit_once('/').expect("database url has a path");
            format!("{base}/{name}")
        }
        _ => crate::Store::sqlite_url(dir),
    }
}
