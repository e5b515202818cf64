//! What the sign-in and sign-up forms share against automation: the solved challenge a
//! form sends back (the hidden fields of `shared/challenge.html`), and the browser's
//! device cookie, which counts sign-ups per browser beside per address.

use axum::http::{HeaderMap, HeaderValue, header};
use kith_app::platform::challenge::Solution;
use serde::Deserialize;

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
    headers
        .get_all(header::COOKIE)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(';'))
        .filter_map(|c| c.trim().split_once('='))
        .find(|(k, _)| *k == DEVICE_COOKIE)
        .map(|(_, v)| v.to_owned())
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
