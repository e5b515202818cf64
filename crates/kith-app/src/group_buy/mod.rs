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
//!   a campaign stops new groups; groups gathering may still fill until they expire. A paid seat waits in `awaiting_group`
//!   ([`on_paid`], called by `orders::mark_paid`); the last paid seat makes the group
//!   `succeeded` and every order in it moves to fulfilment, its commission booked then (the
//!   group leader's share included, capped by the plan).
//! - A seat is released when its order is cancelled or refunded before success
//!   ([`on_released`], called by `orders`): if it was the leader's, the earliest paid member
//!   leads; with nobody paid left, the group fails.
//! - At expiry (job `group.expire`) a group that has not filled fails: unpaid orders are
//!   cancelled, paid ones refunded in full through their provider, stock released. A
//!   payment arriving after that is returned at once (`payments`, [`takes_payment`]).
//! - Every change emits an outbox event: `group.opened`, `group.joined`,
//!   `group.seat_released`, `group.leader_changed`, `group.succeeded`, `group.failed`.

use kith_domain::group_buy::{self, CampaignTerms, GroupState, GroupStatus};
use kith_domain::order::{DeliveryMethod, OrderStatus};
use kith_domain::{BoundedText, Fen, Quantity};
use kith_store::{Conn, Row, args};
use serde::{Deserialize, Serialize};

use crate::commerce::lifecycle::{self, Lifecycle, OrderHook};
use crate::commerce::orders::{self, Actor, Address, NewOrder, Order};
use crate::events::jobs::{ClaimedJob, Job, JobError, JobRegistry};
use crate::platform::auth::{StaffNeed, merchant_status, require_staff};
use crate::platform::ids::{new_id, parse_id};
use crate::{
    App, AppError, AppResult, Principal, commerce::catalog, events::jobs, money::commissions,
    platform::outbox, rfc3339,
};

/// The `group.expire` job: a group still gathering at its expiry fails (payload
/// `{"group_id": "…"}`).
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct ExpireGroup {
    pub group_id: String,
}

impl Job for ExpireGroup {
    const KIND: &'static str = "group.expire";
    const MAX_ATTEMPTS: i64 = 5;

    async fn run(self, app: &App, _attempt: &ClaimedJob) -> Result<(), JobError> {
        Ok(expire_group(app, self.group_id).await?)
    }
}

/// Registers this context's jobs (called once when the [`App`] is built).
pub(crate) fn register_jobs(jobs: &mut JobRegistry) {
    jobs.register::<ExpireGroup>();
}

/// A group-buy seat as a kind of order, plugged into the order lifecycle
/// ([`crate::commerce::lifecycle`]) when the [`App`] is built: the seat's group is locked
/// before the order's stock, a payment is taken only while the seat is live and its group
/// gathering, a paid seat holds its order until the group succeeds, and a cancelled or
/// refunded order gives its seat back. Orders without a seat pass through unchanged.
#[derive(Debug, Clone, Copy, Default)]
pub(crate) struct GroupSeats;

impl OrderHook for GroupSeats {
    fn lock(&self, c: &mut dyn Conn, order_id: &str) -> AppResult<()> {
        lock_group_of(c, order_id)
    }

    fn takes_payment(&self, c: &mut dyn Conn, now: i64, order_id: &str) -> AppResult<bool> {
        takes_payment(c, now, order_id)
    }

    fn on_paid(&self, c: &mut dyn Conn, now: i64, o: &orders::OrderRow) -> AppResult<bool> {
        on_paid(c, now, o)
    }

    fn on_released(
        &self,
        c: &mut dyn Conn,
        lc: &Lifecycle,
        now: i64,
        o: &orders::OrderRow,
    ) -> AppResult<()> {
        on_released(c, lc, now, o)
    }
}
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
}

#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct Campaign {
    pub id: String,
    pub merchant_id: String,
    pub product_id: String,
    pub sku_id: String,
    pub title: String,
    pub product_name: String,
    pub sku_code: String,
    pub list_price_fen: i64,
    pub group_price_fen: i64,
    /// `null`: the leader pays the group price; 0: the leader is free (团长免单).
    pub leader_price_fen: Option<i64>,
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
    /// `active` or `ended` (stopped by the merchant).
    pub status: String,
    /// Whether a group can be opened now: active, inside its window, seats left.
    pub open_for_groups: bool,
    pub created_at: String,
}

#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct GroupMember {
    pub display_name: String,
    pub is_leader: bool,
    /// Paid (or only holding a seat with an unpaid order).
    pub paid: bool,
}

#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct Group {
    pub id: String,
    pub campaign_id: String,
    pub merchant_id: String,
    pub title: String,
    pub product_id: String,
    pub group_price_fen: i64,
    pub list_price_fen: i64,
    pub status: GroupStatus,
    pub size: i64,
    pub paid_seats: i64,
    pub held_seats: i64,
    /// Seats nobody holds yet.
    pub seats_left: i64,
    pub leader_id: String,
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
    pub order_id: String,
    /// `held`, `paid`, `released` (cancelled or refunded before the group succeeded) or
    /// `refunded` (refunded after it succeeded).
    pub seat: String,
}

fn parse_time(field: &str, s: &str) -> AppResult<i64> {
    let t = time::OffsetDateTime::parse(s, &time::format_description::well_known::Rfc3339)
        .map_err(|_| AppError::invalid(field, "must be an RFC 3339 time"))?;
    Ok((t.unix_timestamp_nanos() / 1_000_000) as i64)
}

kith_store::columns!(CampaignCols {
    "c.id" => id,
    "c.merchant_id" => merchant_id,
    "c.product_id" => product_id,
    "c.sku_id" => sku_id,
    "c.title" => title,
    "p.name" => product_name,
    "s.code" => sku_code,
    "s.list_price_fen" => list_price_fen,
    "c.group_price_fen" => group_price_fen,
    "c.leader_price_fen" => leader_price_fen,
    "c.group_size" => group_size,
    "c.duration_secs" => duration_secs,
    "c.starts_at" => starts_at,
    "c.ends_at" => ends_at,
    "c.stock_limit" => stock_limit,
    "c.seats_taken" => seats_taken,
    "c.per_member_limit" => per_member_limit,
    "c.commission" => commission,
    "c.leader_bp" => leader_bp,
    "c.status" => status,
    "c.created_at" => created_at,
});
const CAMPAIGN_COLS: &str = CampaignCols::LIST;
const CAMPAIGN_FROM: &str =
    "group_campaigns c JOIN products p ON p.id = c.product_id JOIN skus s ON s.id = c.sku_id";

fn campaign_view(r: &Row, now: i64) -> AppResult<Campaign> {
    let (starts, ends, limit, taken, status) = (
        r.int(CampaignCols::starts_at)?,
        r.int(CampaignCols::ends_at)?,
        r.int(CampaignCols::stock_limit)?,
        r.int(CampaignCols::seats_taken)?,
        r.text(CampaignCols::status)?,
    );
    Ok(Campaign {
        id: r.text(CampaignCols::id)?,
        merchant_id: r.text(CampaignCols::merchant_id)?,
        product_id: r.text(CampaignCols::product_id)?,
        sku_id: r.text(CampaignCols::sku_id)?,
        title: r.text(CampaignCols::title)?,
        product_name: r.text(CampaignCols::product_name)?,
        sku_code: r.text(CampaignCols::sku_code)?,
        list_price_fen: r.int(CampaignCols::list_price_fen)?,
        group_price_fen: r.int(CampaignCols::group_price_fen)?,
        leader_price_fen: r.opt_int(CampaignCols::leader_price_fen)?,
        group_size: r.int(CampaignCols::group_size)?,
        duration_secs: r.int(CampaignCols::duration_secs)?,
        starts_at: rfc3339(starts),
        ends_at: rfc3339(ends),
        stock_limit: limit,
        seats_taken: taken,
        seats_left: limit - taken,
        per_member_limit: r.int(CampaignCols::per_member_limit)?,
        commission: r.int(CampaignCols::commission)? != 0,
        leader_bp: r.int(CampaignCols::leader_bp)?,
        open_for_groups: status == "active"
            && starts <= now
            && now < ends
            && taken + r.int(CampaignCols::group_size)? <= limit,
        status,
        created_at: rfc3339(r.int(CampaignCols::created_at)?),
    })
}

fn load_campaign(c: &mut dyn Conn, id: &str, now: i64) -> AppResult<Campaign> {
    let id = parse_id(id).ok_or(AppError::NotFound("group-buy campaign"))?;
    let r = c
        .query_opt(
            &format!("SELECT {CAMPAIGN_COLS} FROM {CAMPAIGN_FROM} WHERE c.id = $1"),
            args![&id],
        )?
        .ok_or(AppError::NotFound("group-buy campaign"))?;
    campaign_view(&r, now)
}

/// A group row as the rules need it.
struct GroupRow {
    id: String,
    campaign_id: String,
    merchant_id: String,
    state: GroupState,
}

kith_store::columns!(GroupCols {
    id,
    campaign_id,
    merchant_id,
    leader_id,
    size,
    held_seats,
    paid_seats,
    status,
    expires_at,
});
const GROUP_COLS: &str = GroupCols::LIST;

fn group_row(r: &Row) -> AppResult<GroupRow> {
    Ok(GroupRow {
        id: r.text(GroupCols::id)?,
        campaign_id: r.text(GroupCols::campaign_id)?,
        merchant_id: r.text(GroupCols::merchant_id)?,
        state: GroupState {
            leader: r.text(GroupCols::leader_id)?,
            size: r.int(GroupCols::size)?,
            held: r.int(GroupCols::held_seats)?,
            paid: r.int(GroupCols::paid_seats)?,
            status: GroupStatus::from_db(&r.text(GroupCols::status)?)
                .ok_or_else(|| AppError::Internal("unknown group status".into()))?,
            expires_at_ms: r.opt_int(GroupCols::expires_at)?,
        },
    })
}

/// Loads a group, locking it on PostgreSQL (seat changes serialise on the group's row).
fn lock_group(c: &mut dyn Conn, group_id: &str) -> AppResult<GroupRow> {
    let sql = format!(
        "SELECT {GROUP_COLS} FROM buy_groups WHERE id = $1{}",
        c.for_update()
    );
    let r = c
        .query_opt(&sql, args![group_id])?
        .ok_or(AppError::NotFound("group"))?;
    group_row(&r)
}

fn group_view(c: &mut dyn Conn, group_id: &str, now: i64) -> AppResult<Group> {
    let id = parse_id(group_id).ok_or(AppError::NotFound("group"))?;
    let r = c
        .query_opt(
            "SELECT g.id, g.campaign_id, g.merchant_id, c.title, c.product_id, c.group_price_fen, s.list_price_fen, g.status, g.size,
                    g.paid_seats, g.held_seats, g.leader_id, a.display_name, g.expires_at, g.fail_reason, g.created_at, g.ended_at
             FROM buy_groups g JOIN group_campaigns c ON c.id = g.campaign_id JOIN skus s ON s.id = c.sku_id
             JOIN accounts a ON a.id = g.leader_id WHERE g.id = $1",
            args![&id],
        )?
        .ok_or(AppError::NotFound("group"))?;
    let leader_id = r.text(11)?;
    let members = c
        .query(
            "SELECT a.id, a.display_name, s.state FROM group_seats s JOIN accounts a ON a.id = s.account_id
             WHERE s.group_id = $1 AND s.state IN ('held', 'paid') ORDER BY s.joined_at, s.order_id",
            args![&id],
        )?
        .iter()
        .map(|m| {
            Ok(GroupMember {
                is_leader: m.text(0)? == leader_id,
                display_name: m.text(1)?,
                paid: m.text(2)? == "paid",
            })
        })
        .collect::<AppResult<Vec<_>>>()?;
    let status = GroupStatus::from_db(&r.text(7)?)
        .ok_or_else(|| AppError::Internal("unknown group status".into()))?;
    let (size, held) = (r.int(8)?, r.int(10)?);
    let expires = r.opt_int(13)?;
    Ok(Group {
        id: r.text(0)?,
        campaign_id: r.text(1)?,
        merchant_id: r.text(2)?,
        title: r.text(3)?,
        product_id: r.text(4)?,
        group_price_fen: r.int(5)?,
        list_price_fen: r.int(6)?,
        status,
        size,
        paid_seats: r.int(9)?,
        held_seats: held,
        seats_left: if status.is_over() { 0 } else { size - held },
        leader_id,
        leader_name: r.text(12)?,
        expires_at: expires.map(rfc3339),
        seconds_left: expires.map(|e| ((e - now) / 1000).max(0)),
        members,
        fail_reason: r.opt_text(14)?,
        created_at: rfc3339(r.int(15)?),
        ended_at: r.opt_int(16)?.map(rfc3339),
    })
}

/// The live seat of an order: (group id, seat state).
fn seat_of(c: &mut dyn Conn, order_id: &str) -> AppResult<Option<(String, String)>> {
    c.query_opt(
        "SELECT group_id, state FROM group_seats WHERE order_id = $1 AND state IN ('held', 'paid')",
        args![order_id],
    )?
    .map(|r| Ok((r.text(0)?, r.text(1)?)))
    .transpose()
}

/// Locks the group of a group-buy order (if it is one) before the order's stock is
/// touched, so a cancel or refund takes its locks in the order a join does (group, then
/// stock).
fn lock_group_of(c: &mut dyn Conn, order_id: &str) -> AppResult<()> {
    if let Some((group_id, _)) = seat_of(c, order_id)? {
        lock_group(c, &group_id)?;
    }
    Ok(())
}

/// Whether an order's payment may be taken now: always for an ordinary order; for a
/// group-buy order, only while its seat is live and its group still gathering.
fn takes_payment(c: &mut dyn Conn, now: i64, order_id: &str) -> AppResult<bool> {
    let Some(r) = c.query_opt(
        "SELECT g.id, s.state FROM group_seats s JOIN buy_groups g ON g.id = s.group_id WHERE s.order_id = $1",
        args![order_id],
    )?
    else {
        return Ok(true);
    };
    if r.text(1)? != "held" {
        return Ok(false);
    }
    let g = lock_group(c, &r.text(0)?)?;
    Ok(group_buy::takes_payment(&g.state, now))
}

fn emit(
    c: &mut dyn Conn,
    now: i64,
    topic: &str,
    g: &GroupRow,
    extra: serde_json::Value,
) -> AppResult<()> {
    let mut payload = serde_json::json!({
        "group_id": g.id, "campaign_id": g.campaign_id, "leader_id": g.state.leader,
    });
    if let (Some(p), serde_json::Value::Object(e)) = (payload.as_object_mut(), extra) {
        p.extend(e);
    }
    outbox::emit(c, now, topic, Some(&g.merchant_id), &g.id, &payload)?;
    Ok(())
}

/// A group-buy order was paid (inside `orders::mark_paid`): its seat is paid and the order
/// waits for the group; the leader's payment opens the group and starts its clock; the
/// last seat makes it succeed. `false` for an ordinary order.
fn on_paid(c: &mut dyn Conn, now: i64, o: &orders::OrderRow) -> AppResult<bool> {
    let Some((group_id, state)) = seat_of(c, &o.id)? else {
        return Ok(false);
    };
    let g = lock_group(c, &group_id)?;
    if state != "held" || !group_buy::takes_payment(&g.state, now) {
        return Err(AppError::state(
            "the group-buy group is no longer gathering payments",
        ));
    }
    c.execute(
        "UPDATE group_seats SET state = 'paid', paid_at = $1 WHERE order_id = $2",
        args![now, &o.id],
    )?;
    orders::await_group(c, now, o)?;
    let paid = g.state.paid + 1;
    if g.state.status == GroupStatus::Opening {
        let duration: i64 = c
            .query_one(
                "SELECT duration_secs FROM group_campaigns WHERE id = $1",
                args![&g.campaign_id],
            )?
            .int(0)?;
        let expires = now + duration * 1000;
        c.execute(
            "UPDATE buy_groups SET paid_seats = paid_seats + 1, status = 'forming', opened_at = $1, expires_at = $2 WHERE id = $3",
            args![now, expires, &g.id],
        )?;
        jobs::enqueue(
            c,
            now,
            &ExpireGroup {
                group_id: g.id.clone(),
            },
            expires,
        )?;
        emit(
            c,
            now,
            "group.opened",
            &g,
            serde_json::json!({ "expires_at": rfc3339(expires), "size": g.state.size }),
        )?;
    } else {
        c.execute(
            "UPDATE buy_groups SET paid_seats = paid_seats + 1 WHERE id = $1",
            args![&g.id],
        )?;
        emit(
            c,
            now,
            "group.joined",
            &g,
            serde_json::json!({ "member_id": o.buyer_id, "order_id": o.id, "paid_seats": paid, "size": g.state.size }),
        )?;
    }
    if group_buy::after_payment(g.state.size, paid) == GroupStatus::Succeeded {
        succeed(c, now, &g)?;
    }
    Ok(true)
}

/// Every seat is paid: the group succeeds and each of its orders goes to the merchant, with
/// its commission booked (the group leader's share on members' orders included).
fn succeed(c: &mut dyn Conn, now: i64, g: &GroupRow) -> AppResult<()> {
    let n = c.execute(
        "UPDATE buy_groups SET status = 'succeeded', ended_at = $1 WHERE id = $2 AND status = 'forming'",
        args![now, &g.id],
    )?;
    if n == 0 {
        return Err(AppError::state("the group changed meanwhile; try again"));
    }
    let campaign = c.query_one(
        "SELECT commission, leader_bp FROM group_campaigns WHERE id = $1",
        args![&g.campaign_id],
    )?;
    let leader_bp = if campaign.int(0)? != 0 {
        campaign.int(1)?
    } else {
        0
    };
    let seats = c
        .query(
            "SELECT order_id FROM group_seats WHERE group_id = $1 AND state = 'paid' ORDER BY paid_at, order_id",
            args![&g.id],
        )?
        .iter()
        .map(|r| r.text(0))
        .collect::<Result<Vec<_>, _>>()?;
    for order_id in &seats {
        let o = orders::lock_order(c, order_id)?;
        if o.status != OrderStatus::AwaitingGroup {
            continue;
        }
        if leader_bp > 0 && o.buyer_id != g.state.leader {
            commissions::plan_group_leader(
                c,
                now,
                &o.id,
                &o.merchant_id,
                &g.state.leader,
                leader_bp,
            )?;
        }
        lifecycle::start_fulfilment(c, now, &o)?;
    }
    emit(
        c,
        now,
        "group.succeeded",
        g,
        serde_json::json!({ "order_ids": seats, "size": g.state.size }),
    )
}

/// An order of a group was cancelled or refunded in full (inside `orders`). Before the
/// group succeeded its seat is released — free again for someone else (the group keeps its
/// seats from the campaign) — and if it was the leader's the earliest paid member leads, or,
/// with nobody paid left, the group fails. After success the seat is marked `refunded`: it
/// was sold, and no longer counts toward the member's limit. A failed group's counts stay
/// as they were when it failed.
fn on_released(c: &mut dyn Conn, lc: &Lifecycle, now: i64, o: &orders::OrderRow) -> AppResult<()> {
    let Some((group_id, state)) = seat_of(c, &o.id)? else {
        return Ok(());
    };
    let g = lock_group(c, &group_id)?;
    let after = if g.state.status == GroupStatus::Succeeded {
        "refunded"
    } else {
        "released"
    };
    c.execute(
        "UPDATE group_seats SET state = $1 WHERE order_id = $2",
        args![after, &o.id],
    )?;
    if g.state.status.is_over() {
        return Ok(());
    }
    let was_paid = i64::from(state == "paid");
    c.execute(
        "UPDATE buy_groups SET held_seats = held_seats - 1, paid_seats = paid_seats - $1 WHERE id = $2",
        args![was_paid, &g.id],
    )?;
    emit(
        c,
        now,
        "group.seat_released",
        &g,
        serde_json::json!({ "member_id": o.buyer_id, "order_id": o.id, "was_paid": state == "paid" }),
    )?;
    if o.buyer_id != g.state.leader {
        return Ok(());
    }
    let paid = c
        .query(
            "SELECT account_id, paid_at FROM group_seats WHERE group_id = $1 AND state = 'paid'",
            args![&g.id],
        )?
        .iter()
        .map(|r| Ok((r.text(0)?, r.int(1)?)))
        .collect::<AppResult<Vec<_>>>()?;
    match group_buy::next_leader(paid.iter().map(|(m, at)| (m.as_str(), *at))) {
        Some(next) => {
            c.execute(
                "UPDATE buy_groups SET leader_id = $1 WHERE id = $2",
                args![next, &g.id],
            )?;
            emit(
                c,
                now,
                "group.leader_changed",
                &g,
                serde_json::json!({ "new_leader_id": next }),
            )
        }
        None => fail(
            c,
            lc,
            now,
            &g.id,
            if g.state.status == GroupStatus::Opening {
                "the leader's order was not paid"
            } else {
                "the leader's order was refunded and no other member has paid"
            },
        ),
    }
}

/// The group failed: unpaid orders are cancelled, paid ones refunded in full through their
/// provider, stock and the campaign's seats released. A no-op if it is over already.
fn fail(c: &mut dyn Conn, lc: &Lifecycle, now: i64, group_id: &str, reason: &str) -> AppResult<()> {
    let n = c.execute(
        "UPDATE buy_groups SET status = 'failed', ended_at = $1, fail_reason = $2 WHERE id = $3 AND status IN ('opening', 'forming')",
        args![now, reason, group_id],
    )?;
    if n == 0 {
        return Ok(());
    }
    let campaign: String = c
        .query_one(
            "SELECT campaign_id FROM buy_groups WHERE id = $1",
            args![group_id],
        )?
        .text(0)?;
    c.execute(
        "UPDATE group_campaigns SET seats_taken = seats_taken - (SELECT size FROM buy_groups WHERE id = $1), updated_at = $2 WHERE id = $3",
        args![group_id, now, &campaign],
    )?;
    let seats = c
        .query(
            "SELECT order_id FROM group_seats WHERE group_id = $1 AND state IN ('held', 'paid') ORDER BY joined_at, order_id",
            args![group_id],
        )?
        .iter()
        .map(|r| r.text(0))
        .collect::<Result<Vec<_>, _>>()?;
    let note = format!("group-buy failed: {reason}");
    for order_id in &seats {
        let o = orders::lock_order(c, order_id)?;
        match o.status {
            OrderStatus::PendingPayment => orders::cancel(c, lc, now, &o, Actor::System, &note)?,
            OrderStatus::Paid | OrderStatus::AwaitingGroup => {
                crate::commerce::refunds::refund_everything(c, lc, now, &o, &note, Actor::System)?
            }
            _ => on_released(c, lc, now, &o)?,
        }
    }
    let g = lock_group(c, group_id)?;
    emit(
        c,
        now,
        "group.failed",
        &g,
        serde_json::json!({ "reason": reason, "order_ids": seats }),
    )
}

/// Fails a group still gathering at its expiry. A no-op when it has moved on (the job may
/// run late or twice).
pub async fn expire_group(app: &App, gid: String) -> AppResult<()> {
    let now = app.now_ms();
    let lc = app.lifecycle.clone();
    app.db
        .write(move |c| {
            // Locks in the order a join takes them (campaign, then group).
            let campaign = c
                .query_opt(
                    "SELECT campaign_id FROM buy_groups WHERE id = $1",
                    args![&gid],
                )?
                .ok_or(AppError::NotFound("group"))?
                .text(0)?;
            c.query_opt(
                &format!(
                    "SELECT id FROM group_campaigns WHERE id = $1{}",
                    c.for_update()
                ),
                args![&campaign],
            )?;
            let g = lock_group(c, &gid)?;
            let due = g.state.expires_at_ms.is_some_and(|e| now >= e);
            if g.state.status == GroupStatus::Forming && due {
                fail(
                    c,
                    &lc,
                    now,
                    &g.id,
                    "the time ran out before every seat was paid",
                )?;
            }
            Ok(())
        })
        .await
}

/// Takes a seat for `who` (a new group when `group` is `None`) and places its order.
fn take_seat(
    c: &mut dyn Conn,
    now: i64,
    who: &str,
    campaign_id: &str,
    group: Option<&str>,
    (delivery, address, pickup_store): (DeliveryMethod, Option<&Address>, Option<&str>),
) -> AppResult<(String, String)> {
    // The campaign's row first: it serialises every seat of the campaign, so the
    // per-member count below cannot race with the same member's other seats. A group
    // opening takes all its seats from the campaign at once (so every group opened can
    // fill); joining takes one of its group's.
    let campaign = match group {
        None => {
            let n = c.execute(
                "UPDATE group_campaigns SET seats_taken = seats_taken + group_size, updated_at = $1
                 WHERE id = $2 AND status = 'active' AND seats_taken + group_size <= stock_limit AND starts_at <= $1 AND ends_at > $1",
                args![now, campaign_id],
            )?;
            let campaign = load_campaign(c, campaign_id, now)?;
            if n == 0 {
                return Err(if campaign.status != "active" {
                    AppError::state("the campaign has ended")
                } else if campaign.seats_left < campaign.group_size {
                    AppError::state("the campaign is sold out: no seats left for a new group")
                } else {
                    AppError::state("the campaign is not running now: no new groups can be opened")
                });
            }
            campaign
        }
        Some(_) => {
            c.query_opt(
                &format!(
                    "SELECT id FROM group_campaigns WHERE id = $1{}",
                    c.for_update()
                ),
                args![campaign_id],
            )?
            .ok_or(AppError::NotFound("group-buy campaign"))?;
            load_campaign(c, campaign_id, now)?
        }
    };
    merchant_status(c, &campaign.merchant_id)?.ensure_trading()?;
    let (group_id, unit, deadline) = match group {
        None => {
            let id = new_id();
            c.execute(
                "INSERT INTO buy_groups (id, campaign_id, merchant_id, leader_id, size, held_seats, paid_seats, status, created_at)
                 VALUES ($1, $2, $3, $4, $5, 1, 0, 'opening', $6)",
                args![&id, campaign_id, &campaign.merchant_id, who, campaign.group_size, now],
            )?;
            let unit = campaign
                .leader_price_fen
                .unwrap_or(campaign.group_price_fen);
            (id, unit, None)
        }
        Some(gid) => {
            let g = lock_group(c, gid)?;
            if g.campaign_id != campaign.id {
                return Err(AppError::NotFound("group"));
            }
            let inside = c
                .query_opt(
                    "SELECT 1 FROM group_seats WHERE group_id = $1 AND account_id = $2 AND state IN ('held', 'paid')",
                    args![gid, who],
                )?
                .is_some();
            group_buy::can_join(&g.state, who, inside, now)
                .map_err(|r| AppError::state(r.message()))?;
            let n = c.execute(
                "UPDATE buy_groups SET held_seats = held_seats + 1 WHERE id = $1 AND status = 'forming' AND held_seats < size AND expires_at > $2",
                args![gid, now],
            )?;
            if n == 0 {
                return Err(AppError::state(group_buy::JoinRefusal::Full.message()));
            }
            let terms = orders::merchant_terms(c, &campaign.merchant_id)?;
            let expires = g.state.expires_at_ms.unwrap_or(now);
            let deadline = (now + terms.unpaid_timeout_ms).min(expires);
            (gid.to_owned(), campaign.group_price_fen, Some(deadline))
        }
    };
    let mine = c
        .query_one(
            "SELECT COUNT(*) FROM group_seats WHERE campaign_id = $1 AND account_id = $2 AND state IN ('held', 'paid')",
            args![campaign_id, who],
        )?
        .int(0)?;
    if mine >= campaign.per_member_limit {
        return Err(AppError::state(format!(
            "you have reached this campaign's limit of {} per member",
            campaign.per_member_limit
        )));
    }
    let sku = catalog::sku_for_checkout(c, &campaign.merchant_id, &campaign.sku_id)?;
    let location = orders::fulfilling_location(c, now, &campaign.merchant_id, pickup_store)?;
    let lines = [(sku, Fen::new(unit), Quantity::parse(1)?)];
    let order_id = orders::place(
        c,
        now,
        NewOrder {
            merchant_id: &campaign.merchant_id,
            buyer: who,
            delivery,
            location: &location,
            pickup_store,
            tier: None,
            address,
            lines: &lines,
            deadline,
            earns: campaign.commission,
        },
    )
    .map_err(|e| match e {
        AppError::Conflict { .. } => AppError::state("the campaign's product is out of stock"),
        other => other,
    })?;
    c.execute(
        "INSERT INTO group_seats (order_id, group_id, campaign_id, account_id, state, joined_at) VALUES ($1, $2, $3, $4, 'held', $5)",
        args![&order_id, &group_id, campaign_id, who, now],
    )?;
    Ok((group_id, order_id))
}

impl App {
    /// Starts a group-buy campaign on one of the merchant's SKUs (owner or manager).
    pub async fn create_group_campaign(
        &self,
        who: &Principal,
        merchant_id: &str,
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
                c.execute(
                    "INSERT INTO group_campaigns (id, merchant_id, product_id, sku_id, title, group_size, group_price_fen, leader_price_fen,
                        duration_secs, starts_at, ends_at, stock_limit, seats_taken, per_member_limit, commission, leader_bp, status, created_at, updated_at)
                     VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, 0, $13, $14, $15, 'active', $16, $16)",
                    args![&id, &mid, &sku.product_id, &sku.sku_id, title.as_deref().unwrap_or(&sku.product_name), terms.group_size,
                          terms.group_price.get(), terms.leader_price.map(Fen::get), terms.duration_secs, terms.starts_at_ms,
                          terms.ends_at_ms, terms.stock_limit, terms.per_member_limit, commission, terms.leader_bp, now],
                )?;
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
        campaign_id: &str,
    ) -> AppResult<Campaign> {
        let now = self.now_ms();
        let (who, id) = (who.clone(), campaign_id.to_owned());
        self.db
            .write(move |c| {
                let campaign = load_campaign(c, &id, now)?;
                require_staff(c, &who, &campaign.merchant_id, StaffNeed::AnyStaff)?;
                if campaign.status == "ended" {
                    return Ok(campaign);
                }
                c.execute(
                    "UPDATE group_campaigns SET status = 'ended', updated_at = $1 WHERE id = $2",
                    args![now, &campaign.id],
                )?;
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
    pub async fn group_campaign(&self, campaign_id: &str) -> AppResult<Campaign> {
        let now = self.now_ms();
        let id = campaign_id.to_owned();
        self.db.read(move |c| load_campaign(c, &id, now)).await
    }

    /// A merchant's campaigns, newest first (public; the merchant must exist).
    pub async fn group_campaigns(&self, merchant_id: &str) -> AppResult<Vec<Campaign>> {
        let now = self.now_ms();
        let mid = parse_id(merchant_id).ok_or(AppError::NotFound("merchant"))?;
        self.db
            .read(move |c| {
                merchant_status(c, &mid)?;
                c.query(
                    &format!("SELECT {CAMPAIGN_COLS} FROM {CAMPAIGN_FROM} WHERE c.merchant_id = $1 ORDER BY c.created_at DESC, c.id LIMIT 100"),
                    args![&mid],
                )?
                .iter()
                .map(|r| campaign_view(r, now))
                .collect()
            })
            .await
    }

    /// Groups of a campaign that can be joined now, closest to completion first (fewest
    /// seats left, then soonest to expire): joining a nearly full group of strangers is
    /// the quickest way to the group price.
    pub async fn joinable_groups(&self, campaign_id: &str) -> AppResult<Vec<Group>> {
        let now = self.now_ms();
        let id = campaign_id.to_owned();
        self.db
            .read(move |c| {
                let campaign = load_campaign(c, &id, now)?;
                let ids = c
                    .query(
                        "SELECT id FROM buy_groups WHERE campaign_id = $1 AND status = 'forming' AND held_seats < size AND expires_at > $2
                         ORDER BY size - held_seats, expires_at, id LIMIT $3",
                        args![&campaign.id, now, JOINABLE_LIMIT],
                    )?
                    .iter()
                    .map(|r| r.text(0))
                    .collect::<Result<Vec<_>, _>>()?;
                ids.iter().map(|g| group_view(c, g, now)).collect()
            })
            .await
    }

    /// A group (public): seats, members' display names, time left.
    pub async fn group(&self, group_id: &str) -> AppResult<Group> {
        let now = self.now_ms();
        let id = group_id.to_owned();
        self.db.read(move |c| group_view(c, &id, now)).await
    }

    /// Opens a group as its leader: the leader's order to pay (at the leader price); the
    /// group becomes joinable once it is paid.
    pub async fn open_group(
        &self,
        who: &Principal,
        campaign_id: &str,
        input: SeatInput,
    ) -> AppResult<Seat> {
        self.seat(who, campaign_id.to_owned(), None, input).await
    }

    /// Joins a gathering group: a seat and its order to pay (at the group price).
    pub async fn join_group(
        &self,
        who: &Principal,
        group_id: &str,
        input: SeatInput,
    ) -> AppResult<Seat> {
        let gid = parse_id(group_id).ok_or(AppError::NotFound("group"))?;
        let campaign = {
            let gid = gid.clone();
            self.db
                .read(move |c| {
                    c.query_opt(
                        "SELECT campaign_id FROM buy_groups WHERE id = $1",
                        args![&gid],
                    )?
                    .ok_or(AppError::NotFound("group"))?
                    .text(0)
                    .map_err(AppError::from)
                })
                .await?
        };
        self.seat(who, campaign, Some(gid), input).await
    }

    async fn seat(
        &self,
        who: &Principal,
        campaign_id: String,
        group: Option<String>,
        input: SeatInput,
    ) -> AppResult<Seat> {
        let (address, pickup_store) = orders::parse_delivery(
            input.delivery,
            input.address.clone(),
            input.pickup_store_id.clone(),
        )?;
        let campaign_id = parse_id(&campaign_id).ok_or(AppError::NotFound("group-buy campaign"))?;
        self.rate_limit(who, crate::platform::limits::Action::Checkout)?;
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
    pub async fn my_groups(&self, who: &Principal) -> AppResult<Vec<MySeat>> {
        let now = self.now_ms();
        let me = who.account_id.clone();
        self.db
            .read(move |c| {
                let rows = c.query(
                    "SELECT group_id, order_id, state FROM group_seats WHERE account_id = $1 ORDER BY joined_at DESC, order_id LIMIT 100",
                    args![&me],
                )?;
                rows.iter()
                    .map(|r| {
                        Ok(MySeat {
                            group: group_view(c, &r.text(0)?, now)?,
                            order_id: r.text(1)?,
                            seat: r.text(2)?,
                        })
                    })
                    .collect()
            })
            .await
    }
}
