//! Proof-of-work challenges: what a client must solve once a login or an address looks
//! like automation (too many failed passwords, too many sign-ups), instead of being locked
//! out. The right person pays a second of their phone's time; a guesser pays it for every
//! guess, at a difficulty that doubles as the failures mount.
//!
//! The format is ALTCHA's (so its open widgets can solve it): the server picks a random
//! `number` ≤ `maxnumber` and sends `challenge = hex(SHA-256(salt ‖ number))` with
//! `signature = hex(HMAC-SHA-256(key, challenge))`; the client tries numbers until the
//! hash matches and sends the number back with the rest. The salt carries the purpose and
//! the expiry (`…?purpose=login&expires=<unix s>`), so a challenge solved for one purpose
//! cannot open another and an old one cannot be kept. Nothing is stored when a challenge
//! is issued; a solution is spent (its signature written) in the same transaction that
//! accepts it, so one solution buys one attempt, on every server sharing the database.
//!
//! The key is 256 random bits created on first use in `platform_secrets`, so every server
//! on one database issues challenges the others accept.

use hmac::{Hmac, Mac};
use kith_store::Conn;
use rand::RngCore;
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};

use super::store::guards;
use crate::{App, AppError, AppResult};

type HmacSha256 = Hmac<Sha256>;

/// The one hash ALTCHA names this way.
pub const ALGORITHM: &str = "SHA-256";
/// How long a challenge may be solved and used.
pub const TTL_SECS: i64 = 10 * 60;
/// The easiest challenge: about 1 s of a phone browser's SubtleCrypto on average.
pub const BASE_MAXNUMBER: u64 = 50_000;
/// The hardest: sixteen times the base.
pub const MAX_MAXNUMBER: u64 = BASE_MAXNUMBER * 16;

const KEY_NAME: &str = "challenge_hmac_key";

/// What a challenge protects: a solution for one is refused for the other.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Purpose {
    Login,
    SignUp,
}

impl Purpose {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Login => "login",
            Self::SignUp => "signup",
        }
    }
}

/// A challenge as sent to the client.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct Challenge {
    /// Always `SHA-256`.
    pub algorithm: String,
    /// `hex(SHA-256(salt ‖ number))` for the number to find.
    pub challenge: String,
    /// The number lies in `0..=maxnumber`.
    pub maxnumber: u64,
    pub salt: String,
    pub signature: String,
}

/// A solved challenge as the client sends it back (ALTCHA's payload).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct Solution {
    pub algorithm: String,
    pub challenge: String,
    pub number: u64,
    pub salt: String,
    pub signature: String,
}

impl Solution {
    /// The solution of `c`, found by trying every number: what a client does (tests and
    /// the command-line tools use it; a browser runs the same loop in JavaScript).
    pub fn solve(c: &Challenge) -> Option<Self> {
        (0..=c.maxnumber)
            .find(|n| hash_hex(&c.salt, *n) == c.challenge)
            .map(|number| Self {
                algorithm: c.algorithm.clone(),
                challenge: c.challenge.clone(),
                number,
                salt: c.salt.clone(),
                signature: c.signature.clone(),
            })
    }
}

fn hash_hex(salt: &str, number: u64) -> String {
    let mut h = Sha256::new();
    h.update(salt.as_bytes());
    h.update(number.to_string().as_bytes());
    hex::encode(h.finalize())
}

fn mac(key: &[u8], challenge: &str) -> HmacSha256 {
    let mut m = HmacSha256::new_from_slice(key).expect("HMAC takes keys of any length");
    m.update(challenge.as_bytes());
    m
}

/// The difficulty after `excess` failures beyond the threshold (0 = just reached it):
/// the base, doubling for every `step` more, capped.
pub fn maxnumber_for(excess: i64, step: i64) -> u64 {
    let doublings = (excess.max(0) / step.max(1)).min(4) as u32;
    (BASE_MAXNUMBER << doublings).min(MAX_MAXNUMBER)
}

/// A fresh challenge signed with `key` (inside a transaction, where nothing may await).
pub(crate) fn issue(key: &[u8], purpose: Purpose, maxnumber: u64, now_ms: i64) -> Challenge {
    let mut nonce = [0u8; 12];
    rand::rng().fill_bytes(&mut nonce);
    let expires = now_ms.div_euclid(1000) + TTL_SECS;
    let salt = format!(
        "{}?purpose={}&expires={expires}",
        hex::encode(nonce),
        purpose.as_str()
    );
    let maxnumber = maxnumber.clamp(1, MAX_MAXNUMBER);
    let number = rand::rng().next_u64() % (maxnumber + 1);
    let challenge = hash_hex(&salt, number);
    let signature = hex::encode(mac(key, &challenge).finalize().into_bytes());
    Challenge {
        algorithm: ALGORITHM.to_owned(),
        challenge,
        maxnumber,
        salt,
        signature,
    }
}

/// The refusal that asks for a fresh challenge (429 `challenge-required` at the edge).
pub(crate) fn required(key: &[u8], purpose: Purpose, maxnumber: u64, now_ms: i64) -> AppError {
    AppError::ChallengeRequired(Box::new(issue(key, purpose, maxnumber, now_ms)))
}

/// Reads (or on first use creates) the server key inside the caller's transaction.
fn key(c: &mut dyn Conn, now_ms: i64) -> AppResult<Vec<u8>> {
    let mut fresh = [0u8; 32];
    rand::rng().fill_bytes(&mut fresh);
    // Two servers starting at once both try; the first insert wins and both read it.
    guards::insert_secret_once(c, KEY_NAME, hex::encode(fresh), now_ms)?;
    let stored = guards::secret(c, KEY_NAME)?;
    hex::decode(stored).map_err(|e| AppError::Internal(format!("challenge key: {e}")))
}

/// Checks `solution` for `purpose` and spends it, inside the caller's transaction (so the
/// attempt it pays for and the spending commit together). `Ok(false)` when it is forged,
/// tampered with, for another purpose, expired or already spent.
pub(crate) fn spend(
    c: &mut dyn Conn,
    key: &[u8],
    purpose: Purpose,
    solution: &Solution,
    now_ms: i64,
) -> AppResult<bool> {
    let Ok(signature) = hex::decode(&solution.signature) else {
        return Ok(false);
    };
    if solution.algorithm != ALGORITHM
        || mac(key, &solution.challenge)
            .verify_slice(&signature)
            .is_err()
        || hash_hex(&solution.salt, solution.number) != solution.challenge
    {
        return Ok(false);
    }
    let Some((_, params)) = solution.salt.split_once('?') else {
        return Ok(false);
    };
    let mut purpose_ok = false;
    let mut expires = None;
    for pair in params.split('&') {
        match pair.split_once('=') {
            Some(("purpose", p)) => purpose_ok = p == purpose.as_str(),
            Some(("expires", e)) => expires = e.parse::<i64>().ok(),
            _ => {}
        }
    }
    let Some(expires) = expires.filter(|_| purpose_ok) else {
        return Ok(false);
    };
    if expires.saturating_mul(1000) <= now_ms {
        return Ok(false);
    }
    guards::spend_solution(c, &solution.signature, expires.saturating_mul(1000))
}

impl App {
    /// The server key for [`spend`] and [`issue`], read from storage once per process
    /// (fetch it before a transaction opens).
    pub(crate) async fn challenge_key(&self) -> AppResult<Vec<u8>> {
        if let Some(k) = self.challenge_key.get() {
            return Ok(k.clone());
        }
        let now = self.now_ms();
        let k = self.db.write(move |c| key(c, now)).await?;
        Ok(self.challenge_key.get_or_init(|| k).clone())
    }

    /// A fresh challenge for `purpose` at difficulty `maxnumber`.
    pub async fn new_challenge(&self, purpose: Purpose, maxnumber: u64) -> AppResult<Challenge> {
        let key = self.challenge_key().await?;
        Ok(issue(&key, purpose, maxnumber, self.now_ms()))
    }

    /// Forgets spent solutions whose challenge has expired (they could not be used again
    /// anyway); run by the worker with the other sweeps.
    pub async fn challenge_sweep(&self) -> AppResult<u64> {
        let now = self.now_ms();
        self.db
            .write(move |c| guards::sweep_spent_challenges(c, now))
            .await
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::events::webhooks::test_support::TestEnv;

    async fn spend(app: &App, purpose: Purpose, s: &Solution) -> bool {
        let key = app.challenge_key().await.unwrap();
        let (s, now) = (s.clone(), app.now_ms());
        app.db
            .write(move |c| super::spend(c, &key, purpose, &s, now))
            .await
            .unwrap()
    }

    #[tokio::test]
    async fn a_solution_buys_one_attempt_for_its_purpose_until_it_expires() {
        let env = TestEnv::new().await;
        let app = &env.app;
        let c = app.new_challenge(Purpose::Login, 2_000).await.unwrap();
        assert_eq!(c.algorithm, "SHA-256");
        assert!(c.salt.contains("purpose=login"));
        let s = Solution::solve(&c).unwrap();

        // Another purpose, a tampered number, salt or signature: refused, nothing spent.
        assert!(!spend(app, Purpose::SignUp, &s).await);
        let wrong_number = Solution {
            number: s.number + 1,
            ..s.clone()
        };
        assert!(!spend(app, Purpose::Login, &wrong_number).await);
        let other_salt = Solution {
            salt: s.salt.replace("purpose=login", "purpose=signup"),
            ..s.clone()
        };
        assert!(!spend(app, Purpose::Login, &other_salt).await);
        let forged = Solution {
            signature: hex::encode([7u8; 32]),
            ..s.clone()
        };
        assert!(!spend(app, Purpose::Login, &forged).await);
        let not_hex = Solution {
            signature: "zz".into(),
            ..s.clone()
        };
        assert!(!spend(app, Purpose::Login, &not_hex).await);

        // The real one, once; a replay is refused.
        assert!(spend(app, Purpose::Login, &s).await);
        assert!(!spend(app, Purpose::Login, &s).await);

        // An expired challenge is refused even when solved.
        let late = app.new_challenge(Purpose::Login, 100).await.unwrap();
        let late = Solution::solve(&late).unwrap();
        env.clock.advance_ms(TTL_SECS * 1000);
        assert!(!spend(app, Purpose::Login, &late).await);
        assert_eq!(app.challenge_sweep().await.unwrap(), 1);
    }

    #[tokio::test]
    async fn servers_on_one_database_share_the_key() {
        let env = TestEnv::new().await;
        let other = App::new(
            env.app.db.clone(),
            env.app.clock.clone(),
            (*env.app.config).clone(),
        );
        let c = env.app.new_challenge(Purpose::SignUp, 500).await.unwrap();
        let s = Solution::solve(&c).unwrap();
        assert!(spend(&other, Purpose::SignUp, &s).await);
        assert!(!spend(&env.app, Purpose::SignUp, &s).await);
    }

    #[test]
    fn difficulty_doubles_and_is_capped() {
        assert_eq!(maxnumber_for(0, 10), BASE_MAXNUMBER);
        assert_eq!(maxnumber_for(9, 10), BASE_MAXNUMBER);
        assert_eq!(maxnumber_for(10, 10), BASE_MAXNUMBER * 2);
        assert_eq!(maxnumber_for(35, 10), BASE_MAXNUMBER * 8);
        assert_eq!(maxnumber_for(1_000_000, 10), MAX_MAXNUMBER);
        assert_eq!(maxnumber_for(-5, 0), BASE_MAXNUMBER);
    }
}
