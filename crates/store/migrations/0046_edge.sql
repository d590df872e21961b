-- Samhand at a dispensing place (`samhand edge`): the place keeps working through a
-- network outage and syncs with the central server without losing or doubling a dose.

-- On the central server: the credentials the administrator issues for a place's
-- edge (`samhand edge token --place NAME`). Only the hash is kept; a revoked one
-- stops sync at once.
CREATE TABLE edge_credentials (
    id TEXT PRIMARY KEY,
    place_id TEXT NOT NULL REFERENCES organisations(id),
    token_hash TEXT NOT NULL UNIQUE,
    created_at {integer} NOT NULL,
    revoked_at {integer}
);
CREATE INDEX edge_credentials_place ON edge_credentials (place_id);

-- On the central server: each recording pushed by an edge, kept as it came (the
-- edge's event id is the central event's id: a retry is a replay), with the
-- conflicts found against the central record when it arrived. Append-only.
CREATE TABLE edge_recordings (
    event_id TEXT PRIMARY KEY,
    place_id TEXT NOT NULL REFERENCES organisations(id),
    instance_id TEXT NOT NULL,
    given_at {integer} NOT NULL,
    received_at {integer} NOT NULL,
    -- Space-separated conflict codes; empty when none.
    conflicts TEXT NOT NULL,
    payload TEXT NOT NULL
);
CREATE INDEX edge_recordings_place ON edge_recordings (place_id, received_at);

-- On the central server: the edge's own audit entries, shipped into the central
-- chain exactly once (per edge instance and the edge's sequence number).
CREATE TABLE edge_audit_received (
    instance_id TEXT NOT NULL,
    edge_seq {integer} NOT NULL,
    received_at {integer} NOT NULL,
    PRIMARY KEY (instance_id, edge_seq)
);

-- At the edge: its sync state (one row): which instance it is, the last snapshot
-- applied, when the central server last answered, and how far its audit entries
-- have been shipped.
CREATE TABLE edge_state (
    id {integer} PRIMARY KEY,
    instance_id TEXT NOT NULL,
    etag TEXT,
    -- The central record's change mark when that snapshot was made.
    change_cursor TEXT,
    last_pulled_at {integer},
    offline_since {integer},
    audit_shipped_seq {integer} NOT NULL DEFAULT 0
);

-- At the edge: the dispensing events the central server has (came in a snapshot,
-- or pushed and acknowledged). Every other event at the edge is still to push.
CREATE TABLE edge_known_events (
    event_id TEXT PRIMARY KEY,
    known_at {integer} NOT NULL
);
-- [sqlite]
CREATE TRIGGER edge_recordings_no_update BEFORE UPDATE ON edge_recordings BEGIN SELECT RAISE(ABORT, 'edge_recordings is append-only'); END;
CREATE TRIGGER edge_recordings_no_delete BEFORE DELETE ON edge_recordings BEGIN SELECT RAISE(ABORT, 'edge_recordings is append-only'); END;
-- [postgres]
CREATE TRIGGER edge_recordings_append_only BEFORE UPDATE OR DELETE ON edge_recordings FOR EACH ROW EXECUTE FUNCTION samhand_append_only();
CREATE TRIGGER edge_recordings_no_truncate BEFORE TRUNCATE ON edge_recordings FOR EACH STATEMENT EXECUTE FUNCTION samhand_append_only();
-- [end]
