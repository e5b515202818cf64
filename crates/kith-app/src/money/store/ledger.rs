//! The ledger's rows: `journal_entries`, `postings` and each account's kept balance in
//! `ledger_accounts` (a pooled account's on PostgreSQL in `ledger_balance_shards` too; the
//! view `ledger_balances` adds them up for every reader). The rules (which accounts are
//! guarded, what a refusal names) live in `ledger`; these are its statements, the guarded
//! debit's condition among them.

use kith_domain::Fen;
use kith_domain::ledger::{AccountId, Posting};
use kith_store::{Conn, Engine, Value, args};

use super::StatementCols;
use crate::money::ledger::{Refs, StatementLine};
use crate::platform::ids::OrderId;
use crate::platform::page::{Direction, PageRequest};
use crate::{AppResult, rfc3339};

/// Writes the entry's row under its idempotency key; false when the key was taken already.
pub(in crate::money) fn insert_journal_entry(
    c: &mut dyn Conn,
    id: &str,
    key: &str,
    kind: &str,
    refs: Refs<'_>,
    now: i64,
) -> AppResult<bool> {
    let inserted = c.execute(
        "INSERT INTO journal_entries (id, idempotency_key, kind, order_id, payment_id, refund_id, memo, created_at)
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8) ON CONFLICT (idempotency_key) DO NOTHING",
        args![id, key, kind, refs.order_id, refs.payment_id, refs.refund_id, refs.memo, now],
    )?;
    Ok(inserted != 0)
}

/// Writes several entries' rows in one statement, each under its idempotency key; returns
/// the ids of those written (an entry whose key was taken already is left out).
pub(in crate::money) fn insert_journal_entries(
    c: &mut dyn Conn,
    entries: &[(&str, &str, &str, Refs<'_>)],
    now: i64,
) -> AppResult<Vec<String>> {
    let mut values = Vec::with_capacity(entries.len());
    let mut params: Vec<Value> = vec![now.into()];
    for (i, (id, key, kind, refs)) in entries.iter().enumerate() {
        let b = 2 + 7 * i;
        values.push(format!(
            "(${b}, ${}, ${}, ${}, ${}, ${}, ${}, $1)",
            b + 1,
            b + 2,
            b + 3,
            b + 4,
            b + 5,
            b + 6
        ));
        params.extend([
            Value::from(*id),
            Value::from(*key),
            Value::from(*kind),
            refs.order_id.into(),
            refs.payment_id.into(),
            refs.refund_id.into(),
            refs.memo.into(),
        ]);
    }
    c.query(
        &format!(
            "INSERT INTO journal_entries (id, idempotency_key, kind, order_id, payment_id, refund_id, memo, created_at)
             VALUES {} ON CONFLICT (idempotency_key) DO NOTHING RETURNING id",
            values.join(", ")
        ),
        &params,
    )?
    .iter()
    .map(|r| Ok(r.text(0)?))
    .collect()
}

/// Several entries' postings in one statement: (entry id, posting) each.
pub(in crate::money) fn insert_postings_of(
    c: &mut dyn Conn,
    postings: &[(&str, &Posting)],
) -> AppResult<()> {
    let mut values = Vec::with_capacity(postings.len());
    let mut params = Vec::with_capacity(3 * postings.len());
    for (i, (entry_id, p)) in postings.iter().enumerate() {
        values.push(format!("(${}, ${}, ${})", 1 + 3 * i, 2 + 3 * i, 3 + 3 * i));
        params.push(Value::from(*entry_id));
        params.push(Value::from(p.account.as_str()));
        params.push(Value::from(p.amount_fen));
    }
    c.execute_deferred(
        &format!(
            "INSERT INTO postings (entry_id, account_id, amount_fen) VALUES {}",
            values.join(", ")
        ),
        &params,
    )?;
    Ok(())
}

/// Moves each account's kept balance by its amount — `own` and `pooled` each account
/// once, opening an account that has none yet. An account in `guarded` (one of `own`) is
/// moved only while its balance stays at or above zero; returns those of `guarded` that
/// could not be (no account yet, or too little on it), which the caller must refuse (its
/// transaction rolls back, taking the other moves with it).
///
/// On PostgreSQL `own` is one statement, in the order given (rows are locked in that
/// order): an upsert whose update of a guarded account is conditional, answering which
/// guarded accounts it moved — or, with nothing guarded, an upsert nobody waits for, sent
/// with the next statement ([`Conn::execute_deferred`]). `pooled` goes to this connection's
/// shard of each account ([`add_to_shards`]), after. On SQLite (one writer: no row locks, no
/// order to keep, no shards) the unguarded moves, pooled or not, are one upsert and each
/// guarded debit a conditional UPDATE, because there the one-statement form's `RETURNING`
/// buffers its rows in a temporary B-tree, which cost more instructions than the statements
/// it saved (callgrind: ~+50 k a payment).
pub(in crate::money) fn move_balances(
    c: &mut dyn Conn,
    own: &[(&str, i64)],
    pooled: &[(&str, i64)],
    guarded: &[&str],
    now: i64,
) -> AppResult<Vec<String>> {
    if c.engine() == Engine::Postgres {
        let refused = upsert_balances(c, own, guarded, now)?;
        if refused.is_empty() {
            add_to_shards(c, pooled, now)?;
        }
        return Ok(refused);
    }
    let mut refused = Vec::new();
    for (account, amount) in own.iter().filter(|(a, _)| guarded.contains(a)) {
        let moved = c.execute(
            "UPDATE ledger_accounts SET balance_fen = balance_fen + $1 WHERE id = $2 AND balance_fen + $1 >= 0",
            args![*amount, *account],
        )? != 0;
        if !moved {
            refused.push((*account).to_owned());
        }
    }
    if !refused.is_empty() {
        return Ok(refused);
    }
    let rest: Vec<(&str, i64)> = own
        .iter()
        .filter(|(a, _)| !guarded.contains(a))
        .chain(pooled)
        .copied()
        .collect();
    upsert_balances(c, &rest, &[], now)
}

/// Adds each of `moves` (pooled accounts, PostgreSQL only) to this connection's shard row
/// of the account (`ledger_balance_shards`, [`Conn::shard`]), opening the account's own row
/// with a zero balance when it has none (the postings' foreign key names it; `DO NOTHING`
/// takes no lock on an existing row). One statement nobody waits for. Two transactions on
/// connections of one server add to different rows, so neither waits for the other's
/// commit; with the one row every payment of a merchant waited on the one before it until
/// that one committed.
fn add_to_shards(c: &mut dyn Conn, moves: &[(&str, i64)], now: i64) -> AppResult<()> {
    if moves.is_empty() {
        return Ok(());
    }
    let mut params: Vec<Value> = Vec::with_capacity(2 + 2 * moves.len());
    params.push(now.into());
    params.push(c.shard().into());
    let (mut opened, mut added) = (Vec::new(), Vec::new());
    for (i, (account, amount)) in moves.iter().enumerate() {
        let (a, n) = (3 + 2 * i, 4 + 2 * i);
        opened.push(format!("(${a}, 0, $1)"));
        added.push(format!("(${a}, $2, ${n})"));
        params.push(Value::from(*account));
        params.push(Value::from(*amount));
    }
    c.execute_deferred(
        &format!(
            "WITH opened AS (INSERT INTO ledger_accounts (id, balance_fen, created_at) VALUES {}
                 ON CONFLICT (id) DO NOTHING)
             INSERT INTO ledger_balance_shards (account_id, shard, balance_fen) VALUES {}
             ON CONFLICT (account_id, shard)
             DO UPDATE SET balance_fen = ledger_balance_shards.balance_fen + excluded.balance_fen",
            opened.join(", "),
            added.join(", ")
        ),
        &params,
    )?;
    Ok(())
}

/// [`move_balances`] as one upsert, in the order given: with `guarded` accounts, the update
/// of each is conditional and the statement answers which it moved (`RETURNING`); without,
/// nobody waits for it ([`Conn::execute_deferred`]). Returns the guarded accounts refused.
fn upsert_balances(
    c: &mut dyn Conn,
    moves: &[(&str, i64)],
    guarded: &[&str],
    now: i64,
) -> AppResult<Vec<String>> {
    if moves.is_empty() {
        return Ok(Vec::new());
    }
    let mut params: Vec<Value> = Vec::with_capacity(1 + 2 * moves.len() + guarded.len());
    params.push(now.into());
    let mut sql = String::from("INSERT INTO ledger_accounts (id, balance_fen, created_at) VALUES ");
    for (i, (account, amount)) in moves.iter().enumerate() {
        if i > 0 {
            sql.push_str(", ");
        }
        sql.push_str(&format!("(${}, ${}, $1)", 2 + 2 * i, 3 + 2 * i));
        params.push(Value::from(*account));
        params.push(Value::from(*amount));
    }
    sql.push_str(
        " ON CONFLICT (id) DO UPDATE SET balance_fen = ledger_accounts.balance_fen + excluded.balance_fen",
    );
    if guarded.is_empty() {
        c.execute_deferred(&sql, &params)?;
        return Ok(Vec::new());
    }
    let first = params.len() + 1;
    let marks: Vec<String> = (first..first + guarded.len())
        .map(|n| format!("${n}"))
        .collect();
    sql.push_str(&format!(
        " WHERE ledger_accounts.id NOT IN ({}) OR ledger_accounts.balance_fen + excluded.balance_fen >= 0
         RETURNING id, balance_fen",
        marks.join(", ")
    ));
    params.extend(guarded.iter().map(|g| Value::from(*g)));
    let mut covered = Vec::with_capacity(guarded.len());
    for r in &c.query(&sql, &params)? {
        if r.int(1)? >= 0 {
            covered.push(r.text(0)?);
        }
    }
    Ok(guarded
        .iter()
        .filter(|g| !covered.iter().any(|c| c == *g))
        .map(|g| (*g).to_owned())
        .collect())
}

/// The entry's postings in one statement: `($1, $2, $3), ($1, $4, $5), …`.
pub(in crate::money) fn insert_postings(
    c: &mut dyn Conn,
    entry_id: &str,
    postings: &[Posting],
) -> AppResult<()> {
    let mut values = Vec::with_capacity(postings.len());
    let mut params = Vec::with_capacity(1 + 2 * postings.len());
    params.push(kith_store::Value::from(entry_id));
    for (i, p) in postings.iter().enumerate() {
        values.push(format!("($1, ${}, ${})", 2 + 2 * i, 3 + 2 * i));
        params.push(kith_store::Value::from(p.account.as_str()));
        params.push(kith_store::Value::from(p.amount_fen));
    }
    c.execute_deferred(
        &format!(
            "INSERT INTO postings (entry_id, account_id, amount_fen) VALUES {}",
            values.join(", ")
        ),
        &params,
    )?;
    Ok(())
}

/// An account's kept balance, if it has ever been posted to.
pub(in crate::money) fn account_balance(
    c: &mut dyn Conn,
    account: &AccountId,
) -> AppResult<Option<i64>> {
    Ok(c.query_opt(
        "SELECT balance_fen FROM ledger_balances WHERE id = $1",
        args![account.as_str()],
    )?
    .map(|r| r.int(0))
    .transpose()?)
}

/// One page of the postings of `accounts` (not empty), newest first, each with its
/// posting id (the page's key).
pub(in crate::money) fn statement_lines(
    c: &mut dyn Conn,
    accounts: &[AccountId],
    page: &PageRequest,
) -> AppResult<Vec<(i64, StatementLine)>> {
    let n = accounts.len();
    let list = (1..=n)
        .map(|i| format!("${i}"))
        .collect::<Vec<_>>()
        .join(", ");
    // Newest first by posting id alone (an identity column: unique and increasing).
    let keyset = page.keyset(Direction::NewestFirst, "p.id", "", n + 1);
    let mut params: Vec<Value> = accounts.iter().map(|a| Value::from(a.as_str())).collect();
    params.extend(keyset.args);
    params.push(Value::from(page.fetch()));
    let rows = c.query(
        &format!(
            "SELECT {} FROM postings p JOIN journal_entries e ON e.id = p.entry_id
             WHERE p.account_id IN ({list}) AND {} ORDER BY p.id DESC LIMIT ${}",
            StatementCols::LIST,
            keyset.sql,
            keyset.next
        ),
        &params,
    )?;
    rows.iter()
        .map(|r| {
            Ok((
                r.int(StatementCols::posting_id)?,
                StatementLine {
                    entry_id: r.text(StatementCols::entry_id)?,
                    kind: r.text(StatementCols::kind)?,
                    account: AccountId::parse(&r.text(StatementCols::account_id)?)?,
                    amount_fen: Fen::new(r.int(StatementCols::amount_fen)?),
                    order_id: r.opt_text(StatementCols::order_id)?.map(OrderId::from_row),
                    memo: r.text(StatementCols::memo)?,
                    at: rfc3339(r.int(StatementCols::created_at)?),
                },
            ))
        })
        .collect()
}

/// How many journal entries there are.
pub(in crate::money) fn count_entries(c: &mut dyn Conn) -> AppResult<i64> {
    Ok(
        c.query_one("SELECT COUNT(*) FROM journal_entries", args![])?
            .int(0)?,
    )
}

/// How many postings there are.
pub(in crate::money) fn count_postings(c: &mut dyn Conn) -> AppResult<i64> {
    Ok(c.query_one("SELECT COUNT(*) FROM postings", args![])?
        .int(0)?)
}

/// Up to 100 entries whose postings do not sum to zero.
pub(in crate::money) fn unbalanced_entries(c: &mut dyn Conn) -> AppResult<Vec<String>> {
    Ok(c.query(
        "SELECT entry_id FROM postings GROUP BY entry_id HAVING CAST(SUM(amount_fen) AS bigint) <> 0 LIMIT 100",
        args![],
    )?
    .iter()
    .map(|r| r.text(0))
    .collect::<Result<Vec<_>, _>>()?)
}

/// Up to 100 accounts whose kept balance differs from the sum of their postings.
pub(in crate::money) fn mismatched_accounts(c: &mut dyn Conn) -> AppResult<Vec<String>> {
    Ok(c.query(
        "SELECT a.id FROM ledger_balances a LEFT JOIN
               (SELECT account_id, CAST(SUM(amount_fen) AS bigint) AS s FROM postings GROUP BY account_id) p
               ON p.account_id = a.id
             WHERE a.balance_fen <> COALESCE(p.s, 0) LIMIT 100",
        args![],
    )?
    .iter()
    .map(|r| r.text(0))
    .collect::<Result<Vec<_>, _>>()?)
}

/// The sum of every money balance (every account but `points:…`).
pub(in crate::money) fn total_money(c: &mut dyn Conn) -> AppResult<i64> {
    Ok(c.query_one(
        "SELECT CAST(COALESCE(SUM(balance_fen), 0) AS bigint) FROM ledger_balances WHERE id NOT LIKE 'points:%'",
        args![],
    )?
    .int(0)?)
}

/// The sum of every points balance (`points:…` accounts).
pub(in crate::money) fn total_points(c: &mut dyn Conn) -> AppResult<i64> {
    Ok(c.query_one(
        "SELECT CAST(COALESCE(SUM(balance_fen), 0) AS bigint) FROM ledger_balances WHERE id LIKE 'points:%'",
        args![],
    )?
    .int(0)?)
}
