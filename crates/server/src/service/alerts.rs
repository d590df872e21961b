//! Today's alerts for the prescriber and the coordinator: blocked orders, missed
//! days, and doses withheld or reduced today.

use std::collections::{HashMap, HashSet};

use jiff::Span;
use jiff::civil::Date;
use samhand_domain::access::{DataCategory, PatientRelations};
use samhand_domain::dispensing::OutcomeKind;
use samhand_domain::ids::{OrganisationId, PatientId};
use samhand_domain::organisation::Role;
use samhand_domain::patient::Patient;
use samhand_store::dispensing::DispensedDose;
use samhand_store::{day_state, dispensing as dispensing_store, orders as order_store, patients};

use crate::error::AppResult;

use super::{MISSED_LOOKBACK_DAYS, Service, missed_state_on};

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

impl Service<'_> {
    /// Today's alerts for the patients of the actor's LAR unit (or, for a
    /// coordinator, of their dispensing place): blocked orders,
    /// missed days (DOMAIN.md: one missed day alerts the prescriber the same day), and
    /// doses withheld or reduced today.
    pub async fn alerts(&self) -> AppResult<Vec<Alert>> {
        let _heavy = self.heavy_work().await?;
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
        let (found, data) = alerts_today(self.state, &ids, today).await?;
        let mut found = found;
        found.dedup_by(|a, b| a.0 == b.0 && a.1 == b.1);
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

/// The alerts of these patients today, with the data they were found in: what the
/// alert list shows and what the clock's missed-dose notices send
/// ([`super::timed`]). No access decision: the caller decides what to show.
///
/// One kept row per patient decides who needs their schedule at all: a patient
/// dosed on every day of the lookback has no missed-dose alert whatever their
/// schedule (H90), so only the others, and those with a dose withheld or reduced
/// today, have their schedule inputs loaded. The same row tells who had a dose
/// withheld or reduced today, and only their doses of today are read (H102).
pub(super) async fn alerts_today(
    state: &crate::AppState,
    ids: &[PatientId],
    today: Date,
) -> AppResult<(
    Vec<(PatientId, AlertKind)>,
    HashMap<PatientId, super::PatientData>,
)> {
    let from = today
        .checked_sub(Span::new().days(MISSED_LOOKBACK_DAYS))
        .unwrap_or(today);
    let (dosed_days, assessed) = {
        let mut conn = state.store.read().await?;
        let lookback = day_state::lookback_of(&mut conn, ids, from, today).await?;
        let assessed =
            dispensing_store::assessed_doses_on(&mut conn, &lookback.assessed_on_to, today).await?;
        (lookback.dosed_days, assessed)
    };
    let mut today_doses: HashMap<PatientId, Vec<DispensedDose>> = HashMap::new();
    for dose in assessed {
        today_doses.entry(dose.patient_id).or_default().push(dose);
    }
    let dosed_of = |id: &PatientId| dosed_days.get(id).map(Vec::as_slice).unwrap_or_default();
    let candidates: Vec<PatientId> = ids
        .iter()
        .filter(|id| {
            today_doses.contains_key(id) || !samhand_domain::missed::dosed_throughout(dosed_of(id), today)
        })
        .copied()
        .collect();
    let data = super::load_patient_data(state, &candidates).await?;
    let policy = super::clinical_policy(state).await?;
    let found = candidates
        .iter()
        .filter(|id| {
            data.get(id)
                .and_then(|d| d.episode_on(today))
                .is_some_and(|e| e.is_active_on(today))
        })
        .filter_map(|id| {
            let recorded = today_doses.get(id).map(Vec::as_slice).unwrap_or_default();
            Some(alerts_of(
                *id,
                data.get(id)?,
                recorded,
                dosed_of(id),
                today,
                &policy,
            ))
        })
        .flatten()
        .collect();
    Ok((found, data))
}

/// One patient's alerts today: a block or missed days by the missed-dose rule, and
/// each dose withheld, reduced or corrected today with its reason.
fn alerts_of(
    id: PatientId,
    data: &super::PatientData,
    recorded: &[DispensedDose],
    dosed_days: &[Date],
    today: Date,
    policy: &samhand_domain::policy::ClinicalPolicy,
) -> Vec<(PatientId, AlertKind)> {
    let missed = missed_state_on(data, dosed_days, today, policy);
    let mut found = Vec::new();
    if missed.is_blocked() {
        found.push((
            id,
            AlertKind::Blocked {
                days: missed.consecutive_days,
                since: missed.since,
            },
        ));
    } else if missed.alert {
        found.push((
            id,
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
            id,
            AlertKind::Assessed {
                outcome: dose.outcome,
                reason: dose.reason.clone().unwrap_or_default(),
                place: dose.place_id,
            },
        ));
    }
    found
}
