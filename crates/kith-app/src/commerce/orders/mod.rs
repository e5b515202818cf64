//! Orders: checkout, the order row and its views, listings, cancellation, and `place`
//! (an order written inside another use case's transaction — a group-buy seat's).
//!
//! Every transition goes through `kith_domain::order::OrderStatus`, which refuses illegal
//! moves; every one runs in one transaction that also writes an `order_events` row, its
//! outbox event and, where money moves, its ledger entry. Stock is reserved at checkout by
//! one conditional update per line, released on cancel/timeout/refund before fulfilment,
//! and committed on shipment or pickup. What happens after payment lives beside this file:
//! the lifecycle hooks (`lifecycle.rs`), payment (`payments.rs`), shipping, pickup,
//! delivery and completion (`fulfilment.rs`), refunds (`refunds.rs`), the cart (`cart.rs`).

use kith_domain::order::{DeliveryMethod, OrderKind, OrderStatus};
use kith_domain::order_price;
use kith_domain::pricing::{self, Quantity, ShippingRule};
use kith_domain::{BoundedText, Fen, Phone};
use kith_store::{Conn, Row, args};
use serde::{Deserialize, Serialize};

use crate::commerce::browse::MemberQuery;
use crate::commerce::lifecycle::Lifecycle;
use crate::commerce::store::cart as cart_store;
use crate::platform::auth::{StaffNeed, merchant_status_of, require_staff};
use crate::platform::ids::{
    AccountId, ActivityId, BatchId, CouponId, MerchantId, OrderId, SkuId, StoreId, new_id,
};
use crate::platform::page::{Direction, Page, PageRequest};
use crate::{
    App, AppError, AppResult, Principal, commerce::catalog, commerce::inventory,
    money::commissions, platform::outbox, rfc3339,
};

pub(in crate::commerce) mod store;
pub(crate) use store::{
    BOUGHT, OrderCols, OrderRow, buyer_tier, lines_remaining, load_lines, lock_order,
    lock_own_order, merchant_terms, order_view,
};

/// Most lines one order may have.
pub const MAX_LINES: usize = 50;
pub(crate) const DAY_MS: i64 = 24 * 3600 * 1000;

/// A shipping address, snapshotted onto the order.
#[derive(Debug, Clone, Serialize, Deserialize, utoipa::ToSchema, PartialEq, Eq)]
#[serde(deny_unknown_fields)]
pub struct Address {
    #[schema(min_length = 1, max_length = 32)]
    pub name: String,
    #[schema(pattern = "^(\\+86|0086|86)?1[3-9][0-9]{9}$")]
    pub phone: String,
    #[schema(min_length = 1, max_length = 32)]
    pub province: String,
    #[schema(min_length = 1, max_length = 32)]
    pub city: String,
    #[schema(min_length = 1, max_length = 32)]
    pub district: String,
    #[schema(min_length = 1, max_length = 200)]
    pub detail: String,
}

impl Address {
    fn validate(self) -> AppResult<Self> {
        self.validate_as("address.")
    }

    /// The one rule for an address, checkout's and the address book's: each part 1–32
    /// characters (the detail 1–200), a mainland mobile number, and a district of the city of
    /// the province (`kith_domain::region`). Errors name the field as `{prefix}{part}`.
    pub(crate) fn validate_as(self, prefix: &str) -> AppResult<Self> {
        let t = |f: &str, v: &str, max| {
            BoundedText::parse(&format!("{prefix}{f}"), v, 1, max).map(BoundedText::into_string)
        };
        let a = Self {
            name: t("name", &self.name, 32)?,
            phone: Phone::parse(&self.phone)
                .map_err(|e| e.for_field(&format!("{prefix}phone")))?
                .as_str()
                .to_owned(),
            province: t("province", &self.province, 32)?,
            city: t("city", &self.city, 32)?,
            district: t("district", &self.district, 32)?,
            detail: t("detail", &self.detail, 200)?,
        };
        kith_domain::region::check(prefix, &a.province, &a.city, &a.district)?;
        Ok(a)
    }
}

#[derive(Debug, Clone)]
pub struct CheckoutInput {
    pub delivery: DeliveryMethod,
    pub pickup_store_id: Option<String>,
    pub address: Option<Address>,
    /// One of the buyer's saved addresses (`commerce::addresses`), instead of `address`.
    pub address_id: Option<String>,
    /// The lines to buy; `None` buys the whole cart at this merchant.
    pub items: Option<Vec<(String, i64)>>,
    /// One of the buyer's coupons at this merchant.
    pub coupon_id: Option<String>,
    /// Points offered (at most this many are spent: the shop's cap decides).
    pub points: Option<i64>,
}

#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct OrderLine {
    pub line_no: i64,
    pub sku_id: SkuId,
    pub product_name: String,
    pub sku_code: String,
    pub attrs: serde_json::Value,
    pub quantity: i64,
    #[schema(value_type = i64)]
    pub unit_price_fen: Fen,
    /// `unit_price_fen × quantity`, before discounts.
    #[schema(value_type = i64)]
    pub line_total_fen: Fen,
    /// This line's part of the order's 满减 activity (largest remainder, to the fen).
    #[schema(value_type = i64)]
    pub activity_fen: Fen,
    /// This line's part of the order's coupon (largest remainder, to the fen).
    #[schema(value_type = i64)]
    pub coupon_fen: Fen,
    /// This line's part of the points discount, and of the points spent; the line paid
    /// `line_total_fen − activity_fen − coupon_fen − points_fen`, what refunding all of it
    /// returns.
    #[schema(value_type = i64)]
    pub points_fen: Fen,
    pub points_used: i64,
    pub refunded_quantity: i64,
    #[schema(value_type = i64)]
    pub refunded_fen: Fen,
    /// Held by a refund still in flight at its provider (requested, not yet confirmed):
    /// no other refund may take these units or fen; they become refunded on success.
    pub refunding_quantity: i64,
    #[schema(value_type = i64)]
    pub refunding_fen: Fen,
}

#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct Order {
    pub id: OrderId,
    pub merchant_id: MerchantId,
    pub buyer_id: AccountId,
    pub status: OrderStatus,
    pub delivery: DeliveryMethod,
    pub pickup_store_id: Option<StoreId>,
    /// The 接龙 batch this order joined: paid, it waits for the batch's cut-off
    /// (`awaiting_group`), not for a group to fill.
    pub batch_id: Option<BatchId>,
    /// The buyer's tier at checkout, whose prices the lines carry.
    pub tier_code: Option<String>,
    pub address: Option<Address>,
    pub lines: Vec<OrderLine>,
    /// The goods actually paid, after the 满减 activity and the coupon: the commission base.
    #[schema(value_type = i64)]
    pub goods_fen: Fen,
    /// The 满减 / 满折 activity applied, and what it took off the goods.
    pub activity_id: Option<ActivityId>,
    #[schema(value_type = i64)]
    pub activity_fen: Fen,
    /// The 秒杀 slot this order was bought in, at the flash price.
    pub flash_slot_id: Option<String>,
    /// The coupon used, and what it took off the goods (goods before discounts:
    /// goods + activity + coupon).
    pub coupon_id: Option<CouponId>,
    #[schema(value_type = i64)]
    pub coupon_fen: Fen,
    /// Points spent on the order and what they took off the goods; points given back
    /// (cancelled, refunded); points earned on it (frozen until the after-sale window
    /// closes) and taken back by refunds.
    pub points_used: i64,
    #[schema(value_type = i64)]
    pub points_fen: Fen,
    pub points_returned: i64,
    pub points_earned: i64,
    pub points_reversed: i64,
    #[schema(value_type = i64)]
    pub shipping_fen: Fen,
    #[schema(value_type = i64)]
    pub total_fen: Fen,
    #[schema(value_type = i64)]
    pub paid_fen: Fen,
    #[schema(value_type = i64)]
    pub refunded_fen: Fen,
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
    pub actor_id: Option<AccountId>,
    pub note: String,
    pub at: String,
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
    pub(crate) fn kind(&self) -> &'static str {
        match self {
            Actor::Buyer(_) => "buyer",
            Actor::Staff(_) => "staff",
            Actor::Clerk(_) => "clerk",
            Actor::System => "system",
            Actor::Gateway => "gateway",
            Actor::Carrier => "carrier",
        }
    }
    pub(crate) fn id(&self) -> Option<&str> {
        match self {
            Actor::Buyer(id) | Actor::Staff(id) | Actor::Clerk(id) => Some(id),
            _ => None,
        }
    }
}

/// The notes the system writes on an order's events (a note a person types, such as a
/// refund's reason, is kept as typed). The pages say these in words, so they are named once.
pub mod notes {
    pub const CANCELLED_BY_BUYER: &str = "cancelled by the buyer";
    pub const UNPAID_AT_DEADLINE: &str = "unpaid at the deadline";
    pub const RECEIPT_AUTO_CONFIRMED: &str = "receipt auto-confirmed";
    pub const AFTERSALE_WINDOW_CLOSED: &str = "after-sale window closed";
    pub const PICKED_UP: &str = "picked up";
    pub const BATCH_CUT_OFF_UNPAID: &str = "接龙 cut-off: unpaid";
    /// After a carrier's code: `sf: delivered`.
    pub const DELIVERED_SUFFIX: &str = ": delivered";

    /// A shipment: the carrier's code and the tracking number, `sf SF1234567890`.
    pub fn shipped(carrier: &str, tracking_no: &str) -> String {
        format!("{carrier} {tracking_no}")
    }

    /// The carrier's code and tracking number of a [`shipped`] note: a code of 2–16
    /// lower-case letters, digits or `_`, then a number with at least one digit. The
    /// system's other notes (`picked up`) and typed words are not one.
    pub fn shipment_of(note: &str) -> Option<(&str, &str)> {
        let (carrier, tracking) = note.split_once(' ')?;
        let code = (2..=16).contains(&carrier.len())
            && carrier
                .bytes()
                .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'_');
        let number = tracking.len() <= 40
            && tracking.bytes().any(|b| b.is_ascii_digit())
            && tracking
                .bytes()
                .all(|b| b.is_ascii_alphanumeric() || b == b'-');
        (code && number).then_some((carrier, tracking))
    }
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
    if !store::set_status(c, now, &o.id, o.status, to)? {
        return Err(AppError::state("the order changed meanwhile; reload it"));
    }
    record_transition(c, now, o, to, actor, note)
}

/// The event row and outbox event of a transition whose `UPDATE` the caller made (one that
/// sets more than the status, such as the payment's).
pub(crate) fn record_transition(
    c: &mut dyn Conn,
    now: i64,
    o: &OrderRow,
    to: OrderStatus,
    actor: Actor<'_>,
    note: &str,
) -> AppResult<()> {
    store::insert_event(c, now, &o.id, o.status, to, actor.kind(), actor.id(), note)?;
    let e = transition_event(o, o.status, to);
    outbox::emit(c, now, &e.topic, e.merchant_id, e.aggregate_id, &e.payload)?;
    Ok(())
}

/// The outbox event of an order's move `from → to` (`order.{to}`).
pub(crate) fn transition_event(
    o: &OrderRow,
    from: OrderStatus,
    to: OrderStatus,
) -> outbox::Event<'_> {
    outbox::Event {
        topic: format!("order.{}", to.as_str()),
        merchant_id: Some(&o.merchant_id),
        aggregate_id: &o.id,
        payload: serde_json::json!({
            "order_id": o.id, "from": from.as_str(), "to": to.as_str(), "buyer_id": o.buyer_id,
        }),
    }
}

/// Releases what an unfulfilled order still holds.
pub(crate) fn release_all(c: &mut dyn Conn, now: i64, o: &OrderRow) -> AppResult<()> {
    for (sku, qty) in lines_remaining(c, &o.id)? {
        inventory::release(c, &o.location_id, &sku, qty, &o.id, now)?;
    }
    Ok(())
}

/// A paid order waits for its group-buy group to fill.
pub(crate) fn await_group(c: &mut dyn Conn, now: i64, o: &OrderRow) -> AppResult<()> {
    let next = o.status.await_group()?;
    transition(c, now, o, next, Actor::System, "")
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
        Some(store) => {
            let location = inventory::store_location(c, merchant_id, store, now).map_err(|e| {
                if matches!(e, AppError::NotFound(_)) {
                    AppError::invalid("pickup_store_id", "is not a store of this merchant")
                } else {
                    e
                }
            })?;
            // A 团长's point (a store of the neighbourhood context's `leaders`) takes pickup
            // orders only while its leader is approved: a suspended leader's is refused
            // (read here, not through `neighbourhood`, which depends on commerce).
            if let Some(status) = store::unapproved_leader_status(c, store)? {
                return Err(AppError::conflict(
                    "pickup_store_id",
                    format!("this 团长's pickup point is {status} and takes no orders"),
                ));
            }
            Ok(location)
        }
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
    /// What it is placed as: a group-buy seat is attributed to the 拼团 channel, and the
    /// lifecycle's hooks of a kind look only at orders of that kind.
    pub kind: OrderKind,
    /// The buyer's coupon (checked as theirs, at this merchant and available) and its
    /// terms; locked to the order here, in the same transaction.
    pub coupon: Option<(String, kith_domain::order_price::CouponTerms)>,
    /// Whether the merchant's live 满减 activities apply (the best one for the lines):
    /// an ordinary checkout's order, not a group-buy seat or a batch order, whose prices
    /// are already their activity's.
    pub activities: bool,
    /// Points the buyer offers (checked against their balance when spent, here, in the
    /// same transaction); only an ordinary checkout's order takes them.
    pub points: Option<kith_domain::order_price::PointsTerms>,
    /// The merchant's terms when the caller has read them already (else read here).
    pub terms: Option<store::MerchantTerms>,
}

/// Writes a new order: its row and lines, stock reserved per line, the commission snapshot,
/// its first event, outbox event and expiry job. Returns the order id.
pub(crate) fn place(c: &mut dyn Conn, now: i64, o: NewOrder<'_>) -> AppResult<String> {
    let terms = match o.terms {
        Some(t) => t,
        None => merchant_terms(c, o.merchant_id)?,
    };
    let lines: Vec<order_price::PriceLine> = o
        .lines
        .iter()
        .map(|(sku, unit, quantity)| order_price::PriceLine {
            product_id: sku.product_id.clone(),
            unit: *unit,
            quantity: *quantity,
        })
        .collect();
    let activity = if o.activities {
        super::promotions::activities::best_for(c, o.merchant_id, now, &lines)?
    } else {
        None
    };
    let discounts: Vec<order_price::Discount> = activity
        .iter()
        .map(|(_, terms)| order_price::Discount::Threshold(terms.clone()))
        .chain(
            o.coupon
                .iter()
                .map(|(_, terms)| order_price::Discount::Coupon(terms.clone())),
        )
        .chain(o.points.map(order_price::Discount::Points))
        .collect();
    let totals = order_price::price(&lines, &discounts, &terms.shipping, o.delivery)
        .map_err(super::promotions::price_error)?;
    let id = new_id();
    let deadline = o.deadline.unwrap_or(now + terms.unpaid_timeout_ms);
    let address_json = o
        .address
        .map(|a| serde_json::to_string(a).unwrap_or_default());
    store::insert_order(
        c,
        now,
        &store::NewOrderRow {
            id: &id,
            merchant_id: o.merchant_id,
            buyer: o.buyer,
            delivery: o.delivery,
            location: o.location,
            pickup_store: o.pickup_store,
            tier: o.tier,
            address_json: address_json.as_deref(),
            goods_fen: totals.goods_paid,
            shipping_fen: totals.shipping,
            total_fen: totals.total,
            deadline,
            activity_id: activity.as_ref().map(|(aid, _)| aid.as_str()),
            activity_fen: totals.activity,
            kind: o.kind,
        },
    )?;
    if let Some((coupon_id, _)) = &o.coupon {
        super::promotions::lock_for_order(c, now, o.buyer, coupon_id, &id, totals.coupon.get())?;
    }
    crate::loyalty::redeem(
        c,
        now,
        o.buyer,
        o.merchant_id,
        &id,
        totals.points_used,
        totals.points.get(),
    )?;
    for (n, ((sku, unit, qty), priced)) in o.lines.iter().zip(&totals.lines).enumerate() {
        let q = i64::from(qty.get());
        store::insert_line(
            c,
            &id,
            &store::NewLine {
                line_no: n as i64 + 1,
                sku,
                quantity: q,
                unit: *unit,
                coupon_fen: priced.coupon,
                activity_fen: priced.activity,
                points_fen: priced.points,
                points_used: priced.points_used,
            },
        )?;
        // Only the stock's own refusal is renamed to the line's field: the order's rows went
        // out deferred with this statement, and a failure of theirs must not read as stock.
        inventory::reserve(c, o.merchant_id, o.location, &sku.sku_id, q, &id, now).map_err(
            |e| match e {
                AppError::Conflict { reason, .. } if reason == inventory::NOT_ENOUGH_STOCK => {
                    AppError::conflict(format!("items[{n}].quantity"), inventory::NOT_ENOUGH_STOCK)
                }
                other => other,
            },
        )?;
    }
    // The commission base of each line is what it paid, after 满减 and the coupon (PRODUCT §4).
    let goods: Vec<(String, i64)> = o
        .lines
        .iter()
        .zip(&totals.lines)
        .map(|((sku, _, _), priced)| (sku.product_id.clone(), priced.paid.get()))
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
        o.kind == OrderKind::Group,
    )?;
    store::insert_placed_event(c, now, &id, o.buyer)?;
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
    super::fulfilment::schedule(c, now, super::fulfilment::Timer::Expire, &id, deadline)?;
    Ok(id)
}

/// How much one member may hold unpaid at one merchant (`AppConfig::max_unpaid_orders`,
/// `max_unpaid_units_per_sku`; 0: no limit).
#[derive(Debug, Clone, Copy)]
struct HoardLimits {
    orders: i64,
    units_per_sku: i64,
}

/// Refuses a checkout that would let `buyer` hold more than the limits allow at
/// `merchant_id` in unpaid orders: an unpaid order reserves stock from everyone else until
/// it is paid or expires, so without a bound one member with no money could take a
/// product's whole stock off sale. Every kind of unpaid order counts (a group-buy seat's
/// too). The buyer's account row is locked first, so two checkouts of one member
/// serialise here and cannot both pass on a count that neither has written yet.
fn check_hoarding(
    c: &mut dyn Conn,
    merchant_id: &str,
    buyer: &str,
    lines: &[(catalog::SkuForCheckout, Fen, Quantity)],
    limits: HoardLimits,
) -> AppResult<()> {
    if limits.orders == 0 && limits.units_per_sku == 0 {
        return Ok(());
    }
    // NO KEY UPDATE: it does not wait for (or block) rows that merely reference the
    // account, such as another buyer's commission snapshot naming this member.
    // SQLite has one writer at a time, so the transaction is already serial there.
    if c.engine() == kith_store::Engine::Postgres {
        if limits.units_per_sku > 0 {
            // The lock and the holdings in one round trip, the read after the lock.
            store::announce_locked_holdings(c, buyer, merchant_id)?;
        }
        store::lock_buyer_account(c, buyer)?;
    }
    if limits.units_per_sku == 0 {
        let open = store::unpaid_orders(c, buyer, merchant_id)?;
        return refuse_orders_over(open, limits.orders);
    }
    // Both asked (or only units): the unpaid orders and their lines in one read.
    let holdings = store::unpaid_holdings(c, buyer, merchant_id)?;
    if limits.orders > 0 {
        let mut ids: Vec<&str> = holdings.iter().map(|(id, _, _)| id.as_str()).collect();
        ids.sort_unstable();
        ids.dedup();
        refuse_orders_over(ids.len() as i64, limits.orders)?;
    }
    for (i, (sku, _, qty)) in lines.iter().enumerate() {
        let held: i64 = holdings
            .iter()
            .filter(|(_, s, _)| s.as_deref() == Some(sku.sku_id.as_str()))
            .map(|(_, _, q)| q)
            .sum();
        if held + i64::from(qty.get()) > limits.units_per_sku {
            let left = (limits.units_per_sku - held).max(0);
            return Err(AppError::conflict(
                format!("items[{i}].quantity"),
                format!(
                    "at most {} of one item may wait unpaid per member; you hold {held} in unpaid orders, so you can add {left} now — pay for them first",
                    limits.units_per_sku
                ),
            ));
        }
    }
    Ok(())
}

/// 409 when `open` unpaid orders already reach `limit` (0: no limit).
fn refuse_orders_over(open: i64, limit: i64) -> AppResult<()> {
    if limit > 0 && open >= limit {
        return Err(AppError::conflict(
            "items",
            format!(
                "you already have {open} unpaid orders at this shop (at most {limit}): pay or cancel one first"
            ),
        ));
    }
    Ok(())
}

impl App {
    /// Creates an order from the given lines (or the cart), reserving stock for every
    /// line at the fulfilling location, with prices of the buyer's tier. A member holds at
    /// most `max_unpaid_orders` unpaid orders at a merchant and `max_unpaid_units_per_sku`
    /// units of one SKU in them (409 beyond, nothing written).
    pub async fn checkout(
        &self,
        who: &Principal,
        merchant_id: &MerchantId,
        input: CheckoutInput,
    ) -> AppResult<Order> {
        if input.address.is_some() && input.address_id.is_some() {
            return Err(AppError::invalid(
                "address_id",
                "give either address or address_id, not both",
            ));
        }
        // A saved address is copied onto the order like a typed one (and checked by the
        // same rule): the order keeps it whatever happens to the address book later.
        let saved = match (input.delivery, input.address_id) {
            (DeliveryMethod::Shipping, Some(id)) => {
                let me = who.account_id.clone();
                Some(
                    self.db
                        .read(move |c| super::addresses::for_checkout(c, &me, &id))
                        .await?,
                )
            }
            _ => None,
        };
        let (address, pickup_store) = parse_delivery(
            input.delivery,
            input.address.or(saved),
            input.pickup_store_id,
        )?;
        // Each order holds stock from other buyers until paid or expired: a member may
        // place only so many per minute.
        self.rate_limit(who, crate::platform::limits::Action::Checkout)
            .await?;
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
        let coupon_id = input.coupon_id;
        let points_asked = input.points;
        let limits = HoardLimits {
            orders: i64::from(self.config.max_unpaid_orders),
            units_per_sku: i64::from(self.config.max_unpaid_units_per_sku),
        };
        self.db
            .write(move |c| {
                // The first reads, independent of each other, announced: one round trip
                // on PostgreSQL (`Conn::prefetch`; the SKUs, the buyer's lock with the
                // holdings and the activities, and the view below likewise).
                store::announce_checkout_start(
                    c,
                    &mid,
                    &who.account_id,
                    inventory::DEFAULT_WAREHOUSE,
                )?;
                if items.is_none() {
                    cart_store::announce_cart_lines(c, &who.account_id, &mid)?;
                }
                // The merchant's status and terms, its warehouse and the buyer's tier in
                // one read.
                let start =
                    store::checkout_start(c, &mid, &who.account_id, inventory::DEFAULT_WAREHOUSE)?
                        .ok_or(AppError::NotFound("merchant"))?;
                merchant_status_of(&start.status)?.ensure_trading()?;
                let terms = start.terms;
                let from_cart = items.is_none();
                let items = match &items {
                    Some(i) => i.clone(),
                    None => {
                        let rows = cart_store::cart_lines(c, &who.account_id, &mid)?;
                        if rows.is_empty() {
                            return Err(AppError::invalid("items", "the cart is empty"));
                        }
                        rows.into_iter()
                            .map(|(sku, q)| Ok((sku.as_str().to_owned(), Quantity::parse(q)?)))
                            .collect::<AppResult<Vec<_>>>()?
                    }
                };
                let tier = start.tier;
                let location = match (&pickup_store, start.warehouse) {
                    (None, Some(warehouse)) => warehouse,
                    // A pickup store's location, or a warehouse made on first use.
                    _ => fulfilling_location(c, now, &mid, pickup_store.as_deref())?,
                };
                for (sku_id, _) in &items {
                    catalog::announce_sku_for_checkout(c, &mid, sku_id)?;
                }
                let mut priced = Vec::with_capacity(items.len());
                for (i, (sku_id, qty)) in items.iter().enumerate() {
                    // Lines given by id: a SKU not on sale (a draft) answers exactly like an
                    // unknown id. The cart's lines were on sale when the member added them,
                    // so for those "no longer on sale" (409) tells them nothing new.
                    let sku = if from_cart {
                        catalog::sku_for_checkout(c, &mid, sku_id)
                    } else {
                        catalog::sku_for_buyer(c, &mid, sku_id)
                    };
                    let sku = sku.map_err(|e| match e {
                        AppError::NotFound(_) => AppError::invalid(
                            format!("items[{i}].sku_id"),
                            "is not a SKU of this merchant",
                        ),
                        other => other,
                    })?;
                    let tiers: Vec<(&str, Fen)> = sku
                        .tier_prices
                        .iter()
                        .map(|(c, p)| (c.as_str(), Fen::new(*p)))
                        .collect();
                    let unit =
                        pricing::unit_price(Fen::new(sku.list_price_fen), &tiers, tier.as_deref());
                    priced.push((sku, unit, *qty));
                }
                // The live activities `place` prices with go with the hoarding check's
                // reads (they are read before the buyer's lock on PostgreSQL: nothing here
                // writes them) — unless a coupon or points are read in between.
                if coupon_id.is_none() && points_asked.unwrap_or(0) == 0 {
                    super::promotions::activities::announce_best_for(c, &mid, now)?;
                }
                check_hoarding(c, &mid, &who.account_id, &priced, limits)?;
                let coupon = match &coupon_id {
                    Some(cid) => Some(super::promotions::coupon_for_checkout(
                        c,
                        now,
                        &who.account_id,
                        &mid,
                        cid,
                        false,
                    )?),
                    None => None,
                };
                let points = crate::loyalty::offer(c, &mid, points_asked.unwrap_or(0), false)?;
                let id = place(
                    c,
                    now,
                    NewOrder {
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
                        kind: OrderKind::Plain,
                        coupon,
                        activities: true,
                        points,
                        terms: Some(terms),
                    },
                )?;
                if from_cart {
                    for (sku, _, _) in &priced {
                        store::remove_from_cart(c, &who.account_id, &sku.sku_id)?;
                    }
                }
                store::announce_order_view(c, &id)?;
                let o = lock_order(c, &id)?;
                order_view(c, &o, true)
            })
            .await
    }

    /// The buyer cancels an order they have not paid; its stock is released.
    pub async fn cancel_order(&self, who: &Principal, order_id: &OrderId) -> AppResult<Order> {
        let now = self.now_ms();
        let (who, oid) = (who.clone(), order_id.to_owned());
        let lc = self.lifecycle.clone();
        self.db
            .write(move |c| {
                let o = lock_own_order(c, &oid, &who)?;
                cancel(
                    c,
                    &lc,
                    now,
                    &o,
                    Actor::Buyer(&who.account_id),
                    notes::CANCELLED_BY_BUYER,
                )?;
                let o = lock_order(c, &oid)?;
                order_view(c, &o, true)
            })
            .await
    }

    /// An order, to its buyer or its merchant's staff (404 to anyone else).
    pub async fn get_order(&self, who: &Principal, order_id: &OrderId) -> AppResult<Order> {
        let (who, oid) = (who.clone(), order_id.to_owned());
        self.db
            .read(move |c| {
                let o = store::find_order(c, &oid)?.ok_or(AppError::NotFound("order"))?;
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
        order_id: &OrderId,
    ) -> AppResult<Vec<OrderEvent>> {
        self.get_order(who, order_id).await?;
        let oid = order_id.to_owned();
        self.db.read(move |c| store::events(c, &oid)).await
    }

    /// The buyer's orders, newest first.
    pub async fn my_orders(&self, who: &Principal, page: PageRequest) -> AppResult<Page<Order>> {
        let who = who.clone();
        self.list_orders_where(
            "buyer_id = $1",
            who.account_id.clone(),
            None,
            &MemberQuery::All,
            page,
            true,
        )
        .await
    }

    /// Staff: the merchant's orders, newest first, optionally of one status.
    /// Staff: the merchant's orders, newest first; in one status, and only those of buyers
    /// `buyer` finds (by name, a whole phone or its last four digits; see [`MemberQuery`]).
    pub async fn merchant_orders(
        &self,
        who: &Principal,
        merchant_id: &MerchantId,
        status: Option<OrderStatus>,
        buyer: &MemberQuery,
        page: PageRequest,
    ) -> AppResult<Page<Order>> {
        let (w, mid) = (who.clone(), merchant_id.to_owned());
        self.db
            .read(move |c| require_staff(c, &w, &mid, StaffNeed::AnyStaff))
            .await?;
        self.list_orders_where(
            "merchant_id = $1",
            merchant_id.to_string(),
            status,
            buyer,
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
        buyer: &MemberQuery,
        page: PageRequest,
        for_buyer: bool,
    ) -> AppResult<Page<Order>> {
        let after = page.keyset(Direction::NewestFirst, "created_at", "id", 3);
        let mut params = args![&value, status.map_or("", OrderStatus::as_str)].to_vec();
        params.extend(after.args);
        params.push(page.fetch().into());
        let (mode, needle) = store::buyer_search(buyer);
        params.push(mode.into());
        params.push(needle.into());
        let rows = self
            .db
            .read(move |c| {
                store::orders_page(c, filter, &after.sql, &params)?
                    .into_iter()
                    .map(|(created, o)| Ok((created, order_view(c, &o, for_buyer)?)))
                    .collect::<AppResult<Vec<_>>>()
            })
            .await?;
        Ok(Page::from_keyed(rows, page.limit, |o| &o.id))
    }
}

/// An order of `merchant_id`, locked; 404 if it belongs to another merchant.
pub(crate) fn staff_order(
    c: &mut dyn Conn,
    merchant_id: &str,
    order_id: &str,
) -> AppResult<OrderRow> {
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
    lc.lock(c, &o.id, o.kind)?;
    release_all(c, now, o)?;
    super::promotions::on_order_released(c, now, &o.id)?;
    crate::loyalty::on_released(c, now, &o.id)?;
    super::promotions::flash::on_order_released(c, &o.id)?;
    store::set_cancelled_at(c, now, &o.id)?;
    store::cancel_pending_payments(c, &o.id)?;
    transition(c, now, o, next, actor, note)?;
    lc.released(c, now, o)
}
