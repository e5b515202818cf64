//! Outside money rails: the payment providers kith does not run itself (WeChat Pay API v3
//! and Alipay), the credentials each owner holds with them, and their signed
//! notifications.
//!
//! - [`secrets`]: credentials at rest are sealed with AES-256-GCM under the server's
//!   `secret_key` (`KITH_SECRET_KEY`); without that key, entering credentials is refused.
//! - [`credentials`]: per owner (a merchant, or [`PLATFORM`] for wallet top-ups and
//!   payouts) and provider, one sealed row in `rail_credentials`. Only fingerprints ever
//!   leave this module (the API and pages show serials, ids and SHA-256 prefixes); the
//!   secrets' `Debug` is redacted so they are never logged.
//! - [`wechatpay`]: the API v3 adapter — request signing (`WECHATPAY2-SHA256-RSA2048`),
//!   response and notification verification with the platform certificate named by
//!   `Wechatpay-Serial` (downloaded from WeChat Pay by kith, [`wechatpay::certificates`]), AEAD_AES_256_GCM resource decryption, JSAPI / H5 / Native orders
//!   and the order query; its daily trade bill ([`wechatpay::bill`]).
//! - [`reconcile`]: reconciliation (对账) — each owner's day at each provider matched line
//!   by line with kith's payments and refunds, mismatches reported; a daily job per owner.
//! - [`alipay`]: the Alipay open-platform adapter — RSA2 request signing and answer
//!   verification, wap / page / QR (precreate) pay, the asynchronous notification, the
//!   trade query, refunds, and payouts by transfer (`alipay.fund.trans.uni.transfer`).
//! - [`payouts`]: approving a withdrawal picks its payout rail (Alipay or the sandbox).
//!
//! Writes `rail_credentials`, `rail_platform_certificates`, `rail_certificate_refresh`, and
//! the provider columns of `payments` (`provider_txn`, `pay_link`, `rail_owner`); an Alipay payout settles the withdrawal through
//! `money::withdrawals::settle_payout`. A confirmed payment is applied through commerce's one
//! callback path (`commerce::payments::apply_callback`), so the ledger, the order's life
//! and the outbox move exactly as for the sandbox gateway. This module never posts to the
//! ledger itself and never touches orders directly.

pub mod alipay;
pub mod credentials;
pub mod payouts;
pub mod reconcile;
pub mod secrets;
pub(crate) mod store;
pub mod wechatpay;

/// The owner name of the platform's own provider account (wallet top-ups, payouts).
pub const PLATFORM: &str = "platform";
