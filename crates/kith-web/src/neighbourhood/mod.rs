//! 社区团购 pages: choosing my 团长 (ranked by friends, community, then distance), a shop's
//! 接龙 batches and the 接龙 page (countdown to the cut-off, the join form, the numbered
//! list with names only to those allowed), the leader's points (links to the clerk desk
//! that redeems codes, and to the commission wallet), and the console's leaders
//! (applications, approve at a rate, refuse, suspend, resume, re-level) and batches
//! (create with inline errors, pick lists per leader — page, printable, CSV —, mark a
//! consignment delivered).
//!
//! Refusals (409/422) come back on the same page with the use case's words, keeping what
//! was typed; every action ends on its page with `?done=`.

use askama::Template;
use axum::Router;
use axum::extract::{Path, Query, State};
use axum::http::{StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use kith_app::AppError;
use kith_app::neighbourhood::{
    Batch, BatchInput, BatchItemInput, BatchStatus, BatchTerms, Helper, JoinInput, JoinLine,
    JoinListEntry, Leader, LeaderProduct, LeaderStatement, NearbyLeader, PickList,
};
use kith_app::platform::ids::{BatchId, LeaderId};
use serde::Deserialize;

use crate::console::shop;

mod leader_batches;
use crate::pages::{
    Empty, Shop, beijing, filters, parse_int, parse_percent, parse_yuan, yuan, yuan_plain,
};
use crate::{CsrfForm, Ctx, Web, WebError, WebResult, render, see};
pub use leader_batches::{AllowForm, BatchRefusal};

pub fn routes() -> Router<Web> {
    Router::new()
        .route("/shops/{mid}/leaders", get(choose_page))
        .route("/shops/{mid}/leaders/{lid}/choose", post(choose))
        .route("/shops/{mid}/batches", get(shop_batches))
        .route("/batches/{bid}", get(batch))
        .route("/batches/{bid}/join", post(join))
        .route("/me/leader", get(my_points))
        .route("/me/leader/{lid}/helpers", post(add_helper))
        .route("/me/leader/{lid}/batches/{bid}", get(leader_pick_list))
        .route("/me/leader/{lid}/helpers/{aid}/remove", post(remove_helper))
        .route("/console/{mid}/leaders", get(console_leaders))
        .route("/console/{mid}/batch-terms", post(save_batch_terms))
        .route(
            "/console/{mid}/leader-products",
            post(leader_batches::save_allowed),
        )
        .route(
            "/console/{mid}/leader-products/{sku}/remove",
            post(leader_batches::remove_allowed),
        )
        .route("/me/leader/{lid}/batches", post(leader_batches::open_batch))
        .route("/console/{mid}/leaders/{lid}/{action}", post(decide))
        .route(
            "/console/{mid}/batches",
            get(console_batches).post(create_batch),
        )
        .route("/console/{mid}/batches/{bid}", get(console_batch))
        .route("/console/{mid}/batches/{bid}/cutoff", post(console_cut_off))
        .route(
            "/me/leader/{lid}/batches/{bid}/cutoff",
            post(leader_cut_off),
        )
        .route("/console/{mid}/batches/{bid}/pick-lists.csv", get(pick_csv))
        .route(
            "/console/{mid}/batches/{bid}/statements.csv",
            get(console_statements_csv),
        )
        .route(
            "/me/leader/batches/{bid}/statements.csv",
            get(leader_statements_csv),
        )
        .route(
            "/console/{mid}/batches/{bid}/leaders/{lid}/delivered",
            post(deliver),
        )
}

fn with_status(status: StatusCode, html: axum::response::Html<String>) -> Response {
    (status, html).into_response()
}

/// A refusal the page shows on itself; anything else is an error page.
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

// --- member: choose my 团长 ------------------------------------------------------------------

#[derive(Template)]
#[template(path = "neighbourhood/choose.html")]
pub struct ChoosePage {
    pub c: Ctx,
    pub merchant_id: String,
    pub merchant_name: String,
    pub leaders: Vec<NearbyLeader>,
    pub error: Option<String>,
}

#[derive(Deserialize, Default)]
struct PositionQuery {
    latitude: Option<String>,
    longitude: Option<String>,
}

impl PositionQuery {
    fn position(&self) -> Option<(f64, f64)> {
        let lat = self.latitude.as_deref()?.trim().parse().ok()?;
        let lng = self.longitude.as_deref()?.trim().parse().ok()?;
        Some((lat, lng))
    }
}

async fn choose_view(
    s: &Web,
    c: Ctx,
    mid: &str,
    position: Option<(f64, f64)>,
    error: Option<(StatusCode, String)>,
) -> WebResult<Response> {
    let who = c.principal()?.clone();
    let m = s
        .app
        .get_merchant(
            None,
            &kith_app::platform::ids::MerchantId::parse_or_404(mid)?,
        )
        .await?;
    let leaders = s
        .app
        .nearby_leaders(
            &who,
            &kith_app::platform::ids::MerchantId::parse_or_404(mid)?,
            position,
        )
        .await?;
    let (status, error) = match error {
        Some((st, e)) => (st, Some(e)),
        None => (StatusCode::OK, None),
    };
    let html = render(&ChoosePage {
        c,
        merchant_id: m.id.to_string(),
        merchant_name: m.name,
        leaders,
        error,
    })?;
    Ok(with_status(status, html))
}

/// The shop's 团长 ranked for the viewer (`?latitude=&longitude=` for distances).
async fn choose_page(
    State(s): State<Web>,
    c: Ctx,
    Path(mid): Path<String>,
    Query(q): Query<PositionQuery>,
) -> WebResult<Response> {
    choose_view(&s, c, &mid, q.position(), None).await
}

async fn choose(
    State(s): State<Web>,
    c: Ctx,
    Path((mid, lid)): Path<(String, String)>,
    CsrfForm(_): CsrfForm<Empty>,
) -> WebResult<Response> {
    let who = c.principal()?.clone();
    match s
        .app
        .choose_leader(
            &who,
            &kith_app::platform::ids::MerchantId::parse_or_404(&mid)?,
            &lid,
        )
        .await
    {
        Ok(_) => Ok(see(format!("/shops/{mid}/leaders?done=chosen"))),
        Err(e) => {
            let r = refusal(&c, e)?;
            choose_view(&s, c, &mid, None, Some(r)).await
        }
    }
}

// --- member: batches and the 接龙 page -------------------------------------------------------

#[derive(Template)]
#[template(path = "neighbourhood/shop_batches.html")]
pub struct ShopBatchesPage {
    pub c: Ctx,
    pub merchant_id: String,
    pub merchant_name: String,
    pub batches: Vec<Batch>,
}

async fn shop_batches(
    State(s): State<Web>,
    c: Ctx,
    Path(mid): Path<String>,
) -> WebResult<Response> {
    let m = s
        .app
        .get_merchant(
            None,
            &kith_app::platform::ids::MerchantId::parse_or_404(&mid)?,
        )
        .await?;
    let batches = s
        .app
        .batches(&kith_app::platform::ids::MerchantId::parse_or_404(&mid)?)
        .await?
        .into_iter()
        .filter(|b| b.open_for_joins)
        .collect();
    Ok(render(&ShopBatchesPage {
        c,
        merchant_id: m.id.to_string(),
        merchant_name: m.name,
        batches,
    })?
    .into_response())
}

#[derive(Template)]
#[template(path = "neighbourhood/batch.html")]
pub struct BatchPage {
    pub c: Ctx,
    pub b: Batch,
    pub merchant_name: String,
    /// "还剩 5 小时 12 分" while open.
    pub left: Option<String>,
    pub joins: Vec<JoinListEntry>,
    /// The viewer's 团长's point, if chosen.
    pub my_point: Option<String>,
    /// Quantities as typed, per item (after a refusal).
    pub typed: Vec<String>,
    pub error: Option<String>,
}

impl BatchPage {
    pub fn typed_at(&self, i: &usize) -> &str {
        self.typed.get(*i).map_or("", String::as_str)
    }
}

async fn batch_view(
    s: &Web,
    c: Ctx,
    bid: &str,
    typed: Vec<String>,
    error: Option<(StatusCode, String)>,
) -> WebResult<Response> {
    let b = s
        .app
        .batch(&kith_app::platform::ids::BatchId::parse_or_404(bid)?)
        .await?;
    let m = s.app.get_merchant(None, &b.merchant_id).await?;
    let who = c.viewer.as_ref().map(|v| v.principal.clone());
    let joins = s
        .app
        .batch_joins(
            who.as_ref(),
            &kith_app::platform::ids::BatchId::parse_or_404(bid)?,
        )
        .await?;
    let my_point = match &who {
        Some(p) => s
            .app
            .my_leader(p, &b.merchant_id)
            .await?
            .map(|ch| ch.leader.point_name),
        None => None,
    };
    let left = b.open_for_joins.then(|| c.t.time_left(b.seconds_to_cutoff));
    let (status, error) = match error {
        Some((st, e)) => (st, Some(e)),
        None => (StatusCode::OK, None),
    };
    let html = render(&BatchPage {
        c,
        b,
        merchant_name: m.name,
        left,
        joins,
        my_point,
        typed,
        error,
    })?;
    Ok(with_status(status, html))
}

/// The 接龙 page (public): items with units left, the countdown, the list, the join form.
async fn batch(State(s): State<Web>, c: Ctx, Path(bid): Path<String>) -> WebResult<Response> {
    batch_view(&s, c, &bid, Vec::new(), None).await
}

/// The join form: `qty.{sku_id}` = the quantity typed for each item (empty or 0: none).
async fn join(
    State(s): State<Web>,
    c: Ctx,
    Path(bid): Path<String>,
    CsrfForm(f): CsrfForm<std::collections::HashMap<String, String>>,
) -> WebResult<Response> {
    let who = c.principal()?.clone();
    let b = s
        .app
        .batch(&kith_app::platform::ids::BatchId::parse_or_404(&bid)?)
        .await?;
    let typed: Vec<String> = b
        .items
        .iter()
        .map(|i| {
            f.get(&format!("qty.{}", i.sku_id))
                .cloned()
                .unwrap_or_default()
        })
        .collect();
    let mut items = Vec::new();
    let mut bad = None;
    for (n, (item, q)) in b.items.iter().zip(&typed).enumerate() {
        let q = q.trim();
        if q.is_empty() || q == "0" {
            continue;
        }
        match parse_int(&format!("items[{n}].quantity"), q) {
            Ok(q) => items.push(JoinLine {
                sku_id: item.sku_id.to_string(),
                quantity: q,
            }),
            Err(e) => bad = Some(e),
        }
    }
    let result = match bad {
        Some(e) => Err(e),
        None => {
            s.app
                .join_batch(
                    &who,
                    &kith_app::platform::ids::BatchId::parse_or_404(&bid)?,
                    JoinInput { items },
                )
                .await
        }
    };
    match result {
        Ok(j) => Ok(see(format!("/orders/{}", j.order.id))),
        Err(e) => {
            let r = refusal(&c, e)?;
            batch_view(&s, c, &bid, typed, Some(r)).await
        }
    }
}

// --- leader: my points -----------------------------------------------------------------------

/// One of the leader's points with its helpers.
pub struct MyPoint {
    pub l: Leader,
    pub helpers: Vec<Helper>,
    /// "周一 08:00–20:00 · …" (empty: no hours given).
    pub hours: String,
    /// The shop's batches that did not fail, newest first: each has this point's pick list.
    pub batches: Vec<Batch>,
    /// The batches this leader opened, newest first.
    pub own: Vec<Batch>,
    /// What the merchant lets its leaders sell (empty: no 开接龙 form).
    pub allowed: Vec<LeaderProduct>,
}

/// 我的拣货单: one batch's pick list for the leader's own point, printable.
#[derive(Template)]
#[template(path = "neighbourhood/leader_pick_list.html")]
pub struct LeaderPickListPage {
    pub c: Ctx,
    pub b: Batch,
    pub l: PickList,
}

impl LeaderPickListPage {
    /// A leader does not mark their own consignment delivered (the merchant does).
    pub fn deliver_action(&self) -> Option<String> {
        None
    }

    /// A leader closes early (立即截单) only an open batch they opened themselves.
    pub fn may_cut_off(&self) -> bool {
        self.b.status.is_open()
            && self
                .b
                .opened_by
                .as_ref()
                .is_some_and(|o| o.leader_id == self.l.leader_id)
    }
}

/// 我的拣货单 of one batch at one of the caller's points (another's point or batch: 404).
async fn leader_pick_list(
    State(s): State<Web>,
    c: Ctx,
    Path((lid, bid)): Path<(String, String)>,
) -> WebResult<Response> {
    let who = c.principal()?.clone();
    let l = s
        .app
        .leader_pick_list(
            &who,
            &LeaderId::parse_or_404(&lid)?,
            &BatchId::parse_or_404(&bid)?,
        )
        .await?;
    let b = s
        .app
        .batch(&kith_app::platform::ids::BatchId::parse_or_404(&bid)?)
        .await?;
    Ok(render(&LeaderPickListPage { c, b, l })?.into_response())
}

#[derive(Template)]
#[template(path = "neighbourhood/my_points.html")]
pub struct MyPointsPage {
    pub c: Ctx,
    pub points: Vec<MyPoint>,
    /// (leader id, the use case's words, the login as typed) after a refused helper.
    pub error: Option<(String, String, String)>,
    /// The 开接龙 form refused at one of the points.
    pub batch_error: Option<BatchRefusal>,
    /// The 开接龙 form's first values.
    pub blank: BatchForm,
}

impl MyPointsPage {
    /// The 开接龙 form of this point: as typed after a refusal, else blank.
    pub fn form_for(&self, id: &str) -> &BatchForm {
        match &self.batch_error {
            Some(r) if r.leader_id == id => &r.form,
            _ => &self.blank,
        }
    }

    /// The 开接龙 refusal at this point about `field` ("" for the whole form).
    pub fn batch_bad(&self, id: &str, field: &str) -> Option<&str> {
        self.batch_error
            .as_ref()
            .filter(|r| r.leader_id == id && r.field == field)
            .map(|r| r.words.as_str())
    }

    /// A product's label in the 开接龙 form: name, code, floor price, most units.
    pub fn allowed_label(&self, p: &LeaderProduct) -> String {
        format!(
            "{} · {} · {} {} · ≤ {}",
            p.product_name,
            p.sku_code,
            self.c.t.nb().floor,
            yuan(p.floor_price_fen),
            p.max_quantity
        )
    }

    pub fn error_for(&self, id: &str) -> Option<&str> {
        self.error
            .as_ref()
            .filter(|(l, _, _)| l == id)
            .map(|(_, e, _)| e.as_str())
    }

    pub fn typed_for(&self, id: &str) -> &str {
        self.error
            .as_ref()
            .filter(|(l, _, _)| l == id)
            .map_or("", |(_, _, t)| t.as_str())
    }
}

const WEEKDAYS: [&str; 7] = ["周一", "周二", "周三", "周四", "周五", "周六", "周日"];

async fn my_points_view(
    s: &Web,
    c: Ctx,
    error: Option<(StatusCode, String, String, String)>,
    batch_error: Option<BatchRefusal>,
) -> WebResult<Response> {
    let who = c.principal()?.clone();
    let mut points = Vec::new();
    for l in s.app.my_leaderships(&who).await? {
        let helpers = if l.store_id.is_some() {
            s.app.leader_helpers(&who, &l.id).await?
        } else {
            Vec::new()
        };
        let hours = l
            .opening_hours
            .iter()
            .map(|w| {
                let day = WEEKDAYS
                    .get(usize::from(w.weekday).saturating_sub(1))
                    .copied()
                    .unwrap_or("");
                format!("{day} {}–{}", w.opens, w.closes)
            })
            .collect::<Vec<_>>()
            .join(" · ");
        // Another leader's own batch has no pick list at this point.
        let batches = if l.store_id.is_some() {
            s.app
                .batches(&l.merchant_id)
                .await?
                .into_iter()
                .filter(|b| b.status != BatchStatus::Failed)
                .filter(|b| b.opened_by.as_ref().is_none_or(|o| o.leader_id == l.id))
                .collect()
        } else {
            Vec::new()
        };
        let (own, allowed) = if l.status.takes_orders() {
            (
                s.app.leader_batches(&who, &l.id).await?,
                s.app.leader_products(&who, &l.merchant_id).await?,
            )
        } else {
            (Vec::new(), Vec::new())
        };
        points.push(MyPoint {
            l,
            helpers,
            hours,
            batches,
            own,
            allowed,
        });
    }
    let (status, error) = match error {
        Some((st, lid, e, typed)) => (st, Some((lid, e, typed))),
        None => (
            batch_error.as_ref().map_or(StatusCode::OK, |r| r.status),
            None,
        ),
    };
    let html = render(&MyPointsPage {
        c,
        points,
        error,
        batch_error,
        blank: BatchForm::defaults(),
    })?;
    Ok(with_status(status, html))
}

/// 我的自提点: each point with its hours, capacity, helpers (add by phone or email,
/// remove), the redemption desk and the earnings.
async fn my_points(State(s): State<Web>, c: Ctx) -> WebResult<Response> {
    my_points_view(&s, c, None, None).await
}

#[derive(Deserialize)]
struct HelperForm {
    #[serde(default)]
    login: String,
}

async fn add_helper(
    State(s): State<Web>,
    c: Ctx,
    Path(lid): Path<String>,
    CsrfForm(f): CsrfForm<HelperForm>,
) -> WebResult<Response> {
    let who = c.principal()?.clone();
    match s
        .app
        .add_leader_helper_by_login(
            &who,
            &kith_app::platform::ids::LeaderId::parse_or_404(&lid)?,
            &f.login,
        )
        .await
    {
        Ok(_) => Ok(see("/me/leader?done=saved")),
        Err(e) => {
            let (st, words) = refusal(&c, e)?;
            my_points_view(&s, c, Some((st, lid, words, f.login)), None).await
        }
    }
}

async fn remove_helper(
    State(s): State<Web>,
    c: Ctx,
    Path((lid, aid)): Path<(String, String)>,
    CsrfForm(_): CsrfForm<Empty>,
) -> WebResult<Response> {
    let who = c.principal()?.clone();
    s.app
        .remove_leader_helper(
            &who,
            &kith_app::platform::ids::LeaderId::parse_or_404(&lid)?,
            &aid,
        )
        .await?;
    Ok(see("/me/leader?done=removed"))
}

// --- console: leaders ------------------------------------------------------------------------

#[derive(Template)]
#[template(path = "neighbourhood/console_leaders.html")]
pub struct ConsoleLeaders {
    pub c: Ctx,
    pub shop: Shop,
    pub applied: Vec<Leader>,
    pub others: Vec<Leader>,
    /// The last 30 days per leader: GMV, buyers, repeat and pickup rates.
    pub figures: Vec<kith_app::insight::LeaderFigures>,
    /// Members who could lead a point, from the graph (the KOL ranking without leaders).
    pub candidates: Vec<kith_app::insight::KolEntry>,
    /// (leader id, the use case's words, the rate as typed); `terms` for the unclaimed
    /// rule's form (the days as typed).
    pub error: Option<(String, String, String)>,
    /// The rule for orders nobody picks up.
    pub terms: BatchTerms,
    /// What leaders may sell in their own batches.
    pub allowed: Vec<LeaderProduct>,
    /// The shop's SKUs for the allowance form: (id, label).
    pub skus: Vec<(String, String)>,
    /// The allowance form as typed, and after a refusal (form field, words).
    pub allow: AllowForm,
    pub allow_error: Option<(String, String)>,
}

impl ConsoleLeaders {
    pub fn error_for(&self, id: &str) -> Option<&str> {
        self.error
            .as_ref()
            .filter(|(l, _, _)| l == id)
            .map(|(_, e, _)| e.as_str())
    }

    /// Basis points as a percentage: `2500` → `25%`.
    pub fn pct(&self, bp: &i64) -> String {
        format!("{}%", percent(*bp))
    }

    /// The unclaimed rule's days: as typed after a refusal, else the saved rule's.
    pub fn typed_days(&self) -> String {
        match &self.error {
            Some((id, _, typed)) if id == "terms" => typed.clone(),
            _ => self.terms.unclaimed_days.to_string(),
        }
    }

    /// The allowance form's refusal, if it is about `field`.
    pub fn allow_bad(&self, field: &str) -> Option<&str> {
        self.allow_error
            .as_ref()
            .filter(|(f, _)| f == field)
            .map(|(_, e)| e.as_str())
    }

    pub fn typed_rate(&self, l: &Leader) -> String {
        match &self.error {
            Some((id, _, typed)) if *id == l.id => typed.clone(),
            _ => percent(l.rate_bp),
        }
    }
}

/// Basis points as the form shows them: `800` → `8`, `850` → `8.5`.
fn percent(bp: i64) -> String {
    let s = format!("{}.{:02}", bp / 100, bp % 100);
    s.trim_end_matches('0').trim_end_matches('.').to_owned()
}

async fn leaders_view(
    s: &Web,
    c: Ctx,
    mid: &str,
    error: Option<(String, String, String)>,
    allow: Option<(AllowForm, (String, String))>,
) -> WebResult<Response> {
    let (who, shop) = shop(&c, mid)?;
    let all = s
        .app
        .merchant_leaders(
            &who,
            &kith_app::platform::ids::MerchantId::parse_or_404(mid)?,
            None,
        )
        .await?;
    let (applied, others): (Vec<_>, Vec<_>) = all
        .into_iter()
        .partition(|l| l.status == kith_domain::neighbourhood::LeaderStatus::Applied);
    let merchant = kith_app::platform::ids::MerchantId::parse_or_404(mid)?;
    let figures = s
        .app
        .insight_leaders(
            kith_app::insight::InsightAccess::from(&who),
            &merchant,
            kith_app::insight::Window::parse(None)?,
        )
        .await?;
    let candidates = s
        .app
        .insight_leader_candidates(
            kith_app::insight::InsightAccess::from(&who),
            &merchant,
            kith_app::insight::Window::parse(None)?,
            5,
        )
        .await?;
    let terms = s
        .app
        .batch_terms(
            &who,
            &kith_app::platform::ids::MerchantId::parse_or_404(mid)?,
        )
        .await?;
    let allowed = s
        .app
        .leader_products(
            &who,
            &kith_app::platform::ids::MerchantId::parse_or_404(mid)?,
        )
        .await?;
    let skus = crate::console::sku_choices(s, &who, mid).await?;
    let refused = error.is_some() || allow.is_some();
    let (allow, allow_error) = match allow {
        Some((f, e)) => (f, Some(e)),
        None => (AllowForm::default(), None),
    };
    let html = render(&ConsoleLeaders {
        terms,
        allowed,
        skus,
        allow,
        allow_error,
        c,
        shop,
        applied,
        others,
        figures,
        candidates,
        error,
    })?;
    Ok(if refused {
        with_status(StatusCode::UNPROCESSABLE_ENTITY, html)
    } else {
        html.into_response()
    })
}

async fn console_leaders(
    State(s): State<Web>,
    c: Ctx,
    Path(mid): Path<String>,
) -> WebResult<Response> {
    leaders_view(&s, c, &mid, None, None).await
}

#[derive(Deserialize, Default)]
struct RateForm {
    #[serde(default)]
    rate: String,
}

/// approve | refuse | suspend | resume | level.
async fn decide(
    State(s): State<Web>,
    c: Ctx,
    Path((mid, lid, action)): Path<(String, String, String)>,
    CsrfForm(f): CsrfForm<RateForm>,
) -> WebResult<Response> {
    let (who, shop) = shop(&c, &mid)?;
    let l = s
        .app
        .merchant_leaders(&who, &shop.id, None)
        .await?
        .into_iter()
        .find(|l| l.id == lid)
        .ok_or(AppError::NotFound("leader"))?;
    let rate = || parse_percent("rate", &f.rate);
    let (result, done) = match action.as_str() {
        "approve" => (
            match rate() {
                Ok(r) => s.app.approve_leader(&who, &l.id, r).await,
                Err(e) => Err(e),
            },
            "approved",
        ),
        "level" => (
            match rate() {
                Ok(r) => s.app.set_leader_level(&who, &l.id, r).await,
                Err(e) => Err(e),
            },
            "saved",
        ),
        "refuse" => (s.app.refuse_leader(&who, &l.id).await, "rejected"),
        "suspend" => (s.app.suspend_leader(&who, &l.id).await, "suspended"),
        "resume" => (s.app.resume_leader(&who, &l.id).await, "resumed"),
        _ => return Err(AppError::NotFound("page").into()),
    };
    match result {
        Ok(_) => Ok(see(format!("/console/{mid}/leaders?done={done}"))),
        Err(e @ (AppError::Invalid { .. } | AppError::Conflict { .. })) => {
            let words = c.t.refusal(&e).unwrap_or_default();
            leaders_view(&s, c, &mid, Some((l.id.to_string(), words, f.rate)), None).await
        }
        Err(e) => Err(WebError::App(e)),
    }
}

// --- console: batches ------------------------------------------------------------------------

/// The batch form, every field as typed (one product per batch from the form; the API takes
/// up to twenty).
#[derive(Deserialize, Default, Clone)]
pub struct BatchForm {
    #[serde(default)]
    pub title: String,
    #[serde(default)]
    pub cutoff: String,
    #[serde(default)]
    pub pickup_date: String,
    #[serde(default)]
    pub min_total: String,
    #[serde(default)]
    pub sku_id: String,
    #[serde(default)]
    pub price: String,
    #[serde(default)]
    pub per_member: String,
    #[serde(default)]
    pub quantity_limit: String,
}

impl BatchForm {
    fn defaults() -> Self {
        BatchForm {
            min_total: "0".into(),
            per_member: "5".into(),
            quantity_limit: "100".into(),
            ..Default::default()
        }
    }

    fn input(&self) -> Result<BatchInput, AppError> {
        let cutoff = self.cutoff.trim();
        // The datetime-local picker gives Beijing wall time without a zone.
        let cutoff_at = match cutoff.len() {
            16 => format!("{cutoff}:00+08:00"),
            19 if !cutoff.ends_with('Z') => format!("{cutoff}+08:00"),
            _ => cutoff.to_owned(),
        };
        Ok(BatchInput {
            title: self.title.trim().to_owned(),
            starts_at: None,
            cutoff_at,
            pickup_date: self.pickup_date.trim().to_owned(),
            min_total_units: Some(if self.min_total.trim().is_empty() {
                0
            } else {
                parse_int("min_total", &self.min_total)?
            }),
            items: vec![BatchItemInput {
                sku_id: self.sku_id.trim().to_owned(),
                price_fen: parse_yuan("price", &self.price)?,
                per_member_limit: parse_int("per_member", &self.per_member)?,
                quantity_limit: parse_int("quantity_limit", &self.quantity_limit)?,
            }],
        })
    }
}

/// The form field a use-case field is typed in.
fn form_field(field: &str) -> &str {
    match field {
        "cutoff_at" | "starts_at" => "cutoff",
        "min_total_units" => "min_total",
        "items[0].sku_id" | "items" => "sku_id",
        "items[0].price_fen" => "price",
        "items[0].per_member_limit" => "per_member",
        "items[0].quantity_limit" => "quantity_limit",
        other => other,
    }
}

#[derive(Template)]
#[template(path = "neighbourhood/console_batches.html")]
pub struct ConsoleBatches {
    pub c: Ctx,
    pub shop: Shop,
    pub batches: Vec<Batch>,
    pub skus: Vec<(String, String)>,
    pub f: BatchForm,
    pub error: Option<(String, String)>,
}

impl ConsoleBatches {
    pub fn bad(&self, field: &str) -> bool {
        self.error.as_ref().is_some_and(|(f, _)| f == field)
    }
}

async fn batches_view(
    s: &Web,
    c: Ctx,
    mid: &str,
    form: Option<(BatchForm, (String, String))>,
) -> WebResult<Response> {
    let (who, shop) = shop(&c, mid)?;
    let batches = s
        .app
        .batches(&kith_app::platform::ids::MerchantId::parse_or_404(mid)?)
        .await?;
    let skus = crate::console::sku_choices(s, &who, mid).await?;
    let refused = form.is_some();
    let (f, error) = match form {
        Some((f, e)) => (f, Some(e)),
        None => (BatchForm::defaults(), None),
    };
    let html = render(&ConsoleBatches {
        c,
        shop,
        batches,
        skus,
        f,
        error,
    })?;
    Ok(if refused {
        with_status(StatusCode::UNPROCESSABLE_ENTITY, html)
    } else {
        html.into_response()
    })
}

async fn console_batches(
    State(s): State<Web>,
    c: Ctx,
    Path(mid): Path<String>,
) -> WebResult<Response> {
    batches_view(&s, c, &mid, None).await
}

async fn create_batch(
    State(s): State<Web>,
    c: Ctx,
    Path(mid): Path<String>,
    CsrfForm(f): CsrfForm<BatchForm>,
) -> WebResult<Response> {
    let who = c.principal()?.clone();
    let result = match f.input() {
        Ok(input) => {
            s.app
                .create_batch(
                    &who,
                    &kith_app::platform::ids::MerchantId::parse_or_404(&mid)?,
                    input,
                )
                .await
        }
        Err(e) => Err(e),
    };
    match result {
        Ok(b) => Ok(see(format!("/console/{mid}/batches/{}?done=created", b.id))),
        Err(AppError::Invalid { field, reason }) => {
            // The merchant chooses from all its products (a leader only from those allowed).
            let words = if matches!(field.as_str(), "items[0].sku_id" | "items") {
                "请选择商品".to_owned()
            } else {
                leader_batches::batch_words(&field, &reason)
            };
            let e = (form_field(&field).to_owned(), words);
            batches_view(&s, c, &mid, Some((f, e))).await
        }
        Err(e) => Err(WebError::App(e)),
    }
}

#[derive(Template)]
#[template(path = "neighbourhood/console_batch.html")]
pub struct ConsoleBatch {
    pub c: Ctx,
    pub shop: Shop,
    pub b: Batch,
    pub lists: Vec<PickList>,
    /// Per leader: orders, GMV, refunds, pickup rate, commission by state.
    pub statements: Vec<LeaderStatement>,
    pub error: Option<String>,
}

impl ConsoleBatch {
    /// Where the console marks this leader's consignment delivered (a fixed batch, not
    /// yet delivered to that point).
    pub fn deliver_action(&self, l: &PickList) -> Option<String> {
        (self.b.status == BatchStatus::Fixed && l.delivered_at.is_none()).then(|| {
            format!(
                "/console/{}/batches/{}/leaders/{}/delivered",
                self.shop.id, self.b.id, l.leader_id
            )
        })
    }

    /// Basis points as a percentage: `8750` → `87.5%`.
    pub fn pct(&self, bp: &i64) -> String {
        format!("{}%", percent(*bp))
    }

    pub fn total(&self, l: &PickList) -> i64 {
        l.lines.iter().map(|x| x.quantity).sum()
    }
}

async fn batch_console_view(
    s: &Web,
    c: Ctx,
    mid: &str,
    bid: &str,
    error: Option<(StatusCode, String)>,
) -> WebResult<Response> {
    let (who, shop) = shop(&c, mid)?;
    let b = s
        .app
        .batch(&kith_app::platform::ids::BatchId::parse_or_404(bid)?)
        .await?;
    if b.merchant_id.as_str() != mid {
        return Err(AppError::NotFound("batch").into());
    }
    let lists = s
        .app
        .batch_pick_lists(&who, &kith_app::platform::ids::BatchId::parse_or_404(bid)?)
        .await?;
    let statements = s
        .app
        .batch_statements(&who, &kith_app::platform::ids::BatchId::parse_or_404(bid)?)
        .await?;
    let (status, error) = match error {
        Some((st, e)) => (st, Some(e)),
        None => (StatusCode::OK, None),
    };
    let html = render(&ConsoleBatch {
        c,
        shop,
        b,
        lists,
        statements,
        error,
    })?;
    Ok(with_status(status, html))
}

/// A batch's pick lists, one per leader (printable: the page prints without the console's
/// navigation).
async fn console_batch(
    State(s): State<Web>,
    c: Ctx,
    Path((mid, bid)): Path<(String, String)>,
) -> WebResult<Response> {
    batch_console_view(&s, c, &mid, &bid, None).await
}

/// 立即截单 from the console: the batch closes now, fixed or failed as at its cut-off.
async fn console_cut_off(
    State(s): State<Web>,
    c: Ctx,
    Path((mid, bid)): Path<(String, String)>,
    CsrfForm(_): CsrfForm<Empty>,
) -> WebResult<Response> {
    let (who, _) = shop(&c, &mid)?;
    match s
        .app
        .cut_off_batch_now(&who, &kith_app::platform::ids::BatchId::parse_or_404(&bid)?)
        .await
    {
        Ok(_) => Ok(see(format!("/console/{mid}/batches/{bid}?done=cut_off"))),
        Err(AppError::Conflict { .. }) => {
            let words = c.t.nb().cut_off_closed.to_owned();
            batch_console_view(&s, c, &mid, &bid, Some((StatusCode::CONFLICT, words))).await
        }
        Err(e) => Err(e.into()),
    }
}

/// 立即截单 by the leader who opened the batch, from its pick list.
async fn leader_cut_off(
    State(s): State<Web>,
    c: Ctx,
    Path((lid, bid)): Path<(String, String)>,
    CsrfForm(_): CsrfForm<Empty>,
) -> WebResult<Response> {
    let back = format!("/me/leader/{lid}/batches/{bid}");
    match s
        .app
        .cut_off_batch_now(
            c.principal()?,
            &kith_app::platform::ids::BatchId::parse_or_404(&bid)?,
        )
        .await
    {
        Ok(_) => Ok(see(format!("{back}?done=cut_off"))),
        Err(AppError::Conflict { .. }) => Ok(see(back)),
        Err(e) => Err(e.into()),
    }
}

async fn deliver(
    State(s): State<Web>,
    c: Ctx,
    Path((mid, bid, lid)): Path<(String, String, String)>,
    CsrfForm(_): CsrfForm<Empty>,
) -> WebResult<Response> {
    let (who, _) = shop(&c, &mid)?;
    let (bid_, lid_) = (BatchId::parse_or_404(&bid)?, LeaderId::parse_or_404(&lid)?);
    match s.app.deliver_consignment(&who, &bid_, &lid_).await {
        Ok(_) => Ok(see(format!("/console/{mid}/batches/{bid}?done=delivered"))),
        Err(e) => {
            let r = refusal(&c, e)?;
            batch_console_view(&s, c, &mid, &bid, Some(r)).await
        }
    }
}

/// `GET /console/{mid}/batches/{bid}/pick-lists.csv`: one row per buyer's line, per leader,
/// in the console's CSV conventions (BOM, Beijing time, 元, formulas defused).
async fn pick_csv(
    State(s): State<Web>,
    c: Ctx,
    Path((mid, bid)): Path<(String, String)>,
) -> WebResult<Response> {
    let (who, _) = shop(&c, &mid)?;
    let b = s
        .app
        .batch(&kith_app::platform::ids::BatchId::parse_or_404(&bid)?)
        .await?;
    if b.merchant_id.as_str() != mid {
        return Err(AppError::NotFound("batch").into());
    }
    let lists = s
        .app
        .batch_pick_lists(&who, &kith_app::platform::ids::BatchId::parse_or_404(&bid)?)
        .await?;
    let zh = c.lang == crate::i18n::Lang::Zh;
    let header_row = if zh {
        [
            "团长",
            "自提点",
            "地址",
            "接龙号",
            "买家",
            "商品",
            "规格编码",
            "数量",
            "接龙价(元)",
            "小计(元)",
            "订单号",
            "送达时间",
        ]
    } else {
        [
            "Leader",
            "Point",
            "Address",
            "No.",
            "Buyer",
            "Product",
            "SKU",
            "Quantity",
            "Batch price (¥)",
            "Line total (¥)",
            "Order",
            "Delivered",
        ]
    };
    let mut w = csv::Writer::from_writer(b"\xEF\xBB\xBF".to_vec());
    w.write_record(header_row).map_err(csv_error)?;
    for l in &lists {
        for buyer in &l.buyers {
            for line in &buyer.lines {
                let price = b
                    .items
                    .iter()
                    .find(|i| i.sku_id == line.sku_id)
                    .map_or(0, |i| i.price_fen.get());
                let row = [
                    l.leader_name.clone(),
                    l.point_name.clone(),
                    l.address.clone(),
                    buyer.seq.to_string(),
                    buyer.display_name.clone(),
                    line.product_name.clone(),
                    line.sku_code.clone(),
                    line.quantity.to_string(),
                    yuan_plain(price),
                    yuan_plain(price * line.quantity),
                    buyer.order_id.to_string(),
                    l.delivered_at.as_deref().map(beijing).unwrap_or_default(),
                ];
                w.write_record(row.iter().map(|c| crate::console::defuse(c)))
                    .map_err(csv_error)?;
            }
        }
    }
    let body = w
        .into_inner()
        .map_err(|e| AppError::Internal(format!("csv: {e}")))?;
    let file = format!("pick-lists-{}.csv", &bid[..8.min(bid.len())]);
    Ok((
        [
            (header::CONTENT_TYPE, "text/csv; charset=utf-8".to_owned()),
            (
                header::CONTENT_DISPOSITION,
                format!("attachment; filename=\"{file}\""),
            ),
            (header::CACHE_CONTROL, "no-store".to_owned()),
        ],
        body,
    )
        .into_response())
}

/// A batch's statements as CSV (BOM, 元), one row per leader.
fn statements_csv(c: &Ctx, bid: &str, rows: &[LeaderStatement]) -> WebResult<Response> {
    let header_row = if c.lang == crate::i18n::Lang::Zh {
        [
            "团长",
            "自提点",
            "订单数",
            "件数",
            "成交额(元)",
            "退款(元)",
            "提货率",
            "待结算佣金(元)",
            "冻结佣金(元)",
            "可提现佣金(元)",
            "已冲回佣金(元)",
        ]
    } else {
        [
            "Leader",
            "Point",
            "Orders",
            "Units",
            "GMV (¥)",
            "Refunded (¥)",
            "Pickup rate",
            "Pending (¥)",
            "Frozen (¥)",
            "Available (¥)",
            "Reversed (¥)",
        ]
    };
    let mut w = csv::Writer::from_writer(b"\xEF\xBB\xBF".to_vec());
    w.write_record(header_row).map_err(csv_error)?;
    for r in rows {
        let row = [
            r.leader_name.clone(),
            r.point_name.clone(),
            r.orders.to_string(),
            r.units.to_string(),
            yuan_plain(r.gmv_fen),
            yuan_plain(r.refunded_fen),
            format!("{}%", percent(r.pickup_rate_bp)),
            yuan_plain(r.commission_pending_fen),
            yuan_plain(r.commission_frozen_fen),
            yuan_plain(r.commission_available_fen),
            yuan_plain(r.commission_reversed_fen),
        ];
        w.write_record(row.iter().map(|c| crate::console::defuse(c)))
            .map_err(csv_error)?;
    }
    let body = w
        .into_inner()
        .map_err(|e| AppError::Internal(format!("csv: {e}")))?;
    let file = format!("statements-{}.csv", &bid[..8.min(bid.len())]);
    Ok((
        [
            (header::CONTENT_TYPE, "text/csv; charset=utf-8".to_owned()),
            (
                header::CONTENT_DISPOSITION,
                format!("attachment; filename=\"{file}\""),
            ),
            (header::CACHE_CONTROL, "no-store".to_owned()),
        ],
        body,
    )
        .into_response())
}

/// The merchant's statements of a batch, every leader (CSV).
async fn console_statements_csv(
    State(s): State<Web>,
    c: Ctx,
    Path((mid, bid)): Path<(String, String)>,
) -> WebResult<Response> {
    let (who, _) = shop(&c, &mid)?;
    let b = s
        .app
        .batch(&kith_app::platform::ids::BatchId::parse_or_404(&bid)?)
        .await?;
    if b.merchant_id.as_str() != mid {
        return Err(AppError::NotFound("batch").into());
    }
    let rows = s
        .app
        .batch_statements(&who, &kith_app::platform::ids::BatchId::parse_or_404(&bid)?)
        .await?;
    statements_csv(&c, &bid, &rows)
}

/// A leader's own statement of a batch (CSV).
async fn leader_statements_csv(
    State(s): State<Web>,
    c: Ctx,
    Path(bid): Path<String>,
) -> WebResult<Response> {
    let who = c.principal()?.clone();
    let rows = s
        .app
        .batch_statements(&who, &kith_app::platform::ids::BatchId::parse_or_404(&bid)?)
        .await?;
    statements_csv(&c, &bid, &rows)
}

fn csv_error(e: csv::Error) -> AppError {
    AppError::Internal(format!("csv: {e}"))
}

#[cfg(test)]
mod tests {
    use super::{BatchForm, form_field, percent};

    #[test]
    fn the_batch_form_reads_beijing_time_yuan_and_counts() {
        let f = BatchForm {
            title: "鲜桃".into(),
            cutoff: "2026-12-05T20:00".into(),
            pickup_date: "2026-12-06".into(),
            sku_id: "s".into(),
            price: "12.5".into(),
            ..BatchForm::defaults()
        };
        let i = f.input().unwrap();
        assert_eq!(i.cutoff_at, "2026-12-05T20:00:00+08:00");
        assert_eq!(i.items[0].price_fen, 1250);
        assert_eq!(i.min_total_units, Some(0));
        let bad = BatchForm {
            per_member: "五".into(),
            ..f
        };
        assert!(
            bad.input()
                .unwrap_err()
                .to_string()
                .starts_with("per_member:")
        );
        assert_eq!(form_field("items[0].price_fen"), "price");
        assert_eq!(percent(850), "8.5");
        assert_eq!(percent(800), "8");
        assert_eq!(percent(0), "0");
    }
}

#[derive(Deserialize, Default)]
struct BatchTermsForm {
    #[serde(default)]
    unclaimed_days: String,
    #[serde(default)]
    unclaimed_rule: String,
}

/// The console's 未提货规则 form on the leaders page.
async fn save_batch_terms(
    State(s): State<Web>,
    c: Ctx,
    Path(mid): Path<String>,
    CsrfForm(f): CsrfForm<BatchTermsForm>,
) -> WebResult<Response> {
    let res = match f.unclaimed_days.trim().parse::<i64>() {
        Ok(days) => {
            let terms = BatchTerms {
                unclaimed_days: days,
                unclaimed_rule: f.unclaimed_rule.clone(),
            };
            s.app
                .set_batch_terms(
                    c.principal()?,
                    &kith_app::platform::ids::MerchantId::parse_or_404(&mid)?,
                    terms,
                )
                .await
        }
        Err(_) => Err(AppError::invalid("unclaimed_days", "请填写 1–30 的整数")),
    };
    match res {
        Ok(_) => Ok(see(format!("/console/{mid}/leaders?done=saved"))),
        Err(e @ AppError::Invalid { .. }) => {
            let reason = c.t.refusal(&e).unwrap_or_default();
            leaders_view(
                &s,
                c,
                &mid,
                Some(("terms".to_owned(), reason, f.unclaimed_days)),
                None,
            )
            .await
        }
        Err(e) => Err(e.into()),
    }
}
