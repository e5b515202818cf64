//! What a merchant lets its leaders sell (`leader_products`), and the batches a leader opened.

use kith_domain::Fen;
use kith_domain::neighbourhood::Allowance;
use kith_store::{Conn, args};

use super::{BATCH_COLS, batch_view};
use crate::AppResult;
use crate::neighbourhood::{Batch, LeaderProduct};
use crate::platform::ids::{ProductId, SkuId};

/// The allowance for one SKU, if the merchant lets its leaders sell it.
pub(in crate::neighbourhood) fn allowance(
    c: &mut dyn Conn,
    merchant_id: &str,
    sku_id: &str,
) -> AppResult<Option<Allowance>> {
    c.query_opt(
        "SELECT floor_price_fen, max_quantity FROM leader_products WHERE merchant_id = $1 AND sku_id = $2",
        args![merchant_id, sku_id],
    )?
    .map(|r| {
        Ok(Allowance {
            floor_price_fen: r.int(0)?,
            max_quantity: r.int(1)?,
        })
    })
    .transpose()
}

/// What the merchant lets its leaders sell, in the order it set.
pub(in crate::neighbourhood) fn leader_products(
    c: &mut dyn Conn,
    merchant_id: &str,
) -> AppResult<Vec<LeaderProduct>> {
    kith_store::columns!(Cols {
        "lp.sku_id" => sku_id,
        "s.product_id" => product_id,
        "p.name" => product_name,
        "s.code" => sku_code,
        "s.list_price_fen" => list_price_fen,
        "lp.floor_price_fen" => floor_price_fen,
        "lp.max_quantity" => max_quantity,
    });
    c.query(
        &format!(
            "SELECT {} FROM leader_products lp JOIN skus s ON s.id = lp.sku_id JOIN products p ON p.id = s.product_id
             WHERE lp.merchant_id = $1 ORDER BY lp.position",
            Cols::LIST
        ),
        args![merchant_id],
    )?
    .iter()
    .map(|r| {
        Ok(LeaderProduct {
            sku_id: SkuId::from_row(r.text(Cols::sku_id)?),
            product_id: ProductId::from_row(r.text(Cols::product_id)?),
            product_name: r.text(Cols::product_name)?,
            sku_code: r.text(Cols::sku_code)?,
            list_price_fen: Fen::new(r.int(Cols::list_price_fen)?),
            floor_price_fen: Fen::new(r.int(Cols::floor_price_fen)?),
            max_quantity: r.int(Cols::max_quantity)?,
        })
    })
    .collect()
}

/// Whether the member is an approved leader of the merchant.
pub(in crate::neighbourhood) fn is_approved_leader(
    c: &mut dyn Conn,
    merchant_id: &str,
    account: &str,
) -> AppResult<bool> {
    Ok(c.query_opt(
        "SELECT 1 FROM leaders WHERE merchant_id = $1 AND account_id = $2 AND status = 'approved'",
        args![merchant_id, account],
    )?
    .is_some())
}

/// The merchant's list goes (before it is written again).
pub(in crate::neighbourhood) fn clear_leader_products(
    c: &mut dyn Conn,
    merchant_id: &str,
) -> AppResult<()> {
    c.execute(
        "DELETE FROM leader_products WHERE merchant_id = $1",
        args![merchant_id],
    )?;
    Ok(())
}

pub(in crate::neighbourhood) fn insert_leader_product(
    c: &mut dyn Conn,
    merchant_id: &str,
    sku_id: &str,
    position: i64,
    a: &Allowance,
) -> AppResult<()> {
    c.execute(
        "INSERT INTO leader_products (merchant_id, sku_id, position, floor_price_fen, max_quantity) VALUES ($1, $2, $3, $4, $5)",
        args![merchant_id, sku_id, position, a.floor_price_fen, a.max_quantity],
    )?;
    Ok(())
}

/// The last 100 batches the leader opened, newest first.
pub(in crate::neighbourhood) fn leader_opened_batches(
    c: &mut dyn Conn,
    leader_id: &str,
    now: i64,
) -> AppResult<Vec<Batch>> {
    let rows = c.query(
        &format!("SELECT {BATCH_COLS} FROM batches WHERE leader_id = $1 ORDER BY created_at DESC, id LIMIT 100"),
        args![leader_id],
    )?;
    rows.iter().map(|r| batch_view(c, r, now)).collect()
}
