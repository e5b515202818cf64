use axum::Json;
use axum::extract::State;
use axum::http::StatusCode;
use kith_app::commerce::tiers::{MemberTier, Tier};
use kith_app::platform::page::Page;
use serde::Deserialize;
use utoipa::ToSchema;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use crate::extract::{ApiJson, ApiQuery, Auth, MaybeAuth, PageParams};
use crate::ids::{AccountId, MerchantId, TierId};
use crate::problem::{ApiResult, Problem};
use crate::state::AppState;

pub fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(create, list))
        .routes(routes!(update, delete))
        .routes(routes!(assign))
        .routes(routes!(members))
        .routes(routes!(my_tier))
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct NewTierBody {
    /// `member`, `shareholder`, or the merchant's own: a-z, 0-9, _ (1–32).
    #[schema(min_length = 1, max_length = 32, pattern = "^[a-z][a-z0-9_]*$")]
    pub code: String,
    /// Display name, e.g. 会员, 股东 (1–32 characters).
    #[schema(min_length = 1, max_length = 32)]
    pub name: String,
    /// 0–1000; higher is a better tier; unique within the merchant.
    #[schema(minimum = 0, maximum = 1000)]
    pub rank: i64,
}

/// Staff: define a membership tier.
#[utoipa::path(post, path = "/api/v1/merchants/{merchant_id}/tiers", tag = "tiers", params(MerchantId),
    request_body = NewTierBody, security(("bearer" = [])),
    responses((status = 201, body = Tier), (status = 403, body = Problem), (status = 404, body = Problem), (status = 409, body = Problem), (status = 422, body = Problem)))]
async fn create(
    State(s): State<AppState>,
    Auth(p): Auth,
    mid: MerchantId,
    ApiJson(b): ApiJson<NewTierBody>,
) -> ApiResult<(StatusCode, Json<Tier>)> {
    Ok((
        StatusCode::CREATED,
        Json(
            s.app
                .create_tier(&p, &mid, &b.code, &b.name, b.rank)
                .await?,
        ),
    ))
}

/// A merchant's tiers, lowest rank first (public once the merchant is approved).
#[utoipa::path(get, path = "/api/v1/merchants/{merchant_id}/tiers", tag = "tiers", params(MerchantId),
    responses((status = 200, body = Vec<Tier>), (status = 404, body = Problem)))]
async fn list(
    State(s): State<AppState>,
    MaybeAuth(p): MaybeAuth,
    mid: MerchantId,
) -> ApiResult<Json<Vec<Tier>>> {
    Ok(Json(s.app.list_tiers(p.as_ref(), &mid).await?))
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct TierPatch {
    pub name: Option<String>,
    pub rank: Option<i64>,
}

/// Staff: rename or re-rank a tier (its code is permanent).
#[utoipa::path(patch, path = "/api/v1/merchants/{merchant_id}/tiers/{tier_id}", tag = "tiers",
    params(MerchantId, TierId), request_body = TierPatch, security(("bearer" = [])),
    responses((status = 200, body = Tier), (status = 403, body = Problem), (status = 404, body = Problem), (status = 409, body = Problem), (status = 422, body = Problem)))]
async fn update(
    State(s): State<AppState>,
    Auth(p): Auth,
    mid: MerchantId,
    tid: TierId,
    ApiJson(b): ApiJson<TierPatch>,
) -> ApiResult<Json<Tier>> {
    Ok(Json(
        s.app
            .update_tier(&p, &mid, &tid, b.name.as_deref(), b.rank)
            .await?,
    ))
}

/// Staff: delete a tier that no member holds.
#[utoipa::path(delete, path = "/api/v1/merchants/{merchant_id}/tiers/{tier_id}", tag = "tiers",
    params(MerchantId, TierId), security(("bearer" = [])),
    responses((status = 204, description = "deleted"), (status = 403, body = Problem), (status = 404, body = Problem), (status = 409, body = Problem)))]
async fn delete(
    State(s): State<AppState>,
    Auth(p): Auth,
    mid: MerchantId,
    tid: TierId,
) -> ApiResult<StatusCode> {
    s.app.delete_tier(&p, &mid, &tid).await?;
    Ok(StatusCode::NO_CONTENT)
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct AssignBody {
    /// The tier's code, or null to take the member out of every tier. Required: a body
    /// without it is refused rather than read as null.
    #[serde(default, deserialize_with = "present")]
    #[schema(value_type = Option<String>, required = true)]
    pub tier_code: Option<Option<String>>,
}

/// Tells a missing field (`None`) from an explicit null (`Some(None)`).
fn present<'de, D: serde::Deserializer<'de>>(d: D) -> Result<Option<Option<String>>, D::Error> {
    <Option<String> as Deserialize>::deserialize(d).map(Some)
}

/// Staff: put a member in a tier (or out of all tiers with `null`).
#[utoipa::path(put, path = "/api/v1/merchants/{merchant_id}/members/{account_id}/tier", tag = "tiers",
    params(MerchantId, AccountId), request_body = AssignBody, security(("bearer" = [])),
    responses((status = 200, body = Option<MemberTier>), (status = 403, body = Problem), (status = 404, body = Problem), (status = 422, body = Problem)))]
async fn assign(
    State(s): State<AppState>,
    Auth(p): Auth,
    mid: MerchantId,
    aid: AccountId,
    ApiJson(b): ApiJson<AssignBody>,
) -> ApiResult<Json<Option<MemberTier>>> {
    let code = b.tier_code.ok_or_else(|| {
        Problem::new(
            StatusCode::UNPROCESSABLE_ENTITY,
            "validation",
            "Invalid input",
            "tier_code: is required (null removes the tier)",
        )
        .with_field("tier_code")
    })?;
    Ok(Json(
        s.app.assign_tier(&p, &mid, &aid, code.as_deref()).await?,
    ))
}

/// Staff: members who hold a tier at this merchant.
#[utoipa::path(get, path = "/api/v1/merchants/{merchant_id}/members", tag = "tiers", params(MerchantId, PageParams), security(("bearer" = [])),
    responses((status = 200, body = Page<MemberTier>), (status = 403, body = Problem), (status = 404, body = Problem)))]
async fn members(
    State(s): State<AppState>,
    Auth(p): Auth,
    mid: MerchantId,
    ApiQuery(q): ApiQuery<PageParams>,
) -> ApiResult<Json<Page<MemberTier>>> {
    Ok(Json(s.app.list_tier_members(&p, &mid, q.parse()?).await?))
}

/// The caller's own tier at a merchant (null when they hold none).
#[utoipa::path(get, path = "/api/v1/merchants/{merchant_id}/my-tier", tag = "tiers", params(MerchantId), security(("bearer" = [])),
    responses((status = 200, body = Option<MemberTier>), (status = 401, body = Problem), (status = 404, body = Problem)))]
async fn my_tier(
    State(s): State<AppState>,
    Auth(p): Auth,
    mid: MerchantId,
) -> ApiResult<Json<Option<MemberTier>>> {
    Ok(Json(s.app.my_tier(&p, &mid).await?))
}
