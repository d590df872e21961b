//! What the patient portal needs beyond the operations the patient shares with
//! staff: the one-time code the LAR unit hands out, and the patient's own start
//! page put together from the overview, the meetings and the plan — each read under
//! the policy as `Actor::Patient`, so a patient reaches their own record only.

use jiff::{SignedDuration, Timestamp};
use samhand_domain::access::DataCategory;
use samhand_domain::ids::PatientId;
use samhand_store::{portal as portal_store, privacy as privacy_store};

use super::Service;
use super::collaboration::{MeetingsView, PlanView};
use crate::error::{AppError, AppResult};

/// The patient's start page.
#[derive(Debug, Clone)]
pub struct PortalHome {
    pub overview: super::Overview,
    pub meetings: MeetingsView,
    pub plan: PlanView,
}

impl Service<'_> {
    /// A one-time code for the patient to set a portal password with; shown to the
    /// staff member once, stored hashed, valid for [`crate::portal::CODE_DAYS`].
    pub async fn issue_portal_code(&self, patient: PatientId) -> AppResult<(String, Timestamp)> {
        let staff = self.staff()?.clone();
        self.patient(patient).await?;
        let grant = self
            .repo
            .authorize_write(patient, DataCategory::Privacy, "portal one-time code issued")
            .await?;
        let code = crate::portal::new_code();
        let now = self.now();
        let expires = now + SignedDuration::from_hours(24 * crate::portal::CODE_DAYS);
        let mut tx = self.state.store.write().await?;
        let account = privacy_store::ensure_account(&mut tx, patient, staff.id, now).await?;
        portal_store::insert_code(
            &mut tx,
            account,
            &crate::auth::token_hash(&code),
            staff.id,
            now,
            expires,
        )
        .await?;
        self.repo.record_write(&mut tx, &grant).await?;
        tx.commit().await?;
        Ok((code, expires))
    }

    /// The patient's own start page: dose, arrangement and place, meetings, plan.
    pub async fn portal_home(&self) -> AppResult<PortalHome> {
        let Some(patient) = self.actor_patient() else {
            return Err(AppError::Forbidden("Siden er for pasienten selv.".into()));
        };
        Ok(PortalHome {
            overview: self.overview(patient).await?,
            meetings: self.meetings(patient).await?,
            plan: self.plan(patient).await?,
        })
    }

    /// The patient the actor is, when the actor is a patient.
    pub fn actor_patient(&self) -> Option<PatientId> {
        match self.actor() {
            samhand_domain::access::Actor::Patient(p) => Some(p.patient_id),
            samhand_domain::access::Actor::Staff(_) => None,
        }
    }
}
