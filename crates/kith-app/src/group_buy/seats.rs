//! Seats through an order's life: the `GroupSeats` hook the order lifecycle calls (a paid
//! seat holds its order until the group succeeds; a released seat is given back, and a group
//! left with no paid member fails), taking a seat when an order is placed, success, failure
//! and the `group.expire` job.

use kith_domain::Quantity;
use kith_domain::group_buy::{self, GroupStatus};
use kith_domain::order::{DeliveryMethod, OrderStatus};
use kith_store::Conn;
use serde::{Deserialize, Serialize};

use crate::commerce::lifecycle::{self, Lifecycle, OrderHook};
use crate::commerce::orders::{self, Actor, Address, NewOrder};
use crate::events::jobs::{ClaimedJob, Job, JobError, JobRegistry};
use crate::platform::auth::merchant_status;
use crate::platform::ids::new_id;
use crate::{
    App, AppError, AppResult, commerce::catalog, events::jobs, money::commissions,
    platform::outbox, rfc3339,
};

use super::GroupId;
/// The `group.expire` job: a group still gathering at its expiry fails (payload
use super::store::*;

/// The `group.expire` job: a group still gathering at its expiry fails (payload
/// `{"group_id": "…"}`).
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct ExpireGroup {
    pub group_id: GroupId,
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
    fn kind(&self) -> kith_domain::OrderKind {
        kith_domain::OrderKind::Group
    }

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
/// Locks the group of a group-buy order (if it is one) before the order's stock is
/// touched, so a cancel or refund takes its locks in the order a join does (group, then
/// stock).
pub(super) fn lock_group_of(c: &mut dyn Conn, order_id: &str) -> AppResult<()> {
    if let Some((group_id, _)) = seat_of(c, order_id)? {
        lock_group(c, &group_id)?;
    }
    Ok(())
}

/// Whether an order's payment may be taken now: always for an ordinary order; for a
/// group-buy order, only while its seat is live and its group still gathering.
pub(super) fn takes_payment(c: &mut dyn Conn, now: i64, order_id: &str) -> AppResult<bool> {
    let Some((group_id, state)) = seat_group(c, order_id)? else {
        return Ok(true);
    };
    if state != "held" {
        return Ok(false);
    }
    let g = lock_group(c, &group_id)?;
    Ok(group_buy::takes_payment(&g.state, now))
}

pub(super) fn emit(
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

/// A group-buy order was paid (inside `Lifecycle::paid`, through the `GroupSeats` hook): its seat is paid and the order
/// waits for the group; the leader's payment opens the group and starts its clock; the
/// last seat makes it succeed. `false` for an ordinary order.
pub(super) fn on_paid(c: &mut dyn Conn, now: i64, o: &orders::OrderRow) -> AppResult<bool> {
    let Some((group_id, state)) = seat_of(c, &o.id)? else {
        return Ok(false);
    };
    let g = lock_group(c, &group_id)?;
    if state != "held" || !group_buy::takes_payment(&g.state, now) {
        return Err(AppError::state(
            "the group-buy group is no longer gathering payments",
        ));
    }
    set_seat_paid(c, now, &o.id)?;
    orders::await_group(c, now, o)?;
    let paid = g.state.paid + 1;
    if g.state.status == GroupStatus::Opening {
        let duration = campaign_duration_secs(c, &g.campaign_id)?;
        let expires = now + duration * 1000;
        open_group(c, now, &g.id, expires)?;
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
        add_paid_seat(c, &g.id)?;
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
pub(super) fn succeed(c: &mut dyn Conn, now: i64, g: &GroupRow) -> AppResult<()> {
    if !set_succeeded(c, now, &g.id)? {
        return Err(AppError::state("the group changed meanwhile; try again"));
    }
    let (commission, leader_bp) = campaign_commission(c, &g.campaign_id)?;
    let leader_bp = if commission != 0 { leader_bp } else { 0 };
    let rows = paid_seats(c, &g.id)?;
    let seats: Vec<String> = rows.iter().map(|(o, _)| o.clone()).collect();
    let members = seat_members(&rows);
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
        serde_json::json!({ "order_ids": seats, "member_ids": members, "size": g.state.size }),
    )
}

/// An order of a group was cancelled or refunded in full (inside `orders`). Before the
/// group succeeded its seat is released — free again for someone else (the group keeps its
/// seats from the campaign) — and if it was the leader's the earliest paid member leads, or,
/// with nobody paid left, the group fails. After success the seat is marked `refunded`: it
/// was sold, and no longer counts toward the member's limit. A failed group's counts stay
/// as they were when it failed.
pub(super) fn on_released(
    c: &mut dyn Conn,
    lc: &Lifecycle,
    now: i64,
    o: &orders::OrderRow,
) -> AppResult<()> {
    let Some((group_id, state)) = seat_of(c, &o.id)? else {
        return Ok(());
    };
    let g = lock_group(c, &group_id)?;
    let after = if g.state.status == GroupStatus::Succeeded {
        "refunded"
    } else {
        "released"
    };
    set_seat_state(c, &o.id, after)?;
    if g.state.status.is_over() {
        return Ok(());
    }
    let was_paid = i64::from(state == "paid");
    release_seat(c, &g.id, was_paid)?;
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
    let paid = payers(c, &g.id)?;
    match group_buy::next_leader(paid.iter().map(|(m, at)| (m.as_str(), *at))) {
        Some(next) => {
            set_leader(c, &g.id, next)?;
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
pub(super) fn fail(
    c: &mut dyn Conn,
    lc: &Lifecycle,
    now: i64,
    group_id: &str,
    reason: &str,
) -> AppResult<()> {
    if !set_failed(c, now, group_id, reason)? {
        return Ok(());
    }
    let campaign = group_campaign_id(c, group_id)?.ok_or(AppError::NotFound("group"))?;
    return_group_seats(c, now, group_id, &campaign)?;
    let rows = live_seats(c, group_id)?;
    let seats: Vec<String> = rows.iter().map(|(o, _)| o.clone()).collect();
    let members = seat_members(&rows);
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
        serde_json::json!({ "reason": reason, "order_ids": seats, "member_ids": members }),
    )
}

/// The distinct members holding the seats of `(order_id, account_id)` rows, in row order:
/// who a group's events concern.
fn seat_members(rows: &[(String, String)]) -> Vec<String> {
    let mut members: Vec<String> = Vec::new();
    for (_, m) in rows {
        if !members.contains(m) {
            members.push(m.clone());
        }
    }
    members
}

/// Fails a group still gathering at its expiry. A no-op when it has moved on (the job may
/// run late or twice).
pub async fn expire_group(app: &App, gid: GroupId) -> AppResult<()> {
    let now = app.now_ms();
    let lc = app.lifecycle.clone();
    app.db
        .write(move |c| {
            // Locks in the order a join takes them (campaign, then group).
            let campaign = group_campaign_id(c, &gid)?.ok_or(AppError::NotFound("group"))?;
            lock_campaign_row(c, &campaign)?;
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

/// Takes a seat for `who` (a new group when `group` is `None`) and places its order, with
/// the buyer's coupon and the points they offer (`offers`), if any.
pub(super) fn take_seat(
    c: &mut dyn Conn,
    now: i64,
    who: &str,
    campaign_id: &str,
    group: Option<&str>,
    (delivery, address, pickup_store): (DeliveryMethod, Option<&Address>, Option<&str>),
    (coupon_id, points): (Option<&str>, i64),
) -> AppResult<(String, String)> {
    // The campaign's row first: it serialises every seat of the campaign, so the
    // per-member count below cannot race with the same member's other seats. A group
    // opening takes all its seats from the campaign at once (so every group opened can
    // fill); joining takes one of its group's.
    let campaign = match group {
        None => {
            let took = take_group_seats(c, now, campaign_id)?;
            let campaign = load_campaign(c, campaign_id, now)?;
            if !took {
                return Err(if !campaign.status.is_active() {
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
            lock_campaign_row(c, campaign_id)?.ok_or(AppError::NotFound("group-buy campaign"))?;
            load_campaign(c, campaign_id, now)?
        }
    };
    merchant_status(c, &campaign.merchant_id)?.ensure_trading()?;
    let (group_id, unit, deadline) = match group {
        None => {
            let id = new_id();
            insert_group(
                c,
                now,
                &id,
                campaign_id,
                &campaign.merchant_id,
                who,
                campaign.group_size,
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
            let inside = in_group(c, gid, who)?;
            group_buy::can_join(&g.state, who, inside, now)
                .map_err(|r| AppError::state(r.message()))?;
            if !hold_seat(c, now, gid)? {
                return Err(AppError::state(group_buy::JoinRefusal::Full.message()));
            }
            let terms = orders::merchant_terms(c, &campaign.merchant_id)?;
            let expires = g.state.expires_at_ms.unwrap_or(now);
            let deadline = (now + terms.unpaid_timeout_ms).min(expires);
            (gid.to_owned(), campaign.group_price_fen, Some(deadline))
        }
    };
    let mine = member_live_seats(c, campaign_id, who)?;
    if mine >= campaign.per_member_limit {
        return Err(AppError::state(format!(
            "you have reached this campaign's limit of {} per member",
            campaign.per_member_limit
        )));
    }
    let sku = catalog::sku_for_checkout(c, &campaign.merchant_id, &campaign.sku_id)?;
    let location = orders::fulfilling_location(c, now, &campaign.merchant_id, pickup_store)?;
    let lines = [(sku, unit, Quantity::parse(1)?)];
    let coupon = coupon_id
        .map(|cid| {
            crate::commerce::promotions::coupon_for_checkout(
                c,
                now,
                who,
                &campaign.merchant_id,
                cid,
                true,
            )
        })
        .transpose()?;
    let points = crate::loyalty::offer(c, &campaign.merchant_id, points, true)?;
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
            kind: kith_domain::OrderKind::Group,
            coupon,
            // The group price is the activity price: no 满减 on top of it.
            activities: false,
            points,
            terms: None,
        },
    )
    .map_err(|e| match e {
        // Only the stock refusal is reworded; a coupon's refusal keeps its rule's name.
        AppError::Conflict { field: Some(f), .. } if f.starts_with("items[") => {
            AppError::state("the campaign's product is out of stock")
        }
        other => other,
    })?;
    insert_seat(c, now, &order_id, &group_id, campaign_id, who)?;
    Ok((group_id, order_id))
}
