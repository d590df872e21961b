//! The scheduler's leases: one server at a time runs a job, and a job runs again
//! only when it is next due.

use jiff::Timestamp;
use sqlx::AnyConnection;

use crate::codec::{instant_opt, int, micros, text};
use crate::db::Result;
use crate::native::{Fetch, FetchOn};

/// Takes the lease on `job` for `holder` until `lease_until`, when the job is due
/// at `now` and no other holder's lease runs; whether it was taken. One statement,
/// so two servers cannot both take it.
pub async fn take_lease(
    conn: &mut impl Fetch,
    job: &str,
    holder: &str,
    now: Timestamp,
    lease_until: Timestamp,
) -> Result<bool> {
    sqlx::query("INSERT INTO scheduler_jobs (job) VALUES ($1) ON CONFLICT (job) DO NOTHING")
        .bind(job)
        .execute_on(&mut *conn)
        .await?;
    let taken = sqlx::query(
        "UPDATE scheduler_jobs SET holder = $1, lease_until = $2, last_started_at = $3
         WHERE job = $4 AND next_run_at <= $3 AND lease_until <= $3",
    )
    .bind(holder)
    .bind(micros(lease_until))
    .bind(micros(now))
    .bind(job)
    .execute_on(conn)
    .await?;
    Ok(taken == 1)
}

/// Gives the lease back after a run, with when the job is next due and how it went.
pub async fn finish(
    conn: &mut impl Fetch,
    job: &str,
    holder: &str,
    now: Timestamp,
    next_run_at: Timestamp,
    outcome: &str,
) -> Result<()> {
    sqlx::query(
        "UPDATE scheduler_jobs SET lease_until = 0, next_run_at = $1, last_finished_at = $2,
             last_outcome = $3, runs = runs + 1
         WHERE job = $4 AND holder = $5",
    )
    .bind(micros(next_run_at))
    .bind(micros(now))
    .bind(outcome)
    .bind(job)
    .bind(holder)
    .execute_on(conn)
    .await?;
    Ok(())
}

/// A job's state, for the operators' view and the metrics.
#[derive(Debug, Clone)]
pub struct JobState {
    pub job: String,
    pub runs: i64,
    pub last_finished_at: Option<Timestamp>,
    pub last_outcome: Option<String>,
}

pub async fn jobs(conn: &mut AnyConnection) -> Result<Vec<JobState>> {
    let rows =
        sqlx::query("SELECT job, runs, last_finished_at, last_outcome FROM scheduler_jobs ORDER BY job")
            .fetch_all(conn)
            .await?;
    rows.iter()
        .map(|r| {
            Ok(JobState {
                job: text(r, "job")?,
                runs: int(r, "runs")?,
                last_finished_at: instant_opt(r, "last_finished_at")?,
                last_outcome: sqlx::Row::try_get(r, "last_outcome")?,
            })
        })
        .collect()
}
