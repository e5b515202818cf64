//! External identities and the WeChat sign-in flow's rows: `external_identities`,
//! `oauth_states`, `oauth_used_codes`, `pending_identities`.

use kith_store::{Conn, Row, StoreError, args};

use crate::platform::identities::{Identity, WECHAT};
use crate::{AppResult, rfc3339};

kith_store::columns!(IdentityCols {
    id,
    provider,
    app_id,
    nickname,
    created_at,
    last_sign_in_at,
});

fn identity_from_row(r: &Row) -> AppResult<Identity> {
    Ok(Identity {
        id: crate::platform::ids::IdentityId::from_row(r.text(IdentityCols::id)?),
        provider: r.text(IdentityCols::provider)?,
        app_id: r.text(IdentityCols::app_id)?,
        nickname: r.text(IdentityCols::nickname)?,
        created_at: rfc3339(r.int(IdentityCols::created_at)?),
        last_sign_in_at: r.opt_int(IdentityCols::last_sign_in_at)?.map(rfc3339),
    })
}

/// The WeChat identity with this unionid: (identity id, account id).
pub(in crate::platform) fn identity_by_unionid(
    c: &mut dyn Conn,
    unionid: &str,
) -> AppResult<Option<(String, String)>> {
    let r = c.query_opt(
        "SELECT id, account_id FROM external_identities WHERE provider = $1 AND unionid = $2",
        args![WECHAT, unionid],
    )?;
    Ok(r.map(|r| Ok::<_, StoreError>((r.text(0)?, r.text(1)?)))
        .transpose()?)
}

/// The WeChat identity with this (app id, openid): (identity id, account id).
pub(in crate::platform) fn identity_by_openid(
    c: &mut dyn Conn,
    app_id: &str,
    openid: &str,
) -> AppResult<Option<(String, String)>> {
    let r = c.query_opt(
        "SELECT id, account_id FROM external_identities WHERE provider = $1 AND app_id = $2 AND openid = $3",
        args![WECHAT, app_id, openid],
    )?;
    Ok(r.map(|r| Ok::<_, StoreError>((r.text(0)?, r.text(1)?)))
        .transpose()?)
}

/// The openid of `account_id`'s WeChat identity through the 公众号 `app_id` (the most
/// recently used one), for the notification centre's WeChat channel: the surface through
/// which another context learns an openid without reading this context's table.
pub(crate) fn wechat_openid(
    c: &mut dyn Conn,
    account_id: &str,
    app_id: &str,
) -> AppResult<Option<String>> {
    let r = c.query_opt(
        "SELECT openid FROM external_identities
         WHERE provider = $1 AND account_id = $2 AND app_id = $3
         ORDER BY last_sign_in_at DESC, created_at DESC LIMIT 1",
        args![WECHAT, account_id, app_id],
    )?;
    Ok(r.map(|r| r.text(0)).transpose()?)
}

/// Inserts a WeChat identity; the raw result, for the caller's "linked to another account".
#[allow(clippy::too_many_arguments)]
pub(in crate::platform) fn insert_identity(
    c: &mut dyn Conn,
    id: &str,
    app_id: &str,
    openid: &str,
    unionid: Option<&str>,
    account_id: &str,
    nickname: &str,
    now: i64,
) -> Result<u64, StoreError> {
    c.execute(
        "INSERT INTO external_identities (id, provider, app_id, openid, unionid, account_id, nickname, created_at, last_sign_in_at)
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $8)",
        args![id, WECHAT, app_id, openid, unionid, account_id, nickname, now],
    )
}

/// A pending identity as it was taken.
pub(in crate::platform) struct PendingRow {
    pub(in crate::platform) app_id: String,
    pub(in crate::platform) openid: String,
    pub(in crate::platform) unionid: Option<String>,
    pub(in crate::platform) nickname: String,
    pub(in crate::platform) next_path: String,
    pub(in crate::platform) expires_at: i64,
}

/// Deletes the pending identity and returns it, expired or not.
pub(in crate::platform) fn take_pending_row(
    c: &mut dyn Conn,
    token_hash: &str,
) -> AppResult<Option<PendingRow>> {
    let r = c.query_opt(
        "DELETE FROM pending_identities WHERE token_hash = $1
         RETURNING app_id, openid, unionid, nickname, next_path, expires_at",
        args![token_hash],
    )?;
    Ok(r.map(|r| {
        Ok::<_, StoreError>(PendingRow {
            app_id: r.text(0)?,
            openid: r.text(1)?,
            unionid: r.opt_text(2)?,
            nickname: r.text(3)?,
            next_path: r.text(4)?,
            expires_at: r.int(5)?,
        })
    })
    .transpose()?)
}

#[allow(clippy::too_many_arguments)]
pub(in crate::platform) fn insert_state(
    c: &mut dyn Conn,
    state_hash: &str,
    browser_hash: &str,
    mode: &str,
    account_id: Option<&str>,
    next: &str,
    expires: i64,
) -> AppResult<()> {
    c.execute(
        "INSERT INTO oauth_states (state_hash, browser_hash, provider, mode, account_id, next_path, expires_at)
         VALUES ($1, $2, $3, $4, $5, $6, $7)",
        args![state_hash, browser_hash, WECHAT, mode, account_id, next, expires],
    )?;
    Ok(())
}

/// An OAuth state as the callback reads it.
pub(in crate::platform) struct StateRow {
    pub(in crate::platform) browser_hash: String,
    pub(in crate::platform) mode: String,
    pub(in crate::platform) account_id: Option<String>,
    pub(in crate::platform) next_path: String,
    pub(in crate::platform) expires_at: i64,
    pub(in crate::platform) used_at: Option<i64>,
}

/// The WeChat state with this hash, locked.
pub(in crate::platform) fn lock_state(
    c: &mut dyn Conn,
    state_hash: &str,
) -> AppResult<Option<StateRow>> {
    let r = c.query_opt(
        &format!(
            "SELECT browser_hash, mode, account_id, next_path, expires_at, used_at
             FROM oauth_states WHERE state_hash = $1 AND provider = $2{}",
            c.for_update()
        ),
        args![state_hash, WECHAT],
    )?;
    Ok(r.map(|r| {
        Ok::<_, StoreError>(StateRow {
            browser_hash: r.text(0)?,
            mode: r.text(1)?,
            account_id: r.opt_text(2)?,
            next_path: r.text(3)?,
            expires_at: r.int(4)?,
            used_at: r.opt_int(5)?,
        })
    })
    .transpose()?)
}

pub(in crate::platform) fn mark_state_used(
    c: &mut dyn Conn,
    state_hash: &str,
    now: i64,
) -> AppResult<()> {
    c.execute(
        "UPDATE oauth_states SET used_at = $2 WHERE state_hash = $1",
        args![state_hash, now],
    )?;
    Ok(())
}

/// Records a sign-in code spent; the raw result, for the caller's "already used".
pub(in crate::platform) fn insert_used_code(
    c: &mut dyn Conn,
    app_id: &str,
    code_hash: &str,
    expires: i64,
) -> Result<u64, StoreError> {
    c.execute(
        "INSERT INTO oauth_used_codes (provider, app_id, code_hash, expires_at) VALUES ($1, $2, $3, $4)",
        args![WECHAT, app_id, code_hash, expires],
    )
}

/// A sign-in through the identity: its time, and the unionid and nickname WeChat gave
/// when the identity lacked them.
pub(in crate::platform) fn touch_identity(
    c: &mut dyn Conn,
    id: &str,
    now: i64,
    unionid: Option<&str>,
    nickname: &str,
) -> AppResult<()> {
    c.execute(
        "UPDATE external_identities
         SET last_sign_in_at = $2, unionid = COALESCE(unionid, $3),
             nickname = CASE WHEN $4 = '' THEN nickname ELSE $4 END
         WHERE id = $1",
        args![id, now, unionid, nickname],
    )?;
    Ok(())
}

#[allow(clippy::too_many_arguments)]
pub(in crate::platform) fn insert_pending(
    c: &mut dyn Conn,
    token_hash: &str,
    app_id: &str,
    openid: &str,
    unionid: Option<&str>,
    nickname: &str,
    next: &str,
    expires: i64,
) -> AppResult<()> {
    c.execute(
        "INSERT INTO pending_identities (token_hash, provider, app_id, openid, unionid, nickname, next_path, expires_at)
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8)",
        args![token_hash, WECHAT, app_id, openid, unionid, nickname, next, expires],
    )?;
    Ok(())
}

/// A live pending identity: (nickname, next path).
pub(in crate::platform) fn live_pending(
    c: &mut dyn Conn,
    token_hash: &str,
    now: i64,
) -> AppResult<Option<(String, String)>> {
    let r = c.query_opt(
        "SELECT nickname, next_path FROM pending_identities WHERE token_hash = $1 AND expires_at > $2",
        args![token_hash, now],
    )?;
    Ok(r.map(|r| Ok::<_, StoreError>((r.text(0)?, r.text(1)?)))
        .transpose()?)
}

pub(in crate::platform) fn set_last_sign_in(c: &mut dyn Conn, id: &str, now: i64) -> AppResult<()> {
    c.execute(
        "UPDATE external_identities SET last_sign_in_at = $2 WHERE id = $1",
        args![id, now],
    )?;
    Ok(())
}

/// The account's identities, oldest first.
pub(in crate::platform) fn account_identities(
    c: &mut dyn Conn,
    account_id: &str,
) -> AppResult<Vec<Identity>> {
    c.query(
        &format!(
            "SELECT {} FROM external_identities WHERE account_id = $1 ORDER BY created_at, id",
            IdentityCols::LIST
        ),
        args![account_id],
    )?
    .iter()
    .map(identity_from_row)
    .collect::<AppResult<Vec<_>>>()
}

/// Whether the identity is the account's.
pub(in crate::platform) fn identity_is_accounts(
    c: &mut dyn Conn,
    identity_id: &str,
    account_id: &str,
) -> AppResult<bool> {
    Ok(c.query_opt(
        "SELECT 1 FROM external_identities WHERE id = $1 AND account_id = $2",
        args![identity_id, account_id],
    )?
    .is_some())
}

/// How many identities the account has besides this one.
pub(in crate::platform) fn count_other_identities(
    c: &mut dyn Conn,
    account_id: &str,
    identity_id: &str,
) -> AppResult<i64> {
    Ok(c.query_one(
        "SELECT COUNT(*) FROM external_identities WHERE account_id = $1 AND id <> $2",
        args![account_id, identity_id],
    )?
    .int(0)?)
}

/// Unlinks the account's identity; false when it is not theirs.
pub(in crate::platform) fn delete_identity(
    c: &mut dyn Conn,
    identity_id: &str,
    account_id: &str,
) -> AppResult<bool> {
    let n = c.execute(
        "DELETE FROM external_identities WHERE id = $1 AND account_id = $2",
        args![identity_id, account_id],
    )?;
    Ok(n != 0)
}

/// Deletes expired states, spent codes and pending identities, in that order; returns how
/// many.
pub(in crate::platform) fn sweep_flows(c: &mut dyn Conn, now: i64) -> AppResult<u64> {
    let mut n = c.execute(
        "DELETE FROM oauth_states WHERE expires_at <= $1",
        args![now],
    )?;
    n += c.execute(
        "DELETE FROM oauth_used_codes WHERE expires_at <= $1",
        args![now],
    )?;
    n += c.execute(
        "DELETE FROM pending_identities WHERE expires_at <= $1",
        args![now],
    )?;
    Ok(n)
}

/// Whether the account signed in with WeChat since `since`.
pub(in crate::platform) fn recent_sign_in(
    c: &mut dyn Conn,
    account_id: &str,
    since: i64,
) -> AppResult<bool> {
    Ok(c.query_opt(
        "SELECT 1 FROM external_identities WHERE account_id = $1 AND last_sign_in_at > $2 LIMIT 1",
        args![account_id, since],
    )?
    .is_some())
}
