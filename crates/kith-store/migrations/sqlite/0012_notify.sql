-- The notification centre: notifications made from outbox events (one per event, member
-- and kind), a member's choices per kind and channel, one delivery row per notification
-- and outside channel, the consumer's durable outbox cursor, and the WeChat openids
-- notifications may be sent to.

CREATE TABLE notifications (
    id          TEXT PRIMARY KEY,
    account_id  TEXT NOT NULL REFERENCES accounts (id),
    outbox_id   INTEGER NOT NULL REFERENCES outbox (id),
    kind        TEXT NOT NULL,
    params      TEXT NOT NULL,
    link        TEXT NOT NULL,
    created_at  INTEGER NOT NULL,
    read_at     INTEGER,
    CONSTRAINT notifications_outbox_id_account_id_kind_key UNIQUE (outbox_id, account_id, kind)
);
CREATE INDEX notifications_inbox_idx ON notifications (account_id, created_at, id);
CREATE INDEX notifications_unread_idx ON notifications (account_id) WHERE read_at IS NULL;

CREATE TABLE notification_preferences (
    account_id TEXT NOT NULL REFERENCES accounts (id),
    kind       TEXT NOT NULL,
    channel    TEXT NOT NULL CHECK (channel IN ('in_app', 'wechat', 'sms')),
    enabled    INTEGER NOT NULL,
    updated_at INTEGER NOT NULL,
    PRIMARY KEY (account_id, kind, channel)
);

CREATE TABLE notification_deliveries (
    id              TEXT PRIMARY KEY,
    notification_id TEXT NOT NULL REFERENCES notifications (id),
    channel         TEXT NOT NULL CHECK (channel IN ('wechat', 'sms')),
    status          TEXT NOT NULL CHECK (status IN ('pending', 'sent', 'failed', 'refused', 'skipped')),
    attempts        INTEGER NOT NULL DEFAULT 0,
    last_error      TEXT,
    error_code      INTEGER,
    created_at      INTEGER NOT NULL,
    finished_at     INTEGER,
    CONSTRAINT notification_deliveries_notification_id_channel_key UNIQUE (notification_id, channel)
);

CREATE TABLE notify_cursor (
    name    TEXT PRIMARY KEY,
    last_id INTEGER NOT NULL
);
-- Notifications start with the upgrade: events already in the outbox made none.
INSERT INTO notify_cursor (name, last_id) SELECT 'notifications', COALESCE(MAX(id), 0) FROM outbox;

CREATE TABLE notify_wechat_openids (
    account_id TEXT PRIMARY KEY REFERENCES accounts (id),
    openid     TEXT NOT NULL,
    created_at INTEGER NOT NULL
);
