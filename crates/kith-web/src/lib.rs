//! # kith-web
//!
//! The pages people use, rendered on the server from compiled askama templates and served
//! by the same binary as the API: the member app (feed, posts, shops, cart and checkout,
//! orders, communities, me), the merchant console, the clerk's pickup page and the platform
//! admin's page. htmx (vendored in `static/`, served from the binary) only enhances: every
//! page reads and every form works without JavaScript.
//!
//! ## Layout
//! One folder per area, each with its handlers (each parses a form, calls one `kith_app`
//! use case and redirects, POST → 303 → GET, or renders) and its templates in the folder of
//! the same name under `templates/`:
//! - [`member`]: the member app — sessions (`member/mod.rs`), feed, posts and search
//!   (`member/posts.rs`), shops, cart, checkout and orders (`member/shop.rs`), communities
//!   (`member/communities.rs`), the member's page and money sharing (`member/money.rs`).
//! - [`console`]: the merchant console — shop operations (`console/mod.rs`), analytics,
//!   commission plan, tiers and distributors (`console/growth.rs`).
//! - [`staff`]: the clerk's pickup page and the platform admin's page.
//! - [`group_buy`]: the group-buy pages, member and console.
//! - [`aftersale`]: the after-sale pages: the buyer's request and its progress, the console's
//!   queue, the admin's arbitration.
//! - [`neighbourhood`]: the 社区团购 pages (团长, 接龙 batches, pick lists).
//! - [`promotions`]: the coupon pages: 领券中心, 我的优惠券, the console's coupons.
//! - shared by every area: [`pages`] (the template structs and filters, form parsing
//!   helpers; `templates/shared/` holds the base layout, the error page and the post card),
//!   [`i18n`] (every string, once per language: zh-CN default, English via `?lang=en`),
//!   [`charts`] (bars, a line and a funnel drawn as inline SVG on the server).
//! - this file: the request context ([`Ctx`]: language, session, the caller's faces),
//!   CSRF protection, errors as pages, security headers, static files.
//!
//! Sessions are the API's: the `kith_session` cookie holding a token from `App::login`, read
//! with `kith_http::extract::session_token`. A state-changing request authenticated by
//! that cookie must pass two checks: the browser's `Sec-Fetch-Site`/`Origin` says it came
//! from this site, and its form carries the session's CSRF token (a hash of the session
//! token, which a cross-site page cannot read).
//!
//! Architecture invariant: no SQL and no business rule here; every decision is the use
//! case's. A page that needs a listing the API lacks gets a read-only method in
//! `kith_app::commerce::browse`.

pub mod aftersale;
pub mod assets;
pub mod charts;
pub mod console;
pub mod group_buy;
pub mod i18n;
pub mod loyalty;
pub mod member;
pub mod neighbourhood;
pub mod pages;
pub mod pictures;
pub mod promotions;
pub mod refusal;
pub mod staff;
pub mod timezone;

/// The QR encoder the share page draws with, for tests that read a page's QR code back.
pub use qrcode;

use std::sync::Arc;

use axum::Router;
use axum::extract::{FromRequest, FromRequestParts, Request, State};
use axum::http::request::Parts;
use axum::http::{HeaderMap, HeaderValue, Method, StatusCode, header};
use axum::response::{Html, IntoResponse, Redirect, Response};
use axum::routing::get;
use kith_app::platform::accounts::Me;
use kith_app::{App, AppError, Principal};
use serde::de::DeserializeOwned;
use sha2::{Digest, Sha256};
use tower_http::set_header::SetResponseHeaderLayer;

use crate::i18n::{Lang, Strings};

/// The cookie that remembers the chosen language.
pub const LANG_COOKIE: &str = "kith_lang";

/// Settings of the pages.
#[derive(Debug, Clone, Default)]
pub struct WebConfig {
    /// Mark cookies `Secure` (kith served over HTTPS).
    pub cookie_secure: bool,
    /// Largest upload the composer accepts, in bytes.
    pub upload_limit_bytes: usize,
    /// The server was started with `--demo`: the login page points at the demo's logins
    /// (and only then).
    pub demo: bool,
}

/// What every page handler can reach.
#[derive(Clone)]
pub struct Web {
    pub app: App,
    pub cfg: Arc<WebConfig>,
}

/// The pages' router, to merge beside the API's. It has no fallback of its own: the server
/// sets [`fallback`] on the merged router.
pub fn router(app: App, cfg: WebConfig) -> Router {
    let limit = cfg.upload_limit_bytes.max(64 * 1024);
    let state = Web {
        app,
        cfg: Arc::new(cfg),
    };
    let routes = routes().layer(axum::extract::DefaultBodyLimit::max(limit));
    with_page_layers(routes, state)
}

/// Every page route, without the layers: [`router`] serves them, and [`refusal`] asks them
/// again for the page a refused form was sent from.
pub(crate) fn routes() -> Router<Web> {
    Router::new()
        .route("/static/{file}", get(assets::serve))
        .route("/favicon.ico", get(assets::favicon))
        .merge(member::routes())
        .merge(console::routes())
        .merge(staff::routes())
        .merge(group_buy::routes())
        .merge(neighbourhood::routes())
        .merge(aftersale::routes())
        .merge(promotions::routes())
        .merge(loyalty::routes())
        .merge(pictures::routes())
}

/// What a path nothing serves answers, for the server's merged router: a browser asking
/// for a page gets the error page (in Chinese, inside the site's frame, with the way home)
/// instead of a JSON document; the API and every other client get the API's 404 problem.
pub fn fallback(app: App, cfg: WebConfig) -> Router {
    let state = Web {
        app,
        cfg: Arc::new(cfg),
    };
    with_page_layers(Router::new().fallback(not_found), state)
}

/// What every page answer gets: errors drawn in the site's frame, the language cookie, and
/// the browser's security headers (no framing, no sniffing, scripts and forms only from
/// here, nothing cached).
fn with_page_layers(router: Router<Web>, state: Web) -> Router {
    router
        .layer(axum::middleware::from_fn_with_state(
            state.clone(),
            refusal::inline,
        ))
        .layer(axum::middleware::from_fn_with_state(
            state.clone(),
            framed_errors,
        ))
        .layer(axum::middleware::from_fn(lang_cookie))
        .layer(axum::middleware::from_fn(timezone::scope))
        .layer(SetResponseHeaderLayer::overriding(
            header::CONTENT_SECURITY_POLICY,
            HeaderValue::from_static(
                "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; \
                 object-src 'none'; base-uri 'self'; form-action 'self'; frame-ancestors 'none'",
            ),
        ))
        .layer(SetResponseHeaderLayer::overriding(
            header::X_FRAME_OPTIONS,
            HeaderValue::from_static("DENY"),
        ))
        .layer(SetResponseHeaderLayer::overriding(
            header::X_CONTENT_TYPE_OPTIONS,
            HeaderValue::from_static("nosniff"),
        ))
        .layer(SetResponseHeaderLayer::overriding(
            header::REFERRER_POLICY,
            HeaderValue::from_static("same-origin"),
        ))
        .layer(SetResponseHeaderLayer::if_not_present(
            header::CACHE_CONTROL,
            HeaderValue::from_static("no-store"),
        ))
        .with_state(state)
}

/// `?lang=en` on any page remembers the choice in a cookie.
async fn lang_cookie(req: Request, next: axum::middleware::Next) -> Response {
    let chosen = req.uri().query().and_then(query_lang);
    let mut res = next.run(req).await;
    if let Some(lang) = chosen
        && let Ok(v) = HeaderValue::from_str(&format!(
            "{LANG_COOKIE}={}; Path=/; SameSite=Lax; Max-Age=31536000",
            lang.code()
        ))
    {
        res.headers_mut().append(header::SET_COOKIE, v);
    }
    res
}

fn query_lang(q: &str) -> Option<Lang> {
    form_pairs(q)
        .find(|(k, _)| k == "lang")
        .and_then(|(_, v)| Lang::parse(&v))
}

fn form_pairs(q: &str) -> impl Iterator<Item = (String, String)> + '_ {
    serde_urlencoded::from_str::<Vec<(String, String)>>(q)
        .unwrap_or_default()
        .into_iter()
}

/// The value of the cookie `name` the request carries.
pub(crate) fn cookie<'a>(headers: &'a axum::http::HeaderMap, name: &str) -> Option<&'a str> {
    headers
        .get_all(header::COOKIE)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|s| s.split(';'))
        .filter_map(|c| c.trim().split_once('='))
        .find(|(k, _)| *k == name)
        .map(|(_, v)| v)
}

/// The language of a request: `?lang=`, else the cookie, else zh-CN.
pub fn request_lang(parts: &Parts) -> Lang {
    parts
        .uri
        .query()
        .and_then(query_lang)
        .or_else(|| cookie(&parts.headers, LANG_COOKIE).and_then(Lang::parse))
        .unwrap_or(Lang::Zh)
}

/// The CSRF token of a session: a hash of its token, so only a page that was served to the
/// session's holder can know it.
pub fn csrf_token(session_token: &str) -> String {
    let mut h = Sha256::new();
    h.update(b"kith-web-csrf\0");
    h.update(session_token.as_bytes());
    hex::encode(&h.finalize()[..16])
}

/// A state-changing request must come from this site: browsers send `Sec-Fetch-Site`,
/// older ones at least `Origin`, which must name the host the request was sent to.
fn same_site(parts: &Parts) -> bool {
    if matches!(parts.method, Method::GET | Method::HEAD | Method::OPTIONS) {
        return true;
    }
    let h = &parts.headers;
    if let Some(site) = h.get("sec-fetch-site").and_then(|v| v.to_str().ok()) {
        return site == "same-origin" || site == "none";
    }
    match (
        h.get(header::ORIGIN).and_then(|v| v.to_str().ok()),
        h.get(header::HOST).and_then(|v| v.to_str().ok()),
    ) {
        (Some(origin), Some(host)) => origin.split_once("://").is_some_and(|(_, o)| o == host),
        // No browser headers: not a browser, so not a forged cross-site form. The form's
        // CSRF token is still required for anything a session does.
        (None, _) => true,
        _ => false,
    }
}

/// The signed-in person as the pages need them.
#[derive(Clone)]
pub struct Viewer {
    pub principal: Principal,
    pub me: Me,
    /// Unread notifications, for the badge in the navigation (one indexed count).
    pub unread: i64,
}

/// Everything a page knows about its request: language, viewer, CSRF token, path.
#[derive(Clone)]
pub struct Ctx {
    pub lang: Lang,
    pub t: &'static Strings,
    pub viewer: Option<Viewer>,
    pub csrf: String,
    pub path: String,
    /// Where signing in comes back to: this page for a GET; for a form sent from a page
    /// (点赞, 评论, 分享 by a visitor), that page — the form's action answers no GET.
    pub back: String,
    /// The server's public URL, for the absolute links a pasted link previews with.
    pub public_url: std::sync::Arc<str>,
    /// Now, by the app's clock (Unix ms): what "3 分钟前" counts from.
    pub now_ms: i64,
    /// The viewer's time zone, one of [`timezone::ZONES`]' ids.
    pub time_zone: &'static str,
}

impl Ctx {
    /// The signed-in principal, or a redirect to the login page that comes back to
    /// [`Ctx::back`].
    pub fn principal(&self) -> Result<&Principal, WebError> {
        self.viewer
            .as_ref()
            .map(|v| &v.principal)
            .ok_or_else(|| WebError::Login(self.back.clone()))
    }

    /// The login page, coming back to this page afterwards (not when this page is itself
    /// a way in: the login and sign-up pages, or a share link's landing).
    pub fn login_url(&self) -> String {
        let way_in = ["/login", "/register", "/s/"]
            .iter()
            .any(|p| self.path.starts_with(p));
        if way_in || self.path == "/" {
            "/login".to_owned()
        } else {
            format!("/login?next={}", encode(&self.path))
        }
    }

    /// `aria-current="page"` for the navigation link to `href` when this page is it (or,
    /// for a section's link, one of its pages), else nothing.
    pub fn current(&self, href: impl AsRef<str>, section: bool) -> &'static str {
        let path = self.path.split('?').next().unwrap_or("/");
        let href = href.as_ref();
        let here = path == href
            || (section && path.starts_with(href) && path[href.len()..].starts_with('/'));
        if here { "page" } else { "false" }
    }

    /// The one-line confirmation of the action that redirected here (`?done=<what>`).
    pub fn flash(&self) -> Option<&'static str> {
        let (_, q) = self.path.split_once('?')?;
        form_pairs(q)
            .find(|(k, _)| k == "done")
            .and_then(|(_, v)| self.t.done(&v))
    }

    /// The URL of the static file `name`, content-hashed so it can be cached for a year.
    pub fn asset(&self, name: &str) -> String {
        assets::url(name)
    }

    pub fn other_lang(&self) -> Lang {
        self.lang.other()
    }

    /// This page in the other language.
    pub fn lang_url(&self) -> String {
        let path = self.path.split('?').next().unwrap_or("/");
        format!("{path}?lang={}", self.lang.other().code())
    }

    /// The viewer's unread notifications (0 when signed out).
    pub fn unread(&self) -> i64 {
        self.viewer.as_ref().map_or(0, |v| v.unread)
    }

    /// The viewer's picture, if they chose one.
    pub fn avatar(&self) -> Option<&kith_app::social::media::MediaRef> {
        self.viewer.as_ref()?.me.account.avatar.as_ref()
    }

    pub fn display_name(&self) -> &str {
        self.viewer
            .as_ref()
            .map_or("", |v| v.me.account.display_name.as_str())
    }

    /// The signed-in viewer's phone, to fill a delivery address ("" without one).
    pub fn phone(&self) -> String {
        self.viewer
            .as_ref()
            .and_then(|v| v.me.account.phone.clone())
            .unwrap_or_default()
    }

    /// `path` (a page, a `/media/…` picture) as an absolute URL on the public site;
    /// `https://` URLs stay as they are.
    pub fn absolute(&self, path: &str) -> String {
        pages::OpenGraph::absolute(&self.public_url, path)
    }

    /// An RFC 3339 time as the feed says it, relative to now (刚刚, 5 分钟前, 3 小时前,
    /// 2 天前), and as its Beijing date once more than a week old.
    pub fn ago(&self, rfc3339: &str) -> String {
        match time::OffsetDateTime::parse(rfc3339, &time::format_description::well_known::Rfc3339) {
            Ok(t) => {
                let ms = i64::try_from(t.unix_timestamp_nanos() / 1_000_000).unwrap_or(i64::MAX);
                self.t.ago((self.now_ms - ms) / 1000).unwrap_or_else(|| {
                    let day = pages::beijing(rfc3339);
                    day.get(..10).unwrap_or(&day).to_owned()
                })
            }
            Err(_) => rfc3339.to_owned(),
        }
    }

    /// The zones a viewer may choose: (id, name in the page's language).
    pub fn time_zones(&self) -> Vec<(&'static str, &'static str)> {
        let zh = self.lang == Lang::Zh;
        timezone::ZONES
            .iter()
            .map(|z| (z.0, if zh { z.2 } else { z.3 }))
            .collect()
    }

    /// Whether `id` is the viewer's zone.
    pub fn is_time_zone(&self, id: &str) -> bool {
        self.time_zone == id
    }

    /// This page's own absolute URL, without its query (what a shared link names).
    pub fn page_url(&self) -> String {
        self.absolute(self.path.split('?').next().unwrap_or("/"))
    }

    pub fn is_admin(&self) -> bool {
        self.viewer
            .as_ref()
            .is_some_and(|v| v.principal.is_platform_admin)
    }

    pub fn is_staff(&self) -> bool {
        self.viewer
            .as_ref()
            .is_some_and(|v| !v.me.staff_of.is_empty())
    }

    /// The first store the viewer clerks at, for the nav link.
    pub fn clerk_store(&self) -> Option<&str> {
        self.viewer
            .as_ref()
            .and_then(|v| v.me.clerk_of.first())
            .map(|c| c.store_id.as_str())
    }
}

impl FromRequestParts<Web> for Ctx {
    type Rejection = WebError;

    async fn from_request_parts(parts: &mut Parts, state: &Web) -> Result<Self, WebError> {
        if !same_site(parts) {
            return Err(WebError::Csrf);
        }
        let lang = request_lang(parts);
        let token = kith_http::extract::session_token(&parts.headers).map(|(t, _)| t);
        let mut viewer = None;
        if let Some(token) = &token
            && let Ok(principal) = state.app.authenticate(token).await
        {
            let me = state.app.me(&principal).await?;
            let unread = state.app.unread_notifications(&principal).await?;
            viewer = Some(Viewer {
                principal,
                me,
                unread,
            });
        }
        // Whenever a session cookie is sent, forms carry its token (even a stale one, so
        // logging in again with an expired cookie still passes the check).
        let csrf = token.as_deref().map(csrf_token).unwrap_or_default();
        let path = parts
            .uri
            .path_and_query()
            .map_or("/", |p| p.as_str())
            .to_owned();
        let back = if parts.method == axum::http::Method::GET
            || parts.method == axum::http::Method::HEAD
        {
            path.clone()
        } else {
            same_site_referer(&parts.headers).unwrap_or_else(|| "/".to_owned())
        };
        Ok(Ctx {
            lang,
            t: lang.strings(),
            viewer,
            csrf,
            path,
            back,
            public_url: state.app.config.public_url.as_str().into(),
            now_ms: state.app.now_ms(),
            time_zone: timezone::chosen(&parts.headers),
        })
    }
}

/// A url-encoded form whose `csrf` field must match the session's token. Every field is
/// text (handlers parse numbers themselves, naming the field when one is wrong).
pub struct CsrfForm<T>(pub T);

#[derive(serde::Deserialize)]
struct WithCsrf<T> {
    #[serde(default)]
    csrf: String,
    #[serde(flatten)]
    inner: T,
}

impl<T: DeserializeOwned> FromRequest<Web> for CsrfForm<T> {
    type Rejection = WebError;

    async fn from_request(req: Request, state: &Web) -> Result<Self, WebError> {
        let (mut parts, body) = req.into_parts();
        if !same_site(&parts) {
            return Err(WebError::Csrf);
        }
        let token = kith_http::extract::session_token(&parts.headers).map(|(t, _)| t);
        let _ = &mut parts;
        let bytes = axum::body::Bytes::from_request(Request::from_parts(parts, body), state)
            .await
            .map_err(|e| WebError::App(AppError::invalid("body", e.body_text())))?;
        let form: WithCsrf<T> = serde_urlencoded::from_bytes(&bytes)
            .map_err(|e| WebError::App(AppError::invalid("form", e.to_string())))?;
        if let Some(t) = token
            && form.csrf != csrf_token(&t)
        {
            return Err(WebError::Csrf);
        }
        Ok(CsrfForm(form.inner))
    }
}

/// What a page handler can fail with; each renders as a page (or a redirect to log in).
#[derive(Debug)]
pub enum WebError {
    Login(String),
    Csrf,
    App(AppError),
}

impl From<AppError> for WebError {
    fn from(e: AppError) -> Self {
        WebError::App(e)
    }
}

impl From<askama::Error> for WebError {
    fn from(e: askama::Error) -> Self {
        WebError::App(AppError::Internal(format!("template: {e}")))
    }
}

pub type WebResult<T> = Result<T, WebError>;

/// Percent-encodes a path for a `next=` parameter.
pub fn encode(s: &str) -> String {
    serde_urlencoded::to_string([("", s)])
        .map(|s| s.trim_start_matches('=').to_owned())
        .unwrap_or_default()
}

impl IntoResponse for WebError {
    fn into_response(self) -> Response {
        let refused = match &self {
            WebError::App(e) => {
                i18n::refusals::RefusalKind::of(e).map(|(kind, field, reason)| refusal::Refused {
                    kind,
                    field: field.map(str::to_owned),
                    reason,
                })
            }
            _ => None,
        };
        // This page is drawn in Chinese (the frame redraws it for the viewer).
        let said = |e: &AppError| i18n::ZH.refusal(e).unwrap_or_default();
        let (status, detail) = match self {
            WebError::Login(next) => {
                return Redirect::to(&format!("/login?next={}", encode(&next))).into_response();
            }
            WebError::Csrf => (
                StatusCode::FORBIDDEN,
                "页面已过期，请刷新后再试一次".to_owned(),
            ),
            WebError::App(e) => match e {
                AppError::Unauthenticated(_) => {
                    return Redirect::to("/login").into_response();
                }
                // Forms show their refusals beside the field (`refusal::inline`); one
                // that reaches this page is said here, in Chinese too.
                AppError::Invalid { .. } => (
                    StatusCode::UNPROCESSABLE_ENTITY,
                    format!("提交的内容有误：{}", said(&e)),
                ),
                AppError::Forbidden(_) => (
                    StatusCode::FORBIDDEN,
                    "你没有权限查看或进行这个操作".to_owned(),
                ),
                AppError::NotFound(what) => (
                    StatusCode::NOT_FOUND,
                    format!("{}不存在，可能已被删除或链接有误", missing_thing(what)),
                ),
                AppError::Conflict { .. } => {
                    (StatusCode::CONFLICT, format!("操作未能完成：{}", said(&e)))
                }
                // A form that can show the challenge renders it itself; anywhere else
                // (signing in right after a sign-up from a busy address) it is a 429.
                AppError::TooManyRequests { .. } | AppError::ChallengeRequired(_) => (
                    StatusCode::TOO_MANY_REQUESTS,
                    "操作太频繁，请稍后再试".to_owned(),
                ),
                AppError::Store(kith_store::StoreError::Unavailable(_)) => (
                    StatusCode::SERVICE_UNAVAILABLE,
                    "服务暂时不可用，请稍后再试".to_owned(),
                ),
                other => {
                    tracing::error!(error = %other, "page failed");
                    (
                        StatusCode::INTERNAL_SERVER_ERROR,
                        "服务器出了点问题，请稍后再试".to_owned(),
                    )
                }
            },
        };
        let mut res = bare_error_page(status, &detail);
        res.extensions_mut().insert(ErrorShown {
            status,
            detail,
            refused,
        });
        res
    }
}

/// The bare error page for `status` saying `detail`.
fn bare_error_page(status: StatusCode, detail: &str) -> Response {
    let page = pages::ErrorPage {
        status: status.as_u16(),
        detail: detail.to_owned(),
        css: assets::url("kith.css"),
    };
    match askama::Template::render(&page) {
        Ok(html) => (status, Html(html)).into_response(),
        Err(_) => (status, "error").into_response(),
    }
}

/// An error page's words, left on the response by [`WebError`] so [`framed_errors`] can
/// draw them inside the site's frame for whoever is looking.
#[derive(Clone)]
struct ErrorShown {
    status: StatusCode,
    detail: String,
    /// The refusal the page says, for [`refusal::inline`] to say beside its field instead.
    refused: Option<refusal::Refused>,
}

/// Draws every error page of the pages' routes inside the site's frame (header, tabs and
/// the viewer's name, in the viewer's language) with a way back, instead of a bare page.
/// The request's URI and headers are kept to read the viewer again after the handler
/// failed; when that cannot be done (a cross-site form, the store down), the bare page
/// stands.
async fn framed_errors(
    State(web): State<Web>,
    req: Request,
    next: axum::middleware::Next,
) -> Response {
    let (uri, headers) = (req.uri().clone(), req.headers().clone());
    let opened = req.method() == axum::http::Method::GET;
    let res = next.run(req).await;
    let shown = match res.extensions().get::<ErrorShown>().cloned() {
        Some(shown) => shown,
        // A form's address opened as a page (a bookmark, a pasted link): the router's
        // bare 405 becomes the framed page with the way back.
        None if opened && res.status() == StatusCode::METHOD_NOT_ALLOWED => ErrorShown {
            status: StatusCode::METHOD_NOT_ALLOWED,
            detail: "这个地址只接受页面上的表单提交，请回到页面上操作".to_owned(),
            refused: None,
        },
        None => return res,
    };
    match framed_error(&web, uri, headers, &shown).await {
        Some(mut framed) => {
            // Headers the handler set (a cleared cookie) survive the redraw.
            for (name, value) in res.headers() {
                if name != header::CONTENT_TYPE && name != header::CONTENT_LENGTH {
                    framed.headers_mut().append(name, value.clone());
                }
            }
            framed
        }
        None => res,
    }
}

/// The framed error page for the request at `uri` with `headers`, if its viewer can be read.
async fn framed_error(
    web: &Web,
    uri: axum::http::Uri,
    headers: HeaderMap,
    shown: &ErrorShown,
) -> Option<Response> {
    let (mut parts, ()) = Request::builder().uri(uri).body(()).ok()?.into_parts();
    parts.headers = headers;
    let back = same_site_referer(&parts.headers);
    let c = Ctx::from_request_parts(&mut parts, web).await.ok()?;
    let back = back.filter(|b| *b != c.path);
    let page = pages::FramedErrorPage {
        c,
        status: shown.status.as_u16(),
        detail: shown.detail.clone(),
        back,
    };
    let html = askama::Template::render(&page).ok()?;
    Some((shown.status, Html(html)).into_response())
}

/// The path (and query) of the `Referer` when it is a page of this same site.
fn same_site_referer(headers: &HeaderMap) -> Option<String> {
    let referer = headers.get(header::REFERER)?.to_str().ok()?;
    let host = headers.get(header::HOST)?.to_str().ok()?;
    let rest = referer
        .strip_prefix("http://")
        .or_else(|| referer.strip_prefix("https://"))?;
    let path = rest.strip_prefix(host)?;
    (path.starts_with('/') && !path.starts_with("//")).then(|| path.to_owned())
}

/// What a 404 names, as the error page says it (`order` → 订单).
fn missing_thing(what: &str) -> &'static str {
    i18n::refusals::zh_thing(what)
}

/// The [`fallback`]'s handler: the error page for a browser, the API's problem otherwise.
async fn not_found(req: Request) -> Response {
    let wants_page = !req.uri().path().starts_with("/api/")
        && req
            .headers()
            .get(header::ACCEPT)
            .and_then(|v| v.to_str().ok())
            .is_some_and(|a| a.contains("text/html"));
    if !wants_page {
        return kith_http::not_found().await.into_response();
    }
    let detail = "页面不存在，可能已被删除或链接有误".to_owned();
    let mut res = bare_error_page(StatusCode::NOT_FOUND, &detail);
    res.extensions_mut().insert(ErrorShown {
        status: StatusCode::NOT_FOUND,
        detail,
        refused: None,
    });
    res
}

/// Renders a template as a 200 page.
pub fn render<T: askama::Template>(t: &T) -> WebResult<Html<String>> {
    Ok(Html(t.render()?))
}

/// A POST's answer: see the result at `to`.
pub fn see(to: impl AsRef<str>) -> Response {
    Redirect::to(to.as_ref()).into_response()
}
