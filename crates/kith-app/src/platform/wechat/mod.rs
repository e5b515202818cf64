//! The WeChat Official Account web authorisation client (公众号 网页授权), speaking the
//! documented protocol:
//!
//! 1. the browser is sent to `{authorize_base}/connect/oauth2/authorize?appid=…&redirect_uri=…
//!    &response_type=code&scope=snsapi_base|snsapi_userinfo&state=…#wechat_redirect`
//!    ([`WeChatClient::authorize_url`]); WeChat comes back to `redirect_uri?code=…&state=…`;
//! 2. the server exchanges the code at `GET {api_base}/sns/oauth2/access_token?appid&secret
//!    &code&grant_type=authorization_code` → `access_token, expires_in, refresh_token, openid,
//!    scope` (and `unionid` when the account is bound to an Open Platform account)
//!    ([`WeChatClient::exchange_code`]). A code is good once, for five minutes;
//! 3. with `snsapi_userinfo`, `GET {api_base}/sns/userinfo?access_token&openid&lang=zh_CN` →
//!    `openid, nickname, headimgurl, unionid?` ([`WeChatClient::userinfo`]).
//!
//! Errors come back as `{"errcode": …, "errmsg": …}` with HTTP 200 (40029 invalid code,
//! 40163 code been used, 40125 invalid secret, …): [`WeChatError::Api`]. The base URLs are
//! settings so the tests point the client at a local server that speaks these endpoints.
//! Tokens never leave this module's callers: nothing here is logged or stored but the
//! openid, unionid and nickname.

use std::time::Duration;

use reqwest::Url;
use serde::Deserialize;

/// The settings of one 公众号.
#[derive(Clone)]
pub struct WeChatConfig {
    /// The 公众号's AppID (`wx…`).
    pub app_id: String,
    /// Its AppSecret: redacted in `Debug`, sent only to `api_base`.
    pub app_secret: String,
    pub scope: Scope,
    /// `https://open.weixin.qq.com` in production.
    pub authorize_base: String,
    /// `https://api.weixin.qq.com` in production.
    pub api_base: String,
}

impl std::fmt::Debug for WeChatConfig {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("WeChatConfig")
            .field("app_id", &self.app_id)
            .field("app_secret", &"[redacted]")
            .field("scope", &self.scope)
            .field("authorize_base", &self.authorize_base)
            .field("api_base", &self.api_base)
            .finish()
    }
}

/// What the person is asked to allow: `snsapi_base` (silent, the openid only) or
/// `snsapi_userinfo` (a consent page; nickname and avatar too).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Scope {
    Base,
    UserInfo,
}

impl Scope {
    pub fn parse(s: &str) -> Option<Self> {
        match s {
            "snsapi_base" => Some(Self::Base),
            "snsapi_userinfo" => Some(Self::UserInfo),
            _ => None,
        }
    }

    pub fn as_str(self) -> &'static str {
        match self {
            Self::Base => "snsapi_base",
            Self::UserInfo => "snsapi_userinfo",
        }
    }
}

/// What the code exchange answers (the tokens stay in memory for the one userinfo call).
#[derive(Deserialize)]
pub struct AccessToken {
    pub access_token: String,
    #[allow(dead_code)]
    pub expires_in: i64,
    pub openid: String,
    #[serde(default)]
    pub scope: String,
    #[serde(default)]
    pub unionid: Option<String>,
}

impl std::fmt::Debug for AccessToken {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("AccessToken")
            .field("openid", &self.openid)
            .field("scope", &self.scope)
            .field("unionid", &self.unionid)
            .finish_non_exhaustive()
    }
}

/// The person as `sns/userinfo` describes them.
#[derive(Debug, Deserialize)]
pub struct UserInfo {
    pub openid: String,
    #[serde(default)]
    pub nickname: String,
    #[serde(default)]
    pub headimgurl: String,
    #[serde(default)]
    pub unionid: Option<String>,
}

#[derive(Debug, thiserror::Error)]
pub enum WeChatError {
    /// WeChat answered `{"errcode": n, "errmsg": …}`.
    #[error("WeChat refused: errcode {errcode} ({errmsg})")]
    Api { errcode: i64, errmsg: String },
    /// No answer, a non-200 status, or a body that is not the documented JSON.
    #[error("WeChat could not be reached: {0}")]
    Transport(String),
}

/// The documented error body; every answer is first read as this.
#[derive(Deserialize)]
struct ErrorBody {
    #[serde(default)]
    errcode: i64,
    #[serde(default)]
    errmsg: String,
}

/// Talks to WeChat for one 公众号.
#[derive(Debug, Clone)]
pub struct WeChatClient {
    cfg: WeChatConfig,
    http: reqwest::Client,
}

impl WeChatClient {
    pub fn new(cfg: WeChatConfig) -> Self {
        let http = reqwest::Client::builder()
            .redirect(reqwest::redirect::Policy::none())
            .timeout(Duration::from_secs(10))
            .user_agent(concat!("kith/", env!("CARGO_PKG_VERSION")))
            .build()
            .unwrap_or_default();
        Self { cfg, http }
    }

    pub fn app_id(&self) -> &str {
        &self.cfg.app_id
    }

    pub fn scope(&self) -> Scope {
        self.cfg.scope
    }

    /// Where to send the browser: the authorize page with our `redirect_uri` (encoded) and
    /// `state`, ending in the `#wechat_redirect` fragment WeChat requires.
    pub fn authorize_url(&self, redirect_uri: &str, state: &str) -> Result<String, WeChatError> {
        let mut url = self.url(&self.cfg.authorize_base, "/connect/oauth2/authorize")?;
        url.query_pairs_mut()
            .append_pair("appid", &self.cfg.app_id)
            .append_pair("redirect_uri", redirect_uri)
            .append_pair("response_type", "code")
            .append_pair("scope", self.cfg.scope.as_str())
            .append_pair("state", state);
        url.set_fragment(Some("wechat_redirect"));
        Ok(url.into())
    }

    /// Exchanges an authorisation code for the web access token and the openid.
    pub async fn exchange_code(&self, code: &str) -> Result<AccessToken, WeChatError> {
        let mut url = self.url(&self.cfg.api_base, "/sns/oauth2/access_token")?;
        url.query_pairs_mut()
            .append_pair("appid", &self.cfg.app_id)
            .append_pair("secret", &self.cfg.app_secret)
            .append_pair("code", code)
            .append_pair("grant_type", "authorization_code");
        self.get_json(url).await
    }

    /// The person's nickname, avatar and unionid (`snsapi_userinfo` only).
    pub async fn userinfo(&self, token: &AccessToken) -> Result<UserInfo, WeChatError> {
        let mut url = self.url(&self.cfg.api_base, "/sns/userinfo")?;
        url.query_pairs_mut()
            .append_pair("access_token", &token.access_token)
            .append_pair("openid", &token.openid)
            .append_pair("lang", "zh_CN");
        let info: UserInfo = self.get_json(url).await?;
        if info.openid != token.openid {
            return Err(WeChatError::Transport(
                "userinfo answered for another openid".into(),
            ));
        }
        Ok(info)
    }

    fn url(&self, base: &str, path: &str) -> Result<Url, WeChatError> {
        Url::parse(&format!("{}{path}", base.trim_end_matches('/')))
            .map_err(|e| WeChatError::Transport(format!("bad base URL: {e}")))
    }

    async fn get_json<T: serde::de::DeserializeOwned>(&self, url: Url) -> Result<T, WeChatError> {
        // The error text of reqwest names the URL, which holds the secret or a token.
        let res = self
            .http
            .get(url)
            .send()
            .await
            .map_err(|e| WeChatError::Transport(e.without_url().to_string()))?;
        if !res.status().is_success() {
            return Err(WeChatError::Transport(format!("HTTP {}", res.status())));
        }
        let body = res
            .bytes()
            .await
            .map_err(|e| WeChatError::Transport(e.without_url().to_string()))?;
        if let Ok(e) = serde_json::from_slice::<ErrorBody>(&body)
            && e.errcode != 0
        {
            return Err(WeChatError::Api {
                errcode: e.errcode,
                errmsg: e.errmsg,
            });
        }
        serde_json::from_slice(&body)
            .map_err(|e| WeChatError::Transport(format!("unexpected answer: {e}")))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn client(scope: Scope) -> WeChatClient {
        WeChatClient::new(WeChatConfig {
            app_id: "wx1234567890abcdef".into(),
            app_secret: "s3cret-s3cret-s3cret".into(),
            scope,
            authorize_base: "https://open.weixin.qq.com".into(),
            api_base: "https://api.weixin.qq.com".into(),
        })
    }

    #[test]
    fn the_authorize_url_is_the_documented_one() {
        let url = client(Scope::UserInfo)
            .authorize_url(
                "https://shop.example.com/auth/wechat/callback?x=1&y=2",
                "st4te",
            )
            .unwrap();
        assert_eq!(
            url,
            "https://open.weixin.qq.com/connect/oauth2/authorize?appid=wx1234567890abcdef\
             &redirect_uri=https%3A%2F%2Fshop.example.com%2Fauth%2Fwechat%2Fcallback%3Fx%3D1%26y%3D2\
             &response_type=code&scope=snsapi_userinfo&state=st4te#wechat_redirect"
        );
        let base = client(Scope::Base)
            .authorize_url("https://a.example/cb", "s")
            .unwrap();
        assert!(base.contains("&scope=snsapi_base&"), "{base}");
    }

    #[test]
    fn the_secret_is_never_printed() {
        let c = client(Scope::Base);
        assert!(!format!("{c:?}").contains("s3cret"));
    }
}
