-- Messages between services about a patient, their recipient units, and one read
-- receipt per recipient unit. Append-only: reading adds a receipt row.
CREATE TABLE messages (
    id TEXT PRIMARY KEY,
    patient_id TEXT NOT NULL REFERENCES patients(id),
    kind TEXT NOT NULL,
    subject TEXT NOT NULL,
    body TEXT NOT NULL,
    important BIGINT NOT NULL,
    -- NULL for a message Samhand sent on an event.
    sent_by TEXT REFERENCES users(id),
    sender_organisation TEXT REFERENCES organisations(id),
    sent_at BIGINT NOT NULL,
    -- One automatic message per event (e.g. per block): the key is unique.
    event_key TEXT,
    CONSTRAINT messages_event_key_unique UNIQUE (event_key)
);
CREATE INDEX messages_patient ON messages (patient_id, sent_at);

CREATE TABLE message_recipients (
    message_id TEXT NOT NULL REFERENCES messages(id),
    organisation_id TEXT NOT NULL REFERENCES organisations(id),
    PRIMARY KEY (message_id, organisation_id)
);
CREATE INDEX message_recipients_organisation ON message_recipients (organisation_id);

CREATE TABLE message_receipts (
    message_id TEXT NOT NULL REFERENCES messages(id),
    organisation_id TEXT NOT NULL REFERENCES organisations(id),
    read_by TEXT NOT NULL REFERENCES users(id),
    read_at BIGINT NOT NULL,
    CONSTRAINT message_receipts_once PRIMARY KEY (message_id, organisation_id)
);
