-- Trust discovery: each member's discovery privacy settings. A member without a row has
-- the defaults (friends may see their name on "friends who bought it").
CREATE TABLE discovery_settings (
    account_id                 TEXT PRIMARY KEY REFERENCES accounts (id),
    show_purchases_to_friends  INTEGER NOT NULL DEFAULT 1 CHECK (show_purchases_to_friends IN (0, 1)),
    updated_at                 INTEGER NOT NULL
);

-- Social proof and recommendations look up purchases by SKU and reviews by author.
CREATE INDEX order_lines_sku_idx ON order_lines (sku_id);
CREATE INDEX post_likes_post_idx ON post_likes (post_id, created_at);
