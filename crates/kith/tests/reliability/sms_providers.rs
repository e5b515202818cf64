//! The SMS adapters against local servers that speak Aliyun's and Tencent's `SendSms`
//! strictly: each recomputes the request's signature with the test's key (written here
//! again from the providers' documentation, not shared with the adapter), checks the
//! required parameters and the timestamp, refuses a reused nonce, and answers with the
//! provider's documented error shape. Then a kith server configured with each adapter
//! signs a member in with the code the fake provider received.

use std::collections::HashSet;
use std::sync::{Arc, Mutex};

use axum::body::Bytes;
use axum::extract::State;
use axum::http::{HeaderMap, StatusCode};
use axum::response::IntoResponse;
use base64::Engine as _;
use hmac::{Hmac, Mac};
use kith_app::platform::sms::aliyun::{Aliyun, AliyunConfig};
use kith_app::platform::sms::tencent::{Tencent, TencentConfig};
use kith_app::platform::sms::{Secret, SmsError, SmsMessage, SmsProvider};
use kith_domain::{Clock, ManualClock, Phone};
use serde_json::{Value, json};
use sha2::{Digest, Sha256};

use crate::harness::{Engine, TestApp, next_phone};

const KEY_ID: &str = "LTAI5tKithTestKeyId";
const SECRET: &str = "kith-test-access-key-secret-0123";
const SIGN_NAME: &str = "邻里社群";
const TEMPLATE: &str = "SMS_465380001";
const TENCENT_APP: &str = "1400787878";
const TENCENT_TEMPLATE: &str = "1874421";

/// What a fake provider accepted.
#[derive(Default)]
struct Inbox {
    sent: Mutex<Vec<(String, Value)>>,
    nonces: Mutex<HashSet<String>>,
}

impl Inbox {
    fn code_for(&self, phone: &str) -> Option<String> {
        self.sent
            .lock()
            .unwrap()
            .iter()
            .rev()
            .find(|(to, _)| to.ends_with(phone))
            .and_then(|(_, p)| p["code"].as_str().map(str::to_owned))
    }
    fn count(&self) -> usize {
        self.sent.lock().unwrap().len()
    }
}

async fn serve(router: axum::Router) -> String {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
        .await
        .expect("bind");
    let addr = listener.local_addr().expect("addr");
    tokio::spawn(async move {
        let _ = axum::serve(listener, router).await;
    });
    format!("http://{addr}")
}

fn now_secs() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .expect("time")
        .as_secs() as i64
}

// ---------------------------------------------------------------- Aliyun

fn pe(s: &str) -> String {
    // RFC 3986: unreserved characters stay, the rest %XX.
    let mut out = String::new();
    for b in s.bytes() {
        if b.is_ascii_alphanumeric() || b"-_.~".contains(&b) {
            out.push(b as char);
        } else {
            out.push_str(&format!("%{b:02X}"));
        }
    }
    out
}

fn aliyun_error(status: StatusCode, code: &str, message: &str) -> axum::response::Response {
    (
        status,
        axum::Json(json!({ "RequestId": "F655A8D5-B967-440B-8683-DAD6FF8DE990", "Code": code, "Message": message, "Recommend": "https://api.aliyun.com/troubleshoot" })),
    )
        .into_response()
}

async fn aliyun_send(
    State(inbox): State<Arc<Inbox>>,
    headers: HeaderMap,
    body: Bytes,
) -> axum::response::Response {
    if headers
        .get("content-type")
        .and_then(|v| v.to_str().ok())
        .is_none_or(|v| !v.starts_with("application/x-www-form-urlencoded"))
    {
        return aliyun_error(
            StatusCode::BAD_REQUEST,
            "InvalidParameter",
            "form body expected",
        );
    }
    let Ok(params) = serde_urlencoded::from_bytes::<Vec<(String, String)>>(&body) else {
        return aliyun_error(
            StatusCode::BAD_REQUEST,
            "InvalidParameter",
            "malformed body",
        );
    };
    let get = |k: &str| params.iter().find(|(n, _)| n == k).map(|(_, v)| v.as_str());
    for (k, want) in [
        ("Action", Some("SendSms")),
        ("Version", Some("2017-05-25")),
        ("Format", Some("JSON")),
        ("SignatureMethod", Some("HMAC-SHA1")),
        ("SignatureVersion", Some("1.0")),
        ("RegionId", None),
        ("SignatureNonce", None),
        ("Timestamp", None),
        ("Signature", None),
        ("PhoneNumbers", None),
        ("SignName", None),
        ("TemplateCode", None),
        ("TemplateParam", None),
    ] {
        match (get(k), want) {
            (None, _) => {
                return aliyun_error(
                    StatusCode::BAD_REQUEST,
                    &format!("MissingParameter.{k}"),
                    &format!("{k} is mandatory for this action."),
                );
            }
            (Some(v), Some(w)) if v != w => {
                return aliyun_error(
                    StatusCode::BAD_REQUEST,
                    &format!("InvalidParameter.{k}"),
                    "The specified parameter is not valid.",
                );
            }
            _ => {}
        }
    }
    if get("AccessKeyId") != Some(KEY_ID) {
        return aliyun_error(
            StatusCode::NOT_FOUND,
            "InvalidAccessKeyId.NotFound",
            "Specified access key is not found.",
        );
    }
    // The signature, recomputed over every parameter but Signature.
    let mut pairs: Vec<(String, String)> = params
        .iter()
        .filter(|(k, _)| k != "Signature")
        .map(|(k, v)| (pe(k), pe(v)))
        .collect();
    pairs.sort();
    let canonical = pairs
        .iter()
        .map(|(k, v)| format!("{k}={v}"))
        .collect::<Vec<_>>()
        .join("&");
    let to_sign = format!("POST&%2F&{}", pe(&canonical));
    let mut mac = Hmac::<sha1::Sha1>::new_from_slice(format!("{SECRET}&").as_bytes()).unwrap();
    mac.update(to_sign.as_bytes());
    let expected = base64::engine::general_purpose::STANDARD.encode(mac.finalize().into_bytes());
    if get("Signature") != Some(expected.as_str()) {
        return aliyun_error(
            StatusCode::BAD_REQUEST,
            "SignatureDoesNotMatch",
            &format!(
                "Specified signature is not matched with our calculation. server string to sign is:{to_sign}"
            ),
        );
    }
    let ts = get("Timestamp").unwrap_or("");
    let parsed = time::PrimitiveDateTime::parse(
        ts,
        time::macros::format_description!("[year]-[month]-[day]T[hour]:[minute]:[second]Z"),
    );
    match parsed {
        Ok(t) if (t.assume_utc().unix_timestamp() - now_secs()).abs() <= 15 * 60 => {}
        _ => {
            return aliyun_error(
                StatusCode::BAD_REQUEST,
                "InvalidTimeStamp.Expired",
                "Specified time stamp or date value is expired.",
            );
        }
    }
    if !inbox
        .nonces
        .lock()
        .unwrap()
        .insert(get("SignatureNonce").unwrap_or("").to_owned())
    {
        return aliyun_error(
            StatusCode::BAD_REQUEST,
            "SignatureNonceUsed",
            "Specified signature nonce was used already.",
        );
    }
    // The operation's own checks, answered 200 with a business code as Aliyun does.
    let phone = get("PhoneNumbers").unwrap_or("");
    if phone.len() != 11 || !phone.bytes().all(|b| b.is_ascii_digit()) {
        return (
            StatusCode::OK,
            axum::Json(json!({ "Code": "isv.MOBILE_NUMBER_ILLEGAL", "Message": "非法手机号", "RequestId": "r" })),
        )
            .into_response();
    }
    if get("SignName") != Some(SIGN_NAME) {
        return (
            StatusCode::OK,
            axum::Json(json!({ "Code": "isv.SMS_SIGNATURE_ILLEGAL", "Message": "该账号下找不到对应签名", "RequestId": "r" })),
        )
            .into_response();
    }
    if get("TemplateCode") != Some(TEMPLATE) {
        return (
            StatusCode::OK,
            axum::Json(json!({ "Code": "isv.SMS_TEMPLATE_ILLEGAL", "Message": "该账号下找不到对应模板", "RequestId": "r" })),
        )
            .into_response();
    }
    let Ok(template_param @ Value::Object(_)) =
        serde_json::from_str::<Value>(get("TemplateParam").unwrap_or(""))
    else {
        return (
            StatusCode::OK,
            axum::Json(json!({ "Code": "isv.INVALID_JSON_PARAM", "Message": "JSON参数不合法，只接受字符串值", "RequestId": "r" })),
        )
            .into_response();
    };
    inbox
        .sent
        .lock()
        .unwrap()
        .push((phone.to_owned(), template_param));
    (
        StatusCode::OK,
        axum::Json(json!({ "Code": "OK", "Message": "OK", "BizId": "900619746936498440^0", "RequestId": "F655A8D5-B967-440B-8683-DAD6FF8DE990" })),
    )
        .into_response()
}

async fn fake_aliyun() -> (String, Arc<Inbox>) {
    let inbox = Arc::new(Inbox::default());
    let router = axum::Router::new()
        .route("/", axum::routing::post(aliyun_send))
        .with_state(inbox.clone());
    (serve(router).await, inbox)
}

fn aliyun(endpoint: &str, secret: &str, clock: Arc<dyn Clock>) -> Aliyun {
    Aliyun::new(
        AliyunConfig {
            endpoint: endpoint.to_owned(),
            access_key_id: KEY_ID.to_owned(),
            access_key_secret: Secret::new(secret),
            sign_name: SIGN_NAME.to_owned(),
            region: "cn-hangzhou".to_owned(),
        },
        clock,
    )
}

fn code_message(template: &str, code: &str) -> SmsMessage {
    SmsMessage {
        template: template.to_owned(),
        params: vec![("code".to_owned(), code.to_owned())],
    }
}

#[tokio::test]
async fn aliyun_adapter_sends_a_signed_request() {
    let (base, inbox) = fake_aliyun().await;
    let clock: Arc<dyn Clock> = Arc::new(ManualClock::starting_now());
    let phone = Phone::parse("13912345678").unwrap();
    let receipt = aliyun(&base, SECRET, clock.clone())
        .send(&phone, &code_message(TEMPLATE, "482913"))
        .await
        .expect("sent");
    assert_eq!(receipt.message_id.as_deref(), Some("900619746936498440^0"));
    assert_eq!(inbox.code_for("13912345678").as_deref(), Some("482913"));
    // Each request has its own nonce: a second one goes through too.
    aliyun(&base, SECRET, clock)
        .send(&phone, &code_message(TEMPLATE, "111111"))
        .await
        .expect("sent again");
    assert_eq!(inbox.count(), 2);
}

#[tokio::test]
async fn aliyun_refusals_are_errors_with_the_providers_code() {
    let (base, inbox) = fake_aliyun().await;
    let clock: Arc<dyn Clock> = Arc::new(ManualClock::starting_now());
    let phone = Phone::parse("13912345678").unwrap();
    // A wrong secret: the signature does not match.
    match aliyun(&base, "not-the-secret", clock.clone())
        .send(&phone, &code_message(TEMPLATE, "482913"))
        .await
    {
        Err(SmsError::Refused { code, .. }) => assert_eq!(code, "SignatureDoesNotMatch"),
        other => panic!("{other:?}"),
    }
    // A template the account does not have: refused by the provider.
    match aliyun(&base, SECRET, clock.clone())
        .send(&phone, &code_message("SMS_000000", "482913"))
        .await
    {
        Err(SmsError::Refused { code, .. }) => assert_eq!(code, "isv.SMS_TEMPLATE_ILLEGAL"),
        other => panic!("{other:?}"),
    }
    // A clock an hour off: the timestamp is refused.
    let late = ManualClock::starting_now();
    late.advance_secs(3600);
    match aliyun(&base, SECRET, Arc::new(late))
        .send(&phone, &code_message(TEMPLATE, "482913"))
        .await
    {
        Err(SmsError::Refused { code, .. }) => assert_eq!(code, "InvalidTimeStamp.Expired"),
        other => panic!("{other:?}"),
    }
    // Nothing reached the inbox.
    assert_eq!(inbox.count(), 0);
    // Nothing listening: a transport error, not a refusal.
    let gone = aliyun("http://127.0.0.1:9", SECRET, clock)
        .send(&phone, &code_message(TEMPLATE, "1"))
        .await;
    assert!(matches!(gone, Err(SmsError::Transport(_))), "{gone:?}");
}

/// A replayed request (the same body, nonce and signature) is refused by the provider.
#[tokio::test]
async fn the_fake_aliyun_refuses_a_replayed_or_tampered_request() {
    let (base, inbox) = fake_aliyun().await;
    let phone = "13912345678";
    let ts = time::OffsetDateTime::now_utc()
        .format(time::macros::format_description!(
            "[year]-[month]-[day]T[hour]:[minute]:[second]Z"
        ))
        .unwrap();
    let mut params: Vec<(String, String)> = [
        ("AccessKeyId", KEY_ID),
        ("Action", "SendSms"),
        ("Format", "JSON"),
        ("PhoneNumbers", phone),
        ("RegionId", "cn-hangzhou"),
        ("SignName", SIGN_NAME),
        ("SignatureMethod", "HMAC-SHA1"),
        ("SignatureNonce", "c3f1e0aa-0000-4000-8000-000000000001"),
        ("SignatureVersion", "1.0"),
        ("TemplateCode", TEMPLATE),
        ("TemplateParam", r#"{"code":"123456"}"#),
        ("Timestamp", ts.as_str()),
        ("Version", "2017-05-25"),
    ]
    .into_iter()
    .map(|(k, v)| (k.to_owned(), v.to_owned()))
    .collect();
    let sig = kith_app::platform::sms::aliyun::sign("POST", &params, SECRET);
    params.push(("Signature".into(), sig));
    let body = serde_urlencoded::to_string(&params).unwrap();
    let post = |b: String| {
        reqwest::Client::new()
            .post(format!("{base}/"))
            .header("content-type", "application/x-www-form-urlencoded")
            .body(b)
            .send()
    };
    let first: Value = post(body.clone()).await.unwrap().json().await.unwrap();
    assert_eq!(first["Code"], "OK");
    let replay: Value = post(body.clone()).await.unwrap().json().await.unwrap();
    assert_eq!(replay["Code"], "SignatureNonceUsed");
    let tampered: Value = post(body.replace("123456", "654321"))
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(tampered["Code"], "SignatureDoesNotMatch");
    assert_eq!(inbox.count(), 1);
}

// ---------------------------------------------------------------- Tencent

fn tencent_error(code: &str, message: &str) -> axum::response::Response {
    (
        StatusCode::OK,
        axum::Json(json!({ "Response": { "Error": { "Code": code, "Message": message }, "RequestId": "ed93f3cb-f35e-473f-b9f3-0d451b8b79c6" } })),
    )
        .into_response()
}

fn hmac256(key: &[u8], msg: &str) -> Vec<u8> {
    let mut m = Hmac::<Sha256>::new_from_slice(key).unwrap();
    m.update(msg.as_bytes());
    m.finalize().into_bytes().to_vec()
}

async fn tencent_send(
    State(inbox): State<Arc<Inbox>>,
    headers: HeaderMap,
    body: Bytes,
) -> axum::response::Response {
    let h = |k: &str| headers.get(k).and_then(|v| v.to_str().ok()).unwrap_or("");
    if h("x-tc-action") != "SendSms" {
        return tencent_error("InvalidAction", "The action is not found.");
    }
    if h("x-tc-version") != "2021-01-11" {
        return tencent_error("InvalidParameter", "X-TC-Version");
    }
    if h("x-tc-region").is_empty() {
        return tencent_error("MissingParameter", "X-TC-Region");
    }
    let Ok(ts) = h("x-tc-timestamp").parse::<i64>() else {
        return tencent_error("MissingParameter", "X-TC-Timestamp");
    };
    if (ts - now_secs()).abs() > 300 {
        return tencent_error(
            "AuthFailure.SignatureExpire",
            "签名过期。Timestamp 和服务器时间相差不得超过五分钟。",
        );
    }
    let date = time::OffsetDateTime::from_unix_timestamp(ts)
        .unwrap()
        .format(time::macros::format_description!("[year]-[month]-[day]"))
        .unwrap();
    let canonical = format!(
        "POST\n/\n\ncontent-type:{}\nhost:{}\n\ncontent-type;host\n{}",
        h("content-type"),
        h("host"),
        hex::encode(Sha256::digest(&body))
    );
    let to_sign = format!(
        "TC3-HMAC-SHA256\n{ts}\n{date}/sms/tc3_request\n{}",
        hex::encode(Sha256::digest(canonical.as_bytes()))
    );
    let k = hmac256(format!("TC3{SECRET}").as_bytes(), &date);
    let k = hmac256(&k, "sms");
    let k = hmac256(&k, "tc3_request");
    let sig = hex::encode(hmac256(&k, &to_sign));
    let expected = format!(
        "TC3-HMAC-SHA256 Credential={KEY_ID}/{date}/sms/tc3_request, SignedHeaders=content-type;host, Signature={sig}"
    );
    if h("authorization") != expected {
        return tencent_error(
            "AuthFailure.SignatureFailure",
            "请求签名验证失败，请检查您的签名计算是否正确。",
        );
    }
    if !inbox.nonces.lock().unwrap().insert(sig) {
        return tencent_error("AuthFailure.SignatureFailure", "重放的请求。");
    }
    let Ok(b) = serde_json::from_slice::<Value>(&body) else {
        return tencent_error("InvalidParameter", "body is not JSON");
    };
    if b["SmsSdkAppId"] != TENCENT_APP {
        return tencent_error("FailedOperation.MissingSdkAppId", "SdkAppId 不存在。");
    }
    if b["SignName"] != SIGN_NAME {
        return tencent_error(
            "FailedOperation.SignatureIncorrectOrUnapproved",
            "签名格式错误或者签名未审批。",
        );
    }
    let Some(numbers) = b["PhoneNumberSet"].as_array() else {
        return tencent_error("MissingParameter", "PhoneNumberSet");
    };
    let params = b["TemplateParamSet"]
        .as_array()
        .cloned()
        .unwrap_or_default();
    let mut statuses = Vec::new();
    for n in numbers {
        let n = n.as_str().unwrap_or("");
        let ok = b["TemplateId"] == TENCENT_TEMPLATE
            && n.starts_with("+86")
            && n.len() == 14
            && params.len() == 1;
        let (code, message) = if ok {
            ("Ok", "send success")
        } else if b["TemplateId"] != TENCENT_TEMPLATE {
            (
                "FailedOperation.TemplateIncorrectOrUnapproved",
                "模板未审批或内容不匹配。",
            )
        } else {
            (
                "InvalidParameterValue.IncorrectPhoneNumber",
                "手机号格式错误。",
            )
        };
        if ok {
            inbox
                .sent
                .lock()
                .unwrap()
                .push((n.to_owned(), json!({ "code": params[0] })));
        }
        statuses.push(json!({ "SerialNo": "5000:1045710669157053657849499619", "PhoneNumber": n, "Fee": 1, "SessionContext": "", "Code": code, "Message": message, "IsoCode": "CN" }));
    }
    (
        StatusCode::OK,
        axum::Json(json!({ "Response": { "SendStatusSet": statuses, "RequestId": "a0aabda6-cf91-4f3e-a81f-9198114a2279" } })),
    )
        .into_response()
}

async fn fake_tencent() -> (String, Arc<Inbox>) {
    let inbox = Arc::new(Inbox::default());
    let router = axum::Router::new()
        .route("/", axum::routing::post(tencent_send))
        .with_state(inbox.clone());
    (serve(router).await, inbox)
}

fn tencent(endpoint: &str, secret: &str, clock: Arc<dyn Clock>) -> Tencent {
    Tencent::new(
        TencentConfig {
            endpoint: endpoint.to_owned(),
            secret_id: KEY_ID.to_owned(),
            secret_key: Secret::new(secret),
            sdk_app_id: TENCENT_APP.to_owned(),
            sign_name: SIGN_NAME.to_owned(),
            region: "ap-guangzhou".to_owned(),
        },
        clock,
    )
}

#[tokio::test]
async fn tencent_adapter_sends_a_signed_request() {
    let (base, inbox) = fake_tencent().await;
    let clock: Arc<dyn Clock> = Arc::new(ManualClock::starting_now());
    let phone = Phone::parse("13912345678").unwrap();
    let receipt = tencent(&base, SECRET, clock)
        .send(&phone, &code_message(TENCENT_TEMPLATE, "482913"))
        .await
        .expect("sent");
    assert!(receipt.message_id.is_some());
    assert_eq!(inbox.code_for("13912345678").as_deref(), Some("482913"));
}

#[tokio::test]
async fn tencent_refusals_are_errors_with_the_providers_code() {
    let (base, inbox) = fake_tencent().await;
    let clock: Arc<dyn Clock> = Arc::new(ManualClock::starting_now());
    let phone = Phone::parse("13912345678").unwrap();
    match tencent(&base, "not-the-secret", clock.clone())
        .send(&phone, &code_message(TENCENT_TEMPLATE, "482913"))
        .await
    {
        Err(SmsError::Refused { code, .. }) => assert_eq!(code, "AuthFailure.SignatureFailure"),
        other => panic!("{other:?}"),
    }
    match tencent(&base, SECRET, clock)
        .send(&phone, &code_message("999", "482913"))
        .await
    {
        Err(SmsError::Refused { code, .. }) => {
            assert_eq!(code, "FailedOperation.TemplateIncorrectOrUnapproved")
        }
        other => panic!("{other:?}"),
    }
    let late = ManualClock::starting_now();
    late.advance_secs(600);
    match tencent(&base, SECRET, Arc::new(late))
        .send(&phone, &code_message(TENCENT_TEMPLATE, "482913"))
        .await
    {
        Err(SmsError::Refused { code, .. }) => assert_eq!(code, "AuthFailure.SignatureExpire"),
        other => panic!("{other:?}"),
    }
    assert_eq!(inbox.count(), 0);
}

// ---------------------------------------------------------------- end to end

/// A kith server configured with `--sms-provider aliyun` (or tencent) against the local
/// provider: a member asks for a code, the fake provider receives it, and the member signs
/// in with it.
async fn signs_in_with_the_code_the_provider_received(engine: Engine, provider: &str) {
    let (base, inbox) = match provider {
        "aliyun" => fake_aliyun().await,
        _ => fake_tencent().await,
    };
    let provider = provider.to_owned();
    let Some(t) = TestApp::spawn_with(engine, |a| {
        a.sms_endpoint = Some(base.clone());
        a.sms_access_key_id = Some(KEY_ID.into());
        a.sms_access_key_secret = Some(SECRET.into());
        a.sms_sign_name = Some(SIGN_NAME.into());
        if provider == "aliyun" {
            a.sms_code_template = Some(TEMPLATE.into());
        } else {
            a.sms_code_template = Some(TENCENT_TEMPLATE.into());
            a.sms_sdk_app_id = Some(TENCENT_APP.into());
        }
        a.sms_provider = Some(provider.clone());
    })
    .await
    else {
        return;
    };
    let phone = next_phone();
    t.post(
        "/api/v1/auth/sms-codes",
        None,
        json!({ "phone": phone, "purpose": "login" }),
    )
    .await
    .expect(202);
    let code = inbox
        .code_for(&phone)
        .expect("the provider received the code");
    assert!(t.app.sms.recent().is_empty(), "not the console provider");
    let s = t
        .post(
            "/api/v1/auth/sms-login",
            None,
            json!({ "phone": phone, "code": code }),
        )
        .await
        .expect(201);
    assert_eq!(s["account"]["phone"], phone.as_str());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn aliyun_end_to_end_sqlite() {
    signs_in_with_the_code_the_provider_received(Engine::Sqlite, "aliyun").await;
}
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn aliyun_end_to_end_postgres() {
    signs_in_with_the_code_the_provider_received(Engine::Postgres, "aliyun").await;
}
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn tencent_end_to_end_sqlite() {
    signs_in_with_the_code_the_provider_received(Engine::Sqlite, "tencent").await;
}
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn tencent_end_to_end_postgres() {
    signs_in_with_the_code_the_provider_received(Engine::Postgres, "tencent").await;
}

/// A kith server whose provider refuses (a wrong secret) answers 503, and the code it made
/// is dead.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_refused_message_is_a_503_and_no_live_code() {
    let (base, inbox) = fake_aliyun().await;
    let t = TestApp::spawn_with(Engine::Sqlite, |a| {
        a.sms_provider = Some("aliyun".into());
        a.sms_endpoint = Some(base.clone());
        a.sms_access_key_id = Some(KEY_ID.into());
        a.sms_access_key_secret = Some("a-wrong-secret-for-this-key".into());
        a.sms_sign_name = Some(SIGN_NAME.into());
        a.sms_code_template = Some(TEMPLATE.into());
    })
    .await
    .expect("spawn");
    let phone = next_phone();
    t.post(
        "/api/v1/auth/sms-codes",
        None,
        json!({ "phone": phone, "purpose": "login" }),
    )
    .await
    .problem(503, None);
    assert_eq!(inbox.count(), 0);
}
