//! WeChat Pay API v3's wire formats, as documented (pay.weixin.qq.com/docs/merchant,
//! 签名生成 / 签名验证 / 证书和回调报文解密): pure functions, no I/O.

use aes_gcm::aead::{Aead, KeyInit, Payload};
use aes_gcm::{Aes256Gcm, Key, Nonce};
use base64::Engine as _;
use base64::engine::general_purpose::STANDARD as B64;
use rsa::pkcs1v15::{Signature, SigningKey, VerifyingKey};
use rsa::signature::{SignatureEncoding, Signer, Verifier};
use rsa::{RsaPrivateKey, RsaPublicKey};
use sha2::Sha256;

/// The `Authorization` scheme of API v3 requests.
pub const SCHEME: &str = "WECHATPAY2-SHA256-RSA2048";

/// The message a request signature covers: `METHOD\nURL\nTIMESTAMP\nNONCE\nBODY\n`, where
/// URL is the absolute path with its query string and BODY is empty for a GET.
pub fn request_message(
    method: &str,
    path_and_query: &str,
    timestamp: i64,
    nonce: &str,
    body: &str,
) -> String {
    format!("{method}\n{path_and_query}\n{timestamp}\n{nonce}\n{body}\n")
}

/// The message a response or notification signature covers: `TIMESTAMP\nNONCE\nBODY\n`.
pub fn response_message(timestamp: &str, nonce: &str, body: &str) -> String {
    format!("{timestamp}\n{nonce}\n{body}\n")
}

/// SHA256withRSA (PKCS#1 v1.5), base64.
pub fn sign(key: &RsaPrivateKey, message: &str) -> String {
    let sk = SigningKey::<Sha256>::new(key.clone());
    B64.encode(sk.sign(message.as_bytes()).to_bytes())
}

/// Whether `signature_b64` is `key`'s SHA256withRSA signature of `message`.
pub fn verify(key: &RsaPublicKey, message: &str, signature_b64: &str) -> bool {
    let Ok(raw) = B64.decode(signature_b64.trim()) else {
        return false;
    };
    let Ok(sig) = Signature::try_from(raw.as_slice()) else {
        return false;
    };
    VerifyingKey::<Sha256>::new(key.clone())
        .verify(message.as_bytes(), &sig)
        .is_ok()
}

/// The `Authorization` header value of a request.
#[allow(clippy::too_many_arguments)]
pub fn authorization(
    mch_id: &str,
    serial_no: &str,
    key: &RsaPrivateKey,
    method: &str,
    path_and_query: &str,
    timestamp: i64,
    nonce: &str,
    body: &str,
) -> String {
    let signature = sign(
        key,
        &request_message(method, path_and_query, timestamp, nonce, body),
    );
    format!(
        "{SCHEME} mchid=\"{mch_id}\",nonce_str=\"{nonce}\",signature=\"{signature}\",timestamp=\"{timestamp}\",serial_no=\"{serial_no}\""
    )
}

/// The fields of an `Authorization` header (for the tests' local server).
pub fn parse_authorization(header: &str) -> Option<std::collections::BTreeMap<String, String>> {
    let rest = header.strip_prefix(SCHEME)?.strip_prefix(' ')?;
    let mut out = std::collections::BTreeMap::new();
    for part in rest.split(',') {
        let (k, v) = part.split_once('=')?;
        let v = v.strip_prefix('"')?.strip_suffix('"')?;
        out.insert(k.trim().to_owned(), v.to_owned());
    }
    Some(out)
}

/// AEAD_AES_256_GCM with the APIv3 key: `ciphertext` is base64 of ciphertext ‖ 16-byte
/// tag, `nonce` the 12-character string, `associated_data` as sent (may be empty).
pub fn decrypt_resource(
    api_v3_key: &[u8],
    nonce: &str,
    associated_data: &str,
    ciphertext_b64: &str,
) -> Result<Vec<u8>, &'static str> {
    if api_v3_key.len() != 32 {
        return Err("the APIv3 key is not 32 bytes");
    }
    if nonce.len() != 12 {
        return Err("the nonce is not 12 bytes");
    }
    let raw = B64
        .decode(ciphertext_b64)
        .map_err(|_| "the ciphertext is not base64")?;
    Aes256Gcm::new(Key::<Aes256Gcm>::from_slice(api_v3_key))
        .decrypt(
            Nonce::from_slice(nonce.as_bytes()),
            Payload {
                msg: &raw,
                aad: associated_data.as_bytes(),
            },
        )
        .map_err(|_| "the resource does not decrypt (tampered, or another key)")
}

/// The inverse of [`decrypt_resource`] (the tests' local server encrypts with it).
pub fn encrypt_resource(
    api_v3_key: &[u8],
    nonce: &str,
    associated_data: &str,
    plain: &[u8],
) -> String {
    let c = Aes256Gcm::new(Key::<Aes256Gcm>::from_slice(api_v3_key))
        .encrypt(
            Nonce::from_slice(nonce.as_bytes()),
            Payload {
                msg: plain,
                aad: associated_data.as_bytes(),
            },
        )
        .expect("AES-GCM encryption of a bounded message");
    B64.encode(c)
}

/// A notification's envelope (通知报文).
#[derive(Debug, Clone, serde::Serialize, serde::Deserialize)]
pub struct Notification {
    pub id: String,
    #[serde(default)]
    pub create_time: String,
    pub event_type: String,
    #[serde(default)]
    pub resource_type: String,
    #[serde(default)]
    pub summary: String,
    pub resource: Resource,
}

#[derive(Debug, Clone, serde::Serialize, serde::Deserialize)]
pub struct Resource {
    pub algorithm: String,
    pub ciphertext: String,
    #[serde(default)]
    pub associated_data: String,
    pub nonce: String,
    #[serde(default)]
    pub original_type: String,
}

/// A payment as WeChat Pay describes it (the decrypted `transaction` resource, and the
/// order query's answer).
#[derive(Debug, Clone, serde::Serialize, serde::Deserialize)]
pub struct Transaction {
    pub mchid: String,
    pub appid: String,
    pub out_trade_no: String,
    #[serde(default)]
    pub transaction_id: Option<String>,
    pub trade_state: String,
    #[serde(default)]
    pub amount: Option<TransactionAmount>,
}

#[derive(Debug, Clone, serde::Serialize, serde::Deserialize)]
pub struct TransactionAmount {
    #[serde(default)]
    pub total: Option<i64>,
    #[serde(default)]
    pub payer_total: Option<i64>,
    #[serde(default)]
    pub currency: Option<String>,
}

/// A refund as WeChat Pay describes it in a refund notification (the decrypted `refund`
/// resource of `REFUND.SUCCESS` / `REFUND.ABNORMAL` / `REFUND.CLOSED`; 退款结果通知): its
/// state is `refund_status`.
#[derive(Debug, Clone, serde::Serialize, serde::Deserialize)]
pub struct RefundResource {
    pub mchid: String,
    pub out_trade_no: String,
    #[serde(default)]
    pub transaction_id: Option<String>,
    pub out_refund_no: String,
    #[serde(default)]
    pub refund_id: Option<String>,
    pub refund_status: String,
    #[serde(default)]
    pub success_time: Option<String>,
    #[serde(default)]
    pub user_received_account: Option<String>,
    pub amount: RefundAmount,
}

/// A refund as the refund API answers it (申请退款 `POST /v3/refund/domestic/refunds` and
/// 查询单笔退款 `GET /v3/refund/domestic/refunds/{out_refund_no}`): its state is `status`
/// (`SUCCESS`, `CLOSED`, `PROCESSING`, `ABNORMAL`).
#[derive(Debug, Clone, serde::Serialize, serde::Deserialize)]
pub struct RefundAnswer {
    pub refund_id: String,
    pub out_refund_no: String,
    #[serde(default)]
    pub transaction_id: Option<String>,
    #[serde(default)]
    pub out_trade_no: Option<String>,
    pub status: String,
    #[serde(default)]
    pub success_time: Option<String>,
    #[serde(default)]
    pub create_time: Option<String>,
    pub amount: RefundAmount,
}

/// A refund's amounts, in fen: `total` is the original order's, `refund` this refund's.
#[derive(Debug, Clone, serde::Serialize, serde::Deserialize)]
pub struct RefundAmount {
    pub total: i64,
    pub refund: i64,
    #[serde(default)]
    pub payer_total: Option<i64>,
    #[serde(default)]
    pub payer_refund: Option<i64>,
    #[serde(default)]
    pub currency: Option<String>,
}

/// The path of the refund API (申请退款).
pub const REFUNDS_PATH: &str = "/v3/refund/domestic/refunds";

/// The failure answer a notification gets: `{"code":"FAIL","message":…}`.
pub fn fail_body(message: &str) -> String {
    serde_json::json!({ "code": "FAIL", "message": message }).to_string()
}

/// WeChat Pay writes out_trade_no as 6–32 of `[A-Za-z0-9_*-]`: kith's payment id without
/// its hyphens.
pub fn out_trade_no(payment_id: &str) -> String {
    payment_id.replace('-', "")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_request_message_is_five_lines_each_ending_in_newline() {
        // The documented example (签名生成): GET of the certificates list.
        let m = request_message(
            "GET",
            "/v3/certificates",
            1554208460,
            "593BEC0C930BF1AFEB40B4A08C8FB242",
            "",
        );
        assert_eq!(
            m,
            "GET\n/v3/certificates\n1554208460\n593BEC0C930BF1AFEB40B4A08C8FB242\n\n"
        );
        let m = request_message("POST", "/v3/pay/transactions/native", 1, "n", "{\"a\":1}");
        assert_eq!(m, "POST\n/v3/pay/transactions/native\n1\nn\n{\"a\":1}\n");
        assert_eq!(response_message("1", "n", "{}"), "1\nn\n{}\n");
    }

    #[test]
    fn a_signed_request_verifies_and_its_header_parses_back() {
        let mut rng = rand08();
        let key = RsaPrivateKey::new(&mut rng, 2048).unwrap();
        let h = authorization(
            "1900000001",
            "ABC123",
            &key,
            "POST",
            "/v3/x",
            42,
            "nonce1",
            "{}",
        );
        let f = parse_authorization(&h).unwrap();
        assert_eq!(f["mchid"], "1900000001");
        assert_eq!(f["serial_no"], "ABC123");
        assert_eq!(f["timestamp"], "42");
        assert_eq!(f["nonce_str"], "nonce1");
        let msg = request_message("POST", "/v3/x", 42, "nonce1", "{}");
        assert!(verify(&key.to_public_key(), &msg, &f["signature"]));
        assert!(!verify(
            &key.to_public_key(),
            &msg.replace("42", "43"),
            &f["signature"]
        ));
        assert!(!verify(&key.to_public_key(), &msg, "not base64!"));
    }

    #[test]
    fn resources_decrypt_only_untampered_with_their_key_and_associated_data() {
        let key = b"0123456789abcdef0123456789abcdef";
        let c = encrypt_resource(key, "0123456789ab", "transaction", b"{\"x\":1}");
        assert_eq!(
            decrypt_resource(key, "0123456789ab", "transaction", &c).unwrap(),
            b"{\"x\":1}"
        );
        assert!(decrypt_resource(key, "0123456789ab", "other", &c).is_err());
        assert!(
            decrypt_resource(
                b"fedcba9876543210fedcba9876543210",
                "0123456789ab",
                "transaction",
                &c
            )
            .is_err()
        );
        let mut raw = B64.decode(&c).unwrap();
        raw[0] ^= 1;
        assert!(decrypt_resource(key, "0123456789ab", "transaction", &B64.encode(raw)).is_err());
    }

    #[test]
    fn out_trade_no_fits_wechats_32_characters() {
        let id = crate::platform::ids::new_id();
        let n = out_trade_no(&id);
        assert_eq!(n.len(), 32);
        assert_eq!(crate::platform::ids::parse_id(&n).unwrap(), id);
    }

    fn rand08() -> impl rsa::rand_core::CryptoRngCore {
        rsa::rand_core::OsRng
    }
}
