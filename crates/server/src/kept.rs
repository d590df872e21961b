//! What this process keeps in memory of the patients on today's lists (issue 16,
//! H107): their schedule data, their recorded doses around the day, their
//! identity and the health information they share, so that a view of a list reads
//! again only the patients whose data changed since the last view, not the 400
//! patients of a place from ten tables.
//!
//! Whether what is kept is still right is asked of the database before every use:
//! the feed of changed patients ([`samhand_store::changes`]), which triggers on
//! every table it is read from move on in the writing transaction, whoever writes
//! (another server process, the clock's work, the edge's intake, a person at the
//! prompt). The rule that keeps it right:
//! - every kept part reflects every change before `mark`;
//! - a [`View`] drops the patients changed since `mark` before it uses anything,
//!   and moves `mark` on when nobody else has meanwhile;
//! - what a view reads anew (after asking the feed) is kept only while `mark` is
//!   still where that view left it; otherwise it serves that view alone.

use std::collections::{HashMap, HashSet};
use std::sync::{Arc, Mutex, OnceLock};

use jiff::civil::Date;
use samhand_domain::health::HealthNote;
use samhand_domain::ids::PatientId;
use samhand_domain::missed::{MissedDosePolicy, MissedDoseState};
use samhand_domain::patient::Patient;
use samhand_domain::policy::ClinicalPolicy;
use samhand_store::changes::{self, Mark};
use samhand_store::dispensing::{CorrectionRecord, DispensedDose};
use samhand_store::native::Fetch;

use crate::service::PatientData;

/// At most this many patients are kept; past it, everything kept is dropped and
/// read again as the lists ask (a list of 400 patients keeps some 4 MB).
const MAX_KEPT: usize = 5_000;

/// One patient's recorded doses and identity as a list of one day reads them.
#[derive(Debug)]
pub struct KeptFacts {
    /// The days and the list's day they were read for: kept facts serve a view of
    /// the same day only.
    pub read_for: FactsKey,
    pub person: Option<Patient>,
    /// Recorded doses near the day in full, and depot injections of the lookback.
    pub recorded: Vec<DispensedDose>,
    /// The days of the lookback with a dose, ascending.
    pub dosed_days: Vec<Date>,
    pub ever_dosed: bool,
    /// The corrections recorded on the list's day.
    pub corrections: Vec<CorrectionRecord>,
    /// The missed-dose state last computed from these facts (see
    /// [`Self::missed_state`]).
    pub missed: OnceLock<MissedMemo>,
}

/// A missed-dose state with what it was computed from.
#[derive(Debug)]
pub struct MissedMemo {
    data: Arc<PatientData>,
    judged_on: Date,
    policy: MissedDosePolicy,
    state: MissedDoseState,
}

impl KeptFacts {
    /// The missed-dose state as of `judged_on` from these days dosed and the
    /// schedule data `data`: computed once and then remembered for the same
    /// schedule data (the same kept copy), day and thresholds. Both copies are
    /// dropped together when the patient changes (H107), and a new day or
    /// threshold computes it again.
    pub fn missed_state(
        &self,
        data: &Arc<PatientData>,
        judged_on: Date,
        policy: &ClinicalPolicy,
    ) -> MissedDoseState {
        if let Some(memo) = self.missed.get()
            && Arc::ptr_eq(&memo.data, data)
            && memo.judged_on == judged_on
            && memo.policy == policy.missed
        {
            return memo.state;
        }
        let state = crate::service::missed_state_on(data, &self.dosed_days, judged_on, policy);
        // The first inputs are remembered; others (rare) are computed each time.
        let _ = self.missed.set(MissedMemo {
            data: data.clone(),
            judged_on,
            policy: policy.missed,
            state,
        });
        state
    }
}

/// The dates a list's facts are read for: the first and last day of doses, the
/// day from which they are read in full, and the list's day.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct FactsKey {
    pub from: Date,
    pub near: Date,
    pub to: Date,
    pub day: Date,
}

/// What is kept of one patient; each part is read (and kept) when a view first
/// needs it.
#[derive(Debug, Clone, Default)]
pub struct KeptPatient {
    pub data: Option<Arc<PatientData>>,
    pub facts: Option<Arc<KeptFacts>>,
    /// The health information in force, read only once a place was allowed it.
    pub health: Option<Arc<Vec<HealthNote>>>,
}

impl KeptPatient {
    /// The facts kept for `key`, if any.
    pub fn facts_for(&self, key: FactsKey) -> Option<&Arc<KeptFacts>> {
        self.facts.as_ref().filter(|f| f.read_for == key)
    }

    /// Takes the parts `newer` has.
    fn merge(&mut self, newer: KeptPatient) {
        if newer.data.is_some() {
            self.data = newer.data;
        }
        if newer.facts.is_some() {
            self.facts = newer.facts;
        }
        if newer.health.is_some() {
            self.health = newer.health;
        }
    }
}

#[derive(Default)]
struct Kept {
    mark: Option<Mark>,
    patients: HashMap<PatientId, KeptPatient>,
}

/// The patients kept by this process (see the module's text).
#[derive(Default)]
pub struct KeptPatients {
    kept: Mutex<Kept>,
}

/// What is kept of some patients, right as of `mark`: a view of a list uses these
/// and reads the rest.
pub struct View {
    mark: Mark,
    pub patients: HashMap<PatientId, KeptPatient>,
}

impl KeptPatients {
    fn lock(&self) -> std::sync::MutexGuard<'_, Kept> {
        self.kept.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// What is kept of `ids`, without the patients changed since it was kept:
    /// asks the feed on `conn`. Read anything else the view needs after this.
    pub async fn view(&self, conn: &mut impl Fetch, ids: &[PatientId]) -> samhand_store::db::Result<View> {
        let (asked_from, mut patients) = {
            let kept = self.lock();
            let patients: HashMap<PatientId, KeptPatient> = ids
                .iter()
                .filter_map(|id| kept.patients.get(id).map(|p| (*id, p.clone())))
                .collect();
            (kept.mark, patients)
        };
        let changed = changes::since(conn, asked_from).await?;
        {
            let mut kept = self.lock();
            if kept.mark == asked_from {
                kept.patients.retain(|id, _| !changed.patients.contains(id));
                kept.mark = Some(changed.next);
            }
        }
        patients.retain(|id, _| !changed.patients.contains(id));
        Ok(View {
            mark: changed.next,
            patients,
        })
    }

    /// Keeps what `view` read anew, unless the feed moved on since it asked.
    pub fn keep(&self, view: &View, read: HashMap<PatientId, KeptPatient>) {
        let mut kept = self.lock();
        if kept.mark != Some(view.mark) {
            return;
        }
        if kept.patients.len() + read.len() > MAX_KEPT {
            kept.patients.clear();
        }
        for (id, part) in read {
            kept.patients.entry(id).or_default().merge(part);
        }
    }

    /// How many patients are kept (the tests look).
    pub fn len(&self) -> usize {
        self.lock().patients.len()
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }
}

impl View {
    /// The patients of `ids` this view has no `part` of.
    pub fn missing(&self, ids: &[PatientId], has: impl Fn(&KeptPatient) -> bool) -> Vec<PatientId> {
        let mut seen = HashSet::new();
        ids.iter()
            .filter(|id| seen.insert(**id))
            .filter(|id| !self.patients.get(id).is_some_and(&has))
            .copied()
            .collect()
    }
}
