-- The patients an audit entry about many names (a view of today's list, H67),
-- stored once per set of patients instead of once per entry (issue 16; H106).
-- A place's list names the same patients view after view, and writing one link
-- per patient per view dirtied a page of the patient index for each of them: at a
-- place of 400 patients, 1,300 pages and 5 MB of log per view.
--
-- `audit_patient_sets` holds each set once, named by the SHA-256 of its sorted
-- patient ids (`audit::set_id`); `audit_entry_sets` gives the set an entry names.
-- The entry's hash covers the patients themselves, as before, so a patient added
-- to or removed from a set breaks every entry that names it, and a set given to
-- an entry that had none (or to one not in the log) breaks the chain there.
-- Append-only, like the log.
CREATE TABLE audit_patient_sets (
    set_id TEXT NOT NULL,
    patient_id TEXT NOT NULL,
    PRIMARY KEY (set_id, patient_id)
);
CREATE INDEX audit_patient_sets_patient ON audit_patient_sets (patient_id, set_id);
CREATE TABLE audit_entry_sets (
    seq {integer} NOT NULL PRIMARY KEY,
    set_id TEXT NOT NULL
);
CREATE INDEX audit_entry_sets_set ON audit_entry_sets (set_id, seq);
-- The links written before: each entry's patients become a set of its own,
-- named after the entry (the name is not part of any hash), and the old table
-- goes once its rows are moved.
INSERT INTO audit_patient_sets (set_id, patient_id)
    SELECT 'entry-' || CAST(seq AS TEXT), patient_id FROM audit_patients;
INSERT INTO audit_entry_sets (seq, set_id)
    SELECT DISTINCT seq, 'entry-' || CAST(seq AS TEXT) FROM audit_patients;
DROP TABLE audit_patients;
-- [sqlite]
CREATE TRIGGER audit_patient_sets_no_update BEFORE UPDATE ON audit_patient_sets BEGIN SELECT RAISE(ABORT, 'audit_patient_sets is append-only'); END;
CREATE TRIGGER audit_patient_sets_no_delete BEFORE DELETE ON audit_patient_sets BEGIN SELECT RAISE(ABORT, 'audit_patient_sets is append-only'); END;
CREATE TRIGGER audit_entry_sets_no_update BEFORE UPDATE ON audit_entry_sets BEGIN SELECT RAISE(ABORT, 'audit_entry_sets is append-only'); END;
CREATE TRIGGER audit_entry_sets_no_delete BEFORE DELETE ON audit_entry_sets BEGIN SELECT RAISE(ABORT, 'audit_entry_sets is append-only'); END;
-- [postgres]
CREATE TRIGGER audit_patient_sets_append_only BEFORE UPDATE OR DELETE ON audit_patient_sets FOR EACH ROW EXECUTE FUNCTION samhand_append_only();
CREATE TRIGGER audit_patient_sets_no_truncate BEFORE TRUNCATE ON audit_patient_sets FOR EACH STATEMENT EXECUTE FUNCTION samhand_append_only();
CREATE TRIGGER audit_entry_sets_append_only BEFORE UPDATE OR DELETE ON audit_entry_sets FOR EACH ROW EXECUTE FUNCTION samhand_append_only();
CREATE TRIGGER audit_entry_sets_no_truncate BEFORE TRUNCATE ON audit_entry_sets FOR EACH STATEMENT EXECUTE FUNCTION samhand_append_only();
-- [end]
