//! The double-entry ledger on storage. Money moves only through [`post`] (or [`post_all`],
//! several entries of one transaction at once): one journal entry whose postings sum to
//! zero (checked by `kith_domain::ledger::JournalEntry`),
//! written in the caller's transaction — the same one as the state change that caused it —
//! under a unique idempotency key, so posting the same entry twice has no second effect.
//!
//! Each account's `balance_fen` is kept beside its postings in the same transaction, so
//! spending from a wallet is a conditional write (`… WHERE balance_fen + amount >= 0`, see
//! `store::move_balances`), never a read-then-write. A pooled account
//! ([`AccountId::is_pooled`]: a merchant's pending balance, the gateways', the platform's)
//! keeps it on PostgreSQL in one shard row per connection, so concurrent payments to one
//! merchant do not queue on one row lock; it is never guarded. [`audit`] proves the kept
//! balances and the postings agree.

use kith_domain::Fen;
use kith_domain::ledger::{AccountId, JournalEntry};
use kith_store::Conn;
use serde::Serialize;

use crate::money::store;
use crate::platform::ids::{OrderId, new_id};
use crate::platform::page::{Page, PageRequest};
use crate::{App, AppError, AppResult, Principal};

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
    let kind = entry.kind().as_str();
    if !store::insert_journal_entry(c, &id, entry.idempotency_key(), kind, refs, now)? {
        return Ok(Posted::Duplicate);
    }
    // An entry names each account once (`JournalEntry` refuses a second posting to one).
    // Its accounts are locked in posting order, as callers that lock one of them first
    // (the points jobs' `lock_available`) expect.
    let moves: Vec<(&AccountId, i64)> = entry
        .postings()
        .iter()
        .map(|p| (&p.account, p.amount_fen))
        .collect();
    move_balances(c, now, &moves, no_overdraft)?;
    store::insert_postings(c, &id, entry.postings())?;
    Ok(Posted::New(id))
}

/// Posts several entries of one transaction together: their rows in one INSERT, their
/// postings in another, and each account's kept balance moved once, by the net of its
/// postings in the entries written (an entry already written under its key is
/// [`Posted::Duplicate`] and moves nothing), in account order. An account in `no_overdraft`
/// whose net is a debit may not go below zero (409 on its field, as in [`post`]). Returns
/// what became of each entry, in the order given.
pub fn post_all(
    c: &mut dyn Conn,
    now: i64,
    entries: &[(&JournalEntry, Refs<'_>)],
    no_overdraft: &[(&AccountId, &str)],
) -> AppResult<Vec<Posted>> {
    if let [(entry, refs)] = entries {
        return Ok(vec![post(c, now, entry, *refs, no_overdraft)?]);
    }
    if entries.is_empty() {
        return Ok(Vec::new());
    }
    let ids: Vec<String> = entries.iter().map(|_| new_id()).collect();
    let rows: Vec<(&str, &str, &str, Refs<'_>)> = entries
        .iter()
        .zip(&ids)
        .map(|((e, refs), id)| (id.as_str(), e.idempotency_key(), e.kind().as_str(), *refs))
        .collect();
    let written = store::insert_journal_entries(c, &rows, now)?;
    let mut net: std::collections::BTreeMap<&AccountId, i64> = std::collections::BTreeMap::new();
    let mut postings = Vec::new();
    let mut out = Vec::with_capacity(entries.len());
    for ((entry, _), id) in entries.iter().zip(&ids) {
        if !written.iter().any(|w| w == id) {
            out.push(Posted::Duplicate);
            continue;
        }
        for p in entry.postings() {
            *net.entry(&p.account).or_default() += p.amount_fen;
            postings.push((id.as_str(), p));
        }
        out.push(Posted::New(id.clone()));
    }
    let moves: Vec<(&AccountId, i64)> = net.into_iter().collect();
    move_balances(c, now, &moves, no_overdraft)?;
    if !postings.is_empty() {
        store::insert_postings_of(c, &postings)?;
    }
    Ok(out)
}

/// Moves each account's kept balance by its amount (`moves`: each account once, in the
/// order its row is locked in on PostgreSQL), through `store::move_balances`: on
/// PostgreSQL one statement for the accounts of one owner and one for the pooled ones
/// ([`AccountId::is_pooled`], kept in shards there), on SQLite one plus one per guarded
/// debit. A debit of an account in `no_overdraft` must find the balance to cover it: 409 on
/// that account's field when it cannot (missing or short, either way; the first such
/// account in `moves` names it). Any other move only adds, opening the account when it is
/// new. A pooled account is never guarded: its balance may be split over rows, none of
/// which alone says whether it covers a debit.
fn move_balances(
    c: &mut dyn Conn,
    now: i64,
    moves: &[(&AccountId, i64)],
    no_overdraft: &[(&AccountId, &str)],
) -> AppResult<()> {
    if moves.is_empty() {
        return Ok(());
    }
    if let Some((a, _)) = no_overdraft.iter().find(|(a, _)| a.is_pooled()) {
        return Err(AppError::Internal(format!(
            "{a} is pooled and cannot be guarded against overdraft"
        )));
    }
    let guarded: Vec<(&str, &str)> = moves
        .iter()
        .filter(|(_, amount)| *amount < 0)
        .filter_map(|(account, _)| {
            no_overdraft
                .iter()
                .find(|(a, _)| a == account)
                .map(|(_, field)| (account.as_str(), *field))
        })
        .collect();
    let (mut own, mut pooled) = (Vec::new(), Vec::new());
    for (account, amount) in moves {
        let to = if account.is_pooled() {
            &mut pooled
        } else {
            &mut own
        };
        to.push((account.as_str(), *amount));
    }
    let ids: Vec<&str> = guarded.iter().map(|(a, _)| *a).collect();
    let refused = store::move_balances(c, &own, &pooled, &ids, now)?;
    match guarded.iter().find(|(a, _)| refused.iter().any(|r| r == a)) {
        Some((_, field)) => Err(AppError::conflict(*field, "insufficient balance")),
        None => Ok(()),
    }
}

/// An account's balance (0 for an account that has never been posted to).
pub fn balance(c: &mut dyn Conn, account: &AccountId) -> AppResult<i64> {
    Ok(store::account_balance(c, account)?.unwrap_or(0))
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
    let lines = store::statement_lines(c, accounts, page)?;
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
    let entries = store::count_entries(c)?;
    let postings = store::count_postings(c)?;
    let unbalanced_entries = store::unbalanced_entries(c)?;
    let mismatched_accounts = store::mismatched_accounts(c)?;
    let total_fen = store::total_money(c)?;
    let total_points = store::total_points(c)?;
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
