//! Alipay against a local Alipay gateway, on both engines.
//!
//! The local gateway (axum, on loopback, `POST /gateway.do`) holds keys the test
//! generates: the app key (whose PEM the merchant and the platform enter in kith) and
//! the Alipay key (whose public half they enter as the Alipay public key). It checks every
//! kith request strictly — known app id, `sign_type` RSA2, `charset`, `format`, `version`,
//! a fresh Beijing `timestamp`, and the RSA2 signature over the sorted parameters without
//! `sign` — and answers as Alipay does, `{"<method>_response":{…},"sign":"…"}` signed with
//! the Alipay key over the node's text. The test sends asynchronous notifications signed
//! the same way (without `sign` and `sign_type`) — then forges, tampers, misaddresses,
//! mismatches and replays them.

use std::collections::{BTreeMap, HashMap};
use std::sync::{Arc, Mutex, OnceLock};

use axum::body::Bytes;
use axum::extract::State;
use axum::response::{IntoResponse, Response};
use kith_app::rails::alipay::{protocol, signed_notification};
use kith_domain::Clock as _;
use rsa::pkcs1::EncodeRsaPrivateKey;
use rsa::pkcs8::{EncodePrivateKey, EncodePublicKey, LineEnding};
use rsa::{RsaPrivateKey, RsaPublicKey};
use serde_json::{Value, json};

use crate::harness::{Engine, TestApp, User, address};
use crate::worlds::{audit_clean, balances, earn_available};

pub(crate) const APP_A: &str = "2021000000000101";
const APP_B: &str = "2021000000000202";
pub(crate) const APP_P: &str = "2021000000000999";
pub(crate) const SELLER_A: &str = "2088000000000101";

/// The keys of every story (RSA key generation is slow; made once per test process).
pub(crate) struct Keys {
    app: RsaPrivateKey,
    app_pkcs8: String,
    app_pkcs1: String,
    pub(crate) alipay: RsaPrivateKey,
    alipay_public_pem: String,
    /// Signs forged notifications.
    pub(crate) forger: RsaPrivateKey,
}

pub(crate) fn keys() -> &'static Keys {
    static KEYS: OnceLock<Keys> = OnceLock::new();
    KEYS.get_or_init(|| {
        let mut rng = rsa::rand_core::OsRng;
        let app = RsaPrivateKey::new(&mut rng, 2048).expect("app key");
        let alipay = RsaPrivateKey::new(&mut rng, 2048).expect("alipay key");
        let forger = RsaPrivateKey::new(&mut rng, 2048).expect("forger key");
        Keys {
            app_pkcs8: app.to_pkcs8_pem(LineEnding::LF).unwrap().to_string(),
            app_pkcs1: app.to_pkcs1_pem(LineEnding::LF).unwrap().to_string(),
            alipay_public_pem: RsaPublicKey::from(&alipay)
                .to_public_key_pem(LineEnding::LF)
                .unwrap(),
            app,
            alipay,
            forger,
        }
    })
}

/// How a story spoils a bill's download.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum BillSpoil {
    /// The answer naming the URL is signed with another key than Alipay's.
    Forged,
    /// The URL is on another host.
    Elsewhere,
}

/// What the local gateway knows.
#[derive(Default)]
pub(crate) struct Gw {
    /// The gateway's own base URL (`http://127.0.0.1:port`).
    base: String,
    /// The same server on another port: a host kith must not fetch a bill from.
    pub(crate) elsewhere: String,
    /// The host (and port) each bill download came to.
    pub(crate) bill_fetches: Vec<String>,
    /// Trade bills by day (`YYYY-MM-DD`): the zip served.
    pub(crate) bills: HashMap<String, Vec<u8>>,
    /// 账务明细 bills (`signcustomer`) by day: the zip served.
    pub(crate) account_bills: HashMap<String, Vec<u8>>,
    pub(crate) bill_spoiled: Option<BillSpoil>,
    /// Trades by out_trade_no: (app_id, total_amount, trade_status).
    trades: HashMap<String, (String, String, String)>,
    /// Refunds by out_request_no: (out_trade_no, amount in fen).
    refunds: HashMap<String, (String, i64)>,
    /// Transfers by out_biz_no: (the request's biz_content, status).
    transfers: HashMap<String, (Value, String)>,
    /// How many transfer requests came (a repeat of an out_biz_no included).
    transfer_calls: usize,
    /// The status a transfer to a payee account gets (default SUCCESS).
    payee_outcome: HashMap<String, String>,
    /// Requests refused (kith must never cause one).
    pub(crate) refused: Vec<String>,
    /// kith's clock (stories move it by weeks): the gateway's "now".
    clock: Option<kith_domain::ManualClock>,
}

pub(crate) type Shared = Arc<Mutex<Gw>>;

fn answer(method: &str, node: Value) -> Response {
    let text = protocol::signed_answer(method, &node.to_string(), &keys().alipay);
    ([("content-type", "text/html;charset=utf-8")], text).into_response()
}

fn business_failure(method: &str, sub_code: &str, sub_msg: &str) -> Response {
    answer(
        method,
        json!({ "code": "40004", "msg": "Business Failed", "sub_code": sub_code, "sub_msg": sub_msg }),
    )
}

fn beijing_now_ms() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_millis() as i64
}

/// Checks a request strictly: its parameters, or the refusal Alipay answers with.
#[allow(clippy::result_large_err)]
fn check(gw: &Shared, body: &[u8]) -> Result<BTreeMap<String, String>, Response> {
    let refuse = |why: String, method: &str| {
        gw.lock().unwrap().refused.push(why.clone());
        let node = json!({ "code": "40002", "msg": "Invalid Arguments", "sub_code": "isv.invalid-signature", "sub_msg": why });
        let text = format!(
            "{{\"error_response\":{node},\"sign\":{}}}",
            json!(protocol::sign(&keys().alipay, &node.to_string()))
        );
        let _ = method;
        text.into_response()
    };
    let p = protocol::form_decode(body).map_err(|e| refuse(e.to_owned(), ""))?;
    let get = |k: &str| p.get(k).cloned().unwrap_or_default();
    let method = get("method");
    if ![APP_A, APP_B, APP_P].contains(&get("app_id").as_str()) {
        return Err(refuse("unknown app_id".into(), &method));
    }
    for (k, v) in [
        ("sign_type", "RSA2"),
        ("charset", "utf-8"),
        ("format", "JSON"),
        ("version", "1.0"),
    ] {
        if get(k) != v {
            return Err(refuse(format!("{k} is not {v}"), &method));
        }
    }
    let now = gw
        .lock()
        .unwrap()
        .clock
        .as_ref()
        .map(|c| c.now_ms())
        .unwrap_or_else(beijing_now_ms);
    let fresh = [now - 600_000, now, now + 600_000]
        .iter()
        .any(|ms| &protocol::timestamp(*ms)[..13] == get("timestamp").get(..13).unwrap_or(""));
    if !fresh || get("timestamp").len() != 19 {
        return Err(refuse("timestamp is not now in Beijing".into(), &method));
    }
    if !protocol::verify(
        &RsaPublicKey::from(&keys().app),
        &protocol::request_content(&p),
        &get("sign"),
    ) {
        return Err(refuse("sign does not verify".into(), &method));
    }
    Ok(p)
}

fn amount_ok(s: &str) -> bool {
    protocol::parse_yuan(s).is_some_and(|f| f > 0)
        && s.split_once('.').is_some_and(|(_, f)| f.len() == 2)
}

async fn gateway(State(gw): State<Shared>, body: Bytes) -> Response {
    let p = match check(&gw, &body) {
        Ok(p) => p,
        Err(r) => return r,
    };
    let method = p["method"].clone();
    let app_id = p["app_id"].clone();
    let biz: Value = serde_json::from_str(p.get("biz_content").map(String::as_str).unwrap_or(""))
        .unwrap_or(Value::Null);
    let s = |k: &str| biz[k].as_str().unwrap_or("").to_owned();
    let mut g = gw.lock().unwrap();
    match method.as_str() {
        "alipay.trade.precreate" => {
            let no = s("out_trade_no");
            if no.is_empty() || !amount_ok(&s("total_amount")) || s("subject").is_empty() {
                g.refused.push(format!("precreate: bad biz_content {biz}"));
                return business_failure(&method, "ACQ.INVALID_PARAMETER", "参数无效");
            }
            if !p
                .get("notify_url")
                .is_some_and(|u| u.contains("/api/v1/payments/alipay/notify/"))
            {
                g.refused.push("precreate: no notify_url".into());
            }
            g.trades.entry(no.clone()).or_insert((
                app_id,
                s("total_amount"),
                "WAIT_BUYER_PAY".into(),
            ));
            answer(
                &method,
                json!({ "code": "10000", "msg": "Success", "out_trade_no": no, "qr_code": format!("https://qr.alipay.com/bax{no}") }),
            )
        }
        "alipay.trade.query" => {
            let no = s("out_trade_no");
            match g.trades.get(&no) {
                Some((_, total, status)) => answer(
                    &method,
                    json!({ "code": "10000", "msg": "Success", "trade_no": format!("2026120422001{no}"), "out_trade_no": no,
                            "buyer_logon_id": "159****5620", "trade_status": status, "total_amount": total }),
                ),
                None => business_failure(&method, "ACQ.TRADE_NOT_EXIST", "交易不存在"),
            }
        }
        "alipay.trade.refund" => {
            let (no, req) = (s("out_trade_no"), s("out_request_no"));
            let Some(amount) = protocol::parse_yuan(&s("refund_amount"))
                .filter(|_| amount_ok(&s("refund_amount")))
            else {
                g.refused.push(format!("refund: bad amount {biz}"));
                return business_failure(&method, "ACQ.INVALID_PARAMETER", "参数无效");
            };
            let Some((_, total, status)) = g.trades.get(&no).cloned() else {
                return business_failure(&method, "ACQ.TRADE_NOT_EXIST", "交易不存在");
            };
            if status != "TRADE_SUCCESS" || req.is_empty() {
                return business_failure(&method, "ACQ.TRADE_STATUS_ERROR", "交易状态不合法");
            }
            let fresh = !g.refunds.contains_key(&req);
            let so_far: i64 = g
                .refunds
                .values()
                .filter(|(n, _)| *n == no)
                .map(|(_, a)| a)
                .sum();
            if fresh {
                if so_far + amount > protocol::parse_yuan(&total).unwrap() {
                    return business_failure(
                        &method,
                        "ACQ.REFUND_AMT_NOT_EQUAL_TOTAL",
                        "退款金额超限",
                    );
                }
                g.refunds.insert(req, (no.clone(), amount));
            }
            let refunded: i64 = g
                .refunds
                .values()
                .filter(|(n, _)| *n == no)
                .map(|(_, a)| a)
                .sum();
            answer(
                &method,
                json!({ "code": "10000", "msg": "Success", "trade_no": format!("2026120422001{no}"), "out_trade_no": no,
                        "buyer_logon_id": "159****5620", "fund_change": if fresh { "Y" } else { "N" },
                        "refund_fee": protocol::yuan(refunded) }),
            )
        }
        "alipay.fund.trans.uni.transfer" => {
            g.transfer_calls += 1;
            let payee = &biz["payee_info"];
            let ok = app_id == APP_P
                && s("product_code") == "TRANS_ACCOUNT_NO_PWD"
                && s("biz_scene") == "DIRECT_TRANSFER"
                && amount_ok(&s("trans_amount"))
                && !s("order_title").is_empty()
                && payee["identity_type"] == "ALIPAY_LOGON_ID"
                && payee["identity"].as_str().is_some_and(|i| !i.is_empty())
                && payee["name"].as_str().is_some_and(|n| !n.is_empty());
            let no = s("out_biz_no");
            if !ok || no.is_empty() {
                g.refused.push(format!("transfer: bad biz_content {biz}"));
                return business_failure(&method, "INVALID_PARAMETER", "参数有误");
            }
            if let Some((first, status)) = g.transfers.get(&no).cloned() {
                // Idempotent by out_biz_no: the same request gets the first answer.
                if first != biz {
                    return business_failure(
                        &method,
                        "PARAM_ILLEGAL",
                        "out_biz_no 重复且参数不一致",
                    );
                }
                return transfer_answer(&method, &no, &status);
            }
            let account = payee["identity"].as_str().unwrap().to_owned();
            let status = g
                .payee_outcome
                .get(&account)
                .cloned()
                .unwrap_or("SUCCESS".into());
            if status == "PAYEE_NOT_EXIST" {
                g.transfers.insert(no, (biz, "FAIL".into()));
                return business_failure(&method, "PAYEE_NOT_EXIST", "收款账号不存在");
            }
            g.transfers.insert(no.clone(), (biz, status.clone()));
            transfer_answer(&method, &no, &status)
        }
        "alipay.data.dataservice.bill.downloadurl.query" => {
            let (date, kind) = (s("bill_date"), s("bill_type"));
            if !["trade", "signcustomer"].contains(&kind.as_str()) || date.len() != 10 {
                g.refused.push(format!("bill: bad biz_content {biz}"));
                return business_failure(&method, "isv.invalid-arguments", "参数不合法");
            }
            let bills = if kind == "trade" {
                &g.bills
            } else {
                &g.account_bills
            };
            if !bills.contains_key(&date) {
                return business_failure(&method, "isp.bill_not_exist", "账单不存在");
            }
            let base = if g.bill_spoiled == Some(BillSpoil::Elsewhere) {
                g.elsewhere.clone()
            } else {
                g.base.clone()
            };
            let node = json!({ "code": "10000", "msg": "Success",
                "bill_download_url": format!("{base}/downloadBillFile.resource?bizType={kind}&fileType=csv.zip&bizDates={}", date.replace('-', "")) });
            if g.bill_spoiled == Some(BillSpoil::Forged) {
                let text = protocol::signed_answer(&method, &node.to_string(), &keys().forger);
                return text.into_response();
            }
            answer(&method, node)
        }
        "alipay.fund.trans.common.query" => {
            let no = s("out_biz_no");
            if s("product_code") != "TRANS_ACCOUNT_NO_PWD" || s("biz_scene") != "DIRECT_TRANSFER" {
                g.refused
                    .push(format!("transfer query: bad biz_content {biz}"));
            }
            match g.transfers.get(&no) {
                Some((b, status)) => answer(
                    &method,
                    json!({ "code": "10000", "msg": "Success", "order_id": format!("20261204110070000006{}", &no[..8]),
                            "pay_fund_order_id": format!("20261204110070001506{}", &no[..8]), "out_biz_no": no,
                            "trans_amount": b["trans_amount"], "status": status }),
                ),
                None => business_failure(&method, "ORDER_NOT_EXIST", "转账订单不存在"),
            }
        }
        other => {
            g.refused.push(format!("unknown method {other}"));
            business_failure(other, "isv.invalid-method", "不存在的方法名")
        }
    }
}

fn transfer_answer(method: &str, no: &str, status: &str) -> Response {
    answer(
        method,
        json!({ "code": "10000", "msg": "Success", "out_biz_no": no, "order_id": format!("20261204110070000006{}", &no[..8]),
                "pay_fund_order_id": format!("20261204110070001506{}", &no[..8]), "status": status, "trans_date": "2026-12-04 20:00:00" }),
    )
}

#[derive(serde::Deserialize)]
struct BillFile {
    #[serde(rename = "bizType")]
    biz_type: String,
    #[serde(rename = "bizDates")]
    biz_dates: String,
}

/// `GET /downloadBillFile.resource`: a day's bill zip, as Alipay's bill host serves it
/// (unsigned; the signed answer that named the URL is what kith trusts).
async fn bill_file(
    State(gw): State<Shared>,
    axum::extract::Query(q): axum::extract::Query<BillFile>,
    headers: axum::http::HeaderMap,
) -> Response {
    let mut g = gw.lock().unwrap();
    let host = headers
        .get("host")
        .and_then(|h| h.to_str().ok())
        .unwrap_or("")
        .to_owned();
    g.bill_fetches.push(host);
    let day = q.biz_dates;
    let date = format!("{}-{}-{}", &day[..4], &day[4..6], &day[6..8]);
    let bills = if q.biz_type == "trade" {
        &g.bills
    } else {
        &g.account_bills
    };
    match bills.get(&date) {
        Some(zip) => (
            [("content-type", "application/octet-stream")],
            Bytes::from(zip.clone()),
        )
            .into_response(),
        None => (axum::http::StatusCode::NOT_FOUND, "no such bill").into_response(),
    }
}

/// Starts the local gateway: its URL and its state.
async fn alipay_gateway() -> (String, Shared) {
    let gw: Shared = Arc::default();
    let app = axum::Router::new()
        .route("/gateway.do", axum::routing::post(gateway))
        .route("/downloadBillFile.resource", axum::routing::get(bill_file))
        .with_state(gw.clone());
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let other = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    {
        let mut g = gw.lock().unwrap();
        g.base = format!("http://{}", listener.local_addr().unwrap());
        g.elsewhere = format!("http://{}", other.local_addr().unwrap());
    }
    let mirror = app.clone();
    tokio::spawn(async move {
        axum::serve(other, mirror).await.unwrap();
    });
    let url = format!("http://{}/gateway.do", listener.local_addr().unwrap());
    tokio::spawn(async move {
        axum::serve(listener, app).await.unwrap();
    });
    (url, gw)
}

/// A kith server whose Alipay gateway is the local one, with a secret key.
pub(crate) async fn spawn(engine: Engine) -> Option<(TestApp, Shared)> {
    let _ = keys();
    let (url, gw) = alipay_gateway().await;
    let key = kith_app::rails::secrets::SecretKey::generate().to_hex();
    let t = TestApp::spawn_with(engine, move |a| {
        a.alipay_gateway = Some(url);
        a.secret_key = Some(key);
    })
    .await?;
    gw.lock().unwrap().clock = Some(t.clock.clone());
    Some((t, gw))
}

pub(crate) fn credentials(app_id: &str, seller_id: &str) -> Value {
    let k = keys();
    json!({
        "app_id": app_id,
        "app_private_key_pem": k.app_pkcs8,
        "alipay_public_key_pem": k.alipay_public_pem,
        "seller_id": seller_id,
    })
}

/// Sends Alipay's asynchronous notification to kith's notify URL for `owner`: the status
/// and text of kith's answer.
pub(crate) async fn notify(
    t: &TestApp,
    owner: &str,
    params: BTreeMap<String, String>,
) -> (u16, String) {
    let res = t
        .client
        .post(format!("{}/api/v1/payments/alipay/notify/{owner}", t.base))
        .header(
            "content-type",
            "application/x-www-form-urlencoded; charset=utf-8",
        )
        .body(protocol::form_encode(&params))
        .send()
        .await
        .unwrap();
    let status = res.status().as_u16();
    (status, res.text().await.unwrap())
}

/// A trade_status_sync notification's parameters (unsigned).
pub(crate) fn trade(
    app_id: &str,
    out_trade_no: &str,
    status: &str,
    total: &str,
) -> BTreeMap<String, String> {
    [
        ("notify_time", "2026-12-04 20:00:05"),
        ("notify_type", "trade_status_sync"),
        ("notify_id", "ac05099524730693a8b330c5ecf72da9786"),
        ("charset", "utf-8"),
        ("version", "1.0"),
        ("app_id", app_id),
        ("trade_no", &format!("2026120422001{out_trade_no}")),
        ("out_trade_no", out_trade_no),
        ("out_biz_no", ""),
        ("buyer_id", "2088102122524333"),
        ("buyer_logon_id", "159****5620"),
        ("seller_id", SELLER_A),
        ("seller_email", "shop@example.com"),
        ("trade_status", status),
        ("total_amount", total),
        ("receipt_amount", total),
        ("buyer_pay_amount", total),
        ("subject", "kith 订单"),
        ("gmt_create", "2026-12-04 19:59:50"),
        ("gmt_payment", "2026-12-04 20:00:04"),
    ]
    .into_iter()
    .map(|(k, v)| (k.to_owned(), v.to_owned()))
    .collect()
}

pub(crate) fn signed(p: BTreeMap<String, String>) -> BTreeMap<String, String> {
    signed_notification(p, &keys().alipay)
}

macro_rules! ali_stories {
    ($($name:ident),+ $(,)?) => {
        $(
            mod $name {
                #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
                async fn sqlite() {
                    let (t, gw) = super::spawn(crate::harness::Engine::Sqlite).await.expect("spawn");
                    super::$name(t, gw).await;
                }
                #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
                async fn postgres() {
                    if let Some((t, gw)) = super::spawn(crate::harness::Engine::Postgres).await {
                        super::$name(t, gw).await;
                    }
                }
            }
        )+
    };
}

ali_stories!(
    alipay_credentials_are_checked_sealed_and_owner_only,
    alipay_pay_order_through_notification_refusing_forgeries,
    alipay_trade_query_applies_a_payment_without_notification,
    alipay_topup_and_refund_through_the_adapter,
    alipay_withdrawals_are_paid_out_by_transfer_or_returned,
    alipay_settings_page_and_the_pay_step,
    alipay_money_in_the_shops_own_account_is_settled_with_the_platform
);

async fn alipay_credentials_are_checked_sealed_and_owner_only(t: TestApp, _gw: Shared) {
    let (owner, merchant) = t.approved_merchant("支付宝设置店").await;
    let url = format!("/api/v1/merchants/{merchant}/payment-credentials/alipay");
    let none = t.get(&url, Some(&owner.token)).await.expect(200);
    assert_eq!(none["configured"], false);
    let put = |body: Value| t.put(&url, Some(&owner.token), body);
    let mut bad = credentials(APP_A, "");
    bad["app_id"] = json!("wx123");
    put(bad).await.problem(422, Some("app_id"));
    let mut bad = credentials(APP_A, "");
    bad["app_private_key_pem"] =
        json!("-----BEGIN PRIVATE KEY-----\nnope\n-----END PRIVATE KEY-----");
    put(bad).await.problem(422, Some("app_private_key_pem"));
    let mut bad = credentials(APP_A, "");
    bad["alipay_public_key_pem"] = json!("MIIB not a key");
    put(bad).await.problem(422, Some("alipay_public_key_pem"));
    // The app's own public key where Alipay's belongs: the commonest slip, named.
    let mut bad = credentials(APP_A, "");
    bad["alipay_public_key_pem"] = json!(
        RsaPublicKey::from(&keys().app)
            .to_public_key_pem(LineEnding::LF)
            .unwrap()
    );
    put(bad).await.problem(422, Some("alipay_public_key_pem"));
    let mut bad = credentials(APP_A, "1234");
    bad["seller_id"] = json!("1234");
    put(bad).await.problem(422, Some("seller_id"));
    // A stranger and another shop's owner are refused; nothing was stored.
    let stranger = t.register_member("路人").await;
    t.put(&url, Some(&stranger.token), credentials(APP_A, ""))
        .await
        .problem(403, None);
    t.get(&url, Some(&stranger.token)).await.problem(403, None);
    assert_eq!(
        t.get(&url, Some(&owner.token)).await.expect(200)["configured"],
        false
    );
    // PKCS#1 is taken as well as PKCS#8; only fingerprints come back.
    let mut good = credentials(APP_A, SELLER_A);
    good["app_private_key_pem"] = json!(keys().app_pkcs1);
    let v = put(good).await.expect(200);
    assert_eq!(v["configured"], true);
    assert_eq!(v["provider"], "alipay");
    assert_eq!(v["app_id"], APP_A);
    assert_eq!(v["mch_id"], SELLER_A);
    assert_eq!(v["private_key_fingerprint"].as_str().unwrap().len(), 16);
    assert_eq!(
        v["alipay_public_key_fingerprint"].as_str().unwrap().len(),
        16
    );
    assert!(
        v["notify_url"]
            .as_str()
            .unwrap()
            .ends_with(&format!("/api/v1/payments/alipay/notify/{merchant}"))
    );
    let text = t
        .get(&url, Some(&owner.token))
        .await
        .expect(200)
        .to_string();
    assert!(
        !text.contains("PRIVATE KEY") && !text.contains("MII"),
        "{text}"
    );
    // The platform's account is a platform admin's.
    t.put(
        "/api/v1/admin/payment-credentials/alipay",
        Some(&owner.token),
        credentials(APP_P, ""),
    )
    .await
    .problem(403, None);
    let admin = t.admin().await;
    let p = t
        .put(
            "/api/v1/admin/payment-credentials/alipay",
            Some(&admin.token),
            credentials(APP_P, ""),
        )
        .await
        .expect(200);
    assert_eq!(p["owner"], "platform");
    assert_eq!(
        t.get(
            "/api/v1/admin/payment-credentials/alipay",
            Some(&admin.token)
        )
        .await
        .expect(200)["app_id"],
        APP_P
    );
}

/// A shop with Alipay, and a buyer's order of `price` awaiting payment.
pub(crate) async fn shop_with_order(
    t: &TestApp,
    name: &str,
    price: i64,
    app_id: &str,
) -> (crate::builders::Shop, User, String) {
    let s = t.shop().name(name).price(price).stock(10).build().await;
    t.put(
        &format!(
            "/api/v1/merchants/{}/payment-credentials/alipay",
            s.merchant
        ),
        Some(&s.owner.token),
        credentials(app_id, if app_id == APP_A { SELLER_A } else { "" }),
    )
    .await
    .expect(200);
    let buyer = t.register_member("支付宝买家").await;
    let o = t
        .post(
            &format!("/api/v1/merchants/{}/checkout", s.merchant),
            Some(&buyer.token),
            json!({ "delivery": "shipping", "address": address(), "items": [{ "sku_id": s.sku, "quantity": 1 }] }),
        )
        .await
        .expect(201);
    (s, buyer, o["id"].as_str().unwrap().to_owned())
}

async fn order_status(t: &TestApp, buyer: &User, oid: &str) -> String {
    t.get(&format!("/api/v1/orders/{oid}"), Some(&buyer.token))
        .await
        .expect(200)["status"]
        .as_str()
        .unwrap()
        .to_owned()
}

async fn payment_status(t: &TestApp, buyer: &User, pid: &str) -> String {
    t.get(&format!("/api/v1/payments/{pid}"), Some(&buyer.token))
        .await
        .expect(200)["status"]
        .as_str()
        .unwrap()
        .to_owned()
}

async fn alipay_pay_order_through_notification_refusing_forgeries(t: TestApp, gw: Shared) {
    let (a, buyer, oid) = shop_with_order(&t, "支付宝小铺", 2_300, APP_A).await;
    let (b, _, _) = shop_with_order(&t, "隔壁小铺", 800, APP_B).await;
    // A shop without credentials does not take Alipay.
    let plain = t
        .shop()
        .name("没支付宝的店")
        .price(500)
        .stock(5)
        .build()
        .await;
    let o = t
        .post(&format!("/api/v1/merchants/{}/checkout", plain.merchant), Some(&buyer.token),
            json!({ "delivery": "shipping", "address": address(), "items": [{ "sku_id": plain.sku, "quantity": 1 }] }))
        .await
        .expect(201);
    t.post(
        &format!("/api/v1/orders/{}/pay", o["id"].as_str().unwrap()),
        Some(&buyer.token),
        json!({ "provider": "alipay" }),
    )
    .await
    .problem(422, Some("provider"));

    // Phone: a signed redirect to the gateway, verifiable with the app's public key.
    let pay = t
        .post(
            &format!("/api/v1/orders/{oid}/pay"),
            Some(&buyer.token),
            json!({ "provider": "alipay", "alipay_mode": "wap" }),
        )
        .await
        .expect(200);
    let pid = pay["payment"]["id"].as_str().unwrap().to_owned();
    let no = pid.replace('-', "");
    assert_eq!(pay["payment"]["provider"], "alipay");
    let url = pay["payment"]["pay_url"].as_str().unwrap().to_owned();
    let (_, query) = url.split_once('?').expect("a query");
    let p = protocol::form_decode(query.as_bytes()).unwrap();
    assert_eq!(p["method"], "alipay.trade.wap.pay");
    assert_eq!(p["app_id"], APP_A);
    assert!(p["notify_url"].ends_with(&format!("/api/v1/payments/alipay/notify/{}", a.merchant)));
    let biz: Value = serde_json::from_str(&p["biz_content"]).unwrap();
    assert_eq!(biz["out_trade_no"], no.as_str());
    assert_eq!(biz["total_amount"], "23.00");
    assert_eq!(biz["product_code"], "QUICK_WAP_WAY");
    assert!(protocol::verify(
        &RsaPublicKey::from(&keys().app),
        &protocol::request_content(&p),
        &p["sign"]
    ));
    // Desktop and QR: the same pending payment; the QR code comes from precreate.
    let page = t
        .post(
            &format!("/api/v1/orders/{oid}/pay"),
            Some(&buyer.token),
            json!({ "provider": "alipay", "alipay_mode": "page" }),
        )
        .await
        .expect(200);
    assert_eq!(page["payment"]["id"], pid.as_str());
    assert!(
        page["payment"]["pay_url"]
            .as_str()
            .unwrap()
            .contains("method=alipay.trade.page.pay")
    );
    let qr = t
        .post(
            &format!("/api/v1/orders/{oid}/pay"),
            Some(&buyer.token),
            json!({ "provider": "alipay", "alipay_mode": "qr" }),
        )
        .await
        .expect(200);
    assert_eq!(qr["payment"]["id"], pid.as_str());
    assert_eq!(
        qr["payment"]["pay_url"],
        format!("https://qr.alipay.com/bax{no}")
    );
    assert_eq!(gw.lock().unwrap().trades[&no].1, "23.00");

    let before = audit_clean(&t).await;
    let unchanged = |r: (u16, String), status: u16| {
        assert_eq!(r.0, status, "{}", r.1);
        assert_eq!(r.1, "fail");
    };
    // Forged: signed by another key.
    unchanged(
        notify(
            &t,
            &a.merchant,
            signed_notification(trade(APP_A, &no, "TRADE_SUCCESS", "23.00"), &keys().forger),
        )
        .await,
        401,
    );
    // Tampered: signed, then the amount changed.
    let mut tampered = signed(trade(APP_A, &no, "TRADE_SUCCESS", "0.01"));
    tampered.insert("total_amount".into(), "23.00".into());
    tampered.insert("trade_status".into(), "TRADE_SUCCESS".into());
    let mut t2 = signed(trade(APP_A, &no, "WAIT_BUYER_PAY", "23.00"));
    t2.insert("trade_status".into(), "TRADE_SUCCESS".into());
    unchanged(notify(&t, &a.merchant, t2).await, 401);
    unchanged(notify(&t, &a.merchant, tampered).await, 401);
    // No signature at all; another sign_type.
    let mut unsigned = trade(APP_A, &no, "TRADE_SUCCESS", "23.00");
    unchanged(notify(&t, &a.merchant, unsigned.clone()).await, 401);
    unsigned = signed(unsigned);
    unsigned.insert("sign_type".into(), "RSA".into());
    unchanged(notify(&t, &a.merchant, unsigned).await, 401);
    // Wrong app: genuinely signed, but for another app id.
    unchanged(
        notify(
            &t,
            &a.merchant,
            signed(trade(APP_B, &no, "TRADE_SUCCESS", "23.00")),
        )
        .await,
        400,
    );
    // Another seller than the one the merchant named.
    let mut other_seller = trade(APP_A, &no, "TRADE_SUCCESS", "23.00");
    other_seller.insert("seller_id".into(), "2088999999999999".into());
    unchanged(notify(&t, &a.merchant, signed(other_seller)).await, 400);
    // Another merchant's notify URL, about this merchant's payment.
    unchanged(
        notify(
            &t,
            &b.merchant,
            signed(trade(APP_B, &no, "TRADE_SUCCESS", "23.00")),
        )
        .await,
        404,
    );
    // Amount mismatch, and an amount that is not a yuan string.
    unchanged(
        notify(
            &t,
            &a.merchant,
            signed(trade(APP_A, &no, "TRADE_SUCCESS", "0.01")),
        )
        .await,
        400,
    );
    unchanged(
        notify(
            &t,
            &a.merchant,
            signed(trade(APP_A, &no, "TRADE_SUCCESS", "23.001")),
        )
        .await,
        400,
    );
    // An unknown trade, and an unknown owner.
    let stranger = uuid::Uuid::now_v7().simple().to_string();
    unchanged(
        notify(
            &t,
            &a.merchant,
            signed(trade(APP_A, &stranger, "TRADE_SUCCESS", "23.00")),
        )
        .await,
        404,
    );
    unchanged(
        notify(
            &t,
            "not-a-merchant",
            signed(trade(APP_A, &no, "TRADE_SUCCESS", "23.00")),
        )
        .await,
        404,
    );
    // A state kith does not act on is taken (success) and changes nothing.
    let r = notify(
        &t,
        &a.merchant,
        signed(trade(APP_A, &no, "WAIT_BUYER_PAY", "23.00")),
    )
    .await;
    assert_eq!(r, (200, "success".to_owned()));
    assert_eq!(order_status(&t, &buyer, &oid).await, "pending_payment");
    assert_eq!(payment_status(&t, &buyer, &pid).await, "pending");
    assert_eq!(
        before["entries"],
        audit_clean(&t).await["entries"],
        "a refused notification moved money"
    );

    // The genuine one: paid.
    let r = notify(
        &t,
        &a.merchant,
        signed(trade(APP_A, &no, "TRADE_SUCCESS", "23.00")),
    )
    .await;
    assert_eq!(r, (200, "success".to_owned()));
    assert_eq!(order_status(&t, &buyer, &oid).await, "fulfilling");
    assert_eq!(payment_status(&t, &buyer, &pid).await, "succeeded");
    let paid = audit_clean(&t).await;
    // Replayed, and TRADE_FINISHED later: taken, nothing moves.
    for status in ["TRADE_SUCCESS", "TRADE_FINISHED"] {
        let r = notify(&t, &a.merchant, signed(trade(APP_A, &no, status, "23.00"))).await;
        assert_eq!(r, (200, "success".to_owned()));
    }
    assert_eq!(
        paid["entries"],
        audit_clean(&t).await["entries"],
        "a replay moved money"
    );
    // A refund of an Alipay-paid order is requested, then sent by its job through
    // alipay.trade.refund (out_request_no = the refund id), which answers at once: the
    // refund succeeds and the order is refunded, the ledger still balanced.
    if let Some(trade) = gw.lock().unwrap().trades.get_mut(&no) {
        trade.2 = "TRADE_SUCCESS".into();
    }
    let r = t
        .post(
            &format!("/api/v1/merchants/{}/orders/{oid}/refunds", a.merchant),
            Some(&a.owner.token),
            json!({ "reason": "缺货" }),
        )
        .await
        .expect(201);
    assert_eq!(r["status"], "requested");
    for _ in 0..3 {
        kith_app::events::jobs::run_once(&t.app, "test")
            .await
            .unwrap();
    }
    let refunds = t
        .get(
            &format!("/api/v1/merchants/{}/orders/{oid}/refunds", a.merchant),
            Some(&a.owner.token),
        )
        .await
        .expect(200);
    assert_eq!(refunds[0]["status"], "succeeded", "{refunds}");
    assert!(
        gw.lock()
            .unwrap()
            .refunds
            .contains_key(&r["id"].as_str().unwrap().replace('-', "")),
        "sent to Alipay under the refund id"
    );
    audit_clean(&t).await;
    assert!(
        gw.lock().unwrap().refused.is_empty(),
        "{:?}",
        gw.lock().unwrap().refused
    );
}

async fn alipay_trade_query_applies_a_payment_without_notification(t: TestApp, gw: Shared) {
    let (a, buyer, oid) = shop_with_order(&t, "查单小铺", 990, APP_A).await;
    let pay = t
        .post(
            &format!("/api/v1/orders/{oid}/pay"),
            Some(&buyer.token),
            json!({ "provider": "alipay" }),
        )
        .await
        .expect(200);
    let pid = pay["payment"]["id"].as_str().unwrap().to_owned();
    let no = pid.replace('-', "");
    // The payer has not opened the pay page: no trade at Alipay, nothing changes.
    let out = t.app.alipay_query_payment(&pid).await.expect("query");
    assert_eq!(serde_json::to_value(out).unwrap(), "ignored");
    // Opened, not paid.
    gw.lock().unwrap().trades.insert(
        no.clone(),
        (APP_A.into(), "9.90".into(), "WAIT_BUYER_PAY".into()),
    );
    let out = t.app.alipay_query_payment(&pid).await.expect("query");
    assert_eq!(serde_json::to_value(out).unwrap(), "ignored");
    assert_eq!(payment_status(&t, &buyer, &pid).await, "pending");
    // Alipay says another amount: refused, nothing moves.
    gw.lock().unwrap().trades.insert(
        no.clone(),
        (APP_A.into(), "0.99".into(), "TRADE_SUCCESS".into()),
    );
    let before = audit_clean(&t).await;
    assert!(t.app.alipay_query_payment(&pid).await.is_err());
    assert_eq!(payment_status(&t, &buyer, &pid).await, "pending");
    assert_eq!(before["entries"], audit_clean(&t).await["entries"]);
    // Paid there, the notification never came: the query applies it, once.
    gw.lock().unwrap().trades.insert(
        no.clone(),
        (APP_A.into(), "9.90".into(), "TRADE_SUCCESS".into()),
    );
    let out = t.app.alipay_query_payment(&pid).await.expect("query");
    assert_eq!(serde_json::to_value(out).unwrap(), "applied");
    assert_eq!(order_status(&t, &buyer, &oid).await, "fulfilling");
    let out = t.app.alipay_query_payment(&pid).await.expect("query");
    assert_eq!(serde_json::to_value(out).unwrap(), "ignored");
    let paid = audit_clean(&t).await;
    // The late notification is a duplicate: success, nothing moves.
    let r = notify(
        &t,
        &a.merchant,
        signed(trade(APP_A, &no, "TRADE_SUCCESS", "9.90")),
    )
    .await;
    assert_eq!(r, (200, "success".to_owned()));
    assert_eq!(paid["entries"], audit_clean(&t).await["entries"]);
    assert!(
        gw.lock().unwrap().refused.is_empty(),
        "{:?}",
        gw.lock().unwrap().refused
    );
}

async fn alipay_topup_and_refund_through_the_adapter(t: TestApp, gw: Shared) {
    let member = t.register_member("充值的人").await;
    let topup = || {
        t.post(
            "/api/v1/me/wallet/topups",
            Some(&member.token),
            json!({ "amount_fen": 5_000, "provider": "alipay", "alipay_mode": "qr" }),
        )
    };
    // The platform takes no Alipay yet.
    topup().await.problem(422, Some("provider"));
    let admin = t.admin().await;
    t.put(
        "/api/v1/admin/payment-credentials/alipay",
        Some(&admin.token),
        credentials(APP_P, ""),
    )
    .await
    .expect(200);
    let p = topup().await.expect(201);
    let pid = p["id"].as_str().unwrap().to_owned();
    let no = pid.replace('-', "");
    assert_eq!(p["pay_url"], format!("https://qr.alipay.com/bax{no}"));
    // A merchant's notify URL does not take the platform's payment.
    let (a, _, _) = shop_with_order(&t, "别的店", 100, APP_A).await;
    let r = notify(
        &t,
        &a.merchant,
        signed(trade(APP_A, &no, "TRADE_SUCCESS", "50.00")),
    )
    .await;
    assert_eq!(r.0, 404);
    let mut platform_trade = trade(APP_P, &no, "TRADE_SUCCESS", "50.00");
    platform_trade.insert("seller_id".into(), "2088000000000999".into());
    let r = notify(&t, "platform", signed(platform_trade)).await;
    assert_eq!(r, (200, "success".to_owned()));
    let w = t
        .get("/api/v1/me/wallet", Some(&member.token))
        .await
        .expect(200);
    assert_eq!(w["balance_fen"], 5_000);

    // alipay.trade.refund: out_request_no is the refund id, so asking again is one refund.
    gw.lock().unwrap().trades.get_mut(&no).unwrap().2 = "TRADE_SUCCESS".into();
    let rid = uuid::Uuid::now_v7().to_string();
    let r = t
        .app
        .alipay_refund(&pid, &rid, 1_250)
        .await
        .expect("refund");
    assert!(r.fund_change);
    assert_eq!(r.refunded_total_fen, 1_250);
    let again = t
        .app
        .alipay_refund(&pid, &rid, 1_250)
        .await
        .expect("refund again");
    assert!(!again.fund_change);
    assert_eq!(again.refunded_total_fen, 1_250);
    // More than is left: refused by Alipay, a 409 in kith's words.
    let over = t
        .app
        .alipay_refund(&pid, &uuid::Uuid::now_v7().to_string(), 4_000)
        .await;
    assert!(
        matches!(over, Err(kith_app::AppError::Conflict { .. })),
        "{over:?}"
    );
    assert_eq!(gw.lock().unwrap().refunds.len(), 1);
    audit_clean(&t).await;
    assert!(
        gw.lock().unwrap().refused.is_empty(),
        "{:?}",
        gw.lock().unwrap().refused
    );
}

async fn alipay_withdrawals_are_paid_out_by_transfer_or_returned(t: TestApp, gw: Shared) {
    let s = t.shop().plan(json!({ "levels_bp": [1000, 500], "withdraw_min_fen": 1_000, "withdraw_daily_limit_fen": 100_000 })).build().await;
    let b = t.register_member("分享者").await;
    earn_available(&t, &s, &b, 9_000).await;
    assert_eq!(balances(&t, &b, &s.merchant).await, (0, 0, 9_000, 0));
    let url = format!("/api/v1/distributors/{}/withdrawals", b.id);
    let ask = |amount: i64, account: &str| {
        t.post(&url, Some(&b.token), json!({ "merchant_id": s.merchant, "amount_fen": amount, "payee": { "account": account, "name": "张三" } }))
    };
    ask(1_000, "not an account")
        .await
        .problem(422, Some("payee_account"));
    t.post(&url, Some(&b.token), json!({ "merchant_id": s.merchant, "amount_fen": 1_000, "payee": { "account": "13800000000", "name": "" } }))
        .await
        .problem(422, Some("payee_name"));
    let admin = t.admin().await;
    t.put(
        "/api/v1/admin/payment-credentials/alipay",
        Some(&admin.token),
        credentials(APP_P, ""),
    )
    .await
    .expect(200);
    {
        let mut g = gw.lock().unwrap();
        g.payee_outcome
            .insert("fail@example.com".into(), "FAIL".into());
        g.payee_outcome
            .insert("13900000000".into(), "PAYEE_NOT_EXIST".into());
        g.payee_outcome
            .insert("dealing@example.com".into(), "DEALING".into());
    }
    let approve = |wid: String| {
        let token = admin.token.clone();
        let t = &t;
        async move {
            t.post(
                &format!("/api/v1/admin/withdrawals/{wid}/approve"),
                Some(&token),
                json!({}),
            )
            .await
            .expect(200)
        }
    };
    // SUCCESS: paid at once.
    let w1 = ask(2_000, "13800000000").await.expect(201);
    assert_eq!(w1["payee_account"], "13800000000");
    let w1 = approve(w1["id"].as_str().unwrap().to_owned()).await;
    assert_eq!(w1["status"], "paid", "{w1}");
    {
        let g = gw.lock().unwrap();
        let (biz, _) = &g.transfers[&w1["id"].as_str().unwrap().replace('-', "")];
        assert_eq!(biz["trans_amount"], "20.00");
        assert_eq!(biz["payee_info"]["identity"], "13800000000");
        assert_eq!(biz["payee_info"]["name"], "张三");
    }
    assert_eq!(balances(&t, &b, &s.merchant).await, (0, 0, 7_000, 0));
    // FAIL, and a final business refusal: the money comes back.
    let w2 = approve(
        ask(1_500, "fail@example.com").await.expect(201)["id"]
            .as_str()
            .unwrap()
            .to_owned(),
    )
    .await;
    assert_eq!(w2["status"], "failed", "{w2}");
    let w3 = approve(
        ask(1_000, "13900000000").await.expect(201)["id"]
            .as_str()
            .unwrap()
            .to_owned(),
    )
    .await;
    assert_eq!(w3["status"], "failed", "{w3}");
    assert_eq!(balances(&t, &b, &s.merchant).await, (0, 0, 7_000, 0));
    // DEALING: still paying; the query job settles it when Alipay has.
    let w4 = approve(
        ask(3_000, "dealing@example.com").await.expect(201)["id"]
            .as_str()
            .unwrap()
            .to_owned(),
    )
    .await;
    let wid4 = w4["id"].as_str().unwrap().to_owned();
    assert_eq!(w4["status"], "paying", "{w4}");
    assert_eq!(balances(&t, &b, &s.merchant).await, (0, 0, 4_000, 3_000));
    assert!(
        t.app.alipay_payout_query(&wid4).await.expect("query"),
        "still paying"
    );
    gw.lock()
        .unwrap()
        .transfers
        .get_mut(&wid4.replace('-', ""))
        .unwrap()
        .1 = "SUCCESS".into();
    assert!(!t.app.alipay_payout_query(&wid4).await.expect("query"));
    let w4 = t
        .get(&format!("/api/v1/withdrawals/{wid4}"), Some(&b.token))
        .await
        .expect(200);
    assert_eq!(w4["status"], "paid");
    assert_eq!(balances(&t, &b, &s.merchant).await, (0, 0, 4_000, 0));
    // Settled payouts are never sent again; one transfer request per withdrawal.
    let calls = gw.lock().unwrap().transfer_calls;
    t.app.alipay_payout(&wid4).await.expect("no-op");
    assert!(!t.app.alipay_payout_query(&wid4).await.expect("no-op"));
    assert_eq!(gw.lock().unwrap().transfer_calls, calls);
    assert_eq!(calls, 4);
    // The wallet page asks for the 支付宝账号 now that the platform pays out by Alipay, and
    // a refused payee keeps what was typed.
    let mut page = crate::web::Browser::login(&t, &b.login).await;
    let p = page.get("/me/wallet").await.expect(200);
    assert!(
        p.has("name=\"payee_account\"") && p.has("id=\"payee-hint\""),
        "{}",
        p.body
    );
    let p = page
        .submit(
            "/me/wallet",
            "/me/wallet/withdrawals",
            &[
                ("merchant_id", s.merchant.as_str()),
                ("amount", "10"),
                ("payee_account", "nobody"),
                ("payee_name", "李四"),
            ],
        )
        .await
        .expect(422);
    assert!(
        p.has("id=\"withdraw-error\"") && p.has("value=\"nobody\"") && p.has("value=\"李四\""),
        "{}",
        p.body
    );
    page.submit(
        "/me/wallet",
        "/me/wallet/withdrawals",
        &[
            ("merchant_id", s.merchant.as_str()),
            ("amount", "10"),
            ("payee_account", "lisi@example.com"),
            ("payee_name", "李四"),
        ],
    )
    .await
    .expect(303);
    let mine = t.get(&url, Some(&b.token)).await.expect(200);
    let from_page = mine
        .as_array()
        .unwrap()
        .iter()
        .find(|w| w["payee_account"] == "lisi@example.com")
        .expect("the page's withdrawal");
    assert_eq!(from_page["payee_name"], "李四");
    let w6 = approve(from_page["id"].as_str().unwrap().to_owned()).await;
    assert_eq!(w6["status"], "paid", "{w6}");
    assert_eq!(balances(&t, &b, &s.merchant).await, (0, 0, 3_000, 0));
    // A withdrawal Alipay never received (the approval's call was lost) is sent by the job.
    let w5 = ask(1_000, "13800000000").await.expect(201);
    let wid5 = w5["id"].as_str().unwrap().to_owned();
    gw.lock()
        .unwrap()
        .payee_outcome
        .insert("13800000000".into(), "DEALING".into());
    approve(wid5.clone()).await;
    gw.lock().unwrap().transfers.clear();
    gw.lock()
        .unwrap()
        .payee_outcome
        .insert("13800000000".into(), "SUCCESS".into());
    assert!(!t.app.alipay_payout_query(&wid5).await.expect("query"));
    let w5 = t
        .get(&format!("/api/v1/withdrawals/{wid5}"), Some(&b.token))
        .await
        .expect(200);
    assert_eq!(w5["status"], "paid");
    assert_eq!(balances(&t, &b, &s.merchant).await, (0, 0, 2_000, 0));
    audit_clean(&t).await;
    assert!(
        gw.lock().unwrap().refused.is_empty(),
        "{:?}",
        gw.lock().unwrap().refused
    );
}

async fn alipay_settings_page_and_the_pay_step(t: TestApp, gw: Shared) {
    let (a, buyer, oid) = shop_with_order(&t, "页面小铺", 1_200, APP_A).await;
    let mut owner = crate::web::Browser::login(&t, &a.owner.login).await;
    let page = format!("/console/{}/payments", a.merchant);
    let p = owner.get(&page).await.expect(200);
    assert!(p.has("id=\"alipay-current\"") && p.has(APP_A), "{}", p.body);
    let k = keys();
    let pem_line = k.app_pkcs8.lines().nth(2).unwrap();
    assert!(!p.has(pem_line), "a secret is on the page");
    // A refused field is named inline, keeping what was typed (never the private key).
    let p = owner
        .submit(
            &page,
            &format!("{page}/alipay"),
            &[
                ("app_id", APP_B),
                ("app_private_key_pem", "not a key at all"),
                ("alipay_public_key_pem", k.alipay_public_pem.as_str()),
                ("seller_id", ""),
            ],
        )
        .await
        .expect(200);
    assert!(
        p.has("id=\"alipay-form-error\"") && p.has("app_private_key_pem"),
        "{}",
        p.body
    );
    assert!(
        p.has(&format!("value=\"{APP_B}\"")),
        "the typed app id is kept"
    );
    assert!(!p.has("not a key at all"), "the private key was echoed");
    // Saved: back to the page, fingerprints shown.
    let p = owner
        .submit(
            &page,
            &format!("{page}/alipay"),
            &[
                ("app_id", APP_B),
                ("app_private_key_pem", k.app_pkcs8.as_str()),
                ("alipay_public_key_pem", k.alipay_public_pem.as_str()),
                ("seller_id", ""),
            ],
        )
        .await
        .expect(303);
    let p = owner.get(&p.location()).await.expect(200);
    assert!(
        p.has("id=\"alipay-current\"") && p.has(APP_B) && !p.has(pem_line),
        "{}",
        p.body
    );
    // The member's pay step offers 支付宝 and links to Alipay's signed pay page.
    let order_page = format!("/orders/{oid}");
    let mut b = crate::web::Browser::login(&t, &buyer.login).await;
    assert!(
        b.get(&order_page)
            .await
            .expect(200)
            .has("id=\"pay-alipay\"")
    );
    let p = b
        .submit(
            &order_page,
            &format!("{order_page}/pay"),
            &[("provider", "alipay")],
        )
        .await
        .expect(303);
    assert!(
        p.location().starts_with(&format!("{order_page}?alipay=")),
        "{}",
        p.location()
    );
    let p = b.get(&p.location()).await.expect(200);
    assert!(
        p.has("id=\"alipay-pay-link\"") && p.has("method=alipay.trade.page.pay"),
        "{}",
        p.body
    );
    assert!(gw.lock().unwrap().refused.is_empty());
}

/// The settlement a shop's owner sees.
async fn settlement_of(t: &TestApp, s: &crate::builders::Shop) -> Value {
    t.get(
        &format!("/api/v1/merchants/{}/settlement", s.merchant),
        Some(&s.owner.token),
    )
    .await
    .expect(200)
}

/// `buyer` checks out `qty` for shipping and asks to pay by Alipay (QR, so the local
/// gateway knows the trade): the order id, its total and kith's `out_trade_no`.
async fn order_at_alipay(
    t: &TestApp,
    s: &crate::builders::Shop,
    buyer: &User,
    qty: i64,
) -> (String, i64, String) {
    let o = t
        .post(
            &format!("/api/v1/merchants/{}/checkout", s.merchant),
            Some(&buyer.token),
            json!({ "delivery": "shipping", "address": address(), "items": [{ "sku_id": s.sku, "quantity": qty }] }),
        )
        .await
        .expect(201);
    let oid = o["id"].as_str().unwrap().to_owned();
    let pay = t
        .post(
            &format!("/api/v1/orders/{oid}/pay"),
            Some(&buyer.token),
            json!({ "provider": "alipay", "alipay_mode": "qr" }),
        )
        .await
        .expect(200);
    let no = pay["payment"]["id"].as_str().unwrap().replace('-', "");
    (oid, o["total_fen"].as_i64().unwrap(), no)
}

/// What a member earned at the shop, whatever its state.
async fn earned(t: &TestApp, who: &User, merchant: &str) -> i64 {
    let (p, f, a, w) = balances(t, who, merchant).await;
    p + f + a + w
}

/// Money paid into the shop's own Alipay app is the shop's: it enters through the shop's
/// direct account (never the platform's gateway account), the shop's account pays its
/// refunds, and the commission the platform pays out of it is what the shop owes the
/// platform; wallet money runs the other way; a platform admin records the settling-up.
async fn alipay_money_in_the_shops_own_account_is_settled_with_the_platform(
    t: TestApp,
    gw: Shared,
) {
    let s = t.shop().plan(crate::worlds::standard_plan()).build().await;
    t.put(
        &format!(
            "/api/v1/merchants/{}/payment-credentials/alipay",
            s.merchant
        ),
        Some(&s.owner.token),
        credentials(APP_A, SELLER_A),
    )
    .await
    .expect(200);
    let fresh = settlement_of(&t, &s).await;
    assert_eq!(
        (
            &fresh["settled_fen"],
            &fresh["pending_fen"],
            &fresh["direct"]
        ),
        (&json!(0), &json!(0), &json!([]))
    );
    let promoter = t.register_member("推广员").await;
    let (_, code) = crate::worlds::product_link(&t, &s, &promoter).await;
    let buyer = crate::worlds::signup_via(&t, &code, "直付买家").await;
    let (oid, total, no) = order_at_alipay(&t, &s, &buyer, 2).await;
    let amount = format!("{}.{:02}", total / 100, total % 100);
    let r = notify(
        &t,
        &s.merchant,
        signed(trade(APP_A, &no, "TRADE_SUCCESS", &amount)),
    )
    .await;
    assert_eq!(r, (200, "success".to_owned()));
    assert_eq!(order_status(&t, &buyer, &oid).await, "fulfilling");
    // Paid, inside the window: the shop holds the money, nothing is settled yet.
    let commission =
        earned(&t, &promoter, &s.merchant).await + earned(&t, &buyer, &s.merchant).await;
    assert!(commission > 0, "the promoter earns on the order");
    let st = settlement_of(&t, &s).await;
    assert_eq!(
        st["direct"],
        json!([{ "provider": "alipay", "held_fen": total }])
    );
    assert_eq!(st["direct_in_window_fen"], total);
    assert_eq!(st["pending_fen"], total - commission);
    assert_eq!(st["settled_fen"], 0, "{st}");
    assert_eq!(st["lines"]["items"][0]["kind"], "payment");

    // One unit refunded through Alipay: the shop's own account paid it back.
    if let Some(trade) = gw.lock().unwrap().trades.get_mut(&no) {
        trade.2 = "TRADE_SUCCESS".into();
    }
    let refunds_url = format!("/api/v1/merchants/{}/orders/{oid}/refunds", s.merchant);
    t.post(
        &refunds_url,
        Some(&s.owner.token),
        json!({ "reason": "少发一件", "lines": [{ "line_no": 1, "quantity": 1 }] }),
    )
    .await
    .expect(201);
    for _ in 0..3 {
        kith_app::events::jobs::run_once(&t.app, "test")
            .await
            .unwrap();
    }
    let refunds = t.get(&refunds_url, Some(&s.owner.token)).await.expect(200);
    assert_eq!(refunds[0]["status"], "succeeded", "{refunds}");
    let refunded = refunds[0]["amount_fen"].as_i64().unwrap();
    let held = total - refunded;
    let st = settlement_of(&t, &s).await;
    assert_eq!(
        st["direct"],
        json!([{ "provider": "alipay", "held_fen": held }])
    );
    assert_eq!(st["settled_fen"], 0, "{st}");

    // The window closes: the commission the platform pays out is the shop's debt.
    crate::worlds::ship_and_deliver(&t, &s, &oid).await;
    crate::worlds::close_after_sale_window(&t).await;
    let commission =
        earned(&t, &promoter, &s.merchant).await + earned(&t, &buyer, &s.merchant).await;
    assert!(commission > 0);
    let st = settlement_of(&t, &s).await;
    assert_eq!(
        (
            &st["settled_fen"],
            &st["pending_fen"],
            &st["direct_in_window_fen"]
        ),
        (&json!(-commission), &json!(0), &json!(0)),
        "{st}"
    );
    assert_eq!(
        st["direct"],
        json!([{ "provider": "alipay", "held_fen": held }])
    );

    // A wallet order is the platform's money, owed to the shop once its window closes.
    let other = t.register_member("钱包买家").await;
    let w = t.order(&s, &other).paid().await;
    let wallet_total = w["total_fen"].as_i64().unwrap();
    crate::worlds::ship_and_deliver(&t, &s, w["id"].as_str().unwrap()).await;
    crate::worlds::close_after_sale_window(&t).await;
    let other_commission = earned(&t, &other, &s.merchant).await;
    let owed = wallet_total - other_commission - commission;
    let st = settlement_of(&t, &s).await;
    assert_eq!(st["settled_fen"], owed, "{st}");
    assert!(owed > 0, "the platform owes the shop: {owed}");

    // The owner's page says who owes whom, in 元.
    let mut owner = crate::web::Browser::login_user(&t, &s.owner).await;
    let page = owner
        .get(&format!("/console/{}/settlement", s.merchant))
        .await
        .expect(200);
    assert!(
        page.text_of("settled").contains("平台应付本店"),
        "{}",
        page.body
    );
    assert!(
        page.text_of("settled")
            .contains(&kith_domain::Fen::new(owed).to_string())
    );
    assert!(page.has("支付宝") && page.has(&kith_domain::Fen::new(held).to_string()));

    // Settling up: only a platform admin, never more than is owed that way, a reference once.
    let admin = t.admin().await;
    // On the admin's page: more than is owed is refused beside the amount, typed values kept.
    let mut desk = crate::web::Browser::login_user(&t, &admin).await;
    let too_much = format!("{}.{:02}", (owed + 100) / 100, (owed + 100) % 100);
    let refused = desk
        .submit(
            "/admin/settlements",
            "/admin/settlements",
            &[
                ("merchant_id", &s.merchant),
                ("direction", "platform_paid"),
                ("amount", &too_much),
                ("reference", "网银-0001"),
            ],
        )
        .await
        .expect(409);
    assert!(
        refused
            .text_of("amount-error")
            .contains("超过了该方向上应付的结算余额")
    );
    assert!(refused.has("value=\"网银-0001\"") && refused.has(&format!("value=\"{too_much}\"")));
    let settle_url = format!("/api/v1/admin/merchants/{}/settle-ups", s.merchant);
    let settle = async |who: &str, body: Value| t.post(&settle_url, Some(who), body).await;
    settle(
        &s.owner.token,
        json!({ "direction": "platform_paid", "amount_fen": 1, "reference": "X1" }),
    )
    .await
    .problem(403, None);
    let rows = t
        .get("/api/v1/admin/settlements", Some(&admin.token))
        .await
        .expect(200);
    let row = rows
        .as_array()
        .unwrap()
        .iter()
        .find(|r| r["merchant_id"] == s.merchant.as_str())
        .expect("the shop is listed");
    assert_eq!(
        (&row["settled_fen"], &row["direct_held_fen"]),
        (&json!(owed), &json!(held))
    );
    settle(
        &admin.token,
        json!({ "direction": "platform_paid", "amount_fen": owed + 1, "reference": "BANK-1" }),
    )
    .await
    .problem(409, Some("amount_fen"));
    settle(
        &admin.token,
        json!({ "direction": "merchant_paid", "amount_fen": 1, "reference": "BANK-1" }),
    )
    .await
    .problem(409, Some("amount_fen"));
    settle(
        &admin.token,
        json!({ "direction": "platform_paid", "amount_fen": 0, "reference": "BANK-1" }),
    )
    .await
    .problem(422, Some("amount_fen"));
    settle(
        &admin.token,
        json!({ "direction": "platform_paid", "amount_fen": 1, "reference": "  " }),
    )
    .await
    .problem(422, Some("reference"));
    let first = owed / 2;
    let st = settle(
        &admin.token,
        json!({ "direction": "platform_paid", "amount_fen": first, "reference": "BANK-1" }),
    )
    .await
    .expect(201);
    assert_eq!(st["settled_fen"], owed - first);
    assert_eq!(st["lines"]["items"][0]["kind"], "settled_up");
    settle(
        &admin.token,
        json!({ "direction": "platform_paid", "amount_fen": owed - first, "reference": "BANK-1" }),
    )
    .await
    .problem(409, Some("reference"));
    let st = settle(
        &admin.token,
        json!({ "direction": "platform_paid", "amount_fen": owed - first, "reference": "BANK-2" }),
    )
    .await
    .expect(201);
    assert_eq!(st["settled_fen"], 0);

    // A payment that arrives after its order was cancelled is refunded through Alipay — out
    // of the shop's own account, which it entered — not merely booked as returned.
    let late_buyer = t.register_member("迟到的买家").await;
    let (late_id, late_total, late_no) = order_at_alipay(&t, &s, &late_buyer, 1).await;
    t.clock.advance_secs(2 * 3600);
    for _ in 0..3 {
        kith_app::events::jobs::run_once(&t.app, "test")
            .await
            .unwrap();
    }
    assert_eq!(order_status(&t, &late_buyer, &late_id).await, "cancelled");
    gw.lock().unwrap().trades.get_mut(&late_no).unwrap().2 = "TRADE_SUCCESS".into();
    let late_amount = format!("{}.{:02}", late_total / 100, late_total % 100);
    let r = notify(
        &t,
        &s.merchant,
        signed(trade(APP_A, &late_no, "TRADE_SUCCESS", &late_amount)),
    )
    .await;
    assert_eq!(r, (200, "success".to_owned()));
    for _ in 0..3 {
        kith_app::events::jobs::run_once(&t.app, "test")
            .await
            .unwrap();
    }
    let asked: Vec<i64> = gw
        .lock()
        .unwrap()
        .refunds
        .values()
        .filter(|(trade, _)| *trade == late_no)
        .map(|(_, fen)| *fen)
        .collect();
    assert_eq!(
        asked,
        vec![late_total],
        "the late payment is refunded at Alipay"
    );
    let st = settlement_of(&t, &s).await;
    assert_eq!(st["settled_fen"], 0, "{st}");
    assert_eq!(
        st["direct"],
        json!([{ "provider": "alipay", "held_fen": held }])
    );
    // Another shop's owner reads nothing of it.
    let stranger = t.shop().name("别人的店").price(500).stock(5).build().await;
    t.get(
        &format!("/api/v1/merchants/{}/settlement", s.merchant),
        Some(&stranger.owner.token),
    )
    .await
    .problem(403, None);
    audit_clean(&t).await;
    assert!(
        gw.lock().unwrap().refused.is_empty(),
        "{:?}",
        gw.lock().unwrap().refused
    );
}
