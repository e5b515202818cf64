//! The console's coupons: the templates with their claimed and used counts (pause, resume,
//! end), the form that creates one (refusals next to the field, what was typed kept), the
//! share coupon the distributors' links offer, and issuing a template to a member tier.

use std::collections::HashMap;

use askama::Template;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use kith_app::AppError;
use kith_app::commerce::promotions::offers::{ChosenCouponInput, IssueInput, Slot};
use kith_app::commerce::promotions::{CouponTemplate, Move, NewCouponTemplate};
use kith_app::commerce::tiers::Tier;
use serde::Deserialize;

use super::Terms;
use crate::console::shop;
use crate::pages::{Shop, opt_int, parse_int, parse_yuan};
use crate::{CsrfForm, Ctx, Web, WebError, WebResult, render, see};

/// A new template as typed on the console's form. Product checkboxes arrive as
/// `p_<product id>=on`.
#[derive(Deserialize, Default, Clone)]
pub struct TemplateForm {
    #[serde(default)]
    pub name: String,
    #[serde(default)]
    pub kind: String,
    #[serde(default)]
    pub off: String,
    #[serde(default)]
    pub percent: String,
    #[serde(default)]
    pub cap: String,
    #[serde(default)]
    pub min_spend: String,
    #[serde(default)]
    pub valid_days: String,
    #[serde(default)]
    pub valid_until: String,
    #[serde(default)]
    pub total: String,
    #[serde(default)]
    pub per_member: String,
    pub allow_group_buy: Option<String>,
    #[serde(flatten)]
    pub rest: HashMap<String, String>,
}

impl TemplateForm {
    fn fresh() -> Self {
        Self {
            kind: "fixed".into(),
            min_spend: "0".into(),
            valid_days: "30".into(),
            total: "100".into(),
            per_member: "1".into(),
            ..Default::default()
        }
    }

    /// The products ticked, in a stable order.
    pub fn products(&self) -> Vec<String> {
        super::ticked_products(&self.rest)
    }

    pub fn ticked(&self, product_id: &str) -> bool {
        super::is_ticked(&self.rest, product_id)
    }

    fn input(&self) -> Result<NewCouponTemplate, AppError> {
        let fixed = self.kind == "fixed";
        let opt_yuan = |field: &str, s: &str| -> Result<Option<i64>, AppError> {
            if s.trim().is_empty() {
                Ok(None)
            } else {
                parse_yuan(field, s).map(Some)
            }
        };
        let until = self.valid_until.trim();
        let days = self.valid_days.trim();
        let (valid_days, valid_until) = if !until.is_empty() && days.is_empty() {
            // A day from the date picker ends at midnight China time.
            let until = if until.len() == 10 {
                format!("{until}T23:59:59+08:00")
            } else {
                until.to_owned()
            };
            (None, Some(until))
        } else {
            (opt_int("valid_days", days)?, None)
        };
        let products = self.products();
        Ok(NewCouponTemplate {
            name: self.name.trim().to_owned(),
            kind: self.kind.clone(),
            off_fen: if fixed {
                opt_yuan("off_fen", &self.off)?
            } else {
                None
            },
            percent_off: if fixed {
                None
            } else {
                opt_int("percent_off", self.percent.trim().trim_end_matches('%'))?
            },
            cap_fen: if fixed {
                None
            } else {
                opt_yuan("cap_fen", &self.cap)?
            },
            min_spend_fen: opt_yuan("min_spend_fen", &self.min_spend)?.unwrap_or(0),
            product_ids: (!products.is_empty()).then_some(products),
            valid_from: None,
            valid_until,
            valid_days,
            total_count: parse_int("total_count", &self.total)?,
            per_member_limit: opt_int("per_member_limit", &self.per_member)?,
            allow_group_buy: self.allow_group_buy.is_some(),
        })
    }
}

/// A refusal of the template form in the page's words: (form field, words).
fn template_words(zh: bool, field: &str, reason: &str) -> (&'static str, String) {
    let (at, z, e) = match field {
        "name" => (
            "name",
            "请填写 1–32 字的名称",
            "Give a name of 1–32 characters",
        ),
        "kind" => (
            "kind",
            "请选择满减券或折扣券",
            "Choose amount off or percent off",
        ),
        "off_fen" if reason.contains("exceed") => (
            "off",
            "减免金额不能超过使用门槛（满 X 减 Y 要求 Y ≤ X）",
            "The amount off cannot exceed the minimum spend",
        ),
        "off_fen" => (
            "off",
            "减免金额需至少 ¥0.01",
            "The amount off must be at least ¥0.01",
        ),
        "percent_off" => (
            "percent",
            "优惠比例需为 1–99 的整数",
            "Percent off must be 1–99",
        ),
        "cap_fen" => (
            "cap",
            "最多减需大于 0 元，或不填",
            "The cap must be above ¥0, or empty",
        ),
        "min_spend_fen" => (
            "min_spend",
            "使用门槛需为 0 或正的金额",
            "The minimum spend must be ¥0 or more",
        ),
        f if f.starts_with("product_ids") => (
            "scope",
            "请选择本店的商品（最多 100 个）",
            "Choose products of this shop (at most 100)",
        ),
        "valid_days" | "valid_until" | "valid_from" => (
            "validity",
            "请填写 1–365 的有效天数，或一个今天之后的截止日期",
            "Give 1–365 days, or an end date after today",
        ),
        "total_count" => (
            "total",
            "发放总量需为 1–1000000 的整数",
            "The total must be 1–1,000,000",
        ),
        "per_member_limit" => (
            "per_member",
            "每人限领需为 1–100 的整数",
            "Per member must be 1–100",
        ),
        _ => ("name", "", ""),
    };
    let words = match (z.is_empty(), zh) {
        (true, _) => reason.to_owned(),
        (false, true) => z.to_owned(),
        (false, false) => e.to_owned(),
    };
    (at, words)
}

#[derive(Template)]
#[template(path = "promotions/console.html")]
pub struct ConsolePage {
    pub c: Ctx,
    pub shop: Shop,
    pub templates: Vec<CouponTemplate>,
    /// The shop's products, for the scope's checkboxes: (id, name).
    pub products: Vec<(String, String)>,
    pub tiers: Vec<Tier>,
    /// The template the share links offer now.
    pub share: Option<String>,
    /// The template only new members may claim.
    pub new_member: Option<String>,
    pub form: TemplateForm,
    /// A refused creation: (form field, words).
    pub bad: Option<(&'static str, String)>,
    /// A refused action on one template (pause, issue, …): (template id, words).
    pub row_error: Option<(String, String)>,
}

impl ConsolePage {
    pub fn bad_at(&self, at: &str) -> Option<&str> {
        self.bad
            .as_ref()
            .filter(|(f, _)| *f == at)
            .map(|(_, w)| w.as_str())
    }

    pub fn row_error_for(&self, tid: &str) -> Option<&str> {
        self.row_error
            .as_ref()
            .filter(|(id, _)| id == tid)
            .map(|(_, w)| w.as_str())
    }

    pub fn offered(&self, tid: &str) -> bool {
        self.share.as_deref() == Some(tid)
    }

    pub fn for_new_members(&self, tid: &str) -> bool {
        self.new_member.as_deref() == Some(tid)
    }
}

async fn view(
    s: &Web,
    c: Ctx,
    mid: &str,
    form: Option<TemplateForm>,
    bad: Option<(&'static str, String)>,
    row_error: Option<(String, String)>,
) -> WebResult<axum::response::Html<String>> {
    let (who, shop) = shop(&c, mid)?;
    let templates = s
        .app
        .list_coupon_templates(
            &who,
            &kith_app::platform::ids::MerchantId::parse_or_404(mid)?,
        )
        .await?;
    let products = super::shop_products(s, &who, mid).await?;
    let tiers = s
        .app
        .list_tiers(
            Some(&who),
            &kith_app::platform::ids::MerchantId::parse_or_404(mid)?,
        )
        .await?;
    let share = s
        .app
        .chosen_coupon(
            &who,
            &kith_app::platform::ids::MerchantId::parse_or_404(mid)?,
            Slot::Share,
        )
        .await?
        .template
        .map(|t| t.id.to_string());
    let new_member = s
        .app
        .chosen_coupon(
            &who,
            &kith_app::platform::ids::MerchantId::parse_or_404(mid)?,
            Slot::NewMember,
        )
        .await?
        .template
        .map(|t| t.id.to_string());
    render(&ConsolePage {
        c,
        shop,
        templates,
        products,
        tiers,
        share,
        new_member,
        form: form.unwrap_or_else(TemplateForm::fresh),
        bad,
        row_error,
    })
}

/// The console's coupons page.
pub(super) async fn page(
    State(s): State<Web>,
    c: Ctx,
    Path(mid): Path<String>,
) -> WebResult<Response> {
    Ok(view(&s, c, &mid, None, None, None).await?.into_response())
}

/// Creates a template; a refusal comes back next to its field with what was typed.
pub(super) async fn create(
    State(s): State<Web>,
    c: Ctx,
    Path(mid): Path<String>,
    CsrfForm(f): CsrfForm<TemplateForm>,
) -> WebResult<Response> {
    let (who, shop) = shop(&c, &mid)?;
    let result = match f.input() {
        Ok(input) => s.app.create_coupon_template(&who, &shop.id, input).await,
        Err(e) => Err(e),
    };
    match result {
        Ok(_) => Ok(see(format!("/console/{mid}/coupons?done=created"))),
        Err(AppError::Invalid { field, reason }) => {
            let zh = c.lang == crate::i18n::Lang::Zh;
            let bad = template_words(zh, &field, &reason);
            let html = view(&s, c, &mid, Some(f), Some(bad), None).await?;
            Ok((StatusCode::UNPROCESSABLE_ENTITY, html).into_response())
        }
        Err(e) => Err(WebError::App(e)),
    }
}

/// A refused action on one template, shown on its row.
async fn row_refusal(s: &Web, c: Ctx, mid: &str, tid: String, e: AppError) -> WebResult<Response> {
    let (status, words) = match &e {
        AppError::Conflict { field, reason } => (
            StatusCode::CONFLICT,
            match field.as_deref() {
                Some(code) if code.starts_with("coupon_") => c.t.coupon_refusal(code).to_owned(),
                _ => reason.clone(),
            },
        ),
        AppError::Invalid { reason, .. } => (StatusCode::UNPROCESSABLE_ENTITY, reason.clone()),
        _ => return Err(WebError::App(e)),
    };
    let html = view(s, c, mid, None, None, Some((tid, words))).await?;
    Ok((status, html).into_response())
}

/// Pauses, resumes or ends a template.
pub(super) async fn act(
    State(s): State<Web>,
    c: Ctx,
    Path((mid, tid, action)): Path<(String, String, String)>,
    CsrfForm(_): CsrfForm<crate::pages::Empty>,
) -> WebResult<Response> {
    let (who, shop) = shop(&c, &mid)?;
    let m = super::move_of(&action)?;
    let done = match m {
        Move::Pause => "paused",
        Move::Resume => "resumed",
        Move::End => "coupon_ended",
    };
    match s
        .app
        .move_coupon_template(
            &who,
            &shop.id,
            &kith_app::platform::ids::CouponTemplateId::parse_or_404(&tid)?,
            m,
        )
        .await
    {
        Ok(_) => Ok(see(format!("/console/{mid}/coupons?done={done}"))),
        Err(e) => row_refusal(&s, c, &mid, tid, e).await,
    }
}

#[derive(Deserialize, Default)]
pub(super) struct IssueForm {
    #[serde(default)]
    tier_code: String,
    /// One member chosen with the member picker (`/console/{mid}/coupons/{tid}/to-member`)
    /// instead of a tier.
    #[serde(default)]
    account_id: String,
}

/// Issues one coupon of a template to every member of a tier, or to one member.
pub(super) async fn issue(
    State(s): State<Web>,
    c: Ctx,
    Path((mid, tid)): Path<(String, String)>,
    CsrfForm(f): CsrfForm<IssueForm>,
) -> WebResult<Response> {
    let (who, shop) = shop(&c, &mid)?;
    let member = f.account_id.trim();
    let input = if member.is_empty() {
        IssueInput {
            account_ids: None,
            tier_code: Some(f.tier_code.trim().to_owned()),
        }
    } else {
        IssueInput {
            account_ids: Some(vec![member.to_owned()]),
            tier_code: None,
        }
    };
    match s
        .app
        .issue_coupons(
            &who,
            &shop.id,
            &kith_app::platform::ids::CouponTemplateId::parse_or_404(&tid)?,
            input,
        )
        .await
    {
        Ok(_) => Ok(see(format!("/console/{mid}/coupons?done=issued"))),
        Err(e) => row_refusal(&s, c, &mid, tid, e).await,
    }
}

#[derive(Deserialize, Default)]
pub(super) struct ChooseForm {
    #[serde(default)]
    template_id: String,
}

impl ChooseForm {
    fn input(&self) -> ChosenCouponInput {
        let id = self.template_id.trim();
        ChosenCouponInput {
            template_id: (!id.is_empty()).then(|| id.to_owned()),
        }
    }
}

/// Chooses the share coupon (or none); a refusal shows beside its form.
pub(super) async fn set_share(
    State(s): State<Web>,
    c: Ctx,
    Path(mid): Path<String>,
    CsrfForm(f): CsrfForm<ChooseForm>,
) -> WebResult<Response> {
    choose(s, c, mid, Slot::Share, f).await
}

/// Chooses the new-member coupon (or none); a refusal shows beside its form.
pub(super) async fn set_new_member(
    State(s): State<Web>,
    c: Ctx,
    Path(mid): Path<String>,
    CsrfForm(f): CsrfForm<ChooseForm>,
) -> WebResult<Response> {
    choose(s, c, mid, Slot::NewMember, f).await
}

async fn choose(s: Web, c: Ctx, mid: String, slot: Slot, f: ChooseForm) -> WebResult<Response> {
    let (who, shop) = shop(&c, &mid)?;
    match s.app.choose_coupon(&who, &shop.id, slot, f.input()).await {
        Ok(_) => Ok(see(format!("/console/{mid}/coupons?done=saved"))),
        Err(e) => {
            let at = match slot {
                Slot::Share => "share",
                Slot::NewMember => "new-member",
            };
            row_refusal(&s, c, &mid, at.into(), e).await
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_typed_form_becomes_the_api_input() {
        let mut f = TemplateForm::fresh();
        f.name = " 满199减20 ".into();
        f.off = "20".into();
        f.min_spend = "199".into();
        f.rest.insert("p_b".into(), "on".into());
        f.rest.insert("p_a".into(), "on".into());
        let i = f.input().unwrap();
        assert_eq!(i.name, "满199减20");
        assert_eq!((i.off_fen, i.min_spend_fen), (Some(2000), 19_900));
        assert_eq!(i.product_ids, Some(vec!["a".to_owned(), "b".to_owned()]));
        assert_eq!((i.valid_days, i.valid_until), (Some(30), None));
        f.valid_days.clear();
        f.valid_until = "2026-12-31".into();
        assert_eq!(
            f.input().unwrap().valid_until.as_deref(),
            Some("2026-12-31T23:59:59+08:00")
        );
        assert_eq!(template_words(true, "off_fen", "must not exceed").0, "off");
        assert_eq!(template_words(true, "product_ids[3]", "no such").0, "scope");
    }
}
