//! A local WeChat that speaks the 公众号 web authorisation endpoints strictly, for the
//! sign-in stories: `GET /sns/oauth2/access_token` (checks `appid`, `secret`, `grant_type`;
//! a code is good once: 40029 for an unknown code, 40163 for one already used) and
//! `GET /sns/userinfo` (only for its own access tokens, and only the token's openid). The
//! authorize page is played by [`FakeWeChat::authorize`]: it checks the redirect the
//! server sent the browser to, exactly as documented, and answers with the callback URL
//! carrying a fresh code bound to the person and the app.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};

use axum::Json;
use axum::extract::{Query, State};
use axum::routing::get;
use serde_json::{Value, json};

pub(crate) const APP_ID: &str = "wx5f3a2b1c0d9e8f70";
pub(crate) const SECRET: &str = "0123456789abcdef0123456789abcdef";

/// A WeChat user.
#[derive(Clone, Debug)]
pub(crate) struct WxUser {
    pub openid: String,
    pub unionid: Option<String>,
    pub nickname: String,
}

impl WxUser {
    pub(crate) fn new(tag: &str, unionid: bool) -> Self {
        let n = kith_app::platform::ids::new_secret("");
        WxUser {
            openid: format!("o{tag}{}", &n[..20]),
            unionid: unionid.then(|| format!("u{tag}{}", &n[20..40])),
            nickname: format!("微信{tag}"),
        }
    }
}

#[derive(Default)]
struct Inner {
    /// code → (user, used)
    codes: HashMap<String, (WxUser, bool)>,
    /// access token → user
    tokens: HashMap<String, WxUser>,
    /// Exchanges asked, per code (answered or refused).
    exchanges: HashMap<String, usize>,
}

pub(crate) struct FakeWeChat {
    pub base: String,
    inner: Arc<Mutex<Inner>>,
}

/// The server flags that point kith at the shared local WeChat (for `both_engines_with!`).
pub(crate) fn configure(a: &mut kith::config::ServeArgs) {
    FakeWeChat::shared().configure(a);
}

fn err(code: i64, msg: &str) -> Json<Value> {
    Json(json!({ "errcode": code, "errmsg": format!("{msg}, rid: 6571f0c1-0b2d4e5f-1a2b3c4d") }))
}

async fn access_token(
    State(inner): State<Arc<Mutex<Inner>>>,
    Query(q): Query<HashMap<String, String>>,
) -> Json<Value> {
    let mut g = inner.lock().unwrap();
    if let Some(code) = q.get("code") {
        *g.exchanges.entry(code.clone()).or_default() += 1;
    }
    if q.get("appid").map(String::as_str) != Some(APP_ID) {
        return err(40013, "invalid appid");
    }
    if q.get("secret").map(String::as_str) != Some(SECRET) {
        return err(40125, "invalid appsecret");
    }
    if q.get("grant_type").map(String::as_str) != Some("authorization_code") {
        return err(40002, "invalid grant_type");
    }
    let Some(code) = q.get("code") else {
        return err(41008, "missing code");
    };
    let user = match g.codes.get_mut(code) {
        None => return err(40029, "invalid code"),
        Some((_, true)) => return err(40163, "code been used"),
        Some((user, used)) => {
            *used = true;
            user.clone()
        }
    };
    let token = kith_app::platform::ids::new_secret("at_");
    g.tokens.insert(token.clone(), user.clone());
    let mut body = json!({
        "access_token": token,
        "expires_in": 7200,
        "refresh_token": kith_app::platform::ids::new_secret("rt_"),
        "openid": user.openid,
        "scope": "snsapi_userinfo",
    });
    if let Some(u) = &user.unionid {
        body["unionid"] = json!(u);
    }
    Json(body)
}

async fn userinfo(
    State(inner): State<Arc<Mutex<Inner>>>,
    Query(q): Query<HashMap<String, String>>,
) -> Json<Value> {
    let g = inner.lock().unwrap();
    let Some(user) = q.get("access_token").and_then(|t| g.tokens.get(t)) else {
        return err(
            40001,
            "invalid credential, access_token is invalid or not latest",
        );
    };
    if q.get("openid") != Some(&user.openid) {
        return err(40003, "invalid openid");
    }
    if q.get("lang").map(String::as_str) != Some("zh_CN") {
        return err(40003, "invalid lang");
    }
    let mut body = json!({
        "openid": user.openid,
        "nickname": user.nickname,
        "sex": 0,
        "province": "",
        "city": "",
        "country": "",
        "headimgurl": "https://thirdwx.qlogo.cn/mmopen/vi_32/x/132",
        "privilege": [],
    });
    if let Some(u) = &user.unionid {
        body["unionid"] = json!(u);
    }
    Json(body)
}

impl FakeWeChat {
    /// One local WeChat for the test binary, on 127.0.0.1:0, served from a thread of its
    /// own (each story's runtime ends with the story). Codes and tokens are per user, so
    /// stories running at once do not meet.
    pub(crate) fn shared() -> &'static FakeWeChat {
        static ONE: std::sync::OnceLock<FakeWeChat> = std::sync::OnceLock::new();
        ONE.get_or_init(|| {
            let inner = Arc::new(Mutex::new(Inner::default()));
            let app = axum::Router::new()
                .route("/sns/oauth2/access_token", get(access_token))
                .route("/sns/userinfo", get(userinfo))
                .with_state(inner.clone());
            let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
            listener.set_nonblocking(true).unwrap();
            let base = format!("http://{}", listener.local_addr().unwrap());
            std::thread::spawn(move || {
                let rt = tokio::runtime::Builder::new_current_thread()
                    .enable_all()
                    .build()
                    .unwrap();
                rt.block_on(async move {
                    let listener = tokio::net::TcpListener::from_std(listener).unwrap();
                    let _ = axum::serve(listener, app).await;
                });
            });
            FakeWeChat { base, inner }
        })
    }

    /// The server flags that point kith at this WeChat.
    pub(crate) fn configure(&self, a: &mut kith::config::ServeArgs) {
        a.wechat_app_id = Some(APP_ID.into());
        a.wechat_app_secret = Some(SECRET.into());
        a.wechat_scope = Some("snsapi_userinfo".into());
        a.wechat_authorize_base = Some(self.base.clone());
        a.wechat_api_base = Some(self.base.clone());
    }

    /// Plays WeChat's authorize page: checks the URL kith sent the browser to and returns
    /// the path and query of kith's callback with a fresh code for `user`.
    pub(crate) fn authorize(&self, location: &str, kith_base: &str, user: &WxUser) -> String {
        let (url, fragment) = location
            .split_once('#')
            .expect("a #wechat_redirect fragment");
        assert_eq!(fragment, "wechat_redirect");
        let (path, query) = url.split_once('?').expect("a query");
        assert_eq!(path, format!("{}/connect/oauth2/authorize", self.base));
        let pairs: Vec<(String, String)> = serde_urlencoded::from_str(query).expect("query");
        let names: Vec<&str> = pairs.iter().map(|(k, _)| k.as_str()).collect();
        assert_eq!(
            names,
            ["appid", "redirect_uri", "response_type", "scope", "state"],
            "the documented parameters, in the documented order"
        );
        let get = |k: &str| {
            pairs
                .iter()
                .find(|(n, _)| n == k)
                .map(|(_, v)| v.clone())
                .unwrap()
        };
        assert_eq!(get("appid"), APP_ID);
        assert_eq!(get("response_type"), "code");
        assert_eq!(get("scope"), "snsapi_userinfo");
        let redirect = get("redirect_uri");
        assert_eq!(redirect, format!("{kith_base}/auth/wechat/callback"));
        let state = get("state");
        assert!(state.len() >= 32, "state is random: {state}");
        let code = self.issue_code(user);
        format!(
            "/auth/wechat/callback?code={code}&state={}",
            kith_web_encode(&state)
        )
    }

    /// A code for `user`, as the authorize page would give.
    pub(crate) fn issue_code(&self, user: &WxUser) -> String {
        let code = kith_app::platform::ids::new_secret("")[..32].to_owned();
        self.inner
            .lock()
            .unwrap()
            .codes
            .insert(code.clone(), (user.clone(), false));
        code
    }

    /// How many times kith asked WeChat to exchange `code`.
    pub(crate) fn exchanges(&self, code: &str) -> usize {
        self.inner
            .lock()
            .unwrap()
            .exchanges
            .get(code)
            .copied()
            .unwrap_or(0)
    }
}

fn kith_web_encode(s: &str) -> String {
    serde_urlencoded::to_string([("", s)])
        .map(|s| s.trim_start_matches('=').to_owned())
        .unwrap()
}
