use axum::Json;
use axum::extract::State;
use axum::http::StatusCode;
use kith_app::platform::page::Page;
use kith_app::social::relationships::{Person, Profile, Relation};
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use crate::extract::{ApiQuery, Auth, MaybeAuth, PageParams};
use crate::ids::AccountId;
use crate::problem::{ApiResult, Problem};
use crate::state::AppState;

pub fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(follow, unfollow))
        .routes(routes!(block, unblock))
        .routes(routes!(profile))
        .routes(routes!(followers))
        .routes(routes!(following))
        .routes(routes!(friends))
        .routes(routes!(mutual_friends))
        .routes(routes!(my_blocks))
}

/// Follow a member. Idempotent; refused for oneself (422), across a block either way (403).
#[utoipa::path(post, path = "/api/v1/accounts/{account_id}/follow", tag = "relationships", params(AccountId), security(("bearer" = [])),
    responses((status = 204, description = "following"), (status = 403, body = Problem), (status = 404, body = Problem), (status = 422, body = Problem)))]
async fn follow(State(s): State<AppState>, Auth(p): Auth, id: AccountId) -> ApiResult<StatusCode> {
    s.app.follow(&p, &id).await?;
    Ok(StatusCode::NO_CONTENT)
}

/// Stop following a member (nothing happens if you did not).
#[utoipa::path(delete, path = "/api/v1/accounts/{account_id}/follow", tag = "relationships", params(AccountId), security(("bearer" = [])),
    responses((status = 204, description = "not following"), (status = 404, body = Problem), (status = 422, body = Problem)))]
async fn unfollow(
    State(s): State<AppState>,
    Auth(p): Auth,
    id: AccountId,
) -> ApiResult<StatusCode> {
    s.app.unfollow(&p, &id).await?;
    Ok(StatusCode::NO_CONTENT)
}

/// Block a member: the follows between you are removed both ways; neither of you sees or
/// interacts with the other any more. Idempotent.
#[utoipa::path(post, path = "/api/v1/accounts/{account_id}/block", tag = "relationships", params(AccountId), security(("bearer" = [])),
    responses((status = 204, description = "blocked"), (status = 404, body = Problem), (status = 422, body = Problem)))]
async fn block(State(s): State<AppState>, Auth(p): Auth, id: AccountId) -> ApiResult<StatusCode> {
    s.app.block(&p, &id).await?;
    Ok(StatusCode::NO_CONTENT)
}

/// Lift your block of a member.
#[utoipa::path(delete, path = "/api/v1/accounts/{account_id}/block", tag = "relationships", params(AccountId), security(("bearer" = [])),
    responses((status = 204, description = "not blocked"), (status = 404, body = Problem), (status = 422, body = Problem)))]
async fn unblock(State(s): State<AppState>, Auth(p): Auth, id: AccountId) -> ApiResult<StatusCode> {
    s.app.unblock(&p, &id).await?;
    Ok(StatusCode::NO_CONTENT)
}

/// A member's public profile: counts of followers, following and friends, and how they
/// relate to you. 404 across a block.
#[utoipa::path(get, path = "/api/v1/accounts/{account_id}", tag = "relationships", params(AccountId),
    responses((status = 200, body = Profile), (status = 404, body = Problem)))]
async fn profile(
    State(s): State<AppState>,
    MaybeAuth(p): MaybeAuth,
    id: AccountId,
) -> ApiResult<Json<Profile>> {
    Ok(Json(s.app.profile(p.as_ref(), &id).await?))
}

async fn relation_list(
    s: AppState,
    p: Option<kith_app::Principal>,
    id: AccountId,
    q: PageParams,
    which: Relation,
) -> ApiResult<Json<Page<Person>>> {
    Ok(Json(
        s.app.relations(p.as_ref(), &id, which, q.parse()?).await?,
    ))
}

/// Who follows this member, newest first.
#[utoipa::path(get, path = "/api/v1/accounts/{account_id}/followers", tag = "relationships", params(AccountId, PageParams),
    responses((status = 200, body = Page<Person>), (status = 404, body = Problem), (status = 422, body = Problem)))]
async fn followers(
    State(s): State<AppState>,
    MaybeAuth(p): MaybeAuth,
    id: AccountId,
    ApiQuery(q): ApiQuery<PageParams>,
) -> ApiResult<Json<Page<Person>>> {
    relation_list(s, p, id, q, Relation::Followers).await
}

/// Whom this member follows, newest first.
#[utoipa::path(get, path = "/api/v1/accounts/{account_id}/following", tag = "relationships", params(AccountId, PageParams),
    responses((status = 200, body = Page<Person>), (status = 404, body = Problem), (status = 422, body = Problem)))]
async fn following(
    State(s): State<AppState>,
    MaybeAuth(p): MaybeAuth,
    id: AccountId,
    ApiQuery(q): ApiQuery<PageParams>,
) -> ApiResult<Json<Page<Person>>> {
    relation_list(s, p, id, q, Relation::Following).await
}

/// This member's friends (mutual follows), newest friendship first.
#[utoipa::path(get, path = "/api/v1/accounts/{account_id}/friends", tag = "relationships", params(AccountId, PageParams),
    responses((status = 200, body = Page<Person>), (status = 404, body = Problem), (status = 422, body = Problem)))]
async fn friends(
    State(s): State<AppState>,
    MaybeAuth(p): MaybeAuth,
    id: AccountId,
    ApiQuery(q): ApiQuery<PageParams>,
) -> ApiResult<Json<Page<Person>>> {
    relation_list(s, p, id, q, Relation::Friends).await
}

/// Friends you and this member have in common.
#[utoipa::path(get, path = "/api/v1/accounts/{account_id}/mutual-friends", tag = "relationships", params(AccountId, PageParams), security(("bearer" = [])),
    responses((status = 200, body = Page<Person>), (status = 401, body = Problem), (status = 404, body = Problem), (status = 422, body = Problem)))]
async fn mutual_friends(
    State(s): State<AppState>,
    Auth(p): Auth,
    id: AccountId,
    ApiQuery(q): ApiQuery<PageParams>,
) -> ApiResult<Json<Page<Person>>> {
    Ok(Json(s.app.mutual_friends(&p, &id, q.parse()?).await?))
}

/// The members you have blocked, most recent first.
#[utoipa::path(get, path = "/api/v1/me/blocks", tag = "relationships", params(PageParams), security(("bearer" = [])),
    responses((status = 200, body = Page<Person>), (status = 401, body = Problem), (status = 422, body = Problem)))]
async fn my_blocks(
    State(s): State<AppState>,
    Auth(p): Auth,
    ApiQuery(q): ApiQuery<PageParams>,
) -> ApiResult<Json<Page<Person>>> {
    Ok(Json(s.app.blocked_accounts(&p, q.parse()?).await?))
}
