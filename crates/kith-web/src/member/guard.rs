//! What the sign-in and sign-up forms share against automation: the solved challenge a
//! form sends back (the hidden fields of `shared/challenge.html`), the browser's device
//! cookie, which counts sign-ups per browser beside per address, and the one sign-up flow
//! both sign-up forms (`/register`, a share link's landing) go through.

use std::future::Future;

use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use kith_app::platform::accounts::{Account, Registration};
use kith_app::platform::challenge::{Challenge, Solution};
use kith_app::platform::sms::CodePurpose;
use kith_app::{AppError, AppResult};
use serde::Deserialize;

use crate::{Ctx, Web, WebResult, pages};

/// The cookie naming this browser (a random id, no meaning beyond "the same browser").
pub(super) const DEVICE_COOKIE: &str = "kith_device";

/// The challenge fields of a form; all empty when no challenge was asked.
#[derive(Debug, Default, Deserialize)]
pub(super) struct ChallengeFields {
    #[serde(default)]
    challenge_algorithm: String,
    #[serde(default)]
    challenge_challenge: String,
    #[serde(default)]
    challenge_number: String,
    #[serde(default)]
    challenge_salt: String,
    #[serde(default)]
    challenge_signature: String,
    /// Sent back but not needed: the signature covers the challenge.
    #[serde(default)]
    #[allow(dead_code)]
    challenge_maxnumber: String,
}

impl ChallengeFields {
    /// The solution, when the form carries a solved challenge.
    pub(super) fn solution(&self) -> Option<Solution> {
        let number = self.challenge_number.trim().parse().ok()?;
        Some(Solution {
            algorithm: self.challenge_algorithm.clone(),
            challenge: self.challenge_challenge.clone(),
            number,
            salt: self.challenge_salt.clone(),
            signature: self.challenge_signature.clone(),
        })
    }
}

/// This browser's device id, when it sent a well-formed one.
pub(super) fn device(headers: &HeaderMap) -> Option<String> {
    crate::cookie(headers, DEVICE_COOKIE)
        .map(str::to_owned)
        .filter(|v| {
            (16..=64).contains(&v.len())
                && v.bytes()
                    .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_')
        })
}

/// A `Set-Cookie` giving this browser a device id, unless it has one.
pub(super) fn device_cookie(headers: &HeaderMap, secure: bool) -> HeaderMap {
    let mut out = HeaderMap::new();
    if device(headers).is_none() {
        let id = kith_app::platform::ids::new_secret("d");
        let secure = if secure { "; Secure" } else { "" };
        let cookie = format!(
            "{DEVICE_COOKIE}={id}; Path=/; HttpOnly; SameSite=Lax; Max-Age=31536000{secure}"
        );
        if let Ok(v) = HeaderValue::from_str(&cookie) {
            out.insert(header::SET_COOKIE, v);
        }
    }
    out
}

/// What every sign-up form sends.
#[derive(Debug, Default, Deserialize)]
pub(super) struct SignUpFields {
    #[serde(default)]
    pub(super) phone: String,
    #[serde(default)]
    pub(super) password: String,
    #[serde(default)]
    pub(super) display_name: String,
    /// The SMS code, on a server that asks sign-ups to prove their number.
    #[serde(default)]
    pub(super) code: String,
    #[serde(flatten)]
    challenge: ChallengeFields,
}

impl SignUpFields {
    /// The form as it comes back: what was typed (not the password), no error yet.
    pub(super) fn kept(&self, s: &Web, code_action: String) -> pages::SignUpForm {
        blank_form(
            s,
            code_action,
            self.phone.clone(),
            self.display_name.clone(),
        )
    }
}

/// A sign-up form for this server (with the phone-code fields when it asks for them).
pub(super) fn blank_form(
    s: &Web,
    code_action: String,
    phone: String,
    display_name: String,
) -> pages::SignUpForm {
    pages::SignUpForm {
        display_name,
        sms: pages::SmsForm {
            phone,
            ..pages::SmsForm::default()
        },
        phone_code: s.app.config.signup_phone_code,
        code_action,
        demo: s.cfg.demo,
        error: None,
    }
}

/// Why a sign-up form comes back: its status, the form with the message beside the form
/// or beside its field, and the challenge to solve when one is asked.
pub(super) struct Refused {
    pub(super) status: StatusCode,
    pub(super) form: pages::SignUpForm,
    pub(super) challenge: Option<Challenge>,
}

/// 获取验证码 on a sign-up form: a `login` code to the number, and the form back with what
/// was typed and "已发送" — or the reason beside the number.
pub(super) async fn send_sign_up_code(
    s: &Web,
    c: &Ctx,
    addr: &str,
    f: &SignUpFields,
    code_action: String,
) -> WebResult<(StatusCode, pages::SignUpForm)> {
    let outcome = s
        .app
        .request_sms_code(&f.phone, CodePurpose::Login, addr)
        .await;
    let (status, sms) = super::sms::after_send(s, c, f.phone.clone(), outcome)?;
    Ok((
        status,
        pages::SignUpForm {
            sms,
            ..f.kept(s, code_action)
        },
    ))
}

/// The sign-up both forms share: admitted (per address and per browser, a solved
/// challenge past the thresholds), registered by `register` (plainly, or through a share
/// link), then signed in. `Ok(Ok(cookie))`: the new session's cookie to set;
/// `Ok(Err(refused))`: the form comes back with why, keeping what was typed.
pub(super) async fn sign_up<F, Fut>(
    s: &Web,
    c: &Ctx,
    addr: &str,
    headers: &HeaderMap,
    f: &SignUpFields,
    code_action: String,
    register: F,
) -> WebResult<Result<HeaderMap, Refused>>
where
    F: FnOnce(Registration) -> Fut,
    Fut: Future<Output = AppResult<Account>>,
{
    let device = device(headers);
    let solution = f.challenge.solution();
    let admitted = s
        .app
        .admit_sign_up(addr, device.as_deref(), solution.as_ref())
        .await;
    let registered = match admitted {
        Ok(()) => {
            register(Registration {
                phone: Some(f.phone.clone()),
                email: None,
                password: f.password.clone(),
                display_name: f.display_name.clone(),
                code: Some(f.code.clone()).filter(|c| !c.trim().is_empty()),
            })
            .await
        }
        Err(e) => Err(e),
    };
    let mut form = f.kept(s, code_action);
    let (status, challenge) = match registered {
        Ok(_) => {
            let session = s.app.login(&f.phone, &f.password, addr).await?;
            let ttl = s.app.config.session_ttl_secs;
            return Ok(Ok(super::session_cookie(s, &session.token, ttl)));
        }
        Err(AppError::ChallengeRequired(ch)) => {
            form.error = Some(c.t.challenge_needed.to_owned());
            (StatusCode::TOO_MANY_REQUESTS, Some(*ch))
        }
        Err(AppError::Invalid { field, reason })
            if field == "password" && reason.starts_with("weak password") =>
        {
            form.error = Some(c.t.weak_password.to_owned());
            (StatusCode::UNPROCESSABLE_ENTITY, None)
        }
        Err(AppError::Conflict {
            field: Some(field), ..
        }) if field == "phone" => {
            form.sms.phone_error = Some(c.t.phone_registered.to_owned());
            (StatusCode::CONFLICT, None)
        }
        Err(e) => match super::sms::words(c, &e) {
            Some((status, phone_error, code_error)) => {
                form.sms.phone_error = phone_error;
                form.sms.code_error = code_error;
                (status, None)
            }
            None => match e {
                e @ (AppError::Invalid { .. } | AppError::Conflict { .. }) => {
                    form.error = Some(e.to_string());
                    (StatusCode::UNPROCESSABLE_ENTITY, None)
                }
                e => return Err(e.into()),
            },
        },
    };
    Ok(Err(Refused {
        status,
        form,
        challenge,
    }))
}
