//! The sandbox gateway's payout page: where, on a demo or test server, an approved
//! withdrawal is paid out (or fails) the way a real payout provider would report it — by
//! a signed call to kith's payout webhook. Without it an approved withdrawal of the demo
//! stayed 打款中 for ever.

use axum::body::Bytes;
use axum::extract::State;
use axum::http::StatusCode;
use axum::response::{Html, IntoResponse, Redirect};
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use crate::ids::WithdrawalId;
use crate::problem::{ApiResult, Problem};
use crate::reference::escape;
use crate::routes::payments::ConfirmForm;
use crate::state::AppState;

pub fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(payout_page))
        .routes(routes!(payout_confirm))
}

/// The sandbox gateway's payout page (a stand-in for a payout provider's side).
#[utoipa::path(get, path = "/sandbox/payouts/{withdrawal_id}", tag = "sandbox", params(WithdrawalId),
    responses((status = 200, content_type = "text/html", body = String), (status = 404, body = Problem), (status = 409, body = Problem)))]
async fn payout_page(State(s): State<AppState>, id: WithdrawalId) -> ApiResult<Html<String>> {
    let w = s.app.sandbox_payout(&id).await?;
    let amount = w.amount_fen.to_string();
    let action = if w.status == "paying" {
        format!(
            "<form method=post action=\"/sandbox/payouts/{id}/confirm\"><button name=outcome value=succeeded id=payout-succeed>确认到账 Pay out {amount}</button> \
             <button name=outcome value=failed id=payout-fail>模拟失败 Fail</button></form>",
            id = escape(&w.id)
        )
    } else {
        let words = match w.status.as_str() {
            "paid" => "已到账 Paid",
            "failed" => "打款失败，已退回 Failed, returned",
            _ => "处理中 In progress",
        };
        format!("<p id=payout-status>状态 Status: <b>{words}</b></p>")
    };
    Ok(Html(format!(
        "<!doctype html><html lang=zh-CN><meta charset=utf-8><meta name=viewport content=\"width=device-width,initial-scale=1\">\
         <title>kith 沙箱打款</title><body style=\"font-family:sans-serif;max-width:28rem;margin:2rem auto;padding:0 1rem\">\
         <h1>kith 沙箱打款 Sandbox payout</h1><p>金额 Amount: <b>{amount}</b></p>{action}\
         <p><a href=\"/admin\">返回平台管理 Back to the admin page</a></p>\
         <p><small>This page stands in for a payout provider. Confirming makes it call kith's signed payout webhook.</small></p></body></html>"
    )))
}

/// The sandbox gateway pays out (or fails) an approved withdrawal: it calls kith's payout
/// webhook with a signed callback, then shows the result.
#[utoipa::path(post, path = "/sandbox/payouts/{withdrawal_id}/confirm", tag = "sandbox", params(WithdrawalId),
    request_body(content = ConfirmForm, content_type = "application/x-www-form-urlencoded"),
    responses((status = 303, description = "back to the payout page"), (status = 404, body = Problem), (status = 409, body = Problem),
        (status = 422, body = Problem), (status = 502, body = Problem)))]
async fn payout_confirm(
    State(s): State<AppState>,
    id: WithdrawalId,
    body: Bytes,
) -> ApiResult<impl IntoResponse> {
    let succeed = crate::routes::payments::outcome(&body)?;
    let (status, answer) = s.app.sandbox_settle_payout(&id, succeed).await?;
    if !(200..300).contains(&status) {
        tracing::warn!(status, %answer, "kith refused the sandbox payout callback");
        return Err(Problem::new(
            StatusCode::BAD_GATEWAY,
            "gateway",
            "Callback refused",
            format!("kith answered {status}: {answer}"),
        )
        .into());
    }
    Ok(Redirect::to(&format!("/sandbox/payouts/{}", &*id)))
}
