-- Asynchronous refunds (kith-app commerce/refunds): a refund is requested of its provider
-- and settled when the provider confirms (requested → succeeded | failed). While requested
-- it holds its lines' quantities and amount (order_lines.refunding_*, orders.refunding_fen)
-- so no other refund can exceed what was paid; on success the hold becomes refunded_*.
-- Refunds made before this migration were settled at once.

ALTER TABLE refunds ADD COLUMN status text NOT NULL DEFAULT 'succeeded'
    CHECK (status IN ('requested', 'succeeded', 'failed'));
-- The payment refunded (the provider's order it goes back through).
ALTER TABLE refunds ADD COLUMN payment_id uuid REFERENCES payments (id);
-- The provider's own refund id (WeChat Pay's refund_id), once it answered.
ALTER TABLE refunds ADD COLUMN provider_refund_id text;
ALTER TABLE refunds ADD COLUMN settled_at timestamptz;
ALTER TABLE refunds ADD COLUMN failure_reason text;
-- 'order' (lines of an order) or 'late_payment' (a payment that came after its order was
-- cancelled, given back whole).
ALTER TABLE refunds ADD COLUMN kind text NOT NULL DEFAULT 'order'
    CHECK (kind IN ('order', 'late_payment'));
UPDATE refunds SET settled_at = created_at;
CREATE INDEX refunds_requested_idx ON refunds (status) WHERE status = 'requested';

ALTER TABLE order_lines ADD COLUMN refunding_quantity bigint NOT NULL DEFAULT 0
    CHECK (refunding_quantity >= 0);
ALTER TABLE order_lines ADD COLUMN refunding_fen bigint NOT NULL DEFAULT 0
    CHECK (refunding_fen >= 0);
ALTER TABLE orders ADD COLUMN refunding_fen bigint NOT NULL DEFAULT 0
    CHECK (refunding_fen >= 0);

-- A pending WeChat Pay payment is reused only for the same way of paying and the same
-- 商户号 (a QR code is no answer to an H5 request, and new credentials are a new account).
ALTER TABLE payments ADD COLUMN pay_mode text;
ALTER TABLE payments ADD COLUMN rail_account text;
