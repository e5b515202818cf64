-- Coupons (issue 19): a merchant's coupon templates, the coupons members hold, and how
-- many of a template each member has claimed (the per-member limit, taken by one
-- conditional upsert in the claim's transaction).

CREATE TABLE coupon_templates (
    id               uuid PRIMARY KEY,
    merchant_id      uuid NOT NULL REFERENCES merchants (id),
    name             text NOT NULL,
    kind             text NOT NULL CHECK (kind IN ('fixed', 'percent')),
    off_fen          bigint CHECK (off_fen >= 1),
    percent_off      bigint CHECK (percent_off BETWEEN 1 AND 99),
    cap_fen          bigint CHECK (cap_fen >= 1),
    min_spend_fen    bigint NOT NULL CHECK (min_spend_fen >= 0),
    product_ids      jsonb,
    valid_from       timestamptz,
    valid_until      timestamptz,
    valid_days       bigint CHECK (valid_days BETWEEN 1 AND 365),
    total_count      bigint NOT NULL CHECK (total_count >= 1),
    remaining        bigint NOT NULL CHECK (remaining >= 0),
    per_member_limit bigint NOT NULL CHECK (per_member_limit >= 1),
    allow_group_buy  boolean NOT NULL,
    status           text NOT NULL CHECK (status IN ('active', 'paused', 'ended')),
    claimed_count    bigint NOT NULL DEFAULT 0,
    used_count       bigint NOT NULL DEFAULT 0,
    created_at       timestamptz NOT NULL,
    CHECK (remaining <= total_count)
);
CREATE INDEX coupon_templates_merchant_idx ON coupon_templates (merchant_id, created_at);

CREATE TABLE coupon_claims (
    template_id uuid NOT NULL REFERENCES coupon_templates (id),
    account_id  uuid NOT NULL REFERENCES accounts (id),
    claimed     bigint NOT NULL CHECK (claimed >= 1),
    PRIMARY KEY (template_id, account_id)
);

CREATE TABLE coupons (
    id           uuid PRIMARY KEY,
    template_id  uuid NOT NULL REFERENCES coupon_templates (id),
    merchant_id  uuid NOT NULL REFERENCES merchants (id),
    account_id   uuid NOT NULL REFERENCES accounts (id),
    source       text NOT NULL CHECK (source IN ('claim', 'issued', 'new_member', 'share')),
    state        text NOT NULL CHECK (state IN ('available', 'locked', 'used', 'expired')),
    order_id     uuid REFERENCES orders (id),
    valid_from   timestamptz NOT NULL,
    valid_until  timestamptz NOT NULL,
    claimed_at   timestamptz NOT NULL
);
CREATE INDEX coupons_holder_idx ON coupons (account_id, merchant_id, state);
CREATE INDEX coupons_template_idx ON coupons (template_id);

-- An order's coupon: `goods_fen` stays what the goods were paid (after the coupon), the
-- coupon's discount is beside it, and each line holds its part of it.
ALTER TABLE orders ADD COLUMN coupon_id uuid REFERENCES coupons (id);
ALTER TABLE orders ADD COLUMN coupon_fen bigint NOT NULL DEFAULT 0 CHECK (coupon_fen >= 0);
ALTER TABLE order_lines ADD COLUMN coupon_fen bigint NOT NULL DEFAULT 0 CHECK (coupon_fen >= 0);
