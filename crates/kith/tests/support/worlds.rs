//! Worlds the stories share, built over the public API: the referral plan and the steps of
//! money sharing over a shop from `builders.rs` (share, sign up through a link, buy, deliver,
//! close the after-sale window, read the wallet), a social graph (follows, friends,
//! communities, posts, waiting for the search index), and images to upload. Each test binary uses a part
//! of it, so unused parts are allowed here rather than copied per binary.
#![allow(dead_code)]

use std::io::Cursor;
use std::time::{Duration, Instant};

use image::{DynamicImage, ImageFormat, RgbaImage};
use kith_domain::Clock;
use serde_json::{Value, json};

use crate::builders::Shop;
use crate::harness::{PASSWORD, Resp, TestApp, User, address, next_phone};

pub(crate) const DAY_SECS: i64 = 24 * 3600;

/// The referral shop's commission plan: L1 10 %, L2 5 %, rebate 2 %.
pub(crate) fn standard_plan() -> Value {
    json!({ "levels_bp": [1000, 500], "rebate_bp": 200 })
}

/// `u`'s share link to the shop's product: (id, code).
pub(crate) async fn product_link(t: &TestApp, s: &Shop, u: &User) -> (String, String) {
    let l = t
        .post(
            "/api/v1/share-links",
            Some(&u.token),
            json!({ "kind": "product", "target_id": s.product }),
        )
        .await
        .expect(201);
    (
        l["id"].as_str().unwrap().to_owned(),
        l["code"].as_str().unwrap().to_owned(),
    )
}

pub(crate) async fn visit(t: &TestApp, u: Option<&User>, code: &str) -> Value {
    t.post(
        &format!("/api/v1/s/{code}/visits"),
        u.map(|u| u.token.as_str()),
        json!({}),
    )
    .await
    .expect(200)
}

/// `buyer` checks out `qty` of the SKU for shipping: the unpaid order.
async fn checkout_shipping(t: &TestApp, s: &Shop, buyer: &User, qty: i64) -> Value {
    t.post(
        &format!("/api/v1/merchants/{}/checkout", s.merchant),
        Some(&buyer.token),
        json!({ "delivery": "shipping", "address": address(), "items": [{ "sku_id": s.sku, "quantity": qty }] }),
    )
    .await
    .expect(201)
}

/// `buyer` checks out `qty` of the SKU for shipping and pays through the sandbox gateway's
/// page (so its refunds go back through a gateway, asynchronously): the order as placed.
pub(crate) async fn buy_through_sandbox(t: &TestApp, s: &Shop, buyer: &User, qty: i64) -> Value {
    let o = checkout_shipping(t, s, buyer, qty).await;
    let oid = o["id"].as_str().unwrap();
    let pay = t
        .post(
            &format!("/api/v1/orders/{oid}/pay"),
            Some(&buyer.token),
            json!({ "provider": "sandbox" }),
        )
        .await
        .expect(200);
    let status = t
        .confirm_on_sandbox(pay["payment"]["id"].as_str().unwrap(), "succeeded")
        .await;
    assert!(status < 400, "the sandbox confirmed: {status}");
    o
}

/// `buyer` asks 仅退款 for `qty` units of line 1 of `oid`; the merchant refuses three times
/// (the buyer revising twice in between), and the buyer asks the platform to arbitrate:
/// the disputed request's id.
pub(crate) async fn disputed_request(
    t: &TestApp,
    s: &Shop,
    buyer: &User,
    oid: &str,
    qty: i64,
) -> String {
    let body = json!({ "kind": "refund_only", "reason": "damaged", "description": "一瓶碎了", "lines": [{ "line_no": 1, "quantity": qty }] });
    let r = t
        .post(
            &format!("/api/v1/orders/{oid}/aftersales"),
            Some(&buyer.token),
            body.clone(),
        )
        .await
        .expect(201);
    let rid = r["id"].as_str().unwrap().to_owned();
    for round in 0..3 {
        t.post(
            &format!("/api/v1/merchants/{}/aftersales/{rid}/refuse", s.merchant),
            Some(&s.owner.token),
            json!({ "reason": "看不出破损" }),
        )
        .await
        .expect(200);
        if round < 2 {
            t.post(
                &format!("/api/v1/aftersales/{rid}/revise"),
                Some(&buyer.token),
                body.clone(),
            )
            .await
            .expect(200);
        }
    }
    let r = t
        .post(
            &format!("/api/v1/aftersales/{rid}/dispute"),
            Some(&buyer.token),
            json!({ "note": "请平台看照片" }),
        )
        .await
        .expect(200);
    assert_eq!(r["state"], "disputed");
    rid
}

/// Ships the order and has the carrier report it delivered.
pub(crate) async fn ship_and_deliver(t: &TestApp, s: &Shop, oid: &str) {
    let tracking = format!("SBX{}", &oid.replace('-', "")[..12]);
    t.post(
        &format!("/api/v1/merchants/{}/orders/{oid}/ship", s.merchant),
        Some(&s.owner.token),
        json!({ "carrier": "sandbox", "tracking_no": tracking }),
    )
    .await
    .expect(200);
    let ev = json!({ "event_id": format!("dlv-{oid}"), "tracking_no": tracking, "status": "delivered", "occurred_at": t.clock.now_ms() });
    let r = t
        .signed_post("/api/v1/carriers/sandbox/callback", &ev, None)
        .await
        .expect(200);
    assert_eq!(r["outcome"], "delivered");
}

/// Moves the clock past the after-sale window (7 days by default) and runs due jobs.
pub(crate) async fn close_after_sale_window(t: &TestApp) {
    t.clock.advance_secs(7 * DAY_SECS + 1);
    kith_app::events::jobs::run_once(&t.app, "test")
        .await
        .unwrap();
}

pub(crate) async fn wallet(t: &TestApp, who: &User, merchant: &str) -> Value {
    t.get(
        &format!("/api/v1/distributors/{}/wallets/{merchant}", who.id),
        Some(&who.token),
    )
    .await
    .expect(200)
}

/// (pending, frozen, available, withdrawing) of `who` at `merchant`.
pub(crate) async fn balances(t: &TestApp, who: &User, merchant: &str) -> (i64, i64, i64, i64) {
    let w = wallet(t, who, merchant).await;
    let b = &w["balances"];
    (
        b["pending_fen"].as_i64().unwrap(),
        b["frozen_fen"].as_i64().unwrap(),
        b["available_fen"].as_i64().unwrap(),
        b["withdrawing_fen"].as_i64().unwrap(),
    )
}

/// The platform admin's ledger audit, asserted clean (every entry balanced, every cached
/// balance equal to its postings, the whole ledger summing to zero); returned for stories
/// that read more of it.
pub(crate) async fn audit_clean(t: &TestApp) -> Value {
    let admin = t.admin().await;
    let audit = t
        .get("/api/v1/admin/ledger/audit", Some(&admin.token))
        .await
        .expect(200);
    assert_eq!(audit["unbalanced_entries"], json!([]), "{audit}");
    assert_eq!(audit["mismatched_accounts"], json!([]), "{audit}");
    assert_eq!(audit["total_fen"], 0, "{audit}");
    assert_eq!(audit["total_points"], 0, "{audit}");
    audit
}

/// Registers through a share link and logs in.
pub(crate) async fn signup_via(t: &TestApp, code: &str, name: &str) -> User {
    let phone = next_phone();
    let acct = t
        .post(
            &format!("/api/v1/s/{code}/accounts"),
            None,
            json!({ "phone": phone, "password": PASSWORD, "display_name": name }),
        )
        .await
        .expect(201);
    let s = t.login(&phone, PASSWORD).await.expect(201);
    User {
        id: acct["id"].as_str().unwrap().to_owned(),
        token: s["token"].as_str().unwrap().to_owned(),
        login: phone,
    }
}

/// A member with `fen` available at the shop: a buyer they referred completes an order
/// whose L1 commission (10 %) is `fen` (so `fen` must be a multiple of 1000).
pub(crate) async fn earn_available(t: &TestApp, s: &Shop, who: &User, fen: i64) {
    let (_, code) = product_link(t, s, who).await;
    let buyer = signup_via(t, &code, "顾客").await;
    let o = t.order(s, &buyer).qty(fen / 1000).paid().await;
    ship_and_deliver(t, s, o["id"].as_str().unwrap()).await;
    close_after_sale_window(t).await;
}

/// Waits until the server's index has applied every outbox event written so far.
pub(crate) async fn wait_indexed(t: &TestApp) {
    let index = t.app.search.get().expect("index attached");
    let deadline = Instant::now() + Duration::from_secs(10);
    loop {
        let max = t
            .app
            .db
            .read(|c| {
                c.query_one("SELECT COALESCE(MAX(id), 0) FROM outbox", &[])?
                    .int(0)
            })
            .await
            .expect("outbox");
        if index.cursor().is_some_and(|c| c >= max) {
            return;
        }
        assert!(Instant::now() < deadline, "index still behind the outbox");
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

pub(crate) async fn follow(t: &TestApp, who: &User, whom: &User) {
    let r = t
        .post(
            &format!("/api/v1/accounts/{}/follow", whom.id),
            Some(&who.token),
            json!({}),
        )
        .await;
    assert!(r.status.is_success(), "follow: {r:?}");
}

pub(crate) async fn befriend(t: &TestApp, a: &User, b: &User) {
    follow(t, a, b).await;
    follow(t, b, a).await;
}

pub(crate) async fn community(t: &TestApp, owner: &User, name: &str) -> String {
    t.post(
        "/api/v1/communities",
        Some(&owner.token),
        json!({ "name": name, "description": "一起交流", "tags": ["健康"], "join_policy": "open" }),
    )
    .await
    .expect(201)["id"]
        .as_str()
        .unwrap()
        .to_owned()
}

pub(crate) async fn join(t: &TestApp, who: &User, community: &str) {
    let r = t
        .post(
            &format!("/api/v1/communities/{community}/join"),
            Some(&who.token),
            json!({}),
        )
        .await;
    assert!(r.status.is_success(), "join: {r:?}");
}

pub(crate) async fn post(t: &TestApp, who: &User, body: Value) -> String {
    t.post("/api/v1/posts", Some(&who.token), body)
        .await
        .expect(201)["id"]
        .as_str()
        .unwrap()
        .to_owned()
}

pub(crate) fn encode(img: &DynamicImage, format: ImageFormat) -> Vec<u8> {
    let img = if format == ImageFormat::Jpeg {
        DynamicImage::ImageRgb8(img.to_rgb8())
    } else {
        img.clone()
    };
    let mut out = Cursor::new(Vec::new());
    img.write_to(&mut out, format).expect("encode");
    out.into_inner()
}

/// A small real PNG, for other tests that need an uploaded image.
pub(crate) fn small_png(seed: u8) -> Vec<u8> {
    let img = RgbaImage::from_fn(40, 30, |x, y| {
        image::Rgba([seed, (x * 6) as u8, (y * 8) as u8, 255])
    });
    encode(&DynamicImage::ImageRgba8(img), ImageFormat::Png)
}

pub(crate) async fn upload(
    t: &TestApp,
    token: Option<&str>,
    bytes: Vec<u8>,
    content_type: &str,
    file_name: &str,
) -> Resp {
    let mut req = t
        .client
        .post(format!("{}/api/v1/media", t.base))
        .header("content-type", content_type)
        .header(
            "content-disposition",
            format!("attachment; filename=\"{file_name}\""),
        )
        .body(bytes);
    if let Some(tok) = token {
        req = req.bearer_auth(tok);
    }
    TestApp::read(req.send().await.expect("upload")).await
}
