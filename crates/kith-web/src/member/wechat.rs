//! WeChat sign-in pages: 微信登录 (`/auth/wechat` → WeChat → `/auth/wechat/callback`), the
//! 完成登录 page for a WeChat identity no account has yet (`/auth/wechat/complete`: a new
//! account, or sign in with a password to link it), and 我的 → 微信关联 (`/me/wechat`:
//! link, unlink with re-authentication). Every decision is `kith_app`'s
//! (`platform::identities`); this file moves cookies and forms.
//!
//! Two cookies of the flow, both HttpOnly, SameSite=Lax (sent on WeChat's top-level
//! redirect back), Path=/auth/wechat, ten minutes: `kith_oauth` holds the browser secret
//! the state is bound to, `kith_wechat_pending` the pending identity's token.

use axum::Router;
use axum::extract::{Path, Query, State};
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use kith_app::AppError;
use kith_app::platform::identities::{CallbackOutcome, OAuthMode, Reauth};
use kith_app::platform::sms::CodePurpose;
use serde::Deserialize;

use super::{NextQuery, guard, local, session_cookie};
use crate::pages::{self, Empty};
use crate::{CsrfForm, Ctx, Web, WebError, WebResult, render, see};

const OAUTH_COOKIE: &str = "kith_oauth";
const PENDING_COOKIE: &str = "kith_wechat_pending";
const FLOW_SECS: i64 = 600;

pub(super) fn routes() -> Router<Web> {
    Router::new()
        .route("/auth/wechat", get(start))
        .route("/auth/wechat/callback", get(callback))
        .route("/auth/wechat/complete", get(complete_page))
        .route("/auth/wechat/complete/new", post(complete_new))
        .route("/auth/wechat/complete/link", post(complete_link))
        .route(
            "/auth/wechat/complete/phone-code",
            post(complete_phone_code),
        )
        .route("/auth/wechat/complete/phone", post(complete_phone))
        .route("/me/wechat", get(identities_page))
        .route("/me/wechat/link", post(link_start))
        .route("/me/wechat/{id}/unlink", post(unlink))
}

fn flow_cookie(s: &Web, name: &str, value: &str, max_age: i64) -> HeaderMap {
    let secure = if s.cfg.cookie_secure { "; Secure" } else { "" };
    let mut h = HeaderMap::new();
    if let Ok(v) = HeaderValue::from_str(&format!(
        "{name}={value}; Path=/auth/wechat; HttpOnly; SameSite=Lax; Max-Age={max_age}{secure}"
    )) {
        h.append(header::SET_COOKIE, v);
    }
    h
}

/// Several `Set-Cookie`s in one answer.
fn cookies(parts: impl IntoIterator<Item = HeaderMap>) -> HeaderMap {
    let mut out = HeaderMap::new();
    for h in parts {
        for v in h.get_all(header::SET_COOKIE) {
            out.append(header::SET_COOKIE, v.clone());
        }
    }
    out
}

/// 微信登录: to WeChat's authorize page, with this browser's secret in a cookie.
async fn start(State(s): State<Web>, c: Ctx, Query(q): Query<NextQuery>) -> WebResult<Response> {
    let next = local(q.next.as_deref(), "/");
    if c.viewer.is_some() {
        return Ok(see(next));
    }
    let go = s.app.wechat_start(OAuthMode::SignIn, None, &next).await?;
    Ok((
        flow_cookie(&s, OAUTH_COOKIE, &go.browser_secret, FLOW_SECS),
        see(go.authorize_url),
    )
        .into_response())
}

/// 关联微信 (signed in): the same flow in link mode.
async fn link_start(
    State(s): State<Web>,
    c: Ctx,
    CsrfForm(_): CsrfForm<Empty>,
) -> WebResult<Response> {
    let p = c.principal()?;
    let go = s
        .app
        .wechat_start(OAuthMode::Link, Some(p), "/me/wechat")
        .await?;
    Ok((
        flow_cookie(&s, OAUTH_COOKIE, &go.browser_secret, FLOW_SECS),
        see(go.authorize_url),
    )
        .into_response())
}

#[derive(Deserialize)]
struct CallbackQuery {
    #[serde(default)]
    code: String,
    #[serde(default)]
    state: String,
}

/// WeChat's redirect back.
async fn callback(
    State(s): State<Web>,
    c: Ctx,
    headers: HeaderMap,
    Query(q): Query<CallbackQuery>,
) -> WebResult<Response> {
    let browser = crate::cookie(&headers, OAUTH_COOKIE);
    let who = c.viewer.as_ref().map(|v| v.principal.clone());
    let outcome = s
        .app
        .wechat_callback(&q.code, &q.state, browser, who.as_ref())
        .await;
    let clear = flow_cookie(&s, OAUTH_COOKIE, "", 0);
    match outcome {
        Ok(CallbackOutcome::SignedIn { session, next }) => {
            let ttl = s.app.config.session_ttl_secs;
            let set = cookies([clear, session_cookie(&s, &session.token, ttl)]);
            Ok((set, see(local(Some(&next), "/"))).into_response())
        }
        Ok(CallbackOutcome::Pending { token }) => {
            let set = cookies([clear, flow_cookie(&s, PENDING_COOKIE, &token, FLOW_SECS)]);
            Ok((set, see("/auth/wechat/complete")).into_response())
        }
        Ok(CallbackOutcome::Linked { next }) => Ok((
            clear,
            see(format!("{}?linked=1", local(Some(&next), "/me/wechat"))),
        )
            .into_response()),
        Err(AppError::Conflict { field: Some(f), .. }) if f == "wechat" => {
            // Link mode, and the identity is someone else's: nothing moved.
            let taken = c.t.wechat().taken;
            let page = identities(&s, c, None, Some(taken)).await?;
            Ok((StatusCode::CONFLICT, clear, page).into_response())
        }
        Err(AppError::Invalid { field, reason }) => {
            tracing::info!(field, reason, "WeChat callback refused");
            let page = pages::ErrorPage {
                status: 422,
                detail: format!("{} ({field}: {reason})", c.t.wechat().flow_refused),
                css: crate::assets::url("kith.css"),
            };
            Ok((StatusCode::UNPROCESSABLE_ENTITY, clear, render(&page)?).into_response())
        }
        Err(e) => Err(e.into()),
    }
}

fn pending_token(headers: &HeaderMap) -> Option<String> {
    crate::cookie(headers, PENDING_COOKIE)
        .filter(|t| !t.is_empty() && t.len() <= 128)
        .map(str::to_owned)
}

fn expired(c: &Ctx) -> WebError {
    WebError::App(AppError::invalid("wechat", c.t.wechat().expired))
}

/// The 完成登录 page with nothing typed and no error.
fn complete(s: &Web, c: Ctx, nickname: String) -> pages::WeChatCompletePage {
    pages::WeChatCompletePage {
        c,
        nickname,
        new_error: None,
        link_error: None,
        login: String::new(),
        challenge: None,
        challenge_for: "",
        sms_enabled: s.app.sms_enabled(),
        sms: pages::SmsForm::default(),
        demo: s.cfg.demo,
    }
}

/// The nickname of the pending identity behind `token` (empty once it is gone).
async fn nickname(s: &Web, token: &str) -> String {
    s.app
        .wechat_pending(token)
        .await
        .map(|p| p.nickname)
        .unwrap_or_default()
}

/// 完成登录.
async fn complete_page(State(s): State<Web>, c: Ctx, headers: HeaderMap) -> WebResult<Response> {
    let token = pending_token(&headers).ok_or_else(|| expired(&c))?;
    let pending = s
        .app
        .wechat_pending(&token)
        .await
        .map_err(|_| expired(&c))?;
    let page = complete(&s, c, pending.nickname);
    let device = guard::device_cookie(&headers, s.cfg.cookie_secure);
    Ok((device, render(&page)?).into_response())
}

#[derive(Deserialize, Default)]
struct NewForm {
    #[serde(flatten)]
    challenge: guard::ChallengeFields,
}

/// 「创建新账号」.
async fn complete_new(
    State(s): State<Web>,
    c: Ctx,
    addr: kith_http::extract::ClientAddr,
    headers: HeaderMap,
    CsrfForm(f): CsrfForm<NewForm>,
) -> WebResult<Response> {
    let token = pending_token(&headers).ok_or_else(|| expired(&c))?;
    let device = guard::device(&headers);
    let solution = f.challenge.solution();
    let done = s
        .app
        .wechat_create_account(&token, &addr.0, device.as_deref(), solution.as_ref())
        .await;
    let (status, error, challenge) = match done {
        Ok((session, next)) => {
            let ttl = s.app.config.session_ttl_secs;
            let set = cookies([
                flow_cookie(&s, PENDING_COOKIE, "", 0),
                session_cookie(&s, &session.token, ttl),
            ]);
            return Ok((set, see(local(Some(&next), "/"))).into_response());
        }
        Err(AppError::NotFound(_)) => return Err(expired(&c)),
        Err(AppError::ChallengeRequired(ch)) => (
            StatusCode::TOO_MANY_REQUESTS,
            c.t.challenge_needed.to_owned(),
            Some(*ch),
        ),
        Err(e @ AppError::Conflict { .. }) => (StatusCode::CONFLICT, e.to_string(), None),
        Err(e) => return Err(e.into()),
    };
    let nickname = nickname(&s, &token).await;
    let page = pages::WeChatCompletePage {
        new_error: Some(error),
        challenge_for: if challenge.is_some() { "new" } else { "" },
        challenge,
        ..complete(&s, c, nickname)
    };
    Ok((status, render(&page)?).into_response())
}

#[derive(Deserialize)]
struct LinkForm {
    #[serde(default)]
    login: String,
    #[serde(default)]
    password: String,
    #[serde(flatten)]
    challenge: guard::ChallengeFields,
}

/// 「已有账号？登录后关联」: the password form; on success, linked and signed in.
async fn complete_link(
    State(s): State<Web>,
    c: Ctx,
    addr: kith_http::extract::ClientAddr,
    headers: HeaderMap,
    CsrfForm(f): CsrfForm<LinkForm>,
) -> WebResult<Response> {
    let token = pending_token(&headers).ok_or_else(|| expired(&c))?;
    let solution = f.challenge.solution();
    let done = s
        .app
        .wechat_link_pending(&token, &f.login, &f.password, &addr.0, solution.as_ref())
        .await;
    let (status, error, challenge) = match done {
        Ok((session, next)) => {
            let ttl = s.app.config.session_ttl_secs;
            let set = cookies([
                flow_cookie(&s, PENDING_COOKIE, "", 0),
                session_cookie(&s, &session.token, ttl),
            ]);
            return Ok((set, see(local(Some(&next), "/"))).into_response());
        }
        Err(AppError::NotFound(_)) => return Err(expired(&c)),
        Err(AppError::ChallengeRequired(ch)) => (
            StatusCode::TOO_MANY_REQUESTS,
            c.t.challenge_needed.to_owned(),
            Some(*ch),
        ),
        Err(AppError::Conflict { field: Some(f), .. }) if f == "wechat" => {
            (StatusCode::CONFLICT, c.t.wechat().taken.to_owned(), None)
        }
        Err(e @ (AppError::Unauthenticated(_) | AppError::Invalid { .. })) => {
            (StatusCode::UNAUTHORIZED, e.to_string(), None)
        }
        Err(e) => return Err(e.into()),
    };
    let nickname = nickname(&s, &token).await;
    let page = pages::WeChatCompletePage {
        link_error: Some(error),
        login: f.login,
        challenge_for: if challenge.is_some() { "link" } else { "" },
        challenge,
        ..complete(&s, c, nickname)
    };
    Ok((status, render(&page)?).into_response())
}

/// 「用手机验证码继续」 → 获取验证码: a `login` code to the number, back to the page with it
/// kept.
async fn complete_phone_code(
    State(s): State<Web>,
    c: Ctx,
    addr: kith_http::extract::ClientAddr,
    headers: HeaderMap,
    CsrfForm(f): CsrfForm<super::sms::CodeForm>,
) -> WebResult<Response> {
    let token = pending_token(&headers).ok_or_else(|| expired(&c))?;
    let nickname = s
        .app
        .wechat_pending(&token)
        .await
        .map_err(|_| expired(&c))?
        .nickname;
    let outcome = s
        .app
        .request_sms_code(&f.phone, CodePurpose::Login, &addr.0)
        .await;
    let (status, sms) = super::sms::after_send(&s, &c, f.phone, outcome)?;
    let page = pages::WeChatCompletePage {
        sms,
        ..complete(&s, c, nickname)
    };
    Ok((status, render(&page)?).into_response())
}

/// 「用手机验证码继续」 → 验证并继续: the number signs in (or signs up) and the WeChat
/// identity is linked to it.
async fn complete_phone(
    State(s): State<Web>,
    c: Ctx,
    addr: kith_http::extract::ClientAddr,
    headers: HeaderMap,
    CsrfForm(f): CsrfForm<super::sms::CodeForm>,
) -> WebResult<Response> {
    let token = pending_token(&headers).ok_or_else(|| expired(&c))?;
    let device = guard::device(&headers);
    let solution = f.challenge.solution();
    let done = s
        .app
        .wechat_continue_with_phone(
            &token,
            &f.phone,
            &f.code,
            &addr.0,
            device.as_deref(),
            solution.as_ref(),
        )
        .await;
    let mut sms = pages::SmsForm {
        phone: f.phone,
        ..pages::SmsForm::default()
    };
    let (status, challenge) = match done {
        Ok((session, next)) => {
            let ttl = s.app.config.session_ttl_secs;
            let set = cookies([
                flow_cookie(&s, PENDING_COOKIE, "", 0),
                session_cookie(&s, &session.token, ttl),
            ]);
            return Ok((set, see(local(Some(&next), "/"))).into_response());
        }
        Err(AppError::NotFound(_)) => return Err(expired(&c)),
        Err(AppError::ChallengeRequired(ch)) => {
            sms.code_error = Some(c.t.challenge_needed.to_owned());
            (StatusCode::TOO_MANY_REQUESTS, Some(*ch))
        }
        Err(AppError::Conflict { field: Some(f), .. }) if f == "wechat" => {
            sms.code_error = Some(c.t.wechat().taken.to_owned());
            (StatusCode::CONFLICT, None)
        }
        Err(e) => {
            let (status, phone_error, code_error) =
                super::sms::words(&c, &e).ok_or_else(|| WebError::from(e))?;
            sms.phone_error = phone_error;
            sms.code_error = code_error;
            (status, None)
        }
    };
    let nickname = nickname(&s, &token).await;
    let page = pages::WeChatCompletePage {
        sms,
        challenge_for: if challenge.is_some() { "phone" } else { "" },
        challenge,
        ..complete(&s, c, nickname)
    };
    Ok((status, render(&page)?).into_response())
}

#[derive(Deserialize, Default)]
struct LinkedQuery {
    linked: Option<String>,
    unlinked: Option<String>,
}

async fn identities(
    s: &Web,
    c: Ctx,
    notice: Option<String>,
    error: Option<&str>,
) -> WebResult<axum::response::Html<String>> {
    let p = c.principal()?.clone();
    let ids = s.app.identities(&p).await?;
    let error = error.map(str::to_owned);
    render(&pages::WeChatIdentitiesPage {
        password_needed: ids.reauth == Reauth::Password,
        enabled: s.app.wechat_enabled(),
        ids,
        notice,
        error,
        c,
    })
}

/// 我的 → 微信关联.
async fn identities_page(
    State(s): State<Web>,
    c: Ctx,
    Query(q): Query<LinkedQuery>,
) -> WebResult<Response> {
    let notice = if q.linked.is_some() {
        Some(c.t.wechat().linked_ok.to_owned())
    } else if q.unlinked.is_some() {
        Some(c.t.wechat().unlinked_ok.to_owned())
    } else {
        None
    };
    Ok(identities(&s, c, notice, None).await?.into_response())
}

#[derive(Deserialize)]
struct UnlinkForm {
    #[serde(default)]
    password: String,
}

/// 解除关联, with the password (or a recent WeChat sign-in for an account without one).
async fn unlink(
    State(s): State<Web>,
    c: Ctx,
    Path(id): Path<String>,
    CsrfForm(f): CsrfForm<UnlinkForm>,
) -> WebResult<Response> {
    let p = c.principal()?.clone();
    let id = kith_app::platform::ids::IdentityId::parse_or_404(&id)?;
    let password = Some(f.password.as_str()).filter(|p| !p.is_empty());
    let (status, error) = match s.app.unlink_identity(&p, &id, password).await {
        Ok(()) => return Ok(see("/me/wechat?unlinked=1")),
        Err(AppError::Invalid { field, reason }) if field == "password" => {
            let msg = if reason.contains("required") {
                c.t.wechat().need_password
            } else {
                c.t.wechat().wrong_password
            };
            (StatusCode::UNPROCESSABLE_ENTITY, msg)
        }
        Err(AppError::Forbidden(_)) => (StatusCode::FORBIDDEN, c.t.wechat().sign_in_again),
        Err(AppError::Conflict { .. }) => (StatusCode::CONFLICT, c.t.wechat().last_way_in),
        Err(e) => return Err(e.into()),
    };
    let page = identities(&s, c, None, Some(error)).await?;
    Ok((status, page).into_response())
}
