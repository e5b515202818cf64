//! What the sign-in and sign-up forms share against automation: the solved challenge a
//! form sends back (the hidden fields of `shared/challenge.html`), the browser's device
//! cookie, which counts sign-ups per browser beside per address, and the one sign-up flow
//! both sign-up forms (`/register`, a share link's landing) go through.

use std::future::Future;

use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use kith_app::platform::accounts::{Account, Registration};
use kith_app::platform::challenge::{Challenge, Solution};
use kith_app::{AppError, AppResult};
use serde::Deserialize;

use crate::{Ctx, Web, WebResult};

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
    #[serde(flatten)]
    challenge: ChallengeFields,
}

/// Why a sign-up form comes back: its status, the message beside the form, and the
/// challenge to solve when one is asked.
pub(super) struct Refused {
    pub(super) status: StatusCode,
    pub(super) error: String,
    pub(super) challenge: Option<Challenge>,
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
            })
            .await
        }
        Err(e) => Err(e),
    };
    let refused = |status, error: String, challenge| {
        Ok(Err(Refused {
            status,
            error,
            challenge,
        }))
    };
    match registered {
        Ok(_) => {
            let session = s.app.login(&f.phone, &f.password, addr).await?;
            let ttl = s.app.config.session_ttl_secs;
            Ok(Ok(super::session_cookie(s, &session.token, ttl)))
        }
        Err(AppError::ChallengeRequired(ch)) => refused(
            StatusCode::TOO_MANY_REQUESTS,
            c.t.challenge_needed.to_owned(),
            Some(*ch),
        ),
        Err(AppError::Invalid { field, reason })
            if field == "password" && reason.starts_with("weak password") =>
        {
            refused(
                StatusCode::UNPROCESSABLE_ENTITY,
                c.t.weak_password.to_owned(),
                None,
            )
        }
        Err(e @ (AppError::Invalid { .. } | AppError::Conflict { .. })) => {
            refused(StatusCode::UNPROCESSABLE_ENTITY, e.to_string(), None)
        }
        Err(e) => Err(e.into()),
    }
}
