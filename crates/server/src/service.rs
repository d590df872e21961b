//! Samhand's operations, shared by the web pages and the JSON API: each loads what
//! it needs, asks `domain` to decide, goes through the [`PatientRepo`] for access and
//! audit, and writes through `store`. Handlers only parse and render.

use std::collections::{HashMap, HashSet};

use jiff::Timestamp;
use jiff::civil::Date;
use samhand_domain::access::{self, Actor, PatientRelations};
use samhand_domain::arrangement::{Arrangement, PatientGroup};
use samhand_domain::dose_order::SignedDoseOrder;
use samhand_domain::ids::{EpisodeId, PatientId, UserId};
use samhand_domain::missed::MissedDoseState;
use samhand_domain::organisation::{Organisation, StaffUser};
use samhand_domain::patient::{Episode, Patient};
use samhand_domain::policy::ClinicalPolicy;
use samhand_domain::privacy::PrivacyFacts;
use samhand_domain::schedule::{Cover, PatientSchedule};
use samhand_domain::validation::FieldErrors;
use samhand_store::dispensing::DispensedDose;
use samhand_store::one_patient::{self, Also};
use samhand_store::{
    StoreError, orders as order_store, patients as patient_store, privacy as privacy_store, users,
};

use crate::AppState;

mod alerts;
mod arrangements;
mod collaboration;
mod conversation;
mod dispensing;
mod drug_test_regime;
mod drug_tests;
pub mod edge_feed;
pub mod edi;
mod edi_out;
mod edi_unplaced;
mod fhir_support;
mod health;
mod identity;
mod indicators;
mod leader;
mod messages;
mod moving;
mod orders;
mod overdose;
mod patients;
mod pharmacy_count;
mod portal;
mod privacy;
mod referral_care;
mod referral_sent;
mod referral_waiting;
mod referrals;
mod status;
mod stock;
pub mod timed;
mod transitions;
use crate::error::{AppError, AppResult};
use crate::repo::PatientRepo;
pub use alerts::{Alert, AlertKind};
pub use arrangements::OverdueReview;
pub use collaboration::{CoordinatorOverview, GroupStatus, InvitationView, MeetingsView, MyTasks, PlanView};
pub use conversation::ConversationItem;
pub use dispensing::edge_intake::{Conflict, Intake, PushedDose, PushedRecording};
pub use dispensing::{
    Confirmer, CorrectionRequest, CorrectionResult, DispenseRequest, DispenseResult, ListRow, TodayList,
    take_home_days,
};
pub use drug_test_regime::{RegimeFollowUp, RegimeView};
pub use edi_out::flush_outbox;
pub use fhir_support::{Candidates, FhirDirectory, Granted, PatientScope, Period};
pub use health::HealthView;
pub use identity::{IdentityChange, Registration};
pub use leader::LeaderOverview;
pub use messages::{MessageView, PatientMessages, related_units};
pub use moving::{MoveInput, Moved};
pub use overdose::{CrisisPlanView, NaloxoneReport, NaloxoneView, OverdoseSummary, OverdosesView};
pub use patients::{EnrolInput, Offers, Overview, Photo};
pub use pharmacy_count::{PharmacyCount, pharmacy_count_csv};
pub use portal::PortalHome;
pub use privacy::{
    AccessLogGroup, AccessLogLine, ConsentInput, EmergencyForReview, PrivacyView, group_access_log,
};
pub use referral_care::{ChecklistDone, ChecklistRow, PlanningChecklist, ReferralCase};
pub use referral_sent::{SentReferral, SentReferralInput, SentStatus};
pub use referral_waiting::{WaitingReferral, WaitingStage};
pub use referrals::{ReferralRegistration, Registered};
pub use status::{
    StatusReport, StatusView, csv_line, status_report_csv, status_report_table, status_report_xlsx,
};
pub use stock::{
    CountInput, CountResult, DeviationView, FollowUpInput, StockInput, StockView, count_deviation,
};
pub use transitions::{
    AdmitInput, HandoverInput, RegisterInput, StayChange, StayView, StaysView, SystemStayUpdate,
};

/// How many days back the missed-dose rule looks.
const MISSED_LOOKBACK_DAYS: i64 = samhand_domain::missed::LOOKBACK_DAYS;
/// How many days of dispensing the overview shows.
const OVERVIEW_DAYS: i64 = 14;

/// The clinical work of one request for one actor. Its state and repository are
/// private to the service's modules: pages, the API and FHIR reach patient data
/// only through its methods, and those through the repository.
pub struct Service<'a> {
    state: &'a AppState,
    repo: PatientRepo<'a>,
    /// The directory as this request first read it (organisations, policy, users).
    directory: tokio::sync::OnceCell<std::sync::Arc<crate::directory::Snapshot>>,
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

/// One patient as a request about them reads them before its access decision
/// ([`Service::patient_record`]).
pub(crate) struct PatientRecord {
    pub patient: Patient,
    pub data: PatientData,
    /// Every order, drafts and discarded ones too, in the order written.
    pub orders: Vec<samhand_domain::dose_order::DoseOrder>,
    /// The dispensing event of [`Also::event_key`], if there is one.
    pub event_by_key: Option<samhand_store::dispensing::DispensingEvent>,
    /// When [`Also::recent`] was asked for.
    pub recent: Option<samhand_store::dispensing::RecentDoses>,
    /// When [`Also::history`] was asked for.
    pub history: Option<one_patient::History>,
    /// When [`Also::health`] was asked for: every version, oldest first.
    pub health: Option<Vec<samhand_domain::health::HealthNote>>,
}

impl PatientRecord {
    fn data_of(found: one_patient::OnePatient) -> PatientData {
        PatientData {
            episodes: found.episodes,
            orders: found
                .orders
                .into_iter()
                .filter_map(SignedDoseOrder::from_stored)
                .collect(),
            arrangements: found.arrangements,
            covers: found.covers,
            privacy: found.privacy,
        }
    }
}

/// Each patient's relations at `now`, from their loaded data (none where nothing
/// was loaded), as the batch reads of the repo take them.
pub fn relations_of<D: std::borrow::Borrow<PatientData>>(
    data: &HashMap<PatientId, D>,
    ids: &[PatientId],
    now: Timestamp,
) -> Vec<(PatientId, PatientRelations)> {
    ids.iter()
        .map(|id| {
            (
                *id,
                data.get(id)
                    .map(|d| d.borrow().relations(*id, now))
                    .unwrap_or_default(),
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
    let mut dosed_days: Vec<Date> = recorded
        .iter()
        .filter(|d| d.outcome.is_dosed())
        .map(|d| d.key.date)
        .collect();
    dosed_days.sort();
    dosed_days.dedup();
    missed_state_on(data, &dosed_days, today, policy)
}

/// As [`missed_state`], from the days the patient had a dose (ascending), as
/// [`samhand_store::dispensing::RecentDoses`] holds them.
pub fn missed_state_on(
    data: &PatientData,
    dosed_days: &[Date],
    today: Date,
    policy: &ClinicalPolicy,
) -> MissedDoseState {
    // A patient dosed on every judged day needs no schedule: the state is the
    // default whatever it holds (H90).
    if samhand_domain::missed::dosed_throughout(dosed_days, today) {
        return MissedDoseState::default();
    }
    with_schedule(data, today, |schedule| {
        schedule.missed_state(today, &|d| dosed_days.binary_search(&d).is_ok(), &policy.missed)
    })
    .unwrap_or_default()
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
            directory: tokio::sync::OnceCell::new(),
        }
    }

    /// As [`Self::new`], with the directory as this request already read it (the
    /// token check), if it did: the service does not read its version again.
    pub fn with_directory(
        state: &'a AppState,
        actor: impl Into<Actor>,
        directory: Option<std::sync::Arc<crate::directory::Snapshot>>,
    ) -> Self {
        Self {
            state,
            repo: PatientRepo::new(state, actor),
            directory: tokio::sync::OnceCell::new_with(directory),
        }
    }

    pub fn actor(&self) -> &Actor {
        self.repo.actor()
    }

    /// The staff member acting, for work that only staff do; a patient is refused.
    pub fn staff(&self) -> AppResult<&StaffUser> {
        self.repo
            .actor()
            .staff()
            .ok_or_else(|| AppError::Forbidden("Dette er bare for ansatte.".into()))
    }

    /// Waits for a permit for work over a whole place or unit
    /// ([`AppState::heavy_work`]); the work runs while it is held.
    pub(crate) async fn heavy_work(&self) -> AppResult<tokio::sync::OwnedSemaphorePermit> {
        self.state
            .heavy_work
            .clone()
            .acquire_owned()
            .await
            .map_err(|_| AppError::Internal("the server is stopping".into()))
    }

    pub fn now(&self) -> Timestamp {
        self.state.clock.now()
    }

    fn today(&self) -> Date {
        self.state.clock.today()
    }

    /// The directory as of this request (its version read once per request).
    async fn directory(
        &self,
        conn: &mut impl samhand_store::native::Fetch,
    ) -> AppResult<std::sync::Arc<crate::directory::Snapshot>> {
        let snapshot = self
            .directory
            .get_or_try_init(|| self.state.directory.current(conn))
            .await?;
        Ok(snapshot.clone())
    }

    pub async fn policy(&self) -> AppResult<ClinicalPolicy> {
        let mut conn = self.state.store.reader().await?;
        self.directory(&mut conn).await?.policy(&mut conn).await
    }

    /// Every organisation, as the directory keeps them (shared, not copied: a
    /// dispensing and an overview each ask).
    pub async fn organisations(&self) -> AppResult<crate::directory::Organisations> {
        let mut conn = self.state.store.reader().await?;
        self.directory(&mut conn).await?.organisations(&mut conn).await
    }

    pub async fn dispensing_places(&self) -> AppResult<Vec<Organisation>> {
        let mut places: Vec<Organisation> = self
            .organisations()
            .await?
            .values()
            .filter(|o| o.kind.can_dispense())
            .cloned()
            .collect();
        places.sort_by(|a, b| a.name.cmp(&b.name));
        Ok(places)
    }

    pub async fn groups(&self) -> AppResult<Vec<PatientGroup>> {
        let mut conn = self.state.store.reader().await?;
        Ok((*self.directory(&mut conn).await?.groups(&mut conn).await?).clone())
    }

    /// Staff of the actor's own organisation.
    pub async fn colleagues(&self) -> AppResult<Vec<StaffUser>> {
        let mut conn = self.state.store.reader().await?;
        Ok(users::by_organisation(&mut conn, self.staff()?.organisation_id).await?)
    }

    pub async fn names(&self, ids: impl IntoIterator<Item = UserId>) -> AppResult<HashMap<UserId, String>> {
        let ids: Vec<UserId> = ids.into_iter().collect::<HashSet<_>>().into_iter().collect();
        if ids.is_empty() {
            return Ok(HashMap::new());
        }
        let mut conn = self.state.store.reader().await?;
        let found = self.directory(&mut conn).await?.users(&mut conn, &ids).await?;
        Ok(found
            .into_iter()
            .filter_map(|(id, record)| Some((id, record?.user.display_name)))
            .collect())
    }

    /// Loads the schedule data of some patients.
    pub async fn load_data(&self, ids: &[PatientId]) -> AppResult<HashMap<PatientId, PatientData>> {
        load_patient_data(self.state, ids).await
    }

    /// The schedule data of one patient (in one statement, see
    /// [`samhand_store::one_patient`]).
    async fn patient_data(&self, patient: PatientId) -> AppResult<PatientData> {
        let mut conn = self.state.store.reader().await?;
        let found = one_patient::read(&mut conn, patient, Also::default()).await?;
        Ok(PatientRecord::data_of(found))
    }

    /// A patient, their schedule data and what else `also` asks for, in one
    /// statement; not found when there is no such patient.
    async fn patient_record(&self, patient: PatientId, also: Also<'_>) -> AppResult<PatientRecord> {
        let mut conn = self.state.store.reader().await?;
        // The statement and those of the privacy facts present, one snapshot.
        conn.hold_snapshot()?;
        let mut found = one_patient::read(&mut conn, patient, also).await?;
        let Some(person) = found.patient.take() else {
            return Err(AppError::NotFound("pasienten".into()));
        };
        let orders = found.orders.clone();
        let event_by_key = found.event_by_key.take();
        let recent = found.recent.take();
        let history = found.history.take();
        let health = found.health.take();
        Ok(PatientRecord {
            patient: person,
            data: PatientRecord::data_of(found),
            orders,
            event_by_key,
            recent,
            history,
            health,
        })
    }

    async fn patient(&self, id: PatientId) -> AppResult<Patient> {
        let mut conn = self.state.store.reader().await?;
        patient_store::get(&mut conn, id)
            .await?
            .ok_or_else(|| AppError::NotFound("pasienten".into()))
    }
}

/// The clinical policy in force.
pub(crate) async fn clinical_policy(state: &AppState) -> AppResult<ClinicalPolicy> {
    let mut conn = state.store.reader().await?;
    state.directory.current(&mut conn).await?.policy(&mut conn).await
}

/// Loads the schedule data of some patients, without an access decision: for the
/// operations, which decide before they show anything, and for the clock's work
/// ([`timed`]), which shows nothing.
pub(crate) async fn load_patient_data(
    state: &AppState,
    ids: &[PatientId],
) -> AppResult<HashMap<PatientId, PatientData>> {
    let mut conn = state.store.reader().await?;
    let mut data: HashMap<PatientId, PatientData> =
        ids.iter().map(|id| (*id, PatientData::default())).collect();
    for episode in patient_store::episodes_of(&mut conn, ids).await? {
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
