//! The responsibility group's work (DOMAIN.md, "Collaboration"): meetings
//! (ansvarsgruppemøter) with invitations and minutes, tasks with an owner and a due
//! date, and the individual plan (individuell plan) with the patient's own goals per
//! life domain. All append-only: a task's status change and a plan's save are new
//! records; nothing is overwritten. Meetings, tasks and the plan each have a room;
//! the life domains and the text limits they share live here.

use crate::validation::FieldErrors;

const MAX_TEXT: usize = 4000;
const MAX_LINE: usize = 300;

// ------------------------------------------------------------------ life domains

/// The life domains of the individual plan (DOMAIN.md).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum LifeDomain {
    SubstanceUse,
    MentalHealth,
    SomaticHealth,
    DentalHealth,
    Nutrition,
    Housing,
    WorkActivity,
    Economy,
    Network,
    ParticipationRights,
}

impl LifeDomain {
    pub const ALL: [LifeDomain; 10] = [
        Self::SubstanceUse,
        Self::MentalHealth,
        Self::SomaticHealth,
        Self::DentalHealth,
        Self::Nutrition,
        Self::Housing,
        Self::WorkActivity,
        Self::Economy,
        Self::Network,
        Self::ParticipationRights,
    ];

    pub fn code(self) -> &'static str {
        match self {
            Self::SubstanceUse => "substance_use",
            Self::MentalHealth => "mental_health",
            Self::SomaticHealth => "somatic_health",
            Self::DentalHealth => "dental_health",
            Self::Nutrition => "nutrition",
            Self::Housing => "housing",
            Self::WorkActivity => "work_activity",
            Self::Economy => "economy",
            Self::Network => "network",
            Self::ParticipationRights => "participation_rights",
        }
    }

    pub fn from_code(code: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|d| d.code() == code)
    }

    pub fn label_nb(self) -> &'static str {
        match self {
            Self::SubstanceUse => "Rusmestring",
            Self::MentalHealth => "Psykisk helse",
            Self::SomaticHealth => "Somatisk helse",
            Self::DentalHealth => "Tannhelse",
            Self::Nutrition => "Ernæring",
            Self::Housing => "Bolig",
            Self::WorkActivity => "Arbeid og meningsfull aktivitet",
            Self::Economy => "Økonomi",
            Self::Network => "Nettverk og pårørende",
            Self::ParticipationRights => "Medvirkning og rettigheter",
        }
    }
}

/// Splits typed lines (agenda items, decisions) into trimmed, non-empty items.
pub fn lines(text: &str) -> Vec<String> {
    text.lines()
        .map(str::trim)
        .filter(|l| !l.is_empty())
        .map(str::to_string)
        .collect()
}

fn check_items(errors: &mut FieldErrors, field: &'static str, items: &[String], what: &str) -> Vec<String> {
    let items: Vec<String> = items.iter().flat_map(|i| lines(i)).collect();
    if items.iter().any(|i| i.chars().count() > MAX_LINE) {
        errors.push(
            field,
            format!("Hvert punkt i {what} kan være høyst {MAX_LINE} tegn."),
        );
    }
    items
}

mod meetings;
mod plan;
mod tasks;

pub use meetings::*;
pub use plan::*;
pub use tasks::*;

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_life_domain_has_a_code_and_a_norwegian_label() {
        for domain in LifeDomain::ALL {
            assert_eq!(LifeDomain::from_code(domain.code()), Some(domain));
            assert!(!domain.label_nb().is_empty());
        }
    }
}
