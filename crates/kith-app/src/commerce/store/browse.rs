//! The read-only listings of the web pages: trading merchants, communities, a merchant's
//! dashboard figures and distributors. Nothing here writes.

use kith_domain::Fen;
use kith_store::{Conn, args};

use crate::commerce::browse::{
    CommunityCard, LowStock, MemberQuery, ShopCard, ShopMember, mask_phone,
};
use crate::platform::ids::{AccountId, CommunityId, MerchantId, ProductId, SkuId};
use crate::platform::pictures::MediaRef;
use crate::{AppResult, rfc3339};

/// Approved merchants by name with their number of active products, `limit` at most.
pub(in crate::commerce) fn trading_merchants(
    c: &mut dyn Conn,
    limit: i64,
) -> AppResult<Vec<ShopCard>> {
    c.query(
        "SELECT m.id, m.name, m.description,
                            (SELECT COUNT(*) FROM products p WHERE p.merchant_id = m.id AND p.status = 'active'),
                            m.logo_media_id
                     FROM merchants m WHERE m.status = 'approved' ORDER BY m.name, m.id LIMIT $1",
        args![limit],
    )?
    .iter()
    .map(|r| {
        Ok(ShopCard {
            id: MerchantId::from_row(r.text(0)?),
            name: r.text(1)?,
            description: r.text(2)?,
            product_count: r.int(3)?,
            logo: r
                .opt_text(4)?
                .map(|m| crate::social::media::MediaRef::of(&m)),
        })
    })
    .collect()
}

/// The product of the merchant's SKU, if that product is on sale.
pub(in crate::commerce) fn active_sku_product(
    c: &mut dyn Conn,
    merchant_id: &MerchantId,
    sku_id: &SkuId,
) -> AppResult<Option<ProductId>> {
    Ok(c.query_opt(
        "SELECT s.product_id FROM skus s JOIN products p ON p.id = s.product_id
                     WHERE s.id = $1 AND s.merchant_id = $2 AND p.status = 'active'",
        args![sku_id, merchant_id],
    )?
    .map(|r| r.text(0).map(ProductId::from_row))
    .transpose()?)
}

/// Top-level communities, largest first, with the account's state in each; `limit` at most.
pub(in crate::commerce) fn top_communities(
    c: &mut dyn Conn,
    account_id: &str,
    limit: i64,
) -> AppResult<Vec<CommunityCard>> {
    c.query(
        "SELECT c.id, c.name, c.description, c.join_policy,
                            (SELECT COUNT(*) FROM community_members m WHERE m.community_id = c.id AND m.state = 'active') AS n,
                            (SELECT m.state FROM community_members m WHERE m.community_id = c.id AND m.account_id = $1)
                     FROM communities c WHERE c.parent_id IS NULL
                     ORDER BY n DESC, c.created_at, c.id LIMIT $2",
        args![account_id, limit],
    )?
    .iter()
    .map(|r| {
        Ok(CommunityCard {
            id: CommunityId::from_row(r.text(0)?),
            name: r.text(1)?,
            description: r.text(2)?,
            join_policy: r.text(3)?,
            member_count: r.int(4)?,
            my_state: r.opt_text(5)?,
        })
    })
    .collect()
}

/// The communities the merchant runs, oldest first.
pub(in crate::commerce) fn merchant_community_ids(
    c: &mut dyn Conn,
    merchant_id: &MerchantId,
) -> AppResult<Vec<CommunityId>> {
    c.query(
        "SELECT id FROM communities WHERE merchant_id = $1 ORDER BY created_at, id",
        args![merchant_id],
    )?
    .iter()
    .map(|r| r.text(0).map(CommunityId::from_row).map_err(Into::into))
    .collect()
}

/// (status, orders) for every status the merchant has orders in.
pub(in crate::commerce) fn orders_by_status(
    c: &mut dyn Conn,
    merchant_id: &MerchantId,
) -> AppResult<Vec<(String, i64)>> {
    c.query(
        "SELECT status, COUNT(*) FROM orders WHERE merchant_id = $1 GROUP BY status ORDER BY status",
        args![merchant_id],
    )?
    .iter()
    .map(|r| Ok((r.text(0)?, r.int(1)?)))
    .collect()
}

/// The merchant's money paid less refunded, and its number of paying buyers.
pub(in crate::commerce) fn gmv_and_buyers(
    c: &mut dyn Conn,
    merchant_id: &MerchantId,
) -> AppResult<(Fen, i64)> {
    let money = c.query_one(
        "SELECT CAST(COALESCE(SUM(paid_fen - refunded_fen), 0) AS bigint),
                            COUNT(DISTINCT CASE WHEN paid_fen > 0 THEN buyer_id END)
                     FROM orders WHERE merchant_id = $1",
        args![merchant_id],
    )?;
    Ok((Fen::new(money.int(0)?), money.int(1)?))
}

pub(in crate::commerce) fn count_active_products(
    c: &mut dyn Conn,
    merchant_id: &MerchantId,
) -> AppResult<i64> {
    Ok(c.query_one(
        "SELECT COUNT(*) FROM products WHERE merchant_id = $1 AND status = 'active'",
        args![merchant_id],
    )?
    .int(0)?)
}

pub(in crate::commerce) fn count_stores(
    c: &mut dyn Conn,
    merchant_id: &MerchantId,
) -> AppResult<i64> {
    Ok(c.query_one(
        "SELECT COUNT(*) FROM stores WHERE merchant_id = $1",
        args![merchant_id],
    )?
    .int(0)?)
}

/// (delivery, orders) of the merchant's orders being fulfilled.
pub(in crate::commerce) fn fulfilling_by_delivery(
    c: &mut dyn Conn,
    merchant_id: &MerchantId,
) -> AppResult<Vec<(String, i64)>> {
    c.query(
        "SELECT delivery, COUNT(*) FROM orders WHERE merchant_id = $1 AND status = 'fulfilling' GROUP BY delivery",
        args![merchant_id],
    )?
    .iter()
    .map(|r| Ok((r.text(0)?, r.int(1)?)))
    .collect()
}

/// The merchant's SKUs on sale with at most `at_most` units available over all locations,
/// fewest first, 10 at most.
pub(in crate::commerce) fn low_stock(
    c: &mut dyn Conn,
    merchant_id: &MerchantId,
    at_most: i64,
) -> AppResult<Vec<LowStock>> {
    c.query(
        "SELECT p.id, p.name, s.code,
                                CAST(COALESCE(SUM(st.on_hand - st.reserved), 0) AS bigint) AS available
                         FROM skus s JOIN products p ON p.id = s.product_id
                         LEFT JOIN stock st ON st.sku_id = s.id
                         WHERE s.merchant_id = $1 AND p.status = 'active'
                         GROUP BY p.id, p.name, s.code
                         HAVING CAST(COALESCE(SUM(st.on_hand - st.reserved), 0) AS bigint) <= $2
                         ORDER BY available, p.name, s.code LIMIT 10",
        args![merchant_id, at_most],
    )?
    .iter()
    .map(|r| {
        Ok(LowStock {
            product_id: ProductId::from_row(r.text(0)?),
            product_name: r.text(1)?,
            sku_code: r.text(2)?,
            available: r.int(3)?,
        })
    })
    .collect()
}

/// (state, requests) of the merchant's after-sale requests waiting on the merchant: to
/// answer (`requested`) and returns to receive (`return_shipped`).
pub(in crate::commerce) fn aftersales_on_merchant(
    c: &mut dyn Conn,
    merchant_id: &MerchantId,
) -> AppResult<Vec<(String, i64)>> {
    c.query(
        "SELECT state, COUNT(*) FROM aftersale_requests
         WHERE merchant_id = $1 AND state IN ('requested', 'return_shipped') GROUP BY state",
        args![merchant_id],
    )?
    .iter()
    .map(|r| Ok((r.text(0)?, r.int(1)?)))
    .collect()
}

/// The merchant's 团长 applications waiting for a decision.
pub(in crate::commerce) fn leader_applications(
    c: &mut dyn Conn,
    merchant_id: &MerchantId,
) -> AppResult<i64> {
    Ok(c.query_one(
        "SELECT COUNT(*) FROM leaders WHERE merchant_id = $1 AND status = 'applied'",
        args![merchant_id],
    )?
    .int(0)?)
}

/// (beneficiary, display name, orders) of everyone with live commission at the merchant.
pub(in crate::commerce) fn commission_earners(
    c: &mut dyn Conn,
    merchant_id: &MerchantId,
) -> AppResult<Vec<(AccountId, String, i64)>> {
    c.query(
        "SELECT oc.beneficiary_id, a.display_name, COUNT(DISTINCT oc.order_id)
                     FROM order_commissions oc JOIN accounts a ON a.id = oc.beneficiary_id
                     WHERE oc.merchant_id = $1 AND oc.state IN ('pending', 'frozen', 'available')
                     GROUP BY oc.beneficiary_id, a.display_name",
        args![merchant_id],
    )?
    .iter()
    .map(|r| Ok((AccountId::from_row(r.text(0)?), r.text(1)?, r.int(2)?)))
    .collect()
}

/// (referrer, display name, members bound) of the merchant's live bindings at `now`.
pub(in crate::commerce) fn referrers(
    c: &mut dyn Conn,
    merchant_id: &MerchantId,
    now: i64,
) -> AppResult<Vec<(AccountId, String, i64)>> {
    c.query(
        "SELECT b.referrer_id, a.display_name, COUNT(*)
                     FROM referrer_bindings b JOIN accounts a ON a.id = b.referrer_id
                     WHERE b.merchant_id = $1 AND (b.expires_at IS NULL OR b.expires_at > $2)
                     GROUP BY b.referrer_id, a.display_name",
        args![merchant_id, now],
    )?
    .iter()
    .map(|r| Ok((AccountId::from_row(r.text(0)?), r.text(1)?, r.int(2)?)))
    .collect()
}

/// An account's display name, if the account exists.
pub(in crate::commerce) fn display_name(c: &mut dyn Conn, id: &str) -> AppResult<Option<String>> {
    Ok(
        c.query_opt("SELECT display_name FROM accounts WHERE id = $1", args![id])?
            .map(|r| r.text(0))
            .transpose()?,
    )
}

/// The ids of merchant `$1`'s members (see [`shop_members`]), as one column `id`.
const MEMBER_IDS: &str = "SELECT buyer_id AS id FROM orders WHERE merchant_id = $1
    UNION SELECT account_id FROM member_tiers WHERE merchant_id = $1
    UNION SELECT member_id FROM referrer_bindings WHERE merchant_id = $1
    UNION SELECT referrer_id FROM referrer_bindings WHERE merchant_id = $1
    UNION SELECT beneficiary_id FROM order_commissions WHERE merchant_id = $1
    UNION SELECT m.account_id FROM community_members m
            JOIN communities k ON k.id = m.community_id
          WHERE k.merchant_id = $1 AND m.state = 'active'";

/// A `LIKE … ESCAPE '\\'` pattern matching text that contains `part` (its `%`, `_` and
/// `\\` taken literally).
pub(in crate::commerce) fn like_containing(part: &str) -> String {
    let escaped = part
        .replace('\\', "\\\\")
        .replace('%', "\\%")
        .replace('_', "\\_");
    format!("%{escaped}%")
}

/// Whether `account_id` is one of the merchant's members, as [`shop_members`] lists them.
pub(in crate::commerce) fn is_shop_member(
    c: &mut dyn Conn,
    merchant_id: &str,
    account_id: &str,
) -> AppResult<bool> {
    Ok(c.query_opt(
        &format!("SELECT 1 FROM ({MEMBER_IDS}) s WHERE s.id = $2"),
        args![merchant_id, account_id],
    )?
    .is_some())
}

/// The merchant's members matching `q`, most recent buyers first, then by name; `limit` at
/// most. A member is whoever ordered there, holds one of its tiers, is bound to a referrer
/// there or is one (or earned its commission), or is an active member of one of its
/// communities; their orders, money and tier are this merchant's only.
pub(in crate::commerce) fn shop_members(
    c: &mut dyn Conn,
    merchant_id: &MerchantId,
    q: &MemberQuery,
    limit: i64,
) -> AppResult<Vec<ShopMember>> {
    let (filter, needle) = match q {
        MemberQuery::All => ("", String::new()),
        MemberQuery::Name(part) => (
            "WHERE LOWER(a.display_name) LIKE $3 ESCAPE '\\'",
            like_containing(part),
        ),
        MemberQuery::Phone(p) => ("WHERE a.phone = $3", p.clone()),
        MemberQuery::PhoneTail(t) => ("WHERE a.phone LIKE $3", format!("%{t}")),
    };
    let sql = format!(
        "SELECT a.id, a.display_name, a.phone, t.name,
                COALESCE(o.n, 0), COALESCE(o.spent, 0), o.first_at, o.last_at, a.avatar_media_id
         FROM ({MEMBER_IDS}) s
         JOIN accounts a ON a.id = s.id
         LEFT JOIN member_tiers mt ON mt.merchant_id = $1 AND mt.account_id = a.id
         LEFT JOIN tiers t ON t.id = mt.tier_id
         LEFT JOIN (SELECT buyer_id, COUNT(*) AS n,
                           CAST(SUM(paid_fen - refunded_fen) AS bigint) AS spent,
                           MIN(created_at) AS first_at, MAX(created_at) AS last_at
                    FROM orders
                    WHERE merchant_id = $1 AND status NOT IN ('pending_payment', 'cancelled')
                    GROUP BY buyer_id) o ON o.buyer_id = a.id
         {filter}
         ORDER BY (o.last_at IS NULL), o.last_at DESC, a.display_name, a.id
         LIMIT $2"
    );
    let rows = if needle.is_empty() {
        c.query(&sql, args![merchant_id, limit])?
    } else {
        c.query(&sql, args![merchant_id, limit, needle])?
    };
    rows.iter()
        .map(|r| {
            Ok(ShopMember {
                account_id: AccountId::from_row(r.text(0)?),
                display_name: r.text(1)?,
                phone_masked: mask_phone(r.opt_text(2)?.as_deref()),
                tier_name: r.opt_text(3)?,
                orders: r.int(4)?,
                spent_fen: Fen::new(r.int(5)?),
                first_order_at: r.opt_int(6)?.map(rfc3339),
                last_order_at: r.opt_int(7)?.map(rfc3339),
                avatar: r.opt_text(8)?.map(|id| MediaRef::of(&id)),
            })
        })
        .collect()
}
