//! The Alipay open platform's wire formats (opendocs.alipay.com, 通用规范 / 签名 / 验签 /
//! 异步通知), as the official SDKs implement them: pure functions, no I/O.
//!
//! - A request is a set of parameters (`app_id`, `method`, `format`, `charset`,
//!   `sign_type`, `timestamp`, `version`, `notify_url`, `return_url`, `biz_content`); its
//!   `sign` is RSA2 (SHA256withRSA, PKCS#1 v1.5, base64) over the **sign content**: every
//!   parameter with a non-empty value except `sign`, sorted by name (byte order), joined
//!   `k=v&k=v` with the raw (not URL-encoded) values.
//! - An answer is `{"<method with dots as underscores>_response":{…},"sign":"…"}` (or
//!   `error_response`); its signature covers the node's JSON text exactly as sent, which
//!   [`signed_node`] cuts out by brace matching (the SDKs do the same: re-serialising would
//!   change the bytes).
//! - An asynchronous notification is a form POST; its sign content drops both `sign` and
//!   `sign_type` (验签 V1), and the reply is the plain text `success`.
//! - Amounts are yuan strings with at most two decimals (`"12.34"`).

use std::collections::BTreeMap;

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD as B64;
use percent_encoding::{AsciiSet, NON_ALPHANUMERIC, utf8_percent_encode};
use rsa::pkcs1v15::{Signature, SigningKey, VerifyingKey};
use rsa::signature::{SignatureEncoding, Signer, Verifier};
use rsa::{RsaPrivateKey, RsaPublicKey};
use sha2::Sha256;

/// The only signature type kith sends and accepts.
pub const SIGN_TYPE: &str = "RSA2";
/// The reply that stops Alipay from sending a notification again.
pub const NOTIFY_OK: &str = "success";
/// Any other reply makes Alipay retry (for 24 hours and 22 minutes).
pub const NOTIFY_FAIL: &str = "fail";
/// The code of a successful call (网关返回码).
pub const CODE_OK: &str = "10000";

/// The sign content of `params` without the names in `drop`: sorted, non-empty, `k=v&…`.
pub fn sign_content(params: &BTreeMap<String, String>, drop: &[&str]) -> String {
    params
        .iter()
        .filter(|(k, v)| !v.is_empty() && !drop.contains(&k.as_str()))
        .map(|(k, v)| format!("{k}={v}"))
        .collect::<Vec<_>>()
        .join("&")
}

/// The sign content of a request (everything but `sign`).
pub fn request_content(params: &BTreeMap<String, String>) -> String {
    sign_content(params, &["sign"])
}

/// The sign content of an asynchronous notification (without `sign` and `sign_type`).
pub fn notify_content(params: &BTreeMap<String, String>) -> String {
    sign_content(params, &["sign", "sign_type"])
}

/// RSA2: SHA256withRSA (PKCS#1 v1.5) of the UTF-8 bytes, base64.
pub fn sign(key: &RsaPrivateKey, content: &str) -> String {
    B64.encode(
        SigningKey::<Sha256>::new(key.clone())
            .sign(content.as_bytes())
            .to_bytes(),
    )
}

/// Whether `signature_b64` is `key`'s RSA2 signature of `content`.
pub fn verify(key: &RsaPublicKey, content: &str, signature_b64: &str) -> bool {
    let Ok(raw) = B64.decode(signature_b64.trim()) else {
        return false;
    };
    let Ok(sig) = Signature::try_from(raw.as_slice()) else {
        return false;
    };
    VerifyingKey::<Sha256>::new(key.clone())
        .verify(content.as_bytes(), &sig)
        .is_ok()
}

/// `yyyy-MM-dd HH:mm:ss` in Beijing time (UTC+8), the `timestamp` parameter's format.
pub fn timestamp(ms: i64) -> String {
    let offset = time::UtcOffset::from_hms(8, 0, 0).unwrap_or(time::UtcOffset::UTC);
    let t = time::OffsetDateTime::from_unix_timestamp_nanos(i128::from(ms) * 1_000_000)
        .unwrap_or(time::OffsetDateTime::UNIX_EPOCH)
        .to_offset(offset);
    format!(
        "{:04}-{:02}-{:02} {:02}:{:02}:{:02}",
        t.year(),
        u8::from(t.month()),
        t.day(),
        t.hour(),
        t.minute(),
        t.second()
    )
}

/// Fen as Alipay's yuan string: `1234` → `"12.34"`.
pub fn yuan(fen: i64) -> String {
    let sign = if fen < 0 { "-" } else { "" };
    let abs = fen.unsigned_abs();
    format!("{sign}{}.{:02}", abs / 100, abs % 100)
}

/// A yuan string as fen, strictly: digits, then at most two decimals (`"12"`, `"12.3"`,
/// `"12.34"`, up to nine digits of yuan); anything else (signs, spaces, exponents, three
/// decimals, a trailing dot) is `None`.
pub fn parse_yuan(s: &str) -> Option<i64> {
    // The domain's one reader of yuan, minus the trailing dot it forgives people.
    if s.ends_with('.') {
        return None;
    }
    kith_domain::Fen::parse_yuan(s).map(kith_domain::Fen::get)
}

/// The answer node of `method`: `alipay.trade.query` → `alipay_trade_query_response`.
pub fn response_node(method: &str) -> String {
    format!("{}_response", method.replace('.', "_"))
}

/// The JSON text of an object value starting at `text[start]` (`{`), up to its matching
/// `}`, honouring strings and escapes.
fn object_at(text: &str, start: usize) -> Option<&str> {
    let bytes = text.as_bytes();
    if bytes.get(start) != Some(&b'{') {
        return None;
    }
    let (mut depth, mut in_str, mut escaped) = (0usize, false, false);
    for (i, &b) in bytes.iter().enumerate().skip(start) {
        if in_str {
            match (escaped, b) {
                (true, _) => escaped = false,
                (false, b'\\') => escaped = true,
                (false, b'"') => in_str = false,
                _ => {}
            }
            continue;
        }
        match b {
            b'"' => in_str = true,
            b'{' => depth += 1,
            b'}' => {
                depth -= 1;
                if depth == 0 {
                    return Some(&text[start..=i]);
                }
            }
            _ => {}
        }
    }
    None
}

/// The signed part of an answer to `method`: the node's text exactly as sent (its own
/// node, or `error_response`) and the `sign` beside it. `None` when the answer has neither
/// node, or no sign.
pub fn signed_node<'a>(text: &'a str, method: &str) -> Option<(&'a str, String)> {
    let top: serde_json::Map<String, serde_json::Value> = serde_json::from_str(text).ok()?;
    let sign = top.get("sign")?.as_str()?.to_owned();
    for name in [response_node(method), "error_response".to_owned()] {
        if !top.contains_key(&name) {
            continue;
        }
        // The key as it appears at the top level: the first occurrence of `"name"`
        // followed (after blanks) by a colon and an object.
        let needle = format!("\"{name}\"");
        let mut from = 0;
        while let Some(at) = text[from..].find(&needle) {
            let after = from + at + needle.len();
            let rest = text[after..].trim_start();
            if let Some(value) = rest.strip_prefix(':') {
                let value_start = text.len() - value.trim_start().len();
                if let Some(node) = object_at(text, value_start) {
                    return Some((node, sign));
                }
            }
            from = after;
        }
    }
    None
}

/// An answer as Alipay writes it (the tests' local gateway): the node's text and its sign.
pub fn signed_answer(method: &str, node: &str, key: &RsaPrivateKey) -> String {
    let sig = serde_json::Value::String(sign(key, node)).to_string();
    format!("{{\"{}\":{node},\"sign\":{sig}}}", response_node(method))
}

/// The public parameters of a request (公共请求参数), not yet signed.
pub fn request_params(
    app_id: &str,
    method: &str,
    biz_content: &serde_json::Value,
    now_ms: i64,
    notify_url: Option<&str>,
    return_url: Option<&str>,
) -> BTreeMap<String, String> {
    let mut p = BTreeMap::new();
    p.insert("app_id".into(), app_id.to_owned());
    p.insert("method".into(), method.to_owned());
    p.insert("format".into(), "JSON".into());
    p.insert("charset".into(), "utf-8".into());
    p.insert("sign_type".into(), SIGN_TYPE.into());
    p.insert("timestamp".into(), timestamp(now_ms));
    p.insert("version".into(), "1.0".into());
    if let Some(u) = notify_url.filter(|u| !u.is_empty()) {
        p.insert("notify_url".into(), u.to_owned());
    }
    if let Some(u) = return_url.filter(|u| !u.is_empty()) {
        p.insert("return_url".into(), u.to_owned());
    }
    p.insert("biz_content".into(), biz_content.to_string());
    p
}

/// Signs `params` in place (adds `sign`).
pub fn sign_request(params: &mut BTreeMap<String, String>, key: &RsaPrivateKey) {
    params.remove("sign");
    let s = sign(key, &request_content(params));
    params.insert("sign".into(), s);
}

/// Characters left as they are in a form value (`application/x-www-form-urlencoded`).
const FORM: &AsciiSet = &NON_ALPHANUMERIC
    .remove(b'*')
    .remove(b'-')
    .remove(b'.')
    .remove(b'_');

/// `k=v&…` with every value percent-encoded (a request body, or a redirect's query).
pub fn form_encode(params: &BTreeMap<String, String>) -> String {
    params
        .iter()
        .map(|(k, v)| {
            format!(
                "{}={}",
                utf8_percent_encode(k, FORM),
                utf8_percent_encode(v, FORM)
            )
        })
        .collect::<Vec<_>>()
        .join("&")
}

/// A form body's parameters. A name given twice, or bytes that are not UTF-8, refuse
/// the whole form (a notification is never ambiguous).
pub fn form_decode(body: &[u8]) -> Result<BTreeMap<String, String>, &'static str> {
    let text = std::str::from_utf8(body).map_err(|_| "the form is not UTF-8")?;
    let mut out = BTreeMap::new();
    for pair in text.split('&').filter(|p| !p.is_empty()) {
        let (k, v) = pair.split_once('=').unwrap_or((pair, ""));
        let dec = |s: &str| {
            percent_encoding::percent_decode_str(&s.replace('+', " "))
                .decode_utf8()
                .map(|c| c.into_owned())
                .map_err(|_| "a form value is not UTF-8")
        };
        if out.insert(dec(k)?, dec(v)?).is_some() {
            return Err("a parameter is given twice");
        }
    }
    Ok(out)
}

/// kith's payment id as `out_trade_no` (and a withdrawal's as `out_biz_no`): without its
/// hyphens, 32 letters and digits.
pub fn out_no(id: &str) -> String {
    id.replace('-', "")
}

#[cfg(test)]
mod tests {
    use super::*;

    fn map(pairs: &[(&str, &str)]) -> BTreeMap<String, String> {
        pairs
            .iter()
            .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
            .collect()
    }

    #[test]
    fn the_sign_content_is_sorted_non_empty_and_drops_sign() {
        // The documented example of 自行实现签名: the request parameters sorted, empty
        // ones and `sign` left out, values not URL-encoded.
        let p = map(&[
            ("method", "alipay.trade.query"),
            ("app_id", "2014072300007148"),
            ("charset", "GBK"),
            ("sign_type", "RSA2"),
            ("timestamp", "2014-07-24 03:07:50"),
            ("version", "1.0"),
            ("biz_content", "{\"out_trade_no\":\"20150320010101001\"}"),
            ("sign", "xxx"),
            ("notify_url", ""),
        ]);
        assert_eq!(
            request_content(&p),
            "app_id=2014072300007148&biz_content={\"out_trade_no\":\"20150320010101001\"}&charset=GBK&method=alipay.trade.query&sign_type=RSA2&timestamp=2014-07-24 03:07:50&version=1.0"
        );
        // A notification's content also leaves out sign_type.
        assert_eq!(
            notify_content(&p),
            "app_id=2014072300007148&biz_content={\"out_trade_no\":\"20150320010101001\"}&charset=GBK&method=alipay.trade.query&timestamp=2014-07-24 03:07:50&version=1.0"
        );
    }

    #[test]
    fn a_signature_verifies_only_for_its_content_and_key() {
        let mut rng = rsa::rand_core::OsRng;
        let key = RsaPrivateKey::new(&mut rng, 2048).unwrap();
        let other = RsaPrivateKey::new(&mut rng, 2048).unwrap();
        let mut p = request_params(
            "2021000000000001",
            "alipay.trade.precreate",
            &serde_json::json!({ "out_trade_no": "x", "total_amount": "0.01", "subject": "s" }),
            0,
            Some("https://kith.example/api/v1/payments/alipay/notify/platform"),
            None,
        );
        sign_request(&mut p, &key);
        let s = p["sign"].clone();
        assert!(verify(&key.to_public_key(), &request_content(&p), &s));
        assert!(!verify(&other.to_public_key(), &request_content(&p), &s));
        p.insert("total_amount".into(), "1.00".into());
        assert!(!verify(&key.to_public_key(), &request_content(&p), &s));
        assert!(!verify(&key.to_public_key(), "x", "not base64!"));
        assert_eq!(p["timestamp"], "1970-01-01 08:00:00");
    }

    #[test]
    fn the_signed_node_is_cut_exactly_as_sent() {
        let mut rng = rsa::rand_core::OsRng;
        let key = RsaPrivateKey::new(&mut rng, 2048).unwrap();
        // Spacing, braces and quotes inside strings, and key order as Alipay wrote them.
        let node = r#"{"code":"10000","msg":"Success","out_trade_no":"6823789339978248","qr_code":"https://qr.alipay.com/bavh4wjlxf12tper3a", "note":"a } and a \" and {"}"#;
        let answer = signed_answer("alipay.trade.precreate", node, &key);
        let (cut, sig) = signed_node(&answer, "alipay.trade.precreate").unwrap();
        assert_eq!(cut, node);
        assert!(verify(&key.to_public_key(), cut, &sig));
        // The SDKs' documented answer shape, with the sign before the node and blanks.
        let text =
            format!("{{\"sign\":\"{sig}\" , \"alipay_trade_precreate_response\" :  {node}}}");
        let (cut, _) = signed_node(&text, "alipay.trade.precreate").unwrap();
        assert_eq!(cut, node);
        // An error answer is found under error_response; no sign, nothing.
        let err = r#"{"error_response":{"code":"40002","msg":"Invalid Arguments","sub_code":"isv.invalid-app-id"},"sign":"AAAA"}"#;
        assert_eq!(
            signed_node(err, "alipay.trade.query").unwrap().0,
            r#"{"code":"40002","msg":"Invalid Arguments","sub_code":"isv.invalid-app-id"}"#
        );
        assert!(
            signed_node(
                r#"{"alipay_trade_query_response":{}}"#,
                "alipay.trade.query"
            )
            .is_none()
        );
        assert!(signed_node("not json", "alipay.trade.query").is_none());
    }

    #[test]
    fn yuan_strings_are_exact() {
        assert_eq!(yuan(1234), "12.34");
        assert_eq!(yuan(5), "0.05");
        assert_eq!(yuan(100), "1.00");
        assert_eq!(parse_yuan("12.34"), Some(1234));
        assert_eq!(parse_yuan("12.3"), Some(1230));
        assert_eq!(parse_yuan("12"), Some(1200));
        assert_eq!(parse_yuan("0.01"), Some(1));
        for bad in [
            "", "12.", ".5", "12.345", "-1.00", "+1", "1e2", " 1.00", "1,00", "１.00",
        ] {
            assert_eq!(parse_yuan(bad), None, "{bad:?}");
        }
        for fen in [0, 1, 99, 100, 12_345_678] {
            assert_eq!(parse_yuan(&yuan(fen)), Some(fen));
        }
    }

    #[test]
    fn forms_round_trip_and_refuse_repeats() {
        let p = map(&[
            ("subject", "kith 订单 & 更多=1+1"),
            ("notify_time", "2026-12-04 20:00:00"),
        ]);
        let body = form_encode(&p);
        assert!(!body.contains(' '));
        assert_eq!(form_decode(body.as_bytes()).unwrap(), p);
        assert_eq!(
            form_decode(b"a=1+2").unwrap().get("a").map(String::as_str),
            Some("1 2")
        );
        assert!(form_decode(b"a=1&a=2").is_err());
        assert!(form_decode(&[b'a', b'=', 0xff]).is_err());
    }

    #[test]
    fn response_nodes_are_named_after_the_method() {
        assert_eq!(
            response_node("alipay.fund.trans.uni.transfer"),
            "alipay_fund_trans_uni_transfer_response"
        );
    }
}
