-- 限时秒杀 (issue 19): a flash sale sells one SKU at a flash price in time slots, each with
-- a quota apart from the stock; `sold` is taken by one conditional update per order
-- (`sold + q <= quota`), a member's units by one conditional upsert on `flash_buyers`, so
-- no slot oversells and no member passes the limit whatever the concurrency. An unpaid
-- flash order gives its units back when it is cancelled or lapses (`orders.flash_quantity`
-- is zeroed by the one update that may give them back).
CREATE TABLE flash_sales (
    id                  uuid PRIMARY KEY,
    merchant_id         uuid NOT NULL REFERENCES merchants (id),
    sku_id              uuid NOT NULL REFERENCES skus (id),
    name                text NOT NULL,
    price_fen           bigint NOT NULL CHECK (price_fen >= 1),
    per_member_limit    bigint NOT NULL CHECK (per_member_limit >= 1),
    per_order_limit     bigint NOT NULL CHECK (per_order_limit >= 1),
    unpaid_timeout_secs bigint NOT NULL CHECK (unpaid_timeout_secs >= 60),
    status              text NOT NULL CHECK (status IN ('active', 'paused', 'ended')),
    created_at          timestamptz NOT NULL
);
CREATE INDEX flash_sales_merchant_idx ON flash_sales (merchant_id, status);

CREATE TABLE flash_slots (
    id        uuid PRIMARY KEY,
    sale_id   uuid NOT NULL REFERENCES flash_sales (id),
    starts_at timestamptz NOT NULL,
    ends_at   timestamptz NOT NULL,
    quota     bigint NOT NULL CHECK (quota >= 1),
    sold      bigint NOT NULL DEFAULT 0 CHECK (sold >= 0),
    CHECK (sold <= quota),
    CHECK (ends_at > starts_at)
);
CREATE INDEX flash_slots_sale_idx ON flash_slots (sale_id, starts_at);

CREATE TABLE flash_buyers (
    sale_id    uuid NOT NULL REFERENCES flash_sales (id),
    account_id uuid NOT NULL REFERENCES accounts (id),
    bought     bigint NOT NULL CHECK (bought >= 0),
    PRIMARY KEY (sale_id, account_id)
);

ALTER TABLE orders ADD COLUMN flash_slot_id uuid REFERENCES flash_slots (id);
ALTER TABLE orders ADD COLUMN flash_quantity bigint NOT NULL DEFAULT 0 CHECK (flash_quantity >= 0);
