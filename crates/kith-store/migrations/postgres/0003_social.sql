-- Social layer: follows and blocks, communities with invites, roles, history and
-- sub-communities, media, posts with images and product tags, likes, comments, shares,
-- reports, and verified-purchase reviews.

CREATE TABLE follows (
    follower_id uuid NOT NULL REFERENCES accounts (id),
    followee_id uuid NOT NULL REFERENCES accounts (id),
    created_at  timestamptz NOT NULL,
    PRIMARY KEY (follower_id, followee_id),
    CONSTRAINT follows_not_self CHECK (follower_id <> followee_id)
);
CREATE INDEX follows_followee_idx ON follows (followee_id, created_at);

CREATE TABLE blocks (
    blocker_id uuid NOT NULL REFERENCES accounts (id),
    blocked_id uuid NOT NULL REFERENCES accounts (id),
    created_at timestamptz NOT NULL,
    PRIMARY KEY (blocker_id, blocked_id),
    CONSTRAINT blocks_not_self CHECK (blocker_id <> blocked_id)
);
CREATE INDEX blocks_blocked_idx ON blocks (blocked_id);

-- Uploaded images, content-addressed: the id is the SHA-256 of the bytes.
CREATE TABLE media (
    id          text PRIMARY KEY,
    owner_id    uuid NOT NULL REFERENCES accounts (id),
    mime        text NOT NULL CHECK (mime IN ('image/jpeg', 'image/png', 'image/webp')),
    width       bigint NOT NULL CHECK (width > 0),
    height      bigint NOT NULL CHECK (height > 0),
    bytes       bigint NOT NULL CHECK (bytes > 0),
    created_at  timestamptz NOT NULL
);

-- Who uploaded which bytes: content addressing makes one media row for identical bytes,
-- and each uploader may attach what they uploaded.
CREATE TABLE media_uploads (
    media_id    text NOT NULL REFERENCES media (id),
    account_id  uuid NOT NULL REFERENCES accounts (id),
    created_at  timestamptz NOT NULL,
    PRIMARY KEY (media_id, account_id)
);
CREATE INDEX media_uploads_account_idx ON media_uploads (account_id, created_at);

CREATE TABLE communities (
    id               uuid PRIMARY KEY,
    name             text NOT NULL,
    description      text NOT NULL DEFAULT '',
    cover_media_id   text REFERENCES media (id),
    tags             jsonb NOT NULL,
    join_policy      text NOT NULL CHECK (join_policy IN ('open', 'approval', 'invite_only')),
    merchant_id      uuid REFERENCES merchants (id),
    owner_account_id uuid NOT NULL REFERENCES accounts (id),
    parent_id        uuid REFERENCES communities (id),
    created_at       timestamptz NOT NULL,
    updated_at       timestamptz NOT NULL
);
CREATE INDEX communities_parent_idx ON communities (parent_id);
CREATE INDEX communities_merchant_idx ON communities (merchant_id);

-- One row per (community, account), whatever the state; `invited_by` is the fission
-- tree's edge: who brought this member in.
CREATE TABLE community_members (
    community_id    uuid NOT NULL REFERENCES communities (id),
    account_id      uuid NOT NULL REFERENCES accounts (id),
    role            text NOT NULL CHECK (role IN ('owner', 'admin', 'member')),
    state           text NOT NULL CHECK (state IN ('active', 'pending', 'left', 'removed', 'banned')),
    opinion_leader  boolean NOT NULL DEFAULT false,
    invited_by      uuid REFERENCES accounts (id),
    invite_id       uuid,
    joined_at       timestamptz NOT NULL,
    updated_at      timestamptz NOT NULL,
    PRIMARY KEY (community_id, account_id)
);
CREATE INDEX community_members_account_idx ON community_members (account_id, state);
CREATE INDEX community_members_inviter_idx ON community_members (invited_by);

-- Every membership change, kept (splits move members; history shows where from).
CREATE TABLE community_member_events (
    id                bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    community_id      uuid NOT NULL REFERENCES communities (id),
    account_id        uuid NOT NULL REFERENCES accounts (id),
    event             text NOT NULL,
    actor_id          uuid REFERENCES accounts (id),
    related_community_id uuid REFERENCES communities (id),
    at                timestamptz NOT NULL
);
CREATE INDEX community_member_events_idx ON community_member_events (community_id, id);

CREATE TABLE community_invites (
    id           uuid PRIMARY KEY,
    community_id uuid NOT NULL REFERENCES communities (id),
    code_hash    text NOT NULL,
    inviter_id   uuid NOT NULL REFERENCES accounts (id),
    max_uses     bigint,
    uses         bigint NOT NULL DEFAULT 0,
    expires_at   timestamptz,
    revoked_at   timestamptz,
    created_at   timestamptz NOT NULL,
    CONSTRAINT community_invites_code_hash_key UNIQUE (code_hash),
    CONSTRAINT community_invites_uses_bounded CHECK (max_uses IS NULL OR uses <= max_uses)
);

CREATE INDEX community_invites_community_idx ON community_invites (community_id, created_at);

CREATE TABLE community_announcements (
    id           uuid PRIMARY KEY,
    community_id uuid NOT NULL REFERENCES communities (id),
    author_id    uuid NOT NULL REFERENCES accounts (id),
    body         text NOT NULL,
    created_at   timestamptz NOT NULL
);
CREATE INDEX community_announcements_idx ON community_announcements (community_id, created_at);

CREATE TABLE posts (
    id            uuid PRIMARY KEY,
    author_id     uuid NOT NULL REFERENCES accounts (id),
    body          text NOT NULL,
    visibility    text NOT NULL CHECK (visibility IN ('public', 'followers', 'friends', 'community')),
    community_id  uuid REFERENCES communities (id),
    like_count    bigint NOT NULL DEFAULT 0,
    comment_count bigint NOT NULL DEFAULT 0,
    share_count   bigint NOT NULL DEFAULT 0,
    created_at    timestamptz NOT NULL,
    updated_at    timestamptz NOT NULL,
    deleted_at    timestamptz,
    hidden_at     timestamptz,
    hidden_by     uuid REFERENCES accounts (id),
    CONSTRAINT posts_community_visibility CHECK ((visibility = 'community') = (community_id IS NOT NULL)),
    CONSTRAINT posts_counts_non_negative CHECK (like_count >= 0 AND comment_count >= 0 AND share_count >= 0)
);
CREATE INDEX posts_author_idx ON posts (author_id, created_at);
CREATE INDEX posts_community_idx ON posts (community_id, created_at);
CREATE INDEX posts_created_idx ON posts (created_at);

CREATE TABLE post_images (
    post_id  uuid NOT NULL REFERENCES posts (id),
    position bigint NOT NULL CHECK (position BETWEEN 0 AND 8),
    media_id text NOT NULL REFERENCES media (id),
    PRIMARY KEY (post_id, position)
);

CREATE TABLE post_tags (
    post_id     uuid NOT NULL REFERENCES posts (id),
    sku_id      uuid NOT NULL REFERENCES skus (id),
    merchant_id uuid NOT NULL REFERENCES merchants (id),
    PRIMARY KEY (post_id, sku_id)
);
CREATE INDEX post_tags_sku_idx ON post_tags (sku_id);

CREATE TABLE post_likes (
    post_id    uuid NOT NULL REFERENCES posts (id),
    account_id uuid NOT NULL REFERENCES accounts (id),
    created_at timestamptz NOT NULL,
    PRIMARY KEY (post_id, account_id)
);
CREATE INDEX post_likes_account_idx ON post_likes (account_id, created_at);

CREATE TABLE comments (
    id         uuid PRIMARY KEY,
    post_id    uuid NOT NULL REFERENCES posts (id),
    author_id  uuid NOT NULL REFERENCES accounts (id),
    parent_id  uuid REFERENCES comments (id),
    body       text NOT NULL,
    created_at timestamptz NOT NULL,
    deleted_at timestamptz,
    hidden_at  timestamptz
);
CREATE INDEX comments_post_idx ON comments (post_id, created_at);

CREATE TABLE post_shares (
    id         uuid PRIMARY KEY,
    post_id    uuid NOT NULL REFERENCES posts (id),
    account_id uuid NOT NULL REFERENCES accounts (id),
    channel    text NOT NULL,
    created_at timestamptz NOT NULL
);
CREATE INDEX post_shares_post_idx ON post_shares (post_id, created_at);

CREATE TABLE reports (
    id          uuid PRIMARY KEY,
    target_kind text NOT NULL CHECK (target_kind IN ('post', 'comment')),
    target_id   uuid NOT NULL,
    reporter_id uuid NOT NULL REFERENCES accounts (id),
    reason      text NOT NULL,
    created_at  timestamptz NOT NULL,
    resolved_at timestamptz,
    resolved_by uuid REFERENCES accounts (id),
    resolution  text,
    CONSTRAINT reports_target_kind_target_id_reporter_id_key UNIQUE (target_kind, target_id, reporter_id)
);

-- One review per completed order line.
CREATE TABLE reviews (
    id          uuid PRIMARY KEY,
    order_id    uuid NOT NULL REFERENCES orders (id),
    line_no     bigint NOT NULL,
    sku_id      uuid NOT NULL REFERENCES skus (id),
    product_id  uuid NOT NULL REFERENCES products (id),
    merchant_id uuid NOT NULL REFERENCES merchants (id),
    author_id   uuid NOT NULL REFERENCES accounts (id),
    rating      bigint NOT NULL CHECK (rating BETWEEN 1 AND 5),
    body        text NOT NULL DEFAULT '',
    images      jsonb NOT NULL,
    created_at  timestamptz NOT NULL,
    reply_body  text,
    replied_at  timestamptz,
    replied_by  uuid REFERENCES accounts (id),
    hidden_at   timestamptz,
    CONSTRAINT reviews_order_id_line_no_key UNIQUE (order_id, line_no)
);
CREATE INDEX reviews_product_idx ON reviews (product_id, created_at);
CREATE INDEX reviews_author_idx ON reviews (author_id);
