-- Group-buy (拼团): a merchant's campaign on one SKU; groups a leader opens and others join;
-- one seat per order. A seat is held from the moment its order is placed (so a group never
-- takes more orders than it has seats) and counts as paid once the order is paid; the group
-- succeeds when every seat is paid and fails at its expiry otherwise.

CREATE TABLE group_campaigns (
    id               uuid PRIMARY KEY,
    merchant_id      uuid NOT NULL REFERENCES merchants (id),
    product_id       uuid NOT NULL REFERENCES products (id),
    sku_id           uuid NOT NULL REFERENCES skus (id),
    title            text NOT NULL,
    group_size       bigint NOT NULL CHECK (group_size BETWEEN 2 AND 100),
    group_price_fen  bigint NOT NULL CHECK (group_price_fen >= 0),
    -- NULL: the leader pays the group price; 0: 团长免单.
    leader_price_fen bigint CHECK (leader_price_fen >= 0),
    duration_secs    bigint NOT NULL CHECK (duration_secs > 0),
    starts_at        timestamptz NOT NULL,
    ends_at          timestamptz NOT NULL,
    -- Seats (units) the campaign may sell, and how many are taken: every seat of each
    -- group opened (given back when the group fails). Never more taken than the limit.
    stock_limit      bigint NOT NULL CHECK (stock_limit > 0),
    seats_taken      bigint NOT NULL DEFAULT 0,
    per_member_limit bigint NOT NULL CHECK (per_member_limit > 0),
    commission       boolean NOT NULL,
    leader_bp        bigint NOT NULL CHECK (leader_bp >= 0),
    status           text NOT NULL CHECK (status IN ('active', 'ended')),
    created_at       timestamptz NOT NULL,
    updated_at       timestamptz NOT NULL,
    CONSTRAINT group_campaigns_window CHECK (ends_at > starts_at),
    CONSTRAINT group_campaigns_seats CHECK (seats_taken BETWEEN 0 AND stock_limit)
);
CREATE INDEX group_campaigns_merchant_idx ON group_campaigns (merchant_id, created_at);

CREATE TABLE buy_groups (
    id           uuid PRIMARY KEY,
    campaign_id  uuid NOT NULL REFERENCES group_campaigns (id),
    merchant_id  uuid NOT NULL REFERENCES merchants (id),
    leader_id    uuid NOT NULL REFERENCES accounts (id),
    size         bigint NOT NULL,
    held_seats   bigint NOT NULL DEFAULT 0,
    paid_seats   bigint NOT NULL DEFAULT 0,
    -- `opening` until the leader pays, then `forming` (joinable) until every seat is paid
    -- (`succeeded`) or the time runs out / the leader's order lapses (`failed`).
    status       text NOT NULL CHECK (status IN ('opening', 'forming', 'succeeded', 'failed')),
    expires_at   timestamptz,
    fail_reason  text,
    created_at   timestamptz NOT NULL,
    opened_at    timestamptz,
    ended_at     timestamptz,
    CONSTRAINT buy_groups_seats CHECK (paid_seats >= 0 AND paid_seats <= held_seats AND held_seats <= size)
);
CREATE INDEX buy_groups_campaign_idx ON buy_groups (campaign_id, status, expires_at);

CREATE TABLE group_seats (
    order_id    uuid PRIMARY KEY REFERENCES orders (id),
    group_id    uuid NOT NULL REFERENCES buy_groups (id),
    campaign_id uuid NOT NULL REFERENCES group_campaigns (id),
    account_id  uuid NOT NULL REFERENCES accounts (id),
    -- `held` (order placed, unpaid), `paid`, `released` (cancelled or refunded before the
    -- group succeeded: the seat is free again) or `refunded` (refunded after success).
    state       text NOT NULL CHECK (state IN ('held', 'paid', 'released', 'refunded')),
    joined_at   timestamptz NOT NULL,
    paid_at     timestamptz
);
-- One live seat per member per group: joining twice is refused by the database too.
CREATE UNIQUE INDEX group_seats_one_live ON group_seats (group_id, account_id) WHERE state IN ('held', 'paid');
CREATE INDEX group_seats_member_idx ON group_seats (campaign_id, account_id);
CREATE INDEX group_seats_group_idx ON group_seats (group_id, state);
