//! The leader's overview of the unit: load (patients in treatment, by dispensing
//! place, today's list), blocked and missed patients, overdue reviews, unread and
//! escalated messages, emergency accesses to review, and stock deviations.

use std::collections::{HashMap, HashSet};

use jiff::Timestamp;
use jiff::civil::Date;
use samhand_domain::access::{DataCategory, PatientRelations};
use samhand_domain::arrangement::effective_arrangement;
use samhand_domain::ids::{OrganisationId, PatientId};
use samhand_domain::organisation::Organisation;
use samhand_store::{orders as order_store, patients};

use super::{Alert, AlertKind, DeviationView, MessageView, OverdueReview, Service};
use crate::error::{AppError, AppResult};

#[derive(Debug, Clone)]
pub struct LeaderOverview {
    pub unit: Organisation,
    /// Patients in treatment at the LAR unit, or collecting at the place today.
    pub patients: usize,
    /// For a LAR unit: its patients by the dispensing place of today's arrangement.
    pub by_place: Vec<(Organisation, usize)>,
    /// For a dispensing place: doses due today, and how many are recorded.
    pub today_expected: Option<(usize, usize)>,
    pub blocked: Vec<Alert>,
    pub missed: Vec<Alert>,
    pub overdue_reviews: Vec<OverdueReview>,
    pub unread_messages: usize,
    pub escalated: Vec<MessageView>,
    pub emergency_to_review: usize,
    /// Open deviations the leader oversees: those at their own place, or for a LAR
    /// unit those at the places its patients collect from (`service::stock`).
    pub deviations: Vec<DeviationView>,
    /// Responsibility groups with a seat at the unit whose meeting is overdue.
    pub overdue_meetings: Vec<(
        samhand_domain::patient::Patient,
        Vec<samhand_domain::care::MeetingOverdue>,
    )>,
    /// Tasks past their due date in those groups.
    pub overdue_tasks: Vec<(samhand_domain::patient::Patient, samhand_domain::care::Task)>,
    /// Overdoses in the last twelve months among the unit's patients.
    pub overdoses_last_year: usize,
}

impl Service<'_> {
    pub async fn leader_overview(&self) -> AppResult<LeaderOverview> {
        let staff = self.staff()?.clone();
        if !samhand_domain::access::may_lead(&staff) {
            return Err(AppError::Forbidden("Oversikten er for ledere.".into()));
        }
        let organisations = self.organisations().await?;
        let unit = organisations
            .get(&staff.organisation_id)
            .cloned()
            .ok_or_else(|| AppError::NotFound("enheten".into()))?;
        let today = self.today();
        let now = self.now();
        let load = if unit.kind.is_lar_unit() {
            self.lar_unit_load(&unit, &organisations, today, now).await?
        } else {
            self.place_load(&unit, today).await?
        };
        let alerts = self.alerts().await?;
        let (blocked, missed): (Vec<Alert>, Vec<Alert>) = alerts
            .into_iter()
            .filter(|a| !matches!(a.kind, AlertKind::Assessed { .. }))
            .partition(|a| matches!(a.kind, AlertKind::Blocked { .. }));
        let overdue_reviews = self.overdue_reviews().await?;
        let inbox = self.inbox().await?;
        let unread_messages = inbox.iter().filter(|m| !m.read_here).count();
        let escalated = inbox.into_iter().filter(|m| m.escalated).collect();
        let emergency_to_review = self
            .emergency_accesses_for_review()
            .await?
            .iter()
            .filter(|e| e.access.review.is_none())
            .count();
        let deviations = self.open_deviations_overseen().await?;
        let overdue_meetings = self.overdue_meetings_for_unit(unit.id).await?;
        let overdue_tasks = self.overdue_tasks_for_unit(unit.id).await?;
        let overdoses_last_year = self.overdoses_last_year_for_unit(&unit).await?;
        Ok(LeaderOverview {
            overdoses_last_year,
            overdue_meetings,
            overdue_tasks,
            unit,
            patients: load.patients,
            by_place: load.by_place,
            today_expected: load.today_expected,
            blocked,
            missed,
            overdue_reviews,
            unread_messages,
            escalated,
            emergency_to_review,
            deviations,
        })
    }

    /// A LAR unit's patients in treatment, counted by the dispensing place of today's
    /// arrangement.
    async fn lar_unit_load(
        &self,
        unit: &Organisation,
        organisations: &HashMap<OrganisationId, Organisation>,
        today: Date,
        now: Timestamp,
    ) -> AppResult<UnitLoad> {
        let ids = {
            let mut conn = self.state.store.read().await?;
            patients::ids_of_unit(&mut conn, unit.id).await?
        };
        let data = self.load_data(&ids).await?;
        let running: Vec<(PatientId, PatientRelations)> = ids
            .iter()
            .filter_map(|id| {
                let d = data.get(id)?;
                d.episode_on(today).filter(|e| e.is_active_on(today))?;
                Some((*id, d.relations(*id, now)))
            })
            .collect();
        // Counting by place reads each patient's arrangement: audited as such.
        let allowed: HashSet<PatientId> = self
            .repo
            .authorize_reads(
                &running,
                DataCategory::Medication,
                "leader overview: load by place",
            )
            .await?
            .into_iter()
            .collect();
        let mut counts: HashMap<OrganisationId, usize> = HashMap::new();
        for id in &allowed {
            if let Some(a) = data
                .get(id)
                .and_then(|d| effective_arrangement(&d.arrangements, today))
            {
                *counts.entry(a.content.place_id).or_default() += 1;
            }
        }
        let mut by_place: Vec<(Organisation, usize)> = counts
            .into_iter()
            .filter_map(|(id, n)| organisations.get(&id).map(|o| (o.clone(), n)))
            .collect();
        by_place.sort_by(|a, b| b.1.cmp(&a.1).then(a.0.name.cmp(&b.0.name)));
        Ok(UnitLoad {
            patients: allowed.len(),
            by_place,
            today_expected: None,
        })
    }

    /// A place's patients collecting there today and, where it dispenses, how much of
    /// today's list is done.
    async fn place_load(&self, unit: &Organisation, today: Date) -> AppResult<UnitLoad> {
        let patients = {
            let mut conn = self.state.store.read().await?;
            order_store::patients_at_place(&mut conn, unit.id, today)
                .await?
                .len()
        };
        let mut today_expected = None;
        if unit.kind.can_dispense() {
            let list = self.todays_list(None).await?;
            let done = list.rows.iter().filter(|r| r.done()).count();
            today_expected = Some((list.rows.len(), done));
        }
        Ok(UnitLoad {
            patients,
            by_place: Vec::new(),
            today_expected,
        })
    }
}

/// The load part of the overview (see [`LeaderOverview`]'s fields of the same names).
struct UnitLoad {
    patients: usize,
    by_place: Vec<(Organisation, usize)>,
    today_expected: Option<(usize, usize)>,
}
