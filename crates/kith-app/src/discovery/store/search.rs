//! The reads behind search: the searcher's circle, the storage re-checks of index hits,
//! and the documents the index is fed from the outbox.

use std::collections::{HashMap, HashSet};

use kith_domain::Fen;
use kith_search::rank::Interactions;
use kith_search::{Doc, Hit, Kind};
use kith_store::{Conn, Value, args, placeholders};

use super::{FRIENDS_OF_1, friend_purchases_of_1, in_list};
use crate::AppResult;
use crate::discovery::search::{CommunityHit, PersonHit, ProductHit};
use crate::platform::ids::{AccountId, CommunityId, MerchantId, ProductId};
use crate::social::visibility::post_visible;

/// The viewer's friends (`f`), followees (`o`), communities (`c`) and blocks either way
/// (`b`), in one query: (kind, id) rows.
pub(in crate::discovery) fn circle_rows(
    c: &mut dyn Conn,
    me: &str,
) -> AppResult<Vec<(String, String)>> {
    let sql =
        "SELECT 'f', f1.followee_id FROM follows f1
             JOIN follows f2 ON f2.follower_id = f1.followee_id AND f2.followee_id = f1.follower_id
             WHERE f1.follower_id = $1
             UNION ALL SELECT 'o', followee_id FROM follows WHERE follower_id = $1
             UNION ALL SELECT 'c', community_id FROM community_members WHERE account_id = $1 AND state = 'active'
             UNION ALL SELECT 'b', blocked_id FROM blocks WHERE blocker_id = $1
             UNION ALL SELECT 'b', blocker_id FROM blocks WHERE blocked_id = $1"
        ;
    c.query(sql, args![me])?
        .iter()
        .map(|r| Ok((r.text(0)?, r.text(1)?)))
        .collect()
}

/// Every active member of the viewer's communities (the viewer among them).
pub(in crate::discovery) fn co_members(c: &mut dyn Conn, me: &str) -> AppResult<HashSet<String>> {
    c.query(
        "SELECT DISTINCT m2.account_id FROM community_members m1
             JOIN community_members m2 ON m2.community_id = m1.community_id AND m2.state = 'active'
             WHERE m1.account_id = $1 AND m1.state = 'active'",
        args![me],
    )?
    .iter()
    .map(|r| Ok(r.text(0)?))
    .collect()
}

/// Of `who`, those who share a community with the viewer, and those who are friends of
/// the viewer's friends.
pub(in crate::discovery) fn closeness_among(
    c: &mut dyn Conn,
    me: &str,
    who: &[String],
) -> AppResult<(Vec<String>, Vec<String>)> {
    let (list, ids) = in_list(2, who.iter().map(String::as_str));
    let mut params = vec![Value::from(me)];
    params.extend(ids);
    let mut co = Vec::new();
    for r in c.query(
        &format!(
            "SELECT DISTINCT m2.account_id FROM community_members m1
                     JOIN community_members m2 ON m2.community_id = m1.community_id AND m2.state = 'active'
                     WHERE m1.account_id = $1 AND m1.state = 'active' AND m2.account_id IN ({list})"
        ),
        &params,
    )? {
        co.push(r.text(0)?);
    }
    let mut fof = Vec::new();
    for r in c.query(
        &format!(
            "SELECT DISTINCT g1.followee_id FROM follows g1
                     JOIN follows g2 ON g2.follower_id = g1.followee_id AND g2.followee_id = g1.follower_id
                     WHERE g1.follower_id IN ({FRIENDS_OF_1}) AND g1.followee_id IN ({list})"
        ),
        &params,
    )? {
        fof.push(r.text(0)?);
    }
    Ok((co, fof))
}

/// Of the hits, the posts the viewer may see (the one SQL rule): id, author, creation
/// time (ms) and interactions.
pub(in crate::discovery) fn visible_post_facts(
    c: &mut dyn Conn,
    viewer: &str,
    hits: &[Hit],
) -> AppResult<Vec<(String, String, i64, Interactions)>> {
    let (list, ids) = in_list(2, hits.iter().map(|h| h.id.as_str()));
    let mut params = vec![Value::from(viewer)];
    params.extend(ids);
    let sql = format!(
        "SELECT p.id, p.author_id, p.created_at, p.like_count, p.comment_count, p.share_count
         FROM posts p WHERE p.id IN ({}) AND {}",
        list,
        post_visible("$1")
    );
    let mut out = Vec::new();
    for r in c.query(&sql, &params)? {
        out.push((
            r.text(0)?,
            r.text(1)?,
            r.int(2)?,
            Interactions {
                likes: r.int(3)?,
                comments: r.int(4)?,
                shares: r.int(5)?,
            },
        ));
    }
    Ok(out)
}

/// Of the hits, the active products, with their lowest price and how many of the
/// viewer's friends bought each.
pub(in crate::discovery) fn product_hits(
    c: &mut dyn Conn,
    viewer: &str,
    hits: &[Hit],
) -> AppResult<Vec<ProductHit>> {
    let (list, ids) = in_list(2, hits.iter().map(|h| h.id.as_str()));
    let mut params = vec![Value::from(viewer)];
    params.extend(ids);
    let sql = format!(
        "SELECT pr.id, pr.merchant_id, pr.name, pr.description,
            (SELECT MIN(s.list_price_fen) FROM skus s WHERE s.product_id = pr.id),
            (SELECT COUNT(DISTINCT fb.buyer_id) FROM ({}) fb WHERE fb.product_id = pr.id),
            pr.images
         FROM products pr WHERE pr.status = 'active' AND pr.id IN ({})",
        friend_purchases_of_1(),
        list
    );
    let mut found = Vec::new();
    for r in c.query(&sql, &params)? {
        found.push(ProductHit {
            id: ProductId::from_row(r.text(0)?),
            merchant_id: MerchantId::from_row(r.text(1)?),
            name: r.text(2)?,
            description: r.text(3)?,
            min_price_fen: r.opt_int(4)?.map(Fen::new),
            friends_bought: r.int(5)?,
            image: super::home::first_image(&r.text(6)?)?,
        });
    }
    Ok(found)
}

/// Of the hits, the communities, with their member count and how many of the viewer's
/// friends are in each.
pub(in crate::discovery) fn community_hits(
    c: &mut dyn Conn,
    viewer: &str,
    hits: &[Hit],
) -> AppResult<Vec<CommunityHit>> {
    let (list, ids) = in_list(2, hits.iter().map(|h| h.id.as_str()));
    let mut params = vec![Value::from(viewer)];
    params.extend(ids);
    let sql = format!(
        "SELECT co.id, co.name, co.description, co.join_policy,
            (SELECT COUNT(*) FROM community_members m WHERE m.community_id = co.id AND m.state = 'active'),
            (SELECT COUNT(*) FROM community_members m WHERE m.community_id = co.id AND m.state = 'active'
               AND m.account_id IN ({FRIENDS_OF_1}))
         FROM communities co WHERE co.id IN ({list})"
    );
    let mut found = Vec::new();
    for r in c.query(&sql, &params)? {
        found.push(CommunityHit {
            id: CommunityId::from_row(r.text(0)?),
            name: r.text(1)?,
            description: r.text(2)?,
            join_policy: r.text(3)?,
            member_count: r.int(4)?,
            friends_in_it: r.int(5)?,
        });
    }
    Ok(found)
}

/// Of the hits, the people with no block between them and the viewer (checked again
/// here, against storage, not only in the index), with their mutual friends.
pub(in crate::discovery) fn person_hits(
    c: &mut dyn Conn,
    viewer: &str,
    hits: &[Hit],
) -> AppResult<Vec<PersonHit>> {
    let (list, ids) = in_list(2, hits.iter().map(|h| h.id.as_str()));
    let mut params = vec![Value::from(viewer)];
    params.extend(ids);
    let sql = format!(
        "SELECT a.id, a.display_name,
            (SELECT COUNT(*) FROM follows x JOIN follows y ON y.follower_id = x.followee_id AND y.followee_id = x.follower_id
              WHERE x.follower_id = a.id AND x.followee_id IN ({FRIENDS_OF_1}))
         FROM accounts a WHERE a.id IN ({list})
           AND NOT EXISTS (SELECT 1 FROM blocks b WHERE (b.blocker_id = a.id AND b.blocked_id = $1)
                                                     OR (b.blocker_id = $1 AND b.blocked_id = a.id))"
    );
    let mut found = Vec::new();
    for r in c.query(&sql, &params)? {
        found.push(PersonHit {
            id: AccountId::from_row(r.text(0)?),
            display_name: r.text(1)?,
            mutual_friends: r.int(2)?,
        });
    }
    Ok(found)
}

// The columns every kind's document SELECT in [`load_docs`] yields, in this order.
kith_store::columns!(DocCols {
    id,
    text,
    author,
    community,
    visibility,
    hidden,
    merchant,
    created_at,
});

/// The documents of `kind` whose ids are in `ids`, or (with `None`) a page of all of them
/// after `after` in id order. Deleted posts are not returned (the caller removes them).
pub(in crate::discovery) fn load_docs(
    c: &mut dyn Conn,
    kind: Kind,
    ids: Option<&[String]>,
    after: &str,
    limit: i64,
) -> AppResult<Vec<Doc>> {
    let (select, alias) = match kind {
        Kind::Post => (
            "SELECT p.id, p.body, p.author_id, p.community_id, p.visibility,
                    CASE WHEN p.hidden_at IS NULL THEN 0 ELSE 1 END, NULL, p.created_at
             FROM posts p WHERE p.deleted_at IS NULL",
            "p",
        ),
        Kind::Product => (
            "SELECT pr.id, pr.name || ' ' || pr.description, NULL, NULL, NULL,
                    CASE WHEN pr.status = 'active' THEN 0 ELSE 1 END, pr.merchant_id, pr.created_at
             FROM products pr WHERE 1 = 1",
            "pr",
        ),
        Kind::Community => (
            "SELECT co.id, co.name || ' ' || co.description || ' ' || co.tags, NULL, co.id, NULL, 0,
                    co.merchant_id, co.created_at
             FROM communities co WHERE 1 = 1",
            "co",
        ),
        Kind::Person => (
            "SELECT a.id, a.display_name, a.id, NULL, NULL, 0, NULL, a.created_at
             FROM accounts a WHERE 1 = 1",
            "a",
        ),
    };
    let (sql, params) = match ids {
        Some(ids) => (
            format!(
                "{select} AND {alias}.id IN ({})",
                placeholders(1, ids.len())
            ),
            ids.iter().map(Value::from).collect::<Vec<_>>(),
        ),
        None => (
            format!("{select} AND {alias}.id > $1 ORDER BY {alias}.id LIMIT {limit}"),
            vec![Value::from(after)],
        ),
    };
    if ids.is_some_and(<[String]>::is_empty) {
        return Ok(Vec::new());
    }
    let mut docs = Vec::new();
    for r in c.query(&sql, &params)? {
        docs.push(Doc {
            kind,
            id: r.text(DocCols::id)?,
            text: r.text(DocCols::text)?,
            author: r.opt_text(DocCols::author)?,
            community: r.opt_text(DocCols::community)?,
            visibility: r.opt_text(DocCols::visibility)?,
            hidden: r.int(DocCols::hidden)? != 0,
            merchant: r.opt_text(DocCols::merchant)?,
            created_at_ms: r.int(DocCols::created_at)?,
        });
    }
    if kind == Kind::Post && !docs.is_empty() {
        // A post is also found by the names of the products it tags.
        let ph = placeholders(1, docs.len());
        let params: Vec<Value> = docs.iter().map(|d| Value::from(&d.id)).collect();
        let mut names: HashMap<String, Vec<String>> = HashMap::new();
        for r in c.query(
            &format!(
                "SELECT t.post_id, pr.name FROM post_tags t JOIN skus s ON s.id = t.sku_id
                 JOIN products pr ON pr.id = s.product_id WHERE t.post_id IN ({ph})"
            ),
            &params,
        )? {
            names.entry(r.text(0)?).or_default().push(r.text(1)?);
        }
        for d in &mut docs {
            if let Some(n) = names.remove(&d.id) {
                d.text = format!("{}\n{}", d.text, n.join(" "));
            }
        }
    }
    Ok(docs)
}

/// The communities split from any of `ids`.
pub(in crate::discovery) fn sub_community_ids(
    c: &mut dyn Conn,
    ids: &[String],
) -> AppResult<Vec<String>> {
    let params: Vec<Value> = ids.iter().map(Value::from).collect();
    c.query(
        &format!(
            "SELECT id FROM communities WHERE parent_id IN ({})",
            placeholders(1, ids.len())
        ),
        &params,
    )?
    .iter()
    .map(|r| Ok(r.text(0)?))
    .collect()
}

/// The newest outbox id (0 when empty).
pub(in crate::discovery) fn outbox_high_water(c: &mut dyn Conn) -> AppResult<i64> {
    Ok(c.query_one("SELECT COALESCE(MAX(id), 0) FROM outbox", &[])?
        .int(0)?)
}

/// Up to `limit` outbox events after `cursor`, in id order: (id, topic, aggregate id).
pub(in crate::discovery) fn outbox_after(
    c: &mut dyn Conn,
    cursor: i64,
    limit: i64,
) -> AppResult<Vec<(i64, String, String)>> {
    let rows = c.query(
        &format!(
            "SELECT id, topic, aggregate_id FROM outbox WHERE id > $1 ORDER BY id LIMIT {limit}"
        ),
        args![cursor],
    )?;
    rows.iter()
        .map(|r| Ok((r.int(0)?, r.text(1)?, r.text(2)?)))
        .collect::<AppResult<Vec<_>>>()
}
