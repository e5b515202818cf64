//! Commission plans and overrides as written, each order's attribution
//! (`order_attributions`) and its commission rows (`order_commissions`) through their
//! states; with the reads of orders, products and accounts the snapshot needs.

use kith_domain::Fen;
use kith_domain::commission::{Plan, Rates, Role};
use kith_store::{Conn, args};

use super::ShareCols;
use crate::money::commissions::CommissionShare;
use crate::platform::ids::AccountId;
use crate::{AppError, AppResult};

/// The buyer's last visit at or after `since` of a link earning at the merchant that
/// someone else shared: (sharer, channel, at, link id).
pub(in crate::money) fn last_touch(
    c: &mut dyn Conn,
    buyer: &str,
    merchant_id: &str,
    since: i64,
) -> AppResult<Option<(String, String, i64, String)>> {
    c.query_opt(
        "SELECT l.sharer_id, lm.channel, v.at, l.id FROM share_visits v
             JOIN share_links l ON l.id = v.link_id
             JOIN share_link_merchants lm ON lm.link_id = l.id AND lm.merchant_id = $2
             WHERE v.visitor_id = $1 AND v.at >= $3 AND l.sharer_id <> $1
             ORDER BY v.at DESC LIMIT 1",
        args![buyer, merchant_id, since],
    )?
    .map(|r| Ok((r.text(0)?, r.text(1)?, r.int(2)?, r.text(3)?)))
    .transpose()
}

#[allow(clippy::too_many_arguments)]
pub(in crate::money) fn insert_attribution(
    c: &mut dyn Conn,
    order_id: &str,
    merchant_id: &str,
    buyer: &str,
    channel: &str,
    beneficiary: Option<&str>,
    link_id: Option<&str>,
    review_reason: Option<&str>,
    now: i64,
) -> AppResult<()> {
    // Of an order this transaction is placing: nothing to conflict with (deferred).
    c.execute_deferred(
        "INSERT INTO order_attributions (order_id, merchant_id, buyer_id, channel, beneficiary_id, link_id, review_reason, created_at)
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8)",
        args![order_id, merchant_id, buyer, channel, beneficiary, link_id, review_reason, now],
    )?;
    Ok(())
}

/// One planned share of an order's commission.
pub(in crate::money) struct PlannedShare<'a> {
    pub role: &'a str,
    pub source: &'a str,
    pub beneficiary: &'a str,
    pub rate_bp: i64,
    pub base_fen: i64,
    pub amount_fen: i64,
}

/// An order's planned shares in one statement.
pub(in crate::money) fn insert_planned_shares(
    c: &mut dyn Conn,
    order_id: &str,
    merchant_id: &str,
    shares: &[PlannedShare<'_>],
    now: i64,
) -> AppResult<()> {
    if shares.is_empty() {
        return Ok(());
    }
    let mut values = Vec::with_capacity(shares.len());
    let mut params: Vec<kith_store::Value> = vec![order_id.into(), merchant_id.into(), now.into()];
    for (i, s) in shares.iter().enumerate() {
        let b = 4 + 6 * i;
        values.push(format!(
            "($1, ${b}, ${}, $2, ${}, ${}, ${}, ${}, 'planned', $3)",
            b + 1,
            b + 2,
            b + 3,
            b + 4,
            b + 5
        ));
        params.extend([
            s.role.into(),
            s.source.into(),
            s.beneficiary.into(),
            s.rate_bp.into(),
            s.base_fen.into(),
            s.amount_fen.into(),
        ]);
    }
    // Of an order this transaction is placing: nothing to conflict with (deferred).
    c.execute_deferred(
        &format!(
            "INSERT INTO order_commissions (order_id, role, source, merchant_id, beneficiary_id, rate_bp, base_fen, amount_fen, state, created_at) VALUES {}",
            values.join(", ")
        ),
        &params,
    )?;
    Ok(())
}

/// For each account among `who`: (id, has the phone `phone`, has shipped an order of
/// their own to `address`), in one statement.
///
/// The address test is a scalar subquery, not `EXISTS`: PostgreSQL plans an `EXISTS` in
/// the select list with a hashed alternative (scan every order with that address, then
/// look the accounts up in the hash), and a plan prepared while `orders` was small kept
/// that scan for the connection's life — a scan of the whole table per checkout, ~4 % of
/// PostgreSQL's CPU by the end of `kith bench http --scale small`. A scalar subquery has
/// no hashed form: it searches each account's own orders by `orders_buyer_idx`, even when
/// planned on an empty table.
pub(in crate::money) fn phone_and_address_matches(
    c: &mut dyn Conn,
    who: &[&str],
    phone: &str,
    address: &str,
) -> AppResult<Vec<(String, bool, bool)>> {
    let rows = c.query(
        &format!(
            "SELECT a.id, CASE WHEN a.phone = $1 THEN 1 ELSE 0 END,
                    COALESCE((SELECT 1 FROM orders o WHERE o.buyer_id = a.id AND o.address = $2 LIMIT 1), 0)
             FROM accounts a WHERE a.id IN ({})",
            kith_store::placeholders(3, who.len())
        ),
        &std::iter::once(kith_store::Value::from(phone))
            .chain(std::iter::once(kith_store::Value::from(address)))
            .chain(who.iter().map(|w| kith_store::Value::from(*w)))
            .collect::<Vec<_>>(),
    )?;
    let mut found = Vec::with_capacity(rows.len());
    for r in &rows {
        found.push((r.text(0)?, r.int(1)? == 1, r.int(2)? == 1));
    }
    Ok(found)
}

const IS_DISTRIBUTOR: &str =
    "SELECT 1 FROM share_links l JOIN share_link_merchants lm ON lm.link_id = l.id
     WHERE l.sharer_id = $1 AND lm.merchant_id = $2
     UNION ALL SELECT 1 FROM referrer_bindings WHERE merchant_id = $2 AND referrer_id = $1
     LIMIT 1";

/// Announces [`is_distributor`] ([`Conn::prefetch`]).
pub(in crate::money) fn announce_is_distributor(
    c: &mut dyn Conn,
    merchant_id: &str,
    member: &str,
) -> AppResult<()> {
    Ok(kith_store::prefetch!(
        c,
        IS_DISTRIBUTOR,
        member,
        merchant_id
    )?)
}

/// A distributor at a merchant: someone who shared a link that earns there, or has a
/// member bound to them there.
pub(in crate::money) fn is_distributor(
    c: &mut dyn Conn,
    merchant_id: &str,
    member: &str,
) -> AppResult<bool> {
    Ok(c.query_opt(IS_DISTRIBUTOR, args![member, merchant_id])?
        .is_some())
}

/// (role, beneficiary, amount, reversed, state) of one commission row.
pub(in crate::money) type ShareRow = (String, String, i64, i64, String);

/// An order's commission rows.
pub(in crate::money) fn shares(c: &mut dyn Conn, order_id: &str) -> AppResult<Vec<ShareRow>> {
    c.query(SHARES, args![order_id])?
        .iter()
        .map(|r| Ok((r.text(0)?, r.text(1)?, r.int(2)?, r.int(3)?, r.text(4)?)))
        .collect()
}

const SHARES: &str = "SELECT role, beneficiary_id, amount_fen, reversed_fen, state FROM order_commissions WHERE order_id = $1 ORDER BY role";

/// Announces [`shares`] ([`Conn::prefetch`]).
pub(in crate::money) fn announce_shares(c: &mut dyn Conn, order_id: &str) -> AppResult<()> {
    Ok(kith_store::prefetch!(c, SHARES, order_id)?)
}

/// (role, beneficiary, amount, state, base) of one commission row.
pub(in crate::money) type ShareBaseRow = (String, String, i64, String, i64);

/// An order's commission rows with their base.
pub(in crate::money) fn shares_with_base(
    c: &mut dyn Conn,
    order_id: &str,
) -> AppResult<Vec<ShareBaseRow>> {
    c.query(
        "SELECT role, beneficiary_id, amount_fen, reversed_fen, state, base_fen FROM order_commissions WHERE order_id = $1 ORDER BY role",
        args![order_id],
    )?
    .iter()
    .map(|r| Ok((r.text(0)?, r.text(1)?, r.int(2)?, r.text(4)?, r.int(5)?)))
    .collect()
}

/// What an order's goods came to.
pub(in crate::money) fn order_goods(c: &mut dyn Conn, order_id: &str) -> AppResult<i64> {
    Ok(c.query_one(
        "SELECT goods_fen FROM orders WHERE id = $1",
        args![order_id],
    )?
    .int(0)?)
}

/// The sum of an order's commission rows.
pub(in crate::money) fn order_commission_total(c: &mut dyn Conn, order_id: &str) -> AppResult<i64> {
    Ok(c.query_one(
        "SELECT CAST(COALESCE(SUM(amount_fen), 0) AS BIGINT) FROM order_commissions WHERE order_id = $1",
        args![order_id],
    )?
    .int(0)?)
}

#[allow(clippy::too_many_arguments)]
pub(in crate::money) fn insert_group_leader_share(
    c: &mut dyn Conn,
    order_id: &str,
    merchant_id: &str,
    leader: &str,
    rate_bp: i64,
    base_fen: i64,
    amount_fen: i64,
    now: i64,
) -> AppResult<()> {
    c.execute(
        "INSERT INTO order_commissions (order_id, role, source, merchant_id, beneficiary_id, rate_bp, base_fen, amount_fen, state, created_at)
         VALUES ($1, 'group_leader', 'group_leader', $2, $3, $4, $5, $6, 'planned', $7)",
        args![order_id, merchant_id, leader, rate_bp, base_fen, amount_fen, now],
    )?;
    Ok(())
}

/// The order was paid: its planned rows become pending. Nothing waits for its count and
/// no constraint can refuse it (the payment holds the order's lock), so it goes with the
/// next statement ([`Conn::execute_deferred`]).
pub(in crate::money) fn mark_shares_pending(c: &mut dyn Conn, order_id: &str) -> AppResult<()> {
    Ok(c.execute_deferred(
        "UPDATE order_commissions SET state = 'pending' WHERE order_id = $1 AND state = 'planned'",
        args![order_id],
    )?)
}

/// Delivered: its pending rows become frozen.
pub(in crate::money) fn mark_shares_frozen(c: &mut dyn Conn, order_id: &str) -> AppResult<()> {
    c.execute(
        "UPDATE order_commissions SET state = 'frozen' WHERE order_id = $1 AND state = 'pending'",
        args![order_id],
    )?;
    Ok(())
}

/// The after-sale window closed: its pending and frozen rows become available.
pub(in crate::money) fn mark_shares_available(c: &mut dyn Conn, order_id: &str) -> AppResult<()> {
    c.execute(
        "UPDATE order_commissions SET state = 'available' WHERE order_id = $1 AND state IN ('pending', 'frozen')",
        args![order_id],
    )?;
    Ok(())
}

/// Adds `back` to what was taken back of one role's share of the order.
pub(in crate::money) fn add_reversed(
    c: &mut dyn Conn,
    order_id: &str,
    role: &str,
    back: i64,
) -> AppResult<()> {
    c.execute(
        "UPDATE order_commissions SET reversed_fen = reversed_fen + $1 WHERE order_id = $2 AND role = $3",
        args![back, order_id, role],
    )?;
    Ok(())
}

/// A merchant's name, if it exists.
pub(in crate::money) fn merchant_name(
    c: &mut dyn Conn,
    merchant_id: &str,
) -> AppResult<Option<String>> {
    c.query_opt(
        "SELECT name FROM merchants WHERE id = $1",
        args![merchant_id],
    )?
    .map(|r| Ok(r.text(0)?))
    .transpose()
}

/// Writes the merchant's plan, replacing the one it had.
pub(in crate::money) fn upsert_plan(
    c: &mut dyn Conn,
    merchant_id: &str,
    p: &Plan,
    now: i64,
) -> AppResult<()> {
    let sql = "INSERT INTO commission_plans (merchant_id, l1_bp, l2_bp, rebate_bp, group_buy_commission, group_leader_bp, cap_bp,
                        binding_mode, binding_days, window_days, withdraw_min_fen, withdraw_daily_limit_fen, updated_at)
                     VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13)
                     ON CONFLICT (merchant_id) DO UPDATE SET l1_bp = $2, l2_bp = $3, rebate_bp = $4, group_buy_commission = $5,
                        group_leader_bp = $6, cap_bp = $7, binding_mode = $8, binding_days = $9, window_days = $10,
                        withdraw_min_fen = $11, withdraw_daily_limit_fen = $12, updated_at = $13";
    c.execute(
        sql,
        args![
            merchant_id,
            p.rates.levels_bp[0],
            p.rates.levels_bp[1],
            p.rates.rebate_bp,
            p.group_buy_commission,
            p.rates.group_leader_bp,
            p.cap_bp,
            p.binding.as_str(),
            p.binding.days(),
            p.window_days,
            p.withdraw_min_fen,
            p.withdraw_daily_limit_fen,
            now
        ],
    )?;
    Ok(())
}

/// Whether the product is one of the merchant's.
pub(in crate::money) fn merchant_has_product(
    c: &mut dyn Conn,
    merchant_id: &str,
    product_id: &str,
) -> AppResult<bool> {
    Ok(c.query_opt(
        "SELECT 1 FROM products WHERE id = $1 AND merchant_id = $2",
        args![product_id, merchant_id],
    )?
    .is_some())
}

/// Writes a product's own rates, replacing the ones it had.
pub(in crate::money) fn upsert_override(
    c: &mut dyn Conn,
    merchant_id: &str,
    product_id: &str,
    rates: &Rates,
) -> AppResult<()> {
    c.execute(
        "INSERT INTO commission_overrides (merchant_id, product_id, l1_bp, l2_bp, rebate_bp, group_leader_bp) VALUES ($1, $2, $3, $4, $5, $6)
                     ON CONFLICT (merchant_id, product_id) DO UPDATE SET l1_bp = $3, l2_bp = $4, rebate_bp = $5, group_leader_bp = $6",
        args![merchant_id, product_id, rates.levels_bp[0], rates.levels_bp[1], rates.rebate_bp, rates.group_leader_bp],
    )?;
    Ok(())
}

/// An order's (merchant, buyer).
pub(in crate::money) fn order_parties(
    c: &mut dyn Conn,
    order_id: &str,
) -> AppResult<Option<(String, String)>> {
    c.query_opt(
        "SELECT merchant_id, buyer_id FROM orders WHERE id = $1",
        args![order_id],
    )?
    .map(|r| Ok((r.text(0)?, r.text(1)?)))
    .transpose()
}

/// An order's commission shares, by role.
pub(in crate::money) fn order_shares(
    c: &mut dyn Conn,
    order_id: &str,
) -> AppResult<Vec<CommissionShare>> {
    let rows = c.query(
        &format!(
            "SELECT {} FROM order_commissions WHERE order_id = $1 ORDER BY role",
            ShareCols::LIST
        ),
        args![order_id],
    )?;
    rows.iter()
        .map(|r| {
            Ok(CommissionShare {
                role: Role::from_db(&r.text(ShareCols::role)?)
                    .ok_or_else(|| AppError::Internal("unknown role".into()))?,
                beneficiary_id: AccountId::from_row(r.text(ShareCols::beneficiary_id)?),
                source: r.text(ShareCols::source)?,
                rate_bp: r.int(ShareCols::rate_bp)?,
                base_fen: Fen::new(r.int(ShareCols::base_fen)?),
                amount_fen: Fen::new(r.int(ShareCols::amount_fen)?),
                reversed_fen: Fen::new(r.int(ShareCols::reversed_fen)?),
                state: r.text(ShareCols::state)?,
            })
        })
        .collect()
}

/// (channel, beneficiary, link, review reason) of an order's attribution.
pub(in crate::money) type AttributionRow = (String, Option<String>, Option<String>, Option<String>);

/// An order's attribution.
pub(in crate::money) fn attribution(
    c: &mut dyn Conn,
    order_id: &str,
) -> AppResult<Option<AttributionRow>> {
    c.query_opt(
        "SELECT channel, beneficiary_id, link_id, review_reason FROM order_attributions WHERE order_id = $1",
        args![order_id],
    )?
    .map(|a| Ok((a.text(0)?, a.opt_text(1)?, a.opt_text(2)?, a.opt_text(3)?)))
    .transpose()
}

/// The merchants at which the member has booked commission, by id.
pub(in crate::money) fn earning_merchants(
    c: &mut dyn Conn,
    member: &str,
) -> AppResult<Vec<String>> {
    Ok(c
        .query(
            "SELECT DISTINCT merchant_id FROM order_commissions WHERE beneficiary_id = $1 AND state <> 'planned' ORDER BY merchant_id",
            args![member],
        )?
        .iter()
        .map(|r| r.text(0))
        .collect::<Result<Vec<_>, _>>()?)
}
