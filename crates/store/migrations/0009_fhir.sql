-- FHIR system clients (SMART Backend Services style, client credentials) and the
-- access tokens issued to them. A client acts through its own service user (a
-- users row with a role at the client's organisation and no password), so the
-- access policy applies to it unchanged; its scopes narrow what it may do further.

CREATE TABLE fhir_clients (
    id TEXT PRIMARY KEY,
    name TEXT NOT NULL,
    user_id TEXT NOT NULL REFERENCES users(id),
    -- SHA-256 of the secret (32 random bytes, shown once when the client is added).
    secret_hash TEXT NOT NULL,
    -- Space-separated SMART scopes, e.g. "system/Patient.read system/*.read".
    scopes TEXT NOT NULL,
    created_at BIGINT NOT NULL,
    revoked_at BIGINT,
    CONSTRAINT fhir_clients_name_unique UNIQUE (name)
);

CREATE TABLE fhir_tokens (
    token_hash TEXT PRIMARY KEY,
    client_id TEXT NOT NULL REFERENCES fhir_clients(id),
    -- The scopes granted to this token: those asked for that the client has.
    scopes TEXT NOT NULL,
    issued_at BIGINT NOT NULL,
    expires_at BIGINT NOT NULL
);

-- Drug test results (rusmiddeltester) as a laboratory reports them, received
-- through the FHIR API as Observations. Append-only: a correction is a new row.
CREATE TABLE drug_tests (
    id TEXT PRIMARY KEY,
    patient_id TEXT NOT NULL REFERENCES patients(id),
    sample_date TEXT NOT NULL,
    lab TEXT NOT NULL,
    supervised INTEGER NOT NULL,
    recorded_by TEXT NOT NULL REFERENCES users(id),
    recorded_at BIGINT NOT NULL
);
CREATE INDEX drug_tests_patient ON drug_tests (patient_id);

CREATE TABLE drug_test_results (
    drug_test_id TEXT NOT NULL REFERENCES drug_tests(id),
    substance_code TEXT NOT NULL,
    substance_name TEXT NOT NULL,
    positive INTEGER NOT NULL,
    CONSTRAINT drug_test_results_once UNIQUE (drug_test_id, substance_code)
);

-- Stays (opphold): a patient admitted to an institution, a hospital or a prison,
-- as another system reports it through the FHIR API as an Encounter. Kept simple
-- on purpose: later work builds the transitions (pausing dispensing at home,
-- discharge) on it. Append-only.
CREATE TABLE stays (
    id TEXT PRIMARY KEY,
    patient_id TEXT NOT NULL REFERENCES patients(id),
    kind TEXT NOT NULL,
    institution TEXT NOT NULL,
    institution_id TEXT REFERENCES organisations(id),
    starts_on TEXT NOT NULL,
    planned_end_on TEXT,
    recorded_by TEXT NOT NULL REFERENCES users(id),
    recorded_at BIGINT NOT NULL
);
CREATE INDEX stays_patient ON stays (patient_id);
