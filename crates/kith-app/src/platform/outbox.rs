//! The transactional outbox. Every state change writes its event here in the same
//! transaction, so an event exists if and only if its change committed. Two consumers read
//! it asynchronously, each after its own cursor, and never block the request that wrote
//! it: webhook dispatch (`events::webhooks::dispatch_outbox`, which marks rows dispatched)
//! and the search indexer (`discovery::search::run_indexer`).
//!
//! It lives in platform, not in events, because every context writes it — platform's
//! own accounts and merchants included — while events (jobs, webhooks) depends on
//! platform: keeping the table's writer at the bottom keeps the graph acyclic.

use kith_store::{Conn, StoreError};
use serde::Serialize;

/// Writes one event. `merchant_id` routes it to that merchant's webhooks; platform-level
/// events (a new merchant application) carry none.
pub fn emit(
    c: &mut dyn Conn,
    now_ms: i64,
    topic: &str,
    merchant_id: Option<&str>,
    aggregate_id: &str,
    payload: &impl Serialize,
) -> Result<(), StoreError> {
    let body = serde_json::to_string(payload)
        .map_err(|e| StoreError::Other(format!("serialize event {topic}: {e}")))?;
    super::store::insert_event(c, topic, merchant_id, aggregate_id, body, now_ms)
}

/// One event for [`emit_all`].
#[derive(Debug, Clone)]
pub struct Event<'a> {
    pub topic: String,
    pub merchant_id: Option<&'a str>,
    pub aggregate_id: &'a str,
    pub payload: serde_json::Value,
}

/// Writes several events of one transaction in one statement, in the order given (their
/// ids rise in that order, as if emitted one by one).
pub fn emit_all(c: &mut dyn Conn, now_ms: i64, events: &[Event<'_>]) -> Result<(), StoreError> {
    match events {
        [] => Ok(()),
        [e] => emit(
            c,
            now_ms,
            &e.topic,
            e.merchant_id,
            e.aggregate_id,
            &e.payload,
        ),
        _ => {
            let rows = events
                .iter()
                .map(|e| {
                    let body = serde_json::to_string(&e.payload).map_err(|err| {
                        StoreError::Other(format!("serialize event {}: {err}", e.topic))
                    })?;
                    Ok((e.topic.as_str(), e.merchant_id, e.aggregate_id, body))
                })
                .collect::<Result<Vec<_>, StoreError>>()?;
            super::store::insert_events(c, &rows, now_ms)
        }
    }
}
