//! Patients and their LAR episodes.

use jiff::Timestamp;
use jiff::civil::Date;

use crate::ids::{EpisodeId, OrganisationId, PatientId, UserId};
use crate::national_id::NationalId;
use crate::validation::FieldErrors;

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Patient {
    pub id: PatientId,
    pub national_id: NationalId,
    pub given_name: String,
    pub family_name: String,
    pub phone: String,
    pub address: String,
    pub has_photo: bool,
}

impl Patient {
    pub fn full_name(&self) -> String {
        format!("{} {}", self.given_name, self.family_name)
    }
}

/// The new patient's details as typed.
#[derive(Debug, Clone, Default)]
pub struct PatientInput {
    pub national_id: String,
    pub given_name: String,
    pub family_name: String,
    pub phone: String,
    pub address: String,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NewPatient {
    pub national_id: NationalId,
    pub given_name: String,
    pub family_name: String,
    pub phone: String,
    pub address: String,
}

impl NewPatient {
    pub fn parse(input: &PatientInput, errors: &mut FieldErrors) -> Option<Self> {
        let national_id = match NationalId::parse(&input.national_id) {
            Ok(id) => Some(id),
            Err(e) => {
                errors.push("national_id", national_id_message(e));
                None
            }
        };
        let given_name =
            crate::validation::required_text(errors, "given_name", &input.given_name, "Skriv inn fornavn.");
        let family_name = crate::validation::required_text(
            errors,
            "family_name",
            &input.family_name,
            "Skriv inn etternavn.",
        );
        let phone = input.phone.trim().to_string();
        if !phone.is_empty() && !phone.chars().all(|c| c.is_ascii_digit() || c == ' ' || c == '+') {
            errors.push(
                "phone",
                "Telefonnummeret kan bare inneholde sifre, mellomrom og +.",
            );
        }
        Some(Self {
            national_id: national_id?,
            given_name,
            family_name,
            phone,
            address: input.address.trim().to_string(),
        })
    }
}

/// Why a fødselsnummer or D-nummer was refused, in words for the person who typed it.
pub fn national_id_message(error: crate::national_id::NationalIdError) -> &'static str {
    use crate::national_id::NationalIdError::*;
    match error {
        WrongLength => "Fødselsnummer og D-nummer har 11 sifre.",
        NotDigits => "Fødselsnummeret kan bare inneholde sifre.",
        InvalidDate => "De seks første sifrene er ikke en gyldig fødselsdato.",
        CheckDigits => "Kontrollsifrene stemmer ikke. Sjekk at nummeret er skrevet riktig.",
    }
}

/// The phases of a LAR episode (DOMAIN.md, after Lossius 2011).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Phase {
    Referral,
    Planning,
    Start,
    Stabilisation,
    Continuation,
    Ending,
}

impl Phase {
    pub const ALL: [Phase; 6] = [
        Self::Referral,
        Self::Planning,
        Self::Start,
        Self::Stabilisation,
        Self::Continuation,
        Self::Ending,
    ];

    pub fn code(self) -> &'static str {
        match self {
            Self::Referral => "referral",
            Self::Planning => "planning",
            Self::Start => "start",
            Self::Stabilisation => "stabilisation",
            Self::Continuation => "continuation",
            Self::Ending => "ending",
        }
    }

    pub fn from_code(code: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|p| p.code() == code)
    }

    /// Whether the dose is being built up (the start regime's checks apply).
    pub fn is_build_up(self) -> bool {
        matches!(self, Self::Start)
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum EndReason {
    CompletedTaper,
    VoluntaryDischarge,
    InvoluntaryDischarge,
    TransferredToOtherUnit,
    Death,
    Other,
}

impl EndReason {
    pub const ALL: [EndReason; 6] = [
        Self::CompletedTaper,
        Self::VoluntaryDischarge,
        Self::InvoluntaryDischarge,
        Self::TransferredToOtherUnit,
        Self::Death,
        Self::Other,
    ];

    pub fn code(self) -> &'static str {
        match self {
            Self::CompletedTaper => "completed_taper",
            Self::VoluntaryDischarge => "voluntary_discharge",
            Self::InvoluntaryDischarge => "involuntary_discharge",
            Self::TransferredToOtherUnit => "transferred",
            Self::Death => "death",
            Self::Other => "other",
        }
    }

    pub fn from_code(code: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|r| r.code() == code)
    }
}

/// One LAR episode of care.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Episode {
    pub id: EpisodeId,
    pub patient_id: PatientId,
    pub responsible_unit: OrganisationId,
    pub doctor: UserId,
    pub consultant: UserId,
    pub started_on: Date,
    pub phase: Phase,
    pub ended: Option<EpisodeEnd>,
    pub created_at: Timestamp,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct EpisodeEnd {
    pub on: Date,
    pub reason: EndReason,
    pub note: String,
    pub decided_by: UserId,
}

impl Episode {
    /// Whether the episode runs on a date: started, and not ended before it. Doses
    /// stop the day treatment ends.
    pub fn is_active_on(&self, date: Date) -> bool {
        self.started_on <= date && self.ended.as_ref().is_none_or(|end| date < end.on)
    }
}
