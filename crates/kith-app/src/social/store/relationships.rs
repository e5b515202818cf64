//! Follows and blocks, the profile counts and the people lists built on them.

use kith_store::{Conn, Row, args};

use super::visibility::no_block;
use crate::platform::ids::AccountId;
use crate::platform::page::{Direction, NIL_ID, Page, PageRequest};
use crate::social::media::MediaRef;
use crate::social::relationships::{Person, Relation};
use crate::{AppResult, rfc3339};

pub(in crate::social) fn account_exists(c: &mut dyn Conn, id: &str) -> AppResult<bool> {
    Ok(
        c.query_opt("SELECT 1 FROM accounts WHERE id = $1", args![id])?
            .is_some(),
    )
}

pub(in crate::social) fn follows(
    c: &mut dyn Conn,
    follower: &str,
    followee: &str,
) -> AppResult<bool> {
    Ok(c.query_opt(
        "SELECT 1 FROM follows WHERE follower_id = $1 AND followee_id = $2",
        args![follower, followee],
    )?
    .is_some())
}

/// True when the follow is new (false when it already stood).
pub(in crate::social) fn insert_follow(
    c: &mut dyn Conn,
    follower: &str,
    followee: &str,
    now: i64,
) -> AppResult<bool> {
    Ok(c.execute(
        "INSERT INTO follows (follower_id, followee_id, created_at) VALUES ($1, $2, $3)
                     ON CONFLICT (follower_id, followee_id) DO NOTHING",
        args![follower, followee, now],
    )? == 1)
}

/// True when there was a follow to remove.
pub(in crate::social) fn delete_follow(
    c: &mut dyn Conn,
    follower: &str,
    followee: &str,
) -> AppResult<bool> {
    Ok(c.execute(
        "DELETE FROM follows WHERE follower_id = $1 AND followee_id = $2",
        args![follower, followee],
    )? == 1)
}

/// True when the block is new (false when it already stood).
pub(in crate::social) fn insert_block(
    c: &mut dyn Conn,
    blocker: &str,
    blocked: &str,
    now: i64,
) -> AppResult<bool> {
    Ok(c.execute(
        "INSERT INTO blocks (blocker_id, blocked_id, created_at) VALUES ($1, $2, $3)
                     ON CONFLICT (blocker_id, blocked_id) DO NOTHING",
        args![blocker, blocked, now],
    )? == 1)
}

/// Removes the follows between two members both ways; returns how many there were.
pub(in crate::social) fn delete_follows_between(
    c: &mut dyn Conn,
    a: &str,
    b: &str,
) -> AppResult<u64> {
    Ok(c.execute(
        "DELETE FROM follows WHERE (follower_id = $1 AND followee_id = $2)
                                            OR (follower_id = $2 AND followee_id = $1)",
        args![a, b],
    )?)
}

/// True when there was a block to lift.
pub(in crate::social) fn delete_block(
    c: &mut dyn Conn,
    blocker: &str,
    blocked: &str,
) -> AppResult<bool> {
    Ok(c.execute(
        "DELETE FROM blocks WHERE blocker_id = $1 AND blocked_id = $2",
        args![blocker, blocked],
    )? == 1)
}

/// A member's display name and their follower, following and friend counts, none across
/// a block, and their avatar's media id.
pub(in crate::social) fn profile_counts(
    c: &mut dyn Conn,
    id: &str,
) -> AppResult<(String, i64, i64, i64, Option<String>)> {
    let sql = format!(
        "SELECT a.display_name, a.avatar_media_id,
                       (SELECT COUNT(*) FROM follows f WHERE f.followee_id = a.id AND {nb1}),
                       (SELECT COUNT(*) FROM follows f WHERE f.follower_id = a.id AND {nb2}),
                       (SELECT COUNT(*) FROM follows f JOIN follows g
                          ON g.follower_id = f.followee_id AND g.followee_id = f.follower_id
                        WHERE f.follower_id = a.id AND {nb2})
                     FROM accounts a WHERE a.id = $1",
        nb1 = no_block("f.follower_id", "a.id"),
        nb2 = no_block("f.followee_id", "a.id"),
    );
    let r = c.query_one(&sql, args![id])?;
    Ok((r.text(0)?, r.int(2)?, r.int(3)?, r.int(4)?, r.opt_text(1)?))
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
        "SELECT x.id, x.display_name, x.since, av.avatar_media_id FROM ({inner}) x
         JOIN accounts av ON av.id = x.id
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
                    avatar: r.opt_text(3)?.map(|m| MediaRef::of(&m)),
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

/// Followers, followees or friends of `id`, newest relation first, leaving out accounts
/// in a block with `id` or with `viewer` (the nil id when anonymous).
pub(in crate::social) fn relations_page(
    c: &mut dyn Conn,
    id: &str,
    viewer: &str,
    which: Relation,
    page: &PageRequest,
) -> AppResult<Page<Person>> {
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
    people_page(c, &inner, id, viewer, page)
}

/// Friends `me` and `id` have in common, newest (`me`'s) friendship first.
pub(in crate::social) fn mutual_friends_page(
    c: &mut dyn Conn,
    id: &str,
    me: &str,
    page: &PageRequest,
) -> AppResult<Page<Person>> {
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
    people_page(c, &inner, id, me, page)
}

/// The members `me` has blocked, most recent first.
pub(in crate::social) fn blocked_page(
    c: &mut dyn Conn,
    me: &str,
    page: &PageRequest,
) -> AppResult<Page<Person>> {
    // `$2` is unused by this list but bound like the others.
    let inner = "SELECT a.id, a.display_name, b.created_at AS since FROM blocks b
                             JOIN accounts a ON a.id = b.blocked_id
                             WHERE b.blocker_id = $1 AND b.blocker_id <> $2";
    people_page(c, inner, me, NIL_ID, page)
}
