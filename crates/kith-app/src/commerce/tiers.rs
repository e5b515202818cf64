//! Membership tiers (会员, 股东, or a merchant's own): ordered per merchant by `rank`, and
//! the tier each member holds at that merchant. Prices per tier come with the catalog.

use kith_domain::{BoundedText, TierCode};
use kith_store::Conn;
use serde::Serialize;

use super::store::tiers as store;
use crate::platform::auth::{StaffNeed, merchant_status, require_staff, require_trading_staff};
use crate::platform::ids::{AccountId, MerchantId, TierId, new_id};
use crate::platform::page::{Direction, Page, PageRequest};
use crate::{App, AppError, AppResult, Principal, platform::outbox};

#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct Tier {
    pub id: TierId,
    pub merchant_id: MerchantId,
    pub code: String,
    pub name: String,
    /// Higher ranks are better tiers; unique within a merchant.
    pub rank: i64,
    pub created_at: String,
}

#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct MemberTier {
    pub account_id: AccountId,
    pub display_name: String,
    pub tier_code: String,
    pub tier_name: String,
    pub assigned_at: String,
}

/// Highest rank a tier may have; bounds the table and matches the schema's CHECK.
pub const MAX_RANK: i64 = 1000;
/// Most tiers one merchant may define.
pub const MAX_TIERS: i64 = 20;

fn parse_rank(rank: i64) -> AppResult<i64> {
    if (0..=MAX_RANK).contains(&rank) {
        Ok(rank)
    } else {
        Err(AppError::invalid(
            "rank",
            format!("must be between 0 and {MAX_RANK}"),
        ))
    }
}

fn map_tier_unique(e: kith_store::StoreError) -> AppError {
    if e.is_unique_on("tiers", &["merchant_id", "code"]) {
        AppError::conflict("code", "this merchant already has a tier with this code")
    } else if e.is_unique_on("tiers", &["merchant_id", "rank"]) {
        AppError::conflict("rank", "another tier of this merchant has this rank")
    } else {
        e.into()
    }
}

fn load_tier(c: &mut dyn Conn, merchant_id: &str, tier_id: &str) -> AppResult<Tier> {
    store::tier(c, merchant_id, tier_id)?.ok_or(AppError::NotFound("tier"))
}

impl App {
    pub async fn create_tier(
        &self,
        who: &Principal,
        merchant_id: &MerchantId,
        code: &str,
        name: &str,
        rank: i64,
    ) -> AppResult<Tier> {
        let code = TierCode::parse(code)?;
        let name = BoundedText::parse("name", name, 1, 32)?;
        let rank = parse_rank(rank)?;
        let now = self.now_ms();
        let (who, mid) = (who.clone(), merchant_id.to_owned());
        self.db
            .write(move |c| {
                require_trading_staff(c, &who, &mid, StaffNeed::AnyStaff)?;
                let count = store::count_tiers(c, &mid)?;
                if count >= MAX_TIERS {
                    return Err(AppError::state(format!(
                        "a merchant has at most {MAX_TIERS} tiers"
                    )));
                }
                let id = new_id();
                store::insert_tier(c, &id, &mid, code.as_str(), name.as_str(), rank, now)
                    .map_err(map_tier_unique)?;
                outbox::emit(
                    c,
                    now,
                    "tier.created",
                    Some(&mid),
                    &id,
                    &serde_json::json!({ "tier_id": id, "code": code.as_str() }),
                )?;
                load_tier(c, &mid, &id)
            })
            .await
    }

    /// A merchant's tiers, lowest rank first. Public for an approved merchant (price tables
    /// name them); otherwise only its staff see them.
    pub async fn list_tiers(
        &self,
        who: Option<&Principal>,
        merchant_id: &MerchantId,
    ) -> AppResult<Vec<Tier>> {
        let (who, mid) = (who.cloned(), merchant_id.to_owned());
        self.db
            .read(move |c| {
                let status = merchant_status(c, &mid)?;
                if status.ensure_trading().is_err() {
                    match &who {
                        Some(p) if require_staff(c, p, &mid, StaffNeed::AnyStaff).is_ok() => {}
                        _ => return Err(AppError::NotFound("merchant")),
                    }
                }
                store::merchant_tiers(c, &mid)
            })
            .await
    }

    /// Renames or re-ranks a tier. The code is permanent: prices and integrations refer to it.
    pub async fn update_tier(
        &self,
        who: &Principal,
        merchant_id: &MerchantId,
        tier_id: &TierId,
        name: Option<&str>,
        rank: Option<i64>,
    ) -> AppResult<Tier> {
        let name = name
            .map(|n| BoundedText::parse("name", n, 1, 32))
            .transpose()?;
        let rank = rank.map(parse_rank).transpose()?;
        let now = self.now_ms();
        let (who, mid, tid) = (who.clone(), merchant_id.to_owned(), tier_id.to_owned());
        self.db
            .write(move |c| {
                require_trading_staff(c, &who, &mid, StaffNeed::AnyStaff)?;
                let cur = load_tier(c, &mid, &tid)?;
                store::update_tier(
                    c,
                    &tid,
                    name.as_ref().map_or(cur.name.as_str(), |n| n.as_str()),
                    rank.unwrap_or(cur.rank),
                )
                .map_err(map_tier_unique)?;
                outbox::emit(
                    c,
                    now,
                    "tier.updated",
                    Some(&mid),
                    &tid,
                    &serde_json::json!({ "tier_id": tid }),
                )?;
                load_tier(c, &mid, &tid)
            })
            .await
    }

    /// Deletes a tier nobody holds, with its SKU prices; a tier with members is refused
    /// (move them first).
    pub async fn delete_tier(
        &self,
        who: &Principal,
        merchant_id: &MerchantId,
        tier_id: &TierId,
    ) -> AppResult<()> {
        let now = self.now_ms();
        let (who, mid, tid) = (who.clone(), merchant_id.to_owned(), tier_id.to_owned());
        self.db
            .write(move |c| {
                require_trading_staff(c, &who, &mid, StaffNeed::AnyStaff)?;
                load_tier(c, &mid, &tid)?;
                let held = store::count_holders(c, &tid)?;
                if held > 0 {
                    return Err(AppError::state(format!(
                        "{held} members hold this tier; move them first"
                    )));
                }
                // Its SKU prices mean nothing without it; they go with it, in this transaction.
                store::delete_tier(c, &tid)?;
                outbox::emit(
                    c,
                    now,
                    "tier.deleted",
                    Some(&mid),
                    &tid,
                    &serde_json::json!({ "tier_id": tid }),
                )?;
                Ok(())
            })
            .await
    }

    /// Puts a member in a tier at this merchant (`tier_code = None` takes them out, back to
    /// list prices).
    pub async fn assign_tier(
        &self,
        who: &Principal,
        merchant_id: &MerchantId,
        account_id: &AccountId,
        tier_code: Option<&str>,
    ) -> AppResult<Option<MemberTier>> {
        let code = tier_code
            .map(TierCode::parse)
            .transpose()
            .map_err(|e| e.for_field("tier_code"))?;
        let now = self.now_ms();
        let (who, mid, aid) = (who.clone(), merchant_id.to_owned(), account_id.to_owned());
        self.db
            .write(move |c| {
                require_trading_staff(c, &who, &mid, StaffNeed::AnyStaff)?;
                if !store::account_exists(c, &aid)? {
                    return Err(AppError::NotFound("account"));
                }
                store::clear_member_tier(c, &mid, &aid)?;
                let Some(code) = &code else {
                    outbox::emit(
                        c,
                        now,
                        "member.tier_removed",
                        Some(&mid),
                        &aid,
                        &serde_json::json!({ "account_id": aid }),
                    )?;
                    return Ok(None);
                };
                let tier = super::store::catalog::tier_id_by_code(c, &mid, code.as_str())?
                    .ok_or_else(|| {
                        AppError::invalid("tier_code", "this merchant has no tier with this code")
                    })?;
                store::insert_member_tier(c, &mid, &aid, &tier, now, &who.account_id)?;
                outbox::emit(
                    c,
                    now,
                    "member.tier_assigned",
                    Some(&mid),
                    &aid,
                    &serde_json::json!({ "account_id": aid, "tier_code": code.as_str() }),
                )?;
                let held = store::member_tier(c, &mid, &aid)?.ok_or_else(|| {
                    AppError::Internal("the tier just assigned is not there".into())
                })?;
                Ok(Some(held))
            })
            .await
    }

    /// Staff: members who hold a tier at this merchant, in order of assignment.
    pub async fn list_tier_members(
        &self,
        who: &Principal,
        merchant_id: &MerchantId,
        page: PageRequest,
    ) -> AppResult<Page<MemberTier>> {
        let (who, mid) = (who.clone(), merchant_id.to_owned());
        let after = page.keyset(Direction::OldestFirst, "m.assigned_at", "m.account_id", 2);
        let fetch = page.fetch();
        let rows = self
            .db
            .read(move |c| {
                require_staff(c, &who, &mid, StaffNeed::AnyStaff)?;
                store::member_tier_page(c, &mid, &after, fetch)
            })
            .await?;
        Ok(Page::from_keyed(rows, page.limit, |m| &m.account_id))
    }

    /// The caller's own tier at a merchant, if any.
    pub async fn my_tier(
        &self,
        who: &Principal,
        merchant_id: &MerchantId,
    ) -> AppResult<Option<MemberTier>> {
        let (w, aid, mid) = (who.clone(), who.account_id.clone(), merchant_id.to_owned());
        self.db
            .read(move |c| {
                // A merchant that is not trading is 404 to everyone but its staff and
                // platform admins, as everywhere else.
                if merchant_status(c, &mid)?.ensure_trading().is_err()
                    && !w.is_platform_admin
                    && require_staff(c, &w, &mid, StaffNeed::AnyStaff).is_err()
                {
                    return Err(AppError::NotFound("merchant"));
                }
                store::member_tier(c, &mid, &aid)
            })
            .await
    }
}
