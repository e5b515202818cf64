-- Outside money rails (kith-app rails/): each owner's provider credentials, sealed with
-- AES-256-GCM under the server's secret key (never stored in the clear), with the
-- fingerprints that may be shown; and what a payment's provider said about it.

CREATE TABLE rail_credentials (
    -- A merchant id, or 'platform' for the platform's own account (wallet top-ups, payouts).
    owner        TEXT NOT NULL,
    provider     TEXT NOT NULL,
    -- base64(nonce ‖ ciphertext ‖ tag) of the credentials' JSON.
    sealed       TEXT NOT NULL,
    -- The public identifiers and fingerprints (JSON): mch id, app id, serials, key hashes.
    fingerprints TEXT NOT NULL,
    -- The merchant id / app id in the clear, so a notification can be matched without opening the seal.
    account_ref  TEXT NOT NULL,
    updated_by   TEXT NOT NULL REFERENCES accounts (id),
    updated_at   INTEGER NOT NULL,
    PRIMARY KEY (owner, provider)
);

-- The provider's own id of the payment (WeChat's transaction_id) and the link the payer
-- pays on (Native code_url, H5 h5_url, JSAPI prepay_id).
ALTER TABLE payments ADD COLUMN provider_txn TEXT;
ALTER TABLE payments ADD COLUMN pay_link TEXT;
-- Whose rail took it: the merchant id, or 'platform'.
ALTER TABLE payments ADD COLUMN rail_owner TEXT;
