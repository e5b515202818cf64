//! The webhook rows: `webhook_endpoints`, `webhook_deliveries`, `webhook_attempts`, and
//! the outbox as routing reads and marks it (plus the merchant lock endpoint creation
//! takes). Every statement of `mod.rs` and `delivery.rs`, named for what it does, with the
//! column lists and decoders. It lives here rather than in `events/store.rs` because
//! these rows belong to the webhook use cases, not to the job queue: the runner knows job
//! kinds, not use cases.

use kith_store::{Conn, Row, StoreError, Value, args, placeholders};

use super::{Attempt, Delivery, Endpoint};
use crate::platform::ids::{DeliveryId, EndpointId, MerchantId};
use crate::platform::page::{Direction, PageRequest};
use crate::{AppResult, rfc3339};

kith_store::columns!(EndpointCols {
    id,
    merchant_id,
    url,
    topics,
    description,
    active,
    created_at,
    consecutive_failures,
    failing_since,
    paused_until,
    disabled_at,
    disabled_reason,
});
const ENDPOINT_COLUMNS: &str = EndpointCols::LIST;

pub(super) fn parse_topics(raw: &str) -> Result<Vec<String>, StoreError> {
    serde_json::from_str(raw).map_err(|e| StoreError::Decode(format!("webhook topics: {e}")))
}

fn endpoint_from_row(r: &Row) -> Result<Endpoint, StoreError> {
    let disabled_at = r.opt_int(EndpointCols::disabled_at)?;
    // `active` in the table means "not deleted"; deleted endpoints are never shown.
    let active = r.bool(EndpointCols::active)? && disabled_at.is_none();
    Ok(Endpoint {
        id: EndpointId::from_row(r.text(EndpointCols::id)?),
        merchant_id: MerchantId::from_row(r.text(EndpointCols::merchant_id)?),
        url: r.text(EndpointCols::url)?,
        topics: parse_topics(&r.text(EndpointCols::topics)?)?,
        description: r.text(EndpointCols::description)?,
        active,
        status: if active { "active" } else { "disabled" }.to_owned(),
        consecutive_failures: r.int(EndpointCols::consecutive_failures)?,
        failing_since: r.opt_int(EndpointCols::failing_since)?.map(rfc3339),
        paused_until: r.opt_int(EndpointCols::paused_until)?.map(rfc3339),
        disabled_at: disabled_at.map(rfc3339),
        disabled_reason: r.opt_text(EndpointCols::disabled_reason)?,
        created_at: rfc3339(r.int(EndpointCols::created_at)?),
    })
}

kith_store::columns!(DeliveryCols {
    id,
    endpoint_id,
    outbox_id,
    topic,
    status,
    attempts,
    next_attempt_at,
    created_at,
    finished_at,
});
const DELIVERY_COLUMNS: &str = DeliveryCols::LIST;

fn delivery_from_row(r: &Row) -> Result<Delivery, StoreError> {
    Ok(Delivery {
        id: DeliveryId::from_row(r.text(DeliveryCols::id)?),
        endpoint_id: EndpointId::from_row(r.text(DeliveryCols::endpoint_id)?),
        event_id: r.int(DeliveryCols::outbox_id)?.to_string(),
        topic: r.text(DeliveryCols::topic)?,
        status: r.text(DeliveryCols::status)?,
        attempts: r.int(DeliveryCols::attempts)?,
        next_attempt_at: r.opt_int(DeliveryCols::next_attempt_at)?.map(rfc3339),
        created_at: rfc3339(r.int(DeliveryCols::created_at)?),
        finished_at: r.opt_int(DeliveryCols::finished_at)?.map(rfc3339),
    })
}

kith_store::columns!(AttemptCols {
    delivery_id,
    attempt_no,
    started_at,
    duration_ms,
    status_code,
    error,
    response_body,
});

// ---------------------------------------------------------------------------------------
// Endpoint management

/// Locks the merchant's row, so endpoint counts are never read-then-written unlocked.
pub(super) fn lock_merchant(c: &mut dyn Conn, merchant_id: &MerchantId) -> AppResult<()> {
    let lock = format!("SELECT id FROM merchants WHERE id = $1{}", c.for_update());
    c.query_one(&lock, args![merchant_id])?;
    Ok(())
}

/// How many endpoints of the merchant are not deleted.
pub(super) fn count_active_endpoints(c: &mut dyn Conn, merchant_id: &MerchantId) -> AppResult<i64> {
    Ok(c.query_one(
        "SELECT COUNT(*) FROM webhook_endpoints WHERE merchant_id = $1 AND active = $2",
        args![merchant_id, true],
    )?
    .int(0)?)
}

pub(super) fn insert_endpoint(
    c: &mut dyn Conn,
    e: &Endpoint,
    secret: &str,
    topics_json: &str,
    now: i64,
) -> AppResult<()> {
    c.execute(
        "INSERT INTO webhook_endpoints (id, merchant_id, url, secret, topics, description, active, created_at)
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8)",
        args![&e.id, &e.merchant_id, &e.url, secret, topics_json, &e.description, true, now],
    )?;
    Ok(())
}

/// The merchant's endpoints that are not deleted, oldest first.
pub(super) fn merchant_endpoints(
    c: &mut dyn Conn,
    merchant_id: &MerchantId,
) -> AppResult<Vec<Endpoint>> {
    let sql = format!(
        "SELECT {ENDPOINT_COLUMNS} FROM webhook_endpoints
         WHERE merchant_id = $1 AND active = $2 ORDER BY created_at, id"
    );
    let rows = c.query(&sql, args![merchant_id, true])?;
    Ok(rows
        .iter()
        .map(endpoint_from_row)
        .collect::<Result<Vec<_>, _>>()?)
}

/// Whether the merchant's endpoint is not deleted, locked; None when it is not theirs.
pub(super) fn lock_endpoint_active(
    c: &mut dyn Conn,
    endpoint_id: &EndpointId,
    merchant_id: &MerchantId,
) -> AppResult<Option<bool>> {
    let sql = format!(
        "SELECT active FROM webhook_endpoints WHERE id = $1 AND merchant_id = $2{}",
        c.for_update()
    );
    Ok(c.query_opt(&sql, args![endpoint_id, merchant_id])?
        .map(|r| r.bool(0))
        .transpose()?)
}

/// Deletes an endpoint (the row stays, inactive, for its delivery log).
pub(super) fn deactivate_endpoint(c: &mut dyn Conn, endpoint_id: &EndpointId) -> AppResult<()> {
    c.execute(
        "UPDATE webhook_endpoints SET active = $2 WHERE id = $1",
        args![endpoint_id, false],
    )?;
    Ok(())
}

/// The merchant's endpoint unless deleted, locked.
pub(super) fn lock_merchant_endpoint(
    c: &mut dyn Conn,
    endpoint_id: &EndpointId,
    merchant_id: &MerchantId,
) -> AppResult<Option<Endpoint>> {
    let sql = format!(
        "SELECT {ENDPOINT_COLUMNS} FROM webhook_endpoints
         WHERE id = $1 AND merchant_id = $2 AND active = $3{}",
        c.for_update()
    );
    Ok(c.query_opt(&sql, args![endpoint_id, merchant_id, true])?
        .map(|r| endpoint_from_row(&r))
        .transpose()?)
}

/// Re-enables an endpoint: not disabled, failures cleared, not paused.
pub(super) fn reenable_endpoint(c: &mut dyn Conn, endpoint_id: &EndpointId) -> AppResult<()> {
    c.execute(
        "UPDATE webhook_endpoints SET disabled_at = NULL, disabled_reason = NULL,
                consecutive_failures = 0, failing_since = NULL, paused_until = NULL
         WHERE id = $1",
        args![endpoint_id],
    )?;
    Ok(())
}

pub(super) fn endpoint(c: &mut dyn Conn, endpoint_id: &EndpointId) -> AppResult<Endpoint> {
    let sql = format!("SELECT {ENDPOINT_COLUMNS} FROM webhook_endpoints WHERE id = $1");
    Ok(endpoint_from_row(&c.query_one(&sql, args![endpoint_id])?)?)
}

/// Whether the endpoint is the merchant's (deleted ones included).
pub(super) fn endpoint_is_merchants(
    c: &mut dyn Conn,
    endpoint_id: &EndpointId,
    merchant_id: &MerchantId,
) -> AppResult<bool> {
    Ok(c.query_opt(
        "SELECT 1 FROM webhook_endpoints WHERE id = $1 AND merchant_id = $2",
        args![endpoint_id, merchant_id],
    )?
    .is_some())
}

/// One keyset page of an endpoint's deliveries, newest first, each with its raw time
/// (the cursor's key); one more than the page.
pub(super) fn endpoint_deliveries(
    c: &mut dyn Conn,
    endpoint_id: &EndpointId,
    page: &PageRequest,
) -> AppResult<Vec<(i64, Delivery)>> {
    let after = page.keyset(Direction::NewestFirst, "created_at", "id", 2);
    let mut params = args![endpoint_id].to_vec();
    params.extend(after.args);
    params.push(page.fetch().into());
    c.query(
        &format!(
            "SELECT {DELIVERY_COLUMNS} FROM webhook_deliveries WHERE endpoint_id = $1
               AND {}
             ORDER BY created_at DESC, id DESC LIMIT $5",
            after.sql
        ),
        &params,
    )?
    .iter()
    .map(|r| Ok((r.int(DeliveryCols::created_at)?, delivery_from_row(r)?)))
    .collect()
}

/// Whether the delivery is the merchant's.
pub(super) fn delivery_is_merchants(
    c: &mut dyn Conn,
    delivery_id: &DeliveryId,
    merchant_id: &MerchantId,
) -> AppResult<bool> {
    Ok(c.query_opt(
        "SELECT 1 FROM webhook_deliveries WHERE id = $1 AND merchant_id = $2",
        args![delivery_id, merchant_id],
    )?
    .is_some())
}

/// Up to `limit` attempts of a delivery, in order.
pub(super) fn delivery_attempts(
    c: &mut dyn Conn,
    delivery_id: &DeliveryId,
    limit: i64,
) -> AppResult<Vec<Attempt>> {
    let rows = c.query(
        &format!(
            "SELECT {} FROM webhook_attempts WHERE delivery_id = $1 ORDER BY attempt_no, id LIMIT $2",
            AttemptCols::LIST
        ),
        args![delivery_id, limit],
    )?;
    Ok(rows
        .iter()
        .map(|r| {
            Ok(Attempt {
                delivery_id: DeliveryId::from_row(r.text(AttemptCols::delivery_id)?),
                attempt_no: r.int(AttemptCols::attempt_no)?,
                started_at: rfc3339(r.int(AttemptCols::started_at)?),
                duration_ms: r.int(AttemptCols::duration_ms)?,
                status_code: r.opt_int(AttemptCols::status_code)?,
                error: r.opt_text(AttemptCols::error)?,
                response_body: r.opt_text(AttemptCols::response_body)?,
            })
        })
        .collect::<Result<Vec<_>, StoreError>>()?)
}

// ---------------------------------------------------------------------------------------
// Routing the outbox

/// Up to `batch` undispatched outbox events (id, topic, merchant), oldest first, locked
/// (skipping rows another dispatcher holds).
pub(super) fn lock_undispatched(
    c: &mut dyn Conn,
    batch: i64,
) -> Result<Vec<(i64, String, Option<String>)>, StoreError> {
    let sql = format!(
        "SELECT id, topic, merchant_id FROM outbox WHERE dispatched_at IS NULL
         ORDER BY id LIMIT $1{}",
        c.for_update_skip_locked()
    );
    c.query(&sql, args![batch])?
        .iter()
        .map(|ev| Ok((ev.int(0)?, ev.text(1)?, ev.opt_text(2)?)))
        .collect()
}

/// Queues one pending delivery; false when the endpoint already has one for the event.
#[allow(clippy::too_many_arguments)]
pub(super) fn insert_delivery(
    c: &mut dyn Conn,
    delivery_id: &str,
    endpoint_id: &str,
    merchant_id: &str,
    outbox_id: i64,
    topic: &str,
    due: i64,
    now: i64,
) -> Result<bool, StoreError> {
    let inserted = c.execute(
        "INSERT INTO webhook_deliveries
             (id, endpoint_id, merchant_id, outbox_id, topic, status, attempts,
              next_attempt_at, created_at)
         VALUES ($1, $2, $3, $4, $5, 'pending', 0, $6, $7)
         ON CONFLICT (endpoint_id, outbox_id) DO NOTHING",
        args![
            delivery_id,
            endpoint_id,
            merchant_id,
            outbox_id,
            topic,
            due,
            now
        ],
    )?;
    Ok(inserted == 1)
}

/// Marks the listed outbox events dispatched (one statement). The list is padded with its
/// last id to a power of two: a round's count would otherwise be a new text almost every
/// round, each one a statement SQLite's writer prepares and keeps.
pub(super) fn mark_dispatched(c: &mut dyn Conn, now: i64, ids: &[i64]) -> Result<(), StoreError> {
    let Some(&last) = ids.last() else {
        return Ok(());
    };
    let width = ids.len().next_power_of_two();
    let sql = format!(
        "UPDATE outbox SET dispatched_at = $1 WHERE id IN ({})",
        placeholders(2, width)
    );
    let mut params = Vec::with_capacity(width + 1);
    params.push(Value::from(now));
    params.extend(ids.iter().map(|&id| Value::from(id)));
    params.resize(width + 1, Value::from(last));
    c.execute(&sql, &params)?;
    Ok(())
}

/// An endpoint events may be routed to.
pub(super) struct Routable {
    pub(super) id: String,
    pub(super) topics: Vec<String>,
    pub(super) paused_until: Option<i64>,
}

/// The merchant's endpoints that receive events: not deleted, not disabled.
pub(super) fn active_endpoints(
    c: &mut dyn Conn,
    merchant_id: &str,
) -> Result<Vec<Routable>, StoreError> {
    let rows = c.query(
        "SELECT id, topics, paused_until FROM webhook_endpoints
         WHERE merchant_id = $1 AND active = $2 AND disabled_at IS NULL ORDER BY id",
        args![merchant_id, true],
    )?;
    let mut out = Vec::with_capacity(rows.len());
    for r in rows {
        let id = r.text(0)?;
        match parse_topics(&r.text(1)?) {
            Ok(topics) => out.push(Routable {
                id,
                topics,
                paused_until: r.opt_int(2)?,
            }),
            // One corrupt row must not stop every event of every merchant from routing.
            Err(e) => {
                tracing::error!(endpoint_id = %id, error = %e, "skipping webhook endpoint with unreadable topics")
            }
        }
    }
    Ok(out)
}

// ---------------------------------------------------------------------------------------
// Delivering

/// What one delivery attempt needs, read in one snapshot.
pub(super) struct Pending {
    pub(super) status: String,
    pub(super) endpoint_id: String,
    pub(super) url: String,
    pub(super) secret: String,
    pub(super) active: bool,
    pub(super) disabled: bool,
    pub(super) paused_until: Option<i64>,
    pub(super) event_id: i64,
    pub(super) topic: String,
    pub(super) merchant_id: String,
    pub(super) event_created_at: i64,
    pub(super) payload: String,
}

kith_store::columns!(PendingCols {
    "d.status" => status,
    "e.url" => url,
    "e.secret" => secret,
    "e.active" => active,
    "o.id" => event_id,
    "o.topic" => topic,
    "d.merchant_id" => merchant_id,
    "o.created_at" => event_created_at,
    "o.payload" => payload,
    "e.id" => endpoint_id,
    "e.disabled_at" => disabled_at,
    "e.paused_until" => paused_until,
});

/// A delivery with its endpoint and event.
pub(super) fn pending(c: &mut dyn Conn, delivery_id: &str) -> AppResult<Option<Pending>> {
    let Some(r) = c.query_opt(
        &format!(
            "SELECT {} FROM webhook_deliveries d
                     JOIN webhook_endpoints e ON e.id = d.endpoint_id
                     JOIN outbox o ON o.id = d.outbox_id
                     WHERE d.id = $1",
            PendingCols::LIST
        ),
        args![delivery_id],
    )?
    else {
        return Ok(None);
    };
    Ok(Some(Pending {
        status: r.text(PendingCols::status)?,
        url: r.text(PendingCols::url)?,
        secret: r.text(PendingCols::secret)?,
        active: r.bool(PendingCols::active)?,
        event_id: r.int(PendingCols::event_id)?,
        topic: r.text(PendingCols::topic)?,
        merchant_id: r.text(PendingCols::merchant_id)?,
        event_created_at: r.int(PendingCols::event_created_at)?,
        payload: r.text(PendingCols::payload)?,
        endpoint_id: r.text(PendingCols::endpoint_id)?,
        disabled: r.opt_int(PendingCols::disabled_at)?.is_some(),
        paused_until: r.opt_int(PendingCols::paused_until)?,
    }))
}

/// Ends a pending delivery without an attempt (a settled one is left alone).
pub(super) fn settle_delivery(c: &mut dyn Conn, id: &str, status: &str, now: i64) -> AppResult<()> {
    c.execute(
        "UPDATE webhook_deliveries SET status = $2, finished_at = $3, next_attempt_at = NULL
         WHERE id = $1 AND status = 'pending'",
        args![id, status, now],
    )?;
    Ok(())
}

/// (attempts, status) of a delivery, locked.
pub(super) fn lock_delivery(c: &mut dyn Conn, id: &str) -> AppResult<(i64, String)> {
    let sql = format!(
        "SELECT attempts, status FROM webhook_deliveries WHERE id = $1{}",
        c.for_update()
    );
    let row = c.query_one(&sql, args![id])?;
    Ok((row.int(0)?, row.text(1)?))
}

#[allow(clippy::too_many_arguments)]
pub(super) fn insert_attempt(
    c: &mut dyn Conn,
    id: &str,
    attempt_no: i64,
    started_at: i64,
    duration_ms: i64,
    status_code: Option<i64>,
    error: Option<&str>,
    response_body: Option<&str>,
) -> AppResult<()> {
    c.execute(
        "INSERT INTO webhook_attempts
             (delivery_id, attempt_no, started_at, duration_ms, status_code, error, response_body)
         VALUES ($1, $2, $3, $4, $5, $6, $7)",
        args![
            id,
            attempt_no,
            started_at,
            duration_ms,
            status_code,
            error,
            response_body
        ],
    )?;
    Ok(())
}

/// Ends a delivery as `status` after `attempts` attempts.
pub(super) fn finish_delivery(
    c: &mut dyn Conn,
    id: &str,
    status: &str,
    attempts: i64,
    now: i64,
) -> AppResult<()> {
    c.execute(
        "UPDATE webhook_deliveries SET status = $2, attempts = $3, finished_at = $4,
                next_attempt_at = NULL
         WHERE id = $1",
        args![id, status, attempts, now],
    )?;
    Ok(())
}

pub(super) fn schedule_delivery(
    c: &mut dyn Conn,
    id: &str,
    attempts: i64,
    next: i64,
) -> AppResult<()> {
    c.execute(
        "UPDATE webhook_deliveries SET attempts = $2, next_attempt_at = $3 WHERE id = $1",
        args![id, attempts, next],
    )?;
    Ok(())
}

/// A delivery got a 2xx: the endpoint is healthy again. Writes (and locks) the endpoint's
/// row only when it was failing, so healthy endpoints' deliveries do not queue on it.
pub(super) fn endpoint_succeeded(c: &mut dyn Conn, endpoint_id: &str) -> Result<(), StoreError> {
    c.execute(
        "UPDATE webhook_endpoints SET consecutive_failures = 0, failing_since = NULL,
                paused_until = NULL
         WHERE id = $1
           AND (consecutive_failures > 0 OR failing_since IS NOT NULL OR paused_until IS NOT NULL)",
        args![endpoint_id],
    )?;
    Ok(())
}

/// An endpoint's health as a failed attempt reads it.
pub(super) struct EndpointHealth {
    pub(super) consecutive_failures: i64,
    pub(super) failing_since: Option<i64>,
    pub(super) disabled: bool,
    pub(super) active: bool,
    pub(super) paused_until: Option<i64>,
}

pub(super) fn lock_endpoint_health(
    c: &mut dyn Conn,
    endpoint_id: &str,
) -> AppResult<EndpointHealth> {
    let sql = format!(
        "SELECT consecutive_failures, failing_since, disabled_at, active, paused_until
         FROM webhook_endpoints WHERE id = $1{}",
        c.for_update()
    );
    let row = c.query_one(&sql, args![endpoint_id])?;
    Ok(EndpointHealth {
        consecutive_failures: row.int(0)?,
        failing_since: row.opt_int(1)?,
        disabled: row.opt_int(2)?.is_some(),
        active: row.bool(3)?,
        paused_until: row.opt_int(4)?,
    })
}

pub(super) fn disable_endpoint(
    c: &mut dyn Conn,
    endpoint_id: &str,
    failures: i64,
    since: i64,
    now: i64,
    reason: &str,
) -> AppResult<()> {
    c.execute(
        "UPDATE webhook_endpoints SET consecutive_failures = $2, failing_since = $3,
                paused_until = NULL, disabled_at = $4, disabled_reason = $5
         WHERE id = $1",
        args![endpoint_id, failures, since, now, reason],
    )?;
    Ok(())
}

/// Fails every other pending delivery of the endpoint.
pub(super) fn fail_other_pending(
    c: &mut dyn Conn,
    endpoint_id: &str,
    now: i64,
    delivery_id: &str,
) -> AppResult<()> {
    c.execute(
        "UPDATE webhook_deliveries SET status = 'failed', finished_at = $2, next_attempt_at = NULL
         WHERE endpoint_id = $1 AND status = 'pending' AND id <> $3",
        args![endpoint_id, now, delivery_id],
    )?;
    Ok(())
}

pub(super) fn pause_endpoint(
    c: &mut dyn Conn,
    endpoint_id: &str,
    failures: i64,
    since: i64,
    pause: i64,
) -> AppResult<()> {
    c.execute(
        "UPDATE webhook_endpoints SET consecutive_failures = $2, failing_since = $3,
                paused_until = $4
         WHERE id = $1",
        args![endpoint_id, failures, since, pause],
    )?;
    Ok(())
}

/// Moves every other pending delivery of the endpoint due before `pause` to `pause`.
pub(super) fn defer_other_pending(
    c: &mut dyn Conn,
    endpoint_id: &str,
    pause: i64,
    delivery_id: &str,
) -> AppResult<()> {
    c.execute(
        "UPDATE webhook_deliveries SET next_attempt_at = $2
         WHERE endpoint_id = $1 AND status = 'pending' AND id <> $3
           AND (next_attempt_at IS NULL OR next_attempt_at < $2)",
        args![endpoint_id, pause, delivery_id],
    )?;
    Ok(())
}
