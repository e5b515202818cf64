-- 社区团购: a 团长 opens their own 接龙 within the products the merchant allows. The
-- merchant's allowance: each SKU its leaders may sell, the lowest batch price they may set
-- and the most units one of their batches may sell.
CREATE TABLE leader_products (
    merchant_id     uuid NOT NULL REFERENCES merchants (id),
    sku_id          uuid NOT NULL REFERENCES skus (id),
    position        bigint NOT NULL,
    floor_price_fen bigint NOT NULL CHECK (floor_price_fen > 0),
    max_quantity    bigint NOT NULL CHECK (max_quantity BETWEEN 1 AND 100000),
    PRIMARY KEY (merchant_id, sku_id)
);

-- The leader who opened a batch (NULL: the merchant's own). Its joins go to that leader's
-- point, whichever leader the member chose for the merchant's batches.
ALTER TABLE batches ADD COLUMN leader_id uuid REFERENCES leaders (id);
CREATE INDEX batches_leader_idx ON batches (leader_id, created_at);
