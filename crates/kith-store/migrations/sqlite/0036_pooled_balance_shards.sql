-- A pooled account's kept balance in shards (issue 22). Accounts many buyers' transactions
-- move at once — a merchant's pending balance (every payment of the merchant), a payment
-- gateway's and the platform's accounts (every order on the platform), a merchant's issued
-- points, a distributor's pending commission — are never spent under a guard, so their
-- balance need not be one row. On PostgreSQL each connection of a server adds to its own
-- shard row (one of 32, taken in turn as connections open), so payments of one merchant no
-- longer wait on each other's row lock until commit; SQLite has one writer and no row locks,
-- and keeps every balance in `ledger_accounts` (this table stays empty there). An account's
-- balance is its row's `balance_fen` plus its shards': `ledger_balances` says so once.
CREATE TABLE ledger_balance_shards (
    account_id  TEXT NOT NULL REFERENCES ledger_accounts (id),
    shard       INTEGER NOT NULL,
    balance_fen INTEGER NOT NULL,
    PRIMARY KEY (account_id, shard)
);

CREATE VIEW ledger_balances AS
SELECT a.id,
       CAST(a.balance_fen + COALESCE((SELECT SUM(s.balance_fen) FROM ledger_balance_shards s
                                      WHERE s.account_id = a.id), 0) AS bigint) AS balance_fen
FROM ledger_accounts a;
