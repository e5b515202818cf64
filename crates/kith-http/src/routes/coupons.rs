//! Coupons (issue 19): the merchant's templates (create, list with counts, pause, resume,
//! end), the shop's 领券中心, claiming, the caller's own coupons and how they fit the cart.

use axum::Json;
use axum::extract::State;
use axum::http::StatusCode;
use kith_app::commerce::promotions::fit::CouponFit;
use kith_app::commerce::promotions::offers::{
    ChosenCoupon, ChosenCouponInput, IssueInput, Issued, Slot,
};
use kith_app::commerce::promotions::{Coupon, CouponTemplate, Move, NewCouponTemplate};
use serde::Deserialize;
use utoipa::IntoParams;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use crate::extract::{ApiJson, ApiPath, ApiQuery, Auth};
use crate::ids::{CouponId, CouponTemplateId, MerchantId};
use crate::problem::{ApiResult, Problem};
use crate::state::AppState;

pub fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(create, list))
        .routes(routes!(pause))
        .routes(routes!(resume))
        .routes(routes!(end))
        .routes(routes!(shop))
        .routes(routes!(claim))
        .routes(routes!(mine))
        .routes(routes!(cart_coupons))
        .routes(routes!(one))
        .routes(routes!(issue))
        .routes(routes!(share_coupon, set_share_coupon))
        .routes(routes!(new_member_coupon, set_new_member_coupon))
        .routes(routes!(link_coupons))
        .routes(routes!(claim_by_link))
}

/// Staff: issue one coupon of a template to each named member or each member of a tier
/// (source `issued`). All or nothing: a member at the per-member limit or too few coupons
/// left refuses the whole issue (409 naming the rule) and nothing is written.
#[utoipa::path(post, path = "/api/v1/merchants/{merchant_id}/coupon-templates/{template_id}/issue", tag = "coupons",
    params(MerchantId, CouponTemplateId), request_body = IssueInput, security(("bearer" = [])),
    responses((status = 201, body = Vec<Issued>), (status = 401, body = Problem), (status = 403, body = Problem), (status = 404, body = Problem), (status = 409, body = Problem), (status = 422, body = Problem)))]
async fn issue(
    State(s): State<AppState>,
    Auth(p): Auth,
    mid: MerchantId,
    tid: CouponTemplateId,
    ApiJson(b): ApiJson<IssueInput>,
) -> ApiResult<(StatusCode, Json<Vec<Issued>>)> {
    Ok((
        StatusCode::CREATED,
        Json(s.app.issue_coupons(&p, &mid, &tid, b).await?),
    ))
}

/// Staff: the coupon the merchant's share links offer the friends who arrive through them.
#[utoipa::path(get, path = "/api/v1/merchants/{merchant_id}/share-coupon", tag = "coupons", params(MerchantId),
    security(("bearer" = [])),
    responses((status = 200, body = ChosenCoupon), (status = 401, body = Problem), (status = 403, body = Problem), (status = 404, body = Problem)))]
async fn share_coupon(
    State(s): State<AppState>,
    Auth(p): Auth,
    mid: MerchantId,
) -> ApiResult<Json<ChosenCoupon>> {
    Ok(Json(s.app.chosen_coupon(&p, &mid, Slot::Share).await?))
}

/// Staff: choose the share coupon (an active template of this merchant), or null for none.
#[utoipa::path(put, path = "/api/v1/merchants/{merchant_id}/share-coupon", tag = "coupons", params(MerchantId),
    request_body = ChosenCouponInput, security(("bearer" = [])),
    responses((status = 200, body = ChosenCoupon), (status = 401, body = Problem), (status = 403, body = Problem), (status = 404, body = Problem), (status = 409, body = Problem), (status = 422, body = Problem)))]
async fn set_share_coupon(
    State(s): State<AppState>,
    Auth(p): Auth,
    mid: MerchantId,
    ApiJson(b): ApiJson<ChosenCouponInput>,
) -> ApiResult<Json<ChosenCoupon>> {
    Ok(Json(s.app.choose_coupon(&p, &mid, Slot::Share, b).await?))
}

/// Staff: the coupon only members new to the shop (no order there but cancelled ones) may
/// claim, or none.
#[utoipa::path(get, path = "/api/v1/merchants/{merchant_id}/new-member-coupon", tag = "coupons", params(MerchantId),
    security(("bearer" = [])),
    responses((status = 200, body = ChosenCoupon), (status = 401, body = Problem), (status = 403, body = Problem), (status = 404, body = Problem)))]
async fn new_member_coupon(
    State(s): State<AppState>,
    Auth(p): Auth,
    mid: MerchantId,
) -> ApiResult<Json<ChosenCoupon>> {
    Ok(Json(s.app.chosen_coupon(&p, &mid, Slot::NewMember).await?))
}

/// Staff: choose the new-member coupon (an active template of this merchant), or null for
/// none. Claimed through the usual claim, by new members only.
#[utoipa::path(put, path = "/api/v1/merchants/{merchant_id}/new-member-coupon", tag = "coupons", params(MerchantId),
    request_body = ChosenCouponInput, security(("bearer" = [])),
    responses((status = 200, body = ChosenCoupon), (status = 401, body = Problem), (status = 403, body = Problem), (status = 404, body = Problem), (status = 409, body = Problem), (status = 422, body = Problem)))]
async fn set_new_member_coupon(
    State(s): State<AppState>,
    Auth(p): Auth,
    mid: MerchantId,
    ApiJson(b): ApiJson<ChosenCouponInput>,
) -> ApiResult<Json<ChosenCoupon>> {
    Ok(Json(
        s.app.choose_coupon(&p, &mid, Slot::NewMember, b).await?,
    ))
}

/// The coupons a share link offers whoever arrives through it (public; records nothing).
#[utoipa::path(get, path = "/api/v1/s/{code}/coupons", tag = "coupons", params(("code" = String, Path)),
    responses((status = 200, body = Vec<CouponTemplate>), (status = 404, body = Problem)))]
async fn link_coupons(
    State(s): State<AppState>,
    ApiPath(code): ApiPath<String>,
) -> ApiResult<Json<Vec<CouponTemplate>>> {
    Ok(Json(s.app.share_link_coupons(&code).await?))
}

/// Claim the share coupon through a friend's link: the link is followed (visit recorded,
/// bound to the sharer as any visit binds), then one coupon is given (source `share`).
/// 409 `coupon_own_share` for the sharer; the claim's usual 409s otherwise.
#[utoipa::path(post, path = "/api/v1/s/{code}/coupons/{template_id}/claim", tag = "coupons",
    params(("code" = String, Path), CouponTemplateId), security(("bearer" = [])),
    responses((status = 201, body = Coupon), (status = 401, body = Problem), (status = 404, body = Problem), (status = 409, body = Problem)))]
async fn claim_by_link(
    State(s): State<AppState>,
    Auth(p): Auth,
    ApiPath((code, template_id)): ApiPath<(String, String)>,
) -> ApiResult<(StatusCode, Json<Coupon>)> {
    Ok((
        StatusCode::CREATED,
        Json(s.app.claim_share_coupon(&p, &code, &template_id).await?),
    ))
}

/// Staff: a new coupon template (fixed 满 X 减 Y, or a percentage with a cap).
#[utoipa::path(post, path = "/api/v1/merchants/{merchant_id}/coupon-templates", tag = "coupons", params(MerchantId),
    request_body = NewCouponTemplate, security(("bearer" = [])),
    responses((status = 201, body = CouponTemplate), (status = 401, body = Problem), (status = 403, body = Problem), (status = 404, body = Problem), (status = 409, body = Problem), (status = 422, body = Problem)))]
async fn create(
    State(s): State<AppState>,
    Auth(p): Auth,
    mid: MerchantId,
    ApiJson(b): ApiJson<NewCouponTemplate>,
) -> ApiResult<(StatusCode, Json<CouponTemplate>)> {
    Ok((
        StatusCode::CREATED,
        Json(s.app.create_coupon_template(&p, &mid, b).await?),
    ))
}

/// Staff: the merchant's coupon templates with claimed and used counts, newest first.
#[utoipa::path(get, path = "/api/v1/merchants/{merchant_id}/coupon-templates", tag = "coupons", params(MerchantId),
    security(("bearer" = [])),
    responses((status = 200, body = Vec<CouponTemplate>), (status = 401, body = Problem), (status = 403, body = Problem), (status = 404, body = Problem)))]
async fn list(
    State(s): State<AppState>,
    Auth(p): Auth,
    mid: MerchantId,
) -> ApiResult<Json<Vec<CouponTemplate>>> {
    Ok(Json(s.app.list_coupon_templates(&p, &mid).await?))
}

async fn move_template(
    s: AppState,
    p: kith_app::Principal,
    mid: MerchantId,
    tid: CouponTemplateId,
    m: Move,
) -> ApiResult<Json<CouponTemplate>> {
    Ok(Json(s.app.move_coupon_template(&p, &mid, &tid, m).await?))
}

/// Staff: pause an active template (nobody can claim it until it is resumed).
#[utoipa::path(post, path = "/api/v1/merchants/{merchant_id}/coupon-templates/{template_id}/pause", tag = "coupons",
    params(MerchantId, CouponTemplateId), security(("bearer" = [])),
    responses((status = 200, body = CouponTemplate), (status = 401, body = Problem), (status = 403, body = Problem), (status = 404, body = Problem), (status = 409, body = Problem)))]
async fn pause(
    State(s): State<AppState>,
    Auth(p): Auth,
    mid: MerchantId,
    tid: CouponTemplateId,
) -> ApiResult<Json<CouponTemplate>> {
    move_template(s, p, mid, tid, Move::Pause).await
}

/// Staff: resume a paused template.
#[utoipa::path(post, path = "/api/v1/merchants/{merchant_id}/coupon-templates/{template_id}/resume", tag = "coupons",
    params(MerchantId, CouponTemplateId), security(("bearer" = [])),
    responses((status = 200, body = CouponTemplate), (status = 401, body = Problem), (status = 403, body = Problem), (status = 404, body = Problem), (status = 409, body = Problem)))]
async fn resume(
    State(s): State<AppState>,
    Auth(p): Auth,
    mid: MerchantId,
    tid: CouponTemplateId,
) -> ApiResult<Json<CouponTemplate>> {
    move_template(s, p, mid, tid, Move::Resume).await
}

/// Staff: end a template for good (coupons already claimed stay valid).
#[utoipa::path(post, path = "/api/v1/merchants/{merchant_id}/coupon-templates/{template_id}/end", tag = "coupons",
    params(MerchantId, CouponTemplateId), security(("bearer" = [])),
    responses((status = 200, body = CouponTemplate), (status = 401, body = Problem), (status = 403, body = Problem), (status = 404, body = Problem), (status = 409, body = Problem)))]
async fn end(
    State(s): State<AppState>,
    Auth(p): Auth,
    mid: MerchantId,
    tid: CouponTemplateId,
) -> ApiResult<Json<CouponTemplate>> {
    move_template(s, p, mid, tid, Move::End).await
}

/// 领券中心: the coupons a shop offers now (public).
#[utoipa::path(get, path = "/api/v1/merchants/{merchant_id}/coupons", tag = "coupons", params(MerchantId),
    responses((status = 200, body = Vec<CouponTemplate>), (status = 404, body = Problem)))]
async fn shop(State(s): State<AppState>, mid: MerchantId) -> ApiResult<Json<Vec<CouponTemplate>>> {
    Ok(Json(s.app.shop_coupon_templates(&mid).await?))
}

/// Claim one coupon of a template. Refusals are 409s naming the rule:
/// `coupon_sold_out`, `coupon_per_member_limit`, `coupon_template_not_active`,
/// `coupon_template_expired`, and for the shop's new-member coupon `coupon_not_new_member`
/// (the member has ordered at the shop).
#[utoipa::path(post, path = "/api/v1/merchants/{merchant_id}/coupon-templates/{template_id}/claim", tag = "coupons",
    params(MerchantId, CouponTemplateId), security(("bearer" = [])),
    responses((status = 201, body = Coupon), (status = 401, body = Problem), (status = 404, body = Problem), (status = 409, body = Problem)))]
async fn claim(
    State(s): State<AppState>,
    Auth(p): Auth,
    mid: MerchantId,
    tid: CouponTemplateId,
) -> ApiResult<(StatusCode, Json<Coupon>)> {
    Ok((
        StatusCode::CREATED,
        Json(s.app.claim_coupon(&p, &mid, &tid).await?),
    ))
}

#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
#[serde(deny_unknown_fields)]
pub struct MyCouponsParams {
    /// Only this shop's coupons.
    pub merchant_id: Option<String>,
    /// `available`, `locked`, `used` or `expired`.
    pub state: Option<String>,
}

/// 我的优惠券: the caller's coupons, newest first.
#[utoipa::path(get, path = "/api/v1/me/coupons", tag = "coupons", params(MyCouponsParams), security(("bearer" = [])),
    responses((status = 200, body = Vec<Coupon>), (status = 401, body = Problem), (status = 422, body = Problem)))]
async fn mine(
    State(s): State<AppState>,
    Auth(p): Auth,
    ApiQuery(q): ApiQuery<MyCouponsParams>,
) -> ApiResult<Json<Vec<Coupon>>> {
    Ok(Json(
        s.app
            .my_coupons(&p, q.merchant_id.as_deref(), q.state.as_deref())
            .await?,
    ))
}

/// One of the caller's coupons (another member's answers 404).
#[utoipa::path(get, path = "/api/v1/me/coupons/{coupon_id}", tag = "coupons", params(CouponId), security(("bearer" = [])),
    responses((status = 200, body = Coupon), (status = 401, body = Problem), (status = 404, body = Problem)))]
async fn one(State(s): State<AppState>, Auth(p): Auth, cid: CouponId) -> ApiResult<Json<Coupon>> {
    Ok(Json(s.app.my_coupon(&p, &cid).await?))
}

/// The caller's available coupons at a shop, priced against their cart there now: the
/// discount each takes off (exactly what checkout takes), or the rule it breaks; the best
/// first and marked `best`, for checkout to preselect.
#[utoipa::path(get, path = "/api/v1/merchants/{merchant_id}/cart/coupons", tag = "coupons", params(MerchantId),
    security(("bearer" = [])),
    responses((status = 200, body = Vec<CouponFit>), (status = 401, body = Problem)))]
async fn cart_coupons(
    State(s): State<AppState>,
    Auth(p): Auth,
    mid: MerchantId,
) -> ApiResult<Json<Vec<CouponFit>>> {
    Ok(Json(s.app.cart_coupons(&p, &mid).await?))
}
