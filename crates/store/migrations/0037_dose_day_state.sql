-- The kept dosing state of each patient (issue 16, lever 1; H68, H69): the days
-- dosed from 120 days before the latest one, that latest day, and whether a dose
-- above zero stands. One row per patient, written in the transaction of every
-- recording and correction (`day_state` in the store) and always derivable from
-- the doses, the events and the voids (`samhand verify-state`). It is a cache of
-- the history, not a record: it is updated in place, never shown as such.
CREATE TABLE dose_day_state (
    patient_id TEXT PRIMARY KEY REFERENCES patients (id),
    last_dosed_day TEXT,
    dosed_days TEXT NOT NULL,
    ever_given {integer} NOT NULL
);
-- The mark that the rows are still to be derived from the doses recorded before
-- this migration; the first start after it derives them and removes the mark in
-- one transaction (`day_state::backfill`).
CREATE TABLE dose_day_state_backfill (
    pending {integer} PRIMARY KEY
);
INSERT INTO dose_day_state_backfill (pending) VALUES (1);
