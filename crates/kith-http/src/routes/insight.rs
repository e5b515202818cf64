//! Community insight (docs/PRODUCT.md §5): energy, repeat purchases, fission trees, KOL ranking,
//! the private traffic pool and split suggestions. Every measure is the merchant's own:
//! only its staff read them (403 for others, 404 for a community of another merchant).

use axum::Json;
use axum::extract::State;
use kith_app::AppError;
use kith_app::insight::{
    CommunityEnergy, FissionTree, FunnelBy, GmvByChannel, InsightAccess, KolEntry, KolRanking,
    LeaderFigures, ReferralRate, RepeatPurchase, ShareFunnel, SnapshotInfo, SplitSuggestion,
    TrafficPool, Window, parse_limit,
};
use serde::Deserialize;
use utoipa::IntoParams;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use crate::extract::{ApiQuery, Auth};
use crate::ids::{CommunityId, MerchantId};
use crate::problem::{ApiResult, Problem};
use crate::state::AppState;

pub fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(communities))
        .routes(routes!(energy))
        .routes(routes!(fission))
        .routes(routes!(split))
        .routes(routes!(repeat_purchase))
        .routes(routes!(kol))
        .routes(routes!(traffic_pool))
        .routes(routes!(refresh))
        .routes(routes!(referral))
        .routes(routes!(channels))
        .routes(routes!(leaders))
        .routes(routes!(leader_candidates))
        .routes(routes!(share_funnel))
        .routes(routes!(binding_tree))
}

/// `?window_days=`: the measure covers the last 1–365 days (default 30).
#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
#[serde(deny_unknown_fields)]
pub struct WindowQuery {
    /// Days back from now, 1–365 (default 30).
    #[param(minimum = 1, maximum = 365)]
    pub window_days: Option<i64>,
}

/// `?window_days=&community_id=&limit=`.
#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
#[serde(deny_unknown_fields)]
pub struct ScopeQuery {
    /// Days back from now, 1–365 (default 30).
    #[param(minimum = 1, maximum = 365)]
    pub window_days: Option<i64>,
    /// Only this community's members (one of the merchant's communities).
    pub community_id: Option<String>,
    /// Ranking length, 1–100 (default 20); KOL ranking only.
    #[param(minimum = 1, maximum = 100)]
    pub limit: Option<i64>,
}

fn community_param(
    raw: Option<&str>,
) -> Result<Option<kith_app::platform::ids::CommunityId>, AppError> {
    raw.map(|r| {
        kith_app::platform::ids::CommunityId::parse(r.trim())
            .ok_or_else(|| AppError::invalid("community_id", "is not a community id"))
    })
    .transpose()
}

/// Energy of each of the merchant's communities, highest first, with its factors Q, M, C.
#[utoipa::path(get, path = "/api/v1/merchants/{merchant_id}/insight/communities", tag = "insight",
    params(MerchantId, WindowQuery), security(("bearer" = [])),
    responses((status = 200, body = Vec<CommunityEnergy>), (status = 401, body = Problem), (status = 403, body = Problem),
              (status = 404, body = Problem), (status = 422, body = Problem)))]
async fn communities(
    State(s): State<AppState>,
    Auth(p): Auth,
    mid: MerchantId,
    ApiQuery(q): ApiQuery<WindowQuery>,
) -> ApiResult<Json<Vec<CommunityEnergy>>> {
    let window = Window::parse(q.window_days)?;
    Ok(Json(
        s.app
            .insight_communities(InsightAccess::from(&p), &mid, window)
            .await?,
    ))
}

/// One community's energy = Q × M × C²: Q the smoothed mean rating of products its members
/// bought ÷ 5, M its members active in the window, C the mean number of distinct fellow
/// members each active member interacted with.
#[utoipa::path(get, path = "/api/v1/merchants/{merchant_id}/insight/communities/{community_id}/energy", tag = "insight",
    params(MerchantId, CommunityId, WindowQuery), security(("bearer" = [])),
    responses((status = 200, body = CommunityEnergy), (status = 401, body = Problem), (status = 403, body = Problem),
              (status = 404, description = "no such merchant, or not its community", body = Problem), (status = 422, body = Problem)))]
async fn energy(
    State(s): State<AppState>,
    Auth(p): Auth,
    mid: MerchantId,
    cid: CommunityId,
    ApiQuery(q): ApiQuery<WindowQuery>,
) -> ApiResult<Json<CommunityEnergy>> {
    let window = Window::parse(q.window_days)?;
    Ok(Json(
        s.app
            .insight_energy(InsightAccess::from(&p), &mid, &cid, window)
            .await?,
    ))
}

/// The community's invite tree (fission): generations, branching, K-factor (accepted
/// invites per member) and the members who brought the most people.
#[utoipa::path(get, path = "/api/v1/merchants/{merchant_id}/insight/communities/{community_id}/fission", tag = "insight",
    params(MerchantId, CommunityId), security(("bearer" = [])),
    responses((status = 200, body = FissionTree), (status = 401, body = Problem), (status = 403, body = Problem),
              (status = 404, body = Problem)))]
async fn fission(
    State(s): State<AppState>,
    Auth(p): Auth,
    mid: MerchantId,
    cid: CommunityId,
) -> ApiResult<Json<FissionTree>> {
    Ok(Json(
        s.app
            .insight_fission(InsightAccess::from(&p), &mid, &cid)
            .await?,
    ))
}

/// Proposed sub-communities: Louvain community detection on the interactions (follows,
/// likes, comments, invites) among the community's members.
#[utoipa::path(get, path = "/api/v1/merchants/{merchant_id}/insight/communities/{community_id}/split", tag = "insight",
    params(MerchantId, CommunityId, WindowQuery), security(("bearer" = [])),
    responses((status = 200, body = SplitSuggestion), (status = 401, body = Problem), (status = 403, body = Problem),
              (status = 404, body = Problem), (status = 422, body = Problem)))]
async fn split(
    State(s): State<AppState>,
    Auth(p): Auth,
    mid: MerchantId,
    cid: CommunityId,
    ApiQuery(q): ApiQuery<WindowQuery>,
) -> ApiResult<Json<SplitSuggestion>> {
    let window = Window::parse(q.window_days)?;
    Ok(Json(
        s.app
            .insight_split(InsightAccess::from(&p), &mid, &cid, window)
            .await?,
    ))
}

/// Repeat-purchase rate: buyers with ≥ 2 paid orders in the window ÷ buyers with ≥ 1, at
/// the merchant or among one community's members.
#[utoipa::path(get, path = "/api/v1/merchants/{merchant_id}/insight/repeat-purchase", tag = "insight",
    params(MerchantId, ScopeQuery), security(("bearer" = [])),
    responses((status = 200, body = RepeatPurchase), (status = 401, body = Problem), (status = 403, body = Problem),
              (status = 404, body = Problem), (status = 422, body = Problem)))]
async fn repeat_purchase(
    State(s): State<AppState>,
    Auth(p): Auth,
    mid: MerchantId,
    ApiQuery(q): ApiQuery<ScopeQuery>,
) -> ApiResult<Json<RepeatPurchase>> {
    let window = Window::parse(q.window_days)?;
    let cid = community_param(q.community_id.as_deref())?;
    if q.limit.is_some() {
        return Err(AppError::invalid("limit", "applies to the KOL ranking only").into());
    }
    Ok(Json(
        s.app
            .insight_repeat_purchase(InsightAccess::from(&p), &mid, cid.as_ref(), window)
            .await?,
    ))
}

/// KOL / KOC ranking: personalised PageRank over the graph of follows and interactions,
/// seeded on the merchant's pool (or one community), with three-hop reach (三度影响力).
#[utoipa::path(get, path = "/api/v1/merchants/{merchant_id}/insight/kol", tag = "insight",
    params(MerchantId, ScopeQuery), security(("bearer" = [])),
    responses((status = 200, body = KolRanking), (status = 401, body = Problem), (status = 403, body = Problem),
              (status = 404, body = Problem), (status = 422, body = Problem)))]
async fn kol(
    State(s): State<AppState>,
    Auth(p): Auth,
    mid: MerchantId,
    ApiQuery(q): ApiQuery<ScopeQuery>,
) -> ApiResult<Json<KolRanking>> {
    let window = Window::parse(q.window_days)?;
    let cid = community_param(q.community_id.as_deref())?;
    let limit = parse_limit(q.limit)?;
    Ok(Json(
        s.app
            .insight_kol(InsightAccess::from(&p), &mid, cid.as_ref(), window, limit)
            .await?,
    ))
}

/// The private traffic pool: distinct members in the merchant's communities, one point
/// per day over the window, replayed from the membership history.
#[utoipa::path(get, path = "/api/v1/merchants/{merchant_id}/insight/traffic-pool", tag = "insight",
    params(MerchantId, WindowQuery), security(("bearer" = [])),
    responses((status = 200, body = TrafficPool), (status = 401, body = Problem), (status = 403, body = Problem),
              (status = 404, body = Problem), (status = 422, body = Problem)))]
async fn traffic_pool(
    State(s): State<AppState>,
    Auth(p): Auth,
    mid: MerchantId,
    ApiQuery(q): ApiQuery<WindowQuery>,
) -> ApiResult<Json<TrafficPool>> {
    let window = Window::parse(q.window_days)?;
    Ok(Json(
        s.app
            .insight_traffic_pool(InsightAccess::from(&p), &mid, window)
            .await?,
    ))
}

/// Rebuild the graph snapshot the KOL ranking and split suggestions read, now (it is
/// otherwise rebuilt in the background when older than 10 minutes).
#[utoipa::path(post, path = "/api/v1/merchants/{merchant_id}/insight/refresh", tag = "insight",
    params(MerchantId, WindowQuery), security(("bearer" = [])),
    responses((status = 200, body = SnapshotInfo), (status = 401, body = Problem), (status = 403, body = Problem),
              (status = 404, body = Problem), (status = 422, body = Problem)))]
async fn refresh(
    State(s): State<AppState>,
    Auth(p): Auth,
    mid: MerchantId,
    ApiQuery(q): ApiQuery<WindowQuery>,
) -> ApiResult<Json<SnapshotInfo>> {
    let window = Window::parse(q.window_days)?;
    Ok(Json(
        s.app
            .refresh_insight_graph(InsightAccess::from(&p), &mid, window)
            .await?,
    ))
}

/// `?window_days=&by=&limit=` on the share funnel.
#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
#[serde(deny_unknown_fields)]
pub struct FunnelQuery {
    /// Days back from now, 1–365 (default 30).
    #[param(minimum = 1, maximum = 365)]
    pub window_days: Option<i64>,
    /// `sharer` (default) or `post`.
    pub by: Option<String>,
    /// Rows, 1–100 (default 20).
    #[param(minimum = 1, maximum = 100)]
    pub limit: Option<i64>,
}

/// Referral rate: orders attributed to a member (share link, content, bound referrer) ÷
/// all paid orders in the window, and pool members who brought at least one ÷ members.
#[utoipa::path(get, path = "/api/v1/merchants/{merchant_id}/insight/referral", tag = "insight",
    params(MerchantId, WindowQuery), security(("bearer" = [])),
    responses((status = 200, body = ReferralRate), (status = 401, body = Problem), (status = 403, body = Problem),
              (status = 404, body = Problem), (status = 422, body = Problem)))]
async fn referral(
    State(s): State<AppState>,
    Auth(p): Auth,
    mid: MerchantId,
    ApiQuery(q): ApiQuery<WindowQuery>,
) -> ApiResult<Json<ReferralRate>> {
    let window = Window::parse(q.window_days)?;
    Ok(Json(
        s.app
            .insight_referral(InsightAccess::from(&p), &mid, window)
            .await?,
    ))
}

/// Paid orders and net GMV (paid − refunded) by channel: direct, share link, content,
/// group-buy, bound referrer.
#[utoipa::path(get, path = "/api/v1/merchants/{merchant_id}/insight/channels", tag = "insight",
    params(MerchantId, WindowQuery), security(("bearer" = [])),
    responses((status = 200, body = GmvByChannel), (status = 401, body = Problem), (status = 403, body = Problem),
              (status = 404, body = Problem), (status = 422, body = Problem)))]
async fn channels(
    State(s): State<AppState>,
    Auth(p): Auth,
    mid: MerchantId,
    ApiQuery(q): ApiQuery<WindowQuery>,
) -> ApiResult<Json<GmvByChannel>> {
    let window = Window::parse(q.window_days)?;
    Ok(Json(
        s.app
            .insight_channels(InsightAccess::from(&p), &mid, window)
            .await?,
    ))
}

/// Share funnel per sharer or per shared post: link visits → sign-ups → orders → GMV.
#[utoipa::path(get, path = "/api/v1/merchants/{merchant_id}/insight/share-funnel", tag = "insight",
    params(MerchantId, FunnelQuery), security(("bearer" = [])),
    responses((status = 200, body = ShareFunnel), (status = 401, body = Problem), (status = 403, body = Problem),
              (status = 404, body = Problem), (status = 422, body = Problem)))]
async fn share_funnel(
    State(s): State<AppState>,
    Auth(p): Auth,
    mid: MerchantId,
    ApiQuery(q): ApiQuery<FunnelQuery>,
) -> ApiResult<Json<ShareFunnel>> {
    let window = Window::parse(q.window_days)?;
    let by = FunnelBy::parse(q.by.as_deref())?;
    let limit = parse_limit(q.limit)?;
    Ok(Json(
        s.app
            .insight_share_funnel(InsightAccess::from(&p), &mid, by, window, limit)
            .await?,
    ))
}

/// The merchant's referrer-binding tree (锁客): generations, branching, K-factor and the
/// members who brought the most people.
#[utoipa::path(get, path = "/api/v1/merchants/{merchant_id}/insight/binding-tree", tag = "insight",
    params(MerchantId), security(("bearer" = [])),
    responses((status = 200, body = FissionTree), (status = 401, body = Problem), (status = 403, body = Problem),
              (status = 404, body = Problem)))]
async fn binding_tree(
    State(s): State<AppState>,
    Auth(p): Auth,
    mid: MerchantId,
) -> ApiResult<Json<FissionTree>> {
    Ok(Json(
        s.app
            .insight_binding_tree(InsightAccess::from(&p), &mid)
            .await?,
    ))
}

/// Per 团长: GMV, buyers, repeat rate and pickup rate of the merchant's 接龙 orders that went
/// ahead in the window.
#[utoipa::path(get, path = "/api/v1/merchants/{merchant_id}/insight/leaders", tag = "insight",
    params(MerchantId, WindowQuery), security(("bearer" = [])),
    responses((status = 200, body = Vec<LeaderFigures>), (status = 401, body = Problem), (status = 403, body = Problem),
              (status = 404, body = Problem), (status = 422, body = Problem)))]
async fn leaders(
    State(s): State<AppState>,
    Auth(p): Auth,
    mid: MerchantId,
    ApiQuery(q): ApiQuery<WindowQuery>,
) -> ApiResult<Json<Vec<LeaderFigures>>> {
    let window = Window::parse(q.window_days)?;
    Ok(Json(
        s.app
            .insight_leaders(InsightAccess::from(&p), &mid, window)
            .await?,
    ))
}

/// Candidate leaders (团长): the most influential members of the merchant's pool (the KOL
/// ranking) who do not lead a point or apply yet.
#[utoipa::path(get, path = "/api/v1/merchants/{merchant_id}/insight/leader-candidates", tag = "insight",
    params(MerchantId, WindowQuery), security(("bearer" = [])),
    responses((status = 200, body = Vec<KolEntry>), (status = 401, body = Problem), (status = 403, body = Problem),
              (status = 404, body = Problem), (status = 422, body = Problem)))]
async fn leader_candidates(
    State(s): State<AppState>,
    Auth(p): Auth,
    mid: MerchantId,
    ApiQuery(q): ApiQuery<WindowQuery>,
) -> ApiResult<Json<Vec<KolEntry>>> {
    let window = Window::parse(q.window_days)?;
    Ok(Json(
        s.app
            .insight_leader_candidates(InsightAccess::from(&p), &mid, window, 20)
            .await?,
    ))
}
