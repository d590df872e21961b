//! The feed of patients whose data changed (migration 0051, H107): what a server
//! process keeps of patients in memory (today's list's inputs) stays right by
//! asking, before each use, which patients changed since it last asked.
//!
//! Triggers on every table in [`FED_TABLES`] move the patient's row of
//! `patient_changes` on in the transaction that changes the table, whoever
//! writes: any server process, the clock's work, the edge's intake, or a person
//! at the database's prompt. A reader keeps a [`Mark`] and asks [`since`] it:
//! the answer names every patient whose change committed after the reads the
//! mark came from, and the mark to ask from next. A patient may be named again
//! (on PostgreSQL until every transaction older than the change has ended): to
//! read them again costs a read, never a wrong answer.

use std::collections::HashSet;

use samhand_domain::ids::PatientId;
use sqlx::Row;

use crate::codec::{corrupt, parsed};
use crate::db::{Backend, Result};
use crate::native::{Fetch, FetchOn};

/// The tables whose rows are about one patient and that a kept copy may come
/// from; each has triggers that feed `patient_changes` (migration 0051). A table
/// read into what is kept must be in this list, with its triggers (tested).
pub const FED_TABLES: &[&str] = &[
    "appointment_outcomes",
    "arrangements",
    "care_team_member_ends",
    "care_team_members",
    "consents",
    "covers",
    "dispensed_doses",
    "dispensing_corrections",
    "dispensing_events",
    "dispensing_voids",
    "dose_day_state",
    "dose_order_discards",
    "dose_order_signatures",
    "dose_orders",
    "emergency_access_reviews",
    "emergency_accesses",
    "episode_ends",
    "episodes",
    "follow_up_appointments",
    "handover_acknowledgements",
    "health_notes",
    "named_people",
    "named_people_ends",
    "patient_identity_versions",
    "patient_photos",
    "patients",
    "prescribing_handovers",
    "received_identifiers",
    "stay_events",
    "stays",
];

/// Where a reader stands in the feed: the changes from here on are not yet seen.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Mark(i64);

/// What [`since`] answers.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Changes {
    /// The patients changed at or after the mark asked from.
    pub patients: HashSet<PatientId>,
    /// The mark to ask from next.
    pub next: Mark,
}

/// The patients changed since `mark`, or where the feed stands now when there is
/// no mark yet (nothing is kept): in one statement, so that the next mark and the
/// patients are of one snapshot. Read what is kept after this returns, so that it
/// is at least as new as `next`.
pub async fn since(conn: &mut impl Fetch, mark: Option<Mark>) -> Result<Changes> {
    // Without a mark, no patient is asked for: a `seq` no change reaches.
    let from = mark.map_or(i64::MAX, |m| m.0);
    let sql = match conn.backend() {
        // Writers take turns: one past the greatest `seq` is after every change.
        Backend::Sqlite => {
            "SELECT patient_id, NULL AS next FROM patient_changes WHERE seq >= $1
             UNION ALL SELECT NULL, COALESCE(MAX(seq), 0) + 1 FROM patient_changes"
        }
        // The oldest transaction still running in this statement's snapshot: every
        // change of an older one has committed (or never will) and is seen here.
        Backend::Postgres => {
            "SELECT patient_id, NULL AS next FROM patient_changes WHERE seq >= $1
             UNION ALL SELECT NULL, CAST(CAST(pg_snapshot_xmin(pg_current_snapshot()) AS TEXT) AS BIGINT)"
        }
    };
    let rows = sqlx::query(sql).bind(from).fetch_all_on(conn).await?;
    let mut patients = HashSet::new();
    let mut next = None;
    for row in &rows {
        match row.try_get::<Option<i64>, _>("next")? {
            Some(n) => next = Some(n),
            None => {
                patients.insert(parsed(row, "patient_id")?);
            }
        }
    }
    let next = Mark(next.ok_or_else(|| corrupt("the feed of changes answered no mark"))?);
    Ok(Changes { patients, next })
}
