use axum::Json;
use axum::extract::State;
use axum::http::StatusCode;
use kith_app::platform::page::Page;
use kith_app::social::communities::{
    Announcement, Community, CommunityInput, CommunityInvite, CommunityMember, CommunityPatch,
    CommunityRole, HistoryEntry, JoinPolicy,
};
use serde::Deserialize;
use utoipa::ToSchema;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use crate::extract::{ApiJson, ApiPath, ApiQuery, Auth, MaybeAuth, PageParams};
use crate::ids::{AccountId, CommunityId, InviteId};
use crate::problem::{ApiResult, Problem};
use crate::state::AppState;

pub fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(create))
        .routes(routes!(get_one, update))
        .routes(routes!(mine))
        .routes(routes!(join))
        .routes(routes!(leave))
        .routes(routes!(approve))
        .routes(routes!(members))
        .routes(routes!(set_role))
        .routes(routes!(set_opinion_leader))
        .routes(routes!(remove))
        .routes(routes!(ban))
        .routes(routes!(unban))
        .routes(routes!(create_invite, list_invites))
        .routes(routes!(revoke_invite))
        .routes(routes!(accept_invite))
        .routes(routes!(post_announcement, list_announcements))
        .routes(routes!(split))
        .routes(routes!(subcommunities))
        .routes(routes!(history))
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct NewCommunityBody {
    /// 2–32 characters.
    #[schema(min_length = 2, max_length = 32)]
    pub name: String,
    /// Up to 500 characters.
    #[schema(max_length = 500)]
    pub description: Option<String>,
    /// Up to 10 topic tags of 1–16 characters.
    #[serde(default)]
    #[schema(max_items = 10)]
    pub tags: Vec<String>,
    /// `open` (default), `approval` or `invite_only`.
    pub join_policy: Option<JoinPolicy>,
    /// A merchant the caller is staff of: the community belongs to it.
    pub merchant_id: Option<String>,
    /// An uploaded image.
    pub cover_media_id: Option<String>,
}

/// Create a community; you are its owner.
#[utoipa::path(post, path = "/api/v1/communities", tag = "communities", request_body = NewCommunityBody, security(("bearer" = [])),
    responses((status = 201, body = Community), (status = 403, body = Problem), (status = 422, body = Problem)))]
async fn create(
    State(s): State<AppState>,
    Auth(p): Auth,
    ApiJson(b): ApiJson<NewCommunityBody>,
) -> ApiResult<(StatusCode, Json<Community>)> {
    let input = CommunityInput {
        name: b.name,
        description: b.description,
        tags: b.tags,
        join_policy: b.join_policy,
        merchant_id: b.merchant_id,
        cover_media_id: b.cover_media_id,
    };
    Ok((
        StatusCode::CREATED,
        Json(s.app.create_community(&p, input).await?),
    ))
}

/// A community's profile, with your role and membership state in it.
#[utoipa::path(get, path = "/api/v1/communities/{community_id}", tag = "communities", params(CommunityId),
    responses((status = 200, body = Community), (status = 404, body = Problem)))]
async fn get_one(
    State(s): State<AppState>,
    MaybeAuth(p): MaybeAuth,
    id: CommunityId,
) -> ApiResult<Json<Community>> {
    Ok(Json(s.app.get_community(p.as_ref(), &id).await?))
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct CommunityPatchBody {
    pub name: Option<String>,
    pub description: Option<String>,
    pub tags: Option<Vec<String>>,
    pub join_policy: Option<JoinPolicy>,
    /// An uploaded image; `""` removes the cover.
    pub cover_media_id: Option<String>,
}

/// Owner or admins: change the profile or the join policy. Fields left out are unchanged.
#[utoipa::path(patch, path = "/api/v1/communities/{community_id}", tag = "communities", params(CommunityId),
    request_body = CommunityPatchBody, security(("bearer" = [])),
    responses((status = 200, body = Community), (status = 403, body = Problem), (status = 404, body = Problem), (status = 422, body = Problem)))]
async fn update(
    State(s): State<AppState>,
    Auth(p): Auth,
    id: CommunityId,
    ApiJson(b): ApiJson<CommunityPatchBody>,
) -> ApiResult<Json<Community>> {
    let patch = CommunityPatch {
        name: b.name,
        description: b.description,
        tags: b.tags,
        join_policy: b.join_policy,
        cover_media_id: b.cover_media_id,
    };
    Ok(Json(s.app.update_community(&p, &id, patch).await?))
}

/// Your communities (active memberships and pending requests), in the order you joined.
#[utoipa::path(get, path = "/api/v1/me/communities", tag = "communities", params(PageParams), security(("bearer" = [])),
    responses((status = 200, body = Page<Community>), (status = 401, body = Problem), (status = 422, body = Problem)))]
async fn mine(
    State(s): State<AppState>,
    Auth(p): Auth,
    ApiQuery(q): ApiQuery<PageParams>,
) -> ApiResult<Json<Page<Community>>> {
    Ok(Json(s.app.my_communities(&p, q.parse()?).await?))
}

/// Join: at once in an open community, as a pending request in an approval one. An
/// invite-only community needs an invite link (403); banned accounts get 403.
#[utoipa::path(post, path = "/api/v1/communities/{community_id}/join", tag = "communities", params(CommunityId), security(("bearer" = [])),
    responses((status = 200, body = Community), (status = 403, body = Problem), (status = 404, body = Problem), (status = 409, body = Problem)))]
async fn join(
    State(s): State<AppState>,
    Auth(p): Auth,
    id: CommunityId,
) -> ApiResult<Json<Community>> {
    Ok(Json(s.app.join_community(&p, &id).await?))
}

/// Leave a community (the owner cannot: 409).
#[utoipa::path(post, path = "/api/v1/communities/{community_id}/leave", tag = "communities", params(CommunityId), security(("bearer" = [])),
    responses((status = 204, description = "left"), (status = 404, body = Problem), (status = 409, body = Problem)))]
async fn leave(State(s): State<AppState>, Auth(p): Auth, id: CommunityId) -> ApiResult<StatusCode> {
    s.app.leave_community(&p, &id).await?;
    Ok(StatusCode::NO_CONTENT)
}

/// Owner or admins: approve a pending request to join.
#[utoipa::path(post, path = "/api/v1/communities/{community_id}/members/{account_id}/approve", tag = "communities",
    params(CommunityId, AccountId), security(("bearer" = [])),
    responses((status = 200, body = CommunityMember), (status = 403, body = Problem), (status = 404, body = Problem)))]
async fn approve(
    State(s): State<AppState>,
    Auth(p): Auth,
    id: CommunityId,
    aid: AccountId,
) -> ApiResult<Json<CommunityMember>> {
    Ok(Json(s.app.approve_member(&p, &id, &aid).await?))
}

/// Active members, in the order they joined, with who invited each. Visible to active
/// members, and to everyone for open communities.
#[utoipa::path(get, path = "/api/v1/communities/{community_id}/members", tag = "communities", params(CommunityId, PageParams),
    responses((status = 200, body = Page<CommunityMember>), (status = 403, body = Problem), (status = 404, body = Problem), (status = 422, body = Problem)))]
async fn members(
    State(s): State<AppState>,
    MaybeAuth(p): MaybeAuth,
    id: CommunityId,
    ApiQuery(q): ApiQuery<PageParams>,
) -> ApiResult<Json<Page<CommunityMember>>> {
    Ok(Json(s.app.list_members(p.as_ref(), &id, q.parse()?).await?))
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct RoleBody {
    /// `admin` or `member`.
    pub role: CommunityRole,
}

/// Owner: make an active member an admin, or an admin a member again.
#[utoipa::path(put, path = "/api/v1/communities/{community_id}/members/{account_id}/role", tag = "communities",
    params(CommunityId, AccountId), request_body = RoleBody, security(("bearer" = [])),
    responses((status = 200, body = CommunityMember), (status = 403, body = Problem), (status = 404, body = Problem), (status = 409, body = Problem), (status = 422, body = Problem)))]
async fn set_role(
    State(s): State<AppState>,
    Auth(p): Auth,
    id: CommunityId,
    aid: AccountId,
    ApiJson(b): ApiJson<RoleBody>,
) -> ApiResult<Json<CommunityMember>> {
    Ok(Json(s.app.set_member_role(&p, &id, &aid, b.role).await?))
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct FlagBody {
    pub value: bool,
}

/// Owner or admins: give or take the opinion-leader (意见领袖) badge.
#[utoipa::path(put, path = "/api/v1/communities/{community_id}/members/{account_id}/opinion-leader", tag = "communities",
    params(CommunityId, AccountId), request_body = FlagBody, security(("bearer" = [])),
    responses((status = 200, body = CommunityMember), (status = 403, body = Problem), (status = 404, body = Problem), (status = 422, body = Problem)))]
async fn set_opinion_leader(
    State(s): State<AppState>,
    Auth(p): Auth,
    id: CommunityId,
    aid: AccountId,
    ApiJson(b): ApiJson<FlagBody>,
) -> ApiResult<Json<CommunityMember>> {
    Ok(Json(
        s.app.set_opinion_leader(&p, &id, &aid, b.value).await?,
    ))
}

/// Owner or admins: remove an active member or turn down a pending request. Never the
/// owner; an admin cannot remove another admin.
#[utoipa::path(post, path = "/api/v1/communities/{community_id}/members/{account_id}/remove", tag = "communities",
    params(CommunityId, AccountId), security(("bearer" = [])),
    responses((status = 204, description = "removed"), (status = 403, body = Problem), (status = 404, body = Problem)))]
async fn remove(
    State(s): State<AppState>,
    Auth(p): Auth,
    id: CommunityId,
    aid: AccountId,
) -> ApiResult<StatusCode> {
    s.app.remove_member(&p, &id, &aid).await?;
    Ok(StatusCode::NO_CONTENT)
}

/// Owner or admins: ban an account (member or not); it cannot join again, even by invite.
#[utoipa::path(post, path = "/api/v1/communities/{community_id}/members/{account_id}/ban", tag = "communities",
    params(CommunityId, AccountId), security(("bearer" = [])),
    responses((status = 204, description = "banned"), (status = 403, body = Problem), (status = 404, body = Problem), (status = 409, body = Problem)))]
async fn ban(
    State(s): State<AppState>,
    Auth(p): Auth,
    id: CommunityId,
    aid: AccountId,
) -> ApiResult<StatusCode> {
    s.app.ban_member(&p, &id, &aid).await?;
    Ok(StatusCode::NO_CONTENT)
}

/// Owner or admins: lift a ban.
#[utoipa::path(post, path = "/api/v1/communities/{community_id}/members/{account_id}/unban", tag = "communities",
    params(CommunityId, AccountId), security(("bearer" = [])),
    responses((status = 204, description = "ban lifted"), (status = 403, body = Problem), (status = 404, body = Problem)))]
async fn unban(
    State(s): State<AppState>,
    Auth(p): Auth,
    id: CommunityId,
    aid: AccountId,
) -> ApiResult<StatusCode> {
    s.app.unban_member(&p, &id, &aid).await?;
    Ok(StatusCode::NO_CONTENT)
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct NewInviteBody {
    /// 1–1000; unlimited when absent.
    pub max_uses: Option<i64>,
    /// 1–720; the link never expires when absent.
    pub expires_in_hours: Option<i64>,
}

/// Make an invite link. Any active member may in open and approval communities; only the
/// owner and admins in invite-only ones. The code is shown only here.
#[utoipa::path(post, path = "/api/v1/communities/{community_id}/invites", tag = "communities", params(CommunityId),
    request_body = NewInviteBody, security(("bearer" = [])),
    responses((status = 201, body = CommunityInvite), (status = 403, body = Problem), (status = 404, body = Problem), (status = 422, body = Problem)))]
async fn create_invite(
    State(s): State<AppState>,
    Auth(p): Auth,
    id: CommunityId,
    ApiJson(b): ApiJson<NewInviteBody>,
) -> ApiResult<(StatusCode, Json<CommunityInvite>)> {
    Ok((
        StatusCode::CREATED,
        Json(
            s.app
                .create_invite(&p, &id, b.max_uses, b.expires_in_hours)
                .await?,
        ),
    ))
}

/// Invite links: all for the owner and admins, your own for other members (no codes).
#[utoipa::path(get, path = "/api/v1/communities/{community_id}/invites", tag = "communities", params(CommunityId), security(("bearer" = [])),
    responses((status = 200, body = Vec<CommunityInvite>), (status = 403, body = Problem), (status = 404, body = Problem)))]
async fn list_invites(
    State(s): State<AppState>,
    Auth(p): Auth,
    id: CommunityId,
) -> ApiResult<Json<Vec<CommunityInvite>>> {
    Ok(Json(s.app.list_invites(&p, &id).await?))
}

/// Withdraw an invite link (its inviter, the owner or admins).
#[utoipa::path(post, path = "/api/v1/communities/{community_id}/invites/{invite_id}/revoke", tag = "communities",
    params(CommunityId, InviteId), security(("bearer" = [])),
    responses((status = 200, body = CommunityInvite), (status = 403, body = Problem), (status = 404, body = Problem), (status = 409, body = Problem)))]
async fn revoke_invite(
    State(s): State<AppState>,
    Auth(p): Auth,
    id: CommunityId,
    iid: InviteId,
) -> ApiResult<Json<CommunityInvite>> {
    Ok(Json(s.app.revoke_invite(&p, &id, &iid).await?))
}

/// Accept an invite link: join as an active member (past approval and invite-only), with
/// the inviter recorded. Expired, withdrawn or used-up links → 409; banned → 403.
#[utoipa::path(post, path = "/api/v1/community-invites/{code}/accept", tag = "communities", params(("code" = String, Path)), security(("bearer" = [])),
    responses((status = 200, body = Community), (status = 403, body = Problem), (status = 404, body = Problem), (status = 409, body = Problem)))]
async fn accept_invite(
    State(s): State<AppState>,
    Auth(p): Auth,
    ApiPath(code): ApiPath<String>,
) -> ApiResult<Json<Community>> {
    Ok(Json(s.app.accept_invite(&p, &code).await?))
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct AnnouncementBody {
    /// 1–1000 characters.
    pub body: String,
}

/// Owner or admins: post an announcement.
#[utoipa::path(post, path = "/api/v1/communities/{community_id}/announcements", tag = "communities", params(CommunityId),
    request_body = AnnouncementBody, security(("bearer" = [])),
    responses((status = 201, body = Announcement), (status = 403, body = Problem), (status = 404, body = Problem), (status = 422, body = Problem)))]
async fn post_announcement(
    State(s): State<AppState>,
    Auth(p): Auth,
    id: CommunityId,
    ApiJson(b): ApiJson<AnnouncementBody>,
) -> ApiResult<(StatusCode, Json<Announcement>)> {
    Ok((
        StatusCode::CREATED,
        Json(s.app.post_announcement(&p, &id, &b.body).await?),
    ))
}

/// Announcements, newest first (active members).
#[utoipa::path(get, path = "/api/v1/communities/{community_id}/announcements", tag = "communities", params(CommunityId, PageParams), security(("bearer" = [])),
    responses((status = 200, body = Page<Announcement>), (status = 403, body = Problem), (status = 404, body = Problem), (status = 422, body = Problem)))]
async fn list_announcements(
    State(s): State<AppState>,
    Auth(p): Auth,
    id: CommunityId,
    ApiQuery(q): ApiQuery<PageParams>,
) -> ApiResult<Json<Page<Announcement>>> {
    Ok(Json(s.app.list_announcements(&p, &id, q.parse()?).await?))
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct SplitBody {
    /// The sub-community's name (2–32 characters).
    #[schema(min_length = 2, max_length = 32)]
    pub name: String,
    /// Up to 500 characters.
    #[schema(max_length = 500)]
    pub description: Option<String>,
    /// 1–500 active members (not the owner) to move into it.
    #[schema(min_items = 1, max_items = 500)]
    pub member_ids: Vec<String>,
}

/// Owner: split chosen members out into a new sub-community (you own it). They leave this
/// community and join the new one, keeping who invited them; all in one step.
#[utoipa::path(post, path = "/api/v1/communities/{community_id}/split", tag = "communities", params(CommunityId),
    request_body = SplitBody, security(("bearer" = [])),
    responses((status = 201, body = Community), (status = 403, body = Problem), (status = 404, body = Problem), (status = 409, body = Problem), (status = 422, body = Problem)))]
async fn split(
    State(s): State<AppState>,
    Auth(p): Auth,
    id: CommunityId,
    ApiJson(b): ApiJson<SplitBody>,
) -> ApiResult<(StatusCode, Json<Community>)> {
    Ok((
        StatusCode::CREATED,
        Json(
            s.app
                .split_community(&p, &id, &b.name, b.description.as_deref(), &b.member_ids)
                .await?,
        ),
    ))
}

/// The communities split from this one.
#[utoipa::path(get, path = "/api/v1/communities/{community_id}/subcommunities", tag = "communities", params(CommunityId),
    responses((status = 200, body = Vec<Community>), (status = 404, body = Problem)))]
async fn subcommunities(
    State(s): State<AppState>,
    MaybeAuth(p): MaybeAuth,
    id: CommunityId,
) -> ApiResult<Json<Vec<Community>>> {
    Ok(Json(s.app.subcommunities(p.as_ref(), &id).await?))
}

/// Owner or admins: every membership change, oldest first.
#[utoipa::path(get, path = "/api/v1/communities/{community_id}/history", tag = "communities", params(CommunityId, PageParams), security(("bearer" = [])),
    responses((status = 200, body = Page<HistoryEntry>), (status = 403, body = Problem), (status = 404, body = Problem), (status = 422, body = Problem)))]
async fn history(
    State(s): State<AppState>,
    Auth(p): Auth,
    id: CommunityId,
    ApiQuery(q): ApiQuery<PageParams>,
) -> ApiResult<Json<Page<HistoryEntry>>> {
    Ok(Json(s.app.community_history(&p, &id, q.parse()?).await?))
}
