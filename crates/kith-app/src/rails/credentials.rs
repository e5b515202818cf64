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
    /// One or more WeChat Pay platform certificates, PEM (`-----BEGIN CERTIFICATE-----`).
    pub platform_certificates_pem: String,
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

/// Credentials as they are used: parsed keys. `Debug` shows no secret.
#[derive(Clone)]
pub struct WechatPayKeys {
    pub mch_id: String,
    pub app_id: String,
    pub api_v3_key: Vec<u8>,
    pub merchant_serial: String,
    pub private_key: RsaPrivateKey,
    /// Platform certificates by serial (upper-case hex).
    pub platform: Vec<(String, RsaPublicKey)>,
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
    /// The platform certificate's key named by a `Wechatpay-Serial` header.
    pub fn platform_key(&self, serial: &str) -> Option<&RsaPublicKey> {
        let serial = serial.trim().to_ascii_uppercase();
        self.platform
            .iter()
            .find(|(s, _)| *s == serial)
            .map(|(_, k)| k)
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
    /// The platform certificates' serials, as read from the certificates.
    pub platform_serials: Vec<String>,
    /// Alipay: first 16 hex digits of SHA-256 of the Alipay public key (DER).
    #[serde(default)]
    pub alipay_public_key_fingerprint: String,
    /// Where WeChat Pay sends this owner's notifications (register it as `notify_url`).
    #[serde(default)]
    pub notify_url: String,
    #[serde(default)]
    pub updated_at: String,
}

fn prefix_sha256(bytes: &[u8], n: usize) -> String {
    hex::encode(Sha256::digest(bytes))[..n].to_owned()
}

/// Reads every certificate of a PEM bundle: (serial, key).
fn parse_certificates(pem: &str) -> Result<Vec<(String, RsaPublicKey)>, String> {
    let mut out = Vec::new();
    let mut rest = pem;
    const BEGIN: &str = "-----BEGIN CERTIFICATE-----";
    const END: &str = "-----END CERTIFICATE-----";
    while let Some(start) = rest.find(BEGIN) {
        let end = rest[start..]
            .find(END)
            .ok_or("a certificate has no END line")?
            + start
            + END.len();
        let cert = Certificate::from_pem(&rest.as_bytes()[start..end])
            .map_err(|e| format!("a certificate does not parse: {e}"))?;
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
            .map_err(|e| format!("a certificate's key does not encode: {e}"))?;
        let key = RsaPublicKey::from_public_key_der(&spki)
            .map_err(|_| "a certificate's key is not an RSA key".to_owned())?;
        out.push((serial, key));
        rest = &rest[end..];
    }
    if out.is_empty() {
        return Err("no PEM certificate (-----BEGIN CERTIFICATE-----) found".into());
    }
    Ok(out)
}

impl WechatPayInput {
    /// Checks every field; a bad one is a 422 naming it.
    pub fn parse(&self) -> AppResult<WechatPayKeys> {
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
        let platform = parse_certificates(&self.platform_certificates_pem)
            .map_err(|e| AppError::invalid("platform_certificates_pem", e))?;
        Ok(WechatPayKeys {
            mch_id: mch_id.to_owned(),
            app_id: app_id.to_owned(),
            api_v3_key: self.api_v3_key.as_bytes().to_vec(),
            merchant_serial: serial.to_ascii_uppercase(),
            private_key,
            platform,
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
            platform_serials: self.platform.iter().map(|(s, _)| s.clone()).collect(),
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
    let input: WechatPayInput =
        serde_json::from_slice(&plain).map_err(|e| AppError::Internal(e.to_string()))?;
    input.parse().map(Some)
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
        let keys = input.parse()?;
        let mut view = keys.fingerprints(&owner)?;
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
                // From now on each day is reconciled with WeChat Pay's bill.
                super::reconcile::start_daily(c, now, "wechat", &o)
            })
            .await?;
        tracing::info!(owner = %owner, mch_id = %view.mch_id, "WeChat Pay credentials set");
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
        let found = self
            .db
            .read(move |c| {
                App::rail_owner_check(c, &who, &o)?;
                store::fingerprints(c, &o, "wechat")
            })
            .await?;
        let Some((fp, at)) = found else {
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
                alipay_public_key_fingerprint: String::new(),
                notify_url: String::new(),
                updated_at: String::new(),
            });
        };
        let mut view: RailCredentials =
            serde_json::from_str(&fp).map_err(|e| AppError::Internal(e.to_string()))?;
        view.configured = true;
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
