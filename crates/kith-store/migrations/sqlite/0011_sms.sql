-- SMS one-time codes (platform/sms): one row per code sent, stored as a keyed hash
-- (HMAC-SHA256 with the server key `sms_code_key` in platform_secrets), never in clear.
-- A code is live while used_at is NULL, expires_at is ahead and attempts < 5; asking for a
-- new code for the same number and purpose ends the ones before it.
-- Accounts made by SMS code have no password: their password_hash is NULL (0010_wechat
-- made it nullable), which password login refuses like a wrong password.

CREATE TABLE sms_codes (
    id         TEXT PRIMARY KEY,
    phone      TEXT NOT NULL,
    purpose    TEXT NOT NULL,
    code_hash  TEXT NOT NULL,
    created_at INTEGER NOT NULL,
    expires_at INTEGER NOT NULL,
    attempts   INTEGER NOT NULL DEFAULT 0,
    used_at    INTEGER
);
CREATE INDEX sms_codes_phone_idx ON sms_codes (phone, purpose, created_at);
CREATE INDEX sms_codes_expires_idx ON sms_codes (expires_at);
