//! The distributor centre's reads: the binding tree, earnings by source, link funnels.

use kith_store::{Conn, args};

use crate::AppResult;
use crate::platform::ids::MerchantId;

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
