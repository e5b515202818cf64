-- The member's address book (收货地址, issue 18; kith-app commerce/addresses): saved shipping
-- addresses to choose at checkout, which snapshots the chosen one onto the order. The
-- province, city and district are checked against kith-domain's region table on the way in.
-- At most one default per member (the partial unique index); the use cases keep exactly one
-- while the member has any.
CREATE TABLE member_addresses (
    id          TEXT PRIMARY KEY,
    account_id  TEXT NOT NULL REFERENCES accounts (id),
    name        TEXT NOT NULL,
    phone       TEXT NOT NULL,
    province    TEXT NOT NULL,
    city        TEXT NOT NULL,
    district    TEXT NOT NULL,
    detail      TEXT NOT NULL,
    is_default  INTEGER NOT NULL,
    created_at  INTEGER NOT NULL,
    updated_at  INTEGER NOT NULL
);
CREATE INDEX member_addresses_account_idx ON member_addresses (account_id, created_at);
CREATE UNIQUE INDEX member_addresses_account_id_key ON member_addresses (account_id) WHERE is_default;
