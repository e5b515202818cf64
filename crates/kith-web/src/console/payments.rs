//! 支付设置: the shop's WeChat Pay credentials, entered or replaced by the owner and shown
//! only as fingerprints; a refused field is named next to the form, the typed non-secret
//! values kept (the APIv3 key and the private key are never echoed back).

use askama::Template;
use axum::extract::{Path, State};
use axum::response::{IntoResponse, Response};
use kith_app::AppError;
use kith_app::rails::credentials::{RailCredentials, WechatPayInput};
use serde::Deserialize;

use crate::pages::{Shop, beijing};
use crate::{CsrfForm, Ctx, Web, WebResult, render, see};

#[derive(Deserialize, Default)]
pub(super) struct WechatForm {
    #[serde(default)]
    mch_id: String,
    #[serde(default)]
    app_id: String,
    #[serde(default)]
    api_v3_key: String,
    #[serde(default)]
    merchant_serial: String,
    #[serde(default)]
    private_key_pem: String,
    #[serde(default)]
    platform_certificates_pem: String,
}

#[derive(Template)]
#[template(path = "console/payments.html")]
pub(super) struct ConsolePayments {
    c: Ctx,
    shop: Shop,
    current: Option<RailCredentials>,
    updated_at: String,
    has_key: bool,
    f: WechatForm,
    /// The refused field and why.
    error: Option<(String, String)>,
}

impl ConsolePayments {
    fn bad(&self, field: &str) -> &'static str {
        match &self.error {
            Some((f, _)) if f == field => "true",
            _ => "false",
        }
    }
}

async fn page(
    s: &Web,
    c: Ctx,
    mid: &str,
    f: WechatForm,
    error: Option<(String, String)>,
) -> WebResult<Response> {
    let (who, shop) = super::shop(&c, mid)?;
    let current = Some(s.app.wechatpay_credentials(&who, mid).await?).filter(|v| v.configured);
    let updated_at = current
        .as_ref()
        .map(|v| beijing(&v.updated_at))
        .unwrap_or_default();
    Ok(render(&ConsolePayments {
        c,
        shop,
        current,
        updated_at,
        has_key: s.app.config.secret_key.is_some(),
        f,
        error,
    })?
    .into_response())
}

pub(super) async fn payments(
    State(s): State<Web>,
    c: Ctx,
    Path(mid): Path<String>,
) -> WebResult<Response> {
    page(&s, c, &mid, WechatForm::default(), None).await
}

pub(super) async fn set_wechat(
    State(s): State<Web>,
    c: Ctx,
    Path(mid): Path<String>,
    CsrfForm(f): CsrfForm<WechatForm>,
) -> WebResult<Response> {
    let who = c.principal()?.clone();
    let input = WechatPayInput {
        mch_id: f.mch_id.clone(),
        app_id: f.app_id.clone(),
        api_v3_key: f.api_v3_key.trim().to_owned(),
        merchant_serial: f.merchant_serial.clone(),
        private_key_pem: f.private_key_pem.clone(),
        platform_certificates_pem: f.platform_certificates_pem.clone(),
    };
    match s.app.set_wechatpay_credentials(&who, &mid, input).await {
        Ok(_) => Ok(see(format!("/console/{mid}/payments?done=saved"))),
        Err(AppError::Invalid { field, reason }) => {
            let kept = WechatForm {
                api_v3_key: String::new(),
                private_key_pem: String::new(),
                ..f
            };
            page(&s, c, &mid, kept, Some((field, reason))).await
        }
        Err(e) => Err(e.into()),
    }
}
