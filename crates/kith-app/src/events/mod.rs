//! # Events: background work and delivery to the outside
//!
//! Owns the leased job queue and the runner that works it ([`jobs`]), and merchants' webhook
//! endpoints with their signed, retried deliveries ([`webhooks`]), which turn the outbox
//! (written by every context through [`crate::platform::outbox`]) into HTTP calls.
//!
//! Writes: `jobs`, `webhook_endpoints`, `webhook_deliveries`, `webhook_attempts`, and
//! `outbox.dispatched_at` (a row handed to webhooks).
//!
//! Surface: [`jobs::enqueue`] with a typed [`jobs::Job`] (inside the caller's transaction),
//! and the [`jobs::JobRegistry`] that the other contexts fill with their handlers when the
//! [`crate::App`] is built.
//!
//! Never: imports a use case of another context. The runner knows job *kinds* and the
//! handlers registered for them, not orders or group-buys; that keeps this context low in
//! the graph, right above platform.

pub mod jobs;
pub mod webhooks;
