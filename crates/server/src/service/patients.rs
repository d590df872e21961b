//! Patients: search, enrolment with the photo and the individual plan offered,
//! the overview, and ending an episode.

use std::collections::{HashMap, HashSet};

use jiff::Span;
use jiff::civil::Date;
use samhand_domain::access::{self, DataCategory, PatientRelations};
use samhand_domain::arrangement::{Arrangement, effective_arrangement};
use samhand_domain::dose::Dose;
use samhand_domain::dose_order::{DailyDose, DoseOrder, SignedDoseOrder, dose_on, effective_order};
use samhand_domain::ids::{EpisodeId, OrganisationId, PatientId, UserId};
use samhand_domain::missed::MissedDoseState;
use samhand_domain::organisation::Role;
use samhand_domain::patient::{EndReason, Episode, EpisodeEnd, NewPatient, Patient, PatientInput, Phase};
use samhand_domain::schedule::UncoveredDay;
use samhand_domain::validation::{FieldErrors, parse_date};
use samhand_store::dispensing::DispensedDose;
use samhand_store::one_patient::{Also, History};
use samhand_store::{Backend, patients};

use crate::error::{AppError, AppResult};

use super::{
    MISSED_LOOKBACK_DAYS, OVERVIEW_DAYS, PatientData, Service, conflict_from, missed_state_on, relations_of,
    with_schedule,
};

/// Input to enrol a patient.
#[derive(Debug, Clone, Default)]
pub struct EnrolInput {
    pub patient: PatientInput,
    pub doctor_id: String,
    pub consultant_id: String,
    pub started_on: String,
    pub phase: String,
}

#[derive(Debug, Clone)]
pub struct Photo {
    pub content_type: String,
    pub bytes: Vec<u8>,
}

/// The patient overview.
#[derive(Debug, Clone)]
pub struct Overview {
    pub patient: Patient,
    pub data: PatientData,
    pub episode: Option<Episode>,
    /// All versions and drafts, newest first.
    pub orders: Vec<DoseOrder>,
    pub effective_order: Option<SignedDoseOrder>,
    /// The dose scheduled today: for a depot, only on an injection day.
    pub dose_today: Option<DailyDose>,
    /// For a depot: the next planned injection day (today or later) and its dose.
    pub next_injection: Option<(Date, Dose)>,
    pub arrangement: Option<Arrangement>,
    /// The last days' recordings, newest first, those a correction took back
    /// included (`voided_by`).
    pub recent: Vec<DispensedDose>,
    pub missed: MissedDoseState,
    pub uncovered: Vec<UncoveredDay>,
    pub organisations: crate::directory::Organisations,
    pub names: HashMap<UserId, String>,
    pub today: Date,
    /// Health information in force, when the actor may read it.
    pub health: Option<Vec<samhand_domain::health::HealthNote>>,
    /// Every version of who the patient is, oldest first; the last is `patient`.
    pub identity: Vec<samhand_domain::patient::IdentityVersion>,
    /// What the page may offer the actor for this patient.
    pub offers: Offers,
}

/// What the actor may do with one patient by the access policy: the links and forms
/// a page offers (the service decides again, and audits, when they are used). A
/// read-only emergency access offers no writes; a page that would answer 403 is not
/// linked.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Offers {
    /// Orders, arrangements, covers, moving and ending: a prescriber whose service
    /// may write the medication.
    pub prescribe: bool,
    /// Consents, the care team, named people and the access log.
    pub privacy: bool,
    /// Meetings, tasks, the individual plan, the crisis plan and stays.
    pub plan: bool,
    /// Recording health information.
    pub record_health: bool,
    /// Correcting name, phone or address.
    pub correct_identity: bool,
    /// Writing to the plan: the individual plan, meetings and tasks, the crisis plan,
    /// stays.
    pub write_plan: bool,
    /// Recording a naloxone hand-out.
    pub record_dispensing: bool,
    /// The overview (medication and dispensing); without it, who the patient is
    /// and the links above.
    pub overview: bool,
}

impl Offers {
    pub fn of(repo: &crate::repo::PatientRepo<'_>, relations: &PatientRelations) -> Self {
        use samhand_domain::access::Action;
        let may = |category, action| repo.decision(relations, category, action).is_allowed();
        let staff = repo.actor().staff();
        Self {
            prescribe: staff.is_some_and(access::may_prescribe)
                && may(DataCategory::Medication, Action::Write),
            privacy: may(DataCategory::Privacy, Action::Read),
            plan: may(DataCategory::PlanAndGoals, Action::Read),
            record_health: may(DataCategory::HealthInformation, Action::Write),
            correct_identity: may(DataCategory::Identity, Action::Correct),
            write_plan: may(DataCategory::PlanAndGoals, Action::Write),
            record_dispensing: may(DataCategory::Dispensing, Action::Write),
            overview: may(DataCategory::Identity, Action::Read)
                && may(DataCategory::Medication, Action::Read)
                && may(DataCategory::Dispensing, Action::Read),
        }
    }
}

impl Service<'_> {
    /// Patients related to the actor's organisation whose name or number matches.
    pub async fn search(&self, query: &str) -> AppResult<Vec<Patient>> {
        if query.trim().chars().count() < 2 {
            return Ok(Vec::new());
        }
        let found = {
            let mut conn = self.state.store.read().await?;
            let staff = self.staff()?;
            patients::search(&mut conn, query, staff.organisation_id, staff.id, 50).await?
        };
        let ids: Vec<PatientId> = found.iter().map(|p| p.id).collect();
        let data = self.load_data(&ids).await?;
        let with_relations: Vec<(PatientId, PatientRelations)> = relations_of(&data, &ids, self.now());
        let allowed: HashSet<PatientId> = self
            .repo
            .authorize_reads(&with_relations, DataCategory::Identity, "patient search")
            .await?
            .into_iter()
            .collect();
        Ok(found.into_iter().filter(|p| allowed.contains(&p.id)).collect())
    }

    /// Registers a patient and enrols them in LAR at the actor's unit.
    pub async fn enrol(&self, input: &EnrolInput, photo: Option<Photo>) -> AppResult<PatientId> {
        self.require_enrolment("patient enrolment").await?;
        let mut errors = FieldErrors::default();
        let new_patient = NewPatient::parse(&input.patient, self.today(), &mut errors);
        let staff = self.colleagues().await?;
        let (doctor, consultant) = episode_team(&staff, &input.doctor_id, &input.consultant_id, &mut errors);
        let started_on = parse_date(&input.started_on);
        if started_on.is_none() {
            errors.push(
                "started_on",
                "Skriv inn en gyldig dato for innskrivning (dd.mm.åååå).",
            );
        }
        let phase = Phase::from_code(input.phase.trim()).unwrap_or(Phase::Start);
        if let Some(photo) = &photo {
            check_photo(photo, &mut errors);
        }
        let returning = match &new_patient {
            Some(new_patient) => {
                self.returning_patient(new_patient, started_on, &mut errors)
                    .await?
            }
            None => None,
        };
        let (Some(new_patient), Some(doctor), Some(consultant), Some(started_on), true) =
            (new_patient, doctor, consultant, started_on, errors.is_empty())
        else {
            return Err(AppError::Invalid(errors));
        };
        let patient_id = returning.unwrap_or_else(PatientId::new);
        let now = self.now();
        let episode = Episode {
            id: EpisodeId::new(),
            patient_id,
            responsible_unit: self.staff()?.organisation_id,
            doctor: doctor.id,
            consultant: consultant.id,
            started_on,
            phase,
            ended: None,
            created_at: now,
        };
        let grant = self.repo.creation_grant(
            patient_id,
            DataCategory::Identity,
            access::AllowedBy::Enrolment,
            if returning.is_some() {
                "patient enrolled in LAR again: a new episode"
            } else {
                "patient enrolled in LAR"
            },
        );
        let mut tx = self.repo.begin_write(&grant).await?;
        if returning.is_none() {
            patients::insert(&mut tx, patient_id, &new_patient, self.actor().id(), now)
                .await
                .map_err(|e| {
                    conflict_from(e, "En pasient med dette fødselsnummeret er allerede registrert.")
                })?;
        }
        if let Some(photo) = photo {
            patients::insert_photo(
                &mut tx,
                patient_id,
                &photo.content_type,
                &photo.bytes,
                self.actor().id(),
                now,
            )
            .await?;
        }
        patients::insert_episode(&mut tx, &episode, self.actor().id()).await?;
        if returning.is_some() {
            // The earlier episode, its orders and history stay as they were; the
            // individual plan goes on in its versions.
            tx.commit().await?;
            return Ok(patient_id);
        }
        self.initiate_plan(&mut tx, patient_id, now).await?;
        tx.commit().await?;
        Ok(patient_id)
    }

    /// The patient already registered with this number, coming back after LAR ended:
    /// enrolment starts a new episode for them. Refused, into `errors`, while an
    /// episode still runs, or when the new start is before the last end.
    pub(super) async fn returning_patient(
        &self,
        new_patient: &samhand_domain::patient::NewPatient,
        started_on: Option<Date>,
        errors: &mut FieldErrors,
    ) -> AppResult<Option<PatientId>> {
        let mut conn = self.state.store.read().await?;
        let Some(existing) = patients::by_national_id(&mut conn, &new_patient.national_id).await? else {
            return Ok(None);
        };
        let episodes = patients::episodes(&mut conn, existing.id).await?;
        if episodes.iter().any(|e| e.ended.is_none()) {
            errors.push(
                "national_id",
                "Pasienten er allerede i LAR. En ny innskrivning kan først gjøres når behandlingen er avsluttet.",
            );
            return Ok(None);
        }
        let last_end = episodes
            .iter()
            .filter_map(|e| e.ended.as_ref().map(|end| end.on))
            .max();
        if let (Some(start), Some(end)) = (started_on, last_end)
            && start < end
        {
            errors.push(
                "started_on",
                format!(
                    "Den nye innskrivningen kan ikke starte før forrige behandling ble avsluttet ({}).",
                    samhand_domain::format::date_nb(end)
                ),
            );
        }
        Ok(Some(existing.id))
    }

    /// What the pages may offer the actor for this patient (decisions only: nothing
    /// is read, so nothing is audited; each use is decided and audited again).
    pub async fn offers(&self, patient: PatientId) -> AppResult<Offers> {
        let relations = self.repo.relations(patient).await?;
        Ok(Offers::of(&self.repo, &relations))
    }

    /// The specialist service initiates the individual plan when treatment starts
    /// (DOMAIN.md); the patient may decline it later, which is recorded.
    async fn initiate_plan(
        &self,
        tx: &mut samhand_store::PatientWrite,
        patient_id: PatientId,
        now: jiff::Timestamp,
    ) -> AppResult<()> {
        let plan = samhand_domain::care::PlanVersion {
            id: samhand_domain::ids::PlanVersionId::new(),
            patient_id,
            version: 1,
            status: samhand_domain::care::PlanStatus::Active,
            declined_on: None,
            goals: Vec::new(),
            reason: "Individuell plan tilbudt ved innskrivning i LAR".into(),
            recorded_by: self.actor().id(),
            recorded_at: now,
        };
        let plan_grant = self.repo.creation_grant(
            patient_id,
            DataCategory::PlanAndGoals,
            access::AllowedBy::Enrolment,
            "individual plan initiated at enrolment",
        );
        self.repo.record_write_also(tx, &plan_grant)?;
        samhand_store::collaboration::insert_plan_version(tx, &plan).await?;
        Ok(())
    }

    /// Who the patient is, read under the identity category: for the enrolment form
    /// of a patient coming back to LAR.
    pub async fn identity_of(&self, patient: PatientId) -> AppResult<Patient> {
        self.repo
            .authorize_read(
                patient,
                DataCategory::Identity,
                "enrolment form for a returning patient",
            )
            .await?;
        self.patient(patient).await
    }

    /// The identity photo, read under the identity category.
    pub async fn photo(&self, patient: PatientId) -> AppResult<Option<Photo>> {
        self.repo
            .authorize_read(patient, DataCategory::Identity, "identity photo")
            .await?;
        let mut conn = self.state.store.read().await?;
        Ok(patients::photo(&mut conn, patient)
            .await?
            .map(|(content_type, bytes)| Photo { content_type, bytes }))
    }

    pub async fn overview(&self, patient_id: PatientId) -> AppResult<Overview> {
        let today = self.today();
        let days_back = |days| today.checked_sub(Span::new().days(days)).unwrap_or(today);
        let range = (days_back(MISSED_LOOKBACK_DAYS), days_back(OVERVIEW_DAYS), today);
        // What the relations follow from is also what the overview shows: loaded once,
        // with the patient and every order, in one statement. On PostgreSQL, where
        // each statement is a round trip, the history and the health notes come in
        // it too; on SQLite a statement is a call on this thread, and the history's
        // rows as wide as the record's cost more than the statements they save
        // (BENCHMARKS.md, 7 December). Nothing of it is shown before the access
        // decision below, and the health notes only if it allows them.
        let with_record = self.state.store.backend() == Backend::Postgres;
        let also = Also {
            history: with_record.then_some(range),
            health: with_record,
            ..Also::default()
        };
        let super::PatientRecord {
            patient,
            data,
            orders: mut orders_written,
            history,
            health: health_read,
            ..
        } = self.patient_record(patient_id, also).await?;
        // The relations decide the overview's reads and, below, its health information.
        let relations = data.relations(patient_id, self.now());
        // The health information the patient shares (and on SQLite the history) is
        // read while the audit entries commit.
        let (_, (history, health)) = self
            .repo
            .authorize_read_all_and_optional_while(
                patient_id,
                &relations,
                &[
                    DataCategory::Identity,
                    DataCategory::Medication,
                    DataCategory::Dispensing,
                ],
                Some((
                    DataCategory::HealthInformation,
                    "patient overview: health information",
                )),
                "patient overview",
                |health_shared| async move {
                    let history = match history {
                        Some(history) => history,
                        None => self.overview_history(patient_id, range).await?,
                    };
                    let health = match (health_shared, health_read) {
                        (false, _) => None,
                        (true, Some(notes)) => Some(
                            samhand_domain::health::current(&notes)
                                .into_iter()
                                .cloned()
                                .collect(),
                        ),
                        (true, None) => self
                            .health_notes_of_allowed(&[patient_id])
                            .await?
                            .remove(&patient_id),
                    };
                    Ok((history, health))
                },
            )
            .await?;
        let History {
            identity,
            doses: mut recent,
            dosed_days,
        } = history;
        // Newest first.
        recent.reverse();
        let policy = self.policy().await?;
        // Newest first.
        orders_written.reverse();
        let orders = orders_written;
        let missed = missed_state_on(&data, &dosed_days, today, &policy);
        let organisations = self.organisations().await?;
        let is_open =
            |place: OrganisationId, date: Date| organisations.get(&place).is_none_or(|o| o.is_open_on(date));
        let horizon = today
            .checked_add(Span::new().days(policy.holiday_warning_days))
            .unwrap_or(today);
        let uncovered =
            with_schedule(&data, today, |s| s.uncovered_days(today, horizon, &is_open)).unwrap_or_default();
        let episode = data.episode_on(today).cloned();
        let episode_orders = episode.as_ref().map(|e| data.orders_of(e.id)).unwrap_or_default();
        let effective = effective_order(&episode_orders, today).cloned();
        let (dose_today, next_injection) =
            dose_today_and_next_injection(&data, &episode_orders, effective.as_ref(), today);
        let arrangement = effective_arrangement(&data.arrangements, today).cloned();
        let names = self.names(named_in_overview(&orders, &recent, &data)).await?;
        let offers = Offers::of(&self.repo, &relations);
        Ok(Overview {
            health,
            identity,
            patient,
            episode,
            orders,
            effective_order: effective,
            dose_today,
            next_injection,
            arrangement,
            recent,
            missed,
            uncovered,
            organisations,
            names,
            today,
            data,
            offers,
        })
    }

    /// What [`Also::history`] reads, as separate statements in one snapshot (see
    /// [`Self::overview`]).
    async fn overview_history(
        &self,
        patient_id: PatientId,
        (lookback, from, to): (Date, Date, Date),
    ) -> AppResult<History> {
        let mut conn = self.state.store.reader().await?;
        conn.hold_snapshot()?;
        let identity = patients::identity_versions_of(&mut conn, &[patient_id]).await?;
        let (mut dosed, _) =
            samhand_store::day_state::dosed_days_of(&mut conn, &[patient_id], lookback, to).await?;
        let doses = samhand_store::dispensing::dose_history_of(&mut conn, &[patient_id], from, to).await?;
        Ok(History {
            identity,
            doses,
            dosed_days: dosed.remove(&patient_id).unwrap_or_default(),
        })
    }

    /// The current episode, for writes that need one.
    pub(super) async fn active_episode(&self, patient: PatientId) -> AppResult<Episode> {
        let mut conn = self.state.store.read().await?;
        let today = self.today();
        patients::episodes(&mut conn, patient)
            .await?
            .into_iter()
            .filter(|e| e.ended.as_ref().is_none_or(|end| end.on > today))
            .max_by_key(|e| e.started_on)
            .ok_or_else(|| AppError::Conflict("Pasienten har ingen pågående LAR-behandling.".into()))
    }

    pub async fn end_episode(&self, patient: PatientId, on: &str, reason: &str, note: &str) -> AppResult<()> {
        let grant = self
            .repo
            .authorize_write(patient, DataCategory::Medication, "LAR episode ended")
            .await?;
        let episode = self.active_episode(patient).await?;
        let mut errors = FieldErrors::default();
        let on = parse_date(on);
        match on {
            None => errors.push("ended_on", "Skriv inn en gyldig sluttdato (dd.mm.åååå)."),
            Some(d) if d < episode.started_on => {
                errors.push("ended_on", "Sluttdatoen kan ikke være før innskrivningen.")
            }
            _ => {}
        }
        let reason = EndReason::from_code(reason.trim());
        if reason.is_none() {
            errors.push("reason", "Velg årsak til avslutning.");
        }
        if reason == Some(EndReason::InvoluntaryDischarge) && note.trim().is_empty() {
            errors.push(
                "note",
                "Ved ufrivillig avslutning skal det stå at pasienten er informert skriftlig om retten til ny vurdering og til å klage.",
            );
        }
        let (Some(on), Some(reason), true) = (on, reason, errors.is_empty()) else {
            return Err(AppError::Invalid(errors));
        };
        let end = EpisodeEnd {
            on,
            reason,
            note: note.trim().to_string(),
            decided_by: self.actor().id(),
        };
        // Ending LAR raises the same overdose follow-up as a discharge (DOMAIN.md).
        // Every end tells the related units (and a consented GP office outside
        // Samhand by EDI) that LAR ended: with the follow-up, or as a plain notice.
        let follow_up = match self.prepare_end_follow_up(patient, &episode, &end).await? {
            Some(follow_up) => follow_up,
            None => self.end_notice(patient, &end).await?,
        };
        let mut tx = self.repo.begin_write(&grant).await?;
        patients::end_episode(&mut tx, episode.id, &end, self.now())
            .await
            .map_err(|e| conflict_from(e, "Behandlingen er allerede avsluttet."))?;
        self.write_end_follow_up(&mut tx, follow_up).await?;
        tx.commit().await?;
        Ok(())
    }
}

/// The colleague with this id and role, as a form names them.
fn colleague<'a>(
    staff: &'a [samhand_domain::organisation::StaffUser],
    id: &str,
    role: Role,
) -> Option<&'a samhand_domain::organisation::StaffUser> {
    staff
        .iter()
        .find(|u| u.id.to_string() == id.trim() && u.role == role)
}

/// The unit's doctor and LAR consultant a new episode is given, each a colleague
/// in that role; one not chosen, or not such a colleague, is told at its field.
pub(super) fn episode_team<'a>(
    staff: &'a [samhand_domain::organisation::StaffUser],
    doctor_id: &str,
    consultant_id: &str,
    errors: &mut FieldErrors,
) -> (
    Option<&'a samhand_domain::organisation::StaffUser>,
    Option<&'a samhand_domain::organisation::StaffUser>,
) {
    let doctor = colleague(staff, doctor_id, Role::Prescriber);
    if doctor.is_none() {
        errors.push("doctor_id", "Velg ansvarlig lege ved enheten.");
    }
    let consultant = colleague(staff, consultant_id, Role::LarConsultant);
    if consultant.is_none() {
        errors.push("consultant_id", "Velg LAR-konsulent ved enheten.");
    }
    (doctor, consultant)
}

/// An identity photo must be JPEG, PNG or WebP, at most 5 MB.
fn check_photo(photo: &Photo, errors: &mut FieldErrors) {
    if !matches!(
        photo.content_type.as_str(),
        "image/jpeg" | "image/png" | "image/webp"
    ) {
        errors.push("photo", "Bildet må være JPEG, PNG eller WebP.");
    } else if photo.bytes.len() > 5 * 1024 * 1024 {
        errors.push("photo", "Bildet kan være høyst 5 MB.");
    }
}

/// The dose scheduled today and, for a depot, the next injection day with its dose.
/// A depot's dose is on its injection day only, and the overview says when the next
/// one is (also before a depot order takes effect).
fn dose_today_and_next_injection(
    data: &PatientData,
    episode_orders: &[SignedDoseOrder],
    effective: Option<&SignedDoseOrder>,
    today: Date,
) -> (Option<DailyDose>, Option<(Date, Dose)>) {
    let injection_on = |date: Date| {
        with_schedule(data, date, |s| {
            s.doses_on(date).iter().map(|d| d.dose).sum::<Dose>()
        })
        .filter(|dose| !dose.is_zero())
    };
    let depot_today = effective.is_some_and(|o| o.content().substance.is_depot());
    let dose_today = dose_on(episode_orders, today)
        .map(|(_, d)| d.clone())
        .filter(|_| !depot_today || injection_on(today).is_some());
    let next_injection = episode_orders
        .iter()
        .any(|o| o.content().substance.is_depot())
        .then(|| {
            (0..=35)
                .filter_map(|n| today.checked_add(Span::new().days(n)).ok())
                .find_map(|date| injection_on(date).map(|dose| (date, dose)))
        })
        .flatten();
    (dose_today, next_injection)
}

/// Everyone the overview names: who wrote and signed the orders, the episodes'
/// doctors and consultants, who recorded the last days' doses and who decided the
/// arrangements.
fn named_in_overview(orders: &[DoseOrder], recent: &[DispensedDose], data: &PatientData) -> Vec<UserId> {
    let mut people: Vec<UserId> = orders.iter().map(|o| o.created_by).collect();
    people.extend(
        orders
            .iter()
            .filter_map(|o| o.signature.as_ref().map(|s| s.signed_by)),
    );
    people.extend(data.episodes.iter().flat_map(|e| [e.doctor, e.consultant]));
    people.extend(recent.iter().map(|d| d.recorded_by));
    people.extend(data.arrangements.iter().map(|a| a.decided_by));
    people
}
