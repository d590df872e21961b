-- A draft dose order set aside unsigned («forkastet»). The draft row is never
-- updated or deleted: the discard is a row of its own, with who, when and why,
-- once per order (the primary key). A signed order is not discarded; the store
-- writes a discard only while the order has no signature, and a signature only
-- while it has no discard.
CREATE TABLE dose_order_discards (
    order_id TEXT PRIMARY KEY REFERENCES dose_orders(id),
    patient_id TEXT NOT NULL REFERENCES patients(id),
    discarded_by TEXT NOT NULL REFERENCES users(id),
    discarded_at BIGINT NOT NULL,
    reason TEXT NOT NULL
);
