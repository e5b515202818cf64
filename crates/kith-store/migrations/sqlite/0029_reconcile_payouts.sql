-- Reconciliation of payouts (对账, kith-app rails/reconcile): a mismatch line may be a
-- payout (a withdrawal paid out through the provider) beside payments and refunds.
-- SQLite cannot widen a CHECK in place: the table is rebuilt with its rows.

CREATE TABLE reconciliation_mismatches_new (
    reconciliation_id TEXT NOT NULL REFERENCES reconciliations (id),
    seq               INTEGER NOT NULL,
    kind              TEXT NOT NULL CHECK (kind IN ('missing_in_kith', 'missing_at_provider', 'amount_differs')),
    entry             TEXT NOT NULL CHECK (entry IN ('payment', 'refund', 'payout')),
    -- kith's payment, refund or withdrawal id, or the provider's number when kith has none.
    reference         TEXT NOT NULL,
    provider_no       TEXT,
    provider_fen      INTEGER,
    kith_fen          INTEGER,
    PRIMARY KEY (reconciliation_id, seq)
);
INSERT INTO reconciliation_mismatches_new (reconciliation_id, seq, kind, entry, reference, provider_no, provider_fen, kith_fen)
    SELECT reconciliation_id, seq, kind, entry, reference, provider_no, provider_fen, kith_fen FROM reconciliation_mismatches;
DROP TABLE reconciliation_mismatches;
ALTER TABLE reconciliation_mismatches_new RENAME TO reconciliation_mismatches;
