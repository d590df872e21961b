//! Messages between services about one patient: typed, with recipients (units) and a
//! read receipt per recipient, so nobody has to guess whether the other side knows.
//! An important message still unread after the policy's hours escalates to the
//! recipient unit's leader.

use jiff::{SignedDuration, Timestamp};

use crate::access::DataCategory;
use crate::ids::{MessageId, OrganisationId, PatientId, UserId};
use crate::validation::FieldErrors;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum MessageKind {
    DoseChange,
    ArrangementChange,
    WithheldDose,
    MissedDoses,
    Admission,
    Discharge,
    Overdose,
    /// An invitation to a meeting of the responsibility group.
    MeetingInvitation,
    FreeText,
}

impl MessageKind {
    pub const ALL: [MessageKind; 9] = [
        Self::DoseChange,
        Self::ArrangementChange,
        Self::WithheldDose,
        Self::MissedDoses,
        Self::Admission,
        Self::Discharge,
        Self::Overdose,
        Self::MeetingInvitation,
        Self::FreeText,
    ];

    pub fn code(self) -> &'static str {
        match self {
            Self::DoseChange => "dose_change",
            Self::ArrangementChange => "arrangement_change",
            Self::WithheldDose => "withheld_dose",
            Self::MissedDoses => "missed_doses",
            Self::Admission => "admission",
            Self::Discharge => "discharge",
            Self::Overdose => "overdose",
            Self::MeetingInvitation => "meeting_invitation",
            Self::FreeText => "free_text",
        }
    }

    pub fn from_code(code: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|k| k.code() == code)
    }

    pub fn label_nb(self) -> &'static str {
        match self {
            Self::DoseChange => "Doseendring",
            Self::ArrangementChange => "Endret utleveringsordning",
            Self::WithheldDose => "Holdt tilbake eller redusert dose",
            Self::MissedDoses => "Uteblitte doser",
            Self::Admission => "Innleggelse",
            Self::Discharge => "Utskrivning",
            Self::Overdose => "Overdose",
            Self::MeetingInvitation => "Innkalling til ansvarsgruppemøte",
            Self::FreeText => "Fritekst",
        }
    }

    /// The part of the record a message of this kind tells about: a recipient sees
    /// its content only where the access policy lets them read that category.
    pub fn category(self) -> DataCategory {
        match self {
            Self::DoseChange => DataCategory::Medication,
            Self::ArrangementChange
            | Self::WithheldDose
            | Self::MissedDoses
            | Self::Admission
            | Self::Discharge => DataCategory::Dispensing,
            Self::Overdose => DataCategory::HealthInformation,
            Self::MeetingInvitation => DataCategory::PlanAndGoals,
            Self::FreeText => DataCategory::Notes,
        }
    }

    /// Whether a message of this kind is important by default (escalates when unread).
    pub fn important_by_default(self) -> bool {
        matches!(
            self,
            Self::WithheldDose | Self::MissedDoses | Self::Admission | Self::Discharge | Self::Overdose
        )
    }
}

/// A message, as sent.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Message {
    pub id: MessageId,
    pub patient_id: PatientId,
    pub kind: MessageKind,
    pub subject: String,
    pub body: String,
    pub important: bool,
    /// The sender; `None` for a message Samhand sent on an event.
    pub sent_by: Option<UserId>,
    pub sender_organisation: Option<OrganisationId>,
    pub sent_at: Timestamp,
    /// The receiving units.
    pub recipients: Vec<OrganisationId>,
    /// For automatic messages: one message per event (e.g. one per block).
    pub event_key: Option<String>,
}

/// A recipient unit's read receipt.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Receipt {
    pub message_id: MessageId,
    pub organisation_id: OrganisationId,
    pub read_by: UserId,
    pub read_at: Timestamp,
}

/// A message as typed by a person.
#[derive(Debug, Clone, Default)]
pub struct MessageInput {
    pub kind: String,
    pub subject: String,
    pub body: String,
    pub recipients: Vec<String>,
    /// `None`: the kind's default.
    pub important: Option<bool>,
}

/// What a valid input parses to.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MessageContent {
    pub kind: MessageKind,
    pub subject: String,
    pub body: String,
    pub important: bool,
    pub recipients: Vec<OrganisationId>,
}

impl MessageInput {
    /// `allowed_recipients` are the units related to the patient.
    pub fn parse(&self, allowed_recipients: &[OrganisationId]) -> Result<MessageContent, FieldErrors> {
        let mut errors = FieldErrors::default();
        let kind = MessageKind::from_code(self.kind.trim());
        if kind.is_none() {
            errors.push("kind", "Velg hva meldingen gjelder.");
        }
        let subject = self.subject.trim().to_string();
        if subject.is_empty() {
            errors.push("subject", "Skriv et emne.");
        } else if subject.chars().count() > 200 {
            errors.push("subject", "Emnet kan være høyst 200 tegn.");
        }
        let body = self.body.trim().to_string();
        if body.is_empty() {
            errors.push("body", "Skriv meldingen.");
        } else if body.chars().count() > 5000 {
            errors.push("body", "Meldingen kan være høyst 5000 tegn.");
        }
        let mut recipients = Vec::new();
        for raw in &self.recipients {
            match raw.trim().parse::<OrganisationId>() {
                Ok(id) if allowed_recipients.contains(&id) => {
                    if !recipients.contains(&id) {
                        recipients.push(id);
                    }
                }
                _ => {
                    errors.push(
                        "recipients",
                        "En mottaker har ikke behandlingsrelasjon til pasienten.",
                    );
                    break;
                }
            }
        }
        if recipients.is_empty() && errors.for_field("recipients").is_none() {
            errors.push("recipients", "Velg minst én mottaker.");
        }
        match kind {
            Some(kind) if errors.is_empty() => Ok(MessageContent {
                kind,
                subject,
                body,
                important: self.important.unwrap_or(kind.important_by_default()),
                recipients,
            }),
            _ => Err(errors),
        }
    }
}

/// Whether the recipient unit has read the message.
pub fn is_read_by(receipts: &[Receipt], message: MessageId, organisation: OrganisationId) -> bool {
    receipts
        .iter()
        .any(|r| r.message_id == message && r.organisation_id == organisation)
}

/// When an unread important message escalates to the recipient unit's leader.
pub fn escalates_at(message: &Message, after_hours: i64) -> Option<Timestamp> {
    message
        .important
        .then(|| message.sent_at + SignedDuration::from_hours(after_hours))
}

/// Whether the message is escalated for this recipient at `now`: important, still
/// unread by the unit, and older than the policy's hours.
pub fn is_escalated(
    message: &Message,
    receipts: &[Receipt],
    organisation: OrganisationId,
    now: Timestamp,
    after_hours: i64,
) -> bool {
    message.recipients.contains(&organisation)
        && !is_read_by(receipts, message.id, organisation)
        && escalates_at(message, after_hours).is_some_and(|at| now >= at)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn message(important: bool, recipients: Vec<OrganisationId>) -> Message {
        Message {
            id: MessageId::new(),
            patient_id: PatientId::new(),
            kind: MessageKind::WithheldDose,
            subject: "s".into(),
            body: "b".into(),
            important,
            sent_by: None,
            sender_organisation: None,
            sent_at: Timestamp::from_second(1_800_000_000).unwrap(),
            recipients,
            event_key: None,
        }
    }

    #[test]
    fn an_unread_important_message_escalates_exactly_at_the_set_time() {
        let unit = OrganisationId::new();
        let m = message(true, vec![unit]);
        let at = |h: i64, s: i64| m.sent_at + SignedDuration::from_hours(h) + SignedDuration::from_secs(s);
        assert!(!is_escalated(&m, &[], unit, at(3, 3599), 4));
        assert!(is_escalated(&m, &[], unit, at(4, 0), 4));
        let read = Receipt {
            message_id: m.id,
            organisation_id: unit,
            read_by: UserId::new(),
            read_at: at(1, 0),
        };
        assert!(!is_escalated(&m, &[read], unit, at(5, 0), 4));
        // A receipt of another unit does not count; nor does an unimportant message.
        let other = OrganisationId::new();
        let theirs = Receipt {
            organisation_id: other,
            ..Receipt {
                message_id: m.id,
                organisation_id: unit,
                read_by: UserId::new(),
                read_at: at(1, 0),
            }
        };
        assert!(is_escalated(&m, &[theirs], unit, at(5, 0), 4));
        assert!(!is_escalated(
            &message(false, vec![unit]),
            &[],
            unit,
            at(50, 0),
            4
        ));
        assert!(!is_escalated(&m, &[], other, at(5, 0), 4), "not a recipient");
    }

    #[test]
    fn a_message_needs_a_kind_a_subject_a_body_and_related_recipients() {
        let related = OrganisationId::new();
        let errors = MessageInput::default().parse(&[related]).unwrap_err();
        for field in ["kind", "subject", "body", "recipients"] {
            assert!(errors.for_field(field).is_some(), "{field}");
        }
        let stranger = OrganisationId::new();
        let input = MessageInput {
            kind: "free_text".into(),
            subject: "Hei".into(),
            body: "Tekst".into(),
            recipients: vec![stranger.to_string()],
            important: None,
        };
        assert!(
            input
                .parse(&[related])
                .unwrap_err()
                .for_field("recipients")
                .is_some()
        );
        let ok = MessageInput {
            recipients: vec![related.to_string(), related.to_string()],
            ..input
        }
        .parse(&[related])
        .unwrap();
        assert_eq!(ok.recipients, vec![related]);
        assert!(!ok.important, "free text is not important by default");
    }
}
