//! One-time codes sent by SMS: request, check, sign in or register with one.
//!
//! - A code is 6 random digits, live for [`CODE_TTL_MS`] (5 minutes) and for
//!   [`MAX_ATTEMPTS`] (5) checks: every check counts, right or wrong, and the fifth wrong
//!   one leaves the code dead. Asking again ends the codes before it.
//! - Stored as `HMAC-SHA256(key, purpose:phone:code)` under a 256-bit server key kept in
//!   `platform_secrets` (`sms_code_key`, shared by every server); checked with the HMAC's
//!   own constant-time `verify_slice`. A copy of the database gives no code.
//! - Asking: per client address `codes_per_address_hour` an hour, per number one a minute
//!   and `codes_per_phone_day` a day (the [`crate::platform::limits`] windows, refused
//!   asks counting too); 429 with `Retry-After` beyond.
//! - No account enumeration: asking never reads `accounts`; the answer is the same (202,
//!   the same body) for a number with an account and one without, and the same work is
//!   done for both — a code is made, stored and sent either way, since a new number signs
//!   up with it.
//! - A check happens in one transaction that reads the live code (locked on PostgreSQL),
//!   counts the attempt and, when right, spends it; so two concurrent guesses cannot both
//!   use the same attempt, and a right code works once.

use hmac::{Hmac, Mac};
use kith_domain::{BoundedText, Phone};
use kith_store::Conn;
use rand::{Rng, RngCore};
use serde::{Deserialize, Serialize};
use sha2::Sha256;

use super::SmsMessage;
use crate::platform::accounts::{self, Session};
use crate::platform::challenge::Solution;
use crate::platform::error::UniqueAs;
use crate::platform::ids::new_id;
use crate::platform::limits::Action;
use crate::platform::store::{accounts as account_rows, guards, sms as code_rows};
use crate::{App, AppError, AppResult, Principal};

/// How long a code lives.
pub const CODE_TTL_MS: i64 = 5 * 60 * 1000;
/// Checks one code takes before it is dead.
pub const MAX_ATTEMPTS: i64 = 5;
const KEY_NAME: &str = "sms_code_key";

/// What a code is for; a code for one purpose never passes for another.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum CodePurpose {
    /// Sign in, or register in one step when the number is new.
    Login,
    /// Prove a number for an account already signed in (binding a phone).
    Bind,
}

impl CodePurpose {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Login => "login",
            Self::Bind => "bind",
        }
    }

    pub fn parse(s: &str) -> AppResult<Self> {
        match s {
            "login" => Ok(Self::Login),
            "bind" => Ok(Self::Bind),
            _ => Err(AppError::invalid("purpose", "must be `login` or `bind`")),
        }
    }
}

fn mac(key: &[u8], purpose: CodePurpose, phone: &Phone, code: &str) -> Hmac<Sha256> {
    let mut m = Hmac::<Sha256>::new_from_slice(key).expect("HMAC takes any key length");
    m.update(format!("{}:{}:{code}", purpose.as_str(), phone.as_str()).as_bytes());
    m
}

/// Reads (or on first use creates) the code key inside the caller's transaction.
fn key(c: &mut dyn Conn, now_ms: i64) -> AppResult<Vec<u8>> {
    let mut fresh = [0u8; 32];
    rand::rng().fill_bytes(&mut fresh);
    guards::insert_secret_once(c, KEY_NAME, hex::encode(fresh), now_ms)?;
    let stored = guards::secret(c, KEY_NAME)?;
    hex::decode(stored).map_err(|e| AppError::Internal(format!("sms code key: {e}")))
}

/// A code as typed: exactly six ASCII digits (spaces around are forgiven).
fn parse_code(code: &str) -> AppResult<String> {
    let code = code.trim();
    if code.len() == 6 && code.bytes().all(|b| b.is_ascii_digit()) {
        Ok(code.to_owned())
    } else {
        Err(AppError::invalid(
            "code",
            "must be the 6 digits of the code",
        ))
    }
}

/// Checks `code` against the live code for `(phone, purpose)` in the caller's
/// transaction, counting the attempt; spends it when right. The spent code's id, or
/// `None` when wrong, expired, dead or never sent.
fn check(
    c: &mut dyn Conn,
    phone: &Phone,
    code: &str,
    purpose: CodePurpose,
    now: i64,
) -> AppResult<Option<String>> {
    let key = key(c, now)?;
    let row = code_rows::lock_live_code(c, phone.as_str(), purpose.as_str(), now, MAX_ATTEMPTS)?;
    let Some((id, code_hash)) = row else {
        // Do the same hashing as a real check, so a number with no code answers as fast.
        let _ = mac(&key, purpose, phone, code).finalize();
        return Ok(None);
    };
    let stored = hex::decode(code_hash).unwrap_or_default();
    let right = mac(&key, purpose, phone, code)
        .verify_slice(&stored)
        .is_ok();
    code_rows::count_attempt(c, &id, right, now)?;
    Ok(right.then_some(id))
}

fn wrong_code() -> AppError {
    AppError::Unauthenticated("wrong or expired code; ask for a new one".into())
}

impl App {
    /// Whether this server sends SMS codes (an SMS provider is configured).
    pub fn sms_enabled(&self) -> bool {
        self.sms.name() != "off"
    }

    /// Sends a fresh 6-digit code to `phone` for `purpose`. The answer is the same for a
    /// number with an account and one without (see the module docs); 429 past the
    /// throttles, 503 when the server has no SMS provider or the provider failed.
    pub async fn request_sms_code(
        &self,
        phone: &str,
        purpose: CodePurpose,
        client_addr: &str,
    ) -> AppResult<()> {
        let phone = Phone::parse(phone)?;
        let cfg = &self.config.sms;
        self.rate_take(Action::SmsAddress, client_addr, cfg.codes_per_address_hour)
            .await?;
        self.rate_take(Action::SmsPhoneMinute, phone.as_str(), 1)
            .await?;
        self.rate_take(Action::SmsPhoneDay, phone.as_str(), cfg.codes_per_phone_day)
            .await?;
        let code = format!("{:06}", rand::rng().random_range(0..1_000_000u32));
        let now = self.now_ms();
        let id = new_id();
        let (p, k, i) = (phone.clone(), code.clone(), id.clone());
        self.db
            .write(move |c| {
                let key = key(c, now)?;
                let hash = hex::encode(mac(&key, purpose, &p, &k).finalize().into_bytes());
                code_rows::end_unspent_codes(c, p.as_str(), purpose.as_str(), now)?;
                code_rows::insert_code(
                    c,
                    &i,
                    p.as_str(),
                    purpose.as_str(),
                    &hash,
                    now,
                    now + CODE_TTL_MS,
                )
            })
            .await?;
        let message = SmsMessage {
            template: cfg.code_template.clone(),
            params: vec![("code".to_owned(), code)],
        };
        if let Err(e) = self.sms.send(&phone, &message).await {
            // The code never arrived: end it, so it cannot be guessed either.
            tracing::warn!(provider = self.sms.name(), to = %phone.masked(), error = %e, "SMS code not sent");
            self.db
                .write(move |c| code_rows::end_code(c, &id, now))
                .await?;
            return Err(AppError::Unavailable(
                "the text message could not be sent; try again later".into(),
            ));
        }
        Ok(())
    }

    /// Checks a code for `purpose` and spends it: `Ok` once per code sent, 401 for a wrong,
    /// expired, dead or unknown code (each check counting towards the code's five), 422
    /// on `code` when it is not six digits. The surface for binding a phone to an account
    /// already signed in (`CodePurpose::Bind`): the caller then writes the number.
    pub async fn verify_phone_code(
        &self,
        phone: &Phone,
        code: &str,
        purpose: CodePurpose,
    ) -> AppResult<()> {
        self.spend_code(phone, code, purpose).await.map(|_| ())
    }

    /// Binds `phone` to the caller's account (adding one, or replacing the one it had),
    /// with a `bind` code sent to that number: the number is proven before it is written.
    /// A number that is another account's is 409 on `phone` — said only to someone who
    /// just proved they hold it. Emits `account.phone_bound`.
    pub async fn bind_phone(
        &self,
        who: &Principal,
        phone: &str,
        code: &str,
    ) -> AppResult<accounts::Account> {
        let phone = Phone::parse(phone)?;
        self.spend_code(&phone, code, CodePurpose::Bind).await?;
        let now = self.now_ms();
        let id = who.account_id.clone();
        self.db
            .write(move |c| {
                let before = accounts::load_account(c, &id)?;
                if before.phone.as_deref() == Some(phone.as_str()) {
                    return Ok(before);
                }
                account_rows::set_phone(c, &id, phone.as_str()).unique_as(
                    "accounts",
                    &["phone"],
                    "phone",
                    "belongs to another account; sign in with it by SMS code instead",
                )?;
                crate::platform::outbox::emit(
                    c,
                    now,
                    "account.phone_bound",
                    None,
                    &id,
                    &serde_json::json!({ "account_id": id, "replaced": before.phone.is_some() }),
                )?;
                accounts::load_account(c, &id)
            })
            .await
    }

    async fn spend_code(
        &self,
        phone: &Phone,
        code: &str,
        purpose: CodePurpose,
    ) -> AppResult<String> {
        let code = parse_code(code)?;
        let now = self.now_ms();
        let p = phone.clone();
        self.db
            .write(move |c| check(c, &p, &code, purpose, now))
            .await?
            .ok_or_else(wrong_code)
    }

    /// Signs in with a phone and a `login` code; a number without an account registers in
    /// the same step (with `display_name`, or `用户` and the number's last four digits),
    /// through the sign-up gate [`App::admit_sign_up`] like every sign-up, and has no
    /// password until its owner sets one. When the gate asks for a challenge, the code is
    /// given back so the same code works with the challenge solved.
    pub async fn sms_login(
        &self,
        phone: &str,
        code: &str,
        display_name: Option<&str>,
        client_addr: &str,
        device: Option<&str>,
        solution: Option<&Solution>,
    ) -> AppResult<Session> {
        let phone = Phone::parse(phone)?;
        let name = match display_name.map(str::trim).filter(|n| !n.is_empty()) {
            Some(n) => BoundedText::parse("display_name", n, 1, 32)?,
            None => BoundedText::parse(
                "display_name",
                &format!("用户{}", &phone.as_str()[7..]),
                1,
                32,
            )?,
        };
        let code_id = self.spend_code(&phone, code, CodePurpose::Login).await?;
        let p = phone.clone();
        let existing = self
            .db
            .read(move |c| account_rows::account_with_phone(c, p.as_str()))
            .await?;
        let account_id = match existing {
            Some(id) => id,
            None => {
                if let Err(e) = self.admit_sign_up(client_addr, device, solution).await {
                    self.db
                        .write(move |c| code_rows::unspend_code(c, &code_id))
                        .await?;
                    return Err(e);
                }
                let now = self.now_ms();
                let p = phone.clone();
                let created = self
                    .db
                    .write(move |c| {
                        accounts::insert_account(c, now, Some(&p), None, &name, None, false)
                    })
                    .await;
                match created {
                    Ok(a) => a.id.to_string(),
                    // Registered a moment ago by a concurrent sign-in with the same
                    // number: that account is this person's.
                    Err(AppError::Conflict { .. }) => {
                        let p = phone.clone();
                        self.db
                            .read(move |c| account_rows::account_id_with_phone(c, p.as_str()))
                            .await?
                    }
                    Err(e) => return Err(e),
                }
            }
        };
        self.open_session(account_id).await
    }

    /// Deletes codes that ended more than a day ago ([`App::platform_sweep`]).
    pub(crate) async fn sms_sweep(&self) -> AppResult<u64> {
        let before = self.now_ms() - 24 * 3600 * 1000;
        self.db
            .write(move |c| code_rows::sweep_codes(c, before))
            .await
    }
}
