use axum::Json;
use axum::extract::State;
use axum::http::StatusCode;
use kith_app::events::webhooks::{Attempt, Delivery, Endpoint, NewEndpoint};
use kith_app::platform::page::Page;
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use crate::extract::{ApiJson, ApiQuery, Auth, PageParams};
use crate::ids::{DeliveryId, EndpointId, MerchantId};
use crate::problem::{ApiResult, Problem};
use crate::state::AppState;

pub fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(create, list))
        .routes(routes!(delete))
        .routes(routes!(enable))
        .routes(routes!(deliveries))
        .routes(routes!(attempts))
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct EndpointBody {
    /// Where to POST events: https (http only where the operator allows private targets).
    #[schema(format = "uri", pattern = "^https?://")]
    pub url: String,
    /// Topics to receive: `*`, an exact topic (`merchant.approved`) or a prefix (`store.*`).
    pub topics: Vec<String>,
    pub description: Option<String>,
}

/// A new endpoint and its signing secret, shown only in this response.
#[derive(Debug, Serialize, ToSchema)]
pub struct CreatedEndpoint {
    pub endpoint: Endpoint,
    /// Verify `Kith-Signature: t=<unix s>,v1=<hex HMAC-SHA256(secret, "<t>.<body>")>`.
    pub secret: String,
}

/// Staff: register a webhook endpoint.
#[utoipa::path(post, path = "/api/v1/merchants/{merchant_id}/webhooks", tag = "webhooks", params(MerchantId),
    request_body = EndpointBody, security(("bearer" = [])),
    responses((status = 201, body = CreatedEndpoint), (status = 403, body = Problem), (status = 404, body = Problem), (status = 409, body = Problem), (status = 422, body = Problem)))]
async fn create(
    State(s): State<AppState>,
    Auth(p): Auth,
    mid: MerchantId,
    ApiJson(b): ApiJson<EndpointBody>,
) -> ApiResult<(StatusCode, Json<CreatedEndpoint>)> {
    let input = NewEndpoint {
        url: b.url,
        topics: b.topics,
        description: b.description,
    };
    let (endpoint, secret) =
        kith_app::events::webhooks::create_endpoint(&s.app, &p, &mid, input).await?;
    Ok((
        StatusCode::CREATED,
        Json(CreatedEndpoint { endpoint, secret }),
    ))
}

/// Staff: the merchant's webhook endpoints.
#[utoipa::path(get, path = "/api/v1/merchants/{merchant_id}/webhooks", tag = "webhooks", params(MerchantId), security(("bearer" = [])),
    responses((status = 200, body = Vec<Endpoint>), (status = 403, body = Problem), (status = 404, body = Problem)))]
async fn list(
    State(s): State<AppState>,
    Auth(p): Auth,
    mid: MerchantId,
) -> ApiResult<Json<Vec<Endpoint>>> {
    Ok(Json(
        kith_app::events::webhooks::list_endpoints(&s.app, &p, &mid).await?,
    ))
}

/// Staff: stop delivering to an endpoint (its history stays listable).
#[utoipa::path(delete, path = "/api/v1/merchants/{merchant_id}/webhooks/{endpoint_id}", tag = "webhooks",
    params(MerchantId, EndpointId), security(("bearer" = [])),
    responses((status = 204, description = "disabled"), (status = 403, body = Problem), (status = 404, body = Problem)))]
async fn delete(
    State(s): State<AppState>,
    Auth(p): Auth,
    mid: MerchantId,
    eid: EndpointId,
) -> ApiResult<StatusCode> {
    kith_app::events::webhooks::delete_endpoint(&s.app, &p, &mid, &eid).await?;
    Ok(StatusCode::NO_CONTENT)
}

/// Staff: re-enable an endpoint that was disabled for failing; it receives events again
/// from now on, its failure count cleared. Enabling an active endpoint changes nothing.
#[utoipa::path(post, path = "/api/v1/merchants/{merchant_id}/webhooks/{endpoint_id}/enable", tag = "webhooks",
    params(MerchantId, EndpointId), security(("bearer" = [])),
    responses((status = 200, body = Endpoint), (status = 403, body = Problem), (status = 404, body = Problem), (status = 409, body = Problem)))]
async fn enable(
    State(s): State<AppState>,
    Auth(p): Auth,
    mid: MerchantId,
    eid: EndpointId,
) -> ApiResult<Json<Endpoint>> {
    Ok(Json(
        kith_app::events::webhooks::enable_endpoint(&s.app, &p, &mid, &eid).await?,
    ))
}

/// Staff: deliveries to an endpoint, with their state.
#[utoipa::path(get, path = "/api/v1/merchants/{merchant_id}/webhooks/{endpoint_id}/deliveries", tag = "webhooks",
    params(MerchantId, EndpointId, PageParams), security(("bearer" = [])),
    responses((status = 200, body = Page<Delivery>), (status = 403, body = Problem), (status = 404, body = Problem)))]
async fn deliveries(
    State(s): State<AppState>,
    Auth(p): Auth,
    mid: MerchantId,
    eid: EndpointId,
    ApiQuery(q): ApiQuery<PageParams>,
) -> ApiResult<Json<Page<Delivery>>> {
    Ok(Json(
        kith_app::events::webhooks::list_deliveries(&s.app, &p, &mid, &eid, q.parse()?).await?,
    ))
}

/// Staff: every attempt of one delivery (status code or error, duration, response excerpt).
#[utoipa::path(get, path = "/api/v1/merchants/{merchant_id}/webhook-deliveries/{delivery_id}/attempts", tag = "webhooks",
    params(MerchantId, DeliveryId), security(("bearer" = [])),
    responses((status = 200, body = Vec<Attempt>), (status = 403, body = Problem), (status = 404, body = Problem)))]
async fn attempts(
    State(s): State<AppState>,
    Auth(p): Auth,
    mid: MerchantId,
    did: DeliveryId,
) -> ApiResult<Json<Vec<Attempt>>> {
    Ok(Json(
        kith_app::events::webhooks::list_attempts(&s.app, &p, &mid, &did).await?,
    ))
}
