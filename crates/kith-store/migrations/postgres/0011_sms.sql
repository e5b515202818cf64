-- SMS one-time codes (platform/sms): one row per code sent, stored as a keyed hash
-- (HMAC-SHA256 with the server key `sms_code_key` in platform_secrets), never in clear.
-- A code is live while used_at is NULL, expires_at is ahead and attempts < 5; asking for a
-- new code for the same number and purpose ends the ones before it.
-- Accounts made by SMS code have no password: their password_hash is NULL (0010_wechat
-- made it nullable), which password login refuses like a wrong password.

CREATE TABLE sms_codes (
    id         uuid PRIMARY KEY,
    phone      text NOT NULL,
    purpose    text NOT NULL,
    code_hash  text NOT NULL,
    created_at timestamptz NOT NULL,
    expires_at timestamptz NOT NULL,
    attempts   bigint NOT NULL DEFAULT 0,
    used_at    timestamptz
);
CREATE INDEX sms_codes_phone_idx ON sms_codes (phone, purpose, created_at);
CREATE INDEX sms_codes_expires_idx ON sms_codes (expires_at);
