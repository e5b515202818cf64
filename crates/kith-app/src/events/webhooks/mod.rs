//! Merchant webhooks: the endpoints a merchant registers, the outbox events routed to them,
//! and the signed HTTP deliveries with their attempt log. One of the outbox's two consumers
//! (the search indexer is the other).
//!
//! ## Layout
//! - this file: endpoints (create, list, delete, re-enable) and the delivery and attempt
//!   logs;
//! - `urls.rs`: what a merchant may make kith call (URLs, the address rules, the resolver
//!   the delivery client connects through, topic patterns);
//! - `delivery.rs`: routing the outbox to endpoints, the `webhook.deliver` job, endpoint
//!   health (pause, disable) and the HTTP clients;
//! - `test_support.rs`, `tests.rs`: a local receiver and the stories run against it.
//!
//! ## Flow
//! 1. A use case commits a change together with its outbox event ([`crate::platform::outbox`]).
//! 2. [`dispatch_outbox`] (run by the background worker) turns each new event of a merchant
//!    into one `webhook_deliveries` row per matching active endpoint, and queues one
//!    `webhook.deliver` job per delivery — in the same transaction that marks the event
//!    dispatched, so an event is routed exactly once. The job runs in the delivery lane,
//!    keyed by merchant and endpoint (see [`crate::events::jobs`]): at most
//!    `webhook_max_in_flight_per_endpoint` requests to one endpoint and
//!    `webhook_max_in_flight_per_merchant` to one merchant's endpoints are in flight at
//!    once, counted at claim time over every server, and never ahead of an order's timer.
//! 3. [`Deliver`] (the job) POSTs the event, signed with the endpoint's secret
//!    (`Kith-Signature: t=…,v1=…`, see [`kith_domain::signature`]), logs the attempt, and
//!    either settles the delivery or leaves the job to retry with exponential backoff.
//!
//! Delivery is at least once: a receiver can see an event twice (a lost response, a
//! crash after the request), so receivers deduplicate on `Kith-Event-Id`.
//!
//! ## A receiver that keeps failing
//! Each failed attempt (no answer, or not 2xx) counts against the endpoint and pauses it as
//! a whole (`paused_until`: the same exponential backoff on its consecutive failures): its
//! queued deliveries wait for the pause instead of each spending a request on a dead
//! receiver. One success clears the count. An endpoint that has failed
//! `webhook_disable_after_failures` times in a row **and** for `webhook_disable_after_secs`
//! is disabled — when and why are recorded, its pending deliveries fail, and the merchant
//! is told by a `webhook_endpoint.disabled` event (to its other endpoints, and in the
//! endpoint list: `status`, `disabled_reason`, `consecutive_failures`). A disabled endpoint
//! receives nothing until its owner or a manager re-enables it ([`enable_endpoint`]).
//!
//! ## Safety of outgoing requests
//! Merchants choose the URLs kith calls, so unless `webhook_allow_private` is set (tests,
//! the demo):
//! - a URL must be https and must not name a non-public address literally, nor `localhost`
//!   (with or without a trailing dot), `*.localhost` or the other common loopback names;
//! - registration resolves the host name and refuses it (422 on `url`) when any address it
//!   resolves to is not public ([`check_resolved`]);
//! - every delivery resolves the name again **at connect time**, through the client's own
//!   resolver (`urls.rs`: `PublicOnly`), and refuses to connect unless every address is
//!   public — so a name that mixes a public and a private address, or that changes its
//!   answer after registration (DNS rebinding), cannot reach the operator's network.
//!   reqwest does not resolve address literals, so those are checked again before each
//!   request. Proxy settings from the environment are ignored by this client (a proxy
//!   would resolve the name after our check);
//! - "public" ([`is_public`]) excludes loopback, private, link-local, shared (CGNAT
//!   100.64/10), benchmark (198.18/15), documentation, reserved (240/4), broadcast and
//!   multicast IPv4, and for IPv6 loopback, unique-local, link- and site-local, multicast,
//!   documentation, discard, 2001::/23 (Teredo…), IPv4-mapped and IPv4-compatible forms and
//!   local NAT64 (64:ff9b:1::/48); NAT64 64:ff9b::/96 and 6to4 2002::/16 are judged by the
//!   IPv4 address they carry;
//! - redirects are not followed (a 3xx is a failed attempt);
//! - the attempt log records a failure *class* — `timeout`, `connection failed`,
//!   `tls error`, `dns lookup failed`, `address not allowed`, `request failed` — never the
//!   socket error, which would let a merchant scan internal ports through it; the full
//!   error goes to the server log for the operator.

use kith_domain::BoundedText;
use serde::{Deserialize, Serialize};

use crate::platform::auth::{StaffNeed, require_trading_staff};
use crate::platform::ids::{DeliveryId, EndpointId, MerchantId, new_secret, parse_id};
use crate::platform::page::{Page, PageRequest};
use crate::{App, AppError, AppResult, Principal, rfc3339};

/// Active endpoints one merchant may have: enough for every integration a shop runs, few
/// enough that one event never fans out into a flood of requests.
pub const MAX_ACTIVE_ENDPOINTS: i64 = 20;
pub const MAX_URL_LEN: usize = 2048;
pub const MAX_TOPICS: usize = 50;
pub const MAX_TOPIC_LEN: usize = 64;
pub const MAX_DESCRIPTION_CHARS: usize = 200;
/// How much of a receiver's response body the attempt log keeps: enough to see an error
/// message, not enough to store whatever a misbehaving receiver sends.
pub const MAX_LOGGED_BODY: usize = 1024;

/// Most attempts [`list_attempts`] returns. Attempts are bounded by the job's
/// `max_attempts` anyway; this only guards against a misconfigured huge value.
const MAX_LISTED_ATTEMPTS: i64 = 1000;

/// What a merchant asks for when registering an endpoint.
#[derive(Debug, Clone, Deserialize)]
pub struct NewEndpoint {
    pub url: String,
    /// Topics to receive: `*` (everything), an exact topic such as `merchant.approved`, or
    /// a prefix pattern such as `store.*` (every topic that starts with `store.`).
    pub topics: Vec<String>,
    pub description: Option<String>,
}

/// A registered endpoint. Its signing secret is shown once, when it is created, and never
/// serialized again.
#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct Endpoint {
    pub id: EndpointId,
    pub merchant_id: MerchantId,
    pub url: String,
    pub topics: Vec<String>,
    pub description: String,
    /// Whether it receives events: false once it is disabled.
    pub active: bool,
    /// `active`, or `disabled` (it kept failing; the merchant re-enables it with
    /// `POST …/webhooks/{id}/enable`).
    pub status: String,
    /// Deliveries that failed in a row; 0 again after one succeeds.
    pub consecutive_failures: i64,
    /// When the current run of failures began.
    pub failing_since: Option<String>,
    /// While it fails, no delivery to it is tried before this time: its queued deliveries
    /// wait (the pause doubles with each failure, as a delivery's backoff does).
    pub paused_until: Option<String>,
    pub disabled_at: Option<String>,
    /// Why it was disabled, e.g. `20 deliveries failed in a row since …`.
    pub disabled_reason: Option<String>,
    pub created_at: String,
}

impl Endpoint {
    /// Whether it was disabled for failing (its `status` is `disabled`).
    pub fn is_disabled(&self) -> bool {
        !self.active
    }
}

/// One event on its way to one endpoint.
#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct Delivery {
    pub id: DeliveryId,
    pub endpoint_id: EndpointId,
    /// The outbox event's id, as sent in `Kith-Event-Id`.
    pub event_id: String,
    pub topic: String,
    /// `pending`, `delivered` or `failed`.
    pub status: String,
    pub attempts: i64,
    /// When the next attempt is due, while the delivery is pending.
    pub next_attempt_at: Option<String>,
    pub created_at: String,
    pub finished_at: Option<String>,
}

/// One HTTP attempt of a delivery.
#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct Attempt {
    pub delivery_id: DeliveryId,
    pub attempt_no: i64,
    pub started_at: String,
    pub duration_ms: i64,
    /// The receiver's HTTP status, when it answered at all.
    pub status_code: Option<i64>,
    /// Why no answer was received, as a class: `timeout`, `connection failed`,
    /// `tls error`, `dns lookup failed`, `address not allowed` or `request failed`.
    pub error: Option<String>,
    /// The first [`MAX_LOGGED_BODY`] bytes of the receiver's answer.
    pub response_body: Option<String>,
}

// ---------------------------------------------------------------------------------------
// Endpoint management

/// Registers an endpoint for an approved merchant (owner or manager). Returns it with its
/// signing secret, which is shown this once.
pub async fn create_endpoint(
    app: &App,
    who: &Principal,
    merchant_id: &MerchantId,
    input: NewEndpoint,
) -> AppResult<(Endpoint, String)> {
    let merchant_id = merchant_id.clone();
    let url = validate_url(&input.url, app.config.webhook_allow_private)?;
    check_resolved(&url, app.config.webhook_allow_private).await?;
    let topics = validate_topics(&input.topics)?;
    let description = BoundedText::parse(
        "description",
        input.description.as_deref().unwrap_or(""),
        0,
        MAX_DESCRIPTION_CHARS,
    )?
    .into_string();
    let topics_json = serde_json::to_string(&topics)
        .map_err(|e| AppError::Internal(format!("serialize topics: {e}")))?;
    let secret = new_secret("whsec_");
    let now = app.now_ms();
    let endpoint = Endpoint {
        id: EndpointId::new(),
        merchant_id,
        url,
        topics,
        description,
        active: true,
        status: "active".to_owned(),
        consecutive_failures: 0,
        failing_since: None,
        paused_until: None,
        disabled_at: None,
        disabled_reason: None,
        created_at: rfc3339(now),
    };
    let who = who.clone();
    let stored_secret = secret.clone();
    let endpoint = app
        .db
        .write(move |c| {
            let e = &endpoint;
            require_trading_staff(c, &who, &e.merchant_id, StaffNeed::AnyStaff)?;
            // Lock the merchant so two concurrent creations cannot both see 19 active
            // endpoints and both add one (a count is never read-then-written unlocked).
            store::lock_merchant(c, &e.merchant_id)?;
            let active = store::count_active_endpoints(c, &e.merchant_id)?;
            if active >= MAX_ACTIVE_ENDPOINTS {
                return Err(AppError::state(format!(
                    "a merchant can have at most {MAX_ACTIVE_ENDPOINTS} active webhook endpoints; delete one first"
                )));
            }
            store::insert_endpoint(c, e, &stored_secret, &topics_json, now)?;
            // The URL is left out of the event: merchants often put access tokens in it,
            // and events travel to other endpoints and, later, other consumers.
            crate::platform::outbox::emit(
                c,
                now,
                "webhook_endpoint.created",
                Some(&e.merchant_id),
                &e.id,
                &serde_json::json!({ "id": e.id, "topics": e.topics, "description": e.description }),
            )?;
            Ok::<_, AppError>(e.clone())
        })
        .await?;
    Ok((endpoint, secret))
}

/// The merchant's endpoints, oldest first, disabled ones included (with why). Deleted endpoints are not listed; their
/// deliveries stay readable through [`list_deliveries`] by id.
pub async fn list_endpoints(
    app: &App,
    who: &Principal,
    merchant_id: &MerchantId,
) -> AppResult<Vec<Endpoint>> {
    let merchant_id = merchant_id.clone();
    let who = who.clone();
    app.db
        .read(move |c| {
            require_trading_staff(c, &who, &merchant_id, StaffNeed::AnyStaff)?;
            store::merchant_endpoints(c, &merchant_id)
        })
        .await
}

/// Deactivates an endpoint: it receives nothing more, and its pending deliveries fail
/// when they are next tried. Deleting an already deleted endpoint succeeds and changes
/// nothing. 404 if the endpoint is not this merchant's.
pub async fn delete_endpoint(
    app: &App,
    who: &Principal,
    merchant_id: &MerchantId,
    endpoint_id: &EndpointId,
) -> AppResult<()> {
    let (merchant_id, endpoint_id) = (merchant_id.clone(), endpoint_id.clone());
    let now = app.now_ms();
    let who = who.clone();
    app.db
        .write(move |c| {
            require_trading_staff(c, &who, &merchant_id, StaffNeed::AnyStaff)?;
            let active = store::lock_endpoint_active(c, &endpoint_id, &merchant_id)?
                .ok_or(AppError::NotFound("webhook endpoint"))?;
            if !active {
                return Ok(());
            }
            store::deactivate_endpoint(c, &endpoint_id)?;
            crate::platform::outbox::emit(
                c,
                now,
                "webhook_endpoint.deleted",
                Some(&merchant_id),
                &endpoint_id,
                &serde_json::json!({ "id": endpoint_id }),
            )?;
            Ok::<_, AppError>(())
        })
        .await
}

/// Re-enables an endpoint that was disabled for failing (owner or manager): it receives
/// events again from now on, with its failure count cleared. Enabling an active endpoint
/// changes nothing. 404 if the endpoint is not this merchant's or was deleted.
pub async fn enable_endpoint(
    app: &App,
    who: &Principal,
    merchant_id: &MerchantId,
    endpoint_id: &EndpointId,
) -> AppResult<Endpoint> {
    let (merchant_id, endpoint_id) = (merchant_id.clone(), endpoint_id.clone());
    let now = app.now_ms();
    let who = who.clone();
    app.db
        .write(move |c| {
            require_trading_staff(c, &who, &merchant_id, StaffNeed::AnyStaff)?;
            let endpoint = store::lock_merchant_endpoint(c, &endpoint_id, &merchant_id)?
                .ok_or(AppError::NotFound("webhook endpoint"))?;
            if endpoint.active {
                return Ok(endpoint);
            }
            store::reenable_endpoint(c, &endpoint_id)?;
            crate::platform::outbox::emit(
                c,
                now,
                "webhook_endpoint.enabled",
                Some(&merchant_id),
                &endpoint_id,
                &serde_json::json!({ "id": endpoint_id }),
            )?;
            store::endpoint(c, &endpoint_id)
        })
        .await
}

/// Timestamps a cursor may carry (years 1–9999): anything outside cannot come from this
/// API and would not bind to PostgreSQL's `timestamptz`.
const CURSOR_MS_RANGE: std::ops::RangeInclusive<i64> = -62_135_596_800_000..=253_402_300_799_999;

/// One endpoint's deliveries, **newest first** (the cursor continues towards older ones),
/// as a merchant looking at a delivery log wants them. 404 if the endpoint is not this
/// merchant's.
pub async fn list_deliveries(
    app: &App,
    who: &Principal,
    merchant_id: &MerchantId,
    endpoint_id: &EndpointId,
    page: PageRequest,
) -> AppResult<Page<Delivery>> {
    let (merchant_id, endpoint_id) = (merchant_id.clone(), endpoint_id.clone());
    let after = match &page.after {
        None => None,
        Some((ms, id)) => {
            let id = parse_id(id).filter(|_| CURSOR_MS_RANGE.contains(ms));
            Some((
                *ms,
                id.ok_or_else(|| AppError::invalid("cursor", "is not a cursor from this API"))?,
            ))
        }
    };
    // The cursor's id as parsed (normalised), and a limit no caller can stretch.
    let page = PageRequest {
        limit: page.limit.clamp(1, crate::platform::page::MAX_LIMIT),
        after,
    };
    let who = who.clone();
    app.db
        .read(move |c| {
            require_trading_staff(c, &who, &merchant_id, StaffNeed::AnyStaff)?;
            if !store::endpoint_is_merchants(c, &endpoint_id, &merchant_id)? {
                return Err(AppError::NotFound("webhook endpoint"));
            }
            // The cursor holds the raw millisecond key, not the RFC 3339 text shown.
            let rows = store::endpoint_deliveries(c, &endpoint_id, &page)?;
            Ok::<_, AppError>(Page::from_keyed(rows, page.limit, |d| d.id.as_str()))
        })
        .await
}

/// Every attempt of one delivery, in order. 404 if the delivery is not this merchant's.
pub async fn list_attempts(
    app: &App,
    who: &Principal,
    merchant_id: &MerchantId,
    delivery_id: &DeliveryId,
) -> AppResult<Vec<Attempt>> {
    let (merchant_id, delivery_id) = (merchant_id.clone(), delivery_id.clone());
    let who = who.clone();
    app.db
        .read(move |c| {
            require_trading_staff(c, &who, &merchant_id, StaffNeed::AnyStaff)?;
            if !store::delivery_is_merchants(c, &delivery_id, &merchant_id)? {
                return Err(AppError::NotFound("webhook delivery"));
            }
            store::delivery_attempts(c, &delivery_id, MAX_LISTED_ATTEMPTS)
        })
        .await
}

mod delivery;
mod store;
#[cfg(test)]
pub(crate) mod test_support;
#[cfg(test)]
mod tests;
mod urls;

pub(crate) use delivery::register_jobs;
pub use delivery::{Deliver, dispatch_outbox};
pub use urls::{check_resolved, is_public, topic_matches, validate_topics, validate_url};
