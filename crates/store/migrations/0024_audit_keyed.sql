-- The audit chain is keyed (issue 15): each entry's hash becomes an HMAC-SHA256
-- under a key held outside the database (SAMHAND_AUDIT_KEY_FILE), so someone who
-- can write to the database cannot recompute the chain after changing it. Entries
-- written before a key was configured keep their plain SHA-256 and are marked
-- here; `samhand audit verify` accepts them only as the start of the chain.
ALTER TABLE audit_log ADD COLUMN keyed {integer} NOT NULL DEFAULT 0;
