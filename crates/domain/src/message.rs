//! Messages between services about one patient: typed, with recipients (units) and a
//! read receipt per recipient, so nobody has to guess whether the other side knows.
//! An important message still unread after the policy's hours escalates to the
//! recipient unit's leader.

use jiff::{SignedDuration, Timestamp};

use crate::category::DataCategory;
use crate::ids::{MessageId, OrganisationId, PatientId, UserId};
use crate::validation::FieldErrors;

crate::coded! {
    #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
    pub enum MessageKind {
        DoseChange = "dose_change",
        ArrangementChange = "arrangement_change",
        WithheldDose = "withheld_dose",
        /// A recording at the window corrected after the fact.
        DispensingCorrection = "dispensing_correction",
        MissedDoses = "missed_doses",
        Admission = "admission",
        Discharge = "discharge",
        Overdose = "overdose",
        /// The end of LAR (an episode ended), whatever the reason.
        EndOfLar = "end_of_lar",
        /// The assessment decision on a referral, to the patient and the referrer.
        ReferralDecision = "referral_decision",
        /// An invitation to a meeting of the responsibility group.
        MeetingInvitation = "meeting_invitation",
        /// A recording made at a place's edge while offline that the central
        /// record contradicts: maybe a dose given twice.
        PossibleDoubleDose = "possible_double_dose",
        FreeText = "free_text",
    }
}

impl MessageKind {
    pub fn label_nb(self) -> &'static str {
        match self {
            Self::DoseChange => "Doseendring",
            Self::ArrangementChange => "Endret utleveringsordning",
            Self::WithheldDose => "Holdt tilbake eller redusert dose",
            Self::DispensingCorrection => "Korrigert utlevering",
            Self::MissedDoses => "Uteblitte doser",
            Self::Admission => "Innleggelse",
            Self::Discharge => "Utskrivning",
            Self::Overdose => "Overdose",
            Self::EndOfLar => "LAR avsluttet",
            Self::ReferralDecision => "Vurdering av henvisning",
            Self::MeetingInvitation => "Innkalling til ansvarsgruppemøte",
            Self::PossibleDoubleDose => "Mulig dobbel dose",
            Self::FreeText => "Fritekst",
        }
    }

    /// The part of the record a message of this kind tells about: a recipient sees
    /// its content only where the access policy lets them read that category.
    pub fn category(self) -> DataCategory {
        match self {
            // The end of LAR tells that the prescribing ends; the referral decision
            // whether medication-assisted treatment starts, and by when: both
            // medication, which a unit the message is addressed to reads (the
            // referrer reads the answer to its referral, nothing more).
            Self::DoseChange | Self::EndOfLar | Self::ReferralDecision => DataCategory::Medication,
            Self::ArrangementChange
            | Self::WithheldDose
            | Self::DispensingCorrection
            | Self::MissedDoses
            | Self::PossibleDoubleDose
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
            Self::WithheldDose
                | Self::DispensingCorrection
                | Self::MissedDoses
                | Self::Admission
                | Self::Discharge
                | Self::Overdose
                | Self::EndOfLar
        )
    }
}

crate::coded! {
    /// Who a message passes between: services, or the team and the patient.
    #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
    pub enum Party {
        /// Between units about the patient (the patient does not see it).
        Services = "services",
        /// From a staff member to the patient, read in the portal.
        ToPatient = "to_patient",
        /// From the patient to units of the team.
        FromPatient = "from_patient",
    }
}

impl Party {
    /// Whether the patient sees the message in the portal.
    pub fn is_conversation(self) -> bool {
        self != Self::Services
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
    /// Between services, or between the team and the patient.
    pub party: Party,
    /// The message this one answers, in a conversation with the patient.
    pub in_reply_to: Option<MessageId>,
}

impl Message {
    /// Whether the message belongs to this patient's conversation with the team:
    /// the only messages the patient may open.
    pub fn is_in_conversation_of(&self, patient: PatientId) -> bool {
        self.patient_id == patient && self.party.is_conversation()
    }
}

/// The patient's read receipt of a message from the team.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PatientReceipt {
    pub message_id: MessageId,
    pub read_at: Timestamp,
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
        let (subject, body) = checked_text(&self.subject, &self.body, &mut errors);
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

/// The subject and body of a message, trimmed, with their errors.
fn checked_text(subject: &str, body: &str, errors: &mut FieldErrors) -> (String, String) {
    let subject = subject.trim().to_string();
    if subject.is_empty() {
        errors.push("subject", "Skriv et emne.");
    } else if subject.chars().count() > SUBJECT_MAX_CHARS {
        errors.push("subject", "Emnet kan være høyst 200 tegn.");
    }
    let body = body.trim().to_string();
    if body.is_empty() {
        errors.push("body", "Skriv meldingen.");
    } else if body.chars().count() > 5000 {
        errors.push("body", "Meldingen kan være høyst 5000 tegn.");
    }
    (subject, body)
}

const SUBJECT_MAX_CHARS: usize = 200;

/// A message between the team and the patient, as typed: the subject and body.
/// `Ok((subject, body))` when both are there and not too long.
pub fn parse_conversation_text(subject: &str, body: &str) -> Result<(String, String), FieldErrors> {
    let mut errors = FieldErrors::default();
    let text = checked_text(subject, body, &mut errors);
    if errors.is_empty() { Ok(text) } else { Err(errors) }
}

/// The subject of an answer: "Svar: " and the original's, once, within the limit.
pub fn reply_subject(original: &str) -> String {
    let base = original.strip_prefix("Svar: ").unwrap_or(original);
    format!("Svar: {base}").chars().take(SUBJECT_MAX_CHARS).collect()
}

/// The units a message from the patient goes to: the responsible LAR unit, and the
/// coordinator's unit when the patient shares notes with it (the coordinator could
/// not read the message otherwise). Sorted, without repeats.
pub fn patient_message_recipients(
    responsible_units: &[OrganisationId],
    coordinator_units: &[OrganisationId],
    consents: &[(OrganisationId, DataCategory)],
) -> Vec<OrganisationId> {
    let mut units: Vec<OrganisationId> = responsible_units
        .iter()
        .copied()
        .chain(
            coordinator_units
                .iter()
                .copied()
                .filter(|c| consents.contains(&(*c, DataCategory::Notes))),
        )
        .collect();
    units.sort();
    units.dedup();
    units
}

/// The units the patient's answer to `original` goes to: the unit that wrote, when
/// it is still among the units the patient writes to (`usual`), else the usual ones.
pub fn reply_recipients(original: &Message, usual: &[OrganisationId]) -> Vec<OrganisationId> {
    match original.sender_organisation {
        Some(unit) if usual.contains(&unit) => vec![unit],
        _ => usual.to_vec(),
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

/// The units told the same day of what happens at the window (a withheld or
/// reduced dose, take-home doses handed over despite one, a correction) and around
/// a stay: the responsible LAR units (the prescriber) and the units of the patient's
/// coordinators, each once.
pub fn prescriber_and_coordinators(
    relations: &crate::access::PatientRelations,
    care_team: &[crate::privacy::CareTeamMember],
    now: Timestamp,
) -> Vec<OrganisationId> {
    let mut units = relations.responsible_units.clone();
    for unit in coordinator_units(care_team, now) {
        if !units.contains(&unit) {
            units.push(unit);
        }
    }
    units
}

/// The units of the patient's active coordinators.
pub fn coordinator_units(
    care_team: &[crate::privacy::CareTeamMember],
    now: Timestamp,
) -> Vec<OrganisationId> {
    care_team
        .iter()
        .filter(|m| m.role == crate::privacy::TeamRole::Coordinator && m.is_active_at(now))
        .map(|m| m.organisation_id)
        .collect()
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
            party: Party::Services,
            in_reply_to: None,
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

    #[test]
    fn the_patient_writes_to_the_lar_unit_and_to_the_coordinator_only_where_notes_are_shared() {
        let (lar, centre, gp) = (
            OrganisationId::new(),
            OrganisationId::new(),
            OrganisationId::new(),
        );
        assert_eq!(patient_message_recipients(&[lar], &[centre], &[]), vec![lar]);
        let shared = [(centre, DataCategory::Notes), (gp, DataCategory::Notes)];
        let mut both = vec![lar, centre];
        both.sort();
        assert_eq!(patient_message_recipients(&[lar], &[centre], &shared), both);
        assert_eq!(
            patient_message_recipients(&[lar], &[centre], &[(centre, DataCategory::PlanAndGoals)]),
            vec![lar],
            "another category shared is not notes shared"
        );
    }

    #[test]
    fn an_answer_goes_to_the_unit_that_wrote_while_the_patient_still_writes_to_it() {
        let (lar, centre) = (OrganisationId::new(), OrganisationId::new());
        let mut original = message(false, Vec::new());
        original.party = Party::ToPatient;
        original.sender_organisation = Some(centre);
        assert_eq!(reply_recipients(&original, &[lar, centre]), vec![centre]);
        assert_eq!(
            reply_recipients(&original, &[lar]),
            vec![lar],
            "no longer shared with"
        );
        original.sender_organisation = None;
        assert_eq!(reply_recipients(&original, &[lar]), vec![lar]);
        assert_eq!(reply_subject("Svar: Time"), "Svar: Time");
        assert_eq!(reply_subject(&"x".repeat(300)).chars().count(), 200);
    }

    #[test]
    fn a_patient_opens_only_their_own_conversation() {
        let mut m = message(false, Vec::new());
        assert!(!m.is_in_conversation_of(m.patient_id), "between services");
        m.party = Party::ToPatient;
        assert!(m.is_in_conversation_of(m.patient_id));
        assert!(!m.is_in_conversation_of(PatientId::new()), "another patient's");
        assert!(parse_conversation_text(" ", "").is_err());
        assert_eq!(
            parse_conversation_text(" Hei ", " Tekst ").unwrap(),
            ("Hei".into(), "Tekst".into())
        );
    }

    #[test]
    fn the_prescriber_and_the_active_coordinators_are_told_each_once() {
        use crate::ids::{CareTeamMemberId, PatientId, UserId};
        use crate::privacy::{CareTeamMember, MembershipEnd, TeamRole};
        let unit = OrganisationId::new();
        let centre = OrganisationId::new();
        let gone = OrganisationId::new();
        let now = Timestamp::from_second(1_800_000_000).expect("instant");
        let seat = |org, role, ended: Option<Timestamp>| CareTeamMember {
            id: CareTeamMemberId::new(),
            patient_id: PatientId::new(),
            user_id: UserId::new(),
            organisation_id: org,
            role,
            added_at: Timestamp::UNIX_EPOCH,
            added_by: UserId::new(),
            ended: ended.map(|at| MembershipEnd {
                at,
                by: UserId::new(),
                reason: String::new(),
            }),
        };
        let relations = crate::access::PatientRelations {
            responsible_units: vec![unit],
            ..Default::default()
        };
        let team = [
            seat(centre, TeamRole::Coordinator, None),
            seat(unit, TeamRole::Coordinator, None),
            seat(gone, TeamRole::Coordinator, Some(Timestamp::UNIX_EPOCH)),
            seat(OrganisationId::new(), TeamRole::Member, None),
        ];
        assert_eq!(
            prescriber_and_coordinators(&relations, &team, now),
            vec![unit, centre]
        );
    }
}
