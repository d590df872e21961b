//! Identifiers other systems send with what they report (a stay as an Encounter,
//! a drug test as an Observation): the hospital's own number for the stay, the
//! sending organisation's register number, and the patient's H-number. They are
//! kept as sent, beside the record, and never name a patient on their own: an
//! H-number (hjelpenummer) is a hospital's temporary identity for someone whose
//! fødselsnummer it does not know, so a person is never enrolled on one; it only
//! finds a patient it was received with before.

use crate::national_id::has_check_digits;

/// The identifier system of H-numbers (HL7 Norway's naming system).
pub const H_NUMBER_SYSTEM: &str = "urn:oid:2.16.578.1.12.4.1.4.3";

crate::coded! {
    /// Where on the reported resource the identifier was.
    #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
    pub enum ReceivedElement {
        /// The record's own identifier in the sending system (`identifier`).
        Identifier = "identifier",
        /// The organisation that sent or provides it (`serviceProvider`, `performer`).
        Provider = "provider",
        /// The patient's H-number (`subject.identifier`).
        HNumber = "h_number",
    }
}

/// The longest system or value kept.
const MAX_CHARS: usize = 200;

/// One identifier as received.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ReceivedIdentifier {
    pub element: ReceivedElement,
    pub system: String,
    pub value: String,
}

impl ReceivedIdentifier {
    /// A system (a URI) and a value, both given and not overlong.
    pub fn parse(element: ReceivedElement, system: &str, value: &str) -> Result<Self, String> {
        let (system, value) = (system.trim(), value.trim());
        if system.is_empty() || !system.contains(':') || system.chars().count() > MAX_CHARS {
            return Err("En identifikator må ha et system (en URI).".into());
        }
        if value.is_empty() || value.chars().count() > MAX_CHARS {
            return Err("En identifikator må ha en verdi (høyst 200 tegn).".into());
        }
        Ok(Self {
            element,
            system: system.into(),
            value: value.into(),
        })
    }
}

/// An H-number: eleven digits, the month (third and fourth digit) raised by 40,
/// with a fødselsnummer's check digits.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct HNumber(String);

impl HNumber {
    pub fn parse(text: &str) -> Result<Self, String> {
        let text: String = text.chars().filter(|c| !c.is_whitespace() && *c != '-').collect();
        let digits: Vec<u8> = text
            .bytes()
            .filter(u8::is_ascii_digit)
            .map(|b| b - b'0')
            .collect();
        let Ok(digits) = <[u8; 11]>::try_from(digits.as_slice()) else {
            return Err("Et H-nummer har 11 siffer.".into());
        };
        if text.len() != 11 {
            return Err("Et H-nummer har 11 siffer.".into());
        }
        let month = digits[2] * 10 + digits[3];
        if !(41..=52).contains(&month) || !has_check_digits(&digits) {
            return Err("Dette er ikke et gyldig H-nummer (måned + 40 og kontrollsifre).".into());
        }
        Ok(Self(text))
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_h_number_has_the_month_raised_by_forty_and_valid_check_digits() {
        // 01 41 90 (1 January 1990 as an H-number), individual 123, check digits 82.
        assert_eq!(
            HNumber::parse("01419012382").map(|h| h.0),
            Ok("01419012382".into())
        );
        assert_eq!(
            HNumber::parse("014190 12382").map(|h| h.0),
            Ok("01419012382".into())
        );
        assert!(HNumber::parse("01419012381").is_err(), "a wrong check digit");
        assert!(
            HNumber::parse("01019012345").is_err(),
            "an ordinary month is a fødselsnummer"
        );
        assert!(HNumber::parse("0141901230").is_err(), "ten digits");
    }

    #[test]
    fn a_received_identifier_needs_a_system_and_a_value() {
        let ok = ReceivedIdentifier::parse(ReceivedElement::Identifier, "urn:oid:2.16.578.1.12.4.1.2", "123");
        assert!(ok.is_ok());
        assert!(ReceivedIdentifier::parse(ReceivedElement::Identifier, "", "123").is_err());
        assert!(ReceivedIdentifier::parse(ReceivedElement::Identifier, "urn:x", " ").is_err());
    }
}
