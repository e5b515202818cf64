//! Reliability and security stories: abuse paths (hoarding, invites, foreign images, draft SKUs), guards against automation (challenges, trusted proxies, timeouts, idle sessions), the access matrix, hostile input, crash recovery, backup, limits, operations, webhooks (with fair background work and SSRF), accounts.
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
#[path = "../support/worlds.rs"]
mod worlds;

mod abuse;
mod access;
mod accounts;
mod backup;
mod crash;
mod fairness;
mod guard;
mod hostile;
mod limits;
mod matrix;
mod notifications;
mod ops;
mod phones;
mod sms;
mod sms_providers;
mod webhooks;
