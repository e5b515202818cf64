//! Who is asking, and the checks that tie a request to a resource. Every use case that
//! touches a merchant's data calls one of these inside its transaction, so authorisation
//! is decided on the resource, not on the route.

use kith_domain::{MerchantStatus, StaffRole};
use kith_store::Conn;

use super::store;

use crate::{AppError, AppResult};

/// The authenticated caller, as resolved from a session token.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Principal {
    pub account_id: String,
    pub is_platform_admin: bool,
}

impl Principal {
    /// The caller's account id, typed (a session only ever names an account we stored),
    /// for use cases that take the member an operation is about.
    pub fn id(&self) -> crate::platform::ids::AccountId {
        crate::platform::ids::AccountId::from_row(self.account_id.clone())
    }

    pub fn require_platform_admin(&self) -> AppResult<()> {
        if self.is_platform_admin {
            Ok(())
        } else {
            Err(AppError::Forbidden("platform admins only".into()))
        }
    }
}

/// Which staff may do something at a merchant.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum StaffNeed {
    /// The owner or a manager.
    AnyStaff,
    /// Only the owner (inviting and removing managers).
    Owner,
}

/// The merchant's status, or 404 if there is no such merchant.
pub fn merchant_status(c: &mut dyn Conn, merchant_id: &str) -> AppResult<MerchantStatus> {
    let word =
        store::merchant_status_word(c, merchant_id)?.ok_or(AppError::NotFound("merchant"))?;
    merchant_status_of(&word)
}

/// A merchant's status from its stored word (for a read that selects it beside others).
pub(crate) fn merchant_status_of(word: &str) -> AppResult<MerchantStatus> {
    MerchantStatus::from_db(word)
        .ok_or_else(|| AppError::Internal("unknown merchant status in storage".into()))
}

/// The caller's staff role at `merchant_id`, if they have the one `need` asks for.
/// 404 when the merchant does not exist, 403 when the caller is not (enough) staff.
/// Platform admins are not staff: they approve merchants, they do not run them.
pub fn require_staff(
    c: &mut dyn Conn,
    who: &Principal,
    merchant_id: &str,
    need: StaffNeed,
) -> AppResult<StaffRole> {
    merchant_status(c, merchant_id)?;
    let role = store::staff_role_word(c, merchant_id, &who.account_id)?
        .and_then(|r| StaffRole::from_db(&r));
    match (role, need) {
        (Some(StaffRole::Owner), _) => Ok(StaffRole::Owner),
        (Some(StaffRole::Manager), StaffNeed::AnyStaff) => Ok(StaffRole::Manager),
        (Some(StaffRole::Manager), StaffNeed::Owner) => Err(AppError::Forbidden(
            "only the merchant's owner may do this".into(),
        )),
        (None, _) => Err(AppError::Forbidden(
            "you are not staff of this merchant".into(),
        )),
    }
}

/// Like [`require_staff`], and the merchant must be approved (trading).
pub fn require_trading_staff(
    c: &mut dyn Conn,
    who: &Principal,
    merchant_id: &str,
    need: StaffNeed,
) -> AppResult<StaffRole> {
    let role = require_staff(c, who, merchant_id, need)?;
    merchant_status(c, merchant_id)?.ensure_trading()?;
    Ok(role)
}

/// The store a clerk works at for `merchant_id`, or 403.
pub fn require_clerk_of(c: &mut dyn Conn, who: &Principal, store_id: &str) -> AppResult<()> {
    let ok = store::is_clerk_of(c, store_id, &who.account_id)?;
    if ok {
        Ok(())
    } else {
        Err(AppError::Forbidden(
            "you are not a clerk of this store".into(),
        ))
    }
}
