//! # Money sharing: the ledger, commission, share links and withdrawals
//!
//! Owns the double-entry ledger ([`ledger`]: every fen moves as one balanced entry with an
//! idempotency key, in the transaction of the change that caused it), commission plans and
//! each order's commission through its states ([`commissions`]), share links, visits,
//! referrer binding and attribution ([`sharing`]), withdrawals and payouts
//! ([`withdrawals`]), the distributor centre's read models ([`distributors`]) and each
//! merchant's settlement with the platform ([`settlement`]: money it took into its own
//! WeChat Pay / Alipay account against commission the platform paid out, and settling-ups).
//!
//! Writes: `ledger_accounts`, `ledger_balance_shards`, `journal_entries`, `postings`, `commission_plans`,
//! `commission_overrides`, `order_attributions`, `order_commissions`, `share_links`,
//! `share_link_merchants`, `share_visits`, `share_signups`, `referrer_bindings`,
//! `withdrawals`, `payout_events`.
//!
//! Surface to commerce and group-buy: `ledger::post` (an entry inside the caller's
//! transaction), `commissions::snapshot` at checkout and the lifecycle hooks
//! `commissions::on_paid | on_delivered | on_refund | on_completed`, which the order
//! lifecycle (`commerce/lifecycle.rs`) calls in its fixed order.
//!
//! Never: imports commerce. Money learns of orders through the hooks commerce calls, with
//! the ids and amounts it needs; it never changes an order's state.

pub mod commissions;
pub mod distributors;
pub mod ledger;
pub mod settlement;
pub mod sharing;
mod store;
pub mod withdrawals;
