-- Messages between the team and the patient. A message has a party: between
-- services (as before), from a staff member to the patient, or from the patient to
-- units of the team; an answer names the message it answers. The patient's read
-- receipt is a row of its own, written once. Append-only like the rest.
ALTER TABLE messages ADD COLUMN party TEXT NOT NULL DEFAULT 'services';
ALTER TABLE messages ADD COLUMN in_reply_to TEXT REFERENCES messages(id);

-- Backfill: before this migration the portal wrote the patient's messages with no
-- sender and this subject prefix.
UPDATE messages SET party = 'from_patient'
    WHERE sent_by IS NULL AND sender_organisation IS NULL AND subject LIKE 'Fra pasienten: %';

CREATE TABLE message_patient_receipts (
    message_id TEXT NOT NULL REFERENCES messages(id),
    patient_id TEXT NOT NULL REFERENCES patients(id),
    -- The patient's portal account that opened it.
    read_by TEXT NOT NULL REFERENCES patient_accounts(id),
    read_at BIGINT NOT NULL,
    CONSTRAINT message_patient_receipts_once PRIMARY KEY (message_id)
);
