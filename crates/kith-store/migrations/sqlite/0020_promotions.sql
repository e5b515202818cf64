-- Promotions, continued (issue 19).
--
-- A template's claimed and used counts are derived (claimed = total_count − remaining,
-- used = its coupons in state `used`), so the separate counters go: one source of truth.
ALTER TABLE coupon_templates DROP COLUMN claimed_count;
ALTER TABLE coupon_templates DROP COLUMN used_count;

-- A merchant's promotion settings: the coupon template its distributors' share links offer
-- the friends who arrive through them (none: no share coupon).
CREATE TABLE promotion_settings (
    merchant_id       TEXT PRIMARY KEY REFERENCES merchants (id),
    share_template_id TEXT REFERENCES coupon_templates (id),
    updated_at        INTEGER NOT NULL
);
