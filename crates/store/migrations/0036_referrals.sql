-- Referrals to LAR (henvisning): who referred (person and service), why, the
-- referring service's own assessment and the day received; the episode in phase
-- `referral` it opened. Never changed: the assessment is its own record.
CREATE TABLE referrals (
    id TEXT PRIMARY KEY,
    patient_id TEXT NOT NULL REFERENCES patients(id),
    episode_id TEXT NOT NULL REFERENCES episodes(id),
    referrer_name TEXT NOT NULL,
    referrer_service TEXT NOT NULL,
    reason TEXT NOT NULL,
    referrer_assessment TEXT NOT NULL,
    received_on TEXT NOT NULL,
    referred_by_user TEXT REFERENCES users(id),
    registered_by TEXT NOT NULL REFERENCES users(id),
    registered_at {integer} NOT NULL
);
CREATE UNIQUE INDEX referrals_episode ON referrals (episode_id);
CREATE INDEX referrals_patient ON referrals (patient_id);
-- [sqlite]
CREATE TRIGGER referrals_no_update BEFORE UPDATE ON referrals BEGIN SELECT RAISE(ABORT, 'referrals is append-only'); END;
CREATE TRIGGER referrals_no_delete BEFORE DELETE ON referrals BEGIN SELECT RAISE(ABORT, 'referrals is append-only'); END;
-- [postgres]
CREATE TRIGGER referrals_append_only BEFORE UPDATE OR DELETE ON referrals FOR EACH ROW EXECUTE FUNCTION samhand_append_only();
CREATE TRIGGER referrals_no_truncate BEFORE TRUNCATE ON referrals FOR EACH STATEMENT EXECUTE FUNCTION samhand_append_only();
-- [end]
