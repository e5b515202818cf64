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
//! [`crate::App`] is built: group-buy today; a flash sale or a 接龙 batch adds a hook, not
//! another `if` in `orders`. That is also what keeps commerce from importing them: the
//! dependency points from the kind to commerce.
//!
//! Commission is money's, called directly (commerce depends on money, never the reverse):
//! `on_paid` at fulfilment, `on_delivered` at delivery or pickup, `on_refund` with each
//! refund and `on_completed` when the after-sale window closes.

use std::sync::Arc;

use kith_store::Conn;

use super::orders::{Actor, OrderRow, lock_order, transition};
use crate::AppResult;
use crate::money::commissions;

/// A kind of order with rows of its own beside the order's (a group-buy seat). Every method
/// has the ordinary order's answer as its default, and is called inside the transaction
/// that changes the order; an order that is not of this kind must come out unchanged.
pub(crate) trait OrderHook: Send + Sync + std::fmt::Debug {
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

    /// Takes every kind's locks on the order (before its stock).
    pub(crate) fn lock(&self, c: &mut dyn Conn, order_id: &str) -> AppResult<()> {
        for h in &self.hooks {
            h.lock(c, order_id)?;
        }
        Ok(())
    }

    /// Whether every kind lets the order's payment be taken now.
    pub(crate) fn takes_payment(
        &self,
        c: &mut dyn Conn,
        now: i64,
        order_id: &str,
    ) -> AppResult<bool> {
        for h in &self.hooks {
            if !h.takes_payment(c, now, order_id)? {
                return Ok(false);
            }
        }
        Ok(true)
    }

    /// Marks an order paid (by `provider`): an ordinary order starts fulfilment and its
    /// commission is booked; an order a kind holds back (a group-buy seat) waits. The
    /// ledger entry moving the money in is the caller's, in the same transaction.
    pub(crate) fn paid(
        &self,
        c: &mut dyn Conn,
        now: i64,
        o: &OrderRow,
        provider: &str,
        actor: Actor<'_>,
    ) -> AppResult<()> {
        let paid = o.status.pay()?;
        c.execute(
            "UPDATE orders SET paid_fen = $1, paid_at = $2, payment_provider = $3 WHERE id = $4",
            kith_store::args![o.total_fen, now, provider, &o.id],
        )?;
        transition(c, now, o, paid, actor, "")?;
        super::promotions::on_order_paid(c, now, &o.id)?;
        let paid_row = lock_order(c, &o.id)?;
        let mut held = false;
        for h in &self.hooks {
            held |= h.on_paid(c, now, &paid_row)?;
        }
        if held {
            return Ok(());
        }
        start_fulfilment(c, now, &paid_row)
    }

    /// The order was cancelled or refunded in full (its state already moved): every kind
    /// gives back what it held.
    pub(crate) fn released(&self, c: &mut dyn Conn, now: i64, o: &OrderRow) -> AppResult<()> {
        for h in &self.hooks {
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
    crate::loyalty::on_paid(c, now, &o.id)?;
    commissions::on_paid(c, now, &o.id, &o.merchant_id)
}
