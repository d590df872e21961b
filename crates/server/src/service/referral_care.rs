//! After a referral: the assessment decision (by the LAR unit's doctors and
//! consultants, appended in versions, the patient told in the portal and a
//! referrer in Samhand in its inbox), quick-start offers while the patient waits,
//! and the planning checklist on the episode (derived from the record where it
//! has the fact, else checked by hand with who and when).

use samhand_domain::access::{Action, DataCategory};
use samhand_domain::format::date_nb;
use samhand_domain::ids::{MessageId, PatientId};
use samhand_domain::message::{Message, MessageKind, Party};
use samhand_domain::patient::Episode;
use samhand_domain::referral::Referral;
use samhand_domain::referral_assessment::{
    Assessment, AssessmentDecision, AssessmentInput, ChecklistCheck, ChecklistItem, Decision,
    QuickStartInput, QuickStartOffer, parse_check, parse_quick_start,
};
use samhand_domain::validation::FieldErrors;
use samhand_store::{
    StoreError, collaboration, messages as message_store, patients, referral_assessments as store, referrals,
    users,
};

use super::Service;
use crate::error::{AppError, AppResult};

/// A referral with its episode, as the actor's unit holds it.
pub struct ReferralCase {
    pub referral: Referral,
    pub episode: Episode,
    pub patient: samhand_domain::patient::Patient,
    /// Every version of the assessment, oldest first.
    pub assessments: Vec<Assessment>,
    pub offers: Vec<QuickStartOffer>,
}

/// One row of the planning checklist.
#[derive(Debug, Clone)]
pub struct ChecklistRow {
    pub item: ChecklistItem,
    /// What settled it: a fact in the record or a check by hand; `None` when open.
    pub done: Option<ChecklistDone>,
}

/// The planning checklist of an episode, with the referral that opened it and
/// the assessment in force, so the way from referral to first dose reads as one.
#[derive(Debug, Clone)]
pub struct PlanningChecklist {
    pub episode: Episode,
    pub rows: Vec<ChecklistRow>,
    pub referral: Option<Referral>,
    pub assessment: Option<Assessment>,
}

#[derive(Debug, Clone)]
pub struct ChecklistDone {
    /// What was decided, in words.
    pub what: String,
    /// Whether the record itself shows it (not a check by hand).
    pub derived: bool,
    pub by: samhand_domain::ids::UserId,
    pub at: jiff::Timestamp,
}

impl Service<'_> {
    /// A referral of the actor's unit with its episode, assessments and offers,
    /// after the policy allows reading the patient's health information (audited).
    pub async fn referral_case(&self, referral_id: &str) -> AppResult<ReferralCase> {
        let (referral, episode, patient, assessments, offers) = {
            let mut conn = self.state.store.read().await?;
            let referral = referrals::get(&mut conn, referral_id)
                .await?
                .ok_or_else(|| AppError::NotFound("henvisningen".into()))?;
            let episode = patients::episodes(&mut conn, referral.patient_id)
                .await?
                .into_iter()
                .find(|e| e.id == referral.episode_id)
                .ok_or_else(|| AppError::NotFound("episoden".into()))?;
            let patient = patients::get(&mut conn, referral.patient_id)
                .await?
                .ok_or_else(|| AppError::NotFound("pasienten".into()))?;
            let ids = [referral.id.clone()];
            let assessments = store::assessments_of(&mut conn, &ids).await?.remove(&referral.id);
            let offers = store::offers_of(&mut conn, &ids).await?.remove(&referral.id);
            (referral, episode, patient, assessments, offers)
        };
        self.repo
            .authorize_read(
                referral.patient_id,
                DataCategory::HealthInformation,
                "referral and its assessment",
            )
            .await?;
        Ok(ReferralCase {
            referral,
            episode,
            patient,
            assessments: assessments.unwrap_or_default(),
            offers: offers.unwrap_or_default(),
        })
    }

    /// Refuses (and audits) a decision on a referral by anyone but a doctor or
    /// consultant of the unit the referral's episode is under.
    async fn require_unit_decision(&self, case: &ReferralCase, what: &str) -> AppResult<()> {
        let staff = self.staff()?;
        if samhand_domain::access::may_enrol(staff).is_allowed()
            && staff.organisation_id == case.episode.responsible_unit
        {
            return Ok(());
        }
        self.repo
            .record_denial(
                Some(case.referral.patient_id),
                DataCategory::HealthInformation,
                Action::Write,
                &format!("{what}: refused, only the referral's LAR unit's doctors and consultants decide"),
            )
            .await?;
        Err(AppError::Forbidden(
            "Bare lege eller LAR-konsulent ved LAR-enheten som har henvisningen, kan gjøre dette.".into(),
        ))
    }

    /// Records the assessment of a referral (or a corrected version of it, with
    /// why), and tells the patient in the portal and a referrer in Samhand in its
    /// unit's inbox, in the same write.
    pub async fn assess_referral(&self, referral_id: &str, input: &AssessmentInput) -> AppResult<Assessment> {
        let case = self.referral_case(referral_id).await?;
        self.require_unit_decision(&case, "referral assessment").await?;
        let patient = case.referral.patient_id;
        let grant = self
            .repo
            .authorize_write(patient, DataCategory::HealthInformation, "referral assessment")
            .await?;
        let mut errors = FieldErrors::default();
        if case.episode.ended.is_some() {
            errors.push(
                "decision",
                "Episoden er avsluttet; henvisningen kan ikke vurderes.",
            );
        }
        let today = self.today();
        let content = AssessmentDecision::parse(
            input,
            case.referral.details.received_on,
            today,
            !case.assessments.is_empty(),
            &mut errors,
        );
        let Some(content) = content.filter(|_| errors.is_empty()) else {
            return Err(AppError::Invalid(errors));
        };
        let now = self.now();
        let staff = self.staff()?.clone();
        let assessment = Assessment {
            id: uuid::Uuid::now_v7().to_string(),
            referral_id: case.referral.id.clone(),
            patient_id: patient,
            version: case.assessments.last().map_or(1, |a| a.version + 1),
            assessed_on: case.assessments.first().map_or(today, |a| a.assessed_on),
            content,
            assessed_by: staff.id,
            assessed_at: now,
        };
        let referrer_unit = self.referrer_unit(&case.referral).await?;
        let mut tx = self.repo.begin_write(&grant).await?;
        match store::insert_assessment(&mut tx, &assessment).await {
            Ok(()) => {}
            Err(StoreError::Conflict(_)) => {
                drop(tx);
                self.repo
                    .record_refused_write(&grant, "another version was saved first")
                    .await?;
                return Err(AppError::Conflict(
                    "Vurderingen ble endret av noen andre samtidig. Last siden på nytt; ingenting ble lagret.".into(),
                ));
            }
            Err(other) => return Err(other.into()),
        }
        for message in decision_messages(&assessment, &staff, referrer_unit, now) {
            message_store::insert(&mut tx, &message).await?;
            // The referrer outside Samhand is answered by EDI (H88); one in Samhand
            // reads the message there.
            if message.party == Party::Services
                && let Some(referrer) = referrer_unit
            {
                self.queue_referral_answer(&mut tx, &message, referrer).await?;
            }
        }
        tx.commit().await?;
        Ok(assessment)
    }

    /// The referring service to tell of the decision: the organisation the referral
    /// names, else the unit of the Samhand user who referred.
    async fn referrer_unit(
        &self,
        referral: &Referral,
    ) -> AppResult<Option<samhand_domain::ids::OrganisationId>> {
        if let Some(organisation) = referral.referrer_organisation {
            return Ok(Some(organisation));
        }
        let Some(user) = referral.referred_by_user else {
            return Ok(None);
        };
        let mut conn = self.state.store.read().await?;
        Ok(users::by_id(&mut conn, user)
            .await?
            .map(|u| u.user.organisation_id))
    }

    /// Records an offer of a low-threshold start to a patient on the waiting list.
    pub async fn offer_quick_start(
        &self,
        referral_id: &str,
        input: &QuickStartInput,
    ) -> AppResult<QuickStartOffer> {
        let case = self.referral_case(referral_id).await?;
        self.require_unit_decision(&case, "quick-start offer").await?;
        let patient = case.referral.patient_id;
        let grant = self
            .repo
            .authorize_write(patient, DataCategory::HealthInformation, "quick-start offer")
            .await?;
        let mut errors = FieldErrors::default();
        if case.episode.ended.is_some() {
            errors.push("offered", "Episoden er avsluttet.");
        }
        if case
            .assessments
            .last()
            .is_some_and(|a| a.content.decision == Decision::NoRight)
        {
            errors.push(
                "offered",
                "Pasienten er vurdert uten rett og står ikke på ventelisten.",
            );
        }
        let parsed = parse_quick_start(
            input,
            case.referral.details.received_on,
            self.today(),
            &mut errors,
        );
        let Some((offered, offered_on, answer)) = parsed.filter(|_| errors.is_empty()) else {
            return Err(AppError::Invalid(errors));
        };
        let offer = QuickStartOffer {
            id: uuid::Uuid::now_v7().to_string(),
            referral_id: case.referral.id.clone(),
            patient_id: patient,
            offered,
            offered_on,
            answer,
            recorded_by: self.staff()?.id,
            recorded_at: self.now(),
        };
        let mut tx = self.repo.begin_write(&grant).await?;
        store::insert_offer(&mut tx, &offer).await?;
        tx.commit().await?;
        Ok(offer)
    }

    /// The patient's current episode (the one running today, else the latest).
    async fn current_episode(&self, patient: PatientId) -> AppResult<(Episode, super::PatientData)> {
        let data = self.patient_data(patient).await?;
        let episode = data
            .episode_on(self.today())
            .cloned()
            .ok_or_else(|| AppError::NotFound("en LAR-episode for pasienten".into()))?;
        Ok((episode, data))
    }

    /// Checks an item of the planning checklist on the patient's current episode.
    pub async fn check_planning_item(
        &self,
        patient: PatientId,
        item: &str,
        note: &str,
    ) -> AppResult<ChecklistCheck> {
        self.patient(patient).await?;
        let grant = self
            .repo
            .authorize_write(
                patient,
                DataCategory::HealthInformation,
                "planning checklist item checked",
            )
            .await?;
        let (episode, _) = self.current_episode(patient).await?;
        let mut errors = FieldErrors::default();
        if episode.ended.is_some() {
            errors.push("item", "Episoden er avsluttet.");
        }
        let parsed = parse_check(item, note, &mut errors);
        let Some((item, note)) = parsed.filter(|_| errors.is_empty()) else {
            return Err(AppError::Invalid(errors));
        };
        let check = ChecklistCheck {
            id: uuid::Uuid::now_v7().to_string(),
            episode_id: episode.id,
            patient_id: patient,
            item,
            note,
            checked_by: self.staff()?.id,
            checked_at: self.now(),
        };
        let mut tx = self.repo.begin_write(&grant).await?;
        store::insert_check(&mut tx, &check).await?;
        tx.commit().await?;
        Ok(check)
    }

    /// The planning checklist of the patient's current episode: each item settled
    /// by the record where it has the fact (an active member of the responsibility
    /// group, an individual plan, a signed dose order of the episode, an
    /// arrangement with a dispensing place, a stay at an institution), else by the
    /// latest check by hand, else open.
    pub async fn planning_checklist(&self, patient: PatientId) -> AppResult<PlanningChecklist> {
        self.patient(patient).await?;
        self.repo
            .authorize_read(patient, DataCategory::HealthInformation, "planning checklist")
            .await?;
        let (episode, data) = self.current_episode(patient).await?;
        let (checks, plans, referral, assessment) = {
            let mut conn = self.state.store.read().await?;
            let referral = referrals::of_episode(&mut conn, episode.id).await?;
            let assessment = match &referral {
                Some(r) => store::assessments_of(&mut conn, std::slice::from_ref(&r.id))
                    .await?
                    .remove(&r.id)
                    .and_then(|mut v| v.pop()),
                None => None,
            };
            (
                store::checks_of(&mut conn, episode.id).await?,
                collaboration::plans_of(&mut conn, &[patient]).await?,
                referral,
                assessment,
            )
        };
        let now = self.now();
        let derived = |item: ChecklistItem| -> Option<ChecklistDone> {
            let done = |what: String, by, at| ChecklistDone {
                what,
                derived: true,
                by,
                at,
            };
            match item {
                ChecklistItem::ResponsibilityGroup => data
                    .privacy
                    .care_team
                    .iter()
                    .filter(|m| m.is_active_at(now))
                    .min_by_key(|m| m.added_at)
                    .map(|m| done("Ansvarsgruppen har medlemmer".into(), m.added_by, m.added_at)),
                ChecklistItem::IndividualPlan => plans.iter().min_by_key(|p| p.recorded_at).map(|p| {
                    done(
                        "Individuell plan er registrert".into(),
                        p.recorded_by,
                        p.recorded_at,
                    )
                }),
                ChecklistItem::Medicine => data
                    .orders_of(episode.id)
                    .iter()
                    .min_by_key(|o| o.signature().signed_at)
                    .map(|o| {
                        done(
                            format!("Signert doseforordning ({})", o.order().content.substance.name()),
                            o.signature().signed_by,
                            o.signature().signed_at,
                        )
                    }),
                ChecklistItem::DispensingPlace => data
                    .arrangements
                    .iter()
                    .min_by_key(|a| a.decided_at)
                    .map(|a| done("Utleveringsordning er bestemt".into(), a.decided_by, a.decided_at)),
                ChecklistItem::StartSetting => None,
            }
        };
        let rows = ChecklistItem::ALL
            .iter()
            .map(|&item| {
                let by_hand = checks
                    .iter()
                    .rev()
                    .find(|c| c.item == item)
                    .map(|c| ChecklistDone {
                        what: c.note.clone(),
                        derived: false,
                        by: c.checked_by,
                        at: c.checked_at,
                    });
                ChecklistRow {
                    item,
                    done: derived(item).or(by_hand),
                }
            })
            .collect();
        Ok(PlanningChecklist {
            episode,
            rows,
            referral,
            assessment,
        })
    }
}

/// The messages an assessment sends: to the patient in the portal, and to the
/// referring service's unit when it referred in Samhand.
fn decision_messages(
    a: &Assessment,
    staff: &samhand_domain::organisation::StaffUser,
    referrer_unit: Option<samhand_domain::ids::OrganisationId>,
    now: jiff::Timestamp,
) -> Vec<Message> {
    let outcome = match (a.content.decision, a.content.latest_start) {
        (Decision::Right, Some(latest)) => format!(
            "Du har rett til nødvendig helsehjelp i LAR. Behandlingen skal starte senest {}.",
            date_nb(latest)
        ),
        _ => format!(
            "Du har ikke rett til nødvendig helsehjelp i LAR. Begrunnelse: {}",
            a.content.reason
        ),
    };
    let subject = if a.version > 1 {
        "Endret vurdering av henvisningen din"
    } else {
        "Vurdering av henvisningen din"
    };
    let body = format!(
        "{outcome}\n\nDu kan klage på vurderingen til Statsforvalteren. Vedtaksbrevet kan skrives ut fra LAR-enheten."
    );
    let message = |party, subject: &str, body: String, recipients| Message {
        id: MessageId::new(),
        patient_id: a.patient_id,
        kind: MessageKind::ReferralDecision,
        subject: subject.to_string(),
        body,
        important: false,
        sent_by: Some(staff.id),
        sender_organisation: Some(staff.organisation_id),
        sent_at: now,
        recipients,
        event_key: None,
        party,
        in_reply_to: None,
    };
    let mut out = vec![message(Party::ToPatient, subject, body, Vec::new())];
    if let Some(unit) = referrer_unit.filter(|u| *u != staff.organisation_id) {
        let referrer_text = match (a.content.decision, a.content.latest_start) {
            (Decision::Right, Some(latest)) => format!(
                "Henvisningen er vurdert: pasienten har rett til nødvendig helsehjelp, med seneste oppstart {}.",
                date_nb(latest)
            ),
            _ => format!(
                "Henvisningen er vurdert: pasienten har ikke rett til nødvendig helsehjelp. Begrunnelse: {}",
                a.content.reason
            ),
        };
        out.push(message(
            Party::Services,
            "Vurdering av henvisning",
            referrer_text,
            vec![unit],
        ));
    }
    out
}
