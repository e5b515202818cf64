//! Orders: checkout, payment, cancellation and timeout, shipping and carrier tracking,
//! store pickup (核销), completion after the after-sale window, and refunds.
//!
//! Every transition goes through `kith_domain::order::OrderStatus`, which refuses illegal
//! moves; every one runs in one transaction that also writes an `order_events` row, its
//! outbox event and, where money moves, its ledger entry. Stock is reserved at checkout by
//! one conditional update per line, released on cancel/timeout/refund before fulfilment,
//! and committed on shipment or pickup.

use kith_domain::ledger::{EntryKind, JournalEntry, accounts};
use kith_domain::order::{DeliveryMethod, OrderStatus};
use kith_domain::pricing::{self, LineState, Quantity, ShippingRule};
use kith_domain::{BoundedText, Fen, Phone};
use kith_store::{Conn, Row, args};
use rand::Rng;
use serde::{Deserialize, Serialize};

use crate::commerce::lifecycle::Lifecycle;
use crate::events::jobs::{self, ClaimedJob, Job, JobError, JobRegistry};
use crate::money::ledger::{self, Refs};
use crate::platform::auth::{StaffNeed, merchant_status, require_clerk_of, require_staff};
use crate::platform::ids::new_id;
use crate::platform::page::{Page, PageRequest};
use crate::{
    App, AppError, AppResult, Principal, commerce::catalog, commerce::inventory,
    money::commissions, platform::outbox, rfc3339,
};

/// The timers of an order's life. Each is a job whose payload is `{"order_id": "…"}`;
/// every one is a no-op when the order has moved on, because jobs may run late or twice.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Timer {
    /// `order.expire`: an order still unpaid at its deadline is cancelled.
    Expire,
    /// `order.auto_confirm`: a shipped order the buyer did not confirm is delivered.
    AutoConfirm,
    /// `order.complete`: the after-sale window closed; the merchant's money settles.
    Complete,
}

/// Declares one timer's job struct: the kind stored in `jobs.kind` and the [`Timer`] it
/// runs. The three share their payload and their handler, [`run_timer`].
macro_rules! order_timer_job {
    ($(#[$doc:meta])* $name:ident, $kind:literal, $timer:expr) => {
        $(#[$doc])*
        #[derive(Debug, Clone, Serialize, Deserialize)]
        pub struct $name {
            pub order_id: String,
        }

        impl Job for $name {
            const KIND: &'static str = $kind;
            const MAX_ATTEMPTS: i64 = 5;

            async fn run(self, app: &App, _attempt: &ClaimedJob) -> Result<(), JobError> {
                Ok(run_timer(app, $timer, self.order_id).await?)
            }
        }
    };
}

order_timer_job!(
    /// Cancels an order still unpaid at its deadline.
    ExpireUnpaid,
    "order.expire",
    Timer::Expire
);
order_timer_job!(
    /// Delivers a shipped order whose buyer did not confirm receipt in time.
    AutoConfirm,
    "order.auto_confirm",
    Timer::AutoConfirm
);
order_timer_job!(
    /// Completes an order when its after-sale window closes.
    CompleteOrder,
    "order.complete",
    Timer::Complete
);

/// Registers this module's jobs (called once when the [`App`] is built).
pub(crate) fn register_jobs(jobs: &mut JobRegistry) {
    jobs.register::<ExpireUnpaid>()
        .register::<AutoConfirm>()
        .register::<CompleteOrder>();
}

/// Most lines one order may have.
pub const MAX_LINES: usize = 50;
const DAY_MS: i64 = 24 * 3600 * 1000;

/// A shipping address, snapshotted onto the order.
#[derive(Debug, Clone, Serialize, Deserialize, utoipa::ToSchema, PartialEq, Eq)]
#[serde(deny_unknown_fields)]
pub struct Address {
    pub name: String,
    pub phone: String,
    pub province: String,
    pub city: String,
    pub district: String,
    pub detail: String,
}

impl Address {
    fn validate(self) -> AppResult<Self> {
        let t = |f: &str, v: &str, max| {
            BoundedText::parse(&format!("address.{f}"), v, 1, max).map(BoundedText::into_string)
        };
        Ok(Self {
            name: t("name", &self.name, 32)?,
            phone: Phone::parse(&self.phone)
                .map_err(|e| e.for_field("address.phone"))?
                .as_str()
                .to_owned(),
            province: t("province", &self.province, 32)?,
            city: t("city", &self.city, 32)?,
            district: t("district", &self.district, 32)?,
            detail: t("detail", &self.detail, 200)?,
        })
    }
}

#[derive(Debug, Clone)]
pub struct CheckoutInput {
    pub delivery: DeliveryMethod,
    pub pickup_store_id: Option<String>,
    pub address: Option<Address>,
    /// The lines to buy; `None` buys the whole cart at this merchant.
    pub items: Option<Vec<(String, i64)>>,
}

#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct OrderLine {
    pub line_no: i64,
    pub sku_id: String,
    pub product_name: String,
    pub sku_code: String,
    pub attrs: serde_json::Value,
    pub quantity: i64,
    pub unit_price_fen: i64,
    pub line_total_fen: i64,
    pub refunded_quantity: i64,
    pub refunded_fen: i64,
}

#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct Order {
    pub id: String,
    pub merchant_id: String,
    pub buyer_id: String,
    pub status: OrderStatus,
    pub delivery: DeliveryMethod,
    pub pickup_store_id: Option<String>,
    /// The buyer's tier at checkout, whose prices the lines carry.
    pub tier_code: Option<String>,
    pub address: Option<Address>,
    pub lines: Vec<OrderLine>,
    pub goods_fen: i64,
    pub shipping_fen: i64,
    pub total_fen: i64,
    pub paid_fen: i64,
    pub refunded_fen: i64,
    pub payment_provider: Option<String>,
    pub carrier: Option<String>,
    pub tracking_no: Option<String>,
    /// The one-time pickup code; shown to the buyer only, while it can be redeemed.
    pub pickup_code: Option<String>,
    /// What a QR code for the pickup encodes.
    pub pickup_qr: Option<String>,
    pub pay_deadline: String,
    pub auto_confirm_at: Option<String>,
    pub after_sale_ends_at: Option<String>,
    pub created_at: String,
    pub paid_at: Option<String>,
    pub shipped_at: Option<String>,
    pub delivered_at: Option<String>,
    pub completed_at: Option<String>,
    pub cancelled_at: Option<String>,
}

#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct OrderEvent {
    pub from_status: Option<String>,
    pub to_status: String,
    pub actor_kind: String,
    pub actor_id: Option<String>,
    pub note: String,
    pub at: String,
}

#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct Refund {
    pub id: String,
    pub order_id: String,
    pub amount_fen: i64,
    pub includes_shipping: bool,
    /// `[{line_no, quantity, amount_fen}]`
    pub lines: serde_json::Value,
    pub provider: String,
    pub reason: String,
    pub created_at: String,
}

/// Who moved an order, for its event log.
#[derive(Debug, Clone, Copy)]
pub enum Actor<'a> {
    Buyer(&'a str),
    Staff(&'a str),
    Clerk(&'a str),
    System,
    Gateway,
    Carrier,
}

impl Actor<'_> {
    fn kind(&self) -> &'static str {
        match self {
            Actor::Buyer(_) => "buyer",
            Actor::Staff(_) => "staff",
            Actor::Clerk(_) => "clerk",
            Actor::System => "system",
            Actor::Gateway => "gateway",
            Actor::Carrier => "carrier",
        }
    }
    fn id(&self) -> Option<&str> {
        match self {
            Actor::Buyer(id) | Actor::Staff(id) | Actor::Clerk(id) => Some(id),
            _ => None,
        }
    }
}

/// The merchant's commerce settings, read inside the transaction that uses them.
pub(crate) struct MerchantTerms {
    pub shipping: ShippingRule,
    pub unpaid_timeout_ms: i64,
    pub auto_confirm_ms: i64,
    pub after_sale_ms: i64,
}

pub(crate) fn merchant_terms(c: &mut dyn Conn, merchant_id: &str) -> AppResult<MerchantTerms> {
    let r = c
        .query_opt(
            "SELECT shipping_fee_fen, free_shipping_over_fen, unpaid_timeout_secs, auto_confirm_days, after_sale_days
             FROM merchants WHERE id = $1",
            args![merchant_id],
        )?
        .ok_or(AppError::NotFound("merchant"))?;
    Ok(MerchantTerms {
        shipping: ShippingRule {
            flat_fee: Fen::new(r.int(0)?),
            free_over: r.opt_int(1)?.map(Fen::new),
        },
        unpaid_timeout_ms: r.int(2)? * 1000,
        auto_confirm_ms: r.int(3)? * DAY_MS,
        after_sale_ms: r.int(4)? * DAY_MS,
    })
}

const ORDER_COLS: &str = "id, merchant_id, buyer_id, status, delivery, pickup_store_id, tier_code, address, goods_fen, shipping_fen, total_fen, \
     paid_fen, refunded_fen, payment_provider, carrier, tracking_no, pay_deadline, auto_confirm_at, after_sale_ends_at, created_at, \
     paid_at, shipped_at, delivered_at, completed_at, cancelled_at, location_id";

/// An order row as the rules need it.
pub(crate) struct OrderRow {
    pub id: String,
    pub merchant_id: String,
    pub buyer_id: String,
    pub status: OrderStatus,
    pub delivery: DeliveryMethod,
    pub pickup_store_id: Option<String>,
    pub total_fen: i64,
    pub paid_fen: i64,
    pub refunded_fen: i64,
    pub shipping_fen: i64,
    pub payment_provider: Option<String>,
    pub pay_deadline: i64,
    pub location_id: String,
    row: Row,
}

fn order_row(r: Row) -> AppResult<OrderRow> {
    Ok(OrderRow {
        id: r.text(0)?,
        merchant_id: r.text(1)?,
        buyer_id: r.text(2)?,
        status: OrderStatus::from_db(&r.text(3)?)
            .ok_or_else(|| AppError::Internal("unknown order status".into()))?,
        delivery: DeliveryMethod::from_db(&r.text(4)?)
            .ok_or_else(|| AppError::Internal("unknown delivery".into()))?,
        pickup_store_id: r.opt_text(5)?,
        shipping_fen: r.int(9)?,
        total_fen: r.int(10)?,
        paid_fen: r.int(11)?,
        refunded_fen: r.int(12)?,
        payment_provider: r.opt_text(13)?,
        pay_deadline: r.int(16)?,
        location_id: r.text(25)?,
        row: r,
    })
}

/// Loads an order, locking it on PostgreSQL so concurrent transitions serialise.
pub(crate) fn lock_order(c: &mut dyn Conn, order_id: &str) -> AppResult<OrderRow> {
    let sql = format!(
        "SELECT {ORDER_COLS} FROM orders WHERE id = $1{}",
        c.for_update()
    );
    let r = c
        .query_opt(&sql, args![order_id])?
        .ok_or(AppError::NotFound("order"))?;
    order_row(r)
}

fn load_lines(c: &mut dyn Conn, order_id: &str) -> AppResult<Vec<OrderLine>> {
    c.query(
        "SELECT line_no, sku_id, product_name, sku_code, attrs, quantity, unit_price_fen, line_total_fen, refunded_quantity, refunded_fen
         FROM order_lines WHERE order_id = $1 ORDER BY line_no",
        args![order_id],
    )?
    .iter()
    .map(|r| {
        Ok(OrderLine {
            line_no: r.int(0)?,
            sku_id: r.text(1)?,
            product_name: r.text(2)?,
            sku_code: r.text(3)?,
            attrs: serde_json::from_str(&r.text(4)?).unwrap_or(serde_json::Value::Null),
            quantity: r.int(5)?,
            unit_price_fen: r.int(6)?,
            line_total_fen: r.int(7)?,
            refunded_quantity: r.int(8)?,
            refunded_fen: r.int(9)?,
        })
    })
    .collect()
}

/// The full view of an order. `for_buyer` adds the pickup code.
pub(crate) fn order_view(c: &mut dyn Conn, o: &OrderRow, for_buyer: bool) -> AppResult<Order> {
    let r = &o.row;
    let (pickup_code, pickup_qr) = if for_buyer && o.status == OrderStatus::ReadyForPickup {
        let code = c
            .query_opt(
                "SELECT code FROM pickup_codes WHERE order_id = $1 AND redeemed_at IS NULL AND voided_at IS NULL",
                args![&o.id],
            )?
            .map(|r| r.text(0))
            .transpose()?;
        let qr = code
            .as_ref()
            .map(|code| format!("kith:pickup:{}:{code}", o.id));
        (code, qr)
    } else {
        (None, None)
    };
    Ok(Order {
        id: o.id.clone(),
        merchant_id: o.merchant_id.clone(),
        buyer_id: o.buyer_id.clone(),
        status: o.status,
        delivery: o.delivery,
        pickup_store_id: o.pickup_store_id.clone(),
        tier_code: r.opt_text(6)?,
        address: r.opt_text(7)?.and_then(|a| serde_json::from_str(&a).ok()),
        lines: load_lines(c, &o.id)?,
        goods_fen: r.int(8)?,
        shipping_fen: o.shipping_fen,
        total_fen: o.total_fen,
        paid_fen: o.paid_fen,
        refunded_fen: o.refunded_fen,
        payment_provider: o.payment_provider.clone(),
        carrier: r.opt_text(14)?,
        tracking_no: r.opt_text(15)?,
        pickup_code,
        pickup_qr,
        pay_deadline: rfc3339(o.pay_deadline),
        auto_confirm_at: r.opt_int(17)?.map(rfc3339),
        after_sale_ends_at: r.opt_int(18)?.map(rfc3339),
        created_at: rfc3339(r.int(19)?),
        paid_at: r.opt_int(20)?.map(rfc3339),
        shipped_at: r.opt_int(21)?.map(rfc3339),
        delivered_at: r.opt_int(22)?.map(rfc3339),
        completed_at: r.opt_int(23)?.map(rfc3339),
        cancelled_at: r.opt_int(24)?.map(rfc3339),
    })
}

/// Records a transition: the status column, its event row and its outbox event.
pub(crate) fn transition(
    c: &mut dyn Conn,
    now: i64,
    o: &OrderRow,
    to: OrderStatus,
    actor: Actor<'_>,
    note: &str,
) -> AppResult<()> {
    // The old status in the WHERE clause is a second guard: a concurrent transition that
    // slipped past the row lock (SQLite has none; its writer is serial anyway) changes nothing.
    let n = c.execute(
        "UPDATE orders SET status = $1, updated_at = $2 WHERE id = $3 AND status = $4",
        args![to.as_str(), now, &o.id, o.status.as_str()],
    )?;
    if n == 0 {
        return Err(AppError::state("the order changed meanwhile; reload it"));
    }
    c.execute(
        "INSERT INTO order_events (order_id, from_status, to_status, actor_kind, actor_id, note, at) VALUES ($1, $2, $3, $4, $5, $6, $7)",
        args![&o.id, o.status.as_str(), to.as_str(), actor.kind(), actor.id(), note, now],
    )?;
    outbox::emit(
        c,
        now,
        &format!("order.{}", to.as_str()),
        Some(&o.merchant_id),
        &o.id,
        &serde_json::json!({
            "order_id": o.id, "from": o.status.as_str(), "to": to.as_str(), "buyer_id": o.buyer_id,
        }),
    )?;
    Ok(())
}

fn lines_remaining(c: &mut dyn Conn, order_id: &str) -> AppResult<Vec<(String, i64)>> {
    c.query(
        "SELECT sku_id, quantity - refunded_quantity FROM order_lines WHERE order_id = $1 AND quantity > refunded_quantity ORDER BY line_no",
        args![order_id],
    )?
    .iter()
    .map(|r| Ok((r.text(0)?, r.int(1)?)))
    .collect()
}

/// Releases what an unfulfilled order still holds.
fn release_all(c: &mut dyn Conn, now: i64, o: &OrderRow) -> AppResult<()> {
    for (sku, qty) in lines_remaining(c, &o.id)? {
        inventory::release(c, &o.location_id, &sku, qty, &o.id, now)?;
    }
    Ok(())
}

/// Turns reserved stock into shipped/picked-up stock.
fn commit_all(c: &mut dyn Conn, now: i64, o: &OrderRow) -> AppResult<()> {
    for (sku, qty) in lines_remaining(c, &o.id)? {
        inventory::commit(c, &o.location_id, &sku, qty, &o.id, now)?;
    }
    Ok(())
}

fn schedule(c: &mut dyn Conn, now: i64, timer: Timer, order_id: &str, at: i64) -> AppResult<()> {
    let order_id = order_id.to_owned();
    match timer {
        Timer::Expire => jobs::enqueue(c, now, &ExpireUnpaid { order_id }, at)?,
        Timer::AutoConfirm => jobs::enqueue(c, now, &AutoConfirm { order_id }, at)?,
        Timer::Complete => jobs::enqueue(c, now, &CompleteOrder { order_id }, at)?,
    };
    Ok(())
}

fn buyer_tier(c: &mut dyn Conn, merchant_id: &str, buyer: &str) -> AppResult<Option<String>> {
    Ok(c
        .query_opt(
            "SELECT t.code FROM member_tiers m JOIN tiers t ON t.id = m.tier_id WHERE m.merchant_id = $1 AND m.account_id = $2",
            args![merchant_id, buyer],
        )?
        .map(|r| r.text(0))
        .transpose()?)
}

/// A paid order waits for its group-buy group to fill.
pub(crate) fn await_group(c: &mut dyn Conn, now: i64, o: &OrderRow) -> AppResult<()> {
    let next = o.status.await_group()?;
    transition(c, now, o, next, Actor::System, "")
}

/// Gives back everything an order still holds: the money through its provider (or, for an
/// order that cost nothing, only its stock) — a failed group-buy's orders.
pub(crate) fn refund_everything(
    c: &mut dyn Conn,
    lc: &Lifecycle,
    now: i64,
    o: &OrderRow,
    reason: &str,
    actor: Actor<'_>,
) -> AppResult<()> {
    if o.paid_fen > o.refunded_fen {
        return refund(c, lc, now, o, None, reason, actor).map(|_| ());
    }
    let next = o.status.refund_fully()?;
    if matches!(o.status, OrderStatus::Paid | OrderStatus::AwaitingGroup) {
        release_all(c, now, o)?;
    }
    transition(c, now, o, next, actor, reason)?;
    lc.released(c, now, o)
}

/// Checks how an order is to reach its buyer: (validated address, pickup store id).
pub(crate) fn parse_delivery(
    delivery: DeliveryMethod,
    address: Option<Address>,
    pickup_store_id: Option<String>,
) -> AppResult<(Option<Address>, Option<String>)> {
    let address = match (delivery, address) {
        (DeliveryMethod::Shipping, None) => {
            return Err(AppError::invalid("address", "is required for shipping"));
        }
        (DeliveryMethod::Shipping, Some(a)) => Some(a.validate()?),
        (DeliveryMethod::Pickup, _) => None,
    };
    let pickup_store = match (delivery, pickup_store_id) {
        (DeliveryMethod::Pickup, None) => {
            return Err(AppError::invalid(
                "pickup_store_id",
                "is required for pickup",
            ));
        }
        (DeliveryMethod::Pickup, Some(s)) => Some(
            crate::platform::ids::parse_id(&s)
                .ok_or_else(|| AppError::invalid("pickup_store_id", "is not a store id"))?,
        ),
        (DeliveryMethod::Shipping, _) => None,
    };
    Ok((address, pickup_store))
}

/// Where a new order's goods come from: the pickup store's location, or the warehouse.
pub(crate) fn fulfilling_location(
    c: &mut dyn Conn,
    now: i64,
    merchant_id: &str,
    pickup_store: Option<&str>,
) -> AppResult<String> {
    match pickup_store {
        Some(store) => inventory::store_location(c, merchant_id, store, now).map_err(|e| {
            if matches!(e, AppError::NotFound(_)) {
                AppError::invalid("pickup_store_id", "is not a store of this merchant")
            } else {
                e
            }
        }),
        None => inventory::warehouse_location(c, merchant_id, now),
    }
}

/// A new order, as [`place`] writes it.
pub(crate) struct NewOrder<'a> {
    pub merchant_id: &'a str,
    pub buyer: &'a str,
    pub delivery: DeliveryMethod,
    pub location: &'a str,
    pub pickup_store: Option<&'a str>,
    pub tier: Option<&'a str>,
    pub address: Option<&'a Address>,
    /// (SKU, unit price, quantity) per line.
    pub lines: &'a [(catalog::SkuForCheckout, Fen, Quantity)],
    /// The payment deadline; `None`: the merchant's unpaid-order timeout.
    pub deadline: Option<i64>,
    /// Whether the order may earn commission (its attribution is recorded either way).
    pub earns: bool,
}

/// Writes a new order: its row and lines, stock reserved per line, the commission snapshot,
/// its first event, outbox event and expiry job. Returns the order id.
pub(crate) fn place(c: &mut dyn Conn, now: i64, o: NewOrder<'_>) -> AppResult<String> {
    let terms = merchant_terms(c, o.merchant_id)?;
    let lines: Vec<(Fen, Quantity)> = o.lines.iter().map(|(_, u, q)| (*u, *q)).collect();
    let totals = pricing::totals(&lines, &terms.shipping, o.delivery)?;
    let id = new_id();
    let deadline = o.deadline.unwrap_or(now + terms.unpaid_timeout_ms);
    let address_json = o
        .address
        .map(|a| serde_json::to_string(a).unwrap_or_default());
    c.execute(
        "INSERT INTO orders (id, merchant_id, buyer_id, status, delivery, location_id, pickup_store_id, tier_code, address,
            goods_fen, shipping_fen, total_fen, pay_deadline, created_at, updated_at)
         VALUES ($1, $2, $3, 'pending_payment', $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $13)",
        args![&id, o.merchant_id, o.buyer, o.delivery.as_str(), o.location, o.pickup_store, o.tier,
              address_json.as_deref(), totals.goods.get(), totals.shipping.get(), totals.total.get(), deadline, now],
    )?;
    for (n, (sku, unit, qty)) in o.lines.iter().enumerate() {
        let q = i64::from(qty.get());
        c.execute(
            "INSERT INTO order_lines (id, order_id, line_no, sku_id, product_name, sku_code, attrs, quantity, unit_price_fen, line_total_fen)
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10)",
            args![new_id(), &id, n as i64 + 1, &sku.sku_id, &sku.product_name, &sku.code, &sku.attrs_json, q, unit.get(), unit.get() * q],
        )?;
        inventory::reserve(c, o.merchant_id, o.location, &sku.sku_id, q, &id, now).map_err(
            |e| match e {
                AppError::Conflict { .. } => {
                    AppError::conflict(format!("items[{n}].quantity"), "not enough stock")
                }
                other => other,
            },
        )?;
    }
    let goods: Vec<(String, i64)> = o
        .lines
        .iter()
        .map(|(sku, unit, qty)| (sku.product_id.clone(), unit.get() * i64::from(qty.get())))
        .collect();
    let shipping = o
        .address
        .zip(address_json.as_deref())
        .map(|(a, json)| (a.phone.as_str(), json));
    commissions::snapshot(
        c,
        now,
        o.merchant_id,
        o.buyer,
        &id,
        &goods,
        shipping,
        o.earns,
    )?;
    c.execute(
        "INSERT INTO order_events (order_id, from_status, to_status, actor_kind, actor_id, note, at) VALUES ($1, NULL, 'pending_payment', 'buyer', $2, '', $3)",
        args![&id, o.buyer, now],
    )?;
    outbox::emit(
        c,
        now,
        "order.created",
        Some(o.merchant_id),
        &id,
        &serde_json::json!({
            "order_id": id, "buyer_id": o.buyer, "total_fen": totals.total.get(),
        }),
    )?;
    schedule(c, now, Timer::Expire, &id, deadline)?;
    Ok(id)
}

impl App {
    /// Creates an order from the given lines (or the cart), reserving stock for every
    /// line at the fulfilling location, with prices of the buyer's tier.
    pub async fn checkout(
        &self,
        who: &Principal,
        merchant_id: &str,
        input: CheckoutInput,
    ) -> AppResult<Order> {
        let (address, pickup_store) =
            parse_delivery(input.delivery, input.address, input.pickup_store_id)?;
        // Each order holds stock from other buyers until paid or expired: a member may
        // place only so many per minute.
        self.rate_limit(who, crate::platform::limits::Action::Checkout)?;
        let items = match input.items {
            Some(items) => {
                if items.is_empty() || items.len() > MAX_LINES {
                    return Err(AppError::invalid(
                        "items",
                        format!("must have 1–{MAX_LINES} lines"),
                    ));
                }
                let mut parsed = Vec::with_capacity(items.len());
                for (i, (sku, qty)) in items.into_iter().enumerate() {
                    let sku = crate::platform::ids::parse_id(&sku).ok_or_else(|| {
                        AppError::invalid(format!("items[{i}].sku_id"), "is not a SKU id")
                    })?;
                    let qty = Quantity::parse(qty)
                        .map_err(|e| e.for_field(&format!("items[{i}].quantity")))?;
                    if parsed.iter().any(|(s, _)| *s == sku) {
                        return Err(AppError::invalid(
                            format!("items[{i}].sku_id"),
                            "appears twice; give one line per SKU",
                        ));
                    }
                    parsed.push((sku, qty));
                }
                Some(parsed)
            }
            None => None,
        };
        let now = self.now_ms();
        let (who, mid) = (who.clone(), merchant_id.to_owned());
        let delivery = input.delivery;
        self.db
            .write(move |c| {
                merchant_status(c, &mid)?.ensure_trading()?;
                let from_cart = items.is_none();
                let items = match &items {
                    Some(i) => i.clone(),
                    None => {
                        let rows = c.query(
                            "SELECT sku_id, quantity FROM cart_items WHERE account_id = $1 AND merchant_id = $2 ORDER BY added_at, sku_id",
                            args![&who.account_id, &mid],
                        )?;
                        if rows.is_empty() {
                            return Err(AppError::invalid("items", "the cart is empty"));
                        }
                        rows.iter().map(|r| Ok((r.text(0)?, Quantity::parse(r.int(1)?)?))).collect::<AppResult<Vec<_>>>()?
                    }
                };
                let location = fulfilling_location(c, now, &mid, pickup_store.as_deref())?;
                let tier = buyer_tier(c, &mid, &who.account_id)?;
                let mut priced = Vec::with_capacity(items.len());
                for (i, (sku_id, qty)) in items.iter().enumerate() {
                    let sku = catalog::sku_for_checkout(c, &mid, sku_id).map_err(|e| match e {
                        AppError::NotFound(_) => AppError::invalid(format!("items[{i}].sku_id"), "is not a SKU of this merchant"),
                        other => other,
                    })?;
                    let tiers: Vec<(&str, Fen)> = sku.tier_prices.iter().map(|(c, p)| (c.as_str(), Fen::new(*p))).collect();
                    let unit = pricing::unit_price(Fen::new(sku.list_price_fen), &tiers, tier.as_deref());
                    priced.push((sku, unit, *qty));
                }
                let id = place(c, now, NewOrder {
                    merchant_id: &mid,
                    buyer: &who.account_id,
                    delivery,
                    location: &location,
                    pickup_store: pickup_store.as_deref(),
                    tier: tier.as_deref(),
                    address: address.as_ref(),
                    lines: &priced,
                    deadline: None,
                    earns: true,
                })?;
                if from_cart {
                    for (sku, _, _) in &priced {
                        c.execute("DELETE FROM cart_items WHERE account_id = $1 AND sku_id = $2", args![&who.account_id, &sku.sku_id])?;
                    }
                }
                let o = lock_order(c, &id)?;
                order_view(c, &o, true)
            })
            .await
    }

    /// Pays a pending order from the buyer's wallet: one ledger entry moving the total from
    /// the wallet (which may not go negative) to the merchant, and the order moves to
    /// fulfilment — all in one transaction.
    pub async fn pay_with_wallet(&self, who: &Principal, order_id: &str) -> AppResult<Order> {
        let now = self.now_ms();
        let (who, oid) = (who.clone(), order_id.to_owned());
        let lc = self.lifecycle.clone();
        self.db
            .write(move |c| {
                let o = lock_order(c, &oid)?;
                if o.buyer_id != who.account_id {
                    return Err(AppError::NotFound("order"));
                }
                if o.status != OrderStatus::PendingPayment {
                    return Err(AppError::state(format!("the order is {}, not awaiting payment", o.status.as_str())));
                }
                if now >= o.pay_deadline {
                    return Err(AppError::state("the payment window has closed"));
                }
                if !lc.takes_payment(c, now, &o.id)? {
                    return Err(AppError::state("the group-buy group is no longer gathering payments"));
                }
                lc.paid(c, now, &o, "wallet", Actor::Buyer(&who.account_id))?;
                // The money moves last: the merchant's balance row is the one every payment
                // to this merchant updates, so it is held for as short a time as possible.
                if o.total_fen > 0 {
                    let wallet = accounts::member_wallet(&o.buyer_id)?;
                    let entry = JournalEntry::transfer(
                        format!("order:{}:pay", o.id),
                        EntryKind::Payment,
                        wallet.clone(),
                        accounts::merchant_pending(&o.merchant_id)?,
                        Fen::new(o.total_fen),
                    )?;
                    let payment_id = new_id();
                    c.execute(
                        "INSERT INTO payments (id, purpose, order_id, account_id, provider, amount_fen, status, created_at, succeeded_at)
                         VALUES ($1, 'order', $2, $3, 'wallet', $4, 'succeeded', $5, $5)",
                        args![&payment_id, &o.id, &o.buyer_id, o.total_fen, now],
                    )?;
                    let refs = Refs { order_id: Some(&o.id), payment_id: Some(&payment_id), refund_id: None, memo: "order paid from wallet" };
                    ledger::post(c, now, &entry, refs, &[(&wallet, "wallet")])?;
                }
                let o = lock_order(c, &oid)?;
                order_view(c, &o, true)
            })
            .await
    }

    /// The buyer cancels an order they have not paid; its stock is released.
    pub async fn cancel_order(&self, who: &Principal, order_id: &str) -> AppResult<Order> {
        let now = self.now_ms();
        let (who, oid) = (who.clone(), order_id.to_owned());
        let lc = self.lifecycle.clone();
        self.db
            .write(move |c| {
                let o = lock_order(c, &oid)?;
                if o.buyer_id != who.account_id {
                    return Err(AppError::NotFound("order"));
                }
                cancel(
                    c,
                    &lc,
                    now,
                    &o,
                    Actor::Buyer(&who.account_id),
                    "cancelled by the buyer",
                )?;
                let o = lock_order(c, &oid)?;
                order_view(c, &o, true)
            })
            .await
    }

    /// An order, to its buyer or its merchant's staff (404 to anyone else).
    pub async fn get_order(&self, who: &Principal, order_id: &str) -> AppResult<Order> {
        let (who, oid) = (who.clone(), order_id.to_owned());
        self.db
            .read(move |c| {
                let r = c
                    .query_opt(
                        &format!("SELECT {ORDER_COLS} FROM orders WHERE id = $1"),
                        args![&oid],
                    )?
                    .ok_or(AppError::NotFound("order"))?;
                let o = order_row(r)?;
                let buyer = o.buyer_id == who.account_id;
                if !buyer && require_staff(c, &who, &o.merchant_id, StaffNeed::AnyStaff).is_err() {
                    return Err(AppError::NotFound("order"));
                }
                order_view(c, &o, buyer)
            })
            .await
    }

    /// The order's transitions, oldest first (buyer or staff).
    pub async fn order_events(
        &self,
        who: &Principal,
        order_id: &str,
    ) -> AppResult<Vec<OrderEvent>> {
        self.get_order(who, order_id).await?;
        let oid = order_id.to_owned();
        self.db
            .read(move |c| {
                c.query(
                    "SELECT from_status, to_status, actor_kind, actor_id, note, at FROM order_events WHERE order_id = $1 ORDER BY id",
                    args![&oid],
                )?
                .iter()
                .map(|r| {
                    Ok(OrderEvent {
                        from_status: r.opt_text(0)?,
                        to_status: r.text(1)?,
                        actor_kind: r.text(2)?,
                        actor_id: r.opt_text(3)?,
                        note: r.text(4)?,
                        at: rfc3339(r.int(5)?),
                    })
                })
                .collect()
            })
            .await
    }

    /// The buyer's orders, newest first.
    pub async fn my_orders(&self, who: &Principal, page: PageRequest) -> AppResult<Page<Order>> {
        let who = who.clone();
        self.list_orders_where("buyer_id = $1", who.account_id.clone(), None, page, true)
            .await
    }

    /// Staff: the merchant's orders, newest first, optionally of one status.
    pub async fn merchant_orders(
        &self,
        who: &Principal,
        merchant_id: &str,
        status: Option<OrderStatus>,
        page: PageRequest,
    ) -> AppResult<Page<Order>> {
        let (w, mid) = (who.clone(), merchant_id.to_owned());
        self.db
            .read(move |c| require_staff(c, &w, &mid, StaffNeed::AnyStaff))
            .await?;
        self.list_orders_where(
            "merchant_id = $1",
            merchant_id.to_owned(),
            status,
            page,
            false,
        )
        .await
    }

    async fn list_orders_where(
        &self,
        filter: &'static str,
        value: String,
        status: Option<OrderStatus>,
        page: PageRequest,
        for_buyer: bool,
    ) -> AppResult<Page<Order>> {
        let first = page.after.is_none();
        let (before_ms, before_id) = if first {
            (0, crate::platform::page::NIL_ID.to_owned())
        } else {
            page.after_key()
        };
        let limit = page.limit;
        let rows = self
            .db
            .read(move |c| {
                let sql = format!(
                    "SELECT {ORDER_COLS} FROM orders WHERE {filter} AND ($2 = '' OR status = $2)
                     AND ($3 = 1 OR created_at < $4 OR (created_at = $4 AND id < $5))
                     ORDER BY created_at DESC, id DESC LIMIT $6"
                );
                let rows = c.query(
                    &sql,
                    args![
                        &value,
                        status.map_or("", OrderStatus::as_str),
                        first,
                        before_ms,
                        &before_id,
                        limit + 1
                    ],
                )?;
                rows.into_iter()
                    .map(|r| {
                        let created = r.int(19)?;
                        let o = order_row(r)?;
                        Ok((created, order_view(c, &o, for_buyer)?))
                    })
                    .collect::<AppResult<Vec<_>>>()
            })
            .await?;
        let p = Page::from_rows(rows, limit, |(ms, o)| (*ms, o.id.clone()));
        Ok(Page {
            items: p.items.into_iter().map(|(_, o)| o).collect(),
            next_cursor: p.next_cursor,
        })
    }

    /// Staff ship a shipping order: stock is committed, tracking recorded, and receipt is
    /// auto-confirmed after the merchant's `auto_confirm_days`.
    pub async fn ship_order(
        &self,
        who: &Principal,
        merchant_id: &str,
        order_id: &str,
        carrier: &str,
        tracking_no: &str,
    ) -> AppResult<Order> {
        let carrier = parse_carrier(carrier)?;
        let tracking = BoundedText::parse("tracking_no", tracking_no, 4, 40)?.into_string();
        if !tracking
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || c == '-')
        {
            return Err(AppError::invalid(
                "tracking_no",
                "must be letters, digits and -",
            ));
        }
        let now = self.now_ms();
        let (who, mid, oid) = (who.clone(), merchant_id.to_owned(), order_id.to_owned());
        self.db
            .write(move |c| {
                require_staff(c, &who, &mid, StaffNeed::AnyStaff)?;
                let o = staff_order(c, &mid, &oid)?;
                let next = o.status.ship(o.delivery)?;
                let terms = merchant_terms(c, &mid)?;
                commit_all(c, now, &o)?;
                let confirm_at = now + terms.auto_confirm_ms;
                c.execute(
                    "UPDATE orders SET carrier = $1, tracking_no = $2, shipped_at = $3, auto_confirm_at = $4 WHERE id = $5",
                    args![&carrier, &tracking, now, confirm_at, &oid],
                )?;
                transition(c, now, &o, next, Actor::Staff(&who.account_id), &format!("{carrier} {tracking}"))?;
                schedule(c, now, Timer::AutoConfirm, &oid, confirm_at)?;
                let o = lock_order(c, &oid)?;
                order_view(c, &o, false)
            })
            .await
    }

    /// The buyer confirms receipt of a shipped order.
    pub async fn confirm_receipt(&self, who: &Principal, order_id: &str) -> AppResult<Order> {
        let now = self.now_ms();
        let (who, oid) = (who.clone(), order_id.to_owned());
        self.db
            .write(move |c| {
                let o = lock_order(c, &oid)?;
                if o.buyer_id != who.account_id {
                    return Err(AppError::NotFound("order"));
                }
                deliver(
                    c,
                    now,
                    &o,
                    Actor::Buyer(&who.account_id),
                    "receipt confirmed by the buyer",
                )?;
                let o = lock_order(c, &oid)?;
                order_view(c, &o, true)
            })
            .await
    }

    /// Staff mark a pickup order ready: a one-time 8-digit code is issued for the store.
    pub async fn mark_ready_for_pickup(
        &self,
        who: &Principal,
        merchant_id: &str,
        order_id: &str,
    ) -> AppResult<Order> {
        let now = self.now_ms();
        let (who, mid, oid) = (who.clone(), merchant_id.to_owned(), order_id.to_owned());
        self.db
            .write(move |c| {
                require_staff(c, &who, &mid, StaffNeed::AnyStaff)?;
                let o = staff_order(c, &mid, &oid)?;
                let next = o.status.mark_ready(o.delivery)?;
                let store = o.pickup_store_id.clone().ok_or_else(|| AppError::Internal("pickup order without store".into()))?;
                // A live code is unique per store; on the rare collision draw again.
                let mut issued = false;
                for _ in 0..8 {
                    let code = format!("{:08}", rand::rng().random_range(0..100_000_000u32));
                    let taken = c
                        .query_opt(
                            "SELECT 1 FROM pickup_codes WHERE store_id = $1 AND code = $2 AND redeemed_at IS NULL AND voided_at IS NULL",
                            args![&store, &code],
                        )?
                        .is_some();
                    if !taken {
                        c.execute(
                            "INSERT INTO pickup_codes (order_id, store_id, code, created_at) VALUES ($1, $2, $3, $4)",
                            args![&oid, &store, &code, now],
                        )?;
                        issued = true;
                        break;
                    }
                }
                if !issued {
                    return Err(AppError::Internal("could not draw a free pickup code".into()));
                }
                transition(c, now, &o, next, Actor::Staff(&who.account_id), "")?;
                let o = lock_order(c, &oid)?;
                order_view(c, &o, false)
            })
            .await
    }

    /// A clerk of the order's store redeems its pickup code, once. At another store the
    /// code is unknown; a second redemption, or one after a refund, is refused.
    pub async fn redeem_pickup(
        &self,
        who: &Principal,
        store_id: &str,
        code: &str,
    ) -> AppResult<Order> {
        let code = code.trim().to_owned();
        if code.len() != 8 || !code.bytes().all(|b| b.is_ascii_digit()) {
            return Err(AppError::invalid("code", "is 8 digits"));
        }
        let now = self.now_ms();
        let (who, sid) = (who.clone(), store_id.to_owned());
        self.db
            .write(move |c| {
                require_clerk_of(c, &who, &sid)?;
                let rows = c.query(
                    "SELECT order_id, redeemed_at, voided_at FROM pickup_codes WHERE store_id = $1 AND code = $2 ORDER BY created_at DESC",
                    args![&sid, &code],
                )?;
                let live = rows.iter().find(|r| r.opt_int(1).ok().flatten().is_none() && r.opt_int(2).ok().flatten().is_none());
                let Some(live) = live else {
                    return Err(match rows.first() {
                        Some(r) if r.opt_int(2)?.is_some() => AppError::state("this code was voided: the order was refunded"),
                        Some(r) if r.opt_int(1)?.is_some() => AppError::state(format!("this code was already redeemed at {}", rfc3339(r.int(1)?))),
                        _ => AppError::NotFound("pickup code at this store"),
                    });
                };
                let oid = live.text(0)?;
                let o = lock_order(c, &oid)?;
                let next = o.status.pick_up()?;
                let n = c.execute(
                    "UPDATE pickup_codes SET redeemed_at = $1, redeemed_by = $2 WHERE order_id = $3 AND redeemed_at IS NULL AND voided_at IS NULL",
                    args![now, &who.account_id, &oid],
                )?;
                if n == 0 {
                    return Err(AppError::state("this code was already redeemed"));
                }
                commit_all(c, now, &o)?;
                let terms = merchant_terms(c, &o.merchant_id)?;
                let ends = now + terms.after_sale_ms;
                c.execute("UPDATE orders SET delivered_at = $1, after_sale_ends_at = $2 WHERE id = $3", args![now, ends, &oid])?;
                transition(c, now, &o, next, Actor::Clerk(&who.account_id), "picked up")?;
                commissions::on_delivered(c, now, &oid, &o.merchant_id)?;
                schedule(c, now, Timer::Complete, &oid, ends)?;
                let o = lock_order(c, &oid)?;
                order_view(c, &o, false)
            })
            .await
    }

    /// A clerk's pickups: orders waiting at their store, and those picked up in the last day.
    pub async fn store_pickups(&self, who: &Principal, store_id: &str) -> AppResult<Vec<Order>> {
        let now = self.now_ms();
        let (who, sid) = (who.clone(), store_id.to_owned());
        self.db
            .read(move |c| {
                require_clerk_of(c, &who, &sid)?;
                let rows = c.query(
                    &format!(
                        "SELECT {ORDER_COLS} FROM orders WHERE pickup_store_id = $1
                         AND (status = 'ready_for_pickup' OR (status = 'picked_up' AND delivered_at >= $2))
                         ORDER BY created_at DESC LIMIT 200"
                    ),
                    args![&sid, now - DAY_MS],
                )?;
                rows.into_iter().map(|r| order_view(c, &order_row(r)?, false)).collect()
            })
            .await
    }

    /// Staff refund an order fully (`lines = None`) or per line, back through the provider
    /// that took the money. Before fulfilment the refunded quantities' reservations are
    /// released; once every line is refunded the order is `refunded` and any pickup code is
    /// voided.
    pub async fn refund_order(
        &self,
        who: &Principal,
        merchant_id: &str,
        order_id: &str,
        lines: Option<Vec<(i64, i64)>>,
        reason: &str,
    ) -> AppResult<Refund> {
        let reason = BoundedText::parse("reason", reason, 1, 200)?.into_string();
        let now = self.now_ms();
        let (who, mid, oid) = (who.clone(), merchant_id.to_owned(), order_id.to_owned());
        let lc = self.lifecycle.clone();
        self.db
            .write(move |c| {
                require_staff(c, &who, &mid, StaffNeed::AnyStaff)?;
                let o = staff_order(c, &mid, &oid)?;
                refund(
                    c,
                    &lc,
                    now,
                    &o,
                    lines.clone(),
                    &reason,
                    Actor::Staff(&who.account_id),
                )
            })
            .await
    }

    /// An order's refunds, to its buyer or its merchant's staff; the order must be
    /// `merchant_id`'s (404 otherwise), so the route's merchant is checked too.
    pub async fn list_refunds(
        &self,
        who: &Principal,
        merchant_id: &str,
        order_id: &str,
    ) -> AppResult<Vec<Refund>> {
        if self.get_order(who, order_id).await?.merchant_id != merchant_id {
            return Err(AppError::NotFound("order"));
        }
        let oid = order_id.to_owned();
        self.db
            .read(move |c| {
                c.query(
                    "SELECT id, order_id, amount_fen, includes_shipping, lines, provider, reason, created_at FROM refunds WHERE order_id = $1 ORDER BY created_at, id",
                    args![&oid],
                )?
                .iter()
                .map(refund_from_row)
                .collect()
            })
            .await
    }
}

fn refund_from_row(r: &Row) -> AppResult<Refund> {
    Ok(Refund {
        id: r.text(0)?,
        order_id: r.text(1)?,
        amount_fen: r.int(2)?,
        includes_shipping: r.bool(3)?,
        lines: serde_json::from_str(&r.text(4)?).unwrap_or(serde_json::Value::Null),
        provider: r.text(5)?,
        reason: r.text(6)?,
        created_at: rfc3339(r.int(7)?),
    })
}

fn parse_carrier(s: &str) -> AppResult<String> {
    let ok = (2..=16).contains(&s.len())
        && s.bytes()
            .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'_');
    if ok {
        Ok(s.to_owned())
    } else {
        Err(AppError::invalid(
            "carrier",
            "must be a carrier code like sf, zto, sandbox",
        ))
    }
}

/// An order of `merchant_id`, locked; 404 if it belongs to another merchant.
fn staff_order(c: &mut dyn Conn, merchant_id: &str, order_id: &str) -> AppResult<OrderRow> {
    let o = lock_order(c, order_id)?;
    if o.merchant_id != merchant_id {
        return Err(AppError::NotFound("order"));
    }
    Ok(o)
}

pub(crate) fn cancel(
    c: &mut dyn Conn,
    lc: &Lifecycle,
    now: i64,
    o: &OrderRow,
    actor: Actor<'_>,
    note: &str,
) -> AppResult<()> {
    let next = o.status.cancel()?;
    lc.lock(c, &o.id)?;
    release_all(c, now, o)?;
    c.execute(
        "UPDATE orders SET cancelled_at = $1 WHERE id = $2",
        args![now, &o.id],
    )?;
    c.execute(
        "UPDATE payments SET status = 'cancelled' WHERE order_id = $1 AND status = 'pending'",
        args![&o.id],
    )?;
    transition(c, now, o, next, actor, note)?;
    lc.released(c, now, o)
}

fn deliver(
    c: &mut dyn Conn,
    now: i64,
    o: &OrderRow,
    actor: Actor<'_>,
    note: &str,
) -> AppResult<()> {
    let next = o.status.deliver()?;
    let terms = merchant_terms(c, &o.merchant_id)?;
    let ends = now + terms.after_sale_ms;
    c.execute(
        "UPDATE orders SET delivered_at = $1, after_sale_ends_at = $2 WHERE id = $3",
        args![now, ends, &o.id],
    )?;
    transition(c, now, o, next, actor, note)?;
    commissions::on_delivered(c, now, &o.id, &o.merchant_id)?;
    schedule(c, now, Timer::Complete, &o.id, ends)
}

/// Moves a refund's money back through the provider that took it.
pub(crate) fn refund(
    c: &mut dyn Conn,
    lc: &Lifecycle,
    now: i64,
    o: &OrderRow,
    lines: Option<Vec<(i64, i64)>>,
    reason: &str,
    actor: Actor<'_>,
) -> AppResult<Refund> {
    if !o.status.can_refund() || o.paid_fen == 0 {
        return Err(AppError::state(format!(
            "a {} order cannot be refunded",
            o.status.as_str()
        )));
    }
    lc.lock(c, &o.id)?;
    let stored = load_lines(c, &o.id)?;
    let states: Vec<LineState> = stored
        .iter()
        .map(|l| LineState {
            unit: Fen::new(l.unit_price_fen),
            quantity: l.quantity as u32,
            refunded_quantity: l.refunded_quantity as u32,
        })
        .collect();
    let request: Vec<(usize, u32)> = match lines {
        None => stored
            .iter()
            .enumerate()
            .filter(|(_, l)| l.quantity > l.refunded_quantity)
            .map(|(i, l)| (i, (l.quantity - l.refunded_quantity) as u32))
            .collect(),
        Some(req) => {
            let mut out = Vec::with_capacity(req.len());
            for (i, (line_no, qty)) in req.into_iter().enumerate() {
                let idx = stored
                    .iter()
                    .position(|l| l.line_no == line_no)
                    .ok_or_else(|| {
                        AppError::invalid(
                            format!("lines[{i}].line_no"),
                            "is not a line of this order",
                        )
                    })?;
                let qty = u32::try_from(qty).ok().filter(|q| *q >= 1).ok_or_else(|| {
                    AppError::invalid(format!("lines[{i}].quantity"), "must be at least 1")
                })?;
                out.push((idx, qty));
            }
            out
        }
    };
    if request.is_empty() {
        return Err(AppError::state("nothing is left to refund"));
    }
    let plan = pricing::refund_amount(
        &states,
        Fen::new(o.shipping_fen),
        Fen::new(o.refunded_fen),
        &request,
    )?;
    let provider = o
        .payment_provider
        .clone()
        .ok_or_else(|| AppError::Internal("paid order without provider".into()))?;
    let refund_id = new_id();
    let lines_json: Vec<serde_json::Value> = plan
        .per_line
        .iter()
        .map(|(idx, qty, amount)| serde_json::json!({ "line_no": stored[*idx].line_no, "quantity": qty, "amount_fen": amount.get() }))
        .collect();
    c.execute(
        "INSERT INTO refunds (id, order_id, merchant_id, amount_fen, includes_shipping, lines, provider, reason, actor_kind, actor_id, created_at)
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11)",
        args![&refund_id, &o.id, &o.merchant_id, plan.amount.get(), plan.includes_shipping, serde_json::Value::Array(lines_json).to_string(),
              &provider, reason, actor.kind(), actor.id(), now],
    )?;
    // After completion the money sits in the merchant's available balance: the refund is a
    // clawback from there, as a new entry.
    let from = if o.status == OrderStatus::Completed {
        accounts::merchant_available(&o.merchant_id)?
    } else {
        accounts::merchant_pending(&o.merchant_id)?
    };
    let to = crate::commerce::payments::refund_destination(&provider, &o.buyer_id)?;
    if plan.amount.get() > 0 {
        let entry = JournalEntry::transfer(
            format!("refund:{refund_id}"),
            EntryKind::Refund,
            from,
            to,
            plan.amount,
        )?;
        ledger::post(
            c,
            now,
            &entry,
            Refs {
                order_id: Some(&o.id),
                payment_id: None,
                refund_id: Some(&refund_id),
                memo: reason,
            },
            &[],
        )?;
    }
    let goods_before: i64 = stored.iter().map(|l| l.refunded_fen).sum();
    let goods_now: i64 = plan.per_line.iter().map(|(_, _, a)| a.get()).sum();
    commissions::on_refund(
        c,
        now,
        &o.id,
        &o.merchant_id,
        &refund_id,
        goods_before,
        goods_before + goods_now,
    )?;
    let before_fulfilment = matches!(
        o.status,
        OrderStatus::Paid
            | OrderStatus::AwaitingGroup
            | OrderStatus::Fulfilling
            | OrderStatus::ReadyForPickup
    );
    for (idx, qty, amount) in &plan.per_line {
        let line = &stored[*idx];
        c.execute(
            "UPDATE order_lines SET refunded_quantity = refunded_quantity + $1, refunded_fen = refunded_fen + $2 WHERE order_id = $3 AND line_no = $4",
            args![i64::from(*qty), amount.get(), &o.id, line.line_no],
        )?;
        if before_fulfilment {
            inventory::release(c, &o.location_id, &line.sku_id, i64::from(*qty), &o.id, now)?;
        }
    }
    c.execute(
        "UPDATE orders SET refunded_fen = refunded_fen + $1, updated_at = $2 WHERE id = $3",
        args![plan.amount.get(), now, &o.id],
    )?;
    let everything = o.refunded_fen + plan.amount.get() >= o.paid_fen;
    if everything {
        c.execute("UPDATE pickup_codes SET voided_at = $1 WHERE order_id = $2 AND redeemed_at IS NULL AND voided_at IS NULL", args![now, &o.id])?;
        let next = o.status.refund_fully()?;
        transition(c, now, o, next, actor, reason)?;
        lc.released(c, now, o)?;
    } else {
        outbox::emit(
            c,
            now,
            "order.partially_refunded",
            Some(&o.merchant_id),
            &o.id,
            &serde_json::json!({
                "order_id": o.id, "refund_id": refund_id, "amount_fen": plan.amount.get(),
            }),
        )?;
    }
    let r = c.query_one(
        "SELECT id, order_id, amount_fen, includes_shipping, lines, provider, reason, created_at FROM refunds WHERE id = $1",
        args![&refund_id],
    )?;
    refund_from_row(&r)
}

/// Runs one of an order's timers. Each is a no-op when the order has moved on: jobs may
/// run late or twice.
pub async fn run_timer(app: &App, timer: Timer, oid: String) -> AppResult<()> {
    let now = app.now_ms();
    let lc = app.lifecycle.clone();
    app.db
        .write(move |c| {
            let o = lock_order(c, &oid)?;
            match timer {
                Timer::Expire
                    if o.status == OrderStatus::PendingPayment && now >= o.pay_deadline =>
                {
                    cancel(c, &lc, now, &o, Actor::System, "unpaid at the deadline")
                }
                Timer::AutoConfirm if o.status == OrderStatus::Shipped => {
                    deliver(c, now, &o, Actor::System, "receipt auto-confirmed")
                }
                Timer::Complete
                    if matches!(o.status, OrderStatus::Delivered | OrderStatus::PickedUp) =>
                {
                    let ends = o.row.opt_int(18)?.unwrap_or(0);
                    if now < ends {
                        // Moved by a later delivery; its own job will come.
                        return Ok(());
                    }
                    complete(c, now, &o)
                }
                _ => Ok(()),
            }
        })
        .await
}

/// The after-sale window closed: the merchant's money for this order becomes available.
fn complete(c: &mut dyn Conn, now: i64, o: &OrderRow) -> AppResult<()> {
    let next = o.status.complete()?;
    // Commission still standing on the order was booked out of the merchant's pending
    // money at payment; the merchant settles what is left.
    let commission = commissions::on_completed(c, now, &o.id, &o.merchant_id)?;
    let net = o.paid_fen - o.refunded_fen - commission;
    if net > 0 {
        let entry = JournalEntry::transfer(
            format!("order:{}:settle", o.id),
            EntryKind::Settlement,
            accounts::merchant_pending(&o.merchant_id)?,
            accounts::merchant_available(&o.merchant_id)?,
            Fen::new(net),
        )?;
        ledger::post(
            c,
            now,
            &entry,
            Refs {
                order_id: Some(&o.id),
                memo: "after-sale window closed",
                ..Default::default()
            },
            &[],
        )?;
    }
    c.execute(
        "UPDATE orders SET completed_at = $1 WHERE id = $2",
        args![now, &o.id],
    )?;
    transition(c, now, o, next, Actor::System, "after-sale window closed")
}

/// A carrier's tracking update (already authenticated by the caller). Idempotent on the
/// carrier's event id; `delivered` moves a shipped order to delivered.
pub(crate) fn apply_tracking(
    c: &mut dyn Conn,
    now: i64,
    carrier: &str,
    event_id: &str,
    tracking_no: &str,
    status: &str,
    occurred_ms: i64,
) -> AppResult<TrackingOutcome> {
    let r = c
        .query_opt(
            &format!("SELECT {ORDER_COLS} FROM orders WHERE carrier = $1 AND tracking_no = $2 ORDER BY created_at DESC LIMIT 1"),
            args![carrier, tracking_no],
        )?
        .ok_or(AppError::NotFound("shipment"))?;
    let o = order_row(r)?;
    let inserted = c.execute(
        "INSERT INTO tracking_events (carrier, event_id, order_id, status, occurred_at, received_at) VALUES ($1, $2, $3, $4, $5, $6)
         ON CONFLICT (carrier, event_id) DO NOTHING",
        args![carrier, event_id, &o.id, status, occurred_ms, now],
    )?;
    if inserted == 0 {
        return Ok(TrackingOutcome::Duplicate);
    }
    let o = lock_order(c, &o.id)?;
    if status == "delivered" && o.status == OrderStatus::Shipped {
        deliver(c, now, &o, Actor::Carrier, &format!("{carrier}: delivered"))?;
        return Ok(TrackingOutcome::Delivered);
    }
    Ok(TrackingOutcome::Recorded)
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, utoipa::ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum TrackingOutcome {
    Recorded,
    Delivered,
    Duplicate,
}

/// A carrier's tracking callback (the sandbox carrier's format; real carriers' adapters map
/// theirs into it).
#[derive(Debug, Clone, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct TrackingCallback {
    pub event_id: String,
    pub tracking_no: String,
    /// `in_transit`, `out_for_delivery`, `delivered` or `exception`.
    pub status: String,
    /// When it happened, Unix milliseconds.
    pub occurred_at: i64,
}

/// One line of a cart, priced for the member now (prices are fixed only at checkout).
#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct CartItem {
    pub sku_id: String,
    pub quantity: i64,
    pub product_name: String,
    pub sku_code: String,
    pub unit_price_fen: i64,
    /// False when the product was archived since it was added.
    pub available: bool,
}

/// Most distinct SKUs in one cart.
pub const MAX_CART_ITEMS: i64 = 100;

impl App {
    /// A carrier reports tracking. Authenticated with that carrier's secret, idempotent
    /// on its event id.
    pub async fn carrier_callback(
        &self,
        carrier: &str,
        signature_header: &str,
        body: &[u8],
    ) -> AppResult<TrackingOutcome> {
        let carrier = parse_carrier(carrier).map_err(|_| AppError::NotFound("carrier"))?;
        let secret = if carrier == "sandbox" {
            self.config
                .sandbox_enabled
                .then(|| self.config.sandbox_secret.clone())
        } else {
            self.config
                .carrier_secrets
                .iter()
                .find(|(c, _)| *c == carrier)
                .map(|(_, s)| s.clone())
        };
        let secret = secret.ok_or(AppError::NotFound("carrier"))?;
        let now = self.now_ms();
        if let Err(e) = kith_domain::signature::verify(
            signature_header,
            secret.as_bytes(),
            body,
            now / 1000,
            self.config.callback_tolerance_secs,
        ) {
            tracing::warn!(carrier, error = %e, "refused carrier callback");
            return Err(AppError::Unauthenticated(format!("callback refused: {e}")));
        }
        let cb: TrackingCallback =
            serde_json::from_slice(body).map_err(|e| AppError::invalid("body", e.to_string()))?;
        if cb.event_id.is_empty() || cb.event_id.len() > 128 {
            return Err(AppError::invalid("event_id", "must be 1–128 characters"));
        }
        if !["in_transit", "out_for_delivery", "delivered", "exception"]
            .contains(&cb.status.as_str())
        {
            return Err(AppError::invalid(
                "status",
                "must be in_transit, out_for_delivery, delivered or exception",
            ));
        }
        self.db
            .write(move |c| {
                apply_tracking(
                    c,
                    now,
                    &carrier,
                    &cb.event_id,
                    &cb.tracking_no,
                    &cb.status,
                    cb.occurred_at,
                )
            })
            .await
    }

    /// Sets a SKU's quantity in the caller's cart at a merchant (0 removes it).
    pub async fn set_cart_item(
        &self,
        who: &Principal,
        merchant_id: &str,
        sku_id: &str,
        quantity: i64,
    ) -> AppResult<Vec<CartItem>> {
        let qty = if quantity == 0 {
            None
        } else {
            Some(Quantity::parse(quantity)?)
        };
        let now = self.now_ms();
        let (w, mid, sid) = (who.clone(), merchant_id.to_owned(), sku_id.to_owned());
        self.db
            .write(move |c| {
                merchant_status(c, &mid)?.ensure_trading()?;
                match qty {
                    None => {
                        c.execute("DELETE FROM cart_items WHERE account_id = $1 AND sku_id = $2 AND merchant_id = $3", args![&w.account_id, &sid, &mid])?;
                    }
                    Some(q) => {
                        catalog::sku_for_checkout(c, &mid, &sid)?;
                        let n = c.query_one("SELECT COUNT(*) FROM cart_items WHERE account_id = $1", args![&w.account_id])?.int(0)?;
                        let present = c.query_opt("SELECT 1 FROM cart_items WHERE account_id = $1 AND sku_id = $2", args![&w.account_id, &sid])?.is_some();
                        if !present && n >= MAX_CART_ITEMS {
                            return Err(AppError::state(format!("a cart holds at most {MAX_CART_ITEMS} items")));
                        }
                        c.execute(
                            "INSERT INTO cart_items (account_id, merchant_id, sku_id, quantity, added_at) VALUES ($1, $2, $3, $4, $5)
                             ON CONFLICT (account_id, sku_id) DO UPDATE SET quantity = excluded.quantity",
                            args![&w.account_id, &mid, &sid, i64::from(q.get()), now],
                        )?;
                    }
                }
                cart(c, &w.account_id, &mid)
            })
            .await
    }

    /// The caller's cart at a merchant.
    pub async fn cart(&self, who: &Principal, merchant_id: &str) -> AppResult<Vec<CartItem>> {
        let (aid, mid) = (who.account_id.clone(), merchant_id.to_owned());
        self.db.read(move |c| cart(c, &aid, &mid)).await
    }
}

fn cart(c: &mut dyn Conn, account_id: &str, merchant_id: &str) -> AppResult<Vec<CartItem>> {
    let tier = buyer_tier(c, merchant_id, account_id)?;
    let rows = c.query(
        "SELECT sku_id, quantity FROM cart_items WHERE account_id = $1 AND merchant_id = $2 ORDER BY added_at, sku_id",
        args![account_id, merchant_id],
    )?;
    let mut out = Vec::with_capacity(rows.len());
    for r in rows {
        let (sku_id, quantity) = (r.text(0)?, r.int(1)?);
        match catalog::sku_for_checkout(c, merchant_id, &sku_id) {
            Ok(sku) => {
                let tiers: Vec<(&str, Fen)> = sku
                    .tier_prices
                    .iter()
                    .map(|(c, p)| (c.as_str(), Fen::new(*p)))
                    .collect();
                let unit =
                    pricing::unit_price(Fen::new(sku.list_price_fen), &tiers, tier.as_deref());
                out.push(CartItem {
                    sku_id,
                    quantity,
                    product_name: sku.product_name,
                    sku_code: sku.code,
                    unit_price_fen: unit.get(),
                    available: true,
                });
            }
            Err(AppError::Conflict { .. }) => {
                out.push(CartItem {
                    sku_id,
                    quantity,
                    product_name: String::new(),
                    sku_code: String::new(),
                    unit_price_fen: 0,
                    available: false,
                });
            }
            Err(e) => return Err(e),
        }
    }
    Ok(out)
}
