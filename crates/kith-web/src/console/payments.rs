//! 支付设置: the shop's WeChat Pay and Alipay credentials, entered or replaced by the owner
//! and shown only as fingerprints (WeChat Pay's platform certificates are downloaded by
//! kith, shown as serials with their expiry); a refused field is named next to its form, the typed
//! non-secret values kept (the APIv3 key and the private keys are never echoed back).

use askama::Template;
use axum::extract::{Path, State};
use axum::response::{IntoResponse, Response};
use kith_app::AppError;
use kith_app::rails::credentials::{AlipayInput, RailCredentials, WechatPayInput};
use serde::Deserialize;

use crate::pages::{Shop, beijing, filters};
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
}

#[derive(Deserialize, Default)]
pub(super) struct AlipayForm {
    #[serde(default)]
    app_id: String,
    #[serde(default)]
    app_private_key_pem: String,
    #[serde(default)]
    alipay_public_key_pem: String,
    #[serde(default)]
    seller_id: String,
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
    /// The refused WeChat Pay field and why.
    error: Option<(String, String)>,
    alipay: Option<RailCredentials>,
    alipay_updated_at: String,
    af: AlipayForm,
    /// The refused Alipay field and why.
    alipay_error: Option<(String, String)>,
}

impl ConsolePayments {
    fn bad(&self, field: &str) -> &'static str {
        match &self.error {
            Some((f, _)) if f == field => "true",
            _ => "false",
        }
    }

    fn alipay_bad(&self, field: &str) -> &'static str {
        match &self.alipay_error {
            Some((f, _)) if f == field => "true",
            _ => "false",
        }
    }
}

/// What the page shows besides the shop: the forms as typed and which one was refused.
#[derive(Default)]
struct Typed {
    f: WechatForm,
    error: Option<(String, String)>,
    af: AlipayForm,
    alipay_error: Option<(String, String)>,
}

async fn page(s: &Web, c: Ctx, mid: &str, typed: Typed) -> WebResult<Response> {
    let (who, shop) = super::shop(&c, mid)?;
    let current = Some(s.app.wechatpay_credentials(&who, mid).await?).filter(|v| v.configured);
    let updated_at = current
        .as_ref()
        .map(|v| beijing(&v.updated_at))
        .unwrap_or_default();
    let alipay = Some(s.app.alipay_credentials(&who, mid).await?).filter(|v| v.configured);
    let alipay_updated_at = alipay
        .as_ref()
        .map(|v| beijing(&v.updated_at))
        .unwrap_or_default();
    Ok(render(&ConsolePayments {
        c,
        shop,
        current,
        updated_at,
        has_key: s.app.config.secret_key.is_some(),
        f: typed.f,
        error: typed.error,
        alipay,
        alipay_updated_at,
        af: typed.af,
        alipay_error: typed.alipay_error,
    })?
    .into_response())
}

pub(super) async fn payments(
    State(s): State<Web>,
    c: Ctx,
    Path(mid): Path<String>,
) -> WebResult<Response> {
    page(&s, c, &mid, Typed::default()).await
}

pub(super) async fn set_alipay(
    State(s): State<Web>,
    c: Ctx,
    Path(mid): Path<String>,
    CsrfForm(f): CsrfForm<AlipayForm>,
) -> WebResult<Response> {
    let who = c.principal()?.clone();
    let input = AlipayInput {
        app_id: f.app_id.clone(),
        app_private_key_pem: f.app_private_key_pem.clone(),
        alipay_public_key_pem: f.alipay_public_key_pem.clone(),
        seller_id: f.seller_id.clone(),
    };
    match s.app.set_alipay_credentials(&who, &mid, input).await {
        Ok(_) => Ok(see(format!("/console/{mid}/payments?done=saved#alipay"))),
        Err(AppError::Invalid { field, reason }) => {
            let af = AlipayForm {
                app_private_key_pem: String::new(),
                ..f
            };
            let typed = Typed {
                af,
                alipay_error: Some((field, reason)),
                ..Typed::default()
            };
            page(&s, c, &mid, typed).await
        }
        Err(e) => Err(e.into()),
    }
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
        platform_certificates_pem: None,
    };
    match s.app.set_wechatpay_credentials(&who, &mid, input).await {
        Ok(_) => Ok(see(format!("/console/{mid}/payments?done=saved"))),
        // A refused field, or WeChat Pay unreachable or untrusted while kith downloaded its
        // platform certificates: said above the form, the non-secret values kept.
        Err(e @ (AppError::Invalid { .. } | AppError::Unavailable(_))) => {
            let error = match e {
                AppError::Invalid { field, reason } => (field, reason),
                other => ("wechatpay".to_owned(), other.to_string()),
            };
            let kept = WechatForm {
                api_v3_key: String::new(),
                private_key_pem: String::new(),
                ..f
            };
            let typed = Typed {
                f: kept,
                error: Some(error),
                ..Typed::default()
            };
            page(&s, c, &mid, typed).await
        }
        Err(e) => Err(e.into()),
    }
}
