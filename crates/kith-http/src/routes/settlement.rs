//! A merchant's settlement with the platform (结算): what the platform owes the merchant,
//! or the merchant the platform, once money taken into the merchant's own WeChat Pay /
//! Alipay account is netted against commission the platform pays out; and a platform
//! admin recording a settling-up made outside kith.

use axum::Json;
use axum::extract::State;
use axum::http::StatusCode;
use kith_app::money::settlement::{MerchantSettlement, SettleUpInput, SettlementRow};
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use crate::extract::{ApiJson, ApiQuery, Auth, PageParams};
use crate::ids::MerchantId;
use crate::problem::{ApiResult, Problem};
use crate::state::AppState;

pub fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(settlement))
        .routes(routes!(settle_up))
        .routes(routes!(overview))
}

/// Platform admin: every approved shop's settled balance (positive: the platform owes the
/// shop; negative: the shop owes the platform), by name, at most 500.
#[utoipa::path(get, path = "/api/v1/admin/settlements", tag = "payments", security(("bearer" = [])),
    responses((status = 200, body = Vec<SettlementRow>), (status = 401, body = Problem), (status = 403, body = Problem)))]
async fn overview(State(s): State<AppState>, Auth(p): Auth) -> ApiResult<Json<Vec<SettlementRow>>> {
    Ok(Json(s.app.settlement_overview(&p).await?))
}

/// Staff: the shop's settlement — money in its own provider accounts, what is still in
/// the after-sale window, the settled balance (positive: the platform owes the shop;
/// negative: the shop owes the platform) and its movements, newest first.
#[utoipa::path(get, path = "/api/v1/merchants/{merchant_id}/settlement", tag = "payments", params(MerchantId, PageParams),
    security(("bearer" = [])),
    responses((status = 200, body = MerchantSettlement), (status = 401, body = Problem), (status = 403, body = Problem), (status = 404, body = Problem), (status = 422, body = Problem)))]
async fn settlement(
    State(s): State<AppState>,
    Auth(p): Auth,
    mid: MerchantId,
    ApiQuery(q): ApiQuery<PageParams>,
) -> ApiResult<Json<MerchantSettlement>> {
    Ok(Json(s.app.merchant_settlement(&p, &mid, q.parse()?).await?))
}

/// Platform admin: record a settling-up made outside kith (a bank transfer, by its
/// reference). 409 on `amount_fen` when it is more than is owed that way, on `reference`
/// when that reference is already recorded for the shop.
#[utoipa::path(post, path = "/api/v1/admin/merchants/{merchant_id}/settle-ups", tag = "payments", params(MerchantId),
    request_body = SettleUpInput, security(("bearer" = [])),
    responses((status = 201, body = MerchantSettlement), (status = 401, body = Problem), (status = 403, body = Problem), (status = 404, body = Problem), (status = 409, body = Problem), (status = 422, body = Problem)))]
async fn settle_up(
    State(s): State<AppState>,
    Auth(p): Auth,
    mid: MerchantId,
    ApiJson(b): ApiJson<SettleUpInput>,
) -> ApiResult<(StatusCode, Json<MerchantSettlement>)> {
    Ok((
        StatusCode::CREATED,
        Json(s.app.record_settle_up(&p, &mid, b).await?),
    ))
}
