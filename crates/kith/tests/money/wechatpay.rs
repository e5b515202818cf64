//! WeChat Pay API v3 against a local WeChat Pay server, on both engines.
//!
//! The local server (axum, on loopback) holds keys the test generates: the merchant's API
//! key (whose PKCS#8 PEM the merchant enters in kith) and the platform key behind a
//! self-signed platform certificate (x509-cert's builder). It checks every kith request's
//! `WECHATPAY2-SHA256-RSA2048` signature strictly (scheme, mchid, serial_no, timestamp,
//! the signature over `METHOD\nURL\nTIMESTAMP\nNONCE\nBODY\n`), signs its answers, and the
//! test sends notifications signed over `timestamp\nnonce\nbody\n` with the resource
//! encrypted AEAD_AES_256_GCM under the APIv3 key — then forges, tampers, replays and
//! mismatches them.

use std::collections::HashMap;
use std::str::FromStr;
use std::sync::{Arc, Mutex, OnceLock};
use std::time::Duration;

use axum::Json;
use axum::body::Bytes;
use axum::extract::{Path, State};
use axum::http::{HeaderMap, StatusCode, Uri};
use axum::response::{IntoResponse, Response};
use kith_app::rails::wechatpay::protocol;
use rsa::pkcs8::{EncodePrivateKey, LineEnding};
use rsa::{RsaPrivateKey, RsaPublicKey};
use serde_json::{Value, json};
use x509_cert::builder::{Builder, CertificateBuilder, Profile};
use x509_cert::der::EncodePem;
use x509_cert::name::Name;
use x509_cert::serial_number::SerialNumber;
use x509_cert::spki::SubjectPublicKeyInfoOwned;
use x509_cert::time::Validity;

use crate::harness::{Engine, TestApp, User, address};
use crate::worlds::audit_clean;

const API_V3_KEY: &str = "0123456789abcdefghijklmnopqrstuv";
const PLATFORM_SERIAL: &str = "5157F09E";
pub(crate) const MCH_A: &str = "1900000101";
const MCH_B: &str = "1900000202";
pub(crate) const APP_ID: &str = "wx8888888888888888";

/// The serial of the platform certificate WeChat Pay adds when it rotates.
const ROTATED_SERIAL: &str = "6A2C0F11";
/// The serial of a certificate made with the merchant's own key (the attack of issue 15).
const MERCHANT_CERT_SERIAL: &str = "7E57AB1E";

/// The keys of every story (RSA key generation is slow; made once per test process).
struct Keys {
    merchant: RsaPrivateKey,
    merchant_pem: String,
    platform: RsaPrivateKey,
    platform_cert_pem: String,
    /// A second platform key, for forged signatures; and WeChat Pay's next certificate.
    forger: RsaPrivateKey,
    rotated_cert_pem: String,
    /// A certificate over the merchant's own key, as a merchant would make one.
    merchant_cert_pem: String,
}

/// A self-signed certificate of `key` with `serial` (hex), valid a year.
fn certificate(key: &RsaPrivateKey, serial: &str) -> String {
    let signer = rsa::pkcs1v15::SigningKey::<sha2::Sha256>::new(key.clone());
    let spki = SubjectPublicKeyInfoOwned::from_key(RsaPublicKey::from(key)).expect("spki");
    let cert = CertificateBuilder::new(
        Profile::Root,
        SerialNumber::from(u32::from_str_radix(serial, 16).unwrap()),
        Validity::from_now(Duration::from_secs(365 * 24 * 3600)).expect("validity"),
        Name::from_str("CN=Tenpay.com Root CA,O=Tenpay.com,C=CN").expect("name"),
        spki,
        &signer,
    )
    .expect("builder")
    .build::<rsa::pkcs1v15::Signature>()
    .expect("certificate");
    cert.to_pem(LineEnding::LF).expect("pem")
}

fn keys() -> &'static Keys {
    static KEYS: OnceLock<Keys> = OnceLock::new();
    KEYS.get_or_init(|| {
        let mut rng = rsa::rand_core::OsRng;
        let merchant = RsaPrivateKey::new(&mut rng, 2048).expect("merchant key");
        let platform = RsaPrivateKey::new(&mut rng, 2048).expect("platform key");
        let forger = RsaPrivateKey::new(&mut rng, 2048).expect("forger key");
        let merchant_pem = merchant
            .to_pkcs8_pem(LineEnding::LF)
            .expect("pkcs8")
            .to_string();
        Keys {
            platform_cert_pem: certificate(&platform, PLATFORM_SERIAL),
            rotated_cert_pem: certificate(&forger, ROTATED_SERIAL),
            merchant_cert_pem: certificate(&merchant, MERCHANT_CERT_SERIAL),
            merchant,
            merchant_pem,
            platform,
            forger,
        }
    })
}

/// A certificate the local WeChat Pay lists at `GET /v3/certificates`.
#[derive(Clone)]
pub(crate) struct Listed {
    serial: &'static str,
    pem: String,
    effective: i64,
    /// `expire_time`, Unix seconds.
    expire: i64,
}

impl Listed {
    /// The platform certificate every story starts with.
    fn main() -> Self {
        Listed {
            serial: PLATFORM_SERIAL,
            pem: keys().platform_cert_pem.clone(),
            effective: unix_now() - 86_400,
            expire: unix_now() + 365 * 86_400,
        }
    }

    /// The certificate WeChat Pay adds when it rotates (over the `forger` key).
    fn rotated() -> Self {
        Listed {
            serial: ROTATED_SERIAL,
            pem: keys().rotated_cert_pem.clone(),
            effective: unix_now(),
            expire: unix_now() + 2 * 365 * 86_400,
        }
    }
}

/// How the local WeChat Pay spoils its certificates answer.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub(crate) enum CertSpoil {
    /// A ciphertext with one bit flipped.
    Tampered,
    /// The answer signed by a key none of its certificates carries.
    Forged,
    /// A `Wechatpay-Timestamp` ten minutes old.
    Stale,
}

fn unix_now() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_secs() as i64
}

/// What the local WeChat Pay server knows: orders by out_trade_no.
#[derive(Default)]
pub(crate) struct Wx {
    orders: HashMap<String, Value>,
    /// Trade bills by day, and how a story spoils their download (`crate::reconcile`).
    pub(crate) bills: HashMap<String, String>,
    pub(crate) bill_spoiled: Option<crate::reconcile::Spoil>,
    /// 商家转账 batches by out_batch_no, and the state each detail answers with
    /// (`crate::wechat_transfer`).
    pub(crate) batches: HashMap<String, Value>,
    pub(crate) detail_states: HashMap<String, String>,
    /// A transfer amount the detail query reports instead of the real one.
    pub(crate) detail_amount_lie: Option<i64>,
    /// Requests refused for a bad signature (kith must never cause one).
    pub(crate) refused: Vec<String>,
    /// The state the order query answers with, by out_trade_no.
    states: HashMap<String, String>,
    /// Refunds asked for, by out_refund_no: the request and the state the refund query
    /// answers with.
    pub(crate) refunds: HashMap<String, (Value, String)>,
    /// How the next refund request is answered.
    pub(crate) refund_mode: RefundMode,
    /// The certificates `GET /v3/certificates` lists (empty: [`Listed::main`]), the serial
    /// its answer is signed under (empty: the main one), a spoiled answer, and how many
    /// times kith asked.
    listed: Vec<Listed>,
    cert_signer: &'static str,
    cert_spoil: Option<CertSpoil>,
    certificate_requests: usize,
}

/// How the local WeChat Pay answers a refund request.
#[derive(Default, Clone, Copy, PartialEq, Eq)]
pub(crate) enum RefundMode {
    /// `PROCESSING`; the story sends the notification (or WeChat Pay never does).
    #[default]
    Processing,
    /// The `REFUND.SUCCESS` notification is sent to the notify_url and answered before
    /// the request's own answer (`PROCESSING`) goes back.
    NotifyFirst,
}

pub(crate) type Shared = Arc<Mutex<Wx>>;

/// Signs an answer the way WeChat Pay does (Wechatpay-* headers over ts\nnonce\nbody\n).
pub(crate) fn signed(status: StatusCode, body: String) -> Response {
    signed_by(status, body, &keys().platform, PLATFORM_SERIAL, unix_now())
}

fn signed_by(
    status: StatusCode,
    body: String,
    key: &RsaPrivateKey,
    serial: &str,
    at: i64,
) -> Response {
    let ts = at.to_string();
    let nonce = format!("N{}", uuid::Uuid::now_v7().simple());
    let sig = protocol::sign(key, &protocol::response_message(&ts, &nonce, &body));
    (
        status,
        [
            ("content-type", "application/json".to_owned()),
            ("wechatpay-serial", serial.to_owned()),
            ("wechatpay-timestamp", ts),
            ("wechatpay-nonce", nonce),
            ("wechatpay-signature", sig),
        ],
        body,
    )
        .into_response()
}

/// Checks a kith request strictly; the refusal it gets otherwise.
#[allow(clippy::result_large_err)]
pub(crate) fn check_request(
    wx: &Shared,
    method: &str,
    uri: &Uri,
    headers: &HeaderMap,
    body: &str,
) -> Result<String, Response> {
    let refuse = |why: &str| {
        wx.lock().unwrap().refused.push(why.to_owned());
        signed(
            StatusCode::UNAUTHORIZED,
            json!({ "code": "SIGN_ERROR", "message": why }).to_string(),
        )
    };
    let auth = headers
        .get("authorization")
        .and_then(|v| v.to_str().ok())
        .unwrap_or("");
    let f = protocol::parse_authorization(auth)
        .ok_or_else(|| refuse("Authorization is not WECHATPAY2-SHA256-RSA2048"))?;
    let mchid = f.get("mchid").cloned().unwrap_or_default();
    if mchid != MCH_A && mchid != MCH_B {
        return Err(refuse("unknown mchid"));
    }
    if f.get("serial_no").map(String::as_str) != Some("ABCDEF0123456789") {
        return Err(refuse("serial_no is not the merchant certificate's"));
    }
    let ts: i64 = f
        .get("timestamp")
        .and_then(|t| t.parse().ok())
        .ok_or_else(|| refuse("timestamp"))?;
    if (unix_now() - ts).abs() > 300 {
        return Err(refuse("timestamp is stale"));
    }
    let nonce = f.get("nonce_str").cloned().unwrap_or_default();
    if nonce.is_empty() {
        return Err(refuse("nonce_str is empty"));
    }
    let path = uri.path_and_query().map(|p| p.as_str()).unwrap_or("");
    let msg = protocol::request_message(method, path, ts, &nonce, body);
    if !protocol::verify(
        &RsaPublicKey::from(&keys().merchant),
        &msg,
        f.get("signature").map(String::as_str).unwrap_or(""),
    ) {
        return Err(refuse("signature does not verify"));
    }
    Ok(mchid)
}

async fn create_order(
    State(wx): State<Shared>,
    Path(kind): Path<String>,
    uri: Uri,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    let text = String::from_utf8_lossy(&body).to_string();
    let mchid = match check_request(&wx, "POST", &uri, &headers, &text) {
        Ok(m) => m,
        Err(r) => return r,
    };
    let b: Value = serde_json::from_str(&text).unwrap_or(Value::Null);
    let ok = b["mchid"] == mchid.as_str()
        && b["appid"] == APP_ID
        && b["amount"]["total"].as_i64().is_some_and(|t| t > 0)
        && b["amount"]["currency"] == "CNY"
        && b["out_trade_no"]
            .as_str()
            .is_some_and(|n| (6..=32).contains(&n.len()))
        && b["notify_url"]
            .as_str()
            .is_some_and(|u| u.starts_with("http"))
        && match kind.as_str() {
            "native" => true,
            "h5" => {
                b["scene_info"]["payer_client_ip"].is_string()
                    && b["scene_info"]["h5_info"]["type"].is_string()
            }
            "jsapi" => b["payer"]["openid"].as_str().is_some_and(|o| !o.is_empty()),
            _ => false,
        };
    if !ok {
        return signed(
            StatusCode::BAD_REQUEST,
            json!({ "code": "PARAM_ERROR", "message": "bad order" }).to_string(),
        );
    }
    let no = b["out_trade_no"].as_str().unwrap().to_owned();
    wx.lock().unwrap().orders.insert(no.clone(), b);
    let answer = match kind.as_str() {
        "native" => json!({ "code_url": format!("weixin://wxpay/bizpayurl?pr={no}") }),
        "h5" => {
            json!({ "h5_url": format!("https://wx.tenpay.com/cgi-bin/mmpayweb-bin/checkmweb?prepay_id={no}") })
        }
        _ => json!({ "prepay_id": format!("wx{no}") }),
    };
    signed(StatusCode::OK, answer.to_string())
}

async fn query_order(
    State(wx): State<Shared>,
    Path(no): Path<String>,
    uri: Uri,
    headers: HeaderMap,
) -> Response {
    if let Err(r) = check_request(&wx, "GET", &uri, &headers, "") {
        return r;
    }
    let g = wx.lock().unwrap();
    let Some(o) = g.orders.get(&no) else {
        return signed(
            StatusCode::NOT_FOUND,
            json!({ "code": "ORDER_NOT_EXIST", "message": "no such order" }).to_string(),
        );
    };
    let state = g
        .states
        .get(&no)
        .cloned()
        .unwrap_or_else(|| "NOTPAY".into());
    let total = o["amount"]["total"].as_i64().unwrap();
    signed(
        StatusCode::OK,
        json!({
            "mchid": o["mchid"], "appid": o["appid"], "out_trade_no": no,
            "transaction_id": format!("4200{no}"), "trade_state": state,
            "amount": { "total": total, "payer_total": total, "currency": "CNY" }
        })
        .to_string(),
    )
}

/// 申请退款: checks the request strictly (signature; the order is one of this merchant's
/// and paid in full by its total; out_refund_no, notify_url and the amounts are present
/// and sane) and answers with the refund, `PROCESSING`.
async fn create_refund(
    State(wx): State<Shared>,
    uri: Uri,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    let text = String::from_utf8_lossy(&body).to_string();
    let mchid = match check_request(&wx, "POST", &uri, &headers, &text) {
        Ok(m) => m,
        Err(r) => return r,
    };
    let b: Value = serde_json::from_str(&text).unwrap_or(Value::Null);
    let no = b["out_trade_no"].as_str().unwrap_or("").to_owned();
    let order = wx.lock().unwrap().orders.get(&no).cloned();
    let ok = order.as_ref().is_some_and(|o| {
        o["mchid"] == mchid.as_str()
            && o["amount"]["total"] == b["amount"]["total"]
            && b["amount"]["refund"]
                .as_i64()
                .is_some_and(|r| r > 0 && Some(r) <= b["amount"]["total"].as_i64())
    }) && b["amount"]["currency"] == "CNY"
        && b["out_refund_no"]
            .as_str()
            .is_some_and(|n| (1..=64).contains(&n.len()))
        && b["notify_url"]
            .as_str()
            .is_some_and(|u| u.starts_with("http"));
    if !ok {
        return signed(
            StatusCode::BAD_REQUEST,
            json!({ "code": "PARAM_ERROR", "message": "bad refund" }).to_string(),
        );
    }
    let refund_no = b["out_refund_no"].as_str().unwrap().to_owned();
    let mode = {
        let mut g = wx.lock().unwrap();
        g.refunds
            .entry(refund_no.clone())
            .or_insert_with(|| (b.clone(), "PROCESSING".into()));
        g.refund_mode
    };
    if mode == RefundMode::NotifyFirst {
        let resource = refund_resource(&mchid, &no, &refund_no, "SUCCESS", &b);
        let (status, _) = notify_to(
            b["notify_url"].as_str().unwrap(),
            "REFUND.SUCCESS",
            resource,
            Notify::good(),
        )
        .await;
        assert_eq!(status, 204, "the early notification is taken");
    }
    signed(
        StatusCode::OK,
        refund_answer(&refund_no, "PROCESSING", &b).to_string(),
    )
}

/// The refund API's description of a refund (its answer and the query's).
fn refund_answer(refund_no: &str, status: &str, b: &Value) -> Value {
    json!({
        "refund_id": format!("5030{refund_no}"), "out_refund_no": refund_no,
        "transaction_id": format!("4200{}", b["out_trade_no"].as_str().unwrap_or("")),
        "out_trade_no": b["out_trade_no"], "channel": "ORIGINAL", "user_received_account": "支付用户零钱",
        "create_time": "2026-12-04T20:10:00+08:00", "status": status, "funds_account": "AVAILABLE",
        "amount": { "total": b["amount"]["total"], "refund": b["amount"]["refund"],
                    "payer_total": b["amount"]["total"], "payer_refund": b["amount"]["refund"],
                    "settlement_refund": b["amount"]["refund"], "settlement_total": b["amount"]["total"],
                    "discount_refund": 0, "currency": "CNY" }
    })
}

/// A refund notification's resource (退款结果通知).
pub(crate) fn refund_resource(
    mchid: &str,
    out_trade_no: &str,
    refund_no: &str,
    status: &str,
    b: &Value,
) -> Value {
    json!({
        "mchid": mchid, "out_trade_no": out_trade_no, "transaction_id": format!("4200{out_trade_no}"),
        "out_refund_no": refund_no, "refund_id": format!("5030{refund_no}"), "refund_status": status,
        "success_time": "2026-12-04T20:13:35+08:00", "user_received_account": "支付用户零钱",
        "amount": { "total": b["amount"]["total"], "refund": b["amount"]["refund"],
                    "payer_total": b["amount"]["total"], "payer_refund": b["amount"]["refund"] }
    })
}

/// 查询单笔退款.
async fn query_refund(
    State(wx): State<Shared>,
    Path(no): Path<String>,
    uri: Uri,
    headers: HeaderMap,
) -> Response {
    if let Err(r) = check_request(&wx, "GET", &uri, &headers, "") {
        return r;
    }
    let g = wx.lock().unwrap();
    match g.refunds.get(&no) {
        Some((b, status)) => signed(StatusCode::OK, refund_answer(&no, status, b).to_string()),
        None => signed(
            StatusCode::NOT_FOUND,
            json!({ "code": "RESOURCE_NOT_EXISTS", "message": "no such refund" }).to_string(),
        ),
    }
}

fn rfc3339(secs: i64) -> String {
    time::OffsetDateTime::from_unix_timestamp(secs)
        .unwrap()
        .to_offset(time::macros::offset!(+8))
        .format(&time::format_description::well_known::Rfc3339)
        .unwrap()
}

/// 获取平台证书列表: each listed certificate encrypted AEAD_AES_256_GCM under the APIv3
/// key (associated data `certificate`), the answer signed like every other.
async fn certificates(State(wx): State<Shared>, uri: Uri, headers: HeaderMap) -> Response {
    if let Err(r) = check_request(&wx, "GET", &uri, &headers, "") {
        return r;
    }
    let (listed, signer, spoil) = {
        let mut g = wx.lock().unwrap();
        g.certificate_requests += 1;
        let listed = if g.listed.is_empty() {
            vec![Listed::main()]
        } else {
            g.listed.clone()
        };
        (listed, g.cert_signer, g.cert_spoil)
    };
    let data: Vec<Value> = listed
        .iter()
        .map(|l| {
            let nonce = format!("{:012}", u32::from_str_radix(l.serial, 16).unwrap());
            let mut ciphertext = protocol::encrypt_resource(
                API_V3_KEY.as_bytes(),
                &nonce,
                "certificate",
                l.pem.as_bytes(),
            );
            if spoil == Some(CertSpoil::Tampered) {
                use base64::Engine as _;
                let b64 = base64::engine::general_purpose::STANDARD;
                let mut raw = b64.decode(&ciphertext).unwrap();
                raw[40] ^= 0x01;
                ciphertext = b64.encode(raw);
            }
            json!({
                "serial_no": l.serial,
                "effective_time": rfc3339(l.effective),
                "expire_time": rfc3339(l.expire),
                "encrypt_certificate": {
                    "algorithm": "AEAD_AES_256_GCM", "nonce": nonce,
                    "associated_data": "certificate", "ciphertext": ciphertext,
                }
            })
        })
        .collect();
    let body = json!({ "data": data }).to_string();
    let k = keys();
    let (key, serial) = match signer {
        "" | PLATFORM_SERIAL => (&k.platform, PLATFORM_SERIAL),
        _ => (&k.forger, ROTATED_SERIAL),
    };
    match spoil {
        Some(CertSpoil::Forged) => signed_by(StatusCode::OK, body, &k.merchant, serial, unix_now()),
        Some(CertSpoil::Stale) => signed_by(StatusCode::OK, body, key, serial, unix_now() - 600),
        _ => signed_by(StatusCode::OK, body, key, serial, unix_now()),
    }
}

async fn fallback(uri: Uri) -> Response {
    (
        StatusCode::NOT_FOUND,
        Json(json!({ "code": "NOT_FOUND", "message": uri.to_string() })),
    )
        .into_response()
}

/// Starts the local WeChat Pay server: its base URL and its state.
async fn wechat_server() -> (String, Shared) {
    let wx: Shared = Arc::default();
    let app = axum::Router::new()
        .route(
            "/v3/pay/transactions/{kind}",
            axum::routing::post(create_order),
        )
        .route(
            "/v3/pay/transactions/out-trade-no/{no}",
            axum::routing::get(query_order),
        )
        .route(
            "/v3/transfer/batches",
            axum::routing::post(crate::wechat_transfer::create_batch),
        )
        .route(
            "/v3/transfer/batches/out-batch-no/{batch}/details/out-detail-no/{detail}",
            axum::routing::get(crate::wechat_transfer::query_detail),
        )
        .route(
            "/v3/refund/domestic/refunds",
            axum::routing::post(create_refund),
        )
        .route(
            "/v3/refund/domestic/refunds/{no}",
            axum::routing::get(query_refund),
        )
        .route(
            "/v3/bill/tradebill",
            axum::routing::get(crate::reconcile::trade_bill),
        )
        .route(
            "/v3/bill/fundflowbill",
            axum::routing::get(crate::reconcile::fund_flow_bill),
        )
        .route("/v3/certificates", axum::routing::get(certificates))
        .route(
            "/v3/billdownload/file",
            axum::routing::get(crate::reconcile::download_bill),
        )
        .fallback(fallback)
        .with_state(wx.clone());
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let base = format!("http://{}", listener.local_addr().unwrap());
    tokio::spawn(async move {
        axum::serve(listener, app).await.unwrap();
    });
    (base, wx)
}

/// A kith server whose WeChat Pay base URL is the local server, with a secret key.
pub(crate) async fn spawn(engine: Engine) -> Option<(TestApp, Shared)> {
    let _ = keys();
    let (base, wx) = wechat_server().await;
    let key = kith_app::rails::secrets::SecretKey::generate().to_hex();
    let t = TestApp::spawn_with(engine, move |a| {
        a.wechatpay_base_url = Some(base);
        a.secret_key = Some(key);
    })
    .await?;
    Some((t, wx))
}

pub(crate) fn credentials(mch_id: &str) -> Value {
    let k = keys();
    json!({
        "mch_id": mch_id,
        "app_id": APP_ID,
        "api_v3_key": API_V3_KEY,
        "merchant_serial": "abcdef0123456789",
        "private_key_pem": k.merchant_pem,
    })
}

/// How a notification is sent (each field may be spoiled by a story).
pub(crate) struct Notify {
    key: RsaPrivateKey,
    serial: String,
    timestamp: i64,
    api_v3_key: String,
    tamper: bool,
}

impl Notify {
    pub(crate) fn good() -> Self {
        Notify {
            key: keys().platform.clone(),
            serial: PLATFORM_SERIAL.into(),
            timestamp: unix_now(),
            api_v3_key: API_V3_KEY.into(),
            tamper: false,
        }
    }
}

/// Sends WeChat Pay's notification of `resource` to kith's notify URL for `owner`:
/// the status and body of kith's answer.
pub(crate) async fn notify(
    t: &TestApp,
    owner: &str,
    event_type: &str,
    resource: Value,
    how: Notify,
) -> (u16, String) {
    notify_to(
        &format!("{}/api/v1/payments/wechat/notify/{owner}", t.base),
        event_type,
        resource,
        how,
    )
    .await
}

/// Sends a notification to `url`, as WeChat Pay does.
pub(crate) async fn notify_to(
    url: &str,
    event_type: &str,
    resource: Value,
    how: Notify,
) -> (u16, String) {
    let nonce = "0123456789ab";
    let original = if event_type.starts_with("REFUND.") {
        "refund"
    } else {
        "transaction"
    };
    let mut ciphertext = protocol::encrypt_resource(
        how.api_v3_key.as_bytes(),
        nonce,
        original,
        resource.to_string().as_bytes(),
    );
    if how.tamper {
        use base64::Engine as _;
        let mut raw = base64::engine::general_purpose::STANDARD
            .decode(&ciphertext)
            .unwrap();
        raw[3] ^= 0x20;
        ciphertext = base64::engine::general_purpose::STANDARD.encode(raw);
    }
    let body = json!({
        "id": format!("EV-{}", uuid::Uuid::now_v7().simple()),
        "create_time": "2026-12-04T20:00:00+08:00",
        "resource_type": "encrypt-resource",
        "event_type": event_type,
        "summary": if original == "refund" { "退款成功" } else { "支付成功" },
        "resource": {
            "original_type": original,
            "algorithm": "AEAD_AES_256_GCM",
            "ciphertext": ciphertext,
            "associated_data": original,
            "nonce": nonce,
        }
    })
    .to_string();
    let ts = how.timestamp.to_string();
    let hdr_nonce = format!("H{}", uuid::Uuid::now_v7().simple());
    let sig = protocol::sign(
        &how.key,
        &protocol::response_message(&ts, &hdr_nonce, &body),
    );
    let res = reqwest::Client::new()
        .post(url)
        .header("content-type", "application/json")
        .header("wechatpay-serial", how.serial)
        .header("wechatpay-timestamp", ts)
        .header("wechatpay-nonce", hdr_nonce)
        .header("wechatpay-signature", sig)
        .body(body)
        .send()
        .await
        .unwrap();
    let status = res.status().as_u16();
    (status, res.text().await.unwrap())
}

pub(crate) fn transaction(
    mchid: &str,
    out_trade_no: &str,
    txn: &str,
    total: i64,
    payer_total: i64,
) -> Value {
    json!({
        "mchid": mchid, "appid": APP_ID, "out_trade_no": out_trade_no,
        "transaction_id": txn, "trade_type": "NATIVE", "trade_state": "SUCCESS",
        "trade_state_desc": "支付成功", "bank_type": "OTHERS", "success_time": "2026-12-04T20:00:00+08:00",
        "payer": { "openid": "oUpF8uMuAJO_M2pxb1Q9zNjWeS6o" },
        "amount": { "total": total, "payer_total": payer_total, "currency": "CNY", "payer_currency": "CNY" }
    })
}

/// A shop with WeChat Pay, and a buyer's order of `price` awaiting payment.
pub(crate) async fn shop_with_order(
    t: &TestApp,
    name: &str,
    price: i64,
) -> (crate::builders::Shop, User, String) {
    let s = t.shop().name(name).price(price).stock(10).build().await;
    t.put(
        &format!(
            "/api/v1/merchants/{}/payment-credentials/wechat",
            s.merchant
        ),
        Some(&s.owner.token),
        credentials(MCH_A),
    )
    .await
    .expect(200);
    let buyer = t.register_member("微信买家").await;
    let o = t
        .post(
            &format!("/api/v1/merchants/{}/checkout", s.merchant),
            Some(&buyer.token),
            json!({ "delivery": "shipping", "address": address(), "items": [{ "sku_id": s.sku, "quantity": 1 }] }),
        )
        .await
        .expect(201);
    let oid = o["id"].as_str().unwrap().to_owned();
    (s, buyer, oid)
}

macro_rules! wx_stories {
    ($($name:ident),+ $(,)?) => {
        $(
            mod $name {
                #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
                async fn sqlite() {
                    let (t, wx) = super::spawn(crate::harness::Engine::Sqlite).await.expect("spawn");
                    super::$name(t, wx).await;
                }
                #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
                async fn postgres() {
                    if let Some((t, wx)) = super::spawn(crate::harness::Engine::Postgres).await {
                        super::$name(t, wx).await;
                    }
                }
            }
        )+
    };
}

wx_stories!(
    wechat_partial_refunds_complete_asynchronously_with_commission_reversed,
    wechat_credentials_are_checked_sealed_and_owner_only,
    wechat_pay_order_through_notification_refusing_forgeries,
    wechat_order_query_applies_a_payment_without_notification,
    wechat_topup_goes_through_the_platform_account,
    wechat_settings_page_and_the_pay_step,
    wechat_platform_certificates_are_downloaded_and_checked,
    wechat_merchant_cannot_sign_its_own_notification,
    wechat_rotated_certificates_are_picked_up_by_the_refresh_job
);

/// `owner`'s stored platform certificates (serials).
async fn stored_serials(t: &TestApp, owner: &str) -> Vec<String> {
    let o = owner.to_owned();
    t.app
        .db
        .read(move |c| {
            c.query(
                "SELECT serial FROM rail_platform_certificates WHERE owner = $1 ORDER BY serial",
                kith_store::args![&o],
            )?
            .into_iter()
            .map(|r| r.text(0))
            .collect::<Result<Vec<_>, _>>()
            .map_err(kith_app::AppError::from)
        })
        .await
        .unwrap()
}

fn requests(wx: &Shared) -> usize {
    wx.lock().unwrap().certificate_requests
}

/// Saving credentials downloads WeChat Pay's platform certificates with them; a wrong
/// APIv3 key, a tampered certificate, a forged or stale answer, a list of only expired
/// certificates and a refused signed request are each refused and store nothing.
async fn wechat_platform_certificates_are_downloaded_and_checked(t: TestApp, wx: Shared) {
    let (owner, merchant) = t.approved_merchant("证书店").await;
    let url = format!("/api/v1/merchants/{merchant}/payment-credentials/wechat");
    let put = |body: Value| t.put(&url, Some(&owner.token), body);
    let nothing_stored = || async {
        assert!(stored_serials(&t, &merchant).await.is_empty());
        let v = t.get(&url, Some(&owner.token)).await.expect(200);
        assert_eq!(v["configured"], false, "{v}");
    };
    // Another APIv3 key (32 characters, so it passes the form's own check): the
    // certificates do not decrypt.
    let mut other_key = credentials(MCH_A);
    other_key["api_v3_key"] = json!("vutsrqponmlkjihgfedcba9876543210");
    put(other_key).await.problem(422, Some("api_v3_key"));
    assert_eq!(requests(&wx), 1, "WeChat Pay was asked");
    nothing_stored().await;
    // A tampered ciphertext: the AEAD tag fails the same way.
    wx.lock().unwrap().cert_spoil = Some(CertSpoil::Tampered);
    put(credentials(MCH_A))
        .await
        .problem(422, Some("api_v3_key"));
    nothing_stored().await;
    // An answer signed by a key none of its certificates carries, and a stale one: 503.
    for spoil in [CertSpoil::Forged, CertSpoil::Stale] {
        wx.lock().unwrap().cert_spoil = Some(spoil);
        let r = put(credentials(MCH_A)).await;
        assert_eq!(r.status.as_u16(), 503, "{spoil:?}: {}", r.body);
        nothing_stored().await;
    }
    wx.lock().unwrap().cert_spoil = None;
    // Only an expired certificate listed (the answer signed by it): refused.
    let mut expired = Listed::main();
    expired.expire = unix_now() - 60;
    wx.lock().unwrap().listed = vec![expired];
    let r = put(credentials(MCH_A)).await;
    assert_eq!(r.status.as_u16(), 503, "{}", r.body);
    nothing_stored().await;
    // A certificate listed under a serial_no that is not its own: refused.
    let mut misnamed = Listed::main();
    misnamed.serial = ROTATED_SERIAL;
    wx.lock().unwrap().listed = vec![misnamed];
    let r = put(credentials(MCH_A)).await;
    assert_eq!(r.status.as_u16(), 503, "{}", r.body);
    assert!(r.body.to_string().contains("has serial"), "{}", r.body);
    nothing_stored().await;
    // WeChat Pay refuses the signed request (a serial that is not the merchant
    // certificate's): 422 on merchant_serial.
    wx.lock().unwrap().listed.clear();
    let mut wrong_serial = credentials(MCH_A);
    wrong_serial["merchant_serial"] = json!("0123456789ABCDEF");
    put(wrong_serial)
        .await
        .problem(422, Some("merchant_serial"));
    nothing_stored().await;
    // The real answer, listing an expired certificate beside the valid one: only the
    // valid one is stored.
    let mut old = Listed::rotated();
    old.expire = unix_now() - 60;
    wx.lock().unwrap().listed = vec![Listed::main(), old];
    let v = put(credentials(MCH_A)).await.expect(200);
    assert_eq!(v["platform_serials"], json!([PLATFORM_SERIAL]));
    assert_eq!(stored_serials(&t, &merchant).await, vec![PLATFORM_SERIAL]);
    let read = t.get(&url, Some(&owner.token)).await.expect(200);
    assert_eq!(read["platform_certificates"], v["platform_certificates"]);
    // The refresh chain started: one job, six hours on.
    let jobs = t
        .app
        .db
        .read(|c| {
            c.query_one(
                "SELECT COUNT(*) FROM jobs WHERE kind = 'rails.wechatpay.certificates' AND status = 'queued'",
                &[],
            )?
            .int(0)
            .map_err(kith_app::AppError::from)
        })
        .await
        .unwrap();
    assert_eq!(jobs, 1);
}

/// The attack of issue 15, tried as a merchant would: it cannot hand kith a certificate
/// any more, so a notification it signs with its own key — under its own certificate's
/// serial, or under WeChat Pay's — is refused, after at most one download of WeChat Pay's
/// list (rate-limited), and moves nothing.
async fn wechat_merchant_cannot_sign_its_own_notification(t: TestApp, wx: Shared) {
    let (s, buyer, oid) = shop_with_order(&t, "自签小铺", 1_800).await;
    let url = format!(
        "/api/v1/merchants/{}/payment-credentials/wechat",
        s.merchant
    );
    let mut with_cert = credentials(MCH_A);
    with_cert["platform_certificates_pem"] = json!(keys().merchant_cert_pem.clone());
    t.put(&url, Some(&s.owner.token), with_cert)
        .await
        .problem(422, Some("platform_certificates_pem"));
    assert_eq!(stored_serials(&t, &s.merchant).await, vec![PLATFORM_SERIAL]);
    let pay = t
        .post(
            &format!("/api/v1/orders/{oid}/pay"),
            Some(&buyer.token),
            json!({ "provider": "wechat" }),
        )
        .await
        .expect(200);
    let pid = pay["payment"]["id"].as_str().unwrap().to_owned();
    let no = pid.replace('-', "");
    let before = audit_clean(&t).await;
    let asked = requests(&wx);
    let own = || Notify {
        key: keys().merchant.clone(),
        serial: MERCHANT_CERT_SERIAL.into(),
        ..Notify::good()
    };
    let tx = || transaction(MCH_A, &no, "4200000555", 1_800, 1_800);
    let r = notify(&t, &s.merchant, "TRANSACTION.SUCCESS", tx(), own()).await;
    assert_eq!(r.0, 401, "{}", r.1);
    assert_eq!(
        requests(&wx),
        asked + 1,
        "one download for the unknown serial"
    );
    // Again at once: refused without another download (one a minute per owner).
    let r = notify(&t, &s.merchant, "TRANSACTION.SUCCESS", tx(), own()).await;
    assert_eq!(r.0, 401, "{}", r.1);
    assert_eq!(requests(&wx), asked + 1, "rate-limited");
    // Its own key under WeChat Pay's serial: the signature does not verify.
    let under_wechat = Notify {
        serial: PLATFORM_SERIAL.into(),
        ..own()
    };
    let r = notify(&t, &s.merchant, "TRANSACTION.SUCCESS", tx(), under_wechat).await;
    assert_eq!(r.0, 401, "{}", r.1);
    assert_eq!(stored_serials(&t, &s.merchant).await, vec![PLATFORM_SERIAL]);
    still_pending(&t, &buyer, &oid, &pid).await;
    assert_eq!(before["entries"], audit_clean(&t).await["entries"]);
    // WeChat Pay's own notification still goes through.
    let r = notify(&t, &s.merchant, "TRANSACTION.SUCCESS", tx(), Notify::good()).await;
    assert_eq!(r.0, 204, "{}", r.1);
    assert!(wx.lock().unwrap().refused.is_empty());
}

/// Runs the certificate refresh job now (for the queue only: the local WeChat Pay checks
/// times against the wall clock).
async fn run_refresh(t: &TestApp) {
    let now = t.app.now_ms();
    t.app
        .db
        .write(move |c| {
            c.execute(
                "UPDATE jobs SET run_at = $1 WHERE kind = 'rails.wechatpay.certificates' AND status = 'queued'",
                kith_store::args![now],
            )
        })
        .await
        .unwrap();
    kith_app::events::jobs::run_once(&t.app, "test")
        .await
        .unwrap();
}

/// WeChat Pay lists a new certificate ahead of using it: the refresh job adds it (and
/// queues the next refresh), notifications signed with it verify without any extra
/// download; a certificate past its expiry is no longer trusted even before the job drops it.
async fn wechat_rotated_certificates_are_picked_up_by_the_refresh_job(t: TestApp, wx: Shared) {
    let (s, buyer, oid) = shop_with_order(&t, "换证小铺", 2_000).await;
    let pay = t
        .post(
            &format!("/api/v1/orders/{oid}/pay"),
            Some(&buyer.token),
            json!({ "provider": "wechat" }),
        )
        .await
        .expect(200);
    let no = pay["payment"]["id"].as_str().unwrap().replace('-', "");
    let tx = || transaction(MCH_A, &no, "4200000666", 2_000, 2_000);
    // A certificate expiring in half a minute is listed beside the main one.
    let mut soon = Listed::main();
    soon.serial = MERCHANT_CERT_SERIAL;
    soon.pem = keys().merchant_cert_pem.clone();
    soon.expire = unix_now() + 30;
    wx.lock().unwrap().listed = vec![Listed::main(), soon.clone()];
    run_refresh(&t).await;
    assert_eq!(
        stored_serials(&t, &s.merchant).await,
        vec![PLATFORM_SERIAL, MERCHANT_CERT_SERIAL]
    );
    // An unknown serial takes this minute's extra download.
    let asked = requests(&wx);
    let unknown = Notify {
        serial: "DEADBEEF".into(),
        ..Notify::good()
    };
    let r = notify(&t, &s.merchant, "TRANSACTION.SUCCESS", tx(), unknown).await;
    assert_eq!(r.0, 401, "{}", r.1);
    assert_eq!(requests(&wx), asked + 1);
    // 45 seconds pass for kith: the short-lived certificate has expired, though still
    // stored (no download may run yet): a notification signed with it is refused.
    t.clock.advance_secs(45);
    let expired = Notify {
        key: keys().merchant.clone(),
        serial: MERCHANT_CERT_SERIAL.into(),
        timestamp: unix_now() + 45,
        ..Notify::good()
    };
    let r = notify(&t, &s.merchant, "TRANSACTION.SUCCESS", tx(), expired).await;
    assert_eq!(r.0, 401, "an expired certificate is not trusted: {}", r.1);
    assert_eq!(requests(&wx), asked + 1, "rate-limited: no second download");
    assert_eq!(order_status(&t, &buyer, &oid).await, "pending_payment");
    // The rotation: WeChat Pay adds its next certificate and signs the list with it; the
    // job adds it and drops the expired one.
    {
        let mut g = wx.lock().unwrap();
        g.listed = vec![Listed::main(), Listed::rotated(), soon];
        g.cert_signer = ROTATED_SERIAL;
    }
    run_refresh(&t).await;
    assert_eq!(
        stored_serials(&t, &s.merchant).await,
        vec![PLATFORM_SERIAL, ROTATED_SERIAL],
        "the new certificate added, the expired one dropped"
    );
    let jobs = t
        .app
        .db
        .read(|c| {
            c.query_one(
                "SELECT COUNT(*) FROM jobs WHERE kind = 'rails.wechatpay.certificates' AND status = 'queued'",
                &[],
            )?
            .int(0)
            .map_err(kith_app::AppError::from)
        })
        .await
        .unwrap();
    assert_eq!(jobs, 1, "the chain goes on with exactly one next job");
    let v = t
        .get(
            &format!(
                "/api/v1/merchants/{}/payment-credentials/wechat",
                s.merchant
            ),
            Some(&s.owner.token),
        )
        .await
        .expect(200);
    let mut shown: Vec<&str> = v["platform_serials"]
        .as_array()
        .unwrap()
        .iter()
        .map(|s| s.as_str().unwrap())
        .collect();
    shown.sort();
    assert_eq!(shown, vec![PLATFORM_SERIAL, ROTATED_SERIAL], "{v}");
    // A notification signed with the new certificate verifies, with no extra download.
    let asked = requests(&wx);
    let rotated = Notify {
        key: keys().forger.clone(),
        serial: ROTATED_SERIAL.into(),
        timestamp: unix_now() + 45,
        ..Notify::good()
    };
    let r = notify(&t, &s.merchant, "TRANSACTION.SUCCESS", tx(), rotated).await;
    assert_eq!(r.0, 204, "{}", r.1);
    assert_eq!(requests(&wx), asked, "no download for a known serial");
    assert_ne!(order_status(&t, &buyer, &oid).await, "pending_payment");
    audit_clean(&t).await;
    assert!(wx.lock().unwrap().refused.is_empty());
}

async fn wechat_credentials_are_checked_sealed_and_owner_only(t: TestApp, _wx: Shared) {
    let (owner, merchant) = t.approved_merchant("微信支付设置店").await;
    let (other_owner, other) = t.approved_merchant("别家店").await;
    let url = format!("/api/v1/merchants/{merchant}/payment-credentials/wechat");
    let put = |body: Value| t.put(&url, Some(&owner.token), body);
    // None yet.
    let none = t.get(&url, Some(&owner.token)).await.expect(200);
    assert_eq!(none["configured"], false);
    assert_eq!(none["mch_id"], "");
    // Each bad field is named.
    let with = |field: &str, v: Value| {
        let mut c = credentials(MCH_A);
        c[field] = v;
        c
    };
    put(with("api_v3_key", json!("short")))
        .await
        .problem(422, Some("api_v3_key"));
    put(with(
        "private_key_pem",
        json!("-----BEGIN PRIVATE KEY-----\nnot a key\n-----END PRIVATE KEY-----"),
    ))
    .await
    .problem(422, Some("private_key_pem"));
    // Platform certificates are no longer taken from the merchant (issue 15): a body that
    // still sends them — here a certificate over the merchant's own key — is refused.
    put(with(
        "platform_certificates_pem",
        json!(keys().merchant_cert_pem.clone()),
    ))
    .await
    .problem(422, Some("platform_certificates_pem"));
    put(with("platform_certificates_pem", json!("")))
        .await
        .problem(422, Some("platform_certificates_pem"));
    put(with("mch_id", json!("19x")))
        .await
        .problem(422, Some("mch_id"));
    put(with("merchant_serial", json!("not hex!")))
        .await
        .problem(422, Some("merchant_serial"));
    // Another merchant's owner, and a member, can neither set nor read them.
    let member = t.register_member("路人").await;
    t.put(&url, Some(&other_owner.token), credentials(MCH_B))
        .await
        .problem(403, None);
    t.put(&url, Some(&member.token), credentials(MCH_B))
        .await
        .problem(403, None);
    // Set: only fingerprints come back.
    let res = t
        .request(
            reqwest::Method::PUT,
            &url,
            Some(&owner.token),
            Some(credentials(MCH_A)),
        )
        .await;
    let text = res.body.to_string();
    let v = res.expect(200);
    assert_eq!(v["mch_id"], MCH_A);
    assert_eq!(v["configured"], true);
    assert_eq!(v["merchant_serial"], "ABCDEF0123456789");
    // The platform certificates are WeChat Pay's, downloaded by kith: serial, expiry and
    // fingerprint shown.
    assert_eq!(v["platform_serials"], json!([PLATFORM_SERIAL]));
    assert_eq!(v["platform_certificates"][0]["serial"], PLATFORM_SERIAL);
    assert!(v["platform_certificates"][0]["expire_time"].is_string());
    assert_eq!(
        v["platform_certificates"][0]["fingerprint"]
            .as_str()
            .unwrap()
            .len(),
        16
    );
    assert_eq!(v["api_v3_key_fingerprint"].as_str().unwrap().len(), 8);
    assert!(
        v["notify_url"]
            .as_str()
            .unwrap()
            .ends_with(&format!("/api/v1/payments/wechat/notify/{merchant}"))
    );
    let pem_body: String = keys().merchant_pem.lines().nth(2).unwrap().to_owned();
    for secret in [API_V3_KEY, "PRIVATE KEY", pem_body.as_str()] {
        assert!(!text.contains(secret), "the answer leaks {secret}: {text}");
    }
    let read = t.get(&url, Some(&owner.token)).await;
    let read_text = read.body.to_string();
    assert_eq!(
        read.expect(200)["private_key_fingerprint"],
        v["private_key_fingerprint"]
    );
    assert!(!read_text.contains(API_V3_KEY) && !read_text.contains("PRIVATE KEY"));
    t.get(&url, Some(&other_owner.token))
        .await
        .problem(403, None);
    t.get(
        &format!("/api/v1/merchants/{other}/payment-credentials/wechat"),
        Some(&owner.token),
    )
    .await
    .problem(403, None);
    // The platform's account is the admins'.
    t.put(
        "/api/v1/admin/payment-credentials/wechat",
        Some(&owner.token),
        credentials(MCH_B),
    )
    .await
    .problem(403, None);
    let admin = t.admin().await;
    t.put(
        "/api/v1/admin/payment-credentials/wechat",
        Some(&admin.token),
        credentials(MCH_B),
    )
    .await
    .expect(200);
    // At rest the row is sealed: neither the APIv3 key nor the private key is in it.
    let stored: Vec<String> = t
        .app
        .db
        .read(|c| {
            c.query("SELECT sealed || fingerprints FROM rail_credentials", &[])?
                .into_iter()
                .map(|r| r.text(0))
                .collect::<Result<Vec<_>, _>>()
                .map_err(kith_app::AppError::from)
        })
        .await
        .unwrap();
    assert_eq!(stored.len(), 2);
    for row in stored {
        assert!(!row.contains(API_V3_KEY) && !row.contains("PRIVATE") && !row.contains(&pem_body));
    }
}

async fn order_status(t: &TestApp, buyer: &User, oid: &str) -> String {
    let o = t
        .get(&format!("/api/v1/orders/{oid}"), Some(&buyer.token))
        .await
        .expect(200);
    o["status"].as_str().unwrap().to_owned()
}

/// An order still awaiting payment with no payment started for it.
async fn still_unpaid(t: &TestApp, buyer: &User, oid: &str) {
    assert_eq!(order_status(t, buyer, oid).await, "pending_payment");
    let oid = oid.to_owned();
    let payments = t
        .app
        .db
        .read(move |c| {
            c.query_one(
                "SELECT COUNT(*) FROM payments WHERE order_id = $1",
                kith_store::args![&oid],
            )?
            .int(0)
        })
        .await
        .unwrap();
    assert_eq!(payments, 0, "no payment was made for a refused attempt");
}

async fn still_pending(t: &TestApp, buyer: &User, oid: &str, pid: &str) {
    assert_eq!(order_status(t, buyer, oid).await, "pending_payment");
    let p = t
        .get(&format!("/api/v1/payments/{pid}"), Some(&buyer.token))
        .await
        .expect(200);
    assert_eq!(p["status"], "pending", "{p}");
}

async fn wechat_pay_order_through_notification_refusing_forgeries(t: TestApp, wx: Shared) {
    let (s, buyer, oid) = shop_with_order(&t, "微信小铺", 2_300).await;
    // A shop without credentials does not take WeChat Pay.
    let (plain_buyer, plain_oid) = {
        let p = t
            .shop()
            .name("没微信的店")
            .price(500)
            .stock(5)
            .build()
            .await;
        let b = t.register_member("买家二").await;
        let o = t
            .post(&format!("/api/v1/merchants/{}/checkout", p.merchant), Some(&b.token),
                json!({ "delivery": "shipping", "address": address(), "items": [{ "sku_id": p.sku, "quantity": 1 }] }))
            .await
            .expect(201);
        t.post(
            &format!("/api/v1/orders/{}/pay", o["id"].as_str().unwrap()),
            Some(&b.token),
            json!({ "provider": "wechat" }),
        )
        .await
        .problem(422, Some("provider"));
        (b, o["id"].as_str().unwrap().to_owned())
    };
    // The refused attempt left the order as it was, with no payment made for it.
    still_unpaid(&t, &plain_buyer, &plain_oid).await;

    let pay = t
        .post(
            &format!("/api/v1/orders/{oid}/pay"),
            Some(&buyer.token),
            json!({ "provider": "wechat", "mode": "native" }),
        )
        .await
        .expect(200);
    let payment = pay["payment"].clone();
    let pid = payment["id"].as_str().unwrap().to_owned();
    let no = pid.replace('-', "");
    assert_eq!(payment["status"], "pending");
    assert_eq!(payment["provider"], "wechat");
    assert_eq!(
        payment["pay_url"],
        format!("weixin://wxpay/bizpayurl?pr={no}")
    );
    {
        let g = wx.lock().unwrap();
        assert!(
            g.refused.is_empty(),
            "kith's requests were refused: {:?}",
            g.refused
        );
        let o = &g.orders[&no];
        assert_eq!(o["amount"]["total"], 2_300);
        assert_eq!(o["mchid"], MCH_A);
        assert!(
            o["notify_url"]
                .as_str()
                .unwrap()
                .ends_with(&format!("/api/v1/payments/wechat/notify/{}", s.merchant))
        );
    }
    // Asking again gives the same pending payment (no second WeChat order).
    let again = t
        .post(
            &format!("/api/v1/orders/{oid}/pay"),
            Some(&buyer.token),
            json!({ "provider": "wechat" }),
        )
        .await
        .expect(200);
    assert_eq!(again["payment"]["id"], pid.as_str());
    // H5 needs nothing more; its link is WeChat's h5_url.
    assert_eq!(wx.lock().unwrap().orders.len(), 1);

    let tx = |txn: &str, total: i64| transaction(MCH_A, &no, txn, total, total);
    let failed = |r: (u16, String), status: u16| {
        assert_eq!(r.0, status, "{}", r.1);
        let v: Value = serde_json::from_str(&r.1).expect("FAIL body is JSON");
        assert_eq!(v["code"], "FAIL", "{v}");
        assert!(v["message"].is_string());
    };
    // A signature by another key.
    let forged = Notify {
        key: keys().forger.clone(),
        ..Notify::good()
    };
    failed(
        notify(
            &t,
            &s.merchant,
            "TRANSACTION.SUCCESS",
            tx("4200000001", 2_300),
            forged,
        )
        .await,
        401,
    );
    still_pending(&t, &buyer, &oid, &pid).await;
    // A serial kith does not know.
    let unknown = Notify {
        serial: "DEADBEEF".into(),
        ..Notify::good()
    };
    failed(
        notify(
            &t,
            &s.merchant,
            "TRANSACTION.SUCCESS",
            tx("4200000001", 2_300),
            unknown,
        )
        .await,
        401,
    );
    // A stale timestamp (six minutes old), correctly signed.
    let stale = Notify {
        timestamp: unix_now() - 360,
        ..Notify::good()
    };
    failed(
        notify(
            &t,
            &s.merchant,
            "TRANSACTION.SUCCESS",
            tx("4200000001", 2_300),
            stale,
        )
        .await,
        401,
    );
    // A tampered ciphertext, and one under another APIv3 key.
    let tampered = Notify {
        tamper: true,
        ..Notify::good()
    };
    failed(
        notify(
            &t,
            &s.merchant,
            "TRANSACTION.SUCCESS",
            tx("4200000001", 2_300),
            tampered,
        )
        .await,
        400,
    );
    let other_key = Notify {
        api_v3_key: "vutsrqponmlkjihgfedcba9876543210".into(),
        ..Notify::good()
    };
    failed(
        notify(
            &t,
            &s.merchant,
            "TRANSACTION.SUCCESS",
            tx("4200000001", 2_300),
            other_key,
        )
        .await,
        400,
    );
    // Another merchant's mch id, and another app id.
    failed(
        notify(
            &t,
            &s.merchant,
            "TRANSACTION.SUCCESS",
            transaction(MCH_B, &no, "4200000001", 2_300, 2_300),
            Notify::good(),
        )
        .await,
        400,
    );
    let mut wrong_app = tx("4200000001", 2_300);
    wrong_app["appid"] = json!("wx0000000000000000");
    failed(
        notify(
            &t,
            &s.merchant,
            "TRANSACTION.SUCCESS",
            wrong_app,
            Notify::good(),
        )
        .await,
        400,
    );
    // The payment sent to another merchant's notify URL (that merchant takes WeChat Pay too).
    let other = t.shop().name("隔壁店").price(100).stock(1).build().await;
    t.put(
        &format!(
            "/api/v1/merchants/{}/payment-credentials/wechat",
            other.merchant
        ),
        Some(&other.owner.token),
        credentials(MCH_B),
    )
    .await
    .expect(200);
    failed(
        notify(
            &t,
            &other.merchant,
            "TRANSACTION.SUCCESS",
            transaction(MCH_B, &no, "4200000001", 2_300, 2_300),
            Notify::good(),
        )
        .await,
        404,
    );
    // An amount that is not the payment's.
    failed(
        notify(
            &t,
            &s.merchant,
            "TRANSACTION.SUCCESS",
            tx("4200000099", 2_299),
            Notify::good(),
        )
        .await,
        400,
    );
    failed(
        notify(
            &t,
            &s.merchant,
            "TRANSACTION.SUCCESS",
            transaction(MCH_A, &no, "4200000098", 2_300, 2_301),
            Notify::good(),
        )
        .await,
        400,
    );
    still_pending(&t, &buyer, &oid, &pid).await;
    audit_clean(&t).await;

    // The real one: paid.
    let ok = notify(
        &t,
        &s.merchant,
        "TRANSACTION.SUCCESS",
        tx("4200000001", 2_300),
        Notify::good(),
    )
    .await;
    assert_eq!(ok.0, 204, "{}", ok.1);
    assert_ne!(order_status(&t, &buyer, &oid).await, "pending_payment");
    let p = t
        .get(&format!("/api/v1/payments/{pid}"), Some(&buyer.token))
        .await
        .expect(200);
    assert_eq!(p["status"], "succeeded");
    assert_eq!(p["pay_url"], Value::Null);
    let audit = audit_clean(&t).await;
    // Replayed (WeChat Pay retries until it hears 2xx): answered 204, nothing moves again.
    let ok = notify(
        &t,
        &s.merchant,
        "TRANSACTION.SUCCESS",
        tx("4200000001", 2_300),
        Notify::good(),
    )
    .await;
    assert_eq!(ok.0, 204, "{}", ok.1);
    let after = audit_clean(&t).await;
    assert_eq!(audit["entries"], after["entries"], "a replay moved money");
}

async fn wechat_order_query_applies_a_payment_without_notification(t: TestApp, wx: Shared) {
    let (_s, buyer, oid) = shop_with_order(&t, "查单小铺", 990).await;
    let pay = t
        .post(
            &format!("/api/v1/orders/{oid}/pay"),
            Some(&buyer.token),
            json!({ "provider": "wechat", "mode": "h5" }),
        )
        .await
        .expect(200);
    let pid = pay["payment"]["id"].as_str().unwrap().to_owned();
    let no = pid.replace('-', "");
    assert!(
        pay["payment"]["pay_url"]
            .as_str()
            .unwrap()
            .starts_with("https://wx.tenpay.com/")
    );
    // Not paid yet at WeChat Pay: the query changes nothing.
    let out = t.app.wechat_query_payment(&pid).await.expect("query");
    assert_eq!(serde_json::to_value(out).unwrap(), "ignored");
    let p = t
        .get(&format!("/api/v1/payments/{pid}"), Some(&buyer.token))
        .await
        .expect(200);
    assert_eq!(p["status"], "pending");
    // Paid there, no notification came: the query applies it, once.
    wx.lock()
        .unwrap()
        .states
        .insert(no.clone(), "SUCCESS".into());
    let out = t.app.wechat_query_payment(&pid).await.expect("query");
    assert_eq!(serde_json::to_value(out).unwrap(), "applied");
    let p = t
        .get(&format!("/api/v1/payments/{pid}"), Some(&buyer.token))
        .await
        .expect(200);
    assert_eq!(p["status"], "succeeded");
    let out = t.app.wechat_query_payment(&pid).await.expect("query");
    assert_eq!(serde_json::to_value(out).unwrap(), "ignored");
    // The notification arriving late is a duplicate: 204, nothing moves.
    let before = audit_clean(&t).await;
    let r = notify(
        &t,
        &_s.merchant,
        "TRANSACTION.SUCCESS",
        transaction(MCH_A, &no, &format!("4200{no}"), 990, 990),
        Notify::good(),
    )
    .await;
    assert_eq!(r.0, 204, "{}", r.1);
    assert_eq!(before["entries"], audit_clean(&t).await["entries"]);
    assert!(wx.lock().unwrap().refused.is_empty());
}

async fn wechat_topup_goes_through_the_platform_account(t: TestApp, wx: Shared) {
    let member = t.register_member("充值的人").await;
    let topup = |provider: &'static str| {
        t.post(
            "/api/v1/me/wallet/topups",
            Some(&member.token),
            json!({ "amount_fen": 5_000, "provider": provider }),
        )
    };
    // The platform has no WeChat Pay account yet.
    topup("wechat").await.problem(422, Some("provider"));
    let admin = t.admin().await;
    t.put(
        "/api/v1/admin/payment-credentials/wechat",
        Some(&admin.token),
        credentials(MCH_B),
    )
    .await
    .expect(200);
    let p = topup("wechat").await.expect(201);
    let pid = p["id"].as_str().unwrap().to_owned();
    let no = pid.replace('-', "");
    assert_eq!(p["purpose"], "topup");
    assert_eq!(wx.lock().unwrap().orders[&no]["mchid"], MCH_B);
    let wallet = |t: &'_ TestApp| {
        let token = member.token.clone();
        let base = format!("{}/api/v1/me/wallet", t.base);
        let client = t.client.clone();
        async move {
            let r = client.get(base).bearer_auth(token).send().await.unwrap();
            TestApp::read(r).await
        }
    };
    assert_eq!(wallet(&t).await.expect(200)["balance_fen"], 0);
    // A merchant's notify URL does not take the platform's payment.
    let shop = t.shop().name("商户").price(100).stock(1).build().await;
    t.put(
        &format!(
            "/api/v1/merchants/{}/payment-credentials/wechat",
            shop.merchant
        ),
        Some(&shop.owner.token),
        credentials(MCH_B),
    )
    .await
    .expect(200);
    let tx = transaction(MCH_B, &no, "4200000777", 5_000, 5_000);
    let r = notify(
        &t,
        &shop.merchant,
        "TRANSACTION.SUCCESS",
        tx.clone(),
        Notify::good(),
    )
    .await;
    assert_eq!(r.0, 404, "{}", r.1);
    assert_eq!(wallet(&t).await.expect(200)["balance_fen"], 0);
    let r = notify(
        &t,
        "platform",
        "TRANSACTION.SUCCESS",
        tx.clone(),
        Notify::good(),
    )
    .await;
    assert_eq!(r.0, 204, "{}", r.1);
    assert_eq!(wallet(&t).await.expect(200)["balance_fen"], 5_000);
    let r = notify(&t, "platform", "TRANSACTION.SUCCESS", tx, Notify::good()).await;
    assert_eq!(r.0, 204, "{}", r.1);
    assert_eq!(wallet(&t).await.expect(200)["balance_fen"], 5_000);
    audit_clean(&t).await;
}

async fn wechat_settings_page_and_the_pay_step(t: TestApp, wx: Shared) {
    let s = t
        .shop()
        .name("页面小铺")
        .price(1_230)
        .stock(5)
        .build()
        .await;
    let mut owner = crate::web::Browser::login(&t, &s.owner.login).await;
    let page = format!("/console/{}/payments", s.merchant);
    let action = format!("{page}/wechat");
    let p = owner.get(&page).await.expect(200);
    assert!(
        p.has("支付设置") && p.has("id=\"wechat-none\""),
        "{}",
        p.body
    );
    let k = keys();
    let form = |api_v3_key: &'static str| {
        vec![
            ("mch_id", MCH_A.to_owned()),
            ("app_id", APP_ID.to_owned()),
            ("api_v3_key", api_v3_key.to_owned()),
            ("merchant_serial", "ABCDEF0123456789".to_owned()),
            ("private_key_pem", k.merchant_pem.clone()),
        ]
    };
    let as_refs = |f: &Vec<(&'static str, String)>| {
        f.iter().map(|(a, b)| (*a, b.clone())).collect::<Vec<_>>()
    };
    // A short APIv3 key: named inline, the non-secret fields kept, the secrets not echoed.
    let bad = as_refs(&form("too-short"));
    let bad: Vec<(&str, &str)> = bad.iter().map(|(a, b)| (*a, b.as_str())).collect();
    let p = owner.submit(&page, &action, &bad).await.expect(200);
    assert!(
        p.has("id=\"form-error\"") && p.has("api_v3_key"),
        "{}",
        p.body
    );
    assert!(
        p.has(&format!("value=\"{MCH_A}\"")),
        "the typed mch id is kept"
    );
    assert!(
        !p.has("too-short") && !p.has(k.merchant_pem.lines().nth(2).unwrap()),
        "a secret was echoed"
    );
    // Another APIv3 key: WeChat Pay's certificates do not decrypt with it; said beside the
    // form with the 商户号 kept, nothing saved.
    let wrong = as_refs(&form("vutsrqponmlkjihgfedcba9876543210"));
    let wrong: Vec<(&str, &str)> = wrong.iter().map(|(a, b)| (*a, b.as_str())).collect();
    let p = owner.submit(&page, &action, &wrong).await.expect(200);
    assert!(
        p.has("id=\"form-error\"") && p.has("do not decrypt with this APIv3 key"),
        "{}",
        p.body
    );
    assert!(p.has(&format!("value=\"{MCH_A}\"")) && p.has("id=\"wechat-none\""));
    // Saved: a flash line and fingerprints, no secret.
    let good = as_refs(&form(API_V3_KEY));
    let good: Vec<(&str, &str)> = good.iter().map(|(a, b)| (*a, b.as_str())).collect();
    let p = owner.submit(&page, &action, &good).await.expect(303);
    assert_eq!(p.location(), format!("{page}?done=saved"));
    let p = owner.get(&p.location()).await.expect(200);
    assert!(
        p.has("id=\"flash\"")
            && p.has("id=\"wechat-current\"")
            && p.has(&format!("id=\"platform-cert-{PLATFORM_SERIAL}\"")),
        "{}",
        p.body
    );
    assert!(
        !p.has("name=\"platform_certificates_pem\""),
        "the page no longer asks for certificates"
    );
    let pem_line = k.merchant_pem.lines().nth(2).unwrap();
    assert!(
        !p.has(API_V3_KEY) && !p.has(pem_line),
        "a secret is on the page"
    );
    // Another merchant's owner cannot open it.
    let other = t.approved_merchant("别家页面店").await;
    let mut stranger = crate::web::Browser::login(&t, &other.0.login).await;
    assert_eq!(stranger.get(&page).await.status.as_u16(), 403);

    // The member's pay step offers 微信支付 and shows WeChat Pay's code_url.
    let buyer = t.register_member("页面买家").await;
    let o = t
        .post(&format!("/api/v1/merchants/{}/checkout", s.merchant), Some(&buyer.token),
            json!({ "delivery": "shipping", "address": address(), "items": [{ "sku_id": s.sku, "quantity": 1 }] }))
        .await
        .expect(201);
    let order_page = format!("/orders/{}", o["id"].as_str().unwrap());
    let mut b = crate::web::Browser::login(&t, &buyer.login).await;
    assert!(
        b.get(&order_page)
            .await
            .expect(200)
            .has("id=\"pay-wechat\"")
    );
    let p = b
        .submit(
            &order_page,
            &format!("{order_page}/pay"),
            &[("provider", "wechat")],
        )
        .await
        .expect(303);
    let p = b.get(&p.location()).await.expect(200);
    assert!(
        p.has("id=\"wechat-code-url\"") && p.has("weixin://wxpay/bizpayurl?pr="),
        "{}",
        p.body
    );
    assert_eq!(wx.lock().unwrap().orders.len(), 1);
    assert!(wx.lock().unwrap().refused.is_empty());
}

/// A partial refund through WeChat Pay completes when WeChat Pay says so: nothing moves at
/// the request; forged, tampered, other-merchant and wrong-amount notifications change
/// nothing; the real one books the refund and reverses the referrer's commission to the
/// fen, once (a replay is a duplicate); a notification that arrives before the request's
/// own answer settles it; a refund whose notification never comes is settled by the query.
async fn wechat_partial_refunds_complete_asynchronously_with_commission_reversed(
    t: TestApp,
    wx: Shared,
) {
    use crate::worlds::{balances, product_link, signup_via, standard_plan};
    let s = t.shop().plan(standard_plan()).build().await;
    t.put(
        &format!(
            "/api/v1/merchants/{}/payment-credentials/wechat",
            s.merchant
        ),
        Some(&s.owner.token),
        credentials(MCH_A),
    )
    .await
    .expect(200);
    // A referrer's link brings the buyer: the referrer earns L1 10 % of the goods.
    let referrer = t.register_member("推荐人").await;
    let (_, code) = product_link(&t, &s, &referrer).await;
    let buyer = signup_via(&t, &code, "微信买家").await;
    let o = t
        .post(
            &format!("/api/v1/merchants/{}/checkout", s.merchant),
            Some(&buyer.token),
            json!({ "delivery": "shipping", "address": address(), "items": [{ "sku_id": s.sku, "quantity": 3 }] }),
        )
        .await
        .expect(201);
    let oid = o["id"].as_str().unwrap().to_owned();
    let total = o["total_fen"].as_i64().unwrap();
    let pay = t
        .post(
            &format!("/api/v1/orders/{oid}/pay"),
            Some(&buyer.token),
            json!({ "provider": "wechat" }),
        )
        .await
        .expect(200);
    let no = pay["payment"]["id"].as_str().unwrap().replace('-', "");
    let r = notify(
        &t,
        &s.merchant,
        "TRANSACTION.SUCCESS",
        transaction(MCH_A, &no, &format!("4200{no}"), total, total),
        Notify::good(),
    )
    .await;
    assert_eq!(r.0, 204, "{}", r.1);
    assert_eq!(balances(&t, &referrer, &s.merchant).await.0, 3_000);

    // One unit back: requested, sent by the job, PROCESSING at WeChat Pay; nothing moved.
    let refunds = format!("/api/v1/merchants/{}/orders/{oid}/refunds", s.merchant);
    let first = t
        .post(
            &refunds,
            Some(&s.owner.token),
            json!({ "lines": [{ "line_no": 1, "quantity": 1 }], "reason": "少发一件" }),
        )
        .await
        .expect(201);
    assert_eq!(
        (first["status"].as_str(), first["amount_fen"].as_i64()),
        (Some("requested"), Some(10_000))
    );
    kith_app::events::jobs::run_once(&t.app, "test")
        .await
        .unwrap();
    let rid = first["id"].as_str().unwrap().to_owned();
    let refund_no = rid.replace('-', "");
    let asked = wx
        .lock()
        .unwrap()
        .refunds
        .get(&refund_no)
        .cloned()
        .expect("asked of WeChat Pay");
    assert_eq!(asked.0["out_trade_no"], no.as_str());
    assert_eq!(
        asked.0["amount"],
        json!({ "refund": 10_000, "total": total, "currency": "CNY" })
    );
    assert!(
        asked.0["notify_url"]
            .as_str()
            .unwrap()
            .ends_with(&format!("/api/v1/payments/wechat/notify/{}", s.merchant))
    );
    let listed = t.get(&refunds, Some(&s.owner.token)).await.expect(200);
    assert_eq!(listed[0]["status"], "requested");
    assert_eq!(listed[0]["provider_refund_id"], format!("5030{refund_no}"));
    assert_eq!(order_json(&t, &buyer, &oid).await["refunded_fen"], 0);
    assert_eq!(balances(&t, &referrer, &s.merchant).await.0, 3_000);
    let before = audit_clean(&t).await;

    // Forged, tampered, another merchant's, a wrong amount: each refused, nothing moves.
    let good = refund_resource(MCH_A, &no, &refund_no, "SUCCESS", &asked.0);
    let forged = Notify {
        key: keys().forger.clone(),
        ..Notify::good()
    };
    assert_eq!(
        notify(&t, &s.merchant, "REFUND.SUCCESS", good.clone(), forged)
            .await
            .0,
        401
    );
    let tampered = Notify {
        tamper: true,
        ..Notify::good()
    };
    assert_eq!(
        notify(&t, &s.merchant, "REFUND.SUCCESS", good.clone(), tampered)
            .await
            .0,
        400
    );
    let stale = Notify {
        timestamp: unix_now() - 3_600,
        ..Notify::good()
    };
    assert_eq!(
        notify(&t, &s.merchant, "REFUND.SUCCESS", good.clone(), stale)
            .await
            .0,
        401
    );
    let mut other = good.clone();
    other["mchid"] = json!(MCH_B);
    assert_eq!(
        notify(&t, &s.merchant, "REFUND.SUCCESS", other, Notify::good())
            .await
            .0,
        400
    );
    let mut more = good.clone();
    more["amount"]["refund"] = json!(20_000);
    assert_eq!(
        notify(&t, &s.merchant, "REFUND.SUCCESS", more, Notify::good())
            .await
            .0,
        400
    );
    let mut elsewhere = good.clone();
    elsewhere["out_trade_no"] = json!("0".repeat(32));
    assert_eq!(
        notify(&t, &s.merchant, "REFUND.SUCCESS", elsewhere, Notify::good())
            .await
            .0,
        400
    );
    assert_eq!(
        before["entries"],
        audit_clean(&t).await["entries"],
        "a refused notification moved money"
    );
    assert_eq!(
        t.get(&refunds, Some(&s.owner.token)).await.expect(200)[0]["status"],
        "requested"
    );

    // The real notification: the refund is booked and 10 % of ¥100 comes off the referrer.
    assert_eq!(
        notify(
            &t,
            &s.merchant,
            "REFUND.SUCCESS",
            good.clone(),
            Notify::good()
        )
        .await
        .0,
        204
    );
    let listed = t.get(&refunds, Some(&s.owner.token)).await.expect(200);
    assert_eq!(listed[0]["status"], "succeeded");
    let o = order_json(&t, &buyer, &oid).await;
    assert_eq!(
        (o["refunded_fen"].as_i64(), o["status"].as_str()),
        (Some(10_000), Some("fulfilling"))
    );
    assert_eq!(balances(&t, &referrer, &s.merchant).await.0, 2_000);
    // Replayed: nothing moves a second time.
    let once = audit_clean(&t).await;
    assert_eq!(
        notify(&t, &s.merchant, "REFUND.SUCCESS", good, Notify::good())
            .await
            .0,
        204
    );
    assert_eq!(
        once["entries"],
        audit_clean(&t).await["entries"],
        "a replay moved money"
    );
    assert_eq!(balances(&t, &referrer, &s.merchant).await.0, 2_000);

    // The next unit: WeChat Pay's notification arrives before its answer to the request.
    wx.lock().unwrap().refund_mode = RefundMode::NotifyFirst;
    let second = t
        .post(
            &refunds,
            Some(&s.owner.token),
            json!({ "lines": [{ "line_no": 1, "quantity": 1 }], "reason": "再退一件" }),
        )
        .await
        .expect(201);
    kith_app::events::jobs::run_once(&t.app, "test")
        .await
        .unwrap();
    let listed = t.get(&refunds, Some(&s.owner.token)).await.expect(200);
    assert_eq!(listed[1]["id"], second["id"]);
    assert_eq!(
        listed[1]["status"], "succeeded",
        "the early notification settled it; the late answer changed nothing"
    );
    assert_eq!(order_json(&t, &buyer, &oid).await["refunded_fen"], 20_000);
    assert_eq!(balances(&t, &referrer, &s.merchant).await.0, 1_000);

    // The last: no notification ever comes; the refund query settles it.
    wx.lock().unwrap().refund_mode = RefundMode::Processing;
    let last = t
        .post(
            &refunds,
            Some(&s.owner.token),
            json!({ "reason": "整单退完" }),
        )
        .await
        .expect(201);
    kith_app::events::jobs::run_once(&t.app, "test")
        .await
        .unwrap();
    let last_id = last["id"].as_str().unwrap().to_owned();
    let out = t.app.wechat_query_refund(&last_id).await.expect("query");
    assert_eq!(
        serde_json::to_value(out).unwrap(),
        "ignored",
        "still processing"
    );
    wx.lock()
        .unwrap()
        .refunds
        .get_mut(&last_id.replace('-', ""))
        .unwrap()
        .1 = "SUCCESS".into();
    let out = t.app.wechat_query_refund(&last_id).await.expect("query");
    assert_eq!(serde_json::to_value(out).unwrap(), "applied");
    let o = order_json(&t, &buyer, &oid).await;
    assert_eq!(
        (o["refunded_fen"].as_i64(), o["status"].as_str()),
        (Some(total), Some("refunded"))
    );
    assert_eq!(balances(&t, &referrer, &s.merchant).await.0, 0);
    audit_clean(&t).await;
    assert!(wx.lock().unwrap().refused.is_empty());
}

async fn order_json(t: &TestApp, buyer: &User, oid: &str) -> Value {
    t.get(&format!("/api/v1/orders/{oid}"), Some(&buyer.token))
        .await
        .expect(200)
}
