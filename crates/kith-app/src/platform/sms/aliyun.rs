//! Aliyun SMS (dysmsapi) `SendSms`, version 2017-05-25, signed with the RPC request
//! signature as Aliyun documents it for SMS ("Signature method",
//! <https://www.alibabacloud.com/help/en/sms/signature-method>, and the common parameters
//! at <https://www.alibabacloud.com/help/en/short-message-service/latest/common-parameters>):
//!
//! 1. every parameter but `Signature` — the common ones (`AccessKeyId`, `Action`, `Format`,
//!    `RegionId`, `SignatureMethod=HMAC-SHA1`, `SignatureNonce` unique per request,
//!    `SignatureVersion=1.0`, `Timestamp` in UTC `yyyy-MM-ddTHH:mm:ssZ`, `Version`) and
//!    the operation's (`PhoneNumbers`, `SignName`, `TemplateCode`, `TemplateParam` as a
//!    JSON object) — is percent-encoded (RFC 3986: only `A-Z a-z 0-9 - _ . ~` stay as they
//!    are, a space is `%20`), sorted by name and joined `k=v&…`;
//! 2. `StringToSign = METHOD & %2F & percentEncode(that query)`;
//! 3. `Signature = Base64(HMAC-SHA1(AccessKeySecret + "&", StringToSign))`.
//!
//! The request is a POST with the parameters as an `application/x-www-form-urlencoded`
//! body (so the number and code stay out of URLs and access logs). The answer is JSON;
//! `Code == "OK"` is success and anything else is a refusal kept with its code. The
//! documented example (`testSecret`, 2017-07-12T02:42:19Z → `zJDF+Lrzhj/ThnlvIToysFRq6t4=`)
//! is pinned in the tests below.

use std::sync::Arc;

use base64::Engine as _;
use hmac::{Hmac, Mac};
use kith_domain::{Clock, Phone};
use percent_encoding::{AsciiSet, NON_ALPHANUMERIC, utf8_percent_encode};

use super::{Secret, SendFuture, SmsError, SmsMessage, SmsProvider, SmsReceipt, read_json};

/// Aliyun's public endpoint.
pub const DEFAULT_ENDPOINT: &str = "https://dysmsapi.aliyuncs.com";

/// RFC 3986 unreserved characters stay; everything else is `%XX` (upper-case hex).
const UNRESERVED: &AsciiSet = &NON_ALPHANUMERIC
    .remove(b'-')
    .remove(b'_')
    .remove(b'.')
    .remove(b'~');

#[derive(Debug, Clone)]
pub struct AliyunConfig {
    /// `https://dysmsapi.aliyuncs.com` (tests point it at a local server).
    pub endpoint: String,
    pub access_key_id: String,
    pub access_key_secret: Secret,
    /// The approved signature (短信签名) shown as 【…】.
    pub sign_name: String,
    /// `cn-hangzhou`.
    pub region: String,
}

#[derive(Debug)]
pub struct Aliyun {
    config: AliyunConfig,
    clock: Arc<dyn Clock>,
    http: reqwest::Client,
}

impl Aliyun {
    pub fn new(config: AliyunConfig, clock: Arc<dyn Clock>) -> Self {
        Self {
            config,
            clock,
            http: super::http_client(),
        }
    }

    /// The signed parameters of one `SendSms` call.
    fn signed_params(&self, to: &Phone, message: &SmsMessage) -> Vec<(String, String)> {
        let c = &self.config;
        let template_param = serde_json::Value::Object(
            message
                .params
                .iter()
                .map(|(k, v)| (k.clone(), serde_json::Value::String(v.clone())))
                .collect(),
        )
        .to_string();
        let mut params: Vec<(String, String)> = [
            ("AccessKeyId", c.access_key_id.as_str()),
            ("Action", "SendSms"),
            ("Format", "JSON"),
            ("PhoneNumbers", to.as_str()),
            ("RegionId", c.region.as_str()),
            ("SignName", c.sign_name.as_str()),
            ("SignatureMethod", "HMAC-SHA1"),
            ("SignatureVersion", "1.0"),
            ("TemplateCode", message.template.as_str()),
            ("TemplateParam", template_param.as_str()),
            ("Version", "2017-05-25"),
        ]
        .into_iter()
        .map(|(k, v)| (k.to_owned(), v.to_owned()))
        .collect();
        params.push(("SignatureNonce".into(), crate::platform::ids::new_id()));
        params.push(("Timestamp".into(), timestamp(self.clock.now_ms())));
        let signature = sign("POST", &params, c.access_key_secret.expose());
        params.push(("Signature".into(), signature));
        params
    }
}

/// RFC 3986 percent-encoding as Aliyun's signature wants it.
pub fn percent_encode(s: &str) -> String {
    utf8_percent_encode(s, UNRESERVED).to_string()
}

/// The canonical query: encoded, sorted by name, `k=v` joined by `&` (`Signature` left out).
pub fn canonical_query(params: &[(String, String)]) -> String {
    let mut pairs: Vec<(String, String)> = params
        .iter()
        .filter(|(k, _)| k != "Signature")
        .map(|(k, v)| (percent_encode(k), percent_encode(v)))
        .collect();
    pairs.sort();
    pairs
        .iter()
        .map(|(k, v)| format!("{k}={v}"))
        .collect::<Vec<_>>()
        .join("&")
}

/// `Base64(HMAC-SHA1(secret + "&", METHOD&%2F&encode(canonical query)))`.
pub fn sign(method: &str, params: &[(String, String)], secret: &str) -> String {
    let to_sign = format!(
        "{method}&{}&{}",
        percent_encode("/"),
        percent_encode(&canonical_query(params))
    );
    let mut mac = Hmac::<sha1::Sha1>::new_from_slice(format!("{secret}&").as_bytes())
        .expect("HMAC takes any key length");
    mac.update(to_sign.as_bytes());
    base64::engine::general_purpose::STANDARD.encode(mac.finalize().into_bytes())
}

/// `2017-07-12T02:42:19Z`.
fn timestamp(ms: i64) -> String {
    let t = time::OffsetDateTime::from_unix_timestamp(ms.div_euclid(1000))
        .unwrap_or(time::OffsetDateTime::UNIX_EPOCH);
    t.format(time::macros::format_description!(
        "[year]-[month]-[day]T[hour]:[minute]:[second]Z"
    ))
    .unwrap_or_default()
}

impl SmsProvider for Aliyun {
    fn name(&self) -> &'static str {
        "aliyun"
    }

    fn send<'a>(&'a self, to: &'a Phone, message: &'a SmsMessage) -> SendFuture<'a> {
        Box::pin(async move {
            let params = self.signed_params(to, message);
            let body = params
                .iter()
                .map(|(k, v)| format!("{}={}", percent_encode(k), percent_encode(v)))
                .collect::<Vec<_>>()
                .join("&");
            let url = format!("{}/", self.config.endpoint.trim_end_matches('/'));
            let res = self
                .http
                .post(url)
                .header(
                    reqwest::header::CONTENT_TYPE,
                    "application/x-www-form-urlencoded",
                )
                .header(reqwest::header::ACCEPT, "application/json")
                .body(body)
                .send()
                .await
                .map_err(|e| SmsError::Transport(e.without_url().to_string()))?;
            let answer = read_json(res).await?;
            let field = |k: &str| answer.get(k).and_then(|v| v.as_str()).map(str::to_owned);
            match field("Code").as_deref() {
                Some("OK") => Ok(SmsReceipt {
                    message_id: field("BizId"),
                }),
                Some(code) => Err(SmsError::Refused {
                    code: code.to_owned(),
                    message: field("Message").unwrap_or_default(),
                }),
                None => Err(SmsError::Transport(format!(
                    "answer without Code: {answer}"
                ))),
            }
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn p(pairs: &[(&str, &str)]) -> Vec<(String, String)> {
        pairs
            .iter()
            .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
            .collect()
    }

    /// Aliyun's documented SendSms signature example, input and output as published.
    #[test]
    fn the_documented_example_signs_as_published() {
        let params = p(&[
            ("AccessKeyId", "testId"),
            ("Action", "SendSms"),
            ("Format", "XML"),
            ("OutId", "123"),
            ("PhoneNumbers", "15300000001"),
            ("RegionId", "cn-hangzhou"),
            ("SignName", "阿里云短信测试专用"),
            ("SignatureMethod", "HMAC-SHA1"),
            ("SignatureNonce", "45e25e9b-0a6f-4070-8c85-2956eda1b466"),
            ("SignatureVersion", "1.0"),
            ("TemplateCode", "SMS_71390007"),
            ("TemplateParam", r#"{"customer":"test"}"#),
            ("Timestamp", "2017-07-12T02:42:19Z"),
            ("Version", "2017-05-25"),
        ]);
        assert_eq!(
            canonical_query(&params),
            "AccessKeyId=testId&Action=SendSms&Format=XML&OutId=123&PhoneNumbers=15300000001&RegionId=cn-hangzhou&SignName=%E9%98%BF%E9%87%8C%E4%BA%91%E7%9F%AD%E4%BF%A1%E6%B5%8B%E8%AF%95%E4%B8%93%E7%94%A8&SignatureMethod=HMAC-SHA1&SignatureNonce=45e25e9b-0a6f-4070-8c85-2956eda1b466&SignatureVersion=1.0&TemplateCode=SMS_71390007&TemplateParam=%7B%22customer%22%3A%22test%22%7D&Timestamp=2017-07-12T02%3A42%3A19Z&Version=2017-05-25"
        );
        assert_eq!(
            sign("GET", &params, "testSecret"),
            "zJDF+Lrzhj/ThnlvIToysFRq6t4="
        );
        // Another secret, another method: another signature.
        assert_ne!(
            sign("GET", &params, "testSecreT"),
            "zJDF+Lrzhj/ThnlvIToysFRq6t4="
        );
        assert_ne!(
            sign("POST", &params, "testSecret"),
            "zJDF+Lrzhj/ThnlvIToysFRq6t4="
        );
    }

    #[test]
    fn percent_encoding_is_rfc_3986() {
        assert_eq!(percent_encode("a b*c~d+e/"), "a%20b%2Ac~d%2Be%2F");
        assert_eq!(timestamp(1_499_827_339_000), "2017-07-12T02:42:19Z");
    }
}
