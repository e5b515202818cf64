//! # SMS: one-time codes, and the providers that send text messages
//!
//! Two things live here, used by the rest of kith through a small surface:
//!
//! - **The provider interface** [`SmsProvider`]: `send(to, message)` where a message is a
//!   provider template id and its named parameters in order ([`SmsMessage`]) — the
//!   one-time codes below use it, and so can notifications (a template per kind of
//!   notice). Three implementations, chosen by `--sms-provider` ([`SmsConfig`]):
//!   [`aliyun::Aliyun`] (Aliyun SMS `SendSms`, the RPC request signature, HMAC-SHA1),
//!   [`tencent::Tencent`] (Tencent Cloud SMS `SendSms`, API 3.0 with TC3-HMAC-SHA256) and
//!   [`console::Console`] (development and the demo: the message goes to the server log).
//!   With no provider configured ([`SmsBackend::Off`]) sending answers 503: a production
//!   server never prints codes to its log unless told to.
//! - **One-time codes** ([`otp`]): 6 digits, 5 minutes, 5 attempts, at most one request a
//!   minute and ten a day per number and `sms_codes_per_address_hour` per client address
//!   (the [`crate::platform::limits`] windows, shared by every server on PostgreSQL),
//!   stored as HMAC-SHA256 under a server key in `platform_secrets`, compared in constant
//!   time. Asking for a code answers the same whether the number has an account or not.
//!   Surface: [`App::request_sms_code`], [`App::sms_login`] (sign in, or register in one
//!   step — through the sign-up gate [`App::admit_sign_up`]) and
//!   [`App::verify_phone_code`] (`purpose = bind`: proves a number for an account that is
//!   already signed in, e.g. binding a phone after a WeChat sign-in; the caller then writes
//!   the number in its own transaction).
//!
//! Writes: `sms_codes` (and, for a new member, `accounts`/`sessions` through
//! [`crate::platform::accounts`]).

pub mod aliyun;
pub mod console;
pub mod otp;
pub mod tencent;

use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;

use kith_domain::{Clock, Phone};

pub use otp::CodePurpose;

/// What [`SmsProvider::send`] returns.
pub type SendFuture<'a> = Pin<Box<dyn Future<Output = Result<SmsReceipt, SmsError>> + Send + 'a>>;

/// One text message: the provider's template (Aliyun `SMS_123456789`, Tencent `1234567`)
/// and the template's parameters by name, in the template's order. Aliyun fills them by
/// name (`${code}`), Tencent by position (`{1}`), so both are kept.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SmsMessage {
    pub template: String,
    pub params: Vec<(String, String)>,
}

/// The provider's acknowledgement.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SmsReceipt {
    /// The provider's id for the message (Aliyun `BizId`, Tencent `SerialNo`).
    pub message_id: Option<String>,
}

/// Why a message was not sent.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum SmsError {
    /// The provider answered and said no; its own code is kept
    /// (`isv.BUSINESS_LIMIT_CONTROL`, `AuthFailure.SignatureFailure`, …).
    #[error("the SMS provider refused the message: {code}: {message}")]
    Refused { code: String, message: String },
    /// The provider could not be reached, or answered something that is not its protocol.
    #[error("the SMS provider could not be reached: {0}")]
    Transport(String),
    /// This server has no SMS provider.
    #[error("SMS is not configured on this server")]
    NotConfigured,
}

/// A message as the console provider recorded it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SentSms {
    pub to: String,
    pub message: SmsMessage,
}

/// Sends text messages. Implementations speak one provider's documented API; they are
/// built once from [`SmsConfig`] and shared by every request.
pub trait SmsProvider: Send + Sync + std::fmt::Debug {
    /// `console`, `aliyun`, `tencent` or `off`.
    fn name(&self) -> &'static str;

    /// Sends `message` to `to` (a mainland number).
    fn send<'a>(&'a self, to: &'a Phone, message: &'a SmsMessage) -> SendFuture<'a>;

    /// The latest messages, newest last, where the provider keeps them (the console
    /// provider: what the demo's visitor and the tests read); empty elsewhere.
    fn recent(&self) -> Vec<SentSms> {
        Vec::new()
    }
}

/// A secret setting: its `Debug` never shows it, so settings can be logged whole.
#[derive(Clone, Default, PartialEq, Eq)]
pub struct Secret(String);

impl Secret {
    pub fn new(s: impl Into<String>) -> Self {
        Self(s.into())
    }
    pub fn expose(&self) -> &str {
        &self.0
    }
}

impl std::fmt::Debug for Secret {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("<redacted>")
    }
}

/// Which provider sends, with its credentials.
#[derive(Debug, Clone, Default)]
pub enum SmsBackend {
    /// No provider: asking for a code answers 503.
    #[default]
    Off,
    Console,
    Aliyun(aliyun::AliyunConfig),
    Tencent(tencent::TencentConfig),
}

/// The SMS settings.
#[derive(Debug, Clone)]
pub struct SmsConfig {
    pub backend: SmsBackend,
    /// The provider's template for one-time codes; its one parameter is `code`.
    pub code_template: String,
    /// Codes one client address may ask for in an hour (0: no limit).
    pub codes_per_address_hour: u32,
    /// Codes one number may be sent in a day (0: no limit). One a minute, always.
    pub codes_per_phone_day: u32,
}

impl Default for SmsConfig {
    fn default() -> Self {
        Self {
            backend: SmsBackend::Off,
            code_template: "SMS_LOGIN_CODE".to_owned(),
            codes_per_address_hour: 30,
            codes_per_phone_day: 10,
        }
    }
}

/// Builds the configured provider. Timestamps in signed requests read `clock`.
pub fn provider(config: &SmsConfig, clock: Arc<dyn Clock>) -> Arc<dyn SmsProvider> {
    match &config.backend {
        SmsBackend::Off => Arc::new(Off),
        SmsBackend::Console => Arc::new(console::Console::default()),
        SmsBackend::Aliyun(c) => Arc::new(aliyun::Aliyun::new(c.clone(), clock)),
        SmsBackend::Tencent(c) => Arc::new(tencent::Tencent::new(c.clone(), clock)),
    }
}

/// No provider configured.
#[derive(Debug)]
struct Off;

impl SmsProvider for Off {
    fn name(&self) -> &'static str {
        "off"
    }
    fn send<'a>(&'a self, _to: &'a Phone, _message: &'a SmsMessage) -> SendFuture<'a> {
        Box::pin(async { Err(SmsError::NotConfigured) })
    }
}

/// The HTTP client the adapters share: short timeouts, no redirects (a provider never
/// redirects an API call), rustls.
pub(crate) fn http_client() -> reqwest::Client {
    reqwest::Client::builder()
        .timeout(std::time::Duration::from_secs(10))
        .connect_timeout(std::time::Duration::from_secs(5))
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .unwrap_or_default()
}

/// Reads a provider's answer as JSON, whatever its status (both providers put their
/// refusals in a JSON body with a 4xx status).
pub(crate) async fn read_json(res: reqwest::Response) -> Result<serde_json::Value, SmsError> {
    let status = res.status();
    let bytes = res
        .bytes()
        .await
        .map_err(|e| SmsError::Transport(format!("read answer: {e}")))?;
    serde_json::from_slice(&bytes).map_err(|_| {
        SmsError::Transport(format!(
            "HTTP {status}, not JSON: {}",
            String::from_utf8_lossy(&bytes[..bytes.len().min(200)])
        ))
    })
}
