//! Posts (种草 notes) and what people do with them: likes, comments with one level of
//! replies, shares, reports, and hiding by moderators. The lists (an author's posts, a
//! community's posts, the feed) are in [`crate::discovery::feed`].
//!
//! Privacy: every query here that returns or counts posts, comments or likes applies
//! [`post_visible`] inside its SQL, so nothing the viewer may not see is ever loaded. A
//! post the viewer may not see is "not found" (404), never "forbidden": its existence does
//! not leak. Comments and likes by members blocked with the viewer are left out of what the
//! viewer reads.
//!
//! Counters (`like_count`, `comment_count`, `share_count`) change in the same transaction
//! as the rows they count, by one UPDATE each, so they cannot drift from them.

use std::collections::{HashMap, HashSet};

use kith_domain::{BoundedText, Fen, MerchantStatus};
use kith_store::{Conn, Value, args, placeholders};
use serde::{Deserialize, Serialize};

use super::store::{
    COMMENT_COLS, CommentCols, ReportCols, comment_from_row, comment_readable, report_from_row,
    report_select,
};
pub(crate) use super::store::{load_post, newest_first, query_posts};
use crate::platform::auth::{StaffNeed, require_trading_staff};
use crate::platform::ids::{
    AccountId, CommentId, CommunityId, MerchantId, PostId, SkuId, new_id, parse_id,
};
use crate::platform::page::{Direction, Page, PageRequest};
use crate::social::relationships::no_block;
use crate::social::visibility::{can_see_post, post_visible, viewer_id};
use crate::{App, AppError, AppResult, Principal, platform::outbox, rfc3339};

/// Longest post body, in characters.
pub const MAX_BODY_CHARS: usize = 2000;
/// Most images one post shows (a 3×3 grid).
pub const MAX_POST_IMAGES: usize = 9;
/// Most SKUs one post tags.
pub const MAX_TAGS: usize = 10;
/// Longest comment, in characters.
pub const MAX_COMMENT_CHARS: usize = 500;
/// Longest report or moderation reason, in characters.
pub const MAX_REASON_CHARS: usize = 200;
/// Most replies shown under one top-level comment in a comments page (`reply_count` says
/// how many there are).
pub const MAX_REPLIES_SHOWN: i64 = 50;

/// Who may see a post.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum Visibility {
    /// Everyone, signed in or not.
    Public,
    /// The author's followers.
    Followers,
    /// Mutual follows (好友).
    Friends,
    /// Active members of the post's community.
    Community,
}

impl Visibility {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Public => "public",
            Self::Followers => "followers",
            Self::Friends => "friends",
            Self::Community => "community",
        }
    }

    pub fn from_db(s: &str) -> AppResult<Self> {
        match s {
            "public" => Ok(Self::Public),
            "followers" => Ok(Self::Followers),
            "friends" => Ok(Self::Friends),
            "community" => Ok(Self::Community),
            other => Err(AppError::Internal(format!(
                "unknown post visibility {other:?} in storage"
            ))),
        }
    }
}

/// Where a post was shared to.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum ShareChannel {
    /// A WeChat chat (微信).
    Wechat,
    /// WeChat Moments (朋友圈).
    Moments,
    /// A copied link.
    Link,
    /// Into a community.
    Community,
}

impl ShareChannel {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Wechat => "wechat",
            Self::Moments => "moments",
            Self::Link => "link",
            Self::Community => "community",
        }
    }
}

/// What a report is about.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum ReportTarget {
    Post,
    Comment,
}

impl ReportTarget {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Post => "post",
            Self::Comment => "comment",
        }
    }
}

/// A member as shown beside their content.
#[derive(Debug, Clone, Serialize, utoipa::ToSchema, PartialEq, Eq)]
pub struct PersonRef {
    pub id: AccountId,
    pub display_name: String,
}

#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct PostImage {
    /// The media id (SHA-256 of the bytes).
    pub id: String,
    pub url: String,
    pub thumb_url: String,
}

/// A product tagged in a post.
#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct PostTag {
    pub sku_id: SkuId,
    pub merchant_id: MerchantId,
    pub product_name: String,
    /// The SKU's list price.
    #[schema(value_type = i64)]
    pub price_fen: Fen,
}

#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct Post {
    pub id: PostId,
    pub author: PersonRef,
    pub body: String,
    pub visibility: Visibility,
    /// Set exactly when `visibility` is `community`.
    pub community_id: Option<CommunityId>,
    /// In the author's order.
    pub images: Vec<PostImage>,
    /// In SKU id order.
    pub tags: Vec<PostTag>,
    pub like_count: i64,
    pub comment_count: i64,
    pub share_count: i64,
    /// Whether the reader has liked it (false for anonymous readers).
    pub liked_by_me: bool,
    /// Hidden by a moderator: only its author still sees it, and sees this flag.
    pub hidden: bool,
    pub created_at: String,
    pub updated_at: String,
    /// Whether the author changed it after posting.
    pub edited: bool,
}

/// A new post.
#[derive(Debug, Clone)]
pub struct NewPost {
    pub body: String,
    pub visibility: Visibility,
    pub community_id: Option<String>,
    /// Media ids the author uploaded.
    pub images: Vec<String>,
    /// SKU ids of products on sale.
    pub tags: Vec<String>,
}

/// Changes to a post: only the fields given change; `images` and `tags` replace the lists.
#[derive(Debug, Clone, Default)]
pub struct PostPatch {
    pub body: Option<String>,
    pub visibility: Option<Visibility>,
    pub community_id: Option<String>,
    pub images: Option<Vec<String>>,
    pub tags: Option<Vec<String>>,
}

/// One account that liked a post.
#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct Like {
    pub account: PersonRef,
    pub created_at: String,
}

#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct Comment {
    pub id: CommentId,
    pub post_id: PostId,
    pub author: PersonRef,
    /// The top-level comment this replies to; replies go one level deep.
    pub parent_id: Option<CommentId>,
    pub body: String,
    pub created_at: String,
    /// Replies the reader may see (top-level comments in a list only), oldest first, at
    /// most 50.
    #[schema(no_recursion)]
    pub replies: Vec<Comment>,
    /// How many replies the reader may see in all.
    pub reply_count: i64,
}

#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct Share {
    pub id: String,
    pub post_id: PostId,
    pub channel: ShareChannel,
    pub created_at: String,
}

#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct Report {
    pub id: String,
    pub target_kind: ReportTarget,
    pub target_id: String,
    /// The post reported, or the post of the comment reported.
    pub post_id: Option<PostId>,
    pub reporter: PersonRef,
    pub reason: String,
    pub created_at: String,
    pub resolved_at: Option<String>,
    pub resolution: Option<String>,
}

/// A post's moderation state.
#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct Moderation {
    pub post_id: PostId,
    pub hidden: bool,
    pub hidden_at: Option<String>,
    pub hidden_by: Option<AccountId>,
}

// ---------------------------------------------------------------------------------------
// Parsing input

fn parse_body(body: &str) -> AppResult<String> {
    Ok(BoundedText::parse_multiline("body", body, 1, MAX_BODY_CHARS)?.into_string())
}

fn parse_reason(reason: &str) -> AppResult<String> {
    Ok(BoundedText::parse("reason", reason, 1, MAX_REASON_CHARS)?.into_string())
}

fn parse_community_id(raw: &str) -> AppResult<String> {
    parse_id(raw).ok_or_else(|| AppError::invalid("community_id", "is not a community id"))
}

/// Media ids: at most 9, each the 64 hex digits of an upload's SHA-256, none twice.
fn parse_media_ids(ids: Vec<String>) -> AppResult<Vec<String>> {
    if ids.len() > MAX_POST_IMAGES {
        return Err(AppError::invalid(
            "images",
            format!("at most {MAX_POST_IMAGES} images"),
        ));
    }
    let mut seen = HashSet::new();
    ids.into_iter()
        .enumerate()
        .map(|(i, id)| {
            let id = id.trim().to_ascii_lowercase();
            if id.len() != 64 || !id.bytes().all(|b| b.is_ascii_hexdigit()) {
                return Err(AppError::invalid(
                    format!("images[{i}]"),
                    "is not a media id (upload the image first)",
                ));
            }
            if !seen.insert(id.clone()) {
                return Err(AppError::invalid(format!("images[{i}]"), "is given twice"));
            }
            Ok(id)
        })
        .collect()
}

/// SKU ids: at most 10, none twice.
fn parse_tag_ids(ids: Vec<String>) -> AppResult<Vec<String>> {
    if ids.len() > MAX_TAGS {
        return Err(AppError::invalid(
            "tags",
            format!("at most {MAX_TAGS} tagged products"),
        ));
    }
    let mut seen = HashSet::new();
    ids.into_iter()
        .enumerate()
        .map(|(i, raw)| {
            let id = parse_id(&raw)
                .ok_or_else(|| AppError::invalid(format!("tags[{i}]"), "is not a SKU id"))?;
            if !seen.insert(id.clone()) {
                return Err(AppError::invalid(format!("tags[{i}]"), "is given twice"));
            }
            Ok(id)
        })
        .collect()
}

// ---------------------------------------------------------------------------------------
// Checks inside the transaction

/// The author must be an active member of the community they post into.
fn check_community(c: &mut dyn Conn, author: &str, community_id: &str) -> AppResult<()> {
    let member = c
        .query_opt(
            "SELECT 1 FROM community_members WHERE community_id = $1 AND account_id = $2 AND state = 'active'",
            args![community_id, author],
        )?
        .is_some();
    if member {
        Ok(())
    } else {
        Err(AppError::invalid(
            "community_id",
            "you are not an active member of this community",
        ))
    }
}

/// Each image must be an upload of the author's.
fn check_images(c: &mut dyn Conn, author: &str, ids: &[String]) -> AppResult<()> {
    for (i, id) in ids.iter().enumerate() {
        if !super::media::uploaded_by(c, id, author)? {
            return Err(AppError::invalid(
                format!("images[{i}]"),
                "names no image you uploaded",
            ));
        }
    }
    Ok(())
}

/// Each tag must be a SKU of an active product of a trading merchant; returns each SKU's
/// merchant.
fn check_tags(c: &mut dyn Conn, ids: &[String]) -> AppResult<Vec<(String, String)>> {
    let mut out = Vec::with_capacity(ids.len());
    for (i, id) in ids.iter().enumerate() {
        let row = c.query_opt(
            "SELECT s.merchant_id, pr.status, m.status FROM skus s
             JOIN products pr ON pr.id = s.product_id JOIN merchants m ON m.id = s.merchant_id
             WHERE s.id = $1",
            args![id],
        )?;
        let on_sale = match &row {
            Some(r) => {
                r.text(1)? == "active"
                    && MerchantStatus::from_db(&r.text(2)?)
                        .is_some_and(|s| s.ensure_trading().is_ok())
            }
            None => false,
        };
        match row {
            Some(r) if on_sale => out.push((id.clone(), r.text(0)?)),
            _ => {
                return Err(AppError::invalid(
                    format!("tags[{i}]"),
                    "names no SKU of a product on sale",
                ));
            }
        }
    }
    Ok(out)
}

fn write_images(c: &mut dyn Conn, post_id: &str, ids: &[String]) -> AppResult<()> {
    c.execute("DELETE FROM post_images WHERE post_id = $1", args![post_id])?;
    for (pos, id) in ids.iter().enumerate() {
        c.execute(
            "INSERT INTO post_images (post_id, position, media_id) VALUES ($1, $2, $3)",
            args![post_id, pos as i64, id],
        )?;
    }
    Ok(())
}

fn write_tags(c: &mut dyn Conn, post_id: &str, tags: &[(String, String)]) -> AppResult<()> {
    c.execute("DELETE FROM post_tags WHERE post_id = $1", args![post_id])?;
    for (sku, merchant) in tags {
        c.execute(
            "INSERT INTO post_tags (post_id, sku_id, merchant_id) VALUES ($1, $2, $3)",
            args![post_id, sku, merchant],
        )?;
    }
    Ok(())
}

/// The author of a live post may change it; anyone else gets 403 if they can see the post
/// and 404 if they cannot. Returns (visibility, community id, created_at ms).
fn require_author(
    c: &mut dyn Conn,
    who: &Principal,
    post_id: &str,
) -> AppResult<(Visibility, Option<String>, i64)> {
    let r = c
        .query_opt(
            "SELECT author_id, visibility, community_id, created_at FROM posts WHERE id = $1 AND deleted_at IS NULL",
            args![post_id],
        )?
        .ok_or(AppError::NotFound("post"))?;
    if r.text(0)? != who.account_id {
        return Err(if can_see_post(c, Some(&who.account_id), post_id)? {
            AppError::Forbidden("only its author may change a post".into())
        } else {
            AppError::NotFound("post")
        });
    }
    Ok((Visibility::from_db(&r.text(1)?)?, r.opt_text(2)?, r.int(3)?))
}

/// Whether `who` may hide and restore this post: a platform admin any post; for a
/// community post also an active owner or admin of the community, or trading staff of the
/// community's merchant.
fn may_moderate(
    c: &mut dyn Conn,
    who: &Principal,
    community_id: Option<&str>,
    merchant_id: Option<&str>,
) -> AppResult<bool> {
    if who.is_platform_admin {
        return Ok(true);
    }
    let Some(cid) = community_id else {
        return Ok(false);
    };
    let admin = c
        .query_opt(
            "SELECT 1 FROM community_members WHERE community_id = $1 AND account_id = $2
             AND state = 'active' AND role IN ('owner', 'admin')",
            args![cid, &who.account_id],
        )?
        .is_some();
    if admin {
        return Ok(true);
    }
    Ok(match merchant_id {
        Some(mid) => require_trading_staff(c, who, mid, StaffNeed::AnyStaff).is_ok(),
        None => false,
    })
}

/// Checks that `who` may moderate the post and tells whether a platform admin hid it. 404
/// for a missing or deleted post; for someone who may not moderate it, 403 if they can
/// see the post and 404 if they cannot (as [`require_author`]).
fn require_moderator(c: &mut dyn Conn, who: &Principal, post_id: &str) -> AppResult<bool> {
    let r = c
        .query_opt(
            "SELECT p.community_id, cm.merchant_id, ha.is_platform_admin FROM posts p
             LEFT JOIN communities cm ON cm.id = p.community_id
             LEFT JOIN accounts ha ON ha.id = p.hidden_by
             WHERE p.id = $1 AND p.deleted_at IS NULL",
            args![post_id],
        )?
        .ok_or(AppError::NotFound("post"))?;
    let (cid, mid) = (r.opt_text(0)?, r.opt_text(1)?);
    if !may_moderate(c, who, cid.as_deref(), mid.as_deref())? {
        return Err(if can_see_post(c, Some(&who.account_id), post_id)? {
            AppError::Forbidden(
                "only its community's admins, its merchant's staff and platform admins may hide or restore this post".into(),
            )
        } else {
            AppError::NotFound("post")
        });
    }
    Ok(r.opt_int(2)?.unwrap_or(0) != 0)
}

fn moderation(c: &mut dyn Conn, post_id: &str) -> AppResult<Moderation> {
    let r = c.query_one(
        "SELECT hidden_at, hidden_by FROM posts WHERE id = $1",
        args![post_id],
    )?;
    let at = r.opt_int(0)?;
    Ok(Moderation {
        post_id: PostId::from_row(post_id.to_owned()),
        hidden: at.is_some(),
        hidden_at: at.map(rfc3339),
        hidden_by: r.opt_text(1)?.map(AccountId::from_row),
    })
}

// ---------------------------------------------------------------------------------------
// Use cases

impl App {
    /// A new post by `who`.
    pub async fn create_post(&self, who: &Principal, input: NewPost) -> AppResult<Post> {
        let body = parse_body(&input.body)?;
        let visibility = input.visibility;
        let community = match (visibility, input.community_id.as_deref()) {
            (Visibility::Community, Some(raw)) => Some(parse_community_id(raw)?),
            (Visibility::Community, None) => {
                return Err(AppError::invalid(
                    "community_id",
                    "is required when visibility is community",
                ));
            }
            (_, Some(_)) => {
                return Err(AppError::invalid(
                    "community_id",
                    "is only for posts with visibility community",
                ));
            }
            (_, None) => None,
        };
        let images = parse_media_ids(input.images)?;
        let tags = parse_tag_ids(input.tags)?;
        let now = self.now_ms();
        let me = who.account_id.clone();
        self.db
            .write(move |c| {
                if let Some(cid) = &community {
                    check_community(c, &me, cid)?;
                }
                check_images(c, &me, &images)?;
                let tags = check_tags(c, &tags)?;
                let id = new_id();
                c.execute(
                    "INSERT INTO posts (id, author_id, body, visibility, community_id, created_at, updated_at)
                     VALUES ($1, $2, $3, $4, $5, $6, $6)",
                    args![&id, &me, &body, visibility.as_str(), community.as_deref(), now],
                )?;
                write_images(c, &id, &images)?;
                write_tags(c, &id, &tags)?;
                outbox::emit(
                    c,
                    now,
                    "post.created",
                    None,
                    &id,
                    &serde_json::json!({
                        "post_id": id, "author_id": me, "visibility": visibility.as_str(),
                        "community_id": community, "sku_ids": tags.iter().map(|(s, _)| s).collect::<Vec<_>>(),
                    }),
                )?;
                load_post(c, &me, &id)
            })
            .await
    }

    /// A post, if the reader may see it; 404 otherwise (also when it does not exist).
    pub async fn get_post(&self, who: Option<&Principal>, post_id: &PostId) -> AppResult<Post> {
        let viewer = viewer_id(who.map(|p| p.account_id.as_str())).to_owned();
        let pid = post_id.to_owned();
        self.db.read(move |c| load_post(c, &viewer, &pid)).await
    }

    /// The author changes their post: only the fields given change.
    pub async fn update_post(
        &self,
        who: &Principal,
        post_id: &PostId,
        patch: PostPatch,
    ) -> AppResult<Post> {
        let body = patch.body.as_deref().map(parse_body).transpose()?;
        let community = patch
            .community_id
            .as_deref()
            .map(parse_community_id)
            .transpose()?;
        let images = patch.images.map(parse_media_ids).transpose()?;
        let tags = patch.tags.map(parse_tag_ids).transpose()?;
        let visibility = patch.visibility;
        let now = self.now_ms();
        let (who, pid) = (who.clone(), post_id.to_owned());
        self.db
            .write(move |c| {
                let me = who.account_id.as_str();
                let (cur_vis, cur_cid, created) = require_author(c, &who, &pid)?;
                if body.is_none()
                    && visibility.is_none()
                    && community.is_none()
                    && images.is_none()
                    && tags.is_none()
                {
                    return load_post(c, me, &pid);
                }
                let vis = visibility.unwrap_or(cur_vis);
                let cid = if vis == Visibility::Community {
                    let cid = community.clone().or(cur_cid.clone()).ok_or_else(|| {
                        AppError::invalid("community_id", "is required when visibility is community")
                    })?;
                    // Moving into a community (or to another one) needs membership now.
                    if cur_cid.as_deref() != Some(cid.as_str()) {
                        check_community(c, me, &cid)?;
                    }
                    Some(cid)
                } else {
                    if community.is_some() {
                        return Err(AppError::invalid(
                            "community_id",
                            "is only for posts with visibility community",
                        ));
                    }
                    None
                };
                if let Some(images) = &images {
                    check_images(c, me, images)?;
                }
                let tags = tags.as_deref().map(|t| check_tags(c, t)).transpose()?;
                let cur_body: String = c
                    .query_one("SELECT body FROM posts WHERE id = $1", args![&pid])?
                    .text(0)?;
                // Strictly after creation, so `edited` holds even within the same millisecond.
                let updated = now.max(created + 1);
                c.execute(
                    "UPDATE posts SET body = $1, visibility = $2, community_id = $3, updated_at = $4
                     WHERE id = $5 AND deleted_at IS NULL",
                    args![
                        body.as_deref().unwrap_or(&cur_body),
                        vis.as_str(),
                        cid.as_deref(),
                        updated,
                        &pid
                    ],
                )?;
                if let Some(images) = &images {
                    write_images(c, &pid, images)?;
                }
                if let Some(tags) = &tags {
                    write_tags(c, &pid, tags)?;
                }
                outbox::emit(
                    c,
                    now,
                    "post.updated",
                    None,
                    &pid,
                    &serde_json::json!({ "post_id": pid, "author_id": me, "visibility": vis.as_str(), "community_id": cid }),
                )?;
                load_post(c, me, &pid)
            })
            .await
    }

    /// The author deletes their post (soft: it vanishes everywhere, the row stays).
    pub async fn delete_post(&self, who: &Principal, post_id: &PostId) -> AppResult<()> {
        let now = self.now_ms();
        let (who, pid) = (who.clone(), post_id.to_owned());
        self.db
            .write(move |c| {
                require_author(c, &who, &pid)?;
                let n = c.execute(
                    "UPDATE posts SET deleted_at = $1 WHERE id = $2 AND deleted_at IS NULL",
                    args![now, &pid],
                )?;
                if n == 1 {
                    outbox::emit(
                        c,
                        now,
                        "post.deleted",
                        None,
                        &pid,
                        &serde_json::json!({ "post_id": pid, "author_id": who.account_id }),
                    )?;
                }
                Ok(())
            })
            .await
    }

    /// Likes a post the caller may see (again: no change). Returns the post.
    pub async fn like_post(&self, who: &Principal, post_id: &PostId) -> AppResult<Post> {
        let now = self.now_ms();
        let (me, pid) = (who.account_id.clone(), post_id.to_owned());
        self.db
            .write(move |c| {
                if !can_see_post(c, Some(&me), &pid)? {
                    return Err(AppError::NotFound("post"));
                }
                let n = c.execute(
                    "INSERT INTO post_likes (post_id, account_id, created_at) VALUES ($1, $2, $3)
                     ON CONFLICT (post_id, account_id) DO NOTHING",
                    args![&pid, &me, now],
                )?;
                if n == 1 {
                    c.execute(
                        "UPDATE posts SET like_count = like_count + 1 WHERE id = $1",
                        args![&pid],
                    )?;
                    outbox::emit(
                        c,
                        now,
                        "post.liked",
                        None,
                        &pid,
                        &serde_json::json!({ "post_id": pid, "account_id": me }),
                    )?;
                }
                load_post(c, &me, &pid)
            })
            .await
    }

    /// Takes a like back (none: no change). Returns the post.
    pub async fn unlike_post(&self, who: &Principal, post_id: &PostId) -> AppResult<Post> {
        let now = self.now_ms();
        let (me, pid) = (who.account_id.clone(), post_id.to_owned());
        self.db
            .write(move |c| {
                if !can_see_post(c, Some(&me), &pid)? {
                    return Err(AppError::NotFound("post"));
                }
                let n = c.execute(
                    "DELETE FROM post_likes WHERE post_id = $1 AND account_id = $2",
                    args![&pid, &me],
                )?;
                if n == 1 {
                    c.execute(
                        "UPDATE posts SET like_count = like_count - 1 WHERE id = $1 AND like_count > 0",
                        args![&pid],
                    )?;
                    outbox::emit(
                        c,
                        now,
                        "post.unliked",
                        None,
                        &pid,
                        &serde_json::json!({ "post_id": pid, "account_id": me }),
                    )?;
                }
                load_post(c, &me, &pid)
            })
            .await
    }

    /// Who liked a post the reader may see, newest first; likers blocked with the reader
    /// are left out.
    pub async fn list_likes(
        &self,
        who: Option<&Principal>,
        post_id: &PostId,
        page: PageRequest,
    ) -> AppResult<Page<Like>> {
        let viewer = viewer_id(who.map(|p| p.account_id.as_str())).to_owned();
        let pid = post_id.to_owned();
        self.db
            .read(move |c| {
                if !can_see_post(c, Some(&viewer), &pid)? {
                    return Err(AppError::NotFound("post"));
                }
                let after = page.keyset(Direction::NewestFirst, "l.created_at", "l.account_id", 3);
                let mut params = args![&viewer, &pid].to_vec();
                params.extend(after.args);
                let rows = c
                    .query(
                        &format!(
                            "SELECT l.account_id, a.display_name, l.created_at FROM post_likes l
                             JOIN posts p ON p.id = l.post_id JOIN accounts a ON a.id = l.account_id
                             WHERE l.post_id = $2 AND {} AND {} AND {}
                             ORDER BY l.created_at DESC, l.account_id DESC LIMIT {}",
                            post_visible("$1"),
                            no_block("$1", "l.account_id"),
                            after.sql,
                            page.fetch()
                        ),
                        &params,
                    )?
                    .iter()
                    .map(|r| {
                        let at = r.int(2)?;
                        Ok((
                            at,
                            Like {
                                account: PersonRef {
                                    id: AccountId::from_row(r.text(0)?),
                                    display_name: r.text(1)?,
                                },
                                created_at: rfc3339(at),
                            },
                        ))
                    })
                    .collect::<AppResult<Vec<_>>>()?;
                Ok(Page::from_keyed(rows, page.limit, |l| &l.account.id))
            })
            .await
    }

    /// A comment on a post the caller may see, or a reply to one of its top-level comments.
    pub async fn add_comment(
        &self,
        who: &Principal,
        post_id: &PostId,
        body: &str,
        parent_id: Option<&str>,
    ) -> AppResult<Comment> {
        let body = BoundedText::parse_multiline("body", body, 1, MAX_COMMENT_CHARS)?.into_string();
        let parent = parent_id
            .map(|raw| {
                parse_id(raw).ok_or_else(|| AppError::invalid("parent_id", "is not a comment id"))
            })
            .transpose()?;
        let now = self.now_ms();
        let (me, pid) = (who.account_id.clone(), post_id.to_owned());
        self.db
            .write(move |c| {
                if !can_see_post(c, Some(&me), &pid)? {
                    return Err(AppError::NotFound("post"));
                }
                // Who is answered, for the event: the post's author and, for a reply, the
                // comment's (the notification centre tells them).
                let post_author = c.query_one("SELECT author_id FROM posts WHERE id = $1", args![&pid])?.text(0)?;
                let mut parent_author: Option<String> = None;
                if let Some(parent) = &parent {
                    let r = c
                        .query_opt(
                            &format!(
                                "SELECT cm.parent_id, cm.author_id FROM comments cm JOIN posts p ON p.id = cm.post_id
                                 WHERE cm.id = $2 AND cm.post_id = $3 AND {}",
                                comment_readable()
                            ),
                            args![&me, parent, &pid],
                        )?
                        .ok_or_else(|| {
                            AppError::invalid("parent_id", "names no comment of this post")
                        })?;
                    if r.opt_text(0)?.is_some() {
                        return Err(AppError::invalid(
                            "parent_id",
                            "replies go one level deep: reply to the top-level comment",
                        ));
                    }
                    parent_author = Some(r.text(1)?);
                }
                let id = new_id();
                c.execute(
                    "INSERT INTO comments (id, post_id, author_id, parent_id, body, created_at)
                     VALUES ($1, $2, $3, $4, $5, $6)",
                    args![&id, &pid, &me, parent.as_deref(), &body, now],
                )?;
                c.execute(
                    "UPDATE posts SET comment_count = comment_count + 1 WHERE id = $1",
                    args![&pid],
                )?;
                outbox::emit(
                    c,
                    now,
                    "comment.created",
                    None,
                    &id,
                    &serde_json::json!({
                        "comment_id": id, "post_id": pid, "author_id": me, "parent_id": parent,
                        "post_author_id": post_author, "parent_author_id": parent_author,
                    }),
                )?;
                let r = c.query_one(
                    &format!(
                        "SELECT {COMMENT_COLS} FROM comments cm JOIN accounts a ON a.id = cm.author_id WHERE cm.id = $1"
                    ),
                    args![&id],
                )?;
                Ok(comment_from_row(&r)?.1)
            })
            .await
    }

    /// The comments of a post the reader may see: top-level comments oldest first, each
    /// with its replies. Comments by members blocked with the reader are left out (and so
    /// are the replies under them).
    pub async fn list_comments(
        &self,
        who: Option<&Principal>,
        post_id: &PostId,
        page: PageRequest,
    ) -> AppResult<Page<Comment>> {
        let viewer = viewer_id(who.map(|p| p.account_id.as_str())).to_owned();
        let pid = post_id.to_owned();
        self.db
            .read(move |c| {
                if !can_see_post(c, Some(&viewer), &pid)? {
                    return Err(AppError::NotFound("post"));
                }
                let after = page.keyset(Direction::OldestFirst, "cm.created_at", "cm.id", 3);
                let mut params = args![&viewer, &pid].to_vec();
                params.extend(after.args);
                let rows = c
                    .query(
                        &format!(
                            "SELECT {COMMENT_COLS} FROM comments cm JOIN posts p ON p.id = cm.post_id
                             JOIN accounts a ON a.id = cm.author_id
                             WHERE cm.post_id = $2 AND cm.parent_id IS NULL AND {}
                               AND {}
                             ORDER BY cm.created_at, cm.id LIMIT {}",
                            comment_readable(),
                            after.sql,
                            page.fetch()
                        ),
                        &params,
                    )?
                    .iter()
                    .map(comment_from_row)
                    .collect::<AppResult<Vec<_>>>()?;
                let Page {
                    mut items,
                    next_cursor,
                } = Page::from_keyed(rows, page.limit, |cm| &cm.id);
                if !items.is_empty() {
                    let mut params = vec![Value::from(&viewer)];
                    params.extend(items.iter().map(|cm| Value::from(&cm.id)));
                    let replies = c.query(
                        &format!(
                            "SELECT * FROM (
                               SELECT {COMMENT_COLS},
                                      ROW_NUMBER() OVER (PARTITION BY cm.parent_id ORDER BY cm.created_at, cm.id) AS rn,
                                      COUNT(*) OVER (PARTITION BY cm.parent_id) AS total
                               FROM comments cm JOIN posts p ON p.id = cm.post_id
                               JOIN accounts a ON a.id = cm.author_id
                               WHERE cm.parent_id IN ({}) AND {}
                             ) r WHERE r.rn <= {MAX_REPLIES_SHOWN} ORDER BY r.created_at, r.id",
                            placeholders(2, items.len()),
                            comment_readable()
                        ),
                        &params,
                    )?;
                    // Each reply row is the comment's columns, then `rn` and `total`.
                    const TOTAL: usize = CommentCols::created_at + 2;
                    let mut by_parent: HashMap<CommentId, (i64, Vec<Comment>)> = HashMap::new();
                    for r in &replies {
                        let (_, reply) = comment_from_row(r)?;
                        let Some(parent) = reply.parent_id.clone() else {
                            continue;
                        };
                        let entry = by_parent.entry(parent).or_default();
                        entry.0 = r.int(TOTAL)?;
                        entry.1.push(reply);
                    }
                    for cm in &mut items {
                        if let Some((total, replies)) = by_parent.remove(&cm.id) {
                            cm.reply_count = total;
                            cm.replies = replies;
                        }
                    }
                }
                Ok(Page { items, next_cursor })
            })
            .await
    }

    /// Deletes a comment (soft), with the replies under it: by its author or the post's.
    pub async fn delete_comment(&self, who: &Principal, comment_id: &CommentId) -> AppResult<()> {
        let now = self.now_ms();
        let (me, cid) = (who.account_id.clone(), comment_id.to_owned());
        self.db
            .write(move |c| {
                let r = c
                    .query_opt(
                        "SELECT cm.author_id, cm.post_id, p.author_id FROM comments cm
                         JOIN posts p ON p.id = cm.post_id WHERE cm.id = $1 AND cm.deleted_at IS NULL",
                        args![&cid],
                    )?
                    .ok_or(AppError::NotFound("comment"))?;
                let pid = r.text(1)?;
                if r.text(0)? != me && r.text(2)? != me {
                    let readable = c
                        .query_opt(
                            &format!(
                                "SELECT 1 FROM comments cm JOIN posts p ON p.id = cm.post_id WHERE cm.id = $2 AND {}",
                                comment_readable()
                            ),
                            args![&me, &cid],
                        )?
                        .is_some();
                    return Err(if readable {
                        AppError::Forbidden(
                            "only its author or the post's author may delete a comment".into(),
                        )
                    } else {
                        AppError::NotFound("comment")
                    });
                }
                let n = c.execute(
                    "UPDATE comments SET deleted_at = $1 WHERE (id = $2 OR parent_id = $2) AND deleted_at IS NULL",
                    args![now, &cid],
                )? as i64;
                c.execute(
                    "UPDATE posts SET comment_count = comment_count - $1 WHERE id = $2 AND comment_count >= $1",
                    args![n, &pid],
                )?;
                outbox::emit(
                    c,
                    now,
                    "comment.deleted",
                    None,
                    &cid,
                    &serde_json::json!({ "comment_id": cid, "post_id": pid, "deleted_by": me, "comments_removed": n }),
                )?;
                Ok(())
            })
            .await
    }

    /// Records that the caller shared a post they may see (share links come later).
    pub async fn share_post(
        &self,
        who: &Principal,
        post_id: &PostId,
        channel: ShareChannel,
    ) -> AppResult<Share> {
        let now = self.now_ms();
        let (me, pid) = (who.account_id.clone(), post_id.to_owned());
        self.db
            .write(move |c| {
                if !can_see_post(c, Some(&me), &pid)? {
                    return Err(AppError::NotFound("post"));
                }
                let id = new_id();
                c.execute(
                    "INSERT INTO post_shares (id, post_id, account_id, channel, created_at) VALUES ($1, $2, $3, $4, $5)",
                    args![&id, &pid, &me, channel.as_str(), now],
                )?;
                c.execute(
                    "UPDATE posts SET share_count = share_count + 1 WHERE id = $1",
                    args![&pid],
                )?;
                outbox::emit(
                    c,
                    now,
                    "post.shared",
                    None,
                    &pid,
                    &serde_json::json!({ "share_id": id, "post_id": pid, "account_id": me, "channel": channel.as_str() }),
                )?;
                Ok(Share {
                    id: id.clone(),
                    post_id: pid.clone(),
                    channel,
                    created_at: rfc3339(now),
                })
            })
            .await
    }

    /// Reports a post or comment the caller may see; once per reporter and target.
    pub async fn create_report(
        &self,
        who: &Principal,
        target_kind: ReportTarget,
        target_id: &str,
        reason: &str,
    ) -> AppResult<Report> {
        let target = parse_id(target_id).ok_or_else(|| {
            AppError::invalid(
                "target_id",
                format!("names no {} you can see", target_kind.as_str()),
            )
        })?;
        let reason = parse_reason(reason)?;
        let now = self.now_ms();
        let me = who.account_id.clone();
        self.db
            .write(move |c| {
                let post_id = match target_kind {
                    ReportTarget::Post => can_see_post(c, Some(&me), &target)?.then(|| target.clone()),
                    ReportTarget::Comment => c
                        .query_opt(
                            &format!(
                                "SELECT cm.post_id FROM comments cm JOIN posts p ON p.id = cm.post_id WHERE cm.id = $2 AND {}",
                                comment_readable()
                            ),
                            args![&me, &target],
                        )?
                        .map(|r| r.text(0))
                        .transpose()?,
                };
                let Some(post_id) = post_id else {
                    return Err(AppError::invalid(
                        "target_id",
                        format!("names no {} you can see", target_kind.as_str()),
                    ));
                };
                let id = new_id();
                let n = c.execute(
                    "INSERT INTO reports (id, target_kind, target_id, reporter_id, reason, created_at)
                     VALUES ($1, $2, $3, $4, $5, $6)
                     ON CONFLICT (target_kind, target_id, reporter_id) DO NOTHING",
                    args![&id, target_kind.as_str(), &target, &me, &reason, now],
                )?;
                if n == 0 {
                    return Err(AppError::conflict("target_id", "you have already reported this"));
                }
                outbox::emit(
                    c,
                    now,
                    "report.created",
                    None,
                    &id,
                    &serde_json::json!({ "report_id": id, "target_kind": target_kind.as_str(), "target_id": target, "post_id": post_id }),
                )?;
                let r = c.query_one(&format!("{} WHERE r.id = $1", report_select()), args![&id])?;
                report_from_row(&r)
            })
            .await
    }

    /// Platform admins: reports, oldest first.
    pub async fn list_reports(
        &self,
        who: &Principal,
        page: PageRequest,
    ) -> AppResult<Page<Report>> {
        who.require_platform_admin()?;
        self.db
            .read(move |c| {
                let after = page.keyset(Direction::OldestFirst, "r.created_at", "r.id", 1);
                let rows = c
                    .query(
                        &format!(
                            "{} WHERE {} ORDER BY r.created_at, r.id LIMIT {}",
                            report_select(),
                            after.sql,
                            page.fetch()
                        ),
                        &after.args,
                    )?
                    .iter()
                    .map(|r| Ok((r.int(ReportCols::created_at)?, report_from_row(r)?)))
                    .collect::<AppResult<Vec<_>>>()?;
                Ok(Page::from_keyed(rows, page.limit, |r| &r.id))
            })
            .await
    }

    /// A moderator hides a post: it vanishes for everyone but its author. Open reports of
    /// the post are resolved with the reason. Hiding a hidden post changes nothing.
    pub async fn hide_post(
        &self,
        who: &Principal,
        post_id: &PostId,
        reason: &str,
    ) -> AppResult<Moderation> {
        let reason = parse_reason(reason)?;
        let now = self.now_ms();
        let (who, pid) = (who.clone(), post_id.to_owned());
        self.db
            .write(move |c| {
                require_moderator(c, &who, &pid)?;
                let n = c.execute(
                    "UPDATE posts SET hidden_at = $1, hidden_by = $2 WHERE id = $3 AND hidden_at IS NULL",
                    args![now, &who.account_id, &pid],
                )?;
                if n == 1 {
                    c.execute(
                        "UPDATE reports SET resolved_at = $1, resolved_by = $2, resolution = $3
                         WHERE target_kind = 'post' AND target_id = $4 AND resolved_at IS NULL",
                        args![now, &who.account_id, format!("hidden: {reason}"), &pid],
                    )?;
                    outbox::emit(
                        c,
                        now,
                        "post.hidden",
                        None,
                        &pid,
                        &serde_json::json!({ "post_id": pid, "hidden_by": who.account_id, "reason": reason }),
                    )?;
                }
                moderation(c, &pid)
            })
            .await
    }

    /// A moderator restores a hidden post. A post a platform admin hid only a platform
    /// admin restores.
    pub async fn unhide_post(
        &self,
        who: &Principal,
        post_id: &PostId,
        reason: Option<&str>,
    ) -> AppResult<Moderation> {
        let reason = reason.map(parse_reason).transpose()?;
        let now = self.now_ms();
        let (who, pid) = (who.clone(), post_id.to_owned());
        self.db
            .write(move |c| {
                let hidden_by_admin = require_moderator(c, &who, &pid)?;
                if hidden_by_admin && !who.is_platform_admin {
                    return Err(AppError::Forbidden(
                        "a platform admin hid this post; only a platform admin may restore it"
                            .into(),
                    ));
                }
                let n = c.execute(
                    "UPDATE posts SET hidden_at = NULL, hidden_by = NULL WHERE id = $1 AND hidden_at IS NOT NULL",
                    args![&pid],
                )?;
                if n == 1 {
                    outbox::emit(
                        c,
                        now,
                        "post.unhidden",
                        None,
                        &pid,
                        &serde_json::json!({ "post_id": pid, "restored_by": who.account_id, "reason": reason }),
                    )?;
                }
                moderation(c, &pid)
            })
            .await
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn media_ids_and_tags_are_bounded_and_named() {
        let h = |c: char| c.to_string().repeat(64);
        assert_eq!(parse_media_ids(vec![h('A')]).unwrap(), vec![h('a')]);
        let ten: Vec<String> = "0123456789".chars().map(h).collect();
        assert!(
            matches!(parse_media_ids(ten), Err(AppError::Invalid { field, .. }) if field == "images")
        );
        assert!(
            matches!(parse_media_ids(vec![h('a'), "x".into()]), Err(AppError::Invalid { field, .. }) if field == "images[1]")
        );
        assert!(
            matches!(parse_media_ids(vec![h('a'), h('a')]), Err(AppError::Invalid { field, .. }) if field == "images[1]")
        );
        let id = new_id();
        assert!(parse_tag_ids(vec![id.clone()]).is_ok());
        assert!(
            matches!(parse_tag_ids(vec![id.clone(), id]), Err(AppError::Invalid { field, .. }) if field == "tags[1]")
        );
        let eleven: Vec<String> = (0..11).map(|_| new_id()).collect();
        assert!(
            matches!(parse_tag_ids(eleven), Err(AppError::Invalid { field, .. }) if field == "tags")
        );
        assert!(parse_body(&"字".repeat(MAX_BODY_CHARS)).is_ok());
        assert!(parse_body(&"字".repeat(MAX_BODY_CHARS + 1)).is_err());
        assert!(parse_body("第一行\n第二行").is_ok());
        assert!(parse_body("  ").is_err());
    }
}
