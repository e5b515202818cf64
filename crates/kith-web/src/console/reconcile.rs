//! 对账: the shop's daily reconciliation runs with each difference, and a day reconciled
//! again by the owner (a refusal in words beside the field, the typed date kept).

use askama::Template;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use kith_app::AppError;
use kith_app::rails::reconcile::Reconciliation;
use serde::Deserialize;

use crate::i18n::Strings;
use crate::pages::{Shop, yuan};
use crate::{CsrfForm, Ctx, Web, WebResult, render, see};

#[derive(Deserialize, Default)]
pub(super) struct ReconcileForm {
    #[serde(default)]
    provider: String,
    #[serde(default)]
    date: String,
}

/// One difference, in words and 元.
pub(crate) struct DiffRow {
    pub(crate) kind: &'static str,
    pub(crate) entry: &'static str,
    pub(crate) reference: String,
    pub(crate) provider_no: String,
    pub(crate) provider_amount: String,
    pub(crate) kith_amount: String,
}

/// One day's run, in words and 元 (the shop's 对账 page, and the platform's on the admin page).
pub(crate) struct RunRow {
    pub(crate) bill_date: String,
    pub(crate) provider: &'static str,
    pub(crate) status: String,
    pub(crate) status_words: &'static str,
    pub(crate) provider_lines: i64,
    pub(crate) provider_total: String,
    pub(crate) kith_lines: i64,
    pub(crate) kith_total: String,
    pub(crate) matched: i64,
    pub(crate) diffs: Vec<DiffRow>,
}

pub(crate) fn row(t: &Strings, r: Reconciliation) -> RunRow {
    let money = |f: Option<kith_domain::Fen>| f.map(yuan).unwrap_or_else(|| "—".into());
    RunRow {
        status_words: t.recon_status(&r.status),
        provider: t.recon_provider(&r.provider),
        diffs: r
            .mismatches
            .into_iter()
            .map(|m| DiffRow {
                kind: t.recon_kind(m.kind.as_str()),
                entry: t.recon_entry(m.entry.as_str()),
                reference: m.reference,
                provider_no: m.provider_no.unwrap_or_default(),
                provider_amount: money(m.provider_fen),
                kith_amount: money(m.kith_fen),
            })
            .collect(),
        bill_date: r.bill_date,
        status: r.status,
        provider_lines: r.provider_lines,
        provider_total: yuan(r.provider_total_fen),
        kith_lines: r.kith_lines,
        kith_total: yuan(r.kith_total_fen),
        matched: r.matched,
    }
}

#[derive(Template)]
#[template(path = "console/reconcile.html")]
pub(super) struct ConsoleReconcile {
    c: Ctx,
    shop: Shop,
    runs: Vec<RunRow>,
    has_wechat: bool,
    has_alipay: bool,
    f: ReconcileForm,
    /// The refused field and why, in the page's words.
    error: Option<(&'static str, String)>,
}

impl ConsoleReconcile {
    fn bad(&self, field: &str) -> &'static str {
        match &self.error {
            Some((f, _)) if *f == field => "true",
            _ => "false",
        }
    }
}

async fn page(
    s: &Web,
    c: Ctx,
    mid: &str,
    f: ReconcileForm,
    error: Option<(&'static str, String)>,
    status: StatusCode,
) -> WebResult<Response> {
    let (who, shop) = super::shop(&c, mid)?;
    let runs = s
        .app
        .merchant_reconciliations(&who, &shop.id)
        .await?
        .into_iter()
        .map(|r| row(c.t, r))
        .collect();
    let has_wechat = s.app.has_wechatpay(mid).await?;
    let has_alipay = s.app.has_alipay(mid).await?;
    let f = ReconcileForm {
        provider: if !f.provider.is_empty() {
            f.provider
        } else if has_alipay && !has_wechat {
            "alipay".into()
        } else {
            "wechat".into()
        },
        // Yesterday: the day a merchant most often looks at.
        date: if f.date.is_empty() {
            kith_app::rails::reconcile::yesterday(s.app.now_ms())
        } else {
            f.date
        },
    };
    Ok((
        status,
        render(&ConsoleReconcile {
            c,
            shop,
            runs,
            has_wechat,
            has_alipay,
            f,
            error,
        })?,
    )
        .into_response())
}

pub(super) async fn reconcile(
    State(s): State<Web>,
    c: Ctx,
    Path(mid): Path<String>,
) -> WebResult<Response> {
    page(&s, c, &mid, ReconcileForm::default(), None, StatusCode::OK).await
}

pub(super) async fn run(
    State(s): State<Web>,
    c: Ctx,
    Path(mid): Path<String>,
    CsrfForm(f): CsrfForm<ReconcileForm>,
) -> WebResult<Response> {
    let who = c.principal()?.clone();
    let merchant = kith_app::platform::ids::MerchantId::parse_or_404(&mid)?;
    let t = c.t;
    let zh = std::ptr::eq(t, &crate::i18n::ZH);
    let said = |zh_words: &str, en: &str| {
        if zh {
            zh_words.to_owned()
        } else {
            en.to_owned()
        }
    };
    match s
        .app
        .reconcile_merchant_day(&who, &merchant, &f.provider, &f.date)
        .await
    {
        Ok(_) => Ok(see(format!("/console/{mid}/reconcile?done=reconciled"))),
        Err(AppError::Invalid { field, .. }) if field == "provider" => {
            let why = said("请选择支付渠道", "choose a provider");
            page(
                &s,
                c,
                &mid,
                f,
                Some(("provider", why)),
                StatusCode::UNPROCESSABLE_ENTITY,
            )
            .await
        }
        Err(AppError::Invalid { .. }) => {
            let why = said(
                "请填写已经开始的日期，格式如 2026-12-01",
                "enter a day that has begun, e.g. 2026-12-01",
            );
            page(
                &s,
                c,
                &mid,
                f,
                Some(("date", why)),
                StatusCode::UNPROCESSABLE_ENTITY,
            )
            .await
        }
        Err(AppError::Conflict { .. }) => {
            let why = t.recon().no_credentials.to_owned();
            page(
                &s,
                c,
                &mid,
                f,
                Some(("provider", why)),
                StatusCode::CONFLICT,
            )
            .await
        }
        Err(AppError::Unavailable(detail)) => {
            tracing::warn!(merchant = %mid, %detail, "reconciliation: no bill");
            let why = said(
                "暂时取不到这一天的渠道账单（微信支付、支付宝在次日上午 10 点后生成），请稍后再试",
                "the provider's bill of that day is not available yet (WeChat Pay and Alipay make it after 10:00 the next day); try again later",
            );
            page(
                &s,
                c,
                &mid,
                f,
                Some(("date", why)),
                StatusCode::SERVICE_UNAVAILABLE,
            )
            .await
        }
        Err(e) => Err(e.into()),
    }
}
