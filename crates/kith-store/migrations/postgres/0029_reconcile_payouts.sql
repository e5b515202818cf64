-- Reconciliation of payouts (对账, kith-app rails/reconcile): a mismatch line may be a
-- payout (a withdrawal paid out through the provider) beside payments and refunds.

ALTER TABLE reconciliation_mismatches DROP CONSTRAINT reconciliation_mismatches_entry_check;
ALTER TABLE reconciliation_mismatches ADD CONSTRAINT reconciliation_mismatches_entry_check
    CHECK (entry IN ('payment', 'refund', 'payout'));
