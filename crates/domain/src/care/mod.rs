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

crate::coded! {
    /// The life domains of the individual plan (DOMAIN.md).
    #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
    pub enum LifeDomain {
        SubstanceUse = "substance_use",
        MentalHealth = "mental_health",
        SomaticHealth = "somatic_health",
        DentalHealth = "dental_health",
        Nutrition = "nutrition",
        Housing = "housing",
        WorkActivity = "work_activity",
        Economy = "economy",
        Network = "network",
        ParticipationRights = "participation_rights",
    }
}

impl LifeDomain {
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
