//! Sign-in by SMS code on the login page: 获取验证码 (`POST /login/sms-code`) comes back to
//! the same form with the number kept and "已发送" — or the reason beside the field — and
//! 登录 (`POST /login/sms`) signs in, registering a new number in the same step through the
//! sign-up gate (a challenge, when asked, is solved in this form). Every error is shown in
//! the page's language beside its field, what was typed kept. No script needed.

use axum::extract::State;
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use kith_app::AppError;
use kith_app::platform::sms::CodePurpose;
use serde::Deserialize;

use super::{guard, local, session_cookie};
use crate::pages::{self, SmsForm};
use crate::{CsrfForm, Ctx, Web, WebResult, render, see};

#[derive(Deserialize)]
pub(super) struct CodeForm {
    #[serde(default)]
    pub(super) phone: String,
    #[serde(default)]
    pub(super) code: String,
    next: Option<String>,
    #[serde(flatten)]
    pub(super) challenge: guard::ChallengeFields,
}

/// The login page with the SMS form as `sms` says, answered with `status`.
fn page(s: &Web, c: Ctx, next: String, sms: SmsForm, status: StatusCode) -> WebResult<Response> {
    let challenge = None;
    let page = pages::LoginPage {
        c,
        next,
        login: String::new(),
        error: None,
        challenge,
        demo: s.cfg.demo,
        wechat: s.app.wechat_enabled(),
        sms,
    };
    Ok((status, render(&page)?).into_response())
}

/// An error of the SMS form in the page's words: (status, beside the phone, beside the code).
pub(super) fn words(c: &Ctx, e: &AppError) -> Option<(StatusCode, Option<String>, Option<String>)> {
    let t = c.t;
    Some(match e {
        AppError::Invalid { field, .. } if field == "phone" => (
            StatusCode::UNPROCESSABLE_ENTITY,
            Some(t.sms_bad_phone.to_owned()),
            None,
        ),
        AppError::Invalid { field, .. } if field == "code" => (
            StatusCode::UNPROCESSABLE_ENTITY,
            None,
            Some(t.sms_bad_code.to_owned()),
        ),
        AppError::Unauthenticated(_) => (
            StatusCode::UNAUTHORIZED,
            None,
            Some(t.sms_wrong_code.to_owned()),
        ),
        AppError::TooManyRequests { retry_after_secs } => (
            StatusCode::TOO_MANY_REQUESTS,
            Some(format!("{} {retry_after_secs}", t.sms_too_many)),
            None,
        ),
        AppError::Unavailable(_) => (
            StatusCode::SERVICE_UNAVAILABLE,
            Some(t.sms_unavailable.to_owned()),
            None,
        ),
        _ => return None,
    })
}

/// 获取验证码: asks for a code and comes back to the form.
pub(super) async fn send_code(
    State(s): State<Web>,
    c: Ctx,
    addr: kith_http::extract::ClientAddr,
    CsrfForm(f): CsrfForm<CodeForm>,
) -> WebResult<Response> {
    let next = local(f.next.as_deref(), "/");
    let outcome = s
        .app
        .request_sms_code(&f.phone, CodePurpose::Login, &addr.0)
        .await;
    let (status, sms) = after_send(&s, &c, f.phone, outcome)?;
    page(&s, c, next, sms, status)
}

/// The SMS form after 获取验证码: the number kept, and "已发送" or the reason beside its
/// field (an error the form cannot show is the page's error). On a `--demo` server, whose
/// console provider sends nothing, the code it "sent" is shown so a visitor can go on.
pub(super) fn after_send(
    s: &Web,
    c: &Ctx,
    phone: String,
    outcome: Result<(), AppError>,
) -> WebResult<(StatusCode, SmsForm)> {
    let mut sms = SmsForm {
        phone,
        ..SmsForm::default()
    };
    match outcome {
        Ok(()) => {
            sms.sent = true;
            if s.cfg.demo {
                sms.demo_code = demo_code(s, &sms.phone);
            }
            Ok((StatusCode::OK, sms))
        }
        Err(e) => match words(c, &e) {
            Some((status, phone_error, code_error)) => {
                sms.phone_error = phone_error;
                sms.code_error = code_error;
                Ok((status, sms))
            }
            None => Err(e.into()),
        },
    }
}

/// 登录: signs in (or up) with the number and the code.
pub(super) async fn sign_in(
    State(s): State<Web>,
    c: Ctx,
    addr: kith_http::extract::ClientAddr,
    headers: HeaderMap,
    CsrfForm(f): CsrfForm<CodeForm>,
) -> WebResult<Response> {
    let next = local(f.next.as_deref(), "/");
    let device = guard::device(&headers);
    let solution = f.challenge.solution();
    let outcome = s
        .app
        .sms_login(
            &f.phone,
            &f.code,
            None,
            &addr.0,
            device.as_deref(),
            solution.as_ref(),
        )
        .await;
    let mut sms = SmsForm {
        phone: f.phone,
        ..SmsForm::default()
    };
    match outcome {
        Ok(session) => {
            let ttl = s.app.config.session_ttl_secs;
            Ok((session_cookie(&s, &session.token, ttl), see(next)).into_response())
        }
        Err(AppError::ChallengeRequired(ch)) => {
            sms.code_error = Some(c.t.challenge_needed.to_owned());
            sms.challenge_here = true;
            let page = pages::LoginPage {
                c,
                next,
                login: String::new(),
                error: None,
                challenge: Some(*ch),
                demo: s.cfg.demo,
                wechat: s.app.wechat_enabled(),
                sms,
            };
            Ok((StatusCode::TOO_MANY_REQUESTS, render(&page)?).into_response())
        }
        Err(e) => match words(&c, &e) {
            Some((status, phone_error, code_error)) => {
                sms.phone_error = phone_error;
                sms.code_error = code_error;
                page(&s, c, next, sms, status)
            }
            None => Err(e.into()),
        },
    }
}

/// The last code the console provider "sent" to `phone` (the demo's provider keeps them).
fn demo_code(s: &Web, phone: &str) -> Option<String> {
    let phone = kith_domain::Phone::parse(phone).ok()?;
    s.app
        .sms
        .recent()
        .into_iter()
        .rev()
        .find(|m| m.to == phone.as_str())?
        .message
        .params
        .into_iter()
        .find(|(k, _)| k == "code")
        .map(|(_, v)| v)
}

/// 我的 → 手机号 with the form as `sms` says.
async fn phone_page(s: &Web, c: Ctx, sms: SmsForm, status: StatusCode) -> WebResult<Response> {
    let who = c.principal()?.clone();
    let me = s.app.me(&who).await?;
    let current = me
        .account
        .phone
        .as_deref()
        .and_then(|p| kith_domain::Phone::parse(p).ok())
        .map(|p| p.masked());
    let page = pages::PhonePage {
        current,
        sms_enabled: s.app.sms_enabled(),
        sms,
        demo: s.cfg.demo,
        c,
    };
    Ok((status, render(&page)?).into_response())
}

/// 我的 → 手机号.
pub(super) async fn phone(State(s): State<Web>, c: Ctx) -> WebResult<Response> {
    phone_page(&s, c, SmsForm::default(), StatusCode::OK).await
}

/// 我的 → 手机号 → 获取验证码: a `bind` code to the number.
pub(super) async fn phone_code(
    State(s): State<Web>,
    c: Ctx,
    addr: kith_http::extract::ClientAddr,
    CsrfForm(f): CsrfForm<CodeForm>,
) -> WebResult<Response> {
    c.principal()?;
    let outcome = s
        .app
        .request_sms_code(&f.phone, CodePurpose::Bind, &addr.0)
        .await;
    let (status, sms) = after_send(&s, &c, f.phone, outcome)?;
    phone_page(&s, c, sms, status).await
}

/// 我的 → 手机号 → 绑定: the number is the account's once its code is right.
pub(super) async fn bind_phone(
    State(s): State<Web>,
    c: Ctx,
    CsrfForm(f): CsrfForm<CodeForm>,
) -> WebResult<Response> {
    let who = c.principal()?.clone();
    let mut sms = SmsForm {
        phone: f.phone.clone(),
        ..SmsForm::default()
    };
    let status = match s.app.bind_phone(&who, &f.phone, &f.code).await {
        Ok(_) => return Ok(see("/me/phone?done=phone_bound").into_response()),
        Err(AppError::Conflict {
            field: Some(field), ..
        }) if field == "phone" => {
            sms.phone_error = Some(c.t.phone_taken.to_owned());
            StatusCode::CONFLICT
        }
        Err(e) => {
            let (status, phone_error, code_error) =
                words(&c, &e).ok_or_else(|| crate::WebError::from(e))?;
            sms.phone_error = phone_error;
            sms.code_error = code_error;
            status
        }
    };
    phone_page(&s, c, sms, status).await
}
