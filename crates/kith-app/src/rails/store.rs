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
    kith_store::columns!(RailRefundCols {
        "r.status" => status,
        "r.amount_fen" => amount_fen,
        "r.reason" => reason,
        "p.id" => payment_id,
        "p.amount_fen" => payment_amount_fen,
        "p.rail_owner" => owner,
        "r.created_at" => created_at,
    });
    let r = c.query_opt(
        &format!(
            "SELECT {} FROM refunds r JOIN payments p ON p.id = r.payment_id
             WHERE r.id = $1 AND r.provider = $2 AND p.provider = $2",
            RailRefundCols::LIST
        ),
        args![refund_id, provider],
    )?;
    Ok(match r {
        Some(r) => Some(RailRefund {
            status: r.text(RailRefundCols::status)?,
            amount_fen: r.int(RailRefundCols::amount_fen)?,
            reason: r.text(RailRefundCols::reason)?,
            payment_id: r.text(RailRefundCols::payment_id)?,
            payment_amount_fen: r.int(RailRefundCols::payment_amount_fen)?,
            owner: r.opt_text(RailRefundCols::owner)?,
            created_at: r.int(RailRefundCols::created_at)?,
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

/// A platform certificate kith downloaded (`rail_platform_certificates`).
pub(crate) struct StoredCertificate {
    pub(crate) serial: String,
    pub(crate) pem: String,
    pub(crate) effective_at: i64,
    pub(crate) expires_at: i64,
}

/// `owner`'s downloaded platform certificates with `provider`, the latest expiry first.
pub(crate) fn platform_certificates(
    c: &mut dyn Conn,
    owner: &str,
    provider: &str,
) -> AppResult<Vec<StoredCertificate>> {
    c.query(
        "SELECT serial, pem, effective_at, expires_at FROM rail_platform_certificates
         WHERE owner = $1 AND provider = $2 ORDER BY expires_at DESC, serial",
        args![owner, provider],
    )?
    .into_iter()
    .map(|r| {
        Ok(StoredCertificate {
            serial: r.text(0)?,
            pem: r.text(1)?,
            effective_at: r.int(2)?,
            expires_at: r.int(3)?,
        })
    })
    .collect()
}

/// Adds a downloaded certificate, or updates its validity (WeChat Pay moves an old
/// certificate's `expire_time` forward before replacing it).
#[allow(clippy::too_many_arguments)]
pub(crate) fn upsert_platform_certificate(
    c: &mut dyn Conn,
    owner: &str,
    provider: &str,
    serial: &str,
    pem: &str,
    effective_at: i64,
    expires_at: i64,
    now: i64,
) -> AppResult<()> {
    c.execute(
        "INSERT INTO rail_platform_certificates (owner, provider, serial, pem, effective_at, expires_at, fetched_at)
         VALUES ($1, $2, $3, $4, $5, $6, $7)
         ON CONFLICT (owner, provider, serial) DO UPDATE SET pem = $4, effective_at = $5, expires_at = $6, fetched_at = $7",
        args![owner, provider, serial, pem, effective_at, expires_at, now],
    )?;
    Ok(())
}

/// Drops `owner`'s certificates expired by `now`.
pub(crate) fn drop_expired_certificates(
    c: &mut dyn Conn,
    owner: &str,
    provider: &str,
    now: i64,
) -> AppResult<usize> {
    Ok(c.execute(
        "DELETE FROM rail_platform_certificates WHERE owner = $1 AND provider = $2 AND expires_at <= $3",
        args![owner, provider, now],
    )? as usize)
}

/// Starts `owner`'s refresh chain due at `next_at`; `false` when it runs already.
pub(crate) fn start_refresh(
    c: &mut dyn Conn,
    owner: &str,
    provider: &str,
    next_at: i64,
) -> AppResult<bool> {
    Ok(c.execute(
        "INSERT INTO rail_certificate_refresh (owner, provider, next_at, on_demand_at) VALUES ($1, $2, $3, $4)
         ON CONFLICT (owner, provider) DO NOTHING",
        args![owner, provider, next_at, 0_i64],
    )? == 1)
}

/// Moves the chain from `due` to `next`; `false` when another run moved it already.
pub(crate) fn advance_refresh(
    c: &mut dyn Conn,
    owner: &str,
    provider: &str,
    due: i64,
    next: i64,
) -> AppResult<bool> {
    Ok(c.execute(
        "UPDATE rail_certificate_refresh SET next_at = $4 WHERE owner = $1 AND provider = $2 AND next_at = $3",
        args![owner, provider, due, next],
    )? == 1)
}

/// Ends the chain (the owner has no credentials any more).
pub(crate) fn end_refresh(c: &mut dyn Conn, owner: &str, provider: &str) -> AppResult<()> {
    c.execute(
        "DELETE FROM rail_certificate_refresh WHERE owner = $1 AND provider = $2",
        args![owner, provider],
    )?;
    Ok(())
}

/// Takes the owner's one extra download for an unknown serial, unless one was taken
/// after `since`; `true` when this caller may download.
pub(crate) fn take_on_demand(
    c: &mut dyn Conn,
    owner: &str,
    provider: &str,
    now: i64,
    since: i64,
) -> AppResult<bool> {
    Ok(c.execute(
        "UPDATE rail_certificate_refresh SET on_demand_at = $3 WHERE owner = $1 AND provider = $2 AND on_demand_at <= $4",
        args![owner, provider, now, since],
    )? == 1)
}

/// What a payment is for, in fen.
pub(crate) fn payment_amount(c: &mut dyn Conn, id: &str) -> AppResult<Option<i64>> {
    c.query_opt("SELECT amount_fen FROM payments WHERE id = $1", args![id])?
        .map(|r| r.int(0))
        .transpose()
        .map_err(Into::into)
}
