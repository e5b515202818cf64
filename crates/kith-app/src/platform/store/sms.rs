//! One-time SMS codes (`sms_codes`), stored only as their HMAC.

use kith_store::{Conn, args};

use crate::AppResult;

/// The newest live code for `(phone, purpose)` with attempts left: (id, code_hash), locked.
pub(in crate::platform) fn lock_live_code(
    c: &mut dyn Conn,
    phone: &str,
    purpose: &str,
    now: i64,
    max_attempts: i64,
) -> AppResult<Option<(String, String)>> {
    c.query_opt(
        &format!(
            "SELECT id, code_hash FROM sms_codes
             WHERE phone = $1 AND purpose = $2 AND used_at IS NULL AND expires_at > $3 AND attempts < $4
             ORDER BY created_at DESC LIMIT 1{}",
            c.for_update()
        ),
        args![phone, purpose, now, max_attempts],
    )?
    .map(|row| Ok((row.text(0)?, row.text(1)?)))
    .transpose()
}

/// Counts one attempt at a code, spending it when `right`.
pub(in crate::platform) fn count_attempt(
    c: &mut dyn Conn,
    id: &str,
    right: bool,
    now: i64,
) -> AppResult<()> {
    c.execute(
        "UPDATE sms_codes SET attempts = attempts + 1,
           used_at = CASE WHEN $2 THEN $3 ELSE used_at END
         WHERE id = $1",
        args![id, right, now],
    )?;
    Ok(())
}

/// Ends every unspent code of `(phone, purpose)`.
pub(in crate::platform) fn end_unspent_codes(
    c: &mut dyn Conn,
    phone: &str,
    purpose: &str,
    now: i64,
) -> AppResult<()> {
    c.execute(
        "UPDATE sms_codes SET used_at = $3 WHERE phone = $1 AND purpose = $2 AND used_at IS NULL",
        args![phone, purpose, now],
    )?;
    Ok(())
}

#[allow(clippy::too_many_arguments)]
pub(in crate::platform) fn insert_code(
    c: &mut dyn Conn,
    id: &str,
    phone: &str,
    purpose: &str,
    hash: &str,
    now: i64,
    expires: i64,
) -> AppResult<()> {
    c.execute(
        "INSERT INTO sms_codes (id, phone, purpose, code_hash, created_at, expires_at, attempts)
         VALUES ($1, $2, $3, $4, $5, $6, 0)",
        args![id, phone, purpose, hash, now, expires],
    )?;
    Ok(())
}

/// Ends one code (it was never sent).
pub(in crate::platform) fn end_code(c: &mut dyn Conn, id: &str, now: i64) -> AppResult<()> {
    c.execute(
        "UPDATE sms_codes SET used_at = $2 WHERE id = $1",
        args![id, now],
    )?;
    Ok(())
}

/// Gives a spent code back (the sign-up it paid for was refused).
pub(in crate::platform) fn unspend_code(c: &mut dyn Conn, id: &str) -> AppResult<()> {
    c.execute(
        "UPDATE sms_codes SET used_at = NULL WHERE id = $1",
        args![id],
    )?;
    Ok(())
}

/// Deletes codes that expired before `before`; returns how many.
pub(in crate::platform) fn sweep_codes(c: &mut dyn Conn, before: i64) -> AppResult<u64> {
    Ok(c.execute("DELETE FROM sms_codes WHERE expires_at < $1", args![before])?)
}
