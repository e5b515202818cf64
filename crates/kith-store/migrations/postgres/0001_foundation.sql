-- Foundation: accounts and sessions, merchants with staff, tiers and stores, the
-- transactional outbox, webhooks, leased jobs and idempotency keys.
-- Unique constraints and indexes are named {table}_{columns}_key so that
-- StoreError::is_unique_on matches them the same way on both engines.

CREATE TABLE accounts (
    id                uuid PRIMARY KEY,
    phone             text,
    email             text,
    password_hash     text NOT NULL,
    display_name      text NOT NULL,
    is_platform_admin boolean NOT NULL DEFAULT false,
    created_at        timestamptz NOT NULL,
    CONSTRAINT accounts_phone_key UNIQUE (phone),
    CONSTRAINT accounts_email_key UNIQUE (email),
    CONSTRAINT accounts_login_present CHECK (phone IS NOT NULL OR email IS NOT NULL)
);

CREATE TABLE sessions (
    token_hash   text PRIMARY KEY,
    account_id   uuid NOT NULL REFERENCES accounts (id),
    created_at   timestamptz NOT NULL,
    expires_at   timestamptz NOT NULL,
    revoked_at   timestamptz
);
CREATE INDEX sessions_account_idx ON sessions (account_id);

CREATE TABLE login_failures (
    id          bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    login_key   text NOT NULL,
    client_addr text NOT NULL,
    at          timestamptz NOT NULL
);
CREATE INDEX login_failures_login_idx ON login_failures (login_key, at);
CREATE INDEX login_failures_addr_idx ON login_failures (client_addr, at);

CREATE TABLE merchants (
    id               uuid PRIMARY KEY,
    name             text NOT NULL,
    description      text NOT NULL DEFAULT '',
    contact_phone    text,
    status           text NOT NULL CHECK (status IN ('pending', 'approved', 'rejected')),
    owner_account_id uuid NOT NULL REFERENCES accounts (id),
    applied_at       timestamptz NOT NULL,
    decided_at       timestamptz,
    decided_by       uuid REFERENCES accounts (id),
    decision_reason  text,
    updated_at       timestamptz NOT NULL
);
-- A trading or pending merchant's name is taken; a rejected one frees it.
CREATE UNIQUE INDEX merchants_name_key ON merchants (name) WHERE status <> 'rejected';
-- One open application per applicant.
CREATE UNIQUE INDEX merchants_owner_account_id_key ON merchants (owner_account_id) WHERE status = 'pending';
CREATE INDEX merchants_status_idx ON merchants (status, applied_at);

CREATE TABLE merchant_staff (
    merchant_id uuid NOT NULL REFERENCES merchants (id),
    account_id  uuid NOT NULL REFERENCES accounts (id),
    role        text NOT NULL CHECK (role IN ('owner', 'manager')),
    added_at    timestamptz NOT NULL,
    added_by    uuid REFERENCES accounts (id),
    PRIMARY KEY (merchant_id, account_id)
);
CREATE INDEX merchant_staff_account_idx ON merchant_staff (account_id);

CREATE TABLE tiers (
    id          uuid PRIMARY KEY,
    merchant_id uuid NOT NULL REFERENCES merchants (id),
    code        text NOT NULL,
    name        text NOT NULL,
    rank        bigint NOT NULL CHECK (rank BETWEEN 0 AND 1000),
    created_at  timestamptz NOT NULL,
    CONSTRAINT tiers_merchant_id_code_key UNIQUE (merchant_id, code),
    CONSTRAINT tiers_merchant_id_rank_key UNIQUE (merchant_id, rank)
);

CREATE TABLE member_tiers (
    merchant_id uuid NOT NULL REFERENCES merchants (id),
    account_id  uuid NOT NULL REFERENCES accounts (id),
    tier_id     uuid NOT NULL REFERENCES tiers (id),
    assigned_at timestamptz NOT NULL,
    assigned_by uuid NOT NULL REFERENCES accounts (id),
    PRIMARY KEY (merchant_id, account_id)
);

CREATE TABLE stores (
    id            uuid PRIMARY KEY,
    merchant_id   uuid NOT NULL REFERENCES merchants (id),
    name          text NOT NULL,
    address       text NOT NULL,
    lat_e6        bigint NOT NULL,
    lng_e6        bigint NOT NULL,
    opening_hours jsonb NOT NULL,
    phone         text,
    created_at    timestamptz NOT NULL,
    updated_at    timestamptz NOT NULL,
    CONSTRAINT stores_merchant_id_name_key UNIQUE (merchant_id, name)
);

CREATE TABLE store_clerks (
    store_id    uuid NOT NULL REFERENCES stores (id),
    merchant_id uuid NOT NULL REFERENCES merchants (id),
    account_id  uuid NOT NULL REFERENCES accounts (id),
    added_at    timestamptz NOT NULL,
    PRIMARY KEY (store_id, account_id),
    -- A clerk works at exactly one store of a merchant.
    CONSTRAINT store_clerks_merchant_id_account_id_key UNIQUE (merchant_id, account_id)
);
CREATE INDEX store_clerks_account_idx ON store_clerks (account_id);

CREATE TABLE invitations (
    id          uuid PRIMARY KEY,
    token_hash  text NOT NULL,
    merchant_id uuid NOT NULL REFERENCES merchants (id),
    role        text NOT NULL CHECK (role IN ('manager', 'clerk')),
    store_id    uuid REFERENCES stores (id),
    created_by  uuid NOT NULL REFERENCES accounts (id),
    created_at  timestamptz NOT NULL,
    expires_at  timestamptz NOT NULL,
    accepted_by uuid REFERENCES accounts (id),
    accepted_at timestamptz,
    revoked_at  timestamptz,
    CONSTRAINT invitations_token_hash_key UNIQUE (token_hash),
    CONSTRAINT invitations_clerk_has_store CHECK ((role = 'clerk') = (store_id IS NOT NULL))
);
CREATE INDEX invitations_merchant_idx ON invitations (merchant_id, created_at);

CREATE TABLE outbox (
    id            bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    topic         text NOT NULL,
    merchant_id   uuid,
    aggregate_id  text NOT NULL,
    payload       jsonb NOT NULL,
    created_at    timestamptz NOT NULL,
    dispatched_at timestamptz
);
CREATE INDEX outbox_undispatched_idx ON outbox (id) WHERE dispatched_at IS NULL;

CREATE TABLE webhook_endpoints (
    id          uuid PRIMARY KEY,
    merchant_id uuid NOT NULL REFERENCES merchants (id),
    url         text NOT NULL,
    secret      text NOT NULL,
    topics      jsonb NOT NULL,
    description text NOT NULL DEFAULT '',
    active      boolean NOT NULL DEFAULT true,
    created_at  timestamptz NOT NULL
);
CREATE INDEX webhook_endpoints_merchant_idx ON webhook_endpoints (merchant_id);

CREATE TABLE webhook_deliveries (
    id              uuid PRIMARY KEY,
    endpoint_id     uuid NOT NULL REFERENCES webhook_endpoints (id),
    merchant_id     uuid NOT NULL REFERENCES merchants (id),
    outbox_id       bigint NOT NULL REFERENCES outbox (id),
    topic           text NOT NULL,
    status          text NOT NULL CHECK (status IN ('pending', 'delivered', 'failed')),
    attempts        bigint NOT NULL DEFAULT 0,
    next_attempt_at timestamptz,
    created_at      timestamptz NOT NULL,
    finished_at     timestamptz,
    CONSTRAINT webhook_deliveries_endpoint_id_outbox_id_key UNIQUE (endpoint_id, outbox_id)
);
CREATE INDEX webhook_deliveries_endpoint_idx ON webhook_deliveries (endpoint_id, created_at);

CREATE TABLE webhook_attempts (
    id            bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    delivery_id   uuid NOT NULL REFERENCES webhook_deliveries (id),
    attempt_no    bigint NOT NULL,
    started_at    timestamptz NOT NULL,
    duration_ms   bigint NOT NULL,
    status_code   bigint,
    error         text,
    response_body text
);
CREATE INDEX webhook_attempts_delivery_idx ON webhook_attempts (delivery_id, attempt_no);

CREATE TABLE jobs (
    id               uuid PRIMARY KEY,
    kind             text NOT NULL,
    payload          jsonb NOT NULL,
    status           text NOT NULL CHECK (status IN ('queued', 'done', 'failed')),
    run_at           timestamptz NOT NULL,
    attempts         bigint NOT NULL DEFAULT 0,
    max_attempts     bigint NOT NULL,
    lease_owner      text,
    lease_expires_at timestamptz,
    last_error       text,
    created_at       timestamptz NOT NULL,
    finished_at      timestamptz
);
CREATE INDEX jobs_due_idx ON jobs (run_at) WHERE status = 'queued';

CREATE TABLE idempotency_keys (
    scope           text NOT NULL,
    idem_key        text NOT NULL,
    request_hash    text NOT NULL,
    response_status bigint,
    response_type   text,
    response_body   bytea,
    created_at      timestamptz NOT NULL,
    expires_at      timestamptz NOT NULL,
    PRIMARY KEY (scope, idem_key)
);
CREATE INDEX idempotency_keys_expiry_idx ON idempotency_keys (expires_at);
