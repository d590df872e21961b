-- The doses of a patient by intake mode and day (issue 16): today's list and a
-- recording read the depot injections of the 60-day lookback, and with only the
-- (patient, day) key each such read fetched every dose of the lookback to look at
-- its mode (24,000 rows for a list of 400 patients on daily doses). With this
-- index a patient with no injection is one empty range.
CREATE INDEX dispensed_doses_patient_mode_day ON dispensed_doses (patient_id, mode, dose_date);
