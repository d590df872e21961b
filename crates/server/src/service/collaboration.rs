//! The responsibility group's work: meetings (scheduling with invitations, minutes
//! with attendance, decisions and tasks), tasks and their status, the individual
//! plan in versions, and the coordinator's overview. Everything here is the category
//! `plan_and_goals`, read and written through [`crate::repo::PatientRepo`].

use std::collections::{HashMap, HashSet};

use samhand_domain::access::{DataCategory, PatientRelations};
use samhand_domain::care::{
    self, Invitation, Meeting, MeetingInput, MeetingOverdue, Minutes, MinutesInput, PlanGoal, PlanInput,
    PlanVersion, Task, TaskInput, TaskStatusChange,
};
use samhand_domain::ids::{
    MeetingId, OrganisationId, PatientId, PlanVersionId, TaskId, TaskStatusId, UserId,
};
use samhand_domain::organisation::{Role, StaffUser};
use samhand_domain::patient::Patient;
use samhand_domain::privacy::CareTeamMember;
use samhand_domain::validation::FieldErrors;
use samhand_store::{collaboration as store, patients, users};

use super::{PatientData, Service, conflict_from};
use crate::error::{AppError, AppResult};

/// A patient's meetings and tasks.
#[derive(Debug, Clone)]
pub struct MeetingsView {
    pub patient: Patient,
    /// Newest first.
    pub meetings: Vec<Meeting>,
    pub tasks: Vec<Task>,
    /// The active care team.
    pub care_team: Vec<CareTeamMember>,
    /// Who a task can be given to: the care team and the responsible LAR unit.
    pub task_owners: Vec<StaffUser>,
    pub overdue: Vec<MeetingOverdue>,
    pub interval_days: i64,
    /// The date the next meeting falls due, after the last one held.
    pub next_due: Option<jiff::civil::Date>,
    /// Whether the actor may convene the group and write minutes.
    pub may_convene: bool,
    pub names: HashMap<UserId, String>,
    pub organisations: crate::directory::Organisations,
    pub today: jiff::civil::Date,
}

impl MeetingsView {
    pub fn meeting(&self, id: MeetingId) -> Option<&Meeting> {
        self.meetings.iter().find(|m| m.id == id)
    }
}

/// A meeting as an invitee without the plan shared sees it.
#[derive(Debug, Clone)]
pub struct InvitationView {
    pub patient: Patient,
    /// The agenda and minutes are not shown from it.
    pub meeting: Meeting,
    pub names: HashMap<UserId, String>,
    pub organisations: crate::directory::Organisations,
}

/// The tasks a staff member owns.
#[derive(Debug, Clone)]
pub struct MyTasks {
    /// Open tasks first, by due date, with the patient.
    pub tasks: Vec<(Task, Patient)>,
    /// Tasks on patients whose plan the owner cannot read now (no consent).
    pub hidden: usize,
    pub today: jiff::civil::Date,
}

/// A patient's individual plan: the version in force and every version.
#[derive(Debug, Clone)]
pub struct PlanView {
    pub patient: Patient,
    pub current: Option<PlanVersion>,
    /// Newest first.
    pub history: Vec<PlanVersion>,
    pub names: HashMap<UserId, String>,
    pub organisations: crate::directory::Organisations,
    pub today: jiff::civil::Date,
}

/// One patient's line on the coordinator's overview.
#[derive(Debug, Clone)]
pub struct GroupStatus {
    pub patient: Patient,
    pub next_meeting: Option<Meeting>,
    pub overdue_meetings: Vec<MeetingOverdue>,
    pub open_tasks: Vec<Task>,
    pub plan: Option<PlanVersion>,
    pub goals_due: Vec<PlanGoal>,
}

impl GroupStatus {
    pub fn overdue_tasks(&self, today: jiff::civil::Date) -> impl Iterator<Item = &Task> {
        self.open_tasks.iter().filter(move |t| t.is_overdue(today))
    }
}

#[derive(Debug, Clone)]
pub struct CoordinatorOverview {
    pub rows: Vec<GroupStatus>,
    pub names: HashMap<UserId, String>,
    pub interval_days: i64,
    pub today: jiff::civil::Date,
}

const DETAIL_MEETINGS: &str = "responsibility group: meetings and tasks";

impl Service<'_> {
    /// Staff who can own a task on the patient: the active care team and clinical
    /// staff of the responsible LAR units.
    pub(super) async fn task_owners(&self, data: &PatientData) -> AppResult<Vec<StaffUser>> {
        let now = self.now();
        let mut conn = self.state.store.read().await?;
        let mut owners: Vec<StaffUser> = Vec::new();
        let mut units: Vec<OrganisationId> = data.episodes.iter().map(|e| e.responsible_unit).collect();
        units.sort();
        units.dedup();
        for unit in units {
            owners.extend(
                users::by_organisation(&mut conn, unit)
                    .await?
                    .into_iter()
                    .filter(|u| matches!(u.role, Role::Prescriber | Role::LarConsultant | Role::Coordinator)),
            );
        }
        for member in data.privacy.care_team.iter().filter(|m| m.is_active_at(now)) {
            if let Some(record) = users::by_id(&mut conn, member.user_id).await? {
                owners.push(record.user);
            }
        }
        let mut seen = HashSet::new();
        owners.retain(|u| seen.insert(u.id));
        owners.sort_by(|a, b| a.display_name.cmp(&b.display_name));
        Ok(owners)
    }

    /// The patient's meetings and tasks.
    pub async fn meetings(&self, patient_id: PatientId) -> AppResult<MeetingsView> {
        let patient = self.patient(patient_id).await?;
        let data = self.patient_data(patient_id).await?;
        let now = self.now();
        let relations = data.relations(patient_id, now);
        self.repo
            .authorize_read_all_with(
                patient_id,
                &relations,
                &[DataCategory::PlanAndGoals],
                DETAIL_MEETINGS,
            )
            .await?;
        let (mut meetings, tasks) = {
            let mut conn = self.state.store.read().await?;
            (
                store::meetings_of(&mut conn, &[patient_id]).await?,
                store::tasks_of(&mut conn, &[patient_id]).await?,
            )
        };
        let today = self.today();
        let interval_days = self.policy().await?.meeting_interval_days;
        let overdue = care::overdue_meetings(
            &meetings,
            care::group_formed(&data.privacy.care_team),
            interval_days,
            today,
        );
        let next_due = meetings
            .iter()
            .filter(|m| m.is_held())
            .map(Meeting::date)
            .max()
            .map(|d| care::next_meeting_date(d, interval_days));
        let may_convene = match self.actor().staff() {
            Some(staff) => {
                let decision = self.repo.decision(
                    &relations,
                    DataCategory::PlanAndGoals,
                    samhand_domain::access::Action::Write,
                );
                match decision {
                    samhand_domain::access::Decision::Allow(by) => {
                        care::may_convene(staff.id, by, &data.privacy.care_team, now)
                    }
                    samhand_domain::access::Decision::Deny => false,
                }
            }
            None => false,
        };
        let task_owners = self.task_owners(&data).await?;
        let care_team: Vec<CareTeamMember> = data
            .privacy
            .care_team
            .iter()
            .filter(|m| m.is_active_at(now))
            .cloned()
            .collect();
        let mut people: Vec<UserId> = care_team.iter().map(|m| m.user_id).collect();
        for m in &meetings {
            people.push(m.scheduled_by);
            people.extend(m.invitations.iter().map(|i| i.user_id));
            if let Some(minutes) = &m.minutes {
                people.push(minutes.recorded_by);
            }
        }
        for t in &tasks {
            people.push(t.owner);
            people.push(t.created_by);
            people.extend(t.changes.iter().map(|c| c.changed_by));
        }
        let names = self.names(people).await?;
        meetings.reverse();
        Ok(MeetingsView {
            patient,
            meetings,
            tasks,
            care_team,
            task_owners,
            overdue,
            interval_days,
            next_due,
            may_convene,
            names,
            organisations: self.organisations().await?,
            today,
        })
    }

    /// Checks that the actor may convene the patient's group; a refusal after the
    /// policy allowed the write is recorded as a refused write.
    async fn check_convener(
        &self,
        grant: &crate::repo::WriteGrant,
        data: &PatientData,
        what: &str,
    ) -> AppResult<()> {
        if care::may_convene(
            self.actor().id(),
            grant.allowed_by(),
            &data.privacy.care_team,
            self.now(),
        ) {
            return Ok(());
        }
        self.repo
            .record_refused_write(grant, &format!("{what}: not the coordinator or the LAR unit"))
            .await?;
        Err(AppError::Forbidden(
            "Bare koordinatoren i ansvarsgruppen eller LAR-enheten kan kalle inn og skrive referat.".into(),
        ))
    }

    /// Schedules a meeting and invites every active member of the care team.
    pub async fn schedule_meeting(&self, patient: PatientId, input: &MeetingInput) -> AppResult<Meeting> {
        self.patient(patient).await?;
        let data = self.patient_data(patient).await?;
        let now = self.now();
        let relations = data.relations(patient, now);
        let grant = self
            .repo
            .authorize_write_with(
                patient,
                &relations,
                DataCategory::PlanAndGoals,
                "meeting scheduled",
            )
            .await?;
        self.check_convener(&grant, &data, "meeting scheduled").await?;
        let content = input.parse(self.today()).map_err(AppError::Invalid)?;
        let id = MeetingId::new();
        let meeting = Meeting {
            id,
            patient_id: patient,
            at: content.at,
            place: content.place,
            agenda: content.agenda,
            scheduled_by: self.actor().id(),
            scheduled_at: now,
            invitations: data
                .privacy
                .care_team
                .iter()
                .filter(|m| m.is_active_at(now))
                .map(|m| Invitation {
                    meeting_id: id,
                    user_id: m.user_id,
                    organisation_id: m.organisation_id,
                    invited_at: now,
                })
                .collect(),
            minutes: None,
        };
        let local = meeting.at;
        let subject = format!(
            "Ansvarsgruppemøte {} kl. {}",
            samhand_domain::format::date_nb(local.date()),
            samhand_domain::format::time_nb(local.time())
        );
        let body = format!("Sted: {}. Saker: {}", meeting.place, meeting.agenda.join("; "));
        let invited_units: Vec<OrganisationId> =
            meeting.invitations.iter().map(|i| i.organisation_id).collect();
        let mut tx = self.repo.begin_write(&grant).await?;
        store::insert_meeting(&mut tx, &meeting).await?;
        // The invitation reaches each member's unit as a message with a receipt.
        self.send_automatic(
            &mut tx,
            patient,
            samhand_domain::message::MessageKind::MeetingInvitation,
            subject,
            body,
            invited_units,
        )
        .await?;
        tx.commit().await?;
        Ok(meeting)
    }

    /// Whether the actor reads this meeting in full (the plan shared with them) or as
    /// an invitee ([`Self::meeting_invitation`]); the patient it belongs to.
    pub async fn meeting_in_full(&self, meeting_id: MeetingId) -> AppResult<(PatientId, bool)> {
        let patient_id = self.meeting_patient(meeting_id).await?;
        let data = self.patient_data(patient_id).await?;
        let relations = data.relations(patient_id, self.now());
        let full = self
            .repo
            .decision(
                &relations,
                DataCategory::PlanAndGoals,
                samhand_domain::access::Action::Read,
            )
            .is_allowed();
        Ok((patient_id, full))
    }

    /// A meeting as an invitee sees it when the plan is not shared with their service:
    /// when and where, who called it and who is invited, not the agenda or minutes.
    /// Read under the identity category, which the care-team seat gives; only for
    /// those invited.
    pub async fn meeting_invitation(&self, meeting_id: MeetingId) -> AppResult<InvitationView> {
        let patient_id = self.meeting_patient(meeting_id).await?;
        let meeting = {
            let mut conn = self.state.store.read().await?;
            store::meetings_of(&mut conn, &[patient_id])
                .await?
                .into_iter()
                .find(|m| m.id == meeting_id)
                .ok_or_else(|| AppError::NotFound("møtet".into()))?
        };
        if !meeting.invitations.iter().any(|i| i.user_id == self.actor().id()) {
            // Not invited: the plan-and-goals read decides, and is audited, as for
            // anyone else.
            self.repo
                .authorize_read(patient_id, DataCategory::PlanAndGoals, DETAIL_MEETINGS)
                .await?;
        }
        self.repo
            .authorize_read(
                patient_id,
                DataCategory::Identity,
                "meeting invitation: time and place",
            )
            .await?;
        let patient = self.patient(patient_id).await?;
        let names = self
            .names(
                meeting
                    .invitations
                    .iter()
                    .map(|i| i.user_id)
                    .chain([meeting.scheduled_by]),
            )
            .await?;
        let organisations = self.organisations().await?;
        Ok(InvitationView {
            patient,
            meeting,
            names,
            organisations,
        })
    }

    /// The patient a meeting belongs to.
    pub async fn meeting_patient(&self, meeting: MeetingId) -> AppResult<PatientId> {
        let mut conn = self.state.store.read().await?;
        store::meeting_patient(&mut conn, meeting)
            .await?
            .ok_or_else(|| AppError::NotFound("møtet".into()))
    }

    /// Writes the minutes of a held meeting, with attendance, decisions and the tasks
    /// agreed; proposes the next meeting one interval later.
    pub async fn write_minutes(
        &self,
        meeting_id: MeetingId,
        input: &MinutesInput,
        tasks: &[TaskInput],
    ) -> AppResult<(Meeting, Vec<Task>)> {
        let patient = self.meeting_patient(meeting_id).await?;
        let data = self.patient_data(patient).await?;
        let now = self.now();
        let today = self.today();
        let relations = data.relations(patient, now);
        let grant = self
            .repo
            .authorize_write_with(
                patient,
                &relations,
                DataCategory::PlanAndGoals,
                "meeting minutes written",
            )
            .await?;
        self.check_convener(&grant, &data, "meeting minutes").await?;
        let mut meeting = {
            let mut conn = self.state.store.read().await?;
            store::meetings_of(&mut conn, &[patient]).await?
        }
        .into_iter()
        .find(|m| m.id == meeting_id)
        .ok_or_else(|| AppError::NotFound("møtet".into()))?;
        let interval_days = self.policy().await?.meeting_interval_days;
        let owners: Vec<UserId> = self.task_owners(&data).await?.iter().map(|u| u.id).collect();
        let mut errors = FieldErrors::default();
        let content = input
            .parse(&meeting, today, interval_days)
            .map_err(|e| errors.0.extend(e.0))
            .ok();
        let mut new_tasks = Vec::new();
        for task in tasks.iter().filter(|t| !t.is_blank()) {
            match task.parse(&owners, today, ["task_description", "task_owner", "task_due_on"]) {
                Ok(content) => new_tasks.push(Task {
                    id: TaskId::new(),
                    patient_id: patient,
                    meeting_id: Some(meeting_id),
                    description: content.description,
                    owner: content.owner,
                    due_on: content.due_on,
                    created_by: self.actor().id(),
                    created_at: now,
                    changes: Vec::new(),
                }),
                Err(e) => errors.0.extend(e.0),
            }
        }
        let Some(content) = content.filter(|_| errors.is_empty()) else {
            return Err(AppError::Invalid(errors));
        };
        let minutes = Minutes {
            meeting_id,
            patient_present: content.patient_present,
            attendance: content.attendance,
            text: content.text,
            decisions: content.decisions,
            next_meeting_proposed: content.next_meeting_proposed,
            recorded_by: self.actor().id(),
            recorded_at: now,
        };
        let mut tx = self.repo.begin_write(&grant).await?;
        store::insert_minutes(&mut tx, &minutes).await.map_err(|e| {
            conflict_from(
                e,
                "Referatet er allerede skrevet av noen andre. Last siden på nytt.",
            )
        })?;
        for task in &new_tasks {
            store::insert_task(&mut tx, task).await?;
        }
        tx.commit().await?;
        meeting.minutes = Some(minutes);
        Ok((meeting, new_tasks))
    }

    /// A task on the patient, outside a meeting.
    pub async fn create_task(&self, patient: PatientId, input: &TaskInput) -> AppResult<Task> {
        self.patient(patient).await?;
        let data = self.patient_data(patient).await?;
        let relations = data.relations(patient, self.now());
        let grant = self
            .repo
            .authorize_write_with(patient, &relations, DataCategory::PlanAndGoals, "task created")
            .await?;
        let owners: Vec<UserId> = self.task_owners(&data).await?.iter().map(|u| u.id).collect();
        let content = input
            .parse(&owners, self.today(), ["description", "owner", "due_on"])
            .map_err(AppError::Invalid)?;
        let task = Task {
            id: TaskId::new(),
            patient_id: patient,
            meeting_id: None,
            description: content.description,
            owner: content.owner,
            due_on: content.due_on,
            created_by: self.actor().id(),
            created_at: self.now(),
            changes: Vec::new(),
        };
        let mut tx = self.repo.begin_write(&grant).await?;
        store::insert_task(&mut tx, &task).await?;
        tx.commit().await?;
        Ok(task)
    }

    /// Changes a task's status (done, cancelled, open again): a new row.
    pub async fn change_task_status(&self, task_id: TaskId, status: &str, note: &str) -> AppResult<Task> {
        let mut task = {
            let mut conn = self.state.store.read().await?;
            store::task(&mut conn, task_id).await?
        }
        .ok_or_else(|| AppError::NotFound("oppgaven".into()))?;
        let patient = task.patient_id;
        let data = self.patient_data(patient).await?;
        let now = self.now();
        let relations = data.relations(patient, now);
        let grant = self
            .repo
            .authorize_write_with(
                patient,
                &relations,
                DataCategory::PlanAndGoals,
                &format!("task {task_id}: status {}", status.trim()),
            )
            .await?;
        if !task.may_change(
            self.actor().id(),
            grant.allowed_by(),
            &data.privacy.care_team,
            now,
        ) {
            self.repo
                .record_refused_write(&grant, "not the owner, the coordinator or the LAR unit")
                .await?;
            return Err(AppError::Forbidden(
                "Bare den som har oppgaven, koordinatoren eller LAR-enheten kan endre status.".into(),
            ));
        }
        let (status, seq) = task.check_change(status).map_err(AppError::Invalid)?;
        if note.chars().count() > 1000 {
            return Err(AppError::Invalid(FieldErrors::single(
                "note",
                "Merknaden kan være høyst 1000 tegn.",
            )));
        }
        let change = TaskStatusChange {
            id: TaskStatusId::new(),
            task_id,
            seq,
            status,
            note: note.trim().to_string(),
            changed_by: self.actor().id(),
            changed_at: now,
        };
        let mut tx = self.repo.begin_write(&grant).await?;
        store::insert_task_status(&mut tx, &change)
            .await
            .map_err(|e| conflict_from(e, "Oppgaven er nettopp endret av noen andre. Last siden på nytt."))?;
        tx.commit().await?;
        task.changes.push(change);
        Ok(task)
    }

    /// The tasks the actor owns, on patients whose plan they may read now.
    pub async fn my_tasks(&self) -> AppResult<MyTasks> {
        let me = self.staff()?.id;
        let tasks = {
            let mut conn = self.state.store.read().await?;
            store::tasks_owned_by(&mut conn, me).await?
        };
        let mut ids: Vec<PatientId> = tasks.iter().map(|t| t.patient_id).collect();
        ids.sort();
        ids.dedup();
        let data = self.load_data(&ids).await?;
        let now = self.now();
        let related: Vec<(PatientId, PatientRelations)> = super::relations_of(&data, &ids, now);
        let allowed: HashSet<PatientId> = self
            .repo
            .optional_reads(&related, DataCategory::PlanAndGoals, "my tasks")
            .await?
            .into_iter()
            .collect();
        let people: HashMap<PatientId, Patient> = {
            let allowed: Vec<PatientId> = allowed.iter().copied().collect();
            let mut conn = self.state.store.read().await?;
            patients::patients_of(&mut conn, &allowed).await?
        }
        .into_iter()
        .map(|p| (p.id, p))
        .collect();
        let hidden = tasks.iter().filter(|t| !allowed.contains(&t.patient_id)).count();
        let mut shown: Vec<(Task, Patient)> = tasks
            .into_iter()
            .filter_map(|t| {
                let patient = people.get(&t.patient_id)?.clone();
                Some((t, patient))
            })
            .collect();
        shown.sort_by_key(|(t, _)| (t.status() != care::TaskStatus::Open, t.due_on));
        Ok(MyTasks {
            tasks: shown,
            hidden,
            today: self.today(),
        })
    }

    /// The individual plan: the version in force and the history.
    pub async fn plan(&self, patient_id: PatientId) -> AppResult<PlanView> {
        let patient = self.patient(patient_id).await?;
        self.repo
            .authorize_read(patient_id, DataCategory::PlanAndGoals, "individual plan")
            .await?;
        let history = {
            let mut conn = self.state.store.read().await?;
            store::plans_of(&mut conn, &[patient_id]).await?
        };
        let current = care::current_plan(&history).cloned();
        let names = self.names(history.iter().map(|v| v.recorded_by)).await?;
        let mut history = history;
        history.reverse();
        Ok(PlanView {
            patient,
            current,
            history,
            names,
            organisations: self.organisations().await?,
            today: self.today(),
        })
    }

    /// Initiates, saves, declines or resumes the plan: always a new version.
    pub async fn save_plan(&self, patient: PatientId, input: &PlanInput) -> AppResult<PlanVersion> {
        self.patient(patient).await?;
        // A plan version names a staff member as its author; the patient's own
        // edits go through the coordinator for now (an agenda item in the portal).
        if self.actor().staff().is_none() {
            return Err(AppError::Forbidden(
                "Planen endres sammen med koordinatoren. Send målene dine som en sak til neste møte.".into(),
            ));
        }
        let grant = self
            .repo
            .authorize_write(
                patient,
                DataCategory::PlanAndGoals,
                &format!("individual plan: {}", input.action.trim()),
            )
            .await?;
        let history = {
            let mut conn = self.state.store.read().await?;
            store::plans_of(&mut conn, &[patient]).await?
        };
        let organisations: Vec<OrganisationId> = self.organisations().await?.keys().copied().collect();
        let content = input
            .parse(care::current_plan(&history), &organisations, self.today())
            .map_err(AppError::Invalid)?;
        let version = PlanVersion {
            id: PlanVersionId::new(),
            patient_id: patient,
            version: content.version,
            status: content.status,
            declined_on: content.declined_on,
            goals: content.goals,
            reason: content.reason,
            recorded_by: self.actor().id(),
            recorded_at: self.now(),
        };
        let mut tx = self.repo.begin_write(&grant).await?;
        store::insert_plan_version(&mut tx, &version)
            .await
            .map_err(|e| conflict_from(e, "Planen er nettopp lagret av noen andre. Last siden på nytt."))?;
        tx.commit().await?;
        Ok(version)
    }

    /// The group status of some patients the actor may read the plan of; the others
    /// are left out. Each read is audited.
    async fn group_statuses(&self, ids: &[PatientId], detail: &str) -> AppResult<(Vec<GroupStatus>, i64)> {
        let data = self.load_data(ids).await?;
        let now = self.now();
        let today = self.today();
        let related: Vec<(PatientId, PatientRelations)> = super::relations_of(&data, ids, now);
        let allowed = self
            .repo
            .authorize_reads(&related, DataCategory::PlanAndGoals, detail)
            .await?;
        let interval_days = self.policy().await?.meeting_interval_days;
        let (meetings, tasks, plans, people) = {
            let mut conn = self.state.store.read().await?;
            (
                store::meetings_of(&mut conn, &allowed).await?,
                store::tasks_of(&mut conn, &allowed).await?,
                store::plans_of(&mut conn, &allowed).await?,
                patients::patients_of(&mut conn, &allowed).await?,
            )
        };
        let mut rows: Vec<GroupStatus> = people
            .into_iter()
            .map(|patient| {
                let id = patient.id;
                let own: Vec<Meeting> = meetings.iter().filter(|m| m.patient_id == id).cloned().collect();
                let formed = data
                    .get(&id)
                    .and_then(|d| care::group_formed(&d.privacy.care_team));
                let versions: Vec<PlanVersion> =
                    plans.iter().filter(|p| p.patient_id == id).cloned().collect();
                let plan = care::current_plan(&versions).cloned();
                let goals_due = plan
                    .as_ref()
                    .map(|p| p.goals_due_for_evaluation(today).into_iter().cloned().collect())
                    .unwrap_or_default();
                GroupStatus {
                    next_meeting: care::next_meeting(&own, today).cloned(),
                    overdue_meetings: care::overdue_meetings(&own, formed, interval_days, today),
                    open_tasks: tasks
                        .iter()
                        .filter(|t| t.patient_id == id && t.status() == care::TaskStatus::Open)
                        .cloned()
                        .collect(),
                    plan,
                    goals_due,
                    patient,
                }
            })
            .collect();
        rows.sort_by(|a, b| {
            (a.patient.family_name.as_str(), a.patient.given_name.as_str())
                .cmp(&(b.patient.family_name.as_str(), b.patient.given_name.as_str()))
        });
        Ok((rows, interval_days))
    }

    /// The coordinator's overview: the patients whose group the actor coordinates.
    pub async fn coordinator_overview(&self) -> AppResult<CoordinatorOverview> {
        let me = self.staff()?.id;
        let ids = {
            let mut conn = self.state.store.read().await?;
            store::patients_coordinated_by(&mut conn, me).await?
        };
        let (rows, interval_days) = self.group_statuses(&ids, "coordinator overview").await?;
        let people = rows
            .iter()
            .flat_map(|r| r.open_tasks.iter().map(|t| t.owner))
            .collect::<Vec<_>>();
        Ok(CoordinatorOverview {
            names: self.names(people).await?,
            rows,
            interval_days,
            today: self.today(),
        })
    }

    /// Overdue meetings of the patients with a care-team seat at an organisation, for
    /// a leader's overview.
    pub async fn overdue_meetings_for_unit(
        &self,
        organisation: OrganisationId,
    ) -> AppResult<Vec<(Patient, Vec<MeetingOverdue>)>> {
        let ids = {
            let mut conn = self.state.store.read().await?;
            store::patients_with_seat_at(&mut conn, organisation).await?
        };
        let (rows, _) = self.group_statuses(&ids, "overdue meetings of the unit").await?;
        Ok(rows
            .into_iter()
            .filter(|r| !r.overdue_meetings.is_empty())
            .map(|r| (r.patient, r.overdue_meetings))
            .collect())
    }

    /// Overdue tasks of the patients with a care-team seat at an organisation, for a
    /// leader's overview.
    pub async fn overdue_tasks_for_unit(
        &self,
        organisation: OrganisationId,
    ) -> AppResult<Vec<(Patient, Task)>> {
        let ids = {
            let mut conn = self.state.store.read().await?;
            store::patients_with_seat_at(&mut conn, organisation).await?
        };
        let today = self.today();
        let (rows, _) = self.group_statuses(&ids, "overdue tasks of the unit").await?;
        Ok(rows
            .into_iter()
            .flat_map(|r| {
                let patient = r.patient.clone();
                r.open_tasks
                    .into_iter()
                    .filter(move |t| t.is_overdue(today))
                    .map(move |t| (patient.clone(), t))
            })
            .collect())
    }
}
