-- Money sharing (经消合一): share links and their visits, referrer bindings per merchant,
-- commission plans with per-product overrides, each order's attribution and beneficiary
-- chain, and withdrawals. Balances live on the ledger (`distributor:{member}:{merchant}:…`
-- accounts), never in these tables.

-- A member's short link to a product, a post, a community invite or (issue 7) a group-buy.
-- One per (sharer, kind, target): sharing the same thing again gives the same link.
CREATE TABLE share_links (
    id          TEXT PRIMARY KEY,
    code        TEXT NOT NULL,
    sharer_id   TEXT NOT NULL REFERENCES accounts (id),
    kind        TEXT NOT NULL CHECK (kind IN ('product', 'post', 'community', 'group_buy')),
    target_id   TEXT NOT NULL,
    created_at  INTEGER NOT NULL,
    CONSTRAINT share_links_code_key UNIQUE (code),
    CONSTRAINT share_links_sharer_id_kind_target_id_key UNIQUE (sharer_id, kind, target_id)
);

-- Which merchants a link can earn at (a post may tag several merchants' products), and
-- how it earns there: `share`, or `content` for a post with product tags shared by its author.
CREATE TABLE share_link_merchants (
    link_id     TEXT NOT NULL REFERENCES share_links (id),
    merchant_id TEXT NOT NULL REFERENCES merchants (id),
    channel     TEXT NOT NULL CHECK (channel IN ('share', 'content', 'group_buy')),
    PRIMARY KEY (link_id, merchant_id)
);

-- Every time a link is followed (the funnel's first step); anonymous visitors have no id.
CREATE TABLE share_visits (
    id         TEXT PRIMARY KEY,
    link_id    TEXT NOT NULL REFERENCES share_links (id),
    visitor_id TEXT REFERENCES accounts (id),
    at         INTEGER NOT NULL
);
CREATE INDEX share_visits_link_idx ON share_visits (link_id, at);
CREATE INDEX share_visits_visitor_idx ON share_visits (visitor_id, at);

-- Accounts that signed up through a link (the funnel's second step).
CREATE TABLE share_signups (
    account_id TEXT PRIMARY KEY REFERENCES accounts (id),
    link_id    TEXT NOT NULL REFERENCES share_links (id),
    at         INTEGER NOT NULL
);
CREATE INDEX share_signups_link_idx ON share_signups (link_id);

-- 锁客: a member's referrer at one merchant. Never to oneself; moved only when expired.
CREATE TABLE referrer_bindings (
    merchant_id TEXT NOT NULL REFERENCES merchants (id),
    member_id   TEXT NOT NULL REFERENCES accounts (id),
    referrer_id TEXT NOT NULL REFERENCES accounts (id),
    link_id     TEXT REFERENCES share_links (id),
    bound_at    INTEGER NOT NULL,
    expires_at  INTEGER,
    PRIMARY KEY (merchant_id, member_id),
    CONSTRAINT referrer_bindings_not_self CHECK (member_id <> referrer_id)
);
CREATE INDEX referrer_bindings_referrer_idx ON referrer_bindings (merchant_id, referrer_id);

CREATE TABLE commission_plans (
    merchant_id              TEXT PRIMARY KEY REFERENCES merchants (id),
    l1_bp                    INTEGER NOT NULL CHECK (l1_bp BETWEEN 0 AND 10000),
    l2_bp                    INTEGER NOT NULL CHECK (l2_bp BETWEEN 0 AND 10000),
    rebate_bp                INTEGER NOT NULL CHECK (rebate_bp BETWEEN 0 AND 10000),
    group_buy_commission     INTEGER NOT NULL DEFAULT 0,
    group_leader_bp          INTEGER NOT NULL CHECK (group_leader_bp BETWEEN 0 AND 10000),
    cap_bp                   INTEGER NOT NULL CHECK (cap_bp BETWEEN 0 AND 10000),
    binding_mode             TEXT NOT NULL CHECK (binding_mode IN ('permanent', 'expiring', 'none')),
    binding_days             INTEGER,
    window_days              INTEGER NOT NULL,
    withdraw_min_fen         INTEGER NOT NULL,
    withdraw_daily_limit_fen INTEGER NOT NULL,
    updated_at               INTEGER NOT NULL,
    CONSTRAINT commission_plans_rates_capped CHECK (l1_bp + l2_bp + rebate_bp + group_leader_bp <= cap_bp)
);

CREATE TABLE commission_overrides (
    merchant_id     TEXT NOT NULL REFERENCES merchants (id),
    product_id      TEXT NOT NULL REFERENCES products (id),
    l1_bp           INTEGER NOT NULL,
    l2_bp           INTEGER NOT NULL,
    rebate_bp       INTEGER NOT NULL,
    group_leader_bp INTEGER NOT NULL,
    PRIMARY KEY (merchant_id, product_id)
);

-- How an order came (snapshotted at checkout). `review_reason` flags (never blocks) an order
-- whose buyer and a beneficiary share a phone number or a shipping address.
CREATE TABLE order_attributions (
    order_id       TEXT PRIMARY KEY REFERENCES orders (id),
    merchant_id    TEXT NOT NULL REFERENCES merchants (id),
    buyer_id       TEXT NOT NULL REFERENCES accounts (id),
    channel        TEXT NOT NULL CHECK (channel IN ('share', 'content', 'group_buy', 'referrer', 'none')),
    beneficiary_id TEXT REFERENCES accounts (id),
    link_id        TEXT REFERENCES share_links (id),
    review_reason  TEXT,
    created_at     INTEGER NOT NULL
);
CREATE INDEX order_attributions_link_idx ON order_attributions (link_id);

-- The beneficiary chain of an order, one row per role, snapshotted at checkout. `state`
-- follows the ledger: planned (unpaid) → pending → frozen → available, or void (never paid).
CREATE TABLE order_commissions (
    order_id       TEXT NOT NULL REFERENCES orders (id),
    role           TEXT NOT NULL CHECK (role IN ('rebate', 'l1', 'l2', 'group_leader')),
    source         TEXT NOT NULL CHECK (source IN ('rebate', 'l1', 'l2', 'content', 'group_leader')),
    merchant_id    TEXT NOT NULL REFERENCES merchants (id),
    beneficiary_id TEXT NOT NULL REFERENCES accounts (id),
    rate_bp        INTEGER NOT NULL,
    base_fen       INTEGER NOT NULL,
    amount_fen     INTEGER NOT NULL CHECK (amount_fen > 0),
    reversed_fen   INTEGER NOT NULL DEFAULT 0,
    state          TEXT NOT NULL CHECK (state IN ('planned', 'pending', 'frozen', 'available', 'void')),
    created_at     INTEGER NOT NULL,
    PRIMARY KEY (order_id, role),
    CONSTRAINT order_commissions_reversal_bounded CHECK (reversed_fen BETWEEN 0 AND amount_fen)
);
CREATE INDEX order_commissions_beneficiary_idx ON order_commissions (beneficiary_id, merchant_id, created_at);

CREATE TABLE withdrawals (
    id           TEXT PRIMARY KEY,
    account_id   TEXT NOT NULL REFERENCES accounts (id),
    merchant_id  TEXT NOT NULL REFERENCES merchants (id),
    amount_fen   INTEGER NOT NULL CHECK (amount_fen > 0),
    status       TEXT NOT NULL CHECK (status IN ('requested', 'paying', 'paid', 'rejected', 'failed')),
    requested_at INTEGER NOT NULL,
    decided_at   INTEGER,
    decided_by   TEXT REFERENCES accounts (id),
    payout_ref   TEXT,
    note         TEXT NOT NULL DEFAULT ''
);
CREATE INDEX withdrawals_account_idx ON withdrawals (account_id, merchant_id, requested_at);
CREATE INDEX withdrawals_status_idx ON withdrawals (status, requested_at);

-- Payout callbacks from the gateway, idempotent on its event id.
CREATE TABLE payout_events (
    provider      TEXT NOT NULL,
    event_id      TEXT NOT NULL,
    withdrawal_id TEXT NOT NULL REFERENCES withdrawals (id),
    status        TEXT NOT NULL,
    received_at   INTEGER NOT NULL,
    PRIMARY KEY (provider, event_id)
);
