-- Reconciliation (对账, kith-app rails/reconcile): each day's statement at each provider,
-- matched with what kith booked; one run per provider, owner and Beijing day (a rerun
-- replaces it), the lines that differ, and the daily chain's next day per owner.

CREATE TABLE reconciliations (
    id                 TEXT PRIMARY KEY,
    provider           TEXT NOT NULL,
    -- A merchant id, or 'platform'.
    owner              TEXT NOT NULL,
    -- The Beijing calendar day, YYYY-MM-DD.
    bill_date          TEXT NOT NULL,
    status             TEXT NOT NULL CHECK (status IN ('matched', 'mismatched', 'failed')),
    provider_lines     INTEGER NOT NULL CHECK (provider_lines >= 0),
    kith_lines         INTEGER NOT NULL CHECK (kith_lines >= 0),
    matched            INTEGER NOT NULL CHECK (matched >= 0),
    provider_total_fen INTEGER NOT NULL,
    kith_total_fen     INTEGER NOT NULL,
    -- Why a failed run has no statement.
    detail             TEXT,
    created_at         INTEGER NOT NULL,
    UNIQUE (provider, owner, bill_date)
);
CREATE INDEX reconciliations_owner_idx ON reconciliations (owner, bill_date);

CREATE TABLE reconciliation_mismatches (
    reconciliation_id TEXT NOT NULL REFERENCES reconciliations (id),
    seq               INTEGER NOT NULL,
    kind              TEXT NOT NULL CHECK (kind IN ('missing_in_kith', 'missing_at_provider', 'amount_differs')),
    entry             TEXT NOT NULL CHECK (entry IN ('payment', 'refund')),
    -- kith's payment or refund id, or the provider's number when kith has none.
    reference         TEXT NOT NULL,
    provider_no       TEXT,
    provider_fen      INTEGER,
    kith_fen          INTEGER,
    PRIMARY KEY (reconciliation_id, seq)
);

CREATE TABLE reconcile_schedule (
    provider  TEXT NOT NULL,
    owner     TEXT NOT NULL,
    next_date TEXT NOT NULL,
    PRIMARY KEY (provider, owner)
);
