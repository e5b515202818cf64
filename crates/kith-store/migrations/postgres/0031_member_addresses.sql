-- The member's address book (收货地址, issue 18; kith-app commerce/addresses): saved shipping
-- addresses to choose at checkout, which snapshots the chosen one onto the order. The
-- province, city and district are checked against kith-domain's region table on the way in.
-- At most one default per member (the partial unique index); the use cases keep exactly one
-- while the member has any.
CREATE TABLE member_addresses (
    id          uuid PRIMARY KEY,
    account_id  uuid NOT NULL REFERENCES accounts (id),
    name        text NOT NULL,
    phone       text NOT NULL,
    province    text NOT NULL,
    city        text NOT NULL,
    district    text NOT NULL,
    detail      text NOT NULL,
    is_default  boolean NOT NULL,
    created_at  timestamptz NOT NULL,
    updated_at  timestamptz NOT NULL
);
CREATE INDEX member_addresses_account_idx ON member_addresses (account_id, created_at);
CREATE UNIQUE INDEX member_addresses_account_id_key ON member_addresses (account_id) WHERE is_default;
