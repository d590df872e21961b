-- Stock in real units (issue 13, item 7). The ledger is kept per product (a
-- substance in a form and strength, domain::stock::Product) in the product's unit:
-- quantities are whole thousandths of the unit (microlitres of a solution, a
-- thousandth of a tablet or syringe), exact, with the mg equivalent beside them.
--
-- stock_ledger replaces stock_entries, which is no longer written and stays as the
-- record of what was written before products. Every stock_entries row is copied
-- here under its own id, kept in mg as the default product of its substance
-- (domain::stock::Product::default_for), so balances carry over. Append-only: a
-- correction of a dispensing is a new 'returned' line naming the line it reverses.

-- A count of one product, signed by two: the counter (who is logged in) and a
-- witness of the same place who confirmed with their own password.
CREATE TABLE stock_counts (
    id TEXT PRIMARY KEY,
    place_id TEXT NOT NULL REFERENCES organisations(id),
    product TEXT NOT NULL,
    counted_milli BIGINT NOT NULL,
    expected_milli BIGINT NOT NULL,
    note TEXT NOT NULL,
    counted_by TEXT NOT NULL REFERENCES users(id),
    witnessed_by TEXT NOT NULL REFERENCES users(id),
    counted_at BIGINT NOT NULL,
    CONSTRAINT stock_counts_two_people CHECK (counted_by <> witnessed_by)
);
CREATE INDEX stock_counts_place ON stock_counts (place_id, counted_at);

CREATE TABLE stock_ledger (
    id TEXT PRIMARY KEY,
    place_id TEXT NOT NULL REFERENCES organisations(id),
    product TEXT NOT NULL,
    substance TEXT NOT NULL,
    -- received, dispensed, wasted, counted, returned
    movement TEXT NOT NULL,
    -- Thousandths of the product's unit; never negative (the movement says which way).
    quantity_milli BIGINT NOT NULL CHECK (quantity_milli >= 0),
    -- The mg equivalent, in micrograms.
    amount_ug BIGINT NOT NULL,
    note TEXT NOT NULL,
    -- The dispensing that took it (or, on a returned line, that is corrected).
    dispensing_event_id TEXT REFERENCES dispensing_events(id),
    -- On a returned line: the correction's event id. No foreign key, so that a
    -- correction may be kept in a table of its own.
    correction_id TEXT,
    -- A returned line reverses exactly one dispensed line, once.
    reverses_line_id TEXT REFERENCES stock_ledger(id),
    -- A counted line belongs to its count, signed by two.
    count_id TEXT REFERENCES stock_counts(id),
    recorded_by TEXT NOT NULL REFERENCES users(id),
    recorded_at BIGINT NOT NULL
);
CREATE INDEX stock_ledger_place ON stock_ledger (place_id, product, recorded_at);
CREATE INDEX stock_ledger_event ON stock_ledger (dispensing_event_id);
-- The last count of a product, where its balance starts.
CREATE INDEX stock_ledger_counts ON stock_ledger (place_id, product, movement, recorded_at);
CREATE UNIQUE INDEX stock_ledger_reversed_once ON stock_ledger (reverses_line_id);

INSERT INTO stock_ledger (id, place_id, product, substance, movement, quantity_milli, amount_ug, note,
                          dispensing_event_id, recorded_by, recorded_at)
SELECT id, place_id,
       CASE substance
           WHEN 'methadone_oral_solution' THEN 'methadone_solution_1mg_ml'
           WHEN 'levomethadone' THEN 'levomethadone_solution_5mg_ml'
           WHEN 'buprenorphine_sublingual' THEN 'buprenorphine_tablet_2mg'
           WHEN 'buprenorphine_naloxone' THEN 'buprenorphine_naloxone_tablet_2mg'
           WHEN 'depot_buprenorphine_weekly' THEN 'depot_weekly_8mg'
           WHEN 'depot_buprenorphine_monthly' THEN 'depot_monthly_64mg'
           WHEN 'slow_release_morphine' THEN 'morphine_capsule_120mg'
       END,
       substance, movement,
       -- The product's strength in micrograms per unit (rounded down to a
       -- thousandth of the unit; amount_ug keeps the exact mg).
       amount_ug * 1000 / CASE substance
           WHEN 'methadone_oral_solution' THEN 1000
           WHEN 'levomethadone' THEN 5000
           WHEN 'buprenorphine_sublingual' THEN 2000
           WHEN 'buprenorphine_naloxone' THEN 2000
           WHEN 'depot_buprenorphine_weekly' THEN 8000
           WHEN 'depot_buprenorphine_monthly' THEN 64000
           WHEN 'slow_release_morphine' THEN 120000
       END,
       amount_ug, note, dispensing_event_id, recorded_by, recorded_at
FROM stock_entries;

-- A deviation from a count names the product and the count.
ALTER TABLE deviations ADD COLUMN product TEXT;
ALTER TABLE deviations ADD COLUMN count_id TEXT REFERENCES stock_counts(id);

-- Follow-up notes on a deviation, with who and when; the one that closes it says
-- so, and a deviation is closed once.
CREATE TABLE deviation_follow_ups (
    id TEXT PRIMARY KEY,
    deviation_id TEXT NOT NULL REFERENCES deviations(id),
    note TEXT NOT NULL,
    closes BIGINT NOT NULL,
    written_by TEXT NOT NULL REFERENCES users(id),
    written_at BIGINT NOT NULL
);
CREATE INDEX deviation_follow_ups_deviation ON deviation_follow_ups (deviation_id, written_at);
CREATE UNIQUE INDEX deviation_closed_once ON deviation_follow_ups (deviation_id) WHERE closes = 1;
