//! 限时秒杀 pages: the sale as a member sees it (`/flash/{id}`: the flash price beside the
//! list price, each slot with what is left, a countdown to the slot's end or the next
//! slot's start, the buy form — refusals in the page's words beside the button, what was
//! typed kept), the shop's sales on its page, and the console's flash sales
//! (`/console/{mid}/flash-sales`: slots with sold/quota, pause/resume/end, the create form).

use std::collections::HashMap;

use askama::Template;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use kith_app::AppError;
use kith_app::commerce::promotions::Move;
use kith_app::commerce::promotions::flash::{
    FlashOrderInput, FlashSale, NewFlashSale, NewFlashSlot,
};
use kith_app::commerce::stores::Store;
use kith_app::platform::page::PageRequest;
use kith_domain::order::DeliveryMethod;
use serde::Deserialize;

use crate::console::shop;
use crate::member::CheckoutForm;
use crate::pages::{Shop, filters, opt_int, parse_yuan};
use crate::{CsrfForm, Ctx, Web, WebError, WebResult, render, see};

/// Slots the console's form offers.
pub const FORM_SLOTS: usize = 3;

/// A sale's state for a member now: (words, countdown target in ms, what the countdown
/// counts to) — "进行中", its slot's end, "距结束"; or "即将开始", the next start, "距开始".
pub fn phase(c: &Ctx, sale: &FlashSale) -> (&'static str, Option<i64>, &'static str) {
    let zh = c.lang == crate::i18n::Lang::Zh;
    let ms = |s: &str| kith_app::platform::times::parse_time("t", s).ok();
    let pick = |z: &'static str, e: &'static str| if zh { z } else { e };
    if let Some(live) = &sale.live_slot_id
        && let Some(slot) = sale.slots.iter().find(|s| &s.id == live)
    {
        return (
            pick("抢购中", "On now"),
            ms(&slot.ends_at),
            pick("距结束", "Ends in"),
        );
    }
    if !sale.status.is_active() {
        return (pick("已暂停", "Paused"), None, "");
    }
    match &sale.next_starts_at {
        Some(at) => (
            pick("即将开始", "Starting soon"),
            ms(at),
            pick("距开始", "Starts in"),
        ),
        None => (pick("已结束", "Over"), None, ""),
    }
}

/// `HH:MM:SS` from now to `until`.
pub fn left(now_ms: i64, until: i64) -> String {
    let s = ((until - now_ms) / 1_000).max(0);
    format!("{:02}:{:02}:{:02}", s / 3_600, s / 60 % 60, s % 60)
}

#[derive(Template)]
#[template(path = "promotions/flash.html")]
pub struct FlashPage {
    pub c: Ctx,
    pub sale: FlashSale,
    pub merchant_name: String,
    pub now_ms: i64,
    pub stores: Vec<Store>,
    pub typed: CheckoutForm,
    pub quantity: String,
    pub error: Option<String>,
}

impl FlashPage {
    /// What a pasted link to the sale says: its price and the shop.
    pub fn og_desc(&self) -> String {
        format!(
            "{} {} · {} · {}",
            self.c.t.flash().price,
            crate::pages::yuan(self.sale.price_fen),
            self.sale.product_name,
            self.merchant_name
        )
    }

    pub fn phase(&self) -> (&'static str, Option<i64>, &'static str) {
        phase(&self.c, &self.sale)
    }

    pub fn left(&self, until: &i64) -> String {
        left(self.now_ms, *until)
    }

    /// A slot's state: 抢购中, 未开始, 已结束 or 已抢光.
    pub fn slot_words(
        &self,
        slot: &kith_app::commerce::promotions::flash::FlashSlot,
    ) -> &'static str {
        let zh = self.c.lang == crate::i18n::Lang::Zh;
        let pick = |z: &'static str, e: &'static str| if zh { z } else { e };
        let now = kith_app::rfc3339(self.now_ms);
        if slot.left == 0 {
            pick("已抢光", "Sold out")
        } else if slot.ends_at <= now {
            pick("已结束", "Over")
        } else if slot.starts_at > now {
            pick("未开始", "Not started")
        } else {
            pick("抢购中", "On now")
        }
    }
}

/// The flash order form: how many, and the checkout form's delivery fields.
#[derive(Deserialize, Default, Clone)]
pub struct FlashForm {
    #[serde(default)]
    pub quantity: String,
    #[serde(flatten)]
    pub checkout: CheckoutForm,
}

async fn flash_page(
    s: &Web,
    c: Ctx,
    sid: &str,
    refused: Option<(String, FlashForm)>,
) -> WebResult<axum::response::Html<String>> {
    let sale = s
        .app
        .flash_sale(&kith_app::platform::ids::FlashSaleId::parse_or_404(sid)?)
        .await?;
    let who = c.viewer.as_ref().map(|v| v.principal.clone());
    let m = s.app.get_merchant(who.as_ref(), &sale.merchant_id).await?;
    let stores = s.app.list_stores(who.as_ref(), &sale.merchant_id).await?;
    let (error, typed) = match refused {
        Some((e, f)) => (Some(e), f),
        None => (
            None,
            FlashForm {
                quantity: "1".into(),
                checkout: CheckoutForm::for_viewer(&c),
            },
        ),
    };
    render(&FlashPage {
        now_ms: s.app.now_ms(),
        c,
        sale,
        merchant_name: m.name,
        stores,
        typed: typed.checkout,
        quantity: typed.quantity,
        error,
    })
}

/// The sale's page (public; buying asks for a login).
pub(super) async fn page(
    State(s): State<Web>,
    c: Ctx,
    Path(sid): Path<String>,
) -> WebResult<Response> {
    Ok(flash_page(&s, c, &sid, None).await?.into_response())
}

/// A refusal of a flash order in the page's words.
fn refusal_words(c: &Ctx, code: &str) -> &'static str {
    let zh = c.lang == crate::i18n::Lang::Zh;
    let (z, e) = match code {
        "flash_sold_out" => ("这一场已经抢光了", "This slot is sold out"),
        "flash_member_limit" => (
            "你已买到每人限购的件数",
            "You already bought as many as one member may",
        ),
        "flash_per_order_limit" => ("超过了每单限购的件数", "More than one order may take"),
        "flash_not_live" => ("现在不在抢购时间内", "The sale is not on now"),
        "flash_not_active" => ("这个秒杀已暂停或结束", "This flash sale is paused or ended"),
        _ => ("库存不足，换个数量试试", "Not enough stock; try fewer"),
    };
    if zh { z } else { e }
}

/// Buys in the sale; a refusal comes back beside the button with what was typed.
pub(super) async fn buy(
    State(s): State<Web>,
    c: Ctx,
    Path(sid): Path<String>,
    CsrfForm(f): CsrfForm<FlashForm>,
) -> WebResult<Response> {
    let who = c.principal()?.clone();
    let zh = c.lang == crate::i18n::Lang::Zh;
    let Ok(quantity) = f.quantity.trim().parse::<i64>() else {
        let msg = if zh {
            "请填写购买件数"
        } else {
            "Give how many"
        };
        let html = flash_page(&s, c, &sid, Some((msg.into(), f))).await?;
        return Ok((StatusCode::UNPROCESSABLE_ENTITY, html).into_response());
    };
    let k = &f.checkout;
    let delivery = if k.delivery == "pickup" {
        DeliveryMethod::Pickup
    } else {
        DeliveryMethod::Shipping
    };
    let (pickup_store_id, address) = k.destination(delivery);
    let input = FlashOrderInput {
        quantity,
        delivery,
        pickup_store_id,
        address,
        coupon_id: k.coupon(),
        points: k.points_offered(),
    };
    let (status, msg) = match s
        .app
        .buy_flash_sale(
            &who,
            &kith_app::platform::ids::FlashSaleId::parse_or_404(&sid)?,
            input,
        )
        .await
    {
        Ok(order) => return Ok(see(format!("/orders/{}", order.id))),
        Err(AppError::Conflict { field, .. }) => (
            StatusCode::CONFLICT,
            refusal_words(&c, field.as_deref().unwrap_or("")).to_owned(),
        ),
        Err(AppError::Invalid { field, .. }) if field == "quantity" => (
            StatusCode::UNPROCESSABLE_ENTITY,
            if zh {
                "购买件数需为正整数"
            } else {
                "Give a whole number of at least 1"
            }
            .to_owned(),
        ),
        Err(AppError::Invalid { field, .. }) => (
            StatusCode::UNPROCESSABLE_ENTITY,
            crate::member::address_words(&c, &field).to_owned(),
        ),
        Err(e) => return Err(e.into()),
    };
    let html = flash_page(&s, c, &sid, Some((msg, f))).await?;
    Ok((status, html).into_response())
}

/// The shop page's 秒杀 shelf: (sale, state words, countdown target, its label).
pub type Shelf = Vec<(FlashSale, &'static str, Option<i64>, &'static str)>;

/// The shop's flash sales still to sell, for its page (a shop not trading has none).
pub async fn shelf(s: &Web, c: &Ctx, mid: &str) -> WebResult<Shelf> {
    match s
        .app
        .shop_flash_sales(&kith_app::platform::ids::MerchantId::parse_or_404(mid)?)
        .await
    {
        Ok(list) => Ok(list
            .into_iter()
            .map(|sale| {
                let (words, until, label) = phase(c, &sale);
                (sale, words, until, label)
            })
            .collect()),
        Err(AppError::NotFound(_)) => Ok(Vec::new()),
        Err(e) => Err(e.into()),
    }
}

// --- console --------------------------------------------------------------------------------

/// A new sale as typed: slot rows arrive as `start_<n>`, `end_<n>` (datetime-local, Beijing
/// time) and `quota_<n>`.
#[derive(Deserialize, Default, Clone)]
pub struct SaleForm {
    #[serde(default)]
    pub name: String,
    #[serde(default)]
    pub sku_id: String,
    #[serde(default)]
    pub price: String,
    #[serde(default)]
    pub per_member: String,
    #[serde(default)]
    pub per_order: String,
    #[serde(default)]
    pub timeout: String,
    /// `on` when the sale's orders may take a coupon.
    #[serde(default)]
    pub allow_coupons: String,
    #[serde(flatten)]
    pub rest: HashMap<String, String>,
}

impl SaleForm {
    fn fresh() -> Self {
        Self {
            per_member: "1".into(),
            per_order: "1".into(),
            timeout: "5".into(),
            ..Default::default()
        }
    }

    pub fn rows(&self) -> std::ops::RangeInclusive<usize> {
        1..=FORM_SLOTS
    }

    /// What was typed in slot row `n`: (start, end, quota).
    pub fn slot(&self, n: &usize) -> (&str, &str, &str) {
        let get = |k: String| self.rest.get(&k).map_or("", String::as_str);
        (
            get(format!("start_{n}")),
            get(format!("end_{n}")),
            get(format!("quota_{n}")),
        )
    }

    fn input(&self) -> Result<NewFlashSale, AppError> {
        // A datetime-local value is Beijing wall-clock time.
        let at = |s: &str| {
            let s = s.trim();
            if s.len() == 16 {
                format!("{s}:00+08:00")
            } else {
                s.to_owned()
            }
        };
        let mut slots = Vec::new();
        for n in self.rows() {
            let (start, end, quota) = self.slot(&n);
            if start.trim().is_empty() && end.trim().is_empty() && quota.trim().is_empty() {
                continue;
            }
            let i = slots.len();
            slots.push(NewFlashSlot {
                starts_at: at(start),
                ends_at: at(end),
                quota: quota.trim().parse().map_err(|_| {
                    AppError::invalid(format!("slots[{i}].quota"), "must be a whole number")
                })?,
            });
        }
        Ok(NewFlashSale {
            name: self.name.trim().to_owned(),
            sku_id: self.sku_id.trim().to_owned(),
            price_fen: parse_yuan("price_fen", &self.price)?,
            per_member_limit: opt_int("per_member_limit", &self.per_member)?,
            per_order_limit: opt_int("per_order_limit", &self.per_order)?,
            unpaid_timeout_minutes: opt_int("unpaid_timeout_minutes", &self.timeout)?,
            allow_coupons: self.allow_coupons == "on",
            slots,
        })
    }
}

/// A refusal of the sale form in the page's words: (form field, words).
fn form_words(zh: bool, field: &str) -> (&'static str, &'static str) {
    let (at, z, e) = match field {
        "name" => (
            "name",
            "请填写 1–32 字的名称",
            "Give a name of 1–32 characters",
        ),
        "sku_id" => (
            "sku",
            "请选择本店在售的商品规格",
            "Choose a SKU on sale in this shop",
        ),
        "price_fen" => (
            "price",
            "秒杀价需大于 0 且低于原价",
            "The flash price must be above ¥0 and below the list price",
        ),
        "per_member_limit" => (
            "per_member",
            "每人限购需为 1–100 的整数",
            "Per member must be 1–100",
        ),
        "per_order_limit" => (
            "per_order",
            "每单限购需为 1 到每人限购之间的整数",
            "Per order must be 1 up to the per-member limit",
        ),
        "unpaid_timeout_minutes" => (
            "timeout",
            "付款时限需为 1–30 分钟",
            "The payment window must be 1–30 minutes",
        ),
        f if f.ends_with(".quota") => (
            "slots",
            "每场限量需为 1–1000000 的整数",
            "A slot's quota must be 1–1,000,000",
        ),
        f if f.ends_with(".starts_at") => (
            "slots",
            "场次需按时间先后排列、互不重叠",
            "Slots must be in time order and not overlap",
        ),
        _ => (
            "slots",
            "请填写 1–10 个场次：结束晚于开始，最后一场在现在之后结束",
            "Give 1–10 slots, each ending after it starts, the last ending in the future",
        ),
    };
    (at, if zh { z } else { e })
}

#[derive(Template)]
#[template(path = "promotions/flash_console.html")]
pub struct FlashConsolePage {
    pub c: Ctx,
    pub shop: Shop,
    pub sales: Vec<FlashSale>,
    /// The shop's SKUs on sale: (id, "product · code · ¥list").
    pub skus: Vec<(String, String)>,
    pub form: SaleForm,
    pub bad: Option<(&'static str, String)>,
    pub row_error: Option<(String, String)>,
}

impl FlashConsolePage {
    pub fn bad_at(&self, at: &str) -> Option<&str> {
        self.bad
            .as_ref()
            .filter(|(f, _)| *f == at)
            .map(|(_, w)| w.as_str())
    }

    pub fn row_error_for(&self, id: &str) -> Option<&str> {
        self.row_error
            .as_ref()
            .filter(|(a, _)| a == id)
            .map(|(_, w)| w.as_str())
    }

    pub fn status_words(&self, sale: &FlashSale) -> &'static str {
        phase(&self.c, sale).0
    }
}

async fn console_view(
    s: &Web,
    c: Ctx,
    mid: &str,
    form: Option<SaleForm>,
    bad: Option<(&'static str, String)>,
    row_error: Option<(String, String)>,
) -> WebResult<axum::response::Html<String>> {
    let (who, shop) = shop(&c, mid)?;
    let sales = s
        .app
        .list_flash_sales(
            &who,
            &kith_app::platform::ids::MerchantId::parse_or_404(mid)?,
        )
        .await?;
    let skus = s
        .app
        .list_products(
            Some(&who),
            &kith_app::platform::ids::MerchantId::parse_or_404(mid)?,
            Some("active"),
            PageRequest::first(100),
        )
        .await?
        .items
        .into_iter()
        .flat_map(|p| {
            p.skus.into_iter().map(move |k| {
                (
                    k.id.to_string(),
                    format!(
                        "{} · {} · {}",
                        p.name,
                        k.code,
                        crate::pages::yuan(k.list_price_fen)
                    ),
                )
            })
        })
        .collect();
    render(&FlashConsolePage {
        c,
        shop,
        sales,
        skus,
        form: form.unwrap_or_else(SaleForm::fresh),
        bad,
        row_error,
    })
}

pub(super) async fn console(
    State(s): State<Web>,
    c: Ctx,
    Path(mid): Path<String>,
) -> WebResult<Response> {
    Ok(console_view(&s, c, &mid, None, None, None)
        .await?
        .into_response())
}

pub(super) async fn create(
    State(s): State<Web>,
    c: Ctx,
    Path(mid): Path<String>,
    CsrfForm(f): CsrfForm<SaleForm>,
) -> WebResult<Response> {
    let (who, shop) = shop(&c, &mid)?;
    let result = match f.input() {
        Ok(input) => s.app.create_flash_sale(&who, &shop.id, input).await,
        Err(e) => Err(e),
    };
    match result {
        Ok(_) => Ok(see(format!("/console/{mid}/flash-sales?done=created"))),
        Err(AppError::Invalid { field, .. }) => {
            let zh = c.lang == crate::i18n::Lang::Zh;
            let (at, words) = form_words(zh, &field);
            let html = console_view(&s, c, &mid, Some(f), Some((at, words.into())), None).await?;
            Ok((StatusCode::UNPROCESSABLE_ENTITY, html).into_response())
        }
        Err(e) => Err(WebError::App(e)),
    }
}

pub(super) async fn act(
    State(s): State<Web>,
    c: Ctx,
    Path((mid, sid, action)): Path<(String, String, String)>,
    CsrfForm(_): CsrfForm<crate::pages::Empty>,
) -> WebResult<Response> {
    let (who, shop) = shop(&c, &mid)?;
    let m = super::move_of(&action)?;
    let done = match m {
        Move::Pause => "flash_paused",
        Move::Resume => "resumed",
        Move::End => "flash_ended",
    };
    match s
        .app
        .move_flash_sale(
            &who,
            &shop.id,
            &kith_app::platform::ids::FlashSaleId::parse_or_404(&sid)?,
            m,
        )
        .await
    {
        Ok(_) => Ok(see(format!("/console/{mid}/flash-sales?done={done}"))),
        Err(AppError::Conflict { .. }) => {
            let words = super::move_refused(&c);
            let html = console_view(&s, c, &mid, None, None, Some((sid, words))).await?;
            Ok((StatusCode::CONFLICT, html).into_response())
        }
        Err(e) => Err(WebError::App(e)),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_typed_sale_becomes_the_api_input() {
        let mut f = SaleForm::fresh();
        f.name = " 整点秒杀 ".into();
        f.sku_id = "k".into();
        f.price = "59.9".into();
        for (k, v) in [
            ("start_1", "2026-12-12T20:00"),
            ("end_1", "2026-12-12T21:00"),
            ("quota_1", "100"),
        ] {
            f.rest.insert(k.into(), v.into());
        }
        let i = f.input().unwrap();
        assert_eq!((i.name.as_str(), i.price_fen), ("整点秒杀", 5_990));
        assert_eq!(i.slots.len(), 1);
        assert_eq!(i.slots[0].starts_at, "2026-12-12T20:00:00+08:00");
        assert_eq!(
            (i.per_member_limit, i.unpaid_timeout_minutes),
            (Some(1), Some(5))
        );
        assert_eq!(left(0, 3_723_000), "01:02:03");
        assert_eq!(form_words(true, "slots[1].starts_at").0, "slots");
    }
}
