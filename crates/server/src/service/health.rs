//! Health information for the window: the notes dispensing staff must know, read
//! and written under the access policy (the category `health_information`, which a
//! dispensing place sees only with the patient's consent).

use std::collections::HashMap;

use samhand_domain::access::{DataCategory, PatientRelations};
use samhand_domain::health::{self, HealthNote, HealthNoteInput};
use samhand_domain::ids::{HealthNoteId, PatientId, UserId};
use samhand_store::health as health_store;

use super::{Service, conflict_from};
use crate::error::{AppError, AppResult};

/// The patient's health notes: those in force, and every version.
#[derive(Debug, Clone)]
pub struct HealthView {
    pub current: Vec<HealthNote>,
    /// Every version, newest first.
    pub history: Vec<HealthNote>,
    pub names: HashMap<UserId, String>,
}

impl Service<'_> {
    pub async fn health_information(&self, patient: PatientId) -> AppResult<HealthView> {
        self.patient(patient).await?;
        self.repo
            .authorize_read(patient, DataCategory::HealthInformation, "health information")
            .await?;
        let history = {
            let mut conn = self.state.store.reader().await?;
            health_store::notes_of(&mut conn, &[patient]).await?
        };
        let current = health::current(&history).into_iter().cloned().collect();
        let names = self.names(history.iter().map(|n| n.recorded_by)).await?;
        let mut history = history;
        history.reverse();
        Ok(HealthView {
            current,
            history,
            names,
        })
    }

    /// The health notes in force of the patients whose health information the actor
    /// may read; the others are left out, unaudited, since nothing is read.
    pub async fn health_notes_where_shared(
        &self,
        patients: &[(PatientId, PatientRelations)],
        detail: &str,
    ) -> AppResult<HashMap<PatientId, Vec<HealthNote>>> {
        let allowed = self
            .repo
            .optional_reads(patients, DataCategory::HealthInformation, detail)
            .await?;
        self.health_notes_of_allowed(&allowed).await
    }

    /// The health notes in force of patients whose read the caller has already
    /// decided and recorded.
    pub(super) async fn health_notes_of_allowed(
        &self,
        allowed: &[PatientId],
    ) -> AppResult<HashMap<PatientId, Vec<HealthNote>>> {
        let mut shared: HashMap<PatientId, Vec<HealthNote>> =
            allowed.iter().map(|p| (*p, Vec::new())).collect();
        if allowed.is_empty() {
            return Ok(shared);
        }
        let history = {
            let mut conn = self.state.store.reader().await?;
            health_store::notes_of(&mut conn, allowed).await?
        };
        for note in health::current(&history) {
            shared.entry(note.patient_id).or_default().push(note.clone());
        }
        Ok(shared)
    }

    /// Records a new note, or a new version that corrects or resolves one.
    pub async fn record_health_note(
        &self,
        patient: PatientId,
        input: &HealthNoteInput,
    ) -> AppResult<HealthNote> {
        self.patient(patient).await?;
        let grant = self
            .repo
            .authorize_write(
                patient,
                DataCategory::HealthInformation,
                "health information recorded",
            )
            .await?;
        let history = {
            let mut conn = self.state.store.reader().await?;
            health_store::notes_of(&mut conn, &[patient]).await?
        };
        let content = input.parse(&history).map_err(AppError::Invalid)?;
        let note = HealthNote {
            id: HealthNoteId::new(),
            patient_id: patient,
            kind: content.kind,
            text: content.text,
            active: content.active,
            replaces: input.replaces,
            reason: input.reason.trim().to_string(),
            recorded_by: self.actor().id(),
            recorded_at: self.now(),
        };
        let mut tx = self.repo.begin_write(&grant).await?;
        health_store::insert(&mut tx, &note).await.map_err(|e| {
            conflict_from(
                e,
                "Opplysningen er allerede rettet av noen andre. Last siden på nytt.",
            )
        })?;
        tx.commit().await?;
        Ok(note)
    }
}
