-- Points (积分, issue 19): a merchant's loyalty asset, kept on the ledger in accounts of
-- their own (`points:{member}:{merchant}:frozen|available`, `points:{merchant}:issued`),
-- whose `balance_fen` column counts points, not fen; entries never mix points and money.
-- This migration holds the merchant's rule, the lots that expire, and what each order
-- spent, earned and gave back.
CREATE TABLE points_settings (
    merchant_id     uuid PRIMARY KEY REFERENCES merchants (id),
    enabled         boolean NOT NULL,
    earn_per_yuan   integer NOT NULL CHECK (earn_per_yuan BETWEEN 0 AND 100),
    points_per_yuan integer NOT NULL CHECK (points_per_yuan BETWEEN 1 AND 10000),
    cap_percent     integer NOT NULL CHECK (cap_percent BETWEEN 1 AND 100),
    expire_days     integer NOT NULL CHECK (expire_days = 0 OR expire_days BETWEEN 30 AND 1095),
    -- Whether 秒杀 and 拼团 orders, already at an activity price, may take points too.
    on_activity_orders boolean NOT NULL DEFAULT false,
    updated_at      timestamptz NOT NULL
);

-- Every credit to a member's available points is a lot with its expiry (NULL: never);
-- spending takes the oldest first, so what expires is computed from the lots and the
-- balance (kith_domain::points::expired_due), never tracked per lot.
CREATE TABLE points_lots (
    id          bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    member_id   uuid NOT NULL REFERENCES accounts (id),
    merchant_id uuid NOT NULL REFERENCES merchants (id),
    order_id    uuid REFERENCES orders (id),
    points      bigint NOT NULL CHECK (points > 0),
    expires_at  timestamptz,
    created_at  timestamptz NOT NULL
);
CREATE INDEX points_lots_holder_idx ON points_lots (member_id, merchant_id, expires_at);

-- Spent at checkout (and their worth), given back, earned and taken back by refunds.
ALTER TABLE orders ADD COLUMN points_used bigint NOT NULL DEFAULT 0 CHECK (points_used >= 0);
ALTER TABLE orders ADD COLUMN points_fen bigint NOT NULL DEFAULT 0 CHECK (points_fen >= 0);
ALTER TABLE orders ADD COLUMN points_returned bigint NOT NULL DEFAULT 0 CHECK (points_returned >= 0);
ALTER TABLE orders ADD COLUMN points_earned bigint NOT NULL DEFAULT 0 CHECK (points_earned >= 0);
ALTER TABLE orders ADD COLUMN points_reversed bigint NOT NULL DEFAULT 0 CHECK (points_reversed >= 0);
ALTER TABLE order_lines ADD COLUMN points_fen bigint NOT NULL DEFAULT 0 CHECK (points_fen >= 0);
ALTER TABLE order_lines ADD COLUMN points_used bigint NOT NULL DEFAULT 0 CHECK (points_used >= 0);
ALTER TABLE order_lines ADD COLUMN points_returned bigint NOT NULL DEFAULT 0 CHECK (points_returned >= 0);

-- A 秒杀 is already a discount: its orders take a coupon only when the merchant allows it.
ALTER TABLE flash_sales ADD COLUMN allow_coupons boolean NOT NULL DEFAULT false;
