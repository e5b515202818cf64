//! Lists of posts: an author's posts, a community's posts, and the basic feed. Each is
//! newest first with a stable cursor on `(created_at, id)`: posts added while a reader
//! pages are newer than every key already handed out, so the next page continues exactly
//! where the last one stopped, without duplicates or gaps.
//!
//! Every list runs through [`crate::social::posts::newest_first`], which applies the one
//! visibility rule inside its SQL.
//!
//! **The trust-ranked feed** ([`App::trusted_feed`]) holds the same posts as the basic
//! feed, blended by closeness, recency and engagement: each post gets a rank key in
//! milliseconds,
//!
//! ```text
//! rank = created_at + 12 h if the author is a friend (or the reader)
//!                   +  6 h if it is a post of one of the reader's communities, or its
//!                          author is a fellow member of one
//!                   + 30 min × min(likes + 2·comments + 3·shares, 48)
//! ```
//!
//! (a deleted comment does not count), so a friend's post reads as if it were half a day
//! newer, and a lively one up to a day newer. Pages go by `(rank, id)` descending. The
//! first page fixes a snapshot time, carried in the cursor: later pages see only posts,
//! likes, comments, shares and follows made up to it, so every post's rank stays what it
//! was and posts that arrive meanwhile neither repeat nor push anything out of the pages
//! (they show on the next first page).

use base64::Engine as _;
use kith_store::Conn;
use serde::Serialize;

use super::store::feed::{
    account_exists, author_posts, community_exists, community_posts, feed_posts, is_active_member,
    trusted_ranks,
};
use crate::platform::ids::{AccountId, CommunityId};
use crate::platform::page::{Page, PageRequest};
use crate::social::posts::Post;
use crate::social::visibility::{blocked_between, viewer_id};
use crate::{App, AppError, AppResult, Principal};

const HOUR_MS: i64 = 3_600_000;
/// How much newer a friend's (or the reader's own) post reads.
pub const FRIEND_BOOST_MS: i64 = 12 * HOUR_MS;
/// How much newer a post of the reader's communities (or a fellow member's) reads.
pub const COMMUNITY_BOOST_MS: i64 = 6 * HOUR_MS;
/// How much a post's rank key can exceed its creation time: the larger closeness boost (a
/// post gets one of them, never both) and the whole engagement lift. A post made at or
/// before `t` ranks at most `t + MAX_LIFT_MS`; the feed's time window rests on it.
pub const MAX_LIFT_MS: i64 = FRIEND_BOOST_MS + ENGAGEMENT_STEP_MS * ENGAGEMENT_CAP;
const _: () = assert!(FRIEND_BOOST_MS >= COMMUNITY_BOOST_MS);
/// Per interaction point (like 1, comment 2, share 3)…
pub const ENGAGEMENT_STEP_MS: i64 = HOUR_MS / 2;
/// …counted up to this many points.
pub const ENGAGEMENT_CAP: i64 = 48;

/// Where a trust-ranked page starts: the key of the last item shown and the snapshot.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FeedCursor {
    pub rank: i64,
    pub id: String,
    pub snapshot_ms: i64,
}

impl FeedCursor {
    pub fn encode(&self) -> String {
        base64::engine::general_purpose::URL_SAFE_NO_PAD
            .encode(format!("{}|{}|{}", self.rank, self.id, self.snapshot_ms))
    }

    /// A cursor this API made, or 422 on `cursor`.
    pub fn parse(raw: &str) -> AppResult<Self> {
        let bad = || AppError::invalid("cursor", "is not a cursor from this API");
        let bytes = base64::engine::general_purpose::URL_SAFE_NO_PAD
            .decode(raw)
            .map_err(|_| bad())?;
        let s = String::from_utf8(bytes).map_err(|_| bad())?;
        let mut parts = s.split('|');
        let (Some(rank), Some(id), Some(snap), None) =
            (parts.next(), parts.next(), parts.next(), parts.next())
        else {
            return Err(bad());
        };
        let rank: i64 = rank.parse().map_err(|_| bad())?;
        let snapshot_ms: i64 = snap.parse().map_err(|_| bad())?;
        let id = crate::platform::ids::parse_id(id).ok_or_else(bad)?;
        // Times are between 1970 and 9999; a rank adds at most MAX_LIFT_MS.
        const MAX_MS: i64 = 253_402_300_799_999;
        let max_rank = MAX_MS + MAX_LIFT_MS;
        if !(0..=MAX_MS).contains(&snapshot_ms) || !(0..=max_rank).contains(&rank) {
            return Err(bad());
        }
        Ok(Self {
            rank,
            id,
            snapshot_ms,
        })
    }
}

/// A post in the trust-ranked feed, and why it is there.
#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct FeedItem {
    pub post: Post,
    /// `friend` (or the reader's own), `community`, or `following`.
    pub closeness: String,
}

fn trusted_page(
    c: &mut dyn Conn,
    me: &str,
    limit: i64,
    after: Option<&FeedCursor>,
    now_ms: i64,
) -> AppResult<Page<FeedItem>> {
    let snap = after.map_or(now_ms, |a| a.snapshot_ms);
    let mut keyed = trusted_ranks(c, me, limit, after, snap)?;
    let more = keyed.len() as i64 > limit;
    keyed.truncate(limit as usize);
    let ids: Vec<String> = keyed.iter().map(|k| k.0.clone()).collect();
    let posts = crate::discovery::search::posts_in_order(c, me, &ids)?;
    let next_cursor = if more {
        keyed.last().map(|(id, rk, _)| {
            FeedCursor {
                rank: *rk,
                id: id.clone(),
                snapshot_ms: snap,
            }
            .encode()
        })
    } else {
        None
    };
    let class: std::collections::HashMap<&str, i64> =
        keyed.iter().map(|(id, _, cl)| (id.as_str(), *cl)).collect();
    let items = posts
        .into_iter()
        .map(|post| {
            let closeness = match class.get(post.id.as_str()) {
                Some(2) => "friend",
                Some(1) => "community",
                _ => "following",
            };
            FeedItem {
                post,
                closeness: closeness.to_owned(),
            }
        })
        .collect();
    Ok(Page { items, next_cursor })
}

impl App {
    /// An author's posts that the reader may see; 404 when there is no such account or a
    /// block stands between the two.
    pub async fn account_posts(
        &self,
        who: Option<&Principal>,
        account_id: &AccountId,
        page: PageRequest,
    ) -> AppResult<Page<Post>> {
        let viewer = viewer_id(who.map(|p| p.account_id.as_str())).to_owned();
        let aid = account_id.clone();
        self.db
            .read(move |c| {
                if !account_exists(c, &aid)? {
                    return Err(AppError::NotFound("account"));
                }
                // As on the profile: a block hides each from the other entirely.
                if viewer != aid && blocked_between(c, &viewer, &aid)? {
                    return Err(AppError::NotFound("account"));
                }
                author_posts(c, &viewer, &aid, &page)
            })
            .await
    }

    /// A community's posts, for its active members: 404 when there is no such community,
    /// 401 for the anonymous, 403 for everyone else.
    pub async fn community_posts(
        &self,
        who: Option<&Principal>,
        community_id: &CommunityId,
        page: PageRequest,
    ) -> AppResult<Page<Post>> {
        let who = who.cloned();
        let cid = community_id.clone();
        self.db
            .read(move |c| {
                if !community_exists(c, &cid)? {
                    return Err(AppError::NotFound("community"));
                }
                let Some(p) = &who else {
                    return Err(AppError::Unauthenticated(
                        "log in to read a community's posts".into(),
                    ));
                };
                let member = is_active_member(c, &cid, &p.account_id)?;
                if !member {
                    return Err(AppError::Forbidden(
                        "only the community's members read its posts".into(),
                    ));
                }
                community_posts(c, &p.account_id, &cid, &page)
            })
            .await
    }

    /// The caller's feed: their own posts, posts of people they follow (as far as each
    /// post's visibility allows) and posts of communities they are an active member of,
    /// newest first.
    pub async fn feed(&self, who: &Principal, page: PageRequest) -> AppResult<Page<Post>> {
        let me = who.account_id.clone();
        self.db.read(move |c| feed_posts(c, &me, &page)).await
    }
}

impl App {
    /// The trust-ranked feed: the basic feed's posts blended by closeness, recency and
    /// engagement (see the module docs), with stable cursor pagination.
    pub async fn trusted_feed(
        &self,
        who: &Principal,
        limit: i64,
        cursor: Option<FeedCursor>,
    ) -> AppResult<Page<FeedItem>> {
        if !(1..=crate::platform::page::MAX_LIMIT).contains(&limit) {
            return Err(AppError::invalid(
                "limit",
                format!("must be between 1 and {}", crate::platform::page::MAX_LIMIT),
            ));
        }
        let me = who.account_id.clone();
        let now = self.now_ms();
        self.db
            .read(move |c| trusted_page(c, &me, limit, cursor.as_ref(), now))
            .await
    }
}
