//! 秒杀's rows: `flash_sales`, `flash_slots`, `flash_buyers` and the flash columns of the
//! orders it places, with the sale's column list and decoder.

use std::collections::HashMap;

use kith_domain::flash_sale::{self, Slot};
use kith_domain::{Fen, PromotionStatus};
use kith_store::{Conn, Row, args};

use super::super::flash::{FlashSale, FlashSlot};
use crate::platform::ids::{FlashSaleId, MerchantId, ProductId, SkuId, parse_id};
use crate::{AppError, AppResult, rfc3339};

kith_store::columns!(SaleCols {
    "f.id" => id,
    "f.merchant_id" => merchant_id,
    "f.name" => name,
    "f.sku_id" => sku_id,
    "p.id" => product_id,
    "p.name" => product_name,
    "p.images" => images,
    "s.code" => sku_code,
    "s.list_price_fen" => list_price_fen,
    "f.price_fen" => price_fen,
    "f.per_member_limit" => per_member_limit,
    "f.per_order_limit" => per_order_limit,
    "f.unpaid_timeout_secs" => unpaid_timeout_secs,
    "f.allow_coupons" => allow_coupons,
    "f.status" => status,
    "f.created_at" => created_at,
});
const FROM: &str =
    "flash_sales f JOIN skus s ON s.id = f.sku_id JOIN products p ON p.id = s.product_id";

/// The slots of the sales `filter` picks (`sale_id = $1` or `merchant_id = $1`), by sale, in
/// time order: one query for a whole list of sales.
fn slots_by_sale(
    c: &mut dyn Conn,
    filter: &str,
    key: &str,
) -> AppResult<HashMap<String, Vec<Row>>> {
    let rows = c.query(
        &format!(
            "SELECT l.sale_id, l.id, l.starts_at, l.ends_at, l.quota, l.sold FROM flash_slots l
             JOIN flash_sales f ON f.id = l.sale_id WHERE f.{filter} = $1 ORDER BY l.sale_id, l.starts_at"
        ),
        args![key],
    )?;
    let mut out: HashMap<String, Vec<Row>> = HashMap::new();
    for r in rows {
        out.entry(r.text(0)?).or_default().push(r);
    }
    Ok(out)
}

/// A sale from its row and its slots' rows (from [`slots_by_sale`]).
fn sale_from_row(r: &Row, rows: &[Row], now_ms: i64) -> AppResult<FlashSale> {
    let id = r.text(SaleCols::id)?;
    let status = PromotionStatus::from_db(&r.text(SaleCols::status)?)
        .ok_or_else(|| AppError::Internal("unknown flash sale status".into()))?;
    let mut slots = Vec::with_capacity(rows.len());
    let mut times = Vec::with_capacity(rows.len());
    for s in rows {
        let (starts, ends, quota, sold) = (s.int(2)?, s.int(3)?, s.int(4)?, s.int(5)?);
        times.push(Slot {
            starts,
            ends,
            quota,
        });
        slots.push(FlashSlot {
            id: s.text(1)?,
            starts_at: rfc3339(starts),
            ends_at: rfc3339(ends),
            quota,
            sold,
            left: quota - sold,
        });
    }
    let live = status
        .is_active()
        .then(|| flash_sale::live_slot(&times, now_ms))
        .flatten();
    let next = if live.is_none() && status.is_active() {
        times
            .iter()
            .find(|s| s.starts > now_ms)
            .map(|s| rfc3339(s.starts))
    } else {
        None
    };
    Ok(FlashSale {
        merchant_id: MerchantId::from_row(r.text(SaleCols::merchant_id)?),
        name: r.text(SaleCols::name)?,
        sku_id: SkuId::from_row(r.text(SaleCols::sku_id)?),
        product_id: ProductId::from_row(r.text(SaleCols::product_id)?),
        product_name: r.text(SaleCols::product_name)?,
        image: crate::commerce::catalog::first_image(&r.text(SaleCols::images)?)?,
        sku_code: r.text(SaleCols::sku_code)?,
        list_price_fen: Fen::new(r.int(SaleCols::list_price_fen)?),
        price_fen: Fen::new(r.int(SaleCols::price_fen)?),
        per_member_limit: r.int(SaleCols::per_member_limit)?,
        per_order_limit: r.int(SaleCols::per_order_limit)?,
        unpaid_timeout_secs: r.int(SaleCols::unpaid_timeout_secs)?,
        allow_coupons: r.bool(SaleCols::allow_coupons)?,
        status,
        live_slot_id: live.map(|i| slots[i].id.clone()),
        next_starts_at: next,
        slots,
        created_at: rfc3339(r.int(SaleCols::created_at)?),
        id: FlashSaleId::from_row(id),
    })
}

fn sales_of(
    rows: &[Row],
    slots: &HashMap<String, Vec<Row>>,
    now_ms: i64,
) -> AppResult<Vec<FlashSale>> {
    rows.iter()
        .map(|r| {
            let id = r.text(SaleCols::id)?;
            sale_from_row(r, slots.get(&id).map_or(&[][..], Vec::as_slice), now_ms)
        })
        .collect()
}

/// The sale `id` (of `merchant_id` when given), or 404.
pub(crate) fn load(
    c: &mut dyn Conn,
    merchant_id: Option<&str>,
    id: &str,
    now_ms: i64,
) -> AppResult<FlashSale> {
    if parse_id(id).is_none() {
        return Err(AppError::NotFound("flash sale"));
    }
    let r = c
        .query_opt(
            &format!("SELECT {} FROM {FROM} WHERE f.id = $1", SaleCols::LIST),
            args![id],
        )?
        .ok_or(AppError::NotFound("flash sale"))?;
    if merchant_id.is_some_and(|m| r.text(SaleCols::merchant_id).ok().as_deref() != Some(m)) {
        return Err(AppError::NotFound("flash sale"));
    }
    let slots = slots_by_sale(c, "id", id)?;
    sale_from_row(&r, slots.get(id).map_or(&[][..], Vec::as_slice), now_ms)
}

/// The merchant's sales with their slots, newest first.
pub(crate) fn merchant_sales(
    c: &mut dyn Conn,
    merchant_id: &str,
    now: i64,
) -> AppResult<Vec<FlashSale>> {
    let rows = c.query(
        &format!(
            "SELECT {} FROM {FROM} WHERE f.merchant_id = $1 ORDER BY f.created_at DESC, f.id",
            SaleCols::LIST
        ),
        args![merchant_id],
    )?;
    let slots = slots_by_sale(c, "merchant_id", merchant_id)?;
    sales_of(&rows, &slots, now)
}

/// The merchant's sales still to sell (active, a slot not over), soonest first.
pub(crate) fn shop_sales(
    c: &mut dyn Conn,
    merchant_id: &str,
    now: i64,
) -> AppResult<Vec<FlashSale>> {
    let rows = c.query(
        &format!(
            "SELECT {} FROM {FROM} WHERE f.merchant_id = $1 AND f.status = 'active' \
                         AND EXISTS (SELECT 1 FROM flash_slots l WHERE l.sale_id = f.id AND l.ends_at > $2) \
                         ORDER BY (SELECT MIN(l.starts_at) FROM flash_slots l WHERE l.sale_id = f.id AND l.ends_at > $2), f.id",
            SaleCols::LIST
        ),
        args![merchant_id, now],
    )?;
    let slots = slots_by_sale(c, "merchant_id", merchant_id)?;
    sales_of(&rows, &slots, now)
}

/// The flash units an unpaid order still holds: (slot, units, buyer), if any.
pub(crate) fn order_flash(
    c: &mut dyn Conn,
    order_id: &str,
) -> AppResult<Option<(String, i64, String)>> {
    c.query_opt(
        "SELECT flash_slot_id, flash_quantity, buyer_id FROM orders WHERE id = $1 AND flash_quantity > 0",
        args![order_id],
    )?
    .map(|r| Ok((r.text(0)?, r.int(1)?, r.text(2)?)))
    .transpose()
}

/// Zeroes the order's flash units; false when they were no longer `q`.
pub(crate) fn zero_order_flash(c: &mut dyn Conn, order_id: &str, q: i64) -> AppResult<bool> {
    let n = c.execute(
        "UPDATE orders SET flash_quantity = 0 WHERE id = $1 AND flash_quantity = $2",
        args![order_id, q],
    )?;
    Ok(n == 1)
}

/// `q` units go back to the slot.
pub(crate) fn give_back_to_slot(c: &mut dyn Conn, slot_id: &str, q: i64) -> AppResult<()> {
    c.execute(
        "UPDATE flash_slots SET sold = sold - $1 WHERE id = $2 AND sold >= $1",
        args![q, slot_id],
    )?;
    Ok(())
}

/// `q` units go back to the buyer's count in the slot's sale.
pub(crate) fn give_back_to_buyer(
    c: &mut dyn Conn,
    slot_id: &str,
    buyer: &str,
    q: i64,
) -> AppResult<()> {
    c.execute(
        "UPDATE flash_buyers SET bought = bought - $1 \
         WHERE sale_id = (SELECT sale_id FROM flash_slots WHERE id = $2) AND account_id = $3 AND bought >= $1",
        args![q, slot_id, buyer],
    )?;
    Ok(())
}

/// A sale as the merchant sets it up.
pub(crate) struct NewSale<'a> {
    pub id: &'a str,
    pub merchant_id: &'a str,
    pub sku_id: &'a str,
    pub name: &'a str,
    pub price_fen: i64,
    pub per_member_limit: i64,
    pub per_order_limit: i64,
    pub unpaid_timeout_secs: i64,
    pub allow_coupons: bool,
}

pub(crate) fn insert_sale(c: &mut dyn Conn, now: i64, s: &NewSale<'_>) -> AppResult<()> {
    c.execute(
        "INSERT INTO flash_sales (id, merchant_id, sku_id, name, price_fen, per_member_limit, per_order_limit, unpaid_timeout_secs, status, created_at, allow_coupons) \
                     VALUES ($1, $2, $3, $4, $5, $6, $7, $8, 'active', $9, $10)",
        args![s.id, s.merchant_id, s.sku_id, s.name, s.price_fen, s.per_member_limit, s.per_order_limit, s.unpaid_timeout_secs, now, s.allow_coupons],
    )?;
    Ok(())
}

pub(crate) fn insert_slot(c: &mut dyn Conn, sale_id: &str, slot: &Slot) -> AppResult<()> {
    c.execute(
        "INSERT INTO flash_slots (id, sale_id, starts_at, ends_at, quota, sold) VALUES ($1, $2, $3, $4, $5, 0)",
        args![crate::platform::ids::new_id(), sale_id, slot.starts, slot.ends, slot.quota],
    )?;
    Ok(())
}

/// Takes `qty` of the slot's quota; false when not that much is left.
pub(crate) fn take_from_slot(c: &mut dyn Conn, slot_id: &str, qty: i64) -> AppResult<bool> {
    let taken = c.execute(
        "UPDATE flash_slots SET sold = sold + $1 WHERE id = $2 AND sold + $1 <= quota",
        args![qty, slot_id],
    )?;
    Ok(taken == 1)
}

/// Counts `qty` more for the member in the sale; false when that would pass `limit`.
pub(crate) fn count_for_buyer(
    c: &mut dyn Conn,
    sale_id: &str,
    buyer: &str,
    qty: i64,
    limit: i64,
) -> AppResult<bool> {
    let counted = c.execute(
        "INSERT INTO flash_buyers (sale_id, account_id, bought) VALUES ($1, $2, $3) \
                     ON CONFLICT (sale_id, account_id) DO UPDATE SET bought = flash_buyers.bought + $3 \
                     WHERE flash_buyers.bought + $3 <= $4",
        args![sale_id, buyer, qty, limit],
    )?;
    Ok(counted == 1)
}

/// The order was placed in `slot_id` for `qty` units.
pub(crate) fn set_order_flash(
    c: &mut dyn Conn,
    order_id: &str,
    slot_id: &str,
    qty: i64,
) -> AppResult<()> {
    c.execute(
        "UPDATE orders SET flash_slot_id = $1, flash_quantity = $2 WHERE id = $3",
        args![slot_id, qty, order_id],
    )?;
    Ok(())
}
