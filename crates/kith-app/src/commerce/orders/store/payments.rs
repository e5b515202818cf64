//! The payments' rows (`payments`, `gateway_events`): what commerce's payment use cases
//! read and write.

use kith_domain::Fen;
use kith_store::{Conn, args};

use crate::commerce::payments::Payment;
use crate::platform::ids::{OrderId, PaymentId};
use crate::{AppError, AppResult, rfc3339};

kith_store::columns!(PaymentCols {
    id,
    purpose,
    order_id,
    provider,
    amount_fen,
    status,
    created_at,
    pay_link,
});

/// The rail account a stored payment was taken into, if any.
pub(crate) fn rail_owner(c: &mut dyn Conn, payment_id: &str) -> AppResult<Option<String>> {
    Ok(c.query_opt(
        "SELECT rail_owner FROM payments WHERE id = $1",
        args![payment_id],
    )?
    .map(|r| r.opt_text(0))
    .transpose()?
    .flatten())
}

/// A payment as its member sees it; `public_url` builds the sandbox's page.
pub(crate) fn payment_view(c: &mut dyn Conn, id: &str, public_url: &str) -> AppResult<Payment> {
    let r = c
        .query_opt(
            &format!("SELECT {} FROM payments WHERE id = $1", PaymentCols::LIST),
            args![id],
        )?
        .ok_or(AppError::NotFound("payment"))?;
    let id = PaymentId::from_row(r.text(PaymentCols::id)?);
    let provider = r.text(PaymentCols::provider)?;
    let status = r.text(PaymentCols::status)?;
    let pay_url = match (provider.as_str(), status.as_str()) {
        ("sandbox", "pending") => Some(format!("{public_url}/sandbox/pay/{id}")),
        // WeChat Pay's code_url (Native), h5_url (H5) or prepay_id (JSAPI).
        ("wechat", "pending") => r.opt_text(PaymentCols::pay_link)?,
        // Alipay's signed wap/page pay redirect, or the precreate's qr_code.
        ("alipay", "pending") => r.opt_text(PaymentCols::pay_link)?,
        _ => None,
    };
    Ok(Payment {
        id,
        purpose: r.text(PaymentCols::purpose)?,
        order_id: r.opt_text(PaymentCols::order_id)?.map(OrderId::from_row),
        provider,
        amount_fen: Fen::new(r.int(PaymentCols::amount_fen)?),
        status,
        pay_url,
        created_at: rfc3339(r.int(PaymentCols::created_at)?),
    })
}

/// The order's pending sandbox payment, if one was started.
pub(crate) fn pending_sandbox_payment(
    c: &mut dyn Conn,
    order_id: &str,
) -> AppResult<Option<String>> {
    c.query_opt(
        "SELECT id FROM payments WHERE order_id = $1 AND provider = 'sandbox' AND status = 'pending'",
        args![order_id],
    )?
    .map(|r| r.text(0))
    .transpose()
    .map_err(Into::into)
}

pub(crate) fn insert_sandbox_order_payment(
    c: &mut dyn Conn,
    now: i64,
    id: &str,
    order_id: &str,
    buyer: &str,
    amount_fen: i64,
) -> AppResult<()> {
    c.execute(
        "INSERT INTO payments (id, purpose, order_id, account_id, provider, amount_fen, status, created_at)
                             VALUES ($1, 'order', $2, $3, 'sandbox', $4, 'pending', $5)",
        args![id, order_id, buyer, amount_fen, now],
    )?;
    Ok(())
}

pub(crate) fn insert_sandbox_topup(
    c: &mut dyn Conn,
    now: i64,
    id: &str,
    account_id: &str,
    amount_fen: i64,
) -> AppResult<()> {
    c.execute(
        "INSERT INTO payments (id, purpose, account_id, provider, amount_fen, status, created_at)
                     VALUES ($1, 'topup', $2, 'sandbox', $3, 'pending', $4)",
        args![id, account_id, amount_fen, now],
    )?;
    Ok(())
}

/// The member a payment is of.
pub(crate) fn payment_owner(c: &mut dyn Conn, payment_id: &str) -> AppResult<Option<String>> {
    c.query_opt(
        "SELECT account_id FROM payments WHERE id = $1",
        args![payment_id],
    )?
    .map(|r| r.text(0))
    .transpose()
    .map_err(Into::into)
}

/// A payment as a callback about it needs it.
pub(crate) struct CallbackPayment {
    pub purpose: String,
    pub order_id: Option<String>,
    pub account_id: String,
    pub amount_fen: i64,
    pub status: String,
    pub rail_owner: Option<String>,
}

/// Locks a payment through `provider` (on PostgreSQL) for its callback.
pub(crate) fn lock_callback_payment(
    c: &mut dyn Conn,
    payment_id: &str,
    provider: &str,
) -> AppResult<Option<CallbackPayment>> {
    let p = c.query_opt(
        &format!("SELECT purpose, order_id, account_id, amount_fen, status, rail_owner FROM payments WHERE id = $1 AND provider = $2{}", c.for_update()),
        args![payment_id, provider],
    )?;
    p.map(|p| {
        Ok(CallbackPayment {
            purpose: p.text(0)?,
            order_id: p.opt_text(1)?,
            account_id: p.text(2)?,
            amount_fen: p.int(3)?,
            status: p.text(4)?,
            rail_owner: p.opt_text(5)?,
        })
    })
    .transpose()
}

/// Records a gateway's event once; false when `(provider, event_id)` was already recorded.
pub(crate) fn record_gateway_event(
    c: &mut dyn Conn,
    now: i64,
    provider: &str,
    event_id: &str,
    payment_id: &str,
    kind: &str,
    outcome: &str,
) -> AppResult<bool> {
    Ok(c.execute(
        "INSERT INTO gateway_events (provider, event_id, payment_id, kind, outcome, received_at) VALUES ($1, $2, $3, $4, $5, $6)
             ON CONFLICT (provider, event_id) DO NOTHING",
        args![provider, event_id, payment_id, kind, outcome, now],
    )? == 1)
}

pub(crate) fn set_failed(c: &mut dyn Conn, payment_id: &str) -> AppResult<()> {
    c.execute(
        "UPDATE payments SET status = 'failed' WHERE id = $1",
        args![payment_id],
    )?;
    Ok(())
}

pub(crate) fn set_succeeded(c: &mut dyn Conn, now: i64, payment_id: &str) -> AppResult<()> {
    c.execute(
        "UPDATE payments SET status = 'succeeded', succeeded_at = $1 WHERE id = $2",
        args![now, payment_id],
    )?;
    Ok(())
}

/// Sets the outcome of money that came in for an order: `succeeded` or `returned`.
pub(crate) fn set_taken(
    c: &mut dyn Conn,
    now: i64,
    payment_id: &str,
    status: &str,
) -> AppResult<()> {
    c.execute(
        "UPDATE payments SET status = $1, succeeded_at = $2 WHERE id = $3",
        args![status, now, payment_id],
    )?;
    Ok(())
}

pub(crate) fn insert_wallet_payment(
    c: &mut dyn Conn,
    now: i64,
    id: &str,
    order_id: &str,
    buyer: &str,
    amount_fen: i64,
) -> AppResult<()> {
    // The order is locked and still unpaid (the caller checked), so the one-succeeded-
    // payment-per-order index cannot refuse it: it goes with the next statement.
    Ok(c.execute_deferred(
        "INSERT INTO payments (id, purpose, order_id, account_id, provider, amount_fen, status, created_at, succeeded_at)
                         VALUES ($1, 'order', $2, $3, 'wallet', $4, 'succeeded', $5, $5)",
        args![id, order_id, buyer, amount_fen, now],
    )?)
}

/// Marks the order paid by `provider`: the transition and the payment's fields in one
/// statement, guarded by the old status; false when the status changed meanwhile.
pub(crate) fn set_order_paid(
    c: &mut dyn Conn,
    now: i64,
    order_id: &str,
    from: kith_domain::order::OrderStatus,
    to: kith_domain::order::OrderStatus,
    total_fen: i64,
    provider: &str,
) -> AppResult<bool> {
    let n = c.execute(
        "UPDATE orders SET status = $1, updated_at = $2, paid_fen = $3, paid_at = $2, payment_provider = $4
             WHERE id = $5 AND status = $6",
        args![to.as_str(), now, total_fen, provider, order_id, from.as_str()],
    )?;
    Ok(n > 0)
}
