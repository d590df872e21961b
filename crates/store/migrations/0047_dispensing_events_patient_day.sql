-- The recordings of a patient by day (issue 16): today's list reads the
-- corrections made today of its patients, joining each correction to its event
-- and filtering by the event's patient and day. With only the (place, day) key
-- the event table was scanned in full (3.65 million rows for a year of 10,000
-- patients, 580 ms per view of the list on SQLite); with this index it is one
-- short range per listed patient.
CREATE INDEX dispensing_events_patient_day ON dispensing_events (patient_id, day);
