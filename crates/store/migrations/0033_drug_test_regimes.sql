-- The drug-test regime (issue 17, DOMAIN.md «Drug-test regime»): the doctor's
-- individual decision, in versions. A change or the end is a new version with who
-- and when; none is changed. `substances` is the tested substances' codes, comma
-- separated, in order.
CREATE TABLE drug_test_regimes (
    id TEXT PRIMARY KEY,
    patient_id TEXT NOT NULL REFERENCES patients(id),
    version {integer} NOT NULL,
    valid_from TEXT NOT NULL,
    reason TEXT NOT NULL,
    note TEXT NOT NULL,
    substances TEXT NOT NULL,
    frequency TEXT NOT NULL,
    supervised {integer} NOT NULL,
    where_given TEXT NOT NULL,
    review_on TEXT NOT NULL,
    ended {integer} NOT NULL,
    recorded_by TEXT NOT NULL REFERENCES users(id),
    recorded_at {integer} NOT NULL,
    CONSTRAINT drug_test_regimes_version_unique UNIQUE (patient_id, version)
);

-- Append-only, as every clinical table (migration 0022).
-- [sqlite]
CREATE TRIGGER drug_test_regimes_no_update BEFORE UPDATE ON drug_test_regimes BEGIN SELECT RAISE(ABORT, 'drug_test_regimes is append-only'); END;
CREATE TRIGGER drug_test_regimes_no_delete BEFORE DELETE ON drug_test_regimes BEGIN SELECT RAISE(ABORT, 'drug_test_regimes is append-only'); END;
-- [postgres]
CREATE TRIGGER drug_test_regimes_append_only BEFORE UPDATE OR DELETE ON drug_test_regimes FOR EACH ROW EXECUTE FUNCTION samhand_append_only();
CREATE TRIGGER drug_test_regimes_no_truncate BEFORE TRUNCATE ON drug_test_regimes FOR EACH STATEMENT EXECUTE FUNCTION samhand_append_only();
-- [end]
