//! Tencent Cloud SMS `SendSms`, API 3.0 version 2021-01-11, signed with TC3-HMAC-SHA256
//! as Tencent documents it ("Signature v3", e.g.
//! <https://www.tencentcloud.com/document/product/267/37447>):
//!
//! 1. `CanonicalRequest = POST \n / \n (empty query) \n content-type:…\nhost:…\n \n
//!    content-type;host \n hex(SHA256(body))`;
//! 2. `StringToSign = TC3-HMAC-SHA256 \n timestamp \n date/sms/tc3_request \n
//!    hex(SHA256(CanonicalRequest))`, the date being the timestamp's UTC day;
//! 3. the key chain `HMAC("TC3"+SecretKey, date) → HMAC(·, "sms") → HMAC(·, "tc3_request")`
//!    signs it, hex;
//! 4. `Authorization: TC3-HMAC-SHA256 Credential=SecretId/date/sms/tc3_request,
//!    SignedHeaders=content-type;host, Signature=…`, with `X-TC-Action: SendSms`,
//!    `X-TC-Version: 2021-01-11`, `X-TC-Timestamp`, `X-TC-Region`.
//!
//! The body carries `PhoneNumberSet` (`+86…`), `SmsSdkAppId`, `SignName`, `TemplateId` and
//! `TemplateParamSet` (the parameters' values in order). Success is every
//! `Response.SendStatusSet[].Code == "Ok"`; `Response.Error` (or a status other than `Ok`)
//! is a refusal kept with its code. The documented worked example (SecretKey
//! `Gu5t9xGARNpq86cd98joQYCN3EXAMPLE`, timestamp 1551113065 →
//! `72e494ea…25168`) is pinned in the tests below.

use std::sync::Arc;

use hmac::{Hmac, Mac};
use kith_domain::{Clock, Phone};
use sha2::{Digest, Sha256};

use super::{Secret, SendFuture, SmsError, SmsMessage, SmsProvider, SmsReceipt, read_json};

/// Tencent's public endpoint.
pub const DEFAULT_ENDPOINT: &str = "https://sms.tencentcloudapi.com";
pub const CONTENT_TYPE: &str = "application/json; charset=utf-8";
const SERVICE: &str = "sms";

#[derive(Debug, Clone)]
pub struct TencentConfig {
    /// `https://sms.tencentcloudapi.com` (tests point it at a local server).
    pub endpoint: String,
    pub secret_id: String,
    pub secret_key: Secret,
    /// The SMS application (`1400…`).
    pub sdk_app_id: String,
    /// The approved signature (短信签名).
    pub sign_name: String,
    /// `ap-guangzhou`.
    pub region: String,
}

#[derive(Debug)]
pub struct Tencent {
    config: TencentConfig,
    clock: Arc<dyn Clock>,
    http: reqwest::Client,
}

fn hmac256(key: &[u8], msg: &str) -> Vec<u8> {
    let mut mac = Hmac::<Sha256>::new_from_slice(key).expect("HMAC takes any key length");
    mac.update(msg.as_bytes());
    mac.finalize().into_bytes().to_vec()
}

fn sha256_hex(s: &[u8]) -> String {
    hex::encode(Sha256::digest(s))
}

/// The UTC day of a Unix timestamp, `2019-02-25`.
pub fn utc_date(timestamp: i64) -> String {
    let t = time::OffsetDateTime::from_unix_timestamp(timestamp)
        .unwrap_or(time::OffsetDateTime::UNIX_EPOCH);
    t.format(time::macros::format_description!("[year]-[month]-[day]"))
        .unwrap_or_default()
}

/// The TC3 signature of a POST with `content-type` and `host` signed: `(hashed canonical
/// request, signature)`.
pub fn signature(
    secret_key: &str,
    service: &str,
    host: &str,
    content_type: &str,
    body: &[u8],
    timestamp: i64,
) -> (String, String) {
    let canonical = format!(
        "POST\n/\n\ncontent-type:{content_type}\nhost:{host}\n\ncontent-type;host\n{}",
        sha256_hex(body)
    );
    let date = utc_date(timestamp);
    let hashed = sha256_hex(canonical.as_bytes());
    let to_sign = format!("TC3-HMAC-SHA256\n{timestamp}\n{date}/{service}/tc3_request\n{hashed}");
    let k_date = hmac256(format!("TC3{secret_key}").as_bytes(), &date);
    let k_service = hmac256(&k_date, service);
    let k_signing = hmac256(&k_service, "tc3_request");
    (hashed, hex::encode(hmac256(&k_signing, &to_sign)))
}

/// The `Host` header reqwest sends for `url`: host, and the port when it is not the
/// scheme's default.
fn host_of(url: &reqwest::Url) -> Option<String> {
    let host = url.host_str()?;
    Some(match url.port() {
        Some(port) => format!("{host}:{port}"),
        None => host.to_owned(),
    })
}

impl Tencent {
    pub fn new(config: TencentConfig, clock: Arc<dyn Clock>) -> Self {
        Self {
            config,
            clock,
            http: super::http_client(),
        }
    }
}

impl SmsProvider for Tencent {
    fn name(&self) -> &'static str {
        "tencent"
    }

    fn send<'a>(&'a self, to: &'a Phone, message: &'a SmsMessage) -> SendFuture<'a> {
        Box::pin(async move {
            let c = &self.config;
            let url = reqwest::Url::parse(&format!("{}/", c.endpoint.trim_end_matches('/')))
                .map_err(|e| SmsError::Transport(format!("endpoint: {e}")))?;
            let host =
                host_of(&url).ok_or_else(|| SmsError::Transport("endpoint has no host".into()))?;
            let body = serde_json::json!({
                "PhoneNumberSet": [format!("+86{}", to.as_str())],
                "SmsSdkAppId": c.sdk_app_id,
                "SignName": c.sign_name,
                "TemplateId": message.template,
                "TemplateParamSet": message.params.iter().map(|(_, v)| v.as_str()).collect::<Vec<_>>(),
            })
            .to_string();
            let timestamp = self.clock.now_ms().div_euclid(1000);
            let (_, sig) = signature(
                c.secret_key.expose(),
                SERVICE,
                &host,
                CONTENT_TYPE,
                body.as_bytes(),
                timestamp,
            );
            let authorization = format!(
                "TC3-HMAC-SHA256 Credential={}/{}/{SERVICE}/tc3_request, SignedHeaders=content-type;host, Signature={sig}",
                c.secret_id,
                utc_date(timestamp)
            );
            let res = self
                .http
                .post(url)
                .header(reqwest::header::CONTENT_TYPE, CONTENT_TYPE)
                .header(reqwest::header::AUTHORIZATION, authorization)
                .header("X-TC-Action", "SendSms")
                .header("X-TC-Version", "2021-01-11")
                .header("X-TC-Timestamp", timestamp.to_string())
                .header("X-TC-Region", c.region.as_str())
                .body(body)
                .send()
                .await
                .map_err(|e| SmsError::Transport(e.without_url().to_string()))?;
            let answer = read_json(res).await?;
            let response = &answer["Response"];
            if let Some(err) = response.get("Error") {
                return Err(SmsError::Refused {
                    code: err["Code"].as_str().unwrap_or("Unknown").to_owned(),
                    message: err["Message"].as_str().unwrap_or_default().to_owned(),
                });
            }
            let Some(statuses) = response["SendStatusSet"]
                .as_array()
                .filter(|s| !s.is_empty())
            else {
                return Err(SmsError::Transport(format!(
                    "answer without SendStatusSet: {answer}"
                )));
            };
            for s in statuses {
                if s["Code"].as_str() != Some("Ok") {
                    return Err(SmsError::Refused {
                        code: s["Code"].as_str().unwrap_or("Unknown").to_owned(),
                        message: s["Message"].as_str().unwrap_or_default().to_owned(),
                    });
                }
            }
            Ok(SmsReceipt {
                message_id: statuses[0]["SerialNo"].as_str().map(str::to_owned),
            })
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Tencent's worked example from its "Signature v3" page: DescribeInstances on cvm,
    /// the published payload, timestamp 1551113065 (UTC 2019-02-25, though 2019-02-26 in
    /// Beijing), the published intermediate hashes and signature.
    #[test]
    fn the_documented_example_signs_as_published() {
        let body = r#"{"Limit": 1, "Filters": [{"Values": ["\u672a\u547d\u540d"], "Name": "instance-name"}]}"#;
        assert_eq!(
            sha256_hex(body.as_bytes()),
            "35e9c5b0e3ae67532d3c9f17ead6c90222632e5b1ff7f6e89887f1398934f064"
        );
        let (hashed, sig) = signature(
            "Gu5t9xGARNpq86cd98joQYCN3EXAMPLE",
            "cvm",
            "cvm.tencentcloudapi.com",
            "application/json; charset=utf-8",
            body.as_bytes(),
            1_551_113_065,
        );
        assert_eq!(
            hashed,
            "5ffe6a04c0664d6b969fab9a13bdab201d63ee709638e2749d62a09ca18d7031"
        );
        assert_eq!(
            sig,
            "72e494ea809ad7a8c8f7a4507b9bddcbaa8e581f516e8da2f66e2c5a96525168"
        );
        assert_eq!(utc_date(1_551_113_065), "2019-02-25");
        let (_, other) = signature(
            "Gu5t9xGARNpq86cd98joQYCN3EXAMPLF",
            "cvm",
            "cvm.tencentcloudapi.com",
            "application/json; charset=utf-8",
            body.as_bytes(),
            1_551_113_065,
        );
        assert_ne!(other, sig);
    }
}
