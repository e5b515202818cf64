//! A merchant's settlement: the reads beside its ledger accounts.

use kith_store::{Conn, args};

use crate::AppResult;

/// The direct money of the merchant's orders still inside their after-sale window: paid
/// through the merchant's own account and not yet completed (net of what was refunded).
pub(in crate::money) fn direct_in_window(c: &mut dyn Conn, merchant_id: &str) -> AppResult<i64> {
    Ok(c.query_one(
        "SELECT CAST(COALESCE(SUM(o.paid_fen - o.refunded_fen), 0) AS bigint)
           FROM orders o JOIN payments p ON p.order_id = o.id
          WHERE o.merchant_id = $1 AND p.rail_owner = $2 AND p.status = 'succeeded'
            AND o.status <> 'completed'",
        args![merchant_id, merchant_id],
    )?
    .int(0)?)
}

/// (id, name) of the first 500 approved merchants by name.
pub(in crate::money) fn approved_merchants(c: &mut dyn Conn) -> AppResult<Vec<(String, String)>> {
    c.query(
        "SELECT id, name FROM merchants WHERE status = 'approved' ORDER BY name, id LIMIT 500",
        args![],
    )?
    .iter()
    .map(|m| Ok((m.text(0)?, m.text(1)?)))
    .collect()
}

/// Locks the merchant's row (`FOR UPDATE`): one binding, or one settling-up, of a merchant
/// at a time.
pub(in crate::money) fn lock_merchant(c: &mut dyn Conn, merchant_id: &str) -> AppResult<()> {
    c.query_opt(
        &format!("SELECT id FROM merchants WHERE id = $1{}", c.for_update()),
        args![merchant_id],
    )?;
    Ok(())
}
