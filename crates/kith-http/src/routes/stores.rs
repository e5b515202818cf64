use axum::Json;
use axum::extract::State;
use axum::http::StatusCode;
use kith_app::commerce::stores::{Clerk, Store, StoreInput};
use kith_app::platform::merchants::Invitation;
use kith_domain::store::OpeningWindow;
use serde::Deserialize;
use utoipa::ToSchema;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use crate::extract::{ApiJson, Auth, MaybeAuth};
use crate::ids::{ClerkId, MerchantId, StoreId};
use crate::problem::{ApiResult, Problem};
use crate::state::AppState;

pub fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(create, list))
        .routes(routes!(get_one, update))
        .routes(routes!(invite_clerk))
        .routes(routes!(list_clerks))
        .routes(routes!(remove_clerk))
        .routes(routes!(clerk_store))
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct StoreBody {
    /// 1–64 characters, unique within the merchant.
    #[schema(min_length = 1, max_length = 64)]
    pub name: String,
    /// 4–200 characters.
    #[schema(min_length = 4, max_length = 200)]
    pub address: String,
    /// WGS-84 degrees, −90…90.
    #[schema(minimum = -90, maximum = 90)]
    pub latitude: f64,
    /// WGS-84 degrees, −180…180.
    #[schema(minimum = -180, maximum = 180)]
    pub longitude: f64,
    /// Weekly windows, at most 21; weekday 1 = Monday.
    #[serde(default)]
    #[schema(max_items = 21)]
    pub opening_hours: Vec<OpeningWindow>,
    pub phone: Option<String>,
}

impl From<StoreBody> for StoreInput {
    fn from(b: StoreBody) -> Self {
        Self {
            name: Some(b.name),
            address: Some(b.address),
            latitude: Some(b.latitude),
            longitude: Some(b.longitude),
            opening_hours: Some(b.opening_hours),
            phone: b.phone,
        }
    }
}

/// Staff: open an offline store.
#[utoipa::path(post, path = "/api/v1/merchants/{merchant_id}/stores", tag = "stores", params(MerchantId),
    request_body = StoreBody, security(("bearer" = [])),
    responses((status = 201, body = Store), (status = 403, body = Problem), (status = 404, body = Problem), (status = 409, body = Problem), (status = 422, body = Problem)))]
async fn create(
    State(s): State<AppState>,
    Auth(p): Auth,
    mid: MerchantId,
    ApiJson(b): ApiJson<StoreBody>,
) -> ApiResult<(StatusCode, Json<Store>)> {
    Ok((
        StatusCode::CREATED,
        Json(s.app.create_store(&p, &mid, b.into()).await?),
    ))
}

/// A merchant's stores (public once the merchant is approved).
#[utoipa::path(get, path = "/api/v1/merchants/{merchant_id}/stores", tag = "stores", params(MerchantId),
    responses((status = 200, body = Vec<Store>), (status = 404, body = Problem)))]
async fn list(
    State(s): State<AppState>,
    MaybeAuth(p): MaybeAuth,
    mid: MerchantId,
) -> ApiResult<Json<Vec<Store>>> {
    Ok(Json(s.app.list_stores(p.as_ref(), &mid).await?))
}

/// One store of a merchant.
#[utoipa::path(get, path = "/api/v1/merchants/{merchant_id}/stores/{store_id}", tag = "stores",
    params(MerchantId, StoreId),
    responses((status = 200, body = Store), (status = 404, body = Problem)))]
async fn get_one(
    State(s): State<AppState>,
    MaybeAuth(p): MaybeAuth,
    mid: MerchantId,
    sid: StoreId,
) -> ApiResult<Json<Store>> {
    Ok(Json(s.app.get_store(p.as_ref(), &mid, &sid).await?))
}

/// Staff: replace a store's details (send every field).
#[utoipa::path(put, path = "/api/v1/merchants/{merchant_id}/stores/{store_id}", tag = "stores",
    params(MerchantId, StoreId), request_body = StoreBody, security(("bearer" = [])),
    responses((status = 200, body = Store), (status = 403, body = Problem), (status = 404, body = Problem), (status = 409, body = Problem), (status = 422, body = Problem)))]
async fn update(
    State(s): State<AppState>,
    Auth(p): Auth,
    mid: MerchantId,
    sid: StoreId,
    ApiJson(b): ApiJson<StoreBody>,
) -> ApiResult<Json<Store>> {
    Ok(Json(s.app.update_store(&p, &mid, &sid, b.into()).await?))
}

/// Staff: invite a clerk to this store. The response carries the one-time `code`.
#[utoipa::path(post, path = "/api/v1/merchants/{merchant_id}/stores/{store_id}/clerk-invitations", tag = "stores",
    params(MerchantId, StoreId), security(("bearer" = [])),
    responses((status = 201, body = Invitation), (status = 403, body = Problem), (status = 404, body = Problem)))]
async fn invite_clerk(
    State(s): State<AppState>,
    Auth(p): Auth,
    mid: MerchantId,
    sid: StoreId,
) -> ApiResult<(StatusCode, Json<Invitation>)> {
    Ok((
        StatusCode::CREATED,
        Json(s.app.invite_clerk(&p, &mid, &sid).await?),
    ))
}

/// Staff: the clerks of a store.
#[utoipa::path(get, path = "/api/v1/merchants/{merchant_id}/stores/{store_id}/clerks", tag = "stores",
    params(MerchantId, StoreId), security(("bearer" = [])),
    responses((status = 200, body = Vec<Clerk>), (status = 403, body = Problem), (status = 404, body = Problem)))]
async fn list_clerks(
    State(s): State<AppState>,
    Auth(p): Auth,
    mid: MerchantId,
    sid: StoreId,
) -> ApiResult<Json<Vec<Clerk>>> {
    Ok(Json(s.app.list_clerks(&p, &mid, &sid).await?))
}

/// Staff: a clerk no longer works at this store.
#[utoipa::path(delete, path = "/api/v1/merchants/{merchant_id}/stores/{store_id}/clerks/{account_id}", tag = "stores",
    params(MerchantId, StoreId, ClerkId), security(("bearer" = [])),
    responses((status = 204, description = "removed"), (status = 403, body = Problem), (status = 404, body = Problem)))]
async fn remove_clerk(
    State(s): State<AppState>,
    Auth(p): Auth,
    mid: MerchantId,
    sid: StoreId,
    aid: ClerkId,
) -> ApiResult<StatusCode> {
    s.app.remove_clerk(&p, &mid, &sid, &aid).await?;
    Ok(StatusCode::NO_CONTENT)
}

/// Clerks: the store they work at. A clerk of any other store gets 403.
#[utoipa::path(get, path = "/api/v1/clerk/stores/{store_id}", tag = "stores", params(StoreId), security(("bearer" = [])),
    responses((status = 200, body = Store), (status = 403, body = Problem), (status = 404, body = Problem)))]
async fn clerk_store(
    State(s): State<AppState>,
    Auth(p): Auth,
    sid: StoreId,
) -> ApiResult<Json<Store>> {
    Ok(Json(s.app.clerk_store(&p, &sid).await?))
}
