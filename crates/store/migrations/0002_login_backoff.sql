-- When the last failed login happened, so that repeated failures can lock an
-- account for a while instead of for ever.
ALTER TABLE users ADD COLUMN last_failed_login_at BIGINT;
