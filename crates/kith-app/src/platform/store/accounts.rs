//! Accounts, sessions and failed logins (`accounts`, `sessions`, `login_failures`).

use kith_store::{Conn, StoreError, args};

use crate::AppResult;

/// Writes the account's phone; the raw result, for the caller's unique-phone answer.
pub(in crate::platform) fn set_phone(
    c: &mut dyn Conn,
    id: &str,
    phone: &str,
) -> Result<u64, StoreError> {
    c.execute(
        "UPDATE accounts SET phone = $2 WHERE id = $1",
        args![id, phone],
    )
}

/// The account with this phone, if any.
pub(in crate::platform) fn account_with_phone(
    c: &mut dyn Conn,
    phone: &str,
) -> AppResult<Option<String>> {
    Ok(c
        .query_opt("SELECT id FROM accounts WHERE phone = $1", args![phone])?
        .map(|r| r.text(0))
        .transpose()?)
}

/// The account with this phone (NotFound when none).
pub(in crate::platform) fn account_id_with_phone(c: &mut dyn Conn, phone: &str) -> AppResult<String> {
    Ok(c
        .query_one("SELECT id FROM accounts WHERE phone = $1", args![phone])?
        .text(0)?)
}
