use axum::Json;
use axum::extract::State;
use axum::http::StatusCode;
use kith_app::commerce::cart::CartItem;
use kith_app::commerce::orders::{Address, CheckoutInput, Order, OrderEvent};
use kith_app::commerce::refunds::Refund;
use kith_app::platform::page::Page;
use kith_domain::order::{DeliveryMethod, OrderStatus};
use serde::Deserialize;
use utoipa::{IntoParams, ToSchema};
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use crate::extract::{ApiJson, ApiQuery, Auth, ClientAddr, PageParams};
use crate::ids::{MerchantId, OrderId, RefundId, SkuId, StoreId};
use crate::problem::{ApiResult, Problem};
use crate::state::AppState;

pub fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(get_cart))
        .routes(routes!(set_cart_item))
        .routes(routes!(checkout))
        .routes(routes!(my_orders))
        .routes(routes!(get_order))
        .routes(routes!(order_events))
        .routes(routes!(pay))
        .routes(routes!(cancel))
        .routes(routes!(confirm_receipt))
        .routes(routes!(merchant_orders))
        .routes(routes!(ship))
        .routes(routes!(ready))
        .routes(routes!(refund, list_refunds))
        .routes(routes!(retry_refund))
        .routes(routes!(redeem))
        .routes(routes!(pickups))
}

/// The caller's cart at a merchant, priced for their tier now.
#[utoipa::path(get, path = "/api/v1/merchants/{merchant_id}/cart", tag = "orders", params(MerchantId), security(("bearer" = [])),
    responses((status = 200, body = Vec<CartItem>), (status = 401, body = Problem)))]
async fn get_cart(
    State(s): State<AppState>,
    Auth(p): Auth,
    mid: MerchantId,
) -> ApiResult<Json<Vec<CartItem>>> {
    Ok(Json(s.app.cart(&p, &mid).await?))
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct CartItemBody {
    /// 1–999, or 0 to remove the SKU from the cart.
    pub quantity: i64,
}

/// Set a SKU's quantity in the cart (0 removes it).
#[utoipa::path(put, path = "/api/v1/merchants/{merchant_id}/cart/items/{sku_id}", tag = "orders",
    params(MerchantId, SkuId), request_body = CartItemBody, security(("bearer" = [])),
    responses((status = 200, body = Vec<CartItem>), (status = 404, body = Problem), (status = 409, body = Problem), (status = 422, body = Problem)))]
async fn set_cart_item(
    State(s): State<AppState>,
    Auth(p): Auth,
    mid: MerchantId,
    sid: SkuId,
    ApiJson(b): ApiJson<CartItemBody>,
) -> ApiResult<Json<Vec<CartItem>>> {
    Ok(Json(s.app.set_cart_item(&p, &mid, &sid, b.quantity).await?))
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct CheckoutItem {
    pub sku_id: String,
    /// 1–999.
    #[schema(minimum = 1, maximum = 999)]
    pub quantity: i64,
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct CheckoutBody {
    pub delivery: DeliveryMethod,
    /// Required for pickup: a store of this merchant that has the stock.
    pub pickup_store_id: Option<String>,
    /// Required for shipping, unless `address_id` names a saved one.
    pub address: Option<Address>,
    /// One of the caller's saved addresses (`/api/v1/me/addresses`), instead of `address`;
    /// giving both is a 422 naming `address_id`, as is an id that is not the caller's.
    pub address_id: Option<String>,
    /// The lines to buy; leave out to buy the whole cart at this merchant.
    pub items: Option<Vec<CheckoutItem>>,
    /// One of the buyer's available coupons at this shop (coupons do not stack). Refused
    /// with a 409 naming the rule: `coupon_not_available` (used, locked, expired),
    /// `coupon_minimum_spend`, `coupon_out_of_scope`; another member's coupon is a 404.
    pub coupon_id: Option<String>,
    /// Points to spend, at most (the shop's cap decides how many are taken; only what
    /// the discount costs is spent). 409 `points` when the buyer holds fewer,
    /// `points_not_taken` when the shop takes none.
    #[schema(minimum = 0)]
    pub points: Option<i64>,
}

/// Check out: an order awaiting payment, with stock reserved and prices of the buyer's
/// tier. Unpaid orders are cancelled after the merchant's timeout (default 30 min).
/// Accepts `Idempotency-Key`.
#[utoipa::path(post, path = "/api/v1/merchants/{merchant_id}/checkout", tag = "orders", params(MerchantId),
    request_body = CheckoutBody, security(("bearer" = [])),
    responses((status = 201, body = Order), (status = 409, description = "not enough stock", body = Problem), (status = 422, body = Problem)))]
async fn checkout(
    State(s): State<AppState>,
    Auth(p): Auth,
    mid: MerchantId,
    ApiJson(b): ApiJson<CheckoutBody>,
) -> ApiResult<(StatusCode, Json<Order>)> {
    let input = CheckoutInput {
        coupon_id: b.coupon_id,
        points: b.points,
        delivery: b.delivery,
        pickup_store_id: b.pickup_store_id,
        address: b.address,
        address_id: b.address_id,
        items: b
            .items
            .map(|items| items.into_iter().map(|i| (i.sku_id, i.quantity)).collect()),
    };
    Ok((
        StatusCode::CREATED,
        Json(s.app.checkout(&p, &mid, input).await?),
    ))
}

/// The caller's orders, newest first.
#[utoipa::path(get, path = "/api/v1/me/orders", tag = "orders", params(PageParams), security(("bearer" = [])),
    responses((status = 200, body = Page<Order>), (status = 401, body = Problem)))]
async fn my_orders(
    State(s): State<AppState>,
    Auth(p): Auth,
    ApiQuery(q): ApiQuery<PageParams>,
) -> ApiResult<Json<Page<Order>>> {
    Ok(Json(s.app.my_orders(&p, q.parse()?).await?))
}

/// An order (its buyer, or its merchant's staff).
#[utoipa::path(get, path = "/api/v1/orders/{order_id}", tag = "orders", params(OrderId), security(("bearer" = [])),
    responses((status = 200, body = Order), (status = 404, body = Problem)))]
async fn get_order(
    State(s): State<AppState>,
    Auth(p): Auth,
    oid: OrderId,
) -> ApiResult<Json<Order>> {
    Ok(Json(s.app.get_order(&p, &oid).await?))
}

/// Every transition of an order, with time and actor.
#[utoipa::path(get, path = "/api/v1/orders/{order_id}/events", tag = "orders", params(OrderId), security(("bearer" = [])),
    responses((status = 200, body = Vec<OrderEvent>), (status = 404, body = Problem)))]
async fn order_events(
    State(s): State<AppState>,
    Auth(p): Auth,
    oid: OrderId,
) -> ApiResult<Json<Vec<OrderEvent>>> {
    Ok(Json(s.app.order_events(&p, &oid).await?))
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct PayBody {
    pub provider: kith_app::commerce::payments::Provider,
    /// With `wechat`: `native` (default; `pay_url` is the `code_url` to show as a QR
    /// code), `h5` (`pay_url` is the `h5_url` to open) or `jsapi` (`pay_url` is the
    /// `prepay_id`; needs the member's WeChat sign-in through the shop's app id).
    #[serde(default)]
    pub mode: Option<kith_app::rails::wechatpay::WechatMode>,
    /// With `alipay`: `wap` (default; `pay_url` is the signed phone pay page), `page` (the
    /// desktop pay page) or `qr` (`pay_url` is the `qr_code` to show).
    #[serde(default)]
    pub alipay_mode: Option<kith_app::rails::alipay::AlipayMode>,
}

/// The result of asking to pay: the order (paid at once from the wallet) or a gateway
/// payment to confirm on its page.
#[derive(Debug, serde::Serialize, ToSchema)]
pub struct PayResult {
    pub order: Option<Order>,
    pub payment: Option<kith_app::commerce::payments::Payment>,
}

/// Pay an order: `wallet` pays at once from the prepaid balance; `sandbox` returns a
/// payment whose `pay_url` the payer confirms on. Accepts `Idempotency-Key`.
#[utoipa::path(post, path = "/api/v1/orders/{order_id}/pay", tag = "orders", params(OrderId), request_body = PayBody, security(("bearer" = [])),
    responses((status = 200, body = PayResult), (status = 404, body = Problem), (status = 409, description = "not payable, or insufficient wallet balance", body = Problem)))]
async fn pay(
    State(s): State<AppState>,
    Auth(p): Auth,
    ClientAddr(addr): ClientAddr,
    oid: OrderId,
    ApiJson(b): ApiJson<PayBody>,
) -> ApiResult<Json<PayResult>> {
    Ok(Json(match b.provider {
        kith_app::commerce::payments::Provider::Wallet => PayResult {
            order: Some(s.app.pay_with_wallet(&p, &oid).await?),
            payment: None,
        },
        kith_app::commerce::payments::Provider::Sandbox => PayResult {
            order: None,
            payment: Some(s.app.pay_with_gateway(&p, &oid).await?),
        },
        kith_app::commerce::payments::Provider::Wechat => PayResult {
            order: None,
            payment: Some(
                s.app
                    .pay_with_wechat(&p, &oid, b.mode.unwrap_or_default(), &addr)
                    .await?,
            ),
        },
        kith_app::commerce::payments::Provider::Alipay => PayResult {
            order: None,
            payment: Some(
                s.app
                    .pay_with_alipay(&p, &oid, b.alipay_mode.unwrap_or_default())
                    .await?,
            ),
        },
    }))
}

/// The buyer cancels an unpaid order; its stock is released.
#[utoipa::path(post, path = "/api/v1/orders/{order_id}/cancel", tag = "orders", params(OrderId), security(("bearer" = [])),
    responses((status = 200, body = Order), (status = 404, body = Problem), (status = 409, body = Problem)))]
async fn cancel(State(s): State<AppState>, Auth(p): Auth, oid: OrderId) -> ApiResult<Json<Order>> {
    Ok(Json(s.app.cancel_order(&p, &oid).await?))
}

/// The buyer confirms receipt of a shipped order.
#[utoipa::path(post, path = "/api/v1/orders/{order_id}/confirm-receipt", tag = "orders", params(OrderId), security(("bearer" = [])),
    responses((status = 200, body = Order), (status = 404, body = Problem), (status = 409, body = Problem)))]
async fn confirm_receipt(
    State(s): State<AppState>,
    Auth(p): Auth,
    oid: OrderId,
) -> ApiResult<Json<Order>> {
    Ok(Json(s.app.confirm_receipt(&p, &oid).await?))
}

#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
#[serde(deny_unknown_fields)]
pub struct MerchantOrdersQuery {
    pub status: Option<OrderStatus>,
    /// Only orders of buyers found by part of their name, their whole phone number or its
    /// last four digits (as the console's member search).
    #[param(max_length = 32)]
    pub q: Option<String>,
    #[param(minimum = 1, maximum = 100)]
    pub limit: Option<i64>,
    pub cursor: Option<String>,
}

/// Staff: the merchant's orders, newest first.
#[utoipa::path(get, path = "/api/v1/merchants/{merchant_id}/orders", tag = "orders", params(MerchantId, MerchantOrdersQuery), security(("bearer" = [])),
    responses((status = 200, body = Page<Order>), (status = 403, body = Problem), (status = 404, body = Problem)))]
async fn merchant_orders(
    State(s): State<AppState>,
    Auth(p): Auth,
    mid: MerchantId,
    ApiQuery(q): ApiQuery<MerchantOrdersQuery>,
) -> ApiResult<Json<Page<Order>>> {
    let page = PageParams {
        limit: q.limit,
        cursor: q.cursor,
    }
    .parse()?;
    let buyer = kith_app::commerce::browse::MemberQuery::parse(q.q.as_deref().unwrap_or(""))?;
    Ok(Json(
        s.app
            .merchant_orders(&p, &mid, q.status, &buyer, page)
            .await?,
    ))
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ShipBody {
    /// Carrier code: `sf`, `zto`, `sandbox`, …
    #[schema(min_length = 2, max_length = 16, pattern = "^[a-z0-9_]+$")]
    pub carrier: String,
    #[schema(min_length = 4, max_length = 40, pattern = "^[A-Za-z0-9-]+$")]
    pub tracking_no: String,
}

/// Staff: ship an order (stock is committed; receipt auto-confirms after the merchant's days).
#[utoipa::path(post, path = "/api/v1/merchants/{merchant_id}/orders/{order_id}/ship", tag = "orders",
    params(MerchantId, OrderId), request_body = ShipBody, security(("bearer" = [])),
    responses((status = 200, body = Order), (status = 403, body = Problem), (status = 404, body = Problem), (status = 409, body = Problem), (status = 422, body = Problem)))]
async fn ship(
    State(s): State<AppState>,
    Auth(p): Auth,
    mid: MerchantId,
    oid: OrderId,
    ApiJson(b): ApiJson<ShipBody>,
) -> ApiResult<Json<Order>> {
    Ok(Json(
        s.app
            .ship_order(&p, &mid, &oid, &b.carrier, &b.tracking_no)
            .await?,
    ))
}

/// Staff: a pickup order is ready at its store; a one-time code is issued to the buyer.
#[utoipa::path(post, path = "/api/v1/merchants/{merchant_id}/orders/{order_id}/ready", tag = "orders",
    params(MerchantId, OrderId), security(("bearer" = [])),
    responses((status = 200, body = Order), (status = 403, body = Problem), (status = 404, body = Problem), (status = 409, body = Problem)))]
async fn ready(
    State(s): State<AppState>,
    Auth(p): Auth,
    mid: MerchantId,
    oid: OrderId,
) -> ApiResult<Json<Order>> {
    Ok(Json(s.app.mark_ready_for_pickup(&p, &mid, &oid).await?))
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct RefundLine {
    pub line_no: i64,
    pub quantity: i64,
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct RefundBody {
    /// Lines and quantities to refund; leave out to refund everything that remains.
    pub lines: Option<Vec<RefundLine>>,
    /// 1–200 characters, shown to the buyer.
    pub reason: String,
}

/// Staff: refund an order, fully or per line, back through the provider that took the money.
#[utoipa::path(post, path = "/api/v1/merchants/{merchant_id}/orders/{order_id}/refunds", tag = "orders",
    params(MerchantId, OrderId), request_body = RefundBody, security(("bearer" = [])),
    responses((status = 201, body = Refund), (status = 403, body = Problem), (status = 404, body = Problem), (status = 409, body = Problem), (status = 422, body = Problem)))]
async fn refund(
    State(s): State<AppState>,
    Auth(p): Auth,
    mid: MerchantId,
    oid: OrderId,
    ApiJson(b): ApiJson<RefundBody>,
) -> ApiResult<(StatusCode, Json<Refund>)> {
    let lines = b
        .lines
        .map(|ls| ls.into_iter().map(|l| (l.line_no, l.quantity)).collect());
    Ok((
        StatusCode::CREATED,
        Json(s.app.refund_order(&p, &mid, &oid, lines, &b.reason).await?),
    ))
}

/// Staff: ask again for a refund that failed (the same lines and reason, as a new refund).
#[utoipa::path(post, path = "/api/v1/merchants/{merchant_id}/orders/{order_id}/refunds/{refund_id}/retry", tag = "orders",
    params(MerchantId, OrderId, RefundId), security(("bearer" = [])),
    responses((status = 201, body = Refund), (status = 403, body = Problem), (status = 404, body = Problem), (status = 409, body = Problem)))]
async fn retry_refund(
    State(s): State<AppState>,
    Auth(p): Auth,
    mid: MerchantId,
    oid: OrderId,
    rid: RefundId,
) -> ApiResult<(StatusCode, Json<Refund>)> {
    Ok((
        StatusCode::CREATED,
        Json(s.app.retry_refund(&p, &mid, &oid, &rid).await?),
    ))
}

/// An order's refunds (its buyer or staff).
#[utoipa::path(get, path = "/api/v1/merchants/{merchant_id}/orders/{order_id}/refunds", tag = "orders",
    params(MerchantId, OrderId), security(("bearer" = [])),
    responses((status = 200, body = Vec<Refund>), (status = 404, body = Problem)))]
async fn list_refunds(
    State(s): State<AppState>,
    Auth(p): Auth,
    mid: MerchantId,
    oid: OrderId,
) -> ApiResult<Json<Vec<Refund>>> {
    Ok(Json(s.app.list_refunds(&p, &mid, &oid).await?))
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct RedeemBody {
    /// The buyer's 8-digit pickup code.
    pub code: String,
}

/// Clerks: redeem a pickup code at their store (once; not at another store; not after a refund).
#[utoipa::path(post, path = "/api/v1/clerk/stores/{store_id}/pickups/redeem", tag = "orders", params(StoreId),
    request_body = RedeemBody, security(("bearer" = [])),
    responses((status = 200, body = Order), (status = 403, body = Problem), (status = 404, body = Problem), (status = 409, body = Problem), (status = 422, body = Problem)))]
async fn redeem(
    State(s): State<AppState>,
    Auth(p): Auth,
    sid: StoreId,
    ApiJson(b): ApiJson<RedeemBody>,
) -> ApiResult<Json<Order>> {
    Ok(Json(s.app.redeem_pickup(&p, &sid, &b.code).await?))
}

/// Clerks: orders waiting at their store, and those picked up in the last day.
#[utoipa::path(get, path = "/api/v1/clerk/stores/{store_id}/pickups", tag = "orders", params(StoreId), security(("bearer" = [])),
    responses((status = 200, body = Vec<Order>), (status = 403, body = Problem)))]
async fn pickups(
    State(s): State<AppState>,
    Auth(p): Auth,
    sid: StoreId,
) -> ApiResult<Json<Vec<Order>>> {
    Ok(Json(s.app.store_pickups(&p, &sid).await?))
}
