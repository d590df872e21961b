//! Moving a patient to another dispensing place: one action that ends the old
//! arrangement and starts the new one on a date. The schedule decides each day by
//! the arrangement in effect that day, and a take-home day whose hand-over would fall
//! before the move is taken at the new place, so no day is dispensed twice or by
//! nobody; the dispensed-once constraint stands behind it. The new place becomes a
//! relation the moment the move is decided, and what the patient shared with the old
//! place is shared with the new one where the patient agrees.

use jiff::Span;
use jiff::civil::Date;
use samhand_domain::access::DataCategory;
use samhand_domain::arrangement::{
    Arrangement, ArrangementContent, ArrangementInput, DayPlan, effective_arrangement,
};
use samhand_domain::ids::{OrganisationId, PatientId};
use samhand_domain::organisation::Organisation;
use samhand_domain::privacy::consents_in_force;
use samhand_domain::validation::{FieldErrors, parse_date};

use super::privacy::ConsentInput;
use super::{PatientData, Service};
use crate::error::{AppError, AppResult};

/// A move as asked for.
#[derive(Debug, Clone, Default)]
pub struct MoveInput {
    pub place_id: String,
    pub from: String,
    pub reason: String,
    /// Share with the new place what the patient shared with the old one.
    pub carry_consents: bool,
}

/// What a move did.
#[derive(Debug, Clone)]
pub struct Moved {
    pub arrangement: Arrangement,
    pub from_place: OrganisationId,
    /// Categories now shared with the new place, carried from the old one.
    pub carried: Vec<DataCategory>,
}

impl Service<'_> {
    pub async fn move_patient(&self, patient: PatientId, input: &MoveInput) -> AppResult<Moved> {
        self.patient(patient).await?;
        let today = self.today();
        let data = self.patient_data(patient).await?;
        let mut errors = FieldErrors::default();
        let from = parse_date(&input.from);
        match from {
            None => errors.push(
                "from",
                "Skriv inn datoen pasienten skal hente på det nye stedet (dd.mm.åååå).",
            ),
            Some(day) if day < today => errors.push("from", "Flyttingen kan ikke starte i fortiden."),
            Some(_) => {}
        }
        let place = input.place_id.trim().parse::<OrganisationId>().ok();
        let places = self.dispensing_places().await?;
        let new_place = place.and_then(|id| places.iter().find(|p| p.id == id));
        if new_place.is_none() {
            errors.push("place_id", "Velg det nye utleveringsstedet.");
        }
        if input.reason.trim().is_empty() {
            errors.push("reason", "Skriv hvorfor pasienten flytter.");
        }
        // The arrangement the move replaces: the one in effect on the day before the
        // move (or today, for a move from today).
        let current = from
            .and_then(|day| {
                effective_arrangement(&data.arrangements, day.checked_sub(Span::new().days(1)).ok()?)
            })
            .or_else(|| effective_arrangement(&data.arrangements, today))
            .cloned();
        let Some(current) = current else {
            return Err(AppError::Conflict(
                "Pasienten har ingen utleveringsordning å flytte fra.".into(),
            ));
        };
        if let Some(p) = new_place
            && p.id == current.content.place_id
        {
            errors.push("place_id", "Pasienten henter allerede der.");
        }
        let (Some(from), Some(new_place)) = (from, new_place) else {
            return Err(AppError::Invalid(errors));
        };
        if !errors.is_empty() {
            return Err(AppError::Invalid(errors));
        }
        let old = &current.content;
        let arrangement_input = self
            .arrangement_at_new_place(old, new_place, from, input.reason.trim())
            .await?;
        let arrangement = self.set_arrangement(patient, &arrangement_input).await?;
        let carried = if input.carry_consents {
            self.carry_consents(patient, &data, old.place_id, new_place.id)
                .await?
        } else {
            Vec::new()
        };
        Ok(Moved {
            arrangement,
            from_place: old.place_id,
            carried,
        })
    }

    /// The new place's arrangement: the old one's week, window and review day from
    /// the day of the move.
    async fn arrangement_at_new_place(
        &self,
        old: &ArrangementContent,
        new_place: &Organisation,
        from: Date,
        reason: &str,
    ) -> AppResult<ArrangementInput> {
        // The group belongs to the old place; its window goes with the patient as their own.
        let groups = self.groups().await?;
        let window = old.window.or_else(|| {
            old.group_id
                .and_then(|g| groups.iter().find(|x| x.id == g))
                .map(|g| g.window)
        });
        let review_on = if old.review_on > from {
            old.review_on
        } else {
            from.checked_add(Span::new().months(1)).unwrap_or(from)
        };
        Ok(ArrangementInput {
            place_id: new_place.id.to_string(),
            days: old.week.days().map(|d| match d {
                DayPlan::Attend => "attend".to_string(),
                DayPlan::TakeHome => "take_home".to_string(),
            }),
            valid_from: from.to_string(),
            review_on: review_on.to_string(),
            group_id: String::new(),
            window_start: window
                .map(|w| w.start.strftime("%H:%M").to_string())
                .unwrap_or_default(),
            window_end: window
                .map(|w| w.end.strftime("%H:%M").to_string())
                .unwrap_or_default(),
            reason: format!("Flytting til {}: {}", new_place.name, reason),
        })
    }

    /// Shares with the new place what the patient shared with the old one, consent by
    /// consent, and says which categories were carried.
    async fn carry_consents(
        &self,
        patient: PatientId,
        data: &PatientData,
        old_place: OrganisationId,
        new_place: OrganisationId,
    ) -> AppResult<Vec<DataCategory>> {
        let mut carried = Vec::new();
        let shared = consents_in_force(&data.privacy.consents);
        for (_, category) in shared.iter().filter(|(org, _)| *org == old_place) {
            self.record_consent(
                patient,
                &ConsentInput {
                    organisation: new_place.to_string(),
                    category: category.code().to_string(),
                    decision: "give".into(),
                    note: "Overført ved flytting av utleveringssted, etter pasientens ønske".into(),
                },
            )
            .await?;
            carried.push(*category);
        }
        Ok(carried)
    }
}
