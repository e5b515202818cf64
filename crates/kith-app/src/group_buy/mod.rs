//! Group-buy (拼团): campaigns, groups and their seats (rules: `kith_domain::group_buy`).
//!
//! - A merchant's **campaign** sells one SKU at a group price (optionally a leader price, 0
//!   = 团长免单) to groups of a fixed size, within a window, up to a stock limit of seats and
//!   a per-member limit.
//! - **Opening** a group places the leader's order (the group is `opening`, not joinable);
//!   the leader's payment makes it `forming` and starts its clock. **Joining** places a
//!   member's order holding a seat. Every order is an ordinary order (stock reserved at the
//!   fulfilling location, commission snapshot, unpaid timeout — capped at the group's
//!   expiry) with one seat in `group_seats`.
//! - Seats are taken by conditional updates, in the order's transaction: opening a group
//!   takes all its seats from the campaign (`seats_taken + size ≤ stock_limit`, given back
//!   when the group fails), so every group opened can fill; joining takes one of the
//!   group's (`held_seats < size`, and the database's `paid ≤ held ≤ size` check). Ending
//!   a campaign stops new groups; groups gathering may still fill until they expire. A paid
//!   seat waits in `awaiting_group` (the [`GroupSeats`] hook, called by the order lifecycle
//!   when an order is paid); the last paid seat makes the group
//!   `succeeded` and every order in it moves to fulfilment, its commission booked then (the
//!   group leader's share included, capped by the plan).
//! - A seat is released when its order is cancelled or refunded before success
//!   (the same hook, when the lifecycle releases an order): if it was the leader's, the earliest paid member
//!   leads; with nobody paid left, the group fails.
//! - At expiry (job `group.expire`) a group that has not filled fails: unpaid orders are
//!   cancelled, paid ones refunded in full through their provider, stock released. A
//!   payment arriving after that is returned at once (the lifecycle asks the hook whether a
//!   payment may be taken).
//! - Every change emits an outbox event: `group.opened`, `group.joined`,
//!   `group.seat_released`, `group.leader_changed`, `group.succeeded`, `group.failed`.
//!
//! Writes: `group_campaigns`, `buy_groups`, `group_seats` (orders, stock and commission
//! through commerce and money). Never: changes an order's state except through commerce's
//! functions (`orders::place`, `cancel`, `refund_everything`, `start_fulfilment`).
//!
//! ## Layout
//! - this file: inputs, views and the use cases;
//! - `store.rs`: the context's rows — column lists, decoders, locked reads;
//! - `seats.rs`: seats through an order's life (the hook, success, failure, the job).

use kith_domain::group_buy::{self, CampaignTerms, GroupStatus};
use kith_domain::order::DeliveryMethod;
use kith_domain::{BoundedText, Fen, PromotionStatus};
use serde::Serialize;

use crate::commerce::orders::{self, Address, Order};
use crate::platform::auth::{StaffNeed, merchant_status, require_staff};
use crate::platform::ids::{new_id, parse_id};
use crate::platform::times::parse_time;
use crate::{
    App, AppError, AppResult, Principal, commerce::catalog, money::commissions, platform::outbox,
};

mod seats;
mod store;

use crate::platform::ids::{AccountId, MerchantId, OrderId, ProductId, SkuId};
pub use crate::platform::ids::{CampaignId, GroupId};

use seats::take_seat;
pub use seats::{ExpireGroup, expire_group};
pub(crate) use seats::{GroupSeats, register_jobs};
use store::{group_view, load_campaign};

/// Most joinable groups listed at once.
const JOINABLE_LIMIT: i64 = 20;

/// What a merchant asks for when starting a campaign.
#[derive(Debug, Clone)]
pub struct CampaignInput {
    pub sku_id: String,
    /// Defaults to the product's name.
    pub title: Option<String>,
    pub group_size: i64,
    pub group_price_fen: i64,
    /// `None`: the leader pays the group price; `Some(0)`: 团长免单.
    pub leader_price_fen: Option<i64>,
    /// Defaults to 24 h.
    pub duration_secs: Option<i64>,
    /// Defaults to now.
    pub starts_at: Option<String>,
    pub ends_at: String,
    pub stock_limit: i64,
    /// Defaults to 1.
    pub per_member_limit: Option<i64>,
    /// Whether orders earn commission; defaults to the plan's `group_buy_commission`.
    pub commission: Option<bool>,
    /// The group leader's commission rate; defaults to the plan's `group_leader_bp`.
    pub leader_bp: Option<i64>,
}

/// How a group order reaches its buyer.
#[derive(Debug, Clone)]
pub struct SeatInput {
    pub delivery: DeliveryMethod,
    pub pickup_store_id: Option<String>,
    pub address: Option<Address>,
    /// One of the buyer's coupons at this merchant, if its template allows 拼团
    /// (`allow_group_buy`); otherwise the seat is refused with `coupon_not_for_group_buy`.
    pub coupon_id: Option<String>,
    /// Points to spend, at most, if the shop lets 拼团 orders take points
    /// (`points_not_for_activity` otherwise).
    pub points: Option<i64>,
}

#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct Campaign {
    pub id: CampaignId,
    pub merchant_id: MerchantId,
    pub product_id: ProductId,
    pub sku_id: SkuId,
    pub title: String,
    pub product_name: String,
    /// The product's first picture (a `/media/…` path or a URL), if it has one.
    pub image: Option<String>,
    pub sku_code: String,
    #[schema(value_type = i64)]
    pub list_price_fen: Fen,
    #[schema(value_type = i64)]
    pub group_price_fen: Fen,
    /// `null`: the leader pays the group price; 0: the leader is free (团长免单).
    #[schema(value_type = Option<i64>)]
    pub leader_price_fen: Option<Fen>,
    pub group_size: i64,
    pub duration_secs: i64,
    pub starts_at: String,
    pub ends_at: String,
    pub stock_limit: i64,
    /// Seats held by gathering groups or sold in succeeded ones.
    pub seats_taken: i64,
    pub seats_left: i64,
    pub per_member_limit: i64,
    pub commission: bool,
    pub leader_bp: i64,
    /// Active or ended (stopped by the merchant); a campaign is never paused.
    pub status: PromotionStatus,
    /// Whether a group can be opened now: active, inside its window, seats left.
    pub open_for_groups: bool,
    pub created_at: String,
}

impl Campaign {
    /// Whether the leader's seat is free (团长免单).
    pub fn leader_free(&self) -> bool {
        self.leader_price_fen == Some(Fen::ZERO)
    }
}

#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
#[schema(as = GroupSeat)]
pub struct GroupMember {
    pub display_name: String,
    pub is_leader: bool,
    /// Paid (or only holding a seat with an unpaid order).
    pub paid: bool,
    /// Their picture, if they chose one (the pages draw the name's first character
    /// otherwise).
    pub avatar: Option<crate::platform::pictures::MediaRef>,
}

#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct Group {
    pub id: GroupId,
    pub campaign_id: CampaignId,
    pub merchant_id: MerchantId,
    pub title: String,
    pub product_id: ProductId,
    /// The product's first picture (a `/media/…` path or a URL), if it has one.
    pub image: Option<String>,
    #[schema(value_type = i64)]
    pub group_price_fen: Fen,
    #[schema(value_type = i64)]
    pub list_price_fen: Fen,
    pub status: GroupStatus,
    pub size: i64,
    pub paid_seats: i64,
    pub held_seats: i64,
    /// Seats nobody holds yet.
    pub seats_left: i64,
    pub leader_id: AccountId,
    pub leader_name: String,
    /// When the group fails unless full; `null` until the leader has paid.
    pub expires_at: Option<String>,
    /// Seconds until then (0 once passed); `null` until the leader has paid.
    pub seconds_left: Option<i64>,
    pub members: Vec<GroupMember>,
    pub fail_reason: Option<String>,
    pub created_at: String,
    pub ended_at: Option<String>,
}

/// A seat just taken: the group and the order to pay.
#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct Seat {
    pub group: Group,
    pub order: Order,
}

/// A member's seat, for "my group-buys".
#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct MySeat {
    pub group: Group,
    pub order_id: OrderId,
    /// `held`, `paid`, `released` (cancelled or refunded before the group succeeded) or
    /// `refunded` (refunded after it succeeded).
    pub seat: String,
}

impl App {
    /// Starts a group-buy campaign on one of the merchant's SKUs (owner or manager).
    pub async fn create_group_campaign(
        &self,
        who: &Principal,
        merchant_id: &MerchantId,
        input: CampaignInput,
    ) -> AppResult<Campaign> {
        let now = self.now_ms();
        let starts = match &input.starts_at {
            Some(s) => parse_time("starts_at", s)?,
            None => now,
        };
        let ends = parse_time("ends_at", &input.ends_at)?;
        let title = input
            .title
            .as_deref()
            .map(|t| BoundedText::parse("title", t, 1, 60).map(BoundedText::into_string))
            .transpose()?;
        let sku_id = parse_id(&input.sku_id)
            .ok_or_else(|| AppError::invalid("sku_id", "is not a SKU id"))?;
        let (who, mid) = (who.clone(), merchant_id.to_owned());
        self.db
            .write(move |c| {
                require_staff(c, &who, &mid, StaffNeed::AnyStaff)?;
                merchant_status(c, &mid)?.ensure_trading()?;
                let sku = catalog::sku_for_checkout(c, &mid, &sku_id).map_err(|e| match e {
                    AppError::NotFound(_) => AppError::invalid("sku_id", "is not a SKU of this merchant"),
                    AppError::Conflict { .. } => AppError::invalid("sku_id", "its product is not on sale"),
                    other => other,
                })?;
                let plan = commissions::load_plan(c, &mid)?;
                let commission = input
                    .commission
                    .unwrap_or_else(|| plan.as_ref().is_some_and(|p| p.group_buy_commission));
                let leader_bp = input
                    .leader_bp
                    .unwrap_or_else(|| plan.as_ref().map_or(0, |p| p.rates.group_leader_bp));
                let terms = CampaignTerms {
                    group_size: input.group_size,
                    group_price: Fen::new(input.group_price_fen),
                    leader_price: input.leader_price_fen.map(Fen::new),
                    duration_secs: input.duration_secs.unwrap_or(group_buy::DEFAULT_DURATION_SECS),
                    starts_at_ms: starts,
                    ends_at_ms: ends,
                    stock_limit: input.stock_limit,
                    per_member_limit: input.per_member_limit.unwrap_or(1),
                    leader_bp,
                }
                .validate(Fen::new(sku.list_price_fen))?;
                if commission {
                    let plan = plan.as_ref().ok_or_else(|| {
                        AppError::invalid("commission", "set a commission plan first")
                    })?;
                    let others: i64 = plan.rates.levels_bp.iter().sum::<i64>() + plan.rates.rebate_bp;
                    if others + terms.leader_bp > plan.cap_bp {
                        return Err(AppError::invalid(
                            "leader_bp",
                            format!("the plan's rates ({others} bp) plus the leader's must stay within its cap of {} bp", plan.cap_bp),
                        ));
                    }
                }
                let id = new_id();
                store::insert_campaign(c, now, &store::NewCampaign {
                    id: &id,
                    merchant_id: &mid,
                    product_id: &sku.product_id,
                    sku_id: &sku.sku_id,
                    title: title.as_deref().unwrap_or(&sku.product_name),
                    terms: &terms,
                    commission,
                })?;
                outbox::emit(c, now, "group_campaign.created", Some(&mid), &id, &serde_json::json!({
                    "campaign_id": id, "sku_id": sku.sku_id, "group_size": terms.group_size,
                }))?;
                load_campaign(c, &id, now)
            })
            .await
    }

    /// Stops a campaign: no new groups or seats; groups already gathering fail at expiry
    /// unless they filled.
    pub async fn end_group_campaign(
        &self,
        who: &Principal,
        campaign_id: &CampaignId,
    ) -> AppResult<Campaign> {
        let now = self.now_ms();
        let (who, id) = (who.clone(), campaign_id.to_owned());
        self.db
            .write(move |c| {
                let campaign = load_campaign(c, &id, now)?;
                require_staff(c, &who, &campaign.merchant_id, StaffNeed::AnyStaff)?;
                if !campaign.status.can_end() {
                    return Ok(campaign);
                }
                store::end_campaign(c, now, &campaign.id)?;
                outbox::emit(
                    c,
                    now,
                    "group_campaign.ended",
                    Some(&campaign.merchant_id),
                    &campaign.id,
                    &serde_json::json!({ "campaign_id": campaign.id }),
                )?;
                load_campaign(c, &campaign.id, now)
            })
            .await
    }

    /// A campaign (public).
    pub async fn group_campaign(&self, campaign_id: &CampaignId) -> AppResult<Campaign> {
        let now = self.now_ms();
        let id = campaign_id.to_owned();
        self.db.read(move |c| load_campaign(c, &id, now)).await
    }

    /// A merchant's campaigns, newest first (public; the merchant must exist).
    pub async fn group_campaigns(&self, merchant_id: &MerchantId) -> AppResult<Vec<Campaign>> {
        let now = self.now_ms();
        let mid = merchant_id.clone();
        self.db
            .read(move |c| {
                merchant_status(c, &mid)?;
                store::merchant_campaigns(c, &mid, now)
            })
            .await
    }

    /// Groups of a campaign that can be joined now, closest to completion first (fewest
    /// seats left, then soonest to expire): joining a nearly full group of strangers is
    /// the quickest way to the group price.
    pub async fn joinable_groups(&self, campaign_id: &CampaignId) -> AppResult<Vec<Group>> {
        let now = self.now_ms();
        let id = campaign_id.to_owned();
        self.db
            .read(move |c| {
                let campaign = load_campaign(c, &id, now)?;
                let ids = store::joinable_group_ids(c, &campaign.id, now, JOINABLE_LIMIT)?;
                ids.iter().map(|g| group_view(c, g, now)).collect()
            })
            .await
    }

    /// A group (public): seats, members' display names, time left.
    pub async fn group(&self, group_id: &GroupId) -> AppResult<Group> {
        let now = self.now_ms();
        let id = group_id.to_owned();
        self.db.read(move |c| group_view(c, &id, now)).await
    }

    /// Opens a group as its leader: the leader's order to pay (at the leader price); the
    /// group becomes joinable once it is paid.
    pub async fn open_group(
        &self,
        who: &Principal,
        campaign_id: &CampaignId,
        input: SeatInput,
    ) -> AppResult<Seat> {
        self.seat(who, campaign_id.to_string(), None, input).await
    }

    /// Joins a gathering group: a seat and its order to pay (at the group price).
    pub async fn join_group(
        &self,
        who: &Principal,
        group_id: &GroupId,
        input: SeatInput,
    ) -> AppResult<Seat> {
        let gid = group_id.clone();
        let campaign = {
            let gid = gid.clone();
            self.db
                .read(move |c| {
                    store::group_campaign_id(c, &gid)?.ok_or(AppError::NotFound("group"))
                })
                .await?
        };
        self.seat(who, campaign, Some(gid), input).await
    }

    async fn seat(
        &self,
        who: &Principal,
        campaign_id: String,
        group: Option<GroupId>,
        input: SeatInput,
    ) -> AppResult<Seat> {
        let (address, pickup_store) = orders::parse_delivery(
            input.delivery,
            input.address.clone(),
            input.pickup_store_id.clone(),
        )?;
        let campaign_id = parse_id(&campaign_id).ok_or(AppError::NotFound("group-buy campaign"))?;
        self.rate_limit(who, crate::platform::limits::Action::Checkout)
            .await?;
        let now = self.now_ms();
        let me = who.account_id.clone();
        self.db
            .write(move |c| {
                let (group_id, order_id) = take_seat(
                    c,
                    now,
                    &me,
                    &campaign_id,
                    group.as_deref(),
                    (input.delivery, address.as_ref(), pickup_store.as_deref()),
                    (input.coupon_id.as_deref(), input.points.unwrap_or(0)),
                )?;
                let o = orders::lock_order(c, &order_id)?;
                Ok(Seat {
                    order: orders::order_view(c, &o, true)?,
                    group: group_view(c, &group_id, now)?,
                })
            })
            .await
    }

    /// The caller's group-buy seats, newest first.
    /// The group the caller's order took a seat in (none for an order of theirs outside a
    /// group-buy, and for anyone else's order).
    pub async fn group_of_my_order(
        &self,
        who: &Principal,
        order_id: &OrderId,
    ) -> AppResult<Option<GroupId>> {
        let (me, oid) = (who.account_id.clone(), order_id.to_string());
        self.db
            .read(move |c| Ok(store::group_of_order(c, &me, &oid)?.map(GroupId::from_row)))
            .await
    }

    pub async fn my_groups(&self, who: &Principal) -> AppResult<Vec<MySeat>> {
        let now = self.now_ms();
        let me = who.account_id.clone();
        self.db
            .read(move |c| {
                let rows = store::member_seats(c, &me)?;
                rows.into_iter()
                    .map(|(group, order, seat)| {
                        Ok(MySeat {
                            group: group_view(c, &group, now)?,
                            order_id: OrderId::from_row(order),
                            seat,
                        })
                    })
                    .collect()
            })
            .await
    }
}
