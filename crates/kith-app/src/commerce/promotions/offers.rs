//! Ways to get a coupon besides claiming it in the shop: the merchant **issues** a template
//! to chosen members or to a tier, a distributor's **share link** offers the friend who
//! arrives through it the coupon the merchant chose (the share coupon), and the merchant's
//! **new-member coupon** is claimed in the shop only by members who have never ordered
//! there (the claim itself is [`App::claim_coupon`]'s).
//!
//! Both go through [`super::grant`], so the template's remaining count and the per-member
//! limit hold exactly as for a claim. An issue is all or nothing: one refused member (at
//! the limit) or too few coupons left refuses the whole issue with a 409 naming the rule,
//! and nothing is written. Claiming the share coupon follows the link first
//! ([`App::visit_share_link`]: the visit is recorded and the friend bound to the sharer as
//! any visit binds), so the discount and the commission reward the same share.
//!
//! Writes: `promotion_settings`, and coupons through `grant`.

use crate::platform::ids::{AccountId, CouponId, CouponTemplateId, MerchantId};
use kith_store::Conn;
use serde::{Deserialize, Serialize};

pub(crate) use super::store::slot_template_id;
use super::{Coupon, CouponTemplate, grant, store};
use crate::platform::auth::{StaffNeed, merchant_status, require_staff, require_trading_staff};
use crate::platform::ids::parse_id;
use crate::{App, AppError, AppResult, Principal, platform::outbox};

/// Most members one issue reaches.
pub const MAX_ISSUE: usize = 1_000;

/// Whom to issue a template to: named members, or every member of a tier (one of them).
#[derive(Debug, Clone, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct IssueInput {
    /// Account ids, 1–1,000, each once.
    #[schema(min_items = 1, max_items = 1000)]
    pub account_ids: Option<Vec<String>>,
    /// A tier code of this merchant: everyone in it.
    pub tier_code: Option<String>,
}

/// One coupon an issue gave.
#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct Issued {
    pub account_id: AccountId,
    pub coupon_id: CouponId,
}

/// The template a merchant chose for a [`Slot`] (its share links offer it, or only new
/// members may claim it); none: no such coupon.
#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct ChosenCoupon {
    pub merchant_id: MerchantId,
    pub template: Option<CouponTemplate>,
}

#[derive(Debug, Clone, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ChosenCouponInput {
    /// One of the merchant's active templates; null: stop offering one.
    pub template_id: Option<String>,
}

/// The members an issue names, checked: each a member of the shop, each once.
fn recipients(c: &mut dyn Conn, merchant_id: &str, input: &IssueInput) -> AppResult<Vec<String>> {
    let ids = match (&input.account_ids, &input.tier_code) {
        (Some(ids), None) => {
            if ids.is_empty() || ids.len() > MAX_ISSUE {
                return Err(AppError::invalid(
                    "account_ids",
                    format!("name 1–{MAX_ISSUE} members"),
                ));
            }
            for (i, id) in ids.iter().enumerate() {
                if ids[..i].contains(id) {
                    return Err(AppError::invalid(
                        format!("account_ids[{i}]"),
                        "is named twice",
                    ));
                }
                // Only the shop's own members (as its members table and the picker list
                // them): a shop cannot send coupons to strangers, nor learn by trying
                // whether an id is an account.
                let found = parse_id(id).is_some()
                    && crate::commerce::store::browse::is_shop_member(c, merchant_id, id)?;
                if !found {
                    return Err(AppError::invalid(
                        format!("account_ids[{i}]"),
                        "no such member",
                    ));
                }
            }
            ids.clone()
        }
        (None, Some(code)) => {
            let tier = store::tier_id(c, merchant_id, code)?
                .ok_or_else(|| AppError::invalid("tier_code", "no such tier in this shop"))?;
            let ids: Vec<String> = store::tier_members(c, merchant_id, &tier)?;
            if ids.is_empty() {
                return Err(AppError::invalid("tier_code", "nobody is in this tier"));
            }
            if ids.len() > MAX_ISSUE {
                return Err(AppError::invalid(
                    "tier_code",
                    format!("the tier has more than {MAX_ISSUE} members: issue by account_ids"),
                ));
            }
            ids
        }
        _ => {
            return Err(AppError::invalid(
                "account_ids",
                "give either account_ids or tier_code",
            ));
        }
    };
    Ok(ids)
}

/// A coupon the merchant chooses for a purpose: the one its share links offer, or the one
/// only members new to the shop may claim. Each is a column of `promotion_settings`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Slot {
    Share,
    NewMember,
}

impl Slot {
    pub(super) fn column(self) -> &'static str {
        match self {
            Self::Share => "share_template_id",
            Self::NewMember => "new_member_template_id",
        }
    }

    fn event(self) -> &'static str {
        match self {
            Self::Share => "share_coupon.set",
            Self::NewMember => "new_member_coupon.set",
        }
    }
}

/// The share coupon template of `merchant_id` if it is offered now.
fn offered_share_template(
    c: &mut dyn Conn,
    now_ms: i64,
    merchant_id: &str,
) -> AppResult<Option<CouponTemplate>> {
    let Some(tid) = slot_template_id(c, merchant_id, Slot::Share)? else {
        return Ok(None);
    };
    let t = store::load_template(c, merchant_id, &tid)?;
    let lapsed = t
        .valid_until
        .as_deref()
        .map(|u| crate::platform::times::parse_time("valid_until", u))
        .transpose()?
        .is_some_and(|u| u <= now_ms);
    Ok((t.status.is_active() && t.remaining > 0 && !lapsed).then_some(t))
}

impl App {
    /// Staff: issues one coupon of template `tid` to each named member or each member of a
    /// tier (source `issued`), all or nothing.
    pub async fn issue_coupons(
        &self,
        who: &Principal,
        merchant_id: &MerchantId,
        template_id: &CouponTemplateId,
        input: IssueInput,
    ) -> AppResult<Vec<Issued>> {
        let now = self.now_ms();
        let (who, mid, tid) = (who.clone(), merchant_id.to_owned(), template_id.to_owned());
        self.db
            .write(move |c| {
                require_trading_staff(c, &who, &mid, StaffNeed::AnyStaff)?;
                store::load_template(c, &mid, &tid)?;
                let members = recipients(c, &mid, &input)?;
                members
                    .into_iter()
                    .map(|account_id| {
                        let coupon_id = grant(c, now, &mid, &tid, &account_id, "issued").map_err(
                            |e| match e {
                                AppError::Conflict { field, reason } => AppError::Conflict {
                                    field,
                                    reason: format!(
                                        "{reason} (member {account_id}); nothing was issued"
                                    ),
                                },
                                other => other,
                            },
                        )?;
                        Ok(Issued {
                            account_id: AccountId::from_row(account_id),
                            coupon_id: CouponId::from_row(coupon_id),
                        })
                    })
                    .collect()
            })
            .await
    }

    /// The template of `merchant_id` that only new members may claim, if any (public: the
    /// 领券中心 marks it).
    pub async fn new_member_template_id(
        &self,
        merchant_id: &MerchantId,
    ) -> AppResult<Option<String>> {
        let mid = merchant_id.to_owned();
        self.db
            .read(move |c| slot_template_id(c, &mid, Slot::NewMember))
            .await
    }

    /// Staff: the coupon chosen for `slot` (the share coupon, the new-member coupon).
    pub async fn chosen_coupon(
        &self,
        who: &Principal,
        merchant_id: &MerchantId,
        slot: Slot,
    ) -> AppResult<ChosenCoupon> {
        let (who, mid) = (who.clone(), merchant_id.to_owned());
        self.db
            .read(move |c| {
                require_staff(c, &who, &mid, StaffNeed::AnyStaff)?;
                let template = slot_template_id(c, &mid, slot)?
                    .map(|tid| store::load_template(c, &mid, &tid))
                    .transpose()?;
                Ok(ChosenCoupon {
                    merchant_id: mid.clone(),
                    template,
                })
            })
            .await
    }

    /// Staff: chooses the coupon for `slot` — an active template of this merchant — or none.
    pub async fn choose_coupon(
        &self,
        who: &Principal,
        merchant_id: &MerchantId,
        slot: Slot,
        input: ChosenCouponInput,
    ) -> AppResult<ChosenCoupon> {
        let now = self.now_ms();
        let (who, mid) = (who.clone(), merchant_id.to_owned());
        self.db
            .write(move |c| {
                require_trading_staff(c, &who, &mid, StaffNeed::AnyStaff)?;
                let template = match &input.template_id {
                    Some(tid) => {
                        let t = if parse_id(tid).is_some() {
                            store::load_template(c, &mid, tid).ok()
                        } else {
                            None
                        }
                        .ok_or_else(|| {
                            AppError::invalid("template_id", "no such coupon in this shop")
                        })?;
                        if !t.status.is_active() {
                            return Err(AppError::conflict(
                                "coupon_template_not_active",
                                "only an active coupon can be chosen",
                            ));
                        }
                        Some(t)
                    }
                    None => None,
                };
                let tid = template.as_ref().map(|t| t.id.clone());
                store::set_slot_template(c, now, &mid, slot, tid.as_deref())?;
                outbox::emit(
                    c,
                    now,
                    slot.event(),
                    Some(&mid),
                    &mid,
                    &serde_json::json!({ "merchant_id": mid, "template_id": tid }),
                )?;
                Ok(ChosenCoupon {
                    merchant_id: mid.clone(),
                    template,
                })
            })
            .await
    }

    /// The coupons a share link offers whoever arrives through it: the share coupon of
    /// each of the link's merchants that offers one now (public; records nothing).
    pub async fn share_link_coupons(&self, code: &str) -> AppResult<Vec<CouponTemplate>> {
        let link = self.share_link_by_code(code).await?;
        let now = self.now_ms();
        self.db
            .read(move |c| {
                let mut out = Vec::new();
                for m in &link.merchants {
                    if merchant_status(c, &m.merchant_id)?.ensure_trading().is_ok()
                        && let Some(t) = offered_share_template(c, now, &m.merchant_id)?
                    {
                        out.push(t);
                    }
                }
                Ok(out)
            })
            .await
    }

    /// A friend claims the share coupon `template_id` through the link `code`: the link is
    /// followed (visit recorded, the friend bound to the sharer as any visit binds), then one
    /// coupon is granted (source `share`) under the template's count and per-member limit.
    /// A template that is not the share coupon of one of the link's merchants is a 404; the
    /// sharer claiming through their own link is a 409 (`coupon_own_share`).
    pub async fn claim_share_coupon(
        &self,
        who: &Principal,
        code: &str,
        template_id: &str,
    ) -> AppResult<Coupon> {
        let link = self.share_link_by_code(code).await?;
        if link.sharer_id == who.account_id {
            return Err(AppError::conflict(
                "coupon_own_share",
                "the share coupon is for the friends who arrive through your link",
            ));
        }
        let now = self.now_ms();
        let tid = template_id.to_owned();
        let merchant = {
            let (link, tid) = (link.clone(), tid.clone());
            self.db
                .read(move |c| {
                    for m in &link.merchants {
                        if let Some(t) = offered_share_template(c, now, &m.merchant_id)?
                            && t.id == tid
                        {
                            return Ok(m.merchant_id.clone());
                        }
                    }
                    Err(AppError::NotFound("share coupon"))
                })
                .await?
        };
        self.visit_share_link(Some(who), code).await?;
        let me = who.account_id.clone();
        self.db
            .write(move |c| {
                if merchant_status(c, &merchant)?.ensure_trading().is_err() {
                    return Err(AppError::NotFound("merchant"));
                }
                let id = grant(c, now, &merchant, &tid, &me, "share")?;
                store::coupon_of(c, &me, &id, now)
            })
            .await
    }
}
