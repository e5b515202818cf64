-- Promotions, continued (issue 19).
--
-- A template's claimed and used counts are derived (claimed = total_count − remaining,
-- used = its coupons in state `used`), so the separate counters go: one source of truth.
ALTER TABLE coupon_templates DROP COLUMN claimed_count;
ALTER TABLE coupon_templates DROP COLUMN used_count;
