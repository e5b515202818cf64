//! WeChat Pay's platform certificates (平台证书), downloaded by kith — never typed by the
//! merchant, who could otherwise put its own key there and sign a notification for its own
//! order (issue 15).
//!
//! `GET /v3/certificates` is a signed request like every other, to the operator's WeChat
//! Pay base URL. Its answer lists each certificate encrypted AEAD_AES_256_GCM under the
//! owner's APIv3 key (下载平台证书 / 证书和回调报文解密). Each is decrypted, parsed as
//! X.509 with an RSA key whose serial must be the listed `serial_no`, and used only until
//! its `expire_time`. The answer's own `Wechatpay-Signature` (over
//! `timestamp\nnonce\nbody\n`, a fresh `Wechatpay-Timestamp`) must verify with the
//! certificate its `Wechatpay-Serial` names: one kith already holds for the owner when it
//! does (checked before anything is decrypted), otherwise — the first download, or
//! WeChat Pay signing with a certificate it has just added — one of the answer's own
//! decrypted certificates, as WeChat Pay's certificate downloader does.
//!
//! Downloaded when credentials are saved (a failure stores nothing: 422 on `api_v3_key`
//! when the certificates do not decrypt, 422 on `merchant_serial` when WeChat Pay refuses
//! the signed request, 503 when it cannot be reached or its answer is not trusted), then
//! every six hours by [`RefreshPlatformCertificates`] (WeChat Pay: call it at intervals
//! under 12 hours; a new certificate is listed 24 hours before it is used), which adds new
//! certificates, updates moved expiries and drops expired ones; and at most once a minute
//! per owner when a notification or an answer names a serial kith does not know.

use serde::{Deserialize, Serialize};

use super::protocol;
use crate::events::jobs::{ClaimedJob, Job, JobError, Lane, enqueue};
use crate::rails::credentials::{WechatPayKeys, load_wechatpay, parse_certificate};
use crate::rails::store;
use crate::{App, AppError, AppResult};

/// The path of 获取平台证书列表.
pub const PATH: &str = "/v3/certificates";
/// How often each owner's certificates are downloaded again.
pub const REFRESH_EVERY_MS: i64 = 6 * 3600 * 1000;
/// At most one extra download per owner in this long, for a serial kith does not know.
pub const ON_DEMAND_GAP_MS: i64 = 60_000;

/// One certificate of the answer, as WeChat Pay lists it.
#[derive(Debug, Deserialize)]
struct Listed {
    serial_no: String,
    effective_time: String,
    expire_time: String,
    encrypt_certificate: Encrypted,
}

#[derive(Debug, Deserialize)]
struct Encrypted {
    algorithm: String,
    nonce: String,
    #[serde(default)]
    associated_data: String,
    ciphertext: String,
}

#[derive(Debug, Deserialize)]
struct Answer {
    data: Vec<Listed>,
}

/// A certificate downloaded, decrypted and checked.
#[derive(Clone)]
pub struct Fetched {
    pub serial: String,
    pub pem: String,
    pub effective_at: i64,
    pub expires_at: i64,
    key: rsa::RsaPublicKey,
}

fn untrusted(why: impl std::fmt::Display) -> AppError {
    AppError::Unavailable(format!(
        "WeChat Pay's platform certificates were not taken: {why}"
    ))
}

fn time_ms(field: &str, s: &str) -> AppResult<i64> {
    crate::platform::times::parse_time(field, s.trim())
        .map_err(|_| untrusted(format!("{field} {s:?} is not an RFC 3339 time")))
}

impl App {
    /// Downloads and checks `keys.owner`'s platform certificates with `keys` (whose
    /// `platform` are the certificates kith already holds): the ones still valid now.
    pub(crate) async fn fetch_platform_certificates(
        &self,
        keys: &WechatPayKeys,
    ) -> AppResult<Vec<Fetched>> {
        let (status, h, text) = self.wechat_send(keys, "GET", PATH, None).await?;
        if (400..500).contains(&status) {
            let v: serde_json::Value = serde_json::from_str(&text).unwrap_or_default();
            let word = |k: &str| v.get(k).and_then(|x| x.as_str()).unwrap_or("").to_owned();
            return Err(AppError::invalid(
                "merchant_serial",
                format!(
                    "WeChat Pay refused the signed request ({status} {}: {}); the 商户号, the merchant certificate serial and the private key must be one set",
                    word("code"),
                    word("message")
                ),
            ));
        }
        if status != 200 {
            return Err(untrusted(format!("WeChat Pay answered {status}")));
        }
        let now = self.now_ms();
        let ts: i64 = h
            .timestamp
            .parse()
            .map_err(|_| untrusted("Wechatpay-Timestamp is not a number"))?;
        if (now / 1000 - ts).abs() > self.config.callback_tolerance_secs {
            return Err(untrusted(
                "Wechatpay-Timestamp is outside the tolerance window",
            ));
        }
        let message = protocol::response_message(&h.timestamp, &h.nonce, &text);
        // A certificate kith already holds is trusted first: checked before anything of the
        // answer is decrypted.
        let known = keys.platform_key(&h.serial, now);
        if let Some(key) = known
            && !protocol::verify(key, &message, &h.signature)
        {
            return Err(untrusted("the answer's signature does not verify"));
        }
        let answer: Answer = serde_json::from_str(&text)
            .map_err(|e| untrusted(format!("the answer does not parse: {e}")))?;
        let mut out = Vec::new();
        for l in answer.data {
            let f = decrypt_listed(&keys.api_v3_key, &l)?;
            if f.expires_at > now {
                out.push(f);
            }
        }
        if known.is_none() {
            let serial = h.serial.trim().to_ascii_uppercase();
            let f = out.iter().find(|f| f.serial == serial).ok_or_else(|| {
                untrusted(format!(
                    "Wechatpay-Serial {serial:?} names none of the valid certificates listed"
                ))
            })?;
            if !protocol::verify(&f.key, &message, &h.signature) {
                return Err(untrusted("the answer's signature does not verify"));
            }
        }
        if out.is_empty() {
            return Err(untrusted(
                "WeChat Pay listed no certificate that is still valid",
            ));
        }
        Ok(out)
    }

    /// Downloads `owner`'s certificates again and stores them: new ones added, expired ones
    /// dropped. The serials now in use.
    pub async fn refresh_platform_certificates(&self, owner: &str) -> AppResult<Vec<String>> {
        let key = self.config.secret_key.clone();
        let o = owner.to_owned();
        let keys = self
            .db
            .read(move |c| load_wechatpay(c, key.as_ref(), &o))
            .await?
            .ok_or(AppError::NotFound("payment credentials"))?;
        let fetched = self.fetch_platform_certificates(&keys).await?;
        let now = self.now_ms();
        let o = owner.to_owned();
        let serials = fetched.iter().map(|f| f.serial.clone()).collect();
        self.db
            .write(move |c| store_fetched(c, &o, &fetched, now))
            .await?;
        tracing::info!(owner, serials = ?serials, "WeChat Pay platform certificates refreshed");
        Ok(serials)
    }

    /// A notification or an answer named a serial `owner` does not know: downloads the
    /// certificates once, unless that happened for this owner in the last minute. The
    /// owner's keys after it, or `None` when no download was made or it failed.
    pub(crate) async fn refresh_for_unknown_serial(&self, owner: &str) -> Option<WechatPayKeys> {
        let now = self.now_ms();
        let o = owner.to_owned();
        let taken = self
            .db
            .write(move |c| {
                // Credentials saved before certificates were downloaded have no chain yet.
                start_refresh(c, &o, now)?;
                store::take_on_demand(c, &o, "wechat", now, now - ON_DEMAND_GAP_MS)
            })
            .await;
        match taken {
            Ok(true) => {}
            Ok(false) => return None,
            Err(e) => {
                tracing::warn!(owner, error = %e, "could not take a certificate download");
                return None;
            }
        }
        if let Err(e) = self.refresh_platform_certificates(owner).await {
            tracing::warn!(owner, error = %e, "WeChat Pay platform certificates not refreshed");
            return None;
        }
        let key = self.config.secret_key.clone();
        let o = owner.to_owned();
        self.db
            .read(move |c| load_wechatpay(c, key.as_ref(), &o))
            .await
            .ok()
            .flatten()
    }
}

/// Decrypts and checks one listed certificate.
fn decrypt_listed(api_v3_key: &[u8], l: &Listed) -> AppResult<Fetched> {
    let e = &l.encrypt_certificate;
    if e.algorithm != "AEAD_AES_256_GCM" {
        return Err(untrusted(format!(
            "certificate {} is encrypted with {}, not AEAD_AES_256_GCM",
            l.serial_no, e.algorithm
        )));
    }
    let plain = protocol::decrypt_resource(api_v3_key, &e.nonce, &e.associated_data, &e.ciphertext)
        .map_err(|_| {
            AppError::invalid(
                "api_v3_key",
                "WeChat Pay's platform certificates do not decrypt with this APIv3 key; enter the key set in 商户平台 → API安全",
            )
        })?;
    let pem = String::from_utf8(plain)
        .map_err(|_| untrusted(format!("certificate {} is not PEM text", l.serial_no)))?;
    let (serial, key, not_after, _) = parse_certificate(&pem)
        .map_err(|e| untrusted(format!("certificate {}: {e}", l.serial_no)))?;
    let listed = l.serial_no.trim().to_ascii_uppercase();
    if serial != listed {
        return Err(untrusted(format!(
            "certificate listed as {listed} has serial {serial}"
        )));
    }
    let effective_at = time_ms("effective_time", &l.effective_time)?;
    let expires_at = time_ms("expire_time", &l.expire_time)?.min(not_after);
    Ok(Fetched {
        serial,
        pem,
        effective_at,
        expires_at,
        key,
    })
}

/// Stores what was downloaded for `owner` and drops its expired certificates.
pub(crate) fn store_fetched(
    c: &mut dyn kith_store::Conn,
    owner: &str,
    fetched: &[Fetched],
    now: i64,
) -> AppResult<()> {
    for f in fetched {
        store::upsert_platform_certificate(
            c,
            owner,
            "wechat",
            &f.serial,
            &f.pem,
            f.effective_at,
            f.expires_at,
            now,
        )?;
    }
    store::drop_expired_certificates(c, owner, "wechat", now)?;
    Ok(())
}

/// Starts `owner`'s refresh chain unless it runs already.
pub(crate) fn start_refresh(c: &mut dyn kith_store::Conn, owner: &str, now: i64) -> AppResult<()> {
    let due = now + REFRESH_EVERY_MS;
    if store::start_refresh(c, owner, "wechat", due)? {
        enqueue(
            c,
            now,
            &RefreshPlatformCertificates {
                owner: owner.to_owned(),
                due_at: due,
            },
            due,
        )?;
    }
    Ok(())
}

/// Downloads an owner's platform certificates again, then queues the next download; the
/// chain's next time is moved by one conditional update, so exactly one job follows.
#[derive(Debug, Serialize, Deserialize)]
pub struct RefreshPlatformCertificates {
    pub owner: String,
    pub due_at: i64,
}

impl Job for RefreshPlatformCertificates {
    const KIND: &'static str = "rails.wechatpay.certificates";
    const MAX_ATTEMPTS: i64 = 6;
    const LANE: Lane = Lane::Delivery;

    async fn run(self, app: &App, attempt: &ClaimedJob) -> Result<(), JobError> {
        match app.refresh_platform_certificates(&self.owner).await {
            Ok(_) => {}
            // No credentials any more: the chain ends (saving them again starts it).
            Err(AppError::NotFound(_)) => {
                let o = self.owner.clone();
                app.db
                    .write(move |c| store::end_refresh(c, &o, "wechat"))
                    .await?;
                return Ok(());
            }
            Err(e) if !attempt.is_last_attempt() => return Err(e.into()),
            // Out of attempts: the certificates held stay until they expire; the chain goes on.
            Err(e) => {
                tracing::warn!(owner = %self.owner, error = %e, "WeChat Pay platform certificates not refreshed");
            }
        }
        let now = app.now_ms();
        let next = now.max(self.due_at) + REFRESH_EVERY_MS;
        app.db
            .write(move |c| {
                if store::advance_refresh(c, &self.owner, "wechat", self.due_at, next)? {
                    enqueue(
                        c,
                        now,
                        &RefreshPlatformCertificates {
                            owner: self.owner.clone(),
                            due_at: next,
                        },
                        next,
                    )?;
                }
                Ok::<_, AppError>(())
            })
            .await?;
        Ok(())
    }
}
