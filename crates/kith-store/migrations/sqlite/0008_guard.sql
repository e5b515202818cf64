-- Guards against abuse that every server on one database must share: fixed-window rate
-- counters (sign-ups per address, pickup-code guesses, and on PostgreSQL the per-member
-- checkout and share limits), proof-of-work challenges (the server key and the solutions
-- already spent), and the last time a session was used (the idle timeout).

CREATE TABLE rate_windows (
    action       TEXT NOT NULL,
    subject      TEXT NOT NULL,
    window_start INTEGER NOT NULL,
    hits         INTEGER NOT NULL,
    PRIMARY KEY (action, subject)
);
CREATE INDEX rate_windows_start_idx ON rate_windows (window_start);

CREATE TABLE platform_secrets (
    name       TEXT PRIMARY KEY,
    value      TEXT NOT NULL,
    created_at INTEGER NOT NULL
);

CREATE TABLE spent_challenges (
    signature  TEXT PRIMARY KEY,
    expires_at INTEGER NOT NULL
);
CREATE INDEX spent_challenges_expires_idx ON spent_challenges (expires_at);

ALTER TABLE sessions ADD COLUMN last_seen_at INTEGER;
