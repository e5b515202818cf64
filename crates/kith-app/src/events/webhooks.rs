//! Merchant webhooks: the endpoints a merchant registers, the outbox events routed to them,
//! and the signed HTTP deliveries with their attempt log. This is the outbox's first
//! consumer.
//!
//! ## Flow
//! 1. A use case commits a change together with its outbox event ([`crate::platform::outbox`]).
//! 2. [`dispatch_outbox`] (run by the background worker) turns each new event of a merchant
//!    into one `webhook_deliveries` row per matching active endpoint, and queues one
//!    `webhook.deliver` job per delivery — in the same transaction that marks the event
//!    dispatched, so an event is routed exactly once.
//! 3. [`deliver`] (the job) POSTs the event, signed with the endpoint's secret
//!    (`Kith-Signature: t=…,v1=…`, see [`kith_domain::signature`]), logs the attempt, and
//!    either settles the delivery or leaves the job to retry with exponential backoff.
//!
//! Delivery is at least once: a receiver can see an event twice (a lost response, a
//! crash after the request), so receivers deduplicate on `Kith-Event-Id`.
//!
//! ## Safety of outgoing requests
//! Merchants choose the URLs kith calls, so unless `webhook_allow_private` is set a URL
//! must be https and must not name a loopback, private or link-local address literally,
//! or `localhost`. Redirects are not followed, so an allowed URL cannot bounce the request
//! somewhere that is not. A host *name* that resolves to a private address is not caught
//! here; deployments that need that guarantee route webhooks through an egress proxy.

use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};
use std::sync::OnceLock;
use std::time::{Duration, Instant};

use kith_domain::BoundedText;
use kith_store::{Conn, Row, StoreError, args};
use serde::{Deserialize, Serialize};

use crate::events::jobs::{self, ClaimedJob, Job, JobError, JobRegistry};
use crate::platform::auth::{StaffNeed, require_trading_staff};
use crate::platform::ids::{new_id, new_secret, parse_id};
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
    pub id: String,
    pub merchant_id: String,
    pub url: String,
    pub topics: Vec<String>,
    pub description: String,
    pub active: bool,
    pub created_at: String,
}

/// One event on its way to one endpoint.
#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct Delivery {
    pub id: String,
    pub endpoint_id: String,
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
    pub delivery_id: String,
    pub attempt_no: i64,
    pub started_at: String,
    pub duration_ms: i64,
    /// The receiver's HTTP status, when it answered at all.
    pub status_code: Option<i64>,
    /// Why no answer was received (timeout, refused connection, …), or why the attempt
    /// was not made.
    pub error: Option<String>,
    /// The first [`MAX_LOGGED_BODY`] bytes of the receiver's answer.
    pub response_body: Option<String>,
}

// ---------------------------------------------------------------------------------------
// Validation

/// Parses and checks a webhook URL; returns it normalised (the form that will be called).
pub fn validate_url(input: &str, allow_private: bool) -> AppResult<String> {
    let bad = |reason: &str| Err(AppError::invalid("url", reason));
    if input.len() > MAX_URL_LEN {
        return bad(&format!("must be at most {MAX_URL_LEN} characters"));
    }
    let Ok(url) = reqwest::Url::parse(input.trim()) else {
        return bad("is not a valid absolute URL");
    };
    match url.scheme() {
        "https" => {}
        "http" if allow_private => {}
        "http" => return bad("must use https"),
        _ => return bad("must be an https URL"),
    }
    let Some(host) = url.host_str().filter(|h| !h.is_empty()) else {
        return bad("must name a host");
    };
    if !allow_private {
        let lower = host.to_ascii_lowercase();
        if lower == "localhost" || lower.ends_with(".localhost") {
            return bad("must not point at this machine");
        }
        // The URL parser keeps IPv6 literals in brackets and normalises every IPv4
        // spelling (`0x7f.1`, `2130706433`) to dotted decimal, so parsing the host string
        // sees every address literal.
        let literal = host.trim_start_matches('[').trim_end_matches(']');
        if let Ok(ip) = literal.parse::<IpAddr>()
            && !is_public(ip)
        {
            return bad("must not point at a loopback, private or link-local address");
        }
    }
    if url.as_str().len() > MAX_URL_LEN {
        return bad(&format!("must be at most {MAX_URL_LEN} characters"));
    }
    Ok(url.into())
}

fn is_public(ip: IpAddr) -> bool {
    match ip {
        IpAddr::V4(v4) => is_public_v4(v4),
        IpAddr::V6(v6) => match v6.to_ipv4_mapped() {
            Some(v4) => is_public_v4(v4),
            None => is_public_v6(v6),
        },
    }
}

fn is_public_v4(ip: Ipv4Addr) -> bool {
    let [a, b, ..] = ip.octets();
    let shared_cgnat = a == 100 && (64..128).contains(&b);
    let this_network = a == 0;
    !(ip.is_loopback()
        || ip.is_private()
        || ip.is_link_local()
        || ip.is_unspecified()
        || ip.is_broadcast()
        || ip.is_multicast()
        || shared_cgnat
        || this_network)
}

fn is_public_v6(ip: Ipv6Addr) -> bool {
    let first = ip.segments()[0];
    let unique_local = (first & 0xfe00) == 0xfc00;
    let link_local = (first & 0xffc0) == 0xfe80;
    !(ip.is_loopback() || ip.is_unspecified() || ip.is_multicast() || unique_local || link_local)
}

/// Checks the topic patterns; returns them without duplicates, in the order given.
pub fn validate_topics(topics: &[String]) -> AppResult<Vec<String>> {
    if topics.is_empty() || topics.len() > MAX_TOPICS {
        return Err(AppError::invalid(
            "topics",
            format!("must list 1–{MAX_TOPICS} topics"),
        ));
    }
    let mut out: Vec<String> = Vec::with_capacity(topics.len());
    for (i, t) in topics.iter().enumerate() {
        let t = t.trim();
        check_topic(t).map_err(|reason| AppError::invalid(format!("topics[{i}]"), reason))?;
        if !out.iter().any(|o| o == t) {
            out.push(t.to_owned());
        }
    }
    Ok(out)
}

fn check_topic(t: &str) -> Result<(), &'static str> {
    if t.is_empty() || t.len() > MAX_TOPIC_LEN {
        return Err("must be 1–64 characters");
    }
    let allowed =
        |b: u8| b.is_ascii_lowercase() || b.is_ascii_digit() || matches!(b, b'_' | b'.' | b'*');
    if !t.bytes().all(allowed) {
        return Err("may contain only a–z, 0–9, '_', '.' and '*'");
    }
    if t == "*" {
        return Ok(());
    }
    let parts: Vec<&str> = t.split('.').collect();
    if parts.iter().any(|p| p.is_empty()) {
        return Err("must be dot-separated names such as merchant.approved");
    }
    let last = parts.len() - 1;
    for (i, p) in parts.iter().enumerate() {
        // `*` stands for "everything under this prefix", so it can only end a pattern.
        if p.contains('*') && !(i == last && *p == "*") {
            return Err("may use '*' only as the whole last part, as in store.*");
        }
    }
    Ok(())
}

/// Does an endpoint subscribed to `pattern` receive `topic`? `*` matches everything,
/// `prefix.*` every topic that starts with `prefix.`, anything else only itself.
pub fn topic_matches(pattern: &str, topic: &str) -> bool {
    if pattern == "*" {
        return true;
    }
    match pattern.strip_suffix(".*") {
        Some(prefix) => topic
            .strip_prefix(prefix)
            .is_some_and(|rest| rest.starts_with('.')),
        None => pattern == topic,
    }
}

// ---------------------------------------------------------------------------------------
// Endpoint management

const ENDPOINT_COLUMNS: &str = "id, merchant_id, url, topics, description, active, created_at";

fn endpoint_from_row(r: &Row) -> Result<Endpoint, StoreError> {
    Ok(Endpoint {
        id: r.text(0)?,
        merchant_id: r.text(1)?,
        url: r.text(2)?,
        topics: parse_topics(&r.text(3)?)?,
        description: r.text(4)?,
        active: r.bool(5)?,
        created_at: rfc3339(r.int(6)?),
    })
}

fn parse_topics(raw: &str) -> Result<Vec<String>, StoreError> {
    serde_json::from_str(raw).map_err(|e| StoreError::Decode(format!("webhook topics: {e}")))
}

fn merchant_id_of(input: &str) -> AppResult<String> {
    parse_id(input).ok_or(AppError::NotFound("merchant"))
}

/// Registers an endpoint for an approved merchant (owner or manager). Returns it with its
/// signing secret, which is shown this once.
pub async fn create_endpoint(
    app: &App,
    who: &Principal,
    merchant_id: &str,
    input: NewEndpoint,
) -> AppResult<(Endpoint, String)> {
    let merchant_id = merchant_id_of(merchant_id)?;
    let url = validate_url(&input.url, app.config.webhook_allow_private)?;
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
        id: new_id(),
        merchant_id,
        url,
        topics,
        description,
        active: true,
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
            let lock = format!("SELECT id FROM merchants WHERE id = $1{}", c.for_update());
            c.query_one(&lock, args![&e.merchant_id])?;
            let active = c
                .query_one(
                    "SELECT COUNT(*) FROM webhook_endpoints WHERE merchant_id = $1 AND active = $2",
                    args![&e.merchant_id, true],
                )?
                .int(0)?;
            if active >= MAX_ACTIVE_ENDPOINTS {
                return Err(AppError::state(format!(
                    "a merchant can have at most {MAX_ACTIVE_ENDPOINTS} active webhook endpoints; delete one first"
                )));
            }
            c.execute(
                "INSERT INTO webhook_endpoints (id, merchant_id, url, secret, topics, description, active, created_at)
                 VALUES ($1, $2, $3, $4, $5, $6, $7, $8)",
                args![&e.id, &e.merchant_id, &e.url, &stored_secret, &topics_json, &e.description, true, now],
            )?;
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

/// The merchant's active endpoints, oldest first. Deleted endpoints are not listed; their
/// deliveries stay readable through [`list_deliveries`] by id.
pub async fn list_endpoints(
    app: &App,
    who: &Principal,
    merchant_id: &str,
) -> AppResult<Vec<Endpoint>> {
    let merchant_id = merchant_id_of(merchant_id)?;
    let who = who.clone();
    app.db
        .read(move |c| {
            require_trading_staff(c, &who, &merchant_id, StaffNeed::AnyStaff)?;
            let sql = format!(
                "SELECT {ENDPOINT_COLUMNS} FROM webhook_endpoints
                 WHERE merchant_id = $1 AND active = $2 ORDER BY created_at, id"
            );
            let rows = c.query(&sql, args![&merchant_id, true])?;
            Ok::<_, AppError>(
                rows.iter()
                    .map(endpoint_from_row)
                    .collect::<Result<Vec<_>, _>>()?,
            )
        })
        .await
}

/// Deactivates an endpoint: it receives nothing more, and its pending deliveries fail
/// when they are next tried. Deleting an already deleted endpoint succeeds and changes
/// nothing. 404 if the endpoint is not this merchant's.
pub async fn delete_endpoint(
    app: &App,
    who: &Principal,
    merchant_id: &str,
    endpoint_id: &str,
) -> AppResult<()> {
    let merchant_id = merchant_id_of(merchant_id)?;
    let endpoint_id = parse_id(endpoint_id).ok_or(AppError::NotFound("webhook endpoint"))?;
    let now = app.now_ms();
    let who = who.clone();
    app.db
        .write(move |c| {
            require_trading_staff(c, &who, &merchant_id, StaffNeed::AnyStaff)?;
            let sql = format!(
                "SELECT active FROM webhook_endpoints WHERE id = $1 AND merchant_id = $2{}",
                c.for_update()
            );
            let active = c
                .query_opt(&sql, args![&endpoint_id, &merchant_id])?
                .ok_or(AppError::NotFound("webhook endpoint"))?
                .bool(0)?;
            if !active {
                return Ok(());
            }
            c.execute(
                "UPDATE webhook_endpoints SET active = $2 WHERE id = $1",
                args![&endpoint_id, false],
            )?;
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

const DELIVERY_COLUMNS: &str =
    "id, endpoint_id, outbox_id, topic, status, attempts, next_attempt_at, created_at, finished_at";

fn delivery_from_row(r: &Row) -> Result<Delivery, StoreError> {
    Ok(Delivery {
        id: r.text(0)?,
        endpoint_id: r.text(1)?,
        event_id: r.int(2)?.to_string(),
        topic: r.text(3)?,
        status: r.text(4)?,
        attempts: r.int(5)?,
        next_attempt_at: r.opt_int(6)?.map(rfc3339),
        created_at: rfc3339(r.int(7)?),
        finished_at: r.opt_int(8)?.map(rfc3339),
    })
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
    merchant_id: &str,
    endpoint_id: &str,
    page: PageRequest,
) -> AppResult<Page<Delivery>> {
    let merchant_id = merchant_id_of(merchant_id)?;
    let endpoint_id = parse_id(endpoint_id).ok_or(AppError::NotFound("webhook endpoint"))?;
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
    let limit = page.limit.clamp(1, crate::platform::page::MAX_LIMIT);
    let who = who.clone();
    app.db
        .read(move |c| {
            require_trading_staff(c, &who, &merchant_id, StaffNeed::AnyStaff)?;
            c.query_opt(
                "SELECT 1 FROM webhook_endpoints WHERE id = $1 AND merchant_id = $2",
                args![&endpoint_id, &merchant_id],
            )?
            .ok_or(AppError::NotFound("webhook endpoint"))?;
            // One row more than the page says whether another page follows.
            let rows = match &after {
                None => c.query(
                    &format!(
                        "SELECT {DELIVERY_COLUMNS} FROM webhook_deliveries WHERE endpoint_id = $1
                         ORDER BY created_at DESC, id DESC LIMIT $2"
                    ),
                    args![&endpoint_id, limit + 1],
                )?,
                Some((ms, id)) => c.query(
                    &format!(
                        "SELECT {DELIVERY_COLUMNS} FROM webhook_deliveries WHERE endpoint_id = $1
                           AND (created_at < $2 OR (created_at = $2 AND id < $3))
                         ORDER BY created_at DESC, id DESC LIMIT $4"
                    ),
                    args![&endpoint_id, *ms, id, limit + 1],
                )?,
            };
            let mut items = Vec::with_capacity(rows.len());
            let mut keys = Vec::with_capacity(rows.len());
            for r in &rows {
                keys.push((r.int(7)?, r.text(0)?));
                items.push(delivery_from_row(r)?);
            }
            // The cursor holds the raw millisecond key, not the RFC 3339 text shown.
            let keyed: Vec<(Delivery, (i64, String))> = items.into_iter().zip(keys).collect();
            let page = Page::from_rows(keyed, limit, |(_, k)| k.clone());
            Ok::<_, AppError>(Page {
                items: page.items.into_iter().map(|(d, _)| d).collect(),
                next_cursor: page.next_cursor,
            })
        })
        .await
}

/// Every attempt of one delivery, in order. 404 if the delivery is not this merchant's.
pub async fn list_attempts(
    app: &App,
    who: &Principal,
    merchant_id: &str,
    delivery_id: &str,
) -> AppResult<Vec<Attempt>> {
    let merchant_id = merchant_id_of(merchant_id)?;
    let delivery_id = parse_id(delivery_id).ok_or(AppError::NotFound("webhook delivery"))?;
    let who = who.clone();
    app.db
        .read(move |c| {
            require_trading_staff(c, &who, &merchant_id, StaffNeed::AnyStaff)?;
            c.query_opt(
                "SELECT 1 FROM webhook_deliveries WHERE id = $1 AND merchant_id = $2",
                args![&delivery_id, &merchant_id],
            )?
            .ok_or(AppError::NotFound("webhook delivery"))?;
            let rows = c.query(
                "SELECT delivery_id, attempt_no, started_at, duration_ms, status_code, error, response_body
                 FROM webhook_attempts WHERE delivery_id = $1 ORDER BY attempt_no, id LIMIT $2",
                args![&delivery_id, MAX_LISTED_ATTEMPTS],
            )?;
            let attempts = rows
                .iter()
                .map(|r| {
                    Ok(Attempt {
                        delivery_id: r.text(0)?,
                        attempt_no: r.int(1)?,
                        started_at: rfc3339(r.int(2)?),
                        duration_ms: r.int(3)?,
                        status_code: r.opt_int(4)?,
                        error: r.opt_text(5)?,
                        response_body: r.opt_text(6)?,
                    })
                })
                .collect::<Result<Vec<_>, StoreError>>()?;
            Ok::<_, AppError>(attempts)
        })
        .await
}

// ---------------------------------------------------------------------------------------
// Routing the outbox

/// Routes up to `batch` undispatched outbox events to the endpoints subscribed to them:
/// one pending delivery and one `webhook.deliver` job per matching active endpoint of the
/// event's merchant. Every selected event is marked dispatched in the same transaction,
/// matched or not, so each is routed exactly once; on PostgreSQL concurrent dispatchers
/// skip each other's rows. Returns how many events were dispatched.
pub async fn dispatch_outbox(app: &App, batch: i64) -> AppResult<usize> {
    let now = app.now_ms();
    let max_attempts = app.config.webhook_max_attempts;
    let batch = batch.max(0);
    app.db
        .write(move |c| {
            let sql = format!(
                "SELECT id, topic, merchant_id FROM outbox WHERE dispatched_at IS NULL
                 ORDER BY id LIMIT $1{}",
                c.for_update_skip_locked()
            );
            let events = c.query(&sql, args![batch])?;
            // Endpoints per merchant, loaded once per batch.
            let mut endpoints: std::collections::HashMap<String, Vec<(String, Vec<String>)>> =
                std::collections::HashMap::new();
            for ev in &events {
                let (outbox_id, topic) = (ev.int(0)?, ev.text(1)?);
                if let Some(merchant_id) = ev.opt_text(2)? {
                    if !endpoints.contains_key(&merchant_id) {
                        let loaded = active_endpoints(c, &merchant_id)?;
                        endpoints.insert(merchant_id.clone(), loaded);
                    }
                    let subscribed = endpoints
                        .get(&merchant_id)
                        .map(Vec::as_slice)
                        .unwrap_or(&[]);
                    for (endpoint_id, patterns) in subscribed {
                        if !patterns.iter().any(|p| topic_matches(p, &topic)) {
                            continue;
                        }
                        let delivery_id = new_id();
                        // The unique (endpoint, event) pair makes routing idempotent even
                        // if an event were ever selected twice.
                        let inserted = c.execute(
                            "INSERT INTO webhook_deliveries
                                 (id, endpoint_id, merchant_id, outbox_id, topic, status, attempts,
                                  next_attempt_at, created_at)
                             VALUES ($1, $2, $3, $4, $5, 'pending', 0, $6, $6)
                             ON CONFLICT (endpoint_id, outbox_id) DO NOTHING",
                            args![
                                &delivery_id,
                                endpoint_id,
                                &merchant_id,
                                outbox_id,
                                &topic,
                                now
                            ],
                        )?;
                        if inserted == 1 {
                            jobs::enqueue_with_attempts(
                                c,
                                now,
                                &Deliver { delivery_id },
                                now,
                                max_attempts,
                            )?;
                        }
                    }
                }
                c.execute(
                    "UPDATE outbox SET dispatched_at = $2 WHERE id = $1",
                    args![outbox_id, now],
                )?;
            }
            Ok::<_, AppError>(events.len())
        })
        .await
}

fn active_endpoints(
    c: &mut dyn Conn,
    merchant_id: &str,
) -> Result<Vec<(String, Vec<String>)>, StoreError> {
    let rows = c.query(
        "SELECT id, topics FROM webhook_endpoints WHERE merchant_id = $1 AND active = $2 ORDER BY id",
        args![merchant_id, true],
    )?;
    let mut out = Vec::with_capacity(rows.len());
    for r in rows {
        let id = r.text(0)?;
        match parse_topics(&r.text(1)?) {
            Ok(topics) => out.push((id, topics)),
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
struct Pending {
    status: String,
    url: String,
    secret: String,
    active: bool,
    event_id: i64,
    topic: String,
    merchant_id: String,
    event_created_at: i64,
    payload: String,
}

/// How one attempt ended.
enum Outcome {
    /// The receiver answered (any status).
    Answered { status: u16, body: String },
    /// No answer: connection, TLS, timeout, or a URL no longer allowed.
    NoAnswer(String),
}

/// The `webhook.deliver` job: one attempt at one delivery (payload `{"delivery_id": "…"}`).
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Deliver {
    pub delivery_id: String,
}

impl Job for Deliver {
    const KIND: &'static str = "webhook.deliver";
    /// Only a fallback: deliveries are queued with `webhook_max_attempts` from settings.
    const MAX_ATTEMPTS: i64 = 12;

    async fn run(self, app: &App, attempt: &ClaimedJob) -> Result<(), JobError> {
        deliver(app, &self.delivery_id, attempt).await
    }
}

/// Registers this context's jobs (called once when the [`App`] is built).
pub(crate) fn register_jobs(jobs: &mut JobRegistry) {
    jobs.register::<Deliver>();
}

/// One attempt at one delivery. Returns `Err` when the attempt failed and the job should
/// be retried (or, on its last attempt, fail); the delivery row is kept in step: delivered,
/// failed on the last attempt, or pending with its next attempt time. A delivery already
/// settled (a re-run after a crash) is left alone.
async fn deliver(app: &App, delivery_id: &str, job: &ClaimedJob) -> Result<(), JobError> {
    let delivery_id = parse_id(delivery_id).ok_or_else(|| {
        JobError::Outside(format!(
            "job payload has no valid delivery_id: {delivery_id}"
        ))
    })?;
    let p = load_pending(app, &delivery_id).await?;
    if p.status != "pending" {
        return Ok(());
    }
    if !p.active {
        settle(app, &delivery_id, "failed").await?;
        return Ok(());
    }
    if job.attempts > job.max_attempts {
        // A worker lost its lease during the last attempt (it crashed or stalled): the
        // attempt's outcome is unknown and no attempts are left.
        settle(app, &delivery_id, "failed").await?;
        return Err(JobError::Outside(
            "the last attempt was interrupted; no attempts left".into(),
        ));
    }

    let data: serde_json::Value = serde_json::from_str(&p.payload).map_err(|e| {
        JobError::App(AppError::Internal(format!(
            "outbox event {} has an unreadable payload: {e}",
            p.event_id
        )))
    })?;
    let event_id = p.event_id.to_string();
    let body = serde_json::to_vec(&serde_json::json!({
        "id": event_id,
        "topic": p.topic,
        "created_at": rfc3339(p.event_created_at),
        "merchant_id": p.merchant_id,
        "data": data,
    }))
    .map_err(|e| JobError::App(AppError::Internal(format!("serialize webhook body: {e}"))))?;

    let started_at = app.now_ms();
    let signature =
        kith_domain::signature::sign(p.secret.as_bytes(), started_at.div_euclid(1000), &body);
    let timer = Instant::now();
    let outcome = match validate_url(&p.url, app.config.webhook_allow_private) {
        Ok(url) => {
            post(
                app,
                &url,
                &event_id,
                &p.topic,
                &delivery_id,
                &signature,
                body,
            )
            .await
        }
        // Settings can change after an endpoint was registered.
        Err(e) => Outcome::NoAnswer(format!("url is not allowed: {e}")),
    };
    let duration_ms = i64::try_from(timer.elapsed().as_millis()).unwrap_or(i64::MAX);

    let (status_code, error, response_body) = match &outcome {
        Outcome::Answered { status, body } => (Some(i64::from(*status)), None, Some(body.clone())),
        Outcome::NoAnswer(e) => (None, Some(e.clone()), None),
    };
    let success =
        matches!(outcome, Outcome::Answered { status, .. } if (200..300).contains(&status));
    let now = app.now_ms();
    let next_attempt_at = now.saturating_add(jobs::backoff_ms(
        job.attempts,
        app.config.webhook_backoff_base_secs,
        app.config.webhook_backoff_max_secs,
    ));
    let last = job.is_last_attempt();
    let id = delivery_id.clone();
    app.db
        .write(move |c| {
            let sql = format!("SELECT attempts, status FROM webhook_deliveries WHERE id = $1{}", c.for_update());
            let row = c.query_one(&sql, args![&id])?;
            let (attempts, status) = (row.int(0)? + 1, row.text(1)?);
            c.execute(
                "INSERT INTO webhook_attempts
                     (delivery_id, attempt_no, started_at, duration_ms, status_code, error, response_body)
                 VALUES ($1, $2, $3, $4, $5, $6, $7)",
                args![&id, attempts, started_at, duration_ms, status_code, error.as_deref(), response_body.as_deref()],
            )?;
            if status != "pending" {
                // Settled meanwhile by a worker that took over the lease: its word stands.
                return Ok(());
            }
            if success || last {
                c.execute(
                    "UPDATE webhook_deliveries SET status = $2, attempts = $3, finished_at = $4,
                            next_attempt_at = NULL
                     WHERE id = $1",
                    args![&id, if success { "delivered" } else { "failed" }, attempts, now],
                )?;
            } else {
                c.execute(
                    "UPDATE webhook_deliveries SET attempts = $2, next_attempt_at = $3 WHERE id = $1",
                    args![&id, attempts, next_attempt_at],
                )?;
            }
            Ok::<_, AppError>(())
        })
        .await?;

    match outcome {
        _ if success => Ok(()),
        Outcome::Answered { status, .. } => Err(JobError::Outside(format!(
            "receiver answered HTTP {status}"
        ))),
        Outcome::NoAnswer(e) => Err(JobError::Outside(e)),
    }
}

async fn load_pending(app: &App, delivery_id: &str) -> AppResult<Pending> {
    let delivery_id = delivery_id.to_owned();
    app.db
        .read(move |c| {
            let r = c
                .query_opt(
                    "SELECT d.status, e.url, e.secret, e.active, o.id, o.topic, d.merchant_id,
                            o.created_at, o.payload
                     FROM webhook_deliveries d
                     JOIN webhook_endpoints e ON e.id = d.endpoint_id
                     JOIN outbox o ON o.id = d.outbox_id
                     WHERE d.id = $1",
                    args![&delivery_id],
                )?
                .ok_or(AppError::NotFound("webhook delivery"))?;
            Ok(Pending {
                status: r.text(0)?,
                url: r.text(1)?,
                secret: r.text(2)?,
                active: r.bool(3)?,
                event_id: r.int(4)?,
                topic: r.text(5)?,
                merchant_id: r.text(6)?,
                event_created_at: r.int(7)?,
                payload: r.text(8)?,
            })
        })
        .await
}

/// Ends a pending delivery without an attempt (its endpoint is gone, or no attempts are
/// left).
async fn settle(app: &App, delivery_id: &str, status: &'static str) -> AppResult<()> {
    let now = app.now_ms();
    let id = delivery_id.to_owned();
    app.db
        .write(move |c| {
            c.execute(
                "UPDATE webhook_deliveries SET status = $2, finished_at = $3, next_attempt_at = NULL
                 WHERE id = $1 AND status = 'pending'",
                args![&id, status, now],
            )?;
            Ok::<_, AppError>(())
        })
        .await
}

/// The one HTTP client every delivery shares (connection pool, TLS setup). Redirects are
/// off: a 3xx counts as a failed attempt rather than a way around the URL checks.
fn client() -> Result<&'static reqwest::Client, String> {
    static CLIENT: OnceLock<Result<reqwest::Client, String>> = OnceLock::new();
    CLIENT
        .get_or_init(|| {
            reqwest::Client::builder()
                .redirect(reqwest::redirect::Policy::none())
                .user_agent(concat!("kith-webhooks/", env!("CARGO_PKG_VERSION")))
                .build()
                .map_err(|e| format!("cannot build the HTTP client: {}", error_chain(&e)))
        })
        .as_ref()
        .map_err(Clone::clone)
}

async fn post(
    app: &App,
    url: &str,
    event_id: &str,
    topic: &str,
    delivery_id: &str,
    signature: &str,
    body: Vec<u8>,
) -> Outcome {
    let client = match client() {
        Ok(c) => c,
        Err(e) => return Outcome::NoAnswer(e),
    };
    // The timeout covers connecting, sending and reading the (truncated) answer.
    let timeout = Duration::from_secs(app.config.webhook_timeout_secs.max(1));
    let sent = client
        .post(url)
        .timeout(timeout)
        .header("Content-Type", "application/json")
        .header("Kith-Event-Id", event_id)
        .header("Kith-Topic", topic)
        .header("Kith-Delivery-Id", delivery_id)
        .header("Kith-Signature", signature)
        .body(body)
        .send()
        .await;
    let mut resp = match sent {
        Ok(r) => r,
        Err(e) => return Outcome::NoAnswer(error_chain(&e)),
    };
    let status = resp.status().as_u16();
    // Read only what the log keeps: a receiver answering with megabytes costs nothing.
    let mut kept = Vec::new();
    while kept.len() < MAX_LOGGED_BODY {
        match resp.chunk().await {
            Ok(Some(chunk)) => kept.extend_from_slice(&chunk),
            // A broken or slow body does not change what the status already said.
            Ok(None) | Err(_) => break,
        }
    }
    kept.truncate(MAX_LOGGED_BODY);
    // PostgreSQL text cannot hold NUL; a cut may split a UTF-8 sequence.
    let body = String::from_utf8_lossy(&kept).replace('\0', "\u{fffd}");
    Outcome::Answered { status, body }
}

/// An error and its causes on one line: reqwest's own message alone ("error sending
/// request") does not say what went wrong.
fn error_chain(e: &dyn std::error::Error) -> String {
    let mut out = e.to_string();
    let mut cause = e.source();
    while let Some(c) = cause {
        out.push_str(": ");
        out.push_str(&c.to_string());
        cause = c.source();
    }
    out
}

// ---------------------------------------------------------------------------------------
// Tests

/// An [`App`] on a throw-away SQLite database with one approved merchant, and a tiny
/// HTTP receiver; shared with the job tests.
#[cfg(test)]
pub(crate) mod test_support {
    use std::collections::{HashMap, VecDeque};
    use std::path::PathBuf;
    use std::sync::atomic::{AtomicU32, Ordering};
    use std::sync::{Arc, Mutex};

    use kith_domain::{Clock, ManualClock};
    use kith_store::testing::TestDatabase;
    use kith_store::{Db, SqliteSync, args};
    use tokio::io::{AsyncReadExt, AsyncWriteExt};

    use crate::{App, AppConfig, Principal};

    pub(crate) fn app_with(db: Db, clock: ManualClock, config: AppConfig) -> App {
        App::new(db, Arc::new(clock), config)
    }

    /// A test world: an [`App`] on a fresh database with one approved merchant owned by
    /// `owner`. Fields drop in order, so the app goes before the storage guards.
    pub(crate) struct TestEnv {
        pub app: App,
        pub clock: ManualClock,
        pub owner: Principal,
        pub merchant_id: String,
        _storage: Storage,
    }

    /// What to clean up after a test.
    enum Storage {
        SqliteDir(PathBuf),
        Postgres { _guard: PgGuard },
    }

    impl Drop for Storage {
        fn drop(&mut self) {
            if let Storage::SqliteDir(dir) = self {
                let _ = std::fs::remove_dir_all(dir);
            }
        }
    }

    /// Holds one clone of a PostgreSQL [`Db`] so that the last clone is dropped here, on a
    /// plain thread: the synchronous client closes its connections by blocking on its own
    /// runtime, which panics on a thread that drives async tasks. Then the database goes.
    pub(crate) struct PgGuard {
        db: Option<Db>,
        _database: TestDatabase,
    }

    impl Drop for PgGuard {
        fn drop(&mut self) {
            if let Some(db) = self.db.take() {
                let _ = std::thread::spawn(move || drop(db)).join();
            }
        }
    }

    pub(crate) fn test_config() -> AppConfig {
        AppConfig {
            webhook_allow_private: true,
            ..Default::default()
        }
    }

    impl TestEnv {
        pub async fn new() -> Self {
            Self::sqlite(test_config()).await
        }

        pub async fn sqlite(config: AppConfig) -> Self {
            static SEQ: AtomicU32 = AtomicU32::new(0);
            let nanos = std::time::SystemTime::now()
                .duration_since(std::time::UNIX_EPOCH)
                .unwrap_or_default()
                .subsec_nanos();
            let dir = std::env::temp_dir().join(format!(
                "kith-app-test-{}-{}-{nanos}",
                std::process::id(),
                SEQ.fetch_add(1, Ordering::Relaxed)
            ));
            std::fs::create_dir_all(&dir).unwrap();
            let db = Db::open_sqlite(&dir.join("kith.db"), SqliteSync::Normal, 2)
                .await
                .unwrap();
            Self::on(db, config, Storage::SqliteDir(dir)).await
        }

        /// The same world on a fresh PostgreSQL database, when `KITH_TEST_POSTGRES_URL`
        /// names a server; `None` (the test is skipped) otherwise.
        pub async fn postgres(config: AppConfig) -> Option<Self> {
            let Some(url) = kith_store::testing::postgres_url() else {
                eprintln!("KITH_TEST_POSTGRES_URL is not set; skipping a PostgreSQL test");
                return None;
            };
            let database = TestDatabase::create(&url).unwrap();
            let db = Db::connect_postgres(&database.url, 4).await.unwrap();
            let guard = PgGuard {
                db: Some(db.clone()),
                _database: database,
            };
            Some(Self::on(db, config, Storage::Postgres { _guard: guard }).await)
        }

        async fn on(db: Db, config: AppConfig, storage: Storage) -> Self {
            let clock = ManualClock::new(1_700_000_000_000);
            kith_store::migrate::run(&db, clock.now_ms()).await.unwrap();
            let app = app_with(db, clock.clone(), config);
            let mut env = Self {
                app,
                clock,
                owner: principal(""),
                merchant_id: String::new(),
                _storage: storage,
            };
            let (owner, merchant_id) = env.add_merchant("approved").await;
            env.owner = owner;
            env.merchant_id = merchant_id;
            env
        }

        /// A fresh account with no role anywhere.
        pub async fn add_account(&self) -> Principal {
            let id = crate::platform::ids::new_id();
            let now = self.app.now_ms();
            let acc = id.clone();
            self.app
                .db
                .write(move |c| {
                    c.execute(
                        "INSERT INTO accounts (id, email, password_hash, display_name, is_platform_admin, created_at)
                         VALUES ($1, $2, 'x', 'Test', $3, $4)",
                        args![&acc, format!("{acc}@example.test"), false, now],
                    )
                })
                .await
                .unwrap();
            principal(&id)
        }

        /// A merchant in `status` with a fresh account as its owner.
        pub async fn add_merchant(&self, status: &str) -> (Principal, String) {
            let owner = self.add_account().await;
            let merchant_id = crate::platform::ids::new_id();
            let now = self.app.now_ms();
            let (m, o, s) = (
                merchant_id.clone(),
                owner.account_id.clone(),
                status.to_owned(),
            );
            self.app
                .db
                .write(move |c| {
                    c.execute(
                        "INSERT INTO merchants (id, name, status, owner_account_id, applied_at, updated_at)
                         VALUES ($1, $2, $3, $4, $5, $5)",
                        args![&m, format!("shop {m}"), &s, &o, now],
                    )?;
                    c.execute(
                        "INSERT INTO merchant_staff (merchant_id, account_id, role, added_at)
                         VALUES ($1, $2, 'owner', $3)",
                        args![&m, &o, now],
                    )
                })
                .await
                .unwrap();
            (owner, merchant_id)
        }

        /// Writes an outbox event, as a use case would; returns its id.
        pub async fn emit(
            &self,
            topic: &str,
            merchant_id: Option<&str>,
            payload: serde_json::Value,
        ) -> i64 {
            let now = self.app.now_ms();
            let (topic, merchant_id) = (topic.to_owned(), merchant_id.map(str::to_owned));
            self.app
                .db
                .write(move |c| {
                    crate::platform::outbox::emit(
                        c,
                        now,
                        &topic,
                        merchant_id.as_deref(),
                        "agg-1",
                        &payload,
                    )
                })
                .await
                .unwrap()
        }
    }

    fn principal(id: &str) -> Principal {
        Principal {
            account_id: id.to_owned(),
            is_platform_admin: false,
        }
    }

    /// One request the receiver saw.
    #[derive(Debug, Clone)]
    pub(crate) struct Received {
        /// Header names in lower case.
        pub headers: HashMap<String, String>,
        pub body: Vec<u8>,
    }

    /// A raw HTTP/1.1 server on 127.0.0.1 that answers with the queued statuses, then 200,
    /// and records every request.
    pub(crate) struct Receiver {
        pub url: String,
        pub requests: Arc<Mutex<Vec<Received>>>,
        task: tokio::task::JoinHandle<()>,
    }

    impl Receiver {
        pub async fn start(statuses: Vec<u16>) -> Self {
            let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
            let url = format!("http://{}/hooks/kith", listener.local_addr().unwrap());
            let requests = Arc::new(Mutex::new(Vec::new()));
            let statuses = Arc::new(Mutex::new(VecDeque::from(statuses)));
            let seen = requests.clone();
            let task = tokio::spawn(async move {
                while let Ok((mut sock, _)) = listener.accept().await {
                    let (seen, statuses) = (seen.clone(), statuses.clone());
                    tokio::spawn(async move {
                        let Some(req) = read_request(&mut sock).await else {
                            return;
                        };
                        seen.lock().unwrap().push(req);
                        let status = statuses.lock().unwrap().pop_front().unwrap_or(200);
                        let body = if status < 300 {
                            "ok"
                        } else {
                            "receiver says no"
                        };
                        let answer = format!(
                            "HTTP/1.1 {status} X\r\nContent-Type: text/plain\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{body}",
                            body.len()
                        );
                        let _ = sock.write_all(answer.as_bytes()).await;
                        let _ = sock.shutdown().await;
                    });
                }
            });
            Self {
                url,
                requests,
                task,
            }
        }

        pub fn received(&self) -> Vec<Received> {
            self.requests.lock().unwrap().clone()
        }
    }

    impl Drop for Receiver {
        fn drop(&mut self) {
            self.task.abort();
        }
    }

    async fn read_request(sock: &mut tokio::net::TcpStream) -> Option<Received> {
        let mut buf = Vec::new();
        let mut chunk = [0u8; 4096];
        let head_end = loop {
            if let Some(i) = buf.windows(4).position(|w| w == b"\r\n\r\n") {
                break i + 4;
            }
            let n = sock.read(&mut chunk).await.ok()?;
            if n == 0 {
                return None;
            }
            buf.extend_from_slice(&chunk[..n]);
        };
        let head = String::from_utf8_lossy(&buf[..head_end]).into_owned();
        let headers: HashMap<String, String> = head
            .lines()
            .skip(1)
            .filter_map(|l| l.split_once(':'))
            .map(|(k, v)| (k.trim().to_ascii_lowercase(), v.trim().to_owned()))
            .collect();
        let len: usize = headers
            .get("content-length")
            .and_then(|v| v.parse().ok())
            .unwrap_or(0);
        while buf.len() < head_end + len {
            let n = sock.read(&mut chunk).await.ok()?;
            if n == 0 {
                return None;
            }
            buf.extend_from_slice(&chunk[..n]);
        }
        Some(Received {
            headers,
            body: buf[head_end..head_end + len].to_vec(),
        })
    }
}

#[cfg(test)]
mod tests {
    use kith_domain::signature;

    use super::test_support::{Receiver, TestEnv, test_config};
    use super::*;
    use crate::AppConfig;

    /// Runs each scenario as one test on SQLite and one on PostgreSQL (the latter only
    /// when `KITH_TEST_POSTGRES_URL` is set), with the given settings.
    macro_rules! on_both_engines {
        ($($name:ident => $config:expr;)*) => {
            mod sqlite {
                $(
                    #[tokio::test]
                    async fn $name() {
                        super::$name(super::TestEnv::sqlite($config).await).await;
                    }
                )*
            }
            mod postgres {
                $(
                    #[tokio::test]
                    async fn $name() {
                        if let Some(env) = super::TestEnv::postgres($config).await {
                            super::$name(env).await;
                        }
                    }
                )*
            }
        };
    }

    on_both_engines! {
        an_event_becomes_one_signed_delivery => super::test_config();
        failures_are_retried_with_backoff_until_delivered => super::test_config();
        the_last_failure_fails_delivery_and_job_together => super::two_attempts();
        an_unreachable_receiver_is_logged_as_an_error => super::test_config();
        unmatched_topics_and_other_merchants_create_no_delivery => super::test_config();
        a_deleted_endpoint_receives_nothing => super::test_config();
        deliveries_page_newest_first => super::test_config();
        only_trading_staff_manage_their_own_endpoints => super::test_config();
        at_most_twenty_active_endpoints => super::test_config();
        bad_input_is_refused_with_its_field => super::AppConfig::default();
    }

    fn new_endpoint(url: &str, topics: &[&str]) -> NewEndpoint {
        NewEndpoint {
            url: url.to_owned(),
            topics: topics.iter().map(|t| (*t).to_owned()).collect(),
            description: Some("order system".into()),
        }
    }

    async fn deliveries(env: &TestEnv, endpoint_id: &str) -> Vec<Delivery> {
        list_deliveries(
            &env.app,
            &env.owner,
            &env.merchant_id,
            endpoint_id,
            PageRequest::first(100),
        )
        .await
        .unwrap()
        .items
    }

    fn field_of(e: AppError) -> String {
        match e {
            AppError::Invalid { field, .. } => field,
            other => panic!("expected Invalid, got {other:?}"),
        }
    }

    async fn an_event_becomes_one_signed_delivery(env: TestEnv) {
        let rx = Receiver::start(vec![]).await;
        let (ep, secret) = create_endpoint(
            &env.app,
            &env.owner,
            &env.merchant_id,
            new_endpoint(&rx.url, &["store.*"]),
        )
        .await
        .unwrap();
        assert!(secret.starts_with("whsec_"));
        let shown = serde_json::to_string(&ep).unwrap();
        assert!(
            !shown.contains(&secret) && !shown.contains("secret"),
            "{shown}"
        );

        let event_id = env
            .emit(
                "store.created",
                Some(&env.merchant_id),
                serde_json::json!({ "name": "西湖店" }),
            )
            .await;
        assert_eq!(jobs::run_once(&env.app, "w1").await.unwrap(), 1);

        let got = rx.received();
        assert_eq!(got.len(), 1);
        let req = &got[0];
        let now_secs = env.app.now_ms() / 1000;
        let header = &req.headers["kith-signature"];
        signature::verify(header, secret.as_bytes(), &req.body, now_secs, 300).unwrap();
        assert!(signature::verify(header, b"whsec_other", &req.body, now_secs, 300).is_err());
        assert_eq!(req.headers["content-type"], "application/json");
        assert_eq!(req.headers["kith-event-id"], event_id.to_string());
        assert_eq!(req.headers["kith-topic"], "store.created");
        let body: serde_json::Value = serde_json::from_slice(&req.body).unwrap();
        assert_eq!(body["id"], event_id.to_string());
        assert_eq!(body["topic"], "store.created");
        assert_eq!(body["merchant_id"], env.merchant_id.as_str());
        assert_eq!(body["created_at"], rfc3339(1_700_000_000_000));
        assert_eq!(body["data"]["name"], "西湖店");

        let ds = deliveries(&env, &ep.id).await;
        assert_eq!(ds.len(), 1, "{ds:?}");
        assert_eq!((ds[0].status.as_str(), ds[0].attempts), ("delivered", 1));
        assert_eq!(ds[0].event_id, event_id.to_string());
        assert!(ds[0].finished_at.is_some() && ds[0].next_attempt_at.is_none());
        let attempts = list_attempts(&env.app, &env.owner, &env.merchant_id, &ds[0].id)
            .await
            .unwrap();
        assert_eq!(attempts.len(), 1);
        assert_eq!(
            (attempts[0].attempt_no, attempts[0].status_code),
            (1, Some(200))
        );
        assert_eq!(attempts[0].response_body.as_deref(), Some("ok"));

        // Nothing is sent twice.
        env.clock.advance_secs(3600);
        assert_eq!(jobs::run_once(&env.app, "w1").await.unwrap(), 0);
        assert_eq!(rx.received().len(), 1);
    }

    async fn failures_are_retried_with_backoff_until_delivered(env: TestEnv) {
        let rx = Receiver::start(vec![500, 500]).await;
        let (ep, _) = create_endpoint(
            &env.app,
            &env.owner,
            &env.merchant_id,
            new_endpoint(&rx.url, &["merchant.*"]),
        )
        .await
        .unwrap();
        env.emit(
            "merchant.updated",
            Some(&env.merchant_id),
            serde_json::json!({}),
        )
        .await;

        assert_eq!(jobs::run_once(&env.app, "w").await.unwrap(), 1);
        let d = &deliveries(&env, &ep.id).await[0];
        assert_eq!((d.status.as_str(), d.attempts), ("pending", 1));
        assert_eq!(
            d.next_attempt_at.as_deref(),
            Some(rfc3339(env.app.now_ms() + 10_000).as_str())
        );

        // Not due before the backoff has passed.
        env.clock.advance_ms(9_999);
        assert_eq!(jobs::run_once(&env.app, "w").await.unwrap(), 0);
        env.clock.advance_ms(1);
        assert_eq!(jobs::run_once(&env.app, "w").await.unwrap(), 1);
        // The second wait is twice the first.
        env.clock.advance_secs(19);
        assert_eq!(jobs::run_once(&env.app, "w").await.unwrap(), 0);
        env.clock.advance_secs(1);
        assert_eq!(jobs::run_once(&env.app, "w").await.unwrap(), 1);

        let ds = deliveries(&env, &ep.id).await;
        assert_eq!((ds[0].status.as_str(), ds[0].attempts), ("delivered", 3));
        let attempts = list_attempts(&env.app, &env.owner, &env.merchant_id, &ds[0].id)
            .await
            .unwrap();
        let codes: Vec<_> = attempts
            .iter()
            .map(|a| (a.attempt_no, a.status_code))
            .collect();
        assert_eq!(codes, [(1, Some(500)), (2, Some(500)), (3, Some(200))]);
        assert_eq!(
            attempts[0].response_body.as_deref(),
            Some("receiver says no")
        );
        assert_eq!(rx.received().len(), 3);
        // The job finished with the delivery.
        let open = env
            .app
            .db
            .read(|c| {
                c.query_one("SELECT COUNT(*) FROM jobs WHERE status = 'queued'", &[])?
                    .int(0)
            })
            .await
            .unwrap();
        assert_eq!(open, 0);
    }

    fn two_attempts() -> AppConfig {
        AppConfig {
            webhook_max_attempts: 2,
            ..test_config()
        }
    }

    async fn the_last_failure_fails_delivery_and_job_together(env: TestEnv) {
        let rx = Receiver::start(vec![503; 10]).await;
        let (ep, _) = create_endpoint(
            &env.app,
            &env.owner,
            &env.merchant_id,
            new_endpoint(&rx.url, &["order.paid"]),
        )
        .await
        .unwrap();
        env.emit(
            "order.paid",
            Some(&env.merchant_id),
            serde_json::json!({ "order": 1 }),
        )
        .await;
        assert_eq!(jobs::run_once(&env.app, "w").await.unwrap(), 1);
        env.clock.advance_secs(10);
        assert_eq!(jobs::run_once(&env.app, "w").await.unwrap(), 1);
        env.clock.advance_secs(3600);
        assert_eq!(jobs::run_once(&env.app, "w").await.unwrap(), 0);
        let d = &deliveries(&env, &ep.id).await[0];
        assert_eq!((d.status.as_str(), d.attempts), ("failed", 2));
        assert!(d.finished_at.is_some() && d.next_attempt_at.is_none());
        let (status, err) = env
            .app
            .db
            .read(|c| {
                let r = c.query_one("SELECT status, last_error FROM jobs", &[])?;
                Ok::<_, StoreError>((r.text(0)?, r.opt_text(1)?))
            })
            .await
            .unwrap();
        assert_eq!(status, "failed");
        assert_eq!(err.as_deref(), Some("receiver answered HTTP 503"));
    }

    async fn an_unreachable_receiver_is_logged_as_an_error(env: TestEnv) {
        // A port that was just free: nothing answers there.
        let port = {
            let l = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
            l.local_addr().unwrap().port()
        };
        let url = format!("http://127.0.0.1:{port}/gone");
        let (ep, _) = create_endpoint(
            &env.app,
            &env.owner,
            &env.merchant_id,
            new_endpoint(&url, &["order.paid"]),
        )
        .await
        .unwrap();
        env.emit("order.paid", Some(&env.merchant_id), serde_json::json!({}))
            .await;
        assert_eq!(jobs::run_once(&env.app, "w").await.unwrap(), 1);
        let d = &deliveries(&env, &ep.id).await[0];
        assert_eq!((d.status.as_str(), d.attempts), ("pending", 1));
        let attempts = list_attempts(&env.app, &env.owner, &env.merchant_id, &d.id)
            .await
            .unwrap();
        assert_eq!(attempts.len(), 1);
        assert_eq!(attempts[0].status_code, None);
        assert_eq!(attempts[0].response_body, None);
        assert!(attempts[0].error.as_deref().is_some_and(|e| !e.is_empty()));
    }

    async fn unmatched_topics_and_other_merchants_create_no_delivery(env: TestEnv) {
        let rx = Receiver::start(vec![]).await;
        let (ep, _) = create_endpoint(
            &env.app,
            &env.owner,
            &env.merchant_id,
            new_endpoint(&rx.url, &["store.*", "order.paid"]),
        )
        .await
        .unwrap();
        let (_, other_merchant) = env.add_merchant("approved").await;
        env.emit(
            "merchant.approved",
            Some(&env.merchant_id),
            serde_json::json!({}),
        )
        .await;
        env.emit(
            "stores.created",
            Some(&env.merchant_id),
            serde_json::json!({}),
        )
        .await;
        env.emit("order.paid", Some(&other_merchant), serde_json::json!({}))
            .await;
        env.emit("order.paid", None, serde_json::json!({})).await;
        assert_eq!(jobs::run_once(&env.app, "w").await.unwrap(), 0);
        assert!(deliveries(&env, &ep.id).await.is_empty());
        assert!(rx.received().is_empty());
        // Every event was still dispatched, so none is looked at again.
        assert_eq!(dispatch_outbox(&env.app, 100).await.unwrap(), 0);
    }

    async fn a_deleted_endpoint_receives_nothing(env: TestEnv) {
        let rx = Receiver::start(vec![]).await;
        let (ep, _) = create_endpoint(
            &env.app,
            &env.owner,
            &env.merchant_id,
            new_endpoint(&rx.url, &["store.*"]),
        )
        .await
        .unwrap();
        env.emit(
            "store.updated",
            Some(&env.merchant_id),
            serde_json::json!({}),
        )
        .await;
        assert_eq!(dispatch_outbox(&env.app, 100).await.unwrap(), 2);
        delete_endpoint(&env.app, &env.owner, &env.merchant_id, &ep.id)
            .await
            .unwrap();
        // Deleting twice is fine.
        delete_endpoint(&env.app, &env.owner, &env.merchant_id, &ep.id)
            .await
            .unwrap();
        assert_eq!(jobs::run_once(&env.app, "w").await.unwrap(), 1);
        assert!(rx.received().is_empty());
        let d = &deliveries(&env, &ep.id).await[0];
        assert_eq!((d.status.as_str(), d.attempts), ("failed", 0));
        assert!(
            list_endpoints(&env.app, &env.owner, &env.merchant_id)
                .await
                .unwrap()
                .is_empty()
        );
        env.emit(
            "store.updated",
            Some(&env.merchant_id),
            serde_json::json!({}),
        )
        .await;
        jobs::run_once(&env.app, "w").await.unwrap();
        assert_eq!(deliveries(&env, &ep.id).await.len(), 1);
    }

    async fn deliveries_page_newest_first(env: TestEnv) {
        // Nothing listens: deliveries stay pending, which is all this test needs.
        let (ep, _) = create_endpoint(
            &env.app,
            &env.owner,
            &env.merchant_id,
            new_endpoint("http://127.0.0.1:9/unused", &["store.*"]),
        )
        .await
        .unwrap();
        let mut events = Vec::new();
        for _ in 0..3 {
            events.push(
                env.emit(
                    "store.updated",
                    Some(&env.merchant_id),
                    serde_json::json!({}),
                )
                .await,
            );
            dispatch_outbox(&env.app, 100).await.unwrap();
            env.clock.advance_secs(1);
        }
        let first = list_deliveries(
            &env.app,
            &env.owner,
            &env.merchant_id,
            &ep.id,
            PageRequest::first(2),
        )
        .await
        .unwrap();
        let ids: Vec<_> = first.items.iter().map(|d| d.event_id.clone()).collect();
        assert_eq!(ids, [events[2].to_string(), events[1].to_string()]);
        let cursor = first.next_cursor.expect("a second page");
        let page = PageRequest::parse(Some(2), Some(&cursor)).unwrap();
        let second = list_deliveries(&env.app, &env.owner, &env.merchant_id, &ep.id, page)
            .await
            .unwrap();
        assert_eq!(second.items.len(), 1);
        assert_eq!(second.items[0].event_id, events[0].to_string());
        assert!(second.next_cursor.is_none());
        // A forged cursor is refused at parsing, before it can reach SQL.
        let forged = crate::platform::page::encode_cursor(i64::MAX, "x");
        let err = PageRequest::parse(Some(2), Some(&forged)).unwrap_err();
        assert_eq!(field_of(err), "cursor");
    }

    async fn only_trading_staff_manage_their_own_endpoints(env: TestEnv) {
        let stranger = env.add_account().await;
        let url = "http://127.0.0.1:9/hook";
        let err = create_endpoint(
            &env.app,
            &stranger,
            &env.merchant_id,
            new_endpoint(url, &["*"]),
        )
        .await
        .unwrap_err();
        assert!(matches!(err, AppError::Forbidden(_)), "{err:?}");
        let err = list_endpoints(&env.app, &stranger, &env.merchant_id)
            .await
            .unwrap_err();
        assert!(matches!(err, AppError::Forbidden(_)), "{err:?}");

        // Another merchant's staff cannot reach this merchant's endpoint or deliveries
        // through their own merchant either.
        let (ep, _) = create_endpoint(
            &env.app,
            &env.owner,
            &env.merchant_id,
            new_endpoint(url, &["*"]),
        )
        .await
        .unwrap();
        let (other_owner, other_merchant) = env.add_merchant("approved").await;
        let err = delete_endpoint(&env.app, &other_owner, &other_merchant, &ep.id)
            .await
            .unwrap_err();
        assert!(matches!(err, AppError::NotFound(_)), "{err:?}");
        let err = list_deliveries(
            &env.app,
            &other_owner,
            &other_merchant,
            &ep.id,
            PageRequest::first(10),
        )
        .await
        .unwrap_err();
        assert!(matches!(err, AppError::NotFound(_)), "{err:?}");
        dispatch_outbox(&env.app, 100).await.unwrap();
        let d = &deliveries(&env, &ep.id).await[0];
        let err = list_attempts(&env.app, &other_owner, &other_merchant, &d.id)
            .await
            .unwrap_err();
        assert!(matches!(err, AppError::NotFound(_)), "{err:?}");

        // A merchant that is not approved cannot set up webhooks.
        let (pending_owner, pending) = env.add_merchant("pending").await;
        let err = create_endpoint(
            &env.app,
            &pending_owner,
            &pending,
            new_endpoint(url, &["*"]),
        )
        .await
        .unwrap_err();
        assert!(matches!(err, AppError::Conflict { .. }), "{err:?}");
        let err = list_endpoints(&env.app, &env.owner, "not-an-id")
            .await
            .unwrap_err();
        assert!(matches!(err, AppError::NotFound(_)), "{err:?}");
    }

    async fn at_most_twenty_active_endpoints(env: TestEnv) {
        let url = "https://hooks.example.com/kith";
        let mut first = None;
        for _ in 0..MAX_ACTIVE_ENDPOINTS {
            let (ep, _) = create_endpoint(
                &env.app,
                &env.owner,
                &env.merchant_id,
                new_endpoint(url, &["*"]),
            )
            .await
            .unwrap();
            first.get_or_insert(ep.id);
        }
        let err = create_endpoint(
            &env.app,
            &env.owner,
            &env.merchant_id,
            new_endpoint(url, &["*"]),
        )
        .await
        .unwrap_err();
        assert!(matches!(err, AppError::Conflict { .. }), "{err:?}");
        assert_eq!(
            list_endpoints(&env.app, &env.owner, &env.merchant_id)
                .await
                .unwrap()
                .len(),
            20
        );
        delete_endpoint(&env.app, &env.owner, &env.merchant_id, &first.unwrap())
            .await
            .unwrap();
        create_endpoint(
            &env.app,
            &env.owner,
            &env.merchant_id,
            new_endpoint(url, &["*"]),
        )
        .await
        .unwrap();
    }

    async fn bad_input_is_refused_with_its_field(env: TestEnv) {
        let create = |url: &str, topics: &[&str], description: Option<String>| {
            let mut input = new_endpoint(url, topics);
            input.description = description;
            create_endpoint(&env.app, &env.owner, &env.merchant_id, input)
        };
        let ok = "https://hooks.example.com/kith";
        assert_eq!(
            field_of(
                create("http://hooks.example.com/", &["*"], None)
                    .await
                    .unwrap_err()
            ),
            "url"
        );
        assert_eq!(
            field_of(
                create("https://127.0.0.1/", &["*"], None)
                    .await
                    .unwrap_err()
            ),
            "url"
        );
        assert_eq!(field_of(create(ok, &[], None).await.unwrap_err()), "topics");
        assert_eq!(
            field_of(create(ok, &["store.*", "Bad"], None).await.unwrap_err()),
            "topics[1]"
        );
        assert_eq!(
            field_of(create(ok, &["*"], Some("x".repeat(201))).await.unwrap_err()),
            "description"
        );
        let (ep, _) = create(ok, &["store.*", "store.*", "*"], Some("  crm ".into()))
            .await
            .unwrap();
        assert_eq!(ep.topics, ["store.*", "*"]);
        assert_eq!(ep.description, "crm");
        assert_eq!(
            list_endpoints(&env.app, &env.owner, &env.merchant_id)
                .await
                .unwrap()
                .len(),
            1
        );
    }

    #[test]
    fn urls_are_checked() {
        for good in [
            "https://hooks.example.com/kith?x=1",
            "https://203.0.113.7:8443/h",
            "https://[2001:db8::1]/h",
        ] {
            assert!(validate_url(good, false).is_ok(), "{good}");
        }
        for bad in [
            "",
            "not a url",
            "/relative",
            "ftp://example.com/",
            "http://example.com/",
            "https://localhost/",
            "https://api.localhost/",
            "https://127.0.0.1/",
            "https://0x7f.1/",
            "https://2130706433/",
            "https://10.0.0.8/",
            "https://172.16.5.5/",
            "https://192.168.1.1/",
            "https://169.254.169.254/latest/meta-data",
            "https://100.64.0.1/",
            "https://0.0.0.0/",
            "https://[::1]/",
            "https://[fd00::1]/",
            "https://[fe80::1]/",
            "https://[::ffff:127.0.0.1]/",
        ] {
            let err = validate_url(bad, false).unwrap_err();
            assert_eq!(field_of(err), "url", "{bad}");
        }
        let long = format!("https://example.com/{}", "a".repeat(MAX_URL_LEN));
        assert!(validate_url(&long, false).is_err());
        assert!(validate_url("http://127.0.0.1:8080/h", true).is_ok());
        assert!(validate_url("ftp://127.0.0.1/", true).is_err());
    }

    #[test]
    fn topics_are_checked_and_matched() {
        let t =
            |v: &[&str]| validate_topics(&v.iter().map(|s| (*s).to_owned()).collect::<Vec<_>>());
        assert!(t(&["*", "merchant.approved", "store.*", "order_v2.paid"]).is_ok());
        for (bad, field) in [
            (vec!["Store.x"], "topics[0]"),
            (vec!["*", "store..x"], "topics[1]"),
            (vec!["*.created"], "topics[0]"),
            (vec!["st*re"], "topics[0]"),
            (vec!["store.*.x"], "topics[0]"),
            (vec![".store"], "topics[0]"),
            (vec!["store-x"], "topics[0]"),
            (vec![""], "topics[0]"),
        ] {
            assert_eq!(field_of(t(&bad).unwrap_err()), field, "{bad:?}");
        }
        let long = "a".repeat(MAX_TOPIC_LEN + 1);
        assert_eq!(field_of(t(&[long.as_str()]).unwrap_err()), "topics[0]");
        let many = vec!["a"; MAX_TOPICS + 1];
        assert_eq!(field_of(t(&many).unwrap_err()), "topics");

        assert!(topic_matches("*", "anything.at.all"));
        assert!(topic_matches("store.*", "store.created"));
        assert!(topic_matches("store.*", "store.clerk.added"));
        assert!(!topic_matches("store.*", "store"));
        assert!(!topic_matches("store.*", "stores.created"));
        assert!(topic_matches("merchant.approved", "merchant.approved"));
        assert!(!topic_matches(
            "merchant.approved",
            "merchant.approved.late"
        ));
    }
}
