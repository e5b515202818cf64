-- Commerce core: catalog with tier prices, stock per location, carts, orders with their
-- events, payments with gateway event ids, refunds, the double-entry ledger, shipments'
-- tracking events and store pickup codes.

-- Merchant commerce settings (defaults are DESIGN §3-4's).
ALTER TABLE merchants ADD COLUMN shipping_fee_fen INTEGER NOT NULL DEFAULT 0 CHECK (shipping_fee_fen >= 0);
ALTER TABLE merchants ADD COLUMN free_shipping_over_fen INTEGER CHECK (free_shipping_over_fen >= 0);
ALTER TABLE merchants ADD COLUMN unpaid_timeout_secs INTEGER NOT NULL DEFAULT 1800 CHECK (unpaid_timeout_secs BETWEEN 60 AND 86400);
ALTER TABLE merchants ADD COLUMN auto_confirm_days INTEGER NOT NULL DEFAULT 10 CHECK (auto_confirm_days BETWEEN 1 AND 60);
ALTER TABLE merchants ADD COLUMN after_sale_days INTEGER NOT NULL DEFAULT 7 CHECK (after_sale_days BETWEEN 0 AND 60);

CREATE TABLE categories (
    id          TEXT PRIMARY KEY,
    merchant_id TEXT NOT NULL REFERENCES merchants (id),
    name        TEXT NOT NULL,
    created_at  INTEGER NOT NULL,
    CONSTRAINT categories_merchant_id_name_key UNIQUE (merchant_id, name)
);

CREATE TABLE products (
    id          TEXT PRIMARY KEY,
    merchant_id TEXT NOT NULL REFERENCES merchants (id),
    category_id TEXT REFERENCES categories (id),
    name        TEXT NOT NULL,
    description TEXT NOT NULL DEFAULT '',
    images      TEXT NOT NULL,
    status      TEXT NOT NULL CHECK (status IN ('draft', 'active', 'archived')),
    created_at  INTEGER NOT NULL,
    updated_at  INTEGER NOT NULL
);
CREATE INDEX products_merchant_idx ON products (merchant_id, status, created_at);

CREATE TABLE skus (
    id             TEXT PRIMARY KEY,
    product_id     TEXT NOT NULL REFERENCES products (id),
    merchant_id    TEXT NOT NULL REFERENCES merchants (id),
    code           TEXT NOT NULL,
    attrs          TEXT NOT NULL,
    weight_g       INTEGER NOT NULL DEFAULT 0 CHECK (weight_g >= 0),
    list_price_fen INTEGER NOT NULL CHECK (list_price_fen >= 0),
    created_at     INTEGER NOT NULL,
    updated_at     INTEGER NOT NULL,
    CONSTRAINT skus_merchant_id_code_key UNIQUE (merchant_id, code)
);
CREATE INDEX skus_product_idx ON skus (product_id);

CREATE TABLE sku_tier_prices (
    sku_id    TEXT NOT NULL REFERENCES skus (id),
    tier_id   TEXT NOT NULL REFERENCES tiers (id),
    price_fen INTEGER NOT NULL CHECK (price_fen >= 0),
    PRIMARY KEY (sku_id, tier_id)
);

-- Where stock is kept: warehouses, and each offline store.
CREATE TABLE locations (
    id          TEXT PRIMARY KEY,
    merchant_id TEXT NOT NULL REFERENCES merchants (id),
    kind        TEXT NOT NULL CHECK (kind IN ('warehouse', 'store')),
    store_id    TEXT REFERENCES stores (id),
    name        TEXT NOT NULL,
    created_at  INTEGER NOT NULL,
    CONSTRAINT locations_store_id_key UNIQUE (store_id),
    CONSTRAINT locations_merchant_id_name_key UNIQUE (merchant_id, name),
    CONSTRAINT locations_store_matches_kind CHECK ((kind = 'store') = (store_id IS NOT NULL))
);

-- Available = on_hand - reserved. Reservation is one conditional UPDATE; the CHECK is the
-- last line of defence against a negative count.
CREATE TABLE stock (
    sku_id      TEXT NOT NULL REFERENCES skus (id),
    location_id TEXT NOT NULL REFERENCES locations (id),
    merchant_id TEXT NOT NULL REFERENCES merchants (id),
    on_hand     INTEGER NOT NULL DEFAULT 0,
    reserved    INTEGER NOT NULL DEFAULT 0,
    updated_at  INTEGER NOT NULL,
    PRIMARY KEY (sku_id, location_id),
    CONSTRAINT stock_never_negative CHECK (reserved >= 0 AND on_hand >= reserved)
);

CREATE TABLE stock_movements (
    id             INTEGER PRIMARY KEY,
    sku_id         TEXT NOT NULL REFERENCES skus (id),
    location_id    TEXT NOT NULL REFERENCES locations (id),
    merchant_id    TEXT NOT NULL REFERENCES merchants (id),
    on_hand_delta  INTEGER NOT NULL,
    reserved_delta INTEGER NOT NULL,
    reason         TEXT NOT NULL CHECK (reason IN ('adjustment', 'reservation', 'release', 'commit')),
    actor_id       TEXT REFERENCES accounts (id),
    order_id       TEXT,
    note           TEXT NOT NULL DEFAULT '',
    at             INTEGER NOT NULL
);
CREATE INDEX stock_movements_sku_idx ON stock_movements (sku_id, location_id, id);
CREATE INDEX stock_movements_merchant_idx ON stock_movements (merchant_id, id);
CREATE INDEX stock_merchant_idx ON stock (merchant_id, sku_id, location_id);

CREATE TABLE cart_items (
    account_id  TEXT NOT NULL REFERENCES accounts (id),
    merchant_id TEXT NOT NULL REFERENCES merchants (id),
    sku_id      TEXT NOT NULL REFERENCES skus (id),
    quantity    INTEGER NOT NULL CHECK (quantity BETWEEN 1 AND 999),
    added_at    INTEGER NOT NULL,
    PRIMARY KEY (account_id, sku_id)
);
CREATE INDEX cart_items_merchant_idx ON cart_items (account_id, merchant_id);

CREATE TABLE orders (
    id                 TEXT PRIMARY KEY,
    merchant_id        TEXT NOT NULL REFERENCES merchants (id),
    buyer_id           TEXT NOT NULL REFERENCES accounts (id),
    status             TEXT NOT NULL CHECK (status IN ('pending_payment', 'paid', 'awaiting_group', 'fulfilling', 'shipped',
                           'ready_for_pickup', 'delivered', 'picked_up', 'completed', 'cancelled', 'refunded')),
    delivery           TEXT NOT NULL CHECK (delivery IN ('shipping', 'pickup')),
    location_id        TEXT NOT NULL REFERENCES locations (id),
    pickup_store_id    TEXT REFERENCES stores (id),
    tier_code          TEXT,
    address            TEXT,
    goods_fen          INTEGER NOT NULL CHECK (goods_fen >= 0),
    shipping_fen       INTEGER NOT NULL CHECK (shipping_fen >= 0),
    total_fen          INTEGER NOT NULL,
    paid_fen           INTEGER NOT NULL DEFAULT 0,
    refunded_fen       INTEGER NOT NULL DEFAULT 0,
    payment_provider   TEXT,
    carrier            TEXT,
    tracking_no        TEXT,
    pay_deadline       INTEGER NOT NULL,
    auto_confirm_at    INTEGER,
    after_sale_ends_at INTEGER,
    created_at         INTEGER NOT NULL,
    paid_at            INTEGER,
    shipped_at         INTEGER,
    delivered_at       INTEGER,
    completed_at       INTEGER,
    cancelled_at       INTEGER,
    updated_at         INTEGER NOT NULL,
    CONSTRAINT orders_total_adds_up CHECK (total_fen = goods_fen + shipping_fen),
    CONSTRAINT orders_refund_within_paid CHECK (refunded_fen >= 0 AND refunded_fen <= paid_fen),
    CONSTRAINT orders_pickup_has_store CHECK ((delivery = 'pickup') = (pickup_store_id IS NOT NULL))
);
CREATE INDEX orders_buyer_idx ON orders (buyer_id, created_at);
CREATE INDEX orders_merchant_idx ON orders (merchant_id, created_at);
CREATE INDEX orders_status_idx ON orders (status, pay_deadline);

CREATE TABLE order_lines (
    id                TEXT PRIMARY KEY,
    order_id          TEXT NOT NULL REFERENCES orders (id),
    line_no           INTEGER NOT NULL,
    sku_id            TEXT NOT NULL REFERENCES skus (id),
    product_name      TEXT NOT NULL,
    sku_code          TEXT NOT NULL,
    attrs             TEXT NOT NULL,
    quantity          INTEGER NOT NULL CHECK (quantity BETWEEN 1 AND 999),
    unit_price_fen    INTEGER NOT NULL CHECK (unit_price_fen >= 0),
    line_total_fen    INTEGER NOT NULL,
    refunded_quantity INTEGER NOT NULL DEFAULT 0,
    refunded_fen      INTEGER NOT NULL DEFAULT 0,
    CONSTRAINT order_lines_order_id_line_no_key UNIQUE (order_id, line_no),
    CONSTRAINT order_lines_total_adds_up CHECK (line_total_fen = quantity * unit_price_fen),
    CONSTRAINT order_lines_refund_bounds CHECK (refunded_quantity BETWEEN 0 AND quantity AND refunded_fen BETWEEN 0 AND line_total_fen)
);

CREATE TABLE order_events (
    id          INTEGER PRIMARY KEY,
    order_id    TEXT NOT NULL REFERENCES orders (id),
    from_status TEXT,
    to_status   TEXT NOT NULL,
    actor_kind  TEXT NOT NULL CHECK (actor_kind IN ('buyer', 'staff', 'clerk', 'system', 'gateway', 'carrier')),
    actor_id    TEXT REFERENCES accounts (id),
    note        TEXT NOT NULL DEFAULT '',
    at          INTEGER NOT NULL
);
CREATE INDEX order_events_order_idx ON order_events (order_id, id);

CREATE TABLE payments (
    id           TEXT PRIMARY KEY,
    purpose      TEXT NOT NULL CHECK (purpose IN ('order', 'topup')),
    order_id     TEXT REFERENCES orders (id),
    account_id   TEXT NOT NULL REFERENCES accounts (id),
    provider     TEXT NOT NULL,
    amount_fen   INTEGER NOT NULL CHECK (amount_fen > 0),
    -- `returned`: it succeeded at the gateway after the order was cancelled or paid
    -- another way, and the money went straight back.
    status       TEXT NOT NULL CHECK (status IN ('pending', 'succeeded', 'failed', 'cancelled', 'returned')),
    created_at   INTEGER NOT NULL,
    succeeded_at INTEGER,
    CONSTRAINT payments_order_matches_purpose CHECK ((purpose = 'order') = (order_id IS NOT NULL))
);
CREATE INDEX payments_order_idx ON payments (order_id);
-- At most one successful payment per order.
CREATE UNIQUE INDEX payments_order_id_key ON payments (order_id) WHERE status = 'succeeded';

-- Every callback a gateway or carrier sent, by its own event id: a duplicate has no
-- second effect.
CREATE TABLE gateway_events (
    provider    TEXT NOT NULL,
    event_id    TEXT NOT NULL,
    payment_id  TEXT,
    kind        TEXT NOT NULL,
    outcome     TEXT NOT NULL,
    received_at INTEGER NOT NULL,
    PRIMARY KEY (provider, event_id)
);

CREATE TABLE refunds (
    id                TEXT PRIMARY KEY,
    order_id          TEXT NOT NULL REFERENCES orders (id),
    merchant_id       TEXT NOT NULL REFERENCES merchants (id),
    amount_fen        INTEGER NOT NULL CHECK (amount_fen > 0),
    includes_shipping INTEGER NOT NULL,
    lines             TEXT NOT NULL,
    provider          TEXT NOT NULL,
    reason            TEXT NOT NULL,
    actor_kind        TEXT NOT NULL,
    actor_id          TEXT REFERENCES accounts (id),
    created_at        INTEGER NOT NULL
);
CREATE INDEX refunds_order_idx ON refunds (order_id);

-- The ledger. A balance is the sum of its postings; `balance_fen` is kept beside the
-- postings in the same transaction so spending can be one conditional UPDATE.
CREATE TABLE ledger_accounts (
    id          TEXT PRIMARY KEY,
    balance_fen INTEGER NOT NULL DEFAULT 0,
    created_at  INTEGER NOT NULL
);

CREATE TABLE journal_entries (
    id              TEXT PRIMARY KEY,
    idempotency_key TEXT NOT NULL,
    kind            TEXT NOT NULL,
    order_id        TEXT REFERENCES orders (id),
    payment_id      TEXT REFERENCES payments (id),
    refund_id       TEXT REFERENCES refunds (id),
    memo            TEXT NOT NULL DEFAULT '',
    created_at      INTEGER NOT NULL,
    CONSTRAINT journal_entries_idempotency_key_key UNIQUE (idempotency_key)
);
CREATE INDEX journal_entries_order_idx ON journal_entries (order_id);

CREATE TABLE postings (
    id         INTEGER PRIMARY KEY,
    entry_id   TEXT NOT NULL REFERENCES journal_entries (id),
    account_id TEXT NOT NULL REFERENCES ledger_accounts (id),
    amount_fen INTEGER NOT NULL CHECK (amount_fen <> 0)
);
CREATE INDEX postings_account_idx ON postings (account_id, id);
CREATE INDEX postings_entry_idx ON postings (entry_id);

-- Entries are never updated or deleted: a correction is a new entry.
CREATE TRIGGER journal_entries_no_update BEFORE UPDATE ON journal_entries
BEGIN SELECT RAISE(ABORT, 'ledger rows are immutable (journal_entries)'); END;
CREATE TRIGGER journal_entries_no_delete BEFORE DELETE ON journal_entries
BEGIN SELECT RAISE(ABORT, 'ledger rows are immutable (journal_entries)'); END;
CREATE TRIGGER postings_no_update BEFORE UPDATE ON postings
BEGIN SELECT RAISE(ABORT, 'ledger rows are immutable (postings)'); END;
CREATE TRIGGER postings_no_delete BEFORE DELETE ON postings
BEGIN SELECT RAISE(ABORT, 'ledger rows are immutable (postings)'); END;

CREATE TABLE tracking_events (
    carrier     TEXT NOT NULL,
    event_id    TEXT NOT NULL,
    order_id    TEXT NOT NULL REFERENCES orders (id),
    status      TEXT NOT NULL,
    occurred_at INTEGER NOT NULL,
    received_at INTEGER NOT NULL,
    PRIMARY KEY (carrier, event_id)
);
CREATE INDEX tracking_events_order_idx ON tracking_events (order_id, occurred_at);

CREATE TABLE pickup_codes (
    order_id    TEXT PRIMARY KEY REFERENCES orders (id),
    store_id    TEXT NOT NULL REFERENCES stores (id),
    code        TEXT NOT NULL,
    created_at  INTEGER NOT NULL,
    redeemed_at INTEGER,
    redeemed_by TEXT REFERENCES accounts (id),
    voided_at   INTEGER
);
-- A live code is unique within its store, so a clerk's typed digits find one order.
CREATE UNIQUE INDEX pickup_codes_store_id_code_key ON pickup_codes (store_id, code)
    WHERE redeemed_at IS NULL AND voided_at IS NULL;
