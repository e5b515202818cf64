-- Foundation: accounts and sessions, merchants with staff, tiers and stores, the
-- transactional outbox, webhooks, leased jobs and idempotency keys.
-- Unique constraints and indexes are named {table}_{columns}_key so that
-- StoreError::is_unique_on matches them the same way on both engines.

CREATE TABLE accounts (
    id                TEXT PRIMARY KEY,
    phone             TEXT,
    email             TEXT,
    password_hash     TEXT NOT NULL,
    display_name      TEXT NOT NULL,
    is_platform_admin INTEGER NOT NULL DEFAULT 0,
    created_at        INTEGER NOT NULL,
    CONSTRAINT accounts_phone_key UNIQUE (phone),
    CONSTRAINT accounts_email_key UNIQUE (email),
    CONSTRAINT accounts_login_present CHECK (phone IS NOT NULL OR email IS NOT NULL)
);

CREATE TABLE sessions (
    token_hash   TEXT PRIMARY KEY,
    account_id   TEXT NOT NULL REFERENCES accounts (id),
    created_at   INTEGER NOT NULL,
    expires_at   INTEGER NOT NULL,
    revoked_at   INTEGER
);
CREATE INDEX sessions_account_idx ON sessions (account_id);

CREATE TABLE login_failures (
    id          INTEGER PRIMARY KEY,
    login_key   TEXT NOT NULL,
    client_addr TEXT NOT NULL,
    at          INTEGER NOT NULL
);
CREATE INDEX login_failures_login_idx ON login_failures (login_key, at);
CREATE INDEX login_failures_addr_idx ON login_failures (client_addr, at);

CREATE TABLE merchants (
    id               TEXT PRIMARY KEY,
    name             TEXT NOT NULL,
    description      TEXT NOT NULL DEFAULT '',
    contact_phone    TEXT,
    status           TEXT NOT NULL CHECK (status IN ('pending', 'approved', 'rejected')),
    owner_account_id TEXT NOT NULL REFERENCES accounts (id),
    applied_at       INTEGER NOT NULL,
    decided_at       INTEGER,
    decided_by       TEXT REFERENCES accounts (id),
    decision_reason  TEXT,
    updated_at       INTEGER NOT NULL
);
-- A trading or pending merchant's name is taken; a rejected one frees it.
CREATE UNIQUE INDEX merchants_name_key ON merchants (name) WHERE status <> 'rejected';
-- One open application per applicant.
CREATE UNIQUE INDEX merchants_owner_account_id_key ON merchants (owner_account_id) WHERE status = 'pending';
CREATE INDEX merchants_status_idx ON merchants (status, applied_at);

CREATE TABLE merchant_staff (
    merchant_id TEXT NOT NULL REFERENCES merchants (id),
    account_id  TEXT NOT NULL REFERENCES accounts (id),
    role        TEXT NOT NULL CHECK (role IN ('owner', 'manager')),
    added_at    INTEGER NOT NULL,
    added_by    TEXT REFERENCES accounts (id),
    PRIMARY KEY (merchant_id, account_id)
);
CREATE INDEX merchant_staff_account_idx ON merchant_staff (account_id);

CREATE TABLE tiers (
    id          TEXT PRIMARY KEY,
    merchant_id TEXT NOT NULL REFERENCES merchants (id),
    code        TEXT NOT NULL,
    name        TEXT NOT NULL,
    rank        INTEGER NOT NULL CHECK (rank BETWEEN 0 AND 1000),
    created_at  INTEGER NOT NULL,
    CONSTRAINT tiers_merchant_id_code_key UNIQUE (merchant_id, code),
    CONSTRAINT tiers_merchant_id_rank_key UNIQUE (merchant_id, rank)
);

CREATE TABLE member_tiers (
    merchant_id TEXT NOT NULL REFERENCES merchants (id),
    account_id  TEXT NOT NULL REFERENCES accounts (id),
    tier_id     TEXT NOT NULL REFERENCES tiers (id),
    assigned_at INTEGER NOT NULL,
    assigned_by TEXT NOT NULL REFERENCES accounts (id),
    PRIMARY KEY (merchant_id, account_id)
);

CREATE TABLE stores (
    id            TEXT PRIMARY KEY,
    merchant_id   TEXT NOT NULL REFERENCES merchants (id),
    name          TEXT NOT NULL,
    address       TEXT NOT NULL,
    lat_e6        INTEGER NOT NULL,
    lng_e6        INTEGER NOT NULL,
    opening_hours TEXT NOT NULL,
    phone         TEXT,
    created_at    INTEGER NOT NULL,
    updated_at    INTEGER NOT NULL,
    CONSTRAINT stores_merchant_id_name_key UNIQUE (merchant_id, name)
);

CREATE TABLE store_clerks (
    store_id    TEXT NOT NULL REFERENCES stores (id),
    merchant_id TEXT NOT NULL REFERENCES merchants (id),
    account_id  TEXT NOT NULL REFERENCES accounts (id),
    added_at    INTEGER NOT NULL,
    PRIMARY KEY (store_id, account_id),
    -- A clerk works at exactly one store of a merchant.
    CONSTRAINT store_clerks_merchant_id_account_id_key UNIQUE (merchant_id, account_id)
);
CREATE INDEX store_clerks_account_idx ON store_clerks (account_id);

CREATE TABLE invitations (
    id          TEXT PRIMARY KEY,
    token_hash  TEXT NOT NULL,
    merchant_id TEXT NOT NULL REFERENCES merchants (id),
    role        TEXT NOT NULL CHECK (role IN ('manager', 'clerk')),
    store_id    TEXT REFERENCES stores (id),
    created_by  TEXT NOT NULL REFERENCES accounts (id),
    created_at  INTEGER NOT NULL,
    expires_at  INTEGER NOT NULL,
    accepted_by TEXT REFERENCES accounts (id),
    accepted_at INTEGER,
    revoked_at  INTEGER,
    CONSTRAINT invitations_token_hash_key UNIQUE (token_hash),
    CONSTRAINT invitations_clerk_has_store CHECK ((role = 'clerk') = (store_id IS NOT NULL))
);
CREATE INDEX invitations_merchant_idx ON invitations (merchant_id, created_at);

CREATE TABLE outbox (
    id            INTEGER PRIMARY KEY,
    topic         TEXT NOT NULL,
    merchant_id   TEXT,
    aggregate_id  TEXT NOT NULL,
    payload       TEXT NOT NULL,
    created_at    INTEGER NOT NULL,
    dispatched_at INTEGER
);
CREATE INDEX outbox_undispatched_idx ON outbox (id) WHERE dispatched_at IS NULL;

CREATE TABLE webhook_endpoints (
    id          TEXT PRIMARY KEY,
    merchant_id TEXT NOT NULL REFERENCES merchants (id),
    url         TEXT NOT NULL,
    secret      TEXT NOT NULL,
    topics      TEXT NOT NULL,
    description TEXT NOT NULL DEFAULT '',
    active      INTEGER NOT NULL DEFAULT 1,
    created_at  INTEGER NOT NULL
);
CREATE INDEX webhook_endpoints_merchant_idx ON webhook_endpoints (merchant_id);

CREATE TABLE webhook_deliveries (
    id              TEXT PRIMARY KEY,
    endpoint_id     TEXT NOT NULL REFERENCES webhook_endpoints (id),
    merchant_id     TEXT NOT NULL REFERENCES merchants (id),
    outbox_id       INTEGER NOT NULL REFERENCES outbox (id),
    topic           TEXT NOT NULL,
    status          TEXT NOT NULL CHECK (status IN ('pending', 'delivered', 'failed')),
    attempts        INTEGER NOT NULL DEFAULT 0,
    next_attempt_at INTEGER,
    created_at      INTEGER NOT NULL,
    finished_at     INTEGER,
    CONSTRAINT webhook_deliveries_endpoint_id_outbox_id_key UNIQUE (endpoint_id, outbox_id)
);
CREATE INDEX webhook_deliveries_endpoint_idx ON webhook_deliveries (endpoint_id, created_at);

CREATE TABLE webhook_attempts (
    id            INTEGER PRIMARY KEY,
    delivery_id   TEXT NOT NULL REFERENCES webhook_deliveries (id),
    attempt_no    INTEGER NOT NULL,
    started_at    INTEGER NOT NULL,
    duration_ms   INTEGER NOT NULL,
    status_code   INTEGER,
    error         TEXT,
    response_body TEXT
);
CREATE INDEX webhook_attempts_delivery_idx ON webhook_attempts (delivery_id, attempt_no);

CREATE TABLE jobs (
    id               TEXT PRIMARY KEY,
    kind             TEXT NOT NULL,
    payload          TEXT NOT NULL,
    status           TEXT NOT NULL CHECK (status IN ('queued', 'done', 'failed')),
    run_at           INTEGER NOT NULL,
    attempts         INTEGER NOT NULL DEFAULT 0,
    max_attempts     INTEGER NOT NULL,
    lease_owner      TEXT,
    lease_expires_at INTEGER,
    last_error       TEXT,
    created_at       INTEGER NOT NULL,
    finished_at      INTEGER
);
CREATE INDEX jobs_due_idx ON jobs (run_at) WHERE status = 'queued';

CREATE TABLE idempotency_keys (
    scope           TEXT NOT NULL,
    idem_key        TEXT NOT NULL,
    request_hash    TEXT NOT NULL,
    response_status INTEGER,
    response_type   TEXT,
    response_body   BLOB,
    created_at      INTEGER NOT NULL,
    expires_at      INTEGER NOT NULL,
    PRIMARY KEY (scope, idem_key)
);
CREATE INDEX idempotency_keys_expiry_idx ON idempotency_keys (expires_at);
