//! Who may see a post: the one rule every endpoint that returns posts, comments, likes,
//! counts or (later) search results applies, as SQL inside its query, so nothing invisible
//! is ever loaded, counted or highlighted.
//!
//! A post is visible to a viewer when it is not deleted, not hidden by a moderator (its
//! author still sees it), neither of the two has blocked the other, and its visibility
//! allows: `public` — everyone, signed in or not; `followers` — the author's followers;
//! `friends` — mutual follows (好友, the strong ties); `community` — active members of its
//! community. The author always sees their own post. Anonymous viewers are the nil id,
//! which follows no one and belongs nowhere.

use kith_store::{Conn, args};

use crate::AppResult;
use crate::platform::page::NIL_ID;

/// The viewer id to bind for an optional principal.
pub fn viewer_id(viewer: Option<&str>) -> &str {
    viewer.unwrap_or(NIL_ID)
}

/// A SQL predicate over posts aliased `p`, true when the viewer bound at placeholder
/// `viewer` (e.g. `"$1"`) may see the post.
pub fn post_visible(viewer: &str) -> String {
    format!(
        "(p.deleted_at IS NULL
          AND (p.hidden_at IS NULL OR p.author_id = {v})
          AND NOT EXISTS (SELECT 1 FROM blocks b
                          WHERE (b.blocker_id = p.author_id AND b.blocked_id = {v})
                             OR (b.blocker_id = {v} AND b.blocked_id = p.author_id))
          AND (p.author_id = {v}
               OR p.visibility = 'public'
               OR (p.visibility = 'followers' AND EXISTS
                    (SELECT 1 FROM follows f WHERE f.follower_id = {v} AND f.followee_id = p.author_id))
               OR (p.visibility = 'friends'
                   AND EXISTS (SELECT 1 FROM follows f1 WHERE f1.follower_id = {v} AND f1.followee_id = p.author_id)
                   AND EXISTS (SELECT 1 FROM follows f2 WHERE f2.follower_id = p.author_id AND f2.followee_id = {v}))
               OR (p.visibility = 'community' AND EXISTS
                    (SELECT 1 FROM community_members m
                     WHERE m.community_id = p.community_id AND m.account_id = {v} AND m.state = 'active'))))",
        v = viewer
    )
}

/// Whether `viewer` may see post `post_id` (false for a post that does not exist).
pub fn can_see_post(c: &mut dyn Conn, viewer: Option<&str>, post_id: &str) -> AppResult<bool> {
    let sql = format!(
        "SELECT 1 FROM posts p WHERE p.id = $2 AND {}",
        post_visible("$1")
    );
    Ok(c.query_opt(&sql, args![viewer_id(viewer), post_id])?
        .is_some())
}

/// Whether either of two members has blocked the other: they then see nothing of each
/// other and cannot interact.
pub fn blocked_between(c: &mut dyn Conn, a: &str, b: &str) -> AppResult<bool> {
    Ok(c
        .query_opt(
            "SELECT 1 FROM blocks WHERE (blocker_id = $1 AND blocked_id = $2) OR (blocker_id = $2 AND blocked_id = $1)",
            args![a, b],
        )?
        .is_some())
}
