//! The transactional outbox. Every state change writes its event here in the same
//! transaction, so an event exists if and only if its change committed. Consumers
//! (webhooks now; search indexing and streams later) read it asynchronously and never
//! block the request that wrote it.

use kith_store::{Conn, StoreError, args};
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
    let row = c.query_one(
        "INSERT INTO outbox (topic, merchant_id, aggregate_id, payload, created_at)
         VALUES ($1, $2, $3, $4, $5) RETURNING id",
        args![topic, merchant_id, aggregate_id, body, now_ms],
    )?;
    row.int(0)
}
