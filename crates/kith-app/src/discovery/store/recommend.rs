//! The reads behind social proof, recommendations and people you may know, and the
//! discovery settings row.

use std::collections::{HashMap, HashSet};

use kith_store::{Conn, Value, args, placeholders};

use super::{FRIENDS_OF_1, friend_purchases_of_1, no_block_with_1};
use crate::discovery::recommend::{MAX_ITEMS, ProofReview};
use crate::platform::ids::ReviewId;
use crate::social::posts::{PersonRef, Post, query_posts};
use crate::{AppResult, rfc3339};

// Columns of a review as social proof shows it (then `fr`: by one of the caller's friends).
kith_store::columns!(ProofCols {
    "rv.id" => id,
    "rv.author_id" => author_id,
    "a.display_name" => author_name,
    "a.avatar_media_id" => author_avatar,
    "rv.rating" => rating,
    "rv.body" => body,
    "rv.created_at" => created_at,
});

/// The names of the accounts among `ids`, by id.
pub(in crate::discovery) fn names(
    c: &mut dyn Conn,
    ids: &[String],
) -> AppResult<HashMap<String, PersonRef>> {
    if ids.is_empty() {
        return Ok(HashMap::new());
    }
    let params: Vec<Value> = ids.iter().map(Value::from).collect();
    let mut out = HashMap::new();
    for r in c.query(
        &format!(
            "SELECT id, display_name, avatar_media_id FROM accounts WHERE id IN ({})",
            placeholders(1, ids.len())
        ),
        &params,
    )? {
        let id = r.text(0)?;
        out.insert(id.clone(), PersonRef::of(id, r.text(1)?, r.opt_text(2)?));
    }
    Ok(out)
}

/// The account's `show_purchases_to_friends`, if it ever set it.
pub(in crate::discovery) fn show_purchases_setting(
    c: &mut dyn Conn,
    account_id: &str,
) -> AppResult<Option<i64>> {
    c.query_opt(
        "SELECT show_purchases_to_friends FROM discovery_settings WHERE account_id = $1",
        args![account_id],
    )?
    .map(|r| Ok(r.int(0)?))
    .transpose()
}

pub(in crate::discovery) fn upsert_settings(
    c: &mut dyn Conn,
    account_id: &str,
    show_purchases_to_friends: bool,
    now: i64,
) -> AppResult<()> {
    c.execute(
        "INSERT INTO discovery_settings (account_id, show_purchases_to_friends, updated_at)
                     VALUES ($1, $2, $3)
                     ON CONFLICT (account_id) DO UPDATE
                     SET show_purchases_to_friends = excluded.show_purchases_to_friends, updated_at = excluded.updated_at",
        args![account_id, show_purchases_to_friends, now],
    )?;
    Ok(())
}

/// Whether the merchant has the product, other than as a draft.
pub(in crate::discovery) fn product_listed(
    c: &mut dyn Conn,
    product_id: &str,
    merchant_id: &str,
) -> AppResult<bool> {
    Ok(c.query_opt(
        "SELECT 1 FROM products WHERE id = $1 AND merchant_id = $2 AND status <> 'draft'",
        args![product_id, merchant_id],
    )?
    .is_some())
}

/// The viewer's friends who bought the product, most recent buyer first: each one's id
/// and whether they allow being named.
pub(in crate::discovery) fn friend_buyers(
    c: &mut dyn Conn,
    me: &str,
    product_id: &str,
) -> AppResult<Vec<(String, bool)>> {
    // Every friend who bought it counts (the one rule, shared with search); only those
    // who allow it are named.
    let buyers = c.query(
        &format!(
            "SELECT fb.buyer_id, MAX(fb.bought_at) AS last_at,
                                MAX(CASE WHEN ds.show_purchases_to_friends IS NULL OR ds.show_purchases_to_friends THEN 1 ELSE 0 END)
                         FROM ({}) fb
                         LEFT JOIN discovery_settings ds ON ds.account_id = fb.buyer_id
                         WHERE fb.product_id = $2
                         GROUP BY fb.buyer_id
                         ORDER BY last_at DESC, fb.buyer_id",
            friend_purchases_of_1()
        ),
        args![me, product_id],
    )?;
    buyers
        .iter()
        .map(|r| Ok((r.text(0)?, r.int(2)? != 0)))
        .collect()
}

/// The product's visible reviews not across a block, friends' first, then newest first.
pub(in crate::discovery) fn proof_reviews(
    c: &mut dyn Conn,
    me: &str,
    product_id: &str,
) -> AppResult<Vec<ProofReview>> {
    let mut reviews = Vec::new();
    for r in c.query(
        &format!(
            "SELECT {}, CASE WHEN rv.author_id IN ({FRIENDS_OF_1}) THEN 1 ELSE 0 END AS fr
                         FROM reviews rv JOIN accounts a ON a.id = rv.author_id
                         WHERE rv.product_id = $2 AND rv.hidden_at IS NULL AND {}
                         ORDER BY fr DESC, rv.created_at DESC, rv.id DESC LIMIT {MAX_ITEMS}",
            ProofCols::LIST,
            no_block_with_1("rv.author_id")
        ),
        args![me, product_id],
    )? {
        reviews.push(ProofReview {
            id: ReviewId::from_row(r.text(ProofCols::id)?),
            author: PersonRef::of(
                r.text(ProofCols::author_id)?,
                r.text(ProofCols::author_name)?,
                r.opt_text(ProofCols::author_avatar)?,
            ),
            rating: r.int(ProofCols::rating)?,
            body: r.text(ProofCols::body)?,
            created_at: rfc3339(r.int(ProofCols::created_at)?),
            // `fr`, right after the review's columns.
            by_friend: r.int(ProofCols::created_at + 1)? != 0,
        });
    }
    Ok(reviews)
}

/// Friends' posts the viewer may see that tag the product, newest first.
pub(in crate::discovery) fn friend_posts_tagging(
    c: &mut dyn Conn,
    me: &str,
    product_id: &str,
) -> AppResult<Vec<Post>> {
    Ok(query_posts(
        c,
        me,
        &format!(
            "p.author_id IN ({FRIENDS_OF_1}) AND EXISTS (SELECT 1 FROM post_tags t JOIN skus s ON s.id = t.sku_id
                                  WHERE t.post_id = p.id AND s.product_id = $2)"
        ),
        vec![Value::from(product_id)],
        &format!("ORDER BY p.created_at DESC, p.id DESC LIMIT {MAX_ITEMS}"),
    )?
    .into_iter()
    .map(|(_, p)| p)
    .collect())
}

/// What the viewer's friends did for products: (product, friend, strength) rows — a
/// review of 4 or 5 stars 3, a visible post tagging it 2, a like of such a post 1.
pub(in crate::discovery) fn friend_signals(
    c: &mut dyn Conn,
    me: &str,
) -> AppResult<Vec<(String, String, i64)>> {
    let visible = crate::social::visibility::post_visible("$1");
    let sql = format!(
        "SELECT rv.product_id, rv.author_id, 3 FROM reviews rv
                      WHERE rv.rating >= 4 AND rv.hidden_at IS NULL AND rv.author_id IN ({FRIENDS_OF_1})
                     UNION ALL
                     SELECT s.product_id, p.author_id, 2 FROM posts p
                       JOIN post_tags t ON t.post_id = p.id JOIN skus s ON s.id = t.sku_id
                      WHERE p.author_id IN ({FRIENDS_OF_1}) AND {visible}
                     UNION ALL
                     SELECT s.product_id, l.account_id, 1 FROM post_likes l
                       JOIN posts p ON p.id = l.post_id
                       JOIN post_tags t ON t.post_id = p.id JOIN skus s ON s.id = t.sku_id
                      WHERE l.account_id IN ({FRIENDS_OF_1}) AND {visible}"
    );
    c.query(&sql, args![me])?
        .iter()
        .map(|r| Ok((r.text(0)?, r.text(1)?, r.int(2)?)))
        .collect()
}

/// Everyone the viewer blocked or who blocked the viewer.
pub(in crate::discovery) fn blocked_either_way(
    c: &mut dyn Conn,
    me: &str,
) -> AppResult<HashSet<String>> {
    Ok(c.query(
        "SELECT blocked_id FROM blocks WHERE blocker_id = $1
                         UNION SELECT blocker_id FROM blocks WHERE blocked_id = $1",
        args![me],
    )?
    .iter()
    .map(|r| r.text(0))
    .collect::<Result<_, _>>()?)
}

/// An active product's merchant, name, lowest list price and picture (the first of its
/// images).
pub(in crate::discovery) type ProductFacts = (String, String, Option<i64>, Option<String>);

/// Of `ids` (at most 500), the active products: merchant, name, lowest price and picture
/// by id.
pub(in crate::discovery) fn active_products(
    c: &mut dyn Conn,
    ids: &[String],
) -> AppResult<Vec<(String, ProductFacts)>> {
    let params: Vec<Value> = ids.iter().map(Value::from).collect();
    c.query(
        &format!(
            "SELECT pr.id, pr.merchant_id, pr.name,
                                    (SELECT MIN(s.list_price_fen) FROM skus s WHERE s.product_id = pr.id),
                                    pr.images
                             FROM products pr WHERE pr.status = 'active' AND pr.id IN ({})",
            placeholders(1, ids.len())
        ),
        &params,
    )?
    .iter()
    .map(|r| {
        let images: Vec<String> = serde_json::from_str(&r.text(4)?)
            .map_err(|e| crate::AppError::Internal(format!("stored product images: {e}")))?;
        Ok((
            r.text(0)?,
            (
                r.text(1)?,
                r.text(2)?,
                r.opt_int(3)?,
                images.into_iter().next(),
            ),
        ))
    })
    .collect()
}

/// Friends of the viewer's friends, with how many of the viewer's friends each is a
/// friend of.
pub(in crate::discovery) fn mutual_friend_counts(
    c: &mut dyn Conn,
    me: &str,
) -> AppResult<HashMap<String, i64>> {
    let mut mutual = HashMap::new();
    for r in c.query(
        &format!(
            "SELECT g1.followee_id, COUNT(DISTINCT g1.follower_id) FROM follows g1
                         JOIN follows g2 ON g2.follower_id = g1.followee_id AND g2.followee_id = g1.follower_id
                         WHERE g1.follower_id IN ({FRIENDS_OF_1})
                         GROUP BY g1.followee_id"
        ),
        args![me],
    )? {
        mutual.insert(r.text(0)?, r.int(1)?);
    }
    Ok(mutual)
}

/// Active members of the viewer's communities, with how many of them each shares.
pub(in crate::discovery) fn shared_community_counts(
    c: &mut dyn Conn,
    me: &str,
) -> AppResult<HashMap<String, i64>> {
    let mut shared = HashMap::new();
    for r in c.query(
        "SELECT m2.account_id, COUNT(*) FROM community_members m1
                     JOIN community_members m2 ON m2.community_id = m1.community_id AND m2.state = 'active'
                     WHERE m1.account_id = $1 AND m1.state = 'active'
                     GROUP BY m2.account_id",
        args![me],
    )? {
        shared.insert(r.text(0)?, r.int(1)?);
    }
    Ok(shared)
}
