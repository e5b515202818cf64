//! Verified-purchase reviews: written by the buyer of a completed order line, answered
//! once by the merchant, listed and aggregated per product for anyone.

use axum::Json;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use kith_app::platform::page::Page;
use kith_app::social::reviews::{Rating, Review, ReviewInput};
use serde::Deserialize;
use utoipa::ToSchema;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use super::path_id;
use crate::extract::{ApiJson, ApiQuery, Auth, MaybeAuth, PageParams};
use crate::problem::{ApiResult, Problem};
use crate::state::AppState;

pub fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(create_review))
        .routes(routes!(reply))
        .routes(routes!(product_reviews))
        .routes(routes!(product_rating))
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
    params(("order_id" = String, Path), ("line_no" = i64, Path)), request_body = ReviewBody, security(("bearer" = [])),
    responses((status = 201, body = Review), (status = 401, body = Problem), (status = 404, description = "not the caller's order, or no such line", body = Problem),
              (status = 409, description = "the order is not completed, the line was refunded, or it has a review already", body = Problem),
              (status = 422, body = Problem)))]
async fn create_review(
    State(s): State<AppState>,
    Auth(p): Auth,
    Path((oid, line)): Path<(String, String)>,
    ApiJson(b): ApiJson<ReviewBody>,
) -> ApiResult<(StatusCode, Json<Review>)> {
    let oid = path_id(&oid, "order")?;
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
    params(("merchant_id" = String, Path), ("review_id" = String, Path)), request_body = ReplyBody, security(("bearer" = [])),
    responses((status = 200, body = Review), (status = 403, body = Problem), (status = 404, body = Problem),
              (status = 409, description = "already answered", body = Problem), (status = 422, body = Problem)))]
async fn reply(
    State(s): State<AppState>,
    Auth(p): Auth,
    Path((mid, rid)): Path<(String, String)>,
    ApiJson(b): ApiJson<ReplyBody>,
) -> ApiResult<Json<Review>> {
    let (mid, rid) = (path_id(&mid, "merchant")?, path_id(&rid, "review")?);
    Ok(Json(s.app.reply_to_review(&p, &mid, &rid, &b.body).await?))
}

/// A product's reviews, newest first. Public; hidden reviews, and reviews by members who
/// blocked the caller or whom the caller blocked, are left out.
#[utoipa::path(get, path = "/api/v1/merchants/{merchant_id}/products/{product_id}/reviews", tag = "reviews",
    params(("merchant_id" = String, Path), ("product_id" = String, Path), PageParams),
    responses((status = 200, body = Page<Review>), (status = 404, body = Problem), (status = 422, body = Problem)))]
async fn product_reviews(
    State(s): State<AppState>,
    MaybeAuth(p): MaybeAuth,
    Path((mid, pid)): Path<(String, String)>,
    ApiQuery(q): ApiQuery<PageParams>,
) -> ApiResult<Json<Page<Review>>> {
    let (mid, pid) = (path_id(&mid, "merchant")?, path_id(&pid, "product")?);
    Ok(Json(
        s.app
            .product_reviews(p.as_ref(), &mid, &pid, q.parse()?)
            .await?,
    ))
}

/// A product's rating: how many reviews, their mean ×100 (rounded down) and how many of
/// each star. Hidden reviews are not counted.
#[utoipa::path(get, path = "/api/v1/merchants/{merchant_id}/products/{product_id}/rating", tag = "reviews",
    params(("merchant_id" = String, Path), ("product_id" = String, Path)),
    responses((status = 200, body = Rating), (status = 404, body = Problem)))]
async fn product_rating(
    State(s): State<AppState>,
    MaybeAuth(p): MaybeAuth,
    Path((mid, pid)): Path<(String, String)>,
) -> ApiResult<Json<Rating>> {
    let (mid, pid) = (path_id(&mid, "merchant")?, path_id(&pid, "product")?);
    Ok(Json(s.app.product_rating(p.as_ref(), &mid, &pid).await?))
}
