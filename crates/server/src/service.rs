//! Samhand's operations, shared by the web pages and the JSON API: each loads what
//! it needs, asks `domain` to decide, goes through the [`PatientRepo`] for access and
//! audit, and writes through `store`. Handlers only parse and render.

use std::collections::{HashMap, HashSet};

use jiff::civil::Date;
use jiff::{Span, Timestamp};
use samhand_domain::access::{self, Actor, DataCategory, PatientRelations};
use samhand_domain::arrangement::{
    Arrangement, ArrangementContent, ArrangementInput, PatientGroup, effective_arrangement,
};
use samhand_domain::dispensing::OutcomeKind;
use samhand_domain::dose::Dose;
use samhand_domain::dose_order::{
    DailyDose, DoseOrder, DoseOrderContent, DoseOrderInput, DoseWarning, SignError, SignedDoseOrder, dose_on,
    dose_safety_warnings, effective_order,
};
use samhand_domain::ids::{
    ArrangementId, CoverId, DoseOrderId, EpisodeId, OrganisationId, PatientId, UserId,
};
use samhand_domain::missed::MissedDoseState;
use samhand_domain::organisation::{Organisation, Role, StaffUser};
use samhand_domain::patient::{EndReason, Episode, EpisodeEnd, NewPatient, Patient, PatientInput, Phase};
use samhand_domain::policy::ClinicalPolicy;
use samhand_domain::privacy::PrivacyFacts;
use samhand_domain::schedule::{Cover, CoverKind, PatientSchedule, UncoveredDay, validate_cover};
use samhand_domain::validation::{FieldErrors, parse_date};
use samhand_store::dispensing::DispensedDose;
use samhand_store::{
    StoreError, dispensing as dispensing_store, orders as order_store, organisations, patients,
    privacy as privacy_store, users,
};

use crate::AppState;

mod collaboration;
mod conversation;
mod dispensing;
mod drug_tests;
mod fhir_support;
mod health;
mod identity;
mod leader;
mod messages;
mod moving;
mod orders;
mod overdose;
mod portal;
mod privacy;
mod stock;
mod transitions;
use crate::error::{AppError, AppResult};
use crate::repo::PatientRepo;
pub use collaboration::{CoordinatorOverview, GroupStatus, MeetingsView, MyTasks, PlanView};
pub use conversation::ConversationItem;
pub use dispensing::{
    CorrectionRequest, CorrectionResult, DispenseRequest, DispenseResult, ListRow, TodayList, take_home_days,
};
pub use fhir_support::{Granted, PatientScope};
pub use health::HealthView;
pub use identity::{IdentityChange, Registration};
pub use leader::LeaderOverview;
pub use messages::{MessageView, PatientMessages, related_units};
pub use moving::{MoveInput, Moved};
pub use overdose::{CrisisPlanView, NaloxoneReport, NaloxoneView, OverdoseSummary, OverdosesView};
pub use portal::PortalHome;
pub use privacy::{
    AccessLogGroup, AccessLogLine, ConsentInput, EmergencyForReview, PrivacyView, group_access_log,
};
pub use stock::{CountInput, CountResult, DeviationView, FollowUpInput, StockInput, StockView};
pub use transitions::{
    AdmitInput, HandoverInput, RegisterInput, StayChange, StayView, StaysView, SystemStayUpdate,
};

/// How many days back the missed-dose rule looks.
const MISSED_LOOKBACK_DAYS: i64 = samhand_domain::missed::LOOKBACK_DAYS;
/// How far ahead a single day may be covered (a cover at another place gives that
/// place access until the day).
const MAX_COVER_DAYS_AHEAD: i64 = 90;
/// How many days of dispensing the overview shows.
const OVERVIEW_DAYS: i64 = 14;

pub struct Service<'a> {
    pub state: &'a AppState,
    pub repo: PatientRepo<'a>,
}

/// Everything the schedule of one patient is computed from.
#[derive(Debug, Clone, Default)]
pub struct PatientData {
    pub episodes: Vec<Episode>,
    pub orders: Vec<SignedDoseOrder>,
    pub arrangements: Vec<Arrangement>,
    pub covers: Vec<Cover>,
    pub privacy: PrivacyFacts,
}

impl PatientData {
    /// The episode that runs on a date, or else the latest one.
    pub fn episode_on(&self, date: Date) -> Option<&Episode> {
        self.episodes
            .iter()
            .filter(|e| e.is_active_on(date))
            .max_by_key(|e| e.started_on)
            .or_else(|| self.episodes.iter().max_by_key(|e| e.started_on))
    }

    /// The signed orders of one episode.
    pub fn orders_of(&self, episode: EpisodeId) -> Vec<SignedDoseOrder> {
        self.orders
            .iter()
            .filter(|o| o.order().episode_id == episode)
            .cloned()
            .collect()
    }

    pub fn relations(&self, patient: PatientId, now: Timestamp) -> PatientRelations {
        access::relations_from(
            patient,
            &self.episodes,
            &self.arrangements,
            &self.covers,
            &self.privacy,
            now,
        )
    }
}

/// Each patient's relations at `now`, from their loaded data (none where nothing
/// was loaded), as the batch reads of the repo take them.
pub fn relations_of(
    data: &HashMap<PatientId, PatientData>,
    ids: &[PatientId],
    now: Timestamp,
) -> Vec<(PatientId, PatientRelations)> {
    ids.iter()
        .map(|id| {
            (
                *id,
                data.get(id).map(|d| d.relations(*id, now)).unwrap_or_default(),
            )
        })
        .collect()
}

/// Computes the schedule of a patient on a date and hands it to `f`.
pub fn with_schedule<T>(
    data: &PatientData,
    date: Date,
    f: impl FnOnce(&PatientSchedule<'_>) -> T,
) -> Option<T> {
    let episode = data.episode_on(date)?;
    let orders = data.orders_of(episode.id);
    let schedule = PatientSchedule {
        episode,
        orders: &orders,
        arrangements: &data.arrangements,
        covers: &data.covers,
        stays: &data.privacy.stays,
    };
    Some(f(&schedule))
}

/// The missed-dose state of a patient as of `today`, from their recorded doses
/// (`PatientSchedule::missed_state` holds the rule and its lookback).
pub fn missed_state(
    data: &PatientData,
    recorded: &[DispensedDose],
    today: Date,
    policy: &ClinicalPolicy,
) -> MissedDoseState {
    let dosed_days: HashSet<Date> = recorded
        .iter()
        .filter(|d| d.outcome.is_dosed())
        .map(|d| d.key.date)
        .collect();
    with_schedule(data, today, |schedule| {
        schedule.missed_state(today, &|d| dosed_days.contains(&d), &policy.missed)
    })
    .unwrap_or_default()
}

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
    pub organisations: HashMap<OrganisationId, Organisation>,
    pub names: HashMap<UserId, String>,
    pub today: Date,
    /// Health information in force, when the actor may read it.
    pub health: Option<Vec<samhand_domain::health::HealthNote>>,
    /// Every version of who the patient is, oldest first; the last is `patient`.
    pub identity: Vec<samhand_domain::patient::IdentityVersion>,
}

/// Something about a patient that the prescriber should know today.
#[derive(Debug, Clone)]
pub struct Alert {
    pub patient: Patient,
    pub kind: AlertKind,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum AlertKind {
    /// The order is blocked until reassessed.
    Blocked { days: u32, since: Option<Date> },
    /// Days without the medicine, not (yet) enough to block.
    Missed { days: u32, since: Option<Date> },
    /// A dose withheld or reduced at the pre-dose assessment today.
    Assessed {
        outcome: OutcomeKind,
        reason: String,
        place: OrganisationId,
    },
}

#[derive(Debug, Clone)]
pub struct OverdueReview {
    pub patient: Patient,
    pub arrangement: Arrangement,
    pub place_name: String,
}

fn field(field: &'static str, message: impl Into<String>) -> AppError {
    AppError::Invalid(FieldErrors::single(field, message))
}

fn conflict_from(error: StoreError, message: &str) -> AppError {
    AppError::from(error).conflict_as(message)
}

impl<'a> Service<'a> {
    pub fn new(state: &'a AppState, actor: impl Into<Actor>) -> Self {
        Self {
            state,
            repo: PatientRepo::new(state, actor),
        }
    }

    pub fn actor(&self) -> &Actor {
        &self.repo.actor
    }

    /// The staff member acting, for work that only staff do; a patient is refused.
    pub fn staff(&self) -> AppResult<&StaffUser> {
        self.repo
            .actor
            .staff()
            .ok_or_else(|| AppError::Forbidden("Dette er bare for ansatte.".into()))
    }

    fn now(&self) -> Timestamp {
        self.state.clock.now()
    }

    fn today(&self) -> Date {
        self.state.clock.today()
    }

    pub async fn policy(&self) -> AppResult<ClinicalPolicy> {
        let mut conn = self.state.store.read().await?;
        Ok(ClinicalPolicy::from_values(
            &samhand_store::stock::policy_values(&mut conn).await?,
        ))
    }

    pub async fn organisations(&self) -> AppResult<HashMap<OrganisationId, Organisation>> {
        let mut conn = self.state.store.read().await?;
        Ok(organisations::all(&mut conn)
            .await?
            .into_iter()
            .map(|o| (o.id, o))
            .collect())
    }

    pub async fn dispensing_places(&self) -> AppResult<Vec<Organisation>> {
        let mut conn = self.state.store.read().await?;
        Ok(organisations::all(&mut conn)
            .await?
            .into_iter()
            .filter(|o| o.kind.can_dispense())
            .collect())
    }

    pub async fn groups(&self) -> AppResult<Vec<PatientGroup>> {
        let mut conn = self.state.store.read().await?;
        Ok(organisations::groups(&mut conn).await?)
    }

    /// Staff of the actor's own organisation.
    pub async fn colleagues(&self) -> AppResult<Vec<StaffUser>> {
        let mut conn = self.state.store.read().await?;
        Ok(users::by_organisation(&mut conn, self.staff()?.organisation_id).await?)
    }

    pub async fn names(&self, ids: impl IntoIterator<Item = UserId>) -> AppResult<HashMap<UserId, String>> {
        let mut conn = self.state.store.read().await?;
        let mut names = HashMap::new();
        for id in ids.into_iter().collect::<HashSet<_>>() {
            if let Some(record) = users::by_id(&mut conn, id).await? {
                names.insert(id, record.user.display_name);
            }
        }
        Ok(names)
    }

    /// Loads the schedule data of some patients.
    pub async fn load_data(&self, ids: &[PatientId]) -> AppResult<HashMap<PatientId, PatientData>> {
        let mut conn = self.state.store.read().await?;
        let mut data: HashMap<PatientId, PatientData> =
            ids.iter().map(|id| (*id, PatientData::default())).collect();
        for episode in patients::episodes_of(&mut conn, ids).await? {
            data.entry(episode.patient_id).or_default().episodes.push(episode);
        }
        for order in order_store::signed_orders_of(&mut conn, ids).await? {
            data.entry(order.order().patient_id)
                .or_default()
                .orders
                .push(order);
        }
        for arrangement in order_store::arrangements_of(&mut conn, ids).await? {
            data.entry(arrangement.patient_id)
                .or_default()
                .arrangements
                .push(arrangement);
        }
        for cover in order_store::covers_of(&mut conn, ids).await? {
            data.entry(cover.patient_id).or_default().covers.push(cover);
        }
        for (patient, facts) in privacy_store::facts_of(&mut conn, ids).await? {
            data.entry(patient).or_default().privacy = facts;
        }
        Ok(data)
    }

    /// The schedule data of one patient.
    async fn patient_data(&self, patient: PatientId) -> AppResult<PatientData> {
        Ok(self
            .load_data(&[patient])
            .await?
            .remove(&patient)
            .unwrap_or_default())
    }

    async fn patient(&self, id: PatientId) -> AppResult<Patient> {
        let mut conn = self.state.store.read().await?;
        patients::get(&mut conn, id)
            .await?
            .ok_or_else(|| AppError::NotFound("pasienten".into()))
    }

    // ---------------------------------------------------------------- patients

    /// Patients related to the actor's organisation whose name or number matches.
    pub async fn search(&self, query: &str) -> AppResult<Vec<Patient>> {
        if query.trim().chars().count() < 2 {
            return Ok(Vec::new());
        }
        let found = {
            let mut conn = self.state.store.read().await?;
            patients::search(&mut conn, query, self.staff()?.organisation_id, 50).await?
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
        let new_patient = NewPatient::parse(&input.patient, &mut errors);
        let staff = self.colleagues().await?;
        let doctor = staff
            .iter()
            .find(|u| u.id.to_string() == input.doctor_id.trim() && u.role == Role::Prescriber);
        if doctor.is_none() {
            errors.push("doctor_id", "Velg ansvarlig lege ved enheten.");
        }
        let consultant = staff
            .iter()
            .find(|u| u.id.to_string() == input.consultant_id.trim() && u.role == Role::LarConsultant);
        if consultant.is_none() {
            errors.push("consultant_id", "Velg LAR-konsulent ved enheten.");
        }
        let started_on = parse_date(&input.started_on);
        if started_on.is_none() {
            errors.push(
                "started_on",
                "Skriv inn en gyldig dato for innskrivning (dd.mm.åååå).",
            );
        }
        let phase = Phase::from_code(input.phase.trim()).unwrap_or(Phase::Start);
        if let Some(photo) = &photo {
            if !matches!(
                photo.content_type.as_str(),
                "image/jpeg" | "image/png" | "image/webp"
            ) {
                errors.push("photo", "Bildet må være JPEG, PNG eller WebP.");
            } else if photo.bytes.len() > 5 * 1024 * 1024 {
                errors.push("photo", "Bildet kan være høyst 5 MB.");
            }
        }
        if let Some(new_patient) = &new_patient {
            let mut conn = self.state.store.read().await?;
            if patients::by_national_id(&mut conn, &new_patient.national_id)
                .await?
                .is_some()
            {
                errors.push(
                    "national_id",
                    "En pasient med dette fødselsnummeret er allerede registrert.",
                );
            }
        }
        let (Some(new_patient), Some(doctor), Some(consultant), Some(started_on), true) =
            (new_patient, doctor, consultant, started_on, errors.is_empty())
        else {
            return Err(AppError::Invalid(errors));
        };
        let patient_id = PatientId::new();
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
        let mut tx = self.state.store.write().await?;
        patients::insert(&mut tx, patient_id, &new_patient, self.actor().id(), now)
            .await
            .map_err(|e| conflict_from(e, "En pasient med dette fødselsnummeret er allerede registrert."))?;
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
        let grant = self.repo.creation_grant(
            patient_id,
            DataCategory::Identity,
            access::AllowedBy::Enrolment,
            "patient enrolled in LAR",
        );
        self.repo.record_write(&mut tx, &grant).await?;
        // The specialist service initiates the individual plan when treatment starts
        // (DOMAIN.md); the patient may decline it later, which is recorded.
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
        samhand_store::collaboration::insert_plan_version(&mut tx, &plan).await?;
        let plan_grant = self.repo.creation_grant(
            patient_id,
            DataCategory::PlanAndGoals,
            access::AllowedBy::Enrolment,
            "individual plan initiated at enrolment",
        );
        self.repo.record_write(&mut tx, &plan_grant).await?;
        tx.commit().await?;
        Ok(patient_id)
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
        let patient = self.patient(patient_id).await?;
        let today = self.today();
        // What the relations follow from is also what the overview shows: loaded once.
        let data = self.patient_data(patient_id).await?;
        // The relations decide the overview's reads and, below, its health information.
        let relations = data.relations(patient_id, self.now());
        self.repo
            .authorize_read_all_with(
                patient_id,
                &relations,
                &[
                    DataCategory::Identity,
                    DataCategory::Medication,
                    DataCategory::Dispensing,
                ],
                "patient overview",
            )
            .await?;
        let policy = self.policy().await?;
        let (orders, recent, lookback, identity) = {
            let mut conn = self.state.store.read().await?;
            let identity = patients::identity_versions_of(&mut conn, &[patient_id]).await?;
            let mut orders = order_store::orders(&mut conn, patient_id).await?;
            orders.reverse();
            let from = today
                .checked_sub(Span::new().days(MISSED_LOOKBACK_DAYS))
                .unwrap_or(today);
            let lookback = dispensing_store::doses_of(&mut conn, &[patient_id], from, today).await?;
            let recent_from = today
                .checked_sub(Span::new().days(OVERVIEW_DAYS))
                .unwrap_or(today);
            // The history shows corrected recordings too, beside their corrections.
            let mut recent =
                dispensing_store::dose_history_of(&mut conn, &[patient_id], recent_from, today).await?;
            recent.reverse();
            (orders, recent, lookback, identity)
        };
        let missed = missed_state(&data, &lookback, today, &policy);
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
        let injection_on = |date: Date| {
            with_schedule(&data, date, |s| {
                s.doses_on(date).iter().map(|d| d.dose).sum::<Dose>()
            })
            .filter(|dose| !dose.is_zero())
        };
        // A depot's dose is on its injection day only, and the overview says when
        // the next one is (also before a depot order takes effect).
        let depot_today = effective
            .as_ref()
            .is_some_and(|o| o.content().substance.is_depot());
        let dose_today = dose_on(&episode_orders, today)
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
        let arrangement = effective_arrangement(&data.arrangements, today).cloned();
        let mut people: Vec<UserId> = orders.iter().map(|o| o.created_by).collect();
        people.extend(
            orders
                .iter()
                .filter_map(|o| o.signature.as_ref().map(|s| s.signed_by)),
        );
        people.extend(data.episodes.iter().flat_map(|e| [e.doctor, e.consultant]));
        people.extend(recent.iter().map(|d| d.recorded_by));
        people.extend(data.arrangements.iter().map(|a| a.decided_by));
        let names = self.names(people).await?;
        let health = self
            .health_notes_where_shared(&[(patient_id, relations)], "patient overview: health information")
            .await?
            .remove(&patient_id);
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
        })
    }

    /// The current episode, for writes that need one.
    async fn active_episode(&self, patient: PatientId) -> AppResult<Episode> {
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
        let follow_up = self.prepare_end_follow_up(patient, &episode, &end).await?;
        let mut tx = self.state.store.write().await?;
        patients::end_episode(&mut tx, episode.id, &end, self.now())
            .await
            .map_err(|e| conflict_from(e, "Behandlingen er allerede avsluttet."))?;
        self.write_end_follow_up(&mut tx, follow_up).await?;
        self.repo.record_write(&mut tx, &grant).await?;
        tx.commit().await?;
        Ok(())
    }

    // ------------------------------------------------------------------ orders

    pub async fn order_history(&self, patient: PatientId) -> AppResult<Vec<DoseOrder>> {
        self.patient(patient).await?;
        self.repo
            .authorize_read(patient, DataCategory::Medication, "dose order history")
            .await?;
        let mut conn = self.state.store.read().await?;
        Ok(order_store::orders(&mut conn, patient).await?)
    }

    /// Writes a draft order; it has no effect until signed.
    pub async fn create_draft(&self, patient: PatientId, input: &DoseOrderInput) -> AppResult<DoseOrder> {
        self.patient(patient).await?;
        let grant = self
            .repo
            .authorize_write(patient, DataCategory::Medication, "dose order drafted")
            .await?;
        let content = DoseOrderContent::parse(input).map_err(AppError::Invalid)?;
        let episode = self.active_episode(patient).await?;
        if content.effective_from < episode.started_on {
            return Err(field(
                "effective_from",
                "Startdatoen kan ikke være før innskrivningen.",
            ));
        }
        let order = DoseOrder {
            id: DoseOrderId::new(),
            patient_id: patient,
            episode_id: episode.id,
            content,
            created_by: self.actor().id(),
            created_at: self.now(),
            signature: None,
            discard: None,
        };
        let mut tx = self.state.store.write().await?;
        order_store::insert_draft(&mut tx, &order).await?;
        self.repo.record_write(&mut tx, &grant).await?;
        tx.commit().await?;
        Ok(order)
    }

    async fn order(&self, id: DoseOrderId) -> AppResult<DoseOrder> {
        let mut conn = self.state.store.read().await?;
        order_store::order(&mut conn, id)
            .await?
            .ok_or_else(|| AppError::NotFound("ordinasjonen".into()))
    }

    /// The dose-safety warnings a draft would raise if signed now.
    pub async fn draft_warnings(&self, id: DoseOrderId) -> AppResult<(DoseOrder, Vec<DoseWarning>)> {
        let draft = self.order(id).await?;
        self.repo
            .authorize_read(draft.patient_id, DataCategory::Medication, "dose order warnings")
            .await?;
        let warnings = self.warnings_for(&draft).await?;
        Ok((draft, warnings))
    }

    async fn warnings_for(&self, draft: &DoseOrder) -> AppResult<Vec<DoseWarning>> {
        let data = self.patient_data(draft.patient_id).await?;
        let history = data.orders_of(draft.episode_id);
        let episode = data.episodes.iter().find(|e| e.id == draft.episode_id);
        let build_up = episode.is_some_and(|e| e.phase.is_build_up());
        let policy = self.policy().await?;
        Ok(dose_safety_warnings(
            &history,
            &draft.content,
            build_up,
            &policy.dose_safety,
        ))
    }

    /// Signs a draft as the next version. A signing also counts as the prescriber's
    /// reassessment, clearing a missed-dose block.
    pub async fn sign(&self, id: DoseOrderId, confirmation: Option<&str>) -> AppResult<SignedDoseOrder> {
        let draft = self.order(id).await?;
        let grant = self
            .repo
            .authorize_write(draft.patient_id, DataCategory::Medication, "dose order signed")
            .await?;
        let episode = {
            let mut conn = self.state.store.read().await?;
            patients::episode(&mut conn, draft.episode_id)
                .await?
                .ok_or_else(|| AppError::NotFound("episoden".into()))?
        };
        if episode.ended.as_ref().is_some_and(|end| end.on <= self.today()) {
            return Err(AppError::Conflict(
                "Behandlingen er avsluttet. En ny ordinasjon krever ny innskrivning.".into(),
            ));
        }
        let warnings = self.warnings_for(&draft).await?;
        let history = self.patient_data(draft.patient_id).await?.orders;
        let signed = samhand_domain::dose_order::sign(
            draft,
            self.staff()?,
            episode.responsible_unit,
            &history,
            &warnings,
            confirmation,
            self.now(),
        )
        .map_err(|e| match e {
            SignError::NotAPrescriber => AppError::Forbidden("Bare lege kan signere ordinasjoner.".into()),
            SignError::NotOfResponsibleUnit => {
                AppError::Forbidden("Bare lege ved ansvarlig LAR-enhet kan signere ordinasjonen.".into())
            }
            SignError::AlreadySigned => AppError::Conflict("Ordinasjonen er allerede signert.".into()),
            SignError::Discarded => AppError::Conflict("Utkastet er forkastet og kan ikke signeres.".into()),
            SignError::NeedsConfirmation(warnings) => {
                let mut errors = FieldErrors::default();
                for warning in &warnings {
                    errors.push("confirmation", warning.message_nb());
                }
                errors.push("confirmation", "Bekreft med begrunnelse for å signere likevel.");
                AppError::Invalid(errors)
            }
        })?;
        let relations = self.repo.relations(signed.order().patient_id).await?;
        let content = signed.content();
        let subject = format!(
            "Ny dose fra {}: {} {}",
            samhand_domain::format::date_nb(content.effective_from),
            content.substance.name(),
            content.dose.total()
        );
        let body = format!(
            "Signert ordinasjon versjon {}. Begrunnelse: {}",
            signed.version(),
            content.reason
        );
        let mut tx = self.state.store.write().await?;
        order_store::insert_signature(&mut tx, &signed)
            .await
            .map_err(|e| {
                conflict_from(
                    e,
                    "Ordinasjonen ble signert eller forkastet samtidig av noen andre. Last siden på nytt.",
                )
            })?;
        self.repo.record_write(&mut tx, &grant).await?;
        // The places that hand out the dose are told in the same transaction.
        self.send_automatic(
            &mut tx,
            signed.order().patient_id,
            samhand_domain::message::MessageKind::DoseChange,
            subject,
            body,
            relations.dispensing_places.clone(),
        )
        .await?;
        tx.commit().await?;
        Ok(signed)
    }

    // ------------------------------------------------------------ arrangements

    pub async fn set_arrangement(
        &self,
        patient: PatientId,
        input: &ArrangementInput,
    ) -> AppResult<Arrangement> {
        self.patient(patient).await?;
        let grant = self
            .repo
            .authorize_write(
                patient,
                DataCategory::Medication,
                "dispensing arrangement decided",
            )
            .await?;
        self.active_episode(patient).await?;
        let places: Vec<OrganisationId> = self.dispensing_places().await?.iter().map(|o| o.id).collect();
        let groups = self.groups().await?;
        let content = ArrangementContent::parse(input, &places, &groups).map_err(AppError::Invalid)?;
        let previous_places = self.repo.relations(patient).await?.dispensing_places;
        let mut tx = self.state.store.write().await?;
        let version = order_store::next_arrangement_version(&mut tx, patient).await?;
        let arrangement = Arrangement {
            id: ArrangementId::new(),
            patient_id: patient,
            version,
            content,
            decided_by: self.actor().id(),
            decided_at: self.now(),
        };
        order_store::insert_arrangement(&mut tx, &arrangement)
            .await
            .map_err(|e| {
                conflict_from(
                    e,
                    "Ordningen ble endret samtidig av noen andre. Last siden på nytt.",
                )
            })?;
        self.repo.record_write(&mut tx, &grant).await?;
        let place_name = self
            .organisations()
            .await?
            .get(&arrangement.content.place_id)
            .map(|o| o.name.clone())
            .unwrap_or_default();
        let mut recipients = previous_places;
        recipients.push(arrangement.content.place_id);
        self.send_automatic(
            &mut tx,
            patient,
            samhand_domain::message::MessageKind::ArrangementChange,
            format!(
                "Ny utleveringsordning fra {} ved {place_name}",
                samhand_domain::format::date_nb(arrangement.content.valid_from)
            ),
            format!(
                "Versjon {}. Begrunnelse: {}",
                arrangement.version, arrangement.content.reason
            ),
            recipients,
        )
        .await?;
        tx.commit().await?;
        Ok(arrangement)
    }

    /// Covers one day: take-home from an earlier day, or another place.
    pub async fn add_cover(
        &self,
        patient: PatientId,
        date: &str,
        from: &str,
        place: &str,
    ) -> AppResult<Cover> {
        self.patient(patient).await?;
        let grant = self
            .repo
            .authorize_write(patient, DataCategory::Medication, "holiday cover decided")
            .await?;
        self.active_episode(patient).await?;
        let mut errors = FieldErrors::default();
        let date = parse_date(date);
        if date.is_none() {
            errors.push("cover_date", "Skriv inn datoen som skal dekkes (dd.mm.åååå).");
        }
        let kind = match (from.trim(), place.trim()) {
            (from, "") if !from.is_empty() => match parse_date(from) {
                Some(d) => Some(CoverKind::TakeHomeFrom(d)),
                None => {
                    errors.push(
                        "take_home_from",
                        "Skriv inn en gyldig dato for utlevering av ta-med-dose.",
                    );
                    None
                }
            },
            ("", place) if !place.is_empty() => {
                let places = self.dispensing_places().await?;
                match places.iter().find(|p| p.id.to_string() == place) {
                    Some(p) => Some(CoverKind::AtPlace(p.id)),
                    None => {
                        errors.push("place_id", "Velg et utleveringssted.");
                        None
                    }
                }
            }
            _ => {
                errors.push(
                    "take_home_from",
                    "Velg enten ta-med-dose fra en dato eller et annet utleveringssted.",
                );
                None
            }
        };
        if let (Some(date), Some(kind)) = (date, kind) {
            if let Err(message) = validate_cover(date, kind) {
                errors.push("take_home_from", message);
            }
            let today = self.today();
            if date < today {
                errors.push("cover_date", "Dagen som skal dekkes kan ikke ha vært.");
            } else if samhand_domain::time::days_between(today, date) > MAX_COVER_DAYS_AHEAD {
                errors.push("cover_date", "Dekning kan legges inn for høyst 90 dager fram.");
            }
            if let CoverKind::TakeHomeFrom(from) = kind
                && from < today
            {
                errors.push(
                    "take_home_from",
                    "Utleveringsdagen for ta-med-dosen kan ikke ha vært.",
                );
            }
        }
        let (Some(date), Some(kind), true) = (date, kind, errors.is_empty()) else {
            return Err(AppError::Invalid(errors));
        };
        let cover = Cover {
            id: CoverId::new(),
            patient_id: patient,
            date,
            kind,
            decided_by: self.actor().id(),
            decided_at: self.now(),
        };
        let mut tx = self.state.store.write().await?;
        order_store::insert_cover(&mut tx, &cover).await?;
        self.repo.record_write(&mut tx, &grant).await?;
        tx.commit().await?;
        Ok(cover)
    }

    /// Arrangements in effect today whose review date has passed, for the actor's unit
    /// or place.
    pub async fn overdue_reviews(&self) -> AppResult<Vec<OverdueReview>> {
        let today = self.today();
        let all = {
            let mut conn = self.state.store.read().await?;
            order_store::all_arrangements(&mut conn).await?
        };
        let mut by_patient: HashMap<PatientId, Vec<Arrangement>> = HashMap::new();
        for a in all {
            by_patient.entry(a.patient_id).or_default().push(a);
        }
        let overdue: Vec<Arrangement> = by_patient
            .values()
            .filter_map(|versions| effective_arrangement(versions, today))
            .filter(|a| a.review_overdue(today))
            .cloned()
            .collect();
        let ids: Vec<PatientId> = overdue.iter().map(|a| a.patient_id).collect();
        let data = self.load_data(&ids).await?;
        let own = self.staff()?.organisation_id;
        let related: Vec<(PatientId, PatientRelations)> = ids
            .iter()
            .filter_map(|id| {
                let data = data.get(id)?;
                // Only running episodes need a review.
                data.episode_on(today).filter(|e| e.is_active_on(today))?;
                let relations = data.relations(*id, self.now());
                let mine =
                    relations.responsible_units.contains(&own) || relations.dispensing_places.contains(&own);
                mine.then_some((*id, relations))
            })
            .collect();
        let allowed: HashSet<PatientId> = self
            .repo
            .authorize_reads(&related, DataCategory::Medication, "overdue arrangement reviews")
            .await?
            .into_iter()
            .collect();
        let organisations = self.organisations().await?;
        let allowed_ids: Vec<PatientId> = allowed.iter().copied().collect();
        let people = {
            let mut conn = self.state.store.read().await?;
            patients::patients_of(&mut conn, &allowed_ids).await?
        };
        let people: HashMap<PatientId, Patient> = people.into_iter().map(|p| (p.id, p)).collect();
        let mut reviews: Vec<OverdueReview> = overdue
            .into_iter()
            .filter_map(|a| {
                let patient = people.get(&a.patient_id)?.clone();
                let place_name = organisations
                    .get(&a.content.place_id)
                    .map(|o| o.name.clone())
                    .unwrap_or_default();
                Some(OverdueReview {
                    patient,
                    arrangement: a,
                    place_name,
                })
            })
            .collect();
        reviews.sort_by_key(|r| r.arrangement.content.review_on);
        Ok(reviews)
    }

    /// Today's alerts for the patients of the actor's LAR unit (or, for a
    /// coordinator, of their dispensing place): blocked orders,
    /// missed days (DOMAIN.md: one missed day alerts the prescriber the same day), and
    /// doses withheld or reduced today.
    pub async fn alerts(&self) -> AppResult<Vec<Alert>> {
        let today = self.today();
        // The LAR unit sees its patients; a coordinator or leader at a dispensing
        // place sees the patients who collect there (DOMAIN.md: the prescriber and
        // the coordinator are alerted the same day).
        let kind = self.staff()?.organisation_kind;
        let ids = if kind.is_lar_unit() {
            let mut conn = self.state.store.read().await?;
            patients::ids_of_unit(&mut conn, self.staff()?.organisation_id).await?
        } else if kind.can_dispense() && matches!(self.staff()?.role, Role::Coordinator | Role::Leader) {
            let mut conn = self.state.store.read().await?;
            order_store::patients_at_place(&mut conn, self.staff()?.organisation_id, today).await?
        } else {
            return Ok(Vec::new());
        };
        let data = self.load_data(&ids).await?;
        let running: Vec<PatientId> = ids
            .iter()
            .filter(|id| {
                data.get(id)
                    .and_then(|d| d.episode_on(today))
                    .is_some_and(|e| e.is_active_on(today))
            })
            .copied()
            .collect();
        let policy = self.policy().await?;
        let from = today
            .checked_sub(Span::new().days(MISSED_LOOKBACK_DAYS))
            .unwrap_or(today);
        let recorded = {
            let mut conn = self.state.store.read().await?;
            dispensing_store::doses_of(&mut conn, &running, from, today).await?
        };
        let mut by_patient: HashMap<PatientId, Vec<DispensedDose>> = HashMap::new();
        for dose in recorded {
            by_patient.entry(dose.patient_id).or_default().push(dose);
        }
        let mut found: Vec<(PatientId, AlertKind)> = Vec::new();
        let mut blocked = Vec::new();
        for id in &running {
            let (Some(patient_data), recorded) = (
                data.get(id),
                by_patient.get(id).map(Vec::as_slice).unwrap_or_default(),
            ) else {
                continue;
            };
            let missed = missed_state(patient_data, recorded, today, &policy);
            if missed.is_blocked() {
                blocked.push((*id, missed.since, missed.consecutive_days));
                found.push((
                    *id,
                    AlertKind::Blocked {
                        days: missed.consecutive_days,
                        since: missed.since,
                    },
                ));
            } else if missed.alert {
                found.push((
                    *id,
                    AlertKind::Missed {
                        days: missed.consecutive_days,
                        since: missed.since,
                    },
                ));
            }
            for dose in recorded
                .iter()
                .filter(|d| d.key.date == today && d.outcome != OutcomeKind::Given)
            {
                found.push((
                    *id,
                    AlertKind::Assessed {
                        outcome: dose.outcome,
                        reason: dose.reason.clone().unwrap_or_default(),
                        place: dose.place_id,
                    },
                ));
            }
        }
        found.dedup_by(|a, b| a.0 == b.0 && a.1 == b.1);
        self.notify_blocks(&blocked, &data).await?;
        let listed: Vec<(PatientId, PatientRelations)> = {
            let mut seen = HashSet::new();
            found
                .iter()
                .filter(|(id, _)| seen.insert(*id))
                .map(|(id, _)| {
                    (
                        *id,
                        data.get(id)
                            .map(|d| d.relations(*id, self.now()))
                            .unwrap_or_default(),
                    )
                })
                .collect()
        };
        let allowed: HashSet<PatientId> = self
            .repo
            .authorize_reads(&listed, DataCategory::Dispensing, "today's alerts")
            .await?
            .into_iter()
            .collect();
        let allowed_ids: Vec<PatientId> = allowed.iter().copied().collect();
        let people: HashMap<PatientId, Patient> = {
            let mut conn = self.state.store.read().await?;
            patients::patients_of(&mut conn, &allowed_ids)
                .await?
                .into_iter()
                .map(|p| (p.id, p))
                .collect()
        };
        let mut alerts: Vec<Alert> = found
            .into_iter()
            .filter_map(|(id, kind)| {
                people.get(&id).map(|p| Alert {
                    patient: p.clone(),
                    kind,
                })
            })
            .collect();
        alerts.sort_by_key(|a| {
            (
                !matches!(a.kind, AlertKind::Blocked { .. }),
                a.patient.family_name.clone(),
            )
        });
        Ok(alerts)
    }
}
