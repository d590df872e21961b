-- Norwegian EDI through the outbox and inbox directories (issue 18), the transport's
-- own bookkeeping: which received files have been processed (exactly once, across
-- restarts), which messages Samhand has sent and the receipts that answered them.
--
-- A received file is identified by the SHA-256 of its bytes. Its row is inserted in
-- the transaction that stores what it said; the file is moved out of the inbox only
-- after that commits, so a file found again after a crash is recognised and moved
-- without being processed twice.
CREATE TABLE edi_inbox_files (
    file_hash TEXT NOT NULL,
    file_name TEXT NOT NULL,
    -- The message's MsgId when it could be read.
    msg_id TEXT,
    -- 'processed' (OK receipt written) or 'rejected' (error receipt written).
    outcome TEXT NOT NULL,
    processed_at {integer} NOT NULL,
    CONSTRAINT edi_inbox_files_once UNIQUE (file_hash)
);

-- Every message written to the outbox, with the unit that sent it and its receiver.
CREATE TABLE edi_sent (
    msg_id TEXT NOT NULL,
    msg_type TEXT NOT NULL,
    sender_id TEXT NOT NULL REFERENCES organisations(id),
    receiver_her_id TEXT NOT NULL,
    receiver_name TEXT NOT NULL,
    file_name TEXT NOT NULL,
    sent_at {integer} NOT NULL,
    CONSTRAINT edi_sent_once UNIQUE (msg_id)
);

CREATE INDEX edi_sent_by_time ON edi_sent (sent_at);

-- The application receipts received for sent messages (append-only: a second
-- receipt for the same message is kept beside the first).
CREATE TABLE edi_receipts (
    receipt_id TEXT NOT NULL,
    original_msg_id TEXT NOT NULL,
    ok {integer} NOT NULL,
    -- The error codes and texts, one «code: text» a line.
    errors TEXT NOT NULL,
    received_at {integer} NOT NULL
);

CREATE INDEX edi_receipts_by_original ON edi_receipts (original_msg_id);
