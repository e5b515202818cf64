//! The job queue's rows (`jobs`, `job_lanes`): every statement of the leased queue in
//! `jobs.rs`, named for what it does. The webhook rows have their own store,
//! `webhooks/store.rs`, next to the use cases that own them: the runner knows job kinds,
//! not use cases, and its store should not hold theirs either.

use kith_store::{Conn, Row, StoreError, args};

use super::jobs::{Keys, Lane, clip};

// A job as a claim reads it: the first five columns from any claim, the keys from a
// limited lane's.
kith_store::columns!(JobCols {
    id,
    kind,
    payload,
    attempts,
    max_attempts,
    tenant_key,
    target_key,
});

/// A due job as a claim picks it (the keys only from a limited lane's pick).
pub(super) struct DueJob {
    pub(super) id: String,
    pub(super) kind: String,
    pub(super) payload: String,
    pub(super) attempts: i64,
    pub(super) max_attempts: i64,
    pub(super) tenant_key: Option<String>,
    pub(super) target_key: Option<String>,
}

fn due_from_row(r: &Row, keys: bool) -> Result<DueJob, StoreError> {
    Ok(DueJob {
        id: r.text(JobCols::id)?,
        kind: r.text(JobCols::kind)?,
        payload: r.text(JobCols::payload)?,
        attempts: r.int(JobCols::attempts)?,
        max_attempts: r.int(JobCols::max_attempts)?,
        tenant_key: if keys {
            r.opt_text(JobCols::tenant_key)?
        } else {
            None
        },
        target_key: if keys {
            r.opt_text(JobCols::target_key)?
        } else {
            None
        },
    })
}

#[allow(clippy::too_many_arguments)]
pub(super) fn insert_job(
    c: &mut dyn Conn,
    id: &str,
    kind: &str,
    body: String,
    run_at_ms: i64,
    max_attempts: i64,
    now_ms: i64,
    lane: Lane,
    keys: Option<Keys<'_>>,
) -> Result<(), StoreError> {
    // A fresh id: nothing to conflict with, so it goes with the next statement.
    c.execute_deferred(
        "INSERT INTO jobs (id, kind, payload, status, run_at, attempts, max_attempts, created_at,
                           lane, tenant_key, target_key)
         VALUES ($1, $2, $3, 'queued', $4, 0, $5, $6, $7, $8, $9)",
        args![
            id,
            kind,
            body,
            run_at_ms,
            max_attempts,
            now_ms,
            lane.as_str(),
            keys.map(|k| k.tenant),
            keys.map(|k| k.target)
        ],
    )?;
    Ok(())
}

/// Up to `limit` due jobs of an unlimited lane, oldest first, locked (skipping locked ones).
pub(super) fn due_jobs(
    c: &mut dyn Conn,
    lane: Lane,
    now: i64,
    limit: i64,
) -> Result<Vec<DueJob>, StoreError> {
    let sql = format!(
        "SELECT id, kind, payload, attempts, max_attempts FROM jobs
         WHERE lane = $3 AND status = 'queued' AND run_at <= $1
           AND (lease_expires_at IS NULL OR lease_expires_at <= $1)
         ORDER BY run_at, id
         LIMIT $2{}",
        c.for_update_skip_locked()
    );
    c.query(&sql, args![now, limit, lane.as_str()])?
        .iter()
        .map(|r| due_from_row(r, false))
        .collect()
}

/// Leases one job to `owner` until `expires` and counts the attempt.
pub(super) fn lease_job(
    c: &mut dyn Conn,
    id: &str,
    owner: &str,
    expires: i64,
) -> Result<(), StoreError> {
    c.execute(
        "UPDATE jobs SET lease_owner = $2, lease_expires_at = $3, attempts = attempts + 1
         WHERE id = $1",
        args![id, owner, expires],
    )?;
    Ok(())
}

/// Locks the lane's row: concurrent claimers of a limited lane take turns.
pub(super) fn lock_lane(c: &mut dyn Conn, lane: Lane) -> Result<(), StoreError> {
    let lock = format!(
        "SELECT lane FROM job_lanes WHERE lane = $1{}",
        c.for_update()
    );
    c.query(&lock, args![lane.as_str()])?;
    Ok(())
}

/// A job's (tenant, target) keys.
pub(super) type JobKeys = (Option<String>, Option<String>);

/// The (tenant, target) keys of every live lease in the lane.
pub(super) fn leased_keys(
    c: &mut dyn Conn,
    lane: Lane,
    now: i64,
) -> Result<Vec<JobKeys>, StoreError> {
    c.query(
        "SELECT tenant_key, target_key FROM jobs
         WHERE lane = $1 AND status = 'queued' AND lease_expires_at > $2",
        args![lane.as_str(), now],
    )?
    .iter()
    .map(|r| Ok((r.opt_text(0)?, r.opt_text(1)?)))
    .collect()
}

/// Up to `scan` due jobs of a limited lane, oldest first, every target cut to `per_target`
/// and every tenant to `per_tenant` before the LIMIT.
pub(super) fn due_limited_jobs(
    c: &mut dyn Conn,
    lane: Lane,
    now: i64,
    per_target: i64,
    per_tenant: i64,
    scan: i64,
) -> Result<Vec<DueJob>, StoreError> {
    c.query(
        &format!(
            "SELECT {} FROM (
             SELECT id, kind, payload, attempts, max_attempts, tenant_key, target_key, run_at,
                    ROW_NUMBER() OVER (PARTITION BY COALESCE(tenant_key, CAST(id AS text))
                                       ORDER BY run_at, id) AS tenant_rank
             FROM (
                 SELECT id, kind, payload, attempts, max_attempts, tenant_key, target_key,
                        run_at,
                        ROW_NUMBER() OVER (PARTITION BY COALESCE(target_key, CAST(id AS text))
                                           ORDER BY run_at, id) AS target_rank
                 FROM jobs
                 WHERE lane = $1 AND status = 'queued' AND run_at <= $2
                   AND (lease_expires_at IS NULL OR lease_expires_at <= $2)
             ) by_target
             WHERE target_rank <= $3
         ) by_tenant
         WHERE tenant_rank <= $4
         ORDER BY run_at, id
         LIMIT $5",
            JobCols::LIST
        ),
        args![lane.as_str(), now, per_target, per_tenant, scan],
    )?
    .iter()
    .map(|r| due_from_row(r, true))
    .collect()
}

/// Marks a job done; false when `owner` no longer holds its lease.
pub(super) fn complete_job(
    c: &mut dyn Conn,
    job_id: &str,
    owner: &str,
    now: i64,
) -> Result<bool, StoreError> {
    let n = c.execute(
        "UPDATE jobs SET status = 'done', finished_at = $3, lease_expires_at = NULL
         WHERE id = $1 AND lease_owner = $2 AND status = 'queued'",
        args![job_id, owner, now],
    )?;
    Ok(n == 1)
}

/// (attempts, max_attempts) of a job `owner` still holds, locked; None when it does not.
pub(super) fn lock_leased_attempts(
    c: &mut dyn Conn,
    job_id: &str,
    owner: &str,
) -> Result<Option<(i64, i64)>, StoreError> {
    let sql = format!(
        "SELECT attempts, max_attempts FROM jobs
         WHERE id = $1 AND lease_owner = $2 AND status = 'queued'{}",
        c.for_update()
    );
    c.query_opt(&sql, args![job_id, owner])?
        .map(|row| Ok((row.int(0)?, row.int(1)?)))
        .transpose()
}

/// Puts a job back in the queue for `retry_at_ms`, its lease released.
pub(super) fn requeue_job(
    c: &mut dyn Conn,
    job_id: &str,
    retry_at_ms: i64,
    error: &str,
) -> Result<(), StoreError> {
    c.execute(
        "UPDATE jobs SET run_at = $2, lease_owner = NULL, lease_expires_at = NULL,
                last_error = $3
         WHERE id = $1",
        args![job_id, retry_at_ms, error],
    )?;
    Ok(())
}

/// Puts a job back for `run_at_ms` without counting its attempt; false when `owner` no
/// longer holds its lease.
pub(super) fn postpone_job(
    c: &mut dyn Conn,
    job_id: &str,
    owner: &str,
    run_at_ms: i64,
) -> Result<bool, StoreError> {
    let n = c.execute(
        "UPDATE jobs SET run_at = $3, lease_owner = NULL, lease_expires_at = NULL,
                attempts = CASE WHEN attempts > 0 THEN attempts - 1 ELSE 0 END
         WHERE id = $1 AND lease_owner = $2 AND status = 'queued'",
        args![job_id, owner, run_at_ms],
    )?;
    Ok(n == 1)
}

/// Inside the caller's transaction: moves every queued, unleased job of `target` in
/// `lane` that is due before `until_ms` to `until_ms` (an endpoint paused as a whole: its
/// deliveries wait instead of each trying a dead receiver). Returns how many moved.
pub(in crate::events) fn defer_target(
    c: &mut dyn Conn,
    lane: Lane,
    target: &str,
    now_ms: i64,
    until_ms: i64,
) -> Result<u64, StoreError> {
    c.execute(
        "UPDATE jobs SET run_at = $4
         WHERE target_key = $2 AND lane = $1 AND status = 'queued' AND run_at < $4
           AND (lease_expires_at IS NULL OR lease_expires_at <= $3)",
        args![lane.as_str(), target, now_ms, until_ms],
    )
}

/// Inside the caller's transaction: ends every queued, unleased job of `target` in
/// `lane` as done (an endpoint disabled: its deliveries are settled by the caller). A
/// leased one finishes on its own and finds its work settled. Returns how many ended.
pub(in crate::events) fn cancel_target(
    c: &mut dyn Conn,
    lane: Lane,
    target: &str,
    now_ms: i64,
    reason: &str,
) -> Result<u64, StoreError> {
    c.execute(
        "UPDATE jobs SET status = 'done', finished_at = $3, last_error = $4
         WHERE target_key = $2 AND lane = $1 AND status = 'queued'
           AND (lease_expires_at IS NULL OR lease_expires_at <= $3)",
        args![lane.as_str(), target, now_ms, clip(reason)],
    )
}

/// Fails a job `owner` still holds for good; false when it does not.
pub(super) fn fail_leased_job(
    c: &mut dyn Conn,
    job_id: &str,
    owner: &str,
    error: &str,
    now: i64,
) -> Result<bool, StoreError> {
    let n = c.execute(
        "UPDATE jobs SET status = 'failed', finished_at = $4, lease_expires_at = NULL,
                last_error = $3
         WHERE id = $1 AND lease_owner = $2 AND status = 'queued'",
        args![job_id, owner, error, now],
    )?;
    Ok(n == 1)
}

/// Fails a job for good.
pub(super) fn fail_job(
    c: &mut dyn Conn,
    job_id: &str,
    error: &str,
    now: i64,
) -> Result<(), StoreError> {
    c.execute(
        "UPDATE jobs SET status = 'failed', finished_at = $3, lease_expires_at = NULL,
                last_error = $2
         WHERE id = $1",
        args![job_id, error, now],
    )?;
    Ok(())
}
