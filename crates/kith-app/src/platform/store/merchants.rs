//! Merchants, their staff, invitations and commerce settings (`merchants`,
//! `merchant_staff`, `store_clerks` as invitations fill it, `invitations`).

use kith_domain::{MerchantStatus, StaffRole};
use kith_store::{Conn, Row, StoreError, args};

use crate::platform::ids::{AccountId, InvitationId, MerchantId, StoreId};
use crate::platform::merchants::{CommerceSettings, Invitation, Merchant, StaffMember};
use crate::platform::page::{Direction, PageRequest};
use crate::platform::pictures::MediaRef;
use crate::{AppError, AppResult, rfc3339};

kith_store::columns!(MerchantCols {
    id,
    name,
    description,
    contact_phone,
    status,
    owner_account_id,
    applied_at,
    decided_at,
    decision_reason,
    logo_media_id,
    banner_media_id,
});
const MERCHANT_COLS: &str = MerchantCols::LIST;

fn merchant_from_row(r: &Row) -> AppResult<Merchant> {
    Ok(Merchant {
        id: MerchantId::from_row(r.text(MerchantCols::id)?),
        name: r.text(MerchantCols::name)?,
        description: r.text(MerchantCols::description)?,
        contact_phone: r.opt_text(MerchantCols::contact_phone)?,
        status: MerchantStatus::from_db(&r.text(MerchantCols::status)?)
            .ok_or_else(|| AppError::Internal("unknown merchant status".into()))?,
        owner_account_id: AccountId::from_row(r.text(MerchantCols::owner_account_id)?),
        applied_at: rfc3339(r.int(MerchantCols::applied_at)?),
        decided_at: r.opt_int(MerchantCols::decided_at)?.map(rfc3339),
        decision_reason: r.opt_text(MerchantCols::decision_reason)?,
        logo: r
            .opt_text(MerchantCols::logo_media_id)?
            .map(|m| MediaRef::of(&m)),
        banner: r
            .opt_text(MerchantCols::banner_media_id)?
            .map(|m| MediaRef::of(&m)),
    })
}

/// Sets (or with `None` clears) the merchant's logo (`logo_media_id`) or banner
/// (`banner_media_id`); any other `column` is a bug.
pub(in crate::platform) fn set_picture(
    c: &mut dyn Conn,
    id: &str,
    column: &str,
    media_id: Option<&str>,
    now: i64,
) -> AppResult<()> {
    let sql = match column {
        "logo_media_id" => "UPDATE merchants SET logo_media_id = $1, updated_at = $2 WHERE id = $3",
        "banner_media_id" => {
            "UPDATE merchants SET banner_media_id = $1, updated_at = $2 WHERE id = $3"
        }
        other => return Err(AppError::Internal(format!("no picture column {other}"))),
    };
    c.execute(sql, args![media_id, now, id])?;
    Ok(())
}

/// Whether someone now on `merchant_id`'s staff uploaded `media_id` (social's
/// `media_uploads`, read here for the logo and banner rule; the product images' rule).
pub(in crate::platform) fn uploaded_by_staff_of(
    c: &mut dyn Conn,
    media_id: &str,
    merchant_id: &str,
) -> AppResult<bool> {
    Ok(c.query_opt(
        "SELECT 1 FROM media_uploads u JOIN merchant_staff s ON s.account_id = u.account_id
         WHERE u.media_id = $1 AND s.merchant_id = $2",
        args![media_id, merchant_id],
    )?
    .is_some())
}

/// The merchant, or 404.
pub(in crate::platform) fn load_merchant(c: &mut dyn Conn, id: &str) -> AppResult<Merchant> {
    let r = c
        .query_opt(
            &format!("SELECT {MERCHANT_COLS} FROM merchants WHERE id = $1"),
            args![id],
        )?
        .ok_or(AppError::NotFound("merchant"))?;
    merchant_from_row(&r)
}

kith_store::columns!(InvitationCols {
    id,
    merchant_id,
    role,
    store_id,
    created_at,
    expires_at,
    accepted_by,
    accepted_at,
    revoked_at,
});
const INVITE_COLS: &str = InvitationCols::LIST;

fn invitation_from_row(r: &Row, code: Option<String>) -> AppResult<Invitation> {
    Ok(Invitation {
        id: InvitationId::from_row(r.text(InvitationCols::id)?),
        merchant_id: MerchantId::from_row(r.text(InvitationCols::merchant_id)?),
        role: r.text(InvitationCols::role)?,
        store_id: r.opt_text(InvitationCols::store_id)?.map(StoreId::from_row),
        code,
        created_at: rfc3339(r.int(InvitationCols::created_at)?),
        expires_at: rfc3339(r.int(InvitationCols::expires_at)?),
        accepted_by: r
            .opt_text(InvitationCols::accepted_by)?
            .map(AccountId::from_row),
        accepted_at: r.opt_int(InvitationCols::accepted_at)?.map(rfc3339),
        revoked: r.opt_int(InvitationCols::revoked_at)?.is_some(),
    })
}

#[allow(clippy::too_many_arguments)]
pub(in crate::platform) fn insert_invitation_row(
    c: &mut dyn Conn,
    id: &str,
    token_hash: &str,
    merchant_id: &str,
    role: &str,
    store_id: Option<&str>,
    created_by: &str,
    now: i64,
    expires: i64,
) -> AppResult<()> {
    c.execute(
        "INSERT INTO invitations (id, token_hash, merchant_id, role, store_id, created_by, created_at, expires_at)
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8)",
        args![id, token_hash, merchant_id, role, store_id, created_by, now, expires],
    )?;
    Ok(())
}

/// An invitation (its code only when just made).
pub(in crate::platform) fn invitation(
    c: &mut dyn Conn,
    id: &str,
    code: Option<String>,
) -> AppResult<Invitation> {
    let r = c.query_one(
        &format!("SELECT {INVITE_COLS} FROM invitations WHERE id = $1"),
        args![id],
    )?;
    invitation_from_row(&r, code)
}

/// Inserts a pending application; the raw result, for the caller's unique answers.
pub(in crate::platform) fn insert_merchant(
    c: &mut dyn Conn,
    id: &str,
    name: &str,
    description: &str,
    contact: Option<&str>,
    owner: &str,
    now: i64,
) -> Result<u64, StoreError> {
    c.execute(
        "INSERT INTO merchants (id, name, description, contact_phone, status, owner_account_id, applied_at, updated_at)
         VALUES ($1, $2, $3, $4, 'pending', $5, $6, $6)",
        args![id, name, description, contact, owner, now],
    )
}

pub(in crate::platform) fn insert_owner(
    c: &mut dyn Conn,
    merchant_id: &str,
    account_id: &str,
    now: i64,
) -> AppResult<()> {
    c.execute(
        "INSERT INTO merchant_staff (merchant_id, account_id, role, added_at) VALUES ($1, $2, 'owner', $3)",
        args![merchant_id, account_id, now],
    )?;
    Ok(())
}

/// One keyset page of merchants (all when `status` is ""), oldest application first, each
/// with its raw application time; one more than the page.
pub(in crate::platform) fn merchants_page(
    c: &mut dyn Conn,
    status: &str,
    page: &PageRequest,
) -> AppResult<Vec<(i64, Merchant)>> {
    let after = page.keyset(Direction::OldestFirst, "applied_at", "id", 2);
    let mut params = args![status].to_vec();
    params.extend(after.args);
    params.push(page.fetch().into());
    let rows = c.query(
        &format!(
            "SELECT {MERCHANT_COLS} FROM merchants
             WHERE ($1 = '' OR status = $1) AND {}
             ORDER BY applied_at, id LIMIT $4",
            after.sql
        ),
        &params,
    )?;
    rows.iter()
        .map(|r| Ok((r.int(MerchantCols::applied_at)?, merchant_from_row(r)?)))
        .collect::<AppResult<Vec<_>>>()
}

/// Decides a pending application; false when it is no longer pending.
pub(in crate::platform) fn decide_pending(
    c: &mut dyn Conn,
    id: &str,
    next: MerchantStatus,
    now: i64,
    by: &str,
    reason: Option<&str>,
) -> AppResult<bool> {
    let n = c.execute(
        "UPDATE merchants SET status = $1, decided_at = $2, decided_by = $3, decision_reason = $4, updated_at = $2
         WHERE id = $5 AND status = 'pending'",
        args![next.as_str(), now, by, reason, id],
    )?;
    Ok(n != 0)
}

/// Writes the profile; the raw result, for the caller's unique-name answer.
pub(in crate::platform) fn update_profile(
    c: &mut dyn Conn,
    id: &str,
    name: &str,
    desc: &str,
    contact: Option<String>,
    now: i64,
) -> Result<u64, StoreError> {
    c.execute(
        "UPDATE merchants SET name = $1, description = $2, contact_phone = $3, updated_at = $4 WHERE id = $5",
        args![name, desc, contact, now, id],
    )
}

pub(in crate::platform) fn staff(c: &mut dyn Conn, id: &str) -> AppResult<Vec<StaffMember>> {
    c.query(
        "SELECT s.account_id, a.display_name, s.role, s.added_at FROM merchant_staff s
         JOIN accounts a ON a.id = s.account_id WHERE s.merchant_id = $1 ORDER BY s.added_at, s.account_id",
        args![id],
    )?
    .iter()
    .map(|r| {
        Ok(StaffMember {
            account_id: AccountId::from_row(r.text(0)?),
            display_name: r.text(1)?,
            role: StaffRole::from_db(&r.text(2)?)
                .ok_or_else(|| AppError::Internal("unknown role".into()))?,
            added_at: rfc3339(r.int(3)?),
        })
    })
    .collect()
}

/// The merchant's latest 200 invitations, newest first.
pub(in crate::platform) fn invitations(c: &mut dyn Conn, id: &str) -> AppResult<Vec<Invitation>> {
    c.query(
        &format!("SELECT {INVITE_COLS} FROM invitations WHERE merchant_id = $1 ORDER BY created_at DESC, id DESC LIMIT 200"),
        args![id],
    )?
    .iter()
    .map(|r| invitation_from_row(r, None))
    .collect()
}

/// The merchant's invitation, if it is theirs.
pub(in crate::platform) fn merchant_invitation(
    c: &mut dyn Conn,
    iid: &str,
    mid: &str,
) -> AppResult<Option<Invitation>> {
    c.query_opt(
        &format!("SELECT {INVITE_COLS} FROM invitations WHERE id = $1 AND merchant_id = $2"),
        args![iid, mid],
    )?
    .map(|r| invitation_from_row(&r, None))
    .transpose()
}

/// Withdraws an unused invitation; false when it was used or withdrawn already.
pub(in crate::platform) fn revoke_unused_invitation(
    c: &mut dyn Conn,
    iid: &str,
    now: i64,
) -> AppResult<bool> {
    let n = c.execute(
        "UPDATE invitations SET revoked_at = $1 WHERE id = $2 AND accepted_at IS NULL AND revoked_at IS NULL",
        args![now, iid],
    )?;
    Ok(n != 0)
}

/// The invitation a code's hash names, locked, with its raw expiry time.
pub(in crate::platform) fn lock_invitation_by_code(
    c: &mut dyn Conn,
    hash: &str,
) -> AppResult<Option<(Invitation, i64)>> {
    c.query_opt(
        &format!(
            "SELECT {INVITE_COLS} FROM invitations WHERE token_hash = $1{}",
            c.for_update()
        ),
        args![hash],
    )?
    .map(|r| {
        Ok((
            invitation_from_row(&r, None)?,
            r.int(InvitationCols::expires_at)?,
        ))
    })
    .transpose()
}

/// Adds the invited manager (added by the invitation's author); the raw result, for the
/// caller's "already staff" answer.
pub(in crate::platform) fn insert_invited_manager(
    c: &mut dyn Conn,
    merchant_id: &str,
    account_id: &str,
    now: i64,
    invitation_id: &str,
) -> Result<u64, StoreError> {
    c.execute(
        "INSERT INTO merchant_staff (merchant_id, account_id, role, added_at, added_by)
         SELECT $1, $2, 'manager', $3, created_by FROM invitations WHERE id = $4",
        args![merchant_id, account_id, now, invitation_id],
    )
}

/// Adds the invited clerk; the raw result, for the caller's "already a clerk" answer.
pub(in crate::platform) fn insert_invited_clerk(
    c: &mut dyn Conn,
    store_id: &str,
    merchant_id: &str,
    account_id: &str,
    now: i64,
) -> Result<u64, StoreError> {
    c.execute(
        "INSERT INTO store_clerks (store_id, merchant_id, account_id, added_at) VALUES ($1, $2, $3, $4)",
        args![store_id, merchant_id, account_id, now],
    )
}

pub(in crate::platform) fn mark_invitation_accepted(
    c: &mut dyn Conn,
    invitation_id: &str,
    account_id: &str,
    now: i64,
) -> AppResult<()> {
    c.execute(
        "UPDATE invitations SET accepted_by = $1, accepted_at = $2 WHERE id = $3",
        args![account_id, now, invitation_id],
    )?;
    Ok(())
}

/// Removes a manager (never the owner); false when the account is not one.
pub(in crate::platform) fn delete_manager(
    c: &mut dyn Conn,
    mid: &str,
    aid: &str,
) -> AppResult<bool> {
    let n = c.execute(
        "DELETE FROM merchant_staff WHERE merchant_id = $1 AND account_id = $2 AND role = 'manager'",
        args![mid, aid],
    )?;
    Ok(n != 0)
}

/// The merchant's commerce settings, or 404.
pub(in crate::platform) fn load_settings(
    c: &mut dyn Conn,
    merchant_id: &str,
) -> AppResult<CommerceSettings> {
    let r = c
        .query_opt(
            "SELECT shipping_fee_fen, free_shipping_over_fen, unpaid_timeout_secs, auto_confirm_days, after_sale_days FROM merchants WHERE id = $1",
            args![merchant_id],
        )?
        .ok_or(AppError::NotFound("merchant"))?;
    Ok(CommerceSettings {
        shipping_fee_fen: r.int(0)?,
        free_shipping_over_fen: r.opt_int(1)?,
        unpaid_timeout_secs: r.int(2)?,
        auto_confirm_days: r.int(3)?,
        after_sale_days: r.int(4)?,
    })
}

pub(in crate::platform) fn set_settings(
    c: &mut dyn Conn,
    mid: &str,
    settings: &CommerceSettings,
    now: i64,
) -> AppResult<()> {
    c.execute(
        "UPDATE merchants SET shipping_fee_fen = $1, free_shipping_over_fen = $2, unpaid_timeout_secs = $3,
         auto_confirm_days = $4, after_sale_days = $5, updated_at = $6 WHERE id = $7",
        args![settings.shipping_fee_fen, settings.free_shipping_over_fen, settings.unpaid_timeout_secs,
              settings.auto_confirm_days, settings.after_sale_days, now, mid],
    )?;
    Ok(())
}
