//! Referrals sent from a referring service in Samhand (issue 18): a GP (fastlege)
//! or a municipal health and care service refers a person to a chosen LAR unit
//! from its own page or the API. The referral lands on that unit's waiting list as
//! received that day, with who referred; the referrer then sees the status of the
//! referrals its service sent (received, assessed with or without a right, started,
//! ended) and nothing more of the LAR record (H89).

use std::collections::HashMap;

use jiff::civil::Date;
use samhand_domain::access::{Action, AllowedBy, DataCategory};
use samhand_domain::ids::{EpisodeId, OrganisationId, PatientId};
use samhand_domain::organisation::{OrganisationKind, Role, StaffUser};
use samhand_domain::patient::{Episode, NewPatient, PatientInput, Phase};
use samhand_domain::referral::{Referral, ReferralDetails, ReferralInput, assessment_deadline, may_refer};
use samhand_domain::referral_assessment::Decision;
use samhand_domain::validation::FieldErrors;
use samhand_store::{patients, referral_assessments as assessment_store, referrals, users};

use super::{Registered, Service};
use crate::error::{AppError, AppResult};

/// A referral as a referring service sends it: to which LAR unit, the person,
/// why, and the referrer's own assessment. Who referred and when are the sender
/// and today.
#[derive(Debug, Clone, Default)]
pub struct SentReferralInput {
    pub lar_unit_id: String,
    pub patient: PatientInput,
    pub reason: String,
    pub referrer_assessment: String,
}

/// Where a sent referral stands, as the referrer may know it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SentStatus {
    Received,
    Right { latest_start: Option<Date> },
    NoRight,
    Started { on: Date },
    Ended,
}

impl SentStatus {
    pub fn code(self) -> &'static str {
        match self {
            Self::Received => "received",
            Self::Right { .. } => "right",
            Self::NoRight => "no_right",
            Self::Started { .. } => "started",
            Self::Ended => "ended",
        }
    }

    pub fn label_nb(self) -> String {
        match self {
            Self::Received => "Mottatt, ikke vurdert ennå".into(),
            Self::Right {
                latest_start: Some(d),
            } => format!(
                "Vurdert: rett til nødvendig helsehjelp, oppstart senest {}",
                samhand_domain::format::date_nb(d)
            ),
            Self::Right { latest_start: None } => "Vurdert: rett til nødvendig helsehjelp".into(),
            Self::NoRight => "Vurdert: ikke rett til nødvendig helsehjelp".into(),
            Self::Started { on } => format!("Startet i LAR {}", samhand_domain::format::date_nb(on)),
            Self::Ended => "Avsluttet".into(),
        }
    }
}

/// One referral the actor's service sent, with its status only.
#[derive(Debug, Clone)]
pub struct SentReferral {
    pub id: String,
    pub patient_id: PatientId,
    pub patient_name: String,
    pub national_id: String,
    pub lar_unit: String,
    pub received_on: Date,
    pub referred_by: String,
    pub status: SentStatus,
}

impl Service<'_> {
    /// Refuses (and audits) a referring-service action by anyone who may not refer.
    async fn require_referrer(&self, what: &str) -> AppResult<StaffUser> {
        let staff = self.staff()?.clone();
        if may_refer(&staff) {
            return Ok(staff);
        }
        self.repo
            .record_denial(
                None,
                DataCategory::Identity,
                Action::Write,
                &format!("{what}: refused, only a referring service's health personnel refer from Samhand"),
            )
            .await?;
        Err(AppError::Forbidden(
            "Bare fastlege eller helsepersonell i en kommunal helse- og omsorgstjeneste kan sende henvisninger herfra.".into(),
        ))
    }

    /// The LAR units a referral may be sent to, by name.
    pub async fn lar_units(&self) -> AppResult<Vec<(OrganisationId, String)>> {
        let mut units: Vec<(OrganisationId, String)> = self
            .organisations()
            .await?
            .values()
            .filter(|o| o.kind == OrganisationKind::HealthTrustLarUnit)
            .map(|o| (o.id, o.name.clone()))
            .collect();
        units.sort_by(|a, b| a.1.cmp(&b.1));
        Ok(units)
    }

    /// Sends a referral from the actor's service to a LAR unit: received today, the
    /// sender and their service as the referrer.
    pub async fn send_referral(&self, input: &SentReferralInput) -> AppResult<Registered> {
        let staff = self.require_referrer("referral sent").await?;
        let today = self.today();
        let mut errors = FieldErrors::default();
        let organisations = self.organisations().await?;
        let unit = input
            .lar_unit_id
            .trim()
            .parse::<OrganisationId>()
            .ok()
            .filter(|u| {
                organisations
                    .get(u)
                    .is_some_and(|o| o.kind == OrganisationKind::HealthTrustLarUnit)
            });
        if unit.is_none() {
            errors.push("lar_unit_id", "Velg LAR-enheten henvisningen skal til.");
        }
        let team = match unit {
            Some(unit) => self.receiving_team(unit, &mut errors).await?,
            None => None,
        };
        let new_patient = NewPatient::parse(&input.patient, today, &mut errors);
        let service_name = organisations
            .get(&staff.organisation_id)
            .map(|o| o.name.clone())
            .unwrap_or_default();
        let details = ReferralDetails::parse(
            &ReferralInput {
                referrer_name: staff.display_name.clone(),
                referrer_service: service_name,
                reason: input.reason.clone(),
                referrer_assessment: input.referrer_assessment.clone(),
                received_on: today.to_string(),
            },
            today,
            &mut errors,
        );
        // A person already in Samhand is found as for the unit's registration, but
        // the referrer is not told why one cannot be referred (already in LAR, or
        // registered under another name): that would tell who is in LAR (H89).
        let mut person_errors = FieldErrors::default();
        let existing = match &new_patient {
            Some(p) => self.referred_person(p, Some(today), &mut person_errors).await?,
            None => None,
        };
        if !person_errors.is_empty() {
            errors.push(
                "national_id",
                "Henvisningen kan ikke sendes for denne personen fra Samhand. Kontroller fødselsnummer og navn, eller kontakt LAR-enheten.",
            );
        }
        let (Some(unit), Some((doctor, consultant)), Some(new_patient), Some(details), true) =
            (unit, team, new_patient, details, errors.is_empty())
        else {
            return Err(AppError::Invalid(errors));
        };
        let patient_id = existing.unwrap_or_else(PatientId::new);
        let now = self.now();
        let episode = Episode {
            id: EpisodeId::new(),
            patient_id,
            responsible_unit: unit,
            doctor,
            consultant,
            started_on: today,
            phase: Phase::Referral,
            ended: None,
            created_at: now,
        };
        let referral = Referral {
            id: uuid::Uuid::now_v7().to_string(),
            patient_id,
            episode_id: episode.id,
            details,
            referred_by_user: Some(staff.id),
            referrer_organisation: Some(staff.organisation_id),
            registered_by: staff.id,
            registered_at: now,
        };
        let new_person = existing.is_none().then_some(&new_patient);
        self.store_referral(
            new_person,
            &episode,
            &referral,
            AllowedBy::Referrer,
            "referral sent by a referring service in Samhand: a LAR episode in phase referral at the chosen unit",
        )
        .await?;
        let policy = self.policy().await?;
        Ok(Registered {
            patient_id,
            episode_id: episode.id,
            referral_id: referral.id,
            existing_person: existing.is_some(),
            assessment_deadline: assessment_deadline(today, policy.referral_assessment_working_days),
        })
    }

    /// Who at the receiving unit holds a referral sent from outside it until the
    /// unit decides: its first active doctor and LAR consultant by name (the
    /// whole unit sees it on the waiting list). A unit without both cannot receive.
    async fn receiving_team(
        &self,
        unit: OrganisationId,
        errors: &mut FieldErrors,
    ) -> AppResult<Option<(samhand_domain::ids::UserId, samhand_domain::ids::UserId)>> {
        let staff = {
            let mut conn = self.state.store.read().await?;
            users::by_organisation(&mut conn, unit).await?
        };
        let doctor = staff.iter().find(|u| u.role == Role::Prescriber);
        let consultant = staff.iter().find(|u| u.role == Role::LarConsultant);
        match (doctor, consultant) {
            (Some(d), Some(c)) => Ok(Some((d.id, c.id))),
            _ => {
                errors.push(
                    "lar_unit_id",
                    "LAR-enheten har ingen lege og LAR-konsulent i Samhand som kan ta imot henvisningen. Send den på annen måte.",
                );
                Ok(None)
            }
        }
    }

    /// The referrals the actor's service sent, newest first, each with its status
    /// only; every patient's read recorded as allowed by the referral (H89).
    pub async fn sent_referrals(&self) -> AppResult<Vec<SentReferral>> {
        let staff = self.require_referrer("referrals sent").await?;
        let (sent, found, assessments, dose_days, episodes) = {
            let mut conn = self.state.store.read().await?;
            let sent = referrals::sent_from(&mut conn, staff.organisation_id).await?;
            let ids: Vec<PatientId> = sent.iter().map(|r| r.patient_id).collect();
            let referral_ids: Vec<String> = sent.iter().map(|r| r.id.clone()).collect();
            let found = patients::patients_of(&mut conn, &ids).await?;
            let assessments = assessment_store::assessments_of(&mut conn, &referral_ids).await?;
            let dose_days = assessment_store::dose_days(&mut conn, &ids).await?;
            let mut episodes = HashMap::new();
            for id in &ids {
                for e in patients::episodes(&mut conn, *id).await? {
                    episodes.insert(e.id, e);
                }
            }
            (sent, found, assessments, dose_days, episodes)
        };
        let reads: Vec<(PatientId, AllowedBy)> =
            sent.iter().map(|r| (r.patient_id, AllowedBy::Referrer)).collect();
        for category in [DataCategory::Identity, DataCategory::HealthInformation] {
            self.repo
                .record_reads(&reads, category, "status of referrals the service sent")
                .await?;
        }
        let organisations = self.organisations().await?;
        let names = self.names(sent.iter().filter_map(|r| r.referred_by_user)).await?;
        let by_id: HashMap<PatientId, _> = found.into_iter().map(|p| (p.id, p)).collect();
        Ok(sent
            .into_iter()
            .filter_map(|r| {
                let patient = by_id.get(&r.patient_id)?;
                let episode = episodes.get(&r.episode_id)?;
                let received = r.details.received_on;
                let started = dose_days
                    .get(&r.patient_id)
                    .and_then(|days| days.iter().copied().find(|d| *d >= received));
                let assessed = assessments.get(&r.id).and_then(|v| v.last());
                let status = match (episode.ended.is_some(), started, assessed) {
                    (true, _, _) => SentStatus::Ended,
                    (false, Some(on), _) => SentStatus::Started { on },
                    (false, None, None) => SentStatus::Received,
                    (false, None, Some(a)) if a.content.decision == Decision::Right => SentStatus::Right {
                        latest_start: a.content.latest_start,
                    },
                    (false, None, Some(_)) => SentStatus::NoRight,
                };
                Some(SentReferral {
                    id: r.id.clone(),
                    patient_id: r.patient_id,
                    patient_name: format!("{} {}", patient.given_name, patient.family_name),
                    national_id: patient.national_id.as_str().to_string(),
                    lar_unit: organisations
                        .get(&episode.responsible_unit)
                        .map(|o| o.name.clone())
                        .unwrap_or_default(),
                    received_on: received,
                    referred_by: r
                        .referred_by_user
                        .and_then(|u| names.get(&u).cloned())
                        .unwrap_or_else(|| r.details.referrer_name.clone()),
                    status,
                })
            })
            .collect())
    }
}
