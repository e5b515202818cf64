//! Posts and what people do with them: the post rows with their images and tags, likes,
//! comments, shares, reports and moderation.

use std::collections::HashMap;

use kith_store::{Conn, Value, args, placeholders};

use super::read_models::{
    COMMENT_COLS, CommentCols, ReportCols, comment_from_row, comment_readable, report_from_row,
    report_select,
};
use super::visibility::{no_block, post_visible};
use crate::platform::ids::{AccountId, CommentId, PostId};
use crate::platform::page::{Direction, Page, PageRequest};
use crate::social::posts::{Comment, Like, Moderation, PersonRef, Report};
use crate::{AppResult, rfc3339};

/// Whether the account is an active member of the community.
pub(in crate::social) fn is_active_member(
    c: &mut dyn Conn,
    community_id: &str,
    account_id: &str,
) -> AppResult<bool> {
    Ok(c
        .query_opt(
            "SELECT 1 FROM community_members WHERE community_id = $1 AND account_id = $2 AND state = 'active'",
            args![community_id, account_id],
        )?
        .is_some())
}

/// A SKU's merchant, its product's status and its merchant's status; `None` for an
/// unknown SKU.
pub(in crate::social) fn sku_to_tag(
    c: &mut dyn Conn,
    sku_id: &str,
) -> AppResult<Option<(String, String, String)>> {
    c.query_opt(
        "SELECT s.merchant_id, pr.status, m.status FROM skus s
             JOIN products pr ON pr.id = s.product_id JOIN merchants m ON m.id = s.merchant_id
             WHERE s.id = $1",
        args![sku_id],
    )?
    .map(|r| Ok((r.text(0)?, r.text(1)?, r.text(2)?)))
    .transpose()
}

/// Replaces a post's images with `ids`, in that order.
pub(in crate::social) fn replace_images(
    c: &mut dyn Conn,
    post_id: &str,
    ids: &[String],
) -> AppResult<()> {
    c.execute("DELETE FROM post_images WHERE post_id = $1", args![post_id])?;
    for (pos, id) in ids.iter().enumerate() {
        c.execute(
            "INSERT INTO post_images (post_id, position, media_id) VALUES ($1, $2, $3)",
            args![post_id, pos as i64, id],
        )?;
    }
    Ok(())
}

/// Replaces a post's tags with `tags` (SKU, merchant).
pub(in crate::social) fn replace_tags(
    c: &mut dyn Conn,
    post_id: &str,
    tags: &[(String, String)],
) -> AppResult<()> {
    c.execute("DELETE FROM post_tags WHERE post_id = $1", args![post_id])?;
    for (sku, merchant) in tags {
        c.execute(
            "INSERT INTO post_tags (post_id, sku_id, merchant_id) VALUES ($1, $2, $3)",
            args![post_id, sku, merchant],
        )?;
    }
    Ok(())
}

/// A live post's author, visibility, community and creation time (ms).
pub(in crate::social) type PostHead = (String, String, Option<String>, i64);

/// A live post's author, visibility, community and creation time (ms).
pub(in crate::social) fn live_post_head(
    c: &mut dyn Conn,
    post_id: &str,
) -> AppResult<Option<PostHead>> {
    c.query_opt(
        "SELECT author_id, visibility, community_id, created_at FROM posts WHERE id = $1 AND deleted_at IS NULL",
        args![post_id],
    )?
    .map(|r| Ok((r.text(0)?, r.text(1)?, r.opt_text(2)?, r.int(3)?)))
    .transpose()
}

/// Whether the account is an active owner or admin of the community.
pub(in crate::social) fn is_community_admin(
    c: &mut dyn Conn,
    community_id: &str,
    account_id: &str,
) -> AppResult<bool> {
    Ok(c.query_opt(
        "SELECT 1 FROM community_members WHERE community_id = $1 AND account_id = $2
             AND state = 'active' AND role IN ('owner', 'admin')",
        args![community_id, account_id],
    )?
    .is_some())
}

/// A post's community, that community's merchant, and the `is_platform_admin` flag of
/// whoever hid it (`None` when it is not hidden).
pub(in crate::social) type PostModerators = (Option<String>, Option<String>, Option<i64>);

/// A live post's community, that community's merchant, and the `is_platform_admin` flag
/// of whoever hid it (`None` when it is not hidden).
pub(in crate::social) fn post_moderators(
    c: &mut dyn Conn,
    post_id: &str,
) -> AppResult<Option<PostModerators>> {
    c.query_opt(
        "SELECT p.community_id, cm.merchant_id, ha.is_platform_admin FROM posts p
             LEFT JOIN communities cm ON cm.id = p.community_id
             LEFT JOIN accounts ha ON ha.id = p.hidden_by
             WHERE p.id = $1 AND p.deleted_at IS NULL",
        args![post_id],
    )?
    .map(|r| Ok((r.opt_text(0)?, r.opt_text(1)?, r.opt_int(2)?)))
    .transpose()
}

/// A post's moderation state.
pub(in crate::social) fn moderation(c: &mut dyn Conn, post_id: &str) -> AppResult<Moderation> {
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

pub(in crate::social) fn insert_post(
    c: &mut dyn Conn,
    id: &str,
    author: &str,
    body: &str,
    visibility: &str,
    community_id: Option<&str>,
    now: i64,
) -> AppResult<()> {
    c.execute(
        "INSERT INTO posts (id, author_id, body, visibility, community_id, created_at, updated_at)
                     VALUES ($1, $2, $3, $4, $5, $6, $6)",
        args![id, author, body, visibility, community_id, now],
    )?;
    Ok(())
}

pub(in crate::social) fn post_body(c: &mut dyn Conn, post_id: &str) -> AppResult<String> {
    Ok(
        c.query_one("SELECT body FROM posts WHERE id = $1", args![post_id])?
            .text(0)?,
    )
}

pub(in crate::social) fn update_post_row(
    c: &mut dyn Conn,
    post_id: &str,
    body: &str,
    visibility: &str,
    community_id: Option<&str>,
    updated: i64,
) -> AppResult<()> {
    c.execute(
        "UPDATE posts SET body = $1, visibility = $2, community_id = $3, updated_at = $4
                     WHERE id = $5 AND deleted_at IS NULL",
        args![body, visibility, community_id, updated, post_id],
    )?;
    Ok(())
}

/// Soft-deletes a live post; false when it was already gone.
pub(in crate::social) fn soft_delete_post(
    c: &mut dyn Conn,
    post_id: &str,
    now: i64,
) -> AppResult<bool> {
    Ok(c.execute(
        "UPDATE posts SET deleted_at = $1 WHERE id = $2 AND deleted_at IS NULL",
        args![now, post_id],
    )? == 1)
}

/// True when the like is new.
pub(in crate::social) fn insert_like(
    c: &mut dyn Conn,
    post_id: &str,
    account_id: &str,
    now: i64,
) -> AppResult<bool> {
    Ok(c.execute(
        "INSERT INTO post_likes (post_id, account_id, created_at) VALUES ($1, $2, $3)
                     ON CONFLICT (post_id, account_id) DO NOTHING",
        args![post_id, account_id, now],
    )? == 1)
}

pub(in crate::social) fn add_like_count(c: &mut dyn Conn, post_id: &str) -> AppResult<()> {
    c.execute(
        "UPDATE posts SET like_count = like_count + 1 WHERE id = $1",
        args![post_id],
    )?;
    Ok(())
}

/// True when there was a like to take back.
pub(in crate::social) fn delete_like(
    c: &mut dyn Conn,
    post_id: &str,
    account_id: &str,
) -> AppResult<bool> {
    Ok(c.execute(
        "DELETE FROM post_likes WHERE post_id = $1 AND account_id = $2",
        args![post_id, account_id],
    )? == 1)
}

/// Takes one from the like count, never below zero.
pub(in crate::social) fn drop_like_count(c: &mut dyn Conn, post_id: &str) -> AppResult<()> {
    c.execute(
        "UPDATE posts SET like_count = like_count - 1 WHERE id = $1 AND like_count > 0",
        args![post_id],
    )?;
    Ok(())
}

/// Who liked a post the viewer may see, newest first, without likers blocked with the
/// viewer.
pub(in crate::social) fn likes_page(
    c: &mut dyn Conn,
    viewer: &str,
    post_id: &str,
    page: &PageRequest,
) -> AppResult<Page<Like>> {
    let after = page.keyset(Direction::NewestFirst, "l.created_at", "l.account_id", 3);
    let mut params = args![viewer, post_id].to_vec();
    params.extend(after.args);
    let rows = c
        .query(
            &format!(
                "SELECT l.account_id, a.display_name, l.created_at, a.avatar_media_id FROM post_likes l
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
                    account: PersonRef::of(r.text(0)?, r.text(1)?, r.opt_text(3)?),
                    created_at: rfc3339(at),
                },
            ))
        })
        .collect::<AppResult<Vec<_>>>()?;
    Ok(Page::from_keyed(rows, page.limit, |l| &l.account.id))
}

pub(in crate::social) fn post_author(c: &mut dyn Conn, post_id: &str) -> AppResult<String> {
    Ok(
        c.query_one("SELECT author_id FROM posts WHERE id = $1", args![post_id])?
            .text(0)?,
    )
}

/// A comment of the post the viewer may read: its parent and its author.
pub(in crate::social) fn readable_comment_of_post(
    c: &mut dyn Conn,
    viewer: &str,
    comment_id: &str,
    post_id: &str,
) -> AppResult<Option<(Option<String>, String)>> {
    c.query_opt(
        &format!(
            "SELECT cm.parent_id, cm.author_id FROM comments cm JOIN posts p ON p.id = cm.post_id
                                 WHERE cm.id = $2 AND cm.post_id = $3 AND {}",
            comment_readable()
        ),
        args![viewer, comment_id, post_id],
    )?
    .map(|r| Ok((r.opt_text(0)?, r.text(1)?)))
    .transpose()
}

pub(in crate::social) fn insert_comment(
    c: &mut dyn Conn,
    id: &str,
    post_id: &str,
    author: &str,
    parent_id: Option<&str>,
    body: &str,
    now: i64,
) -> AppResult<()> {
    c.execute(
        "INSERT INTO comments (id, post_id, author_id, parent_id, body, created_at)
                     VALUES ($1, $2, $3, $4, $5, $6)",
        args![id, post_id, author, parent_id, body, now],
    )?;
    Ok(())
}

pub(in crate::social) fn add_comment_count(c: &mut dyn Conn, post_id: &str) -> AppResult<()> {
    c.execute(
        "UPDATE posts SET comment_count = comment_count + 1 WHERE id = $1",
        args![post_id],
    )?;
    Ok(())
}

pub(in crate::social) fn load_comment(c: &mut dyn Conn, id: &str) -> AppResult<Comment> {
    let r = c.query_one(
        &format!(
            "SELECT {COMMENT_COLS} FROM comments cm JOIN accounts a ON a.id = cm.author_id WHERE cm.id = $1"
        ),
        args![id],
    )?;
    Ok(comment_from_row(&r)?.1)
}

/// A page of a post's top-level comments the viewer may read, oldest first.
pub(in crate::social) fn top_level_comments(
    c: &mut dyn Conn,
    viewer: &str,
    post_id: &str,
    page: &PageRequest,
) -> AppResult<Page<Comment>> {
    let after = page.keyset(Direction::OldestFirst, "cm.created_at", "cm.id", 3);
    let mut params = args![viewer, post_id].to_vec();
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
    Ok(Page::from_keyed(rows, page.limit, |cm| &cm.id))
}

/// The replies the viewer may read under each of `parents`, oldest first, at most
/// `shown` per parent: each parent's id, its reply count, and the replies shown.
pub(in crate::social) fn replies_of(
    c: &mut dyn Conn,
    viewer: &str,
    parents: &[&CommentId],
    shown: i64,
) -> AppResult<HashMap<CommentId, (i64, Vec<Comment>)>> {
    let mut params = vec![Value::from(viewer)];
    params.extend(parents.iter().map(|id| Value::from(*id)));
    let replies = c.query(
        &format!(
            "SELECT * FROM (
                               SELECT {COMMENT_COLS},
                                      ROW_NUMBER() OVER (PARTITION BY cm.parent_id ORDER BY cm.created_at, cm.id) AS rn,
                                      COUNT(*) OVER (PARTITION BY cm.parent_id) AS total
                               FROM comments cm JOIN posts p ON p.id = cm.post_id
                               JOIN accounts a ON a.id = cm.author_id
                               WHERE cm.parent_id IN ({}) AND {}
                             ) r WHERE r.rn <= {shown} ORDER BY r.created_at, r.id",
            placeholders(2, parents.len()),
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
    Ok(by_parent)
}

/// A live comment's author, its post, and the post's author.
pub(in crate::social) fn live_comment_authors(
    c: &mut dyn Conn,
    comment_id: &str,
) -> AppResult<Option<(String, String, String)>> {
    c.query_opt(
        "SELECT cm.author_id, cm.post_id, p.author_id FROM comments cm
                         JOIN posts p ON p.id = cm.post_id WHERE cm.id = $1 AND cm.deleted_at IS NULL",
        args![comment_id],
    )?
    .map(|r| Ok((r.text(0)?, r.text(1)?, r.text(2)?)))
    .transpose()
}

/// The post of a comment the viewer may read.
pub(in crate::social) fn readable_comment_post(
    c: &mut dyn Conn,
    viewer: &str,
    comment_id: &str,
) -> AppResult<Option<String>> {
    c.query_opt(
        &format!(
            "SELECT cm.post_id FROM comments cm JOIN posts p ON p.id = cm.post_id WHERE cm.id = $2 AND {}",
            comment_readable()
        ),
        args![viewer, comment_id],
    )?
    .map(|r| Ok(r.text(0)?))
    .transpose()
}

/// Whether the viewer may read the comment.
pub(in crate::social) fn comment_is_readable(
    c: &mut dyn Conn,
    viewer: &str,
    comment_id: &str,
) -> AppResult<bool> {
    Ok(c.query_opt(
        &format!(
            "SELECT 1 FROM comments cm JOIN posts p ON p.id = cm.post_id WHERE cm.id = $2 AND {}",
            comment_readable()
        ),
        args![viewer, comment_id],
    )?
    .is_some())
}

/// Soft-deletes a live comment and the live replies under it; returns how many.
pub(in crate::social) fn soft_delete_comment_thread(
    c: &mut dyn Conn,
    comment_id: &str,
    now: i64,
) -> AppResult<i64> {
    Ok(c.execute(
        "UPDATE comments SET deleted_at = $1 WHERE (id = $2 OR parent_id = $2) AND deleted_at IS NULL",
        args![now, comment_id],
    )? as i64)
}

/// Takes `n` from the comment count, unless that would pass below zero.
pub(in crate::social) fn drop_comment_count(
    c: &mut dyn Conn,
    post_id: &str,
    n: i64,
) -> AppResult<()> {
    c.execute(
        "UPDATE posts SET comment_count = comment_count - $1 WHERE id = $2 AND comment_count >= $1",
        args![n, post_id],
    )?;
    Ok(())
}

pub(in crate::social) fn insert_share(
    c: &mut dyn Conn,
    id: &str,
    post_id: &str,
    account_id: &str,
    channel: &str,
    now: i64,
) -> AppResult<()> {
    c.execute(
        "INSERT INTO post_shares (id, post_id, account_id, channel, created_at) VALUES ($1, $2, $3, $4, $5)",
        args![id, post_id, account_id, channel, now],
    )?;
    Ok(())
}

pub(in crate::social) fn add_share_count(c: &mut dyn Conn, post_id: &str) -> AppResult<()> {
    c.execute(
        "UPDATE posts SET share_count = share_count + 1 WHERE id = $1",
        args![post_id],
    )?;
    Ok(())
}

/// False when this reporter already reported this target.
pub(in crate::social) fn insert_report(
    c: &mut dyn Conn,
    id: &str,
    target_kind: &str,
    target_id: &str,
    reporter: &str,
    reason: &str,
    now: i64,
) -> AppResult<bool> {
    Ok(c.execute(
        "INSERT INTO reports (id, target_kind, target_id, reporter_id, reason, created_at)
                     VALUES ($1, $2, $3, $4, $5, $6)
                     ON CONFLICT (target_kind, target_id, reporter_id) DO NOTHING",
        args![id, target_kind, target_id, reporter, reason, now],
    )? != 0)
}

pub(in crate::social) fn load_report(c: &mut dyn Conn, id: &str) -> AppResult<Report> {
    let r = c.query_one(&format!("{} WHERE r.id = $1", report_select()), args![id])?;
    report_from_row(&r)
}

/// Reports, oldest first.
pub(in crate::social) fn reports_page(
    c: &mut dyn Conn,
    page: &PageRequest,
) -> AppResult<Page<Report>> {
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
}

/// Hides a post not hidden yet; false when it already was.
pub(in crate::social) fn hide_post_row(
    c: &mut dyn Conn,
    post_id: &str,
    by: &str,
    now: i64,
) -> AppResult<bool> {
    Ok(c.execute(
        "UPDATE posts SET hidden_at = $1, hidden_by = $2 WHERE id = $3 AND hidden_at IS NULL",
        args![now, by, post_id],
    )? == 1)
}

/// Resolves the open reports of a post.
pub(in crate::social) fn resolve_post_reports(
    c: &mut dyn Conn,
    post_id: &str,
    by: &str,
    resolution: &str,
    now: i64,
) -> AppResult<()> {
    c.execute(
        "UPDATE reports SET resolved_at = $1, resolved_by = $2, resolution = $3
                         WHERE target_kind = 'post' AND target_id = $4 AND resolved_at IS NULL",
        args![now, by, resolution, post_id],
    )?;
    Ok(())
}

/// Restores a hidden post; false when it was not hidden.
pub(in crate::social) fn unhide_post_row(c: &mut dyn Conn, post_id: &str) -> AppResult<bool> {
    Ok(c.execute(
        "UPDATE posts SET hidden_at = NULL, hidden_by = NULL WHERE id = $1 AND hidden_at IS NOT NULL",
        args![post_id],
    )? == 1)
}
