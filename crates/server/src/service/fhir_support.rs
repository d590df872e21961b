//! What the FHIR API asks of Samhand, in Samhand's terms: which patients a search
//! may return (each decided by the policy and audited, allowed or denied), reads of
//! one patient, the loaders behind them, and a laboratory's drug test received.
//!
//! A loader only takes [`Granted`] reads, which only this module makes, after the
//! [`crate::repo::PatientRepo`] has decided and recorded them: there is no way to
//! load a category of a patient's record for FHIR without the policy's yes.

use std::collections::HashMap;

use jiff::civil::date;
use samhand_domain::access::{Action, AllowedBy, DataCategory, PatientRelations};
use samhand_domain::care::PlanVersion;
use samhand_domain::dose_order::SignedDoseOrder;
use samhand_domain::drug_test::{self, CorrectionError, DrugTest, DrugTestInput};
use samhand_domain::ids::{DoseOrderId, DrugTestId, EpisodeId, OrganisationId, PatientId};
use samhand_domain::missed::MissedDoseState;
use samhand_domain::national_id::NationalId;
use samhand_domain::patient::{Episode, IdentityVersion};
use samhand_domain::privacy::PrivacyFacts;
use samhand_domain::received::{ReceivedElement, ReceivedIdentifier};
use samhand_domain::stay::{Stay, StayInput, StayRecord};
use samhand_domain::validation::FieldErrors;
use samhand_store::audit::{self, StoredEntry};
use samhand_store::dispensing::DispensedDose;
use samhand_store::portal::OwnWords;
use samhand_store::{dispensing as dispensing_store, fhir as fhir_store, patients};

use super::{PatientMessages, Service, missed_state_on};
use crate::error::{AppError, AppResult};

/// Which patients a FHIR search is about.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum PatientScope {
    /// `patient=Patient/{id}`, or a read of one resource.
    One(PatientId),
    /// `identifier=urn:oid:…|{fødselsnummer or D-nummer}`.
    NationalId(NationalId),
    /// `identifier=urn:oid:2.16.578.1.12.4.1.4.3|{H-number}`: the patients it was
    /// received for with a stay or a drug test (never anyone else).
    HNumber(samhand_domain::received::HNumber),
    /// No patient named: everyone the caller's organisation (or the caller, by a
    /// care team seat) is related to.
    Related,
    /// These patients (a batch of an export, the patients an `_include` names).
    Listed(Vec<PatientId>),
}

/// A read of one category of one patient's record that the policy allowed. Made
/// only in this module, from [`crate::repo::PatientRepo`]'s decision; what is
/// returned of it is recorded with [`Service::fhir_record_reads`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Granted {
    patient: PatientId,
    category: DataCategory,
    by: AllowedBy,
}

impl Granted {
    pub fn patient(&self) -> PatientId {
        self.patient
    }
}

/// The candidate patients of a FHIR search, with the relations the policy decides on.
#[derive(Debug, Clone, Default)]
pub struct Candidates(Vec<(PatientId, PatientRelations)>);

impl Candidates {
    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }
}

/// The UTC days a search asks for, both ends included, for the loaders that
/// filter in the database.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Period {
    pub from: jiff::civil::Date,
    pub to: jiff::civil::Date,
}

impl Period {
    /// The widest period a search may ask for.
    pub const ALL: Period = Period {
        from: date(1900, 1, 1),
        to: date(2200, 12, 31),
    };

    fn instants(self) -> (jiff::Timestamp, jiff::Timestamp) {
        let at = |day: jiff::civil::Date| {
            day.to_zoned(jiff::tz::TimeZone::UTC)
                .map(|z| z.timestamp())
                .unwrap_or(jiff::Timestamp::MIN)
        };
        let until = self.to.tomorrow().map(at).unwrap_or(jiff::Timestamp::MAX);
        (at(self.from), until)
    }
}

/// The patients of some grants, if every grant is for `category`.
fn patients_for(grants: &[Granted], category: DataCategory) -> AppResult<Vec<PatientId>> {
    if let Some(other) = grants.iter().find(|g| g.category != category) {
        return Err(AppError::Internal(format!(
            "a FHIR loader for {} was given a grant for {}",
            category.code(),
            other.category.code()
        )));
    }
    Ok(grants.iter().map(|g| g.patient).collect())
}

/// The directory as the FHIR API serves it (Practitioner, PractitionerRole,
/// Organization) and completes its references with.
#[derive(Debug, Clone, Default)]
pub struct FhirDirectory {
    pub users: Vec<samhand_store::users::Registered>,
    pub registrations: Vec<(
        OrganisationId,
        samhand_domain::organisation::Registration,
        jiff::Timestamp,
    )>,
    pub organisations: crate::directory::Organisations,
}

fn h_number_alone() -> AppError {
    AppError::Invalid(FieldErrors::single(
        "subject.identifier",
        "H-nummeret er ikke mottatt for noen pasient i Samhand før, og ingen registreres på et H-nummer alene: \
         send pasientens id (Patient/{id}) eller fødselsnummer. Ingenting ble lagret.",
    ))
}

fn h_number_elsewhere() -> AppError {
    AppError::Invalid(FieldErrors::single(
        "subject.identifier",
        "H-nummeret er mottatt for en annen pasient før. Ingenting ble lagret.",
    ))
}

/// How many audit entries one AuditEvent search reads per patient at most.
const AUDIT_EVENT_LIMIT: i64 = 2000;

impl Service<'_> {
    /// The candidate patients in `scope`: nothing is decided or read of their record.
    pub async fn fhir_candidate_ids(&self, scope: &PatientScope) -> AppResult<Vec<PatientId>> {
        let staff = self.staff()?.clone();
        let mut conn = self.state.store.read().await?;
        Ok(match scope {
            PatientScope::One(id) => patients::get(&mut conn, *id)
                .await?
                .map(|p| vec![p.id])
                .unwrap_or_default(),
            PatientScope::NationalId(national_id) => patients::by_national_id(&mut conn, national_id)
                .await?
                .map(|p| vec![p.id])
                .unwrap_or_default(),
            PatientScope::HNumber(number) => {
                samhand_store::received::patients_with(
                    &mut conn,
                    ReceivedElement::HNumber,
                    samhand_domain::received::H_NUMBER_SYSTEM,
                    number.as_str(),
                )
                .await?
            }
            PatientScope::Related => {
                fhir_store::candidate_patients(&mut conn, staff.organisation_id, staff.id).await?
            }
            PatientScope::Listed(ids) => ids.clone(),
        })
    }

    /// The candidate patients in `scope`, with their relations; nothing is decided
    /// or read of their record yet.
    pub async fn fhir_candidates(&self, scope: &PatientScope) -> AppResult<Candidates> {
        let ids = self.fhir_candidate_ids(scope).await?;
        if ids.is_empty() {
            return Ok(Candidates::default());
        }
        let data = self.load_data(&ids).await?;
        Ok(Candidates(super::relations_of(&data, &ids, self.now())))
    }

    /// The candidates whom the policy lets the actor read `category` of, decided
    /// one by one. Nothing is recorded yet: the caller records the patients whose
    /// data it returns ([`Self::fhir_record_reads`]), or that nothing was allowed
    /// ([`Self::fhir_record_nothing_allowed`]).
    pub fn fhir_permitted(&self, candidates: &Candidates, category: DataCategory) -> Vec<Granted> {
        self.repo
            .permitted_reads(&candidates.0, category)
            .into_iter()
            .map(|(patient, by)| Granted {
                patient,
                category,
                by,
            })
            .collect()
    }

    /// Records the reads of the patients whose data a search or export returns:
    /// one audit entry per patient, in one transaction.
    pub async fn fhir_record_reads(&self, grants: &[Granted], detail: &str) -> AppResult<()> {
        let Some(first) = grants.first() else {
            return Ok(());
        };
        let reads: Vec<(PatientId, AllowedBy)> = grants.iter().map(|g| (g.patient, g.by)).collect();
        patients_for(grants, first.category)?;
        self.repo.record_reads(&reads, first.category, detail).await
    }

    /// Records one refused read for a search that returns nothing because the
    /// policy allows none of its candidates (naming the patient when one was named).
    pub async fn fhir_record_nothing_allowed(
        &self,
        candidates: &Candidates,
        category: DataCategory,
        detail: &str,
    ) -> AppResult<()> {
        let patient = match candidates.0.as_slice() {
            [(only, _)] => Some(*only),
            _ => None,
        };
        let detail = format!(
            "{detail}: refused, the policy allows none of {} candidate patients",
            candidates.0.len()
        );
        self.repo
            .record_denial(patient, category, Action::Read, &detail)
            .await
    }

    /// A read of one patient's `category`: not found when there is no such patient,
    /// forbidden (and audited) when the policy says no.
    pub async fn fhir_grant(
        &self,
        patient: PatientId,
        category: DataCategory,
        detail: &str,
    ) -> AppResult<Granted> {
        self.patient(patient).await?;
        let by = self.repo.authorize_read(patient, category, detail).await?;
        Ok(Granted {
            patient,
            category,
            by,
        })
    }

    /// The patients' LAR episodes (Identity grants: being in LAR comes with any
    /// relation to the patient).
    pub async fn fhir_episodes(&self, grants: &[Granted]) -> AppResult<Vec<Episode>> {
        let ids = patients_for(grants, DataCategory::Identity)?;
        let mut conn = self.state.store.read().await?;
        Ok(patients::episodes_of(&mut conn, &ids).await?)
    }

    /// The signed dose orders, every version, with the episodes they belong to
    /// (Medication grants).
    pub async fn fhir_orders(&self, grants: &[Granted]) -> AppResult<(Vec<SignedDoseOrder>, Vec<Episode>)> {
        let ids = patients_for(grants, DataCategory::Medication)?;
        let mut conn = self.state.store.read().await?;
        let orders = samhand_store::orders::signed_orders_of(&mut conn, &ids).await?;
        let episodes = patients::episodes_of(&mut conn, &ids).await?;
        Ok((orders, episodes))
    }

    /// The episode of each signed dose order of the patients (Dispensing grants):
    /// a dispensing references the MedicationRequest (the episode's dose order)
    /// it followed. Only the ids are given out.
    pub async fn fhir_order_episodes(
        &self,
        grants: &[Granted],
    ) -> AppResult<HashMap<DoseOrderId, EpisodeId>> {
        let ids = patients_for(grants, DataCategory::Dispensing)?;
        let mut conn = self.state.store.read().await?;
        let orders = samhand_store::orders::signed_orders_of(&mut conn, &ids).await?;
        Ok(orders
            .iter()
            .map(|o| (o.order().id, o.order().episode_id))
            .collect())
    }

    /// The recorded doses of the patients, up to today, recorded within `period`
    /// (Dispensing grants): filtered in the database.
    pub async fn fhir_doses(&self, grants: &[Granted], period: Period) -> AppResult<Vec<DispensedDose>> {
        let ids = patients_for(grants, DataCategory::Dispensing)?;
        let (from, until) = period.instants();
        let mut conn = self.state.store.read().await?;
        Ok(dispensing_store::doses_recorded_in(&mut conn, &ids, from, until, self.today()).await?)
    }

    /// The server's limit of a FHIR search (`SAMHAND_FHIR_SEARCH_MAX_MATCHES`) when
    /// [`Self::fhir_doses`] would load more doses than it, counted in SQL without
    /// loading them (H103).
    pub async fn fhir_doses_beyond_limit(
        &self,
        grants: &[Granted],
        period: Period,
    ) -> AppResult<Option<usize>> {
        let cap = self.state.config.fhir_search_max_matches;
        let ids = patients_for(grants, DataCategory::Dispensing)?;
        let (from, until) = period.instants();
        let mut conn = self.state.store.read().await?;
        let beyond =
            dispensing_store::doses_recorded_in_exceed(&mut conn, &ids, (from, until, self.today()), cap)
                .await?;
        Ok(beyond.then_some(cap))
    }

    /// The missed-dose state of each patient whose order is blocked today
    /// (Dispensing grants). The days dosed come from the kept state, one row per
    /// patient, as the alerts read them, and only the patients not dosed on every
    /// day of the lookback have their schedule loaded (H90): a Flag search over a
    /// unit of 10,000 decoded 600,000 doses and matched each patient against all
    /// of them.
    pub async fn fhir_blocks(&self, grants: &[Granted]) -> AppResult<Vec<(PatientId, MissedDoseState)>> {
        let ids = patients_for(grants, DataCategory::Dispensing)?;
        let today = self.today();
        let from = samhand_domain::missed::lookback_from(today);
        let (dosed, _) = {
            let mut conn = self.state.store.read().await?;
            samhand_store::day_state::dosed_days_of(&mut conn, &ids, from, today).await?
        };
        let dosed_of = |id: &PatientId| dosed.get(id).map(Vec::as_slice).unwrap_or_default();
        let candidates: Vec<PatientId> = ids
            .iter()
            .filter(|id| !samhand_domain::missed::dosed_throughout(dosed_of(id), today))
            .copied()
            .collect();
        let data = self.load_data(&candidates).await?;
        let policy = self.policy().await?;
        let mut blocks = Vec::new();
        for id in candidates {
            let Some(patient_data) = data.get(&id) else {
                continue;
            };
            let state = missed_state_on(patient_data, dosed_of(&id), today, &policy);
            if state.is_blocked() {
                blocks.push((id, state));
            }
        }
        Ok(blocks)
    }

    /// Consents and care team seats (Privacy grants).
    pub async fn fhir_privacy(&self, grants: &[Granted]) -> AppResult<HashMap<PatientId, PrivacyFacts>> {
        let ids = patients_for(grants, DataCategory::Privacy)?;
        let mut conn = self.state.store.read().await?;
        Ok(samhand_store::privacy::facts_of(&mut conn, &ids).await?)
    }

    /// The audit log entries about the patients within `period`, newest first, at
    /// most [`AUDIT_EVENT_LIMIT`] per patient (Privacy grants: among staff, only
    /// the responsible LAR unit reads them).
    pub async fn fhir_audit_entries(
        &self,
        grants: &[Granted],
        period: Period,
    ) -> AppResult<Vec<StoredEntry>> {
        let ids = patients_for(grants, DataCategory::Privacy)?;
        let (from, until) = period.instants();
        let mut conn = self.state.store.read().await?;
        let mut entries = Vec::new();
        for id in ids {
            entries.extend(audit::for_patient_between(&mut conn, id, from, until, AUDIT_EVENT_LIMIT).await?);
        }
        Ok(entries)
    }

    /// The next `limit` audit entries about the patients after sequence number
    /// `after`, in the log's order (Privacy grants): an export pages through them.
    pub async fn fhir_audit_page(
        &self,
        grants: &[Granted],
        after: i64,
        limit: i64,
    ) -> AppResult<Vec<StoredEntry>> {
        let ids = patients_for(grants, DataCategory::Privacy)?;
        let mut conn = self.state.store.read().await?;
        Ok(audit::for_patients_after(&mut conn, &ids, after, limit).await?)
    }

    /// Every version of the drug tests of the patients sampled within `period`
    /// (any version), corrections included (DrugTests grants).
    pub async fn fhir_drug_tests(&self, grants: &[Granted], period: Period) -> AppResult<Vec<DrugTest>> {
        let ids = patients_for(grants, DataCategory::DrugTests)?;
        let mut conn = self.state.store.read().await?;
        Ok(fhir_store::drug_test_versions_sampled_in(&mut conn, &ids, period.from, period.to).await?)
    }

    /// The server's limit of a FHIR search when [`Self::fhir_drug_tests`] would load
    /// more versions than it, counted in SQL without loading them (H103).
    pub async fn fhir_drug_tests_beyond_limit(
        &self,
        grants: &[Granted],
        period: Period,
    ) -> AppResult<Option<usize>> {
        let cap = self.state.config.fhir_search_max_matches;
        let ids = patients_for(grants, DataCategory::DrugTests)?;
        let mut conn = self.state.store.read().await?;
        let beyond =
            fhir_store::drug_test_versions_sampled_in_exceed(&mut conn, &ids, (period.from, period.to), cap)
                .await?;
        Ok(beyond.then_some(cap))
    }

    /// Every version of who the patients are (Identity grants).
    pub async fn fhir_identity_versions(&self, grants: &[Granted]) -> AppResult<Vec<IdentityVersion>> {
        let ids = patients_for(grants, DataCategory::Identity)?;
        let mut conn = self.state.store.read().await?;
        Ok(patients::identity_versions_of(&mut conn, &ids).await?)
    }

    /// The H-numbers received for the patients (Identity grants).
    pub async fn fhir_h_numbers(&self, grants: &[Granted]) -> AppResult<HashMap<PatientId, Vec<String>>> {
        let ids = patients_for(grants, DataCategory::Identity)?;
        let mut conn = self.state.store.read().await?;
        Ok(samhand_store::received::h_numbers_of(&mut conn, &ids).await?)
    }

    /// Every version of the patients' individual plans, and every version of what
    /// each patient wrote in their own words (PlanAndGoals grants).
    pub async fn fhir_plans(
        &self,
        grants: &[Granted],
    ) -> AppResult<(Vec<PlanVersion>, HashMap<PatientId, Vec<OwnWords>>)> {
        let ids = patients_for(grants, DataCategory::PlanAndGoals)?;
        let mut conn = self.state.store.read().await?;
        let plans = samhand_store::collaboration::plans_of(&mut conn, &ids).await?;
        let mut words = HashMap::new();
        for id in ids {
            words.insert(id, samhand_store::portal::own_words(&mut conn, id).await?);
        }
        Ok((plans, words))
    }

    /// A laboratory's correction of a drug test result (a FHIR Observation
    /// update): the next version of the same test, with why, for the same patient
    /// only. `expected` is the version it was made from (If-Match).
    pub async fn fhir_correct_drug_test(
        &self,
        test: DrugTestId,
        named_patient: Option<PatientId>,
        named_national_id: Option<&str>,
        expected: Option<i64>,
        input: &DrugTestInput,
        reason: &str,
    ) -> AppResult<(DrugTest, Vec<ReceivedIdentifier>)> {
        let not_found = || AppError::NotFound(format!("Observation/{test}"));
        let patient_id = {
            let mut conn = self.state.store.read().await?;
            fhir_store::patient_of(&mut conn, fhir_store::OwnerTable::DrugTest, &test.to_string()).await?
        }
        .ok_or_else(not_found)?;
        let grant = self
            .repo
            .authorize_write(
                patient_id,
                DataCategory::DrugTests,
                "drug test corrected (FHIR Observation update)",
            )
            .await?;
        let patient = self.patient(patient_id).await?;
        let same_person = named_patient.is_none_or(|p| p == patient_id)
            && named_national_id.is_none_or(|n| NationalId::parse(n).is_ok_and(|n| n == patient.national_id))
            && !self.fhir_h_number_elsewhere(patient_id, &input.received).await?;
        if !same_person {
            self.repo
                .record_refused_write(&grant, "the correction names another patient")
                .await?;
            return Err(AppError::Invalid(FieldErrors::single(
                "subject",
                "Et korrigert prøvesvar må gjelde samme pasient som svaret det retter. Ingenting ble lagret.",
            )));
        }
        let current = {
            let mut conn = self.state.store.read().await?;
            fhir_store::drug_tests_of(&mut conn, &[patient_id]).await?
        }
        .into_iter()
        .find(|t| t.id == test)
        .ok_or_else(not_found)?;
        let stale = |current: i64| {
            AppError::Stale(format!(
                "Prøvesvaret er korrigert av noen andre siden dere hentet det (nå versjon {current}). Hent det på nytt; ingenting ble lagret."
            ))
        };
        let next = match drug_test::correct(
            &current,
            expected,
            input,
            reason,
            self.today(),
            self.actor().id(),
            self.now(),
        ) {
            Ok(next) => next,
            Err(CorrectionError::Stale { expected, current }) => {
                self.repo
                    .record_refused_write(
                        &grant,
                        &format!("made from version {expected}, the current is {current}"),
                    )
                    .await?;
                return Err(stale(current));
            }
            Err(CorrectionError::Invalid(errors)) => return Err(AppError::Invalid(errors)),
        };
        // What the correction was sent with beyond what the test already had.
        let record_id = test.to_string();
        let mut received = {
            let mut conn = self.state.store.read().await?;
            samhand_store::received::of_records(&mut conn, std::slice::from_ref(&record_id)).await?
        }
        .remove(&record_id)
        .unwrap_or_default();
        let new: Vec<ReceivedIdentifier> = input
            .received
            .iter()
            .filter(|r| !received.contains(r))
            .cloned()
            .collect();
        let mut tx = self.repo.begin_write(&grant).await?;
        match fhir_store::insert_drug_test(&mut tx, &next).await {
            Ok(()) => {}
            Err(samhand_store::StoreError::Conflict(_)) => {
                drop(tx);
                self.repo
                    .record_refused_write(&grant, "another correction was saved first")
                    .await?;
                return Err(stale(next.version));
            }
            Err(other) => return Err(other.into()),
        }
        samhand_store::received::insert(
            &mut tx,
            patient_id,
            &record_id,
            &new,
            next.recorded_by,
            next.recorded_at,
        )
        .await?;
        tx.commit().await?;
        received.extend(new);
        Ok((next, received))
    }

    /// The messages about the granted patients that the actor may see, through the
    /// messages' own operation (which decides and audits each patient), for the
    /// patients that have any messages at all (Identity grants).
    pub async fn fhir_messages(&self, grants: &[Granted]) -> AppResult<Vec<PatientMessages>> {
        let ids = patients_for(grants, DataCategory::Identity)?;
        let with_messages = {
            let mut conn = self.state.store.read().await?;
            fhir_store::patients_with_messages(&mut conn, &ids).await?
        };
        let mut found = Vec::new();
        for id in with_messages {
            match self.patient_messages(id).await {
                Ok(messages) => found.push(messages),
                Err(AppError::Forbidden(_) | AppError::NotFound(_)) => {}
                Err(other) => return Err(other),
            }
        }
        Ok(found)
    }

    /// The patients' stays at institutions (Identity grants: whoever has a relation
    /// needs to know the patient is admitted elsewhere).
    pub async fn fhir_stays(&self, grants: &[Granted]) -> AppResult<Vec<StayRecord>> {
        let ids = patients_for(grants, DataCategory::Identity)?;
        let mut conn = self.state.store.read().await?;
        Ok(samhand_store::stays::stays_of(&mut conn, &ids).await?)
    }

    /// Records that a patient is admitted to an institution (an Encounter from
    /// another system), through the same admission as the UI's.
    pub async fn fhir_record_stay(
        &self,
        patient_id: Option<PatientId>,
        input: &StayInput,
    ) -> AppResult<Stay> {
        let patient_id = match patient_id {
            Some(id) => id,
            None => self
                .fhir_patient_by_h_number(&input.received)
                .await?
                .ok_or_else(h_number_alone)?,
        };
        if self.fhir_h_number_elsewhere(patient_id, &input.received).await? {
            return Err(h_number_elsewhere());
        }
        let exists = {
            let mut conn = self.state.store.read().await?;
            patients::get(&mut conn, patient_id).await?.is_some()
        };
        if !exists {
            return Err(AppError::Invalid(FieldErrors::single(
                "subject",
                "Pasienten oppholdet gjelder finnes ikke i Samhand.",
            )));
        }
        self.admit_stay(patient_id, input).await
    }

    /// The patient an H-number among `received` was received for before, if it
    /// names exactly one: an H-number never makes a new person.
    pub async fn fhir_patient_by_h_number(
        &self,
        received: &[ReceivedIdentifier],
    ) -> AppResult<Option<PatientId>> {
        let Some(number) = received.iter().find(|r| r.element == ReceivedElement::HNumber) else {
            return Ok(None);
        };
        let mut conn = self.state.store.read().await?;
        let found = samhand_store::received::patients_with(
            &mut conn,
            ReceivedElement::HNumber,
            &number.system,
            &number.value,
        )
        .await?;
        Ok(match found.as_slice() {
            [one] => Some(*one),
            _ => None,
        })
    }

    /// Whether an H-number among `received` was received before for another
    /// patient than `patient` (then a record sent with it names two people).
    async fn fhir_h_number_elsewhere(
        &self,
        patient: PatientId,
        received: &[ReceivedIdentifier],
    ) -> AppResult<bool> {
        let Some(number) = received.iter().find(|r| r.element == ReceivedElement::HNumber) else {
            return Ok(false);
        };
        let mut conn = self.state.store.read().await?;
        let found = samhand_store::received::patients_with(
            &mut conn,
            ReceivedElement::HNumber,
            &number.system,
            &number.value,
        )
        .await?;
        Ok(found.iter().any(|p| *p != patient))
    }

    /// The identifiers received with some records loaded under `grants`.
    pub async fn fhir_received(
        &self,
        grants: &[Granted],
        record_ids: &[String],
    ) -> AppResult<HashMap<String, Vec<ReceivedIdentifier>>> {
        if grants.is_empty() || record_ids.is_empty() {
            return Ok(HashMap::new());
        }
        let mut conn = self.state.store.read().await?;
        Ok(samhand_store::received::of_records(&mut conn, record_ids).await?)
    }

    /// Every organisation, for names and references.
    pub async fn fhir_organisations(&self) -> AppResult<crate::directory::Organisations> {
        self.organisations().await
    }

    /// The directory of health personnel and organisations (no patient data):
    /// every user with their HPR number and roles, every organisation with its
    /// registration and when it last changed. What is returned of it is recorded
    /// with [`Self::fhir_record_directory_read`].
    pub async fn fhir_directory(&self) -> AppResult<FhirDirectory> {
        self.staff()?;
        let organisations = self.organisations().await?;
        let mut conn = self.state.store.read().await?;
        Ok(FhirDirectory {
            users: samhand_store::users::registered(&mut conn).await?,
            registrations: samhand_store::organisations::registrations(&mut conn).await?,
            organisations,
        })
    }

    /// Records that the directory was read (`detail`: what was asked).
    pub async fn fhir_record_directory_read(&self, detail: &str) -> AppResult<()> {
        self.repo.record_directory_read(detail).await
    }

    /// Records a laboratory's drug test for a patient, named by id, by national
    /// identity number, or both. When both are given they must be the same person:
    /// a result that names two different people is refused, never attached to
    /// either.
    pub async fn fhir_record_drug_test(
        &self,
        patient_id: Option<PatientId>,
        named_national_id: Option<&str>,
        input: &DrugTestInput,
    ) -> AppResult<DrugTest> {
        let unknown = || {
            AppError::Invalid(FieldErrors::single(
                "subject",
                "Pasienten prøvesvaret gjelder finnes ikke i Samhand.",
            ))
        };
        // Named by an H-number alone: only a patient it was received for before.
        let patient_id = match (patient_id, named_national_id) {
            (None, None) => Some(
                self.fhir_patient_by_h_number(&input.received)
                    .await?
                    .ok_or_else(h_number_alone)?,
            ),
            _ => patient_id,
        };
        let patient = {
            let mut conn = self.state.store.read().await?;
            match (patient_id, named_national_id) {
                (Some(id), _) => patients::get(&mut conn, id).await?,
                (None, Some(number)) => {
                    let number = NationalId::parse(number).map_err(|_| unknown())?;
                    patients::by_national_id(&mut conn, &number).await?
                }
                (None, None) => None,
            }
        }
        .ok_or_else(unknown)?;
        let patient_id = patient.id;
        let grant = self
            .repo
            .authorize_write(
                patient_id,
                DataCategory::DrugTests,
                "drug test received (FHIR Observation)",
            )
            .await?;
        if let Some(named) = named_national_id {
            let same = NationalId::parse(named).is_ok_and(|n| n == patient.national_id);
            if !same {
                self.repo
                    .record_refused_write(&grant, "the national identity number does not match the patient")
                    .await?;
                return Err(AppError::Invalid(FieldErrors::single(
                    "subject.identifier",
                    "Fødselsnummeret i prøvesvaret stemmer ikke med pasienten det er sendt til. Ingenting ble lagret.",
                )));
            }
        }
        if self.fhir_h_number_elsewhere(patient_id, &input.received).await? {
            self.repo
                .record_refused_write(&grant, "the H-number was received for another patient")
                .await?;
            return Err(h_number_elsewhere());
        }
        let test = input
            .parse(patient_id, self.today(), self.actor().id(), self.now())
            .map_err(AppError::Invalid)?;
        let mut tx = self.repo.begin_write(&grant).await?;
        fhir_store::insert_drug_test(&mut tx, &test).await?;
        let record_id = test.id.to_string();
        samhand_store::received::insert(
            &mut tx,
            patient_id,
            &record_id,
            &input.received,
            test.recorded_by,
            test.recorded_at,
        )
        .await?;
        tx.commit().await?;
        Ok(test)
    }
}

impl Service<'_> {
    /// The patient a FHIR resource belongs to, found by the resource's id, so that
    /// a read can be decided before anything of the resource is loaded.
    pub async fn fhir_owner(
        &self,
        table: samhand_store::fhir::OwnerTable,
        id: &str,
    ) -> AppResult<Option<PatientId>> {
        let mut conn = self.state.store.read().await?;
        Ok(fhir_store::patient_of(&mut conn, table, id).await?)
    }
}
