//! Patient, EpisodeOfCare, CareTeam and Consent: who the patient is, their LAR
//! episodes, the care team seats, and the consent decisions (in force and earlier).

use std::collections::HashMap;

use jiff::Timestamp;
use jiff::civil::Date;
use samhand_domain::ids::{OrganisationId, PatientId};
use samhand_domain::national_id::NationalIdKind;
use samhand_domain::organisation::Organisation;
use samhand_domain::patient::{Episode, IdentityVersion};
use samhand_domain::privacy::{PrivacyFacts, consents_in_force};
use serde_json::{Value, json};

use super::{
    DNR_SYSTEM, FNR_SYSTEM, SAMHAND_SYSTEM, instant, organisation_reference, patient_reference,
    user_reference,
};

/// HL7 Norway's base profile for a patient, which every Patient conforms to.
pub const NO_BASIS_PATIENT: &str = "http://hl7.no/fhir/StructureDefinition/no-basis-Patient";

/// Every version of who the patients are, one Patient resource version each.
pub fn patients(versions: &[IdentityVersion]) -> Vec<Value> {
    versions.iter().map(patient).collect()
}

pub fn patient(p: &IdentityVersion) -> Value {
    let system = match p.national_id.kind() {
        NationalIdKind::Fodselsnummer => FNR_SYSTEM,
        NationalIdKind::DNummer => DNR_SYSTEM,
    };
    let mut resource = json!({
        "resourceType": "Patient",
        "id": p.patient_id.to_string(),
        "meta": {
            "versionId": p.version.to_string(),
            "lastUpdated": instant(p.recorded_at),
            "profile": [NO_BASIS_PATIENT],
        },
        "identifier": [{"use": "official", "system": system, "value": p.national_id.as_str()}],
        "active": true,
        "name": [{"use": "official", "family": p.family_name, "given": [p.given_name], "text": p.full_name()}],
        // A 2032-rule number encodes no sex: unknown until Folkeregisteret says.
        "gender": match p.national_id.is_female() {
            Some(true) => "female",
            Some(false) => "male",
            None => "unknown",
        },
        "birthDate": p.national_id.birth_date().to_string(),
    });
    if !p.phone.trim().is_empty() {
        resource["telecom"] = json!([{"system": "phone", "value": p.phone, "use": "mobile"}]);
    }
    if !p.address.trim().is_empty() {
        resource["address"] = json!([super::references::address(&p.address, "home")]);
    }
    resource
}

pub fn episodes(
    episodes: &[Episode],
    organisations: &HashMap<OrganisationId, Organisation>,
    today: Date,
) -> Vec<Value> {
    episodes
        .iter()
        .map(|e| {
            let status = match &e.ended {
                Some(end) if end.on <= today => "finished",
                _ if e.started_on > today => "planned",
                _ => "active",
            };
            let mut period = json!({"start": e.started_on.to_string()});
            if let Some(end) = &e.ended {
                period["end"] = json!(end.on.to_string());
            }
            json!({
                "resourceType": "EpisodeOfCare",
                "id": e.id.to_string(),
                "meta": {
                    "versionId": if e.ended.is_some() { "2" } else { "1" },
                    "lastUpdated": instant(e.created_at),
                    "profile": [super::conformance::canonical(super::conformance::LAR_EPISODE)],
                },
                "status": status,
                "type": [{
                    "coding": [{"system": format!("{SAMHAND_SYSTEM}/CodeSystem/episode-type"), "code": "lar", "display": "Legemiddelassistert rehabilitering (LAR)"}],
                    "text": "LAR"
                }],
                "patient": patient_reference(e.patient_id),
                "managingOrganization": organisation_reference(e.responsible_unit, organisations),
                "period": period,
                "careManager": user_reference(e.doctor),
                "extension": [{
                    "url": format!("{SAMHAND_SYSTEM}/StructureDefinition/lar-phase"),
                    "valueCode": e.phase.code()
                }],
            })
        })
        .collect()
}

/// One CareTeam per patient with seats: every seat, ended ones with their period's end.
pub fn care_teams(
    facts: &HashMap<PatientId, PrivacyFacts>,
    organisations: &HashMap<OrganisationId, Organisation>,
    now: Timestamp,
) -> Vec<Value> {
    let mut teams: Vec<(PatientId, Value)> = facts
        .iter()
        .filter(|(_, f)| !f.care_team.is_empty())
        .map(|(patient, f)| {
            let participants: Vec<Value> = f
                .care_team
                .iter()
                .map(|m| {
                    let mut period = json!({"start": instant(m.added_at)});
                    if let Some(end) = &m.ended {
                        period["end"] = json!(instant(end.at));
                    }
                    json!({
                        "role": [{
                            "coding": [{"system": format!("{SAMHAND_SYSTEM}/CodeSystem/team-role"), "code": m.role.code(), "display": m.role.label_nb()}],
                            "text": m.role.label_nb()
                        }],
                        "member": user_reference(m.user_id),
                        "onBehalfOf": organisation_reference(m.organisation_id, organisations),
                        "period": period,
                    })
                })
                .collect();
            let last_change = f
                .care_team
                .iter()
                .map(|m| m.ended.as_ref().map_or(m.added_at, |e| e.at))
                .max()
                .unwrap_or(now);
            let start = f.care_team.iter().map(|m| m.added_at).min().unwrap_or(now);
            let active = f.care_team.iter().any(|m| m.is_active_at(now));
            (
                *patient,
                json!({
                    "resourceType": "CareTeam",
                    "id": patient.to_string(),
                    "meta": {"versionId": "1", "lastUpdated": instant(last_change)},
                    "status": if active { "active" } else { "inactive" },
                    "category": [{"text": "Ansvarsgruppe"}],
                    "name": "Ansvarsgruppe",
                    "subject": patient_reference(*patient),
                    "period": {"start": instant(start)},
                    "participant": participants,
                }),
            )
        })
        .collect();
    teams.sort_by_key(|(p, _)| *p);
    teams.into_iter().map(|(_, t)| t).collect()
}

/// Every consent decision: the one in force for its organisation and category is
/// active (permit when given, deny when withdrawn); earlier ones are inactive.
pub fn consents(
    facts: &HashMap<PatientId, PrivacyFacts>,
    organisations: &HashMap<OrganisationId, Organisation>,
) -> Vec<Value> {
    let mut out = Vec::new();
    let mut patients: Vec<&PatientId> = facts.keys().collect();
    patients.sort();
    for patient in patients {
        let history = &facts[patient].consents;
        let in_force = consents_in_force(history);
        for record in history {
            let latest = history
                .iter()
                .filter(|r| r.organisation_id == record.organisation_id && r.category == record.category)
                .max_by_key(|r| r.recorded_at)
                .is_some_and(|r| r.id == record.id);
            debug_assert!(
                !record.given || !latest || in_force.contains(&(record.organisation_id, record.category))
            );
            let mut recipient = organisation_reference(record.organisation_id, organisations);
            recipient["type"] = json!("Organization");
            let mut resource = json!({
                "resourceType": "Consent",
                "id": record.id.to_string(),
                "meta": {"versionId": "1", "lastUpdated": instant(record.recorded_at)},
                "status": if latest { "active" } else { "inactive" },
                "scope": {"coding": [{"system": "http://terminology.hl7.org/CodeSystem/consentscope", "code": "patient-privacy", "display": "Privacy Consent"}]},
                "category": [{"coding": [{"system": "http://loinc.org", "code": "59284-0", "display": "Patient Consent"}]}],
                "patient": patient_reference(record.patient_id),
                "dateTime": instant(record.recorded_at),
                "policyRule": {"coding": [{
                    "system": "http://terminology.hl7.org/CodeSystem/v3-ActCode",
                    "code": if record.given { "OPTIN" } else { "OPTOUT" }
                }]},
                "provision": {
                    "type": if record.given { "permit" } else { "deny" },
                    "actor": [{
                        "role": {"coding": [{"system": "http://terminology.hl7.org/CodeSystem/v3-ParticipationType", "code": "IRCP", "display": "information recipient"}]},
                        "reference": recipient,
                    }],
                    "class": [{"system": format!("{SAMHAND_SYSTEM}/CodeSystem/data-category"), "code": record.category.code(), "display": record.category.label_nb()}],
                },
            });
            if record.by_patient {
                resource["performer"] = json!([patient_reference(record.patient_id)]);
            } else {
                resource["performer"] = json!([user_reference(record.recorded_by)]);
            }
            out.push(resource);
        }
    }
    out
}
