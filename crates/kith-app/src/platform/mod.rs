//! # Platform: who is asking, and the plumbing every context stands on
//!
//! Owns accounts and sessions ([`accounts`]), the principal and access checks ([`auth`]),
//! merchants with their staff and invitations ([`merchants`]), stored `Idempotency-Key`
//! responses ([`idempotency`]), the transactional outbox every context writes its events to
//! ([`outbox`]), per-member rate windows ([`limits`]), ids and secrets
//! ([`ids`]), keyset pages ([`page`]) and the one application error ([`error`]).
//!
//! Writes: `accounts`, `sessions`, `login_failures`, `merchants`, `merchant_staff`,
//! `invitations`, `store_clerks` (a clerk's invitation is accepted here), `idempotency_keys`,
//! `outbox`.
//!
//! Surface to the other contexts: [`auth::Principal`] and its checks, [`error::AppError`],
//! [`ids::new_id`], [`page::PageRequest`]/[`page::Page`], [`outbox::emit`] (inside the
//! caller's transaction), `accounts::insert_account` and
//! `accounts::parse_registration` (sign-up through a share link), `merchants` lookups.
//!
//! Never: imports another context of kith-app. Everything else depends on this one, so a
//! reference from here to commerce or money would be a cycle (the tidy test refuses it).

pub mod accounts;
pub mod auth;
pub mod error;
pub mod idempotency;
pub mod ids;
pub mod limits;
pub mod merchants;
pub mod outbox;
pub mod page;
