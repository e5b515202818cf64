//! The server's secret key and the AES-256-GCM seal credentials are stored under.

use aes_gcm::aead::{Aead, KeyInit, Payload};
use aes_gcm::{Aes256Gcm, Key, Nonce};
use base64::Engine as _;
use base64::engine::general_purpose::STANDARD as B64;

use crate::{AppError, AppResult};

/// 32 bytes from `KITH_SECRET_KEY` / `--secret-key`. `Debug` never shows them.
#[derive(Clone)]
pub struct SecretKey([u8; 32]);

impl std::fmt::Debug for SecretKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("SecretKey(redacted)")
    }
}

impl SecretKey {
    /// A key given as 64 hex digits or as base64 of 32 bytes.
    pub fn parse(s: &str) -> Result<Self, String> {
        let s = s.trim();
        let bytes = if s.len() == 64 && s.bytes().all(|b| b.is_ascii_hexdigit()) {
            hex::decode(s).map_err(|e| e.to_string())?
        } else {
            B64.decode(s).map_err(|_| {
                "the secret key must be 64 hex digits or base64 of 32 bytes".to_owned()
            })?
        };
        let arr: [u8; 32] = bytes
            .try_into()
            .map_err(|_| "the secret key must be exactly 32 bytes".to_owned())?;
        Ok(Self(arr))
    }

    /// A fresh random key (the demo's and the tests').
    pub fn generate() -> Self {
        Self(rand::random())
    }

    /// The key as 64 hex digits (to print for the operator to keep).
    pub fn to_hex(&self) -> String {
        hex::encode(self.0)
    }

    /// Seals `plain`: base64(nonce ‖ ciphertext ‖ tag); `aad` binds it to its row.
    pub fn seal(&self, plain: &[u8], aad: &[u8]) -> AppResult<String> {
        let cipher = Aes256Gcm::new(Key::<Aes256Gcm>::from_slice(&self.0));
        let nonce: [u8; 12] = rand::random();
        let mut out = nonce.to_vec();
        out.extend(
            cipher
                .encrypt(Nonce::from_slice(&nonce), Payload { msg: plain, aad })
                .map_err(|_| AppError::Internal("sealing failed".into()))?,
        );
        Ok(B64.encode(out))
    }

    /// Opens what [`SecretKey::seal`] made with the same `aad`.
    pub fn open(&self, sealed: &str, aad: &[u8]) -> AppResult<Vec<u8>> {
        let raw = B64
            .decode(sealed)
            .map_err(|_| AppError::Internal("sealed credentials are not base64".into()))?;
        if raw.len() < 12 + 16 {
            return Err(AppError::Internal(
                "sealed credentials are truncated".into(),
            ));
        }
        let cipher = Aes256Gcm::new(Key::<Aes256Gcm>::from_slice(&self.0));
        cipher
            .decrypt(
                Nonce::from_slice(&raw[..12]),
                Payload {
                    msg: &raw[12..],
                    aad,
                },
            )
            .map_err(|_| {
                AppError::Internal(
                    "stored credentials do not open with this server's secret key".into(),
                )
            })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn seal_opens_only_with_its_key_and_row() {
        let k = SecretKey::generate();
        let s = k.seal(b"apiv3 key", b"m1/wechat").unwrap();
        assert_eq!(k.open(&s, b"m1/wechat").unwrap(), b"apiv3 key");
        assert!(k.open(&s, b"m2/wechat").is_err());
        assert!(SecretKey::generate().open(&s, b"m1/wechat").is_err());
        assert!(!s.contains("apiv3"));
    }

    #[test]
    fn keys_parse_from_hex_or_base64_of_32_bytes() {
        let k = SecretKey::generate();
        assert_eq!(SecretKey::parse(&k.to_hex()).unwrap().0, k.0);
        assert_eq!(SecretKey::parse(&B64.encode(k.0)).unwrap().0, k.0);
        assert!(SecretKey::parse("short").is_err());
        assert!(SecretKey::parse(&B64.encode([0u8; 31])).is_err());
        assert_eq!(format!("{k:?}"), "SecretKey(redacted)");
    }
}
