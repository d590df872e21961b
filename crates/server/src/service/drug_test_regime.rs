//! The drug-test regime: the doctor's individual decision in versions, the samples
//! expected from it against those the laboratories reported, and the unit's list of
//! samples not delivered and regimes past their review (H72).

use std::collections::{HashMap, HashSet};

use jiff::Span;
use jiff::civil::Date;
use samhand_domain::access::{self, Action, DataCategory, PatientRelations};
use samhand_domain::drug_test_regime::{self as regime, Regime, RegimeInput, SampleTally, SampleWindow};
use samhand_domain::ids::{PatientId, UserId};
use samhand_domain::patient::Patient;
use samhand_domain::validation::FieldErrors;
use samhand_store::drug_test_regimes as store;
use samhand_store::patients as patient_store;
use samhand_store::status::drug_test_days_of;

use super::{Service, clinical_policy, conflict_from};
use crate::error::{AppError, AppResult};

/// How far back the unit's list looks for samples not delivered.
const FOLLOW_UP_DAYS: i64 = 28;

/// A patient's regime: every version, newest first, and the samples expected
/// against those delivered, window by window, newest first.
#[derive(Debug, Clone)]
pub struct RegimeView {
    pub patient: Patient,
    pub versions: Vec<Regime>,
    pub windows: Vec<SampleWindow>,
    pub tally: SampleTally,
    pub review_overdue: bool,
    pub names: HashMap<UserId, String>,
    /// Whether the reader may decide a new version (a prescriber with a relation
    /// that lets them write; not an emergency access).
    pub may_decide: bool,
}

impl RegimeView {
    /// The version in force (the latest), unless the regime has ended.
    pub fn running(&self) -> Option<&Regime> {
        self.versions.first().filter(|r| !r.ended)
    }
}

/// A patient on the unit's list: samples missing in the last four weeks, or the
/// regime's review date passed.
#[derive(Debug, Clone)]
pub struct RegimeFollowUp {
    pub patient: Patient,
    pub regime: Regime,
    pub recent: SampleTally,
    pub review_overdue: bool,
}

fn windows_for(versions: &[Regime], samples: &[Date], today: Date, grace: i64) -> Vec<SampleWindow> {
    let Some(first) = versions.iter().map(|r| r.valid_from).min() else {
        return Vec::new();
    };
    regime::windows(versions, samples, first, today, today, grace as i32)
}

impl Service<'_> {
    pub async fn drug_test_regime(&self, patient_id: PatientId) -> AppResult<RegimeView> {
        let patient = self.patient(patient_id).await?;
        self.repo
            .authorize_read(patient_id, DataCategory::DrugTests, "drug-test regime")
            .await?;
        self.regime_view(patient).await
    }

    /// The regime of a patient whose read is already decided, or `None` when the
    /// reader may not see drug tests (then nothing is read).
    pub async fn drug_test_regime_where_allowed(
        &self,
        patient_id: PatientId,
    ) -> AppResult<Option<RegimeView>> {
        let relations = self.repo.relations(patient_id).await?;
        let allowed = self
            .repo
            .optional_reads(
                &[(patient_id, relations)],
                DataCategory::DrugTests,
                "patient overview: drug-test regime",
            )
            .await?;
        if allowed.is_empty() {
            return Ok(None);
        }
        let patient = self.patient(patient_id).await?;
        Ok(Some(self.regime_view(patient).await?))
    }

    async fn regime_view(&self, patient: Patient) -> AppResult<RegimeView> {
        let today = self.today();
        let (mut versions, samples) = {
            let mut conn = self.state.store.read().await?;
            let versions = store::of_patients(&mut conn, &[patient.id]).await?;
            let from = versions.iter().map(|r| r.valid_from).min().unwrap_or(today);
            let samples: Vec<Date> = drug_test_days_of(&mut conn, &[patient.id], from, today)
                .await?
                .into_iter()
                .map(|(_, day)| day)
                .collect();
            (versions, samples)
        };
        let grace = clinical_policy(self.state).await?.sample_grace_days;
        let mut windows = windows_for(&versions, &samples, today, grace);
        let tally = regime::tally(&windows);
        windows.reverse();
        versions.sort_by_key(|r| std::cmp::Reverse(r.version));
        let review_overdue = versions.first().is_some_and(|r| r.review_overdue(today));
        let names = self.names(versions.iter().map(|r| r.recorded_by)).await?;
        let may_decide = match self.staff() {
            Ok(staff) if access::may_prescribe(staff) => {
                let relations = self.repo.relations(patient.id).await?;
                self.repo
                    .decision(&relations, DataCategory::DrugTests, Action::Write)
                    .is_allowed()
            }
            _ => false,
        };
        Ok(RegimeView {
            patient,
            versions,
            windows,
            tally,
            review_overdue,
            names,
            may_decide,
        })
    }

    fn regime_author(&self) -> AppResult<()> {
        let staff = self.staff()?;
        if !access::may_prescribe(staff) {
            return Err(AppError::Forbidden("Prøveregimet bestemmes av lege.".into()));
        }
        Ok(())
    }

    /// The doctor decides a regime, or changes it: a new version.
    pub async fn decide_drug_test_regime(
        &self,
        patient: PatientId,
        input: &RegimeInput,
    ) -> AppResult<Regime> {
        self.regime_author()?;
        self.patient(patient).await?;
        let content = input.parse(self.today()).map_err(AppError::Invalid)?;
        self.save_regime_version(patient, "drug-test regime decided", |version, by, at| Regime {
            id: uuid::Uuid::now_v7().to_string(),
            patient_id: patient,
            version,
            valid_from: content.valid_from,
            reason: content.reason,
            note: content.note.clone(),
            substances: content.substances.clone(),
            frequency: content.frequency,
            supervised: content.supervised,
            where_given: content.where_given.clone(),
            review_on: content.review_on,
            ended: false,
            recorded_by: by,
            recorded_at: at,
        })
        .await
    }

    /// The doctor ends the regime from today, with why: a new version that
    /// expects nothing.
    pub async fn end_drug_test_regime(&self, patient: PatientId, why: &str) -> AppResult<Regime> {
        self.regime_author()?;
        self.patient(patient).await?;
        let why = why.trim().to_string();
        if why.is_empty() || why.chars().count() > 1000 {
            return Err(AppError::Invalid(FieldErrors::single(
                "note",
                "Skriv hvorfor prøvetakingen avsluttes (høyst 1000 tegn).",
            )));
        }
        let current = {
            let mut conn = self.state.store.read().await?;
            store::of_patients(&mut conn, &[patient]).await?
        };
        let Some(latest) = regime::latest(&current).filter(|r| !r.ended).cloned() else {
            return Err(AppError::Conflict(
                "Pasienten har ikke noe prøveregime som løper.".into(),
            ));
        };
        let today = self.today();
        self.save_regime_version(patient, "drug-test regime ended", |version, by, at| Regime {
            id: uuid::Uuid::now_v7().to_string(),
            version,
            valid_from: today,
            note: why.clone(),
            review_on: today,
            ended: true,
            recorded_by: by,
            recorded_at: at,
            ..latest.clone()
        })
        .await
    }

    async fn save_regime_version(
        &self,
        patient: PatientId,
        detail: &str,
        make: impl FnOnce(i64, UserId, jiff::Timestamp) -> Regime,
    ) -> AppResult<Regime> {
        let grant = self
            .repo
            .authorize_write(patient, DataCategory::DrugTests, detail)
            .await?;
        let latest = {
            let mut conn = self.state.store.read().await?;
            regime::latest(&store::of_patients(&mut conn, &[patient]).await?).map_or(0, |r| r.version)
        };
        let version = make(latest + 1, self.actor().id(), self.now());
        let mut tx = self.repo.begin_write(&grant).await?;
        store::insert(&mut tx, &version).await.map_err(|e| {
            conflict_from(
                e,
                "Prøveregimet er nettopp endret av noen andre. Last siden på nytt.",
            )
        })?;
        tx.commit().await?;
        Ok(version)
    }

    /// The unit's list: patients related to the actor's service whose regime runs,
    /// with samples not delivered in the last four weeks or the review date passed.
    /// Each patient's read is decided and audited.
    pub async fn drug_test_follow_up(&self) -> AppResult<Vec<RegimeFollowUp>> {
        let staff = self.staff()?;
        if !access::works_with_patients(staff) {
            return Err(AppError::Forbidden("Listen er for helsepersonell.".into()));
        }
        let own = staff.organisation_id;
        let today = self.today();
        let (versions, ids) = {
            let mut conn = self.state.store.read().await?;
            let ids = store::patients_with_running_regimes(&mut conn).await?;
            (store::of_patients(&mut conn, &ids).await?, ids)
        };
        let data = self.load_data(&ids).await?;
        let related: Vec<(PatientId, PatientRelations)> = super::relations_of(&data, &ids, self.now())
            .into_iter()
            .filter(|(_, r)| r.responsible_units.contains(&own) || r.dispensing_places.contains(&own))
            .collect();
        let allowed: Vec<PatientId> = self
            .repo
            .optional_list_reads(&related, DataCategory::DrugTests, "drug-test follow-up")
            .await?;
        let since = today
            .checked_sub(Span::new().days(FOLLOW_UP_DAYS))
            .unwrap_or(today);
        let (people, samples) = {
            let mut conn = self.state.store.read().await?;
            let first = versions.iter().map(|r| r.valid_from).min().unwrap_or(today);
            (
                patient_store::patients_of(&mut conn, &allowed).await?,
                drug_test_days_of(&mut conn, &allowed, first, today).await?,
            )
        };
        let grace = clinical_policy(self.state).await?.sample_grace_days;
        let allowed: HashSet<PatientId> = allowed.into_iter().collect();
        let mut list = Vec::new();
        for patient in people.into_iter().filter(|p| allowed.contains(&p.id)) {
            let mine: Vec<Regime> = versions
                .iter()
                .filter(|r| r.patient_id == patient.id)
                .cloned()
                .collect();
            let days: Vec<Date> = samples
                .iter()
                .filter(|(p, _)| *p == patient.id)
                .map(|(_, d)| *d)
                .collect();
            let recent: Vec<SampleWindow> = windows_for(&mine, &days, today, grace)
                .into_iter()
                .filter(|w| w.to >= since)
                .collect();
            let Some(latest) = regime::latest(&mine).cloned() else {
                continue;
            };
            let recent = regime::tally(&recent);
            let review_overdue = latest.review_overdue(today);
            if recent.missing > 0 || review_overdue {
                list.push(RegimeFollowUp {
                    patient,
                    regime: latest,
                    recent,
                    review_overdue,
                });
            }
        }
        list.sort_by(|a, b| {
            (a.patient.family_name.as_str(), a.patient.given_name.as_str())
                .cmp(&(b.patient.family_name.as_str(), b.patient.given_name.as_str()))
        });
        Ok(list)
    }
}
