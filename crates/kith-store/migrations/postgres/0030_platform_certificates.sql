-- WeChat Pay platform certificates (issue 15): downloaded by kith from WeChat Pay's own
-- `GET /v3/certificates` (signed request, answer verified, each certificate decrypted with
-- the owner's APIv3 key), never typed by the merchant. Certificates are public, so they are
-- stored in the clear; a row is trusted because only the download writes it.
CREATE TABLE rail_platform_certificates (
    -- A merchant id, or 'platform'.
    owner        TEXT NOT NULL,
    provider     TEXT NOT NULL,
    -- The certificate's serial number, upper-case hex (WeChat's serial_no).
    serial       TEXT NOT NULL,
    pem          TEXT NOT NULL,
    -- WeChat's effective_time and expire_time; a certificate past expires_at is not used.
    effective_at timestamptz NOT NULL,
    expires_at   timestamptz NOT NULL,
    fetched_at   timestamptz NOT NULL,
    PRIMARY KEY (owner, provider, serial)
);

-- The refresh chain per owner: the next due time of its job (one conditional update moves
-- it, so exactly one job follows each), and when a notification naming an unknown serial
-- last caused an extra download (rate-limited).
CREATE TABLE rail_certificate_refresh (
    owner          TEXT NOT NULL,
    provider       TEXT NOT NULL,
    next_at        timestamptz NOT NULL,
    on_demand_at   timestamptz NOT NULL,
    PRIMARY KEY (owner, provider)
);
