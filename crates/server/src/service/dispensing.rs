//! The dispensing window: today's list at the actor's place, recording a dispensing
//! exactly once, the hold on take-home doses after today's dose was withheld or
//! reduced, and corrections of a recording made by mistake.

use std::collections::{HashMap, HashSet};

use jiff::civil::Date;
use jiff::{Span, Timestamp};
use samhand_domain::access::{DataCategory, PatientRelations};
use samhand_domain::arrangement::effective_arrangement;
use samhand_domain::dispensing::{
    CorrectedRecording, Correction, CorrectionKind, DispenseRefusal, LiveDose, Outcome, OutcomeKind,
    PastDose, RecordedDose, TakeHomeHold, check_take_home_hold, may_correct, plan_correction, plan_recording,
    take_home_hold,
};
use samhand_domain::dose::Dose;
use samhand_domain::ids::{DispensingId, DoseOrderId, OrganisationId, PatientId, UserId};
use samhand_domain::message::MessageKind;
use samhand_domain::missed::MissedDoseState;
use samhand_domain::organisation::Organisation;
use samhand_domain::patient::Patient;
use samhand_domain::schedule::{DoseKey, DueDose, IntakeMode, UncoveredDay};
use samhand_domain::substance::Substance;
use samhand_domain::validation::FieldErrors;
use samhand_store::dispensing::{CorrectionRecord, DispensedDose, DispensingEvent};
use samhand_store::{StoreError, dispensing as dispensing_store, orders as order_store, patients};

use samhand_store::one_patient::Also;

use super::{
    MISSED_LOOKBACK_DAYS, PatientData, Service, field, missed_state_on, relations_of, with_schedule,
};
use crate::error::{AppError, AppResult};

mod corrections;
pub mod edge_intake;
mod list;
mod offline;

pub use offline::Confirmer;

/// One patient on today's list.
#[derive(Debug, Clone)]
pub struct ListRow {
    pub patient: Patient,
    pub window: Option<samhand_domain::arrangement::TimeWindow>,
    pub group: Option<String>,
    /// Each dose due here that day, with its recording as it stands (a recording a
    /// correction took back is not one).
    pub due: Vec<(DueDose, Option<DispensedDose>)>,
    pub missed: MissedDoseState,
    /// The block (if any) is reduced tolerance after a stay at an institution.
    pub after_stay: bool,
    /// Health information in force, when the patient shares it with the place;
    /// `None` when not shared.
    pub health: Option<Vec<samhand_domain::health::HealthNote>>,
    /// Today's own dose was withheld or reduced: the take-home doses are held too.
    pub hold: Option<TakeHomeHold>,
    /// The patient has never had a dose recorded: the identity check is the first.
    pub first_dose: bool,
    /// Corrections of this patient's recordings made that day.
    pub corrections: Vec<CorrectionRecord>,
}

impl ListRow {
    /// Whether nothing is left to do for the patient here: every dose due is
    /// recorded, or the only ones left are take-home doses held with today's dose.
    pub fn done(&self) -> bool {
        self.due.iter().all(|(due, recorded)| {
            recorded.is_some() || (self.hold.is_some() && due.mode == IntakeMode::TakeHome)
        })
    }

    pub fn is_blocked(&self) -> bool {
        self.missed.is_blocked()
    }

    pub fn substance(&self) -> Option<Substance> {
        self.due.first().map(|(d, _)| d.scheduled.substance)
    }

    /// Take-home doses not yet recorded and held by today's withheld or reduced dose.
    pub fn held_take_home(&self) -> impl Iterator<Item = &DueDose> {
        self.due
            .iter()
            .filter(|(d, r)| self.hold.is_some() && d.mode == IntakeMode::TakeHome && r.is_none())
            .map(|(d, _)| d)
    }
}

#[derive(Debug, Clone)]
pub struct TodayList {
    pub place: Organisation,
    pub date: Date,
    pub now: Timestamp,
    /// Why the place is closed that day, if it is.
    pub closed: Option<String>,
    /// The public holiday that day, if it is one (open or not).
    pub holiday: Option<&'static str>,
    pub rows: Vec<ListRow>,
    /// Patients with doses that would fall on a closed day in the coming days.
    pub uncovered: Vec<(Patient, UncoveredDay)>,
    /// Patients whose dispensing here pauses today for a stay, with why.
    pub paused: Vec<(Patient, String)>,
    pub names: HashMap<UserId, String>,
    /// At a place's edge: corrections are made centrally (H96).
    pub at_edge: bool,
    /// At an edge long offline: why each recording needs a colleague (H97).
    pub confirmation: Option<String>,
}

impl TodayList {
    pub fn missing(&self) -> impl Iterator<Item = &ListRow> {
        self.rows.iter().filter(|r| !r.done())
    }
}

/// A recording at the window, as asked for.
#[derive(Debug, Clone, Default)]
pub struct DispenseRequest {
    pub patient_id: String,
    pub idempotency_key: String,
    /// "given", "reduced" or "withheld".
    pub outcome: String,
    pub reason: String,
    pub reduced_mg: String,
    pub identity_confirmed: bool,
    /// Which due doses; all when empty.
    pub doses: Vec<DoseKey>,
    /// Why take-home doses are handed over although today's dose was withheld or
    /// reduced; empty when not overriding the hold.
    pub override_reason: String,
    /// A colleague's confirmation, needed at an edge long offline (H97).
    pub confirmer: Option<Confirmer>,
}

#[derive(Debug, Clone)]
pub struct DispenseResult {
    pub event: DispensingEvent,
    pub doses: Vec<DispensedDose>,
    /// The request repeated an earlier one (same idempotency key): nothing new was
    /// recorded, and this is the earlier result.
    pub replayed: bool,
}

/// A correction of a recording, as asked for.
#[derive(Debug, Clone, Default)]
pub struct CorrectionRequest {
    pub idempotency_key: String,
    /// "not_given" or "wrong_amount".
    pub kind: String,
    /// For a wrong amount: what was actually given, in mg.
    pub actual_mg: String,
    pub reason: String,
}

#[derive(Debug, Clone)]
pub struct CorrectionResult {
    pub correction: DispensingEvent,
    pub corrects: DispensingId,
    /// The doses taken back.
    pub voided: Vec<DispensedDose>,
    /// For a wrong amount, the dose as actually given.
    pub recorded: Vec<DispensedDose>,
    pub replayed: bool,
}

/// The days of recorded doses the window needs about a day: the missed-dose rule's
/// lookback before the day it is judged on (never a future day) up to a week ahead.
fn recorded_range(date: Date, today: Date) -> (Date, Date) {
    let judged = date.min(today);
    let from = judged
        .checked_sub(Span::new().days(MISSED_LOOKBACK_DAYS))
        .unwrap_or(judged);
    let to = date.max(today).checked_add(Span::new().days(7)).unwrap_or(date);
    (from, to)
}

/// The first day whose recorded doses the window reads in full: the day before
/// the day judged on. Before it, the days dosed (the missed-dose rule) and the
/// depot injections (their interval) are all the window looks at; the take-home
/// hold and the doses on the list are of the day itself and the days after.
fn near_days(date: Date, today: Date) -> Date {
    let judged = date.min(today);
    judged.checked_sub(Span::new().days(1)).unwrap_or(judged)
}

/// What a recording writes, as decided before the write.
struct PlannedDispensing {
    doses: Vec<RecordedDose>,
    substance: Substance,
    /// The order of each dose, in the order of `doses`.
    order_ids: Vec<DoseOrderId>,
    /// Take-home doses are handed over despite today's withheld or reduced dose.
    overriding_hold: bool,
}

impl Service<'_> {
    /// The actor's own dispensing place.
    pub async fn own_place(&self) -> AppResult<Organisation> {
        let organisations = self.organisations().await?;
        organisations
            .get(&self.staff()?.organisation_id)
            .filter(|o| o.kind.can_dispense())
            .cloned()
            .ok_or_else(|| AppError::Forbidden("Du arbeider ikke ved et utleveringssted.".into()))
    }

    /// Records a dispensing at the actor's place, exactly once per scheduled dose.
    pub async fn record_dispensing(&self, request: &DispenseRequest) -> AppResult<DispenseResult> {
        let patient_id: PatientId = request
            .patient_id
            .parse()
            .map_err(|_| field("patient_id", "Ukjent pasient."))?;
        let today = self.today();
        // The schedule's inputs are also what the relations follow from: loaded once,
        // in one statement with the event of the idempotency key (a retry) and the
        // recorded doses the plan reads, which are used only once it is allowed.
        let (from, to) = recorded_range(today, today);
        let record = self
            .patient_record(
                patient_id,
                Also {
                    event_key: idempotency_key(&request.idempotency_key).ok(),
                    recent: Some((from, near_days(today, today), to)),
                    ..Also::default()
                },
            )
            .await?;
        let data = &record.data;
        // The access decision comes first, also for a retried request: a replay hands
        // back dispensing data, which only those with the relation may see.
        let grant = self
            .repo
            .authorize_write_with(
                patient_id,
                &data.relations(patient_id, self.now()),
                DataCategory::Dispensing,
                "dispensing recorded",
            )
            .await?;
        let result = self
            .record_dispensing_granted(request, patient_id, &record, &grant, today)
            .await;
        self.audit_attempt(&grant, &result).await?;
        result
    }

    /// The policy allowed the attempt; if the clinical rules refused it, or it was
    /// a repeat answered with the first result, it is an attempt all the same, so it
    /// is in the audit log (a refusal with its reason).
    pub(super) async fn audit_attempt<T: Repeatable>(
        &self,
        grant: &crate::repo::WriteGrant,
        result: &AppResult<T>,
    ) -> AppResult<()> {
        match result {
            Ok(done) if done.replayed() => self.repo.record_repeat(grant).await,
            Ok(_) | Err(AppError::Internal(_)) => Ok(()),
            Err(refusal) => self.repo.record_refused_write(grant, &refusal.message_nb()).await,
        }
    }

    async fn record_dispensing_granted(
        &self,
        request: &DispenseRequest,
        patient_id: PatientId,
        record: &super::PatientRecord,
        grant: &crate::repo::WriteGrant,
        today: Date,
    ) -> AppResult<DispenseResult> {
        let data = &record.data;
        let place = self.own_place().await?;
        let key = idempotency_key(&request.idempotency_key)?;
        if let Some(replay) = self
            .replay_of(record.event_by_key.clone(), patient_id, request)
            .await?
        {
            return Ok(replay);
        }
        let outcome = Outcome::parse(&request.outcome, &request.reason, &request.reduced_mg)
            .map_err(AppError::Invalid)?;
        let confirmed_by = self.offline_confirmer(&place, request).await?;
        let recent = record.recent.clone().unwrap_or_default();
        let plan = self
            .plan_dispensing(request, patient_id, data, recent, place.id, &outcome, today)
            .await?;
        let reason = match (&outcome, plan.overriding_hold) {
            (Outcome::Given, true) => Some(request.override_reason.trim().to_string()),
            _ => outcome.reason().map(str::to_string),
        };
        let event = DispensingEvent {
            id: DispensingId::new(),
            idempotency_key: key.to_string(),
            patient_id,
            place_id: place.id,
            day: today,
            outcome: outcome.kind(),
            reason,
            identity_confirmed_by: confirmed_by.unwrap_or(self.actor().id()),
            recorded_by: self.actor().id(),
            recorded_at: self.now(),
        };
        let mut tx = self.repo.begin_write(grant).await?;
        let doses = match self.write_dispensing(&mut tx, &event, &plan).await {
            Ok(doses) => {
                // At a place's edge the prescriber is told by central, when the
                // recording arrives there.
                if self.state.edge.is_none() {
                    let told = told_of(&outcome, plan.overriding_hold, &request.override_reason);
                    self.tell_of_recording(&mut tx, data, patient_id, &place, today, told)
                        .await?;
                }
                tx.commit().await?;
                doses
            }
            Err(StoreError::Conflict(_)) => {
                // Another request recorded the dose first, maybe in the batch
                // still being written: read it once it is committed.
                drop(tx);
                self.state.store.settle().await;
                let first = plan.doses.first().map(|p| p.key).expect("planned is not empty");
                return self.taken_meanwhile(key, patient_id, request, first, today).await;
            }
            Err(other) => return Err(other.into()),
        };
        Ok(DispenseResult {
            event,
            doses,
            replayed: false,
        })
    }

    /// Decides what the recording writes from the doses due today and those already
    /// recorded, refusing it when the rules (identity, a block, the take-home hold) say
    /// so.
    #[allow(clippy::too_many_arguments)]
    async fn plan_dispensing(
        &self,
        request: &DispenseRequest,
        patient_id: PatientId,
        data: &PatientData,
        mut recent: dispensing_store::RecentDoses,
        place: OrganisationId,
        outcome: &Outcome,
        today: Date,
    ) -> AppResult<PlannedDispensing> {
        let policy = self.policy().await?;
        let due = with_schedule(data, today, |s| s.due_at(place, today)).unwrap_or_default();
        let recorded = recent.doses;
        let already: HashSet<DoseKey> = recorded.iter().map(|d| d.key).collect();
        let past = past_doses(&recorded);
        let due = samhand_domain::dispensing::still_due(due, &past, today);
        let dosed_days = recent.dosed_days.remove(&patient_id).unwrap_or_default();
        let blocked = missed_state_on(data, &dosed_days, today, &policy).is_blocked();
        let hold = take_home_hold(&past, today);
        let planned = plan_recording(
            &due,
            &request.doses,
            &already,
            outcome,
            request.identity_confirmed,
            blocked,
        )
        .and_then(|planned| {
            check_take_home_hold(&planned, outcome, hold, &request.override_reason).map(|()| planned)
        })
        .map_err(|refusal| self.refusal(refusal, &recorded))?;
        let overriding_hold =
            hold.is_some() && outcome.is_dosed() && planned.iter().any(|r| r.mode == IntakeMode::TakeHome);
        let substance = due
            .first()
            .map(|d| d.scheduled.substance)
            .ok_or_else(|| AppError::Conflict(DispenseRefusal::NothingDue.message_nb()))?;
        let order_ids: Vec<DoseOrderId> = planned
            .iter()
            .map(|r| {
                due.iter()
                    .find(|d| d.scheduled.key == r.key)
                    .map(|d| d.scheduled.order_id)
                    .expect("planned from due")
            })
            .collect();
        Ok(PlannedDispensing {
            doses: planned,
            substance,
            order_ids,
            overriding_hold,
        })
    }

    /// Writes the recording and takes what was given from the place's stock, giving
    /// back the doses as written; a conflict means another request recorded one of
    /// the doses first.
    async fn write_dispensing(
        &self,
        tx: &mut samhand_store::PatientWrite,
        event: &DispensingEvent,
        plan: &PlannedDispensing,
    ) -> Result<Vec<DispensedDose>, StoreError> {
        let doses =
            dispensing_store::insert_returning(tx, event, &plan.doses, plan.substance, &plan.order_ids)
                .await?;
        let given: Dose = plan.doses.iter().map(|r| r.amount).sum();
        if given.is_zero() {
            return Ok(doses);
        }
        super::stock::take_for_dispensing(
            tx,
            event.place_id,
            plan.substance,
            given,
            event.id,
            self.actor().id(),
            event.recorded_at,
        )
        .await?;
        Ok(doses)
    }

    /// Another request recorded the dose between the decision and the write: the same
    /// request retried (same key) gets the first result; anything else is refused,
    /// naming when the dose was recorded.
    async fn taken_meanwhile(
        &self,
        key: &str,
        patient: PatientId,
        request: &DispenseRequest,
        first: DoseKey,
        today: Date,
    ) -> AppResult<DispenseResult> {
        if let Some(replay) = self.replay(key, patient, request).await? {
            return Ok(replay);
        }
        let recorded = {
            let mut conn = self.state.store.reader().await?;
            let (from, to) = recorded_range(today, today);
            dispensing_store::doses_of(&mut conn, &[patient], from, to).await?
        };
        Err(self.refusal(DispenseRefusal::AlreadyDispensed(first), &recorded))
    }

    /// Tells the prescriber's unit and the coordinator the same day of a withheld or
    /// reduced dose, or of take-home doses handed over despite one.
    async fn tell_of_recording(
        &self,
        tx: &mut samhand_store::PatientWrite,
        data: &PatientData,
        patient: PatientId,
        place: &Organisation,
        today: Date,
        told: Option<(&'static str, String)>,
    ) -> AppResult<()> {
        let Some((what, reason)) = told else {
            return Ok(());
        };
        self.send_automatic(
            tx,
            patient,
            MessageKind::WithheldDose,
            format!(
                "{what} {} ved {}",
                samhand_domain::format::date_nb(today),
                place.name
            ),
            format!("Vurdering ved utlevering: {reason}"),
            self.prescriber_and_coordinator(data, patient),
        )
        .await
    }

    /// Who is told of what happened at the window: the responsible LAR unit (the
    /// prescriber) and the coordinator's unit.
    pub(super) fn prescriber_and_coordinator(
        &self,
        data: &PatientData,
        patient: PatientId,
    ) -> Vec<OrganisationId> {
        samhand_domain::message::prescriber_and_coordinators(
            &data.relations(patient, self.now()),
            &data.privacy.care_team,
            self.now(),
        )
    }

    /// The earlier result of a request with this idempotency key, if there was one.
    /// A key reused for another patient, place or outcome is refused rather than
    /// answered with a result the caller did not ask for.
    pub(super) async fn replay(
        &self,
        key: &str,
        patient: PatientId,
        request: &DispenseRequest,
    ) -> AppResult<Option<DispenseResult>> {
        let event = {
            let mut conn = self.state.store.reader().await?;
            dispensing_store::event_by_key(&mut conn, key).await?
        };
        self.replay_of(event, patient, request).await
    }

    /// [`Self::replay`] with the event of the key as read already.
    async fn replay_of(
        &self,
        event: Option<DispensingEvent>,
        patient: PatientId,
        request: &DispenseRequest,
    ) -> AppResult<Option<DispenseResult>> {
        let Some(event) = event else {
            return Ok(None);
        };
        let asked = match request.outcome.trim() {
            "" => Some(OutcomeKind::Given),
            code => OutcomeKind::from_code(code),
        };
        if event.patient_id != patient
            || event.place_id != self.staff()?.organisation_id
            || Some(event.outcome) != asked
        {
            return Err(AppError::Conflict(
                "Idempotensnøkkelen er allerede brukt for en annen utlevering.".into(),
            ));
        }
        let doses = {
            let mut conn = self.state.store.reader().await?;
            dispensing_store::doses_of_event(&mut conn, event.id).await?
        };
        Ok(Some(DispenseResult {
            event,
            doses,
            replayed: true,
        }))
    }

    /// A refusal as an error, naming when and by whom a dose was already recorded.
    pub(super) fn refusal(&self, refusal: DispenseRefusal, recorded: &[DispensedDose]) -> AppError {
        match &refusal {
            DispenseRefusal::AlreadyDispensed(key) => {
                let when = recorded
                    .iter()
                    .find(|d| d.key == *key)
                    .map(|d| {
                        let at = samhand_domain::time::oslo_datetime(d.recorded_at);
                        format!(" Registrert kl. {}.", samhand_domain::format::time_nb(at.time()))
                    })
                    .unwrap_or_default();
                AppError::Conflict(format!("{}{when}", refusal.message_nb()))
            }
            DispenseRefusal::IdentityNotConfirmed => {
                AppError::Invalid(FieldErrors::single("identity_confirmed", refusal.message_nb()))
            }
            DispenseRefusal::ReasonMissing => {
                AppError::Invalid(FieldErrors::single("reason", refusal.message_nb()))
            }
            DispenseRefusal::ReductionNotLess | DispenseRefusal::ReductionNeedsOneSupervisedDose => {
                AppError::Invalid(FieldErrors::single("reduced_mg", refusal.message_nb()))
            }
            DispenseRefusal::Blocked
            | DispenseRefusal::NothingDue
            | DispenseRefusal::NotDue(_)
            | DispenseRefusal::TakeHomeHeld(_) => AppError::Conflict(refusal.message_nb()),
        }
    }
}

/// A result that may answer a repeated request.
pub(super) trait Repeatable {
    fn replayed(&self) -> bool;
}

impl Repeatable for DispenseResult {
    fn replayed(&self) -> bool {
        self.replayed
    }
}

impl Repeatable for CorrectionResult {
    fn replayed(&self) -> bool {
        self.replayed
    }
}

/// The idempotency key of a request, checked for form.
fn idempotency_key(key: &str) -> AppResult<&str> {
    let key = key.trim();
    if key.is_empty() || key.len() > 200 {
        return Err(field(
            "idempotency_key",
            "Mangler idempotensnøkkel (Idempotency-Key).",
        ));
    }
    Ok(key)
}

/// What the prescriber is told of a recording, if anything: a withheld or reduced
/// dose with the assessment's reason, or take-home doses handed over despite one
/// with the nurse's reason.
fn told_of(
    outcome: &Outcome,
    overriding_hold: bool,
    override_reason: &str,
) -> Option<(&'static str, String)> {
    match (outcome, overriding_hold) {
        (Outcome::Withheld { reason }, _) => Some(("Dose holdt tilbake", reason.clone())),
        (Outcome::Reduced { reason, .. }, _) => Some(("Dose redusert", reason.clone())),
        (Outcome::Given, true) => Some((
            "Ta-med-doser utlevert tross tilbakeholdt dagsdose",
            override_reason.trim().to_string(),
        )),
        (Outcome::Given, false) => None,
    }
}

/// Groups rows by patient, keeping their order.
fn by_patient<T>(rows: Vec<T>, patient: impl Fn(&T) -> PatientId) -> HashMap<PatientId, Vec<T>> {
    let mut grouped: HashMap<PatientId, Vec<T>> = HashMap::new();
    for row in rows {
        grouped.entry(patient(&row)).or_default().push(row);
    }
    grouped
}

/// Recorded doses as the still-due rule needs them.
fn past_doses(recorded: &[DispensedDose]) -> Vec<PastDose> {
    recorded
        .iter()
        .map(|d| PastDose {
            key: d.key,
            mode: d.mode,
            outcome: d.outcome,
            amount: d.amount,
            recorded_on: samhand_domain::time::oslo_date(d.recorded_at),
            recorded_at: d.recorded_at,
        })
        .collect()
}

/// What the take-home days handed over in one recording are, for a receipt.
pub fn take_home_days(doses: &[DispensedDose]) -> Vec<Date> {
    let mut days: Vec<Date> = doses
        .iter()
        .filter(|d| d.mode == IntakeMode::TakeHome)
        .map(|d| d.key.date)
        .collect();
    days.dedup();
    days
}
