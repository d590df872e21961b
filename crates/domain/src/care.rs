//! The responsibility group's work (DOMAIN.md, "Collaboration"): meetings
//! (ansvarsgruppemøter) with invitations and minutes, tasks with an owner and a due
//! date, and the individual plan (individuell plan) with the patient's own goals per
//! life domain. All append-only: a task's status change and a plan's save are new
//! records; nothing is overwritten.

use jiff::Timestamp;
use jiff::civil::{Date, DateTime};

use crate::ids::{MeetingId, OrganisationId, PatientId, PlanVersionId, TaskId, TaskStatusId, UserId};
use crate::validation::{FieldErrors, parse_date, parse_time};

const MAX_TEXT: usize = 4000;
const MAX_LINE: usize = 300;

// ------------------------------------------------------------------ life domains

/// The life domains of the individual plan (DOMAIN.md).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum LifeDomain {
    SubstanceUse,
    MentalHealth,
    SomaticHealth,
    DentalHealth,
    Nutrition,
    Housing,
    WorkActivity,
    Economy,
    Network,
    ParticipationRights,
}

impl LifeDomain {
    pub const ALL: [LifeDomain; 10] = [
        Self::SubstanceUse,
        Self::MentalHealth,
        Self::SomaticHealth,
        Self::DentalHealth,
        Self::Nutrition,
        Self::Housing,
        Self::WorkActivity,
        Self::Economy,
        Self::Network,
        Self::ParticipationRights,
    ];

    pub fn code(self) -> &'static str {
        match self {
            Self::SubstanceUse => "substance_use",
            Self::MentalHealth => "mental_health",
            Self::SomaticHealth => "somatic_health",
            Self::DentalHealth => "dental_health",
            Self::Nutrition => "nutrition",
            Self::Housing => "housing",
            Self::WorkActivity => "work_activity",
            Self::Economy => "economy",
            Self::Network => "network",
            Self::ParticipationRights => "participation_rights",
        }
    }

    pub fn from_code(code: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|d| d.code() == code)
    }

    pub fn label_nb(self) -> &'static str {
        match self {
            Self::SubstanceUse => "Rusmestring",
            Self::MentalHealth => "Psykisk helse",
            Self::SomaticHealth => "Somatisk helse",
            Self::DentalHealth => "Tannhelse",
            Self::Nutrition => "Ernæring",
            Self::Housing => "Bolig",
            Self::WorkActivity => "Arbeid og meningsfull aktivitet",
            Self::Economy => "Økonomi",
            Self::Network => "Nettverk og pårørende",
            Self::ParticipationRights => "Medvirkning og rettigheter",
        }
    }
}

/// Splits typed lines (agenda items, decisions) into trimmed, non-empty items.
pub fn lines(text: &str) -> Vec<String> {
    text.lines()
        .map(str::trim)
        .filter(|l| !l.is_empty())
        .map(str::to_string)
        .collect()
}

fn check_items(errors: &mut FieldErrors, field: &'static str, items: &[String], what: &str) -> Vec<String> {
    let items: Vec<String> = items.iter().flat_map(|i| lines(i)).collect();
    if items.iter().any(|i| i.chars().count() > MAX_LINE) {
        errors.push(
            field,
            format!("Hvert punkt i {what} kan være høyst {MAX_LINE} tegn."),
        );
    }
    items
}

// ----------------------------------------------------------------------- meetings

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

// -------------------------------------------------------------------------- tasks

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum TaskStatus {
    Open,
    Done,
    Cancelled,
}

impl TaskStatus {
    pub const ALL: [TaskStatus; 3] = [Self::Open, Self::Done, Self::Cancelled];

    pub fn code(self) -> &'static str {
        match self {
            Self::Open => "open",
            Self::Done => "done",
            Self::Cancelled => "cancelled",
        }
    }

    pub fn from_code(code: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|s| s.code() == code)
    }

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

// ---------------------------------------------------------------- individual plan

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PlanStatus {
    Active,
    /// The patient declined the plan; recorded, not overridden.
    Declined,
}

impl PlanStatus {
    pub fn code(self) -> &'static str {
        match self {
            Self::Active => "active",
            Self::Declined => "declined",
        }
    }

    pub fn from_code(code: &str) -> Option<Self> {
        [Self::Active, Self::Declined]
            .into_iter()
            .find(|s| s.code() == code)
    }

    pub fn label_nb(self) -> &'static str {
        match self {
            Self::Active => "Aktiv",
            Self::Declined => "Pasienten har takket nei",
        }
    }
}

/// A measure (tiltak) and the service responsible for it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Measure {
    pub description: String,
    pub responsible: OrganisationId,
}

/// The patient's goal in one life domain, in their own words.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PlanGoal {
    pub domain: LifeDomain,
    pub goal: String,
    pub measures: Vec<Measure>,
    pub evaluate_on: Option<Date>,
}

/// One version of the whole plan. Every save is a new version.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PlanVersion {
    pub id: PlanVersionId,
    pub patient_id: PatientId,
    pub version: i64,
    pub status: PlanStatus,
    /// The day the patient declined, on a declined version.
    pub declined_on: Option<Date>,
    pub goals: Vec<PlanGoal>,
    pub reason: String,
    pub recorded_by: UserId,
    pub recorded_at: Timestamp,
}

impl PlanVersion {
    /// The goals whose evaluation date is on or before today, on an active plan.
    pub fn goals_due_for_evaluation(&self, today: Date) -> Vec<&PlanGoal> {
        if self.status != PlanStatus::Active {
            return Vec::new();
        }
        self.goals
            .iter()
            .filter(|g| g.evaluate_on.is_some_and(|d| d <= today))
            .collect()
    }
}

/// The latest version of a plan.
pub fn current_plan(versions: &[PlanVersion]) -> Option<&PlanVersion> {
    versions.iter().max_by_key(|v| v.version)
}

/// What is done to the plan.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PlanAction {
    /// Offer the plan: the first version, active, no goals yet.
    Initiate,
    /// A new version with the goals as given.
    Save,
    /// The patient declines: a new version recording it, the goals kept.
    Decline,
    /// The patient wants the plan after all: a new active version.
    Resume,
}

impl PlanAction {
    pub fn from_code(code: &str) -> Option<Self> {
        match code {
            "initiate" => Some(Self::Initiate),
            "save" => Some(Self::Save),
            "decline" => Some(Self::Decline),
            "resume" => Some(Self::Resume),
            _ => None,
        }
    }
}

/// A goal as typed.
#[derive(Debug, Clone, Default)]
pub struct GoalInput {
    pub domain: String,
    pub goal: String,
    /// (description, responsible organisation id)
    pub measures: Vec<(String, String)>,
    pub evaluate_on: String,
}

/// A plan save as typed.
#[derive(Debug, Clone, Default)]
pub struct PlanInput {
    pub action: String,
    pub reason: String,
    pub goals: Vec<GoalInput>,
}

/// What the new version holds.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PlanContent {
    pub version: i64,
    pub status: PlanStatus,
    pub declined_on: Option<Date>,
    pub goals: Vec<PlanGoal>,
    pub reason: String,
}

impl PlanInput {
    /// Checks a plan action against the current version and makes the next one.
    /// `organisations` are the services a measure can name.
    pub fn parse(
        &self,
        current: Option<&PlanVersion>,
        organisations: &[OrganisationId],
        today: Date,
    ) -> Result<PlanContent, FieldErrors> {
        let mut errors = FieldErrors::default();
        let Some(action) = PlanAction::from_code(self.action.trim()) else {
            return Err(FieldErrors::single(
                "action",
                "Velg hva som skal gjøres med planen.",
            ));
        };
        let reason = self.reason.trim().to_string();
        if reason.chars().count() > MAX_LINE * 3 {
            errors.push(
                "reason",
                format!("Begrunnelsen kan være høyst {} tegn.", MAX_LINE * 3),
            );
        }
        let version = current.map_or(1, |c| c.version + 1);
        let (status, declined_on, goals, reason) = match (action, current) {
            (PlanAction::Initiate, None) => (
                PlanStatus::Active,
                None,
                Vec::new(),
                if reason.is_empty() {
                    "Individuell plan tilbudt og startet".to_string()
                } else {
                    reason
                },
            ),
            (PlanAction::Initiate, Some(_)) => {
                errors.push("action", "Planen er allerede startet.");
                return Err(errors);
            }
            (_, None) => {
                errors.push("action", "Start planen først.");
                return Err(errors);
            }
            (PlanAction::Save, Some(c)) => {
                if c.status == PlanStatus::Declined {
                    errors.push(
                        "action",
                        "Pasienten har takket nei til planen. Gjenoppta den først.",
                    );
                }
                if reason.is_empty() {
                    errors.push("reason", "Skriv hva som er endret i planen.");
                }
                let goals = parse_goals(&mut errors, &self.goals, organisations);
                (PlanStatus::Active, None, goals, reason)
            }
            (PlanAction::Decline, Some(c)) => {
                if c.status == PlanStatus::Declined {
                    errors.push("action", "Pasienten har allerede takket nei til planen.");
                }
                if reason.is_empty() {
                    errors.push("reason", "Skriv hva pasienten sa, eller hvorfor.");
                }
                (PlanStatus::Declined, Some(today), c.goals.clone(), reason)
            }
            (PlanAction::Resume, Some(c)) => {
                if c.status != PlanStatus::Declined {
                    errors.push("action", "Planen er allerede aktiv.");
                }
                if reason.is_empty() {
                    errors.push("reason", "Skriv hvorfor planen gjenopptas.");
                }
                (PlanStatus::Active, None, c.goals.clone(), reason)
            }
        };
        errors.into_result(PlanContent {
            version,
            status,
            declined_on,
            goals,
            reason,
        })
    }
}

fn parse_goals(
    errors: &mut FieldErrors,
    inputs: &[GoalInput],
    organisations: &[OrganisationId],
) -> Vec<PlanGoal> {
    let mut goals: Vec<PlanGoal> = Vec::new();
    for input in inputs {
        let blank = input.goal.trim().is_empty()
            && input.measures.iter().all(|(d, _)| d.trim().is_empty())
            && input.evaluate_on.trim().is_empty();
        let domain = LifeDomain::from_code(input.domain.trim());
        let Some(domain) = domain else {
            errors.push("goals", "Et mål gjelder et livsområde som ikke finnes.");
            continue;
        };
        if blank {
            continue;
        }
        if goals.iter().any(|g| g.domain == domain) {
            errors.push(
                "goals",
                format!(
                    "{} står to ganger; skriv ett mål per livsområde.",
                    domain.label_nb()
                ),
            );
            continue;
        }
        let goal = input.goal.trim().to_string();
        if goal.is_empty() {
            errors.push(
                "goals",
                format!(
                    "{}: skriv pasientens mål med pasientens egne ord.",
                    domain.label_nb()
                ),
            );
        } else if goal.chars().count() > MAX_TEXT {
            errors.push(
                "goals",
                format!("{}: målet kan være høyst {MAX_TEXT} tegn.", domain.label_nb()),
            );
        }
        let mut measures = Vec::new();
        for (description, responsible) in &input.measures {
            let description = description.trim();
            if description.is_empty() && responsible.trim().is_empty() {
                continue;
            }
            let responsible = responsible
                .trim()
                .parse::<OrganisationId>()
                .ok()
                .filter(|o| organisations.contains(o));
            match (description.is_empty(), responsible) {
                (true, _) => errors.push("measures", format!("{}: beskriv tiltaket.", domain.label_nb())),
                (false, None) => errors.push(
                    "measures",
                    format!(
                        "{}: velg hvilken tjeneste som har ansvaret for tiltaket.",
                        domain.label_nb()
                    ),
                ),
                (false, Some(responsible)) => measures.push(Measure {
                    description: description.to_string(),
                    responsible,
                }),
            }
        }
        let evaluate_on = match input.evaluate_on.trim() {
            "" => None,
            raw => {
                let parsed = parse_date(raw);
                if parsed.is_none() {
                    errors.push(
                        "evaluate_on",
                        format!("{}: skriv evalueringsdatoen som dd.mm.åååå.", domain.label_nb()),
                    );
                }
                parsed
            }
        };
        goals.push(PlanGoal {
            domain,
            goal,
            measures,
            evaluate_on,
        });
    }
    goals.sort_by_key(|g| g.domain);
    goals
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

    fn version_from(content: PlanContent) -> PlanVersion {
        PlanVersion {
            id: PlanVersionId::new(),
            patient_id: PatientId::new(),
            version: content.version,
            status: content.status,
            declined_on: content.declined_on,
            goals: content.goals,
            reason: content.reason,
            recorded_by: UserId::new(),
            recorded_at: Timestamp::UNIX_EPOCH,
        }
    }

    #[test]
    fn the_plan_is_initiated_once_versioned_on_every_save_and_a_decline_is_recorded_and_can_be_reverted() {
        let today = date(2026, 11, 23);
        let nav = OrganisationId::new();
        let action = |a: &str, reason: &str| PlanInput {
            action: a.into(),
            reason: reason.into(),
            goals: Vec::new(),
        };
        assert!(
            action("save", "x").parse(None, &[nav], today).is_err(),
            "initiate first"
        );
        let v1 = version_from(action("initiate", "").parse(None, &[nav], today).unwrap());
        assert_eq!((v1.version, v1.status), (1, PlanStatus::Active));
        assert!(action("initiate", "").parse(Some(&v1), &[nav], today).is_err());

        let save = PlanInput {
            action: "save".into(),
            reason: "Mål fra møtet".into(),
            goals: vec![
                GoalInput {
                    domain: "housing".into(),
                    goal: "Jeg vil ha min egen leilighet".into(),
                    measures: vec![("Søke kommunal bolig".into(), nav.to_string())],
                    evaluate_on: "01.03.2027".into(),
                },
                GoalInput {
                    domain: "economy".into(),
                    ..Default::default()
                },
            ],
        };
        let v2 = version_from(save.parse(Some(&v1), &[nav], today).unwrap());
        assert_eq!(v2.version, 2);
        assert_eq!(v2.goals.len(), 1, "a blank domain is left out");
        assert_eq!(v2.goals[0].domain, LifeDomain::Housing);
        assert!(v2.goals_due_for_evaluation(today).is_empty());
        assert_eq!(v2.goals_due_for_evaluation(date(2027, 3, 1)).len(), 1);

        let errors = action("decline", "").parse(Some(&v2), &[nav], today).unwrap_err();
        assert!(errors.for_field("reason").is_some());
        let v3 = version_from(
            action("decline", "Vil ikke ha plan nå")
                .parse(Some(&v2), &[nav], today)
                .unwrap(),
        );
        assert_eq!(
            (v3.version, v3.status, v3.declined_on),
            (3, PlanStatus::Declined, Some(today))
        );
        assert_eq!(v3.goals, v2.goals, "the goals are kept");
        assert!(v3.goals_due_for_evaluation(date(2027, 3, 1)).is_empty());
        assert!(
            save.parse(Some(&v3), &[nav], today).is_err(),
            "a declined plan is not edited"
        );
        let v4 = version_from(
            action("resume", "Ønsker plan likevel")
                .parse(Some(&v3), &[nav], today)
                .unwrap(),
        );
        assert_eq!((v4.version, v4.status), (4, PlanStatus::Active));
        assert_eq!(
            current_plan(&[v1, v2, v3, v4.clone()]).map(|v| v.version),
            Some(4)
        );
    }

    #[test]
    fn a_goal_needs_the_patients_words_and_a_measure_a_responsible_service() {
        let v1 = PlanVersion {
            id: PlanVersionId::new(),
            patient_id: PatientId::new(),
            version: 1,
            status: PlanStatus::Active,
            declined_on: None,
            goals: Vec::new(),
            reason: String::new(),
            recorded_by: UserId::new(),
            recorded_at: Timestamp::UNIX_EPOCH,
        };
        let input = PlanInput {
            action: "save".into(),
            reason: "Ny".into(),
            goals: vec![
                GoalInput {
                    domain: "housing".into(),
                    goal: "".into(),
                    measures: vec![("Søke bolig".into(), OrganisationId::new().to_string())],
                    evaluate_on: "snart".into(),
                },
                GoalInput {
                    domain: "nowhere".into(),
                    goal: "x".into(),
                    ..Default::default()
                },
            ],
        };
        let errors = input.parse(Some(&v1), &[], date(2026, 11, 23)).unwrap_err();
        for field in ["goals", "measures", "evaluate_on"] {
            assert!(errors.for_field(field).is_some(), "{field}: {errors}");
        }
    }

    #[test]
    fn every_life_domain_has_a_code_and_a_norwegian_label() {
        for domain in LifeDomain::ALL {
            assert_eq!(LifeDomain::from_code(domain.code()), Some(domain));
            assert!(!domain.label_nb().is_empty());
        }
    }
}
