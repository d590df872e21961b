//! Dispensing arrangements, covers for single days, and the arrangement reviews
//! that are overdue.

use std::collections::{HashMap, HashSet};

use samhand_domain::access::{DataCategory, PatientRelations};
use samhand_domain::arrangement::{Arrangement, ArrangementContent, ArrangementInput, effective_arrangement};
use samhand_domain::ids::{ArrangementId, CoverId, OrganisationId, PatientId};
use samhand_domain::patient::Patient;
use samhand_domain::schedule::Cover;
use samhand_store::{orders as order_store, patients};

use crate::error::{AppError, AppResult};

use super::{Service, conflict_from};

#[derive(Debug, Clone)]
pub struct OverdueReview {
    pub patient: Patient,
    pub arrangement: Arrangement,
    pub place_name: String,
}

impl Service<'_> {
    pub async fn set_arrangement(
        &self,
        patient: PatientId,
        input: &ArrangementInput,
    ) -> AppResult<Arrangement> {
        self.patient(patient).await?;
        let grant = self
            .repo
            .authorize_write(
                patient,
                DataCategory::Medication,
                "dispensing arrangement decided",
            )
            .await?;
        self.active_episode(patient).await?;
        let places: Vec<OrganisationId> = self.dispensing_places().await?.iter().map(|o| o.id).collect();
        let groups = self.groups().await?;
        let content = ArrangementContent::parse(input, &places, &groups).map_err(AppError::Invalid)?;
        let previous_places = self.repo.relations(patient).await?.dispensing_places;
        let mut tx = self.repo.begin_write(&grant).await?;
        let version = order_store::next_arrangement_version(&mut tx, patient).await?;
        let arrangement = Arrangement {
            id: ArrangementId::new(),
            patient_id: patient,
            version,
            content,
            decided_by: self.actor().id(),
            decided_at: self.now(),
        };
        order_store::insert_arrangement(&mut tx, &arrangement)
            .await
            .map_err(|e| {
                conflict_from(
                    e,
                    "Ordningen ble endret samtidig av noen andre. Last siden på nytt.",
                )
            })?;
        let place_name = self
            .organisations()
            .await?
            .get(&arrangement.content.place_id)
            .map(|o| o.name.clone())
            .unwrap_or_default();
        let mut recipients = previous_places;
        recipients.push(arrangement.content.place_id);
        self.send_automatic(
            &mut tx,
            patient,
            samhand_domain::message::MessageKind::ArrangementChange,
            format!(
                "Ny utleveringsordning fra {} ved {place_name}",
                samhand_domain::format::date_nb(arrangement.content.valid_from)
            ),
            format!(
                "Versjon {}. Begrunnelse: {}",
                arrangement.version, arrangement.content.reason
            ),
            recipients,
        )
        .await?;
        tx.commit().await?;
        Ok(arrangement)
    }

    /// Covers one day: take-home from an earlier day, or another place.
    pub async fn add_cover(
        &self,
        patient: PatientId,
        date: &str,
        from: &str,
        place: &str,
    ) -> AppResult<Cover> {
        self.patient(patient).await?;
        let grant = self
            .repo
            .authorize_write(patient, DataCategory::Medication, "holiday cover decided")
            .await?;
        self.active_episode(patient).await?;
        let places: Vec<samhand_domain::ids::OrganisationId> =
            self.dispensing_places().await?.iter().map(|p| p.id).collect();
        let input = samhand_domain::schedule::CoverInput {
            date,
            take_home_from: from,
            place,
        };
        let (date, kind) = samhand_domain::schedule::parse_cover(&input, &places, self.today())
            .map_err(AppError::Invalid)?;
        let cover = Cover {
            id: CoverId::new(),
            patient_id: patient,
            date,
            kind,
            decided_by: self.actor().id(),
            decided_at: self.now(),
        };
        let mut tx = self.repo.begin_write(&grant).await?;
        order_store::insert_cover(&mut tx, &cover).await?;
        tx.commit().await?;
        Ok(cover)
    }

    /// Arrangements in effect today whose review date has passed, for the actor's unit
    /// or place.
    pub async fn overdue_reviews(&self) -> AppResult<Vec<OverdueReview>> {
        let today = self.today();
        let all = {
            let mut conn = self.state.store.read().await?;
            order_store::all_arrangements(&mut conn).await?
        };
        let mut by_patient: HashMap<PatientId, Vec<Arrangement>> = HashMap::new();
        for a in all {
            by_patient.entry(a.patient_id).or_default().push(a);
        }
        let overdue: Vec<Arrangement> = by_patient
            .values()
            .filter_map(|versions| effective_arrangement(versions, today))
            .filter(|a| a.review_overdue(today))
            .cloned()
            .collect();
        let ids: Vec<PatientId> = overdue.iter().map(|a| a.patient_id).collect();
        let data = self.load_data(&ids).await?;
        let own = self.staff()?.organisation_id;
        let related: Vec<(PatientId, PatientRelations)> = ids
            .iter()
            .filter_map(|id| {
                let data = data.get(id)?;
                // Only running episodes need a review.
                data.episode_on(today).filter(|e| e.is_active_on(today))?;
                let relations = data.relations(*id, self.now());
                let mine =
                    relations.responsible_units.contains(&own) || relations.dispensing_places.contains(&own);
                mine.then_some((*id, relations))
            })
            .collect();
        let allowed: HashSet<PatientId> = self
            .repo
            .authorize_reads(&related, DataCategory::Medication, "overdue arrangement reviews")
            .await?
            .into_iter()
            .collect();
        let organisations = self.organisations().await?;
        let allowed_ids: Vec<PatientId> = allowed.iter().copied().collect();
        let people = {
            let mut conn = self.state.store.read().await?;
            patients::patients_of(&mut conn, &allowed_ids).await?
        };
        let people: HashMap<PatientId, Patient> = people.into_iter().map(|p| (p.id, p)).collect();
        let mut reviews: Vec<OverdueReview> = overdue
            .into_iter()
            .filter_map(|a| {
                let patient = people.get(&a.patient_id)?.clone();
                let place_name = organisations
                    .get(&a.content.place_id)
                    .map(|o| o.name.clone())
                    .unwrap_or_default();
                Some(OverdueReview {
                    patient,
                    arrangement: a,
                    place_name,
                })
            })
            .collect();
        reviews.sort_by_key(|r| r.arrangement.content.review_on);
        Ok(reviews)
    }
}
