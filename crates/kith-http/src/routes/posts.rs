//! Posts, likes, comments, shares, reports, moderation and the lists of posts (an
//! account's, a community's, the feed). A post the caller may not see is 404 everywhere.

use axum::Json;
use axum::extract::State;
use axum::http::StatusCode;
use kith_app::platform::page::Page;
use kith_app::social::posts::{
    Comment, Like, Moderation, NewPost, Post, PostPatch, Report, ReportTarget, Share, ShareChannel,
    Visibility,
};
use serde::Deserialize;
use utoipa::ToSchema;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use crate::extract::{ApiJson, ApiQuery, Auth, MaybeAuth, PageParams};
use crate::ids::{AccountId, CommentId, CommunityId, PostId};
use crate::problem::{ApiResult, Problem};
use crate::state::AppState;

pub fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(create))
        .routes(routes!(get_one, update, delete))
        .routes(routes!(like, unlike))
        .routes(routes!(likes))
        .routes(routes!(add_comment, comments))
        .routes(routes!(delete_comment))
        .routes(routes!(share))
        .routes(routes!(report, reports))
        .routes(routes!(hide))
        .routes(routes!(unhide))
        .routes(routes!(account_posts))
        .routes(routes!(community_posts))
        .routes(routes!(feed))
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct NewPostBody {
    /// 1–2000 characters; line breaks allowed.
    #[schema(min_length = 1, max_length = 2000)]
    pub body: String,
    pub visibility: Visibility,
    /// Required exactly when `visibility` is `community`; the author must be an active
    /// member.
    pub community_id: Option<String>,
    /// Up to 9 media ids from `POST /api/v1/media`, uploaded by the author, in order.
    #[serde(default)]
    #[schema(max_items = 9)]
    pub images: Vec<String>,
    /// Up to 10 SKU ids of products on sale.
    #[serde(default)]
    #[schema(max_items = 10)]
    pub tags: Vec<String>,
}

/// Write a post.
#[utoipa::path(post, path = "/api/v1/posts", tag = "posts", request_body = NewPostBody, security(("bearer" = [])),
    responses((status = 201, body = Post), (status = 401, body = Problem), (status = 422, body = Problem)))]
async fn create(
    State(s): State<AppState>,
    Auth(p): Auth,
    ApiJson(b): ApiJson<NewPostBody>,
) -> ApiResult<(StatusCode, Json<Post>)> {
    let input = NewPost {
        body: b.body,
        visibility: b.visibility,
        community_id: b.community_id,
        images: b.images,
        tags: b.tags,
    };
    Ok((
        StatusCode::CREATED,
        Json(s.app.create_post(&p, input).await?),
    ))
}

/// A post, if its visibility lets the caller see it (404 otherwise).
#[utoipa::path(get, path = "/api/v1/posts/{post_id}", tag = "posts", params(PostId),
    responses((status = 200, body = Post), (status = 404, body = Problem)))]
async fn get_one(
    State(s): State<AppState>,
    MaybeAuth(p): MaybeAuth,
    id: PostId,
) -> ApiResult<Json<Post>> {
    Ok(Json(s.app.get_post(p.as_ref(), &id).await?))
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct PostPatchBody {
    pub body: Option<String>,
    pub visibility: Option<Visibility>,
    /// The community, when `visibility` is (or stays) `community`.
    pub community_id: Option<String>,
    /// Replaces the images.
    pub images: Option<Vec<String>>,
    /// Replaces the tagged SKUs.
    pub tags: Option<Vec<String>>,
}

/// The author edits their post; fields left out are unchanged.
#[utoipa::path(patch, path = "/api/v1/posts/{post_id}", tag = "posts", params(PostId),
    request_body = PostPatchBody, security(("bearer" = [])),
    responses((status = 200, body = Post), (status = 403, body = Problem), (status = 404, body = Problem), (status = 422, body = Problem)))]
async fn update(
    State(s): State<AppState>,
    Auth(p): Auth,
    id: PostId,
    ApiJson(b): ApiJson<PostPatchBody>,
) -> ApiResult<Json<Post>> {
    let patch = PostPatch {
        body: b.body,
        visibility: b.visibility,
        community_id: b.community_id,
        images: b.images,
        tags: b.tags,
    };
    Ok(Json(s.app.update_post(&p, &id, patch).await?))
}

/// The author deletes their post.
#[utoipa::path(delete, path = "/api/v1/posts/{post_id}", tag = "posts", params(PostId), security(("bearer" = [])),
    responses((status = 204, description = "deleted"), (status = 403, body = Problem), (status = 404, body = Problem)))]
async fn delete(State(s): State<AppState>, Auth(p): Auth, id: PostId) -> ApiResult<StatusCode> {
    s.app.delete_post(&p, &id).await?;
    Ok(StatusCode::NO_CONTENT)
}

/// Like a post (liking twice changes nothing).
#[utoipa::path(post, path = "/api/v1/posts/{post_id}/like", tag = "posts", params(PostId), security(("bearer" = [])),
    responses((status = 200, body = Post), (status = 404, body = Problem)))]
async fn like(State(s): State<AppState>, Auth(p): Auth, id: PostId) -> ApiResult<Json<Post>> {
    Ok(Json(s.app.like_post(&p, &id).await?))
}

/// Take a like back (nothing to take back changes nothing).
#[utoipa::path(delete, path = "/api/v1/posts/{post_id}/like", tag = "posts", params(PostId), security(("bearer" = [])),
    responses((status = 200, body = Post), (status = 404, body = Problem)))]
async fn unlike(State(s): State<AppState>, Auth(p): Auth, id: PostId) -> ApiResult<Json<Post>> {
    Ok(Json(s.app.unlike_post(&p, &id).await?))
}

/// Who liked a post, newest first (likers blocked with the caller are left out).
#[utoipa::path(get, path = "/api/v1/posts/{post_id}/likes", tag = "posts", params(PostId, PageParams),
    responses((status = 200, body = Page<Like>), (status = 404, body = Problem), (status = 422, body = Problem)))]
async fn likes(
    State(s): State<AppState>,
    MaybeAuth(p): MaybeAuth,
    id: PostId,
    ApiQuery(q): ApiQuery<PageParams>,
) -> ApiResult<Json<Page<Like>>> {
    Ok(Json(s.app.list_likes(p.as_ref(), &id, q.parse()?).await?))
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct CommentBody {
    /// 1–500 characters.
    pub body: String,
    /// A top-level comment of the same post to reply to (one level only).
    pub parent_id: Option<String>,
}

/// Comment on a post, or reply to a top-level comment.
#[utoipa::path(post, path = "/api/v1/posts/{post_id}/comments", tag = "posts", params(PostId),
    request_body = CommentBody, security(("bearer" = [])),
    responses((status = 201, body = Comment), (status = 404, body = Problem), (status = 422, body = Problem)))]
async fn add_comment(
    State(s): State<AppState>,
    Auth(p): Auth,
    id: PostId,
    ApiJson(b): ApiJson<CommentBody>,
) -> ApiResult<(StatusCode, Json<Comment>)> {
    Ok((
        StatusCode::CREATED,
        Json(
            s.app
                .add_comment(&p, &id, &b.body, b.parent_id.as_deref())
                .await?,
        ),
    ))
}

/// A post's comments: top-level oldest first, each with its replies.
#[utoipa::path(get, path = "/api/v1/posts/{post_id}/comments", tag = "posts", params(PostId, PageParams),
    responses((status = 200, body = Page<Comment>), (status = 404, body = Problem), (status = 422, body = Problem)))]
async fn comments(
    State(s): State<AppState>,
    MaybeAuth(p): MaybeAuth,
    id: PostId,
    ApiQuery(q): ApiQuery<PageParams>,
) -> ApiResult<Json<Page<Comment>>> {
    Ok(Json(
        s.app.list_comments(p.as_ref(), &id, q.parse()?).await?,
    ))
}

/// Delete a comment (and the replies under it): its author or the post's author.
#[utoipa::path(delete, path = "/api/v1/comments/{comment_id}", tag = "posts", params(CommentId), security(("bearer" = [])),
    responses((status = 204, description = "deleted"), (status = 403, body = Problem), (status = 404, body = Problem)))]
async fn delete_comment(
    State(s): State<AppState>,
    Auth(p): Auth,
    id: CommentId,
) -> ApiResult<StatusCode> {
    s.app.delete_comment(&p, &id).await?;
    Ok(StatusCode::NO_CONTENT)
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ShareBody {
    pub channel: ShareChannel,
}

/// Record that the caller shared a post.
#[utoipa::path(post, path = "/api/v1/posts/{post_id}/shares", tag = "posts", params(PostId),
    request_body = ShareBody, security(("bearer" = [])),
    responses((status = 201, body = Share), (status = 404, body = Problem), (status = 422, body = Problem)))]
async fn share(
    State(s): State<AppState>,
    Auth(p): Auth,
    id: PostId,
    ApiJson(b): ApiJson<ShareBody>,
) -> ApiResult<(StatusCode, Json<Share>)> {
    Ok((
        StatusCode::CREATED,
        Json(s.app.share_post(&p, &id, b.channel).await?),
    ))
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ReportBody {
    pub target_kind: ReportTarget,
    /// The post or comment, which the caller must be able to see.
    pub target_id: String,
    /// 1–200 characters.
    pub reason: String,
}

/// Report a post or comment to the moderators (once per target).
#[utoipa::path(post, path = "/api/v1/reports", tag = "posts", request_body = ReportBody, security(("bearer" = [])),
    responses((status = 201, body = Report), (status = 409, body = Problem), (status = 422, body = Problem)))]
async fn report(
    State(s): State<AppState>,
    Auth(p): Auth,
    ApiJson(b): ApiJson<ReportBody>,
) -> ApiResult<(StatusCode, Json<Report>)> {
    Ok((
        StatusCode::CREATED,
        Json(
            s.app
                .create_report(&p, b.target_kind, &b.target_id, &b.reason)
                .await?,
        ),
    ))
}

/// Platform admins: reports, oldest first.
#[utoipa::path(get, path = "/api/v1/reports", tag = "posts", params(PageParams), security(("bearer" = [])),
    responses((status = 200, body = Page<Report>), (status = 403, body = Problem)))]
async fn reports(
    State(s): State<AppState>,
    Auth(p): Auth,
    ApiQuery(q): ApiQuery<PageParams>,
) -> ApiResult<Json<Page<Report>>> {
    Ok(Json(s.app.list_reports(&p, q.parse()?).await?))
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct HideBody {
    /// 1–200 characters; resolves the post's open reports.
    pub reason: String,
}

/// Moderators hide a post: its community's owner and admins, its community's merchant's
/// staff, platform admins. Only its author still sees it.
#[utoipa::path(post, path = "/api/v1/posts/{post_id}/hide", tag = "posts", params(PostId),
    request_body = HideBody, security(("bearer" = [])),
    responses((status = 200, body = Moderation), (status = 403, body = Problem), (status = 404, body = Problem), (status = 422, body = Problem)))]
async fn hide(
    State(s): State<AppState>,
    Auth(p): Auth,
    id: PostId,
    ApiJson(b): ApiJson<HideBody>,
) -> ApiResult<Json<Moderation>> {
    Ok(Json(s.app.hide_post(&p, &id, &b.reason).await?))
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct UnhideBody {
    pub reason: Option<String>,
}

/// Moderators restore a hidden post (one a platform admin hid, only a platform admin).
#[utoipa::path(post, path = "/api/v1/posts/{post_id}/unhide", tag = "posts", params(PostId),
    request_body = UnhideBody, security(("bearer" = [])),
    responses((status = 200, body = Moderation), (status = 403, body = Problem), (status = 404, body = Problem), (status = 422, body = Problem)))]
async fn unhide(
    State(s): State<AppState>,
    Auth(p): Auth,
    id: PostId,
    ApiJson(b): ApiJson<UnhideBody>,
) -> ApiResult<Json<Moderation>> {
    Ok(Json(s.app.unhide_post(&p, &id, b.reason.as_deref()).await?))
}

/// An account's posts that the caller may see, newest first.
#[utoipa::path(get, path = "/api/v1/accounts/{account_id}/posts", tag = "posts", params(AccountId, PageParams),
    responses((status = 200, body = Page<Post>), (status = 404, body = Problem), (status = 422, body = Problem)))]
async fn account_posts(
    State(s): State<AppState>,
    MaybeAuth(p): MaybeAuth,
    id: AccountId,
    ApiQuery(q): ApiQuery<PageParams>,
) -> ApiResult<Json<Page<Post>>> {
    Ok(Json(
        s.app.account_posts(p.as_ref(), &id, q.parse()?).await?,
    ))
}

/// A community's posts, newest first, for its active members.
#[utoipa::path(get, path = "/api/v1/communities/{community_id}/posts", tag = "posts", params(CommunityId, PageParams),
    responses((status = 200, body = Page<Post>), (status = 401, body = Problem), (status = 403, body = Problem), (status = 404, body = Problem)))]
async fn community_posts(
    State(s): State<AppState>,
    MaybeAuth(p): MaybeAuth,
    id: CommunityId,
    ApiQuery(q): ApiQuery<PageParams>,
) -> ApiResult<Json<Page<Post>>> {
    Ok(Json(
        s.app.community_posts(p.as_ref(), &id, q.parse()?).await?,
    ))
}

/// The caller's feed: their own posts, posts of people they follow and of communities
/// they belong to, newest first. Pages continue exactly while new posts arrive.
#[utoipa::path(get, path = "/api/v1/feed", tag = "posts", params(PageParams), security(("bearer" = [])),
    responses((status = 200, body = Page<Post>), (status = 401, body = Problem), (status = 422, body = Problem)))]
async fn feed(
    State(s): State<AppState>,
    Auth(p): Auth,
    ApiQuery(q): ApiQuery<PageParams>,
) -> ApiResult<Json<Page<Post>>> {
    Ok(Json(s.app.feed(&p, q.parse()?).await?))
}
