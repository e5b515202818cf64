//! The SQL of reconciliation: runs, their mismatches, the daily schedule, and kith's side
//! of a day (payments and refunds through one owner's provider account).

use kith_domain::Fen;
use kith_store::{Conn, Row, args};

use super::{Entry, Line, Mismatch, MismatchKind, Reconciliation};
use crate::platform::ids::new_id;
use crate::{AppResult, rfc3339};

/// A run as it is written.
pub(super) struct Run<'a> {
    pub(super) provider: &'a str,
    pub(super) owner: &'a str,
    pub(super) bill_date: &'a str,
    pub(super) status: &'a str,
    pub(super) provider_lines: i64,
    pub(super) kith_lines: i64,
    pub(super) matched: i64,
    pub(super) provider_total_fen: i64,
    pub(super) kith_total_fen: i64,
    pub(super) detail: Option<&'a str>,
}

kith_store::columns!(RunCols {
    id,
    provider,
    owner,
    bill_date,
    status,
    provider_lines,
    kith_lines,
    matched,
    provider_total_fen,
    kith_total_fen,
    detail,
    created_at,
});

fn run_view(r: &Row, mismatches: Vec<Mismatch>) -> AppResult<Reconciliation> {
    Ok(Reconciliation {
        id: r.text(RunCols::id)?,
        provider: r.text(RunCols::provider)?,
        owner: r.text(RunCols::owner)?,
        bill_date: r.text(RunCols::bill_date)?,
        status: r.text(RunCols::status)?,
        provider_lines: r.int(RunCols::provider_lines)?,
        kith_lines: r.int(RunCols::kith_lines)?,
        matched: r.int(RunCols::matched)?,
        provider_total_fen: Fen::new(r.int(RunCols::provider_total_fen)?),
        kith_total_fen: Fen::new(r.int(RunCols::kith_total_fen)?),
        detail: r.opt_text(RunCols::detail)?,
        mismatches,
        created_at: rfc3339(r.int(RunCols::created_at)?),
    })
}

kith_store::columns!(MismatchCols {
    kind,
    entry,
    reference,
    provider_no,
    provider_fen,
    kith_fen,
});

fn mismatch_view(r: &Row) -> AppResult<Mismatch> {
    Ok(Mismatch {
        kind: MismatchKind::parse(&r.text(MismatchCols::kind)?)?,
        entry: Entry::parse(&r.text(MismatchCols::entry)?)?,
        reference: r.text(MismatchCols::reference)?,
        provider_no: r.opt_text(MismatchCols::provider_no)?,
        provider_fen: r.opt_int(MismatchCols::provider_fen)?.map(Fen::new),
        kith_fen: r.opt_int(MismatchCols::kith_fen)?.map(Fen::new),
    })
}

/// kith's lines of one Beijing day `[start, end)` through `owner`'s account at `provider`:
/// payments that succeeded (or came late and were turned back) in it, and refunds of
/// orders that account took, made in it; for a run with payouts
/// ([`super::with_payouts`]), withdrawals whose payout through `provider` succeeded in it.
pub(super) fn kith_lines(
    c: &mut dyn Conn,
    provider: &str,
    owner: &str,
    start: i64,
    end: i64,
) -> AppResult<Vec<Line>> {
    let mut out = Vec::new();
    for r in c.query(
        "SELECT id, provider_txn, amount_fen FROM payments
         WHERE provider = $1 AND rail_owner = $2 AND status IN ('succeeded', 'returned')
           AND COALESCE(succeeded_at, created_at) >= $3 AND COALESCE(succeeded_at, created_at) < $4",
        args![provider, owner, start, end],
    )? {
        out.push(Line {
            entry: Entry::Payment,
            key: r.text(0)?,
            provider_no: r.opt_text(1)?,
            amount_fen: r.int(2)?,
        });
    }
    for r in c.query(
        "SELECT r.id, r.amount_fen FROM refunds r
         JOIN payments p ON p.order_id = r.order_id
              AND (p.id = r.payment_id OR (r.payment_id IS NULL AND p.status = 'succeeded'))
         WHERE r.provider = $1 AND p.provider = $1 AND p.rail_owner = $2 AND r.status = 'succeeded'
           AND COALESCE(r.settled_at, r.created_at) >= $3 AND COALESCE(r.settled_at, r.created_at) < $4",
        args![provider, owner, start, end],
    )? {
        out.push(Line {
            entry: Entry::Refund,
            key: r.text(0)?,
            provider_no: None,
            amount_fen: r.int(1)?,
        });
    }
    if super::with_payouts(provider, owner) {
        for r in c.query(
            "SELECT w.id, w.amount_fen FROM withdrawals w
             JOIN payout_events e ON e.withdrawal_id = w.id AND e.provider = $1 AND e.status = 'succeeded'
             WHERE w.status = 'paid' AND e.received_at >= $2 AND e.received_at < $3",
            args![provider, start, end],
        )? {
            out.push(Line {
                entry: Entry::Payout,
                key: r.text(0)?,
                provider_no: None,
                amount_fen: r.int(1)?,
            });
        }
    }
    Ok(out)
}

/// Stores a run, replacing an earlier run of the same provider, owner and day (its
/// mismatches with it); returns the run's id.
pub(super) fn save(
    c: &mut dyn Conn,
    now: i64,
    run: &Run<'_>,
    mismatches: &[Mismatch],
) -> AppResult<String> {
    let r = c.query_one(
        "INSERT INTO reconciliations (id, provider, owner, bill_date, status, provider_lines, kith_lines, matched,
                                      provider_total_fen, kith_total_fen, detail, created_at)
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12)
         ON CONFLICT (provider, owner, bill_date) DO UPDATE SET status = $5, provider_lines = $6, kith_lines = $7,
             matched = $8, provider_total_fen = $9, kith_total_fen = $10, detail = $11, created_at = $12
         RETURNING id",
        args![new_id(), run.provider, run.owner, run.bill_date, run.status, run.provider_lines, run.kith_lines,
              run.matched, run.provider_total_fen, run.kith_total_fen, run.detail, now],
    )?;
    let id = r.text(0)?;
    c.execute(
        "DELETE FROM reconciliation_mismatches WHERE reconciliation_id = $1",
        args![&id],
    )?;
    for (seq, m) in mismatches.iter().enumerate() {
        c.execute(
            "INSERT INTO reconciliation_mismatches (reconciliation_id, seq, kind, entry, reference, provider_no, provider_fen, kith_fen)
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8)",
            args![&id, seq as i64, m.kind.as_str(), m.entry.as_str(), &m.reference, m.provider_no.as_deref(),
                  m.provider_fen.map(Fen::get), m.kith_fen.map(Fen::get)],
        )?;
    }
    Ok(id)
}

fn mismatches(c: &mut dyn Conn, id: &str) -> AppResult<Vec<Mismatch>> {
    c.query(
        &format!(
            "SELECT {} FROM reconciliation_mismatches WHERE reconciliation_id = $1 ORDER BY seq",
            MismatchCols::LIST
        ),
        args![id],
    )?
    .iter()
    .map(mismatch_view)
    .collect()
}

pub(super) fn load(c: &mut dyn Conn, id: &str) -> AppResult<Reconciliation> {
    let r = c.query_one(
        &format!(
            "SELECT {} FROM reconciliations WHERE id = $1",
            RunCols::LIST
        ),
        args![id],
    )?;
    let m = mismatches(c, id)?;
    run_view(&r, m)
}

/// An owner's runs, newest day first.
pub(super) fn list(c: &mut dyn Conn, owner: &str, limit: i64) -> AppResult<Vec<Reconciliation>> {
    let rows = c.query(
        &format!(
            "SELECT {} FROM reconciliations WHERE owner = $1 ORDER BY bill_date DESC, provider LIMIT $2",
            RunCols::LIST
        ),
        args![owner, limit],
    )?;
    let mut out = Vec::with_capacity(rows.len());
    for r in &rows {
        let m = mismatches(c, &r.text(RunCols::id)?)?;
        out.push(run_view(r, m)?);
    }
    Ok(out)
}

/// Owners holding credentials at `provider`.
pub(super) fn owners(c: &mut dyn Conn, provider: &str) -> AppResult<Vec<String>> {
    c.query(
        "SELECT owner FROM rail_credentials WHERE provider = $1 ORDER BY owner",
        args![provider],
    )?
    .iter()
    .map(|r| r.text(0).map_err(Into::into))
    .collect()
}

/// Starts an owner's daily chain at `date`; `false` when it is already running.
pub(super) fn start_schedule(
    c: &mut dyn Conn,
    provider: &str,
    owner: &str,
    date: &str,
) -> AppResult<bool> {
    Ok(c.execute(
        "INSERT INTO reconcile_schedule (provider, owner, next_date) VALUES ($1, $2, $3)
         ON CONFLICT (provider, owner) DO NOTHING",
        args![provider, owner, date],
    )? == 1)
}

/// Moves the chain from `date` to `next`; `false` when another run moved it already.
pub(super) fn advance_schedule(
    c: &mut dyn Conn,
    provider: &str,
    owner: &str,
    date: &str,
    next: &str,
) -> AppResult<bool> {
    Ok(c.execute(
        "UPDATE reconcile_schedule SET next_date = $4 WHERE provider = $1 AND owner = $2 AND next_date = $3",
        args![provider, owner, date, next],
    )? == 1)
}
