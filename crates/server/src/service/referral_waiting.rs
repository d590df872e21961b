//! The referral waiting list (venteliste) and the waiting-time indicators: every
//! referral of the unit not yet assessed (the deadline is the assessment deadline
//! in working days), and every patient assessed with a right who has not had a
//! first dose since the referral (the deadline is the latest start date set at the
//! assessment: H78). A referral assessed without a right leaves the list.

use std::collections::{HashMap, HashSet};

use jiff::civil::Date;
use samhand_domain::category::DataCategory;
use samhand_domain::ids::PatientId;
use samhand_domain::patient::Patient;
use samhand_domain::referral::{Referral, assessment_deadline};
use samhand_domain::referral_assessment::{
    Assessment, Decision, MonthIndicators, QuickStartOffer, ReferralCourse, indicators,
};
use samhand_store::{patients, referral_assessments as store, referrals};

use super::Service;
use crate::error::{AppError, AppResult};

/// Where a patient on the waiting list stands.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum WaitingStage {
    /// Not assessed: the deadline is the assessment deadline.
    Unassessed,
    /// Assessed with a right, no first dose yet: the deadline is the latest start.
    AwaitingStart,
}

impl WaitingStage {
    pub fn code(self) -> &'static str {
        match self {
            Self::Unassessed => "unassessed",
            Self::AwaitingStart => "awaiting_start",
        }
    }
}

/// A referral on the waiting list.
#[derive(Debug, Clone)]
pub struct WaitingReferral {
    pub referral: Referral,
    pub patient: Patient,
    pub stage: WaitingStage,
    /// The assessment deadline (working days after receipt).
    pub assessment_deadline: Date,
    /// The deadline in force: the assessment deadline, or the latest start date.
    pub deadline: Date,
    /// Days from the day received to today.
    pub days_waited: i64,
    /// Whether the deadline in force has passed.
    pub breached: bool,
    /// The assessment in force (the latest version), if assessed.
    pub assessment: Option<Assessment>,
    /// Quick-start offers, in the order recorded.
    pub offers: Vec<QuickStartOffer>,
}

/// The first day on or after `from` in ascending `days`.
fn first_on_or_after(days: Option<&Vec<Date>>, from: Date) -> Option<Date> {
    days?.iter().copied().find(|d| *d >= from)
}

impl Service<'_> {
    /// The actor's unit's waiting list, oldest received first: referrals not yet
    /// assessed and patients assessed with a right but not started, each with its
    /// deadline and whether it is breached; only patients the actor may see (each
    /// read audited).
    pub async fn waiting_referrals(&self) -> AppResult<Vec<WaitingReferral>> {
        let unit = self.staff()?.organisation_id;
        let (open, found, assessments, offers, dose_days) = {
            let mut conn = self.state.store.read().await?;
            let open = referrals::open_of_unit(&mut conn, unit).await?;
            let ids: Vec<PatientId> = open.iter().map(|r| r.patient_id).collect();
            let referral_ids: Vec<String> = open.iter().map(|r| r.id.clone()).collect();
            let found = patients::patients_of(&mut conn, &ids).await?;
            let assessments = store::assessments_of(&mut conn, &referral_ids).await?;
            let offers = store::offers_of(&mut conn, &referral_ids).await?;
            let dose_days = store::dose_days(&mut conn, &ids).await?;
            (open, found, assessments, offers, dose_days)
        };
        let ids: Vec<PatientId> = open.iter().map(|r| r.patient_id).collect();
        let data = self.load_data(&ids).await?;
        let with_relations = super::relations_of(&data, &ids, self.now());
        let allowed: HashSet<PatientId> = self
            .repo
            .authorize_reads(&with_relations, DataCategory::Identity, "referral waiting list")
            .await?
            .into_iter()
            .collect();
        let policy = self.policy().await?;
        let today = self.today();
        let by_id: HashMap<PatientId, Patient> = found.into_iter().map(|p| (p.id, p)).collect();
        Ok(open
            .into_iter()
            .filter(|r| allowed.contains(&r.patient_id))
            .filter_map(|referral| {
                let patient = by_id.get(&referral.patient_id)?.clone();
                let received = referral.details.received_on;
                let due = assessment_deadline(received, policy.referral_assessment_working_days);
                let assessment = assessments.get(&referral.id).and_then(|v| v.last()).cloned();
                let (stage, deadline) = match &assessment {
                    None => (WaitingStage::Unassessed, due),
                    Some(a) => match (a.content.decision, a.content.latest_start) {
                        (Decision::Right, Some(latest)) => {
                            if first_on_or_after(dose_days.get(&referral.patient_id), received).is_some() {
                                return None;
                            }
                            (WaitingStage::AwaitingStart, latest)
                        }
                        _ => return None,
                    },
                };
                Some(WaitingReferral {
                    days_waited: samhand_domain::time::days_between(received, today),
                    breached: today > deadline,
                    offers: offers.get(&referral.id).cloned().unwrap_or_default(),
                    stage,
                    assessment_deadline: due,
                    deadline,
                    assessment,
                    patient,
                    referral,
                })
            })
            .collect())
    }

    /// The unit's waiting-time indicators for the referrals received from `from` to
    /// `to`, per month of receipt: counts only, no patient named, for the LAR
    /// unit's doctors, consultants and leader.
    pub async fn referral_indicators(&self, from: Date, to: Date) -> AppResult<Vec<MonthIndicators>> {
        let staff = self.staff()?.clone();
        let lar_unit =
            staff.organisation_kind == samhand_domain::organisation::OrganisationKind::HealthTrustLarUnit;
        if !(lar_unit
            && (samhand_domain::access::may_enrol(&staff).is_allowed()
                || samhand_domain::access::may_lead(&staff)))
        {
            return Err(AppError::Forbidden(
                "Ventetidsindikatorene er for lege, LAR-konsulent og leder ved LAR-enheten.".into(),
            ));
        }
        if to < from || samhand_domain::time::days_between(from, to) > 366 * 3 {
            return Err(AppError::Invalid(
                samhand_domain::validation::FieldErrors::single(
                    "to",
                    "Perioden må slutte etter at den begynner, og være høyst tre år.",
                ),
            ));
        }
        let mut conn = self.state.store.read().await?;
        let received = referrals::received_by_unit(&mut conn, staff.organisation_id, from, to).await?;
        let referral_ids: Vec<String> = received.iter().map(|r| r.id.clone()).collect();
        let ids: Vec<PatientId> = received.iter().map(|r| r.patient_id).collect();
        let assessments = store::assessments_of(&mut conn, &referral_ids).await?;
        let dose_days = store::dose_days(&mut conn, &ids).await?;
        drop(conn);
        let policy = self.policy().await?;
        let courses: Vec<ReferralCourse> = received
            .iter()
            .map(|r| {
                let versions = assessments.get(&r.id);
                let first = versions.and_then(|v| v.first());
                let current = versions.and_then(|v| v.last());
                let received_on = r.details.received_on;
                ReferralCourse {
                    received_on,
                    assessment_deadline: assessment_deadline(
                        received_on,
                        policy.referral_assessment_working_days,
                    ),
                    assessed_on: first.map(|a| a.assessed_on),
                    latest_start: current.and_then(|a| a.content.latest_start),
                    started_on: first_on_or_after(dose_days.get(&r.patient_id), received_on),
                }
            })
            .collect();
        Ok(indicators(&courses))
    }
}
