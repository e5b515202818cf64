//! Commission plans, each order's attribution and commission, distributors' wallets and
//! centre, withdrawals with platform-admin approval, and payout callbacks.

use axum::Json;
use axum::body::Bytes;
use axum::extract::State;
use axum::http::{HeaderMap, StatusCode};
use kith_app::money::commissions::{CommissionWallet, OrderCommission, PlanView, WalletBalances};
use kith_app::money::distributors::{CommissionOrder, Earnings, LinkFunnel, Team};
use kith_app::money::withdrawals::Withdrawal;
use kith_app::platform::page::Page;
use kith_domain::commission::PlanInput;
use serde::Deserialize;
use utoipa::{IntoParams, ToSchema};
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use crate::extract::{ApiJson, ApiPath, ApiQuery, Auth, PageParams};
use crate::ids::{MemberId, MerchantId, OrderId, ProductId, WithdrawalId};
use crate::problem::{ApiResult, Problem};
use crate::state::AppState;

pub fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(set_plan, get_plan))
        .routes(routes!(set_override))
        .routes(routes!(order_commission))
        .routes(routes!(wallets))
        .routes(routes!(wallet))
        .routes(routes!(wallet_orders))
        .routes(routes!(team))
        .routes(routes!(earnings))
        .routes(routes!(link_funnels))
        .routes(routes!(request_withdrawal, member_withdrawals))
        .routes(routes!(get_withdrawal))
        .routes(routes!(pending_withdrawals))
        .routes(routes!(approve))
        .routes(routes!(reject))
        .routes(routes!(payout_callback))
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct PlanBody {
    /// Rates of the levels above the buyer in basis points (100 = 1 %): `[L1]` or
    /// `[L1, L2]`. A third level is refused.
    pub levels_bp: Vec<i64>,
    /// Self-purchase rebate for distributors.
    #[serde(default)]
    pub rebate_bp: i64,
    /// Whether group-buy orders earn commission.
    #[serde(default)]
    pub group_buy_commission: bool,
    #[serde(default)]
    pub group_leader_bp: i64,
    /// Cap on the sum of all rates; default 3000 (30 %).
    pub cap_bp: Option<i64>,
    /// `permanent` (default), `expiring` or `none`.
    #[serde(default = "permanent")]
    pub binding_mode: String,
    /// Days an expiring binding lasts (default 30).
    pub binding_days: Option<i64>,
    /// Days a followed share link counts for attribution (default 7).
    pub attribution_window_days: Option<i64>,
    /// Smallest withdrawal (default 1000 fen).
    pub withdraw_min_fen: Option<i64>,
    /// Most a member may withdraw in 24 hours (default 500000 fen).
    pub withdraw_daily_limit_fen: Option<i64>,
}

fn permanent() -> String {
    "permanent".to_owned()
}

/// Set the merchant's commission plan (owner only).
#[utoipa::path(put, path = "/api/v1/merchants/{merchant_id}/commission-plan", tag = "commissions",
    params(MerchantId), request_body = PlanBody, security(("bearer" = [])),
    responses((status = 200, body = PlanView), (status = 403, body = Problem), (status = 404, body = Problem), (status = 422, body = Problem)))]
async fn set_plan(
    State(s): State<AppState>,
    Auth(p): Auth,
    mid: MerchantId,
    ApiJson(b): ApiJson<PlanBody>,
) -> ApiResult<Json<PlanView>> {
    let input = PlanInput {
        levels_bp: b.levels_bp,
        rebate_bp: b.rebate_bp,
        group_buy_commission: b.group_buy_commission,
        group_leader_bp: b.group_leader_bp,
        cap_bp: b.cap_bp,
        binding_mode: b.binding_mode,
        binding_days: b.binding_days,
        attribution_window_days: b.attribution_window_days,
        withdraw_min_fen: b.withdraw_min_fen,
        withdraw_daily_limit_fen: b.withdraw_daily_limit_fen,
    };
    Ok(Json(s.app.set_commission_plan(&p, &mid, input).await?))
}

/// The merchant's commission plan (public).
#[utoipa::path(get, path = "/api/v1/merchants/{merchant_id}/commission-plan", tag = "commissions",
    params(MerchantId),
    responses((status = 200, body = PlanView), (status = 404, body = Problem)))]
async fn get_plan(State(s): State<AppState>, mid: MerchantId) -> ApiResult<Json<PlanView>> {
    Ok(Json(s.app.commission_plan(&mid).await?))
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct OverrideBody {
    pub levels_bp: Vec<i64>,
    #[serde(default)]
    pub rebate_bp: i64,
    #[serde(default)]
    pub group_leader_bp: i64,
}

/// Set one product's own rates (owner only), within the plan's cap.
#[utoipa::path(put, path = "/api/v1/merchants/{merchant_id}/commission-plan/products/{product_id}", tag = "commissions",
    params(MerchantId, ProductId), request_body = OverrideBody, security(("bearer" = [])),
    responses((status = 200, body = PlanView), (status = 403, body = Problem), (status = 404, body = Problem),
              (status = 409, description = "no plan yet", body = Problem), (status = 422, body = Problem)))]
async fn set_override(
    State(s): State<AppState>,
    Auth(p): Auth,
    mid: MerchantId,
    pid: ProductId,
    ApiJson(b): ApiJson<OverrideBody>,
) -> ApiResult<Json<PlanView>> {
    Ok(Json(
        s.app
            .set_commission_override(&p, &mid, &pid, b.levels_bp, b.rebate_bp, b.group_leader_bp)
            .await?,
    ))
}

/// An order's attribution and beneficiary chain (snapshotted at checkout), to its buyer,
/// its beneficiaries and its merchant's staff.
#[utoipa::path(get, path = "/api/v1/orders/{order_id}/commission", tag = "commissions",
    params(OrderId), security(("bearer" = [])),
    responses((status = 200, body = OrderCommission), (status = 401, body = Problem), (status = 404, body = Problem)))]
async fn order_commission(
    State(s): State<AppState>,
    Auth(p): Auth,
    oid: OrderId,
) -> ApiResult<Json<OrderCommission>> {
    Ok(Json(s.app.order_commission(&p, &oid).await?))
}

/// A member's commission wallets, one per merchant earned at (the member only).
#[utoipa::path(get, path = "/api/v1/distributors/{member_id}/wallets", tag = "commissions",
    params(MemberId), security(("bearer" = [])),
    responses((status = 200, body = Vec<WalletBalances>), (status = 403, body = Problem)))]
async fn wallets(
    State(s): State<AppState>,
    Auth(p): Auth,
    member: MemberId,
) -> ApiResult<Json<Vec<WalletBalances>>> {
    Ok(Json(s.app.commission_wallets(&p, &member).await?))
}

/// A member's wallet at one merchant: pending / frozen / available / withdrawing and a
/// statement line per posting, each linked to its order. To the member or that merchant's
/// staff.
#[utoipa::path(get, path = "/api/v1/distributors/{member_id}/wallets/{merchant_id}", tag = "commissions",
    params(MemberId, MerchantId, PageParams), security(("bearer" = [])),
    responses((status = 200, body = CommissionWallet), (status = 403, body = Problem), (status = 404, body = Problem)))]
async fn wallet(
    State(s): State<AppState>,
    Auth(p): Auth,
    member: MemberId,
    mid: MerchantId,
    ApiQuery(q): ApiQuery<PageParams>,
) -> ApiResult<Json<CommissionWallet>> {
    Ok(Json(
        s.app
            .commission_wallet(&p, &member, &mid, q.parse()?)
            .await?,
    ))
}

/// A member's statement at one merchant, one line per order they earned on: what it bought,
/// what they earn from it (booked, reversed) and where that money stands, newest first. To
/// the member or that merchant's staff.
#[utoipa::path(get, path = "/api/v1/distributors/{member_id}/wallets/{merchant_id}/orders", tag = "commissions",
    params(MemberId, MerchantId, PageParams), security(("bearer" = [])),
    responses((status = 200, body = Page<CommissionOrder>), (status = 403, body = Problem), (status = 404, body = Problem), (status = 422, body = Problem)))]
async fn wallet_orders(
    State(s): State<AppState>,
    Auth(p): Auth,
    member: MemberId,
    mid: MerchantId,
    ApiQuery(q): ApiQuery<PageParams>,
) -> ApiResult<Json<Page<CommissionOrder>>> {
    Ok(Json(
        s.app
            .commission_orders(&p, &member, &mid, q.parse()?)
            .await?,
    ))
}

/// `?merchant_id=`: whose team or earnings (a query parameter, not a path segment).
#[derive(Debug, Deserialize, IntoParams)]
#[serde(deny_unknown_fields)]
#[into_params(parameter_in = Query)]
pub struct MerchantQuery {
    /// The merchant whose distributor network is read.
    pub merchant_id: Option<String>,
}

fn merchant_param(
    q: &MerchantQuery,
    required: bool,
) -> ApiResult<Option<kith_app::platform::ids::MerchantId>> {
    match &q.merchant_id {
        None if required => Err(kith_app::AppError::invalid("merchant_id", "is required").into()),
        None => Ok(None),
        Some(m) => Ok(Some(
            kith_app::platform::ids::MerchantId::parse(m).ok_or_else(|| {
                kith_app::AppError::invalid("merchant_id", "is not a merchant id")
            })?,
        )),
    }
}

/// My team at a merchant: the binding tree below me, counted per generation, nicknames only.
#[utoipa::path(get, path = "/api/v1/distributors/{member_id}/team", tag = "commissions",
    params(MemberId, MerchantQuery), security(("bearer" = [])),
    responses((status = 200, body = Team), (status = 403, body = Problem), (status = 404, body = Problem), (status = 422, body = Problem)))]
async fn team(
    State(s): State<AppState>,
    Auth(p): Auth,
    member: MemberId,
    ApiQuery(q): ApiQuery<MerchantQuery>,
) -> ApiResult<Json<Team>> {
    let mid = merchant_param(&q, true)?
        .ok_or_else(|| kith_app::AppError::invalid("merchant_id", "is required"))?;
    Ok(Json(s.app.distributor_team(&p, &member, &mid).await?))
}

/// My earnings by source (rebate, L1, L2, content, group leader), net of reversals; at
/// one merchant or all.
#[utoipa::path(get, path = "/api/v1/distributors/{member_id}/earnings", tag = "commissions",
    params(MemberId, MerchantQuery), security(("bearer" = [])),
    responses((status = 200, body = Earnings), (status = 403, body = Problem), (status = 422, body = Problem)))]
async fn earnings(
    State(s): State<AppState>,
    Auth(p): Auth,
    member: MemberId,
    ApiQuery(q): ApiQuery<MerchantQuery>,
) -> ApiResult<Json<Earnings>> {
    let mid = merchant_param(&q, false)?;
    Ok(Json(
        s.app
            .distributor_earnings(&p, &member, mid.as_ref())
            .await?,
    ))
}

/// Each of my share links: visits → sign-ups → paid orders → GMV.
#[utoipa::path(get, path = "/api/v1/distributors/{member_id}/share-links", tag = "commissions",
    params(MemberId), security(("bearer" = [])),
    responses((status = 200, body = Vec<LinkFunnel>), (status = 403, body = Problem)))]
async fn link_funnels(
    State(s): State<AppState>,
    Auth(p): Auth,
    member: MemberId,
) -> ApiResult<Json<Vec<LinkFunnel>>> {
    Ok(Json(s.app.distributor_links(&p, &member).await?))
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct WithdrawalBody {
    pub merchant_id: String,
    #[schema(minimum = 1)]
    pub amount_fen: i64,
    /// The Alipay account to be paid to (支付宝账号 and its real name); without it the
    /// payout goes through the sandbox gateway where it is on.
    #[serde(default)]
    pub payee: Option<kith_app::money::withdrawals::Payee>,
}

/// Ask to withdraw available commission at a merchant: at least its minimum, within its
/// daily limit and the available balance. A platform admin decides; with a `payee`, the
/// approved withdrawal is transferred to that Alipay account (when the platform has Alipay
/// credentials).
#[utoipa::path(post, path = "/api/v1/distributors/{member_id}/withdrawals", tag = "commissions",
    params(MemberId), request_body = WithdrawalBody, security(("bearer" = [])),
    responses((status = 201, body = Withdrawal), (status = 403, body = Problem),
              (status = 409, description = "over the available balance or the daily limit", body = Problem), (status = 422, body = Problem)))]
async fn request_withdrawal(
    State(s): State<AppState>,
    Auth(p): Auth,
    member: MemberId,
    ApiJson(b): ApiJson<WithdrawalBody>,
) -> ApiResult<(StatusCode, Json<Withdrawal>)> {
    Ok((
        StatusCode::CREATED,
        Json(
            s.app
                .request_withdrawal_to(&p, &member, &b.merchant_id, b.amount_fen, b.payee)
                .await?,
        ),
    ))
}

/// A member's withdrawals, newest first.
#[utoipa::path(get, path = "/api/v1/distributors/{member_id}/withdrawals", tag = "commissions",
    params(MemberId), security(("bearer" = [])),
    responses((status = 200, body = Vec<Withdrawal>), (status = 403, body = Problem)))]
async fn member_withdrawals(
    State(s): State<AppState>,
    Auth(p): Auth,
    member: MemberId,
) -> ApiResult<Json<Vec<Withdrawal>>> {
    Ok(Json(s.app.member_withdrawals(&p, &member).await?))
}

/// One withdrawal, to its member or a platform admin.
#[utoipa::path(get, path = "/api/v1/withdrawals/{withdrawal_id}", tag = "commissions",
    params(WithdrawalId), security(("bearer" = [])),
    responses((status = 200, body = Withdrawal), (status = 404, body = Problem)))]
async fn get_withdrawal(
    State(s): State<AppState>,
    Auth(p): Auth,
    id: WithdrawalId,
) -> ApiResult<Json<Withdrawal>> {
    Ok(Json(s.app.get_withdrawal(&p, &id).await?))
}

/// Withdrawals waiting for a decision, oldest first (platform admins).
#[utoipa::path(get, path = "/api/v1/admin/withdrawals", tag = "commissions", security(("bearer" = [])),
    responses((status = 200, body = Vec<Withdrawal>), (status = 403, body = Problem)))]
async fn pending_withdrawals(
    State(s): State<AppState>,
    Auth(p): Auth,
) -> ApiResult<Json<Vec<Withdrawal>>> {
    Ok(Json(s.app.pending_withdrawals(&p).await?))
}

/// Approve a withdrawal (platform admins): the payout goes to the gateway; its callback
/// settles it.
#[utoipa::path(post, path = "/api/v1/admin/withdrawals/{withdrawal_id}/approve", tag = "commissions",
    params(WithdrawalId), security(("bearer" = [])),
    responses((status = 200, body = Withdrawal), (status = 403, body = Problem), (status = 404, body = Problem), (status = 409, body = Problem)))]
async fn approve(
    State(s): State<AppState>,
    Auth(p): Auth,
    id: WithdrawalId,
) -> ApiResult<Json<Withdrawal>> {
    Ok(Json(s.app.approve_withdrawal(&p, &id).await?))
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct RejectBody {
    /// 1–200 characters.
    #[schema(min_length = 1, max_length = 200)]
    pub reason: String,
}

/// Reject a withdrawal (platform admins): the money goes back to the member's available
/// balance.
#[utoipa::path(post, path = "/api/v1/admin/withdrawals/{withdrawal_id}/reject", tag = "commissions",
    params(WithdrawalId), request_body = RejectBody, security(("bearer" = [])),
    responses((status = 200, body = Withdrawal), (status = 403, body = Problem), (status = 404, body = Problem), (status = 409, body = Problem), (status = 422, body = Problem)))]
async fn reject(
    State(s): State<AppState>,
    Auth(p): Auth,
    id: WithdrawalId,
    ApiJson(b): ApiJson<RejectBody>,
) -> ApiResult<Json<Withdrawal>> {
    Ok(Json(s.app.reject_withdrawal(&p, &id, &b.reason).await?))
}

/// The payout gateway's webhook. Signed `Kith-Signature: t=…,v1=…` over the raw body
/// (300 s tolerance); idempotent on `event_id`. `failed` returns the money to the member.
#[utoipa::path(post, path = "/api/v1/payouts/{provider}/callback", tag = "commissions", params(("provider" = String, Path)),
    request_body = kith_app::money::withdrawals::PayoutCallback,
    responses((status = 200, body = Withdrawal), (status = 401, body = Problem), (status = 404, body = Problem), (status = 422, body = Problem)))]
async fn payout_callback(
    State(s): State<AppState>,
    ApiPath(provider): ApiPath<String>,
    headers: HeaderMap,
    body: Bytes,
) -> ApiResult<Json<Withdrawal>> {
    let sig = headers
        .get("kith-signature")
        .and_then(|v| v.to_str().ok())
        .unwrap_or("");
    Ok(Json(s.app.payout_callback(&provider, sig, &body).await?))
}
