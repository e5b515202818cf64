//! The refunds' rows (`refunds`) and the holds and counters a refund moves on the order and
//! its lines.

use kith_domain::Fen;
use kith_domain::order::OrderKind;
use kith_domain::refund::RefundStatus;
use kith_store::{Conn, Row, args};

use crate::commerce::refunds::Refund;
use crate::platform::ids::{OrderId, RefundId};
use crate::{AppError, AppResult, rfc3339};

kith_store::columns!(RefundCols {
    id,
    order_id,
    amount_fen,
    includes_shipping,
    lines,
    provider,
    reason,
    status,
    failure_reason,
    provider_refund_id,
    created_at,
    settled_at,
    retried_by,
});
const REFUND_COLS: &str = RefundCols::LIST;

fn refund_from_row(r: &Row) -> AppResult<Refund> {
    Ok(Refund {
        id: RefundId::from_row(r.text(RefundCols::id)?),
        order_id: OrderId::from_row(r.text(RefundCols::order_id)?),
        amount_fen: Fen::new(r.int(RefundCols::amount_fen)?),
        includes_shipping: r.bool(RefundCols::includes_shipping)?,
        lines: serde_json::from_str(&r.text(RefundCols::lines)?).unwrap_or(serde_json::Value::Null),
        provider: r.text(RefundCols::provider)?,
        reason: r.text(RefundCols::reason)?,
        status: RefundStatus::from_db(&r.text(RefundCols::status)?)
            .ok_or_else(|| AppError::Internal("unknown refund status".into()))?,
        failure_reason: r.opt_text(RefundCols::failure_reason)?,
        provider_refund_id: r.opt_text(RefundCols::provider_refund_id)?,
        created_at: rfc3339(r.int(RefundCols::created_at)?),
        settled_at: r.opt_int(RefundCols::settled_at)?.map(rfc3339),
        retried_by: r.opt_text(RefundCols::retried_by)?.map(RefundId::from_row),
    })
}

pub(crate) fn load_refund(c: &mut dyn Conn, refund_id: &str) -> AppResult<Refund> {
    let r = c
        .query_opt(
            &format!("SELECT {REFUND_COLS} FROM refunds WHERE id = $1"),
            args![refund_id],
        )?
        .ok_or(AppError::NotFound("refund"))?;
    refund_from_row(&r)
}

/// An order's refunds (not its late-payment returns), oldest first.
pub(crate) fn order_refunds(c: &mut dyn Conn, order_id: &str) -> AppResult<Vec<Refund>> {
    c.query(
        &format!("SELECT {REFUND_COLS} FROM refunds WHERE order_id = $1 AND kind = 'order' ORDER BY created_at, id"),
        args![order_id],
    )?
    .iter()
    .map(refund_from_row)
    .collect()
}

/// The money of the order's refunds in flight.
pub(crate) fn refunding_fen(c: &mut dyn Conn, order_id: &str) -> AppResult<i64> {
    Ok(c.query_one(
        "SELECT refunding_fen FROM orders WHERE id = $1",
        args![order_id],
    )?
    .int(0)?)
}

/// The newest succeeded payment of the order through `provider`.
pub(crate) fn succeeded_payment(
    c: &mut dyn Conn,
    order_id: &str,
    provider: &str,
) -> AppResult<Option<String>> {
    c.query_opt(
        "SELECT id FROM payments WHERE order_id = $1 AND provider = $2 AND status = 'succeeded' ORDER BY created_at DESC, id LIMIT 1",
        args![order_id, provider],
    )?
    .map(|r| r.text(0))
    .transpose()
    .map_err(Into::into)
}

/// A refund of an order as requested.
pub(crate) struct NewRefund<'a> {
    pub id: &'a str,
    pub order_id: &'a str,
    pub merchant_id: &'a str,
    pub amount_fen: i64,
    pub includes_shipping: bool,
    pub lines_json: &'a str,
    pub provider: &'a str,
    pub reason: &'a str,
    pub actor_kind: &'a str,
    pub actor_id: Option<&'a str>,
    pub payment_id: Option<&'a str>,
}

pub(crate) fn insert_order_refund(c: &mut dyn Conn, now: i64, r: &NewRefund<'_>) -> AppResult<()> {
    c.execute(
        "INSERT INTO refunds (id, order_id, merchant_id, amount_fen, includes_shipping, lines, provider, reason, actor_kind, actor_id, created_at, status, payment_id, kind)
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, 'requested', $12, 'order')",
        args![r.id, r.order_id, r.merchant_id, r.amount_fen, r.includes_shipping, r.lines_json,
              r.provider, r.reason, r.actor_kind, r.actor_id, now, r.payment_id],
    )?;
    Ok(())
}

/// Holds `qty` units and `amount` of a line for a refund; false when the line has not that
/// much left.
pub(crate) fn hold_line(
    c: &mut dyn Conn,
    order_id: &str,
    line_no: i64,
    qty: i64,
    amount: i64,
) -> AppResult<bool> {
    let n = c.execute(
        "UPDATE order_lines SET refunding_quantity = refunding_quantity + $1, refunding_fen = refunding_fen + $2
             WHERE order_id = $3 AND line_no = $4 AND quantity - refunded_quantity - refunding_quantity >= $1
               AND unit_price_fen * quantity - coupon_fen - activity_fen - points_fen - refunded_fen - refunding_fen >= $2",
        args![qty, amount, order_id, line_no],
    )?;
    Ok(n > 0)
}

/// Holds `amount` of the order's money for a refund; false when not that much is left.
pub(crate) fn hold_order(
    c: &mut dyn Conn,
    now: i64,
    order_id: &str,
    amount: i64,
) -> AppResult<bool> {
    let n = c.execute(
        "UPDATE orders SET refunding_fen = refunding_fen + $1, updated_at = $2
         WHERE id = $3 AND paid_fen - refunded_fen - refunding_fen >= $1",
        args![amount, now, order_id],
    )?;
    Ok(n > 0)
}

/// A refund as settling it needs it, with its order's kind.
pub(crate) struct SettleRow {
    pub order_id: String,
    pub merchant_id: String,
    pub amount_fen: i64,
    pub lines_json: String,
    pub provider: String,
    pub reason: String,
    pub actor_kind: String,
    pub actor_id: Option<String>,
    pub status: RefundStatus,
    pub kind: String,
    pub payment_id: Option<String>,
    pub order_kind: OrderKind,
}

pub(crate) fn refund_to_settle(c: &mut dyn Conn, refund_id: &str) -> AppResult<SettleRow> {
    kith_store::columns!(SettleCols {
        "r.order_id" => order_id,
        "r.merchant_id" => merchant_id,
        "r.amount_fen" => amount_fen,
        "r.lines" => lines,
        "r.provider" => provider,
        "r.reason" => reason,
        "r.actor_kind" => actor_kind,
        "r.actor_id" => actor_id,
        "r.status" => status,
        "r.kind" => kind,
        "r.payment_id" => payment_id,
        "o.kind" => order_kind,
    });
    let r = c
        .query_opt(
            &format!(
                "SELECT {} FROM refunds r JOIN orders o ON o.id = r.order_id WHERE r.id = $1",
                SettleCols::LIST
            ),
            args![refund_id],
        )?
        .ok_or(AppError::NotFound("refund"))?;
    Ok(SettleRow {
        order_id: r.text(SettleCols::order_id)?,
        merchant_id: r.text(SettleCols::merchant_id)?,
        amount_fen: r.int(SettleCols::amount_fen)?,
        lines_json: r.text(SettleCols::lines)?,
        provider: r.text(SettleCols::provider)?,
        reason: r.text(SettleCols::reason)?,
        actor_kind: r.text(SettleCols::actor_kind)?,
        actor_id: r.opt_text(SettleCols::actor_id)?,
        kind: r.text(SettleCols::kind)?,
        payment_id: r.opt_text(SettleCols::payment_id)?,
        status: RefundStatus::from_db(&r.text(SettleCols::status)?)
            .ok_or_else(|| AppError::Internal("unknown refund status".into()))?,
        order_kind: OrderKind::from_db(&r.text(SettleCols::order_kind)?)
            .ok_or_else(|| AppError::Internal("unknown order kind".into()))?,
    })
}

/// Settles a requested refund as `status`; false when it was no longer requested.
pub(crate) fn settle_refund(
    c: &mut dyn Conn,
    now: i64,
    refund_id: &str,
    status: RefundStatus,
    provider_refund_id: Option<&str>,
    failure: Option<&str>,
) -> AppResult<bool> {
    let n = c.execute(
        "UPDATE refunds SET status = $1, settled_at = $2, provider_refund_id = COALESCE($3, provider_refund_id), failure_reason = $4
         WHERE id = $5 AND status = 'requested'",
        args![status.as_str(), now, provider_refund_id, failure, refund_id],
    )?;
    Ok(n > 0)
}

/// Releases a line's hold.
pub(crate) fn release_line_hold(
    c: &mut dyn Conn,
    order_id: &str,
    line_no: i64,
    qty: i64,
    amount: i64,
) -> AppResult<()> {
    c.execute(
        "UPDATE order_lines SET refunding_quantity = refunding_quantity - $1, refunding_fen = refunding_fen - $2
             WHERE order_id = $3 AND line_no = $4",
        args![qty, amount, order_id, line_no],
    )?;
    Ok(())
}

/// Releases the order's hold of `amount`.
pub(crate) fn release_order_hold(
    c: &mut dyn Conn,
    now: i64,
    order_id: &str,
    amount: i64,
) -> AppResult<()> {
    c.execute(
        "UPDATE orders SET refunding_fen = refunding_fen - $1, updated_at = $2 WHERE id = $3",
        args![amount, now, order_id],
    )?;
    Ok(())
}

/// Counts `qty` units and `amount` of a line as refunded.
pub(crate) fn add_line_refunded(
    c: &mut dyn Conn,
    order_id: &str,
    line_no: i64,
    qty: i64,
    amount: i64,
) -> AppResult<()> {
    c.execute(
        "UPDATE order_lines SET refunded_quantity = refunded_quantity + $1, refunded_fen = refunded_fen + $2 WHERE order_id = $3 AND line_no = $4",
        args![qty, amount, order_id, line_no],
    )?;
    Ok(())
}

/// Counts `amount` of the order's money as refunded.
pub(crate) fn add_order_refunded(
    c: &mut dyn Conn,
    now: i64,
    order_id: &str,
    amount: i64,
) -> AppResult<()> {
    c.execute(
        "UPDATE orders SET refunded_fen = refunded_fen + $1, updated_at = $2 WHERE id = $3",
        args![amount, now, order_id],
    )?;
    Ok(())
}

/// Voids the order's live pickup code.
pub(crate) fn void_pickup_code(c: &mut dyn Conn, now: i64, order_id: &str) -> AppResult<()> {
    c.execute("UPDATE pickup_codes SET voided_at = $1 WHERE order_id = $2 AND redeemed_at IS NULL AND voided_at IS NULL", args![now, order_id])?;
    Ok(())
}

#[allow(clippy::too_many_arguments)]
pub(crate) fn insert_late_refund(
    c: &mut dyn Conn,
    now: i64,
    refund_id: &str,
    order_id: &str,
    merchant_id: &str,
    amount: i64,
    provider: &str,
    payment_id: &str,
) -> AppResult<()> {
    c.execute(
        "INSERT INTO refunds (id, order_id, merchant_id, amount_fen, includes_shipping, lines, provider, reason, actor_kind, actor_id, created_at, status, payment_id, kind)
         VALUES ($1, $2, $3, $4, FALSE, '[]', $5, 'late payment returned', 'gateway', NULL, $6, 'requested', $7, 'late_payment')",
        args![refund_id, order_id, merchant_id, amount, provider, now, payment_id],
    )?;
    Ok(())
}

/// Links a failed refund to the one asking again; false when it was already asked again
/// (or is not failed).
pub(crate) fn set_retried_by(c: &mut dyn Conn, old: &str, new: &str) -> AppResult<bool> {
    let n = c.execute(
        "UPDATE refunds SET retried_by = $1 WHERE id = $2 AND status = 'failed' AND retried_by IS NULL",
        args![new, old],
    )?;
    Ok(n > 0)
}
