//! The platform's rows, every statement of the context named for what it does: the
//! outbox's writer and the checks of `auth.rs` here, and one file per area —
//! `accounts.rs` (accounts, sessions, login failures), `merchants.rs` (merchants, staff,
//! invitations, settings), `identities.rs` (external identities and WeChat sign-in
//! states), `sms.rs` (one-time codes) and `guards.rs` (idempotency keys, rate windows,
//! challenges). Platform is the lowest context: nothing here imports another context.

use kith_store::{Conn, StoreError, args};

use crate::AppResult;

pub(super) mod accounts;
pub(super) mod guards;
pub(super) mod identities;
pub(super) mod merchants;
pub(super) mod sms;

/// Appends one event to the outbox, with the next statement (an append: its id comes from
/// a sequence, nothing conflicts).
pub(super) fn insert_event(
    c: &mut dyn Conn,
    topic: &str,
    merchant_id: Option<&str>,
    aggregate_id: &str,
    body: String,
    now_ms: i64,
) -> Result<(), StoreError> {
    c.execute_deferred(
        "INSERT INTO outbox (topic, merchant_id, aggregate_id, payload, created_at)
         VALUES ($1, $2, $3, $4, $5)",
        args![topic, merchant_id, aggregate_id, body, now_ms],
    )
}

/// Appends several events in one statement, in the order given.
pub(super) fn insert_events(
    c: &mut dyn Conn,
    rows: &[(&str, Option<&str>, &str, String)],
    now_ms: i64,
) -> Result<(), StoreError> {
    let mut values = Vec::with_capacity(rows.len());
    let mut params: Vec<kith_store::Value> = Vec::with_capacity(1 + 4 * rows.len());
    params.push(now_ms.into());
    for (i, (topic, merchant_id, aggregate_id, body)) in rows.iter().enumerate() {
        let b = 2 + 4 * i;
        values.push(format!("(${b}, ${}, ${}, ${}, $1)", b + 1, b + 2, b + 3));
        params.push((*topic).into());
        params.push(merchant_id.map_or(kith_store::Value::Null, Into::into));
        params.push((*aggregate_id).into());
        params.push(body.as_str().into());
    }
    c.execute_deferred(
        &format!(
            "INSERT INTO outbox (topic, merchant_id, aggregate_id, payload, created_at) VALUES {}",
            values.join(", ")
        ),
        &params,
    )
}

/// Forgets failed logins at or before `before`; returns how many.
pub(super) fn sweep_login_failures(c: &mut dyn Conn, before: i64) -> AppResult<u64> {
    Ok(c.execute("DELETE FROM login_failures WHERE at <= $1", args![before])?)
}

/// A merchant's stored status word; None when there is no such merchant.
pub(super) fn merchant_status_word(
    c: &mut dyn Conn,
    merchant_id: &str,
) -> AppResult<Option<String>> {
    Ok(c.query_opt(
        "SELECT status FROM merchants WHERE id = $1",
        args![merchant_id],
    )?
    .map(|r| r.text(0))
    .transpose()?)
}

/// The account's stored staff role word at the merchant, if any.
pub(super) fn staff_role_word(
    c: &mut dyn Conn,
    merchant_id: &str,
    account_id: &str,
) -> AppResult<Option<String>> {
    Ok(c.query_opt(
        "SELECT role FROM merchant_staff WHERE merchant_id = $1 AND account_id = $2",
        args![merchant_id, account_id],
    )?
    .map(|r| r.text(0))
    .transpose()?)
}

/// Whether the account is a clerk of the store.
pub(super) fn is_clerk_of(c: &mut dyn Conn, store_id: &str, account_id: &str) -> AppResult<bool> {
    Ok(c.query_opt(
        "SELECT 1 FROM store_clerks WHERE store_id = $1 AND account_id = $2",
        args![store_id, account_id],
    )?
    .is_some())
}
