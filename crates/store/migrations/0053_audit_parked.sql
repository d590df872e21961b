-- Audit entries of a write on PostgreSQL that found the audit chain's head taken
-- (issue 16, H109). A write used to wait for the head row, and held it through
-- its commit's flush to disk, so that writes passed one flush at a time. Now a
-- write that finds the head row locked by another, or moved since this process
-- last saw it, commits its entries here, in its own transaction with what they
-- record; the process's audit writer moves them into the chain at its next
-- batch, before the write is answered (`audit::take_parked`). The chain is what
-- makes an entry tamper-evident, and an entry waits here for milliseconds.
-- `linked` is the sorted patients an entry about many names, comma-separated,
-- or empty. SQLite has one writer at a time and never parks an entry.
-- [sqlite]
CREATE TABLE audit_parked (
    id INTEGER PRIMARY KEY,
-- [postgres]
CREATE TABLE audit_parked (
    id BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
-- [end]
    at {integer} NOT NULL,
    actor_id TEXT NOT NULL,
    actor_role TEXT NOT NULL,
    actor_organisation TEXT NOT NULL,
    patient_id TEXT,
    category TEXT NOT NULL,
    action TEXT NOT NULL,
    allowed {integer} NOT NULL,
    relation TEXT NOT NULL,
    detail TEXT NOT NULL,
    linked TEXT NOT NULL
);
