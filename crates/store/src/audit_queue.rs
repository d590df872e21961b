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
use std::sync::atomic::{AtomicUsize, Ordering};

use jiff::Timestamp;
use samhand_domain::access::{Action, Actor, DataCategory};
use samhand_domain::ids::PatientId;
use tokio::sync::oneshot;

use crate::audit::{AuditEntry, Unchained};
use crate::audit_parked::Parked;
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
    /// Whether entries may be parked (PostgreSQL, [`crate::audit_parked`]): the
    /// commits of writes that parked some since the task last took the parked,
    /// or 1 when a batch left some behind.
    parked_due: AtomicUsize,
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
        self.enqueue(store, owned(entries, told));
        match outcome.await {
            Ok(Ok(())) => Ok(()),
            Ok(Err(why)) => Err(StoreError::Batch(why)),
            Err(_) => Err(StoreError::Batch("the audit entries were not written".into())),
        }
    }

    /// Waits until the entries parked so far ([`crate::audit_parked`]) are
    /// chained by a batch. A batch that fails leaves them parked, to be chained
    /// by the next; the write that parked them is committed all the same.
    pub(crate) async fn chain_parked(&self, store: &Store) {
        let (told, outcome) = oneshot::channel();
        self.parked_due.fetch_add(1, Ordering::SeqCst);
        let nothing = Pending {
            actors: Vec::new(),
            entries: Vec::new(),
            told,
        };
        self.enqueue(store, nothing);
        match outcome.await {
            Ok(Ok(())) => {}
            Ok(Err(why)) => tracing::warn!(%why, "parked audit entries not chained yet"),
            Err(_) => tracing::warn!("parked audit entries not chained yet"),
        }
    }

    /// Queues a read's entries, and starts the task unless it runs.
    fn enqueue(&self, store: &Store, pending: Pending) {
        let start = {
            let mut state = self.state.lock().expect("the audit queue's lock");
            state.pending.push(pending);
            !std::mem::replace(&mut state.writing, true)
        };
        if start {
            tokio::spawn(write_queued(store.clone()));
        }
    }

    /// Puts taken reads back at the head of the queue, to be taken first.
    fn requeue(&self, taken: Vec<Pending>) {
        let mut state = self.state.lock().expect("the audit queue's lock");
        state.pending.splice(0..0, taken);
    }

    /// Reads queued and not yet taken by the writing task.
    pub(crate) fn queued(&self) -> usize {
        self.state.lock().expect("the audit queue's lock").pending.len()
    }

    /// The reads queued now, whole, up to [`ENTRIES_PER_WRITE`] entries (at least
    /// one read, or none when only parked entries are due); `None`, and the task
    /// ends, when nothing is.
    fn take(&self) -> Option<Vec<Pending>> {
        let mut state = self.state.lock().expect("the audit queue's lock");
        if state.pending.is_empty() {
            if self.parked_due.load(Ordering::SeqCst) > 0 {
                return Some(Vec::new());
            }
            state.writing = false;
            return None;
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
        Some(state.pending.drain(..whole).collect())
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
    while let Some(mut taken) = queue.take() {
        let parked_due = queue.parked_due.swap(0, Ordering::SeqCst);
        let outcome = write(&store, &mut taken, parked_due > 0).await;
        let outcome = match outcome {
            Ok(false) => {
                // More parked than one write takes: those waiting for the parked
                // wait for the next write, which takes the rest.
                queue.parked_due.fetch_add(1, Ordering::SeqCst);
                let (waiting, written): (Vec<Pending>, Vec<Pending>) =
                    taken.into_iter().partition(|p| p.entries.is_empty());
                queue.requeue(waiting);
                taken = written;
                Ok(())
            }
            Ok(true) => Ok(()),
            // Parked entries a failed batch took stay parked; the next write that
            // parks, or the next start, has them chained (retrying here would go
            // round while the database fails).
            Err(error) => Err(error.to_string()),
        };
        for pending in taken {
            let _ = pending.told.send(outcome.clone());
        }
    }
}

/// The taken reads' entries in one write, in the order they came, after the
/// parked entries if `parked` are due; whether every parked entry was taken.
async fn write(store: &Store, taken: &mut [Pending], parked: bool) -> Result<bool> {
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
    let mut tx = store.write_audit().await?;
    let parked = match parked {
        true => crate::audit_parked::take(&mut tx).await?,
        false => Vec::new(),
    };
    let all_taken = (parked.len() as i64) < crate::audit_parked::PARKED_PER_WRITE;
    let mut unchained: Vec<Unchained<'_>> = parked.iter().map(Parked::unchained).collect();
    unchained.extend(
        entries
            .iter()
            .zip(&linked)
            .map(|(entry, linked)| Unchained::of(entry, linked)),
    );
    crate::audit::append_unchained(store, &mut tx, unchained).await?;
    tx.commit().await?;
    Ok(all_taken)
}
