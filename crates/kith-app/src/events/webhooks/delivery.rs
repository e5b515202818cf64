//! Routing the outbox to endpoints and delivering it: one delivery row and one
//! `webhook.deliver` job per matching endpoint, then signed POSTs with an attempt log.

use std::sync::OnceLock;
use std::time::{Duration, Instant};

use kith_store::{Conn, StoreError, args};
use serde::{Deserialize, Serialize};

use super::*;
use crate::events::jobs::{self, ClaimedJob, Job, JobError, JobRegistry};
use crate::platform::ids::{new_id, parse_id};
use crate::{App, AppError, AppResult, rfc3339};

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
