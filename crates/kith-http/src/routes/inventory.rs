//! Inventory: stock locations, stock levels per SKU and location, adjustments and their
//! history. Staff only.

use axum::Json;
use axum::extract::State;
use axum::http::StatusCode;
use kith_app::commerce::inventory::{Adjustment, Location, StockLevel, StockMovement};
use kith_app::platform::page::{Page, PageRequest};
use serde::Deserialize;
use utoipa::{IntoParams, ToSchema};
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use crate::extract::{ApiJson, ApiQuery, Auth};
use crate::ids::MerchantId;
use crate::problem::{ApiResult, Problem};
use crate::state::AppState;

pub fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(create_warehouse, list_locations))
        .routes(routes!(adjust))
        .routes(routes!(list_stock))
        .routes(routes!(list_movements))
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct WarehouseBody {
    /// 1–32 characters, unique among the merchant's locations.
    pub name: String,
}

/// Staff: where the merchant keeps stock: the default warehouse 主仓库, one location per
/// offline store, and any extra warehouses.
#[utoipa::path(get, path = "/api/v1/merchants/{merchant_id}/locations", tag = "inventory", params(MerchantId),
    security(("bearer" = [])),
    responses((status = 200, body = Vec<Location>), (status = 403, body = Problem), (status = 404, body = Problem)))]
async fn list_locations(
    State(s): State<AppState>,
    Auth(p): Auth,
    mid: MerchantId,
) -> ApiResult<Json<Vec<Location>>> {
    Ok(Json(s.app.list_locations(&p, &mid).await?))
}

/// Staff: another warehouse.
#[utoipa::path(post, path = "/api/v1/merchants/{merchant_id}/locations", tag = "inventory", params(MerchantId),
    request_body = WarehouseBody, security(("bearer" = [])),
    responses((status = 201, body = Location), (status = 403, body = Problem), (status = 404, body = Problem), (status = 409, body = Problem), (status = 422, body = Problem)))]
async fn create_warehouse(
    State(s): State<AppState>,
    Auth(p): Auth,
    mid: MerchantId,
    ApiJson(b): ApiJson<WarehouseBody>,
) -> ApiResult<(StatusCode, Json<Location>)> {
    Ok((
        StatusCode::CREATED,
        Json(s.app.create_warehouse(&p, &mid, &b.name).await?),
    ))
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct AdjustmentBody {
    pub sku_id: String,
    pub location_id: String,
    /// Units in (positive) or out (negative); not zero, at most ±1,000,000.
    #[schema(minimum = -1_000_000, maximum = 1_000_000)]
    pub delta: i64,
    /// Why, for the history (at most 200 characters).
    #[serde(default)]
    #[schema(max_length = 200)]
    pub note: Option<String>,
}

/// Staff: stock in or out at one location. Taking out more than is on hand and unreserved
/// is refused (409, field `delta`) and changes nothing.
#[utoipa::path(post, path = "/api/v1/merchants/{merchant_id}/stock/adjustments", tag = "inventory", params(MerchantId),
    request_body = AdjustmentBody, security(("bearer" = [])),
    responses((status = 201, body = StockLevel), (status = 403, body = Problem), (status = 404, body = Problem), (status = 409, body = Problem), (status = 422, body = Problem)))]
async fn adjust(
    State(s): State<AppState>,
    Auth(p): Auth,
    mid: MerchantId,
    ApiJson(b): ApiJson<AdjustmentBody>,
) -> ApiResult<(StatusCode, Json<StockLevel>)> {
    let adj = Adjustment {
        sku_id: b.sku_id,
        location_id: b.location_id,
        delta: b.delta,
        note: b.note,
    };
    Ok((
        StatusCode::CREATED,
        Json(s.app.adjust_stock(&p, &mid, adj).await?),
    ))
}

/// `?sku_id=&location_id=&limit=&cursor=` on the stock lists.
#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct StockQuery {
    /// Only this SKU of the merchant.
    pub sku_id: Option<String>,
    /// Only this location of the merchant.
    pub location_id: Option<String>,
    /// Items per page, 1–100 (default 20).
    #[param(minimum = 1, maximum = 100)]
    pub limit: Option<i64>,
    /// `next_cursor` from the previous page.
    pub cursor: Option<String>,
}

impl StockQuery {
    fn filters(&self) -> (Option<&str>, Option<&str>) {
        (
            self.sku_id.as_deref().filter(|s| !s.is_empty()),
            self.location_id.as_deref().filter(|s| !s.is_empty()),
        )
    }
}

/// Staff: stock levels (on hand, reserved, available) per SKU and location.
#[utoipa::path(get, path = "/api/v1/merchants/{merchant_id}/stock", tag = "inventory", params(MerchantId, StockQuery),
    security(("bearer" = [])),
    responses((status = 200, body = Page<StockLevel>), (status = 403, body = Problem), (status = 404, body = Problem), (status = 422, body = Problem)))]
async fn list_stock(
    State(s): State<AppState>,
    Auth(p): Auth,
    mid: MerchantId,
    ApiQuery(q): ApiQuery<StockQuery>,
) -> ApiResult<Json<Page<StockLevel>>> {
    let page = PageRequest::parse(q.limit, q.cursor.as_deref())?;
    let (sku, loc) = q.filters();
    Ok(Json(s.app.list_stock(&p, &mid, sku, loc, page).await?))
}

/// Staff: the history of stock changes, newest first.
#[utoipa::path(get, path = "/api/v1/merchants/{merchant_id}/stock/movements", tag = "inventory", params(MerchantId, StockQuery),
    security(("bearer" = [])),
    responses((status = 200, body = Page<StockMovement>), (status = 403, body = Problem), (status = 404, body = Problem), (status = 422, body = Problem)))]
async fn list_movements(
    State(s): State<AppState>,
    Auth(p): Auth,
    mid: MerchantId,
    ApiQuery(q): ApiQuery<StockQuery>,
) -> ApiResult<Json<Page<StockMovement>>> {
    let page = PageRequest::parse(q.limit, q.cursor.as_deref())?;
    let (sku, loc) = q.filters();
    Ok(Json(
        s.app.list_stock_movements(&p, &mid, sku, loc, page).await?,
    ))
}
