-- Sign-in with WeChat (公众号 网页授权): external identities linked to accounts, the OAuth
-- `state` bound to the browser that started the flow, the codes already spent, and the
-- identities waiting for their person to choose "new account" or "link to mine".
--
-- An account made from a WeChat identity has no phone, email or password: the password
-- becomes nullable and the login constraint says an account without phone and email has
-- no password either (it signs in through its identities).
ALTER TABLE accounts ALTER COLUMN password_hash DROP NOT NULL;
ALTER TABLE accounts DROP CONSTRAINT accounts_login_present;
ALTER TABLE accounts ADD CONSTRAINT accounts_login_present
    CHECK (phone IS NOT NULL OR email IS NOT NULL OR password_hash IS NULL);

CREATE TABLE external_identities (
    id                uuid PRIMARY KEY,
    provider          text NOT NULL,
    app_id            text NOT NULL,
    openid            text NOT NULL,
    unionid           text,
    account_id        uuid NOT NULL REFERENCES accounts (id),
    nickname          text NOT NULL,
    created_at        timestamptz NOT NULL,
    last_sign_in_at   timestamptz,
    CONSTRAINT external_identities_provider_app_id_openid_key UNIQUE (provider, app_id, openid)
);
CREATE UNIQUE INDEX external_identities_provider_unionid_key
    ON external_identities (provider, unionid) WHERE unionid IS NOT NULL;
CREATE INDEX external_identities_account_idx ON external_identities (account_id);

CREATE TABLE oauth_states (
    state_hash   text PRIMARY KEY,
    browser_hash text NOT NULL,
    provider     text NOT NULL,
    mode         text NOT NULL CHECK (mode IN ('sign_in', 'link')),
    account_id   uuid REFERENCES accounts (id),
    next_path    text NOT NULL,
    expires_at   timestamptz NOT NULL,
    used_at      timestamptz
);
CREATE INDEX oauth_states_expires_idx ON oauth_states (expires_at);

CREATE TABLE oauth_used_codes (
    provider   text NOT NULL,
    app_id     text NOT NULL,
    code_hash  text NOT NULL,
    expires_at timestamptz NOT NULL,
    PRIMARY KEY (provider, app_id, code_hash)
);
CREATE INDEX oauth_used_codes_expires_idx ON oauth_used_codes (expires_at);

CREATE TABLE pending_identities (
    token_hash text PRIMARY KEY,
    provider   text NOT NULL,
    app_id     text NOT NULL,
    openid     text NOT NULL,
    unionid    text,
    nickname   text NOT NULL,
    next_path  text NOT NULL,
    expires_at timestamptz NOT NULL
);
CREATE INDEX pending_identities_expires_idx ON pending_identities (expires_at);
