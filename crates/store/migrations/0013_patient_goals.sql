-- The patient's own words in the individual plan: a goal and a comment per life
-- domain, written in the portal. Append-only: the latest row per domain is what the
-- patient says now; the team sees it beside the plan.
CREATE TABLE plan_patient_words (
    id TEXT PRIMARY KEY,
    patient_id TEXT NOT NULL REFERENCES patients(id),
    account_id TEXT NOT NULL REFERENCES patient_accounts(id),
    domain TEXT NOT NULL,
    goal TEXT NOT NULL,
    comment TEXT NOT NULL,
    written_at BIGINT NOT NULL
);
CREATE INDEX plan_patient_words_patient ON plan_patient_words (patient_id, written_at);
