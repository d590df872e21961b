-- The patient portal: a password on the patient's own account, set with a one-time
-- code the LAR unit hands out, login backoff, and portal sessions. Account rows are
-- not clinical records: the password and the login counters are updated in place.
ALTER TABLE patient_accounts ADD COLUMN password_hash TEXT;
ALTER TABLE patient_accounts ADD COLUMN failed_logins BIGINT NOT NULL DEFAULT 0;
ALTER TABLE patient_accounts ADD COLUMN last_failed_login_at BIGINT;

CREATE TABLE patient_activation_codes (
    id TEXT PRIMARY KEY,
    account_id TEXT NOT NULL REFERENCES patient_accounts(id),
    code_hash TEXT NOT NULL,
    created_at BIGINT NOT NULL,
    created_by TEXT NOT NULL REFERENCES users(id),
    expires_at BIGINT NOT NULL,
    used_at BIGINT
);
CREATE INDEX patient_activation_codes_account ON patient_activation_codes (account_id);

CREATE TABLE patient_sessions (
    token_hash TEXT PRIMARY KEY,
    account_id TEXT NOT NULL REFERENCES patient_accounts(id),
    csrf_token TEXT NOT NULL,
    created_at BIGINT NOT NULL,
    last_seen_at BIGINT NOT NULL,
    expires_at BIGINT NOT NULL
);
