-- After-sales the buyer starts (仅退款 / 退货退款): the merchant's deadlines and return
-- address, the requests with their lines and timeline, the order's paused after-sale window,
-- and 'return' as a stock movement (undamaged returned units put back on the shelf).

CREATE TABLE aftersale_terms (
    merchant_id    TEXT PRIMARY KEY REFERENCES merchants (id),
    answer_hours   INTEGER NOT NULL CHECK (answer_hours BETWEEN 1 AND 720),
    ship_days      INTEGER NOT NULL CHECK (ship_days BETWEEN 1 AND 60),
    receive_days   INTEGER NOT NULL CHECK (receive_days BETWEEN 1 AND 60),
    return_address TEXT NOT NULL DEFAULT '',
    updated_at     INTEGER NOT NULL
);

CREATE TABLE aftersale_requests (
    id                  TEXT PRIMARY KEY,
    order_id            TEXT NOT NULL REFERENCES orders (id),
    merchant_id         TEXT NOT NULL REFERENCES merchants (id),
    buyer_id            TEXT NOT NULL REFERENCES accounts (id),
    kind                TEXT NOT NULL CHECK (kind IN ('refund_only', 'return_refund')),
    state               TEXT NOT NULL CHECK (state IN ('requested', 'agreed', 'refused', 'awaiting_return',
                        'return_shipped', 'returned', 'refunding', 'refunded', 'cancelled', 'closed', 'disputed', 'decided')),
    reason              TEXT NOT NULL,
    description         TEXT NOT NULL DEFAULT '',
    photos              TEXT NOT NULL DEFAULT '[]',
    resubmissions       INTEGER NOT NULL DEFAULT 0,
    refuse_reason       TEXT,
    return_address      TEXT,
    return_carrier      TEXT,
    return_tracking_no  TEXT,
    restock_location_id TEXT REFERENCES locations (id),
    dispute_note        TEXT,
    decision            TEXT CHECK (decision IN ('all', 'part', 'nothing')),
    decision_note       TEXT,
    decided_by          TEXT REFERENCES accounts (id),
    refund_id           TEXT,
    refunded_fen        INTEGER NOT NULL DEFAULT 0,
    -- When the party whose turn it is must act by; the deadline job re-checks it.
    deadline_at         INTEGER,
    created_at          INTEGER NOT NULL,
    updated_at          INTEGER NOT NULL,
    ended_at            INTEGER
);
CREATE INDEX aftersale_requests_order_idx ON aftersale_requests (order_id, created_at);
CREATE INDEX aftersale_requests_merchant_idx ON aftersale_requests (merchant_id, state, created_at);
CREATE INDEX aftersale_requests_buyer_idx ON aftersale_requests (buyer_id, created_at);
CREATE INDEX aftersale_requests_state_idx ON aftersale_requests (state, created_at);

CREATE TABLE aftersale_lines (
    request_id TEXT NOT NULL REFERENCES aftersale_requests (id),
    order_id   TEXT NOT NULL REFERENCES orders (id),
    line_no    INTEGER NOT NULL,
    quantity   INTEGER NOT NULL CHECK (quantity > 0),
    received   INTEGER,
    damaged    INTEGER,
    -- 1 while the request is open, NULL after: one open request per line.
    open_slot  INTEGER CHECK (open_slot = 1),
    PRIMARY KEY (request_id, line_no),
    CONSTRAINT aftersale_lines_receipt CHECK (received IS NULL OR (received BETWEEN 0 AND quantity AND damaged BETWEEN 0 AND received))
);
CREATE UNIQUE INDEX aftersale_lines_order_id_line_no_open_slot_key ON aftersale_lines (order_id, line_no, open_slot);

CREATE TABLE aftersale_events (
    id         INTEGER PRIMARY KEY,
    request_id TEXT NOT NULL REFERENCES aftersale_requests (id),
    from_state TEXT,
    to_state   TEXT NOT NULL,
    actor_kind TEXT NOT NULL,
    actor_id   TEXT REFERENCES accounts (id),
    note       TEXT NOT NULL DEFAULT '',
    at         INTEGER NOT NULL
);
CREATE INDEX aftersale_events_request_idx ON aftersale_events (request_id, id);

-- The time left of the order's after-sale window while a request holds it paused.
ALTER TABLE orders ADD COLUMN after_sale_paused_left_ms INTEGER;

-- SQLite cannot change a CHECK: the movements table is rebuilt with 'return' allowed.
CREATE TABLE stock_movements_new (
    id             INTEGER PRIMARY KEY,
    sku_id         TEXT NOT NULL REFERENCES skus (id),
    location_id    TEXT NOT NULL REFERENCES locations (id),
    merchant_id    TEXT NOT NULL REFERENCES merchants (id),
    on_hand_delta  INTEGER NOT NULL,
    reserved_delta INTEGER NOT NULL,
    reason         TEXT NOT NULL CHECK (reason IN ('adjustment', 'reservation', 'release', 'commit', 'return')),
    actor_id       TEXT REFERENCES accounts (id),
    order_id       TEXT,
    note           TEXT NOT NULL DEFAULT '',
    at             INTEGER NOT NULL
);
INSERT INTO stock_movements_new (id, sku_id, location_id, merchant_id, on_hand_delta, reserved_delta, reason, actor_id, order_id, note, at)
    SELECT id, sku_id, location_id, merchant_id, on_hand_delta, reserved_delta, reason, actor_id, order_id, note, at FROM stock_movements;
DROP TABLE stock_movements;
ALTER TABLE stock_movements_new RENAME TO stock_movements;
CREATE INDEX stock_movements_sku_idx ON stock_movements (sku_id, location_id, id);
CREATE INDEX stock_movements_merchant_idx ON stock_movements (merchant_id, id);
