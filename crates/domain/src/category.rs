//! The categories of a patient's record: what the access policy decides over, what
//! a patient consents to share, and what a message or record belongs to. Its own
//! module so that `access` (the decision) and `privacy` (the consents) both build on
//! it without depending on each other.

crate::coded! {
    /// What part of the record is touched.
    #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
    pub enum DataCategory {
        Identity = "identity",
        Medication = "medication",
        Dispensing = "dispensing",
        DrugTests = "drug_tests",
        PlanAndGoals = "plan_and_goals",
        HealthInformation = "health_information",
        NavInformation = "nav_information",
        Notes = "notes",
        /// Who may see what: the patient's consents, care team seats and access log.
        Privacy = "privacy",
    }
}

impl DataCategory {
    /// The categories a patient can consent to share with an organisation. Identity
    /// comes with any relation; privacy is the patient's own.
    pub const CONSENTABLE: [DataCategory; 7] = [
        Self::Medication,
        Self::Dispensing,
        Self::DrugTests,
        Self::PlanAndGoals,
        Self::HealthInformation,
        Self::NavInformation,
        Self::Notes,
    ];

    pub fn label_nb(self) -> &'static str {
        match self {
            Self::Identity => "Identitet",
            Self::Medication => "Legemiddel og dose",
            Self::Dispensing => "Utlevering",
            Self::DrugTests => "Rusmiddeltester",
            Self::PlanAndGoals => "Plan og mål",
            Self::HealthInformation => "Helseopplysninger",
            Self::NavInformation => "NAV-opplysninger",
            Self::Notes => "Notater",
            Self::Privacy => "Samtykker og innsynslogg",
        }
    }

    pub fn is_consentable(self) -> bool {
        Self::CONSENTABLE.contains(&self)
    }
}
