//! Identifiers and secrets.
//!
//! Resource ids are UUID v7 (time-ordered, so new rows append to indexes). Secrets handed
//! to people (session tokens, invitation codes, webhook secrets) are 256 random bits,
//! URL-safe base64; only their SHA-256 is stored where we never need them back.

use base64::Engine as _;
use rand::RngCore;
use sha2::{Digest, Sha256};

pub fn new_id() -> String {
    uuid::Uuid::now_v7().hyphenated().to_string()
}

/// Parses a client-supplied id; anything but a UUID is "not found" rather than a storage
/// error, so a bad id can never reach SQL as the wrong type.
pub fn parse_id(s: &str) -> Option<String> {
    uuid::Uuid::parse_str(s)
        .ok()
        .map(|u| u.hyphenated().to_string())
}

/// A fresh secret with the given prefix (`kith_s_…` for sessions) so a leaked one is
/// recognisable in logs and secret scanners.
pub fn new_secret(prefix: &str) -> String {
    let mut bytes = [0u8; 32];
    rand::rng().fill_bytes(&mut bytes);
    format!(
        "{prefix}{}",
        base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(bytes)
    )
}

pub fn sha256_hex(s: &str) -> String {
    hex::encode(Sha256::digest(s.as_bytes()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ids_and_secrets() {
        let a = new_id();
        assert_eq!(parse_id(&a).as_deref(), Some(a.as_str()));
        assert_eq!(parse_id("not-a-uuid"), None);
        let s = new_secret("kith_s_");
        assert!(s.starts_with("kith_s_") && s.len() == 7 + 43);
        assert_ne!(s, new_secret("kith_s_"));
        assert_eq!(sha256_hex("abc").len(), 64);
    }
}
