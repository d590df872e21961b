-- Corrections without overwriting, for who the patient is and for a laboratory's
-- drug test result.
--
-- Every version of a patient's identity (name, phone, address; the national
-- identity number never changes) with who, when and why, the first included. The
-- patients row stays the current projection that every query reads; a change
-- writes the next version here and the projection in one transaction. The unique
-- version per patient is what refuses a second change made from the same version
-- (a stale update), so two corrections can never silently overwrite each other.
CREATE TABLE patient_identity_versions (
    patient_id TEXT NOT NULL REFERENCES patients(id),
    version BIGINT NOT NULL,
    national_id TEXT NOT NULL,
    given_name TEXT NOT NULL,
    family_name TEXT NOT NULL,
    phone TEXT NOT NULL,
    address TEXT NOT NULL,
    reason TEXT NOT NULL,
    recorded_by TEXT NOT NULL REFERENCES users(id),
    recorded_at BIGINT NOT NULL,
    CONSTRAINT patient_identity_versions_once UNIQUE (patient_id, version)
);

-- Every patient registered before this migration gets their first version: the
-- identity as it stands, by whoever registered them, when they did.
INSERT INTO patient_identity_versions
    (patient_id, version, national_id, given_name, family_name, phone, address, reason, recorded_by, recorded_at)
SELECT id, 1, national_id, given_name, family_name, phone, address, 'Registrert', created_by, created_at
FROM patients;

-- A corrected drug test result is a new row of drug_tests with the same series
-- (the id the result is known by, the first row's id) and the next version, and
-- why; the earlier rows stay as they were.
ALTER TABLE drug_tests ADD COLUMN series_id TEXT NOT NULL DEFAULT '';
ALTER TABLE drug_tests ADD COLUMN version BIGINT NOT NULL DEFAULT 1;
ALTER TABLE drug_tests ADD COLUMN reason TEXT NOT NULL DEFAULT '';
UPDATE drug_tests SET series_id = id;
CREATE UNIQUE INDEX drug_tests_version_once ON drug_tests (series_id, version);
