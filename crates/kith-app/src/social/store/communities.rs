//! Communities, their members, announcements and membership history.

use std::collections::HashMap;

use kith_store::{Conn, Value, args, placeholders};

use super::read_models::{
    CommunityCols, HistoryCols, MemberCols, announcement_from_row, community_from_row,
    community_select, member_from_row,
};
use super::visibility::no_block;
use crate::platform::ids::{AccountId, CommunityId};
use crate::platform::page::{Direction, PageRequest};
use crate::social::communities::{
    Announcement, Community, CommunityMember, CommunityRole, HistoryEntry, JoinPolicy, MemberState,
    Meta,
};
use crate::{AppError, AppResult, rfc3339};

/// The facts of a community the rules look at, or 404.
pub(in crate::social) fn meta(c: &mut dyn Conn, id: &str) -> AppResult<Meta> {
    let r = c
        .query_opt(
            "SELECT join_policy, merchant_id, owner_account_id FROM communities WHERE id = $1",
            args![id],
        )?
        .ok_or(AppError::NotFound("community"))?;
    Ok(Meta {
        policy: JoinPolicy::from_db(&r.text(0)?)?,
        merchant_id: r.opt_text(1)?,
        owner: r.text(2)?,
    })
}

/// `(role, state)` of an account's row in a community, if it has one.
pub(in crate::social) fn membership(
    c: &mut dyn Conn,
    community_id: &str,
    account_id: &str,
) -> AppResult<Option<(CommunityRole, MemberState)>> {
    c.query_opt(
        "SELECT role, state FROM community_members WHERE community_id = $1 AND account_id = $2",
        args![community_id, account_id],
    )?
    .map(|r| {
        Ok((
            CommunityRole::from_db(&r.text(0)?)?,
            MemberState::from_db(&r.text(1)?)?,
        ))
    })
    .transpose()
}

/// Records one membership change.
pub(in crate::social) fn member_event(
    c: &mut dyn Conn,
    now: i64,
    community_id: &str,
    account_id: &str,
    event: &str,
    actor_id: Option<&str>,
    related: Option<&str>,
) -> AppResult<()> {
    c.execute(
        "INSERT INTO community_member_events (community_id, account_id, event, actor_id, related_community_id, at)
         VALUES ($1, $2, $3, $4, $5, $6)",
        args![community_id, account_id, event, actor_id, related, now],
    )?;
    Ok(())
}

pub(in crate::social) fn merchant_exists(c: &mut dyn Conn, id: &str) -> AppResult<bool> {
    Ok(
        c.query_opt("SELECT 1 FROM merchants WHERE id = $1", args![id])?
            .is_some(),
    )
}

pub(in crate::social) fn account_exists(c: &mut dyn Conn, id: &str) -> AppResult<bool> {
    Ok(
        c.query_opt("SELECT 1 FROM accounts WHERE id = $1", args![id])?
            .is_some(),
    )
}

#[allow(clippy::too_many_arguments)]
pub(in crate::social) fn insert_community(
    c: &mut dyn Conn,
    id: &str,
    name: &str,
    description: &str,
    cover: Option<&str>,
    tags: &str,
    policy: &str,
    merchant_id: Option<&str>,
    owner: &str,
    now: i64,
) -> AppResult<()> {
    c.execute(
        "INSERT INTO communities (id, name, description, cover_media_id, tags, join_policy, merchant_id, owner_account_id, created_at, updated_at)
                     VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $9)",
        args![id, name, description, cover, tags, policy, merchant_id, owner, now],
    )?;
    Ok(())
}

/// The owner's active membership of a new community.
pub(in crate::social) fn insert_owner(
    c: &mut dyn Conn,
    community_id: &str,
    owner: &str,
    now: i64,
) -> AppResult<()> {
    c.execute(
        "INSERT INTO community_members (community_id, account_id, role, state, joined_at, updated_at)
                     VALUES ($1, $2, 'owner', 'active', $3, $3)",
        args![community_id, owner, now],
    )?;
    Ok(())
}

/// Sets the given columns (name and value) of a community.
pub(in crate::social) fn update_community_columns(
    c: &mut dyn Conn,
    id: &str,
    columns: Vec<(&str, Value)>,
) -> AppResult<()> {
    let mut sets: Vec<String> = Vec::new();
    let mut params: Vec<Value> = Vec::new();
    for (col, v) in columns {
        params.push(v);
        sets.push(format!("{col} = ${}", params.len()));
    }
    params.push(id.into());
    let sql = format!(
        "UPDATE communities SET {} WHERE id = ${}",
        sets.join(", "),
        params.len()
    );
    c.execute(&sql, &params)?;
    Ok(())
}

/// The account's active and pending communities, in the order they joined.
pub(in crate::social) fn my_communities(
    c: &mut dyn Conn,
    account_id: &str,
    page: &PageRequest,
) -> AppResult<Vec<(i64, Community)>> {
    let after = page.keyset(Direction::OldestFirst, "me.joined_at", "c.id", 2);
    let mut params = args![account_id].to_vec();
    params.extend(after.args);
    params.push(page.fetch().into());
    let sql = format!(
        "{} WHERE me.state IN ('active', 'pending') AND {}
                     ORDER BY me.joined_at, c.id LIMIT $4",
        community_select("$1"),
        after.sql
    );
    c.query(&sql, &params)?
        .iter()
        .map(|r| Ok((r.int(CommunityCols::my_joined_at)?, community_from_row(r)?)))
        .collect::<AppResult<Vec<_>>>()
}

/// Joins (or requests to join) as a plain member; a former member's row comes back.
/// False when the row is in a state that may not join.
pub(in crate::social) fn upsert_join(
    c: &mut dyn Conn,
    community_id: &str,
    account_id: &str,
    state: &str,
    now: i64,
) -> AppResult<bool> {
    Ok(c.execute(
        "INSERT INTO community_members (community_id, account_id, role, state, opinion_leader, joined_at, updated_at)
                     VALUES ($1, $2, 'member', $3, false, $4, $4)
                     ON CONFLICT (community_id, account_id) DO UPDATE
                       SET role = 'member', state = excluded.state, opinion_leader = false,
                           joined_at = excluded.joined_at, updated_at = excluded.updated_at
                     WHERE community_members.state IN ('left', 'removed')",
        args![community_id, account_id, state, now],
    )? != 0)
}

/// False when there was no pending request.
pub(in crate::social) fn approve_pending(
    c: &mut dyn Conn,
    community_id: &str,
    account_id: &str,
    now: i64,
) -> AppResult<bool> {
    Ok(c.execute(
        "UPDATE community_members SET state = 'active', joined_at = $1, updated_at = $1
                     WHERE community_id = $2 AND account_id = $3 AND state = 'pending'",
        args![now, community_id, account_id],
    )? != 0)
}

/// False when the account was neither active nor pending.
pub(in crate::social) fn leave(
    c: &mut dyn Conn,
    community_id: &str,
    account_id: &str,
    now: i64,
) -> AppResult<bool> {
    Ok(c.execute(
        "UPDATE community_members SET state = 'left', role = 'member', opinion_leader = false, updated_at = $1
                     WHERE community_id = $2 AND account_id = $3 AND state IN ('active', 'pending')",
        args![now, community_id, account_id],
    )? != 0)
}

/// Active members in the order they joined, without those in a block with `viewer`.
pub(in crate::social) fn members_page(
    c: &mut dyn Conn,
    community_id: &str,
    viewer: &str,
    page: &PageRequest,
) -> AppResult<Vec<(i64, CommunityMember)>> {
    let after = page.keyset(Direction::OldestFirst, "m.joined_at", "m.account_id", 3);
    let fetch = page.fetch();
    let sql = format!(
        "SELECT {} FROM community_members m JOIN accounts a ON a.id = m.account_id
                     WHERE m.community_id = $1 AND m.state = 'active' AND {} AND {}
                     ORDER BY m.joined_at, m.account_id LIMIT $5",
        MemberCols::LIST,
        no_block("m.account_id", "$2"),
        after.sql
    );
    let mut params = args![community_id, viewer].to_vec();
    params.extend(after.args.iter().cloned());
    params.push(fetch.into());
    c.query(&sql, &params)?
        .iter()
        .map(|r| Ok((r.int(MemberCols::joined_at)?, member_from_row(r)?)))
        .collect::<AppResult<Vec<_>>>()
}

/// Changes an active non-owner's role; false when nothing changed.
pub(in crate::social) fn set_role(
    c: &mut dyn Conn,
    community_id: &str,
    account_id: &str,
    role: &str,
    now: i64,
) -> AppResult<bool> {
    Ok(c.execute(
        "UPDATE community_members SET role = $1, updated_at = $2
                     WHERE community_id = $3 AND account_id = $4 AND state = 'active' AND role <> 'owner' AND role <> $1",
        args![role, now, community_id, account_id],
    )? == 1)
}

/// Gives or takes an active member's badge; false when nothing changed.
pub(in crate::social) fn set_opinion_leader(
    c: &mut dyn Conn,
    community_id: &str,
    account_id: &str,
    value: bool,
    now: i64,
) -> AppResult<bool> {
    Ok(c.execute(
        "UPDATE community_members SET opinion_leader = $1, updated_at = $2
                     WHERE community_id = $3 AND account_id = $4 AND state = 'active' AND opinion_leader <> $1",
        args![value, now, community_id, account_id],
    )? == 1)
}

/// Removes a membership still in `state` with `role`; false when it changed meanwhile.
pub(in crate::social) fn remove(
    c: &mut dyn Conn,
    community_id: &str,
    account_id: &str,
    state: &str,
    role: &str,
    now: i64,
) -> AppResult<bool> {
    Ok(c.execute(
        "UPDATE community_members SET state = 'removed', role = 'member', opinion_leader = false, updated_at = $1
                     WHERE community_id = $2 AND account_id = $3 AND state = $4 AND role = $5",
        args![now, community_id, account_id, state, role],
    )? != 0)
}

/// Bans an account (with or without a membership still in `role`); false when it
/// changed meanwhile.
pub(in crate::social) fn ban(
    c: &mut dyn Conn,
    community_id: &str,
    account_id: &str,
    role: &str,
    now: i64,
) -> AppResult<bool> {
    Ok(c.execute(
        "INSERT INTO community_members (community_id, account_id, role, state, opinion_leader, joined_at, updated_at)
                     VALUES ($1, $2, 'member', 'banned', false, $3, $3)
                     ON CONFLICT (community_id, account_id) DO UPDATE
                       SET state = 'banned', role = 'member', opinion_leader = false, updated_at = excluded.updated_at
                     WHERE community_members.state <> 'banned' AND community_members.role <> 'owner'
                       AND community_members.role = $4",
        args![community_id, account_id, now, role],
    )? != 0)
}

/// False when there was no ban.
pub(in crate::social) fn unban(
    c: &mut dyn Conn,
    community_id: &str,
    account_id: &str,
    now: i64,
) -> AppResult<bool> {
    Ok(c.execute(
        "UPDATE community_members SET state = 'removed', updated_at = $1
                     WHERE community_id = $2 AND account_id = $3 AND state = 'banned'",
        args![now, community_id, account_id],
    )? != 0)
}

pub(in crate::social) fn insert_announcement(
    c: &mut dyn Conn,
    id: &str,
    community_id: &str,
    author: &str,
    body: &str,
    now: i64,
) -> AppResult<()> {
    c.execute(
        "INSERT INTO community_announcements (id, community_id, author_id, body, created_at) VALUES ($1, $2, $3, $4, $5)",
        args![id, community_id, author, body, now],
    )?;
    Ok(())
}

pub(in crate::social) fn load_announcement(c: &mut dyn Conn, id: &str) -> AppResult<Announcement> {
    let r = c.query_one(
        "SELECT n.id, n.community_id, n.author_id, a.display_name, n.body, n.created_at
                     FROM community_announcements n JOIN accounts a ON a.id = n.author_id WHERE n.id = $1",
        args![id],
    )?;
    announcement_from_row(&r)
}

/// A community's announcements, newest first.
pub(in crate::social) fn announcements_page(
    c: &mut dyn Conn,
    community_id: &str,
    page: &PageRequest,
) -> AppResult<Vec<(i64, Announcement)>> {
    let after = page.keyset(Direction::NewestFirst, "n.created_at", "n.id", 2);
    let mut params = args![community_id].to_vec();
    params.extend(after.args);
    params.push(page.fetch().into());
    c.query(
        &format!(
            "SELECT n.id, n.community_id, n.author_id, a.display_name, n.body, n.created_at
                         FROM community_announcements n JOIN accounts a ON a.id = n.author_id
                         WHERE n.community_id = $1 AND {}
                         ORDER BY n.created_at DESC, n.id DESC LIMIT $5",
            after.sql
        ),
        &params,
    )?
    .iter()
    .map(|r| Ok((r.int(5)?, announcement_from_row(r)?)))
    .collect::<AppResult<Vec<_>>>()
}

/// The `(role, state)` of each of `ids` that has a row in the community.
pub(in crate::social) fn memberships_of(
    c: &mut dyn Conn,
    community_id: &str,
    ids: &[String],
) -> AppResult<HashMap<String, (String, String)>> {
    let mut params: Vec<Value> = vec![community_id.into()];
    params.extend(ids.iter().map(|i| Value::from(i.as_str())));
    c.query(
        &format!(
            "SELECT account_id, role, state FROM community_members
                             WHERE community_id = $1 AND account_id IN ({})",
            placeholders(2, ids.len())
        ),
        &params,
    )?
    .iter()
    .map(|r| Ok((r.text(0)?, (r.text(1)?, r.text(2)?))))
    .collect::<AppResult<_>>()
}

/// A community's tags (JSON) and cover.
pub(in crate::social) fn tags_and_cover(
    c: &mut dyn Conn,
    id: &str,
) -> AppResult<(String, Option<String>)> {
    let r = c.query_one(
        "SELECT tags, cover_media_id FROM communities WHERE id = $1",
        args![id],
    )?;
    Ok((r.text(0)?, r.opt_text(1)?))
}

#[allow(clippy::too_many_arguments)]
pub(in crate::social) fn insert_sub_community(
    c: &mut dyn Conn,
    id: &str,
    name: &str,
    description: &str,
    cover: Option<&str>,
    tags: &str,
    policy: &str,
    merchant_id: Option<&str>,
    owner: &str,
    parent: &str,
    now: i64,
) -> AppResult<()> {
    c.execute(
        "INSERT INTO communities (id, name, description, cover_media_id, tags, join_policy, merchant_id, owner_account_id, parent_id, created_at, updated_at)
                     VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $10)",
        args![id, name, description, cover, tags, policy, merchant_id, owner, parent, now],
    )?;
    Ok(())
}

/// Moves the active members `ids` of `parent` into `child`: their new rows and both
/// communities' events, then their rows in the parent left. Returns (moved, left).
pub(in crate::social) fn move_members(
    c: &mut dyn Conn,
    child: &str,
    parent: &str,
    ids: &[String],
    now: i64,
) -> AppResult<(u64, u64)> {
    // Set-based moves; values come from the new community's row (`s`) so no
    // parameter has to be typed from a SELECT list. `$1` child, `$2` parent.
    let mut params: Vec<Value> = vec![child.into(), parent.into()];
    params.extend(ids.iter().map(|i| Value::from(i.as_str())));
    let list = placeholders(3, ids.len());
    let moved = c.execute(
        &format!(
            "INSERT INTO community_members (community_id, account_id, role, state, opinion_leader, invited_by, invite_id, joined_at, updated_at)
                         SELECT s.id, m.account_id, 'member', 'active', m.opinion_leader, m.invited_by, m.invite_id, s.created_at, s.created_at
                         FROM community_members m JOIN communities s ON s.id = $1
                         WHERE m.community_id = $2 AND m.state = 'active' AND m.account_id IN ({list})"
        ),
        &params,
    )?;
    c.execute(
        &format!(
            "INSERT INTO community_member_events (community_id, account_id, event, actor_id, related_community_id, at)
                         SELECT s.id, m.account_id, 'moved_from_parent', s.owner_account_id, s.parent_id, s.created_at
                         FROM community_members m JOIN communities s ON s.id = $1
                         WHERE m.community_id = $2 AND m.state = 'active' AND m.account_id IN ({list})"
        ),
        &params,
    )?;
    c.execute(
        &format!(
            "INSERT INTO community_member_events (community_id, account_id, event, actor_id, related_community_id, at)
                         SELECT s.parent_id, m.account_id, 'moved_to_sub', s.owner_account_id, s.id, s.created_at
                         FROM community_members m JOIN communities s ON s.id = $1
                         WHERE m.community_id = $2 AND m.state = 'active' AND m.account_id IN ({list})"
        ),
        &params,
    )?;
    let mut params: Vec<Value> = vec![now.into(), parent.into()];
    params.extend(ids.iter().map(|i| Value::from(i.as_str())));
    let left = c.execute(
        &format!(
            "UPDATE community_members SET state = 'left', role = 'member', opinion_leader = false, updated_at = $1
                         WHERE community_id = $2 AND state = 'active' AND account_id IN ({})",
            placeholders(3, ids.len())
        ),
        &params,
    )?;
    Ok((moved, left))
}

/// The communities split from `id`, oldest first, at most 200.
pub(in crate::social) fn sub_communities(
    c: &mut dyn Conn,
    id: &str,
    viewer: &str,
) -> AppResult<Vec<Community>> {
    let sql = format!(
        "{} WHERE c.parent_id = $1 ORDER BY c.created_at, c.id LIMIT 200",
        community_select("$2")
    );
    c.query(&sql, args![id, viewer])?
        .iter()
        .map(community_from_row)
        .collect()
}

/// Membership changes, oldest first.
pub(in crate::social) fn history_page(
    c: &mut dyn Conn,
    community_id: &str,
    page: &PageRequest,
) -> AppResult<Vec<(i64, HistoryEntry)>> {
    // Keyed by the event's number alone.
    let after = page.keyset(Direction::OldestFirst, "e.id", "", 2);
    let mut params = args![community_id].to_vec();
    params.extend(after.args);
    params.push(page.fetch().into());
    c.query(
        &format!(
            "SELECT {} FROM community_member_events e JOIN accounts a ON a.id = e.account_id
                         WHERE e.community_id = $1 AND {} ORDER BY e.id LIMIT $3",
            HistoryCols::LIST,
            after.sql
        ),
        &params,
    )?
    .iter()
    .map(|r| {
        let n = r.int(HistoryCols::id)?;
        Ok((
            n,
            HistoryEntry {
                id: n,
                account_id: AccountId::from_row(r.text(HistoryCols::account_id)?),
                display_name: r.text(HistoryCols::display_name)?,
                event: r.text(HistoryCols::event)?,
                actor_id: r.opt_text(HistoryCols::actor_id)?.map(AccountId::from_row),
                related_community_id: r
                    .opt_text(HistoryCols::related_community_id)?
                    .map(CommunityId::from_row),
                at: rfc3339(r.int(HistoryCols::at)?),
            },
        ))
    })
    .collect::<AppResult<Vec<_>>>()
}
