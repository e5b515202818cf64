use axum::Json;
use axum::body::Bytes;
use axum::extract::State;
use axum::http::{HeaderMap, StatusCode};
use axum::response::{Html, IntoResponse, Redirect};
use kith_app::commerce::fulfilment::TrackingOutcome;
use kith_app::commerce::payments::{CallbackOutcome, Payment, Wallet};
use kith_app::money::ledger::Audit;
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use crate::extract::{ApiJson, ApiPath, ApiQuery, Auth, ClientAddr, PageParams};
use crate::ids::PaymentId;
use crate::problem::{ApiResult, Problem};
use crate::reference::escape;
use crate::state::AppState;

pub fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(wallet))
        .routes(routes!(topup))
        .routes(routes!(get_payment))
        .routes(routes!(callback))
        .routes(routes!(refund_callback))
        .routes(routes!(carrier_callback))
        .routes(routes!(audit))
        .routes(routes!(sandbox_page))
        .routes(routes!(sandbox_confirm))
}

fn signature(headers: &HeaderMap) -> &str {
    headers
        .get("kith-signature")
        .and_then(|v| v.to_str().ok())
        .unwrap_or("")
}

/// The caller's wallet: balance and statement, newest first.
#[utoipa::path(get, path = "/api/v1/me/wallet", tag = "payments", params(PageParams), security(("bearer" = [])),
    responses((status = 200, body = Wallet), (status = 401, body = Problem)))]
async fn wallet(
    State(s): State<AppState>,
    Auth(p): Auth,
    ApiQuery(q): ApiQuery<PageParams>,
) -> ApiResult<Json<Wallet>> {
    Ok(Json(s.app.wallet(&p, q.parse()?).await?))
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct TopUpBody {
    /// 1 to 5 000 000 fen.
    #[schema(minimum = 1, maximum = 5_000_000)]
    pub amount_fen: i64,
    /// `sandbox` (default) or `wechat` (the platform's WeChat Pay account).
    #[serde(default)]
    pub provider: Option<kith_app::commerce::payments::Provider>,
    /// With `wechat`: `native` (default), `h5` or `jsapi`.
    #[serde(default)]
    pub mode: Option<kith_app::rails::wechatpay::WechatMode>,
    /// With `alipay` (the platform's Alipay app): `wap` (default), `page` or `qr`.
    #[serde(default)]
    pub alipay_mode: Option<kith_app::rails::alipay::AlipayMode>,
}

/// Top up the wallet through the sandbox gateway, or the platform's WeChat Pay: pay on the
/// returned `pay_url`.
#[utoipa::path(post, path = "/api/v1/me/wallet/topups", tag = "payments", request_body = TopUpBody, security(("bearer" = [])),
    responses((status = 201, body = Payment), (status = 422, body = Problem)))]
async fn topup(
    State(s): State<AppState>,
    Auth(p): Auth,
    ClientAddr(addr): ClientAddr,
    ApiJson(b): ApiJson<TopUpBody>,
) -> ApiResult<(StatusCode, Json<Payment>)> {
    use kith_app::commerce::payments::Provider;
    let payment = match b.provider.unwrap_or(Provider::Sandbox) {
        Provider::Sandbox => s.app.start_topup(&p, b.amount_fen).await?,
        Provider::Wechat => {
            s.app
                .start_wechat_topup(&p, b.amount_fen, b.mode.unwrap_or_default(), &addr)
                .await?
        }
        Provider::Alipay => {
            s.app
                .start_alipay_topup(&p, b.amount_fen, b.alipay_mode.unwrap_or_default())
                .await?
        }
        Provider::Wallet => {
            return Err(Problem::new(
                StatusCode::UNPROCESSABLE_ENTITY,
                "validation",
                "Invalid input",
                "provider: a wallet is not topped up from itself",
            )
            .with_field("provider")
            .into());
        }
    };
    Ok((StatusCode::CREATED, Json(payment)))
}

/// A payment the caller made.
#[utoipa::path(get, path = "/api/v1/payments/{payment_id}", tag = "payments", params(PaymentId), security(("bearer" = [])),
    responses((status = 200, body = Payment), (status = 404, body = Problem)))]
async fn get_payment(
    State(s): State<AppState>,
    Auth(p): Auth,
    pid: PaymentId,
) -> ApiResult<Json<Payment>> {
    Ok(Json(s.app.get_payment(&p, &pid).await?))
}

#[derive(Debug, Serialize, ToSchema)]
pub struct CallbackAnswer {
    pub outcome: CallbackOutcome,
}

/// Payment gateways' webhook. Signed `Kith-Signature: t=…,v1=…` over the raw body
/// (300 s tolerance); idempotent on `event_id`; the amount must match the payment.
#[utoipa::path(post, path = "/api/v1/payments/{provider}/callback", tag = "payments", params(("provider" = String, Path)),
    request_body = kith_app::commerce::payments::CallbackBody,
    responses((status = 200, body = CallbackAnswer), (status = 401, description = "bad or stale signature", body = Problem), (status = 404, body = Problem), (status = 422, description = "amount mismatch or malformed", body = Problem)))]
async fn callback(
    State(s): State<AppState>,
    ApiPath(provider): ApiPath<String>,
    headers: HeaderMap,
    body: Bytes,
) -> ApiResult<Json<CallbackAnswer>> {
    Ok(Json(CallbackAnswer {
        outcome: s
            .app
            .payment_callback(&provider, signature(&headers), &body)
            .await?,
    }))
}

#[derive(Debug, Serialize, ToSchema)]
pub struct RefundCallbackAnswer {
    pub outcome: kith_app::commerce::refunds::SettleOutcome,
}

/// Payment gateways' refund webhook: the provider settles a requested refund (`succeeded`
/// or `failed`). Signed `Kith-Signature: t=…,v1=…` over the raw body (300 s tolerance); the
/// amount must be the refund's; a refund already settled is left as it is (`duplicate`).
#[utoipa::path(post, path = "/api/v1/refunds/{provider}/callback", tag = "payments", params(("provider" = String, Path)),
    request_body = kith_app::commerce::refunds::RefundCallbackBody,
    responses((status = 200, body = RefundCallbackAnswer), (status = 401, description = "bad or stale signature", body = Problem), (status = 404, body = Problem), (status = 422, description = "amount mismatch or malformed", body = Problem)))]
async fn refund_callback(
    State(s): State<AppState>,
    ApiPath(provider): ApiPath<String>,
    headers: HeaderMap,
    body: Bytes,
) -> ApiResult<Json<RefundCallbackAnswer>> {
    Ok(Json(RefundCallbackAnswer {
        outcome: s
            .app
            .refund_callback(&provider, signature(&headers), &body)
            .await?,
    }))
}

#[derive(Debug, Serialize, ToSchema)]
pub struct TrackingAnswer {
    pub outcome: TrackingOutcome,
}

/// Carriers' tracking webhook, signed with that carrier's secret; idempotent on `event_id`.
#[utoipa::path(post, path = "/api/v1/carriers/{carrier}/callback", tag = "payments", params(("carrier" = String, Path)),
    request_body = kith_app::commerce::fulfilment::TrackingCallback,
    responses((status = 200, body = TrackingAnswer), (status = 401, body = Problem), (status = 404, body = Problem), (status = 422, body = Problem)))]
async fn carrier_callback(
    State(s): State<AppState>,
    ApiPath(carrier): ApiPath<String>,
    headers: HeaderMap,
    body: Bytes,
) -> ApiResult<Json<TrackingAnswer>> {
    Ok(Json(TrackingAnswer {
        outcome: s
            .app
            .carrier_callback(&carrier, signature(&headers), &body)
            .await?,
    }))
}

/// Platform admins: check the whole ledger (every entry balanced, every balance equal to
/// its postings, all balances summing to zero).
#[utoipa::path(get, path = "/api/v1/admin/ledger/audit", tag = "payments", security(("bearer" = [])),
    responses((status = 200, body = Audit), (status = 403, body = Problem)))]
async fn audit(State(s): State<AppState>, Auth(p): Auth) -> ApiResult<Json<Audit>> {
    Ok(Json(s.app.ledger_audit(&p).await?))
}

/// The sandbox gateway's pay page (a stand-in for a real gateway's checkout page).
#[utoipa::path(get, path = "/sandbox/pay/{payment_id}", tag = "sandbox", params(PaymentId),
    responses((status = 200, content_type = "text/html", body = String), (status = 404, body = Problem)))]
async fn sandbox_page(State(s): State<AppState>, pid: PaymentId) -> ApiResult<Html<String>> {
    let p = s.app.sandbox_payment(&pid).await?;
    let amount = p.amount_fen.to_string();
    // A stand-in for a Chinese gateway's cashier page: in Chinese, money in 元, and a way
    // back to the shop once the payment is settled.
    let purpose = match p.purpose.as_str() {
        "topup" => "钱包充值",
        "order" => "订单付款",
        _ => "付款",
    };
    let action = if p.status == "pending" {
        format!(
            "<form method=post action=\"/sandbox/pay/{id}/confirm\"><button name=outcome value=succeeded>确认支付 {amount}</button> \
             <button name=outcome value=failed>模拟支付失败</button></form>",
            id = escape(&p.id)
        )
    } else {
        let (state, class) = match p.status.as_str() {
            "succeeded" => ("支付成功", "ok"),
            "failed" => ("支付失败", "failed"),
            _ => ("处理中", "pending"),
        };
        let back = match &p.order_id {
            Some(oid) => format!(
                "<a id=\"back-to-order\" href=\"/orders/{}\">返回订单</a>",
                escape(oid)
            ),
            None => "<a id=\"back-to-wallet\" href=\"/me/wallet\">返回钱包</a>".to_owned(),
        };
        format!("<p id=\"sandbox-status\" class=\"{class}\">状态：<b>{state}</b></p><p>{back}</p>")
    };
    Ok(Html(format!(
        "<!doctype html><html lang=zh-CN><meta charset=utf-8><meta name=viewport content=\"width=device-width,initial-scale=1\">\
         <title>模拟支付（演示）· kith</title><body style=\"font-family:sans-serif;max-width:28rem;margin:2rem auto;padding:0 1rem\">\
         <h1>模拟支付（演示）</h1><p>金额：<b id=\"sandbox-amount\">{amount}</b></p><p>用途：{purpose}</p>{action}\
         <p><small>此页代替真实的支付渠道，仅供演示：确认后，它向 kith 发送带签名的支付回调。</small></p></body></html>"
    )))
}

#[derive(Debug, Deserialize, ToSchema)]
pub struct ConfirmForm {
    /// `succeeded` or `failed`.
    pub outcome: String,
}

/// A sandbox page's choice (a form, or JSON): `true` for `succeeded`, 422 on `outcome`
/// otherwise.
pub(crate) fn outcome(body: &[u8]) -> Result<bool, kith_app::AppError> {
    let bad = || kith_app::AppError::invalid("outcome", "must be succeeded or failed");
    let form: ConfirmForm = serde_urlencoded::from_bytes(body)
        .or_else(|_| crate::extract::parse_json(body))
        .map_err(|_| bad())?;
    match form.outcome.as_str() {
        "succeeded" => Ok(true),
        "failed" => Ok(false),
        _ => Err(bad()),
    }
}

/// The sandbox gateway confirms (or fails) a payment: it calls kith's payment webhook with
/// a signed callback, then shows the result.
#[utoipa::path(post, path = "/sandbox/pay/{payment_id}/confirm", tag = "sandbox", params(PaymentId),
    request_body(content = ConfirmForm, content_type = "application/x-www-form-urlencoded"),
    responses((status = 303, description = "back to the pay page"), (status = 404, body = Problem), (status = 502, body = Problem)))]
async fn sandbox_confirm(
    State(s): State<AppState>,
    pid: PaymentId,
    body: Bytes,
) -> ApiResult<impl IntoResponse> {
    let succeed = outcome(&body)?;
    let (status, answer) = s.app.sandbox_confirm(&pid, succeed).await?;
    if !(200..300).contains(&status) {
        tracing::warn!(status, %answer, "kith refused the sandbox callback");
        return Err(Problem::new(
            StatusCode::BAD_GATEWAY,
            "gateway",
            "Callback refused",
            format!("kith answered {status}: {answer}"),
        )
        .into());
    }
    Ok(Redirect::to(&format!("/sandbox/pay/{pid}")))
}
