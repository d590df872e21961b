-- Requests the patient makes in the portal (a change of arrangement, an item for
-- the next meeting). Each becomes a task for the LAR unit or the coordinator; the
-- task's status and note are the answer the patient sees. Tasks name a staff user
-- as their creator, so the patient's authorship is kept here.
CREATE TABLE patient_requests (
    id TEXT PRIMARY KEY,
    patient_id TEXT NOT NULL REFERENCES patients(id),
    account_id TEXT NOT NULL REFERENCES patient_accounts(id),
    kind TEXT NOT NULL,
    task_id TEXT NOT NULL REFERENCES care_tasks(id),
    created_at BIGINT NOT NULL
);
CREATE INDEX patient_requests_patient ON patient_requests (patient_id);
