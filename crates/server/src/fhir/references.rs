//! References to health personnel and organisations, and addresses, as HL7
//! Norway's no-basis profiles write them. A reference to a user or an
//! organisation carries both a literal `reference` (Practitioner/…,
//! Organization/…, which Samhand serves) and an `identifier` a receiver can match
//! without asking Samhand: the HPR number, the organisation number or the HER-id
//! where known, else Samhand's own id. The builders write the literal reference
//! with Samhand's id; [`Registry::link`] puts the national identifier in before a
//! resource leaves.

use std::collections::HashMap;

use samhand_domain::ids::{OrganisationId, UserId};
use samhand_domain::organisation::{Organisation, Registration};
use serde_json::{Map, Value, json};

use super::SAMHAND_SYSTEM;

/// Identifier systems of HL7 Norway's naming systems.
pub const HPR_SYSTEM: &str = "urn:oid:2.16.578.1.12.4.1.4.4";
pub const ORG_NUMBER_SYSTEM: &str = "urn:oid:2.16.578.1.12.4.1.4.101";
pub const HER_ID_SYSTEM: &str = "urn:oid:2.16.578.1.12.4.1.2";
/// H-numbers (hjelpenummer): a hospital's temporary identity for a person whose
/// fødselsnummer is not known.
pub use samhand_domain::received::H_NUMBER_SYSTEM;

/// Samhand's own identifier systems for users and organisations.
pub fn user_system() -> String {
    format!("{SAMHAND_SYSTEM}/user")
}

pub fn organisation_system() -> String {
    format!("{SAMHAND_SYSTEM}/organisation")
}

/// A reference to an organisation Samhand serves as an Organization, with its name.
pub fn organisation_reference(
    id: OrganisationId,
    organisations: &HashMap<OrganisationId, Organisation>,
) -> Value {
    let mut reference = json!({
        "reference": format!("Organization/{id}"),
        "type": "Organization",
        "identifier": {"system": organisation_system(), "value": id.to_string()},
    });
    if let Some(org) = organisations.get(&id) {
        reference["display"] = json!(org.name);
    }
    reference
}

/// A reference to a Samhand user, served as a Practitioner.
pub fn user_reference(id: UserId) -> Value {
    json!({
        "reference": format!("Practitioner/{id}"),
        "type": "Practitioner",
        "identifier": {"system": user_system(), "value": id.to_string()},
    })
}

/// The national register numbers of the users and organisations Samhand knows.
#[derive(Debug, Clone, Default)]
pub struct Registry {
    pub hpr: HashMap<UserId, String>,
    pub organisations: HashMap<OrganisationId, Registration>,
}

impl Registry {
    /// The identifier a receiver matches a user by: the HPR number where known.
    pub fn user_identifier(&self, id: UserId) -> Value {
        match self.hpr.get(&id) {
            Some(hpr) => json!({"system": HPR_SYSTEM, "value": hpr}),
            None => json!({"system": user_system(), "value": id.to_string()}),
        }
    }

    /// The identifier a receiver matches an organisation by: the organisation
    /// number, else the HER-id, else Samhand's id.
    pub fn organisation_identifier(&self, id: OrganisationId) -> Value {
        let registration = self.organisations.get(&id);
        if let Some(number) = registration.and_then(|r| r.org_number.as_ref()) {
            json!({"system": ORG_NUMBER_SYSTEM, "value": number.as_str()})
        } else if let Some(her) = registration.and_then(|r| r.her_id.as_ref()) {
            json!({"system": HER_ID_SYSTEM, "value": her.as_str()})
        } else {
            json!({"system": organisation_system(), "value": id.to_string()})
        }
    }

    /// Puts the national identifier into every reference to a Practitioner or an
    /// Organization anywhere in `resource` (contained resources too).
    pub fn link(&self, resource: &mut Value) {
        match resource {
            Value::Object(object) => {
                self.link_reference(object);
                for value in object.values_mut() {
                    self.link(value);
                }
            }
            Value::Array(values) => values.iter_mut().for_each(|v| self.link(v)),
            _ => {}
        }
    }

    fn link_reference(&self, object: &mut Map<String, Value>) {
        let Some(reference) = object.get("reference").and_then(Value::as_str) else {
            return;
        };
        let identifier = if let Some(id) = reference.strip_prefix("Practitioner/") {
            id.parse().ok().map(|id| self.user_identifier(id))
        } else if let Some(id) = reference.strip_prefix("Organization/") {
            id.parse().ok().map(|id| self.organisation_identifier(id))
        } else {
            None
        };
        if let Some(identifier) = identifier {
            object.insert("identifier".into(), identifier);
        }
    }
}

/// A Norwegian address as FHIR writes it: the text as given, and where its last
/// part is a four-digit postal code and a place ("Storgata 1, 0155 Oslo"), the
/// line, postal code and city apart (no-basis-Address), in Norway.
pub fn address(text: &str, use_: &str) -> Value {
    let text = text.trim();
    let mut address = json!({"use": use_, "text": text});
    if let Some((line, postal)) = text.rsplit_once(',')
        && let Some((code, city)) = postal.trim().split_once(' ')
        && code.len() == 4
        && code.chars().all(|c| c.is_ascii_digit())
        && !city.trim().is_empty()
    {
        if !line.trim().is_empty() {
            address["line"] = json!([line.trim()]);
        }
        address["postalCode"] = json!(code);
        address["city"] = json!(city.trim());
        address["country"] = json!("NO");
    }
    address
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_address_ending_in_a_postal_code_and_place_is_split() {
        let a = address("Storgata 1, 0155 Oslo", "home");
        assert_eq!(a["line"], json!(["Storgata 1"]));
        assert_eq!(a["postalCode"], json!("0155"));
        assert_eq!(a["city"], json!("Oslo"));
        let plain = address("Under brua", "home");
        assert_eq!(plain["text"], json!("Under brua"));
        assert!(plain.get("postalCode").is_none());
        assert!(
            address("Storgata 1, 155 Oslo", "work")
                .get("postalCode")
                .is_none()
        );
    }

    #[test]
    fn a_reference_gets_the_hpr_number_or_organisation_number_where_known() {
        let user = UserId::new();
        let unknown = UserId::new();
        let org = OrganisationId::new();
        let mut registry = Registry::default();
        registry.hpr.insert(user, "912345678".into());
        registry.organisations.insert(
            org,
            Registration {
                org_number: Some(samhand_domain::organisation::OrgNumber::parse("974760673").unwrap()),
                ..Registration::default()
            },
        );
        let mut resource = json!({
            "performer": [{"actor": user_reference(user)}, {"actor": user_reference(unknown)}],
            "contained": [{"author": organisation_reference(org, &HashMap::new())}],
        });
        registry.link(&mut resource);
        assert_eq!(
            resource["performer"][0]["actor"]["identifier"]["system"],
            json!(HPR_SYSTEM)
        );
        assert_eq!(
            resource["performer"][0]["actor"]["reference"],
            json!(format!("Practitioner/{user}"))
        );
        assert_eq!(
            resource["performer"][1]["actor"]["identifier"]["system"],
            json!(user_system())
        );
        assert_eq!(
            resource["contained"][0]["author"]["identifier"],
            json!({"system": ORG_NUMBER_SYSTEM, "value": "974760673"})
        );
    }
}
