-- Sign-in with WeChat (公众号 网页授权): external identities linked to accounts, the OAuth
-- `state` bound to the browser that started the flow, the codes already spent, and the
-- identities waiting for their person to choose "new account" or "link to mine".
--
-- An account made from a WeChat identity has no phone, email or password: the password
-- becomes nullable and the login constraint says an account without phone and email has
-- no password either (it signs in through its identities). SQLite cannot alter a column
-- or a CHECK, and rebuilding `accounts` would trip every foreign key pointing at it, so
-- the definition is loosened in place, as SQLite documents for removing NOT NULL and
-- CHECK constraints (https://www.sqlite.org/lang_altertable.html#otheralter): the stored
-- rows are unchanged. `writable_schema = RESET` makes this connection re-read the schema;
-- the CREATE TABLEs below bump the schema cookie so every other connection does too.
PRAGMA writable_schema = ON;
UPDATE sqlite_schema
   SET sql = replace(
         replace(sql, 'password_hash     TEXT NOT NULL,', 'password_hash     TEXT,'),
         'CHECK (phone IS NOT NULL OR email IS NOT NULL)',
         'CHECK (phone IS NOT NULL OR email IS NOT NULL OR password_hash IS NULL)')
 WHERE type = 'table' AND name = 'accounts';
PRAGMA writable_schema = RESET;

CREATE TABLE external_identities (
    id                TEXT PRIMARY KEY,
    provider          TEXT NOT NULL,
    app_id            TEXT NOT NULL,
    openid            TEXT NOT NULL,
    unionid           TEXT,
    account_id        TEXT NOT NULL REFERENCES accounts (id),
    nickname          TEXT NOT NULL,
    created_at        INTEGER NOT NULL,
    last_sign_in_at   INTEGER,
    CONSTRAINT external_identities_provider_app_id_openid_key UNIQUE (provider, app_id, openid)
);
CREATE UNIQUE INDEX external_identities_provider_unionid_key
    ON external_identities (provider, unionid) WHERE unionid IS NOT NULL;
CREATE INDEX external_identities_account_idx ON external_identities (account_id);

CREATE TABLE oauth_states (
    state_hash   TEXT PRIMARY KEY,
    browser_hash TEXT NOT NULL,
    provider     TEXT NOT NULL,
    mode         TEXT NOT NULL CHECK (mode IN ('sign_in', 'link')),
    account_id   TEXT REFERENCES accounts (id),
    next_path    TEXT NOT NULL,
    expires_at   INTEGER NOT NULL,
    used_at      INTEGER
);
CREATE INDEX oauth_states_expires_idx ON oauth_states (expires_at);

CREATE TABLE oauth_used_codes (
    provider   TEXT NOT NULL,
    app_id     TEXT NOT NULL,
    code_hash  TEXT NOT NULL,
    expires_at INTEGER NOT NULL,
    PRIMARY KEY (provider, app_id, code_hash)
);
CREATE INDEX oauth_used_codes_expires_idx ON oauth_used_codes (expires_at);

CREATE TABLE pending_identities (
    token_hash TEXT PRIMARY KEY,
    provider   TEXT NOT NULL,
    app_id     TEXT NOT NULL,
    openid     TEXT NOT NULL,
    unionid    TEXT,
    nickname   TEXT NOT NULL,
    next_path  TEXT NOT NULL,
    expires_at INTEGER NOT NULL
);
CREATE INDEX pending_identities_expires_idx ON pending_identities (expires_at);
