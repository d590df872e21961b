-- Messages Samhand sends by EDI (issue 18), queued in the transaction of the event
-- they tell of, so that the event and its message land together or neither; the
-- transport writes each to the outbox directory after the commit and marks it
-- written (a crash before the mark writes the same file again, under the same
-- name). The queue is append-only; the marks are too.
CREATE TABLE edi_outbox (
    msg_id TEXT PRIMARY KEY,
    patient_id TEXT NOT NULL REFERENCES patients(id),
    -- The Samhand message it carries to a service outside Samhand.
    message_id TEXT NOT NULL,
    organisation_id TEXT NOT NULL REFERENCES organisations(id),
    file_name TEXT NOT NULL,
    xml TEXT NOT NULL,
    queued_at {integer} NOT NULL,
    CONSTRAINT edi_outbox_once UNIQUE (message_id, organisation_id)
);

CREATE TABLE edi_outbox_written (
    msg_id TEXT PRIMARY KEY REFERENCES edi_outbox(msg_id),
    written_at {integer} NOT NULL
);

-- [sqlite]
CREATE TRIGGER edi_outbox_no_update BEFORE UPDATE ON edi_outbox BEGIN SELECT RAISE(ABORT, 'edi_outbox is append-only'); END;
CREATE TRIGGER edi_outbox_no_delete BEFORE DELETE ON edi_outbox BEGIN SELECT RAISE(ABORT, 'edi_outbox is append-only'); END;
-- [postgres]
CREATE TRIGGER edi_outbox_append_only BEFORE UPDATE OR DELETE ON edi_outbox FOR EACH ROW EXECUTE FUNCTION samhand_append_only();
CREATE TRIGGER edi_outbox_no_truncate BEFORE TRUNCATE ON edi_outbox FOR EACH STATEMENT EXECUTE FUNCTION samhand_append_only();
-- [end]
