-- The scheduler's jobs: which server holds a job's lease and until when, when it is
-- next due, and how its last run went. A server runs a job only after taking the
-- lease in one UPDATE, so two servers on one database never run it at once; each
-- event the job tells of is still sent once by its event key.
CREATE TABLE scheduler_jobs (
    job TEXT PRIMARY KEY,
    holder TEXT,
    lease_until {integer} NOT NULL DEFAULT 0,
    next_run_at {integer} NOT NULL DEFAULT 0,
    last_started_at {integer},
    last_finished_at {integer},
    last_outcome TEXT,
    runs {integer} NOT NULL DEFAULT 0
);
