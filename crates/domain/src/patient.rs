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
    /// Parses a new person's details; the national id's birth date may not lie
    /// after `today`.
    pub fn parse(input: &PatientInput, today: Date, errors: &mut FieldErrors) -> Option<Self> {
        let national_id = match NationalId::parse_on(&input.national_id, today) {
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

/// One version of who the patient is: the first at registration, then each
/// correction, with who, when and why. The national identity number is the same
/// in every version: a person's number is never changed by a correction.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct IdentityVersion {
    pub patient_id: PatientId,
    /// 1 at registration, one more for each correction.
    pub version: i64,
    pub national_id: NationalId,
    pub given_name: String,
    pub family_name: String,
    pub phone: String,
    pub address: String,
    pub reason: String,
    pub recorded_by: UserId,
    pub recorded_at: Timestamp,
}

impl IdentityVersion {
    /// The first version, as the patient is registered.
    pub fn first(patient_id: PatientId, new: &NewPatient, by: UserId, at: Timestamp) -> Self {
        Self {
            patient_id,
            version: 1,
            national_id: new.national_id.clone(),
            given_name: new.given_name.clone(),
            family_name: new.family_name.clone(),
            phone: new.phone.clone(),
            address: new.address.clone(),
            reason: "Registrert".into(),
            recorded_by: by,
            recorded_at: at,
        }
    }

    pub fn full_name(&self) -> String {
        format!("{} {}", self.given_name, self.family_name)
    }

    fn same_content(&self, other: &Self) -> bool {
        (&self.given_name, &self.family_name, &self.phone, &self.address)
            == (
                &other.given_name,
                &other.family_name,
                &other.phone,
                &other.address,
            )
    }
}

/// A correction of the identity as typed or received. `national_id`, when given
/// (FHIR sends the whole resource), must be the patient's own number.
#[derive(Debug, Clone, Default)]
pub struct IdentityChangeInput {
    pub national_id: Option<String>,
    pub given_name: String,
    pub family_name: String,
    pub phone: String,
    pub address: String,
    pub reason: String,
}

/// Why a correction of the identity was refused.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum IdentityChangeError {
    /// The change was made from an earlier version than the current one: someone
    /// else corrected the identity in between.
    Stale {
        expected: i64,
        current: i64,
    },
    Invalid(FieldErrors),
}

/// The next version of the identity, or `None` when nothing would change.
/// `expected` is the version the change was made from (an HTTP If-Match, the
/// version a form was loaded at); a change from an older version is refused, so a
/// correction is never silently overwritten by someone who had not seen it.
pub fn next_identity(
    current: &IdentityVersion,
    expected: Option<i64>,
    input: &IdentityChangeInput,
    by: UserId,
    at: Timestamp,
) -> Result<Option<IdentityVersion>, IdentityChangeError> {
    if let Some(expected) = expected
        && expected != current.version
    {
        return Err(IdentityChangeError::Stale {
            expected,
            current: current.version,
        });
    }
    let mut errors = FieldErrors::default();
    if let Some(given) = &input.national_id {
        match NationalId::parse(given) {
            Err(e) => errors.push("national_id", national_id_message(e)),
            Ok(number) if number != current.national_id => errors.push(
                "national_id",
                "Fødselsnummeret eller D-nummeret kan ikke endres. Er det feil, er dette en annen person: registrer personen for seg.",
            ),
            Ok(_) => {}
        }
    }
    // The number is the one already recorded: it is not checked against today.
    let parsed = NewPatient::parse(
        &PatientInput {
            national_id: current.national_id.as_str().to_string(),
            given_name: input.given_name.clone(),
            family_name: input.family_name.clone(),
            phone: input.phone.clone(),
            address: input.address.clone(),
        },
        Date::MAX,
        &mut errors,
    );
    let reason = input.reason.trim().to_string();
    if reason.is_empty() {
        errors.push("reason", "Skriv hvorfor opplysningene endres.");
    } else if reason.chars().count() > 500 {
        errors.push("reason", "Begrunnelsen kan være høyst 500 tegn.");
    }
    let (Some(parsed), true) = (parsed, errors.is_empty()) else {
        return Err(IdentityChangeError::Invalid(errors));
    };
    let next = IdentityVersion {
        patient_id: current.patient_id,
        version: current.version + 1,
        national_id: current.national_id.clone(),
        given_name: parsed.given_name,
        family_name: parsed.family_name,
        phone: parsed.phone,
        address: parsed.address,
        reason,
        recorded_by: by,
        recorded_at: at,
    };
    Ok((!next.same_content(current)).then_some(next))
}

/// Why a fødselsnummer or D-nummer was refused, in words for the person who typed it.
pub fn national_id_message(error: crate::national_id::NationalIdError) -> &'static str {
    use crate::national_id::NationalIdError::*;
    match error {
        WrongLength => "Fødselsnummer og D-nummer har 11 sifre.",
        NotDigits => "Fødselsnummeret kan bare inneholde sifre.",
        InvalidDate => "De seks første sifrene er ikke en gyldig fødselsdato.",
        CheckDigits => "Kontrollsifrene stemmer ikke. Sjekk at nummeret er skrevet riktig.",
        FutureBirthDate => "Fødselsdatoen i nummeret er fram i tid. Sjekk at nummeret er skrevet riktig.",
    }
}

crate::coded! {
    /// The phases of a LAR episode (DOMAIN.md, after Lossius 2011).
    #[derive(Debug, Clone, Copy, PartialEq, Eq)]
    pub enum Phase {
        Referral = "referral",
        Planning = "planning",
        Start = "start",
        Stabilisation = "stabilisation",
        Continuation = "continuation",
        Ending = "ending",
    }
}

impl Phase {
    /// Whether the dose is being built up (the start regime's checks apply).
    pub fn is_build_up(self) -> bool {
        matches!(self, Self::Start)
    }
}

crate::coded! {
    #[derive(Debug, Clone, Copy, PartialEq, Eq)]
    pub enum EndReason {
        CompletedTaper = "completed_taper",
        VoluntaryDischarge = "voluntary_discharge",
        InvoluntaryDischarge = "involuntary_discharge",
        TransferredToOtherUnit = "transferred",
        Death = "death",
        Other = "other",
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

#[cfg(test)]
mod tests {
    use super::*;
    use jiff::civil::date;

    fn number(year: i16) -> NationalId {
        (0..500)
            .find_map(|i| NationalId::synthetic(date(year, 3, 14), i))
            .expect("a synthetic number exists")
    }

    fn current() -> IdentityVersion {
        let number = number(1980);
        IdentityVersion {
            patient_id: PatientId::new(),
            version: 2,
            national_id: number,
            given_name: "Kari".into(),
            family_name: "Nordmann".into(),
            phone: "40000000".into(),
            address: "Gata 1".into(),
            reason: "Registrert".into(),
            recorded_by: UserId::new(),
            recorded_at: Timestamp::UNIX_EPOCH,
        }
    }

    fn input(c: &IdentityVersion) -> IdentityChangeInput {
        IdentityChangeInput {
            national_id: Some(c.national_id.as_str().to_string()),
            given_name: c.given_name.clone(),
            family_name: "Nordmann-Hansen".into(),
            phone: c.phone.clone(),
            address: c.address.clone(),
            reason: "Giftet seg".into(),
        }
    }

    #[test]
    fn a_correction_is_the_next_version_with_who_and_why_and_nothing_changed_is_none() {
        let c = current();
        let by = UserId::new();
        let next = next_identity(&c, Some(2), &input(&c), by, Timestamp::UNIX_EPOCH)
            .expect("valid")
            .expect("changed");
        assert_eq!((next.version, next.family_name.as_str()), (3, "Nordmann-Hansen"));
        assert_eq!((next.recorded_by, next.reason.as_str()), (by, "Giftet seg"));
        let mut same = input(&c);
        same.family_name = c.family_name.clone();
        assert_eq!(
            next_identity(&c, None, &same, by, Timestamp::UNIX_EPOCH),
            Ok(None)
        );
    }

    #[test]
    fn a_stale_version_a_changed_number_and_a_missing_reason_are_refused() {
        let c = current();
        let by = UserId::new();
        assert_eq!(
            next_identity(&c, Some(1), &input(&c), by, Timestamp::UNIX_EPOCH),
            Err(IdentityChangeError::Stale {
                expected: 1,
                current: 2
            })
        );
        let mut other = input(&c);
        other.national_id = Some(number(1981).as_str().to_string());
        let Err(IdentityChangeError::Invalid(errors)) =
            next_identity(&c, None, &other, by, Timestamp::UNIX_EPOCH)
        else {
            panic!("a changed number is refused");
        };
        assert!(
            errors
                .for_field("national_id")
                .is_some_and(|m| m.contains("kan ikke endres"))
        );
        let mut no_reason = input(&c);
        no_reason.reason = "  ".into();
        let Err(IdentityChangeError::Invalid(errors)) =
            next_identity(&c, None, &no_reason, by, Timestamp::UNIX_EPOCH)
        else {
            panic!("a missing reason is refused");
        };
        assert!(errors.for_field("reason").is_some());
    }
}
