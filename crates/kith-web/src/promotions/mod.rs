//! Coupon pages (issue 19): the shop's 领券中心 (what it offers now, claim one), 我的优惠券
//! (by state, each with the way to use it) and the console's coupons ([`console`]: create,
//! pause, resume, end with claimed and used counts; the share coupon; issuing to a tier).
//! The coupon choice at checkout lives with the cart (`member/shop.rs`), fed by
//! `App::cart_coupons`, which preselects the best coupon.
//!
//! Refusals (409 naming the rule) come back on the same page, next to the coupon they are
//! about, in the page's language; every action ends on its page with `?done=`.

use std::collections::HashMap;

use askama::Template;
use axum::Router;
use axum::extract::{Path, Query, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use kith_app::AppError;
use kith_app::commerce::promotions::{Coupon, CouponTemplate};
use kith_domain::CouponState;
use serde::Deserialize;

use crate::pages::{Empty, beijing, filters};
use crate::{CsrfForm, Ctx, Web, WebError, WebResult, render, see};

pub mod activities;
pub mod console;
pub mod flash;

pub fn routes() -> Router<Web> {
    Router::new()
        .route("/shops/{mid}/coupons", get(center))
        .route("/shops/{mid}/coupons/{tid}/claim", post(claim))
        .route("/me/coupons", get(mine))
        .route(
            "/console/{mid}/coupons",
            get(console::page).post(console::create),
        )
        .route("/console/{mid}/coupons/share", post(console::set_share))
        .route(
            "/console/{mid}/coupons/new-member",
            post(console::set_new_member),
        )
        .route("/console/{mid}/coupons/{tid}/issue", post(console::issue))
        .route("/console/{mid}/coupons/{tid}/{action}", post(console::act))
        .route(
            "/console/{mid}/activities",
            get(activities::page).post(activities::create),
        )
        .route(
            "/console/{mid}/activities/{aid}/{action}",
            post(activities::act),
        )
        .route("/flash/{sid}", get(flash::page))
        .route("/flash/{sid}/buy", post(flash::buy))
        .route(
            "/console/{mid}/flash-sales",
            get(flash::console).post(flash::create),
        )
        .route(
            "/console/{mid}/flash-sales/{sid}/{action}",
            post(flash::act),
        )
}

/// A console action on a promotion's row (`pause`, `resume`, `end`) as its move; any other
/// word is no page.
pub(crate) fn move_of(action: &str) -> WebResult<kith_app::commerce::promotions::Move> {
    use kith_app::commerce::promotions::Move;
    match action {
        "pause" => Ok(Move::Pause),
        "resume" => Ok(Move::Resume),
        "end" => Ok(Move::End),
        _ => Err(AppError::NotFound("page").into()),
    }
}

/// The refusal of an illegal move (resuming an ended promotion, pausing a paused one), in
/// the page's words, for the promotion's row.
pub(crate) fn move_refused(c: &Ctx) -> String {
    if c.lang == crate::i18n::Lang::Zh {
        "现在不能这样操作（已暂停的不能再暂停，已停止的不能恢复）".into()
    } else {
        "Not possible now (a paused one cannot pause again, an ended one cannot resume)".into()
    }
}

/// The products a console form's scope checkboxes ticked (`p_<product id>=on`), in a
/// stable order.
pub(crate) fn ticked_products(fields: &HashMap<String, String>) -> Vec<String> {
    let mut ids: Vec<String> = fields
        .iter()
        .filter(|(_, v)| v.as_str() == "on")
        .filter_map(|(k, _)| k.strip_prefix("p_").map(str::to_owned))
        .collect();
    ids.sort();
    ids
}

/// Whether a console form's scope checkbox for `product_id` is ticked.
pub(crate) fn is_ticked(fields: &HashMap<String, String>, product_id: &str) -> bool {
    fields
        .get(&format!("p_{product_id}"))
        .is_some_and(|v| v == "on")
}

/// The shop's products on sale, for a scope's checkboxes: (id, name).
pub(crate) async fn shop_products(
    s: &Web,
    who: &kith_app::Principal,
    mid: &str,
) -> WebResult<Vec<(String, String)>> {
    Ok(s.app
        .list_products(
            Some(who),
            &kith_app::platform::ids::MerchantId::parse_or_404(mid)?,
            Some("active"),
            kith_app::platform::page::PageRequest::first(100),
        )
        .await?
        .items
        .into_iter()
        .map(|p| (p.id.to_string(), p.name))
        .collect())
}

/// The shop's live 满减 / 满折 activities in the page's words ("满 ¥199.00 减 ¥20.00，满
/// ¥299.00 减 ¥50.00"), only those covering `product` when given. A shop not trading (its
/// staff previewing it) runs none; a store failure is an error, not none.
pub async fn activity_words(
    s: &Web,
    c: &Ctx,
    mid: &str,
    product: Option<&str>,
) -> WebResult<Vec<String>> {
    match s
        .app
        .shop_threshold_activities(&kith_app::platform::ids::MerchantId::parse_or_404(mid)?)
        .await
    {
        Ok(list) => Ok(list
            .iter()
            .filter(|a| product.is_none_or(|pid| a.scope().covers(pid)))
            .map(|a| c.t.activity_tiers(a))
            .collect()),
        Err(AppError::NotFound(_)) => Ok(Vec::new()),
        Err(e) => Err(e.into()),
    }
}

/// A coupon template's terms in the page's words, for the templates' tables and cards.
pub trait Terms {
    fn template(&self) -> &CouponTemplate;

    /// 减 ¥20.00, 8 折（最多减 ¥30.00）.
    fn value_words(&self, c: &Ctx) -> String {
        let t = self.template();
        c.t.coupon_value(
            &t.kind,
            t.off_fen.map(kith_domain::Fen::get),
            t.percent_off,
            t.cap_fen.map(kith_domain::Fen::get),
        )
    }

    /// 满 ¥199.00 可用, or 无门槛.
    fn threshold_words(&self, c: &Ctx) -> String {
        c.t.coupon_threshold(self.template().min_spend_fen.get())
    }

    /// 全店通用 or 指定商品可用.
    fn scope_words(&self, c: &Ctx) -> &'static str {
        match self.template().product_ids {
            None => c.t.promo().whole_shop,
            Some(_) => c.t.promo().some_products,
        }
    }

    /// 领取后 7 天内有效, or 有效期至 2026-12-31 23:59 (Beijing time).
    fn validity_words(&self, c: &Ctx) -> String {
        let t = self.template();
        let zh = c.lang == crate::i18n::Lang::Zh;
        match (t.valid_days, &t.valid_until) {
            (Some(d), _) if zh => format!("领取后 {d} 天内有效"),
            (Some(d), _) => format!("Valid {d} days after claiming"),
            (None, Some(u)) if zh => format!("有效期至 {}", beijing(u)),
            (None, Some(u)) => format!("Valid until {}", beijing(u)),
            (None, None) => String::new(),
        }
    }
}

impl Terms for CouponTemplate {
    fn template(&self) -> &CouponTemplate {
        self
    }
}

impl Terms for Coupon {
    fn template(&self) -> &CouponTemplate {
        &self.template
    }
}

// --- member: 领券中心 ---------------------------------------------------------------------

/// One coupon the shop offers, with how many of it the viewer holds.
pub struct Offer {
    pub t: CouponTemplate,
    pub held: usize,
}

#[derive(Template)]
#[template(path = "promotions/center.html")]
pub struct CenterPage {
    pub c: Ctx,
    pub merchant_id: String,
    pub merchant_name: String,
    pub offers: Vec<Offer>,
    /// The template only members new to the shop may claim.
    pub new_member: Option<String>,
    /// A refused claim: (template id, why).
    pub error: Option<(String, String)>,
}

impl CenterPage {
    pub fn error_for(&self, tid: &str) -> Option<&str> {
        self.error
            .as_ref()
            .filter(|(id, _)| id == tid)
            .map(|(_, e)| e.as_str())
    }

    /// A refusal about a coupon no longer offered (sold out, paused meanwhile): shown above
    /// the list, since it has no card of its own.
    pub fn orphan_error(&self) -> Option<&str> {
        self.error
            .as_ref()
            .filter(|(id, _)| !self.offers.iter().any(|o| &o.t.id == id))
            .map(|(_, e)| e.as_str())
    }
}

async fn center_view(
    s: &Web,
    c: Ctx,
    mid: &str,
    error: Option<(String, String)>,
) -> WebResult<axum::response::Html<String>> {
    let who = c.viewer.as_ref().map(|v| v.principal.clone());
    let m = s
        .app
        .get_merchant(
            who.as_ref(),
            &kith_app::platform::ids::MerchantId::parse_or_404(mid)?,
        )
        .await?;
    let templates = s
        .app
        .shop_coupon_templates(&kith_app::platform::ids::MerchantId::parse_or_404(mid)?)
        .await?;
    let new_member = s
        .app
        .new_member_template_id(&kith_app::platform::ids::MerchantId::parse_or_404(mid)?)
        .await?;
    let mut held: HashMap<String, usize> = HashMap::new();
    if let Some(who) = &who {
        for k in s.app.my_coupons(who, Some(mid), None).await? {
            *held.entry(k.template_id.to_string()).or_default() += 1;
        }
    }
    let offers = templates
        .into_iter()
        .map(|t| Offer {
            held: held.get(t.id.as_str()).copied().unwrap_or(0),
            t,
        })
        .collect();
    render(&CenterPage {
        c,
        merchant_id: m.id.to_string(),
        merchant_name: m.name,
        offers,
        new_member,
        error,
    })
}

/// 领券中心: the coupons the shop offers now (readable without an account).
async fn center(State(s): State<Web>, c: Ctx, Path(mid): Path<String>) -> WebResult<Response> {
    Ok(center_view(&s, c, &mid, None).await?.into_response())
}

/// Claims one coupon; a refusal comes back on its card.
async fn claim(
    State(s): State<Web>,
    c: Ctx,
    Path((mid, tid)): Path<(String, String)>,
    CsrfForm(_): CsrfForm<Empty>,
) -> WebResult<Response> {
    let who = c.principal()?.clone();
    match s
        .app
        .claim_coupon(
            &who,
            &kith_app::platform::ids::MerchantId::parse_or_404(&mid)?,
            &kith_app::platform::ids::CouponTemplateId::parse_or_404(&tid)?,
        )
        .await
    {
        Ok(_) => Ok(see(format!("/shops/{mid}/coupons?done=claimed"))),
        Err(AppError::Conflict {
            field: Some(code), ..
        }) => {
            let words = c.t.coupon_refusal(&code).to_owned();
            let html = center_view(&s, c, &mid, Some((tid, words))).await?;
            Ok((StatusCode::CONFLICT, html).into_response())
        }
        Err(e) => Err(WebError::App(e)),
    }
}

// --- member: 我的优惠券 -------------------------------------------------------------------

#[derive(Template)]
#[template(path = "promotions/mine.html")]
pub struct MinePage {
    pub c: Ctx,
    /// The tab: `available`, `locked`, `used` or `expired`.
    pub state: &'static str,
    /// (state, how many) for each tab.
    pub tabs: Vec<(&'static str, usize)>,
    /// The coupons of this tab, each with its shop's name.
    pub coupons: Vec<(Coupon, String)>,
}

#[derive(Deserialize, Default)]
struct MineQuery {
    state: Option<String>,
}

/// 我的优惠券, one tab per state (available first).
async fn mine(State(s): State<Web>, c: Ctx, Query(q): Query<MineQuery>) -> WebResult<Response> {
    let who = c.principal()?.clone();
    let state = q
        .state
        .as_deref()
        .and_then(CouponState::from_db)
        .unwrap_or(CouponState::Available);
    let all = s.app.my_coupons(&who, None, None).await?;
    let tabs = CouponState::ALL
        .iter()
        .map(|st| (st.as_str(), all.iter().filter(|k| k.state == *st).count()))
        .collect();
    let mut shops: HashMap<String, String> = HashMap::new();
    let mut coupons = Vec::new();
    for k in all.into_iter().filter(|k| k.state == state) {
        let name = match shops.get(k.merchant_id.as_str()) {
            Some(n) => n.clone(),
            None => {
                // A shop that stopped trading keeps its coupons listed, by id.
                let n = match s.app.get_merchant(Some(&who), &k.merchant_id).await {
                    Ok(m) => m.name,
                    Err(AppError::NotFound(_)) => k.merchant_id.to_string(),
                    Err(e) => return Err(e.into()),
                };
                shops.insert(k.merchant_id.to_string(), n.clone());
                n
            }
        };
        coupons.push((k, name));
    }
    Ok(render(&MinePage {
        c,
        state: state.as_str(),
        tabs,
        coupons,
    })?
    .into_response())
}
