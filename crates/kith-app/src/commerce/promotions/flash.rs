//! 限时秒杀 (issue 19): a merchant sells one SKU at a flash price in time slots, each with a
//! quota apart from the stock, a per-member total and a per-order cap, and a shorter unpaid
//! timeout. A flash order is its own checkout (`POST /flash-sales/{id}/orders`): the
//! flash price replaces the tier price, and neither 满减 nor a coupon applies on top of it.
//!
//! Invariants: the slot's quota is taken by **one conditional update**
//! (`sold + q <= quota`) and the member's units by one conditional upsert on
//! `flash_buyers` (`bought + q <= per_member_limit`), in the order's transaction — never
//! read-then-write — so the hot SKU never oversells its quota and no member passes the
//! limit however many buy at once; the order then reserves real stock as any order does.
//! An unpaid flash order that is cancelled or lapses gives its units back to the slot and
//! the member, once: the order's `flash_quantity` is zeroed by the one update that may.
//!
//! Writes: `flash_sales`, `flash_slots`, `flash_buyers`, and `orders.flash_slot_id` /
//! `flash_quantity` of the orders it places (through `orders::place`).

use crate::platform::ids::{FlashSaleId, MerchantId, ProductId, SkuId};

use kith_domain::flash_sale::{self, Slot};
use kith_domain::order::DeliveryMethod;
use kith_domain::pricing::Quantity;
use kith_domain::{BoundedText, Fen, PromotionStatus};
use kith_store::Conn;
use serde::{Deserialize, Serialize};

use super::store::flash::{self as store, load};
use super::{Move, Promotion};
use crate::commerce::catalog;
use crate::commerce::orders::{self, Address, NewOrder, Order};
use crate::platform::auth::{StaffNeed, merchant_status, require_staff, require_trading_staff};
use crate::platform::ids::{new_id, parse_id};
use crate::platform::times::parse_time;
use crate::{App, AppError, AppResult, Principal, platform::outbox};

/// One time slot of a flash sale with what it has sold.
#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct FlashSlot {
    pub id: String,
    pub starts_at: String,
    pub ends_at: String,
    pub quota: i64,
    pub sold: i64,
    /// `quota − sold`: what is left to buy (units held by unpaid orders count as sold until
    /// those orders are paid, cancelled or lapse).
    pub left: i64,
}

/// A merchant's flash sale.
#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct FlashSale {
    pub id: FlashSaleId,
    pub merchant_id: MerchantId,
    pub name: String,
    pub sku_id: SkuId,
    pub product_id: ProductId,
    pub product_name: String,
    /// The product's first picture, if it has one.
    pub image: Option<String>,
    pub sku_code: String,
    /// The SKU's list price, for the strike-through.
    #[schema(value_type = i64)]
    pub list_price_fen: Fen,
    /// The flash price, below the list price.
    #[schema(value_type = i64)]
    pub price_fen: Fen,
    pub per_member_limit: i64,
    pub per_order_limit: i64,
    /// How long a flash order may wait unpaid, in seconds.
    pub unpaid_timeout_secs: i64,
    /// Whether its orders may take a coupon on top of the flash price.
    pub allow_coupons: bool,
    /// Active, paused or ended.
    pub status: PromotionStatus,
    /// In time order.
    pub slots: Vec<FlashSlot>,
    /// The slot selling now (the sale active and the time within it).
    pub live_slot_id: Option<String>,
    /// When the next slot starts, when none sells now and one is to come.
    pub next_starts_at: Option<String>,
    pub created_at: String,
}

/// One slot of a new sale.
#[derive(Debug, Clone, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct NewFlashSlot {
    #[schema(format = DateTime)]
    pub starts_at: String,
    #[schema(format = DateTime)]
    pub ends_at: String,
    /// 1–1,000,000 units, apart from the stock.
    #[schema(minimum = 1, maximum = 1_000_000)]
    pub quota: i64,
}

/// A new flash sale, as the merchant sends it.
#[derive(Debug, Clone, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct NewFlashSale {
    /// 1–32 characters, e.g. 整点秒杀.
    #[schema(min_length = 1, max_length = 32)]
    pub name: String,
    /// A SKU of this merchant's, on sale.
    pub sku_id: String,
    /// The flash price in fen: at least 1, below the SKU's list price.
    #[schema(minimum = 1)]
    pub price_fen: i64,
    /// 1–100 units per member over the whole sale; default 1.
    #[schema(minimum = 1, maximum = 100)]
    pub per_member_limit: Option<i64>,
    /// 1 up to the per-member limit per order; default 1.
    #[schema(minimum = 1, maximum = 100)]
    pub per_order_limit: Option<i64>,
    /// 1–30 minutes an order may wait unpaid; default 5.
    #[schema(minimum = 1, maximum = 30)]
    pub unpaid_timeout_minutes: Option<i64>,
    /// Whether its orders may take a coupon on top of the flash price (default false: the
    /// flash price is the discount).
    #[serde(default)]
    pub allow_coupons: bool,
    /// 1–10 slots in time order, not overlapping, the last ending in the future.
    #[schema(min_items = 1, max_items = 10)]
    pub slots: Vec<NewFlashSlot>,
}

/// A flash order: how many and how it reaches the buyer.
#[derive(Debug, Clone)]
pub struct FlashOrderInput {
    pub quantity: i64,
    pub delivery: DeliveryMethod,
    pub pickup_store_id: Option<String>,
    pub address: Option<Address>,
    /// One of the buyer's coupons at the shop, if the sale allows coupons (409
    /// `coupon_not_for_flash_sale` otherwise).
    pub coupon_id: Option<String>,
    /// Points to spend, at most, if the shop lets 秒杀 orders take points
    /// (`points_not_for_activity` otherwise).
    pub points: Option<i64>,
}

/// The unpaid flash order was cancelled or lapsed: its units go back to its slot and to
/// its buyer's count, once (the order's `flash_quantity` is zeroed by the one update that
/// may give them back, so a second call changes nothing).
pub(crate) fn on_order_released(c: &mut dyn Conn, order_id: &str) -> AppResult<()> {
    let Some((slot, q, buyer)) = store::order_flash(c, order_id)? else {
        return Ok(());
    };
    if !store::zero_order_flash(c, order_id, q)? {
        return Ok(());
    }
    store::give_back_to_slot(c, &slot, q)?;
    store::give_back_to_buyer(c, &slot, &buyer, q)?;
    Ok(())
}

impl App {
    /// Staff: a new flash sale on one of the merchant's SKUs.
    pub async fn create_flash_sale(
        &self,
        who: &Principal,
        merchant_id: &MerchantId,
        input: NewFlashSale,
    ) -> AppResult<FlashSale> {
        let (asker, shop) = (who.clone(), merchant_id.to_owned());
        self.db
            .read(move |c| require_trading_staff(c, &asker, &shop, StaffNeed::AnyStaff))
            .await?;
        let name = BoundedText::parse("name", &input.name, 1, 32)?;
        let per_member = input.per_member_limit.unwrap_or(1);
        let per_order = input.per_order_limit.unwrap_or(1);
        flash_sale::check_limits(per_member, per_order)?;
        let timeout = input.unpaid_timeout_minutes.unwrap_or(5);
        if !flash_sale::TIMEOUT_MINUTES.contains(&timeout) {
            return Err(AppError::invalid("unpaid_timeout_minutes", "must be 1–30"));
        }
        if input.price_fen < 1 {
            return Err(AppError::invalid("price_fen", "must be at least 1 fen"));
        }
        let mut slots = Vec::with_capacity(input.slots.len());
        for (i, s) in input.slots.iter().enumerate() {
            slots.push(Slot {
                starts: parse_time(&format!("slots[{i}].starts_at"), &s.starts_at)?,
                ends: parse_time(&format!("slots[{i}].ends_at"), &s.ends_at)?,
                quota: s.quota,
            });
        }
        flash_sale::check_slots(&slots)?;
        let now = self.now_ms();
        if slots.last().is_some_and(|s| s.ends <= now) {
            return Err(AppError::invalid(
                format!("slots[{}].ends_at", slots.len() - 1),
                "must be in the future",
            ));
        }
        let (who, mid, sku_id) = (who.clone(), merchant_id.to_owned(), input.sku_id.clone());
        self.db
            .write(move |c| {
                require_trading_staff(c, &who, &mid, StaffNeed::AnyStaff)?;
                let sku = parse_id(&sku_id)
                    .map(|_| catalog::sku_for_buyer(c, &mid, &sku_id))
                    .unwrap_or(Err(AppError::NotFound("sku")))
                    .map_err(|e| match e {
                        AppError::NotFound(_) => {
                            AppError::invalid("sku_id", "no such SKU on sale in this shop")
                        }
                        other => other,
                    })?;
                if input.price_fen >= sku.list_price_fen {
                    return Err(AppError::invalid(
                        "price_fen",
                        format!(
                            "must be below the SKU's list price of {} fen",
                            sku.list_price_fen
                        ),
                    ));
                }
                let id = new_id();
                store::insert_sale(
                    c,
                    now,
                    &store::NewSale {
                        id: &id,
                        merchant_id: &mid,
                        sku_id: &sku.sku_id,
                        name: name.as_str(),
                        price_fen: input.price_fen,
                        per_member_limit: per_member,
                        per_order_limit: per_order,
                        unpaid_timeout_secs: timeout * 60,
                        allow_coupons: input.allow_coupons,
                    },
                )?;
                for s in &slots {
                    store::insert_slot(c, &id, s)?;
                }
                outbox::emit(
                    c,
                    now,
                    "flash_sale.created",
                    Some(&mid),
                    &id,
                    &serde_json::json!({ "sale_id": id }),
                )?;
                load(c, Some(&mid), &id, now)
            })
            .await
    }

    /// Staff: the merchant's flash sales with their slots, newest first.
    pub async fn list_flash_sales(
        &self,
        who: &Principal,
        merchant_id: &MerchantId,
    ) -> AppResult<Vec<FlashSale>> {
        let now = self.now_ms();
        let (who, mid) = (who.clone(), merchant_id.to_owned());
        self.db
            .read(move |c| {
                require_staff(c, &who, &mid, StaffNeed::AnyStaff)?;
                store::merchant_sales(c, &mid, now)
            })
            .await
    }

    /// Staff: pause, resume or end a sale (409 `flash_sale_status` for an illegal move).
    pub async fn move_flash_sale(
        &self,
        who: &Principal,
        merchant_id: &MerchantId,
        sale_id: &FlashSaleId,
        m: Move,
    ) -> AppResult<FlashSale> {
        let now = self.now_ms();
        let (who, mid, sid) = (who.clone(), merchant_id.to_owned(), sale_id.to_owned());
        self.db
            .write(move |c| {
                require_trading_staff(c, &who, &mid, StaffNeed::AnyStaff)?;
                let before = load(c, Some(&mid), &sid, now)?;
                super::store::move_promotion(
                    c,
                    now,
                    Promotion::FlashSale,
                    &mid,
                    &sid,
                    before.status,
                    m,
                )?;
                load(c, Some(&mid), &sid, now)
            })
            .await
    }

    /// A shop's flash sales still to sell (active, a slot not over), soonest first. Public
    /// for a trading merchant.
    pub async fn shop_flash_sales(&self, merchant_id: &MerchantId) -> AppResult<Vec<FlashSale>> {
        // The id comes from a query string, not a checked path: malformed is not found.
        if parse_id(merchant_id).is_none() {
            return Err(AppError::NotFound("merchant"));
        }
        let now = self.now_ms();
        let mid = merchant_id.to_owned();
        self.db
            .read(move |c| {
                if merchant_status(c, &mid)?.ensure_trading().is_err() {
                    return Err(AppError::NotFound("merchant"));
                }
                store::shop_sales(c, &mid, now)
            })
            .await
    }

    /// One flash sale (public while its merchant trades).
    pub async fn flash_sale(&self, sale_id: &FlashSaleId) -> AppResult<FlashSale> {
        let now = self.now_ms();
        let sid = sale_id.to_owned();
        self.db
            .read(move |c| {
                let sale = load(c, None, &sid, now)?;
                if merchant_status(c, &sale.merchant_id)?
                    .ensure_trading()
                    .is_err()
                {
                    return Err(AppError::NotFound("flash sale"));
                }
                Ok(sale)
            })
            .await
    }

    /// A member buys in a flash sale: the live slot's quota and the member's units are
    /// taken by conditional updates, then the order is placed at the flash price with the
    /// sale's unpaid timeout. Refusals are 409s naming the rule: `flash_not_active`,
    /// `flash_not_live` (between or after the slots), `flash_per_order_limit`,
    /// `flash_sold_out` (the slot's quota), `flash_member_limit`, and stock's usual 409.
    pub async fn buy_flash_sale(
        &self,
        who: &Principal,
        sale_id: &FlashSaleId,
        input: FlashOrderInput,
    ) -> AppResult<Order> {
        let (address, pickup_store) =
            orders::parse_delivery(input.delivery, input.address, input.pickup_store_id)?;
        let q = Quantity::parse(input.quantity).map_err(|e| e.for_field("quantity"))?;
        self.rate_limit(who, crate::platform::limits::Action::Checkout)
            .await?;
        let now = self.now_ms();
        let (who, sid, delivery) = (who.clone(), sale_id.to_owned(), input.delivery);
        let points_asked = input.points.unwrap_or(0);
        let coupon_id = input.coupon_id;
        self.db
            .write(move |c| {
                let sale = load(c, None, &sid, now)?;
                let mid = sale.merchant_id.clone();
                if merchant_status(c, &mid)?.ensure_trading().is_err() {
                    return Err(AppError::NotFound("flash sale"));
                }
                if !sale.status.is_active() {
                    return Err(AppError::conflict(
                        "flash_not_active",
                        format!("this flash sale is {}", sale.status),
                    ));
                }
                let Some(slot) = sale.live_slot_id.clone() else {
                    return Err(AppError::conflict(
                        "flash_not_live",
                        match &sale.next_starts_at {
                            Some(at) => format!("the next slot starts at {at}"),
                            None => "this flash sale is over".to_owned(),
                        },
                    ));
                };
                let qty = i64::from(q.get());
                if qty > sale.per_order_limit {
                    return Err(AppError::conflict(
                        "flash_per_order_limit",
                        format!("at most {} per order", sale.per_order_limit),
                    ));
                }
                if !store::take_from_slot(c, &slot, qty)? {
                    return Err(AppError::conflict(
                        "flash_sold_out",
                        "this slot of the flash sale is sold out",
                    ));
                }
                if !store::count_for_buyer(c, &sid, &who.account_id, qty, sale.per_member_limit)? {
                    return Err(AppError::conflict(
                        "flash_member_limit",
                        format!(
                            "a member may buy at most {} in this flash sale",
                            sale.per_member_limit
                        ),
                    ));
                }
                let sku = catalog::sku_for_buyer(c, &mid, &sale.sku_id)?;
                let location = orders::fulfilling_location(c, now, &mid, pickup_store.as_deref())?;
                let points = crate::loyalty::offer(c, &mid, points_asked, true)?;
                let coupon = match &coupon_id {
                    Some(_) if !sale.allow_coupons => {
                        return Err(AppError::conflict(
                            "coupon_not_for_flash_sale",
                            "this flash sale takes no coupons: its price is the discount",
                        ));
                    }
                    Some(cid) => Some(super::coupon_for_checkout(
                        c,
                        now,
                        &who.account_id,
                        &mid,
                        cid,
                        false,
                    )?),
                    None => None,
                };
                let id = orders::place(
                    c,
                    now,
                    NewOrder {
                        merchant_id: &mid,
                        buyer: &who.account_id,
                        delivery,
                        location: &location,
                        pickup_store: pickup_store.as_deref(),
                        tier: None,
                        address: address.as_ref(),
                        lines: &[(sku, sale.price_fen, q)],
                        deadline: Some(now + sale.unpaid_timeout_secs * 1_000),
                        earns: true,
                        kind: kith_domain::OrderKind::Plain,
                        coupon,
                        // The flash price is the activity price: no 满减 on top of it.
                        activities: false,
                        points,
                        terms: None,
                    },
                )
                .map_err(|e| match e {
                    AppError::Conflict {
                        field: Some(f),
                        reason,
                    } if f.starts_with("items[") => AppError::Conflict {
                        field: Some("quantity".into()),
                        reason,
                    },
                    other => other,
                })?;
                store::set_order_flash(c, &id, &slot, qty)?;
                let o = orders::lock_order(c, &id)?;
                orders::order_view(c, &o, true)
            })
            .await
    }
}
