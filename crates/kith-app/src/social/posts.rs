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

use std::collections::HashSet;

use kith_domain::{BoundedText, Fen, MerchantStatus};
use kith_store::Conn;
use serde::{Deserialize, Serialize};

use super::store::posts::{
    add_comment_count, add_like_count, add_share_count, comment_is_readable, delete_like,
    drop_comment_count, drop_like_count, hide_post_row, insert_comment, insert_like, insert_post,
    insert_report, insert_share, is_active_member, is_community_admin, likes_page,
    live_comment_authors, live_post_head, load_comment, load_report, moderation, post_author,
    post_body, post_moderators, readable_comment_of_post, readable_comment_post, replace_images,
    replace_tags, replies_of, reports_page, resolve_post_reports, sku_to_tag,
    soft_delete_comment_thread, soft_delete_post, top_level_comments, unhide_post_row,
    update_post_row,
};
pub(crate) use super::store::{load_post, newest_first, query_posts};
use crate::platform::auth::{StaffNeed, require_trading_staff};
use crate::platform::ids::{
    AccountId, CommentId, CommunityId, MerchantId, PostId, SkuId, new_id, parse_id,
};
use crate::platform::page::{Page, PageRequest};
use crate::social::visibility::{can_see_post, viewer_id};
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
    /// Their picture, if they chose one (the pages draw the name's first character
    /// otherwise).
    pub avatar: Option<crate::social::media::MediaRef>,
}

impl PersonRef {
    /// From the stored account id, name and `avatar_media_id`.
    pub(crate) fn of(id: String, display_name: String, avatar: Option<String>) -> Self {
        Self {
            id: AccountId::from_row(id),
            display_name,
            avatar: avatar.map(|m| crate::social::media::MediaRef::of(&m)),
        }
    }
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
    if is_active_member(c, community_id, author)? {
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
        let row = sku_to_tag(c, id)?;
        let on_sale = match &row {
            Some((_, product_status, merchant_status)) => {
                product_status == "active"
                    && MerchantStatus::from_db(merchant_status)
                        .is_some_and(|s| s.ensure_trading().is_ok())
            }
            None => false,
        };
        match row {
            Some((merchant, _, _)) if on_sale => out.push((id.clone(), merchant)),
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

/// The author of a live post may change it; anyone else gets 403 if they can see the post
/// and 404 if they cannot. Returns (visibility, community id, created_at ms).
fn require_author(
    c: &mut dyn Conn,
    who: &Principal,
    post_id: &str,
) -> AppResult<(Visibility, Option<String>, i64)> {
    let (author, visibility, community_id, created) =
        live_post_head(c, post_id)?.ok_or(AppError::NotFound("post"))?;
    if author != who.account_id {
        return Err(if can_see_post(c, Some(&who.account_id), post_id)? {
            AppError::Forbidden("only its author may change a post".into())
        } else {
            AppError::NotFound("post")
        });
    }
    Ok((Visibility::from_db(&visibility)?, community_id, created))
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
    if is_community_admin(c, cid, &who.account_id)? {
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
    let (cid, mid, hidden_by_admin) =
        post_moderators(c, post_id)?.ok_or(AppError::NotFound("post"))?;
    if !may_moderate(c, who, cid.as_deref(), mid.as_deref())? {
        return Err(if can_see_post(c, Some(&who.account_id), post_id)? {
            AppError::Forbidden(
                "only its community's admins, its merchant's staff and platform admins may hide or restore this post".into(),
            )
        } else {
            AppError::NotFound("post")
        });
    }
    Ok(hidden_by_admin.unwrap_or(0) != 0)
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
                insert_post(c, &id, &me, &body, visibility.as_str(), community.as_deref(), now)?;
                replace_images(c, &id, &images)?;
                replace_tags(c, &id, &tags)?;
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
                let cur_body = post_body(c, &pid)?;
                // Strictly after creation, so `edited` holds even within the same millisecond.
                let updated = now.max(created + 1);
                update_post_row(
                    c,
                    &pid,
                    body.as_deref().unwrap_or(&cur_body),
                    vis.as_str(),
                    cid.as_deref(),
                    updated,
                )?;
                if let Some(images) = &images {
                    replace_images(c, &pid, images)?;
                }
                if let Some(tags) = &tags {
                    replace_tags(c, &pid, tags)?;
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
                if soft_delete_post(c, &pid, now)? {
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
                if insert_like(c, &pid, &me, now)? {
                    add_like_count(c, &pid)?;
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
                if delete_like(c, &pid, &me)? {
                    drop_like_count(c, &pid)?;
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
                likes_page(c, &viewer, &pid, &page)
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
                let post_author = post_author(c, &pid)?;
                let mut parent_author: Option<String> = None;
                if let Some(parent) = &parent {
                    let (parent_of_parent, author) =
                        readable_comment_of_post(c, &me, parent, &pid)?.ok_or_else(|| {
                            AppError::invalid("parent_id", "names no comment of this post")
                        })?;
                    if parent_of_parent.is_some() {
                        return Err(AppError::invalid(
                            "parent_id",
                            "replies go one level deep: reply to the top-level comment",
                        ));
                    }
                    parent_author = Some(author);
                }
                let id = new_id();
                insert_comment(c, &id, &pid, &me, parent.as_deref(), &body, now)?;
                add_comment_count(c, &pid)?;
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
                load_comment(c, &id)
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
                let Page {
                    mut items,
                    next_cursor,
                } = top_level_comments(c, &viewer, &pid, &page)?;
                if !items.is_empty() {
                    let parents: Vec<&CommentId> = items.iter().map(|cm| &cm.id).collect();
                    let mut by_parent = replies_of(c, &viewer, &parents, MAX_REPLIES_SHOWN)?;
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
                let (comment_author, pid, post_author) =
                    live_comment_authors(c, &cid)?.ok_or(AppError::NotFound("comment"))?;
                if comment_author != me && post_author != me {
                    let readable = comment_is_readable(c, &me, &cid)?;
                    return Err(if readable {
                        AppError::Forbidden(
                            "only its author or the post's author may delete a comment".into(),
                        )
                    } else {
                        AppError::NotFound("comment")
                    });
                }
                let n = soft_delete_comment_thread(c, &cid, now)?;
                drop_comment_count(c, &pid, n)?;
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
                insert_share(c, &id, &pid, &me, channel.as_str(), now)?;
                add_share_count(c, &pid)?;
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
                    ReportTarget::Comment => readable_comment_post(c, &me, &target)?,
                };
                let Some(post_id) = post_id else {
                    return Err(AppError::invalid(
                        "target_id",
                        format!("names no {} you can see", target_kind.as_str()),
                    ));
                };
                let id = new_id();
                if !insert_report(c, &id, target_kind.as_str(), &target, &me, &reason, now)? {
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
load_report(c, &id)
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
        self.db.read(move |c| reports_page(c, &page)).await
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
                if hide_post_row(c, &pid, &who.account_id, now)? {
                    resolve_post_reports(c, &pid, &who.account_id, &format!("hidden: {reason}"), now)?;
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
                if unhide_post_row(c, &pid)? {
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
