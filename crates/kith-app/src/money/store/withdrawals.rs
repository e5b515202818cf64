//! `withdrawals` and the rails' `payout_events`.

use kith_store::{Conn, args};

use super::{WithdrawalCols, withdrawal_from_row as from_row};
use crate::money::withdrawals::Withdrawal;
use crate::{AppError, AppResult};

const COLS: &str = WithdrawalCols::LIST;

/// One withdrawal (locked `FOR UPDATE` with `lock`); 404 when there is none.
pub(in crate::money) fn load_withdrawal(
    c: &mut dyn Conn,
    id: &str,
    lock: bool,
) -> AppResult<Withdrawal> {
    let sql = format!(
        "SELECT {COLS} FROM withdrawals WHERE id = $1{}",
        if lock { c.for_update() } else { "" }
    );
    let r = c
        .query_opt(&sql, args![id])?
        .ok_or(AppError::NotFound("withdrawal"))?;
    from_row(&r)
}

/// Moves the withdrawal from `from` to `to` with its note (and who decided, and when,
/// the first time); false when it was no longer `from`.
pub(in crate::money) fn set_withdrawal_status(
    c: &mut dyn Conn,
    id: &str,
    from: &str,
    to: &str,
    note: &str,
    by: Option<&str>,
    now: i64,
) -> AppResult<bool> {
    let n = c.execute(
        "UPDATE withdrawals SET status = $1, note = $2, decided_by = COALESCE($3, decided_by), decided_at = COALESCE(decided_at, $4)
         WHERE id = $5 AND status = $6",
        args![to, note, by, now, id, from],
    )?;
    Ok(n != 0)
}

#[allow(clippy::too_many_arguments)]
pub(in crate::money) fn insert_withdrawal(
    c: &mut dyn Conn,
    id: &str,
    member: &str,
    merchant_id: &str,
    amount_fen: i64,
    now: i64,
    payee_account: &str,
    payee_name: &str,
) -> AppResult<()> {
    c.execute(
        "INSERT INTO withdrawals (id, account_id, merchant_id, amount_fen, status, requested_at, payee_account, payee_name) VALUES ($1, $2, $3, $4, 'requested', $5, $6, $7)",
        args![id, member, merchant_id, amount_fen, now, payee_account, payee_name],
    )?;
    Ok(())
}

/// What the member asked to withdraw at the merchant since `since`, not counting
/// rejected or failed requests.
pub(in crate::money) fn withdrawn_since(
    c: &mut dyn Conn,
    member: &str,
    merchant_id: &str,
    since: i64,
) -> AppResult<i64> {
    Ok(c.query_one(
        "SELECT CAST(COALESCE(SUM(amount_fen), 0) AS bigint) FROM withdrawals
                         WHERE account_id = $1 AND merchant_id = $2 AND requested_at > $3 AND status NOT IN ('rejected', 'failed')",
        args![member, merchant_id, since],
    )?
    .int(0)?)
}

/// A member's last 200 withdrawals, newest first.
pub(in crate::money) fn member_withdrawals(
    c: &mut dyn Conn,
    member: &str,
) -> AppResult<Vec<Withdrawal>> {
    c.query(
        &format!("SELECT {COLS} FROM withdrawals WHERE account_id = $1 ORDER BY requested_at DESC, id DESC LIMIT 200"),
        args![member],
    )?
    .iter()
    .map(from_row)
    .collect()
}

/// The merchant's last `limit` withdrawals, newest first.
pub(in crate::money) fn merchant_withdrawals(
    c: &mut dyn Conn,
    merchant_id: &str,
    limit: i64,
) -> AppResult<Vec<Withdrawal>> {
    c.query(
        &format!("SELECT {COLS} FROM withdrawals WHERE merchant_id = $1 ORDER BY requested_at DESC, id DESC LIMIT $2"),
        args![merchant_id, limit],
    )?
    .iter()
    .map(from_row)
    .collect()
}

/// The first 200 withdrawals waiting for a decision, oldest first.
pub(in crate::money) fn requested_withdrawals(c: &mut dyn Conn) -> AppResult<Vec<Withdrawal>> {
    c.query(
        &format!("SELECT {COLS} FROM withdrawals WHERE status = 'requested' ORDER BY requested_at, id LIMIT 200"),
        args![],
    )?
    .iter()
    .map(from_row)
    .collect()
}

pub(in crate::money) fn set_payout_ref(
    c: &mut dyn Conn,
    id: &str,
    payout_ref: &str,
) -> AppResult<()> {
    c.execute(
        "UPDATE withdrawals SET payout_ref = $1 WHERE id = $2",
        args![payout_ref, id],
    )?;
    Ok(())
}

/// Records a rail's event about a payout once: false when `(provider, event_id)` was
/// recorded already.
pub(in crate::money) fn insert_payout_event(
    c: &mut dyn Conn,
    provider: &str,
    event_id: &str,
    withdrawal_id: &str,
    status: &str,
    now: i64,
) -> AppResult<bool> {
    Ok(c.execute(
        "INSERT INTO payout_events (provider, event_id, withdrawal_id, status, received_at) VALUES ($1, $2, $3, $4, $5)
         ON CONFLICT (provider, event_id) DO NOTHING",
        args![provider, event_id, withdrawal_id, status, now],
    )? == 1)
}
