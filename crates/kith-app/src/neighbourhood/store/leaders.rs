//! Leaders and their points: `leaders`, each member's `leader_choices` and
//! `leader_choice_history`, the helpers (`leader_helpers`), and the point's `stores` /
//! `store_clerks` rows; with the follows and community members the ranking reads.

use kith_store::{Conn, StoreError, args};

use super::{LEADER_COLS, LEADER_FROM, leader_view};
use crate::neighbourhood::{Helper, Leader, LeaderChange};
use crate::platform::ids::{AccountId, LeaderId};
use crate::{AppResult, rfc3339};

/// A new application. The raw store error, so the caller can name a second application.
#[allow(clippy::too_many_arguments)]
pub(in crate::neighbourhood) fn insert_leader(
    c: &mut dyn Conn,
    id: &str,
    merchant_id: &str,
    account_id: &str,
    point_name: &str,
    address: &str,
    lat_e6: i64,
    lng_e6: i64,
    hours: &str,
    capacity: i64,
    now: i64,
) -> Result<u64, StoreError> {
    c.execute(
        "INSERT INTO leaders (id, merchant_id, account_id, status, point_name, address, lat_e6, lng_e6, opening_hours, capacity, rate_bp, created_at, updated_at)
                     VALUES ($1, $2, $3, 'applied', $4, $5, $6, $7, $8, $9, 0, $10, $10)",
        args![id, merchant_id, account_id, point_name, address, lat_e6, lng_e6, hours, capacity, now],
    )
}

/// The merchant's leaders (of `status`, or all when empty), newest first, at most 500.
pub(in crate::neighbourhood) fn merchant_leaders(
    c: &mut dyn Conn,
    merchant_id: &str,
    status: &str,
) -> AppResult<Vec<Leader>> {
    c.query(
        &format!(
            "SELECT {LEADER_COLS} FROM {LEADER_FROM} WHERE l.merchant_id = $1 AND ($2 = '' OR l.status = $2)
                         ORDER BY l.created_at DESC, l.id LIMIT 500"
        ),
        args![merchant_id, status],
    )?
    .iter()
    .map(leader_view)
    .collect()
}

/// The member's applications and leaderships, newest first.
pub(in crate::neighbourhood) fn account_leaderships(
    c: &mut dyn Conn,
    account_id: &str,
) -> AppResult<Vec<Leader>> {
    c.query(
        &format!("SELECT {LEADER_COLS} FROM {LEADER_FROM} WHERE l.account_id = $1 ORDER BY l.created_at DESC, l.id"),
        args![account_id],
    )?
    .iter()
    .map(leader_view)
    .collect()
}

/// The merchant's approved leaders, at most 500.
pub(in crate::neighbourhood) fn approved_leaders(
    c: &mut dyn Conn,
    merchant_id: &str,
) -> AppResult<Vec<Leader>> {
    c.query(
        &format!("SELECT {LEADER_COLS} FROM {LEADER_FROM} WHERE l.merchant_id = $1 AND l.status = 'approved' LIMIT 500"),
        args![merchant_id],
    )?
    .iter()
    .map(leader_view)
    .collect()
}

/// A leader's point as applied for: (name, address, lat_e6, lng_e6, opening hours).
pub(in crate::neighbourhood) fn leader_point(
    c: &mut dyn Conn,
    leader_id: &str,
) -> AppResult<(String, String, i64, i64, String)> {
    let p = c.query_one(
        "SELECT point_name, address, lat_e6, lng_e6, opening_hours FROM leaders WHERE id = $1",
        args![leader_id],
    )?;
    Ok((p.text(0)?, p.text(1)?, p.int(2)?, p.int(3)?, p.text(4)?))
}

/// The point as a store of the merchant. The raw store error, so the caller can name a
/// taken name.
#[allow(clippy::too_many_arguments)]
pub(in crate::neighbourhood) fn insert_point_store(
    c: &mut dyn Conn,
    id: &str,
    merchant_id: &str,
    name: &str,
    address: &str,
    lat_e6: i64,
    lng_e6: i64,
    hours: &str,
    now: i64,
) -> Result<u64, StoreError> {
    c.execute(
        "INSERT INTO stores (id, merchant_id, name, address, lat_e6, lng_e6, opening_hours, phone, created_at, updated_at)
                             VALUES ($1, $2, $3, $4, $5, $6, $7, NULL, $8, $8)",
        args![id, merchant_id, name, address, lat_e6, lng_e6, hours, now],
    )
}

pub(in crate::neighbourhood) fn set_leader_approved(
    c: &mut dyn Conn,
    leader_id: &str,
    rate_bp: i64,
    store_id: &str,
    now: i64,
) -> AppResult<()> {
    c.execute(
        "UPDATE leaders SET status = 'approved', rate_bp = $1, store_id = $2, decided_at = $3, updated_at = $3 WHERE id = $4",
        args![rate_bp, store_id, now, leader_id],
    )?;
    Ok(())
}

pub(in crate::neighbourhood) fn set_leader_refused(
    c: &mut dyn Conn,
    leader_id: &str,
    now: i64,
) -> AppResult<()> {
    c.execute(
        "UPDATE leaders SET status = 'refused', decided_at = $1, updated_at = $1 WHERE id = $2",
        args![now, leader_id],
    )?;
    Ok(())
}

/// Every clerk row of the point goes.
pub(in crate::neighbourhood) fn delete_point_clerks(
    c: &mut dyn Conn,
    store_id: Option<&str>,
) -> AppResult<()> {
    c.execute(
        "DELETE FROM store_clerks WHERE store_id = $1",
        args![store_id],
    )?;
    Ok(())
}

pub(in crate::neighbourhood) fn set_leader_suspended(
    c: &mut dyn Conn,
    leader_id: &str,
    now: i64,
) -> AppResult<()> {
    c.execute(
        "UPDATE leaders SET status = 'suspended', updated_at = $1 WHERE id = $2",
        args![now, leader_id],
    )?;
    Ok(())
}

pub(in crate::neighbourhood) fn set_leader_resumed(
    c: &mut dyn Conn,
    leader_id: &str,
    now: i64,
) -> AppResult<()> {
    c.execute(
        "UPDATE leaders SET status = 'approved', updated_at = $1 WHERE id = $2",
        args![now, leader_id],
    )?;
    Ok(())
}

pub(in crate::neighbourhood) fn set_leader_rate(
    c: &mut dyn Conn,
    leader_id: &str,
    rate_bp: i64,
    now: i64,
) -> AppResult<()> {
    c.execute(
        "UPDATE leaders SET rate_bp = $1, updated_at = $2 WHERE id = $3",
        args![rate_bp, now, leader_id],
    )?;
    Ok(())
}

/// The display names of the member's friends (mutual follows) who chose the leader, in
/// the order they chose.
pub(in crate::neighbourhood) fn friends_at_leader(
    c: &mut dyn Conn,
    leader_id: &str,
    member: &str,
) -> AppResult<Vec<String>> {
    Ok(c
        .query(
            "SELECT a.display_name FROM leader_choices lc JOIN accounts a ON a.id = lc.account_id
                             WHERE lc.leader_id = $1 AND lc.account_id <> $2
                               AND EXISTS (SELECT 1 FROM follows f WHERE f.follower_id = $2 AND f.followee_id = lc.account_id)
                               AND EXISTS (SELECT 1 FROM follows f WHERE f.follower_id = lc.account_id AND f.followee_id = $2)
                             ORDER BY lc.chosen_at, lc.account_id",
            args![leader_id, member],
        )?
        .iter()
        .map(|r| r.text(0))
        .collect::<Result<Vec<_>, _>>()?)
}

/// How many others who chose the leader share an active community with the member
/// (friends not counted).
pub(in crate::neighbourhood) fn community_at_leader(
    c: &mut dyn Conn,
    leader_id: &str,
    member: &str,
) -> AppResult<i64> {
    Ok(c
        .query_one(
            "SELECT COUNT(*) FROM leader_choices lc
                             WHERE lc.leader_id = $1 AND lc.account_id <> $2
                               AND NOT (EXISTS (SELECT 1 FROM follows f WHERE f.follower_id = $2 AND f.followee_id = lc.account_id)
                                    AND EXISTS (SELECT 1 FROM follows f WHERE f.follower_id = lc.account_id AND f.followee_id = $2))
                               AND EXISTS (SELECT 1 FROM community_members mine JOIN community_members theirs ON theirs.community_id = mine.community_id
                                           WHERE mine.account_id = $2 AND mine.state = 'active'
                                             AND theirs.account_id = lc.account_id AND theirs.state = 'active')",
            args![leader_id, member],
        )?
        .int(0)?)
}

/// The member's chosen leader at the merchant, locked (`FOR UPDATE`).
pub(in crate::neighbourhood) fn lock_choice(
    c: &mut dyn Conn,
    merchant_id: &str,
    member: &str,
) -> AppResult<Option<String>> {
    Ok(c.query_opt(
        &format!(
            "SELECT leader_id FROM leader_choices WHERE merchant_id = $1 AND account_id = $2{}",
            c.for_update()
        ),
        args![merchant_id, member],
    )?
    .map(|r| r.text(0))
    .transpose()?)
}

pub(in crate::neighbourhood) fn change_choice(
    c: &mut dyn Conn,
    merchant_id: &str,
    member: &str,
    leader_id: &str,
    now: i64,
) -> AppResult<()> {
    c.execute(
        "UPDATE leader_choices SET leader_id = $1, chosen_at = $2 WHERE merchant_id = $3 AND account_id = $4",
        args![leader_id, now, merchant_id, member],
    )?;
    Ok(())
}

pub(in crate::neighbourhood) fn insert_choice(
    c: &mut dyn Conn,
    merchant_id: &str,
    member: &str,
    leader_id: &str,
    now: i64,
) -> AppResult<()> {
    c.execute(
        "INSERT INTO leader_choices (merchant_id, account_id, leader_id, chosen_at) VALUES ($1, $2, $3, $4)",
        args![merchant_id, member, leader_id, now],
    )?;
    Ok(())
}

#[allow(clippy::too_many_arguments)]
pub(in crate::neighbourhood) fn insert_choice_history(
    c: &mut dyn Conn,
    id: &str,
    merchant_id: &str,
    member: &str,
    from: Option<&str>,
    to: &str,
    now: i64,
) -> AppResult<()> {
    c.execute(
        "INSERT INTO leader_choice_history (id, merchant_id, account_id, from_leader_id, to_leader_id, at) VALUES ($1, $2, $3, $4, $5, $6)",
        args![id, merchant_id, member, from, to, now],
    )?;
    Ok(())
}

/// Every choice and change of the member's leader at the merchant, oldest first.
pub(in crate::neighbourhood) fn choice_history(
    c: &mut dyn Conn,
    merchant_id: &str,
    member: &str,
) -> AppResult<Vec<LeaderChange>> {
    c.query(
        "SELECT from_leader_id, to_leader_id, at FROM leader_choice_history WHERE merchant_id = $1 AND account_id = $2 ORDER BY at, id",
        args![merchant_id, member],
    )?
    .iter()
    .map(|r| {
        Ok(LeaderChange {
            from_leader_id: r.opt_text(0)?.map(LeaderId::from_row),
            to_leader_id: LeaderId::from_row(r.text(1)?),
            at: rfc3339(r.int(2)?),
        })
    })
    .collect()
}

/// The member's choice at the merchant: (leader, chosen_at).
pub(in crate::neighbourhood) fn choice(
    c: &mut dyn Conn,
    merchant_id: &str,
    member: &str,
) -> AppResult<Option<(String, i64)>> {
    c.query_opt(
        "SELECT leader_id, chosen_at FROM leader_choices WHERE merchant_id = $1 AND account_id = $2",
        args![merchant_id, member],
    )?
    .map(|r| Ok((r.text(0)?, r.int(1)?)))
    .transpose()
}

/// Makes the member a clerk of the point. The raw store error, so the caller can say
/// they clerk elsewhere.
pub(in crate::neighbourhood) fn insert_clerk(
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

/// The leader's helpers, in the order they were named.
pub(in crate::neighbourhood) fn helpers_of(
    c: &mut dyn Conn,
    leader_id: &str,
) -> AppResult<Vec<Helper>> {
    c.query(
        "SELECT h.account_id, a.display_name, h.added_at FROM leader_helpers h JOIN accounts a ON a.id = h.account_id
         WHERE h.leader_id = $1 ORDER BY h.added_at, h.account_id",
        args![leader_id],
    )?
    .iter()
    .map(|r| {
        Ok(Helper {
            account_id: AccountId::from_row(r.text(0)?),
            display_name: r.text(1)?,
            added_at: rfc3339(r.int(2)?),
        })
    })
    .collect()
}

/// The leader's helpers clerk at the point again, but one who meanwhile clerks elsewhere
/// for the merchant.
pub(in crate::neighbourhood) fn restore_helper_clerks(
    c: &mut dyn Conn,
    store_id: &str,
    merchant_id: &str,
    leader_id: &str,
    now: i64,
) -> AppResult<()> {
    c.execute(
        "INSERT INTO store_clerks (store_id, merchant_id, account_id, added_at)
         SELECT $1, $2, h.account_id, $3 FROM leader_helpers h
         WHERE h.leader_id = $4
           AND NOT EXISTS (SELECT 1 FROM store_clerks k WHERE k.merchant_id = $2 AND k.account_id = h.account_id)",
        args![store_id, merchant_id, now, leader_id],
    )?;
    Ok(())
}

pub(in crate::neighbourhood) fn account_exists(
    c: &mut dyn Conn,
    account_id: &str,
) -> AppResult<bool> {
    Ok(
        c.query_opt("SELECT 1 FROM accounts WHERE id = $1", args![account_id])?
            .is_some(),
    )
}

pub(in crate::neighbourhood) fn is_helper(
    c: &mut dyn Conn,
    leader_id: &str,
    account_id: &str,
) -> AppResult<bool> {
    Ok(c.query_opt(
        "SELECT 1 FROM leader_helpers WHERE leader_id = $1 AND account_id = $2",
        args![leader_id, account_id],
    )?
    .is_some())
}

pub(in crate::neighbourhood) fn insert_helper(
    c: &mut dyn Conn,
    leader_id: &str,
    account_id: &str,
    now: i64,
) -> AppResult<()> {
    c.execute(
        "INSERT INTO leader_helpers (leader_id, account_id, added_at) VALUES ($1, $2, $3)",
        args![leader_id, account_id, now],
    )?;
    Ok(())
}

/// The member with this phone or email.
pub(in crate::neighbourhood) fn account_by_login(
    c: &mut dyn Conn,
    login: &str,
) -> AppResult<Option<String>> {
    Ok(c.query_opt(
        "SELECT id FROM accounts WHERE phone = $1 OR email = $1",
        args![login],
    )?
    .map(|r| r.text(0))
    .transpose()?)
}

/// Removes a helper; false when they were not one.
pub(in crate::neighbourhood) fn delete_helper(
    c: &mut dyn Conn,
    leader_id: &str,
    account_id: &str,
) -> AppResult<bool> {
    Ok(c.execute(
        "DELETE FROM leader_helpers WHERE leader_id = $1 AND account_id = $2",
        args![leader_id, account_id],
    )? != 0)
}

pub(in crate::neighbourhood) fn delete_clerk(
    c: &mut dyn Conn,
    store_id: &str,
    account_id: &str,
) -> AppResult<()> {
    c.execute(
        "DELETE FROM store_clerks WHERE store_id = $1 AND account_id = $2",
        args![store_id, account_id],
    )?;
    Ok(())
}
