//! Reads write nothing: every page a staff member can reach by following links, and
//! every GET endpoint of the API, leaves every table as it was, except the audit
//! log (a read of patient data is audited) and the session's last use. Run in a
//! world where time-driven work is due (an order blocked by missed doses, a planned
//! discharge within the notice time), which reads used to send.

use std::collections::{BTreeMap, BTreeSet, VecDeque};

use jiff::civil::{Time, date};
use reqwest::StatusCode;
use samhand_store::Backend;
use serde_json::json;

use crate::helpers::{Staff, TestApp, WebSession, spawn_app};

/// Tables a read may change: the audit log with the sets of patients its list
/// views name (`audit_entry_sets`, `audit_patient_sets`), and the sessions (a login
/// is not a read, and is done before the count).
const WRITTEN_BY_READS: [&str; 3] = ["audit_log", "audit_entry_sets", "audit_patient_sets"];
/// Pages per user: enough to reach every page kind from the menus.
const MAX_PAGES: usize = 120;

impl TestApp {
    /// Every table's row count.
    async fn row_counts(&self) -> BTreeMap<String, i64> {
        let mut conn = self.state.store.read().await.expect("conn");
        let list = match self.state.store.backend() {
            Backend::Sqlite => {
                "SELECT name FROM sqlite_master WHERE type = 'table' AND name NOT LIKE 'sqlite_%'"
            }
            Backend::Postgres => {
                "SELECT CAST(tablename AS TEXT) AS name FROM pg_tables WHERE schemaname = current_schema()"
            }
        };
        let names: Vec<String> = sqlx::query_scalar(list)
            .fetch_all(&mut *conn)
            .await
            .expect("tables");
        let mut counts = BTreeMap::new();
        for name in names {
            if WRITTEN_BY_READS.contains(&name.as_str()) {
                continue;
            }
            let count: i64 = sqlx::query_scalar(&format!("SELECT COUNT(*) FROM {name}"))
                .fetch_one(&mut *conn)
                .await
                .expect("count");
            counts.insert(name, count);
        }
        counts
    }

    /// Follows the links of the staff UI from the front page, breadth first; the
    /// paths visited.
    async fn crawl(&self, session: &WebSession) -> BTreeSet<String> {
        let mut seen = BTreeSet::new();
        let mut queue = VecDeque::from(["/".to_string()]);
        while let Some(path) = queue.pop_front() {
            if seen.len() >= MAX_PAGES || !seen.insert(path.clone()) {
                continue;
            }
            let response = self
                .client
                .get(self.url(&path))
                .header("Cookie", format!("samhand_session={}", session.cookie))
                .send()
                .await
                .expect("page");
            if let Some(location) = response.headers().get("location").and_then(|l| l.to_str().ok()) {
                queue.push_back(location.to_string());
                continue;
            }
            let html = response.text().await.expect("body");
            for link in html
                .split("href=\"")
                .skip(1)
                .filter_map(|rest| rest.split('"').next())
            {
                let link = link.replace("&amp;", "&");
                let inside = link.starts_with('/') && !link.starts_with("//");
                let skip =
                    link.starts_with("/static") || link.contains("logg-ut") || link.contains("/logout");
                if inside && !skip {
                    queue.push_back(link);
                }
            }
        }
        seen
    }

    /// Every GET of the API's OpenAPI document, with `{id}` for one patient's and
    /// the rest left out; the paths fetched.
    async fn get_every_api_read(&self, staff: &Staff, patient: &str) -> Vec<String> {
        let (status, openapi) = self.get_json(staff, "/api/v1/openapi.json").await;
        assert_eq!(status, StatusCode::OK);
        let mut fetched = Vec::new();
        for (path, item) in openapi["paths"].as_object().expect("paths") {
            if item.get("get").is_none() {
                continue;
            }
            let concrete = path.replace("/patients/{id}", &format!("/patients/{patient}"));
            if concrete.contains('{') {
                continue;
            }
            let (status, _) = self.get_json(staff, &format!("/api/v1{concrete}")).await;
            assert!(status.as_u16() < 500, "GET {concrete}: {status}");
            fetched.push(concrete);
        }
        fetched
    }
}

#[tokio::test]
async fn following_every_link_and_every_api_read_writes_nothing_even_when_notices_are_due() {
    let app = spawn_app().await;
    let w = &app.world;
    let patient = app.patient_on_daily_methadone(501).await;
    let (status, body) = app
        .post_json(
            &w.akuttlege,
            &format!("/api/v1/patients/{patient}/stays"),
            &json!({"kind": "institution", "starts_on": "2026-11-24", "planned_end_on": "2026-12-04"}),
        )
        .await;
    assert_eq!(status, StatusCode::CREATED, "{body}");
    let blocked = app.patient_on_daily_methadone(502).await;
    // Saturday: the second patient's order is blocked, the stay ends within the
    // notice time; both are due to be told, by the scheduler.
    app.set_oslo_time(date(2026, 11, 28), Time::constant(9, 0, 0, 0));
    let users = [
        "lege",
        "konsulent",
        "utdeler",
        "koordinator",
        "leder",
        "fastlege",
        "nav",
        "admin",
    ];
    // Logins are writes; they come first.
    let mut sessions = Vec::new();
    for username in users {
        sessions.push(app.session_of(username).await);
    }
    let before = app.row_counts().await;

    let mut pages = 0;
    for session in &sessions {
        pages += app.crawl(session).await.len();
    }
    let mut reads = 0;
    for staff in [&w.lege, &w.utdeler, &w.leder, &w.koordinator] {
        reads += app.get_every_api_read(staff, &blocked).await.len();
    }
    assert!(
        pages > 40 && reads > 20,
        "the crawl reached too little: {pages} pages, {reads} API reads"
    );

    let after = app.row_counts().await;
    let changed: Vec<String> = before
        .iter()
        .filter(|(table, count)| after.get(*table) != Some(count))
        .map(|(table, count)| format!("{table}: {count} → {:?}", after.get(table)))
        .collect();
    assert!(changed.is_empty(), "reads wrote rows: {changed:?}");

    // What was due is sent by the scheduler, not by the reads.
    let ran = app.run_scheduler().await;
    let sent: u64 = ran
        .iter()
        .filter(|(job, _)| *job == "planning_notices" || *job == "missed_dose_notices")
        .map(|(_, n)| n)
        .sum();
    assert!(sent >= 2, "{ran:?}");
    assert_ne!(app.row_counts().await["messages"], before["messages"]);
}
