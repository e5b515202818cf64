//! Reconciliation (对账): a merchant's daily runs against its payment providers'
//! statements, and a day reconciled again on the owner's request.

use axum::Json;
use axum::extract::State;
use kith_app::rails::reconcile::Reconciliation;
use serde::Deserialize;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use crate::extract::{ApiJson, Auth};
use crate::ids::MerchantId;
use crate::problem::{ApiResult, Problem};
use crate::state::AppState;

pub fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(list, run))
        .routes(routes!(platform_list, platform_run))
}

/// The merchant's reconciliations (owner and managers), newest day first, at most 60,
/// each with the lines that differ.
#[utoipa::path(get, path = "/api/v1/merchants/{merchant_id}/reconciliations", tag = "payments", params(MerchantId),
    security(("bearer" = [])),
    responses((status = 200, body = Vec<Reconciliation>), (status = 401, body = Problem), (status = 403, body = Problem), (status = 404, body = Problem)))]
async fn list(
    State(s): State<AppState>,
    Auth(p): Auth,
    mid: MerchantId,
) -> ApiResult<Json<Vec<Reconciliation>>> {
    Ok(Json(s.app.merchant_reconciliations(&p, &mid).await?))
}

#[derive(Debug, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ReconcileRequest {
    /// `wechat` or `alipay`.
    pub provider: String,
    /// A Beijing calendar day that has begun, `YYYY-MM-DD`.
    pub date: String,
}

/// The owner reconciles one day with a provider now (replacing that day's earlier run).
/// 409 when the merchant has no credentials there; 503 when the provider's statement
/// cannot be had (not made yet, unreachable, or not the file its signed answer named).
#[utoipa::path(post, path = "/api/v1/merchants/{merchant_id}/reconciliations", tag = "payments", params(MerchantId),
    request_body = ReconcileRequest, security(("bearer" = [])),
    responses((status = 200, body = Reconciliation), (status = 401, body = Problem), (status = 403, body = Problem), (status = 404, body = Problem),
        (status = 409, body = Problem), (status = 422, body = Problem), (status = 503, body = Problem)))]
async fn run(
    State(s): State<AppState>,
    Auth(p): Auth,
    mid: MerchantId,
    ApiJson(b): ApiJson<ReconcileRequest>,
) -> ApiResult<Json<Reconciliation>> {
    Ok(Json(
        s.app
            .reconcile_merchant_day(&p, &mid, &b.provider, &b.date)
            .await?,
    ))
}

/// The platform's reconciliations (its own payments and, with Alipay, its payouts to
/// members), newest day first, at most 60: platform admins only.
#[utoipa::path(get, path = "/api/v1/admin/reconciliations", tag = "payments",
    security(("bearer" = [])),
    responses((status = 200, body = Vec<Reconciliation>), (status = 401, body = Problem), (status = 403, body = Problem)))]
async fn platform_list(
    State(s): State<AppState>,
    Auth(p): Auth,
) -> ApiResult<Json<Vec<Reconciliation>>> {
    Ok(Json(s.app.platform_reconciliations(&p).await?))
}

/// A platform admin reconciles one of the platform's days with a provider now (replacing
/// that day's earlier run). 409 when the platform has no credentials there; 503 when the
/// provider's statement cannot be had.
#[utoipa::path(post, path = "/api/v1/admin/reconciliations", tag = "payments",
    request_body = ReconcileRequest, security(("bearer" = [])),
    responses((status = 200, body = Reconciliation), (status = 401, body = Problem), (status = 403, body = Problem),
        (status = 409, body = Problem), (status = 422, body = Problem), (status = 503, body = Problem)))]
async fn platform_run(
    State(s): State<AppState>,
    Auth(p): Auth,
    ApiJson(b): ApiJson<ReconcileRequest>,
) -> ApiResult<Json<Reconciliation>> {
    Ok(Json(
        s.app
            .reconcile_platform_day(&p, &b.provider, &b.date)
            .await?,
    ))
}
