//! After payment: shipping and carrier tracking, store pickup (核销) with one-time codes,
//! delivery (by the buyer, a carrier's 签收 or the auto-confirm timer), and completion when
//! the after-sale window closes — the order's timers, which run as jobs.
//!
//! Stock reserved at checkout is committed on shipment or pickup; commission becomes frozen
//! at delivery or pickup and available at completion ([`crate::money::commissions`]).

use kith_domain::ledger::{EntryKind, JournalEntry, accounts};
use kith_domain::order::OrderStatus;
use kith_domain::{BoundedText, Fen};
use kith_store::Conn;
use rand::Rng;
use serde::{Deserialize, Serialize};

use super::orders::store::fulfilment as store;
use super::orders::{
    Actor, DAY_MS, Order, OrderCols, OrderRow, cancel, lines_remaining, lock_order, merchant_terms,
    notes, order_view, staff_order, transition,
};
use crate::events::jobs::{self, ClaimedJob, Job, JobError, JobRegistry};
use crate::money::ledger::{self, Refs};
use crate::platform::auth::{StaffNeed, require_clerk_of, require_staff};
use crate::platform::ids::{MerchantId, OrderId, StoreId};
use crate::{
    App, AppError, AppResult, Principal, commerce::inventory, money::commissions, rfc3339,
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

/// Turns reserved stock into shipped/picked-up stock.
fn commit_all(c: &mut dyn Conn, now: i64, o: &OrderRow) -> AppResult<()> {
    for (sku, qty) in lines_remaining(c, &o.id)? {
        inventory::commit(c, &o.location_id, &sku, qty, &o.id, now)?;
    }
    Ok(())
}

pub(crate) fn schedule(
    c: &mut dyn Conn,
    now: i64,
    timer: Timer,
    order_id: &str,
    at: i64,
) -> AppResult<()> {
    let order_id = order_id.to_owned();
    match timer {
        Timer::Expire => jobs::enqueue(c, now, &ExpireUnpaid { order_id }, at)?,
        Timer::AutoConfirm => jobs::enqueue(c, now, &AutoConfirm { order_id }, at)?,
        Timer::Complete => jobs::enqueue(c, now, &CompleteOrder { order_id }, at)?,
    };
    Ok(())
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
    store::set_delivered(c, now, &o.id, ends)?;
    transition(c, now, o, next, actor, note)?;
    commissions::on_delivered(c, now, &o.id, &o.merchant_id)?;
    schedule(c, now, Timer::Complete, &o.id, ends)
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
                    cancel(c, &lc, now, &o, Actor::System, notes::UNPAID_AT_DEADLINE)
                }
                Timer::AutoConfirm if o.status == OrderStatus::Shipped => {
                    deliver(c, now, &o, Actor::System, notes::RECEIPT_AUTO_CONFIRMED)
                }
                Timer::Complete
                    if matches!(o.status, OrderStatus::Delivered | OrderStatus::PickedUp) =>
                {
                    let ends = o.row.opt_int(OrderCols::after_sale_ends_at)?.unwrap_or(0);
                    if now < ends {
                        // Moved by a later delivery; its own job will come.
                        return Ok(());
                    }
                    if crate::commerce::aftersale::holds_order(c, &o.id)? {
                        // An open after-sale request pauses the window; when it ends the
                        // window resumes with the time it had left, and a new job comes.
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
    crate::loyalty::on_completed(c, now, &o.id)?;
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
    store::set_completed_at(c, now, &o.id)?;
    transition(
        c,
        now,
        o,
        next,
        Actor::System,
        notes::AFTERSALE_WINDOW_CLOSED,
    )
}

/// A carrier's tracking update (already authenticated by the caller). Idempotent on the
/// carrier's event id; `delivered` moves a shipped order to delivered. `description` is the
/// carrier's own words for the buyer's timeline, when it gave them.
#[allow(clippy::too_many_arguments)]
pub(crate) fn apply_tracking(
    c: &mut dyn Conn,
    now: i64,
    order_id: Option<&str>,
    carrier: &str,
    event_id: &str,
    tracking_no: &str,
    status: &str,
    occurred_ms: i64,
    description: Option<&str>,
) -> AppResult<TrackingOutcome> {
    // A subscription names its own order: a number a carrier reuses must not move another
    // order. The sandbox carrier's callback names only its number: the newest shipment.
    let o = store::shipment_order(c, order_id, carrier, tracking_no)?
        .ok_or(AppError::NotFound("shipment"))?;
    let inserted = store::insert_tracking_event(
        c,
        now,
        carrier,
        event_id,
        &o.id,
        status,
        occurred_ms,
        description,
    )?;
    if !inserted {
        return Ok(TrackingOutcome::Duplicate);
    }
    let o = lock_order(c, &o.id)?;
    if status == "delivered" && o.status == OrderStatus::Shipped {
        deliver(
            c,
            now,
            &o,
            Actor::Carrier,
            &format!("{carrier}{}", notes::DELIVERED_SUFFIX),
        )?;
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

/// What a code no order at this store has is: the only answer that counts as a guess.
/// A pickup order's goods are at its store: a one-time 8-digit code is issued for the store
/// and the order is ready for pickup (its event tells the buyer). Staff marking one order,
/// or a 接龙 consignment delivered to a leader's point, come through here.
pub(crate) fn ready_for_pickup(
    c: &mut dyn Conn,
    now: i64,
    o: &OrderRow,
    actor: Actor<'_>,
) -> AppResult<()> {
    let next = o.status.mark_ready(o.delivery)?;
    let store = o
        .pickup_store_id
        .clone()
        .ok_or_else(|| AppError::Internal("pickup order without store".into()))?;
    let oid = &o.id;
    // A live code is unique per store; on the rare collision draw again.
    for _ in 0..8 {
        let code = format!("{:08}", rand::rng().random_range(0..100_000_000u32));
        if !store::pickup_code_taken(c, &store, &code)? {
            store::insert_pickup_code(c, now, oid, &store, &code)?;
            return transition(c, now, o, next, actor, "");
        }
    }
    Err(AppError::Internal(
        "could not draw a free pickup code".into(),
    ))
}

const UNKNOWN_CODE: &str = "pickup code at this store";

impl App {
    /// Staff ship a shipping order: stock is committed, tracking recorded, and receipt is
    /// auto-confirmed after the merchant's `auto_confirm_days`.
    pub async fn ship_order(
        &self,
        who: &Principal,
        merchant_id: &MerchantId,
        order_id: &OrderId,
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
        let config = self.config.clone();
        self.db
            .write(move |c| {
                require_staff(c, &who, &mid, StaffNeed::AnyStaff)?;
                let o = staff_order(c, &mid, &oid)?;
                let next = o.status.ship(o.delivery)?;
                let terms = merchant_terms(c, &mid)?;
                commit_all(c, now, &o)?;
                let confirm_at = now + terms.auto_confirm_ms;
                store::set_shipped(c, now, &oid, &carrier, &tracking, confirm_at)?;
                transition(
                    c,
                    now,
                    &o,
                    next,
                    Actor::Staff(&who.account_id),
                    &crate::commerce::orders::notes::shipped(&carrier, &tracking),
                )?;
                schedule(c, now, Timer::AutoConfirm, &oid, confirm_at)?;
                crate::commerce::tracking::follow(c, now, &config, &oid, &carrier, &tracking)?;
                let o = lock_order(c, &oid)?;
                order_view(c, &o, false)
            })
            .await
    }

    /// The buyer confirms receipt of a shipped order.
    pub async fn confirm_receipt(&self, who: &Principal, order_id: &OrderId) -> AppResult<Order> {
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
        merchant_id: &MerchantId,
        order_id: &OrderId,
    ) -> AppResult<Order> {
        let now = self.now_ms();
        let (who, mid, oid) = (who.clone(), merchant_id.to_owned(), order_id.to_owned());
        self.db
            .write(move |c| {
                require_staff(c, &who, &mid, StaffNeed::AnyStaff)?;
                let o = staff_order(c, &mid, &oid)?;
                ready_for_pickup(c, now, &o, Actor::Staff(&who.account_id))?;
                let o = lock_order(c, &oid)?;
                order_view(c, &o, false)
            })
            .await
    }

    /// A clerk of the order's store redeems its pickup code, once. At another store the
    /// code is unknown; a second redemption, or one after a refund, is refused.
    ///
    /// Guessing is throttled: after `pickup_failures_per_clerk` unknown codes from one
    /// clerk in 15 minutes, or three times that at one store from all its clerks, further
    /// redemptions there answer 429 until the window ends (8 digits are 10⁸ codes; a clerk
    /// gets ten tries, not a hundred million).
    pub async fn redeem_pickup(
        &self,
        who: &Principal,
        store_id: &StoreId,
        code: &str,
    ) -> AppResult<Order> {
        use crate::platform::limits::Action;
        let per_clerk = self.config.pickup_failures_per_clerk;
        if per_clerk == 0 {
            return self.redeem_pickup_once(who, store_id, code).await;
        }
        // Who is not the store's clerk is refused before anything is counted: they must
        // not be able to use up the store's budget.
        let (w, sid) = (who.clone(), store_id.to_owned());
        self.db.read(move |c| require_clerk_of(c, &w, &sid)).await?;
        // Every attempt is counted before it is made and given back unless its code was
        // wrong: checking first and counting after would let a burst of concurrent guesses
        // all pass the check before any of them is counted.
        self.rate_take(Action::PickupClerk, &who.account_id, per_clerk)
            .await?;
        if let Err(e) = self
            .rate_take(Action::PickupStore, store_id, per_clerk.saturating_mul(3))
            .await
        {
            self.rate_forgive(Action::PickupClerk, &who.account_id)
                .await?;
            return Err(e);
        }
        let redeemed = self.redeem_pickup_once(who, store_id, code).await;
        if !matches!(&redeemed, Err(AppError::NotFound(UNKNOWN_CODE))) {
            self.rate_forgive(Action::PickupClerk, &who.account_id)
                .await?;
            self.rate_forgive(Action::PickupStore, store_id).await?;
        }
        redeemed
    }

    /// One redemption, unthrottled.
    async fn redeem_pickup_once(
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
                let rows = store::pickup_codes(c, &sid, &code)?;
                let live = rows
                    .iter()
                    .find(|r| r.redeemed_at.is_none() && r.voided_at.is_none());
                let Some(live) = live else {
                    return Err(match rows.first() {
                        Some(r) if r.voided_at.is_some() => {
                            AppError::state("this code was voided: the order was refunded")
                        }
                        Some(store::PickupCode {
                            redeemed_at: Some(at),
                            ..
                        }) => AppError::state(format!(
                            "this code was already redeemed at {}",
                            rfc3339(*at)
                        )),
                        _ => AppError::NotFound(UNKNOWN_CODE),
                    });
                };
                let oid = live.order_id.clone();
                let o = lock_order(c, &oid)?;
                let next = o.status.pick_up()?;
                if !store::redeem_pickup_code(c, now, &oid, &who.account_id)? {
                    return Err(AppError::state("this code was already redeemed"));
                }
                commit_all(c, now, &o)?;
                let terms = merchant_terms(c, &o.merchant_id)?;
                let ends = now + terms.after_sale_ms;
                store::set_delivered(c, now, &oid, ends)?;
                transition(
                    c,
                    now,
                    &o,
                    next,
                    Actor::Clerk(&who.account_id),
                    notes::PICKED_UP,
                )?;
                commissions::on_delivered(c, now, &oid, &o.merchant_id)?;
                schedule(c, now, Timer::Complete, &oid, ends)?;
                let o = lock_order(c, &oid)?;
                order_view(c, &o, false)
            })
            .await
    }

    /// A clerk's pickups: orders waiting at their store, and those picked up in the last day.
    pub async fn store_pickups(
        &self,
        who: &Principal,
        store_id: &StoreId,
    ) -> AppResult<Vec<Order>> {
        let now = self.now_ms();
        let (who, sid) = (who.clone(), store_id.to_owned());
        self.db
            .read(move |c| {
                require_clerk_of(c, &who, &sid)?;
                store::store_pickups(c, &sid, now - DAY_MS)?
                    .iter()
                    .map(|o| order_view(c, o, false))
                    .collect()
            })
            .await
    }

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
                    None,
                    &carrier,
                    &cb.event_id,
                    &cb.tracking_no,
                    &cb.status,
                    cb.occurred_at,
                    None,
                )
            })
            .await
    }
}
