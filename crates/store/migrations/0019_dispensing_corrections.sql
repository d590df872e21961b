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

-- The generation joins the unique key of dispensed_doses (every row so far is
-- generation 0).
-- [sqlite]
-- SQLite cannot change a table's constraint: the table is rebuilt.
CREATE TABLE dispensed_doses_v2 (
    event_id TEXT NOT NULL REFERENCES dispensing_events(id),
    patient_id TEXT NOT NULL REFERENCES patients(id),
    dose_date TEXT NOT NULL,
    part INTEGER NOT NULL,
    mode TEXT NOT NULL,
    substance TEXT NOT NULL,
    order_id TEXT NOT NULL REFERENCES dose_orders(id),
    amount_ug INTEGER NOT NULL,
    ordered_ug INTEGER NOT NULL,
    generation INTEGER NOT NULL DEFAULT 0,
    CONSTRAINT dispensed_doses_once UNIQUE (patient_id, dose_date, part, generation)
);
INSERT INTO dispensed_doses_v2 (event_id, patient_id, dose_date, part, mode, substance, order_id, amount_ug, ordered_ug, generation)
    SELECT event_id, patient_id, dose_date, part, mode, substance, order_id, amount_ug, ordered_ug, 0 FROM dispensed_doses;
DROP TABLE dispensed_doses;
ALTER TABLE dispensed_doses_v2 RENAME TO dispensed_doses;
CREATE INDEX dispensed_doses_event ON dispensed_doses (event_id);
-- [postgres]
ALTER TABLE dispensed_doses ADD COLUMN generation BIGINT NOT NULL DEFAULT 0;
ALTER TABLE dispensed_doses DROP CONSTRAINT dispensed_doses_once;
ALTER TABLE dispensed_doses ADD CONSTRAINT dispensed_doses_once UNIQUE (patient_id, dose_date, part, generation);
-- [end]
