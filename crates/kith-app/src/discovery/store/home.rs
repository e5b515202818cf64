//! The reads behind the home page's shelves: the categories with products on sale across
//! the trading shops, one category's products, people to follow and communities to join.

use kith_store::{Conn, Value, args};

use super::{FRIENDS_OF_1, no_block_with_1};
use crate::AppResult;
use crate::platform::ids::{CommunityId, MerchantId, ProductId};
use crate::platform::page::Keyset;
use crate::social::posts::PersonRef;

use crate::discovery::home::{CategoryTile, CommunitySuggestion, ProductCard};

/// A product is on show: active, of an approved merchant (`p` products, `m` merchants).
const ON_SHOW: &str = "p.status = 'active' AND m.status = 'approved'";

pub(in crate::discovery) use crate::commerce::catalog::first_image;
use crate::commerce::catalog::sold_units_sql;

/// Category names with products on show, by how many (most first, then by name), at most
/// `limit`; each with the picture of its newest product that has one.
pub(in crate::discovery) fn category_tiles(
    c: &mut dyn Conn,
    limit: i64,
) -> AppResult<Vec<CategoryTile>> {
    let rows = c.query(
        &format!(
            "SELECT cat.name, COUNT(*) AS n,
                    (SELECT p2.images FROM products p2
                       JOIN categories c2 ON c2.id = p2.category_id
                       JOIN merchants m2 ON m2.id = p2.merchant_id
                      WHERE c2.name = cat.name AND p2.status = 'active' AND m2.status = 'approved'
                        AND p2.images <> '[]'
                      ORDER BY p2.created_at DESC, p2.id DESC LIMIT 1)
               FROM categories cat
               JOIN products p ON p.category_id = cat.id
               JOIN merchants m ON m.id = p.merchant_id
              WHERE {ON_SHOW}
              GROUP BY cat.name
              ORDER BY n DESC, cat.name LIMIT $1"
        ),
        args![limit],
    )?;
    rows.iter()
        .map(|r| {
            Ok(CategoryTile {
                name: r.text(0)?,
                products: r.int(1)?,
                image: match r.opt_text(2)? {
                    Some(images) => first_image(&images)?,
                    None => None,
                },
            })
        })
        .collect()
}

/// One page of the products on show in the categories named `name` (in any shop),
/// newest first: `(created_at, card)` rows, `after` bound from `$2`.
pub(in crate::discovery) fn category_products(
    c: &mut dyn Conn,
    name: &str,
    after: &Keyset,
    fetch: i64,
) -> AppResult<Vec<(i64, ProductCard)>> {
    let mut params = args![name].to_vec();
    params.extend(after.args.iter().cloned());
    params.push(Value::from(fetch));
    let rows = c.query(
        &format!(
            "SELECT p.id, p.merchant_id, m.name, p.name, p.images,
                    (SELECT MIN(s.list_price_fen) FROM skus s WHERE s.product_id = p.id),
                    p.created_at, {}
               FROM products p
               JOIN categories cat ON cat.id = p.category_id
               JOIN merchants m ON m.id = p.merchant_id
              WHERE cat.name = $1 AND {ON_SHOW} AND {}
              ORDER BY p.created_at DESC, p.id DESC LIMIT ${}",
            sold_units_sql("p.id"),
            after.sql,
            after.next
        ),
        &params,
    )?;
    rows.iter()
        .map(|r| {
            Ok((
                r.int(6)?,
                ProductCard {
                    id: ProductId::from_row(r.text(0)?),
                    merchant_id: MerchantId::from_row(r.text(1)?),
                    shop_name: r.text(2)?,
                    name: r.text(3)?,
                    image: first_image(&r.text(4)?)?,
                    min_price_fen: r.opt_int(5)?.map(kith_domain::Fen::new),
                    sold: r.int(7)?,
                },
            ))
        })
        .collect()
}

/// The most followed members the account bound at `$1` does not follow yet, with their
/// follower counts: not the account itself, not a platform admin, no block either way;
/// most followers first, at most `limit`.
pub(in crate::discovery) fn most_followed(
    c: &mut dyn Conn,
    me: &str,
    limit: i64,
) -> AppResult<Vec<(PersonRef, i64)>> {
    let rows = c.query(
        &format!(
            "SELECT a.id, a.display_name, COUNT(*) AS n, a.avatar_media_id FROM follows f
               JOIN accounts a ON a.id = f.followee_id
              WHERE f.followee_id <> $1 AND NOT a.is_platform_admin
                AND NOT EXISTS (SELECT 1 FROM follows mine WHERE mine.follower_id = $1 AND mine.followee_id = f.followee_id)
                AND {}
              GROUP BY a.id, a.display_name, a.avatar_media_id
              ORDER BY n DESC, a.id LIMIT $2",
            no_block_with_1("f.followee_id")
        ),
        args![me, limit],
    )?;
    rows.iter()
        .map(|r| {
            Ok((
                PersonRef::of(r.text(0)?, r.text(1)?, r.opt_text(3)?),
                r.int(2)?,
            ))
        })
        .collect()
}

/// Top-level communities the account bound at `$1` may ask to join (open or by approval)
/// and is not in — never joined, or left —, with their member counts, how many of the
/// account's friends are active members, and the shop that runs each; friends first, then
/// the largest; at most `limit`.
pub(in crate::discovery) fn joinable_communities(
    c: &mut dyn Conn,
    me: &str,
    limit: i64,
) -> AppResult<Vec<CommunitySuggestion>> {
    let rows = c.query(
        &format!(
            "SELECT cm.id, cm.name, cm.description, cm.join_policy, m.name,
                    (SELECT COUNT(*) FROM community_members x
                      WHERE x.community_id = cm.id AND x.state = 'active') AS members,
                    (SELECT COUNT(*) FROM community_members x
                      WHERE x.community_id = cm.id AND x.state = 'active'
                        AND x.account_id IN ({FRIENDS_OF_1})) AS friends
               FROM communities cm
               LEFT JOIN merchants m ON m.id = cm.merchant_id
              WHERE cm.parent_id IS NULL AND cm.join_policy IN ('open', 'approval')
                AND (cm.merchant_id IS NULL OR m.status = 'approved')
                AND NOT EXISTS (SELECT 1 FROM community_members mine
                                 WHERE mine.community_id = cm.id AND mine.account_id = $1
                                   AND mine.state <> 'left')
              ORDER BY friends DESC, members DESC, cm.created_at, cm.id LIMIT $2"
        ),
        args![me, limit],
    )?;
    rows.iter()
        .map(|r| {
            Ok(CommunitySuggestion {
                id: CommunityId::from_row(r.text(0)?),
                name: r.text(1)?,
                description: r.text(2)?,
                join_policy: r.text(3)?,
                shop_name: r.opt_text(4)?,
                member_count: r.int(5)?,
                friends_in_it: r.int(6)?,
            })
        })
        .collect()
}
