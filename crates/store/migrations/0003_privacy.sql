-- The privacy spine: consents, care team seats, emergency accesses, and the
-- patient as a user of their own record. Every table is append-only: a withdrawn
-- consent, an ended seat and a review are rows of their own.

-- One consent decision per row; the latest per (patient, organisation, category)
-- is in force.
CREATE TABLE consents (
    id TEXT PRIMARY KEY,
    patient_id TEXT NOT NULL REFERENCES patients(id),
    organisation_id TEXT NOT NULL REFERENCES organisations(id),
    category TEXT NOT NULL,
    given BIGINT NOT NULL,
    recorded_at BIGINT NOT NULL,
    recorded_by TEXT NOT NULL,
    by_patient BIGINT NOT NULL,
    note TEXT NOT NULL
);
CREATE INDEX consents_patient ON consents (patient_id, recorded_at);

CREATE TABLE care_team_members (
    id TEXT PRIMARY KEY,
    patient_id TEXT NOT NULL REFERENCES patients(id),
    user_id TEXT NOT NULL REFERENCES users(id),
    organisation_id TEXT NOT NULL REFERENCES organisations(id),
    team_role TEXT NOT NULL,
    added_at BIGINT NOT NULL,
    added_by TEXT NOT NULL
);
CREATE INDEX care_team_members_patient ON care_team_members (patient_id);
CREATE INDEX care_team_members_user ON care_team_members (user_id);

CREATE TABLE care_team_member_ends (
    member_id TEXT PRIMARY KEY REFERENCES care_team_members(id),
    ended_at BIGINT NOT NULL,
    ended_by TEXT NOT NULL,
    reason TEXT NOT NULL
);

CREATE TABLE emergency_accesses (
    id TEXT PRIMARY KEY,
    patient_id TEXT NOT NULL REFERENCES patients(id),
    user_id TEXT NOT NULL REFERENCES users(id),
    organisation_id TEXT NOT NULL REFERENCES organisations(id),
    reason TEXT NOT NULL,
    started_at BIGINT NOT NULL,
    expires_at BIGINT NOT NULL
);
CREATE INDEX emergency_accesses_patient ON emergency_accesses (patient_id);
CREATE INDEX emergency_accesses_organisation ON emergency_accesses (organisation_id, started_at);

CREATE TABLE emergency_access_reviews (
    access_id TEXT PRIMARY KEY REFERENCES emergency_accesses(id),
    reviewed_by TEXT NOT NULL REFERENCES users(id),
    reviewed_at BIGINT NOT NULL,
    note TEXT NOT NULL
);

-- A patient's own account. Its id is what the audit log names as the actor.
CREATE TABLE patient_accounts (
    id TEXT PRIMARY KEY,
    patient_id TEXT NOT NULL REFERENCES patients(id),
    active BIGINT NOT NULL,
    created_at BIGINT NOT NULL,
    created_by TEXT NOT NULL,
    CONSTRAINT patient_accounts_patient_unique UNIQUE (patient_id)
);

CREATE TABLE patient_api_tokens (
    id TEXT PRIMARY KEY,
    token_hash TEXT NOT NULL UNIQUE,
    account_id TEXT NOT NULL REFERENCES patient_accounts(id),
    created_at BIGINT NOT NULL,
    expires_at BIGINT NOT NULL,
    revoked_at BIGINT
);
