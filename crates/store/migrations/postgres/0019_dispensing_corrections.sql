-- Corrections of recordings at the window. A correction is a dispensing event of
-- its own (outcome 'corrected', with the reason, who and when) that references the
-- event it corrects; the doses it takes back are voided here, never deleted. A dose
-- is recorded again under the next generation of its (patient, day, part), so
-- "each scheduled dose once" still holds in the schema: once per generation, and a
-- generation is voided at most once.
CREATE TABLE dispensing_corrections (
    event_id TEXT PRIMARY KEY REFERENCES dispensing_events(id),
    corrects_event_id TEXT NOT NULL REFERENCES dispensing_events(id),
    kind TEXT NOT NULL,
    CONSTRAINT dispensing_corrections_once UNIQUE (corrects_event_id)
);

CREATE TABLE dispensing_voids (
    correction_event_id TEXT NOT NULL REFERENCES dispensing_events(id),
    patient_id TEXT NOT NULL REFERENCES patients(id),
    dose_date TEXT NOT NULL,
    part BIGINT NOT NULL,
    generation BIGINT NOT NULL,
    CONSTRAINT dispensing_voids_once UNIQUE (patient_id, dose_date, part, generation)
);
CREATE INDEX dispensing_voids_correction ON dispensing_voids (correction_event_id);

ALTER TABLE dispensed_doses ADD COLUMN generation BIGINT NOT NULL DEFAULT 0;
ALTER TABLE dispensed_doses DROP CONSTRAINT dispensed_doses_once;
ALTER TABLE dispensed_doses ADD CONSTRAINT dispensed_doses_once UNIQUE (patient_id, dose_date, part, generation);
