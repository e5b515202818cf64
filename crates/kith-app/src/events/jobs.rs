//! Leased background jobs: the durable queue of work that happens after a request has
//! committed — webhook deliveries, unpaid-order expiry, receipt auto-confirmation, order
//! completion at the end of the after-sale window, group-buy expiry.
//!
//! A job is a row in `jobs`. A worker *claims* due jobs by writing its name and a lease
//! expiry onto them in one transaction; on PostgreSQL the SELECT takes its rows with
//! `FOR UPDATE SKIP LOCKED`, so several kith servers sharing one database each get
//! different jobs and none waits on another. On SQLite the single writer serialises claims.
//! A worker that dies keeps its lease only until it expires; then another claims the job
//! again, so every job runs at least once and, while leases are honoured, never twice at
//! the same time. Finishing a job (complete, retry, fail) only counts if the caller still
//! owns the lease, so a worker that lost its lease cannot overwrite its successor's work.
//!
//! ## Lanes: one tenant cannot starve the others
//! Every kind runs in a [`Lane`] ([`Job::LANE`]): `core` (order and group timers — unpaid
//! expiry, auto-confirmation, completion, group expiry: short storage transactions with a
//! short lease) and `delivery` (webhook requests, which wait on the outside world for up
//! to the webhook timeout). [`run_worker`] runs one loop per lane, each with its own
//! bounded pool that it refills as soon as a job finishes (never batch-and-wait), plus a
//! loop that routes the outbox. So a pool full of hung deliveries cannot delay a timer,
//! and one slow job never holds a batch.
//!
//! A job may carry two fairness keys, a *tenant* and a *target* (a delivery: its merchant
//! and its endpoint; see [`enqueue_keyed`]). A lane with [`LaneLimits`] never has more than
//! `per_target` jobs of one target or `per_tenant` of one tenant leased at once, counted
//! in the claim's transaction over every server's live leases: the claim first locks the
//! lane's `job_lanes` row, so servers sharing one PostgreSQL take turns and the limits
//! hold across all of them. The candidates are cut per key in SQL (window functions), so
//! one tenant's backlog of thousands of due jobs does not hide another tenant's one.
//!
//! The queue knows no job. Each kind is a struct implementing [`Job`] (its fields are the
//! payload), owned by the context that schedules it; the context registers it in the
//! [`JobRegistry`] when the [`App`] is built (`App::new` calls each context's
//! `register_jobs`). So this module imports no use case, and a new kind of work adds a
//! struct and one registration, not a branch here.
//!
//! Every owner name must be unique per worker (host name plus a random suffix, say): two
//! workers with one name would both count as the lease holder.
//!
//! Time comes from the [`App`]'s clock, so tests move it forward instead of sleeping
//! ([`run_once`] runs one round of every lane and waits for it).

use std::collections::{BTreeMap, HashMap};
use std::future::Future;
use std::pin::Pin;
use std::time::Duration;

use kith_store::{Conn, StoreError};
use serde::Serialize;
use serde::de::DeserializeOwned;

use super::store;
use crate::{App, AppError, AppResult};

/// Where a kind of job runs. Each lane has its own pool, so work in one never waits for
/// work in another.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Lane {
    /// Timers and money: order expiry, auto-confirmation, completion, group expiry. Short
    /// storage transactions; never queued behind a request to the outside.
    Core,
    /// Requests to the outside (webhook deliveries), limited per target and per tenant.
    Delivery,
}

impl Lane {
    pub const ALL: [Lane; 2] = [Lane::Core, Lane::Delivery];

    /// The value of `jobs.lane`.
    pub fn as_str(self) -> &'static str {
        match self {
            Lane::Core => "core",
            Lane::Delivery => "delivery",
        }
    }
}

/// A kind of background work. The struct is the payload: it is stored as JSON in the job's
/// row and parsed back before [`Job::run`].
pub trait Job: Serialize + DeserializeOwned + Send + 'static {
    /// The kind written to `jobs.kind`. Queued rows carry it across upgrades, so a kind is
    /// never renamed once shipped.
    const KIND: &'static str;
    /// Attempts before the job fails for good (at least one is always made).
    const MAX_ATTEMPTS: i64;
    /// The lane the kind runs in: core unless it calls the outside world.
    const LANE: Lane = Lane::Core;
    /// Does the work. `Err` asks for a retry with backoff, or fails the job on its last
    /// attempt; a job must be a no-op when the world has moved on, because jobs may run
    /// late or twice.
    fn run(
        self,
        app: &App,
        attempt: &ClaimedJob,
    ) -> impl Future<Output = Result<(), JobError>> + Send;
}

/// Why one attempt at a job did not finish. Recorded as the job's `last_error`.
#[derive(Debug, thiserror::Error)]
pub enum JobError {
    /// The stored payload does not parse as the kind's struct; no retry can help, but the
    /// attempts run out as for any failure, so the row stays for an operator to read.
    #[error("payload of {kind} does not parse: {source}")]
    Payload {
        kind: &'static str,
        source: serde_json::Error,
    },
    /// A rule or storage failure inside the job's own transaction.
    #[error(transparent)]
    App(#[from] AppError),
    /// An outside party did not take the work (a webhook receiver that did not answer
    /// 2xx): try again later.
    #[error("{0}")]
    Outside(String),
    /// Not now, and not a failure: the job goes back to the queue for `run_at_ms` and the
    /// attempt it was claimed with is given back (a delivery to an endpoint that is
    /// paused as a whole).
    #[error("postponed")]
    Later { run_at_ms: i64 },
}

type JobFuture = Pin<Box<dyn Future<Output = Result<(), JobError>> + Send>>;
type Handler = Box<dyn Fn(App, ClaimedJob) -> JobFuture + Send + Sync>;
type ConsumerFuture = Pin<Box<dyn Future<Output = AppResult<usize>> + Send>>;
type Consumer = Box<dyn Fn(App) -> ConsumerFuture + Send + Sync>;

/// Job kinds this server can run, each with its handler. Filled once when the [`App`] is
/// built; a claimed job of a kind not in here fails at once (a newer server queued it).
#[derive(Default)]
pub struct JobRegistry {
    handlers: BTreeMap<&'static str, Handler>,
    /// Readers of the outbox with a cursor of their own (the notification centre), run
    /// by [`run_once`] and, each in its own loop, by [`run_worker`].
    consumers: Vec<(&'static str, Consumer)>,
}

impl std::fmt::Debug for JobRegistry {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_set()
            .entries(self.handlers.keys())
            .entries(self.consumers.iter().map(|(n, _)| n))
            .finish()
    }
}

impl JobRegistry {
    /// Registers `J`. Two registrations of one kind are a programming error: the second
    /// would silently take the first one's jobs.
    pub fn register<J: Job>(&mut self) -> &mut Self {
        let handler: Handler = Box::new(|app: App, claimed: ClaimedJob| {
            Box::pin(async move {
                let job: J = serde_json::from_value(claimed.payload.clone()).map_err(|source| {
                    JobError::Payload {
                        kind: J::KIND,
                        source,
                    }
                })?;
                job.run(&app, &claimed).await
            })
        });
        let previous = self.handlers.insert(J::KIND, handler);
        assert!(previous.is_none(), "job kind {} registered twice", J::KIND);
        self
    }

    /// Registers an outbox consumer: `round` reads the events after its own cursor and
    /// returns how many it handled (0: idle). The queue calls it; it must be idempotent,
    /// because a round may be repeated after a crash.
    pub fn consume_outbox<F, Fut>(&mut self, name: &'static str, round: F) -> &mut Self
    where
        F: Fn(App) -> Fut + Send + Sync + 'static,
        Fut: Future<Output = AppResult<usize>> + Send + 'static,
    {
        self.consumers
            .push((name, Box::new(move |app: App| Box::pin(round(app)))));
        self
    }

    /// The kinds registered, in order.
    pub fn kinds(&self) -> impl Iterator<Item = &'static str> + '_ {
        self.handlers.keys().copied()
    }

    fn handler(&self, kind: &str) -> Option<&Handler> {
        self.handlers.get(kind)
    }
}

/// The fairness keys of a job: whose it is (`tenant`, a merchant) and what it calls
/// (`target`, an endpoint). See [`LaneLimits`].
#[derive(Debug, Clone, Copy)]
pub struct Keys<'a> {
    pub tenant: &'a str,
    pub target: &'a str,
}

/// Queues `job` inside the caller's transaction, so the job exists if and only if the
/// change that needs it commits. Returns the job's id.
pub fn enqueue<J: Job>(
    c: &mut dyn Conn,
    now_ms: i64,
    job: &J,
    run_at_ms: i64,
) -> Result<String, StoreError> {
    enqueue_keyed(c, now_ms, job, run_at_ms, J::MAX_ATTEMPTS, None)
}

/// [`enqueue`] with a number of attempts from settings rather than the kind's default.
pub fn enqueue_with_attempts<J: Job>(
    c: &mut dyn Conn,
    now_ms: i64,
    job: &J,
    run_at_ms: i64,
    max_attempts: i64,
) -> Result<String, StoreError> {
    enqueue_keyed(c, now_ms, job, run_at_ms, max_attempts, None)
}

/// [`enqueue_with_attempts`] with fairness keys, which the lane's [`LaneLimits`] count
/// (webhook deliveries: the merchant and the endpoint).
pub fn enqueue_keyed<J: Job>(
    c: &mut dyn Conn,
    now_ms: i64,
    job: &J,
    run_at_ms: i64,
    max_attempts: i64,
    keys: Option<Keys<'_>>,
) -> Result<String, StoreError> {
    let payload = serde_json::to_value(job)
        .map_err(|e| StoreError::Other(format!("serialize job {}: {e}", J::KIND)))?;
    enqueue_raw(
        c,
        now_ms,
        J::KIND,
        J::LANE,
        &payload,
        run_at_ms,
        max_attempts,
        keys,
    )
}

/// Most jobs one [`run_once`] claims per lane.
const CLAIM_BATCH: i64 = 32;

/// Due rows a limited lane's claim looks at, after cutting each key to its limit.
const CLAIM_SCAN: i64 = 512;

/// Outbox rows one routing round turns into deliveries.
const OUTBOX_BATCH: i64 = 500;

/// Extra lease time beyond the webhook timeout, for the storage round trips around the
/// request. A lease shorter than the work it covers would let a second server start the
/// same job while the first is still running it.
const LEASE_SLACK_MS: i64 = 60_000;

/// The lease of a core job: storage transactions only, so a minute is plenty, and a
/// crashed worker's timers are picked up again quickly.
const CORE_LEASE_MS: i64 = 60_000;

/// How long an idle lane waits before looking for work again.
const IDLE_SLEEP: Duration = Duration::from_millis(200);

/// Longest `last_error` kept, in characters, so a chatty failure cannot bloat the table.
const MAX_ERROR_CHARS: usize = 2000;

/// A job this worker now holds the lease on.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct ClaimedJob {
    pub id: String,
    pub kind: String,
    pub payload: serde_json::Value,
    /// Attempts so far, including this one (1 on the first run).
    pub attempts: i64,
    pub max_attempts: i64,
}

impl ClaimedJob {
    /// Is this the last attempt the job gets? A failure now fails the job for good.
    pub fn is_last_attempt(&self) -> bool {
        self.attempts >= self.max_attempts
    }
}

/// Queues a job of a kind given by name with a raw payload: the one writer of `jobs` rows
/// (typed callers go through [`enqueue`]; the queue's own tests use kinds no handler has).
#[allow(clippy::too_many_arguments)]
pub(crate) fn enqueue_raw(
    c: &mut dyn Conn,
    now_ms: i64,
    kind: &str,
    lane: Lane,
    payload: &serde_json::Value,
    run_at_ms: i64,
    max_attempts: i64,
    keys: Option<Keys<'_>>,
) -> Result<String, StoreError> {
    let id = crate::platform::ids::new_id();
    let body = serde_json::to_string(payload)
        .map_err(|e| StoreError::Other(format!("serialize job {kind}: {e}")))?;
    // A job that may never be attempted would sit in the queue for ever; one attempt is
    // the least that makes sense.
    let max_attempts = max_attempts.max(1);
    store::insert_job(
        c,
        &id,
        kind,
        body,
        run_at_ms,
        max_attempts,
        now_ms,
        lane,
        keys,
    )?;
    Ok(id)
}

/// How many jobs of one key a lane may have leased at once, across every server; 0 is no
/// limit.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct LaneLimits {
    pub per_target: i64,
    pub per_tenant: i64,
}

/// The limits of `lane` from settings: deliveries per endpoint and per merchant.
fn lane_limits(app: &App, lane: Lane) -> Option<LaneLimits> {
    match lane {
        Lane::Core => None,
        Lane::Delivery => Some(LaneLimits {
            per_target: app.config.webhook_max_in_flight_per_endpoint.max(0),
            per_tenant: app.config.webhook_max_in_flight_per_merchant.max(0),
        }),
    }
}

/// How many jobs of `lane` one worker runs at once.
fn lane_concurrency(app: &App, lane: Lane) -> usize {
    match lane {
        Lane::Core => app.config.worker_core_concurrency,
        Lane::Delivery => app.config.worker_delivery_concurrency,
    }
    .max(1)
}

/// Leases up to `limit` due jobs of `lane` to `owner` for `lease_ms` and counts the
/// attempt. A job is due when it is queued, its time has come, and nobody holds a live
/// lease on it. In a lane with [`LaneLimits`] (from settings), no key goes over its limit
/// of live leases, counting every server's.
pub async fn claim(
    app: &App,
    lane: Lane,
    owner: &str,
    limit: i64,
    lease_ms: i64,
) -> AppResult<Vec<ClaimedJob>> {
    let now = app.now_ms();
    let owner = owner.to_owned();
    let limit = limit.max(0);
    let expires = now.saturating_add(lease_ms.max(0));
    let limits = lane_limits(app, lane).filter(|l| l.per_target > 0 || l.per_tenant > 0);
    app.db
        .write(move |c| {
            let picked = match limits {
                None => store::due_jobs(c, lane, now, limit)?,
                Some(limits) => pick_limited(c, lane, now, limit, limits)?,
            };
            let mut claimed = Vec::with_capacity(picked.len());
            for row in picked {
                let id = row.id;
                store::lease_job(c, &id, &owner, expires)?;
                let raw = row.payload;
                // A payload that is not JSON cannot come from `enqueue`; keep the raw text
                // so the job's handler reports it instead of the whole claim failing.
                let payload = serde_json::from_str(&raw).unwrap_or(serde_json::Value::String(raw));
                claimed.push(ClaimedJob {
                    id,
                    kind: row.kind,
                    payload,
                    attempts: row.attempts.saturating_add(1),
                    max_attempts: row.max_attempts,
                });
            }
            Ok::<_, AppError>(claimed)
        })
        .await
}

/// The due jobs of a limited lane that may be leased now without any key going over its
/// limit. Locks the lane's row first, so concurrent claimers (other servers) count each
/// other's leases; the window functions cut every key to its limit before the scan's
/// LIMIT, so one tenant's backlog cannot fill the scan and hide the others.
fn pick_limited(
    c: &mut dyn Conn,
    lane: Lane,
    now: i64,
    limit: i64,
    limits: LaneLimits,
) -> Result<Vec<store::DueJob>, StoreError> {
    store::lock_lane(c, lane)?;
    let mut by_target: HashMap<String, i64> = HashMap::new();
    let mut by_tenant: HashMap<String, i64> = HashMap::new();
    for (tenant, target) in store::leased_keys(c, lane, now)? {
        if let Some(t) = tenant {
            *by_tenant.entry(t).or_default() += 1;
        }
        if let Some(t) = target {
            *by_target.entry(t).or_default() += 1;
        }
    }
    // 0 means unlimited: a bound no count reaches.
    let cap = |n: i64| if n > 0 { n } else { i64::MAX };
    let (per_target, per_tenant) = (cap(limits.per_target), cap(limits.per_tenant));
    let rows = store::due_limited_jobs(
        c,
        lane,
        now,
        per_target.min(CLAIM_SCAN),
        per_tenant.min(CLAIM_SCAN),
        CLAIM_SCAN,
    )?;
    let mut picked = Vec::new();
    for row in rows {
        if picked.len() as i64 >= limit {
            break;
        }
        let (tenant, target) = (row.tenant_key.clone(), row.target_key.clone());
        let tenant_busy = tenant
            .as_ref()
            .map_or(0, |t| by_tenant.get(t).copied().unwrap_or(0));
        let target_busy = target
            .as_ref()
            .map_or(0, |t| by_target.get(t).copied().unwrap_or(0));
        if tenant_busy >= per_tenant || target_busy >= per_target {
            continue;
        }
        if let Some(t) = tenant {
            *by_tenant.entry(t).or_default() += 1;
        }
        if let Some(t) = target {
            *by_target.entry(t).or_default() += 1;
        }
        picked.push(row);
    }
    Ok(picked)
}

/// Marks a job done. Returns false (and changes nothing) when `owner` no longer holds its
/// lease: the job was claimed again by someone else, whose outcome wins.
pub async fn complete(app: &App, job_id: &str, owner: &str) -> AppResult<bool> {
    let now = app.now_ms();
    let (job_id, owner) = (job_id.to_owned(), owner.to_owned());
    app.db
        .write(move |c| Ok::<_, AppError>(store::complete_job(c, &job_id, &owner, now)?))
        .await
}

/// Records a failed attempt: the job goes back to the queue for `retry_at_ms`, or fails for
/// good when it has used all its attempts. Returns false when `owner` no longer holds the
/// lease (nothing changes then).
pub async fn retry_or_fail(
    app: &App,
    job_id: &str,
    owner: &str,
    error: &str,
    retry_at_ms: i64,
) -> AppResult<bool> {
    let now = app.now_ms();
    let (job_id, owner, error) = (job_id.to_owned(), owner.to_owned(), clip(error));
    app.db
        .write(move |c| {
            let Some((attempts, max_attempts)) = store::lock_leased_attempts(c, &job_id, &owner)?
            else {
                return Ok(false);
            };
            if attempts >= max_attempts {
                store::fail_job(c, &job_id, &error, now)?;
            } else {
                store::requeue_job(c, &job_id, retry_at_ms, &error)?;
            }
            Ok::<_, AppError>(true)
        })
        .await
}

/// Puts a job back for `run_at_ms` without counting the attempt it was claimed with
/// ([`JobError::Later`]). Returns false when `owner` no longer holds the lease.
pub async fn postpone(app: &App, job_id: &str, owner: &str, run_at_ms: i64) -> AppResult<bool> {
    let (job_id, owner) = (job_id.to_owned(), owner.to_owned());
    app.db
        .write(move |c| Ok::<_, AppError>(store::postpone_job(c, &job_id, &owner, run_at_ms)?))
        .await
}

/// Fails a job for good, whatever attempts it has left: for errors no retry can fix (an
/// unknown kind). Returns false when `owner` no longer holds the lease.
pub async fn fail(app: &App, job_id: &str, owner: &str, error: &str) -> AppResult<bool> {
    let now = app.now_ms();
    let (job_id, owner, error) = (job_id.to_owned(), owner.to_owned(), clip(error));
    app.db
        .write(move |c| Ok::<_, AppError>(store::fail_leased_job(c, &job_id, &owner, &error, now)?))
        .await
}

pub(super) fn clip(s: &str) -> String {
    s.chars().take(MAX_ERROR_CHARS).collect()
}

/// Delay before retry number `attempt` (1 = after the first failure), in milliseconds:
/// `base · 2^(attempt − 1)` seconds, capped at `max_secs`. Never overflows: large attempt
/// numbers and settings saturate at the cap.
pub fn backoff_ms(attempt: i64, base_secs: i64, max_secs: i64) -> i64 {
    let base = base_secs.max(0);
    let cap = max_secs.max(0);
    // 2^62 already exceeds any cap once multiplied by a base of at least 1, so larger
    // exponents add nothing and would overflow the shift.
    let exp = attempt.saturating_sub(1).clamp(0, 62) as u32;
    let secs = base.saturating_mul(1i64 << exp).min(cap);
    secs.saturating_mul(1000)
}

/// The lease a claim in `lane` takes. Core: [`CORE_LEASE_MS`]. Delivery: long enough for
/// a webhook request that runs into its timeout, plus the storage work around it.
fn lease_ms(app: &App, lane: Lane) -> i64 {
    match lane {
        Lane::Core => CORE_LEASE_MS,
        Lane::Delivery => i64::try_from(app.config.webhook_timeout_secs)
            .unwrap_or(i64::MAX)
            .saturating_mul(1000)
            .saturating_add(LEASE_SLACK_MS),
    }
}

/// One round of background work, for tests and tools that drive the clock by hand: routes
/// new outbox events to webhooks, then claims the due jobs of every lane (within each
/// lane's limits) and runs them concurrently, waiting for all of them. Returns how many
/// jobs ran. Nothing here sleeps. The server runs [`run_worker`] instead, whose lanes never
/// wait for one another.
pub async fn run_once(app: &App, owner: &str) -> AppResult<usize> {
    crate::events::webhooks::dispatch_outbox(app, OUTBOX_BATCH).await?;
    for (_, round) in &app.jobs.consumers {
        round(app.clone()).await?;
    }
    let mut tasks = tokio::task::JoinSet::new();
    let mut ran = 0;
    for lane in Lane::ALL {
        let jobs = claim(app, lane, owner, CLAIM_BATCH, lease_ms(app, lane)).await?;
        ran += jobs.len();
        for job in jobs {
            let (app, owner) = (app.clone(), owner.to_owned());
            tasks.spawn(async move { run_job(&app, &owner, job).await });
        }
    }
    while let Some(joined) = tasks.join_next().await {
        log_panic(joined);
    }
    Ok(ran)
}

/// A panicking job keeps its lease; it expires and the job is tried again, so the worker
/// only needs to say that it happened.
fn log_panic(joined: Result<(), tokio::task::JoinError>) {
    if let Err(e) = joined {
        tracing::error!(error = %e, "a background job task failed");
    }
}

/// Runs one claimed job and records its outcome. Errors are logged rather than returned:
/// one job's bookkeeping failing must not hide the others' results, and the lease makes
/// sure an unrecorded job is run again.
async fn run_job(app: &App, owner: &str, job: ClaimedJob) {
    let Some(handler) = app.jobs.handler(&job.kind) else {
        let error = format!(
            "unknown job kind {:?}: no handler in this version of kith",
            job.kind
        );
        tracing::error!(job_id = %job.id, kind = %job.kind, "failing job of unknown kind");
        if let Err(e) = fail(app, &job.id, owner, &error).await {
            tracing::error!(job_id = %job.id, error = %e, "could not fail job");
        }
        return;
    };
    let outcome = handler(app.clone(), job.clone()).await;
    let recorded = match outcome {
        Ok(()) => complete(app, &job.id, owner).await,
        Err(JobError::Later { run_at_ms }) => postpone(app, &job.id, owner, run_at_ms).await,
        Err(error) => {
            let error = error.to_string();
            tracing::warn!(job_id = %job.id, kind = %job.kind, attempt = job.attempts, %error, "job attempt failed");
            // One backoff policy for every kind, from the webhook settings: deliveries are
            // the only kind that fails for outside reasons; the others fail only when
            // storage does, where the same backoff serves.
            let delay = backoff_ms(
                job.attempts,
                app.config.webhook_backoff_base_secs,
                app.config.webhook_backoff_max_secs,
            );
            let retry_at = app.now_ms().saturating_add(delay);
            retry_or_fail(app, &job.id, owner, &error, retry_at).await
        }
    };
    match recorded {
        Ok(true) => {}
        Ok(false) => {
            tracing::warn!(job_id = %job.id, "lost the job's lease before recording its outcome")
        }
        Err(e) => tracing::error!(job_id = %job.id, error = %e, "could not record job outcome"),
    }
}

/// Runs background work until `shutdown` becomes true (or its sender is dropped, which
/// leaves nobody able to stop us otherwise): one loop per [`Lane`], each with its own
/// bounded pool, and one that routes the outbox to webhooks. The lanes never wait for
/// each other, so deliveries hanging on a receiver cannot delay an order's timer. On
/// shutdown every loop stops claiming and lets its running jobs finish. Errors are
/// logged, never fatal: the next round tries again.
pub async fn run_worker(app: App, owner: String, shutdown: tokio::sync::watch::Receiver<bool>) {
    tracing::info!(%owner, "background worker started");
    let mut loops = tokio::task::JoinSet::new();
    loops.spawn(route_outbox(app.clone(), shutdown.clone()));
    for i in 0..app.jobs.consumers.len() {
        loops.spawn(run_consumer(app.clone(), i, shutdown.clone()));
    }
    for lane in Lane::ALL {
        loops.spawn(run_lane(app.clone(), lane, owner.clone(), shutdown.clone()));
    }
    while let Some(joined) = loops.join_next().await {
        if let Err(e) = joined {
            tracing::error!(%owner, error = %e, "a background worker loop failed");
        }
    }
    tracing::info!(%owner, "background worker stopped");
}

/// Waits [`IDLE_SLEEP`] or until shutdown; false when the worker should stop.
async fn idle(shutdown: &mut tokio::sync::watch::Receiver<bool>) -> bool {
    tokio::select! {
        () = tokio::time::sleep(IDLE_SLEEP) => !*shutdown.borrow(),
        changed = shutdown.changed() => changed.is_ok() && !*shutdown.borrow(),
    }
}

/// Runs the `i`th registered outbox consumer until shutdown; sleeps only when it had
/// nothing to do.
async fn run_consumer(app: App, i: usize, mut shutdown: tokio::sync::watch::Receiver<bool>) {
    loop {
        if *shutdown.borrow() {
            break;
        }
        let (name, round) = &app.jobs.consumers[i];
        let busy = match round(app.clone()).await {
            Ok(n) => n > 0,
            Err(e) => {
                tracing::error!(consumer = name, error = %e, "an outbox consumer failed");
                false
            }
        };
        if !busy && !idle(&mut shutdown).await {
            break;
        }
    }
}

/// Turns new outbox events into webhook deliveries, a batch at a time; sleeps only when
/// there was nothing to route.
async fn route_outbox(app: App, mut shutdown: tokio::sync::watch::Receiver<bool>) {
    loop {
        if *shutdown.borrow() {
            break;
        }
        let busy = match crate::events::webhooks::dispatch_outbox(&app, OUTBOX_BATCH).await {
            Ok(n) => n > 0,
            Err(e) => {
                tracing::error!(error = %e, "routing the outbox failed");
                false
            }
        };
        if !busy && !idle(&mut shutdown).await {
            break;
        }
    }
}

/// One lane's loop: keeps up to the lane's concurrency of its jobs running, claiming more
/// as soon as one finishes (within the lane's per-key limits), and sleeps only when
/// nothing it may take is due.
async fn run_lane(
    app: App,
    lane: Lane,
    owner: String,
    mut shutdown: tokio::sync::watch::Receiver<bool>,
) {
    let size = lane_concurrency(&app, lane);
    let lease = lease_ms(&app, lane);
    let mut running = tokio::task::JoinSet::new();
    loop {
        if *shutdown.borrow() {
            break;
        }
        while let Some(joined) = running.try_join_next() {
            log_panic(joined);
        }
        let free = size.saturating_sub(running.len());
        let mut claimed = 0;
        if free > 0 {
            match claim(&app, lane, &owner, free as i64, lease).await {
                Ok(jobs) => {
                    claimed = jobs.len();
                    for job in jobs {
                        let (app, owner) = (app.clone(), owner.clone());
                        running.spawn(async move { run_job(&app, &owner, job).await });
                    }
                }
                Err(e) => {
                    tracing::error!(lane = lane.as_str(), error = %e, "claiming jobs failed")
                }
            }
        }
        if claimed > 0 && running.len() < size {
            // More may be due: look again at once.
            continue;
        }
        // Full, or nothing we may take is due: wait for a job to finish (which frees a
        // place and perhaps a key), for the idle interval, or for shutdown.
        tokio::select! {
            Some(joined) = running.join_next(), if !running.is_empty() => log_panic(joined),
            () = tokio::time::sleep(IDLE_SLEEP) => {}
            changed = shutdown.changed() => {
                if changed.is_err() {
                    break;
                }
            }
        }
    }
    while let Some(joined) = running.join_next().await {
        log_panic(joined);
    }
}

#[cfg(test)]
mod tests {
    use std::collections::HashSet;

    use kith_store::args;
    use proptest::prelude::*;

    use super::*;
    use crate::events::store::{cancel_target, defer_target};
    use crate::events::webhooks::test_support::{TestEnv, test_config};

    async fn job_row(app: &App, id: &str) -> (String, i64, Option<String>, Option<String>) {
        let id = id.to_owned();
        app.db
            .read(move |c| {
                let r = c.query_one(
                    "SELECT status, attempts, lease_owner, last_error FROM jobs WHERE id = $1",
                    args![&id],
                )?;
                Ok::<_, StoreError>((r.text(0)?, r.int(1)?, r.opt_text(2)?, r.opt_text(3)?))
            })
            .await
            .unwrap()
    }

    async fn enqueue_one(app: &App, kind: &str, run_at: i64, max: i64) -> String {
        let now = app.now_ms();
        let kind = kind.to_owned();
        app.db
            .write(move |c| {
                enqueue_raw(
                    c,
                    now,
                    &kind,
                    Lane::Core,
                    &serde_json::json!({"n": 1}),
                    run_at,
                    max,
                    None,
                )
            })
            .await
            .unwrap()
    }

    #[tokio::test]
    async fn claim_leases_retries_and_fails() {
        let env = TestEnv::new().await;
        let (app, clock) = (&env.app, &env.clock);
        let now = app.now_ms();
        let later = enqueue_one(app, "test.kind", now + 60_000, 2).await;
        let id = enqueue_one(app, "test.kind", now, 2).await;

        // Only the due job is claimed, and it carries its payload and attempt count.
        let got = claim(app, Lane::Core, "a", 10, 30_000).await.unwrap();
        assert_eq!(got.len(), 1);
        assert_eq!(got[0].id, id);
        assert_eq!(got[0].payload, serde_json::json!({"n": 1}));
        assert_eq!((got[0].attempts, got[0].max_attempts), (1, 2));
        assert!(!got[0].is_last_attempt());

        // A live lease keeps others away; an expired one does not.
        assert!(
            claim(app, Lane::Core, "b", 10, 30_000)
                .await
                .unwrap()
                .is_empty()
        );
        clock.advance_ms(30_000);
        let again = claim(app, Lane::Core, "b", 10, 30_000).await.unwrap();
        assert_eq!(
            again.iter().map(|j| j.id.as_str()).collect::<Vec<_>>(),
            [id.as_str()]
        );
        assert_eq!(again[0].attempts, 2);

        // The first owner lost its lease: its outcome no longer counts.
        assert!(!complete(app, &id, "a").await.unwrap());
        assert!(!retry_or_fail(app, &id, "a", "late", now).await.unwrap());

        // The last attempt failing fails the job for good.
        assert!(retry_or_fail(app, &id, "b", "boom", now).await.unwrap());
        let (status, attempts, _, err) = job_row(app, &id).await;
        assert_eq!(
            (status.as_str(), attempts, err.as_deref()),
            ("failed", 2, Some("boom"))
        );

        // A failure with attempts left requeues at the given time, lease cleared.
        clock.advance_ms(60_000);
        let got = claim(app, Lane::Core, "a", 10, 30_000).await.unwrap();
        assert_eq!(got[0].id, later);
        let retry_at = app.now_ms() + 5_000;
        assert!(
            retry_or_fail(app, &later, "a", "try later", retry_at)
                .await
                .unwrap()
        );
        let (status, attempts, owner, _) = job_row(app, &later).await;
        assert_eq!((status.as_str(), attempts, owner), ("queued", 1, None));
        assert!(
            claim(app, Lane::Core, "a", 10, 30_000)
                .await
                .unwrap()
                .is_empty()
        );
        clock.advance_ms(5_000);
        let got = claim(app, Lane::Core, "a", 10, 30_000).await.unwrap();
        assert_eq!(got[0].attempts, 2);
        assert!(complete(app, &later, "a").await.unwrap());
        assert_eq!(job_row(app, &later).await.0, "done");
        assert!(
            claim(app, Lane::Core, "a", 10, 30_000)
                .await
                .unwrap()
                .is_empty()
        );
    }

    #[tokio::test]
    async fn run_once_fails_unknown_kinds_at_once() {
        let env = TestEnv::new().await;
        let id = enqueue_one(&env.app, "no.such.kind", env.app.now_ms(), 5).await;
        assert_eq!(run_once(&env.app, "w").await.unwrap(), 1);
        let (status, attempts, _, err) = job_row(&env.app, &id).await;
        assert_eq!((status.as_str(), attempts), ("failed", 1));
        assert!(err.unwrap().contains("unknown job kind \"no.such.kind\""));
        assert_eq!(run_once(&env.app, "w").await.unwrap(), 0);
    }

    #[tokio::test]
    async fn worker_stops_on_shutdown() {
        let env = TestEnv::new().await;
        let (tx, rx) = tokio::sync::watch::channel(false);
        let worker = tokio::spawn(run_worker(env.app.clone(), "w".into(), rx));
        tokio::time::sleep(Duration::from_millis(50)).await;
        tx.send(true).unwrap();
        tokio::time::timeout(Duration::from_secs(5), worker)
            .await
            .expect("worker did not stop")
            .unwrap();
    }

    /// Two claimers racing over one queue: every job is claimed by exactly one of them.
    async fn claims_are_exclusive(app: &App) {
        let now = app.now_ms();
        app.db
            .write(move |c| {
                for i in 0..50 {
                    enqueue_raw(
                        c,
                        now,
                        "test.lease",
                        Lane::Core,
                        &serde_json::json!({ "i": i }),
                        now,
                        3,
                        None,
                    )?;
                }
                Ok::<_, StoreError>(())
            })
            .await
            .unwrap();
        let claimer = |owner: &'static str| {
            let app = app.clone();
            tokio::spawn(async move {
                let mut ids = Vec::new();
                loop {
                    let got = claim(&app, Lane::Core, owner, 3, 600_000).await.unwrap();
                    if got.is_empty() {
                        return ids;
                    }
                    ids.extend(got.into_iter().map(|j| j.id));
                    tokio::task::yield_now().await;
                }
            })
        };
        let (a, b) = (claimer("a"), claimer("b"));
        let (a, b) = (a.await.unwrap(), b.await.unwrap());
        let all: Vec<_> = a.iter().chain(&b).cloned().collect();
        let unique: HashSet<_> = all.iter().collect();
        assert_eq!(
            all.len(),
            50,
            "a claimed {}, b claimed {}",
            a.len(),
            b.len()
        );
        assert_eq!(unique.len(), 50);
        let attempts = app
            .db
            .read(|c| {
                c.query_one(
                    "SELECT CAST(SUM(attempts) AS bigint) FROM jobs WHERE kind = 'test.lease'",
                    &[],
                )?
                .int(0)
            })
            .await
            .unwrap();
        assert_eq!(attempts, 50);
    }

    // Worker threads, so the two claimers truly run at the same time.
    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn leases_are_exclusive_on_sqlite() {
        let env = TestEnv::new().await;
        claims_are_exclusive(&env.app).await;
    }

    // Worker threads, so the two claimers truly run at the same time.
    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn leases_are_exclusive_on_postgres() {
        if let Some(env) = TestEnv::postgres(test_config()).await {
            claims_are_exclusive(&env.app).await;
        }
    }

    async fn enqueue_in(
        app: &App,
        lane: Lane,
        keys: Option<(&str, &str)>,
        n: usize,
    ) -> Vec<String> {
        let now = app.now_ms();
        let keys = keys.map(|(a, b)| (a.to_owned(), b.to_owned()));
        app.db
            .write(move |c| {
                let mut ids = Vec::new();
                for i in 0..n {
                    let k = keys
                        .as_ref()
                        .map(|(tenant, target)| Keys { tenant, target });
                    ids.push(enqueue_raw(
                        c,
                        now,
                        "test.kind",
                        lane,
                        &serde_json::json!({ "i": i }),
                        now,
                        3,
                        k,
                    )?);
                }
                Ok::<_, StoreError>(ids)
            })
            .await
            .unwrap()
    }

    fn limited() -> crate::AppConfig {
        crate::AppConfig {
            webhook_max_in_flight_per_endpoint: 2,
            webhook_max_in_flight_per_merchant: 3,
            ..test_config()
        }
    }

    /// Each lane claims only its own jobs: a full delivery lane leaves timers claimable.
    async fn lanes_are_claimed_apart(app: &App) {
        let deliveries = enqueue_in(app, Lane::Delivery, None, 5).await;
        let timers = enqueue_in(app, Lane::Core, None, 2).await;
        let got = claim(app, Lane::Delivery, "d", 100, 60_000).await.unwrap();
        let mut ids: Vec<_> = got.into_iter().map(|j| j.id).collect();
        ids.sort();
        let mut want = deliveries.clone();
        want.sort();
        assert_eq!(ids, want);
        let got = claim(app, Lane::Core, "c", 100, 60_000).await.unwrap();
        let mut ids: Vec<_> = got.into_iter().map(|j| j.id).collect();
        ids.sort();
        let mut want = timers.clone();
        want.sort();
        assert_eq!(ids, want);
    }

    /// Per target and per tenant limits hold over every owner's live leases, and one
    /// tenant's backlog does not hide another tenant's job.
    async fn limits_hold_per_key(app: &App, clock: &kith_domain::ManualClock) {
        // Tenant A: a backlog of 40 on endpoint a1 and 40 on a2, queued first.
        enqueue_in(app, Lane::Delivery, Some(("A", "a1")), 40).await;
        enqueue_in(app, Lane::Delivery, Some(("A", "a2")), 40).await;
        clock.advance_ms(1);
        let b = enqueue_in(app, Lane::Delivery, Some(("B", "b1")), 1).await;
        let got = claim(app, Lane::Delivery, "w1", 100, 60_000).await.unwrap();
        let count = |got: &[ClaimedJob]| got.len();
        // A: at most 3 (per merchant), of which at most 2 on one endpoint; B's one too.
        assert_eq!(count(&got), 4, "{got:?}");
        assert!(got.iter().any(|j| j.id == b[0]));
        assert!(complete(app, &b[0], "w1").await.unwrap());
        // Another server sees the same leases and takes nothing of A's.
        let more = claim(app, Lane::Delivery, "w2", 100, 60_000).await.unwrap();
        assert!(more.is_empty(), "{more:?}");
        // One of A's finishing frees one place.
        let a_job = got.iter().find(|j| j.id != b[0]).unwrap();
        assert!(complete(app, &a_job.id, "w1").await.unwrap());
        let more = claim(app, Lane::Delivery, "w2", 100, 60_000).await.unwrap();
        assert_eq!(more.len(), 1);
        // Expired leases count no more.
        clock.advance_ms(60_000);
        let more = claim(app, Lane::Delivery, "w3", 100, 60_000).await.unwrap();
        assert_eq!(more.len(), 3);
    }

    #[tokio::test]
    async fn lanes_are_claimed_apart_on_sqlite() {
        let env = TestEnv::new().await;
        lanes_are_claimed_apart(&env.app).await;
    }

    #[tokio::test]
    async fn lanes_are_claimed_apart_on_postgres() {
        if let Some(env) = TestEnv::postgres(test_config()).await {
            lanes_are_claimed_apart(&env.app).await;
        }
    }

    #[tokio::test]
    async fn limits_hold_per_key_on_sqlite() {
        let env = TestEnv::sqlite(limited()).await;
        limits_hold_per_key(&env.app, &env.clock).await;
    }

    #[tokio::test]
    async fn limits_hold_per_key_on_postgres() {
        if let Some(env) = TestEnv::postgres(limited()).await {
            limits_hold_per_key(&env.app, &env.clock).await;
        }
    }

    #[tokio::test]
    async fn postponing_gives_the_attempt_back_and_targets_defer_and_cancel() {
        let env = TestEnv::new().await;
        let app = &env.app;
        let now = app.now_ms();
        let ids = enqueue_in(app, Lane::Delivery, Some(("A", "a1")), 3).await;
        let got = claim(app, Lane::Delivery, "w", 1, 60_000).await.unwrap();
        assert_eq!(got[0].attempts, 1);
        assert!(postpone(app, &got[0].id, "w", now + 5_000).await.unwrap());
        let (status, attempts, owner, _) = job_row(app, &got[0].id).await;
        assert_eq!((status.as_str(), attempts, owner), ("queued", 0, None));
        // The others move to the pause; nothing is due before it.
        let moved = app
            .db
            .write(move |c| defer_target(c, Lane::Delivery, "a1", now, now + 10_000))
            .await
            .unwrap();
        assert_eq!(moved, 3);
        env.clock.advance_ms(9_999);
        assert!(
            claim(app, Lane::Delivery, "w", 10, 60_000)
                .await
                .unwrap()
                .is_empty()
        );
        env.clock.advance_ms(1);
        let got = claim(app, Lane::Delivery, "w", 1, 60_000).await.unwrap();
        assert_eq!(got.len(), 1);
        // Cancelling ends the unleased ones; the leased one is left to its worker.
        let later = app.now_ms();
        let ended = app
            .db
            .write(move |c| cancel_target(c, Lane::Delivery, "a1", later, "disabled"))
            .await
            .unwrap();
        assert_eq!(ended, 2);
        for id in ids.iter().filter(|id| **id != got[0].id) {
            assert_eq!(job_row(app, id).await.0, "done");
        }
        assert_eq!(job_row(app, &got[0].id).await.0, "queued");
    }

    #[test]
    fn backoff_examples() {
        assert_eq!(backoff_ms(1, 10, 3600), 10_000);
        assert_eq!(backoff_ms(2, 10, 3600), 20_000);
        assert_eq!(backoff_ms(4, 10, 3600), 80_000);
        assert_eq!(backoff_ms(100, 10, 3600), 3_600_000);
        assert_eq!(backoff_ms(i64::MAX, i64::MAX, i64::MAX), i64::MAX);
        assert_eq!(backoff_ms(0, 10, 3600), 10_000);
        assert_eq!(backoff_ms(i64::MIN, -5, -5), 0);
    }

    proptest! {
        #[test]
        fn backoff_is_monotone_and_capped(
            attempt in -5i64..200,
            base in 0i64..100_000,
            max in 0i64..10_000_000,
        ) {
            let now = backoff_ms(attempt, base, max);
            let next = backoff_ms(attempt + 1, base, max);
            prop_assert!(now <= next);
            prop_assert!(now >= 0);
            prop_assert!(next <= max * 1000);
        }
    }
}
