//! The member app: log in and out, register, the feed, posts with comments, threaded
//! replies and likes, editing and deleting one's posts, the composer, shops and products
//! with the member's tier price, cart and checkout, paying, orders, communities with their
//! announcements and invite links, and the member's own page with their commission wallet,
//! withdrawals, team and share links. Sharing makes (or re-uses) the member's share link
//! and shows it with a QR code; `/s/{code}` is where a shared link lands; opening a product
//! tagged in a post credits the post's author (content credit).

use axum::Router;
use axum::extract::{Multipart, Path, Query, State};
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use kith_app::commerce::orders::{Address, CheckoutInput};
use kith_app::money::sharing::{LinkKind, ShareLink};
use kith_app::platform::ids::{
    AccountId, CommunityId, InviteId, MerchantId, OrderId, PaymentId, PostId, SkuId,
};
use kith_app::platform::page::PageRequest;
use kith_app::social::posts::{NewPost, PostPatch, Visibility};
use kith_app::{AppError, Principal};
use kith_domain::order::DeliveryMethod;
use serde::Deserialize;

use crate::pages::social::{self as sp, WalletView};
use crate::pages::{self, Empty, opt_int, parse_int};
use crate::{CsrfForm, Ctx, Web, WebError, WebResult, csrf_token, render, see};

mod addresses;
mod communities;
mod guard;
mod home;
mod money;
mod notify;
mod posts;
mod shop;
mod sms;
mod wechat;

pub use shop::CheckoutForm;
pub(crate) use shop::address_words;

pub fn routes() -> Router<Web> {
    Router::new()
        .route("/", get(home::home))
        .route("/categories/{name}", get(home::category))
        .route("/people/{id}/follow", post(home::follow))
        .route("/login", get(login_page).post(login))
        .route("/login/sms-code", post(sms::send_code))
        .route("/login/sms", post(sms::sign_in))
        .route("/me/phone", get(sms::phone).post(sms::bind_phone))
        .route("/me/phone/code", post(sms::phone_code))
        .route("/register", get(register_page).post(register))
        .route("/register/code", post(register_code))
        .route("/logout", post(logout))
        .merge(wechat::routes())
        .route("/posts/{id}", get(posts::post_page))
        .route("/posts/{id}/like", post(posts::like))
        .route("/posts/{id}/unlike", post(posts::unlike))
        .route("/posts/{id}/comments", post(posts::comment))
        .route("/compose", get(posts::compose_page).post(posts::compose))
        .route("/shops", get(shop::shops))
        .route("/shops/{mid}", get(shop::shop))
        .route("/shops/{mid}/products/{pid}", get(shop::product))
        .route("/shops/{mid}/skus/{sid}", get(shop::sku))
        .route("/cart", get(shop::carts))
        .route("/shops/{mid}/cart", get(shop::cart).post(shop::set_cart))
        .route("/shops/{mid}/checkout", post(shop::checkout))
        .route("/orders", get(shop::orders))
        .route("/orders/{id}", get(shop::order))
        .route("/orders/{id}/pay", post(shop::pay))
        .route("/orders/{id}/cancel", post(shop::cancel))
        .route("/orders/{id}/confirm", post(shop::confirm))
        .route("/search", get(posts::search))
        .route("/communities", get(communities::communities))
        .route("/communities/{id}", get(communities::community))
        .route("/communities/{id}/join", post(communities::join))
        .route("/me", get(money::me))
        .route("/me/time-zone", post(set_time_zone))
        .route("/me/addresses", get(addresses::list).post(addresses::add))
        .route("/me/addresses/new", get(addresses::new))
        .route("/me/addresses/{id}", post(addresses::update))
        .route("/me/addresses/{id}/edit", get(addresses::edit))
        .route("/me/addresses/{id}/delete", post(addresses::delete))
        .route("/me/addresses/{id}/default", post(addresses::make_default))
        .route("/me/invitations", post(money::accept_invitation))
        .route("/me/topup", post(money::topup))
        .route("/me/wallet", get(money::wallet))
        .route("/me/wallet/withdrawals", post(money::withdraw))
        .route("/me/commissions/{order_id}", get(money::order_commission))
        .route("/me/team", get(money::team))
        .route("/me/notifications", get(notify::inbox))
        .route("/me/notifications/read-all", post(notify::read_all))
        .route("/me/notifications/{id}/open", post(notify::open))
        .route(
            "/me/notifications/settings",
            get(notify::settings).post(notify::save_settings),
        )
        .route("/me/links/{code}", get(money::share_page))
        .route("/share", post(money::share))
        .route("/s/{code}", get(money::follow_share))
        .route(
            "/s/{code}/join",
            get(money::share_join_page).post(money::share_join),
        )
        .route("/s/{code}/join/code", post(money::share_join_code))
        .route(
            "/posts/{id}/edit",
            get(posts::edit_post_page).post(posts::edit_post),
        )
        .route("/posts/{id}/delete", post(posts::delete_post))
        .route(
            "/communities/{id}/announcements",
            post(communities::announce),
        )
        .route(
            "/communities/{id}/invites",
            post(communities::create_invite),
        )
        .route(
            "/communities/{id}/invites/{invite_id}/revoke",
            post(communities::revoke_invite),
        )
        .route(
            "/c/join/{code}",
            get(communities::invite_page).post(communities::accept_invite),
        )
}

#[derive(Deserialize, Default)]
pub(crate) struct CursorQuery {
    pub(crate) cursor: Option<String>,
}

pub(crate) fn page(cursor: Option<&str>) -> WebResult<PageRequest> {
    Ok(PageRequest::parse(
        Some(20),
        cursor.filter(|c| !c.is_empty()),
    )?)
}

/// Where to go back to after a small action: a local path only (no open redirect).
pub(super) fn local(back: Option<&str>, fallback: &str) -> String {
    match back {
        // Visible ASCII only: anything else could not stand in a Location header.
        Some(b)
            if b.starts_with('/')
                && !b.starts_with("//")
                && !b.contains('\\')
                && b.bytes().all(|c| c.is_ascii_graphic()) =>
        {
            b.to_owned()
        }
        _ => fallback.to_owned(),
    }
}

// --- sessions ---------------------------------------------------------------------------

#[derive(Deserialize, Default)]
pub(super) struct NextQuery {
    next: Option<String>,
}

async fn login_page(
    State(s): State<Web>,
    c: Ctx,
    Query(q): Query<NextQuery>,
) -> WebResult<Response> {
    let next = local(q.next.as_deref(), "/");
    if c.viewer.is_some() {
        return Ok(see(next));
    }
    Ok(render(&pages::LoginPage {
        c,
        next,
        login: String::new(),
        error: None,
        challenge: None,
        demo: s.cfg.demo,
        wechat: s.app.wechat_enabled(),
        sms: pages::SmsForm::default(),
    })?
    .into_response())
}

#[derive(Deserialize)]
pub(super) struct LoginForm {
    #[serde(default)]
    login: String,
    #[serde(default)]
    password: String,
    next: Option<String>,
    #[serde(flatten)]
    challenge: guard::ChallengeFields,
}

/// Whether a GET is a person going to the page — a link followed, an address typed, a
/// link htmx boosted — rather than something a page made the browser fetch (an `<img>`, a
/// frame, a prefetch, a script's request). Only then may following a share link or a
/// post's product tag record a visit, bind a referrer or credit a post: a merchant who
/// points a product image at `/s/{code}` must not move anyone's commission.
///
/// Browsers say so in fetch metadata: `Sec-Fetch-Dest: document` with `Sec-Fetch-Mode:
/// navigate`, and no `Sec-Purpose`/`Purpose` (a prefetch). htmx's boosted links are
/// same-origin requests marked `HX-Boosted: true`, a header no image or cross-site page can
/// send. A browser that sends no fetch metadata is told by its `Accept`: a navigation asks
/// for `text/html`, an image request never does.
pub(super) fn top_level_navigation(h: &HeaderMap) -> bool {
    let get = |name: &str| {
        h.get(name)
            .and_then(|v| v.to_str().ok())
            .map(|v| v.trim().to_ascii_lowercase())
    };
    if get("sec-purpose").is_some() || get("purpose").is_some() {
        return false;
    }
    if get("hx-boosted").as_deref() == Some("true") {
        return get("sec-fetch-site").is_none_or(|site| site == "same-origin");
    }
    match get("sec-fetch-dest") {
        Some(dest) => {
            dest == "document" && get("sec-fetch-mode").is_none_or(|mode| mode == "navigate")
        }
        None => {
            get("sec-fetch-mode").is_none()
                && get("accept").is_some_and(|a| a.contains("text/html"))
        }
    }
}

pub(super) fn session_cookie(s: &Web, token: &str, max_age: i64) -> HeaderMap {
    let secure = if s.cfg.cookie_secure { "; Secure" } else { "" };
    let mut h = HeaderMap::new();
    if let Ok(v) = HeaderValue::from_str(&format!(
        "{}={token}; Path=/; HttpOnly; SameSite=Lax; Max-Age={max_age}{secure}",
        kith_http::extract::SESSION_COOKIE
    )) {
        h.insert(header::SET_COOKIE, v);
    }
    h
}

async fn login(
    State(s): State<Web>,
    c: Ctx,
    addr: kith_http::extract::ClientAddr,
    CsrfForm(f): CsrfForm<LoginForm>,
) -> WebResult<Response> {
    let next = local(f.next.as_deref(), "/");
    let solution = f.challenge.solution();
    let outcome = s
        .app
        .login_solved(&f.login, &f.password, &addr.0, solution.as_ref())
        .await;
    match outcome {
        Ok(session) => {
            let ttl = s.app.config.session_ttl_secs;
            Ok((session_cookie(&s, &session.token, ttl), see(next)).into_response())
        }
        Err(AppError::ChallengeRequired(challenge)) => {
            let page = pages::LoginPage {
                error: Some(c.t.challenge_needed.to_owned()),
                c,
                next,
                login: f.login,
                challenge: Some(*challenge),
                demo: s.cfg.demo,
                wechat: s.app.wechat_enabled(),
                sms: pages::SmsForm::default(),
            };
            Ok((StatusCode::TOO_MANY_REQUESTS, render(&page)?).into_response())
        }
        Err(e @ (AppError::Unauthenticated(_) | AppError::Invalid { .. })) => {
            let error =
                c.t.refusal(&e)
                    .unwrap_or_else(|| c.t.sign_in_refused().to_owned());
            let page = pages::LoginPage {
                c,
                next,
                login: f.login,
                error: Some(error),
                challenge: None,
                demo: s.cfg.demo,
                wechat: s.app.wechat_enabled(),
                sms: pages::SmsForm::default(),
            };
            Ok((StatusCode::UNAUTHORIZED, render(&page)?).into_response())
        }
        Err(e) => Err(e.into()),
    }
}

async fn register_page(State(s): State<Web>, c: Ctx, headers: HeaderMap) -> WebResult<Response> {
    let page = pages::RegisterPage {
        c,
        form: guard::blank_form(&s, REGISTER_CODE.to_owned(), String::new(), String::new()),
        challenge: None,
    };
    let device = guard::device_cookie(&headers, s.cfg.cookie_secure);
    Ok((device, render(&page)?).into_response())
}

/// Where 注册's 获取验证码 posts.
const REGISTER_CODE: &str = "/register/code";

async fn register(
    State(s): State<Web>,
    c: Ctx,
    addr: kith_http::extract::ClientAddr,
    headers: HeaderMap,
    CsrfForm(f): CsrfForm<guard::SignUpFields>,
) -> WebResult<Response> {
    let app = s.app.clone();
    let done = guard::sign_up(
        &s,
        &c,
        &addr.0,
        &headers,
        &f,
        REGISTER_CODE.to_owned(),
        |input| async move { app.register(input).await },
    )
    .await?;
    let refused = match done {
        Ok(cookie) => return Ok((cookie, see("/")).into_response()),
        Err(refused) => refused,
    };
    let page = pages::RegisterPage {
        c,
        form: refused.form,
        challenge: refused.challenge,
    };
    Ok((refused.status, render(&page)?).into_response())
}

/// 注册 → 获取验证码.
async fn register_code(
    State(s): State<Web>,
    c: Ctx,
    addr: kith_http::extract::ClientAddr,
    CsrfForm(f): CsrfForm<guard::SignUpFields>,
) -> WebResult<Response> {
    let (status, form) =
        guard::send_sign_up_code(&s, &c, &addr.0, &f, REGISTER_CODE.to_owned()).await?;
    let page = pages::RegisterPage {
        c,
        form,
        challenge: None,
    };
    Ok((status, render(&page)?).into_response())
}

async fn logout(
    State(s): State<Web>,
    headers: HeaderMap,
    CsrfForm(_): CsrfForm<Empty>,
) -> WebResult<Response> {
    if let Some((token, _)) = kith_http::extract::session_token(&headers) {
        s.app.logout(&token).await?;
    }
    Ok((session_cookie(&s, "", 0), see("/login")).into_response())
}

#[cfg(test)]
mod tests {
    use proptest::prelude::*;

    use super::local;

    #[test]
    fn only_local_paths_come_back() {
        assert_eq!(local(Some("/orders/1"), "/"), "/orders/1");
        for bad in [
            "//evil.example/",
            "https://evil.example/",
            "/\\evil",
            "evil",
            "",
        ] {
            assert_eq!(local(Some(bad), "/x"), "/x", "{bad}");
        }
        assert_eq!(local(None, "/x"), "/x");
    }

    proptest! {
        /// A `back`/`next` parameter never leads off the site.
        #[test]
        fn redirects_stay_on_the_site(s in "\\PC{0,20}") {
            let to = local(Some(&s), "/");
            prop_assert!(to.starts_with('/'));
            prop_assert!(!to.starts_with("//"));
            prop_assert!(!to.contains('\\'));
        }
    }
}

#[derive(serde::Deserialize)]
struct TimeZoneForm {
    zone: String,
}

/// 我的 → 时区: remembered in a cookie for a year; every page's times follow it.
async fn set_time_zone(c: Ctx, CsrfForm(f): CsrfForm<TimeZoneForm>) -> WebResult<Response> {
    c.principal()?;
    if crate::timezone::minutes_of(&f.zone).is_none() {
        return Err(AppError::invalid("zone", "is not one of the time zones offered").into());
    }
    let mut res = see("/me?done=saved#time-zone");
    let cookie = format!(
        "{}={}; Path=/; SameSite=Lax; Max-Age=31536000",
        crate::timezone::COOKIE,
        f.zone
    );
    if let Ok(v) = axum::http::HeaderValue::from_str(&cookie) {
        res.headers_mut().append(axum::http::header::SET_COOKIE, v);
    }
    Ok(res)
}
