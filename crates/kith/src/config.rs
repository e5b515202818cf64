//! Settings: one typed struct, filled from (highest first) command-line flags, `KITH_*`
//! environment variables, an optional `kith.toml`, and the defaults below. Every setting is
//! documented where it is declared; the README lists them. Secrets (the database URL's
//! password) are never logged: [`kith_store::Db::describe`] redacts them.

use std::net::SocketAddr;
use std::path::{Path, PathBuf};

use clap::Args;
use serde::Deserialize;

/// Flags (and their environment variables) shared by every command that opens storage.
#[derive(Debug, Clone, Default, Args)]
pub struct StorageArgs {
    /// Directory of the embedded SQLite database (`kith.db`) [default: ./kith-data].
    #[arg(long, env = "KITH_DATA_DIR")]
    pub data_dir: Option<PathBuf>,
    /// Run on PostgreSQL instead of SQLite: `postgres://user:pass@host:5432/db`.
    #[arg(long, env = "KITH_DATABASE_URL")]
    pub database_url: Option<String>,
    /// SQLite durability: `normal` (survives a process crash; default) or `full`
    /// (also survives power loss, slower commits).
    #[arg(long, env = "KITH_SQLITE_SYNC")]
    pub sqlite_sync: Option<String>,
    /// PostgreSQL connections (default 16), or SQLite read connections (default 4; writes
    /// go through the one writer connection).
    #[arg(long, env = "KITH_POOL_SIZE")]
    pub pool_size: Option<usize>,
    /// Settings file [default: ./kith.toml when it exists].
    #[arg(long, env = "KITH_CONFIG")]
    pub config: Option<PathBuf>,
}

/// Flags of `kith serve`.
#[derive(Debug, Clone, Default, Args)]
pub struct ServeArgs {
    #[command(flatten)]
    pub storage: StorageArgs,
    /// Address to listen on [default: 127.0.0.1:8080].
    #[arg(long, env = "KITH_LISTEN")]
    pub listen: Option<SocketAddr>,
    /// Largest request body in KiB (default 1024).
    #[arg(long, env = "KITH_BODY_LIMIT_KIB")]
    pub body_limit_kib: Option<usize>,
    /// Mark the session cookie Secure (serve behind HTTPS).
    #[arg(long, env = "KITH_COOKIE_SECURE")]
    pub cookie_secure: Option<bool>,
    /// Hours a login session lasts (default 720 = 30 days).
    #[arg(long, env = "KITH_SESSION_TTL_HOURS")]
    pub session_ttl_hours: Option<i64>,
    /// Let merchants register webhook URLs on loopback/private addresses (tests, demos).
    #[arg(long, env = "KITH_WEBHOOK_ALLOW_PRIVATE")]
    pub webhook_allow_private: Option<bool>,
    /// Run background jobs (outbox dispatch, webhook delivery) in this process (default true).
    #[arg(long, env = "KITH_WORKERS")]
    pub workers: Option<bool>,
    /// Webhook deliveries in flight at once per endpoint, across every server (0: no
    /// limit) [default: 4].
    #[arg(long, env = "KITH_WEBHOOK_MAX_IN_FLIGHT_PER_ENDPOINT")]
    pub webhook_max_in_flight_per_endpoint: Option<i64>,
    /// Webhook deliveries in flight at once per merchant, across every server (0: no
    /// limit) [default: 8].
    #[arg(long, env = "KITH_WEBHOOK_MAX_IN_FLIGHT_PER_MERCHANT")]
    pub webhook_max_in_flight_per_merchant: Option<i64>,
    /// Disable a webhook endpoint after this many failed deliveries in a row… [default: 20].
    #[arg(long, env = "KITH_WEBHOOK_DISABLE_AFTER_FAILURES")]
    pub webhook_disable_after_failures: Option<i64>,
    /// …once it has been failing for this many hours [default: 72].
    #[arg(long, env = "KITH_WEBHOOK_DISABLE_AFTER_HOURS")]
    pub webhook_disable_after_hours: Option<i64>,
    /// Webhook deliveries one server runs at once [default: 32].
    #[arg(long, env = "KITH_WORKER_DELIVERY_CONCURRENCY")]
    pub worker_delivery_concurrency: Option<usize>,
    /// Timer jobs (order expiry, completion, group expiry) one server runs at once, in a
    /// pool of their own [default: 8].
    #[arg(long, env = "KITH_WORKER_CORE_CONCURRENCY")]
    pub worker_core_concurrency: Option<usize>,
    /// Where this server is reachable from outside, e.g. `https://shop.example.com`
    /// (pay links, the sandbox gateway's callbacks) [default: http://<listen address>].
    #[arg(long, env = "KITH_PUBLIC_URL")]
    pub public_url: Option<String>,
    /// Serve the sandbox payment gateway (takes no real money: demos and tests only)
    /// [default: on with --demo, off otherwise].
    #[arg(long, env = "KITH_SANDBOX_PAYMENTS")]
    pub sandbox_payments: Option<bool>,
    /// Secret of the sandbox payment gateway and sandbox carrier callbacks [default:
    /// random per process].
    #[arg(long, env = "KITH_SANDBOX_SECRET", hide_env_values = true)]
    pub sandbox_secret: Option<String>,
    /// The key payment credentials are sealed under at rest: 32 bytes as 64 hex digits or
    /// base64 [default: none, so no credentials can be entered; with --demo a random one].
    #[arg(long, env = "KITH_SECRET_KEY", hide_env_values = true)]
    pub secret_key: Option<String>,
    /// WeChat Pay API v3's base URL [default: https://api.mch.weixin.qq.com].
    #[arg(long, env = "KITH_WECHATPAY_BASE_URL")]
    pub wechatpay_base_url: Option<String>,
    /// The Alipay open platform gateway [default: https://openapi.alipay.com/gateway.do].
    #[arg(long, env = "KITH_ALIPAY_GATEWAY")]
    pub alipay_gateway: Option<String>,
    /// Carrier callback secrets, `code=secret` pairs separated by commas (`sf=…,zto=…`).
    #[arg(long, env = "KITH_CARRIER_SECRETS", hide_env_values = true)]
    pub carrier_secrets: Option<String>,
    /// The 快递100 authorisation key: shipments with carriers it follows are subscribed
    /// and its pushes deliver orders [default: none, no tracking provider].
    #[arg(long, env = "KITH_KUAIDI100_KEY", hide_env_values = true)]
    pub kuaidi100_key: Option<String>,
    /// Where 快递100's API is [default: https://poll.kuaidi100.com; tests point it at a
    /// local server].
    #[arg(long, env = "KITH_KUAIDI100_API_BASE")]
    pub kuaidi100_api_base: Option<String>,
    /// Orders one member may place per minute (0: no limit) [default: 30].
    #[arg(long, env = "KITH_CHECKOUTS_PER_MINUTE")]
    pub checkouts_per_minute: Option<u32>,
    /// Share links one member may create per minute (0: no limit) [default: 60].
    #[arg(long, env = "KITH_SHARES_PER_MINUTE")]
    pub shares_per_minute: Option<u32>,
    /// Proxies (addresses or CIDR blocks, comma-separated) whose `X-Forwarded-For` names
    /// the client; throttling keys on that address [default: none, the peer is the client].
    #[arg(long, env = "KITH_TRUSTED_PROXIES")]
    pub trusted_proxies: Option<String>,
    /// Seconds a connection has to send a request's whole header [default: 10].
    #[arg(long, env = "KITH_HEADER_TIMEOUT_SECS")]
    pub header_timeout_secs: Option<u64>,
    /// Seconds a request body may pause between two pieces before the request fails with
    /// 408 [default: 30].
    #[arg(long, env = "KITH_BODY_TIMEOUT_SECS")]
    pub body_timeout_secs: Option<u64>,
    /// Hours a session may go unused before it ends (0: only the session TTL) [default: 168].
    #[arg(long, env = "KITH_SESSION_IDLE_HOURS")]
    pub session_idle_hours: Option<i64>,
    /// Whether a sign-up with a password must prove its mobile number with an SMS code
    /// (no account enumeration) [default: true when an SMS provider is set].
    #[arg(long, env = "KITH_SIGNUP_PHONE_CODE")]
    pub signup_phone_code: Option<bool>,
    /// Sign-ups from one address in an hour before each must solve a challenge (0: never)
    /// [default: 5].
    #[arg(long, env = "KITH_SIGNUP_CHALLENGE_AFTER")]
    pub signup_challenge_after: Option<u32>,
    /// Sign-ups from one browser in a day before each must solve a challenge (0: never)
    /// [default: 3].
    #[arg(long, env = "KITH_SIGNUP_DEVICE_CHALLENGE_AFTER")]
    pub signup_device_challenge_after: Option<u32>,
    /// Sign-ups from one address in an hour past which none is taken (0: no cap) [default: 50].
    #[arg(long, env = "KITH_SIGNUPS_PER_HOUR")]
    pub signups_per_hour: Option<u32>,
    /// `https://` hosts product images may come from besides the merchant's own uploads,
    /// comma-separated (`img.example-cdn.com,cdn.example.com:8443`) [default: none].
    /// This server's own host is never allowed.
    #[arg(long, env = "KITH_IMAGE_HOSTS")]
    pub image_hosts: Option<String>,
    /// Unpaid orders one member may have open at one merchant (0: no limit) [default: 5].
    #[arg(long, env = "KITH_MAX_UNPAID_ORDERS")]
    pub max_unpaid_orders: Option<u32>,
    /// Units of one SKU one member may hold in unpaid orders (0: no limit) [default: 20].
    #[arg(long, env = "KITH_MAX_UNPAID_UNITS_PER_SKU")]
    pub max_unpaid_units_per_sku: Option<u32>,
    /// WeChat sign-in: the 公众号's AppID (`wx…`); with the secret, turns 微信登录 on. The
    /// callback to register with WeChat is `<public_url>/auth/wechat/callback`.
    #[arg(long, env = "KITH_WECHAT_APP_ID")]
    pub wechat_app_id: Option<String>,
    /// WeChat sign-in: the 公众号's AppSecret (never logged).
    #[arg(long, env = "KITH_WECHAT_APP_SECRET", hide_env_values = true)]
    pub wechat_app_secret: Option<String>,
    /// WeChat sign-in scope: `snsapi_userinfo` (nickname and avatar, a consent page) or
    /// `snsapi_base` (silent, openid only) [default: snsapi_userinfo].
    #[arg(long, env = "KITH_WECHAT_SCOPE")]
    pub wechat_scope: Option<String>,
    /// Base URL of WeChat's authorize page [default: https://open.weixin.qq.com].
    #[arg(long, env = "KITH_WECHAT_AUTHORIZE_BASE")]
    pub wechat_authorize_base: Option<String>,
    /// Base URL of WeChat's API [default: https://api.weixin.qq.com].
    #[arg(long, env = "KITH_WECHAT_API_BASE")]
    pub wechat_api_base: Option<String>,
    /// Who sends SMS codes: `console` (the server log: development and the demo),
    /// `aliyun` or `tencent` [default: console with --demo, else none — codes cannot be
    /// asked for].
    #[arg(long, env = "KITH_SMS_PROVIDER")]
    pub sms_provider: Option<String>,
    /// The provider's API base URL [default: https://dysmsapi.aliyuncs.com or
    /// https://sms.tencentcloudapi.com].
    #[arg(long, env = "KITH_SMS_ENDPOINT")]
    pub sms_endpoint: Option<String>,
    /// Aliyun AccessKey ID, or Tencent SecretId.
    #[arg(long, env = "KITH_SMS_ACCESS_KEY_ID")]
    pub sms_access_key_id: Option<String>,
    /// Aliyun AccessKey secret, or Tencent SecretKey (never logged).
    #[arg(long, env = "KITH_SMS_ACCESS_KEY_SECRET", hide_env_values = true)]
    pub sms_access_key_secret: Option<String>,
    /// The approved SMS signature (短信签名).
    #[arg(long, env = "KITH_SMS_SIGN_NAME")]
    pub sms_sign_name: Option<String>,
    /// The provider's template for one-time codes, with one parameter `code` (Aliyun
    /// `SMS_…`; Tencent the template id, `{1}`).
    #[arg(long, env = "KITH_SMS_CODE_TEMPLATE")]
    pub sms_code_template: Option<String>,
    /// Tencent only: the SMS application's SdkAppId.
    #[arg(long, env = "KITH_SMS_SDK_APP_ID")]
    pub sms_sdk_app_id: Option<String>,
    /// The provider's region [default: cn-hangzhou (Aliyun), ap-guangzhou (Tencent)].
    #[arg(long, env = "KITH_SMS_REGION")]
    pub sms_region: Option<String>,
    /// SMS codes one client address may ask for in an hour (0: no limit) [default: 30].
    #[arg(long, env = "KITH_SMS_CODES_PER_ADDRESS_HOUR")]
    pub sms_codes_per_address_hour: Option<u32>,
    /// SMS codes one number may be sent in a day (0: no limit) [default: 10].
    #[arg(long, env = "KITH_SMS_CODES_PER_PHONE_DAY")]
    pub sms_codes_per_phone_day: Option<u32>,
    /// The WeChat 公众号 AppID notifications are sent from (订阅通知); without it and its
    /// secret the WeChat channel is off [default: none].
    #[arg(long, env = "KITH_WECHAT_NOTIFY_APPID")]
    pub wechat_notify_appid: Option<String>,
    /// The 公众号's AppSecret for the access token.
    #[arg(long, env = "KITH_WECHAT_NOTIFY_SECRET", hide_env_values = true)]
    pub wechat_notify_secret: Option<String>,
    /// Subscribe-message template per notification kind, comma-separated
    /// (`order_shipped=TEMPLATE_ID,group_succeeded=TEMPLATE_ID`); a kind without one is
    /// not sent to WeChat [default: none].
    #[arg(long, env = "KITH_WECHAT_NOTIFY_TEMPLATES")]
    pub wechat_notify_templates: Option<String>,
    /// SMS template per notification kind, comma-separated
    /// (`order_shipped=SMS_123,refund_done=SMS_456`); each takes the variables `title` and
    /// `detail`. Needs an SMS provider; a kind without one is not sent by SMS
    /// [default: none].
    #[arg(long, env = "KITH_SMS_NOTIFY_TEMPLATES")]
    pub sms_notify_templates: Option<String>,
    /// Fill an empty database with the demo community and print its logins.
    #[arg(long)]
    pub demo: bool,
}

/// The file form: the same names as the flags, with `_` for `-`.
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
struct FileConfig {
    listen: Option<SocketAddr>,
    data_dir: Option<PathBuf>,
    database_url: Option<String>,
    sqlite_sync: Option<String>,
    pool_size: Option<usize>,
    body_limit_kib: Option<usize>,
    cookie_secure: Option<bool>,
    session_ttl_hours: Option<i64>,
    webhook_allow_private: Option<bool>,
    workers: Option<bool>,
    webhook_max_in_flight_per_endpoint: Option<i64>,
    webhook_max_in_flight_per_merchant: Option<i64>,
    webhook_disable_after_failures: Option<i64>,
    webhook_disable_after_hours: Option<i64>,
    worker_delivery_concurrency: Option<usize>,
    worker_core_concurrency: Option<usize>,
    public_url: Option<String>,
    sandbox_payments: Option<bool>,
    sandbox_secret: Option<String>,
    secret_key: Option<String>,
    wechatpay_base_url: Option<String>,
    alipay_gateway: Option<String>,
    carrier_secrets: Option<String>,
    kuaidi100_key: Option<String>,
    kuaidi100_api_base: Option<String>,
    checkouts_per_minute: Option<u32>,
    shares_per_minute: Option<u32>,
    trusted_proxies: Option<String>,
    header_timeout_secs: Option<u64>,
    body_timeout_secs: Option<u64>,
    session_idle_hours: Option<i64>,
    signup_phone_code: Option<bool>,
    signup_challenge_after: Option<u32>,
    signup_device_challenge_after: Option<u32>,
    signups_per_hour: Option<u32>,
    image_hosts: Option<String>,
    max_unpaid_orders: Option<u32>,
    max_unpaid_units_per_sku: Option<u32>,
    wechat_app_id: Option<String>,
    wechat_app_secret: Option<String>,
    wechat_scope: Option<String>,
    wechat_authorize_base: Option<String>,
    wechat_api_base: Option<String>,
    sms_provider: Option<String>,
    sms_endpoint: Option<String>,
    sms_access_key_id: Option<String>,
    sms_access_key_secret: Option<String>,
    sms_sign_name: Option<String>,
    sms_code_template: Option<String>,
    sms_sdk_app_id: Option<String>,
    sms_region: Option<String>,
    sms_codes_per_address_hour: Option<u32>,
    sms_codes_per_phone_day: Option<u32>,
    wechat_notify_appid: Option<String>,
    wechat_notify_secret: Option<String>,
    wechat_notify_templates: Option<String>,
    sms_notify_templates: Option<String>,
}

/// The SMS settings: the provider (console by default with `--demo`, none otherwise) and
/// its credentials, which must all be given for a real provider.
fn resolve_sms(
    args: &ServeArgs,
    f: &mut FileConfig,
) -> anyhow::Result<kith_app::platform::sms::SmsConfig> {
    use kith_app::platform::sms::{Secret, SmsBackend, SmsConfig, aliyun, tencent};
    let mut cfg = SmsConfig::default();
    if let Some(n) = args
        .sms_codes_per_address_hour
        .or(f.sms_codes_per_address_hour)
    {
        cfg.codes_per_address_hour = n;
    }
    if let Some(n) = args.sms_codes_per_phone_day.or(f.sms_codes_per_phone_day) {
        cfg.codes_per_phone_day = n;
    }
    let template = args
        .sms_code_template
        .clone()
        .or(f.sms_code_template.take());
    let template_given = template.is_some();
    if let Some(t) = template {
        cfg.code_template = t;
    }
    let provider = args
        .sms_provider
        .clone()
        .or(f.sms_provider.take())
        .unwrap_or_else(|| if args.demo { "console" } else { "none" }.to_owned());
    let endpoint = args.sms_endpoint.clone().or(f.sms_endpoint.take());
    if let Some(e) = &endpoint {
        anyhow::ensure!(
            e.starts_with("https://") || e.starts_with("http://"),
            "sms_endpoint must start with https:// (or http:// for a local test server)"
        );
    }
    let need = |v: Option<String>, name: &str| {
        v.filter(|v| !v.trim().is_empty())
            .ok_or_else(|| anyhow::anyhow!("sms_provider = {provider} needs {name}"))
    };
    let key_id = args
        .sms_access_key_id
        .clone()
        .or(f.sms_access_key_id.take());
    let secret = args
        .sms_access_key_secret
        .clone()
        .or(f.sms_access_key_secret.take());
    let sign_name = args.sms_sign_name.clone().or(f.sms_sign_name.take());
    let region = args.sms_region.clone().or(f.sms_region.take());
    let app_id = args.sms_sdk_app_id.clone().or(f.sms_sdk_app_id.take());
    cfg.backend = match provider.as_str() {
        "none" | "off" => SmsBackend::Off,
        "console" => SmsBackend::Console,
        "aliyun" => SmsBackend::Aliyun(aliyun::AliyunConfig {
            endpoint: endpoint.unwrap_or_else(|| aliyun::DEFAULT_ENDPOINT.to_owned()),
            access_key_id: need(key_id, "sms_access_key_id")?,
            access_key_secret: Secret::new(need(secret, "sms_access_key_secret")?),
            sign_name: need(sign_name, "sms_sign_name")?,
            region: region.unwrap_or_else(|| "cn-hangzhou".to_owned()),
        }),
        "tencent" => SmsBackend::Tencent(tencent::TencentConfig {
            endpoint: endpoint.unwrap_or_else(|| tencent::DEFAULT_ENDPOINT.to_owned()),
            secret_id: need(key_id, "sms_access_key_id (the SecretId)")?,
            secret_key: Secret::new(need(secret, "sms_access_key_secret (the SecretKey)")?),
            sdk_app_id: need(app_id, "sms_sdk_app_id")?,
            sign_name: need(sign_name, "sms_sign_name")?,
            region: region.unwrap_or_else(|| "ap-guangzhou".to_owned()),
        }),
        other => anyhow::bail!("sms_provider must be console, aliyun or tencent, not `{other}`"),
    };
    if matches!(cfg.backend, SmsBackend::Aliyun(_) | SmsBackend::Tencent(_)) {
        anyhow::ensure!(
            template_given,
            "sms_provider = {provider} needs sms_code_template"
        );
    }
    Ok(cfg)
}

/// Every setting resolved.
#[derive(Debug, Clone)]
pub struct Settings {
    pub listen: SocketAddr,
    pub db: kith_store::DbConfig,
    pub app: kith_app::AppConfig,
    pub http: kith_http::HttpConfig,
    pub workers: bool,
    /// Whether `public_url` was set; if not, the server uses its own listening address.
    pub public_url_set: bool,
    /// Started with `--demo`: the pages may point at the demo's logins.
    pub demo: bool,
}

/// `host` or `host:port` entries, comma-separated, lower-cased: where product images may
/// come from.
fn parse_image_hosts(list: &str) -> anyhow::Result<Vec<String>> {
    let mut hosts = Vec::new();
    for h in list.split(',').map(str::trim).filter(|h| !h.is_empty()) {
        let ok = h.len() <= 253
            && !h.contains("://")
            && h.bytes()
                .all(|b| b.is_ascii_alphanumeric() || b"-.:[]".contains(&b));
        anyhow::ensure!(
            ok,
            "image_hosts: `{h}` is not a host name (give `cdn.example.com` or `cdn.example.com:8443`, no scheme or path)"
        );
        hosts.push(h.to_ascii_lowercase());
    }
    Ok(hosts)
}

/// WeChat sign-in's settings: both the app id and the secret, or neither.
fn wechat_config(
    args: &ServeArgs,
    f: &FileConfig,
) -> anyhow::Result<Option<kith_app::platform::wechat::WeChatConfig>> {
    use kith_app::platform::wechat::{Scope, WeChatConfig};
    let app_id = args.wechat_app_id.clone().or(f.wechat_app_id.clone());
    let secret = args
        .wechat_app_secret
        .clone()
        .or(f.wechat_app_secret.clone());
    let (app_id, app_secret) = match (app_id, secret) {
        (None, None) => return Ok(None),
        (Some(id), Some(secret)) => (id.trim().to_owned(), secret.trim().to_owned()),
        _ => anyhow::bail!("wechat_app_id and wechat_app_secret are set together"),
    };
    anyhow::ensure!(
        !app_id.is_empty()
            && app_id.len() <= 64
            && app_id.bytes().all(|b| b.is_ascii_alphanumeric()),
        "wechat_app_id must be the 公众号's AppID (letters and digits)"
    );
    anyhow::ensure!(
        !app_secret.is_empty(),
        "wechat_app_secret must not be empty"
    );
    let scope = args
        .wechat_scope
        .clone()
        .or(f.wechat_scope.clone())
        .unwrap_or_else(|| "snsapi_userinfo".into());
    let scope = Scope::parse(&scope)
        .ok_or_else(|| anyhow::anyhow!("wechat_scope must be snsapi_base or snsapi_userinfo"))?;
    let base = |v: Option<String>, default: &str, name: &str| {
        let url = v.unwrap_or_else(|| default.to_owned());
        anyhow::ensure!(
            url.starts_with("https://") || url.starts_with("http://"),
            "{name} must start with https:// (or http:// for a local test server)"
        );
        Ok(url.trim_end_matches('/').to_owned())
    };
    Ok(Some(WeChatConfig {
        app_id,
        app_secret,
        scope,
        authorize_base: base(
            args.wechat_authorize_base
                .clone()
                .or(f.wechat_authorize_base.clone()),
            "https://open.weixin.qq.com",
            "wechat_authorize_base",
        )?,
        api_base: base(
            args.wechat_api_base.clone().or(f.wechat_api_base.clone()),
            "https://api.weixin.qq.com",
            "wechat_api_base",
        )?,
    }))
}

fn read_file(explicit: Option<&Path>) -> anyhow::Result<FileConfig> {
    let path = match explicit {
        Some(p) => p.to_owned(),
        None => {
            let p = PathBuf::from("kith.toml");
            if !p.exists() {
                return Ok(FileConfig::default());
            }
            p
        }
    };
    let text = std::fs::read_to_string(&path)
        .map_err(|e| anyhow::anyhow!("read {}: {e}", path.display()))?;
    toml::from_str(&text).map_err(|e| anyhow::anyhow!("{}: {e}", path.display()))
}

impl Settings {
    pub fn resolve(args: &ServeArgs) -> anyhow::Result<Self> {
        let mut f = read_file(args.storage.config.as_deref())?;
        let wechat = wechat_config(args, &f)?;
        let sms = resolve_sms(args, &mut f)?;
        let app_public_url_in_file = f.public_url.is_some();
        let s = &args.storage;
        let database_url = s
            .database_url
            .clone()
            .or(f.database_url)
            .filter(|u| !u.trim().is_empty());
        let sync = match s.sqlite_sync.clone().or(f.sqlite_sync).as_deref() {
            None | Some("normal") => kith_store::SqliteSync::Normal,
            Some("full") => kith_store::SqliteSync::Full,
            Some(other) => anyhow::bail!("sqlite_sync must be `normal` or `full`, not `{other}`"),
        };
        let pool_default = if database_url.is_some() { 16 } else { 4 };
        let mut app = kith_app::AppConfig {
            sms,
            ..Default::default()
        };
        if let Some(h) = args.session_ttl_hours.or(f.session_ttl_hours) {
            anyhow::ensure!(
                (1..=24 * 365).contains(&h),
                "session_ttl_hours must be 1–8760"
            );
            app.session_ttl_secs = h * 3600;
        }
        if let Some(n) = args.checkouts_per_minute.or(f.checkouts_per_minute) {
            app.checkouts_per_minute = n;
        }
        if let Some(n) = args.shares_per_minute.or(f.shares_per_minute) {
            app.shares_per_minute = n;
        }
        if let Some(h) = args.session_idle_hours.or(f.session_idle_hours) {
            anyhow::ensure!(
                (0..=24 * 365).contains(&h),
                "session_idle_hours must be 0–8760"
            );
            app.session_idle_secs = h * 3600;
        }
        app.signup_phone_code =
            args.signup_phone_code
                .or(f.signup_phone_code)
                .unwrap_or(!matches!(
                    app.sms.backend,
                    kith_app::platform::sms::SmsBackend::Off
                ));
        if let Some(n) = args.signup_challenge_after.or(f.signup_challenge_after) {
            app.signup_challenge_after = n;
        }
        if let Some(n) = args
            .signup_device_challenge_after
            .or(f.signup_device_challenge_after)
        {
            app.signup_device_challenge_after = n;
        }
        if let Some(n) = args.signups_per_hour.or(f.signups_per_hour) {
            app.signups_per_hour = n;
        }
        let trusted_proxies = kith_http::extract::TrustedProxies::parse(
            args.trusted_proxies
                .as_deref()
                .or(f.trusted_proxies.as_deref())
                .unwrap_or(""),
        )
        .map_err(|e| anyhow::anyhow!("trusted_proxies: {e}"))?;
        let timeout = |v: Option<u64>, default: u64, name: &str| {
            let secs = v.unwrap_or(default);
            anyhow::ensure!((1..=3600).contains(&secs), "{name} must be 1–3600");
            Ok(std::time::Duration::from_secs(secs))
        };
        let header_timeout = timeout(
            args.header_timeout_secs.or(f.header_timeout_secs),
            10,
            "header_timeout_secs",
        )?;
        let body_timeout = timeout(
            args.body_timeout_secs.or(f.body_timeout_secs),
            30,
            "body_timeout_secs",
        )?;
        if let Some(n) = args.max_unpaid_orders.or(f.max_unpaid_orders) {
            app.max_unpaid_orders = n;
        }
        if let Some(n) = args.max_unpaid_units_per_sku.or(f.max_unpaid_units_per_sku) {
            app.max_unpaid_units_per_sku = n;
        }
        if let Some(hosts) = args.image_hosts.clone().or(f.image_hosts) {
            app.image_hosts = parse_image_hosts(&hosts)?;
        }
        if let (Some(app_id), Some(secret)) = (
            args.wechat_notify_appid.clone().or(f.wechat_notify_appid),
            args.wechat_notify_secret.clone().or(f.wechat_notify_secret),
        ) {
            let templates = args
                .wechat_notify_templates
                .clone()
                .or(f.wechat_notify_templates)
                .unwrap_or_default();
            app.wechat_notify = Some(kith_app::notify::WechatNotifyConfig::parse(
                &app_id,
                &secret,
                args.wechat_api_base
                    .as_deref()
                    .or(f.wechat_api_base.as_deref())
                    .unwrap_or(kith_app::notify::WECHAT_API_BASE),
                &templates,
            )?);
        }
        if let Some(t) = args
            .sms_notify_templates
            .clone()
            .or(f.sms_notify_templates.take())
        {
            app.sms_notify_templates =
                kith_app::notify::parse_templates("sms_notify_templates", &t)?;
        }
        app.webhook_allow_private = args
            .webhook_allow_private
            .or(f.webhook_allow_private)
            .unwrap_or(false);
        if let Some(n) = args
            .webhook_max_in_flight_per_endpoint
            .or(f.webhook_max_in_flight_per_endpoint)
        {
            anyhow::ensure!(n >= 0, "webhook_max_in_flight_per_endpoint must be ≥ 0");
            app.webhook_max_in_flight_per_endpoint = n;
        }
        if let Some(n) = args
            .webhook_max_in_flight_per_merchant
            .or(f.webhook_max_in_flight_per_merchant)
        {
            anyhow::ensure!(n >= 0, "webhook_max_in_flight_per_merchant must be ≥ 0");
            app.webhook_max_in_flight_per_merchant = n;
        }
        if let Some(n) = args
            .webhook_disable_after_failures
            .or(f.webhook_disable_after_failures)
        {
            anyhow::ensure!(n >= 1, "webhook_disable_after_failures must be ≥ 1");
            app.webhook_disable_after_failures = n;
        }
        if let Some(h) = args
            .webhook_disable_after_hours
            .or(f.webhook_disable_after_hours)
        {
            anyhow::ensure!(
                (0..=24 * 365).contains(&h),
                "webhook_disable_after_hours must be 0–8760"
            );
            app.webhook_disable_after_secs = h * 3600;
        }
        if let Some(n) = args
            .worker_delivery_concurrency
            .or(f.worker_delivery_concurrency)
        {
            anyhow::ensure!(
                (1..=1024).contains(&n),
                "worker_delivery_concurrency must be 1–1024"
            );
            app.worker_delivery_concurrency = n;
        }
        if let Some(n) = args.worker_core_concurrency.or(f.worker_core_concurrency) {
            anyhow::ensure!(
                (1..=256).contains(&n),
                "worker_core_concurrency must be 1–256"
            );
            app.worker_core_concurrency = n;
        }
        if let Some(url) = args.public_url.clone().or(f.public_url) {
            anyhow::ensure!(
                url.starts_with("http://") || url.starts_with("https://"),
                "public_url must start with http:// or https://"
            );
            app.public_url = url.trim_end_matches('/').to_owned();
        }
        app.sandbox_enabled = args
            .sandbox_payments
            .or(f.sandbox_payments)
            .unwrap_or(args.demo);
        if let Some(secret) = args.sandbox_secret.clone().or(f.sandbox_secret) {
            anyhow::ensure!(
                secret.len() >= 16,
                "sandbox_secret must be at least 16 characters"
            );
            app.sandbox_secret = secret;
        }
        app.secret_key = match args.secret_key.clone().or(f.secret_key) {
            Some(k) => Some(
                kith_app::rails::secrets::SecretKey::parse(&k)
                    .map_err(|e| anyhow::anyhow!("secret_key: {e}"))?,
            ),
            None if args.demo => Some(kith_app::rails::secrets::SecretKey::generate()),
            None => None,
        };
        if let Some(url) = args.wechatpay_base_url.clone().or(f.wechatpay_base_url) {
            anyhow::ensure!(
                url.starts_with("https://") || url.starts_with("http://"),
                "wechatpay_base_url must be an http(s) URL"
            );
            app.wechatpay_base_url = url.trim_end_matches('/').to_owned();
        }
        if let Some(url) = args.alipay_gateway.clone().or(f.alipay_gateway) {
            anyhow::ensure!(
                url.starts_with("https://") || url.starts_with("http://"),
                "alipay_gateway must be an http(s) URL"
            );
            app.alipay_gateway = url;
        }
        if let Some(pairs) = args.carrier_secrets.clone().or(f.carrier_secrets) {
            for pair in pairs.split(',').map(str::trim).filter(|p| !p.is_empty()) {
                let (code, secret) = pair.split_once('=').ok_or_else(|| {
                    anyhow::anyhow!("carrier_secrets: `{pair}` is not code=secret")
                })?;
                anyhow::ensure!(
                    secret.len() >= 16,
                    "carrier_secrets: the secret of `{code}` must be at least 16 characters"
                );
                app.carrier_secrets
                    .push((code.trim().to_owned(), secret.to_owned()));
            }
        }
        if let Some(key) = args
            .kuaidi100_key
            .clone()
            .or(f.kuaidi100_key)
            .filter(|k| !k.trim().is_empty())
        {
            let api_base = args
                .kuaidi100_api_base
                .clone()
                .or(f.kuaidi100_api_base)
                .unwrap_or_else(|| kith_app::commerce::tracking::kuaidi100::API_BASE.to_owned());
            anyhow::ensure!(
                api_base.starts_with("https://") || api_base.starts_with("http://"),
                "kuaidi100_api_base must be an http(s) URL"
            );
            app.kuaidi100 = Some(kith_app::commerce::tracking::kuaidi100::Kuaidi100Config {
                key: key.trim().to_owned(),
                api_base,
            });
        }
        app.wechat = wechat;
        let data_dir = s
            .data_dir
            .clone()
            .or(f.data_dir)
            .unwrap_or_else(|| PathBuf::from("kith-data"));
        app.media_dir = data_dir.join("media");
        let body_kib = args.body_limit_kib.or(f.body_limit_kib).unwrap_or(1024);
        anyhow::ensure!(
            (1..=64 * 1024).contains(&body_kib),
            "body_limit_kib must be 1–65536"
        );
        Ok(Self {
            listen: args
                .listen
                .or(f.listen)
                .unwrap_or_else(|| SocketAddr::from(([127, 0, 0, 1], 8080))),
            db: kith_store::DbConfig {
                database_url,
                data_dir,
                sqlite_sync: sync,
                pool_size: s.pool_size.or(f.pool_size).unwrap_or(pool_default),
            },
            app,
            http: kith_http::HttpConfig {
                body_limit_bytes: body_kib * 1024,
                cookie_secure: args.cookie_secure.or(f.cookie_secure).unwrap_or(false),
                trusted_proxies,
                header_timeout,
                body_timeout,
            },
            workers: args.workers.or(f.workers).unwrap_or(true),
            public_url_set: args.public_url.is_some() || app_public_url_in_file,
            demo: args.demo,
        })
    }

    /// Settings for commands that only need storage (`migrate`, `admin`).
    pub fn for_storage(storage: &StorageArgs) -> anyhow::Result<Self> {
        Self::resolve(&ServeArgs {
            storage: storage.clone(),
            ..Default::default()
        })
    }
}
