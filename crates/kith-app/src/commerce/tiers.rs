//! Membership tiers (会员, 股东, or a merchant's own): ordered per merchant by `rank`, and
//! the tier each member holds at that merchant. Prices per tier come with the catalog.

use kith_domain::{BoundedText, TierCode};
use kith_store::{Conn, Row, args};
use serde::Serialize;

use crate::platform::auth::{StaffNeed, merchant_status, require_staff, require_trading_staff};
use crate::platform::ids::{AccountId, MerchantId, TierId, new_id};
use crate::platform::page::{Direction, Page, PageRequest};
use crate::{App, AppError, AppResult, Principal, platform::outbox, rfc3339};

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

kith_store::columns!(TierCols {
    id,
    merchant_id,
    code,
    name,
    rank,
    created_at,
});
const TIER_COLS: &str = TierCols::LIST;

fn tier_from_row(r: &Row) -> AppResult<Tier> {
    Ok(Tier {
        id: TierId::from_row(r.text(TierCols::id)?),
        merchant_id: MerchantId::from_row(r.text(TierCols::merchant_id)?),
        code: r.text(TierCols::code)?,
        name: r.text(TierCols::name)?,
        rank: r.int(TierCols::rank)?,
        created_at: rfc3339(r.int(TierCols::created_at)?),
    })
}

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
    let r = c
        .query_opt(
            &format!("SELECT {TIER_COLS} FROM tiers WHERE id = $1 AND merchant_id = $2"),
            args![tier_id, merchant_id],
        )?
        .ok_or(AppError::NotFound("tier"))?;
    tier_from_row(&r)
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
                let count = c.query_one("SELECT COUNT(*) FROM tiers WHERE merchant_id = $1", args![&mid])?.int(0)?;
                if count >= MAX_TIERS {
                    return Err(AppError::state(format!("a merchant has at most {MAX_TIERS} tiers")));
                }
                let id = new_id();
                c.execute(
                    "INSERT INTO tiers (id, merchant_id, code, name, rank, created_at) VALUES ($1, $2, $3, $4, $5, $6)",
                    args![&id, &mid, code.as_str(), name.as_str(), rank, now],
                )
                .map_err(map_tier_unique)?;
                outbox::emit(c, now, "tier.created", Some(&mid), &id, &serde_json::json!({ "tier_id": id, "code": code.as_str() }))?;
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
                c.query(
                    &format!("SELECT {TIER_COLS} FROM tiers WHERE merchant_id = $1 ORDER BY rank"),
                    args![&mid],
                )?
                .iter()
                .map(tier_from_row)
                .collect()
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
                c.execute(
                    "UPDATE tiers SET name = $1, rank = $2 WHERE id = $3",
                    args![
                        name.as_ref().map_or(cur.name.as_str(), |n| n.as_str()),
                        rank.unwrap_or(cur.rank),
                        &tid
                    ],
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
                let held = c
                    .query_one(
                        "SELECT COUNT(*) FROM member_tiers WHERE tier_id = $1",
                        args![&tid],
                    )?
                    .int(0)?;
                if held > 0 {
                    return Err(AppError::state(format!(
                        "{held} members hold this tier; move them first"
                    )));
                }
                // Its SKU prices mean nothing without it; they go with it, in this transaction.
                c.execute(
                    "DELETE FROM sku_tier_prices WHERE tier_id = $1",
                    args![&tid],
                )?;
                c.execute("DELETE FROM tiers WHERE id = $1", args![&tid])?;
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
                c.query_opt("SELECT 1 FROM accounts WHERE id = $1", args![&aid])?.ok_or(AppError::NotFound("account"))?;
                c.execute("DELETE FROM member_tiers WHERE merchant_id = $1 AND account_id = $2", args![&mid, &aid])?;
                let Some(code) = &code else {
                    outbox::emit(c, now, "member.tier_removed", Some(&mid), &aid, &serde_json::json!({ "account_id": aid }))?;
                    return Ok(None);
                };
                let tier = c
                    .query_opt("SELECT id FROM tiers WHERE merchant_id = $1 AND code = $2", args![&mid, code.as_str()])?
                    .ok_or_else(|| AppError::invalid("tier_code", "this merchant has no tier with this code"))?
                    .text(0)?;
                c.execute(
                    "INSERT INTO member_tiers (merchant_id, account_id, tier_id, assigned_at, assigned_by) VALUES ($1, $2, $3, $4, $5)",
                    args![&mid, &aid, &tier, now, &who.account_id],
                )?;
                outbox::emit(c, now, "member.tier_assigned", Some(&mid), &aid, &serde_json::json!({ "account_id": aid, "tier_code": code.as_str() }))?;
                let r = c.query_one(
                    "SELECT m.account_id, a.display_name, t.code, t.name, m.assigned_at FROM member_tiers m
                     JOIN accounts a ON a.id = m.account_id JOIN tiers t ON t.id = m.tier_id
                     WHERE m.merchant_id = $1 AND m.account_id = $2",
                    args![&mid, &aid],
                )?;
                Ok(Some(member_tier_from_row(&r)?))
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
        let mut params = args![&mid].to_vec();
        params.extend(after.args);
        params.push(page.fetch().into());
        let rows = self
            .db
            .read(move |c| {
                require_staff(c, &who, &mid, StaffNeed::AnyStaff)?;
                c.query(
                    &format!(
                        "SELECT m.account_id, a.display_name, t.code, t.name, m.assigned_at FROM member_tiers m
                         JOIN accounts a ON a.id = m.account_id JOIN tiers t ON t.id = m.tier_id
                         WHERE m.merchant_id = $1 AND {}
                         ORDER BY m.assigned_at, m.account_id LIMIT $4",
                        after.sql
                    ),
                    &params,
                )?
                .iter()
                .map(|r| Ok((r.int(4)?, member_tier_from_row(r)?)))
                .collect::<AppResult<Vec<_>>>()
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
                c.query_opt(
                    "SELECT m.account_id, a.display_name, t.code, t.name, m.assigned_at FROM member_tiers m
                     JOIN accounts a ON a.id = m.account_id JOIN tiers t ON t.id = m.tier_id
                     WHERE m.merchant_id = $1 AND m.account_id = $2",
                    args![&mid, &aid],
                )?
                .map(|r| member_tier_from_row(&r))
                .transpose()
            })
            .await
    }
}

fn member_tier_from_row(r: &Row) -> AppResult<MemberTier> {
    Ok(MemberTier {
        account_id: AccountId::from_row(r.text(0)?),
        display_name: r.text(1)?,
        tier_code: r.text(2)?,
        tier_name: r.text(3)?,
        assigned_at: rfc3339(r.int(4)?),
    })
}
