//! 接龙 batches through an order's life: opening a batch, joining it (an order at the
//! member's leader's point; units taken by conditional updates on the batch's items and on
//! the member's own count, under the batch's row lock), the `BatchOrders` hook (a paid join
//! waits for the cut-off; a lapsed or refunded one gives its units back), the
//! `batch.cutoff` job (fixed with each leader's commission planned, or failed and refunded),
//! the 接龙 list, pick lists per leader and consignments delivered.

use kith_domain::neighbourhood::{self, ItemTerms};
use kith_domain::order::{DeliveryMethod, OrderStatus};
use kith_domain::{BoundedText, Fen, Quantity};
use kith_store::Conn;
use serde::{Deserialize, Serialize};

use super::store::{self, join_of, load_batch, load_leader, lock_batch};
use crate::commerce::lifecycle::{self, Lifecycle, OrderHook};
use crate::commerce::orders::{self, Actor, NewOrder, Order};
use crate::events::jobs::{self, ClaimedJob, Job, JobError, JobRegistry};
use crate::platform::auth::{StaffNeed, merchant_status, require_staff};
use crate::platform::ids::{BatchId, LeaderId, MerchantId, OrderId, ProductId, SkuId};
use crate::platform::ids::{new_id, parse_id};
use crate::platform::times::parse_time;
use crate::{
    App, AppError, AppResult, Principal, commerce::catalog, commerce::fulfilment,
    money::commissions, platform::outbox, rfc3339,
};

/// Where a batch stands.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, utoipa::ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum BatchStatus {
    /// Taking joins until its cut-off.
    Open,
    /// Went ahead at its cut-off: its paid orders are fixed and go to fulfilment.
    Fixed,
    /// Below its minimum at the cut-off: every order cancelled or refunded.
    Failed,
}

impl BatchStatus {
    /// Whether members may still join (before its cut-off) and the merchant may cut it off.
    pub fn is_open(self) -> bool {
        self == Self::Open
    }

    pub fn as_str(self) -> &'static str {
        match self {
            Self::Open => "open",
            Self::Fixed => "fixed",
            Self::Failed => "failed",
        }
    }

    pub fn from_db(s: &str) -> Option<Self> {
        Some(match s {
            "open" => Self::Open,
            "fixed" => Self::Fixed,
            "failed" => Self::Failed,
            _ => return None,
        })
    }
}

#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct BatchItem {
    pub sku_id: SkuId,
    pub product_id: ProductId,
    pub product_name: String,
    pub sku_code: String,
    #[schema(value_type = i64)]
    pub list_price_fen: Fen,
    #[schema(value_type = i64)]
    pub price_fen: Fen,
    pub per_member_limit: i64,
    pub quantity_limit: i64,
    /// Units held by live joins.
    pub taken: i64,
    pub left: i64,
}

#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct Batch {
    pub id: BatchId,
    pub merchant_id: MerchantId,
    pub title: String,
    pub starts_at: String,
    pub cutoff_at: String,
    /// Seconds until the cut-off (0 once passed): the page's countdown.
    pub seconds_to_cutoff: i64,
    /// The expected pickup day (YYYY-MM-DD, Beijing).
    pub pickup_date: String,
    pub min_total_units: i64,
    /// Units in paid (or fixed) joins.
    pub paid_units: i64,
    /// Joins so far (the last 接龙 number).
    pub joins: i64,
    pub status: BatchStatus,
    pub open_for_joins: bool,
    pub fail_reason: Option<String>,
    pub items: Vec<BatchItem>,
    /// The leader who opened it (`null`: the merchant's own batch). Its orders are picked
    /// up at that leader's point.
    pub opened_by: Option<BatchLeader>,
    pub created_at: String,
    pub closed_at: Option<String>,
}

/// The leader who opened a batch and their point.
#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct BatchLeader {
    pub leader_id: LeaderId,
    pub display_name: String,
    pub point_name: String,
    pub address: String,
}

#[derive(Debug, Clone)]
pub struct BatchItemInput {
    pub sku_id: String,
    pub price_fen: i64,
    pub per_member_limit: i64,
    pub quantity_limit: i64,
}

#[derive(Debug, Clone)]
pub struct BatchInput {
    pub title: String,
    /// RFC 3339; default now.
    pub starts_at: Option<String>,
    pub cutoff_at: String,
    /// YYYY-MM-DD.
    pub pickup_date: String,
    pub min_total_units: Option<i64>,
    pub items: Vec<BatchItemInput>,
}

#[derive(Debug, Clone)]
pub struct JoinLine {
    pub sku_id: String,
    pub quantity: i64,
}

#[derive(Debug, Clone)]
pub struct JoinInput {
    pub items: Vec<JoinLine>,
}

/// A join: its 接龙 number and the order to pay.
#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct Joined {
    pub seq: i64,
    pub leader_id: LeaderId,
    pub order: Order,
}

/// One line of the 接龙 list.
#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct JoinListEntry {
    /// The 接龙 number, in join order.
    pub seq: i64,
    /// `null` to a viewer not allowed to see the name (only the member, their friends and
    /// the merchant's staff are).
    pub display_name: Option<String>,
    pub units: i64,
    pub paid: bool,
    pub point_name: String,
    pub joined_at: String,
}

#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct PickLine {
    pub sku_id: SkuId,
    pub product_name: String,
    pub sku_code: String,
    pub quantity: i64,
}

#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct PickBuyer {
    pub seq: i64,
    pub display_name: String,
    pub order_id: OrderId,
    pub order_status: String,
    pub lines: Vec<PickLine>,
}

/// One leader's share of a batch: what to pack for their point, and per buyer.
#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct PickList {
    pub batch_id: BatchId,
    pub leader_id: LeaderId,
    pub leader_name: String,
    pub point_name: String,
    pub address: String,
    pub lines: Vec<PickLine>,
    pub buyers: Vec<PickBuyer>,
    pub delivered_at: Option<String>,
}

impl PickList {
    /// Units to hand out at the point, all products together.
    pub fn total_units(&self) -> i64 {
        self.lines.iter().map(|x| x.quantity).sum()
    }
}

/// The end of a YYYY-MM-DD day in Beijing (UTC+8), in ms.
fn day_end_ms(s: &str) -> AppResult<i64> {
    let bad = || AppError::invalid("pickup_date", "must be a date, YYYY-MM-DD");
    let mut parts = s.split('-');
    let (Some(y), Some(m), Some(d), None) =
        (parts.next(), parts.next(), parts.next(), parts.next())
    else {
        return Err(bad());
    };
    if y.len() != 4 || m.len() != 2 || d.len() != 2 {
        return Err(bad());
    }
    let y: i32 = y.parse().map_err(|_| bad())?;
    let m: u8 = m.parse().map_err(|_| bad())?;
    let d: u8 = d.parse().map_err(|_| bad())?;
    let month = time::Month::try_from(m).map_err(|_| bad())?;
    let date = time::Date::from_calendar_date(y, month, d).map_err(|_| bad())?;
    let start = date
        .midnight()
        .assume_offset(time::UtcOffset::from_hms(8, 0, 0).map_err(|_| bad())?);
    Ok((start.unix_timestamp() + 24 * 3600) * 1000)
}

/// The `batch.cutoff` job: at its cut-off a batch is fixed or fails (payload
/// `{"batch_id": "…"}`).
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct CutoffBatch {
    pub batch_id: String,
}

impl Job for CutoffBatch {
    const KIND: &'static str = "batch.cutoff";
    const MAX_ATTEMPTS: i64 = 5;

    async fn run(self, app: &App, _attempt: &ClaimedJob) -> Result<(), JobError> {
        Ok(cutoff_batch(app, &self.batch_id).await?)
    }
}

/// Registers this context's jobs (called once when the [`App`] is built).
pub(crate) fn register_jobs(jobs: &mut JobRegistry) {
    jobs.register::<CutoffBatch>();
    jobs.register::<super::unclaimed::UnclaimedConsignment>();
}

/// A 接龙 join as a kind of order, plugged into the order lifecycle: its batch is locked
/// before the order's stock; payment is taken only while the join is held and the batch
/// open before its cut-off; a paid join waits for the cut-off; a released join gives its
/// units back while the batch is open.
#[derive(Debug, Clone, Copy, Default)]
pub(crate) struct BatchOrders;

impl OrderHook for BatchOrders {
    fn kind(&self) -> kith_domain::OrderKind {
        kith_domain::OrderKind::Batch
    }

    fn lock(&self, c: &mut dyn Conn, order_id: &str) -> AppResult<()> {
        if let Some((batch, _, _)) = join_of(c, order_id)? {
            lock_batch(c, &batch)?;
        }
        Ok(())
    }

    fn takes_payment(&self, c: &mut dyn Conn, now: i64, order_id: &str) -> AppResult<bool> {
        let Some((batch, _, state)) = join_of(c, order_id)? else {
            return Ok(true);
        };
        let (_, status) = lock_batch(c, &batch)?;
        let cutoff = store::batch_cutoff(c, &batch)?;
        Ok(state == "held" && status == BatchStatus::Open && now < cutoff)
    }

    fn on_paid(&self, c: &mut dyn Conn, now: i64, o: &orders::OrderRow) -> AppResult<bool> {
        let Some((batch, _, state)) = join_of(c, &o.id)? else {
            return Ok(false);
        };
        let (_, status) = lock_batch(c, &batch)?;
        if state != "held" || status != BatchStatus::Open {
            return Err(AppError::state(
                "the 接龙 batch is no longer taking payments",
            ));
        }
        store::mark_join_paid(c, &o.id, now)?;
        orders::await_group(c, now, o)?;
        Ok(true)
    }

    fn on_released(
        &self,
        c: &mut dyn Conn,
        _lc: &Lifecycle,
        now: i64,
        o: &orders::OrderRow,
    ) -> AppResult<()> {
        let Some((batch, _, _)) = join_of(c, &o.id)? else {
            return Ok(());
        };
        let (mid, status) = lock_batch(c, &batch)?;
        // One conditional update decides who releases the join: only the caller whose
        // update flips it gives the units back (a state read before it could be stale
        // when a cancel and the unpaid expiry race).
        if !store::release_join(c, &o.id)? {
            return Ok(());
        }
        if status == BatchStatus::Open {
            // Give the units back, to the batch and to the member's own count.
            for (sku, q) in store::order_line_quantities(c, &o.id)? {
                store::give_back_units(c, &batch, &sku, &o.buyer_id, q)?;
            }
        }
        outbox::emit(
            c,
            now,
            "batch.join_released",
            Some(&mid),
            &batch,
            &serde_json::json!({ "batch_id": batch, "order_id": o.id, "member_id": o.buyer_id }),
        )?;
        Ok(())
    }
}

/// Fixes or fails a batch at its cut-off. A no-op before it, or once it is closed (the job
/// may run late or twice).
pub async fn cutoff_batch(app: &App, batch_id: &str) -> AppResult<()> {
    let now = app.now_ms();
    let lc = app.lifecycle.clone();
    let id = parse_id(batch_id).ok_or(AppError::NotFound("batch"))?;
    app.db
        .write(move |c| {
            let (mid, status) = lock_batch(c, &id)?;
            let b = load_batch(c, &id, now)?;
            if status != BatchStatus::Open || now < parse_time("cutoff_at", &b.cutoff_at)? {
                return Ok(());
            }
            let ahead = neighbourhood::goes_ahead(b.paid_units, b.min_total_units);
            let reason = format!(
                "only {} of the {} units needed were paid by the cut-off",
                b.paid_units, b.min_total_units
            );
            if ahead {
                store::fix_batch(c, &id, now)?;
            } else {
                store::fail_batch(c, &id, &reason, now)?;
            }
            let joins = store::live_joins(c, &id)?;
            let mut fixed = Vec::new();
            for (oid, state, leader, rate) in joins {
                let o = orders::lock_order(c, &oid)?;
                if state == "held" || o.status == OrderStatus::PendingPayment {
                    if o.status == OrderStatus::PendingPayment {
                        orders::cancel(
                            c,
                            &lc,
                            now,
                            &o,
                            Actor::System,
                            orders::notes::BATCH_CUT_OFF_UNPAID,
                        )?;
                    }
                    continue;
                }
                if !ahead {
                    crate::commerce::refunds::refund_everything(
                        c,
                        &lc,
                        now,
                        &o,
                        &format!("接龙 batch failed: {reason}"),
                        Actor::System,
                    )?;
                    continue;
                }
                if o.status != OrderStatus::AwaitingGroup {
                    continue;
                }
                store::fix_join(c, &oid)?;
                if rate > 0 && o.buyer_id != leader {
                    commissions::plan_group_leader(c, now, &o.id, &o.merchant_id, &leader, rate)?;
                }
                lifecycle::start_fulfilment(c, now, &o)?;
                fixed.push(oid);
            }
            let topic = if ahead { "batch.fixed" } else { "batch.failed" };
            outbox::emit(
                c,
                now,
                topic,
                Some(&mid),
                &id,
                &serde_json::json!({
                    "batch_id": id, "paid_units": b.paid_units, "order_ids": fixed,
                    "reason": if ahead { None } else { Some(&reason) },
                }),
            )?;
            Ok(())
        })
        .await
}

/// The buyers' names a viewer may see: their own, their friends' (mutual follows) unless
/// either has blocked the other (as for posts, `social::visibility`), and all of them for
/// the merchant's staff (who pack and hand out the orders).
fn name_visible(
    c: &mut dyn Conn,
    viewer: Option<&str>,
    staff: bool,
    member: &str,
) -> AppResult<bool> {
    let Some(v) = viewer else { return Ok(false) };
    if staff || v == member {
        return Ok(true);
    }
    if crate::social::visibility::blocked_between(c, v, member)? {
        return Ok(false);
    }
    store::mutual_follow(c, v, member)
}

/// A batch's input, checked: the title, the window in ms, the minimum and each product's
/// terms (its SKU not yet looked up).
pub(super) struct ParsedBatch {
    title: String,
    starts: i64,
    cutoff: i64,
    pickup_date: String,
    min_total: i64,
    items: Vec<(String, ItemTerms)>,
}

pub(super) fn parse_batch(now: i64, input: &BatchInput) -> AppResult<ParsedBatch> {
    let title = BoundedText::parse("title", &input.title, 1, 60)?.into_string();
    let starts = match &input.starts_at {
        Some(s) => parse_time("starts_at", s)?,
        None => now,
    };
    let cutoff = parse_time("cutoff_at", &input.cutoff_at)?;
    let pickup_end = day_end_ms(&input.pickup_date)?;
    neighbourhood::check_window(now, starts, cutoff, pickup_end)?;
    let min_total = input.min_total_units.unwrap_or(0);
    if !(0..=1_000_000).contains(&min_total) {
        return Err(AppError::invalid("min_total_units", "must be 0–1000000"));
    }
    if input.items.is_empty() || input.items.len() > neighbourhood::MAX_ITEMS {
        return Err(AppError::invalid(
            "items",
            format!("must list 1–{} products", neighbourhood::MAX_ITEMS),
        ));
    }
    let mut items = Vec::new();
    for (n, i) in input.items.iter().enumerate() {
        let sku = parse_id(&i.sku_id)
            .ok_or_else(|| AppError::invalid(format!("items[{n}].sku_id"), "is not a SKU id"))?;
        if items.iter().any(|(s, _): &(String, ItemTerms)| *s == sku) {
            return Err(AppError::invalid(
                format!("items[{n}].sku_id"),
                "is listed twice",
            ));
        }
        items.push((
            sku,
            ItemTerms {
                price_fen: i.price_fen,
                per_member_limit: i.per_member_limit,
                quantity_limit: i.quantity_limit,
            },
        ));
    }
    Ok(ParsedBatch {
        title,
        starts,
        cutoff,
        pickup_date: input.pickup_date.clone(),
        min_total,
        items,
    })
}

/// Writes a checked batch, its items (each SKU the merchant's and on sale; a leader's
/// batch also within the merchant's allowance), its cut-off job and `batch.opened`.
pub(super) fn insert_batch(
    c: &mut dyn Conn,
    now: i64,
    mid: &str,
    leader_id: Option<&str>,
    p: &ParsedBatch,
) -> AppResult<Batch> {
    let id = new_id();
    store::insert_batch_row(
        c,
        &id,
        mid,
        &p.title,
        p.starts,
        p.cutoff,
        &p.pickup_date,
        p.min_total,
        now,
        leader_id,
    )?;
    for (n, (sku_id, terms)) in p.items.iter().enumerate() {
        let field = format!("items[{n}]");
        let sku = catalog::sku_for_checkout(c, mid, sku_id).map_err(|e| match e {
            AppError::NotFound(_) => {
                AppError::invalid(format!("{field}.sku_id"), "is not a SKU of this merchant")
            }
            AppError::Conflict { .. } => {
                AppError::invalid(format!("{field}.sku_id"), "its product is not on sale")
            }
            other => other,
        })?;
        neighbourhood::check_item(&field, *terms, sku.list_price_fen)?;
        if leader_id.is_some() {
            let allowance = store::allowance(c, mid, &sku.sku_id)?.ok_or_else(|| {
                AppError::invalid(
                    format!("{field}.sku_id"),
                    "is not a product the merchant lets its leaders sell",
                )
            })?;
            neighbourhood::check_leader_item(&field, *terms, allowance)?;
        }
        store::insert_batch_item(
            c,
            &id,
            &sku.sku_id,
            &sku.product_id,
            n as i64,
            terms.price_fen,
            terms.per_member_limit,
            terms.quantity_limit,
        )?;
    }
    jobs::enqueue(
        c,
        now,
        &CutoffBatch {
            batch_id: id.clone(),
        },
        p.cutoff,
    )?;
    outbox::emit(
        c,
        now,
        "batch.opened",
        Some(mid),
        &id,
        &serde_json::json!({
            "batch_id": id, "cutoff_at": rfc3339(p.cutoff), "pickup_date": p.pickup_date, "leader_id": leader_id,
        }),
    )?;
    load_batch(c, &id, now)
}

impl App {
    /// Opens a 接龙 batch (owner or manager).
    pub async fn create_batch(
        &self,
        who: &Principal,
        merchant_id: &MerchantId,
        input: BatchInput,
    ) -> AppResult<Batch> {
        let now = self.now_ms();
        // Who asks first: another merchant's staff learn nothing from the body's checks.
        {
            let (who, mid) = (who.clone(), merchant_id.to_owned());
            self.db
                .read(move |c| require_staff(c, &who, &mid, StaffNeed::AnyStaff).map(|_| ()))
                .await?;
        }
        let parsed = parse_batch(now, &input)?;
        let (who, mid) = (who.clone(), merchant_id.to_owned());
        self.db
            .write(move |c| {
                require_staff(c, &who, &mid, StaffNeed::AnyStaff)?;
                merchant_status(c, &mid)?.ensure_trading()?;
                insert_batch(c, now, &mid, None, &parsed)
            })
            .await
    }

    /// A merchant's batches, newest first (public for a trading merchant).
    pub async fn batches(&self, merchant_id: &MerchantId) -> AppResult<Vec<Batch>> {
        let now = self.now_ms();
        let mid = parse_id(merchant_id).ok_or(AppError::NotFound("merchant"))?;
        self.db
            .read(move |c| {
                merchant_status(c, &mid)?
                    .ensure_trading()
                    .map_err(|_| AppError::NotFound("merchant"))?;
                store::merchant_batches(c, &mid, now)
            })
            .await
    }

    /// Closes an open batch now (截单), before its cut-off: the merchant's staff for any batch
    /// of the shop, a leader for a batch they opened. The cut-off moves to now (joins and
    /// payments stop by the same conditions as at a cut-off), then the batch is fixed or
    /// fails exactly as the cut-off job would. 404 for anyone else; 409 once it is not open.
    pub async fn cut_off_batch_now(&self, who: &Principal, batch_id: &BatchId) -> AppResult<Batch> {
        let now = self.now_ms();
        let id = parse_id(batch_id).ok_or(AppError::NotFound("batch"))?;
        let (w, bid) = (who.clone(), id.clone());
        self.db
            .write(move |c| {
                let (mid, _) = lock_batch(c, &bid)?;
                let opener = store::batch_opener_account(c, &bid)?;
                if opener.as_deref() != Some(w.account_id.as_str()) {
                    require_staff(c, &w, &mid, StaffNeed::AnyStaff).map_err(|e| match e {
                        AppError::Forbidden(_) => AppError::NotFound("batch"),
                        other => other,
                    })?;
                }
                // A batch not started yet starts (and closes) now: the window stays a window.
                if !store::close_batch_now(c, &bid, now)? {
                    return Err(AppError::state("the batch is not open any more"));
                }
                Ok(())
            })
            .await?;
        cutoff_batch(self, &id).await?;
        self.batch(batch_id).await
    }

    /// A batch (public).
    pub async fn batch(&self, batch_id: &BatchId) -> AppResult<Batch> {
        let now = self.now_ms();
        let id = batch_id.to_owned();
        self.db.read(move |c| load_batch(c, &id, now)).await
    }

    /// Joins a batch with quantities: an order at the caller's chosen leader's point, to pay
    /// before the cut-off. Refused (409) after the cut-off, at a suspended leader's point,
    /// without a chosen leader, over an item's units left or the member's own limit.
    pub async fn join_batch(
        &self,
        who: &Principal,
        batch_id: &BatchId,
        input: JoinInput,
    ) -> AppResult<Joined> {
        if input.items.is_empty() || input.items.len() > neighbourhood::MAX_ITEMS {
            return Err(AppError::invalid(
                "items",
                format!("must list 1–{} products", neighbourhood::MAX_ITEMS),
            ));
        }
        let mut lines = Vec::new();
        for (n, l) in input.items.iter().enumerate() {
            let sku = parse_id(&l.sku_id).ok_or_else(|| {
                AppError::invalid(format!("items[{n}].sku_id"), "is not a SKU id")
            })?;
            if lines.iter().any(|(s, _): &(String, Quantity)| *s == sku) {
                return Err(AppError::invalid(
                    format!("items[{n}].sku_id"),
                    "is listed twice",
                ));
            }
            let q = Quantity::parse(l.quantity)
                .map_err(|e| e.for_field(&format!("items[{n}].quantity")))?;
            lines.push((sku, q));
        }
        let id = parse_id(batch_id).ok_or(AppError::NotFound("batch"))?;
        self.rate_limit(who, crate::platform::limits::Action::Checkout)
            .await?;
        let now = self.now_ms();
        let me = who.account_id.clone();
        self.db
            .write(move |c| {
                // The batch's row first: every join of the batch serialises on it, so the
                // counts below cannot race (and the 接龙 number is the next one).
                let bumped = store::bump_join_seq(c, &id, now)?;
                let b = load_batch(c, &id, now)?;
                if !bumped {
                    return Err(AppError::state(match b.status {
                        BatchStatus::Open if now < parse_time("starts_at", &b.starts_at)? => "the batch has not opened yet",
                        _ => "the batch is closed: its cut-off has passed",
                    }));
                }
                merchant_status(c, &b.merchant_id)?.ensure_trading()?;
                // A leader's own batch is picked up at their point; the merchant's at the
                // point the member chose.
                let leader_id = match &b.opened_by {
                    Some(o) => o.leader_id.clone(),
                    None => store::chosen_leader(c, &b.merchant_id, &me)?
                        .map(LeaderId::from_row)
                        .ok_or_else(|| AppError::state("choose your leader (团长) first"))?,
                };
                let leader = load_leader(c, &leader_id)?;
                if !leader.status.takes_orders() {
                    return Err(AppError::state(if b.opened_by.is_some() {
                        format!("this leader's pickup point is {} and takes no orders", leader.status)
                    } else {
                        format!(
                            "your leader's pickup point is {} and takes no orders; choose another leader",
                            leader.status
                        )
                    }));
                }
                let store = leader.store_id.clone().ok_or_else(|| AppError::Internal("approved leader without a point".into()))?;
                // The point holds at most its capacity of this batch's live orders (exact: the
                // batch's row is locked above).
                let at_point = store::live_joins_at_point(c, &id, &leader.id)?;
                if at_point >= leader.capacity {
                    return Err(AppError::state(format!(
                        "your leader's pickup point is full for this batch ({} orders); choose another leader",
                        leader.capacity
                    )));
                }
                let mut priced = Vec::new();
                let mut units = 0;
                for (n, (sku_id, q)) in lines.iter().enumerate() {
                    let field = format!("items[{n}]");
                    let item = b.items.iter().find(|i| &i.sku_id == sku_id).ok_or_else(|| {
                        AppError::invalid(format!("{field}.sku_id"), "is not a product of this batch")
                    })?;
                    let q64 = i64::from(q.get());
                    let took = store::take_batch_units(c, &id, sku_id, q64)?;
                    if !took {
                        return Err(AppError::conflict(
                            format!("{field}.quantity"),
                            format!("only {} left of {}", item.left, item.product_name),
                        ));
                    }
                    let mine = store::take_member_units(c, &id, sku_id, &me, q64, item.per_member_limit)?;
                    if !mine {
                        return Err(AppError::conflict(
                            format!("{field}.quantity"),
                            format!("over the limit of {} per member for {}", item.per_member_limit, item.product_name),
                        ));
                    }
                    let sku = catalog::sku_for_checkout(c, &b.merchant_id, sku_id)?;
                    priced.push((sku, item.price_fen, *q));
                    units += q64;
                }
                let seq = store::batch_join_seq(c, &id)?;
                let terms = orders::merchant_terms(c, &b.merchant_id)?;
                let cutoff = parse_time("cutoff_at", &b.cutoff_at)?;
                let location = crate::commerce::inventory::warehouse_location(c, &b.merchant_id, now)?;
                let order_id = orders::place(c, now, NewOrder {
                    merchant_id: &b.merchant_id,
                    buyer: &me,
                    delivery: DeliveryMethod::Pickup,
                    location: &location,
                    pickup_store: Some(&store),
                    tier: None,
                    address: None,
                    lines: &priced,
                    deadline: Some((now + terms.unpaid_timeout_ms).min(cutoff)),
                    earns: true,
                    kind: kith_domain::OrderKind::Batch,
                    // A 接龙 price is the batch's own: no coupon on top of it.
                    coupon: None,
                    activities: false,
                        points: None,
                        terms: None,
                })
                .map_err(|e| match e {
                    AppError::Conflict { field, .. } => AppError::Conflict { field, reason: "out of stock".into() },
                    other => other,
                })?;
                store::insert_join(c, &order_id, &id, &leader.id, &me, seq, units, now)?;
                outbox::emit(c, now, "batch.joined", Some(&b.merchant_id), &id, &serde_json::json!({
                    "batch_id": id, "order_id": order_id, "member_id": me, "leader_id": leader.id, "seq": seq, "units": units,
                }))?;
                let o = orders::lock_order(c, &order_id)?;
                Ok(Joined { seq, leader_id: leader.id, order: orders::order_view(c, &o, true)? })
            })
            .await
    }

    /// The 接龙 list: live joins in join order, names only to those allowed to see them.
    pub async fn batch_joins(
        &self,
        who: Option<&Principal>,
        batch_id: &BatchId,
    ) -> AppResult<Vec<JoinListEntry>> {
        let id = parse_id(batch_id).ok_or(AppError::NotFound("batch"))?;
        let viewer = who.cloned();
        self.db
            .read(move |c| {
                let mid = store::batch_merchant(c, &id)?.ok_or(AppError::NotFound("batch"))?;
                let staff = match &viewer {
                    Some(p) => require_staff(c, p, &mid, StaffNeed::AnyStaff).is_ok(),
                    None => false,
                };
                let rows = store::join_list(c, &id)?;
                let mut out = Vec::new();
                for r in rows {
                    let visible = name_visible(
                        c,
                        viewer.as_ref().map(|p| p.account_id.as_str()),
                        staff,
                        &r.account_id,
                    )?;
                    out.push(JoinListEntry {
                        seq: r.seq,
                        display_name: if visible { Some(r.display_name) } else { None },
                        units: r.units,
                        paid: r.state != "held",
                        point_name: r.point_name,
                        joined_at: rfc3339(r.joined_at),
                    });
                }
                Ok(out)
            })
            .await
    }

    /// Pick lists of a batch, one per leader (staff): products × quantities and per buyer,
    /// from its paid and fixed joins.
    pub async fn batch_pick_lists(
        &self,
        who: &Principal,
        batch_id: &BatchId,
    ) -> AppResult<Vec<PickList>> {
        let id = parse_id(batch_id).ok_or(AppError::NotFound("batch"))?;
        let who = who.clone();
        self.db
            .read(move |c| {
                let mid = store::batch_merchant(c, &id)?.ok_or(AppError::NotFound("batch"))?;
                require_staff(c, &who, &mid, StaffNeed::AnyStaff).map_err(|e| match e {
                    AppError::Forbidden(_) => AppError::NotFound("batch"),
                    other => other,
                })?;
                let leaders = store::batch_leaders(c, &id)?;
                let mut out = leaders
                    .iter()
                    .map(|l| pick_list(c, &id, l))
                    .collect::<AppResult<Vec<_>>>()?;
                out.sort_by(|a, b| {
                    (&a.point_name, &a.leader_id).cmp(&(&b.point_name, &b.leader_id))
                });
                Ok(out)
            })
            .await
    }

    /// A leader's own pick list for a batch (the leader themselves).
    pub async fn leader_pick_list(
        &self,
        who: &Principal,
        leader_id: &LeaderId,
        batch_id: &BatchId,
    ) -> AppResult<PickList> {
        let (lid, id) = (
            parse_id(leader_id).ok_or(AppError::NotFound("leader"))?,
            parse_id(batch_id).ok_or(AppError::NotFound("batch"))?,
        );
        let me = who.account_id.clone();
        self.db
            .read(move |c| {
                let l = load_leader(c, &lid)?;
                if l.account_id != me {
                    return Err(AppError::NotFound("leader"));
                }
                let mid = store::batch_merchant(c, &id)?.ok_or(AppError::NotFound("batch"))?;
                if mid != l.merchant_id {
                    return Err(AppError::NotFound("batch"));
                }
                pick_list(c, &id, &lid)
            })
            .await
    }

    /// The merchant marks a leader's consignment of a fixed batch delivered to their point:
    /// each of its orders is ready for pickup with a code (the buyers are told). Repeating
    /// it changes nothing.
    pub async fn deliver_consignment(
        &self,
        who: &Principal,
        batch_id: &BatchId,
        leader_id: &LeaderId,
    ) -> AppResult<PickList> {
        let now = self.now_ms();
        let (id, lid) = (
            parse_id(batch_id).ok_or(AppError::NotFound("batch"))?,
            parse_id(leader_id).ok_or(AppError::NotFound("leader"))?,
        );
        let who = who.clone();
        self.db
            .write(move |c| {
                let (mid, status) = lock_batch(c, &id)?;
                require_staff(c, &who, &mid, StaffNeed::AnyStaff).map_err(|e| match e {
                    AppError::Forbidden(_) => AppError::NotFound("batch"),
                    other => other,
                })?;
                if status != BatchStatus::Fixed {
                    return Err(AppError::state(
                        "only a batch fixed at its cut-off can be delivered",
                    ));
                }
                let l = load_leader(c, &lid)?;
                if l.merchant_id != mid {
                    return Err(AppError::NotFound("leader"));
                }
                let done = store::consignment_delivered(c, &id, &lid)?;
                if !done {
                    store::insert_delivery(c, &id, &lid, now, &who.account_id)?;
                    let orders = store::fixed_orders_at(c, &id, &lid)?;
                    for oid in &orders {
                        let o = orders::lock_order(c, oid)?;
                        if o.status == OrderStatus::Fulfilling {
                            fulfilment::ready_for_pickup(
                                c,
                                now,
                                &o,
                                Actor::Staff(&who.account_id),
                            )?;
                        }
                    }
                    outbox::emit(
                        c,
                        now,
                        "batch.delivered",
                        Some(&mid),
                        &id,
                        &serde_json::json!({
                            "batch_id": id, "leader_id": lid, "order_ids": orders,
                        }),
                    )?;
                    // Orders nobody picks up follow the merchant's rule after N days.
                    let due = super::unclaimed::deadline(c, &mid, now)?;
                    let job = super::unclaimed::UnclaimedConsignment {
                        batch_id: id.clone(),
                        leader_id: lid.clone(),
                    };
                    jobs::enqueue(c, now, &job, due)?;
                }
                pick_list(c, &id, &lid)
            })
            .await
    }
}

fn pick_list(c: &mut dyn Conn, batch: &str, leader: &str) -> AppResult<PickList> {
    let l = load_leader(c, leader)?;
    let lines = store::pick_lines(c, batch, leader)?;
    let buyers = store::pick_buyers(c, batch, leader)?;
    let delivered_at = store::delivered_at(c, batch, leader)?.map(rfc3339);
    Ok(PickList {
        batch_id: BatchId::from_row(batch.to_owned()),
        leader_id: l.id,
        leader_name: l.display_name,
        point_name: l.point_name,
        address: l.address,
        lines,
        buyers,
        delivered_at,
    })
}
