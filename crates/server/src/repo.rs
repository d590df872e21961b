//! The one path to patient data: a per-request repository holding the actor, which
//! asks the access policy before every read or write and writes the audit entry,
//! allowed or denied. There is no second path.

use samhand_domain::access::{self, Action, Actor, AllowedBy, DataCategory, Decision, PatientRelations};
use samhand_domain::ids::PatientId;
use samhand_store::PatientWrite;
use samhand_store::audit::{self, AuditEntry};

use crate::AppState;
use crate::error::{AppError, AppResult};

/// Permission for one write, to be recorded in the write's transaction. Only the
/// repository makes one (its fields are private to this module), from a decision
/// of the policy or a rule it names, and only the repository records it.
#[derive(Debug, Clone)]
pub struct WriteGrant {
    patient: PatientId,
    category: DataCategory,
    /// A write, or a correction of an earlier record.
    action: Action,
    decision: AllowedBy,
    detail: String,
}

impl WriteGrant {
    pub fn patient(&self) -> PatientId {
        self.patient
    }

    /// What allowed the write.
    pub fn allowed_by(&self) -> AllowedBy {
        self.decision
    }
}

/// The one path to patient data for one actor. Its state and actor are private: a
/// caller gets a decision, a grant, or an audited read from it, never the means
/// to write an audit entry of its own.
pub struct PatientRepo<'a> {
    state: &'a AppState,
    actor: Actor,
}

/// The message when the policy says no.
pub const DENIED_NB: &str = "Du har ikke tilgang til denne pasientens opplysninger.";

impl<'a> PatientRepo<'a> {
    pub fn new(state: &'a AppState, actor: impl Into<Actor>) -> Self {
        Self {
            state,
            actor: actor.into(),
        }
    }

    pub fn actor(&self) -> &Actor {
        &self.actor
    }

    pub async fn relations(&self, patient: PatientId) -> AppResult<PatientRelations> {
        let mut conn = self.state.store.reader().await?;
        let episodes = samhand_store::patients::episodes(&mut conn, patient).await?;
        let arrangements = samhand_store::orders::arrangements(&mut conn, patient).await?;
        let covers = samhand_store::orders::covers_of(&mut conn, &[patient]).await?;
        let privacy = samhand_store::privacy::facts_of(&mut conn, &[patient])
            .await?
            .remove(&patient)
            .unwrap_or_default();
        Ok(access::relations_from(
            patient,
            &episodes,
            &arrangements,
            &covers,
            &privacy,
            self.state.clock.now(),
        ))
    }

    /// The policy's decision, not itself an access and not audited: for what to
    /// offer (may the actor convene the group) or whom an access is about (is there
    /// a relation already). An access is decided and recorded together, by the
    /// `authorize_*` methods or [`Self::record_read`]. Every decision in the server
    /// is made here.
    pub fn decision(&self, relations: &PatientRelations, category: DataCategory, action: Action) -> Decision {
        access::decide(&self.actor, relations, category, action)
    }

    /// A write of a record that creates the patient's relation in the same
    /// transaction (an enrolment, a registration at admission): no relation exists
    /// to decide on before it, so the grant names what allowed it, and the caller's
    /// own checks (role, organisation) stand in for the decision.
    pub fn creation_grant(
        &self,
        patient: PatientId,
        category: DataCategory,
        by: AllowedBy,
        detail: &str,
    ) -> WriteGrant {
        self.rule_grant(patient, category, Action::Write, by, detail)
    }

    /// An access a rule of its own allows rather than a care relation: opening
    /// emergency access (the rule: a reason, no relation already) and a leader's
    /// review of one. The caller has checked the rule; the grant names it, and is
    /// recorded by [`Self::begin_write`] like any other.
    pub fn rule_grant(
        &self,
        patient: PatientId,
        category: DataCategory,
        action: Action,
        by: AllowedBy,
        detail: &str,
    ) -> WriteGrant {
        WriteGrant {
            patient,
            category,
            action,
            decision: by,
            detail: detail.to_string(),
        }
    }

    /// Decides a read of one patient and records it in the caller's transaction
    /// (with what the read goes with, such as a read receipt); the decision, for the
    /// caller to refuse on.
    pub async fn record_read(
        &self,
        tx: &mut samhand_store::WriteTx,
        patient: PatientId,
        relations: &PatientRelations,
        category: DataCategory,
        detail: &str,
    ) -> AppResult<Decision> {
        let decision = access::decide(&self.actor, relations, category, Action::Read);
        self.audit(tx, Some(patient), category, Action::Read, decision, detail)
            .await?;
        Ok(decision)
    }

    /// May the actor record an admission: as anyone who writes the patient's
    /// identity, or as staff of the institution admitting the patient to itself
    /// (`institution`). A denial is recorded and refused.
    pub async fn authorize_admission(
        &self,
        patient: PatientId,
        relations: &PatientRelations,
        institution: Option<samhand_domain::ids::OrganisationId>,
    ) -> AppResult<WriteGrant> {
        let detail = "admission recorded";
        if let Decision::Allow(by) =
            access::decide(&self.actor, relations, DataCategory::Identity, Action::Write)
        {
            return Ok(self.creation_grant(patient, DataCategory::Identity, by, detail));
        }
        if let Actor::Staff(staff) = &self.actor
            && let Decision::Allow(by) = access::may_admit(staff)
            && institution == Some(staff.organisation_id)
        {
            return Ok(self.creation_grant(patient, DataCategory::Identity, by, detail));
        }
        self.record_denial(Some(patient), DataCategory::Identity, Action::Write, detail)
            .await?;
        Err(AppError::Forbidden(DENIED_NB.into()))
    }

    /// Decides a read and records it in its own transaction; the caller reads after.
    pub async fn authorize_read(
        &self,
        patient: PatientId,
        category: DataCategory,
        detail: &str,
    ) -> AppResult<AllowedBy> {
        let relations = self.relations(patient).await?;
        let decision = access::decide(&self.actor, &relations, category, Action::Read);
        self.record(Some(patient), category, Action::Read, decision, detail)
            .await?;
        allowed(decision)
    }

    /// Decides a write before its transaction begins. A denial is recorded at once
    /// and refused; an allowed write gets a [`WriteGrant`], recorded with the write
    /// by the [`PatientWrite`] [`Self::begin_write`] begins, so both land or neither.
    pub async fn authorize_write(
        &self,
        patient: PatientId,
        category: DataCategory,
        detail: &str,
    ) -> AppResult<WriteGrant> {
        let relations = self.relations(patient).await?;
        self.authorize_write_with(patient, &relations, category, detail)
            .await
    }

    /// As [`Self::authorize_write`], for a caller that has already loaded what the
    /// relations follow from.
    pub async fn authorize_write_with(
        &self,
        patient: PatientId,
        relations: &PatientRelations,
        category: DataCategory,
        detail: &str,
    ) -> AppResult<WriteGrant> {
        self.grant(patient, relations, category, Action::Write, detail)
            .await
    }

    /// The write of a dose given at the place's edge while it was offline, when
    /// the place lost its relation to the patient meanwhile (the patient moved,
    /// the treatment ended): a dose given is a fact and is stored, audited as
    /// [`AllowedBy::EdgeRecording`], with the conflict shown to the prescriber
    /// and the place (H93). Only for the staff of the place the edge serves.
    pub fn edge_recording_grant(&self, patient: PatientId, detail: &str) -> WriteGrant {
        WriteGrant {
            patient,
            category: DataCategory::Dispensing,
            action: Action::Write,
            decision: AllowedBy::EdgeRecording,
            detail: detail.to_string(),
        }
    }

    /// As [`Self::authorize_write_with`], for a correction of an earlier record
    /// (`Action::Correct`: at the window, also the place's leader and a prescriber).
    pub async fn authorize_correction_with(
        &self,
        patient: PatientId,
        relations: &PatientRelations,
        category: DataCategory,
        detail: &str,
    ) -> AppResult<WriteGrant> {
        self.grant(patient, relations, category, Action::Correct, detail)
            .await
    }

    async fn grant(
        &self,
        patient: PatientId,
        relations: &PatientRelations,
        category: DataCategory,
        action: Action,
        detail: &str,
    ) -> AppResult<WriteGrant> {
        match access::decide(&self.actor, relations, category, action) {
            Decision::Allow(by) => Ok(WriteGrant {
                patient,
                category,
                action,
                decision: by,
                detail: detail.to_string(),
            }),
            Decision::Deny => {
                self.record_denial(Some(patient), category, action, detail)
                    .await?;
                Err(AppError::Forbidden(DENIED_NB.into()))
            }
        }
    }

    /// A write by Samhand itself (the scheduler's notice of a block): begun with no
    /// access recorded, so it holds no patient's record until an access is recorded
    /// in it (an EDI disclosure, [`Self::record_edi_disclosure`]), which the audit
    /// log then names as Samhand's, not a person's. Refused for any other actor.
    pub async fn begin_system_write(&self) -> AppResult<PatientWrite> {
        if !matches!(self.actor, Actor::System(_)) {
            return Err(AppError::Internal(
                "a write without an access is Samhand's own only".into(),
            ));
        }
        Ok(PatientWrite::begin(&self.state.store, &[]).await?)
    }

    /// Begins the transaction of an allowed write with its audit entry: the
    /// [`PatientWrite`] the store's functions for the clinical record require, and
    /// only for this grant's patient.
    pub async fn begin_write(&self, grant: &WriteGrant) -> AppResult<PatientWrite> {
        let entry = self.grant_entry(grant, &grant.detail);
        Ok(PatientWrite::begin(&self.state.store, std::slice::from_ref(&entry)).await?)
    }

    fn grant_entry<'e>(&'e self, grant: &'e WriteGrant, detail: &'e str) -> AuditEntry<'e> {
        self.entry(
            self.state.clock.now(),
            Some(grant.patient),
            grant.category,
            grant.action,
            Decision::Allow(grant.decision),
            detail,
        )
    }

    /// Adds a further allowed write to a write already begun, recorded with it at
    /// the commit: one transaction that writes under two grants (an enrolment
    /// and the individual plan it initiates, a registration and the admission).
    pub fn record_write_also(&self, write: &mut PatientWrite, grant: &WriteGrant) -> AppResult<()> {
        let entry = self.grant_entry(grant, &grant.detail);
        write.record(std::slice::from_ref(&entry))?;
        Ok(())
    }

    /// Records, in a write begun, that a message about the patient goes by EDI to a
    /// service outside Samhand, allowed `by` the patient's consent to its category
    /// (or, for the assessment decision, by the referral itself): the disclosure
    /// lands in the patient's access log with the event that caused it.
    pub fn record_edi_disclosure(
        &self,
        write: &mut PatientWrite,
        patient: PatientId,
        category: DataCategory,
        by: AllowedBy,
        detail: &str,
    ) -> AppResult<()> {
        let entry = self.entry(
            self.state.clock.now(),
            Some(patient),
            category,
            Action::Read,
            Decision::Allow(by),
            detail,
        );
        write.record(std::slice::from_ref(&entry))?;
        Ok(())
    }

    /// Records a write the policy allowed but the clinical rules refused (a dose
    /// already dispensed, nothing due), so that every attempt is in the log.
    pub async fn record_refused_write(&self, grant: &WriteGrant, reason: &str) -> AppResult<()> {
        self.record_attempt(grant, &format!("{} – refused: {reason}", grant.detail))
            .await
    }

    /// Records a repeated request (the same idempotency key) answered with what was
    /// stored the first time: nothing new is written, but it is an attempt all the
    /// same, and it hands back the record.
    pub async fn record_repeat(&self, grant: &WriteGrant) -> AppResult<()> {
        self.record_attempt(
            grant,
            &format!("{} – repeated, answered with the first result", grant.detail),
        )
        .await
    }

    /// An allowed attempt that wrote nothing, in a write of its own.
    async fn record_attempt(&self, grant: &WriteGrant, detail: &str) -> AppResult<()> {
        self.record(
            Some(grant.patient),
            grant.category,
            grant.action,
            Decision::Allow(grant.decision),
            detail,
        )
        .await
    }

    /// A write's input as the clinical rules judged it: the value, or, when they
    /// refused it, the refusal audited and the errors as the answer.
    pub async fn checked<T>(
        &self,
        grant: &WriteGrant,
        reason: &str,
        judged: Result<T, samhand_domain::validation::FieldErrors>,
    ) -> AppResult<T> {
        match judged {
            Ok(value) => Ok(value),
            Err(errors) => {
                self.record_refused_write(grant, reason).await?;
                Err(AppError::Invalid(errors))
            }
        }
    }

    /// Records a denied access in a write of its own, so that it stays even
    /// though the request is refused.
    pub async fn record_denial(
        &self,
        patient: Option<PatientId>,
        category: DataCategory,
        action: Action,
        detail: &str,
    ) -> AppResult<()> {
        self.record(patient, category, action, Decision::Deny, detail)
            .await
    }

    /// Records a read of the directory of health personnel and organisations: no
    /// patient's record, so no relation is asked for; every staff actor may look
    /// people and places up, and the read is in the log all the same.
    pub async fn record_directory_read(&self, detail: &str) -> AppResult<()> {
        self.record_unnamed_read(AllowedBy::Directory, DataCategory::Identity, detail)
            .await
    }

    /// Records a read that names no patient (the directory, the unit's indicators):
    /// the caller has checked the actor may make it; the read is in the log all the
    /// same.
    pub async fn record_unnamed_read(
        &self,
        by: AllowedBy,
        category: DataCategory,
        detail: &str,
    ) -> AppResult<()> {
        self.record(None, category, Action::Read, Decision::Allow(by), detail)
            .await
    }

    /// Decides reads of several categories of one patient, recorded together; all
    /// must be allowed.
    pub async fn authorize_read_all(
        &self,
        patient: PatientId,
        categories: &[DataCategory],
        detail: &str,
    ) -> AppResult<()> {
        let relations = self.relations(patient).await?;
        self.authorize_read_all_with(patient, &relations, categories, detail)
            .await
    }

    /// As [`Self::authorize_read_all`], with the relations already at hand.
    pub async fn authorize_read_all_with(
        &self,
        patient: PatientId,
        relations: &PatientRelations,
        categories: &[DataCategory],
        detail: &str,
    ) -> AppResult<()> {
        self.authorize_read_all_and_optional(patient, relations, categories, None, detail)
            .await
            .map(|_| ())
    }

    /// As [`Self::authorize_read_all_with`], and also a read the page adds when the
    /// policy allows it (as [`Self::optional_reads`], with `optional_detail`),
    /// recorded in the same transaction: whether that one was allowed. Nothing of
    /// the optional read is recorded when the required ones are refused.
    pub async fn authorize_read_all_and_optional(
        &self,
        patient: PatientId,
        relations: &PatientRelations,
        categories: &[DataCategory],
        optional: Option<(DataCategory, &str)>,
        detail: &str,
    ) -> AppResult<bool> {
        let (shared, ()) = self
            .authorize_read_all_and_optional_while(
                patient,
                relations,
                categories,
                optional,
                detail,
                |_| async { Ok(()) },
            )
            .await?;
        Ok(shared)
    }

    /// As [`Self::authorize_read_all_and_optional`], and runs `reads` (told
    /// whether the optional category is shared) while the audit entries commit,
    /// once all of `categories` are allowed: nothing `reads` answers is returned
    /// before the entries have committed, and nothing at all if they fail.
    pub async fn authorize_read_all_and_optional_while<T, F, Fut>(
        &self,
        patient: PatientId,
        relations: &PatientRelations,
        categories: &[DataCategory],
        optional: Option<(DataCategory, &str)>,
        detail: &str,
        reads: F,
    ) -> AppResult<(bool, T)>
    where
        F: FnOnce(bool) -> Fut,
        Fut: std::future::Future<Output = AppResult<T>>,
    {
        let decide = |category: DataCategory| access::decide(&self.actor, relations, category, Action::Read);
        let decisions: Vec<(DataCategory, Decision)> = categories.iter().map(|c| (*c, decide(*c))).collect();
        let denied = decisions.iter().any(|(_, d)| !d.is_allowed());
        let optional = optional
            .filter(|_| !denied)
            .map(|(category, detail)| (category, decide(category), detail))
            .filter(|(_, decision, _)| decision.is_allowed());
        let now = self.state.clock.now();
        let entries: Vec<AuditEntry<'_>> = decisions
            .iter()
            .map(|(category, decision)| {
                self.entry(now, Some(patient), *category, Action::Read, *decision, detail)
            })
            .chain(optional.iter().map(|(category, decision, detail)| {
                self.entry(now, Some(patient), *category, Action::Read, *decision, detail)
            }))
            .collect();
        let record = async {
            audit::record(&self.state.store, &entries).await?;
            Ok::<(), AppError>(())
        };
        if denied {
            record.await?;
            return Err(AppError::Forbidden(DENIED_NB.into()));
        }
        let shared = optional.is_some();
        let ((), read) = tokio::try_join!(record, reads(shared))?;
        Ok((shared, read))
    }

    /// Reads for many patients at once (today's list): one decision and one audit
    /// entry per patient, in one transaction. Returns the allowed ones.
    pub async fn authorize_reads(
        &self,
        patients: &[(PatientId, PatientRelations)],
        category: DataCategory,
        detail: &str,
    ) -> AppResult<Vec<PatientId>> {
        self.decide_reads(patients, category, detail, true, false).await
    }

    /// As [`Self::authorize_reads`], for a list that shows many patients at once
    /// (today's dispensing list): the view is one audit entry per outcome and
    /// relation, naming the patients it covers (a set of them, `audit_patient_sets`), so that each
    /// patient's access log still shows it (H67).
    pub async fn authorize_list_reads(
        &self,
        patients: &[(PatientId, PatientRelations)],
        category: DataCategory,
        detail: &str,
    ) -> AppResult<Vec<PatientId>> {
        self.decide_reads(patients, category, detail, true, true).await
    }

    /// As [`Self::optional_reads`], recorded as [`Self::authorize_list_reads`] does.
    pub async fn optional_list_reads(
        &self,
        patients: &[(PatientId, PatientRelations)],
        category: DataCategory,
        detail: &str,
    ) -> AppResult<Vec<PatientId>> {
        self.decide_reads(patients, category, detail, false, true).await
    }

    /// Reads that a page adds when the policy allows them (health information on
    /// today's list, say), where a refusal is no error: only the allowed reads
    /// happen, so only they are audited. Returns the allowed patients.
    pub async fn optional_reads(
        &self,
        patients: &[(PatientId, PatientRelations)],
        category: DataCategory,
        detail: &str,
    ) -> AppResult<Vec<PatientId>> {
        self.decide_reads(patients, category, detail, false, false).await
    }

    /// The policy's read decision for each patient, recorded nowhere yet: for a
    /// search that returns only some of the allowed patients. Whatever is returned
    /// of them must then be recorded with [`Self::record_reads`] before it leaves the
    /// server, and a search that may return no one with [`Self::record_denial`].
    pub fn permitted_reads(
        &self,
        patients: &[(PatientId, PatientRelations)],
        category: DataCategory,
    ) -> Vec<(PatientId, AllowedBy)> {
        patients
            .iter()
            .filter_map(|(patient, relations)| {
                match access::decide(&self.actor, relations, category, Action::Read) {
                    Decision::Allow(by) => Some((*patient, by)),
                    Decision::Deny => None,
                }
            })
            .collect()
    }

    /// Records reads the policy allowed ([`Self::permitted_reads`]) of the patients
    /// whose data is returned, in one transaction.
    pub async fn record_reads(
        &self,
        reads: &[(PatientId, AllowedBy)],
        category: DataCategory,
        detail: &str,
    ) -> AppResult<()> {
        if reads.is_empty() {
            return Ok(());
        }
        let now = self.state.clock.now();
        let entries: Vec<AuditEntry<'_>> = reads
            .iter()
            .map(|(patient, by)| {
                self.entry(
                    now,
                    Some(*patient),
                    category,
                    Action::Read,
                    Decision::Allow(*by),
                    detail,
                )
            })
            .collect();
        audit::record(&self.state.store, &entries).await?;
        Ok(())
    }

    /// One read decision per patient, audited in one transaction (the denied ones
    /// too when `audit_denied`): an entry per patient, or when `as_list` one entry
    /// per decision naming its patients. Returns the allowed patients.
    async fn decide_reads(
        &self,
        patients: &[(PatientId, PatientRelations)],
        category: DataCategory,
        detail: &str,
        audit_denied: bool,
        as_list: bool,
    ) -> AppResult<Vec<PatientId>> {
        let decisions = self.read_decisions(patients, category, audit_denied);
        self.record_decisions(&decisions, category, detail, as_list)
            .await?;
        Ok(allowed_of(&decisions))
    }

    /// As [`Self::authorize_list_reads`], with the list's entry written while
    /// `reads` reads what the list shows of the allowed patients: the decision
    /// comes first, and nothing is returned before the entry is committed (a
    /// failed entry fails the whole request, and what was read is dropped). The
    /// list no longer waits for the audit's commit before it starts reading.
    pub async fn authorize_list_reads_while<T, F, Fut>(
        &self,
        patients: &[(PatientId, PatientRelations)],
        category: DataCategory,
        detail: &str,
        reads: F,
    ) -> AppResult<(Vec<PatientId>, T)>
    where
        F: FnOnce(Vec<PatientId>) -> Fut,
        Fut: std::future::Future<Output = AppResult<T>>,
    {
        let decisions = self.read_decisions(patients, category, true);
        let allowed = allowed_of(&decisions);
        let ((), read) = tokio::try_join!(
            self.record_decisions(&decisions, category, detail, true),
            reads(allowed.clone())
        )?;
        Ok((allowed, read))
    }

    /// The policy's read decision for each patient (only the allowed ones unless
    /// `with_denied`).
    fn read_decisions(
        &self,
        patients: &[(PatientId, PatientRelations)],
        category: DataCategory,
        with_denied: bool,
    ) -> Vec<(PatientId, Decision)> {
        patients
            .iter()
            .map(|(patient, relations)| {
                (
                    *patient,
                    access::decide(&self.actor, relations, category, Action::Read),
                )
            })
            .filter(|(_, decision)| with_denied || decision.is_allowed())
            .collect()
    }

    /// Records read decisions in one transaction: an entry per patient, or when
    /// `as_list` one entry per decision naming its patients.
    async fn record_decisions(
        &self,
        decisions: &[(PatientId, Decision)],
        category: DataCategory,
        detail: &str,
        as_list: bool,
    ) -> AppResult<()> {
        if decisions.is_empty() {
            return Ok(());
        }
        let now = self.state.clock.now();
        if as_list {
            let mut by_decision: Vec<(Decision, Vec<PatientId>)> = Vec::new();
            for (patient, decision) in decisions {
                match by_decision.iter_mut().find(|(d, _)| d == decision) {
                    Some((_, ids)) => ids.push(*patient),
                    None => by_decision.push((*decision, vec![*patient])),
                }
            }
            let entries: Vec<(AuditEntry<'_>, &[PatientId])> = by_decision
                .iter()
                .map(|(decision, ids)| {
                    let entry = self.entry(now, None, category, Action::Read, *decision, detail);
                    (entry, ids.as_slice())
                })
                .collect();
            audit::record_about_many(&self.state.store, &entries).await?;
        } else {
            let entries: Vec<AuditEntry<'_>> = decisions
                .iter()
                .map(|(patient, decision)| {
                    self.entry(now, Some(*patient), category, Action::Read, *decision, detail)
                })
                .collect();
            audit::record(&self.state.store, &entries).await?;
        }
        Ok(())
    }

    /// Records one decision, all the request writes, with other reads' entries
    /// ([`audit::record`]).
    async fn record(
        &self,
        patient: Option<PatientId>,
        category: DataCategory,
        action: Action,
        decision: Decision,
        detail: &str,
    ) -> AppResult<()> {
        let entry = self.entry_now(patient, category, action, decision, detail);
        audit::record(&self.state.store, std::slice::from_ref(&entry)).await?;
        Ok(())
    }

    /// [`Self::entry`] at the clock's now.
    fn entry_now<'e>(
        &'e self,
        patient: Option<PatientId>,
        category: DataCategory,
        action: Action,
        decision: Decision,
        detail: &'e str,
    ) -> AuditEntry<'e> {
        self.entry(
            self.state.clock.now(),
            patient,
            category,
            action,
            decision,
            detail,
        )
    }

    /// The audit entry of one decision.
    fn entry<'e>(
        &'e self,
        at: jiff::Timestamp,
        patient: Option<PatientId>,
        category: DataCategory,
        action: Action,
        decision: Decision,
        detail: &'e str,
    ) -> AuditEntry<'e> {
        AuditEntry {
            at,
            actor: &self.actor,
            patient,
            category,
            action,
            allowed: decision.is_allowed(),
            relation: match decision {
                Decision::Allow(by) => by.code(),
                Decision::Deny => "denied",
            },
            detail,
        }
    }

    async fn audit(
        &self,
        tx: &mut samhand_store::WriteTx,
        patient: Option<PatientId>,
        category: DataCategory,
        action: Action,
        decision: Decision,
        detail: &str,
    ) -> AppResult<()> {
        let entry = self.entry_now(patient, category, action, decision, detail);
        audit::append(&self.state.store, tx, &entry).await?;
        Ok(())
    }
}

fn allowed(decision: Decision) -> AppResult<AllowedBy> {
    match decision {
        Decision::Allow(by) => Ok(by),
        Decision::Deny => Err(AppError::Forbidden(DENIED_NB.into())),
    }
}

/// The patients a set of decisions allows.
fn allowed_of(decisions: &[(PatientId, Decision)]) -> Vec<PatientId> {
    decisions
        .iter()
        .filter(|(_, d)| d.is_allowed())
        .map(|(p, _)| *p)
        .collect()
}
