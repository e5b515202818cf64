//! # Events: the outbox, the job queue and webhooks
//!
//! Owns the transactional outbox ([`outbox`]: every state change writes its event in its own
//! transaction), the leased job queue and the runner that works it ([`jobs`]), and merchants'
//! webhook endpoints with their signed, retried deliveries ([`webhooks`]).
//!
//! Writes: `outbox`, `jobs`, `webhook_endpoints`, `webhook_deliveries`, `webhook_attempts`.
//!
//! Surface: `outbox::append` (called inside the caller's transaction), `jobs::enqueue` with a
//! typed [`jobs::Job`], and the [`jobs::JobRegistry`] that the other contexts fill with
//! their handlers when the [`crate::App`] is built.
//!
//! Never: imports a use case. The runner knows job *kinds* and the handlers registered for
//! them, not orders or group-buys; that is what keeps this context at the bottom of the
//! graph beside platform.

pub mod jobs;
pub mod outbox;
pub mod webhooks;
