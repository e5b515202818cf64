//! Merchants: the application a member files, the platform admin's decision, the
//! merchant's profile and staff, and invitations (managers, and clerks of one store).

use kith_domain::{BoundedText, MerchantStatus, Phone, StaffRole};
use kith_store::Conn;
use serde::Serialize;

use super::store::merchants::{self as rows, load_merchant, load_settings};
use crate::platform::auth::{StaffNeed, merchant_status, require_staff, require_trading_staff};
use crate::platform::error::UniqueAs;
use crate::platform::ids::{
    AccountId, InvitationId, MerchantId, StoreId, new_id, new_secret, sha256_hex,
};
use crate::platform::page::{Page, PageRequest};
use crate::platform::pictures::{MediaRef, set_merchant_pictures};
use crate::{App, AppError, AppResult, Principal, platform::outbox};

#[derive(Debug, Clone, Default)]
pub struct MerchantInput {
    pub name: Option<String>,
    pub description: Option<String>,
    pub contact_phone: Option<String>,
    /// An image someone on the shop's staff uploaded; `""` removes the logo.
    pub logo_media_id: Option<String>,
    /// An image someone on the shop's staff uploaded; `""` removes the banner.
    pub banner_media_id: Option<String>,
}

#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct Merchant {
    pub id: MerchantId,
    pub name: String,
    pub description: String,
    pub contact_phone: Option<String>,
    pub status: MerchantStatus,
    pub owner_account_id: AccountId,
    pub applied_at: String,
    pub decided_at: Option<String>,
    pub decision_reason: Option<String>,
    /// The shop's logo (square is best), if it has one.
    pub logo: Option<MediaRef>,
    /// The wide picture across the top of the shop's page, if it has one.
    pub banner: Option<MediaRef>,
}

#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct StaffMember {
    pub account_id: AccountId,
    pub display_name: String,
    pub role: StaffRole,
    pub added_at: String,
}

/// An invitation to join a merchant as a manager, or one of its stores as a clerk. The
/// `code` is present only in the response that created it.
#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct Invitation {
    pub id: InvitationId,
    pub merchant_id: MerchantId,
    pub role: String,
    pub store_id: Option<StoreId>,
    pub code: Option<String>,
    pub created_at: String,
    pub expires_at: String,
    pub accepted_by: Option<AccountId>,
    pub accepted_at: Option<String>,
    pub revoked: bool,
}

/// Writes an invitation and returns it with its one-time code. Shared by manager and
/// clerk invitations; callers check who may invite.
pub(crate) fn insert_invitation(
    c: &mut dyn Conn,
    now: i64,
    ttl_secs: i64,
    merchant_id: &str,
    role: &str,
    store_id: Option<&str>,
    who: &Principal,
) -> AppResult<Invitation> {
    let id = new_id();
    let code = new_secret("kith_i_");
    rows::insert_invitation_row(
        c,
        &id,
        &sha256_hex(&code),
        merchant_id,
        role,
        store_id,
        &who.account_id,
        now,
        now + ttl_secs * 1000,
    )?;
    outbox::emit(
        c,
        now,
        "invitation.created",
        Some(merchant_id),
        &id,
        &serde_json::json!({
            "invitation_id": id, "role": role, "store_id": store_id,
        }),
    )?;
    rows::invitation(c, &id, Some(code))
}

fn parse_contact(phone: Option<&str>) -> AppResult<Option<String>> {
    Ok(phone
        .filter(|s| !s.trim().is_empty())
        .map(|p| Phone::parse(p).map_err(|e| e.for_field("contact_phone")))
        .transpose()?
        .map(|p| p.as_str().to_owned()))
}

impl App {
    /// A member applies to open a merchant. They become its owner at once (so they can see
    /// the application), but it trades only once a platform admin approves it.
    pub async fn apply_merchant(
        &self,
        who: &Principal,
        input: MerchantInput,
    ) -> AppResult<Merchant> {
        let name = BoundedText::parse("name", input.name.as_deref().unwrap_or(""), 2, 64)?;
        let description = BoundedText::parse_multiline(
            "description",
            input.description.as_deref().unwrap_or(""),
            0,
            2000,
        )?;
        let contact = parse_contact(input.contact_phone.as_deref())?;
        let now = self.now_ms();
        let who = who.clone();
        self.db
            .write(move |c| {
                let id = new_id();
                rows::insert_merchant(
                    c,
                    &id,
                    name.as_str(),
                    description.as_str(),
                    contact.as_deref(),
                    &who.account_id,
                    now,
                )
                .map_err(|e| {
                    if e.is_unique_on("merchants", &["name"]) {
                        AppError::conflict("name", "is already used by another merchant")
                    } else if e.is_unique_on("merchants", &["owner_account_id"]) {
                        AppError::state("you already have an application waiting for review")
                    } else {
                        e.into()
                    }
                })?;
                rows::insert_owner(c, &id, &who.account_id, now)?;
                set_merchant_pictures(
                    c,
                    &id,
                    input.logo_media_id.as_deref(),
                    input.banner_media_id.as_deref(),
                    now,
                )?;
                outbox::emit(
                    c,
                    now,
                    "merchant.applied",
                    Some(&id),
                    &id,
                    &serde_json::json!({ "merchant_id": id, "name": name.as_str() }),
                )?;
                load_merchant(c, &id)
            })
            .await
    }

    /// Platform admins: applications (or all merchants) by status, oldest first.
    pub async fn list_merchants(
        &self,
        who: &Principal,
        status: Option<MerchantStatus>,
        page: PageRequest,
    ) -> AppResult<Page<Merchant>> {
        who.require_platform_admin()?;
        let status = status.map_or("", MerchantStatus::as_str);
        let p = page.clone();
        let rows = self
            .db
            .read(move |c| rows::merchants_page(c, status, &p))
            .await?;
        Ok(Page::from_keyed(rows, page.limit, |m| m.id.as_str()))
    }

    /// A platform admin approves (`reason` optional) or rejects (`reason` required) a
    /// pending application.
    pub async fn decide_merchant(
        &self,
        who: &Principal,
        merchant_id: &MerchantId,
        approve: bool,
        reason: Option<String>,
    ) -> AppResult<Merchant> {
        who.require_platform_admin()?;
        let reason = match (
            approve,
            reason.as_deref().map(str::trim).filter(|s| !s.is_empty()),
        ) {
            (false, None) => return Err(AppError::invalid("reason", "is required when rejecting")),
            (_, Some(r)) => Some(BoundedText::parse("reason", r, 1, 500)?.into_string()),
            (true, None) => None,
        };
        let now = self.now_ms();
        let (who, id) = (who.clone(), merchant_id.to_owned());
        self.db
            .write(move |c| {
                let current = merchant_status(c, &id)?;
                let next = if approve { current.approve()? } else { current.reject()? };
                // The status in the WHERE clause makes two concurrent decisions safe: the
                // second changes nothing and is refused.
                if !rows::decide_pending(c, &id, next, now, &who.account_id, reason.as_deref())? {
                    return Err(AppError::state("the application was decided meanwhile"));
                }
                let topic = if approve { "merchant.approved" } else { "merchant.rejected" };
                let m = load_merchant(c, &id)?;
                outbox::emit(c, now, topic, Some(&id), &id, &serde_json::json!({
                    "merchant_id": id, "reason": reason, "owner_account_id": m.owner_account_id, "name": m.name,
                }))?;
                Ok(m)
            })
            .await
    }

    /// A merchant's profile. Approved merchants are public; a pending or rejected one is
    /// visible only to its staff and platform admins (404 to everyone else).
    pub async fn get_merchant(
        &self,
        who: Option<&Principal>,
        merchant_id: &MerchantId,
    ) -> AppResult<Merchant> {
        let (who, id) = (who.cloned(), merchant_id.to_owned());
        self.db
            .read(move |c| {
                let m = load_merchant(c, &id)?;
                if m.status == MerchantStatus::Approved {
                    return Ok(m);
                }
                match &who {
                    Some(p) if p.is_platform_admin => Ok(m),
                    Some(p) if require_staff(c, p, &id, StaffNeed::AnyStaff).is_ok() => Ok(m),
                    _ => Err(AppError::NotFound("merchant")),
                }
            })
            .await
    }

    /// Staff update the profile. Fields left out are unchanged.
    pub async fn update_merchant(
        &self,
        who: &Principal,
        merchant_id: &MerchantId,
        input: MerchantInput,
    ) -> AppResult<Merchant> {
        let name = input
            .name
            .as_deref()
            .map(|n| BoundedText::parse("name", n, 2, 64))
            .transpose()?;
        let description = input
            .description
            .as_deref()
            .map(|d| BoundedText::parse_multiline("description", d, 0, 2000))
            .transpose()?;
        let contact = input
            .contact_phone
            .as_deref()
            .map(|p| parse_contact(Some(p)))
            .transpose()?;
        let now = self.now_ms();
        let (who, id) = (who.clone(), merchant_id.to_owned());
        self.db
            .write(move |c| {
                require_staff(c, &who, &id, StaffNeed::AnyStaff)?;
                let cur = load_merchant(c, &id)?;
                let name = name.as_ref().map_or(cur.name.as_str(), |n| n.as_str());
                let desc = description
                    .as_ref()
                    .map_or(cur.description.as_str(), |d| d.as_str());
                let contact = contact.clone().unwrap_or(cur.contact_phone.clone());
                rows::update_profile(c, &id, name, desc, contact, now).unique_as(
                    "merchants",
                    &["name"],
                    "name",
                    "is already used by another merchant",
                )?;
                set_merchant_pictures(
                    c,
                    &id,
                    input.logo_media_id.as_deref(),
                    input.banner_media_id.as_deref(),
                    now,
                )?;
                outbox::emit(
                    c,
                    now,
                    "merchant.updated",
                    Some(&id),
                    &id,
                    &serde_json::json!({ "merchant_id": id }),
                )?;
                load_merchant(c, &id)
            })
            .await
    }

    pub async fn list_staff(
        &self,
        who: &Principal,
        merchant_id: &MerchantId,
    ) -> AppResult<Vec<StaffMember>> {
        let (who, id) = (who.clone(), merchant_id.to_owned());
        self.db
            .read(move |c| {
                require_staff(c, &who, &id, StaffNeed::AnyStaff)?;
                rows::staff(c, &id)
            })
            .await
    }

    /// The owner invites a manager: returns the one-time code to pass on.
    pub async fn invite_manager(
        &self,
        who: &Principal,
        merchant_id: &MerchantId,
    ) -> AppResult<Invitation> {
        let now = self.now_ms();
        let ttl = self.config.invitation_ttl_secs;
        let (who, id) = (who.clone(), merchant_id.to_owned());
        self.db
            .write(move |c| {
                require_trading_staff(c, &who, &id, StaffNeed::Owner)?;
                insert_invitation(c, now, ttl, &id, "manager", None, &who)
            })
            .await
    }

    /// Staff list the merchant's invitations (codes are never shown again).
    pub async fn list_invitations(
        &self,
        who: &Principal,
        merchant_id: &MerchantId,
    ) -> AppResult<Vec<Invitation>> {
        let (who, id) = (who.clone(), merchant_id.to_owned());
        self.db
            .read(move |c| {
                require_staff(c, &who, &id, StaffNeed::AnyStaff)?;
                rows::invitations(c, &id)
            })
            .await
    }

    /// Withdraws an unused invitation. Managers may withdraw clerk invitations; only the
    /// owner withdraws manager invitations.
    pub async fn revoke_invitation(
        &self,
        who: &Principal,
        merchant_id: &MerchantId,
        invitation_id: &InvitationId,
    ) -> AppResult<Invitation> {
        let now = self.now_ms();
        let (who, mid, iid) = (
            who.clone(),
            merchant_id.to_owned(),
            invitation_id.to_owned(),
        );
        self.db
            .write(move |c| {
                // Staff first: an outsider learns nothing about which invitations exist.
                require_staff(c, &who, &mid, StaffNeed::AnyStaff)?;
                let inv = rows::merchant_invitation(c, &iid, &mid)?
                    .ok_or(AppError::NotFound("invitation"))?;
                let need = if inv.role == "manager" {
                    StaffNeed::Owner
                } else {
                    StaffNeed::AnyStaff
                };
                require_staff(c, &who, &mid, need)?;
                if !rows::revoke_unused_invitation(c, &iid, now)? {
                    return Err(AppError::state(
                        "the invitation was already used or withdrawn",
                    ));
                }
                rows::invitation(c, &iid, None)
            })
            .await
    }

    /// The invited person, logged in, accepts with the code they were given. One use only;
    /// expired or withdrawn codes are refused, as is a clerk who already works at another
    /// store of the same merchant.
    pub async fn accept_invitation(&self, who: &Principal, code: &str) -> AppResult<Invitation> {
        if code.is_empty() || code.len() > 128 {
            return Err(AppError::invalid("code", "is not an invitation code"));
        }
        let hash = sha256_hex(code.trim());
        let now = self.now_ms();
        let who = who.clone();
        self.db
            .write(move |c| {
                let (inv, expires_at) = rows::lock_invitation_by_code(c, &hash)?.ok_or(AppError::NotFound("invitation"))?;
                if inv.revoked {
                    return Err(AppError::state("this invitation was withdrawn"));
                }
                if inv.accepted_at.is_some() {
                    return Err(AppError::state("this invitation was already used"));
                }
                if expires_at <= now {
                    return Err(AppError::state("this invitation has expired"));
                }
                merchant_status(c, &inv.merchant_id)?.ensure_trading()?;
                if inv.role == "manager" {
                    rows::insert_invited_manager(c, &inv.merchant_id, &who.account_id, now, &inv.id)
                    .unique_as("merchant_staff", &["merchant_id", "account_id"], "code", "you are already staff of this merchant")?;
                } else {
                    let store = inv.store_id.clone().ok_or_else(|| AppError::Internal("clerk invitation without store".into()))?;
                    rows::insert_invited_clerk(c, &store, &inv.merchant_id, &who.account_id, now)
                    .map_err(|e| {
                        if e.is_unique_on("store_clerks", &["store_id", "account_id"]) || e.is_unique_on("store_clerks", &["merchant_id", "account_id"]) {
                            AppError::conflict("code", "you are already a clerk of a store of this merchant")
                        } else {
                            e.into()
                        }
                    })?;
                }
                rows::mark_invitation_accepted(c, &inv.id, &who.account_id, now)?;
                outbox::emit(c, now, "invitation.accepted", Some(&inv.merchant_id), &inv.id, &serde_json::json!({
                    "invitation_id": inv.id, "role": inv.role, "store_id": inv.store_id, "account_id": who.account_id,
                }))?;
                rows::invitation(c, &inv.id, None)
            })
            .await
    }

    /// The owner removes a manager. The owner cannot be removed.
    pub async fn remove_staff(
        &self,
        who: &Principal,
        merchant_id: &MerchantId,
        account_id: &AccountId,
    ) -> AppResult<()> {
        let now = self.now_ms();
        let (who, mid, aid) = (who.clone(), merchant_id.to_owned(), account_id.to_owned());
        self.db
            .write(move |c| {
                require_staff(c, &who, &mid, StaffNeed::Owner)?;
                if !rows::delete_manager(c, &mid, &aid)? {
                    return Err(AppError::NotFound("manager"));
                }
                outbox::emit(
                    c,
                    now,
                    "staff.removed",
                    Some(&mid),
                    &aid,
                    &serde_json::json!({ "merchant_id": mid, "account_id": aid }),
                )?;
                Ok(())
            })
            .await
    }
}

/// A merchant's commerce settings: shipping fee rule and the clocks of its orders.
#[derive(Debug, Clone, Serialize, serde::Deserialize, utoipa::ToSchema, PartialEq, Eq)]
#[serde(deny_unknown_fields)]
pub struct CommerceSettings {
    /// Flat shipping fee per order, in fen.
    #[schema(minimum = 0)]
    pub shipping_fee_fen: i64,
    /// Orders whose goods total reaches this ship free; null: never free.
    #[schema(minimum = 0)]
    pub free_shipping_over_fen: Option<i64>,
    /// Unpaid orders are cancelled after this many seconds (60–86400; default 1800).
    #[schema(minimum = 60, maximum = 86400)]
    pub unpaid_timeout_secs: i64,
    /// Receipt of a shipped order is confirmed automatically after this many days (1–60; default 10).
    #[schema(minimum = 1, maximum = 60)]
    pub auto_confirm_days: i64,
    /// The after-sale window after delivery or pickup, in days (0–60; default 7); the
    /// merchant's money for an order becomes available when it closes.
    #[schema(minimum = 0, maximum = 60)]
    pub after_sale_days: i64,
}

impl CommerceSettings {
    fn validate(&self) -> AppResult<()> {
        let range = |field: &str, v: i64, lo: i64, hi: i64| {
            if (lo..=hi).contains(&v) {
                Ok(())
            } else {
                Err(AppError::invalid(
                    field,
                    format!("must be between {lo} and {hi}"),
                ))
            }
        };
        range("shipping_fee_fen", self.shipping_fee_fen, 0, 1_000_000)?;
        if let Some(v) = self.free_shipping_over_fen {
            range("free_shipping_over_fen", v, 0, 100_000_000)?;
        }
        range("unpaid_timeout_secs", self.unpaid_timeout_secs, 60, 86_400)?;
        range("auto_confirm_days", self.auto_confirm_days, 1, 60)?;
        range("after_sale_days", self.after_sale_days, 0, 60)
    }
}

impl App {
    /// The shop's shipping rule (flat fee, free from a goods amount): public, so a cart can
    /// show the freight before checkout.
    pub async fn shipping_rule(
        &self,
        merchant_id: &MerchantId,
    ) -> AppResult<kith_domain::pricing::ShippingRule> {
        let mid = merchant_id.to_owned();
        self.db
            .read(move |c| {
                let s = load_settings(c, &mid)?;
                Ok(kith_domain::pricing::ShippingRule {
                    flat_fee: kith_domain::Fen::new(s.shipping_fee_fen),
                    free_over: s.free_shipping_over_fen.map(kith_domain::Fen::new),
                })
            })
            .await
    }

    /// Staff read the commerce settings.
    pub async fn commerce_settings(
        &self,
        who: &Principal,
        merchant_id: &MerchantId,
    ) -> AppResult<CommerceSettings> {
        let (who, mid) = (who.clone(), merchant_id.to_owned());
        self.db
            .read(move |c| {
                require_staff(c, &who, &mid, StaffNeed::AnyStaff)?;
                load_settings(c, &mid)
            })
            .await
    }

    /// Staff replace the commerce settings. New values apply to orders placed from now on;
    /// an order keeps the deadlines it was given.
    pub async fn set_commerce_settings(
        &self,
        who: &Principal,
        merchant_id: &MerchantId,
        settings: CommerceSettings,
    ) -> AppResult<CommerceSettings> {
        settings.validate()?;
        let now = self.now_ms();
        let (who, mid) = (who.clone(), merchant_id.to_owned());
        self.db
            .write(move |c| {
                require_trading_staff(c, &who, &mid, StaffNeed::AnyStaff)?;
                rows::set_settings(c, &mid, &settings, now)?;
                outbox::emit(
                    c,
                    now,
                    "merchant.settings_changed",
                    Some(&mid),
                    &mid,
                    &settings,
                )?;
                load_settings(c, &mid)
            })
            .await
    }
}
