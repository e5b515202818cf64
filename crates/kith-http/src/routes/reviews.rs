//! Verified-purchase reviews: written by the buyer of a completed order line, answered
//! once by the merchant, listed and aggregated per product for anyone.

use axum::Json;
use axum::extract::State;
use axum::http::StatusCode;
use kith_app::platform::page::Page;
use kith_app::social::reviews::{Rating, Review, ReviewInput};
use serde::Deserialize;
use utoipa::ToSchema;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use crate::extract::{ApiJson, ApiPath, ApiQuery, Auth, MaybeAuth, PageParams};
use crate::ids::{MerchantId, OrderId, ProductId, ReviewId};
use crate::problem::{ApiResult, Problem};
use crate::state::AppState;

pub fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(create_review))
        .routes(routes!(reply))
        .routes(routes!(product_reviews))
        .routes(routes!(product_rating))
}

/// The line segment of a review path, parsed by [`line_no`].
#[derive(Debug, Deserialize)]
pub struct LineNo {
    pub line_no: String,
}

/// A line number in a path: a positive integer, or nothing is found.
fn line_no(raw: &str) -> Result<i64, crate::problem::ApiError> {
    raw.parse::<i64>()
        .ok()
        .filter(|n| (1..=i64::from(u16::MAX)).contains(n))
        .ok_or_else(|| {
            Problem::new(
                StatusCode::NOT_FOUND,
                "not-found",
                "Not found",
                "order line not found",
            )
            .into()
        })
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ReviewBody {
    /// 1–5.
    pub rating: i64,
    /// At most 1000 characters; may be left out.
    #[serde(default)]
    pub body: String,
    /// At most 9 ids of images the author uploaded (`POST /api/v1/media`).
    #[serde(default)]
    pub images: Vec<String>,
}

/// Review a line of one of the caller's completed orders (after the after-sale window).
/// One review per line; marked as a verified purchase. Accepts `Idempotency-Key`.
#[utoipa::path(post, path = "/api/v1/orders/{order_id}/lines/{line_no}/review", tag = "reviews",
    params(OrderId, ("line_no" = i64, Path)), request_body = ReviewBody, security(("bearer" = [])),
    responses((status = 201, body = Review), (status = 401, body = Problem), (status = 404, description = "not the caller's order, or no such line", body = Problem),
              (status = 409, description = "the order is not completed, the line was refunded, or it has a review already", body = Problem),
              (status = 422, body = Problem)))]
async fn create_review(
    State(s): State<AppState>,
    Auth(p): Auth,
    oid: OrderId,
    ApiPath(LineNo { line_no: line }): ApiPath<LineNo>,
    ApiJson(b): ApiJson<ReviewBody>,
) -> ApiResult<(StatusCode, Json<Review>)> {
    let line = line_no(&line)?;
    let input = ReviewInput {
        rating: b.rating,
        body: b.body,
        images: b.images,
    };
    Ok((
        StatusCode::CREATED,
        Json(s.app.create_review(&p, &oid, line, input).await?),
    ))
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ReplyBody {
    /// 1–500 characters.
    pub body: String,
}

/// The merchant's staff answer a review of one of its products. Once.
#[utoipa::path(post, path = "/api/v1/merchants/{merchant_id}/reviews/{review_id}/reply", tag = "reviews",
    params(MerchantId, ReviewId), request_body = ReplyBody, security(("bearer" = [])),
    responses((status = 200, body = Review), (status = 403, body = Problem), (status = 404, body = Problem),
              (status = 409, description = "already answered", body = Problem), (status = 422, body = Problem)))]
async fn reply(
    State(s): State<AppState>,
    Auth(p): Auth,
    mid: MerchantId,
    rid: ReviewId,
    ApiJson(b): ApiJson<ReplyBody>,
) -> ApiResult<Json<Review>> {
    Ok(Json(s.app.reply_to_review(&p, &mid, &rid, &b.body).await?))
}

/// A product's reviews, newest first. Public; hidden reviews, and reviews by members who
/// blocked the caller or whom the caller blocked, are left out.
#[utoipa::path(get, path = "/api/v1/merchants/{merchant_id}/products/{product_id}/reviews", tag = "reviews",
    params(MerchantId, ProductId, PageParams),
    responses((status = 200, body = Page<Review>), (status = 404, body = Problem), (status = 422, body = Problem)))]
async fn product_reviews(
    State(s): State<AppState>,
    MaybeAuth(p): MaybeAuth,
    mid: MerchantId,
    pid: ProductId,
    ApiQuery(q): ApiQuery<PageParams>,
) -> ApiResult<Json<Page<Review>>> {
    Ok(Json(
        s.app
            .product_reviews(p.as_ref(), &mid, &pid, q.parse()?)
            .await?,
    ))
}

/// A product's rating: how many reviews, their mean ×100 (rounded down) and how many of
/// each star. Hidden reviews are not counted.
#[utoipa::path(get, path = "/api/v1/merchants/{merchant_id}/products/{product_id}/rating", tag = "reviews",
    params(MerchantId, ProductId),
    responses((status = 200, body = Rating), (status = 404, body = Problem)))]
async fn product_rating(
    State(s): State<AppState>,
    MaybeAuth(p): MaybeAuth,
    mid: MerchantId,
    pid: ProductId,
) -> ApiResult<Json<Rating>> {
    Ok(Json(s.app.product_rating(p.as_ref(), &mid, &pid).await?))
}
