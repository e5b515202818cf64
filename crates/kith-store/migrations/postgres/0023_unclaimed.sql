-- 社区团购: what happens to a 接龙 order nobody picked up N days after its consignment was
-- delivered to the 团长's point — refunded in full (its pickup code voided) or kept
-- waiting with a reminder. One row per merchant; absent: 7 days, refund.
CREATE TABLE batch_terms (
    merchant_id    uuid PRIMARY KEY REFERENCES merchants (id),
    unclaimed_days INTEGER NOT NULL CHECK (unclaimed_days BETWEEN 1 AND 30),
    unclaimed_rule TEXT NOT NULL CHECK (unclaimed_rule IN ('refund', 'keep')),
    updated_at     bigint NOT NULL
);
