-- 社区团购: a merchant's leaders (团长) with their pickup points, each member's chosen leader
-- per merchant (and every change of it), and 接龙 batches: products at a batch price with
-- a per-member and a total limit, joined until a cut-off, then fixed (or failed below a
-- minimum), delivered per leader and picked up at the leader's point.

CREATE TABLE leaders (
    id            TEXT PRIMARY KEY,
    merchant_id   TEXT NOT NULL REFERENCES merchants (id),
    account_id    TEXT NOT NULL REFERENCES accounts (id),
    status        TEXT NOT NULL CHECK (status IN ('applied', 'approved', 'refused', 'suspended')),
    point_name    TEXT NOT NULL,
    address       TEXT NOT NULL,
    lat_e6        INTEGER NOT NULL,
    lng_e6        INTEGER NOT NULL,
    opening_hours TEXT NOT NULL,
    -- Orders the point can hold at once: a batch takes at most this many live joins there.
    capacity      INTEGER NOT NULL CHECK (capacity > 0),
    -- The leader's commission on orders picked up at their point, within the plan's cap.
    rate_bp       INTEGER NOT NULL DEFAULT 0 CHECK (rate_bp BETWEEN 0 AND 10000),
    -- The point as a store (created at approval): pickup orders name it, the leader is its
    -- clerk, its codes are redeemed there.
    store_id      TEXT REFERENCES stores (id),
    created_at    INTEGER NOT NULL,
    decided_at    INTEGER,
    updated_at    INTEGER NOT NULL
);
-- One live application or leadership per member per merchant.
CREATE UNIQUE INDEX leaders_merchant_id_account_id_key ON leaders (merchant_id, account_id) WHERE status <> 'refused';
CREATE INDEX leaders_merchant_idx ON leaders (merchant_id, status, created_at);
CREATE UNIQUE INDEX leaders_store_idx ON leaders (store_id);

CREATE TABLE leader_choices (
    merchant_id TEXT NOT NULL REFERENCES merchants (id),
    account_id  TEXT NOT NULL REFERENCES accounts (id),
    leader_id   TEXT NOT NULL REFERENCES leaders (id),
    chosen_at   INTEGER NOT NULL,
    PRIMARY KEY (merchant_id, account_id)
);
CREATE INDEX leader_choices_leader_idx ON leader_choices (leader_id);

-- Every choice and change of leader, never overwritten.
CREATE TABLE leader_choice_history (
    id             TEXT PRIMARY KEY,
    merchant_id    TEXT NOT NULL REFERENCES merchants (id),
    account_id     TEXT NOT NULL REFERENCES accounts (id),
    from_leader_id TEXT REFERENCES leaders (id),
    to_leader_id   TEXT NOT NULL REFERENCES leaders (id),
    at             INTEGER NOT NULL
);
CREATE INDEX leader_choice_history_member_idx ON leader_choice_history (merchant_id, account_id, at);

CREATE TABLE batches (
    id              TEXT PRIMARY KEY,
    merchant_id     TEXT NOT NULL REFERENCES merchants (id),
    title           TEXT NOT NULL,
    starts_at       INTEGER NOT NULL,
    cutoff_at       INTEGER NOT NULL,
    -- The expected pickup day, YYYY-MM-DD (Beijing).
    pickup_date     TEXT NOT NULL,
    -- Below this many paid units at the cut-off the batch fails and is refunded.
    min_total_units INTEGER NOT NULL DEFAULT 0 CHECK (min_total_units >= 0),
    -- The 接龙 number of the last join (numbers are never reused).
    join_seq        INTEGER NOT NULL DEFAULT 0,
    status          TEXT NOT NULL CHECK (status IN ('open', 'fixed', 'failed')),
    fail_reason     TEXT,
    created_at      INTEGER NOT NULL,
    closed_at       INTEGER,
    updated_at      INTEGER NOT NULL,
    CONSTRAINT batches_window CHECK (cutoff_at > starts_at)
);
CREATE INDEX batches_merchant_idx ON batches (merchant_id, created_at);

CREATE TABLE batch_items (
    batch_id         TEXT NOT NULL REFERENCES batches (id),
    sku_id           TEXT NOT NULL REFERENCES skus (id),
    product_id       TEXT NOT NULL REFERENCES products (id),
    position         INTEGER NOT NULL,
    price_fen        INTEGER NOT NULL CHECK (price_fen > 0),
    per_member_limit INTEGER NOT NULL CHECK (per_member_limit > 0),
    quantity_limit   INTEGER NOT NULL CHECK (quantity_limit > 0),
    -- Units held by live orders (unpaid or paid); given back when an order lapses before
    -- the cut-off. Taken by a conditional update, never past the limit.
    taken            INTEGER NOT NULL DEFAULT 0,
    PRIMARY KEY (batch_id, sku_id),
    CONSTRAINT batch_items_taken CHECK (taken BETWEEN 0 AND quantity_limit)
);

-- Units each member holds per product, taken by a conditional update against the item's
-- per-member limit.
CREATE TABLE batch_member_units (
    batch_id   TEXT NOT NULL REFERENCES batches (id),
    sku_id     TEXT NOT NULL REFERENCES skus (id),
    account_id TEXT NOT NULL REFERENCES accounts (id),
    units      INTEGER NOT NULL DEFAULT 0 CHECK (units >= 0),
    PRIMARY KEY (batch_id, sku_id, account_id)
);

-- One row per join: the order placed at the member's leader's point.
CREATE TABLE batch_orders (
    order_id   TEXT PRIMARY KEY REFERENCES orders (id),
    batch_id   TEXT NOT NULL REFERENCES batches (id),
    leader_id  TEXT NOT NULL REFERENCES leaders (id),
    account_id TEXT NOT NULL REFERENCES accounts (id),
    seq        INTEGER NOT NULL,
    units      INTEGER NOT NULL CHECK (units > 0),
    -- `held` (unpaid), `paid` (waits for the cut-off), `fixed` (went ahead at the cut-off),
    -- `released` (cancelled or refunded).
    state      TEXT NOT NULL CHECK (state IN ('held', 'paid', 'fixed', 'released')),
    joined_at  INTEGER NOT NULL,
    paid_at    INTEGER,
    CONSTRAINT batch_orders_batch_id_seq_key UNIQUE (batch_id, seq)
);
CREATE INDEX batch_orders_leader_idx ON batch_orders (batch_id, leader_id, state);
CREATE INDEX batch_orders_member_idx ON batch_orders (account_id, joined_at);

-- A leader's consignment of a batch, marked delivered to their point by the merchant.
CREATE TABLE batch_deliveries (
    batch_id     TEXT NOT NULL REFERENCES batches (id),
    leader_id    TEXT NOT NULL REFERENCES leaders (id),
    delivered_at INTEGER NOT NULL,
    delivered_by TEXT NOT NULL REFERENCES accounts (id),
    PRIMARY KEY (batch_id, leader_id)
);
