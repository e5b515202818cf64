//! Timestamped HMAC-SHA256 signatures, the scheme kith uses to sign its webhooks and to
//! check callbacks from gateways and carriers that use the same scheme.
//!
//! Header: `t=<unix seconds>,v1=<hex HMAC-SHA256(secret, "<t>.<body>")>`. Several `v1=`
//! values may appear (during a secret rotation); one matching is enough. The timestamp is
//! signed with the body, so a captured request cannot be replayed outside the tolerance.

use hmac::{Hmac, Mac};
use sha2::Sha256;

type HmacSha256 = Hmac<Sha256>;

/// Longest header we look at; anything longer is refused before parsing.
pub const MAX_HEADER_LEN: usize = 1024;

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum SignatureError {
    #[error("signature header is malformed")]
    Malformed,
    #[error("signature timestamp is outside the tolerance window")]
    Stale,
    #[error("signature does not match")]
    Mismatch,
}

fn mac(secret: &[u8], ts: i64, body: &[u8]) -> HmacSha256 {
    let mut m = HmacSha256::new_from_slice(secret).expect("HMAC takes keys of any length");
    m.update(ts.to_string().as_bytes());
    m.update(b".");
    m.update(body);
    m
}

/// The header value for `body` signed at `ts` (Unix seconds).
pub fn sign(secret: &[u8], ts: i64, body: &[u8]) -> String {
    let tag = mac(secret, ts, body).finalize().into_bytes();
    format!("t={ts},v1={}", hex::encode(tag))
}

/// Checks a header against `body`, accepting timestamps within `tolerance_secs` of `now`
/// (either side, for clock skew). Comparison is constant-time.
pub fn verify(
    header: &str,
    secret: &[u8],
    body: &[u8],
    now_secs: i64,
    tolerance_secs: i64,
) -> Result<(), SignatureError> {
    if header.len() > MAX_HEADER_LEN {
        return Err(SignatureError::Malformed);
    }
    let mut ts = None;
    let mut tags = Vec::new();
    for part in header.split(',') {
        let (k, v) = part
            .trim()
            .split_once('=')
            .ok_or(SignatureError::Malformed)?;
        match k {
            "t" => ts = Some(v.parse::<i64>().map_err(|_| SignatureError::Malformed)?),
            "v1" => tags.push(hex::decode(v).map_err(|_| SignatureError::Malformed)?),
            _ => {} // unknown schemes are ignored, as gateways add new ones over time
        }
    }
    let ts = ts.ok_or(SignatureError::Malformed)?;
    if tags.is_empty() {
        return Err(SignatureError::Malformed);
    }
    if now_secs.abs_diff(ts) > tolerance_secs.unsigned_abs() {
        return Err(SignatureError::Stale);
    }
    let ok = tags
        .iter()
        .any(|tag| mac(secret, ts, body).verify_slice(tag).is_ok());
    if ok {
        Ok(())
    } else {
        Err(SignatureError::Mismatch)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn round_trip_stale_and_tampered() {
        let h = sign(b"whsec", 1_700_000_000, b"{\"a\":1}");
        assert!(verify(&h, b"whsec", b"{\"a\":1}", 1_700_000_100, 300).is_ok());
        assert_eq!(
            verify(&h, b"whsec", b"{\"a\":1}", 1_700_000_301, 300),
            Err(SignatureError::Stale)
        );
        assert_eq!(
            verify(&h, b"whsec", b"{\"a\":2}", 1_700_000_000, 300),
            Err(SignatureError::Mismatch)
        );
        assert_eq!(
            verify(&h, b"other", b"{\"a\":1}", 1_700_000_000, 300),
            Err(SignatureError::Mismatch)
        );
        assert_eq!(
            verify("t=1", b"k", b"", 1, 300),
            Err(SignatureError::Malformed)
        );
        assert_eq!(
            verify("garbage", b"k", b"", 1, 300),
            Err(SignatureError::Malformed)
        );
        // A rotated secret: either v1 may match.
        let old = sign(b"old", 5, b"x");
        let new = sign(b"new", 5, b"x");
        let both = format!("{},{}", old, new.split(',').nth(1).unwrap());
        assert!(verify(&both, b"new", b"x", 5, 300).is_ok());
    }

    proptest! {
        #[test]
        fn verify_never_panics(h in ".{0,200}", body in proptest::collection::vec(any::<u8>(), 0..64)) {
            let _ = verify(&h, b"k", &body, 0, 300);
        }

        #[test]
        fn any_body_round_trips(body in proptest::collection::vec(any::<u8>(), 0..256), ts in 0i64..4_000_000_000) {
            let h = sign(b"secret", ts, &body);
            prop_assert!(verify(&h, b"secret", &body, ts, 0).is_ok());
        }
    }
}
