-- Status assessments (issue 17, DOMAIN.md «The yearly status report»): the
-- patient's situation, substance use in the last four weeks and health, in versions.
-- Every save is a new row with who and when; a version the patient gave from the
-- portal says so (by_patient). Each question is a column named as its code in
-- `domain::status::StatusField`, holding the answer's code, or NULL when that
-- version did not answer it.
CREATE TABLE status_assessments (
    id TEXT PRIMARY KEY,
    patient_id TEXT NOT NULL REFERENCES patients(id),
    version {integer} NOT NULL,
    -- start, yearly, end or other.
    occasion TEXT NOT NULL,
    -- The day the answers describe (Europe/Oslo).
    assessed_on TEXT NOT NULL,
    housing TEXT,
    main_income TEXT,
    occupation TEXT,
    rehabilitation TEXT,
    treatment_goal TEXT,
    satisfaction TEXT,
    use_opioids TEXT,
    use_cannabis TEXT,
    use_benzodiazepines TEXT,
    use_stimulants TEXT,
    use_alcohol TEXT,
    injection TEXT,
    anxiety TEXT,
    depression TEXT,
    psychosis TEXT,
    mental_health_treatment TEXT,
    hepatitis_c TEXT,
    hepatitis_c_treatment TEXT,
    hiv TEXT,
    hiv_treatment TEXT,
    note TEXT NOT NULL,
    by_patient {integer} NOT NULL,
    -- A staff user or the patient's own account (patient_accounts), so no reference.
    recorded_by TEXT NOT NULL,
    recorded_at {integer} NOT NULL,
    CONSTRAINT status_assessments_version_unique UNIQUE (patient_id, version)
);
CREATE INDEX status_assessments_assessed ON status_assessments (assessed_on);

-- The leader's sign-off of a unit's yearly status report: the number of patients
-- and the SHA-256 of the report's CSV as it was signed, so that a later change to
-- the record shows as a report that differs from the one signed. A sign-off again
-- is a new version; none is changed.
CREATE TABLE status_report_signoffs (
    id TEXT PRIMARY KEY,
    unit_id TEXT NOT NULL REFERENCES organisations(id),
    year {integer} NOT NULL,
    version {integer} NOT NULL,
    patients {integer} NOT NULL,
    digest TEXT NOT NULL,
    signed_by TEXT NOT NULL REFERENCES users(id),
    signed_at {integer} NOT NULL,
    CONSTRAINT status_report_signoffs_version_unique UNIQUE (unit_id, year, version)
);

-- Append-only, as every clinical table (migration 0022).
-- [sqlite]
CREATE TRIGGER status_assessments_no_update BEFORE UPDATE ON status_assessments BEGIN SELECT RAISE(ABORT, 'status_assessments is append-only'); END;
CREATE TRIGGER status_assessments_no_delete BEFORE DELETE ON status_assessments BEGIN SELECT RAISE(ABORT, 'status_assessments is append-only'); END;
CREATE TRIGGER status_report_signoffs_no_update BEFORE UPDATE ON status_report_signoffs BEGIN SELECT RAISE(ABORT, 'status_report_signoffs is append-only'); END;
CREATE TRIGGER status_report_signoffs_no_delete BEFORE DELETE ON status_report_signoffs BEGIN SELECT RAISE(ABORT, 'status_report_signoffs is append-only'); END;
-- [postgres]
CREATE TRIGGER status_assessments_append_only BEFORE UPDATE OR DELETE ON status_assessments FOR EACH ROW EXECUTE FUNCTION samhand_append_only();
CREATE TRIGGER status_assessments_no_truncate BEFORE TRUNCATE ON status_assessments FOR EACH STATEMENT EXECUTE FUNCTION samhand_append_only();
CREATE TRIGGER status_report_signoffs_append_only BEFORE UPDATE OR DELETE ON status_report_signoffs FOR EACH ROW EXECUTE FUNCTION samhand_append_only();
CREATE TRIGGER status_report_signoffs_no_truncate BEFORE TRUNCATE ON status_report_signoffs FOR EACH STATEMENT EXECUTE FUNCTION samhand_append_only();
-- [end]
