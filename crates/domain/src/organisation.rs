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
    /// Days the place is closed beyond the public holidays (a staff day, a move).
    pub closed_days: Vec<jiff::civil::Date>,
}

impl Organisation {
    /// Whether a dispensing place is open on a date.
    pub fn is_open_on(&self, date: jiff::civil::Date) -> bool {
        let weekday_open = self.open_weekdays[weekday_index(date)];
        let holiday = crate::calendar::public_holiday(date).is_some();
        weekday_open && (!holiday || self.open_on_public_holidays) && !self.closed_days.contains(&date)
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

/// An organisation number from Enhetsregisteret: nine digits, the last a modulus-11
/// check digit (weights 3 2 7 6 5 4 3 2).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OrgNumber(String);

impl OrgNumber {
    /// Spaces are allowed between the digit groups ("974 760 673").
    pub fn parse(text: &str) -> Result<Self, String> {
        let digits: String = text.chars().filter(|c| !c.is_whitespace()).collect();
        if digits.len() != 9 || !digits.chars().all(|c| c.is_ascii_digit()) {
            return Err("Organisasjonsnummeret må ha 9 siffer.".into());
        }
        let values: Vec<u32> = digits.chars().filter_map(|c| c.to_digit(10)).collect();
        const WEIGHTS: [u32; 8] = [3, 2, 7, 6, 5, 4, 3, 2];
        let sum: u32 = values.iter().zip(WEIGHTS).map(|(d, w)| d * w).sum();
        let check = match 11 - sum % 11 {
            11 => 0,
            10 => return Err("Organisasjonsnummeret finnes ikke (kontrollsifferet stemmer ikke).".into()),
            c => c,
        };
        if values[8] != check {
            return Err("Organisasjonsnummeret finnes ikke (kontrollsifferet stemmer ikke).".into());
        }
        Ok(Self(digits))
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

/// A number in one of the national registers: a positive whole number of 1 to 9
/// digits, without a leading zero; else `message`.
fn register_number(text: &str, message: &str) -> Result<String, String> {
    let text = text.trim();
    let valid =
        (1..=9).contains(&text.len()) && text.chars().all(|c| c.is_ascii_digit()) && !text.starts_with('0');
    if valid {
        Ok(text.to_string())
    } else {
        Err(message.into())
    }
}

/// An identifier in the address register (Adresseregisteret, HER): a positive whole
/// number of at most nine digits, for an organisation or a communication party.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct HerId(String);

impl HerId {
    pub fn parse(text: &str) -> Result<Self, String> {
        register_number(text, "HER-id er et tall med 1 til 9 siffer.").map(Self)
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

/// A number in the Health Personnel Register (HPR): a positive whole number of at
/// most nine digits.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct HprNumber(String);

impl HprNumber {
    pub fn parse(text: &str) -> Result<Self, String> {
        register_number(text, "HPR-nummeret er et tall med 1 til 9 siffer.").map(Self)
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

/// What the register and the address book know of an organisation, beside what the
/// rules need ([`Organisation`]).
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Registration {
    pub org_number: Option<OrgNumber>,
    pub her_id: Option<HerId>,
    pub address: String,
    pub phone: String,
    /// For a municipal dispensing place: the LAR unit responsible for its patients.
    pub responsible_unit: Option<OrganisationId>,
}

/// Why a responsible unit cannot be set: it must be a LAR unit, and only a place
/// that is not one itself has one.
pub fn check_responsible_unit(kind: OrganisationKind, unit: Option<&Organisation>) -> Result<(), String> {
    match unit {
        None => Ok(()),
        Some(_) if kind.is_lar_unit() => Err("En LAR-enhet har ikke en annen ansvarlig LAR-enhet.".into()),
        Some(unit) if !unit.kind.is_lar_unit() => Err(format!(
            "«{}» er ikke en LAR-enhet i spesialisthelsetjenesten.",
            unit.name
        )),
        Some(_) => Ok(()),
    }
}

impl OrganisationKind {
    /// The kind as people name it.
    pub fn label_nb(self) -> &'static str {
        match self {
            Self::HealthTrustLarUnit => "LAR-enhet i helseforetak",
            Self::MunicipalLarCentre => "Kommunalt LAR-senter",
            Self::Pharmacy => "Apotek",
            Self::HomeService => "Hjemmetjeneste",
            Self::GpOffice => "Fastlegekontor",
            Self::NavOffice => "NAV-kontor",
            Self::Institution => "Institusjon",
            Self::PrisonHealthService => "Helsetjenesten i fengsel",
        }
    }
}

#[cfg(test)]
mod registration_tests {
    use super::*;

    #[test]
    fn a_real_looking_organisation_number_passes_the_modulus_11_check() {
        // 974760673 is Brønnøysundregistrene's own number.
        assert_eq!(
            OrgNumber::parse("974 760 673").map(|n| n.as_str().to_string()),
            Ok("974760673".into())
        );
        assert!(OrgNumber::parse("974760674").is_err(), "wrong check digit");
        assert!(OrgNumber::parse("97476067").is_err(), "eight digits");
        assert!(OrgNumber::parse("97476067a").is_err(), "a letter");
    }

    #[test]
    fn a_number_whose_check_digit_would_be_ten_does_not_exist() {
        // 3*1+2*0+7*0+6*0+5*0+4*0+3*0+2*4 = 11 → 11 - 0 = 11 → check 0: valid.
        assert!(OrgNumber::parse("100000040").is_ok());
        // 3*1+2*0+...+2*0 = 3 → 11 - 3 = 8: only 8 fits.
        assert!(OrgNumber::parse("100000008").is_ok());
        // A sum of 1 mod 11 gives 10: no number with these eight digits exists.
        // 3*0+2*0+7*0+6*0+5*0+4*0+3*0+2*6 = 12 → 12 mod 11 = 1.
        assert!(OrgNumber::parse("000000060").is_err());
        assert!(OrgNumber::parse("000000061").is_err());
    }

    #[test]
    fn her_ids_and_hpr_numbers_are_short_positive_numbers() {
        assert!(HerId::parse("8094").is_ok());
        assert!(HerId::parse("0123").is_err());
        assert!(HerId::parse("1234567890").is_err());
        assert!(HprNumber::parse("9144900").is_ok());
        assert!(HprNumber::parse("91 44900").is_err());
    }

    #[test]
    fn only_a_lar_unit_is_responsible_and_a_lar_unit_has_none() {
        let org = |kind| Organisation {
            id: OrganisationId::new(),
            name: "X".into(),
            kind,
            municipality: "Fjordvik".into(),
            open_on_public_holidays: false,
            open_weekdays: [true; 7],
            closed_days: Vec::new(),
        };
        let unit = org(OrganisationKind::HealthTrustLarUnit);
        let pharmacy = org(OrganisationKind::Pharmacy);
        assert!(check_responsible_unit(OrganisationKind::MunicipalLarCentre, Some(&unit)).is_ok());
        assert!(check_responsible_unit(OrganisationKind::MunicipalLarCentre, Some(&pharmacy)).is_err());
        assert!(check_responsible_unit(OrganisationKind::HealthTrustLarUnit, Some(&unit)).is_err());
        assert!(check_responsible_unit(OrganisationKind::Pharmacy, None).is_ok());
    }
}
