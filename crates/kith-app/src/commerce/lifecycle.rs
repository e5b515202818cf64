//! The one owner of the order of things in an order's life.
//!
//! An order is paid, released (cancelled, or refunded in full), delivered and completed by
//! the functions in [`super::orders`]; what else must happen at each of those moments —
//! a group-buy seat paid or released, commission booked or reversed — happens here, in a
//! fixed order, so no call site has to remember it:
//!
//! - **locks** ([`Lifecycle::lock`]): every kind's own rows are locked before the order's
//!   stock is touched, so a cancel or refund takes its locks in the order a join does.
//! - **payment** ([`Lifecycle::takes_payment`], [`Lifecycle::paid`]): every kind must agree
//!   that the payment may be taken; once paid, a kind may hold the order back (a group-buy
//!   seat waits for its group); otherwise fulfilment starts and the commission planned at
//!   checkout is booked ([`start_fulfilment`]).
//! - **release** ([`Lifecycle::released`]): after the order's own state moved, each kind
//!   gives back what it held (a seat).
//!
//! Kinds of order beyond the ordinary one plug in as an [`OrderHook`], registered when the
//! [`crate::App`] is built: a group-buy seat and a 接龙 join today; another kind adds a
//! hook, not another `if` in `orders`. That is also what keeps commerce from importing them:
//! the dependency points from the kind to commerce. The order row says its kind
//! ([`OrderKind`], set when it is placed), and a hook is asked only about orders of its own
//! kind: paying, cancelling or refunding a plain order reads no seat or batch table.
//!
//! Commission is money's, called directly (commerce depends on money, never the reverse):
//! `on_paid` at fulfilment, `on_delivered` at delivery or pickup, `on_refund` with each
//! refund and `on_completed` when the after-sale window closes.

use std::sync::Arc;

use kith_store::Conn;

use kith_domain::OrderKind;

use super::orders::{Actor, OrderCols, OrderRow, record_transition, transition, transition_event};
use crate::money::commissions;
use crate::money::ledger;
use crate::platform::outbox;
use crate::{AppError, AppResult};
use kith_domain::ledger::AccountId;

/// A kind of order with rows of its own beside the order's (a group-buy seat). Every method
/// has the ordinary order's answer as its default, and is called inside the transaction
/// that changes the order; an order that is not of this kind must come out unchanged.
pub(crate) trait OrderHook: Send + Sync + std::fmt::Debug {
    /// The kind of order this hook looks after; it is asked about no other.
    fn kind(&self) -> OrderKind;

    /// Locks this kind's rows for the order before its stock is touched.
    fn lock(&self, _c: &mut dyn Conn, _order_id: &str) -> AppResult<()> {
        Ok(())
    }

    /// Whether the order's payment may be taken now.
    fn takes_payment(&self, _c: &mut dyn Conn, _now: i64, _order_id: &str) -> AppResult<bool> {
        Ok(true)
    }

    /// The order was just paid. `true` when this kind holds it back (it waits for
    /// something, and starts fulfilment itself later) instead of going to the merchant.
    fn on_paid(&self, _c: &mut dyn Conn, _now: i64, _o: &OrderRow) -> AppResult<bool> {
        Ok(false)
    }

    /// The order was cancelled or refunded in full; give back what this kind held. `lc` is
    /// the lifecycle itself, for a release that ends other orders (a group left with no
    /// paid member fails, and its other orders are cancelled or refunded).
    fn on_released(
        &self,
        _c: &mut dyn Conn,
        _lc: &Lifecycle,
        _now: i64,
        _o: &OrderRow,
    ) -> AppResult<()> {
        Ok(())
    }
}

/// The entry that brings a paid order's money in (the caller's: from the wallet, or from
/// the gateway), for [`Lifecycle::paid`] to post; `guard` names an account that may not go
/// below zero and the field its refusal names.
#[derive(Default)]
pub(crate) struct MoneyIn<'a> {
    pub entry: Option<(kith_domain::ledger::JournalEntry, ledger::Refs<'a>)>,
    pub guard: Option<(AccountId, &'static str)>,
}

/// The hooks of every kind of order this server knows. Cheap to clone into a transaction's
/// closure.
#[derive(Debug, Clone, Default)]
pub struct Lifecycle {
    hooks: Vec<Arc<dyn OrderHook>>,
}

impl Lifecycle {
    /// Adds a kind of order. Hooks run in the order they were registered.
    pub(crate) fn register(&mut self, hook: impl OrderHook + 'static) -> &mut Self {
        self.hooks.push(Arc::new(hook));
        self
    }

    /// The hooks of an order of `kind`.
    fn of(&self, kind: OrderKind) -> impl Iterator<Item = &Arc<dyn OrderHook>> {
        self.hooks.iter().filter(move |h| h.kind() == kind)
    }

    /// Takes the locks of the order's kind (before its stock).
    pub(crate) fn lock(&self, c: &mut dyn Conn, order_id: &str, kind: OrderKind) -> AppResult<()> {
        for h in self.of(kind) {
            h.lock(c, order_id)?;
        }
        Ok(())
    }

    /// Whether the order's kind lets its payment be taken now.
    pub(crate) fn takes_payment(
        &self,
        c: &mut dyn Conn,
        now: i64,
        o: &OrderRow,
    ) -> AppResult<bool> {
        for h in self.of(o.kind) {
            if !h.takes_payment(c, now, &o.id)? {
                return Ok(false);
            }
        }
        Ok(true)
    }

    /// Marks an order paid (by `provider`): an ordinary order starts fulfilment and its
    /// commission is booked; an order a kind holds back (a group-buy seat) waits. The
    /// ledger entry moving the money in is the caller's, in the same transaction.
    /// `money` is the caller's entry bringing the money in, posted here (last, or with the
    /// commission's in one write). Returns the order as it now stands when that is known
    /// without reading it again (a plain order without a coupon), for the caller's view.
    pub(crate) fn paid(
        &self,
        c: &mut dyn Conn,
        now: i64,
        o: &OrderRow,
        provider: &str,
        actor: Actor<'_>,
        money: MoneyIn<'_>,
    ) -> AppResult<Option<OrderRow>> {
        let paid = o.status.pay()?;
        if self.of(o.kind).next().is_none() && o.coupon_id.is_none() {
            // No kind can hold this order back: straight on to fulfilment (see below).
            return self
                .paid_and_fulfilling(c, now, o, provider, actor, money)
                .map(Some);
        }
        // The transition and the payment's fields in one statement, guarded like every
        // transition by the old status.
        if !super::orders::store::payments::set_order_paid(
            c,
            now,
            &o.id,
            o.status,
            paid,
            o.total_fen,
            provider,
        )? {
            return Err(AppError::state("the order changed meanwhile; reload it"));
        }
        record_transition(c, now, o, paid, actor, "")?;
        if o.coupon_id.is_some() {
            super::promotions::on_order_paid(c, now, &o.id)?;
        }
        // The order as it now stands, without reading it again: the fields the hooks and
        // fulfilment read are the ones just written (the raw row is only for views).
        let paid_row = OrderRow {
            status: paid,
            paid_fen: o.total_fen,
            payment_provider: Some(provider.to_owned()),
            ..o.clone()
        };
        let mut held = false;
        for h in self.of(o.kind) {
            held |= h.on_paid(c, now, &paid_row)?;
        }
        if !held {
            start_fulfilment(c, now, &paid_row)?;
        }
        // The money moves last: the merchant's balance row is the one every payment to
        // this merchant updates, so it is held for as short a time as possible.
        if let Some((entry, refs)) = &money.entry {
            let guard: Vec<(&AccountId, &str)> = money.guard.iter().map(|(a, f)| (a, *f)).collect();
            ledger::post(c, now, entry, *refs, &guard)?;
        }
        Ok(None)
    }

    /// [`Lifecycle::paid`] for an order no hook looks at (a plain order) and without a
    /// coupon: `pending_payment → paid → fulfilling` as one UPDATE (both moves asked of
    /// `OrderStatus`), both event rows in one INSERT, the points and commission booked, and
    /// the outbox events of all of it (`order.paid`, `order.fulfilling`, `points.earned`,
    /// `commission.pending`, in the order they happened) in one INSERT. Returns the order
    /// as it now stands.
    fn paid_and_fulfilling(
        &self,
        c: &mut dyn Conn,
        now: i64,
        o: &OrderRow,
        provider: &str,
        actor: Actor<'_>,
        money: MoneyIn<'_>,
    ) -> AppResult<OrderRow> {
        let paid = o.status.pay()?;
        let fulfilling = paid.start_fulfilment()?;
        if !super::orders::store::payments::set_order_paid(
            c,
            now,
            &o.id,
            o.status,
            fulfilling,
            o.total_fen,
            provider,
        )? {
            return Err(AppError::state("the order changed meanwhile; reload it"));
        }
        super::orders::store::insert_events(
            c,
            now,
            &o.id,
            &[
                (o.status, paid, actor.kind(), actor.id()),
                (paid, fulfilling, Actor::System.kind(), None),
            ],
        )?;
        let mut events = vec![
            transition_event(o, o.status, paid),
            transition_event(o, paid, fulfilling),
        ];
        // The points rule and the planned shares in one round trip on PostgreSQL
        // (`Conn::prefetch`; points earned write in between, and the shares are then read
        // on their own).
        crate::loyalty::announce_rule(c, &o.merchant_id)?;
        commissions::announce_book_paid(c, &o.id)?;
        let earned = crate::loyalty::earn_on_paid(
            c,
            now,
            &o.id,
            &o.buyer_id,
            &o.merchant_id,
            kith_domain::Fen::new(o.goods_fen),
        )?
        .map(|(points, event)| {
            events.push(event);
            points
        });
        let (commission, event) = commissions::book_paid(c, now, &o.id, &o.merchant_id)?;
        events.extend(event);
        // The commission's entry and the money's in one write, each balance moved once
        // (the merchant's pending money by their net), last.
        let entries: Vec<(&kith_domain::ledger::JournalEntry, ledger::Refs<'_>)> = commission
            .iter()
            .chain(money.entry.iter())
            .map(|(e, r)| (e, *r))
            .collect();
        let guard: Vec<(&AccountId, &str)> = money.guard.iter().map(|(a, f)| (a, *f)).collect();
        ledger::post_all(c, now, &entries, &guard)?;
        outbox::emit_all(c, now, &events)?;
        let mut now_row = OrderRow {
            status: fulfilling,
            paid_fen: o.total_fen,
            payment_provider: Some(provider.to_owned()),
            ..o.clone()
        };
        let r = &mut now_row.row;
        r.set(OrderCols::status, fulfilling.as_str());
        r.set(OrderCols::paid_fen, o.total_fen);
        r.set(OrderCols::paid_at, now);
        r.set(OrderCols::payment_provider, provider);
        if let Some(points) = earned {
            r.set(OrderCols::points_earned, points);
        }
        Ok(now_row)
    }

    /// The order was cancelled or refunded in full (its state already moved): every kind
    /// gives back what it held.
    pub(crate) fn released(&self, c: &mut dyn Conn, now: i64, o: &OrderRow) -> AppResult<()> {
        for h in self.of(o.kind) {
            h.on_released(c, self, now, o)?;
        }
        Ok(())
    }
}

/// A paid order (or one whose group just succeeded) goes to the merchant, and the
/// commission planned on it is booked.
pub(crate) fn start_fulfilment(c: &mut dyn Conn, now: i64, o: &OrderRow) -> AppResult<()> {
    let fulfilling = o.status.start_fulfilment()?;
    transition(c, now, o, fulfilling, Actor::System, "")?;
    crate::loyalty::on_paid(
        c,
        now,
        &o.id,
        &o.buyer_id,
        &o.merchant_id,
        kith_domain::Fen::new(o.goods_fen),
    )?;
    commissions::on_paid(c, now, &o.id, &o.merchant_id)
}
