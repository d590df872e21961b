-- Health information for the window (epilepsy, diabetes, allergies, pregnancy,
-- interacting medication). Append-only: a correction or resolution is a new row
-- that names the row it replaces.
CREATE TABLE health_notes (
    id TEXT PRIMARY KEY,
    patient_id TEXT NOT NULL REFERENCES patients(id),
    kind TEXT NOT NULL,
    text TEXT NOT NULL,
    active BIGINT NOT NULL,
    replaces TEXT REFERENCES health_notes(id),
    reason TEXT NOT NULL,
    recorded_by TEXT NOT NULL REFERENCES users(id),
    recorded_at BIGINT NOT NULL,
    -- A version is replaced at most once: two corrections of the same version
    -- would fork the history.
    CONSTRAINT health_notes_replaced_once UNIQUE (replaces)
);
CREATE INDEX health_notes_patient ON health_notes (patient_id, recorded_at);
