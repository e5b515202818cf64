//! Parcel tracking through 快递100, against a local 快递100 that checks the subscription
//! form strictly (schema, key, company code, callback URL, salt), on both engines: a
//! shipment with a carrier 快递100 follows is subscribed by a job (a failed subscription
//! answer retried; a refused one recorded, never retried); pushes signed with the
//! subscription's salt add the carrier's words to the buyer's timeline once (replays add
//! nothing) and a 签收 delivers the order; forged, tampered, foreign and malformed pushes
//! are refused and change nothing; the timeline is the buyer's and the merchant's only.

use std::sync::{Arc, Mutex};

use axum::extract::State;
use axum::routing::post;
use kith::config::ServeArgs;
use kith_domain::clock::Clock;
use serde_json::{Value, json};

use crate::harness::{TestApp, id};
use crate::worlds::{DAY_SECS, ship_and_deliver};

const KEY: &str = "kd100-test-key-0042";

#[derive(Default)]
struct Fake {
    /// (company, number, callback URL, salt) of each subscription taken.
    subs: Vec<(String, String, String, String)>,
    /// Server errors to answer an SF number before taking it (a 500 to be retried).
    fail_next: usize,
    /// Requests that broke the protocol.
    rejected: Vec<String>,
}

type Shared = Arc<Mutex<Fake>>;

async fn poll(State(f): State<Shared>, body: axum::body::Bytes) -> axum::Json<Value> {
    let mut f = f.lock().unwrap();
    let form: Vec<(String, String)> = serde_urlencoded::from_bytes(&body).unwrap_or_default();
    let get = |k: &str| form.iter().find(|(n, _)| n == k).map(|(_, v)| v.clone());
    if get("schema").as_deref() != Some("json") {
        f.rejected.push("schema".into());
        return axum::Json(json!({ "result": false, "returnCode": "500", "message": "schema" }));
    }
    let Some(param) = get("param").and_then(|p| serde_json::from_str::<Value>(&p).ok()) else {
        f.rejected.push("param".into());
        return axum::Json(json!({ "result": false, "returnCode": "500", "message": "param" }));
    };
    if param["key"] != KEY {
        f.rejected.push("key".into());
        return axum::Json(
            json!({ "result": false, "returnCode": "600", "message": "您不是合法的订阅者" }),
        );
    }
    let (company, number) = (
        param["company"].as_str().unwrap_or("").to_owned(),
        param["number"].as_str().unwrap_or("").to_owned(),
    );
    let callback = param["parameters"]["callbackurl"].as_str().unwrap_or("");
    let salt = param["parameters"]["salt"].as_str().unwrap_or("");
    if !callback.contains("/api/v1/tracking/kuaidi100/") || salt.len() < 16 {
        f.rejected.push("parameters".into());
        return axum::Json(
            json!({ "result": false, "returnCode": "500", "message": "parameters" }),
        );
    }
    if f.fail_next > 0 && number.starts_with("SF") {
        f.fail_next -= 1;
        return axum::Json(
            json!({ "result": false, "returnCode": "500", "message": "服务器错误" }),
        );
    }
    if number.starts_with("BAD") {
        return axum::Json(
            json!({ "result": false, "returnCode": "700", "message": "单号不正确" }),
        );
    }
    f.subs
        .push((company, number, callback.to_owned(), salt.to_owned()));
    axum::Json(json!({ "result": true, "returnCode": "200", "message": "提交成功" }))
}

async fn local_kuaidi100() -> (String, Shared) {
    let shared: Shared = Arc::default();
    let app = axum::Router::new()
        .route("/poll", post(poll))
        .with_state(shared.clone());
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    tokio::spawn(async move {
        axum::serve(listener, app).await.unwrap();
    });
    (format!("http://{addr}"), shared)
}

async fn settle(t: &TestApp) {
    for _ in 0..3 {
        kith_app::events::jobs::run_once(&t.app, "test")
            .await
            .unwrap();
    }
}

/// The push form 快递100 would send for `number`, signed with `salt`.
fn push(
    number: &str,
    state: &str,
    check: &str,
    events: &[(&str, &str, &str)],
    salt: &str,
) -> (String, String) {
    let data: Vec<Value> = events
        .iter()
        .map(|(time, code, words)| {
            json!({ "context": words, "time": time, "ftime": time, "status": "", "statusCode": code })
        })
        .collect();
    let param = json!({
        "status": "polling",
        "billstatus": "",
        "message": "",
        "autoCheck": "0",
        "lastResult": {
            "message": "ok", "state": state, "status": "200", "condition": "F00",
            "ischeck": check, "com": "shunfeng", "nu": number, "data": data,
        },
    })
    .to_string();
    let sign = kith_app::commerce::tracking::kuaidi100::sign(&param, salt);
    (param, sign)
}

async fn send(t: &TestApp, path: &str, param: &str, sign: &str) -> crate::harness::Resp {
    let body = serde_urlencoded::to_string([("param", param), ("sign", sign)]).unwrap();
    let res = t
        .client
        .post(format!("{}{path}", t.base))
        .header("content-type", "application/x-www-form-urlencoded")
        .body(body)
        .send()
        .await
        .expect("push");
    TestApp::read(res).await
}

async fn ship(t: &TestApp, s: &crate::builders::Shop, oid: &str, carrier: &str, no: &str) {
    t.post(
        &format!("/api/v1/merchants/{}/orders/{oid}/ship", s.merchant),
        Some(&s.owner.token),
        json!({ "carrier": carrier, "tracking_no": no }),
    )
    .await
    .expect(200);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_return_sqlite() {
    return_story(crate::harness::Engine::Sqlite).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_return_postgres() {
    return_story(crate::harness::Engine::Postgres).await;
}

/// `ms` as 快递100 writes a time: Beijing wall clock to the second.
fn beijing_text(ms: i64) -> String {
    let t = time::OffsetDateTime::from_unix_timestamp(ms / 1000)
        .unwrap()
        .to_offset(time::UtcOffset::from_hms(8, 0, 0).unwrap());
    t.format(time::macros::format_description!(
        "[year]-[month]-[day] [hour]:[minute]:[second]"
    ))
    .unwrap()
}

/// An after-sale return shipped by the buyer is followed too: its events are the
/// request's, not the order's timeline, and its 签收 moves the merchant's receipt deadline
/// to `receive_days` after the carrier's delivery — so a parcel that took a day longer gives
/// the merchant that day, and silence after it still counts as received.
async fn return_story(engine: crate::harness::Engine) {
    let (base, fake) = local_kuaidi100().await;
    let setup = move |a: &mut ServeArgs| {
        a.kuaidi100_key = Some(KEY.into());
        a.kuaidi100_api_base = Some(base.clone());
    };
    let Some(t) = TestApp::spawn_with(engine, setup).await else {
        return;
    };
    let s = t.shop().plan(json!({ "levels_bp": [1000] })).build().await;
    let buyer = t.register_member("退货人").await;
    let oid = id(&t.order(&s, &buyer).qty(2).paid().await);
    ship_and_deliver(&t, &s, &oid).await;
    let m = |p: &str| format!("/api/v1/merchants/{}{p}", s.merchant);
    t.put(
        &m("/aftersale-terms"),
        Some(&s.owner.token),
        json!({ "answer_hours": 48, "ship_days": 7, "receive_days": 10, "return_address": "退货仓 1 号" }),
    )
    .await
    .expect(200);
    let r = t
        .post(
            &format!("/api/v1/orders/{oid}/aftersales"),
            Some(&buyer.token),
            json!({ "kind": "return_refund", "reason": "damaged", "description": "碎了", "lines": [{ "line_no": 1, "quantity": 1 }] }),
        )
        .await
        .expect(201);
    let rid = id(&r);
    t.post(
        &m(&format!("/aftersales/{rid}/agree")),
        Some(&s.owner.token),
        json!({}),
    )
    .await
    .expect(200);
    let shipped = t
        .post(
            &format!("/api/v1/aftersales/{rid}/return-shipment"),
            Some(&buyer.token),
            json!({ "carrier": "sf", "tracking_no": "SF7000000000001" }),
        )
        .await
        .expect(200);
    assert!(shipped["return_delivered_at"].is_null());
    let shipped_at = t.clock.now_ms();
    settle(&t).await;
    let (callback, salt) = {
        let f = fake.lock().unwrap();
        assert_eq!(f.subs.len(), 1, "the return is followed");
        assert_eq!(f.subs[0].1, "SF7000000000001");
        (f.subs[0].2.clone(), f.subs[0].3.clone())
    };
    let path = callback[callback.find("/api/v1/").unwrap()..].to_owned();

    // The parcel reaches the merchant a day and a half after the buyer sent it.
    t.clock.advance_secs(DAY_SECS + DAY_SECS / 2);
    let delivered_at = t.clock.now_ms() / 1000 * 1000;
    let events = [
        (
            beijing_text(delivered_at).as_str(),
            "301",
            "【贵阳市】已签收，签收人：退货仓",
        ),
        (
            beijing_text(shipped_at).as_str(),
            "1",
            "【上海市】顺丰速运 已收取快件",
        ),
    ]
    .map(|(a, b, c)| (a.to_owned(), b, c));
    let events: Vec<(&str, &str, &str)> = events
        .iter()
        .map(|(a, b, c)| (a.as_str(), *b, *c))
        .collect();
    let (param, sign) = push("SF7000000000001", "3", "1", &events, &salt);
    send(&t, &path, &param, &sign).await.expect(200);
    send(&t, &path, &param, &sign).await.expect(200);
    let r = t
        .get(&format!("/api/v1/aftersales/{rid}"), Some(&buyer.token))
        .await
        .expect(200);
    assert_eq!(r["state"], "return_shipped");
    assert!(r["return_delivered_at"].is_string(), "{r}");
    let due = time::OffsetDateTime::parse(
        r["deadline_at"].as_str().unwrap(),
        &time::format_description::well_known::Rfc3339,
    )
    .unwrap();
    assert_eq!(
        (due.unix_timestamp_nanos() / 1_000_000) as i64,
        delivered_at + 10 * DAY_SECS * 1000,
        "ten days from the carrier's delivery"
    );
    // The return is not the order's parcel: the order's timeline does not show it.
    let tl = t
        .get(
            &format!("/api/v1/orders/{oid}/tracking"),
            Some(&buyer.token),
        )
        .await
        .expect(200);
    assert!(
        tl.as_array()
            .unwrap()
            .iter()
            .all(|e| e["description"] != "【贵阳市】已签收，签收人：退货仓"),
        "{tl}"
    );

    // Ten days after the buyer's entry the merchant still has time (the old deadline);
    // ten days after the delivery, silence counts as received.
    t.clock
        .advance_ms(shipped_at + 10 * DAY_SECS * 1000 + 3_600_000 - t.clock.now_ms());
    settle(&t).await;
    let r = t
        .get(&format!("/api/v1/aftersales/{rid}"), Some(&buyer.token))
        .await
        .expect(200);
    assert_eq!(r["state"], "return_shipped");
    t.clock
        .advance_ms(delivered_at + 10 * DAY_SECS * 1000 + 60_000 - t.clock.now_ms());
    settle(&t).await;
    let r = t
        .get(&format!("/api/v1/aftersales/{rid}"), Some(&buyer.token))
        .await
        .expect(200);
    assert_ne!(r["state"], "return_shipped", "{r}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn kuaidi100_sqlite() {
    story(crate::harness::Engine::Sqlite).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn kuaidi100_postgres() {
    story(crate::harness::Engine::Postgres).await;
}

async fn story(engine: crate::harness::Engine) {
    let (base, fake) = local_kuaidi100().await;
    let setup = move |a: &mut ServeArgs| {
        a.kuaidi100_key = Some(KEY.into());
        a.kuaidi100_api_base = Some(base.clone());
    };
    let Some(t) = TestApp::spawn_with(engine, setup).await else {
        return;
    };
    let s = t.shop().plan(json!({ "levels_bp": [1000] })).build().await;
    let buyer = t.register_member("收件人").await;
    let other = t.register_member("旁人").await;
    let oid = id(&t.order(&s, &buyer).paid().await);
    let sandboxed = id(&t.order(&s, &buyer).paid().await);
    let refused = id(&t.order(&s, &buyer).paid().await);

    // The first answer is a server error: the job tries again later and is taken once.
    fake.lock().unwrap().fail_next = 1;
    ship(&t, &s, &oid, "sf", "SF1402339856711").await;
    ship(&t, &s, &sandboxed, "sandbox", "SBX00000001").await;
    ship(&t, &s, &refused, "zto", "BAD000111").await;
    settle(&t).await;
    assert!(
        fake.lock().unwrap().subs.is_empty(),
        "the 500 is retried later"
    );
    t.clock.advance_secs(3600);
    settle(&t).await;
    let (callback, salt) = {
        let f = fake.lock().unwrap();
        assert!(f.rejected.is_empty(), "{:?}", f.rejected);
        assert_eq!(
            f.subs.len(),
            1,
            "the sandbox carrier is not followed; the bad number was refused"
        );
        assert_eq!(
            (f.subs[0].0.as_str(), f.subs[0].1.as_str()),
            ("shunfeng", "SF1402339856711")
        );
        (f.subs[0].2.clone(), f.subs[0].3.clone())
    };
    let path = callback[callback.find("/api/v1/").unwrap()..].to_owned();
    let statuses = t
        .app
        .db
        .read(|c| {
            let rows = c.query(
                "SELECT company, status FROM tracking_subscriptions ORDER BY company",
                &[],
            )?;
            rows.iter()
                .map(|r| Ok((r.text(0)?, r.text(1)?)))
                .collect::<Result<Vec<_>, kith_store::StoreError>>()
        })
        .await
        .unwrap();
    assert_eq!(
        statuses,
        vec![
            ("shunfeng".to_owned(), "subscribed".to_owned()),
            ("zhongtong".to_owned(), "failed".to_owned())
        ]
    );

    // In transit: two events, newest first as 快递100 sends them.
    let transit = [
        (
            "2026-12-02 09:12:40",
            "0",
            "【杭州市】快件已到达 杭州转运中心",
        ),
        ("2026-12-01 18:03:11", "1", "【深圳市】顺丰速运 已收取快件"),
    ];
    let (param, sign) = push("SF1402339856711", "0", "0", &transit, &salt);
    let taken = send(&t, &path, &param, &sign).await.expect(200);
    assert_eq!(
        taken,
        json!({ "result": true, "returnCode": "200", "message": "成功" })
    );
    let tl = t
        .get(
            &format!("/api/v1/orders/{oid}/tracking"),
            Some(&buyer.token),
        )
        .await
        .expect(200);
    let words: Vec<&str> = tl
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["description"].as_str().unwrap())
        .collect();
    assert_eq!(
        words,
        [
            "【深圳市】顺丰速运 已收取快件",
            "【杭州市】快件已到达 杭州转运中心"
        ],
        "oldest first"
    );
    // Replayed: nothing new.
    send(&t, &path, &param, &sign).await.expect(200);
    let again = t
        .get(
            &format!("/api/v1/orders/{oid}/tracking"),
            Some(&buyer.token),
        )
        .await
        .expect(200);
    assert_eq!(again.as_array().unwrap().len(), 2);

    // Forged (another salt), tampered (the signed text changed), another number signed
    // right, an unknown subscription, a body that is not the form: each refused.
    let signed = [(
        "2026-12-03 10:00:00",
        "301",
        "【北京市】已签收，签收人：本人",
    )];
    let (good, good_sign) = push("SF1402339856711", "3", "1", &signed, &salt);
    let (_, forged) = push("SF1402339856711", "3", "1", &signed, "not-the-salt-0000000");
    send(&t, &path, &good, &forged).await.problem(401, None);
    let tampered = good.replace("本人", "前台");
    send(&t, &path, &tampered, &good_sign)
        .await
        .problem(401, None);
    let (foreign, foreign_sign) = push("SF9999999999999", "3", "1", &signed, &salt);
    send(&t, &path, &foreign, &foreign_sign)
        .await
        .problem(422, Some("param"));
    let unknown = "/api/v1/tracking/kuaidi100/0190d6e8-0000-7000-8000-000000000000";
    send(&t, unknown, &good, &good_sign)
        .await
        .problem(404, None);
    let res = t
        .client
        .post(format!("{}{path}", t.base))
        .header("content-type", "application/x-www-form-urlencoded")
        .body("sign=only")
        .send()
        .await
        .unwrap();
    assert_eq!(TestApp::read(res).await.status, 422);
    let o = t
        .get(&format!("/api/v1/orders/{oid}"), Some(&buyer.token))
        .await
        .expect(200);
    assert_eq!(o["status"], "shipped", "nothing refused moved the order");

    // Another merchant ships a later order under the same number (carriers reuse them): it
    // gets its own subscription, and a push signed for the first order never moves it.
    let s2 = t.shop().plan(json!({ "levels_bp": [1000] })).build().await;
    let reused = id(&t.order(&s2, &buyer).paid().await);
    ship(&t, &s2, &reused, "sf", "SF1402339856711").await;
    settle(&t).await;
    assert_eq!(
        fake.lock().unwrap().subs.len(),
        2,
        "one subscription per order"
    );

    // 签收: the order is delivered by the carrier.
    send(&t, &path, &good, &good_sign).await.expect(200);
    let o = t
        .get(&format!("/api/v1/orders/{oid}"), Some(&buyer.token))
        .await
        .expect(200);
    assert_eq!(o["status"], "delivered");
    let later = t
        .get(&format!("/api/v1/orders/{reused}"), Some(&buyer.token))
        .await
        .expect(200);
    assert_eq!(
        later["status"], "shipped",
        "the other order's parcel is not the one signed for"
    );
    let later_tl = t
        .get(
            &format!("/api/v1/orders/{reused}/tracking"),
            Some(&buyer.token),
        )
        .await
        .expect(200);
    assert_eq!(
        later_tl,
        json!([]),
        "no event of the first parcel on the second order"
    );
    let tl = t
        .get(
            &format!("/api/v1/orders/{oid}/tracking"),
            Some(&buyer.token),
        )
        .await
        .expect(200);
    let last = tl.as_array().unwrap().last().unwrap().clone();
    assert_eq!(last["status"], "delivered");
    assert_eq!(last["description"], "【北京市】已签收，签收人：本人");

    // The timeline is the buyer's and the merchant's.
    t.get(
        &format!("/api/v1/orders/{oid}/tracking"),
        Some(&other.token),
    )
    .await
    .problem(404, None);
    t.get(
        &format!("/api/v1/orders/{oid}/tracking"),
        Some(&s.owner.token),
    )
    .await
    .expect(200);
    t.get(&format!("/api/v1/orders/{oid}/tracking"), None)
        .await
        .problem(401, None);

    // The buyer's order page shows it in Beijing time, newest first.
    let cookie = format!("kith_session={}", buyer.token);
    let page = t
        .client
        .get(format!("{}/orders/{oid}", t.base))
        .header("cookie", cookie)
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    let signed_at = page
        .find("已签收，签收人")
        .expect("the 签收 in the timeline");
    let picked_at = page.find("已收取快件").expect("the pickup in the timeline");
    assert!(
        page.contains("物流信息") && signed_at < picked_at,
        "newest first"
    );
    assert!(
        page.contains("2026-12-03 10:00"),
        "Beijing time as the carrier said it"
    );
}
