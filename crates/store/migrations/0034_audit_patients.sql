-- An audit entry about many patients (a view of today's dispensing list, issue 16)
-- is one row in `audit_log` with no `patient_id`, and one row here per patient it
-- named. The linked patients are part of the entry's hashed line, so a link added
-- or removed later breaks the chain (no foreign key: `samhand audit verify` finds
-- links to entries that are not in the log). Append-only, like the log.
CREATE TABLE audit_patients (
    seq {integer} NOT NULL,
    patient_id TEXT NOT NULL,
    PRIMARY KEY (seq, patient_id)
);
CREATE INDEX audit_patients_patient ON audit_patients (patient_id, seq);
-- [sqlite]
CREATE TRIGGER audit_patients_no_update BEFORE UPDATE ON audit_patients BEGIN SELECT RAISE(ABORT, 'audit_patients is append-only'); END;
CREATE TRIGGER audit_patients_no_delete BEFORE DELETE ON audit_patients BEGIN SELECT RAISE(ABORT, 'audit_patients is append-only'); END;
-- [postgres]
CREATE TRIGGER audit_patients_append_only BEFORE UPDATE OR DELETE ON audit_patients FOR EACH ROW EXECUTE FUNCTION samhand_append_only();
CREATE TRIGGER audit_patients_no_truncate BEFORE TRUNCATE ON audit_patients FOR EACH STATEMENT EXECUTE FUNCTION samhand_append_only();
-- [end]
