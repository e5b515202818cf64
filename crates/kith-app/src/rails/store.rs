//! The SQL of `rails/`: `rail_credentials` and the provider columns of `payments`.

use kith_store::{Conn, args};

use crate::AppResult;

/// The sealed credentials of `owner` with `provider`.
pub(crate) fn sealed(c: &mut dyn Conn, owner: &str, provider: &str) -> AppResult<Option<String>> {
    c.query_opt(
        "SELECT sealed FROM rail_credentials WHERE owner = $1 AND provider = $2",
        args![owner, provider],
    )?
    .map(|r| r.text(0))
    .transpose()
    .map_err(Into::into)
}

/// The fingerprints JSON and when it was set.
pub(crate) fn fingerprints(
    c: &mut dyn Conn,
    owner: &str,
    provider: &str,
) -> AppResult<Option<(String, i64)>> {
    let r = c.query_opt(
        "SELECT fingerprints, updated_at FROM rail_credentials WHERE owner = $1 AND provider = $2",
        args![owner, provider],
    )?;
    Ok(match r {
        Some(r) => Some((r.text(0)?, r.int(1)?)),
        None => None,
    })
}

#[allow(clippy::too_many_arguments)]
pub(crate) fn upsert(
    c: &mut dyn Conn,
    owner: &str,
    provider: &str,
    sealed: &str,
    fingerprints: &str,
    account_ref: &str,
    by: &str,
    now: i64,
) -> AppResult<()> {
    c.execute(
        "INSERT INTO rail_credentials (owner, provider, sealed, fingerprints, account_ref, updated_by, updated_at)
         VALUES ($1, $2, $3, $4, $5, $6, $7)
         ON CONFLICT (owner, provider) DO UPDATE SET sealed = $3, fingerprints = $4, account_ref = $5, updated_by = $6, updated_at = $7",
        args![owner, provider, sealed, fingerprints, account_ref, by, now],
    )?;
    Ok(())
}

/// A payment as the rail needs it: whose rail took it, and its status.
pub(crate) struct RailPayment {
    pub(crate) owner: Option<String>,
    pub(crate) status: String,
    pub(crate) created_at: i64,
}

pub(crate) fn payment(
    c: &mut dyn Conn,
    id: &str,
    provider: &str,
) -> AppResult<Option<RailPayment>> {
    let r = c.query_opt(
        "SELECT rail_owner, status, created_at FROM payments WHERE id = $1 AND provider = $2",
        args![id, provider],
    )?;
    Ok(match r {
        Some(r) => Some(RailPayment {
            owner: r.opt_text(0)?,
            status: r.text(1)?,
            created_at: r.int(2)?,
        }),
        None => None,
    })
}

pub(crate) fn set_pay_link(c: &mut dyn Conn, id: &str, link: &str) -> AppResult<()> {
    c.execute(
        "UPDATE payments SET pay_link = $1 WHERE id = $2",
        args![link, id],
    )?;
    Ok(())
}

pub(crate) fn set_provider_txn(c: &mut dyn Conn, id: &str, txn: &str) -> AppResult<()> {
    c.execute(
        "UPDATE payments SET provider_txn = $1 WHERE id = $2 AND provider_txn IS NULL",
        args![txn, id],
    )?;
    Ok(())
}

/// The order's pending payment with `provider` through `owner`'s rail, made the same way
/// (`mode`) with the same provider account (`account`: WeChat Pay's 商户号; empty where a
/// provider has neither): (id, pay link).
pub(crate) fn pending_order_payment(
    c: &mut dyn Conn,
    provider: &str,
    order_id: &str,
    owner: &str,
    mode: &str,
    account: &str,
) -> AppResult<Option<(String, Option<String>)>> {
    let r = c.query_opt(
        "SELECT id, pay_link FROM payments WHERE order_id = $1 AND provider = $2 AND status = 'pending' AND rail_owner = $3
           AND COALESCE(pay_mode, '') = $4 AND COALESCE(rail_account, '') = $5",
        args![order_id, provider, owner, mode, account],
    )?;
    Ok(match r {
        Some(r) => Some((r.text(0)?, r.opt_text(1)?)),
        None => None,
    })
}

/// A new pending payment with `provider`: an order's (`order_id`) or a top-up (`None`).
#[allow(clippy::too_many_arguments)]
pub(crate) fn insert_pending(
    c: &mut dyn Conn,
    provider: &str,
    id: &str,
    order_id: Option<&str>,
    account_id: &str,
    amount_fen: i64,
    owner: &str,
    now: i64,
    mode: &str,
    account: &str,
) -> AppResult<()> {
    c.execute(
        "INSERT INTO payments (id, purpose, order_id, account_id, provider, amount_fen, status, created_at, rail_owner, pay_mode, rail_account)
         VALUES ($1, $2, $3, $4, $10, $5, 'pending', $6, $7, $8, $9)",
        args![id, if order_id.is_some() { "order" } else { "topup" }, order_id, account_id, amount_fen, now, owner, mode, account, provider],
    )?;
    Ok(())
}

/// A refund as a rail needs it (WeChat Pay's, Alipay's): the refund's state and amount, and the
/// payment it goes back through (whose rail, its amount and WeChat's transaction id).
pub(crate) struct RailRefund {
    pub(crate) status: String,
    pub(crate) amount_fen: i64,
    pub(crate) reason: String,
    pub(crate) payment_id: String,
    pub(crate) payment_amount_fen: i64,
    pub(crate) owner: Option<String>,
    pub(crate) created_at: i64,
}

pub(crate) fn refund(c: &mut dyn Conn, refund_id: &str) -> AppResult<Option<RailRefund>> {
    refund_through(c, refund_id, "wechat")
}

/// A refund going back through `provider` (see [`refund`]).
pub(crate) fn refund_through(
    c: &mut dyn Conn,
    refund_id: &str,
    provider: &str,
) -> AppResult<Option<RailRefund>> {
    let r = c.query_opt(
        "SELECT r.status, r.amount_fen, r.reason, p.id, p.amount_fen, p.rail_owner, r.created_at
         FROM refunds r JOIN payments p ON p.id = r.payment_id
         WHERE r.id = $1 AND r.provider = $2 AND p.provider = $2",
        args![refund_id, provider],
    )?;
    Ok(match r {
        Some(r) => Some(RailRefund {
            status: r.text(0)?,
            amount_fen: r.int(1)?,
            reason: r.text(2)?,
            payment_id: r.text(3)?,
            payment_amount_fen: r.int(4)?,
            owner: r.opt_text(5)?,
            created_at: r.int(6)?,
        }),
        None => None,
    })
}

/// WeChat Pay's refund id, once it answered (a refund still processing keeps it).
pub(crate) fn set_provider_refund_id(c: &mut dyn Conn, refund_id: &str, id: &str) -> AppResult<()> {
    c.execute(
        "UPDATE refunds SET provider_refund_id = $1 WHERE id = $2 AND provider_refund_id IS NULL",
        args![id, refund_id],
    )?;
    Ok(())
}
