//! Meetings of the responsibility group (ansvarsgruppemøter): scheduling with
//! invitations, minutes written once with attendance, the next meeting one interval
//! later, what is overdue, and who may convene.

use jiff::Timestamp;
use jiff::civil::{Date, DateTime};

use super::{MAX_LINE, MAX_TEXT, check_items};
use crate::ids::{MeetingId, OrganisationId, PatientId, UserId};
use crate::validation::{FieldErrors, parse_date, parse_time};

/// A meeting of the responsibility group, as scheduled.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Meeting {
    pub id: MeetingId,
    pub patient_id: PatientId,
    /// Local time in Europe/Oslo.
    pub at: DateTime,
    pub place: String,
    pub agenda: Vec<String>,
    pub scheduled_by: UserId,
    pub scheduled_at: Timestamp,
    /// One per care-team member active when the meeting was scheduled.
    pub invitations: Vec<Invitation>,
    pub minutes: Option<Minutes>,
}

impl Meeting {
    pub fn date(&self) -> Date {
        self.at.date()
    }

    pub fn is_held(&self) -> bool {
        self.minutes.is_some()
    }
}

/// An invitation to one member; the messaging system delivers it and keeps receipts.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Invitation {
    pub meeting_id: MeetingId,
    pub user_id: UserId,
    pub organisation_id: OrganisationId,
    pub invited_at: Timestamp,
}

/// The minutes (referat) written after a meeting. Written once.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Minutes {
    pub meeting_id: MeetingId,
    /// Recorded explicitly: the patient is the group's most important member.
    pub patient_present: bool,
    /// Every invited member: (user, present).
    pub attendance: Vec<(UserId, bool)>,
    pub text: String,
    pub decisions: Vec<String>,
    /// The meeting date plus the interval, proposed when the minutes are written.
    pub next_meeting_proposed: Date,
    pub recorded_by: UserId,
    pub recorded_at: Timestamp,
}

/// A meeting as typed.
#[derive(Debug, Clone, Default)]
pub struct MeetingInput {
    pub date: String,
    pub time: String,
    pub place: String,
    /// One item per entry; an entry may hold several lines.
    pub agenda: Vec<String>,
}

/// What a meeting input parses to.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MeetingContent {
    pub at: DateTime,
    pub place: String,
    pub agenda: Vec<String>,
}

impl MeetingInput {
    /// A meeting is scheduled for today or later, at a place, with an agenda.
    pub fn parse(&self, today: Date) -> Result<MeetingContent, FieldErrors> {
        let mut errors = FieldErrors::default();
        let date = parse_date(&self.date);
        match date {
            None => errors.push("date", "Skriv datoen som dd.mm.åååå."),
            Some(d) if d < today => {
                errors.push("date", "Et møte kan ikke kalles inn til en dato som har vært.")
            }
            Some(_) => {}
        }
        let time = parse_time(&self.time);
        if time.is_none() {
            errors.push("time", "Skriv klokkeslettet som tt.mm.");
        }
        let place = self.place.trim().to_string();
        if place.is_empty() {
            errors.push("place", "Skriv hvor møtet holdes.");
        } else if place.chars().count() > MAX_LINE {
            errors.push("place", format!("Stedet kan være høyst {MAX_LINE} tegn."));
        }
        let agenda = check_items(&mut errors, "agenda", &self.agenda, "sakslisten");
        if agenda.is_empty() {
            errors.push("agenda", "Skriv minst én sak på sakslisten.");
        }
        match (date, time) {
            (Some(date), Some(time)) if errors.is_empty() => Ok(MeetingContent {
                at: date.to_datetime(time),
                place,
                agenda,
            }),
            _ => Err(errors),
        }
    }
}

/// Minutes as typed. `attended` names the invited members who were there; those
/// not named were absent.
#[derive(Debug, Clone, Default)]
pub struct MinutesInput {
    /// "yes" or "no"; nothing else, since it must be recorded explicitly.
    pub patient_present: String,
    pub attended: Vec<UserId>,
    pub text: String,
    pub decisions: Vec<String>,
}

/// What minutes input parses to.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MinutesContent {
    pub patient_present: bool,
    pub attendance: Vec<(UserId, bool)>,
    pub text: String,
    pub decisions: Vec<String>,
    pub next_meeting_proposed: Date,
}

impl MinutesInput {
    /// Minutes are written once, on or after the meeting day, and say whether the
    /// patient was there.
    pub fn parse(
        &self,
        meeting: &Meeting,
        today: Date,
        interval_days: i64,
    ) -> Result<MinutesContent, FieldErrors> {
        let mut errors = FieldErrors::default();
        if meeting.is_held() {
            errors.push("meeting", "Referatet for dette møtet er allerede skrevet.");
        }
        if meeting.date() > today {
            errors.push("meeting", "Referatet skrives etter møtet.");
        }
        let patient_present = match self.patient_present.trim() {
            "yes" | "true" => Some(true),
            "no" | "false" => Some(false),
            _ => {
                errors.push("patient_present", "Velg om pasienten var til stede.");
                None
            }
        };
        let invited: Vec<UserId> = meeting.invitations.iter().map(|i| i.user_id).collect();
        if self.attended.iter().any(|u| !invited.contains(u)) {
            errors.push("attendance", "Bare inviterte medlemmer kan føres som til stede.");
        }
        let text = self.text.trim().to_string();
        if text.is_empty() {
            errors.push("text", "Skriv referatet.");
        } else if text.chars().count() > MAX_TEXT {
            errors.push("text", format!("Referatet kan være høyst {MAX_TEXT} tegn."));
        }
        let decisions = check_items(&mut errors, "decisions", &self.decisions, "vedtakene");
        match patient_present {
            Some(patient_present) if errors.is_empty() => Ok(MinutesContent {
                patient_present,
                attendance: invited.iter().map(|u| (*u, self.attended.contains(u))).collect(),
                text,
                decisions,
                next_meeting_proposed: next_meeting_date(meeting.date(), interval_days),
            }),
            _ => Err(errors),
        }
    }
}

/// The date the next meeting is due: the last meeting's date plus the interval.
pub fn next_meeting_date(held_on: Date, interval_days: i64) -> Date {
    held_on
        .checked_add(jiff::Span::new().days(interval_days.max(1)))
        .unwrap_or(held_on)
}

/// Why a patient's responsibility group is behind.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum MeetingOverdue {
    /// A scheduled meeting's day has passed and no minutes are written.
    MinutesMissing { meeting: MeetingId, on: Date },
    /// No meeting has been held within the interval since the last one (or since the
    /// group was formed).
    IntervalPassed { last_held: Option<Date>, due: Date },
}

impl MeetingOverdue {
    pub fn label_nb(&self) -> String {
        match self {
            Self::MinutesMissing { on, .. } => {
                format!("Møtet {} mangler referat", crate::format::date_nb(*on))
            }
            Self::IntervalPassed {
                last_held: Some(last),
                due,
            } => format!(
                "Ingen møte siden {}; forfalt {}",
                crate::format::date_nb(*last),
                crate::format::date_nb(*due)
            ),
            Self::IntervalPassed { last_held: None, due } => format!(
                "Ansvarsgruppen har ikke møttes; første møte forfalt {}",
                crate::format::date_nb(*due)
            ),
        }
    }
}

/// What is overdue about a patient's meetings today. `group_formed` is the day the
/// group got its coordinator; without it, only missing minutes count.
pub fn overdue_meetings(
    meetings: &[Meeting],
    group_formed: Option<Date>,
    interval_days: i64,
    today: Date,
) -> Vec<MeetingOverdue> {
    let mut overdue: Vec<MeetingOverdue> = meetings
        .iter()
        .filter(|m| !m.is_held() && m.date() < today)
        .map(|m| MeetingOverdue::MinutesMissing {
            meeting: m.id,
            on: m.date(),
        })
        .collect();
    let last_held = meetings.iter().filter(|m| m.is_held()).map(Meeting::date).max();
    let since = last_held.or(group_formed);
    if let Some(since) = since {
        let due = next_meeting_date(since, interval_days);
        if due < today {
            overdue.push(MeetingOverdue::IntervalPassed { last_held, due });
        }
    }
    overdue
}

/// The next scheduled meeting not yet held, on or after today.
pub fn next_meeting(meetings: &[Meeting], today: Date) -> Option<&Meeting> {
    meetings
        .iter()
        .filter(|m| !m.is_held() && m.date() >= today)
        .min_by_key(|m| m.at)
}

/// Whether someone the access policy lets write the plan may also convene the
/// group and write its minutes: the coordinator, or clinical staff of the
/// responsible LAR unit.
pub fn may_convene(
    actor: UserId,
    allowed_by: crate::access::AllowedBy,
    care_team: &[crate::privacy::CareTeamMember],
    now: Timestamp,
) -> bool {
    allowed_by == crate::access::AllowedBy::ResponsibleLarUnit || is_coordinator(actor, care_team, now)
}

/// Whether the user holds the group's active coordinator seat.
pub fn is_coordinator(actor: UserId, care_team: &[crate::privacy::CareTeamMember], now: Timestamp) -> bool {
    care_team
        .iter()
        .any(|m| m.user_id == actor && m.role == crate::privacy::TeamRole::Coordinator && m.is_active_at(now))
}

/// The day the group got its coordinator, from which the first meeting falls due.
pub fn group_formed(care_team: &[crate::privacy::CareTeamMember]) -> Option<Date> {
    care_team
        .iter()
        .filter(|m| m.role == crate::privacy::TeamRole::Coordinator && m.ended.is_none())
        .map(|m| crate::time::oslo_date(m.added_at))
        .min()
}

#[cfg(test)]
mod tests {
    use super::*;
    use jiff::civil::{date, time};

    fn meeting(on: Date, held: bool) -> Meeting {
        let id = MeetingId::new();
        Meeting {
            id,
            patient_id: PatientId::new(),
            at: on.to_datetime(time(10, 0, 0, 0)),
            place: "Rådhuset".into(),
            agenda: vec!["Bolig".into()],
            scheduled_by: UserId::new(),
            scheduled_at: Timestamp::UNIX_EPOCH,
            invitations: Vec::new(),
            minutes: held.then(|| Minutes {
                meeting_id: id,
                patient_present: true,
                attendance: Vec::new(),
                text: "Referat".into(),
                decisions: Vec::new(),
                next_meeting_proposed: next_meeting_date(on, 42),
                recorded_by: UserId::new(),
                recorded_at: Timestamp::UNIX_EPOCH,
            }),
        }
    }

    #[test]
    fn the_next_meeting_is_proposed_one_interval_after_the_last() {
        assert_eq!(next_meeting_date(date(2026, 11, 23), 42), date(2027, 1, 4));
        assert_eq!(
            next_meeting_date(date(2026, 11, 23), 0),
            date(2026, 11, 24),
            "at least a day"
        );
    }

    #[test]
    fn a_meeting_is_overdue_when_the_interval_passes_or_its_minutes_are_missing() {
        let today = date(2026, 11, 23);
        let held = meeting(date(2026, 10, 1), true);
        // 1 Oct + 42 days = 12 Nov, before today.
        let overdue = overdue_meetings(std::slice::from_ref(&held), None, 42, today);
        assert_eq!(
            overdue,
            vec![MeetingOverdue::IntervalPassed {
                last_held: Some(date(2026, 10, 1)),
                due: date(2026, 11, 12)
            }]
        );
        // Held recently: nothing due.
        let recent = meeting(date(2026, 11, 1), true);
        assert!(overdue_meetings(std::slice::from_ref(&recent), None, 42, today).is_empty());
        // A scheduled meeting whose day passed without minutes.
        let missed = meeting(date(2026, 11, 20), false);
        let overdue = overdue_meetings(&[recent.clone(), missed.clone()], None, 42, today);
        assert_eq!(
            overdue,
            vec![MeetingOverdue::MinutesMissing {
                meeting: missed.id,
                on: date(2026, 11, 20)
            }]
        );
        // A group that never met counts from the day it was formed.
        let formed = date(2026, 9, 1);
        assert_eq!(overdue_meetings(&[], Some(formed), 42, today).len(), 1);
        assert!(overdue_meetings(&[], Some(date(2026, 11, 1)), 42, today).is_empty());
        assert!(overdue_meetings(&[], None, 42, today).is_empty());
        // Today's meeting is not overdue yet, and is the next one.
        let todays = meeting(today, false);
        assert!(overdue_meetings(std::slice::from_ref(&todays), None, 42, today).is_empty());
        assert_eq!(
            next_meeting(std::slice::from_ref(&todays), today).map(|m| m.id),
            Some(todays.id)
        );
    }

    #[test]
    fn minutes_are_written_once_after_the_meeting_and_record_whether_the_patient_came() {
        let today = date(2026, 11, 23);
        let member = UserId::new();
        let absent = UserId::new();
        let mut m = meeting(today, false);
        for user in [member, absent] {
            m.invitations.push(Invitation {
                meeting_id: m.id,
                user_id: user,
                organisation_id: OrganisationId::new(),
                invited_at: Timestamp::UNIX_EPOCH,
            });
        }
        let errors = MinutesInput::default().parse(&m, today, 42).unwrap_err();
        assert!(errors.for_field("patient_present").is_some());
        assert!(errors.for_field("text").is_some());
        let input = MinutesInput {
            patient_present: "yes".into(),
            attended: vec![member],
            text: "Gikk gjennom planen".into(),
            decisions: vec!["Søke bolig\n\nStarte på kurs".into()],
        };
        let content = input.parse(&m, today, 42).unwrap();
        assert!(content.patient_present);
        assert_eq!(content.attendance, vec![(member, true), (absent, false)]);
        assert_eq!(content.decisions, vec!["Søke bolig", "Starte på kurs"]);
        assert_eq!(content.next_meeting_proposed, date(2027, 1, 4));
        // Not before the meeting, and not twice.
        let yesterday = date(2026, 11, 22);
        assert!(
            input
                .parse(&m, yesterday, 42)
                .unwrap_err()
                .for_field("meeting")
                .is_some()
        );
        let held = meeting(today, true);
        assert!(input.parse(&held, today, 42).is_err());
    }
}
