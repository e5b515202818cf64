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
    phone: String,
    #[serde(default)]
    code: String,
    next: Option<String>,
    #[serde(flatten)]
    challenge: guard::ChallengeFields,
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
fn words(c: &Ctx, e: &AppError) -> Option<(StatusCode, Option<String>, Option<String>)> {
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
    let mut sms = SmsForm {
        phone: f.phone,
        ..SmsForm::default()
    };
    match outcome {
        Ok(()) => {
            sms.sent = true;
            page(&s, c, next, sms, StatusCode::OK)
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
