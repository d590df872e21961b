-- Transitions (issue 5): stays that pause dispensing at home and end in a planned or
-- unplanned discharge, the overdose-prevention bundle bound to a stay, the follow-up
-- appointment outside («time i hånden») with its outcome, and prescribing hand-overs
-- the receiving prescriber acknowledges. Append-only: every change is a new row.

-- Opioid use registered for the person: the bundle applies. A LAR patient always.
ALTER TABLE stays ADD COLUMN opioid_use BIGINT NOT NULL DEFAULT 1;
-- Whether the institution gives the usual substitution dose from admission.
ALTER TABLE stays ADD COLUMN substitution_continued BIGINT NOT NULL DEFAULT 0;

-- extended (planned_end_on), substitution (on_date, continued), discharged
-- (on_date, planned, resume_on). One discharge per stay.
CREATE TABLE stay_events (
    id TEXT PRIMARY KEY,
    stay_id TEXT NOT NULL REFERENCES stays(id),
    kind TEXT NOT NULL,
    on_date TEXT,
    planned_end_on TEXT,
    continued BIGINT,
    planned BIGINT,
    resume_on TEXT,
    reason TEXT NOT NULL,
    recorded_by TEXT NOT NULL REFERENCES users(id),
    recorded_at BIGINT NOT NULL
);
CREATE INDEX stay_events_stay ON stay_events (stay_id, recorded_at);
CREATE UNIQUE INDEX stay_events_one_discharge ON stay_events (stay_id) WHERE kind = 'discharged';

-- A bundle item marked done (with a note) or waived (with the reason) by hand; the
-- latest per stay and item counts.
CREATE TABLE bundle_entries (
    id TEXT PRIMARY KEY,
    stay_id TEXT NOT NULL REFERENCES stays(id),
    item TEXT NOT NULL,
    waived BIGINT NOT NULL,
    done_on TEXT NOT NULL,
    note TEXT NOT NULL,
    recorded_by TEXT NOT NULL REFERENCES users(id),
    recorded_at BIGINT NOT NULL
);
CREATE INDEX bundle_entries_stay ON bundle_entries (stay_id);

CREATE TABLE follow_up_appointments (
    id TEXT PRIMARY KEY,
    patient_id TEXT NOT NULL REFERENCES patients(id),
    stay_id TEXT REFERENCES stays(id),
    with_whom TEXT NOT NULL,
    -- Local date and time in Europe/Oslo, yyyy-mm-ddThh:mm.
    at_local TEXT NOT NULL,
    place TEXT NOT NULL,
    owner_id TEXT NOT NULL REFERENCES users(id),
    recorded_by TEXT NOT NULL REFERENCES users(id),
    recorded_at BIGINT NOT NULL
);
CREATE INDEX follow_up_appointments_patient ON follow_up_appointments (patient_id);

-- Attended or not; the latest counts. A no-show gives the owner an outreach task.
CREATE TABLE appointment_outcomes (
    id TEXT PRIMARY KEY,
    appointment_id TEXT NOT NULL REFERENCES follow_up_appointments(id),
    attended BIGINT NOT NULL,
    recorded_by TEXT NOT NULL REFERENCES users(id),
    recorded_at BIGINT NOT NULL
);
CREATE INDEX appointment_outcomes_appointment ON appointment_outcomes (appointment_id);

CREATE TABLE prescribing_handovers (
    id TEXT PRIMARY KEY,
    patient_id TEXT NOT NULL REFERENCES patients(id),
    stay_id TEXT REFERENCES stays(id),
    from_organisation TEXT NOT NULL REFERENCES organisations(id),
    to_organisation TEXT NOT NULL REFERENCES organisations(id),
    order_summary TEXT NOT NULL,
    taper_plan TEXT NOT NULL,
    recorded_by TEXT NOT NULL REFERENCES users(id),
    recorded_at BIGINT NOT NULL
);
CREATE INDEX prescribing_handovers_patient ON prescribing_handovers (patient_id);

-- The receiving prescriber took it over: once.
CREATE TABLE handover_acknowledgements (
    handover_id TEXT PRIMARY KEY REFERENCES prescribing_handovers(id),
    acknowledged_by TEXT NOT NULL REFERENCES users(id),
    acknowledged_at BIGINT NOT NULL
);
