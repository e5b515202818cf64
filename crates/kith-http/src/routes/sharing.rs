//! Share links, following them, signing up through them, and referrer bindings (锁客).

use axum::Json;
use axum::extract::State;
use axum::http::StatusCode;
use kith_app::money::sharing::{LinkKind, ReferrerBinding, ShareLink, Visit};
use kith_app::platform::accounts::{Account, Registration};
use serde::Deserialize;
use utoipa::ToSchema;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use crate::extract::{ApiJson, ApiPath, Auth, ClientAddr, MaybeAuth};
use crate::ids::PostId;
use crate::problem::{ApiResult, Problem};
use crate::routes::accounts::RegisterBody;
use crate::state::AppState;

pub fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(create_link))
        .routes(routes!(my_links))
        .routes(routes!(visit))
        .routes(routes!(visit_post_tag))
        .routes(routes!(signup))
        .routes(routes!(bind, my_referrers))
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct LinkBody {
    /// `product`, `post`, `community` or `group_buy` (a group that is still gathering).
    pub kind: LinkKind,
    /// The product, post, community or group id.
    pub target_id: String,
}

/// The caller's share link to a product, a post or a community; sharing the same thing
/// again gives the same link. A post with product tags shared by its author earns as
/// content (content credit).
#[utoipa::path(post, path = "/api/v1/share-links", tag = "sharing", request_body = LinkBody, security(("bearer" = [])),
    responses((status = 201, body = ShareLink), (status = 401, body = Problem), (status = 422, body = Problem)))]
async fn create_link(
    State(s): State<AppState>,
    Auth(p): Auth,
    ApiJson(b): ApiJson<LinkBody>,
) -> ApiResult<(StatusCode, Json<ShareLink>)> {
    Ok((
        StatusCode::CREATED,
        Json(s.app.create_share_link(&p, b.kind, &b.target_id).await?),
    ))
}

/// The caller's share links, newest first.
#[utoipa::path(get, path = "/api/v1/me/share-links", tag = "sharing", security(("bearer" = [])),
    responses((status = 200, body = Vec<ShareLink>), (status = 401, body = Problem)))]
async fn my_links(State(s): State<AppState>, Auth(p): Auth) -> ApiResult<Json<Vec<ShareLink>>> {
    Ok(Json(s.app.my_share_links(&p).await?))
}

/// Someone followed a share link (signed in or not): the visit is recorded, and a signed-in
/// visitor is bound to the sharer at the link's merchants where their binding mode allows
/// (never to oneself, never a cycle, never moving a live binding).
#[utoipa::path(post, path = "/api/v1/s/{code}/visits", tag = "sharing", params(("code" = String, Path)),
    responses((status = 200, body = Visit), (status = 404, body = Problem)))]
async fn visit(
    State(s): State<AppState>,
    MaybeAuth(p): MaybeAuth,
    ApiPath(code): ApiPath<String>,
) -> ApiResult<Json<Visit>> {
    Ok(Json(s.app.visit_share_link(p.as_ref(), &code).await?))
}

/// The caller opened a product from a post that tags it. A post with product tags acts as
/// its author's share link (content credit): this records a visit of the author's link to
/// the post — made for them if they never shared it — with a share visit's effects
/// (attribution within the window, binding where the merchant allows). 404 for a post the
/// caller cannot see; 422 when it tags no product.
#[utoipa::path(post, path = "/api/v1/posts/{post_id}/tag-visits", tag = "sharing", params(PostId), security(("bearer" = [])),
    responses((status = 200, body = Visit), (status = 401, body = Problem), (status = 404, body = Problem), (status = 422, body = Problem)))]
async fn visit_post_tag(
    State(s): State<AppState>,
    Auth(p): Auth,
    post_id: PostId,
) -> ApiResult<Json<Visit>> {
    Ok(Json(s.app.visit_post_tag(&p, &post_id).await?))
}

/// Sign up through a share link (or a community invite shared as one): the new member is
/// bound to the sharer and the sign-up counts in the link's funnel. Sign-ups here are
/// limited per address as on `POST /api/v1/accounts` (429, with a challenge to solve).
#[utoipa::path(post, path = "/api/v1/s/{code}/accounts", tag = "sharing", params(("code" = String, Path)), request_body = RegisterBody,
    responses((status = 201, body = Account), (status = 401, description = "wrong, expired or used code", body = Problem), (status = 404, body = Problem), (status = 409, body = Problem), (status = 422, body = Problem),
        (status = 429, description = "solve the challenge in the answer, or wait Retry-After", body = Problem)))]
async fn signup(
    State(s): State<AppState>,
    ClientAddr(addr): ClientAddr,
    ApiPath(code): ApiPath<String>,
    ApiJson(b): ApiJson<RegisterBody>,
) -> ApiResult<(StatusCode, Json<Account>)> {
    s.app
        .admit_sign_up(&addr, None, b.challenge.as_ref())
        .await?;
    let input = Registration {
        phone: b.phone,
        email: b.email,
        password: b.password,
        display_name: b.display_name,
        code: b.code,
    };
    Ok((
        StatusCode::CREATED,
        Json(s.app.register_via_share(input, &code).await?),
    ))
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct BindBody {
    /// A share link's code (an invite code).
    pub code: String,
}

/// Bind the caller to the sharer of an invite code at its merchants. Refused (409 on
/// `code`) for one's own code or when it would make a cycle; a live binding is never moved.
#[utoipa::path(post, path = "/api/v1/me/referrers", tag = "sharing", request_body = BindBody, security(("bearer" = [])),
    responses((status = 200, body = Vec<ReferrerBinding>), (status = 401, body = Problem), (status = 404, body = Problem),
              (status = 409, body = Problem), (status = 422, body = Problem)))]
async fn bind(
    State(s): State<AppState>,
    Auth(p): Auth,
    ApiJson(b): ApiJson<BindBody>,
) -> ApiResult<Json<Vec<ReferrerBinding>>> {
    Ok(Json(s.app.bind_referrer(&p, &b.code).await?))
}

/// The caller's referrers, one per merchant.
#[utoipa::path(get, path = "/api/v1/me/referrers", tag = "sharing", security(("bearer" = [])),
    responses((status = 200, body = Vec<ReferrerBinding>), (status = 401, body = Problem)))]
async fn my_referrers(
    State(s): State<AppState>,
    Auth(p): Auth,
) -> ApiResult<Json<Vec<ReferrerBinding>>> {
    Ok(Json(s.app.my_referrers(&p).await?))
}
