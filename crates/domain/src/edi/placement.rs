//! Where a received Dialogmelding goes (issue 18): to the receiving unit's inbox,
//! linked to the patient, only when its fødselsnummer names a patient in LAR whose
//! family name is the one written; otherwise to the unit's list to resolve, never
//! linked silently (H84).

use crate::national_id::NationalId;
use crate::patient::Patient;

use super::ReceivedPatient;

crate::coded! {
    /// Why a received message was not linked to a patient.
    #[derive(Debug, Clone, Copy, PartialEq, Eq)]
    pub enum Unplaced {
        /// No fødselsnummer, or one no patient in Samhand has.
        UnknownPatient = "unknown_patient",
        /// The number is a patient's, but the name written is another.
        NameMismatch = "name_mismatch",
        /// The patient has never been in LAR.
        NotInLar = "not_in_lar",
    }
}

impl Unplaced {
    pub fn label_nb(self) -> &'static str {
        match self {
            Self::UnknownPatient => "Ukjent pasient: fødselsnummeret finnes ikke i Samhand",
            Self::NameMismatch => "Navnet i meldingen stemmer ikke med fødselsnummeret",
            Self::NotInLar => "Pasienten er ikke i LAR",
        }
    }
}

/// The fødselsnummer the message names, if it is a valid one.
pub fn named_number(received: Option<&ReceivedPatient>) -> Option<NationalId> {
    NationalId::parse(received?.national_id.as_deref()?).ok()
}

/// Whether the message may be linked to `found` (the patient with the number it
/// names, if any; `in_lar` whether they have an episode): the family names must be
/// the same, ignoring case, spaces and hyphens.
pub fn placement(
    received: Option<&ReceivedPatient>,
    found: Option<&Patient>,
    in_lar: bool,
) -> Result<(), Unplaced> {
    let (Some(received), Some(patient)) = (received, found) else {
        return Err(Unplaced::UnknownPatient);
    };
    let normal = |s: &str| -> String {
        s.chars()
            .filter(|c| !c.is_whitespace() && *c != '-')
            .flat_map(char::to_lowercase)
            .collect()
    };
    if normal(&received.family_name) != normal(&patient.family_name) {
        return Err(Unplaced::NameMismatch);
    }
    if !in_lar {
        return Err(Unplaced::NotInLar);
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::ids::PatientId;
    use jiff::civil::date;

    fn patient(family: &str) -> Patient {
        Patient {
            id: PatientId::new(),
            national_id: NationalId::synthetic(date(1985, 4, 12), 123).expect("number"),
            given_name: "Kari".into(),
            family_name: family.into(),
            phone: String::new(),
            address: String::new(),
            has_photo: false,
        }
    }

    fn received(family: &str) -> ReceivedPatient {
        ReceivedPatient {
            national_id: Some(patient(family).national_id.as_str().to_string()),
            family_name: family.into(),
            given_name: "Kari".into(),
        }
    }

    #[test]
    fn a_message_is_linked_only_to_a_patient_in_lar_with_the_name_written() {
        let p = patient("Nordmann-Berg");
        assert_eq!(
            placement(Some(&received("nordmann berg")), Some(&p), true),
            Ok(())
        );
        assert_eq!(
            placement(Some(&received("Hansen")), Some(&p), true),
            Err(Unplaced::NameMismatch)
        );
        assert_eq!(
            placement(Some(&received("Nordmann-Berg")), Some(&p), false),
            Err(Unplaced::NotInLar)
        );
        assert_eq!(
            placement(Some(&received("Nordmann-Berg")), None, true),
            Err(Unplaced::UnknownPatient)
        );
        assert_eq!(placement(None, Some(&p), true), Err(Unplaced::UnknownPatient));
        let mut bad = received("Nordmann-Berg");
        bad.national_id = Some("12345678901".into());
        assert_eq!(named_number(Some(&bad)), None);
    }
}
