//! The post lists and the trust-ranked feed's ranking.

use kith_store::{Conn, Engine, Value, args};

use crate::AppResult;
use crate::discovery::feed::{
    COMMUNITY_BOOST_MS, ENGAGEMENT_CAP, ENGAGEMENT_STEP_MS, FRIEND_BOOST_MS, FeedCursor,
    MAX_LIFT_MS,
};
use crate::platform::page::{Page, PageRequest};
use crate::social::posts::{Post, newest_first};
use crate::social::visibility::post_visible;

/// `created_at` as Unix ms in SQL.
fn ms_of(c: &dyn Conn, col: &str) -> String {
    match c.engine() {
        Engine::Sqlite => col.to_owned(),
        Engine::Postgres => format!("(EXTRACT(EPOCH FROM {col}) * 1000)::bigint"),
    }
}

/// Up to `limit + 1` posts of `me`'s feed as of `snap`, after `after`, best rank first:
/// each post's id, rank key and closeness class (2 friend, 1 community, 0 following).
///
/// Only a window of creation times is ranked, not every post of everyone followed: since
/// `created_at ≤ rank ≤ created_at + MAX_LIFT_MS`, when the posts made in `(lo, top]`
/// already hold `limit + 1` ranked above `lo + MAX_LIFT_MS`, no post made before `lo` can
/// come before them, so the answer is exact. Otherwise the window reaches further back
/// (×4), until it is exact or reaches the start of time; each step ranks only the posts of
/// the stretch it adds and keeps the best `limit + 1` of everything ranked so far (the
/// best of a union is the best of its parts' bests). `top` is the snapshot, or the
/// cursor's rank when lower (a post made after it ranks above it).
pub(in crate::discovery) fn trusted_ranks(
    c: &mut dyn Conn,
    me: &str,
    limit: i64,
    after: Option<&FeedCursor>,
    snap: i64,
) -> AppResult<Vec<(String, i64, i64)>> {
    let top = after.map_or(snap, |a| a.rank.min(snap));
    let keep = limit as usize + 1;
    let mut span = MAX_LIFT_MS + MAX_LIFT_MS / 4;
    let mut hi = top;
    let mut best: Vec<(String, i64, i64)> = Vec::new();
    loop {
        let lo = top.checked_sub(span).filter(|lo| *lo > 0);
        best.extend(ranked_window(c, me, limit, after, snap, hi, lo)?);
        // The statement's order: rank, then id. Ids are UUIDs (PostgreSQL orders them by
        // their bytes) in lower-case hex (SQLite by the text's bytes): the same order.
        best.sort_by(|a, b| {
            b.1.cmp(&a.1)
                .then_with(|| b.0.as_bytes().cmp(a.0.as_bytes()))
        });
        best.truncate(keep);
        let Some(lo) = lo else {
            return Ok(best);
        };
        if best.len() == keep && best[keep - 1].1 > lo + MAX_LIFT_MS {
            return Ok(best);
        }
        hi = lo;
        span = span.saturating_mul(4);
    }
}

/// [`trusted_ranks`] among the feed's posts made in `(lo, hi]` (no lower end: `None`).
/// The candidates come from the reader's own posts, their follows' posts and their
/// communities' posts by index (`posts (author_id, created_at)`,
/// `posts (community_id, created_at)`), each once and with the columns the rule and the
/// rank read, so the cost follows the window, not the site.
fn ranked_window(
    c: &mut dyn Conn,
    me: &str,
    limit: i64,
    after: Option<&FeedCursor>,
    snap: i64,
    hi: i64,
    lo: Option<i64>,
) -> AppResult<Vec<(String, i64, i64)>> {
    // The class. Where a candidate came from answers most of it: the reader's own post is
    // a friend's; a post of the reader's communities by someone they do not follow is a
    // community post (a friend is followed). A followee is a friend when both follows
    // stood at the snapshot (the reader's is the row the candidate came through).
    let class = "CASE p.src WHEN 0 THEN 2 WHEN 2 THEN 1 ELSE CASE
           WHEN p.followed_at <= $2
                AND EXISTS (SELECT 1 FROM follows t2 WHERE t2.follower_id = p.author_id AND t2.followee_id = $1 AND t2.created_at <= $2)
             THEN 2
           WHEN p.visibility = 'community' OR EXISTS (
                SELECT 1 FROM community_members c1
                JOIN community_members c2 ON c2.community_id = c1.community_id AND c2.account_id = p.author_id AND c2.state = 'active'
                WHERE c1.account_id = $1 AND c1.state = 'active')
             THEN 1
           ELSE 0 END END";
    // Likes, live comments and shares made by the snapshot. A post whose counters are all
    // zero has none of them (each counter moves with its rows, in the same unit of work),
    // so it is not looked up: most posts.
    let engagement = "CASE WHEN p.like_count = 0 AND p.comment_count = 0 AND p.share_count = 0 THEN 0 ELSE
           (SELECT COUNT(*) FROM post_likes l WHERE l.post_id = p.id AND l.created_at <= $2)
         + 2 * (SELECT COUNT(*) FROM comments cm WHERE cm.post_id = p.id AND cm.created_at <= $2 AND cm.deleted_at IS NULL)
         + 3 * (SELECT COUNT(*) FROM post_shares sh WHERE sh.post_id = p.id AND sh.created_at <= $2) END";
    let mut params = vec![Value::from(me), Value::from(snap), Value::from(hi)];
    // `hi` is never past the snapshot (it is the snapshot, a cursor's rank below it, or an
    // earlier window's start), so the window also keeps out posts made after it.
    debug_assert!(hi <= snap);
    let window = match lo {
        Some(lo) => {
            params.push(Value::from(lo));
            "AND x.created_at <= $3 AND x.created_at > $4"
        }
        None => "AND x.created_at <= $3",
    };
    let after_sql = match after {
        None => String::new(),
        Some(a) => {
            let n = params.len();
            params.push(Value::from(a.rank));
            params.push(Value::from(&a.id));
            format!(
                "WHERE r.rk < ${r} OR (r.rk = ${r} AND r.id < ${i})",
                r = n + 1,
                i = n + 2
            )
        }
    };
    // The feed's posts in the window, each once: the reader's own, their follows' (not
    // the reader's), their communities' (by neither).
    let cols = "x.id, x.author_id, x.created_at, x.visibility, x.community_id, x.hidden_at,
                x.deleted_at, x.like_count, x.comment_count, x.share_count";
    let candidates = format!(
        "SELECT 0 AS src, NULL AS followed_at, {cols} FROM posts x WHERE x.author_id = $1 {window}
         UNION ALL SELECT 1, fo.created_at, {cols} FROM follows fo JOIN posts x ON x.author_id = fo.followee_id
           WHERE fo.follower_id = $1 AND fo.followee_id <> $1 {window}
         UNION ALL SELECT 2, NULL, {cols} FROM community_members fm JOIN posts x ON x.community_id = fm.community_id
           WHERE fm.account_id = $1 AND fm.state = 'active' AND x.visibility = 'community' {window}
             AND x.author_id <> $1
             AND NOT EXISTS (SELECT 1 FROM follows fx WHERE fx.follower_id = $1 AND fx.followee_id = x.author_id)"
    );
    // `q` is MATERIALIZED: each candidate's class and engagement are worked out once.
    // Inlined, both engines copy the subqueries into every place `q.cl` and `q.eng` are
    // named (the rank, the cap, the answer), which ran them two or three times a post.
    let sql = format!(
        "WITH q AS MATERIALIZED (
           SELECT p.id AS id, {ms} AS ms,
                  {class} AS cl,
                  {engagement} AS eng
           FROM ({candidates}) p
           WHERE {visible})
         SELECT r.id, r.rk, r.cl FROM (
           SELECT q.id AS id, q.cl AS cl,
                  q.ms + CASE q.cl WHEN 2 THEN {FRIEND_BOOST_MS} WHEN 1 THEN {COMMUNITY_BOOST_MS} ELSE 0 END
                       + {ENGAGEMENT_STEP_MS} * CASE WHEN q.eng > {ENGAGEMENT_CAP} THEN {ENGAGEMENT_CAP} ELSE q.eng END AS rk
           FROM q
         ) r {after_sql}
         ORDER BY r.rk DESC, r.id DESC LIMIT {}",
        limit + 1,
        ms = ms_of(c, "p.created_at"),
        visible = post_visible("$1"),
    );
    let rows = c.query(&sql, &params)?;
    let mut keyed = Vec::with_capacity(rows.len());
    for r in &rows {
        keyed.push((r.text(0)?, r.int(1)?, r.int(2)?));
    }
    Ok(keyed)
}

pub(in crate::discovery) fn account_exists(c: &mut dyn Conn, id: &str) -> AppResult<bool> {
    Ok(
        c.query_opt("SELECT 1 FROM accounts WHERE id = $1", args![id])?
            .is_some(),
    )
}

pub(in crate::discovery) fn community_exists(c: &mut dyn Conn, id: &str) -> AppResult<bool> {
    Ok(
        c.query_opt("SELECT 1 FROM communities WHERE id = $1", args![id])?
            .is_some(),
    )
}

pub(in crate::discovery) fn is_active_member(
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

/// A page of `author`'s posts the viewer may see.
pub(in crate::discovery) fn author_posts(
    c: &mut dyn Conn,
    viewer: &str,
    author: &str,
    page: &PageRequest,
) -> AppResult<Page<Post>> {
    newest_first(
        c,
        viewer,
        "p.author_id = $2",
        vec![Value::from(author)],
        page,
    )
}

/// A page of a community's posts, for one of its members.
pub(in crate::discovery) fn community_posts(
    c: &mut dyn Conn,
    viewer: &str,
    community_id: &str,
    page: &PageRequest,
) -> AppResult<Page<Post>> {
    newest_first(
        c,
        viewer,
        "p.visibility = 'community' AND p.community_id = $2",
        vec![Value::from(community_id)],
        page,
    )
}

/// A page of `me`'s basic feed.
pub(in crate::discovery) fn feed_posts(
    c: &mut dyn Conn,
    me: &str,
    page: &PageRequest,
) -> AppResult<Page<Post>> {
    newest_first(
        c,
        me,
        "p.author_id = $1
                     OR EXISTS (SELECT 1 FROM follows fo WHERE fo.follower_id = $1 AND fo.followee_id = p.author_id)
                     OR (p.visibility = 'community' AND EXISTS
                          (SELECT 1 FROM community_members fm
                           WHERE fm.community_id = p.community_id AND fm.account_id = $1 AND fm.state = 'active'))",
        Vec::new(),
        page,
    )
}
