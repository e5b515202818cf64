//! The merchant's rule for unclaimed 接龙 orders (`batch_terms`), and the reads and the
//! conditional update the `batch.unclaimed` job makes on a consignment's orders.

use kith_store::{Conn, args};

use crate::AppResult;

/// The merchant's (unclaimed_days, unclaimed_rule), if ever set.
pub(in crate::neighbourhood) fn batch_terms(
    c: &mut dyn Conn,
    merchant_id: &str,
) -> AppResult<Option<(i64, String)>> {
    c.query_opt(
        "SELECT unclaimed_days, unclaimed_rule FROM batch_terms WHERE merchant_id = $1",
        args![merchant_id],
    )?
    .map(|r| Ok((r.int(0)?, r.text(1)?)))
    .transpose()
}

/// The orders of the leader's consignment still waiting for pickup, in join order.
pub(in crate::neighbourhood) fn waiting_for_pickup(
    c: &mut dyn Conn,
    batch: &str,
    leader: &str,
) -> AppResult<Vec<String>> {
    Ok(c
        .query(
            "SELECT j.order_id FROM batch_orders j JOIN orders o ON o.id = j.order_id
                     WHERE j.batch_id = $1 AND j.leader_id = $2 AND j.state = 'fixed' AND o.status = 'ready_for_pickup'
                     ORDER BY j.seq",
            args![batch, leader],
        )?
        .iter()
        .map(|r| r.text(0))
        .collect::<Result<Vec<_>, _>>()?)
}

/// Voids the order's pickup code unless it was redeemed (or voided) first; false then.
pub(in crate::neighbourhood) fn void_pickup_code(
    c: &mut dyn Conn,
    order_id: &str,
    now: i64,
) -> AppResult<bool> {
    Ok(c.execute(
        "UPDATE pickup_codes SET voided_at = $1 WHERE order_id = $2 AND redeemed_at IS NULL AND voided_at IS NULL",
        args![now, order_id],
    )? != 0)
}

/// Writes the merchant's rule, replacing the one it had.
pub(in crate::neighbourhood) fn upsert_batch_terms(
    c: &mut dyn Conn,
    merchant_id: &str,
    days: i64,
    rule: &str,
    now: i64,
) -> AppResult<()> {
    c.execute(
        "INSERT INTO batch_terms (merchant_id, unclaimed_days, unclaimed_rule, updated_at) VALUES ($1, $2, $3, $4)
                     ON CONFLICT (merchant_id) DO UPDATE SET unclaimed_days = excluded.unclaimed_days,
                     unclaimed_rule = excluded.unclaimed_rule, updated_at = excluded.updated_at",
        args![merchant_id, days, rule, now],
    )?;
    Ok(())
}
