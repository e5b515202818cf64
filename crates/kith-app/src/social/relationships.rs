//! Relationships between members: follows (a mutual follow is a friendship, the strong
//! tie), blocks, public profiles with counts, and the follower / following / friends /
//! mutual-friends lists.
//!
//! Blocking is symmetric in effect: when either of two members has blocked the other,
//! neither can follow the other, neither sees the other's profile or lists (404), neither
//! appears in lists the other reads, and a block removes the follows between them both
//! ways. Counts never include a relation across a block.

use kith_store::{Conn, Row, args};
use serde::Serialize;

use crate::platform::ids::AccountId;
use crate::platform::page::{Direction, NIL_ID, Page, PageRequest};
use crate::social::visibility::blocked_between;
use crate::{App, AppError, AppResult, Principal, platform::outbox, rfc3339};

/// A member as others see them.
#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct Profile {
    pub id: AccountId,
    pub display_name: String,
    /// Members who follow this one.
    pub followers: i64,
    /// Members this one follows.
    pub following: i64,
    /// Mutual follows (好友).
    pub friends: i64,
    /// Whether the caller follows this member (false when anonymous).
    pub followed_by_me: bool,
    /// Whether this member follows the caller.
    pub follows_me: bool,
    pub is_friend: bool,
}

/// One entry of a follower / following / friends list.
#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct Person {
    pub id: AccountId,
    pub display_name: String,
    /// When the relation began: the follow's time, or for friends the later of the two
    /// follows (when the tie became mutual).
    pub since: String,
}

/// SQL: true when neither of the two accounts (SQL expressions) has blocked the other.
pub(crate) fn no_block(a: &str, b: &str) -> String {
    format!(
        "NOT EXISTS (SELECT 1 FROM blocks bl WHERE (bl.blocker_id = {a} AND bl.blocked_id = {b})
                                            OR (bl.blocker_id = {b} AND bl.blocked_id = {a}))"
    )
}

fn account_exists(c: &mut dyn Conn, id: &str) -> AppResult<bool> {
    Ok(
        c.query_opt("SELECT 1 FROM accounts WHERE id = $1", args![id])?
            .is_some(),
    )
}

fn require_account(c: &mut dyn Conn, id: &str) -> AppResult<()> {
    if account_exists(c, id)? {
        Ok(())
    } else {
        Err(AppError::NotFound("account"))
    }
}

/// 404 when the account does not exist or a block stands between it and the viewer: a
/// blocked member sees nothing of the blocker (and the blocker nothing of them).
fn require_visible(c: &mut dyn Conn, viewer: Option<&str>, id: &str) -> AppResult<()> {
    require_account(c, id)?;
    if let Some(v) = viewer
        && v != id
        && blocked_between(c, v, id)?
    {
        return Err(AppError::NotFound("account"));
    }
    Ok(())
}

fn follows(c: &mut dyn Conn, follower: &str, followee: &str) -> AppResult<bool> {
    Ok(c.query_opt(
        "SELECT 1 FROM follows WHERE follower_id = $1 AND followee_id = $2",
        args![follower, followee],
    )?
    .is_some())
}

fn refuse_self(who: &Principal, target: &str, what: &str) -> AppResult<()> {
    if who.account_id == target {
        Err(AppError::invalid(
            "account_id",
            format!("you cannot {what} yourself"),
        ))
    } else {
        Ok(())
    }
}

/// Which list of an account's relations.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Relation {
    Followers,
    Following,
    Friends,
}

/// Runs a newest-first query over `inner` (a SELECT of `id, display_name, since` that may
/// use `$1` and `$2`) and pages it: `$3`–`$5` the key, `$6` the limit.
fn people_page(
    c: &mut dyn Conn,
    inner: &str,
    a: &str,
    b: &str,
    page: &PageRequest,
) -> AppResult<Page<Person>> {
    let after = page.keyset(Direction::NewestFirst, "x.since", "x.id", 3);
    let sql = format!(
        "SELECT x.id, x.display_name, x.since FROM ({inner}) x
         WHERE {}
         ORDER BY x.since DESC, x.id DESC LIMIT $6",
        after.sql
    );
    let mut params = args![a, b].to_vec();
    params.extend(after.args);
    params.push(page.fetch().into());
    let rows = c
        .query(&sql, &params)?
        .iter()
        .map(|r: &Row| {
            let since = r.int(2)?;
            Ok((
                since,
                Person {
                    id: AccountId::from_row(r.text(0)?),
                    display_name: r.text(1)?,
                    since: rfc3339(since),
                },
            ))
        })
        .collect::<AppResult<Vec<_>>>()?;
    Ok(Page::from_keyed(rows, page.limit, |p| &p.id))
}

/// `CASE` picking the later of two times (SQLite has no `GREATEST`, PostgreSQL no
/// two-argument `MAX`).
fn later(a: &str, b: &str) -> String {
    format!("CASE WHEN {a} > {b} THEN {a} ELSE {b} END")
}

impl App {
    /// The caller follows `target`. Idempotent: following again changes nothing. Refused
    /// for oneself (422), an unknown account (404), and across a block either way (403).
    pub async fn follow(&self, who: &Principal, target: &AccountId) -> AppResult<()> {
        refuse_self(who, target, "follow")?;
        let now = self.now_ms();
        let (me, target) = (who.account_id.clone(), target.clone());
        self.db
            .write(move |c| {
                require_account(c, &target)?;
                if blocked_between(c, &me, &target)? {
                    return Err(AppError::Forbidden(
                        "a block between you and this member prevents following".into(),
                    ));
                }
                let n = c.execute(
                    "INSERT INTO follows (follower_id, followee_id, created_at) VALUES ($1, $2, $3)
                     ON CONFLICT (follower_id, followee_id) DO NOTHING",
                    args![&me, &target, now],
                )?;
                if n == 1 {
                    let friends = follows(c, &target, &me)?;
                    outbox::emit(
                        c,
                        now,
                        "follow.created",
                        None,
                        &target,
                        &serde_json::json!({ "follower_id": me, "followee_id": target, "friends": friends }),
                    )?;
                }
                Ok(())
            })
            .await
    }

    /// The caller stops following `target` (nothing happens if they did not follow).
    pub async fn unfollow(&self, who: &Principal, target: &AccountId) -> AppResult<()> {
        refuse_self(who, target, "unfollow")?;
        let now = self.now_ms();
        let (me, target) = (who.account_id.clone(), target.clone());
        self.db
            .write(move |c| {
                require_account(c, &target)?;
                let n = c.execute(
                    "DELETE FROM follows WHERE follower_id = $1 AND followee_id = $2",
                    args![&me, &target],
                )?;
                if n == 1 {
                    outbox::emit(
                        c,
                        now,
                        "follow.removed",
                        None,
                        &target,
                        &serde_json::json!({ "follower_id": me, "followee_id": target }),
                    )?;
                }
                Ok(())
            })
            .await
    }

    /// The caller blocks `target`: the follows between them are removed both ways, and
    /// from now on neither sees or interacts with the other. Idempotent.
    pub async fn block(&self, who: &Principal, target: &AccountId) -> AppResult<()> {
        refuse_self(who, target, "block")?;
        let now = self.now_ms();
        let (me, target) = (who.account_id.clone(), target.clone());
        self.db
            .write(move |c| {
                require_account(c, &target)?;
                let n = c.execute(
                    "INSERT INTO blocks (blocker_id, blocked_id, created_at) VALUES ($1, $2, $3)
                     ON CONFLICT (blocker_id, blocked_id) DO NOTHING",
                    args![&me, &target, now],
                )?;
                let unfollowed = c.execute(
                    "DELETE FROM follows WHERE (follower_id = $1 AND followee_id = $2)
                                            OR (follower_id = $2 AND followee_id = $1)",
                    args![&me, &target],
                )?;
                if n == 1 {
                    outbox::emit(
                        c,
                        now,
                        "block.created",
                        None,
                        &target,
                        &serde_json::json!({ "blocker_id": me, "blocked_id": target, "follows_removed": unfollowed }),
                    )?;
                }
                Ok(())
            })
            .await
    }

    /// The caller lifts their block of `target` (follows removed by it stay removed).
    pub async fn unblock(&self, who: &Principal, target: &AccountId) -> AppResult<()> {
        refuse_self(who, target, "unblock")?;
        let now = self.now_ms();
        let (me, target) = (who.account_id.clone(), target.clone());
        self.db
            .write(move |c| {
                require_account(c, &target)?;
                let n = c.execute(
                    "DELETE FROM blocks WHERE blocker_id = $1 AND blocked_id = $2",
                    args![&me, &target],
                )?;
                if n == 1 {
                    outbox::emit(
                        c,
                        now,
                        "block.removed",
                        None,
                        &target,
                        &serde_json::json!({ "blocker_id": me, "blocked_id": target }),
                    )?;
                }
                Ok(())
            })
            .await
    }

    /// A member's public profile with counts, and how they relate to the caller.
    pub async fn profile(&self, viewer: Option<&Principal>, id: &AccountId) -> AppResult<Profile> {
        let (viewer, id) = (viewer.map(|p| p.account_id.clone()), id.clone());
        self.db
            .read(move |c| {
                require_visible(c, viewer.as_deref(), &id)?;
                let sql = format!(
                    "SELECT a.display_name,
                       (SELECT COUNT(*) FROM follows f WHERE f.followee_id = a.id AND {nb1}),
                       (SELECT COUNT(*) FROM follows f WHERE f.follower_id = a.id AND {nb2}),
                       (SELECT COUNT(*) FROM follows f JOIN follows g
                          ON g.follower_id = f.followee_id AND g.followee_id = f.follower_id
                        WHERE f.follower_id = a.id AND {nb2})
                     FROM accounts a WHERE a.id = $1",
                    nb1 = no_block("f.follower_id", "a.id"),
                    nb2 = no_block("f.followee_id", "a.id"),
                );
                let r = c.query_one(&sql, args![&id])?;
                let (followed_by_me, follows_me) = match viewer.as_deref() {
                    Some(v) if v != id.as_str() => (follows(c, v, &id)?, follows(c, &id, v)?),
                    _ => (false, false),
                };
                Ok(Profile {
                    id: id.clone(),
                    display_name: r.text(0)?,
                    followers: r.int(1)?,
                    following: r.int(2)?,
                    friends: r.int(3)?,
                    followed_by_me,
                    follows_me,
                    is_friend: followed_by_me && follows_me,
                })
            })
            .await
    }

    /// Followers, followees or friends of `id`, newest relation first. Accounts in a block
    /// with the viewer are left out; the whole list is 404 across a block.
    pub async fn relations(
        &self,
        viewer: Option<&Principal>,
        id: &AccountId,
        which: Relation,
        page: PageRequest,
    ) -> AppResult<Page<Person>> {
        let (viewer, id) = (viewer.map(|p| p.account_id.clone()), id.clone());
        self.db
            .read(move |c| {
                require_visible(c, viewer.as_deref(), &id)?;
                let inner = match which {
                    Relation::Followers => format!(
                        "SELECT a.id, a.display_name, f.created_at AS since FROM follows f
                         JOIN accounts a ON a.id = f.follower_id
                         WHERE f.followee_id = $1 AND {} AND {}",
                        no_block("f.follower_id", "$1"),
                        no_block("f.follower_id", "$2")
                    ),
                    Relation::Following => format!(
                        "SELECT a.id, a.display_name, f.created_at AS since FROM follows f
                         JOIN accounts a ON a.id = f.followee_id
                         WHERE f.follower_id = $1 AND {} AND {}",
                        no_block("f.followee_id", "$1"),
                        no_block("f.followee_id", "$2")
                    ),
                    Relation::Friends => format!(
                        "SELECT a.id, a.display_name, {} AS since FROM follows f
                         JOIN follows g ON g.follower_id = f.followee_id AND g.followee_id = f.follower_id
                         JOIN accounts a ON a.id = f.followee_id
                         WHERE f.follower_id = $1 AND {} AND {}",
                        later("f.created_at", "g.created_at"),
                        no_block("f.followee_id", "$1"),
                        no_block("f.followee_id", "$2")
                    ),
                };
                let v = viewer.as_deref().unwrap_or(NIL_ID);
                people_page(c, &inner, &id, v, &page)
            })
            .await
    }

    /// Friends the caller and `id` have in common, newest (caller's) friendship first.
    pub async fn mutual_friends(
        &self,
        who: &Principal,
        id: &AccountId,
        page: PageRequest,
    ) -> AppResult<Page<Person>> {
        let (me, id) = (who.account_id.clone(), id.clone());
        self.db
            .read(move |c| {
                require_visible(c, Some(&me), &id)?;
                // x is a friend of the caller ($2) and of the other member ($1).
                let inner = format!(
                    "SELECT a.id, a.display_name, {} AS since FROM follows f
                     JOIN follows g ON g.follower_id = f.followee_id AND g.followee_id = f.follower_id
                     JOIN accounts a ON a.id = f.followee_id
                     WHERE f.follower_id = $2 AND f.followee_id <> $1
                       AND EXISTS (SELECT 1 FROM follows h WHERE h.follower_id = $1 AND h.followee_id = f.followee_id)
                       AND EXISTS (SELECT 1 FROM follows k WHERE k.follower_id = f.followee_id AND k.followee_id = $1)
                       AND {} AND {}",
                    later("f.created_at", "g.created_at"),
                    no_block("f.followee_id", "$1"),
                    no_block("f.followee_id", "$2")
                );
                people_page(c, &inner, &id, &me, &page)
            })
            .await
    }

    /// The members the caller has blocked, most recent first (`since` = when).
    pub async fn blocked_accounts(
        &self,
        who: &Principal,
        page: PageRequest,
    ) -> AppResult<Page<Person>> {
        let me = who.account_id.clone();
        self.db
            .read(move |c| {
                // `$2` is unused by this list but bound like the others.
                let inner = "SELECT a.id, a.display_name, b.created_at AS since FROM blocks b
                             JOIN accounts a ON a.id = b.blocked_id
                             WHERE b.blocker_id = $1 AND b.blocker_id <> $2";
                people_page(c, inner, &me, NIL_ID, &page)
            })
            .await
    }
}
