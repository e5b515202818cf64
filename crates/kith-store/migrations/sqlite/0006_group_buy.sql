-- Group-buy (拼团): a merchant's campaign on one SKU; groups a leader opens and others join;
-- one seat per order. A seat is held from the moment its order is placed (so a group never
-- takes more orders than it has seats) and counts as paid once the order is paid; the group
-- succeeds when every seat is paid and fails at its expiry otherwise.

CREATE TABLE group_campaigns (
    id               TEXT PRIMARY KEY,
    merchant_id      TEXT NOT NULL REFERENCES merchants (id),
    product_id       TEXT NOT NULL REFERENCES products (id),
    sku_id           TEXT NOT NULL REFERENCES skus (id),
    title            TEXT NOT NULL,
    group_size       INTEGER NOT NULL CHECK (group_size BETWEEN 2 AND 100),
    group_price_fen  INTEGER NOT NULL CHECK (group_price_fen >= 0),
    -- NULL: the leader pays the group price; 0: 团长免单.
    leader_price_fen INTEGER CHECK (leader_price_fen >= 0),
    duration_secs    INTEGER NOT NULL CHECK (duration_secs > 0),
    starts_at        INTEGER NOT NULL,
    ends_at          INTEGER NOT NULL,
    -- Seats (units) the campaign may sell, and how many are taken: every seat of each
    -- group opened (given back when the group fails). Never more taken than the limit.
    stock_limit      INTEGER NOT NULL CHECK (stock_limit > 0),
    seats_taken      INTEGER NOT NULL DEFAULT 0,
    per_member_limit INTEGER NOT NULL CHECK (per_member_limit > 0),
    commission       INTEGER NOT NULL,
    leader_bp        INTEGER NOT NULL CHECK (leader_bp >= 0),
    status           TEXT NOT NULL CHECK (status IN ('active', 'ended')),
    created_at       INTEGER NOT NULL,
    updated_at       INTEGER NOT NULL,
    CONSTRAINT group_campaigns_window CHECK (ends_at > starts_at),
    CONSTRAINT group_campaigns_seats CHECK (seats_taken BETWEEN 0 AND stock_limit)
);
CREATE INDEX group_campaigns_merchant_idx ON group_campaigns (merchant_id, created_at);

CREATE TABLE buy_groups (
    id           TEXT PRIMARY KEY,
    campaign_id  TEXT NOT NULL REFERENCES group_campaigns (id),
    merchant_id  TEXT NOT NULL REFERENCES merchants (id),
    leader_id    TEXT NOT NULL REFERENCES accounts (id),
    size         INTEGER NOT NULL,
    held_seats   INTEGER NOT NULL DEFAULT 0,
    paid_seats   INTEGER NOT NULL DEFAULT 0,
    -- `opening` until the leader pays, then `forming` (joinable) until every seat is paid
    -- (`succeeded`) or the time runs out / the leader's order lapses (`failed`).
    status       TEXT NOT NULL CHECK (status IN ('opening', 'forming', 'succeeded', 'failed')),
    expires_at   INTEGER,
    fail_reason  TEXT,
    created_at   INTEGER NOT NULL,
    opened_at    INTEGER,
    ended_at     INTEGER,
    CONSTRAINT buy_groups_seats CHECK (paid_seats >= 0 AND paid_seats <= held_seats AND held_seats <= size)
);
CREATE INDEX buy_groups_campaign_idx ON buy_groups (campaign_id, status, expires_at);

CREATE TABLE group_seats (
    order_id    TEXT PRIMARY KEY REFERENCES orders (id),
    group_id    TEXT NOT NULL REFERENCES buy_groups (id),
    campaign_id TEXT NOT NULL REFERENCES group_campaigns (id),
    account_id  TEXT NOT NULL REFERENCES accounts (id),
    -- `held` (order placed, unpaid), `paid`, `released` (cancelled or refunded before the
    -- group succeeded: the seat is free again) or `refunded` (refunded after success).
    state       TEXT NOT NULL CHECK (state IN ('held', 'paid', 'released', 'refunded')),
    joined_at   INTEGER NOT NULL,
    paid_at     INTEGER
);
-- One live seat per member per group: joining twice is refused by the database too.
CREATE UNIQUE INDEX group_seats_one_live ON group_seats (group_id, account_id) WHERE state IN ('held', 'paid');
CREATE INDEX group_seats_member_idx ON group_seats (campaign_id, account_id);
CREATE INDEX group_seats_group_idx ON group_seats (group_id, state);
