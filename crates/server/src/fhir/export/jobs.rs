//! The bulk export jobs of this server: who started each, whether it runs, its
//! files in `<data_dir>/exports/<job>/`, and the limits (running jobs per client
//! and in all) and expiry that keep exports from filling memory, disk or the
//! database's time. Jobs live in this process; their files are removed when a job
//! is cancelled or expires, and at start for jobs of an earlier run.

use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::sync::Mutex;

use jiff::{SignedDuration, Timestamp};
use samhand_domain::ids::UserId;

/// What a job has come to.
#[derive(Debug, Clone)]
pub enum JobState {
    Running,
    /// Finished: each file's type and how many resources it holds.
    Done {
        finished: Timestamp,
        /// Each file's resource type and how many resources it holds.
        files: Vec<(&'static str, u64)>,
    },
    Failed {
        finished: Timestamp,
        detail: String,
    },
}

/// One export, as its status URL reports it.
#[derive(Debug, Clone)]
pub struct Job {
    pub id: String,
    /// Only the user who started the export may poll it, fetch or cancel it.
    pub owner: UserId,
    pub request: String,
    pub started: Timestamp,
    pub state: JobState,
}

struct Entry {
    job: Job,
    /// Ends the running task when the job is cancelled.
    task: Option<tokio::task::AbortHandle>,
}

/// Why a job could not be started.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Busy {
    /// The client already has its allowed number running.
    Client,
    /// The server has its allowed number running.
    Server,
}

/// The limits a [`Jobs`] registry keeps.
#[derive(Debug, Clone, Copy)]
pub struct Limits {
    pub per_client: usize,
    pub overall: usize,
    pub expire_after: SignedDuration,
}

/// The export jobs of this server (one per [`crate::AppState`]).
pub struct Jobs {
    root: PathBuf,
    limits: Limits,
    jobs: Mutex<HashMap<String, Entry>>,
}

impl Jobs {
    /// The registry, with its files under `<data_dir>/exports`.
    pub fn new(data_dir: &Path, limits: Limits) -> Self {
        Self {
            root: data_dir.join("exports"),
            limits,
            jobs: Mutex::new(HashMap::new()),
        }
    }

    fn with<T>(&self, f: impl FnOnce(&mut HashMap<String, Entry>) -> T) -> T {
        let mut guard = self.jobs.lock().unwrap_or_else(|poisoned| poisoned.into_inner());
        f(&mut guard)
    }

    /// Where a job's files are.
    pub fn dir(&self, id: &str) -> PathBuf {
        self.root.join(id)
    }

    /// Registers a running job if the limits allow it, counting running jobs and
    /// registering under one lock, so that two kick-offs at once cannot both pass.
    pub fn start(&self, job: Job) -> Result<(), Busy> {
        self.with(|jobs| {
            let running = jobs.values().filter(|e| matches!(e.job.state, JobState::Running));
            let (mine, all) = running.fold((0, 0), |(mine, all), e| {
                (mine + usize::from(e.job.owner == job.owner), all + 1)
            });
            if mine >= self.limits.per_client {
                return Err(Busy::Client);
            }
            if all >= self.limits.overall {
                return Err(Busy::Server);
            }
            jobs.insert(job.id.clone(), Entry { job, task: None });
            Ok(())
        })
    }

    /// Keeps the running task's handle, so that a cancel can end it.
    pub fn attach(&self, id: &str, task: tokio::task::AbortHandle) {
        self.with(|jobs| match jobs.get_mut(id) {
            Some(entry) => entry.task = Some(task),
            // Cancelled before the task was attached.
            None => task.abort(),
        });
    }

    /// Records how a job ended (nothing, if it was cancelled meanwhile).
    pub fn finish(&self, id: &str, state: JobState) {
        self.with(|jobs| {
            if let Some(entry) = jobs.get_mut(id) {
                entry.job.state = state;
                entry.task = None;
            }
        });
    }

    /// The caller's job, unless it has expired (it is then removed with its files).
    pub fn get(&self, id: &str, owner: UserId, now: Timestamp) -> Option<Job> {
        self.sweep(now);
        self.with(|jobs| {
            jobs.get(id)
                .filter(|e| e.job.owner == owner)
                .map(|e| e.job.clone())
        })
    }

    /// Cancels the caller's job: its task ends and its files are removed. Whether
    /// there was such a job.
    pub fn cancel(&self, id: &str, owner: UserId) -> bool {
        let removed = self.with(|jobs| {
            if jobs.get(id).is_some_and(|e| e.job.owner == owner) {
                jobs.remove(id)
            } else {
                None
            }
        });
        let Some(entry) = removed else {
            return false;
        };
        if let Some(task) = entry.task {
            task.abort();
        }
        remove_dir(&self.dir(id));
        true
    }

    /// Removes the jobs that finished longer ago than the expiry, with their files;
    /// how many.
    pub fn sweep(&self, now: Timestamp) -> usize {
        let expire_after = self.limits.expire_after;
        let expired: Vec<String> = self.with(|jobs| {
            let ids: Vec<String> = jobs
                .values()
                .filter(|e| match &e.job.state {
                    JobState::Running => false,
                    JobState::Done { finished, .. } | JobState::Failed { finished, .. } => {
                        finished.saturating_add(expire_after).is_ok_and(|end| end <= now)
                    }
                })
                .map(|e| e.job.id.clone())
                .collect();
            for id in &ids {
                jobs.remove(id);
            }
            ids
        });
        for id in &expired {
            remove_dir(&self.dir(id));
        }
        expired.len()
    }

    /// At start: removes the files of jobs from an earlier run of a server, which
    /// no one can reach any more. Only directories untouched for the expiry time
    /// are removed, so that another server sharing the data directory keeps its own.
    pub fn remove_stale_files(&self) {
        let Ok(entries) = std::fs::read_dir(&self.root) else {
            return;
        };
        let expire_after = std::time::Duration::from_secs(self.limits.expire_after.as_secs().max(0) as u64);
        for entry in entries.flatten() {
            let stale = entry
                .metadata()
                .and_then(|m| m.modified())
                .ok()
                .and_then(|modified| modified.elapsed().ok())
                .is_some_and(|age| age >= expire_after);
            if stale {
                remove_dir(&entry.path());
            }
        }
    }
}

fn remove_dir(dir: &Path) {
    match std::fs::remove_dir_all(dir) {
        Ok(()) => {}
        Err(error) if error.kind() == std::io::ErrorKind::NotFound => {}
        Err(error) => tracing::warn!(dir = %dir.display(), %error, "could not remove an export's files"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn job(id: &str, owner: UserId) -> Job {
        Job {
            id: id.into(),
            owner,
            request: String::new(),
            started: Timestamp::UNIX_EPOCH,
            state: JobState::Running,
        }
    }

    #[test]
    fn running_jobs_are_limited_per_client_and_in_all() {
        let dir = std::env::temp_dir();
        let jobs = Jobs::new(
            &dir,
            Limits {
                per_client: 1,
                overall: 2,
                expire_after: SignedDuration::from_mins(60),
            },
        );
        let (a, b, c) = (UserId::new(), UserId::new(), UserId::new());
        assert_eq!(jobs.start(job("1", a)), Ok(()));
        assert_eq!(jobs.start(job("2", a)), Err(Busy::Client));
        assert_eq!(jobs.start(job("3", b)), Ok(()));
        assert_eq!(jobs.start(job("4", c)), Err(Busy::Server));
        jobs.finish(
            "1",
            JobState::Done {
                finished: Timestamp::UNIX_EPOCH,
                files: Vec::new(),
            },
        );
        assert_eq!(jobs.start(job("5", a)), Ok(()), "a finished job no longer counts");
        assert_eq!(
            jobs.sweep(Timestamp::UNIX_EPOCH + SignedDuration::from_mins(59)),
            0
        );
        assert_eq!(
            jobs.sweep(Timestamp::UNIX_EPOCH + SignedDuration::from_mins(60)),
            1
        );
        assert!(jobs.get("1", a, Timestamp::UNIX_EPOCH).is_none());
    }
}
