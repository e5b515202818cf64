-- A failed refund asked again points at the refund that replaced it. Set once, by a
-- conditional update (`WHERE retried_by IS NULL`), so a failed refund is retried at most
-- once however many staff press the button at the same time.
ALTER TABLE refunds ADD COLUMN retried_by uuid REFERENCES refunds (id);

-- Whether an order's coupon goes back to the buyer when the order is refunded in full (a
-- merchant's after-sale term; on by default, as the shops members know do it).
ALTER TABLE aftersale_terms ADD COLUMN return_coupon boolean NOT NULL DEFAULT true;
