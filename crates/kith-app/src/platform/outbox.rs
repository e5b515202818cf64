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
) -> Result<i64, StoreError> {
    let body = serde_json::to_string(payload)
        .map_err(|e| StoreError::Other(format!("serialize event {topic}: {e}")))?;
    super::store::insert_event(c, topic, merchant_id, aggregate_id, body, now_ms)
}
