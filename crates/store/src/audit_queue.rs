//! The audit entries of reads, written together (issue 16). A read's entries are
//! all its write holds; written each in a write of its own, sixteen reads at once
//! ran sixteen INSERTs (and their savepoints) one after another on the batch's
//! connection, each a round trip on PostgreSQL. Here a read hands its entries to
//! the queue and waits: one task at a time takes everything queued, chains it in
//! the order it came, writes it in one write of the batch ([`crate::group`]) and
//! tells each read the outcome once the batch is durably committed. A read is
//! still answered only after its entries are in the database, and each read's
//! entries are written together or not at all (they are one write's).
//!
//! The task is spawned, not run by one of the waiting requests: a request that
//! goes away while its entries are written cannot leave the others' half done.

use std::sync::Mutex;

use jiff::Timestamp;
use samhand_domain::access::{Action, Actor, DataCategory};
use samhand_domain::ids::PatientId;
use tokio::sync::oneshot;

use crate::audit::AuditEntry;
use crate::db::{Result, Store, StoreError};

/// Entries per write at most (whole reads are taken; one read with more is
/// written alone): the audit log's multi-row INSERT takes this many in one
/// statement.
const ENTRIES_PER_WRITE: usize = 200;

/// The outcome a waiting read is told: written and committed, or why not.
type Outcome = std::result::Result<(), String>;

/// One entry as queued: owned, since the task that writes it is not the request
/// that made it.
struct Queued {
    at: Timestamp,
    /// Index into the read's actors.
    actor: usize,
    patient: Option<PatientId>,
    category: DataCategory,
    action: Action,
    allowed: bool,
    relation: String,
    detail: String,
    /// The patients an entry about many names (sorted), else empty.
    linked: Vec<String>,
}

/// One read's entries, and where to tell it.
struct Pending {
    /// The actors of its entries (nearly always one).
    actors: Vec<Actor>,
    entries: Vec<Queued>,
    told: oneshot::Sender<Outcome>,
}

#[derive(Default)]
struct State {
    pending: Vec<Pending>,
    /// Whether a task is writing (it takes what is queued until nothing is).
    writing: bool,
}

/// The process's queue of reads' audit entries.
#[derive(Default)]
pub(crate) struct AuditQueue {
    state: Mutex<State>,
}

impl AuditQueue {
    /// Queues one read's entries (each with the patients it names when about many)
    /// and waits until they are durably written.
    pub(crate) async fn record(
        &self,
        store: &Store,
        entries: &[(&AuditEntry<'_>, Vec<String>)],
    ) -> Result<()> {
        if entries.is_empty() {
            return Ok(());
        }
        let (told, outcome) = oneshot::channel();
        let pending = owned(entries, told);
        let start = {
            let mut state = self.state.lock().expect("the audit queue's lock");
            state.pending.push(pending);
            !std::mem::replace(&mut state.writing, true)
        };
        if start {
            tokio::spawn(write_queued(store.clone()));
        }
        match outcome.await {
            Ok(Ok(())) => Ok(()),
            Ok(Err(why)) => Err(StoreError::Batch(why)),
            Err(_) => Err(StoreError::Batch("the audit entries were not written".into())),
        }
    }

    /// Reads queued and not yet taken by the writing task.
    pub(crate) fn queued(&self) -> usize {
        self.state.lock().expect("the audit queue's lock").pending.len()
    }

    /// The reads queued now, whole, up to [`ENTRIES_PER_WRITE`] entries (at least
    /// one read); none, and the task ends, when nothing is queued.
    fn take(&self) -> Vec<Pending> {
        let mut state = self.state.lock().expect("the audit queue's lock");
        if state.pending.is_empty() {
            state.writing = false;
            return Vec::new();
        }
        let mut entries = 0;
        let whole = state
            .pending
            .iter()
            .take_while(|p| {
                entries += p.entries.len();
                entries <= ENTRIES_PER_WRITE
            })
            .count()
            .max(1);
        state.pending.drain(..whole).collect()
    }
}

/// A read's entries as the queue keeps them.
fn owned(entries: &[(&AuditEntry<'_>, Vec<String>)], told: oneshot::Sender<Outcome>) -> Pending {
    // Each actor cloned once: a read's entries all name the same one (by
    // reference), and a list's read has thousands of entries.
    let mut actors: Vec<&Actor> = Vec::new();
    let entries = entries
        .iter()
        .map(|(entry, linked)| {
            let actor = match actors.iter().position(|a| std::ptr::eq(*a, entry.actor)) {
                Some(index) => index,
                None => {
                    actors.push(entry.actor);
                    actors.len() - 1
                }
            };
            Queued {
                at: entry.at,
                actor,
                patient: entry.patient,
                category: entry.category,
                action: entry.action,
                allowed: entry.allowed,
                relation: entry.relation.to_string(),
                detail: entry.detail.to_string(),
                linked: linked.clone(),
            }
        })
        .collect();
    Pending {
        actors: actors.into_iter().cloned().collect(),
        entries,
        told,
    }
}

/// Writes what is queued, a write at a time, until nothing is.
async fn write_queued(store: Store) {
    let queue = store.audit_queue();
    loop {
        let mut taken = queue.take();
        if taken.is_empty() {
            return;
        }
        let outcome = write(&store, &mut taken).await.map_err(|e| e.to_string());
        for pending in taken {
            let _ = pending.told.send(outcome.clone());
        }
    }
}

/// The taken reads' entries in one write, in the order they came.
async fn write(store: &Store, taken: &mut [Pending]) -> Result<()> {
    let linked: Vec<Vec<String>> = taken
        .iter_mut()
        .flat_map(|p| p.entries.iter_mut().map(|q| std::mem::take(&mut q.linked)))
        .collect();
    let entries: Vec<AuditEntry<'_>> = taken
        .iter()
        .flat_map(|p| {
            p.entries.iter().map(|q| AuditEntry {
                at: q.at,
                actor: &p.actors[q.actor],
                patient: q.patient,
                category: q.category,
                action: q.action,
                allowed: q.allowed,
                relation: &q.relation,
                detail: &q.detail,
            })
        })
        .collect();
    let entries: Vec<(&AuditEntry<'_>, Vec<String>)> = entries.iter().zip(linked).collect();
    let mut tx = store.write_audit().await?;
    crate::audit::append_entries(store, &mut tx, &entries).await?;
    tx.commit().await
}
