-- Overdose prevention: the crisis plan in versions with the people to call, naloxone
-- kits handed out, and overdose events. Append-only: each crisis plan save is a new
-- version; a hand-out or an event is written once.
CREATE TABLE crisis_plan_versions (
    id TEXT PRIMARY KEY,
    patient_id TEXT NOT NULL REFERENCES patients(id),
    version BIGINT NOT NULL,
    warning_signs TEXT NOT NULL,
    what_helps TEXT NOT NULL,
    -- A staff user or the patient's own account (patient_accounts), so no reference.
    recorded_by TEXT NOT NULL,
    by_patient BIGINT NOT NULL,
    recorded_at BIGINT NOT NULL,
    CONSTRAINT crisis_plan_versions_version_unique UNIQUE (patient_id, version)
);

CREATE TABLE crisis_plan_contacts (
    plan_version_id TEXT NOT NULL REFERENCES crisis_plan_versions(id),
    position BIGINT NOT NULL,
    name TEXT NOT NULL,
    phone TEXT NOT NULL,
    PRIMARY KEY (plan_version_id, position)
);

CREATE TABLE naloxone_kits (
    id TEXT PRIMARY KEY,
    patient_id TEXT NOT NULL REFERENCES patients(id),
    -- Local date in Europe/Oslo.
    handed_out_on TEXT NOT NULL,
    place_id TEXT NOT NULL REFERENCES organisations(id),
    kits BIGINT NOT NULL,
    training_given BIGINT NOT NULL,
    note TEXT NOT NULL,
    handed_out_by TEXT NOT NULL REFERENCES users(id),
    recorded_at BIGINT NOT NULL
);
CREATE INDEX naloxone_kits_patient ON naloxone_kits (patient_id);
CREATE INDEX naloxone_kits_place ON naloxone_kits (place_id, handed_out_on);

CREATE TABLE overdose_events (
    id TEXT PRIMARY KEY,
    patient_id TEXT NOT NULL REFERENCES patients(id),
    occurred_on TEXT NOT NULL,
    -- non_fatal or fatal.
    outcome TEXT NOT NULL,
    place_description TEXT NOT NULL,
    substances TEXT NOT NULL,
    naloxone_used BIGINT NOT NULL,
    reported_by TEXT NOT NULL,
    recorded_by TEXT NOT NULL REFERENCES users(id),
    recorded_organisation TEXT NOT NULL REFERENCES organisations(id),
    recorded_at BIGINT NOT NULL
);
CREATE INDEX overdose_events_patient ON overdose_events (patient_id, occurred_on);
