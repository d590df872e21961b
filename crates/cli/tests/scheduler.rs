//! Two `samhand serve` processes on one database (SQLite in a temporary
//! directory, or a fresh PostgreSQL database when DATABASE_URL points at one), each
//! with its scheduler ticking every second: every job runs once, in one of them,
//! because the lease in `scheduler_jobs` is taken in one statement.

use std::net::TcpListener;
use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

struct Server(Child);

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

fn command(dir: &Path, database_url: Option<&str>, args: &[&str]) -> Command {
    let mut command = Command::new(env!("CARGO_BIN_EXE_samhand"));
    command
        .args(args)
        .env("SAMHAND_DATA_DIR", dir)
        .env("SAMHAND_LOG", "warn")
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::null());
    match database_url {
        Some(url) => command.env("DATABASE_URL", url),
        None => command.env_remove("DATABASE_URL").env_remove("DATABASE_URL_FILE"),
    };
    command
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn two_servers_on_one_database_run_each_due_job_once() {
    let dir = tempfile::tempdir().expect("dir");
    let url = samhand_store::testing::fresh_database_url(dir.path()).await;
    let database_url = url.starts_with("postgres").then_some(url.as_str());
    let demo = command(dir.path(), database_url, &["demo", "--patients", "30"])
        .status()
        .expect("demo");
    assert!(demo.success());
    let servers: Vec<Server> = (0..2)
        .map(|_| {
            let port = TcpListener::bind("127.0.0.1:0")
                .expect("port")
                .local_addr()
                .expect("addr")
                .port();
            Server(
                command(dir.path(), database_url, &["serve"])
                    .env("SAMHAND_ADDR", format!("127.0.0.1:{port}"))
                    .env("SAMHAND_SCHEDULER_SECONDS", "1")
                    .spawn()
                    .expect("serve"),
            )
        })
        .collect();
    let store = samhand_store::Store::connect(&url, 2).await.expect("connect");
    // Both tick every second for a few seconds; the jobs are due again only after
    // five minutes or more.
    let deadline = Instant::now() + Duration::from_secs(30);
    let jobs = loop {
        tokio::time::sleep(Duration::from_secs(1)).await;
        let mut conn = store.read().await.expect("conn");
        let jobs = samhand_store::scheduler::jobs(&mut conn).await.expect("jobs");
        if jobs.len() == 5 && jobs.iter().all(|j| j.runs > 0) {
            break jobs;
        }
        assert!(Instant::now() < deadline, "the schedulers did not run: {jobs:?}");
    };
    tokio::time::sleep(Duration::from_secs(4)).await;
    let mut conn = store.read().await.expect("conn");
    let after = samhand_store::scheduler::jobs(&mut conn).await.expect("jobs");
    drop(conn);
    for job in &after {
        assert_eq!(
            job.runs, 1,
            "{} ran once across the two servers: {after:?}",
            job.job
        );
        assert!(
            job.last_outcome.as_deref().is_some_and(|o| o.starts_with("ok")),
            "{job:?}"
        );
    }
    assert_eq!(jobs.len(), after.len());
    store.close().await;
    drop(servers);
}
