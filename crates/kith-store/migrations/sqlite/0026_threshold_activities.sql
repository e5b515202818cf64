-- 满减 / 满折 activities (issue 19): a merchant's order-level discounts by spend, tiered
-- ("满 199 减 20, 满 399 减 50"), live between `starts_at` and `ends_at` while active. An
-- order takes at most one (the best for it); its discount is kept beside the coupon's, on
-- the order and per line, so a line's refund returns exactly what the line paid.
CREATE TABLE threshold_activities (
    id          TEXT PRIMARY KEY,
    merchant_id TEXT NOT NULL REFERENCES merchants (id),
    name        TEXT NOT NULL,
    kind        TEXT NOT NULL CHECK (kind IN ('fixed', 'percent')),
    -- [{"min_spend_fen": 19900, "amount": 2000}, …]: the fen off (fixed) or percent off.
    tiers       TEXT NOT NULL,
    product_ids TEXT,
    starts_at   INTEGER NOT NULL,
    ends_at     INTEGER NOT NULL,
    status      TEXT NOT NULL CHECK (status IN ('active', 'paused', 'ended')),
    created_at  INTEGER NOT NULL,
    CHECK (ends_at > starts_at)
);
CREATE INDEX threshold_activities_merchant_idx ON threshold_activities (merchant_id, status, ends_at);

ALTER TABLE orders ADD COLUMN activity_id TEXT REFERENCES threshold_activities (id);
ALTER TABLE orders ADD COLUMN activity_fen INTEGER NOT NULL DEFAULT 0 CHECK (activity_fen >= 0);
ALTER TABLE order_lines ADD COLUMN activity_fen INTEGER NOT NULL DEFAULT 0 CHECK (activity_fen >= 0);
CREATE INDEX orders_activity_idx ON orders (activity_id) WHERE activity_id IS NOT NULL;
