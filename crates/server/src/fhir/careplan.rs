//! CarePlan: the individual plan (individuell plan). One CarePlan per patient, whose
//! id is the patient's; every saved version of the plan is a version of the
//! resource, with who saved it and why. The patient's goal per life domain is a
//! contained Goal with its evaluation date, each measure an activity naming the
//! responsible service; what the patient wrote in their own words in the portal,
//! as it stood when the version was saved, is a contained Goal expressed by the
//! patient.

use std::collections::HashMap;

use samhand_domain::care::{LifeDomain, PlanGoal, PlanStatus, PlanVersion};
use samhand_domain::ids::{OrganisationId, PatientId};
use samhand_domain::organisation::Organisation;
use samhand_store::portal::OwnWords;
use serde_json::{Value, json};

use super::{SAMHAND_SYSTEM, instant, organisation_reference, patient_reference, user_reference};

const EVALUATION_DATE: &str = "https://samhand.no/fhir/StructureDefinition/evaluation-date";

fn life_domain(domain: LifeDomain) -> Value {
    json!([{
        "coding": [{"system": format!("{SAMHAND_SYSTEM}/CodeSystem/life-domain"), "code": domain.code(), "display": domain.label_nb()}],
        "text": domain.label_nb()
    }])
}

fn plan_goal(id: &str, goal: &PlanGoal, patient: PatientId, active: bool) -> Value {
    let mut resource = json!({
        "resourceType": "Goal",
        "id": id,
        "lifecycleStatus": if active { "active" } else { "cancelled" },
        "category": life_domain(goal.domain),
        "description": {"text": goal.goal},
        "subject": patient_reference(patient),
    });
    if let Some(on) = goal.evaluate_on {
        resource["extension"] = json!([{"url": EVALUATION_DATE, "valueDate": on.to_string()}]);
    }
    resource
}

/// The patient's own words for one domain, as a goal the patient expressed.
fn own_goal(id: &str, domain: LifeDomain, words: &OwnWords, patient: PatientId) -> Value {
    let (description, comment) = if words.goal.trim().is_empty() {
        (words.comment.as_str(), "")
    } else {
        (words.goal.as_str(), words.comment.as_str())
    };
    let mut resource = json!({
        "resourceType": "Goal",
        "id": id,
        "lifecycleStatus": "proposed",
        "category": life_domain(domain),
        "description": {"text": description},
        "subject": patient_reference(patient),
        "expressedBy": patient_reference(patient),
        "statusDate": words.written_at.strftime("%Y-%m-%d").to_string(),
    });
    if !comment.trim().is_empty() {
        resource["note"] = json!([{
            "authorReference": patient_reference(patient),
            "time": instant(words.written_at),
            "text": comment,
        }]);
    }
    resource
}

/// Every version of the plans of some patients.
pub fn care_plans(
    plans: &[PlanVersion],
    words: &HashMap<PatientId, Vec<OwnWords>>,
    organisations: &HashMap<OrganisationId, Organisation>,
) -> Vec<Value> {
    plans
        .iter()
        .map(|v| {
            let first = plans
                .iter()
                .filter(|p| p.patient_id == v.patient_id)
                .map(|p| p.recorded_at)
                .min()
                .unwrap_or(v.recorded_at);
            care_plan(
                v,
                first,
                words.get(&v.patient_id).map(Vec::as_slice).unwrap_or(&[]),
                organisations,
            )
        })
        .collect()
}

fn care_plan(
    v: &PlanVersion,
    first: jiff::Timestamp,
    words: &[OwnWords],
    organisations: &HashMap<OrganisationId, Organisation>,
) -> Value {
    let active = v.status == PlanStatus::Active;
    let mut contained = Vec::new();
    let mut goals = Vec::new();
    let mut activities = Vec::new();
    for (i, goal) in v.goals.iter().enumerate() {
        let id = format!("goal-{}", i + 1);
        contained.push(plan_goal(&id, goal, v.patient_id, active));
        goals.push(json!({"reference": format!("#{id}")}));
        for measure in &goal.measures {
            activities.push(json!({
                "detail": {
                    "status": if active { "in-progress" } else { "stopped" },
                    "description": measure.description,
                    "performer": [organisation_reference(measure.responsible, organisations)],
                    "goal": [{"reference": format!("#{id}")}],
                }
            }));
        }
    }
    // The patient's own words as they stood when this version was saved: the
    // latest per life domain, unless the patient took them back (emptied them).
    for (i, domain) in LifeDomain::ALL.into_iter().enumerate() {
        let latest = words
            .iter()
            .rfind(|w| w.domain == domain.code() && w.written_at <= v.recorded_at);
        if let Some(w) = latest.filter(|w| !w.goal.trim().is_empty() || !w.comment.trim().is_empty()) {
            let id = format!("own-{}", i + 1);
            contained.push(own_goal(&id, domain, w, v.patient_id));
            goals.push(json!({"reference": format!("#{id}")}));
        }
    }
    let mut resource = json!({
        "resourceType": "CarePlan",
        "id": v.patient_id.to_string(),
        "meta": {"versionId": v.version.to_string(), "lastUpdated": instant(v.recorded_at)},
        "status": if active { "active" } else { "revoked" },
        "intent": "plan",
        "category": [{
            "coding": [{"system": format!("{SAMHAND_SYSTEM}/CodeSystem/care-plan"), "code": "individual-plan", "display": "Individuell plan"}],
            "text": "Individuell plan"
        }],
        "title": "Individuell plan",
        "subject": patient_reference(v.patient_id),
        "period": {"start": instant(first)},
        "created": instant(first),
        "author": user_reference(v.recorded_by),
        "note": [{
            "authorReference": user_reference(v.recorded_by),
            "time": instant(v.recorded_at),
            "text": format!("Versjon {}: {}", v.version, v.reason),
        }],
    });
    if let Some(on) = v.declined_on {
        resource["description"] = json!(format!(
            "Pasienten har takket nei til individuell plan ({}).",
            samhand_domain::format::date_nb(on)
        ));
    }
    if !contained.is_empty() {
        resource["contained"] = json!(contained);
        resource["goal"] = json!(goals);
    }
    if !activities.is_empty() {
        resource["activity"] = json!(activities);
    }
    resource
}

#[cfg(test)]
mod tests {
    use jiff::Timestamp;
    use samhand_domain::ids::{PlanVersionId, UserId};

    use super::*;

    fn version(patient: PatientId, n: i64, at: i64) -> PlanVersion {
        PlanVersion {
            id: PlanVersionId::new(),
            patient_id: patient,
            version: n,
            status: PlanStatus::Active,
            declined_on: None,
            goals: Vec::new(),
            reason: format!("Versjon {n}"),
            recorded_by: UserId::new(),
            recorded_at: Timestamp::from_second(at).expect("instant"),
        }
    }

    fn words(goal: &str, at: i64) -> OwnWords {
        OwnWords {
            domain: "housing".into(),
            goal: goal.into(),
            comment: "Helst nær jobben".into(),
            written_at: Timestamp::from_second(at).expect("instant"),
        }
    }

    #[test]
    fn each_version_carries_the_patients_own_words_as_they_stood_when_it_was_saved() {
        let patient = PatientId::new();
        let plans = [version(patient, 1, 100), version(patient, 2, 300)];
        let own = HashMap::from([(patient, vec![words("Egen leilighet", 200), words("", 400)])]);
        let resources = care_plans(&plans, &own, &HashMap::new());
        assert!(
            resources[0].get("contained").is_none(),
            "nothing was written before v1"
        );
        let goal = &resources[1]["contained"][0];
        assert_eq!(goal["description"]["text"], json!("Egen leilighet"));
        assert_eq!(
            goal["expressedBy"]["reference"],
            json!(format!("Patient/{patient}"))
        );
        assert_eq!(goal["note"][0]["text"], json!("Helst nær jobben"));
        assert_eq!(resources[1]["goal"][0]["reference"], json!("#own-6"));
        // Both versions start when the plan was first offered.
        assert_eq!(resources[0]["period"], resources[1]["period"]);
        // Taking the goal back (after v2) leaves v2 as it was.
        let later = [version(patient, 3, 500)];
        let v3 = care_plans(&later, &own, &HashMap::new());
        let v3_goal = &v3[0]["contained"][0];
        assert_eq!(
            v3_goal["description"]["text"],
            json!("Helst nær jobben"),
            "the comment stays when the goal is emptied"
        );
    }
}
