//! 快递100's subscribe-and-push protocol (快递信息推送服务), as documented:
//!
//! - **Subscribe**: `POST {api_base}/poll`, `application/x-www-form-urlencoded` with
//!   `schema=json` and `param` = JSON `{company, number, key, parameters: {callbackurl, salt,
//!   resultv2}}` (`company` the provider's lowercase carrier code, `key` the account's
//!   authorisation key). The answer is JSON `{result, returnCode, message}`: `200` taken,
//!   `501` already subscribed (also taken); `600`/`601` account problems (no retry helps),
//!   `700` a bad number or company, `500`/`502`/`503` try again.
//! - **Push**: the provider POSTs to `callbackurl` a form with `param` (JSON: `status`,
//!   `message`, `lastResult: {state, ischeck, com, nu, data: [{context, time, ftime, status,
//!   statusCode}]}`, newest event first) and `sign` = upper-case hex MD5 of `param` followed by
//!   the subscription's `salt`. No timestamp is signed, so a push is deduplicated on the
//!   number, the event's time and its words. The receiver answers JSON `{"result": true,
//!   "returnCode": "200", "message": "成功"}`; anything else makes the provider push again.
//! - **States** (`state`, and `statusCode` of each event with `resultv2=1`): 0 在途, 1 揽收,
//!   2 疑难, 3 签收, 4 退签, 5 派件, 6 退回, 7 转投, 8 清关, 14 拒签 (and finer codes whose
//!   first digit is the family, e.g. 301 本人签收). kith maps them onto its shipment events:
//!   签收 → `delivered`; 派件 → `out_for_delivery`; 疑难, 退签, 退回, 拒签 → `exception`; the
//!   rest `in_transit`.

use md5::{Digest, Md5};
use serde::Deserialize;
use subtle::ConstantTimeEq;

/// 快递100's API.
pub const API_BASE: &str = "https://poll.kuaidi100.com";

/// The tracking provider's settings.
#[derive(Clone)]
pub struct Kuaidi100Config {
    /// The account's authorisation key (授权 key).
    pub key: String,
    /// `https://poll.kuaidi100.com`, or a local server in tests.
    pub api_base: String,
}

impl std::fmt::Debug for Kuaidi100Config {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Kuaidi100Config")
            .field("key", &"[redacted]")
            .field("api_base", &self.api_base)
            .finish()
    }
}

/// 快递100's code for a kith carrier code, for the carriers it follows.
pub fn company_code(carrier: &str) -> Option<&'static str> {
    Some(match carrier {
        "sf" => "shunfeng",
        "zto" => "zhongtong",
        "yto" => "yuantong",
        "sto" => "shentong",
        "yd" | "yunda" => "yunda",
        "jd" => "jd",
        "ems" => "ems",
        "jt" => "jtexpress",
        "deppon" => "debangkuaidi",
        _ => return None,
    })
}

/// The form of a subscription request.
pub fn subscribe_form(
    key: &str,
    company: &str,
    number: &str,
    callback_url: &str,
    salt: &str,
) -> Vec<(&'static str, String)> {
    let param = serde_json::json!({
        "company": company,
        "number": number,
        "key": key,
        "parameters": {
            "callbackurl": callback_url,
            "salt": salt,
            "resultv2": "1",
        },
    });
    vec![("schema", "json".to_owned()), ("param", param.to_string())]
}

/// What a subscription answer means.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum SubscribeOutcome {
    /// Taken (200), or taken before (501).
    Subscribed,
    /// Refused for good: the account (600, 601) or the number/company (700).
    Refused(String),
    /// Try again later (500, 502, 503, or an answer that is not the protocol).
    Retry(String),
}

/// Reads a subscription answer.
pub fn subscribe_outcome(body: &[u8]) -> SubscribeOutcome {
    #[derive(Deserialize)]
    struct Answer {
        #[serde(rename = "returnCode")]
        return_code: serde_json::Value,
        #[serde(default)]
        message: String,
    }
    let Ok(a) = serde_json::from_slice::<Answer>(body) else {
        return SubscribeOutcome::Retry("the answer is not 快递100's JSON".into());
    };
    let code = match &a.return_code {
        serde_json::Value::String(s) => s.clone(),
        other => other.to_string(),
    };
    match code.as_str() {
        "200" | "501" => SubscribeOutcome::Subscribed,
        "600" | "601" | "700" => SubscribeOutcome::Refused(format!("{code} {}", a.message)),
        _ => SubscribeOutcome::Retry(format!("{code} {}", a.message)),
    }
}

/// The push's signature: upper-case hex MD5 of `param` then `salt`.
pub fn sign(param: &str, salt: &str) -> String {
    let mut h = Md5::new();
    h.update(param.as_bytes());
    h.update(salt.as_bytes());
    hex::encode_upper(h.finalize())
}

/// Whether `given` is the signature of `param` under `salt` (compared in constant time;
/// hex case ignored).
pub fn verify(param: &str, salt: &str, given: &str) -> bool {
    let want = sign(param, salt);
    let given = given.trim().to_ascii_uppercase();
    want.as_bytes().ct_eq(given.as_bytes()).into()
}

/// A push's `param`.
#[derive(Debug, Clone, Deserialize)]
pub struct Push {
    /// `polling`, `shutdown` (the number's life ended), `abort` or `updateall`.
    #[serde(default)]
    pub status: String,
    #[serde(rename = "lastResult")]
    pub last_result: LastResult,
}

#[derive(Debug, Clone, Deserialize)]
pub struct LastResult {
    /// The number's state now (see the module docs).
    #[serde(default)]
    pub state: String,
    /// `1` once the parcel is signed for.
    #[serde(default)]
    pub ischeck: String,
    /// The company code.
    #[serde(default)]
    pub com: String,
    /// The tracking number.
    pub nu: String,
    /// Events, newest first.
    #[serde(default)]
    pub data: Vec<Event>,
}

#[derive(Debug, Clone, Deserialize)]
pub struct Event {
    /// The carrier's words: 【深圳市】快件已签收…
    #[serde(default)]
    pub context: String,
    /// `YYYY-MM-DD HH:MM:SS`, Beijing time.
    #[serde(default)]
    pub time: String,
    #[serde(default)]
    pub ftime: String,
    /// The event's state code (`resultv2=1`).
    #[serde(rename = "statusCode", default)]
    pub status_code: Option<String>,
}

/// kith's shipment event for a 快递100 state code.
pub fn kith_status(state: &str) -> &'static str {
    let family = match state.len() {
        3 if state != "14" => &state[..1],
        _ => state,
    };
    match family {
        "3" => "delivered",
        "5" => "out_for_delivery",
        "2" | "4" | "6" | "14" => "exception",
        _ => "in_transit",
    }
}

/// An event's time (`YYYY-MM-DD HH:MM:SS`, Beijing) in Unix milliseconds.
pub fn beijing_ms(text: &str) -> Option<i64> {
    use time::macros::format_description;
    let fmt = format_description!("[year]-[month]-[day] [hour]:[minute]:[second]");
    let t = time::PrimitiveDateTime::parse(text.trim(), &fmt).ok()?;
    let offset = time::UtcOffset::from_hms(8, 0, 0).ok()?;
    Some((t.assume_offset(offset).unix_timestamp_nanos() / 1_000_000) as i64)
}

/// The answer a push gets when kith took it.
pub fn accepted() -> serde_json::Value {
    serde_json::json!({ "result": true, "returnCode": "200", "message": "成功" })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_signature_is_upper_case_md5_of_param_then_salt() {
        // MD5("abc") is the RFC 1321 test vector; param "a" + salt "bc" signs the same.
        assert_eq!(sign("a", "bc"), "900150983CD24FB0D6963F7D28E17F72");
        assert!(verify("a", "bc", "900150983cd24fb0d6963f7d28e17f72"));
        assert!(!verify("a", "bd", "900150983CD24FB0D6963F7D28E17F72"));
        assert!(!verify("a", "bc", ""));
    }

    #[test]
    fn states_map_onto_shipment_events() {
        for (s, want) in [
            ("0", "in_transit"),
            ("1", "in_transit"),
            ("2", "exception"),
            ("3", "delivered"),
            ("301", "delivered"),
            ("4", "exception"),
            ("5", "out_for_delivery"),
            ("6", "exception"),
            ("7", "in_transit"),
            ("8", "in_transit"),
            ("14", "exception"),
        ] {
            assert_eq!(kith_status(s), want, "{s}");
        }
    }

    #[test]
    fn answers_are_read_as_documented() {
        let ok = r#"{"result":true,"returnCode":"200","message":"提交成功"}"#;
        assert_eq!(
            subscribe_outcome(ok.as_bytes()),
            SubscribeOutcome::Subscribed
        );
        let again = r#"{"result":false,"returnCode":"501","message":"重复订阅"}"#;
        assert_eq!(
            subscribe_outcome(again.as_bytes()),
            SubscribeOutcome::Subscribed
        );
        let bad = r#"{"result":false,"returnCode":"700","message":"不支持的快递公司"}"#;
        assert!(matches!(
            subscribe_outcome(bad.as_bytes()),
            SubscribeOutcome::Refused(_)
        ));
        assert!(matches!(
            subscribe_outcome(b"<html>"),
            SubscribeOutcome::Retry(_)
        ));
    }

    #[test]
    fn times_are_beijing() {
        // 2026-12-01 08:00:00 in Beijing is midnight UTC.
        assert_eq!(beijing_ms("2026-12-01 08:00:00"), Some(1_796_083_200_000));
        assert_eq!(beijing_ms("yesterday"), None);
    }
}
