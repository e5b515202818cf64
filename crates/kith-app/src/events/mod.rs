//! # Events: background work and delivery to the outside
//!
//! Owns the leased job queue and the runner that works it ([`jobs`]), and merchants' webhook
//! endpoints with their signed, retried deliveries ([`webhooks`]), which turn the outbox
//! (written by every context through [`crate::platform::outbox`]) into HTTP calls.
//!
//! The runner is fair: each job kind has a lane (`core` for timers and money, `delivery`
//! for webhook requests), each lane its own continuously refilled, bounded pool, so no
//! delivery can delay an order's timer; deliveries are limited per endpoint and per
//! merchant at claim time, across servers. Webhook requests only ever connect to public
//! addresses, checked when the name is resolved at connect time.
//!
//! Writes: `jobs`, `job_lanes` (locked only, to serialise limited claims), `webhook_endpoints`,
//! `webhook_deliveries`, `webhook_attempts`, and `outbox.dispatched_at` (a row handed to
//! webhooks).
//!
//! Surface: [`jobs::enqueue`] with a typed [`jobs::Job`] (inside the caller's transaction;
//! a kind picks its [`jobs::Lane`], core by default), and the [`jobs::JobRegistry`] that the
//! other contexts fill with their handlers when the [`crate::App`] is built.
//!
//! Never: imports a use case of another context. The runner knows job *kinds* and the
//! handlers registered for them, not orders or group-buys; that keeps this context low in
//! the graph, right above platform.

pub mod jobs;
mod store;
pub mod webhooks;
