//! Parcel tracking: the buyer's timeline of an order, and the tracking provider's pushes
//! (快递100: a form with `param` and `sign`, answered in its own JSON when taken).

use axum::Json;
use axum::body::Bytes;
use axum::extract::State;
use kith_app::AppError;
use kith_app::commerce::tracking::{TrackingEvent, kuaidi100};
use serde::Deserialize;
use utoipa::ToSchema;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use crate::extract::{ApiPath, Auth};
use crate::ids::OrderId;
use crate::problem::{ApiResult, Problem};
use crate::state::AppState;

pub fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(order_tracking))
        .routes(routes!(kuaidi100_push))
}

/// An order's parcel timeline, oldest first (its buyer, or its merchant's staff): each
/// carrier event with the carrier's words when the tracking provider gave them.
#[utoipa::path(get, path = "/api/v1/orders/{order_id}/tracking", tag = "orders", params(OrderId), security(("bearer" = [])),
    responses((status = 200, body = Vec<TrackingEvent>), (status = 401, body = Problem), (status = 404, body = Problem)))]
async fn order_tracking(
    State(s): State<AppState>,
    Auth(p): Auth,
    oid: OrderId,
) -> ApiResult<Json<Vec<TrackingEvent>>> {
    Ok(Json(s.app.order_tracking(&p, &oid).await?))
}

/// What 快递100 posts (`application/x-www-form-urlencoded`).
#[derive(Debug, Deserialize, ToSchema)]
pub struct Kuaidi100Push {
    /// The push as JSON text (`status`, `lastResult` with `nu`, `com`, `state`, `data`).
    pub param: String,
    /// Upper-case hex MD5 of `param` followed by the subscription's salt.
    pub sign: String,
}

/// 快递100's push for one subscription (the URL kith gave it when subscribing). Taken →
/// `{"result": true, "returnCode": "200", "message": "成功"}`; a wrong sign is 401, an
/// unknown subscription 404, a push that is not the protocol's or names another number 422
/// (the provider then pushes again; a forged push changes nothing either way).
#[utoipa::path(post, path = "/api/v1/tracking/kuaidi100/{subscription_id}", tag = "orders",
    params(("subscription_id" = String, Path)),
    request_body(content = Kuaidi100Push, content_type = "application/x-www-form-urlencoded"),
    responses((status = 200, description = "taken", body = serde_json::Value), (status = 401, body = Problem), (status = 404, body = Problem), (status = 422, body = Problem)))]
async fn kuaidi100_push(
    State(s): State<AppState>,
    ApiPath(subscription): ApiPath<String>,
    body: Bytes,
) -> ApiResult<Json<serde_json::Value>> {
    let push: Kuaidi100Push = serde_urlencoded::from_bytes(&body)
        .map_err(|e| AppError::invalid("body", format!("not the push form: {e}")))?;
    s.app
        .kuaidi100_push(&subscription, &push.param, &push.sign)
        .await?;
    Ok(Json(kuaidi100::accepted()))
}
