-- The referring service as an organisation in Samhand's register, when it is one
-- (a GP office or municipal service in Samhand, or one outside Samhand addressed by
-- its HER-id): the assessment decision is told to it, in Samhand or by EDI. A
-- referral typed from paper may name a service that is not registered: NULL.
ALTER TABLE referrals ADD COLUMN referrer_organisation_id TEXT REFERENCES organisations(id);
CREATE INDEX referrals_referrer_organisation ON referrals (referrer_organisation_id);
