//! The responsibility group's records: meetings with invitations, minutes and
//! attendance; tasks and their status changes; versions of the individual plan.
//! Append-only, like every clinical table.

use std::collections::HashMap;

use samhand_domain::care::{
    Invitation, LifeDomain, Measure, Meeting, Minutes, PlanGoal, PlanStatus, PlanVersion, Task, TaskStatus,
    TaskStatusChange, lines,
};
use samhand_domain::ids::{MeetingId, OrganisationId, PatientId, PlanVersionId, TaskId, UserId};
use sqlx::AnyConnection;
use sqlx::any::AnyRow;

use crate::codec::{corrupt, date_text, instant, int, micros, parsed, parsed_opt, text, time_text};
use crate::db::{Result, rows_for_patients};
use crate::native::{Fetch, FetchOn};
use crate::patient_write::{Owner, PatientWrite};

// ------------------------------------------------------------------- meetings

/// Inserts a meeting with its invitations.
pub async fn insert_meeting(write: &mut PatientWrite, meeting: &Meeting) -> Result<()> {
    let conn = write.of(meeting.patient_id)?;
    sqlx::query(
        "INSERT INTO care_meetings (id, patient_id, meeting_date, meeting_time, place, agenda, scheduled_by, scheduled_at)
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8)",
    )
    .bind(meeting.id.to_string())
    .bind(meeting.patient_id.to_string())
    .bind(date_text(meeting.at.date()))
    .bind(time_text(meeting.at.time()))
    .bind(&meeting.place)
    .bind(meeting.agenda.join("\n"))
    .bind(meeting.scheduled_by.to_string())
    .bind(micros(meeting.scheduled_at))
    .execute_on(&mut *conn)
    .await
    ?;
    for invitation in &meeting.invitations {
        sqlx::query(
            "INSERT INTO care_meeting_invitations (meeting_id, user_id, organisation_id, invited_at)
             VALUES ($1, $2, $3, $4)",
        )
        .bind(invitation.meeting_id.to_string())
        .bind(invitation.user_id.to_string())
        .bind(invitation.organisation_id.to_string())
        .bind(micros(invitation.invited_at))
        .execute_on(&mut *conn)
        .await?;
    }
    Ok(())
}

/// Inserts the minutes of a meeting with the attendance; a second set is a conflict.
pub async fn insert_minutes(write: &mut PatientWrite, minutes: &Minutes) -> Result<()> {
    let conn = write
        .of_owner(Owner::Meeting, &minutes.meeting_id.to_string())
        .await?;
    sqlx::query(
        "INSERT INTO care_meeting_minutes (meeting_id, patient_present, text, decisions, next_meeting_proposed, recorded_by, recorded_at)
         VALUES ($1, $2, $3, $4, $5, $6, $7)",
    )
    .bind(minutes.meeting_id.to_string())
    .bind(i64::from(minutes.patient_present))
    .bind(&minutes.text)
    .bind(minutes.decisions.join("\n"))
    .bind(date_text(minutes.next_meeting_proposed))
    .bind(minutes.recorded_by.to_string())
    .bind(micros(minutes.recorded_at))
    .execute_on(&mut *conn)
    .await
    ?;
    for (user, present) in &minutes.attendance {
        sqlx::query("INSERT INTO care_meeting_attendance (meeting_id, user_id, present) VALUES ($1, $2, $3)")
            .bind(minutes.meeting_id.to_string())
            .bind(user.to_string())
            .bind(i64::from(*present))
            .execute_on(&mut *conn)
            .await?;
    }
    Ok(())
}

fn meeting_from_row(row: &AnyRow) -> Result<Meeting> {
    let date: jiff::civil::Date = parsed(row, "meeting_date")?;
    let time: jiff::civil::Time = parsed(row, "meeting_time")?;
    Ok(Meeting {
        id: parsed(row, "id")?,
        patient_id: parsed(row, "patient_id")?,
        at: date.to_datetime(time),
        place: text(row, "place")?,
        agenda: lines(&text(row, "agenda")?),
        scheduled_by: parsed(row, "scheduled_by")?,
        scheduled_at: instant(row, "scheduled_at")?,
        invitations: Vec::new(),
        minutes: None,
    })
}

/// Every meeting of some patients, with invitations and minutes, oldest first.
pub async fn meetings_of(conn: &mut AnyConnection, patients: &[PatientId]) -> Result<Vec<Meeting>> {
    let rows = rows_for_patients(
        conn,
        "SELECT id, patient_id, meeting_date, meeting_time, place, agenda, scheduled_by, scheduled_at
         FROM care_meetings WHERE patient_id IN ({ids}) ORDER BY meeting_date, meeting_time, id",
        &[],
        patients,
    )
    .await?;
    let mut meetings: Vec<Meeting> = rows.iter().map(meeting_from_row).collect::<Result<_>>()?;
    let index: HashMap<MeetingId, usize> = meetings.iter().enumerate().map(|(i, m)| (m.id, i)).collect();
    let invitations = rows_for_patients(
        conn,
        "SELECT i.meeting_id, i.user_id, i.organisation_id, i.invited_at
         FROM care_meeting_invitations i JOIN care_meetings m ON m.id = i.meeting_id
         WHERE m.patient_id IN ({ids}) ORDER BY i.invited_at, i.user_id",
        &[],
        patients,
    )
    .await?;
    for row in &invitations {
        let invitation = Invitation {
            meeting_id: parsed(row, "meeting_id")?,
            user_id: parsed(row, "user_id")?,
            organisation_id: parsed(row, "organisation_id")?,
            invited_at: instant(row, "invited_at")?,
        };
        if let Some(i) = index.get(&invitation.meeting_id) {
            meetings[*i].invitations.push(invitation);
        }
    }
    let attendance = rows_for_patients(
        conn,
        "SELECT a.meeting_id, a.user_id, a.present
         FROM care_meeting_attendance a JOIN care_meetings m ON m.id = a.meeting_id
         WHERE m.patient_id IN ({ids}) ORDER BY a.user_id",
        &[],
        patients,
    )
    .await?;
    let mut present: HashMap<MeetingId, Vec<(UserId, bool)>> = HashMap::new();
    for row in &attendance {
        present
            .entry(parsed(row, "meeting_id")?)
            .or_default()
            .push((parsed(row, "user_id")?, int(row, "present")? != 0));
    }
    let minutes = rows_for_patients(
        conn,
        "SELECT n.meeting_id, n.patient_present, n.text, n.decisions, n.next_meeting_proposed, n.recorded_by, n.recorded_at
         FROM care_meeting_minutes n JOIN care_meetings m ON m.id = n.meeting_id
         WHERE m.patient_id IN ({ids})",
        &[],
        patients,
    )
    .await?;
    for row in &minutes {
        let meeting_id: MeetingId = parsed(row, "meeting_id")?;
        let record = Minutes {
            meeting_id,
            patient_present: int(row, "patient_present")? != 0,
            attendance: present.remove(&meeting_id).unwrap_or_default(),
            text: text(row, "text")?,
            decisions: lines(&text(row, "decisions")?),
            next_meeting_proposed: parsed(row, "next_meeting_proposed")?,
            recorded_by: parsed(row, "recorded_by")?,
            recorded_at: instant(row, "recorded_at")?,
        };
        if let Some(i) = index.get(&meeting_id) {
            meetings[*i].minutes = Some(record);
        }
    }
    Ok(meetings)
}

/// The patient a meeting belongs to.
pub async fn meeting_patient(conn: &mut AnyConnection, meeting: MeetingId) -> Result<Option<PatientId>> {
    let row = sqlx::query("SELECT patient_id FROM care_meetings WHERE id = $1")
        .bind(meeting.to_string())
        .fetch_optional(&mut *conn)
        .await?;
    row.as_ref().map(|r| parsed(r, "patient_id")).transpose()
}

// ---------------------------------------------------------------------- tasks

pub async fn insert_task(write: &mut PatientWrite, task: &Task) -> Result<()> {
    let conn = write.of(task.patient_id)?;
    sqlx::query(
        "INSERT INTO care_tasks (id, patient_id, meeting_id, description, owner_id, due_on, created_by, created_at)
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8)",
    )
    .bind(task.id.to_string())
    .bind(task.patient_id.to_string())
    .bind(task.meeting_id.map(|m| m.to_string()))
    .bind(&task.description)
    .bind(task.owner.to_string())
    .bind(date_text(task.due_on))
    .bind(task.created_by.to_string())
    .bind(micros(task.created_at))
    .execute_on(&mut *conn)
    .await
    ?;
    for change in &task.changes {
        insert_status_row(conn, change).await?;
    }
    Ok(())
}

/// A status change; two changes with the same seq are a conflict.
pub async fn insert_task_status(write: &mut PatientWrite, change: &TaskStatusChange) -> Result<()> {
    let conn = write.of_owner(Owner::Task, &change.task_id.to_string()).await?;
    insert_status_row(conn, change).await
}

/// A status change of a task whose patient the caller has checked.
async fn insert_status_row(conn: &mut impl Fetch, change: &TaskStatusChange) -> Result<()> {
    sqlx::query(
        "INSERT INTO care_task_statuses (id, task_id, seq, status, note, changed_by, changed_at)
         VALUES ($1, $2, $3, $4, $5, $6, $7)",
    )
    .bind(change.id.to_string())
    .bind(change.task_id.to_string())
    .bind(change.seq)
    .bind(change.status.code())
    .bind(&change.note)
    .bind(change.changed_by.to_string())
    .bind(micros(change.changed_at))
    .execute_on(conn)
    .await?;
    Ok(())
}

const TASK_COLUMNS: &str =
    "t.id, t.patient_id, t.meeting_id, t.description, t.owner_id, t.due_on, t.created_by, t.created_at";

fn task_from_row(row: &AnyRow) -> Result<Task> {
    Ok(Task {
        id: parsed(row, "id")?,
        patient_id: parsed(row, "patient_id")?,
        meeting_id: parsed_opt(row, "meeting_id")?,
        description: text(row, "description")?,
        owner: parsed(row, "owner_id")?,
        due_on: parsed(row, "due_on")?,
        created_by: parsed(row, "created_by")?,
        created_at: instant(row, "created_at")?,
        changes: Vec::new(),
    })
}

fn change_from_row(row: &AnyRow) -> Result<TaskStatusChange> {
    let status = text(row, "status")?;
    Ok(TaskStatusChange {
        id: parsed(row, "id")?,
        task_id: parsed(row, "task_id")?,
        seq: int(row, "seq")?,
        status: TaskStatus::from_code(&status).ok_or_else(|| corrupt(format!("task status {status}")))?,
        note: text(row, "note")?,
        changed_by: parsed(row, "changed_by")?,
        changed_at: instant(row, "changed_at")?,
    })
}

/// Attaches each task's status changes.
async fn with_changes(conn: &mut AnyConnection, mut tasks: Vec<Task>) -> Result<Vec<Task>> {
    let index: HashMap<TaskId, usize> = tasks.iter().enumerate().map(|(i, t)| (t.id, i)).collect();
    let ids: Vec<String> = tasks.iter().map(|t| t.id.to_string()).collect();
    let sql = "SELECT id, task_id, seq, status, note, changed_by, changed_at FROM care_task_statuses
         WHERE task_id IN ({ids}) ORDER BY seq";
    let rows = crate::db::rows_for_ids(conn, sql, &[], &ids).await?;
    let changes: Vec<TaskStatusChange> = rows.iter().map(change_from_row).collect::<Result<_>>()?;
    for change in changes {
        if let Some(i) = index.get(&change.task_id) {
            tasks[*i].changes.push(change);
        }
    }
    Ok(tasks)
}

/// Every task of some patients, with status changes, by due date.
pub async fn tasks_of(conn: &mut AnyConnection, patients: &[PatientId]) -> Result<Vec<Task>> {
    let rows = rows_for_patients(
        conn,
        &format!(
            "SELECT {TASK_COLUMNS} FROM care_tasks t WHERE t.patient_id IN ({{ids}}) ORDER BY t.due_on, t.id"
        ),
        &[],
        patients,
    )
    .await?;
    let tasks = rows.iter().map(task_from_row).collect::<Result<_>>()?;
    with_changes(conn, tasks).await
}

/// Every task a staff member owns, with status changes, by due date.
pub async fn tasks_owned_by(conn: &mut AnyConnection, owner: UserId) -> Result<Vec<Task>> {
    let rows = sqlx::query(&format!(
        "SELECT {TASK_COLUMNS} FROM care_tasks t WHERE t.owner_id = $1 ORDER BY t.due_on, t.id"
    ))
    .bind(owner.to_string())
    .fetch_all(&mut *conn)
    .await?;
    let tasks = rows.iter().map(task_from_row).collect::<Result<_>>()?;
    with_changes(conn, tasks).await
}

pub async fn task(conn: &mut AnyConnection, id: TaskId) -> Result<Option<Task>> {
    let row = sqlx::query(&format!(
        "SELECT {TASK_COLUMNS} FROM care_tasks t WHERE t.id = $1"
    ))
    .bind(id.to_string())
    .fetch_optional(&mut *conn)
    .await?;
    let Some(row) = row else { return Ok(None) };
    let task = task_from_row(&row)?;
    Ok(with_changes(conn, vec![task]).await?.pop())
}

// ------------------------------------------------------------ individual plan

/// Inserts one version of the whole plan; a second version with the same number is
/// a conflict (someone else saved first).
pub async fn insert_plan_version(write: &mut PatientWrite, plan: &PlanVersion) -> Result<()> {
    let conn = write.of(plan.patient_id)?;
    sqlx::query(
        "INSERT INTO plan_versions (id, patient_id, version, status, declined_on, reason, recorded_by, recorded_at)
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8)",
    )
    .bind(plan.id.to_string())
    .bind(plan.patient_id.to_string())
    .bind(plan.version)
    .bind(plan.status.code())
    .bind(plan.declined_on.map(date_text))
    .bind(&plan.reason)
    .bind(plan.recorded_by.to_string())
    .bind(micros(plan.recorded_at))
    .execute_on(&mut *conn)
    .await
    ?;
    for (g, goal) in plan.goals.iter().enumerate() {
        sqlx::query(
            "INSERT INTO plan_goals (plan_version_id, position, life_domain, goal, evaluate_on)
             VALUES ($1, $2, $3, $4, $5)",
        )
        .bind(plan.id.to_string())
        .bind(g as i64)
        .bind(goal.domain.code())
        .bind(&goal.goal)
        .bind(goal.evaluate_on.map(date_text))
        .execute_on(&mut *conn)
        .await?;
        for (m, measure) in goal.measures.iter().enumerate() {
            sqlx::query(
                "INSERT INTO plan_measures (plan_version_id, goal_position, position, description, responsible_organisation_id)
                 VALUES ($1, $2, $3, $4, $5)",
            )
            .bind(plan.id.to_string())
            .bind(g as i64)
            .bind(m as i64)
            .bind(&measure.description)
            .bind(measure.responsible.to_string())
            .execute_on(&mut *conn)
            .await
            ?;
        }
    }
    Ok(())
}

/// Every version of the plans of some patients, with goals and measures, oldest first.
pub async fn plans_of(conn: &mut AnyConnection, patients: &[PatientId]) -> Result<Vec<PlanVersion>> {
    let rows = rows_for_patients(
        conn,
        "SELECT id, patient_id, version, status, declined_on, reason, recorded_by, recorded_at
         FROM plan_versions WHERE patient_id IN ({ids}) ORDER BY patient_id, version",
        &[],
        patients,
    )
    .await?;
    let mut plans = Vec::new();
    for row in &rows {
        let status = text(row, "status")?;
        plans.push(PlanVersion {
            id: parsed(row, "id")?,
            patient_id: parsed(row, "patient_id")?,
            version: int(row, "version")?,
            status: PlanStatus::from_code(&status).ok_or_else(|| corrupt(format!("plan status {status}")))?,
            declined_on: parsed_opt(row, "declined_on")?,
            goals: Vec::new(),
            reason: text(row, "reason")?,
            recorded_by: parsed(row, "recorded_by")?,
            recorded_at: instant(row, "recorded_at")?,
        });
    }
    let index: HashMap<PlanVersionId, usize> = plans.iter().enumerate().map(|(i, p)| (p.id, i)).collect();
    let goals = rows_for_patients(
        conn,
        "SELECT g.plan_version_id, g.position, g.life_domain, g.goal, g.evaluate_on
         FROM plan_goals g JOIN plan_versions v ON v.id = g.plan_version_id
         WHERE v.patient_id IN ({ids}) ORDER BY g.plan_version_id, g.position",
        &[],
        patients,
    )
    .await?;
    let mut positions: HashMap<(PlanVersionId, i64), usize> = HashMap::new();
    for row in &goals {
        let version: PlanVersionId = parsed(row, "plan_version_id")?;
        let domain = text(row, "life_domain")?;
        let Some(i) = index.get(&version) else { continue };
        positions.insert((version, int(row, "position")?), plans[*i].goals.len());
        plans[*i].goals.push(PlanGoal {
            domain: LifeDomain::from_code(&domain).ok_or_else(|| corrupt(format!("life domain {domain}")))?,
            goal: text(row, "goal")?,
            measures: Vec::new(),
            evaluate_on: parsed_opt(row, "evaluate_on")?,
        });
    }
    let measures = rows_for_patients(
        conn,
        "SELECT m.plan_version_id, m.goal_position, m.position, m.description, m.responsible_organisation_id
         FROM plan_measures m JOIN plan_versions v ON v.id = m.plan_version_id
         WHERE v.patient_id IN ({ids}) ORDER BY m.plan_version_id, m.goal_position, m.position",
        &[],
        patients,
    )
    .await?;
    for row in &measures {
        let version: PlanVersionId = parsed(row, "plan_version_id")?;
        let goal = int(row, "goal_position")?;
        let (Some(p), Some(g)) = (index.get(&version), positions.get(&(version, goal))) else {
            continue;
        };
        plans[*p].goals[*g].measures.push(Measure {
            description: text(row, "description")?,
            responsible: parsed::<OrganisationId>(row, "responsible_organisation_id")?,
        });
    }
    Ok(plans)
}

// ------------------------------------------------------------------ the group

/// Patients in whose care team the user holds an active coordinator seat.
pub async fn patients_coordinated_by(conn: &mut AnyConnection, user: UserId) -> Result<Vec<PatientId>> {
    let rows = sqlx::query(
        "SELECT DISTINCT m.patient_id FROM care_team_members m
         LEFT JOIN care_team_member_ends e ON e.member_id = m.id
         WHERE m.user_id = $1 AND m.team_role = 'coordinator' AND e.member_id IS NULL
         ORDER BY m.patient_id",
    )
    .bind(user.to_string())
    .fetch_all(&mut *conn)
    .await?;
    rows.iter().map(|r| parsed(r, "patient_id")).collect()
}

/// Patients with an active care-team seat held for an organisation.
pub async fn patients_with_seat_at(
    conn: &mut AnyConnection,
    organisation: OrganisationId,
) -> Result<Vec<PatientId>> {
    let rows = sqlx::query(
        "SELECT DISTINCT m.patient_id FROM care_team_members m
         LEFT JOIN care_team_member_ends e ON e.member_id = m.id
         WHERE m.organisation_id = $1 AND e.member_id IS NULL
         ORDER BY m.patient_id",
    )
    .bind(organisation.to_string())
    .fetch_all(&mut *conn)
    .await?;
    rows.iter().map(|r| parsed(r, "patient_id")).collect()
}
