//! The double-entry ledger on storage. Money moves only through [`post`]: one journal
//! entry whose postings sum to zero (checked by `kith_domain::ledger::JournalEntry`),
//! written in the caller's transaction — the same one as the state change that caused it —
//! under a unique idempotency key, so posting the same entry twice has no second effect.
//!
//! Each account's `balance_fen` is kept beside its postings in the same transaction, so
//! spending from a wallet is one conditional UPDATE (`… WHERE balance_fen >= amount`), never
//! a read-then-write. [`audit`] proves the two agree.

use kith_domain::Fen;
use kith_domain::ledger::{AccountId, JournalEntry};
use kith_store::{Conn, Value, args};
use serde::Serialize;

use crate::money::store::StatementCols;
use crate::platform::ids::{OrderId, new_id};
use crate::platform::page::{Direction, Page, PageRequest};
use crate::{App, AppError, AppResult, Principal, rfc3339};

/// What an entry is about, for statements and audits.
#[derive(Debug, Clone, Copy, Default)]
pub struct Refs<'a> {
    pub order_id: Option<&'a str>,
    pub payment_id: Option<&'a str>,
    pub refund_id: Option<&'a str>,
    pub memo: &'a str,
}

/// Whether [`post`] wrote the entry or found it already written under its key.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Posted {
    New(String),
    Duplicate,
}

/// Posts `entry`. Accounts in `no_overdraft` may not go below zero: a posting that would
/// take one negative fails the whole entry with 409 on `field`, and the caller's
/// transaction rolls back.
pub fn post(
    c: &mut dyn Conn,
    now: i64,
    entry: &JournalEntry,
    refs: Refs<'_>,
    no_overdraft: &[(&AccountId, &str)],
) -> AppResult<Posted> {
    let id = new_id();
    let inserted = c.execute(
        "INSERT INTO journal_entries (id, idempotency_key, kind, order_id, payment_id, refund_id, memo, created_at)
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8) ON CONFLICT (idempotency_key) DO NOTHING",
        args![&id, entry.idempotency_key(), entry.kind().as_str(), refs.order_id, refs.payment_id, refs.refund_id, refs.memo, now],
    )?;
    if inserted == 0 {
        return Ok(Posted::Duplicate);
    }
    for p in entry.postings() {
        let account = p.account.as_str();
        let guarded = no_overdraft.iter().find(|(a, _)| a.as_str() == account);
        let overdraft_guard = guarded.is_some() && p.amount_fen < 0;
        // Update first: the account usually exists, and an INSERT … ON CONFLICT on a row
        // another transaction is updating would wait on it for nothing.
        let sql = if overdraft_guard {
            "UPDATE ledger_accounts SET balance_fen = balance_fen + $1 WHERE id = $2 AND balance_fen + $1 >= 0"
        } else {
            "UPDATE ledger_accounts SET balance_fen = balance_fen + $1 WHERE id = $2"
        };
        if c.execute(sql, args![p.amount_fen, account])? == 0 {
            if overdraft_guard {
                // Missing or short: either way the balance cannot cover the debit.
                let field = guarded.map_or("amount", |(_, f)| *f);
                return Err(AppError::conflict(field, "insufficient balance"));
            }
            let created = c.execute(
                "INSERT INTO ledger_accounts (id, balance_fen, created_at) VALUES ($1, $2, $3) ON CONFLICT (id) DO NOTHING",
                args![account, p.amount_fen, now],
            )?;
            if created == 0 {
                // Created meanwhile by another transaction: now the update applies.
                c.execute(sql, args![p.amount_fen, account])?;
            }
        }
    }
    // The entry's postings in one statement: `($1, $2, $3), ($1, $4, $5), …`.
    let postings = entry.postings();
    let mut values = Vec::with_capacity(postings.len());
    let mut params = Vec::with_capacity(1 + 2 * postings.len());
    params.push(kith_store::Value::from(&id));
    for (i, p) in postings.iter().enumerate() {
        values.push(format!("($1, ${}, ${})", 2 + 2 * i, 3 + 2 * i));
        params.push(kith_store::Value::from(p.account.as_str()));
        params.push(kith_store::Value::from(p.amount_fen));
    }
    c.execute(
        &format!(
            "INSERT INTO postings (entry_id, account_id, amount_fen) VALUES {}",
            values.join(", ")
        ),
        &params,
    )?;
    Ok(Posted::New(id))
}

/// An account's balance (0 for an account that has never been posted to).
pub fn balance(c: &mut dyn Conn, account: &AccountId) -> AppResult<i64> {
    Ok(c.query_opt(
        "SELECT balance_fen FROM ledger_accounts WHERE id = $1",
        args![account.as_str()],
    )?
    .map(|r| r.int(0))
    .transpose()?
    .unwrap_or(0))
}

/// One line of an account statement: one posting.
#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct StatementLine {
    pub entry_id: String,
    pub kind: String,
    /// The account the posting moved: one of those asked for. Not shown by the member
    /// wallet (one account); a statement over several accounts says which, in its own terms.
    #[serde(skip)]
    #[schema(ignore)]
    pub account: AccountId,
    #[schema(value_type = i64)]
    pub amount_fen: Fen,
    pub order_id: Option<OrderId>,
    pub memo: String,
    pub at: String,
}

/// The postings of `accounts`, merged newest first: the statement of one account, or of
/// several kept together (a distributor's four commission balances at one merchant).
/// Postings are ordered by their identity column; the cursor carries it in the time slot.
pub fn statement(
    c: &mut dyn Conn,
    accounts: &[AccountId],
    page: &PageRequest,
) -> AppResult<Page<StatementLine>> {
    if accounts.is_empty() {
        return Ok(Page {
            items: Vec::new(),
            next_cursor: None,
        });
    }
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
    let lines = rows
        .iter()
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
        .collect::<AppResult<Vec<_>>>()?;
    Ok(Page::from_keyed(lines, page.limit, |_| ""))
}

/// The result of checking the whole ledger.
#[derive(Debug, Clone, Serialize, utoipa::ToSchema, PartialEq, Eq)]
pub struct Audit {
    pub entries: i64,
    pub postings: i64,
    /// Entries whose postings do not sum to zero (must be empty).
    pub unbalanced_entries: Vec<String>,
    /// Accounts whose kept balance differs from the sum of their postings (must be empty).
    pub mismatched_accounts: Vec<String>,
    /// The sum of every money balance (must be zero: money only moves, it is never made).
    #[schema(value_type = i64)]
    pub total_fen: Fen,
    /// The sum of every points balance (`points:…` accounts, counted in points, never
    /// summed with money; must be zero: points are issued out of the merchant's account).
    pub total_points: i64,
}

impl Audit {
    pub fn is_clean(&self) -> bool {
        self.unbalanced_entries.is_empty()
            && self.mismatched_accounts.is_empty()
            && self.total_fen == Fen::ZERO
            && self.total_points == 0
    }
}

pub fn audit(c: &mut dyn Conn) -> AppResult<Audit> {
    let entries = c
        .query_one("SELECT COUNT(*) FROM journal_entries", args![])?
        .int(0)?;
    let postings = c
        .query_one("SELECT COUNT(*) FROM postings", args![])?
        .int(0)?;
    let unbalanced_entries = c
        .query(
            "SELECT entry_id FROM postings GROUP BY entry_id HAVING CAST(SUM(amount_fen) AS bigint) <> 0 LIMIT 100",
            args![],
        )?
        .iter()
        .map(|r| r.text(0))
        .collect::<Result<Vec<_>, _>>()?;
    let mismatched_accounts = c
        .query(
            "SELECT a.id FROM ledger_accounts a LEFT JOIN
               (SELECT account_id, CAST(SUM(amount_fen) AS bigint) AS s FROM postings GROUP BY account_id) p
               ON p.account_id = a.id
             WHERE a.balance_fen <> COALESCE(p.s, 0) LIMIT 100",
            args![],
        )?
        .iter()
        .map(|r| r.text(0))
        .collect::<Result<Vec<_>, _>>()?;
    let total_fen = c
        .query_one(
            "SELECT CAST(COALESCE(SUM(balance_fen), 0) AS bigint) FROM ledger_accounts WHERE id NOT LIKE 'points:%'",
            args![],
        )?
        .int(0)?;
    let total_points = c
        .query_one(
            "SELECT CAST(COALESCE(SUM(balance_fen), 0) AS bigint) FROM ledger_accounts WHERE id LIKE 'points:%'",
            args![],
        )?
        .int(0)?;
    Ok(Audit {
        entries,
        postings,
        unbalanced_entries,
        mismatched_accounts,
        total_fen: Fen::new(total_fen),
        total_points,
    })
}

impl App {
    /// Every ledger problem (see [`audit`]), for platform admins and tests.
    pub async fn ledger_audit(&self, who: &Principal) -> AppResult<Audit> {
        who.require_platform_admin()?;
        self.db.read(|c| audit(c)).await
    }
}
