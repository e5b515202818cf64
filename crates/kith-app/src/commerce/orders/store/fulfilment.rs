//! Fulfilment's rows: the order's shipping, delivery and completion columns, tracking
//! events and pickup codes.

use kith_store::{Conn, args};

use super::{ORDER_COLS, OrderRow, order_row};
use crate::AppResult;

/// Delivered now: the after-sale window ends at `after_sale_ends`.
pub(crate) fn set_delivered(
    c: &mut dyn Conn,
    now: i64,
    order_id: &str,
    after_sale_ends: i64,
) -> AppResult<()> {
    c.execute(
        "UPDATE orders SET delivered_at = $1, after_sale_ends_at = $2 WHERE id = $3",
        args![now, after_sale_ends, order_id],
    )?;
    Ok(())
}

pub(crate) fn set_completed_at(c: &mut dyn Conn, now: i64, order_id: &str) -> AppResult<()> {
    c.execute(
        "UPDATE orders SET completed_at = $1 WHERE id = $2",
        args![now, order_id],
    )?;
    Ok(())
}

/// The order a tracking update is about: the one named, if it has that shipment, or the
/// newest order with that carrier's number.
pub(crate) fn shipment_order(
    c: &mut dyn Conn,
    order_id: Option<&str>,
    carrier: &str,
    tracking_no: &str,
) -> AppResult<Option<OrderRow>> {
    match order_id {
        Some(id) => c.query_opt(
            &format!("SELECT {ORDER_COLS} FROM orders WHERE id = $1 AND carrier = $2 AND tracking_no = $3"),
            args![id, carrier, tracking_no],
        )?,
        None => c.query_opt(
            &format!("SELECT {ORDER_COLS} FROM orders WHERE carrier = $1 AND tracking_no = $2 ORDER BY created_at DESC LIMIT 1"),
            args![carrier, tracking_no],
        )?,
    }
    .map(order_row)
    .transpose()
}

/// Records a carrier's event once; false when `(carrier, event_id)` was already recorded.
#[allow(clippy::too_many_arguments)]
pub(crate) fn insert_tracking_event(
    c: &mut dyn Conn,
    now: i64,
    carrier: &str,
    event_id: &str,
    order_id: &str,
    status: &str,
    occurred_ms: i64,
    description: Option<&str>,
) -> AppResult<bool> {
    let inserted = c.execute(
        "INSERT INTO tracking_events (carrier, event_id, order_id, status, occurred_at, received_at, description)
         VALUES ($1, $2, $3, $4, $5, $6, $7)
         ON CONFLICT (carrier, event_id) DO NOTHING",
        args![carrier, event_id, order_id, status, occurred_ms, now, description],
    )?;
    Ok(inserted > 0)
}

/// Whether `code` is live (neither redeemed nor voided) at `store_id`.
pub(crate) fn pickup_code_taken(c: &mut dyn Conn, store_id: &str, code: &str) -> AppResult<bool> {
    Ok(c
        .query_opt(
            "SELECT 1 FROM pickup_codes WHERE store_id = $1 AND code = $2 AND redeemed_at IS NULL AND voided_at IS NULL",
            args![store_id, code],
        )?
        .is_some())
}

pub(crate) fn insert_pickup_code(
    c: &mut dyn Conn,
    now: i64,
    order_id: &str,
    store_id: &str,
    code: &str,
) -> AppResult<()> {
    c.execute(
        "INSERT INTO pickup_codes (order_id, store_id, code, created_at) VALUES ($1, $2, $3, $4)",
        args![order_id, store_id, code, now],
    )?;
    Ok(())
}

/// Shipped now with `carrier` and `tracking_no`; confirmed automatically at `confirm_at`.
pub(crate) fn set_shipped(
    c: &mut dyn Conn,
    now: i64,
    order_id: &str,
    carrier: &str,
    tracking_no: &str,
    confirm_at: i64,
) -> AppResult<()> {
    c.execute(
        "UPDATE orders SET carrier = $1, tracking_no = $2, shipped_at = $3, auto_confirm_at = $4 WHERE id = $5",
        args![carrier, tracking_no, now, confirm_at, order_id],
    )?;
    Ok(())
}

/// A pickup code as issued: its order, when it was redeemed, when it was voided.
pub(crate) struct PickupCode {
    pub order_id: String,
    pub redeemed_at: Option<i64>,
    pub voided_at: Option<i64>,
}

/// Every code `code` at `store_id` ever was, newest first.
pub(crate) fn pickup_codes(
    c: &mut dyn Conn,
    store_id: &str,
    code: &str,
) -> AppResult<Vec<PickupCode>> {
    c.query(
        "SELECT order_id, redeemed_at, voided_at FROM pickup_codes WHERE store_id = $1 AND code = $2 ORDER BY created_at DESC",
        args![store_id, code],
    )?
    .iter()
    .map(|r| {
        Ok(PickupCode {
            order_id: r.text(0)?,
            redeemed_at: r.opt_int(1)?,
            voided_at: r.opt_int(2)?,
        })
    })
    .collect()
}

/// Redeems the order's live code; false when none is live.
pub(crate) fn redeem_pickup_code(
    c: &mut dyn Conn,
    now: i64,
    order_id: &str,
    clerk: &str,
) -> AppResult<bool> {
    let n = c.execute(
        "UPDATE pickup_codes SET redeemed_at = $1, redeemed_by = $2 WHERE order_id = $3 AND redeemed_at IS NULL AND voided_at IS NULL",
        args![now, clerk, order_id],
    )?;
    Ok(n > 0)
}

/// The store's orders waiting for pickup, and those picked up since `since`.
pub(crate) fn store_pickups(
    c: &mut dyn Conn,
    store_id: &str,
    since: i64,
) -> AppResult<Vec<OrderRow>> {
    c.query(
        &format!(
            "SELECT {ORDER_COLS} FROM orders WHERE pickup_store_id = $1
                         AND (status = 'ready_for_pickup' OR (status = 'picked_up' AND delivered_at >= $2))
                         ORDER BY created_at DESC LIMIT 200"
        ),
        args![store_id, since],
    )?
    .into_iter()
    .map(order_row)
    .collect()
}
