//! 满减 / 满折 activities (issue 19): the merchant's activities (create, list with what they
//! gave, pause, resume, end), the ones a shop runs now, and what they do for the caller's
//! cart. Checkout applies the best live one by itself; nobody claims an activity.

use axum::Json;
use axum::extract::State;
use axum::http::StatusCode;
use kith_app::commerce::promotions::Move;
use kith_app::commerce::promotions::activities::{
    CartActivity, NewThresholdActivity, ThresholdActivity,
};
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use crate::extract::{ApiJson, Auth};
use crate::ids::{ActivityId, MerchantId};
use crate::problem::{ApiResult, Problem};
use crate::state::AppState;

pub fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(create, list))
        .routes(routes!(pause))
        .routes(routes!(resume))
        .routes(routes!(end))
        .routes(routes!(shop))
        .routes(routes!(cart_activity))
}

/// Staff: a new activity — 满减 (`fixed`: fen off) or 满折 (`percent`: percent off), 1–5
/// tiers rising in threshold and in what they take off, over the whole shop or named
/// products, live from `starts_at` (default now) until `ends_at`.
#[utoipa::path(post, path = "/api/v1/merchants/{merchant_id}/threshold-activities", tag = "activities", params(MerchantId),
    request_body = NewThresholdActivity, security(("bearer" = [])),
    responses((status = 201, body = ThresholdActivity), (status = 401, body = Problem), (status = 403, body = Problem), (status = 404, body = Problem), (status = 409, body = Problem), (status = 422, body = Problem)))]
async fn create(
    State(s): State<AppState>,
    Auth(p): Auth,
    mid: MerchantId,
    ApiJson(b): ApiJson<NewThresholdActivity>,
) -> ApiResult<(StatusCode, Json<ThresholdActivity>)> {
    Ok((
        StatusCode::CREATED,
        Json(s.app.create_threshold_activity(&p, &mid, b).await?),
    ))
}

/// Staff: the merchant's activities with their paid orders and what they took off,
/// newest first.
#[utoipa::path(get, path = "/api/v1/merchants/{merchant_id}/threshold-activities", tag = "activities", params(MerchantId),
    security(("bearer" = [])),
    responses((status = 200, body = Vec<ThresholdActivity>), (status = 401, body = Problem), (status = 403, body = Problem), (status = 404, body = Problem)))]
async fn list(
    State(s): State<AppState>,
    Auth(p): Auth,
    mid: MerchantId,
) -> ApiResult<Json<Vec<ThresholdActivity>>> {
    Ok(Json(s.app.list_threshold_activities(&p, &mid).await?))
}

async fn move_activity(
    s: AppState,
    p: kith_app::Principal,
    mid: MerchantId,
    aid: ActivityId,
    m: Move,
) -> ApiResult<Json<ThresholdActivity>> {
    Ok(Json(
        s.app.move_threshold_activity(&p, &mid, &aid, m).await?,
    ))
}

/// Staff: pause an active activity (orders placed meanwhile do not take it).
#[utoipa::path(post, path = "/api/v1/merchants/{merchant_id}/threshold-activities/{activity_id}/pause", tag = "activities",
    params(MerchantId, ActivityId), security(("bearer" = [])),
    responses((status = 200, body = ThresholdActivity), (status = 401, body = Problem), (status = 403, body = Problem), (status = 404, body = Problem), (status = 409, body = Problem)))]
async fn pause(
    State(s): State<AppState>,
    Auth(p): Auth,
    mid: MerchantId,
    aid: ActivityId,
) -> ApiResult<Json<ThresholdActivity>> {
    move_activity(s, p, mid, aid, Move::Pause).await
}

/// Staff: resume a paused activity.
#[utoipa::path(post, path = "/api/v1/merchants/{merchant_id}/threshold-activities/{activity_id}/resume", tag = "activities",
    params(MerchantId, ActivityId), security(("bearer" = [])),
    responses((status = 200, body = ThresholdActivity), (status = 401, body = Problem), (status = 403, body = Problem), (status = 404, body = Problem), (status = 409, body = Problem)))]
async fn resume(
    State(s): State<AppState>,
    Auth(p): Auth,
    mid: MerchantId,
    aid: ActivityId,
) -> ApiResult<Json<ThresholdActivity>> {
    move_activity(s, p, mid, aid, Move::Resume).await
}

/// Staff: end an activity for good (orders that took it keep their discount).
#[utoipa::path(post, path = "/api/v1/merchants/{merchant_id}/threshold-activities/{activity_id}/end", tag = "activities",
    params(MerchantId, ActivityId), security(("bearer" = [])),
    responses((status = 200, body = ThresholdActivity), (status = 401, body = Problem), (status = 403, body = Problem), (status = 404, body = Problem), (status = 409, body = Problem)))]
async fn end(
    State(s): State<AppState>,
    Auth(p): Auth,
    mid: MerchantId,
    aid: ActivityId,
) -> ApiResult<Json<ThresholdActivity>> {
    move_activity(s, p, mid, aid, Move::End).await
}

/// The activities a shop runs now (public).
#[utoipa::path(get, path = "/api/v1/merchants/{merchant_id}/activities", tag = "activities", params(MerchantId),
    responses((status = 200, body = Vec<ThresholdActivity>), (status = 404, body = Problem)))]
async fn shop(
    State(s): State<AppState>,
    mid: MerchantId,
) -> ApiResult<Json<Vec<ThresholdActivity>>> {
    Ok(Json(s.app.shop_threshold_activities(&mid).await?))
}

/// What the shop's live activities do for the caller's cart there now: the activity
/// checkout will apply and its discount (exactly what checkout takes), or the one nearest
/// its next tier; the next tier and how much more reaches it (凑单).
#[utoipa::path(get, path = "/api/v1/merchants/{merchant_id}/cart/activity", tag = "activities", params(MerchantId),
    security(("bearer" = [])),
    responses((status = 200, body = CartActivity), (status = 401, body = Problem)))]
async fn cart_activity(
    State(s): State<AppState>,
    Auth(p): Auth,
    mid: MerchantId,
) -> ApiResult<Json<CartActivity>> {
    Ok(Json(s.app.cart_activity(&p, &mid).await?))
}
