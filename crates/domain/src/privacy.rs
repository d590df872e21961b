//! The records the privacy spine keeps besides the clinical ones: consents, the care
//! team (ansvarsgruppe) seats that give access, emergency accesses (akuttilgang), and
//! the patient as a user of their own record. All are append-only: a withdrawn
//! consent is a new record, an ended membership or a review is a record of its own.

use jiff::Timestamp;

use crate::category::DataCategory;
use crate::ids::{CareTeamMemberId, ConsentId, EmergencyAccessId, OrganisationId, PatientId, UserId};

/// A patient acting for themself (through the API now, the portal later).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PatientUser {
    /// The patient's account; distinct from the patient's id.
    pub id: UserId,
    pub patient_id: PatientId,
    pub display_name: String,
}

/// One consent decision: given or withdrawn, for one recipient organisation and one
/// category. The latest decision per (organisation, category) is in force.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ConsentRecord {
    pub id: ConsentId,
    pub patient_id: PatientId,
    pub organisation_id: OrganisationId,
    pub category: DataCategory,
    pub given: bool,
    pub recorded_at: Timestamp,
    pub recorded_by: UserId,
    /// Whether the patient recorded it themself (otherwise staff on their behalf).
    pub by_patient: bool,
    pub note: String,
}

/// The consents in force: for each (organisation, category) the latest decision,
/// kept if it gave consent. `history` may be in any order.
pub fn consents_in_force(history: &[ConsentRecord]) -> Vec<(OrganisationId, DataCategory)> {
    let mut latest: std::collections::HashMap<(OrganisationId, DataCategory), &ConsentRecord> =
        std::collections::HashMap::new();
    for record in history {
        let key = (record.organisation_id, record.category);
        let newer = latest
            .get(&key)
            .is_none_or(|held| (record.recorded_at, record.id) > (held.recorded_at, held.id));
        if newer {
            latest.insert(key, record);
        }
    }
    let mut given: Vec<_> = latest
        .into_iter()
        .filter(|(_, record)| record.given)
        .map(|(key, _)| key)
        .collect();
    given.sort_by_key(|(org, category)| (*org, category.code()));
    given
}

crate::coded! {
    /// What a member does in the care team.
    #[derive(Debug, Clone, Copy, PartialEq, Eq)]
    pub enum TeamRole {
        Coordinator = "coordinator",
        Member = "member",
    }
}

impl TeamRole {
    pub fn label_nb(self) -> &'static str {
        match self {
            Self::Coordinator => "Koordinator",
            Self::Member => "Medlem",
        }
    }
}

/// A staff member's seat in a patient's care team.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CareTeamMember {
    pub id: CareTeamMemberId,
    pub patient_id: PatientId,
    pub user_id: UserId,
    /// The organisation the member sits for; consents to it decide what they see.
    pub organisation_id: OrganisationId,
    pub role: TeamRole,
    pub added_at: Timestamp,
    pub added_by: UserId,
    pub ended: Option<MembershipEnd>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MembershipEnd {
    pub at: Timestamp,
    pub by: UserId,
    pub reason: String,
}

impl CareTeamMember {
    pub fn is_active_at(&self, at: Timestamp) -> bool {
        self.added_at <= at && self.ended.as_ref().is_none_or(|end| at < end.at)
    }
}

crate::coded! {
    /// How a person without a login is related to the patient.
    #[derive(Debug, Clone, Copy, PartialEq, Eq)]
    pub enum PersonRelation {
        /// Pårørende: family or someone close.
        NextOfKin = "next_of_kin",
        /// Likeperson: a peer with own experience.
        Peer = "peer",
        Other = "other",
    }
}

impl PersonRelation {
    pub fn label_nb(self) -> &'static str {
        match self {
            Self::NextOfKin => "Pårørende",
            Self::Peer => "Likeperson",
            Self::Other => "Annen",
        }
    }
}

/// A person the patient names: next of kin, a peer. They have no login and see
/// nothing in Samhand; what they may be told is the patient's own words.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NamedPerson {
    pub id: crate::ids::NamedPersonId,
    pub patient_id: PatientId,
    pub name: String,
    pub relation: PersonRelation,
    pub phone: String,
    /// What they may be told, in the patient's words.
    pub may_be_told: String,
    /// Whether the patient wants them in the responsibility group.
    pub in_care_team: bool,
    pub added_at: Timestamp,
    pub added_by: UserId,
    pub ended: Option<MembershipEnd>,
}

/// A named person as typed.
#[derive(Debug, Clone, Default)]
pub struct NamedPersonInput {
    pub name: String,
    pub relation: String,
    pub phone: String,
    pub may_be_told: String,
    pub in_care_team: bool,
}

impl NamedPersonInput {
    pub fn parse(&self) -> Result<(String, PersonRelation, String, String), crate::validation::FieldErrors> {
        let mut errors = crate::validation::FieldErrors::default();
        let name = self.name.trim().to_string();
        if name.is_empty() {
            errors.push("name", "Skriv navnet.");
        } else if name.chars().count() > 200 {
            errors.push("name", "Navnet kan være høyst 200 tegn.");
        }
        let relation = PersonRelation::from_code(self.relation.trim());
        if relation.is_none() {
            errors.push("relation", "Velg hvem personen er for pasienten.");
        }
        let phone = self.phone.trim().to_string();
        if !phone.is_empty() && !phone.chars().all(|c| c.is_ascii_digit() || c == ' ' || c == '+') {
            errors.push("phone", "Telefonnummeret kan bare ha sifre, mellomrom og +.");
        }
        let may_be_told = self.may_be_told.trim().to_string();
        if may_be_told.chars().count() > 2000 {
            errors.push("may_be_told", "Teksten kan være høyst 2000 tegn.");
        }
        match relation {
            Some(relation) if errors.is_empty() => Ok((name, relation, phone, may_be_told)),
            _ => Err(errors),
        }
    }
}

/// An emergency access: a user without a relation opened the record, giving a reason.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct EmergencyAccess {
    pub id: EmergencyAccessId,
    pub patient_id: PatientId,
    pub user_id: UserId,
    pub organisation_id: OrganisationId,
    pub reason: String,
    pub started_at: Timestamp,
    pub expires_at: Timestamp,
    pub review: Option<EmergencyReview>,
}

/// A leader's review of an emergency access.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct EmergencyReview {
    pub reviewed_by: UserId,
    pub reviewed_at: Timestamp,
    pub note: String,
}

impl EmergencyAccess {
    pub fn is_active_at(&self, at: Timestamp) -> bool {
        self.started_at <= at && at < self.expires_at
    }
}

/// The shortest reason accepted for an emergency access: a word or two is not a
/// reason a leader can review.
pub const MIN_EMERGENCY_REASON_CHARS: usize = 10;

/// Everything about a patient's privacy that the access decision needs, as loaded
/// from the store.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct PrivacyFacts {
    pub care_team: Vec<CareTeamMember>,
    /// Next of kin and others the patient named; they give no access.
    pub people: Vec<NamedPerson>,
    pub consents: Vec<ConsentRecord>,
    pub emergency: Vec<EmergencyAccess>,
    /// Stays at institutions: an institution has a relation while the patient is
    /// there (and pausing the home schedule reads them).
    pub stays: Vec<crate::stay::StayRecord>,
    /// Prescribing hand-overs: the receiving service's prescribers have a relation.
    pub handovers: Vec<crate::stay::Handover>,
}

#[cfg(test)]
mod tests {
    use super::*;

    fn record(org: OrganisationId, category: DataCategory, given: bool, micros: i64) -> ConsentRecord {
        ConsentRecord {
            id: ConsentId::new(),
            patient_id: PatientId::new(),
            organisation_id: org,
            category,
            given,
            recorded_at: Timestamp::from_microsecond(micros).unwrap(),
            recorded_by: UserId::new(),
            by_patient: false,
            note: String::new(),
        }
    }

    #[test]
    fn the_latest_decision_per_organisation_and_category_is_in_force() {
        let gp = OrganisationId::new();
        let nav = OrganisationId::new();
        let history = vec![
            record(gp, DataCategory::Medication, true, 1),
            record(gp, DataCategory::Medication, false, 3),
            record(gp, DataCategory::DrugTests, true, 2),
            record(nav, DataCategory::NavInformation, false, 1),
            record(nav, DataCategory::NavInformation, true, 5),
        ];
        // Shuffled order does not matter.
        let mut reversed = history.clone();
        reversed.reverse();
        for h in [history, reversed] {
            let mut in_force = consents_in_force(&h);
            in_force.sort();
            let mut expected = vec![(gp, DataCategory::DrugTests), (nav, DataCategory::NavInformation)];
            expected.sort();
            assert_eq!(in_force, expected);
        }
    }
}
