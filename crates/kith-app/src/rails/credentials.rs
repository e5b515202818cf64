//! Providers' credentials per owner: checked when entered, sealed at rest, shown only as
//! fingerprints.

use rsa::pkcs8::{DecodePrivateKey, DecodePublicKey, EncodePublicKey};
use rsa::traits::PublicKeyParts;
use rsa::{RsaPrivateKey, RsaPublicKey};
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};
use x509_cert::Certificate;
use x509_cert::der::{DecodePem, Encode};

use super::store;
use crate::platform::auth::{StaffNeed, require_staff};
use crate::{App, AppError, AppResult, Principal, rfc3339};

/// What a merchant (or the platform) enters for WeChat Pay (微信支付 API v3).
#[derive(Clone, Deserialize, Serialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct WechatPayInput {
    /// 商户号, digits.
    pub mch_id: String,
    /// The AppID (公众号 / 小程序 / 移动应用) the merchant id is bound to.
    pub app_id: String,
    /// The APIv3 key: exactly 32 characters.
    pub api_v3_key: String,
    /// The merchant API certificate's serial number (hex).
    pub merchant_serial: String,
    /// The merchant API private key, PKCS#8 PEM (`apiclient_key.pem`).
    pub private_key_pem: String,
    /// No longer taken (issue 15): kith downloads WeChat Pay's platform certificates itself
    /// (`GET /v3/certificates`). A body that still sends it is refused with a 422 naming
    /// it, so a client never believes its certificates are used.
    #[serde(default, skip_serializing)]
    #[schema(ignore)]
    pub platform_certificates_pem: Option<serde::de::IgnoredAny>,
}

impl std::fmt::Debug for WechatPayInput {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("WechatPayInput")
            .field("mch_id", &self.mch_id)
            .field("app_id", &self.app_id)
            .field("merchant_serial", &self.merchant_serial)
            .finish_non_exhaustive()
    }
}

/// A WeChat Pay platform certificate's key, as downloaded by kith from WeChat Pay
/// ([`super::wechatpay::certificates`]); never typed by the merchant.
#[derive(Clone)]
pub struct PlatformKey {
    /// The serial number, upper-case hex.
    pub serial: String,
    pub key: RsaPublicKey,
    /// WeChat's `expire_time` (epoch ms): past it the certificate is not used.
    pub expires_at: i64,
}

/// Credentials as they are used: parsed keys. `Debug` shows no secret.
#[derive(Clone)]
pub struct WechatPayKeys {
    /// The merchant id, or `platform`.
    pub owner: String,
    pub mch_id: String,
    pub app_id: String,
    pub api_v3_key: Vec<u8>,
    pub merchant_serial: String,
    pub private_key: RsaPrivateKey,
    /// The platform certificates kith downloaded from WeChat Pay for this owner.
    pub platform: Vec<PlatformKey>,
}

impl std::fmt::Debug for WechatPayKeys {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("WechatPayKeys")
            .field("mch_id", &self.mch_id)
            .field("app_id", &self.app_id)
            .field("merchant_serial", &self.merchant_serial)
            .finish_non_exhaustive()
    }
}

impl WechatPayKeys {
    /// The key of the downloaded platform certificate named by a `Wechatpay-Serial`
    /// header, unless it has expired by `now_ms`.
    pub fn platform_key(&self, serial: &str, now_ms: i64) -> Option<&RsaPublicKey> {
        let serial = serial.trim().to_ascii_uppercase();
        self.platform
            .iter()
            .find(|p| p.serial == serial && p.expires_at > now_ms)
            .map(|p| &p.key)
    }
}

/// What may be shown of an owner's credentials: identifiers and fingerprints, no secret.
#[derive(Debug, Clone, Serialize, Deserialize, utoipa::ToSchema)]
pub struct RailCredentials {
    /// Whether credentials are set; when not, every other field is empty.
    #[serde(default)]
    pub configured: bool,
    pub provider: String,
    /// The merchant id, or `platform`.
    pub owner: String,
    /// WeChat Pay: the 商户号. Alipay: the seller PID (`2088…`) when one was given.
    pub mch_id: String,
    pub app_id: String,
    pub merchant_serial: String,
    /// First 16 hex digits of SHA-256 of the merchant public key (DER).
    pub private_key_fingerprint: String,
    /// First 8 hex digits of SHA-256 of the APIv3 key.
    pub api_v3_key_fingerprint: String,
    /// WeChat Pay: the serials of the platform certificates kith downloaded from WeChat
    /// Pay and still uses (not expired).
    pub platform_serials: Vec<String>,
    /// WeChat Pay: those certificates with their validity and fingerprint.
    #[serde(default)]
    pub platform_certificates: Vec<PlatformCertificate>,
    /// Alipay: first 16 hex digits of SHA-256 of the Alipay public key (DER).
    #[serde(default)]
    pub alipay_public_key_fingerprint: String,
    /// Where WeChat Pay sends this owner's notifications (register it as `notify_url`).
    #[serde(default)]
    pub notify_url: String,
    #[serde(default)]
    pub updated_at: String,
}

/// A downloaded platform certificate as it may be shown: serial, validity, fingerprint.
#[derive(Debug, Clone, Serialize, Deserialize, utoipa::ToSchema)]
pub struct PlatformCertificate {
    /// The serial number, upper-case hex (WeChat's `serial_no`).
    pub serial: String,
    /// WeChat's `effective_time`, RFC 3339.
    pub effective_time: String,
    /// WeChat's `expire_time`, RFC 3339: past it kith no longer uses the certificate.
    pub expire_time: String,
    /// First 16 hex digits of SHA-256 of the certificate (DER).
    pub fingerprint: String,
}

fn prefix_sha256(bytes: &[u8], n: usize) -> String {
    hex::encode(Sha256::digest(bytes))[..n].to_owned()
}

/// One X.509 certificate in PEM: its serial (upper-case hex, no leading zero bytes), its
/// RSA key and its `notAfter` (epoch ms).
pub(crate) fn parse_certificate(pem: &str) -> Result<(String, RsaPublicKey, i64, Vec<u8>), String> {
    let cert = Certificate::from_pem(pem.trim().as_bytes())
        .map_err(|e| format!("the certificate does not parse: {e}"))?;
    let tbs = &cert.tbs_certificate;
    let serial_bytes = tbs.serial_number.as_bytes();
    let first = serial_bytes
        .iter()
        .position(|b| *b != 0)
        .unwrap_or(serial_bytes.len());
    let serial = hex::encode_upper(&serial_bytes[first..]);
    let spki = tbs
        .subject_public_key_info
        .to_der()
        .map_err(|e| format!("the certificate's key does not encode: {e}"))?;
    let key = RsaPublicKey::from_public_key_der(&spki)
        .map_err(|_| "the certificate's key is not an RSA key".to_owned())?;
    if key.size() < 256 {
        return Err("the certificate's key is shorter than 2048 bits".into());
    }
    let not_after =
        i64::try_from(tbs.validity.not_after.to_unix_duration().as_millis()).unwrap_or(i64::MAX);
    let der = cert
        .to_der()
        .map_err(|e| format!("the certificate does not encode: {e}"))?;
    Ok((serial, key, not_after, der))
}

impl WechatPayInput {
    /// Checks every field; a bad one is a 422 naming it. The keys come back without
    /// platform certificates: those are WeChat Pay's, downloaded by kith.
    pub fn parse(&self, owner: &str) -> AppResult<WechatPayKeys> {
        if self.platform_certificates_pem.is_some() {
            return Err(AppError::invalid(
                "platform_certificates_pem",
                "is no longer taken: kith downloads WeChat Pay's platform certificates itself; leave it out",
            ));
        }
        let mch_id = self.mch_id.trim();
        if mch_id.is_empty() || mch_id.len() > 32 || !mch_id.bytes().all(|b| b.is_ascii_digit()) {
            return Err(AppError::invalid(
                "mch_id",
                "must be the 商户号: 1–32 digits",
            ));
        }
        let app_id = self.app_id.trim();
        if app_id.is_empty()
            || app_id.len() > 32
            || !app_id.bytes().all(|b| b.is_ascii_alphanumeric())
        {
            return Err(AppError::invalid(
                "app_id",
                "must be 1–32 letters and digits (wx…)",
            ));
        }
        if self.api_v3_key.len() != 32 || !self.api_v3_key.is_ascii() {
            return Err(AppError::invalid(
                "api_v3_key",
                format!(
                    "must be exactly 32 characters, got {}",
                    self.api_v3_key.chars().count()
                ),
            ));
        }
        let serial = self.merchant_serial.trim();
        if serial.is_empty() || serial.len() > 64 || !serial.bytes().all(|b| b.is_ascii_hexdigit())
        {
            return Err(AppError::invalid(
                "merchant_serial",
                "must be the certificate serial number in hex",
            ));
        }
        let private_key =
            RsaPrivateKey::from_pkcs8_pem(self.private_key_pem.trim()).map_err(|_| {
                AppError::invalid(
                    "private_key_pem",
                    "is not an RSA private key in PKCS#8 PEM (-----BEGIN PRIVATE KEY-----)",
                )
            })?;
        if private_key.size() < 256 {
            return Err(AppError::invalid(
                "private_key_pem",
                "must be an RSA key of at least 2048 bits",
            ));
        }
        Ok(WechatPayKeys {
            owner: owner.to_owned(),
            mch_id: mch_id.to_owned(),
            app_id: app_id.to_owned(),
            api_v3_key: self.api_v3_key.as_bytes().to_vec(),
            merchant_serial: serial.to_ascii_uppercase(),
            private_key,
            platform: Vec::new(),
        })
    }
}

impl WechatPayKeys {
    fn fingerprints(&self, owner: &str) -> AppResult<RailCredentials> {
        let public = self
            .private_key
            .to_public_key()
            .to_public_key_der()
            .map_err(|e| AppError::Internal(e.to_string()))?;
        Ok(RailCredentials {
            configured: true,
            provider: "wechat".into(),
            owner: owner.to_owned(),
            mch_id: self.mch_id.clone(),
            app_id: self.app_id.clone(),
            merchant_serial: self.merchant_serial.clone(),
            private_key_fingerprint: prefix_sha256(public.as_bytes(), 16),
            api_v3_key_fingerprint: prefix_sha256(&self.api_v3_key, 8),
            platform_serials: Vec::new(),
            platform_certificates: Vec::new(),
            alipay_public_key_fingerprint: String::new(),
            notify_url: String::new(),
            updated_at: String::new(),
        })
    }
}

fn aad(owner: &str, provider: &str) -> Vec<u8> {
    format!("rail_credentials/{owner}/{provider}").into_bytes()
}

/// The owner's WeChat Pay keys, opened from storage; `None` when it has none.
pub(crate) fn load_wechatpay(
    c: &mut dyn kith_store::Conn,
    key: Option<&super::secrets::SecretKey>,
    owner: &str,
) -> AppResult<Option<WechatPayKeys>> {
    let Some(row) = store::sealed(c, owner, "wechat")? else {
        return Ok(None);
    };
    let key = key.ok_or_else(|| {
        AppError::Unavailable(
            "WeChat Pay credentials are stored but this server has no secret key (KITH_SECRET_KEY)"
                .into(),
        )
    })?;
    let plain = key.open(&row, &aad(owner, "wechat"))?;
    let mut input: WechatPayInput =
        serde_json::from_slice(&plain).map_err(|e| AppError::Internal(e.to_string()))?;
    // Credentials sealed before issue 15 carry the certificates the merchant typed: they
    // are never used — only what kith downloaded from WeChat Pay is trusted.
    input.platform_certificates_pem = None;
    let mut keys = input.parse(owner)?;
    keys.platform = platform_keys(c, owner)?;
    Ok(Some(keys))
}

/// The platform certificates kith downloaded for `owner`, as keys.
pub(crate) fn platform_keys(
    c: &mut dyn kith_store::Conn,
    owner: &str,
) -> AppResult<Vec<PlatformKey>> {
    store::platform_certificates(c, owner, "wechat")?
        .into_iter()
        .map(|row| {
            let (serial, key, _, _) = parse_certificate(&row.pem).map_err(|e| {
                AppError::Internal(format!("stored certificate {}: {e}", row.serial))
            })?;
            Ok(PlatformKey {
                serial,
                key,
                expires_at: row.expires_at,
            })
        })
        .collect()
}

/// The downloaded certificates of `owner` still in use at `now_ms`, as they may be shown.
fn platform_views(
    c: &mut dyn kith_store::Conn,
    owner: &str,
    now_ms: i64,
) -> AppResult<Vec<PlatformCertificate>> {
    store::platform_certificates(c, owner, "wechat")?
        .into_iter()
        .filter(|row| row.expires_at > now_ms)
        .map(|row| {
            let (_, _, _, der) = parse_certificate(&row.pem).map_err(|e| {
                AppError::Internal(format!("stored certificate {}: {e}", row.serial))
            })?;
            Ok(PlatformCertificate {
                serial: row.serial,
                effective_time: rfc3339(row.effective_at),
                expire_time: rfc3339(row.expires_at),
                fingerprint: prefix_sha256(&der, 16),
            })
        })
        .collect()
}

impl App {
    fn rail_owner_check(
        c: &mut dyn kith_store::Conn,
        who: &Principal,
        owner: &str,
    ) -> AppResult<()> {
        if owner == super::PLATFORM {
            who.require_platform_admin()
        } else {
            require_staff(c, who, owner, StaffNeed::Owner).map(|_| ())
        }
    }

    pub(crate) fn notify_url(&self, owner: &str) -> String {
        format!(
            "{}/api/v1/payments/wechat/notify/{owner}",
            self.config.public_url
        )
    }

    /// Enters or replaces an owner's WeChat Pay credentials: the merchant's owner for a
    /// merchant, a platform admin for [`super::PLATFORM`]. Refused without a secret key.
    pub async fn set_wechatpay_credentials(
        &self,
        who: &Principal,
        owner: &str,
        input: WechatPayInput,
    ) -> AppResult<RailCredentials> {
        let owner = if owner == super::PLATFORM {
            owner.to_owned()
        } else {
            crate::platform::ids::parse_id(owner).ok_or(AppError::NotFound("merchant"))?
        };
        let check = (who.clone(), owner.clone());
        self.db
            .read(move |c| App::rail_owner_check(c, &check.0, &check.1))
            .await?;
        let key = self.config.secret_key.clone().ok_or_else(|| {
            AppError::state(
                "this server has no secret key (KITH_SECRET_KEY), so it cannot store payment credentials",
            )
        })?;
        let mut keys = input.parse(&owner)?;
        let mut view = keys.fingerprints(&owner)?;
        // The platform certificates come from WeChat Pay, asked with these very credentials:
        // a wrong APIv3 key, a refused signature or an untrusted answer stores nothing.
        let o = owner.clone();
        keys.platform = self.db.read(move |c| platform_keys(c, &o)).await?;
        let fetched = self.fetch_platform_certificates(&keys).await?;
        let sealed = key.seal(
            &serde_json::to_vec(&input).map_err(|e| AppError::Internal(e.to_string()))?,
            &aad(&owner, "wechat"),
        )?;
        let fingerprints =
            serde_json::to_string(&view).map_err(|e| AppError::Internal(e.to_string()))?;
        let now = self.now_ms();
        let (who, o, mch) = (who.clone(), owner.clone(), keys.mch_id.clone());
        self.db
            .write(move |c| {
                App::rail_owner_check(c, &who, &o)?;
                store::upsert(
                    c,
                    &o,
                    "wechat",
                    &sealed,
                    &fingerprints,
                    &mch,
                    &who.account_id,
                    now,
                )?;
                super::wechatpay::certificates::store_fetched(c, &o, &fetched, now)?;
                super::wechatpay::certificates::start_refresh(c, &o, now)?;
                // From now on each day is reconciled with WeChat Pay's bill.
                super::reconcile::start_daily(c, now, "wechat", &o)?;
                platform_views(c, &o, now)
            })
            .await
            .map(|certs| {
                view.platform_serials = certs.iter().map(|p| p.serial.clone()).collect();
                view.platform_certificates = certs;
            })?;
        tracing::info!(owner = %owner, mch_id = %view.mch_id, serials = ?view.platform_serials, "WeChat Pay credentials set");
        view.notify_url = self.notify_url(&owner);
        view.updated_at = rfc3339(now);
        Ok(view)
    }

    /// An owner's WeChat Pay credentials as fingerprints (`configured: false` when none
    /// are set).
    pub async fn wechatpay_credentials(
        &self,
        who: &Principal,
        owner: &str,
    ) -> AppResult<RailCredentials> {
        let owner = if owner == super::PLATFORM {
            owner.to_owned()
        } else {
            crate::platform::ids::parse_id(owner).ok_or(AppError::NotFound("merchant"))?
        };
        let (who, o) = (who.clone(), owner.clone());
        let now = self.now_ms();
        let found = self
            .db
            .read(move |c| {
                App::rail_owner_check(c, &who, &o)?;
                Ok::<_, AppError>(match store::fingerprints(c, &o, "wechat")? {
                    Some(fp) => Some((fp, platform_views(c, &o, now)?)),
                    None => None,
                })
            })
            .await?;
        let Some(((fp, at), certs)) = found else {
            return Ok(RailCredentials {
                configured: false,
                provider: "wechat".into(),
                owner,
                mch_id: String::new(),
                app_id: String::new(),
                merchant_serial: String::new(),
                private_key_fingerprint: String::new(),
                api_v3_key_fingerprint: String::new(),
                platform_serials: Vec::new(),
                platform_certificates: Vec::new(),
                alipay_public_key_fingerprint: String::new(),
                notify_url: String::new(),
                updated_at: String::new(),
            });
        };
        let mut view: RailCredentials =
            serde_json::from_str(&fp).map_err(|e| AppError::Internal(e.to_string()))?;
        view.configured = true;
        view.platform_serials = certs.iter().map(|p| p.serial.clone()).collect();
        view.platform_certificates = certs;
        view.notify_url = self.notify_url(&owner);
        view.updated_at = rfc3339(at);
        Ok(view)
    }

    /// Whether `owner` (a merchant id or `platform`) takes WeChat Pay.
    pub async fn has_wechatpay(&self, owner: &str) -> AppResult<bool> {
        let o = owner.to_owned();
        self.db
            .read(move |c| Ok(store::fingerprints(c, &o, "wechat")?.is_some()))
            .await
    }
}

/// What a merchant (or the platform) enters for Alipay (支付宝开放平台, RSA2 keys).
#[derive(Clone, Deserialize, Serialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct AlipayInput {
    /// The application's APPID (digits, e.g. `2021000000000001`).
    pub app_id: String,
    /// The application private key (应用私钥): RSA 2048, PEM in PKCS#8
    /// (`-----BEGIN PRIVATE KEY-----`) or PKCS#1 (`-----BEGIN RSA PRIVATE KEY-----`), or
    /// the bare base64 Alipay's key tool prints.
    pub app_private_key_pem: String,
    /// The Alipay public key (支付宝公钥) shown beside the app on the open platform, PEM
    /// (`-----BEGIN PUBLIC KEY-----`) or bare base64.
    pub alipay_public_key_pem: String,
    /// Optional: the merchant's Alipay user id (PID, `2088…`). When given, a notification
    /// whose `seller_id` is another is refused.
    #[serde(default)]
    pub seller_id: String,
}

impl std::fmt::Debug for AlipayInput {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("AlipayInput")
            .field("app_id", &self.app_id)
            .field("seller_id", &self.seller_id)
            .finish_non_exhaustive()
    }
}

/// Alipay credentials as they are used. `Debug` shows no secret.
#[derive(Clone)]
pub struct AlipayKeys {
    pub app_id: String,
    pub private_key: RsaPrivateKey,
    pub alipay_public: RsaPublicKey,
    pub seller_id: Option<String>,
}

impl std::fmt::Debug for AlipayKeys {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("AlipayKeys")
            .field("app_id", &self.app_id)
            .field("seller_id", &self.seller_id)
            .finish_non_exhaustive()
    }
}

/// The DER inside a key given as bare base64 (no PEM lines).
fn bare_base64(text: &str) -> Option<Vec<u8>> {
    use base64::Engine as _;
    let compact: String = text.split_whitespace().collect();
    if compact.is_empty() || compact.contains("-----") {
        return None;
    }
    base64::engine::general_purpose::STANDARD
        .decode(compact)
        .ok()
}

fn alipay_private_key(text: &str) -> Option<RsaPrivateKey> {
    use rsa::pkcs1::DecodeRsaPrivateKey;
    let t = text.trim();
    RsaPrivateKey::from_pkcs8_pem(t)
        .ok()
        .or_else(|| RsaPrivateKey::from_pkcs1_pem(t).ok())
        .or_else(|| {
            let der = bare_base64(t)?;
            RsaPrivateKey::from_pkcs8_der(&der)
                .ok()
                .or_else(|| RsaPrivateKey::from_pkcs1_der(&der).ok())
        })
}

fn alipay_public_key(text: &str) -> Option<RsaPublicKey> {
    use rsa::pkcs1::DecodeRsaPublicKey;
    let t = text.trim();
    RsaPublicKey::from_public_key_pem(t)
        .ok()
        .or_else(|| RsaPublicKey::from_pkcs1_pem(t).ok())
        .or_else(|| {
            let der = bare_base64(t)?;
            RsaPublicKey::from_public_key_der(&der)
                .ok()
                .or_else(|| RsaPublicKey::from_pkcs1_der(&der).ok())
        })
}

impl AlipayInput {
    /// Checks every field; a bad one is a 422 naming it.
    pub fn parse(&self) -> AppResult<AlipayKeys> {
        let app_id = self.app_id.trim();
        if app_id.is_empty() || app_id.len() > 32 || !app_id.bytes().all(|b| b.is_ascii_digit()) {
            return Err(AppError::invalid(
                "app_id",
                "must be the APPID: 1–32 digits",
            ));
        }
        let private_key = alipay_private_key(&self.app_private_key_pem).ok_or_else(|| {
            AppError::invalid(
                "app_private_key_pem",
                "is not an RSA private key in PEM (PKCS#8 or PKCS#1) or base64",
            )
        })?;
        if private_key.size() < 256 {
            return Err(AppError::invalid(
                "app_private_key_pem",
                "must be an RSA key of at least 2048 bits (RSA2)",
            ));
        }
        let alipay_public = alipay_public_key(&self.alipay_public_key_pem).ok_or_else(|| {
            AppError::invalid(
                "alipay_public_key_pem",
                "is not an RSA public key in PEM (-----BEGIN PUBLIC KEY-----) or base64",
            )
        })?;
        if alipay_public.size() < 256 {
            return Err(AppError::invalid(
                "alipay_public_key_pem",
                "must be an RSA key of at least 2048 bits (RSA2)",
            ));
        }
        if alipay_public == private_key.to_public_key() {
            return Err(AppError::invalid(
                "alipay_public_key_pem",
                "is the app's own public key; enter the Alipay public key (支付宝公钥)",
            ));
        }
        let seller = self.seller_id.trim();
        let seller_id = if seller.is_empty() {
            None
        } else if seller.len() == 16
            && seller.starts_with("2088")
            && seller.bytes().all(|b| b.is_ascii_digit())
        {
            Some(seller.to_owned())
        } else {
            return Err(AppError::invalid(
                "seller_id",
                "must be empty or the 16-digit Alipay user id (2088…)",
            ));
        };
        Ok(AlipayKeys {
            app_id: app_id.to_owned(),
            private_key,
            alipay_public,
            seller_id,
        })
    }
}

impl AlipayKeys {
    fn fingerprints(&self, owner: &str) -> AppResult<RailCredentials> {
        let der = |k: &RsaPublicKey| {
            k.to_public_key_der()
                .map_err(|e| AppError::Internal(e.to_string()))
        };
        let app_public = der(&self.private_key.to_public_key())?;
        let alipay = der(&self.alipay_public)?;
        Ok(RailCredentials {
            configured: true,
            provider: "alipay".into(),
            owner: owner.to_owned(),
            mch_id: self.seller_id.clone().unwrap_or_default(),
            app_id: self.app_id.clone(),
            merchant_serial: String::new(),
            private_key_fingerprint: prefix_sha256(app_public.as_bytes(), 16),
            api_v3_key_fingerprint: String::new(),
            platform_serials: Vec::new(),
            platform_certificates: Vec::new(),
            alipay_public_key_fingerprint: prefix_sha256(alipay.as_bytes(), 16),
            notify_url: String::new(),
            updated_at: String::new(),
        })
    }
}

/// The owner's Alipay keys, opened from storage; `None` when it has none.
pub(crate) fn load_alipay(
    c: &mut dyn kith_store::Conn,
    key: Option<&super::secrets::SecretKey>,
    owner: &str,
) -> AppResult<Option<AlipayKeys>> {
    let Some(row) = store::sealed(c, owner, "alipay")? else {
        return Ok(None);
    };
    let key = key.ok_or_else(|| {
        AppError::Unavailable(
            "Alipay credentials are stored but this server has no secret key (KITH_SECRET_KEY)"
                .into(),
        )
    })?;
    let plain = key.open(&row, &aad(owner, "alipay"))?;
    let input: AlipayInput =
        serde_json::from_slice(&plain).map_err(|e| AppError::Internal(e.to_string()))?;
    input.parse().map(Some)
}

impl App {
    fn rail_owner_id(owner: &str) -> AppResult<String> {
        if owner == super::PLATFORM {
            Ok(owner.to_owned())
        } else {
            crate::platform::ids::parse_id(owner).ok_or(AppError::NotFound("merchant"))
        }
    }

    /// Where Alipay sends `owner`'s asynchronous notifications (sent as `notify_url`).
    pub(crate) fn alipay_notify_url(&self, owner: &str) -> String {
        format!(
            "{}/api/v1/payments/alipay/notify/{owner}",
            self.config.public_url
        )
    }

    /// Enters or replaces an owner's Alipay credentials: the merchant's owner for a
    /// merchant, a platform admin for [`super::PLATFORM`]. Refused without a secret key.
    pub async fn set_alipay_credentials(
        &self,
        who: &Principal,
        owner: &str,
        input: AlipayInput,
    ) -> AppResult<RailCredentials> {
        let owner = Self::rail_owner_id(owner)?;
        let check = (who.clone(), owner.clone());
        self.db
            .read(move |c| App::rail_owner_check(c, &check.0, &check.1))
            .await?;
        let key = self.config.secret_key.clone().ok_or_else(|| {
            AppError::state(
                "this server has no secret key (KITH_SECRET_KEY), so it cannot store payment credentials",
            )
        })?;
        let keys = input.parse()?;
        let mut view = keys.fingerprints(&owner)?;
        let sealed = key.seal(
            &serde_json::to_vec(&input).map_err(|e| AppError::Internal(e.to_string()))?,
            &aad(&owner, "alipay"),
        )?;
        let fingerprints =
            serde_json::to_string(&view).map_err(|e| AppError::Internal(e.to_string()))?;
        let now = self.now_ms();
        let (who, o, app_id) = (who.clone(), owner.clone(), keys.app_id.clone());
        self.db
            .write(move |c| {
                App::rail_owner_check(c, &who, &o)?;
                store::upsert(
                    c,
                    &o,
                    "alipay",
                    &sealed,
                    &fingerprints,
                    &app_id,
                    &who.account_id,
                    now,
                )?;
                // From now on each day is reconciled with Alipay's trade bill.
                super::reconcile::start_daily(c, now, "alipay", &o)
            })
            .await?;
        tracing::info!(owner = %owner, app_id = %view.app_id, "Alipay credentials set");
        view.notify_url = self.alipay_notify_url(&owner);
        view.updated_at = rfc3339(now);
        Ok(view)
    }

    /// An owner's Alipay credentials as fingerprints (`configured: false` when none).
    pub async fn alipay_credentials(
        &self,
        who: &Principal,
        owner: &str,
    ) -> AppResult<RailCredentials> {
        let owner = Self::rail_owner_id(owner)?;
        let (who, o) = (who.clone(), owner.clone());
        let found = self
            .db
            .read(move |c| {
                App::rail_owner_check(c, &who, &o)?;
                store::fingerprints(c, &o, "alipay")
            })
            .await?;
        let Some((fp, at)) = found else {
            return Ok(RailCredentials {
                configured: false,
                provider: "alipay".into(),
                owner,
                mch_id: String::new(),
                app_id: String::new(),
                merchant_serial: String::new(),
                private_key_fingerprint: String::new(),
                api_v3_key_fingerprint: String::new(),
                platform_serials: Vec::new(),
                platform_certificates: Vec::new(),
                alipay_public_key_fingerprint: String::new(),
                notify_url: String::new(),
                updated_at: String::new(),
            });
        };
        let mut view: RailCredentials =
            serde_json::from_str(&fp).map_err(|e| AppError::Internal(e.to_string()))?;
        view.configured = true;
        view.notify_url = self.alipay_notify_url(&owner);
        view.updated_at = rfc3339(at);
        Ok(view)
    }

    /// Whether `owner` (a merchant id or `platform`) takes Alipay.
    pub async fn has_alipay(&self, owner: &str) -> AppResult<bool> {
        let o = owner.to_owned();
        self.db
            .read(move |c| Ok(store::fingerprints(c, &o, "alipay")?.is_some()))
            .await
    }
}
