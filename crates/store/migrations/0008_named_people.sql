-- People the patient names: next of kin, peers. No login, no access; what they may
-- be told is the patient's own words. Ending is a row of its own.
CREATE TABLE named_people (
    id TEXT PRIMARY KEY,
    patient_id TEXT NOT NULL REFERENCES patients(id),
    name TEXT NOT NULL,
    relation TEXT NOT NULL,
    phone TEXT NOT NULL,
    may_be_told TEXT NOT NULL,
    in_care_team BIGINT NOT NULL,
    added_at BIGINT NOT NULL,
    added_by TEXT NOT NULL
);
CREATE INDEX named_people_patient ON named_people (patient_id);

CREATE TABLE named_people_ends (
    person_id TEXT PRIMARY KEY REFERENCES named_people(id),
    ended_at BIGINT NOT NULL,
    ended_by TEXT NOT NULL,
    reason TEXT NOT NULL
);
