//! The reads behind the merchant's analytics. Insight writes nothing: every statement here
//! reads other contexts' tables (communities and members, posts and their interactions,
//! orders and their attribution, share links, referrer bindings, 接龙 batches) for the
//! figures in `community`, `merchant`, `leaders` and the graph snapshot in `graph`.

use std::collections::{HashMap, HashSet};

use kith_store::{Conn, Value, args};

use super::community::PoolMember;
use crate::AppResult;

// ---------------------------------------------------------------------------------------
// Access and lists

/// Whether the community is the merchant's.
pub(super) fn is_merchant_community(
    c: &mut dyn Conn,
    community_id: &str,
    merchant_id: &str,
) -> AppResult<bool> {
    Ok(c.query_opt(
        "SELECT 1 FROM communities WHERE id = $1 AND merchant_id = $2",
        args![community_id, merchant_id],
    )?
    .is_some())
}

/// The merchant's communities, oldest first.
pub(super) fn merchant_community_ids(
    c: &mut dyn Conn,
    merchant_id: &str,
) -> AppResult<Vec<String>> {
    Ok(c.query(
        "SELECT id FROM communities WHERE merchant_id = $1 ORDER BY created_at, id",
        args![merchant_id],
    )?
    .iter()
    .map(|r| r.text(0))
    .collect::<Result<Vec<_>, _>>()?)
}

// ---------------------------------------------------------------------------------------
// One community

/// Active members of a community who did something on the platform since `since`: wrote
/// a post, liked, commented, shared, followed a share link, or placed an order.
pub(super) fn active_members(
    c: &mut dyn Conn,
    community_id: &str,
    since: i64,
) -> AppResult<Vec<String>> {
    Ok(c.query(
        "SELECT m.account_id FROM community_members m
         WHERE m.community_id = $1 AND m.state = 'active' AND (
               EXISTS (SELECT 1 FROM posts p WHERE p.author_id = m.account_id AND p.created_at >= $2 AND p.deleted_at IS NULL)
            OR EXISTS (SELECT 1 FROM post_likes l WHERE l.account_id = m.account_id AND l.created_at >= $2)
            OR EXISTS (SELECT 1 FROM comments x WHERE x.author_id = m.account_id AND x.created_at >= $2 AND x.deleted_at IS NULL)
            OR EXISTS (SELECT 1 FROM post_shares s WHERE s.account_id = m.account_id AND s.created_at >= $2)
            OR EXISTS (SELECT 1 FROM share_visits v WHERE v.visitor_id = m.account_id AND v.at >= $2)
            OR EXISTS (SELECT 1 FROM orders o WHERE o.buyer_id = m.account_id AND o.created_at >= $2))
         ORDER BY m.account_id",
        args![community_id, since],
    )?
    .iter()
    .map(|r| r.text(0))
    .collect::<Result<_, _>>()?)
}

/// Who interacted with whom among the community's active members since `since` (likes and
/// comments on each other's posts, visits of each other's share links, purchases one made
/// on the other's referral), as unordered distinct pairs.
pub(super) fn interaction_pairs(
    c: &mut dyn Conn,
    community_id: &str,
    since: i64,
) -> AppResult<HashSet<(String, String)>> {
    let rows = c.query(
        "SELECT l.account_id, p.author_id FROM post_likes l
           JOIN posts p ON p.id = l.post_id
           JOIN community_members a ON a.community_id = $1 AND a.account_id = l.account_id AND a.state = 'active'
           JOIN community_members b ON b.community_id = $1 AND b.account_id = p.author_id AND b.state = 'active'
         WHERE l.created_at >= $2 AND l.account_id <> p.author_id AND p.deleted_at IS NULL
         UNION ALL
         SELECT x.author_id, p.author_id FROM comments x
           JOIN posts p ON p.id = x.post_id
           JOIN community_members a ON a.community_id = $1 AND a.account_id = x.author_id AND a.state = 'active'
           JOIN community_members b ON b.community_id = $1 AND b.account_id = p.author_id AND b.state = 'active'
         WHERE x.created_at >= $2 AND x.author_id <> p.author_id AND x.deleted_at IS NULL AND p.deleted_at IS NULL
         UNION ALL
         SELECT v.visitor_id, l.sharer_id FROM share_visits v
           JOIN share_links l ON l.id = v.link_id
           JOIN community_members a ON a.community_id = $1 AND a.account_id = v.visitor_id AND a.state = 'active'
           JOIN community_members b ON b.community_id = $1 AND b.account_id = l.sharer_id AND b.state = 'active'
         WHERE v.at >= $2 AND v.visitor_id <> l.sharer_id
         UNION ALL
         SELECT r.buyer_id, r.beneficiary_id FROM order_attributions r
           JOIN orders o ON o.id = r.order_id
           JOIN community_members a ON a.community_id = $1 AND a.account_id = r.buyer_id AND a.state = 'active'
           JOIN community_members b ON b.community_id = $1 AND b.account_id = r.beneficiary_id AND b.state = 'active'
         WHERE o.paid_at IS NOT NULL AND o.paid_at >= $2 AND r.buyer_id <> r.beneficiary_id",
        args![community_id, since],
    )?;
    let mut pairs = HashSet::new();
    for r in rows {
        let (a, b) = (r.text(0)?, r.text(1)?);
        pairs.insert(if a < b { (a, b) } else { (b, a) });
    }
    Ok(pairs)
}

/// A community's name and how many active members it has.
pub(super) fn community_name_and_size(
    c: &mut dyn Conn,
    community_id: &str,
) -> AppResult<(String, i64)> {
    let row = c.query_one(
        "SELECT name, (SELECT COUNT(*) FROM community_members m WHERE m.community_id = $1 AND m.state = 'active')
         FROM communities WHERE id = $1",
        args![community_id],
    )?;
    Ok((row.text(0)?, row.int(1)?))
}

/// The sum and count of visible ratings of the products the community's active members
/// bought from the merchant.
pub(super) fn community_product_ratings(
    c: &mut dyn Conn,
    community_id: &str,
    merchant_id: &str,
) -> AppResult<(i64, i64)> {
    let r = c.query_one(
        "SELECT CAST(COALESCE(SUM(r.rating), 0) AS bigint), COUNT(*) FROM reviews r
         WHERE r.hidden_at IS NULL AND r.product_id IN (
             SELECT s.product_id FROM order_lines l
               JOIN orders o ON o.id = l.order_id
               JOIN skus s ON s.id = l.sku_id
               JOIN community_members m ON m.community_id = $1 AND m.account_id = o.buyer_id AND m.state = 'active'
             WHERE o.merchant_id = $2 AND o.paid_at IS NOT NULL)",
        args![community_id, merchant_id],
    )?;
    Ok((r.int(0)?, r.int(1)?))
}

/// The sum and count of every visible rating on the platform.
pub(super) fn platform_ratings(c: &mut dyn Conn) -> AppResult<(i64, i64)> {
    let p = c.query_one(
        "SELECT CAST(COALESCE(SUM(rating), 0) AS bigint), COUNT(*) FROM reviews WHERE hidden_at IS NULL",
        &[],
    )?;
    Ok((p.int(0)?, p.int(1)?))
}

/// How many of the merchant's paid, not fully refunded orders since `since` each buyer
/// placed (only the community's active members, with one).
pub(super) fn orders_per_buyer(
    c: &mut dyn Conn,
    merchant_id: &str,
    community_id: Option<&str>,
    since: i64,
) -> AppResult<Vec<i64>> {
    let mut params = args![merchant_id, since].to_vec();
    let scope = match community_id {
        Some(cid) => {
            params.push(Value::from(cid));
            " AND o.buyer_id IN (SELECT account_id FROM community_members WHERE community_id = $3 AND state = 'active')"
        }
        None => "",
    };
    let rows = c.query(
        &format!(
            "SELECT o.buyer_id, COUNT(*) FROM orders o
             WHERE o.merchant_id = $1 AND o.paid_at IS NOT NULL AND o.paid_at >= $2 AND o.status <> 'refunded'{scope}
             GROUP BY o.buyer_id"
        ),
        &params,
    )?;
    rows.iter().map(|r| Ok(r.int(1)?)).collect()
}

/// Everyone who ever was a member (and not only pending), in the order they joined: id,
/// inviter, name.
pub(super) fn fission_members(
    c: &mut dyn Conn,
    community_id: &str,
) -> AppResult<Vec<(String, Option<String>, String)>> {
    let rows = c.query(
        "SELECT m.account_id, m.invited_by, a.display_name FROM community_members m
           JOIN accounts a ON a.id = m.account_id
         WHERE m.community_id = $1 AND m.state IN ('active', 'left', 'removed', 'banned')
         ORDER BY m.joined_at, m.account_id",
        args![community_id],
    )?;
    rows.iter()
        .map(|r| Ok((r.text(0)?, r.opt_text(1)?, r.text(2)?)))
        .collect()
}

// ---------------------------------------------------------------------------------------
// The merchant's pool

/// Membership events of the merchant's communities up to `now`, in order: (community,
/// account, event, at).
pub(super) fn pool_membership_events(
    c: &mut dyn Conn,
    merchant_id: &str,
    now: i64,
) -> AppResult<Vec<(String, String, String, i64)>> {
    let mut rows = Vec::new();
    for r in c.query(
        "SELECT e.community_id, e.account_id, e.event, e.at FROM community_member_events e
           JOIN communities k ON k.id = e.community_id
         WHERE k.merchant_id = $1 AND e.at <= $2
         ORDER BY e.at, e.id",
        args![merchant_id, now],
    )? {
        rows.push((r.text(0)?, r.text(1)?, r.text(2)?, r.int(3)?));
    }
    Ok(rows)
}

/// Bindings to the merchant made up to `now`: (member, bound at, expires at).
pub(super) fn bindings_until(
    c: &mut dyn Conn,
    merchant_id: &str,
    now: i64,
) -> AppResult<Vec<(String, i64, Option<i64>)>> {
    c.query(
        "SELECT member_id, bound_at, expires_at FROM referrer_bindings WHERE merchant_id = $1 AND bound_at <= $2",
        args![merchant_id, now],
    )?
    .iter()
    .map(|r| Ok((r.text(0)?, r.int(1)?, r.opt_int(2)?)))
    .collect()
}

/// Net GMV (paid − refunded) per beneficiary of the merchant's orders paid since `since`.
pub(super) fn attributed_gmv(
    c: &mut dyn Conn,
    merchant_id: &str,
    since: i64,
) -> AppResult<HashMap<String, i64>> {
    c.query(
        "SELECT a.beneficiary_id, CAST(COALESCE(SUM(o.paid_fen - o.refunded_fen), 0) AS bigint)
         FROM order_attributions a JOIN orders o ON o.id = a.order_id
         WHERE a.merchant_id = $1 AND a.beneficiary_id IS NOT NULL AND o.paid_at IS NOT NULL
           AND o.paid_at >= $2 AND o.status <> 'refunded'
         GROUP BY a.beneficiary_id",
        args![merchant_id, since],
    )?
    .iter()
    .map(|r| Ok((r.text(0)?, r.int(1)?)))
    .collect()
}

/// Members bound to the merchant now: id, name, followers.
pub(super) fn live_bound_members(
    c: &mut dyn Conn,
    merchant_id: &str,
    now: i64,
) -> AppResult<Vec<(String, String, i64)>> {
    c.query(
        "SELECT b.member_id, a.display_name,
                    (SELECT COUNT(*) FROM follows f WHERE f.followee_id = b.member_id)
             FROM referrer_bindings b JOIN accounts a ON a.id = b.member_id
             WHERE b.merchant_id = $1 AND (b.expires_at IS NULL OR b.expires_at > $2)
             ORDER BY b.member_id",
        args![merchant_id, now],
    )?
    .iter()
    .map(|r| Ok((r.text(0)?, r.text(1)?, r.int(2)?)))
    .collect()
}

/// Active members of a community, or of any of the merchant's communities, in id order
/// (their GMV left 0).
pub(super) fn community_members(
    c: &mut dyn Conn,
    merchant_id: &str,
    community_id: Option<&str>,
) -> AppResult<Vec<PoolMember>> {
    let (filter, params) = match community_id {
        Some(cid) => ("m.community_id = $1", args![cid].to_vec()),
        None => (
            "m.community_id IN (SELECT id FROM communities WHERE merchant_id = $1)",
            args![merchant_id].to_vec(),
        ),
    };
    c.query(
        &format!(
            "SELECT m.account_id, a.display_name,
                    CAST(MAX(CASE WHEN m.opinion_leader THEN 1 ELSE 0 END) AS bigint),
                    (SELECT COUNT(*) FROM follows f WHERE f.followee_id = m.account_id)
             FROM community_members m JOIN accounts a ON a.id = m.account_id
             WHERE {filter} AND m.state = 'active'
             GROUP BY m.account_id, a.display_name
             ORDER BY m.account_id"
        ),
        &params,
    )?
    .iter()
    .map(|r| {
        Ok(PoolMember {
            id: r.text(0)?,
            name: r.text(1)?,
            opinion_leader: r.int(2)? != 0,
            followers: r.int(3)?,
            gmv_fen: 0,
        })
    })
    .collect()
}

/// The merchant's pool now: active members of its communities and live bindings.
pub(super) fn pool_ids(
    c: &mut dyn Conn,
    merchant_id: &str,
    now: i64,
) -> AppResult<HashSet<String>> {
    c.query(
        "SELECT account_id FROM community_members
         WHERE state = 'active' AND community_id IN (SELECT id FROM communities WHERE merchant_id = $1)
         UNION
         SELECT member_id FROM referrer_bindings
         WHERE merchant_id = $1 AND (expires_at IS NULL OR expires_at > $2)",
        args![merchant_id, now],
    )?
    .iter()
    .map(|r| Ok(r.text(0)?))
    .collect()
}

// ---------------------------------------------------------------------------------------
// Money sharing

/// Paid orders of the merchant since `since` that are not fully refunded, with their
/// attribution: (channel, beneficiary, link, net GMV). An order without an attribution row
/// (the merchant had no commission plan at checkout) is a group-buy order if it holds a
/// seat, else direct.
const ORDERS_WITH_ATTRIBUTION: &str = "SELECT COALESCE(a.channel, CASE WHEN s.order_id IS NULL THEN 'none' ELSE 'group_buy' END),
            a.beneficiary_id, a.link_id, o.paid_fen - o.refunded_fen
     FROM orders o LEFT JOIN order_attributions a ON a.order_id = o.id
     LEFT JOIN group_seats s ON s.order_id = o.id
     WHERE o.merchant_id = $1 AND o.paid_at IS NOT NULL AND o.paid_at >= $2 AND o.status <> 'refunded'";

/// One order as [`attributed_orders`] reads it: (channel, beneficiary, link, net GMV).
pub(super) type AttributedOrder = (String, Option<String>, Option<String>, i64);

pub(super) fn attributed_orders(
    c: &mut dyn Conn,
    merchant_id: &str,
    since: i64,
) -> AppResult<Vec<AttributedOrder>> {
    c.query(ORDERS_WITH_ATTRIBUTION, args![merchant_id, since])?
        .iter()
        .map(|r| Ok((r.text(0)?, r.opt_text(1)?, r.opt_text(2)?, r.int(3)?)))
        .collect()
}

/// One share link as the funnel reads it: (link, sharer, sharer's name, kind, target).
pub(super) type ShareLinkRow = (String, String, String, String, String);

/// The merchant's share links.
pub(super) fn merchant_share_links(
    c: &mut dyn Conn,
    merchant_id: &str,
) -> AppResult<Vec<ShareLinkRow>> {
    c.query(
        "SELECT l.id, l.sharer_id, a.display_name, l.kind, l.target_id
         FROM share_links l
           JOIN share_link_merchants lm ON lm.link_id = l.id AND lm.merchant_id = $1
           JOIN accounts a ON a.id = l.sharer_id",
        args![merchant_id],
    )?
    .iter()
    .map(|r| Ok((r.text(0)?, r.text(1)?, r.text(2)?, r.text(3)?, r.text(4)?)))
    .collect()
}

/// A post's author name and body, only when anyone may read it: a report must not show
/// staff a friends-only, hidden or deleted post.
pub(super) fn public_post_label(
    c: &mut dyn Conn,
    post_id: &str,
) -> AppResult<Option<(String, String)>> {
    c.query_opt(
        "SELECT a.display_name, p.body FROM posts p JOIN accounts a ON a.id = p.author_id
                 WHERE p.id = $1 AND p.visibility = 'public' AND p.hidden_at IS NULL AND p.deleted_at IS NULL",
        args![post_id],
    )?
    .map(|p| Ok((p.text(0)?, p.text(1)?)))
    .transpose()
}

/// Visits of the merchant's share links since `since`: (link, signed-in visitor).
pub(super) fn share_visits_since(
    c: &mut dyn Conn,
    merchant_id: &str,
    since: i64,
) -> AppResult<Vec<(String, Option<String>)>> {
    c.query(
        "SELECT v.link_id, v.visitor_id FROM share_visits v
           JOIN share_link_merchants lm ON lm.link_id = v.link_id AND lm.merchant_id = $1
         WHERE v.at >= $2",
        args![merchant_id, since],
    )?
    .iter()
    .map(|r| Ok((r.text(0)?, r.opt_text(1)?)))
    .collect()
}

/// The link of each sign-up through the merchant's share links since `since`.
pub(super) fn share_signups_since(
    c: &mut dyn Conn,
    merchant_id: &str,
    since: i64,
) -> AppResult<Vec<String>> {
    c.query(
        "SELECT s.link_id FROM share_signups s
           JOIN share_link_merchants lm ON lm.link_id = s.link_id AND lm.merchant_id = $1
         WHERE s.at >= $2",
        args![merchant_id, since],
    )?
    .iter()
    .map(|r| Ok(r.text(0)?))
    .collect()
}

/// The merchant's referrer bindings in the order they were made: (member, member's name,
/// referrer, referrer's name).
pub(super) fn binding_edges(
    c: &mut dyn Conn,
    merchant_id: &str,
) -> AppResult<Vec<(String, String, String, String)>> {
    c.query(
        "SELECT b.member_id, m.display_name, b.referrer_id, r.display_name
         FROM referrer_bindings b
           JOIN accounts m ON m.id = b.member_id
           JOIN accounts r ON r.id = b.referrer_id
         WHERE b.merchant_id = $1
         ORDER BY b.bound_at, b.member_id",
        args![merchant_id],
    )?
    .iter()
    .map(|r| Ok((r.text(0)?, r.text(1)?, r.text(2)?, r.text(3)?)))
    .collect()
}

// ---------------------------------------------------------------------------------------
// Leaders (团长)

/// The merchant's approved and suspended leaders, oldest first: (leader, name, point
/// name, status).
pub(super) fn merchant_leaders(
    c: &mut dyn Conn,
    merchant_id: &str,
) -> AppResult<Vec<(String, String, String, String)>> {
    c.query(
        "SELECT l.id, a.display_name, l.point_name, l.status FROM leaders l JOIN accounts a ON a.id = l.account_id
         WHERE l.merchant_id = $1 AND l.status IN ('approved', 'suspended') ORDER BY l.created_at, l.id",
        args![merchant_id],
    )?
    .iter()
    .map(|l| Ok((l.text(0)?, l.text(1)?, l.text(2)?, l.text(3)?)))
    .collect()
}

/// Orders fixed in the merchant's batches since `since`: (leader, buyer, net GMV, order
/// status).
pub(super) fn fixed_batch_orders(
    c: &mut dyn Conn,
    merchant_id: &str,
    since: i64,
) -> AppResult<Vec<(String, String, i64, String)>> {
    c.query(
        "SELECT j.leader_id, j.account_id, o.paid_fen - o.refunded_fen, o.status
         FROM batch_orders j JOIN orders o ON o.id = j.order_id JOIN batches b ON b.id = j.batch_id
         WHERE b.merchant_id = $1 AND j.state = 'fixed' AND j.joined_at >= $2",
        args![merchant_id, since],
    )?
    .iter()
    .map(|r| Ok((r.text(0)?, r.text(1)?, r.int(2)?, r.text(3)?)))
    .collect()
}

/// Accounts that lead, or apply to lead, for the merchant.
pub(super) fn leading_accounts(c: &mut dyn Conn, merchant_id: &str) -> AppResult<Vec<String>> {
    c.query(
        "SELECT account_id FROM leaders WHERE merchant_id = $1 AND status <> 'refused'",
        args![merchant_id],
    )?
    .iter()
    .map(|r| r.text(0).map_err(Into::into))
    .collect::<AppResult<Vec<_>>>()
}

// ---------------------------------------------------------------------------------------
// The graph snapshot

/// The rows the graph snapshot is built from: every account, and `(from, to)` pairs of
/// each kind of edge (follows all; the others since `since`).
pub(super) struct EdgeLists {
    pub(super) accounts: Vec<String>,
    pub(super) follows: Vec<(String, String)>,
    pub(super) likes: Vec<(String, String)>,
    pub(super) comments: Vec<(String, String)>,
    pub(super) invites: Vec<(String, String)>,
    pub(super) visits: Vec<(String, String)>,
    pub(super) referred: Vec<(String, String)>,
}

pub(super) fn edge_lists(c: &mut dyn Conn, since: i64) -> AppResult<EdgeLists> {
    let accounts = c
        .query("SELECT id FROM accounts ORDER BY id", &[])?
        .iter()
        .map(|r| r.text(0))
        .collect::<Result<Vec<_>, _>>()?;
    let pairs =
        |c: &mut dyn Conn, sql: &str, params: &[Value]| -> AppResult<Vec<(String, String)>> {
            c.query(sql, params)?
                .iter()
                .map(|r| Ok((r.text(0)?, r.text(1)?)))
                .collect()
        };
    let follows = pairs(c, "SELECT follower_id, followee_id FROM follows", &[])?;
    let likes = pairs(
        c,
        "SELECT l.account_id, p.author_id FROM post_likes l JOIN posts p ON p.id = l.post_id
         WHERE l.created_at >= $1 AND p.deleted_at IS NULL",
        args![since],
    )?;
    let comments = pairs(
        c,
        "SELECT c.author_id, p.author_id FROM comments c JOIN posts p ON p.id = c.post_id
         WHERE c.created_at >= $1 AND c.deleted_at IS NULL AND p.deleted_at IS NULL",
        args![since],
    )?;
    let invites = pairs(
        c,
        "SELECT account_id, invited_by FROM community_members
         WHERE invited_by IS NOT NULL AND joined_at >= $1",
        args![since],
    )?;
    let visits = pairs(
        c,
        "SELECT v.visitor_id, l.sharer_id FROM share_visits v JOIN share_links l ON l.id = v.link_id
         WHERE v.visitor_id IS NOT NULL AND v.at >= $1",
        args![since],
    )?;
    let referred = pairs(
        c,
        "SELECT a.buyer_id, a.beneficiary_id FROM order_attributions a JOIN orders o ON o.id = a.order_id
         WHERE a.beneficiary_id IS NOT NULL AND o.paid_at IS NOT NULL AND o.paid_at >= $1",
        args![since],
    )?;
    Ok(EdgeLists {
        accounts,
        follows,
        likes,
        comments,
        invites,
        visits,
        referred,
    })
}
