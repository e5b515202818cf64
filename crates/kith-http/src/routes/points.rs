//! Points (积分, issue 19): the shop's rule (anyone reads it, staff set it), and the
//! caller's points — at every shop, and at one shop with its statement. Points are spent
//! at checkout (`points` in the checkout body) and earned on the goods paid.

use axum::Json;
use axum::extract::State;
use kith_app::loyalty::{PointsBalance, PointsSettings, PointsStatement};
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use crate::extract::{ApiJson, ApiQuery, Auth, PageParams};
use crate::ids::MerchantId;
use crate::problem::{ApiResult, Problem};
use crate::state::AppState;

pub fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(settings, set_settings))
        .routes(routes!(mine))
        .routes(routes!(mine_at))
}

/// The shop's points rule: what ¥1 of goods earns, what points are worth at checkout,
/// the share of an order they may pay and when they expire (`enabled` false: the shop
/// takes and gives none).
#[utoipa::path(get, path = "/api/v1/merchants/{merchant_id}/points-settings", tag = "points", params(MerchantId),
    responses((status = 200, body = PointsSettings), (status = 404, body = Problem)))]
async fn settings(State(s): State<AppState>, mid: MerchantId) -> ApiResult<Json<PointsSettings>> {
    Ok(Json(s.app.points_settings(&mid).await?))
}

/// Staff: set the shop's points rule. Turning points off stops earning and spending;
/// points members hold stay theirs.
#[utoipa::path(put, path = "/api/v1/merchants/{merchant_id}/points-settings", tag = "points", params(MerchantId),
    request_body = PointsSettings, security(("bearer" = [])),
    responses((status = 200, body = PointsSettings), (status = 401, body = Problem), (status = 403, body = Problem), (status = 404, body = Problem), (status = 422, body = Problem)))]
async fn set_settings(
    State(s): State<AppState>,
    Auth(p): Auth,
    mid: MerchantId,
    ApiJson(b): ApiJson<PointsSettings>,
) -> ApiResult<Json<PointsSettings>> {
    Ok(Json(s.app.set_points_settings(&p, &mid, b).await?))
}

/// The caller's points at every shop where they have any: available, frozen (earned on
/// orders still inside their after-sale window), their worth and the next to expire.
#[utoipa::path(get, path = "/api/v1/me/points", tag = "points", security(("bearer" = [])),
    responses((status = 200, body = Vec<PointsBalance>), (status = 401, body = Problem)))]
async fn mine(State(s): State<AppState>, Auth(p): Auth) -> ApiResult<Json<Vec<PointsBalance>>> {
    Ok(Json(s.app.my_points(&p).await?))
}

/// The caller's points at one shop and their statement, newest first.
#[utoipa::path(get, path = "/api/v1/me/points/{merchant_id}", tag = "points", params(MerchantId, PageParams),
    security(("bearer" = [])),
    responses((status = 200, body = PointsStatement), (status = 401, body = Problem), (status = 404, body = Problem), (status = 422, body = Problem)))]
async fn mine_at(
    State(s): State<AppState>,
    Auth(p): Auth,
    mid: MerchantId,
    ApiQuery(q): ApiQuery<PageParams>,
) -> ApiResult<Json<PointsStatement>> {
    Ok(Json(s.app.my_points_at(&p, &mid, q.parse()?).await?))
}
