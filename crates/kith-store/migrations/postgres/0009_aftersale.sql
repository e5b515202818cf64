-- After-sales the buyer starts (仅退款 / 退货退款): the merchant's deadlines and return
-- address, the requests with their lines and timeline, the order's paused after-sale window,
-- and 'return' as a stock movement (undamaged returned units put back on the shelf).

CREATE TABLE aftersale_terms (
    merchant_id    uuid PRIMARY KEY REFERENCES merchants (id),
    answer_hours   bigint NOT NULL CHECK (answer_hours BETWEEN 1 AND 720),
    ship_days      bigint NOT NULL CHECK (ship_days BETWEEN 1 AND 60),
    receive_days   bigint NOT NULL CHECK (receive_days BETWEEN 1 AND 60),
    return_address text NOT NULL DEFAULT '',
    updated_at     timestamptz NOT NULL
);

CREATE TABLE aftersale_requests (
    id                  uuid PRIMARY KEY,
    order_id            uuid NOT NULL REFERENCES orders (id),
    merchant_id         uuid NOT NULL REFERENCES merchants (id),
    buyer_id            uuid NOT NULL REFERENCES accounts (id),
    kind                text NOT NULL CHECK (kind IN ('refund_only', 'return_refund')),
    state               text NOT NULL CHECK (state IN ('requested', 'agreed', 'refused', 'awaiting_return',
                        'return_shipped', 'returned', 'refunding', 'refunded', 'cancelled', 'closed', 'disputed', 'decided')),
    reason              text NOT NULL,
    description         text NOT NULL DEFAULT '',
    photos              text NOT NULL DEFAULT '[]',
    resubmissions       bigint NOT NULL DEFAULT 0,
    refuse_reason       text,
    return_address      text,
    return_carrier      text,
    return_tracking_no  text,
    restock_location_id uuid REFERENCES locations (id),
    dispute_note        text,
    decision            text CHECK (decision IN ('all', 'part', 'nothing')),
    decision_note       text,
    decided_by          uuid REFERENCES accounts (id),
    refund_id           uuid,
    refunded_fen        bigint NOT NULL DEFAULT 0,
    -- When the party whose turn it is must act by; the deadline job re-checks it.
    deadline_at         timestamptz,
    created_at          timestamptz NOT NULL,
    updated_at          timestamptz NOT NULL,
    ended_at            timestamptz
);
CREATE INDEX aftersale_requests_order_idx ON aftersale_requests (order_id, created_at);
CREATE INDEX aftersale_requests_merchant_idx ON aftersale_requests (merchant_id, state, created_at);
CREATE INDEX aftersale_requests_buyer_idx ON aftersale_requests (buyer_id, created_at);
CREATE INDEX aftersale_requests_state_idx ON aftersale_requests (state, created_at);

CREATE TABLE aftersale_lines (
    request_id uuid NOT NULL REFERENCES aftersale_requests (id),
    order_id   uuid NOT NULL REFERENCES orders (id),
    line_no    bigint NOT NULL,
    quantity   bigint NOT NULL CHECK (quantity > 0),
    received   bigint,
    damaged    bigint,
    -- 1 while the request is open, NULL after: one open request per line.
    open_slot  bigint CHECK (open_slot = 1),
    PRIMARY KEY (request_id, line_no),
    CONSTRAINT aftersale_lines_receipt CHECK (received IS NULL OR (received BETWEEN 0 AND quantity AND damaged BETWEEN 0 AND received))
);
CREATE UNIQUE INDEX aftersale_lines_order_id_line_no_open_slot_key ON aftersale_lines (order_id, line_no, open_slot);

CREATE TABLE aftersale_events (
    id         bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    request_id uuid NOT NULL REFERENCES aftersale_requests (id),
    from_state text,
    to_state   text NOT NULL,
    actor_kind text NOT NULL,
    actor_id   uuid REFERENCES accounts (id),
    note       text NOT NULL DEFAULT '',
    at         timestamptz NOT NULL
);
CREATE INDEX aftersale_events_request_idx ON aftersale_events (request_id, id);

-- The time left of the order's after-sale window while a request holds it paused.
ALTER TABLE orders ADD COLUMN after_sale_paused_left_ms bigint;

ALTER TABLE stock_movements DROP CONSTRAINT stock_movements_reason_check;
ALTER TABLE stock_movements ADD CONSTRAINT stock_movements_reason_check
    CHECK (reason IN ('adjustment', 'reservation', 'release', 'commit', 'return'));
