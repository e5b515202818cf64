//! # kith-app
//!
//! Application services: one public method per use case. Each use case parses its input
//! into domain types, checks who may do it *to this resource*, and runs in exactly one
//! storage transaction that also writes its outbox event.
//!
//! ## Layout
//! One folder per bounded context; each `mod.rs` says what the context owns, which tables
//! it writes, the small surface other contexts may call, and what it must never touch.
//!
//! - [`platform`]: accounts and sessions, the [`Principal`] and access checks, merchants
//!   and staff, idempotency, rate limits, ids, pages, [`AppError`].
//! - [`events`]: the transactional outbox, the leased job queue with its registry of
//!   handlers, webhooks.
//! - [`social`]: follows and blocks, communities, posts, reviews, media, and the one
//!   visibility rule.
//! - [`money`]: the ledger, commission, share links and attribution, withdrawals,
//!   distributors.
//! - [`commerce`]: catalog, inventory, tiers, stores, cart and orders with their lifecycle
//!   hooks, payments, the shopper's listings.
//! - [`group_buy`]: 拼团 campaigns, groups and seats (an order kind plugged into the order
//!   lifecycle).
//! - [`neighbourhood`]: 社区团购 — leaders (团长) and their pickup points, each member's
//!   chosen leader, 接龙 batches with a cut-off (an order kind plugged into the lifecycle).
//! - [`loyalty`]: points (积分) — the merchant's rule, points earned, frozen, spent,
//!   given back and expired, all on the ledger in accounts of their own.
//! - [`discovery`]: search, the trusted feed, social proof and recommendations.
//! - [`insight`]: the merchant's analytics from the graph and the ledger.
//! - [`notify`]: the notification centre — notifications made from the outbox, the inbox,
//!   preferences, and delivery to WeChat (and SMS) as jobs.
//! - this file: the composition root — [`App`] and its settings; it registers each
//!   context's job handlers and order hooks when the App is built.
//!
//! Dependencies between contexts point one way (the tidy test in `crates/kith-tidy` refuses a
//! cycle): platform ← events ← social ← money ← loyalty ← commerce ← group_buy / neighbourhood, with discovery and
//! insight reading on top.
//!
//! Architecture invariant: no HTTP types here. The HTTP face calls these methods and maps
//! [`AppError`] to problem documents; the CLI calls the same methods.

pub mod commerce;
pub mod discovery;
pub mod events;
pub mod group_buy;
pub mod insight;
pub mod loyalty;
pub mod money;
pub mod neighbourhood;
pub mod notify;
pub mod platform;
pub mod rails;
pub mod social;

use std::sync::Arc;

use kith_domain::Clock;
use kith_store::Db;

pub use platform::auth::Principal;
pub use platform::error::{AppError, AppResult};

/// Settings the rules read. Defaults are the product's defaults; `kith serve` fills them
/// from flags, `KITH_*` variables and `kith.toml`.
#[derive(Debug, Clone)]
pub struct AppConfig {
    /// Orders one member may place per minute, on this server ([`platform::limits`]); 0: no limit.
    pub checkouts_per_minute: u32,
    /// Share links one member may create per minute, on this server; 0: no limit.
    pub shares_per_minute: u32,
    /// How long a login session lasts without being renewed.
    pub session_ttl_secs: i64,
    /// A session unused for this long ends (the idle timeout); 0: only `session_ttl_secs`.
    pub session_idle_secs: i64,
    /// Whether a sign-up with a password must prove its mobile number with an SMS code
    /// (`Registration::code`): then registering says nothing about whether a number has an
    /// account to anyone who does not hold it. On by default when an SMS provider is set.
    pub signup_phone_code: bool,
    /// Sign-ups from one client address in an hour before each further one must carry a
    /// solved challenge; 0: never asked.
    pub signup_challenge_after: u32,
    /// Sign-ups from one browser (its device cookie) in a day before a challenge is asked;
    /// 0: never asked.
    pub signup_device_challenge_after: u32,
    /// Sign-ups from one client address in an hour past which none is taken, challenge or
    /// not (429); 0: no cap.
    pub signups_per_hour: u32,
    /// Wrong pickup codes one clerk may enter in 15 minutes, and (×3) one store's clerks
    /// together, before further redemptions get 429; 0: no limit.
    pub pickup_failures_per_clerk: u32,
    /// Failed logins allowed per account (and, separately, per client address ×5) inside
    /// the window before further attempts get 429.
    pub login_max_failures: i64,
    pub login_window_secs: i64,
    /// How long a stored `Idempotency-Key` response is replayed.
    pub idempotency_ttl_secs: i64,
    /// How long a staff or clerk invitation can be accepted.
    pub invitation_ttl_secs: i64,
    /// Webhook deliveries are tried this many times, with exponential backoff, before
    /// they are marked failed.
    pub webhook_max_attempts: i64,
    /// First retry delay; each later one doubles, capped at `webhook_backoff_max_secs`.
    pub webhook_backoff_base_secs: i64,
    pub webhook_backoff_max_secs: i64,
    /// Timeout of one webhook HTTP request.
    pub webhook_timeout_secs: u64,
    /// Allow webhook URLs on loopback and private addresses (tests and the demo); off in
    /// production so a merchant cannot make kith call into the operator's network.
    pub webhook_allow_private: bool,
    /// Deliveries to one endpoint in flight at once, across every server sharing the
    /// database (counted at claim time); 0: no limit.
    pub webhook_max_in_flight_per_endpoint: i64,
    /// Deliveries to one merchant's endpoints in flight at once, across every server; 0: no
    /// limit.
    pub webhook_max_in_flight_per_merchant: i64,
    /// An endpoint is disabled (and the merchant told) once it has failed this many
    /// deliveries in a row **and** has been failing for `webhook_disable_after_secs`.
    pub webhook_disable_after_failures: i64,
    pub webhook_disable_after_secs: i64,
    /// Timer and money jobs (order expiry, completion, group expiry) one server runs at
    /// once, in their own pool.
    pub worker_core_concurrency: usize,
    /// Webhook deliveries one server has in flight at once, in their own pool.
    pub worker_delivery_concurrency: usize,
    /// Whether the sandbox gateway (and sandbox carrier) is served. It takes no real money,
    /// so a production server must not offer it: `kith serve` turns it on only with
    /// `--demo` or `--sandbox-payments`.
    pub sandbox_enabled: bool,
    /// Secret the sandbox gateway signs its callbacks with. Random per process unless set,
    /// so nobody outside can forge a sandbox callback.
    pub sandbox_secret: String,
    /// Per-carrier secrets for tracking callbacks (`carrier code → secret`). The `sandbox`
    /// carrier is always known (with `sandbox_secret`) for demos and tests.
    pub carrier_secrets: Vec<(String, String)>,
    /// The parcel-tracking provider account (快递100), when set: shipments with carriers it
    /// follows are subscribed and its pushes deliver orders (`commerce::tracking`).
    pub kuaidi100: Option<commerce::tracking::kuaidi100::Kuaidi100Config>,
    /// Callbacks whose signed timestamp is further than this from now are refused (replay).
    pub callback_tolerance_secs: i64,
    /// Where this server is reachable, e.g. `https://shop.example.com`; the sandbox gateway
    /// calls the payment webhook here. Defaults to the listening address.
    pub public_url: String,
    /// Where uploaded media live (content-addressed files); `<data dir>/media` by default.
    pub media_dir: std::path::PathBuf,
    /// `https://` hosts (`host` or `host:port`, lower-case) product images may come from,
    /// besides the merchant's own uploads; none by default. This server's own host is
    /// refused whatever the list says ([`commerce::catalog::ImageSources`]).
    pub image_hosts: Vec<String>,
    /// Unpaid orders one member may have open at one merchant at once (every kind of
    /// order counts; checkout is refused beyond it); 0: no limit. Each one holds stock
    /// from other buyers until it is paid or expires.
    pub max_unpaid_orders: u32,
    /// Units of one SKU one member may hold in unpaid orders at once, the new order
    /// included; 0: no limit. Stops one unpaid order reserving a product's whole stock.
    pub max_unpaid_units_per_sku: u32,
    /// WeChat sign-in (公众号 网页授权), when configured ([`platform::identities`]). The
    /// callback WeChat returns to is `{public_url}/auth/wechat/callback`.
    pub wechat: Option<platform::wechat::WeChatConfig>,
    /// The SMS provider and the one-time-code limits ([`platform::sms`]).
    pub sms: platform::sms::SmsConfig,
    /// The WeChat 公众号 notifications go out from ([`notify::wechat`]); `None`: the WeChat
    /// channel is off.
    /// The SMS template of each notification kind sent by SMS (`notify::sms`); empty:
    /// no SMS notifications.
    pub sms_notify_templates: Vec<(notify::Kind, String)>,
    pub wechat_notify: Option<notify::WechatNotifyConfig>,
    /// The key payment credentials are sealed under at rest ([`rails::secrets`]); `None`:
    /// entering credentials is refused.
    pub secret_key: Option<rails::secrets::SecretKey>,
    /// WeChat Pay API v3's base URL (tests point it at a local server).
    pub wechatpay_base_url: String,
    /// The Alipay open platform gateway (`https://openapi.alipay.com/gateway.do`; tests
    /// point it at a local gateway).
    pub alipay_gateway: String,
}

impl Default for AppConfig {
    fn default() -> Self {
        Self {
            checkouts_per_minute: 30,
            shares_per_minute: 60,
            session_ttl_secs: 30 * 24 * 3600,
            session_idle_secs: 7 * 24 * 3600,
            signup_phone_code: false,
            signup_challenge_after: 5,
            signup_device_challenge_after: 3,
            signups_per_hour: 50,
            pickup_failures_per_clerk: 10,
            login_max_failures: 10,
            login_window_secs: 15 * 60,
            idempotency_ttl_secs: 24 * 3600,
            invitation_ttl_secs: 7 * 24 * 3600,
            webhook_max_attempts: 12,
            webhook_backoff_base_secs: 10,
            webhook_backoff_max_secs: 6 * 3600,
            webhook_timeout_secs: 10,
            webhook_allow_private: false,
            webhook_max_in_flight_per_endpoint: 4,
            webhook_max_in_flight_per_merchant: 8,
            webhook_disable_after_failures: 20,
            webhook_disable_after_secs: 3 * 24 * 3600,
            worker_core_concurrency: 8,
            worker_delivery_concurrency: 32,
            sandbox_enabled: true,
            sandbox_secret: platform::ids::new_secret("sbx_"),
            carrier_secrets: Vec::new(),
            kuaidi100: None,
            callback_tolerance_secs: 300,
            public_url: "http://127.0.0.1:8080".to_owned(),
            media_dir: std::path::PathBuf::from("kith-data/media"),
            image_hosts: Vec::new(),
            max_unpaid_orders: 5,
            max_unpaid_units_per_sku: 20,
            wechat: None,
            sms: platform::sms::SmsConfig::default(),
            wechat_notify: None,
            sms_notify_templates: Vec::new(),
            secret_key: None,
            wechatpay_base_url: "https://api.mch.weixin.qq.com".to_owned(),
            alipay_gateway: rails::alipay::GATEWAY.to_owned(),
        }
    }
}

/// The application: storage, clock and settings. Cheap to clone.
#[derive(Clone, Debug)]
pub struct App {
    pub db: Db,
    pub clock: Arc<dyn Clock>,
    pub config: Arc<AppConfig>,
    /// This server's search index (see [`discovery::search`]), attached at start-up.
    pub search: discovery::search::SearchHandle,
    /// Insight's graph snapshots, rebuilt off the request path ([`insight`]).
    pub insight: Arc<insight::GraphCache>,
    /// Rate limit windows kept in this process ([`platform::limits`]; SQLite only).
    pub limits: Arc<platform::limits::MemberLimits>,
    /// The proof-of-work key ([`platform::challenge`]), read from storage once.
    pub challenge_key: Arc<std::sync::OnceLock<Vec<u8>>>,
    /// The background job kinds this server runs, each context's registered here.
    pub jobs: Arc<events::jobs::JobRegistry>,
    /// The kinds of order beyond the ordinary one, hooked into every order's life.
    pub lifecycle: Arc<commerce::lifecycle::Lifecycle>,
    /// The SMS provider ([`platform::sms`]), built from `config.sms`.
    pub sms: Arc<dyn platform::sms::SmsProvider>,
    /// The notification centre's memory in this process: the outbox hole being waited
    /// for, the channels' adapters and the WeChat access token ([`notify`]).
    pub notify: Arc<notify::NotifyState>,
}

impl App {
    pub fn new(db: Db, clock: Arc<dyn Clock>, config: AppConfig) -> Self {
        let sms = platform::sms::provider(&config.sms, clock.clone());
        Self {
            sms,
            db,
            clock,
            config: Arc::new(config),
            search: discovery::search::SearchHandle::default(),
            insight: Arc::default(),
            limits: Arc::default(),
            challenge_key: Arc::default(),
            jobs: Arc::new(job_registry()),
            lifecycle: Arc::new(order_kinds()),
            notify: Arc::new(notify::NotifyState::default()),
        }
    }

    pub fn now_ms(&self) -> i64 {
        self.clock.now_ms()
    }
}

/// Every context's background jobs. The queue ([`events::jobs`]) runs what is registered
/// here and knows nothing else, so the contexts that schedule work depend on events, never
/// the other way round.
fn job_registry() -> events::jobs::JobRegistry {
    let mut jobs = events::jobs::JobRegistry::default();
    events::webhooks::register_jobs(&mut jobs);
    commerce::fulfilment::register_jobs(&mut jobs);
    commerce::tracking::register_jobs(&mut jobs);
    commerce::aftersale::register_jobs(&mut jobs);
    commerce::refunds::register_jobs(&mut jobs);
    group_buy::register_jobs(&mut jobs);
    neighbourhood::register_jobs(&mut jobs);
    rails::wechatpay::register_jobs(&mut jobs);
    rails::reconcile::register_jobs(&mut jobs);
    rails::alipay::register_jobs(&mut jobs);
    notify::register_jobs(&mut jobs);
    loyalty::register_jobs(&mut jobs);
    jobs
}

/// Every kind of order beyond the ordinary one. The order lifecycle
/// ([`commerce::lifecycle`]) calls their hooks, so commerce never imports them.
fn order_kinds() -> commerce::lifecycle::Lifecycle {
    let mut kinds = commerce::lifecycle::Lifecycle::default();
    kinds.register(group_buy::GroupSeats);
    kinds.register(neighbourhood::BatchOrders);
    kinds
}

/// Unix milliseconds → RFC 3339 (`2026-11-22T14:10:44.123Z`), the API's time format.
pub fn rfc3339(ms: i64) -> String {
    let t = time::OffsetDateTime::from_unix_timestamp_nanos(i128::from(ms) * 1_000_000)
        .unwrap_or(time::OffsetDateTime::UNIX_EPOCH);
    t.format(&time::format_description::well_known::Rfc3339)
        .unwrap_or_default()
}
