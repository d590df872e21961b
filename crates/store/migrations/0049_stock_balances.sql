-- The kept stock balance of each product at each place (issue 16; H104): what the
-- ledger holds by its last count and the lines after it, with that count and the
-- latest line applied (each by instant and id, as the ledger orders its lines). Written in the transaction of every ledger line
-- (`stock_balance` in the store), so that a dispensing reads one row per product
-- instead of summing a week of lines inside the write batch (1,700 lines at a
-- place of 250 patients: a third of the recordings a second). Always derivable
-- from the ledger (`samhand verify-state`). A cache of the ledger, not a record:
-- updated in place, never shown as such.
CREATE TABLE stock_balances (
    place_id TEXT NOT NULL REFERENCES organisations (id),
    product TEXT NOT NULL,
    quantity_milli BIGINT NOT NULL,
    count_at BIGINT,
    count_id TEXT,
    last_at BIGINT NOT NULL,
    last_id TEXT NOT NULL,
    PRIMARY KEY (place_id, product)
);
-- The mark that the rows are still to be derived from the lines written before
-- this migration; the first start after it derives them and removes the mark in
-- one transaction (`stock_balance::backfill`).
CREATE TABLE stock_balances_backfill (
    pending {integer} PRIMARY KEY
);
INSERT INTO stock_balances_backfill (pending) VALUES (1);
