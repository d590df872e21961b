//! What allowed an access: the relation, consent or rule the audit log records.

/// Why access was allowed: written to the audit log with the access.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum AllowedBy {
    ResponsibleLarUnit,
    DispensingPlace,
    /// The dispensing place, for a category the patient consented to share with it.
    DispensingPlaceConsent,
    CareTeam,
    /// A care team member, for a category the patient consented to share with the
    /// member's organisation.
    CareTeamConsent,
    PatientSelf,
    /// Akuttilgang: no relation, a reason given, time-limited.
    EmergencyAccess,
    /// A leader reviewing an emergency access made by their organisation's staff.
    EmergencyReview,
    /// Registering a new patient: LAR-unit staff may create a record they will be
    /// responsible for.
    Enrolment,
    /// The institution where the patient is admitted, during the stay.
    StayInstitution,
    /// An institution registering an admission (a new relation, like enrolment).
    Admission,
    /// The service prescribing responsibility was handed over to.
    PrescribingHandover,
    /// The unit a message about the patient was sent to, reading that message.
    AddressedMessage,
    /// A look-up in the directory of health personnel and organisations (FHIR
    /// Practitioner, PractitionerRole, Organization): no patient's record.
    Directory,
    /// A message sent by EDI to a service outside Samhand that the patient
    /// consented to share the message's category with.
    EdiConsent,
    /// The assessment decision told to the service that referred the patient (by
    /// EDI when it is outside Samhand): the law has the specialist service answer
    /// the referrer, whose referral is itself the treatment relation; no consent.
    ReferralAnswer,
    /// A referring service in Samhand reading the status of a referral it sent
    /// (received, assessed, started), nothing more of the record.
    Referrer,
    /// The unit's indicators: counts over the unit's patients, no patient named.
    UnitIndicators,
    /// A dose given at the place's edge while it was offline, taken into the
    /// record after the place lost its relation to the patient meanwhile: a dose
    /// given is a fact, stored with the conflict (H93).
    EdgeRecording,
}

impl AllowedBy {
    pub fn code(self) -> &'static str {
        match self {
            Self::ResponsibleLarUnit => "responsible_lar_unit",
            Self::DispensingPlace => "dispensing_place",
            Self::DispensingPlaceConsent => "dispensing_place+consent",
            Self::CareTeam => "care_team",
            Self::CareTeamConsent => "care_team+consent",
            Self::PatientSelf => "patient_self",
            Self::EmergencyAccess => "emergency_access",
            Self::EmergencyReview => "emergency_review",
            Self::Enrolment => "enrolment",
            Self::StayInstitution => "stay_institution",
            Self::Admission => "admission",
            Self::PrescribingHandover => "prescribing_handover",
            Self::AddressedMessage => "addressed_message",
            Self::Directory => "directory",
            Self::EdiConsent => "edi+consent",
            Self::ReferralAnswer => "referral_answer",
            Self::Referrer => "referrer",
            Self::UnitIndicators => "unit_indicators",
            Self::EdgeRecording => "edge_recording",
        }
    }

    pub fn label_nb(self) -> &'static str {
        match self {
            Self::ResponsibleLarUnit => "ansvarlig LAR-enhet",
            Self::DispensingPlace => "utleveringssted",
            Self::DispensingPlaceConsent => "utleveringssted, med samtykke",
            Self::CareTeam => "ansvarsgruppe",
            Self::CareTeamConsent => "ansvarsgruppe, med samtykke",
            Self::PatientSelf => "pasienten selv",
            Self::EmergencyAccess => "AKUTTILGANG",
            Self::EmergencyReview => "kontroll av akuttilgang",
            Self::Enrolment => "registrering",
            Self::StayInstitution => "institusjon under opphold",
            Self::Admission => "innleggelse",
            Self::PrescribingHandover => "overtatt forskrivning",
            Self::AddressedMessage => "melding til enheten",
            Self::Directory => "oppslag i katalogen over helsepersonell og virksomheter",
            Self::EdiConsent => "sendt som EDI-melding, med samtykke",
            Self::ReferralAnswer => "svar til henvisende instans",
            Self::Referrer => "henvisende instans, status for henvisningen",
            Self::UnitIndicators => "enhetens indikatorer (samlede tall, ingen enkeltpasient)",
            Self::EdgeRecording => "utlevering registrert uten forbindelse, tatt inn etterpå",
        }
    }

    pub fn from_code(code: &str) -> Option<Self> {
        [
            Self::ResponsibleLarUnit,
            Self::DispensingPlace,
            Self::DispensingPlaceConsent,
            Self::CareTeam,
            Self::CareTeamConsent,
            Self::PatientSelf,
            Self::EmergencyAccess,
            Self::EmergencyReview,
            Self::Enrolment,
            Self::StayInstitution,
            Self::Admission,
            Self::PrescribingHandover,
            Self::AddressedMessage,
            Self::Directory,
            Self::EdiConsent,
            Self::ReferralAnswer,
            Self::Referrer,
            Self::UnitIndicators,
            Self::EdgeRecording,
        ]
        .into_iter()
        .find(|a| a.code() == code)
    }
}
