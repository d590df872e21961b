//! The access policy: one decision for every read and write of patient data.
//! (user, role, organisation, relation to the patient, category, action) → allow with
//! the reason, or deny. Deny by default.

use crate::ids::OrganisationId;
use crate::organisation::{OrganisationKind, Role, StaffUser};

/// What part of the record is touched.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum DataCategory {
    Identity,
    Medication,
    Dispensing,
    DrugTests,
    PlanAndGoals,
    HealthInformation,
    NavInformation,
    Notes,
}

impl DataCategory {
    pub fn code(self) -> &'static str {
        match self {
            Self::Identity => "identity",
            Self::Medication => "medication",
            Self::Dispensing => "dispensing",
            Self::DrugTests => "drug_tests",
            Self::PlanAndGoals => "plan_and_goals",
            Self::HealthInformation => "health_information",
            Self::NavInformation => "nav_information",
            Self::Notes => "notes",
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Action {
    Read,
    Write,
}

impl Action {
    pub fn code(self) -> &'static str {
        match self {
            Self::Read => "read",
            Self::Write => "write",
        }
    }
}

/// How the patient is related to organisations, as the store finds it.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct PatientRelations {
    /// Responsible LAR units of the patient's episodes (current and earlier).
    pub responsible_units: Vec<OrganisationId>,
    /// Dispensing places of the current arrangement, and of covers in the coming days.
    pub dispensing_places: Vec<OrganisationId>,
}

/// The relations as they follow from the patient's episodes, arrangements and
/// covers: every responsible unit, the place of the arrangement in effect today or
/// decided for later, and places covering days from today.
pub fn relations_from(
    episodes: &[crate::patient::Episode],
    arrangements: &[crate::arrangement::Arrangement],
    covers: &[crate::schedule::Cover],
    today: jiff::civil::Date,
) -> PatientRelations {
    let mut responsible_units: Vec<OrganisationId> = episodes.iter().map(|e| e.responsible_unit).collect();
    responsible_units.sort();
    responsible_units.dedup();
    // A dispensing place's relation lasts while treatment does: once every episode
    // has ended, the places the patient used to collect at see nothing more.
    let in_treatment = episodes
        .iter()
        .any(|e| e.ended.as_ref().is_none_or(|end| end.on > today));
    if !in_treatment {
        return PatientRelations {
            responsible_units,
            dispensing_places: Vec::new(),
        };
    }
    let mut dispensing_places: Vec<OrganisationId> = arrangements
        .iter()
        .filter(|a| a.content.valid_from > today)
        .map(|a| a.content.place_id)
        .chain(crate::arrangement::effective_arrangement(arrangements, today).map(|a| a.content.place_id))
        .chain(
            covers
                .iter()
                .filter(|c| c.date >= today)
                .filter_map(|c| match c.kind {
                    crate::schedule::CoverKind::AtPlace(place) => Some(place),
                    crate::schedule::CoverKind::TakeHomeFrom(_) => None,
                }),
        )
        .collect();
    dispensing_places.sort();
    dispensing_places.dedup();
    PatientRelations {
        responsible_units,
        dispensing_places,
    }
}

/// Why access was allowed: written to the audit log with the access.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum AllowedBy {
    ResponsibleLarUnit,
    DispensingPlace,
    /// Registering a new patient: LAR-unit staff may create a record they will be
    /// responsible for.
    Enrolment,
}

impl AllowedBy {
    pub fn code(self) -> &'static str {
        match self {
            Self::ResponsibleLarUnit => "responsible_lar_unit",
            Self::DispensingPlace => "dispensing_place",
            Self::Enrolment => "enrolment",
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Decision {
    Allow(AllowedBy),
    Deny,
}

impl Decision {
    pub fn is_allowed(self) -> bool {
        matches!(self, Self::Allow(_))
    }
}

/// Roles that do clinical work with patients at a LAR unit.
fn is_clinical_at_lar_unit(role: Role) -> bool {
    matches!(
        role,
        Role::Prescriber | Role::LarConsultant | Role::Coordinator | Role::Leader
    )
}

/// The decision for one access.
pub fn decide(
    actor: &StaffUser,
    relations: &PatientRelations,
    category: DataCategory,
    action: Action,
) -> Decision {
    use DataCategory::*;
    if actor.role == Role::Administrator {
        // Administrators run the system; they do not treat patients.
        return Decision::Deny;
    }
    if actor.organisation_kind == OrganisationKind::HealthTrustLarUnit
        && relations.responsible_units.contains(&actor.organisation_id)
        && is_clinical_at_lar_unit(actor.role)
    {
        let allowed = match action {
            Action::Read => true,
            // Only prescribers write medication; leaders oversee but do not chart.
            Action::Write => match category {
                Medication => actor.role == Role::Prescriber,
                _ => actor.role != Role::Leader,
            },
        };
        return if allowed {
            Decision::Allow(AllowedBy::ResponsibleLarUnit)
        } else {
            Decision::Deny
        };
    }
    if actor.organisation_kind.can_dispense()
        && relations.dispensing_places.contains(&actor.organisation_id)
        && matches!(
            actor.role,
            Role::DispensingStaff | Role::Leader | Role::Coordinator
        )
    {
        let allowed = match (category, action) {
            (Identity | Medication, Action::Read) => true,
            (Dispensing, Action::Read) => true,
            (Dispensing, Action::Write) => actor.role == Role::DispensingStaff,
            _ => false,
        };
        return if allowed {
            Decision::Allow(AllowedBy::DispensingPlace)
        } else {
            Decision::Deny
        };
    }
    Decision::Deny
}

/// Whether the actor may register a new patient and enrol them at their own unit.
pub fn may_enrol(actor: &StaffUser) -> Decision {
    if actor.organisation_kind == OrganisationKind::HealthTrustLarUnit
        && matches!(actor.role, Role::Prescriber | Role::LarConsultant)
    {
        Decision::Allow(AllowedBy::Enrolment)
    } else {
        Decision::Deny
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::ids::UserId;
    use proptest::prelude::*;

    fn staff(role: Role, kind: OrganisationKind, org: OrganisationId) -> StaffUser {
        StaffUser {
            id: UserId::new(),
            username: "x".into(),
            display_name: "X".into(),
            role,
            organisation_id: org,
            organisation_kind: kind,
        }
    }

    #[test]
    fn access_follows_the_care_relation() {
        let unit = OrganisationId::new();
        let place = OrganisationId::new();
        let other = OrganisationId::new();
        let relations = PatientRelations {
            responsible_units: vec![unit],
            dispensing_places: vec![place],
        };
        use Action::*;
        use DataCategory::*;
        use OrganisationKind::*;
        let cases = [
            (
                staff(Role::Prescriber, HealthTrustLarUnit, unit),
                Medication,
                Write,
                true,
            ),
            (
                staff(Role::LarConsultant, HealthTrustLarUnit, unit),
                Medication,
                Write,
                false,
            ),
            (
                staff(Role::LarConsultant, HealthTrustLarUnit, unit),
                Notes,
                Read,
                true,
            ),
            (
                staff(Role::Leader, HealthTrustLarUnit, unit),
                Medication,
                Read,
                true,
            ),
            (
                staff(Role::Administrator, HealthTrustLarUnit, unit),
                Identity,
                Read,
                false,
            ),
            (
                staff(Role::Prescriber, HealthTrustLarUnit, other),
                Medication,
                Read,
                false,
            ),
            (
                staff(Role::DispensingStaff, MunicipalLarCentre, place),
                Dispensing,
                Write,
                true,
            ),
            (
                staff(Role::DispensingStaff, MunicipalLarCentre, place),
                Medication,
                Read,
                true,
            ),
            (
                staff(Role::DispensingStaff, MunicipalLarCentre, place),
                Medication,
                Write,
                false,
            ),
            (
                staff(Role::DispensingStaff, MunicipalLarCentre, place),
                HealthInformation,
                Read,
                false,
            ),
            (
                staff(Role::DispensingStaff, MunicipalLarCentre, other),
                Identity,
                Read,
                false,
            ),
            (
                staff(Role::DispensingStaff, NavOffice, place),
                Identity,
                Read,
                false,
            ),
        ];
        for (actor, category, action, allowed) in cases {
            assert_eq!(
                decide(&actor, &relations, category, action).is_allowed(),
                allowed,
                "{:?} {:?} {category:?} {action:?}",
                actor.role,
                actor.organisation_kind
            );
        }
    }

    proptest! {
        /// Without a relation, nobody gets anything.
        #[test]
        fn no_relation_means_no_access(role in 0usize..6, kind in 0usize..8, category in 0usize..8, write in any::<bool>()) {
            let categories = [DataCategory::Identity, DataCategory::Medication, DataCategory::Dispensing,
                DataCategory::DrugTests, DataCategory::PlanAndGoals, DataCategory::HealthInformation,
                DataCategory::NavInformation, DataCategory::Notes];
            let actor = staff(Role::ALL[role], OrganisationKind::ALL[kind], OrganisationId::new());
            let relations = PatientRelations {
                responsible_units: vec![OrganisationId::new()],
                dispensing_places: vec![OrganisationId::new()],
            };
            let action = if write { Action::Write } else { Action::Read };
            prop_assert_eq!(decide(&actor, &relations, categories[category], action), Decision::Deny);
        }
    }
}
