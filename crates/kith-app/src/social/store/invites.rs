//! Community invite links and joining by one.

use kith_store::{Conn, Row, args};

use crate::platform::ids::{AccountId, CommunityId, InviteId};
use crate::social::communities::CommunityInvite;
use crate::{AppResult, rfc3339};

kith_store::columns!(InviteCols {
    id,
    community_id,
    inviter_id,
    max_uses,
    uses,
    expires_at,
    revoked_at,
    created_at,
});
const INVITE_COLS: &str = InviteCols::LIST;

fn invite_from_row(r: &Row, code: Option<String>) -> AppResult<CommunityInvite> {
    Ok(CommunityInvite {
        id: InviteId::from_row(r.text(InviteCols::id)?),
        community_id: CommunityId::from_row(r.text(InviteCols::community_id)?),
        url_path: code.as_ref().map(|c| format!("/c/join/{c}")),
        code,
        inviter_id: AccountId::from_row(r.text(InviteCols::inviter_id)?),
        max_uses: r.opt_int(InviteCols::max_uses)?,
        uses: r.int(InviteCols::uses)?,
        expires_at: r.opt_int(InviteCols::expires_at)?.map(rfc3339),
        revoked: r.opt_int(InviteCols::revoked_at)?.is_some(),
        created_at: rfc3339(r.int(InviteCols::created_at)?),
    })
}

/// The invite with this code hash, and when it expires (ms).
pub(in crate::social) fn invite_by_code_hash(
    c: &mut dyn Conn,
    code_hash: &str,
) -> AppResult<Option<(CommunityInvite, Option<i64>)>> {
    c.query_opt(
        &format!("SELECT {INVITE_COLS} FROM community_invites WHERE code_hash = $1"),
        args![code_hash],
    )?
    .map(|r| {
        Ok((
            invite_from_row(&r, None)?,
            r.opt_int(InviteCols::expires_at)?,
        ))
    })
    .transpose()
}

#[allow(clippy::too_many_arguments)]
pub(in crate::social) fn insert_invite(
    c: &mut dyn Conn,
    id: &str,
    community_id: &str,
    code_hash: &str,
    inviter: &str,
    max_uses: Option<i64>,
    expires_at: Option<i64>,
    now: i64,
) -> AppResult<()> {
    c.execute(
        "INSERT INTO community_invites (id, community_id, code_hash, inviter_id, max_uses, uses, expires_at, created_at)
                     VALUES ($1, $2, $3, $4, $5, 0, $6, $7)",
        args![id, community_id, code_hash, inviter, max_uses, expires_at, now],
    )?;
    Ok(())
}

/// An invite by id; `code` is shown only in the response that made it.
pub(in crate::social) fn load_invite(
    c: &mut dyn Conn,
    id: &str,
    code: Option<String>,
) -> AppResult<CommunityInvite> {
    let r = c.query_one(
        &format!("SELECT {INVITE_COLS} FROM community_invites WHERE id = $1"),
        args![id],
    )?;
    invite_from_row(&r, code)
}

/// A community's invites, newest first, at most 200: all, or only `inviter`'s.
pub(in crate::social) fn community_invites(
    c: &mut dyn Conn,
    community_id: &str,
    mine_only: bool,
    inviter: &str,
) -> AppResult<Vec<CommunityInvite>> {
    c.query(
        &format!(
            "SELECT {INVITE_COLS} FROM community_invites WHERE community_id = $1 AND ($2 = 0 OR inviter_id = $3)
                         ORDER BY created_at DESC, id DESC LIMIT 200"
        ),
        args![community_id, mine_only, inviter],
    )?
    .iter()
    .map(|r| invite_from_row(r, None))
    .collect()
}

/// The inviter of an invite of this community.
pub(in crate::social) fn invite_inviter(
    c: &mut dyn Conn,
    id: &str,
    community_id: &str,
) -> AppResult<Option<String>> {
    c.query_opt(
        "SELECT inviter_id FROM community_invites WHERE id = $1 AND community_id = $2",
        args![id, community_id],
    )?
    .map(|r| Ok(r.text(0)?))
    .transpose()
}

/// False when it was already withdrawn.
pub(in crate::social) fn revoke_invite(c: &mut dyn Conn, id: &str, now: i64) -> AppResult<bool> {
    Ok(c.execute(
        "UPDATE community_invites SET revoked_at = $1 WHERE id = $2 AND revoked_at IS NULL",
        args![now, id],
    )? != 0)
}

/// One use more, only while uses remain: two people racing for the last use cannot both
/// get it. False when none is left.
pub(in crate::social) fn take_invite_use(c: &mut dyn Conn, id: &str) -> AppResult<bool> {
    Ok(c.execute(
        "UPDATE community_invites SET uses = uses + 1
                     WHERE id = $1 AND revoked_at IS NULL AND (max_uses IS NULL OR uses < max_uses)",
        args![id],
    )? != 0)
}

/// Joins as an active member invited by `inviter` (a pending, former or removed member's
/// row comes back); false when the membership is in a state that may not.
pub(in crate::social) fn join_by_invite(
    c: &mut dyn Conn,
    community_id: &str,
    account_id: &str,
    inviter: &str,
    invite_id: &str,
    now: i64,
) -> AppResult<bool> {
    Ok(c.execute(
        "INSERT INTO community_members (community_id, account_id, role, state, opinion_leader, invited_by, invite_id, joined_at, updated_at)
                     VALUES ($1, $2, 'member', 'active', false, $3, $4, $5, $5)
                     ON CONFLICT (community_id, account_id) DO UPDATE
                       SET role = 'member', state = 'active', opinion_leader = false,
                           invited_by = excluded.invited_by, invite_id = excluded.invite_id,
                           joined_at = excluded.joined_at, updated_at = excluded.updated_at
                     WHERE community_members.state IN ('pending', 'left', 'removed')",
        args![community_id, account_id, inviter, invite_id, now],
    )? != 0)
}
