//! Routing the outbox to endpoints and delivering it: one delivery row and one
//! `webhook.deliver` job per matching endpoint, then signed POSTs with an attempt log.

use std::sync::OnceLock;
use std::time::{Duration, Instant};

use kith_store::Conn;
use serde::{Deserialize, Serialize};

use super::store::{self, Pending, Routable};
use super::*;
use crate::events::jobs::{self, ClaimedJob, Job, JobError, JobRegistry, Keys, Lane};
use crate::events::store as events_store;
use crate::platform::ids::{new_id, parse_id};
use crate::{App, AppError, AppResult, rfc3339};

// ---------------------------------------------------------------------------------------
// Routing the outbox

/// Most outbox ids one `UPDATE … WHERE id IN (…)` names.
const DISPATCH_CHUNK: usize = 100;

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
            let events = store::lock_undispatched(c, batch)?;
            // Endpoints per merchant, loaded once per batch.
            let mut endpoints: std::collections::HashMap<String, Vec<Routable>> =
                std::collections::HashMap::new();
            for (outbox_id, topic, merchant_id) in &events {
                let (outbox_id, topic) = (*outbox_id, topic.clone());
                if let Some(merchant_id) = merchant_id.clone() {
                    if !endpoints.contains_key(&merchant_id) {
                        let loaded = store::active_endpoints(c, &merchant_id)?;
                        endpoints.insert(merchant_id.clone(), loaded);
                    }
                    let subscribed = endpoints
                        .get(&merchant_id)
                        .map(Vec::as_slice)
                        .unwrap_or(&[]);
                    for Routable {
                        id: endpoint_id,
                        topics: patterns,
                        paused_until,
                    } in subscribed
                    {
                        if !patterns.iter().any(|p| topic_matches(p, &topic)) {
                            continue;
                        }
                        // An endpoint paused as a whole gets its new deliveries queued for
                        // when the pause ends.
                        let due = paused_until.map_or(now, |p| p.max(now));
                        let delivery_id = new_id();
                        // The unique (endpoint, event) pair makes routing idempotent even
                        // if an event were ever selected twice.
                        if store::insert_delivery(
                            c,
                            &delivery_id,
                            endpoint_id,
                            &merchant_id,
                            outbox_id,
                            &topic,
                            due,
                            now,
                        )? {
                            // Keyed by merchant and endpoint: the delivery lane's limits
                            // count them.
                            jobs::enqueue_keyed(
                                c,
                                now,
                                &Deliver { delivery_id },
                                due,
                                max_attempts,
                                Some(Keys {
                                    tenant: &merchant_id,
                                    target: endpoint_id,
                                }),
                            )?;
                        }
                    }
                }
            }
            // Every selected event is dispatched, in as few statements as the list allows.
            let ids: Vec<i64> = events.iter().map(|e| e.0).collect();
            for chunk in ids.chunks(DISPATCH_CHUNK) {
                store::mark_dispatched(c, now, chunk)?;
            }
            Ok::<_, AppError>(events.len())
        })
        .await
}

// ---------------------------------------------------------------------------------------
// Delivering

/// How one attempt ended.
pub(super) enum Outcome {
    /// The receiver answered (any status).
    Answered { status: u16, body: String },
    /// No answer: the class of what went wrong (connection, TLS, timeout, an address not
    /// allowed), never the socket error's text, which would let a merchant map the
    /// operator's network through the attempt log.
    NoAnswer(&'static str),
}

/// The `webhook.deliver` job: one attempt at one delivery (payload `{"delivery_id": "…"}`).
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Deliver {
    pub delivery_id: String,
}

impl Job for Deliver {
    const KIND: &'static str = "webhook.deliver";
    /// Calls the outside world: its own lane, limited per endpoint and per merchant.
    const LANE: Lane = Lane::Delivery;
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
    if !p.active || p.disabled {
        settle(app, &delivery_id, "failed").await?;
        return Ok(());
    }
    if let Some(until) = p.paused_until.filter(|u| *u > app.now_ms()) {
        // The endpoint is paused as a whole: wait, without using an attempt.
        return Err(JobError::Later { run_at_ms: until });
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
    let allow_private = app.config.webhook_allow_private;
    let outcome = match validate_url(&p.url, allow_private) {
        Ok(url) => {
            let request = Request {
                url: &url,
                event_id: &event_id,
                topic: &p.topic,
                delivery_id: &delivery_id,
                signature: &signature,
            };
            post(app, &request, body).await
        }
        // Settings can change after an endpoint was registered.
        Err(e) => {
            tracing::warn!(%delivery_id, endpoint_id = %p.endpoint_id, error = %e, "webhook url no longer allowed");
            Outcome::NoAnswer(ADDRESS_NOT_ALLOWED)
        }
    };
    let duration_ms = i64::try_from(timer.elapsed().as_millis()).unwrap_or(i64::MAX);

    let (status_code, error, response_body) = match &outcome {
        Outcome::Answered { status, body } => (Some(i64::from(*status)), None, Some(body.clone())),
        Outcome::NoAnswer(e) => (None, Some(*e), None),
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
    let endpoint_id = p.endpoint_id.clone();
    let merchant_id = p.merchant_id.clone();
    let config = app.config.clone();
    let disabled_now = app
        .db
        .write(move |c| {
            // The endpoint first, then the delivery: every transaction that locks both
            // locks in this order.
            let health = if success {
                store::endpoint_succeeded(c, &endpoint_id)?;
                Health::Fine
            } else {
                endpoint_failed(c, &config, &endpoint_id, &merchant_id, &id, started_at, now)?
            };
            let (attempts, status) = store::lock_delivery(c, &id)?;
            let attempts = attempts + 1;
            store::insert_attempt(
                c,
                &id,
                attempts,
                started_at,
                duration_ms,
                status_code,
                error,
                response_body.as_deref(),
            )?;
            if status != "pending" {
                // Settled meanwhile by a worker that took over the lease: its word stands.
                return Ok(false);
            }
            let disabled = matches!(health, Health::Disabled);
            if success || last || disabled {
                store::finish_delivery(
                    c,
                    &id,
                    if success { "delivered" } else { "failed" },
                    attempts,
                    now,
                )?;
            } else {
                let next = match health {
                    Health::Paused(until) => next_attempt_at.max(until),
                    _ => next_attempt_at,
                };
                store::schedule_delivery(c, &id, attempts, next)?;
            }
            Ok::<_, AppError>(disabled)
        })
        .await?;

    match outcome {
        _ if success => Ok(()),
        // The endpoint was disabled by this failure: the delivery is settled, the job ends.
        _ if disabled_now => Ok(()),
        Outcome::Answered { status, .. } => Err(JobError::Outside(format!(
            "receiver answered HTTP {status}"
        ))),
        Outcome::NoAnswer(e) => Err(JobError::Outside(e.to_owned())),
    }
}

/// What a failed attempt did to its endpoint.
enum Health {
    Fine,
    /// Paused as a whole until then: its queued deliveries wait.
    Paused(i64),
    /// Disabled by this failure (the merchant is told through the outbox).
    Disabled,
}

/// A delivery failed: counts it against the endpoint and pauses the endpoint as a whole
/// (exponential backoff on its consecutive failures, so a dead receiver costs one request
/// per pause, not one per queued event); disables it once it has failed
/// `webhook_disable_after_failures` times in a row for `webhook_disable_after_secs`,
/// settling its other pending deliveries and telling the merchant.
fn endpoint_failed(
    c: &mut dyn Conn,
    config: &crate::AppConfig,
    endpoint_id: &str,
    merchant_id: &str,
    delivery_id: &str,
    started_at: i64,
    now: i64,
) -> Result<Health, AppError> {
    let row = store::lock_endpoint_health(c, endpoint_id)?;
    let failures = row.consecutive_failures.saturating_add(1);
    let since = row.failing_since.unwrap_or(started_at);
    let (disabled, active) = (row.disabled, row.active);
    let pause = now
        .saturating_add(jobs::backoff_ms(
            failures,
            config.webhook_backoff_base_secs,
            config.webhook_backoff_max_secs,
        ))
        .max(row.paused_until.unwrap_or(i64::MIN));
    if disabled || !active {
        return Ok(Health::Fine);
    }
    let failing_for_ms = now.saturating_sub(since);
    let disable_after_ms = config.webhook_disable_after_secs.saturating_mul(1000);
    if failures >= config.webhook_disable_after_failures && failing_for_ms >= disable_after_ms {
        let reason = format!(
            "{failures} deliveries failed in a row since {}",
            rfc3339(since)
        );
        store::disable_endpoint(c, endpoint_id, failures, since, now, &reason)?;
        store::fail_other_pending(c, endpoint_id, now, delivery_id)?;
        events_store::cancel_target(c, Lane::Delivery, endpoint_id, now, "endpoint disabled")?;
        crate::platform::outbox::emit(
            c,
            now,
            "webhook_endpoint.disabled",
            Some(merchant_id),
            endpoint_id,
            &serde_json::json!({
                "id": endpoint_id,
                "reason": reason,
                "consecutive_failures": failures,
                "failing_since": rfc3339(since),
            }),
        )?;
        tracing::warn!(%endpoint_id, %merchant_id, failures, "webhook endpoint disabled");
        return Ok(Health::Disabled);
    }
    store::pause_endpoint(c, endpoint_id, failures, since, pause)?;
    events_store::defer_target(c, Lane::Delivery, endpoint_id, now, pause)?;
    store::defer_other_pending(c, endpoint_id, pause, delivery_id)?;
    Ok(Health::Paused(pause))
}

async fn load_pending(app: &App, delivery_id: &str) -> AppResult<Pending> {
    let delivery_id = delivery_id.to_owned();
    app.db
        .read(move |c| {
            store::pending(c, &delivery_id)?.ok_or(AppError::NotFound("webhook delivery"))
        })
        .await
}

/// Ends a pending delivery without an attempt (its endpoint is gone, or no attempts are
/// left).
async fn settle(app: &App, delivery_id: &str, status: &'static str) -> AppResult<()> {
    let now = app.now_ms();
    let id = delivery_id.to_owned();
    app.db
        .write(move |c| store::settle_delivery(c, &id, status, now))
        .await
}

/// The attempt log's word for an address kith may not call.
const ADDRESS_NOT_ALLOWED: &str = "address not allowed";

/// The HTTP clients every delivery shares (connection pool, TLS setup): one for
/// production, whose resolver ([`super::urls::PublicOnly`]) refuses names that lead to a
/// non-public address before a socket is opened, and one for `webhook_allow_private`
/// (tests, the demo). Redirects are off: a 3xx counts as a failed attempt rather than a
/// way around the checks. The production client ignores proxy settings from the
/// environment, because a proxy would resolve the name itself, after our check.
fn client(allow_private: bool) -> Result<&'static reqwest::Client, &'static str> {
    static STRICT: OnceLock<Option<reqwest::Client>> = OnceLock::new();
    static OPEN: OnceLock<Option<reqwest::Client>> = OnceLock::new();
    let build = |allow_private: bool| {
        let mut builder = reqwest::Client::builder()
            .redirect(reqwest::redirect::Policy::none())
            .user_agent(concat!("kith-webhooks/", env!("CARGO_PKG_VERSION")));
        if !allow_private {
            builder = builder
                .dns_resolver(std::sync::Arc::new(super::urls::PublicOnly))
                .no_proxy();
        }
        builder
            .build()
            .map_err(|e| tracing::error!(error = %error_chain(&e), "cannot build the webhook HTTP client"))
            .ok()
    };
    let cell = if allow_private { &OPEN } else { &STRICT };
    cell.get_or_init(|| build(allow_private))
        .as_ref()
        .ok_or("client unavailable")
}

/// What one signed POST carries besides its body.
pub(super) struct Request<'a> {
    pub(super) url: &'a str,
    pub(super) event_id: &'a str,
    pub(super) topic: &'a str,
    pub(super) delivery_id: &'a str,
    pub(super) signature: &'a str,
}

async fn post(app: &App, req: &Request<'_>, body: Vec<u8>) -> Outcome {
    let timeout = Duration::from_secs(app.config.webhook_timeout_secs.max(1));
    send(app.config.webhook_allow_private, timeout, req, body).await
}

/// Sends one delivery. The timeout covers resolving, connecting, sending and reading the
/// (truncated) answer. A failure is logged in full for the operator and returned as its
/// class only.
pub(super) async fn send(
    allow_private: bool,
    timeout: Duration,
    req: &Request<'_>,
    body: Vec<u8>,
) -> Outcome {
    let client = match client(allow_private) {
        Ok(c) => c,
        Err(class) => return Outcome::NoAnswer(class),
    };
    let sent = client
        .post(req.url)
        .timeout(timeout)
        .header("Content-Type", "application/json")
        .header("Kith-Event-Id", req.event_id)
        .header("Kith-Topic", req.topic)
        .header("Kith-Delivery-Id", req.delivery_id)
        .header("Kith-Signature", req.signature)
        .body(body)
        .send()
        .await;
    let mut resp = match sent {
        Ok(r) => r,
        Err(e) => {
            let class = failure_class(&e);
            tracing::warn!(delivery_id = %req.delivery_id, class, error = %error_chain(&e), "webhook request failed");
            return Outcome::NoAnswer(class);
        }
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

/// The class of a failed request, as the merchant sees it in the attempt log: what kind
/// of thing went wrong, not the socket error (which names addresses, ports and the
/// operator's network).
fn failure_class(e: &reqwest::Error) -> &'static str {
    let mut cause: Option<&(dyn std::error::Error + 'static)> = Some(e);
    while let Some(c) = cause {
        if let Some(refused) = c.downcast_ref::<super::urls::Refused>() {
            return match refused {
                super::urls::Refused::NotAllowed { .. } => ADDRESS_NOT_ALLOWED,
                super::urls::Refused::Unresolvable { .. } => "dns lookup failed",
            };
        }
        cause = c.source();
    }
    if e.is_timeout() {
        return "timeout";
    }
    let chain = error_chain(e).to_ascii_lowercase();
    if chain.contains("is not a public address") {
        return ADDRESS_NOT_ALLOWED;
    }
    if ["tls", "certificate", "handshake", "alert"]
        .iter()
        .any(|w| chain.contains(w))
    {
        return "tls error";
    }
    if chain.contains("dns error") {
        return "dns lookup failed";
    }
    if e.is_connect() {
        return "connection failed";
    }
    "request failed"
}

/// An error and its causes on one line, for the server log: reqwest's own message alone
/// ("error sending request") does not say what went wrong.
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
