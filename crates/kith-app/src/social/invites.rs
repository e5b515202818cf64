//! Community invite links: a member with the right role makes a link (optionally limited in
//! uses and time), lists and revokes them; accepting one joins the community and records the
//! inviter (the fission tree). Codes are handed out once and stored as SHA-256. An invite
//! code also works as a referral code (`money::sharing`) — under the same rules as joining,
//! decided in one place, [`usable_invite`].

use base64::Engine as _;
use kith_store::Conn;
use rand::RngCore;

use super::store::invites::{
    community_invites, insert_invite, invite_by_code_hash, invite_inviter, join_by_invite,
    load_invite, revoke_invite, take_invite_use,
};
use crate::platform::ids::{CommunityId, InviteId, new_id, sha256_hex};
use crate::{App, AppError, AppResult, Principal};

/// Most tags a community carries.
use super::communities::*;

/// A fresh invite code: 128 random bits, URL-safe.
pub(super) fn new_invite_code() -> String {
    let mut bytes = [0u8; 16];
    rand::rng().fill_bytes(&mut bytes);
    base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(bytes)
}

/// The one place that decides whether an invite code may still be used — to join
/// ([`App::accept_invite`]) or as a referral code (`money::sharing`, which binds the new or
/// signed-in member to the inviter): it must exist (404 `invite`), not be withdrawn, not
/// have expired, have uses left, and its inviter must still be an active member (each 409).
/// Deciding this does not take a use: joining takes one by its own conditional update.
pub(crate) fn usable_invite(
    c: &mut dyn Conn,
    code_hash: &str,
    now: i64,
) -> AppResult<CommunityInvite> {
    let (inv, expires_at) =
        invite_by_code_hash(c, code_hash)?.ok_or(AppError::NotFound("invite"))?;
    if inv.revoked {
        return Err(AppError::state("this invite was withdrawn"));
    }
    if expires_at.is_some_and(|at| at <= now) {
        return Err(AppError::state("this invite has expired"));
    }
    if inv.max_uses.is_some_and(|max| inv.uses >= max) {
        return Err(AppError::state("this invite has been used up"));
    }
    if !matches!(
        membership(c, &inv.community_id, &inv.inviter_id)?,
        Some((_, MemberState::Active))
    ) {
        return Err(AppError::state(
            "this invite is no longer valid: its inviter left the community",
        ));
    }
    Ok(inv)
}

impl App {
    /// An active member makes an invite link (in invite-only communities only the owner
    /// and admins may). `max_uses` 1–1000 (unlimited if absent), `expires_in_hours` 1–720
    /// (never if absent).
    pub async fn create_invite(
        &self,
        who: &Principal,
        community_id: &CommunityId,
        max_uses: Option<i64>,
        expires_in_hours: Option<i64>,
    ) -> AppResult<CommunityInvite> {
        if let Some(n) = max_uses
            && !(1..=1000).contains(&n)
        {
            return Err(AppError::invalid("max_uses", "must be between 1 and 1000"));
        }
        if let Some(h) = expires_in_hours
            && !(1..=720).contains(&h)
        {
            return Err(AppError::invalid(
                "expires_in_hours",
                "must be between 1 and 720",
            ));
        }
        let now = self.now_ms();
        let expires_at = expires_in_hours.map(|h| now + h * 3_600_000);
        let (who, id) = (who.clone(), community_id.clone());
        self.db
            .write(move |c| {
                let (m, role) = require_role(c, &who, &id, Need::Member)?;
                if m.policy == JoinPolicy::InviteOnly && role == CommunityRole::Member {
                    return Err(AppError::Forbidden(
                        "in an invite-only community only the owner and admins invite".into(),
                    ));
                }
                let invite_id = new_id();
                let code = new_invite_code();
                insert_invite(
                    c,
                    &invite_id,
                    &id,
                    &sha256_hex(&code),
                    &who.account_id,
                    max_uses,
                    expires_at,
                    now,
                )?;
                emit(
                    c,
                    now,
                    "community.invite_created",
                    &m,
                    &id,
                    serde_json::json!({
                        "community_id": id, "invite_id": invite_id, "inviter_id": who.account_id,
                    }),
                )?;
                load_invite(c, &invite_id, Some(code))
            })
            .await
    }

    /// Invite links of a community, newest first: all of them for the owner and admins,
    /// their own for other members. Codes are never shown again.
    pub async fn list_invites(
        &self,
        who: &Principal,
        community_id: &CommunityId,
    ) -> AppResult<Vec<CommunityInvite>> {
        let (who, id) = (who.clone(), community_id.clone());
        self.db
            .read(move |c| {
                let (_, role) = require_role(c, &who, &id, Need::Member)?;
                let mine_only = role == CommunityRole::Member;
                community_invites(c, &id, mine_only, &who.account_id)
            })
            .await
    }

    /// The inviter, the owner or an admin withdraws an invite link.
    pub async fn revoke_invite(
        &self,
        who: &Principal,
        community_id: &CommunityId,
        invite_id: &InviteId,
    ) -> AppResult<CommunityInvite> {
        let now = self.now_ms();
        let (who, id, iid) = (who.clone(), community_id.clone(), invite_id.clone());
        self.db
            .write(move |c| {
                let (m, role) = require_role(c, &who, &id, Need::Member)?;
                let inviter = invite_inviter(c, &iid, &id)?.ok_or(AppError::NotFound("invite"))?;
                if role == CommunityRole::Member && inviter != who.account_id {
                    return Err(AppError::Forbidden(
                        "only its inviter, the owner or admins may withdraw an invite".into(),
                    ));
                }
                if !revoke_invite(c, &iid, now)? {
                    return Err(AppError::state("this invite was already withdrawn"));
                }
                emit(
                    c,
                    now,
                    "community.invite_revoked",
                    &m,
                    &id,
                    serde_json::json!({
                        "community_id": id, "invite_id": iid, "by": who.account_id,
                    }),
                )?;
                load_invite(c, &iid, None)
            })
            .await
    }

    /// The caller accepts an invite link and joins as an active member — past approval
    /// and invite-only — with the inviter recorded as `invited_by` (the fission edge).
    /// Expired, withdrawn or used-up links are refused (409), as are banned accounts (403)
    /// and members who are already active (409). A link whose inviter is no longer an
    /// active member no longer works (409). Those rules are [`usable_invite`]'s, which the
    /// referral paths share.
    pub async fn accept_invite(&self, who: &Principal, code: &str) -> AppResult<Community> {
        let code = code.trim();
        if code.is_empty() || code.len() > 128 {
            return Err(AppError::NotFound("invite"));
        }
        let hash = sha256_hex(code);
        let now = self.now_ms();
        let who = who.clone();
        self.db
            .write(move |c| {
                let inv = usable_invite(c, &hash, now)?;
                let id = inv.community_id.clone();
                let m = meta(c, &id)?;
                match membership(c, &id, &who.account_id)? {
                    Some((_, MemberState::Banned)) => {
                        return Err(AppError::Forbidden(
                            "you are banned from this community".into(),
                        ));
                    }
                    Some((_, MemberState::Active)) => {
                        return Err(AppError::state(
                            "you are already a member of this community",
                        ));
                    }
                    _ => {}
                }
                if !take_invite_use(c, &inv.id)? {
                    return Err(AppError::state("this invite has been used up"));
                }
                if !join_by_invite(c, &id, &who.account_id, &inv.inviter_id, &inv.id, now)? {
                    return Err(AppError::state(
                        "your membership changed meanwhile; try again",
                    ));
                }
                member_event(
                    c,
                    now,
                    &id,
                    &who.account_id,
                    "joined_via_invite",
                    Some(&inv.inviter_id),
                    None,
                )?;
                emit(
                    c,
                    now,
                    "community.joined",
                    &m,
                    &id,
                    serde_json::json!({
                        "community_id": id, "account_id": who.account_id, "via": "invite",
                        "invited_by": inv.inviter_id, "invite_id": inv.id,
                    }),
                )?;
                load_community(c, &id, &who.account_id)
            })
            .await
    }
}
