//! Loyalty's rows: `points_settings`, `points_lots`, the orders' and lines' `points_*`
//! columns, and the reads of the ledger's `points:` accounts and merchants' names the
//! points pages need.

use kith_domain::ledger::AccountId;
use kith_store::{Conn, args};

use super::PointsSettings;
use crate::{AppError, AppResult};

const SETTINGS: &str = "SELECT enabled, earn_per_yuan, points_per_yuan, cap_percent, expire_days, on_activity_orders FROM points_settings WHERE merchant_id = $1";

/// Announces [`settings`] ([`Conn::prefetch`]).
pub(crate) fn announce_settings(c: &mut dyn Conn, merchant_id: &str) -> AppResult<()> {
    Ok(kith_store::prefetch!(c, SETTINGS, merchant_id)?)
}

/// The merchant's rule and whether it is on; `None` when the shop never set one.
pub(crate) fn settings(c: &mut dyn Conn, merchant_id: &str) -> AppResult<Option<PointsSettings>> {
    c.query_opt(SETTINGS, args![merchant_id])?
        .map(|r| {
            Ok(PointsSettings {
                enabled: r.bool(0)?,
                earn_per_yuan: r.int(1)?,
                points_per_yuan: r.int(2)?,
                cap_percent: r.int(3)?,
                expire_days: r.int(4)?,
                on_activity_orders: r.bool(5)?,
            })
        })
        .transpose()
}

pub(super) fn upsert_settings(
    c: &mut dyn Conn,
    now: i64,
    merchant_id: &str,
    s: &PointsSettings,
) -> AppResult<()> {
    c.execute(
        "INSERT INTO points_settings (merchant_id, enabled, earn_per_yuan, points_per_yuan, cap_percent, expire_days, updated_at, on_activity_orders)
                     VALUES ($1, $2, $3, $4, $5, $6, $7, $8)
                     ON CONFLICT (merchant_id) DO UPDATE SET enabled = $2, earn_per_yuan = $3, points_per_yuan = $4,
                        cap_percent = $5, expire_days = $6, updated_at = $7, on_activity_orders = $8",
        args![merchant_id, s.enabled, s.earn_per_yuan, s.points_per_yuan, s.cap_percent, s.expire_days, now,
              s.on_activity_orders],
    )?;
    Ok(())
}

/// Takes the row lock of a ledger account (a no-op update; PostgreSQL holds the lock until
/// the transaction ends).
pub(super) fn lock_account(c: &mut dyn Conn, account: &AccountId) -> AppResult<()> {
    c.execute(
        "UPDATE ledger_accounts SET balance_fen = balance_fen WHERE id = $1",
        args![account.as_str()],
    )?;
    Ok(())
}

pub(super) fn insert_lot(
    c: &mut dyn Conn,
    now: i64,
    member: &str,
    merchant_id: &str,
    order_id: Option<&str>,
    points: i64,
    expires: Option<i64>,
) -> AppResult<()> {
    c.execute(
        "INSERT INTO points_lots (member_id, merchant_id, order_id, points, expires_at, created_at) VALUES ($1, $2, $3, $4, $5, $6)",
        args![member, merchant_id, order_id, points, expires, now],
    )?;
    Ok(())
}

/// The points the order spent and what they were worth.
pub(super) fn set_order_spent(
    c: &mut dyn Conn,
    order_id: &str,
    used: i64,
    fen: i64,
) -> AppResult<()> {
    c.execute(
        "UPDATE orders SET points_used = $1, points_fen = $2 WHERE id = $3",
        args![used, fen, order_id],
    )?;
    Ok(())
}

/// An order's points columns.
pub(super) struct OrderPoints {
    pub buyer: String,
    pub merchant_id: String,
    pub goods_fen: i64,
    pub used: i64,
    pub returned: i64,
    pub earned: i64,
    pub reversed: i64,
}

pub(super) fn order_points(c: &mut dyn Conn, order_id: &str) -> AppResult<OrderPoints> {
    kith_store::columns!(Cols {
        buyer_id,
        merchant_id,
        goods_fen,
        points_used,
        points_returned,
        points_earned,
        points_reversed,
    });
    let r = c
        .query_opt(
            &format!("SELECT {} FROM orders WHERE id = $1", Cols::LIST),
            args![order_id],
        )?
        .ok_or(AppError::NotFound("order"))?;
    Ok(OrderPoints {
        buyer: r.text(Cols::buyer_id)?,
        merchant_id: r.text(Cols::merchant_id)?,
        goods_fen: r.int(Cols::goods_fen)?,
        used: r.int(Cols::points_used)?,
        returned: r.int(Cols::points_returned)?,
        earned: r.int(Cols::points_earned)?,
        reversed: r.int(Cols::points_reversed)?,
    })
}

/// Every spent point of the order counts as returned; false when `returned` was no longer
/// what the order had returned.
pub(super) fn return_order_points(
    c: &mut dyn Conn,
    order_id: &str,
    returned: i64,
) -> AppResult<bool> {
    let n = c.execute(
        "UPDATE orders SET points_returned = points_used WHERE id = $1 AND points_returned = $2",
        args![order_id, returned],
    )?;
    Ok(n == 1)
}

pub(super) fn return_line_points(c: &mut dyn Conn, order_id: &str) -> AppResult<()> {
    c.execute(
        "UPDATE order_lines SET points_returned = points_used WHERE order_id = $1",
        args![order_id],
    )?;
    Ok(())
}

/// Records what the order earned, once; false when it already had.
pub(super) fn set_order_earned(c: &mut dyn Conn, order_id: &str, earned: i64) -> AppResult<bool> {
    let n = c.execute(
        "UPDATE orders SET points_earned = $1 WHERE id = $2 AND points_earned = 0",
        args![earned, order_id],
    )?;
    Ok(n == 1)
}

/// A line's points spent and returned.
pub(super) fn line_points(c: &mut dyn Conn, order_id: &str, line_no: i64) -> AppResult<(i64, i64)> {
    let r = c.query_one(
        "SELECT points_used, points_returned FROM order_lines WHERE order_id = $1 AND line_no = $2",
        args![order_id, line_no],
    )?;
    Ok((r.int(0)?, r.int(1)?))
}

pub(super) fn add_line_returned(
    c: &mut dyn Conn,
    order_id: &str,
    line_no: i64,
    back: i64,
) -> AppResult<()> {
    c.execute(
        "UPDATE order_lines SET points_returned = points_returned + $1 WHERE order_id = $2 AND line_no = $3",
        args![back, order_id, line_no],
    )?;
    Ok(())
}

pub(super) fn add_order_returned(c: &mut dyn Conn, order_id: &str, back: i64) -> AppResult<()> {
    c.execute(
        "UPDATE orders SET points_returned = points_returned + $1 WHERE id = $2",
        args![back, order_id],
    )?;
    Ok(())
}

pub(super) fn add_order_reversed(c: &mut dyn Conn, order_id: &str, owed: i64) -> AppResult<()> {
    c.execute(
        "UPDATE orders SET points_reversed = points_reversed + $1 WHERE id = $2",
        args![owed, order_id],
    )?;
    Ok(())
}

/// The member's lots at the merchant: (points in lots expired by `now`, points in all lots).
pub(super) fn lot_sums(
    c: &mut dyn Conn,
    member: &str,
    merchant_id: &str,
    now: i64,
) -> AppResult<(i64, i64)> {
    let r = c.query_one(
        "SELECT CAST(COALESCE(SUM(CASE WHEN expires_at IS NOT NULL AND expires_at <= $3 THEN points ELSE 0 END), 0) AS bigint),
                CAST(COALESCE(SUM(points), 0) AS bigint)
         FROM points_lots WHERE member_id = $1 AND merchant_id = $2",
        args![member, merchant_id, now],
    )?;
    Ok((r.int(0)?, r.int(1)?))
}

/// The member's lots at the merchant, oldest first: (points, expiry).
pub(super) fn lots(
    c: &mut dyn Conn,
    member: &str,
    merchant_id: &str,
) -> AppResult<Vec<(i64, Option<i64>)>> {
    c.query(
        "SELECT points, expires_at FROM points_lots WHERE member_id = $1 AND merchant_id = $2 ORDER BY id",
        args![member, merchant_id],
    )?
    .iter()
    .map(|r| Ok((r.int(0)?, r.opt_int(1)?)))
    .collect()
}

pub(super) fn merchant_name(c: &mut dyn Conn, merchant_id: &str) -> AppResult<String> {
    Ok(c.query_opt(
        "SELECT name FROM merchants WHERE id = $1",
        args![merchant_id],
    )?
    .ok_or(AppError::NotFound("merchant"))?
    .text(0)?)
}

/// The ids of the ledger accounts starting with `prefix` (a `LIKE` pattern), in order.
pub(super) fn accounts_like(c: &mut dyn Conn, prefix: &str) -> AppResult<Vec<String>> {
    c.query(
        "SELECT id FROM ledger_accounts WHERE id LIKE $1 ORDER BY id",
        args![prefix],
    )?
    .iter()
    .map(|r| Ok(r.text(0)?))
    .collect()
}
