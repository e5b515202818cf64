//! 接龙 batches: `batches`, `batch_items`, `batch_member_units`, `batch_orders` (the joins)
//! and `batch_deliveries`; with the order lines and follows they are read beside.

use kith_store::{Conn, args};

use super::{BATCH_COLS, batch_view};
use crate::AppResult;
use crate::neighbourhood::{Batch, PickBuyer, PickLine};
use crate::platform::ids::{OrderId, SkuId};

/// A batch's cut-off (the batch exists).
pub(in crate::neighbourhood) fn batch_cutoff(c: &mut dyn Conn, batch_id: &str) -> AppResult<i64> {
    Ok(c.query_one(
        "SELECT cutoff_at FROM batches WHERE id = $1",
        args![batch_id],
    )?
    .int(0)?)
}

/// A batch's merchant, if the batch exists.
pub(in crate::neighbourhood) fn batch_merchant(
    c: &mut dyn Conn,
    batch_id: &str,
) -> AppResult<Option<String>> {
    c.query_opt(
        "SELECT merchant_id FROM batches WHERE id = $1",
        args![batch_id],
    )?
    .map(|r| Ok(r.text(0)?))
    .transpose()
}

pub(in crate::neighbourhood) fn mark_join_paid(
    c: &mut dyn Conn,
    order_id: &str,
    now: i64,
) -> AppResult<()> {
    c.execute(
        "UPDATE batch_orders SET state = 'paid', paid_at = $1 WHERE order_id = $2",
        args![now, order_id],
    )?;
    Ok(())
}

/// Releases the order's join: true only for the caller whose update flipped it.
pub(in crate::neighbourhood) fn release_join(c: &mut dyn Conn, order_id: &str) -> AppResult<bool> {
    Ok(c.execute(
        "UPDATE batch_orders SET state = 'released' WHERE order_id = $1 AND state <> 'released'",
        args![order_id],
    )? != 0)
}

/// (sku, quantity) of each of an order's lines.
pub(in crate::neighbourhood) fn order_line_quantities(
    c: &mut dyn Conn,
    order_id: &str,
) -> AppResult<Vec<(String, i64)>> {
    c.query(
        "SELECT sku_id, quantity FROM order_lines WHERE order_id = $1",
        args![order_id],
    )?
    .iter()
    .map(|l| Ok((l.text(0)?, l.int(1)?)))
    .collect()
}

/// Gives `units` of a SKU back to the batch and to the member's own count.
pub(in crate::neighbourhood) fn give_back_units(
    c: &mut dyn Conn,
    batch_id: &str,
    sku_id: &str,
    member: &str,
    units: i64,
) -> AppResult<()> {
    c.execute(
        "UPDATE batch_items SET taken = taken - $1 WHERE batch_id = $2 AND sku_id = $3",
        args![units, batch_id, sku_id],
    )?;
    c.execute(
        "UPDATE batch_member_units SET units = units - $1 WHERE batch_id = $2 AND sku_id = $3 AND account_id = $4",
        args![units, batch_id, sku_id, member],
    )?;
    Ok(())
}

/// The batch goes ahead at its cut-off.
pub(in crate::neighbourhood) fn fix_batch(
    c: &mut dyn Conn,
    batch_id: &str,
    now: i64,
) -> AppResult<()> {
    c.execute(
        "UPDATE batches SET status = 'fixed', closed_at = $1, updated_at = $1 WHERE id = $2",
        args![now, batch_id],
    )?;
    Ok(())
}

/// The batch fails at its cut-off, for `reason`.
pub(in crate::neighbourhood) fn fail_batch(
    c: &mut dyn Conn,
    batch_id: &str,
    reason: &str,
    now: i64,
) -> AppResult<()> {
    c.execute(
        "UPDATE batches SET status = 'failed', fail_reason = $1, closed_at = $2, updated_at = $2 WHERE id = $3",
        args![reason, now, batch_id],
    )?;
    Ok(())
}

/// The batch's held and paid joins in join order: (order, state, leader's account, leader's rate).
pub(in crate::neighbourhood) fn live_joins(
    c: &mut dyn Conn,
    batch_id: &str,
) -> AppResult<Vec<(String, String, String, i64)>> {
    c.query(
        "SELECT j.order_id, j.state, l.account_id, l.rate_bp FROM batch_orders j JOIN leaders l ON l.id = j.leader_id
                 WHERE j.batch_id = $1 AND j.state IN ('held', 'paid') ORDER BY j.seq",
        args![batch_id],
    )?
    .iter()
    .map(|j| Ok((j.text(0)?, j.text(1)?, j.text(2)?, j.int(3)?)))
    .collect()
}

pub(in crate::neighbourhood) fn fix_join(c: &mut dyn Conn, order_id: &str) -> AppResult<()> {
    c.execute(
        "UPDATE batch_orders SET state = 'fixed' WHERE order_id = $1",
        args![order_id],
    )?;
    Ok(())
}

/// Whether the two members follow each other.
pub(in crate::neighbourhood) fn mutual_follow(
    c: &mut dyn Conn,
    a: &str,
    b: &str,
) -> AppResult<bool> {
    Ok(c
        .query_opt(
            "SELECT 1 FROM follows a JOIN follows b ON b.follower_id = a.followee_id AND b.followee_id = a.follower_id
             WHERE a.follower_id = $1 AND a.followee_id = $2",
            args![a, b],
        )?
        .is_some())
}

/// A new batch's row, open, with no joins yet.
#[allow(clippy::too_many_arguments)]
pub(in crate::neighbourhood) fn insert_batch_row(
    c: &mut dyn Conn,
    id: &str,
    merchant_id: &str,
    title: &str,
    starts: i64,
    cutoff: i64,
    pickup_date: &str,
    min_total: i64,
    now: i64,
    leader_id: Option<&str>,
) -> AppResult<()> {
    c.execute(
        "INSERT INTO batches (id, merchant_id, title, starts_at, cutoff_at, pickup_date, min_total_units, join_seq, status, created_at, updated_at, leader_id)
         VALUES ($1, $2, $3, $4, $5, $6, $7, 0, 'open', $8, $8, $9)",
        args![id, merchant_id, title, starts, cutoff, pickup_date, min_total, now, leader_id],
    )?;
    Ok(())
}

/// One of a batch's items, nothing taken yet: (price, per-member limit, quantity limit).
#[allow(clippy::too_many_arguments)]
pub(in crate::neighbourhood) fn insert_batch_item(
    c: &mut dyn Conn,
    batch_id: &str,
    sku_id: &str,
    product_id: &str,
    position: i64,
    price_fen: i64,
    per_member_limit: i64,
    quantity_limit: i64,
) -> AppResult<()> {
    c.execute(
        "INSERT INTO batch_items (batch_id, sku_id, product_id, position, price_fen, per_member_limit, quantity_limit, taken)
             VALUES ($1, $2, $3, $4, $5, $6, $7, 0)",
        args![batch_id, sku_id, product_id, position, price_fen, per_member_limit, quantity_limit],
    )?;
    Ok(())
}

/// A merchant's last 100 batches, newest first.
pub(in crate::neighbourhood) fn merchant_batches(
    c: &mut dyn Conn,
    merchant_id: &str,
    now: i64,
) -> AppResult<Vec<Batch>> {
    let rows = c.query(
        &format!("SELECT {BATCH_COLS} FROM batches WHERE merchant_id = $1 ORDER BY created_at DESC, id LIMIT 100"),
        args![merchant_id],
    )?;
    rows.iter().map(|r| batch_view(c, r, now)).collect()
}

/// The account of the leader who opened the batch (none: the merchant's own batch).
pub(in crate::neighbourhood) fn batch_opener_account(
    c: &mut dyn Conn,
    batch_id: &str,
) -> AppResult<Option<String>> {
    Ok(c.query_opt(
        "SELECT l.account_id FROM batches b JOIN leaders l ON l.id = b.leader_id WHERE b.id = $1",
        args![batch_id],
    )?
    .map(|r| r.text(0))
    .transpose()?)
}

/// Moves an open batch's cut-off to now (a batch not started yet starts now too); false
/// when it was not open any more.
pub(in crate::neighbourhood) fn close_batch_now(
    c: &mut dyn Conn,
    batch_id: &str,
    now: i64,
) -> AppResult<bool> {
    Ok(c.execute(
        "UPDATE batches SET cutoff_at = $1, starts_at = CASE WHEN starts_at < $1 THEN starts_at ELSE $3 END, updated_at = $1
                     WHERE id = $2 AND status = 'open' AND cutoff_at > $1",
        args![now, batch_id, now - 1],
    )? != 0)
}

/// Takes the batch's next 接龙 number; false when the batch is not open for joins now.
pub(in crate::neighbourhood) fn bump_join_seq(
    c: &mut dyn Conn,
    batch_id: &str,
    now: i64,
) -> AppResult<bool> {
    Ok(c.execute(
        "UPDATE batches SET join_seq = join_seq + 1, updated_at = $1
                     WHERE id = $2 AND status = 'open' AND starts_at <= $1 AND cutoff_at > $1",
        args![now, batch_id],
    )? != 0)
}

/// The member's chosen leader at the merchant, if any.
pub(in crate::neighbourhood) fn chosen_leader(
    c: &mut dyn Conn,
    merchant_id: &str,
    member: &str,
) -> AppResult<Option<String>> {
    Ok(c.query_opt(
        "SELECT leader_id FROM leader_choices WHERE merchant_id = $1 AND account_id = $2",
        args![merchant_id, member],
    )?
    .map(|r| r.text(0))
    .transpose()?)
}

/// How many of the batch's joins at the leader's point are held or paid.
pub(in crate::neighbourhood) fn live_joins_at_point(
    c: &mut dyn Conn,
    batch_id: &str,
    leader_id: &str,
) -> AppResult<i64> {
    Ok(c
        .query_one(
            "SELECT COUNT(*) FROM batch_orders WHERE batch_id = $1 AND leader_id = $2 AND state IN ('held', 'paid')",
            args![batch_id, leader_id],
        )?
        .int(0)?)
}

/// Takes `units` of the item; false when fewer are left.
pub(in crate::neighbourhood) fn take_batch_units(
    c: &mut dyn Conn,
    batch_id: &str,
    sku_id: &str,
    units: i64,
) -> AppResult<bool> {
    Ok(c.execute(
        "UPDATE batch_items SET taken = taken + $1 WHERE batch_id = $2 AND sku_id = $3 AND taken + $1 <= quantity_limit",
        args![units, batch_id, sku_id],
    )? != 0)
}

/// Adds `units` of the item to the member's own count (its row made if new); false when
/// that would pass `limit`.
pub(in crate::neighbourhood) fn take_member_units(
    c: &mut dyn Conn,
    batch_id: &str,
    sku_id: &str,
    member: &str,
    units: i64,
    limit: i64,
) -> AppResult<bool> {
    c.execute(
        "INSERT INTO batch_member_units (batch_id, sku_id, account_id, units) VALUES ($1, $2, $3, 0) ON CONFLICT DO NOTHING",
        args![batch_id, sku_id, member],
    )?;
    Ok(c.execute(
        "UPDATE batch_member_units SET units = units + $1 WHERE batch_id = $2 AND sku_id = $3 AND account_id = $4 AND units + $1 <= $5",
        args![units, batch_id, sku_id, member, limit],
    )? != 0)
}

/// The batch's current 接龙 number.
pub(in crate::neighbourhood) fn batch_join_seq(c: &mut dyn Conn, batch_id: &str) -> AppResult<i64> {
    Ok(c.query_one(
        "SELECT join_seq FROM batches WHERE id = $1",
        args![batch_id],
    )?
    .int(0)?)
}

/// A new join, held until paid.
#[allow(clippy::too_many_arguments)]
pub(in crate::neighbourhood) fn insert_join(
    c: &mut dyn Conn,
    order_id: &str,
    batch_id: &str,
    leader_id: &str,
    member: &str,
    seq: i64,
    units: i64,
    now: i64,
) -> AppResult<()> {
    c.execute(
        "INSERT INTO batch_orders (order_id, batch_id, leader_id, account_id, seq, units, state, joined_at) VALUES ($1, $2, $3, $4, $5, $6, 'held', $7)",
        args![order_id, batch_id, leader_id, member, seq, units, now],
    )?;
    Ok(())
}

/// One live join of the 接龙 list, names not yet filtered.
pub(in crate::neighbourhood) struct JoinRow {
    pub seq: i64,
    pub account_id: String,
    pub display_name: String,
    pub units: i64,
    pub state: String,
    pub point_name: String,
    pub joined_at: i64,
}

/// The batch's joins not released, in join order.
pub(in crate::neighbourhood) fn join_list(
    c: &mut dyn Conn,
    batch_id: &str,
) -> AppResult<Vec<JoinRow>> {
    kith_store::columns!(JoinCols {
        "j.seq" => seq,
        "j.account_id" => account_id,
        "a.display_name" => display_name,
        "j.units" => units,
        "j.state" => state,
        "l.point_name" => point_name,
        "j.joined_at" => joined_at,
    });
    let rows = c.query(
        &format!(
            "SELECT {} FROM batch_orders j JOIN accounts a ON a.id = j.account_id JOIN leaders l ON l.id = j.leader_id
                         WHERE j.batch_id = $1 AND j.state <> 'released' ORDER BY j.seq",
            JoinCols::LIST
        ),
        args![batch_id],
    )?;
    rows.iter()
        .map(|r| {
            Ok(JoinRow {
                seq: r.int(JoinCols::seq)?,
                account_id: r.text(JoinCols::account_id)?,
                display_name: r.text(JoinCols::display_name)?,
                units: r.int(JoinCols::units)?,
                state: r.text(JoinCols::state)?,
                point_name: r.text(JoinCols::point_name)?,
                joined_at: r.int(JoinCols::joined_at)?,
            })
        })
        .collect()
}

/// The leaders with paid or fixed joins in the batch.
pub(in crate::neighbourhood) fn batch_leaders(
    c: &mut dyn Conn,
    batch_id: &str,
) -> AppResult<Vec<String>> {
    Ok(c
        .query(
            "SELECT DISTINCT leader_id FROM batch_orders WHERE batch_id = $1 AND state IN ('paid', 'fixed')",
            args![batch_id],
        )?
        .iter()
        .map(|r| r.text(0))
        .collect::<Result<Vec<_>, _>>()?)
}

/// Whether the leader's consignment of the batch was delivered.
pub(in crate::neighbourhood) fn consignment_delivered(
    c: &mut dyn Conn,
    batch_id: &str,
    leader_id: &str,
) -> AppResult<bool> {
    Ok(c.query_opt(
        "SELECT 1 FROM batch_deliveries WHERE batch_id = $1 AND leader_id = $2",
        args![batch_id, leader_id],
    )?
    .is_some())
}

pub(in crate::neighbourhood) fn insert_delivery(
    c: &mut dyn Conn,
    batch_id: &str,
    leader_id: &str,
    now: i64,
    by: &str,
) -> AppResult<()> {
    c.execute(
        "INSERT INTO batch_deliveries (batch_id, leader_id, delivered_at, delivered_by) VALUES ($1, $2, $3, $4)",
        args![batch_id, leader_id, now, by],
    )?;
    Ok(())
}

/// The orders of the leader's fixed joins in the batch, in join order.
pub(in crate::neighbourhood) fn fixed_orders_at(
    c: &mut dyn Conn,
    batch_id: &str,
    leader_id: &str,
) -> AppResult<Vec<String>> {
    Ok(c
        .query(
            "SELECT order_id FROM batch_orders WHERE batch_id = $1 AND leader_id = $2 AND state = 'fixed' ORDER BY seq",
            args![batch_id, leader_id],
        )?
        .iter()
        .map(|r| r.text(0))
        .collect::<Result<Vec<_>, _>>()?)
}

/// What to pack for the leader's point: each SKU of its paid and fixed joins, summed.
pub(in crate::neighbourhood) fn pick_lines(
    c: &mut dyn Conn,
    batch: &str,
    leader: &str,
) -> AppResult<Vec<PickLine>> {
    c.query(
        "SELECT ol.sku_id, ol.product_name, ol.sku_code, CAST(SUM(ol.quantity) AS BIGINT)
             FROM batch_orders j JOIN order_lines ol ON ol.order_id = j.order_id
             WHERE j.batch_id = $1 AND j.leader_id = $2 AND j.state IN ('paid', 'fixed')
             GROUP BY ol.sku_id, ol.product_name, ol.sku_code ORDER BY ol.product_name, ol.sku_code",
        args![batch, leader],
    )?
    .iter()
    .map(|r| {
        Ok(PickLine {
            sku_id: SkuId::from_row(r.text(0)?),
            product_name: r.text(1)?,
            sku_code: r.text(2)?,
            quantity: r.int(3)?,
        })
    })
    .collect()
}

/// The same per buyer, in join order, each buyer's lines in line order.
pub(in crate::neighbourhood) fn pick_buyers(
    c: &mut dyn Conn,
    batch: &str,
    leader: &str,
) -> AppResult<Vec<PickBuyer>> {
    kith_store::columns!(BuyerLineCols {
        "j.seq" => seq,
        "a.display_name" => display_name,
        "j.order_id" => order_id,
        "o.status" => order_status,
        "ol.sku_id" => sku_id,
        "ol.product_name" => product_name,
        "ol.sku_code" => sku_code,
        "ol.quantity" => quantity,
    });
    let rows = c.query(
        &format!(
            "SELECT {} FROM batch_orders j JOIN accounts a ON a.id = j.account_id JOIN orders o ON o.id = j.order_id
             JOIN order_lines ol ON ol.order_id = j.order_id
             WHERE j.batch_id = $1 AND j.leader_id = $2 AND j.state IN ('paid', 'fixed') ORDER BY j.seq, ol.line_no",
            BuyerLineCols::LIST
        ),
        args![batch, leader],
    )?;
    let mut buyers: Vec<PickBuyer> = Vec::new();
    for r in &rows {
        let seq = r.int(BuyerLineCols::seq)?;
        let line = PickLine {
            sku_id: SkuId::from_row(r.text(BuyerLineCols::sku_id)?),
            product_name: r.text(BuyerLineCols::product_name)?,
            sku_code: r.text(BuyerLineCols::sku_code)?,
            quantity: r.int(BuyerLineCols::quantity)?,
        };
        match buyers.last_mut() {
            Some(b) if b.seq == seq => b.lines.push(line),
            _ => buyers.push(PickBuyer {
                seq,
                display_name: r.text(BuyerLineCols::display_name)?,
                order_id: OrderId::from_row(r.text(BuyerLineCols::order_id)?),
                order_status: r.text(BuyerLineCols::order_status)?,
                lines: vec![line],
            }),
        }
    }
    Ok(buyers)
}

/// When the leader's consignment of the batch was delivered, if it was.
pub(in crate::neighbourhood) fn delivered_at(
    c: &mut dyn Conn,
    batch: &str,
    leader: &str,
) -> AppResult<Option<i64>> {
    Ok(c.query_opt(
        "SELECT delivered_at FROM batch_deliveries WHERE batch_id = $1 AND leader_id = $2",
        args![batch, leader],
    )?
    .map(|r| r.int(0))
    .transpose()?)
}
