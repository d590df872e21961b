//! Communication (messages between services, with their recipients and read
//! receipts).

use std::collections::HashMap;

use samhand_domain::ids::OrganisationId;
use samhand_domain::organisation::Organisation;
use serde_json::{Value, json};

use super::{SAMHAND_SYSTEM, instant, organisation_reference, patient_reference};
use crate::service::PatientMessages;

/// The messages the caller may see. The text is included only where the policy
/// lets the caller read the message's kind; otherwise the Communication says only
/// that a message was sent, when and to whom.
pub fn communications(
    found: &[PatientMessages],
    organisations: &HashMap<OrganisationId, Organisation>,
) -> Vec<Value> {
    let mut out = Vec::new();
    for patient in found {
        for view in &patient.messages {
            let m = &view.message;
            let mut resource = json!({
                "resourceType": "Communication",
                "id": m.id.to_string(),
                "meta": {"versionId": "1", "lastUpdated": instant(m.sent_at)},
                "status": "completed",
                "category": [{
                    "coding": [{"system": format!("{SAMHAND_SYSTEM}/CodeSystem/message-kind"), "code": m.kind.code(), "display": m.kind.label_nb()}],
                    "text": m.kind.label_nb()
                }],
                "priority": if m.important { "urgent" } else { "routine" },
                "subject": patient_reference(m.patient_id),
                "sent": instant(m.sent_at),
                "recipient": m.recipients.iter().map(|r| organisation_reference(*r, organisations)).collect::<Vec<_>>(),
            });
            // A message to the patient is received by the patient; one from the
            // patient is sent by them.
            if m.party == samhand_domain::message::Party::ToPatient {
                resource["recipient"] = json!([patient_reference(m.patient_id)]);
            }
            if m.party == samhand_domain::message::Party::FromPatient {
                resource["sender"] = patient_reference(m.patient_id);
            } else if let Some(sender) = m.sender_organisation {
                resource["sender"] = organisation_reference(sender, organisations);
            } else {
                resource["sender"] = json!({"display": "Samhand (automatisk melding)"});
            }
            if view.readable {
                resource["topic"] = json!({"text": m.subject});
                resource["payload"] = json!([{"contentString": m.body}]);
            }
            let all_read = !m.recipients.is_empty()
                && m.recipients.iter().all(|r| {
                    view.receipts
                        .iter()
                        .any(|rc| rc.message_id == m.id && rc.organisation_id == *r)
                });
            if all_read
                && let Some(last) = view
                    .receipts
                    .iter()
                    .filter(|rc| rc.message_id == m.id)
                    .map(|rc| rc.read_at)
                    .max()
            {
                resource["received"] = json!(instant(last));
            }
            out.push(resource);
        }
    }
    out
}
