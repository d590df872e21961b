//! MedicationRequest (the signed dose order of an episode, each signed change a
//! version), MedicationDispense (take-home doses handed over), MedicationAdministration
//! (supervised intake and injections) and Flag (an order blocked by missed doses).

use std::collections::HashMap;

use jiff::civil::Date;
use samhand_domain::dose::Dose;
use samhand_domain::dose_order::SignedDoseOrder;
use samhand_domain::ids::{DoseOrderId, EpisodeId, OrganisationId, PatientId};
use samhand_domain::missed::MissedDoseState;
use samhand_domain::organisation::Organisation;
use samhand_domain::patient::Episode;
use samhand_domain::schedule::IntakeMode;
use samhand_domain::substance::Substance;
use samhand_store::dispensing::DispensedDose;
use serde_json::{Value, json};

use super::{SAMHAND_SYSTEM, instant, mg, patient_reference, user_reference};

/// The ATC code system as WHO names it, and as the Norwegian code system
/// (Volven 7180, used by e-resept and FEST) names it: the same codes.
pub const ATC_WHO: &str = "http://www.whocc.no/atc";
pub const ATC_NORWAY: &str = "urn:oid:2.16.578.1.12.4.1.1.7180";

/// The medicine, by its ATC code (WHO and the Norwegian OID) and Samhand's own code.
fn medication(substance: Substance) -> Value {
    let atc = match substance {
        Substance::MethadoneOralSolution => "N07BC02",
        Substance::BuprenorphineSublingual
        | Substance::DepotBuprenorphineWeekly
        | Substance::DepotBuprenorphineMonthly => "N07BC01",
        Substance::BuprenorphineNaloxone => "N07BC51",
        Substance::SlowReleaseMorphine => "N02AA01",
        Substance::Levomethadone => "N07BC05",
    };
    json!({
        "coding": [
            {"system": ATC_WHO, "code": atc},
            // The same code in the ATC code system of the Norwegian volume
            // (kodeverk 7180), as e-resept and FEST name it.
            {"system": ATC_NORWAY, "code": atc},
            {"system": format!("{SAMHAND_SYSTEM}/CodeSystem/substance"), "code": substance.code(), "display": substance.name()},
        ],
        "text": substance.name(),
    })
}

/// The route of a substance (SNOMED CT): how it is taken, not where or watched by
/// whom.
fn route(substance: Substance) -> Value {
    let (code, display, text) = match substance {
        Substance::MethadoneOralSolution | Substance::SlowReleaseMorphine | Substance::Levomethadone => {
            ("26643006", "Oral route", "Munnen")
        }
        Substance::BuprenorphineSublingual | Substance::BuprenorphineNaloxone => {
            ("37839007", "Sublingual route", "Under tungen")
        }
        Substance::DepotBuprenorphineWeekly | Substance::DepotBuprenorphineMonthly => {
            ("34206005", "Subcutaneous route", "Injeksjon under huden")
        }
    };
    json!({"coding": [{"system": "http://snomed.info/sct", "code": code, "display": display}], "text": text})
}

/// How a dose was taken at the place: watched (supervised intake) or given as an
/// injection by health personnel; the category of a MedicationAdministration.
fn administration_category(mode: IntakeMode) -> Value {
    let (code, text) = if mode == IntakeMode::Injection {
        ("injection", "Injeksjon gitt av helsepersonell")
    } else {
        ("supervised", "Inntak under tilsyn")
    };
    json!({"coding": [{"system": format!("{SAMHAND_SYSTEM}/CodeSystem/intake-mode"), "code": code, "display": text}], "text": text})
}

/// The dispense type of take-home doses (v3 ActPharmacySupplyType): a day's supply
/// is a daily fill, more days a refill of the standing order.
fn dispense_type(days: usize) -> Value {
    let (code, display) = if days <= 1 {
        ("DF", "Daily Fill")
    } else {
        ("RF", "Refill")
    };
    json!({"coding": [{"system": "http://terminology.hl7.org/CodeSystem/v3-ActCode", "code": code, "display": display}], "text": "Utlevering av medisin til hjemmebruk"})
}

fn per_day() -> Value {
    json!({"value": 1, "unit": "d", "system": "http://unitsofmeasure.org", "code": "d"})
}

/// The episode of each dose order: the MedicationRequest a dispensing followed.
pub type OrderEpisodes = HashMap<DoseOrderId, EpisodeId>;

/// The MedicationRequest a dose followed: by `reference` (the episode's dose
/// order, which a receiver can read) and by `identifier` (the signed version).
fn dose_order_reference(order: DoseOrderId, episodes: &OrderEpisodes) -> Value {
    let mut reference = json!({
        "type": "MedicationRequest",
        "identifier": {"system": format!("{SAMHAND_SYSTEM}/dose-order"), "value": order.to_string()},
    });
    if let Some(episode) = episodes.get(&order) {
        reference["reference"] = json!(format!("MedicationRequest/{episode}"));
    }
    reference
}

/// Every signed version of every episode's order. The resource is the episode's
/// dose order (id = the episode); each signed change is a version. A version is
/// active while it is the one in effect, or decided for later; completed once a
/// later version took over or the episode ended.
pub fn requests(orders: &[SignedDoseOrder], episodes: &[Episode], today: Date) -> Vec<Value> {
    let mut by_episode: HashMap<EpisodeId, Vec<&SignedDoseOrder>> = HashMap::new();
    for order in orders {
        by_episode
            .entry(order.order().episode_id)
            .or_default()
            .push(order);
    }
    let mut out = Vec::new();
    let mut keys: Vec<&EpisodeId> = by_episode.keys().collect();
    keys.sort();
    for episode_id in keys {
        let mut versions = by_episode[episode_id].clone();
        versions.sort_by_key(|o| o.version());
        let episode = episodes.iter().find(|e| e.id == *episode_id);
        let ended_on = episode.and_then(|e| e.ended.as_ref()).map(|end| end.on);
        for (index, order) in versions.iter().enumerate() {
            let content = order.content();
            let next_from = versions.get(index + 1).map(|n| n.content().effective_from);
            let superseded = next_from.is_some_and(|from| from <= today);
            let ended = ended_on.is_some_and(|on| on <= today);
            let status = if superseded || ended {
                "completed"
            } else {
                "active"
            };
            let parts = content.dose.parts();
            let total = content.dose.total();
            let dosage: Vec<Value> = parts
                .iter()
                .enumerate()
                .map(|(i, part)| {
                    json!({
                        "sequence": i + 1,
                        "text": format!("Del {} av {}: {part} (dagsdose {total})", i + 1, parts.len()),
                        "timing": {"repeat": {"boundsPeriod": {"start": content.effective_from.to_string()}, "frequency": 1, "period": 1, "periodUnit": "d"}},
                        "doseAndRate": [{"doseQuantity": mg(*part)}],
                        "maxDosePerPeriod": {"numerator": mg(total), "denominator": per_day()},
                    })
                })
                .chain(content.titration.iter().map(|step| {
                    json!({
                        "text": format!("Opptrapping fra {}: dagsdose {}", step.from, step.dose.total()),
                        "timing": {"repeat": {"boundsPeriod": {"start": step.from.to_string()}, "frequency": 1, "period": 1, "periodUnit": "d"}},
                        "doseAndRate": [{"doseQuantity": mg(step.dose.total())}],
                    })
                }))
                .collect();
            let mut validity = json!({"start": content.effective_from.to_string()});
            if let Some(end) = next_from.or(ended_on) {
                validity["end"] = json!(end.to_string());
            }
            let id = episode_id.to_string();
            let mut resource = json!({
                "resourceType": "MedicationRequest",
                "id": id,
                "meta": {"versionId": (index + 1).to_string(), "lastUpdated": instant(order.signature().signed_at)},
                "identifier": [{"system": format!("{SAMHAND_SYSTEM}/dose-order"), "value": order.order().id.to_string()}],
                "status": status,
                "intent": "order",
                "category": [{"text": "LAR"}],
                "medicationCodeableConcept": medication(content.substance),
                "subject": patient_reference(order.order().patient_id),
                "authoredOn": instant(order.signature().signed_at),
                "requester": user_reference(order.signature().signed_by),
                "note": [{"text": content.reason}],
                "dosageInstruction": dosage,
                "dispenseRequest": {"validityPeriod": validity},
            });
            if index > 0 {
                resource["priorPrescription"] = json!({"reference": format!("MedicationRequest/{id}/_history/{index}"), "type": "MedicationRequest"});
            }
            out.push(resource);
        }
    }
    out
}

fn is_administered(mode: IntakeMode) -> bool {
    matches!(mode, IntakeMode::Supervised | IntakeMode::Injection)
}

fn total(doses: &[&DispensedDose]) -> Dose {
    doses.iter().map(|d| d.amount).sum()
}

/// Take-home doses, one MedicationDispense per hand-over (a recording may hand
/// over several days).
pub fn dispenses(
    doses: &[DispensedDose],
    episodes: &OrderEpisodes,
    organisations: &HashMap<OrganisationId, Organisation>,
) -> Vec<Value> {
    let mut events: Vec<(samhand_domain::ids::DispensingId, Vec<&DispensedDose>)> = Vec::new();
    for dose in doses.iter().filter(|d| !is_administered(d.mode)) {
        match events.iter_mut().find(|(id, _)| *id == dose.event_id) {
            Some((_, list)) => list.push(dose),
            None => events.push((dose.event_id, vec![dose])),
        }
    }
    events
        .into_iter()
        .map(|(event, list)| {
            let first = list[0];
            let mut days: Vec<Date> = list.iter().map(|d| d.key.date).collect();
            days.sort();
            days.dedup();
            let withheld = first.outcome == samhand_domain::dispensing::OutcomeKind::Withheld;
            let instructions: Vec<Value> = list
                .iter()
                .enumerate()
                .map(|(i, d)| {
                    json!({
                        "sequence": i + 1,
                        "text": format!("{} del {}: {}", d.key.date, d.key.part, d.amount),
                        "timing": {"event": [d.key.date.to_string()]},
                        "route": route(d.substance),
                        "doseAndRate": [{"doseQuantity": mg(d.amount)}],
                    })
                })
                .collect();
            let mut resource = json!({
                "resourceType": "MedicationDispense",
                "id": event.to_string(),
                "meta": {"versionId": "1", "lastUpdated": instant(first.recorded_at)},
                "status": if withheld { "declined" } else { "completed" },
                "medicationCodeableConcept": medication(first.substance),
                "subject": patient_reference(first.patient_id),
                "performer": [{"actor": user_reference(first.recorded_by)}],
                "authorizingPrescription": [dose_order_reference(first.order_id, episodes)],
                "type": dispense_type(days.len()),
                "quantity": mg(total(&list)),
                "daysSupply": {"value": days.len(), "unit": "d", "system": "http://unitsofmeasure.org", "code": "d"},
                "whenHandedOver": instant(first.recorded_at),
                "dosageInstruction": instructions,
                "note": [{"text": format!("Utlevert ved {}", organisations.get(&first.place_id).map_or("utleveringsstedet", |o| o.name.as_str()))}],
            });
            if withheld {
                resource["statusReasonCodeableConcept"] = json!({"text": "Holdt tilbake ved vurdering før utlevering"});
            }
            resource
        })
        .collect()
}

/// Supervised intake and injections: one MedicationAdministration per dose, with
/// the id "{recording}-{yyyymmdd}-{part}".
pub fn administrations(doses: &[DispensedDose], episodes: &OrderEpisodes) -> Vec<Value> {
    doses
        .iter()
        .filter(|d| is_administered(d.mode))
        .map(|d| {
            let id = format!("{}-{}-{}", d.event_id, d.key.date.strftime("%Y%m%d"), d.key.part);
            let withheld = d.outcome == samhand_domain::dispensing::OutcomeKind::Withheld;
            let mut resource = json!({
                "resourceType": "MedicationAdministration",
                "id": id,
                "meta": {"versionId": "1", "lastUpdated": instant(d.recorded_at)},
                "status": if withheld { "not-done" } else { "completed" },
                "medicationCodeableConcept": medication(d.substance),
                "subject": patient_reference(d.patient_id),
                "effectiveDateTime": instant(d.recorded_at),
                "performer": [{"actor": user_reference(d.recorded_by)}],
                "request": dose_order_reference(d.order_id, episodes),
                "category": administration_category(d.mode),
                "dosage": {
                    "text": format!("{} del {}: {}", d.key.date, d.key.part, d.amount),
                    "route": route(d.substance),
                    "dose": mg(d.amount),
                },
            });
            if withheld {
                resource["statusReason"] = json!([{"text": "Holdt tilbake ved vurdering før utlevering"}]);
            } else if d.amount != d.ordered {
                resource["note"] =
                    json!([{"text": format!("Redusert dose: ordinert {}, gitt {}", d.ordered, d.amount)}]);
            }
            resource
        })
        .collect()
}

/// The version and the instant of the last change of a block: it changes at the
/// start of each Oslo day it lasts (the count of days without dose grows), from
/// the day it began.
fn block_version(state: &MissedDoseState) -> (i64, String) {
    let began = state.blocked_since.unwrap_or(Date::MIN);
    let counted_to = state
        .since
        .and_then(|first| {
            first
                .checked_add(jiff::Span::new().days(i64::from(state.consecutive_days)))
                .ok()
        })
        .unwrap_or(began)
        .max(began);
    let version = began
        .until(counted_to)
        .map(|span| i64::from(span.get_days()))
        .unwrap_or(0)
        + 1;
    let changed = counted_to
        .to_zoned(samhand_domain::time::oslo().clone())
        .map(|z| instant(z.timestamp()))
        .unwrap_or_default();
    (version, changed)
}

/// An active Flag for each patient whose order is blocked by missed doses; the id
/// is the patient's (one block at a time).
pub fn flags(blocks: &[(PatientId, MissedDoseState)]) -> Vec<Value> {
    blocks
        .iter()
        .map(|(patient, state)| {
            let since = state.blocked_since.map(|d| d.to_string()).unwrap_or_default();
            let (version, changed) = block_version(state);
            json!({
                "resourceType": "Flag",
                "id": patient.to_string(),
                "meta": {"versionId": version.to_string(), "lastUpdated": changed},
                "status": "active",
                "category": [{"coding": [{"system": "http://terminology.hl7.org/CodeSystem/flag-category", "code": "clinical", "display": "Clinical"}]}],
                "code": {
                    "coding": [{"system": format!("{SAMHAND_SYSTEM}/CodeSystem/flag"), "code": "blocked-missed-doses", "display": "Dosen er sperret etter dager uten dose"}],
                    "text": format!("Må revurderes av lege: {} dager uten dose på rad (redusert toleranse)", state.consecutive_days),
                },
                "subject": patient_reference(*patient),
                "period": {"start": since},
            })
        })
        .collect()
}
