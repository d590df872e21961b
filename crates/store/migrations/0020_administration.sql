-- Administration: what a health trust's administrator registers beyond the demo.
-- Organisations get their register numbers, address and phone, and a municipal
-- place its responsible LAR unit; a dispensing place its opening hours, capacity
-- and the days it is closed beyond the public holidays. Users get their HPR number,
-- roles at more organisations than their home one, a history of deactivation and
-- reactivation, and one-time invitations. These are not clinical records: the
-- organisation's and user's own rows are updated in place; the history is in
-- rows of its own.
ALTER TABLE organisations ADD COLUMN org_number TEXT;
ALTER TABLE organisations ADD COLUMN her_id TEXT;
ALTER TABLE organisations ADD COLUMN address TEXT NOT NULL DEFAULT '';
ALTER TABLE organisations ADD COLUMN phone TEXT NOT NULL DEFAULT '';
ALTER TABLE organisations ADD COLUMN responsible_unit_id TEXT REFERENCES organisations(id);
-- Opening hours as HH:MM, and how many patients the place can take (NULL: not set).
ALTER TABLE organisations ADD COLUMN opens_at TEXT;
ALTER TABLE organisations ADD COLUMN closes_at TEXT;
ALTER TABLE organisations ADD COLUMN capacity {integer};
CREATE UNIQUE INDEX organisations_org_number_unique ON organisations (org_number);
CREATE UNIQUE INDEX organisations_name_unique ON organisations (name);

CREATE TABLE place_closed_days (
    place_id TEXT NOT NULL REFERENCES organisations(id),
    closed_on TEXT NOT NULL,
    reason TEXT NOT NULL,
    created_by TEXT REFERENCES users(id),
    created_at {integer} NOT NULL,
    CONSTRAINT place_closed_days_once UNIQUE (place_id, closed_on)
);

ALTER TABLE users ADD COLUMN hpr_number TEXT;

-- A role at another organisation than the user's home one (users.organisation_id).
CREATE TABLE user_roles (
    user_id TEXT NOT NULL REFERENCES users(id),
    organisation_id TEXT NOT NULL REFERENCES organisations(id),
    role TEXT NOT NULL,
    created_by TEXT REFERENCES users(id),
    created_at {integer} NOT NULL,
    CONSTRAINT user_roles_once UNIQUE (user_id, organisation_id, role)
);

-- Every deactivation and reactivation, with who (NULL: on the server's command
-- line), when and why. users.active is the current state.
CREATE TABLE user_status_changes (
    id TEXT PRIMARY KEY,
    user_id TEXT NOT NULL REFERENCES users(id),
    active {integer} NOT NULL,
    reason TEXT NOT NULL,
    changed_by TEXT REFERENCES users(id),
    changed_at {integer} NOT NULL
);
CREATE INDEX user_status_changes_user ON user_status_changes (user_id);

-- A one-time link with which an invited user chooses a password.
CREATE TABLE user_invitations (
    token_hash TEXT PRIMARY KEY,
    user_id TEXT NOT NULL REFERENCES users(id),
    created_by TEXT REFERENCES users(id),
    created_at {integer} NOT NULL,
    expires_at {integer} NOT NULL,
    used_at {integer}
);
CREATE INDEX user_invitations_user ON user_invitations (user_id);

-- The organisation and role a session acts in, when the user holds roles at more
-- than one organisation (NULL: the user's home organisation and role).
ALTER TABLE sessions ADD COLUMN acting_organisation_id TEXT REFERENCES organisations(id);
ALTER TABLE sessions ADD COLUMN acting_role TEXT;
