-- Received Dialogmeldinger that could not be linked to a patient in LAR by their
-- fødselsnummer and name (issue 18): kept for the receiving unit to resolve, never
-- linked silently. A resolution (linked to the patient after checking, or refused
-- with an error receipt) is a row of its own; the message's row never changes.
CREATE TABLE edi_unplaced (
    msg_id TEXT PRIMARY KEY,
    receiver_id TEXT NOT NULL REFERENCES organisations(id),
    sender_name TEXT NOT NULL,
    sender_her_id TEXT NOT NULL,
    msg_type TEXT NOT NULL,
    issued_at {integer} NOT NULL,
    -- As written in the message; may be empty or not a valid number.
    national_id TEXT NOT NULL,
    family_name TEXT NOT NULL,
    given_name TEXT NOT NULL,
    topic TEXT NOT NULL,
    body TEXT NOT NULL,
    -- unknown_patient, name_mismatch or not_in_lar.
    reason TEXT NOT NULL,
    received_at {integer} NOT NULL
);

CREATE TABLE edi_unplaced_resolutions (
    msg_id TEXT PRIMARY KEY REFERENCES edi_unplaced(msg_id),
    -- linked or refused.
    outcome TEXT NOT NULL,
    resolved_by TEXT NOT NULL REFERENCES users(id),
    resolved_at {integer} NOT NULL
);

-- [sqlite]
CREATE TRIGGER edi_unplaced_no_update BEFORE UPDATE ON edi_unplaced BEGIN SELECT RAISE(ABORT, 'edi_unplaced is append-only'); END;
CREATE TRIGGER edi_unplaced_no_delete BEFORE DELETE ON edi_unplaced BEGIN SELECT RAISE(ABORT, 'edi_unplaced is append-only'); END;
CREATE TRIGGER edi_unplaced_resolutions_no_update BEFORE UPDATE ON edi_unplaced_resolutions BEGIN SELECT RAISE(ABORT, 'edi_unplaced_resolutions is append-only'); END;
CREATE TRIGGER edi_unplaced_resolutions_no_delete BEFORE DELETE ON edi_unplaced_resolutions BEGIN SELECT RAISE(ABORT, 'edi_unplaced_resolutions is append-only'); END;
-- [postgres]
CREATE TRIGGER edi_unplaced_append_only BEFORE UPDATE OR DELETE ON edi_unplaced FOR EACH ROW EXECUTE FUNCTION samhand_append_only();
CREATE TRIGGER edi_unplaced_no_truncate BEFORE TRUNCATE ON edi_unplaced FOR EACH STATEMENT EXECUTE FUNCTION samhand_append_only();
CREATE TRIGGER edi_unplaced_resolutions_append_only BEFORE UPDATE OR DELETE ON edi_unplaced_resolutions FOR EACH ROW EXECUTE FUNCTION samhand_append_only();
CREATE TRIGGER edi_unplaced_resolutions_no_truncate BEFORE TRUNCATE ON edi_unplaced_resolutions FOR EACH STATEMENT EXECUTE FUNCTION samhand_append_only();
-- [end]
