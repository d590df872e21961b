//! Health information that dispensing staff must know at the window (epilepsy,
//! diabetes, allergies, pregnancy, interacting medication). Shared with a place only
//! under the patient's consent for the category `health_information`. Append-only:
//! a correction or a resolution is a new version that replaces the one before.

use jiff::Timestamp;

use crate::ids::{HealthNoteId, PatientId, UserId};
use crate::validation::FieldErrors;

crate::coded! {
    /// What kind of condition a note is about.
    #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
    pub enum HealthConditionKind {
        Epilepsy = "epilepsy",
        Diabetes = "diabetes",
        Allergy = "allergy",
        Pregnancy = "pregnancy",
        InteractingMedication = "interacting_medication",
        Other = "other",
    }
}

impl HealthConditionKind {
    pub fn label_nb(self) -> &'static str {
        match self {
            Self::Epilepsy => "Epilepsi",
            Self::Diabetes => "Diabetes",
            Self::Allergy => "Allergi",
            Self::Pregnancy => "Graviditet",
            Self::InteractingMedication => "Legemiddel med interaksjon",
            Self::Other => "Annet",
        }
    }
}

/// One version of a note.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct HealthNote {
    pub id: HealthNoteId,
    pub patient_id: PatientId,
    pub kind: HealthConditionKind,
    /// What staff at the window must know and do, in plain words.
    pub text: String,
    /// False when this version records that the condition no longer applies.
    pub active: bool,
    /// The version this one corrects or resolves.
    pub replaces: Option<HealthNoteId>,
    /// Why a replacing version was written.
    pub reason: String,
    pub recorded_by: UserId,
    pub recorded_at: Timestamp,
}

/// A note as typed.
#[derive(Debug, Clone, Default)]
pub struct HealthNoteInput {
    pub kind: String,
    pub text: String,
    /// The note this corrects or resolves, if any.
    pub replaces: Option<HealthNoteId>,
    pub resolved: bool,
    pub reason: String,
}

/// What the note content parses to.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct HealthNoteContent {
    pub kind: HealthConditionKind,
    pub text: String,
    pub active: bool,
}

const MAX_TEXT: usize = 2000;

impl HealthNoteInput {
    /// Checks the input against the notes already recorded: a correction must name
    /// a current note and give a reason.
    pub fn parse(&self, history: &[HealthNote]) -> Result<HealthNoteContent, FieldErrors> {
        let mut errors = FieldErrors::default();
        let kind = HealthConditionKind::from_code(self.kind.trim());
        if kind.is_none() {
            errors.push("kind", "Velg hva opplysningen gjelder.");
        }
        let text = self.text.trim().to_string();
        if text.is_empty() && !self.resolved {
            errors.push("text", "Skriv hva utdelingspersonalet må vite.");
        }
        if text.chars().count() > MAX_TEXT {
            errors.push("text", format!("Teksten kan være høyst {MAX_TEXT} tegn."));
        }
        if let Some(replaced) = self.replaces {
            if !current(history).iter().any(|n| n.id == replaced) {
                errors.push(
                    "replaces",
                    "Opplysningen som skal rettes, er ikke gjeldende lenger.",
                );
            }
            if self.reason.trim().is_empty() {
                errors.push("reason", "Skriv hvorfor opplysningen rettes eller avsluttes.");
            }
        } else if self.resolved {
            errors.push("replaces", "Velg hvilken opplysning som ikke gjelder lenger.");
        }
        match kind {
            Some(kind) if errors.is_empty() => Ok(HealthNoteContent {
                kind,
                text,
                active: !self.resolved,
            }),
            _ => Err(errors),
        }
    }
}

/// The notes in force: the latest version of each, where that version is active.
pub fn current(history: &[HealthNote]) -> Vec<&HealthNote> {
    let replaced: std::collections::HashSet<HealthNoteId> =
        history.iter().filter_map(|n| n.replaces).collect();
    let mut notes: Vec<&HealthNote> = history
        .iter()
        .filter(|n| n.active && !replaced.contains(&n.id))
        .collect();
    notes.sort_by_key(|n| (n.kind.code(), n.recorded_at));
    notes
}

#[cfg(test)]
mod tests {
    use super::*;

    fn note(
        kind: HealthConditionKind,
        active: bool,
        replaces: Option<HealthNoteId>,
        micros: i64,
    ) -> HealthNote {
        HealthNote {
            id: HealthNoteId::new(),
            patient_id: PatientId::new(),
            kind,
            text: "tekst".into(),
            active,
            replaces,
            reason: String::new(),
            recorded_by: UserId::new(),
            recorded_at: Timestamp::from_microsecond(micros).unwrap(),
        }
    }

    #[test]
    fn a_corrected_note_is_replaced_and_a_resolved_one_disappears() {
        let epilepsy = note(HealthConditionKind::Epilepsy, true, None, 1);
        let diabetes = note(HealthConditionKind::Diabetes, true, None, 2);
        let corrected = note(HealthConditionKind::Epilepsy, true, Some(epilepsy.id), 3);
        let resolved = note(HealthConditionKind::Diabetes, false, Some(diabetes.id), 4);
        let history = vec![epilepsy.clone(), diabetes.clone(), corrected.clone(), resolved];
        let in_force: Vec<HealthNoteId> = current(&history).iter().map(|n| n.id).collect();
        assert_eq!(in_force, vec![corrected.id]);
    }

    #[test]
    fn a_correction_must_name_a_current_note_and_say_why() {
        let epilepsy = note(HealthConditionKind::Epilepsy, true, None, 1);
        let corrected = note(HealthConditionKind::Epilepsy, true, Some(epilepsy.id), 2);
        let history = vec![epilepsy.clone(), corrected];
        let input = HealthNoteInput {
            kind: "epilepsy".into(),
            text: "Anfall sist uke".into(),
            replaces: Some(epilepsy.id),
            resolved: false,
            reason: String::new(),
        };
        let errors = input.parse(&history).unwrap_err();
        assert!(errors.for_field("replaces").is_some());
        assert!(errors.for_field("reason").is_some());
    }

    #[test]
    fn a_new_note_needs_a_kind_and_a_text() {
        let errors = HealthNoteInput::default().parse(&[]).unwrap_err();
        assert!(errors.for_field("kind").is_some());
        assert!(errors.for_field("text").is_some());
        let ok = HealthNoteInput {
            kind: "allergy".into(),
            text: " Penicillin ".into(),
            ..Default::default()
        }
        .parse(&[])
        .unwrap();
        assert_eq!(ok.text, "Penicillin");
        assert!(ok.active);
    }
}
