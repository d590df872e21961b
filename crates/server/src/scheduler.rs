//! The scheduler: time-driven work on a clock inside the server (the jobs are in
//! [`crate::service::timed`]). Every `SAMHAND_SCHEDULER_SECONDS` it runs the jobs
//! that are due. A job runs only under its lease in the database
//! (`store::scheduler::take_lease`), so with two servers on one database each due
//! run happens in one of them; what a job sends is keyed to its event and sent
//! once regardless. A failed run is logged and tried again at the next interval.

use std::sync::atomic::Ordering;
use std::time::Duration;

use jiff::SignedDuration;
use samhand_store::anchor;
use samhand_store::scheduler as store;
use tokio::sync::watch;

use crate::AppState;
use crate::error::AppResult;
use crate::service::timed;

/// A job's lease: long enough for any run; a server that dies mid-run frees it
/// when this has passed.
const LEASE: SignedDuration = SignedDuration::from_mins(10);

/// The time-driven work.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Job {
    /// Notices to the units before a planned discharge.
    PlanningNotices,
    /// Notices of orders blocked by missed doses.
    MissedDoseNotices,
    /// Notices of a «time i hånden» passed without a recorded outcome.
    UnrecordedAppointments,
    /// Sessions past their idle or absolute limit, and expired one-time codes and
    /// invitations, are removed.
    ExpiredSessions,
    /// Queued EDI messages are written to the outbox, and received ones in the
    /// inbox are read and answered (AppRec).
    EdiInbox,
}

impl Job {
    pub const ALL: [Job; 5] = [
        Self::PlanningNotices,
        Self::MissedDoseNotices,
        Self::UnrecordedAppointments,
        Self::ExpiredSessions,
        Self::EdiInbox,
    ];

    /// The job's name in the database, the logs and the metrics.
    pub fn name(self) -> &'static str {
        match self {
            Self::PlanningNotices => "planning_notices",
            Self::MissedDoseNotices => "missed_dose_notices",
            Self::UnrecordedAppointments => "unrecorded_appointments",
            Self::ExpiredSessions => "expired_sessions",
            Self::EdiInbox => "edi_inbox",
        }
    }

    /// How long after a run the job is due again.
    pub fn every(self) -> SignedDuration {
        match self {
            Self::PlanningNotices => SignedDuration::from_mins(15),
            Self::MissedDoseNotices => SignedDuration::from_mins(5),
            Self::UnrecordedAppointments => SignedDuration::from_mins(15),
            Self::ExpiredSessions => SignedDuration::from_mins(60),
            Self::EdiInbox => SignedDuration::from_mins(2),
        }
    }

    async fn run(self, state: &AppState) -> AppResult<u64> {
        Ok(match self {
            Self::PlanningNotices => timed::send_planning_notices(state).await? as u64,
            Self::MissedDoseNotices => timed::send_missed_dose_notices(state).await? as u64,
            Self::UnrecordedAppointments => timed::send_unrecorded_appointment_notices(state).await? as u64,
            Self::ExpiredSessions => timed::end_expired_sessions(state).await?,
            Self::EdiInbox => {
                crate::service::flush_outbox(state).await? + crate::service::edi::process_inbox(state).await?
            }
        })
    }
}

/// How one job's run went: how many things it did, or why it failed.
#[derive(Debug)]
pub struct Ran {
    pub job: Job,
    pub outcome: Result<u64, String>,
}

/// Runs every job that is due now and whose lease `holder` gets; the runs made.
pub async fn run_due(state: &AppState, holder: &str) -> AppResult<Vec<Ran>> {
    let mut ran = Vec::new();
    for job in Job::ALL {
        let now = state.clock.now();
        let taken = {
            let mut tx = state.store.write().await?;
            let taken = store::take_lease(&mut tx, job.name(), holder, now, now + LEASE).await?;
            tx.commit().await?;
            taken
        };
        if !taken {
            continue;
        }
        let outcome = job.run(state).await.map_err(|e| e.to_string());
        state.metrics.scheduler_runs.fetch_add(1, Ordering::Relaxed);
        let summary = match &outcome {
            Ok(done) => {
                if *done > 0 {
                    tracing::info!(job = job.name(), done, "scheduled job ran");
                } else {
                    tracing::debug!(job = job.name(), "scheduled job ran; nothing was due");
                }
                format!("ok: {done}")
            }
            Err(error) => {
                state.metrics.scheduler_failures.fetch_add(1, Ordering::Relaxed);
                tracing::error!(job = job.name(), error = error.as_str(), "scheduled job failed");
                format!("failed: {error}")
            }
        };
        let finished = state.clock.now();
        let mut tx = state.store.write().await?;
        store::finish(
            &mut tx,
            job.name(),
            holder,
            finished,
            finished + job.every(),
            &summary,
        )
        .await?;
        tx.commit().await?;
        ran.push(Ran { job, outcome });
    }
    checkpoint_audit(state).await;
    Ok(ran)
}

/// Writes a signed checkpoint of the audit chain's head to this server's
/// checkpoint directory when the head has moved since the last one. Every server
/// does so in its own directory, so it runs without a lease; a store without an
/// audit key (a test world) writes none.
pub async fn checkpoint_audit(state: &AppState) {
    if state.store.audit_key().is_none() {
        return;
    }
    let dir = state.config.audit_checkpoints();
    match anchor::write_checkpoint(&state.store, &dir, state.clock.now()).await {
        Ok(Some(checkpoint)) => {
            tracing::debug!(seq = checkpoint.seq, dir = %dir.display(), "audit checkpoint written");
        }
        Ok(None) => {}
        Err(error) => {
            state.metrics.scheduler_failures.fetch_add(1, Ordering::Relaxed);
            tracing::error!(error = %error, dir = %dir.display(), "the audit checkpoint could not be written");
        }
    }
}

/// Starts the audit checkpoints in the background, every
/// `SAMHAND_AUDIT_CHECKPOINT_SECONDS` (unless 0, when the scheduler's runs and the
/// shutdown write them): independent of the scheduler and its leases, since every
/// server anchors its own directory. A checkpoint is written only when the head
/// has moved, so an idle server writes nothing.
pub fn spawn_checkpoints(
    state: AppState,
    stop: watch::Receiver<bool>,
) -> Option<tokio::task::JoinHandle<()>> {
    let seconds = state.config.audit_checkpoint_seconds;
    if seconds == 0 || state.store.audit_key().is_none() {
        return None;
    }
    Some(tokio::spawn(async move {
        every(seconds, stop, || checkpoint_audit(&state)).await;
    }))
}

/// Runs `work` at once and then every `seconds`, until `stop` turns true (a run in
/// progress is finished first).
pub(crate) async fn every<F, Fut>(seconds: u64, mut stop: watch::Receiver<bool>, mut work: F)
where
    F: FnMut() -> Fut,
    Fut: std::future::Future<Output = ()>,
{
    let mut tick = tokio::time::interval(Duration::from_secs(seconds));
    tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    loop {
        tokio::select! {
            _ = tick.tick() => {}
            _ = stop.changed() => break,
        }
        if *stop.borrow() {
            break;
        }
        work().await;
    }
}

/// Starts the scheduler in the background, unless `SAMHAND_SCHEDULER_SECONDS` is 0;
/// it stops when `stop` turns true, finishing the run in progress.
pub fn spawn(state: AppState, stop: watch::Receiver<bool>) -> Option<tokio::task::JoinHandle<()>> {
    let seconds = state.config.scheduler_seconds;
    if seconds == 0 {
        tracing::info!("scheduler off in this server (SAMHAND_SCHEDULER_SECONDS=0)");
        return None;
    }
    let holder = format!("{}-{}", std::process::id(), uuid::Uuid::new_v4().simple());
    Some(tokio::spawn(async move {
        every(seconds, stop, || async {
            if let Err(error) = run_due(&state, &holder).await {
                tracing::error!(error = %error, "the scheduler could not run its jobs");
            }
            // This server's own expired exports (files in its data directory, so no
            // lease: every server sweeps its own).
            let expired = state.exports.sweep(state.clock.now());
            if expired > 0 {
                tracing::info!(expired, "expired FHIR exports removed");
            }
        })
        .await;
        tracing::info!("scheduler stopped");
    }))
}
