//! The WeChat channel: 公众号 订阅通知 (subscribe messages) through WeChat's documented API.
//!
//! - Access token: `POST {base}/cgi-bin/stable_token` with `{grant_type:
//!   "client_credential", appid, secret, force_refresh}`. The *stable* token, not
//!   `GET /cgi-bin/token`: every kith server sharing one 公众号 gets the same token while it
//!   is valid, where each `GET /cgi-bin/token` would invalidate the others' (WeChat keeps
//!   only the newest). Cached in the process until five minutes before `expires_in`; an
//!   answer of errcode 40001 / 42001 / 40014 (invalid, expired, illegal token) drops it and
//!   asks once with `force_refresh: true` before the send is tried again.
//! - Send: `POST {base}/cgi-bin/message/subscribe/bizsend?access_token=…` with `touser`
//!   (the member's openid), `template_id` (per kind, from settings), `page` (the page of
//!   the thing on this server) and `data`. 订阅通知 rather than 模板消息: WeChat closed
//!   template messages to new 公众号 outside a few industries and points everyone to
//!   subscribe messages, which the member chooses to receive (43101 when they refused or
//!   withdrew it: recorded, never retried).
//! - `data` keys: the template's keywords must be, in order, `thing1` (事项: the title),
//!   `thing2` (内容: the body) and `time3` (时间, Beijing time); `thing` values are cut to
//!   WeChat's 20 characters.
//!
//! errcode 0 is success; every other code is kept on the delivery row.

use std::sync::{Mutex, OnceLock};
use std::time::{Duration, Instant};

use serde_json::Value as Json;

use super::{Channel, Deliver, Kind, Outcome, Outgoing, render};
use crate::{App, AppError};

/// WeChat's API.
pub const WECHAT_API_BASE: &str = "https://api.weixin.qq.com";
/// A token is renewed this long before WeChat says it expires.
const TOKEN_SLACK: Duration = Duration::from_secs(300);
/// The longest `thing` value WeChat takes.
const THING_CHARS: usize = 20;

/// The 公众号 notifications go out from.
#[derive(Clone)]
pub struct WechatNotifyConfig {
    pub app_id: String,
    pub app_secret: String,
    /// `https://api.weixin.qq.com`, or a local server in tests.
    pub api_base: String,
    /// The subscribe-message template of each kind sent to WeChat.
    pub templates: Vec<(Kind, String)>,
}

impl std::fmt::Debug for WechatNotifyConfig {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("WechatNotifyConfig")
            .field("app_id", &self.app_id)
            .field("app_secret", &"[redacted]")
            .field("api_base", &self.api_base)
            .field("templates", &self.templates)
            .finish()
    }
}

impl WechatNotifyConfig {
    /// Reads the settings; `templates` is `kind=TEMPLATE_ID,…`.
    pub fn parse(
        app_id: &str,
        secret: &str,
        api_base: &str,
        templates: &str,
    ) -> Result<Self, AppError> {
        let (app_id, secret) = (app_id.trim(), secret.trim());
        if app_id.is_empty() {
            return Err(AppError::invalid("wechat_notify_appid", "is empty"));
        }
        if secret.is_empty() {
            return Err(AppError::invalid("wechat_notify_secret", "is empty"));
        }
        let base = api_base.trim().trim_end_matches('/');
        if !(base.starts_with("https://") || base.starts_with("http://")) {
            return Err(AppError::invalid(
                "wechat_api_base",
                "must be an http(s) URL",
            ));
        }
        let list = super::parse_templates("wechat_notify_templates", templates)?;
        Ok(Self {
            app_id: app_id.to_owned(),
            app_secret: secret.to_owned(),
            api_base: base.to_owned(),
            templates: list,
        })
    }

    fn template(&self, kind: Kind) -> Option<&str> {
        super::template_of(&self.templates, kind)
    }
}

/// The cached access token and when to stop using it.
#[derive(Debug, Default)]
pub(crate) struct TokenCache(Mutex<Option<(String, Instant)>>);

impl TokenCache {
    fn get(&self) -> Option<String> {
        let g = self.0.lock().ok()?;
        g.as_ref()
            .filter(|(_, until)| Instant::now() < *until)
            .map(|(t, _)| t.clone())
    }
    fn put(&self, token: String, expires_in: u64) {
        let life = Duration::from_secs(expires_in).saturating_sub(TOKEN_SLACK);
        if let Ok(mut g) = self.0.lock() {
            *g = Some((token, Instant::now() + life));
        }
    }
    fn drop_token(&self) {
        if let Ok(mut g) = self.0.lock() {
            *g = None;
        }
    }
}

/// The adapter. Stateless: the token lives in [`super::NotifyState`].
#[derive(Debug)]
pub struct WechatChannel;

impl Deliver for WechatChannel {
    fn channel(&self) -> Channel {
        Channel::Wechat
    }

    fn deliver<'a>(
        &'a self,
        app: &'a App,
        msg: &'a Outgoing,
    ) -> std::pin::Pin<Box<dyn std::future::Future<Output = Outcome> + Send + 'a>> {
        Box::pin(send(app, msg))
    }
}

fn client() -> Option<&'static reqwest::Client> {
    static CLIENT: OnceLock<Option<reqwest::Client>> = OnceLock::new();
    CLIENT
        .get_or_init(|| {
            reqwest::Client::builder()
                .redirect(reqwest::redirect::Policy::none())
                .user_agent(concat!("kith-notify/", env!("CARGO_PKG_VERSION")))
                .build()
                .map_err(|e| tracing::error!(error = %e, "cannot build the WeChat HTTP client"))
                .ok()
        })
        .as_ref()
}

/// Codes that mean the token is no good: invalid, illegal, expired.
fn token_rejected(code: i64) -> bool {
    matches!(code, 40001 | 40014 | 42001)
}

async fn post_json(app: &App, url: &str, token: Option<&str>, body: &Json) -> Result<Json, String> {
    let client = client().ok_or("no HTTP client")?;
    let mut req = client
        .post(url)
        .timeout(Duration::from_secs(app.config.webhook_timeout_secs.max(1)))
        .header("Content-Type", "application/json")
        .body(body.to_string());
    if let Some(t) = token {
        req = req.query(&[("access_token", t)]);
    }
    let res = req.send().await.map_err(|e| {
        if e.is_timeout() {
            "timeout".to_owned()
        } else {
            "no answer".to_owned()
        }
    })?;
    let status = res.status();
    let bytes = res
        .bytes()
        .await
        .map_err(|_| "unreadable answer".to_owned())?;
    if !status.is_success() {
        return Err(format!("HTTP {}", status.as_u16()));
    }
    serde_json::from_slice(&bytes).map_err(|_| "the answer is not JSON".to_owned())
}

fn errcode(v: &Json) -> i64 {
    v.get("errcode").and_then(Json::as_i64).unwrap_or(0)
}

/// A token from the cache or from WeChat.
async fn token(app: &App, cfg: &WechatNotifyConfig, force: bool) -> Result<String, Outcome> {
    if !force && let Some(t) = app.notify.wechat_token.get() {
        return Ok(t);
    }
    let body = serde_json::json!({
        "grant_type": "client_credential", "appid": cfg.app_id, "secret": cfg.app_secret,
        "force_refresh": force,
    });
    let v = post_json(
        app,
        &format!("{}/cgi-bin/stable_token", cfg.api_base),
        None,
        &body,
    )
    .await
    .map_err(|m| Outcome::Failed {
        code: None,
        message: format!("access token: {m}"),
    })?;
    let code = errcode(&v);
    match (v.get("access_token").and_then(Json::as_str), code) {
        (Some(t), 0) if !t.is_empty() => {
            let life = v.get("expires_in").and_then(Json::as_u64).unwrap_or(7200);
            app.notify.wechat_token.put(t.to_owned(), life);
            Ok(t.to_owned())
        }
        _ => Err(Outcome::Failed {
            code: Some(code),
            message: format!(
                "access token: errcode {code} {}",
                v.get("errmsg").and_then(Json::as_str).unwrap_or("")
            ),
        }),
    }
}

/// The member's openid for the notify 公众号, if kith knows one: the one recorded with
/// [`App::set_wechat_openid`], else the openid of the member's WeChat sign-in through the
/// same 公众号 (asked of `platform::identities`, which owns those rows).
async fn openid(app: &App, account: &str, app_id: &str) -> Result<Option<String>, AppError> {
    let (account, app_id) = (account.to_owned(), app_id.to_owned());
    app.db.read(move |c| openid_in(c, &account, &app_id)).await
}

pub(super) fn openid_in(
    c: &mut dyn kith_store::Conn,
    account: &str,
    app_id: &str,
) -> Result<Option<String>, AppError> {
    let own = super::store::recorded_openid(c, account)?;
    match own {
        Some(o) => Ok(Some(o)),
        None => Ok(crate::platform::identities::wechat_openid(
            c, account, app_id,
        )?),
    }
}

fn thing(s: &str) -> String {
    s.chars().take(THING_CHARS).collect()
}

async fn send(app: &App, msg: &Outgoing) -> Outcome {
    let Some(cfg) = app.config.wechat_notify.as_ref() else {
        return Outcome::Skipped("WeChat is not configured".into());
    };
    let Some(template) = cfg.template(msg.kind) else {
        return Outcome::Skipped(format!("no WeChat template for {}", msg.kind.as_str()));
    };
    let touser = match openid(app, &msg.account_id, &cfg.app_id).await {
        Ok(Some(o)) => o,
        Ok(None) => return Outcome::Skipped("the member has no WeChat openid".into()),
        Err(e) => {
            return Outcome::Failed {
                code: None,
                message: e.to_string(),
            };
        }
    };
    let (title, body) = render(msg.kind, &msg.params, false);
    let when = crate::notify::beijing_minutes(app.now_ms());
    let payload = serde_json::json!({
        "touser": touser,
        "template_id": template,
        "page": msg.url,
        "data": {
            "thing1": { "value": thing(&title) },
            "thing2": { "value": thing(&body) },
            "time3": { "value": when },
        },
    });
    let url = format!("{}/cgi-bin/message/subscribe/bizsend", cfg.api_base);
    let mut force = false;
    for _ in 0..2 {
        let t = match token(app, cfg, force).await {
            Ok(t) => t,
            Err(o) => return o,
        };
        let v = match post_json(app, &url, Some(&t), &payload).await {
            Ok(v) => v,
            Err(m) => {
                return Outcome::Failed {
                    code: None,
                    message: m,
                };
            }
        };
        let code = errcode(&v);
        let message = v
            .get("errmsg")
            .and_then(Json::as_str)
            .unwrap_or("")
            .to_owned();
        match code {
            0 => return Outcome::Sent,
            43101 => return Outcome::Refused { code, message },
            c if token_rejected(c) && !force => {
                app.notify.wechat_token.drop_token();
                force = true;
            }
            _ => {
                return Outcome::Failed {
                    code: Some(code),
                    message: format!("errcode {code} {message}"),
                };
            }
        }
    }
    Outcome::Failed {
        code: None,
        message: "the access token was refused twice".into(),
    }
}
