//! The SQL of parcel tracking: subscriptions and the timeline's events.

use kith_store::{Conn, Row, args};

use super::TrackingEvent;
use crate::{AppResult, rfc3339};

/// One subscription as the push handler and the job need it.
#[derive(Debug, Clone)]
pub(super) struct Subscription {
    pub id: String,
    pub carrier: String,
    pub company: String,
    pub tracking_no: String,
    pub order_id: String,
    /// The after-sale request whose return this parcel is; `None` for the order's shipment.
    pub aftersale_id: Option<String>,
    pub salt: String,
    pub status: String,
}

kith_store::columns!(SubscriptionCols {
    id,
    carrier,
    company,
    tracking_no,
    order_id,
    aftersale_id,
    salt,
    status,
});

fn subscription(r: &Row) -> AppResult<Subscription> {
    Ok(Subscription {
        id: r.text(SubscriptionCols::id)?,
        carrier: r.text(SubscriptionCols::carrier)?,
        company: r.text(SubscriptionCols::company)?,
        tracking_no: r.text(SubscriptionCols::tracking_no)?,
        order_id: r.text(SubscriptionCols::order_id)?,
        aftersale_id: r.opt_text(SubscriptionCols::aftersale_id)?,
        salt: r.text(SubscriptionCols::salt)?,
        status: r.text(SubscriptionCols::status)?,
    })
}

/// A new pending subscription; `false` when this shipment already has one.
#[allow(clippy::too_many_arguments)]
pub(super) fn insert(
    c: &mut dyn Conn,
    now: i64,
    id: &str,
    provider: &str,
    carrier: &str,
    company: &str,
    tracking_no: &str,
    order_id: &str,
    aftersale_id: Option<&str>,
    salt: &str,
) -> AppResult<bool> {
    Ok(c.execute(
        "INSERT INTO tracking_subscriptions
             (id, provider, carrier, company, tracking_no, order_id, aftersale_id, salt, status, created_at, updated_at)
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, 'pending', $9, $9)
         ON CONFLICT (provider, carrier, tracking_no, order_id) DO NOTHING",
        args![id, provider, carrier, company, tracking_no, order_id, aftersale_id, salt, now],
    )? == 1)
}

pub(super) fn get(c: &mut dyn Conn, id: &str) -> AppResult<Option<Subscription>> {
    c.query_opt(
        &format!(
            "SELECT {} FROM tracking_subscriptions WHERE id = $1",
            SubscriptionCols::LIST
        ),
        args![id],
    )?
    .map(|r| subscription(&r))
    .transpose()
}

pub(super) fn set_status(
    c: &mut dyn Conn,
    now: i64,
    id: &str,
    status: &str,
    error: Option<&str>,
) -> AppResult<()> {
    c.execute(
        "UPDATE tracking_subscriptions SET status = $2, last_error = $3, updated_at = $4 WHERE id = $1",
        args![id, status, error, now],
    )?;
    Ok(())
}

/// An order's tracking events, oldest first.
pub(super) fn events(c: &mut dyn Conn, order_id: &str) -> AppResult<Vec<TrackingEvent>> {
    c.query(
        "SELECT carrier, status, description, occurred_at FROM tracking_events
         WHERE order_id = $1 AND aftersale_id IS NULL
         ORDER BY occurred_at, received_at, event_id LIMIT 500",
        args![order_id],
    )?
    .iter()
    .map(|r| {
        Ok(TrackingEvent {
            carrier: r.text(0)?,
            status: r.text(1)?,
            description: r.opt_text(2)?,
            occurred_at: rfc3339(r.int(3)?),
        })
    })
    .collect()
}

/// One event of a return's parcel, once: `false` when it was recorded before.
#[allow(clippy::too_many_arguments)]
pub(super) fn insert_return_event(
    c: &mut dyn Conn,
    now: i64,
    sub: &Subscription,
    aftersale_id: &str,
    event_id: &str,
    status: &str,
    at: i64,
    description: &str,
) -> AppResult<bool> {
    Ok(c.execute(
        "INSERT INTO tracking_events (carrier, event_id, order_id, aftersale_id, status, occurred_at, received_at, description)
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8)
         ON CONFLICT (carrier, event_id) DO NOTHING",
        args![&sub.carrier, event_id, &sub.order_id, aftersale_id, status, at, now, description],
    )? == 1)
}

/// Who may read an order's tracking: its buyer, and the merchant (for staff checks).
pub(super) fn order_parties(
    c: &mut dyn Conn,
    order_id: &str,
) -> AppResult<Option<(String, String)>> {
    c.query_opt(
        "SELECT buyer_id, merchant_id FROM orders WHERE id = $1",
        args![order_id],
    )?
    .map(|r| Ok((r.text(0)?, r.text(1)?)))
    .transpose()
}
