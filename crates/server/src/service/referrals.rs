//! Referrals (henvisning): registered by the LAR unit's staff when a paper or
//! electronic referral arrives. A referral opens a LAR episode in phase `referral`
//! under the unit, for the person it names: a new person, or the one already
//! registered with that fødselsnummer (never a second one, never a person whose
//! name differs from the referral's: H77).

use samhand_domain::access;
use samhand_domain::category::DataCategory;
use samhand_domain::ids::{EpisodeId, OrganisationId, PatientId};
use samhand_domain::patient::{Episode, NewPatient, Patient, PatientInput, Phase};
use samhand_domain::referral::{Referral, ReferralDetails, ReferralInput, assessment_deadline};
use samhand_domain::validation::FieldErrors;
use samhand_store::{patients, referrals};

use crate::error::{AppError, AppResult};

use super::patients::episode_team;
use super::{Service, conflict_from};

/// Input to register a referral: the person, who at the unit assesses it, and the
/// referral itself.
#[derive(Debug, Clone, Default)]
pub struct ReferralRegistration {
    pub patient: PatientInput,
    pub doctor_id: String,
    pub consultant_id: String,
    pub referral: ReferralInput,
    /// The referring service as a registered organisation (optional): told of the
    /// assessment decision, in Samhand or by EDI.
    pub referrer_organisation_id: String,
}

/// A registered referral.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Registered {
    pub patient_id: PatientId,
    pub episode_id: EpisodeId,
    pub referral_id: String,
    /// Whether the person was already registered (no new person was made).
    pub existing_person: bool,
    pub assessment_deadline: jiff::civil::Date,
}

impl Service<'_> {
    /// Registers a referral received by the actor's LAR unit.
    pub async fn register_referral(&self, input: &ReferralRegistration) -> AppResult<Registered> {
        self.require_enrolment("referral registration").await?;
        let today = self.today();
        let mut errors = FieldErrors::default();
        let new_patient = NewPatient::parse(&input.patient, today, &mut errors);
        let details = ReferralDetails::parse(&input.referral, today, &mut errors);
        let staff = self.colleagues().await?;
        let (doctor, consultant) = episode_team(&staff, &input.doctor_id, &input.consultant_id, &mut errors);
        let referrer_organisation = self
            .registered_referrer(&input.referrer_organisation_id, &mut errors)
            .await?;
        let existing = match &new_patient {
            Some(new_patient) => {
                self.referred_person(new_patient, details.as_ref().map(|d| d.received_on), &mut errors)
                    .await?
            }
            None => None,
        };
        let (Some(new_patient), Some(details), Some(doctor), Some(consultant), true) =
            (new_patient, details, doctor, consultant, errors.is_empty())
        else {
            return Err(AppError::Invalid(errors));
        };
        let patient_id = existing.unwrap_or_else(PatientId::new);
        let now = self.now();
        let unit = self.staff()?.organisation_id;
        let episode = Episode {
            id: EpisodeId::new(),
            patient_id,
            responsible_unit: unit,
            doctor: doctor.id,
            consultant: consultant.id,
            started_on: details.received_on,
            phase: Phase::Referral,
            ended: None,
            created_at: now,
        };
        let referral = Referral {
            id: uuid::Uuid::now_v7().to_string(),
            patient_id,
            episode_id: episode.id,
            details,
            referred_by_user: None,
            referrer_organisation,
            registered_by: self.actor().id(),
            registered_at: now,
        };
        let detail = if existing.is_some() {
            "referral registered for a person already registered: a new LAR episode in phase referral"
        } else {
            "referral registered: a new person and a LAR episode in phase referral"
        };
        let new_person = existing.is_none().then_some(&new_patient);
        self.store_referral(
            new_person,
            &episode,
            &referral,
            access::AllowedBy::Enrolment,
            detail,
        )
        .await?;
        let policy = self.policy().await?;
        Ok(Registered {
            patient_id,
            episode_id: episode.id,
            referral_id: referral.id,
            existing_person: existing.is_some(),
            assessment_deadline: assessment_deadline(
                referral.details.received_on,
                policy.referral_assessment_working_days,
            ),
        })
    }

    /// Writes a referral with its episode (and the person, when new) in one write,
    /// allowed `by` enrolment (the unit's staff) or the referral (a referring
    /// service in Samhand), the referral's health information recorded with it.
    pub(super) async fn store_referral(
        &self,
        new_person: Option<&NewPatient>,
        episode: &Episode,
        referral: &Referral,
        by: access::AllowedBy,
        detail: &str,
    ) -> AppResult<()> {
        let patient_id = referral.patient_id;
        let grant = self
            .repo
            .creation_grant(patient_id, DataCategory::Identity, by, detail);
        let mut tx = self.repo.begin_write(&grant).await?;
        let referral_grant = self.repo.creation_grant(
            patient_id,
            DataCategory::HealthInformation,
            by,
            "referral: reason and the referring service's assessment",
        );
        self.repo.record_write_also(&mut tx, &referral_grant)?;
        let now = self.now();
        if let Some(new_patient) = new_person {
            patients::insert(&mut tx, patient_id, new_patient, self.actor().id(), now)
                .await
                .map_err(|e| {
                    conflict_from(e, "En pasient med dette fødselsnummeret er allerede registrert.")
                })?;
        }
        patients::insert_episode(&mut tx, episode, self.actor().id()).await?;
        referrals::insert(&mut tx, referral).await?;
        tx.commit().await?;
        Ok(())
    }

    /// The referring organisation a registration names, if any: one in the
    /// register and not the receiving unit itself.
    async fn registered_referrer(
        &self,
        id: &str,
        errors: &mut FieldErrors,
    ) -> AppResult<Option<OrganisationId>> {
        let id = id.trim();
        if id.is_empty() {
            return Ok(None);
        }
        let organisations = self.organisations().await?;
        let unit = self.staff()?.organisation_id;
        match id
            .parse::<OrganisationId>()
            .ok()
            .filter(|o| organisations.contains_key(o))
        {
            Some(organisation) if organisation != unit => Ok(Some(organisation)),
            _ => {
                errors.push(
                    "referrer_organisation_id",
                    "Velg en registrert henvisende tjeneste, eller la feltet stå tomt.",
                );
                Ok(None)
            }
        }
    }

    /// The person already registered with the referral's fødselsnummer, if any. A
    /// referral is attached to them only when the names agree (a typing error in
    /// the number must not attach a referral to someone else), and only when no
    /// episode of theirs runs (they are in LAR already).
    pub(super) async fn referred_person(
        &self,
        new_patient: &NewPatient,
        received_on: Option<jiff::civil::Date>,
        errors: &mut FieldErrors,
    ) -> AppResult<Option<PatientId>> {
        let existing: Option<Patient> = {
            let mut conn = self.state.store.read().await?;
            patients::by_national_id(&mut conn, &new_patient.national_id).await?
        };
        let Some(existing) = existing else {
            return Ok(None);
        };
        if !same_name(&existing, new_patient) {
            errors.push(
                "national_id",
                "Fødselsnummeret er registrert på en person med et annet navn. Kontroller fødselsnummer og navn mot henvisningen.",
            );
            return Ok(None);
        }
        self.returning_patient(new_patient, received_on, errors).await
    }
}

/// Whether a registered person and a referral's person have the same name (case
/// and surrounding space aside).
fn same_name(existing: &Patient, referred: &NewPatient) -> bool {
    let norm = |s: &str| s.split_whitespace().collect::<Vec<_>>().join(" ").to_lowercase();
    norm(&existing.given_name) == norm(&referred.given_name)
        && norm(&existing.family_name) == norm(&referred.family_name)
}
