//! Group-buy (拼团) pages: a campaign with its joinable groups and the form to open one, a
//! group with its seats, members and time left (readable by anyone, refreshed by htmx from
//! a fragment route), joining and sharing a group, the member's own group-buys, the running
//! campaigns of a shop or a product, and the console's campaigns (create, end).
//!
//! Opening or joining places the seat's order through the use case and sends the buyer to
//! that order's page to pay (303). A refusal (full, expired, own group, already in, the
//! campaign's limits) comes back on the same page with the use case's words and its status
//! (409 or 422), never as a 500.

use askama::Template;
use axum::Router;
use axum::extract::{Path, Query, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use kith_app::AppError;
use kith_app::commerce::stores::Store;
use kith_app::group_buy::{Campaign, CampaignInput, Group, MySeat, SeatInput};
use kith_app::money::sharing::LinkKind;
use kith_app::platform::ids::{CampaignId, GroupId, MerchantId};
use kith_domain::group_buy::GroupStatus;
use serde::Deserialize;

use crate::console::shop;
use crate::member::CheckoutForm;
use crate::pages::{Empty, Shop, filters, parse_int, parse_percent, parse_yuan};
use crate::{CsrfForm, Ctx, Web, WebError, WebResult, encode, render, see};

pub fn routes() -> Router<Web> {
    Router::new()
        .route("/group-buys/{cid}", get(campaign))
        .route("/group-buys/{cid}/open", post(open))
        .route("/groups/{gid}", get(group))
        .route("/groups/{gid}/seats", get(seats))
        .route("/groups/{gid}/join", post(join))
        .route("/groups/{gid}/share", post(share))
        .route("/shops/{mid}/group-buys", get(shop_campaigns))
        .route(
            "/shops/{mid}/products/{pid}/group-buys",
            get(product_campaigns),
        )
        .route("/me/groups", get(my_groups))
        .route(
            "/console/{mid}/group-buys",
            get(console).post(create_campaign),
        )
        .route("/console/{mid}/group-buys/{cid}/end", post(end_campaign))
}

// --- views --------------------------------------------------------------------------------

/// A group as the pages draw it: one circle per seat and the time left in words.
pub struct GroupCard {
    pub g: Group,
    /// `paid`, `held` or `free`, one per seat, paid seats first.
    pub seats: Vec<&'static str>,
    /// "还剩 5 小时 12 分", once the leader has paid and while the group gathers.
    pub left: Option<String>,
}

impl GroupCard {
    fn new(c: &Ctx, g: Group) -> Self {
        let size = usize::try_from(g.size).unwrap_or(0);
        let paid = usize::try_from(g.paid_seats).unwrap_or(0).min(size);
        let held = usize::try_from(g.held_seats).unwrap_or(0).clamp(paid, size);
        let mut seats = vec!["paid"; paid];
        seats.resize(held, "held");
        seats.resize(size, "free");
        let left = g
            .seconds_left
            .filter(|_| !g.status.is_over())
            .map(|s| c.t.time_left(s));
        GroupCard { g, seats, left }
    }

    /// Whether the group still gathers (the page polls its seats).
    pub fn gathering(&self) -> bool {
        !self.g.status.is_over()
    }

    pub fn joinable(&self) -> bool {
        self.g.status == GroupStatus::Forming && self.g.seats_left > 0
    }
}

/// The price the leader pays, in words: 团长免单 when free.
fn leader_price(c: &Ctx, k: &Campaign) -> String {
    match k.leader_price_fen {
        Some(_) if k.leader_free() => c.t.group_buy().leader_free.to_owned(),
        Some(p) => crate::pages::yuan(p),
        None => crate::pages::yuan(k.group_price_fen),
    }
}

#[derive(Template)]
#[template(path = "group_buy/group_campaign.html")]
pub struct CampaignPage {
    pub c: Ctx,
    pub k: Campaign,
    pub merchant_name: String,
    pub leader: String,
    pub groups: Vec<GroupCard>,
    pub stores: Vec<Store>,
    /// Why opening or joining was just refused (the use case's words).
    pub error: Option<String>,
    /// The delivery fields: the viewer's name and phone, or what was typed before a refusal.
    typed: CheckoutForm,
}

#[derive(Template)]
#[template(path = "group_buy/group.html")]
pub struct GroupPage {
    pub c: Ctx,
    pub gc: GroupCard,
    pub stores: Vec<Store>,
    pub error: Option<String>,
    /// The delivery fields: the viewer's name and phone, or what was typed before a refusal.
    typed: CheckoutForm,
    /// The viewer's share link to this group and its QR code, after "share".
    pub share: Option<(String, String)>,
}

impl CampaignPage {
    /// What a pasted link to the campaign says: the group price, the group's size, the shop.
    pub fn og_desc(&self) -> String {
        let gb = self.c.t.group_buy();
        format!(
            "{} {} · {} {} · {}",
            gb.group_price,
            crate::pages::yuan(self.k.group_price_fen),
            self.k.group_size,
            gb.people,
            self.merchant_name
        )
    }
}

impl GroupPage {
    /// What a pasted link to the group says: the group price and the seats still open.
    pub fn og_desc(&self) -> String {
        let gb = self.c.t.group_buy();
        format!(
            "{} {} · {} {}",
            gb.group_price,
            crate::pages::yuan(self.gc.g.group_price_fen),
            gb.seats_left,
            self.gc.g.seats_left
        )
    }
}

/// The seats, members and time left of a group: part of the group page, and what htmx
/// fetches every 20 s while the group gathers.
#[derive(Template)]
#[template(path = "group_buy/group_seats.html")]
pub struct SeatsFragment {
    pub c: Ctx,
    pub gc: GroupCard,
}

#[derive(Template)]
#[template(path = "group_buy/group_campaigns.html")]
pub struct CampaignsPage {
    pub c: Ctx,
    pub merchant_id: String,
    pub merchant_name: String,
    pub campaigns: Vec<Campaign>,
}

#[derive(Template)]
#[template(path = "group_buy/my_groups.html")]
pub struct MyGroupsPage {
    pub c: Ctx,
    pub seats: Vec<(MySeat, GroupCard)>,
}

#[derive(Template)]
#[template(path = "group_buy/console.html")]
pub struct ConsoleGroupBuys {
    pub c: Ctx,
    pub shop: Shop,
    pub campaigns: Vec<Campaign>,
    /// (SKU id, "product · SKU code · list price") of the products on sale.
    pub skus: Vec<(String, String)>,
    pub f: CampaignForm,
    /// The form field at fault and the use case's message.
    pub error: Option<(String, String)>,
    pub created: bool,
}

impl ConsoleGroupBuys {
    pub fn bad(&self, field: &str) -> bool {
        self.error.as_ref().is_some_and(|(f, _)| f == field)
    }
}

// --- shared helpers -------------------------------------------------------------------------

/// A refusal the page shows on itself: the status and the use case's words. Anything else
/// (not found, forbidden, storage) is an error page.
fn refusal(c: &Ctx, e: AppError) -> WebResult<(StatusCode, String)> {
    match e {
        AppError::Conflict { .. } => {
            Ok((StatusCode::CONFLICT, c.t.refusal(&e).unwrap_or_default()))
        }
        AppError::Invalid { .. } => Ok((
            StatusCode::UNPROCESSABLE_ENTITY,
            c.t.refusal(&e).unwrap_or_default(),
        )),
        other => Err(other.into()),
    }
}

fn with_status(status: StatusCode, html: axum::response::Html<String>) -> Response {
    (status, html).into_response()
}

/// A seat's delivery, as the checkout form reads it.
fn seat_input(f: &CheckoutForm) -> Result<SeatInput, AppError> {
    let delivery = f.delivery_method()?;
    let (pickup_store_id, address) = f.destination(delivery);
    Ok(SeatInput {
        coupon_id: None,
        points: None,
        delivery,
        pickup_store_id,
        address,
    })
}

// --- campaign and group pages -------------------------------------------------------------

async fn campaign_page(
    s: &Web,
    c: Ctx,
    cid: &str,
    error: Option<(StatusCode, String)>,
    typed: Option<CheckoutForm>,
) -> WebResult<Response> {
    let cid = &CampaignId::parse_or_404(cid)?;
    let k = s.app.group_campaign(cid).await?;
    let m = s.app.get_merchant(None, &k.merchant_id).await?;
    let stores = s.app.list_stores(None, &k.merchant_id).await?;
    let groups = s
        .app
        .joinable_groups(cid)
        .await?
        .into_iter()
        .map(|g| GroupCard::new(&c, g))
        .collect();
    let typed = typed.unwrap_or_else(|| CheckoutForm::for_viewer(&c));
    let leader = leader_price(&c, &k);
    let (status, error) = match error {
        Some((st, e)) => (st, Some(e)),
        None => (StatusCode::OK, None),
    };
    let html = render(&CampaignPage {
        c,
        k,
        merchant_name: m.name,
        leader,
        groups,
        stores,
        error,
        typed,
    })?;
    Ok(with_status(status, html))
}

/// A campaign (public): prices, seats left, the joinable groups and the form to open one.
async fn campaign(State(s): State<Web>, c: Ctx, Path(cid): Path<String>) -> WebResult<Response> {
    campaign_page(&s, c, &cid, None, None).await
}

/// Opens a group: the leader's order to pay.
async fn open(
    State(s): State<Web>,
    c: Ctx,
    Path(cid): Path<String>,
    CsrfForm(f): CsrfForm<CheckoutForm>,
) -> WebResult<Response> {
    let who = c.principal()?.clone();
    let result = match seat_input(&f) {
        Ok(input) => match CampaignId::parse_or_404(&cid) {
            Ok(cid) => s.app.open_group(&who, &cid, input).await,
            Err(e) => Err(e),
        },
        Err(e) => Err(e),
    };
    match result {
        Ok(seat) => Ok(see(format!("/orders/{}", seat.order.id))),
        Err(e) => {
            let r = refusal(&c, e)?;
            campaign_page(&s, c, &cid, Some(r), Some(f)).await
        }
    }
}

#[derive(Deserialize, Default)]
struct GroupQuery {
    /// The code of the viewer's share link just made: show it with its QR code.
    share: Option<String>,
}

async fn group_page(
    s: &Web,
    c: Ctx,
    gid: &str,
    share_code: Option<&str>,
    error: Option<(StatusCode, String)>,
    typed: Option<CheckoutForm>,
) -> WebResult<Response> {
    let g = s.app.group(&GroupId::parse_or_404(gid)?).await?;
    let stores = s.app.list_stores(None, &g.merchant_id).await?;
    let mut share = None;
    if let (Some(code), Some(v)) = (share_code, c.viewer.as_ref()) {
        let link = s
            .app
            .my_share_links(&v.principal)
            .await?
            .into_iter()
            .find(|l| l.code == code && l.kind == LinkKind::GroupBuy && l.target_id == g.id);
        if let Some(l) = link {
            let url = format!("{}{}", s.app.config.public_url, l.path);
            let qr = crate::pages::social::qr_svg(&url)
                .ok_or_else(|| AppError::Internal("a share link too long for a QR code".into()))?;
            share = Some((url, qr));
        }
    }
    let typed = typed.unwrap_or_else(|| CheckoutForm::for_viewer(&c));
    let gc = GroupCard::new(&c, g);
    let (status, error) = match error {
        Some((st, e)) => (st, Some(e)),
        None => (StatusCode::OK, None),
    };
    let html = render(&GroupPage {
        c,
        gc,
        stores,
        error,
        typed,
        share,
    })?;
    Ok(with_status(status, html))
}

/// A group (public, no sign-in needed): status, seats, members, time left, and for a
/// signed-in member the join and share forms.
async fn group(
    State(s): State<Web>,
    c: Ctx,
    Path(gid): Path<String>,
    Query(q): Query<GroupQuery>,
) -> WebResult<Response> {
    group_page(&s, c, &gid, q.share.as_deref(), None, None).await
}

/// The group's seats fragment, for htmx's periodic refresh.
async fn seats(State(s): State<Web>, c: Ctx, Path(gid): Path<String>) -> WebResult<Response> {
    let g = s.app.group(&GroupId::parse_or_404(&gid)?).await?;
    let gc = GroupCard::new(&c, g);
    Ok(render(&SeatsFragment { c, gc })?.into_response())
}

/// Joins a group: the seat's order to pay.
async fn join(
    State(s): State<Web>,
    c: Ctx,
    Path(gid): Path<String>,
    CsrfForm(f): CsrfForm<CheckoutForm>,
) -> WebResult<Response> {
    let who = c.principal()?.clone();
    let result = match seat_input(&f) {
        Ok(input) => match GroupId::parse_or_404(&gid) {
            Ok(id) => s.app.join_group(&who, &id, input).await,
            Err(e) => Err(e),
        },
        Err(e) => Err(e),
    };
    match result {
        Ok(seat) => Ok(see(format!("/orders/{}", seat.order.id))),
        Err(e) => {
            let r = refusal(&c, e)?;
            group_page(&s, c, &gid, None, Some(r), Some(f)).await
        }
    }
}

/// The share button: makes (or re-uses) the member's link to the group, then shows it with
/// its QR code on the group page.
async fn share(
    State(s): State<Web>,
    c: Ctx,
    Path(gid): Path<String>,
    CsrfForm(_): CsrfForm<Empty>,
) -> WebResult<Response> {
    let who = c.principal()?.clone();
    match s
        .app
        .create_share_link(&who, LinkKind::GroupBuy, &gid)
        .await
    {
        Ok(link) => Ok(see(format!(
            "/groups/{gid}?share={}#share",
            encode(&link.code)
        ))),
        Err(e) => {
            let r = refusal(&c, e)?;
            group_page(&s, c, &gid, None, Some(r), None).await
        }
    }
}

// --- listings -----------------------------------------------------------------------------

async fn campaigns_page(s: &Web, c: Ctx, mid: &str, product: Option<&str>) -> WebResult<Response> {
    let m = s
        .app
        .get_merchant(
            None,
            &kith_app::platform::ids::MerchantId::parse_or_404(mid)?,
        )
        .await?;
    let campaigns = s
        .app
        .group_campaigns(&MerchantId::parse_or_404(mid)?)
        .await?
        .into_iter()
        .filter(|k| k.open_for_groups && product.is_none_or(|p| k.product_id.as_str() == p))
        .collect::<Vec<_>>();
    // One campaign for the product: straight to it.
    if let (Some(_), [only]) = (product, campaigns.as_slice()) {
        return Ok(see(format!("/group-buys/{}", only.id)));
    }
    Ok(render(&CampaignsPage {
        c,
        merchant_id: m.id.to_string(),
        merchant_name: m.name,
        campaigns,
    })?
    .into_response())
}

/// A shop's running group-buys.
async fn shop_campaigns(
    State(s): State<Web>,
    c: Ctx,
    Path(mid): Path<String>,
) -> WebResult<Response> {
    campaigns_page(&s, c, &mid, None).await
}

/// A product's running group-buys (the only one directly).
async fn product_campaigns(
    State(s): State<Web>,
    c: Ctx,
    Path((mid, pid)): Path<(String, String)>,
) -> WebResult<Response> {
    campaigns_page(&s, c, &mid, Some(&pid)).await
}

/// The member's seats with their group's state and the order of each.
async fn my_groups(State(s): State<Web>, c: Ctx) -> WebResult<Response> {
    let who = c.principal()?.clone();
    let seats = s
        .app
        .my_groups(&who)
        .await?
        .into_iter()
        .map(|m| {
            let gc = GroupCard::new(&c, m.group.clone());
            (m, gc)
        })
        .collect();
    Ok(render(&MyGroupsPage { c, seats })?.into_response())
}

// --- console ------------------------------------------------------------------------------

/// The console's campaign form, every field as typed.
#[derive(Deserialize, Default, Clone)]
pub struct CampaignForm {
    #[serde(default)]
    pub sku_id: String,
    #[serde(default)]
    pub title: String,
    #[serde(default)]
    pub group_size: String,
    #[serde(default)]
    pub group_price: String,
    #[serde(default)]
    pub leader_price: String,
    #[serde(default)]
    pub duration_hours: String,
    #[serde(default)]
    pub ends_on: String,
    #[serde(default)]
    pub stock_limit: String,
    #[serde(default)]
    pub per_member_limit: String,
    pub commission: Option<String>,
    #[serde(default)]
    pub leader_rate: String,
}

impl CampaignForm {
    fn defaults() -> Self {
        CampaignForm {
            group_size: "3".into(),
            duration_hours: "24".into(),
            stock_limit: "100".into(),
            per_member_limit: "1".into(),
            ..Default::default()
        }
    }

    fn input(&self) -> Result<CampaignInput, AppError> {
        fn opt(s: &str) -> Option<&str> {
            Some(s.trim()).filter(|s| !s.is_empty())
        }
        let ends = self.ends_on.trim();
        // A day from the date picker ends at midnight China time; a full time passes as is.
        let ends_at = if ends.len() == 10 && !ends.contains('T') {
            format!("{ends}T23:59:59+08:00")
        } else {
            ends.to_owned()
        };
        Ok(CampaignInput {
            sku_id: self.sku_id.trim().to_owned(),
            title: opt(&self.title).map(str::to_owned),
            group_size: parse_int("group_size", &self.group_size)?,
            group_price_fen: parse_yuan("group_price", &self.group_price)?,
            leader_price_fen: opt(&self.leader_price)
                .map(|p| parse_yuan("leader_price", p))
                .transpose()?,
            duration_secs: Some(
                parse_int("duration_hours", &self.duration_hours)?
                    .checked_mul(3600)
                    .ok_or_else(|| AppError::invalid("duration_hours", "is too large"))?,
            ),
            starts_at: None,
            ends_at,
            stock_limit: parse_int("stock_limit", &self.stock_limit)?,
            per_member_limit: Some(parse_int("per_member_limit", &self.per_member_limit)?),
            commission: Some(self.commission.is_some()),
            // A percentage with at most two decimals is a whole number of basis points.
            leader_bp: opt(&self.leader_rate)
                .map(|r| parse_percent("leader_rate", r))
                .transpose()?,
        })
    }
}

/// The form field a use-case field is typed in.
fn form_field(field: &str) -> &str {
    match field {
        "group_price_fen" => "group_price",
        "leader_price_fen" => "leader_price",
        "duration_secs" => "duration_hours",
        "ends_at" | "starts_at" => "ends_on",
        "leader_bp" => "leader_rate",
        other => other,
    }
}

#[derive(Deserialize, Default)]
struct CreatedQuery {
    created: Option<String>,
}

async fn console_page(
    s: &Web,
    c: Ctx,
    mid: &str,
    form: Option<(CampaignForm, (String, String))>,
    created: bool,
) -> WebResult<Response> {
    let (who, shop) = shop(&c, mid)?;
    let campaigns = s
        .app
        .group_campaigns(&kith_app::platform::ids::MerchantId::parse_or_404(mid)?)
        .await?;
    let skus = crate::console::sku_choices(s, &who, mid).await?;
    let refused = form.is_some();
    let (f, error) = match form {
        Some((f, e)) => (f, Some(e)),
        None => (CampaignForm::defaults(), None),
    };
    let html = render(&ConsoleGroupBuys {
        c,
        shop,
        campaigns,
        skus,
        f,
        error,
        created,
    })?;
    Ok(if refused {
        with_status(StatusCode::UNPROCESSABLE_ENTITY, html)
    } else {
        html.into_response()
    })
}

/// The merchant's campaigns with seats taken and left, and the form to start one.
async fn console(
    State(s): State<Web>,
    c: Ctx,
    Path(mid): Path<String>,
    Query(q): Query<CreatedQuery>,
) -> WebResult<Response> {
    console_page(&s, c, &mid, None, q.created.is_some()).await
}

/// Starts a campaign; a refused value comes back on the form with 422 and its message.
async fn create_campaign(
    State(s): State<Web>,
    c: Ctx,
    Path(mid): Path<String>,
    CsrfForm(f): CsrfForm<CampaignForm>,
) -> WebResult<Response> {
    let who = c.principal()?.clone();
    let result = match f.input() {
        Ok(input) => s
            .app
            .create_group_campaign(
                &who,
                &kith_app::platform::ids::MerchantId::parse_or_404(&mid)?,
                input,
            )
            .await
            .map(|_| ()),
        Err(e) => Err(e),
    };
    match result {
        Ok(()) => Ok(see(format!("/console/{mid}/group-buys?created=1"))),
        Err(AppError::Invalid { field, reason }) => {
            let words = c.t.refusal_of(
                crate::i18n::refusals::RefusalKind::Invalid,
                Some(&field),
                &reason,
            );
            let e = (form_field(&field).to_owned(), words);
            console_page(&s, c, &mid, Some((f, e)), false).await
        }
        Err(e) => Err(WebError::App(e)),
    }
}

/// Ends a campaign: no new groups or seats.
async fn end_campaign(
    State(s): State<Web>,
    c: Ctx,
    Path((mid, cid)): Path<(String, String)>,
    CsrfForm(_): CsrfForm<Empty>,
) -> WebResult<Response> {
    let who = c.principal()?.clone();
    let k = s
        .app
        .group_campaign(&kith_app::platform::ids::CampaignId::parse_or_404(&cid)?)
        .await?;
    if k.merchant_id != mid {
        return Err(AppError::NotFound("group-buy campaign").into());
    }
    s.app
        .end_group_campaign(
            &who,
            &kith_app::platform::ids::CampaignId::parse_or_404(&cid)?,
        )
        .await?;
    Ok(see(format!("/console/{mid}/group-buys?done=ended")))
}

#[cfg(test)]
mod tests {
    use super::{CampaignForm, form_field};

    #[test]
    fn the_campaign_form_reads_yuan_hours_percent_and_days() {
        let f = CampaignForm {
            sku_id: "s".into(),
            group_price: "99.5".into(),
            leader_price: "0".into(),
            ends_on: "2026-12-31".into(),
            leader_rate: "5%".into(),
            commission: Some("on".into()),
            ..CampaignForm::defaults()
        };
        let i = f.input().unwrap();
        assert_eq!(i.group_price_fen, 9950);
        assert_eq!(i.leader_price_fen, Some(0));
        assert_eq!(i.duration_secs, Some(24 * 3600));
        assert_eq!(i.ends_at, "2026-12-31T23:59:59+08:00");
        assert_eq!(i.leader_bp, Some(500));
        assert_eq!(i.commission, Some(true));
        let none = CampaignForm {
            group_size: "three".into(),
            ..f
        };
        let e = none.input().unwrap_err();
        assert!(e.to_string().starts_with("group_size:"), "{e}");
        assert_eq!(form_field("group_price_fen"), "group_price");
        assert_eq!(form_field("stock_limit"), "stock_limit");
    }
}
