//! The reads behind a batch's statements per leader: its joins with their orders, and the
//! leader's `group_leader` commission rows by state.

use kith_store::{Conn, args};

use crate::AppResult;

/// The leader's paid and fixed joins in the batch: (orders, units, goods, refunded,
/// picked up).
pub(in crate::neighbourhood) fn join_totals(
    c: &mut dyn Conn,
    batch: &str,
    leader: &str,
) -> AppResult<(i64, i64, i64, i64, i64)> {
    let r = c.query_one(
        "SELECT COUNT(*), CAST(COALESCE(SUM(j.units), 0) AS BIGINT), CAST(COALESCE(SUM(o.goods_fen), 0) AS BIGINT),
                CAST(COALESCE(SUM(o.refunded_fen), 0) AS BIGINT),
                CAST(COALESCE(SUM(CASE WHEN o.status = 'picked_up' OR (o.status = 'completed' AND o.delivery = 'pickup') THEN 1 ELSE 0 END), 0) AS BIGINT)
         FROM batch_orders j JOIN orders o ON o.id = j.order_id
         WHERE j.batch_id = $1 AND j.leader_id = $2 AND j.state IN ('paid', 'fixed')",
        args![batch, leader],
    )?;
    Ok((r.int(0)?, r.int(1)?, r.int(2)?, r.int(3)?, r.int(4)?))
}

/// The leader's commission on the batch's joins by state: (state, left after reversals,
/// reversed, booked).
pub(in crate::neighbourhood) fn leader_commission_by_state(
    c: &mut dyn Conn,
    batch: &str,
    leader: &str,
    beneficiary: &str,
) -> AppResult<Vec<(String, i64, i64, i64)>> {
    c.query(
        "SELECT oc.state, CAST(SUM(oc.amount_fen - oc.reversed_fen) AS BIGINT), CAST(SUM(oc.reversed_fen) AS BIGINT),
                CAST(SUM(oc.amount_fen) AS BIGINT)
         FROM batch_orders j JOIN order_commissions oc ON oc.order_id = j.order_id AND oc.role = 'group_leader'
         WHERE j.batch_id = $1 AND j.leader_id = $2 AND oc.beneficiary_id = $3
         GROUP BY oc.state",
        args![batch, leader, beneficiary],
    )?
    .iter()
    .map(|row| Ok((row.text(0)?, row.int(1)?, row.int(2)?, row.int(3)?)))
    .collect()
}

/// The leaders with paid or fixed joins in the batch, by point name: all of them with
/// `all`, else only `account`'s.
pub(in crate::neighbourhood) fn statement_leaders(
    c: &mut dyn Conn,
    batch: &str,
    all: bool,
    account: &str,
) -> AppResult<Vec<String>> {
    Ok(c
        .query(
            "SELECT DISTINCT j.leader_id, l.point_name FROM batch_orders j JOIN leaders l ON l.id = j.leader_id
                         WHERE j.batch_id = $1 AND j.state IN ('paid', 'fixed') AND ($2 = 1 OR l.account_id = $3)
                         ORDER BY l.point_name, j.leader_id",
            args![batch, i64::from(all), account],
        )?
        .iter()
        .map(|r| r.text(0))
        .collect::<Result<Vec<_>, _>>()?)
}

/// Whether the member leads (approved or suspended) for the merchant.
pub(in crate::neighbourhood) fn leads_for(
    c: &mut dyn Conn,
    merchant_id: &str,
    account: &str,
) -> AppResult<bool> {
    Ok(c
        .query_opt(
            "SELECT 1 FROM leaders WHERE merchant_id = $1 AND account_id = $2 AND status IN ('approved', 'suspended')",
            args![merchant_id, account],
        )?
        .is_some())
}
