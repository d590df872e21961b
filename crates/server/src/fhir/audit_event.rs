//! AuditEvent: the audit log's entries about a patient, the patient's access log
//! over FHIR. Modelled on HL7 Norway's AuditEvent profile (`no-basis-Auditevent`,
//! the repository HL7Norway/AuditEvent), which maps the Norwegian trust
//! framework's attributes:
//! - the actor (`agent.who`) is the health professional's role at the
//!   organisation they acted for (a PractitionerRole, which Samhand serves and
//!   which names the Practitioner with the HPR number and the Organization);
//! - the purpose (`purposeOfEvent`, from HL7's PurposeOfUse) follows from the
//!   relation that allowed the access: treatment, emergency treatment, the
//!   patient's own request, or oversight;
//! - the patient is named at the top level with R5's `AuditEvent.patient`
//!   (as the profile's patient extension does), one patient per AuditEvent.
//!
//! The profile is a draft without a stable canonical URL, so Samhand does not
//! claim it in `meta.profile`.

use samhand_domain::access::AllowedBy;
use samhand_domain::ids::{OrganisationId, UserId};
use samhand_domain::organisation::Role;
use samhand_store::audit::StoredEntry;
use serde_json::{Value, json};

use super::directory::role_id;
use super::{SAMHAND_SYSTEM, instant, patient_reference, user_reference};

/// R5's `AuditEvent.patient` in an R4 resource (HL7's cross-version extension).
pub const PATIENT_EXTENSION: &str =
    "http://hl7.org/fhir/5.0/StructureDefinition/extension-AuditEvent.patient";
const PURPOSE_SYSTEM: &str = "http://terminology.hl7.org/CodeSystem/v3-ActReason";
const ENTITY_TYPE_SYSTEM: &str = "http://terminology.hl7.org/CodeSystem/audit-entity-type";

/// The purpose of use an access served, by the relation that allowed it.
/// A denied access, or one whose relation Samhand does not know, has none.
pub fn purpose(relation: &str) -> Option<(&'static str, &'static str)> {
    let allowed_by = AllowedBy::from_code(relation)?;
    Some(match allowed_by {
        AllowedBy::EmergencyAccess => ("ETREAT", "Emergency Treatment"),
        AllowedBy::PatientSelf => ("PATRQT", "patient requested"),
        AllowedBy::EmergencyReview => ("HCOMPL", "health compliance"),
        AllowedBy::Directory | AllowedBy::UnitIndicators => ("HOPERAT", "healthcare operations"),
        AllowedBy::ResponsibleLarUnit
        | AllowedBy::DispensingPlace
        | AllowedBy::DispensingPlaceConsent
        | AllowedBy::CareTeam
        | AllowedBy::CareTeamConsent
        | AllowedBy::Enrolment
        | AllowedBy::StayInstitution
        | AllowedBy::Admission
        | AllowedBy::PrescribingHandover
        | AllowedBy::AddressedMessage
        | AllowedBy::EdgeRecording
        | AllowedBy::EdiConsent
        | AllowedBy::ReferralAnswer
        | AllowedBy::Referrer => ("TREAT", "treatment"),
    })
}

/// Who acted: the patient themself; a user in a role at an organisation, as
/// the PractitionerRole Samhand serves for it; else the user as a Practitioner.
fn actor(entry: &StoredEntry) -> Value {
    if entry.actor_role == "patient" {
        return json!({
            "identifier": {"system": format!("{SAMHAND_SYSTEM}/user"), "value": entry.actor_id},
            "display": "pasienten selv",
        });
    }
    let Ok(user) = entry.actor_id.parse::<UserId>() else {
        return json!({"display": entry.actor_id});
    };
    let organisation = entry.actor_organisation.parse::<OrganisationId>().ok();
    match (organisation, Role::from_code(&entry.actor_role)) {
        (Some(organisation), Some(role)) => {
            let id = role_id(user, organisation, role);
            json!({
                "reference": format!("PractitionerRole/{id}"),
                "type": "PractitionerRole",
                "identifier": {"system": format!("{SAMHAND_SYSTEM}/practitioner-role"), "value": id},
                "display": role.label_nb(),
            })
        }
        _ => user_reference(user),
    }
}

/// The audit log's entries as AuditEvents; the id is the entry's place in the chain.
pub fn audit_events(entries: &[StoredEntry]) -> Vec<Value> {
    entries.iter().map(audit_event).collect()
}

fn audit_event(e: &StoredEntry) -> Value {
    let mut agent = json!({
        "type": {"coding": [{"system": format!("{SAMHAND_SYSTEM}/CodeSystem/actor-role"), "code": e.actor_role}]},
        "who": actor(e),
        "requestor": true,
        "policy": [format!("{SAMHAND_SYSTEM}/access-relation/{}", e.relation.replace('+', "-"))],
    });
    if let Ok(org) = e.actor_organisation.parse::<OrganisationId>() {
        agent["altId"] = json!(org.to_string());
    }
    let mut entity = vec![json!({
        "type": {"system": ENTITY_TYPE_SYSTEM, "code": "2", "display": "System Object"},
        "name": e.category,
        "description": e.detail,
    })];
    let patient = e.patient_id.as_deref().and_then(|p| p.parse().ok());
    if let Some(patient) = patient {
        entity.insert(
            0,
            json!({
                "what": patient_reference(patient),
                "type": {"system": ENTITY_TYPE_SYSTEM, "code": "1", "display": "Person"},
            }),
        );
    }
    let mut resource = json!({
        "resourceType": "AuditEvent",
        "id": e.seq.to_string(),
        "meta": {"versionId": "1", "lastUpdated": instant(e.at)},
        "type": {"system": "http://terminology.hl7.org/CodeSystem/audit-event-type", "code": "rest", "display": "RESTful Operation"},
        "action": if e.action == "write" { "U" } else { "R" },
        "recorded": instant(e.at),
        "outcome": if e.allowed { "0" } else { "4" },
        "agent": [agent],
        "source": {"observer": {"display": "Samhand"}, "site": "Samhand"},
        "entity": entity,
    });
    if let Some(patient) = patient {
        resource["extension"] =
            json!([{"url": PATIENT_EXTENSION, "valueReference": patient_reference(patient)}]);
    }
    if let (true, Some((code, display))) = (e.allowed, purpose(&e.relation)) {
        resource["purposeOfEvent"] =
            json!([{"coding": [{"system": PURPOSE_SYSTEM, "code": code, "display": display}]}]);
    }
    if !e.allowed {
        resource["outcomeDesc"] = json!("Avvist av tilgangsstyringen");
    }
    resource
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_relation_that_allows_access_has_a_purpose_and_a_denial_has_none() {
        for code in [
            "responsible_lar_unit",
            "dispensing_place",
            "dispensing_place+consent",
            "care_team",
            "care_team+consent",
            "patient_self",
            "emergency_access",
            "emergency_review",
            "enrolment",
            "stay_institution",
            "admission",
            "prescribing_handover",
            "addressed_message",
            "directory",
        ] {
            assert!(purpose(code).is_some(), "{code}");
        }
        assert_eq!(purpose("emergency_access").map(|p| p.0), Some("ETREAT"));
        assert_eq!(purpose("patient_self").map(|p| p.0), Some("PATRQT"));
        assert_eq!(purpose("care_team+consent").map(|p| p.0), Some("TREAT"));
        assert_eq!(purpose("no_relation"), None);
    }
}
