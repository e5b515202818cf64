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
//! The queue knows no job. Each kind is a struct implementing [`Job`] (its fields are the
//! payload), owned by the context that schedules it; the context registers it in the
//! [`JobRegistry`] when the [`App`] is built (`App::new` calls each context's
//! `register_jobs`). So this module imports no use case, and a new kind of work adds a
//! struct and one registration, not a branch here.
//!
//! Every owner name must be unique per worker (host name plus a random suffix, say): two
//! workers with one name would both count as the lease holder.
//!
//! Time comes from the [`App`]'s clock, so tests move it forward instead of sleeping.

use std::collections::BTreeMap;
use std::future::Future;
use std::pin::Pin;
use std::time::Duration;

use kith_store::{Conn, StoreError, args};
use serde::Serialize;
use serde::de::DeserializeOwned;

use crate::{App, AppError, AppResult};

/// A kind of background work. The struct is the payload: it is stored as JSON in the job's
/// row and parsed back before [`Job::run`].
pub trait Job: Serialize + DeserializeOwned + Send + 'static {
    /// The kind written to `jobs.kind`. Queued rows carry it across upgrades, so a kind is
    /// never renamed once shipped.
    const KIND: &'static str;
    /// Attempts before the job fails for good (at least one is always made).
    const MAX_ATTEMPTS: i64;
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
}

type JobFuture = Pin<Box<dyn Future<Output = Result<(), JobError>> + Send>>;
type Handler = Box<dyn Fn(App, ClaimedJob) -> JobFuture + Send + Sync>;

/// Job kinds this server can run, each with its handler. Filled once when the [`App`] is
/// built; a claimed job of a kind not in here fails at once (a newer server queued it).
#[derive(Default)]
pub struct JobRegistry {
    handlers: BTreeMap<&'static str, Handler>,
}

impl std::fmt::Debug for JobRegistry {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_set().entries(self.handlers.keys()).finish()
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

    /// The kinds registered, in order.
    pub fn kinds(&self) -> impl Iterator<Item = &'static str> + '_ {
        self.handlers.keys().copied()
    }

    fn handler(&self, kind: &str) -> Option<&Handler> {
        self.handlers.get(kind)
    }
}

/// Queues `job` inside the caller's transaction, so the job exists if and only if the
/// change that needs it commits. Returns the job's id.
pub fn enqueue<J: Job>(
    c: &mut dyn Conn,
    now_ms: i64,
    job: &J,
    run_at_ms: i64,
) -> Result<String, StoreError> {
    let payload = serde_json::to_value(job)
        .map_err(|e| StoreError::Other(format!("serialize job {}: {e}", J::KIND)))?;
    enqueue_raw(c, now_ms, J::KIND, &payload, run_at_ms, J::MAX_ATTEMPTS)
}

/// [`enqueue`] with a number of attempts from settings rather than the kind's default
/// (webhook deliveries: `webhook_max_attempts`).
pub fn enqueue_with_attempts<J: Job>(
    c: &mut dyn Conn,
    now_ms: i64,
    job: &J,
    run_at_ms: i64,
    max_attempts: i64,
) -> Result<String, StoreError> {
    let payload = serde_json::to_value(job)
        .map_err(|e| StoreError::Other(format!("serialize job {}: {e}", J::KIND)))?;
    enqueue_raw(c, now_ms, J::KIND, &payload, run_at_ms, max_attempts)
}

/// Most jobs one [`run_once`] claims. They run concurrently, so this also bounds how many
/// outgoing requests a server has in flight.
const CLAIM_BATCH: i64 = 32;

/// Outbox rows one [`run_once`] turns into deliveries.
const OUTBOX_BATCH: i64 = 500;

/// Extra lease time beyond the webhook timeout, for the storage round trips around the
/// request. A lease shorter than the work it covers would let a second server start the
/// same job while the first is still running it.
const LEASE_SLACK_MS: i64 = 60_000;

/// How long an idle worker waits before looking for work again.
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
pub(crate) fn enqueue_raw(
    c: &mut dyn Conn,
    now_ms: i64,
    kind: &str,
    payload: &serde_json::Value,
    run_at_ms: i64,
    max_attempts: i64,
) -> Result<String, StoreError> {
    let id = crate::platform::ids::new_id();
    let body = serde_json::to_string(payload)
        .map_err(|e| StoreError::Other(format!("serialize job {kind}: {e}")))?;
    // A job that may never be attempted would sit in the queue for ever; one attempt is
    // the least that makes sense.
    let max_attempts = max_attempts.max(1);
    c.execute(
        "INSERT INTO jobs (id, kind, payload, status, run_at, attempts, max_attempts, created_at)
         VALUES ($1, $2, $3, 'queued', $4, 0, $5, $6)",
        args![&id, kind, body, run_at_ms, max_attempts, now_ms],
    )?;
    Ok(id)
}

/// Leases up to `limit` due jobs to `owner` for `lease_ms` and counts the attempt. A job is
/// due when it is queued, its time has come, and nobody holds a live lease on it.
pub async fn claim(
    app: &App,
    owner: &str,
    limit: i64,
    lease_ms: i64,
) -> AppResult<Vec<ClaimedJob>> {
    let now = app.now_ms();
    let owner = owner.to_owned();
    let limit = limit.max(0);
    let expires = now.saturating_add(lease_ms.max(0));
    app.db
        .write(move |c| {
            let sql = format!(
                "SELECT id, kind, payload, attempts, max_attempts FROM jobs
                 WHERE status = 'queued' AND run_at <= $1
                   AND (lease_expires_at IS NULL OR lease_expires_at <= $1)
                 ORDER BY run_at, id
                 LIMIT $2{}",
                c.for_update_skip_locked()
            );
            let rows = c.query(&sql, args![now, limit])?;
            let mut claimed = Vec::with_capacity(rows.len());
            for row in rows {
                let id = row.text(0)?;
                c.execute(
                    "UPDATE jobs SET lease_owner = $2, lease_expires_at = $3, attempts = attempts + 1
                     WHERE id = $1",
                    args![&id, &owner, expires],
                )?;
                let raw = row.text(2)?;
                // A payload that is not JSON cannot come from `enqueue`; keep the raw text
                // so the job's handler reports it instead of the whole claim failing.
                let payload = serde_json::from_str(&raw).unwrap_or(serde_json::Value::String(raw));
                claimed.push(ClaimedJob {
                    id,
                    kind: row.text(1)?,
                    payload,
                    attempts: row.int(3)?.saturating_add(1),
                    max_attempts: row.int(4)?,
                });
            }
            Ok::<_, AppError>(claimed)
        })
        .await
}

/// Marks a job done. Returns false (and changes nothing) when `owner` no longer holds its
/// lease: the job was claimed again by someone else, whose outcome wins.
pub async fn complete(app: &App, job_id: &str, owner: &str) -> AppResult<bool> {
    let now = app.now_ms();
    let (job_id, owner) = (job_id.to_owned(), owner.to_owned());
    app.db
        .write(move |c| {
            let n = c.execute(
                "UPDATE jobs SET status = 'done', finished_at = $3, lease_expires_at = NULL
                 WHERE id = $1 AND lease_owner = $2 AND status = 'queued'",
                args![&job_id, &owner, now],
            )?;
            Ok::<_, AppError>(n == 1)
        })
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
            let sql = format!(
                "SELECT attempts, max_attempts FROM jobs
                 WHERE id = $1 AND lease_owner = $2 AND status = 'queued'{}",
                c.for_update()
            );
            let Some(row) = c.query_opt(&sql, args![&job_id, &owner])? else {
                return Ok(false);
            };
            let (attempts, max_attempts) = (row.int(0)?, row.int(1)?);
            if attempts >= max_attempts {
                fail_row(c, &job_id, &error, now)?;
            } else {
                c.execute(
                    "UPDATE jobs SET run_at = $2, lease_owner = NULL, lease_expires_at = NULL,
                            last_error = $3
                     WHERE id = $1",
                    args![&job_id, retry_at_ms, &error],
                )?;
            }
            Ok::<_, AppError>(true)
        })
        .await
}

/// Fails a job for good, whatever attempts it has left: for errors no retry can fix (an
/// unknown kind). Returns false when `owner` no longer holds the lease.
pub async fn fail(app: &App, job_id: &str, owner: &str, error: &str) -> AppResult<bool> {
    let now = app.now_ms();
    let (job_id, owner, error) = (job_id.to_owned(), owner.to_owned(), clip(error));
    app.db
        .write(move |c| {
            let n = c.execute(
                "UPDATE jobs SET status = 'failed', finished_at = $4, lease_expires_at = NULL,
                        last_error = $3
                 WHERE id = $1 AND lease_owner = $2 AND status = 'queued'",
                args![&job_id, &owner, &error, now],
            )?;
            Ok::<_, AppError>(n == 1)
        })
        .await
}

fn fail_row(c: &mut dyn Conn, job_id: &str, error: &str, now: i64) -> Result<(), StoreError> {
    c.execute(
        "UPDATE jobs SET status = 'failed', finished_at = $3, lease_expires_at = NULL,
                last_error = $2
         WHERE id = $1",
        args![job_id, error, now],
    )?;
    Ok(())
}

fn clip(s: &str) -> String {
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

/// The lease a claim takes: long enough for the slowest job kind (a webhook request that
/// runs into its timeout) plus the storage work around it.
fn lease_ms(app: &App) -> i64 {
    let timeout_ms = i64::try_from(app.config.webhook_timeout_secs)
        .unwrap_or(i64::MAX)
        .saturating_mul(1000);
    timeout_ms.saturating_add(LEASE_SLACK_MS)
}

/// One round of background work: turns new outbox events into webhook deliveries, then
/// claims the jobs that are due and runs them concurrently, waiting for all of them.
/// Returns how many jobs ran. Nothing here sleeps, so tests drive it with a manual clock.
pub async fn run_once(app: &App, owner: &str) -> AppResult<usize> {
    crate::events::webhooks::dispatch_outbox(app, OUTBOX_BATCH).await?;
    let jobs = claim(app, owner, CLAIM_BATCH, lease_ms(app)).await?;
    let ran = jobs.len();
    let mut tasks = tokio::task::JoinSet::new();
    for job in jobs {
        let (app, owner) = (app.clone(), owner.to_owned());
        tasks.spawn(async move { run_job(&app, &owner, job).await });
    }
    while let Some(joined) = tasks.join_next().await {
        // A panicking job keeps its lease; it expires and the job is tried again, so the
        // worker only needs to say that it happened.
        if let Err(e) = joined {
            tracing::error!(error = %e, "a background job task failed");
        }
    }
    Ok(ran)
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
/// leaves nobody able to stop us otherwise). Sleeps briefly only when a round found
/// nothing to do, so a backlog drains at full speed. Errors are logged, never fatal: the
/// next round tries again.
pub async fn run_worker(app: App, owner: String, mut shutdown: tokio::sync::watch::Receiver<bool>) {
    tracing::info!(%owner, "background worker started");
    loop {
        if *shutdown.borrow() {
            break;
        }
        let idle = match run_once(&app, &owner).await {
            Ok(ran) => ran == 0,
            Err(e) => {
                tracing::error!(%owner, error = %e, "background work round failed");
                true
            }
        };
        if idle {
            tokio::select! {
                () = tokio::time::sleep(IDLE_SLEEP) => {}
                changed = shutdown.changed() => {
                    if changed.is_err() {
                        break;
                    }
                }
            }
        }
    }
    tracing::info!(%owner, "background worker stopped");
}

#[cfg(test)]
mod tests {
    use std::collections::HashSet;

    use proptest::prelude::*;

    use super::*;
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
            .write(move |c| enqueue_raw(c, now, &kind, &serde_json::json!({"n": 1}), run_at, max))
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
        let got = claim(app, "a", 10, 30_000).await.unwrap();
        assert_eq!(got.len(), 1);
        assert_eq!(got[0].id, id);
        assert_eq!(got[0].payload, serde_json::json!({"n": 1}));
        assert_eq!((got[0].attempts, got[0].max_attempts), (1, 2));
        assert!(!got[0].is_last_attempt());

        // A live lease keeps others away; an expired one does not.
        assert!(claim(app, "b", 10, 30_000).await.unwrap().is_empty());
        clock.advance_ms(30_000);
        let again = claim(app, "b", 10, 30_000).await.unwrap();
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
        let got = claim(app, "a", 10, 30_000).await.unwrap();
        assert_eq!(got[0].id, later);
        let retry_at = app.now_ms() + 5_000;
        assert!(
            retry_or_fail(app, &later, "a", "try later", retry_at)
                .await
                .unwrap()
        );
        let (status, attempts, owner, _) = job_row(app, &later).await;
        assert_eq!((status.as_str(), attempts, owner), ("queued", 1, None));
        assert!(claim(app, "a", 10, 30_000).await.unwrap().is_empty());
        clock.advance_ms(5_000);
        let got = claim(app, "a", 10, 30_000).await.unwrap();
        assert_eq!(got[0].attempts, 2);
        assert!(complete(app, &later, "a").await.unwrap());
        assert_eq!(job_row(app, &later).await.0, "done");
        assert!(claim(app, "a", 10, 30_000).await.unwrap().is_empty());
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
                    enqueue_raw(c, now, "test.lease", &serde_json::json!({ "i": i }), now, 3)?;
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
                    let got = claim(&app, owner, 3, 600_000).await.unwrap();
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
