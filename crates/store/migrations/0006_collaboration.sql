-- The responsibility group's work: meetings with invitations, minutes and
-- attendance, tasks with status changes, and the individual plan in versions.
-- Append-only: a status change or a plan save is a new row; minutes are written once.
CREATE TABLE care_meetings (
    id TEXT PRIMARY KEY,
    patient_id TEXT NOT NULL REFERENCES patients(id),
    -- Local date and time in Europe/Oslo.
    meeting_date TEXT NOT NULL,
    meeting_time TEXT NOT NULL,
    place TEXT NOT NULL,
    -- Agenda items, one per line.
    agenda TEXT NOT NULL,
    scheduled_by TEXT NOT NULL REFERENCES users(id),
    scheduled_at BIGINT NOT NULL
);
CREATE INDEX care_meetings_patient ON care_meetings (patient_id, meeting_date);

CREATE TABLE care_meeting_invitations (
    meeting_id TEXT NOT NULL REFERENCES care_meetings(id),
    user_id TEXT NOT NULL REFERENCES users(id),
    organisation_id TEXT NOT NULL REFERENCES organisations(id),
    invited_at BIGINT NOT NULL,
    PRIMARY KEY (meeting_id, user_id)
);

-- One set of minutes per meeting: the primary key refuses a second.
CREATE TABLE care_meeting_minutes (
    meeting_id TEXT NOT NULL REFERENCES care_meetings(id),
    patient_present BIGINT NOT NULL,
    text TEXT NOT NULL,
    -- Decisions, one per line.
    decisions TEXT NOT NULL,
    next_meeting_proposed TEXT NOT NULL,
    recorded_by TEXT NOT NULL REFERENCES users(id),
    recorded_at BIGINT NOT NULL,
    CONSTRAINT care_meeting_minutes_pkey PRIMARY KEY (meeting_id)
);

CREATE TABLE care_meeting_attendance (
    meeting_id TEXT NOT NULL REFERENCES care_meetings(id),
    user_id TEXT NOT NULL REFERENCES users(id),
    present BIGINT NOT NULL,
    PRIMARY KEY (meeting_id, user_id)
);

CREATE TABLE care_tasks (
    id TEXT PRIMARY KEY,
    patient_id TEXT NOT NULL REFERENCES patients(id),
    meeting_id TEXT REFERENCES care_meetings(id),
    description TEXT NOT NULL,
    owner_id TEXT NOT NULL REFERENCES users(id),
    due_on TEXT NOT NULL,
    created_by TEXT NOT NULL REFERENCES users(id),
    created_at BIGINT NOT NULL
);
CREATE INDEX care_tasks_patient ON care_tasks (patient_id);
CREATE INDEX care_tasks_owner ON care_tasks (owner_id);

-- A status change per row; seq counts the changes of a task, so two changes made
-- at once from the same status cannot both land.
CREATE TABLE care_task_statuses (
    id TEXT PRIMARY KEY,
    task_id TEXT NOT NULL REFERENCES care_tasks(id),
    seq BIGINT NOT NULL,
    status TEXT NOT NULL,
    note TEXT NOT NULL,
    changed_by TEXT NOT NULL REFERENCES users(id),
    changed_at BIGINT NOT NULL,
    CONSTRAINT care_task_statuses_seq_unique UNIQUE (task_id, seq)
);

-- Every save of the individual plan is a version of the whole plan.
CREATE TABLE plan_versions (
    id TEXT PRIMARY KEY,
    patient_id TEXT NOT NULL REFERENCES patients(id),
    version BIGINT NOT NULL,
    status TEXT NOT NULL,
    declined_on TEXT,
    reason TEXT NOT NULL,
    recorded_by TEXT NOT NULL REFERENCES users(id),
    recorded_at BIGINT NOT NULL,
    CONSTRAINT plan_versions_version_unique UNIQUE (patient_id, version)
);

CREATE TABLE plan_goals (
    plan_version_id TEXT NOT NULL REFERENCES plan_versions(id),
    position BIGINT NOT NULL,
    life_domain TEXT NOT NULL,
    goal TEXT NOT NULL,
    evaluate_on TEXT,
    PRIMARY KEY (plan_version_id, position)
);

CREATE TABLE plan_measures (
    plan_version_id TEXT NOT NULL REFERENCES plan_versions(id),
    goal_position BIGINT NOT NULL,
    position BIGINT NOT NULL,
    description TEXT NOT NULL,
    responsible_organisation_id TEXT NOT NULL REFERENCES organisations(id),
    PRIMARY KEY (plan_version_id, goal_position, position)
);
