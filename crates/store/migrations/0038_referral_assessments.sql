-- After a referral (issue 18): the assessment decision in versions (a correction is
-- a new version with why), offers of a low-threshold start to patients waiting,
-- and the planning checklist on the episode checked by hand. None is changed.
CREATE TABLE referral_assessments (
    id TEXT PRIMARY KEY,
    referral_id TEXT NOT NULL REFERENCES referrals(id),
    patient_id TEXT NOT NULL REFERENCES patients(id),
    version {integer} NOT NULL,
    -- right or no_right.
    decision TEXT NOT NULL,
    -- The legal deadline for start of treatment (with a right).
    latest_start TEXT,
    reason TEXT NOT NULL,
    correction_reason TEXT,
    -- The day of the first assessment, kept by corrections.
    assessed_on TEXT NOT NULL,
    assessed_by TEXT NOT NULL REFERENCES users(id),
    assessed_at {integer} NOT NULL,
    CONSTRAINT referral_assessments_version_unique UNIQUE (referral_id, version)
);
CREATE INDEX referral_assessments_patient ON referral_assessments (patient_id);

CREATE TABLE quick_start_offers (
    id TEXT PRIMARY KEY,
    referral_id TEXT NOT NULL REFERENCES referrals(id),
    patient_id TEXT NOT NULL REFERENCES patients(id),
    offered TEXT NOT NULL,
    offered_on TEXT NOT NULL,
    -- accepted, declined or pending.
    answer TEXT NOT NULL,
    recorded_by TEXT NOT NULL REFERENCES users(id),
    recorded_at {integer} NOT NULL
);
CREATE INDEX quick_start_offers_referral ON quick_start_offers (referral_id);

CREATE TABLE planning_checks (
    id TEXT PRIMARY KEY,
    episode_id TEXT NOT NULL REFERENCES episodes(id),
    patient_id TEXT NOT NULL REFERENCES patients(id),
    item TEXT NOT NULL,
    note TEXT NOT NULL,
    checked_by TEXT NOT NULL REFERENCES users(id),
    checked_at {integer} NOT NULL
);
CREATE INDEX planning_checks_episode ON planning_checks (episode_id);
-- [sqlite]
CREATE TRIGGER referral_assessments_no_update BEFORE UPDATE ON referral_assessments BEGIN SELECT RAISE(ABORT, 'referral_assessments is append-only'); END;
CREATE TRIGGER referral_assessments_no_delete BEFORE DELETE ON referral_assessments BEGIN SELECT RAISE(ABORT, 'referral_assessments is append-only'); END;
CREATE TRIGGER quick_start_offers_no_update BEFORE UPDATE ON quick_start_offers BEGIN SELECT RAISE(ABORT, 'quick_start_offers is append-only'); END;
CREATE TRIGGER quick_start_offers_no_delete BEFORE DELETE ON quick_start_offers BEGIN SELECT RAISE(ABORT, 'quick_start_offers is append-only'); END;
CREATE TRIGGER planning_checks_no_update BEFORE UPDATE ON planning_checks BEGIN SELECT RAISE(ABORT, 'planning_checks is append-only'); END;
CREATE TRIGGER planning_checks_no_delete BEFORE DELETE ON planning_checks BEGIN SELECT RAISE(ABORT, 'planning_checks is append-only'); END;
-- [postgres]
CREATE TRIGGER referral_assessments_append_only BEFORE UPDATE OR DELETE ON referral_assessments FOR EACH ROW EXECUTE FUNCTION samhand_append_only();
CREATE TRIGGER referral_assessments_no_truncate BEFORE TRUNCATE ON referral_assessments FOR EACH STATEMENT EXECUTE FUNCTION samhand_append_only();
CREATE TRIGGER quick_start_offers_append_only BEFORE UPDATE OR DELETE ON quick_start_offers FOR EACH ROW EXECUTE FUNCTION samhand_append_only();
CREATE TRIGGER quick_start_offers_no_truncate BEFORE TRUNCATE ON quick_start_offers FOR EACH STATEMENT EXECUTE FUNCTION samhand_append_only();
CREATE TRIGGER planning_checks_append_only BEFORE UPDATE OR DELETE ON planning_checks FOR EACH ROW EXECUTE FUNCTION samhand_append_only();
CREATE TRIGGER planning_checks_no_truncate BEFORE TRUNCATE ON planning_checks FOR EACH STATEMENT EXECUTE FUNCTION samhand_append_only();
-- [end]
