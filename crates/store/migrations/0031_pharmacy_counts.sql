-- The pharmacy's count (issue 17): the LAR unit approves a pharmacy's month, and the
-- count as approved is frozen here, one row per patient and day, so that a later
-- correction of a recording never changes what was approved but shows as a
-- difference. Approving again (after a correction) is a new version; none is changed.
CREATE TABLE pharmacy_count_approvals (
    id TEXT PRIMARY KEY,
    unit_id TEXT NOT NULL REFERENCES organisations(id),
    pharmacy_id TEXT NOT NULL REFERENCES organisations(id),
    -- YYYY-MM.
    month TEXT NOT NULL,
    version {integer} NOT NULL,
    supervised {integer} NOT NULL,
    take_home {integer} NOT NULL,
    approved_by TEXT NOT NULL REFERENCES users(id),
    approved_at {integer} NOT NULL,
    CONSTRAINT pharmacy_count_approvals_version_unique UNIQUE (unit_id, pharmacy_id, month, version)
);

CREATE TABLE pharmacy_count_approved_days (
    approval_id TEXT NOT NULL REFERENCES pharmacy_count_approvals(id),
    patient_id TEXT NOT NULL REFERENCES patients(id),
    day TEXT NOT NULL,
    supervised {integer} NOT NULL,
    take_home {integer} NOT NULL,
    CONSTRAINT pharmacy_count_approved_days_once UNIQUE (approval_id, patient_id, day)
);

-- Append-only, as every clinical table (migration 0022).
-- [sqlite]
CREATE TRIGGER pharmacy_count_approvals_no_update BEFORE UPDATE ON pharmacy_count_approvals BEGIN SELECT RAISE(ABORT, 'pharmacy_count_approvals is append-only'); END;
CREATE TRIGGER pharmacy_count_approvals_no_delete BEFORE DELETE ON pharmacy_count_approvals BEGIN SELECT RAISE(ABORT, 'pharmacy_count_approvals is append-only'); END;
CREATE TRIGGER pharmacy_count_approved_days_no_update BEFORE UPDATE ON pharmacy_count_approved_days BEGIN SELECT RAISE(ABORT, 'pharmacy_count_approved_days is append-only'); END;
CREATE TRIGGER pharmacy_count_approved_days_no_delete BEFORE DELETE ON pharmacy_count_approved_days BEGIN SELECT RAISE(ABORT, 'pharmacy_count_approved_days is append-only'); END;
-- [postgres]
CREATE TRIGGER pharmacy_count_approvals_append_only BEFORE UPDATE OR DELETE ON pharmacy_count_approvals FOR EACH ROW EXECUTE FUNCTION samhand_append_only();
CREATE TRIGGER pharmacy_count_approvals_no_truncate BEFORE TRUNCATE ON pharmacy_count_approvals FOR EACH STATEMENT EXECUTE FUNCTION samhand_append_only();
CREATE TRIGGER pharmacy_count_approved_days_append_only BEFORE UPDATE OR DELETE ON pharmacy_count_approved_days FOR EACH ROW EXECUTE FUNCTION samhand_append_only();
CREATE TRIGGER pharmacy_count_approved_days_no_truncate BEFORE TRUNCATE ON pharmacy_count_approved_days FOR EACH STATEMENT EXECUTE FUNCTION samhand_append_only();
-- [end]
