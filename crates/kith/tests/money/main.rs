//! Money-sharing stories: share links, binding, attribution, commission, withdrawals, insight.
//!
//! Each story spawns the real server (the same `Application` as `kith serve`) on port 0,
//! against a fresh SQLite directory or a fresh PostgreSQL database, and talks to it over
//! HTTP. The harness and the shared worlds live in `tests/support/`, compiled into each
//! binary from one source.

// Shared by every test binary; each uses a part of it.
#[path = "../support/builders.rs"]
mod builders;
#[allow(dead_code)]
#[path = "../support/harness.rs"]
mod harness;
#[allow(dead_code)]
#[path = "../support/web.rs"]
mod web;
#[path = "../support/worlds.rs"]
mod worlds;

mod alipay;
mod alipay_reconcile;
mod commissions;
mod insight;
mod ledger;
mod reconcile;
mod sharing;
mod wechat_transfer;
mod wechatpay;
mod withdrawals;
