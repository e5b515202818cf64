//! After-sales the buyer starts (仅退款 / 退货退款): the buyer opens, revises, cancels,
//! ships a return and asks for arbitration; the merchant's staff agree, refuse and confirm
//! a return's receipt; platform admins decide disputes. Anyone else gets 404.

use axum::Json;
use axum::extract::State;
use axum::http::StatusCode;
use kith_app::commerce::aftersale::{
    AftersaleRequest, AftersaleTerms, DecideAftersale, LineReceipt, OpenAftersale,
};
use serde::Deserialize;
use utoipa::{IntoParams, ToSchema};
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use crate::extract::{ApiJson, ApiQuery, Auth};
use crate::ids::{AftersaleId, MerchantId, OrderId};
use crate::problem::{ApiResult, Problem};
use crate::state::AppState;

pub fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(open, order_requests))
        .routes(routes!(mine))
        .routes(routes!(get_one))
        .routes(routes!(revise))
        .routes(routes!(cancel))
        .routes(routes!(ship_return))
        .routes(routes!(dispute))
        .routes(routes!(merchant_queue))
        .routes(routes!(agree))
        .routes(routes!(refuse))
        .routes(routes!(receive))
        .routes(routes!(get_terms, set_terms))
        .routes(routes!(disputed))
        .routes(routes!(decide))
}

/// The buyer opens a request on lines of their order.
#[utoipa::path(post, path = "/api/v1/orders/{order_id}/aftersales", tag = "aftersales",
    params(OrderId), request_body = OpenAftersale, security(("bearer" = [])),
    responses((status = 201, body = AftersaleRequest), (status = 401, body = Problem), (status = 404, body = Problem), (status = 409, body = Problem), (status = 422, body = Problem)))]
async fn open(
    State(s): State<AppState>,
    Auth(p): Auth,
    oid: OrderId,
    ApiJson(b): ApiJson<OpenAftersale>,
) -> ApiResult<(StatusCode, Json<AftersaleRequest>)> {
    Ok((
        StatusCode::CREATED,
        Json(s.app.open_aftersale(&p, &oid, b).await?),
    ))
}

/// The requests on one order (its buyer or the merchant's staff).
#[utoipa::path(get, path = "/api/v1/orders/{order_id}/aftersales", tag = "aftersales",
    params(OrderId), security(("bearer" = [])),
    responses((status = 200, body = Vec<AftersaleRequest>), (status = 401, body = Problem), (status = 404, body = Problem)))]
async fn order_requests(
    State(s): State<AppState>,
    Auth(p): Auth,
    oid: OrderId,
) -> ApiResult<Json<Vec<AftersaleRequest>>> {
    Ok(Json(s.app.order_aftersales(&p, &oid).await?))
}

/// The caller's own requests, newest first.
#[utoipa::path(get, path = "/api/v1/me/aftersales", tag = "aftersales", security(("bearer" = [])),
    responses((status = 200, body = Vec<AftersaleRequest>), (status = 401, body = Problem)))]
async fn mine(State(s): State<AppState>, Auth(p): Auth) -> ApiResult<Json<Vec<AftersaleRequest>>> {
    Ok(Json(s.app.my_aftersales(&p).await?))
}

/// One request with its timeline (its buyer, the merchant's staff, a platform admin).
#[utoipa::path(get, path = "/api/v1/aftersales/{aftersale_id}", tag = "aftersales",
    params(AftersaleId), security(("bearer" = [])),
    responses((status = 200, body = AftersaleRequest), (status = 401, body = Problem), (status = 404, body = Problem)))]
async fn get_one(
    State(s): State<AppState>,
    Auth(p): Auth,
    id: AftersaleId,
) -> ApiResult<Json<AftersaleRequest>> {
    Ok(Json(s.app.get_aftersale(&p, &id).await?))
}

/// The buyer revises a refused request and sends it again (at most twice).
#[utoipa::path(post, path = "/api/v1/aftersales/{aftersale_id}/revise", tag = "aftersales",
    params(AftersaleId), request_body = OpenAftersale, security(("bearer" = [])),
    responses((status = 200, body = AftersaleRequest), (status = 401, body = Problem), (status = 404, body = Problem), (status = 409, body = Problem), (status = 422, body = Problem)))]
async fn revise(
    State(s): State<AppState>,
    Auth(p): Auth,
    id: AftersaleId,
    ApiJson(b): ApiJson<OpenAftersale>,
) -> ApiResult<Json<AftersaleRequest>> {
    Ok(Json(s.app.revise_aftersale(&p, &id, b).await?))
}

/// The buyer withdraws a request (before the goods or the money moved).
#[utoipa::path(post, path = "/api/v1/aftersales/{aftersale_id}/cancel", tag = "aftersales",
    params(AftersaleId), security(("bearer" = [])),
    responses((status = 200, body = AftersaleRequest), (status = 401, body = Problem), (status = 404, body = Problem), (status = 409, body = Problem)))]
async fn cancel(
    State(s): State<AppState>,
    Auth(p): Auth,
    id: AftersaleId,
) -> ApiResult<Json<AftersaleRequest>> {
    Ok(Json(s.app.cancel_aftersale(&p, &id).await?))
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ReturnShipmentBody {
    /// A carrier code like `sf`, `zto`, `sandbox`.
    #[schema(min_length = 2, max_length = 16, pattern = "^[a-z0-9_]+$")]
    pub carrier: String,
    #[schema(min_length = 4, max_length = 40, pattern = "^[A-Za-z0-9-]+$")]
    pub tracking_no: String,
}

/// The buyer enters the return's carrier and tracking number.
#[utoipa::path(post, path = "/api/v1/aftersales/{aftersale_id}/return-shipment", tag = "aftersales",
    params(AftersaleId), request_body = ReturnShipmentBody, security(("bearer" = [])),
    responses((status = 200, body = AftersaleRequest), (status = 401, body = Problem), (status = 404, body = Problem), (status = 409, body = Problem), (status = 422, body = Problem)))]
async fn ship_return(
    State(s): State<AppState>,
    Auth(p): Auth,
    id: AftersaleId,
    ApiJson(b): ApiJson<ReturnShipmentBody>,
) -> ApiResult<Json<AftersaleRequest>> {
    Ok(Json(
        s.app
            .ship_aftersale_return(&p, &id, &b.carrier, &b.tracking_no)
            .await?,
    ))
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct NoteBody {
    #[schema(min_length = 1, max_length = 1000)]
    pub note: String,
}

/// The buyer asks the platform to arbitrate a refusal.
#[utoipa::path(post, path = "/api/v1/aftersales/{aftersale_id}/dispute", tag = "aftersales",
    params(AftersaleId), request_body = NoteBody, security(("bearer" = [])),
    responses((status = 200, body = AftersaleRequest), (status = 401, body = Problem), (status = 404, body = Problem), (status = 409, body = Problem), (status = 422, body = Problem)))]
async fn dispute(
    State(s): State<AppState>,
    Auth(p): Auth,
    id: AftersaleId,
    ApiJson(b): ApiJson<NoteBody>,
) -> ApiResult<Json<AftersaleRequest>> {
    Ok(Json(s.app.dispute_aftersale(&p, &id, &b.note).await?))
}

#[derive(Debug, Deserialize, IntoParams)]
#[serde(deny_unknown_fields)]
pub struct QueueQuery {
    /// Only requests in this state (`requested`, `return_shipped`, …).
    pub state: Option<String>,
}

/// Staff: the merchant's queue, the nearest deadline first.
#[utoipa::path(get, path = "/api/v1/merchants/{merchant_id}/aftersales", tag = "aftersales",
    params(MerchantId, QueueQuery), security(("bearer" = [])),
    responses((status = 200, body = Vec<AftersaleRequest>), (status = 401, body = Problem), (status = 403, body = Problem), (status = 404, body = Problem), (status = 422, body = Problem)))]
async fn merchant_queue(
    State(s): State<AppState>,
    Auth(p): Auth,
    mid: MerchantId,
    ApiQuery(q): ApiQuery<QueueQuery>,
) -> ApiResult<Json<Vec<AftersaleRequest>>> {
    Ok(Json(
        s.app
            .merchant_aftersales(&p, &mid, q.state.as_deref())
            .await?,
    ))
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct AgreeBody {
    /// For a return: where to send the goods (defaults to the merchant's terms).
    #[schema(max_length = 300)]
    pub return_address: Option<String>,
}

/// Staff agree: a 仅退款 is refunded at once; a return waits for the goods.
#[utoipa::path(post, path = "/api/v1/merchants/{merchant_id}/aftersales/{aftersale_id}/agree", tag = "aftersales",
    params(MerchantId, AftersaleId), request_body = AgreeBody, security(("bearer" = [])),
    responses((status = 200, body = AftersaleRequest), (status = 401, body = Problem), (status = 403, body = Problem), (status = 404, body = Problem), (status = 409, body = Problem), (status = 422, body = Problem)))]
async fn agree(
    State(s): State<AppState>,
    Auth(p): Auth,
    mid: MerchantId,
    id: AftersaleId,
    ApiJson(b): ApiJson<AgreeBody>,
) -> ApiResult<Json<AftersaleRequest>> {
    Ok(Json(
        s.app
            .agree_aftersale(&p, &mid, &id, b.return_address)
            .await?,
    ))
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct RefuseBody {
    #[schema(min_length = 1, max_length = 500)]
    pub reason: String,
}

/// Staff refuse, with a reason the buyer sees.
#[utoipa::path(post, path = "/api/v1/merchants/{merchant_id}/aftersales/{aftersale_id}/refuse", tag = "aftersales",
    params(MerchantId, AftersaleId), request_body = RefuseBody, security(("bearer" = [])),
    responses((status = 200, body = AftersaleRequest), (status = 401, body = Problem), (status = 403, body = Problem), (status = 404, body = Problem), (status = 409, body = Problem), (status = 422, body = Problem)))]
async fn refuse(
    State(s): State<AppState>,
    Auth(p): Auth,
    mid: MerchantId,
    id: AftersaleId,
    ApiJson(b): ApiJson<RefuseBody>,
) -> ApiResult<Json<AftersaleRequest>> {
    Ok(Json(
        s.app.refuse_aftersale(&p, &mid, &id, &b.reason).await?,
    ))
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ReceiveBody {
    /// Every line of the request: units received and, of those, damaged.
    pub lines: Vec<LineReceipt>,
    /// The location the undamaged units go back to.
    pub location_id: String,
}

/// Staff confirm a return's receipt; undamaged units are restocked, then the money goes back.
#[utoipa::path(post, path = "/api/v1/merchants/{merchant_id}/aftersales/{aftersale_id}/receive", tag = "aftersales",
    params(MerchantId, AftersaleId), request_body = ReceiveBody, security(("bearer" = [])),
    responses((status = 200, body = AftersaleRequest), (status = 401, body = Problem), (status = 403, body = Problem), (status = 404, body = Problem), (status = 409, body = Problem), (status = 422, body = Problem)))]
async fn receive(
    State(s): State<AppState>,
    Auth(p): Auth,
    mid: MerchantId,
    id: AftersaleId,
    ApiJson(b): ApiJson<ReceiveBody>,
) -> ApiResult<Json<AftersaleRequest>> {
    Ok(Json(
        s.app
            .receive_aftersale_return(&p, &mid, &id, b.lines, &b.location_id)
            .await?,
    ))
}

/// Staff: the merchant's after-sale deadlines and return address.
#[utoipa::path(get, path = "/api/v1/merchants/{merchant_id}/aftersale-terms", tag = "aftersales",
    params(MerchantId), security(("bearer" = [])),
    responses((status = 200, body = AftersaleTerms), (status = 401, body = Problem), (status = 403, body = Problem), (status = 404, body = Problem)))]
async fn get_terms(
    State(s): State<AppState>,
    Auth(p): Auth,
    mid: MerchantId,
) -> ApiResult<Json<AftersaleTerms>> {
    Ok(Json(s.app.aftersale_terms(&p, &mid).await?))
}

/// Staff: set the merchant's after-sale deadlines and return address.
#[utoipa::path(put, path = "/api/v1/merchants/{merchant_id}/aftersale-terms", tag = "aftersales",
    params(MerchantId), request_body = AftersaleTerms, security(("bearer" = [])),
    responses((status = 200, body = AftersaleTerms), (status = 401, body = Problem), (status = 403, body = Problem), (status = 404, body = Problem), (status = 422, body = Problem)))]
async fn set_terms(
    State(s): State<AppState>,
    Auth(p): Auth,
    mid: MerchantId,
    ApiJson(b): ApiJson<AftersaleTerms>,
) -> ApiResult<Json<AftersaleTerms>> {
    Ok(Json(s.app.set_aftersale_terms(&p, &mid, b).await?))
}

/// Platform admins: disputed requests waiting for a decision, with both sides' words and photos.
#[utoipa::path(get, path = "/api/v1/admin/aftersales/disputed", tag = "aftersales", security(("bearer" = [])),
    responses((status = 200, body = Vec<AftersaleRequest>), (status = 401, body = Problem), (status = 403, body = Problem)))]
async fn disputed(
    State(s): State<AppState>,
    Auth(p): Auth,
) -> ApiResult<Json<Vec<AftersaleRequest>>> {
    Ok(Json(s.app.disputed_aftersales(&p).await?))
}

/// Platform admins decide a dispute: refund all, part or nothing. Final.
#[utoipa::path(post, path = "/api/v1/admin/aftersales/{aftersale_id}/decide", tag = "aftersales",
    params(AftersaleId), request_body = DecideAftersale, security(("bearer" = [])),
    responses((status = 200, body = AftersaleRequest), (status = 401, body = Problem), (status = 403, body = Problem), (status = 404, body = Problem), (status = 409, body = Problem), (status = 422, body = Problem)))]
async fn decide(
    State(s): State<AppState>,
    Auth(p): Auth,
    id: AftersaleId,
    ApiJson(b): ApiJson<DecideAftersale>,
) -> ApiResult<Json<AftersaleRequest>> {
    Ok(Json(s.app.decide_aftersale(&p, &id, b).await?))
}
