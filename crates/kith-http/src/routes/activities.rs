//! 满减 / 满折 activities (issue 19): the merchant's activities (create, list with what they
//! gave, pause, resume, end), the ones a shop runs now, and what they do for the caller's
//! cart. Checkout applies the best live one by itself; nobody claims an activity. And
//! 限时秒杀 flash sales: the merchant's (create, list, pause, resume, end), the shop's
//! (public), and buying in one — its own checkout at the flash price.

use axum::Json;
use axum::extract::State;
use axum::http::StatusCode;
use kith_app::commerce::orders::{Address, Order};
use kith_app::commerce::promotions::Move;
use kith_app::commerce::promotions::activities::{
    CartActivity, NewThresholdActivity, ThresholdActivity,
};
use kith_app::commerce::promotions::flash::{FlashOrderInput, FlashSale, NewFlashSale};
use kith_domain::order::DeliveryMethod;
use serde::Deserialize;
use utoipa::{IntoParams, ToSchema};
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use crate::extract::{ApiJson, ApiQuery, Auth};
use crate::ids::{ActivityId, FlashSaleId, MerchantId};
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
        .routes(routes!(create_flash, list_flash))
        .routes(routes!(pause_flash))
        .routes(routes!(resume_flash))
        .routes(routes!(end_flash))
        .routes(routes!(shop_flash))
        .routes(routes!(one_flash))
        .routes(routes!(buy_flash))
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

/// A flash order: how many (at most the sale's per-order cap) and how it reaches the buyer.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct FlashOrderBody {
    /// 1 up to the sale's per-order limit.
    #[schema(minimum = 1, maximum = 100)]
    pub quantity: i64,
    pub delivery: DeliveryMethod,
    /// Required for pickup: a store of this merchant.
    pub pickup_store_id: Option<String>,
    /// Required for shipping.
    pub address: Option<Address>,
    /// One of the buyer's coupons at the shop, if the sale allows coupons (409
    /// `coupon_not_for_flash_sale` otherwise).
    pub coupon_id: Option<String>,
    /// Points to spend, at most, if the shop lets 秒杀 orders take points (409
    /// `points_not_for_activity` otherwise; `points` when the buyer holds fewer).
    #[schema(minimum = 0)]
    pub points: Option<i64>,
}

#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
#[serde(deny_unknown_fields)]
pub struct FlashSalesParams {
    /// The shop whose flash sales to list.
    pub merchant_id: String,
}

/// Staff: a new 限时秒杀 on one SKU — a flash price below its list price, 1–10 time slots
/// each with a quota apart from the stock, a per-member total and a per-order cap, and a
/// shorter unpaid timeout (default 5 minutes).
#[utoipa::path(post, path = "/api/v1/merchants/{merchant_id}/flash-sales", tag = "activities", params(MerchantId),
    request_body = NewFlashSale, security(("bearer" = [])),
    responses((status = 201, body = FlashSale), (status = 401, body = Problem), (status = 403, body = Problem), (status = 404, body = Problem), (status = 409, body = Problem), (status = 422, body = Problem)))]
async fn create_flash(
    State(s): State<AppState>,
    Auth(p): Auth,
    mid: MerchantId,
    ApiJson(b): ApiJson<NewFlashSale>,
) -> ApiResult<(StatusCode, Json<FlashSale>)> {
    Ok((
        StatusCode::CREATED,
        Json(s.app.create_flash_sale(&p, &mid, b).await?),
    ))
}

/// Staff: the merchant's flash sales with each slot's quota and what it sold, newest first.
#[utoipa::path(get, path = "/api/v1/merchants/{merchant_id}/flash-sales", tag = "activities", params(MerchantId),
    security(("bearer" = [])),
    responses((status = 200, body = Vec<FlashSale>), (status = 401, body = Problem), (status = 403, body = Problem), (status = 404, body = Problem)))]
async fn list_flash(
    State(s): State<AppState>,
    Auth(p): Auth,
    mid: MerchantId,
) -> ApiResult<Json<Vec<FlashSale>>> {
    Ok(Json(s.app.list_flash_sales(&p, &mid).await?))
}

async fn move_flash(
    s: AppState,
    p: kith_app::Principal,
    mid: MerchantId,
    fid: FlashSaleId,
    m: Move,
) -> ApiResult<Json<FlashSale>> {
    Ok(Json(s.app.move_flash_sale(&p, &mid, &fid, m).await?))
}

/// Staff: pause a flash sale (nobody can buy in it until it is resumed).
#[utoipa::path(post, path = "/api/v1/merchants/{merchant_id}/flash-sales/{sale_id}/pause", tag = "activities",
    params(MerchantId, FlashSaleId), security(("bearer" = [])),
    responses((status = 200, body = FlashSale), (status = 401, body = Problem), (status = 403, body = Problem), (status = 404, body = Problem), (status = 409, body = Problem)))]
async fn pause_flash(
    State(s): State<AppState>,
    Auth(p): Auth,
    mid: MerchantId,
    fid: FlashSaleId,
) -> ApiResult<Json<FlashSale>> {
    move_flash(s, p, mid, fid, Move::Pause).await
}

/// Staff: resume a paused flash sale.
#[utoipa::path(post, path = "/api/v1/merchants/{merchant_id}/flash-sales/{sale_id}/resume", tag = "activities",
    params(MerchantId, FlashSaleId), security(("bearer" = [])),
    responses((status = 200, body = FlashSale), (status = 401, body = Problem), (status = 403, body = Problem), (status = 404, body = Problem), (status = 409, body = Problem)))]
async fn resume_flash(
    State(s): State<AppState>,
    Auth(p): Auth,
    mid: MerchantId,
    fid: FlashSaleId,
) -> ApiResult<Json<FlashSale>> {
    move_flash(s, p, mid, fid, Move::Resume).await
}

/// Staff: end a flash sale for good (orders already placed stand).
#[utoipa::path(post, path = "/api/v1/merchants/{merchant_id}/flash-sales/{sale_id}/end", tag = "activities",
    params(MerchantId, FlashSaleId), security(("bearer" = [])),
    responses((status = 200, body = FlashSale), (status = 401, body = Problem), (status = 403, body = Problem), (status = 404, body = Problem), (status = 409, body = Problem)))]
async fn end_flash(
    State(s): State<AppState>,
    Auth(p): Auth,
    mid: MerchantId,
    fid: FlashSaleId,
) -> ApiResult<Json<FlashSale>> {
    move_flash(s, p, mid, fid, Move::End).await
}

/// A shop's flash sales still to sell (active, a slot not over), soonest first (public).
#[utoipa::path(get, path = "/api/v1/flash-sales", tag = "activities", params(FlashSalesParams),
    responses((status = 200, body = Vec<FlashSale>), (status = 404, body = Problem), (status = 422, body = Problem)))]
async fn shop_flash(
    State(s): State<AppState>,
    ApiQuery(q): ApiQuery<FlashSalesParams>,
) -> ApiResult<Json<Vec<FlashSale>>> {
    Ok(Json(
        s.app
            .shop_flash_sales(&kith_app::platform::ids::MerchantId::parse_or_404(
                &q.merchant_id,
            )?)
            .await?,
    ))
}

/// One flash sale with its slots, what is left and the slot selling now (public).
#[utoipa::path(get, path = "/api/v1/flash-sales/{sale_id}", tag = "activities", params(FlashSaleId),
    responses((status = 200, body = FlashSale), (status = 404, body = Problem)))]
async fn one_flash(State(s): State<AppState>, fid: FlashSaleId) -> ApiResult<Json<FlashSale>> {
    Ok(Json(s.app.flash_sale(&fid).await?))
}

/// Buy in a flash sale: an order at the flash price, awaiting payment within the sale's
/// timeout. 409s name the rule: `flash_not_live`, `flash_not_active`, `flash_sold_out`,
/// `flash_member_limit`, `flash_per_order_limit`; stock's usual 409 on `quantity`.
#[utoipa::path(post, path = "/api/v1/flash-sales/{sale_id}/orders", tag = "activities", params(FlashSaleId),
    request_body = FlashOrderBody, security(("bearer" = [])),
    responses((status = 201, body = Order), (status = 401, body = Problem), (status = 404, body = Problem), (status = 409, body = Problem), (status = 422, body = Problem)))]
async fn buy_flash(
    State(s): State<AppState>,
    Auth(p): Auth,
    fid: FlashSaleId,
    ApiJson(b): ApiJson<FlashOrderBody>,
) -> ApiResult<(StatusCode, Json<Order>)> {
    let input = FlashOrderInput {
        quantity: b.quantity,
        delivery: b.delivery,
        pickup_store_id: b.pickup_store_id,
        address: b.address,
        coupon_id: b.coupon_id,
        points: b.points,
    };
    Ok((
        StatusCode::CREATED,
        Json(s.app.buy_flash_sale(&p, &fid, input).await?),
    ))
}
