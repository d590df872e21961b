//! A write of patients' clinical records that the audit log records: the type the
//! store's functions for the clinical record take instead of a bare connection.
//! Only [`PatientWrite::begin`] makes one and only [`PatientWrite::record`] widens
//! it, each with an allowed audit entry per patient, and the only way to make its
//! writes last is [`PatientWrite::commit`], which appends those entries in the same
//! transaction first. A record therefore cannot be written without its audit
//! entry, both land or neither, and a function handed the write of one patient
//! refuses another patient's record. (The entries are appended at the commit, not
//! at the start, so the audit head is locked as briefly as before.)

use jiff::Timestamp;
use samhand_domain::access::{Action, Actor, AllowedBy, DataCategory};
use samhand_domain::ids::PatientId;

use crate::audit::{self, AuditEntry};
use crate::codec::parsed;
use crate::db::{Result, Store, StoreError, WriteTx};
use crate::native::FetchOn;

/// A row that records hang on without a patient of their own (a stay's events, a
/// meeting's minutes, the end of a seat): the write looks its patient up.
#[derive(Debug, Clone, Copy)]
pub(crate) enum Owner {
    Stay,
    Appointment,
    Handover,
    Meeting,
    Task,
    CareTeamMember,
    NamedPerson,
    EmergencyAccess,
    Episode,
}

impl Owner {
    fn patient_query(self) -> &'static str {
        match self {
            Self::Stay => "SELECT patient_id FROM stays WHERE id = $1",
            Self::Appointment => "SELECT patient_id FROM follow_up_appointments WHERE id = $1",
            Self::Handover => "SELECT patient_id FROM prescribing_handovers WHERE id = $1",
            Self::Meeting => "SELECT patient_id FROM care_meetings WHERE id = $1",
            Self::Task => "SELECT patient_id FROM care_tasks WHERE id = $1",
            Self::CareTeamMember => "SELECT patient_id FROM care_team_members WHERE id = $1",
            Self::NamedPerson => "SELECT patient_id FROM named_people WHERE id = $1",
            Self::EmergencyAccess => "SELECT patient_id FROM emergency_accesses WHERE id = $1",
            Self::Episode => "SELECT patient_id FROM episodes WHERE id = $1",
        }
    }
}

/// An allowed access, kept until the commit.
struct Recorded {
    at: Timestamp,
    actor: Actor,
    patient: PatientId,
    category: DataCategory,
    action: Action,
    relation: String,
    detail: String,
}

/// A write transaction with the patients whose records it may write.
pub struct PatientWrite {
    tx: WriteTx,
    store: Store,
    recorded: Vec<Recorded>,
}

impl PatientWrite {
    /// Begins a write transaction for `entries`: each an allowed access to one
    /// patient's data, appended to the audit log when the write commits.
    pub async fn begin(store: &Store, entries: &[AuditEntry<'_>]) -> Result<Self> {
        let mut write = Self {
            tx: store.write().await?,
            store: store.clone(),
            recorded: Vec::new(),
        };
        write.record(entries)?;
        Ok(write)
    }

    /// The write of synthetic history (the demo world, the bench) by `actor`, who
    /// enrols the `patients`: recorded like any other write.
    pub async fn synthetic_history(
        store: &Store,
        actor: &Actor,
        patients: &[PatientId],
        at: Timestamp,
        detail: &str,
    ) -> Result<Self> {
        let entries: Vec<AuditEntry<'_>> = patients
            .iter()
            .map(|patient| AuditEntry {
                at,
                actor,
                patient: Some(*patient),
                category: DataCategory::Identity,
                action: Action::Write,
                allowed: true,
                relation: AllowedBy::Enrolment.code(),
                detail,
            })
            .collect();
        Self::begin(store, &entries).await
    }

    /// Further allowed accesses in this transaction; their patients' records may
    /// then be written too.
    pub fn record(&mut self, entries: &[AuditEntry<'_>]) -> Result<()> {
        for entry in entries {
            let patient = match (entry.allowed, entry.patient) {
                (true, Some(patient)) => patient,
                (false, _) => return Err(StoreError::Unrecorded("a denied access allows no write".into())),
                (true, None) => {
                    return Err(StoreError::Unrecorded(
                        "an access to no patient allows no record".into(),
                    ));
                }
            };
            self.recorded.push(Recorded {
                at: entry.at,
                actor: entry.actor.clone(),
                patient,
                category: entry.category,
                action: entry.action,
                relation: entry.relation.to_string(),
                detail: entry.detail.to_string(),
            });
        }
        Ok(())
    }

    /// The connection, for a record of `patient`: refused unless an access to that
    /// patient was recorded in this transaction.
    pub(crate) fn of(&mut self, patient: PatientId) -> Result<&mut WriteTx> {
        if !self.recorded.iter().any(|r| r.patient == patient) {
            return Err(StoreError::Unrecorded(format!(
                "no access to patient {patient} was recorded in this transaction"
            )));
        }
        Ok(&mut self.tx)
    }

    /// The connection, for a record that hangs on the row `id` of `owner`: the
    /// row's patient is read in this transaction, then checked as by [`Self::of`].
    /// The caller cannot name the patient, so it cannot name the wrong one.
    pub(crate) async fn of_owner(&mut self, owner: Owner, id: &str) -> Result<&mut WriteTx> {
        let row = sqlx::query(owner.patient_query())
            .bind(id)
            .fetch_optional_on(&mut self.tx)
            .await?;
        let Some(row) = row else {
            return Err(StoreError::Unrecorded(format!(
                "no {owner:?} {id} whose patient the record belongs to"
            )));
        };
        let patient: PatientId = parsed(&row, "patient_id")?;
        self.of(patient)
    }

    /// Appends the audit entries, then commits: the records and their entries
    /// land together.
    pub async fn commit(mut self) -> Result<()> {
        let entries: Vec<AuditEntry<'_>> = self
            .recorded
            .iter()
            .map(|r| AuditEntry {
                at: r.at,
                actor: &r.actor,
                patient: Some(r.patient),
                category: r.category,
                action: r.action,
                allowed: true,
                relation: &r.relation,
                detail: &r.detail,
            })
            .collect();
        audit::append_all(&self.store, &mut self.tx, &entries).await?;
        drop(entries);
        self.tx.commit().await
    }
}

// The other statements of the transaction (stock, messages, tasks) run on it as
// on any connection.
crate::native::fetch_through!(PatientWrite, backend: |w| w.tx.backend(), inner: |w| &mut w.tx);
