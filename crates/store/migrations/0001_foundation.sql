-- The foundation: organisations, staff, patients, LAR episodes, dose orders,
-- arrangements, dispensing, stock, the policy table and the audit log.
-- Clinical tables are append-only: corrections and state changes are new rows.
-- Ids are UUIDv7 text; dates are ISO text (yyyy-mm-dd, Europe/Oslo days);
-- instants are microseconds since the Unix epoch (UTC); amounts are micrograms.

CREATE TABLE organisations (
    id TEXT PRIMARY KEY,
    name TEXT NOT NULL,
    kind TEXT NOT NULL,
    municipality TEXT NOT NULL,
    -- Seven Y/N letters, Monday first.
    open_weekdays TEXT NOT NULL DEFAULT 'YYYYYYY',
    open_on_public_holidays {integer} NOT NULL DEFAULT 0,
    created_at {integer} NOT NULL
);

CREATE TABLE users (
    id TEXT PRIMARY KEY,
    username TEXT NOT NULL,
    display_name TEXT NOT NULL,
    role TEXT NOT NULL,
    organisation_id TEXT NOT NULL REFERENCES organisations(id),
    password_hash TEXT,
    active {integer} NOT NULL DEFAULT 1,
    failed_logins {integer} NOT NULL DEFAULT 0,
    created_at {integer} NOT NULL,
    CONSTRAINT users_username_unique UNIQUE (username)
);

CREATE TABLE sessions (
    token_hash TEXT PRIMARY KEY,
    user_id TEXT NOT NULL REFERENCES users(id),
    csrf_token TEXT NOT NULL,
    created_at {integer} NOT NULL,
    last_seen_at {integer} NOT NULL,
    expires_at {integer} NOT NULL
);

CREATE TABLE api_tokens (
    id TEXT PRIMARY KEY,
    token_hash TEXT NOT NULL UNIQUE,
    user_id TEXT NOT NULL REFERENCES users(id),
    created_at {integer} NOT NULL,
    expires_at {integer} NOT NULL,
    revoked_at {integer}
);

CREATE TABLE patients (
    id TEXT PRIMARY KEY,
    national_id TEXT NOT NULL,
    given_name TEXT NOT NULL,
    family_name TEXT NOT NULL,
    phone TEXT NOT NULL,
    address TEXT NOT NULL,
    created_by TEXT NOT NULL REFERENCES users(id),
    created_at {integer} NOT NULL,
    CONSTRAINT patients_national_id_unique UNIQUE (national_id)
);
CREATE INDEX patients_family_name ON patients (family_name);

-- The identity photo shown at the window; a new photo is a new row.
CREATE TABLE patient_photos (
    id TEXT PRIMARY KEY,
    patient_id TEXT NOT NULL REFERENCES patients(id),
    content_type TEXT NOT NULL,
    bytes {blob} NOT NULL,
    created_by TEXT NOT NULL REFERENCES users(id),
    created_at {integer} NOT NULL
);
CREATE INDEX patient_photos_patient ON patient_photos (patient_id, created_at);

CREATE TABLE episodes (
    id TEXT PRIMARY KEY,
    patient_id TEXT NOT NULL REFERENCES patients(id),
    responsible_unit TEXT NOT NULL REFERENCES organisations(id),
    doctor_id TEXT NOT NULL REFERENCES users(id),
    consultant_id TEXT NOT NULL REFERENCES users(id),
    started_on TEXT NOT NULL,
    phase TEXT NOT NULL,
    created_by TEXT NOT NULL REFERENCES users(id),
    created_at {integer} NOT NULL
);
CREATE INDEX episodes_patient ON episodes (patient_id);

-- Ending an episode is a row of its own: the episode itself is never changed.
CREATE TABLE episode_ends (
    episode_id TEXT PRIMARY KEY REFERENCES episodes(id),
    ended_on TEXT NOT NULL,
    reason TEXT NOT NULL,
    note TEXT NOT NULL,
    decided_by TEXT NOT NULL REFERENCES users(id),
    decided_at {integer} NOT NULL
);

CREATE TABLE dose_orders (
    id TEXT PRIMARY KEY,
    patient_id TEXT NOT NULL REFERENCES patients(id),
    episode_id TEXT NOT NULL REFERENCES episodes(id),
    substance TEXT NOT NULL,
    form TEXT NOT NULL,
    -- Parts of a split dose in micrograms, comma separated.
    parts TEXT NOT NULL,
    effective_from TEXT NOT NULL,
    -- Titration steps "yyyy-mm-dd=ug,ug;…", empty when none.
    titration TEXT NOT NULL,
    reason TEXT NOT NULL,
    created_by TEXT NOT NULL REFERENCES users(id),
    created_at {integer} NOT NULL
);
CREATE INDEX dose_orders_patient ON dose_orders (patient_id);

-- Signing a draft adds its signature; the draft row is never updated. The version
-- number is unique per patient, so two signings cannot both become version n.
CREATE TABLE dose_order_signatures (
    order_id TEXT PRIMARY KEY REFERENCES dose_orders(id),
    patient_id TEXT NOT NULL REFERENCES patients(id),
    version {integer} NOT NULL,
    signed_by TEXT NOT NULL REFERENCES users(id),
    signed_at {integer} NOT NULL,
    warnings_confirmed TEXT,
    CONSTRAINT dose_order_signatures_version_unique UNIQUE (patient_id, version)
);

CREATE TABLE patient_groups (
    id TEXT PRIMARY KEY,
    place_id TEXT NOT NULL REFERENCES organisations(id),
    name TEXT NOT NULL,
    window_start TEXT NOT NULL,
    window_end TEXT NOT NULL
);

CREATE TABLE arrangements (
    id TEXT PRIMARY KEY,
    patient_id TEXT NOT NULL REFERENCES patients(id),
    version {integer} NOT NULL,
    place_id TEXT NOT NULL REFERENCES organisations(id),
    -- Seven letters, Monday first: A attend, T take-home.
    week TEXT NOT NULL,
    valid_from TEXT NOT NULL,
    review_on TEXT NOT NULL,
    group_id TEXT REFERENCES patient_groups(id),
    window_start TEXT,
    window_end TEXT,
    reason TEXT NOT NULL,
    decided_by TEXT NOT NULL REFERENCES users(id),
    decided_at {integer} NOT NULL,
    CONSTRAINT arrangements_version_unique UNIQUE (patient_id, version)
);
CREATE INDEX arrangements_place ON arrangements (place_id);

-- A decision for one day: take-home from an earlier day, or another place.
CREATE TABLE covers (
    id TEXT PRIMARY KEY,
    patient_id TEXT NOT NULL REFERENCES patients(id),
    cover_date TEXT NOT NULL,
    kind TEXT NOT NULL,
    take_home_from TEXT,
    place_id TEXT REFERENCES organisations(id),
    decided_by TEXT NOT NULL REFERENCES users(id),
    decided_at {integer} NOT NULL
);
CREATE INDEX covers_patient ON covers (patient_id, cover_date);
CREATE INDEX covers_place ON covers (place_id, cover_date);

-- One recording at the window. The idempotency key makes a retried request
-- return the first result instead of recording again.
CREATE TABLE dispensing_events (
    id TEXT PRIMARY KEY,
    idempotency_key TEXT NOT NULL,
    patient_id TEXT NOT NULL REFERENCES patients(id),
    place_id TEXT NOT NULL REFERENCES organisations(id),
    day TEXT NOT NULL,
    outcome TEXT NOT NULL,
    reason TEXT,
    identity_confirmed_by TEXT NOT NULL REFERENCES users(id),
    recorded_by TEXT NOT NULL REFERENCES users(id),
    recorded_at {integer} NOT NULL,
    CONSTRAINT dispensing_events_idempotency_key_unique UNIQUE (idempotency_key)
);
CREATE INDEX dispensing_events_place_day ON dispensing_events (place_id, day);

-- Each scheduled dose (patient, day, part) is recorded at most once, whichever
-- screen or place records it: the database enforces it, not only the code.
CREATE TABLE dispensed_doses (
    event_id TEXT NOT NULL REFERENCES dispensing_events(id),
    patient_id TEXT NOT NULL REFERENCES patients(id),
    dose_date TEXT NOT NULL,
    part {integer} NOT NULL,
    mode TEXT NOT NULL,
    substance TEXT NOT NULL,
    order_id TEXT NOT NULL REFERENCES dose_orders(id),
    amount_ug {integer} NOT NULL,
    ordered_ug {integer} NOT NULL,
    CONSTRAINT dispensed_doses_once UNIQUE (patient_id, dose_date, part)
);
CREATE INDEX dispensed_doses_event ON dispensed_doses (event_id);

CREATE TABLE stock_entries (
    id TEXT PRIMARY KEY,
    place_id TEXT NOT NULL REFERENCES organisations(id),
    substance TEXT NOT NULL,
    movement TEXT NOT NULL,
    amount_ug {integer} NOT NULL,
    note TEXT NOT NULL,
    dispensing_event_id TEXT REFERENCES dispensing_events(id),
    recorded_by TEXT NOT NULL REFERENCES users(id),
    recorded_at {integer} NOT NULL
);
CREATE INDEX stock_entries_place ON stock_entries (place_id, substance, recorded_at);

CREATE TABLE deviations (
    id TEXT PRIMARY KEY,
    place_id TEXT NOT NULL REFERENCES organisations(id),
    kind TEXT NOT NULL,
    substance TEXT,
    difference_ug {integer},
    description TEXT NOT NULL,
    reported_by TEXT NOT NULL REFERENCES users(id),
    reported_at {integer} NOT NULL
);
CREATE INDEX deviations_place ON deviations (place_id, reported_at);

-- The clinical policy table: every change a new row; the latest per key wins.
CREATE TABLE policy_settings (
    id TEXT PRIMARY KEY,
    key TEXT NOT NULL,
    value {integer} NOT NULL,
    set_by TEXT REFERENCES users(id),
    set_at {integer} NOT NULL
);

-- Every read and write of patient data. Append-only and hash chained: each row's
-- hash covers its content and the previous row's hash.
CREATE TABLE audit_log (
    seq {integer} PRIMARY KEY,
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
    prev_hash TEXT NOT NULL,
    hash TEXT NOT NULL
);
CREATE INDEX audit_log_patient ON audit_log (patient_id, at);

-- One row holding the chain's head (SQLite serialises writers; PostgreSQL locks it).
CREATE TABLE audit_head (
    id {integer} PRIMARY KEY,
    seq {integer} NOT NULL,
    hash TEXT NOT NULL
);
INSERT INTO audit_head (id, seq, hash) VALUES (1, 0, '');
