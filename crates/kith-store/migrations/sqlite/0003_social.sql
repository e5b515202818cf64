-- Social layer: follows and blocks, communities with invites, roles, history and
-- sub-communities, media, posts with images and product tags, likes, comments, shares,
-- reports, and verified-purchase reviews.

CREATE TABLE follows (
    follower_id TEXT NOT NULL REFERENCES accounts (id),
    followee_id TEXT NOT NULL REFERENCES accounts (id),
    created_at  INTEGER NOT NULL,
    PRIMARY KEY (follower_id, followee_id),
    CONSTRAINT follows_not_self CHECK (follower_id <> followee_id)
);
CREATE INDEX follows_followee_idx ON follows (followee_id, created_at);

CREATE TABLE blocks (
    blocker_id TEXT NOT NULL REFERENCES accounts (id),
    blocked_id TEXT NOT NULL REFERENCES accounts (id),
    created_at INTEGER NOT NULL,
    PRIMARY KEY (blocker_id, blocked_id),
    CONSTRAINT blocks_not_self CHECK (blocker_id <> blocked_id)
);
CREATE INDEX blocks_blocked_idx ON blocks (blocked_id);

-- Uploaded images, content-addressed: the id is the SHA-256 of the bytes.
CREATE TABLE media (
    id          TEXT PRIMARY KEY,
    owner_id    TEXT NOT NULL REFERENCES accounts (id),
    mime        TEXT NOT NULL CHECK (mime IN ('image/jpeg', 'image/png', 'image/webp')),
    width       INTEGER NOT NULL CHECK (width > 0),
    height      INTEGER NOT NULL CHECK (height > 0),
    bytes       INTEGER NOT NULL CHECK (bytes > 0),
    created_at  INTEGER NOT NULL
);

-- Who uploaded which bytes: content addressing makes one media row for identical bytes,
-- and each uploader may attach what they uploaded.
CREATE TABLE media_uploads (
    media_id    TEXT NOT NULL REFERENCES media (id),
    account_id  TEXT NOT NULL REFERENCES accounts (id),
    created_at  INTEGER NOT NULL,
    PRIMARY KEY (media_id, account_id)
);
CREATE INDEX media_uploads_account_idx ON media_uploads (account_id, created_at);

CREATE TABLE communities (
    id               TEXT PRIMARY KEY,
    name             TEXT NOT NULL,
    description      TEXT NOT NULL DEFAULT '',
    cover_media_id   TEXT REFERENCES media (id),
    tags             TEXT NOT NULL,
    join_policy      TEXT NOT NULL CHECK (join_policy IN ('open', 'approval', 'invite_only')),
    merchant_id      TEXT REFERENCES merchants (id),
    owner_account_id TEXT NOT NULL REFERENCES accounts (id),
    parent_id        TEXT REFERENCES communities (id),
    created_at       INTEGER NOT NULL,
    updated_at       INTEGER NOT NULL
);
CREATE INDEX communities_parent_idx ON communities (parent_id);
CREATE INDEX communities_merchant_idx ON communities (merchant_id);

-- One row per (community, account), whatever the state; `invited_by` is the fission
-- tree's edge: who brought this member in.
CREATE TABLE community_members (
    community_id    TEXT NOT NULL REFERENCES communities (id),
    account_id      TEXT NOT NULL REFERENCES accounts (id),
    role            TEXT NOT NULL CHECK (role IN ('owner', 'admin', 'member')),
    state           TEXT NOT NULL CHECK (state IN ('active', 'pending', 'left', 'removed', 'banned')),
    opinion_leader  INTEGER NOT NULL DEFAULT 0,
    invited_by      TEXT REFERENCES accounts (id),
    invite_id       TEXT,
    joined_at       INTEGER NOT NULL,
    updated_at      INTEGER NOT NULL,
    PRIMARY KEY (community_id, account_id)
);
CREATE INDEX community_members_account_idx ON community_members (account_id, state);
CREATE INDEX community_members_inviter_idx ON community_members (invited_by);

-- Every membership change, kept (splits move members; history shows where from).
CREATE TABLE community_member_events (
    id                INTEGER PRIMARY KEY,
    community_id      TEXT NOT NULL REFERENCES communities (id),
    account_id        TEXT NOT NULL REFERENCES accounts (id),
    event             TEXT NOT NULL,
    actor_id          TEXT REFERENCES accounts (id),
    related_community_id TEXT REFERENCES communities (id),
    at                INTEGER NOT NULL
);
CREATE INDEX community_member_events_idx ON community_member_events (community_id, id);

CREATE TABLE community_invites (
    id           TEXT PRIMARY KEY,
    community_id TEXT NOT NULL REFERENCES communities (id),
    code_hash    TEXT NOT NULL,
    inviter_id   TEXT NOT NULL REFERENCES accounts (id),
    max_uses     INTEGER,
    uses         INTEGER NOT NULL DEFAULT 0,
    expires_at   INTEGER,
    revoked_at   INTEGER,
    created_at   INTEGER NOT NULL,
    CONSTRAINT community_invites_code_hash_key UNIQUE (code_hash),
    CONSTRAINT community_invites_uses_bounded CHECK (max_uses IS NULL OR uses <= max_uses)
);

CREATE INDEX community_invites_community_idx ON community_invites (community_id, created_at);

CREATE TABLE community_announcements (
    id           TEXT PRIMARY KEY,
    community_id TEXT NOT NULL REFERENCES communities (id),
    author_id    TEXT NOT NULL REFERENCES accounts (id),
    body         TEXT NOT NULL,
    created_at   INTEGER NOT NULL
);
CREATE INDEX community_announcements_idx ON community_announcements (community_id, created_at);

CREATE TABLE posts (
    id            TEXT PRIMARY KEY,
    author_id     TEXT NOT NULL REFERENCES accounts (id),
    body          TEXT NOT NULL,
    visibility    TEXT NOT NULL CHECK (visibility IN ('public', 'followers', 'friends', 'community')),
    community_id  TEXT REFERENCES communities (id),
    like_count    INTEGER NOT NULL DEFAULT 0,
    comment_count INTEGER NOT NULL DEFAULT 0,
    share_count   INTEGER NOT NULL DEFAULT 0,
    created_at    INTEGER NOT NULL,
    updated_at    INTEGER NOT NULL,
    deleted_at    INTEGER,
    hidden_at     INTEGER,
    hidden_by     TEXT REFERENCES accounts (id),
    CONSTRAINT posts_community_visibility CHECK ((visibility = 'community') = (community_id IS NOT NULL)),
    CONSTRAINT posts_counts_non_negative CHECK (like_count >= 0 AND comment_count >= 0 AND share_count >= 0)
);
CREATE INDEX posts_author_idx ON posts (author_id, created_at);
CREATE INDEX posts_community_idx ON posts (community_id, created_at);
CREATE INDEX posts_created_idx ON posts (created_at);

CREATE TABLE post_images (
    post_id  TEXT NOT NULL REFERENCES posts (id),
    position INTEGER NOT NULL CHECK (position BETWEEN 0 AND 8),
    media_id TEXT NOT NULL REFERENCES media (id),
    PRIMARY KEY (post_id, position)
);

CREATE TABLE post_tags (
    post_id     TEXT NOT NULL REFERENCES posts (id),
    sku_id      TEXT NOT NULL REFERENCES skus (id),
    merchant_id TEXT NOT NULL REFERENCES merchants (id),
    PRIMARY KEY (post_id, sku_id)
);
CREATE INDEX post_tags_sku_idx ON post_tags (sku_id);

CREATE TABLE post_likes (
    post_id    TEXT NOT NULL REFERENCES posts (id),
    account_id TEXT NOT NULL REFERENCES accounts (id),
    created_at INTEGER NOT NULL,
    PRIMARY KEY (post_id, account_id)
);
CREATE INDEX post_likes_account_idx ON post_likes (account_id, created_at);

CREATE TABLE comments (
    id         TEXT PRIMARY KEY,
    post_id    TEXT NOT NULL REFERENCES posts (id),
    author_id  TEXT NOT NULL REFERENCES accounts (id),
    parent_id  TEXT REFERENCES comments (id),
    body       TEXT NOT NULL,
    created_at INTEGER NOT NULL,
    deleted_at INTEGER,
    hidden_at  INTEGER
);
CREATE INDEX comments_post_idx ON comments (post_id, created_at);

CREATE TABLE post_shares (
    id         TEXT PRIMARY KEY,
    post_id    TEXT NOT NULL REFERENCES posts (id),
    account_id TEXT NOT NULL REFERENCES accounts (id),
    channel    TEXT NOT NULL,
    created_at INTEGER NOT NULL
);
CREATE INDEX post_shares_post_idx ON post_shares (post_id, created_at);

CREATE TABLE reports (
    id          TEXT PRIMARY KEY,
    target_kind TEXT NOT NULL CHECK (target_kind IN ('post', 'comment')),
    target_id   TEXT NOT NULL,
    reporter_id TEXT NOT NULL REFERENCES accounts (id),
    reason      TEXT NOT NULL,
    created_at  INTEGER NOT NULL,
    resolved_at INTEGER,
    resolved_by TEXT REFERENCES accounts (id),
    resolution  TEXT,
    CONSTRAINT reports_target_kind_target_id_reporter_id_key UNIQUE (target_kind, target_id, reporter_id)
);

-- One review per completed order line.
CREATE TABLE reviews (
    id          TEXT PRIMARY KEY,
    order_id    TEXT NOT NULL REFERENCES orders (id),
    line_no     INTEGER NOT NULL,
    sku_id      TEXT NOT NULL REFERENCES skus (id),
    product_id  TEXT NOT NULL REFERENCES products (id),
    merchant_id TEXT NOT NULL REFERENCES merchants (id),
    author_id   TEXT NOT NULL REFERENCES accounts (id),
    rating      INTEGER NOT NULL CHECK (rating BETWEEN 1 AND 5),
    body        TEXT NOT NULL DEFAULT '',
    images      TEXT NOT NULL,
    created_at  INTEGER NOT NULL,
    reply_body  TEXT,
    replied_at  INTEGER,
    replied_by  TEXT REFERENCES accounts (id),
    hidden_at   INTEGER,
    CONSTRAINT reviews_order_id_line_no_key UNIQUE (order_id, line_no)
);
CREATE INDEX reviews_product_idx ON reviews (product_id, created_at);
CREATE INDEX reviews_author_idx ON reviews (author_id);
