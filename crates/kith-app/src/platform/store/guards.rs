//! The guards' rows: stored idempotent responses (`idempotency_keys`), shared rate windows
//! (`rate_windows`), the challenge key (`platform_secrets`) and spent challenge solutions
//! (`spent_challenges`).

use kith_store::{Conn, args};

use crate::AppResult;

// ---------------------------------------------------------------------------------------
// Idempotency keys

/// Forgets the key if it has expired, so it may be claimed again.
pub(in crate::platform) fn drop_expired_key(
    c: &mut dyn Conn,
    scope: &str,
    key: &str,
    now: i64,
) -> AppResult<()> {
    c.execute(
        "DELETE FROM idempotency_keys WHERE scope = $1 AND idem_key = $2 AND expires_at <= $3",
        args![scope, key, now],
    )?;
    Ok(())
}

/// Claims a key; false when it is held already.
pub(in crate::platform) fn claim_key(
    c: &mut dyn Conn,
    scope: &str,
    key: &str,
    hash: &str,
    now: i64,
    expires: i64,
) -> AppResult<bool> {
    let inserted = c.execute(
        "INSERT INTO idempotency_keys (scope, idem_key, request_hash, created_at, expires_at)
         VALUES ($1, $2, $3, $4, $5) ON CONFLICT (scope, idem_key) DO NOTHING",
        args![scope, key, hash, now, expires],
    )?;
    Ok(inserted == 1)
}

/// A held key: the request's hash and, once finished, its response.
pub(in crate::platform) struct HeldKey {
    pub(in crate::platform) request_hash: String,
    pub(in crate::platform) status: Option<i64>,
    pub(in crate::platform) content_type: Option<String>,
    pub(in crate::platform) body: Option<Vec<u8>>,
}

pub(in crate::platform) fn held_key(
    c: &mut dyn Conn,
    scope: &str,
    key: &str,
) -> AppResult<HeldKey> {
    let r = c.query_one(
        "SELECT request_hash, response_status, response_type, response_body FROM idempotency_keys WHERE scope = $1 AND idem_key = $2",
        args![scope, key],
    )?;
    Ok(HeldKey {
        request_hash: r.text(0)?,
        status: r.opt_int(1)?,
        content_type: r.opt_text(2)?,
        body: r.get::<Option<Vec<u8>>>(3)?,
    })
}

pub(in crate::platform) fn release_key(c: &mut dyn Conn, scope: &str, key: &str) -> AppResult<()> {
    c.execute(
        "DELETE FROM idempotency_keys WHERE scope = $1 AND idem_key = $2",
        args![scope, key],
    )?;
    Ok(())
}

pub(in crate::platform) fn store_response(
    c: &mut dyn Conn,
    scope: &str,
    key: &str,
    status: u16,
    content_type: Option<&str>,
    body: Vec<u8>,
) -> AppResult<()> {
    c.execute(
        "UPDATE idempotency_keys SET response_status = $1, response_type = $2, response_body = $3 WHERE scope = $4 AND idem_key = $5",
        args![i64::from(status), content_type, body, scope, key],
    )?;
    Ok(())
}

/// Deletes expired keys; returns how many.
pub(in crate::platform) fn sweep_keys(c: &mut dyn Conn, now: i64) -> AppResult<u64> {
    Ok(c.execute(
        "DELETE FROM idempotency_keys WHERE expires_at <= $1",
        args![now],
    )?)
}

// ---------------------------------------------------------------------------------------
// Rate windows

/// Counts one hit, starting the window again when it began at or before `stale` (or in
/// the future); returns the hits in the window and when it started.
pub(in crate::platform) fn count_rate_hit(
    c: &mut dyn Conn,
    action: &str,
    subject: &str,
    now_ms: i64,
    stale: i64,
) -> AppResult<(i64, i64)> {
    let row = c.query_one(
        "INSERT INTO rate_windows (action, subject, window_start, hits) VALUES ($1, $2, $3, 1)
         ON CONFLICT (action, subject) DO UPDATE SET
           hits = CASE WHEN rate_windows.window_start <= $4 OR rate_windows.window_start > $3
                       THEN 1 ELSE rate_windows.hits + 1 END,
           window_start = CASE WHEN rate_windows.window_start <= $4 OR rate_windows.window_start > $3
                       THEN $3 ELSE rate_windows.window_start END
         RETURNING hits, window_start",
        args![action, subject, now_ms, stale],
    )?;
    Ok((row.int(0)?, row.int(1)?))
}

/// Gives back one hit of the window that began after `stale` (never below zero).
pub(in crate::platform) fn forgive_rate_hit(
    c: &mut dyn Conn,
    action: &str,
    subject: &str,
    stale: i64,
    now_ms: i64,
) -> AppResult<()> {
    c.execute(
        "UPDATE rate_windows SET hits = hits - 1 WHERE action = $1 AND subject = $2
           AND window_start > $3 AND window_start <= $4 AND hits > 0",
        args![action, subject, stale, now_ms],
    )?;
    Ok(())
}

/// Deletes windows that began before `before`; returns how many.
pub(in crate::platform) fn sweep_rate_windows(c: &mut dyn Conn, before: i64) -> AppResult<u64> {
    Ok(c.execute(
        "DELETE FROM rate_windows WHERE window_start < $1",
        args![before],
    )?)
}

// ---------------------------------------------------------------------------------------
// Challenges

/// Stores `value` under `name` unless a secret of that name exists already.
pub(in crate::platform) fn insert_secret_once(
    c: &mut dyn Conn,
    name: &str,
    value: String,
    now_ms: i64,
) -> AppResult<()> {
    c.execute(
        "INSERT INTO platform_secrets (name, value, created_at) VALUES ($1, $2, $3)
         ON CONFLICT (name) DO NOTHING",
        args![name, value, now_ms],
    )?;
    Ok(())
}

pub(in crate::platform) fn secret(c: &mut dyn Conn, name: &str) -> AppResult<String> {
    Ok(c.query_one(
        "SELECT value FROM platform_secrets WHERE name = $1",
        args![name],
    )?
    .text(0)?)
}

/// Records a solution spent; false when it was spent already.
pub(in crate::platform) fn spend_solution(
    c: &mut dyn Conn,
    signature: &str,
    expires_ms: i64,
) -> AppResult<bool> {
    let spent = c.execute(
        "INSERT INTO spent_challenges (signature, expires_at) VALUES ($1, $2)
         ON CONFLICT (signature) DO NOTHING",
        args![signature, expires_ms],
    )?;
    Ok(spent == 1)
}

/// Deletes spent solutions whose challenge has expired; returns how many.
pub(in crate::platform) fn sweep_spent_challenges(c: &mut dyn Conn, now: i64) -> AppResult<u64> {
    Ok(c.execute(
        "DELETE FROM spent_challenges WHERE expires_at <= $1",
        args![now],
    )?)
}
