//! Who the patient is, in versions: the history of the identity, a correction of
//! name, phone or address as the next version with who, when and why (from the
//! overview page and from a FHIR Patient update alike), and a person registered by
//! another system (a FHIR Patient create) through the same enrolment as the page.

use samhand_domain::access::{self, Action, DataCategory};
use samhand_domain::ids::PatientId;
use samhand_domain::national_id::NationalId;
use samhand_domain::patient::{IdentityChangeError, IdentityChangeInput, IdentityVersion, next_identity};
use samhand_store::{StoreError, patients};

use super::{EnrolInput, Service};
use crate::error::{AppError, AppResult};

/// What a correction of the identity did.
#[derive(Debug, Clone)]
pub enum IdentityChange {
    /// A new version was written.
    Changed(IdentityVersion),
    /// The correction said what the record already says: nothing was written.
    Unchanged(IdentityVersion),
}

impl IdentityChange {
    pub fn version(&self) -> &IdentityVersion {
        match self {
            Self::Changed(v) | Self::Unchanged(v) => v,
        }
    }
}

/// What registering a person from another system found.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Registration {
    Created(PatientId),
    /// A patient with this national identity number is already registered.
    AlreadyRegistered(PatientId),
}

fn stale(current: i64) -> AppError {
    AppError::Stale(format!(
        "Personopplysningene er endret av noen andre siden du hentet dem (nå versjon {current}). Hent dem på nytt og gjør endringen der; ingenting ble lagret."
    ))
}

impl Service<'_> {
    /// Every version of the patient's identity, oldest first (an Identity read).
    pub async fn identity_versions(&self, patient: PatientId) -> AppResult<Vec<IdentityVersion>> {
        self.patient(patient).await?;
        self.repo
            .authorize_read(patient, DataCategory::Identity, "identity versions")
            .await?;
        let mut conn = self.state.store.read().await?;
        Ok(patients::identity_versions_of(&mut conn, &[patient]).await?)
    }

    /// Corrects the patient's name, phone or address: the next version, with who,
    /// when and why; the earlier versions stay. `expected` is the version the
    /// change was made from; a change from an older one is refused (someone else
    /// corrected in between), and so is a changed national identity number.
    pub async fn correct_identity(
        &self,
        patient: PatientId,
        expected: Option<i64>,
        input: &IdentityChangeInput,
    ) -> AppResult<IdentityChange> {
        self.patient(patient).await?;
        let grant = self
            .repo
            .authorize_write(patient, DataCategory::Identity, "identity corrected")
            .await?;
        let current = {
            let mut conn = self.state.store.read().await?;
            patients::identity_versions_of(&mut conn, &[patient])
                .await?
                .pop()
                .ok_or_else(|| AppError::Internal(format!("patient {patient} has no identity version")))?
        };
        let next = match next_identity(&current, expected, input, self.actor().id(), self.now()) {
            Ok(Some(next)) => next,
            Ok(None) => return Ok(IdentityChange::Unchanged(current)),
            Err(IdentityChangeError::Stale { expected, current }) => {
                self.repo
                    .record_refused_write(
                        &grant,
                        &format!("made from version {expected}, the current is {current}"),
                    )
                    .await?;
                return Err(stale(current));
            }
            Err(IdentityChangeError::Invalid(errors)) => {
                if errors.for_field("national_id").is_some() {
                    self.repo
                        .record_refused_write(&grant, "the national identity number may not change")
                        .await?;
                }
                return Err(AppError::Invalid(errors));
            }
        };
        let mut tx = self.repo.begin_write(&grant).await?;
        match patients::insert_identity_version(&mut tx, &next).await {
            Ok(()) => {}
            Err(StoreError::Conflict(_)) => {
                drop(tx);
                self.repo
                    .record_refused_write(&grant, "another correction was saved first")
                    .await?;
                return Err(stale(next.version));
            }
            Err(other) => return Err(other.into()),
        }
        tx.commit().await?;
        Ok(IdentityChange::Changed(next))
    }

    /// Refuses, and records in the audit log, an enrolment by someone whose role
    /// and organisation cannot enrol (only the LAR unit's doctors and consultants).
    pub async fn require_enrolment(&self, what: &str) -> AppResult<()> {
        if access::may_enrol(self.staff()?).is_allowed() {
            return Ok(());
        }
        self.repo
            .record_denial(
                None,
                DataCategory::Identity,
                Action::Write,
                &format!("{what}: refused, only a LAR unit's doctors and consultants enrol"),
            )
            .await?;
        Err(AppError::Forbidden(
            "Bare lege eller LAR-konsulent ved en LAR-enhet kan innskrive pasienter.".into(),
        ))
    }

    /// A person registered by another system (FHIR Patient create): enrolled at the
    /// caller's own LAR unit through [`Service::enrol`], with the same rules and
    /// audit as the page; a national identity number already registered is not
    /// registered again, and the existing patient is named instead.
    pub async fn register_from_system(&self, input: &EnrolInput) -> AppResult<Registration> {
        self.require_enrolment("patient registered (FHIR)").await?;
        if let Ok(number) = NationalId::parse(&input.patient.national_id)
            && let Some(existing) = self.registered_patient(&number).await?
        {
            return Ok(Registration::AlreadyRegistered(existing));
        }
        match self.enrol(input, None).await {
            Ok(id) => Ok(Registration::Created(id)),
            // Registered by someone else between the look-up and the insert.
            Err(AppError::Conflict(message)) => {
                let number = NationalId::parse(&input.patient.national_id)
                    .map_err(|_| AppError::Conflict(message.clone()))?;
                match self.registered_patient(&number).await? {
                    Some(existing) => Ok(Registration::AlreadyRegistered(existing)),
                    None => Err(AppError::Conflict(message)),
                }
            }
            Err(other) => Err(other),
        }
    }

    /// Whether a national identity number is registered, and to whom: only the id,
    /// for someone who may enrol (the enrolment form tells them the same).
    pub async fn registered_patient(&self, number: &NationalId) -> AppResult<Option<PatientId>> {
        self.require_enrolment("registration looked up").await?;
        let mut conn = self.state.store.read().await?;
        Ok(patients::by_national_id(&mut conn, number).await?.map(|p| p.id))
    }
}
