//! Trust discovery beyond search: the trust-ranked feed, social proof on a product,
//! recommendations from friends, people you may know, and the discovery privacy setting.
//!
//! The trust-ranked feed orders posts by `rank = created_at + 12 h (a friend's or your own)
//! or + 6 h (your communities') + 30 min × min(likes + 2·comments + 3·shares, 48)`, newest
//! rank first; the first page fixes a snapshot carried in the cursor, so pages neither
//! repeat nor skip while posts, likes and comments arrive.

use axum::Json;
use axum::extract::State;
use kith_app::discovery::feed::{FeedCursor, FeedItem};
use kith_app::discovery::recommend::{
    DiscoverySettings, RecommendedProduct, SocialProof, SuggestedPerson, Suggestions,
};
use kith_app::platform::page::{DEFAULT_LIMIT, Page};
use serde::Deserialize;
use utoipa::ToSchema;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use crate::extract::{ApiJson, ApiQuery, Auth, PageParams};
use crate::ids::{ProductId, ProductMerchantId};
use crate::problem::{ApiResult, Problem};
use crate::state::AppState;

pub fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(trusted_feed))
        .routes(routes!(social_proof))
        .routes(routes!(recommended_products))
        .routes(routes!(people_you_may_know))
        .routes(routes!(get_settings, put_settings))
}

/// The trust-ranked feed: the feed's posts (your own, people you follow, your
/// communities') blended by closeness, recency and engagement. Each item says why it is
/// there (`friend`, `community`, `following`). Pages continue exactly while new posts,
/// likes and comments arrive: new posts show on the next first page.
#[utoipa::path(get, path = "/api/v1/feed/trusted", tag = "discovery", params(PageParams), security(("bearer" = [])),
    responses((status = 200, body = Page<FeedItem>), (status = 401, body = Problem), (status = 422, body = Problem)))]
async fn trusted_feed(
    State(s): State<AppState>,
    Auth(p): Auth,
    ApiQuery(q): ApiQuery<PageParams>,
) -> ApiResult<Json<Page<FeedItem>>> {
    let cursor = match q.cursor.as_deref().filter(|c| !c.is_empty()) {
        Some(c) => Some(FeedCursor::parse(c)?),
        None => None,
    };
    Ok(Json(
        s.app
            .trusted_feed(&p, q.limit.unwrap_or(DEFAULT_LIMIT), cursor)
            .await?,
    ))
}

/// Social proof on a product: how many of your friends bought it ("3 位好友买过"), up to
/// three of their names (only friends who allow it), its reviews with your friends' first,
/// and your friends' posts that tag it.
#[utoipa::path(get, path = "/api/v1/merchants/{merchant_id}/products/{product_id}/social-proof", tag = "discovery",
    params(ProductMerchantId, ProductId), security(("bearer" = [])),
    responses((status = 200, body = SocialProof), (status = 401, body = Problem), (status = 404, body = Problem)))]
async fn social_proof(
    State(s): State<AppState>,
    Auth(p): Auth,
    mid: ProductMerchantId,
    pid: ProductId,
) -> ApiResult<Json<SocialProof>> {
    Ok(Json(s.app.social_proof(&p, &mid, &pid).await?))
}

/// Products two or more of your friends recommend — bought and rated ≥ 4, posted about,
/// or liked a post tagging it —, ranked by how many friends, then by the strength of
/// their signals (review 3, post 2, like 1), with the reason ("3 位好友推荐").
#[utoipa::path(get, path = "/api/v1/recommendations/products", tag = "discovery", security(("bearer" = [])),
    responses((status = 200, body = Suggestions<RecommendedProduct>), (status = 401, body = Problem)))]
async fn recommended_products(
    State(s): State<AppState>,
    Auth(p): Auth,
) -> ApiResult<Json<Suggestions<RecommendedProduct>>> {
    Ok(Json(s.app.recommended_products(&p).await?))
}

/// People you may know: friends of your friends and members of your communities whom you
/// do not follow yet, ranked by `2 × mutual friends + shared communities`.
#[utoipa::path(get, path = "/api/v1/recommendations/people", tag = "discovery", security(("bearer" = [])),
    responses((status = 200, body = Suggestions<SuggestedPerson>), (status = 401, body = Problem)))]
async fn people_you_may_know(
    State(s): State<AppState>,
    Auth(p): Auth,
) -> ApiResult<Json<Suggestions<SuggestedPerson>>> {
    Ok(Json(s.app.people_you_may_know(&p).await?))
}

/// Your discovery privacy settings.
#[utoipa::path(get, path = "/api/v1/me/discovery-settings", tag = "discovery", security(("bearer" = [])),
    responses((status = 200, body = DiscoverySettings), (status = 401, body = Problem)))]
async fn get_settings(
    State(s): State<AppState>,
    Auth(p): Auth,
) -> ApiResult<Json<DiscoverySettings>> {
    Ok(Json(s.app.discovery_settings(&p).await?))
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct SettingsBody {
    /// Whether your friends may see your name among "friends who bought it".
    pub show_purchases_to_friends: bool,
}

/// Change your discovery privacy settings.
#[utoipa::path(put, path = "/api/v1/me/discovery-settings", tag = "discovery", request_body = SettingsBody, security(("bearer" = [])),
    responses((status = 200, body = DiscoverySettings), (status = 401, body = Problem), (status = 422, body = Problem)))]
async fn put_settings(
    State(s): State<AppState>,
    Auth(p): Auth,
    ApiJson(b): ApiJson<SettingsBody>,
) -> ApiResult<Json<DiscoverySettings>> {
    Ok(Json(
        s.app
            .set_discovery_settings(
                &p,
                DiscoverySettings {
                    show_purchases_to_friends: b.show_purchases_to_friends,
                },
            )
            .await?,
    ))
}
