-- Helpers a 团长 names: members who may redeem pickup codes at the leader's point (and only
-- there). While the leader is approved each helper is also a `store_clerks` row of the
-- point (commerce's one redemption path checks that); this table remembers them across a
-- suspension, which takes every clerk row of the point away.
CREATE TABLE leader_helpers (
    leader_id  uuid NOT NULL REFERENCES leaders (id),
    account_id uuid NOT NULL REFERENCES accounts (id),
    added_at   timestamptz NOT NULL,
    PRIMARY KEY (leader_id, account_id)
);
CREATE INDEX leader_helpers_account_idx ON leader_helpers (account_id);
