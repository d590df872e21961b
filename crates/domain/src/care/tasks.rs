//! Tasks (oppgaver) with an owner and a due date; every status change is a new
//! record with who and when.

use jiff::Timestamp;
use jiff::civil::Date;

use super::{MAX_LINE, may_convene};
use crate::ids::{MeetingId, PatientId, TaskId, TaskStatusId, UserId};
use crate::validation::{FieldErrors, parse_date};

crate::coded! {
    #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
    pub enum TaskStatus {
        Open = "open",
        Done = "done",
        Cancelled = "cancelled",
    }
}

impl TaskStatus {
    pub fn label_nb(self) -> &'static str {
        match self {
            Self::Open => "Åpen",
            Self::Done => "Utført",
            Self::Cancelled => "Avlyst",
        }
    }
}

/// One status change of a task: a new row, with who and when.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TaskStatusChange {
    pub id: TaskStatusId,
    pub task_id: TaskId,
    /// 1 for the first change; unique per task, so two changes cannot race.
    pub seq: i64,
    pub status: TaskStatus,
    pub note: String,
    pub changed_by: UserId,
    pub changed_at: Timestamp,
}

/// A task (oppgave), from a meeting or on its own.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Task {
    pub id: TaskId,
    pub patient_id: PatientId,
    pub meeting_id: Option<MeetingId>,
    pub description: String,
    pub owner: UserId,
    pub due_on: Date,
    pub created_by: UserId,
    pub created_at: Timestamp,
    /// Status changes, oldest first.
    pub changes: Vec<TaskStatusChange>,
}

impl Task {
    /// The latest status; a task without changes is open.
    pub fn status(&self) -> TaskStatus {
        self.changes
            .iter()
            .max_by_key(|c| c.seq)
            .map_or(TaskStatus::Open, |c| c.status)
    }

    /// Open and due before today.
    pub fn is_overdue(&self, today: Date) -> bool {
        self.status() == TaskStatus::Open && self.due_on < today
    }

    /// Checks a status change: it must change something. Returns the change's seq.
    pub fn check_change(&self, status: &str) -> Result<(TaskStatus, i64), FieldErrors> {
        let Some(status) = TaskStatus::from_code(status.trim()) else {
            return Err(FieldErrors::single("status", "Velg ny status for oppgaven."));
        };
        if status == self.status() {
            return Err(FieldErrors::single(
                "status",
                format!("Oppgaven har allerede status «{}».", status.label_nb()),
            ));
        }
        let seq = self.changes.iter().map(|c| c.seq).max().unwrap_or(0) + 1;
        Ok((status, seq))
    }

    /// Who may change the status: the owner, the coordinator, or the responsible
    /// LAR unit.
    pub fn may_change(
        &self,
        actor: UserId,
        allowed_by: crate::access::AllowedBy,
        care_team: &[crate::privacy::CareTeamMember],
        now: Timestamp,
    ) -> bool {
        self.owner == actor || may_convene(actor, allowed_by, care_team, now)
    }
}

/// A task as typed. `owner` is checked against the staff by the caller.
#[derive(Debug, Clone, Default)]
pub struct TaskInput {
    pub description: String,
    pub owner: String,
    pub due_on: String,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TaskContent {
    pub description: String,
    pub owner: UserId,
    pub due_on: Date,
}

impl TaskInput {
    pub fn is_blank(&self) -> bool {
        self.description.trim().is_empty() && self.owner.trim().is_empty() && self.due_on.trim().is_empty()
    }

    /// A task needs a description, an owner among `staff` and a due date not past.
    /// Field names get `prefix` (e.g. "task_") so a form with several tasks can
    /// name the right one.
    pub fn parse(
        &self,
        staff: &[UserId],
        today: Date,
        fields: [&'static str; 3],
    ) -> Result<TaskContent, FieldErrors> {
        let [f_description, f_owner, f_due] = fields;
        let mut errors = FieldErrors::default();
        let description = self.description.trim().to_string();
        if description.is_empty() {
            errors.push(f_description, "Beskriv oppgaven.");
        } else if description.chars().count() > MAX_LINE * 3 {
            errors.push(
                f_description,
                format!("Beskrivelsen kan være høyst {} tegn.", MAX_LINE * 3),
            );
        }
        let owner = self
            .owner
            .trim()
            .parse::<UserId>()
            .ok()
            .filter(|o| staff.contains(o));
        if owner.is_none() {
            errors.push(f_owner, "Velg hvem som har ansvaret for oppgaven.");
        }
        let due_on = parse_date(&self.due_on);
        match due_on {
            None => errors.push(f_due, "Skriv fristen som dd.mm.åååå."),
            Some(d) if d < today => errors.push(f_due, "Fristen kan ikke være en dato som har vært."),
            Some(_) => {}
        }
        match (owner, due_on) {
            (Some(owner), Some(due_on)) if errors.is_empty() => Ok(TaskContent {
                description,
                owner,
                due_on,
            }),
            _ => Err(errors),
        }
    }
}

crate::coded! {
    /// What the patient asks for from the portal; each becomes a task.
    #[derive(Debug, Clone, Copy, PartialEq, Eq)]
    pub enum PatientRequestKind {
        /// A change of dispensing arrangement or place: a task for the LAR consultant.
        ArrangementChange = "arrangement_change",
        /// An item for the next meeting of the responsibility group: a task for the
        /// coordinator.
        AgendaItem = "agenda_item",
    }
}

impl PatientRequestKind {
    /// How the task the request becomes begins.
    pub fn prefix(self) -> &'static str {
        match self {
            Self::ArrangementChange => "Ønske fra pasienten om endret utlevering",
            Self::AgendaItem => "Sak til neste ansvarsgruppemøte fra pasienten",
        }
    }

    /// What the patient chooses between, in their words.
    pub fn label_nb(self) -> &'static str {
        match self {
            Self::ArrangementChange => "Endre hvor eller når jeg henter",
            Self::AgendaItem => "En sak til neste ansvarsgruppemøte",
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use jiff::civil::date;

    #[test]
    fn a_task_is_overdue_when_open_past_its_due_date_and_status_changes_must_change_something() {
        let mut task = Task {
            id: TaskId::new(),
            patient_id: PatientId::new(),
            meeting_id: None,
            description: "Søke om bostøtte".into(),
            owner: UserId::new(),
            due_on: date(2026, 11, 20),
            created_by: UserId::new(),
            created_at: Timestamp::UNIX_EPOCH,
            changes: Vec::new(),
        };
        assert_eq!(task.status(), TaskStatus::Open);
        assert!(task.is_overdue(date(2026, 11, 23)));
        assert!(!task.is_overdue(date(2026, 11, 20)), "due today is not overdue");
        assert!(task.check_change("open").is_err());
        let (status, seq) = task.check_change("done").unwrap();
        assert_eq!((status, seq), (TaskStatus::Done, 1));
        task.changes.push(TaskStatusChange {
            id: TaskStatusId::new(),
            task_id: task.id,
            seq,
            status,
            note: String::new(),
            changed_by: task.owner,
            changed_at: Timestamp::UNIX_EPOCH,
        });
        assert_eq!(task.status(), TaskStatus::Done);
        assert!(
            !task.is_overdue(date(2026, 12, 23)),
            "a done task is never overdue"
        );
        assert_eq!(task.check_change("open").unwrap().1, 2);
    }

    #[test]
    fn a_task_needs_an_owner_among_the_staff_and_a_due_date_not_past() {
        let owner = UserId::new();
        let today = date(2026, 11, 23);
        let fields = ["description", "owner", "due_on"];
        let errors = TaskInput {
            description: " ".into(),
            owner: UserId::new().to_string(),
            due_on: "22.11.2026".into(),
        }
        .parse(&[owner], today, fields)
        .unwrap_err();
        assert!(errors.for_field("description").is_some());
        assert!(errors.for_field("owner").is_some());
        assert!(errors.for_field("due_on").is_some());
        let ok = TaskInput {
            description: "Ring NAV".into(),
            owner: owner.to_string(),
            due_on: "2026-12-01".into(),
        }
        .parse(&[owner], today, fields)
        .unwrap();
        assert_eq!(ok.due_on, date(2026, 12, 1));
    }
}
