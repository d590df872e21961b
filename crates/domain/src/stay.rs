//! Stays (opphold): a patient admitted to an institution, a hospital or a prison,
//! from a start date, with a planned end when one is known. Kept to what another
//! system reports; the transitions that build on a stay (pausing dispensing at
//! home, the discharge bundle) are later work.

use jiff::Timestamp;
use jiff::civil::Date;

use crate::ids::{OrganisationId, PatientId, StayId, UserId};
use crate::validation::FieldErrors;

/// Where the patient stays.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum StayKind {
    Hospital,
    Institution,
    Prison,
}

impl StayKind {
    pub const ALL: [StayKind; 3] = [Self::Hospital, Self::Institution, Self::Prison];

    pub fn code(self) -> &'static str {
        match self {
            Self::Hospital => "hospital",
            Self::Institution => "institution",
            Self::Prison => "prison",
        }
    }

    pub fn from_code(code: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|k| k.code() == code)
    }

    pub fn label_nb(self) -> &'static str {
        match self {
            Self::Hospital => "Sykehusinnleggelse",
            Self::Institution => "Institusjonsopphold",
            Self::Prison => "Fengselsopphold",
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Stay {
    pub id: StayId,
    pub patient_id: PatientId,
    pub kind: StayKind,
    /// The institution's name as reported.
    pub institution: String,
    /// The institution, when it is an organisation Samhand knows.
    pub institution_id: Option<OrganisationId>,
    pub starts_on: Date,
    pub planned_end_on: Option<Date>,
    pub recorded_by: UserId,
    pub recorded_at: Timestamp,
}

impl Stay {
    /// Whether the patient is in the stay on a date (from its start, until its
    /// planned end when there is one).
    pub fn is_ongoing_on(&self, date: Date) -> bool {
        self.starts_on <= date && self.planned_end_on.is_none_or(|end| date <= end)
    }
}

/// A stay as reported, before it is checked.
#[derive(Debug, Clone, Default)]
pub struct StayInput {
    pub kind: String,
    pub institution: String,
    pub institution_id: Option<OrganisationId>,
    pub starts_on: Option<Date>,
    pub planned_end_on: Option<Date>,
}

impl StayInput {
    pub fn parse(
        &self,
        patient_id: PatientId,
        recorded_by: UserId,
        recorded_at: Timestamp,
    ) -> Result<Stay, FieldErrors> {
        let mut errors = FieldErrors::default();
        let kind = StayKind::from_code(self.kind.trim());
        if kind.is_none() {
            errors.push("type", "Velg type opphold: hospital, institution eller prison.");
        }
        if self.institution.trim().is_empty() {
            errors.push("serviceProvider", "Institusjonen mangler.");
        }
        match (self.starts_on, self.planned_end_on) {
            (None, _) => errors.push("period.start", "Startdatoen mangler eller er ugyldig."),
            (Some(start), Some(end)) if end < start => {
                errors.push("period.end", "Planlagt slutt kan ikke være før start.")
            }
            _ => {}
        }
        match (kind, self.starts_on, errors.is_empty()) {
            (Some(kind), Some(starts_on), true) => Ok(Stay {
                id: StayId::new(),
                patient_id,
                kind,
                institution: self.institution.trim().to_string(),
                institution_id: self.institution_id,
                starts_on,
                planned_end_on: self.planned_end_on,
                recorded_by,
                recorded_at,
            }),
            _ => Err(errors),
        }
    }
}

#[cfg(test)]
mod tests {
    use jiff::civil::date;

    use super::*;

    fn input() -> StayInput {
        StayInput {
            kind: "hospital".into(),
            institution: "Fjordvik sykehus".into(),
            institution_id: None,
            starts_on: Some(date(2026, 11, 23)),
            planned_end_on: Some(date(2026, 11, 30)),
        }
    }

    #[test]
    fn a_stay_is_ongoing_from_its_start_to_its_planned_end() {
        let stay = input()
            .parse(PatientId::new(), UserId::new(), Timestamp::UNIX_EPOCH)
            .expect("valid");
        assert!(!stay.is_ongoing_on(date(2026, 11, 22)));
        assert!(stay.is_ongoing_on(date(2026, 11, 30)));
        assert!(!stay.is_ongoing_on(date(2026, 12, 1)));
    }

    #[test]
    fn an_unknown_kind_a_missing_institution_and_an_end_before_the_start_are_refused() {
        let mut bad = input();
        bad.kind = "hotel".into();
        bad.institution = String::new();
        bad.planned_end_on = Some(date(2026, 11, 1));
        let errors = bad
            .parse(PatientId::new(), UserId::new(), Timestamp::UNIX_EPOCH)
            .expect_err("invalid");
        assert_eq!(errors.0.len(), 3, "{errors:?}");
    }
}
