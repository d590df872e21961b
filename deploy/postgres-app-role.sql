-- deploy/postgres-app-role.sql: the role Samhand's server connects to PostgreSQL as.
--
-- Samhand's tables are owned by the role that ran the migrations (`samhand migrate`,
-- run as the owner). The server itself should connect as `samhand_app`, which may
-- read and add rows everywhere but may not UPDATE, DELETE or TRUNCATE the audit log
-- or any append-only clinical table, nor drop their triggers (only the owner can).
-- An insider with the application's password then cannot rewrite the record; one
-- with the owner's can, and the keyed audit chain with its checkpoints outside the
-- database is what tells (THREATS.md).
--
-- Run as the owner, in Samhand's database, after `samhand migrate` and again after
-- every upgrade (new tables need their grants):
--
--   psql "$OWNER_URL" -v ON_ERROR_STOP=1 -f deploy/postgres-app-role.sql
--   psql "$OWNER_URL" -c "ALTER ROLE samhand_app PASSWORD '…'"
--
-- and give the server DATABASE_URL=postgres://samhand_app:…@host/db. The server runs
-- no migration it finds already applied, so it needs no right to change the schema.
-- The append-only tables are those with a `<table>_append_only` trigger (migration
-- 0022); the list is read from the database, so it stays right as tables are added.
DO $$
DECLARE
    t record;
BEGIN
    IF NOT EXISTS (SELECT 1 FROM pg_roles WHERE rolname = 'samhand_app') THEN
        CREATE ROLE samhand_app LOGIN;
    END IF;
    EXECUTE format('GRANT CONNECT ON DATABASE %I TO samhand_app', current_database());
    -- Only the owner creates objects (PostgreSQL 15 and later do so already).
    REVOKE CREATE ON SCHEMA public FROM PUBLIC;
    GRANT USAGE ON SCHEMA public TO samhand_app;
    GRANT SELECT, INSERT, UPDATE, DELETE ON ALL TABLES IN SCHEMA public TO samhand_app;
    GRANT USAGE, SELECT ON ALL SEQUENCES IN SCHEMA public TO samhand_app;
    FOR t IN
        SELECT DISTINCT c.relname
        FROM pg_trigger g
        JOIN pg_class c ON c.oid = g.tgrelid
        JOIN pg_namespace n ON n.oid = c.relnamespace
        WHERE n.nspname = 'public' AND g.tgname = c.relname || '_append_only'
    LOOP
        EXECUTE format('REVOKE UPDATE, DELETE, TRUNCATE ON public.%I FROM samhand_app', t.relname);
    END LOOP;
    -- The migrations' own record is the owner's.
    REVOKE INSERT, UPDATE, DELETE, TRUNCATE ON schema_migrations FROM samhand_app;
END
$$;
