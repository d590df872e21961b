-- Register identifiers as the FHIR API serves them (Practitioner, Organization):
-- an HPR number names one health professional and a HER-id one party in the
-- address register, so two users, or two organisations, never share one (the
-- organisation number is unique since migration 0020). NULL (not known) may
-- repeat in both databases.
CREATE UNIQUE INDEX users_hpr_number_unique ON users (hpr_number);
CREATE UNIQUE INDEX organisations_her_id_unique ON organisations (her_id);
-- When a user's or an organisation's own row last changed (NULL: not since it was
-- created), for meta.lastUpdated of Practitioner and Organization, so a system
-- that syncs by _lastUpdated learns of a new HPR number or organisation number.
ALTER TABLE users ADD COLUMN updated_at {integer};
ALTER TABLE organisations ADD COLUMN updated_at {integer};
