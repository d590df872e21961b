//! Overdose prevention: the crisis plan (written with the patient, who may save it
//! themself), naloxone hand-outs and the per-place report, overdose events that
//! alert the care team and give the consultant a task at once, the follow-up that
//! ending LAR raises, and what the patient overview shows of all this.

use std::collections::{HashMap, HashSet};

use jiff::Span;
use jiff::civil::Date;
use samhand_domain::access::{Actor, DataCategory, PatientRelations};
use samhand_domain::care::Task;
use samhand_domain::format::date_nb;
use samhand_domain::ids::{OrganisationId, PatientId, TaskId, UserId};
use samhand_domain::message::MessageKind;
use samhand_domain::organisation::Organisation;
use samhand_domain::overdose::{
    self, CrisisPlanInput, CrisisPlanVersion, CrisisPlanVersionId, NaloxoneInput, NaloxoneKit, NaloxoneKitId,
    NaloxoneReportLine, OverdoseEvent, OverdoseEventId, OverdoseInput, OverdoseOutcome, OverdoseRisk,
};
use samhand_domain::patient::{Episode, EpisodeEnd, Patient};
use samhand_domain::validation::{FieldErrors, parse_date};
use samhand_store::{collaboration as task_store, orders as order_store, overdose as store, patients};

use super::{PatientData, Service, conflict_from, related_units};
use crate::error::{AppError, AppResult};

/// The crisis plan: the version in force and every version, newest first.
#[derive(Debug, Clone)]
pub struct CrisisPlanView {
    pub patient: Patient,
    pub current: Option<CrisisPlanVersion>,
    pub history: Vec<CrisisPlanVersion>,
    pub names: HashMap<UserId, String>,
}

/// Naloxone handed out to a patient, newest first.
#[derive(Debug, Clone)]
pub struct NaloxoneView {
    pub patient: Patient,
    pub kits: Vec<NaloxoneKit>,
    pub names: HashMap<UserId, String>,
    pub organisations: crate::directory::Organisations,
}

/// A patient's overdoses, newest first.
#[derive(Debug, Clone)]
pub struct OverdosesView {
    pub patient: Patient,
    pub events: Vec<OverdoseEvent>,
    pub names: HashMap<UserId, String>,
    pub organisations: crate::directory::Organisations,
}

/// Kits per place and month for the caller's unit.
#[derive(Debug, Clone)]
pub struct NaloxoneReport {
    pub from: Date,
    pub to: Date,
    pub lines: Vec<NaloxoneReportLine>,
    pub organisations: crate::directory::Organisations,
}

/// What the patient overview shows about overdose risk. Each part is `None` when
/// the actor may not read it.
#[derive(Debug, Clone, Default)]
pub struct OverdoseSummary {
    /// For an ended episode: the day it ended and the risk today.
    pub ended: Option<(Date, OverdoseRisk)>,
    pub crisis_plan: Option<Option<CrisisPlanVersion>>,
    pub naloxone: Option<Vec<NaloxoneKit>>,
    pub overdoses: Option<Vec<OverdoseEvent>>,
}

/// The alert and tasks ending LAR raises, prepared before the end is written (the
/// dispensing place is still a relation then) and written in its transaction.
pub struct EndFollowUp {
    patient: PatientId,
    subject: String,
    body: String,
    recipients: Vec<OrganisationId>,
    tasks: Vec<Task>,
}

const DETAIL_CRISIS_PLAN: &str = "crisis plan";

impl Service<'_> {
    fn follow_up_task(&self, patient: PatientId, owner: UserId, description: String, due_on: Date) -> Task {
        Task {
            id: TaskId::new(),
            patient_id: patient,
            meeting_id: None,
            description,
            owner,
            due_on,
            created_by: self.actor().id(),
            created_at: self.now(),
            changes: Vec::new(),
        }
    }

    // ---------------------------------------------------------------- crisis plan

    pub async fn crisis_plan(&self, patient_id: PatientId) -> AppResult<CrisisPlanView> {
        let patient = self.patient(patient_id).await?;
        self.repo
            .authorize_read(patient_id, DataCategory::PlanAndGoals, DETAIL_CRISIS_PLAN)
            .await?;
        let mut history = {
            let mut conn = self.state.store.read().await?;
            store::crisis_plans_of(&mut conn, &[patient_id]).await?
        };
        let current = overdose::current_crisis_plan(&history).cloned();
        let names = self.names(history.iter().map(|v| v.recorded_by)).await?;
        history.reverse();
        Ok(CrisisPlanView {
            patient,
            current,
            history,
            names,
        })
    }

    /// Saves a new version of the crisis plan, by staff or by the patient themself.
    pub async fn save_crisis_plan(
        &self,
        patient: PatientId,
        input: &CrisisPlanInput,
    ) -> AppResult<CrisisPlanVersion> {
        self.patient(patient).await?;
        let grant = self
            .repo
            .authorize_write(patient, DataCategory::PlanAndGoals, "crisis plan saved")
            .await?;
        let history = {
            let mut conn = self.state.store.read().await?;
            store::crisis_plans_of(&mut conn, &[patient]).await?
        };
        let content = input
            .parse(overdose::current_crisis_plan(&history))
            .map_err(AppError::Invalid)?;
        let version = CrisisPlanVersion {
            id: CrisisPlanVersionId::new(),
            patient_id: patient,
            version: content.version,
            warning_signs: content.warning_signs,
            what_helps: content.what_helps,
            contacts: content.contacts,
            recorded_by: self.actor().id(),
            by_patient: matches!(self.actor(), Actor::Patient(_)),
            recorded_at: self.now(),
        };
        let mut tx = self.repo.begin_write(&grant).await?;
        store::insert_crisis_plan(&mut tx, &version).await.map_err(|e| {
            conflict_from(
                e,
                "Kriseplanen er nettopp lagret av noen andre. Last siden på nytt.",
            )
        })?;
        tx.commit().await?;
        Ok(version)
    }

    // ------------------------------------------------------------------- naloxone

    pub async fn naloxone(&self, patient_id: PatientId) -> AppResult<NaloxoneView> {
        let patient = self.patient(patient_id).await?;
        self.repo
            .authorize_read(patient_id, DataCategory::Dispensing, "naloxone hand-outs")
            .await?;
        let mut kits = {
            let mut conn = self.state.store.read().await?;
            store::naloxone_of(&mut conn, &[patient_id]).await?
        };
        kits.reverse();
        let names = self.names(kits.iter().map(|k| k.handed_out_by)).await?;
        Ok(NaloxoneView {
            patient,
            kits,
            names,
            organisations: self.organisations().await?,
        })
    }

    /// Records naloxone handed out at the actor's own place.
    pub async fn record_naloxone(&self, patient: PatientId, input: &NaloxoneInput) -> AppResult<NaloxoneKit> {
        let staff = self.staff()?.clone();
        self.patient(patient).await?;
        let grant = self
            .repo
            .authorize_write(
                patient,
                overdose::naloxone_write_category(staff.organisation_kind),
                "naloxone handed out",
            )
            .await?;
        let content = input.parse(self.today()).map_err(AppError::Invalid)?;
        let kit = NaloxoneKit {
            id: NaloxoneKitId::new(),
            patient_id: patient,
            handed_out_on: content.handed_out_on,
            place_id: staff.organisation_id,
            kits: content.kits,
            training_given: content.training_given,
            note: content.note,
            handed_out_by: staff.id,
            recorded_at: self.now(),
        };
        let mut tx = self.repo.begin_write(&grant).await?;
        store::insert_naloxone(&mut tx, &kit).await?;
        tx.commit().await?;
        Ok(kit)
    }

    /// Kits per place and month between two dates: for a LAR unit, the kits of its
    /// patients wherever handed out; for a place, the kits handed out there. Only
    /// patients whose dispensing the caller may read are counted, each read audited.
    pub async fn naloxone_report(&self, from: &str, to: &str) -> AppResult<NaloxoneReport> {
        let staff = self.staff()?.clone();
        let today = self.today();
        let mut errors = FieldErrors::default();
        let parse = |value: &str, default: Date, field: &'static str, errors: &mut FieldErrors| {
            if value.trim().is_empty() {
                return Some(default);
            }
            let parsed = parse_date(value);
            if parsed.is_none() {
                errors.push(field, "Skriv datoen som åååå-mm-dd eller dd.mm.åååå.");
            }
            parsed
        };
        let a_year_ago = today
            .checked_sub(Span::new().years(1))
            .unwrap_or(today)
            .first_of_month();
        let from = parse(from, a_year_ago, "from", &mut errors);
        let to = parse(to, today, "to", &mut errors);
        if let (Some(from), Some(to)) = (from, to)
            && from > to
        {
            errors.push("to", "Sluttdatoen kan ikke være før startdatoen.");
        }
        let (Some(from), Some(to), true) = (from, to, errors.is_empty()) else {
            return Err(AppError::Invalid(errors));
        };
        let is_lar_unit = staff.organisation_kind.is_lar_unit();
        let (ids, kits) = {
            let mut conn = self.state.store.read().await?;
            let ids = if is_lar_unit {
                patients::ids_of_unit(&mut conn, staff.organisation_id).await?
            } else {
                store::naloxone_patients_at(&mut conn, staff.organisation_id, from, to).await?
            };
            let kits = store::naloxone_of(&mut conn, &ids).await?;
            (ids, kits)
        };
        let data = self.load_data(&ids).await?;
        let now = self.now();
        let related: Vec<(PatientId, PatientRelations)> = super::relations_of(&data, &ids, now);
        let allowed: HashSet<PatientId> = self
            .repo
            .optional_reads(&related, DataCategory::Dispensing, "naloxone report")
            .await?
            .into_iter()
            .collect();
        let counted: Vec<NaloxoneKit> = kits
            .into_iter()
            .filter(|k| allowed.contains(&k.patient_id))
            .filter(|k| is_lar_unit || k.place_id == staff.organisation_id)
            .collect();
        Ok(NaloxoneReport {
            from,
            to,
            lines: overdose::naloxone_report(&counted, from, to),
            organisations: self.organisations().await?,
        })
    }

    // ------------------------------------------------------------ overdose events

    pub async fn overdoses(&self, patient_id: PatientId) -> AppResult<OverdosesView> {
        let patient = self.patient(patient_id).await?;
        self.repo
            .authorize_read(patient_id, DataCategory::HealthInformation, "overdose events")
            .await?;
        let mut events = {
            let mut conn = self.state.store.read().await?;
            store::overdoses_of(&mut conn, &[patient_id]).await?
        };
        events.reverse();
        let names = self.names(events.iter().map(|e| e.recorded_by)).await?;
        Ok(OverdosesView {
            patient,
            events,
            names,
            organisations: self.organisations().await?,
        })
    }

    /// Registers an overdose. In the same transaction: an important message to every
    /// unit related to the patient (the LAR unit, the care team's units, the
    /// dispensing place) and a follow-up task for the patient's LAR consultant, due
    /// the next day.
    pub async fn register_overdose(
        &self,
        patient: PatientId,
        input: &OverdoseInput,
    ) -> AppResult<OverdoseEvent> {
        let staff = self.staff()?.clone();
        self.patient(patient).await?;
        let data = self.patient_data(patient).await?;
        let relations = data.relations(patient, self.now());
        let grant = self
            .repo
            .authorize_write_with(
                patient,
                &relations,
                overdose::overdose_write_category(staff.organisation_kind),
                "overdose registered",
            )
            .await?;
        let today = self.today();
        let content = input.parse(today).map_err(AppError::Invalid)?;
        let event = OverdoseEvent {
            id: OverdoseEventId::new(),
            patient_id: patient,
            occurred_on: content.occurred_on,
            outcome: content.outcome,
            place_description: content.place_description,
            substances: content.substances,
            naloxone_used: content.naloxone_used,
            reported_by: content.reported_by,
            recorded_by: staff.id,
            recorded_organisation: staff.organisation_id,
            recorded_at: self.now(),
        };
        let fatal = event.outcome == OverdoseOutcome::Fatal;
        let when = date_nb(event.occurred_on);
        let consultant = data.episode_on(today).map(|e| e.consultant);
        let tomorrow = today.checked_add(Span::new().days(1)).unwrap_or(today);
        let task = consultant.map(|owner| {
            let description = if fatal {
                format!(
                    "Dødelig overdose {when}: avslutt behandlingen, gjennomgå hendelsen og følg opp pårørende og tjenestene."
                )
            } else {
                format!(
                    "Følg opp etter overdose {when}: kontakt pasienten, vurder dose og ordning, kriseplan og nalokson."
                )
            };
            self.follow_up_task(patient, owner, description, tomorrow)
        });
        let consultant_name = match consultant {
            Some(c) => self.names([c]).await?.remove(&c).unwrap_or_default(),
            None => String::new(),
        };
        let subject = if fatal {
            format!("DØDELIG overdose {when}: pasienten er død")
        } else {
            format!("Overdose {when} (ikke dødelig)")
        };
        let mut body = format!(
            "{} {when}. Sted: {}. Rusmidler: {}. Nalokson gitt: {}. Meldt av: {}. Registrert av {}.",
            if fatal {
                "Pasienten døde av overdose"
            } else {
                "Pasienten hadde en overdose som ikke var dødelig"
            },
            event.place_description,
            event.substances,
            if event.naloxone_used { "ja" } else { "nei" },
            event.reported_by,
            staff.display_name,
        );
        if task.is_some() {
            body.push_str(&format!(
                " Oppfølgingsoppgave er gitt til LAR-konsulent {consultant_name} med frist {}.",
                date_nb(tomorrow)
            ));
        }
        let mut tx = self.repo.begin_write(&grant).await?;
        store::insert_overdose(&mut tx, &event).await?;
        if let Some(task) = &task {
            task_store::insert_task(&mut tx, task).await?;
        }
        self.send_automatic(
            &mut tx,
            patient,
            MessageKind::Overdose,
            subject,
            body,
            related_units(&relations),
        )
        .await?;
        tx.commit().await?;
        Ok(event)
    }

    /// Overdoses in the last twelve months among the unit's patients (a LAR unit's,
    /// or those collecting at a place today) whose health information the caller may
    /// read.
    pub async fn overdoses_last_year_for_unit(&self, unit: &Organisation) -> AppResult<usize> {
        let today = self.today();
        let ids = {
            let mut conn = self.state.store.read().await?;
            if unit.kind.is_lar_unit() {
                patients::ids_of_unit(&mut conn, unit.id).await?
            } else {
                order_store::patients_at_place(&mut conn, unit.id, today).await?
            }
        };
        let events = {
            let mut conn = self.state.store.read().await?;
            store::overdoses_of(&mut conn, &ids).await?
        };
        if events.is_empty() {
            return Ok(0);
        }
        let mut with_events: Vec<PatientId> = events.iter().map(|e| e.patient_id).collect();
        with_events.sort();
        with_events.dedup();
        let data = self.load_data(&with_events).await?;
        let now = self.now();
        let related: Vec<(PatientId, PatientRelations)> = super::relations_of(&data, &with_events, now);
        let allowed: HashSet<PatientId> = self
            .repo
            .optional_reads(
                &related,
                DataCategory::HealthInformation,
                "leader overview: overdoses",
            )
            .await?
            .into_iter()
            .collect();
        let since = today.checked_sub(Span::new().years(1)).unwrap_or(today);
        let counted: Vec<OverdoseEvent> = events
            .into_iter()
            .filter(|e| allowed.contains(&e.patient_id))
            .collect();
        Ok(overdose::overdoses_since(&counted, since))
    }

    // ------------------------------------------------------- ending LAR: follow-up

    /// The alert and tasks ending this episode raises, if its reason raises any:
    /// prepared before the end is written, while the dispensing place is a relation.
    pub(super) async fn prepare_end_follow_up(
        &self,
        patient: PatientId,
        episode: &Episode,
        end: &EpisodeEnd,
    ) -> AppResult<Option<EndFollowUp>> {
        if !overdose::end_raises_follow_up(end.reason) {
            return Ok(None);
        }
        let today = self.today();
        let data = self.patient_data(patient).await?;
        let relations = data.relations(patient, self.now());
        let (plans, kits) = {
            let mut conn = self.state.store.read().await?;
            (
                store::crisis_plans_of(&mut conn, &[patient]).await?,
                store::naloxone_of(&mut conn, &[patient]).await?,
            )
        };
        let recent_plan = plans
            .iter()
            .any(|p| overdose::is_recent(samhand_domain::time::oslo_date(p.recorded_at), today));
        let recent_naloxone = kits.iter().any(|k| overdose::is_recent(k.handed_out_on, today));
        let items = overdose::follow_up_after_end(end.on, today, recent_plan, recent_naloxone);
        let tasks: Vec<Task> = items
            .iter()
            .map(|(item, due)| {
                self.follow_up_task(patient, episode.consultant, item.task_nb().to_string(), *due)
            })
            .collect();
        let (week, months) = overdose::risk_window(end.on);
        let mut body = format!(
            "LAR er avsluttet fra {}. Risikoen for overdose er høyest den første uken (til og med {}) og økt i seks måneder \
             (til og med {}). Samme oppfølging som ved utskrivning gjelder: tett oppfølging de første fire ukene",
            date_nb(end.on),
            date_nb(week),
            date_nb(months),
        );
        body.push_str(match (recent_plan, recent_naloxone) {
            (false, false) => ", kriseplan og nalokson nesespray med opplæring.",
            (true, false) => " og nalokson nesespray med opplæring (kriseplan finnes).",
            (false, true) => " og kriseplan (nalokson er delt ut siste seks måneder).",
            (true, true) => " (kriseplan og nalokson finnes fra siste seks måneder).",
        });
        body.push_str(" Oppgavene er gitt til pasientens LAR-konsulent. Pasienten kan raskt komme tilbake i behandling.");
        Ok(Some(EndFollowUp {
            patient,
            subject: format!("LAR avsluttet {}: høy risiko for overdose", date_nb(end.on)),
            body,
            recipients: related_units(&relations),
            tasks,
        }))
    }

    /// The notice of an end that raises no overdose follow-up (a transfer to
    /// another unit, a death): the related units are told that LAR ended, and by
    /// EDI a consented GP office outside Samhand.
    pub(super) async fn end_notice(&self, patient: PatientId, end: &EpisodeEnd) -> AppResult<EndFollowUp> {
        let data = self.patient_data(patient).await?;
        let relations = data.relations(patient, self.now());
        Ok(EndFollowUp {
            patient,
            subject: format!("LAR avsluttet {}", date_nb(end.on)),
            body: format!(
                "LAR-behandlingen er avsluttet fra {}. Årsak: {}. Forskrivning og utlevering i LAR stanser fra denne dagen.",
                date_nb(end.on),
                samhand_domain::status_report::end_reason_label(end.reason)
            ),
            recipients: related_units(&relations),
            tasks: Vec::new(),
        })
    }

    /// Writes the prepared alert and tasks in the end's own transaction.
    pub(super) async fn write_end_follow_up(
        &self,
        tx: &mut samhand_store::PatientWrite,
        follow_up: EndFollowUp,
    ) -> AppResult<()> {
        for task in &follow_up.tasks {
            task_store::insert_task(tx, task).await?;
        }
        self.send_automatic(
            tx,
            follow_up.patient,
            MessageKind::EndOfLar,
            follow_up.subject,
            follow_up.body,
            follow_up.recipients,
        )
        .await
    }

    // ------------------------------------------------------------------ overview

    /// What the overview shows: the risk window of an ended episode, and the crisis
    /// plan, naloxone and overdoses where the actor may read them (each read audited).
    pub async fn overdose_summary(
        &self,
        patient: PatientId,
        data: &PatientData,
    ) -> AppResult<OverdoseSummary> {
        let today = self.today();
        let ended = data
            .episode_on(today)
            .filter(|e| !e.is_active_on(today))
            .and_then(|e| e.ended.as_ref())
            .filter(|end| end.on <= today && overdose::end_raises_follow_up(end.reason))
            .map(|end| (end.on, overdose::overdose_risk(end.on, today)));
        let related = [(patient, data.relations(patient, self.now()))];
        let may = |allowed: Vec<PatientId>| allowed.contains(&patient);
        let plan_allowed = may(self
            .repo
            .optional_reads(
                &related,
                DataCategory::PlanAndGoals,
                "patient overview: crisis plan",
            )
            .await?);
        let naloxone_allowed = may(self
            .repo
            .optional_reads(&related, DataCategory::Dispensing, "patient overview: naloxone")
            .await?);
        let overdoses_allowed = may(self
            .repo
            .optional_reads(
                &related,
                DataCategory::HealthInformation,
                "patient overview: overdoses",
            )
            .await?);
        let mut conn = self.state.store.read().await?;
        let crisis_plan = if plan_allowed {
            let plans = store::crisis_plans_of(&mut conn, &[patient]).await?;
            Some(overdose::current_crisis_plan(&plans).cloned())
        } else {
            None
        };
        let naloxone = if naloxone_allowed {
            let mut kits = store::naloxone_of(&mut conn, &[patient]).await?;
            kits.reverse();
            Some(kits)
        } else {
            None
        };
        let overdoses = if overdoses_allowed {
            let mut events = store::overdoses_of(&mut conn, &[patient]).await?;
            events.reverse();
            Some(events)
        } else {
            None
        };
        Ok(OverdoseSummary {
            ended,
            crisis_plan,
            naloxone,
            overdoses,
        })
    }
}
