//! Rows of carts: `cart_items`.

use kith_store::{Conn, args};

use super::member_tier;

use crate::AppResult;
use crate::commerce::cart::CartShop;
use crate::platform::ids::{MerchantId, SkuId};

/// The member's cart lines at the merchant as (SKU, quantity), in order of adding.
pub(in crate::commerce) fn cart_lines(
    c: &mut dyn Conn,
    account_id: &str,
    merchant_id: &str,
) -> AppResult<Vec<(SkuId, i64)>> {
    c.query(CART_LINES, args![account_id, merchant_id])?
        .iter()
        .map(|r| Ok((SkuId::from_row(r.text(0)?), r.int(1)?)))
        .collect()
}

/// The cart's lines, for [`cart_lines`] and checkout's read of the cart.
pub(in crate::commerce) const CART_LINES: &str = "SELECT sku_id, quantity FROM cart_items WHERE account_id = $1 AND merchant_id = $2 ORDER BY added_at, sku_id";

/// Announces [`cart_lines`] ([`Conn::prefetch`]).
pub(in crate::commerce) fn announce_cart_lines(
    c: &mut dyn Conn,
    account_id: &str,
    merchant_id: &str,
) -> AppResult<()> {
    Ok(kith_store::prefetch!(
        c,
        CART_LINES,
        account_id,
        merchant_id
    )?)
}

pub(in crate::commerce) fn delete_cart_item(
    c: &mut dyn Conn,
    account_id: &str,
    sku_id: &SkuId,
    merchant_id: &MerchantId,
) -> AppResult<()> {
    c.execute(
        "DELETE FROM cart_items WHERE account_id = $1 AND sku_id = $2 AND merchant_id = $3",
        args![account_id, sku_id, merchant_id],
    )?;
    Ok(())
}

/// Lines in the member's carts, at every merchant, and whether `sku_id` is one of them
/// (one statement: the cart's size limit asks both).
pub(in crate::commerce) fn cart_size_and_has(
    c: &mut dyn Conn,
    account_id: &str,
    sku_id: &SkuId,
) -> AppResult<(i64, bool)> {
    let r = c.query_one(CART_SIZE_AND_HAS, args![account_id, sku_id])?;
    Ok((r.int(0)?, r.int(1)? > 0))
}

/// The merchant's status word and the member's tier there (None: none), in one read;
/// None when there is no such merchant. A cart's change asks both: whether the shop trades,
/// and the prices of the cart it answers with.
pub(in crate::commerce) fn merchant_status_and_tier(
    c: &mut dyn Conn,
    merchant_id: &str,
    account_id: &str,
) -> AppResult<Option<(String, Option<String>)>> {
    c.query_opt(MERCHANT_STATUS_AND_TIER, args![merchant_id, account_id])?
        .map(|r| Ok((r.text(0)?, r.opt_text(1)?)))
        .transpose()
}

const MERCHANT_STATUS_AND_TIER: &str = concat!(
    "SELECT m.status, ",
    member_tier!("m.id", "$2"),
    " FROM merchants m WHERE m.id = $1"
);

/// Announces [`merchant_status_and_tier`] ([`Conn::prefetch`]).
pub(in crate::commerce) fn announce_merchant_status_and_tier(
    c: &mut dyn Conn,
    merchant_id: &str,
    account_id: &str,
) -> AppResult<()> {
    Ok(kith_store::prefetch!(
        c,
        MERCHANT_STATUS_AND_TIER,
        merchant_id,
        account_id
    )?)
}

const CART_SIZE_AND_HAS: &str =
    "SELECT COUNT(*), CAST(COALESCE(SUM(CASE WHEN sku_id = $2 THEN 1 ELSE 0 END), 0) AS bigint)
     FROM cart_items WHERE account_id = $1";

/// Announces [`cart_size_and_has`] ([`Conn::prefetch`]).
pub(in crate::commerce) fn announce_cart_size_and_has(
    c: &mut dyn Conn,
    account_id: &str,
    sku_id: &SkuId,
) -> AppResult<()> {
    Ok(kith_store::prefetch!(
        c,
        CART_SIZE_AND_HAS,
        account_id,
        sku_id
    )?)
}

/// Adds the line, or sets its quantity when the SKU is in the cart already.
pub(in crate::commerce) fn upsert_cart_item(
    c: &mut dyn Conn,
    account_id: &str,
    merchant_id: &MerchantId,
    sku_id: &SkuId,
    quantity: i64,
    now: i64,
) -> AppResult<()> {
    c.execute(
        "INSERT INTO cart_items (account_id, merchant_id, sku_id, quantity, added_at) VALUES ($1, $2, $3, $4, $5)
                             ON CONFLICT (account_id, sku_id) DO UPDATE SET quantity = excluded.quantity",
        args![account_id, merchant_id, sku_id, quantity, now],
    )?;
    Ok(())
}

/// The merchants where the member has a cart, with its units, most recently added to first.
pub(in crate::commerce) fn cart_shops(
    c: &mut dyn Conn,
    account_id: &str,
) -> AppResult<Vec<CartShop>> {
    c.query(
        "SELECT m.id, m.name, CAST(SUM(ci.quantity) AS bigint), MAX(ci.added_at) AS last
                     FROM cart_items ci JOIN merchants m ON m.id = ci.merchant_id
                     WHERE ci.account_id = $1
                     GROUP BY m.id, m.name ORDER BY last DESC, m.id LIMIT 100",
        args![account_id],
    )?
    .iter()
    .map(|r| {
        Ok(CartShop {
            merchant_id: MerchantId::from_row(r.text(0)?),
            merchant_name: r.text(1)?,
            units: r.int(2)?,
        })
    })
    .collect()
}
