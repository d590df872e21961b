//! Organisations, staff roles and the staff member acting in a request.

use crate::ids::{OrganisationId, UserId};

/// The kinds of organisation that take part in LAR (DOMAIN.md, vocabulary).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum OrganisationKind {
    HealthTrustLarUnit,
    MunicipalLarCentre,
    Pharmacy,
    HomeService,
    GpOffice,
    NavOffice,
    Institution,
    PrisonHealthService,
}

impl OrganisationKind {
    pub const ALL: [OrganisationKind; 8] = [
        Self::HealthTrustLarUnit,
        Self::MunicipalLarCentre,
        Self::Pharmacy,
        Self::HomeService,
        Self::GpOffice,
        Self::NavOffice,
        Self::Institution,
        Self::PrisonHealthService,
    ];

    pub fn code(self) -> &'static str {
        match self {
            Self::HealthTrustLarUnit => "health_trust_lar_unit",
            Self::MunicipalLarCentre => "municipal_lar_centre",
            Self::Pharmacy => "pharmacy",
            Self::HomeService => "home_service",
            Self::GpOffice => "gp_office",
            Self::NavOffice => "nav_office",
            Self::Institution => "institution",
            Self::PrisonHealthService => "prison_health_service",
        }
    }

    pub fn from_code(code: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|k| k.code() == code)
    }

    /// Whether doses can be dispensed here (DOMAIN.md: LAR centre, pharmacy, home
    /// service, GP office, institution, prison health service).
    pub fn can_dispense(self) -> bool {
        !matches!(self, Self::HealthTrustLarUnit | Self::NavOffice)
    }

    /// Whether patients are admitted here for a stay (TSB inpatient, detox, prison
    /// health service).
    pub fn is_institution(self) -> bool {
        matches!(self, Self::Institution | Self::PrisonHealthService)
    }

    /// Whether this is where LAR is run from: the responsible unit of an episode.
    pub fn is_lar_unit(self) -> bool {
        matches!(self, Self::HealthTrustLarUnit)
    }
}

/// What a staff user does in Samhand.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Role {
    Prescriber,
    LarConsultant,
    DispensingStaff,
    Coordinator,
    Leader,
    Administrator,
}

impl Role {
    pub const ALL: [Role; 6] = [
        Self::Prescriber,
        Self::LarConsultant,
        Self::DispensingStaff,
        Self::Coordinator,
        Self::Leader,
        Self::Administrator,
    ];

    pub fn code(self) -> &'static str {
        match self {
            Self::Prescriber => "prescriber",
            Self::LarConsultant => "lar_consultant",
            Self::DispensingStaff => "dispensing_staff",
            Self::Coordinator => "coordinator",
            Self::Leader => "leader",
            Self::Administrator => "administrator",
        }
    }

    pub fn from_code(code: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|r| r.code() == code)
    }

    /// The role as people at work name it.
    pub fn label_nb(self) -> &'static str {
        match self {
            Self::Prescriber => "Lege",
            Self::LarConsultant => "LAR-konsulent",
            Self::DispensingStaff => "Utdeler",
            Self::Coordinator => "Koordinator",
            Self::Leader => "Leder",
            Self::Administrator => "Administrator",
        }
    }
}

/// An organisation as the rules need it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Organisation {
    pub id: OrganisationId,
    pub name: String,
    pub kind: OrganisationKind,
    /// The municipality (kommune) it serves or lies in.
    pub municipality: String,
    /// Whether a dispensing place keeps open on public holidays.
    pub open_on_public_holidays: bool,
    /// Weekdays the place is open, Monday first.
    pub open_weekdays: [bool; 7],
}

impl Organisation {
    /// Whether a dispensing place is open on a date.
    pub fn is_open_on(&self, date: jiff::civil::Date) -> bool {
        let weekday_open = self.open_weekdays[weekday_index(date)];
        let holiday = crate::calendar::public_holiday(date).is_some();
        weekday_open && (!holiday || self.open_on_public_holidays)
    }
}

/// Monday = 0 … Sunday = 6.
pub fn weekday_index(date: jiff::civil::Date) -> usize {
    (date.weekday().to_monday_zero_offset()) as usize
}

/// The staff member on whose behalf a request acts.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StaffUser {
    pub id: UserId,
    pub username: String,
    pub display_name: String,
    pub role: Role,
    pub organisation_id: OrganisationId,
    pub organisation_kind: OrganisationKind,
}
