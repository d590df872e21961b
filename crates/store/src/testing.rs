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

/// Lets a test change the audit log directly, as an insider with the database's
/// owner rights could (they can drop the append-only triggers too): for tests that
/// `audit verify` finds what was changed.
pub async fn allow_tampering_with_the_audit_log(conn: &mut sqlx::AnyConnection, backend: crate::Backend) {
    let statements: &[&str] = match backend {
        crate::Backend::Sqlite => &[
            "DROP TRIGGER audit_log_no_update",
            "DROP TRIGGER audit_log_no_delete",
        ],
        crate::Backend::Postgres => &["DROP TRIGGER audit_log_append_only ON audit_log"],
    };
    for statement in statements {
        sqlx::query(statement)
            .execute(&mut *conn)
            .await
            .expect("drop the append-only trigger");
    }
}

/// Drops the append-only triggers of `audit_patient_sets` and `audit_entry_sets`
/// (the patients an audit entry names), for tests that tamper with them.
pub async fn allow_tampering_with_audit_links(conn: &mut sqlx::AnyConnection, backend: crate::Backend) {
    let statements: &[&str] = match backend {
        crate::Backend::Sqlite => &[
            "DROP TRIGGER audit_patient_sets_no_update",
            "DROP TRIGGER audit_patient_sets_no_delete",
            "DROP TRIGGER audit_entry_sets_no_update",
            "DROP TRIGGER audit_entry_sets_no_delete",
        ],
        crate::Backend::Postgres => &[
            "DROP TRIGGER audit_patient_sets_append_only ON audit_patient_sets",
            "DROP TRIGGER audit_entry_sets_append_only ON audit_entry_sets",
        ],
    };
    for statement in statements {
        sqlx::query(statement)
            .execute(&mut *conn)
            .await
            .expect("drop the append-only trigger");
    }
}

/// The audit key of test worlds (never a real one).
pub fn audit_key() -> crate::anchor::AuditKey {
    crate::anchor::AuditKey::from_bytes(b"samhand test audit key: not for any real log")
        .expect("a long enough key")
}

/// A member of a dispensing place's staff, for entries written by tests.
pub fn dispensing_staff() -> samhand_domain::access::Actor {
    use samhand_domain::ids::{OrganisationId, UserId};
    use samhand_domain::organisation::{OrganisationKind, Role, StaffUser};
    samhand_domain::access::Actor::Staff(StaffUser {
        id: UserId::new(),
        username: "utdeler".into(),
        display_name: "Utdeler".into(),
        role: Role::DispensingStaff,
        organisation_id: OrganisationId::new(),
        organisation_kind: OrganisationKind::MunicipalLarCentre,
    })
}

/// Polls `work` `polls` times, yielding to the runtime between polls, and drops it
/// unfinished: a request whose client went away at that point (H100).
pub async fn abandon_after<F: std::future::Future>(polls: usize, work: F) {
    let mut work = std::pin::pin!(work);
    for _ in 0..polls {
        let polled = std::future::poll_fn(|cx| std::task::Poll::Ready(work.as_mut().poll(cx))).await;
        if polled.is_ready() {
            return;
        }
        tokio::task::yield_now().await;
    }
}

/// The audit entry of a view of today's list by `actor`, about `patient` or (with
/// none) about the patients `audit::append_about_many` is given: for tests of the
/// audit log.
pub fn list_view_entry(
    actor: &samhand_domain::access::Actor,
    patient: Option<samhand_domain::ids::PatientId>,
) -> crate::audit::AuditEntry<'_> {
    crate::audit::AuditEntry {
        at: jiff::Timestamp::from_second(1_800_000_000).expect("a valid instant"),
        actor,
        patient,
        category: samhand_domain::access::DataCategory::Dispensing,
        action: samhand_domain::access::Action::Read,
        allowed: true,
        relation: "dispensing_place",
        detail: "today's dispensing list",
    }
}

/// Records the names of the tables every read on SQLite's own connections reads
/// from now on (the hot reads: today's list, an overview); `None` on PostgreSQL or
/// a SQLite database in memory, whose reads go through sqlx.
pub fn watch_tables_read(store: &crate::Store) -> Option<crate::native::TablesRead> {
    store.native_reads().map(|reads| reads.watch_tables())
}

/// Reads every kind of privacy fact of `patients`, whether they have any or not:
/// [`crate::privacy::facts_of`] reads only the kinds present, and a test of which
/// tables the reads touch needs them all.
pub async fn read_every_privacy_fact(
    conn: &mut impl crate::native::Fetch,
    patients: &[samhand_domain::ids::PatientId],
) -> crate::db::Result<()> {
    let every: std::collections::HashSet<String> = crate::privacy::FACT_KINDS
        .iter()
        .map(|(kind, _)| kind.to_string())
        .collect();
    crate::privacy::facts_of_kinds(conn, patients, &every, std::collections::HashMap::new())
        .await
        .map(|_| ())
}

/// SQLite's plan of a query (an `EXPLAIN QUERY PLAN` with its arguments) on an
/// empty database of the current schema, as each step's detail: SQLite's planner
/// has no statistics, so it plans a full database the same way.
#[cfg(test)]
pub(crate) async fn sqlite_plan<'q>(
    explain: sqlx::query::Query<'q, sqlx::Any, sqlx::any::AnyArguments<'q>>,
) -> Vec<String> {
    let dir = tempfile::tempdir().expect("tempdir");
    let url = format!("sqlite://{}?mode=rwc", dir.path().join("plan.db").display());
    let store = crate::Store::connect(&url, 2).await.expect("store");
    let mut conn = store.read().await.expect("conn");
    explain
        .fetch_all(&mut *conn)
        .await
        .expect("plan")
        .iter()
        .map(|row| crate::codec::text(row, "detail").expect("detail"))
        .collect()
}
