//! Communities (社群): owned by a member or a merchant, joined openly, on approval or by
//! invite link; run by their owner and admins (roles, the opinion-leader badge,
//! announcements, removal and bans); split into sub-communities when they grow too big.
//!
//! ## Storage
//! - `community_members` holds one row per (community, account) whatever its state
//!   (`active`, `pending`, `left`, `removed`, `banned`). `invited_by` is the fission tree's
//!   edge — who brought this member in — and `invite_id` the link they used. An invite
//!   sets both; a direct re-join leaves them as they were; a split copies them into the
//!   sub-community, so the tree survives the move.
//! - `community_member_events` keeps every membership change: `event` (see
//!   [`HistoryEntry`]), `actor_id` (who caused it: the member, the admin, or for
//!   `joined_via_invite` the inviter) and `related_community_id` (the other community of a
//!   split move: the parent on `moved_from_parent`, the sub-community on `moved_to_sub`).
//! - `community_invites.code_hash` stores only the SHA-256 of the invite code, like every
//!   secret kith hands out; the link is shown once, when it is made.
//!
//! Every change runs in one transaction with its outbox event (`community.*`), routed to
//! the owning merchant's webhooks when a merchant owns the community.

use std::collections::HashSet;

use kith_domain::BoundedText;
use kith_store::{Conn, Value};
use serde::{Deserialize, Serialize};

use super::store::communities::{
    account_exists, announcements_page, approve_pending, ban, history_page, insert_announcement,
    insert_community, insert_owner, insert_sub_community, leave, load_announcement, members_page,
    memberships_of, merchant_exists, move_members, my_communities, remove, set_opinion_leader,
    set_role, sub_communities, tags_and_cover, unban, update_community_columns, upsert_join,
};
pub(super) use super::store::communities::{member_event, membership, meta};
use crate::platform::auth::{StaffNeed, require_trading_staff};
use crate::platform::ids::{AccountId, CommunityId, InviteId, MerchantId, new_id, parse_id};
use crate::platform::page::{NIL_ID, Page, PageRequest};
pub(super) use crate::social::store::{load_community, load_member};
use crate::{App, AppError, AppResult, Principal, platform::outbox};

/// Most tags a community carries.
pub const MAX_TAGS: usize = 10;
/// Most members one split moves.
pub const MAX_SPLIT: usize = 500;

/// Who may join: anyone at once, anyone after an admin approves, or only through an invite.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum JoinPolicy {
    Open,
    Approval,
    InviteOnly,
}

impl JoinPolicy {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Open => "open",
            Self::Approval => "approval",
            Self::InviteOnly => "invite_only",
        }
    }

    pub(super) fn from_db(s: &str) -> AppResult<Self> {
        match s {
            "open" => Ok(Self::Open),
            "approval" => Ok(Self::Approval),
            "invite_only" => Ok(Self::InviteOnly),
            _ => Err(AppError::Internal(format!("unknown join policy {s}"))),
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum CommunityRole {
    Owner,
    Admin,
    Member,
}

impl CommunityRole {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Owner => "owner",
            Self::Admin => "admin",
            Self::Member => "member",
        }
    }

    pub(super) fn from_db(s: &str) -> AppResult<Self> {
        match s {
            "owner" => Ok(Self::Owner),
            "admin" => Ok(Self::Admin),
            "member" => Ok(Self::Member),
            _ => Err(AppError::Internal(format!("unknown community role {s}"))),
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum MemberState {
    Active,
    /// Asked to join an approval community; waiting for an admin.
    Pending,
    Left,
    Removed,
    Banned,
}

impl MemberState {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Active => "active",
            Self::Pending => "pending",
            Self::Left => "left",
            Self::Removed => "removed",
            Self::Banned => "banned",
        }
    }

    pub(super) fn from_db(s: &str) -> AppResult<Self> {
        match s {
            "active" => Ok(Self::Active),
            "pending" => Ok(Self::Pending),
            "left" => Ok(Self::Left),
            "removed" => Ok(Self::Removed),
            "banned" => Ok(Self::Banned),
            _ => Err(AppError::Internal(format!("unknown member state {s}"))),
        }
    }
}

#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct Community {
    pub id: CommunityId,
    pub name: String,
    pub description: String,
    pub cover_media_id: Option<String>,
    pub tags: Vec<String>,
    pub join_policy: JoinPolicy,
    /// The merchant that owns it, if a merchant does.
    pub merchant_id: Option<MerchantId>,
    pub owner_account_id: AccountId,
    /// The community it was split from.
    pub parent_id: Option<CommunityId>,
    /// Active members.
    pub member_count: i64,
    pub created_at: String,
    /// The caller's role while they are an active or pending member; null otherwise.
    pub my_role: Option<CommunityRole>,
    /// The caller's membership state (null if they never had one).
    pub my_state: Option<MemberState>,
}

#[derive(Debug, Clone, Default)]
pub struct CommunityInput {
    pub name: String,
    pub description: Option<String>,
    pub tags: Vec<String>,
    pub join_policy: Option<JoinPolicy>,
    pub merchant_id: Option<String>,
    pub cover_media_id: Option<String>,
}

/// Fields left out are unchanged; `cover_media_id: ""` removes the cover.
#[derive(Debug, Clone, Default)]
pub struct CommunityPatch {
    pub name: Option<String>,
    pub description: Option<String>,
    pub tags: Option<Vec<String>>,
    pub join_policy: Option<JoinPolicy>,
    pub cover_media_id: Option<String>,
}

/// An active member as the member list shows them.
#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct CommunityMember {
    pub account_id: AccountId,
    pub display_name: String,
    /// Their picture, if they chose one.
    pub avatar: Option<crate::social::media::MediaRef>,
    pub role: CommunityRole,
    /// The 意见领袖 badge.
    pub opinion_leader: bool,
    /// Who brought them in (the fission tree's edge), if an invite did.
    pub invited_by: Option<AccountId>,
    /// The invite link they used.
    pub invite_id: Option<InviteId>,
    pub joined_at: String,
}

/// An invite link. `code` and `url_path` are present only in the response that made it.
#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct CommunityInvite {
    pub id: InviteId,
    pub community_id: CommunityId,
    pub code: Option<String>,
    /// `/c/join/{code}`: the page that accepts it.
    pub url_path: Option<String>,
    pub inviter_id: AccountId,
    pub max_uses: Option<i64>,
    pub uses: i64,
    pub expires_at: Option<String>,
    pub revoked: bool,
    pub created_at: String,
}

#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct Announcement {
    pub id: String,
    pub community_id: CommunityId,
    pub author_id: AccountId,
    pub author_name: String,
    pub body: String,
    pub created_at: String,
}

/// One membership change. `event` is one of `created` (the owner, at creation), `joined`,
/// `requested`, `approved`, `joined_via_invite`, `left`, `removed`, `rejected` (a pending
/// request removed), `banned`, `unbanned`, `made_admin`, `made_member`,
/// `opinion_leader_on`, `opinion_leader_off`, `moved_to_sub`, `moved_from_parent`.
#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct HistoryEntry {
    pub id: i64,
    pub account_id: AccountId,
    pub display_name: String,
    pub event: String,
    /// Who caused it: the member themself, an admin, or the inviter for invite joins.
    pub actor_id: Option<AccountId>,
    /// For split moves, the other community: the sub-community on `moved_to_sub`, the
    /// parent on `moved_from_parent` (and on `created` of a sub-community).
    pub related_community_id: Option<CommunityId>,
    pub at: String,
}

/// What an action needs of the caller's membership (always active).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Need {
    Member,
    Admin,
    Owner,
}

/// The facts of a community the rules look at.
pub(super) struct Meta {
    pub(super) policy: JoinPolicy,
    pub(super) merchant_id: Option<String>,
    pub(super) owner: String,
}

/// The community (404) and the caller's role in it, if it satisfies `need` (403).
pub(super) fn require_role(
    c: &mut dyn Conn,
    who: &Principal,
    community_id: &str,
    need: Need,
) -> AppResult<(Meta, CommunityRole)> {
    let m = meta(c, community_id)?;
    let role = match membership(c, community_id, &who.account_id)? {
        Some((role, MemberState::Active)) => role,
        _ => {
            return Err(AppError::Forbidden(
                "you are not a member of this community".into(),
            ));
        }
    };
    match (need, role) {
        (Need::Member, _) | (Need::Admin, CommunityRole::Owner | CommunityRole::Admin) => {
            Ok((m, role))
        }
        (Need::Owner, CommunityRole::Owner) => Ok((m, role)),
        (Need::Admin, _) => Err(AppError::Forbidden(
            "only the community's owner or admins may do this".into(),
        )),
        (Need::Owner, _) => Err(AppError::Forbidden(
            "only the community's owner may do this".into(),
        )),
    }
}

pub(super) fn emit(
    c: &mut dyn Conn,
    now: i64,
    topic: &str,
    m: &Meta,
    community_id: &str,
    payload: serde_json::Value,
) -> AppResult<()> {
    outbox::emit(
        c,
        now,
        topic,
        m.merchant_id.as_deref(),
        community_id,
        &payload,
    )?;
    Ok(())
}

pub(super) fn parse_name(name: &str) -> AppResult<String> {
    Ok(BoundedText::parse("name", name, 2, 32)?.into_string())
}

pub(super) fn parse_description(d: &str) -> AppResult<String> {
    Ok(BoundedText::parse_multiline("description", d, 0, 500)?.into_string())
}

/// At most ten tags of 1–16 characters; repeats are dropped. Stored as a JSON array.
pub(super) fn parse_tags(tags: &[String]) -> AppResult<String> {
    if tags.len() > MAX_TAGS {
        return Err(AppError::invalid(
            "tags",
            format!("at most {MAX_TAGS} tags"),
        ));
    }
    let mut out: Vec<String> = Vec::with_capacity(tags.len());
    for (i, t) in tags.iter().enumerate() {
        let t = BoundedText::parse(&format!("tags[{i}]"), t, 1, 16)?.into_string();
        if !out.contains(&t) {
            out.push(t);
        }
    }
    serde_json::to_string(&out).map_err(|e| AppError::Internal(format!("serialize tags: {e}")))
}

/// A cover must be an image the acting member uploaded themselves — not merely any id in
/// the `media` table, which would let anyone show another member's photo.
pub(super) fn check_cover(c: &mut dyn Conn, cover: &str, who: &str) -> AppResult<()> {
    let mine = cover.len() <= 128 && super::media::uploaded_by(c, cover, who)?;
    if mine {
        Ok(())
    } else {
        Err(AppError::invalid(
            "cover_media_id",
            "names no image you uploaded",
        ))
    }
}

/// The membership a moderator acts on: it must exist, not be the owner's, and an admin
/// may act only on plain members. Returns the target's `(role, state)`.
pub(super) fn moderation_target(
    c: &mut dyn Conn,
    actor_role: CommunityRole,
    m: &Meta,
    community_id: &str,
    target: &str,
) -> AppResult<Option<(CommunityRole, MemberState)>> {
    if target == m.owner {
        return Err(AppError::Forbidden(
            "nobody can remove or ban the community's owner".into(),
        ));
    }
    let current = membership(c, community_id, target)?;
    if actor_role == CommunityRole::Admin
        && matches!(current, Some((CommunityRole::Admin, MemberState::Active)))
    {
        return Err(AppError::Forbidden(
            "an admin cannot remove or ban another admin; ask the owner".into(),
        ));
    }
    Ok(current)
}

impl App {
    /// Creates a community; the caller is its owner. With `merchant_id` the community
    /// belongs to that merchant, and the caller must be its staff (and it trading).
    pub async fn create_community(
        &self,
        who: &Principal,
        input: CommunityInput,
    ) -> AppResult<Community> {
        let name = parse_name(&input.name)?;
        let description = parse_description(input.description.as_deref().unwrap_or(""))?;
        let tags = parse_tags(&input.tags)?;
        let policy = input.join_policy.unwrap_or(JoinPolicy::Open);
        let merchant = input
            .merchant_id
            .as_deref()
            .map(|m| parse_id(m).ok_or_else(|| AppError::invalid("merchant_id", "is not an id")))
            .transpose()?;
        let cover = input.cover_media_id.filter(|s| !s.is_empty());
        let now = self.now_ms();
        let who = who.clone();
        self.db
            .write(move |c| {
                if let Some(mid) = &merchant {
                    if !merchant_exists(c, mid)? {
                        return Err(AppError::invalid("merchant_id", "no such merchant"));
                    }
                    require_trading_staff(c, &who, mid, StaffNeed::AnyStaff)?;
                }
                if let Some(cover) = &cover {
                    check_cover(c, cover, &who.account_id)?;
                }
                let id = new_id();
                insert_community(
                    c,
                    &id,
                    &name,
                    &description,
                    cover.as_deref(),
                    &tags,
                    policy.as_str(),
                    merchant.as_deref(),
                    &who.account_id,
                    now,
                )?;
                insert_owner(c, &id, &who.account_id, now)?;
                member_event(
                    c,
                    now,
                    &id,
                    &who.account_id,
                    "created",
                    Some(&who.account_id),
                    None,
                )?;
                let m = Meta {
                    policy,
                    merchant_id: merchant.clone(),
                    owner: who.account_id.clone(),
                };
                emit(
                    c,
                    now,
                    "community.created",
                    &m,
                    &id,
                    serde_json::json!({
                        "community_id": id, "name": name, "owner_account_id": who.account_id,
                        "merchant_id": merchant, "join_policy": policy.as_str(),
                    }),
                )?;
                load_community(c, &id, &who.account_id)
            })
            .await
    }

    /// A community's profile: public (the landing page of an invite link shows it).
    pub async fn get_community(
        &self,
        who: Option<&Principal>,
        community_id: &CommunityId,
    ) -> AppResult<Community> {
        let viewer = who.map_or_else(|| NIL_ID.to_owned(), |p| p.account_id.clone());
        let id = community_id.clone();
        self.db.read(move |c| load_community(c, &id, &viewer)).await
    }

    /// The owner or an admin changes the profile or the join policy.
    pub async fn update_community(
        &self,
        who: &Principal,
        community_id: &CommunityId,
        patch: CommunityPatch,
    ) -> AppResult<Community> {
        let name = patch.name.as_deref().map(parse_name).transpose()?;
        let description = patch
            .description
            .as_deref()
            .map(parse_description)
            .transpose()?;
        let tags = patch.tags.as_deref().map(parse_tags).transpose()?;
        let now = self.now_ms();
        let (who, id) = (who.clone(), community_id.clone());
        self.db
            .write(move |c| {
                let (m, _) = require_role(c, &who, &id, Need::Admin)?;
                let mut columns: Vec<(&str, Value)> = Vec::new();
                let mut set = |col: &'static str, v: Value| columns.push((col, v));
                if let Some(n) = &name {
                    set("name", n.into());
                }
                if let Some(d) = &description {
                    set("description", d.into());
                }
                if let Some(t) = &tags {
                    set("tags", t.into());
                }
                if let Some(p) = patch.join_policy {
                    set("join_policy", p.as_str().into());
                }
                match patch.cover_media_id.as_deref() {
                    None => {}
                    Some("") => set("cover_media_id", Value::Null),
                    Some(cover) => {
                        check_cover(c, cover, &who.account_id)?;
                        set("cover_media_id", cover.into());
                    }
                }
                set("updated_at", now.into());
                update_community_columns(c, &id, columns)?;
                emit(
                    c,
                    now,
                    "community.updated",
                    &m,
                    &id,
                    serde_json::json!({
                        "community_id": id, "by": who.account_id,
                    }),
                )?;
                load_community(c, &id, &who.account_id)
            })
            .await
    }

    /// The caller's communities (active, and pending requests), in the order they joined.
    pub async fn my_communities(
        &self,
        who: &Principal,
        page: PageRequest,
    ) -> AppResult<Page<Community>> {
        let me = who.account_id.clone();
        let limit = page.limit;
        let rows = self.db.read(move |c| my_communities(c, &me, &page)).await?;
        Ok(Page::from_keyed(rows, limit, |cm| &cm.id))
    }

    /// The caller asks to join: an open community takes them at once, an approval one
    /// records a pending request. Invite-only communities need an invite link (403,
    /// nothing written); banned members are refused (403).
    pub async fn join_community(
        &self,
        who: &Principal,
        community_id: &CommunityId,
    ) -> AppResult<Community> {
        let now = self.now_ms();
        let (who, id) = (who.clone(), community_id.clone());
        self.db
            .write(move |c| {
                let m = meta(c, &id)?;
                match membership(c, &id, &who.account_id)? {
                    Some((_, MemberState::Banned)) => {
                        return Err(AppError::Forbidden("you are banned from this community".into()));
                    }
                    Some((_, MemberState::Active)) => {
                        return Err(AppError::state("you are already a member of this community"));
                    }
                    Some((_, MemberState::Pending)) => {
                        return Err(AppError::state("your request to join is waiting for approval"));
                    }
                    _ => {}
                }
                let (state, event, topic) = match m.policy {
                    JoinPolicy::InviteOnly => {
                        return Err(AppError::Forbidden(
                            "this community is invite-only: it needs an invite to join".into(),
                        ));
                    }
                    JoinPolicy::Open => (MemberState::Active, "joined", "community.joined"),
                    JoinPolicy::Approval => (MemberState::Pending, "requested", "community.join_requested"),
                };
                // A former member's row comes back; the fission edge (invited_by) stays.
                if !upsert_join(c, &id, &who.account_id, state.as_str(), now)? {
                    return Err(AppError::state("your membership changed meanwhile; try again"));
                }
                member_event(c, now, &id, &who.account_id, event, Some(&who.account_id), None)?;
                emit(c, now, topic, &m, &id, serde_json::json!({
                    "community_id": id, "account_id": who.account_id, "via": "join", "invited_by": null,
                }))?;
                load_community(c, &id, &who.account_id)
            })
            .await
    }

    /// The owner or an admin approves a pending request.
    pub async fn approve_member(
        &self,
        who: &Principal,
        community_id: &CommunityId,
        account_id: &AccountId,
    ) -> AppResult<CommunityMember> {
        let now = self.now_ms();
        let (who, id, aid) = (who.clone(), community_id.clone(), account_id.clone());
        self.db
            .write(move |c| {
                let (m, _) = require_role(c, &who, &id, Need::Admin)?;
                if !approve_pending(c, &id, &aid, now)? {
                    return Err(AppError::NotFound("join request"));
                }
                member_event(c, now, &id, &aid, "approved", Some(&who.account_id), None)?;
                emit(c, now, "community.joined", &m, &id, serde_json::json!({
                    "community_id": id, "account_id": aid, "via": "approval", "approved_by": who.account_id,
                }))?;
                load_member(c, &id, &aid)
            })
            .await
    }

    /// A member leaves. The owner cannot (409): a community always has its owner.
    pub async fn leave_community(
        &self,
        who: &Principal,
        community_id: &CommunityId,
    ) -> AppResult<()> {
        let now = self.now_ms();
        let (who, id) = (who.clone(), community_id.clone());
        self.db
            .write(move |c| {
                let m = meta(c, &id)?;
                if m.owner == who.account_id {
                    return Err(AppError::state("the owner cannot leave their community"));
                }
                if !leave(c, &id, &who.account_id, now)? {
                    return Err(AppError::state("you are not a member of this community"));
                }
                member_event(
                    c,
                    now,
                    &id,
                    &who.account_id,
                    "left",
                    Some(&who.account_id),
                    None,
                )?;
                emit(
                    c,
                    now,
                    "community.left",
                    &m,
                    &id,
                    serde_json::json!({
                        "community_id": id, "account_id": who.account_id,
                    }),
                )
            })
            .await
    }

    /// Active members, in the order they joined. Visible to active members, and to
    /// everyone for open communities. Members in a block with the viewer are left out.
    pub async fn list_members(
        &self,
        who: Option<&Principal>,
        community_id: &CommunityId,
        page: PageRequest,
    ) -> AppResult<Page<CommunityMember>> {
        let (who, id) = (who.cloned(), community_id.clone());
        let limit = page.limit;
        let rows = self
            .db
            .read(move |c| {
                let m = meta(c, &id)?;
                if m.policy != JoinPolicy::Open {
                    match &who {
                        Some(p) => {
                            require_role(c, p, &id, Need::Member)?;
                        }
                        None => {
                            return Err(AppError::Forbidden(
                                "only members see who is in this community".into(),
                            ));
                        }
                    }
                }
                let viewer = who.as_ref().map_or(NIL_ID, |p| p.account_id.as_str());
                members_page(c, &id, viewer, &page)
            })
            .await?;
        Ok(Page::from_keyed(rows, limit, |m| &m.account_id))
    }

    /// The owner makes an active member an admin, or an admin a member again.
    pub async fn set_member_role(
        &self,
        who: &Principal,
        community_id: &CommunityId,
        account_id: &AccountId,
        role: CommunityRole,
    ) -> AppResult<CommunityMember> {
        if role == CommunityRole::Owner {
            return Err(AppError::invalid("role", "must be admin or member"));
        }
        let now = self.now_ms();
        let (who, id, aid) = (who.clone(), community_id.clone(), account_id.clone());
        self.db
            .write(move |c| {
                let (m, _) = require_role(c, &who, &id, Need::Owner)?;
                if aid == m.owner {
                    return Err(AppError::state("the owner's role cannot change"));
                }
                if set_role(c, &id, &aid, role.as_str(), now)? {
                    let event = if role == CommunityRole::Admin {
                        "made_admin"
                    } else {
                        "made_member"
                    };
                    member_event(c, now, &id, &aid, event, Some(&who.account_id), None)?;
                    emit(
                        c,
                        now,
                        "community.role_changed",
                        &m,
                        &id,
                        serde_json::json!({
                            "community_id": id, "account_id": aid, "role": role.as_str(),
                        }),
                    )?;
                } else if !matches!(membership(c, &id, &aid)?, Some((_, MemberState::Active))) {
                    return Err(AppError::NotFound("member"));
                }
                load_member(c, &id, &aid)
            })
            .await
    }

    /// The owner or an admin gives or takes the opinion-leader (意见领袖) badge.
    pub async fn set_opinion_leader(
        &self,
        who: &Principal,
        community_id: &CommunityId,
        account_id: &AccountId,
        value: bool,
    ) -> AppResult<CommunityMember> {
        let now = self.now_ms();
        let (who, id, aid) = (who.clone(), community_id.clone(), account_id.clone());
        self.db
            .write(move |c| {
                let (m, _) = require_role(c, &who, &id, Need::Admin)?;
                if set_opinion_leader(c, &id, &aid, value, now)? {
                    let event = if value {
                        "opinion_leader_on"
                    } else {
                        "opinion_leader_off"
                    };
                    member_event(c, now, &id, &aid, event, Some(&who.account_id), None)?;
                    emit(
                        c,
                        now,
                        "community.opinion_leader_changed",
                        &m,
                        &id,
                        serde_json::json!({
                            "community_id": id, "account_id": aid, "opinion_leader": value,
                        }),
                    )?;
                } else if !matches!(membership(c, &id, &aid)?, Some((_, MemberState::Active))) {
                    return Err(AppError::NotFound("member"));
                }
                load_member(c, &id, &aid)
            })
            .await
    }

    /// The owner or an admin removes an active member (or turns down a pending request).
    /// Never the owner; an admin cannot remove another admin.
    pub async fn remove_member(
        &self,
        who: &Principal,
        community_id: &CommunityId,
        account_id: &AccountId,
    ) -> AppResult<()> {
        let now = self.now_ms();
        let (who, id, aid) = (who.clone(), community_id.clone(), account_id.clone());
        self.db
            .write(move |c| {
                let (m, my_role) = require_role(c, &who, &id, Need::Admin)?;
                let (role, state) = match moderation_target(c, my_role, &m, &id, &aid)? {
                    Some((role, s @ (MemberState::Active | MemberState::Pending))) => (role, s),
                    _ => return Err(AppError::NotFound("member")),
                };
                if !remove(c, &id, &aid, state.as_str(), role.as_str(), now)? {
                    return Err(AppError::state("the membership changed meanwhile; try again"));
                }
                let event = if state == MemberState::Pending { "rejected" } else { "removed" };
                member_event(c, now, &id, &aid, event, Some(&who.account_id), None)?;
                emit(c, now, "community.member_removed", &m, &id, serde_json::json!({
                    "community_id": id, "account_id": aid, "by": who.account_id, "was": state.as_str(),
                }))
            })
            .await
    }

    /// The owner or an admin bans an account: it loses its membership (if any) and can no
    /// longer join, even by invite. Never the owner; an admin cannot ban another admin.
    pub async fn ban_member(
        &self,
        who: &Principal,
        community_id: &CommunityId,
        account_id: &AccountId,
    ) -> AppResult<()> {
        let now = self.now_ms();
        let (who, id, aid) = (who.clone(), community_id.clone(), account_id.clone());
        self.db
            .write(move |c| {
                let (m, my_role) = require_role(c, &who, &id, Need::Admin)?;
                if !account_exists(c, &aid)? {
                    return Err(AppError::NotFound("account"));
                }
                let current = moderation_target(c, my_role, &m, &id, &aid)?;
                if let Some((_, MemberState::Banned)) = current {
                    return Err(AppError::state("this account is already banned"));
                }
                if !ban(
                    c,
                    &id,
                    &aid,
                    current.map_or("member", |(r, _)| r.as_str()),
                    now,
                )? {
                    return Err(AppError::state(
                        "the membership changed meanwhile; try again",
                    ));
                }
                member_event(c, now, &id, &aid, "banned", Some(&who.account_id), None)?;
                emit(
                    c,
                    now,
                    "community.member_banned",
                    &m,
                    &id,
                    serde_json::json!({
                        "community_id": id, "account_id": aid, "by": who.account_id,
                    }),
                )
            })
            .await
    }

    /// The owner or an admin lifts a ban; the account may join again (as a new member).
    pub async fn unban_member(
        &self,
        who: &Principal,
        community_id: &CommunityId,
        account_id: &AccountId,
    ) -> AppResult<()> {
        let now = self.now_ms();
        let (who, id, aid) = (who.clone(), community_id.clone(), account_id.clone());
        self.db
            .write(move |c| {
                let (m, _) = require_role(c, &who, &id, Need::Admin)?;
                if !unban(c, &id, &aid, now)? {
                    return Err(AppError::NotFound("ban"));
                }
                member_event(c, now, &id, &aid, "unbanned", Some(&who.account_id), None)?;
                emit(
                    c,
                    now,
                    "community.member_unbanned",
                    &m,
                    &id,
                    serde_json::json!({
                        "community_id": id, "account_id": aid, "by": who.account_id,
                    }),
                )
            })
            .await
    }

    /// The owner or an admin posts an announcement (1–1000 characters).
    pub async fn post_announcement(
        &self,
        who: &Principal,
        community_id: &CommunityId,
        body: &str,
    ) -> AppResult<Announcement> {
        let body = BoundedText::parse_multiline("body", body, 1, 1000)?.into_string();
        let now = self.now_ms();
        let (who, id) = (who.clone(), community_id.clone());
        self.db
            .write(move |c| {
                let (m, _) = require_role(c, &who, &id, Need::Admin)?;
                let aid = new_id();
                insert_announcement(c, &aid, &id, &who.account_id, &body, now)?;
                emit(
                    c,
                    now,
                    "community.announcement_posted",
                    &m,
                    &id,
                    serde_json::json!({
                        "community_id": id, "announcement_id": aid, "author_id": who.account_id,
                    }),
                )?;
                load_announcement(c, &aid)
            })
            .await
    }

    /// Announcements, newest first; for active members.
    pub async fn list_announcements(
        &self,
        who: &Principal,
        community_id: &CommunityId,
        page: PageRequest,
    ) -> AppResult<Page<Announcement>> {
        let (who, id) = (who.clone(), community_id.clone());
        let limit = page.limit;
        let rows = self
            .db
            .read(move |c| {
                require_role(c, &who, &id, Need::Member)?;
                announcements_page(c, &id, &page)
            })
            .await?;
        Ok(Page::from_keyed(rows, limit, |a| &a.id))
    }

    /// The owner splits chosen active members out into a new sub-community: it gets
    /// `parent_id` = this community, the caller as owner, the parent's join policy, tags,
    /// cover and merchant. The members leave the parent (`moved_to_sub`) and are active in
    /// the child (`moved_from_parent`), keeping who invited them and their badge. One
    /// transaction: all move or none.
    pub async fn split_community(
        &self,
        who: &Principal,
        community_id: &CommunityId,
        name: &str,
        description: Option<&str>,
        member_ids: &[String],
    ) -> AppResult<Community> {
        let name = parse_name(name)?;
        let description = parse_description(description.unwrap_or(""))?;
        if member_ids.is_empty() || member_ids.len() > MAX_SPLIT {
            return Err(AppError::invalid(
                "member_ids",
                format!("must list 1–{MAX_SPLIT} members"),
            ));
        }
        let mut ids: Vec<String> = Vec::with_capacity(member_ids.len());
        let mut seen = HashSet::new();
        for (i, raw) in member_ids.iter().enumerate() {
            let id = parse_id(raw)
                .ok_or_else(|| AppError::invalid(format!("member_ids[{i}]"), "is not an id"))?;
            if !seen.insert(id.clone()) {
                return Err(AppError::invalid(
                    format!("member_ids[{i}]"),
                    "is listed twice",
                ));
            }
            ids.push(id);
        }
        let now = self.now_ms();
        let (who, parent) = (who.clone(), community_id.clone());
        self.db
            .write(move |c| {
                let (m, _) = require_role(c, &who, &parent, Need::Owner)?;
                // Every chosen account must be an active member other than the owner.
                let found = memberships_of(c, &parent, &ids)?;
                for (i, id) in ids.iter().enumerate() {
                    match found.get(id) {
                        _ if *id == m.owner => {
                            return Err(AppError::invalid(format!("member_ids[{i}]"), "is the owner, who stays"));
                        }
                        Some((_, state)) if state == "active" => {}
                        _ => {
                            return Err(AppError::invalid(format!("member_ids[{i}]"), "is not an active member of this community"));
                        }
                    }
                }
let (tags, cover) = tags_and_cover(c, &parent)?;
                let child = new_id();
                insert_sub_community(c, &child, &name, &description, cover.as_deref(), &tags, m.policy.as_str(), m.merchant_id.as_deref(), &who.account_id, &parent, now)?;
                insert_owner(c, &child, &who.account_id, now)?;
                member_event(c, now, &child, &who.account_id, "created", Some(&who.account_id), Some(&parent))?;
                let (moved, left) = move_members(c, &child, &parent, &ids, now)?;
                if moved != ids.len() as u64 || left != ids.len() as u64 {
                    return Err(AppError::state("the membership changed meanwhile; try again"));
                }
                emit(c, now, "community.split", &m, &parent, serde_json::json!({
                    "community_id": parent, "sub_community_id": child, "member_ids": ids, "by": who.account_id,
                }))?;
                load_community(c, &child, &who.account_id)
            })
            .await
    }

    /// The communities split from this one, oldest first (at most 200). Public like the
    /// community itself.
    pub async fn subcommunities(
        &self,
        who: Option<&Principal>,
        community_id: &CommunityId,
    ) -> AppResult<Vec<Community>> {
        let viewer = who.map_or_else(|| NIL_ID.to_owned(), |p| p.account_id.clone());
        let id = community_id.clone();
        self.db
            .read(move |c| {
                meta(c, &id)?;
                sub_communities(c, &id, &viewer)
            })
            .await
    }

    /// Every membership change, oldest first; for the owner and admins.
    pub async fn community_history(
        &self,
        who: &Principal,
        community_id: &CommunityId,
        page: PageRequest,
    ) -> AppResult<Page<HistoryEntry>> {
        let (who, id) = (who.clone(), community_id.clone());
        let limit = page.limit;
        let rows = self
            .db
            .read(move |c| {
                require_role(c, &who, &id, Need::Admin)?;
                history_page(c, &id, &page)
            })
            .await?;
        Ok(Page::from_keyed(rows, limit, |_| ""))
    }
}
