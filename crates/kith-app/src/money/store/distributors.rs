//! The distributor centre's reads: the binding tree, earnings by source, link funnels, and
//! the orders a member earned on with what they bought.

use kith_store::{Conn, Value, args};

use crate::AppResult;
use crate::platform::ids::MerchantId;
use crate::platform::page::{Direction, PageRequest};

/// The members bound directly to `referrer` at the merchant: (id, display name), in the
/// order they were bound.
pub(in crate::money) fn bound_below(
    c: &mut dyn Conn,
    merchant_id: &MerchantId,
    referrer: &str,
) -> AppResult<Vec<(String, String)>> {
    c.query(
        "SELECT b.member_id, a.display_name FROM referrer_bindings b JOIN accounts a ON a.id = b.member_id
                 WHERE b.merchant_id = $1 AND b.referrer_id = $2 ORDER BY b.bound_at, b.member_id",
        args![merchant_id, referrer],
    )?
    .iter()
    .map(|r| Ok((r.text(0)?, r.text(1)?)))
    .collect()
}

/// (source, standing commission) of the member's booked commission, at one merchant or all.
pub(in crate::money) fn earnings_by_source(
    c: &mut dyn Conn,
    member: &str,
    merchant_id: Option<&MerchantId>,
) -> AppResult<Vec<(String, i64)>> {
    let rows = match merchant_id {
        Some(m) => c.query(
            "SELECT source, CAST(SUM(amount_fen - reversed_fen) AS bigint) FROM order_commissions
                         WHERE beneficiary_id = $1 AND merchant_id = $2 AND state IN ('pending', 'frozen', 'available') GROUP BY source",
            args![member, m],
        )?,
        None => c.query(
            "SELECT source, CAST(SUM(amount_fen - reversed_fen) AS bigint) FROM order_commissions
                         WHERE beneficiary_id = $1 AND state IN ('pending', 'frozen', 'available') GROUP BY source",
            args![member],
        )?,
    };
    rows.iter().map(|r| Ok((r.text(0)?, r.int(1)?))).collect()
}

/// A link's funnel: (visits, sign-ups, paid orders, their GMV less refunds).
pub(in crate::money) fn link_funnel(
    c: &mut dyn Conn,
    link_id: &str,
) -> AppResult<(i64, i64, i64, i64)> {
    let visits = c
        .query_one(
            "SELECT COUNT(*) FROM share_visits WHERE link_id = $1",
            args![link_id],
        )?
        .int(0)?;
    let signups = c
        .query_one(
            "SELECT COUNT(*) FROM share_signups WHERE link_id = $1",
            args![link_id],
        )?
        .int(0)?;
    let o = c.query_one(
        "SELECT COUNT(*), CAST(COALESCE(SUM(o.paid_fen - o.refunded_fen), 0) AS bigint)
                             FROM order_attributions a JOIN orders o ON o.id = a.order_id
                             WHERE a.link_id = $1 AND o.paid_at IS NOT NULL",
        args![link_id],
    )?;
    Ok((visits, signups, o.int(0)?, o.int(1)?))
}

/// One order's commission for a member, summed over their roles in it (one row per order,
/// so the page's key is unique; the shares of one order move through their states together,
/// so any one of them says where the order stands): (order, booked at, state, earned,
/// reversed).
pub(in crate::money) struct CommissionOrderRow {
    pub(in crate::money) order_id: String,
    pub(in crate::money) at_ms: i64,
    pub(in crate::money) state: String,
    pub(in crate::money) amount_fen: i64,
    pub(in crate::money) reversed_fen: i64,
}

/// A page of the orders `member` earned commission on at the merchant, newest first (paid
/// orders only: a share still `planned` waits for its payment).
pub(in crate::money) fn commission_orders(
    c: &mut dyn Conn,
    member: &str,
    merchant_id: &MerchantId,
    page: &PageRequest,
) -> AppResult<Vec<CommissionOrderRow>> {
    let k = page.keyset(Direction::NewestFirst, "oc.created_at", "oc.order_id", 3);
    let mut params: Vec<Value> = args![member, merchant_id].to_vec();
    params.extend(k.args);
    params.push(Value::from(page.fetch()));
    c.query(
        &format!(
            "SELECT oc.order_id, oc.created_at, MAX(oc.state), CAST(SUM(oc.amount_fen) AS bigint), CAST(SUM(oc.reversed_fen) AS bigint)
             FROM order_commissions oc
             WHERE oc.beneficiary_id = $1 AND oc.merchant_id = $2 AND oc.state <> 'planned' AND {}
             GROUP BY oc.order_id, oc.created_at
             ORDER BY oc.created_at DESC, oc.order_id DESC LIMIT ${}",
            k.sql, k.next
        ),
        &params,
    )?
    .iter()
    .map(|r| {
        Ok(CommissionOrderRow {
            order_id: r.text(0)?,
            at_ms: r.int(1)?,
            state: r.text(2)?,
            amount_fen: r.int(3)?,
            reversed_fen: r.int(4)?,
        })
    })
    .collect()
}

/// What each of `orders` bought, line by line: (order, product name, quantity).
pub(in crate::money) fn goods_of(
    c: &mut dyn Conn,
    orders: &[String],
) -> AppResult<Vec<(String, String, i64)>> {
    if orders.is_empty() {
        return Ok(Vec::new());
    }
    let list = (1..=orders.len())
        .map(|i| format!("${i}"))
        .collect::<Vec<_>>()
        .join(", ");
    let params: Vec<Value> = orders.iter().map(|o| Value::from(o.as_str())).collect();
    c.query(
        &format!(
            "SELECT order_id, product_name, quantity FROM order_lines
             WHERE order_id IN ({list}) ORDER BY order_id, line_no"
        ),
        &params,
    )?
    .iter()
    .map(|r| Ok((r.text(0)?, r.text(1)?, r.int(2)?)))
    .collect()
}
