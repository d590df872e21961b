-- Register identifiers as the FHIR API serves them (Practitioner, Organization):
-- an HPR number names one health professional and a HER-id one party in the
-- address register, so two users, or two organisations, never share one (the
-- organisation number is unique since migration 0020). NULL (not known) may
-- repeat in both databases.
CREATE UNIQUE INDEX users_hpr_number_unique ON users (hpr_number);
CREATE UNIQUE INDEX organisations_her_id_unique ON organisations (her_id);
-- When a user's or an organisation's own row last changed (NULL: not since it was
-- created), for meta.lastUpdated of Practitioner and Organization, so a system
-- that syncs by _lastUpdated learns of a new HPR number or organisation number.
ALTER TABLE users ADD COLUMN updated_at {integer};
ALTER TABLE organisations ADD COLUMN updated_at {integer};

-- Identifiers another system sent with a stay (Encounter) or a drug test
-- (Observation): the record's own number in the sending system, the sending
-- organisation's register number, the patient's H-number. Kept as sent, beside
-- the record (`record_id`: the stay's or the drug test's id); never changed.
CREATE TABLE received_identifiers (
    id TEXT PRIMARY KEY,
    patient_id TEXT NOT NULL REFERENCES patients(id),
    record_id TEXT NOT NULL,
    element TEXT NOT NULL,
    system TEXT NOT NULL,
    value TEXT NOT NULL,
    recorded_by TEXT NOT NULL REFERENCES users(id),
    recorded_at {integer} NOT NULL
);
CREATE INDEX received_identifiers_record ON received_identifiers (record_id);
CREATE INDEX received_identifiers_value ON received_identifiers (system, value);
-- [sqlite]
CREATE TRIGGER received_identifiers_no_update BEFORE UPDATE ON received_identifiers BEGIN SELECT RAISE(ABORT, 'received_identifiers is append-only'); END;
CREATE TRIGGER received_identifiers_no_delete BEFORE DELETE ON received_identifiers BEGIN SELECT RAISE(ABORT, 'received_identifiers is append-only'); END;
-- [postgres]
CREATE TRIGGER received_identifiers_append_only BEFORE UPDATE OR DELETE ON received_identifiers FOR EACH ROW EXECUTE FUNCTION samhand_append_only();
CREATE TRIGGER received_identifiers_no_truncate BEFORE TRUNCATE ON received_identifiers FOR EACH STATEMENT EXECUTE FUNCTION samhand_append_only();
-- [end]
