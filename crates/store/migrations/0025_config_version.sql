-- The version of what every request reads and few change: organisations and their
-- closed days, patient groups, the clinical policy, users, their roles and API
-- tokens. Any change to them, by any server process or by hand, moves it on, so a
-- process may keep them in memory and read only this one row per request to know
-- whether what it keeps is still right.
CREATE TABLE config_version (id {integer} PRIMARY KEY, version {integer} NOT NULL);
INSERT INTO config_version (id, version) VALUES (1, 0);
-- [sqlite]
CREATE TRIGGER organisations_config_insert AFTER INSERT ON organisations BEGIN UPDATE config_version SET version = version + 1 WHERE id = 1; END;
CREATE TRIGGER organisations_config_update AFTER UPDATE ON organisations BEGIN UPDATE config_version SET version = version + 1 WHERE id = 1; END;
CREATE TRIGGER organisations_config_delete AFTER DELETE ON organisations BEGIN UPDATE config_version SET version = version + 1 WHERE id = 1; END;
CREATE TRIGGER place_closed_days_config_insert AFTER INSERT ON place_closed_days BEGIN UPDATE config_version SET version = version + 1 WHERE id = 1; END;
CREATE TRIGGER place_closed_days_config_update AFTER UPDATE ON place_closed_days BEGIN UPDATE config_version SET version = version + 1 WHERE id = 1; END;
CREATE TRIGGER place_closed_days_config_delete AFTER DELETE ON place_closed_days BEGIN UPDATE config_version SET version = version + 1 WHERE id = 1; END;
CREATE TRIGGER patient_groups_config_insert AFTER INSERT ON patient_groups BEGIN UPDATE config_version SET version = version + 1 WHERE id = 1; END;
CREATE TRIGGER patient_groups_config_update AFTER UPDATE ON patient_groups BEGIN UPDATE config_version SET version = version + 1 WHERE id = 1; END;
CREATE TRIGGER patient_groups_config_delete AFTER DELETE ON patient_groups BEGIN UPDATE config_version SET version = version + 1 WHERE id = 1; END;
CREATE TRIGGER policy_settings_config_insert AFTER INSERT ON policy_settings BEGIN UPDATE config_version SET version = version + 1 WHERE id = 1; END;
CREATE TRIGGER policy_settings_config_update AFTER UPDATE ON policy_settings BEGIN UPDATE config_version SET version = version + 1 WHERE id = 1; END;
CREATE TRIGGER policy_settings_config_delete AFTER DELETE ON policy_settings BEGIN UPDATE config_version SET version = version + 1 WHERE id = 1; END;
CREATE TRIGGER users_config_insert AFTER INSERT ON users BEGIN UPDATE config_version SET version = version + 1 WHERE id = 1; END;
CREATE TRIGGER users_config_update AFTER UPDATE ON users BEGIN UPDATE config_version SET version = version + 1 WHERE id = 1; END;
CREATE TRIGGER users_config_delete AFTER DELETE ON users BEGIN UPDATE config_version SET version = version + 1 WHERE id = 1; END;
CREATE TRIGGER user_roles_config_insert AFTER INSERT ON user_roles BEGIN UPDATE config_version SET version = version + 1 WHERE id = 1; END;
CREATE TRIGGER user_roles_config_update AFTER UPDATE ON user_roles BEGIN UPDATE config_version SET version = version + 1 WHERE id = 1; END;
CREATE TRIGGER user_roles_config_delete AFTER DELETE ON user_roles BEGIN UPDATE config_version SET version = version + 1 WHERE id = 1; END;
CREATE TRIGGER api_tokens_config_insert AFTER INSERT ON api_tokens BEGIN UPDATE config_version SET version = version + 1 WHERE id = 1; END;
CREATE TRIGGER api_tokens_config_update AFTER UPDATE ON api_tokens BEGIN UPDATE config_version SET version = version + 1 WHERE id = 1; END;
CREATE TRIGGER api_tokens_config_delete AFTER DELETE ON api_tokens BEGIN UPDATE config_version SET version = version + 1 WHERE id = 1; END;
-- [postgres]
CREATE FUNCTION samhand_config_changed() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    UPDATE config_version SET version = version + 1 WHERE id = 1;
    RETURN NULL;
END
$$;
CREATE TRIGGER organisations_config_changed AFTER INSERT OR UPDATE OR DELETE OR TRUNCATE ON organisations FOR EACH STATEMENT EXECUTE FUNCTION samhand_config_changed();
CREATE TRIGGER place_closed_days_config_changed AFTER INSERT OR UPDATE OR DELETE OR TRUNCATE ON place_closed_days FOR EACH STATEMENT EXECUTE FUNCTION samhand_config_changed();
CREATE TRIGGER patient_groups_config_changed AFTER INSERT OR UPDATE OR DELETE OR TRUNCATE ON patient_groups FOR EACH STATEMENT EXECUTE FUNCTION samhand_config_changed();
CREATE TRIGGER policy_settings_config_changed AFTER INSERT OR UPDATE OR DELETE OR TRUNCATE ON policy_settings FOR EACH STATEMENT EXECUTE FUNCTION samhand_config_changed();
CREATE TRIGGER users_config_changed AFTER INSERT OR UPDATE OR DELETE OR TRUNCATE ON users FOR EACH STATEMENT EXECUTE FUNCTION samhand_config_changed();
CREATE TRIGGER user_roles_config_changed AFTER INSERT OR UPDATE OR DELETE OR TRUNCATE ON user_roles FOR EACH STATEMENT EXECUTE FUNCTION samhand_config_changed();
CREATE TRIGGER api_tokens_config_changed AFTER INSERT OR UPDATE OR DELETE OR TRUNCATE ON api_tokens FOR EACH STATEMENT EXECUTE FUNCTION samhand_config_changed();
-- [end]
