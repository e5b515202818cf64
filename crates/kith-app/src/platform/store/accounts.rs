//! Accounts, sessions and failed logins (`accounts`, `sessions`, `login_failures`).

use kith_store::{Conn, Row, StoreError, args};

use crate::platform::accounts::{Account, ClerkAssignment, StaffMembership};
use crate::platform::ids::{AccountId, MerchantId, StoreId};
use crate::platform::pictures::MediaRef;
use crate::{AppError, AppResult, rfc3339};

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
    Ok(
        c.query_opt("SELECT id FROM accounts WHERE phone = $1", args![phone])?
            .map(|r| r.text(0))
            .transpose()?,
    )
}

/// The account with this phone (NotFound when none).
pub(in crate::platform) fn account_id_with_phone(
    c: &mut dyn Conn,
    phone: &str,
) -> AppResult<String> {
    Ok(
        c.query_one("SELECT id FROM accounts WHERE phone = $1", args![phone])?
            .text(0)?,
    )
}

kith_store::columns!(AccountCols {
    id,
    phone,
    email,
    display_name,
    is_platform_admin,
    created_at,
    avatar_media_id,
});
const ACCOUNT_COLS: &str = AccountCols::LIST;

fn account_from_row(r: &Row) -> AppResult<Account> {
    Ok(Account {
        id: AccountId::from_row(r.text(AccountCols::id)?),
        phone: r.opt_text(AccountCols::phone)?,
        email: r.opt_text(AccountCols::email)?,
        display_name: r.text(AccountCols::display_name)?,
        is_platform_admin: r.bool(AccountCols::is_platform_admin)?,
        created_at: rfc3339(r.int(AccountCols::created_at)?),
        avatar: r
            .opt_text(AccountCols::avatar_media_id)?
            .map(|m| MediaRef::of(&m)),
    })
}

/// Sets (or with `None` clears) the account's avatar.
pub(in crate::platform) fn set_avatar(
    c: &mut dyn Conn,
    id: &str,
    media_id: Option<&str>,
) -> AppResult<()> {
    c.execute(
        "UPDATE accounts SET avatar_media_id = $1 WHERE id = $2",
        args![media_id, id],
    )?;
    Ok(())
}

/// Whether `account_id` uploaded `media_id` (social's `media_uploads`, read here for the
/// avatar rule; the same statement as social's own `uploaded_by`).
pub(in crate::platform) fn uploaded_by(
    c: &mut dyn Conn,
    media_id: &str,
    account_id: &str,
) -> AppResult<bool> {
    Ok(c.query_opt(
        "SELECT 1 FROM media_uploads WHERE media_id = $1 AND account_id = $2",
        args![media_id, account_id],
    )?
    .is_some())
}

/// The account, or 404.
pub(crate) fn load_account(c: &mut dyn Conn, id: &str) -> AppResult<Account> {
    let r = c
        .query_opt(
            &format!("SELECT {ACCOUNT_COLS} FROM accounts WHERE id = $1"),
            args![id],
        )?
        .ok_or(AppError::NotFound("account"))?;
    account_from_row(&r)
}

/// Inserts an account; the raw result, for the caller's unique phone/email answers.
#[allow(clippy::too_many_arguments)]
pub(in crate::platform) fn insert_account_row(
    c: &mut dyn Conn,
    id: &str,
    phone: Option<&str>,
    email: Option<&str>,
    hash: Option<&str>,
    name: &str,
    platform_admin: bool,
    now: i64,
) -> Result<u64, StoreError> {
    c.execute(
        "INSERT INTO accounts (id, phone, email, password_hash, display_name, is_platform_admin, created_at)
         VALUES ($1, $2, $3, $4, $5, $6, $7)",
        args![id, phone, email, hash, name, platform_admin, now],
    )
}

pub(in crate::platform) fn insert_session_row(
    c: &mut dyn Conn,
    token_hash: &str,
    account_id: &str,
    now: i64,
    expires: i64,
) -> AppResult<()> {
    c.execute(
        "INSERT INTO sessions (token_hash, account_id, created_at, expires_at, last_seen_at) VALUES ($1, $2, $3, $4, $3)",
        args![token_hash, account_id, now, expires],
    )?;
    Ok(())
}

/// The account a login names by `column` (`phone` or `email`): (id, password_hash), locked.
pub(in crate::platform) fn lock_login_account(
    c: &mut dyn Conn,
    column: &str,
    key: &str,
) -> AppResult<Option<(String, Option<String>)>> {
    let account = c.query_opt(
        &format!(
            "SELECT id, password_hash FROM accounts WHERE {column} = $1{}",
            c.for_update()
        ),
        args![key],
    )?;
    Ok(account
        .map(|r| Ok::<_, StoreError>((r.text(0)?, r.opt_text(1)?)))
        .transpose()?)
}

/// Failed logins since `since` whose `col` (`login_key` or `client_addr`) is `val`.
pub(in crate::platform) fn count_login_failures(
    c: &mut dyn Conn,
    col: &str,
    val: &str,
    since: i64,
) -> AppResult<i64> {
    Ok(c.query_one(
        &format!("SELECT COUNT(*) FROM login_failures WHERE {col} = $1 AND at > $2"),
        args![val, since],
    )?
    .int(0)?)
}

/// Records a login attempt as failed (cleared when it succeeds); returns its id.
pub(in crate::platform) fn insert_login_failure(
    c: &mut dyn Conn,
    key: &str,
    addr: &str,
    now: i64,
) -> AppResult<i64> {
    let attempt = c.query_one(
        "INSERT INTO login_failures (login_key, client_addr, at) VALUES ($1, $2, $3) RETURNING id",
        args![key, addr, now],
    )?;
    Ok(attempt.int(0)?)
}

pub(in crate::platform) fn clear_login_failures(c: &mut dyn Conn, key: &str) -> AppResult<()> {
    c.execute(
        "DELETE FROM login_failures WHERE login_key = $1",
        args![key],
    )?;
    Ok(())
}

pub(in crate::platform) fn password_hash(c: &mut dyn Conn, id: &str) -> AppResult<Option<String>> {
    Ok(c.query_one(
        "SELECT password_hash FROM accounts WHERE id = $1",
        args![id],
    )?
    .opt_text(0)?)
}

pub(in crate::platform) fn set_password_hash(
    c: &mut dyn Conn,
    id: &str,
    hash: &str,
) -> AppResult<()> {
    c.execute(
        "UPDATE accounts SET password_hash = $2 WHERE id = $1",
        args![id, hash],
    )?;
    Ok(())
}

/// The live session's account: (account id, platform admin, last seen).
pub(in crate::platform) fn live_session(
    c: &mut dyn Conn,
    token_hash: &str,
    now: i64,
) -> AppResult<Option<(String, bool, i64)>> {
    Ok(c.query_opt(
        "SELECT a.id, a.is_platform_admin, COALESCE(s.last_seen_at, s.created_at)
             FROM sessions s JOIN accounts a ON a.id = s.account_id
             WHERE s.token_hash = $1 AND s.revoked_at IS NULL AND s.expires_at > $2",
        args![token_hash, now],
    )?
    .map(|r| Ok::<_, StoreError>((r.text(0)?, r.bool(1)?, r.int(2)?)))
    .transpose()?)
}

pub(in crate::platform) fn touch_session(
    c: &mut dyn Conn,
    token_hash: &str,
    now: i64,
) -> AppResult<()> {
    c.execute(
        "UPDATE sessions SET last_seen_at = $2 WHERE token_hash = $1",
        args![token_hash, now],
    )?;
    Ok(())
}

pub(in crate::platform) fn revoke_session(
    c: &mut dyn Conn,
    token_hash: &str,
    now: i64,
) -> AppResult<()> {
    c.execute(
        "UPDATE sessions SET revoked_at = $1 WHERE token_hash = $2 AND revoked_at IS NULL",
        args![now, token_hash],
    )?;
    Ok(())
}

/// The merchants the account is staff of, in order of application.
pub(in crate::platform) fn staff_memberships(
    c: &mut dyn Conn,
    id: &str,
) -> AppResult<Vec<StaffMembership>> {
    c.query(
        "SELECT m.id, m.name, m.status, s.role FROM merchant_staff s JOIN merchants m ON m.id = s.merchant_id
         WHERE s.account_id = $1 ORDER BY m.applied_at",
        args![id],
    )?
    .iter()
    .map(|r| {
        Ok(StaffMembership {
            merchant_id: MerchantId::from_row(r.text(0)?),
            merchant_name: r.text(1)?,
            merchant_status: r.text(2)?,
            role: r.text(3)?,
        })
    })
    .collect::<AppResult<Vec<_>>>()
}

/// The stores the account is a clerk of, in order of assignment.
pub(in crate::platform) fn clerk_assignments(
    c: &mut dyn Conn,
    id: &str,
) -> AppResult<Vec<ClerkAssignment>> {
    c.query(
        "SELECT st.id, st.name, st.merchant_id FROM store_clerks k JOIN stores st ON st.id = k.store_id
         WHERE k.account_id = $1 ORDER BY k.added_at",
        args![id],
    )?
    .iter()
    .map(|r| {
        Ok(ClerkAssignment {
            store_id: StoreId::from_row(r.text(0)?),
            store_name: r.text(1)?,
            merchant_id: MerchantId::from_row(r.text(2)?),
        })
    })
    .collect::<AppResult<Vec<_>>>()
}

/// Inserts an account made from a WeChat identity: no phone, email or password.
pub(in crate::platform) fn insert_wechat_account(
    c: &mut dyn Conn,
    id: &str,
    name: &str,
    now: i64,
) -> AppResult<()> {
    c.execute(
        "INSERT INTO accounts (id, phone, email, password_hash, display_name, is_platform_admin, created_at)
         VALUES ($1, NULL, NULL, NULL, $2, $3, $4)",
        args![id, name, false, now],
    )?;
    Ok(())
}

/// (has a password, phone) of the account, locked.
pub(in crate::platform) fn lock_sign_in_means(
    c: &mut dyn Conn,
    id: &str,
) -> AppResult<(bool, Option<String>)> {
    let acct = c.query_one(
        &format!(
            "SELECT password_hash, phone FROM accounts WHERE id = $1{}",
            c.for_update()
        ),
        args![id],
    )?;
    Ok((acct.opt_text(0)?.is_some(), acct.opt_text(1)?))
}
