-- Coupons (issue 19): a merchant's coupon templates, the coupons members hold, and how
-- many of a template each member has claimed (the per-member limit, taken by one
-- conditional upsert in the claim's transaction).

CREATE TABLE coupon_templates (
    id               TEXT PRIMARY KEY,
    merchant_id      TEXT NOT NULL REFERENCES merchants (id),
    name             TEXT NOT NULL,
    kind             TEXT NOT NULL CHECK (kind IN ('fixed', 'percent')),
    off_fen          INTEGER CHECK (off_fen >= 1),
    percent_off      INTEGER CHECK (percent_off BETWEEN 1 AND 99),
    cap_fen          INTEGER CHECK (cap_fen >= 1),
    min_spend_fen    INTEGER NOT NULL CHECK (min_spend_fen >= 0),
    product_ids      TEXT,
    valid_from       INTEGER,
    valid_until      INTEGER,
    valid_days       INTEGER CHECK (valid_days BETWEEN 1 AND 365),
    total_count      INTEGER NOT NULL CHECK (total_count >= 1),
    remaining        INTEGER NOT NULL CHECK (remaining >= 0),
    per_member_limit INTEGER NOT NULL CHECK (per_member_limit >= 1),
    allow_group_buy  INTEGER NOT NULL,
    status           TEXT NOT NULL CHECK (status IN ('active', 'paused', 'ended')),
    claimed_count    INTEGER NOT NULL DEFAULT 0,
    used_count       INTEGER NOT NULL DEFAULT 0,
    created_at       INTEGER NOT NULL,
    CHECK (remaining <= total_count)
);
CREATE INDEX coupon_templates_merchant_idx ON coupon_templates (merchant_id, created_at);

CREATE TABLE coupon_claims (
    template_id TEXT NOT NULL REFERENCES coupon_templates (id),
    account_id  TEXT NOT NULL REFERENCES accounts (id),
    claimed     INTEGER NOT NULL CHECK (claimed >= 1),
    PRIMARY KEY (template_id, account_id)
);

CREATE TABLE coupons (
    id           TEXT PRIMARY KEY,
    template_id  TEXT NOT NULL REFERENCES coupon_templates (id),
    merchant_id  TEXT NOT NULL REFERENCES merchants (id),
    account_id   TEXT NOT NULL REFERENCES accounts (id),
    source       TEXT NOT NULL CHECK (source IN ('claim', 'issued', 'new_member', 'share')),
    state        TEXT NOT NULL CHECK (state IN ('available', 'locked', 'used', 'expired')),
    order_id     TEXT REFERENCES orders (id),
    valid_from   INTEGER NOT NULL,
    valid_until  INTEGER NOT NULL,
    claimed_at   INTEGER NOT NULL
);
CREATE INDEX coupons_holder_idx ON coupons (account_id, merchant_id, state);
CREATE INDEX coupons_template_idx ON coupons (template_id);

-- An order's coupon: `goods_fen` stays what the goods were paid (after the coupon), the
-- coupon's discount is beside it, and each line holds its part of it.
ALTER TABLE orders ADD COLUMN coupon_id TEXT REFERENCES coupons (id);
ALTER TABLE orders ADD COLUMN coupon_fen INTEGER NOT NULL DEFAULT 0 CHECK (coupon_fen >= 0);
ALTER TABLE order_lines ADD COLUMN coupon_fen INTEGER NOT NULL DEFAULT 0 CHECK (coupon_fen >= 0);
