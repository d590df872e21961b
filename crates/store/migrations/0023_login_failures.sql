-- Failed logins counted per account and per client address (issue 15). Before,
-- one counter per account meant that sixty wrong passwords from one address
-- locked every account they named, and the right password was refused from
-- anywhere: a spray could lock the dispensing staff out at opening time. Now an
-- account's lockout counts the failures from the address that made them.
--
-- `account_kind` is 'staff' or 'patient'; `account_key` is the account's id, or,
-- for a name that names no account, a hash of the name, so that an unknown name
-- is refused and locked exactly as a known one is. An attempt is counted in one
-- statement (an upsert returning the new count) before the password is checked,
-- so that concurrent guesses cannot pass the limit; a right password removes the
-- row. Rows whose last failure is older than the lockout are pruned with the
-- expired sessions. The accounts' own failed_logins and last_failed_login_at
-- columns are no longer read.
CREATE TABLE login_failures (
    account_kind TEXT NOT NULL,
    account_key TEXT NOT NULL,
    client_address TEXT NOT NULL,
    failures {integer} NOT NULL,
    last_failed_at {integer} NOT NULL,
    CONSTRAINT login_failures_once UNIQUE (account_kind, account_key, client_address)
);

CREATE INDEX login_failures_by_time ON login_failures (last_failed_at);
