//! Rows of membership tiers: `tiers` and `member_tiers` (and, when a tier goes, its
//! `sku_tier_prices`).

use kith_store::{Conn, Row, StoreError, args};

use crate::commerce::tiers::{MemberTier, Tier};
use crate::platform::ids::{AccountId, MerchantId, TierId};
use crate::platform::page::Keyset;
use crate::{AppResult, rfc3339};

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

/// For `SELECT m.account_id, a.display_name, t.code, t.name, m.assigned_at`.
fn member_tier_from_row(r: &Row) -> AppResult<MemberTier> {
    Ok(MemberTier {
        account_id: AccountId::from_row(r.text(0)?),
        display_name: r.text(1)?,
        tier_code: r.text(2)?,
        tier_name: r.text(3)?,
        assigned_at: rfc3339(r.int(4)?),
    })
}

/// A tier of `merchant_id` (none when another merchant's).
pub(in crate::commerce) fn tier(
    c: &mut dyn Conn,
    merchant_id: &str,
    tier_id: &str,
) -> AppResult<Option<Tier>> {
    c.query_opt(
        &format!("SELECT {TIER_COLS} FROM tiers WHERE id = $1 AND merchant_id = $2"),
        args![tier_id, merchant_id],
    )?
    .map(|r| tier_from_row(&r))
    .transpose()
}

pub(in crate::commerce) fn count_tiers(
    c: &mut dyn Conn,
    merchant_id: &MerchantId,
) -> AppResult<i64> {
    Ok(c.query_one(
        "SELECT COUNT(*) FROM tiers WHERE merchant_id = $1",
        args![merchant_id],
    )?
    .int(0)?)
}

/// A unique violation (code or rank) is left for the caller to name.
pub(in crate::commerce) fn insert_tier(
    c: &mut dyn Conn,
    id: &str,
    merchant_id: &MerchantId,
    code: &str,
    name: &str,
    rank: i64,
    now: i64,
) -> Result<u64, StoreError> {
    c.execute(
        "INSERT INTO tiers (id, merchant_id, code, name, rank, created_at) VALUES ($1, $2, $3, $4, $5, $6)",
        args![id, merchant_id, code, name, rank, now],
    )
}

/// The merchant's tiers, lowest rank first.
pub(in crate::commerce) fn merchant_tiers(
    c: &mut dyn Conn,
    merchant_id: &MerchantId,
) -> AppResult<Vec<Tier>> {
    c.query(
        &format!("SELECT {TIER_COLS} FROM tiers WHERE merchant_id = $1 ORDER BY rank"),
        args![merchant_id],
    )?
    .iter()
    .map(tier_from_row)
    .collect()
}

/// A unique violation on the rank is left for the caller to name.
pub(in crate::commerce) fn update_tier(
    c: &mut dyn Conn,
    tier_id: &TierId,
    name: &str,
    rank: i64,
) -> Result<u64, StoreError> {
    c.execute(
        "UPDATE tiers SET name = $1, rank = $2 WHERE id = $3",
        args![name, rank, tier_id],
    )
}

/// Members who hold the tier.
pub(in crate::commerce) fn count_holders(c: &mut dyn Conn, tier_id: &TierId) -> AppResult<i64> {
    Ok(c.query_one(
        "SELECT COUNT(*) FROM member_tiers WHERE tier_id = $1",
        args![tier_id],
    )?
    .int(0)?)
}

/// Deletes the tier's SKU prices, then the tier.
pub(in crate::commerce) fn delete_tier(c: &mut dyn Conn, tier_id: &TierId) -> AppResult<()> {
    c.execute(
        "DELETE FROM sku_tier_prices WHERE tier_id = $1",
        args![tier_id],
    )?;
    c.execute("DELETE FROM tiers WHERE id = $1", args![tier_id])?;
    Ok(())
}

pub(in crate::commerce) fn account_exists(
    c: &mut dyn Conn,
    account_id: &AccountId,
) -> AppResult<bool> {
    Ok(
        c.query_opt("SELECT 1 FROM accounts WHERE id = $1", args![account_id])?
            .is_some(),
    )
}

/// Takes the member out of whatever tier they hold at the merchant.
pub(in crate::commerce) fn clear_member_tier(
    c: &mut dyn Conn,
    merchant_id: &MerchantId,
    account_id: &AccountId,
) -> AppResult<()> {
    c.execute(
        "DELETE FROM member_tiers WHERE merchant_id = $1 AND account_id = $2",
        args![merchant_id, account_id],
    )?;
    Ok(())
}

pub(in crate::commerce) fn insert_member_tier(
    c: &mut dyn Conn,
    merchant_id: &MerchantId,
    account_id: &AccountId,
    tier_id: &TierId,
    now: i64,
    assigned_by: &str,
) -> AppResult<()> {
    c.execute(
        "INSERT INTO member_tiers (merchant_id, account_id, tier_id, assigned_at, assigned_by) VALUES ($1, $2, $3, $4, $5)",
        args![merchant_id, account_id, tier_id, now, assigned_by],
    )?;
    Ok(())
}

/// The tier the member holds at the merchant, if any.
pub(in crate::commerce) fn member_tier(
    c: &mut dyn Conn,
    merchant_id: &str,
    account_id: &str,
) -> AppResult<Option<MemberTier>> {
    c.query_opt(
        "SELECT m.account_id, a.display_name, t.code, t.name, m.assigned_at FROM member_tiers m
                     JOIN accounts a ON a.id = m.account_id JOIN tiers t ON t.id = m.tier_id
                     WHERE m.merchant_id = $1 AND m.account_id = $2",
        args![merchant_id, account_id],
    )?
    .map(|r| member_tier_from_row(&r))
    .transpose()
}

/// A page of the merchant's tier holders after `after`, in order of assignment, each with
/// its assignment time; `fetch` rows at most.
pub(in crate::commerce) fn member_tier_page(
    c: &mut dyn Conn,
    merchant_id: &MerchantId,
    after: &Keyset,
    fetch: i64,
) -> AppResult<Vec<(i64, MemberTier)>> {
    let mut params = args![merchant_id].to_vec();
    params.extend(after.args.iter().cloned());
    params.push(fetch.into());
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
    .collect()
}
