//! # Platform: who is asking, and the plumbing every context stands on
//!
//! Owns accounts and sessions ([`accounts`]), the principal and access checks ([`auth`]),
//! merchants with their staff and invitations ([`merchants`]), stored `Idempotency-Key`
//! responses ([`idempotency`]), the transactional outbox every context writes its events to
//! ([`outbox`]), rate windows ([`limits`]), proof-of-work challenges for logins and
//! sign-ups that look automated ([`challenge`]), ids and secrets
//! ([`ids`]), keyset pages ([`page`]), the one RFC 3339 time parser ([`times`]), the sandbox gateway's signed calls to this server's
//! own webhooks ([`sandbox`]), OpenAPI fragments for word-list fields ([`schema`]) and the one
//! application error ([`error`]).
//! Signing in with WeChat: the 公众号 OAuth client ([`wechat`]) and the external identities
//! linked to accounts, with the OAuth states, spent codes and pending identities of the
//! flow ([`identities`]).
//! Pictures of shops and members — a merchant's logo and banner, a member's avatar — and
//! the [`pictures::MediaRef`] every view carries ([`pictures`]).
//!
//! Writes: `accounts`, `sessions`, `login_failures`, `merchants`, `merchant_staff`,
//! `invitations`, `store_clerks` (a clerk's invitation is accepted here), `idempotency_keys`,
//! `outbox`, `rate_windows`, `platform_secrets`, `spent_challenges`, `external_identities`,
//! `oauth_states`, `oauth_used_codes`, `pending_identities`, `sms_codes`.
//!
//! Surface to the other contexts: [`auth::Principal`] and its checks, [`error::AppError`],
//! [`ids::new_id`], [`page::PageRequest`]/[`page::Page`], [`outbox::emit`] (inside the
//! caller's transaction), `accounts::insert_account` and
//! `accounts::parse_registration` (sign-up through a share link), `merchants` lookups,
//! [`sms::SmsProvider`] (`App::sms`: template messages, for notifications too) and
//! `App::verify_phone_code` (binding a phone).
//!
//! Never: imports another context of kith-app. Everything else depends on this one, so a
//! reference from here to commerce or money would be a cycle (the tidy test refuses it).

pub mod accounts;
pub mod auth;
pub mod challenge;
pub mod error;
pub mod idempotency;
pub mod identities;
pub mod ids;
pub mod limits;
pub mod merchants;
pub mod outbox;
pub mod page;
pub mod pictures;
pub mod sandbox;
pub mod schema;
pub mod sms;
mod store;
pub mod times;
pub mod wechat;

use crate::{App, AppResult};

/// How often [`run_sweeper`] clears expired rows.
const SWEEP_EVERY: std::time::Duration = std::time::Duration::from_secs(600);

impl App {
    /// Deletes what has expired in the platform's tables: stored idempotent responses,
    /// rate windows, spent challenges, and failed logins older than the throttling window.
    /// Returns the rows deleted.
    pub async fn platform_sweep(&self) -> AppResult<u64> {
        let mut n = self.idempotency_sweep().await?;
        n += self.rate_sweep().await?;
        n += self.challenge_sweep().await?;
        n += self.identities_sweep().await?;
        n += self.sms_sweep().await?;
        let before = self.now_ms() - self.config.login_window_secs.saturating_mul(1000);
        n += self
            .db
            .write(move |c| store::sweep_login_failures(c, before))
            .await?;
        Ok(n)
    }
}

/// Runs [`App::platform_sweep`] every ten minutes until `shutdown` becomes true (or its
/// sender is dropped). Every server may run it; the deletes are idempotent.
pub async fn run_sweeper(app: App, mut shutdown: tokio::sync::watch::Receiver<bool>) {
    loop {
        if *shutdown.borrow() {
            break;
        }
        match app.platform_sweep().await {
            Ok(n) if n > 0 => tracing::debug!(rows = n, "swept expired platform rows"),
            Ok(_) => {}
            Err(e) => tracing::warn!(error = %e, "platform sweep failed"),
        }
        tokio::select! {
            () = tokio::time::sleep(SWEEP_EVERY) => {}
            changed = shutdown.changed() => {
                if changed.is_err() {
                    break;
                }
            }
        }
    }
}
