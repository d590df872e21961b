//! Organisations, staff roles and the staff member acting in a request.

use crate::ids::{OrganisationId, UserId};

crate::coded! {
    /// The kinds of organisation that take part in LAR (DOMAIN.md, vocabulary).
    #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
    pub enum OrganisationKind {
        HealthTrustLarUnit = "health_trust_lar_unit",
        MunicipalLarCentre = "municipal_lar_centre",
        Pharmacy = "pharmacy",
        HomeService = "home_service",
        GpOffice = "gp_office",
        NavOffice = "nav_office",
        Institution = "institution",
        PrisonHealthService = "prison_health_service",
    }
}

impl OrganisationKind {
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

crate::coded! {
    /// What a staff user does in Samhand.
    #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
    pub enum Role {
        Prescriber = "prescriber",
        LarConsultant = "lar_consultant",
        DispensingStaff = "dispensing_staff",
        Coordinator = "coordinator",
        Leader = "leader",
        Administrator = "administrator",
    }
}

impl Role {
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
