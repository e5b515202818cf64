//! The catalog: categories, products and their SKUs with prices per membership tier.

use axum::Json;
use axum::extract::State;
use axum::http::StatusCode;
use kith_app::commerce::catalog::{Category, NewSku, Product, ProductInput, Sku, SkuPatch};
use kith_app::platform::page::{Page, PageRequest};
use serde::{Deserialize, Deserializer};
use utoipa::{IntoParams, ToSchema};
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use crate::extract::{ApiJson, ApiPath, ApiQuery, Auth, MaybeAuth};
use crate::ids::{MerchantId, ProductId, SkuId};
use crate::problem::{ApiResult, Problem};
use crate::state::AppState;

pub fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(create_category, list_categories))
        .routes(routes!(create_product, list_products))
        .routes(routes!(get_product, update_product))
        .routes(routes!(set_status))
        .routes(routes!(add_sku))
        .routes(routes!(update_sku))
        .routes(routes!(set_tier_price, delete_tier_price))
}

/// `Some(None)` for an explicit `null`, `None` when the field is absent (with
/// `#[serde(default)]`): PATCH tells "clear it" from "leave it".
fn nullable<'de, D: Deserializer<'de>, T: Deserialize<'de>>(
    d: D,
) -> Result<Option<Option<T>>, D::Error> {
    Option::<T>::deserialize(d).map(Some)
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct CategoryBody {
    /// 1–32 characters, unique within the merchant.
    pub name: String,
}

/// Staff: a product category.
#[utoipa::path(post, path = "/api/v1/merchants/{merchant_id}/categories", tag = "catalog", params(MerchantId),
    request_body = CategoryBody, security(("bearer" = [])),
    responses((status = 201, body = Category), (status = 403, body = Problem), (status = 404, body = Problem), (status = 409, body = Problem), (status = 422, body = Problem)))]
async fn create_category(
    State(s): State<AppState>,
    Auth(p): Auth,
    mid: MerchantId,
    ApiJson(b): ApiJson<CategoryBody>,
) -> ApiResult<(StatusCode, Json<Category>)> {
    Ok((
        StatusCode::CREATED,
        Json(s.app.create_category(&p, &mid, &b.name).await?),
    ))
}

/// A merchant's categories by name (public once the merchant is approved).
#[utoipa::path(get, path = "/api/v1/merchants/{merchant_id}/categories", tag = "catalog", params(MerchantId),
    responses((status = 200, body = Vec<Category>), (status = 404, body = Problem)))]
async fn list_categories(
    State(s): State<AppState>,
    MaybeAuth(p): MaybeAuth,
    mid: MerchantId,
) -> ApiResult<Json<Vec<Category>>> {
    Ok(Json(s.app.list_categories(p.as_ref(), &mid).await?))
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct NewProductBody {
    /// 2–64 characters.
    pub name: String,
    /// Up to 5000 characters; line breaks allowed.
    #[serde(default)]
    pub description: Option<String>,
    /// One of this merchant's categories.
    #[serde(default)]
    pub category_id: Option<String>,
    /// 0–10 `https://` URLs or `/media/…` paths, each at most 512 characters: the first
    /// is the main picture, then up to nine more.
    #[serde(default)]
    #[schema(max_items = 10)]
    pub images: Option<Vec<String>>,
}

/// Staff: a new product. It starts as a `draft`, invisible to buyers.
#[utoipa::path(post, path = "/api/v1/merchants/{merchant_id}/products", tag = "catalog", params(MerchantId),
    request_body = NewProductBody, security(("bearer" = [])),
    responses((status = 201, body = Product), (status = 403, body = Problem), (status = 404, body = Problem), (status = 409, body = Problem), (status = 422, body = Problem)))]
async fn create_product(
    State(s): State<AppState>,
    Auth(p): Auth,
    mid: MerchantId,
    ApiJson(b): ApiJson<NewProductBody>,
) -> ApiResult<(StatusCode, Json<Product>)> {
    let input = ProductInput {
        name: Some(b.name),
        description: b.description,
        category_id: Some(b.category_id),
        images: b.images,
    };
    Ok((
        StatusCode::CREATED,
        Json(s.app.create_product(&p, &mid, input).await?),
    ))
}

/// `?status=&limit=&cursor=` on the product list.
#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct ProductQuery {
    /// Staff only: `draft`, `active` or `archived`. Others always see `active`.
    pub status: Option<String>,
    /// Items per page, 1–100 (default 20).
    #[param(minimum = 1, maximum = 100)]
    pub limit: Option<i64>,
    /// `next_cursor` from the previous page.
    pub cursor: Option<String>,
}

/// A merchant's products with their SKUs, oldest first. Staff see every status; anyone else
/// sees the active products of an approved merchant, with `your_price_fen` when logged in.
#[utoipa::path(get, path = "/api/v1/merchants/{merchant_id}/products", tag = "catalog", params(MerchantId, ProductQuery),
    responses((status = 200, body = Page<Product>), (status = 404, body = Problem), (status = 422, body = Problem)))]
async fn list_products(
    State(s): State<AppState>,
    MaybeAuth(p): MaybeAuth,
    mid: MerchantId,
    ApiQuery(q): ApiQuery<ProductQuery>,
) -> ApiResult<Json<Page<Product>>> {
    let page = PageRequest::parse(q.limit, q.cursor.as_deref())?;
    Ok(Json(
        s.app
            .list_products(p.as_ref(), &mid, q.status.as_deref(), page)
            .await?,
    ))
}

/// One product with its SKUs and their prices. Drafts and archived products are visible to
/// the merchant's staff only (404 for anyone else).
#[utoipa::path(get, path = "/api/v1/merchants/{merchant_id}/products/{product_id}", tag = "catalog",
    params(MerchantId, ProductId),
    responses((status = 200, body = Product), (status = 404, body = Problem)))]
async fn get_product(
    State(s): State<AppState>,
    MaybeAuth(p): MaybeAuth,
    mid: MerchantId,
    pid: ProductId,
) -> ApiResult<Json<Product>> {
    Ok(Json(s.app.get_product(p.as_ref(), &mid, &pid).await?))
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ProductPatch {
    pub name: Option<String>,
    pub description: Option<String>,
    /// `null` removes the product from its category.
    #[serde(default, deserialize_with = "nullable")]
    #[schema(value_type = Option<String>)]
    pub category_id: Option<Option<String>>,
    /// As on creation: 0–10, the first the main picture.
    #[schema(max_items = 10)]
    pub images: Option<Vec<String>>,
}

/// Staff: change a product's fields (only those sent).
#[utoipa::path(patch, path = "/api/v1/merchants/{merchant_id}/products/{product_id}", tag = "catalog",
    params(MerchantId, ProductId), request_body = ProductPatch, security(("bearer" = [])),
    responses((status = 200, body = Product), (status = 403, body = Problem), (status = 404, body = Problem), (status = 422, body = Problem)))]
async fn update_product(
    State(s): State<AppState>,
    Auth(p): Auth,
    mid: MerchantId,
    pid: ProductId,
    ApiJson(b): ApiJson<ProductPatch>,
) -> ApiResult<Json<Product>> {
    let input = ProductInput {
        name: b.name,
        description: b.description,
        category_id: b.category_id,
        images: b.images,
    };
    Ok(Json(s.app.update_product(&p, &mid, &pid, input).await?))
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct StatusBody {
    /// `draft`, `active` (on sale; needs at least one SKU) or `archived`.
    #[schema(schema_with = product_statuses)]
    pub status: String,
}

/// Staff: put a product on sale, back to draft, or archive it.
#[utoipa::path(put, path = "/api/v1/merchants/{merchant_id}/products/{product_id}/status", tag = "catalog",
    params(MerchantId, ProductId), request_body = StatusBody, security(("bearer" = [])),
    responses((status = 200, body = Product), (status = 403, body = Problem), (status = 404, body = Problem), (status = 409, body = Problem), (status = 422, body = Problem)))]
async fn set_status(
    State(s): State<AppState>,
    Auth(p): Auth,
    mid: MerchantId,
    pid: ProductId,
    ApiJson(b): ApiJson<StatusBody>,
) -> ApiResult<Json<Product>> {
    Ok(Json(
        s.app.set_product_status(&p, &mid, &pid, &b.status).await?,
    ))
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct NewSkuBody {
    /// 1–32 of A-Z, a-z, 0-9, _ and -; unique within the merchant.
    pub code: String,
    /// An object of at most 10 text values, e.g. {"规格": "500ml", "颜色": "红"}.
    #[serde(default)]
    #[schema(value_type = Option<Object>)]
    pub attrs: Option<serde_json::Value>,
    /// Grams, 0 or more (default 0).
    #[serde(default)]
    pub weight_g: Option<i64>,
    /// The list price in fen, 0 or more.
    pub list_price_fen: i64,
}

/// Staff: add a SKU to a product.
#[utoipa::path(post, path = "/api/v1/merchants/{merchant_id}/products/{product_id}/skus", tag = "catalog",
    params(MerchantId, ProductId), request_body = NewSkuBody, security(("bearer" = [])),
    responses((status = 201, body = Sku), (status = 403, body = Problem), (status = 404, body = Problem), (status = 409, body = Problem), (status = 422, body = Problem)))]
async fn add_sku(
    State(s): State<AppState>,
    Auth(p): Auth,
    mid: MerchantId,
    pid: ProductId,
    ApiJson(b): ApiJson<NewSkuBody>,
) -> ApiResult<(StatusCode, Json<Sku>)> {
    let input = NewSku {
        code: b.code,
        attrs: b.attrs,
        weight_g: b.weight_g,
        list_price_fen: b.list_price_fen,
    };
    Ok((
        StatusCode::CREATED,
        Json(s.app.add_sku(&p, &mid, &pid, input).await?),
    ))
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct SkuPatchBody {
    #[schema(value_type = Option<Object>)]
    pub attrs: Option<serde_json::Value>,
    pub weight_g: Option<i64>,
    pub list_price_fen: Option<i64>,
}

/// Staff: change a SKU's list price, attributes or weight (its code is permanent).
#[utoipa::path(patch, path = "/api/v1/merchants/{merchant_id}/skus/{sku_id}", tag = "catalog",
    params(MerchantId, SkuId), request_body = SkuPatchBody, security(("bearer" = [])),
    responses((status = 200, body = Sku), (status = 403, body = Problem), (status = 404, body = Problem), (status = 422, body = Problem)))]
async fn update_sku(
    State(s): State<AppState>,
    Auth(p): Auth,
    mid: MerchantId,
    sid: SkuId,
    ApiJson(b): ApiJson<SkuPatchBody>,
) -> ApiResult<Json<Sku>> {
    let patch = SkuPatch {
        attrs: b.attrs,
        weight_g: b.weight_g,
        list_price_fen: b.list_price_fen,
    };
    Ok(Json(s.app.update_sku(&p, &mid, &sid, patch).await?))
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct TierPriceBody {
    /// The price for members of this tier, in fen, 0 or more.
    pub price_fen: i64,
}

/// The tier segment of a tier-price path.
#[derive(Debug, Deserialize)]
pub struct TierCode {
    pub tier_code: String,
}

/// Staff: set the SKU's price for one of the merchant's tiers.
#[utoipa::path(put, path = "/api/v1/merchants/{merchant_id}/skus/{sku_id}/tier-prices/{tier_code}", tag = "catalog",
    params(MerchantId, SkuId, ("tier_code" = String, Path)), request_body = TierPriceBody, security(("bearer" = [])),
    responses((status = 200, body = Sku), (status = 403, body = Problem), (status = 404, body = Problem), (status = 422, body = Problem)))]
async fn set_tier_price(
    State(s): State<AppState>,
    Auth(p): Auth,
    mid: MerchantId,
    sid: SkuId,
    ApiPath(TierCode { tier_code: code }): ApiPath<TierCode>,
    ApiJson(b): ApiJson<TierPriceBody>,
) -> ApiResult<Json<Sku>> {
    Ok(Json(
        s.app
            .set_tier_price(&p, &mid, &sid, &code, b.price_fen)
            .await?,
    ))
}

/// Staff: remove the SKU's price for a tier; its members pay the list price.
#[utoipa::path(delete, path = "/api/v1/merchants/{merchant_id}/skus/{sku_id}/tier-prices/{tier_code}", tag = "catalog",
    params(MerchantId, SkuId, ("tier_code" = String, Path)), security(("bearer" = [])),
    responses((status = 204, description = "removed"), (status = 403, body = Problem), (status = 404, body = Problem), (status = 422, body = Problem)))]
async fn delete_tier_price(
    State(s): State<AppState>,
    Auth(p): Auth,
    mid: MerchantId,
    sid: SkuId,
    ApiPath(TierCode { tier_code: code }): ApiPath<TierCode>,
) -> ApiResult<StatusCode> {
    s.app.delete_tier_price(&p, &mid, &sid, &code).await?;
    Ok(StatusCode::NO_CONTENT)
}

fn product_statuses() -> utoipa::openapi::Object {
    kith_app::platform::schema::one_of(&["draft", "active", "archived"])
}
