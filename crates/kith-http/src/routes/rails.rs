//! Outside money rails: an owner's payment credentials (fingerprints only ever come back)
//! and WeChat Pay's and Alipay's signed notifications, answered as each documents.

use axum::Json;
use axum::body::Bytes;
use axum::extract::State;
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use kith_app::rails::credentials::{AlipayInput, RailCredentials, WechatPayInput};
use kith_app::rails::wechatpay::{SignedHeaders, protocol};
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use crate::extract::{ApiJson, ApiPath, Auth};
use crate::ids::MerchantId;
use crate::problem::{ApiResult, Problem};
use crate::state::AppState;

pub fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(get_merchant_wechatpay, put_merchant_wechatpay))
        .routes(routes!(get_platform_wechatpay, put_platform_wechatpay))
        .routes(routes!(wechatpay_notify))
        .routes(routes!(get_merchant_alipay, put_merchant_alipay))
        .routes(routes!(get_platform_alipay, put_platform_alipay))
        .routes(routes!(alipay_notify))
}

/// The merchant's WeChat Pay credentials, as fingerprints (owner only); `configured:
/// false` when none are set.
#[utoipa::path(get, path = "/api/v1/merchants/{merchant_id}/payment-credentials/wechat", tag = "payments", params(MerchantId), security(("bearer" = [])),
    responses((status = 200, body = RailCredentials), (status = 403, body = Problem), (status = 404, description = "no such merchant", body = Problem)))]
async fn get_merchant_wechatpay(
    State(s): State<AppState>,
    Auth(p): Auth,
    mid: MerchantId,
) -> ApiResult<Json<RailCredentials>> {
    Ok(Json(s.app.wechatpay_credentials(&p, &mid).await?))
}

/// Enter or replace the merchant's WeChat Pay credentials (owner only). They are sealed at
/// rest; only fingerprints come back. A field that does not parse is a 422 naming it. kith
/// then downloads WeChat Pay's platform certificates with them (`GET /v3/certificates`):
/// 422 on `api_v3_key` when they do not decrypt, on `merchant_serial` when WeChat Pay
/// refuses the signed request, 503 when it cannot be reached or its answer is not trusted;
/// nothing is stored then. `platform_certificates_pem` is no longer taken (422).
#[utoipa::path(put, path = "/api/v1/merchants/{merchant_id}/payment-credentials/wechat", tag = "payments", params(MerchantId), request_body = WechatPayInput, security(("bearer" = [])),
    responses((status = 200, body = RailCredentials), (status = 403, body = Problem), (status = 404, body = Problem),
        (status = 409, description = "the server has no secret key", body = Problem), (status = 422, body = Problem),
        (status = 503, description = "WeChat Pay could not be reached, or its certificates answer is not trusted", body = Problem)))]
async fn put_merchant_wechatpay(
    State(s): State<AppState>,
    Auth(p): Auth,
    mid: MerchantId,
    ApiJson(b): ApiJson<WechatPayInput>,
) -> ApiResult<Json<RailCredentials>> {
    Ok(Json(s.app.set_wechatpay_credentials(&p, &mid, b).await?))
}

/// The platform's WeChat Pay credentials (wallet top-ups), as fingerprints (platform admins).
#[utoipa::path(get, path = "/api/v1/admin/payment-credentials/wechat", tag = "payments", security(("bearer" = [])),
    responses((status = 200, body = RailCredentials), (status = 403, body = Problem)))]
async fn get_platform_wechatpay(
    State(s): State<AppState>,
    Auth(p): Auth,
) -> ApiResult<Json<RailCredentials>> {
    Ok(Json(
        s.app
            .wechatpay_credentials(&p, kith_app::rails::PLATFORM)
            .await?,
    ))
}

/// Enter or replace the platform's WeChat Pay credentials (platform admins); WeChat Pay's
/// platform certificates are downloaded with them as for a merchant.
#[utoipa::path(put, path = "/api/v1/admin/payment-credentials/wechat", tag = "payments", request_body = WechatPayInput, security(("bearer" = [])),
    responses((status = 200, body = RailCredentials), (status = 403, body = Problem), (status = 409, body = Problem), (status = 422, body = Problem),
        (status = 503, description = "WeChat Pay could not be reached, or its certificates answer is not trusted", body = Problem)))]
async fn put_platform_wechatpay(
    State(s): State<AppState>,
    Auth(p): Auth,
    ApiJson(b): ApiJson<WechatPayInput>,
) -> ApiResult<Json<RailCredentials>> {
    Ok(Json(
        s.app
            .set_wechatpay_credentials(&p, kith_app::rails::PLATFORM, b)
            .await?,
    ))
}

fn header(headers: &HeaderMap, name: &str) -> String {
    headers
        .get(name)
        .and_then(|v| v.to_str().ok())
        .unwrap_or("")
        .to_owned()
}

/// WeChat Pay's notifications to one owner (a merchant id, or `platform`): verified with
/// the platform certificate named by `Wechatpay-Serial` — one kith downloaded from WeChat
/// Pay; an unknown serial causes at most one download a minute per owner — over
/// `timestamp\nnonce\nbody\n`,
/// the resource decrypted with the APIv3 key. 204 when taken (a duplicate too);
/// otherwise 4xx/5xx with `{"code":"FAIL","message":…}` as WeChat Pay documents.
#[utoipa::path(post, path = "/api/v1/payments/wechat/notify/{owner}", tag = "payments", params(("owner" = String, Path, description = "a merchant id, or `platform`")),
    request_body(content = String, content_type = "application/json", description = "WeChat Pay's notification envelope"),
    responses((status = 204, description = "taken"), (status = 400, description = "does not decrypt or does not match the payment"),
        (status = 401, description = "bad signature, unknown serial or stale timestamp"), (status = 404, description = "no such owner or payment"),
        (status = 500, description = "kith could not apply it; WeChat Pay retries")))]
async fn wechatpay_notify(
    State(s): State<AppState>,
    ApiPath(owner): ApiPath<String>,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    let signed = SignedHeaders {
        serial: header(&headers, "wechatpay-serial"),
        signature: header(&headers, "wechatpay-signature"),
        timestamp: header(&headers, "wechatpay-timestamp"),
        nonce: header(&headers, "wechatpay-nonce"),
    };
    match s.app.wechatpay_notify(&owner, &signed, &body).await {
        Ok(_) => StatusCode::NO_CONTENT.into_response(),
        Err(r) => (
            StatusCode::from_u16(r.status).unwrap_or(StatusCode::BAD_REQUEST),
            [("content-type", "application/json")],
            protocol::fail_body(&r.message),
        )
            .into_response(),
    }
}

/// The merchant's Alipay credentials, as fingerprints (owner only); `configured: false`
/// when none are set.
#[utoipa::path(get, path = "/api/v1/merchants/{merchant_id}/payment-credentials/alipay", tag = "payments", params(MerchantId), security(("bearer" = [])),
    responses((status = 200, body = RailCredentials), (status = 403, body = Problem), (status = 404, description = "no such merchant", body = Problem)))]
async fn get_merchant_alipay(
    State(s): State<AppState>,
    Auth(p): Auth,
    mid: MerchantId,
) -> ApiResult<Json<RailCredentials>> {
    Ok(Json(s.app.alipay_credentials(&p, &mid).await?))
}

/// Enter or replace the merchant's Alipay credentials (owner only): the app id, the app
/// private key and the Alipay public key. Sealed at rest; only fingerprints come back. A
/// field that does not parse is a 422 naming it.
#[utoipa::path(put, path = "/api/v1/merchants/{merchant_id}/payment-credentials/alipay", tag = "payments", params(MerchantId), request_body = AlipayInput, security(("bearer" = [])),
    responses((status = 200, body = RailCredentials), (status = 403, body = Problem), (status = 404, body = Problem),
        (status = 409, description = "the server has no secret key", body = Problem), (status = 422, body = Problem)))]
async fn put_merchant_alipay(
    State(s): State<AppState>,
    Auth(p): Auth,
    mid: MerchantId,
    ApiJson(b): ApiJson<AlipayInput>,
) -> ApiResult<Json<RailCredentials>> {
    Ok(Json(s.app.set_alipay_credentials(&p, &mid, b).await?))
}

/// The platform's Alipay credentials (wallet top-ups, payouts), as fingerprints (platform
/// admins).
#[utoipa::path(get, path = "/api/v1/admin/payment-credentials/alipay", tag = "payments", security(("bearer" = [])),
    responses((status = 200, body = RailCredentials), (status = 403, body = Problem)))]
async fn get_platform_alipay(
    State(s): State<AppState>,
    Auth(p): Auth,
) -> ApiResult<Json<RailCredentials>> {
    Ok(Json(
        s.app
            .alipay_credentials(&p, kith_app::rails::PLATFORM)
            .await?,
    ))
}

/// Enter or replace the platform's Alipay credentials (platform admins).
#[utoipa::path(put, path = "/api/v1/admin/payment-credentials/alipay", tag = "payments", request_body = AlipayInput, security(("bearer" = [])),
    responses((status = 200, body = RailCredentials), (status = 403, body = Problem), (status = 409, body = Problem), (status = 422, body = Problem)))]
async fn put_platform_alipay(
    State(s): State<AppState>,
    Auth(p): Auth,
    ApiJson(b): ApiJson<AlipayInput>,
) -> ApiResult<Json<RailCredentials>> {
    Ok(Json(
        s.app
            .set_alipay_credentials(&p, kith_app::rails::PLATFORM, b)
            .await?,
    ))
}

/// Alipay's asynchronous notifications to one owner (a merchant id, or `platform`), a
/// form POST: verified RSA2 with the owner's Alipay public key (the parameters sorted,
/// without `sign` and `sign_type`), then its app id, trade, amount and status checked.
/// The answer is the plain text `success` when taken (a duplicate, or a status kith does
/// not act on, too); `fail` otherwise, which makes Alipay send it again.
#[utoipa::path(post, path = "/api/v1/payments/alipay/notify/{owner}", tag = "payments", params(("owner" = String, Path, description = "a merchant id, or `platform`")),
    request_body(content = String, content_type = "application/x-www-form-urlencoded", description = "Alipay's notification parameters"),
    responses((status = 200, description = "`success`: taken", content_type = "text/plain"), (status = 400, description = "`fail`: does not match the payment"),
        (status = 401, description = "`fail`: no or bad signature"), (status = 404, description = "`fail`: no such owner or payment"),
        (status = 500, description = "`fail`: kith could not apply it; Alipay retries")))]
async fn alipay_notify(
    State(s): State<AppState>,
    ApiPath(owner): ApiPath<String>,
    body: Bytes,
) -> Response {
    use kith_app::rails::alipay::protocol::{NOTIFY_FAIL, NOTIFY_OK};
    match s.app.alipay_notify(&owner, &body).await {
        Ok(_) => (
            StatusCode::OK,
            [("content-type", "text/plain; charset=utf-8")],
            NOTIFY_OK,
        )
            .into_response(),
        Err(r) => (
            StatusCode::from_u16(r.status).unwrap_or(StatusCode::BAD_REQUEST),
            [("content-type", "text/plain; charset=utf-8")],
            NOTIFY_FAIL,
        )
            .into_response(),
    }
}
