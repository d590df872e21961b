-- The kept dosing state also keeps the days with a dose recorded withheld or
-- reduced (any outcome but given; H102): the prescriber's alerts then look up
-- the doses of only the patients with such a day today, where they looked up
-- today's doses of every patient of the unit (74 ms on PostgreSQL for 10,000).
-- The rows are derived again at the next start (`day_state::backfill`), as after
-- migration 0037, so that the new column holds the history's days.
ALTER TABLE dose_day_state ADD COLUMN assessed_days TEXT NOT NULL DEFAULT '';
INSERT INTO dose_day_state_backfill (pending) VALUES (1) ON CONFLICT (pending) DO NOTHING;
