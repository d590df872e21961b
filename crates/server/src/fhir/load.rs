//! Loading the resources of one type for the patients the policy allowed, with
//! the date range pushed into the store where the data is large (doses, drug
//! tests, the audit log), and picking each resource's current version.

use std::collections::HashMap;

use serde_json::Value;

use super::outcome::FhirResult;
use super::{Kind, audit_event, careplan, communication, encounter, medication, observation, patient};
use crate::service::{Granted, Period, Service};

/// Every version of every resource of `kind` about the granted patients, within
/// `period` where the store filters by date (the rest is filtered by the search).
/// Communication goes through the messages' own operation, which audits each
/// patient whose messages it loads.
pub async fn build(
    service: &Service<'_>,
    kind: Kind,
    grants: &[Granted],
    period: Period,
) -> FhirResult<Vec<Value>> {
    if grants.is_empty() {
        return Ok(Vec::new());
    }
    let built = build_unlinked(service, kind, grants, period).await?;
    linked(service, built).await
}

/// The resources with the national identifier in every reference to a
/// Practitioner or an Organization (the HPR number, organisation number or HER-id).
pub async fn linked(service: &Service<'_>, mut resources: Vec<Value>) -> FhirResult<Vec<Value>> {
    let registry = super::directory::registry(&service.fhir_directory().await?);
    resources.iter_mut().for_each(|r| registry.link(r));
    Ok(resources)
}

async fn build_unlinked(
    service: &Service<'_>,
    kind: Kind,
    grants: &[Granted],
    period: Period,
) -> FhirResult<Vec<Value>> {
    let today = samhand_domain::time::oslo_date(service.now());
    Ok(match kind {
        Kind::Patient => {
            let mut patients = patient::patients(&service.fhir_identity_versions(grants).await?);
            super::received::add_h_numbers(&mut patients, &service.fhir_h_numbers(grants).await?);
            patients
        }
        Kind::CarePlan => {
            let organisations = service.fhir_organisations().await?;
            let (plans, words) = service.fhir_plans(grants).await?;
            careplan::care_plans(&plans, &words, &organisations)
        }
        Kind::EpisodeOfCare => {
            let organisations = service.fhir_organisations().await?;
            patient::episodes(&service.fhir_episodes(grants).await?, &organisations, today)
        }
        Kind::CareTeam => {
            let organisations = service.fhir_organisations().await?;
            patient::care_teams(
                &service.fhir_privacy(grants).await?,
                &organisations,
                service.now(),
            )
        }
        Kind::Consent => {
            let organisations = service.fhir_organisations().await?;
            patient::consents(&service.fhir_privacy(grants).await?, &organisations)
        }
        Kind::MedicationRequest => {
            let (orders, episodes) = service.fhir_orders(grants).await?;
            medication::requests(&orders, &episodes, today)
        }
        Kind::MedicationDispense => {
            let organisations = service.fhir_organisations().await?;
            let episodes = service.fhir_order_episodes(grants).await?;
            medication::dispenses(
                &service.fhir_doses(grants, period).await?,
                &episodes,
                &organisations,
            )
        }
        Kind::MedicationAdministration => {
            let episodes = service.fhir_order_episodes(grants).await?;
            medication::administrations(&service.fhir_doses(grants, period).await?, &episodes)
        }
        Kind::Flag => medication::flags(&service.fhir_blocks(grants).await?),
        Kind::AuditEvent => audit_event::audit_events(&service.fhir_audit_entries(grants, period).await?),
        Kind::Observation => {
            let tests = service.fhir_drug_tests(grants, period).await?;
            let ids: Vec<String> = tests.iter().map(|t| t.id.to_string()).collect();
            let received = service.fhir_received(grants, &ids).await?;
            observation::observations(&tests, &received)
        }
        Kind::Encounter => {
            let organisations = service.fhir_organisations().await?;
            encounter::encounters(&service.fhir_stays(grants).await?, &organisations, today)
        }
        Kind::Communication => {
            let messages = service.fhir_messages(grants).await?;
            let organisations = service.fhir_organisations().await?;
            communication::communications(&messages, &organisations)
        }
    })
}

/// A resource's version (`meta.versionId`), 1 when it has none.
pub fn version_of(resource: &Value) -> u64 {
    resource["meta"]["versionId"]
        .as_str()
        .and_then(|v| v.parse().ok())
        .unwrap_or(1)
}

/// The newest version of each resource, in the order first seen. Linear: an
/// index by id, not a scan per resource (an export of 230,000 audit entries took
/// minutes with the scan).
pub fn current_versions(all: Vec<Value>) -> Vec<Value> {
    let mut current: Vec<Value> = Vec::new();
    let mut index: HashMap<String, usize> = HashMap::new();
    for resource in all {
        let id = resource["id"].as_str().unwrap_or("").to_string();
        match index.get(&id) {
            Some(&at) => {
                if version_of(&current[at]) < version_of(&resource) {
                    current[at] = resource;
                }
            }
            None => {
                index.insert(id, current.len());
                current.push(resource);
            }
        }
    }
    current
}

/// The patient a resource of `kind` is about, from its patient reference.
pub fn patient_of(kind: Kind, resource: &Value) -> Option<samhand_domain::ids::PatientId> {
    if kind == Kind::Patient {
        return resource["id"].as_str().and_then(|id| id.parse().ok());
    }
    let element = &resource[kind.patient_element()];
    let reference = if element.is_array() {
        element[0]["what"]["reference"].as_str()
    } else {
        element["reference"].as_str()
    };
    reference
        .and_then(|r| r.strip_prefix("Patient/"))
        .and_then(|id| id.parse().ok())
}
